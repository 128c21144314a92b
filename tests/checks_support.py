"""Helpers shared by the tests of the chapters' graded questions (tests/test_checks_*.py)."""

from __future__ import annotations

import io
from pathlib import Path

import nbformat
import numpy as np

from shared.checks.core import Placeholder, compute_outputs
from shared.key import draw_case, grade_case, key_for

UNANSWERED = {"en": "is not answered yet", "es": "todavía no tiene respuesta"}


def notebook_namespace(path: Path, namespace: dict) -> dict:
    """Execute, in ``namespace``, the code cells that define the answers
    (those with solution regions or placeholders), and return it."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and ("# BEGIN SOLUTION" in cell.source or "# YOUR" in cell.source):
            exec(compile(cell.source, str(path), "exec"), namespace)
    return namespace


def npz_roundtrip(outputs: dict) -> dict:
    """What the grader reads back: ``np.savez`` then ``np.load(allow_pickle=False)``."""
    buf = io.BytesIO()
    np.savez(buf, **outputs)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def grade(question, obj, seed: int = 0, lang: str = "en"):
    """Evaluate ``obj`` as the grader does (inputs from ``seed``, outputs through .npz)."""
    key = key_for(question)
    inputs, expected = draw_case(key, np.random.default_rng(seed))
    outputs = npz_roundtrip(compute_outputs(question, obj, inputs))
    return grade_case(question, key, inputs, expected, outputs, lang)


def assert_fails(question, obj, *fragments: str, seed: int = 0, es_fragments: tuple[str, ...] = ()) -> None:
    """Fails in both languages with a real message; each message contains its language's fragments."""
    for lang, frags in (("en", fragments), ("es", es_fragments)):
        fb = grade(question, obj, seed=seed, lang=lang)
        assert not fb.passed, (lang, fb.message)
        assert fb.message.strip(), lang
        assert "could not evaluate" not in fb.message and "no se pudo evaluar" not in fb.message, fb.message
        for fragment in frags:
            assert fragment in fb.message, (lang, fragment, fb.message)


def not_implemented(*args, **kwargs):
    """What a generated exercise's function body does."""
    raise Placeholder("Exercise: replace this line with your code.")


def grade_real_notebooks(chapter: str, solution: Path, exercise: Path) -> dict:
    """Grade the solution (English messages) and the generated exercise (Spanish) with
    :mod:`shared.grading`, each on a fresh kernel, in two threads; keys ``solution-en``, ``exercise-es``."""
    from concurrent.futures import ThreadPoolExecutor

    from shared.grading import grade_submission

    jobs = {"solution-en": (solution, "en"), "exercise-es": (exercise, "es")}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(grade_submission, path, chapter, seed=2024, timeout=300, lang=lang)
                   for name, (path, lang) in jobs.items()}
        return {name: f.result() for name, f in futures.items()}


def assert_full_marks(result, questions) -> None:
    """A graded solution: every question of the chapter, in order, passed; 10 points of 10."""
    assert result.error is None, result.error
    assert [s.qid for s in result.scores] == [q.qid for q in questions]
    assert all(s.passed for s in result.scores), [(s.qid, s.feedback) for s in result.scores]
    assert result.points == result.max_points == 10


def assert_unanswered(result, lang: str = "es") -> None:
    """A graded blank exercise: 0 of 10, every question "not answered yet" (in ``lang``)."""
    assert result.error is None, result.error
    assert result.points == 0 and result.max_points == 10
    for score in result.scores:
        assert UNANSWERED[lang] in score.feedback, (score.qid, score.feedback)

