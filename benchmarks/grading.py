"""Grading benchmark: throughput of the hardened grader, serial against parallel, and the
cost of its sandbox and limits.

Prints, in one run, for each chapter: the time to grade ``--copies`` copies of the
chapter's English solution notebook with ``-j 1`` and with ``-j 2`` (submissions per
minute, and the ratio), checking that every copy scored full marks; then the overhead of
the sandbox and limits: the same ``--overhead-copies`` MDN copies graded with ``-j 1``
in the sandbox (namespaces, own uid, limits, watchdog) and with ``--no-sandbox`` and no
limits.

Usage: ``python benchmarks/grading.py [--copies 20] [--overhead-copies 5]
[--chapters mdn vae gan]`` (about 40 minutes on 2 cores with the defaults).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.grading.cli import main as grade  # noqa: E402


def make_copies(chapter: str, n: int, folder: Path) -> Path:
    """``folder/<chapter>/student-NN.ipynb``: n copies of the solution."""
    target = folder / chapter
    target.mkdir(parents=True)
    for i in range(n):
        shutil.copyfile(ROOT / "solutions" / "en" / f"{chapter}.ipynb", target / f"student-{i:02d}.ipynb")
    return target


def timed_grading(folder: Path, chapter: str, *options: str) -> tuple[float, list[dict]]:
    """Wall time of one grading run and its JSON report (the grader's output is silenced)."""
    report = folder.parent / f"{folder.name}-{len(list(folder.parent.glob('*.json')))}.json"
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = grade([str(folder), "--chapter", chapter, "--seed", "2024", "--json", str(report), *options])
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"grading {folder} failed with exit code {code}")
    return seconds, json.loads(report.read_text(encoding="utf-8"))


def full_marks(report: list[dict]) -> str:
    good = sum(r["points"] == r["max_points"] and r["error"] is None for r in report)
    return f"{good}/{len(report)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--overhead-copies", type=int, default=5)
    parser.add_argument("--chapters", nargs="+", default=["mdn", "vae", "gan"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        tmp = Path(tmp)
        print(f"Throughput: {args.copies} copies of each chapter's solution, 2 cores\n")
        print(f"{'chapter':8} {'-j 1 (s)':>9} {'sub/min':>8} {'-j 2 (s)':>9} {'sub/min':>8} {'speed-up':>9}  full marks")
        for chapter in args.chapters:
            folder = make_copies(chapter, args.copies, tmp)
            t1, r1 = timed_grading(folder, chapter, "-j", "1")
            t2, r2 = timed_grading(folder, chapter, "-j", "2")
            print(f"{chapter:8} {t1:9.1f} {60 * args.copies / t1:8.2f} {t2:9.1f} {60 * args.copies / t2:8.2f} "
                  f"{t1 / t2:8.2f}x  {full_marks(r1)} / {full_marks(r2)}", flush=True)
        n = args.overhead_copies
        folder = tmp / "overhead"
        folder.mkdir()
        for i in range(n):
            shutil.copyfile(ROOT / "solutions" / "en" / "mdn.ipynb", folder / f"student-{i:02d}.ipynb")
        ts, rs = timed_grading(folder, "mdn", "-j", "1")
        tn, rn = timed_grading(folder, "mdn", "-j", "1", "--no-sandbox", "--time-limit", "0",
                               "--memory-mb", "0", "--max-processes", "0", "--output-mb", "0")
        print(f"\nOverhead of the sandbox and limits ({n} MDN copies, -j 1):")
        print(f"  sandbox + limits: {ts:7.1f} s ({ts / n:5.1f} s per submission)  full marks {full_marks(rs)}")
        print(f"  no sandbox/limits: {tn:6.1f} s ({tn / n:5.1f} s per submission)  full marks {full_marks(rn)}")
        print(f"  ratio: {ts / tn:.3f}  (extra {(ts - tn) / n:+.2f} s per submission)")


if __name__ == "__main__":
    main()
