"""Tests of :mod:`shared.grading` with a synthetic two-question chapter.

The chapter module is written to a temporary folder and put on ``sys.path``;
it is registered in the grader with ``monkeypatch`` and in the student's
kernel through ``--questions-module`` (the grader adds the module's folder to
the kernel's ``PYTHONPATH`` and registers it in the appended cell).

Most tests read the results of ONE grading run over a folder of notebooks
(one kernel per notebook), to keep the suite fast.
"""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import shared.checks
from shared.exercises import generate_exercise
from shared.grading import main

REPO = Path(__file__).resolve().parent.parent
CHAPTER = "synth"
MODULE = "course_synthetic_chapter"
POINTS = {"synth.q1": 1.0, "synth.q2": 2.0}

CHAPTER_SOURCE = '''
"""Synthetic chapter for the grading tests."""
import numpy as np
from shared.checks.core import Feedback, Question, array_problem, close_problem


def _eval_square(inputs, outputs, lang):
    x = inputs["x"]
    problem = (array_problem("square(x)", outputs["y"], x.shape, lang)
               or close_problem("square(x)", outputs["y"], x ** 2, lang))
    return Feedback(problem is None, problem or "correct")


def _eval_answer(inputs, outputs, lang):
    value = np.asarray(outputs["value"])
    ok = value.shape == () and value.dtype.kind in "iuf" and float(value) == 42.0
    return Feedback(bool(ok), "correct" if ok else f"{value!r} is not the answer")


QUESTIONS = [
    Question(qid="synth.q1", points=1.0, target="square",
             title={"en": "Square the input", "es": "Eleva al cuadrado"},
             make_inputs=lambda rng: {"x": rng.normal(size=7)},
             run=lambda f, inputs: {"y": f(inputs["x"])},
             evaluate=_eval_square),
    Question(qid="synth.q2", points=2.0, target="answer",
             title={"en": "The answer", "es": "La respuesta"},
             make_inputs=lambda rng: {},
             run=lambda value, inputs: {"value": np.asarray(value)},
             evaluate=_eval_answer),
]
'''

SQUARE = "def square(x):\n    # BEGIN SOLUTION\n    return x ** 2\n    # END SOLUTION\n"
ANSWER = "# BEGIN SOLUTION\nanswer = 42\n# END SOLUTION\n"
IMPORTS = "import numpy as np\nfrom shared.checks import check"

CHEAT = textwrap.dedent('''
    import builtins
    import numpy as np
    import shared.checks as checks
    import shared.checks.core as core

    always = core.Feedback(True, "✅ correct")
    core.grade_outputs = lambda *a, **k: always       # the verdict is always "passed"
    core.check = checks.check = lambda *a, **k: always
    core.is_placeholder = lambda obj: False           # placeholders look answered
    core.compute_outputs = lambda q, obj, inputs: {"passed": np.array(True)}
    np.allclose = lambda *a, **k: True                # every comparison passes
    np.array_equal = lambda *a, **k: True
    builtins.NotImplementedError = KeyboardInterrupt
    builtins.Ellipsis = 42
    _print = builtins.print
    builtins.print = lambda *a, **k: _print("✅", *a, **k)

    def fake_probe(namespace, questions, inputs_dir, outputs_dir):
        import os
        for q in questions:  # claim success without computing the answers
            np.savez(os.path.join(outputs_dir, q.qid + ".npz"),
                     passed=np.array(True), score=np.array(q.points),
                     y=np.zeros(7), value=np.array("42"))
            print("synth fake probe wrote", q.qid)
    core.probe = fake_probe
    answer = ...
    print("synth.q1 — Square the input: correct")
''')


def notebook(*sources: str) -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def solution() -> nbformat.NotebookNode:
    return notebook(IMPORTS, SQUARE, ANSWER, "check(Q, answer) if 'Q' in dir() else None")


def strip_markers(source: str) -> str:
    return "\n".join(l for l in source.split("\n") if "SOLUTION" not in l)


@pytest.fixture(scope="session")
def chapter_module(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("chapter")
    (folder / f"{MODULE}.py").write_text(CHAPTER_SOURCE, encoding="utf-8")
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))


@pytest.fixture
def registered(chapter_module, monkeypatch):
    monkeypatch.setitem(shared.checks.CHAPTERS, CHAPTER, MODULE)


