"""Evaluation mode without a cache: BatchNorm folded into the affine maps, rows in cache-sized chunks.

In eval mode BatchNorm is a fixed affine map of each feature, so a layer with BatchNorm,
``gamma * (a @ W + b - mean) / sqrt(var + eps) + beta``, is the single affine map ``a @ W' + b'`` with
``s = gamma / sqrt(var + eps)``, ``W' = W * s`` (column ``j`` scaled by ``s[j]``) and
``b' = (b - mean) * s + beta``. A hidden sigmoid is folded too: ``sigmoid(z) = 0.5 * tanh(0.5 * z) + 0.5``,
so its layer becomes ``tanh(a @ (0.5 W) + 0.5 b)`` and the next layer, which reads ``0.5 * t + 0.5``,
``t @ (0.5 W_next) + (b_next + 0.5 * sum of W_next's rows)``: one ufunc pass for the activation
instead of four, the same function up to rounding. ``fold`` computes these once per evaluation;
``chunks`` then runs one matrix product, one bias add and the activation per layer on a block of
rows at a time, into buffers it reuses from block to block, so a layer's output is still in cache
when the next layer reads it.

The folded path is NumPy's; ``evaluate`` on another library's arrays runs the eval-mode forward pass.
Nothing here checks its arguments or keeps anything for backward: ``fnmlp.predict``,
``fnmlp.evaluate`` and ``fit`` check theirs, then call these.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

import attrs
import numpy as np

from ..utils.namespace import is_foreign
from . import kernels
from .activations import ACTIVATIONS, SIGMOID, TANH
from .losses import Loss
from .params import BatchNormState, Params
from .spec import MLPSpec

# Rows per block: at least MIN_CHUNK_ROWS, so each BLAS call amortises packing ``W`` and starting its
# threads, and for narrow networks more, until the widest layer's block fills BLOCK_BYTES (one core's
# L2 here) and a block's activations stay in cache from one layer to the next. Measured on 10,000
# float32 rows on a shared 2-core machine (load 4-12, so +-20% and worse): on 784-1024-1024-10,
# blocks of 1,024-4,096 rows took 15-25% less time than one 10,000-row call and blocks of 64-256
# rows 1.5-4x more; on the handout network 512-10,000 rows were within noise with one BLAS thread,
# while with two threads on the loaded machine fewer, larger calls won (each call can stall waiting
# for a descheduled thread). Blocks are split evenly, so the last is never a sliver.
BLOCK_BYTES = 1 << 20
MIN_CHUNK_ROWS = 4096
MAX_CHUNK_ROWS = 16384


@attrs.frozen(eq=False)
class EvalNetwork:
    """A network as eval mode computes it: layer ``i`` maps ``a`` to ``activations[i](a @ W[i] + b[i])``.

    ``W[i]`` ``(n[i], n[i+1])`` and ``b[i]`` ``(n[i+1],)`` are in ``dtype``, with BatchNorm folded in;
    ``activations[i]`` is an ``Activation``. Built by ``fold``; arrays may be views of the parameters.
    """

    W: tuple
    b: tuple
    activations: tuple
    dtype: np.dtype


# An activation f with f(z) = outer * g(inner * z) + shift for a cheaper g: (inner, g, outer, shift).
_AFFINE_FORMS = {SIGMOID: (0.5, TANH, 0.5, 0.5)}


def fold(spec: MLPSpec, params: Params, bn_state: BatchNormState, dtype: Any) -> EvalNetwork:
    """The eval-mode network of ``spec`` in ``dtype``: parameters cast, BatchNorm and hidden sigmoids
    folded in (see the module's docstring).

    Folded layers are computed in float64 and rounded to ``dtype`` once. Arguments are not checked.
    """
    dtype = np.dtype(dtype)
    weights, biases, activations = [], [], []
    reads = None  # (outer, shift) of the affine map the previous layer's output still owes
    for i in range(spec.num_layers):
        W, b, activation = params.W[i], params.b[i], _activation(spec.activations[i])
        form = _AFFINE_FORMS.get(activation) if i < spec.num_layers - 1 else None
        if i < spec.num_bn_layers or reads is not None or form is not None:
            W, b = W.astype(np.float64), b.astype(np.float64)
            if i < spec.num_bn_layers:
                scale = params.gamma[i].astype(np.float64) / np.sqrt(bn_state.running_var[i].astype(np.float64)
                                                                     + spec.bn_eps)
                W, b = W * scale, (b - bn_state.running_mean[i]) * scale + params.beta[i]
            if reads is not None:
                W, b = W * reads[0], b + reads[1] * W.sum(axis=0)
                reads = None
            if form is not None:
                inner, activation, outer, shift = form
                W, b = W * inner, b * inner
                reads = (outer, shift)
        weights.append(W.astype(dtype, copy=False))
        biases.append(b.astype(dtype, copy=False))
        activations.append(activation)
    return EvalNetwork(tuple(weights), tuple(biases), tuple(activations), dtype)


def _activation(value: Any) -> Any:
    """An ``Activation`` from a spec's entry (a name or already an ``Activation``)."""
    return ACTIVATIONS[value] if isinstance(value, str) else value


def chunk_rows(net: EvalNetwork) -> int:
    """Rows per block: ``BLOCK_BYTES`` of the widest layer's output, within ``MIN_CHUNK_ROWS`` and
    ``MAX_CHUNK_ROWS``."""
    widest = max(W.shape[1] for W in net.W)
    rows = BLOCK_BYTES // (widest * net.dtype.itemsize)
    return int(min(max(rows, MIN_CHUNK_ROWS), MAX_CHUNK_ROWS))


def chunks(net: EvalNetwork, x: np.ndarray, out: Optional[np.ndarray] = None,
           rows: Optional[int] = None) -> Iterator[tuple]:
    """Yield ``(rows, logits)`` for consecutive blocks of ``x`` ``(n, n[0])`` (in ``net.dtype``):
    ``rows`` a slice of ``x``'s rows and ``logits`` ``(block, n[-1])`` their logits.

    Without ``out``, ``logits`` is a buffer that the next block overwrites; with ``out`` ``(n, n[-1])``,
    it is ``out[rows]``. Blocks have at most ``rows`` rows (default ``chunk_rows(net)``), as evenly
    as that allows.
    """
    n = x.shape[0]
    blocks = -(-n // (rows or chunk_rows(net)))
    step = -(-n // blocks)
    layers = list(zip(net.W, net.b, (a.forward for a in net.activations)))
    buffers = [np.empty((step, W.shape[1]), net.dtype) for W in net.W]
    if out is not None:
        buffers[-1] = None
    for begin in range(0, n, step):
        block = slice(begin, min(begin + step, n))
        m = block.stop - begin
        a = x[block]
        for (W, b, apply), buffer in zip(layers, buffers):
            z = np.matmul(a, W, out=out[block] if buffer is None else buffer[:m])
            z += b
            a = apply(z, out=z)
            if a is not z:  # an activation without an in-place form
                z[...] = a
                a = z
        yield block, a


def logits(net: EvalNetwork, x: np.ndarray, rows: Optional[int] = None) -> np.ndarray:
    """Eval-mode logits ``(n, n[-1])`` of ``x`` ``(n, n[0])``, a new array in ``net.dtype``."""
    out = np.empty((x.shape[0], net.W[-1].shape[1]), net.dtype)
    for _ in chunks(net, x, out, rows):
        pass
    return out


def loss_and_metric(net: EvalNetwork, x: np.ndarray, targets: np.ndarray, loss: Loss,
                    rows: Optional[int] = None) -> tuple:
    """``(mean loss, metric)`` of ``x`` ``(n, n[0])`` against ``targets`` as ``loss.targets`` gives them
    (``loss.value`` averaged over the rows, ``loss.metric`` of the summed ``loss.metric_totals``)."""
    loss_sum, totals = 0.0, 0
    for block, outputs in chunks(net, x, rows=rows):
        losses, _ = loss.value(outputs, targets[block])
        loss_sum += float(losses.sum())
        totals = totals + loss.metric_totals(outputs, targets[block])
    return loss_sum / x.shape[0], loss.metric(totals)


def evaluate(spec: MLPSpec, params: Params, bn_state: BatchNormState, x: np.ndarray, targets: np.ndarray) -> tuple:
    """``(mean loss, metric)`` of ``spec``'s loss on ``x`` in eval mode: ``loss_and_metric`` of the folded
    network in ``x``'s dtype (``fnmlp.evaluate`` without its checks). Another library's arrays (records,
    ``x`` and targets all of it) run ``forward``'s eval mode in chunks instead (``kernels.eval_totals``)."""
    if is_foreign(x):
        loss_sum, totals = kernels.eval_totals(spec, params, bn_state, x, targets)
        return loss_sum / x.shape[0], spec.loss.metric(totals)
    return loss_and_metric(fold(spec, params, bn_state, x.dtype), x, targets, spec.loss)

