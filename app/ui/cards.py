"""An answer as the chat page draws it: its text with ``[n]`` links to the source cards,
one card per cited passage (every quote of it highlighted), a plain-text copy, and the
opt-in feedback form. Also the conversation as Markdown, for its download.

Drawing only; what a card says about a document (publisher, date, a PDF's page) comes
from the facade through :mod:`app.ui.resources`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

import streamlit as st

from app import qa
from app.config import Settings
from app.errors import UserError
from app.qa import Answer, Citation, Passage
from app.ui import resources
from app.ui.markup import (
    Heading,
    answer_html,
    clean_text,
    escape_markdown,
    marked_html,
    source_header_html,
)

CONTEXT_CHARS = 280  # surrounding passage text shown on each side of the quotes in a card
CLOSEST_SOURCES = 3  # "you may want to read" offers after an abstained answer


@dataclass
class Card:
    """One cited passage: the citations that quote it, in answer order."""

    citations: list[Citation] = field(default_factory=list)

    @property
    def first(self) -> Citation:
        return self.citations[0]

    @property
    def markers(self) -> list[int]:
        return [c.n for c in self.citations]

    @property
    def quotes(self) -> list[str]:
        return [c.quote for c in self.citations]


def cards(citations: list[Citation]) -> list[Card]:
    """The citations grouped by the passage they quote (same document, same chunk)."""
    grouped: dict[tuple[str, str], Card] = {}
    for citation in citations:
        key = (citation.source, citation.chunk_text or f"{citation.start_line}")
        grouped.setdefault(key, Card()).citations.append(citation)
    return list(grouped.values())


# ---------------------------------------------------------------- where a source is


def location(settings: Settings, source: str, line: int) -> str:
    """``source:line``, or for a PDF ``source, page P, line L`` (the line on that page)."""
    if not source.lower().endswith(".pdf"):
        return f"{source}:{line}"
    document = resources.document_text(settings, source)
    return qa.place(document, line).describe(source) if document else f"{source}:{line}"


def viewer_link(source: str, line: int | None = None, end: int | None = None) -> str:
    """The page's own view of a corpus file (opened in a new tab), at the cited lines."""
    params = {"doc": source}
    if line is not None:
        params["line"] = str(line)
        params["end"] = str(end if end is not None else line)
    return "?" + urlencode(params)


def heading(settings: Settings, place: Citation | Passage, quote: str = "") -> Heading:
    info = resources.document_infos(settings).get(place.source)
    end = place.start_line + quote.count("\n")
    return Heading(
        title=place.title,
        section=place.section,
        location=location(settings, place.source, place.start_line),
        url=place.url,
        viewer=viewer_link(place.source, place.start_line, end),
        publisher=info.publisher if info else "",
        date=info.date if info else "",
        internal=place.internal,
    )


# ---------------------------------------------------------------- drawing


def render_card(settings: Settings, card: Card, turn: int | None) -> None:
    first = card.first
    with st.container(border=True):
        header = source_header_html(card.markers, heading(settings, first, first.quote), turn)
        st.markdown(header, unsafe_allow_html=True)
        st.markdown(
            marked_html(first.chunk_text, card.quotes, CONTEXT_CHARS), unsafe_allow_html=True
        )
        with st.expander("Whole passage"):
            st.markdown(marked_html(first.chunk_text, card.quotes), unsafe_allow_html=True)


def render_passage(settings: Settings, passage: Passage) -> None:
    with st.container(border=True):
        st.markdown(source_header_html([], heading(settings, passage)), unsafe_allow_html=True)
        with st.expander("Read the passage"):
            st.markdown(marked_html(passage.text), unsafe_allow_html=True)


def render_provenance(answer: Answer) -> None:
    """What the reader should know besides the text: the answerer's notices (a fallback to
    quotes, sentences its citation check flagged), where the question went, tokens, cost."""
    for notice in answer.notices:
        st.warning(escape_markdown(notice))
    facts = []
    if answer.endpoints:
        facts.append("Sent to " + "; ".join(escape_markdown(e) for e in answer.endpoints))
    usage = answer.usage or {}
    if usage.get("total_tokens") is not None:
        tokens = f"{escape_markdown(str(usage.get('model', '')))} {usage['total_tokens']} tokens"
        if usage.get("cost_usd") is not None:
            tokens += " " + escape_markdown(f"(≈ ${usage['cost_usd']:.4f})")
        facts.append(tokens)
    if facts:
        st.caption(" · ".join(facts))


