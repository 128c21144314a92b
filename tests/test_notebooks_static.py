"""Static properties of the course notebooks (no execution).

* language twins: code cells byte-identical, cell by cell, tags included; the
  only exception is the cell tagged ``language`` of exercise/solution
  notebooks, whose ``set_language("..")`` line names the notebook's language;
* no stored outputs or execution counts;
* Colab badges, twin links and the setup cell's REPO_URL derived from
  ``_config.yml`` (``python -m shared.links --check``);
* every Colab link names a notebook tracked in this repository, on the
  configured repository and branch;
* exercises regenerated from solutions (``python -m shared.exercises --check``);
* the chapters' questions are posed first, the answer collapsible (``<details>``),
  in one format that Jupyter Book, Colab and Jupyter all render, the same number in
  both twins.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from shared import claims, links

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = links.notebook_paths(str(ROOT))
EN_NOTEBOOKS = [p for p in NOTEBOOKS if p.split("/")[1] == "en"]
LANGUAGE_LINE = re.compile(r'^set_language\("(en|es)"\)$', re.M)


def read(rel: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / rel, as_version=4)


def test_there_are_notebooks_in_both_languages():
    assert EN_NOTEBOOKS, "no notebooks found"
    assert len(NOTEBOOKS) == 2 * len(EN_NOTEBOOKS)


@pytest.mark.parametrize("en_path", EN_NOTEBOOKS)
def test_language_twins_share_code_cells(en_path):
    es_path = links.twin_path(en_path)
    assert (ROOT / es_path).exists(), f"{en_path} has no Spanish twin {es_path}"
    en, es = read(en_path), read(es_path)
    assert [c.cell_type for c in en.cells] == [c.cell_type for c in es.cells], \
        f"{en_path} and {es_path} must have the same sequence of cell types"
    for i, (a, b) in enumerate(zip(en.cells, es.cells)):
        if a.cell_type != "code":
            continue
        tags_a, tags_b = a.metadata.get("tags", []), b.metadata.get("tags", [])
        assert tags_a == tags_b, f"cell {i}: tags differ ({tags_a} vs {tags_b})"
        if "language" in tags_a:
            assert LANGUAGE_LINE.findall(a.source) == ["en"], f"{en_path} cell {i}: set_language(\"en\")"
            assert LANGUAGE_LINE.findall(b.source) == ["es"], f"{es_path} cell {i}: set_language(\"es\")"
            assert LANGUAGE_LINE.sub("", a.source) == LANGUAGE_LINE.sub("", b.source), \
                f"cell {i}: the language cell may differ only in its set_language line"
        else:
            assert a.source == b.source, f"code cell {i} differs between {en_path} and {es_path}"


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_no_stored_outputs(path):
    for i, cell in enumerate(read(path).cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, \
                f"{path} cell {i} has stored outputs: clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_prose_is_in_the_notebook_language(path):
    # the first cell's title differs between the twins (a cheap guard against
    # copying the English prose into the Spanish notebook)
    if path.split("/")[1] == "es":
        twin = read(links.twin_path(path))
        nb = read(path)
        md_es = [c.source for c in nb.cells if c.cell_type == "markdown"]
        md_en = [c.source for c in twin.cells if c.cell_type == "markdown"]
        same = [i for i, (a, b) in enumerate(zip(md_en, md_es)) if a == b and len(a) > 80]
        assert not same, f"{path}: markdown cells {same} are identical to the English twin"


#: A posed question and its collapsible answer. The blank lines after <summary> and before
#: </details> make MyST (and Jupyter) parse the answer as markdown, math included.
QUESTION = {"en": ("**Question.**", "<details>\n<summary>Answer</summary>\n\n"),
            "es": ("**Pregunta.**", "<details>\n<summary>Respuesta</summary>\n\n")}
DETAILS = re.compile(r"<details>.*?</details>", re.S)


def posed_questions(rel: str) -> list[str]:
    """The answers of a notebook's posed questions; fails on a badly formed block."""
    label, opening = QUESTION[rel.split("/")[1]]
    answers = []
    for i, cell in enumerate(read(rel).cells):
        if cell.cell_type != "markdown" or "<details" not in cell.source:
            continue
        source = cell.source
        assert source.count("<details") == source.count("</details>"), f"{rel} cell {i}: unbalanced <details>"
        for block in DETAILS.finditer(source):
            where = f"{rel} cell {i}, block at {block.start()}"
            assert block.group().startswith(opening), f"{where}: open it with {opening!r}"
            assert block.group().endswith("\n\n</details>"), f"{where}: a blank line before </details>"
            before = source[:block.start()].rstrip("\n").rsplit("\n\n", 1)[-1]
            assert before.startswith(label), f"{where}: pose the question first, as a paragraph {label} ..."
            answers.append(block.group())
    return answers


@pytest.mark.parametrize("en_path", [p for p in EN_NOTEBOOKS if p.startswith("book/")])
def test_questions_are_posed_first_with_collapsible_answers(en_path):
    en, es = posed_questions(en_path), posed_questions(links.twin_path(en_path))
    assert len(en) == len(es), f"{en_path}: {len(en)} questions, its twin {len(es)}"


@pytest.mark.parametrize("en_path", [p for p in EN_NOTEBOOKS if p.startswith("book/")])
def test_twins_make_the_same_claims(en_path):
    """The prose's checked claims (shared.claims) are the same, in the same order, in both languages."""
    def listed(rel):
        return [(c.expression, c.full_only) for c in claims.claims_of(read(rel).cells)]
    assert listed(en_path) == listed(links.twin_path(en_path)), f"{en_path}: its twin makes other claims"
    for rel in (en_path, links.twin_path(en_path)):
        for i, cell in enumerate(read(rel).cells):
            starts = [line for line in cell.source.splitlines() if line.lstrip().startswith("<!-- claim")]
            # a line that opens with an HTML comment starts an HTML block: it would end the paragraph there
            assert cell.cell_type != "markdown" or not starts, f"{rel} cell {i}: put the claim after its sentence"


def test_links_and_repository_url_are_derived_from_config():
    result = subprocess.run([sys.executable, "-m", "shared.links", "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_exercises_are_in_sync_with_solutions():
    result = subprocess.run([sys.executable, "-m", "shared.exercises", "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def tracked_files() -> set[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return set(out.stdout.split())


COLAB_RE = re.compile(r"https://colab\.research\.google\.com/github/([^)\s\"']+)")


def test_every_colab_link_points_at_a_tracked_notebook_of_the_configured_repo():
    url, branch = links.repository(str(ROOT))
    slug = url.split("github.com/", 1)[1]
    tracked = tracked_files()
    sources = [(p, c.source) for p in NOTEBOOKS for c in read(p).cells]
    sources += [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8"))
                for p in ROOT.glob("book/*/*.md")] + [("index.md", (ROOT / "index.md").read_text())]
    found = 0
    for where, text in sources:
        for target in COLAB_RE.findall(text):
            found += 1
            prefix = f"{slug}/blob/{branch}/"
            assert target.startswith(prefix), f"{where}: {target} is not on {slug}@{branch}"
            nb_path = target[len(prefix):]
            assert nb_path in tracked, f"{where}: Colab link to {nb_path}, which is not tracked by git"
    assert found >= 2 * len(NOTEBOOKS), "every notebook should have its badge and its twin's Colab link"


def test_launch_buttons_are_configured_for_colab():
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    toc = (ROOT / "_toc.yml").read_text()
    for path in NOTEBOOKS:
        assert path[:-len(".ipynb")] in toc, f"{path} is not in _toc.yml"
