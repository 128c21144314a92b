"""compat/rehearsal.py (make rehearse-colab): its pure helpers, on small notebooks and the course's own.

The rehearsal itself runs every notebook in a Colab-like folder and environment (tens of minutes): it is
not part of make test. Here: what it runs (an exercise answered with its solution's code) and how it
judges an executed notebook.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from shared.exercises import generate_exercise

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "compat"))
import rehearsal  # noqa: E402


def solution() -> nbformat.NotebookNode:
    cells = [new_markdown_cell("# Exercises: ch (solutions)\n\nsee solutions/en/ch.ipynb"),
             new_markdown_cell("teacher notes", metadata={"tags": ["solution-only"]}),
             new_code_cell("from shared.checks import Placeholder, check"),
             new_code_cell("def f(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION"),
             new_code_cell("check(Q1, f);"),
             new_code_cell("# BEGIN SOLUTION\nanswer_q2 = \"B\"\n# END SOLUTION"),
             new_code_cell("print('solutions/en/ stays a path')")]
    return new_notebook(cells=cells, metadata={"course": {"chapter": "ch"}})


def test_an_answered_exercise_has_the_solutions_code_in_its_answer_cells_only():
    exercise = generate_exercise(solution(), "en", chapter="ch")
    answered, changed = rehearsal.answered_exercise(exercise, solution(), "en", "ch")
    assert changed == [2, 4]  # the solution-only cell is not in the exercise
    assert answered.cells[2].source == "def f(x):\n    return 2 * x"
    assert answered.cells[4].source == 'answer_q2 = "B"'
    for i, (a, e) in enumerate(zip(answered.cells, exercise.cells)):
        if i not in changed:
            assert a == e
    assert answered.cells[5].source == "print('exercises/en/ stays a path')"  # as in the exercise
    assert answered.metadata == exercise.metadata


def test_a_stale_exercise_is_refused():
    exercise = generate_exercise(solution(), "en", chapter="ch")
    exercise.cells[3].source = "check(Q1, g);"
    with pytest.raises(ValueError, match="python -m shared.exercises"):
        rehearsal.answered_exercise(exercise, solution(), "en", "ch")


@pytest.mark.parametrize("rel", [p.relative_to(ROOT).as_posix() for p in sorted(ROOT.glob("exercises/*/*.ipynb"))])
def test_every_exercise_of_the_course_can_be_answered(rel):
    _, lang, name = rel.split("/")
    exercise = nbformat.read(ROOT / rel, as_version=4)
    answered, changed = rehearsal.answered_exercise(
        exercise, nbformat.read(ROOT / "solutions" / lang / name, as_version=4), lang, Path(name).stem)
    assert changed and all("YOUR" in exercise.cells[i].source for i in changed)
    assert not any("# YOUR CODE HERE" in c.source or "# YOUR ANSWER HERE" in c.source
                   for c in answered.cells if c.cell_type == "code")
    assert not any(rehearsal.CHECK_CALL.search(exercise.cells[i].source) for i in changed)  # checks untouched


def test_every_notebook_a_student_opens_is_rehearsed_and_exercises_twice():
    notebooks = rehearsal.student_notebooks()
    assert len(notebooks) == len(list(ROOT.glob("book/*/*.ipynb"))) + 2 * len(list(ROOT.glob("exercises/*/*.ipynb")))
    assert {"book/es/gan.ipynb", "solutions/en/mdn-project.ipynb", "exercises/es/vae-project.ipynb"} <= set(notebooks)
    assert rehearsal.modes("exercises/en/mdn.ipynb") == ["answered", "untouched"]
    assert rehearsal.modes("book/en/mdn.ipynb") == ["as is"]


def executed(*cells: tuple[str, list, list[str]]) -> nbformat.NotebookNode:
    """A notebook as nbclient leaves it: (source, outputs, tags) per code cell."""
    nb = new_notebook(cells=[new_code_cell(src, outputs=outs, execution_count=i + 1, metadata={"tags": tags})
                             for i, (src, outs, tags) in enumerate(cells)])
    return nb


def out(text: str) -> dict:
    return new_output("stream", name="stdout", text=text)


def error(ename: str, evalue: str = "why") -> dict:
    return new_output("error", ename=ename, evalue=evalue, traceback=[])


PASSED = ("check(Q1, f);", [out("✅ ch.q1 — F: correct!\n")], [])
RECORDED = ("check(Q2, answer_q2);", [out('📝 ch.q2 — Choice: answer "B" recorded.\n')], [])
UNANSWERED = ("check(Q1, f);", [out("❌ ch.q1 — F: `f` is not answered yet: replace the placeholder.\n")], [])


def test_an_answered_notebook_passes_when_every_check_does():
    assert rehearsal.judge(executed(PASSED, RECORDED), "answered", "en") == (None, "", [])
    cell, problem, _ = rehearsal.judge(executed(PASSED, ("check(Q3, g);", [out("❌ ch.q3 — G: wrong\n")], [])),
                                       "answered", "en")
    assert cell == 1 and problem == "a check does not pass: ❌ ch.q3 — G: wrong"
    cell, problem, _ = rehearsal.judge(executed(("check(Q1, f);", [], []),), "answered", "en")
    assert (cell, problem) == (0, "a check does not pass: nothing")


def test_an_answered_notebook_fails_on_any_error_even_where_untouched_exercises_may_raise():
    nb = executed(("model = build()", [error("Placeholder")], ["raises-exception"]), PASSED)
    assert rehearsal.judge(nb, "answered", "en")[:2] == (0, "Placeholder: why")


def test_a_projects_self_check_must_score_the_model():
    scored = ("save_model(m, F)\nself_check('mdn-project', F);",
              [out("🟡 NLL: 2.4/6 points\n   gap 0.5\n✅ coverage: 4/4 points\n   ok\ntotal: 6.4/10. The grader...\n")], [])
    refused = ("self_check('mdn-project', F);", [out("❌ mdn-project.keras: no such file\n")], [])
    cell, problem, notes = rehearsal.judge(executed(scored), "answered", "en")
    assert (cell, problem, notes) == (None, "", ["self-check 6.4/10"])
    assert rehearsal.judge(executed(refused), "answered", "en")[1].startswith("the self-check did not score")


def test_an_untouched_exercise_may_raise_only_by_design_and_its_checks_say_not_answered():
    by_design = [("model = build()", [error("Placeholder")], ["raises-exception"]),
                 ("save_model(model, F)\nself_check('p', F);", [error("NameError")], ["raises-exception"])]
    assert rehearsal.judge(executed(*by_design, UNANSWERED), "untouched", "en") == (
        None, "", ["cell 0 raised Placeholder (by design)", "cell 1 raised NameError (by design)"])
    spanish = ("check(Q1, f);", [out("❌ ch.q1 — F: `f` todavía no tiene respuesta: reemplaza el marcador.\n")], [])
    assert rehearsal.judge(executed(spanish), "untouched", "es")[1] == ""
    assert rehearsal.judge(executed(UNANSWERED), "untouched", "es")[1].startswith("an untouched check says")
    assert rehearsal.judge(executed(PASSED), "untouched", "en")[1].startswith("an untouched check says: ✅")
    not_tagged = ("model = build()", [error("Placeholder")], [])
    assert rehearsal.judge(executed(not_tagged), "untouched", "en")[:2] == (0, "Placeholder: why")
    other_error = ("model = build()", [error("TypeError")], ["raises-exception"])
    assert rehearsal.judge(executed(other_error), "untouched", "en")[:2] == (0, "TypeError: why")


def test_the_table_names_the_cell_and_the_first_error_line():
    runs = [rehearsal.Run("book/en/mdn.ipynb", "as is", True, 61.2),
            rehearsal.Run("exercises/en/mdn.ipynb", "untouched", False, 20.0, 8, "KeyError: 'x' | y", ["n1", "n2"])]
    assert rehearsal.table(runs).splitlines()[2:] == [
        "| book/en/mdn.ipynb | as is | pass | 61 |  |",
        "| exercises/en/mdn.ipynb | untouched | FAIL cell 8: KeyError: 'x' / y | 20 | n1; n2 |"]
