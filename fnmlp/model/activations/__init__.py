"""Activations as values: the ``Activation`` record, the built-ins, and the registry of names.

A user's own activation is an ``Activation(name, fn, derivative, uses=...)``; ``MLPSpec`` takes it
directly, or by name once ``register_activation`` has made the name known (as loading a
checkpoint that names it requires). ``fnmlp.check_activation`` checks its derivative.
"""

from .base import ACTIVATIONS, Activation, get_activation, register_activation, unknown_activation_hint
from .builtins import (BUILTINS, ELU, GELU, IDENTITY, LEAKY_RELU, LINEAR, RELU, SIGMOID, SILU, SOFTPLUS, TANH,
                       elu, gelu, identity, leaky_relu, relu, sigmoid, silu, softplus, tanh)

__all__ = ["ACTIVATIONS", "Activation", "get_activation", "register_activation", "BUILTINS", "IDENTITY", "LINEAR",
           "SIGMOID", "TANH", "RELU", "LEAKY_RELU", "ELU", "GELU", "SOFTPLUS", "SILU"]
