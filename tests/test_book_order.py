"""Tests of _ext/book_order.py: the build reads (executes) pages in the order of _toc.yml,
so the VAE chapter, which saves the model the GAN chapter reuses, runs before it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))
book_order = pytest.importorskip("book_order")
from sphinx_external_toc.parsing import parse_toc_yaml  # noqa: E402

SITE_MAP = parse_toc_yaml(ROOT / "_toc.yml")


def test_toc_order_is_the_tables_order_root_first():
    order = book_order.toc_order(SITE_MAP)
    assert order[0] == "index"
    assert len(order) == len(set(order))
    for language in ("en", "es"):
        chapters = [order.index(f"book/{language}/{name}") for name in ("intro", "mdn", "vae", "gan")]
        assert chapters == sorted(chapters), f"{language}: chapters out of book order"
    assert order.index("book/en/teacher-guide") < order.index("book/es/intro")


def test_vae_chapter_is_read_before_the_gan_chapter_that_reuses_its_model():
    docnames = sorted(["book/en/gan", "book/en/vae", "book/es/gan", "book/es/vae", "book/en/mdn", "index"])
    assert docnames.index("book/en/gan") < docnames.index("book/en/vae")  # Sphinx's default order
    book_order.sort_in_book_order(docnames, SITE_MAP)
    assert docnames == ["index", "book/en/mdn", "book/en/vae", "book/en/gan", "book/es/vae", "book/es/gan"]


def test_pages_outside_the_toc_keep_alphabetical_order_after_it():
    docnames = ["zz/other", "book/en/gan", "aa/other", "book/en/mdn"]
    book_order.sort_in_book_order(docnames, SITE_MAP)
    assert docnames == ["book/en/mdn", "book/en/gan", "aa/other", "zz/other"]
