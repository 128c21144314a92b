"""Grade a project submission: load its saved model in the sandbox and measure the outputs here.

How a project is graded
-----------------------
1. The submission is a notebook and, next to it, the model file its save cell
   wrote (``<notebook stem>.keras``/``.pt``, or the project's default name such
   as ``mdn-project.keras``). The notebook is **read, never run**: the
   grader takes its language and the written report from it.
2. The model file (at most ``bands.LIMITS.file_mb``) is copied into a fresh
   folder. A kernel starts in the sandbox of :mod:`shared.grading.sandbox` and
   runs only the grader's cells: :class:`shared.projects.models.Prober` loads the
   file (Keras ``safe_mode``, or TorchScript) and computes the model's outputs
   for inputs drawn here with the secret seed -- fresh arm postures, a
   secret subset of test and training images, latent codes.
3. Back in this process the outputs are checked (NaN, range, a model that
   ignores its input or changes between calls, copies of the data, a test set
   learned by heart, the weights of a model stored with the course:
   :mod:`shared.projects.fingerprint`) and measured with :mod:`shared.projects.measure`; each
   part scores by the bands of :mod:`shared.projects.bands`.
4. The written report is listed in the score table (0 points: the teacher
   reads it).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np

from shared.exercises import REPORT_PLACEHOLDERS, REPORT_TAG
from shared.grading import sandbox
from shared.grading.messages import both
from shared.grading.runner import QuestionScore, SubmissionResult, execute, inputs_fingerprint, notebook_language
from shared.projects import PROJECTS, bands, fingerprint, measure
from shared.projects.evaluate import (PHASES, INPUT_MAKERS, Part, first_phase_inputs, score,
                                      vae_decoder_inputs, zero_parts)
from shared.projects.models import find_model_file

REPORT_TITLE = {"en": "Written report (read by the teacher)", "es": "Informe escrito (lo lee el docente)"}
REPORT_CHARS = 1500


# ---------------------------------------------------------------------------
# The notebook: language and written report
# ---------------------------------------------------------------------------

def report_text(nb: nbformat.NotebookNode) -> str:
    """The student's written report: the markdown cells tagged ``report``, as one text."""
    parts = [c.source.strip() for c in nb.cells
             if c.cell_type == "markdown" and REPORT_TAG in c.get("metadata", {}).get("tags", [])]
    parts = [p for p in parts if p not in REPORT_PLACEHOLDERS.values()]
    return "\n\n".join(p for p in parts if p)


def default_stems(submission: Path, project: str) -> list[str]:
    """Model-file names looked for next to the notebook, in order."""
    stems = [submission.stem]
    if project not in stems:
        stems.append(project)
    return stems


# ---------------------------------------------------------------------------
# Running the model in the sandbox
# ---------------------------------------------------------------------------

def _read_npz(path: Path) -> dict[str, np.ndarray] | None:
    if path.is_symlink() or not path.is_file() or path.stat().st_size > 256 * 2 ** 20:
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: np.asarray(f[k]) for k in f.files}
    except Exception:
        return None


def _read_text(path: Path, limit: int = 2000) -> str | None:
    if path.is_symlink() or not path.is_file():
        return None
    return path.read_text(encoding="utf-8", errors="replace")[:limit]


def probe_notebook(kind: str, model_path: Path, io_dir: Path, phases: list[str]) -> nbformat.NotebookNode:
    """The grader's cells: load the model, then one cell per phase."""
    cells = [nbformat.v4.new_code_cell(
        "from shared.projects.models import Prober as __GraderProber\n"
        f"__grader = __GraderProber({kind!r}, {str(model_path)!r}, {str(io_dir)!r})")]
    cells += [nbformat.v4.new_code_cell(f"__grader.run({phase!r})") for phase in phases]
    return nbformat.v4.new_notebook(cells=cells)


