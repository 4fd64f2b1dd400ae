"""What ``fnmlp.hw1``'s classes need that is not the handout's interface: the checks of what their
arguments and public attributes hold, the records they become for the pure core, and back.

A check raises ``TypeError`` or ``ValueError`` naming the argument or attribute (``W[1]``,
``bn_layers[0].gamma``) and changes nothing; nothing here keeps state of its own (``activation_records``
fills the ``wrappers`` cache its caller keeps).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import attrs
import numpy as np

from ..model import activations as core_activations
from ..model.kernels import ForwardCache
from ..model.losses import class_indices
from ..model.params import BatchNormState, Params, init_params
from ..model.spec import MLPSpec
from ..optimizers import sgd
from ..utils import checks as _checks


@attrs.frozen(eq=False)
class LastForward:
    """What ``MLP.backward`` needs from the last forward: the records it ran on, its cache, the
    BatchNorm objects it filled."""

    spec: MLPSpec
    params: Params
    cache: ForwardCache
    bn_layers: tuple


def handout_sgd(lr: Any, momentum: Any) -> Any:
    """``sgd(lr, momentum)`` for a number ``lr`` (the handout has no schedules)."""
    return sgd(_checks.real("lr", lr, minimum=0.0), momentum)


def widths(hiddens: Any) -> list:
    """``hiddens``, a sequence of hidden layer widths, as a list of positive ints."""
    if isinstance(hiddens, (str, bytes)) or not isinstance(hiddens, (Sequence, np.ndarray)):
        _checks.fail(TypeError, "hiddens", "a sequence of layer widths", _checks.describe(hiddens))
    return [_checks.integer(f"hiddens[{i}]", n, minimum=1) for i, n in enumerate(hiddens)]


def initial_arrays(spec: MLPSpec, weight_init_fn: Callable, bias_init_fn: Callable) -> tuple:
    """``(W, b, params)``: the handout's initial weights and biases, from ``weight_init_fn(fan_in,
    fan_out)`` for each layer in order, then ``bias_init_fn(fan_out)`` for each layer, as writable
    arrays (``b[i]`` in the shape ``bias_init_fn`` returned), and the core's ``Params`` of them."""
    bias_shapes = []

    def weight_init(m: int, n: int) -> Any:
        return shaped(f"weight_init_fn({m}, {n})", weight_init_fn(m, n), [(m, n)])

    def bias_init(n: int) -> Any:
        bias = shaped(f"bias_init_fn({n})", bias_init_fn(n), [(1, n), (n,)])
        bias_shapes.append(np.shape(bias))
        return bias

    params, _ = init_params(spec, weight_init=weight_init, bias_init=bias_init)
    W = [np.array(w) for w in params.W]
    b = [np.array(v).reshape(shape) for v, shape in zip(params.b, bias_shapes)]
    return W, b, params


def gradients(spec: MLPSpec, params: Params, dW: Any, db: Any, bn_layers: tuple) -> Params:
    """The exposed gradients ``dW``, ``db`` and each BatchNorm layer's ``dgamma``, ``dbeta``,
    checked against ``params``, as a ``Params`` (vectors ``(n,)``)."""
    n = spec.layer_sizes
    return Params(
        W=[array(f"dW[{i}]", g, [w.shape]) for i, (g, w) in enumerate(zip(listed("dW", dW, spec.num_layers),
                                                                          params.W))],
        b=[vector(f"db[{i}]", g, n[i + 1]) for i, g in enumerate(listed("db", db, spec.num_layers))],
        gamma=[vector(f"bn_layers[{i}].dgamma", layer.dgamma, n[i + 1]) for i, layer in enumerate(bn_layers)],
        beta=[vector(f"bn_layers[{i}].dbeta", layer.dbeta, n[i + 1]) for i, layer in enumerate(bn_layers)])


