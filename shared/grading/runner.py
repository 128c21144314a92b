"""Grade one submission: run it in the sandbox, then evaluate its outputs with the key.

How a submission is graded
--------------------------
1. The submitted file is copied into a fresh temporary folder; the original is
   never modified.
2. In this (the grader's) process, the inputs of every question are drawn with
   a secret random generator and the answer key (:mod:`shared.key`) computes
   the expected results for them. Neither leaves this process before the
   student's cells have run; the expected results never do.
3. One code cell is appended to the copy. It calls
   :func:`shared.checks.core.probe`, which only *computes* the outputs of the
   student's objects for the grader's inputs and saves them as ``.npz`` files.
   The whole notebook runs on a fresh kernel in the sandbox
   (:mod:`shared.grading.sandbox`): it sees a keyless copy of the course
   package, its own folder, none of the grader's files or variables, and it
   is stopped when it breaches a :class:`~shared.grading.sandbox.Limits`.
   A cell that raises does not stop the others. The inputs are written to
   disk only after all the student's cells have run.
4. Back in the grader's process, the outputs are read with
   ``allow_pickle=False`` and evaluated against the key's expected results
   (:func:`shared.key.grade_case`), in English and Spanish. A question scores
   its points if it passes, 0 otherwise.
5. A breached limit, a dead kernel or an invalid notebook scores 0 on every
   question of that submission, with the reason in both languages; grading
   continues with the next one.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

import shared.checks
from shared.checks.core import Arrays, Question
from shared.grading import sandbox
from shared.grading.messages import both
from shared.key import QuestionKey, draw_case, grade_case, keys_for
from shared.projects import PROJECTS

REPO_ROOT = sandbox.REPO_ROOT
PROBE_MARK = "# Cell added by the grader (shared.grading)"
LANGS = ("en", "es")
#: Outputs files larger than this are not read.
MAX_RESULT_BYTES = 64 * 2 ** 20


class UsageError(Exception):
    """The command line itself is wrong (missing file, unknown chapter...)."""


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

@dataclass
class QuestionScore:
    """Score of one question of one submission; ``feedback`` in the report's language."""

    qid: str
    title: str
    points: float
    max_points: float
    passed: bool
    feedback: str
    feedback_by_lang: dict[str, str] = field(default_factory=dict)
    title_by_lang: dict[str, str] = field(default_factory=dict)


@dataclass
class SubmissionResult:
    """Scores of one submission; ``error`` explains a run that failed as a whole."""

    submission: str
    chapter: str
    scores: list[QuestionScore] = field(default_factory=list)
    error: str | None = None
    error_by_lang: dict[str, str] | None = None
    language: str = "en"
    seconds: float = 0.0
    peak_memory_mb: float = 0.0
    sandboxed: bool = True
    inputs_id: str = ""

    @property
    def points(self) -> float:
        """Total points earned."""
        return float(sum(s.points for s in self.scores))

    @property
    def max_points(self) -> float:
        """Total points available."""
        return float(sum(s.max_points for s in self.scores))

    def to_json(self) -> dict[str, Any]:
        """Plain dictionary (the job result file of one submission)."""
        d = asdict(self)
        d["points"], d["max_points"] = self.points, self.max_points
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "SubmissionResult":
        d = {k: v for k, v in d.items() if k not in ("points", "max_points")}
        d["scores"] = [QuestionScore(**s) for s in d.get("scores", [])]
        return cls(**d)


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
    """The chapter of a submission: ``chapter`` or the file stem; must be known."""
    name = chapter or path.stem
    if name not in shared.checks.CHAPTERS and name not in PROJECTS:
        known = ", ".join(sorted(shared.checks.CHAPTERS) + sorted(PROJECTS))
        how = "" if chapter else f" (taken from the file name of {path})"
        raise UsageError(
            f"unknown chapter {name!r}{how}. Known chapters: {known}. "
            "Use --chapter NAME to say which chapter the submission answers.")
    return name


