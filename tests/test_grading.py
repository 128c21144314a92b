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
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import shared.checks
from shared.exercises import generate_exercise
from shared.grading import main, sandbox

REPO = Path(__file__).resolve().parent.parent
CHAPTER = "synth"
MODULE = "course_synthetic_chapter"
KEY_MODULE = "course_synthetic_key"
POINTS = {"synth.q1": 1.0, "synth.q2": 2.0}

CHAPTER_SOURCE = '''
"""Synthetic chapter for the grading tests."""
import numpy as np
from shared.checks.core import Feedback, Question, array_problem, close_problem


def _eval_square(inputs, expected, outputs, lang):
    x = inputs["x"]
    problem = (array_problem("square(x)", outputs["y"], x.shape, lang)
               or close_problem("square(x)", outputs["y"], expected["y"], lang))
    return Feedback(problem is None, problem or ("correct" if lang == "en" else "correcto"))


def _eval_answer(inputs, expected, outputs, lang):
    value = np.asarray(outputs["value"])
    ok = value.shape == () and value.dtype.kind in "iuf" and float(value) == 42.0
    return Feedback(bool(ok), "correct" if ok else f"{value!r} is not the answer")


QUESTIONS = [
    Question(qid="synth.q1", points=1.0, target="square",
             title={"en": "Square the input", "es": "Eleva al cuadrado"},
             run=lambda f, inputs: {"y": f(inputs["x"])},
             evaluate=_eval_square),
    Question(qid="synth.q2", points=2.0, target="answer",
             title={"en": "The answer", "es": "La respuesta"},
             run=lambda value, inputs: {"value": np.asarray(value)},
             evaluate=_eval_answer),
]

'''

KEY_SOURCE = '''
"""The synthetic chapter's answer key (never in the kernel)."""
from shared.key.core import QuestionKey, nothing_expected

KEYS = {
    "synth.q1": QuestionKey("synth.q1", lambda rng: {"x": rng.normal(size=7)},
                            lambda inputs: {"y": inputs["x"] ** 2}),
    "synth.q2": QuestionKey("synth.q2", lambda rng: {}, nothing_expected),
}
'''

SQUARE = "def square(x):\n    # BEGIN SOLUTION\n    return x ** 2\n    # END SOLUTION\n"
ANSWER = "# BEGIN SOLUTION\nanswer = 42\n# END SOLUTION\n"
IMPORTS = "import numpy as np\nfrom shared.checks import Placeholder, check"

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


ENV_SPY = textwrap.dedent('''
    import os
    leaked = [k for k in os.environ if "SECRET" in k or k.startswith(("PYTEST", "VIRTUAL_ENV", "CI"))]
    home_is_private = os.path.realpath(os.environ["HOME"]).startswith(os.path.realpath(os.getcwd()))
    answer = 42 if not leaked and home_is_private else 0
''')

KEY_READER = textwrap.dedent('''
    import importlib, os
    reachable = []
    for m in ("shared.key", "shared.key.mdn", "shared.vae", "shared.quality", "shared.grading"):
        try:
            importlib.import_module(m)
            reachable.append(m)
        except ImportError:
            pass
    readable = [p for p in ("{repo}/shared/key/mdn.py", "{repo}/solutions/en/mdn.ipynb",
                            "{repo}/shared/checks/core.py") if os.path.exists(p)]
    answer = 42 if not reachable and not readable else 0
''')

REWRITER = textwrap.dedent('''
    import shared.checks.core as core
    written = []
    for path in (core.__file__, "{repo}/shared/checks/core.py", "{repo}/solutions/en/mdn.ipynb",
                 "{repo}/shared/key/__init__.py"):
        try:
            with open(path, "a") as f:
                f.write("\\nraise SystemExit('rewritten by a submission')\\n")
            written.append(path)
        except OSError:
            pass
    answer = 42 if not written else 0
''')

DELETER = textwrap.dedent('''
    import os, shutil
    for name in os.listdir("."):
        shutil.rmtree(name, ignore_errors=True) if os.path.isdir(name) else os.remove(name)
''')

