"""The course's source documents are named as readers know them, never by internal labels.

The chapters follow, and correct in places, four documents that the course's authors
called "seed 000" to "seed 003". Readers never saw those labels, so reader-facing text of
both languages uses the sources' names instead (one short name per source, introduced
by each chapter's Sources / Fuentes note):

* the IAI-UNSAM notebook / el cuaderno de IAI-UNSAM (``21_GAN_MDN.ipynb``, seed 000);
* Jung's tutorial / el tutorial de Jung ("Mixture Of Density Network", seed 001);
* the PyTorch "Mixture Density Net" notebook / el cuaderno de PyTorch "Mixture Density
  Net" (seed 002);
* the USM assignment / la tarea de la USM ("Tarea 3 – Aplicaciones de Redes Neuronales",
  seed 003).

Reader-facing text, checked here: the markdown cells, the code cells (their printed and
plotted labels, comments and names are all on the reader's screen) and the figures' alt
texts of every notebook of ``book/``, ``solutions/`` and ``exercises/``; the ``.md``
pages of ``book/``, ``docs/`` and the root; and the string literals of ``shared/``
(messages of the checks, the grader and the projects). Developers' code in
``benchmarks/`` and ``tests/`` may keep the labels in comments.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from test_spanish_style import excerpt, prose_of

ROOT = Path(__file__).resolve().parent.parent

#: The internal labels: "seed 000", "Seed 003's", "seed-001", "seed003", "seed_002".
LABEL = re.compile(r"seed[\s_-]?00\d", re.IGNORECASE)
CHAPTERS = ("mdn", "vae", "gan")
#: Each chapter's note: its marker, and the short names (in bold) of the sources it follows.
NOTE = {"en": "**Sources.**", "es": "**Fuentes.**"}
SOURCES = {
    "mdn": {"en": ["the IAI-UNSAM notebook", "Jung's tutorial", 'the PyTorch "Mixture Density Net" notebook'],
            "es": ["el cuaderno de IAI-UNSAM", "el tutorial de Jung", 'el cuaderno de PyTorch "Mixture Density Net"']},
    "vae": {"en": ["the USM assignment"], "es": ["la tarea de la USM"]},
    "gan": {"en": ["the IAI-UNSAM notebook", "the USM assignment"],
            "es": ["el cuaderno de IAI-UNSAM", "la tarea de la USM"]},
}
LINK = re.compile(r"\]\((https?://[^)\s]+)\)")


def notebooks() -> list[Path]:
    return sorted(p for folder in ("book", "solutions", "exercises") for p in (ROOT / folder).glob("*/*.ipynb"))


def pages() -> list[Path]:
    return sorted([*ROOT.glob("book/*/*.md"), *ROOT.glob("docs/**/*.md"), *ROOT.glob("*.md")])


def notebook_texts(path: Path) -> list[tuple[str, str]]:
    """``(where, text)`` for the markdown (via ``prose_of``), the code and the alt texts of a notebook."""
    rel = path.relative_to(ROOT).as_posix()
    found = prose_of(path)
    for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        if cell["cell_type"] == "code":
            found.append((f"{rel} cell {i} (code)", "".join(cell["source"])))
        alt = cell.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt")
        if alt:
            found.append((f"{rel} cell {i} (alt text)", alt))
    return found


def shared_strings() -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / "shared").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.value))
    return found


TEXTS = ([piece for path in notebooks() for piece in notebook_texts(path)]
         + [piece for path in pages() for piece in prose_of(path)] + shared_strings())


def test_there_is_text_to_check_in_both_languages():
    assert len(notebooks()) >= 30 and len(pages()) >= 8
    for language in ("en", "es"):
        assert sum(f"/{language}/" in where for where, _ in TEXTS) > 300


def test_no_internal_source_labels_reach_the_reader():
    found = [f"{where}: …{excerpt(text, m)}…" for where, text in TEXTS for m in LABEL.finditer(text)]
    assert not found, "name the source (see tests/test_sources.py), not its internal label:\n" + "\n".join(found)


def test_the_label_pattern_catches_every_spelling():
    for text in ("seed 000", "Seed 003's GAN", "seed-001", "def make_seed003_gan(", "seed_002", "(\"seed 003\")"):
        assert LABEL.search(text), text
    for text in ("set_seed(0)", "SEEDS = budget(full=3, quick=2)", "seed=0", "three seeds", "seed 3"):
        assert not LABEL.search(text), text


def note_of(language: str, chapter: str) -> str:
    cells = json.loads((ROOT / "book" / language / f"{chapter}.ipynb").read_text(encoding="utf-8"))["cells"]
    first = "".join(cells[0]["source"])
    assert cells[0]["cell_type"] == "markdown" and NOTE[language] in first, \
        f"book/{language}/{chapter}.ipynb: the first cell should end with the {NOTE[language]} note"
    return first[first.index(NOTE[language]):]


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_names_its_sources_with_a_link(language, chapter):
    note = note_of(language, chapter)
    missing = [name for name in SOURCES[chapter][language] if f"**{name}**" not in note]
    assert not missing, f"book/{language}/{chapter}.ipynb: the note does not introduce {missing}"
    assert LINK.search(note), f"book/{language}/{chapter}.ipynb: the note has no link"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_twin_notes_give_the_same_links(chapter):
    assert LINK.findall(note_of("en", chapter)) == LINK.findall(note_of("es", chapter))
