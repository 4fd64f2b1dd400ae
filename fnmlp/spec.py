"""The static structure of a network: layer sizes, activations, BatchNorm placement."""

from __future__ import annotations

from typing import Any, Sequence

import attrs
import numpy as np

from . import _checks
from .activations import ACTIVATIONS


def _is_sequence(value: Any) -> bool:
    """A list, tuple, 1-D array or other sequence, but not a string."""
    if isinstance(value, np.ndarray):
        return value.ndim == 1
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _sizes(name: str, value: Any) -> tuple:
    if not _is_sequence(value):
        _checks.fail(TypeError, name, "a sequence of positive integers", _checks.describe(value))
    return tuple(_checks.integer(f"{name}[{i}]", n, minimum=1) for i, n in enumerate(value))


def _layer_sizes(value: Any) -> tuple:
    sizes = _sizes("layer_sizes", value)
    if len(sizes) < 2:
        _checks.fail(ValueError, "layer_sizes", "at least an input and an output size", sizes)
    return sizes


def _activation_name(name: str, value: Any) -> str:
    if not isinstance(value, str):
        _checks.fail(TypeError, name, f"an activation name, one of {sorted(ACTIVATIONS)}", _checks.describe(value))
    if value not in ACTIVATIONS:
        _checks.fail(ValueError, name, f"one of {sorted(ACTIVATIONS)}", repr(value))
    return str(value)


def _activations(value: Any) -> tuple:
    if not _is_sequence(value):
        _checks.fail(TypeError, "activations", "a sequence of activation names, one per layer",
                     _checks.describe(value))
    return tuple(_activation_name(f"activations[{i}]", name) for i, name in enumerate(value))


@attrs.frozen
class MLPSpec:
    """What an MLP is, without any of its numbers.

    ``layer_sizes`` ``(n_0, ..., n_L)`` gives ``L`` affine layers, layer ``i`` mapping ``n_i`` features
    to ``n_{i+1}``. ``activations[i]`` (one of ``"identity"``, ``"sigmoid"``, ``"tanh"``, ``"relu"``)
    follows layer ``i``. The first ``num_bn_layers`` layers put BatchNorm between the affine map and
    the activation, with running statistics ``running = bn_alpha * running + (1 - bn_alpha) * batch``
    and ``bn_eps`` added to the variance.
    """

    layer_sizes: tuple = attrs.field(converter=_layer_sizes)
    activations: tuple = attrs.field(converter=_activations)
    num_bn_layers: int = attrs.field(
        default=0, converter=lambda v: _checks.integer("num_bn_layers", v, minimum=0))
    bn_alpha: float = attrs.field(default=0.9,
                                  converter=lambda v: _checks.real("bn_alpha", v, minimum=0.0, maximum=1.0))
    bn_eps: float = attrs.field(default=1e-8, converter=lambda v: _checks.real("bn_eps", v, above=0.0))

    def __attrs_post_init__(self) -> None:
        if len(self.activations) != self.num_layers:
            _checks.fail(ValueError, "activations", f"{self.num_layers} names (one per layer)",
                         f"{len(self.activations)}: {self.activations}")
        _checks.integer("num_bn_layers", self.num_bn_layers, minimum=0, maximum=self.num_layers)

    @classmethod
    def from_hidden_sizes(cls, input_size: int, hidden_sizes: Sequence[int], output_size: int, *,
                          activation: str = "sigmoid", output_activation: str = "identity",
                          num_bn_layers: int = 0, **kwargs) -> "MLPSpec":
        """The handout's way to describe a network: ``activation`` on every hidden layer."""
        input_size = _checks.integer("input_size", input_size, minimum=1)
        hidden_sizes = _sizes("hidden_sizes", hidden_sizes)
        output_size = _checks.integer("output_size", output_size, minimum=1)
        activation = _activation_name("activation", activation)
        output_activation = _activation_name("output_activation", output_activation)
        sizes = (input_size, *hidden_sizes, output_size)
        activations = (activation,) * len(hidden_sizes) + (output_activation,)
        return cls(sizes, activations, num_bn_layers=num_bn_layers, **kwargs)

    @property
    def num_layers(self) -> int:
        """The number of affine layers, ``len(layer_sizes) - 1``."""
        return len(self.layer_sizes) - 1

    @property
    def bn_widths(self) -> tuple:
        """The feature count of each BatchNorm layer."""
        return self.layer_sizes[1:1 + self.num_bn_layers]

    def to_dict(self) -> dict:
        """A JSON-ready description; ``MLPSpec(**d)`` rebuilds it."""
        return {"layer_sizes": list(self.layer_sizes), "activations": list(self.activations),
                "num_bn_layers": self.num_bn_layers, "bn_alpha": self.bn_alpha, "bn_eps": self.bn_eps}
