"""One Sphinx build per language, and the links between the two builds.

``_ext/build_site.py`` builds the site twice: the English pages with
``language = "en"`` into ``<html>/en/`` and the Spanish pages with
``language = "es"`` into ``<html>/es/`` (each with its own search index,
stemmed in its language, and the theme's interface translated by Sphinx's and
the theme's catalogs). This extension gives each build what depends on its
language:

* the book's title and the search box's placeholder (:data:`TEXTS`);
* a **language switcher in the header** of every page
  (``_ext/templates/language-switcher.html``): a link to the *same* page in the
  other build (``book/en/mdn`` <-> ``book/es/mdn``; the search and index pages to
  their twins), and ``<link rel="alternate" hreflang>`` in the page's head. It
  stores nothing (no cookie, no local storage): the URL says the language;
* links from the prose to a page of the other language (the twin link of each
  notebook's first cell, ``[Español](../es/mdn.ipynb)``, which also works in
  Colab and on GitHub): that page is not part of this build, so the reference
  is resolved to its page in the other build instead of failing.

The interface strings that the themes' Spanish catalogs leave in English or
translate badly are fixed by the small catalogs in ``_ext/locale``
(:data:`LOCALE_DIR`), read before the themes' own: ``booktheme.po`` by
:func:`catalogs_first`, ``sphinx.po`` by Sphinx (``locale_dirs``). The theme's
templates whose text is English only are copied to ``_ext/templates`` with that
text translatable.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
LOCALE_DIR = HERE / "locale"
STATIC_DIR = HERE / "static"

#: The languages of the site, in the order of the switcher, and what each build says in its own language.
TEXTS: dict[str, dict[str, str]] = {
    "en": {"name": "English", "title": "Deep Generative Models: MDNs, VAEs and GANs",
           "search": "Search this book…", "switch": "Leer en español", "author": "The course authors"},
    "es": {"name": "Español", "title": "Modelos generativos profundos: MDN, VAE y GAN",
           "search": "Buscar en este libro…", "switch": "Read in English", "author": "Los autores del curso"},
}
def build_of(docname: str) -> str:
    """The build a page belongs to: its language folder (``book/es/mdn`` -> ``es``), else ``root``."""
    for folder in docname.split("/")[:-1]:
        if folder in TEXTS:
            return folder
    return "root"


def other_language(language: str) -> str:
    """The other language of the site (``"en"`` <-> ``"es"``)."""
    others = [lang for lang in TEXTS if lang != language]
    if language not in TEXTS or len(others) != 1:
        raise ValueError(f"language {language!r}: the site has the languages {sorted(TEXTS)}")
    return others[0]


def twin_docname(docname: str, language: str) -> str:
    """The page of the other language's build that ``docname`` leads to.

    ``book/en/mdn`` -> ``book/es/mdn``; a page without a language folder (``search``) keeps its name.
    """
    other = other_language(language)
    *folders, name = docname.split("/")
    return "/".join([other if folder == language else folder for folder in folders] + [name])


def url_between_builds(from_docname: str, from_build: str, to_docname: str, to_build: str) -> str:
    """Relative URL of the page ``to_docname`` of ``to_build`` from the page ``from_docname`` of ``from_build``.

    The root build writes into the site's folder, each language build into a subfolder named by its language.
    """
    up = "../" * (from_docname.count("/") + (from_build != "root"))
    return f"{up}{'' if to_build == 'root' else to_build + '/'}{to_docname}.html"


def this_build(app: Sphinx) -> str:
    return app.config.course_build or app.config.language or "en"


def _config_inited(app: Sphinx, config) -> None:
    build = config.course_build or config.language or "en"
    if build == "root":
        config.html_title = " · ".join(TEXTS[lang]["title"] for lang in TEXTS)
        return
    texts = TEXTS.get(build)
    if texts is None or config.language != build:
        raise ValueError(f"build {build!r} with language {config.language!r}: "
                         f"_ext/site_language.py knows the languages {sorted(TEXTS)}")
    config.html_title = texts["title"]
    config.author = texts["author"]
    options = dict(config.html_theme_options or {})
    options["search_bar_text"] = texts["search"]
    end = list(options.get("article_header_end") or ["article-header-buttons.html"])
    if "language-switcher.html" not in end:
        end.insert(0, "language-switcher.html")
    options["article_header_end"] = end
    config.html_theme_options = options
    config.templates_path = [str(TEMPLATES_DIR), *config.templates_path]
    config.html_static_path = [*config.html_static_path, str(STATIC_DIR)]
    app.add_css_file("course-site.css")


def catalogs_first(app: Sphinx) -> None:
    """Put the course's catalogs (``_ext/locale/<language>/LC_MESSAGES/<domain>.po``) before the theme's.

    Sphinx keeps one translator per catalog and consults a catalog registered later only for the
    strings the first one lacks; the theme registers its catalog when it is loaded, before this
    extension. The ``.po`` files are compiled in memory (Babel, which Sphinx uses itself).
    """
    import gettext
    import io

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from sphinx import locale

    language = app.config.language or "en"
    for po in sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po")):
        if po.stem == "sphinx":
            continue  # Sphinx's own catalog: read first through ``locale_dirs`` (_ext/build_site.py)
        with po.open("rb") as f:
            catalog = read_po(f, locale=language)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        ours = gettext.GNUTranslations(buffer)
        key = ("general", po.stem)
        theirs = locale.translators.get(key)
        if theirs is not None:
            ours.add_fallback(theirs)
        locale.translators[key] = ours


def _page_context(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    build = this_build(app)
    if build == "root":
        return
    other = other_language(build)
    url = url_between_builds(pagename, build, twin_docname(pagename, build), other)
    context["course_language_switch"] = {"url": url, "lang": other, "label": TEXTS[other]["name"],
                                         "title": TEXTS[build]["switch"]}
    context["metatags"] = context.get("metatags", "") + f'\n<link rel="alternate" hreflang="{other}" href="{url}" />'


def _missing_reference(app: Sphinx, env, node, contnode):
    """A link from the prose to a page of another build: its URL in that build."""
    target = node.get("reftarget", "")
    if not target or "://" in target:
        return None
    path, _, fragment = target.partition("#")
    stem, suffix = posixpath.splitext(path)
    if suffix not in ("", ".md", ".ipynb") or not stem:
        return None
    refdoc = node.get("refdoc") or ""
    if node.get("reftype") == "doc" and stem.startswith("/"):
        docname = stem.lstrip("/")
    else:
        docname = posixpath.normpath(posixpath.join(posixpath.dirname(refdoc), stem))
    build, to_build = this_build(app), build_of(docname)
    if to_build == build or not _is_page(app, docname):
        return None
    uri = url_between_builds(refdoc, build, docname, to_build) + (f"#{fragment}" if fragment else "")
    reference = nodes.reference("", "", internal=False, refuri=uri)
    reference += contnode
    return reference


class OtherBuildLinks(SphinxPostTransform):
    """MyST's links to a page of another build (``[Español](../es/mdn.ipynb)``): that page's URL there.

    MyST resolves its own document links (``reftype="myst"``, before Sphinx's resolver, which would emit
    ``missing-reference``) and warns about a page that is not in this build; this runs first.
    """

    default_priority = 8  # before MyST's resolver (9)

    def run(self, **kwargs) -> None:
        build = this_build(self.app)
        for node in list(self.document.findall(addnodes.pending_xref)):
            if node.get("reftype") != "myst" or node.get("refdomain") != "doc":
                continue
            docname = node["reftarget"]
            to_build = build_of(docname)
            if to_build == build or docname in self.env.all_docs or not _is_page(self.app, docname):
                continue
            fragment = node.get("reftargetid")
            uri = url_between_builds(node.get("refdoc", self.env.docname), build, docname, to_build)
            reference = nodes.reference("", "", internal=False, refuri=uri + (f"#{fragment}" if fragment else ""))
            reference += node[0].deepcopy() if len(node) else nodes.Text(docname)
            node.replace_self(reference)


def _is_page(app: Sphinx, docname: str) -> bool:
    """``docname`` is a page of the project (a notebook or a markdown file)."""
    return any((Path(app.srcdir) / (docname + suffix)).exists() for suffix in (".md", ".ipynb"))


def setup(app: Sphinx) -> dict:
    app.add_post_transform(OtherBuildLinks)
    # _ext/build_site.py: "en", "es" (language builds) or "root" (the landing page); default: the language.
    app.add_config_value("course_build", "", "html", [str])
    app.connect("config-inited", _config_inited)
    app.connect("builder-inited", catalogs_first)
    app.connect("html-page-context", _page_context)
    app.connect("missing-reference", _missing_reference)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
