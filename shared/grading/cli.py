"""Command line of the grader: ``python -m shared.grading`` (and ``... merge``)."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import shared.checks
from shared.projects import PROJECTS
from shared.grading import reports, sandbox
from shared.grading.projects import grade_project
from shared.grading.runner import (SubmissionResult, UsageError, find_submissions, grade_submission,
                                   load_questions, module_file, resolve_chapter)


def add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, help="long score table as CSV (one row per submission x question)")
    p.add_argument("--json", type=Path, help="the scores as JSON")
    p.add_argument("--gradebook", type=Path, help="gradebook CSV: one row per submission, a column per question")
    p.add_argument("--feedback-dir", type=Path, metavar="DIR",
                   help="write DIR/<student>.feedback.md per submission, in the student's language (<student>: the file's stem, or its folder's name when the file is named like the chapter)")
    p.add_argument("--lang", choices=("en", "es"), default="en",
                   help="language of the score tables (feedback files use each student's language)")


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface of grading."""
    d = sandbox.Limits()
    p = argparse.ArgumentParser(
        prog="python -m shared.grading",
        description="Grade exercise notebooks: run each in a sandboxed kernel and evaluate its answers "
                    "on secret inputs with the answer key. Project notebooks (mdn-project, "
                    "vae-project, gan-project) are not run: the model file next to each is loaded in the sandbox and "
                    "measured. `python -m shared.grading merge --help` "
                    "combines the result files of independent jobs.")
    p.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION",
                   help="a notebook, or a folder whose *.ipynb are all graded")
    p.add_argument("--chapter", help="chapter of every submission (default: the file stem)")
    add_output_options(p)
    p.add_argument("--result-dir", type=Path, metavar="DIR",
                   help="also write DIR/<stem>.result.json per submission (for `merge`); needs --seed")
    p.add_argument("-j", "--jobs", type=int, default=1, help="submissions graded in parallel (default 1)")
    p.add_argument("--seed", type=int, help="seed of the secret inputs (default: random; give the same "
                                            "one to every job of a class)")
    p.add_argument("--timeout", type=int, default=d.cell_seconds, help="per-cell time limit, seconds")
    p.add_argument("--time-limit", type=float, default=d.wall_seconds,
                   help="whole-notebook time limit, seconds (0: none)")
    p.add_argument("--memory-mb", type=int, default=d.memory_mb,
                   help="memory limit (proportional set size of all processes of a submission, shared pages counted once), MB (0: none)")
    p.add_argument("--max-processes", type=int, default=d.processes,
                   help="processes a submission may run at once (0: none)")
    p.add_argument("--output-mb", type=float, default=d.output_mb,
                   help="output a submission may print, MB (0: none)")
    p.add_argument("--keep-executed", type=Path, metavar="DIR",
                   help="keep the executed notebooks in DIR (for inspecting failures)")
    p.add_argument("--full", action="store_true",
                   help="full training budgets (default: quick, COURSE_QUICK=1)")
    p.add_argument("--questions-module", metavar="MODULE",
                   help="grade against MODULE.QUESTIONS, registered as --chapter (a chapter not yet "
                        "in shared.checks.CHAPTERS); it is copied into the kernel's runtime")
    p.add_argument("--key-module", metavar="MODULE",
                   help="the answer key (KEYS) of --questions-module (never copied to the kernel)")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run kernels without the namespace sandbox (only where it cannot start; "
                        "the course files and your files are then reachable by submissions)")
    return p


def result_file_name(submission: Path) -> str:
    """``<stem>-<8 hex of its path>.result.json``: unique for same-named files in other folders."""
    import hashlib

    tag = hashlib.sha256(str(submission.resolve()).encode()).hexdigest()[:8]
    return f"{submission.stem}-{tag}.result.json"


def merge_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m shared.grading merge",
                                description="Combine the result files of independent grading jobs.")
    p.add_argument("results", nargs="+", type=Path, metavar="RESULT",
                   help="<stem>.result.json files, or folders of them")
    add_output_options(p)
    return p


def register_questions_module(chapter: str | None, module: str) -> None:
    """Register ``module`` as ``chapter`` in :data:`shared.checks.CHAPTERS` (grader side)."""
    import importlib

    if not chapter:
        raise UsageError("--questions-module needs --chapter NAME (the name to register it as).")
    try:
        importlib.import_module(module)
    except Exception as exc:
        raise UsageError(f"cannot import --questions-module {module!r} "
                         f"({type(exc).__name__}: {exc}); is its folder on PYTHONPATH?") from None
    shared.checks.CHAPTERS[chapter] = module


