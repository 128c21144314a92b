"""Grade students' exercise notebooks.

Usage (from the repository root)::

    python -m shared.grading SUBMISSION [SUBMISSION ...] [--chapter mdn]
        [--out scores.csv] [--json scores.json] [--timeout 600] [--seed N]
        [--keep-executed DIR] [--lang en|es] [--full] [--questions-module MODULE]

``SUBMISSION`` is a notebook or a folder (every ``*.ipynb`` in it is graded, in
sorted order). The chapter is the notebook's file stem (``mdn.ipynb`` ->
``mdn``) unless ``--chapter`` says otherwise.

How a submission is graded
--------------------------
1. The submitted file is copied into a fresh temporary folder; the original is
   never modified.
2. In this (the grader's) process, the inputs of every question of the chapter
   are drawn with a secret random generator (``--seed`` or 64 random bits).
3. One code cell is appended to the copy. It calls
   :func:`shared.checks.core.probe`, which only *computes* the outputs of the
   student's objects for the grader's inputs and saves them as ``.npz`` files.
   The whole notebook runs on a fresh ``python3`` kernel (``cwd`` = the
   temporary folder, ``COURSE_QUICK=1`` unless ``--full``, ``MPLBACKEND=Agg``,
   ``PYTHONPATH`` starting with the repository root). A cell that raises does
   not stop the others. The inputs are written to disk only after all the
   student's cells have run, just before the appended cell.
4. Back in the grader's process, the outputs are read with
   ``allow_pickle=False`` and evaluated by
   :func:`shared.checks.core.grade_outputs`. A question scores its points if it
   passes, 0 otherwise.
5. A timeout, a dead kernel or an invalid notebook scores 0 on every question
   of that submission, with the reason; grading continues with the next one.

Trust model
-----------
Executing a submission runs **untrusted code with the grader's permissions**.
Run the grader in a disposable container or VM, or as an unprivileged user
that holds no secrets and cannot write to the repository or the Python
environment, and keep a ``--timeout``.

Within that sandbox, the grade depends only on the numbers that the student's
code computes for inputs it never sees before the last cell runs, and those
numbers are evaluated in the grader's own process. Redefining or
monkeypatching ``check``, ``probe``, ``grade_outputs`` or anything in
``shared.checks`` inside the notebook, printing "✅", or editing outputs or
metadata in the file cannot earn points for an unanswered question: the only
way to produce passing outputs is to compute the right answer.

Not defended: a student who copies a correct solution (the solutions of this
open course are public) -- an academic-integrity matter -- and a submission
that attacks the grading machine itself (reads the grader's memory, rewrites
its files): that is what the disposable sandbox is for.

Registering a chapter that is not in :data:`shared.checks.CHAPTERS`
-------------------------------------------------------------------
``--questions-module MODULE --chapter NAME`` grades against
``MODULE.QUESTIONS``: the grader registers ``CHAPTERS[NAME] = MODULE`` in its
own process *and* in the appended cell, before calling
``shared.checks.questions_for(NAME)``. The folder holding ``MODULE`` is added
to the kernel's ``PYTHONPATH``. This is how a new chapter (or the tests'
synthetic chapter) is graded before it is registered.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

import shared.checks
from shared.checks.core import Arrays, Question, grade_outputs

REPO_ROOT = Path(__file__).resolve().parent.parent
CSV_COLUMNS = ("submission", "question", "title", "points", "max_points", "passed", "feedback")
NO_RESULT = "no result: the notebook did not reach the end / the kernel died / timed out"
PROBE_MARK = "# Cell added by the grader (shared.grading)"


class UsageError(Exception):
    """The command line itself is wrong (missing file, unknown chapter...)."""


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

@dataclass
class QuestionScore:
    """Score of one question of one submission."""

    qid: str
    title: str
    points: float
    max_points: float
    passed: bool
    feedback: str


@dataclass
class SubmissionResult:
    """Scores of one submission; ``error`` explains a run that failed as a whole."""

    submission: str
    chapter: str
    scores: list[QuestionScore] = field(default_factory=list)
    error: str | None = None

    @property
    def points(self) -> float:
        """Total points earned."""
        return float(sum(s.points for s in self.scores))

    @property
    def max_points(self) -> float:
        """Total points available."""
        return float(sum(s.max_points for s in self.scores))


# ---------------------------------------------------------------------------
# Resolving the command line
# ---------------------------------------------------------------------------

def find_submissions(paths: list[Path]) -> list[Path]:
    """Expand files and folders into the list of notebooks to grade.

    Raises
    ------
    UsageError
        For a path that does not exist, a file that is not ``.ipynb`` or a
        folder without notebooks.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            notebooks = sorted(p for p in path.glob("*.ipynb") if p.is_file())
            if not notebooks:
                raise UsageError(f"folder {path} contains no .ipynb notebooks.")
            found.extend(notebooks)
        elif path.is_file():
            if path.suffix != ".ipynb":
                raise UsageError(f"{path} is not a notebook (expected a .ipynb file or a folder).")
            found.append(path)
        else:
            raise UsageError(f"{path} does not exist; check the path (files or folders of .ipynb).")
    return found


