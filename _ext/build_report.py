"""The build report: how long each notebook and each of its cells took to execute.

Every notebook the build executes is run with nbclient's ``record_timing``, so
each cell's metadata gets the kernel's timestamps; a language twin served from
the cache gets the times of the execution it shares, and a graded project's
solution the times of its stored execution (``_ext/stored_executions.py``). At the end of the build
the report is written to the file ``course_build_report`` names (``_ext/build_site.py``:
``_build/build-report.json`` for ``make book``, shared by its builds; otherwise
``build-report.json`` beside the HTML folder) and a summary is printed:
per notebook its seconds and slowest cells, and the build's total.

Entries of notebooks this build did not read (an incremental build) are kept
from the previous report, so the file always describes the whole book.
"""

from __future__ import annotations

import functools
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from myst_nb.core.execute import cache as mystnb_cache
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)

#: File name of the report, written in the parent of the builder's output folder.
REPORT_NAME = "build-report.json"
#: How many of each notebook's slowest cells the printed summary names.
SLOWEST_SHOWN = 3

_REPORT: dict[str, dict[str, Any]] = {}
_STARTED: list[float] = []


def cell_seconds(cell: dict[str, Any]) -> float | None:
    """Seconds a code cell took, from nbclient's timing metadata (None if not recorded)."""
    stamps = cell.get("metadata", {}).get("execution", {})
    start = stamps.get("iopub.execute_input") or stamps.get("iopub.status.busy")
    end = stamps.get("shell.execute_reply") or stamps.get("iopub.status.idle")
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def notebook_entry(nb: dict[str, Any], source: str, runtime: float | None) -> dict[str, Any]:
    """The report's entry for one executed notebook: total and per-cell seconds."""
    cells = []
    for index, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") != "code":
            continue
        seconds = cell_seconds(cell)
        if seconds is None:
            continue
        text = "".join(cell.get("source", ""))
        first = next((line for line in text.splitlines() if line.strip()), "")
        cells.append({"index": index, "seconds": round(seconds, 2), "first_line": first[:80]})
    return {
        "source": source,
        "seconds": None if runtime is None else round(runtime, 1),
        "cells_seconds": round(sum(c["seconds"] for c in cells), 1),
        "cells": cells,
    }


def with_times_of(page: dict[str, Any], cached: dict[str, Any]) -> dict[str, Any]:
    """The page's cells, each code cell with the timing of its match in a cached execution.

    The cache keeps only the code cells of an execution, in order; the page's cell
    indices (markdown included) are the ones the report names.
    """
    page_code = [c for c in page["cells"] if c.get("cell_type") == "code"]
    cached_code = [c for c in cached["cells"] if c.get("cell_type") == "code"]
    cells = [dict(c, metadata=dict(c.get("metadata", {}))) for c in page["cells"]]
    code = iter(c for c in cells if c.get("cell_type") == "code")
    if len(page_code) == len(cached_code):
        for cell, match in zip(code, cached_code):
            cell["metadata"]["execution"] = match.get("metadata", {}).get("execution", {})
    return {"cells": cells}


def _timed_start_client(original):
    @functools.wraps(original)
    def start_client(self):
        original(self)
        nb = self._notebook
        source = "executed"
        if not any(cell_seconds(c) is not None for c in nb.cells):
            # Served from the cache: take the times of the cached execution.
            source = "cache"
            cache = mystnb_cache.get_cache(self.nb_config.execution_cache_path or ".jupyter_cache")
            try:
                record = cache.match_cache_notebook(self.notebook)
                cached = cache.get_cache_bundle(record.pk).nb
            except KeyError:
                return
            if (record.data or {}).get("stored"):  # made by `make stored-executions` (_ext/stored_executions.py)
                source = "stored"
            nb = with_times_of(nb, cached)
        runtime = (self.exec_metadata or {}).get("runtime")
        if self.path is not None:
            _REPORT[str(self.path)] = notebook_entry(nb, source, runtime)
            if self.exec_metadata and not self.exec_metadata.get("succeeded", True):
                _REPORT[str(self.path)]["failed"] = True
    return start_client


def install() -> None:
    """Record cell timing in every execution and keep each notebook's times (idempotent)."""
    if not getattr(mystnb_cache.single_nb_execution, "_records_timing", False):
        timed = functools.partial(mystnb_cache.single_nb_execution, record_timing=True)
        timed._records_timing = True  # type: ignore[attr-defined]
        mystnb_cache.single_nb_execution = timed
    client = mystnb_cache.NotebookClientCache
    if not getattr(client.start_client, "_reports_timing", False):
        client.start_client = _timed_start_client(client.start_client)
        client.start_client._reports_timing = True  # type: ignore[attr-defined]


def relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return path


def summary(report: dict[str, Any]) -> str:
    """The printed form of a report: one line per notebook, its slowest cells, the total."""
    lines = ["Build report (seconds; 'cache' = times of the shared execution, "
             "'stored' = of the execution `make stored-executions` stored):"]
    for path, entry in sorted(report["notebooks"].items(), key=lambda kv: -(kv[1]["seconds"] or 0)):
        seconds = entry["seconds"]
        shown = "   n/a" if seconds is None else f"{seconds:6.1f}"
        lines.append(f"{shown}  {path}  [{entry['source']}{', FAILED' if entry.get('failed') else ''}]")
        for cell in sorted(entry["cells"], key=lambda c: -c["seconds"])[:SLOWEST_SHOWN]:
            lines.append(f"          cell {cell['index']:3d}: {cell['seconds']:6.1f}  {cell['first_line']}")
    lines.append(f"Executed in this build: {report['executed_seconds']:.0f} s of notebooks; "
                 f"build wall time {report['wall_seconds']:.0f} s.")
    return "\n".join(lines)


def builder_inited(app) -> None:
    _STARTED[:] = [time.time()]
    _REPORT.clear()


def build_finished(app, exception) -> None:
    if exception is not None or not _STARTED:
        return
    path = Path(app.config.course_build_report or Path(app.outdir).parent / REPORT_NAME)
    root = Path(app.srcdir)
    previous: dict[str, Any] = {}
    if path.exists():
        try:
            previous = json.loads(path.read_text())["notebooks"]
        except (ValueError, KeyError):
            previous = {}
    notebooks = dict(previous)
    for key, entry in _REPORT.items():
        notebooks[relative(key, root)] = entry
    # Keep only notebooks that still exist.
    notebooks = {k: v for k, v in notebooks.items() if (root / k).exists()}
    report = {
        "wall_seconds": round(time.time() - _STARTED[0], 1),
        "executed_seconds": round(sum(e["seconds"] or 0 for e in _REPORT.values() if e["source"] == "executed"), 1),
        "finished": datetime.now().isoformat(timespec="seconds"),
        "notebooks": notebooks,
    }
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    LOGGER.info("\n" + summary(report) + f"\nWritten to {path}")


def setup(app):
    install()
    # Where the report goes (_ext/build_site.py: <out>/_build/build-report.json, shared by its builds).
    app.add_config_value("course_build_report", "", "", [str])
    app.connect("builder-inited", builder_inited)
    app.connect("build-finished", build_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
