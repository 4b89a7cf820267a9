"""The PHI check (app/phi.py) and what it does before a question reaches the chat model.

The detector's tests need no model. The slow ones run the real CLI in a subprocess over
the real index against a real HTTP server on 127.0.0.1 speaking the OpenAI protocol
(tests/openai_fake.py): with --redact the server never receives a value the check found;
a refused question reaches it not at all.
"""

from __future__ import annotations

import json

import pytest

from app.config import Settings
from app.errors import ConfigError
from app.phi import KINDS, Finding, PhiDetector, describe, kinds, redact, vocabulary_of

from .openai_fake import FakeOpenAI, quote_first_source
from .test_answering_chat import run_cli as run_chat_cli

QUESTION = (
    "Patient Maria Garcia, DOB 04/12/1978, MRN 00482917, SSN 219-09-9999, phone "
    "(617) 555-0142, maria.garcia@example.org, lives at 42 Elm Street: is her data kept?"
)
VALUES = {
    "name": "Maria Garcia",
    "date": "04/12/1978",
    "record_number": "00482917",
    "ssn": "219-09-9999",
    "phone": "(617) 555-0142",
    "email": "maria.garcia@example.org",
    "address": "42 Elm Street",
}


# ---------------------------------------------------------------------------- detector


def test_each_kind_is_found_with_its_span_and_text():
    found = PhiDetector().find(QUESTION)
    assert {f.kind: f.text for f in found} == VALUES
    for finding in found:
        start, end = finding.span
        assert QUESTION[start:end] == finding.text
    assert kinds(found) == list(KINDS)


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("Dr. Patel asked about retention.", "name", "Dr. Patel"),
        ("Mrs. Elizabeth Clark wants her records.", "name", "Mrs. Elizabeth Clark"),
        ("Nurse Rachel Adams asked about shift notes.", "name", "Rachel Adams"),
        ("Can we summarise Dr Müller's letters?", "name", "Dr Müller"),
        ("for patient Zhang Wei, is the API fine?", "name", "Zhang Wei"),
        ("She was born on March 3, 1962.", "date", "March 3, 1962"),
        ("Visit on 7 June 1990 at noon.", "date", "7 June 1990"),
        ("DOB 1985-07-22, is that PHI?", "date", "1985-07-22"),
        ("My SSN is 123 45 6789.", "ssn", "123 45 6789"),
        ("SSN: 123456780 was typed.", "ssn", "123456780"),
        ("Call +44 20 7946 0958 today.", "phone", "+44 20 7946 0958"),
        ("Text 415.555.0199 please.", "phone", "415.555.0199"),
        ("Member ID XKD482910335 was denied.", "record_number", "XKD482910335"),
        ("health plan ID HPN-00293381 is ours", "record_number", "HPN-00293381"),
        ("account 00918273645 was billed", "record_number", "00918273645"),
        ("She lives at 350 Fifth Avenue, Apt 12B.", "address", "350 Fifth Avenue, Apt 12B"),
    ],
)
def test_forms_of_each_kind(text, kind, value):
    found = PhiDetector().find(text)
    assert [(f.kind, f.text) for f in found] == [(kind, value)]


@pytest.mark.parametrize(
    "text",
    [
        "Does OpenAI sign a Business Associate Agreement for HIPAA?",
        "Is the OpenAI API SOC 2 Type 2 compliant and ISO 27001 certified?",
        "Since March 2023, has the 30-day retention period changed in 2024?",
        "Will OpenAI sign our BAA? May we use the Realtime API?",
        "Can Grace Period provisions delay deletion under GDPR Article 28?",
        "Is Claude or Gemini covered, and does Microsoft Azure OpenAI have a BAA?",
        "Can our Privacy Officer review the Security Rule with the Compliance Team?",
        "Is text-embedding-3-small or GPT-4o eligible for ZDR with TLS 1.2?",
    ],
)
def test_compliance_questions_without_phi_are_not_flagged(text):
    assert PhiDetector().find(text) == []


