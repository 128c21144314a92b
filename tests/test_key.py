"""The answer key stays on the teacher's side: separate modules, stored public cases up to date."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import shared.checks
from shared.grading.sandbox import RUNTIME_FILES
from shared.key import KEY_MODULES, keys_for
from shared.key.fixtures import main as fixtures_main

REPO = Path(__file__).resolve().parent.parent


def test_public_cases_are_up_to_date():
    assert fixtures_main(["--check"]) == 0, "run `python -m shared.key.fixtures`"


@pytest.mark.parametrize("chapter", sorted(shared.checks.CHAPTERS))
def test_every_question_has_a_key(chapter):
    assert chapter in KEY_MODULES
    assert sorted(keys_for(chapter)) == sorted(q.qid for q in shared.checks.questions_for(chapter))


@pytest.mark.parametrize("path", sorted((REPO / "shared" / "checks").glob("*.py")), ids=lambda p: p.name)
def test_checks_modules_hold_no_key(path):
    """No reference implementation, input maker or import of the key in what students get."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert not [n for n in names if n.startswith(("ref_", "make_q", "expect_"))], names
    imports = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imports += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imports if m.startswith(("shared.key", "shared.vae", "shared.quality"))], imports


def test_the_grading_kernel_runtime_holds_no_key():
    assert not [f for f in RUNTIME_FILES if f.startswith(("shared/key", "shared/grading", "shared/vae",
                                                          "shared/quality", "solutions"))]