def records(spec: MLPSpec, wrappers: dict, builtins: tuple, bn_class: type, activations: Any, W: Any, b: Any,
            bn_layers: Any) -> tuple:
    """``(spec, params, bn_state, bn_layers)``: the core's records for an ``MLP``'s attributes as they
    are now (``spec`` as built, updated to ``activations`` and the BatchNorm layers' ``alpha`` and
    ``eps``), checked in that order, and its BatchNorm objects (a tuple, empty without BatchNorm)."""
    n, L = spec.layer_sizes, spec.num_layers
    names = activation_records(activations, L, wrappers, builtins)
    W = [array(f"W[{i}]", w, [(n[i], n[i + 1])]) for i, w in enumerate(listed("W", W, L))]
    b = [vector(f"b[{i}]", v, n[i + 1]) for i, v in enumerate(listed("b", b, L))]
    bn_layers = batchnorm_layers(bn_layers, spec.num_bn_layers, bn_class)
    checked = [batchnorm_fields(f"bn_layers[{i}]", layer, n[i + 1]) for i, layer in enumerate(bn_layers)]
    settings = sorted({c[4:] for c in checked})
    if len(settings) > 1:
        _checks.fail(ValueError, "bn_layers", "the same alpha and eps in every layer", f"(alpha, eps) {settings}")
    alpha, eps = settings[0] if settings else (spec.bn_alpha, spec.bn_eps)
    if (names, alpha, eps) != (spec.activations, spec.bn_alpha, spec.bn_eps):
        spec = attrs.evolve(spec, activations=names, bn_alpha=alpha, bn_eps=eps)
    columns = list(zip(*checked)) or [()] * 4
    return spec, Params(W, b, columns[0], columns[1]), BatchNormState(columns[2], columns[3]), bn_layers


def batchnorm_layers(value: Any, count: int, bn_class: type) -> tuple:
    """``MLP.bn_layers``, ``count`` objects of ``bn_class`` (or ``None`` when ``count`` is 0), as a tuple."""
    if count == 0 and value is None:
        return ()
    layers = tuple(listed("bn_layers", value, count, "BatchNorm layer"))
    for i, layer in enumerate(layers):
        _checks.instance(f"bn_layers[{i}]", layer, bn_class)
    return layers


def batchnorm_fields(name: str, layer: Any, width: int) -> tuple:
    """A BatchNorm layer's ``(gamma, beta, running_mean, running_var)`` as ``(width,)`` views, then
    ``(alpha, eps)``, checked; ``name`` names the layer in messages."""
    vectors = tuple(vector(f"{name}.{field}", getattr(layer, field), width)
                    for field in ("gamma", "beta", "running_mean", "running_var"))
    alpha = _checks.real(f"{name}.alpha", layer.alpha, minimum=0.0, maximum=1.0)
    return (*vectors, alpha, _checks.real(f"{name}.eps", layer.eps, above=0.0))


def owned(value: np.ndarray) -> np.ndarray:
    """``value`` as one its receiver may keep and write into: the read-only views that records hold
    are copied; the fresh arrays the core computes on each call are handed over as they are."""
    return value if value.flags.writeable else np.array(value)


def row(value: np.ndarray) -> np.ndarray:
    """``value`` as an owned ``(1, n)`` row."""
    return owned(value).reshape(1, -1)


def array(name: str, value: Any, shapes: Sequence[tuple]) -> np.ndarray:
    """``value`` itself, if it is a float32 or float64 ndarray of one of ``shapes``."""
    if not isinstance(value, np.ndarray) or value.dtype not in _checks.FLOAT_DTYPES:
        _checks.fail(TypeError, name, "a float32 or float64 ndarray", _checks.describe(value))
    if value.shape not in shapes:
        _checks.fail(ValueError, name, " or ".join(f"shape {shape}" for shape in shapes), f"shape {value.shape}")
    return value


def vector(name: str, value: Any, width: int) -> np.ndarray:
    """A ``(1, width)`` or ``(width,)`` float array as a ``(width,)`` view."""
    return array(name, value, [(1, width), (width,)]).reshape(width)


