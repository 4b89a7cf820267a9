"""One eval run, from the data set to the written report: the only part of the eval that
asks questions. :func:`run_eval` builds the whole :class:`~app.evals.report.EvalReport`
(answers and scores, the judge, baseline and deltas, thresholds and the ``--check``
failures), writes it and saves the baseline if asked; :func:`app.qa.run_eval` is the way
in for the command line."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.config import Settings
from app.embeddings import make_embeddings
from app.errors import UserError
from app.evals.baseline import (
    DEFAULT_BASELINE,
    DEFAULT_THRESHOLDS,
    check_thresholds,
    load_baseline,
    load_thresholds,
    save_baseline,
)
from app.evals.conversations import CONVERSATIONS, score_conversations
from app.evals.dataset import DEFAULT_DATASET, EvalDataError, EvalItem, load_dataset
from app.evals.judge import judge_results
from app.evals.report import EvalReport, RunSettings, check_out_dir, make_out_dir, write_report
from app.evals.scoring import score_answer
from app.index.ingest import ingest
from app.session import QA

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (questions done, questions in all)
Note = Callable[[str], None]  # a line for the user, while the run goes on


def settings_summary(settings: Settings, model_id: str) -> RunSettings:
    """The settings that decide the answers, recorded with every report and baseline."""
    return {
        "embeddings": model_id,
        "llm": settings.llm,
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap_tokens": settings.chunk_overlap_tokens,
        "top_k": settings.top_k,
        "max_quotes": settings.max_quotes,
        "min_relevance": settings.min_relevance,
        "min_coverage": settings.min_coverage,
        "strong_relevance": settings.strong_relevance,
    }


def ask_and_score(
    qa: QA,
    items: list[EvalItem],
    split: str = "all",
    dataset: str = str(DEFAULT_DATASET),
    on_progress: Progress | None = None,
) -> EvalReport:
    """Ask every item through ``qa`` and score the answers: the report without baseline,
    thresholds or judge.

    The model is warmed up and one question asked untimed first, so latencies are the
    warm per-question times a user of a running app sees.
    """
    corpus_root = Path(qa.settings.corpus_dir).resolve().parent
    texts: dict[str, str | None] = {}

    def source_text(source: str) -> str | None:
        if source not in texts:
            try:
                texts[source] = (corpus_root / source).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                texts[source] = None
        return texts[source]

    def ask(item: EvalItem):
        try:
            return qa.ask(item.question, routines=False)  # single questions: plain Q&A
        except UserError as exc:  # a question the app refuses (too long, say): fix the set
            raise EvalDataError(f"{dataset}: question {item.id!r}: {exc}") from exc

    started = time.perf_counter()
    qa.warm_up()
    if items:
        ask(items[0])
    results = []
    for done, item in enumerate(items, 1):
        results.append(score_answer(item, ask(item), source_text))
        if on_progress:
            on_progress(done, len(items))
    report = EvalReport(
        split=split,
        dataset=dataset,
        settings=settings_summary(qa.settings, qa.embeddings.model_id),
        results=results,
        seconds=time.perf_counter() - started,
    )
    return report.finish()


@dataclass(frozen=True)
class EvalOptions:
    """What ``privacy-qa eval`` runs (its options, one for one; the command line passes them
    to the facade, ``app.qa.run_eval``, as keywords).

    ``out``: the report dir (None: DATA_DIR/eval-report); ``check``: metrics past their
    thresholds are failures; ``judge``: grade with the LLM judge if a key is set;
    ``fresh_index``: index the corpus into a temporary dir first instead of using the data
    dir's index; ``save_baseline``: record the run as the split's baseline;
    ``on_progress(done, total)`` follows the questions and ``on_note(line)`` gets the lines
    to show while the run goes on (a fresh index being built, the judge skipped).
    """

    dataset: Path = DEFAULT_DATASET
    split: str = "all"
    baseline: Path = DEFAULT_BASELINE
    thresholds: Path = DEFAULT_THRESHOLDS
    out: Path | None = None
    check: bool = False
    judge: bool = False
    fresh_index: bool = False
    save_baseline: bool = False
    on_progress: Progress | None = None
    on_note: Note | None = None


def run_eval(settings: Settings, options: EvalOptions) -> EvalReport:
    """Run the eval questions of ``options.split``; return the finished report, written
    to the report dir.

    Everything that can be checked before the questions is (data set, thresholds, the
    report dir, the index): a mistake stops the run before anything is written.
    ``report.below`` lists the metrics past their thresholds; with ``check`` they are also
    ``report.failures``.
    """
    items = load_dataset(options.dataset, options.split)
    limits = _thresholds(options.thresholds, options.split, options.check)
    out_dir = options.out or settings.data_dir / "eval-report"
    check_out_dir(out_dir)  # a bad --out fails at once; nothing is created yet
    note = options.on_note or (lambda text: None)
    log.info("eval: %d questions of split %s", len(items), options.split)
    with tempfile.TemporaryDirectory(prefix="privacy-qa-eval-") as tmp:
        if options.fresh_index:
            settings = _fresh_index(settings, Path(tmp), note)
        qa = QA(settings)  # no index: stops here, before anything is written
        make_out_dir(out_dir)  # before the questions, so a late failure costs no run
        dataset = str(options.dataset)
        report = ask_and_score(qa, items, options.split, dataset, options.on_progress)
        conversations = options.dataset.parent / CONVERSATIONS
        if conversations.is_file():  # the same conversations whatever the split
            tally = score_conversations(qa, conversations)
            report.conversation_metrics = tally.metrics()
            report.conversation_failures = tally.failing
        if options.judge:
            _judge(settings, report, note)
    _compare(report, options.baseline, limits, options.check)
    report.paths = write_report(report, out_dir)
    if options.save_baseline:
        save_baseline(options.baseline, options.split, report.metrics, report.settings)
    return report


def _thresholds(path: Path, split: str, check: bool) -> dict[str, float]:
    """The split's thresholds: required with ``check``; else shown for information when
    there are any."""
    if check:
        return load_thresholds(path, split)
    try:
        return load_thresholds(path, split)
    except EvalDataError:
        return {}


def _fresh_index(settings: Settings, tmp: Path, note: Note) -> Settings:
    """Settings whose data dir is ``tmp``, holding a new index of the corpus."""
    settings = settings.replace(data_dir=tmp / "data")
    note(f"indexing {settings.corpus_dir} into a temporary dir...")
    ingest(settings, make_embeddings(settings))
    return settings


def _judge(settings: Settings, report: EvalReport, note: Note) -> None:
    """Grade the answers with the LLM judge, or say why not, in ``report.judge_note``."""
    if settings.openai_api_key is None:
        report.judge_note = (
            "judge: skipped (OPENAI_API_KEY is not set), faithfulness and relevancy not measured"
        )
        note(report.judge_note)
    else:
        graded = judge_results(settings, report.results)
        report.judge_note = f"judge: {settings.llm_model} graded {graded} answers"


def _compare(report: EvalReport, baseline: Path, limits: dict[str, float], check: bool) -> None:
    """Add the baseline of the report's split, the deltas and the thresholds to ``report``."""
    report.baseline_path = str(baseline)
    base = load_baseline(baseline)
    report.baseline = (base or {}).get("splits", {}).get(report.split)
    report.thresholds = limits
    report.finish()
    report.below = check_thresholds(report.metrics, limits)
    report.failures = report.below if check else []
