"""Measure the PHI check (app/phi.py) on the labelled questions of evals/phi.jsonl.

    .venv/bin/python scripts/measure_phi.py [--split dev|test|all] [--errors]
        [--dataset evals/phi.jsonl] [--corpus corpus]

Each question's labels are (kind, text) pairs. A finding is a true positive when a label
of the same kind overlaps it; every other finding is a false positive, every label that
no finding of its kind overlaps a false negative. Also per question: does the check stop
it (any finding) when it holds something labelled, and let it through when not. The
vocabulary of the corpus dir's documents is the detector's, as in the app. No model, no
index: it reads the corpus files' words only. ``--errors`` lists the misses by id and kind
(never printed elsewhere: the set is made-up data, but the habit holds).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.phi import KINDS, PhiDetector, vocabulary_of  # noqa: E402

# presidio-analyzer's entity types as the kinds of app/phi.py; any other type it finds (a
# URL, a UK postcode, a passport number) counts as an identifier: it would stop a question.
PRESIDIO_KINDS = {"EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone", "US_SSN": "ssn"}
PRESIDIO_KINDS |= {"DATE_TIME": "date", "PERSON": "name", "LOCATION": "address"}


class PresidioPatterns:
    """presidio-analyzer's recognizers that need no spaCy model (its pattern recognizers
    for English and its phone recognizer), behind the detector's ``find``: the comparison
    of docs/phi.md. Needs ``pip install presidio-analyzer`` (not a dependency)."""

    def __init__(self) -> None:
        try:
            import tldextract
            from presidio_analyzer import EntityRecognizer, PatternRecognizer
            from presidio_analyzer import predefined_recognizers as predefined
        except ImportError:
            sys.exit(
                "--presidio needs presidio-analyzer: "
                ".venv/bin/python -m pip install presidio-analyzer"
            )
        # Its e-mail check calls tldextract, which fetches the public suffix list from the
        # internet on first use: the snapshot tldextract ships is used instead.
        tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=())
        self.recognizers = [predefined.PhoneRecognizer()]
        for name in dir(predefined):
            kind = getattr(predefined, name)
            if isinstance(kind, type) and issubclass(kind, PatternRecognizer):
                try:
                    recognizer = kind()
                except Exception:  # noqa: BLE001 - one that needs arguments: not a default
                    continue
                if recognizer.supported_language == "en":
                    self.recognizers.append(recognizer)
        self._base = EntityRecognizer

    def find(self, text: str) -> list:
        from app.phi import Finding

        results = []
        for recognizer in self.recognizers:
            results += recognizer.analyze(text, recognizer.supported_entities, None) or []
        found = []
        for result in self._base.remove_duplicates(results):  # as its AnalyzerEngine does
            kind = PRESIDIO_KINDS.get(result.entity_type, "record_number")
            found.append(Finding(kind, (result.start, result.end), text[result.start : result.end]))
        return found


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def corpus_vocabulary(corpus: Path) -> frozenset[str]:
    texts = (p.read_text(encoding="utf-8", errors="replace") for p in sorted(corpus.rglob("*.md")))
    return vocabulary_of(texts)


def score(items: list[dict], detector) -> dict:
    """Per kind: labels, labels found, findings, findings that are labelled; per question:
    (labelled?, flagged?); the misses by id."""
    count = {name: Counter() for name in ("labels", "labels_found", "found", "found_right")}
    questions, errors = Counter(), []
    started = time.perf_counter()
    for item in items:
        question = item["question"]
        found = detector.find(question)
        labels = [_span(question, label) for label in item["findings"]]
        for finding in found:
            right = any(k == finding.kind and _overlap(finding.span, s) for k, s in labels)
            count["found"][finding.kind] += 1
            count["found_right"][finding.kind] += right
            if not right:
                errors.append((item["id"], "false positive", finding.kind))
        for kind, span in labels:
            hit = any(f.kind == kind and _overlap(f.span, span) for f in found)
            count["labels"][kind] += 1
            count["labels_found"][kind] += hit
            if not hit:
                errors.append((item["id"], "missed", kind))
        questions[(bool(labels), bool(found))] += 1
    seconds = time.perf_counter() - started
    return {**count, "questions": questions, "errors": errors,
            "ms_per_question": 1000 * seconds / len(items)}  # fmt: skip


def _span(question: str, label: dict) -> tuple[str, tuple[int, int]]:
    start = question.index(label["text"])
    return label["kind"], (start, start + len(label["text"]))


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "-"


def table(result: dict, items: list[dict]) -> str:
    rows = ["| kind | labelled | found | precision | recall |", "| --- |" + " ---: |" * 4]
    for kind in [*KINDS, "all"]:
        labels, hit, found, right = (
            sum(result[c].values()) if kind == "all" else result[c][kind]
            for c in ("labels", "labels_found", "found", "found_right")
        )
        name = "**all findings**" if kind == "all" else f"`{kind}`"
        rows.append(
            f"| {name} | {labels} | {found} | {_ratio(right, found)} | {_ratio(hit, labels)} |"
        )
    q = result["questions"]
    stopped, held = q[(True, True)], q[(True, True)] + q[(True, False)]
    flagged = q[(True, True)] + q[(False, True)]
    rows.append(
        f"| **questions** (any finding) | {held} | {flagged} | {_ratio(stopped, flagged)} "
        f"| {_ratio(stopped, held)} |"
    )
    clean = q[(False, False)] + q[(False, True)]
    rows.append("")
    rows.append(
        f"{len(items)} questions ({held} with something labelled, {clean} without); "
        f"{q[(False, True)]} of the {clean} without were stopped; "
        f"{result['ms_per_question']:.2f} ms per question."
    )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=ROOT / "evals" / "phi.jsonl")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument(
        "--split",
        choices=["dev", "test", "all"],
        default="all",
        help="dev: written with the detector; test: written after it, never tuned on.",
    )
    parser.add_argument(
        "--presidio",
        action="store_true",
        help="Measure presidio-analyzer's model-free recognizers instead (pip install it).",
    )
    parser.add_argument("--errors", action="store_true", help="List the misses by id.")
    args = parser.parse_args()
    items = [i for i in load(args.dataset) if args.split in ("all", i["split"])]
    detector = PresidioPatterns() if args.presidio else PhiDetector(corpus_vocabulary(args.corpus))
    detector.find("warm up")  # the name lists load once
    result = score(items, detector)
    print(table(result, items))
    if args.errors:
        for item_id, what, kind in result["errors"]:
            print(f"{item_id}: {what} {kind}")


if __name__ == "__main__":
    main()
