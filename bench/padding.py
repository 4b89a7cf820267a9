"""Count the padding tokens the embedding model computes, by chunk order (no model run).

    .venv/bin/python bench/padding.py [--docs 40,200]

The model (app/minilm.py, like sentence-transformers) sorts each ``embed_documents`` call by
length and pads every sub-batch of 32 to its longest text. Ingest calls it once per batch of
64 chunks (app/index/writer.py BATCH_SIZE), so the order of the chunks decides how much padding is
computed. For synthetic corpora (bench/synthetic.py) this prints the padded tokens of our chunks in
file order and shortest first, and of the LangChain tutorial's chunks
(RecursiveCharacterTextSplitter(1000, 200)) embedded in one call, as Chroma.from_documents
does. Counts use the model's tokenizer, capped at its 256-token input.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from synthetic import write_corpus  # noqa: E402

from app.config import load_settings  # noqa: E402
from app.corpus import corpus_files, load_corpus, load_document  # noqa: E402
from app.embeddings import LocalMiniLM  # noqa: E402
from app.index.ingest import chunk_documents  # noqa: E402
from app.index.writer import BATCH_SIZE  # noqa: E402

SUB_BATCH = 32  # app/minilm.py BATCH_SIZE


def padded_tokens(lengths: list[int], call_size: int) -> int:
    """Tokens computed when ``lengths`` are embedded ``call_size`` at a time."""
    total = 0
    for i in range(0, len(lengths), call_size):
        call = sorted(lengths[i : i + call_size], reverse=True)
        for j in range(0, len(call), SUB_BATCH):
            sub = call[j : j + SUB_BATCH]
            total += max(sub) * len(sub)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", default="40,200", help="comma-separated corpus sizes")
    args = parser.parse_args()
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    model = LocalMiniLM()  # only its tokenizer is used

    def tokens(text: str) -> int:
        return min(model.max_input_tokens, model.count_tokens(text))

    print(f"{'docs':>5} {'pipeline':<28} {'chunks':>7} {'tokens':>8} {'padded':>8}")
    for docs in (int(n) for n in args.docs.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            corpus = write_corpus(Path(tmp) / "corpus", docs)
            settings = load_settings(data_dir=Path(tmp) / "data", corpus_dir=corpus)
            ours = [
                tokens(c.page_content)
                for c in chunk_documents(load_corpus(corpus).documents, model, settings)
            ]
            texts = [
                Document(page_content=load_document(p, s).text) for s, p in corpus_files(corpus)
            ]
            splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
            tutorial = [tokens(c.page_content) for c in splitter.split_documents(texts)]
        rows = [
            ("ours, file order", ours, BATCH_SIZE),
            ("ours, shortest first", sorted(ours), BATCH_SIZE),
            ("tutorial, one call", tutorial, len(tutorial)),
        ]
        for name, lengths, call_size in rows:
            padded = padded_tokens(lengths, call_size)
            print(f"{docs:>5} {name:<28} {len(lengths):>7} {sum(lengths):>8} {padded:>8}")


if __name__ == "__main__":
    main()
