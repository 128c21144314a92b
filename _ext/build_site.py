"""Build the website: one Sphinx build per language, and the landing page.

``make book`` (full budgets) and the tests' quick build (``--quick``) run this
script. It reads the one table of contents, ``_toc.yml`` (root: the bilingual
landing page ``index.md``; one part per language), and runs three Sphinx
builds with Jupyter Book 1's configuration (``_config.yml``) into
``<out>/_build/html``::

    index.html          the landing page (build "root": index.md alone)
    en/book/en/...      the English pages, language = "en"
    es/book/es/...      the Spanish pages, language = "es"

Each language build has its own search index (stemmed in its language) and
the theme's interface in its language; ``_ext/site_language.py`` adds the
header's language switcher and resolves links between the builds. ``jupyter-book
build`` cannot pass a language to Sphinx, so each build calls Jupyter Book's
``build_sphinx`` with the per-build overrides (a table of contents of its own
pages, ``language``, its doctrees) in a process of its own.

The builds share one execution cache (``<out>/_build/.jupyter_cache``): the
English build executes the English notebooks, and the Spanish chapters, whose
code cells are the same, are served from it (``_ext/twin_cache.py``). The build
report (``<out>/_build/build-report.json``, ``_ext/build_report.py``) covers
both builds and is printed at the end.

Usage (from the repository root; ``make book`` and ``make book-quick`` call it)::

    python _ext/build_site.py [--quick] [--out DIR] [--strict]

The graded projects' solution notebooks are not executed: the full build shows
the executions ``make stored-executions`` stored (``_ext/stored_executions.py``; it stops
if one is missing or its notebook's code changed), and ``--quick`` shows them
without outputs (the end-to-end tests of the projects execute them).

``--quick`` uses the quick training budgets (``COURSE_QUICK=1``);
``--strict`` turns Sphinx warnings into errors (``-W -n --keep-going``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
#: The builds, in order: the languages (English first: the Spanish chapters reuse its executions), then the root.
BUILDS = ("en", "es", "root")
#: Not executed by the quick build (``--quick``): the graded projects' solutions (the end-to-end tests run them).
QUICK_NOT_EXECUTED = ["solutions/*/*-project.ipynb"]


def toc_for(toc: dict, build: str) -> dict:
    """The table of contents of one build, from the book's ``_toc.yml``.

    ``root``: the landing page alone. A language: its part's first page as the
    root, the rest of its pages as the part's chapters.
    """
    if build == "root":
        return {"format": toc["format"], "root": toc["root"]}
    parts = [part for part in toc["parts"]
             if part["chapters"] and part["chapters"][0]["file"].split("/")[1:2] == [build]]
    if len(parts) != 1:
        raise ValueError(f"_toc.yml: expected one part whose pages are under */{build}/, found {len(parts)}")
    first, *rest = parts[0]["chapters"]
    return {"format": toc["format"], "root": first["file"],
            "parts": [{"caption": parts[0]["caption"], "numbered": parts[0].get("numbered", False),
                       "chapters": rest}]}


def overrides(build: str, out: Path, quick: bool, strict: bool) -> dict:
    """The Sphinx configuration values of one build, on top of ``_config.yml``."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    toc_path = out / "_build" / "toc" / f"{build}.yml"
    toc_path.parent.mkdir(parents=True, exist_ok=True)
    toc_path.write_text(yaml.safe_dump(toc_for(toc, build), sort_keys=False, allow_unicode=True), encoding="utf-8")
    values = {
        "external_toc_path": toc_path.as_posix(),
        "latex_individualpages": False,
        "language": "en" if build == "root" else build,
        "course_build": build,
        "nb_execution_cache_path": str(out / "_build" / ".jupyter_cache"),
        "course_build_report": str(out / "_build" / "build-report.json"),
        # Sphinx reads the interface catalog "sphinx" of these folders before its own (and compiles it);
        # _ext/site_language.py puts the themes' catalogs there first too.
        "locale_dirs": [str(ROOT / "_ext" / "locale")],
    }
    if quick:
        values["nb_execution_excludepatterns"] = list(config["execute"]["exclude_patterns"]) + QUICK_NOT_EXECUTED
    if strict:
        values["nitpicky"] = True
    return values


def html_dir(out: Path, build: str) -> Path:
    """Where a build writes its pages."""
    html = out / "_build" / "html"
    return html if build == "root" else html / build


def build_one(build: str, out: Path, quick: bool, strict: bool) -> int:
    """One Sphinx build, in this process (``--one``)."""
    from jupyter_book.sphinx import build_sphinx

    result = build_sphinx(ROOT, html_dir(out, build), noconfig=True, path_config=str(ROOT / "_config.yml"),
                          confoverrides=overrides(build, out, quick, strict),
                          doctreedir=out / "_build" / ".doctrees" / build,
                          warningiserror=strict, keep_going=strict)
    if isinstance(result, Exception):
        return 1
    return int(result or 0)


