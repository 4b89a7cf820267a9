"""The bundled embedding model's default runtime on this machine: OpenVINO where the CPU
has Intel AMX and OpenVINO is installed (scripts/setup.sh installs it there), onnxruntime
elsewhere (docs/benchmarks.md, issue 17)."""

from __future__ import annotations

from pathlib import Path

# The bundled model's two runtimes (app.minilm_ov.MODEL_ID and app.minilm.MODEL_ID; a test
# keeps them equal): the int8 ONNX model's weights on OpenVINO, or on onnxruntime in float32.
OPENVINO_LOCAL_MODEL = "local/all-MiniLM-L6-v2-int8-openvino"
ONNXRUNTIME_LOCAL_MODEL = "local/all-MiniLM-L6-v2-int8"
# Where the CPU multiplies in bfloat16 on AMX, OpenVINO embeds long chunks about 3x faster
# than the float32 runtimes; without AMX it runs float32 too, as fast as onnxruntime on
# chunks and slower on a question and at start (docs/benchmarks.md, issue 17).
_BFLOAT16_FLAG = "amx_bf16"


def bfloat16_matrix_unit(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU has Intel AMX's bfloat16 tiles (read from Linux's cpuinfo flags;
    False where there is no such file)."""
    try:
        with cpuinfo.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if line.startswith("flags"):
                    return _BFLOAT16_FLAG in line.split(":", 1)[-1].split()
    except OSError:
        pass
    return False


def openvino_installed() -> bool:
    """Whether OpenVINO is installed (the ``openvino`` extra; scripts/setup.sh adds it on
    CPUs with AMX). Looked up, not imported: importing it takes a tenth of a second."""
    from importlib.util import find_spec

    return find_spec("openvino") is not None


def default_local_model(amx: bool | None = None, openvino: bool | None = None) -> str:
    """The offline embedding backend for this machine: OpenVINO with AMX where it is
    installed, else onnxruntime. The two write vectors a few 1e-5 apart in cosine, so an
    index built with one is rebuilt, not mixed, with the other."""
    amx = bfloat16_matrix_unit() if amx is None else amx
    if amx and (openvino_installed() if openvino is None else openvino):
        return OPENVINO_LOCAL_MODEL
    return ONNXRUNTIME_LOCAL_MODEL


DEFAULT_LOCAL_MODEL = default_local_model()