def check_output_paths(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    for option in ("out", "json", "gradebook"):
        target = getattr(args, option)
        if target is not None and not target.resolve().parent.is_dir():
            parser.error(f"--{option} {target}: folder {target.resolve().parent} does not exist; create it first")


def write_reports(results: list[SubmissionResult], args: argparse.Namespace) -> None:
    for r in results:  # the tables' language
        for s in r.scores:
            s.feedback = s.feedback_by_lang.get(args.lang, s.feedback)
            s.title = s.title_by_lang.get(args.lang, s.title)
        if r.error_by_lang:
            r.error = r.error_by_lang.get(args.lang, r.error)
    print(reports.summary_table(results))
    writers = {"out": lambda path: reports.write_csv(results, path, args.lang),
               "json": lambda path: reports.write_json(results, path),
               "gradebook": lambda path: reports.write_gradebook(results, path, args.lang)}
    for option, write in writers.items():
        target = getattr(args, option)
        if target is not None:
            write(target)
            print(f"wrote {target}")
    if args.feedback_dir is not None:
        written = reports.write_feedback(results, args.feedback_dir)
        print(f"wrote {len(written)} feedback files to {args.feedback_dir}")


def merge_main(argv: list[str]) -> int:
    """``python -m shared.grading merge ...``."""
    parser = merge_parser()
    args = parser.parse_args(argv)
    check_output_paths(parser, args)
    files: list[Path] = []
    for path in args.results:
        files += sorted(path.glob("*.result.json")) if path.is_dir() else [path]
    results = []
    for f in files:
        try:
            results.append(SubmissionResult.from_json(json.loads(f.read_text(encoding="utf-8"))))
        except Exception as exc:
            print(f"error: {f} is not a grading result file ({type(exc).__name__}: {exc})", file=sys.stderr)
            return 2
    if not results:
        print("error: no result files to merge", file=sys.stderr)
        return 2
    groups = {(r.chapter, r.inputs_id) for r in results}
    chapters = {c for c, _ in groups}
    if len(groups) > len(chapters):
        print("error: these results were graded on different secret inputs (different --seed); "
              "grade every job of a class with the same --seed", file=sys.stderr)
        return 2
    results.sort(key=lambda r: r.submission)
    write_reports(results, args)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m shared.grading``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["merge"]:
        return merge_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error("--timeout must be a positive number of seconds")
    if args.jobs < 1:
        parser.error("-j/--jobs must be at least 1")
    if bool(args.questions_module) != bool(args.key_module):
        parser.error("--questions-module and --key-module go together")
    if args.result_dir is not None and args.seed is None:
        parser.error("--result-dir writes results for `merge`: give every job the same --seed")
    check_output_paths(parser, args)
    try:
        if args.questions_module:
            register_questions_module(args.chapter, args.questions_module)
        submissions = find_submissions(args.submissions)
        chapters = [resolve_chapter(s, args.chapter) for s in submissions]
        for chapter in sorted(set(chapters) - set(PROJECTS)):
            load_questions(chapter, args.key_module)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    isolate = not args.no_sandbox
    if isolate:
        ok, why = sandbox.namespaces_available()
        if not ok:
            print(f"error: the grading sandbox cannot start on this machine ({why}). Run the grader as "
                  "root, or enable unprivileged user namespaces, or pass --no-sandbox inside a "
                  "disposable container or VM.", file=sys.stderr)
            return 2
    else:
        print("warning: --no-sandbox: submissions run with access to the course files and the "
              "grader's user; use a disposable container or VM", file=sys.stderr)
    limits = sandbox.Limits(wall_seconds=args.time_limit, cell_seconds=args.timeout,
                            memory_mb=args.memory_mb, processes=args.max_processes, output_mb=args.output_mb)
    seed = args.seed if args.seed is not None else secrets.randbits(64)
    if args.result_dir is not None:
        args.result_dir.mkdir(parents=True, exist_ok=True)
    hide = sorted({s.resolve().parent for s in submissions}
                  | {p.resolve().parent for p in (args.out, args.json, args.gradebook) if p}
                  | {p.resolve() for p in (args.feedback_dir, args.result_dir, args.keep_executed) if p})
    with tempfile.TemporaryDirectory(prefix="grading-runtime-") as runtime_tmp:
        extra = [p for p in [module_file(args.questions_module)] if p] if args.questions_module else []
        runtime = sandbox.build_runtime(Path(runtime_tmp) / "runtime", extra)
        Path(runtime_tmp).chmod(0o755)

        def job(submission: Path, chapter: str) -> SubmissionResult:
            if chapter in PROJECTS:  # a project: its saved model is loaded and measured
                return grade_project(submission, chapter, seed=seed, lang=args.lang, isolate=isolate,
                                     runtime=runtime, hide=hide)
            return grade_submission(
                submission, chapter, seed=seed, limits=limits, lang=args.lang, full=args.full,
                questions_module=args.questions_module, key_module=args.key_module,
                keep_dir=args.keep_executed,
                isolate=isolate, runtime=runtime, hide=hide)

        results: list[SubmissionResult | None] = [None] * len(submissions)
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = {pool.submit(job, s, c): i for i, (s, c) in enumerate(zip(submissions, chapters))}
            for done, future in enumerate(as_completed(futures), start=1):
                i = futures[future]
                r = results[i] = future.result()
                status = f"  ({r.error})" if r.error else ""
                print(f"[{done}/{len(submissions)}] {r.submission}: {r.points:g}/{r.max_points:g} "
                      f"in {r.seconds:.1f} s{status}", file=sys.stderr, flush=True)
                if args.result_dir is not None:
                    target = args.result_dir / result_file_name(Path(r.submission))
                    target.write_text(json.dumps(r.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    write_reports([r for r in results if r is not None], args)
    return 0
