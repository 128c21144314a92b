"""Exercise checks: immediate feedback in notebooks and the grader's evaluation.

Each chapter has a module (e.g. :mod:`shared.checks.mdn`) that defines its
questions; :data:`CHAPTERS` maps a chapter name (the exercise notebook's file
stem) to the module that holds its ``QUESTIONS`` list. The answer key is not
here: it lives in :mod:`shared.key`, on the teacher's side only.
"""

from __future__ import annotations

import importlib

from shared.checks.core import Feedback, Placeholder, Question, check, get_language, set_language

CHAPTERS: dict[str, str] = {
    "mdn": "shared.checks.mdn",
    "vae": "shared.checks.vae",
    "gan": "shared.checks.gan",
}


def questions_for(chapter: str) -> list[Question]:
    """Return the graded questions of a chapter (e.g. ``"mdn"``).

    Raises
    ------
    KeyError
        With the list of known chapters when ``chapter`` is unknown.
    """
    if chapter not in CHAPTERS:
        raise KeyError(f"unknown chapter {chapter!r}; known chapters: {sorted(CHAPTERS)}")
    return list(importlib.import_module(CHAPTERS[chapter]).QUESTIONS)


__all__ = ["CHAPTERS", "Feedback", "Placeholder", "Question", "check", "get_language", "questions_for", "set_language"]
