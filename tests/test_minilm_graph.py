"""The fused network derived from the shipped ONNX file (app/minilm_graph.py, cached by
app/minilm.py): deterministic, the same vectors as the shipped file, derived once."""

from __future__ import annotations

import pytest

from app import minilm, minilm_graph

TEXTS = [
    "Is data encrypted at rest?",
    "ZDR",
    "OpenAI offers a Business Associate Agreement for the API. " * 40,  # > 256 tokens
    *(f"Retention of API inputs and outputs, case {i}: " + "thirty days " * i for i in range(9)),
]


@pytest.mark.slow
def test_the_derived_network_gives_the_shipped_files_vectors(tmp_path):
    """Same arithmetic up to float rounding: no new model id, an old index stays valid."""
    import numpy as np
    import onnxruntime

    shipped = onnxruntime.InferenceSession(str(minilm.model_path()))
    model = minilm.load_model(tmp_path)
    before = np.array(minilm.encode(minilm.Model(model.tokenizer, shipped), TEXTS))
    after = np.array(minilm.encode(model, TEXTS))
    assert np.abs(before - after).max() < 1e-5
    assert (before * after).sum(axis=1).min() > 0.99999


@pytest.mark.slow
def test_the_derivation_is_deterministic():
    source = minilm.model_path()
    first = minilm_graph.build(source).SerializeToString()
    assert first == minilm_graph.build(source).SerializeToString()
    ops = {node.op_type for node in minilm_graph.build(source).graph.node}
    assert {"Attention", "SkipLayerNormalization", "BiasGelu"} <= ops


@pytest.mark.slow
def test_the_network_is_derived_once_then_read_from_the_cache(tmp_path):
    source = minilm.model_path()
    path = minilm.derived_model(source, tmp_path)
    assert path.parent == tmp_path and path.suffix == ".onnx"
    stamp = path.stat().st_mtime_ns
    assert minilm.derived_model(source, tmp_path) == path
    assert path.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind


@pytest.mark.slow
def test_an_unwritable_cache_gives_the_network_in_memory(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    network = minilm.derived_model(minilm.model_path(), blocked / "cache")
    assert isinstance(network, bytes) and len(network) > minilm.MODEL_BYTES
