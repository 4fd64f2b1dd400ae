"""The network's unchecked kernels: forward, backward, loss-and-gradients and evaluation totals.

``fnmlp.network``'s public functions check their arguments and call these; the training loop and
``fnmlp.hw1`` call them directly on arguments they have already checked (shapes against the spec,
float32/float64 arrays, finite values, targets as ``spec.loss.targets`` returns them). Nothing here
checks anything; nothing here writes into its arguments, except ``backward`` into ``out`` when given.

The arrays may be any array-API library's, all of one library and device (the public functions
check that): each kernel computes in the namespace of its data. NumPy keeps its fast paths (buffers
written in place through ``out``, BLAS column sums); the dropout masks are drawn on the host in
either case and moved to the data's device, so one generator gives the same masks everywhere.
"""

from __future__ import annotations

from typing import Any, Optional

import attrs
import numpy as np

from ..utils import namespace
from ..utils.namespace import array_namespace, astype
from ..utils.ops import column_sums
from .batchnorm import batchnorm_backward, batchnorm_forward
from .params import BatchNormState, Params
from .spec import MLPSpec


@attrs.frozen(eq=False)
class ForwardCache:
    """What ``backward`` needs from a forward pass of a batch of ``B`` rows.

    ``outputs[0]`` is the input ``x``; ``outputs[i + 1]`` is layer ``i``'s output after its activation,
    ``(B, n[i+1])``, so ``outputs[-1]`` are the network's outputs (logits). ``pre[i]`` is layer ``i``'s
    activation input ``z`` when its activation uses it, else ``None``. ``masks[i]`` is the scaled
    dropout mask ``keep / (1 - rate)`` ``(B, n[i])`` applied to layer ``i``'s input, or ``None`` (rate 0
    or eval); ``inputs[i]`` is what layer ``i`` multiplied by ``W[i]`` (``outputs[i] * masks[i]``, or
    ``outputs[i]`` itself). ``batchnorm[i]`` is BatchNorm layer ``i``'s ``BatchNormCache``. ``train`` is
    the mode of the pass.
    """

    train: bool
    outputs: tuple
    batchnorm: tuple
    pre: tuple
    masks: tuple
    inputs: tuple


def dropout_rng(rng: Any) -> Any:
    """A NumPy ``Generator`` (or ``RandomState``) from a seed or a generator; ``None`` stays ``None``."""
    if rng is None or isinstance(rng, (np.random.Generator, np.random.RandomState)):
        return rng
    return np.random.default_rng(rng)


def dropout_mask(rng: Any, shape: tuple, rate: float, dtype: np.dtype) -> np.ndarray:
    """``keep / (1 - rate)`` in ``dtype``, each unit dropped with probability exactly ``rate``.

    One random byte per unit (six times quicker than a float32 uniform each): with
    ``rate * 256 = whole + frac``, a unit is dropped when its byte is below ``whole``, kept when above,
    and, for the 1 in 256 whose byte equals ``whole``, dropped when a float64 uniform is below ``frac``:
    ``P(drop) = whole / 256 + frac / 256 = rate``. The same generator state gives the same mask."""
    level = rate * 256.0
    whole = int(level)
    frac = level - whole
    if isinstance(rng, np.random.Generator):
        bits = rng.integers(0, 256, size=shape, dtype=np.uint8)
    else:
        bits = rng.randint(0, 256, size=shape, dtype=np.uint8)
    if frac == 0.0:
        keep = bits >= whole
    else:
        keep = bits > whole
        ties = np.flatnonzero(bits == whole)
        if ties.size:
            keep.flat[ties] = rng.random_sample(ties.size) >= frac if isinstance(rng, np.random.RandomState) \
                else rng.random(ties.size) >= frac
    return np.multiply(keep, dtype.type(1.0 / (1.0 - rate)), dtype=dtype)


