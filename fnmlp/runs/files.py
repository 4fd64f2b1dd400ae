"""What a training run leaves in its directory.

- ``checkpoint.npz``: the full training state after the last finished epoch (``fnmlp.checkpoint``)
- ``params.npz``: the final parameters and BatchNorm statistics, with ``dataset_meta`` in its meta
  (how the inputs were scaled), so that it alone can evaluate and predict
- ``metrics.csv``: ``epoch,train_loss,train_error,val_loss,val_error,seconds,lr``, one row per epoch
  (the loss's metric names its columns: ``train_r2``/``val_r2`` for a regression)
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
from ..datasets.sources import data_meta
from ..model.spec import MLPSpec
from ..training.config import DATA_ONLY
from ..training.loop import EpochStats, TrainState, evaluate

CHECKPOINT = "checkpoint.npz"
PARAMS = "params.npz"
METRICS = "metrics.csv"
SUMMARY = "summary.json"
DATA_OPTIONS = ("data", *DATA_ONLY, "seed", "limit", "dtype")
"""The options that read and split a run's own data, kept in ``params.npz`` with its scaling."""


def metrics_columns(metric: str = "error") -> tuple:
    """``metrics.csv``'s columns for a loss whose metric is named ``metric`` (``error``, ``r2``)."""
    return ("epoch", "train_loss", f"train_{metric}", "val_loss", f"val_{metric}", "seconds", "lr")


METRICS_COLUMNS = metrics_columns()


def write_metrics(path: Path, history: Any, metric: str = "error") -> None:
    """``metrics.csv``: a header and one row per ``EpochStats``, floats at full precision; the metric's
    columns are named for it (``train_error``, or ``train_r2`` for a regression)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(metrics_columns(metric))
    for stats in history:
        writer.writerow([stats.epoch, stats.train_loss, stats.train_metric, stats.val_loss, stats.val_metric,
                         stats.seconds, stats.lr])
    with atomic_write(path, "w") as file:
        file.write(text.getvalue())


def read_metrics(path: Path) -> list:
    """The ``EpochStats`` rows of a ``metrics.csv``, whatever its metric is named (``lr`` NaN in a file
    from before that column)."""
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        names = reader.fieldnames or []
        train = next((n for n in names if n.startswith("train_") and n != "train_loss"), "train_error")
        val = next((n for n in names if n.startswith("val_") and n != "val_loss"), "val_error")
        columns = ("train_loss", train, "val_loss", val, "seconds", "lr")
        return [EpochStats(int(row["epoch"]), *(float(row.get(c) or "nan") for c in columns)) for row in reader]


def read_history(meta: dict) -> tuple:
    """The ``EpochStats`` kept in a checkpoint's metadata."""
    return tuple(EpochStats.from_dict(row) for row in meta.get("history", ()))


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
    test_loss, test_metric = evaluate(spec, kept.params, kept.bn_state, splits["test"].x, splits["test"].y)
    metric = spec.loss.metric_name
    save_params(directory / PARAMS, spec, kept.params, kept.bn_state, {"dataset": run_dataset_meta(dataset, config)})
    if history:
        from ..plots.history import plot_history  # matplotlib only where a plot is drawn

        plot_history(history, directory, metric)
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
        "metric": {"name": metric, "greater_is_better": spec.loss.greater_is_better},
        "final": {"train_loss": _number(last and last.train_loss), f"train_{metric}": _number(last and last.train_metric),
                  "val_loss": _number(last and last.val_loss), f"val_{metric}": _number(last and last.val_metric),
                  "test_loss": test_loss, f"test_{metric}": test_metric},
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


def run_dataset_meta(dataset: Any, config: dict) -> dict:
    """``dataset_meta`` of a run of ``config`` (its options as ``summary.json`` keeps them), or, for a
    run on its own ``data``, ``fnmlp.datasets.sources.data_meta`` with the ``DATA_OPTIONS``."""
    if config.get("data") is None:
        return dataset_meta(dataset, config["dataset"])
    return data_meta(dataset, config["data"], {name: config.get(name) for name in DATA_OPTIONS})


def _number(value: Any) -> Any:
    return None if value is None or not np.isfinite(value) else float(value)
