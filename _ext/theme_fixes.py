"""Fixes for two JavaScript console errors of the Jupyter Book 1.0 theme.

* Inline configuration scripts of ``sphinx-thebe`` and ``sphinx-togglebutton``
  end up twice on every page (once with ``filename=None``, once with
  ``filename=''``); the second ``const THEBE_JS_URL = ...`` throws
  ``SyntaxError: Identifier 'THEBE_JS_URL' has already been declared``. Each
  page keeps only the first of identical scripts.
* Without a ``default_mode`` (an ``html_context`` variable of the pydata
  theme), the theme logs ``Got invalid theme mode: . Resetting to auto.`` on a
  visitor's first page. ``auto`` (follow the system's light/dark setting) is
  what it falls back to, so it is set explicitly.

The browser tests (tests/test_site.py) fail on any console error.
"""

from __future__ import annotations


def _key(script) -> tuple:
    return (script.filename or None, tuple(sorted(script.attributes.items())))


def _fix_page(app, pagename, templatename, context, doctree):
    if not context.get("default_mode"):
        context["default_mode"] = "auto"
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _fix_page)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
