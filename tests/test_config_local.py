"""Which runtime the bundled model runs on by default (app/config/local.py)."""

from __future__ import annotations

from app.config import DEFAULT_LOCAL_MODEL
from app.config.local import bfloat16_units, default_local_model


def test_the_default_embedding_runtime_is_openvino_only_with_bfloat16_units(tmp_path):
    """OpenVINO indexes 1.5-3x faster where the CPU multiplies in bfloat16 (AMX or AVX-512
    BF16); elsewhere it runs float32 like onnxruntime, slower on a question
    (docs/benchmarks.md, issue 17). It is an extra: without it, onnxruntime on any CPU."""
    openvino, onnxruntime = "local/all-MiniLM-L6-v2-int8-openvino", "local/all-MiniLM-L6-v2-int8"
    assert default_local_model(bfloat16=True, openvino=True) == openvino
    assert default_local_model(bfloat16=True, openvino=False) == onnxruntime
    assert default_local_model(bfloat16=False, openvino=True) == onnxruntime
    zen3 = tmp_path / "zen3"
    zen3.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 fma\n\nflags\t: fpu avx2\n")
    zen5 = tmp_path / "zen5"
    zen5.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_vnni avx512_bf16\n")
    xeon = tmp_path / "xeon"
    xeon.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 amx_bf16 amx_tile\n")
    assert not bfloat16_units(zen3)
    assert bfloat16_units(zen5)
    assert bfloat16_units(xeon)
    assert not bfloat16_units(tmp_path / "missing")  # not Linux: onnxruntime
    assert default_local_model() == DEFAULT_LOCAL_MODEL