def test_a_pair_ending_in_a_word_of_the_documents_is_no_name():
    question = "Does Susan Encryption cover the files?"
    assert kinds(PhiDetector().find(question)) == ["name"]
    vocabulary = vocabulary_of(["Files are kept under Encryption at rest."])
    assert PhiDetector(vocabulary).find(question) == []


def test_redact_replaces_each_finding_by_its_placeholder():
    found = PhiDetector().find(QUESTION)
    redacted = redact(QUESTION, found)
    for value in VALUES.values():
        assert value not in redacted
    assert redacted.startswith("Patient [NAME], DOB [DATE], MRN [ID], SSN [SSN], phone [PHONE]")
    assert "[EMAIL], lives at [ADDRESS]: is her data kept?" in redacted
    assert redact("no findings", []) == "no findings"


def test_describe_names_kinds_never_values():
    found = PhiDetector().find("Dr. Patel, DOB 04/12/1978")
    assert describe(found) == "a name and a date"
    assert describe(PhiDetector().find(QUESTION)).count(",") == 5
    assert describe([Finding("email", (0, 5), "a@b.c")]) == "an e-mail address"


def test_the_setting_allowing_to_send_as_is_reads_booleans():
    assert Settings().phi_allow_send is False
    assert Settings(phi_allow_send="yes").phi_allow_send is True
    assert Settings(phi_allow_send="0").phi_allow_send is False
    with pytest.raises(ConfigError, match="PRIVACY_QA_PHI_ALLOW_SEND"):
        Settings(phi_allow_send="maybe")


def test_the_labelled_set_holds_enough_of_each_kind():
    from .conftest import ROOT

    items = [json.loads(line) for line in (ROOT / "evals" / "phi.jsonl").open()]
    with_phi = [i for i in items if i["findings"]]
    assert len(items) >= 100 and len(with_phi) * 2 == len(items)
    for item in items:
        for label in item["findings"]:
            assert label["kind"] in KINDS and label["text"] in item["question"]
    assert {label["kind"] for i in with_phi for label in i["findings"]} == set(KINDS)


# ------------------------------------------------------------- the CLI, end to end


def run_cli(args, data_dir, fake, **env):
    """The CLI with the chat model on ``fake``, logging at DEBUG (to show nothing leaks)."""
    keys = {"OPENAI_API_KEY": fake.api_key, "OPENAI_BASE_URL": fake.base_url}
    return run_chat_cli(args, data_dir, **keys, PRIVACY_QA_LOG_LEVEL="DEBUG", **env)


# A question the documents answer (a name the documents don't know would make the answer
# abstain before anything is sent; app/answering/abstain.py).
ASKED = "How long does OpenAI retain API data? Ask Dr. Patel at 617-555-0142 or patel@example.org."
SECRETS = ("Patel", "617-555-0142", "patel@example.org")
FOUND = "a name, a phone number and an e-mail address"


@pytest.mark.slow
def test_a_question_with_phi_is_refused_naming_kinds_and_options(indexed_settings):
    with FakeOpenAI(reply=quote_first_source) as fake:
        result = run_cli(["ask", ASKED], indexed_settings.data_dir, fake)
        assert fake.received == []  # nothing at all reached the server
    assert result.returncode == 2, result.stderr
    assert FOUND in result.stderr
    assert "--redact" in result.stderr and "--allow-phi" in result.stderr
    assert "Traceback" not in result.stderr
    for value in SECRETS:
        assert value not in result.stderr + result.stdout  # nor in the DEBUG log


@pytest.mark.slow
def test_redact_sends_placeholders_and_searches_the_question_as_typed(indexed_settings):
    with FakeOpenAI(reply=quote_first_source) as fake:
        result = run_cli(["ask", "--json", "--redact", ASKED], indexed_settings.data_dir, fake)
        bodies = [r.body.decode() for r in fake.received]
    assert result.returncode == 0, result.stderr
    assert len(bodies) == 1 and "[NAME] at [PHONE] or [EMAIL]" in bodies[0]
    for value in SECRETS:
        assert value not in bodies[0]
        assert value not in result.stderr
    answer = json.loads(result.stdout)
    assert answer["question"] == ASKED and answer["searched"] == ASKED
    assert "30 days" in answer["answer"] and not answer["abstained"]
    assert answer["notices"][0] == (
        f"PHI check: sent to the chat model with {FOUND} replaced by [NAME], [PHONE], [EMAIL]."
    )


