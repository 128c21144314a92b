"""Read (and so execute) the pages in the order of the table of contents.

Sphinx reads the changed pages in alphabetical order, and MyST-NB executes a
notebook when its page is read. Alphabetically, ``book/en/gan`` comes before
``book/en/vae``, but the GAN chapter reuses the VAE chapter's trained model
(``shared.vae.pretrained_vae``, saved by the VAE chapter): on a fresh build the
GAN chapter trained its own copy first, and the VAE chapter then trained it a
second time. Reading the pages in the book's order (``_toc.yml``) trains it
once, and a failing build stops in the same order a reader would go.
"""

from __future__ import annotations

from sphinx_external_toc.api import SiteMap


def toc_order(site_map: SiteMap) -> list[str]:
    """Document names of the site map, depth first, in the order of ``_toc.yml``.

    Parameters
    ----------
    site_map : SiteMap
        The parsed ``_toc.yml`` (``app.env.external_site_map``).

    Returns
    -------
    list of str
        Every document name reachable from the root, each once, root first.
    """
    order: list[str] = []

    def visit(docname: str) -> None:
        if docname in order:
            return
        order.append(docname)
        if docname not in site_map:
            return
        for subtree in site_map[docname].subtrees:
            for child in subtree.files():
                visit(child)

    visit(site_map.root.docname)
    return order


def sort_in_book_order(docnames: list[str], site_map: SiteMap) -> None:
    """Reorder ``docnames`` in place: pages of the ToC in its order, any others after, alphabetically."""
    rank = {name: i for i, name in enumerate(toc_order(site_map))}
    docnames.sort(key=lambda name: (rank.get(name, len(rank)), name))


def _before_read_docs(app, env, docnames: list[str]) -> None:
    site_map = getattr(env, "external_site_map", None)
    if site_map is not None:
        sort_in_book_order(docnames, site_map)


def setup(app):
    app.connect("env-before-read-docs", _before_read_docs)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
