"""Sentence splitting and which sentences are worth quoting (app/answering/sentences.py).
No model needed."""

from __future__ import annotations

from app.answering.sentences import (
    Sentence,
    answer_lead,
    enumerates,
    is_internal,
    is_quotable,
    leads_in,
    plain,
    sentences,
    with_list,
)


def test_sentences_are_exact_substrings_with_offsets():
    body = (
        "So what about data storage?\n\n> OpenAI may retain data for up to 30 days. After 30\n"
        "days, data is removed.\n>\n> — [Portal](https://x)\n- a. Inform the customer: "
        '"Our team will respond within 1-2 business days."\nWe use eg. Langchain here.'
    )
    found = sentences(body)
    for sentence in found:
        assert body[sentence.offset : sentence.offset + len(sentence.text)] == sentence.text
    texts = [s.text for s in found]
    assert "After 30\ndays, data is removed." in texts
    assert "We use eg. Langchain here." in texts
    assert any(t.startswith("Inform the customer:") for t in texts)


def test_a_sentence_may_start_with_a_link_but_not_only_be_one():
    assert is_quotable("[This]( https://trust.openai.com/) is your go-to place for privacy.")
    assert not is_quotable("[Enterprise Privacy portal](https://openai.com/enterprise-privacy)")
    assert not is_quotable("— [Enterprise Privacy portal](https://openai.com/enterprise-privacy)")
    assert not is_quotable("[1]: https://example.com/a long reference")
    assert not is_quotable("Who can store the data if it is retained?")
    assert is_quotable("For full list please refer to [OpenAI docs](https://platform.openai.com)")


def test_headings_front_matter_markup_fragments_and_function_lines_are_not_claims():
    body = (
        "Information about HIPAA compliance for healthcare companies\n\n"
        "> Until deleted by customer\n\n"
        "- `provide_sales_contact_information`:\n"
        "  - **Purpose**: Provides the customer with contact information for sales.\n"
        "   - i. Call the `provide_sales_contact_information` function.\n"
        '   - a. "Could you please specify whether you require a BAA?"\n'
    )
    quotable = [s.text for s in sentences(body) if is_quotable(s)]
    # What a function does is a claim once its bold label is cut off; the label never is.
    assert quotable == [
        "Until deleted by customer",
        "Provides the customer with contact information for sales.",
    ]
    assert not is_quotable("title: How can I get a BAA with OpenAI?")
    assert not is_quotable("---")
    assert not is_quotable("# OpenAI API Privacy Policies Explained")
    assert not is_quotable("Purpose**: Provides the customer with a list of endpoints.")


def test_a_lead_in_ends_with_a_colon_or_mid_clause_and_a_claim_without_a_period_does_not():
    assert leads_in("In case of SOC2:")
    assert leads_in("Last but not least, what is also important to mention is that")
    assert not leads_in("Until deleted by customer")
    assert not leads_in("Our API Platform has been audited and certified for SOC 2 compliance")


def test_a_yes_no_lead_in_is_cut_off_as_an_exact_substring():
    body = "Intro.\n\nNo, an enterprise agreement is not required to sign a BAA."
    sentence = sentences(body)[1]
    stripped = answer_lead(sentence)
    assert stripped.text == "an enterprise agreement is not required to sign a BAA."
    assert body[stripped.offset : stripped.offset + len(stripped.text)] == stripped.text
    assert answer_lead(sentences("Nothing is kept after 30 days.")[0]) is None


def test_a_lead_in_comes_with_its_whole_list():
    body = (
        "If the customer requires a BAA, then:\n"
        "   - a. Inform the customer: email baa@openai.com.\n"
        "   - b. Inform the customer: we respond within\n"
        "     1-2 business days.\n"
        "\nAfterwards, close the case."
    )
    listed = with_list(body, sentences(body)[0])
    assert listed.text.startswith("If the customer requires a BAA, then:")
    assert listed.text.endswith("1-2 business days.")
    assert body[listed.offset : listed.offset + len(listed.text)] == listed.text
    assert with_list(body, sentences(body)[-1]) is None


def test_enumerations_internal_sections_and_plain_text():
    assert enumerates("We are eligible for `/v1/chat/completions`, `/v1/embeddings` and `/v1/x`.")
    assert enumerates("OpenAI is CCPA, GDPR, SOC2 and SOC3 compliant.")
    assert not enumerates("You can chat with support to enable ZDR in eligible endpoints.")
    assert is_internal("How can I get a BAA? > Support routine for this article > Routine")
    assert is_internal("Guide > Function definitions")
    assert not is_internal("How can I get a BAA? > How do I get started?")
    assert not is_internal("Internal audit guide > Overview")  # a title does not count
    assert plain("see the [blog post](/blog/llm-application) here") == "see the blog post here"


def test_a_short_sentence_that_only_points_elsewhere_is_not_a_claim():
    assert not is_quotable("You can read more about it in the next paragraphs.")
    assert not is_quotable("See below.")
    assert is_quotable("The endpoints are described below: they retain no data at all.")
    assert is_quotable("Data is encrypted at rest, as described below.")
    # A long sentence that also points elsewhere still says something.
    assert is_quotable(
        "OpenAI retains API inputs and outputs for up to 30 days to identify abuse, as the "
        "following paragraphs explain in detail for each of the endpoints."
    )


def test_a_bold_label_is_not_part_of_the_claim_after_it():
    body = "- `case_resolution`:\n  - **Purpose**: Finalizes the case and marks it as resolved."
    found = sentences(body)
    assert [s.text for s in found] == [
        "`case_resolution`:",
        "Finalizes the case and marks it as resolved.",
    ]
    assert all(body[s.offset : s.offset + len(s.text)] == s.text for s in found)
    assert is_quotable(found[1]) and not is_quotable(found[0])


def test_a_sentence_offering_a_list_it_does_not_link_is_not_quoted():
    assert not is_quotable(Sentence("You can see a list of those endpoints.", 0))
    assert is_quotable(Sentence("You can see a list of those endpoints [here](https://x.y/z).", 0))
    assert is_quotable(Sentence("For full list please refer to [OpenAI docs](https://x.y/z)", 0))
    assert is_quotable(Sentence("You can download or request security papers from OpenAI.", 0))
