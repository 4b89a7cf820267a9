"""What password sign-in and the audit log cost (issue 19): the scrypt check of a sign-in
(right password, wrong password, unknown name: the last two should take as long as the
first, so timing does not tell which names exist), checking a session cookie, and
appending one audit line.

    .venv/bin/python bench/bench_signin.py [--repeat 30]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import audit, auth  # noqa: E402
from app.config import Settings  # noqa: E402

PASSWORD = "correct horse battery"


def timed(run, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        out.append((time.perf_counter() - started) * 1000)
    return out


def row(name: str, times: list[float]) -> str:
    p95 = sorted(times)[max(0, round(0.95 * len(times)) - 1)]
    return f"{name:<34} {statistics.median(times):9.2f} {p95:9.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp) / "data", users_file=Path(tmp) / "users.txt", audit_log="on"
        )
        for n in range(20):  # a small team
            auth.add_user(settings, f"user{n}", PASSWORD)
        token = auth.session_token(settings, "user7")
        event = audit.AuditEvent("user7", "read", documents=["corpus/a.md"])
        results = {
            "hash a new password": timed(lambda: auth.hash_password(PASSWORD), args.repeat),
            "sign-in, right password": timed(
                lambda: auth.check_password(settings, "user7", PASSWORD), args.repeat
            ),
            "sign-in, wrong password": timed(
                lambda: auth.check_password(settings, "user7", "wrong password"), args.repeat
            ),
            "sign-in, unknown name": timed(
                lambda: auth.check_password(settings, "nobody", PASSWORD), args.repeat
            ),
            "session cookie check": timed(
                lambda: auth.session_user(settings, token), args.repeat * 10
            ),
            "audit line append": timed(lambda: audit.record(settings, event), args.repeat * 10),
        }
    print(
        f"machine: {platform.machine()}, python {platform.python_version()}, "
        f"{os.cpu_count()} cores; scrypt N={auth.SCRYPT_N} r={auth.SCRYPT_R} p={auth.SCRYPT_P}"
    )
    print(f"{'ms':<34} {'p50':>9} {'p95':>9}")
    for name, times in results.items():
        print(row(name, times))
    right = statistics.median(results["sign-in, right password"])
    for other in ("sign-in, wrong password", "sign-in, unknown name"):
        print(f"{other} / right: {statistics.median(results[other]) / right:.2f}x")


if __name__ == "__main__":
    main()
