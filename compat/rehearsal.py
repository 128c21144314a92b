"""A Colab rehearsal: every notebook a student opens, run the way Colab runs it, as far as this machine allows.

``make rehearse-colab`` (not part of ``make test``) does, for one environment set of
``compat/sets.toml`` (default ``older``, the Colab-like one):

1. the set's virtual environment, made by ``compat/matrix.py``'s :func:`matrix.install` in
   ``_build/compat/<set>/venv`` (with ``--keep``: reused when it exists with the set's requirements,
   e.g. from ``make test-compat``; without it: made again from scratch). Like Colab, it has the
   packages but *not* the course: the runs get no ``PYTHONPATH``, and the script refuses an
   environment where ``shared`` is importable or a ``.pth`` file names the repository;
2. a bare clone of the repository's HEAD in a fresh temporary folder (``COURSE_REPO_URL`` points
   there; ``--include-uncommitted PATH...`` adds the working tree's version of those files in one
   commit of the temporary clone, never of the repository);
3. for every notebook of ``book/``, ``solutions/`` and ``exercises/`` (both languages, projects
   included), a fresh empty "Colab folder" holding only that ``.ipynb``, a fresh kernel of the
   environment whose working folder it is, ``COURSE_QUICK=1``, and the notebook top to bottom
   (nbclient; a "Run all" stops at the first error). Its setup cell must clone the course from the
   bare repository (the clone is checked: there, at the rehearsed commit, and the ``shared`` the
   kernel imported) and run its version check (``Course setup OK``, ``shared/supported.json`` read).
   An exercise runs twice, as a student meets it: *answered* (its answer cells replaced by the
   solution's code, :func:`answered_exercise`; every check must pass: ✅, or 📝 for a recorded
   choice; a project's self-check must score the saved model) and *untouched* (it must run to the
   end, every check saying "not answered yet"; errors only where the exercise is designed to raise:
   cells tagged ``raises-exception``, with :data:`UNTOUCHED_ERRORS`);
4. the table (notebook, run, result with the cell and first line of the error, seconds), printed and
   written to ``compat/rehearsal.md`` with the commit and the environment's versions. The executed
   notebooks are kept in ``_build/rehearsal/`` for a look at what failed.

What it cannot rehearse: Colab's own packages (the set stands for them), ``google.colab`` (the setup
cell says "local"), a GPU, and downloads (Fashion-MNIST comes from this machine's
``/usr/share/datasets``). The course cache (``XDG_CACHE_HOME``) starts empty once per rehearsal and is
then shared by its notebooks, so only the first notebook that needs the classifier trains it; on
Colab, every runtime starts with an empty cache.

Usage (from the repository root)::

    python compat/rehearsal.py [--keep] [--set older] [--only book/en/mdn.ipynb ...]
                               [--include-uncommitted shared/setup.py ...]

Exit code 1 if any run failed.
"""

from __future__ import annotations

import argparse
import json
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

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "_build" / "rehearsal"
REPORT_FILE = ROOT / "compat" / "rehearsal.md"
#: One notebook may run this long (quick budgets) before it fails.
NOTEBOOK_SECONDS = 1800
#: What an untouched exercise's checks say, by language (``shared.checks.core``).
UNANSWERED = {"en": "not answered yet", "es": "todavía no tiene respuesta"}
#: The errors an untouched exercise may raise, in its cells tagged ``raises-exception`` only: its own
#: placeholder, and what follows from it (a later cell uses the model the placeholder did not build).
UNTOUCHED_ERRORS = ("Placeholder", "NameError")
#: Marks that :func:`shared.checks.check` and the projects' ``self_check`` print in front of a verdict.
MARKS = ("✅", "❌", "📝", "🟡")
CHECK_CALL = re.compile(r"^\s*(self_)?check\(", re.M)
SETUP_OK = "Course setup OK"
#: Run in the notebook's kernel after its last cell: which ``shared`` it imported, whether the version
#: check had its range, and the notes the check gives on this environment.
PROBE = ("import json as _j, os as _o, shared as _s, shared.setup as _ss\n"
         "print(_j.dumps({'shared': _o.path.abspath(_s.__file__), "
         "'supported': _o.path.exists(_ss.SUPPORTED_FILE), 'notes': _ss.version_warnings()}))")


