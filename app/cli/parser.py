"""The command line's grammar: global options, then one sub-parser per command."""

from __future__ import annotations

import argparse
from pathlib import Path

from app import __version__
from app.cli.commands import (
    CHECK_FAILED_EXIT,
    ask_command,
    eval_command,
    ingest_command,
    ui_command,
    users_command,
)
from app.errors import UserError


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
        type=argparse.FileType("rb"),  # each line decoded on its own (cli/jsonl.py)
        metavar="FILE",
        help='Answer many: each line {"id", "question"} and optionally "history" (earlier '
        'turns [{"question", "answer"}]); "-" reads stdin. Prints one JSON line each.',
    )
    ask.add_argument(
        "--history",
        type=_file,
        metavar="FILE",
        help='The conversation before QUESTION: a JSON list of {"question", "answer"} turns, '
        "oldest first; a follow-up is searched with the earlier turn's subject.",
    )
    phi = ask.add_mutually_exclusive_group()
    phi.add_argument(
        "--redact",
        action="store_true",
        help="With the chat model: send the question with the likely PHI the check finds "
        "replaced by placeholders ([NAME], [DATE], ...); search uses it as typed.",
    )
    phi.add_argument(
        "--allow-phi",
        action="store_true",
        help="With the chat model: send a question in which the PHI check found something "
        "as typed (only if the operator set PRIVACY_QA_PHI_ALLOW_SEND).",
    )


def _ui_options(ui: argparse.ArgumentParser) -> None:
    ui.add_argument(
        "--port", type=int, default=8501, help="Port of the page on 127.0.0.1 [default: 8501]."
    )
    ui.add_argument(
        "--host",
        default="127.0.0.1",
        help="Address to listen on. Only change it if others should reach the page: "
        "questions may contain PHI, so anything but loopback needs sign-in "
        "(PRIVACY_QA_USERS_FILE or PRIVACY_QA_OIDC_*) [default: 127.0.0.1].",
    )


def _users_options(users: argparse.ArgumentParser) -> None:
    users.add_argument("action", choices=["add", "remove", "list"], help="What to do.")
    users.add_argument("name", nargs="?", metavar="NAME", help="The user's name.")
    users.add_argument(
        "--password-stdin",
        action="store_true",
        help="Read the password from the first line of stdin instead of asking twice.",
    )


def _eval_options(evaluate: argparse.ArgumentParser) -> None:
    evaluate.add_argument(
        "--split",
        choices=["dev", "test", "paraphrase", "all"],
        default="all",
        help="Which questions to run (tune on dev; report test and paraphrase) [default: all].",
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
        "--feedback",
        action="store_true",
        help="Instead of running the eval, print candidate eval items (JSONL) made from the "
        "feedback stored by the chat page (DATA_DIR/feedback.jsonl), for a maintainer to "
        "review before adding them to the data set.",
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
    "users": (users_command, _users_options),
}
