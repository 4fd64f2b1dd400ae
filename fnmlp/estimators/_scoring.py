"""``score``'s figures with ``sample_weight``: a weighted mean (the classifier's accuracy) and
scikit-learn's weighted ``r2_score`` (the regressor's)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..utils import checks as _checks


def weights(sample_weight: Any, n: int) -> np.ndarray:
    """``sample_weight`` as ``(n,)`` floats, or ones when it is ``None``."""
    if sample_weight is None:
        return np.ones(n)
    checked = _checks.float_array("sample_weight", sample_weight, ndim=1)
    if checked.shape[0] != n:
        _checks.fail(ValueError, "sample_weight", f"{n} weights, one per row", checked.shape[0])
    return checked


def weighted_mean(values: np.ndarray, sample_weight: Any) -> float:
    return float(np.average(values, weights=weights(sample_weight, values.shape[0])))


def weighted_r2(y: np.ndarray, predicted: np.ndarray, sample_weight: Any) -> float:
    """``r2_score(y, predicted, sample_weight=...)`` of ``(n, k)`` arrays: the R^2 of each column,
    averaged; a constant column predicted exactly scores 1. (Unweighted, it is the MSE loss's metric.)"""
    w = weights(sample_weight, y.shape[0])[:, None]
    residual = (w * (y - predicted) ** 2).sum(axis=0)
    total = (w * (y - np.average(y, axis=0, weights=w[:, 0])) ** 2).sum(axis=0)
    scores = np.where(total > 0, 1.0 - residual / np.where(total > 0, total, 1.0),
                      np.where(residual == 0, 1.0, 0.0))
    return float(scores.mean())