def grade(paths: list[Path], *options: str) -> int:
    return main([str(p) for p in paths] + ["--chapter", CHAPTER, "--questions-module", MODULE,
                                           *options])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, chapter_module):
    """Grade a folder of submissions once; return (folder, csv rows, json, digests)."""
    folder = tmp_path_factory.mktemp("submissions")
    exercise = generate_exercise(solution(), "en", chapter=CHAPTER)
    cheat = notebook(*[c.source for c in exercise.cells], CHEAT)
    cheat.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="✅ all correct\n")]
    cheat.metadata["course"] = {"score": 3, "passed": True}
    submissions = {
        "a_solution": solution(),
        "b_exercise": exercise,
        "c_only_square": notebook(IMPORTS, strip_markers(SQUARE), "answer = ...  # YOUR ANSWER HERE"),
        "d_cheat": cheat,
        "e_raises_midway": notebook(IMPORTS, strip_markers(SQUARE), "raise RuntimeError('boom')",
                                    "1 / 0", strip_markers(ANSWER)),
        "f_wrong": notebook(IMPORTS, "def square(x):\n    return x * 2", "answer = 41"),
        "h_object_answer": notebook(IMPORTS, strip_markers(SQUARE), "answer = {'value': 42}"),
        "i_disabled_probe": notebook(IMPORTS, strip_markers(SQUARE), strip_markers(ANSWER),
                                     "import shared.checks.core as c\nc.probe = lambda *a: None"),
    }
    for name, nb in submissions.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    (folder / "g_not_json.ipynb").write_text("this is not a notebook", encoding="utf-8")
    before = {p.name: digest(p) for p in folder.iterdir()}
    out, js = folder.parent / "scores.csv", folder.parent / "scores.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(shared.checks.CHAPTERS, CHAPTER, MODULE)
        code = grade([folder], "--out", str(out), "--json", str(js), "--timeout", "60",
                     "--seed", "123", "--keep-executed", str(folder.parent / "executed"))
    assert code == 0
    with open(out, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    report = json.loads(js.read_text(encoding="utf-8"))
    return folder, rows, report, before


def points(rows: list[dict], name: str) -> dict[str, float]:
    return {r["question"]: float(r["points"]) for r in rows if Path(r["submission"]).stem == name}


def test_solution_scores_full_marks(graded):
    assert points(graded[1], "a_solution") == {"synth.q1": 1, "synth.q2": 2, "TOTAL": 3}


def test_generated_exercise_scores_zero(graded):
    assert points(graded[1], "b_exercise") == {"synth.q1": 0, "synth.q2": 0, "TOTAL": 0}
    feedback = {r["question"]: r["feedback"] for r in graded[1] if "b_exercise" in r["submission"]}
    assert "not answered yet" in feedback["synth.q1"]


def test_partial_answer_gets_exactly_its_points(graded):
    assert points(graded[1], "c_only_square") == {"synth.q1": 1, "synth.q2": 0, "TOTAL": 1}


def test_cheating_notebook_scores_zero(graded):
    assert points(graded[1], "d_cheat") == {"synth.q1": 0, "synth.q2": 0, "TOTAL": 0}
    # the cheat really ran to the end, and its fake probe replaced the real one
    assert next(r for r in graded[2] if "d_cheat" in r["submission"])["error"] is None
    executed = nbformat.read(graded[0].parent / "executed" / "d_cheat.executed.ipynb", as_version=4)
    assert "✅ synth fake probe wrote synth.q2" in executed.cells[-1].outputs[0]["text"]


def test_error_midway_keeps_later_answers(graded):
    assert points(graded[1], "e_raises_midway") == {"synth.q1": 1, "synth.q2": 2, "TOTAL": 3}


def test_wrong_answers_get_specific_feedback(graded):
    rows = {r["question"]: r for r in graded[1] if "f_wrong" in r["submission"]}
    assert rows["TOTAL"]["points"] == "0"
    assert "off by" in rows["synth.q1"]["feedback"]
    assert "41" in rows["synth.q2"]["feedback"]


def test_output_needing_pickle_is_refused(graded):
    rows = {r["question"]: r for r in graded[1] if "h_object_answer" in r["submission"]}
    assert rows["synth.q1"]["points"] == "1" and rows["synth.q2"]["points"] == "0"
    assert "unusable result" in rows["synth.q2"]["feedback"]


def test_missing_outputs_score_zero_with_reason(graded):
    rows = {r["question"]: r for r in graded[1] if "i_disabled_probe" in r["submission"]}
    assert rows["TOTAL"]["points"] == "0"
    assert all(r["feedback"].startswith("no result") for q, r in rows.items() if q != "TOTAL")


def test_invalid_notebook_scores_zero_with_reason(graded):
    rows = {r["question"]: r for r in graded[1] if "g_not_json" in r["submission"]}
    assert rows["TOTAL"]["points"] == "0"
    assert all("not a valid notebook" in r["feedback"] for r in rows.values())


def test_submissions_are_not_modified(graded):
    folder, _, _, before = graded
    assert {p.name: digest(p) for p in folder.iterdir()} == before


def test_executed_copies_are_kept(graded):
    executed = graded[0].parent / "executed" / "a_solution.executed.ipynb"
    nb = nbformat.read(executed, as_version=4)
    assert "shared.grading" in nb.cells[-1].source
    assert nb.cells[-1].execution_count is not None


def test_csv_format(graded):
    rows = graded[1]
    assert list(rows[0]) == ["submission", "question", "title", "points", "max_points",
                             "passed", "feedback"]
    assert len(rows) == 9 * 3  # 9 submissions x (2 questions + TOTAL)
    first = rows[:3]
    assert [r["question"] for r in first] == ["synth.q1", "synth.q2", "TOTAL"]
    assert first[0]["title"] == "Square the input"
    assert first[0]["passed"] == "true" and first[0]["max_points"] == "1"
    assert first[2]["max_points"] == "3" and first[2]["feedback"] == "2/2 questions passed"
    assert [Path(r["submission"]).name for r in rows[::3]] == sorted(
        p.name for p in graded[0].iterdir())


def test_json_format(graded):
    report = graded[2]
    assert len(report) == 9
    first = report[0]
    assert set(first) == {"submission", "chapter", "points", "max_points", "error", "questions"}
    assert first["chapter"] == CHAPTER and first["points"] == 3.0 and first["max_points"] == 3.0
    assert first["error"] is None
    assert first["questions"][0] == {"question": "synth.q1", "title": "Square the input",
                                     "points": 1.0, "max_points": 1.0, "passed": True,
                                     "feedback": "correct"}
    assert report[-3]["error"].startswith("not a valid notebook")


def test_timeout_scores_zero_and_grading_continues(tmp_path, registered, capsys):
    sleeper, good = tmp_path / "a_sleep.ipynb", tmp_path / "b_good.ipynb"
    nbformat.write(notebook(IMPORTS, strip_markers(SQUARE), "import time\ntime.sleep(600)",
                            strip_markers(ANSWER)), sleeper)
    nbformat.write(solution(), good)
    out = tmp_path / "scores.csv"
    assert grade([sleeper, good], "--timeout", "5", "--out", str(out), "--lang", "es") == 0
    with open(out, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert points(rows, "a_sleep") == {"synth.q1": 0, "synth.q2": 0, "TOTAL": 0}
    assert all("timed out" in r["feedback"] for r in rows if "a_sleep" in r["submission"])
    assert points(rows, "b_good") == {"synth.q1": 1, "synth.q2": 2, "TOTAL": 3}
    assert rows[0]["title"] == "Eleva al cuadrado"  # --lang es
    summary = capsys.readouterr().out
    assert "b_good.ipynb" in summary and "3/3" in summary and "timed out" in summary


def test_inputs_are_secret_until_last_cell(tmp_path, registered):
    # The notebook looks for the grader's input files while its own cells run.
    spy = textwrap.dedent('''
        import glob, os
        grader_tmp = os.path.dirname(os.getcwd())  # the grader's temporary folder
        found = glob.glob(os.path.join(grader_tmp, "**", "*.npz"), recursive=True)
        assert os.path.basename(grader_tmp).startswith("grading-")
        answer = 42 if not found else 0
    ''')
    nbformat.write(notebook(IMPORTS, strip_markers(SQUARE), spy), tmp_path / "spy.ipynb")
    out = tmp_path / "s.csv"
    assert grade([tmp_path / "spy.ipynb"], "--out", str(out)) == 0
    with open(out, encoding="utf-8", newline="") as f:
        assert points(list(csv.DictReader(f)), "spy")["TOTAL"] == 3


@pytest.mark.parametrize("args, message", [
    (["missing.ipynb"], "does not exist"),
    (["{tmp}/notes.txt"], "is not a notebook"),
    (["{tmp}/unknown_chapter.ipynb"], "unknown chapter 'unknown_chapter'"),
    (["{tmp}/unknown_chapter.ipynb", "--chapter", "synth", "--questions-module", "no_such_mod"],
     "cannot import --questions-module"),
])
def test_usage_errors_are_clear(tmp_path, args, message):
    (tmp_path / "notes.txt").write_text("hi")
    nbformat.write(solution(), tmp_path / "unknown_chapter.ipynb")
    argv = [a.format(tmp=tmp_path) for a in args]
    proc = subprocess.run([sys.executable, "-m", "shared.grading", *argv], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    if "unknown chapter" in message:
        assert "--chapter" in proc.stderr and "mdn" in proc.stderr
