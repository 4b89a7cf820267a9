"""Key-fact recall of the answers on one split of evals/questions.jsonl (a stopgap until
`privacy-qa eval` exists): a fact counts when one of its phrasings appears in the answer.

    .venv/bin/python bench/fact_recall.py --split dev
"""

from __future__ import annotations

import argparse

from _evalset import load_items

from app.config import load_settings
from app.qa import QA


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=["dev", "test", "all"])
    args = parser.parse_args()
    items = [item for item in load_items(args.split) if not item.get("abstain")]
    qa = QA(load_settings())
    found = total = 0
    for item in items:
        answer = qa.ask(item["question"]).answer.lower()
        stated = [any(p.lower() in answer for p in fact) for fact in item["facts"]]
        found, total = found + sum(stated), total + len(stated)
        if not all(stated):
            print(f"missed  {item['id']:<9} {item['question']}")
    print(f"{args.split}: key-fact recall {found}/{total} = {found / total:.0%}")


if __name__ == "__main__":
    main()
