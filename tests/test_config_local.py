"""Which runtime the bundled model runs on by default (app/config/local.py)."""

from __future__ import annotations

from app.config import DEFAULT_LOCAL_MODEL
from app.config.local import bfloat16_matrix_unit, default_local_model


def test_the_default_embedding_runtime_is_openvino_only_with_amx(tmp_path):
    """OpenVINO indexes about 3x faster where AMX multiplies in bfloat16; elsewhere it runs
    float32 like onnxruntime, slower on a question (docs/benchmarks.md, issue 17). It is an
    extra: without it, onnxruntime on any CPU."""
    assert default_local_model(amx=True, openvino=True) == "local/all-MiniLM-L6-v2-int8-openvino"
    assert default_local_model(amx=True, openvino=False) == "local/all-MiniLM-L6-v2-int8"
    assert default_local_model(amx=False, openvino=True) == "local/all-MiniLM-L6-v2-int8"
    amd = tmp_path / "amd"
    amd.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 fma\n\nflags\t: fpu avx2\n")
    intel = tmp_path / "intel"
    intel.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 amx_bf16 amx_tile\n")
    assert not bfloat16_matrix_unit(amd)
    assert bfloat16_matrix_unit(intel)
    assert not bfloat16_matrix_unit(tmp_path / "missing")  # not Linux: onnxruntime
    assert default_local_model() == DEFAULT_LOCAL_MODEL
