"""What the command line prints: immediate output, the progress bar, the ingest summary
and answers with their sources."""

from __future__ import annotations

import sys

from app.config import Settings
from app.qa import Answer, Citation, IngestReport, Passage, quoted

INTERNAL_LABEL = "internal procedure"  # after the section of a support routine's quote
CLOSEST_PASSAGES = 3  # offered after a refusal, as the page does


def echo(text: str = "", *, end: str = "\n", err: bool = False) -> None:
    """Print and flush at once, so streamed answers and JSON lines reach a pipe as they come."""
    print(text, end=end, file=sys.stderr if err else sys.stdout, flush=True)


class ProgressBar:
    """``embedding chunks [#######-----------] 120/310``, redrawn in place on stderr."""

    width = 30

    def __init__(self, label: str):
        self.label = label
        self.drawn = False

    def update(self, done: int, total: int) -> None:
        filled = self.width * min(done, total) // total
        bar = "#" * filled + "-" * (self.width - filled)
        echo(f"\r{self.label} [{bar}] {done:>{len(str(total))}}/{total}", end="", err=True)
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            echo(err=True)  # leave the last state on its own line


def describe_ingest(report: IngestReport, settings: Settings) -> str:
    """The human summary of an ingest: what changed, in documents and chunks, and the time."""
    lines = []
    verb = "Would index" if report.dry_run else "Indexed"
    if report.rebuilt:
        lines.append(
            f"{'Would rebuild' if report.dry_run else 'Rebuilt'} the index "
            f"({report.rebuild_reason})."
        )
    if report.recovered:
        lines.append("Finished the work of an interrupted ingest.")
    if (
        not report.rebuilt
        and not report.recovered
        and not (report.added or report.updated or report.deleted)
    ):
        lines.append(
            f"Nothing changed: {report.documents} documents, {report.chunks} chunks in "
            f"{settings.data_dir} ({report.seconds:.2f} s)."
        )
        return "\n".join(lines)
    lines.append(
        f"{verb} {report.documents} documents as {report.chunks} chunks in "
        f"{settings.data_dir} ({report.seconds:.1f} s)."
    )
    lines.append(
        f"  documents: {report.added} added, {report.updated} updated, "
        f"{report.deleted} deleted, {report.unchanged} unchanged"
    )
    lines.append(
        f"  chunks:    {report.chunks_added} added, {report.chunks_deleted} deleted, "
        f"{report.chunks_unchanged} unchanged"
    )
    for name in ("added", "updated", "deleted"):
        for source in getattr(report.changes, name):
            lines.append(f"  {name:>8} {source}")
    if report.skipped:
        lines.append(f"  {len(report.skipped)} files skipped (see warnings above).")
    return "\n".join(lines)


def _heading(place: Citation | Passage) -> str:
    """The section path (``Title > Heading``), which starts with the document's title;
    ``Title — Section`` where it does not; and the internal-procedure label where it
    applies."""
    label = f" ({INTERNAL_LABEL})" if place.internal else ""
    title, section = place.title, place.section
    if section == title or section.startswith(f"{title} > "):
        return f"{section}{label}"
    return f"{title} — {section}{label}"


def _location(place: Citation | Passage) -> str:
    """``path:line`` of the source, then its url if it has one."""
    return f"{place.source}:{place.start_line}" + (f"  {place.url}" if place.url else "")


def describe_passages(passages: list[Passage]) -> list[str]:
    """The lines offering the closest passages after a refusal: to read, not an answer."""
    if not passages:
        return []
    lines = ["", "You may want to read:"]
    for p in passages:
        lines.append(f"- {_heading(p)}")
        lines.append(f"    {_location(p)}")
    return lines


def describe_routine(answer: Answer) -> list[str]:
    """A support routine's turn: its numbered choices, or that it is resolved."""
    lines = []
    if answer.clarify is not None:
        lines += ["", "Choose (type the number or your own answer):"]
        lines += [f"  {i}. {option}" for i, option in enumerate(answer.clarify.options, 1)]
    if answer.resolved:
        lines += ["", "[resolved]"]
    return lines


def chosen(text: str, previous: Answer | None) -> str:
    """The option a typed number picks from the previous turn's choices, else ``text``."""
    choice = text.strip()
    if previous is not None and previous.clarify is not None and choice.isdigit():
        options = previous.clarify.options
        if 1 <= int(choice) <= len(options):
            return options[int(choice) - 1]
    return text


def format_answer(answer: Answer, streamed: str | None = None) -> str:
    """Human-readable answer: the text, then numbered sources with their quotes, then any
    notices, token usage and the endpoints data was sent to.

    ``streamed`` is the text already printed while the answer streamed: the answer text
    is printed again only if the final (checked) text differs from it.
    """
    if streamed is None:
        lines = [answer.answer]
    elif streamed.strip() == answer.answer.strip():
        lines = [""]  # ends the streamed line
    elif not streamed.strip():
        lines = [answer.answer]
    else:
        lines = ["", "", "Checked answer:", answer.answer]
    if answer.searched != answer.question:
        lines += ["", f"Searched: {answer.searched}"]
    if answer.citations:
        lines += ["", "Sources:"]
        for c in answer.citations:
            lines.append(f"[{c.n}] {_heading(c)}")
            lines.append(f"    {_location(c)}")
            lines.append(f'    "{quoted(" ".join(c.quote.split()))}"')  # "[9]" in it: text
    if answer.abstained:
        lines += describe_passages(answer.closest_passages(CLOSEST_PASSAGES))
    lines += describe_routine(answer)
    if answer.notices:
        lines += ["", "Notes:"] + [f"- {notice}" for notice in answer.notices]
    if answer.usage:
        usage = answer.usage
        cost = usage.get("cost_usd")
        lines += [
            "",
            f"Tokens: {usage['prompt_tokens']} prompt + {usage['completion_tokens']} completion "
            f"({usage['model']}"
            + (f", about ${cost:.5f})" if cost is not None else ", no price known)"),
        ]
    if answer.endpoints:
        lines.append("Sent to: " + "; ".join(answer.endpoints))
    return "\n".join(lines)
