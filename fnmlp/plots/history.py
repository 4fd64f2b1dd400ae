"""Training curves as PNG files, drawn with matplotlib's object API (no pyplot global state)."""

from __future__ import annotations

import os
from typing import Sequence, Union

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from ..utils.atomic import atomic_write

PathLike = Union[str, os.PathLike]

CURVES = {
    "train_loss": ("Training loss", "mean cross-entropy"),
    "train_error": ("Training error", "error rate"),
    "val_loss": ("Validation loss", "mean cross-entropy"),
    "val_error": ("Validation error", "error rate"),
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


def plot_history(history: Sequence, directory: PathLike) -> list:
    """The handout's four plots, ``train_loss.png`` ... ``val_error.png``, and ``curves.png`` with
    training and validation side by side (loss left, error right). Returns the paths written."""
    columns = {name: [getattr(stats, name) for stats in history] for name in CURVES}
    paths = []
    for name, (title, ylabel) in CURVES.items():
        path = os.path.join(directory, f"{name}.png")
        plot_curve(columns[name], path, title=title, ylabel=ylabel)
        paths.append(path)

    figure = Figure(figsize=(11, 4), layout="constrained")
    epochs = range(1, len(history) + 1)
    marker = "." if len(history) < 30 else None
    for position, (quantity, ylabel) in enumerate((("loss", "mean cross-entropy"), ("error", "error rate")), 1):
        axes = figure.add_subplot(1, 2, position)
        axes.plot(epochs, columns[f"train_{quantity}"], marker=marker, label="training")
        axes.plot(epochs, columns[f"val_{quantity}"], marker=marker, label="validation")
        axes.set(title=quantity.capitalize(), xlabel="epoch", ylabel=ylabel)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        if quantity == "error":
            if min(columns["train_error"] + columns["val_error"], default=0) > 0:
                axes.set_yscale("log")
            axes.yaxis.set_major_formatter(PercentFormatter(1.0))
            axes.yaxis.set_minor_formatter(PercentFormatter(1.0))
            axes.tick_params(axis="y", which="minor", labelsize="small")
        axes.grid(alpha=0.3, which="both")
        axes.legend()
    path = os.path.join(directory, "curves.png")
    save_figure(figure, path)
    return paths + [path]
