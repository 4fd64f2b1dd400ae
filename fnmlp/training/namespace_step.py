"""``fit`` on another array library's arrays (PyTorch, CuPy, JAX, array_api_strict, ...).

NumPy's ``fit`` updates flat buffers in place; here each batch makes new records instead, from the
pure kernels (``fnmlp.model.kernels.loss_and_grads``) and the optimizer's transform, on the data's
device. What stays on the host is what decides the run's randomness: the shuffled ``order`` (a NumPy
index array, so the batches are NumPy's) and the dropout masks (drawn from the NumPy generator and
moved), so a run visits the same batches with the same masks as in NumPy, and differs from it only by
the rounding of the library's products and sums.
"""

from __future__ import annotations

from typing import Any, Callable

import attrs
import numpy as np

from ..utils import checks as _checks
from ..utils import namespace
from ..model import kernels
from ..model.params import BatchNormState, Params
from ..model.spec import MLPSpec
from ..model.tree import tree_map
from ..optimizers import Optimizer, apply_updates

__all__ = ["named_arrays", "fit_namespace", "check_float_x", "check_xy", "RecordStep"]


def named_arrays(name: str, tree: Any) -> list:
    """``[(name.W[0], array), ...]`` for the arrays of a record, tuple or optimizer state."""
    if isinstance(tree, np.ndarray) or namespace.is_foreign(tree):
        return [(name, tree)]
    if isinstance(tree, (tuple, list)):
        return [pair for i, item in enumerate(tree) for pair in named_arrays(f"{name}[{i}]", item)]
    if attrs.has(type(tree)):
        return [pair for field in attrs.fields(type(tree)) for pair in named_arrays(f"{name}.{field.name}",
                                                                             getattr(tree, field.name))]
    return []


def _xy(data: Any) -> tuple:
    """``(x, y)`` of a pair or a record with ``x`` and ``y``; ``()`` for anything else (checked later)."""
    if attrs.has(type(data)) and hasattr(data, "x") and hasattr(data, "y"):
        return data.x, data.y
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return tuple(data)
    return ()


def fit_namespace(prefix: str, train: tuple, validation: Any, test: Any, params: Params, bn_state: BatchNormState,
                  opt_state: Any = None, augment: Callable = None) -> tuple:
    """``(xp, device)`` of every array ``fit`` is given, the training ``x`` first: a ``TypeError`` names
    the first array of another library or device, and both. ``prefix`` (``""`` or ``"start."``) names
    the records. ``augment`` is refused for arrays other than NumPy's (it transforms NumPy batches)."""
    named = [("train x", train[0]), ("train labels", train[1])]
    for name, data in (("validation", validation), ("test", test)):
        named += [(f"{name} {part}", value) for part, value in zip(("x", "labels"), _xy(data))]
    named += named_arrays(f"{prefix}params", params) + named_arrays(f"{prefix}bn_state", bn_state)
    named += named_arrays(f"{prefix}opt_state", opt_state) if opt_state is not None else []
    xp, where = namespace.common_namespace(named)
    if xp is not np and augment is not None:
        _checks.fail(TypeError, "augment", f"None for arrays of {namespace.namespace_name(xp)} (augmentation "
                     "transforms NumPy batches: augment them in NumPy, or train there)", _checks.describe(augment))
    return xp, where


def check_float_x(name: str, x: Any) -> Any:
    """Another library's ``x``, unless it holds booleans, integers or float16, which ``fit`` refuses."""
    kind = _checks.dtype_of(x)
    if kind not in namespace.FLOAT_NAMES:
        xp = namespace.array_namespace(x)
        _checks.fail(TypeError, name, "float32 or float64, the dtypes fit trains in (convert with "
                     f"{namespace.namespace_name(xp)}'s astype)", f"dtype {kind}")
    return x


def check_xy(x_name: str, labels_name: str, spec: MLPSpec, x: Any, labels: Any, dtype: Any = None) -> tuple:
    """``fnmlp.training.loop``'s check of ``(x, targets)`` for another library's ``x``: finite, in
    ``dtype`` (a dtype of its namespace; default its own), targets as the loss takes them."""
    x = _checks.float_array(x_name, x, ndim=2, width=spec.layer_sizes[0], finite=False)
    xp = namespace.array_namespace(x)
    if dtype is not None:
        x = namespace.astype(xp, x, dtype)
    _checks.all_finite(x_name, x)
    labels = spec.loss.targets(labels, spec.layer_sizes[-1], labels_name)
    if namespace.is_foreign(labels) and xp.isdtype(labels.dtype, "real floating"):
        labels = namespace.astype(xp, labels, x.dtype)
    if labels.shape[0] != x.shape[0]:
        _checks.fail(ValueError, labels_name, f"{x.shape[0]} rows, as many as {x_name}", labels.shape[0])
    return x, labels


def _cast(tree: Any, xp: Any, dtype: Any) -> Any:
    """``tree`` with its float arrays in ``dtype`` (step counts kept)."""
    return tree_map(lambda a: namespace.astype(xp, a, dtype) if namespace.is_foreign(a) else a, tree)


class RecordStep:
    """``fit``'s training step for another library's ``x``: ``params``, ``bn_state`` and ``opt_state``
    are ``start``'s in ``x``'s dtype; ``step(dropout_rng)`` is ``run_epochs``' step, each batch making
    new parameters (kept in ``params``) and returning the new BatchNorm and optimizer states in its
    carry; ``gather`` takes batch rows on ``x``'s device. ``fnmlp.training.flat_step.FlatStep`` is the
    same interface on NumPy."""

    def __init__(self, spec: MLPSpec, optimizer: Optimizer, start: Any, x: Any):
        self.spec, self.optimizer = spec, optimizer
        self.xp, self.device = namespace.array_namespace(x), namespace.device(x)
        self.params = _cast(start.params, self.xp, x.dtype)
        self.bn_state = _cast(start.bn_state, self.xp, x.dtype)
        self.opt_state = _cast(start.opt_state, self.xp, x.dtype)

    def step(self, dropout_rng: Any) -> Callable:
        """``step(carry, xb, yb) -> (carry, loss_sum, metric_totals)``, ``carry = (bn_state, opt_state)``,
        dropout masks drawn from ``dropout_rng`` on the host."""
        spec, transform = self.spec, self.optimizer.transform

        def step(carry: tuple, xb: Any, yb: Any) -> tuple:
            bn_state, opt_state = carry
            mean_loss, outputs, grads, bn_state = kernels.loss_and_grads(spec, self.params, bn_state, xb, yb,
                                                                         rng=dropout_rng)
            updates, opt_state = transform.update(grads, opt_state, self.params)
            self.params = apply_updates(self.params, updates)
            return (bn_state, opt_state), mean_loss * xb.shape[0], spec.loss.metric_totals(outputs, yb)

        return step

    def snapshot(self, opt_state: Any) -> tuple:
        """``(params, opt_state)`` for a ``TrainState``: the records themselves, never written into."""
        return self.params, opt_state

    def gather(self, array: Any, rows: np.ndarray) -> Any:
        """``array``'s ``rows`` (a NumPy index array), taken on its device."""
        return self.xp.take(array, self.xp.asarray(rows, device=self.device), axis=0)
