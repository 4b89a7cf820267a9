"""Write the settings table of README.md from app/config/'s declarations.

    .venv/bin/python scripts/settings_table.py          # rewrite README.md's table
    .venv/bin/python scripts/settings_table.py --check  # exit 1 if README.md is out of date

The table sits between the two marker comments in README.md; tests/test_config.py fails when
it differs from what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.config import FIELDS  # noqa: E402 - after the path is set

START = "<!-- settings table: made by scripts/settings_table.py from app/config/ -->\n"
END = "<!-- end of settings table -->\n"


def settings_table() -> str:
    """The README's table of settings, in Markdown, made from the declarations of
    app/config/ (each Field's variables, default and description)."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for field in FIELDS.values():
        names = " or ".join(f"`{var}`" for var in field.env)
        meaning = field.description.replace("|", "\\|")
        lines.append(f"| {names} | {field.shown_default()} | {meaning} |")
    return "\n".join(lines) + "\n"


def with_table(readme: str) -> str:
    """``readme`` with the text between the markers replaced by the current table."""
    head, start, rest = readme.partition(START)
    _old, end, tail = rest.partition(END)
    if not (start and end):
        raise SystemExit(f"README.md lacks the markers {START.strip()} ... {END.strip()}")
    return head + START + settings_table() + END + tail


def main() -> int:
    path = ROOT / "README.md"
    readme = path.read_text(encoding="utf-8")
    wanted = with_table(readme)
    if "--check" in sys.argv[1:]:
        if wanted != readme:
            print("README.md's settings table is out of date: run scripts/settings_table.py")
            return 1
        return 0
    path.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