@dataclass
class Run:
    """One notebook run: ``ok``, or the cell and the first line of what went wrong."""

    notebook: str
    mode: str  # "as is", "answered" or "untouched"
    ok: bool = False
    seconds: float = 0.0
    cell: int | None = None
    error: str = ""
    notes: list[str] = field(default_factory=list)

    def result(self) -> str:
        if self.ok:
            return "pass"
        where = f"cell {self.cell}: " if self.cell is not None else ""
        return f"FAIL {where}{self.error}"[:200]


# ---------------------------------------------------------------------------
# What runs: the notebooks, and an exercise answered with its solution's code
# ---------------------------------------------------------------------------

def student_notebooks(root: Path = ROOT) -> list[str]:
    """Every notebook a student opens, book first, each folder in both languages."""
    found = [p for folder in ("book", "solutions", "exercises") for lang in ("en", "es")
             for p in sorted((root / folder / lang).glob("*.ipynb"))]
    return [p.relative_to(root).as_posix() for p in found]


def modes(rel: str) -> list[str]:
    """How a notebook is run: an exercise answered and untouched; the others as they are."""
    return ["answered", "untouched"] if rel.startswith("exercises/") else ["as is"]


def without_markers(source: str) -> str:
    """A solution cell as a student who answered would have it: the solution regions' code, no markers."""
    from shared.exercises import BEGIN_MARKER, END_MARKER

    return "\n".join(l for l in source.split("\n") if l.strip() not in (BEGIN_MARKER, END_MARKER))


def answered_exercise(exercise: Any, solution: Any, lang: str, chapter: str) -> tuple[Any, list[int]]:
    """The exercise notebook with its answer cells replaced by the solution's code.

    The exercise is what :func:`shared.exercises.generate_exercise` makes of the solution; the same
    function, given the solution without its ``BEGIN``/``END SOLUTION`` markers, makes the answered
    exercise (every other rule applied alike). Returns it and the indices of the cells that changed.

    Raises
    ------
    ValueError
        If the exercise is not what its solution generates (stale: ``python -m shared.exercises``).
    """
    import copy

    from shared.exercises import generate_exercise

    generated = generate_exercise(solution, lang, chapter=chapter)
    if [c.source for c in generated.cells] != [c.source for c in exercise.cells]:
        raise ValueError(f"exercises/{lang}/{chapter}.ipynb is not what its solution generates: "
                         "run `python -m shared.exercises`")
    plain = copy.deepcopy(solution)
    for cell in plain.cells:
        if cell.cell_type == "code":
            cell.source = without_markers(cell.source)
    answers = generate_exercise(plain, lang, chapter=chapter)
    changed = [i for i, (a, e) in enumerate(zip(answers.cells, exercise.cells)) if a.source != e.source]
    answered = copy.deepcopy(exercise)  # the student's notebook: only the answer cells change
    for i in changed:
        answered.cells[i].source = answers.cells[i].source
    return answered, changed


# ---------------------------------------------------------------------------
# Judging an executed notebook
# ---------------------------------------------------------------------------

