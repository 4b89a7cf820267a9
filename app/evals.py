"""The eval suite: known questions with their key facts, answered by :class:`app.session.QA`,
scored, compared with a committed baseline and checked against thresholds.

The data set (``evals/questions.jsonl``, one JSON object per line) has two kinds of items:

- in scope: ``question``, ``facts`` (each fact a list of acceptable phrasings, one of which
  the answer must contain), ``sources`` (documents that support the answer, any of them),
  optional ``section`` (heading or ``"Parent > Heading"`` path, any of them) and optional
  ``evidence`` (literal strings of the source; a retrieved chunk counts as relevant only
  if it contains one);
- out of scope: ``abstain: true`` (and an optional ``kind``): the answer must abstain.

Every item has an ``id``, a ``split`` (``dev`` for tuning, ``test`` for reporting) and a
``topic``. Scoring is pure functions over plain data, so it is tested without a model;
:func:`run_eval` is the only part that asks questions.
"""

from __future__ import annotations

import json
import logging
import math
import os
import statistics
import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.config import Settings
from app.errors import PrivacyQAError, ProviderError, UserError

log = logging.getLogger(__name__)

DEFAULT_DATASET = Path("evals/questions.jsonl")
DEFAULT_BASELINE = Path("evals/baseline.json")
DEFAULT_THRESHOLDS = Path("evals/thresholds.toml")
SPLITS = ("dev", "test", "all")
RECALL_KS = (1, 3, 5)

# Every metric, in report order, with its label. Latencies must stay *below* their
# threshold; everything else must reach it.
METRICS: dict[str, str] = {
    "recall_at_1": "retrieval recall@1",
    "recall_at_3": "retrieval recall@3",
    "recall_at_5": "retrieval recall@5",
    "mrr": "retrieval MRR",
    "key_fact_recall": "key-fact recall",
    "exact_pass": "exact-pass rate",
    "citation_precision": "citation precision",
    "abstention_precision": "abstention precision",
    "abstention_recall": "abstention recall",
    "latency_p50_ms": "latency p50 (ms)",
    "latency_p95_ms": "latency p95 (ms)",
    "judge_faithfulness": "judge: faithfulness",
    "judge_relevancy": "judge: answer relevancy",
}
LOWER_IS_BETTER = frozenset({"latency_p50_ms", "latency_p95_ms"})


class EvalDataError(UserError):
    """The eval data set, baseline or thresholds file is missing or malformed."""


# ------------------------------------------------------------------------------ data set


@dataclass(frozen=True)
class EvalItem:
    """One question of the eval set."""

    id: str
    split: str
    topic: str
    question: str
    facts: tuple[tuple[str, ...], ...] = ()
    sources: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    abstain: bool = False
    kind: str = ""

    @property
    def in_scope(self) -> bool:
        return not self.abstain


def _strings(value: Any, what: str, where: str) -> tuple[str, ...]:
    """A string or a list of non-empty strings, as a tuple."""
    if isinstance(value, str):
        value = [value]
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        raise EvalDataError(f"{where}: {what} must be a string or a list of non-empty strings")
    return tuple(value)


