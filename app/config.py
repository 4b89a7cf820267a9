"""Settings: one typed object, built from the environment once, at an entry point.

Everything else receives it as an argument; nothing below the entry points reads
``os.environ``. ``data_dir`` holds all on-disk state (vector store, index manifest,
tokenizer cache), so moving that one setting moves everything.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_LOCAL_MODEL = "local/all-MiniLM-L6-v2"
DEFAULT_OPENAI_MODEL = "openai/text-embedding-3-small"

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
# USD per million prompt and completion tokens (OpenAI list prices, standard tier, 2025).
DEFAULT_LLM_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-3.5-turbo": (0.50, 1.50),
}

# Short names a user may type for the embedding backend.
_EMBEDDING_ALIASES = {
    "local": DEFAULT_LOCAL_MODEL,
    "openai": DEFAULT_OPENAI_MODEL,
}


class Settings(BaseSettings):
    """All of privacy-qa's settings. Environment variables use the prefix ``PRIVACY_QA_``."""

    model_config = SettingsConfigDict(env_prefix="PRIVACY_QA_", extra="ignore")

    data_dir: Path = Field(
        default=Path(".data"),
        description="Directory for all on-disk state: vector store, manifest, tokenizer cache.",
    )
    corpus_dir: Path = Field(
        default=Path("corpus"),
        description="Directory of documents to index (.md, .txt, .html, .pdf; subfolders too).",
    )
    embeddings: str = Field(
        default=DEFAULT_LOCAL_MODEL,
        description=(
            "Embedding backend as 'provider/model': 'local/all-MiniLM-L6-v2' (bundled, offline) "
            "or 'openai/text-embedding-3-small'. The short forms 'local' and 'openai' work too."
        ),
    )
    chunk_tokens: int = Field(
        default=160,
        ge=32,
        description=(
            "Target chunk size in tokens of the embedding model's tokenizer; always capped "
            "below the model's input limit."
        ),
    )
    chunk_overlap_tokens: int = Field(
        default=24, ge=0, description="Tokens shared by consecutive chunks of one section."
    )
    top_k: int = Field(default=5, ge=1, le=50, description="How many chunks retrieval returns.")
    max_quotes: int = Field(
        default=3, ge=1, le=10, description="Most quoted sentences in an extractive answer."
    )
    min_relevance: float = Field(
        default=0.13,
        description=(
            "Abstain when the best chunk's cosine similarity to the question is below this. "
            "Measured on the dev questions: see docs/abstention.md."
        ),
    )
    min_coverage: float = Field(
        default=0.23,
        ge=0.0,
        le=1.0,
        description=(
            "Abstain when no retrieved chunk holds at least this IDF-weighted share of the "
            "question's terms. Measured on the dev questions: see docs/abstention.md."
        ),
    )
    max_question_chars: int = Field(
        default=2000, ge=10, description="Longest question accepted, in characters."
    )
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("OPENAI_API_KEY", "PRIVACY_QA_OPENAI_API_KEY"),
        description="API key for OpenAI (only needed when an OpenAI backend is selected).",
    )
    openai_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OPENAI_BASE_URL", "PRIVACY_QA_OPENAI_BASE_URL"),
        description="Base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.",
    )
    llm: str = Field(
        default="extractive",
        description=(
            "Who writes the answer: 'extractive' (offline, verbatim quotes) or 'openai' "
            "(a chat model through OpenAI or an OpenAI-compatible server at OPENAI_BASE_URL)."
        ),
    )
    llm_model: str = Field(
        default="gpt-4o-mini", description="Chat model used when llm is 'openai'."
    )
    llm_answer_tokens: int = Field(
        default=512,
        ge=16,
        description=(
            "Most tokens the chat model may write per answer (sent as max_tokens); that many "
            "are kept free in the model's context window when packing retrieved chunks."
        ),
    )
    llm_context_tokens: int | None = Field(
        default=None,
        ge=256,
        description=(
            "The chat model's context window in tokens. Unset: known OpenAI models use their "
            "published window, other models (an OpenAI-compatible server) 8192."
        ),
    )
    llm_temperature: float = Field(
        default=0.0, ge=0.0, le=2.0, description="Sampling temperature of the chat model."
    )
    llm_prices: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: dict(DEFAULT_LLM_PRICES),
        description=(
            "USD per million (prompt, completion) tokens by model name prefix, for the cost "
            "estimate shown with each answer; JSON in the environment. Defaults are OpenAI's "
            "list prices as of 2025; a model without an entry gets no estimate."
        ),
    )
    citation_min_support: float = Field(
        default=0.64,
        ge=0.0,
        le=1.0,
        description=(
            "A chat answer's sentence counts as supported by the chunk it cites when at "
            "least this IDF-weighted share of its terms occurs in that chunk. Measured on "
            "labelled sentences: see docs/llm.md."
        ),
    )
    openai_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="Seconds to wait for OpenAI to start and continue answering a request.",
    )
    openai_max_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description=(
            "Retries after HTTP 429/5xx, a timeout or a dropped connection; after the last "
            "one the chat answerer falls back to the extractive answer."
        ),
    )
    openai_retry_backoff_s: float = Field(
        default=0.5,
        ge=0.0,
        description=(
            "Wait before the first retry in seconds; it doubles with each retry (with "
            "jitter, at most 8 s). A Retry-After header from the server takes precedence."
        ),
    )
    chroma_url: str | None = Field(
        default=None,
        description=(
            "URL of a Chroma server (`chroma run`), e.g. http://127.0.0.1:8000. Unset: the "
            "embedded store in data_dir/chroma. Set: ingest, ask, eval and the UI read and write "
            "the server's collections; the index manifest, ingest lock and pending marker stay "
            "in data_dir, so every process using the server needs the same data_dir (a shared "
            "filesystem), and the server should hold no other privacy-qa index (ingest drops "
            "old privacy_qa_* collections)."
        ),
    )
    chroma_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="Seconds to wait for the Chroma server to answer its heartbeat.",
    )
    record_db_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the record manager database (which chunks each document "
            "produced), e.g. postgresql+psycopg://user@host/db (install its driver). Unset: "
            "the SQLite file data_dir/records.sqlite. Ingests on several machines need the same "
            "data_dir anyway (for the ingest lock and the manifest), or only one machine ingests."
        ),
    )
    log_level: str = Field(default="WARNING", description="Log level for the entry points.")

    @field_validator("embeddings")
    @classmethod
    def _expand_embedding_alias(cls, value: str) -> str:
        value = value.strip()
        return _EMBEDDING_ALIASES.get(value, value)

    @field_validator("llm")
    @classmethod
    def _known_llm(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("extractive", "openai"):
            raise ValueError("llm must be 'extractive' or 'openai'")
        return value

    @field_validator("chroma_url", "record_db_url")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return (value or "").strip() or None

    @field_validator("chroma_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("chroma_url must look like http://HOST:PORT")
        if parts.path.strip("/") or parts.query:
            raise ValueError("chroma_url must be http://HOST:PORT, without a path")
        try:
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError as exc:
            raise ValueError(f"chroma_url has a bad port ({exc})") from None
        return value.rstrip("/")

    @field_validator("chunk_overlap_tokens")
    @classmethod
    def _overlap_below_size(cls, value: int, info) -> int:
        size = info.data.get("chunk_tokens")
        if size is not None and value >= size:
            raise ValueError("chunk_overlap_tokens must be smaller than chunk_tokens")
        return value

    @property
    def store_dir(self) -> Path:
        """Where Chroma keeps its files."""
        return self.data_dir / "chroma"

    @property
    def manifest_path(self) -> Path:
        """JSON file recording what built the store (model, chunking, time, counts)."""
        return self.data_dir / "manifest.json"

    @property
    def record_db_path(self) -> Path:
        """SQLite file of LangChain's record manager (which chunk came from which document)."""
        return self.data_dir / "records.sqlite"

    @property
    def record_db(self) -> str:
        """SQLAlchemy URL of the record manager: ``record_db_url`` or the SQLite file."""
        return self.record_db_url or f"sqlite:///{self.record_db_path}"

    @property
    def uses_openai(self) -> bool:
        """Whether any text leaves the machine (to OpenAI or an OpenAI-compatible server)."""
        return self.embeddings.startswith("openai/") or self.llm == "openai"

    @property
    def openai_api_base(self) -> str:
        """The OpenAI API base URL in use, without a trailing slash."""
        return (self.openai_base_url or DEFAULT_OPENAI_BASE_URL).rstrip("/")

    def data_flow(self) -> list[str]:
        """Where questions and document text are sent, for the UI and ``ask --json``:
        ``["local only"]`` offline, otherwise the exact remote endpoints."""
        if not self.uses_openai:
            return ["local only"]
        base = self.openai_api_base
        flows = []
        if self.embeddings.startswith("openai/"):
            flows.append(f"POST {base}/embeddings (document chunks and questions)")
        if self.llm == "openai":
            flows.append(f"POST {base}/chat/completions (question and retrieved chunks)")
        return flows

    @property
    def tiktoken_cache_dir(self) -> Path:
        """Where the bundled tiktoken vocabularies are written for tiktoken to find."""
        return self.data_dir / "tiktoken"


def load_settings(**overrides) -> Settings:
    """Build settings from the environment; keyword overrides win (used by the CLI and tests)."""
    from pydantic import ValidationError

    from app.errors import ConfigError

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(
            f"Invalid settings ({problems}). Fix the PRIVACY_QA_* variables."
        ) from exc
