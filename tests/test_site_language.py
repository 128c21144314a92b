"""Unit tests of the per-language website build (_ext/build_site.py, _ext/site_language.py), without building."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))
import build_site  # noqa: E402
import site_language  # noqa: E402

TOC = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))


def test_each_language_build_has_its_own_pages_and_the_root_the_landing_page():
    pages = {}
    for build in ("en", "es"):
        toc = build_site.toc_for(TOC, build)
        files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
        assert toc["root"] == f"book/{build}/intro"
        assert all(site_language.build_of(f) == build for f in files), files
        pages[build] = files
    assert [site_language.twin_docname(f, "en") for f in pages["en"]] == pages["es"], \
        "the two builds have the same pages, in the same order"
    assert build_site.toc_for(TOC, "root") == {"format": "jb-book", "root": "index"}


def test_a_toc_without_the_language_is_refused():
    with pytest.raises(ValueError, match="under \\*/fr/"):
        build_site.toc_for(TOC, "fr")


@pytest.mark.parametrize("docname, build", [("book/es/mdn", "es"), ("solutions/en/gan-project", "en"),
                                            ("index", "root"), ("search", "root")])
def test_a_page_belongs_to_its_language_folders_build(docname, build):
    assert site_language.build_of(docname) == build


def test_twins_swap_the_language_folder_and_keep_special_pages():
    assert site_language.twin_docname("book/en/mdn", "en") == "book/es/mdn"
    assert site_language.twin_docname("exercises/es/vae-project", "es") == "exercises/en/vae-project"
    assert site_language.twin_docname("search", "es") == "search"
    with pytest.raises(ValueError, match="languages"):
        site_language.other_language("fr")


@pytest.mark.parametrize("args, url", [
    (("book/en/mdn", "en", "book/es/mdn", "es"), "../../../es/book/es/mdn.html"),
    (("search", "es", "search", "en"), "../en/search.html"),
    (("index", "root", "book/en/intro", "en"), "en/book/en/intro.html"),
    (("book/es/intro", "es", "index", "root"), "../../../index.html"),
])
def test_urls_between_builds_climb_out_of_the_build_folder(args, url):
    assert site_language.url_between_builds(*args) == url


def test_the_spanish_interface_catalog_covers_the_theme_strings_it_fixes():
    from babel.messages.pofile import read_po

    with (site_language.LOCALE_DIR / "es" / "LC_MESSAGES" / "booktheme.po").open("rb") as f:
        catalog = read_po(f, locale="es")
    ours = {m.id: m.string for m in catalog if m.id}
    for text in ("Toggle primary sidebar", "Toggle secondary sidebar", "Main", "Launch on",
                 "Launch interactive content", "Download this page", "previous page", "next page"):
        assert ours.get(text), f"booktheme.po: no Spanish for {text!r}"
    assert all(ours[t] != t for t in ours if t != "Sphinx Book Theme"), "an untranslated entry"
    for template in ("toggle-primary-sidebar.html", "toggle-secondary-sidebar.html", "sbt-sidebar-nav.html"):
        text = (site_language.TEMPLATES_DIR / template).read_text(encoding="utf-8")
        assert "translate(" in text, f"{template}: its text is not translated"
