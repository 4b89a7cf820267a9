"""The settings loader: environment parsing, aliases, validation messages, the secret."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import (
    DEFAULT_LLM_PRICES,
    DEFAULT_LOCAL_MODEL,
    FIELDS,
    Secret,
    Settings,
    load_settings,
)
from app.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """Each test starts from an environment without any of the app's variables."""
    for name in list(os.environ):
        if name.startswith(("PRIVACY_QA_", "OPENAI_")):
            monkeypatch.delenv(name)


def invalid(**env) -> str:
    """The ConfigError message load_settings gives for these environment variables."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        with pytest.raises(ConfigError) as error:
            load_settings()
    return str(error.value)


def test_without_variables_the_settings_are_the_defaults():
    settings = load_settings()
    assert settings == Settings()
    assert settings.data_dir == Path(".data") and settings.corpus_dir == Path("corpus")
    assert settings.embeddings == DEFAULT_LOCAL_MODEL
    assert settings.llm == "extractive"
    assert (settings.chunk_tokens, settings.chunk_overlap_tokens, settings.top_k) == (160, 24, 5)
    assert settings.openai_api_key is None and settings.chroma_url is None
    assert settings.llm_prices == DEFAULT_LLM_PRICES
    assert settings.llm_prices is not DEFAULT_LLM_PRICES  # each Settings has its own copy
    assert settings.log_level == "WARNING"


def test_variables_are_converted_to_the_declared_types(monkeypatch):
    monkeypatch.setenv("PRIVACY_QA_DATA_DIR", "/srv/qa")
    monkeypatch.setenv("PRIVACY_QA_TOP_K", " 7 ")
    monkeypatch.setenv("PRIVACY_QA_MIN_RELEVANCE", "-0.5")
    monkeypatch.setenv("PRIVACY_QA_LLM_CONTEXT_TOKENS", "4096")
    monkeypatch.setenv("PRIVACY_QA_LLM_PRICES", '{"llama": [0, 0.5]}')
    monkeypatch.setenv("PRIVACY_QA_LOG_LEVEL", "debug")
    monkeypatch.setenv("PRIVACY_QA_CHROMA_URL", "http://127.0.0.1:8000/")
    settings = load_settings()
    assert settings.data_dir == Path("/srv/qa") and settings.top_k == 7
    assert settings.min_relevance == -0.5 and settings.llm_context_tokens == 4096
    assert settings.llm_prices == {"llama": (0.0, 0.5)}
    assert settings.log_level == "DEBUG"
    assert settings.chroma_url == "http://127.0.0.1:8000"
    assert settings.manifest_path == Path("/srv/qa/manifest.json")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("local", DEFAULT_LOCAL_MODEL),
        (" openai ", "openai/text-embedding-3-small"),
        ("openai/text-embedding-3-large", "openai/text-embedding-3-large"),
    ],
)
def test_embedding_short_forms_expand(monkeypatch, value, expected):
    monkeypatch.setenv("PRIVACY_QA_EMBEDDINGS", value)
    assert load_settings().embeddings == expected


def test_llm_is_case_insensitive(monkeypatch):
    monkeypatch.setenv("PRIVACY_QA_LLM", " OpenAI ")
    assert load_settings().llm == "openai"


def test_a_blank_variable_counts_as_unset(monkeypatch):
    for name in ("PRIVACY_QA_CHROMA_URL", "PRIVACY_QA_RECORD_DB_URL", "PRIVACY_QA_TOP_K"):
        monkeypatch.setenv(name, "  ")
    monkeypatch.setenv("OPENAI_API_KEY", "")
    settings = load_settings()
    assert settings.chroma_url is None and settings.record_db_url is None
    assert settings.top_k == 5 and settings.openai_api_key is None


def test_the_openai_variables_and_their_prefixed_forms(monkeypatch):
    monkeypatch.setenv("PRIVACY_QA_OPENAI_API_KEY", "sk-prefixed")
    monkeypatch.setenv("PRIVACY_QA_OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")
    settings = load_settings()
    assert settings.openai_api_key.get_secret_value() == "sk-prefixed"
    assert settings.openai_api_base == "http://127.0.0.1:9/v1"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-plain")  # the usual name wins
    assert load_settings().openai_api_key.get_secret_value() == "sk-plain"


def test_overrides_win_and_none_is_ignored(monkeypatch):
    monkeypatch.setenv("PRIVACY_QA_TOP_K", "9")
    monkeypatch.setenv("PRIVACY_QA_DATA_DIR", "/env/data")
    settings = load_settings(top_k=3, data_dir=None)
    assert settings.top_k == 3 and settings.data_dir == Path("/env/data")


def test_the_environment_is_read_once_when_loading(monkeypatch):
    settings = load_settings()
    monkeypatch.setenv("PRIVACY_QA_TOP_K", "9")
    assert settings.top_k == 5


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PRIVACY_QA_TOP_K": "five"}, "PRIVACY_QA_TOP_K: must be a whole number, not 'five'"),
        ({"PRIVACY_QA_CHUNK_TOKENS": "16.5"}, "PRIVACY_QA_CHUNK_TOKENS: must be a whole number"),
        ({"PRIVACY_QA_MIN_COVERAGE": "lots"}, "PRIVACY_QA_MIN_COVERAGE: must be a number"),
        ({"PRIVACY_QA_TOP_K": "0"}, "PRIVACY_QA_TOP_K: must be at least 1, not 0"),
        ({"PRIVACY_QA_TOP_K": "51"}, "PRIVACY_QA_TOP_K: must be at most 50, not 51"),
        ({"PRIVACY_QA_OPENAI_TIMEOUT_S": "0"}, "PRIVACY_QA_OPENAI_TIMEOUT_S: must be more than 0"),
        ({"PRIVACY_QA_LLM": "claude"}, "PRIVACY_QA_LLM: must be 'extractive' or 'openai'"),
        ({"PRIVACY_QA_LOG_LEVEL": "loud"}, "PRIVACY_QA_LOG_LEVEL: must be DEBUG, INFO"),
        ({"PRIVACY_QA_CHROMA_URL": "127.0.0.1:8000"}, "PRIVACY_QA_CHROMA_URL: must look like"),
        ({"PRIVACY_QA_CHROMA_URL": "http://h:1/chroma"}, "PRIVACY_QA_CHROMA_URL: must be http"),
        ({"PRIVACY_QA_CHROMA_URL": "http://h:port"}, "PRIVACY_QA_CHROMA_URL: has a bad port"),
        ({"PRIVACY_QA_LLM_PRICES": "{"}, "PRIVACY_QA_LLM_PRICES: must be JSON like"),
        ({"PRIVACY_QA_LLM_PRICES": '{"m": [1]}'}, "PRIVACY_QA_LLM_PRICES: must be JSON like"),
        (
            {"PRIVACY_QA_CHUNK_TOKENS": "64", "PRIVACY_QA_CHUNK_OVERLAP_TOKENS": "64"},
            "PRIVACY_QA_CHUNK_OVERLAP_TOKENS: must be smaller than PRIVACY_QA_CHUNK_TOKENS (64)",
        ),
    ],
)
def test_each_invalid_value_is_named_by_its_variable(env, message):
    text = invalid(**env)
    assert text.startswith("Invalid settings (") and message in text
    assert text.endswith("). Fix the PRIVACY_QA_* variables.")


def test_every_invalid_variable_is_named_at_once():
    text = invalid(PRIVACY_QA_TOP_K="0", PRIVACY_QA_LLM="x", PRIVACY_QA_MAX_QUOTES="many")
    assert re.findall(r"PRIVACY_QA_\w+(?=:)", text) == [
        "PRIVACY_QA_TOP_K",
        "PRIVACY_QA_MAX_QUOTES",
        "PRIVACY_QA_LLM",
    ]


def test_the_api_key_never_shows(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    settings = load_settings()
    assert settings.openai_api_key.get_secret_value() == "sk-very-secret"
    for text in (repr(settings), str(settings), settings.cache_key(), repr(settings.as_dict())):
        assert "sk-very-secret" not in text
    assert json.loads(settings.cache_key())["openai_api_key"] == "**********"
    assert str(Secret("x")) == "**********" and "x" not in repr(Secret("x"))


def test_cache_key_follows_every_setting_but_the_key():
    settings = load_settings()
    assert settings.cache_key() == load_settings().cache_key()
    assert settings.replace(top_k=6).cache_key() != settings.cache_key()
    with_key = settings.replace(openai_api_key="sk-a")
    assert with_key.cache_key() == settings.replace(openai_api_key="sk-b").cache_key()


def test_replace_gives_a_validated_copy():
    settings = load_settings()
    changed = settings.replace(data_dir=Path("/tmp/x"), top_k="8", openai_api_key="sk-test")
    assert changed.data_dir == Path("/tmp/x") and changed.top_k == 8
    assert changed.openai_api_key == Secret("sk-test")
    assert settings.top_k == 5 and settings.openai_api_key is None  # the original is unchanged
    assert changed.replace() == changed
    with pytest.raises(ConfigError, match="PRIVACY_QA_TOP_K: must be at most 50"):
        settings.replace(top_k=99)
    with pytest.raises(TypeError, match="top_kk"):
        settings.replace(top_kk=3)


def test_settings_are_read_only():
    settings = load_settings()
    with pytest.raises(AttributeError, match="replace"):
        settings.top_k = 3


def test_every_setting_is_described_and_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, field in FIELDS.items():
        assert len(field.description) > 20, name
        assert any(f"`{var}`" in readme for var in field.env), f"{field.env[0]} is not in README"


def test_the_readme_settings_table_is_the_one_made_from_the_declarations():
    """README.md's table is written by scripts/settings_table.py, not by hand."""
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "settings_table.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
