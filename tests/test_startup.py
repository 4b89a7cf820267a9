"""The start-up guard: a no-op ``privacy-qa ingest`` (nothing changed) runs in a fresh
interpreter, as the command line runs it, and must not import what a real ingest, a
question or the page needs. It is answered by app.qa and app/index/manifest.py and
app/index/changes.py alone (docs/benchmarks.md has its cost against ``import app``).
A one-shot ``privacy-qa ask`` must not import what only ingest, the chat model or the
page need (bench/bench_cold_ask.py has its cost).

``dataclasses`` and ``typing`` are on that path (the records are dataclasses), measured.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from app.index import changes
from app.index.manifest import Manifest, fingerprint, lexical_path, write_manifest

from .conftest import ROOT, copy_corpus, make_settings

MUST_NOT_IMPORT = (
    # Vendor stacks: the model, the store, LangChain, the page, the OpenAI client.
    "langchain",  # and every langchain_* package (langchain_core, langchain_chroma, ...)
    "chromadb",
    "torch",
    "transformers",
    "sentence_transformers",
    "openai",
    "numpy",
    "streamlit",
    "sqlalchemy",
    "pydantic",
    "click",
    "httpx",
    # The parts of the app a real ingest or a question needs.
    "app.index.ingest",
    "app.index.chroma",
    "app.index.records",
    "app.index.writer",
    "app.session",
    "app.embeddings",
    "app.retrieval",
    "app.evals",
    "app.ui.page",
    "app.ui.resources",
    # Standard library that the no-op has no use for.
    "secrets",
    "datetime",
    "html.parser",
    "logging",  # nothing on the path logs; the CLI configures logging once there is work
    "hashlib",  # with the file-hash cache warm nothing is hashed
)

# What a one-shot offline ask has no use for: LangChain beyond its Document (callbacks,
# messages, runnables and the pydantic.v1 and requests they pull: 0.15 s), what only
# ingest, the chat model, the evals or the page use.
ASK_MUST_NOT_IMPORT = (
    "langchain_core.callbacks",
    "langchain_core.messages",
    "langchain_core.runnables",
    "langchain_core.embeddings",
    "langchain_chroma",
    "langchain_classic",
    "langchain_text_splitters",
    "langchain_openai",
    "langsmith",
    "pydantic.v1",
    "requests",
    "sqlalchemy",
    "torch",
    "openai",
    "tiktoken",
    "streamlit",
    "pandas",
    "app.index.ingest",
    "app.index.writer",
    "app.index.records",
    "app.answering.chat",
    "app.openai_http",
    "app.condense",
    "app.evals",
    "app.ui.page",
)

CODE = """
import json, sys
from app.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    assert exit.code == 0, exit.code
names = json.loads({names!r})
print(json.dumps(sorted(
    m for m in sys.modules
    if any(m == n or m.startswith(n + ".") or (n == "langchain" and m.startswith(n)) for n in names)
)))
"""


def noop_ingest_imports(settings) -> tuple[dict, set[str]]:
    """Run ``privacy-qa ingest --json`` in a fresh interpreter: its report, and which of
    MUST_NOT_IMPORT it imported."""
    return command_imports(settings, ["ingest", "--json"], MUST_NOT_IMPORT)


def command_imports(settings, command: list[str], names) -> tuple[dict, set[str]]:
    """Run ``privacy-qa COMMAND`` (printing one JSON line) in a fresh interpreter: what it
    printed, and which of ``names`` it imported."""
    args = ["--data-dir", str(settings.data_dir), "--corpus-dir", str(settings.corpus_dir)]
    code = CODE.format(names=json.dumps(names))
    out = subprocess.run(
        [sys.executable, "-c", code, *args, *command],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    report, loaded = map(json.loads, out.stdout.splitlines())
    return report, set(loaded)


def wait_until_settled(corpus) -> None:
    """Files changed in the last SETTLE_NS are never cached: wait until the corpus is older."""
    newest = max(p.stat().st_ctime_ns for p in corpus.iterdir())
    time.sleep(max(0.0, (newest + changes.SETTLE_NS - time.time_ns()) / 1e9 + 0.05))


def assert_noop_imports_nothing_heavy(settings, documents: int) -> None:
    wait_until_settled(settings.corpus_dir)
    for run in ("fills the cache", "uses the cache"):
        report, loaded = noop_ingest_imports(settings)
        assert (report["unchanged"], report["chunks_added"]) == (documents, 0)
        # The first run reads and hashes what the cache does not know yet.
        assert loaded <= (set() if run == "uses the cache" else {"hashlib"})


def test_noop_ingest_imports_nothing_heavy(tmp_path):
    """On an index as the no-op sees it: a manifest that matches the files and the
    settings, the store's dir and the lexical index's file (neither is looked into)."""
    settings = make_settings(tmp_path, copy_corpus(tmp_path / "corpus"))
    settings.store_dir.mkdir(parents=True)
    collection = "privacy_qa_20000101000000_abcdef"
    lexical_path(settings, collection).parent.mkdir(parents=True)
    lexical_path(settings, collection).touch()
    files = changes.hash_files(settings.corpus_dir)
    write_manifest(
        settings,
        Manifest(
            collection=collection,
            fingerprint=fingerprint(settings),
            documents=len(files),
            chunks=40,
            files=files,
        ),
    )
    assert_noop_imports_nothing_heavy(settings, documents=len(files))


@pytest.mark.slow
def test_noop_ingest_of_a_real_index_loads_neither_model_nor_chroma(indexed_settings):
    assert_noop_imports_nothing_heavy(indexed_settings, documents=2)


@pytest.mark.slow
def test_a_one_shot_ask_imports_only_what_answering_needs(indexed_settings):
    question = "How long does OpenAI retain API data?"
    answer, loaded = command_imports(
        indexed_settings, ["ask", "--json", question], ASK_MUST_NOT_IMPORT
    )
    assert "30 days" in answer["answer"]
    assert loaded == set()
