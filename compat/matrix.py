"""The compatibility matrix: the course on the versions Colab or a laptop actually has.

``make test-compat`` (not part of ``make test``) runs, for each environment set of
``compat/sets.toml`` (``pinned``, ``newest``, ``older``):

1. a fresh virtual environment in ``_build/compat/<set>/venv`` with ``requirements.txt``
   changed as the set says (kept between runs while the set's requirements do not change);
2. the unit tests of ``shared`` (:data:`UNIT_TESTS`) with the quick budgets;
3. every book, solution and exercise notebook top to bottom with the quick budgets,
   each on a fresh kernel of that environment (the Spanish book chapters are not run
   again: their code cells are the English ones, ``tests/test_notebooks_static.py``).

It prints a table (set x notebook: ``pass``, or ``FAIL`` with the cell and the first
line of the error), writes it to ``compat/report.md``, and writes the range of versions
that passed everything to ``shared/supported.json``, which the notebooks' setup cell
reads (``shared.setup.check_versions``). Exit code 1 if anything failed.

Usage (from the repository root)::

    python compat/matrix.py [--sets pinned,newest,older] [-j 2] [--only book/en/mdn.ipynb ...]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETS_FILE = ROOT / "compat" / "sets.toml"
REPORT_FILE = ROOT / "compat" / "report.md"
SUPPORTED_FILE = ROOT / "shared" / "supported.json"
OUT = ROOT / "_build" / "compat"
#: The distributions whose versions the matrix reports and the setup cell checks.
DISTS = ("tensorflow-cpu", "keras", "tensorflow-probability", "tf-keras", "numpy", "scipy", "matplotlib", "torch")
#: The unit tests of ``shared`` that the matrix runs in every set (fast; no website build, no grading runs).
UNIT_TESTS = ("test_budget_seed_toy.py", "test_checks_choice.py", "test_checks_gan.py", "test_checks_mdn.py",
              "test_checks_vae.py", "test_claims.py", "test_data.py", "test_key.py", "test_plotting.py",
              "test_quality.py", "test_setup_cell.py", "test_vae.py")
#: One notebook may run this long before it fails.
NOTEBOOK_SECONDS = 1800


@dataclass
class Result:
    """One row of one set: ``ok``, or where it failed and the first line of the error."""

    ok: bool
    seconds: float = 0.0
    cell: int | None = None
    error: str = ""

    def text(self) -> str:
        if self.ok:
            return "pass"
        where = f"cell {self.cell}: " if self.cell is not None else ""
        return f"FAIL {where}{self.error}"[:160]


# ---------------------------------------------------------------------------
# The sets and their environments
# ---------------------------------------------------------------------------

def load_sets(path: Path = SETS_FILE) -> dict[str, dict]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def newest_release(dist: str) -> str:
    """The newest release of ``dist`` that the package registry serves (``pip index versions``)."""
    done = subprocess.run([sys.executable, "-m", "pip", "index", "versions", dist], capture_output=True, text=True)
    match = re.search(rf"^{re.escape(dist)} \(([^)]+)\)", done.stdout, re.M | re.I)
    if done.returncode or not match:
        raise RuntimeError(f"could not ask the registry for {dist}'s releases: {(done.stderr or done.stdout)[:300]}")
    return match.group(1)


def requirements_for(spec: dict, base: str) -> str:
    """``requirements.txt`` (``base``) changed as a set says: ``pins`` replace versions; ``latest`` pins the
    newest release the registry serves (so that a set equal to another one is recognised and run once)."""
    pins = {k.lower(): v for k, v in spec.get("pins", {}).items()}
    pins.update({k.lower(): newest_release(k) for k in spec.get("latest", [])})
    unknown = set(pins) - {line.split("==")[0].strip().lower() for line in base.splitlines() if "==" in line}
    if unknown:
        raise ValueError(f"compat/sets.toml names packages that requirements.txt does not pin: {sorted(unknown)}")
    lines = []
    for line in base.splitlines():
        name = line.split("==")[0].strip().lower() if "==" in line and not line.lstrip().startswith("#") else ""
        lines.append(f"{name}=={pins[name]}" if name in pins else line)
    return "\n".join(lines) + "\n"


def install(name: str, requirements: str, folder: Path) -> tuple[Path | None, str]:
    """The set's environment (created, or reused if its requirements did not change): its python, or an error."""
    venv, stamp = folder / "venv", folder / "venv" / "requirements.installed"
    python = venv / "bin" / "python"
    kernel = [str(python), "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"]
    if stamp.exists() and stamp.read_text(encoding="utf-8") == requirements:
        # the kernel spec names its Python by path: registered again in case the folder moved
        subprocess.run(kernel, capture_output=True, check=True)
        return python, ""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "requirements.txt").write_text(requirements, encoding="utf-8")
    print(f"[{name}] creating {venv} and installing its requirements...", flush=True)
    steps = [[sys.executable, "-m", "venv", "--clear", str(venv)],
             [str(python), "-m", "pip", "install", "--quiet", "-r", str(folder / "requirements.txt")], kernel]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode:
            lines = [l for l in (done.stderr + done.stdout).splitlines() if "ERROR" in l or "error" in l.lower()]
            return None, (lines or (done.stderr + done.stdout).splitlines() or ["unknown error"])[0].strip()
    stamp.write_text(requirements, encoding="utf-8")
    return python, ""


