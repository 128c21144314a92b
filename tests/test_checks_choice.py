"""The multiple-choice questions of every chapter (built by checks.core.choice_question):
malformed answers get a clear message, and checks print in the notebook's language."""

from __future__ import annotations

import pytest

from shared.checks import check, gan, mdn, set_language, vae

from checks_support import assert_fails  # tests/

CHOICE_QUESTIONS = [mdn.Q6, vae.Q6, gan.Q6]


@pytest.mark.parametrize("question", CHOICE_QUESTIONS, ids=lambda q: q.qid)
def test_malformed_answers(question):
    assert_fails(question, 2, "string")
    assert_fails(question, ["B"], "string")
    assert_fails(question, "E", "one letter")
    assert_fails(question, "the mean", "one letter")
    assert_fails(question, "", "one letter")


@pytest.mark.parametrize("question", CHOICE_QUESTIONS, ids=lambda q: q.qid)
def test_checks_print_in_the_notebook(capsys, question):
    try:
        set_language("es")
        fb = check(question, ...)
    finally:
        set_language("en")
    out = capsys.readouterr().out
    assert out.startswith(f"❌ {question.qid}") and "todavía no tiene respuesta" in out and not fb.passed
