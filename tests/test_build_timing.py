"""The build report's arithmetic (_ext/build_report.py): cell and notebook seconds, the summary.

The report of a real build is checked in tests/test_site.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_ext"))

import build_report  # noqa: E402


def code_cell(source: str, start: str | None, end: str | None) -> dict:
    stamps = {}
    if start:
        stamps["iopub.execute_input"] = start
    if end:
        stamps["shell.execute_reply"] = end
    return {"cell_type": "code", "source": source, "metadata": {"execution": stamps}}


def test_cell_seconds_come_from_the_kernel_timestamps():
    cell = code_cell("x = 1", "2026-12-02T10:00:00.250000Z", "2026-12-02T10:01:02.750000Z")
    assert build_report.cell_seconds(cell) == 62.5
    assert build_report.cell_seconds(code_cell("x = 1", None, "2026-12-02T10:00:00Z")) is None
    assert build_report.cell_seconds({"cell_type": "code", "source": "", "metadata": {}}) is None


def test_notebook_entry_lists_timed_code_cells_with_their_first_line():
    nb = {"cells": [
        {"cell_type": "markdown", "source": "# Title", "metadata": {}},
        code_cell("\n# train\nmodel.fit(x)", "2026-12-02T10:00:00Z", "2026-12-02T10:00:30Z"),
        code_cell("print(1)", "2026-12-02T10:00:30Z", "2026-12-02T10:00:31Z"),
        code_cell("never run", None, None),
    ]}
    entry = build_report.notebook_entry(nb, "executed", 33.04)
    assert entry["seconds"] == 33.0 and entry["cells_seconds"] == 31.0
    assert [(c["index"], c["seconds"], c["first_line"]) for c in entry["cells"]] == [
        (1, 30.0, "# train"), (2, 1.0, "print(1)")]


def test_summary_orders_notebooks_by_time_and_names_the_slowest_cells():
    slow = {"source": "executed", "seconds": 300.0, "cells_seconds": 299.0,
            "cells": [{"index": i, "seconds": float(i), "first_line": f"cell{i}"} for i in range(1, 6)]}
    fast = {"source": "cache", "seconds": None, "cells_seconds": 1.0, "cells": [], "failed": True}
    text = build_report.summary({"notebooks": {"a.ipynb": fast, "b.ipynb": slow},
                                 "executed_seconds": 300.0, "wall_seconds": 420.0})
    lines = text.splitlines()
    assert "b.ipynb" in lines[1] and "a.ipynb" in text.split("cell    3")[-1]
    assert "cell5" in text and "cell3" in text and "cell2" not in text, "the 3 slowest cells"
    assert "FAILED" in text and "n/a" in text
    assert lines[-1] == "Executed in this build: 300 s of notebooks; build wall time 420 s."


def test_a_cached_execution_lends_its_times_to_the_page_cells():
    page = {"cells": [{"cell_type": "markdown", "source": "# T", "metadata": {}},
                      {"cell_type": "code", "source": "a", "metadata": {"tags": ["x"]}},
                      {"cell_type": "markdown", "source": "text", "metadata": {}},
                      {"cell_type": "code", "source": "b", "metadata": {}}]}
    cached = {"cells": [code_cell("a", "2026-12-02T10:00:00Z", "2026-12-02T10:00:02Z"),
                        code_cell("b", "2026-12-02T10:00:02Z", "2026-12-02T10:00:07Z")]}
    entry = build_report.notebook_entry(build_report.with_times_of(page, cached), "cache", 7.0)
    assert [(c["index"], c["seconds"]) for c in entry["cells"]] == [(1, 2.0), (3, 5.0)]
    assert "execution" not in page["cells"][1]["metadata"], "the page itself is not changed"
