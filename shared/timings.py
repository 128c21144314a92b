"""How long each notebook takes with its full budgets: measured by the build, stated by its setup cell.

The full build (``make book``) writes ``_build/build-report.json``
(``_ext/build_report.py``): the seconds each notebook took to execute. This
module turns that report into the one place the estimates live,
``shared/timings.json`` (minutes per notebook, rounded up to the next half
minute, keyed by folder and name, so language twins share one estimate), and
checks a later build against it: the check fails when a notebook took more
than 25 % longer than its stated estimate.

A setup cell prints its notebook's estimate with ``prepare(..., notebook="book/gan")``
(``shared.setup.prepare``), falling back to ``cpu_minutes=`` while the notebook has none.

Command line::

    python -m shared.timings write [REPORT]   # measured times -> shared/timings.json
    python -m shared.timings check [REPORT]   # exit 1 if a notebook overran its estimate
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TIMINGS_FILE = Path(__file__).with_name("timings.json")
DEFAULT_REPORT = ROOT / "_build" / "build-report.json"
#: A notebook may take this much longer than its stated estimate before the check fails.
TOLERANCE = 0.25


def notebook_key(path: str) -> str:
    """``book/en/gan.ipynb`` -> ``book/gan``: the key shared by a notebook and its language twin."""
    parts = Path(path).parts
    if len(parts) != 3 or parts[1] not in ("en", "es") or not parts[2].endswith(".ipynb"):
        raise ValueError(f"{path!r} is not a notebook path like book/en/gan.ipynb")
    return f"{parts[0]}/{parts[2][:-len('.ipynb')]}"


def read_report(path: Path = DEFAULT_REPORT) -> dict[str, float]:
    """Seconds per notebook key of the notebooks a build executed (not served from the cache)."""
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run `make book` first, it writes the build report.")
    report = json.loads(path.read_text(encoding="utf-8"))
    seconds: dict[str, float] = {}
    for rel, entry in report["notebooks"].items():
        if entry.get("seconds") is None or entry.get("failed"):
            continue
        key = notebook_key(rel)
        seconds[key] = max(seconds.get(key, 0.0), float(entry["seconds"]))
    return seconds


def stated_minutes(seconds: float) -> float:
    """The estimate a setup cell states for a measured time: minutes rounded up to a half."""
    return max(0.5, math.ceil(seconds / 30.0) / 2.0)


def load(path: Path | None = None) -> dict[str, float]:
    """The stated estimates, minutes per notebook key (empty if the file is missing)."""
    path = TIMINGS_FILE if path is None else path
    if not path.exists():
        return {}
    return {k: float(v) for k, v in json.loads(path.read_text(encoding="utf-8"))["minutes"].items()}


def estimate(key: str, path: Path | None = None) -> float | None:
    """The stated estimate of one notebook, in minutes, or None if it was never measured."""
    return load(path).get(key)


def write(seconds: dict[str, float], path: Path = TIMINGS_FILE) -> dict[str, float]:
    """Write the estimates for the measured notebooks (others keep theirs) and return them all."""
    minutes = load(path)
    minutes.update({key: stated_minutes(s) for key, s in seconds.items()})
    data: dict[str, Any] = {
        "about": "Minutes per notebook with the full budgets on 2 CPU cores, measured by `make book` "
                 "(python -m shared.timings write); printed by each setup cell.",
        "minutes": dict(sorted(minutes.items())),
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return minutes


def overruns(seconds: dict[str, float], minutes: dict[str, float], tolerance: float = TOLERANCE) -> list[str]:
    """One line per notebook whose measured time exceeds its estimate by more than ``tolerance``."""
    problems = []
    for key, s in sorted(seconds.items()):
        stated = minutes.get(key)
        if stated is None:
            problems.append(f"{key}: took {s / 60:.1f} min and states no estimate "
                            f"(run `python -m shared.timings write`).")
        elif s > stated * 60 * (1 + tolerance):
            problems.append(f"{key}: took {s / 60:.1f} min, more than {tolerance:.0%} over its stated "
                            f"{stated:g} min: make it faster or re-measure (`python -m shared.timings write`).")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.timings", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["write", "check"])
    parser.add_argument("report", nargs="?", type=Path, default=DEFAULT_REPORT)
    args = parser.parse_args(argv)
    try:
        seconds = read_report(args.report)
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return 2
    if args.action == "write":
        for key, stated in write(seconds, TIMINGS_FILE).items():
            print(f"{key}: {stated:g} min")
        return 0
    problems = overruns(seconds, load(TIMINGS_FILE))
    for line in problems:
        print(line, file=sys.stderr)
    if not problems:
        print(f"Every notebook within {TOLERANCE:.0%} of its stated time ({len(seconds)} measured).")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
