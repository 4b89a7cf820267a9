"""The ``privacy-qa`` command line. Thin: it parses, calls the core, prints.

Exit codes: 0 ok, 2 user error (one clear sentence on stderr), 1 internal error.
"""

from __future__ import annotations

import json
import logging
import sys
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
@click.option("--rebuild", is_flag=True, help="Empty the index first and embed everything again.")
@click.pass_context
def ingest(ctx: click.Context, as_json: bool, rebuild: bool) -> None:
    """Index the corpus dir: chunk, embed and store every supported document."""
    from app.embeddings import make_embeddings
    from app.store import ingest as run_ingest

    settings = _settings(ctx)
    embeddings = make_embeddings(settings)
    show_progress = sys.stderr.isatty() and not as_json

    def progress(done: int, total: int) -> None:
        if show_progress:
            click.echo(f"\rembedding chunks: {done}/{total}", err=True, nl=done >= total)

    report = run_ingest(settings, embeddings, rebuild=rebuild, on_progress=progress)
    for skipped in report.skipped:
        click.echo(f"warning: skipped {skipped['source']}: {skipped['reason']}", err=True)
    if as_json:
        click.echo(json.dumps(report.to_dict()))
        return
    if report.rebuilt:
        click.echo(f"Rebuilt the index ({report.rebuild_reason}).")
    click.echo(
        f"Indexed {report.documents} documents as {report.chunks} chunks into "
        f"{settings.data_dir} in {report.seconds:.1f} s: {report.chunks_added} added, "
        f"{report.chunks_deleted} deleted, {report.chunks_unchanged} unchanged"
        + (f", {len(report.skipped)} files skipped." if report.skipped else ".")
    )


def format_answer(answer) -> str:
    """Human-readable answer: the text, then numbered sources with their quotes."""
    lines = [answer.answer]
    if answer.citations:
        lines += ["", "Sources:"]
        for c in answer.citations:
            lines.append(f"[{c.n}] {c.title} — {c.section}")
            where = f"{c.source}:{c.start_line}"
            lines.append(f"    {where}" + (f"  {c.url}" if c.url else ""))
            lines.append(f'    "{" ".join(c.quote.split())}"')
    return "\n".join(lines)


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
        answer = qa.ask(question)
        click.echo(json.dumps(answer.to_dict()) if as_json else format_answer(answer))
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
            answer = qa.ask(question)
        except UserError as exc:
            click.echo(f"error: {exc}", err=True)
            continue
        click.echo(json.dumps(answer.to_dict()) if as_json else format_answer(answer) + "\n")


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
