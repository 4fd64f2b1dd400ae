"""Softmax cross-entropy, computed with the LogSumExp trick, and its metric, the classification error.

An example's loss is ``-log softmax(logits)[label]``; the batch loss is the mean over examples.
NumPy arrays are computed with fancy indexing into buffers; another array-API library's with the
standard's functions (the label's entry picked by a one-hot mask), the same arithmetic.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from ...utils import checks as _checks
from ...utils import namespace
from ...utils.namespace import array_namespace, is_foreign, scalar
from .base import Loss, register_loss


@attrs.frozen(eq=False)
class SoftmaxCrossEntropyCache:
    """``probs`` ``(batch, classes)``, the softmax; ``labels`` ``(batch,)`` integer classes."""

    probs: np.ndarray
    labels: np.ndarray


def class_indices(labels: Any, num_classes: int, name: str = "labels") -> np.ndarray:
    """Validate one-hot ``(batch, num_classes)`` or integer ``(batch,)`` labels; return int64 indices
    (another library's labels: integer indices in its namespace)."""
    if is_foreign(labels):
        return _foreign_indices(labels, num_classes, name)
    labels = np.asarray(labels)
    if labels.ndim == 2:
        if labels.shape[1] != num_classes:
            _checks.fail(ValueError, name, f"one-hot rows of width {num_classes}", f"shape {labels.shape}")
        if labels.dtype.kind not in "biuf":
            _checks.fail(TypeError, name, "numeric one-hot rows", f"dtype {labels.dtype}")
        if not (((labels == 0) | (labels == 1)).all() and (labels.sum(axis=1) == 1).all()):
            _checks.fail(ValueError, name, "one-hot rows (a single 1, the rest 0)",
                         "rows with other values" if np.isfinite(labels).all() else "NaN or infinity")
        return labels.argmax(axis=1)
    if labels.ndim == 1:
        if labels.dtype.kind not in "iu":
            got = f"dtype {labels.dtype}"
            if labels.dtype.kind == "f" and np.isfinite(labels).all() and (labels == np.round(labels)).all():
                got += " (whole numbers: pass labels.astype(int))"
            _checks.fail(TypeError, name, "integer class indices or one-hot rows", got)
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            _checks.fail(ValueError, name, f"class indices in 0..{num_classes - 1}",
                         f"values in {labels.min()}..{labels.max()}")
        return labels.astype(np.int64, copy=False)
    _checks.fail(ValueError, name, "one-hot (batch, classes) or indices (batch,)", f"shape {labels.shape}")


def _foreign_indices(labels: Any, num_classes: int, name: str) -> Any:
    """``class_indices`` for another library's ``labels``, kept in its namespace and on its device."""
    xp = array_namespace(labels)
    shape, kind = tuple(labels.shape), namespace.dtype_name(xp, labels.dtype)
    if len(shape) == 2:
        if shape[1] != num_classes:
            _checks.fail(ValueError, name, f"one-hot rows of width {num_classes}", f"shape {shape}")
        if not xp.isdtype(labels.dtype, ("bool", "integral", "real floating")):
            _checks.fail(TypeError, name, "numeric one-hot rows", f"dtype {kind}")
        if not (bool(xp.all((labels == 0) | (labels == 1))) and bool(xp.all(xp.count_nonzero(labels, axis=1) == 1))):
            _checks.fail(ValueError, name, "one-hot rows (a single 1, the rest 0)", "rows with other values")
        return xp.argmax(xp.astype(labels, xp.int32) if kind == "bool" else labels, axis=1)
    if len(shape) == 1:
        if not xp.isdtype(labels.dtype, "integral"):
            _checks.fail(TypeError, name, "integer class indices or one-hot rows", f"dtype {kind}")
        low, high = (int(xp.min(labels)), int(xp.max(labels))) if shape[0] else (0, 0)
        if low < 0 or high >= num_classes:
            _checks.fail(ValueError, name, f"class indices in 0..{num_classes - 1}", f"values in {low}..{high}")
        return labels
    _checks.fail(ValueError, name, "one-hot (batch, classes) or indices (batch,)", f"shape {shape}")


def _label_mask(logits: Any, labels: Any) -> Any:
    """``(batch, classes)`` booleans, true at each row's label (another library's arrays)."""
    xp = array_namespace(logits)
    classes = xp.arange(logits.shape[1], device=namespace.device(logits))
    return xp.astype(labels, classes.dtype)[:, None] == classes[None, :]


def one_hot(labels: Any, num_classes: int = 10, dtype: Any = np.float64) -> np.ndarray:
    """Integer labels ``(n,)`` as one-hot rows ``(n, num_classes)`` of ``dtype`` (any numeric dtype;
    another library's labels give its dtype of that name, in its namespace)."""
    num_classes = _checks.integer("num_classes", num_classes, minimum=1)
    try:
        resolved = np.dtype(dtype)
    except (TypeError, ValueError):
        resolved = None
    if resolved is None or resolved.kind not in "biuf":
        _checks.fail(TypeError, "dtype", "a numeric dtype such as float64", _checks.describe(dtype))
    indices = class_indices(labels, num_classes)
    if is_foreign(indices):
        xp = array_namespace(indices)
        namespace.require_dtype("dtype", xp, namespace.device(indices), resolved.name)
        mask = xp.astype(indices, xp.int64)[:, None] == xp.arange(num_classes, device=namespace.device(indices))
        return xp.astype(mask, getattr(xp, resolved.name))
    out = np.zeros((indices.shape[0], num_classes), dtype=resolved)
    out[np.arange(indices.shape[0]), indices] = 1
    return out


def log_softmax(logits: Any) -> np.ndarray:
    """``logits - logsumexp(logits)`` row by row, ``(batch, classes)`` float32/float64 (integers become
    float64); finite for any finite logits."""
    logits = _checks.float_array("logits", logits, ndim=2)
    if is_foreign(logits):
        xp = array_namespace(logits)
        shifted = logits - xp.max(logits, axis=1, keepdims=True)
        return shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
    shifted = logits - logits.max(axis=1, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return shifted


def _exp_shifted(logits: np.ndarray, labels: np.ndarray) -> tuple:
    """``exp(shifted)`` ``(batch, classes)``, its row sums ``(batch,)`` and ``shifted`` at each label
    ``(batch,)``, where ``shifted`` is ``logits`` less each row's maximum (so ``exp`` cannot overflow).
    ``-log softmax(logits)[label]`` is then ``log(sums) - at_labels``."""
    if is_foreign(logits):
        xp = array_namespace(logits)
        shifted = logits - xp.max(logits, axis=1, keepdims=True)
        at_labels = xp.sum(xp.where(_label_mask(logits, labels), shifted, xp.zeros_like(shifted)), axis=1)
        exp = xp.exp(shifted)
        return exp, xp.sum(exp, axis=1), at_labels
    shifted = logits - logits.max(axis=1, keepdims=True)
    at_labels = shifted[np.arange(logits.shape[0]), labels]
    exp = np.exp(shifted, out=shifted)
    return exp, exp.sum(axis=1), at_labels


def _softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray):
    probs, sums, at_labels = _exp_shifted(logits, labels)
    if is_foreign(logits):
        return array_namespace(logits).log(sums) - at_labels, SoftmaxCrossEntropyCache(probs / sums[:, None], labels)
    losses = np.log(sums)
    losses -= at_labels
    probs /= sums[:, None]
    return losses, SoftmaxCrossEntropyCache(probs, labels)


def _loss_sum_and_grad(logits: np.ndarray, labels: np.ndarray, scale: float = 1.0) -> tuple:
    """The training step's fused form: ``(sum of the losses, scale * (softmax - one_hot) / batch)``,
    the first a float; no cache, and a few NumPy calls fewer than going through one."""
    grad, sums, at_labels = _exp_shifted(logits, labels)
    if is_foreign(logits):
        xp = array_namespace(logits)
        loss_sum = scalar(xp.sum(xp.log(sums))) - scalar(xp.sum(at_labels))
        grad = (grad / sums[:, None] - xp.astype(_label_mask(logits, labels), grad.dtype)) / logits.shape[0]
        return loss_sum, grad * scale if scale != 1.0 else grad
    loss_sum = float(np.log(sums).sum()) - float(at_labels.sum())
    grad /= sums[:, None]
    grad[np.arange(logits.shape[0]), labels] -= 1.0
    grad /= logits.shape[0]
    if scale != 1.0:
        grad *= scale
    return loss_sum, grad


def softmax_cross_entropy(logits: Any, labels: Any):
    """Per-example losses ``-log softmax(logits)[label]`` and the cache for the gradient.

    ``logits`` ``(batch, classes)`` float32/float64; ``labels`` one-hot ``(batch, classes)`` or integer
    ``(batch,)``. Returns ``(losses, cache)``, ``losses`` of shape ``(batch,)`` in ``logits``' dtype.
    """
    logits = _checks.float_array("logits", logits, ndim=2)
    labels = class_indices(labels, logits.shape[1])
    namespace.common_namespace([("logits", logits), ("labels", labels)])
    if labels.shape[0] != logits.shape[0]:
        _checks.fail(ValueError, "labels", f"{logits.shape[0]} rows, as many as logits", labels.shape[0])
    return _softmax_cross_entropy(logits, labels)


def softmax_cross_entropy_grad(cache: SoftmaxCrossEntropyCache) -> np.ndarray:
    """The gradient of each example's loss with respect to its logits: ``softmax - one_hot``."""
    _checks.instance("cache", cache, SoftmaxCrossEntropyCache)
    return _per_example_grad(cache)


def _per_example_grad(cache: SoftmaxCrossEntropyCache) -> np.ndarray:
    if is_foreign(cache.probs):
        xp = array_namespace(cache.probs)
        return cache.probs - xp.astype(_label_mask(cache.probs, cache.labels), cache.probs.dtype)
    grad = cache.probs.copy()
    grad[np.arange(grad.shape[0]), cache.labels] -= 1.0
    return grad


def _error_totals(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``[n, wrong]``: rows, and rows whose largest logit is not at the label (NumPy, on the host)."""
    if is_foreign(logits):
        xp = array_namespace(logits)
        wrong = int(xp.count_nonzero(xp.astype(xp.argmax(logits, axis=1), labels.dtype) != labels))
        return np.array([logits.shape[0], wrong], dtype=np.float64)
    return np.array([logits.shape[0], np.count_nonzero(logits.argmax(axis=1) != labels)], dtype=np.float64)


def error_from_totals(totals: np.ndarray) -> float:
    """The classification error, a fraction: ``wrong / n``."""
    return float(totals[1] / totals[0])


SOFTMAX_CROSS_ENTROPY = register_loss(Loss("softmax_cross_entropy", class_indices, _softmax_cross_entropy,
                                           _per_example_grad, "error", _error_totals, error_from_totals,
                                           greater_is_better=False, fused=_loss_sum_and_grad))
