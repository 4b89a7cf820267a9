"""The commands of ``privacy-qa``: each parses nothing, calls the facade (app/qa.py), prints.

Each command's docstring is its ``--help`` text (app/cli/parser.py).
"""

from __future__ import annotations

import argparse
import json
import sys

from app import qa
from app.cli.audited import audited
from app.cli.jsonl import BadLineError, check_argument, parse_line
from app.cli.output import ProgressBar, chosen, describe_ingest, echo, format_answer
from app.config import Settings
from app.errors import UserError
from app.ui import server

CHECK_FAILED_EXIT = 3  # `eval --check`: a metric is on the wrong side of its threshold


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
    for problem in report.routine_problems:
        echo(f"warning: support routine ignored: {problem}", err=True)
    if args.json:
        data = report.to_dict()
        data["files"] = data.pop("changes")
        echo(json.dumps(data))
    else:
        echo(describe_ingest(report, settings))
    return 0


def _stream_answer(session, question: str, history=(), send: str = "check"):
    """Print the answer as it is written, then the rest; return the final Answer."""
    streamed: list[str] = []
    answer = None
    for event in session.stream(question, history, send):
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

    Without QUESTION or --jsonl, asks interactively until an empty line or Ctrl-D,
    keeping the conversation: a follow-up ("and for files?") is searched with the earlier
    turn's subject.

    With the chat model (PRIVACY_QA_LLM=openai) a question is checked for likely PHI
    (names, dates, record or insurance numbers, SSNs, phones, e-mails, addresses) before it
    is sent: one with findings is refused (exit code 2) unless --redact or --allow-phi says
    what to send. Search always runs locally on the question as typed.
    """
    configure_logging(settings, args.verbose)
    send = "redact" if args.redact else "as_is" if args.allow_phi else "check"
    if args.question is not None and args.jsonl is not None:
        raise UserError("Give either QUESTION or --jsonl, not both.")
    if args.history is not None and args.question is None:
        raise UserError('--history goes with QUESTION (in --jsonl, give each line "history").')
    if args.question is not None:
        check_argument(args.question)
        history = _read_history(args.history) if args.history is not None else []
        session = _open(settings)
        if args.json:
            echo(json.dumps(session.ask(args.question, history, send).to_dict()))
        else:
            _stream_answer(session, args.question, history, send)
        return 0
    if args.jsonl is not None:
        with args.jsonl as lines:
            return _ask_jsonl(lambda: _open(settings), lines, send)
    _ask_interactively(_open(settings), args.json, send)
    return 0


def _open(settings: Settings):
    """The QA session, writing each question's audit event when the log is on."""
    return audited(settings, qa.open_qa(settings))


def _read_history(path) -> list:
    """The turns in a --history file (a JSON list of {"question", "answer"}), or a
    UserError saying what is wrong with it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"Cannot read the --history file {path}: {exc.strerror}.") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise UserError(
            f"The --history file {path} is not valid UTF-8 JSON: write a JSON list of "
            '{"question": "...", "answer": "..."} turns.'
        ) from None
    return qa.history(data, f"--history {path}")


def _ask_jsonl(open_session, lines, send: str = "check") -> int:
    """One output line per input line; a bad line gets an "error" and the rest go on.

    ``lines`` are bytes: each is decoded on its own (app/cli/jsonl.py). The session is
    opened (the model loaded) at the first line that parses, once.
    """
    failures = 0
    session = None
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            item = parse_line(raw, number)
        except BadLineError as exc:
            failures += 1
            echo(json.dumps({"id": exc.item_id, "error": str(exc)}))
            continue
        if session is None:
            session = open_session()
        try:
            answer = session.ask(item.question, item.history, send)
            result = {"id": item.id, **answer.to_dict()}
        except UserError as exc:
            failures += 1
            result = {"id": item.id, "error": str(exc)}
        echo(json.dumps(result))
    return 2 if failures else 0


def _ask_interactively(session, as_json: bool, send: str = "check") -> None:
    echo("Ask about the indexed documents (empty line or Ctrl-D to quit).", err=True)
    session.warm_up()
    history: list[qa.Turn] = []
    previous = None  # the last answer: its numbered choices, if it asked back
    while True:
        echo("question: ", end="", err=True)
        try:
            question = input()
        except (EOFError, KeyboardInterrupt):  # Ctrl-D or Ctrl-C at the prompt: done
            echo(err=True)
            break
        if not question.strip():
            break
        question = chosen(question, previous)
        try:
            if as_json:
                answer = session.ask(question, history, send)
                echo(json.dumps(answer.to_dict()))
            else:
                answer = _stream_answer(session, question, history, send)
                echo()
            history.append(qa.Turn(answer.question, answer.answer))
            previous = answer
        except UserError as exc:
            echo(f"error: {exc}", err=True)


# ---------------------------------------------------------------------------------- ui


def ui_command(settings: Settings, args: argparse.Namespace) -> int:
    """Start the chat page (Streamlit) and print its address; Ctrl-C stops it."""
    configure_logging(settings, args.verbose)
    server.serve(settings, args.host, args.port)
    return 0


# ------------------------------------------------------------------------------- users


def users_command(settings: Settings, args: argparse.Namespace) -> int:
    """Manage who may sign in to the chat page with a password: the users file that
    PRIVACY_QA_USERS_FILE names (scrypt hashes, mode 600; no password is stored).

      privacy-qa users add NAME      # asks for the password twice (or --password-stdin)
      privacy-qa users remove NAME
      privacy-qa users list
    """
    if args.action == "list":
        for name in qa.user_names(settings):
            echo(name)
        return 0
    if not args.name:
        raise UserError(f"Name the user: `privacy-qa users {args.action} NAME`.")
    if args.action == "remove":
        qa.remove_user(settings, args.name)
        echo(f"Removed {args.name} from {settings.users_file}.", err=True)
        return 0
    password = _new_password(args.password_stdin)
    new = qa.add_user(settings, args.name, password)
    done = "Added" if new else "Set a new password for"
    echo(f"{done} {args.name} in {settings.users_file}.", err=True)
    return 0


def _new_password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, or typed twice at the terminal."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UserError(
            "No terminal to type the password in: pass it on stdin with --password-stdin."
        )
    import getpass

    password = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != password:
        raise UserError("The two passwords differ: run the command again.")
    return password


# -------------------------------------------------------------------------------- eval


def eval_command(settings: Settings, args: argparse.Namespace) -> int:
    """Run the eval questions and report retrieval, answer, citation, abstention and
    latency metrics, per topic, with deltas against the baseline.

    Needs an index: run `privacy-qa ingest` first, or pass --fresh-index.
    """
    configure_logging(settings, args.verbose)
    if args.feedback:
        return _feedback_candidates(settings)
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


def _feedback_candidates(settings: Settings) -> int:
    """Print one candidate eval item per stored feedback entry that kept its question."""
    found = qa.feedback_candidates(settings)
    for item in found.items:
        echo(json.dumps(item, ensure_ascii=False))
    echo(
        f"{len(found.items)} candidate eval items from {found.total} feedback entries "
        f"({found.without_question} without their question) in {settings.data_dir}; "
        "review each (facts, sources, split) before adding it to evals/questions.jsonl.",
        err=True,
    )
    return 0


def configure_logging(settings: Settings, verbose: int) -> None:
    """Log to stderr at the level asked for (-v info, -vv debug, else the log_level setting).

    Each command calls this as its real work starts, not before: a no-op ingest neither
    logs nor imports logging (tests/test_startup.py).
    """
    import logging

    level = {0: settings.log_level, 1: "INFO"}.get(verbose, "DEBUG")
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