@pytest.mark.slow
def test_allow_phi_is_honoured_only_when_the_operator_allows_it(indexed_settings):
    with FakeOpenAI(reply=quote_first_source) as fake:
        refused = run_cli(["ask", "--allow-phi", ASKED], indexed_settings.data_dir, fake)
        assert fake.received == []
        allowed = run_cli(
            ["ask", "--json", "--allow-phi", ASKED],
            indexed_settings.data_dir,
            fake,
            PRIVACY_QA_PHI_ALLOW_SEND="true",
        )
        sent = [r.json["messages"][-1]["content"] for r in fake.received]
    assert refused.returncode == 2 and "PRIVACY_QA_PHI_ALLOW_SEND" in refused.stderr
    assert "--redact" in refused.stderr
    assert allowed.returncode == 0, allowed.stderr
    assert len(sent) == 1 and "Dr. Patel at 617-555-0142" in sent[0]
    assert "sent to the chat model as typed" in json.loads(allowed.stdout)["notices"][0]


@pytest.mark.slow
def test_offline_answers_check_nothing_and_redact_and_allow_phi_exclude_each_other(
    indexed_settings,
):
    with FakeOpenAI(reply=quote_first_source) as fake:
        offline = run_cli(
            ["ask", "--json", ASKED], indexed_settings.data_dir, fake, PRIVACY_QA_LLM="extractive"
        )
        both = run_cli(["ask", "--redact", "--allow-phi", ASKED], indexed_settings.data_dir, fake)
        assert fake.received == []
    assert offline.returncode == 0, offline.stderr
    assert json.loads(offline.stdout)["endpoints"] == []
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


# ------------------------------------------------------------ the session, in process


@pytest.mark.slow
def test_the_session_refuses_redacts_or_answers_offline(tmp_path, indexed_settings, embeddings):
    from app.errors import PhiFoundError
    from app.session import QA

    with FakeOpenAI(reply=quote_first_source) as fake:
        settings = indexed_settings.replace(
            llm="openai", openai_api_key=fake.api_key, openai_base_url=fake.base_url
        )
        session = QA(settings, embeddings)
        assert kinds(session.phi_findings(ASKED)) == ["name", "phone", "email"]
        with pytest.raises(PhiFoundError) as refused:
            session.ask(ASKED)
        assert refused.value.kinds == ["name", "phone", "email"]
        offline = session.ask(ASKED, send="offline")
        assert fake.received == [] and offline.endpoints == [] and offline.citations
        redacted = session.ask(ASKED, send="redact")
        assert len(fake.received) == 1 and "[NAME]" in fake.received[0].body.decode()
    assert redacted.endpoints == [f"POST {fake.base_url}/chat/completions"]
    with pytest.raises(ValueError, match="send must be one of"):
        session.outgoing(ASKED, "maybe")


@pytest.mark.slow
def test_ask_jsonl_refuses_the_line_with_phi_and_answers_the_rest(indexed_settings, tmp_path):
    lines = tmp_path / "questions.jsonl"
    lines.write_text(
        json.dumps({"id": "phi", "question": ASKED})
        + "\n"
        + json.dumps({"id": "clean", "question": "How long does OpenAI retain API data?"})
        + "\n",
        encoding="utf-8",
    )
    with FakeOpenAI(reply=quote_first_source) as fake:
        result = run_cli(["ask", "--jsonl", str(lines)], indexed_settings.data_dir, fake)
        sent = [r.body.decode() for r in fake.received]
    refused, answered = (json.loads(line) for line in result.stdout.splitlines())
    assert result.returncode == 2  # a line got an error
    assert refused["id"] == "phi" and FOUND in refused["error"]
    assert answered["id"] == "clean" and answered["citations"]
    assert len(sent) == 1 and not any(value in sent[0] for value in SECRETS)
