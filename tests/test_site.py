"""The website builds, in quick mode, with Sphinx warnings treated as errors.

The build (``_ext/build_site.py --quick``: one Sphinx build per language, and
the landing page) executes the notebooks listed in ``_toc.yml`` into
``_build/quick`` (exercises are shown without execution, and the graded
projects' solutions, which their end-to-end tests execute, too); its execution
cache is separate from the full-budget build of ``make book``. A page
``book/es/mdn.html`` of the table of contents is at ``es/book/es/mdn.html`` in
the site (:func:`site_path`).

The built pages are then checked statically (language, offline MathJax, no
broken internal link) and in a real browser (Debian's ``chromium`` and
``chromedriver``, headless, driven by Selenium; skipped if they are missing).
All these tests live in this file so that they run in the same pytest-xdist
worker as the build (``--dist loadfile``).
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import re
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from pathlib import Path

import pytest
import yaml

from shared import checks, claims, links

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))
import build_site  # noqa: E402
import site_language  # noqa: E402

# The `site` fixture (the quick build, once per session) is in tests/conftest.py.


def site_path(rel_html: str) -> str:
    """Where a page of the table of contents is in the site: under its build's folder (``es/book/es/mdn.html``)."""
    build = site_language.build_of(rel_html)
    return rel_html if build == "root" else f"{build}/{rel_html}"


def page(site: Path, rel_source: str) -> str:
    """The built page of a source (``book/es/mdn.ipynb``, ``book/en/intro.md``)."""
    return (site / site_path(rel_source.rsplit(".", 1)[0] + ".html")).read_text(encoding="utf-8")


def twin_url(rel: str) -> str:
    """The relative URL, from the page of ``rel`` (``book/en/mdn.ipynb``), of its twin in the other build."""
    doc = rel.rsplit(".", 1)[0]
    build = site_language.build_of(doc)
    return site_language.url_between_builds(doc, build, site_language.twin_docname(doc, build),
                                            site_language.other_language(build))


@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_notebook_has_a_page(site, lang):
    for rel in links.notebook_paths(str(ROOT)):
        if rel.split("/")[1] == lang:
            assert (site / site_path(rel.replace(".ipynb", ".html"))).exists(), f"no page for {rel}"
    assert (site / "index.html").exists()
    assert (site / lang / "search.html").exists() and (site / lang / "searchindex.js").exists(), \
        f"the {lang} build has no search page of its own"


CHAPTERS = ["mdn", "vae", "gan"]
#: Words a Spanish chapter page must contain (it is really in Spanish, not a copy of the English one).
SPANISH_WORDS = {"mdn": ["Redes de densidad de mezcla", "verosimilitud"],
                 "vae": ["codificador", "verosimilitud"],
                 "gan": ["discriminador", "generador"]}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_executed_pages_show_figures_and_exercises_are_not_executed(site, chapter):
    questions = len(checks.questions_for(chapter))
    for rel in [f"book/en/{chapter}.ipynb", f"book/es/{chapter}.ipynb", f"solutions/en/{chapter}.ipynb"]:
        html = page(site, rel)
        minimum = 10 if rel.startswith("book") else 1
        assert html.count('src="../../_images/') >= minimum, \
            f"{rel}: figures missing (was the notebook executed with an inline backend?)"
        assert "Traceback" not in html, f"{rel}: an error was rendered into the page"
        assert "site-packages" not in html, f"{rel}: a library warning (with a local path) reached the page"
    for lang in ("en", "es"):
        solution = page(site, f"solutions/{lang}/{chapter}.ipynb")
        assert solution.count("✅") >= questions and "❌" not in solution, \
            f"solutions/{lang}/{chapter}: every check should pass"
        exercise = page(site, f"exercises/{lang}/{chapter}.ipynb")
        assert "NotImplementedError" in exercise, "the exercise page should show the placeholders"
        assert "❌" not in exercise and "Traceback" not in exercise, \
            f"exercises/{lang}/{chapter} was executed: exercises must be shown without outputs"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_pages_link_their_language_twin_and_colab(site, chapter):
    url, branch = links.repository(str(ROOT))
    for rel in [f"book/en/{chapter}.ipynb", f"book/es/{chapter}.ipynb"]:
        html = page(site, rel)
        assert f'href="{twin_url(rel)}"' in html, f"{rel}: no link to its twin page in the other build"
        slug = url.split("github.com/", 1)[1]
        # the badge of the first cell and the theme's launch button
        assert html.count(f"colab.research.google.com/github/{slug}/blob/{branch}/{rel}") >= 2, \
            f"{rel}: the launch button or the badge does not open this notebook in Colab"


