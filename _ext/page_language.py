"""Per-page ``<html lang>`` for the bilingual site.

Jupyter Book configures one ``language`` for the whole site. This extension
sets the ``lang`` attribute of every page from its path: pages under an
``es`` folder (``book/es/...``, ``exercises/es/...``, ``solutions/es/...``)
are Spanish, every other page (including the bilingual root ``index``) is
English. Screen readers, hyphenation and browser translation prompts rely on it.
"""

from __future__ import annotations

DEFAULT_LANGUAGE = "en"
FOLDER_LANGUAGES = {"es": "es", "en": "en"}


def page_language(pagename: str) -> str:
    """Language of a page given its Sphinx name (``book/es/intro`` -> ``es``)."""
    for folder in pagename.split("/")[:-1]:
        if folder in FOLDER_LANGUAGES:
            return FOLDER_LANGUAGES[folder]
    return DEFAULT_LANGUAGE


def _set_language(app, pagename, templatename, context, doctree):
    context["language"] = page_language(pagename)


def setup(app):
    app.connect("html-page-context", _set_language)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
