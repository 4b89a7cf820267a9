"""The chat page (Streamlit): ask, watch the answer arrive, check every cited source.

Start it with ``privacy-qa ui`` (or ``streamlit run app/ui/page.py``). Drawing only: the
QA session of the facade ``app.qa`` answers, :mod:`app.ui.resources` keeps it and the loaded
model, :mod:`app.ui.sidebar` draws the index's status and Reindex, :mod:`app.ui.markup`
escapes what is shown.

Privacy: the chat history lives in the browser session's memory; no question or answer
is written to disk or to the logs. Document text is always rendered as text (escaped by
:mod:`app.ui.markup`), so markup or script in a corpus file shows up as characters and
never runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import streamlit as st

from app.config import Settings
from app.errors import PrivacyQAError, UserError
from app.qa import Answer, Citation, Passage, TextDelta
from app.ui import resources
from app.ui.markup import escape_markdown, highlighted_html, source_header_html
from app.ui.sidebar import sidebar

log = logging.getLogger(__name__)

TITLE = "privacy-qa"

# (button label, question): one per topic the corpus covers, for a first-time visitor.
STARTERS = (
    ("BAA for HIPAA", "How can I get a Business Associate Agreement (BAA) with OpenAI?"),
    ("Data retention", "How long does OpenAI retain API inputs and outputs?"),
    ("ZDR endpoints", "Which API endpoints are eligible for zero data retention?"),
    ("GDPR DPA", "Does OpenAI offer a data processing agreement for GDPR?"),
    ("SOC 2", "Is the OpenAI API SOC 2 compliant?"),
    ("Encryption", "How is data encrypted at rest and in transit?"),
)

CONTEXT_CHARS = 280  # surrounding chunk text shown on each side of a quote in a source card
CLOSEST_SOURCES = 3  # "you may want to read" offers after an abstained answer
SHOWN_QUESTION_CHARS = 3000  # longer questions are refused anyway; show only their start


# ---------------------------------------------------------------- answers and sources


def _header(n: int | None, place: Citation | Passage) -> str:
    """A source card's header: marker, title, section, file:line, link, internal label."""
    return source_header_html(
        n,
        place.title,
        place.section,
        place.source,
        place.start_line,
        place.url,
        internal=place.internal,
    )


def render_citation(citation: Citation) -> None:
    with st.container(border=True):
        st.markdown(_header(citation.n, citation), unsafe_allow_html=True)
        st.markdown(
            highlighted_html(citation.chunk_text, citation.quote, CONTEXT_CHARS),
            unsafe_allow_html=True,
        )
        with st.expander("Whole chunk"):
            st.markdown(
                highlighted_html(citation.chunk_text, citation.quote), unsafe_allow_html=True
            )


def render_passage(passage: Passage) -> None:
    with st.container(border=True):
        st.markdown(_header(None, passage), unsafe_allow_html=True)
        with st.expander("Read the passage"):
            st.markdown(highlighted_html(passage.text, ""), unsafe_allow_html=True)


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


def render_answer(answer: Answer, show_text: bool = True) -> None:
    if answer.abstained:
        st.warning(f"**No answer.** {escape_markdown(answer.answer)}")
        render_provenance(answer)
        passages = answer.closest_passages(CLOSEST_SOURCES)
        if passages:
            st.markdown("**You may want to read:**")
            for passage in passages:
                render_passage(passage)
        return
    if show_text:
        st.markdown(escape_markdown(answer.answer))
    render_provenance(answer)
    st.markdown("**Sources**")
    for citation in answer.citations:
        render_citation(citation)


def _ask(session, question: str, keep: Callable[[dict], None]) -> None:
    """Answer in the page as the text arrives; ``keep`` the reply for the history as soon
    as it is known, so a question asked meanwhile (which stops this run) loses nothing."""

    def problem(message: str, show: Callable[[str], object]) -> None:
        keep({"role": "assistant", "error": message})
        show(message)

    try:
        question = session.validate(question)
    except UserError as exc:
        problem(str(exc), st.warning)
        return
    final: list[Answer] = []

    def pieces() -> Iterator[str]:
        for event in session.stream(question):
            if isinstance(event, TextDelta):
                yield escape_markdown(event.text)
            else:
                final.append(event)

    streamed = st.empty()
    try:
        if session.streams:
            with streamed.container():
                st.write_stream(pieces())
        else:
            # All the text comes at once: nothing to stream. (st.write_stream would also
            # import pandas and pyarrow on its first call, to check its argument is no
            # dataframe: 0.2-0.3 s before the first answer appears; docs/benchmarks.md.)
            final.append(session.ask(question))
    except PrivacyQAError as exc:
        streamed.empty()
        problem(str(exc), st.error)
        return
    except Exception:
        # A bug. The traceback goes to the server's log; it holds no question text.
        log.exception("internal error while answering")
        streamed.empty()
        problem("Something went wrong while answering (an internal error; see the log).", st.error)
        return
    answer = final[0]
    keep({"role": "assistant", "answer": answer})
    if answer.abstained:
        streamed.empty()
    else:
        # The final text is authoritative; it may differ from what was streamed.
        streamed.markdown(escape_markdown(answer.answer))
    render_answer(answer, show_text=False)


