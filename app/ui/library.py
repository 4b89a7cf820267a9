"""The documents view of the chat page: every indexed document, adding one (upload),
deleting one (after a confirmation), and reading one as text with its cited lines marked.

Adding and deleting go through the facade (``qa.add_document``, ``qa.delete_document``):
the same incremental ingest as ``privacy-qa ingest``, with its progress and result. A
refused upload says why and changes nothing.
"""

from __future__ import annotations

import streamlit as st

from app import qa
from app.config import Settings
from app.errors import UserError
from app.ui import resources, signin
from app.ui.cards import location, viewer_link
from app.ui.markup import document_entry_html, escape_markdown, lines_html

STATES = {
    "changed": "changed since indexed: press Reindex",
    "new": "not indexed yet: press Reindex",
    "deleted": "deleted from the corpus dir: press Reindex",
}
CONTEXT_LINES = 3  # lines shown before the cited ones when a document opens at a place


def cited_lines(messages: list[dict], source: str) -> set[int]:
    """The lines of ``source`` the answers of this conversation quote."""
    lines: set[int] = set()
    for message in messages:
        answer = message.get("answer")
        for citation in answer.citations if answer is not None else ():
            if citation.source == source:
                end = citation.start_line + citation.quote.count("\n")
                lines.update(range(citation.start_line, end + 1))
    return lines


def _facts(info) -> list[str]:
    chunks = f"{info.chunks} chunks" if info.chunks else ""
    # "2026-12-02T03:50:31+00:00" -> "2026-12-02 03:50 UTC"
    at = (info.indexed_at or "").replace("T", " ")[:16]
    indexed = f"indexed {at} UTC" if at else ""
    return [info.publisher, info.date, chunks, indexed]


def _cited_param(lines: set[int]) -> str:
    return ",".join(str(n) for n in sorted(lines))


SECTION_RUNS = "documents-runs"  # full runs of the page that drew this section
WAITED = "documents-waited"  # the run in which the waiting fragment was last drawn
SHOWN = "documents-shown"  # the list has been drawn in this session


def documents_section(settings: Settings, asking: bool = False) -> None:
    """The documents list with read and delete, then the upload box.

    Not on the session's first run, nor on a question's run before the list was ever
    shown, nor while the model loads: a fragment draws the page again a moment later.
    Drawing the list, its buttons and the upload box costs the browser about a third of a
    second of work on a first visit, between the page arriving and its chat box being
    usable; deferred, it comes after the chat box and the first answer
    (docs/benchmarks.md)."""
    st.header("Documents")
    runs = st.session_state[SECTION_RUNS] = st.session_state.get(SECTION_RUNS, 0) + 1
    if runs == 1 or (asking and not st.session_state.get(SHOWN)):
        _list_later(settings)
        return
    st.session_state[SHOWN] = True
    if resources.model_loading(settings):
        _list_later(settings)
    else:
        _list(settings)
    if signin.can_maintain(settings):  # PRIVACY_QA_MAINTAINERS
        _upload(settings)
    result = st.session_state.get("documents-result")
    if result:  # what the last upload or deletion did, or why it was refused
        show = st.success if st.session_state.get("documents-ok") else st.error
        show(escape_markdown(result))


def _list_later(settings: Settings) -> None:
    """A fragment that looks every second and, once the model has loaded (the page's first
    seconds, on a machine with few cores: reading the documents would take its CPU), draws
    the page again, now with the list."""

    @st.fragment(run_every=1.0)
    def waiting() -> None:
        # Drawn again within the same run of the page: this is the fragment's own rerun.
        timed = st.session_state.get(WAITED) == st.session_state[SECTION_RUNS]
        st.session_state[WAITED] = st.session_state[SECTION_RUNS]
        if timed and not resources.model_loading(settings):
            st.rerun(scope="app")
        st.caption("The list of documents follows in a moment…")

    waiting()


def _list(settings: Settings) -> None:
    messages = st.session_state.get("messages", [])
    infos = resources.document_infos(settings)
    if not infos:
        st.caption("No documents in the corpus dir yet: add one below.")
    for info in infos.values():
        cited = cited_lines(messages, info.source)
        link = viewer_link(info.source) + (f"&cited={_cited_param(cited)}" if cited else "")
        state = STATES.get(info.state, "") or (f"skipped: {info.problem}" if info.problem else "")
        st.markdown(
            document_entry_html(info.title, _facts(info), info.source, link, state),
            unsafe_allow_html=True,
        )
        if info.state != "deleted" and signin.can_maintain(settings):
            _delete_controls(settings, info.source)


