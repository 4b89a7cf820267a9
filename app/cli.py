"""The ``privacy-qa`` command line. Thin: it parses, calls the core, prints.

Exit codes: 0 ok, 2 user error (one clear sentence on stderr), 1 internal error.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import asdict
from pathlib import Path

import click

from app.config import Settings, load_settings
from app.errors import PrivacyQAError, UserError

log = logging.getLogger(__name__)


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where the index lives (env PRIVACY_QA_DATA_DIR, default .data).",
)
@click.option(
    "--corpus-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Documents to index (env PRIVACY_QA_CORPUS_DIR, default corpus).",
)
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.version_option(package_name="privacy-qa")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, corpus_dir: Path | None, verbose: int) -> None:
    """Ask cited questions about privacy and compliance documents, offline by default.

    \b
    Typical use:
      privacy-qa ingest                      # index ./corpus into ./.data
      privacy-qa ask "How long is API data retained?"
      privacy-qa ask --json "Which endpoints are ZDR-eligible?"

    Settings come from PRIVACY_QA_* environment variables (see README).
    """
    settings = load_settings(data_dir=data_dir, corpus_dir=corpus_dir)
    level = {0: settings.log_level.upper(), 1: "INFO"}.get(verbose, "DEBUG")
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = {"settings": settings}


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option("--rebuild", is_flag=True, help="Start from an empty index and embed everything.")
@click.pass_context
def ingest(ctx: click.Context, as_json: bool, dry_run: bool, rebuild: bool) -> None:
    """Bring the index up to date with the corpus dir.

    Incremental: only new and changed files are embedded; chunks of changed and deleted
    files are removed. Nothing changed means nothing is loaded: the files are only hashed.
    A new embedding model or chunking setting rebuilds the index (and says so). Safe to
    interrupt: the next run finishes the job, and questions are answered meanwhile.
    """
    from app.store import ingest as run_ingest

    settings = _settings(ctx)
    show_progress = sys.stderr.isatty() and not as_json
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if not show_progress or total <= 0:
            return
        if bar is None:
            bar = click.progressbar(length=total, label="embedding chunks", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        report = run_ingest(settings, rebuild=rebuild, dry_run=dry_run, on_progress=progress)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    for skipped in report.skipped:
        click.echo(f"warning: skipped {skipped['source']}: {skipped['reason']}", err=True)
    if as_json:
        data = report.to_dict()
        data.pop("changes")
        data["files"] = asdict(report.changes)
        click.echo(json.dumps(data))
        return
    click.echo(describe_ingest(report, settings))


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


def _stream_answer(qa, question: str):
    """Print the answer as it is written, then the rest; return the final Answer."""
    streamed: list[str] = []
    answer = None
    for event in qa.stream(question):
        if isinstance(event, str):
            click.echo(event, nl=False)
            streamed.append(event)
        else:
            answer = event
    click.echo(format_answer(answer, "".join(streamed)))
    return answer


@cli.command()
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as one JSON object.")
@click.option(
    "--jsonl",
    type=click.File("r", encoding="utf-8"),
    help='Answer many: each line {"id", "question"}; "-" reads stdin. Prints one JSON line each.',
)
@click.pass_context
def ask(ctx: click.Context, question: str | None, as_json: bool, jsonl) -> None:
    """Answer QUESTION from the indexed documents, with citations.

    Without QUESTION or --jsonl, asks interactively until an empty line or Ctrl-D.
    """
    from app.qa import QA

    settings = _settings(ctx)
    if question is not None and jsonl is not None:
        raise click.UsageError("Give either QUESTION or --jsonl, not both.")
    if question is not None:
        qa = QA(settings)
        if as_json:
            click.echo(json.dumps(qa.ask(question).to_dict()))
        else:
            _stream_answer(qa, question)
    elif jsonl is not None:
        ctx.exit(_ask_jsonl(QA(settings), jsonl))
    else:
        _ask_interactively(QA(settings), as_json)


def _ask_jsonl(qa, lines) -> int:
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
            result = {"id": item_id, **qa.ask(item["question"]).to_dict()}
        except json.JSONDecodeError as exc:
            failures += 1
            result = {"id": None, "error": f"line {number}: not valid JSON ({exc.msg})"}
        except UserError as exc:
            failures += 1
            result = {"id": item_id, "error": str(exc)}
        click.echo(json.dumps(result))
    return 2 if failures else 0


def _ask_interactively(qa, as_json: bool) -> None:
    click.echo("Ask about the indexed documents (empty line or Ctrl-D to quit).", err=True)
    qa.warm_up()
    while True:
        try:
            question = click.prompt("question", default="", show_default=False, err=True)
        except (EOFError, click.Abort):
            break
        if not question.strip():
            break
        try:
            if as_json:
                click.echo(json.dumps(qa.ask(question).to_dict()))
            else:
                _stream_answer(qa, question)
                click.echo()
        except UserError as exc:
            click.echo(f"error: {exc}", err=True)
            continue


@cli.command()
@click.option(
    "--port", type=int, default=8501, show_default=True, help="Port of the page on 127.0.0.1."
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Only change it if others should reach the page: "
    "questions may contain PHI.",
)
@click.pass_context
def ui(ctx: click.Context, port: int, host: str) -> None:
    """Start the chat page (Streamlit) and print its address; Ctrl-C stops it."""
    from app import minilm, model_process

    settings = _settings(ctx)
    _check_port_free(host, port)
    if settings.embeddings == minilm.MODEL_ID:
        # The page runs the bundled model in a child process: start it first, so the model
        # loads on the other core while Streamlit is imported and the server starts.
        model_process.shared().start()

    from streamlit.web import bootstrap

    from app import ui as page

    # The page builds its Settings from the environment on each run: hand it what was
    # resolved here (--data-dir and --corpus-dir included) as absolute paths.
    os.environ["PRIVACY_QA_DATA_DIR"] = str(settings.data_dir.resolve())
    os.environ["PRIVACY_QA_CORPUS_DIR"] = str(settings.corpus_dir.resolve())
    flags = {
        "server.address": host,
        "server.port": port,
        "server.headless": True,  # no browser opened, no e-mail prompt
        "browser.gatherUsageStats": False,  # as in .streamlit/config.toml, whatever the cwd
        "server.fileWatcherType": "none",
        "client.toolbarMode": "minimal",
    }
    # The server runs in this process, so the model can load while it starts.
    page.start_preload(load_settings())
    bootstrap.load_config_options(flag_options=flags)
    bootstrap.run(page.__file__, False, [], flags)


def _check_port_free(host: str, port: int) -> None:
    import socket

    with socket.socket() as probe:
        # As the server will: a port left in TIME_WAIT by a stopped server is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UserError(
                f"Cannot listen on {host}:{port} ({exc.strerror}): another program uses it. "
                "Stop it or pick another port with `privacy-qa ui --port N`."
            ) from exc


CHECK_FAILED_EXIT = 3  # `eval --check`: a metric is on the wrong side of its threshold


@cli.command("eval")
@click.option(
    "--split",
    type=click.Choice(["dev", "test", "all"]),
    default="all",
    show_default=True,
    help="Which questions to run (tune on dev, report test).",
)
@click.option(
    "--check",
    is_flag=True,
    help=f"Exit with code {CHECK_FAILED_EXIT} if a metric misses its threshold (--thresholds).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where report.json, report.md and report.png go [default: DATA_DIR/eval-report].",
)
@click.option(
    "--judge",
    is_flag=True,
    help="Also grade faithfulness and relevancy with an LLM (needs OPENAI_API_KEY).",
)
@click.option(
    "--dataset",
    type=click.Path(path_type=Path, dir_okay=False),
    default="evals/questions.jsonl",
    show_default=True,
    help="The eval questions (JSONL).",
)
@click.option(
    "--baseline",
    type=click.Path(path_type=Path, dir_okay=False),
    default="evals/baseline.json",
    show_default=True,
    help="Committed metrics to compare with.",
)
@click.option(
    "--thresholds",
    type=click.Path(path_type=Path, dir_okay=False),
    default="evals/thresholds.toml",
    show_default=True,
    help="Minimum (latency: maximum) value of each metric, one table per split.",
)
@click.option(
    "--save-baseline", is_flag=True, help="Record this run's metrics as the split's baseline."
)
@click.option(
    "--fresh-index",
    is_flag=True,
    help="Index the corpus into a temporary dir first instead of using DATA_DIR's index.",
)
@click.pass_context
def eval_command(
    ctx: click.Context,
    split: str,
    check: bool,
    out_dir: Path | None,
    judge: bool,
    dataset: Path,
    baseline: Path,
    thresholds: Path,
    save_baseline: bool,
    fresh_index: bool,
) -> None:
    """Run the eval questions and report retrieval, answer, citation, abstention and
    latency metrics, per topic, with deltas against the baseline.

    Needs an index: run `privacy-qa ingest` first, or pass --fresh-index.
    """
    import tempfile

    from app import evals

    settings = _settings(ctx)
    items = evals.load_dataset(dataset, split)
    if check:
        limits = evals.load_thresholds(thresholds, split)
    else:  # shown for information when there are any; only --check enforces them
        try:
            limits = evals.load_thresholds(thresholds, split)
        except evals.EvalDataError:
            limits = {}
    out_dir = evals.make_out_dir(out_dir or settings.data_dir / "eval-report")
    with tempfile.TemporaryDirectory(prefix="privacy-qa-eval-") as tmp:
        if fresh_index:
            settings = _fresh_index(settings, Path(tmp))
        report = _run_eval(settings, items, split, dataset, judge)
    report.baseline_path = str(baseline)
    base = evals.load_baseline(baseline)
    report.baseline = (base or {}).get("splits", {}).get(split)
    report.thresholds = limits
    report.finish()
    below = evals.check_thresholds(report.metrics, limits)
    report.failures = below if check else []
    paths = evals.write_report(report, out_dir)
    click.echo(evals.format_summary(report))
    if report.baseline is None:
        click.echo(f"\n(no baseline for split {split} in {baseline}: no deltas)")
    click.echo(f"\nreport: {', '.join(str(p) for p in paths)}")
    if save_baseline:
        evals.save_baseline(baseline, split, report.metrics, report.settings)
        click.echo(f"saved this run as the {split} baseline in {baseline}")
    if below and not check:
        click.echo("below threshold (not checked without --check): " + "; ".join(below))
    if check:
        if report.failures:
            click.echo("check FAILED: " + "; ".join(report.failures), err=True)
            ctx.exit(CHECK_FAILED_EXIT)
        click.echo(f"check passed: {len(limits)} metrics within the thresholds in {thresholds}")


def _fresh_index(settings: Settings, tmp: Path) -> Settings:
    """Settings whose data dir is ``tmp``, holding a new index of the corpus."""
    from app.embeddings import make_embeddings
    from app.store import ingest as run_ingest

    settings = settings.model_copy(update={"data_dir": tmp / "data"})
    click.echo(f"indexing {settings.corpus_dir} into a temporary dir...", err=True)
    run_ingest(settings, make_embeddings(settings))
    return settings


def _run_eval(settings: Settings, items, split: str, dataset: Path, judge: bool):
    from app import evals
    from app.qa import QA

    show_progress = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show_progress:
            click.echo(f"\rquestions: {done}/{total}", err=True, nl=done >= total)

    report = evals.run_eval(QA(settings), items, split, str(dataset), on_progress=progress)
    if judge:
        if settings.openai_api_key is None:
            report.judge_note = (
                "judge: skipped (OPENAI_API_KEY is not set), faithfulness and relevancy "
                "not measured"
            )
            click.echo(report.judge_note, err=True)
        else:
            graded = evals.judge_results(settings, report.results)
            report.judge_note = f"judge: {settings.llm_model} graded {graded} answers"
    return report


def main() -> None:
    """Console-script entry point: run the CLI and turn errors into messages and exit codes."""
    try:
        # Outside standalone mode click returns ctx.exit()'s code instead of exiting.
        code = cli.main(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except UserError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except PrivacyQAError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # a bug: say so briefly; -v shows the traceback
        log.debug("internal error", exc_info=True)
        click.echo(
            f"internal error: {exc.__class__.__name__}: {exc} (run with -vv for the traceback)",
            err=True,
        )
        sys.exit(1)