@functools.lru_cache(maxsize=1)
def _executed_chapters(site: Path) -> dict[str, list]:
    return build_site.executed_chapters(site.parent.parent)


@pytest.mark.parametrize("rel", [f"book/{lang}/{c}.ipynb" for c in CHAPTERS for lang in ("en", "es")])
def test_the_chapters_claims_hold_on_the_quick_build(site, rel):
    """Every claim of the prose that the quick budgets support holds on the values its cells showed
    (shared.claims; the full build, make book, checks the claim[full] ones too)."""
    found = claims.check_notebook(_executed_chapters(site)[rel])
    assert found, f"{rel}: the chapter makes no checked claim"
    assert all(c.holds is None for c in found if c.full_only), f"{rel} did not run at quick budgets"
    failing = [c.describe(rel) for c in found if c.holds is False]
    assert not failing, "claims that the outputs do not support:\n" + "\n".join(failing)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_spanish_page_is_in_spanish(site, chapter):
    es = page(site, f"book/es/{chapter}.ipynb")
    for word in SPANISH_WORDS[chapter]:
        assert word in es, f"book/es/{chapter}: {word!r} not found"


# ---------------------------------------------------------------------------
# Pages of the site, language and offline MathJax
# ---------------------------------------------------------------------------

FIGURE_RE = re.compile(r'<img[^>]*src="[^"]*_images/[^"]*"[^>]*>')
ALT_RE = re.compile(r'alt="([^"]*)"')


@pytest.mark.parametrize("rel", [f"{d}/en/{c}.ipynb" for c in CHAPTERS for d in ("book", "solutions")])
def test_every_figure_has_alt_text_in_the_page_language(site, rel):
    alts = {}
    for r in (rel, links.twin_path(rel)):
        figures = FIGURE_RE.findall(page(site, r))
        assert figures, f"{r}: no figures"
        alts[r] = [(ALT_RE.search(img) or [None, ""])[1] for img in figures]
        for alt in alts[r]:
            assert len(alt) > 20 and "_images" not in alt and not alt.endswith(".png"), \
                f"{r}: figure without a real alt text ({alt!r}): set mystnb.image.alt in the cell metadata"
    en, es = alts[rel], alts[links.twin_path(rel)]
    assert len(en) == len(es) and all(a != b for a, b in zip(en, es)), \
        "the Spanish page must describe its figures in Spanish"


def toc_pages() -> list[str]:
    """Every page of ``_toc.yml`` as a path relative to the HTML folder, root first."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]] + [ch["file"] for part in toc["parts"] for ch in part["chapters"]]
    return [f + ".html" for f in files]


def test_build_report_times_every_executed_notebook_and_its_cells(site):
    """_ext/build_report.py: each executed notebook has its seconds and per-cell seconds;
    a Spanish chapter shares its English twin's execution (served from the cache; solution
    twins differ in their `set_language` cell, so both run)."""
    import fnmatch
    import json
    report = json.loads((site.parent / "build-report.json").read_text(encoding="utf-8"))
    executed = [f[:-len(".html")] + ".ipynb" for f in toc_pages()
                if (ROOT / (f[:-len(".html")] + ".ipynb")).exists() and not f.startswith("exercises/")]
    not_executed = [rel for rel in executed if any(fnmatch.fnmatch(rel, p) for p in build_site.QUICK_NOT_EXECUTED)]
    assert not_executed and all(rel not in report["notebooks"] for rel in not_executed), \
        "the quick build leaves the projects' solutions to their end-to-end tests"
    executed = [rel for rel in executed if rel not in not_executed]
    assert executed, "the book has executed notebooks"
    for rel in executed:
        entry = report["notebooks"].get(rel)
        assert entry is not None, f"{rel}: not in the build report"
        assert not entry.get("failed"), f"{rel}: its execution failed"
        codes = [i for i, c in enumerate(json.loads((ROOT / rel).read_text())["cells"]) if c["cell_type"] == "code"]
        assert [c["index"] for c in entry["cells"]] == codes, f"{rel}: every code cell is timed"
        assert all(c["seconds"] >= 0 for c in entry["cells"])
        if entry["source"] == "executed":
            assert 0 < entry["cells_seconds"] <= entry["seconds"] + 1, f"{rel}: cells add up to the notebook"
    sources = {rel: report["notebooks"][rel]["source"] for rel in executed}
    for rel in executed:
        if rel.startswith("book/es/") and links.twin_path(rel) in sources:
            assert sources[rel] == "cache", f"{rel}: its twin's execution is shared, not repeated"
    assert report["wall_seconds"] > 0


def page_lang(rel_html: str) -> str:
    """Language a page must declare: its build's (the landing page, bilingual, says ``en``)."""
    build = site_language.build_of(rel_html)
    return "en" if build == "root" else build