PROC_SPY = textwrap.dedent('''
    import os
    others = []  # processes of other users: the grader (its command line, its seed), other kernels
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid != os.getuid():
                others.append(pid)
        except OSError:
            pass
    answer = 42 if not others else 0
''')

IO_PLANTER = textwrap.dedent('''
    import os
    io = os.path.join(os.path.dirname(os.getcwd()), "io")  # where the grader will write its inputs
    planted = []
    for attempt in (lambda: os.symlink("/etc", os.path.join(io, "planted")),
                    lambda: os.rmdir(os.path.join(io, "inputs")),
                    lambda: os.symlink("/etc/passwd", os.path.join(io, "inputs", "synth.q1.npz"))):
        try:
            attempt()
            planted.append(attempt)
        except OSError:
            pass
    answer = 42 if not planted and os.path.isdir(io) else 0
''')

NETWORK = textwrap.dedent('''
    import socket
    try:  # a server the test listens on, on the grader's loopback
        socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
        reached = True
    except OSError:
        reached = False
    answer = 42 if not reached else 0
''')


def course_digests() -> dict[str, str]:
    """Digests of the course files a submission might try to rewrite."""
    files = sorted(REPO.glob("shared/**/*.py")) + sorted(REPO.glob("solutions/*/*.ipynb"))
    return {str(p): digest(p) for p in files}


def colab_notebook() -> nbformat.NotebookNode:
    """The solution as Colab saves it: its metadata, cell ids and output ids."""
    nb = solution()
    nb.metadata = {"colab": {"provenance": [], "name": "synth.ipynb", "gpuType": "T4"},
                   "kernelspec": {"name": "python3", "display_name": "Python 3"},
                   "language_info": {"name": "python"}, "accelerator": "GPU"}
    for i, cell in enumerate(nb.cells):
        cell.metadata = {"id": f"colab{i:04d}", "colab": {"base_uri": "https://localhost:8080/"},
                         "outputId": f"out{i:04d}"}
    return nb


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
    (folder / f"{KEY_MODULE}.py").write_text(KEY_SOURCE, encoding="utf-8")
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))


@pytest.fixture
def registered(chapter_module, monkeypatch):
    monkeypatch.setitem(shared.checks.CHAPTERS, CHAPTER, MODULE)