def render_message(message: dict) -> None:
    with st.chat_message(message["role"]):
        if "text" in message:
            text = message["text"]
            if len(text) > SHOWN_QUESTION_CHARS:  # a huge paste: show its start only
                text = text[:SHOWN_QUESTION_CHARS] + f" … ({len(message['text'])} characters)"
            st.markdown(escape_markdown(text))
        elif "error" in message:
            st.warning(message["error"])
        else:
            render_answer(message["answer"])


def _pick_starter(question: str) -> None:
    st.session_state["pending"] = question


def starters() -> None:
    st.caption("Try one of these:")
    columns = st.columns(3)
    for i, (label, question) in enumerate(STARTERS):
        columns[i % 3].button(
            label,
            key=f"starter-{i}",
            help=question,
            on_click=_pick_starter,
            args=(question,),
            width="stretch",
        )


def main() -> None:
    st.set_page_config(page_title=TITLE, page_icon=":lock:", layout="centered")
    try:
        settings = resources.page_settings()
    except UserError as exc:
        st.error(str(exc))
        st.stop()
    logging.getLogger("app").setLevel(settings.log_level.upper())

    status = sidebar(settings)
    st.title("Ask the privacy documents")
    st.caption(
        "Answers quote the indexed documents verbatim; every claim carries a numbered source "
        "you can check below it."
    )
    messages: list[dict] = st.session_state.setdefault("messages", [])
    for message in messages:
        render_message(message)
    ready = status is not None and status.exists
    # Drawn before the model is loaded (Streamlit pins it to the bottom of the page): a
    # visitor can type while it loads.
    typed = st.chat_input(
        "Ask about BAAs, retention, zero data retention, GDPR, SOC 2, encryption…",
        disabled=not ready,
    )
    question = typed if typed is not None else st.session_state.pop("pending", None)
    if not ready:
        st.info(
            f"No index found in {escape_markdown(str(settings.data_dir))}: press **Reindex** "
            "in the sidebar, or run `privacy-qa ingest`."
        )
        return
    if not messages and question is None:
        starters()
    loading = resources.start_preload(settings)
    if question is None:
        if loading.is_alive():
            # Not waiting here keeps this run short, so a question typed meanwhile gets a
            # run of its own at once and is shown while the model finishes loading.
            st.caption("Loading the embedding model…")
        else:
            _open(settings)  # from the cache; shows why the index cannot be used, if so
        return
    user_message = {"role": "user", "text": question}
    messages.append(user_message)
    render_message(user_message)
    with st.chat_message("assistant"):
        session = _open(settings, messages.append)
        if session is not None:
            _ask(session, question, messages.append)


def _open(settings: Settings, keep: Callable[[dict], None] | None = None):
    """The loaded QA, or ``None`` after saying (and keeping, for the history) why not."""
    # A still line, not st.spinner: the spinner's animation keeps the browser drawing while
    # the model loads, and on a small machine that CPU is taken from the model's load
    # (docs/benchmarks.md). Streamlit's own "Running" mark still shows the page is busy.
    note = st.empty()
    note.caption("Loading the embedding model and the index…")
    try:
        return resources.load(settings)
    except UserError as exc:
        message = str(exc)
    except Exception:
        log.exception("internal error while opening the index")
        message = "The index could not be opened (an internal error; see the log)."
    finally:
        note.empty()
    st.warning(message)
    if keep is not None:
        keep({"role": "assistant", "error": message})
    return None


if __name__ == "__main__":
    # Streamlit executes this file afresh, as __main__, on every rerun. The page itself runs
    # from the module app.ui.page, imported once per process, so its cached model and index
    # (app.ui.resources) are the ones preload() fills.
    from app.ui import page

    page.main()
