"""The MLP itself: forward, backward and the loss-and-gradients training call, checked.

Each function takes the spec, the records and the data, and returns new values; none writes into
its arguments. Computation happens in the input's dtype (float32 in, float32 out): parameters of
another float dtype are cast for the call, never silently upcasting the data. Boolean, integer and
float16 inputs are computed in float64; complex, object and string arrays are refused.

The public functions check their arguments first (shapes against the spec, and finite values in the
parameters, the BatchNorm state and the data: a NaN there would only come back as NaN logits), then
call the unchecked kernels of ``fnmlp.kernels``.

Records and data may be arrays of any array-API library (NumPy, PyTorch through array-api-compat,
CuPy, JAX, array_api_strict), all of one library and on one device: a mix raises ``TypeError``
naming the argument before anything runs. Results come back in that library, on that device.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..utils import checks as _checks
from ..utils import namespace
from . import inference, kernels
from .batchnorm import BatchNormCache
from .kernels import ForwardCache
from .params import BatchNormState, Params, check_params, check_state, named_arrays
from .spec import MLPSpec


def forward(spec: MLPSpec, params: Params, bn_state: BatchNormState, x: Any, *, train: bool, rng: Any = None):
    """Run the network on ``x`` ``(batch, n[0])``; returns ``(outputs, cache, new_bn_state)``.

    Each layer ``i`` applies dropout to its input in training (rate ``spec.dropout[i]``: units kept
    with probability ``1 - rate``, scaled by ``1 / (1 - rate)``), computes ``z = a @ W + b``; BatchNorm
    layers then normalise ``z`` (batch statistics and an updated state when ``train``, running
    statistics and ``bn_state`` unchanged otherwise); the activation gives the layer's output.
    ``outputs`` (the logits, for cross-entropy) is ``(batch, n[-1])`` in ``x``'s dtype.

    ``rng`` (an int seed or a NumPy ``Generator``; a ``RandomState`` works too) draws the dropout
    masks; it is required in training when a rate is above 0 and ignored otherwise. The same seed, or
    generators in the same state, give the same masks; the cache keeps them for ``backward``.
    """
    x = _check_network_call(spec, params, bn_state, x)
    train = _checks.boolean("train", train)
    return kernels.forward(spec, params, bn_state, x, train, rng=_check_rng(spec, train, rng))


def predict(spec: MLPSpec, params: Params, bn_state: BatchNormState, x: Any) -> np.ndarray:
    """Eval-mode outputs ``(batch, n[-1])``, keeping nothing for backward.

    BatchNorm is folded into its layer's affine map (``fnmlp.inference``), so the outputs equal
    ``forward(..., train=False)``'s to rounding. Another library's arrays run ``forward``'s eval mode
    (the folded path is NumPy's).
    """
    x = _check_network_call(spec, params, bn_state, x)
    if namespace.is_foreign(x):
        return kernels.forward(spec, params, bn_state, x, False, keep=False)[0]
    return inference.logits(inference.fold(spec, params, bn_state, x.dtype), x)


def backward(spec: MLPSpec, params: Params, cache: ForwardCache, dlogits: Any) -> Params:
    """The gradient of a scalar objective for every parameter, given ``dlogits``, its gradient
    with respect to the outputs of the forward pass that made ``cache`` (its dropout masks held fixed).

    Returns a ``Params`` of the same shapes as ``params``, in the forward pass's dtype. Linear in
    ``dlogits``: pass ``(softmax - y) / batch`` for the mean cross-entropy. The L2 penalty is not
    included (it is not a function of the outputs); ``loss_and_grads`` includes it.
    """
    return backward_with_input_grad(spec, params, cache, dlogits)[0]


def backward_with_input_grad(spec: MLPSpec, params: Params, cache: ForwardCache, dlogits: Any):
    """Like ``backward``, also returning the gradient with respect to the input ``x``:
    ``(grads, dx)``, ``dx`` of shape ``(batch, n[0])``."""
    _checks.instance("spec", spec, MLPSpec)
    check_params(spec, params, finite=True)
    _check_cache(spec, cache)
    logits = cache.outputs[-1]
    xp, where = namespace.common_namespace([*named_arrays("params", params), ("cache.outputs[0]", cache.outputs[0]),
                                            ("dlogits", dlogits)])
    dlogits = _checks.float_array("dlogits", dlogits, ndim=2, width=logits.shape[1])
    if xp is not np and not namespace.is_foreign(dlogits):
        dlogits = namespace.to_namespace(dlogits, xp, where, "dlogits")
    if tuple(dlogits.shape) != tuple(logits.shape):
        _checks.fail(ValueError, "dlogits", f"shape {tuple(logits.shape)}, the logits' shape",
                     f"shape {tuple(dlogits.shape)}")
    return kernels.backward(spec, params, cache, namespace.astype(xp, dlogits, logits.dtype), input_grad=True)


def loss_and_grads(spec: MLPSpec, params: Params, bn_state: BatchNormState, x: Any, targets: Any, *,
                   rng: Any = None):
    """One training-mode evaluation: ``(loss, grads, new_bn_state)``.

    ``loss`` (a float) is ``spec.loss``'s mean over the batch plus the L2 penalty
    ``(0.5 * spec.l2 / batch) * sum_i ||W[i]||^2``; ``grads`` its gradient for every parameter;
    ``new_bn_state`` the BatchNorm state after this batch. ``targets``: for softmax cross-entropy
    one-hot ``(batch, n[-1])`` or integer ``(batch,)`` classes, for MSE floats ``(batch, n[-1])`` (or
    ``(batch,)`` for one output). ``rng`` draws the dropout masks, as in ``forward``.
    """
    x = _check_network_call(spec, params, bn_state, x)
    targets = check_targets(spec, targets, x.shape[0], like=x)
    mean_loss, _, grads, new_state = kernels.loss_and_grads(spec, params, bn_state, x, targets,
                                                            rng=_check_rng(spec, True, rng))
    return mean_loss, grads, new_state


def check_targets(spec: MLPSpec, targets: Any, batch: int, name: str = "targets", like: Any = None) -> Any:
    """``spec.loss.targets(targets)``, checked to have ``batch`` rows; with ``like`` (the checked
    ``x``), in its namespace and on its device (another library's targets with NumPy ``x``, or the
    other way round, raise ``TypeError``)."""
    xp, where = namespace.common_namespace([("x", like), (name, targets)])
    checked = spec.loss.targets(targets, spec.layer_sizes[-1], name)
    if checked.shape[0] != batch:
        _checks.fail(ValueError, name, f"{batch} rows, as many as x", checked.shape[0])
    if xp is not np and not namespace.is_foreign(checked):
        checked = namespace.to_namespace(checked, xp, where, name)
    return checked


def _check_rng(spec: MLPSpec, train: bool, rng: Any) -> Any:
    if not (train and spec.has_dropout):
        return None
    if rng is None:
        _checks.fail(ValueError, "rng", "a seed or a NumPy Generator to draw the dropout masks (spec.dropout has "
                     "rates above 0 and train is True)", None)
    if not isinstance(rng, (np.random.Generator, np.random.RandomState)):
        _checks.integer("rng", rng, minimum=0)
    return kernels.dropout_rng(rng)


def _check_network_call(spec: Any, params: Any, bn_state: Any, x: Any) -> np.ndarray:
    """``x`` checked, in the namespace and on the device of the records (a list becomes one)."""
    _checks.instance("spec", spec, MLPSpec)
    check_params(spec, params, finite=True)
    check_state(spec, bn_state, "bn_state", finite=True)
    xp, where = namespace.common_namespace([*named_arrays("params", params), *named_arrays("bn_state", bn_state),
                                            ("x", x)])
    x = _checks.float_array("x", x, ndim=2, width=spec.layer_sizes[0])
    return x if xp is np or namespace.is_foreign(x) else namespace.to_namespace(x, xp, where, "x")


def _check_cache(spec: MLPSpec, cache: Any) -> None:
    """Raise unless ``cache`` holds the arrays a forward pass of ``spec`` leaves."""
    _checks.instance("cache", cache, ForwardCache)
    outputs, batchnorm = cache.outputs, cache.batchnorm
    parts = (outputs, batchnorm, cache.pre, cache.masks, cache.inputs)
    if not all(isinstance(part, tuple) for part in parts):
        _checks.fail(TypeError, "cache", "a ForwardCache holding tuples",
                     ", ".join(type(part).__name__ for part in parts))

    def array_like(a, shape):
        return _checks.is_float_array(a) and tuple(a.shape) == tuple(shape)

    fits = (len(outputs) == spec.num_layers + 1 and len(batchnorm) == spec.num_bn_layers
            and isinstance(cache.train, bool)
            and all(_checks.is_float_array(a) and a.ndim == 2 and a.shape[1] == n
                    for a, n in zip(outputs, spec.layer_sizes))
            and len({a.shape[0] for a in outputs}) == 1
            and all(isinstance(bn, BatchNormCache) and array_like(bn.normalized, outputs[i + 1].shape)
                    for i, bn in enumerate(batchnorm))
            and len(cache.pre) == len(cache.masks) == len(cache.inputs) == spec.num_layers)
    if fits:
        fits = (all((z is None) != act.needs_z and (z is None or array_like(z, outputs[i + 1].shape))
                    for i, (z, act) in enumerate(zip(cache.pre, spec.activations)))
                and all((m is None or array_like(m, outputs[i].shape)) and array_like(a, outputs[i].shape)
                        for i, (m, a) in enumerate(zip(cache.masks, cache.inputs))))
    if not fits:
        shapes = [tuple(a.shape) if hasattr(a, "shape") else type(a).__name__ for a in outputs]
        _checks.fail(ValueError, "cache", f"the cache of a forward pass of this spec, {spec.layer_sizes} with "
                     f"{spec.num_bn_layers} BatchNorm layers",
                     f"outputs of shapes {shapes} and {len(batchnorm)} BatchNorm caches")

