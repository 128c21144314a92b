"""The failure message of the site build (tests/conftest.py) names the cause.

A failed ``jupyter-book build`` ends with "Look above for the cause" and, on
stderr, often with an unrelated kernel shutdown traceback; CI logs keep only a
part of the output. The report must lead with the warnings and the saved
notebook traceback, not with that tail.
"""

from __future__ import annotations

import os
import time

from conftest import build_failure_report

STDOUT = "\n".join([
    "\x1b[01mreading sources... \x1b[39;49;00m[ 50%] book/en/vae",
    "[IPKernelApp] WARNING | Kernel is running over TCP without encryption.",
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "\x1b[91m/repo/book/en/vae.ipynb: WARNING: Executing notebook failed: CellExecutionError [mystnb.exec]\x1b[39;49;00m",
    "/repo/book/en/gan.ipynb:100002: WARNING: Lexing literal_block '" + "x" * 5000 + "'",
    "build finished with problems, 2 warnings.",
])
STDERR = "Exception ignored in atexit callback\nAssertionError: \n"


def test_report_leads_with_the_warnings_and_the_saved_traceback(tmp_path):
    reports = tmp_path / "reports" / "book" / "en"
    reports.mkdir(parents=True)
    (reports / "vae.err.log").write_text("Traceback ...\nDataError: Fashion-MNIST not found\n")
    report = build_failure_report(STDOUT, STDERR, tmp_path / "reports", since=time.time() - 60)
    lines = report.splitlines()
    assert "vae.ipynb: WARNING: Executing notebook failed" in lines[1], "the first warning comes first"
    assert "\x1b[" not in report, "colour codes are removed"
    assert "IPKernelApp" not in report and "absl" not in report, "start-up notices are not causes"
    assert "x" * 401 not in report and "[...]" in report, "a huge line is cut"
    assert "DataError: Fashion-MNIST not found" in report
    assert report.index("DataError") < report.index("--- end of stderr"), "the stderr tail comes last"


def test_reports_of_earlier_builds_are_left_out(tmp_path):
    old = tmp_path / "reports" / "old.err.log"
    old.parent.mkdir()
    old.write_text("OldError: from yesterday's build\n")
    os.utime(old, (time.time() - 86400, time.time() - 86400))
    report = build_failure_report(STDOUT, STDERR, tmp_path / "reports", since=time.time() - 60)
    assert "OldError" not in report
    assert "Executing notebook failed" in build_failure_report(STDOUT, "", tmp_path / "missing")
