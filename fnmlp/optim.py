"""Optimizers as pairs of pure functions, in the style of optax: ``init`` and ``update``."""

from __future__ import annotations

import attrs
import numpy as np

from . import _checks
from .params import Params
from .tree import tree_leaves, tree_map


@attrs.frozen(eq=False)
class SGDState:
    """``velocity``: a ``Params`` of the same shapes as the parameters, the momentum buffer."""

    velocity: Params


@attrs.frozen
class SGD:
    """Stochastic gradient descent with (heavy-ball) momentum.

    ``update`` computes, for every parameter ``p`` with gradient ``g`` and velocity ``v``::

        v = momentum * v - lr * g
        p = p + v

    With ``momentum = 0`` this is plain SGD, ``p = p - lr * g``.
    """

    lr: float = attrs.field(converter=lambda v: _checks.real("lr", v, minimum=0.0))
    momentum: float = attrs.field(default=0.0,
                                  converter=lambda v: _checks.real("momentum", v, minimum=0.0, below=1.0))

    def init(self, params: Params) -> SGDState:
        """Zero velocity shaped like ``params``."""
        _checks.instance("params", params, Params)
        return SGDState(velocity=tree_map(np.zeros_like, params))

    def update(self, grads: Params, opt_state: SGDState, params: Params) -> tuple[Params, SGDState]:
        """One step: ``(new_params, new_opt_state)``; arguments are left as they were.

        Every array must be float32 or float64 and shaped like ``params``. A NaN or infinite
        gradient raises ``ValueError`` rather than spreading into the parameters; the check is one
        read of the gradients, which the update reads anyway (``fit`` skips it and watches the loss).
        """
        _checks.instance("grads", grads, Params)
        _checks.instance("opt_state", opt_state, SGDState)
        _checks.instance("params", params, Params)
        _checks.instance("opt_state.velocity", opt_state.velocity, Params)
        for name, tree in (("grads", grads), ("opt_state.velocity", opt_state.velocity)):
            _check_same_shapes(name, tree, params)
        for name, tree in (("params", params), ("grads", grads), ("opt_state.velocity", opt_state.velocity)):
            _check_leaves(name, tree, finite=name == "grads")
        return self._update(grads, opt_state, params)

    def _update(self, grads: Params, opt_state: SGDState, params: Params) -> tuple[Params, SGDState]:
        velocity = tree_map(lambda v, g: self._velocity(v, (self.lr * g).astype(v.dtype, copy=False)),
                            opt_state.velocity, grads)
        return tree_map(lambda p, v: np.add(p, v, dtype=p.dtype), params, velocity), SGDState(velocity=velocity)

    def _update_in_place(self, scaled_grads: np.ndarray, velocity: np.ndarray, params: np.ndarray) -> None:
        """``_update`` on flat buffers the caller owns (see ``FlatLayout``), given ``lr * grads``:
        ``velocity`` and ``params`` become the new ones, in three ufunc calls and no new arrays."""
        self._velocity(velocity, scaled_grads, out=velocity)
        params += velocity

    def _velocity(self, velocity: np.ndarray, scaled_grads: np.ndarray, out: np.ndarray = None) -> np.ndarray:
        """``momentum * velocity - scaled_grads``, ``scaled_grads`` being ``lr * grads``; into ``out`` if
        given (it may be ``velocity``)."""
        new = np.multiply(velocity, self.momentum, out=out)
        new -= scaled_grads
        return new


def sgd(lr: float, momentum: float = 0.0) -> SGD:
    """An SGD optimizer: ``v = momentum * v - lr * g; p = p + v`` (see ``SGD``)."""
    return SGD(lr, momentum)


def _check_same_shapes(name: str, tree: Params, params: Params) -> None:
    leaves, wanted = tree_leaves(tree), tree_leaves(params)
    shapes, wanted_shapes = [a.shape for a in leaves], [a.shape for a in wanted]
    if shapes != wanted_shapes:
        _checks.fail(ValueError, name, f"arrays shaped like params {wanted_shapes}", shapes)


def _check_leaves(name: str, tree: Params, finite: bool) -> None:
    """Raise unless every array of ``tree`` is float32 or float64 and, with ``finite``, free of NaN and infinity."""
    for field in attrs.fields(Params):
        for i, leaf in enumerate(getattr(tree, field.name)):
            if leaf.dtype not in _checks.FLOAT_DTYPES:
                _checks.fail(TypeError, f"{name}.{field.name}[{i}]", "dtype float32 or float64", leaf.dtype)
            if finite:
                _checks.all_finite(f"{name}.{field.name}[{i}]", leaf)
