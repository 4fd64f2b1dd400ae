"""The pictures of an evaluation: ``confusion.png`` and ``misclassified.png`` for a classifier,
``predicted.png`` (predicted against true values) for a regression, drawn with matplotlib's object
API (no pyplot global state) and written atomically. Import this module only to draw."""

from __future__ import annotations

import math
import os
from typing import Any, Union

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from .history import save_figure

__all__ = ["CONFUSION_SIZE", "DPI", "GRID_COLUMNS", "SCATTER_SIZE", "TILE_SIZE", "mistakes_figure_size",
           "plot_confusion", "plot_mistakes", "plot_predicted"]

PathLike = Union[str, os.PathLike]
DPI = 100
CONFUSION_SIZE = (7.0, 6.0)
GRID_COLUMNS = 6
TILE_SIZE = (1.5, 1.7)
TILE_IMAGE = 1.2  # inches of a tile's width its image takes
HEADER_HEIGHT = 0.5
ANNOTATE_UP_TO = 30
SCATTER_SIZE = (6.0, 6.0)


def plot_confusion(confusion: Any, path: PathLike, *, title: str, labels: Any = None) -> None:
    """The confusion matrix ``(classes, classes)`` (rows true, columns predicted), each row divided by
    its count, as a heat map annotated with percentages, written to ``path`` as a PNG of
    ``CONFUSION_SIZE`` inches at ``DPI``. ``labels``: the classes' names on the axes (default: their
    indices)."""
    confusion = np.asarray(confusion)
    counts = confusion.sum(axis=1, keepdims=True)
    rates = np.divide(confusion, counts, out=np.zeros(confusion.shape), where=counts > 0)
    figure = Figure(figsize=CONFUSION_SIZE, layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    classes = confusion.shape[0]
    ticks = range(classes)
    axes.set(xticks=ticks, yticks=ticks, xlabel="predicted class", ylabel="true class", title=title)
    if labels is not None:
        axes.set_xticklabels([str(label) for label in labels], rotation=45 if classes > 4 else 0, ha="right"
                             if classes > 4 else "center")
        axes.set_yticklabels([str(label) for label in labels])
    if classes <= ANNOTATE_UP_TO:
        size = "small" if classes <= 12 else "xx-small"
        for (row, column), rate in np.ndenumerate(rates):
            if confusion[row, column]:
                text = f"{100 * rate:.1f}" if rate >= 0.001 else "<0.1"
                axes.text(column, row, text, ha="center", va="center", fontsize=size,
                          color="white" if rate > 0.5 else "black")
    figure.colorbar(image, ax=axes, label="fraction of the true class", shrink=0.85)
    save_figure(figure, path, DPI)


def mistakes_figure_size(count: int) -> tuple:
    """The ``(width, height)`` in inches of ``plot_mistakes``'s figure for ``count`` tiles."""
    columns = max(1, min(count, GRID_COLUMNS))
    rows = max(1, math.ceil(count / columns))
    return columns * TILE_SIZE[0], rows * TILE_SIZE[1] + HEADER_HEIGHT


def plot_mistakes(images: Any, true: Any, predicted: Any, probability: Any, path: PathLike, *,
                  title: str, ink: bool = True) -> None:
    """A grid of ``GRID_COLUMNS`` columns of the uint8 ``images`` ``(m, height, width)`` (white ink on
    black, drawn dark on light), each titled ``"true -> predicted (p)"``, written to ``path`` as a
    PNG of ``mistakes_figure_size(m)`` inches at ``DPI``; with ``m == 0``, a note saying so.
    ``ink=False`` draws the images as they are, 255 white (photographs rather than MNIST's ink).

    The tiles are one mosaic in one axes, which draws in a fraction of the time of an axes per tile.
    """
    images = np.asarray(images)
    count = len(images)
    width, height = mistakes_figure_size(count)
    figure = Figure(figsize=(width, height))
    figure.suptitle(title, y=1 - 0.1 / height, va="top")
    if count == 0:
        figure.text(0.5, 0.4, "no mistakes", ha="center", va="center", fontsize="large")
        save_figure(figure, path, DPI)
        return
    high, wide = images.shape[1:3]
    columns, rows = min(count, GRID_COLUMNS), math.ceil(count / GRID_COLUMNS)
    cell_width = max(high, wide) * TILE_SIZE[0] / TILE_IMAGE  # in pixels of the images
    cell_height = cell_width * TILE_SIZE[1] / TILE_SIZE[0]
    mosaic = np.full((round(rows * cell_height), round(columns * cell_width)), np.nan)
    axes = figure.add_axes((0, 0, 1, 1 - HEADER_HEIGHT / height))
    for k, image in enumerate(images):
        left = round((k % columns + 0.5) * cell_width - wide / 2)
        bottom = round((k // columns + 1) * cell_height - (cell_width - high) / 2)
        mosaic[bottom - high:bottom, left:left + wide] = image
        axes.text(left + wide / 2, bottom - high - 1.5, f"{true[k]} -> {predicted[k]} ({probability[k]:.2f})",
                  ha="center", va="bottom", fontsize="medium")
    colours = matplotlib.colormaps["gray_r" if ink else "gray"].with_extremes(bad="white")
    axes.imshow(mosaic, cmap=colours, vmin=0, vmax=255, interpolation="nearest", aspect="auto")
    axes.set_axis_off()
    save_figure(figure, path, DPI)


def plot_predicted(targets: Any, predicted: Any, path: PathLike, *, title: str, name: str = "target") -> None:
    """Predicted against true values, ``(n,)`` each, as a scatter plot with the line ``y = x``, written
    to ``path`` as a PNG of ``SCATTER_SIZE`` inches at ``DPI``; ``name`` labels the axes."""
    targets, predicted = np.asarray(targets, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    figure = Figure(figsize=SCATTER_SIZE, layout="constrained")
    axes = figure.add_subplot()
    axes.scatter(targets, predicted, s=12, alpha=0.6, edgecolors="none")
    both = np.concatenate([targets, predicted])
    low, high = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
    margin = 0.05 * (high - low or 1.0)
    axes.plot([low - margin, high + margin], [low - margin, high + margin], color="grey", linewidth=1,
              linestyle="--", label="predicted = true")
    axes.set(xlim=(low - margin, high + margin), ylim=(low - margin, high + margin), aspect="equal",
             xlabel=f"true {name}", ylabel=f"predicted {name}", title=title)
    axes.legend(loc="upper left")
    axes.grid(alpha=0.3)
    save_figure(figure, path, DPI)
