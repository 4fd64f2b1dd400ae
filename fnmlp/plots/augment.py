"""``augment.png``: one image, and draws of an augmentation of it in a grid of tiles beside it."""

from __future__ import annotations

import math
import os
from typing import Any, Union

import numpy as np
from matplotlib.figure import Figure

from ..utils import checks as _checks
from .history import save_figure

__all__ = ["plot_augment"]

PathLike = Union[str, os.PathLike]
TILE_INCHES = 1.3
DPI = 100


def plot_augment(images: Any, path: PathLike, *, title: str = "") -> None:
    """``images`` ``(1 + m, H, W)`` (pixel values, 0 blank and 1 full ink; drawn dark on light): the
    first, titled ``original``, at the top left, and the ``m`` others, ``draw 1`` ... ``draw m``, in an
    about square grid to its right (4 x 4 for 16 draws), written to ``path`` as a PNG with ``title``
    above."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3 or images.shape[0] == 0:
        _checks.fail(ValueError, "images", "an array (m, H, W) with m >= 1", _checks.describe(images))
    draws = images.shape[0] - 1
    columns = max(1, math.ceil(math.sqrt(draws)))
    rows = max(1, math.ceil(draws / columns))
    header = 0.4 if title else 0.0
    height = rows * TILE_INCHES + header
    figure = Figure(figsize=((columns + 1.2) * TILE_INCHES, height))
    if title:
        figure.suptitle(title, y=1 - 0.08 / height, va="top", fontsize="medium")
    grid = figure.add_gridspec(rows, columns + 2, width_ratios=(1, 0.2) + (1,) * columns,
                               top=1 - header / height, bottom=0.02, left=0.02, right=0.98, hspace=0.3,
                               wspace=0.1)
    tiles = [grid[0, 0]] + [grid[k // columns, 2 + k % columns] for k in range(draws)]
    for k, (tile, image) in enumerate(zip(tiles, images)):
        axes = figure.add_subplot(tile)
        axes.imshow(image, cmap="gray_r", vmin=0.0, vmax=1.0, interpolation="nearest")
        axes.set_title("original" if k == 0 else f"draw {k}", fontsize="small", pad=2)
        axes.set_axis_off()
    save_figure(figure, path, DPI)
