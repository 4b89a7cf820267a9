"""Sign-in on the chat page (app/ui/signin.py), run by Streamlit's AppTest against a real
index: before sign-in only the form is drawn; a wrong password is refused; the right one
shows the chat; only maintainers get Reindex, upload and delete; the audit log records
who did what and never the question. The same end to end in a real browser is in
tests/test_ui_signin_browser.py."""

from __future__ import annotations

import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from app import auth
from app.config import Settings

from .conftest import ROOT

pytestmark = pytest.mark.slow  # the chat, once signed in, loads the real model

PASSWORD = "correct horse battery"
DOCUMENT = "corpus/openai-baa-help-article.md"


@pytest.fixture
def team(tmp_path, indexed_settings, monkeypatch):
    """The indexed corpus, a users file with alice and admin (the maintainer), the audit
    log on; returns a function starting a page (optionally at a URL's query)."""
    users = tmp_path / "users.txt"
    settings = Settings(users_file=users)
    auth.add_user(settings, "alice", PASSWORD)
    auth.add_user(settings, "admin", PASSWORD + "!")
    audit = tmp_path / "audit.jsonl"
    for name, value in {
        "DATA_DIR": indexed_settings.data_dir,
        "CORPUS_DIR": indexed_settings.corpus_dir,
        "USERS_FILE": users,
        "MAINTAINERS": "admin",
        "AUDIT_LOG": audit,
    }.items():
        monkeypatch.setenv(f"PRIVACY_QA_{name}", str(value))

    def start(**query: str) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app" / "ui" / "page.py"), default_timeout=300)
        at.query_params.update(query)
        at.run()
        assert not at.exception, at.exception
        return at

    start.audit, start.users = audit, users
    return start


def everything_drawn(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("markdown", "caption", "title", "info", "warning", "error")
        for e in getattr(at, kind)
    ]
    parts += [e.value for e in at.sidebar.markdown] + [b.label for b in at.button]
    return "\n".join(str(p) for p in parts)


def sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="sign-in-name").input(name)
    at.text_input(key="sign-in-password").input(password)
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert not at.exception, at.exception
    return at


def test_before_sign_in_only_the_form_is_drawn(team):
    for query in ({}, {"doc": DOCUMENT, "line": "3"}):
        at = team(**query)
        assert [t.value for t in at.title] == ["Sign in to privacy-qa"]
        assert [t.label for t in at.text_input] == ["Name", "Password"]
        assert len(at.chat_input) == 0 and len(at.sidebar.children) == 0
        drawn = everything_drawn(at)
        assert "Business Associate" not in drawn and "Reindex" not in drawn
        assert {b.label for b in at.button} == {"Sign in"}


def test_a_wrong_password_is_refused_and_the_right_one_shows_the_chat(team):
    at = sign_in(team(), "alice", "wrong password!")
    assert [e.value for e in at.error] == ["Wrong name or password."]
    assert len(at.chat_input) == 0
    at = sign_in(team(), "mallory", PASSWORD)  # an unknown name gets the same answer
    assert [e.value for e in at.error] == ["Wrong name or password."]

    at = sign_in(at, "alice", PASSWORD)
    assert len(at.chat_input) == 1 and not at.error
    assert "sign-in-password" not in at.session_state  # the password is not kept
    assert any("Signed in as **alice**" in c.value for c in at.sidebar.caption)
    at.chat_input[0].set_value("How long does OpenAI retain API data?").run()
    assert not at.exception, at.exception
    assert "30 days" in everything_drawn(at)
    # alice is no maintainer: no Reindex, no upload, no Delete.
    for _ in range(120):  # the documents list follows once the model has loaded
        at.run()
        if any("Business Associate" in m.value for m in at.sidebar.markdown):
            break
        time.sleep(0.5)
    labels = {b.label for b in at.sidebar.button}
    assert "Reindex" not in labels and "Delete" not in labels, labels
    assert len(at.get("file_uploader")) == 0

    entries = [json.loads(line) for line in team.audit.read_text().splitlines()]
    assert [(e["user"], e["action"]) for e in entries] == [
        (None, "sign-in-refused"),
        (None, "sign-in-refused"),
        ("alice", "sign-in"),
        ("alice", "answer"),
    ]
    assert entries[0]["detail"] == {"name": "alice"}
    assert entries[1]["detail"] == {"name": "(unknown)"}
    answer = entries[3]
    assert answer["refused"] is False and answer["endpoints"] == [] and answer["question"] is None
    assert answer["documents"] and all(
        p["source"] in answer["documents"] for p in answer["passages"]
    )
    assert "retain" not in team.audit.read_text()


def test_a_maintainer_gets_reindex_upload_and_delete(team):
    at = sign_in(team(), "admin", PASSWORD + "!")
    assert len(at.chat_input) == 1
    for _ in range(120):  # the documents list follows once the model has loaded
        at.run()
        labels = [b.label for b in at.sidebar.button]
        if "Delete" in labels:
            break
        time.sleep(0.5)
    assert "Reindex" in labels and labels.count("Delete") == 2, labels
    assert len(at.get("file_uploader")) == 1
    next(b for b in at.button if b.label == "Reindex").click().run()
    assert not at.exception, at.exception
    entries = [json.loads(line) for line in team.audit.read_text().splitlines()]
    assert [(e["user"], e["action"]) for e in entries][-1] == ("admin", "reindex")


def test_signing_out_forgets_the_session(team):
    at = sign_in(team(), "alice", PASSWORD)
    next(b for b in at.button if b.label == "Sign out").click().run()
    assert [t.value for t in at.title] == ["Sign in to privacy-qa"]
    assert len(at.chat_input) == 0


def test_the_page_says_when_the_audit_log_keeps_questions(team, monkeypatch):
    monkeypatch.setenv("PRIVACY_QA_AUDIT_QUESTIONS", "on")
    at = sign_in(team(), "alice", PASSWORD)
    assert any("includes the text of your questions" in i.value for i in at.info)
    at.chat_input[0].set_value("How long does OpenAI retain API data?").run()
    entries = [json.loads(line) for line in team.audit.read_text().splitlines()]
    assert entries[-1]["question"] == "How long does OpenAI retain API data?"


def test_removing_a_user_or_a_new_password_ends_an_open_session(team, monkeypatch):
    users = Settings(users_file=team.users)
    at = sign_in(team(), "alice", PASSWORD)
    assert len(at.chat_input) == 1
    auth.add_user(users, "alice", "a new password")
    at.run()
    assert [t.value for t in at.title] == ["Sign in to privacy-qa"]
    at = sign_in(at, "alice", "a new password")
    assert len(at.chat_input) == 1
    auth.remove_user(users, "alice")
    at.run()
    assert len(at.chat_input) == 0 and "Business Associate" not in everything_drawn(at)


def test_five_wrong_passwords_make_a_name_wait_known_or_not(team):
    auth.add_user(Settings(users_file=team.users), "carol", PASSWORD)
    at = team()
    for name in ("carol", "nobody-at-all"):  # the same answers: no name is given away
        for _ in range(5):
            sign_in(at, name, "wrong password!")
            assert [e.value for e in at.error] == ["Wrong name or password."]
        sign_in(at, name, PASSWORD)  # even the right one waits now
        assert "Too many wrong passwords for this name" in at.error[0].value
        assert len(at.chat_input) == 0