def run_quietly(command: list[str]) -> int:
    """Run ``command``, passing its stderr through except TensorFlow's start-up lines (counted at the end)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from shared.setup import is_startup_noise, nvidia_driver_present  # the notebooks' kernels use the same filter

    gpu_machine = nvidia_driver_present()
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True, errors="replace")
    hidden = 0
    for line in process.stderr:
        if is_startup_noise(line, gpu_machine):
            hidden += 1
        else:
            sys.stderr.write(line)
            sys.stderr.flush()
    code = process.wait()
    if hidden:
        print(f"({hidden} lines of TensorFlow's start-up messages about CUDA and CPU instructions not shown)",
              flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT, help="folder that receives _build/ (default: the repository)")
    parser.add_argument("--quick", action="store_true", help="quick budgets; project solutions not executed")
    parser.add_argument("--strict", action="store_true", help="Sphinx warnings are errors (-W -n --keep-going)")
    parser.add_argument("--one", choices=BUILDS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    out = args.out.resolve()
    os.environ["COURSE_QUICK"] = "1" if args.quick else "0"
    # a chapter's long runs are loaded from long_runs/: a build never trains one by surprise (shared.long_runs)
    os.environ.setdefault("COURSE_LONG_RUNS", "require")
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    if args.one:
        return build_one(args.one, out, args.quick, args.strict)

    started = time.time()
    if not args.quick:
        # the graded projects' solutions: their pages show the executions `make stored-executions` stored
        code = prime_stored_executions(out)
        if code:
            return code
    report_path = out / "_build" / "build-report.json"
    executed = 0.0
    for build in BUILDS:
        print(f"\n=== Building the {build!r} pages into {html_dir(out, build)}", flush=True)
        command = [sys.executable, __file__, "--one", build, "--out", str(out)]
        command += ["--quick"] * args.quick + ["--strict"] * args.strict
        code = run_quietly(command)
        if code:
            print(f"\nThe {build!r} build failed (exit code {code}): look above for the cause.", file=sys.stderr)
            return code
        if report_path.exists():
            executed += json.loads(report_path.read_text(encoding="utf-8")).get("executed_seconds", 0.0)
    (out / "_build" / "html" / ".nojekyll").write_text("")   # GitHub Pages: serve _static/ as is
    if report_path.exists():
        sys.path.insert(0, str(ROOT / "_ext"))
        import build_report

        report = json.loads(report_path.read_text(encoding="utf-8"))
        report.update(wall_seconds=round(time.time() - started, 1), executed_seconds=round(executed, 1))
        report_path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print("\n" + build_report.summary(report) + f"\nWritten to {report_path}")
    print(f"\nThe website is in {out / '_build' / 'html'} (open index.html).")
    code = report_claims(out, quick=args.quick)
    if not args.quick and report_path.exists():
        code = max(code, report_timings(report_path))
    return code


def prime_stored_executions(out: Path) -> int:
    """Put the stored executions of the projects' solutions into the build's cache (``_ext/stored_executions.py``).

    Returns 1, with the reason and the command that fixes it, when one is missing or stale.
    """
    if str(ROOT / "_ext") not in sys.path:
        sys.path.insert(0, str(ROOT / "_ext"))
    import stored_executions

    try:
        stored_executions.check()
    except stored_executions.StoredExecutionError as err:
        print(f"\n{err}", file=sys.stderr)
        return 1
    primed = stored_executions.prime(out / "_build" / ".jupyter_cache")
    print(f"Stored executions in the cache ({len(primed)}): {', '.join(primed)}", flush=True)
    return 0


def report_timings(report_path: Path) -> int:
    """The full build fails (exit 1) when a notebook took more than 25 % over the estimate its setup cell states."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from shared import timings

    return timings.main(["check", str(report_path)])


def executed_chapters(out: Path) -> dict[str, list]:
    """The cells of every book chapter as its page shows them: the source with the outputs of its execution.

    Read from the build's execution cache, like the pages (``_ext/twin_cache.py``): myst-nb's
    ``jupyter_execute/`` copy of a notebook served from the cache (a Spanish twin, or any page of a
    build with nothing to execute again) has no outputs.
    """
    import nbformat
    from jupyter_cache import get_cache

    if str(ROOT / "_ext") not in sys.path:
        sys.path.insert(0, str(ROOT / "_ext"))
    import twin_cache

    twin_cache.install()
    cache = get_cache(out / "_build" / ".jupyter_cache")
    chapters = {}
    for path in sorted(ROOT.glob("book/*/*.ipynb")):
        try:
            _, merged = cache.merge_match_into_notebook(nbformat.read(path, as_version=4))
        except KeyError:
            raise RuntimeError(f"{path.relative_to(ROOT)} has no execution in {cache.path}: was it built?") from None
        chapters[path.relative_to(ROOT).as_posix()] = merged.cells
    return chapters


def report_claims(out: Path, quick: bool) -> int:
    """Print every claim of the executed chapters (``shared.claims``) and write them to ``_build/claims.txt``.

    The full build fails (exit 1) when a claim does not hold; the quick build only reports
    (tests/test_site.py checks its claims and names the failures).
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from shared import claims

    lines, _, failed = claims.summarize(executed_chapters(out))
    (out / "_build" / "claims.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n" + "\n".join(lines) + f"\nWritten to {out / '_build' / 'claims.txt'}")
    if failed and not quick:
        print(f"\n{failed} claims of the prose do not hold on this build's outputs (above): "
              "rewrite them or the cells that show their values.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
