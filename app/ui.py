"""The chat page (Streamlit): ask, watch the answer arrive, check every cited source.

Start it with ``privacy-qa ui`` (or ``streamlit run app/ui.py``). Thin: the facade ``app.qa``
answers and reports on and updates the index; this module only draws.

Privacy: the chat history lives in the browser session's memory; no question or answer
is written to disk or to the logs. Document text is always rendered as text: it is
HTML-escaped (or markdown-escaped) before it reaches the page, so markup or script in a
corpus file shows up as characters and never runs.
"""

from __future__ import annotations

import html
import logging
import re
import threading
from collections.abc import Callable, Iterator
from urllib.parse import urlparse

import streamlit as st

from app.config import Settings, load_settings
from app.corpus import chunk_body
from app.errors import PrivacyQAError, UserError
from app.qa import Answer, Citation, TextDelta
from app.retrieval import Hit

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


# ---------------------------------------------------------------- rendering text safely

# CommonMark lets any ASCII punctuation be backslash-escaped; escaping all of it leaves no
# markdown, HTML, link, image, LaTeX ($) or Streamlit directive (:color[...]) syntax intact.
_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")


def escape_markdown(text: str) -> str:
    """``text`` as markdown that renders exactly as these characters, nothing more."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _html_text(text: str) -> str:
    # Line breaks become <br> so the result stays one line: markdown treats a line that
    # starts with <div> as an HTML block that ends at the first blank line, and nothing in
    # it is parsed as markdown.
    return html.escape(text).replace("\r", "").replace("\n", "<br>")


def safe_url(url: str | None) -> str | None:
    """The url if it is a plain http(s) link; ``None`` for javascript:, data: and the like."""
    if not url:
        return None
    parsed = urlparse(url.strip())
    if parsed.scheme.lower() in ("http", "https") and parsed.netloc:
        return url.strip()
    return None


def highlighted_html(text: str, quote: str, context: int | None = None) -> str:
    """``text`` as escaped HTML with ``quote`` wrapped in <mark>.

    With ``context``, only that many characters either side of the quote are kept. A quote
    that is not found in the text (it always is for the extractive answerer) leaves the
    text unmarked.
    """
    start = text.find(quote) if quote else -1
    if start < 0:
        shown = text if context is None else text[: 2 * context]
        cut = "…" if len(shown) < len(text) else ""
        return f'<div class="pqa-chunk">{_html_text(shown)}{cut}</div>'
    before, after = text[:start], text[start + len(quote) :]
    lead = tail = ""
    if context is not None:
        if len(before) > context:
            before, lead = before[-context:], "…"
        if len(after) > context:
            after, tail = after[:context], "…"
    return (
        f'<div class="pqa-chunk">{lead}{_html_text(before)}'
        f"<mark>{_html_text(quote)}</mark>{_html_text(after)}{tail}</div>"
    )


def source_header_html(
    n: int | None, title: str, section: str, source: str, line: int, url: str | None
) -> str:
    """Title, section path, file:line and a link to the original, all escaped."""
    marker = f"[{n}] " if n is not None else ""
    link = safe_url(url)
    link_html = (
        f' · <a href="{html.escape(link, quote=True)}" target="_blank" '
        f'rel="noopener noreferrer">original ↗</a>'
        if link
        else ""
    )
    # The section path repeats the title first; show only the part under it.
    parts = section.split(" > ")
    path = " › ".join(parts[1:] if len(parts) > 1 and parts[0] == title else parts)
    return (
        f'<div class="pqa-source"><strong>{html.escape(marker + title)}</strong><br>'
        f"<small>{html.escape(path)}</small><br>"
        f"<small><code>{html.escape(source)}:{line}</code>{link_html}</small></div>"
    )


# ---------------------------------------------------------------- cached resources


def _settings_key(settings: Settings) -> str:
    return settings.cache_key()  # holds no secret: a set API key shows as "**********"


def _embeddings_key(settings: Settings) -> str:
    return f"{settings.embeddings}|{settings.openai_base_url}"


@st.cache_resource(show_spinner=False)
def _embedding_backend(key: str, _settings: Settings):
    from app import qa

    # The local model runs in a child process, which starts loading it at once: on the
    # other core, while this process imports Chroma and opens the index (app/model_process.py).
    backend = qa.embedding_backend(_settings, separate_process=True)
    backend.start_loading()
    return backend


def embedding_backend(settings: Settings):
    """One embedding backend per process and model, shared by every session and Reindex."""
    return _embedding_backend(_embeddings_key(settings), settings)


@st.cache_resource(show_spinner=False)
def _loaded_model(key: str, _settings: Settings):
    backend = embedding_backend(_settings)
    backend.warm_up()
    return backend


def load_model(settings: Settings):
    """The backend with its model loaded: once per process, never per question."""
    return _loaded_model(_embeddings_key(settings), settings)


@st.cache_resource(show_spinner=False)
def _qa(key: str, _settings: Settings):
    from app.qa import open_qa

    return open_qa(_settings, embedding_backend(_settings))


def open_qa(settings: Settings):
    """The QA facade for these settings. Opening the index needs the model object but not
    its weights, so it can run while the model loads. A failure (no index yet) is not
    cached: the next run tries again."""
    return _qa(_settings_key(settings), settings)


# ---------------------------------------------------------------- the index (sidebar)


def run_ingest(settings: Settings, on_progress):
    """The same incremental ingest as ``privacy-qa ingest``, sharing the loaded model."""
    from app import qa

    return qa.ingest(settings, embedding_backend(settings), on_progress=on_progress)


def _render_status(settings: Settings):
    """Draw the index status; return it (``None`` if it cannot be read)."""
    from app import qa

    try:
        status = qa.index_status(settings)
    except UserError as exc:
        st.warning(str(exc))
        return None
    if status.interrupted:
        st.warning("An ingest was interrupted: press **Reindex** to finish it.")
    if not status.exists:
        st.info("No index yet: press **Reindex** to build it from the corpus dir.")
        return status
    st.markdown(f"**{status.documents}** documents · **{status.chunks}** chunks")
    store = (
        f"embedded, in <code>{html.escape(str(settings.store_dir))}</code>"
        if status.store == "embedded"
        else f"the Chroma server at <code>{html.escape(status.store)}</code>"
    )
    # HTML like the source cards (escaped the same way): drawn on the first run, it makes
    # the browser fetch its HTML renderer and code font then, while the model loads,
    # instead of when the first answer arrives (docs/benchmarks.md).
    st.markdown(
        f'<small class="pqa-status">Embedding model: <code>{html.escape(status.embeddings)}'
        f"</code><br>Vector store: {store}<br>"
        f"Indexed: {html.escape(status.indexed_at or 'unknown')}</small>",
        unsafe_allow_html=True,
    )
    changes = status.changes
    if changes.changed:
        lines = [
            f"- {label}: " + ", ".join(escape_markdown(name) for name in names)
            for label, names in (
                ("added", changes.added),
                ("updated", changes.updated),
                ("deleted", changes.deleted),
            )
            if names
        ]
        st.warning("Files changed since then (press **Reindex**):\n" + "\n".join(lines))
    else:
        st.caption("Up to date with the corpus dir.")
    return status


def _reindex(settings: Settings) -> None:
    with st.status("Reindexing…", expanded=True) as box:
        bar = st.progress(0.0, text="Reading the corpus dir…")

        def on_progress(done: int, total: int) -> None:
            bar.progress(min(done / max(total, 1), 1.0), text=f"Embedding chunks: {done}/{total}")

        try:
            report = run_ingest(settings, on_progress)
        except UserError as exc:
            box.update(label="Reindex failed", state="error")
            st.error(str(exc))
            return
        bar.progress(1.0, text=f"{report.documents} documents, {report.chunks} chunks")
        result = _report_line(report)
        st.session_state["last_reindex"] = result
        for name in ("added", "updated", "deleted"):
            for source in getattr(report.changes, name):
                st.markdown(f"{name}: {escape_markdown(source)}")
        for skipped in report.skipped:
            st.warning(
                f"Skipped {escape_markdown(skipped['source'])}: "
                f"{escape_markdown(skipped['reason'])}"
            )
        box.update(label=result, state="complete", expanded=False)


def _report_line(report) -> str:
    """What a reindex did, in documents (the numbers a person recognises)."""
    if report.rebuilt:
        head = f"Rebuilt the index ({report.rebuild_reason})"
    elif report.added or report.updated or report.deleted or report.recovered:
        head = "Reindexed"
    else:
        head = "Nothing changed"
    return (
        f"{head} in {report.seconds:.1f} s: {report.added} added, {report.updated} updated, "
        f"{report.deleted} deleted, {report.unchanged} unchanged"
    )


def sidebar(settings: Settings):
    """Index status, Reindex and where data goes; returns the index status."""
    with st.sidebar:
        st.header("Index")
        status_box = st.container()
        if st.button("Reindex", help="Bring the index up to date with the corpus dir."):
            _reindex(settings)
        elif "last_reindex" in st.session_state:
            st.caption(f"Last reindex: {st.session_state['last_reindex']}")
        with status_box:  # drawn after a reindex, so it shows the new state
            status = _render_status(settings)
        st.header("Where your data goes")
        flows = settings.data_flow()
        if flows == ["local only"]:
            st.success(
                "**Local only.** Questions, documents and answers stay on this machine; "
                "questions and answers are not written to disk or logs."
            )
        else:
            st.warning(
                "Text leaves this machine:\n"
                + "\n".join(f"- {escape_markdown(flow)}" for flow in flows)
            )
        st.caption("The chat history lives only in this browser tab's session.")
    return status


# ---------------------------------------------------------------- answers and sources


def render_citation(citation: Citation) -> None:
    with st.container(border=True):
        st.markdown(
            source_header_html(
                citation.n,
                citation.title,
                citation.section,
                citation.source,
                citation.start_line,
                citation.url,
            ),
            unsafe_allow_html=True,
        )
        st.markdown(
            highlighted_html(citation.chunk_text, citation.quote, CONTEXT_CHARS),
            unsafe_allow_html=True,
        )
        with st.expander("Whole chunk"):
            st.markdown(
                highlighted_html(citation.chunk_text, citation.quote), unsafe_allow_html=True
            )


def closest_hits(hits: list[Hit], limit: int = CLOSEST_SOURCES) -> list[Hit]:
    """The best hits, one per section, for "you may want to read"."""
    seen, out = set(), []
    for hit in sorted(hits, key=lambda h: -h.score):
        key = (hit.chunk.metadata.get("source"), hit.chunk.metadata.get("section"))
        if key not in seen:
            seen.add(key)
            out.append(hit)
        if len(out) >= limit:
            break
    return out


def render_hit(hit: Hit) -> None:
    meta = hit.chunk.metadata
    with st.container(border=True):
        st.markdown(
            source_header_html(
                None,
                meta.get("title", ""),
                meta.get("section", ""),
                meta.get("source", ""),
                meta.get("start_line", 1),
                meta.get("url"),
            ),
            unsafe_allow_html=True,
        )
        with st.expander("Read the passage"):
            st.markdown(highlighted_html(chunk_body(hit.chunk), ""), unsafe_allow_html=True)


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
        hits = closest_hits(answer.hits)
        if hits:
            st.markdown("**You may want to read:**")
            for hit in hits:
                render_hit(hit)
        return
    if show_text:
        st.markdown(escape_markdown(answer.answer))
    render_provenance(answer)
    st.markdown("**Sources**")
    for citation in answer.citations:
        render_citation(citation)


def _ask(qa, question: str, keep: Callable[[dict], None]) -> None:
    """Answer in the page as the text arrives; ``keep`` the reply for the history as soon
    as it is known, so a question asked meanwhile (which stops this run) loses nothing."""

    def problem(message: str, show: Callable[[str], object]) -> None:
        keep({"role": "assistant", "error": message})
        show(message)

    try:
        question = qa.validate(question)
    except UserError as exc:
        problem(str(exc), st.warning)
        return
    final: list[Answer] = []

    def pieces() -> Iterator[str]:
        for event in qa.stream(question):
            if isinstance(event, TextDelta):
                yield escape_markdown(event.text)
            else:
                final.append(event)

    streamed = st.empty()
    try:
        if qa.streams:
            with streamed.container():
                st.write_stream(pieces())
        else:
            # All the text comes at once: nothing to stream. (st.write_stream would also
            # import pandas and pyarrow on its first call, to check its argument is no
            # dataframe: 0.2-0.3 s before the first answer appears; docs/benchmarks.md.)
            final.append(qa.ask(question))
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


def load(settings: Settings):
    """The QA facade with its model loaded, from the cache or loaded now.

    The model starts loading first (in its own process), the index opens meanwhile, then
    this waits for the model. :func:`preload` runs this in the background; a page run that
    calls it meanwhile waits for the same cached results and never imports the same
    packages at the same time.
    """
    embedding_backend(settings)
    qa = open_qa(settings)
    load_model(settings)
    return qa


def main() -> None:
    st.set_page_config(page_title=TITLE, page_icon=":lock:", layout="centered")
    try:
        settings = load_settings()
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
    loading = start_preload(settings)
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
        qa = _open(settings, messages.append)
        if qa is not None:
            _ask(qa, question, messages.append)


def _open(settings: Settings, keep: Callable[[dict], None] | None = None):
    """The loaded QA, or ``None`` after saying (and keeping, for the history) why not."""
    # A still line, not st.spinner: the spinner's animation keeps the browser drawing while
    # the model loads, and on a small machine that CPU is taken from the model's load
    # (docs/benchmarks.md). Streamlit's own "Running" mark still shows the page is busy.
    note = st.empty()
    note.caption("Loading the embedding model and the index…")
    try:
        return load(settings)
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


def preload(settings: Settings) -> None:
    """Load the model, then open the index if there is one, into the page's cache."""
    try:
        load(settings)
    except PrivacyQAError as exc:  # no index yet, say: the page explains it to the visitor
        log.info("preload: %s", exc)


_preloads: dict[str, threading.Thread] = {}
_preloads_lock = threading.Lock()


def start_preload(settings: Settings) -> threading.Thread:
    """Start :func:`preload` in a background thread, once per process and settings.

    ``privacy-qa ui`` calls this while the server starts, the page on its first run. A
    page that needs the model meanwhile waits for this load instead of starting another.
    """
    # Chroma (in the loading thread) and Streamlit (in the server's) both import numpy, and
    # numpy's import can fail half-way when two threads run it at once: import it here,
    # before the loading thread exists.
    import numpy  # noqa: F401

    key = _settings_key(settings)
    with _preloads_lock:
        thread = _preloads.get(key)
        if thread is None:
            thread = threading.Thread(
                target=preload, args=(settings,), name="privacy-qa-preload", daemon=True
            )
            _preloads[key] = thread
            thread.start()
    return thread


if __name__ == "__main__":
    # Streamlit executes this file afresh, as __main__, on every rerun. The page itself runs
    # from the module app.ui, imported once per process, so its cached model and index are
    # the ones preload() fills.
    from app import ui

    ui.main()
