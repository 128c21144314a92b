"""The bilingual glossary (``book/{en,es}/glossary.md``) and the Spanish style guide (``docs/spanish-style.md``).

Each glossary page is one markdown table with the same rows in the same order:

* English page: ``| Term | Spanish | Definition | Where |``;
* Spanish page: ``| Término | Inglés | Definición | Dónde aparece |``.

A term is checked against the chapters its Where cell links (``[MDN](mdn.ipynb)``,
``mdn.ipynb#a-section`` also works), in its own language: case-insensitive, over the markdown and
code cells of ``book/<language>/<chapter>.ipynb``. The rule for a term cell:

* only the text before the first `` (`` is looked for: ``la ELBO (cota inferior de la evidencia)``
  looks for ``la ELBO``;
* `` / `` separates alternatives (``sample / sampling``): each linked chapter must contain one of
  them, and each of them must occur in some linked chapter;
* an alternative matches as whole words, each word possibly followed by a plural ``s`` or ``es``,
  with any white space between words (a line break in a cell): ``coeficiente de mezcla`` matches
  ``coeficientes de mezcla``, and ``codificador`` does not match inside ``decodificador``.

The checks: (a) the rows correspond, (b) every term occurs in the chapters its row links, (c) every
row links a chapter and both pages link the same ones, (d) ``docs/spanish-style.md`` lists the
neutral choice of every entry of ``BANNED`` (``tests/test_spanish_style.py``) and links the Spanish
glossary.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import pytest

from test_spanish_style import BANNED

ROOT = Path(__file__).resolve().parent.parent
PAGES = {"en": ROOT / "book" / "en" / "glossary.md", "es": ROOT / "book" / "es" / "glossary.md"}
HEADERS = {"en": ["Term", "Spanish", "Definition", "Where"],
           "es": ["Término", "Inglés", "Definición", "Dónde aparece"]}
CHAPTERS = ("mdn", "vae", "gan")
STYLE_GUIDE = ROOT / "docs" / "spanish-style.md"
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def parse_table(text: str, where: str = "page") -> tuple[list[str], list[list[str]]]:
    """The header and the rows of the one markdown table of a page (cells stripped)."""
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("|")]
    assert len(lines) >= 3, f"{where}: no markdown table"
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    header, separator, rows = cells[0], cells[1], cells[2:]
    assert all(re.fullmatch(r":?-+:?", cell) for cell in separator), f"{where}: the second table line is not |---|"
    for row in rows:
        assert len(row) == len(header), f"{where}: {len(row)} cells instead of {len(header)} (a stray '|'?): {row}"
    return header, rows


@lru_cache(maxsize=None)
def table(language: str) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    header, rows = parse_table(PAGES[language].read_text(encoding="utf-8"), PAGES[language].name)
    return tuple(header), tuple(tuple(row) for row in rows)


def term_patterns(term: str) -> list[re.Pattern]:
    """One pattern per alternative of a term cell (see the module's docstring)."""
    head = term.split(" (", 1)[0].strip()
    patterns = []
    for alternative in head.split(" / "):
        words = alternative.split()
        assert words, f"empty term in {term!r}"
        body = r"\s+".join(re.escape(word) + r"(?:s|es)?" for word in words)
        patterns.append(re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE))
    return patterns


def chapters_linked(cell: str) -> list[str]:
    """The chapters (``mdn``, ``vae``, ``gan``) a Where cell links, in order; other links fail."""
    found = []
    for _, target in LINK.findall(cell):
        path = target.split("#", 1)[0]
        assert path in {f"{c}.ipynb" for c in CHAPTERS}, f"{target!r}: not a chapter of the same folder"
        found.append(path[:-len(".ipynb")])
    return found


@lru_cache(maxsize=None)
def notebook_text(language: str, chapter: str) -> str:
    cells = json.loads((ROOT / "book" / language / f"{chapter}.ipynb").read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] in ("markdown", "code"))


def missing_terms(term: str, chapters: list[str], text_of) -> list[str]:
    """What check (b) reports for one term cell: a linked chapter with none of its alternatives, or
    an alternative found in none of them (``text_of(chapter)`` gives a chapter's text)."""
    patterns = term_patterns(term)
    problems = [f"{term!r} not in {chapter}" for chapter in chapters
                if not any(p.search(text_of(chapter)) for p in patterns)]
    problems += [f"{p.pattern!r} of {term!r} in none of {chapters}" for p in patterns
                 if not any(p.search(text_of(chapter)) for chapter in chapters)]
    return problems


