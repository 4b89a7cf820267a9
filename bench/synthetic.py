"""A deterministic generator of policy-like markdown documents, for benchmarks.

    python bench/synthetic.py OUT_DIR --docs 200 [--seed 7] [--sections 6]

Each document has front matter, a title, sections with paragraphs, bullet lists and a
quoted passage, built from a fixed vocabulary of compliance language, so it chunks like
a real policy. The same seed and counts always give the same files.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

SUBJECTS = [
    "customer records",
    "audit logs",
    "payment data",
    "support tickets",
    "backups",
    "access tokens",
    "employee files",
    "health information",
    "marketing lists",
    "encryption keys",
    "vendor contracts",
    "incident reports",
    "training data",
    "usage metrics",
    "session recordings",
    "identity documents",
]
ACTIONS = [
    "are retained for {n} days",
    "are encrypted with AES-256 at rest",
    "are reviewed every {n} weeks",
    "are deleted within {n} days of a request",
    "are replicated to {n} regions",
    "are accessible only to on-call engineers",
    "require approval from the data protection officer",
    "are covered by the data processing addendum",
    "are transmitted over TLS 1.2 or later",
    "are pseudonymised before analysis",
    "are excluded from model training",
    "are logged with a {n}-day audit trail",
]
ROLES = [
    "the security team",
    "the privacy office",
    "each data owner",
    "the compliance lead",
    "an external auditor",
    "the on-call engineer",
    "the vendor manager",
]
TOPICS = [
    "Retention",
    "Access control",
    "Encryption",
    "Subprocessors",
    "Incident response",
    "Data subject requests",
    "Backups",
    "Audit",
    "Training data",
    "Transfers",
    "Vendor review",
    "Logging",
]


def sentence(rng: random.Random) -> str:
    subject = rng.choice(SUBJECTS)
    action = rng.choice(ACTIONS).format(n=rng.choice([7, 14, 30, 45, 90, 180, 365]))
    role = rng.choice(ROLES)
    return f"{subject.capitalize()} {action}, as confirmed by {role}."


def document(rng: random.Random, number: int, sections: int) -> str:
    title = f"{rng.choice(TOPICS)} policy {number:05d}"
    lines = [
        "---",
        f"title: {title}",
        f"url: https://policies.example.org/{number:05d}",
        "---",
        "",
        f"# {title}",
        "",
    ]
    for s in range(sections):
        lines += [f"## {rng.choice(TOPICS)} {s + 1}", ""]
        lines.append(" ".join(sentence(rng) for _ in range(rng.randint(3, 6))))
        lines.append("")
        for _ in range(rng.randint(2, 4)):
            lines.append(f"- {sentence(rng)}")
        lines.append("")
        if rng.random() < 0.4:
            lines += [f"> {sentence(rng)} {sentence(rng)}", "> — internal guidance", ""]
    return "\n".join(lines)


def generate(out_dir: Path, docs: int, seed: int = 7, sections: int = 6) -> list[Path]:
    """Write ``docs`` documents into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(docs):
        rng = random.Random(f"{seed}-{number}")  # per document: stable whatever the count
        path = out_dir / f"policy-{number:05d}.md"
        path.write_text(document(rng, number, sections), encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sections", type=int, default=6)
    args = parser.parse_args()
    paths = generate(args.out_dir, args.docs, args.seed, args.sections)
    print(f"wrote {len(paths)} documents to {args.out_dir}")


if __name__ == "__main__":
    main()