def parse_item(data: Any, where: str) -> EvalItem:
    """Validate one decoded line of the data set (``where`` names it in errors)."""
    if not isinstance(data, dict):
        raise EvalDataError(f"{where}: expected a JSON object")
    for key in ("id", "split", "topic", "question"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise EvalDataError(f"{where}: missing or empty {key!r}")
    if data["split"] not in ("dev", "test"):
        raise EvalDataError(f"{where}: split must be 'dev' or 'test', not {data['split']!r}")
    common = {k: data[k].strip() for k in ("id", "split", "topic", "question")}
    if data.get("abstain"):
        if data.get("facts"):
            raise EvalDataError(f"{where}: an item that must abstain has no facts")
        return EvalItem(**common, abstain=True, kind=str(data.get("kind") or ""))
    facts = data.get("facts")
    if not isinstance(facts, list) or not facts:
        raise EvalDataError(f"{where}: an in-scope item needs 'facts' (a list of phrasing lists)")
    return EvalItem(
        **common,
        facts=tuple(_strings(fact, "each fact", where) for fact in facts),
        sources=_strings(data.get("sources"), "'sources'", where),
        sections=_strings(data["section"], "'section'", where) if "section" in data else (),
        evidence=_strings(data["evidence"], "'evidence'", where) if "evidence" in data else (),
    )


def load_dataset(path: Path = DEFAULT_DATASET, split: str = "all") -> list[EvalItem]:
    """Items of the eval set at ``path`` in ``split`` ("dev", "test" or "all")."""
    if split not in SPLITS:
        raise EvalDataError(f"Unknown split {split!r}: use one of {', '.join(SPLITS)}.")
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise EvalDataError(
            f"No eval set at {path}: run from the repository root or pass --dataset."
        ) from exc
    items: list[EvalItem] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalDataError(f"{where}: not valid JSON ({exc.msg})") from exc
        item = parse_item(data, where)
        if item.id in seen:
            raise EvalDataError(f"{where}: duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise EvalDataError(f"The eval set {path} has no questions.")
    return [item for item in items if split in ("all", item.split)]


# ------------------------------------------------------------------------------ scoring


def normalise(text: str) -> str:
    """Lowercase, straight quotes, one space: how facts and evidence are matched."""
    text = text.lower().replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.split())


def facts_stated(facts: Iterable[Iterable[str]], text: str) -> list[bool]:
    """For each fact, whether one of its phrasings appears in ``text``."""
    haystack = normalise(text)
    return [any(normalise(p) in haystack for p in phrasings) for phrasings in facts]


def section_matches(section_path: str, wanted: Iterable[str]) -> bool:
    """Whether a chunk's section path ("Doc > A > B") ends with one of the wanted headings."""
    path = normalise(section_path)
    return any(path == normalise(w) or path.endswith(" > " + normalise(w)) for w in wanted)


def chunk_is_relevant(item: EvalItem, source: str, section: str, text: str) -> bool:
    """A retrieved chunk supports ``item``: right document, section and evidence (if given)."""
    if source not in item.sources:
        return False
    if item.sections and not section_matches(section, item.sections):
        return False
    return not item.evidence or any(normalise(e) in normalise(text) for e in item.evidence)


def first_relevant_rank(item: EvalItem, retrieved: list[tuple[str, str, str]]) -> int | None:
    """1-based rank of the first relevant (source, section, text) in ``retrieved``, or None."""
    for rank, (source, section, text) in enumerate(retrieved, 1):
        if chunk_is_relevant(item, source, section, text):
            return rank
    return None


def recall_at_k(ranks: list[int | None], k: int) -> float | None:
    """Share of questions with a relevant chunk among the first ``k`` retrieved."""
    if not ranks:
        return None
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def mean_reciprocal_rank(ranks: list[int | None]) -> float | None:
    """Mean of 1/rank of the first relevant chunk (0 when none was retrieved)."""
    if not ranks:
        return None
    return sum(1.0 / r for r in ranks if r is not None) / len(ranks)


def citation_is_correct(item: EvalItem, source: str, quote: str, source_text: str | None) -> bool:
    """The citation points into an expected document and quotes it literally."""
    return (
        source in item.sources
        and source_text is not None
        and bool(quote)
        and (quote in source_text)
    )


def abstention_scores(results: list[tuple[bool, bool]]) -> tuple[float | None, float | None]:
    """(precision, recall) of abstaining, from (should_abstain, abstained) pairs.

    Precision: share of abstentions that were on out-of-scope questions; recall: share of
    out-of-scope questions abstained on. None where the denominator is empty.
    """
    abstained = [should for should, did in results if did]
    expected = [did for should, did in results if should]
    precision = sum(abstained) / len(abstained) if abstained else None
    recall = sum(expected) / len(expected) if expected else None
    return precision, recall


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


# ------------------------------------------------------------------------------ results


@dataclass
class CitationResult:
    n: int
    source: str
    section: str
    start_line: int
    quote: str
    correct: bool
    chunk_text: str = field(default="", repr=False)


@dataclass
class ItemResult:
    """What the system did with one eval item, and how that scores."""

    item: EvalItem
    answer: str
    abstained: bool
    citations: list[CitationResult]
    rank: int | None  # first relevant retrieved chunk (in-scope items), 1-based
    retrieved: list[str]  # "source:line (section)" of each retrieved chunk, best first
    facts: list[bool]
    latency_ms: float
    judge: dict[str, float] | None = None

    @property
    def passed(self) -> bool:
        """Exact pass: in scope, every fact stated with a correct citation; else abstained."""
        if not self.item.in_scope:
            return self.abstained
        return not self.abstained and all(self.facts) and any(c.correct for c in self.citations)

    def reasons(self) -> list[str]:
        """Why the item did not pass (empty when it did)."""
        if not self.item.in_scope:
            if self.abstained:
                return []
            quote = self.citations[0].quote if self.citations else self.answer
            return [f"answered instead of abstaining: {_short(quote)}"]
        if self.abstained:
            return ["abstained"]
        out = []
        missing = [phr[0] for phr, ok in zip(self.item.facts, self.facts, strict=True) if not ok]
        if missing:
            out.append("missing facts: " + ", ".join(repr(m) for m in missing))
        if not any(c.correct for c in self.citations):
            out.append("no citation quotes an expected source")
        wrong = [c.n for c in self.citations if not c.correct]
        if wrong and any(c.correct for c in self.citations):
            out.append(f"citations off-source: {wrong}")
        if self.rank is None:
            out.append("no relevant chunk retrieved")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.item.id,
            "split": self.item.split,
            "topic": self.item.topic,
            "question": self.item.question,
            "expected": "abstain" if self.item.abstain else "answer",
            "answer": self.answer,
            "abstained": self.abstained,
            "passed": self.passed,
            "reasons": self.reasons(),
            "rank": self.rank,
            "retrieved": self.retrieved,
            "facts": [
                {"fact": list(phrasings), "stated": ok}
                for phrasings, ok in zip(self.item.facts, self.facts, strict=True)
            ],
            "citations": [
                {
                    "n": c.n,
                    "source": c.source,
                    "start_line": c.start_line,
                    "quote": c.quote,
                    "correct": c.correct,
                }
                for c in self.citations
            ],
            "latency_ms": round(self.latency_ms, 2),
            **({"judge": self.judge} if self.judge is not None else {}),
        }


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def score_answer(item: EvalItem, answer, source_text: Callable[[str], str | None]) -> ItemResult:
    """Score one :class:`~app.answering.types.Answer` for ``item``; ``source_text`` reads one."""
    from app.corpus import chunk_body

    retrieved = [
        (h.chunk.metadata["source"], h.chunk.metadata["section"], chunk_body(h.chunk))
        for h in answer.hits
    ]
    citations = [
        CitationResult(
            n=c.n,
            source=c.source,
            section=c.section,
            start_line=c.start_line,
            quote=c.quote,
            correct=citation_is_correct(item, c.source, c.quote, source_text(c.source)),
            chunk_text=c.chunk_text,
        )
        for c in answer.citations
    ]
    return ItemResult(
        item=item,
        answer=answer.answer,
        abstained=answer.abstained,
        citations=citations,
        rank=first_relevant_rank(item, retrieved) if item.in_scope else None,
        retrieved=[
            f"{h.chunk.metadata['source']}:{h.chunk.metadata['start_line']}" for h in answer.hits
        ],
        facts=(
            [False] * len(item.facts)
            if answer.abstained
            else facts_stated(item.facts, answer.answer)
        ),
        latency_ms=answer.timings_ms.get("total", 0.0),
    )


