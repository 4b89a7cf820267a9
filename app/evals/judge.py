"""The optional LLM judge (``privacy-qa eval --judge``): grades the faithfulness and the
relevancy of every answered in-scope question, 0 to 1."""

from __future__ import annotations

import json
from collections.abc import Callable

from app.config import Settings
from app.errors import PrivacyQAError, ProviderError
from app.evals.scoring import ItemResult, JudgeScores, shorten

JUDGE_PROMPT = """You grade answers of a question-answering system over privacy documents.
Reply with one JSON object and nothing else: {{"faithfulness": F, "relevancy": R}}.
F (0 to 1): the share of the answer's claims that the CONTEXT supports.
R (0 to 1): how directly and completely the answer addresses the QUESTION.

QUESTION:
{question}

CONTEXT:
{context}

ANSWER:
{answer}"""


def judge_chat(settings: Settings, messages: list[dict[str, str]]) -> str:
    """Send one chat request for the judge and return the reply text.

    The only place the eval talks to a model, through the app's ZDR-guarded client
    (:mod:`app.openai_http`): only ``POST /chat/completions`` with text can leave.
    """
    # openai is imported only when the judge runs: most evals run without it.
    from openai import OpenAIError

    from app.openai_http import OpenAIHTTP, translate_error

    http = OpenAIHTTP(settings)  # raises ConfigError without OPENAI_API_KEY
    client = http.sdk_client()
    try:
        response = client.chat.completions.create(
            model=settings.llm_model, messages=messages, temperature=0
        )
    except (OpenAIError, PrivacyQAError) as exc:
        raise translate_error(exc, http.base_url) from exc
    finally:
        http.close()
    return response.choices[0].message.content or ""


def parse_judgement(reply: str) -> JudgeScores:
    """The two scores from a judge reply (the first JSON object in it), clamped to 0..1."""
    start, end = reply.find("{"), reply.rfind("}")
    try:
        data = json.loads(reply[start : end + 1]) if start >= 0 else None
        scores = {k: min(1.0, max(0.0, float(data[k]))) for k in ("faithfulness", "relevancy")}
    except (TypeError, ValueError, KeyError) as exc:
        raise ProviderError(f"The judge replied with no usable scores: {shorten(reply)!r}") from exc
    return JudgeScores(faithfulness=scores["faithfulness"], relevancy=scores["relevancy"])


def judge_results(
    settings: Settings,
    results: list[ItemResult],
    chat: Callable[[Settings, list[dict[str, str]]], str] = judge_chat,
) -> int:
    """Grade every answered in-scope result with the LLM judge; returns how many were graded."""
    graded = 0
    for result in results:
        if not result.item.in_scope or result.abstained:
            continue
        context = "\n\n".join(dict.fromkeys(c.chunk_text or c.quote for c in result.citations))
        prompt = JUDGE_PROMPT.format(
            question=result.item.question, context=context, answer=result.answer
        )
        result.judge = parse_judgement(chat(settings, [{"role": "user", "content": prompt}]))
        graded += 1
    return graded
