"""Shared fixtures: the quick build of the website.

The build lives here so that every test that needs it shares one build per
session. Only ``tests/test_site.py`` uses it: with ``pytest -n 2 --dist
loadfile`` its tests all run in one worker, so two workers never build into
the same folder at once (that would corrupt the jupyter-cache database).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "_build" / "quick"
HTML = OUT / "_build" / "html"


@pytest.fixture(scope="session")
def site() -> Path:
    """Build the website in quick mode (warnings are errors) and return its HTML folder."""
    env = dict(os.environ, COURSE_QUICK="1", TQDM_DISABLE="1", PYTHONPATH=str(ROOT))
    env.pop("MPLBACKEND", None)  # notebooks must use the inline backend to store figures
    started = time.time()
    result = subprocess.run([sys.executable, str(ROOT / "_ext" / "build_site.py"), "--quick", "--strict",
                             "--out", str(OUT)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=3000)
    reports = [HTML / build / "reports" for build in ("en", "es")] + [HTML / "reports"]
    assert result.returncode == 0, build_failure_report(result.stdout, result.stderr, reports, since=started)
    return HTML


#: Lines of the build's output that say why it failed (Sphinx prints warnings and errors this way),
#: and the kernels' routine start-up notices that look like them.
_PROBLEM_LINE = re.compile(r"(WARNING|ERROR|CRITICAL|Traceback|Error:)")
_NOISE = ("IPKernelApp", "absl::InitializeLog")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def build_failure_report(stdout: str, stderr: str, reports: Path | list[Path], since: float = 0.0,
                         width: int = 400) -> str:
    """What a failed book build says about its cause, short enough for a CI log.

    Jupyter Book ends with "Look above for the cause": the cause is in the
    warning lines of its output (Sphinx's ``-W`` makes each one fatal) and, for a
    notebook that failed to execute, in the traceback MyST-NB saves under
    ``reports/`` (only the reports written after ``since``, a ``time.time()``,
    count: older ones are from earlier builds). The end of stderr (often a
    kernel shutdown message) comes last.
    """
    lines = [_ANSI.sub("", line) for line in (stdout + "\n" + stderr).splitlines()]
    problems = [line[:width] + (" [...]" if len(line) > width else "")
                for line in lines if _PROBLEM_LINE.search(line) and not any(n in line for n in _NOISE)]
    parts = ["the book build failed; its warnings and errors:", *problems[:40]]
    if len(problems) > 40:
        parts.append(f"... and {len(problems) - 40} more lines")
    for folder in [reports] if isinstance(reports, Path) else reports:
        logs = sorted(p for p in folder.rglob("*.err.log") if p.stat().st_mtime >= since) if folder.is_dir() else []
        for log in logs:
            text = log.read_text(encoding="utf-8", errors="replace")
            parts += [f"--- {log.relative_to(folder)} (end of the saved traceback):", _ANSI.sub("", text)[-2500:]]
    parts += ["--- end of stderr:", stderr[-1500:]]
    return "\n".join(parts)


#: The test files that take minutes (the website's quick build, the projects end to end, the edition), longest
#: first. ``make test`` runs pytest-xdist with ``--dist loadfile --no-loadscope-reorder``: files are handed to the
#: two workers in collection order, so starting the long ones first keeps the workers busy until the end
#: instead of leaving one alone with a long file.
LONG_FIRST = ("test_site.py", "test_projects_gan.py", "test_projects_vae.py", "test_projects.py", "test_edition.py",
              "test_grading.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = Path(str(item.fspath)).name
        return LONG_FIRST.index(name) if name in LONG_FIRST else len(LONG_FIRST)

    items.sort(key=rank)  # stable: the order within a file and among the other files is kept
