"""The ``privacy-qa`` command line. Thin: it parses, calls the core, prints.

Exit codes: 0 ok, 2 user error (one clear sentence on stderr), 1 internal error,
3 ``eval --check`` found a metric below its threshold, 130 interrupted (Ctrl-C), 141 the
reader of the output went away (``privacy-qa ask ... | head -1``), as shells report it.

``parser`` holds the grammar, ``commands`` what each command does (through the facade,
app/qa.py; the page is started through app/ui/server.py), ``output`` what they print.
Logging is configured when a command's real work starts, so a no-op ``privacy-qa
ingest`` stays cheap (tests/test_startup.py).
"""

from __future__ import annotations

import sys

from app.cli.commands import ask_command, configure_logging
from app.cli.ending import end_at_once
from app.cli.output import echo
from app.cli.parser import build_parser
from app.config import load_settings
from app.errors import PrivacyQAError, UserError

INTERRUPTED_EXIT = 130  # Ctrl-C, as shells report a SIGINT
BROKEN_PIPE_EXIT = 141  # the output's reader closed it, as shells report a SIGPIPE


def _run(argv: list[str] | None, ran: list) -> int:
    parser = build_parser(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):  # no command: show what there is
        parser.print_help()
        return 2
    ran.append(args.run)
    settings = load_settings(data_dir=args.data_dir, corpus_dir=args.corpus_dir)
    if args.verbose:  # at once, so even a failure before a command's real work is logged
        configure_logging(settings, args.verbose)
    return args.run(settings, args)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the command line (``argv``, default ``sys.argv``)
    and turn errors into messages and exit codes.

    Without ``argv`` this is the process's entry point (the console script, ``python -m
    app``): an ``ask``, which writes nothing to the store, then ends the process at once
    (app/cli/ending.py). Called with ``argv`` (tests, in process), it raises SystemExit.
    """
    ran: list = []  # the command's function, once parsed
    code = _outcome(argv, ran)
    if argv is None and ran == [ask_command]:
        end_at_once(code)
    sys.exit(code)


def _outcome(argv: list[str] | None, ran: list) -> int:
    try:
        return _run(argv, ran)
    except KeyboardInterrupt:
        echo("\nAborted.", err=True)
        return INTERRUPTED_EXIT
    except BrokenPipeError:
        # Nothing to report: whoever read the output has what they wanted. Output still
        # buffered goes nowhere, so the interpreter's last flush fails silently too.
        _discard_stdout()
        return BROKEN_PIPE_EXIT
    except UserError as exc:
        echo(f"error: {exc}", err=True)
        return 2
    except PrivacyQAError as exc:
        echo(f"error: {exc}", err=True)
        return 1
    except Exception as exc:  # a bug: say so briefly; -vv shows the traceback
        import logging

        logging.getLogger(__name__).debug("internal error", exc_info=True)
        echo(
            f"internal error: {exc.__class__.__name__}: {exc} (run with -vv for the traceback)",
            err=True,
        )
        return 1


def _discard_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor (a test's captured stdout)
        pass