def load_questions(chapter: str, key_module: str | None = None) -> tuple[list[Question], dict[str, QuestionKey]]:
    """The chapter's questions and their keys, import failures as :class:`UsageError`."""
    try:
        questions = shared.checks.questions_for(chapter)
        keys = keys_for(chapter, key_module)
    except Exception as exc:
        raise UsageError(
            f"could not load the questions or the answer key of chapter {chapter!r} "
            f"({type(exc).__name__}: {exc}).") from None
    missing = [q.qid for q in questions if q.qid not in keys]
    if missing:
        raise UsageError(f"the answer key of chapter {chapter!r} has no entry for {', '.join(missing)}")
    return questions, keys


def module_file(module_name: str) -> Path | None:
    """The file of a single-file module (to copy into the kernel's runtime)."""
    module = importlib.import_module(module_name)
    file = getattr(module, "__file__", None)
    return Path(file) if file else None


def notebook_language(nb: nbformat.NotebookNode) -> str:
    """The language the student chose in the notebook (``set_language("es")``), else ``"en"``."""
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            m = re.search(r"set_language\(\s*['\"](en|es)['\"]\s*\)", cell.get("source", ""))
            if m:
                return m.group(1)
    return "es" if "/es/" in str(nb.metadata.get("course", {}).get("generated_from", "")) else "en"


def inputs_fingerprint(seed: int, chapter: str) -> str:
    """A public id of the secret inputs (equal ids: same inputs), which does not reveal the seed."""
    return hashlib.sha256(f"{chapter}:{seed}".encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------
# The cases and the probe
# ---------------------------------------------------------------------------

def draw_cases(questions: list[Question], keys: dict[str, QuestionKey], seed: int) -> dict[str, tuple[Arrays, Arrays]]:
    """``{qid: (inputs, expected)}``, inputs drawn with a generator seeded by the secret ``seed``."""
    rng = np.random.default_rng(seed)
    return {q.qid: draw_case(keys[q.qid], rng) for q in questions}


def save_inputs(cases: dict[str, tuple[Arrays, Arrays]], inputs_dir: Path) -> None:
    """Write ``<inputs_dir>/<qid>.npz`` (inputs only) for every question."""
    inputs_dir.mkdir(parents=True, exist_ok=True)
    for qid, (inputs, _) in cases.items():
        np.savez(inputs_dir / f"{qid}.npz", **inputs)
        (inputs_dir / f"{qid}.npz").chmod(0o644)


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


def load_outputs(path: Path) -> Arrays | dict[str, str]:
    """Read ``<qid>.npz`` without pickles; ``{"en": ..., "es": ...}`` saying why when impossible."""
    if path.is_symlink() or not path.is_file():
        return both("no_result")
    if path.stat().st_size > MAX_RESULT_BYTES:
        return both("unusable", detail=f"larger than {MAX_RESULT_BYTES // 2 ** 20} MB")
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: np.asarray(f[k]) for k in f.files}
    except Exception as exc:  # truncated, object arrays (would need pickle), not an npz...
        return both("unusable", detail=f"{type(exc).__name__}: {exc}")


def question_title(question: Question, lang: str) -> str:
    """Title of a question in ``lang`` (falls back to English, then the id)."""
    return question.title.get(lang) or question.title.get("en") or question.qid


def zero_scores(questions: list[Question], lang: str, reason: dict[str, str]) -> list[QuestionScore]:
    """Every question at 0 with the same reason."""
    return [QuestionScore(q.qid, question_title(q, lang), 0.0, float(q.points), False, reason[lang],
                          dict(reason), {l: question_title(q, l) for l in LANGS})
            for q in questions]


