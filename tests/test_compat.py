"""compat/matrix.py (make test-compat): the sets' requirements, the report and the supported range.

The matrix itself creates environments and runs every notebook (tens of minutes): it is
not part of make test. Here: the pieces that decide what it installs and what it writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "compat"))
import matrix  # noqa: E402

BASE = "# pins\ntorch==2.13.0\ntensorflow-cpu==2.21.0  # TF\nkeras==3.15.1\nnumpy==2.4.6\npytest==9.2.0\n"


def test_a_set_changes_only_the_versions_it_names(monkeypatch):
    monkeypatch.setattr(matrix, "newest_release", lambda dist: {"keras": "3.16.0"}[dist])
    text = matrix.requirements_for({"pins": {"tensorflow-cpu": "2.19.0", "numpy": "2.1.3"}, "latest": ["keras"]}, BASE)
    assert text.splitlines() == ["# pins", "torch==2.13.0", "tensorflow-cpu==2.19.0", "keras==3.16.0",
                                 "numpy==2.1.3", "pytest==9.2.0"]
    assert matrix.requirements_for({}, BASE) == BASE


def test_a_set_that_names_an_unpinned_package_is_refused():
    with pytest.raises(ValueError, match="does not pin.*jax"):
        matrix.requirements_for({"pins": {"jax": "0.4"}}, BASE)


def test_the_course_sets_are_valid_and_pytorch_stays_pinned(monkeypatch):
    monkeypatch.setattr(matrix, "newest_release", lambda dist: "99.0")
    base = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    sets = matrix.load_sets()
    assert {"pinned", "newest", "older"} <= set(sets) and all(spec.get("why") for spec in sets.values())
    for spec in sets.values():
        assert "torch==2.13.0" in matrix.requirements_for(spec, base).splitlines()


def test_report_table_and_supported_range():
    Result = matrix.Result
    results = {"a": {"install": Result(True), "book/en/mdn.ipynb": Result(True)},
               "b": {"install": Result(True), "book/en/mdn.ipynb": Result(False, 3.0, 12, "ValueError: bad | shape")}}
    found = {"a": {"keras": "3.15.1", "numpy": "2.4.6"}, "b": {"keras": "3.10.0", "numpy": "2.1.3"}}
    table = matrix.table(results, found, ["a", "b"])
    assert "| book/en/mdn.ipynb | pass | FAIL cell 12: ValueError: bad / shape |" in table
    assert "| `keras` | 3.15.1 | 3.10.0 |" in table
    assert matrix.supported_range(found, ["a", "b"])["keras"] == {"min": "3.10.0", "max": "3.15.1"}
    assert matrix.supported_range(found, ["a"])["numpy"] == {"min": "2.4.6", "max": "2.4.6"}
