"""Tests of :mod:`shared.exercises` on small synthetic notebooks (no real chapters)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from shared.exercises import ExerciseError, generate_exercise, main, notebook_text

REPO = Path(__file__).resolve().parent.parent
CODE_PLACEHOLDER = 'raise Placeholder("Exercise: replace this line with your code.")'


def solution_notebook() -> nbformat.NotebookNode:
    """A small solution notebook exercising every rule."""
    badge = ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
             "(https://colab.research.google.com/github/org/course/blob/main/solutions/en/ch.ipynb)")
    code_with_output = new_code_cell("print('hi')", execution_count=3, outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="hi\n")])
    cells = [
        new_markdown_cell("# Exercises: chapter (solutions)\n\n" + badge),
        new_code_cell("import numpy as np\n"
                      "from shared.checks import Placeholder\n"
                      "def square(x):\n"
                      "    \"\"\"Square.\"\"\"\n"
                      "    # BEGIN SOLUTION\n"
                      "    y = x * x\n"
                      "    return y\n"
                      "    # END SOLUTION\n"),
        new_code_cell("# BEGIN SOLUTION\n"
                      "answer = 42\n"
                      "# a comment is fine\n"
                      "table = [1,\n"
                      "         2]\n"
                      "# END SOLUTION\n"
                      "check(q2, answer)"),
        code_with_output,
        new_code_cell("print('secret')", metadata={"tags": ["solution-only"]}),
        new_markdown_cell("See solutions/en/other.ipynb and solutions/es/ch.ipynb"),
    ]
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "course": {"chapter": "ch", "generated_from": "stale"},
    })
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    return nb


@pytest.fixture
def exercise() -> nbformat.NotebookNode:
    return generate_exercise(solution_notebook(), "en", chapter="ch")


def test_function_body_becomes_code_placeholder_at_marker_indentation(exercise):
    src = exercise.cells[1].source
    assert src == ("import numpy as np\n"
                   "from shared.checks import Placeholder\n"
                   "def square(x):\n"
                   "    \"\"\"Square.\"\"\"\n"
                   "    # YOUR CODE HERE\n"
                   f"    {CODE_PLACEHOLDER}\n")
    assert "x * x" not in src


def test_simple_assignments_become_answer_placeholders(exercise):
    assert exercise.cells[2].source == ("answer = ...  # YOUR ANSWER HERE\n"
                                        "table = ...  # YOUR ANSWER HERE\n"
                                        "check(q2, answer)")


@pytest.mark.parametrize("region", [
    "x = 1\nprint(x)",          # a call is not an assignment
    "a, b = 1, 2",              # tuple target
    "obj.attr = 3",             # attribute target
    "x: int = 3",               # annotated assignment
    "# only a comment",         # nothing assigned
])
def test_other_regions_become_code_placeholders(region):
    nb = new_notebook(cells=[new_code_cell("  # BEGIN SOLUTION\n"
                                           + "\n".join("  " + line for line in region.split("\n"))
                                           + "\n  # END SOLUTION")])
    out = generate_exercise(nb, "en", chapter="ch").cells[0].source
    assert out == f"  # YOUR CODE HERE\n  {CODE_PLACEHOLDER}"


def test_indented_assignment_region_keeps_indentation():
    nb = new_notebook(cells=[new_code_cell("if True:\n    # BEGIN SOLUTION\n    n = 3\n    # END SOLUTION\n")])
    out = generate_exercise(nb, "en", chapter="ch").cells[0].source
    assert out == "if True:\n    n = ...  # YOUR ANSWER HERE\n"


def test_several_regions_in_one_cell():
    nb = new_notebook(cells=[new_code_cell(
        "# BEGIN SOLUTION\na = 1\n# END SOLUTION\nb = a\n# BEGIN SOLUTION\nf(b)\n# END SOLUTION")])
    out = generate_exercise(nb, "en", chapter="ch").cells[0].source
    assert out == f"a = ...  # YOUR ANSWER HERE\nb = a\n# YOUR CODE HERE\n{CODE_PLACEHOLDER}"


def test_placeholder_must_be_imported_in_repository_notebooks():
    nb = solution_notebook()
    generate_exercise(nb, "en", chapter="ch", require_placeholder_import=True)
    nb.cells[1].source = nb.cells[1].source.replace("from shared.checks import Placeholder\n", "")
    with pytest.raises(ExerciseError, match="from shared.checks import Placeholder"):
        generate_exercise(nb, "en", chapter="ch", require_placeholder_import=True)


def test_solution_only_cells_are_dropped(exercise):
    assert len(exercise.cells) == len(solution_notebook().cells) - 1
    assert all("secret" not in c.source for c in exercise.cells)


def test_title_loses_the_solutions_suffix(exercise):
    assert exercise.cells[0].source.startswith("# Exercises: chapter\n")
    assert "(solutions)" not in exercise.cells[0].source


def test_solution_paths_point_at_exercises(exercise):
    assert "blob/main/exercises/en/ch.ipynb" in exercise.cells[0].source
    assert all("solutions/en/" not in cell.source for cell in exercise.cells)
    # both languages are rewritten: an exercise never links to a solution
    assert exercise.cells[-1].source == "See exercises/en/other.ipynb and exercises/es/ch.ipynb"


def test_outputs_are_stripped(exercise):
    for cell in exercise.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_metadata_records_source_and_keeps_kernel(exercise):
    assert exercise.metadata.course.generated_from == "solutions/en/ch.ipynb"
    assert exercise.metadata.kernelspec.name == "python3"
    assert exercise.metadata.language_info.name == "python"


def test_input_notebook_is_not_modified():
    nb = solution_notebook()
    before = json.dumps(nb, sort_keys=True)
    generate_exercise(nb, "en", chapter="ch")
    assert json.dumps(nb, sort_keys=True) == before


def test_chapter_defaults_to_metadata_and_is_required():
    nb = solution_notebook()
    assert generate_exercise(nb, "es").metadata.course.generated_from == "solutions/es/ch.ipynb"
    del nb.metadata["course"]
    with pytest.raises(ExerciseError, match="chapter"):
        generate_exercise(nb, "en")


def test_output_is_deterministic_and_jupyter_formatted():
    first = notebook_text(generate_exercise(solution_notebook(), "en", chapter="ch"))
    second = notebook_text(generate_exercise(solution_notebook(), "en", chapter="ch"))
    assert first == second
    assert first.endswith("}\n") and '\n "cells": [' in first  # indent=1, final newline
    assert nbformat.reads(first, as_version=4).metadata.course.generated_from


@pytest.mark.parametrize("source, message", [
    ("x = 1\n# END SOLUTION", "without a matching"),
    ("# BEGIN SOLUTION\nx = 1", "never closed"),
    ("# BEGIN SOLUTION\n  # BEGIN SOLUTION\nx = 1\n# END SOLUTION\n# END SOLUTION", "nested"),
])
def test_unbalanced_markers_name_notebook_and_cell(source, message):
    nb = new_notebook(cells=[new_markdown_cell("intro"), new_code_cell(source)])
    with pytest.raises(ExerciseError, match=message) as info:
        generate_exercise(nb, "en", chapter="ch")
    assert "solutions/en/ch.ipynb, cell 1" in str(info.value)


# ---------------------------------------------------------------------------
# The command line, on a temporary repository layout
# ---------------------------------------------------------------------------

@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for lang in ("en", "es"):
        (tmp_path / "solutions" / lang).mkdir(parents=True)
        nbformat.write(solution_notebook(), tmp_path / "solutions" / lang / "ch.ipynb")
    return tmp_path


def test_check_reports_missing_then_regenerate_then_in_sync(repo, capsys):
    assert main(["--root", str(repo), "--check"]) == 1
    out = capsys.readouterr().out
    assert "exercises/en/ch.ipynb: missing" in out and "python -m shared.exercises" in out

    assert main(["--root", str(repo)]) == 0
    assert "wrote exercises/es/ch.ipynb" in capsys.readouterr().out
    written = (repo / "exercises" / "en" / "ch.ipynb").read_bytes()
    assert written == notebook_text(generate_exercise(solution_notebook(), "en", chapter="ch")).encode()

    assert main(["--root", str(repo), "--check"]) == 0
    assert "in sync" in capsys.readouterr().out
    assert main(["--root", str(repo)]) == 0  # regenerating again changes nothing
    assert (repo / "exercises" / "en" / "ch.ipynb").read_bytes() == written


def test_check_reports_stale_and_orphan(repo, capsys):
    main(["--root", str(repo)])
    nb = solution_notebook()
    nb.cells[0].source += " (edited)"
    nbformat.write(nb, repo / "solutions" / "es" / "ch.ipynb")
    orphan = repo / "exercises" / "en" / "gone.ipynb"
    orphan.write_bytes((repo / "exercises" / "en" / "ch.ipynb").read_bytes())
    capsys.readouterr()

    assert main(["--root", str(repo), "--check"]) == 1
    out = capsys.readouterr().out
    assert "exercises/es/ch.ipynb: out of date" in out
    assert "exercises/en/gone.ipynb: orphan" in out
    assert "exercises/en/ch.ipynb" not in out

    assert main(["--root", str(repo)]) == 0
    assert not orphan.exists()
    assert main(["--root", str(repo), "--check"]) == 0


def test_solution_without_cell_ids_gives_stable_output(repo):
    data = json.loads((repo / "solutions" / "en" / "ch.ipynb").read_text(encoding="utf-8"))
    for cell in data["cells"]:
        del cell["id"]
    (repo / "solutions" / "en" / "ch.ipynb").write_text(json.dumps(data), encoding="utf-8")
    assert main(["--root", str(repo)]) == 0
    first = (repo / "exercises" / "en" / "ch.ipynb").read_bytes()
    assert main(["--root", str(repo), "--check"]) == 0
    assert main(["--root", str(repo)]) == 0
    assert (repo / "exercises" / "en" / "ch.ipynb").read_bytes() == first


def test_hand_written_orphan_is_not_deleted(repo, capsys):
    main(["--root", str(repo)])
    keep = repo / "exercises" / "en" / "mine.ipynb"
    nbformat.write(new_notebook(), keep)
    assert main(["--root", str(repo)]) == 1
    assert keep.exists()
    assert "delete it or add its solution notebook" in capsys.readouterr().err


def test_bad_solution_notebook_gives_clear_error(repo, capsys):
    (repo / "solutions" / "en" / "broken.ipynb").write_text("{not json", encoding="utf-8")
    assert main(["--root", str(repo), "--check"]) == 1
    err = capsys.readouterr().err
    assert "broken.ipynb: not a valid Jupyter notebook" in err


def test_cli_runs_as_module_and_rejects_wrong_root(repo, tmp_path):
    ok = subprocess.run([sys.executable, "-m", "shared.exercises", "--root", str(repo), "--check"],
                        cwd=REPO, capture_output=True, text=True)
    assert ok.returncode == 1 and "missing" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "shared.exercises", "--root", str(tmp_path / "nope")],
                         cwd=REPO, capture_output=True, text=True)
    assert bad.returncode == 2 and "no solutions/ folder" in bad.stderr
    assert "Traceback" not in bad.stderr
