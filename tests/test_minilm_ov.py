"""The bundled MiniLM on OpenVINO (app/minilm_ov.py): the real network, its vectors against
onnxruntime's, the IR derived once, and the backend the factory makes of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import minilm, minilm_ov
from app.embeddings import make_embeddings

from .conftest import make_settings

ROOT = Path(__file__).resolve().parent.parent


def _texts() -> list[str]:
    """Every eval question and every paragraph of corpus/ (texts of chunk length)."""
    from app.evals.dataset import load_dataset

    questions = [item.question for item in load_dataset(ROOT / "evals/questions.jsonl")]
    paragraphs = [
        paragraph
        for path in sorted((ROOT / "corpus").glob("*.md"))
        for paragraph in path.read_text(encoding="utf-8").split("\n\n")
        if paragraph.strip()
    ]
    return [*questions, *paragraphs, "Business Associate Agreement for the API. " * 60]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return minilm_ov.load_model(tmp_path_factory.mktemp("ov-cache"))


@pytest.mark.slow
def test_its_vectors_are_onnxruntimes_within_bfloat16(model):
    """bfloat16 products move the vectors a little (docs/benchmarks.md: 0.99998 at worst
    over these texts), far inside the 0.999 the model is held to against
    sentence-transformers (tests/test_embeddings.py)."""
    import numpy as np

    texts = _texts()
    ours = np.array(minilm.encode(model, texts))
    reference = np.array(minilm.encode(minilm.load_model(), texts))
    assert ours.shape == reference.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert (ours * reference).sum(axis=1).min() >= 0.9999


@pytest.mark.slow
def test_the_ir_is_derived_once_then_read_from_the_cache(tmp_path):
    source = minilm.model_path()
    xml = minilm_ov.derived_model(source, tmp_path)
    assert xml.name == "model.xml" and xml.with_suffix(".bin").exists()
    stamp = xml.stat().st_mtime_ns
    assert minilm_ov.derived_model(source, tmp_path) == xml
    assert xml.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [xml.parent.name]  # no temporary left


@pytest.mark.slow
def test_an_unwritable_cache_still_gives_a_working_model(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    model = minilm_ov.load_model(blocked / "cache")
    (vector,) = minilm.encode(model, ["Is data encrypted at rest?"])
    assert len(vector) == 384


@pytest.mark.slow
def test_the_factory_backend_embeds_queries_and_documents_alike(tmp_path):
    backend = make_embeddings(make_settings(tmp_path, embeddings=minilm_ov.MODEL_ID))
    question = "How long does OpenAI retain API data?"
    assert backend.embed_query(question) == backend.embed_documents([question])[0]


def test_the_factory_names_it_by_its_own_model_id(tmp_path):
    """Its vectors are not onnxruntime's bit for bit: an index built with one must be
    rebuilt for the other (the settings fingerprint holds the model id)."""
    backend = make_embeddings(make_settings(tmp_path, embeddings=minilm_ov.MODEL_ID))
    assert backend.model_id == minilm_ov.MODEL_ID != minilm.MODEL_ID
    assert backend.max_input_tokens == minilm.MAX_INPUT_TOKENS
    text = "OpenAI encrypts data"
    assert backend.count_tokens(text) == len(minilm.load_tokenizer().encode(text).ids)
