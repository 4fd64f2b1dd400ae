"""The pictures of an evaluation: ``confusion.png`` and ``misclassified.png``, drawn with matplotlib's
object API (no pyplot global state) and written atomically. Import this module only to draw."""

from __future__ import annotations

import math
import os
from typing import Any, Union

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from .history import save_figure

__all__ = ["CONFUSION_SIZE", "DPI", "GRID_COLUMNS", "TILE_SIZE", "mistakes_figure_size", "plot_confusion",
           "plot_mistakes"]

PathLike = Union[str, os.PathLike]
DPI = 100
CONFUSION_SIZE = (7.0, 6.0)
GRID_COLUMNS = 6
TILE_SIZE = (1.5, 1.7)
TILE_IMAGE = 1.2  # inches of a tile's width its image takes
HEADER_HEIGHT = 0.5
ANNOTATE_UP_TO = 30


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
    save_figure(figure, path, DPI)


def mistakes_figure_size(count: int) -> tuple:
    """The ``(width, height)`` in inches of ``plot_mistakes``'s figure for ``count`` tiles."""
    columns = max(1, min(count, GRID_COLUMNS))
    rows = max(1, math.ceil(count / columns))
    return columns * TILE_SIZE[0], rows * TILE_SIZE[1] + HEADER_HEIGHT


def plot_mistakes(images: Any, true: Any, predicted: Any, probability: Any, path: PathLike, *,
                  title: str) -> None:
    """A grid of ``GRID_COLUMNS`` columns of the uint8 ``images`` ``(m, side, side)`` (white ink on
    black, drawn dark on light), each titled ``"true -> predicted (p)"``, written to ``path`` as a
    PNG of ``mistakes_figure_size(m)`` inches at ``DPI``; with ``m == 0``, a note saying so.

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
    side = images.shape[1]
    columns, rows = min(count, GRID_COLUMNS), math.ceil(count / GRID_COLUMNS)
    cell_width = side * TILE_SIZE[0] / TILE_IMAGE  # in pixels of the images
    cell_height = cell_width * TILE_SIZE[1] / TILE_SIZE[0]
    mosaic = np.full((round(rows * cell_height), round(columns * cell_width)), np.nan)
    axes = figure.add_axes((0, 0, 1, 1 - HEADER_HEIGHT / height))
    for k, image in enumerate(images):
        left = round((k % columns + 0.5) * cell_width - side / 2)
        bottom = round((k // columns + 1) * cell_height - (cell_width - side) / 2)
        mosaic[bottom - side:bottom, left:left + side] = image
        axes.text(left + side / 2, bottom - side - 1.5, f"{true[k]} -> {predicted[k]} ({probability[k]:.2f})",
                  ha="center", va="bottom", fontsize="medium")
    colours = matplotlib.colormaps["gray_r"].with_extremes(bad="white")
    axes.imshow(mosaic, cmap=colours, vmin=0, vmax=255, interpolation="nearest", aspect="auto")
    axes.set_axis_off()
    save_figure(figure, path, DPI)