def evaluate_outputs(questions: list[Question], keys: dict[str, QuestionKey],
                     cases: dict[str, tuple[Arrays, Arrays]], outputs_dir: Path,
                     lang: str) -> list[QuestionScore]:
    """Grade the saved outputs in this process (never in the student's kernel)."""
    scores = []
    for q in questions:
        outputs = load_outputs(outputs_dir / f"{q.qid}.npz")
        inputs, expected = cases[q.qid]
        if all(isinstance(v, str) for v in outputs.values()) and set(outputs) == set(LANGS):
            passed, messages = False, dict(outputs)
        else:
            verdicts = {l: grade_case(q, keys[q.qid], inputs, expected, outputs, l) for l in LANGS}
            passed = bool(verdicts[lang].passed) and all(v.passed for v in verdicts.values())
            messages = {l: v.message for l, v in verdicts.items()}
        scores.append(QuestionScore(q.qid, question_title(q, lang), float(q.points) if passed else 0.0,
                                    float(q.points), passed, messages[lang], messages,
                                    {l: question_title(q, l) for l in LANGS}))
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


# ---------------------------------------------------------------------------
# Running the notebook
# ---------------------------------------------------------------------------

def _client_class():
    from nbclient import NotebookClient

    class CappedClient(NotebookClient):
        """A client that stops counting (and keeping) outputs past ``output_limit`` bytes."""

        output_limit: int = 0
        output_bytes: int = 0
        on_output_limit: Any = None

        def output(self, outs, msg, display_id, cell_index):
            content = msg.get("content", {})
            size = len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values())
            self.output_bytes += size
            if self.output_limit and self.output_bytes > self.output_limit:
                if self.on_output_limit is not None:
                    self.on_output_limit()
                    self.on_output_limit = None
                return None
            return super().output(outs, msg, display_id, cell_index)

    return CappedClient


@dataclass
class RunOutcome:
    """How the run of one notebook ended (``code`` None: it reached the end)."""

    code: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    peak_memory_mb: float = 0.0


