"""An fnmlp network's layers as ``torch.nn`` modules, for the PyTorch mirror of the recipe."""

from __future__ import annotations

from typing import Any

import fnmlp

from .skip import Skip

from fnmlp.model.initializers import SCALES


def torch_layers(torch: Any, spec: fnmlp.MLPSpec, init: str) -> tuple:
    """``(layers, linears, norms)``, layer by layer as fnmlp computes ``spec``: ``nn.Dropout`` where the
    layer's input rate is > 0, the ``nn.Linear`` (normal weights scaled as fnmlp's ``init`` scheme
    scales them, ``sqrt(2 / fan_in)`` for ``he``; zero biases), ``nn.BatchNorm1d(momentum=1 - bn_alpha,
    eps=bn_eps)`` on the first ``num_bn_layers`` layers, then the activation (none for ``identity``).
    Weights are drawn from torch's global generator; ``Skip`` for an activation torch lacks here."""
    acts = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "identity": None}
    missing = [name for name in spec.activation_names if name not in acts]
    if missing:
        raise Skip(f"the PyTorch mirror has no {missing[0]} activation")
    sizes = spec.layer_sizes
    layers, linears, norms = [], [], []
    for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        if spec.dropout[i]:
            layers.append(torch.nn.Dropout(spec.dropout[i]))
        linear = torch.nn.Linear(m, n)
        with torch.no_grad():
            linear.weight.normal_(0.0, SCALES[init](m, n))
            linear.bias.zero_()
        layers.append(linear)
        linears.append(linear)
        if i < spec.num_bn_layers:
            norms.append(torch.nn.BatchNorm1d(n, eps=spec.bn_eps, momentum=1.0 - spec.bn_alpha))
            layers.append(norms[-1])
        if acts[spec.activation_names[i]] is not None:
            layers.append(acts[spec.activation_names[i]]())
    return layers, linears, norms
