"""The first code cell of every notebook works on a fresh machine.

It is run, as a script, in an empty folder where ``shared`` is not importable:
it must clone the repository (here: a local clone standing for GitHub, through
``COURSE_REPO_URL``), make ``shared`` importable from the clone and report the
environment without installing anything that is already present.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from shared import links
from shared.setup import install_specs, missing_modules, pinned_versions

ROOT = Path(__file__).resolve().parent.parent


def setup_sources() -> dict[str, str]:
    sources = {}
    for rel in links.notebook_paths(str(ROOT)):
        nb = nbformat.read(ROOT / rel, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and "setup" in code[0].metadata.get("tags", []), \
            f"{rel}: the first code cell must be the setup cell (tag 'setup')"
        sources[rel] = code[0].source
    return sources


def test_setup_cell_is_the_same_everywhere_but_for_what_it_needs():
    stripped = {rel: "\n".join(line for line in src.splitlines() if not line.startswith("prepare("))
                for rel, src in setup_sources().items()}
    assert len(set(stripped.values())) == 1, "the setup cells differ beyond their prepare(...) line"


def test_setup_cell_clones_and_imports_shared_in_a_fresh_folder(tmp_path):
    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True).returncode != 0:
        pytest.skip("the repository has no commit to clone yet")
    source = setup_sources()["book/en/mdn.ipynb"]
    work = tmp_path / "colab"
    work.mkdir()
    script = work / "first_cell.py"
    script.write_text(source + "\nimport shared\nprint('SHARED_FROM', shared.__file__)\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["COURSE_REPO_URL"] = ROOT.as_uri()
    result = subprocess.run([sys.executable, "-I", str(script)], cwd=work, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    clone = work / "deep-generative-models"
    assert (clone / "shared" / "__init__.py").exists()
    assert f"SHARED_FROM {clone / 'shared' / '__init__.py'}" in result.stdout
    assert "Course setup OK" in result.stdout
    assert "Installing" not in result.stdout, "nothing should be installed when everything is present"
    # a second run reuses the clone instead of cloning again
    again = subprocess.run([sys.executable, "-I", str(script)], cwd=work, env=env,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "Cloning" not in again.stderr


def test_only_missing_packages_are_installed_at_pinned_versions():
    pins = pinned_versions(str(ROOT / "requirements.txt"))
    assert install_specs(["tensorflow_probability", "tf_keras"], pins) == [
        f"tensorflow-probability=={pins['tensorflow-probability']}", f"tf-keras=={pins['tf-keras']}"]
    assert install_specs(["tensorflow"], pins) == [f"tensorflow=={pins['tensorflow-cpu']}"]
    assert missing_modules(["numpy", "surely_not_a_module_xyz"]) == ["surely_not_a_module_xyz"]
    with pytest.raises(ValueError, match="unknown module"):
        install_specs(["pandas2"], pins)


def test_progress_bars_can_render_as_jupyter_widgets():
    # tqdm.auto (used by the chapters' training loops) needs ipywidgets in Jupyter;
    # without it every bar prints "IProgress not found" and falls back to text
    from tqdm import notebook

    assert notebook.IProgress is not None, "ipywidgets is missing: it is pinned in requirements.txt"


def test_versions_outside_the_tested_range_get_one_clear_line_each():
    from shared.setup import version_warnings

    tested = {"tensorflow-cpu": {"min": "2.19.0", "max": "2.21.0"}, "keras": {"min": "3.10.0", "max": "3.15.1"},
              "numpy": {"min": "2.1.3", "max": "2.4.6"}, "torch": {"min": "2.13.0", "max": "2.13.0"}}
    lines = version_warnings({"tensorflow-cpu": "2.18.1", "keras": "3.16.0", "numpy": "2.2.0rc1",
                              "torch": "2.8.0+cu126"}, tested)
    assert lines == [
        "Note: tensorflow 2.18.1 is older than the course has tested (2.19.0 to 2.21.0): if a cell fails, "
        "run `%pip install tensorflow==2.19.0` and restart the session.",
        "Note: keras 3.16.0 is newer than the course has tested (3.10.0 to 3.15.1): if a cell fails, "
        "run `%pip install keras==3.15.1`, restart the session, and tell the course's authors."]
    # inside the range, at both ends, or not installed: nothing to say (torch is not checked: one build tested)
    assert version_warnings({"tensorflow-cpu": "2.21.0", "keras": "3.10.0", "numpy": None}, tested) == []


def test_the_pinned_environment_is_inside_the_tested_range():
    """requirements.txt's pins pass the matrix (its 'pinned' set), so the setup cell says nothing here."""
    from shared.setup import SUPPORTED_FILE, version_warnings

    if not Path(SUPPORTED_FILE).exists():
        pytest.skip("shared/supported.json not written yet: run make test-compat")
    assert version_warnings() == []
