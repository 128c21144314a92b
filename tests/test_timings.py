"""shared.timings: the setup cells' time estimates come from the full build's report."""

from __future__ import annotations

import json

import pytest

from shared import timings


def report(tmp_path, entries):
    path = tmp_path / "build-report.json"
    path.write_text(json.dumps({"wall_seconds": 1.0, "notebooks": entries}))
    return path


def entry(seconds, source="executed", failed=False):
    e = {"source": source, "seconds": seconds, "cells_seconds": seconds, "cells": []}
    if failed:
        e["failed"] = True
    return e


def test_twins_share_one_key_and_bad_paths_are_refused():
    assert timings.notebook_key("book/en/gan.ipynb") == timings.notebook_key("book/es/gan.ipynb") == "book/gan"
    assert timings.notebook_key("solutions/es/vae-project.ipynb") == "solutions/vae-project"
    for bad in ("index.md", "book/gan.ipynb", "book/fr/gan.ipynb"):
        with pytest.raises(ValueError):
            timings.notebook_key(bad)


def test_estimates_round_up_to_half_minutes():
    assert [timings.stated_minutes(s) for s in (1, 30, 31, 299, 300, 301)] == [0.5, 0.5, 1.0, 5.0, 5.0, 5.5]


def test_write_then_check_passes_and_an_overrun_fails(tmp_path):
    measured = timings.read_report(report(tmp_path, {
        "book/en/gan.ipynb": entry(290.0), "book/es/gan.ipynb": entry(290.0, "cache"),
        "book/en/vae.ipynb": entry(None), "book/en/mdn.ipynb": entry(50.0, failed=True)}))
    assert measured == {"book/gan": 290.0}, "failed and untimed notebooks are not estimates"
    file = tmp_path / "timings.json"
    assert timings.write(measured, file) == {"book/gan": 5.0}
    assert timings.estimate("book/gan", file) == 5.0 and timings.estimate("book/vae", file) is None
    assert timings.overruns({"book/gan": 5 * 60 * 1.25}, timings.load(file)) == []
    problems = timings.overruns({"book/gan": 5 * 60 * 1.26, "book/vae": 10.0}, timings.load(file))
    assert len(problems) == 2 and "book/gan: took 6.3 min" in problems[0] and "no estimate" in problems[1]


def test_the_cli_reports_a_missing_build_report_and_an_overrun(tmp_path, monkeypatch, capsys):
    assert timings.main(["check", str(tmp_path / "none.json")]) == 2
    assert "run `make book` first" in capsys.readouterr().err
    file = tmp_path / "timings.json"
    file.write_text(json.dumps({"minutes": {"book/gan": 1.0}}))
    monkeypatch.setattr(timings, "TIMINGS_FILE", file)
    assert timings.main(["check", str(report(tmp_path, {"book/en/gan.ipynb": entry(60.0)}))]) == 0
    assert timings.main(["check", str(report(tmp_path, {"book/en/gan.ipynb": entry(120.0)}))]) == 1
    assert "more than 25% over its stated 1 min" in capsys.readouterr().err



def test_the_full_build_fails_when_a_notebook_overruns(tmp_path, monkeypatch, capsys):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_ext"))
    import build_site

    file = tmp_path / "timings.json"
    file.write_text(json.dumps({"minutes": {"book/gan": 1.0}}))
    monkeypatch.setattr(timings, "TIMINGS_FILE", file)
    assert build_site.report_timings(report(tmp_path, {"book/en/gan.ipynb": entry(70.0)})) == 0
    assert build_site.report_timings(report(tmp_path, {"book/en/gan.ipynb": entry(80.0)})) == 1
    assert "book/gan: took 1.3 min" in capsys.readouterr().err


def test_every_notebook_states_a_measured_estimate():
    """Each setup cell names its notebook's key in shared/timings.json (exercises take their solution's)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    stated = timings.load()
    for path in sorted(root.glob("*/*/*.ipynb")):
        if path.parts[-3] not in ("book", "solutions", "exercises"):
            continue
        keys = re.findall(r'notebook=\\"([a-z-]+/[a-z-]+)\\"', path.read_text(encoding="utf-8"))
        folder = "solutions" if path.parts[-3] == "exercises" else path.parts[-3]
        assert keys == [f"{folder}/{path.stem}"], f"{path}: its setup cell should call prepare(..., notebook=...)"
        assert keys[0] in stated, f"{keys[0]} has no measured estimate: run `make book` then `make timings`"
