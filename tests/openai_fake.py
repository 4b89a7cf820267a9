"""A real HTTP server on 127.0.0.1 that speaks enough of the OpenAI wire protocol for tests.

It serves ``POST /v1/chat/completions`` (plain JSON, or server-sent events when the request
asks to stream, with a usage chunk when ``stream_options.include_usage`` is set) and
``POST /v1/embeddings``, checks the bearer key like OpenAI (401 otherwise), and logs every
request it receives, so a test can prove a blocked request never arrived. Tests script
failures in order: an HTTP status, a garbage body, a broken stream, a slow answer.

The "model" is whatever the test says it is: ``reply`` is a string or a function of the
request body. Token usage is counted with real tiktoken the way OpenAI documents it for
chat models (3 tokens per message, plus the role and content, plus 3 to prime the reply).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DIMENSIONS = 64


@dataclass
class Scripted:
    """One scripted answer, used for the next request instead of the normal one."""

    status: int = 200
    body: bytes | None = None  # raw body; None: an OpenAI-style error (or normal answer at 200)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering
    broken_stream: bool = False  # a 200 event stream with an unreadable event
    reply: str | None = None  # a normal answer with this text


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def encoding_for(model: str):
    import os
    import tempfile

    import tiktoken

    from app.embeddings import prepare_offline_tiktoken

    if "TIKTOKEN_CACHE_DIR" not in os.environ:  # no download possible: the bundled files
        prepare_offline_tiktoken(Path(tempfile.gettempdir()) / "privacy-qa-fake-tiktoken")

    name = "o200k_base" if model.startswith(("gpt-4o", "gpt-4.1")) else "cl100k_base"
    return tiktoken.get_encoding(name)


def count_chat_tokens(messages: list[dict], model: str) -> int:
    """Prompt tokens as OpenAI counts them for chat models (the cookbook's recipe)."""
    encoding = encoding_for(model)
    total = 3
    for message in messages:
        total += 3 + len(encoding.encode(message["role"]))
        content = message.get("content") or ""
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content)
        total += len(encoding.encode(content))
    return total


def fake_vector(text: str) -> list[float]:
    """A deterministic embedding: hashed bag of words, unit length."""
    vector = [0.0] * DIMENSIONS
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % DIMENSIONS] += 1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        import sys

        # A client that timed out and hung up (the timeout tests) is expected, not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeOpenAI:
    """Start with ``with FakeOpenAI() as server:``; point OPENAI_BASE_URL at ``server.base_url``."""

    def __init__(self, reply: str | Callable[[dict], str] = "OK [1]", api_key: str = "sk-test"):
        self.reply = reply
        self.api_key = api_key
        self.received: list[Received] = []
        self._script: list[Scripted] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def script(self, *answers: Scripted) -> None:
        """Use these answers, in order, for the next requests."""
        with self._lock:
            self._script.extend(answers)

    def paths(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.received]

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_scripted(self) -> Scripted | None:
        with self._lock:
            return self._script.pop(0) if self._script else None

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def do_DELETE(self) -> None:
                self._handle()

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                with fake._lock:
                    fake.received.append(
                        Received(self.command, self.path, dict(self.headers.items()), body)
                    )
                scripted = fake._next_scripted()
                if scripted and scripted.delay:
                    time.sleep(scripted.delay)
                if self.headers.get("authorization") != f"Bearer {fake.api_key}":
                    return self._error(401, "Incorrect API key provided.", "invalid_api_key")
                if scripted and scripted.status != 200:
                    if scripted.body is not None:
                        return self._send(scripted.status, scripted.body, scripted.headers)
                    return self._error(
                        scripted.status, f"scripted {scripted.status}", None, scripted.headers
                    )
                if scripted and scripted.body is not None:
                    return self._send(200, scripted.body, {"content-type": "application/json"})
                path = self.path.split("?")[0]
                if self.command == "POST" and path == "/v1/chat/completions":
                    return self._chat(json.loads(body), scripted)
                if self.command == "POST" and path == "/v1/embeddings":
                    return self._embeddings(json.loads(body))
                return self._error(404, f"Unknown request URL: {self.command} {path}", None)

            def _chat(self, request: dict, scripted: Scripted | None) -> None:
                if scripted and scripted.reply is not None:
                    text = scripted.reply
                else:
                    text = fake.reply(request) if callable(fake.reply) else fake.reply
                model = request.get("model", "gpt-4o-mini")
                prompt = count_chat_tokens(request["messages"], model)
                completion = len(encoding_for(model).encode(text))
                usage = {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                }
                created = int(time.time())
                if not request.get("stream"):
                    return self._json(
                        200,
                        {
                            "id": "chatcmpl-fake",
                            "object": "chat.completion",
                            "created": created,
                            "model": model,
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {"role": "assistant", "content": text},
                                    "finish_reason": "stop",
                                }
                            ],
                            "usage": usage,
                        },
                    )
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()

                def event(delta: dict, finish: str | None = None, **extra) -> None:
                    chunk = {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                        **extra,
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()

                event({"role": "assistant", "content": ""})
                for piece in re.findall(r"\S+\s*|\s+", text):
                    event({"content": piece})
                    if scripted and scripted.broken_stream:
                        self.wfile.write(b"data: {this is not json\n\n")
                        return
                event({}, "stop")
                if (request.get("stream_options") or {}).get("include_usage"):
                    chunk = {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "choices": [],
                        "usage": usage,
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _embeddings(self, request: dict) -> None:
                inputs = request["input"]
                inputs = [inputs] if isinstance(inputs, str) else inputs
                data = [
                    {"object": "embedding", "index": i, "embedding": fake_vector(str(text))}
                    for i, text in enumerate(inputs)
                ]
                tokens = sum(len(str(text).split()) for text in inputs)
                self._json(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "model": request.get("model"),
                        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                    },
                )

            def _error(self, status: int, message: str, code, headers=None) -> None:
                kind = "invalid_request_error" if status < 500 else "server_error"
                body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
                self._json(status, body, headers)

            def _json(self, status: int, payload: dict, headers=None) -> None:
                self._send(
                    status,
                    json.dumps(payload).encode(),
                    {"content-type": "application/json", **(headers or {})},
                )

            def _send(self, status: int, body: bytes, headers: dict) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def quote_first_source(request: dict) -> str:
    """A stand-in model for end-to-end tests: it answers with the first full sentence of
    source 1 of privacy-qa's prompt, cited [1] (or declines if there is none)."""
    user = request["messages"][-1]["content"]
    found = re.search(r'<source n="1" [^\n]*">\n(.*?)\n</source>', user, re.DOTALL)
    for line in (found.group(1) if found else "").splitlines():
        sentence = re.match(r"(.+?[.!?])(?:\s|$)", line.strip("> *\t"))
        if sentence and len(sentence.group(1).split()) >= 4 and "?" not in sentence.group(1):
            return f"{sentence.group(1)} [1]"
    return "The indexed documents don't answer this."
