"""What the grader writes: score tables (CSV, JSON), a gradebook, feedback per submission."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from shared.grading.runner import SubmissionResult

CSV_COLUMNS = ("submission", "question", "title", "points", "max_points", "passed", "feedback")


def fmt_points(x: float) -> str:
    """``1.0`` -> ``"1"``, ``0.5`` -> ``"0.5"``."""
    return f"{x:g}"


def passed_count(n_passed: int, n: int, lang: str) -> str:
    """``"4/6 questions passed"`` in ``lang``."""
    return f"{n_passed}/{n} " + ("preguntas aprobadas" if lang == "es" else "questions passed")


def csv_rows(results: list[SubmissionResult], lang: str = "en") -> list[dict[str, str]]:
    """One row per submission x question, then a ``TOTAL`` row per submission."""
    rows = []
    for r in results:
        for s in r.scores:
            rows.append({"submission": r.submission, "question": s.qid, "title": s.title,
                         "points": fmt_points(s.points), "max_points": fmt_points(s.max_points),
                         "passed": str(s.passed).lower(), "feedback": s.feedback})
        n_passed = sum(s.passed for s in r.scores)
        rows.append({"submission": r.submission, "question": "TOTAL", "title": "",
                     "points": fmt_points(r.points), "max_points": fmt_points(r.max_points),
                     "passed": "",
                     "feedback": r.error or passed_count(n_passed, len(r.scores), lang)})
    return rows


def write_csv(results: list[SubmissionResult], path: Path, lang: str = "en") -> None:
    """The long score table: one row per submission and question."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(csv_rows(results, lang))


def student_name(result: SubmissionResult) -> str:
    """Who handed it in: the file's stem, or its folder's name when the file keeps the chapter's
    name (``alice/mdn-project.ipynb`` -> ``alice``)."""
    path = Path(result.submission)
    return path.parent.name if path.stem == result.chapter and path.parent.name else path.stem


def gradebook_rows(results: list[SubmissionResult]) -> tuple[list[str], list[dict[str, str]]]:
    """Columns and rows of the gradebook: one row per submission, a column per question."""
    qids = list(dict.fromkeys(s.qid for r in results for s in r.scores))
    columns = ["student", "submission", *qids, "total", "max_points", "status"]
    rows = []
    for r in results:
        by_qid = {s.qid: fmt_points(s.points) for s in r.scores}
        rows.append({"student": student_name(r), "submission": r.submission,
                     **{q: by_qid.get(q, "") for q in qids},
                     "total": fmt_points(r.points), "max_points": fmt_points(r.max_points),
                     "status": r.error or "ok"})
    return columns, rows


def write_gradebook(results: list[SubmissionResult], path: Path, lang: str = "en") -> None:
    """The gradebook CSV that LMS gradebooks import (one row per submission; ``status`` is
    ``ok`` or the reason the run failed, in ``lang``; the column names stay machine-readable)."""
    columns, rows = gradebook_rows(results)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def json_report(results: list[SubmissionResult]) -> list[dict[str, Any]]:
    """One object per submission with its questions and totals."""
    return [{"submission": r.submission, "chapter": r.chapter, "points": r.points,
             "max_points": r.max_points, "error": r.error, "language": r.language,
             "seconds": r.seconds, "peak_memory_mb": r.peak_memory_mb, "sandboxed": r.sandboxed,
             "questions": [{"question": s.qid, "title": s.title, "points": s.points,
                            "max_points": s.max_points, "passed": s.passed, "feedback": s.feedback}
                           for s in r.scores]}
            for r in results]


def write_json(results: list[SubmissionResult], path: Path) -> None:
    """The scores as JSON."""
    path.write_text(json.dumps(json_report(results), indent=1, ensure_ascii=False) + "\n",
                    encoding="utf-8")


FEEDBACK_TEXT = {
    "en": {"title": "Feedback: {name}", "chapter": "Chapter", "score": "Score", "question": "Question",
           "points": "Points", "comment": "Comment", "run": "The notebook could not be graded as a whole",
           "note": "Graded on new inputs that your notebook never saw: only what your functions "
                   "compute counts."},
    "es": {"title": "Devolución: {name}", "chapter": "Capítulo", "score": "Puntaje", "question": "Pregunta",
           "points": "Puntos", "comment": "Comentario", "run": "El cuaderno no pudo calificarse en conjunto",
           "note": "Calificado con entradas nuevas que tu cuaderno nunca vio: solo cuenta lo que "
                   "calculan tus funciones."},
}


def feedback_markdown(result: SubmissionResult, lang: str | None = None) -> str:
    """The feedback file of one submission, in the student's language (Markdown)."""
    lang = lang or result.language
    t = FEEDBACK_TEXT["es" if lang == "es" else "en"]
    name = Path(result.submission).name
    lines = [f"# {t['title'].format(name=name)}", "",
             f"- {t['chapter']}: {result.chapter}",
             f"- {t['score']}: **{fmt_points(result.points)} / {fmt_points(result.max_points)}**", ""]
    if result.error_by_lang:
        lines += [f"**{t['run']}:** {result.error_by_lang.get(lang, result.error)}", ""]
    lines += [f"| {t['question']} | {t['points']} | {t['comment']} |", "|---|---|---|"]
    for s in result.scores:
        title = s.title_by_lang.get(lang, s.title)
        comment = s.feedback_by_lang.get(lang, s.feedback).replace("|", "\\|").replace("\n", " ")
        mark = "✅" if s.passed else "❌"
        lines.append(f"| {s.qid} — {title} | {mark} {fmt_points(s.points)}/{fmt_points(s.max_points)} | {comment} |")
    lines += ["", f"_{t['note']}_", ""]
    return "\n".join(lines)


def write_feedback(results: list[SubmissionResult], folder: Path) -> list[Path]:
    """``<folder>/<stem>.feedback.md`` for every submission (never overwriting another's)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for r in results:
        target = folder / f"{student_name(r)}.feedback.md"
        counter = 1
        while target in written:
            counter += 1
            target = folder / f"{student_name(r)}-{counter}.feedback.md"
        target.write_text(feedback_markdown(r), encoding="utf-8")
        written.append(target)
    return written


def summary_table(results: list[SubmissionResult]) -> str:
    """Compact text table: one line per submission, one column per question."""
    qids = list(dict.fromkeys(s.qid for r in results for s in r.scores))
    width = max([len("submission")] + [len(r.submission) for r in results])
    header = f"{'submission':<{width}}  " + "  ".join(f"{q:>8}" for q in qids) + "     total"
    lines = [header, "-" * len(header)]
    for r in results:
        by_qid = {s.qid: f"{fmt_points(s.points)}/{fmt_points(s.max_points)}" for s in r.scores}
        cells = "  ".join(f"{by_qid.get(q, '-'):>8}" for q in qids)
        total = f"{fmt_points(r.points)}/{fmt_points(r.max_points)}"
        line = f"{r.submission:<{width}}  {cells}  {total:>8}"
        lines.append(line + (f"  ({r.error})" if r.error else ""))
    return "\n".join(lines)
