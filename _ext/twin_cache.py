"""Language twins share one execution in the jupyter-cache.

The English and Spanish notebooks of a chapter have byte-identical code cells,
but their cells' metadata differ: each figure's alt text
(``mystnb.image.alt``) is written in the page's language. jupyter-cache 1.0
hashes *all* cell metadata, so every twin was executed (and every model
trained) twice per build, and a cache hit would copy the other language's
metadata onto the page.

This extension changes two defaults of :class:`jupyter_cache.cache.main.JupyterCacheBase`
for the build:

* the hash covers the code and only the cell metadata that can change an
  execution (:data:`HASHED_CELL_METADATA`, the cell tags), so twins match;
* a notebook merged from the cache keeps its *own* cell metadata (alt text in
  its language) and takes only the outputs from the cached execution.
"""

from __future__ import annotations

from jupyter_cache.cache.main import JupyterCacheBase

#: Cell metadata keys that take part in the execution hash.
HASHED_CELL_METADATA = ("tags",)

_create_hashed_notebook = JupyterCacheBase.create_hashed_notebook
_merge_match_into_notebook = JupyterCacheBase.merge_match_into_notebook


def create_hashed_notebook(self, nb, nb_metadata=("kernelspec",), cell_metadata=HASHED_CELL_METADATA):
    """``JupyterCacheBase.create_hashed_notebook`` hashing only :data:`HASHED_CELL_METADATA`."""
    return _create_hashed_notebook(self, nb, nb_metadata, cell_metadata)


def merge_match_into_notebook(self, nb, nb_meta=("kernelspec", "language_info", "widgets"), cell_meta=()):
    """``JupyterCacheBase.merge_match_into_notebook`` keeping the input cells' own metadata."""
    return _merge_match_into_notebook(self, nb, nb_meta, cell_meta)


def execution_key(nb) -> str:
    """The hash under which the build's cache keeps ``nb``'s execution (what a cache hit must match).

    The base method uses no state of its cache, so no cache is opened here.
    """
    return _create_hashed_notebook(None, nb, ("kernelspec",), HASHED_CELL_METADATA)[1]


def install() -> None:
    """Apply both defaults (idempotent)."""
    JupyterCacheBase.create_hashed_notebook = create_hashed_notebook
    JupyterCacheBase.merge_match_into_notebook = merge_match_into_notebook


def setup(app):
    install()
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