def compute_metrics(results: list[ItemResult]) -> dict[str, float | int | None]:
    """All metrics over ``results`` (None where a metric has nothing to measure)."""
    in_scope = [r for r in results if r.item.in_scope]
    ranks = [r.rank for r in in_scope]
    metrics: dict[str, float | int | None] = {
        f"recall_at_{k}": recall_at_k(ranks, k) for k in RECALL_KS
    }
    metrics["mrr"] = mean_reciprocal_rank(ranks)
    required = sum(len(r.item.facts) for r in in_scope)
    stated = sum(sum(r.facts) for r in in_scope)
    metrics["key_fact_recall"] = stated / required if required else None
    metrics["exact_pass"] = sum(r.passed for r in in_scope) / len(in_scope) if in_scope else None
    cited = [c for r in in_scope for c in r.citations]
    metrics["citation_precision"] = sum(c.correct for c in cited) / len(cited) if cited else None
    precision, recall = abstention_scores([(r.item.abstain, r.abstained) for r in results])
    metrics["abstention_precision"] = precision
    metrics["abstention_recall"] = recall
    latencies = [r.latency_ms for r in results]
    metrics["latency_p50_ms"] = percentile(latencies, 0.50)
    metrics["latency_p95_ms"] = percentile(latencies, 0.95)
    judged = [r.judge for r in results if r.judge]
    if judged:
        for name in ("faithfulness", "relevancy"):
            metrics[f"judge_{name}"] = statistics.fmean(j[name] for j in judged)
    metrics["questions"] = len(results)
    metrics["in_scope"] = len(in_scope)
    metrics["out_of_scope"] = len(results) - len(in_scope)
    return metrics


def topic_metrics(results: list[ItemResult]) -> dict[str, dict[str, float | int | None]]:
    """:func:`compute_metrics` per topic, topics in data-set order."""
    topics: dict[str, list[ItemResult]] = {}
    for result in results:
        topics.setdefault(result.item.topic, []).append(result)
    return {topic: compute_metrics(group) for topic, group in topics.items()}


