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
import re
from collections.abc import Callable, Iterator

import streamlit as st

from app.config import Settings
from app.errors import PrivacyQAError, UserError
from app.qa import Answer, TextDelta, Turn
from app.ui import guard, phi, resources, signin
from app.ui.cards import answer_text_html, conversation_markdown, render_answer
from app.ui.library import document_page, documents_section
from app.ui.markup import escape_markdown
from app.ui.routine import routine_widgets
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

SHOWN_QUESTION_CHARS = 3000  # longer questions are refused anyway; show only their start
PLACEHOLDER = "Ask about BAAs, retention, zero data retention, GDPR, SOC 2, encryption…"
# The documents the fixed starters were written for; other documents bring their own.
STARTER_DOCUMENTS = {"openai-api-privacy-explained.md", "openai-baa-help-article.md"}
STARTER_LABEL_CHARS = 40
INPUT_KEY = "question"  # the chat box's state
REFILL = "refill"  # a refused question, put back into the chat box on the next run


def _ask(
    settings: Settings,
    session,
    question: str,
    keep: Callable[[dict], None],
    turn: int,
    history: list[Turn],
) -> None:
    """Answer in the page as the text arrives, as the next turn after ``history``; ``keep``
    the reply for the history as soon as it is known, so a question asked meanwhile
    (which stops this run) loses nothing."""

    def problem(message: str, show: Callable[[str], object]) -> None:
        keep({"role": "assistant", "error": message})
        show(message)

    try:
        question = session.validate(question)
    except UserError as exc:
        problem(str(exc), st.warning)
        # The refused text goes back into the box, to be edited rather than typed again.
        st.session_state[REFILL] = question
        st.rerun()
    send = phi.chosen(question)
    if send == "check" and (findings := session.phi_findings(question)):
        phi.hold(settings, question, findings, keep)  # nothing is sent until a choice
        return
    final: list[Answer] = []

    def pieces() -> Iterator[str]:
        for event in session.stream(question, history, send):
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
            final.append(session.ask(question, history, send))
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
        streamed.markdown(answer_text_html(answer, turn), unsafe_allow_html=True)
    searched_note(answer)
    render_answer(settings, answer, turn, show_text=False)
    routine_widgets(answer, turn, fresh=True)


def searched_note(answer: Answer) -> None:
    """ "Searched: ..." when a follow-up was searched as a standalone query."""
    if answer.searched != answer.question:
        st.caption(f"Searched: {escape_markdown(answer.searched)}")


def history_of(messages: list[dict]) -> list[Turn]:
    """The answered turns of the conversation, oldest first: each question with the
    answer that followed it (refused questions and errors left out)."""
    turns = []
    for asked, reply in zip(messages, messages[1:], strict=False):
        if "text" in asked and "answer" in reply:
            turns.append(Turn(asked["text"], reply["answer"].answer))
    return turns


def _new_chat() -> None:
    st.session_state["messages"] = []


def render_message(settings: Settings, message: dict, turn: int) -> None:
    with st.chat_message(message["role"]):
        if "text" in message:
            text = message["text"]
            if len(text) > SHOWN_QUESTION_CHARS:  # a huge paste: show its start only
                text = text[:SHOWN_QUESTION_CHARS] + f" … ({len(message['text'])} characters)"
            st.markdown(escape_markdown(text))
        elif "error" in message:
            st.warning(message["error"])
        elif "phi" in message:
            phi.notice(settings, message, latest=message is st.session_state["messages"][-1])
        else:
            answer = message["answer"]
            if not answer.abstained:
                st.markdown(answer_text_html(answer, turn), unsafe_allow_html=True)
            searched_note(answer)  # under the answer's text, as while it was asked
            render_answer(settings, answer, turn, show_text=False)
            routine_widgets(answer, turn)


def _pick_starter(question: str) -> None:
    st.session_state["pending"] = question


def starter_questions(settings: Settings, status) -> tuple[list[tuple[str, str]], str]:
    """The starter (label, question) buttons and the input's placeholder: the fixed ones
    while only the bundled documents are indexed, else from what is indexed: each
    document's headings that are questions naming something (other documents first, one
    per document in turn), or "What does TITLE say?" for a document without one."""
    changes = status.changes
    indexed = [*changes.unchanged, *changes.updated, *changes.deleted]
    if all(source.rsplit("/", 1)[-1] in STARTER_DOCUMENTS for source in indexed):
        return list(STARTERS), PLACEHOLDER  # known without reading a document
    infos = [i for i in resources.document_infos(settings).values() if i.state != "new"]
    others = [i for i in infos if i.source.rsplit("/", 1)[-1] not in STARTER_DOCUMENTS]
    ordered = others + [i for i in infos if i not in others]
    queues: dict[str, list[str]] = {i.source: [] for i in ordered}
    for source, heading in resources.question_headings(settings, list(queues)):
        if _names_something(heading):
            queues[source].append(heading)
    for info in others:
        if not queues[info.source]:
            queues[info.source].append(f"What does {info.title} say?")
    picked: list[str] = []
    while len(picked) < len(STARTERS) and any(queues.values()):
        for queue in queues.values():  # one per document in turn
            if queue and len(picked) < len(STARTERS):
                picked.append(queue.pop(0))
    titles = ", ".join(_label(i.title) for i in ordered[:2])
    return [(_label(q), q) for q in picked], f"Ask about {titles}…"