def dropout_mask_like(rng: Any, a: Any, rate: float) -> Any:
    """``dropout_mask`` for ``a``'s shape and dtype, in ``a``'s namespace and on its device: drawn on the
    host, then moved (the same generator state gives the same mask as for a NumPy ``a``)."""
    if type(a) is np.ndarray:
        return dropout_mask(rng, a.shape, rate, a.dtype)
    if namespace.is_traced(a):
        raise TypeError("rng: dropout masks are drawn on the host, which jax.jit cannot trace: "
                        "jit a network without dropout, or draw masks outside the jitted function")
    xp = array_namespace(a)
    host = dropout_mask(rng, tuple(a.shape), rate, np.dtype(namespace.dtype_name(xp, a.dtype)))
    return xp.asarray(host, device=namespace.device(a))


def forward(spec: MLPSpec, params: Params, bn_state: BatchNormState, x: np.ndarray, train: bool,
            keep: bool = True, rng: Any = None):
    """Returns ``(outputs, cache, new_bn_state)``; ``cache`` is ``None`` unless ``keep``.

    In training, dropout masks are drawn from ``rng`` (a ``Generator`` or ``RandomState``; required
    when ``spec`` has a rate above 0) by ``dropout_mask``, layer by layer from the input on, for each
    layer input whose rate is above 0."""
    dtype = x.dtype
    xp = np if type(x) is np.ndarray else array_namespace(x)
    outputs, inputs, pres, masks, bn_caches = [x], [], [], [], []
    new_mean, new_var = list(bn_state.running_mean), list(bn_state.running_var)
    a = x
    for i, activation in enumerate(spec.activations):
        rate = spec.dropout[i]
        mask = None
        if train and rate > 0.0:
            mask = dropout_mask_like(rng, a, rate)
            a = a * mask
        inputs.append(a)
        masks.append(mask)
        z = a @ astype(xp, params.W[i], dtype)
        z += astype(xp, params.b[i], dtype)
        if i < spec.num_bn_layers:
            z, bn_cache, new_mean[i], new_var[i] = batchnorm_forward(
                z, params.gamma[i], params.beta[i], bn_state.running_mean[i], bn_state.running_var[i],
                train=train, alpha=spec.bn_alpha, eps=spec.bn_eps)
            bn_caches.append(bn_cache)
        # z is this call's own array unless the BatchNorm cache keeps it (as bn_cache.out), or backward needs it
        keep_z = keep and (i < spec.num_bn_layers or activation.needs_z)
        a = activation.forward(z, out=None if keep_z or xp is not np else z)
        pres.append(z if keep and activation.needs_z else None)
        if keep:
            outputs.append(a)
    new_state = BatchNormState(new_mean, new_var) if train and spec.num_bn_layers else bn_state
    cache = ForwardCache(train, tuple(outputs), tuple(bn_caches), tuple(pres), tuple(masks),
                         tuple(inputs)) if keep else None
    return a, cache, new_state


def backward(spec: MLPSpec, params: Params, cache: ForwardCache, dout: np.ndarray, input_grad: bool,
             out: Optional[dict] = None, l2_scale: float = 0.0):
    """The gradients as a ``Params`` (and ``dx`` with ``input_grad``: ``(grads, dx)``).

    ``l2_scale`` adds ``l2_scale * W[i]`` to each ``dW[i]``. Given ``out``, writable arrays by field name
    (``out["W"][i]``, as ``FlatLayout.split`` gives), the gradients go there instead and ``None``
    stands for the ``Params`` (NumPy only)."""
    dtype = dout.dtype
    xp = np if type(dout) is np.ndarray else array_namespace(dout)
    L = spec.num_layers
    dW, db = [None] * L, [None] * L
    dgamma, dbeta = [None] * spec.num_bn_layers, [None] * spec.num_bn_layers
    delta = dout
    for i in reversed(range(L)):
        activation = spec.activations[i]
        delta = activation.backward(delta, cache.pre[i], cache.outputs[i + 1])
        if i < spec.num_bn_layers:
            delta, dgamma[i], dbeta[i] = batchnorm_backward(cache.batchnorm[i], params.gamma[i], delta)
            if out is not None:
                dgamma[i] = _into(out["gamma"][i], dgamma[i])
                dbeta[i] = _into(out["beta"][i], dbeta[i])
        W = astype(xp, params.W[i], dtype)
        dW[i] = cache.inputs[i].T @ delta if out is None else np.matmul(cache.inputs[i].T, delta, out=out["W"][i])
        if l2_scale:
            dW[i] += (dtype.type(l2_scale) if xp is np else l2_scale) * W
        db[i] = column_sums(delta, out=None if out is None else out["b"][i])
        if i > 0 or input_grad:
            delta = delta @ W.T
            if cache.masks[i] is not None:
                delta *= cache.masks[i]
    grads = Params(W=dW, b=db, gamma=dgamma, beta=dbeta) if out is None else None
    return (grads, delta) if input_grad else grads