def versions(python: Path) -> dict[str, str]:
    code = ("import importlib.metadata as m, json, sys\n"
            f"dists = {list(DISTS)!r}\n"
            "out = {}\n"
            "for d in dists:\n"
            "    try:\n        out[d] = m.version(d)\n"
            "    except m.PackageNotFoundError:\n        pass\n"
            "print(json.dumps(out))")
    return json.loads(subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout)


# ---------------------------------------------------------------------------
# What runs in each set
# ---------------------------------------------------------------------------

def notebooks() -> list[str]:
    """Every book, solution and exercise notebook (the book's English chapters: the twins share their code)."""
    found = sorted(ROOT.glob("book/en/*.ipynb")) + sorted(ROOT.glob("solutions/*/*.ipynb")) \
        + sorted(ROOT.glob("exercises/*/*.ipynb"))
    return [p.relative_to(ROOT).as_posix() for p in found]


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONHOME"))}
    env.update(COURSE_QUICK="1", PYTHONPATH=str(ROOT), TQDM_DISABLE="1", TF_CPP_MIN_LOG_LEVEL="3")
    return env


def run_notebook(python: Path, rel: str, logs: Path) -> Result:
    """Execute one notebook in the set's environment (a process of its own, a fresh kernel)."""
    result_file = logs / (rel.replace("/", "-") + ".json")
    result_file.unlink(missing_ok=True)  # never report an earlier run's result
    start = time.time()
    with open(logs / (rel.replace("/", "-") + ".log"), "w") as log:
        try:
            done = subprocess.run([str(python), str(Path(__file__)), "--execute", rel, "--result", str(result_file)],
                                  cwd=ROOT, env=environment(), stdout=log, stderr=subprocess.STDOUT,
                                  timeout=NOTEBOOK_SECONDS + 120)
        except subprocess.TimeoutExpired:
            return Result(False, time.time() - start, None, f"the runner did not finish in {NOTEBOOK_SECONDS + 120} s")
    if result_file.exists():
        return Result(**json.loads(result_file.read_text(encoding="utf-8")))
    return Result(False, time.time() - start, None, f"the runner exited with code {done.returncode} (see {log.name})")