def _names_something(question: str) -> bool:
    """Whether a heading makes sense out of its document: it names something (a capital
    or a digit after its first word: "Can I get a BAA for ChatGPT?", not "How do I get
    started?")."""
    words = [w for w in question.split()[1:] if re.split(r"['’]", w)[0] != "I"]
    return any(w[:1].isupper() or any(c.isdigit() for c in w) for w in words)


def _label(question: str) -> str:
    if len(question) <= STARTER_LABEL_CHARS:
        return question
    return question[: STARTER_LABEL_CHARS - 1].rsplit(" ", 1)[0] + "…"


def starters(questions: list[tuple[str, str]]) -> None:
    st.caption("Try one of these:")
    columns = st.columns(3)
    for i, (label, question) in enumerate(questions):
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
    guard.check(settings)  # the request's Host, Streamlit's options, however it was started
    signin.gate(settings)  # until someone signs in (if configured), nothing below is drawn

    if "doc" in st.query_params:  # a document opened from a source card or the list
        document_page(settings, st.query_params)
        return
    status, documents = sidebar(settings)
    asked = _chat(settings, status)
    with documents:  # last: reading the documents delays neither the chat box nor an answer
        documents_section(settings, asking=asked)


def _chat(settings: Settings, status) -> bool:
    """The conversation, the chat box and, for a question, its answer; whether this run
    asked one."""
    st.title("Ask the privacy documents")
    st.caption(
        "Answers quote the indexed documents verbatim; every claim carries a numbered source "
        "you can check below it."
    )
    messages: list[dict] = st.session_state.setdefault("messages", [])
    if messages:
        st.button(
            "New chat",
            key="new-chat",
            on_click=_new_chat,
            help="Start over: the next question is read without the earlier ones.",
        )
    for turn, message in enumerate(messages):
        render_message(settings, message, turn)
    ready = status is not None and status.exists
    questions, placeholder = starter_questions(settings, status) if ready else ([], PLACEHOLDER)
    question = _chat_box(settings, placeholder, ready)
    if not ready:
        st.info(
            f"No index found in {escape_markdown(str(settings.data_dir))}: press **Reindex** "
            "in the sidebar, or run `privacy-qa ingest`."
        )
        return False
    if not messages and question is None:
        starters(questions)
    loading = resources.start_preload(settings)
    if question is None:
        if loading.is_alive():
            # Not waiting here keeps this run short, so a question typed meanwhile gets a
            # run of its own at once and is shown while the model finishes loading.
            st.caption("Loading the embedding model…")
        else:
            _open(settings)  # from the cache; shows why the index cannot be used, if so
        export(settings, messages)
        return False
    history = history_of(messages)
    user_message = {"role": "user", "text": question}
    messages.append(user_message)
    render_message(settings, user_message, len(messages) - 1)
    with st.chat_message("assistant"):
        session = _open(settings, messages.append)
        if session is not None:
            keep = signin.audited(settings, messages.append)  # the audit log, if on
            _ask(settings, session, question, keep, len(messages), history)
    export(settings, messages)
    return True


def _chat_box(settings: Settings, placeholder: str, ready: bool) -> str | None:
    """The chat box; the question it or a starter button gave on this run, if any."""
    if REFILL in st.session_state:
        st.session_state[INPUT_KEY] = st.session_state.pop(REFILL)
    # Drawn before the model is loaded (Streamlit pins it to the bottom of the page): a
    # visitor can type while it loads. It takes no more than the question limit.
    typed = st.chat_input(
        placeholder, key=INPUT_KEY, disabled=not ready, max_chars=settings.max_question_chars
    )
    if typed is not None and not typed.strip():
        typed = None  # only spaces: nothing to ask, nothing added to the conversation
    return typed if typed is not None else st.session_state.pop("pending", None)


def export(settings: Settings, messages: list[dict]) -> None:
    """The conversation as a Markdown file with its sources, to download."""
    if not any("answer" in m for m in messages):
        return
    st.download_button(
        "Export the conversation (Markdown)",
        data=conversation_markdown(settings, messages),
        file_name="privacy-qa-conversation.md",
        mime="text/markdown",
        key="export",
        on_click="ignore",
    )


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
