"""Reading ``ask --jsonl`` input one line at a time: whatever a line holds, it becomes a
question to answer or a :class:`~app.errors.UserError` naming the line, never the end of
the batch.

A line is decoded on its own (invalid UTF-8 spoils only that line), parsed with Python's
json (a nesting too deep for it, or an integer too long, is that line's error), and its
``id`` must come back out as JSON: ``1e400``, ``NaN`` and ``Infinity`` parse to floats
JSON cannot write, so such an id is refused rather than echoed as ``Infinity``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app import qa
from app.errors import UserError

SHAPE = '{"id": ..., "question": "...", "history": [optional]}'


@dataclass(frozen=True)
class BatchItem:
    """One input line that parsed: its id (any JSON value, ``None`` when absent), question
    and the conversation's earlier turns (``[]`` when absent)."""

    id: Any
    question: str
    history: list[qa.Turn]


class BadLineError(UserError):
    """A line of the batch that cannot be asked; ``item_id`` is its id when it was read."""

    def __init__(self, message: str, item_id: Any = None):
        super().__init__(message)
        self.item_id = item_id


def parse_line(raw: bytes, number: int) -> BatchItem:
    """The item on input line ``number``, or a :class:`BadLineError` saying what is wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadLineError(
            f"line {number}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at byte "
            f"{exc.start + 1}); save the file as UTF-8"
        ) from None
    try:
        item = json.loads(text)
    except RecursionError:
        raise BadLineError(f"line {number}: not valid JSON here (nested too deeply)") from None
    except json.JSONDecodeError as exc:
        raise BadLineError(f"line {number}: not valid JSON ({exc.msg})") from None
    except ValueError:  # an integer longer than Python's digit limit (4300)
        raise BadLineError(
            f"line {number}: a number on this line is too long to read (at most 4300 "
            "digits); write a long id as a string"
        ) from None
    if not isinstance(item, dict):
        raise BadLineError(f"line {number}: expected {SHAPE}")
    item_id = item.get("id")
    if not writable(item_id):
        raise BadLineError(
            f"line {number}: the id cannot be written back as JSON (a number too large, "
            "NaN or Infinity, or text that is not valid Unicode); use a string or an "
            "integer as the id"
        )
    question = item.get("question")
    if not isinstance(question, str):
        raise BadLineError(f"line {number}: expected {SHAPE}", item_id)
    if not writable(question):
        raise BadLineError(
            f"line {number}: the question is not valid Unicode text (it holds an unpaired "
            "surrogate such as \\ud800); remove it",
            item_id,
        )
    try:
        history = qa.history(item.get("history", []), f"line {number}: history")
    except UserError as exc:
        raise BadLineError(str(exc), item_id) from None
    return BatchItem(item_id, question, history)


def writable(value: Any) -> bool:
    """Whether ``value`` can be written as strict JSON in UTF-8 (no NaN, no Infinity, no
    unpaired surrogates)."""
    try:
        json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return False
    return True


def check_argument(question: str) -> str:
    """``question`` as given on the command line, or a user error if its bytes were not
    UTF-8 (Python keeps them as lone surrogates)."""
    try:
        question.encode("utf-8")
    except UnicodeEncodeError:
        raise UserError(
            "The question is not valid UTF-8: set your terminal to UTF-8, or retype it."
        ) from None
    return question
