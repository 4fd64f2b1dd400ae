"""The pictures of an evaluation: ``confusion.png`` and ``misclassified.png``, drawn with matplotlib's
object API (no pyplot global state) and written atomically. Import this module only to draw."""

from __future__ import annotations

import math
import os
from typing import Any, Union

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ._atomic import atomic_write

__all__ = ["CONFUSION_SIZE", "DPI", "GRID_COLUMNS", "TILE_SIZE", "mistakes_figure_size", "plot_confusion",
           "plot_mistakes"]

PathLike = Union[str, os.PathLike]
DPI = 100
CONFUSION_SIZE = (7.0, 6.0)
GRID_COLUMNS = 6
TILE_SIZE = (1.5, 1.7)
HEADER_HEIGHT = 0.5
ANNOTATE_UP_TO = 30


def _save(figure: Figure, path: PathLike) -> None:
    FigureCanvasAgg(figure)
    with atomic_write(path) as file:
        figure.savefig(file, format="png", dpi=DPI)


def plot_confusion(confusion: Any, path: PathLike, *, title: str) -> None:
    """The confusion matrix ``(classes, classes)`` (rows true, columns predicted), each row divided by
    its count, as a heat map annotated with percentages, written to ``path`` as a PNG of
    ``CONFUSION_SIZE`` inches at ``DPI``."""
    confusion = np.asarray(confusion)
    counts = confusion.sum(axis=1, keepdims=True)
    rates = np.divide(confusion, counts, out=np.zeros(confusion.shape), where=counts > 0)
    figure = Figure(figsize=CONFUSION_SIZE, layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    classes = confusion.shape[0]
    ticks = range(classes)
    axes.set(xticks=ticks, yticks=ticks, xlabel="predicted class", ylabel="true class", title=title)
    if classes <= ANNOTATE_UP_TO:
        size = "small" if classes <= 12 else "xx-small"
        for (row, column), rate in np.ndenumerate(rates):
            if confusion[row, column]:
                text = f"{100 * rate:.1f}" if rate >= 0.001 else "<0.1"
                axes.text(column, row, text, ha="center", va="center", fontsize=size,
                          color="white" if rate > 0.5 else "black")
    figure.colorbar(image, ax=axes, label="fraction of the true class", shrink=0.85)
    _save(figure, path)


def mistakes_figure_size(count: int) -> tuple:
    """The ``(width, height)`` in inches of ``plot_mistakes``'s figure for ``count`` tiles."""
    columns = max(1, min(count, GRID_COLUMNS))
    rows = max(1, math.ceil(count / columns))
    return columns * TILE_SIZE[0], rows * TILE_SIZE[1] + HEADER_HEIGHT


def plot_mistakes(images: Any, true: Any, predicted: Any, probability: Any, path: PathLike, *,
                  title: str) -> None:
    """A grid of ``GRID_COLUMNS`` columns of the uint8 ``images`` ``(m, side, side)`` (white ink on
    black, drawn dark on light), each titled ``"true -> predicted (p)"``, written to ``path`` as a
    PNG of ``mistakes_figure_size(m)`` inches at ``DPI``; with ``m == 0``, a note saying so."""
    images = np.asarray(images)
    figure = Figure(figsize=mistakes_figure_size(len(images)), layout="constrained")
    figure.suptitle(title)
    if len(images) == 0:
        figure.text(0.5, 0.4, "no mistakes", ha="center", va="center", fontsize="large")
    columns = min(len(images), GRID_COLUMNS)
    for k, image in enumerate(images):
        axes = figure.add_subplot(math.ceil(len(images) / columns), columns, k + 1)
        axes.imshow(image, cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
        axes.set_title(f"{true[k]} -> {predicted[k]} ({probability[k]:.2f})", fontsize="medium")
        axes.set_axis_off()
    _save(figure, path)
