"""The usual optimizers, each a chain of transforms (``fnmlp.optimizers.transform``)."""

from __future__ import annotations

import numbers
from typing import Any, Callable, Union

from ..utils import checks as _checks
from .base import Optimizer
from .combine import chain
from .transform import add_decayed_weights, scale_by_adam, scale_by_learning_rate, trace

LearningRate = Union[float, Callable[[int], float]]


def sgd(lr: LearningRate, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0,
        mask: Any = None) -> Optimizer:
    """Stochastic gradient descent with momentum, as ``torch.optim.SGD`` (dampening 0).

    With ``g = grad + weight_decay * p`` (on the arrays ``mask`` selects, the weights ``W`` by default)
    and a constant ``lr``, the velocity ``v`` carries the learning rate, as the 11-785 handout does::

        v = momentum * v - lr * g
        p = p + v                       (nesterov: p = p - lr * g + momentum * v)

    With a schedule, ``lr_k = lr(k)`` at update ``k``, the buffer ``b`` is PyTorch's::

        b = momentum * b + g
        p = p - lr_k * b                (nesterov: p = p - lr_k * (g + momentum * b))

    The two agree for a constant ``lr`` up to rounding (``v = -lr * b``).
    """
    momentum = _checks.real("momentum", momentum, minimum=0.0, below=1.0)
    nesterov = _checks.boolean("nesterov", nesterov)
    decay = [add_decayed_weights(weight_decay, mask)] if weight_decay != 0.0 or mask is not None else []
    step = scale_by_learning_rate(lr)
    momentum_step = trace(momentum, nesterov)
    if isinstance(lr, numbers.Real):
        return Optimizer(chain(*decay, step, momentum_step))
    return Optimizer(chain(*decay, momentum_step, step))


def adam(lr: LearningRate, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> Optimizer:
    """Adam, as ``torch.optim.Adam``: with ``k`` the update's number from 1 and ``g`` the gradient::

        mu = b1 * mu + (1 - b1) * g
        nu = b2 * nu + (1 - b2) * g * g
        p  = p - lr * mu / (1 - b1 ** k) / (sqrt(nu) / sqrt(1 - b2 ** k) + eps)
    """
    return Optimizer(chain(scale_by_adam(b1, b2, eps), scale_by_learning_rate(lr)))


def adamw(lr: LearningRate, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.01,
          mask: Any = None) -> Optimizer:
    """AdamW, as ``torch.optim.AdamW``: Adam's step plus a decay decoupled from the moments, on the
    arrays ``mask`` selects (the weights ``W`` by default)::

        p = p - lr * (adam_direction + weight_decay * p)
    """
    return Optimizer(chain(scale_by_adam(b1, b2, eps), add_decayed_weights(weight_decay, mask),
                           scale_by_learning_rate(lr)))