def execute(rel: str) -> Result:
    """Run ``rel`` top to bottom on a fresh kernel of this environment (called in the set's own Python)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(ROOT / rel, as_version=4)
    client = NotebookClient(nb, timeout=NOTEBOOK_SECONDS, kernel_name="python3",
                            resources={"metadata": {"path": str((ROOT / rel).parent)}})
    start, index = time.time(), -1
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
    except CellExecutionError as exc:
        first = (exc.evalue or "").strip().splitlines()[:1]
        return Result(False, time.time() - start, index, f"{exc.ename}: {first[0] if first else ''}")
    except (CellTimeoutError, DeadKernelError) as exc:
        return Result(False, time.time() - start, index, f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
    return Result(True, time.time() - start)


def run_unit_tests(python: Path, logs: Path) -> Result:
    start = time.time()
    done = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
                           *[f"tests/{t}" for t in UNIT_TESTS]], cwd=ROOT, env=environment(),
                          capture_output=True, text=True)
    (logs / "unit-tests.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode == 0:
        return Result(True, time.time() - start)
    failed = [l for l in done.stdout.splitlines() if l.startswith(("FAILED", "ERROR"))]
    return Result(False, time.time() - start, None, (failed or done.stdout.splitlines()[-1:] or ["?"])[0])


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

def table(results: dict[str, dict[str, Result]], found: dict[str, dict[str, str]], sets: list[str]) -> str:
    rows = ["| | " + " | ".join(sets) + " |", "|---" * (len(sets) + 1) + "|"]
    for dist in DISTS:
        rows.append(f"| `{dist}` | " + " | ".join(found.get(s, {}).get(dist, "-") for s in sets) + " |")
    names = list(dict.fromkeys(n for s in sets for n in results.get(s, {})))
    for name in names:
        cells = [results[s][name].text() if name in results.get(s, {}) else "-" for s in sets]
        rows.append(f"| {name} | " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(rows)


def supported_range(found: dict[str, dict[str, str]], passed: list[str]) -> dict[str, dict[str, str]]:
    """Per distribution, the lowest and highest version among the sets that passed everything."""
    from packaging.version import Version

    out = {}
    for dist in DISTS:
        seen = sorted({found[s][dist] for s in passed if dist in found.get(s, {})}, key=Version)
        if seen:
            out[dist] = {"min": seen[0], "max": seen[-1]}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=None, help="comma-separated sets of compat/sets.toml (default: all)")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="notebooks run at once in a set (default 2)")
    parser.add_argument("--only", nargs="*", default=None, help="these notebooks only (no report files written)")
    parser.add_argument("--execute", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.execute:  # inside a set's environment
        result = execute(args.execute)
        args.result.write_text(json.dumps(asdict(result)), encoding="utf-8")
        return 0

    all_sets = load_sets()
    sets = args.sets.split(",") if args.sets else list(all_sets)
    unknown = [s for s in sets if s not in all_sets]
    if unknown:
        parser.error(f"unknown sets {unknown}; compat/sets.toml has {list(all_sets)}")
    base = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    chosen = args.only if args.only is not None else notebooks()
    results: dict[str, dict[str, Result]] = {}
    found: dict[str, dict[str, str]] = {}
    started = time.time()
    done_with: dict[str, str] = {}  # requirements text -> the set that ran them
    for name in sets:
        folder = OUT / name
        requirements = requirements_for(all_sets[name], base)
        if requirements in done_with:  # e.g. the newest releases are the pinned ones: run once, report both
            same = done_with[requirements]
            print(f"[{name}] the same versions as {same!r}: its results stand for both", flush=True)
            results[name], found[name] = results[same], found.get(same, {})
            continue
        done_with[requirements] = name
        python, error = install(name, requirements, folder)
        results[name] = {"install": Result(python is not None, 0.0, None, error)}
        if python is None:
            print(f"[{name}] install failed: {error}", flush=True)
            continue
        found[name] = versions(python)
        print(f"[{name}] " + ", ".join(f"{d} {v}" for d, v in found[name].items()), flush=True)
        logs = folder / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        results[name]["unit tests of shared"] = run_unit_tests(python, logs)
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = {rel: pool.submit(run_notebook, python, rel, logs) for rel in chosen}
            for rel, future in futures.items():
                results[name][rel] = future.result()
                print(f"[{name}] {rel}: {results[name][rel].text()} ({results[name][rel].seconds:.0f} s)", flush=True)
    report = table(results, found, sets)
    passed = [s for s in sets if results[s] and all(r.ok for r in results[s].values())]
    minutes = (time.time() - started) / 60
    print("\n" + report + f"\n\nsets that passed everything: {passed or 'none'}; {minutes:.1f} min")
    if args.only is None:
        today = datetime.date.today().isoformat()
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip() or "unknown commit"
        REPORT_FILE.write_text(f"# Compatibility matrix ({today}, {commit}, {minutes:.0f} min on {os.cpu_count()} cores)\n\n"
                               "Written by `make test-compat` (compat/matrix.py); the sets are in "
                               "compat/sets.toml.\n\n" + report + "\n", encoding="utf-8")
        if set(sets) == set(all_sets) and passed:
            SUPPORTED_FILE.write_text(json.dumps({"tested": today, "sets": passed,
                                                  "versions": supported_range(found, passed)}, indent=1) + "\n",
                                      encoding="utf-8")
            print(f"wrote {SUPPORTED_FILE.relative_to(ROOT)} and {REPORT_FILE.relative_to(ROOT)}")
    return 0 if len(passed) == len(sets) else 1


if __name__ == "__main__":
    sys.exit(main())
