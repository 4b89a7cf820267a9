"""The ZDR guard, retries and endpoint records of the one OpenAI HTTP client, against a real
HTTP server on 127.0.0.1 that speaks the OpenAI protocol (tests/openai_fake.py)."""

from __future__ import annotations

import asyncio
import json

import openai
import pytest

from app.embeddings import make_embeddings, prepare_offline_tiktoken
from app.errors import APIKeyRejectedError, ConfigError, ProviderError, ZDRViolationError
from app.openai_http import (
    OpenAIHTTP,
    RetryPolicy,
    capture_endpoints,
    check_request,
    httpx,
    translate_error,
)

from .conftest import make_settings
from .openai_fake import DIMENSIONS, FakeOpenAI, Scripted

TEXT_CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


def settings_for(tmp_path, fake, **overrides):
    values = {
        "openai_api_key": fake.api_key,
        "openai_base_url": fake.base_url,
        "openai_retry_backoff_s": 0.01,
        **overrides,
    }
    return make_settings(tmp_path, **values)


def auth(fake) -> dict[str, str]:
    return {"authorization": f"Bearer {fake.api_key}"}


def chat_with(*parts) -> dict:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": list(parts)}]}


FORBIDDEN = [
    ("POST", "/responses", {"model": "gpt-4o-mini", "input": "Hello"}),
    ("POST", "/assistants", {"model": "gpt-4o-mini"}),
    ("POST", "/threads", {}),
    ("POST", "/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "Hello"}),
    ("POST", "/audio/transcriptions", {}),
    ("POST", "/fine_tuning/jobs", {"training_file": "file-1"}),
    ("GET", "/models", None),
    ("GET", "/files", None),
    ("GET", "/chat/completions", None),  # lists stored completions
    ("DELETE", "/chat/completions/chatcmpl-1", None),
    (
        "POST",
        "/chat/completions",
        chat_with({"type": "image_url", "image_url": {"url": "https://example.com/x.png"}}),
    ),
    (
        "POST",
        "/chat/completions",
        chat_with(
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        ),
    ),
    (
        "POST",
        "/chat/completions",
        chat_with({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}),
    ),
    ("POST", "/chat/completions", chat_with({"type": "file", "file": {"file_id": "file-1"}})),
    ("POST", "/chat/completions", {**TEXT_CHAT, "store": True}),
    ("POST", "/chat/completions", {**TEXT_CHAT, "modalities": ["text", "audio"]}),
    ("POST", "/chat/completions", "not a JSON object"),
]


@pytest.mark.parametrize(("method", "path", "body"), FORBIDDEN)
def test_guard_refuses_before_anything_is_sent(tmp_path, fake, method, path, body):
    http = OpenAIHTTP(settings_for(tmp_path, fake))
    with capture_endpoints() as calls, pytest.raises(ZDRViolationError, match="Refused"):
        http.client.request(method, fake.base_url + path, json=body)
    assert fake.received == []  # not a byte reached the server
    assert http.calls == [] and calls == []


def test_guard_refuses_a_file_upload_and_another_host(tmp_path, fake):
    http = OpenAIHTTP(settings_for(tmp_path, fake))
    with pytest.raises(ZDRViolationError, match="/files"):
        http.client.post(fake.base_url + "/files", files={"file": ("a.jsonl", b"{}")})
    with FakeOpenAI() as other, pytest.raises(ZDRViolationError, match="OPENAI_BASE_URL"):
        http.client.post(other.base_url + "/chat/completions", json=TEXT_CHAT)
    assert other.received == []
    assert fake.received == []


def test_guard_lets_text_chat_and_embeddings_through_and_records_them(tmp_path, fake):
    http = OpenAIHTTP(settings_for(tmp_path, fake))
    parts = chat_with({"type": "text", "text": "Hello"}, {"type": "text", "text": "again"})
    with capture_endpoints() as calls:
        for body in (TEXT_CHAT, parts):
            response = http.client.post(
                fake.base_url + "/chat/completions", json=body, headers=auth(fake)
            )
            assert response.is_success
        embedded = http.client.post(
            fake.base_url + "/embeddings",
            json={"model": "text-embedding-3-small", "input": "x"},
            headers=auth(fake),
        )
    assert len(embedded.json()["data"][0]["embedding"]) == DIMENSIONS
    assert fake.paths() == ["POST /v1/chat/completions"] * 2 + ["POST /v1/embeddings"]
    chat, embeddings = f"POST {fake.base_url}/chat/completions", f"POST {fake.base_url}/embeddings"
    assert calls == [chat, chat, embeddings]
    assert http.calls == calls


def test_check_request_needs_the_base_path(tmp_path):
    base = "https://api.openai.com/v1"
    body = json.dumps({"model": "text-embedding-3-small", "input": "x"}).encode()
    ok = check_request("POST", f"{base}/embeddings", body, base)
    assert ok == f"POST {base}/embeddings"
    for url in ("https://api.openai.com/embeddings", "https://api.openai.com/v2/embeddings"):
        with pytest.raises(ZDRViolationError):
            check_request("POST", url, b"{}", base)
    with pytest.raises(ZDRViolationError, match="OPENAI_BASE_URL"):
        check_request("POST", "http://api.openai.com/v1/embeddings", b"{}", base)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the assistants API
def test_sdk_and_langchain_requests_for_other_endpoints_are_refused(tmp_path, fake):
    from langchain_core.messages import HumanMessage
    from langchain_openai import ChatOpenAI

    settings = settings_for(tmp_path, fake)
    http = OpenAIHTTP(settings)
    client = http.sdk_client()
    attempts = [
        lambda: client.responses.create(model="gpt-4o-mini", input="Hello"),
        lambda: client.files.list(),
        lambda: client.models.list(),
        lambda: client.beta.assistants.create(model="gpt-4o-mini"),
    ]

    # The factory never asks for the Responses API; a client built by hand that does is
    # refused all the same.
    responses_chat = ChatOpenAI(
        model="gpt-4o-mini",
        api_key=fake.api_key,
        base_url=fake.base_url,
        http_client=http.client,
        max_retries=0,
        use_responses_api=True,
    )
    image = [
        {"type": "text", "text": "What is in this image?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
    ]
    attempts += [
        lambda: responses_chat.invoke("Hello"),
        lambda: http.chat_model("gpt-4o-mini").invoke([HumanMessage(content=image)]),
    ]
    for attempt in attempts:
        with pytest.raises(Exception) as raised:
            attempt()
        assert isinstance(translate_error(raised.value, fake.base_url), ZDRViolationError)
    assert fake.received == []


def test_the_factory_builds_every_client_on_the_guarded_one(tmp_path, fake):
    """Chat model, embeddings and SDK client: each sends through the guard (and its
    endpoint record), with the SDK's own retries off."""
    fake.reply = "Hello."
    http = OpenAIHTTP(settings_for(tmp_path, fake))
    sdk = http.sdk_client()
    chat = http.chat_model("gpt-4o-mini", max_tokens=5)
    embeddings = http.embeddings_model("text-embedding-3-small", check_embedding_ctx_length=False)
    assert sdk.max_retries == 0 and chat.max_retries == 0 and embeddings.max_retries == 0
    assert chat.invoke("Hello").content == "Hello."
    assert sdk.chat.completions.create(**TEXT_CHAT).choices[0].message.content == "Hello."
    assert len(embeddings.embed_query("Hello")) == DIMENSIONS
    assert http.calls == [
        f"POST {fake.base_url}/chat/completions",
        f"POST {fake.base_url}/chat/completions",
        f"POST {fake.base_url}/embeddings",
    ]
    sent = fake.received[0].json  # the options reach the request (in either spelling)
    assert 5 in (sent.get("max_tokens"), sent.get("max_completion_tokens"))


def test_async_client_is_guarded_too(tmp_path, fake):
    http = OpenAIHTTP(settings_for(tmp_path, fake))

    async def run():
        with pytest.raises(ZDRViolationError):
            await http.async_client.post(fake.base_url + "/files", json={})
        response = await http.async_client.post(
            fake.base_url + "/embeddings",
            json={"model": "m", "input": ["a", "b"]},
            headers=auth(fake),
        )
        return response.json()

    assert len(asyncio.run(run())["data"]) == 2
    assert fake.paths() == ["POST /v1/embeddings"]


def test_missing_key_is_a_config_error_naming_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAIHTTP(make_settings(tmp_path, llm="openai"))


def test_429_and_5xx_are_retried_with_backoff(tmp_path, fake):
    http = OpenAIHTTP(settings_for(tmp_path, fake, openai_max_retries=2))
    fake.script(Scripted(status=429), Scripted(status=503))
    response = http.client.post(
        fake.base_url + "/chat/completions", json=TEXT_CHAT, headers=auth(fake)
    )
    assert response.status_code == 200
    assert len(fake.received) == 3
    assert http.calls == [f"POST {fake.base_url}/chat/completions"]  # one call, three tries


def test_retries_are_bounded_and_the_last_failure_is_reported(tmp_path, fake):
    settings = settings_for(tmp_path, fake, openai_max_retries=2)
    http = OpenAIHTTP(settings)
    fake.script(*[Scripted(status=500)] * 5)
    client = http.sdk_client()
    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(**TEXT_CHAT)
    assert len(fake.received) == 3  # the first try and two retries
    error = translate_error(raised.value, fake.base_url)
    assert isinstance(error, ProviderError) and "HTTP 500" in str(error)


def test_timeouts_are_retried_then_raised(tmp_path, fake):
    http = OpenAIHTTP(settings_for(tmp_path, fake, openai_max_retries=1, openai_timeout_s=0.3))
    fake.script(Scripted(delay=1.5), Scripted(delay=1.5))
    with pytest.raises(httpx.TimeoutException):
        http.client.post(fake.base_url + "/chat/completions", json=TEXT_CHAT)
    assert len(fake.received) == 2


def test_backoff_doubles_and_honours_retry_after_up_to_a_cap():
    policy = RetryPolicy(retries=3, backoff_s=1.0)
    for attempt, base in enumerate([1.0, 2.0, 4.0]):
        assert 0.75 * base <= policy.delay(attempt) <= 1.25 * base
    assert policy.delay(10) == 8.0

    def response(**headers):
        return httpx.Response(429, headers=headers)

    assert policy.delay(0, response(**{"retry-after": "3"})) == 3.0
    assert policy.delay(0, response(**{"retry-after-ms": "20"})) == 0.02
    assert policy.delay(0, response(**{"retry-after": "120"})) == 8.0


def test_a_rejected_key_is_a_user_error(tmp_path, fake):
    settings = settings_for(tmp_path, fake, openai_api_key="sk-wrong")
    http = OpenAIHTTP(settings)
    client = http.sdk_client()
    with pytest.raises(openai.AuthenticationError) as raised:
        client.chat.completions.create(**TEXT_CHAT)
    error = translate_error(raised.value, fake.base_url)
    assert isinstance(error, APIKeyRejectedError)
    assert "OpenAI rejected the API key" in str(error) and "OPENAI_API_KEY" in str(error)
    assert len(fake.received) == 1  # a 401 is not retried


def test_openai_embeddings_go_through_the_guarded_client(tmp_path, fake):
    prepare_offline_tiktoken(tmp_path / "tiktoken")
    settings = settings_for(tmp_path, fake, embeddings="openai")
    backend = make_embeddings(settings)
    with capture_endpoints() as calls:
        vectors = backend.embed_documents(["OpenAI encrypts data.", "Sourdough bread."])
        query = backend.embed_query("Is data encrypted?")
    assert len(vectors) == 2 and len(query) == DIMENSIONS
    assert backend.http.calls == calls == [f"POST {fake.base_url}/embeddings"] * 2
    sent = fake.received[0].json
    assert sent["model"] == "text-embedding-3-small"
    assert sent["input"] == ["OpenAI encrypts data.", "Sourdough bread."]  # text, not token ids

    wrong = make_embeddings(settings_for(tmp_path, fake, embeddings="openai", openai_api_key="x"))
    with pytest.raises(APIKeyRejectedError):
        wrong.embed_query("Is data encrypted?")