def execute(nb: nbformat.NotebookNode, tmp: Path, runtime: Path, limits: sandbox.Limits, *,
            full: bool, isolate: bool, lease_uid: int, hide: list[Path], before_last_cell: Any,
            io_dir: Path, after_cell: Any = None) -> RunOutcome:
    """Run every cell on a fresh sandboxed kernel.

    ``before_last_cell()`` is called before the last cell, ``after_cell(index)``
    (if given) after each cell, both in this process.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    workdir, conn = tmp / "work", tmp / "conn"
    for d in (workdir / "home" / "tmp", conn):
        d.mkdir(parents=True, exist_ok=True)
    as_root = os.geteuid() == 0 and isolate
    uid = gid = lease_uid if as_root else os.geteuid()
    if as_root:  # the submission's own uid writes only here (and in io_dir/outputs)
        for d in (workdir, conn, io_dir / "outputs"):
            sandbox.chown_tree(d, uid, gid)
    env = sandbox.kernel_env(workdir, runtime, full)
    keep = [{"src": sys.prefix, "dst": sys.prefix, "ro": True},
            {"src": str(runtime), "dst": str(runtime), "ro": True},
            {"src": str(workdir), "dst": str(workdir), "ro": False},
            {"src": str(conn), "dst": str(conn), "ro": False},
            {"src": str(io_dir), "dst": str(io_dir), "ro": False}]
    if sys.base_prefix != sys.prefix:
        keep.insert(0, {"src": sys.base_prefix, "dst": sys.base_prefix, "ro": True})
    config = {"isolate": isolate, "allow_network": False, "hide": sandbox.hidden_paths(hide),
              "keep": keep, "uid": uid, "gid": gid, "cwd": str(workdir), "env": env,
              "connection_copy": str(conn / "kernel-sandbox.json"),
              "limits": limits.launcher_limits()}
    spec_root = sandbox.write_kernel_spec(tmp / "spec", config)
    km = AsyncKernelManager(kernel_name="course-sandbox",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec_root)]),
                       transport="ipc" if isolate else "tcp",
                       connection_file=str(conn / "kernel.json"))
    if isolate:
        km.ip = str(conn / "zmq")
    client = _client_class()(nb, km=km, timeout=limits.cell_seconds or None, allow_errors=True,
                             kernel_name="course-sandbox", resources={"metadata": {"path": str(workdir)}},
                             startup_timeout=120)
    watchdog = sandbox.Watchdog(limits, uid if as_root else None)
    client.output_limit = int(limits.output_mb * 2 ** 20) if limits.output_mb else 0
    client.on_output_limit = lambda: watchdog.kill_all(f"output:{limits.output_mb:g}")
    client.reset_execution_trackers()
    index = -1
    outcome = RunOutcome()
    try:
        with open(tmp / "kernel.log", "wb") as log, \
                client.setup_kernel(env=env, cwd=str(workdir), stdout=subprocess.DEVNULL, stderr=log,
                                    cleanup_kc=True):
            provisioner = getattr(km, "provisioner", None)
            process = getattr(provisioner, "process", None)
            watchdog.kernel_pid = getattr(process, "pid", None)
            watchdog.start()
            last = len(nb.cells) - 1
            for index, cell in enumerate(nb.cells):
                if index == last:
                    before_last_cell()
                client.execute_cell(cell, index)
                if watchdog.reason:
                    break
                if after_cell is not None:
                    after_cell(index)
    except CellTimeoutError:
        outcome = RunOutcome("cell_timeout", {"cell": index, "seconds": limits.cell_seconds})
    except DeadKernelError:
        outcome = RunOutcome("dead", {"cell": index})
    except RuntimeError as exc:
        text = str(exc)
        if "died" in text or "Kernel didn't respond" in text or "kernel" in text.lower():
            outcome = RunOutcome("sandbox" if index < 0 else "dead",
                                 {"cell": index, "detail": sandbox_error(tmp / "kernel.log", text)})
        else:
            outcome = RunOutcome("could_not_run", {"detail": f"{type(exc).__name__}: {exc}"})
    except Exception as exc:  # kernel could not start, protocol errors...
        outcome = RunOutcome("sandbox" if index < 0 else "could_not_run",
                             {"cell": index, "detail": f"{type(exc).__name__}: {exc}"})
    finally:
        watchdog.stop()
        watchdog.kill_all()  # what the kernel left running (daemons, children)
        reap(km)
    outcome.peak_memory_mb = watchdog.peak_rss_mb
    if watchdog.reason:  # a breached limit explains the death better than the exception
        kind, limit = watchdog.reason.split(":", 1)
        outcome = RunOutcome(kind, {"limit": limit, "cell": index}, watchdog.peak_rss_mb)
    return outcome


def reap(km: Any) -> None:
    """Wait for the kernel process if it is still a child of ours (no zombie left)."""
    process = getattr(getattr(km, "provisioner", None), "process", None)
    if process is not None:
        try:
            process.kill()
            process.wait(timeout=10)
        except Exception:
            pass


def sandbox_error(log: Path, text: str) -> str:
    """The launcher's own words when the kernel never started, else ``text``."""
    try:
        lines = [l for l in log.read_text(errors="replace").splitlines() if l.strip()]
    except OSError:
        lines = []
    for line in reversed(lines):
        if "grading sandbox could not start" in line:
            return line.split(": ", 1)[-1]
    return (lines[-1][:300] if lines else "") or (text.splitlines()[0] if text else "unknown error")