# ---------------------------------------------------------------------------
# The glossary
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["en", "es"])
def test_each_page_has_its_title_and_one_table_with_its_columns(language):
    text = PAGES[language].read_text(encoding="utf-8")
    assert text.startswith({"en": "# Glossary\n", "es": "# Glosario\n"}[language])
    header, rows = table(language)
    assert list(header) == HEADERS[language]
    assert 30 <= len(rows) <= 60, f"{len(rows)} rows: the glossary lists the core terms"


def test_a_the_rows_correspond_across_the_two_pages():
    (_, en), (_, es) = table("en"), table("es")
    assert len(en) == len(es), f"{len(en)} English rows, {len(es)} Spanish rows"
    wrong = [f"row {i + 1}: en {e[:2]} / es {s[:2]}" for i, (e, s) in enumerate(zip(en, es))
             if e[1] != s[0] or s[1] != e[0]]
    assert not wrong, "each row's other-language column must be the other page's term:\n" + "\n".join(wrong)
    terms = [row[0].casefold() for row in en]
    assert len(set(terms)) == len(terms), "a term is listed twice"


@pytest.mark.parametrize("language", ["en", "es"])
def test_b_every_term_is_in_the_chapters_it_links(language):
    _, rows = table(language)
    problems = [f"{PAGES[language].name}: {problem}" for row in rows
                for problem in missing_terms(row[0], chapters_linked(row[3]),
                                             lambda chapter: notebook_text(language, chapter))]
    assert not problems, (f"terms not found in book/{language}/ (use the chapters' term, or fix "
                          "the Where cell):\n" + "\n".join(problems))


def test_c_every_row_links_a_chapter_and_both_pages_link_the_same():
    (_, en), (_, es) = table("en"), table("es")
    problems = []
    for e, s in zip(en, es):
        linked = chapters_linked(e[3]), chapters_linked(s[3])
        if not linked[0]:
            problems.append(f"{e[0]!r}: its Where cell links no chapter")
        if linked[0] != linked[1]:
            problems.append(f"{e[0]!r}: en links {linked[0]}, es links {linked[1]}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", ["en", "es"])
def test_no_cell_is_empty(language):
    _, rows = table(language)
    empty = [row[0] or str(row) for row in rows if not all(row)]
    assert not empty, f"{PAGES[language].name}: empty cells in {empty}"


def test_the_checks_fail_on_wrong_rows():
    """The rules above catch what they are for (they must not pass vacuously)."""
    text = {"mdn": "Una red de **coeficientes\nde mezcla** y su log-sum-exp.", "vae": "el decodificador"}.get
    assert not missing_terms("coeficiente de mezcla", ["mdn"], text)
    assert missing_terms("coeficiente de mezcla", ["mdn", "vae"], text) == ["'coeficiente de mezcla' not in vae"]
    assert missing_terms("codificador", ["vae"], text), "a word inside another word is not the term"
    assert not missing_terms("log-sum-exp (LSE)", ["mdn"], text)
    assert missing_terms("log-sum-exp / softmax", ["mdn"], text), "every alternative must occur"
    with pytest.raises(AssertionError, match="not a chapter"):
        chapters_linked("[MDN](../en/mdn.ipynb)")
    with pytest.raises(AssertionError, match="stray"):
        parse_table("| a | b |\n|---|---|\n| 1 | 2 | 3 |\n")


# ---------------------------------------------------------------------------
# The style guide
# ---------------------------------------------------------------------------

def test_d_the_style_guide_lists_every_banned_word_and_links_the_glossary():
    text = STYLE_GUIDE.read_text(encoding="utf-8")
    missing = [f"{use!r} (for {pattern!r})" for pattern, use in BANNED.items() if use not in text]
    unshown = [pattern for pattern in BANNED if not re.search(pattern, text, re.IGNORECASE)]
    assert not missing, "docs/spanish-style.md lacks the neutral choice of:\n" + "\n".join(missing)
    assert not unshown, "docs/spanish-style.md does not show the banned word of:\n" + "\n".join(unshown)
    targets = [target.split("#", 1)[0] for _, target in LINK.findall(text)]
    assert "../book/es/glossary.md" in targets, "docs/spanish-style.md must link ../book/es/glossary.md"