def stdout_text(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


def errors(nb: Any) -> list[tuple[int, str, str]]:
    """``(cell, ename, first line of evalue)`` of every error output."""
    found = []
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "error":
                first = (out.get("evalue") or "").strip().splitlines()[:1]
                found.append((index, out.get("ename", "?"), first[0] if first else ""))
    return found


def verdicts(nb: Any) -> list[tuple[int, list[str]]]:
    """The check cells (``check(...)`` or ``self_check(...)``) that ran without an error, with the verdict
    lines each printed."""
    out = []
    for index, cell in enumerate(nb.cells):
        ran = cell.cell_type == "code" and cell.get("execution_count")
        raised = ran and any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        if ran and not raised and CHECK_CALL.search(cell.source):
            lines = [l.strip() for l in stdout_text(cell).splitlines()]
            out.append((index, [l for l in lines if l.startswith(MARKS) or l.lower().startswith("total")]))
    return out


def judge(nb: Any, mode: str, lang: str) -> tuple[int | None, str, list[str]]:
    """What is wrong with an executed notebook for its mode: ``(cell, problem, notes)``; no problem: ``""``."""
    notes: list[str] = []
    untouched = mode == "untouched"
    for index, ename, evalue in errors(nb):
        allowed = "raises-exception" in nb.cells[index].metadata.get("tags", []) and ename in UNTOUCHED_ERRORS
        if not (untouched and allowed):
            return index, f"{ename}: {evalue}", notes
        notes.append(f"cell {index} raised {ename} (by design)")
    for index, lines in verdicts(nb):
        marks = [l for l in lines if l.startswith(MARKS)]
        is_self_check = "self_check(" in nb.cells[index].source
        if untouched:
            if not marks or not all(l.startswith("❌") and UNANSWERED[lang] in l for l in marks):
                return index, f"an untouched check says: {(marks or ['nothing'])[0]}", notes
        elif is_self_check:
            total = [l for l in lines if l.lower().startswith("total")]
            if not total:
                return index, f"the self-check did not score the model: {(marks or ['nothing'])[0]}", notes
            score = re.match(r"total:?\s*(\d+(?:\.\d+)?/\d+(?:\.\d+)?)", total[0], re.I)
            notes.append(f"self-check {score.group(1) if score else total[0]}")
        elif not marks or not all(l.startswith(("✅", "📝")) for l in marks):
            return index, f"a check does not pass: {(marks or ['nothing'])[0]}", notes
    return None, "", notes


# ---------------------------------------------------------------------------
# The environment, the bare repository, one Colab folder
# ---------------------------------------------------------------------------

def set_environment(name: str, keep: bool) -> Path:
    """The set's environment (``compat/matrix.py`` makes it; made again unless ``keep``): its python."""
    sys.path.insert(0, str(ROOT / "compat"))
    import matrix

    sets = matrix.load_sets()
    if name not in sets:
        raise SystemExit(f"unknown set {name!r}; compat/sets.toml has {list(sets)}")
    requirements = matrix.requirements_for(sets[name], (ROOT / "requirements.txt").read_text(encoding="utf-8"))
    stamp = matrix.OUT / name / "venv" / "requirements.installed"
    if not keep:
        stamp.unlink(missing_ok=True)  # matrix.install then makes the environment again (venv --clear)
    python, error = matrix.install(name, requirements, matrix.OUT / name)
    if python is None:
        raise SystemExit(f"[{name}] install failed: {error}")
    return python


def colab_environment(python: Path, repo_url: str, cache: Path) -> dict[str, str]:
    """A Colab-like process environment: the set's Python first, no course on the path, quick budgets."""
    dropped = ("PYTHON", "VIRTUAL_ENV", "COURSE_", "JUPYTER", "CONDA")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)
           and k not in ("MPLBACKEND", "TF_CPP_MIN_LOG_LEVEL", "TQDM_DISABLE", "CI", "XDG_CACHE_HOME")}
    env.update(PATH=f"{python.parent}{os.pathsep}{env.get('PATH', '')}", COURSE_QUICK="1",
               COURSE_REPO_URL=repo_url, XDG_CACHE_HOME=str(cache),
               JUPYTER_PATH=str(python.parent.parent / "share" / "jupyter"))
    return env


def check_isolated(python: Path, env: dict[str, str], folder: Path) -> None:
    """Refuse an environment that would find the course without cloning it."""
    pth = [p for p in (python.parent.parent / "lib").glob("python*/site-packages/*.pth")
           if str(ROOT) in p.read_text(encoding="utf-8", errors="replace")]
    code = "import importlib.util; print(importlib.util.find_spec('shared'))"
    found = subprocess.run([str(python), "-c", code], cwd=folder, env=env, capture_output=True, text=True)
    if pth or found.stdout.strip() != "None":
        raise SystemExit(f"the environment finds the course without cloning it: {pth or found.stdout.strip()}")


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def bare_repository(folder: Path, include: list[str]) -> tuple[Path, str, str]:
    """A bare clone of HEAD in ``folder`` (plus the working tree's ``include`` files in a commit of its
    own): its path, the repository's commit it holds, and the commit the notebooks must clone."""
    bare = folder / "course.git"
    git("clone", "--bare", "--quiet", str(ROOT), str(bare))
    base = git("rev-parse", "HEAD", cwd=bare)
    if include:
        work = folder / "overlay"
        git("clone", "--quiet", str(bare), str(work))
        for rel in include:
            target = work / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, target)
        git("add", "--", *include, cwd=work)
        git("-c", "user.name=rehearsal", "-c", "user.email=rehearsal@localhost", "commit", "--quiet",
            "-m", f"rehearsal: the working tree's {', '.join(include)}", cwd=work)
        git("push", "--quiet", "origin", "HEAD", cwd=work)
        shutil.rmtree(work)
    return bare, base, git("rev-parse", "HEAD", cwd=bare)


