"""The MLP itself: forward, backward and the loss-and-gradients training call.

Each function takes the spec, the records and the data, and returns new values; none writes into
its arguments. Computation happens in the input's dtype (float32 in, float32 out): parameters of
another float dtype are cast for the call, never silently upcasting the data. Boolean, integer and
float16 inputs are computed in float64; complex, object and string arrays are refused.

The public functions check their arguments first: shapes against the spec, and finite values in
the parameters, the BatchNorm state and the data (a NaN there would only come back as NaN logits).
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from . import _checks, inference
from ._ops import column_sums
from .activations import ACTIVATIONS
from .batchnorm import BatchNormCache, batchnorm_backward, batchnorm_forward
from .losses import _loss_sum_and_grad, class_indices
from .params import BatchNormState, Params, check_params, check_state
from .spec import MLPSpec


@attrs.frozen(eq=False)
class ForwardCache:
    """What ``backward`` needs from a forward pass.

    ``outputs[0]`` is the input ``x``; ``outputs[i + 1]`` is layer ``i``'s output after its activation,
    ``(batch, n[i+1])``, so ``outputs[-1]`` are the logits. ``batchnorm[i]`` is BatchNorm layer ``i``'s
    ``BatchNormCache``. ``train`` is the mode of the pass.
    """

    train: bool
    outputs: tuple
    batchnorm: tuple


def forward(spec: MLPSpec, params: Params, state: BatchNormState, x: Any, *, train: bool):
    """Run the network on ``x`` ``(batch, n[0])``; returns ``(logits, cache, new_state)``.

    Each layer computes ``z = a @ W + b``; BatchNorm layers then normalise ``z`` (batch statistics and
    an updated state when ``train``, running statistics and ``state`` unchanged otherwise); the
    activation gives the layer's output. ``logits`` is ``(batch, n[-1])`` in ``x``'s dtype.
    """
    x = _check_network_call(spec, params, state, x)
    return _forward(spec, params, state, x, _checks.boolean("train", train))


def predict(spec: MLPSpec, params: Params, state: BatchNormState, x: Any) -> np.ndarray:
    """Eval-mode logits ``(batch, n[-1])``, keeping nothing for backward.

    BatchNorm is folded into its layer's affine map (``fnmlp.inference``), so the logits equal
    ``forward(..., train=False)``'s to rounding.
    """
    x = _check_network_call(spec, params, state, x)
    return inference.logits(inference.fold(spec, params, state, x.dtype), x)


def backward(spec: MLPSpec, params: Params, cache: ForwardCache, dlogits: Any) -> Params:
    """The gradient of a scalar objective for every parameter, given ``dlogits``, its gradient
    with respect to the logits of the forward pass that made ``cache``.

    Returns a ``Params`` of the same shapes as ``params``, in the forward pass's dtype. Linear in
    ``dlogits``: pass ``(softmax - y) / batch`` for the mean cross-entropy.
    """
    return backward_with_input_grad(spec, params, cache, dlogits)[0]


def backward_with_input_grad(spec: MLPSpec, params: Params, cache: ForwardCache, dlogits: Any):
    """Like ``backward``, also returning the gradient with respect to the input ``x``:
    ``(grads, dx)``, ``dx`` of shape ``(batch, n[0])``."""
    _checks.instance("spec", spec, MLPSpec)
    check_params(spec, params, finite=True)
    _check_cache(spec, cache)
    logits = cache.outputs[-1]
    dlogits = _checks.float_array("dlogits", dlogits, ndim=2, width=logits.shape[1])
    if dlogits.shape != logits.shape:
        _checks.fail(ValueError, "dlogits", f"shape {logits.shape}, the logits' shape", f"shape {dlogits.shape}")
    return _backward(spec, params, cache, dlogits.astype(logits.dtype, copy=False), input_grad=True)


def loss_and_grads(spec: MLPSpec, params: Params, state: BatchNormState, x: Any, labels: Any):
    """One training-mode evaluation: ``(mean_loss, grads, new_state)``.

    ``mean_loss`` is the mean softmax cross-entropy over the batch (a float), ``grads`` its gradient
    for every parameter, ``new_state`` the BatchNorm state after this batch. ``labels`` is one-hot
    ``(batch, n[-1])`` or integer ``(batch,)``.
    """
    x = _check_network_call(spec, params, state, x)
    labels = _check_labels(spec, labels, x.shape[0])
    mean_loss, _, grads, new_state = _loss_and_grads(spec, params, state, x, labels)
    return mean_loss, grads, new_state


def _check_network_call(spec: Any, params: Any, state: Any, x: Any) -> np.ndarray:
    _checks.instance("spec", spec, MLPSpec)
    check_params(spec, params, finite=True)
    check_state(spec, state, finite=True)
    return _checks.float_array("x", x, ndim=2, width=spec.layer_sizes[0])


def _check_cache(spec: MLPSpec, cache: Any) -> None:
    """Raise unless ``cache`` holds the arrays a forward pass of ``spec`` leaves."""
    _checks.instance("cache", cache, ForwardCache)
    outputs, batchnorm = cache.outputs, cache.batchnorm
    if not (isinstance(outputs, tuple) and isinstance(batchnorm, tuple)):
        _checks.fail(TypeError, "cache", "a ForwardCache holding tuples",
                     f"outputs {type(outputs).__name__}, batchnorm {type(batchnorm).__name__}")
    fits = (len(outputs) == spec.num_layers + 1 and len(batchnorm) == spec.num_bn_layers
            and isinstance(cache.train, bool)
            and all(isinstance(a, np.ndarray) and a.ndim == 2 and a.shape[1] == n and a.dtype in _checks.FLOAT_DTYPES
                    for a, n in zip(outputs, spec.layer_sizes))
            and len({a.shape[0] for a in outputs}) == 1
            and all(isinstance(bn, BatchNormCache) and np.shape(bn.normalized) == outputs[i + 1].shape
                    for i, bn in enumerate(batchnorm)))
    if not fits:
        shapes = [getattr(a, "shape", type(a).__name__) for a in outputs]
        _checks.fail(ValueError, "cache", f"the cache of a forward pass of this spec, {spec.layer_sizes} with "
                     f"{spec.num_bn_layers} BatchNorm layers",
                     f"outputs of shapes {shapes} and {len(batchnorm)} BatchNorm caches")


def _check_labels(spec: MLPSpec, labels: Any, batch: int) -> np.ndarray:
    indices = class_indices(labels, spec.layer_sizes[-1])
    if indices.shape[0] != batch:
        _checks.fail(ValueError, "labels", f"{batch} rows, as many as x", indices.shape[0])
    return indices


def _forward(spec: MLPSpec, params: Params, state: BatchNormState, x: np.ndarray, train: bool,
             keep: bool = True):
    dtype = x.dtype
    outputs, bn_caches = [x], []
    new_mean, new_var = list(state.running_mean), list(state.running_var)
    a = x
    for i, name in enumerate(spec.activations):
        z = a @ params.W[i].astype(dtype, copy=False)
        z += params.b[i].astype(dtype, copy=False)
        if i < spec.num_bn_layers:
            z, bn_cache, new_mean[i], new_var[i] = batchnorm_forward(
                z, params.gamma[i], params.beta[i], state.running_mean[i], state.running_var[i],
                train=train, alpha=spec.bn_alpha, eps=spec.bn_eps)
            bn_caches.append(bn_cache)
        bn_output_kept = keep and i < spec.num_bn_layers  # the cache keeps it as bn_cache.out
        a = ACTIVATIONS[name].apply(z, out=None if bn_output_kept else z)  # else z is this call's own array
        if keep:
            outputs.append(a)
    new_state = BatchNormState(new_mean, new_var) if train and spec.num_bn_layers else state
    cache = ForwardCache(train, tuple(outputs), tuple(bn_caches)) if keep else None
    return a, cache, new_state


def _backward(spec: MLPSpec, params: Params, cache: ForwardCache, dlogits: np.ndarray,
              input_grad: bool, out: dict = None):
    """The gradients as a ``Params``. Given ``out``, writable arrays by field name (``out["W"][i]``, as
    ``FlatLayout.split`` gives), the gradients go there instead and ``None`` stands for the ``Params``."""
    dtype = dlogits.dtype
    L = spec.num_layers
    dW, db = [None] * L, [None] * L
    dgamma, dbeta = [None] * spec.num_bn_layers, [None] * spec.num_bn_layers
    delta = dlogits
    for i in reversed(range(L)):
        delta = ACTIVATIONS[spec.activations[i]].backprop(delta, cache.outputs[i + 1])
        if i < spec.num_bn_layers:
            delta, dgamma[i], dbeta[i] = batchnorm_backward(cache.batchnorm[i], params.gamma[i], delta)
            if out is not None:
                dgamma[i] = _into(out["gamma"][i], dgamma[i])
                dbeta[i] = _into(out["beta"][i], dbeta[i])
        dW[i] = np.matmul(cache.outputs[i].T, delta, out=None if out is None else out["W"][i])
        db[i] = column_sums(delta, out=None if out is None else out["b"][i])
        if i > 0 or input_grad:
            delta = delta @ params.W[i].astype(dtype, copy=False).T
    grads = Params(W=dW, b=db, gamma=dgamma, beta=dbeta) if out is None else None
    return (grads, delta) if input_grad else grads


def _into(out: np.ndarray, value: np.ndarray) -> np.ndarray:
    out[...] = value
    return out


def _loss_and_grads(spec: MLPSpec, params: Params, state: BatchNormState, x: np.ndarray,
                    labels: np.ndarray, out: dict = None, scale: float = 1.0):
    """Returns ``(mean_loss, logits, grads, new_state)``; inputs already checked. ``grads`` are those
    of ``scale`` times the mean loss (backward is linear: an optimizer can have its step size folded
    in). Given ``out``, they go there and ``grads`` is ``None`` (see ``_backward``)."""
    logits, cache, new_state = _forward(spec, params, state, x, True)
    loss_sum, dlogits = _loss_sum_and_grad(logits, labels, scale)
    grads = _backward(spec, params, cache, dlogits, input_grad=False, out=out)
    return loss_sum / x.shape[0], logits, grads, new_state
