"""Scoring the eval: what each metric means, the pure functions that compute them over
plain data (tested on hand-made cases, no model needed), and the scored result of one
question (:class:`ItemResult`)."""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, NotRequired, TypedDict

from app.answering.types import Answer
from app.evals.dataset import EvalItem

RECALL_KS = (1, 3, 5)

# Every metric, in report order, with its label. Latencies, answer length and lead-ins
# must stay *below* their threshold; everything else must reach it.
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
    "answer_words_p50": "median answer (words)",
    "lead_ins": "answers opening Yes/No",
    "first_quote_facts": "answers whose first quote states a fact",
    "judge_faithfulness": "judge: faithfulness",
    "judge_relevancy": "judge: answer relevancy",
    # the conversation eval (app/evals/conversations.py)
    "followup_exact_pass": "follow-up exact pass",
    "rewrite_precision": "rewrite precision",
    "routine_branch_accuracy": "routine branch accuracy",
}
LOWER_IS_BETTER = frozenset({"latency_p50_ms", "latency_p95_ms", "answer_words_p50", "lead_ins"})

# metric name -> value (None: nothing to measure); also the counts "questions", "in_scope"
# and "out_of_scope"
Metrics = dict[str, float | int | None]


def normalise(text: str) -> str:
    """Lowercase, straight quotes, one space: how facts and evidence are matched."""
    text = text.lower().replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.split())


def shorten(text: str, limit: int = 90) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


_CITATION_MARK = re.compile(r"\[\d+\]")
# "Yes," / "No," (or "Yes." ...) at the very start, after any opening quote or markup
_LEAD_IN = re.compile(r"^[\s\"'“‘>*_]*(?:yes|no)\s*[,.;:!]", re.IGNORECASE)


def answer_words(text: str) -> int:
    """Words in an answer; citation marks ("[1]") and lone punctuation are not words."""
    return sum(1 for w in _CITATION_MARK.sub(" ", text).split() if any(c.isalnum() for c in w))


def opens_with_lead_in(text: str) -> bool:
    """Whether an answer begins with a bare "Yes," / "No,": a quote whose opening answers
    some question, which reads as the answer to the one asked whether or not it is."""
    return bool(_LEAD_IN.match(text))


def median_answer_words(answers: list[str]) -> float | None:
    """Median of :func:`answer_words` over ``answers`` (None for no answers)."""
    return float(statistics.median(answer_words(a) for a in answers)) if answers else None


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


# ------------------------------------------------------------------------------ results


class JudgeScores(TypedDict):
    """The LLM judge's grades of one answer, each 0..1 (:mod:`app.evals.judge`)."""

    faithfulness: float
    relevancy: float


class FactJSON(TypedDict):
    fact: list[str]
    stated: bool


class CitationJSON(TypedDict):
    n: int
    source: str
    start_line: int
    quote: str
    correct: bool


class ItemJSON(TypedDict):
    """One question in report.json."""

    id: str
    split: str
    topic: str
    question: str
    expected: Literal["abstain", "answer"]
    answer: str
    abstained: bool
    passed: bool
    reasons: list[str]
    rank: int | None
    retrieved: list[str]
    facts: list[FactJSON]
    citations: list[CitationJSON]
    latency_ms: float
    judge: NotRequired[JudgeScores]


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
    judge: JudgeScores | None = None

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
            return [f"answered instead of abstaining: {shorten(quote)}"]
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

    def to_dict(self) -> ItemJSON:
        data: ItemJSON = {
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
        }
        if self.judge is not None:
            data["judge"] = self.judge
        return data


def score_answer(
    item: EvalItem, answer: Answer, source_text: Callable[[str], str | None]
) -> ItemResult:
    """Score one answer for ``item``; ``source_text`` reads a source (None: unreadable)."""
    retrieved = [(h.info.source, h.info.section, h.body) for h in answer.hits]
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
        retrieved=[f"{h.info.source}:{h.info.start_line}" for h in answer.hits],
        facts=(
            [False] * len(item.facts)
            if answer.abstained
            else facts_stated(item.facts, answer.answer)
        ),
        latency_ms=answer.timings_ms.get("total", 0.0),
    )


def first_quote_facts(in_scope: list[ItemResult]) -> float | None:
    """Of the answered in-scope questions, the share whose first quote states one of the
    facts asked for: whether an answer opens with the answer (a reader stops early)."""
    answered = [r for r in in_scope if not r.abstained and r.citations and r.item.facts]
    if not answered:
        return None
    opening = sum(any(facts_stated(r.item.facts, r.citations[0].quote)) for r in answered)
    return opening / len(answered)


def compute_metrics(results: list[ItemResult]) -> Metrics:
    """All metrics over ``results`` (None where a metric has nothing to measure)."""
    in_scope = [r for r in results if r.item.in_scope]
    ranks = [r.rank for r in in_scope]
    metrics: Metrics = {f"recall_at_{k}": recall_at_k(ranks, k) for k in RECALL_KS}
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
    answered = [r.answer for r in results if not r.abstained]
    metrics["answer_words_p50"] = median_answer_words(answered)
    metrics["lead_ins"] = sum(opens_with_lead_in(a) for a in answered)
    metrics["first_quote_facts"] = first_quote_facts(in_scope)
    judged = [r.judge for r in results if r.judge]
    if judged:
        metrics["judge_faithfulness"] = statistics.fmean(j["faithfulness"] for j in judged)
        metrics["judge_relevancy"] = statistics.fmean(j["relevancy"] for j in judged)
    metrics["questions"] = len(results)
    metrics["in_scope"] = len(in_scope)
    metrics["out_of_scope"] = len(results) - len(in_scope)
    return metrics


def topic_metrics(results: list[ItemResult]) -> dict[str, Metrics]:
    """:func:`compute_metrics` per topic, topics in data-set order."""
    return _grouped(results, lambda r: r.item.topic)


def split_metrics(results: list[ItemResult]) -> dict[str, Metrics]:
    """:func:`compute_metrics` per split (dev, test, paraphrase), in data-set order."""
    return _grouped(results, lambda r: r.item.split)


def _grouped(results: list[ItemResult], key: Callable[[ItemResult], str]) -> dict[str, Metrics]:
    groups: dict[str, list[ItemResult]] = {}
    for result in results:
        groups.setdefault(key(result), []).append(result)
    return {name: compute_metrics(group) for name, group in groups.items()}
