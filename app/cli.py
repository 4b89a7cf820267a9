"""The ``privacy-qa`` command line. Thin: it parses, calls the core, prints.

Exit codes: 0 ok, 2 user error (one clear sentence on stderr), 1 internal error,
3 ``eval --check`` found a metric below its threshold, 130 interrupted (Ctrl-C).

It talks to the core only through the facade, app/qa.py (and starts the page through
app/ui/server.py). Logging is configured when a command's real work starts, so a no-op
``privacy-qa ingest`` stays cheap (tests/test_startup.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app import __version__, qa
from app.config import Settings, load_settings
from app.errors import PrivacyQAError, UserError
from app.ui import server

CHECK_FAILED_EXIT = 3  # `eval --check`: a metric is on the wrong side of its threshold
INTERRUPTED_EXIT = 130  # Ctrl-C, as shells report a SIGINT


def echo(text: str = "", *, end: str = "\n", err: bool = False) -> None:
    """Print and flush at once, so streamed answers and JSON lines reach a pipe as they come."""
    print(text, end=end, file=sys.stderr if err else sys.stdout, flush=True)


class ProgressBar:
    """``embedding chunks [#######-----------] 120/310``, redrawn in place on stderr."""

    width = 30

    def __init__(self, label: str):
        self.label = label
        self.drawn = False

    def update(self, done: int, total: int) -> None:
        filled = self.width * min(done, total) // total
        bar = "#" * filled + "-" * (self.width - filled)
        echo(f"\r{self.label} [{bar}] {done:>{len(str(total))}}/{total}", end="", err=True)
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            echo(err=True)  # leave the last state on its own line


# ------------------------------------------------------------------------------ ingest


def ingest_command(settings: Settings, args: argparse.Namespace) -> int:
    """Bring the index up to date with the corpus dir.

    Incremental: only new and changed files are embedded; chunks of changed and deleted
    files are removed. Nothing changed means nothing is loaded: the files are only hashed
    (or only looked at, once their hashes are cached). A new embedding model or chunking
    setting rebuilds the index (and says so). Safe to interrupt: the next run finishes the
    job, and questions are answered meanwhile.
    """
    if not args.rebuild:
        # Answered before the machinery of a real ingest (and logging) is imported.
        report = qa.unchanged_report(settings, dry_run=args.dry_run)
        if report is not None:
            return _print_ingest(report, settings, args)
    configure_logging(settings, args.verbose)

    bar = ProgressBar("embedding chunks")
    show_progress = sys.stderr.isatty() and not args.json

    def progress(done: int, total: int) -> None:
        if show_progress and total > 0:
            bar.update(done, total)

    try:
        report = qa.ingest(
            settings, rebuild=args.rebuild, dry_run=args.dry_run, on_progress=progress
        )
    finally:
        bar.close()
    return _print_ingest(report, settings, args)


def _print_ingest(report, settings: Settings, args: argparse.Namespace) -> int:
    for skipped in report.skipped:
        echo(f"warning: skipped {skipped['source']}: {skipped['reason']}", err=True)
    if args.json:
        data = report.to_dict()
        data["files"] = data.pop("changes")
        echo(json.dumps(data))
    else:
        echo(describe_ingest(report, settings))
    return 0


def describe_ingest(report, settings: Settings) -> str:
    """The human summary of an ingest: what changed, in documents and chunks, and the time."""
    lines = []
    verb = "Would index" if report.dry_run else "Indexed"
    if report.rebuilt:
        lines.append(
            f"{'Would rebuild' if report.dry_run else 'Rebuilt'} the index "
            f"({report.rebuild_reason})."
        )
    if report.recovered:
        lines.append("Finished the work of an interrupted ingest.")
    if (
        not report.rebuilt
        and not report.recovered
        and not (report.added or report.updated or report.deleted)
    ):
        lines.append(
            f"Nothing changed: {report.documents} documents, {report.chunks} chunks in "
            f"{settings.data_dir} ({report.seconds:.2f} s)."
        )
        return "\n".join(lines)
    lines.append(
        f"{verb} {report.documents} documents as {report.chunks} chunks in "
        f"{settings.data_dir} ({report.seconds:.1f} s)."
    )
    lines.append(
        f"  documents: {report.added} added, {report.updated} updated, "
        f"{report.deleted} deleted, {report.unchanged} unchanged"
    )
    lines.append(
        f"  chunks:    {report.chunks_added} added, {report.chunks_deleted} deleted, "
        f"{report.chunks_unchanged} unchanged"
    )
    for name in ("added", "updated", "deleted"):
        for source in getattr(report.changes, name):
            lines.append(f"  {name:>8} {source}")
    if report.skipped:
        lines.append(f"  {len(report.skipped)} files skipped (see warnings above).")
    return "\n".join(lines)


def format_answer(answer, streamed: str | None = None) -> str:
    """Human-readable answer: the text, then numbered sources with their quotes, then any
    notices, token usage and the endpoints data was sent to.

    ``streamed`` is the text already printed while the answer streamed: the answer text
    is printed again only if the final (checked) text differs from it.
    """
    if streamed is None:
        lines = [answer.answer]
    elif streamed.strip() == answer.answer.strip():
        lines = [""]  # ends the streamed line
    elif not streamed.strip():
        lines = [answer.answer]
    else:
        lines = ["", "", "Checked answer:", answer.answer]
    if answer.citations:
        lines += ["", "Sources:"]
        for c in answer.citations:
            lines.append(f"[{c.n}] {c.title} — {c.section}")
            where = f"{c.source}:{c.start_line}"
            lines.append(f"    {where}" + (f"  {c.url}" if c.url else ""))
            lines.append(f'    "{" ".join(c.quote.split())}"')
    if answer.notices:
        lines += ["", "Notes:"] + [f"- {notice}" for notice in answer.notices]
    if answer.usage:
        usage = answer.usage
        cost = usage.get("cost_usd")
        lines += [
            "",
            f"Tokens: {usage['prompt_tokens']} prompt + {usage['completion_tokens']} completion "
            f"({usage['model']}"
            + (f", about ${cost:.5f})" if cost is not None else ", no price known)"),
        ]
    if answer.endpoints:
        lines.append("Sent to: " + "; ".join(answer.endpoints))
    return "\n".join(lines)


def _stream_answer(session, question: str):
    """Print the answer as it is written, then the rest; return the final Answer."""
    streamed: list[str] = []
    answer = None
    for event in session.stream(question):
        if isinstance(event, qa.TextDelta):
            echo(event.text, end="")
            streamed.append(event.text)
        else:
            answer = event
    echo(format_answer(answer, "".join(streamed)))
    return answer


# --------------------------------------------------------------------------------- ask


def ask_command(settings: Settings, args: argparse.Namespace) -> int:
    """Answer QUESTION from the indexed documents, with citations.

    Without QUESTION or --jsonl, asks interactively until an empty line or Ctrl-D.
    """
    configure_logging(settings, args.verbose)
    if args.question is not None and args.jsonl is not None:
        raise UserError("Give either QUESTION or --jsonl, not both.")
    if args.question is not None:
        session = qa.open_qa(settings)
        if args.json:
            echo(json.dumps(session.ask(args.question).to_dict()))
        else:
            _stream_answer(session, args.question)
        return 0
    if args.jsonl is not None:
        with args.jsonl as lines:
            return _ask_jsonl(qa.open_qa(settings), lines)
    _ask_interactively(qa.open_qa(settings), args.json)
    return 0


def _ask_jsonl(session, lines) -> int:
    """One output line per input line; a bad line gets an "error" and the rest go on."""
    failures = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        item_id = None
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("question"), str):
                raise UserError(f'line {number}: expected {{"id": ..., "question": "..."}}')
            item_id = item.get("id")
            result = {"id": item_id, **session.ask(item["question"]).to_dict()}
        except json.JSONDecodeError as exc:
            failures += 1
            result = {"id": None, "error": f"line {number}: not valid JSON ({exc.msg})"}
        except UserError as exc:
            failures += 1
            result = {"id": item_id, "error": str(exc)}
        echo(json.dumps(result))
    return 2 if failures else 0


