"""The throughput workload written out as a plain NumPy loop: what NumPy can do at these shapes
without a library around it."""

from __future__ import annotations

import numpy as np

import fnmlp

from .skip import Skip
from .workloads import DTYPES, Data, Workload


class NumpyLoop:
    """The workload as a hand-written NumPy loop: every buffer preallocated, the rows gathered with one
    ``np.take`` per batch, no checks, no records, SGD with momentum per array. What NumPy itself can
    do at these shapes, apart from the library around it; no BatchNorm."""

    def __init__(self, w: Workload, data: Data, dtype: str, seed: int):
        if w.num_bn_layers:
            raise Skip("the hand-written loop has no BatchNorm")
        if w.activation not in ("sigmoid", "relu"):
            raise Skip(f"the hand-written loop has no {w.activation}")
        params, _ = fnmlp.init_params(w.spec, seed, weight_init="lecun", dtype=DTYPES[dtype])
        self.W, self.b = [W.copy() for W in params.W], [b.copy() for b in params.b]
        self.vW, self.vb = [np.zeros_like(W) for W in self.W], [np.zeros_like(b) for b in self.b]
        self.gW, self.gb = [np.empty_like(W) for W in self.W], [np.empty_like(b) for b in self.b]
        batch, sizes, dt = w.batch_size, w.spec.layer_sizes, DTYPES[dtype]
        self.z = [np.empty((batch, n), dt) for n in sizes[1:]]
        self.delta = [np.empty((batch, n), dt) for n in sizes[1:-1]]
        self.xb, self.ones = np.empty((batch, sizes[0]), dt), np.ones(batch, dt)
        self.x, self.y, self.x_eval = data.x[dtype], data.y, data.x_eval[dtype]
        self.order, self.rng, self.w = np.arange(self.x.shape[0]), np.random.RandomState(seed), w  # as fit(rng=seed)

    def _activate(self, z: np.ndarray) -> None:
        if self.w.activation == "relu":
            fnmlp.activations.relu(z, out=z)  # max against a row of zeros, which NumPy vectorises
        else:
            np.negative(z, out=z)
            np.exp(z, out=z)
            z += 1
            np.reciprocal(z, out=z)

    def train_epoch(self) -> float:
        self.rng.shuffle(self.order)
        loss_sum = 0.0
        with np.errstate(over="ignore"):
            for begin in range(0, self.x.shape[0], self.w.batch_size):
                rows = self.order[begin:begin + self.w.batch_size]
                n = rows.shape[0]
                logits = self._forward(np.take(self.x, rows, axis=0, out=self.xb[:n]), n)
                loss_sum += self._softmax_cross_entropy_grad(logits, self.y[rows])
                self._backward(logits, n)
                self._step()
        return loss_sum / self.x.shape[0]

    def _forward(self, a: np.ndarray, n: int) -> np.ndarray:
        """The logits ``(n, classes)`` of the batch ``a``, every layer's output kept in ``self.z``."""
        last = len(self.W) - 1
        for i in range(len(self.W)):
            a = np.matmul(a, self.W[i], out=self.z[i][:n])
            a += self.b[i]
            if i < last:
                self._activate(a)
        return a

    @staticmethod
    def _softmax_cross_entropy_grad(a: np.ndarray, labels: np.ndarray) -> float:
        """Turn the logits ``a`` into the mean loss's gradient, in place; returns the summed loss."""
        n = a.shape[0]
        a -= a.max(axis=1, keepdims=True)
        at_labels = a[np.arange(n), labels]
        np.exp(a, out=a)
        sums = a.sum(axis=1)
        loss = float(np.log(sums).sum() - at_labels.sum())
        a /= sums[:, None]
        a[np.arange(n), labels] -= 1
        a /= n
        return loss

    def _backward(self, delta: np.ndarray, n: int) -> None:
        """The weight and bias gradients into ``self.gW`` and ``self.gb`` from the logits' gradient."""
        for i in range(len(self.W) - 1, -1, -1):
            np.matmul(self.xb[:n].T if i == 0 else self.z[i - 1][:n].T, delta, out=self.gW[i])
            np.matmul(self.ones[:n], delta, out=self.gb[i])
            if i > 0:
                out = self.z[i - 1][:n]
                delta = np.matmul(delta, self.W[i].T, out=self.delta[i - 1][:n])
                if self.w.activation == "relu":
                    delta *= out > 0
                else:
                    delta *= out
                    delta *= 1 - out

    def _step(self) -> None:
        lr, momentum = self.w.lr, self.w.momentum
        for p, v, g in zip(self.W + self.b, self.vW + self.vb, self.gW + self.gb):
            v *= momentum
            v -= lr * g
            p += v

    def evaluate(self) -> None:
        a = self.x_eval
        for i in range(len(self.W)):
            a = a @ self.W[i]
            a += self.b[i]
            if i < len(self.W) - 1:
                self._activate(a)
