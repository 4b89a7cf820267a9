"""What the eval tests share: hand-made eval items and results, and a real HTTP server on
127.0.0.1 answering the judge's chat requests like OpenAI does."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from app.evals.dataset import EvalItem
from app.evals.scoring import CitationResult, ItemResult, facts_stated

from .conftest import ROOT

DATASET = ROOT / "evals/questions.jsonl"
BAA = "corpus/openai-baa-help-article.md"
EXPLAINER = "corpus/openai-api-privacy-explained.md"


def item(**fields) -> EvalItem:
    base = {
        "id": "x-1",
        "split": "dev",
        "topic": "retention",
        "question": "How long is data kept?",
        "facts": (("30 days", "thirty days"),),
        "sources": (EXPLAINER,),
    }
    return EvalItem(**{**base, **fields})


def result(it: EvalItem, answer: str, citations, abstained=False, rank=1, latency=10.0):
    return ItemResult(
        item=it,
        answer=answer,
        abstained=abstained,
        citations=citations,
        rank=rank,
        retrieved=[],
        facts=[False] * len(it.facts) if abstained else facts_stated(it.facts, answer),
        latency_ms=latency,
    )


def cite(n, source, correct, quote="q"):
    return CitationResult(n, source, "S", 1, quote, correct)


class ChatServer:
    """A real HTTP server on 127.0.0.1 answering /v1/chat/completions like OpenAI does."""

    def __init__(self, reply: str):
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "body": body})
                payload = json.dumps(
                    {
                        "id": "chatcmpl-1",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": reply},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
