"""A run's augmentation: the ``RowAugment`` its configuration's ``augment`` tokens make for its data set."""

from __future__ import annotations

import math
from typing import Optional

from ..training.augment import RowAugment
from ..training.augment_spec import parse_augment
from ..training.config import ConfigError, TrainConfig

__all__ = ["row_augment"]


def row_augment(config: TrainConfig, num_features: int, pixel_mean: float = 0.0,
                pixel_std: float = 1.0) -> Optional[RowAugment]:
    """The ``RowAugment`` of ``config.augment`` for rows of ``num_features`` pixels standardised as
    ``(pixels - pixel_mean) / pixel_std``, or ``None`` without augmentation. The images are square
    (``side = isqrt(num_features)``); transforms fill with a blank pixel's standardised value,
    ``-pixel_mean / pixel_std``, where a token gives no ``fill``. A ``ConfigError`` naming
    ``augment`` when the rows are not square images."""
    if not config.augment:
        return None
    side = math.isqrt(num_features)
    if side * side != num_features:
        raise ConfigError("augment", f"expected a data set of square images to transform, got rows of "
                                     f"{num_features} features, which is not a square number")
    return RowAugment(parse_augment(config.augment, fill=-pixel_mean / pixel_std), (side, side))