def resolve_chapter(path: Path, chapter: str | None) -> str:
    """The chapter of a submission: ``chapter`` or the file stem; must be known.

    Raises
    ------
    UsageError
        Listing the known chapters when the chapter is unknown.
    """
    name = chapter or path.stem
    if name not in shared.checks.CHAPTERS:
        known = ", ".join(sorted(shared.checks.CHAPTERS))
        how = "" if chapter else f" (taken from the file name of {path})"
        raise UsageError(
            f"unknown chapter {name!r}{how}. Known chapters: {known}. "
            "Use --chapter NAME to say which chapter the submission answers.")
    return name


def load_questions(chapter: str) -> list[Question]:
    """``questions_for(chapter)``, with import failures turned into a :class:`UsageError`."""
    try:
        return shared.checks.questions_for(chapter)
    except Exception as exc:
        raise UsageError(
            f"could not load the questions of chapter {chapter!r} from module "
            f"{shared.checks.CHAPTERS.get(chapter)!r} ({type(exc).__name__}: {exc}).") from None


def module_search_root(module_name: str) -> Path | None:
    """The folder to put on ``PYTHONPATH`` so that ``module_name`` is importable."""
    module = importlib.import_module(module_name)
    file = getattr(module, "__file__", None)
    if file is None:
        return None
    root = Path(file).resolve().parent
    if Path(file).name == "__init__.py":
        root = root.parent
    for _ in range(module_name.count(".")):
        root = root.parent
    return root


# ---------------------------------------------------------------------------
# Running one submission
# ---------------------------------------------------------------------------

def draw_inputs(questions: list[Question], seed: int) -> dict[str, Arrays]:
    """Draw every question's inputs with a generator seeded by the secret ``seed``."""
    rng = np.random.default_rng(seed)
    return {q.qid: {k: np.asarray(v) for k, v in q.make_inputs(rng).items()} for q in questions}


def save_inputs(inputs: dict[str, Arrays], inputs_dir: Path) -> None:
    """Write ``<inputs_dir>/<qid>.npz`` for every question."""
    inputs_dir.mkdir(parents=True, exist_ok=True)
    for qid, arrays in inputs.items():
        np.savez(inputs_dir / f"{qid}.npz", **arrays)


def probe_cell_source(chapter: str, inputs_dir: Path, outputs_dir: Path,
                      questions_module: str | None = None) -> str:
    """Source of the cell appended to the submission (runs in the student's kernel)."""
    lines = [
        PROBE_MARK + ": compute the outputs for the grader's inputs.",
        "import importlib as __grader_importlib",
        '__grader_checks = __grader_importlib.import_module("shared.checks")',
    ]
    if questions_module is not None:
        lines.append(f"__grader_checks.CHAPTERS[{chapter!r}] = {questions_module!r}")
    lines += [
        '__grader_importlib.import_module("shared.checks.core").probe(',
        f"    globals(), __grader_checks.questions_for({chapter!r}),",
        f"    {str(inputs_dir)!r}, {str(outputs_dir)!r})",
    ]
    return "\n".join(lines)


