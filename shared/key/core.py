"""The answer key's building blocks: what the grader holds and the student never gets.

A :class:`QuestionKey` pairs with a :class:`shared.checks.core.Question` of the
same ``qid``. It draws the question's inputs (``make_inputs``) and computes
the expected results for them (``expect``: reference values, the values of
known wrong answers with their messages, reference gradients...). The
question's ``evaluate`` compares the student's outputs with those results.

Multiple-choice questions keep their correct letter and hints here
(:func:`choice_key`); the notebook's check only records the letter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from shared.checks.core import Arrays, Feedback, choice_letter, fail, ok, say


@dataclass(frozen=True)
class QuestionKey:
    """The secret half of a question.

    Attributes
    ----------
    qid : str
        Id of the :class:`~shared.checks.core.Question` it answers.
    make_inputs : callable
        ``make_inputs(rng) -> Arrays``: the question's inputs as plain arrays.
    expect : callable
        ``expect(inputs) -> Arrays``: the expected results for those inputs
        (plain arrays; strings allowed, no objects).
    evaluate : callable, optional
        ``evaluate(inputs, expected, outputs, lang) -> Feedback`` that replaces
        the question's own (multiple choice: only the key knows the letter).
    """

    qid: str
    make_inputs: Callable[[np.random.Generator], Arrays]
    expect: Callable[[Arrays], Arrays]
    evaluate: Callable[[Arrays, Arrays, Arrays, str], Feedback] | None = None


def no_inputs(rng: np.random.Generator) -> Arrays:
    """Inputs of a question that has none (multiple choice)."""
    return {}


def nothing_expected(inputs: Arrays) -> Arrays:
    """Expected results of a question whose evaluation needs only its inputs."""
    return {}


def choice_key(qid: str, target: str, correct: str, right: tuple[str, str],
               hints: dict[str, tuple[str, str]]) -> QuestionKey:
    """Key of a multiple-choice question: the correct letter and a hint per wrong letter.

    ``right`` is the (en, es) message for the correct letter; ``hints`` maps
    every other letter of A-D to its (en, es) hint, which must help without
    giving the answer away.
    """
    letters = {"A", "B", "C", "D"}
    if correct not in letters or set(hints) != letters - {correct}:
        raise ValueError(f"{qid}: give hints for exactly the wrong letters {sorted(letters - {correct})}")

    def evaluate(inputs: Arrays, expected: Arrays, outputs: Arrays, lang: str) -> Feedback:
        letter = choice_letter(outputs, target, lang)
        if isinstance(letter, Feedback):
            return letter
        if letter == correct:
            return ok(lang, *right)
        en, es = hints[letter]
        return fail(say(f"not quite: {en}", f"no exactamente: {es}", lang))

    return QuestionKey(qid=qid, make_inputs=no_inputs, expect=nothing_expected, evaluate=evaluate)
