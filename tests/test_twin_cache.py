"""Tests of _ext/twin_cache.py: language twins share one cached execution, and a
page built from the cache keeps its own (language-specific) cell metadata."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))
twin_cache = pytest.importorskip("twin_cache")
from jupyter_cache import get_cache  # noqa: E402
from jupyter_cache.base import CacheBundleIn  # noqa: E402
from jupyter_cache.cache.main import JupyterCacheBase  # noqa: E402

CHAPTERS = ["mdn", "vae", "gan"]


@pytest.fixture(autouse=True)
def installed(monkeypatch):
    monkeypatch.setattr(JupyterCacheBase, "create_hashed_notebook", JupyterCacheBase.create_hashed_notebook)
    monkeypatch.setattr(JupyterCacheBase, "merge_match_into_notebook", JupyterCacheBase.merge_match_into_notebook)
    twin_cache.install()  # undone by monkeypatch after each test


def hashkey(nb) -> str:
    return JupyterCacheBase.create_hashed_notebook(None, nb)[1]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_language_twins_hash_alike_although_their_alt_texts_differ(chapter):
    en = nbformat.read(ROOT / "book" / "en" / f"{chapter}.ipynb", as_version=4)
    es = nbformat.read(ROOT / "book" / "es" / f"{chapter}.ipynb", as_version=4)
    assert any(c.metadata.get("mystnb") for c in en.cells), "the chapter has per-language alt texts"
    assert hashkey(en) == hashkey(es)
    # without the extension the metadata made them differ: every twin was executed twice
    assert twin_cache._create_hashed_notebook(None, en)[1] != twin_cache._create_hashed_notebook(None, es)[1]


def code_notebook(source: str, alt: str, tags=()) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, metadata={"mystnb": {"image": {"alt": alt}}, "tags": list(tags)})
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {alt}"), cell])


def test_code_and_tags_still_change_the_hash():
    base = hashkey(code_notebook("x = 1", "en"))
    assert hashkey(code_notebook("x = 1", "es")) == base
    assert hashkey(code_notebook("x = 2", "en")) != base
    assert hashkey(code_notebook("x = 1", "en", tags=["setup"])) != base


def test_page_from_the_cache_keeps_its_own_alt_text_and_takes_the_outputs(tmp_path):
    cache = get_cache(tmp_path / "cache")
    executed = code_notebook("print(1)", "English alt")
    executed.cells[1].execution_count = 1
    executed.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    cache.cache_notebook_bundle(CacheBundleIn(executed, "en.ipynb"), check_validity=False)

    _, merged = cache.merge_match_into_notebook(code_notebook("print(1)", "texto en español"))
    cell = merged.cells[1]
    assert cell.outputs[0]["text"] == "1\n"
    assert cell.metadata["mystnb"]["image"]["alt"] == "texto en español"
    assert merged.cells[0].source == "# texto en español"