def _ask_interactively(session, as_json: bool) -> None:
    echo("Ask about the indexed documents (empty line or Ctrl-D to quit).", err=True)
    session.warm_up()
    while True:
        echo("question: ", end="", err=True)
        try:
            question = input()
        except (EOFError, KeyboardInterrupt):  # Ctrl-D or Ctrl-C at the prompt: done
            echo(err=True)
            break
        if not question.strip():
            break
        try:
            if as_json:
                echo(json.dumps(session.ask(question).to_dict()))
            else:
                _stream_answer(session, question)
                echo()
        except UserError as exc:
            echo(f"error: {exc}", err=True)


# ---------------------------------------------------------------------------------- ui


def ui_command(settings: Settings, args: argparse.Namespace) -> int:
    """Start the chat page (Streamlit) and print its address; Ctrl-C stops it."""
    configure_logging(settings, args.verbose)
    server.serve(settings, args.host, args.port)
    return 0


# -------------------------------------------------------------------------------- eval


def eval_command(settings: Settings, args: argparse.Namespace) -> int:
    """Run the eval questions and report retrieval, answer, citation, abstention and
    latency metrics, per topic, with deltas against the baseline.

    Needs an index: run `privacy-qa ingest` first, or pass --fresh-index.
    """
    configure_logging(settings, args.verbose)
    show_progress = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show_progress:
            echo(f"\rquestions: {done}/{total}", end="\n" if done >= total else "", err=True)

    report = qa.run_eval(
        settings,
        dataset=args.dataset,
        baseline=args.baseline,
        thresholds=args.thresholds,
        split=args.split,
        out=args.out,
        check=args.check,
        judge=args.judge,
        fresh_index=args.fresh_index,
        save_baseline=args.save_baseline,
        on_progress=progress,
        on_note=lambda line: echo(line, err=True),
    )
    echo(report.summary())
    if report.baseline is None:
        echo(f"\n(no baseline for split {args.split} in {args.baseline}: no deltas)")
    echo(f"\nreport: {', '.join(str(p) for p in report.paths)}")
    if args.save_baseline:
        echo(f"saved this run as the {args.split} baseline in {args.baseline}")
    if report.below and not args.check:
        echo("below threshold (not checked without --check): " + "; ".join(report.below))
    if args.check:
        if report.failures:
            echo("check FAILED: " + "; ".join(report.failures), err=True)
            return CHECK_FAILED_EXIT
        count = len(report.thresholds)
        echo(f"check passed: {count} metrics within the thresholds in {args.thresholds}")
    return 0


