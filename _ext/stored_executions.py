"""Stored executions of the graded projects' solutions: made by ``make stored-executions``, shown by the website.

A graded project's solution notebook trains its model as a student's would, at
the full budget its bands were calibrated on (1 to 3 minutes per notebook on 2
cores, and each language has its own notebook because the self-check speaks the
page's language): about 13 minutes for the six, more than every chapter
together. So the full build does not train them: ``make stored-executions`` (also
the last step of ``make long-runs``) executes each solution notebook once, top to
bottom, in a temporary folder::

    python _ext/stored_executions.py make solutions/en/gan-project.ipynb ...

and stores the executed notebook in ``solutions/executed/<lang>/<name>.ipynb``
(the student edition leaves out ``solutions/`` whole). Before building,
``_ext/build_site.py`` puts every stored execution into the build's execution
cache (:func:`prime`). It matches its notebook as long as the notebook's code
cells and their tags are the ones it executed (the cache's hash,
``_ext/twin_cache.py``), and the page then shows its outputs; the prose (the
markdown cells) always comes from the notebook itself. A solution whose code
changed has no matching execution: the full build stops before it starts and
says to run ``make stored-executions``, and ``tests/test_stored_executions.py`` fails
on the commit that changed it.

What still trains them end to end: ``make test-projects`` (every solution at full
budget must earn full marks) and ``make test`` (at the quick budget: graded, not
refused).
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the course package, shared
    sys.path.insert(0, str(ROOT))

import twin_cache  # noqa: E402  this folder, _ext/, is on the path of the build, of the tests and of this script
from shared.setup import machine_record  # noqa: E402

#: The notebooks whose executions are stored (relative to the repository).
PATTERN = "solutions/*/*-project.ipynb"
#: Where they are stored: ``solutions/executed/<lang>/<name>.ipynb``.
STORED_DIR = ROOT / "solutions" / "executed"
#: The notebook metadata key of a stored execution's record (seconds, date, versions).
METADATA_KEY = "course_stored_execution"


class StoredExecutionError(RuntimeError):
    """A stored execution is missing or no longer matches its notebook."""


def sources(root: Path = ROOT) -> list[Path]:
    """The notebooks whose executions are stored: every graded project's solution, both languages."""
    return sorted(root.glob(PATTERN))


def stored_path(notebook: Path, root: Path = ROOT) -> Path:
    """``solutions/en/gan-project.ipynb`` -> ``solutions/executed/en/gan-project.ipynb``."""
    rel = Path(notebook).resolve().relative_to(root.resolve())
    if len(rel.parts) != 3 or rel.parts[0] != "solutions":
        raise ValueError(f"{rel} is not a solution notebook like solutions/en/gan-project.ipynb")
    return root / "solutions" / "executed" / rel.parts[1] / rel.parts[2]


def stale_reason(notebook: Path, root: Path = ROOT) -> str | None:
    """Why ``notebook``'s stored execution cannot be shown (missing, other code, an error), or None if it can."""
    stored = stored_path(notebook, root)
    rel = Path(notebook).resolve().relative_to(root.resolve()).as_posix()
    if not stored.exists():
        return f"{rel} has no stored execution ({stored.relative_to(root).as_posix()})"
    executed = nbformat.read(stored, as_version=4)
    if twin_cache.execution_key(executed) != twin_cache.execution_key(nbformat.read(notebook, as_version=4)):
        return f"{rel}: its code changed since its stored execution ({stored.relative_to(root).as_posix()})"
    for cell in executed.cells:
        if any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
            return f"{stored.relative_to(root).as_posix()} holds an error output"
    if METADATA_KEY not in executed.metadata:
        return f"{stored.relative_to(root).as_posix()} was not made by `make stored-executions` (no {METADATA_KEY})"
    return None


def check(root: Path = ROOT) -> None:
    """Raise :class:`StoredExecutionError`, naming the command, unless every stored execution is current."""
    stale = [(nb, reason) for nb in sources(root) if (reason := stale_reason(nb, root))]
    if stale:
        names = " ".join(nb.relative_to(root).as_posix() for nb, _ in stale)
        raise StoredExecutionError(
            "The website shows stored executions of the graded projects' solutions, and these cannot be shown:\n  "
            + "\n  ".join(reason for _, reason in stale)
            + f'\nMake them again (1 to 3 minutes each on 2 cores): make stored-executions STORED_EXECUTIONS="{names}"')


def prime(cache_path: Path, root: Path = ROOT) -> list[str]:
    """Put every stored execution into the jupyter-cache at ``cache_path``; return the notebooks primed.

    Call :func:`check` first: an execution whose code differs would be cached under its own
    hash and simply not match its notebook (which the build would then execute).
    """
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    twin_cache.install()
    cache = get_cache(cache_path)
    primed = []
    for notebook in sources(root):
        stored = stored_path(notebook, root)
        if not stored.exists():
            continue
        executed = nbformat.read(stored, as_version=4)
        record = executed.metadata.get(METADATA_KEY, {})
        cache.cache_notebook_bundle(
            CacheBundleIn(executed, str(notebook.resolve()),
                          data={"execution_seconds": record.get("seconds"), "stored": True}),
            check_validity=False, overwrite=True)
        primed.append(notebook.relative_to(root).as_posix())
    return primed


def make(notebook: Path, timeout: int = 3600, root: Path = ROOT) -> Path:
    """Execute ``notebook`` at full budget in a temporary folder and store the executed notebook.

    The kernel imports the course from ``root`` (``PYTHONPATH``); the files the notebook writes (its
    saved model) stay in the temporary folder. Returns the stored notebook's path.
    """
    import nbclient

    notebook = Path(notebook).resolve()
    target = stored_path(notebook, root)
    nb = nbformat.read(notebook, as_version=4)
    env = {**os.environ, "COURSE_QUICK": "0", "TQDM_DISABLE": "1", "PYTHONPATH": str(root)}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stored-execution-") as folder:
        nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=True,
                                resources={"metadata": {"path": folder}}).execute(env=env)
    kernelspec = nbformat.read(notebook, as_version=4).metadata.get("kernelspec")  # nbclient may rewrite it
    if kernelspec is None:
        nb.metadata.pop("kernelspec", None)
    else:
        nb.metadata["kernelspec"] = kernelspec
    nb.metadata[METADATA_KEY] = {
        "seconds": round(time.perf_counter() - started, 1),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_record(),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python _ext/stored_executions.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make_parser = sub.add_parser("make", help="execute solution notebooks and store their executions")
    make_parser.add_argument("notebooks", nargs="*", type=Path,
                             help=f"default: every notebook matching {PATTERN}")
    sub.add_parser("check", help="exit 1 unless every stored execution matches its notebook")
    args = parser.parse_args(argv)
    if args.command == "check":
        try:
            check()
        except StoredExecutionError as err:
            print(err, file=sys.stderr)
            return 1
        print(f"Every stored execution matches its notebook ({len(sources())}).")
        return 0
    for notebook in args.notebooks or sources():
        start = time.perf_counter()
        target = make(notebook)
        print(f"{notebook}: executed in {time.perf_counter() - start:.0f} s, stored in "
              f"{target.relative_to(ROOT).as_posix()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
