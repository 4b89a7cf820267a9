"""Embedding backends: the real bundled model, real tiktoken loaded offline."""

from __future__ import annotations

import math

import pytest

from app.embeddings import make_embeddings, prepare_offline_tiktoken
from app.errors import ConfigError

from .conftest import make_settings


@pytest.mark.slow
def test_bundled_model_embeds_offline_and_normalised(embeddings):
    vectors = embeddings.embed_documents(["OpenAI encrypts data at rest.", "Sourdough bread."])
    query = embeddings.embed_query("Is data encrypted at rest?")
    assert len(query) == 384
    assert math.isclose(sum(x * x for x in query), 1.0, rel_tol=1e-4)
    related, unrelated = (sum(a * b for a, b in zip(query, v, strict=True)) for v in vectors)
    assert related > unrelated + 0.3


def test_tiktoken_works_offline_from_the_bundled_vocabularies(tmp_path):
    import tiktoken

    prepare_offline_tiktoken(tmp_path / "tiktoken")
    for name in ("cl100k_base", "o200k_base"):
        encoding = tiktoken.get_encoding(name)
        text = "OpenAI encrypts all data at rest (AES-256)."
        assert encoding.decode(encoding.encode(text)) == text
    # Known cl100k_base ids, so a wrong vocabulary cannot pass unnoticed.
    assert tiktoken.get_encoding("cl100k_base").encode("hello world") == [15339, 1917]


def test_factory_picks_backends_by_name(tmp_path):
    assert make_embeddings(make_settings(tmp_path)).model_id == "local/all-MiniLM-L6-v2"
    assert make_embeddings(make_settings(tmp_path, embeddings="local")).model_id == (
        "local/all-MiniLM-L6-v2"
    )
    openai = make_embeddings(make_settings(tmp_path, embeddings="openai", openai_api_key="sk-x"))
    assert openai.model_id == "openai/text-embedding-3-small"
    assert openai.max_input_tokens == 8191


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("openai", "OPENAI_API_KEY"),
        ("local/bert-large", "bundled one"),
        ("cohere/embed", "Unknown embedding backend"),
    ],
)
def test_factory_errors_name_their_fix(tmp_path, monkeypatch, name, message):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match=message):
        make_embeddings(make_settings(tmp_path, embeddings=name))


@pytest.mark.slow
def test_bundled_model_gives_the_vectors_of_sentence_transformers():
    """app/minilm.py runs the model with transformers alone; its vectors must be those of
    the model's reference pipeline, sentence-transformers, including past the 256-token
    limit (truncated alike) and in batches of mixed lengths."""
    from sentence_transformers import SentenceTransformer

    from app import minilm

    texts = [
        "Is data encrypted at rest?",
        "OpenAI offers a Business Associate Agreement for the API. " * 40,  # > 256 tokens
        "ZDR",
        *(
            f"Retention of API inputs and outputs, case {i}: " + "thirty days " * i
            for i in range(40)
        ),
    ]
    ours = minilm.encode(minilm.load_model(), texts)
    reference = SentenceTransformer(str(minilm.model_path()), device="cpu").encode(
        texts, normalize_embeddings=True
    )
    assert len(ours) == len(texts)
    worst = max(
        abs(a - b)
        for mine, theirs in zip(ours, reference, strict=True)
        for a, b in zip(mine, theirs, strict=True)
    )
    assert worst < 1e-5
