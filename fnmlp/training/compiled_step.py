"""``fit``'s training step compiled once, for networks small enough that NumPy's per-call overhead,
not the matrix products, sets the pace (the handout's 784-64-64-32-10 at batch 100).

A compiled step does what ``fit``'s own step does (``model.kernels.loss_and_grads`` into the flat
gradient buffer, then the optimizer's ``update_flat``) with the same ufuncs in the same order, so
its numbers are the same to the bit; but every activation, delta and temporary lives in a buffer
allocated once for ``batch_size`` rows (a smaller last batch uses views of their first rows), and
the layers are unrolled into closures over those buffers and bound ufuncs: no lookups, checks or
allocations in a step, apart from what a non-built-in activation or loss, or a dropout mask,
allocates itself. The buffers belong to ``fit`` and never leave it. BatchNorm, and networks
whose activations exceed ``MAX_ELEMENTS``, keep ``fit``'s own step (``select_step``).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..model.activations import IDENTITY, LINEAR, RELU, SIGMOID, TANH, Activation
from ..model.flat import FlatLayout
from ..model.kernels import dropout_mask
from ..model.losses import MEAN_SQUARED_ERROR, SOFTMAX_CROSS_ENTROPY
from ..model.spec import MLPSpec
from ..optimizers import Optimizer

__all__ = ["ENABLED", "MAX_ELEMENTS", "select_step", "compile_step", "supports"]

ENABLED = True
"""``select_step`` compiles where it can; ``False`` keeps ``fit``'s own step everywhere."""

MAX_ELEMENTS = 131071
"""The largest layer output (batch rows times width) a compiled step takes on. Just below it
(784-1024-1024 ReLU at batch 100) the compiled step measured 1-2% faster than ``fit``'s own; past it
the products set the pace and ``fit`` keeps its own step."""

_matmul, _add, _subtract, _multiply, _divide = np.matmul, np.add, np.subtract, np.multiply, np.divide
_negative, _exp, _reciprocal, _tanh, _maximum, _greater = (np.negative, np.exp, np.reciprocal, np.tanh, np.maximum,
                                                           np.greater)


def supports(spec: MLPSpec, batch_size: int) -> bool:
    """Whether ``compile_step`` takes on ``spec`` at ``batch_size`` rows: no BatchNorm, and every
    layer output at most ``MAX_ELEMENTS``."""
    return spec.num_bn_layers == 0 and batch_size * max(spec.layer_sizes[1:]) <= MAX_ELEMENTS


def select_step(fallback: Callable, spec: MLPSpec, optimizer: Optimizer, layout: FlatLayout, weights: np.ndarray,
                grads: np.ndarray, batch_size: int, dropout_rng: Any) -> Callable:
    """``compile_step(...)`` where ``ENABLED`` and ``supports(spec, batch_size)``, else ``fallback``."""
    if ENABLED and supports(spec, batch_size):
        return compile_step(spec, optimizer, layout, weights, grads, batch_size, dropout_rng)
    return fallback


def compile_step(spec: MLPSpec, optimizer: Optimizer, layout: FlatLayout, weights: np.ndarray, grads: np.ndarray,
                 batch_size: int, dropout_rng: Any) -> Callable:
    """``step((bn_state, opt_state), xb, yb) -> ((bn_state, new_opt_state), loss_sum, metric_totals)``
    as ``fit``'s step for a spec without BatchNorm: the flat ``weights`` (``layout.size`` elements of
    ``layout.dtype``) are trained in place, ``grads`` is their gradient buffer, batches have at most
    ``batch_size`` rows, and dropout masks are drawn from ``dropout_rng``. Runs under ``run_epochs``'s
    ``np.errstate`` (the sigmoid's ``exp`` may overflow to inf on the way to exactly 0)."""
    buffers = _Buffers(spec, layout, weights, grads, batch_size)
    update, plans = optimizer.update_flat, {}

    def step(carry: tuple, xb: np.ndarray, yb: np.ndarray) -> tuple:
        n = xb.shape[0]
        plan = plans.get(n)
        if plan is None:
            plan = plans[n] = _plan(spec, buffers, n, dropout_rng)
        loss_sum, totals = plan(xb, yb)
        bn_state, opt_state = carry
        return (bn_state, update(grads, opt_state, weights, layout)), loss_sum, totals

    return step


