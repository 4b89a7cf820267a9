"""Settings: one typed object, built from the environment once, at an entry point.

Everything else receives it as an argument; nothing below the entry points reads
``os.environ``. ``data_dir`` holds all on-disk state (vector store, index manifest,
tokenizer cache), so moving that one setting moves everything.

How it works: each class attribute of :class:`Settings` declares one setting with its type
(the annotation), default, description and limits. :func:`load_settings` reads
``PRIVACY_QA_<NAME>`` for each (and ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``), converts the
text to the annotated type, checks it, and raises one :class:`~app.errors.ConfigError`
naming every bad variable. A blank variable counts as unset.

Standard library only: every command builds its Settings first, and a no-op
``privacy-qa ingest`` should cost little more than starting Python (pydantic-settings
took about a fifth of a second to import; docs/benchmarks.md).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from app.config import checks
from app.config.fields import Field, Secret
from app.config.local import (  # noqa: F401 (re-exported: callers import them here)
    DEFAULT_LOCAL_MODEL,
    ONNXRUNTIME_LOCAL_MODEL,
    OPENVINO_LOCAL_MODEL,
)
from app.config.openai import (  # noqa: F401 (re-exported: callers import them here)
    DEFAULT_LLM_PRICES,
    DEFAULT_OPENAI_BASE_URL,
    DEFAULT_OPENAI_MODEL,
    OPENAI_CHAT,
    OPENAI_EMBEDDINGS,
    OPENAI_ENDPOINTS,
    endpoints_used,
)
from app.errors import ConfigError

# Short names a user may type for the embedding backend.
_EMBEDDING_ALIASES = {
    "local": DEFAULT_LOCAL_MODEL,
    "openai": DEFAULT_OPENAI_MODEL,
}


def _embedding_alias(value: str) -> str:
    value = value.strip()
    return _EMBEDDING_ALIASES.get(value, value)


# ------------------------------------------------------------------------- the settings


class Settings:
    """All of privacy-qa's settings, read-only. ``Settings()`` holds the defaults;
    :func:`load_settings` the environment's values; :meth:`replace` a validated copy."""

    data_dir: Path = Field(
        Path(".data"),
        "Directory for all on-disk state: vector store, manifest, tokenizer cache.",
    )
    corpus_dir: Path = Field(
        Path("corpus"),
        "Directory of documents to index (.md, .txt, .html, .pdf; subfolders too).",
    )
    embeddings: str = Field(
        DEFAULT_LOCAL_MODEL,
        "Embedding backend as 'provider/model': 'local/all-MiniLM-L6-v2-int8-openvino' "
        "(bundled, offline, on OpenVINO), 'local/all-MiniLM-L6-v2-int8' (the same model on "
        "onnxruntime) or 'openai/text-embedding-3-small'. The short forms 'local' and "
        "'openai' work too. The default is the OpenVINO one on CPUs that multiply in "
        "bfloat16 (Intel AMX, AVX-512 BF16), where it indexes 1.5-3x faster "
        "(scripts/setup.sh installs OpenVINO there, the 'openvino' extra), and the "
        "onnxruntime one elsewhere.",
        check=_embedding_alias,
        shown=(
            f"`{OPENVINO_LOCAL_MODEL}` with bfloat16 units (AMX, AVX-512 BF16), "
            f"else `{ONNXRUNTIME_LOCAL_MODEL}`"
        ),
    )
    chunk_tokens: int = Field(
        160,
        "Target chunk size in tokens of the embedding model's tokenizer; always capped "
        "below the model's input limit.",
        ge=32,
    )
    chunk_overlap_tokens: int = Field(
        24,
        "Tokens shared by consecutive chunks of one section (less than chunk_tokens).",
        ge=0,
    )
    max_file_mb: float = Field(
        20.0,
        "Largest corpus file read, in MB (1 MB = 1,000,000 bytes); a larger one is skipped "
        "with a warning naming it. Only regular files are read, and symlinks only when they "
        "point inside the corpus dir.",
        gt=0,
    )
    top_k: int = Field(5, "How many chunks retrieval returns.", ge=1, le=50)
    max_quotes: int = Field(3, "Most quoted sentences in an extractive answer.", ge=1, le=10)
    min_relevance: float = Field(
        0.13,
        "Abstain when the best chunk's cosine similarity to the question is below this. "
        "Measured on the dev questions: see docs/abstention.md.",
    )
    min_coverage: float = Field(
        0.18,
        "Below strong_relevance, abstain when no retrieved chunk holds at least this "
        "IDF-weighted share of the question's terms. Measured on the dev questions: see "
        "docs/abstention.md.",
        ge=0.0,
        le=1.0,
    )
    strong_relevance: float = Field(
        0.388,
        "A best chunk at least this similar to the question answers whatever the word "
        "overlap (min_coverage is not asked). Measured on the dev questions: see "
        "docs/abstention.md.",
    )
    max_question_chars: int = Field(2000, "Longest question accepted, in characters.", ge=10)
    max_upload_bytes: int = Field(
        10_000_000,
        "Largest document the chat page accepts as an upload, in bytes (a larger one is "
        "refused and nothing is written).",
        ge=1,
    )
    openai_api_key: Secret | None = Field(
        None,
        "API key for OpenAI (only needed when an OpenAI backend is selected).",
        env=("OPENAI_API_KEY", "PRIVACY_QA_OPENAI_API_KEY"),
    )
    openai_base_url: str | None = Field(
        None,
        "Base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.",
        env=("OPENAI_BASE_URL", "PRIVACY_QA_OPENAI_BASE_URL"),
        shown=f"`{DEFAULT_OPENAI_BASE_URL}`",
        check=checks.openai_base_url,
    )
    llm: str = Field(
        "extractive",
        "Who writes the answer: 'extractive' (offline, verbatim quotes) or 'openai' "
        "(a chat model through OpenAI or an OpenAI-compatible server at OPENAI_BASE_URL).",
        check=checks.known_llm,
    )
    llm_model: str = Field("gpt-4o-mini", "Chat model used when llm is 'openai'.")
    llm_answer_tokens: int = Field(
        512,
        "Most tokens the chat model may write per answer (sent as max_tokens); that many "
        "are kept free in the model's context window when packing retrieved chunks.",
        ge=16,
    )
    llm_context_tokens: int | None = Field(
        None,
        "The chat model's context window in tokens. Unset: known OpenAI models use their "
        "published window, other models (an OpenAI-compatible server) 8192.",
        ge=256,
        shown="per model",
    )
    llm_temperature: float = Field(0.0, "Sampling temperature of the chat model.", ge=0.0, le=2.0)
    llm_prices: dict[str, tuple[float, float]] = Field(
        DEFAULT_LLM_PRICES,
        "USD per million (prompt, completion) tokens by model name prefix, for the cost "
        "estimate shown with each answer; JSON in the environment. Defaults are OpenAI's "
        "list prices as of 2025; a model without an entry gets no estimate.",
        shown="OpenAI list prices",
    )
    citation_min_support: float = Field(
        0.64,
        "A chat answer's sentence counts as supported by the chunk it cites when at "
        "least this IDF-weighted share of its terms occurs in that chunk. Measured on "
        "labelled sentences: see docs/llm.md.",
        ge=0.0,
        le=1.0,
    )
    phi_allow_send: bool = Field(
        False,
        "Whether a question in which the PHI check found likely PHI (names, dates, record "
        "or insurance numbers, SSNs, phones, e-mails, addresses) may be sent to the chat "
        "model as typed, when the user asks for it (`ask --allow-phi`, the page's 'Send as "
        "is'). Off: such a question is sent only redacted, or answered offline. See "
        "docs/phi.md.",
    )
    openai_timeout_s: float = Field(
        60.0, "Seconds to wait for OpenAI to start and continue answering a request.", gt=0
    )
    openai_max_retries: int = Field(
        2,
        "Retries after HTTP 429/5xx, a timeout or a dropped connection; after the last "
        "one the chat answerer falls back to the extractive answer.",
        ge=0,
        le=10,
    )
    openai_retry_backoff_s: float = Field(
        0.5,
        "Wait before the first retry in seconds; it doubles with each retry (with "
        "jitter, at most 8 s). A Retry-After header from the server takes precedence.",
        ge=0.0,
    )
    chroma_url: str | None = Field(
        None,
        "URL of a Chroma server (`chroma run`), e.g. http://127.0.0.1:8000. Unset: the "
        "embedded store in data_dir/chroma. Set: ingest, ask, eval and the UI read and write "
        "the server's collections; the index manifest, ingest lock and pending marker stay "
        "in data_dir, so every process using the server needs the same data_dir (a shared "
        "filesystem), and the server should hold no other privacy-qa index (ingest drops "
        "old privacy_qa_* collections).",
        check=checks.chroma_url,
    )
    chroma_timeout_s: float = Field(
        5.0,
        "Seconds to wait for the Chroma server to answer its heartbeat, and to connect.",
        gt=0,
    )
    chroma_read_timeout_s: float = Field(
        10.0,
        "Seconds to wait for the Chroma server to take a request and send each part of "
        "its reply, once connected: a server that hangs fails the question or the ingest "
        "after this long, with a message naming this setting. Raise it for a very slow "
        "server.",
        gt=0,
    )
    record_db_url: str | None = Field(
        None,
        "SQLAlchemy URL of the record manager database (which chunks each document "
        "produced), e.g. postgresql+psycopg://user@host/db (install its driver). Unset: "
        "the SQLite file data_dir/records.sqlite. Ingests on several machines need the same "
        "data_dir anyway (for the ingest lock and the manifest), or only one machine ingests.",
        check=str.strip,
        shown="`sqlite:///DATA_DIR/records.sqlite`",
    )
    log_level: str = Field(
        "WARNING",
        "Log level for the entry points: DEBUG, INFO, WARNING, ERROR or CRITICAL "
        "(the command line's -v means INFO, -vv DEBUG).",
        check=checks.log_level,
    )

    users_file: Path | None = Field(
        None,
        "File of the people who may sign in to the chat page with a password, one "
        "`name:scrypt$...` line each (`privacy-qa users add NAME` writes it; mode 600). Set: "
        "the page shows only a sign-in form until a listed user signs in. Sign-in (this or "
        "OIDC) is required to serve the page beyond loopback (`privacy-qa ui --host`).",
    )
    sign_in_hours: float = Field(
        12.0,
        "How long a password sign-in lasts in a browser (a signed cookie; new tabs and "
        "reloads need no new sign-in meanwhile). Sign out, a new password or removing the "
        "user ends it sooner.",
        gt=0,
        le=24 * 30,
    )
    oidc_metadata_url: str | None = Field(
        None,
        "OpenID Connect sign-in through Streamlit's st.login: the provider's discovery URL "
        "(https://ISSUER/.well-known/openid-configuration). Needs oidc_client_id and "
        "oidc_client_secret; `privacy-qa ui` writes Streamlit's [auth] secrets from them.",
        check=checks.oidc_metadata_url,
    )
    oidc_client_id: str | None = Field(
        None, "The page's client id at the OpenID Connect provider.", check=str.strip
    )
    oidc_client_secret: Secret | None = Field(
        None, "The page's client secret at the OpenID Connect provider."
    )
    oidc_redirect_uri: str | None = Field(
        None,
        "Where the OpenID Connect provider sends the browser back: the page's address "
        "as its users reach it, followed by /oauth2callback (register it at the provider).",
        shown="`http://HOST:PORT/oauth2callback`",
        check=checks.oidc_redirect_uri,
    )
    maintainers: str | None = Field(
        None,
        "Who may Reindex, upload and delete on the page: user names, e-mail addresses "
        "(OIDC) and `group:NAME` (a value of the id token's `groups` claim), separated by "
        "commas. Unset: everyone who may use the page.",
        check=checks.user_names,
        shown="everyone",
    )
    allowed_hosts: str | None = Field(
        None,
        "Other names and addresses the chat page may be reached under (the Host a browser "
        "sends), separated by commas: qa.example.org (any port), 10.0.0.5:8501, [fd00::5]. "
        "The page always answers as 127.0.0.1, localhost and [::1] on its port, and as "
        "`--host` when that is an address; any other Host gets 403 (DNS rebinding).",
        check=checks.host_names,
        shown="the page's own addresses",
    )
    audit_log: str | None = Field(
        None,
        "Opt-in audit log (JSON lines): `on` for DATA_DIR/audit.jsonl, or a file path. One "
        "line per answer, on the page or by `privacy-qa ask` (who, when, the documents and "
        "passages shown, the remote "
        "endpoints called, whether it was refused), document read, sign-in, reindex, upload "
        "and delete. Never the question text unless audit_questions is on.",
        check=str.strip,
        shown="off",
    )
    audit_questions: bool = Field(
        False,
        "Also keep each question's text in the audit log (it may hold PHI); the page then "
        "tells its users so.",
    )

    def __init__(self, **values: object) -> None:
        """Settings from ``values`` (environment text or Python values; None or blank: the
        default). Raises ConfigError naming every invalid variable."""
        unknown = values.keys() - FIELDS.keys()
        if unknown:
            raise TypeError(f"Unknown settings: {', '.join(sorted(unknown))}")
        problems = []
        for name, field in FIELDS.items():
            try:
                object.__setattr__(self, name, field.value(values.get(name)))
            except ValueError as exc:
                problems.append(f"{field.env[0]}: {exc}")
        if not problems and self.chunk_overlap_tokens >= self.chunk_tokens:
            problems.append(
                f"PRIVACY_QA_CHUNK_OVERLAP_TOKENS: must be smaller than "
                f"PRIVACY_QA_CHUNK_TOKENS ({self.chunk_tokens}), not {self.chunk_overlap_tokens}"
            )
        if problems:
            raise ConfigError(
                f"Invalid settings ({'; '.join(problems)}). Fix the PRIVACY_QA_* variables."
            )

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Settings are read-only: use settings.replace({name}=...)")

    def replace(self, **changes: object) -> Settings:
        """A copy with ``changes`` applied, validated like the environment's values."""
        return Settings(**{**self.as_dict(), **changes})

    def as_dict(self) -> dict[str, Any]:
        """Every setting by name (the API key still wrapped in :class:`Secret`)."""
        return {name: getattr(self, name) for name in FIELDS}

    def cache_key(self) -> str:
        """All settings as one JSON string, for caches keyed by settings. It holds no
        secret: a set API key appears as ``"**********"``."""
        import json

        return json.dumps(self.as_dict(), sort_keys=True, default=str)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and self.as_dict() == other.as_dict()

    def __repr__(self) -> str:
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in self.as_dict().items())})"

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1_000_000)

    @property
    def store_dir(self) -> Path:
        """Where Chroma keeps its files."""
        return self.data_dir / "chroma"

    @property
    def manifest_path(self) -> Path:
        """JSON file recording what built the store (model, chunking, time, counts)."""
        return self.data_dir / "manifest.json"

    @property
    def hash_cache_path(self) -> Path:
        """JSON file caching the corpus files' hashes by their stat (app/index/changes.py)."""
        return self.data_dir / "file-hashes.json"

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
        return endpoints_used(
            self.openai_api_base, self.embeddings.startswith("openai/"), self.llm == "openai"
        )

    @property
    def audit_path(self) -> Path | None:
        """The audit log's file, or None when it is off."""
        if self.audit_log is None or self.audit_log.lower() == "off":
            return None
        return self.data_dir / "audit.jsonl" if self.audit_log == "on" else Path(self.audit_log)

    @property
    def tiktoken_cache_dir(self) -> Path:
        """Where the bundled tiktoken vocabularies are written for tiktoken to find."""
        return self.data_dir / "tiktoken"


FIELDS: dict[str, Field] = {
    name: field for name, field in vars(Settings).items() if isinstance(field, Field)
}


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment; keyword overrides that are not None win (the
    CLI's options, tests). The only place that reads the environment for settings."""
    values: dict[str, object] = {}
    for name, field in FIELDS.items():
        # The first variable that is set and not blank, as for the OpenAI key's two names.
        values[name] = next(
            (os.environ[var] for var in field.env if os.environ.get(var, "").strip()), None
        )
    values.update((name, value) for name, value in overrides.items() if value is not None)
    return Settings(**values)
