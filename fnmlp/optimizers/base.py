"""What every optimizer shares: the ``Optimizer`` record, the empty state, and the checks.

A *transform* is a frozen record with ``init(params) -> state`` and
``update(updates, state, params) -> (new_updates, new_state)``: it maps gradients (or the updates an
earlier transform made of them) to new updates, as optax's ``GradientTransformation`` does. It may
also offer ``update_flat(updates, state, params, layout) -> new_state``, the same step on flat
buffers (``fnmlp.flat.FlatLayout``): ``updates`` (1-D) becomes the new updates and the state's
buffers the new ones, in place; ``fit`` uses it, and ``flat_update`` falls back to ``update`` for a
transform without one. An elementwise transform also offers ``flat_block(updates, state, params,
layout) -> (block, new_state)``: ``block(start, stop)`` does the step on ``[start, stop)`` of the
buffers. A chain of such transforms, and the parameters' update after it, then run block after block
(each block's buffers stay in the cache through the whole chain), on every thread of
``fnmlp.utils.threads`` (elementwise work: the same bits on any number of threads). Transforms check
nothing: ``Optimizer.update`` checks, then runs them.

``init`` and ``update`` work on arrays of any array-API library (all of one library and device): the
state takes the parameters' namespace and device. ``update_flat`` is NumPy's (``fit``'s fast path).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import attrs
import numpy as np

from ..utils import checks as _checks
from ..utils import namespace, threads
from ..model.flat import FlatLayout
from ..model.params import Params
from ..model.tree import tree_leaves, tree_map


@namespace.pytree_class
@attrs.frozen
class EmptyState:
    """The state of a transform that keeps none."""


def zeros_like(array: np.ndarray) -> np.ndarray:
    """Zeros of ``array``'s shape and dtype (``np.zeros``: pages are touched only when written), in
    its namespace and on its device."""
    if type(array) is not np.ndarray and namespace.is_foreign(array):
        xp = namespace.array_namespace(array)
        return xp.zeros(tuple(array.shape), dtype=array.dtype, device=namespace.device(array))
    return np.zeros(array.shape, array.dtype)


def flat_update(transform: Any, updates: np.ndarray, state: Any, params: np.ndarray, layout: FlatLayout) -> Any:
    """``transform``'s step on flat buffers: its ``update_flat`` if it has one, else its pure ``update``
    on views of the buffers, copied back into ``updates``. Returns the new (flat) state."""
    fast = getattr(transform, "update_flat", None)
    if fast is not None:
        return fast(updates, state, params, layout)
    new_updates, new_state = transform.update(layout.unflatten(updates), layout.unflatten_tree(state),
                                              layout.unflatten(params))
    updates[...] = layout.flatten(new_updates)
    return layout.flatten_tree(new_state)


BLOCK = 32768  # elements of each buffer a block step works on: a few of them fit in a core's L2 cache


def run_blocks(block: Any, size: int) -> None:
    """``block(start, stop)`` over ``range(size)`` in blocks of ``BLOCK``, a contiguous part of them
    on each thread."""
    def part(start: int, stop: int) -> None:
        for begin in range(start, stop, BLOCK):
            block(begin, min(begin + BLOCK, stop))
    threads.for_parts(size, part)


def flat_block(transform: Any, updates: np.ndarray, state: Any, params: np.ndarray, layout: FlatLayout) -> Any:
    """``(block, new_state)`` of ``transform``'s ``flat_block``, or ``None`` when it has none (its
    step is not elementwise)."""
    method = getattr(transform, "flat_block", None)
    return None if method is None else method(updates, state, params, layout)


def last_learning_rate(transform: Any, state: Any) -> float:
    """The learning rate ``transform`` used at its last step (its first, before any), or NaN when it
    has none."""
    method = getattr(transform, "last_learning_rate", None)
    return float(method(state)) if method is not None else math.nan


@attrs.frozen
class Optimizer:
    """A transform applied to parameters: ``update`` turns gradients into ``updates`` through
    ``transform`` and returns ``params + updates``.

    Build one with ``fnmlp.optimizers.sgd``, ``adam``, ``adamw``, or from transforms:
    ``Optimizer(chain(clip_by_global_norm(1.0), scale_by_adam(), scale_by_learning_rate(1e-3)))``.
    """

    transform: Any = attrs.field()

    @transform.validator
    def _check_transform(self, attribute: Any, value: Any) -> None:
        for method in ("init", "update"):
            if not callable(getattr(value, method, None)):
                _checks.fail(TypeError, "transform", "a transform with init and update methods",
                             _checks.describe(value))

    def init(self, params: Params) -> Any:
        """The state before the first step: zero moments and step counts, shaped like ``params``."""
        _checks.instance("params", params, Params)
        return self.transform.init(params)

    def update(self, grads: Params, opt_state: Any, params: Params) -> tuple:
        """One step: ``(new_params, new_opt_state)``; the arguments are left as they were.

        ``grads`` must be float32 or float64 arrays shaped like ``params``, finite (a NaN gradient
        raises ``ValueError`` rather than spreading into the parameters); they are computed in the
        parameters' dtype. ``opt_state`` must be what ``init`` or ``update`` gave for such ``params``.
        """
        _checks.instance("grads", grads, Params)
        _checks.instance("params", params, Params)
        _check_same_shapes("grads", grads, params)
        check_tree_like("params", params, params, finite=False)
        check_tree_like("grads", grads, params, finite=True)
        self.check_state("opt_state", opt_state, params)
        xp, _ = namespace.common_namespace([(f"params{name}", a) for name, a in _named_leaves(params)]
                                           + [(f"grads{name}", a) for name, a in _named_leaves(grads)]
                                           + [(f"opt_state{name}", a) for name, a in _named_leaves(opt_state)])
        grads = tree_map(lambda g, p: namespace.astype(xp, g, p.dtype), grads, params)
        updates, new_state = self.transform.update(grads, opt_state, params)
        return apply_updates(params, updates), new_state

    def update_flat(self, grads: np.ndarray, opt_state: Any, params: np.ndarray, layout: FlatLayout) -> Any:
        """``update`` on flat buffers the caller owns, unchecked: ``grads`` becomes the updates,
        ``params`` the new parameters, and the state's buffers the new ones; returns the new state."""
        blocked = flat_block(self.transform, grads, opt_state, params, layout)
        if blocked is None:
            new_state = flat_update(self.transform, grads, opt_state, params, layout)
            params += grads
            return new_state
        step, new_state = blocked

        def block(start: int, stop: int) -> None:
            step(start, stop)
            params[start:stop] += grads[start:stop]
        run_blocks(block, layout.size)
        return new_state

    def learning_rate(self, opt_state: Any) -> float:
        """The learning rate of the last step ``opt_state`` has seen (NaN for a transform without one)."""
        return last_learning_rate(self.transform, opt_state)

    def check_state(self, name: str, opt_state: Any, params: Params, finite: bool = False) -> None:
        """Raise, naming the first part of ``opt_state`` that differs, unless it is a state of this
        optimizer for ``params`` (same records, shapes and float dtypes)."""
        check_tree_like(name, opt_state, self.transform.init(params), finite=finite)


