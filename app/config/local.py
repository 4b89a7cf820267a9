"""The bundled embedding model's default runtime on this machine: OpenVINO where the CPU
multiplies in bfloat16 (Intel AMX, or AVX-512 BF16 as on AMD Zen 4 and later) and OpenVINO
is installed (scripts/setup.sh installs it there), onnxruntime elsewhere
(docs/benchmarks.md, issue 17)."""

from __future__ import annotations

from pathlib import Path

# The bundled model's two runtimes (app.minilm_ov.MODEL_ID and app.minilm.MODEL_ID; a test
# keeps them equal): the int8 ONNX model's weights on OpenVINO, or on onnxruntime in float32.
OPENVINO_LOCAL_MODEL = "local/all-MiniLM-L6-v2-int8-openvino"
ONNXRUNTIME_LOCAL_MODEL = "local/all-MiniLM-L6-v2-int8"
# Where the CPU multiplies in bfloat16, OpenVINO runs the network in it and indexes long
# chunks 1.5-3x faster than the float32 runtimes: on AMX (an Intel Xeon, session 6) and
# on AVX-512 BF16 (an AMD EPYC Zen 5, session 8: 2.68x torch, 1.45x onnxruntime). Without
# either it runs float32, as fast as onnxruntime on chunks and slower on a question and at
# start (an AMD EPYC Zen 3, session 7). The flags as Linux's cpuinfo spells them.
BFLOAT16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


def bfloat16_units(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU multiplies in bfloat16 (AMX tiles or AVX-512 BF16; read from Linux's
    cpuinfo flags, False where there is no such file)."""
    try:
        with cpuinfo.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if line.startswith("flags"):
                    return not BFLOAT16_FLAGS.isdisjoint(line.split(":", 1)[-1].split())
    except OSError:
        pass
    return False


def openvino_installed() -> bool:
    """Whether OpenVINO is installed (the ``openvino`` extra; scripts/setup.sh adds it on
    CPUs with bfloat16 units). Looked up, not imported: importing it takes a tenth of a
    second."""
    from importlib.util import find_spec

    return find_spec("openvino") is not None


def default_local_model(bfloat16: bool | None = None, openvino: bool | None = None) -> str:
    """The offline embedding backend for this machine: OpenVINO on a CPU with bfloat16
    units where it is installed, else onnxruntime. The two write vectors a few 1e-5 apart
    in cosine, so an index built with one is rebuilt, not mixed, with the other."""
    bfloat16 = bfloat16_units() if bfloat16 is None else bfloat16
    if bfloat16 and (openvino_installed() if openvino is None else openvino):
        return OPENVINO_LOCAL_MODEL
    return ONNXRUNTIME_LOCAL_MODEL


DEFAULT_LOCAL_MODEL = default_local_model()
