"""The eval's LLM judge (app/evals/judge.py) against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import pytest

from app.config import load_settings
from app.evals.judge import judge_results, parse_judgement
from app.evals.scoring import compute_metrics

from .eval_cases import EXPLAINER, ChatServer, cite, item, result


@pytest.fixture
def chat_server():
    server = ChatServer('Sure: {"faithfulness": 0.9, "relevancy": 1.4}')
    yield server
    server.close()


def test_the_judge_grades_answered_questions_through_the_openai_protocol(chat_server):
    settings = load_settings(openai_api_key="sk-test", openai_base_url=chat_server.url)
    answered = result(item(), "Kept 30 days. [1]", [cite(1, EXPLAINER, True, quote="30 days")])
    skipped = result(item(id="x-9"), "", [], abstained=True)
    assert judge_results(settings, [answered, skipped]) == 1
    assert answered.judge == {"faithfulness": 0.9, "relevancy": 1.0}  # clamped to 0..1
    assert skipped.judge is None
    (request,) = chat_server.requests
    assert request["path"] == "/v1/chat/completions"
    prompt = request["body"]["messages"][0]["content"]
    assert "How long is data kept?" in prompt and "Kept 30 days." in prompt
    metrics = compute_metrics([answered, skipped])
    assert metrics["judge_faithfulness"] == 0.9


def test_a_judge_reply_without_scores_is_a_clear_error():
    from app.errors import ProviderError

    with pytest.raises(ProviderError, match="no usable scores"):
        parse_judgement("I think it is fine.")
