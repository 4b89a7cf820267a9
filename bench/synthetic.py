"""Deterministic synthetic corpus of policy-like markdown, for the benchmarks.

    .venv/bin/python bench/synthetic.py OUT_DIR --docs 1000 [--sections 5] [--seed 7]

Each document is a privacy policy, DPA, audit report or retention schedule of a made-up
vendor: front matter, a title, ``--sections`` sections with subsections, paragraphs,
bullet lists and block quotes, built from a seeded random generator over a domain
vocabulary. The same arguments always write the same bytes: the scale figures in
docs/benchmarks.md were measured on this output, and tests/test_synthetic.py pins its
hash. With the default chunking (160 tokens) one document gives about 11 chunks at
``--sections 5``, so 10,000 documents give more than 100,000 chunks.

Used by bench/bench_scale.py, bench/bench_ingest.py and bench/tutorial_pipeline.py.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

KINDS = [
    "Privacy Policy",
    "Data Processing Addendum",
    "SOC 2 Type II Report Summary",
    "Data Retention Schedule",
    "Security Whitepaper",
    "Subprocessor List",
    "Incident Response Policy",
    "Acceptable Use Policy",
]
PREFIXES = "Acme Blue Cedar Delta Echo Fjord Granite Harbor Iris Juniper Kestrel Lumen".split()
SUFFIXES = "Analytics Health Cloud Labs Systems Payments Logistics Robotics Media Bank".split()
SECTION_TOPICS = [
    "Scope",
    "Definitions",
    "Data We Collect",
    "How We Use Data",
    "Retention",
    "Deletion",
    "Encryption",
    "Access Controls",
    "Subprocessors",
    "International Transfers",
    "Security Incidents",
    "Audit Rights",
    "Data Subject Requests",
    "Training Data",
    "Logging and Monitoring",
    "Business Continuity",
    "Vendor Management",
    "Children's Data",
    "Contact",
    "Changes to This Policy",
]
SUB_TOPICS = ["Overview", "Details", "Exceptions", "Customer Controls", "Evidence", "Timelines"]
DATA = [
    "customer content",
    "prompts and completions",
    "account information",
    "usage metadata",
    "billing records",
    "support tickets",
    "audit logs",
    "uploaded files",
    "fine-tuning datasets",
    "telemetry",
    "protected health information",
    "payment card data",
]
ACTIONS = [
    "retains",
    "deletes",
    "encrypts",
    "pseudonymises",
    "backs up",
    "reviews",
    "exports",
    "anonymises",
    "logs access to",
    "restricts access to",
]
CONTROLS = [
    "AES-256 encryption at rest",
    "TLS 1.2 or later in transit",
    "role-based access control",
    "quarterly access reviews",
    "hardware security modules",
    "single sign-on with SAML",
    "multi-factor authentication",
    "immutable audit trails",
    "annual penetration tests",
    "a bug bounty programme",
    "customer-managed keys",
    "network segmentation",
]
FRAMEWORKS = ["GDPR", "CCPA", "HIPAA", "SOC 2", "ISO 27001", "ISO 27701", "PCI DSS", "LGPD"]
REGIONS = ["the EU", "the United States", "the United Kingdom", "Canada", "Japan", "Australia"]
ROLES = ["the controller", "the processor", "a sub-processor", "the customer", "the vendor"]
PERIODS = ["7 days", "14 days", "30 days", "60 days", "90 days", "6 months", "1 year", "7 years"]
CONNECTIVES = ["In addition,", "However,", "Where required by law,", "By default,", "On request,"]
#: Once at the start of every document's first paragraph ("Effective 2021-02-03."), so a
#: benchmark can change exactly one document by a word (see :func:`edit_one`).
EDITABLE = "Effective "


def _vendor(rng: random.Random) -> str:
    return f"{rng.choice(PREFIXES)} {rng.choice(SUFFIXES)}"


def _sentence(rng: random.Random, vendor: str) -> str:
    shape = rng.randrange(8)
    data, period = rng.choice(DATA), rng.choice(PERIODS)
    if shape == 0:
        return f"{vendor} {rng.choice(ACTIONS)} {data} for {period} after the request."
    if shape == 1:
        return (
            f"{rng.choice(CONNECTIVES)} {data} is protected with {rng.choice(CONTROLS)} "
            f"and {rng.choice(CONTROLS)}."
        )
    if shape == 2:
        return (
            f"For {rng.choice(FRAMEWORKS)} purposes {vendor} acts as {rng.choice(ROLES)} "
            f"for {data} processed in {rng.choice(REGIONS)}."
        )
    if shape == 3:
        return (
            f"Requests to delete {data} are completed within {period}, except where "
            f"{rng.choice(FRAMEWORKS)} requires a longer period."
        )
    if shape == 4:
        return (
            f"{vendor} does not use {data} to train models unless the customer opts in in writing."
        )
    if shape == 5:
        ticket = rng.randrange(1000, 99999)
        return f"Exceptions are recorded under control {rng.choice('ABCDEF')}-{ticket}."
    if shape == 6:
        return (
            f"Transfers of {data} out of {rng.choice(REGIONS)} rely on standard contractual "
            f"clauses and a transfer impact assessment."
        )
    email = f"privacy-{rng.randrange(100, 999)}@{vendor.split()[0].lower()}.example"
    return f"Questions about {data} go to {email}, answered within {period}."


def _paragraph(rng: random.Random, vendor: str) -> str:
    return " ".join(_sentence(rng, vendor) for _ in range(rng.randint(3, 6)))


def _block(rng: random.Random, vendor: str) -> str:
    kind = rng.random()
    if kind < 0.6:
        return _paragraph(rng, vendor)
    if kind < 0.85:
        return "\n".join(f"- {_sentence(rng, vendor)}" for _ in range(rng.randint(3, 5)))
    return "> " + _sentence(rng, vendor) + " " + _sentence(rng, vendor)


def document(index: int, seed: int, sections: int) -> tuple[str, str]:
    """(file name, markdown text) of document number ``index``."""
    rng = random.Random(f"{seed}-{index}")
    vendor = _vendor(rng)
    kind = KINDS[index % len(KINDS)]
    title = f"{vendor} {kind} ({index:05d})"
    parts = [
        f"---\ntitle: {title}\nurl: https://{vendor.split()[0].lower()}.example/{index}\n---\n",
        f"# {title}\n",
        f"Effective {2020 + index % 6}-{1 + index % 12:02d}-{1 + index % 28:02d}. "
        + _paragraph(rng, vendor)
        + "\n",
    ]
    for topic in rng.sample(SECTION_TOPICS, min(sections, len(SECTION_TOPICS))):
        parts.append(f"## {topic}\n")
        parts.append(_block(rng, vendor) + "\n")
        for sub in rng.sample(SUB_TOPICS, rng.randint(0, 2)):
            parts.append(f"### {sub}\n")
            parts.append(_block(rng, vendor) + "\n")
    name = f"{kind.lower().replace(' ', '-')}-{index:05d}.md"
    return name, "\n".join(parts)


def write_corpus(out: Path, docs: int, sections: int = 5, seed: int = 7) -> Path:
    """Write ``docs`` documents into ``out`` (100 per subfolder); return ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for i in range(docs):
        name, text = document(i, seed, sections)
        folder = out / f"batch-{i // 100:03d}"
        folder.mkdir(exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return out


def corpus_paths(out: Path) -> list[Path]:
    """The documents :func:`write_corpus` wrote into ``out``, in document order."""
    return sorted(out.glob("batch-*/*.md"), key=lambda path: path.stem[-5:])


def edit_one(path: Path) -> None:
    """Change one word of a generated document (its first paragraph's "Effective")."""
    text = path.read_text(encoding="utf-8")
    edited = text.replace(EDITABLE, "In force from ", 1)
    if edited == text:
        raise ValueError(f"{path} has no {EDITABLE!r}: not a document of this generator")
    path.write_text(edited, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="directory to write the corpus into")
    parser.add_argument("--docs", type=int, default=1000, help="number of documents")
    parser.add_argument("--sections", type=int, default=5, help="sections per document")
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    args = parser.parse_args()
    write_corpus(args.out, args.docs, args.sections, args.seed)
    print(f"wrote {args.docs} documents to {args.out}")


if __name__ == "__main__":
    main()