# ---------------------------------------------------------------------- parsing, main


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one sentence and exit code 2, like every
    other user error (argparse itself prints the usage and exits)."""

    def error(self, message: str):
        raise UserError(f"{message} (see `{self.prog} --help`).")


def _directory(text: str) -> Path:
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a file, not a directory")
    return path


def _file(text: str) -> Path:
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory, not a file")
    return path


def _command(subparsers, name: str, run) -> argparse.ArgumentParser:
    """Add command ``name`` that calls ``run``; its docstring is the command's help."""
    doc = "\n".join(line.removeprefix("    ") for line in run.__doc__.splitlines())
    parser = subparsers.add_parser(
        name,
        help=doc.split("\n\n")[0].replace("\n", " "),
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.set_defaults(run=run)
    return parser


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The command line: global options, then one sub-parser per command.

    Given ``argv``, only the commands named in it get their sub-parser (all of them if it
    names none, as for ``--help`` or a typo): a command pays only for its own parser.
    """
    parser = _Parser(
        prog="privacy-qa",
        description=(
            "Ask cited questions about privacy and compliance documents, offline by default.\n"
            "\n"
            "Typical use:\n"
            "  privacy-qa ingest                      # index ./corpus into ./.data\n"
            '  privacy-qa ask "How long is API data retained?"\n'
            '  privacy-qa ask --json "Which endpoints are ZDR-eligible?"\n'
            "\n"
            "Settings come from PRIVACY_QA_* environment variables (see README)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument(
        "--data-dir",
        type=_directory,
        metavar="DIR",
        help="Where the index lives (env PRIVACY_QA_DATA_DIR, default .data).",
    )
    parser.add_argument(
        "--corpus-dir",
        type=_directory,
        metavar="DIR",
        help="Documents to index (env PRIVACY_QA_CORPUS_DIR, default corpus).",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="More log output on stderr (-vv for debug).",
    )
    parser.add_argument("--version", action="version", version=f"privacy-qa {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    named = [name for name in COMMANDS if argv is None or name in argv]
    for name in named or COMMANDS:
        run, add_options = COMMANDS[name]
        add_options(_command(commands, name, run))
    return parser


def _ingest_options(ingest: argparse.ArgumentParser) -> None:
    ingest.add_argument("--json", action="store_true", help="Print the result as one JSON object.")
    ingest.add_argument(
        "--dry-run", action="store_true", help="Report what would change; write nothing."
    )
    ingest.add_argument(
        "--rebuild", action="store_true", help="Start from an empty index and embed everything."
    )


def _ask_options(ask: argparse.ArgumentParser) -> None:
    ask.add_argument("question", nargs="?", metavar="QUESTION", help="The question (quote it).")
    ask.add_argument("--json", action="store_true", help="Print the answer as one JSON object.")
    ask.add_argument(
        "--jsonl",
        type=argparse.FileType("r", encoding="utf-8"),
        metavar="FILE",
        help='Answer many: each line {"id", "question"}; "-" reads stdin. '
        "Prints one JSON line each.",
    )


def _ui_options(ui: argparse.ArgumentParser) -> None:
    ui.add_argument(
        "--port", type=int, default=8501, help="Port of the page on 127.0.0.1 [default: 8501]."
    )
    ui.add_argument(
        "--host",
        default="127.0.0.1",
        help="Address to listen on. Only change it if others should reach the page: "
        "questions may contain PHI [default: 127.0.0.1].",
    )


def _eval_options(evaluate: argparse.ArgumentParser) -> None:
    evaluate.add_argument(
        "--split",
        choices=["dev", "test", "all"],
        default="all",
        help="Which questions to run (tune on dev, report test) [default: all].",
    )
    evaluate.add_argument(
        "--check",
        action="store_true",
        help=f"Exit with code {CHECK_FAILED_EXIT} if a metric misses its threshold (--thresholds).",
    )
    evaluate.add_argument(
        "--out",
        type=_directory,
        metavar="DIR",
        help="Where report.json, report.md and report.png go [default: DATA_DIR/eval-report].",
    )
    evaluate.add_argument(
        "--judge",
        action="store_true",
        help="Also grade faithfulness and relevancy with an LLM (needs OPENAI_API_KEY).",
    )
    evaluate.add_argument(
        "--dataset",
        type=_file,
        default=Path("evals/questions.jsonl"),
        metavar="FILE",
        help="The eval questions (JSONL) [default: evals/questions.jsonl].",
    )
    evaluate.add_argument(
        "--baseline",
        type=_file,
        default=Path("evals/baseline.json"),
        metavar="FILE",
        help="Committed metrics to compare with [default: evals/baseline.json].",
    )
    evaluate.add_argument(
        "--thresholds",
        type=_file,
        default=Path("evals/thresholds.toml"),
        metavar="FILE",
        help="Minimum (latency: maximum) value of each metric, one table per split "
        "[default: evals/thresholds.toml].",
    )
    evaluate.add_argument(
        "--save-baseline",
        action="store_true",
        help="Record this run's metrics as the split's baseline.",
    )
    evaluate.add_argument(
        "--fresh-index",
        action="store_true",
        help="Index the corpus into a temporary dir first instead of using DATA_DIR's index.",
    )


# Each command: the function that runs it (its docstring is the help) and its options.
COMMANDS = {
    "ingest": (ingest_command, _ingest_options),
    "ask": (ask_command, _ask_options),
    "ui": (ui_command, _ui_options),
    "eval": (eval_command, _eval_options),
}


def _run(argv: list[str] | None) -> int:
    parser = build_parser(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):  # no command: show what there is
        parser.print_help()
        return 2
    settings = load_settings(data_dir=args.data_dir, corpus_dir=args.corpus_dir)
    if args.verbose:  # at once, so even a failure before a command's real work is logged
        configure_logging(settings, args.verbose)
    return args.run(settings, args)


def configure_logging(settings: Settings, verbose: int) -> None:
    """Log to stderr at the level asked for (-v info, -vv debug, else the log_level setting).

    Each command calls this as its real work starts, not before: a no-op ingest neither
    logs nor imports logging (tests/test_startup.py).
    """
    import logging

    level = {0: settings.log_level, 1: "INFO"}.get(verbose, "DEBUG")
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the command line (``argv``, default ``sys.argv``)
    and turn errors into messages and exit codes."""
    try:
        sys.exit(_run(argv))
    except KeyboardInterrupt:
        echo("\nAborted.", err=True)
        sys.exit(INTERRUPTED_EXIT)
    except UserError as exc:
        echo(f"error: {exc}", err=True)
        sys.exit(2)
    except PrivacyQAError as exc:
        echo(f"error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # a bug: say so briefly; -vv shows the traceback
        import logging

        logging.getLogger(__name__).debug("internal error", exc_info=True)
        echo(
            f"internal error: {exc.__class__.__name__}: {exc} (run with -vv for the traceback)",
            err=True,
        )
        sys.exit(1)
