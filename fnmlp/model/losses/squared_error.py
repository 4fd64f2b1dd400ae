"""Mean squared error, for regression with any number of outputs, and its metric R^2.

An example's loss is the mean over its ``k`` outputs of the squared error, ``mean_j (o_j - y_j)^2``,
and the batch loss the mean over examples, so the batch loss equals
``torch.nn.MSELoss(reduction="mean")`` (no factor 1/2: scikit-learn's ``squared_loss`` is half of it).
R^2 is scikit-learn's ``r2_score`` with ``multioutput="uniform_average"``.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from ...utils import checks as _checks
from ...utils import namespace
from ...utils.namespace import array_namespace, astype, is_foreign, scalar
from .base import Loss, register_loss


@attrs.frozen(eq=False)
class SquaredErrorCache:
    """``diff`` ``(batch, k)``: outputs less targets."""

    diff: np.ndarray


def regression_targets(targets: Any, num_outputs: int, name: str = "targets") -> np.ndarray:
    """Finite float targets ``(batch, num_outputs)`` (``(batch,)`` accepted for one output); integer
    and boolean arrays become float64."""
    targets = _checks.float_array(name, targets, ndim=None)
    if targets.ndim == 1 and num_outputs == 1:
        targets = array_namespace(targets).reshape(targets, (-1, 1)) if is_foreign(targets) else targets.reshape(-1, 1)
    if targets.ndim != 2 or targets.shape[1] != num_outputs or targets.shape[0] == 0:
        expected = f"float targets of shape (batch, {num_outputs})" + (" or (batch,)" if num_outputs == 1 else "")
        _checks.fail(ValueError, name, expected, f"shape {tuple(targets.shape)}")
    return targets


def _mse(outputs: np.ndarray, targets: np.ndarray) -> tuple:
    if is_foreign(outputs):
        xp = array_namespace(outputs)
        diff = outputs - astype(xp, targets, outputs.dtype)
        return xp.sum(diff * diff, axis=1) / outputs.shape[1], SquaredErrorCache(diff)
    diff = outputs - targets.astype(outputs.dtype, copy=False)
    losses = np.einsum("ij,ij->i", diff, diff) / outputs.shape[1]
    return losses, SquaredErrorCache(diff)


def _mse_grad(cache: SquaredErrorCache) -> np.ndarray:
    return cache.diff * (2.0 / cache.diff.shape[1])


def _mse_fused(outputs: np.ndarray, targets: np.ndarray, scale: float = 1.0) -> tuple:
    if is_foreign(outputs):
        xp = array_namespace(outputs)
        diff = outputs - astype(xp, targets, outputs.dtype)
        loss_sum = scalar(xp.sum(diff * diff)) / outputs.shape[1]
        return loss_sum, diff * (2.0 * scale / (outputs.shape[0] * outputs.shape[1]))
    diff = outputs - targets.astype(outputs.dtype, copy=False)
    loss_sum = float(np.vdot(diff, diff)) / outputs.shape[1]
    diff *= 2.0 * scale / diff.size
    return loss_sum, diff


def mean_squared_error(outputs: Any, targets: Any) -> tuple:
    """Per-example ``mean_j (outputs - targets)^2`` ``(batch,)`` and the cache for the gradient.

    ``outputs`` ``(batch, k)`` float32/float64; ``targets`` ``(batch, k)`` (or ``(batch,)`` when
    ``k == 1``). The losses have ``outputs``' dtype."""
    outputs = _checks.float_array("outputs", outputs, ndim=2)
    targets = regression_targets(targets, outputs.shape[1])
    namespace.common_namespace([("outputs", outputs), ("targets", targets)])
    if targets.shape[0] != outputs.shape[0]:
        _checks.fail(ValueError, "targets", f"{outputs.shape[0]} rows, as many as outputs", targets.shape[0])
    return _mse(outputs, targets)


def mean_squared_error_grad(cache: SquaredErrorCache) -> np.ndarray:
    """Each example's gradient ``2 (outputs - targets) / k`` ``(batch, k)``."""
    _checks.instance("cache", cache, SquaredErrorCache)
    return _mse_grad(cache)


def _r2_totals(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """``[n, sum y (k), sum y^2 (k), sum (y - o)^2 (k)]`` in float64 (NumPy, on the host)."""
    if is_foreign(outputs):
        outputs, targets = namespace.to_numpy(outputs), namespace.to_numpy(targets)
    y = targets.astype(np.float64, copy=False)
    diff = outputs.astype(np.float64, copy=False) - y
    return np.concatenate([[y.shape[0]], y.sum(axis=0), np.einsum("ij,ij->j", y, y),
                           np.einsum("ij,ij->j", diff, diff)])


def r2_from_totals(totals: np.ndarray) -> float:
    """scikit-learn's ``r2_score`` (uniform average over outputs, ``force_finite``): per output
    ``1 - SS_res / SS_tot``, 1 where both are 0, 0 where only ``SS_tot`` is. ``SS_tot`` is
    ``sum y^2 - (sum y)^2 / n``, which loses precision when the targets' mean dwarfs their spread."""
    n = totals[0]
    k = (totals.shape[0] - 1) // 3
    sum_y, sum_y2, ss_res = totals[1:1 + k], totals[1 + k:1 + 2 * k], totals[1 + 2 * k:]
    ss_tot = np.maximum(sum_y2 - sum_y * sum_y / n, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.where(ss_res == 0, 1.0, 0.0))
    return float(r2.mean())


MEAN_SQUARED_ERROR = register_loss(Loss("mse", regression_targets, _mse, _mse_grad, "r2", _r2_totals, r2_from_totals,
                                        greater_is_better=True, fused=_mse_fused))
