"""A sweep's outputs, read back from its trials' directories: ``sweep.csv``, ``sweep.json`` and the
two plots (``fnmlp.plots.sweep``, drawn only here)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Optional

from ..runs.files import METRICS, SUMMARY, read_metrics
from ..utils.atomic import atomic_write

__all__ = ["COLUMNS", "PLAN", "TRIAL_FILE", "greater_is_better", "read_json", "trial_rows", "write_csv", "write_json",
           "write_outputs"]

PLAN = "sweep_plan.json"
TRIAL_FILE = "trial.json"

COLUMNS = ("trial", "status", "epochs", "final_val_loss", "final_val_error", "best_val_loss", "best_val_error",
           "best_epoch", "test_loss", "test_error", "seconds", "worker", "message")


def greater_is_better(summary: Optional[dict]) -> bool:
    """Whether a trial's metric is better higher (R^2), as its ``summary.json`` says; an error rate
    (lower is better) when it says nothing."""
    metric = (summary or {}).get("metric")
    return bool(metric.get("greater_is_better", False)) if isinstance(metric, dict) else False


def trial_rows(directory: Path, plan: dict, stopped: dict) -> list:
    """One dict per trial, read from its directory: its swept options and ``COLUMNS`` (the metric's
    columns hold R^2 for a regression, whose best epoch is the highest; ``greater_is_better`` says so)."""
    rows = []
    for trial in plan["trials"]:
        path = directory / "trials" / trial["name"]
        summary, record = read_json(path / SUMMARY) or {}, read_json(path / TRIAL_FILE) or {}
        history = read_metrics(path / METRICS) if (path / METRICS).is_file() else []
        sign = -1.0 if greater_is_better(summary) else 1.0
        best = min(history, key=lambda s: (sign * s.val_metric, s.val_loss, s.epoch)) if history else None
        final = summary.get("final", {})
        if not record:
            status = "pending"
        elif record.get("code") == 0:
            status = "stopped" if trial["name"] in stopped else summary.get("status", "completed")
        else:
            status = summary.get("status") if summary.get("status") == "diverged" else "failed"
        rows.append({**{key: _text(value) for key, value in trial["swept"].items()}, "trial": trial["name"],
                     "status": status, "epochs": len(history),
                     "final_val_loss": history[-1].val_loss if history else None,
                     "final_val_error": history[-1].val_error if history else None,
                     "best_val_loss": best.val_loss if best else None,
                     "best_val_error": best.val_error if best else None,
                     "best_epoch": best.epoch if best else None,
                     "test_loss": final.get("test_loss"),
                     "test_error": final.get("test_error", final.get(f"test_{(summary.get('metric') or {}).get('name')}")),
                     "greater_is_better": sign < 0,
                     "seconds": record.get("seconds"), "worker": record.get("worker", ""),
                     "message": record.get("message", "") or summary.get("message", ""),
                     "curve": [s.val_error for s in history]})
    return rows


def _swept_keys(plan: dict) -> list:
    return list(dict.fromkeys(key for trial in plan["trials"] for key in trial["swept"]))


def write_csv(directory: Path, plan: dict, stopped: dict, rows: Optional[list] = None) -> list:
    rows = trial_rows(directory, plan, stopped) if rows is None else rows
    text = io.StringIO()
    writer = csv.DictWriter(text, ["trial", *_swept_keys(plan), *COLUMNS[1:]], extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: ("" if value is None else value) for key, value in row.items()} for row in rows)
    with atomic_write(directory / "sweep.csv", "w") as file:
        file.write(text.getvalue())
    return rows


def write_outputs(directory: Path, plan: dict, stopped: dict) -> dict:
    """``sweep.csv``, ``sweep.json`` (naming the best trial by final validation error, or the highest
    R^2 for a regression, among those trained to their full epochs) and the two plots; returns the
    summary."""
    rows = write_csv(directory, plan, stopped)
    completed = [row for row in rows if row["status"] == "completed" and row["final_val_error"] is not None]
    best = min(completed, key=lambda row: ((-1.0 if row["greater_is_better"] else 1.0) * row["final_val_error"],
                                           row["final_val_loss"], row["trial"]), default=None)
    trials = {trial["name"]: trial for trial in plan["trials"]}
    summary = {
        "source": plan["source"], "trials": len(rows),
        "completed": sum(row["status"] == "completed" for row in rows),
        "failed": sum(row["status"] in ("failed", "diverged") for row in rows),
        "stopped": sum(row["status"] == "stopped" for row in rows),
        "halving": None if plan["halving"] is None else {"eta": plan["halving"], "rungs": plan["rungs"]},
        "swept": _swept_keys(plan),
        "best": None if best is None else {
            "trial": best["trial"], "directory": str(Path("trials") / best["trial"]),
            "val_error": best["final_val_error"], "val_loss": best["final_val_loss"],
            "test_error": best["test_error"], "test_loss": best["test_loss"],
            "greater_is_better": best["greater_is_better"],
            "options": trials[best["trial"]]["options"]},
        "rows": [{key: value for key, value in row.items() if key != "curve"} for row in rows],
    }
    write_json(directory / "sweep.json", summary)
    from ..plots.sweep import plot_sweep_curves, plot_sweep_params
    plot_sweep_curves(rows, best and best["trial"], directory / "sweep_curves.png")
    plot_sweep_params(rows, summary["swept"], best and best["trial"], directory / "sweep_params.png")
    return summary


def read_json(path: Path) -> Optional[dict]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write_json(path: Path, value: Any) -> None:
    with atomic_write(path, "w") as file:
        json.dump(value, file, indent=2)
        file.write("\n")


def _text(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)
