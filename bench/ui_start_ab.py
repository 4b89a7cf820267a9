"""Compare the chat page's start-up between checkouts: first answer minus model load.

    .venv/bin/python bench/ui_start_ab.py --rounds 8 DIR_A DIR_B [DIR ...]

Each DIR is a checkout of this repository (e.g. ``git worktree add --detach /tmp/a REV``);
`privacy-qa ui` runs from each in turn, with this checkout's venv. Every round first times
a bare model load (as bench/bench_ui_start.py does), then each checkout's page, so slow and
fast moments of a shared machine hit all sides alike. Prints, per checkout, the medians of
first answer minus model load (per round and overall), input ready, and the CPU seconds of
the page (with its model process) and of the browser. The index is built once, from this
checkout's corpus/, by the first DIR.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import bench_ui_start as bench

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="rounds of all checkouts")
    parser.add_argument("dirs", nargs="+", type=Path, help="checkouts to compare")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    loads: list[float] = []
    runs: dict[Path, list[dict[str, float]]] = {d: [] for d in args.dirs}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PRIVACY_QA_")},
            "PRIVACY_QA_DATA_DIR": str(Path(tmp) / "data"),
            "PRIVACY_QA_CORPUS_DIR": str(ROOT / "corpus"),
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as an installed copy runs
        subprocess.run(
            [sys.executable, "-m", "app", "ingest"],
            env=env,
            check=True,
            capture_output=True,
            cwd=args.dirs[0],
        )
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=bench.CHROMIUM_ARGS
        )
        for _ in range(args.rounds):
            loads.append(bench.time_model_load(env)[0])
            for checkout in args.dirs:
                bench.ROOT = checkout.resolve()  # time_page runs the command there
                port = bench.free_port()
                command = [sys.executable, "-m", "app", "ui", "--port", str(port)]
                runs[checkout].append(bench.time_page(command, port, env, browser))
        browser.close()

    load = statistics.median(loads)
    print(f"model load (bare process): median {load:.2f} s; all {bench._all(loads)}\n")
    print(f"{'checkout':<24}{'per round':>10}{'overall':>9}{'input':>7}{'page cpu':>10}"
          f"{'browser cpu':>13}   first answers")  # fmt: skip
    for checkout, marks in runs.items():
        firsts = [m["first answer"] for m in marks]
        per_round = statistics.median(f - m for f, m in zip(firsts, loads, strict=True))
        print(
            f"{str(checkout):<24}{per_round:>+10.2f}{statistics.median(firsts) - load:>+9.2f}"
            f"{statistics.median(m['input ready'] for m in marks):>7.2f}"
            f"{statistics.median(m['cpu'] for m in marks):>10.2f}"
            f"{statistics.median(m['browser cpu'] for m in marks):>13.2f}   {bench._all(firsts)}"
        )


if __name__ == "__main__":
    main()
