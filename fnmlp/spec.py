"""The static structure of a network: layer sizes, activations, BatchNorm placement."""

from __future__ import annotations

from typing import Sequence

import attrs

from . import _checks
from .activations import ACTIVATIONS


def _layer_sizes(value: object) -> tuple:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        _checks.fail(TypeError, "layer_sizes", "a sequence of integers such as (784, 64, 10)",
                     _checks.describe(value))
    sizes = tuple(_checks.integer(f"layer_sizes[{i}]", n, minimum=1) for i, n in enumerate(value))
    if len(sizes) < 2:
        _checks.fail(ValueError, "layer_sizes", "at least an input and an output size", sizes)
    return sizes


def _activations(value: object) -> tuple:
    if isinstance(value, str) or not isinstance(value, Sequence):
        _checks.fail(TypeError, "activations", "a sequence of activation names, one per layer",
                     _checks.describe(value))
    for i, name in enumerate(value):
        if name not in ACTIVATIONS:
            _checks.fail(ValueError, f"activations[{i}]", f"one of {sorted(ACTIVATIONS)}", repr(name))
    return tuple(value)


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
        if isinstance(hidden_sizes, (str, bytes)) or not isinstance(hidden_sizes, Sequence):
            _checks.fail(TypeError, "hidden_sizes", "a sequence of integers",
                         _checks.describe(hidden_sizes))
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
