"""Shared fixtures: the quick build of the website.

The build lives here so that every test that needs it shares one build per
session. Only ``tests/test_site.py`` uses it: with ``pytest -n 2 --dist
loadfile`` its tests all run in one worker, so two workers never build into
the same folder at once (that would corrupt the jupyter-cache database).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "_build" / "quick"
HTML = OUT / "_build" / "html"


@pytest.fixture(scope="session")
def site() -> Path:
    """Build the website in quick mode (warnings are errors) and return its HTML folder."""
    jb = Path(sys.executable).with_name("jupyter-book")
    env = dict(os.environ, COURSE_QUICK="1", TQDM_DISABLE="1", PYTHONPATH=str(ROOT))
    env.pop("MPLBACKEND", None)  # notebooks must use the inline backend to store figures
    result = subprocess.run([str(jb), "build", str(ROOT), "--path-output", str(OUT), "-W", "-n", "--keep-going"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=3000)
    assert result.returncode == 0, (result.stdout[-6000:] + result.stderr[-6000:])
    return HTML
