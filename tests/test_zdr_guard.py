"""The ZDR guard's allowlist (app/zdr_guard.py), each case sent through the app's guarded
client to a real HTTP server on 127.0.0.1 that speaks the OpenAI protocol
(tests/openai_fake.py): a refused request must not reach it, and the refusal names what
was wrong. The cases are the 21 shapes an outside probe got through the earlier guard."""

from __future__ import annotations

import json

import pytest

from app.config import load_settings
from app.errors import ConfigError, ZDRViolationError
from app.openai_http import OpenAIHTTP, capture_endpoints
from app.zdr_guard import check_request

from .conftest import make_settings
from .openai_fake import FakeOpenAI

USER = {"role": "user", "content": "Hello"}
CHAT = {"model": "gpt-4o-mini", "messages": [USER]}
EMBED = {"model": "text-embedding-3-small", "input": ["a", "b"], "encoding_format": "base64"}


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def http(tmp_path, fake):
    settings = make_settings(tmp_path, openai_api_key=fake.api_key, openai_base_url=fake.base_url)
    client = OpenAIHTTP(settings)
    yield client
    client.close()


def refused(http, fake, match: str, path="/chat/completions", method="POST", **request):
    """Send through the guarded client; it must be refused naming ``match``, unsent."""
    with capture_endpoints() as calls, pytest.raises(ZDRViolationError, match=match) as raised:
        http.client.request(method, fake.base_url + path, **request)
    assert fake.received == [] and calls == [] and http.calls == []
    return str(raised.value)


def chat(**changes) -> dict:
    return {**CHAT, **changes}


def message(**changes) -> dict:
    return chat(messages=[{**USER, **changes}])


# Body shapes the app never sends, and the field each refusal must name.
BODIES = [
    (message(content=[{"type": "text", "text": "Hi", "image_url": {"url": "x"}}]), "image_url"),
    (message(image_url={"url": "data:image/png;base64,AAAA"}), "image_url"),
    (message(content=[{"type": "text", "text": ["not", "text"]}]), "text"),
    (message(content={"type": "text", "text": "a dict, not a list"}), "content"),
    (message(role="tool"), "role"),
    (chat(messages={"role": "user", "content": "Hello"}), "messages"),
    (chat(messages="Hello"), "messages"),
    (chat(messages=[]), "messages"),
    (chat(messages=["Hello"]), "messages"),
    (chat(web_search_options={}), "web_search_options"),
    (chat(tools=[{"type": "function", "function": {"name": "fetch_url"}}]), "tools"),
    (chat(tool_choice="auto"), "tool_choice"),
    (chat(store=True), "store"),
    (chat(store="yes"), "store"),
    (chat(metadata={"patient": "x"}), "metadata"),
    (chat(prediction={"type": "content", "content": "x"}), "prediction"),
    (chat(audio={"voice": "alloy"}), "audio"),
    (chat(modalities=["text"]), "modalities"),
    (chat(model=["gpt-4o-mini"]), "model"),
    (chat(stream="true"), "stream"),
    (chat(stream_options={"include_usage": True, "extra": 1}), "extra"),
    (chat(max_tokens=True), "max_tokens"),
    ({"messages": [USER]}, "model"),
    ({**EMBED, "input": [[1, 2, 3]]}, "input"),
    ({**EMBED, "dimensions": 64}, "dimensions"),
    ({**EMBED, "encoding_format": "zip"}, "encoding_format"),
    ({**EMBED, "user": "patient-7"}, "user"),
]


@pytest.mark.parametrize(("body", "field"), BODIES)
def test_a_body_the_app_does_not_send_is_refused_naming_the_field(http, fake, body, field):
    path = "/embeddings" if "input" in body else "/chat/completions"
    assert field in refused(http, fake, "Refused", path=path, json=body)


def test_a_key_given_twice_is_refused_whatever_its_last_value(http, fake):
    text = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}], '
    refused(http, fake, "store.*twice", content=text + b'"store": true, "store": false}')
    nested = b'{"model": "m", "messages": [{"role": "user", "role": "user", "content": "Hi"}]}'
    refused(http, fake, "role.*twice", content=nested)


@pytest.mark.parametrize(
    "body",
    [
        b'{"model": "m", "messages": [{"role": "user", "content": "Hi"}], "temperature": NaN}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"model": "m", "messages": [{"role": "user", "content": "\xff"}]}',
    ],
)
def test_unusual_json_is_refused(http, fake, body):
    refused(http, fake, "Refused", content=body)


@pytest.mark.parametrize("query", ["?patient=Jane+Doe", "?", "#fragment"])
def test_a_query_string_after_an_allowed_path_is_refused(http, fake, query):
    refused(http, fake, "query", path="/chat/completions" + query, json=CHAT)


@pytest.mark.parametrize(
    "path",
    [
        "chat/completions",  # {base}chat/completions: /v1chat/completions
        "embeddings",
        "/chat/completions/",
        "//chat/completions",
        "/chat%2Fcompletions",
        "/chat/completions/extra",
    ],
)
def test_only_the_exact_path_passes(http, fake, path):
    refused(http, fake, "Refused", path=path, json=CHAT)


def test_a_forged_host_header_is_refused(http, fake):
    refused(http, fake, "Host", json=CHAT, headers={"Host": "evil.example"})
    refused(http, fake, "Host", path="/embeddings", json=EMBED, headers={"Host": "api.openai.com"})


def test_what_the_app_sends_passes(http, fake):
    stream = chat(
        stream=True,
        stream_options={"include_usage": True},
        max_completion_tokens=5,
        temperature=0.0,
        messages=[{"role": "system", "content": "Rules"}, USER],
    )
    parts = message(content=[{"type": "text", "text": "Hi"}, {"type": "text", "text": "again"}])
    auth = {"authorization": f"Bearer {fake.api_key}"}
    for body in (stream, parts, chat(max_tokens=5, store=False)):
        assert http.client.post(fake.base_url + "/chat/completions", json=body, headers=auth)
    assert http.client.post(fake.base_url + "/embeddings", json=EMBED, headers=auth)
    host = fake.base_url.split("/")[2]
    assert http.client.post(
        fake.base_url + "/embeddings", json=EMBED, headers={**auth, "Host": host}
    ).is_success
    assert len(fake.received) == 5


def test_the_label_never_holds_a_urls_userinfo():
    base = "https://api.openai.com/v1"
    url = "https://user:secret@api.openai.com/v1/embeddings"
    with pytest.raises(ZDRViolationError) as raised:
        check_request("POST", url, json.dumps(EMBED).encode(), base)
    assert "secret" not in str(raised.value) and "user:" not in str(raised.value)


@pytest.mark.parametrize("variable", ["OPENAI_BASE_URL", "PRIVACY_QA_CHROMA_URL"])
def test_a_url_with_credentials_is_refused_at_load_without_printing_them(monkeypatch, variable):
    monkeypatch.setenv(variable, "http://alice:hunter2@127.0.0.1:8000")
    with pytest.raises(ConfigError, match=variable) as raised:
        load_settings()
    assert "hunter2" not in str(raised.value) and "alice" not in str(raised.value)
    assert "user name or password" in str(raised.value)