def kernel_env(full: bool, extra_paths: list[Path]) -> dict[str, str]:
    """Environment of the kernel: ours plus quick budgets, Agg backend and ``PYTHONPATH``."""
    env = dict(os.environ)
    env["COURSE_QUICK"] = "0" if full else "1"
    env["MPLBACKEND"] = "Agg"
    paths = [str(REPO_ROOT)] + [str(p) for p in extra_paths]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def execute(nb: nbformat.NotebookNode, workdir: Path, env: dict[str, str], timeout: int,
            before_last_cell: Any) -> str | None:
    """Run every cell on a fresh kernel; call ``before_last_cell()`` before the last one.

    Returns
    -------
    str or None
        Why the run failed as a whole (timeout, dead kernel...), or ``None``.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(workdir)}})
    client.reset_execution_trackers()
    index = -1
    try:
        # The kernel process's own stdout/stderr only carry its internal logs (the
        # notebook's output goes through the messaging protocol): keep them quiet.
        with client.setup_kernel(env=env, cwd=str(workdir), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL):
            last = len(nb.cells) - 1
            for index, cell in enumerate(nb.cells):
                if index == last:
                    before_last_cell()
                client.execute_cell(cell, index)
    except CellTimeoutError:
        return (f"timed out: cell {index} ran longer than {timeout} s "
                "(raise --timeout if the notebook legitimately needs more time)")
    except DeadKernelError:
        return f"the kernel died while running cell {index} (out of memory? exit()/os._exit()?)"
    except Exception as exc:  # kernel could not start, protocol errors...
        return f"could not run the notebook ({type(exc).__name__}: {exc})"
    return None


def load_outputs(path: Path) -> Arrays | str:
    """Read ``<qid>.npz`` without pickles; a message saying why when impossible."""
    if not path.is_file():
        return NO_RESULT
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: np.asarray(f[k]) for k in f.files}
    except Exception as exc:  # truncated, object arrays (would need pickle), not an npz...
        return (f"unusable result: the outputs could not be read as plain numeric arrays "
                f"({type(exc).__name__}: {exc}); return NumPy arrays of numbers")


def question_title(question: Question, lang: str) -> str:
    """Title of a question in ``lang`` (falls back to English, then the id)."""
    return question.title.get(lang) or question.title.get("en") or question.qid


def zero_scores(questions: list[Question], lang: str, reason: str) -> list[QuestionScore]:
    """Every question at 0 with the same reason."""
    return [QuestionScore(q.qid, question_title(q, lang), 0.0, float(q.points), False, reason)
            for q in questions]


def evaluate_outputs(questions: list[Question], inputs: dict[str, Arrays], outputs_dir: Path,
                     lang: str) -> list[QuestionScore]:
    """Grade the saved outputs in this process (never in the student's kernel)."""
    scores = []
    for q in questions:
        outputs = load_outputs(outputs_dir / f"{q.qid}.npz")
        if isinstance(outputs, str):
            passed, message = False, outputs
        else:
            fb = grade_outputs(q, inputs[q.qid], outputs, lang)
            passed, message = bool(fb.passed), fb.message
        points = float(q.points) if passed else 0.0
        scores.append(QuestionScore(q.qid, question_title(q, lang), points, float(q.points),
                                    passed, message))
    return scores


def keep_executed(nb: nbformat.NotebookNode, submission: Path, folder: Path) -> None:
    """Save the executed copy as ``<folder>/<stem>.executed.ipynb`` (never overwriting)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{submission.stem}.executed.ipynb"
    counter = 1
    while target.exists():
        counter += 1
        target = folder / f"{submission.stem}.executed-{counter}.ipynb"
    nbformat.write(nb, target)


def grade_submission(submission: Path, chapter: str, *, seed: int, timeout: int = 600,
                     lang: str = "en", full: bool = False, questions_module: str | None = None,
                     keep_dir: Path | None = None) -> SubmissionResult:
    """Grade one notebook. Never raises for a bad submission; never modifies it.

    Parameters
    ----------
    submission : Path
        The student's notebook.
    chapter : str
        A chapter registered in :data:`shared.checks.CHAPTERS`.
    seed : int
        Secret seed of the inputs.
    timeout : int
        Per-cell timeout in seconds.
    lang : str
        Language of the feedback.
    full : bool
        Use full training budgets (``COURSE_QUICK=0``) instead of quick ones.
    questions_module : str, optional
        Module registered as ``chapter`` inside the kernel too (see module docs).
    keep_dir : Path, optional
        Where to keep the executed notebook.
    """
    questions = load_questions(chapter)
    result = SubmissionResult(str(submission), chapter)
    extra = [p for p in [module_search_root(questions_module)] if p] if questions_module else []
    with tempfile.TemporaryDirectory(prefix="grading-") as tmp:
        tmpdir = Path(tmp)
        workdir = tmpdir / "work"
        workdir.mkdir()
        copy = workdir / submission.name
        shutil.copyfile(submission, copy)
        try:
            nb = nbformat.read(copy, as_version=4)
        except Exception as exc:
            result.error = (f"not a valid notebook ({type(exc).__name__}: {exc}); "
                            "every question scores 0")
            result.scores = zero_scores(questions, lang, result.error)
            return result
        inputs = draw_inputs(questions, seed)
        secret = Path(tempfile.mkdtemp(prefix="probe-", dir=tmpdir))
        inputs_dir, outputs_dir = secret / "inputs", secret / "outputs"
        nb.cells.append(nbformat.v4.new_code_cell(
            probe_cell_source(chapter, inputs_dir, outputs_dir, questions_module)))

        def reveal_inputs() -> None:
            save_inputs(inputs, inputs_dir)
            outputs_dir.mkdir(parents=True, exist_ok=True)

        result.error = execute(nb, workdir, kernel_env(full, extra), timeout, reveal_inputs)
        if keep_dir is not None:
            keep_executed(nb, submission, keep_dir)
        if result.error is not None:
            result.scores = zero_scores(questions, lang, result.error)
        else:
            result.scores = evaluate_outputs(questions, inputs, outputs_dir, lang)
    return result


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------

def fmt_points(x: float) -> str:
    """``1.0`` -> ``"1"``, ``0.5`` -> ``"0.5"``."""
    return f"{x:g}"


def csv_rows(results: list[SubmissionResult]) -> list[dict[str, str]]:
    """One row per submission x question, then a ``TOTAL`` row per submission."""
    rows = []
    for r in results:
        for s in r.scores:
            rows.append({"submission": r.submission, "question": s.qid, "title": s.title,
                         "points": fmt_points(s.points), "max_points": fmt_points(s.max_points),
                         "passed": str(s.passed).lower(), "feedback": s.feedback})
        n_passed = sum(s.passed for s in r.scores)
        rows.append({"submission": r.submission, "question": "TOTAL", "title": "",
                     "points": fmt_points(r.points), "max_points": fmt_points(r.max_points),
                     "passed": "",
                     "feedback": r.error or f"{n_passed}/{len(r.scores)} questions passed"})
    return rows


def write_csv(results: list[SubmissionResult], path: Path) -> None:
    """Write the score table as CSV."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(csv_rows(results))


def json_report(results: list[SubmissionResult]) -> list[dict[str, Any]]:
    """One object per submission with its questions and totals."""
    return [{"submission": r.submission, "chapter": r.chapter, "points": r.points,
             "max_points": r.max_points, "error": r.error,
             "questions": [{"question": s.qid, **{k: v for k, v in asdict(s).items() if k != "qid"}}
                           for s in r.scores]}
            for r in results]


def write_json(results: list[SubmissionResult], path: Path) -> None:
    """Write the score table as JSON."""
    path.write_text(json.dumps(json_report(results), indent=1, ensure_ascii=False) + "\n",
                    encoding="utf-8")


def summary_table(results: list[SubmissionResult]) -> str:
    """Compact text table: one line per submission, one column per question."""
    qids = list(dict.fromkeys(s.qid for r in results for s in r.scores))
    width = max([len("submission")] + [len(r.submission) for r in results])
    header = f"{'submission':<{width}}  " + "  ".join(f"{q:>8}" for q in qids) + "     total"
    lines = [header, "-" * len(header)]
    for r in results:
        by_qid = {s.qid: f"{fmt_points(s.points)}/{fmt_points(s.max_points)}" for s in r.scores}
        cells = "  ".join(f"{by_qid.get(q, '-'):>8}" for q in qids)
        total = f"{fmt_points(r.points)}/{fmt_points(r.max_points)}"
        line = f"{r.submission:<{width}}  {cells}  {total:>8}"
        lines.append(line + (f"  ({r.error})" if r.error else ""))
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    """Command-line interface."""
    p = argparse.ArgumentParser(
        prog="python -m shared.grading",
        description="Grade exercise notebooks: run each on a fresh kernel and evaluate its "
                    "answers on secret inputs. Runs untrusted code: use a sandbox.")
    p.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION",
                   help="a notebook, or a folder whose *.ipynb are all graded")
    p.add_argument("--chapter", help="chapter of every submission (default: the file stem)")
    p.add_argument("--out", type=Path, help="write the score table as CSV here")
    p.add_argument("--json", type=Path, help="write the scores as JSON here")
    p.add_argument("--timeout", type=int, default=600, help="per-cell timeout in seconds")
    p.add_argument("--seed", type=int, help="seed of the secret inputs (default: random)")
    p.add_argument("--keep-executed", type=Path, metavar="DIR",
                   help="keep the executed notebooks in DIR (for inspecting failures)")
    p.add_argument("--lang", choices=("en", "es"), default="en", help="language of the feedback")
    p.add_argument("--full", action="store_true",
                   help="full training budgets (default: quick, COURSE_QUICK=1)")
    p.add_argument("--questions-module", metavar="MODULE",
                   help="grade against MODULE.QUESTIONS, registered as --chapter (needed for "
                        "a chapter not yet in shared.checks.CHAPTERS)")
    return p


