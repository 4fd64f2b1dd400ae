"""Elementwise activations, each with its derivative written in terms of its own output.

Writing the derivative from the output (``s * (1 - s)`` for the sigmoid, ``1 - t**2`` for tanh,
``out > 0`` for ReLU) means backward needs only the layer outputs, which forward keeps anyway as
the next layer's inputs.
"""

from __future__ import annotations

from typing import Callable

import attrs
import numpy as np


def identity(z: np.ndarray, out: np.ndarray = None) -> np.ndarray:
    if out is None or out is z:
        return z
    np.copyto(out, z)
    return out


def identity_derivative(out: np.ndarray) -> np.ndarray:
    return np.ones_like(out)


def identity_backprop(delta: np.ndarray, out: np.ndarray) -> np.ndarray:
    return delta


def sigmoid(z: np.ndarray, out: np.ndarray = None) -> np.ndarray:
    """``1 / (1 + exp(-z))``; saturates to exactly 0 or 1 without overflow warnings."""
    out = np.negative(z, out=out)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


def sigmoid_derivative(out: np.ndarray) -> np.ndarray:
    return out * (1.0 - out)


def sigmoid_backprop(delta: np.ndarray, out: np.ndarray) -> np.ndarray:
    grad = np.subtract(1.0, out)
    grad *= out
    grad *= delta
    return grad


def tanh(z: np.ndarray, out: np.ndarray = None) -> np.ndarray:
    return np.tanh(z, out=out)


def tanh_derivative(out: np.ndarray) -> np.ndarray:
    return 1.0 - out * out


def tanh_backprop(delta: np.ndarray, out: np.ndarray) -> np.ndarray:
    grad = np.multiply(out, out)
    np.subtract(1.0, grad, out=grad)
    grad *= delta
    return grad


def relu(z: np.ndarray, out: np.ndarray = None) -> np.ndarray:
    return np.maximum(z, 0.0, out=out)


def relu_derivative(out: np.ndarray) -> np.ndarray:
    """1 where the output is positive, 0 elsewhere (so 0 at the kink)."""
    return (out > 0).astype(out.dtype)


def relu_backprop(delta: np.ndarray, out: np.ndarray) -> np.ndarray:
    return np.multiply(delta, out > 0)


@attrs.frozen
class Activation:
    """An activation by name.

    ``apply(z, out=None) -> out`` (into ``out`` when given, which may be ``z`` itself);
    ``derivative(out) -> d out / d z``; ``backprop(delta, out)`` is ``delta * derivative(out)``
    computed with fewer temporaries. All keep the input's shape and dtype.
    """

    name: str
    apply: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray], np.ndarray]
    backprop: Callable[[np.ndarray, np.ndarray], np.ndarray]


ACTIVATIONS = {
    a.name: a
    for a in (
        Activation("identity", identity, identity_derivative, identity_backprop),
        Activation("sigmoid", sigmoid, sigmoid_derivative, sigmoid_backprop),
        Activation("tanh", tanh, tanh_derivative, tanh_backprop),
        Activation("relu", relu, relu_derivative, relu_backprop),
    )
}