def test_every_page_declares_its_language(site):
    for rel in toc_pages():
        text = (site / site_path(rel)).read_text(encoding="utf-8")
        m = re.search(r"<html[^>]*\slang=\"([^\"]+)\"", text)
        assert m, f"{rel}: no <html lang>"
        assert m.group(1) == page_lang(rel), f"{rel}: lang={m.group(1)!r}, expected {page_lang(rel)!r}"


@pytest.mark.parametrize("lang", ["en", "es"])
def test_intro_links_the_guides(site, lang):
    intro = page(site, f"book/{lang}/intro.md")
    for guide in ["student-guide", "teacher-guide"]:
        assert f'href="{guide}.html"' in intro, f"book/{lang}/intro: no link to the {guide}"
        text = page(site, f"book/{lang}/{guide}.md")
        assert f'href="{twin_url(f"book/{lang}/{guide}.md")}"' in text, f"book/{lang}/{guide}: no link to its twin"


def test_mathjax_is_served_by_the_site(site):
    for build in ("en", "es"):
        assert (site / build / "_static" / "mathjax" / "tex-chtml.js").is_file(), \
            f"MathJax was not copied into {build}/_static/"
    for rel in toc_pages():
        text = (site / site_path(rel)).read_text(encoding="utf-8")
        scripts = [src for src in _urls(text) if "mathjax" in src.lower()]
        for src in scripts:
            assert "://" not in src and not src.startswith("//"), f"{rel}: MathJax loaded from {src}"
            assert "_static/mathjax/" in src, f"{rel}: unexpected MathJax path {src}"
        if 'class="math' in text:
            assert scripts, f"{rel}: has math but no MathJax script"


# ---------------------------------------------------------------------------
# Internal links (no browser)
# ---------------------------------------------------------------------------

class _Collector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name in ("href", "src"):
                self.urls.append(value)
            elif name == "id" or (name == "name" and tag == "a"):
                self.ids.add(value)


@functools.lru_cache(maxsize=None)
def _parse(path: Path) -> _Collector:
    collector = _Collector()
    collector.feed(path.read_text(encoding="utf-8", errors="replace"))
    return collector


def _urls(text: str) -> list[str]:
    collector = _Collector()
    collector.feed(text)
    return collector.urls


def test_no_broken_internal_links(site):
    """Every relative ``href``/``src`` of every built page names an existing file and,
    for a ``#fragment`` into another page, an existing id of that page."""
    broken = []
    # Every page of every build (the theme's template snippets copied into _static/ are not pages).
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)
    for page_path in pages:
        for url in _parse(page_path).urls:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme or parts.netloc or url.startswith("#") or not parts.path:
                continue  # external, protocol-relative, or within the same page
            target = (page_path.parent / urllib.parse.unquote(parts.path)).resolve()
            if parts.path.endswith("/"):
                target = target / "index.html"
            rel = page_path.relative_to(site)
            if not target.exists():
                broken.append(f"{rel}: {url} (no such file)")
            elif parts.fragment and target.suffix == ".html" and target != page_path.resolve():
                if urllib.parse.unquote(parts.fragment) not in _parse(target).ids:
                    broken.append(f"{rel}: {url} (no id #{parts.fragment} in the target)")
    assert len(pages) >= len(toc_pages())
    assert not broken, "broken internal links:\n  " + "\n  ".join(sorted(set(broken)))


# ---------------------------------------------------------------------------
# In a browser
# ---------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = ROOT / "_build" / "screenshots"