def answer_text_html(answer: Answer, turn: int) -> str:
    return answer_html(answer.answer, turn, {c.n for c in answer.citations})


def render_answer(settings: Settings, answer: Answer, turn: int, show_text: bool = True) -> None:
    if answer.abstained:
        st.warning(f"**No answer.** {escape_markdown(answer.answer)}")
        render_provenance(answer)
        passages = answer.closest_passages(CLOSEST_SOURCES)
        if passages:
            st.markdown("**You may want to read:**")
            for passage in passages:
                render_passage(settings, passage)
    else:
        if show_text:
            st.markdown(answer_text_html(answer, turn), unsafe_allow_html=True)
        render_provenance(answer)
        if answer.citations:  # a routine's "resolved" turn quotes nothing
            st.markdown("**Sources**")
        for card in cards(answer.citations):
            render_card(settings, card, turn)
    with st.expander("Copy as text"):
        st.code(plain_text(settings, answer), language=None, wrap_lines=True)
    feedback_form(settings, answer, turn)


# ---------------------------------------------------------------- plain text, Markdown


def sources_text(settings: Settings, answer: Answer) -> list[str]:
    lines = []
    for card in cards(answer.citations):
        first = card.first
        info = resources.document_infos(settings).get(first.source)
        byline = ", ".join(x for x in ((info.publisher, info.date) if info else ()) if x)
        head = "".join(f"[{n}]" for n in card.markers) + f" {first.title}"
        lines.append(head + (f" ({byline})" if byline else ""))
        lines.append(f"    {first.section}")
        place = location(settings, first.source, first.start_line)
        lines.append(f"    {place}" + (f"  {first.url}" if first.url else ""))
        lines += [f'    "{qa.quoted(clean_text(c.quote))}"' for c in card.citations]
    return lines


def plain_text(settings: Settings, answer: Answer) -> str:
    """The answer as plain text (what "Copy as text" holds): the query searched when it
    was rewritten, its sources, and a support routine's end."""
    lines = [f"No answer. {answer.answer}" if answer.abstained else clean_text(answer.answer)]
    if answer.searched != answer.question:
        lines += ["", f"Searched: {answer.searched}"]
    if answer.citations and not answer.abstained:
        lines += ["", "Sources:", *sources_text(settings, answer)]
    if answer.resolved:
        lines += ["", "[resolved]"]
    return "\n".join(lines)


def conversation_markdown(settings: Settings, messages: list[dict]) -> str:
    """The conversation as a Markdown document, each answer with its sources."""
    out = [f"# privacy-qa conversation ({datetime.now():%Y-%m-%d %H:%M})", ""]
    for message in messages:
        if "text" in message:
            out += ["## Question", "", message["text"], ""]
        elif "error" in message:
            out += [f"_{message['error']}_", ""]
        else:
            answer = message["answer"]
            out += [
                "### Answer",
                "",
                plain_text(settings, answer).replace("\nSources:", "\n**Sources**"),
                "",
            ]
    return "\n".join(out)


# ---------------------------------------------------------------- feedback


def feedback_form(settings: Settings, answer: Answer, turn: int) -> None:
    """Thumbs up/down and an optional comment, stored only when the user sends them."""
    sent = f"feedback-sent-{turn}"
    if st.session_state.get(sent):
        st.caption("Thanks: your feedback was saved on this machine.")
        return
    rating = st.feedback("thumbs", key=f"feedback-{turn}")
    if rating is None:
        return
    comment = st.text_area("Comment (optional)", key=f"feedback-comment-{turn}", max_chars=2000)
    keep = st.checkbox(
        "Include my question (it may hold personal or health information)",
        key=f"feedback-question-{turn}",
    )
    if st.button("Send feedback", key=f"feedback-send-{turn}"):
        try:
            qa.record_feedback(
                settings, answer, "up" if rating == 1 else "down", comment, keep_question=keep
            )
        except (OSError, UserError) as exc:
            st.error(f"The feedback could not be saved: {escape_markdown(str(exc))}")
            return
        st.session_state[sent] = True
        st.caption("Thanks: your feedback was saved on this machine.")
