"""Training curves as PNG files, drawn with matplotlib's object API (no pyplot global state)."""

from __future__ import annotations

import os
from typing import Sequence, Union

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from ..utils.atomic import atomic_write

PathLike = Union[str, os.PathLike]

METRICS = {  # a loss's metric name: (its title, its axis label, the loss's axis label)
    "error": ("error", "error rate", "mean cross-entropy"),
    "r2": ("R^2", "R^2", "mean squared error"),
}


def save_figure(figure: Figure, path: PathLike, dpi: int = 100) -> None:
    """``figure`` as a PNG at ``path``, written atomically."""
    FigureCanvasAgg(figure)
    with atomic_write(path) as file:
        figure.savefig(file, format="png", dpi=dpi)


def plot_curve(values: Sequence[float], path: PathLike, *, title: str, ylabel: str) -> None:
    """One per-epoch curve, epochs on the x axis, written to ``path`` as a PNG."""
    figure = Figure(figsize=(6, 4), layout="constrained")
    axes = figure.add_subplot()
    epochs = range(1, len(values) + 1)
    axes.plot(epochs, values, marker="." if len(values) < 30 else None)
    axes.set(title=title, xlabel="epoch", ylabel=ylabel)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if ylabel == "error rate":
        axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.grid(alpha=0.3)
    save_figure(figure, path)


def plot_history(history: Sequence, directory: PathLike, metric: str = "error") -> list:
    """The handout's four plots, ``train_loss.png`` ... ``val_error.png`` (``val_r2.png`` for a
    regression: the files are named for the loss's ``metric``), and ``curves.png`` with training and
    validation side by side (loss left, metric right). Returns the paths written."""
    title, metric_label, loss_label = METRICS.get(metric, (metric, metric, "loss"))
    columns = {"train_loss": [s.train_loss for s in history], "train_metric": [s.train_metric for s in history],
               "val_loss": [s.val_loss for s in history], "val_metric": [s.val_metric for s in history]}
    curves = {"train_loss": ("Training loss", loss_label, "train_loss"),
              f"train_{metric}": (f"Training {title}", metric_label, "train_metric"),
              "val_loss": ("Validation loss", loss_label, "val_loss"),
              f"val_{metric}": (f"Validation {title}", metric_label, "val_metric")}
    paths = []
    for name, (curve_title, ylabel, column) in curves.items():
        path = os.path.join(directory, f"{name}.png")
        plot_curve(columns[column], path, title=curve_title, ylabel=ylabel)
        paths.append(path)

    figure = Figure(figsize=(11, 4), layout="constrained")
    epochs = range(1, len(history) + 1)
    marker = "." if len(history) < 30 else None
    for position, (quantity, ylabel, name) in enumerate((("loss", loss_label, "Loss"),
                                                         ("metric", metric_label, title[:1].upper() + title[1:])), 1):
        axes = figure.add_subplot(1, 2, position)
        axes.plot(epochs, columns[f"train_{quantity}"], marker=marker, label="training")
        axes.plot(epochs, columns[f"val_{quantity}"], marker=marker, label="validation")
        axes.set(title=name, xlabel="epoch", ylabel=ylabel)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        if quantity == "metric" and metric == "error":
            if min(columns["train_metric"] + columns["val_metric"], default=0) > 0:
                axes.set_yscale("log")
            axes.yaxis.set_major_formatter(PercentFormatter(1.0))
            axes.yaxis.set_minor_formatter(PercentFormatter(1.0))
            axes.tick_params(axis="y", which="minor", labelsize="small")
        axes.grid(alpha=0.3, which="both")
        axes.legend()
    path = os.path.join(directory, "curves.png")
    save_figure(figure, path)
    return paths + [path]
