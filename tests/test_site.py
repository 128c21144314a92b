"""The website builds, in quick mode, with Sphinx warnings treated as errors.

The build executes every notebook listed in ``_toc.yml`` (exercises are shown
without execution) into ``_build/quick``; its execution cache is separate from
the full-budget build of ``make book``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared import links

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "_build" / "quick"
HTML = OUT / "_build" / "html"


@pytest.fixture(scope="module")
def site() -> Path:
    jb = Path(sys.executable).with_name("jupyter-book")
    env = dict(os.environ, COURSE_QUICK="1", TQDM_DISABLE="1", PYTHONPATH=str(ROOT))
    env.pop("MPLBACKEND", None)  # notebooks must use the inline backend to store figures
    result = subprocess.run([str(jb), "build", str(ROOT), "--path-output", str(OUT), "-W", "-n", "--keep-going"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=3000)
    assert result.returncode == 0, (result.stdout[-6000:] + result.stderr[-6000:])
    return HTML


def page(site: Path, rel_notebook: str) -> str:
    return (site / rel_notebook.replace(".ipynb", ".html")).read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_notebook_has_a_page(site, lang):
    for rel in links.notebook_paths(str(ROOT)):
        if rel.split("/")[1] == lang:
            assert (site / rel.replace(".ipynb", ".html")).exists(), f"no page for {rel}"
    assert (site / "index.html").exists()


def test_executed_pages_show_figures_and_exercises_are_not_executed(site):
    for rel in ["book/en/mdn.ipynb", "book/es/mdn.ipynb", "solutions/en/mdn.ipynb"]:
        html = page(site, rel)
        minimum = 10 if rel.startswith("book") else 2
        assert html.count('src="../../_images/') >= minimum, \
            f"{rel}: figures missing (was the notebook executed with an inline backend?)"
        assert "Traceback" not in html, f"{rel}: an error was rendered into the page"
    exercise = page(site, "exercises/en/mdn.ipynb")
    assert "NotImplementedError" in exercise and "Traceback" not in exercise


def test_pages_link_their_language_twin_and_colab(site):
    url, branch = links.repository(str(ROOT))
    for rel in ["book/en/mdn.ipynb", "book/es/mdn.ipynb"]:
        html = page(site, rel)
        twin = links.twin_path(rel)
        assert f'href="../{twin.split("/")[1]}/mdn.html"' in html, f"{rel}: no link to its twin page"
        slug = url.split("github.com/", 1)[1]
        # the badge of the first cell and the theme's launch button
        assert html.count(f"colab.research.google.com/github/{slug}/blob/{branch}/{rel}") >= 2, \
            f"{rel}: the launch button or the badge does not open this notebook in Colab"


def test_spanish_page_is_in_spanish(site):
    es = page(site, "book/es/mdn.ipynb")
    assert "Redes de densidad de mezcla" in es and "verosimilitud" in es
