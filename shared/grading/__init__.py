"""Grade students' exercise notebooks (teacher's side; never part of the student edition).

Usage (from the repository root)::

    python -m shared.grading SUBMISSION [SUBMISSION ...] [--chapter mdn] [-j 2]
        [--out scores.csv] [--gradebook gradebook.csv] [--feedback-dir feedback/]
        [--json scores.json] [--seed N] [--timeout 600] [--time-limit 900]
        [--memory-mb 4096] [--max-processes 64] [--output-mb 20]
        [--keep-executed DIR] [--lang en|es] [--full] [--questions-module MODULE]
        [--result-dir DIR]
    python -m shared.grading merge DIR/*.result.json [--out ...] [--gradebook ...]

``SUBMISSION`` is a notebook or a folder (every ``*.ipynb`` in it is graded, in
sorted order). The chapter is the notebook's file stem (``mdn.ipynb`` ->
``mdn``) unless ``--chapter`` says otherwise.

How one submission is graded: :mod:`shared.grading.runner`. What the kernel
can see and the limits: :mod:`shared.grading.sandbox` and
:mod:`shared.grading.launch`. Reports: :mod:`shared.grading.reports`.

Trust model
-----------
The grade depends only on the numbers that the student's code computes for
inputs it never sees before its last cell runs, evaluated in the grader's own
process against the answer key. The kernel cannot import or read the key,
the solutions or the reference implementations (they are not in its file
system view), cannot write the course files, does not get the grader's
environment, and is stopped on a breached limit. Not defended: a student who
copies a correct solution from someone else (an academic-integrity matter),
and attacks on the Linux kernel itself (escaping namespaces): run the grader
on a machine that holds nothing else of value.
"""

from shared.grading.cli import main
from shared.grading.runner import (QuestionScore, SubmissionResult, UsageError, find_submissions,
                                   grade_submission, resolve_chapter)
from shared.grading.sandbox import Limits

__all__ = ["Limits", "QuestionScore", "SubmissionResult", "UsageError", "find_submissions",
           "grade_submission", "main", "resolve_chapter"]
