"""A reader asking one question in a loop, as a UI process would, until STOP_FILE exists.

    python -m tests.reader_child DATA_DIR CORPUS_DIR STOP_FILE QUESTION

Prints one JSON line per answer: {"t0", "t", "abstained", "quotes": [[source, quote], ...]}
(t0 when the question was asked, t when it was answered), or {"t0", "t", "error": "..."} if
asking raised. Used by test_index_ingest_faults.py.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> None:
    data_dir, corpus_dir, stop_file, question = sys.argv[1:]
    from app.config import load_settings
    from app.session import QA

    qa = QA(load_settings(data_dir=data_dir, corpus_dir=corpus_dir))
    qa.warm_up()
    print(json.dumps({"ready": True}), flush=True)
    while not Path(stop_file).exists():
        asked = time.time()
        try:
            answer = qa.ask(question)
            line = {
                "t0": asked,
                "t": time.time(),
                "abstained": answer.abstained,
                "quotes": [[c.source, c.quote] for c in answer.citations],
            }
        except Exception as exc:  # the test asserts there are none
            line = {"t0": asked, "t": time.time(), "error": f"{exc.__class__.__name__}: {exc}"}
        print(json.dumps(line), flush=True)
        time.sleep(0.02)


if __name__ == "__main__":
    main()