# ------------------------------------------------------------------- baseline, thresholds


def load_baseline(path: Path) -> dict[str, Any] | None:
    """The committed baseline (``{"splits": {split: metrics}}``), or None if there is none."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise EvalDataError(f"The baseline {path} is unreadable ({exc}).") from exc
    if not isinstance(data, dict) or not isinstance(data.get("splits"), dict):
        raise EvalDataError(f'The baseline {path} has no "splits" object.')
    return data


def save_baseline(path: Path, split: str, metrics: dict[str, Any], settings: dict) -> None:
    """Record ``metrics`` as the baseline of ``split`` (other splits are kept)."""
    data = load_baseline(path) or {"splits": {}}
    data["splits"][split] = {k: v for k, v in metrics.items() if k in METRICS and v is not None}
    data.setdefault("settings", {})[split] = settings
    data.setdefault("recorded", {})[split] = datetime.now(UTC).isoformat(timespec="seconds")
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def deltas(current: dict[str, Any], baseline: dict[str, Any] | None) -> dict[str, float]:
    """current - baseline for every metric both have."""
    if not baseline:
        return {}
    return {
        name: current[name] - baseline[name]
        for name in METRICS
        if isinstance(current.get(name), int | float)
        and isinstance(baseline.get(name), int | float)
    }


def load_thresholds(path: Path, split: str) -> dict[str, float]:
    """The thresholds for ``split`` from a TOML file with one table per split."""
    try:
        with Path(path).open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise EvalDataError(f"No thresholds file at {path}: pass --thresholds.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise EvalDataError(f"The thresholds file {path} is not valid TOML ({exc}).") from exc
    table = data.get(split)
    if not isinstance(table, dict) or not table:
        raise EvalDataError(f"The thresholds file {path} has no [{split}] table.")
    unknown = sorted(set(table) - set(METRICS))
    if unknown:
        raise EvalDataError(
            f"The thresholds file {path} names unknown metrics {unknown}; "
            f"known: {', '.join(METRICS)}."
        )
    bad = [k for k, v in table.items() if not isinstance(v, int | float) or isinstance(v, bool)]
    if bad:
        raise EvalDataError(f"The thresholds file {path}: {bad} must be numbers.")
    return {k: float(v) for k, v in table.items()}


def check_thresholds(metrics: dict[str, Any], thresholds: dict[str, float]) -> list[str]:
    """One message per metric on the wrong side of its threshold (empty: all pass)."""
    failures = []
    for name, limit in thresholds.items():
        value = metrics.get(name)
        if value is None:
            failures.append(f"{name} was not measured (threshold {limit:g})")
        elif name in LOWER_IS_BETTER and value > limit:
            failures.append(f"{name} {value:.1f} > {limit:g}")
        elif name not in LOWER_IS_BETTER and value < limit:
            failures.append(f"{name} {value:.3f} < {limit:g}")
    return failures


# ------------------------------------------------------------------------------ judge


JUDGE_PROMPT = """You grade answers of a question-answering system over privacy documents.
Reply with one JSON object and nothing else: {{"faithfulness": F, "relevancy": R}}.
F (0 to 1): the share of the answer's claims that the CONTEXT supports.
R (0 to 1): how directly and completely the answer addresses the QUESTION.

QUESTION:
{question}

CONTEXT:
{context}

