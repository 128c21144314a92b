"""``make env``: a student's local setup is the environment and its kernel, nothing else.

Checked on the course's Makefile and on the student edition's (``shared.edition``),
with ``make -n`` (prints the commands, runs none) on a virtual environment that does
not exist yet, so the whole chain from an empty folder is shown.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from shared import edition

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(folder: Path, venv: Path) -> str:
    result = subprocess.run(["make", "-n", "env", f"VENV={venv}"], cwd=folder, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def assert_environment_and_kernel_only(commands: str, venv: Path) -> None:
    assert f"-m venv {venv}" in commands and "pip install --quiet -r requirements.txt" in commands
    assert "ipykernel install --user --name course" in commands, commands
    for heavy in ("-m pytest", "build_site.py", "--nbval", "-m shared."):
        assert heavy not in commands, f"make env runs {heavy}:\n{commands}"


def test_make_env_in_the_course(tmp_path):
    assert_environment_and_kernel_only(dry_run(ROOT, tmp_path / "venv"), tmp_path / "venv")


def test_make_env_in_the_student_edition(tmp_path):
    (tmp_path / "Makefile").write_text(edition.MAKEFILE_TEXT, encoding="utf-8")
    (tmp_path / "requirements.txt").write_text("numpy\n", encoding="utf-8")
    assert_environment_and_kernel_only(dry_run(tmp_path, tmp_path / "venv"), tmp_path / "venv")
