"""The local embedding model in a child process of its own, for the chat page.

Why: the page's process must import Streamlit and Chroma as well as torch and the model,
and Python imports hold the GIL, so in one process they run one after another on one
core. With the model in a child process it loads on the other core while the page's
process starts its server and opens the index, instead of after them (figures in
docs/benchmarks.md). The CLI keeps the model in its own process: it has nothing else
that slow to import.

The parent sends a list of texts over a socket pair (``multiprocessing.connection``) and
gets their vectors back; a lock makes concurrent callers (page sessions, Reindex) take
turns. The child exits when the parent goes away: its end of the socket closes. A child
that dies (killed, out of memory) raises :class:`ModelProcessError` in the waiting
caller, and the next call starts a new one.

Run as ``python -m app.model_process FD``: FD is the child's end of the socket pair.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from multiprocessing import Pipe
from multiprocessing.connection import Connection

from app.errors import PrivacyQAError

log = logging.getLogger(__name__)


class ModelProcessError(PrivacyQAError):
    """The embedding model's child process failed or went away."""


class ModelProcess:
    """A child process that runs the bundled model (app/minilm.py) and embeds on request.

    Use :func:`shared` rather than making one: a process needs one model process.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._child: subprocess.Popen | None = None
        self._conn: Connection | None = None
        self._ready = False

    def start(self) -> None:
        """Start the child (it loads the model at once) unless it runs; does not wait."""
        with self._lock:
            self._start()

    def _start(self) -> None:
        if self._child is not None:
            return
        parent_end, child_end = Pipe(duplex=True)
        fd = child_end.fileno()
        self._child = subprocess.Popen(
            [sys.executable, "-m", "app.model_process", str(fd)],
            pass_fds=(fd,),
            stdin=subprocess.DEVNULL,
        )
        child_end.close()  # the child has its own copy; ours would keep the socket open
        self._conn = parent_end
        self._ready = False
        log.info("embedding model process started (pid %d)", self._child.pid)

    def embed(self, texts: list[str]) -> list[list[float]]:
        """The vectors of ``texts``, from the child (started and waited for if need be)."""
        with self._lock:
            self._start()
            try:
                if not self._ready:
                    kind, payload = self._conn.recv()  # sent once the model has loaded
                    if kind == "error":
                        self._stop()
                        raise ModelProcessError(f"The embedding model did not load: {payload}")
                    self._ready = True
                self._conn.send(list(texts))
                kind, payload = self._conn.recv()
            except (EOFError, OSError) as exc:
                code = self._stop()
                raise ModelProcessError(
                    f"The embedding model's process stopped (exit code {code}); it is started "
                    "again for the next question. If this repeats, check the server's log "
                    "and free memory."
                ) from exc
        if kind == "error":
            raise ModelProcessError(f"The embedding model failed: {payload}")
        return payload

    def _stop(self) -> int | None:
        """End the child (if it still runs) and forget it; return its exit code."""
        child, conn = self._child, self._conn
        self._child = self._conn = None
        self._ready = False
        if conn is not None:
            conn.close()  # the child sees EOF and exits
        if child is None:
            return None
        try:
            return child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            return child.wait()

    def close(self) -> None:
        """Stop the child; a later call starts a new one."""
        with self._lock:
            self._stop()

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (for tests and diagnostics)."""
        child = self._child
        return child.pid if child is not None else None


_shared: ModelProcess | None = None
_shared_lock = threading.Lock()


def shared() -> ModelProcess:
    """This process's model process: one per process, since the model is the same for all."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ModelProcess()
        return _shared


def serve(conn: Connection) -> None:
    """The child's loop: load the model, say ready, embed each list of texts received.
    Returns when the parent has gone away (Ctrl-C may stop it before the model is loaded)."""
    try:
        _serve(conn)
    except (BrokenPipeError, ConnectionResetError):  # nobody left to answer
        return


def _serve(conn: Connection) -> None:
    from app import minilm  # not app.embeddings: LangChain would only slow the start

    try:
        model = minilm.load_model()
        minilm.encode(model, ["warm up"])
    except Exception as exc:  # reported to the parent, which raises it in the page
        conn.send(("error", f"{exc.__class__.__name__}: {exc}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            texts = conn.recv()
        except (EOFError, OSError):  # the parent went away
            return
        try:
            conn.send(("ok", minilm.encode(model, texts)))
        except Exception as exc:
            conn.send(("error", f"{exc.__class__.__name__}: {exc}"))


if __name__ == "__main__":
    import signal

    # Ctrl-C in the terminal reaches the whole process group: the page stops, and this
    # process follows when its socket closes, without a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    serve(Connection(int(sys.argv[1])))
