"""The eval report (:class:`EvalReport`) and its output: the console summary, report.json,
report.md and report.png (a chart; matplotlib is imported only to draw it)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

from app.errors import UserError
from app.evals.baseline import deltas
from app.evals.scoring import (
    LOWER_IS_BETTER,
    METRICS,
    ItemJSON,
    ItemResult,
    Metrics,
    compute_metrics,
    shorten,
    split_metrics,
    topic_metrics,
)


class RunSettings(TypedDict):
    """The settings that decide the answers, recorded with every report and baseline."""

    embeddings: str
    llm: str
    chunk_tokens: int
    chunk_overlap_tokens: int
    top_k: int
    max_quotes: int
    min_relevance: float
    min_coverage: float
    strong_relevance: float


class BaselineJSON(TypedDict):
    path: str | None
    metrics: Metrics | None


class ReportJSON(TypedDict):
    """report.json."""

    split: str
    dataset: str
    created: str
    settings: RunSettings
    seconds: float
    metrics: Metrics
    splits: dict[str, Metrics]
    topics: dict[str, Metrics]
    baseline: BaselineJSON
    deltas: dict[str, float]
    thresholds: dict[str, float]
    check_failures: list[str]
    judge: str
    failing: list[str]
    items: list[ItemJSON]


@dataclass
class EvalReport:
    """One eval run: its results and metrics, compared with the baseline and thresholds."""

    split: str
    dataset: str
    settings: RunSettings
    results: list[ItemResult]
    seconds: float
    metrics: Metrics = field(default_factory=dict)
    splits: dict[str, Metrics] = field(default_factory=dict)  # per split, if more than one
    topics: dict[str, Metrics] = field(default_factory=dict)
    baseline: Metrics | None = None  # the baseline's metrics of this split
    baseline_path: str | None = None
    deltas: dict[str, float] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # threshold check failures (--check)
    below: list[str] = field(default_factory=list)  # metrics past a threshold, checked or not
    judge_note: str = ""
    # follow-up and routine metrics of the conversation eval (app/evals/conversations.py)
    conversation_metrics: Metrics = field(default_factory=dict)
    conversation_failures: list[str] = field(default_factory=list)  # "r12/3: missing facts"
    paths: list[Path] = field(default_factory=list)  # the report files written

    def finish(self) -> EvalReport:
        self.metrics = compute_metrics(self.results) | self.conversation_metrics
        splits = split_metrics(self.results)
        self.splits = splits if len(splits) > 1 else {}
        self.topics = topic_metrics(self.results)
        self.deltas = deltas(self.metrics, self.baseline)
        return self

    @property
    def failing(self) -> list[ItemResult]:
        return [r for r in self.results if not r.passed]

    def summary(self) -> str:
        """The console summary (:func:`format_summary`)."""
        return format_summary(self)

    def to_dict(self) -> ReportJSON:
        return {
            "split": self.split,
            "dataset": self.dataset,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "settings": self.settings,
            "seconds": round(self.seconds, 2),
            "metrics": self.metrics,
            "splits": self.splits,
            "topics": self.topics,
            "baseline": {"path": self.baseline_path, "metrics": self.baseline},
            "deltas": self.deltas,
            "thresholds": self.thresholds,
            "check_failures": self.failures,
            "judge": self.judge_note,
            "failing": [r.item.id for r in self.failing],
            "items": [r.to_dict() for r in self.results],
        }


# ------------------------------------------------------------------------------ tables


def _fmt(name: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return str(value)
    if name in LOWER_IS_BETTER:
        return f"{value:.1f}"
    return f"{value:.3f}"


def _fmt_delta(name: str, delta: float | None) -> str:
    if delta is None:
        return ""
    if isinstance(delta, int):
        return "±0" if delta == 0 else f"{delta:+d}"
    if name in LOWER_IS_BETTER:
        return f"{delta:+.1f}"
    return "±0" if abs(delta) < 0.0005 else f"{delta:+.3f}"


def metric_rows(report: EvalReport) -> list[tuple[str, str, str, str, str]]:
    """(metric, value, baseline, delta, threshold) for every measured metric."""
    rows = []
    base = report.baseline or {}
    for name in METRICS:
        if name not in report.metrics and name not in report.thresholds:
            continue
        limit = report.thresholds.get(name)
        rows.append(
            (
                name,
                _fmt(name, report.metrics.get(name)),
                _fmt(name, base.get(name)) if name in base else "",
                _fmt_delta(name, report.deltas.get(name)),
                "" if limit is None else ("≤ " if name in LOWER_IS_BETTER else "≥ ") + f"{limit:g}",
            )
        )
    return rows


TOPIC_COLUMNS = (
    ("n", "questions"),
    ("R@1", "recall_at_1"),
    ("R@5", "recall_at_5"),
    ("MRR", "mrr"),
    ("facts", "key_fact_recall"),
    ("pass", "exact_pass"),
    ("cite", "citation_precision"),
    ("abst.R", "abstention_recall"),
)


# The splits side by side (a run on "all"): what generalises and what was tuned for.
SPLIT_COLUMNS = (
    ("n", "questions"),
    ("R@5", "recall_at_5"),
    ("facts", "key_fact_recall"),
    ("pass", "exact_pass"),
    ("cite", "citation_precision"),
    ("abst.P", "abstention_precision"),
    ("abst.R", "abstention_recall"),
    ("words", "answer_words_p50"),
    ("lead-ins", "lead_ins"),
    ("1st", "first_quote_facts"),
)


def group_rows(groups: dict[str, Metrics], columns: tuple[tuple[str, str], ...]) -> list[list[str]]:
    """One row per group (topic or split): its name, then each column's value."""
    rows = []
    for name, metrics in groups.items():
        row = [name]
        for _, key in columns:
            value = metrics.get(key)
            if value is None:
                row.append("")
            elif isinstance(value, int):
                row.append(str(value))
            elif key in LOWER_IS_BETTER:
                row.append(f"{value:.1f}")
            else:
                row.append(f"{value:.2f}")
        rows.append(row)
    return rows


