"""The chat page's sidebar: the index's status and its Reindex button, and where data goes."""

from __future__ import annotations

import streamlit as st

from app import qa
from app.config import Settings
from app.errors import UserError
from app.ui import resources, signin
from app.ui.markup import escape_markdown, index_facts_html


def _render_status(settings: Settings):
    """Draw the index status; return it (``None`` if it cannot be read)."""
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
    # HTML like the source cards (escaped the same way): drawn on the first run, it makes
    # the browser fetch its HTML renderer and code font then, while the model loads,
    # instead of when the first answer arrives (docs/benchmarks.md).
    st.markdown(
        index_facts_html(
            status.embeddings, status.store, str(settings.store_dir), status.indexed_at
        ),
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
            report = resources.run_ingest(settings, on_progress)
        except UserError as exc:
            box.update(label="Reindex failed", state="error")
            st.error(str(exc))
            return
        bar.progress(1.0, text=f"{report.documents} documents, {report.chunks} chunks")
        result = _report_line(report)
        signin.audit(settings, "reindex", documents=sorted(report.changes.touched))
        st.session_state["last_reindex"] = result
        for name in ("added", "updated", "deleted"):
            for source in getattr(report.changes, name):
                st.markdown(f"{name}: {escape_markdown(source)}")
        for skipped in report.skipped:
            st.warning(
                f"Skipped {escape_markdown(skipped['source'])}: "
                f"{escape_markdown(skipped['reason'])}"
            )
        for problem in report.routine_problems:  # the document is indexed, its routine not
            st.warning(f"Support routine ignored: {escape_markdown(problem)}")
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


def _what_is_written(settings: Settings) -> str:
    if settings.audit_path is None:
        return "questions and answers are not written to disk or logs."
    if settings.audit_questions:
        return "the audit log keeps your questions and the passages shown to you."
    return "an audit log records which passages were shown to whom, never the questions."


def sidebar(settings: Settings):
    """Index status, Reindex and where data goes; returns the index status and the
    sidebar's place for the documents view."""
    with st.sidebar:
        st.header("Index")
        status_box = st.container()
        maintainer = signin.can_maintain(settings)  # PRIVACY_QA_MAINTAINERS
        if maintainer and st.button(
            "Reindex", help="Bring the index up to date with the corpus dir."
        ):
            _reindex(settings)
        elif "last_reindex" in st.session_state:
            st.caption(f"Last reindex: {st.session_state['last_reindex']}")
        # Filled by the page at the end of its run (library.documents_section): listing
        # the documents reads them, which must not delay the chat box or an answer.
        documents = st.container()
        with status_box:  # drawn after a reindex, so it shows the new state
            status = _render_status(settings)
        st.header("Where your data goes")
        flows = settings.data_flow()
        if flows == ["local only"]:
            st.success(
                "**Local only.** Questions, documents and answers stay on this machine; "
                + _what_is_written(settings)
            )
        else:
            st.warning(
                "Text leaves this machine:\n"
                + "\n".join(f"- {escape_markdown(flow)}" for flow in flows)
            )
        st.caption("The chat history lives only in this browser tab's session.")
    return status, documents
