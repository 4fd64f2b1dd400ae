"""``augment.png``: what a configuration's augmentation does to one training image, drawn without
training."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np

from ..training.config import ConfigError, TrainConfig
from .augmentation import row_augment
from .train import RunError, check_dataset, load_splits

__all__ = ["AUGMENT_PICTURE", "PREVIEW_DRAWS", "show_augment"]

AUGMENT_PICTURE = "augment.png"
PREVIEW_DRAWS = 16  # a 4 x 4 grid beside the original

PathLike = Union[str, "os.PathLike[str]"]


def show_augment(config: TrainConfig, directory: PathLike) -> Path:
    """Draw ``augment.png`` in ``directory`` (created if missing): the first training image of
    ``config``'s data set and ``PREVIEW_DRAWS`` draws of ``config.augment`` on it (from
    ``config.seed``), in pixel values. Returns the picture's path. Raises ``ConfigError`` naming
    ``augment`` when ``config`` has none or its data set has no square images, ``RunError`` naming
    ``directory`` when it cannot be made."""
    from ..plots.augment import plot_augment  # matplotlib only where a picture is drawn

    if not config.augment:
        raise ConfigError("augment", "expected augmentation tokens to show, got none")
    check_dataset(config)
    dataset, splits = load_splits(config)
    first = splits["train"].x[:1]
    augment = row_augment(config, first.shape[1], dataset.pixel_mean, dataset.pixel_std)
    draws = augment(np.repeat(first, PREVIEW_DRAWS, axis=0), np.random.default_rng(config.seed))
    pixels = np.concatenate([first, draws]) * dataset.pixel_std + dataset.pixel_mean
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunError("directory", f"cannot create {directory}: {error.strerror or error}") from None
    path = directory / AUGMENT_PICTURE
    plot_augment(pixels.reshape(-1, *augment.image_shape), path, title=" ".join(config.augment))
    return path