class _Buffers:
    """Views of the flat parameters and gradients per layer, and the per-layer arrays of
    ``batch_size`` rows that every plan takes its first ``n`` rows of."""

    def __init__(self, spec: MLPSpec, layout: FlatLayout, weights: np.ndarray, grads: np.ndarray, batch_size: int):
        dtype, sizes = layout.dtype, spec.layer_sizes
        params, out = layout.split(weights), layout.split(grads)
        self.W, self.b, self.gW, self.gb = params["W"], params["b"], out["W"], out["b"]
        self.dtype, self.batch_size = dtype, batch_size

        def rows(width: int, kind: Any = dtype) -> np.ndarray:
            return np.empty((batch_size, width), kind)

        self.z = [rows(width) for width in sizes[1:]]                    # layer outputs (in place)
        self.t = [rows(width) for width in sizes[1:]]                    # activation backward
        self.mask = [rows(width, bool) for width in sizes[1:]]           # ReLU's a > 0
        self.delta = [rows(width) for width in sizes[:-1]]               # delta @ W.T, per layer input
        self.dropped = [rows(width) if rate > 0.0 else None for width, rate in zip(sizes[:-1], spec.dropout)]
        self.decay = [np.empty_like(W) for W in self.W] if spec.l2 else None
        self.ones = np.ones(batch_size, dtype)
        self.zeros = [np.zeros(width, dtype) for width in sizes[1:]]    # ReLU's row of zeros
        k = sizes[-1]
        self.grad = rows(k)
        self.row_max, self.sums, self.logs, self.at = (np.empty(batch_size, dtype) for _ in range(4))
        self.index, self.peak_index = np.empty(batch_size, np.intp), np.empty(batch_size, np.intp)
        self.base = np.arange(batch_size, dtype=np.intp) * k
        self.argmax, self.wrong = np.empty(batch_size, np.intp), np.empty(batch_size, bool)


def _plan(spec: MLPSpec, buf: _Buffers, n: int, rng: Any) -> Callable:
    """The step of a batch of ``n`` rows: ``plan(xb, yb) -> (loss_sum, metric_totals)``, the gradients
    written into the flat buffer (the optimizer's part is ``compile_step``'s)."""
    layers = [_layer(i, spec.activations[i], spec.dropout[i], buf, n, rng, spec.l2) for i in range(spec.num_layers)]
    forwards = tuple(forward for forward, _ in layers)
    backwards = tuple(backward for _, backward in reversed(layers))
    loss, metric = _loss(spec, buf, n)
    penalty, Ws, vdot = 0.5 * spec.l2 / n, tuple(buf.W), np.vdot

    def plan(xb: np.ndarray, yb: np.ndarray) -> tuple:
        a = xb
        for forward in forwards:
            a = forward(a)
        loss_sum, delta = loss(a, yb)
        for backward in backwards:
            delta = backward(delta)
        l2_sum = 0.0
        if penalty:
            l2_sum = 0
            for W in Ws:
                l2_sum += float(vdot(W, W))
            l2_sum = penalty * l2_sum
        return (loss_sum / n + l2_sum) * n, metric(a, yb)

    return plan


def _layer(i: int, activation: Activation, rate: float, buf: _Buffers, n: int, rng: Any, l2: float) -> tuple:
    """Layer ``i``'s ``(forward(a) -> output, backward(delta) -> delta of its input)`` for ``n`` rows,
    as ``kernels.forward`` and ``kernels.backward`` compute them."""
    W, b, gW, gb, ones = buf.W[i], buf.b[i], buf.gW[i], buf.gb[i], buf.ones[:n]
    WT, z, dtype = W.T, buf.z[i][:n], buf.dtype
    apply, backprop = _activation(activation, z, buf.t[i][:n], buf.mask[i][:n], buf.zeros[i])
    dropped = buf.dropped[i][:n] if buf.dropped[i] is not None else None
    delta_in = None if i == 0 else buf.delta[i][:n]
    l2_scale = dtype.type(1.0 * l2 / n) if l2 else None
    decay = buf.decay[i] if l2 else None
    cell = [None, None, None]  # this batch's layer input, dropout mask and activation output

    def forward(a: np.ndarray) -> np.ndarray:
        if dropped is not None:
            mask = cell[1] = dropout_mask(rng, a.shape, rate, dtype)
            a = _multiply(a, mask, out=dropped)
        cell[0] = a
        _matmul(a, W, out=z)
        _add(z, b, out=z)
        out = cell[2] = apply(z)
        return out

    def backward(delta: np.ndarray) -> np.ndarray:
        delta = backprop(delta, z, cell[2])
        _matmul(cell[0].T, delta, out=gW)
        cell[0] = cell[2] = None
        if l2_scale is not None:
            _multiply(l2_scale, W, out=decay)
            _add(gW, decay, out=gW)
        _matmul(ones, delta, out=gb)
        if delta_in is None:
            return None
        _matmul(delta, WT, out=delta_in)
        if dropped is not None:
            _multiply(delta_in, cell[1], out=delta_in)
        return delta_in

    return forward, backward