ANSWER:
{answer}"""


def judge_chat(settings: Settings, messages: list[dict[str, str]]) -> str:
    """Send one chat request for the judge and return the reply text.

    The only place the eval talks to a model, through the app's ZDR-guarded client
    (:mod:`app.openai_http`): only ``POST /chat/completions`` with text can leave.
    """
    from openai import OpenAI, OpenAIError

    from app.openai_http import OpenAIHTTP, translate_error

    http = OpenAIHTTP(settings)  # raises ConfigError without OPENAI_API_KEY
    client = OpenAI(
        api_key=http.api_key.get_secret_value(),
        base_url=http.base_url,
        http_client=http.client,
        max_retries=0,  # the guarded client retries
    )
    try:
        response = client.chat.completions.create(
            model=settings.llm_model, messages=messages, temperature=0
        )
    except (OpenAIError, PrivacyQAError) as exc:
        raise translate_error(exc, http.base_url) from exc
    finally:
        http.close()
    return response.choices[0].message.content or ""


def parse_judgement(reply: str) -> dict[str, float]:
    """The two scores from a judge reply (the first JSON object in it), clamped to 0..1."""
    start, end = reply.find("{"), reply.rfind("}")
    try:
        data = json.loads(reply[start : end + 1]) if start >= 0 else None
        scores = {k: min(1.0, max(0.0, float(data[k]))) for k in ("faithfulness", "relevancy")}
    except (TypeError, ValueError, KeyError) as exc:
        raise ProviderError(f"The judge replied with no usable scores: {_short(reply)!r}") from exc
    return scores


def judge_results(
    settings: Settings,
    results: list[ItemResult],
    chat: Callable[[Settings, list[dict[str, str]]], str] = judge_chat,
) -> int:
    """Grade every answered in-scope result with the LLM judge; returns how many were graded."""
    graded = 0
    for result in results:
        if not result.item.in_scope or result.abstained:
            continue
        context = "\n\n".join(dict.fromkeys(c.chunk_text or c.quote for c in result.citations))
        prompt = JUDGE_PROMPT.format(
            question=result.item.question, context=context, answer=result.answer
        )
        result.judge = parse_judgement(chat(settings, [{"role": "user", "content": prompt}]))
        graded += 1
    return graded


# ------------------------------------------------------------------------------ running


@dataclass
class EvalReport:
    split: str
    dataset: str
    settings: dict[str, Any]
    results: list[ItemResult]
    seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)
    topics: dict[str, dict[str, Any]] = field(default_factory=dict)
    baseline: dict[str, Any] | None = None
    baseline_path: str | None = None
    deltas: dict[str, float] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # threshold check failures
    judge_note: str = ""

    def finish(self) -> EvalReport:
        self.metrics = compute_metrics(self.results)
        self.topics = topic_metrics(self.results)
        self.deltas = deltas(self.metrics, self.baseline)
        return self

    @property
    def failing(self) -> list[ItemResult]:
        return [r for r in self.results if not r.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "dataset": self.dataset,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "settings": self.settings,
            "seconds": round(self.seconds, 2),
            "metrics": self.metrics,
            "topics": self.topics,
            "baseline": {"path": self.baseline_path, "metrics": self.baseline},
            "deltas": self.deltas,
            "thresholds": self.thresholds,
            "check_failures": self.failures,
            "judge": self.judge_note,
            "failing": [r.item.id for r in self.failing],
            "items": [r.to_dict() for r in self.results],
        }


def settings_summary(settings: Settings, model_id: str) -> dict[str, Any]:
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
    }


def run_eval(
    qa,
    items: list[EvalItem],
    split: str = "all",
    dataset: str = str(DEFAULT_DATASET),
    on_progress: Callable[[int, int], None] | None = None,
) -> EvalReport:
    """Ask every item through ``qa`` (an :class:`app.session.QA`) and score the answers.

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
            return qa.ask(item.question)
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


# ------------------------------------------------------------------------------ output


def _fmt(name: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if name in LOWER_IS_BETTER:
        return f"{value:.1f}"
    return f"{value:.3f}"


def _fmt_delta(name: str, delta: float | None) -> str:
    if delta is None:
        return ""
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


def topic_rows(report: EvalReport) -> list[list[str]]:
    rows = []
    for topic, metrics in report.topics.items():
        row = [topic]
        for _, key in TOPIC_COLUMNS:
            value = metrics.get(key)
            if key == "questions":
                row.append(str(value))
            else:
                row.append("" if value is None else f"{value:.2f}")
        rows.append(row)
    return rows


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
    lines += ["", "per topic:"]
    lines += _table(["topic"] + [c for c, _ in TOPIC_COLUMNS], topic_rows(report))
    failing = report.failing
    lines += ["", f"failing questions ({len(failing)}):" if failing else "no failing questions"]
    for result in failing:
        lines.append(f"  {result.item.id:<9} {_short(result.item.question, 70)}")
        lines.append(f"  {'':<9} -> {'; '.join(result.reasons())}")
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
    lines += ["", "## Per topic", ""]
    lines += md(["topic"] + [c for c, _ in TOPIC_COLUMNS], topic_rows(report))
    lines += ["", f"## Failing questions ({len(report.failing)})", ""]
    for result in report.failing:
        lines.append(f"- `{result.item.id}` {result.item.question} — {'; '.join(result.reasons())}")
    if not report.failing:
        lines.append("None.")
    lines += ["", "![metrics](report.png)", ""]
    return "\n".join(lines)


CHART_METRICS = [name for name in METRICS if name not in LOWER_IS_BETTER]


def write_chart(report: EvalReport, path: Path) -> None:
    """report.png: quality metrics against baseline and thresholds, and exact-pass per topic."""
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
