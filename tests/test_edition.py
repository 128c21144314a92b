"""The student edition (:mod:`shared.edition`), built into a temporary folder.

It must hold the chapters, the exercises and the website sources, and nothing
that gives the solutions away (solution notebooks, answer key, grader, solution
code); its table of contents and links must resolve; its notebooks must point at
the edition's repository; and its exercise notebooks must run with the edition
alone on the path (one notebook, MDN, in a subprocess).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from shared import edition, links

ROOT = Path(__file__).resolve().parent.parent
EDITION_URL, EDITION_BRANCH = edition.edition_repository(ROOT)
MAIN_URL, _ = links.repository(str(ROOT))

@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The edition, built without the final verification (the tests run it themselves)."""
    out = tmp_path_factory.mktemp("edition") / "student-edition"
    return edition.build(out, ROOT, verify=False)


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def notebooks(folder: Path, top: str) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in (folder / top).glob("*/*.ipynb"))


# ---------------------------------------------------------------------------
# What the edition contains
# ---------------------------------------------------------------------------

def test_edition_has_no_leaks(built):
    assert edition.leaks(built, ROOT) == []


def test_edition_has_no_integrity_problems(built):
    assert edition.integrity_problems(built, ROOT) == []


def test_expected_files_are_there_and_forbidden_ones_are_not(built):
    for rel in ("README.md", "Makefile", ".student-edition", "_config.yml", "_toc.yml", "index.md",
                "requirements.txt", "pyproject.toml", ".gitignore", "_ext/site_language.py", "_ext/build_site.py",
                "book/en/intro.md", "book/es/student-guide.md", "shared/__init__.py", "shared/links.py",
                "shared/setup.py", "shared/checks/core.py", "shared/checks/mdn.py",
                "shared/checks/fixtures/mdn.npz"):
        assert (built / rel).is_file(), rel
    assert notebooks(built, "exercises") == notebooks(ROOT, "exercises")
    assert notebooks(built, "book") == notebooks(ROOT, "book")
    for rel in ("solutions", "tests", "benchmarks", "docs", ".ci", ".git", "shared/key", "shared/grading",
                "shared/exercises.py", "shared/edition.py", "book/en/teacher-guide.md",
                "book/es/teacher-guide.md"):
        assert not (built / rel).exists(), rel
    assert not list(built.rglob("__pycache__"))
    stored_runs = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "long_runs").rglob("*.*"))
    assert stored_runs and sorted(p.relative_to(built).as_posix() for p in (built / "long_runs").rglob("*.*")) \
        == stored_runs, "the chapters load their stored runs from long_runs/: the edition needs them all"
    fixtures = sorted(p.name for p in (ROOT / "shared/checks/fixtures").glob("*.npz"))
    assert sorted(p.name for p in (built / "shared/checks/fixtures").glob("*.npz")) == fixtures
    makefile = (built / "Makefile").read_text()
    assert re.search(r"^book:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "--nbval-lax" in makefile and "COURSE_QUICK=1" in makefile and "exercises" in makefile
    readme = (built / "README.md").read_text()
    assert "pip install -r requirements.txt" in readme and EDITION_URL in readme


def test_toc_lists_existing_pages_only_without_solutions_or_teacher_guides(built):
    toc = yaml.safe_load((built / "_toc.yml").read_text(encoding="utf-8"))
    entries = edition.toc_files(toc)
    assert not [e for e in entries if e.startswith("solutions/") or "teacher-guide" in e]
    for entry in entries:
        assert any((built / (entry + s)).is_file() for s in (".md", ".ipynb")), entry
    main = edition.toc_files(yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8")))
    assert entries == [e for e in main if not e.startswith("solutions/") and "teacher-guide" not in e]
    assert toc["root"] == "index" and len(toc["parts"]) == 2


def test_pages_do_not_mention_solutions_or_the_teacher_guide(built):
    for path in sorted(built.glob("book/*/*.md")) + [built / "index.md"]:
        text = path.read_text(encoding="utf-8")
        assert "solutions/" not in text and "teacher-guide" not in text, path
    for rel in notebooks(built, "book") + notebooks(built, "exercises"):
        for cell in read(built / rel).cells:
            if cell.cell_type == "markdown":
                assert "solutions/" not in cell.source and "teacher-guide" not in cell.source, rel
    intro = (built / "book/en/intro.md").read_text(encoding="utf-8")
    assert "[student guide](student-guide.md)" in intro and "*solutions*" not in intro
    assert "[guía para estudiantes](student-guide.md)" in (built / "book/es/intro.md").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------
# The edition's repository URL
# ---------------------------------------------------------------------------

def test_config_points_at_the_edition_repository(built):
    config = yaml.safe_load((built / "_config.yml").read_text(encoding="utf-8"))
    assert config["repository"]["url"] == EDITION_URL != MAIN_URL
    assert config["repository"]["branch"] == EDITION_BRANCH
    assert "student_edition" not in config
    main = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    main.pop("student_edition")
    main["repository"].update(url=EDITION_URL, branch=EDITION_BRANCH)
    assert config == main, "only the repository should differ from the main _config.yml"


COLAB_RE = re.compile(r"https://colab\.research\.google\.com/github/([^)\s\"']+)")


def test_notebooks_colab_links_and_repo_url_point_at_the_edition(built):
    slug = EDITION_URL.split("github.com/", 1)[1]
    main_slug = re.compile(re.escape(MAIN_URL.split("github.com/", 1)[1]) + r"(?![\w.-])")
    for rel in notebooks(built, "book") + notebooks(built, "exercises"):
        nb = read(built / rel)
        targets = COLAB_RE.findall(nb.cells[0].source)
        assert targets[0] == f"{slug}/blob/{EDITION_BRANCH}/{rel}", rel
        assert targets[1] == f"{slug}/blob/{EDITION_BRANCH}/{links.twin_path(rel)}", rel
        for target in targets:
            assert (built / target.split(f"/blob/{EDITION_BRANCH}/", 1)[1]).is_file(), target
        setup = [c for c in nb.cells if c.cell_type == "code"][0].source
        assert f'REPO_URL = "{EDITION_URL}"' in setup, rel
        assert not main_slug.search((built / rel).read_text(encoding="utf-8")), rel


def test_code_cells_are_the_main_repositorys_but_for_the_repo_url(built):
    old, new = f'REPO_URL = "{MAIN_URL}"', f'REPO_URL = "{EDITION_URL}"'
    for rel in notebooks(ROOT, "exercises") + notebooks(ROOT, "book"):
        main, ours = read(ROOT / rel), read(built / rel)
        assert [c.cell_type for c in ours.cells] == [c.cell_type for c in main.cells], rel
        main_code = [c.source.replace(old, new) for c in main.cells if c.cell_type == "code"]
        assert [c.source for c in ours.cells if c.cell_type == "code"] == main_code, rel
        assert [c.metadata for c in ours.cells] == [c.metadata for c in main.cells], rel
        assert ours.metadata == main.metadata, rel
        if rel.startswith("exercises/"):  # only the header line of the first cell changes
            md = [(a.source, b.source) for a, b in zip(main.cells, ours.cells) if a.cell_type == "markdown"]
            assert [a for a, b in md[1:]] == [b for a, b in md[1:]], rel


# ---------------------------------------------------------------------------
# Output folder: deterministic, overwritten only if it is an edition
# ---------------------------------------------------------------------------

def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and ".git" not in p.relative_to(folder).parts}


def test_build_is_deterministic_and_rebuilds_keep_git(built, tmp_path):
    other = edition.build(tmp_path / "again", ROOT, verify=False)
    assert tree(other) == tree(built)
    (other / ".git").mkdir()
    (other / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (other / "stale.txt").write_text("left over from an older edition")
    edition.build(other, ROOT, verify=False)
    assert (other / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert not (other / "stale.txt").exists()
    assert tree(other) == tree(built)


def test_refuses_to_overwrite_a_folder_it_did_not_create(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("precious")
    with pytest.raises(edition.EditionError, match="not a student edition"):
        edition.build(foreign, ROOT, verify=False)
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    for bad in (ROOT, ROOT.parent, ROOT / "book" / "edition", ROOT / "shared" / "edition"):
        with pytest.raises(edition.EditionError, match="refusing"):
            edition.build(bad, ROOT, verify=False)
    assert edition.main(["--check", "--out", str(foreign)]) == 1


# ---------------------------------------------------------------------------
# leaks() finds what is planted
# ---------------------------------------------------------------------------

def test_leaks_detects_planted_solutions_key_and_markers(built, tmp_path):
    planted = tmp_path / "planted"
    shutil.copytree(built, planted)
    before = set(edition.leaks(planted, ROOT))
    lines = edition.solution_lines(ROOT)
    line = next(s for s, src in lines.items() if src == "solutions/en/mdn.ipynb" and len(s) > 40)
    nb = read(planted / "exercises/en/mdn.ipynb")
    cell = next(c for c in nb.cells if "# YOUR CODE HERE" in c.source)
    cell.source = cell.source.replace("# YOUR CODE HERE", line, 1)
    nbformat.write(nb, planted / "exercises/en/mdn.ipynb")
    nb = read(planted / "exercises/en/vae.ipynb")
    cell = next(c for c in nb.cells if "answer_q6 = ..." in c.source)
    cell.source = cell.source.replace("answer_q6 = ...", "answer_q6 = 'A'")  # another spelling of the key
    nbformat.write(nb, planted / "exercises/en/vae.ipynb")
    (planted / "shared/key").mkdir()
    (planted / "shared/key/__init__.py").write_text("def ref_mixture_nll(logits):\n    return 0\n")
    (planted / "shared/plotting.py").write_text((planted / "shared/plotting.py").read_text()
                                                + "\n# BEGIN SOLUTION\n")
    (planted / "solutions/en").mkdir(parents=True)
    (planted / "solutions/en/mdn.ipynb").write_text("{}")
    found = set(edition.leaks(planted, ROOT)) - before
    assert f"exercises/en/mdn.ipynb: contains a line of the solutions: {line!r}" in found
    assert "exercises/en/vae.ipynb: contains a line of the solutions: 'answer_q6 = \"A\"'" in found
    assert "shared/key: must not be in the student edition" in found
    assert "shared/key/__init__.py: defines ref_mixture_nll (a reference implementation, `def ref_`)" in found
    assert "shared/plotting.py: contains the marker '# BEGIN SOLUTION'" in found
    assert "solutions: must not be in the student edition" in found
    assert edition.main(["--check", "--out", str(planted)]) == 1


def test_integrity_problems_detects_broken_links_and_the_main_url(built, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(built, broken)
    (broken / "book/en/student-guide.md").write_text(
        (broken / "book/en/student-guide.md").read_text() + "\nSee [the key](../../solutions/en/mdn.ipynb).\n")
    (broken / "book/es/gan.ipynb").unlink()
    (broken / "shared/setup.py").write_text((broken / "shared/setup.py").read_text() + f"\n# {MAIN_URL}\n")
    found = edition.integrity_problems(broken, ROOT)
    assert "book/en/student-guide.md: broken link to ../../solutions/en/mdn.ipynb" in found
    assert "_toc.yml: book/es/gan has no page in the edition" in found
    assert any(p.startswith("shared/setup.py: points at the main repository") for p in found)


def test_solution_lines_include_the_code_of_the_solutions_not_the_placeholders():
    lines = edition.solution_lines(ROOT)
    assert lines and all(s.strip() == s for s in lines)
    assert not [s for s in lines if "YOUR CODE HERE" in s or "NotImplementedError" in s]
    assert {src.split("/")[0] for src in lines.values()} == {"solutions"}


def test_a_projects_own_lines_count_and_those_its_chapter_teaches_do_not():
    lines = edition.solution_lines(ROOT)
    # the VAE project's encoder is the chapter's, with its own filters: that line is the project's answer
    assert lines.get('h = keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(h)  # 7x7') \
        == "solutions/en/vae-project.ipynb"
    # the GAN project trains like the chapter: the chapter's lines are not leaks of the project
    assert "d_optimizer.apply_gradients(zip(grads, discriminator.trainable_variables))" not in lines
    assert "with tf.GradientTape() as tape:" not in lines


# ---------------------------------------------------------------------------
# The pieces, on small inputs
# ---------------------------------------------------------------------------

def test_filter_toc_drops_excluded_pages_at_any_depth():
    toc = {"root": "index", "parts": [
        {"caption": "A", "chapters": [{"file": "book/en/a", "sections": [{"file": "solutions/en/a"},
                                                                         {"file": "book/en/b"}]},
                                      {"file": "book/en/teacher-guide"}]},
        {"caption": "B", "chapters": [{"file": "solutions/es/a"}]}]}
    assert edition.filter_toc(toc) == {"root": "index", "parts": [
        {"caption": "A", "chapters": [{"file": "book/en/a", "sections": [{"file": "book/en/b"}]}]}]}


def test_markdown_links_to_excluded_pages_are_removed():
    text = ("- Next: the [exercises](../../exercises/en/x.ipynb) and compare\n"
            "  with the [solutions](../../solutions/en/x.ipynb). Then\n"
            "  the [guide](teacher-guide.md), ![fig](img.png), [site](https://example.org/solutions/a).")
    assert edition.edition_markdown(text, "book/en/x.ipynb") == (
        "- Next: the [exercises](../../exercises/en/x.ipynb). Then\n"
        "  the guide, ![fig](img.png), [site](https://example.org/solutions/a).")
    es = ("los [ejercicios](../../exercises/es/x.ipynb)\n  y compáralos con las\n"
          "  [soluciones](../../solutions/es/x.ipynb).")
    assert edition.edition_markdown(es, "book/es/x.ipynb") == "los [ejercicios](../../exercises/es/x.ipynb)."


def test_config_rewrite_keeps_comments_and_other_keys():
    text = ("# top\nrepository:\n  # the url\n  url: https://github.com/a/main\n  branch: main\n\n"
            "# edition\nstudent_edition:\n  repository:\n    url: https://github.com/a/ed\n\n# html\nhtml: {}\n")
    assert edition.edition_config_text(text, "https://github.com/a/ed", "dev") == (
        "# top\nrepository:\n  # the url\n  url: https://github.com/a/ed\n  branch: dev\n\n# html\nhtml: {}\n")


def test_rewrite_rules_fail_loudly_when_the_page_changed():
    with pytest.raises(edition.EditionError, match="MARKDOWN_REWRITES"):
        edition.rewrite_page("# Introduction\n\nreworded\n", "book/en/intro.md")


# ---------------------------------------------------------------------------
# The edition works on its own: an exercise notebook, with only the edition on the path
# ---------------------------------------------------------------------------

def edition_env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COURSE_REPO_URL")}
    env.update(PYTHONPATH=str(folder), COURSE_QUICK="1", TQDM_DISABLE="1")
    env.pop("MPLBACKEND", None)
    return env


def test_edition_package_has_no_key_or_grader(built):
    code = ("import importlib.util, shared, shared.checks.mdn\n"
            "print(shared.__file__)\n"
            "print([m for m in ('shared.key', 'shared.grading', 'shared.exercises') "
            "if importlib.util.find_spec(m)])\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=built, env=edition_env(built),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [str(built / "shared" / "__init__.py"), "[]"]


def test_edition_exercise_notebooks_run_with_the_edition_alone(built):
    """nbval on the English exercise notebooks of the edition, in a subprocess with only the
    edition on PYTHONPATH: the edition's own notebook tests (about a minute). The Spanish twins'
    code cells are the same but for the language line (tests/test_notebooks_static.py); their
    own execution is the edition's ``make test``.

    The placeholders are reached inside ``tf.function`` too (GAN demo cells): a ``Placeholder``
    must still be a ``NotImplementedError`` there."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
           "--nbval-current-env", "--nbval-cell-timeout=600", "exercises/en"]
    result = subprocess.run(cmd, cwd=built, env=edition_env(built), capture_output=True, text=True,
                            timeout=1200)
    tail = (result.stdout + result.stderr)[-4000:]
    assert result.returncode == 0, tail
    assert re.search(r"\d+ passed", result.stdout) and "failed" not in result.stdout, tail


def test_edition_checks_accept_the_solutions_without_the_key(built, tmp_path):
    """The solved MDN notebook, run against the edition's ``shared`` (outside the edition): every
    code question's check prints ✅ from the stored public cases, the choice question is recorded."""
    shutil.copyfile(ROOT / "solutions/en/mdn.ipynb", tmp_path / "solved.ipynb")
    script = ("import nbformat, nbclient\n"
              "nb = nbformat.read('solved.ipynb', as_version=4)\n"
              "nbclient.NotebookClient(nb, timeout=600, kernel_name='python3',\n"
              "                        resources={'metadata': {'path': '.'}}).execute()\n"
              "for cell in nb.cells:\n"
              "    if cell.cell_type == 'code' and cell.source.startswith('check('):\n"
              "        print(''.join(o.get('text', '') for o in cell.outputs if o.get('name') == 'stdout'))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=edition_env(built),
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    for q in range(1, 6):
        assert f"✅ mdn.q{q} " in result.stdout, result.stdout
    assert "mdn.q6" in result.stdout and "❌" not in result.stdout, result.stdout