def grade_project(submission: Path, project: str, *, seed: int, lang: str = "en",
                  isolate: bool = True, runtime: Path | None = None,
                  hide: list[Path] | None = None) -> SubmissionResult:
    """Grade one project submission (notebook + model file). Never raises for a bad submission."""
    kind = PROJECTS[project]
    result = SubmissionResult(str(submission), project, sandboxed=isolate,
                              inputs_id=inputs_fingerprint(seed, project))
    start = time.monotonic()

    def fail(reason: dict[str, str]) -> SubmissionResult:
        result.error, result.error_by_lang = reason[lang], reason
        result.scores = [as_score(p, lang) for p in zero_parts(project, reason)] + [report_score(report, lang)]
        result.seconds = round(time.monotonic() - start, 2)
        return result

    report = ""
    try:
        nb = nbformat.read(submission, as_version=4)
        result.language = notebook_language(nb)
        report = report_text(nb)
    except Exception as exc:
        return fail(both("invalid", detail=f"{type(exc).__name__}: {str(exc)[:200]}"))
    stems = default_stems(submission, project)
    model_file = find_model_file(submission.parent, stems)
    if model_file is None:
        names = " / ".join(f"{s}.keras | {s}.pt" for s in stems)
        return fail(both("no_model", names=names))
    size_mb = model_file.stat().st_size / 2 ** 20
    if size_mb > bands.LIMITS.file_mb:
        return fail(both("model_too_big", size=size_mb, limit=bands.LIMITS.file_mb))

    rng = np.random.default_rng([seed, sum(project.encode())])
    inputs = INPUT_MAKERS[kind](rng)
    phases = PHASES[kind]
    limits = sandbox.Limits(wall_seconds=bands.LIMITS.seconds, cell_seconds=int(bands.LIMITS.seconds),
                            memory_mb=bands.LIMITS.memory_mb, processes=32, output_mb=5.0,
                            file_mb=int(4 * bands.LIMITS.file_mb))
    with tempfile.TemporaryDirectory(prefix="grading-project-") as tmp_name:
        tmp = Path(tmp_name)
        tmp.chmod(0o755)
        if runtime is None:
            runtime = sandbox.build_runtime(tmp / "runtime")
        (tmp / "work").mkdir()
        copy = tmp / "work" / f"model{model_file.suffix}"
        shutil.copyfile(model_file, copy)
        io_dir = tmp / "io"
        inputs_dir, outputs_dir = io_dir / "inputs", io_dir / "outputs"
        for d in (io_dir, inputs_dir, outputs_dir):
            d.mkdir(mode=0o755)
        np.savez(inputs_dir / f"{phases[0]}.npz", **first_phase_inputs(kind, inputs))
        (inputs_dir / "fingerprint-shapes.json").write_text(json.dumps(fingerprint.targets()))
        problems: list[dict[str, str]] = []

        def after_cell(index: int) -> None:
            if kind != "vae" or index != 1:
                return
            enc = _read_npz(outputs_dir / "enc.npz")
            if enc is None:
                return
            try:
                np.savez(inputs_dir / "dec.npz", **vae_decoder_inputs(enc, inputs))
            except measure.Refused as why:
                problems.append(why.why)

        with sandbox.UidLease() as lease:
            outcome = execute(probe_notebook(kind, copy, io_dir, phases), tmp, runtime, limits, full=False,
                              isolate=isolate, lease_uid=lease.uid, hide=list(hide or []) +
                              [submission.resolve().parent], io_dir=io_dir,
                              before_last_cell=lambda: None, after_cell=after_cell)
        result.peak_memory_mb = round(outcome.peak_memory_mb, 1)
        if outcome.code is not None:
            if outcome.code in ("time", "memory", "processes", "output", "cell_timeout"):
                limit = outcome.params.get("limit", outcome.params.get("seconds", "?"))
                unit = {"time": " s", "cell_timeout": " s", "memory": " MB", "output": " MB"}.get(outcome.code, "")
                return fail(both("model_limit", kind=outcome.code.replace("cell_timeout", "time"),
                                 limit=f"{limit}{unit}"))
            return fail(both("model_dead", detail=str(outcome.params.get("detail", outcome.code))[:300]))
        load_error = _read_text(outputs_dir / "load.error.txt")
        if load_error is not None:
            return fail(both("model_load", detail=load_error.strip()[:600]))
        meta_text = _read_text(outputs_dir / "meta.json") or "{}"
        try:
            meta = json.loads(meta_text)
        except ValueError:
            meta = {}
        n_params = int(meta.get("n_params", 0) or 0)
        if n_params > bands.LIMITS.max_params:
            return fail(both("model_params", n=n_params, limit=bands.LIMITS.max_params))
        if problems:
            return fail(problems[0])
        sketch_error = _read_text(outputs_dir / "sketches.error.txt")
        sketches = _read_npz(outputs_dir / "sketches.npz")
        if sketch_error is not None or sketches is None:
            return fail(both("model_call", detail=(sketch_error or "no weight fingerprints").strip()[:600]))
        copied = fingerprint.course_match(sketches)
        if copied is not None:
            return fail(fingerprint.refusal(copied))
        outputs = {}
        for phase in phases:
            error = _read_text(outputs_dir / f"{phase}.error.txt")
            if error is not None:
                return fail(both("model_call", detail=error.strip()[:600]))
            got = _read_npz(outputs_dir / f"{phase}.npz")
            if got is None:
                return fail(both("no_result"))
            outputs[phase] = got
    try:
        parts = score(kind, project, outputs, inputs, seed, rng)
    except KeyError as exc:  # an output array the model did not give
        return fail(both("unusable", detail=f"missing {exc}"))
    result.scores = [as_score(p, lang) for p in parts] + [report_score(report, lang)]
    result.seconds = round(time.monotonic() - start, 2)
    return result


def as_score(part: Part, lang: str) -> QuestionScore:
    """A project part as a row of the score tables."""
    return QuestionScore(part.qid, part.title[lang], part.points, part.max_points, part.passed,
                         part.feedback[lang], dict(part.feedback), dict(part.title))


def report_score(report: str, lang: str) -> QuestionScore:
    """The written report as a 0-point row of the score table (its text is the feedback)."""
    if report:
        text = report if len(report) <= REPORT_CHARS else report[:REPORT_CHARS] + " [...]"
        fb = {"en": text, "es": text}
    else:
        fb = {"en": "no report: the cells tagged 'report' are empty",
              "es": "sin informe: las celdas con la etiqueta 'report' están vacías"}
    return QuestionScore("report", REPORT_TITLE[lang], 0.0, 0.0, bool(report), fb[lang], fb, dict(REPORT_TITLE))


__all__ = ["as_score", "grade_project", "report_score", "report_text"]
