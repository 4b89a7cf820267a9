"""The layer contract of pyproject.toml ([tool.importlinter]), checked with import-linter:
the layers from the front ends down to the model, the front ends reaching the core only
through the facade (app/qa.py), and no import cycles (imports inside functions count)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import ROOT


def test_the_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "3 kept, 0 broken" in result.stdout
