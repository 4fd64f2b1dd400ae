"""The activation record, and the registry that turns names into records."""

from __future__ import annotations

from typing import Any, Callable, Optional

import attrs
import numpy as np

from ...utils import checks as _checks
from ...utils import namespace
from ...utils.namespace import is_foreign

USES = ("z", "a", "both")


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value:
        _checks.fail(TypeError, "name", "a non-empty string", _checks.describe(value))
    return value


def _function(name: str) -> Callable:
    return lambda value: _checks.function(name, value)


def _optional_function(name: str) -> Callable:
    return lambda value: _checks.optional_callable(name, value)


def _uses(value: Any) -> str:
    if value not in USES:
        _checks.fail(ValueError, "uses", f"one of {list(USES)}", repr(value))
    return value


@attrs.frozen
class Activation:
    """An elementwise activation ``a = fn(z)`` with its exact derivative ``da/dz``.

    - ``name``: what ``MLPSpec.to_dict`` and checkpoints store; ``register_activation`` makes a name
      known to ``MLPSpec`` and to checkpoint loading.
    - ``fn(z) -> a``: same shape and dtype as ``z`` (float32 or float64), a new array (``z`` is left
      as it was). ``z`` is an array of the library the network computes in: NumPy, or another
      array-API library's when the records and data are (write ``fn`` and ``derivative`` with
      ``array_api_compat.array_namespace(z)`` to serve both; the built-ins do).
    - ``derivative``: ``da/dz`` elementwise, given what ``uses`` names: ``derivative(z)`` for
      ``"z"`` (the default), ``derivative(a)`` for ``"a"``, ``derivative(z, a)`` for ``"both"``. A
      forward pass keeps ``z`` only for activations that use it.
    - ``apply(z, out=None) -> a`` (optional, a fast path): may write into ``out``, which may be ``z``
      itself when ``uses == "a"``; default ``fn(z)``.
    - ``backprop(delta, z, a) -> delta * da/dz`` (optional, a fast path, ``z`` is ``None`` unless
      used); default from ``derivative``.
    - ``kinks``: points where the derivative jumps (``0.0`` for ReLU); gradient checks stay off them.
    """

    name: str = attrs.field(converter=_name)
    fn: Callable = attrs.field(converter=_function("fn"), repr=False)
    derivative: Callable = attrs.field(converter=_function("derivative"), repr=False)
    uses: str = attrs.field(default="z", converter=_uses)
    apply: Optional[Callable] = attrs.field(default=None, converter=_optional_function("apply"), repr=False)
    backprop: Optional[Callable] = attrs.field(default=None, converter=_optional_function("backprop"), repr=False)
    kinks: tuple = attrs.field(default=(), converter=lambda v: tuple(
        _checks.real(f"kinks[{i}]", k) for i, k in enumerate(v)))

    @property
    def needs_z(self) -> bool:
        return self.uses != "a"

    @property
    def needs_a(self) -> bool:
        return self.uses != "z"

    def grad(self, z: Optional[np.ndarray], a: Optional[np.ndarray]) -> Any:
        """``da/dz`` from whichever of ``z`` and ``a`` the derivative uses."""
        if self.uses == "z":
            return self.derivative(z)
        if self.uses == "a":
            return self.derivative(a)
        return self.derivative(z, a)

    def forward(self, z: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
        """``a``, through ``apply`` when given (into ``out``), else ``fn(z)`` cast to ``z``'s dtype."""
        if self.apply is None:
            if is_foreign(z):
                return namespace.astype(namespace.array_namespace(z), self.fn(z), z.dtype)
            return np.asarray(self.fn(z)).astype(z.dtype, copy=False)
        return self.apply(z, out=out)

    def __reduce__(self):
        """A registered activation pickles as its name and unpickles as the registry's record, so an
        unpickled spec still saves to a checkpoint; any other pickles field by field."""
        if ACTIVATIONS.get(self.name) is self:
            return get_activation, (self.name,)
        return object.__reduce__(self)

    def backward(self, delta: np.ndarray, z: Optional[np.ndarray], a: Optional[np.ndarray]) -> np.ndarray:
        """``delta * da/dz``, a new array."""
        if self.backprop is not None:
            return self.backprop(delta, z, a)
        if is_foreign(delta):
            grad = self.grad(z, a)
            return delta * (namespace.astype(namespace.array_namespace(delta), grad, delta.dtype)
                            if is_foreign(grad) else grad)
        return np.multiply(delta, self.grad(z, a), dtype=delta.dtype)


ACTIVATIONS: dict = {}
"""Every known activation by name (the built-ins and what ``register_activation`` added). Read it;
change it only through ``register_activation``."""


def register_activation(activation: Activation) -> Activation:
    """Make ``activation`` known by its name, to ``MLPSpec`` (which then accepts the name) and to
    checkpoint loading; returns it. Registering the same record again does nothing; another record
    under a known name is refused (pick another name)."""
    _checks.instance("activation", activation, Activation)
    known = ACTIVATIONS.get(activation.name)
    if known is not None and known is not activation:
        _checks.fail(ValueError, "activation", f"a name no other activation has (known: {sorted(ACTIVATIONS)})",
                     repr(activation.name))
    ACTIVATIONS[activation.name] = activation
    return activation


def unknown_activation_hint(name: str) -> str:
    return (f"make it known first with fnmlp.register_activation(fnmlp.Activation({name!r}, fn, derivative, "
            f"uses=...))")


def get_activation(value: Any, name: str = "activation") -> Activation:
    """``value`` itself if it is an ``Activation``, else the registered activation of that name."""
    if isinstance(value, Activation):
        return value
    if not isinstance(value, str):
        _checks.fail(TypeError, name, f"an Activation or an activation name, one of {sorted(ACTIVATIONS)}",
                     _checks.describe(value))
    if value not in ACTIVATIONS:
        _checks.fail(ValueError, name, f"one of {sorted(ACTIVATIONS)} ({unknown_activation_hint(value)})",
                     repr(value))
    return ACTIVATIONS[value]