def grade(paths: list[Path], *options: str) -> int:
    return main([str(p) for p in paths] + ["--chapter", CHAPTER, "--questions-module", MODULE,
                                           "--key-module", KEY_MODULE, *options])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, chapter_module):
    """Grade a folder of submissions once; return (folder, csv rows, json, digests)."""
    folder = tmp_path_factory.mktemp("submissions")
    server = socket.create_server(("127.0.0.1", 0))
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
        # attacks on the grader: each earns the answer's 2 points only if the attack FAILED
        "j_env_spy": notebook(IMPORTS, strip_markers(SQUARE), ENV_SPY),
        "k_key_reader": notebook(IMPORTS, strip_markers(SQUARE), KEY_READER.format(repo=str(REPO))),
        "l_rewriter": notebook(IMPORTS, strip_markers(SQUARE), REWRITER.format(repo=str(REPO))),
        "m_deleter": notebook(IMPORTS, DELETER, strip_markers(SQUARE), strip_markers(ANSWER)),
        "n_exit": notebook(IMPORTS, strip_markers(SQUARE), strip_markers(ANSWER), "import os\nos._exit(0)"),
        "o_colab": colab_notebook(),
        "p_reordered": notebook(strip_markers(ANSWER), IMPORTS, strip_markers(SQUARE), IMPORTS,
                                "answer = 41", strip_markers(ANSWER)),
        "r_proc_spy": notebook(IMPORTS, strip_markers(SQUARE), PROC_SPY),
        "s_io_planter": notebook(IMPORTS, strip_markers(SQUARE), IO_PLANTER),
        "q_network": notebook(IMPORTS, strip_markers(SQUARE), NETWORK.format(port=server.getsockname()[1])),
    }
    for name, nb in submissions.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    (folder / "g_not_json.ipynb").write_text("this is not a notebook", encoding="utf-8")
    before = {p.name: digest(p) for p in folder.iterdir()}
    course_before = course_digests()
    out, js = folder.parent / "scores.csv", folder.parent / "scores.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(shared.checks.CHAPTERS, CHAPTER, MODULE)
        mp.setenv("SECRET_TOKEN", "grader-secret-123")
        code = grade([folder], "--out", str(out), "--json", str(js), "--timeout", "60", "-j", "2",
                     "--seed", "123", "--keep-executed", str(folder.parent / "executed"),
                     "--gradebook", str(folder.parent / "gradebook.csv"),
                     "--feedback-dir", str(folder.parent / "feedback"))
    assert code == 0
    server.close()
    assert course_digests() == course_before, "a submission changed the course files"
    with open(out, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    report = json.loads(js.read_text(encoding="utf-8"))
    return folder, rows, report, before


N_SUBMISSIONS = 19


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
    assert len(rows) == N_SUBMISSIONS * 3  # submissions x (2 questions + TOTAL)
    first = rows[:3]
    assert [r["question"] for r in first] == ["synth.q1", "synth.q2", "TOTAL"]
    assert first[0]["title"] == "Square the input"
    assert first[0]["passed"] == "true" and first[0]["max_points"] == "1"
    assert first[2]["max_points"] == "3" and first[2]["feedback"] == "2/2 questions passed"
    assert [Path(r["submission"]).name for r in rows[::3]] == sorted(
        p.name for p in graded[0].iterdir())


def test_json_format(graded):
    report = graded[2]
    assert len(report) == N_SUBMISSIONS
    first = report[0]
    assert set(first) == {"submission", "chapter", "points", "max_points", "error", "questions",
                          "language", "seconds", "peak_memory_mb", "sandboxed"}
    assert first["sandboxed"] is True
    assert first["chapter"] == CHAPTER and first["points"] == 3.0 and first["max_points"] == 3.0
    assert first["error"] is None
    assert first["questions"][0] == {"question": "synth.q1", "title": "Square the input",
                                     "points": 1.0, "max_points": 1.0, "passed": True,
                                     "feedback": "correct"}
    invalid = next(r for r in report if "g_not_json" in r["submission"])
    assert invalid["error"].startswith("not a valid notebook")


@pytest.mark.parametrize("name", ["j_env_spy", "k_key_reader", "l_rewriter", "q_network", "r_proc_spy",
                                  "s_io_planter"])
def test_attacks_on_the_grader_fail(graded, name):
    """Each attack notebook answers 42 (2 points) only when its attack found nothing."""
    assert points(graded[1], name) == {"synth.q1": 1, "synth.q2": 2, "TOTAL": 3}, name


def test_a_rewriting_submission_changes_nobodys_grade(graded):
    # l_rewriter ran in parallel with the others (-j 2): everybody else is graded as usual,
    # and the course files are unchanged (asserted in the fixture)
    assert points(graded[1], "a_solution")["TOTAL"] == 3
    assert points(graded[1], "l_rewriter")["TOTAL"] == 3


def test_deleting_its_files_loses_nothing(graded):
    assert points(graded[1], "m_deleter")["TOTAL"] == 3
    assert (graded[0] / "m_deleter.ipynb").is_file()


def test_exit_is_a_clear_reason(graded):
    rows = {r["question"]: r for r in graded[1] if "n_exit" in r["submission"]}
    assert rows["TOTAL"]["points"] == "0"
    assert "kernel died" in rows["TOTAL"]["feedback"] and "os._exit()" in rows["TOTAL"]["feedback"]


def test_colab_and_reordered_notebooks_are_graded(graded):
    assert points(graded[1], "o_colab")["TOTAL"] == 3
    assert points(graded[1], "p_reordered")["TOTAL"] == 3  # the last definition counts


def test_gradebook_and_feedback_files(graded):
    folder = graded[0].parent
    with open(folder / "gradebook.csv", encoding="utf-8", newline="") as f:
        book = list(csv.DictReader(f))
    assert list(book[0]) == ["student", "submission", "synth.q1", "synth.q2", "total", "max_points", "status"]
    assert len(book) == N_SUBMISSIONS
    row = next(r for r in book if r["student"] == "c_only_square")
    assert (row["synth.q1"], row["synth.q2"], row["total"], row["status"]) == ("1", "0", "1", "ok")
    assert next(r for r in book if r["student"] == "g_not_json")["status"].startswith("not a valid")
    text = (folder / "feedback" / "f_wrong.feedback.md").read_text(encoding="utf-8")
    assert "0 / 3" in text and "off by" in text and "synth.q1" in text


def test_feedback_is_in_the_students_language(tmp_path, registered):
    spanish = notebook(IMPORTS + "\nfrom shared.checks import set_language\nset_language('es')",
                       strip_markers(SQUARE), "answer = 41")
    nbformat.write(spanish, tmp_path / "es_student.ipynb")
    nbformat.write(notebook(IMPORTS), tmp_path / "blank.ipynb")
    (tmp_path / "broken.ipynb").write_text("{", encoding="utf-8")
    assert grade([tmp_path], "--feedback-dir", str(tmp_path / "fb"), "--seed", "1") == 0
    es = (tmp_path / "fb" / "es_student.feedback.md").read_text(encoding="utf-8")
    assert "Devolución" in es and "Eleva al cuadrado" in es and "correcto" in es
    broken = (tmp_path / "fb" / "broken.feedback.md").read_text(encoding="utf-8")
    assert "not a valid notebook" in broken  # no language chosen: English


def test_limits_stop_bombs_and_grading_goes_on(tmp_path, registered):
    bombs = {
        "a_memory": "import numpy as np\nhog = [np.ones(2 ** 27) for _ in range(40)]",  # 40 GB
        "b_fork": "import os, time\nfor _ in range(200):\n    try:\n        os.fork()\n"
                  "    except OSError:\n        pass\ntime.sleep(30)",
        "c_print": "for _ in range(10 ** 5):\n    print('x' * 10 ** 4)",  # 1 GB
        "d_loop": "while True:\n    pass",
    }
    for name, source in bombs.items():
        nbformat.write(notebook(IMPORTS, strip_markers(SQUARE), strip_markers(ANSWER), source),
                       tmp_path / f"{name}.ipynb")
    nbformat.write(solution(), tmp_path / "e_good.ipynb")
    out = tmp_path / "s.csv"
    code = grade([tmp_path], "--out", str(out), "--memory-mb", "1500", "--max-processes", "20",
                 "--output-mb", "5", "--time-limit", "40", "--timeout", "200", "-j", "2", "--seed", "3")
    assert code == 0
    with open(out, encoding="utf-8", newline="") as f:
        totals = {Path(r["submission"]).stem: r for r in csv.DictReader(f) if r["question"] == "TOTAL"}
    assert totals["a_memory"]["points"] == "0" and "memory limit of 1500 MB" in totals["a_memory"]["feedback"]
    assert totals["b_fork"]["points"] == "0" and "more than 20 processes" in totals["b_fork"]["feedback"]
    assert totals["c_print"]["points"] == "0" and "more than 5 MB of output" in totals["c_print"]["feedback"]
    assert totals["d_loop"]["points"] == "0" and "limit of 40 s" in totals["d_loop"]["feedback"]
    assert totals["e_good"]["points"] == "3"
    assert not leftovers(), f"processes left behind: {leftovers()}"


def leftovers() -> list[str]:
    """Live processes of submission uids that no grader holds a lease on (another test may be grading)."""
    import fcntl

    ps = subprocess.run(["ps", "-eo", "uid=,stat="], capture_output=True, text=True).stdout.split("\n")
    alive = [line.split() for line in ps if line.split() and line.split()[0].isdigit()
             and sandbox.BASE_UID <= int(line.split()[0]) < sandbox.BASE_UID + sandbox.UID_COUNT
             and not line.split()[1].startswith("Z")]
    left = []
    for uid, stat in alive:
        with open(sandbox.LEASE_DIR / uid, "a") as lease:
            try:
                fcntl.flock(lease, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # leased: a grader running now (e.g. another test worker's)
            fcntl.flock(lease, fcntl.LOCK_UN)
        left.append(f"{uid} {stat}")
    return left


def test_a_fork_bomb_at_the_time_limit_is_named_for_its_processes():
    """A scan starved by a fork bomb can see few processes; the time limit counts them again."""
    children = [subprocess.Popen(["sleep", "30"]) for _ in range(3)]
    try:
        few = sandbox.Watchdog(sandbox.Limits(wall_seconds=1, processes=2), uid=None, kernel_pid=os.getpid())
        assert few._time_reason() == "processes:2" and few.peak_processes >= 4
        many = sandbox.Watchdog(sandbox.Limits(wall_seconds=1, processes=50), uid=None, kernel_pid=os.getpid())
        assert many._time_reason() == "time:1"
    finally:
        for child in children:
            child.kill()
            child.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="running a process as a submission uid needs root")
def test_leftovers_are_the_processes_of_uids_that_no_grader_holds():
    import fcntl

    uid = sandbox.BASE_UID + sandbox.UID_COUNT - 1
    sandbox.LEASE_DIR.mkdir(parents=True, exist_ok=True)
    child = subprocess.Popen(["sleep", "30"], user=uid, group=uid)
    try:
        assert any(line.startswith(f"{uid} ") for line in leftovers())
        with open(sandbox.LEASE_DIR / str(uid), "a") as lease:
            fcntl.flock(lease, fcntl.LOCK_EX)  # as a grader grading with this uid holds it
            assert not any(line.startswith(f"{uid} ") for line in leftovers())
    finally:
        child.kill()
        child.wait()


def test_parallel_grading_gives_the_same_results(tmp_path, registered):
    nbformat.write(solution(), tmp_path / "a.ipynb")
    nbformat.write(notebook(IMPORTS, "def square(x):\n    return x * 2", "answer = 41"), tmp_path / "b.ipynb")
    nbformat.write(generate_exercise(solution(), "en", chapter=CHAPTER), tmp_path / "c.ipynb")
    reports = []
    for jobs in ("1", "2"):
        js = tmp_path / f"j{jobs}.json"
        assert grade([tmp_path], "--json", str(js), "-j", jobs, "--seed", "77") == 0
        report = json.loads(js.read_text(encoding="utf-8"))
        for r in report:
            r.pop("seconds"), r.pop("peak_memory_mb")
        reports.append(report)
    assert reports[0] == reports[1]


def test_independent_jobs_merge_into_one_gradebook(tmp_path, registered):
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(solution(), subs / "ana.ipynb")
    nbformat.write(notebook(IMPORTS, strip_markers(SQUARE), "answer = ..."), subs / "ben.ipynb")
    results = tmp_path / "results"
    for name in ("ana", "ben"):  # two separate jobs, as a batch system would run them
        assert grade([subs / f"{name}.ipynb"], "--seed", "9", "--result-dir", str(results)) == 0
    book = tmp_path / "gradebook.csv"
    assert main(["merge", str(results), "--gradebook", str(book)]) == 0
    with open(book, encoding="utf-8", newline="") as f:
        rows = {r["student"]: r["total"] for r in csv.DictReader(f)}
    assert rows == {"ana": "3", "ben": "1"}
    # a job graded on other secret inputs cannot be merged silently
    assert grade([subs / "ana.ipynb"], "--seed", "10", "--result-dir", str(tmp_path / "other")) == 0
    next((tmp_path / "other").glob("ana-*.result.json")).rename(results / "ana2.result.json")
    assert main(["merge", str(results), "--gradebook", str(book)]) == 2


def test_result_dir_needs_a_seed(tmp_path):
    with pytest.raises(SystemExit):
        main([str(tmp_path), "--result-dir", str(tmp_path / "r")])


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
    assert all("tiempo agotado" in r["feedback"] for r in rows if "a_sleep" in r["submission"])  # --lang es
    assert points(rows, "b_good") == {"synth.q1": 1, "synth.q2": 2, "TOTAL": 3}
    assert rows[0]["title"] == "Eleva al cuadrado"  # --lang es
    summary = capsys.readouterr().out
    assert "b_good.ipynb" in summary and "3/3" in summary and "tiempo agotado" in summary


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
    (["{tmp}/unknown_chapter.ipynb", "--chapter", "synth", "--questions-module", "no_such_mod",
      "--key-module", "no_such_key"], "cannot import --questions-module"),
    (["{tmp}/unknown_chapter.ipynb", "--chapter", "synth", "--questions-module", "x"],
     "--questions-module and --key-module go together"),
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


def test_documented_batch_example_grades_a_class(tmp_path, chapter_module):
    """docs/examples/grade-class.sh: independent jobs (xargs -P 2), then merge."""
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(solution(), subs / "ana.ipynb")
    nbformat.write(notebook(IMPORTS, strip_markers(SQUARE), "answer = ..."), subs / "ben.ipynb")
    nbformat.write(notebook(IMPORTS, "def square(x):\n    return x * 2", strip_markers(ANSWER)), subs / "eva.ipynb")
    env = {**os.environ, "PYTHON": sys.executable,
           "PYTHONPATH": os.pathsep.join([str(REPO), str(chapter_module)])}
    script = REPO / "docs" / "examples" / "grade-class.sh"
    proc = subprocess.run(["bash", str(script), str(subs), str(tmp_path / "out"), "--chapter", CHAPTER,
                           "--questions-module", MODULE, "--key-module", KEY_MODULE],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr + (tmp_path / "out" / "jobs.log").read_text()
    with open(tmp_path / "out" / "gradebook.csv", encoding="utf-8", newline="") as f:
        assert {r["student"]: r["total"] for r in csv.DictReader(f)} == {"ana": "3", "ben": "1", "eva": "2"}
    assert sorted(p.name for p in (tmp_path / "out" / "feedback").iterdir()) == [
        "ana.feedback.md", "ben.feedback.md", "eva.feedback.md"]


CHEAT_MDN = textwrap.dedent('''
    # The issue's attack: answer with the course's own reference implementations, and find
    # the multiple-choice letter by calling check() in a loop.
    import shared
    shared.__path__.insert(0, {repo!r} + "/shared")  # wherever the course checkout is
    try:
        import torch
        from shared.key import mdn as key
        mixture_nll = lambda l, m, s, t: torch.tensor(key.ref_mixture_nll(
            l.detach().numpy(), m.detach().numpy(), s.detach().numpy(), t.numpy()))
        responsibilities = key.ref_responsibilities
        sample_mixture = key.ref_sample_mixture
        density_slice = key.ref_density_slice
    except ImportError as exc:
        print("no key here:", exc)
    for letter in "ABCD":
        if check(questions.Q6, letter).passed:
            answer_q6 = letter
''')


@pytest.mark.xdist_group("kernels")
def test_reference_implementations_are_out_of_reach(tmp_path):
    """A real MDN exercise answered only by importing the key: 0 in the sandbox; the same
    notebook without the sandbox does reach the key (so this test can fail)."""
    exercise = nbformat.read(REPO / "exercises" / "en" / "mdn.ipynb", as_version=4)
    exercise.cells.append(new_code_cell(CHEAT_MDN.format(repo=str(REPO))))
    nbformat.write(exercise, tmp_path / "mdn.ipynb")
    scores = {}
    for mode, options in (("sandbox", []), ("no-sandbox", ["--no-sandbox"])):
        js = tmp_path / f"{mode}.json"
        assert main([str(tmp_path / "mdn.ipynb"), "--seed", "5", "--json", str(js), *options]) == 0
        scores[mode] = {q["question"]: q["points"] for q in json.loads(js.read_text())[0]["questions"]}
    assert sum(scores["sandbox"].values()) == 0, scores
    assert scores["no-sandbox"]["mdn.q2"] == 2 and scores["no-sandbox"]["mdn.q5"] == 1, scores
    assert scores["no-sandbox"]["mdn.q6"] == 0  # check() reveals no letter, sandbox or not
    assert scores["no-sandbox"]["mdn.q1"] == 0  # a NumPy round trip: no gradients
