"""The GEMM limit: an epoch's matrix products alone, the rate at which NumPy's BLAS could train."""

from __future__ import annotations

from typing import Any

import numpy as np

from .workloads import DTYPES, Data, Workload


class GemmLimit:
    """The epoch's matrix products alone (forward, weight gradients, and input gradients of every
    layer but the first), as BLAS computes them into preallocated outputs with warm operands; its
    evaluation is the forward products alone, one call per layer on all the rows."""

    def __init__(self, w: Workload, data: Data, dtype: str, seed: int):
        rows = data.x[dtype].shape[0]
        sizes = w.spec.layer_sizes
        full, last = divmod(rows, w.batch_size)
        self.batches = [self._products(sizes, w.batch_size, DTYPES[dtype], seed)] * full
        if last:
            self.batches.append(self._products(sizes, last, DTYPES[dtype], seed))
        self.flops = sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for batch in self.batches for a, b, _ in batch)
        self.eval_products = self._products(sizes, data.x_eval[dtype].shape[0], DTYPES[dtype], seed)[:len(sizes) - 1]

    @staticmethod
    def _products(sizes: tuple, batch: int, dtype: Any, seed: int) -> list:
        """``(a, b, out)`` for every product of one training step, in the layouts fnmlp uses."""
        rng = np.random.default_rng(seed)
        acts = [rng.random((batch, n)).astype(dtype) for n in sizes]
        weights = [rng.random((m, n)).astype(dtype) for m, n in zip(sizes[:-1], sizes[1:])]
        forward = [(acts[i], weights[i], np.empty((batch, sizes[i + 1]), dtype)) for i in range(len(weights))]
        weight_grads = [(acts[i].T, acts[i + 1], np.empty(weights[i].shape, dtype)) for i in range(len(weights))]
        input_grads = [(acts[i + 1], weights[i].T, np.empty((batch, sizes[i]), dtype))
                       for i in range(1, len(weights))]
        return forward + weight_grads + input_grads

    def train_epoch(self) -> float:
        for products in self.batches:
            for a, b, out in products:
                np.matmul(a, b, out=out)
        return float("nan")

    def evaluate(self) -> None:
        for a, b, out in self.eval_products:
            np.matmul(a, b, out=out)