@pytest.fixture(scope="module")
def server(site):
    """``http://127.0.0.1:PORT/`` serving the built site, from a thread."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(f"browser tests need {CHROMIUM} and {CHROMEDRIVER} "
                    "(Debian: apt-get install chromium chromium-driver; .ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.TemporaryDirectory(prefix="course-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,1400", f"--user-data-dir={profile.name}",
                # Hermetic: every host but the local server fails at once, online or not.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        profile.cleanup()


def _console_errors(driver, base: str) -> list[str]:
    """SEVERE console messages, except failed requests to external hosts.

    Rule: a SEVERE entry of source ``network`` whose URL does not start with the
    local server's address is ignored (external hosts are made unreachable on
    purpose: the Colab badge image, the CDN scripts of ipywidgets/require.js that
    the notebook theme adds), and so is the 404 of ``/favicon.ico``, which the
    browser requests on its own (the site declares no favicon). Every other
    SEVERE entry fails the test: any JavaScript exception or ``console.error``,
    and any failed request to the site itself.
    """
    errors = []
    for entry in driver.get_log("browser"):
        if entry["level"] != "SEVERE":
            continue
        if entry.get("source") == "network" and (not entry["message"].startswith(base)
                                                 or entry["message"].startswith(base + "favicon.ico ")):
            continue
        errors.append(entry["message"])
    return errors


_WAIT_MATHJAX = """
const done = arguments[arguments.length - 1];
if (!window.MathJax || !MathJax.startup || !MathJax.startup.promise) { done("no MathJax"); return; }
MathJax.startup.promise.then(() => done("ok"), (e) => done("MathJax failed: " + e));
"""

_CHECK_IMAGES = """
const done = arguments[arguments.length - 1];
const base = arguments[0];
const local = [...document.images].filter((img) => img.currentSrc.startsWith(base) || img.src.startsWith(base));
Promise.all(local.map((img) => { img.loading = "eager"; return img.decode().then(() => null, () => null); }))
  .then(() => done(local.filter((img) => !(img.complete && img.naturalWidth > 0)).map((img) => img.src)));
"""

_MATH = """
const nodes = [...document.querySelectorAll("span.math, div.math")];
return {math: nodes.length,
        untypeset: nodes.filter((n) => !n.querySelector("mjx-container")).map((n) => n.textContent.slice(0, 60)),
        containers: document.querySelectorAll("mjx-container").length,
        errors: [...document.querySelectorAll("mjx-merror")].map((n) => n.textContent.slice(0, 60))};
"""


@functools.lru_cache(maxsize=1)
def _tracked_files() -> frozenset[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return frozenset(out.splitlines())


@pytest.mark.parametrize("rel", toc_pages())
def test_page_in_browser(site, server, browser, rel):
    """One page in Chromium: no console error, images loaded, math typeset, language
    link to the twin page, Colab launch URLs naming notebooks tracked by git."""
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(server + site_path(rel))
    assert browser.current_url == server + site_path(rel)
    assert browser.execute_script("return document.documentElement.lang") == page_lang(rel)

    problems = []
    math = browser.execute_script(_MATH)
    if math["math"]:
        state = browser.execute_async_script(_WAIT_MATHJAX)
        if state != "ok":
            problems.append(f"math on the page but {state}")
        math = browser.execute_script(_MATH)
        if math["untypeset"] or not math["containers"]:
            problems.append(f"math not typeset by MathJax: {math['untypeset'][:5]}")
        if math["errors"]:
            problems.append(f"MathJax errors: {math['errors'][:5]}")

    broken_images = browser.execute_async_script(_CHECK_IMAGES, server)
    if broken_images:
        problems.append(f"images not loaded: {broken_images}")

    if rel.startswith("book/"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SCREENSHOTS / (rel[:-len(".html")].replace("/", "-") + ".png")))

    # Colab: every launch URL names a notebook tracked by git; a notebook page opens itself.
    colab = "https://colab.research.google.com/github/"
    hrefs = browser.execute_script(
        "return [...document.querySelectorAll('a[href]')].map((a) => a.href)")
    notebooks = {h.split("/blob/", 1)[1].split("/", 1)[1] for h in hrefs if h.startswith(colab)}
    untracked = sorted(n for n in notebooks if n not in _tracked_files())
    if untracked:
        problems.append(f"Colab URLs name notebooks not tracked by git: {untracked}")
    source = ROOT / rel.replace(".html", ".ipynb")
    if source.exists() and source.relative_to(ROOT).as_posix() not in notebooks:
        problems.append("no Colab launch URL for this notebook")

    problems += [f"console: {m}" for m in _console_errors(browser, server)]
    if page_lang(rel) == "es":
        english = [word for word in ENGLISH_INTERFACE
                   if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", browser.execute_script(_INTERFACE_TEXT))]
        if english:
            problems.append(f"the theme's interface says {english} on a Spanish page")
    assert not problems, f"{rel}:\n  " + "\n  ".join(problems)

    build = site_language.build_of(rel)
    if build != "root":
        _switch_and_back(browser, server, rel)


#: The theme's English interface (buttons, tooltips, labels, navigation) that must not appear on a Spanish page.
ENGLISH_INTERFACE = ["Search this book", "Search", "Contents", "Previous", "Next", "previous page", "next page",
                     "Skip to main content", "Back to top", "On this page", "Toggle primary sidebar",
                     "Toggle secondary sidebar", "Toggle navigation", "Launch", "Launch on", "Download",
                     "Download this page", "Download source file", "Download notebook file", "Print to PDF",
                     "Fullscreen mode", "Source repository", "Edit this page", "By", "The course authors",
                     "Light", "Dark", "System", "Copyright", "Main", "Site navigation", "Theme",
                     "Deep Generative Models", "Index", "Table of Contents"]

#: The page's interface, without the lesson and the language switcher (which names the other language in that
#: language): the visible text outside the article, and the tooltips, labels and placeholders.
_INTERFACE_TEXT = """
const body = document.body.cloneNode(true);
body.querySelectorAll("article, script, style, .course-language-switch").forEach((n) => n.remove());
const attrs = [...document.querySelectorAll("[title], [aria-label], [placeholder], [data-bs-title]")]
  .filter((n) => !n.closest("article") && !n.closest(".course-language-switch"))
  .flatMap((n) => ["title", "aria-label", "placeholder", "data-bs-title"].map((a) => n.getAttribute(a) || ""));