def _activation(activation: Activation, z: np.ndarray, t: np.ndarray, mask: np.ndarray, zeros: np.ndarray) -> tuple:
    """``(apply(z) -> a, backprop(delta, z, a) -> delta * da/dz)``: the built-ins' arithmetic into
    ``z`` and ``t``, any other activation through its record (as ``kernels`` calls it)."""
    if activation is IDENTITY or activation is LINEAR:
        return (lambda z: z), (lambda delta, z, a: delta)
    if activation is SIGMOID:
        def apply(z):
            _negative(z, out=z)
            _exp(z, out=z)
            _add(z, 1.0, out=z)
            return _reciprocal(z, out=z)

        def backprop(delta, z, a):
            _subtract(1.0, a, out=t)
            _multiply(t, a, out=t)
            return _multiply(t, delta, out=t)
        return apply, backprop
    if activation is TANH:
        def backprop(delta, z, a):
            _multiply(a, a, out=t)
            _subtract(1.0, t, out=t)
            return _multiply(t, delta, out=t)
        return (lambda z: _tanh(z, out=z)), backprop
    if activation is RELU:
        def backprop(delta, z, a):
            _greater(a, 0, out=mask)
            return _multiply(delta, mask, out=t)
        return (lambda z: _maximum(z, zeros, out=z)), backprop
    needs_z = activation.needs_z
    return ((lambda z: activation.forward(z, out=None if needs_z else z)),
            (lambda delta, z, a: activation.backward(delta, z if needs_z else None, a)))


def _loss(spec: MLPSpec, buf: _Buffers, n: int) -> tuple:
    """``(loss(outputs, targets) -> (loss_sum, dout), metric(outputs, targets) -> totals)`` for ``n``
    rows: softmax cross-entropy and MSE as their fused forms compute them, into buffers; any other
    loss through its record."""
    loss = spec.loss
    if loss is SOFTMAX_CROSS_ENTROPY:
        return _cross_entropy(buf, n)
    if loss is MEAN_SQUARED_ERROR:
        grad, k, vdot = buf.grad[:n], spec.layer_sizes[-1], np.vdot
        factor = 2.0 * 1.0 / (n * k)

        def mse(outputs, targets):
            _subtract(outputs, targets, out=grad)
            loss_sum = float(vdot(grad, grad)) / k
            _multiply(grad, factor, out=grad)
            return loss_sum, grad
        return mse, loss.metric_totals
    return (lambda outputs, targets: loss.sum_and_grad(outputs, targets, 1.0)), loss.metric_totals


def _cross_entropy(buf: _Buffers, n: int) -> tuple:
    """Softmax cross-entropy's fused loss and gradient, and its error totals, into ``buf``.

    Each row's maximum is taken at its ``argmax`` (which the error totals need anyway) rather than
    by ``np.maximum.reduce`` over rows of ``k`` values (5x slower at (100, 10)): the same value,
    NaN included, up to the sign of a zero maximum, which changes no loss or gradient bit."""
    grad, peak, sums, logs, at = buf.grad[:n], buf.row_max[:n], buf.sums[:n], buf.logs[:n], buf.at[:n]
    index, peak_index, base, flat = buf.index[:n], buf.peak_index[:n], buf.base[:n], grad.reshape(-1)
    column, peak_column = sums[:, None], peak[:, None]
    argmax, wrong = buf.argmax[:n], buf.wrong[:n]
    add_reduce, log, take, argmax_ = np.add.reduce, np.log, np.ndarray.take, np.ndarray.argmax
    not_equal, count, array, f64 = np.not_equal, np.count_nonzero, np.array, np.float64

    def loss(logits, labels):
        argmax_(logits, 1, argmax)
        _add(base, argmax, out=peak_index)
        take(logits, peak_index, None, peak, "wrap")
        _subtract(logits, peak_column, out=grad)
        _add(base, labels, out=index)
        take(flat, index, None, at, "wrap")
        _exp(grad, out=grad)
        add_reduce(grad, axis=1, out=sums)
        loss_sum = float(add_reduce(log(sums, out=logs))) - float(add_reduce(at))
        _divide(grad, column, out=grad)
        flat[index] -= 1.0
        _divide(grad, n, out=grad)
        return loss_sum, grad

    def metric(logits, labels):  # after loss, whose argmax it counts
        return array([n, count(not_equal(argmax, labels, out=wrong))], f64)

    return loss, metric
