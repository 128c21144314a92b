"""_ext/stored_executions.py: the projects' solution pages show executions that match their code and earn full marks."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))

import stored_executions  # noqa: E402
from stored_executions import StoredExecutionError, check, prime, sources, stale_reason, stored_path  # noqa: E402

SOLUTIONS = sources()


def test_every_graded_project_solution_is_stored_in_both_languages():
    projects = sorted({p.name for p in ROOT.glob("exercises/*/*-project.ipynb")})
    assert projects, "no graded project found"
    assert sorted(p.relative_to(ROOT).as_posix() for p in SOLUTIONS) == \
        sorted(f"solutions/{lang}/{name}" for lang in ("en", "es") for name in projects)


@pytest.mark.parametrize("notebook", SOLUTIONS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_stored_execution_matches_the_notebook_code(notebook):
    # Fails after an edit of the solution's code (or of a cell's tags): run `make stored-executions`.
    assert stale_reason(notebook) is None


@pytest.mark.parametrize("notebook", SOLUTIONS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_stored_execution_earns_full_marks_at_full_budget(notebook):
    executed = nbformat.read(stored_path(notebook), as_version=4)
    text = "".join(out.get("text", "") for cell in executed.cells for out in cell.get("outputs", [])
                   if out.get("output_type") == "stream")
    assert "total: 10/10." in text, "the stored self-check does not report full marks"
    assert executed.metadata[stored_executions.METADATA_KEY]["seconds"] > 20, "not a full-budget execution"
    # the page language's messages: the Spanish self-check says "puntos", the English one "points"
    lang = notebook.parent.name
    assert ("/6 puntos" in text) == (lang == "es") and ("/6 points" in text) == (lang == "en")


def test_prime_makes_each_solution_a_cache_hit_with_its_own_outputs(tmp_path):
    from jupyter_cache import get_cache

    primed = prime(tmp_path / "cache")
    assert primed == [p.relative_to(ROOT).as_posix() for p in SOLUTIONS]
    cache = get_cache(tmp_path / "cache")
    for notebook in SOLUTIONS:
        source = nbformat.read(notebook, as_version=4)
        record = cache.match_cache_notebook(source)  # what myst-nb's cache mode looks up: a KeyError is a miss
        assert record.data["stored"] is True and record.data["execution_seconds"] > 20
        _, merged = cache.merge_match_into_notebook(source)
        assert [c.source for c in merged.cells] == [c.source for c in source.cells], "the prose is the notebook's"
        assert sum(len(c.get("outputs", [])) for c in merged.cells if c.cell_type == "code") > 5


def _copy_solution(tmp_path: Path) -> Path:
    """A repository in tmp_path with one solution notebook and its stored execution."""
    notebook = SOLUTIONS[0]
    rel = notebook.relative_to(ROOT)
    for src, dst in ((notebook, tmp_path / rel), (stored_path(notebook), stored_path(tmp_path / rel, tmp_path))):
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    return tmp_path / rel


def _edit(path: Path, change) -> None:
    nb = nbformat.read(path, as_version=4)
    change(nb)
    nbformat.write(nb, path)


def test_a_prose_edit_keeps_the_stored_execution(tmp_path):
    notebook = _copy_solution(tmp_path)
    nb = nbformat.read(notebook, as_version=4)
    next(c for c in nb.cells if c.cell_type == "markdown").source += "\n\nOne more sentence."
    nbformat.write(nb, notebook)
    assert stale_reason(notebook, tmp_path) is None
    check(tmp_path)


@pytest.mark.parametrize("edit, reason", [
    ("code", "its code changed"),
    ("tags", "its code changed"),
    ("error", "holds an error output"),
    ("missing", "has no stored execution"),
    ("not-made", "was not made by `make stored-executions`"),
])
def test_a_stale_stored_execution_stops_the_build_and_names_the_command(tmp_path, edit, reason):
    notebook = _copy_solution(tmp_path)
    stored = stored_path(notebook, tmp_path)
    code = lambda nb: [c for c in nb.cells if c.cell_type == "code"]  # noqa: E731
    if edit == "code":
        _edit(notebook, lambda nb: code(nb)[-1].__setitem__("source", code(nb)[-1].source + "\nprint(1)"))
    elif edit == "tags":
        _edit(notebook, lambda nb: code(nb)[-1].metadata.__setitem__("tags", ["skip-execution"]))
    elif edit == "error":
        _edit(stored, lambda nb: code(nb)[-1].outputs.append(
            nbformat.v4.new_output("error", ename="ValueError", evalue="x", traceback=[])))
    elif edit == "missing":
        stored.unlink()
    else:
        _edit(stored, lambda nb: nb.metadata.pop(stored_executions.METADATA_KEY))
    assert reason in stale_reason(notebook, tmp_path)
    with pytest.raises(StoredExecutionError, match="make stored-executions"):
        check(tmp_path)


def test_stored_path_refuses_other_notebooks():
    with pytest.raises(ValueError, match="not a solution notebook"):
        stored_path(ROOT / "book" / "en" / "gan.ipynb")
