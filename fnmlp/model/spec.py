"""The static structure of a network: layer sizes, activations, BatchNorm placement, dropout rates,
the loss and its L2 penalty."""

from __future__ import annotations

from typing import Any, Sequence

import attrs
import numpy as np

from ..utils import checks as _checks
from .activations import get_activation
from .losses import Loss, get_loss


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


def _activations(value: Any) -> tuple:
    if not _is_sequence(value):
        _checks.fail(TypeError, "activations", "a sequence of activations (names or Activation records), one per "
                     "layer", _checks.describe(value))
    return tuple(get_activation(item, f"activations[{i}]") for i, item in enumerate(value))


def _dropout(value: Any) -> tuple:
    if value is None:
        return ()
    if not _is_sequence(value):
        _checks.fail(TypeError, "dropout", "a sequence of rates in [0, 1), one per layer input", _checks.describe(value))
    return tuple(_checks.real(f"dropout[{i}]", rate, minimum=0.0, below=1.0) for i, rate in enumerate(value))


@attrs.frozen
class MLPSpec:
    """What an MLP is, without any of its numbers.

    ``layer_sizes`` ``(n_0, ..., n_L)`` gives ``L`` affine layers, layer ``i`` mapping ``n_i`` features
    to ``n_{i+1}``. ``activations[i]`` follows layer ``i``: an ``Activation`` record or the name of a
    registered one (``"identity"``/``"linear"``, ``"sigmoid"``, ``"tanh"``, ``"relu"``,
    ``"leaky_relu"``, ``"elu"``, ``"gelu"``, ``"softplus"``, ``"silu"``); the spec holds records. The
    first ``num_bn_layers`` layers put BatchNorm between the affine map and the activation, with running
    statistics ``running = bn_alpha * running + (1 - bn_alpha) * batch`` and ``bn_eps`` added to the
    variance.

    ``dropout[i]`` in [0, 1) is the inverted-dropout rate on layer ``i``'s input (``dropout[0]`` on the
    network's input): in training each unit is kept with probability ``1 - rate`` and scaled by
    ``1 / (1 - rate)``; evaluation does nothing. Default: no dropout.

    ``loss`` (a ``Loss`` or a registered name: ``"softmax_cross_entropy"``, the default, or ``"mse"``)
    is the objective of the outputs; ``l2 >= 0`` adds scikit-learn's ``alpha`` penalty on the weights
    (not biases or BatchNorm) to the mean loss of a batch of ``B`` examples::

        penalised = mean_loss + (0.5 * l2 / B) * sum_i ||W[i]||^2     (d/dW[i]: + l2 * W[i] / B)
    """

    layer_sizes: tuple = attrs.field(converter=_layer_sizes)
    activations: tuple = attrs.field(converter=_activations)
    num_bn_layers: int = attrs.field(
        default=0, converter=lambda v: _checks.integer("num_bn_layers", v, minimum=0))
    bn_alpha: float = attrs.field(default=0.9,
                                  converter=lambda v: _checks.real("bn_alpha", v, minimum=0.0, maximum=1.0))
    bn_eps: float = attrs.field(default=1e-8, converter=lambda v: _checks.real("bn_eps", v, above=0.0))
    dropout: tuple = attrs.field(default=None, converter=_dropout)
    loss: Loss = attrs.field(default="softmax_cross_entropy", converter=lambda v: get_loss(v, "loss"))
    l2: float = attrs.field(default=0.0, converter=lambda v: _checks.real("l2", v, minimum=0.0))

    def __attrs_post_init__(self) -> None:
        if len(self.activations) != self.num_layers:
            _checks.fail(ValueError, "activations", f"{self.num_layers} names (one per layer)",
                         f"{len(self.activations)}: {self.activation_names}")
        if not self.dropout:
            object.__setattr__(self, "dropout", (0.0,) * self.num_layers)
        elif len(self.dropout) != self.num_layers:
            _checks.fail(ValueError, "dropout", f"{self.num_layers} rates (one per layer input, the network's "
                         "input first)", f"{len(self.dropout)}: {self.dropout}")
        _checks.integer("num_bn_layers", self.num_bn_layers, minimum=0, maximum=self.num_layers)

    @classmethod
    def from_hidden_sizes(cls, input_size: int, hidden_sizes: Sequence[int], output_size: int, *,
                          activation: Any = "sigmoid", output_activation: Any = "identity",
                          num_bn_layers: int = 0, **kwargs) -> "MLPSpec":
        """The handout's way to describe a network: ``activation`` on every hidden layer."""
        input_size = _checks.integer("input_size", input_size, minimum=1)
        hidden_sizes = _sizes("hidden_sizes", hidden_sizes)
        output_size = _checks.integer("output_size", output_size, minimum=1)
        activation = get_activation(activation, "activation")
        output_activation = get_activation(output_activation, "output_activation")
        sizes = (input_size, *hidden_sizes, output_size)
        activations = (activation,) * len(hidden_sizes) + (output_activation,)
        return cls(sizes, activations, num_bn_layers=num_bn_layers, **kwargs)

    @property
    def num_layers(self) -> int:
        """The number of affine layers, ``len(layer_sizes) - 1``."""
        return len(self.layer_sizes) - 1

    @property
    def activation_names(self) -> tuple:
        """The activations' names, layer by layer."""
        return tuple(a.name for a in self.activations)

    @property
    def has_dropout(self) -> bool:
        return any(rate > 0 for rate in self.dropout)

    @property
    def bn_widths(self) -> tuple:
        """The feature count of each BatchNorm layer."""
        return self.layer_sizes[1:1 + self.num_bn_layers]

    def to_dict(self) -> dict:
        """A JSON-ready description, activations and loss by name; ``MLPSpec(**d)`` rebuilds it when
        those names are registered."""
        return {"layer_sizes": list(self.layer_sizes), "activations": list(self.activation_names),
                "num_bn_layers": self.num_bn_layers, "bn_alpha": self.bn_alpha, "bn_eps": self.bn_eps,
                "dropout": list(self.dropout), "loss": self.loss.name, "l2": self.l2}