def grade_submission(submission: Path, chapter: str, *, seed: int, limits: sandbox.Limits | None = None,
                     timeout: int | None = None, lang: str = "en", full: bool = False,
                     questions_module: str | None = None, key_module: str | None = None,
                     keep_dir: Path | None = None,
                     isolate: bool = True, runtime: Path | None = None,
                     hide: list[Path] | None = None) -> SubmissionResult:
    """Grade one notebook. Never raises for a bad submission; never modifies it.

    Parameters
    ----------
    submission : Path
        The student's notebook.
    chapter : str
        A chapter registered in :data:`shared.checks.CHAPTERS`.
    seed : int
        Secret seed of the inputs.
    limits : Limits, optional
        Per-submission limits (default :class:`~shared.grading.sandbox.Limits`).
    timeout : int, optional
        Shortcut for ``limits.cell_seconds``.
    lang : str
        Language of ``feedback`` in the result (both languages are always kept).
    full : bool
        Use full training budgets (``COURSE_QUICK=0``) instead of quick ones.
    questions_module : str, optional
        A module with ``QUESTIONS``, registered as ``chapter`` here and copied
        into the kernel's runtime.
    key_module : str, optional
        The module with its ``KEYS`` (stays in this process).
    keep_dir : Path, optional
        Where to keep the executed notebook.
    isolate : bool
        Run in the sandbox (namespaces, own uid); ``False`` only where the
        machine cannot (the result says ``sandboxed: false``).
    runtime : Path, optional
        A runtime folder from :func:`sandbox.build_runtime` (built here if absent).
    hide : list of Path, optional
        More folders to hide from the kernel (e.g. the submissions' folders).
    """
    limits = limits or sandbox.Limits()
    if timeout is not None:
        limits = sandbox.Limits(**{**asdict(limits), "cell_seconds": timeout})
    questions, keys = load_questions(chapter, key_module)
    result = SubmissionResult(str(submission), chapter, sandboxed=isolate,
                              inputs_id=inputs_fingerprint(seed, chapter))
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="grading-") as tmp_name:
        tmp = Path(tmp_name)
        os.chmod(tmp, 0o755)
        if runtime is None:
            extra = [p for p in [module_file(questions_module)] if p] if questions_module else []
            runtime = sandbox.build_runtime(tmp / "runtime", extra)
        workdir = tmp / "work"
        workdir.mkdir()
        copy = workdir / submission.name
        shutil.copyfile(submission, copy)
        try:
            nb = nbformat.read(copy, as_version=4)
            nbformat.validate(nb)
        except Exception as exc:
            reason = both("invalid", detail=f"{type(exc).__name__}: {str(exc)[:200]}")
            result.error, result.error_by_lang = reason[lang], reason
            result.scores = zero_scores(questions, lang, reason)
            result.seconds = time.monotonic() - start
            return result
        result.language = notebook_language(nb)
        cases = draw_cases(questions, keys, seed)
        # io/ and io/inputs/ belong to the grader: the kernel cannot plant links where the
        # grader writes the inputs; it writes only in io/outputs/.
        io_dir = tmp / "io"
        inputs_dir, outputs_dir = io_dir / "inputs", io_dir / "outputs"
        for d in (io_dir, inputs_dir, outputs_dir):
            d.mkdir(mode=0o755)
        nb.cells.append(nbformat.v4.new_code_cell(
            probe_cell_source(chapter, inputs_dir, outputs_dir, questions_module)))

        with sandbox.UidLease() as lease:
            outcome = execute(nb, tmp, runtime, limits, full=full, isolate=isolate, lease_uid=lease.uid,
                              hide=list(hide or []) + [submission.resolve().parent], io_dir=io_dir,
                              before_last_cell=lambda: save_inputs(cases, inputs_dir))
        result.peak_memory_mb = round(outcome.peak_memory_mb, 1)
        if keep_dir is not None:
            keep_executed(nb, submission, keep_dir)
        if outcome.code is not None:
            reason = both(outcome.code, **{"cell": "?", "limit": "?", "seconds": "?", "detail": "",
                                           **outcome.params})
            result.error, result.error_by_lang = reason[lang], reason
            result.scores = zero_scores(questions, lang, reason)
        else:
            result.scores = evaluate_outputs(questions, keys, cases, outputs_dir, lang)
    result.seconds = round(time.monotonic() - start, 2)
    return result
