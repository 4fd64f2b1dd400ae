"""The built-in activations on arrays of any array-API library (PyTorch, CuPy, JAX, array_api_strict).

``fnmlp.activations.builtins`` computes NumPy arrays with ufuncs writing into buffers; for any other
library's array its functions call the ones here, which build new arrays with the standard's
functions, operation for operation the same arithmetic (so array_api_strict, which runs NumPy
underneath, gives NumPy's values to the bit). Each takes the array and returns a new one.
"""

from __future__ import annotations

import math
from typing import Any

from ...utils.namespace import array_namespace, device

LEAKY_SLOPE = 0.01
ELU_ALPHA = 1.0
GELU_C = math.sqrt(2.0 / math.pi)
GELU_K = 0.044715
GELU_CLIP = 30.0  # beyond, tanh(c (z + k z^3)) is exactly +-1 in float64: no z**3 overflow needed


def _zeros_row(xp: Any, z: Any) -> Any:
    """Zeros of ``z``'s last dimension, to compare against (NumPy's ``maximum(z, 0)`` form)."""
    return xp.zeros(tuple(z.shape[-1:]), dtype=z.dtype, device=device(z))


def identity_fn(z: Any) -> Any:
    return array_namespace(z).asarray(z, copy=True)


def identity_derivative(a: Any) -> Any:
    return array_namespace(a).ones_like(a)


def sigmoid(z: Any) -> Any:
    xp = array_namespace(z)
    return 1.0 / (xp.exp(-z) + 1.0)


def sigmoid_backprop(delta: Any, a: Any) -> Any:
    return (1.0 - a) * a * delta


def tanh(z: Any) -> Any:
    return array_namespace(z).tanh(z)


def tanh_backprop(delta: Any, a: Any) -> Any:
    return (1.0 - a * a) * delta


def relu(z: Any) -> Any:
    xp = array_namespace(z)
    return xp.maximum(z, _zeros_row(xp, z))


def relu_derivative(a: Any) -> Any:
    return array_namespace(a).astype(a > 0, a.dtype)


def relu_backprop(delta: Any, a: Any) -> Any:
    return delta * array_namespace(a).astype(a > 0, delta.dtype)


def leaky_relu(z: Any) -> Any:
    return array_namespace(z).maximum(z, z * LEAKY_SLOPE)


def leaky_relu_derivative(a: Any) -> Any:
    xp = array_namespace(a)
    return xp.where(a > 0, xp.ones_like(a), xp.full_like(a, LEAKY_SLOPE))


def leaky_relu_backprop(delta: Any, a: Any) -> Any:
    return array_namespace(a).where(a > 0, delta, delta * LEAKY_SLOPE)


def elu(z: Any) -> Any:
    xp = array_namespace(z)
    return xp.maximum(z, xp.expm1(xp.minimum(z, _zeros_row(xp, z))))


def elu_derivative(a: Any) -> Any:
    xp = array_namespace(a)
    return xp.where(a > 0, xp.ones_like(a), a + 1.0)


def elu_backprop(delta: Any, a: Any) -> Any:
    xp = array_namespace(a)
    return (xp.minimum(a, _zeros_row(xp, a)) + 1.0) * delta


def gelu_gate(z: Any) -> tuple:
    """``(s, u')`` as ``builtins._gelu_gate`` computes them."""
    xp = array_namespace(z)
    u = xp.clip(z, min=-GELU_CLIP, max=GELU_CLIP)
    square = u * u
    inner = (square * GELU_K + 1.0) * u * (2.0 * GELU_C)
    return sigmoid(inner), (square * (3.0 * GELU_K) + 1.0) * GELU_C


def gelu(z: Any) -> Any:
    return z * gelu_gate(z)[0]


def gelu_derivative(z: Any) -> Any:
    s, du = gelu_gate(z)
    return (1.0 - s) * s * du * z * 2.0 + s


def softplus(z: Any) -> Any:
    xp = array_namespace(z)
    return xp.maximum(z, _zeros_row(xp, z)) + xp.log1p(xp.exp(-xp.abs(z)))


def softplus_derivative(a: Any) -> Any:
    return -array_namespace(a).expm1(-a)


def softplus_backprop(delta: Any, a: Any) -> Any:
    return -(array_namespace(a).expm1(-a) * delta)


def silu(z: Any) -> Any:
    return z * sigmoid(z)


def silu_derivative(z: Any) -> Any:
    s = sigmoid(z)
    return ((1.0 - s) * z + 1.0) * s