return body.innerText + "\\n" + attrs.join("\\n");
"""


def _switch_and_back(browser, server: str, rel: str) -> None:
    """The header's language switcher leads to the same page in the other language, whose switcher leads back."""
    build = site_language.build_of(rel)
    twin = site_language.twin_docname(rel, build)
    other = site_language.other_language(build)
    for here, there, lang in [(rel, twin, other), (twin, rel, build)]:
        switch = browser.find_elements("css selector", ".bd-header-article a.course-language-switch")
        assert len(switch) == 1 and switch[0].is_displayed(), f"{here}: no language switcher in the header"
        assert switch[0].get_attribute("hreflang") == lang
        browser.get(switch[0].get_attribute("href"))
        assert browser.current_url.split("#")[0] == server + site_path(there), \
            f"{here}: the language switcher leads to {browser.current_url}, not to {there}"
        assert browser.execute_script("return document.documentElement.lang") == page_lang(there)
        assert not _console_errors(browser, server)


@pytest.mark.parametrize("build, query, expected", [
    ("es", "verosimilitud", "book/es/mdn.html"),
    ("es", "decodificadores", "book/es/vae.html"),    # only "decodificador" is written: the stem finds it
    ("es", "entrenaremos", "book/es/"),               # written: "entrenamiento", "entrenar"
    ("en", "responsibilities", "book/en/mdn.html"),
    ("en", "reparameterisation", "book/en/vae.html"),
])
def test_search_finds_pages_of_its_language_by_their_stems(site, server, browser, build, query, expected):
    """Each build's search (Sphinx's client-side index, stemmed in the build's language) returns the chapter
    page of its own language, and a word that is not written anywhere but shares a written word's stem."""
    from selenium.webdriver.support.ui import WebDriverWait

    if query in ("decodificadores", "entrenaremos"):
        sources = [p.read_text(encoding="utf-8") for p in ROOT.glob("*/es/*.*")]
        assert not any(re.search(rf"\b{query}\b", text, re.IGNORECASE) for text in sources), \
            f"{query!r} is written in the Spanish pages: it no longer tests the stemming"
    browser.get(f"{server}{build}/search.html?q={query}")
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "return document.querySelectorAll('#search-results li a').length > 0"))
    found = browser.execute_script(
        "return [...document.querySelectorAll('#search-results li a')].map((a) => a.href)")
    assert any(href.startswith(f"{server}{build}/{expected}") for href in found), f"search for {query!r} found {found}"
    assert all(href.startswith(f"{server}{build}/") for href in found), f"{build} search left its build: {found}"
    assert not _console_errors(browser, server)


def test_language_twins_are_executed_once(site):
    """The Spanish chapter pages come from the English execution in the cache (_ext/twin_cache.py)."""
    import nbformat
    from jupyter_cache import get_cache

    sys.path.insert(0, str(ROOT / "_ext"))
    import twin_cache

    twin_cache.install()  # the build's hashing, in this process
    cache = get_cache(site.parent / ".jupyter_cache")
    for chapter in CHAPTERS:
        es = nbformat.read(ROOT / "book" / "es" / f"{chapter}.ipynb", as_version=4)
        record = cache.match_cache_notebook(es)
        assert Path(record.uri).relative_to(ROOT).as_posix() == f"book/en/{chapter}.ipynb", \
            f"book/es/{chapter} was executed on its own, not taken from its English twin"
