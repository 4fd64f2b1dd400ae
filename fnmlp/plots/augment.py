"""``augment.png``: one image and draws of an augmentation of it, in a grid of tiles."""

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
    """A grid of ``images`` ``(m, H, W)`` (pixel values, 0 blank and 1 full ink; drawn dark on
    light), about square, the first titled ``original`` and the others ``draw 1``, ``draw 2`` ...,
    written to ``path`` as a PNG with ``title`` above."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3 or images.shape[0] == 0:
        _checks.fail(ValueError, "images", "an array (m, H, W) with m >= 1", _checks.describe(images))
    count = images.shape[0]
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    header = 0.4 if title else 0.0
    figure = Figure(figsize=(columns * TILE_INCHES, rows * TILE_INCHES + header))
    if title:
        figure.suptitle(title, y=1 - 0.08 / (rows * TILE_INCHES + header), va="top", fontsize="medium")
    grid = figure.add_gridspec(rows, columns, top=1 - header / (rows * TILE_INCHES + header), bottom=0.02,
                               left=0.02, right=0.98, hspace=0.3, wspace=0.1)
    for k, image in enumerate(images):
        axes = figure.add_subplot(grid[k // columns, k % columns])
        axes.imshow(image, cmap="gray_r", vmin=0.0, vmax=1.0, interpolation="nearest")
        axes.set_title("original" if k == 0 else f"draw {k}", fontsize="small", pad=2)
        axes.set_axis_off()
    save_figure(figure, path, DPI)