def find_clone(content: Path) -> Path | None:
    """The course the setup cell cloned into the Colab folder (a git folder with ``shared/``)."""
    clones = [p for p in content.iterdir() if (p / ".git").exists() and (p / "shared" / "__init__.py").exists()]
    return clones[0] if len(clones) == 1 else None


def notebook_for(bare: Path, commit: str, rel: str, mode: str) -> Any:
    """The notebook at the rehearsed commit, as the student runs it (an answered exercise gets its
    solution's code)."""
    import nbformat

    def read(path: str) -> Any:
        return nbformat.reads(git("--git-dir", str(bare), "show", f"{commit}:{path}"), as_version=4)

    nb = read(rel)
    if mode == "answered":
        _, lang, name = rel.split("/")
        nb, _ = answered_exercise(nb, read(f"solutions/{lang}/{name}"), lang, Path(name).stem)
    return nb


def rehearse(python: Path, rel: str, mode: str, colab: Path, env: dict[str, str], bare: Path, commit: str) -> Run:
    """One notebook, alone in a fresh Colab folder, on a fresh kernel of the environment."""
    run = Run(rel, mode)
    slug = rel.replace("/", "-").removesuffix(".ipynb") + ("" if mode == "as is" else f"-{mode}")
    content = colab / slug / "content"
    content.mkdir(parents=True)
    try:
        run.cell, run.error, run.notes = _rehearse_in(python, rel, mode, content, slug, env, bare, commit, run)
    finally:
        shutil.rmtree(colab / slug, ignore_errors=True)
    run.ok = not run.error
    return run


def _rehearse_in(python: Path, rel: str, mode: str, content: Path, slug: str, env: dict[str, str], bare: Path,
                 commit: str, run: Run) -> tuple[int | None, str, list[str]]:
    """:func:`rehearse` in its Colab folder ``content``: ``(cell, problem, notes)``."""
    import nbformat

    name = Path(rel).name
    try:
        nbformat.write(notebook_for(bare, commit, rel, mode), content / name)
    except ValueError as exc:
        return None, str(exc), []
    result, executed = OUT / f"{slug}.json", OUT / f"{slug}.ipynb"
    result.unlink(missing_ok=True)  # never judge an earlier run's result
    start = time.time()
    with open(OUT / f"{slug}.log", "w") as log:
        try:
            subprocess.run([str(python), str(Path(__file__)), "--execute", name, "--result", str(result),
                            "--save", str(executed)], cwd=content, env=env, stdout=log,
                           stderr=subprocess.STDOUT, timeout=NOTEBOOK_SECONDS + 120)
        except subprocess.TimeoutExpired:
            pass
    run.seconds = time.time() - start
    if not result.exists():
        return None, f"the runner did not finish (see {OUT.name}/{slug}.log)", []
    done = json.loads(result.read_text(encoding="utf-8"))
    if done["error"]:
        return done["cell"], done["error"], []
    clone, probe = find_clone(content), done.get("probe") or {}
    if clone is None or git("rev-parse", "HEAD", cwd=clone) != commit:
        return None, "the setup cell did not clone the course at the rehearsed commit", []
    if not str(probe.get("shared", "")).startswith(str(clone.resolve())):
        return None, f"the kernel imported shared from {probe.get('shared') or probe}, not from its clone", []
    nb = nbformat.read(executed, as_version=4)
    setup = next((i for i, c in enumerate(nb.cells) if "setup" in c.metadata.get("tags", [])), None)
    if setup is None or SETUP_OK not in stdout_text(nb.cells[setup]) or not probe.get("supported"):
        return setup, "the setup cell's version check did not run", []
    cell, problem, notes = judge(nb, "untouched" if mode == "untouched" else "answered", Path(rel).parent.name)
    return cell, problem, notes + [f"version note: {n}" for n in probe.get("notes", [])]