def _delete_controls(settings: Settings, source: str) -> None:
    asking = st.session_state.get("confirm-delete") == source
    if not asking:
        if st.button("Delete", key=f"delete-{source}", help=f"Delete {source}"):
            st.session_state["confirm-delete"] = source
            st.rerun()
        return
    st.warning(f"Delete {escape_markdown(source)} from the corpus dir and the index?")
    yes, no = st.columns(2)
    if yes.button("Yes, delete", key=f"delete-yes-{source}", type="primary"):
        st.session_state.pop("confirm-delete", None)
        _change(
            settings,
            "Deleting",
            lambda progress: resources.delete_document(settings, source, progress),
            "delete",
        )
        st.rerun()
    if no.button("Cancel", key=f"delete-no-{source}"):
        st.session_state.pop("confirm-delete", None)
        st.rerun()


def _upload(settings: Settings) -> None:
    generation = st.session_state.setdefault("upload-generation", 0)
    limit = settings.max_upload_bytes
    uploaded = st.file_uploader(
        "Add a document (.md, .txt, .html, .pdf)",
        key=f"upload-{generation}",
        help=f"Up to {limit:,} bytes. It is copied into the corpus dir and indexed.",
    )
    if uploaded is None:
        return
    name, data = uploaded.name, uploaded.getvalue()
    st.session_state["upload-generation"] = generation + 1  # an empty box next run
    _change(
        settings,
        f"Adding {name}",
        lambda progress: resources.add_document(settings, name, data, progress),
        "upload",
    )
    st.rerun()


def _change(settings: Settings, label: str, run, action: str) -> None:
    """Run an upload or a deletion with its progress; keep its result for the next run;
    ``action`` ("upload", "delete") goes to the audit log, if it is on."""
    with st.status(f"{label}…", expanded=True) as box:
        bar = st.progress(0.0, text="Reading the corpus dir…")

        def on_progress(done: int, total: int) -> None:
            bar.progress(min(done / max(total, 1), 1.0), text=f"Embedding chunks: {done}/{total}")

        try:
            change = run(on_progress)
        except UserError as exc:
            box.update(label="Refused", state="error")
            st.session_state["documents-result"] = str(exc)
            st.session_state["documents-ok"] = False
            return
        report = change.report
        signin.audit(settings, action, documents=[change.source])
        result = (
            f"{label}: done. {report.added} added, {report.updated} updated, "
            f"{report.deleted} deleted; the index has {report.documents} documents, "
            f"{report.chunks} chunks."
        )
        box.update(label=result, state="complete")
    st.session_state["documents-result"] = result
    st.session_state["documents-ok"] = True


# ---------------------------------------------------------------- reading a document


def _numbers(text: str | None) -> set[int]:
    """Line numbers from "38", "38,41" or "38-40" (anything else is ignored)."""
    out: set[int] = set()
    for part in (text or "").split(","):
        low, _, high = part.strip().partition("-")
        if low.isdigit() and (not high or high.isdigit()):
            top = int(high) if high else int(low)
            out.update(range(int(low), min(top, int(low) + 500) + 1))
    return out


def document_page(settings: Settings, params) -> None:
    """The page's view of a corpus document (``?doc=SOURCE``): its text with numbered
    lines; the cited ones (``line``..``end``, ``cited``) marked, opened at ``line``."""
    source = params.get("doc", "")
    try:
        document = qa.read_document(settings, source)
    except UserError as exc:
        st.error(str(exc))
        return
    marked = _numbers(params.get("cited"))
    line = params.get("line", "")
    first = 1
    if line.isdigit():
        end = params.get("end", line)
        marked |= _numbers(f"{line}-{end}" if end.isdigit() else line)
        first = max(1, int(line) - CONTEXT_LINES)
    signin.audit(settings, "read", documents=[source])
    st.title(document.title)
    where = location(settings, source, int(line)) if line.isdigit() else source
    st.caption(escape_markdown(f"{where} · the document as text; cited lines are marked"))
    if first > 1:
        with st.expander(f"Lines 1-{first - 1}"):
            st.markdown(
                lines_html("\n".join(document.text.splitlines()[: first - 1]), marked),
                unsafe_allow_html=True,
            )
    st.markdown(lines_html(document.text, marked, first), unsafe_allow_html=True)
