"""The teacher guide quotes the grader's run-level messages exactly, in both languages.

``docs/teacher-grading.md`` ("Usual reasons for 0 points") has a table of the messages that
give a whole submission 0 points, English beside Spanish. In it ``N``, ``S``, ``M`` and ``P``
stand for the numbers the grader fills in, ``(...)`` for a detail and a final ``...`` for the
rest of the sentence. Each row must match one entry of ``shared.grading.messages.MESSAGES``
in both languages, and every whole-notebook message must have its row.
"""

from __future__ import annotations

import re
from pathlib import Path

from shared.grading.messages import MESSAGES

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "teacher-grading.md"
#: The messages that give a whole notebook submission 0 points (the projects' own are in their section).
WHOLE_NOTEBOOK = ("cell_timeout", "time", "memory", "processes", "output", "dead", "invalid", "sandbox",
                  "could_not_run")
ROW = re.compile(r"^\| `([^`]+)` \| `([^`]+)` \|$", re.MULTILINE)


def guide_rows() -> list[tuple[str, str]]:
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split("### Usual reasons for 0 points", 1)[1].split("\n## ", 1)[0]
    return ROW.findall(section)


def quoted_pattern(quoted: str) -> re.Pattern:
    """The guide's quotation as a pattern over the message template (with its ``{fields}``)."""
    pattern = re.escape(quoted)
    pattern = re.sub(r"\\\(\\\.\\\.\\\.\\\)", r"\\(\\{\\w+\\}\\)", pattern)        # (...) -> ({detail})
    pattern = re.sub(r"(?<=[;,]\\ )\\\.\\\.\\\.$|(?<=[;,] )\\\.\\\.\\\.$", ".+", pattern)  # final ... -> the rest
    pattern = re.sub(r"\b[NSMP]\b", r"\\{\\w+\\}", pattern)                       # N, S, M, P -> {field}
    return re.compile(pattern)


def matching_codes(quoted: str, lang: int) -> list[str]:
    pattern = quoted_pattern(quoted)
    return [code for code, texts in MESSAGES.items() if pattern.fullmatch(texts[lang])]


def test_the_guide_has_the_table():
    assert len(guide_rows()) >= len(WHOLE_NOTEBOOK)


def test_every_row_quotes_one_message_in_both_languages():
    wrong = []
    for en, es in guide_rows():
        codes_en, codes_es = matching_codes(en, 0), matching_codes(es, 1)
        if len(codes_en) != 1 or codes_en != codes_es:
            wrong.append(f"{en!r} matches {codes_en}, {es!r} matches {codes_es}")
    assert not wrong, "rows of the guide's table that are not the grader's messages:\n" + "\n".join(wrong)


def test_every_whole_notebook_message_is_in_the_guide():
    quoted = {code for en, _ in guide_rows() for code in matching_codes(en, 0)}
    assert set(WHOLE_NOTEBOOK) <= quoted, f"not in the guide's table: {sorted(set(WHOLE_NOTEBOOK) - quoted)}"


def test_the_quotation_rules_reject_a_paraphrase():
    en, es = MESSAGES["cell_timeout"]
    assert quoted_pattern("timed out: cell N ran longer than S s; ...").fullmatch(en)
    assert not quoted_pattern("timeout: cell N ran longer than S s; ...").fullmatch(en)
    assert not quoted_pattern("tiempo agotado: la celda N tardó más de S segundos; ...").fullmatch(es)