def execute(name: str, result: Path, save: Path) -> None:
    """Inside the environment: run ``name`` (in the current folder) as a "Run all" does, then the probe."""
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    argv = KernelSpecManager().get_kernel_spec("python3").argv
    out: dict[str, Any] = {"cell": None, "error": "", "probe": None}
    if argv[0] != sys.executable:
        out["error"] = f"the kernel python3 is {argv[0]}, not this environment's {sys.executable}"
    else:
        nb = nbformat.read(name, as_version=4)
        client = NotebookClient(nb, timeout=NOTEBOOK_SECONDS, kernel_name="python3",
                                resources={"metadata": {"path": os.getcwd()}})
        index = -1
        with client.setup_kernel():
            try:
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index)
            except CellExecutionError as exc:
                first = (exc.evalue or "").strip().splitlines()[:1]
                out.update(cell=index, error=f"{exc.ename}: {first[0] if first else ''}")
            except (CellTimeoutError, DeadKernelError) as exc:
                out.update(cell=index, error=f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
            if "DeadKernelError" not in out["error"]:  # the probe, on the notebook's kernel
                probe = nbformat.v4.new_code_cell(PROBE)
                nb.cells.append(probe)
                try:
                    client.execute_cell(probe, len(nb.cells) - 1)
                    out["probe"] = json.loads(stdout_text(probe).strip().splitlines()[-1])
                except Exception as exc:  # noqa: BLE001 - reported, not raised
                    out["probe"] = {"error": f"{type(exc).__name__}: {exc}"}
                nb.cells.pop()
        nbformat.write(nb, save)
    result.write_text(json.dumps(out), encoding="utf-8")


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

def table(runs: list[Run]) -> str:
    rows = ["| notebook | run | result | s | notes |", "|---|---|---|---:|---|"]
    for r in runs:
        notes = "; ".join(r.notes).replace("|", "/")
        rows.append(f"| {r.notebook} | {r.mode} | {r.result().replace('|', '/')} | {r.seconds:.0f} | {notes} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default="older", help="the environment set of compat/sets.toml (default older)")
    parser.add_argument("--keep", action="store_true",
                        help="reuse the set's environment in _build/compat/ if it has the set's requirements")
    parser.add_argument("--only", nargs="*", default=None, help="these notebooks only (no report written)")
    parser.add_argument("--include-uncommitted", nargs="*", default=[], metavar="PATH",
                        help="rehearse HEAD plus the working tree's version of these files")
    parser.add_argument("--execute", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--save", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.execute:  # inside the set's environment, in the Colab folder
        execute(args.execute, args.result, args.save)
        return 0

    sys.path.insert(0, str(ROOT))
    started = time.time()
    python = set_environment(args.set, args.keep)
    import matrix

    found = matrix.versions(python)
    print(f"[{args.set}] " + ", ".join(f"{d} {v}" for d, v in found.items()), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    chosen = args.only if args.only is not None else student_notebooks()
    runs: list[Run] = []
    loads: list[float] = []  # the machine's load when each notebook starts: the seconds depend on it
    with tempfile.TemporaryDirectory(prefix="rehearsal-repo-") as repo_dir, \
            tempfile.TemporaryDirectory(prefix="rehearsal-colab-") as colab_dir:
        bare, base, commit = bare_repository(Path(repo_dir), args.include_uncommitted)
        env = colab_environment(python, bare.as_uri(), Path(colab_dir) / "cache")
        check_isolated(python, env, Path(colab_dir))
        print(f"rehearsing {commit[:10]} from {bare.as_uri()}", flush=True)
        for rel in chosen:
            for mode in modes(rel):
                loads.append(os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0)
                runs.append(rehearse(python, rel, mode, Path(colab_dir), env, bare, commit))
                r = runs[-1]
                print(f"{rel} [{mode}]: {r.result()} ({r.seconds:.0f} s){' - ' + '; '.join(r.notes) if r.notes else ''}",
                      flush=True)
    minutes = (time.time() - started) / 60
    report = table(runs)
    failed = sum(not r.ok for r in runs)
    print("\n" + report + f"\n\n{len(runs) - failed} of {len(runs)} runs passed; {minutes:.1f} min")
    if args.only is None:
        extra = f" + the working tree's {', '.join(args.include_uncommitted)}" if args.include_uncommitted else ""
        versions = ", ".join(f"{d} {v}" for d, v in found.items())
        REPORT_FILE.write_text(
            f"# Colab rehearsal ({time.strftime('%Y-%m-%d')}, {base[:7]}{extra}, {minutes:.0f} min on "
            f"{os.cpu_count()} cores, mean load {sum(loads) / max(len(loads), 1):.1f})\n\nWritten by `make rehearse-colab` (compat/rehearsal.py). The "
            f"{args.set!r} set of compat/sets.toml: {versions}. Every notebook alone in an empty folder, its "
            f"setup cell cloning the course from a bare repository; quick budgets. {len(runs) - failed} of "
            f"{len(runs)} runs passed.\n\n" + report + "\n", encoding="utf-8")
        print(f"wrote {REPORT_FILE.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
