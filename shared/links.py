"""Colab badges, language-twin links and the repository URL of the notebooks.

The repository URL is configured once, in ``_config.yml``
(``repository.url`` and ``repository.branch``). Notebooks need it in two
places that cannot read that file (the Colab badge of the first cell and the
``REPO_URL`` line of the setup cell, which runs before the repository is
cloned), so this module *derives* them:

* ``python -m shared.links``          rewrites badges/URLs in every notebook;
* ``python -m shared.links --check``  exits 1 if any notebook is out of date.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys

import nbformat

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLAB = "https://colab.research.google.com/github"
BADGE_IMG = "https://colab.research.google.com/assets/colab-badge.svg"
NOTEBOOK_DIRS = ("book", "exercises", "solutions")
LANG_NAMES = {"en": "English", "es": "Español"}


def repository(root: str = ROOT) -> tuple[str, str]:
    """Return ``(url, branch)`` from ``_config.yml``."""
    import yaml

    with open(os.path.join(root, "_config.yml"), encoding="utf-8") as f:
        repo = yaml.safe_load(f)["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def colab_url(path: str, root: str = ROOT) -> str:
    """Colab URL of a notebook given by its path relative to the repository root."""
    url, branch = repository(root)
    slug = url.split("github.com/", 1)[1]
    return f"{COLAB}/{slug}/blob/{branch}/{path}"


def twin_path(path: str) -> str:
    """``book/en/x.ipynb`` <-> ``book/es/x.ipynb``."""
    parts = path.split("/")
    parts[1] = {"en": "es", "es": "en"}[parts[1]]
    return "/".join(parts)


def header_line(path: str, root: str = ROOT) -> str:
    """The badge-and-language line placed under the title of every notebook."""
    lang = path.split("/")[1]
    twin = twin_path(path)
    other = LANG_NAMES[twin.split("/")[1]]
    return (f"[![Open In Colab]({BADGE_IMG})]({colab_url(path, root)}) "
            f"· {LANG_NAMES[lang]} · [{other}](../{twin.split('/')[1]}/{os.path.basename(path)}) "
            f"([Colab]({colab_url(twin, root)}))")


_HEADER_RE = re.compile(r"^\[!\[Open In Colab\]\(.*$", re.M)
_REPO_RE = re.compile(r'^(REPO_URL = ")[^"]*(")', re.M)


def updated_notebook(nb: nbformat.NotebookNode, path: str, root: str = ROOT) -> nbformat.NotebookNode:
    """Return ``nb`` with its header line and setup-cell URL derived from the config."""
    url, _ = repository(root)
    first = nb.cells[0]
    if first.cell_type != "markdown" or not _HEADER_RE.search(first.source):
        raise ValueError(f"{path}: the first cell must be markdown with the title and a "
                         f"line starting with '[![Open In Colab]('")
    first.source = _HEADER_RE.sub(lambda _m: header_line(path, root), first.source)
    for cell in nb.cells:
        if cell.cell_type == "code" and _REPO_RE.search(cell.source):
            cell.source = _REPO_RE.sub(lambda m: f"{m.group(1)}{url}{m.group(2)}", cell.source)
    return nb


def notebook_paths(root: str = ROOT) -> list[str]:
    """All notebooks of the course, relative to ``root``."""
    paths = []
    for d in NOTEBOOK_DIRS:
        paths += glob.glob(os.path.join(root, d, "*", "*.ipynb"))
    return sorted(os.path.relpath(p, root).replace(os.sep, "/") for p in paths)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report notebooks out of date")
    args = parser.parse_args(argv)
    stale = []
    for rel in notebook_paths():
        full = os.path.join(ROOT, rel)
        with open(full, encoding="utf-8") as f:
            text = f.read()
        nb = updated_notebook(nbformat.reads(text, as_version=4), rel)
        new = nbformat.writes(nb) + "\n"
        if new != text:
            stale.append(rel)
            if not args.check:
                with open(full, "w", encoding="utf-8") as f:
                    f.write(new)
                print("updated", rel)
    if args.check and stale:
        print("Out of date (run `python -m shared.links`):\n  " + "\n  ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
