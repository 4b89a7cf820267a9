"""The committed baseline (``evals/baseline.json``: the metrics the deltas compare with)
and the thresholds file (``evals/thresholds.toml``: one table per split, the minimum, or for
latencies the maximum, of each metric)."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from app.evals.dataset import EvalDataError
from app.evals.scoring import LOWER_IS_BETTER, METRICS, Metrics

DEFAULT_BASELINE = Path("evals/baseline.json")
DEFAULT_THRESHOLDS = Path("evals/thresholds.toml")


class BaselineFile(TypedDict):
    """evals/baseline.json: per split, the metrics, the settings and when they were recorded."""

    splits: dict[str, Metrics]
    settings: NotRequired[dict[str, Any]]
    recorded: NotRequired[dict[str, str]]


def load_baseline(path: Path) -> BaselineFile | None:
    """The committed baseline (``{"splits": {split: metrics}}``), or None if there is none."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise EvalDataError(f"The baseline {path} is unreadable ({exc}).") from exc
    if not isinstance(data, dict) or not isinstance(data.get("splits"), dict):
        raise EvalDataError(f'The baseline {path} has no "splits" object.')
    return data


def save_baseline(path: Path, split: str, metrics: Metrics, settings: Any) -> None:
    """Record ``metrics`` as the baseline of ``split`` (other splits are kept); ``settings``
    (:func:`app.evals.run.settings_summary`) are recorded with them."""
    data = load_baseline(path) or {"splits": {}}
    data["splits"][split] = {k: v for k, v in metrics.items() if k in METRICS and v is not None}
    data.setdefault("settings", {})[split] = settings
    data.setdefault("recorded", {})[split] = datetime.now(UTC).isoformat(timespec="seconds")
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def deltas(current: Metrics, baseline: Metrics | None) -> dict[str, float]:
    """current - baseline for every metric both have."""
    if not baseline:
        return {}
    return {
        name: current[name] - baseline[name]
        for name in METRICS
        if isinstance(current.get(name), int | float)
        and isinstance(baseline.get(name), int | float)
    }


def load_thresholds(path: Path, split: str) -> dict[str, float]:
    """The thresholds for ``split`` from a TOML file with one table per split."""
    try:
        with Path(path).open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise EvalDataError(f"No thresholds file at {path}: pass --thresholds.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise EvalDataError(f"The thresholds file {path} is not valid TOML ({exc}).") from exc
    table = data.get(split)
    if not isinstance(table, dict) or not table:
        raise EvalDataError(f"The thresholds file {path} has no [{split}] table.")
    unknown = sorted(set(table) - set(METRICS))
    if unknown:
        raise EvalDataError(
            f"The thresholds file {path} names unknown metrics {unknown}; "
            f"known: {', '.join(METRICS)}."
        )
    bad = [k for k, v in table.items() if not isinstance(v, int | float) or isinstance(v, bool)]
    if bad:
        raise EvalDataError(f"The thresholds file {path}: {bad} must be numbers.")
    return {k: float(v) for k, v in table.items()}


def check_thresholds(metrics: Metrics, thresholds: dict[str, float]) -> list[str]:
    """One message per metric on the wrong side of its threshold (empty: all pass)."""
    failures = []
    for name, limit in thresholds.items():
        value = metrics.get(name)
        if value is None:
            failures.append(f"{name} was not measured (threshold {limit:g})")
        elif name in LOWER_IS_BETTER and value > limit:
            failures.append(f"{name} {value:.1f} > {limit:g}")
        elif name not in LOWER_IS_BETTER and value < limit:
            failures.append(f"{name} {value:.3f} < {limit:g}")
    return failures