def topic_rows(report: EvalReport) -> list[list[str]]:
    return group_rows(report.topics, TOPIC_COLUMNS)


def split_rows(report: EvalReport) -> list[list[str]]:
    return group_rows(report.splits, SPLIT_COLUMNS)


def _table(header: list[str], rows: list) -> list[str]:
    """Plain-text table: first column left-aligned, the rest right-aligned."""
    cells = [[str(x) for x in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    return [line(row) for row in cells]


def format_summary(report: EvalReport) -> str:
    """The console summary: metrics with deltas, per-topic table, failing questions."""
    m = report.metrics
    lines = [
        f"eval split {report.split}: {m['questions']} questions ({m['in_scope']} in scope, "
        f"{m['out_of_scope']} out of scope) in {report.seconds:.1f} s",
        "",
    ]
    lines += _table(["metric", "value", "baseline", "delta", "threshold"], metric_rows(report))
    if report.judge_note:
        lines += ["", report.judge_note]
    if report.splits:
        lines += ["", "per split:"]
        lines += _table(["split"] + [c for c, _ in SPLIT_COLUMNS], split_rows(report))
    lines += ["", "per topic:"]
    lines += _table(["topic"] + [c for c, _ in TOPIC_COLUMNS], topic_rows(report))
    failing = report.failing
    lines += ["", f"failing questions ({len(failing)}):" if failing else "no failing questions"]
    for result in failing:
        lines.append(f"  {result.item.id:<9} {shorten(result.item.question, 70)}")
        lines.append(f"  {'':<9} -> {'; '.join(result.reasons())}")
    if report.conversation_failures:
        lines += ["", f"failing conversation turns ({len(report.conversation_failures)}):"]
        lines += [f"  {failure}" for failure in report.conversation_failures]
    return "\n".join(lines)


def format_markdown(report: EvalReport) -> str:
    """report.md: the same content as the console summary, as markdown tables."""
    m = report.metrics

    def md(header: list[str], rows) -> list[str]:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
        return out

    lines = [
        f"# Eval report: split `{report.split}`",
        "",
        f"{m['questions']} questions ({m['in_scope']} in scope, {m['out_of_scope']} out of "
        f"scope) from `{report.dataset}` in {report.seconds:.1f} s. Settings: "
        + ", ".join(f"{k}={v}" for k, v in report.settings.items())
        + ".",
        "",
    ]
    lines += md(["metric", "value", "baseline", "delta", "threshold"], metric_rows(report))
    if report.failures:
        lines += ["", "**Check failed:** " + "; ".join(report.failures)]
    if report.judge_note:
        lines += ["", report.judge_note]
    if report.splits:
        lines += ["", "## Per split", ""]
        lines += md(["split"] + [c for c, _ in SPLIT_COLUMNS], split_rows(report))
    lines += ["", "## Per topic", ""]
    lines += md(["topic"] + [c for c, _ in TOPIC_COLUMNS], topic_rows(report))
    lines += ["", f"## Failing questions ({len(report.failing)})", ""]
    for result in report.failing:
        lines.append(f"- `{result.item.id}` {result.item.question} — {'; '.join(result.reasons())}")
    if not report.failing:
        lines.append("None.")
    lines += ["", "![metrics](report.png)", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------------ chart


CHART_METRICS = [name for name in METRICS if name not in LOWER_IS_BETTER]


def write_chart(report: EvalReport, path: Path) -> None:
    """report.png: quality metrics against baseline and thresholds, and exact-pass per topic."""
    # matplotlib is heavy to import and only the chart needs it, not the package's other
    # users (the data set, scoring, bench scripts).
    import matplotlib

    matplotlib.use("Agg")  # headless; no display on servers and CI
    import matplotlib.pyplot as plt

    names = [n for n in CHART_METRICS if report.metrics.get(n) is not None]
    base = report.baseline or {}
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [3, 2]})
    x = range(len(names))
    width = 0.4
    left.bar(
        [i - width / 2 for i in x], [report.metrics[n] for n in names], width, label="this run"
    )
    left.bar(
        [i + width / 2 for i in x],
        [base.get(n) or 0.0 for n in names],
        width,
        label="baseline",
        alpha=0.6,
    )
    for i, name in enumerate(names):
        if name in report.thresholds:
            limit = report.thresholds[name]
            left.hlines(limit, i - width, i + width, colors="red", linewidth=2)
    left.set_xticks(list(x), [METRICS[n] for n in names], rotation=40, ha="right", fontsize=8)
    left.set_ylim(0, 1.15)
    left.set_title(f"split {report.split} (red: threshold)")
    left.legend(loc="upper right", ncol=2, fontsize=8)

    topics = list(report.topics)
    passes = [
        report.topics[t]["exact_pass"]
        if report.topics[t]["exact_pass"] is not None
        else report.topics[t]["abstention_recall"] or 0.0
        for t in topics
    ]
    right.barh(topics, passes, color="tab:green")
    right.set_xlim(0, 1.0)
    right.invert_yaxis()
    right.set_title("exact pass per topic (out-of-scope: abstained)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ------------------------------------------------------------------------------ files


def check_out_dir(out_dir: Path) -> None:
    """Raise a UserError now if the report dir could not be created later. Creates nothing:
    a run that stops early (no index, say) leaves no empty report dir behind."""
    out_dir = Path(out_dir).absolute()
    existing = next(path for path in (out_dir, *out_dir.parents) if path.exists())
    if not existing.is_dir():
        problem = f"{existing} is a file"
    elif not os.access(existing, os.W_OK | os.X_OK):
        problem = f"{existing} is not writable"
    else:
        return
    raise UserError(f"Cannot create the report dir {out_dir} ({problem}): pass another --out.")


def make_out_dir(out_dir: Path) -> Path:
    """Create the report dir (once the index is open, before the questions are asked)."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"Cannot create the report dir {out_dir} ({exc.strerror}): pass another --out."
        ) from exc
    return out_dir


def write_report(report: EvalReport, out_dir: Path) -> list[Path]:
    """Write report.json, report.md and report.png into ``out_dir``; return their paths."""
    out_dir = make_out_dir(out_dir)
    paths = [out_dir / "report.json", out_dir / "report.md", out_dir / "report.png"]
    paths[0].write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(format_markdown(report), encoding="utf-8")
    write_chart(report, paths[2])
    return paths
