"""How a command's process ends.

A one-shot ``privacy-qa ask`` spends about 0.3 s after it has printed its answer in the
interpreter's teardown: a garbage collection and the freeing of some 960 modules
(chromadb, pydantic, numpy, onnxruntime's session, Chroma's Rust client) that the
process no longer needs (docs/benchmarks.md). :func:`end_at_once` does what the
interpreter's exit does that anyone can observe, then ``os._exit``.

Only for commands that write nothing to the store (``ask`` reads the index; its only
writes are to stdout, stderr and the log, which are flushed and closed here): an ingest
must leave Chroma's files as Chroma closes them.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn

# Python's own exit status when flushing stdout fails at the end (e.g. a closed pipe).
FLUSH_FAILED_EXIT = 120


def end_at_once(code: int) -> NoReturn:
    """End the process with exit status ``code``, skipping the interpreter's teardown.

    First what the interpreter's exit does that is seen outside: wait for the threads
    that are not daemons (the embedding model's preload: onnxruntime aborts a process
    that exits mid-load), run the ``atexit`` handlers (logging's flush and close
    among them), flush stdout and stderr. Then ``os._exit``: nothing is freed one by one.
    """
    threading._shutdown()  # what Py_Finalize runs first: threading's exit hooks, joins
    atexit._run_exitfuncs()
    # As Python flushes them at exit: a closed stream is skipped, a failure to write
    # stdout (a closed pipe) changes the status to 120, one of stderr is ignored.
    for stream in (sys.stdout, sys.stderr):
        if stream is None or stream.closed:
            continue
        try:
            stream.flush()
        except Exception:
            if stream is sys.stdout:
                code = FLUSH_FAILED_EXIT
    os._exit(code)
