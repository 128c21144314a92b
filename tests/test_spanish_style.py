"""One editorial voice in the reader-facing Spanish (the rules below).

Reader-facing Spanish: the markdown cells and the figures' alt texts of every Spanish
notebook (book, solutions, exercises), the Spanish pages (``book/es/*.md``) and the messages of the checks, the
grader and the projects (string literals in ``shared/``; English strings never contain
the words looked for). The rules, from the review of the Spanish (December 2026):

* the reader is addressed as *tú*: no *ustedes* or *vosotros*, no plural imperatives;
* numbers use the decimal point, like the code (``0.4``, ``1.39``, never ``0,4`` or
  ``1{,}39``) — checked in prose and LaTeX, not in code spans;
* neutral Latin-American vocabulary: none of the regionalisms the review found.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Second-person plural forms: the pronouns anywhere, plural imperatives opening a sentence.
PLURAL_ADDRESS = re.compile(
    r"\b(ustedes|vosotros|vosotras|vuestro|vuestra|vuestros|vuestras)\b"
    r"|(?:^|[.!?:¡¿]\s*|\n\s*[-*]?\s*)(Midan|Prueben|Describan|Tengan|Monitoreen|Ejecuten|Observen|Noten|"
    r"Comparen|Usen|Miren|Vean|Escriban|Implementen|Completen|Corran|Entrenen|Recuerden|Fíjense|Intenten|"
    r"Piensen|Calculen|Respondan|Lean|Abran|Elijan|Cambien|Agreguen|Guarden|Expliquen|Justifiquen)\b",
    re.IGNORECASE | re.MULTILINE)
#: The review's regionalisms and calques (finding 4, 5), with the neutral choice in the comment.
BANNED = {
    r"\btrabajos? prácticos?\b": "tarea / ejercicio",
    r"\bgrillas?\b": "cuadrícula",
    r"\bpoleras?\b": "camiseta",
    r"\bzapatillas?\b": "zapato deportivo",
    r"\bsorte(?:o|os|ar|amos|a|an|ado|ados|ada|adas)\b": "muestrear / muestreo",
    r"\bchic(?:o|a|os|as)\b": "pequeño",
    r"\bachic\w*": "reducir",
    r"\bcorridas?\b": "ejecución",
    r"se lleva el juego por delante": "domina el juego",
    r"\bda vuelta\b": "invierte",
    r"\bpor vez\b": "a la vez",
    r"\bpuntos de retorno\b": "puntos de inflexión / de giro",
    r"\bbandera `trainable`": "atributo `trainable`",
    r"Let's discuss": "¡Discutamos!",
}
#: A number with a decimal comma: ``0,4`` in prose, ``1{,}39`` in LaTeX.
DECIMAL_COMMA = re.compile(r"(?<![\d,.{])\d+(?:,|\{,\})\d+(?![\d,])")
CODE_SPAN = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)


def spanish_notebooks() -> list[Path]:
    return sorted(p for folder in ("book", "solutions", "exercises") for p in (ROOT / folder / "es").glob("*.ipynb"))


def prose_of(path: Path) -> list[tuple[str, str]]:
    """``(where, text)`` for each reader-facing piece of prose of a Spanish notebook or page."""
    rel = path.relative_to(ROOT).as_posix()
    if path.suffix == ".md":
        return [(rel, path.read_text(encoding="utf-8"))]
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    prose = [(f"{rel} cell {i}", "".join(c["source"])) for i, c in enumerate(cells) if c["cell_type"] == "markdown"]
    alts = [(f"{rel} cell {i} (figure alt text)", c["metadata"]["mystnb"]["image"]["alt"])
            for i, c in enumerate(cells) if "alt" in c.get("metadata", {}).get("mystnb", {}).get("image", {})]
    return prose + alts


def message_strings() -> list[tuple[str, str]]:
    """Every string literal of the course's checks, grader and projects (``(where, text)``)."""
    found = []
    for folder in ("checks", "grading", "projects"):
        for path in sorted((ROOT / "shared" / folder).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.value))
    return found


PROSE = [piece for path in spanish_notebooks() + sorted((ROOT / "book" / "es").glob("*.md"))
         for piece in prose_of(path)]


def excerpt(text: str, match: re.Match) -> str:
    return text[max(0, match.start() - 40):match.end() + 40].replace("\n", " ")


def test_there_is_spanish_prose_to_check():
    assert len(PROSE) > 100 and len(message_strings()) > 100


@pytest.mark.parametrize("source", ["prose", "messages"])
def test_the_reader_is_addressed_as_tu(source):
    pieces = PROSE if source == "prose" else message_strings()
    found = [f"{where}: …{excerpt(text, m)}…" for where, text in pieces for m in PLURAL_ADDRESS.finditer(text)]
    assert not found, "use tú, not ustedes/vosotros:\n" + "\n".join(found)


@pytest.mark.parametrize("source", ["prose", "messages"])
def test_no_regional_words(source):
    pieces = PROSE if source == "prose" else message_strings()
    found = [f"{where}: …{excerpt(text, m)}… (use: {use})"
             for where, text in pieces for pattern, use in BANNED.items()
             for m in re.finditer(pattern, text, re.IGNORECASE)]
    assert not found, "regional or calqued words:\n" + "\n".join(found)


def test_numbers_use_the_decimal_point():
    found = [f"{where}: …{excerpt(prose, m)}…" for where, text in PROSE
             for prose in [CODE_SPAN.sub(" ", text)] for m in DECIMAL_COMMA.finditer(prose)]
    assert not found, "decimal commas (write 0.4, like the code):\n" + "\n".join(found)


def test_the_rules_catch_what_the_review_found():
    assert PLURAL_ADDRESS.search("En este capítulo ustedes van a:")
    assert PLURAL_ADDRESS.search("Entrenamos el modelo. Monitoreen la pérdida.")
    assert not PLURAL_ADDRESS.search("para que tengan la misma forma")
    assert DECIMAL_COMMA.search("$\\log 4 \\approx 1{,}39$") and DECIMAL_COMMA.search("un dropout de 0,4")
    assert not DECIMAL_COMMA.search("$(x_1, x_2)$, $\\mu_{1,1}$, 1.39 y 60 000 imágenes, 1, 2 y 3")
    assert re.search(list(BANNED)[0], "el trabajo práctico de la semana", re.IGNORECASE)
