"""What a training run leaves in its directory.

- ``checkpoint.npz``: the full training state after the last finished epoch (``fnmlp.checkpoint``)
- ``params.npz``: the final parameters and BatchNorm statistics, with ``dataset_meta`` in its meta
  (how the inputs were scaled), so that it alone can evaluate and predict
- ``metrics.csv``: ``epoch,train_loss,train_error,val_loss,val_error,seconds,lr``, one row per epoch
- ``summary.json``: configuration, seed, final figures, timings, versions
- ``train_loss.png``, ``train_error.png``, ``val_loss.png``, ``val_error.png``, ``curves.png``
- ``run.lock``: the lock its writer holds for its whole life (``fnmlp.run_lock``)

Every file is written atomically: it is either the old version or the new one, never a torn mix.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..utils.atomic import atomic_write
from .checkpoint import save_params
from ..datasets.mnist import DATASET_NAMES
from ..model.spec import MLPSpec
from ..training.loop import EpochStats, TrainState, evaluate

CHECKPOINT = "checkpoint.npz"
PARAMS = "params.npz"
METRICS = "metrics.csv"
SUMMARY = "summary.json"
METRICS_COLUMNS = ("epoch", "train_loss", "train_error", "val_loss", "val_error", "seconds", "lr")


def write_metrics(path: Path, history: Any) -> None:
    """``metrics.csv``: a header and one row per ``EpochStats``, floats at full precision."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(METRICS_COLUMNS)
    for stats in history:
        writer.writerow([getattr(stats, column) for column in METRICS_COLUMNS])
    with atomic_write(path, "w") as file:
        file.write(text.getvalue())


def read_metrics(path: Path) -> list:
    """The ``EpochStats`` rows of a ``metrics.csv`` (``lr`` NaN in a file from before that column)."""
    with open(path, newline="") as file:
        return [EpochStats(int(row["epoch"]), *(float(row.get(c) or "nan") for c in METRICS_COLUMNS[1:]))
                for row in csv.DictReader(file)]


def read_history(meta: dict) -> tuple:
    """The ``EpochStats`` kept in a checkpoint's metadata."""
    return tuple(EpochStats(**row) for row in meta.get("history", ()))


def write_run_outputs(directory: Path, config: dict, spec: MLPSpec, dataset: Any, splits: dict,
                      latest: TrainState, history: list, status: str, message: str,
                      wall_seconds: float) -> dict:
    """Evaluate the run's parameters on the test split and write them, the plots and the summary
    (``metrics.csv`` is written with each checkpoint, so it already holds ``history``). The parameters
    are ``latest``'s or, with early stopping, its best epoch's (``best_epoch`` in the summary).

    Returns the summary written to ``summary.json``.
    """
    best = latest.early_stopping
    kept = best if best is not None and best.best_epoch else latest  # early stopping keeps its best epoch
    test_loss, test_error = evaluate(spec, kept.params, kept.bn_state, splits["test"].x, splits["test"].y)
    save_params(directory / PARAMS, spec, kept.params, kept.bn_state,
                {"dataset": dataset_meta(dataset, config["dataset"])})
    if history:
        from ..plots.history import plot_history  # matplotlib only where a plot is drawn

        plot_history(history, directory)
    last = history[-1] if history else None
    training_seconds = sum(stats.seconds for stats in history)
    n_train = splits["train"].x.shape[0]
    summary = {
        "status": status,
        "message": message,
        "config": config,
        "seed": config["seed"],
        "spec": spec.to_dict(),
        "dataset": {"name": dataset.name, "pixel_mean": dataset.pixel_mean, "pixel_std": dataset.pixel_std,
                    **{f"{name}_rows": int(split.x.shape[0]) for name, split in splits.items()}},
        "epochs_completed": latest.epoch,
        "best_epoch": best.best_epoch if best is not None and best.best_epoch else None,
        "final": {"train_loss": _number(last and last.train_loss), "train_error": _number(last and last.train_error),
                  "val_loss": _number(last and last.val_loss), "val_error": _number(last and last.val_error),
                  "test_loss": test_loss, "test_error": test_error},
        "wall_seconds": wall_seconds,
        "training_seconds": training_seconds,
        "train_samples_per_second": n_train * len(history) / training_seconds if training_seconds else None,
        "finished_at": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "versions": {"fnmlp": __version__, "numpy": np.__version__, "python": platform.python_version()},
        "machine": {"platform": platform.platform(), "processor": platform.machine()},
    }
    with atomic_write(directory / SUMMARY, "w") as file:
        json.dump(summary, file, indent=2)
        file.write("\n")
    return summary


def dataset_meta(dataset: Any, source: str) -> dict:
    """What a trained network needs to know of its data set: its ``name``, the ``source`` that
    ``load_dataset`` takes (a directory made absolute), ``num_classes``, and the ``pixel_mean`` and
    ``pixel_std`` that scaled every input, as ``(pixels / 255 - pixel_mean) / pixel_std``."""
    if source.lower() not in DATASET_NAMES:
        source = os.path.abspath(source)
    return {"name": dataset.name, "source": source, "num_classes": int(dataset.num_classes),
            "pixel_mean": float(dataset.pixel_mean), "pixel_std": float(dataset.pixel_std)}


def _number(value: Any) -> Any:
    return None if value is None or not np.isfinite(value) else float(value)
