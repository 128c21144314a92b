"""The multiple-choice questions of every chapter (built by checks.core.choice_question):
malformed answers get a clear message, and checks print in the notebook's language."""

from __future__ import annotations

import pytest

from shared.checks import check, gan, get_language, mdn, set_language, vae

from checks_support import assert_fails  # tests/

CHOICE_QUESTIONS = [mdn.Q6, vae.Q6, gan.Q6]
#: words of each question's hints that the notebook must never print
HINT_WORDS = {"mdn.q6": ("conditional mean",), "vae.q6": ("plain autoencoder",), "gan.q6": ("JS", "hint")}


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


@pytest.mark.parametrize("question", CHOICE_QUESTIONS, ids=lambda q: q.qid)
def test_notebook_check_reveals_nothing(capsys, question):
    """check() gives the same "recorded" verdict for every letter, in both languages: the
    letter is in the key, so trying them all finds nothing."""
    verdicts = set()
    previous = get_language()
    try:
        for lang in ("en", "es"):
            set_language(lang)
            for letter in "ABCD":
                fb = check(question, letter)
                assert fb.pending and not fb.passed, fb.message
                verdicts.add((lang, fb.message.replace(f'"{letter}"', '"?"')))
            assert check(question, 2).pending is False  # a malformed answer is told at once
            assert check(question, "E").pending is False
    finally:
        set_language(previous)
    assert len(verdicts) == 2, verdicts
    assert any("recorded" in v for _, v in verdicts) and any("registrada" in v for _, v in verdicts)
    out = capsys.readouterr().out
    assert "✅" not in out and out.count("📝") == 8 and "not quite" not in out, out
    for word in HINT_WORDS[question.qid]:
        assert word not in out, word