def apply_updates(params: Params, updates: Params) -> Params:
    """``params + updates``, leaf by leaf, in the parameters' dtypes."""
    return tree_map(_add, params, updates)


def _add(p: Any, u: Any) -> Any:
    if type(p) is np.ndarray:
        return np.add(p, u, dtype=p.dtype)
    return p + namespace.astype(namespace.array_namespace(p), u, p.dtype)


def _named_leaves(tree: Any, name: str = "") -> list:
    """``[(path, array), ...]`` for the arrays of ``tree``, paths as ``check_tree_like`` names them
    (``.mu.W[0]``, ``[1].trace.b[2]``)."""
    if isinstance(tree, np.ndarray) or namespace.is_foreign(tree):
        return [(name, tree)]
    if isinstance(tree, (tuple, list)):
        return [pair for i, item in enumerate(tree) for pair in _named_leaves(item, f"{name}[{i}]")]
    if attrs.has(type(tree)):
        return [pair for field in attrs.fields(type(tree))
                for pair in _named_leaves(getattr(tree, field.name), f"{name}.{field.name}")]
    return []


def _check_same_shapes(name: str, tree: Params, params: Params) -> None:
    shapes, wanted = [tuple(a.shape) for a in tree_leaves(tree)], [tuple(a.shape) for a in tree_leaves(params)]
    if shapes != wanted:
        _checks.fail(ValueError, name, f"arrays shaped like params {wanted}", shapes)


def check_tree_like(name: str, tree: Any, reference: Any, finite: bool = False) -> None:
    """Raise unless ``tree`` has ``reference``'s records, tuple lengths, array shapes (float32 or
    float64, finite with ``finite``) and integer counts (at least 0); the message names the part,
    e.g. ``opt_state[1].mu.W[0]``."""
    if isinstance(reference, np.ndarray) or namespace.is_foreign(reference):
        if not (isinstance(tree, np.ndarray) or namespace.is_foreign(tree)):
            _checks.fail(TypeError, name, f"an array of shape {tuple(reference.shape)}", type(tree).__name__)
        if tuple(tree.shape) != tuple(reference.shape):
            _checks.fail(ValueError, name, f"shape {tuple(reference.shape)}", f"shape {tuple(tree.shape)}")
        if not _checks.is_float_array(tree):
            _checks.fail(TypeError, name, "dtype float32 or float64", _checks.dtype_of(tree))
        if finite:
            _checks.all_finite(name, tree)
    elif isinstance(reference, (tuple, list)):
        if not isinstance(tree, (tuple, list)):
            _checks.fail(TypeError, name, f"a tuple of {len(reference)} states", type(tree).__name__)
        if len(tree) != len(reference):
            _checks.fail(ValueError, name, f"{len(reference)} entries", len(tree))
        for i, (item, wanted) in enumerate(zip(tree, reference)):
            check_tree_like(f"{name}[{i}]", item, wanted, finite)
    elif attrs.has(type(reference)):
        _checks.instance(name, tree, type(reference))
        sep = "." if name else ""
        for field in attrs.fields(type(reference)):
            check_tree_like(f"{name}{sep}{field.name}", getattr(tree, field.name), getattr(reference, field.name),
                            finite)
    elif isinstance(reference, numbers.Integral) and not namespace.is_traced(tree):
        _checks.integer(name, tree, minimum=0)
