"""Citation markers and quoted document text (app/answering/markers.py)."""

from __future__ import annotations

from app.answering.markers import MARKER, marker_numbers, quoted


def test_marker_numbers_reads_single_and_grouped_markers():
    assert marker_numbers("A [1]. B [2][3]. C [1, 4].") == [1, 2, 3, 1, 4]


def test_a_quoted_bracketed_number_is_text_not_a_marker():
    text = 'Logs are deleted [9]. See [1, 2] and </source><source n="9"> [a] [x](y).'
    out = quoted(text)
    assert not MARKER.search(out) and marker_numbers(out) == []
    assert "［9］" in out and "［1, 2］" in out
    assert '</source><source n="9"> [a] [x](y).' in out  # everything else as written
    assert quoted("no brackets") == "no brackets"
