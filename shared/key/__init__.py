"""The answer key of the graded exercises (teacher's side only).

Never shipped in the student edition and never importable or readable by the
kernel that runs a submission. For each chapter, a module (e.g.
:mod:`shared.key.mdn`) holds the reference implementations and a ``KEYS``
dictionary ``{qid: QuestionKey}``.

* :func:`draw_case` makes a question's inputs with a generator and the expected
  results for them (the grader calls it with its secret seed);
* :func:`grade_case` evaluates a student's outputs against them;
* :mod:`shared.key.fixtures` stores the *public* cases (seed
  :data:`PUBLIC_SEED`) that the notebooks' checks read.
"""

from __future__ import annotations

import importlib

import numpy as np

from shared.checks.core import Arrays, Feedback, Question, error_feedback, grade_outputs, say
from shared.key.core import QuestionKey

#: chapter -> module holding its ``KEYS``
KEY_MODULES: dict[str, str] = {
    "mdn": "shared.key.mdn",
    "vae": "shared.key.vae",
    "gan": "shared.key.gan",
}

#: Seed of the public cases stored for the notebooks' immediate feedback.
PUBLIC_SEED = 0


def keys_for(chapter: str, module: str | None = None) -> dict[str, QuestionKey]:
    """``{qid: QuestionKey}`` of a chapter (``module`` overrides :data:`KEY_MODULES`)."""
    name = module or KEY_MODULES.get(chapter)
    if name is None:
        raise KeyError(f"no answer key for chapter {chapter!r}; known: {sorted(KEY_MODULES)}")
    return dict(importlib.import_module(name).KEYS)


def key_for(question: Question, module: str | None = None) -> QuestionKey:
    """The key of one question."""
    keys = keys_for(question.chapter, module)
    if question.qid not in keys:
        raise KeyError(f"the answer key of chapter {question.chapter!r} has no entry for {question.qid}")
    return keys[question.qid]


def draw_case(key: QuestionKey, rng: np.random.Generator) -> tuple[Arrays, Arrays]:
    """``(inputs, expected)`` for one question, inputs drawn with ``rng``."""
    inputs = {k: np.asarray(v) for k, v in key.make_inputs(rng).items()}
    expected = {k: np.asarray(v) for k, v in key.expect(inputs).items()}
    return inputs, expected


def grade_case(question: Question, key: QuestionKey, inputs: Arrays, expected: Arrays,
               outputs: Arrays, lang: str) -> Feedback:
    """The grader's verdict on ``outputs``; never raises."""
    if key.evaluate is None:
        return grade_outputs(question, inputs, expected, outputs, lang)
    fb = error_feedback(question, outputs, lang)
    if fb is not None:
        return fb
    try:
        return key.evaluate(inputs, expected, outputs, lang)
    except Exception as exc:
        return Feedback(False, say(
            f"could not evaluate the result of `{question.target}` ({type(exc).__name__}: {exc}).",
            f"no se pudo evaluar el resultado de `{question.target}` ({type(exc).__name__}: {exc}).",
            lang))


__all__ = ["KEY_MODULES", "PUBLIC_SEED", "QuestionKey", "draw_case", "grade_case", "key_for", "keys_for"]
