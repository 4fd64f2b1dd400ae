"""The building blocks optimizers are chained from. Each maps updates (gradients, at first) to new
updates; the formulas are per array, ``u`` the incoming updates and ``p`` the parameters.

Each ``update`` runs the same ufunc calls as its ``update_flat`` (which writes into the buffers it is
given), so the pure and the flat step agree to the bit. On another array-API library's arrays
``update`` runs the same arithmetic as new arrays (``_on_numpy`` picks the NumPy branch), so
array_api_strict, which computes with NumPy, gives NumPy's values to the bit.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional, Union

import attrs
import numpy as np

from ..utils import checks as _checks
from ..utils.namespace import array_namespace, is_foreign, is_traced, pytree_class
from ..model.flat import FlatLayout
from ..model.params import Params
from ..model.tree import tree_leaves, tree_map
from .base import EmptyState, run_blocks, zeros_like


# --- Masks: which arrays weight decay touches ----------------------------------------------------

def weights_only(params: Params) -> Params:
    """The default mask: ``True`` for every weight matrix ``W``, ``False`` for biases and BatchNorm's
    ``gamma`` and ``beta``."""
    return Params(W=[True] * len(params.W), b=[False] * len(params.b), gamma=[False] * len(params.gamma),
                  beta=[False] * len(params.beta))


def _as_mask(value: Any) -> Any:
    """``None`` (weights only), a callable ``params -> Params of bools``, or fixed flags, kept as
    ``(("W", (True, ...)), ("b", (...)), ...)`` (from a ``Params`` of bools, a dict or that tuple)."""
    if value is None or (callable(value) and not isinstance(value, Params)):
        return value
    if isinstance(value, Params):
        value = {field.name: [bool(flag) for flag in getattr(value, field.name)] for field in attrs.fields(Params)}
    if isinstance(value, (tuple, list)):
        try:
            value = dict(value)
        except (TypeError, ValueError):
            _checks.fail(TypeError, "mask", "None, a callable params -> Params of bools, or a Params of bools",
                         _checks.describe(value))
    if not isinstance(value, dict) or set(value) - {f.name for f in attrs.fields(Params)}:
        _checks.fail(TypeError, "mask", "None, a callable params -> Params of bools, or a Params of bools",
                     _checks.describe(value))
    for name, flags in value.items():
        for i, flag in enumerate(flags):
            _checks.boolean(f"mask.{name}[{i}]", flag)
    return tuple((f.name, tuple(bool(x) for x in value.get(f.name, ()))) for f in attrs.fields(Params))


def _mask_flags(mask: Any, params: Any) -> dict:
    """``{field: (bool per array, ...)}``: ``mask`` resolved for ``params`` (whose arrays only count)."""
    if mask is None:
        mask = weights_only(params)
    elif callable(mask):
        mask = mask(params)
    flags = dict(_as_mask(mask))
    for field in attrs.fields(Params):
        wanted = len(getattr(params, field.name))
        if len(flags.get(field.name, ())) != wanted:
            _checks.fail(ValueError, f"mask.{field.name}", f"{wanted} flags, one per array of params",
                         len(flags.get(field.name, ())))
    return flags


def _masked_slices(mask: Any, layout: FlatLayout) -> list:
    """The ``(start, stop)`` ranges of the flat buffer that ``mask`` selects, adjacent ones merged."""
    counts = Params(**{name: [np.empty(0)] * len(slots) for name, slots in layout.fields})
    flags = _mask_flags(mask, counts)
    ranges = []
    for name, slots in layout.fields:
        for flag, (start, stop, _) in zip(flags[name], slots):
            if flag and ranges and ranges[-1][1] == start:
                ranges[-1] = (ranges[-1][0], stop)
            elif flag:
                ranges.append((start, stop))
    return ranges


def _masked_map(fn: Callable, mask: Any, updates: Params, params: Params) -> Params:
    flags = _mask_flags(mask, params)
    return Params(**{f.name: [fn(u, p) if flag else u for u, p, flag in
                              zip(getattr(updates, f.name), getattr(params, f.name), flags[f.name])]
                     for f in attrs.fields(Params)})


def _on_numpy(tree: Params) -> bool:
    """Whether ``tree``'s arrays are NumPy's (else another library's: no ``out`` buffers)."""
    leaves = tree_leaves(tree)
    return not leaves or not is_foreign(leaves[0])


def _blocked(transform: Any, updates: np.ndarray, state: Any, params: np.ndarray, layout: FlatLayout) -> Any:
    """``transform.update_flat`` through its ``flat_block``: the blocks run, the new state returned."""
    block, new_state = transform.flat_block(updates, state, params, layout)
    run_blocks(block, layout.size)
    return new_state


def _scale_block(updates: np.ndarray, factor: float) -> Callable:
    def block(start: int, stop: int) -> None:
        u = updates[start:stop]
        np.multiply(u, factor, out=u)
    return block


# --- Transforms ------------------------------------------------------------------------------------

@pytree_class
@attrs.frozen
class TraceState:
    """``trace``: the momentum buffer, shaped like the parameters."""

    trace: Any


@attrs.frozen
class Trace:
    """Momentum: ``t = decay * t + u``, then ``u = t`` (or ``u = u + decay * t`` with ``nesterov``)."""

    decay: float = attrs.field(converter=lambda v: _checks.real("decay", v, minimum=0.0, below=1.0))
    nesterov: bool = attrs.field(default=False, converter=lambda v: _checks.boolean("nesterov", v))

    def init(self, params: Params) -> TraceState:
        return TraceState(tree_map(zeros_like, params))

    def update(self, updates: Params, state: TraceState, params: Params) -> tuple:
        if not _on_numpy(updates):
            trace = tree_map(lambda u, t: t * self.decay + u, updates, state.trace)
            return (tree_map(lambda u, t: u + t * self.decay, updates, trace) if self.nesterov else trace,
                    TraceState(trace))
        trace = tree_map(lambda u, t: self._trace(u, t, np.empty_like(t)), updates, state.trace)
        return tree_map(lambda u, t: self._out(u, t, np.empty_like(u) if self.nesterov else None),
                        updates, trace), TraceState(trace)

    def update_flat(self, updates: np.ndarray, state: TraceState, params: np.ndarray, layout: FlatLayout) -> TraceState:
        return _blocked(self, updates, state, params, layout)

    def flat_block(self, updates: np.ndarray, state: TraceState, params: np.ndarray, layout: FlatLayout) -> tuple:
        trace = state.trace

        def block(start: int, stop: int) -> None:
            u, t = updates[start:stop], trace[start:stop]
            self._trace(u, t, t)
            self._out(u, t, u)
        return block, state

    def _trace(self, u, t, out):
        np.multiply(t, self.decay, out=out)
        out += u
        return out

    def _out(self, u, t, out):
        if not self.nesterov:
            if out is not None:
                out[...] = t
                return out
            return t
        return np.add(u, np.multiply(t, self.decay), out=out)


@pytree_class
@attrs.frozen
class AdamState:
    """``step``: updates done; ``mu``, ``nu``: first and second moments, shaped like the parameters."""

    step: int
    mu: Any
    nu: Any


@attrs.frozen
class ScaleByAdam:
    """Adam's direction, as ``torch.optim.Adam`` computes it (``k = step + 1``)::

        mu = b1 * mu + (1 - b1) * u
        nu = b2 * nu + (1 - b2) * u * u
        u  = mu / (1 - b1 ** k) / (sqrt(nu) / sqrt(1 - b2 ** k) + eps)

    computed as ``a = (1 - b1) * u``, ``mu = b1 * mu + a``, ``nu = b2 * nu + a * a * (1 - b2) / (1 - b1) ** 2``
    and ``u = mu * c / (sqrt(nu) + eps * sqrt(1 - b2 ** k))``, ``c = sqrt(1 - b2 ** k) / (1 - b1 ** k)``:
    on flat buffers, eleven passes and no temporary array.
    """

    b1: float = attrs.field(default=0.9, converter=lambda v: _checks.real("b1", v, minimum=0.0, below=1.0))
    b2: float = attrs.field(default=0.999, converter=lambda v: _checks.real("b2", v, minimum=0.0, below=1.0))
    eps: float = attrs.field(default=1e-8, converter=lambda v: _checks.real("eps", v, minimum=0.0))

    def init(self, params: Params) -> AdamState:
        return AdamState(0, tree_map(zeros_like, params), tree_map(zeros_like, params))

    def update(self, updates: Params, state: AdamState, params: Params) -> tuple:
        step = state.step + 1
        if not _on_numpy(updates):
            return self._update_array_api(updates, state, step)
        scaled = tree_map(lambda u: np.multiply(u, 1.0 - self.b1), updates)
        mu = tree_map(lambda a, m: self._mu(a, m, np.empty_like(m)), scaled, state.mu)
        nu = tree_map(lambda a, n: self._nu(self._square(a, np.empty_like(a)), n, np.empty_like(n)), scaled, state.nu)
        new = tree_map(lambda m, n: self._direction(m, n, step, np.empty_like(m)), mu, nu)
        return new, AdamState(step, mu, nu)

    def update_flat(self, updates: np.ndarray, state: AdamState, params: np.ndarray, layout: FlatLayout) -> AdamState:
        return _blocked(self, updates, state, params, layout)

    def flat_block(self, updates: np.ndarray, state: AdamState, params: np.ndarray, layout: FlatLayout) -> tuple:
        step = state.step + 1
        mu, nu = state.mu, state.nu

        def block(start: int, stop: int) -> None:
            u, m, n = updates[start:stop], mu[start:stop], nu[start:stop]
            np.multiply(u, 1.0 - self.b1, out=u)
            self._mu(u, m, m)
            self._nu(self._square(u, u), n, n)
            self._direction(m, n, step, u)
        return block, AdamState(step, mu, nu)

    def _update_array_api(self, updates: Params, state: AdamState, step: int) -> tuple:
        """``update`` on another library's arrays: the same arithmetic, as new arrays."""
        xp = array_namespace(tree_leaves(updates)[0])
        root = xp.sqrt(1.0 - self.b2 ** step) if is_traced(step) else math.sqrt(1.0 - self.b2 ** step)
        scaled = tree_map(lambda u: u * (1.0 - self.b1), updates)
        mu = tree_map(lambda a, m: m * self.b1 + a, scaled, state.mu)
        nu = tree_map(lambda a, n: n * self.b2 + a * a * ((1.0 - self.b2) / (1.0 - self.b1) ** 2), scaled, state.nu)
        new = tree_map(lambda m, n: m / (xp.sqrt(n) + self.eps * root) * (root / (1.0 - self.b1 ** step)), mu, nu)
        return new, AdamState(step, mu, nu)

    def _mu(self, scaled, m, out):
        np.multiply(m, self.b1, out=out)
        out += scaled
        return out

    def _square(self, scaled, out):
        """``(1 - b2) * u * u`` from ``scaled = (1 - b1) * u``."""
        np.multiply(scaled, scaled, out=out)
        out *= (1.0 - self.b2) / (1.0 - self.b1) ** 2
        return out

    def _nu(self, square, n, out):
        np.multiply(n, self.b2, out=out)
        out += square
        return out

    def _direction(self, m, n, step, out):
        root = math.sqrt(1.0 - self.b2 ** step)
        np.sqrt(n, out=out)
        out += self.eps * root
        np.divide(m, out, out=out)
        out *= root / (1.0 - self.b1 ** step)
        return out


@attrs.frozen
class AddDecayedWeights:
    """Weight decay added to the updates, ``u = u + weight_decay * p``, for the arrays ``mask``
    selects (default ``None``: the weights ``W`` only; or a callable ``params -> Params of bools``,
    or a ``Params`` of bools, one per array)."""

    weight_decay: float = attrs.field(converter=lambda v: _checks.real("weight_decay", v, minimum=0.0))
    mask: Any = attrs.field(default=None, converter=_as_mask)

    def init(self, params: Params) -> EmptyState:
        return EmptyState()

    def update(self, updates: Params, state: EmptyState, params: Params) -> tuple:
        if not _on_numpy(updates):
            return _masked_map(lambda u, p: u + p * self.weight_decay, self.mask, updates, params), state
        return _masked_map(lambda u, p: self._add(u, p, np.empty_like(u)), self.mask, updates, params), state

    def update_flat(self, updates: np.ndarray, state: EmptyState, params: np.ndarray, layout: FlatLayout) -> EmptyState:
        return _blocked(self, updates, state, params, layout)

    def flat_block(self, updates: np.ndarray, state: EmptyState, params: np.ndarray, layout: FlatLayout) -> tuple:
        ranges = _masked_slices(self.mask, layout)

        def block(start: int, stop: int) -> None:
            for first, last in ranges:
                first, last = max(first, start), min(last, stop)
                if first < last:
                    self._add(updates[first:last], params[first:last], updates[first:last])
        return block, state

    def _add(self, u, p, out):
        return np.add(u, np.multiply(p, self.weight_decay), out=out)


@attrs.frozen
class ScaleByLearningRate:
    """A descent step of a constant learning rate: ``u = -lr * u``."""

    lr: float = attrs.field(converter=lambda v: _checks.real("lr", v, minimum=0.0))

    def init(self, params: Params) -> EmptyState:
        return EmptyState()

    def update(self, updates: Params, state: EmptyState, params: Params) -> tuple:
        if not _on_numpy(updates):
            return tree_map(lambda u: u * -self.lr, updates), state
        return tree_map(lambda u: np.multiply(u, -self.lr), updates), state

    def update_flat(self, updates: np.ndarray, state: EmptyState, params: np.ndarray, layout: FlatLayout) -> EmptyState:
        return _blocked(self, updates, state, params, layout)

    def flat_block(self, updates: np.ndarray, state: EmptyState, params: np.ndarray, layout: FlatLayout) -> tuple:
        return _scale_block(updates, -self.lr), state

    def last_learning_rate(self, state: EmptyState) -> float:
        return self.lr


@pytree_class
@attrs.frozen
class ScheduleState:
    """``step``: updates done, the argument of the next call of the schedule."""

    step: int


@attrs.frozen
class ScaleBySchedule:
    """A descent step of a scheduled learning rate: ``u = -schedule(step) * u``, then ``step += 1``.

    A schedule value that is not a finite number >= 0 raises ``ValueError`` naming ``lr``.
    """

    schedule: Callable = attrs.field()

    @schedule.validator
    def _callable(self, attribute: Any, value: Any) -> None:
        if not callable(value):
            _checks.fail(TypeError, "lr", "a real number or a schedule (a callable step -> lr)",
                         _checks.describe(value))

    def init(self, params: Params) -> ScheduleState:
        return ScheduleState(0)

    def update(self, updates: Params, state: ScheduleState, params: Params) -> tuple:
        lr = self._lr(state.step)
        if not _on_numpy(updates):
            return tree_map(lambda u: u * -lr, updates), ScheduleState(state.step + 1)
        return tree_map(lambda u: np.multiply(u, -lr), updates), ScheduleState(state.step + 1)

    def update_flat(self, updates: np.ndarray, state: ScheduleState, params: np.ndarray,
                    layout: FlatLayout) -> ScheduleState:
        return _blocked(self, updates, state, params, layout)

    def flat_block(self, updates: np.ndarray, state: ScheduleState, params: np.ndarray, layout: FlatLayout) -> tuple:
        return _scale_block(updates, -self._lr(state.step)), ScheduleState(state.step + 1)

    def last_learning_rate(self, state: ScheduleState) -> float:
        return self._lr(max(state.step - 1, 0))

    def _lr(self, step: int) -> float:
        if is_traced(step):
            _checks.fail(TypeError, "lr", "a constant learning rate under jax.jit (a schedule runs on the host)",
                         _checks.describe(self.schedule))
        lr = self.schedule(step)
        try:
            lr = float(lr)
        except (TypeError, ValueError):
            lr = math.nan
        if not lr >= 0.0 or not math.isfinite(lr):
            _checks.fail(ValueError, "lr", f"a finite learning rate >= 0 from the schedule "
                         f"{_checks.describe(self.schedule)} at step {step}", self.schedule(step))
        return lr


@attrs.frozen
class ClipByGlobalNorm:
    """``u = u * max_norm / norm`` when ``norm``, the 2-norm of all the updates together, exceeds
    ``max_norm`` (as optax's ``clip_by_global_norm``); else ``u`` unchanged."""

    max_norm: float = attrs.field(converter=lambda v: _checks.real("max_norm", v, above=0.0))

    def init(self, params: Params) -> EmptyState:
        return EmptyState()

    def update(self, updates: Params, state: EmptyState, params: Params) -> tuple:
        factor = self._factor(tree_leaves(updates))
        if factor is not None and not _on_numpy(updates):
            return tree_map(lambda u: u * factor, updates), state
        return (updates if factor is None else tree_map(lambda u: np.multiply(u, factor), updates)), state

    def update_flat(self, updates: np.ndarray, state: EmptyState, params: np.ndarray, layout: FlatLayout) -> EmptyState:
        factor = self._factor(tree_leaves(layout.unflatten(updates)))
        if factor is not None:
            np.multiply(updates, factor, out=updates)
        return state

    def _factor(self, leaves: list) -> Optional[float]:
        if leaves and is_foreign(leaves[0]):
            xp = array_namespace(leaves[0])
            norm = math.sqrt(sum(float(xp.sum(a * a)) for a in leaves))
            return self.max_norm / norm if norm > self.max_norm else None
        norm = math.sqrt(sum(float(np.vdot(a, a)) for a in leaves))
        return self.max_norm / norm if norm > self.max_norm else None


# --- Constructors ----------------------------------------------------------------------------------

def trace(decay: float, nesterov: bool = False) -> Trace:
    """Momentum (see ``Trace``)."""
    return Trace(decay, nesterov)


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> ScaleByAdam:
    """Adam's bias-corrected moments (see ``ScaleByAdam``)."""
    return ScaleByAdam(b1, b2, eps)


def add_decayed_weights(weight_decay: float, mask: Any = None) -> AddDecayedWeights:
    """``u + weight_decay * p`` on the arrays ``mask`` selects (weights only by default)."""
    return AddDecayedWeights(weight_decay, mask)


def scale_by_learning_rate(lr: Union[float, Callable]) -> Union[ScaleByLearningRate, ScaleBySchedule]:
    """``u = -lr * u``: ``ScaleByLearningRate`` for a number, ``ScaleBySchedule`` for a schedule."""
    if callable(lr):
        return ScaleBySchedule(lr)
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.integer, np.floating)):
        _checks.fail(TypeError, "lr", "a real number or a schedule (a callable step -> lr)", _checks.describe(lr))
    return ScaleByLearningRate(lr)


def clip_by_global_norm(max_norm: float) -> ClipByGlobalNorm:
    """Scale all the updates down together so their 2-norm is at most ``max_norm``."""
    return ClipByGlobalNorm(max_norm)
