"""Reading a support routine from indexed chunks (no model): the BAA article's, an edited
one, a document without one, malformed ones."""

from __future__ import annotations

from .routine_helpers import BAA, baa_routine, routines_of

TEXT = BAA.read_text(encoding="utf-8")


def test_the_baa_routine_is_read_from_its_chunks():
    routine = baa_routine()
    assert routine.topic == ("BAA", "Business Associate Agreement")
    assert routine.clarify.text.startswith("Thank you for reaching out!")
    assert routine.options == ["API", "ChatGPT Enterprise"]
    assert [b.label for b in routine.branches] == ["API", "ChatGPT Enterprise", "Not approved"]
    api = routine.branches[0]
    said = [item.text for item in api.items if hasattr(item, "text")]
    assert said[0].startswith("To obtain a BAA for our API, please email baa@openai.com")
    assert "The process is usually completed within a few business days." in said
    calls = [item.name for item in api.items if hasattr(item, "purpose")]
    assert calls == ["provide_list_of_zero_retention_endpoints"]
    assert routine.closing.text == "Is there anything else I can assist you with today?"
    assert routine.finish.name == "case_resolution"
    assert "marks it as resolved" in routine.functions["case_resolution"]


def test_every_statement_is_a_literal_quote_at_its_line():
    routine = baa_routine()
    lines = TEXT.splitlines()
    quotes = [routine.clarify, routine.closing] + [
        item for branch in routine.branches for item in branch.items if hasattr(item, "text")
    ]
    for quote in quotes:
        assert quote.text in TEXT
        assert quote.text in lines[quote.start_line - 1], quote.text
        assert "Routine" in quote.section


def test_an_edited_routine_changes_the_flow(tmp_path):
    edited = TEXT.replace("Our team will respond within 1-2 business days.", "We reply in 3 days.")
    edited = edited.replace(
        "4. If the customer is not approved",
        "4. If the customer requires a BAA for Codex, then:\n"
        '   - a. Inform the customer: "Codex BAAs go through your account team."\n\n'
        "5. If the customer is not approved",
    )
    (routine,), problems = routines_of(edited, tmp_path)
    assert not problems
    assert routine.options == ["API", "ChatGPT Enterprise", "Codex"]
    api_said = [item.text for item in routine.branches[0].items if hasattr(item, "text")]
    assert "We reply in 3 days." in api_said
    assert routine.branches[2].items[0].text == "Codex BAAs go through your account team."


def test_a_document_without_a_routine_has_none(tmp_path):
    assert routines_of("# Retention\n\nWe keep logs for 30 days.\n", tmp_path) == ([], [])
    published = TEXT.split("# Support routine")[0]
    assert routines_of(published, tmp_path) == ([], [])


def test_a_malformed_routine_is_named_and_ignored(tmp_path):
    undefined = TEXT.replace("`provide_sales_contact_information` function", "`nope` function")
    routines, problems = routines_of(undefined, tmp_path, "broken.md")
    assert routines == [] and "corpus/broken.md" in problems[0] and "`nope`" in problems[0]
    no_branches = TEXT.replace("If the customer requires a BAA for", "When they want")
    routines, problems = routines_of(no_branches, tmp_path, "broken.md")
    assert routines == [] and "no numbered clarifying question" in problems[0]


def test_an_ingest_check_names_the_malformed_routines_of_changed_documents(tmp_path):
    from app.routine import check_routines

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.md").write_text(TEXT, encoding="utf-8")
    broken = TEXT.replace("`case_resolution` function", "`close_ticket` function")
    (corpus / "broken.md").write_text(broken, encoding="utf-8")
    problems = check_routines(corpus, ["corpus/good.md", "corpus/broken.md"])
    assert len(problems) == 1 and "broken.md" in problems[0] and "`close_ticket`" in problems[0]
    assert check_routines(corpus, []) == []