def _into(out: np.ndarray, value: np.ndarray) -> np.ndarray:
    out[...] = value
    return out


def l2_penalty(spec: MLPSpec, params: Params, batch: int) -> float:
    """``(0.5 * l2 / batch) * sum_i ||W[i]||^2``, scikit-learn's ``alpha`` term (0.0 when ``l2 == 0``)."""
    if not spec.l2:
        return 0.0
    if type(params.W[0]) is not np.ndarray:
        xp = array_namespace(params.W[0])
        return 0.5 * spec.l2 / batch * sum(namespace.scalar(xp.sum(W * W)) for W in params.W)
    return 0.5 * spec.l2 / batch * sum(float(np.vdot(W, W)) for W in params.W)


def loss_and_grads(spec: MLPSpec, params: Params, bn_state: BatchNormState, x: np.ndarray, targets: Any,
                   rng: Any = None, out: Optional[dict] = None, scale: float = 1.0):
    """One training-mode evaluation: ``(penalised_mean_loss, outputs, grads, new_bn_state)``.

    ``targets`` as ``spec.loss.targets`` returns them; ``rng`` a ``Generator``/``RandomState`` for the
    dropout masks (see ``forward``). ``grads`` are those of ``scale`` times the penalised mean loss
    (backward is linear: an optimizer can fold its step size in). Given ``out``, they go there and
    ``grads`` is ``None`` (see ``backward``)."""
    outputs, cache, new_state = forward(spec, params, bn_state, x, True, rng=rng)
    batch = x.shape[0]
    loss_sum, dout = spec.loss.sum_and_grad(outputs, targets, scale)
    grads = backward(spec, params, cache, dout, input_grad=False, out=out, l2_scale=scale * spec.l2 / batch)
    return loss_sum / batch + l2_penalty(spec, params, batch), outputs, grads, new_state


def eval_totals(spec: MLPSpec, params: Params, bn_state: BatchNormState, x: np.ndarray, targets: Any,
                chunk_rows: int = 5000) -> tuple:
    """Eval mode over ``x`` in chunks: ``(loss_sum, metric_totals)``, the unpenalised losses summed and
    ``spec.loss.metric_totals`` added up; the mean loss is ``loss_sum / n``, the metric
    ``spec.loss.metric(metric_totals)``."""
    loss = spec.loss
    xp = np if type(x) is np.ndarray else array_namespace(x)
    loss_sum, totals = 0.0, None
    for begin in range(0, x.shape[0], chunk_rows):
        rows = slice(begin, min(begin + chunk_rows, x.shape[0]))
        outputs = forward(spec, params, bn_state, x[rows, ...], False, keep=False)[0]
        losses, _ = loss.value(outputs, targets[rows, ...])
        loss_sum += float(xp.sum(losses))
        batch_totals = loss.metric_totals(outputs, targets[rows, ...])
        totals = batch_totals if totals is None else totals + batch_totals
    return loss_sum, totals