def shaped(name: str, value: Any, shapes: Sequence[tuple]) -> np.ndarray:
    """``value`` as a finite float array of one of ``shapes``."""
    checked = _checks.float_array(name, value, ndim=None)
    if checked.shape not in shapes:
        _checks.fail(ValueError, name, "an array of " + " or ".join(f"shape {shape}" for shape in shapes),
                     f"shape {checked.shape}")
    return checked


def listed(name: str, value: Any, length: int, each: str = "layer") -> Sequence:
    """``value`` itself, if it is a sequence (not a string) of ``length`` items."""
    expected = f"a list of {length} (one per {each})"
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        _checks.fail(TypeError, name, expected, _checks.describe(value))
    if len(value) != length:
        _checks.fail(ValueError, name, expected, f"{len(value)} items")
    return value


def activation_records(activations: Any, length: int, wrappers: dict, builtins: tuple) -> tuple:
    """The core ``Activation`` record of each layer: the one named by an object whose type is among
    ``builtins`` (the handout's own classes), or one that calls the object's ``forward`` and
    ``derivative`` (kept in ``wrappers`` by object, so the spec stays the same)."""
    records = []
    for i, activation in enumerate(listed("activations", activations, length)):
        if type(activation) in builtins:
            records.append(core_activations.ACTIVATIONS[activation.name])
            continue
        if isinstance(activation, type) or not (callable(getattr(activation, "forward", None))
                                                and callable(getattr(activation, "derivative", None))):
            _checks.fail(TypeError, f"activations[{i}]", "an Identity, Sigmoid, Tanh or ReLU object, or another "
                         "with the handout's interface (forward(x), derivative())", _checks.describe(activation))
        kept = wrappers.get(id(activation))
        if kept is None or kept[0] is not activation:
            kept = wrappers[id(activation)] = (activation, handout_activation(activation, i))
        records.append(kept[1])
    return tuple(records)


def handout_activation(obj: Any, layer: int) -> core_activations.Activation:
    """A core record whose ``fn`` is ``obj.forward`` (on a copy of ``z``, which may be BatchNorm's
    kept output) and whose derivative is ``obj.derivative()``, computed from what that forward kept."""
    name = f"activations[{layer}]"

    def fn(z: np.ndarray) -> np.ndarray:
        a = _checks.float_array(f"{name}.forward(x)", obj.forward(z.copy()), ndim=None, finite=False)
        if a.shape != z.shape:
            _checks.fail(ValueError, f"{name}.forward(x)", f"shape {z.shape}, the input's", f"shape {a.shape}")
        return a.astype(z.dtype, copy=False)

    def derivative(a: np.ndarray) -> np.ndarray:
        grad = _checks.float_array(f"{name}.derivative()", obj.derivative(), ndim=None, finite=False)
        if grad.shape not in ((), a.shape):
            _checks.fail(ValueError, f"{name}.derivative()", f"shape {a.shape}, the output's", f"shape {grad.shape}")
        return grad

    return core_activations.Activation(f"{type(obj).__name__}", fn, derivative, uses="a")


def one_hot_labels(name: str, labels: Any, shape: tuple) -> tuple:
    """``(labels, class_indices)`` for one-hot ``labels`` of ``shape`` ``(batch, classes)``."""
    labels = np.asarray(labels)
    if labels.shape != shape:
        _checks.fail(ValueError, name, f"one-hot rows of shape {shape}", f"shape {labels.shape}")
    return labels, class_indices(labels, shape[1], name)


def dataset(name: str, spec: MLPSpec, data: Any) -> tuple:
    """``(x, one_hot_labels, class_indices)`` from an ``(x, one_hot_labels)`` pair, checked."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        _checks.fail(TypeError, name, "an (x, one-hot labels) pair", _checks.describe(data))
    x = _checks.float_array(f"{name} x", data[0], ndim=2, width=spec.layer_sizes[0])
    return (x, *one_hot_labels(f"{name} labels", data[1], (x.shape[0], spec.layer_sizes[-1])))