def register_questions_module(chapter: str | None, module: str) -> None:
    """Register ``module`` as ``chapter`` in :data:`shared.checks.CHAPTERS` (grader side)."""
    if not chapter:
        raise UsageError("--questions-module needs --chapter NAME (the name to register it as).")
    try:
        importlib.import_module(module)
    except Exception as exc:
        raise UsageError(f"cannot import --questions-module {module!r} "
                         f"({type(exc).__name__}: {exc}); is its folder on PYTHONPATH?") from None
    shared.checks.CHAPTERS[chapter] = module


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m shared.grading``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error("--timeout must be a positive number of seconds")
    for option, target in (("--out", args.out), ("--json", args.json)):
        if target is not None and not target.resolve().parent.is_dir():
            parser.error(f"{option} {target}: folder {target.resolve().parent} does not exist; "
                         "create it first")
    try:
        if args.questions_module:
            register_questions_module(args.chapter, args.questions_module)
        submissions = find_submissions(args.submissions)
        chapters = [resolve_chapter(s, args.chapter) for s in submissions]
        for chapter in sorted(set(chapters)):
            load_questions(chapter)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else secrets.randbits(64)
    results = []
    for submission, chapter in zip(submissions, chapters):
        print(f"grading {submission} (chapter {chapter}) ...", flush=True)
        results.append(grade_submission(
            submission, chapter, seed=seed, timeout=args.timeout, lang=args.lang,
            full=args.full, questions_module=args.questions_module,
            keep_dir=args.keep_executed))
    print(summary_table(results))
    if args.out:
        write_csv(results, args.out)
        print(f"wrote {args.out}")
    if args.json:
        write_json(results, args.json)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
