"""Benchmark: a cold one-shot `privacy-qa ask --json "..."` against `python -c "import app"`.

    .venv/bin/python bench/bench_cold_ask.py [--runs 10] [--also DIR ...]

Indexes corpus/ into a temp dir, then runs, interleaved (load on the machine hits all
alike), whole processes: `python -c "import app"` and `python -m app ask --json QUESTION`
(what `privacy-qa ask --json` runs: a fresh process that loads the model, opens the
index, answers and exits). Each ``--also`` DIR is another checkout of this repository
(e.g. ``git worktree add --detach /tmp/before REV``) whose ask runs with this venv from
its own directory on an index it built itself: the before/after of a change in one run.
Each ``--embeddings`` MODEL asks with that embedding backend (PRIVACY_QA_EMBEDDINGS) on an
index it built itself, e.g. ``local/all-MiniLM-L6-v2-int8-openvino``.
Prints wall and CPU seconds (medians) and the ratios to `import app`.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import wall_and_cpu  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How long does OpenAI retain API data?"


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVACY_QA_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as an installed copy runs
    return {**env, "PRIVACY_QA_DATA_DIR": str(data), "PRIVACY_QA_CORPUS_DIR": str(ROOT / "corpus")}


def _in(checkout: Path, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """wall_and_cpu, run from ``checkout`` (so `-m app` is that checkout's code)."""
    return wall_and_cpu(["/usr/bin/env", "-C", str(checkout), *args], env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--also", type=Path, action="append", default=[], help="a checkout")
    parser.add_argument(
        "--embeddings", action="append", default=[], help="also ask with this backend"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # (name, checkout, env) of each ask; each indexes corpus/ into its own data dir.
        asks = [("ask --json", ROOT, _env(Path(tmp) / "data-0"))]
        for n, checkout in enumerate(d.resolve() for d in args.also):
            asks.append((f"ask --json ({checkout})", checkout, _env(Path(tmp) / f"data-{n + 1}")))
        for n, model in enumerate(args.embeddings):
            env = {**_env(Path(tmp) / f"model-{n}"), "PRIVACY_QA_EMBEDDINGS": model}
            asks.append((f"ask --json ({model})", ROOT, env))
        for _, checkout, env in asks:
            subprocess.run(
                [sys.executable, "-m", "app", "ingest"],
                cwd=checkout,
                env=env,
                check=True,
                capture_output=True,
            )
        commands = {
            'python -c "import app"': (ROOT, [sys.executable, "-c", "import app"], asks[0][2])
        }
        for name, checkout, env in asks:
            commands[name] = (
                checkout,
                [sys.executable, "-m", "app", "ask", "--json", QUESTION],
                env,
            )
        for checkout, command, env in commands.values():  # warm-up: bytecode, file cache
            _in(checkout, command, env)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, (checkout, command, env) in commands.items():
                times[name].append(_in(checkout, command, env))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}; {args.runs} runs\n"
    )
    base_wall = statistics.median(w for w, _ in times['python -c "import app"'])
    base_cpu = statistics.median(c for _, c in times['python -c "import app"'])
    print(f"{'process (median)':<60}{'wall s':>8}{'ratio':>8}{'cpu s':>8}{'ratio':>8}")
    for name, values in times.items():
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        print(f"{name:<60}{wall:>8.3f}{wall / base_wall:>7.1f}x{cpu:>8.3f}{cpu / base_cpu:>7.1f}x")
    print("\nall wall times: " + "; ".join(
        f"{name}: " + " ".join(f"{w:.2f}" for w, _ in values) for name, values in times.items()
    ))  # fmt: skip


if __name__ == "__main__":
    main()
