"""``fit``'s training step on NumPy: the parameters and every array of the optimizer's state as one
flat buffer each, updated in place batch after batch (about 2x faster than new arrays every step on
large layers). The buffers belong to ``fit``; what leaves it is a copy (``snapshot``).

``RecordStep`` (``fnmlp.training.namespace_step``) is the same interface for other libraries' arrays.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..model.flat import FlatLayout
from ..model.kernels import loss_and_grads
from ..model.params import astype
from ..model.spec import MLPSpec
from ..optimizers import Optimizer
from .batches import gather_into_buffers
from .compiled_step import select_step

__all__ = ["FlatStep"]


class FlatStep:
    """``start``'s parameters and optimizer state copied into flat buffers of ``x``'s dtype.
    ``params`` is a record of read-only views of the parameters' buffer (it changes as training
    does); ``bn_state`` and ``opt_state`` (its arrays flat buffers) are where training starts;
    ``step(dropout_rng)`` is ``run_epochs``' step and ``gather`` its batch gatherer."""

    def __init__(self, spec: MLPSpec, optimizer: Optimizer, start: Any, x: np.ndarray, y: np.ndarray,
                 batch_size: int):
        self.spec, self.optimizer, self.batch_size = spec, optimizer, batch_size
        self.layout = FlatLayout.of(start.params, x.dtype)
        self.weights = self.layout.flatten(start.params)
        self.opt_state = self.layout.flatten_tree(start.opt_state)
        self.params = self.layout.unflatten(self.weights)
        self.grads = np.empty_like(self.weights)
        self.bn_state = astype(start.bn_state, x.dtype)
        self.gather = gather_into_buffers(batch_size, x, y)

    def step(self, dropout_rng: Any) -> Callable:
        """``step(carry, xb, yb) -> (carry, loss_sum, metric_totals)``, ``carry = (bn_state, opt_state)``:
        the compiled step where ``compiled_step`` takes the spec, else the kernels into the gradient
        buffer and the optimizer's ``update_flat``."""
        spec, optimizer, layout, weights, grads = self.spec, self.optimizer, self.layout, self.weights, self.grads
        params, grads_out, metric_totals = self.params, layout.split(grads), spec.loss.metric_totals

        def step(carry: tuple, xb: np.ndarray, yb: np.ndarray) -> tuple:
            bn_state, opt_state = carry
            mean_loss, outputs, _, bn_state = loss_and_grads(spec, params, bn_state, xb, yb, rng=dropout_rng,
                                                             out=grads_out)
            opt_state = optimizer.update_flat(grads, opt_state, weights, layout)
            return (bn_state, opt_state), mean_loss * xb.shape[0], metric_totals(outputs, yb)

        return select_step(step, spec, optimizer, layout, weights, grads, self.batch_size, dropout_rng)

    def snapshot(self, opt_state: Any) -> tuple:
        """``(params, opt_state)`` as records of copies of the buffers, for a ``TrainState``."""
        return self.layout.unflatten(self.weights.copy()), self.layout.unflatten_tree(opt_state, copy=True)
