"""The numbers of a network: trainable parameters and BatchNorm running statistics.

Both are frozen records of per-layer tuples of read-only arrays. Changing one means building a new
one (``attrs.evolve`` or ``tree_map``).
"""

from __future__ import annotations

from typing import Any, Callable, Union

import attrs
import numpy as np

from ..utils import checks as _checks
from ..utils import namespace
from .initializers import weight_initializer, zeros_bias_init
from .spec import MLPSpec
from .tree import readonly_tuple, to_namespace, tree_map


@namespace.pytree_class
@attrs.frozen(eq=False)
class Params:
    """Trainable arrays. For layer ``i`` of a spec with sizes ``n``:

    - ``W[i]``: ``(n[i], n[i+1])``; the layer computes ``x @ W[i] + b[i]``
    - ``b[i]``: ``(n[i+1],)``
    - ``gamma[i]``, ``beta[i]``: ``(n[i+1],)``, BatchNorm scale and shift, for ``i < num_bn_layers``
    """

    W: tuple = attrs.field(converter=readonly_tuple)
    b: tuple = attrs.field(converter=readonly_tuple)
    gamma: tuple = attrs.field(default=(), converter=readonly_tuple)
    beta: tuple = attrs.field(default=(), converter=readonly_tuple)


@namespace.pytree_class
@attrs.frozen(eq=False)
class BatchNormState:
    """BatchNorm running statistics, ``(n[i+1],)`` each for ``i < num_bn_layers``.

    Not trainable: forward in training mode returns an updated copy; the optimizer never sees it.
    """

    running_mean: tuple = attrs.field(default=(), converter=readonly_tuple)
    running_var: tuple = attrs.field(default=(), converter=readonly_tuple)


def param_shapes(spec: MLPSpec) -> dict[str, tuple]:
    """The shape of every array of ``spec``'s ``Params`` and ``BatchNormState``, by field name."""
    pairs = list(zip(spec.layer_sizes[:-1], spec.layer_sizes[1:]))
    bn = tuple((n,) for n in spec.bn_widths)
    return {"W": tuple(pairs), "b": tuple((n,) for _, n in pairs), "gamma": bn, "beta": bn,
            "running_mean": bn, "running_var": bn}


def check_params(spec: MLPSpec, params: Any, name: str = "params", record: type = None, *,
                 finite: bool = False) -> None:
    """Raise unless ``params`` is a ``Params`` (or ``record``) whose arrays fit ``spec``.

    Every array must be float32 or float64 with the shape ``param_shapes(spec)`` gives and, with
    ``finite``, hold no NaN or infinity (one pass over every array).
    """
    record = record or Params
    _checks.instance(name, params, record)
    shapes = param_shapes(spec)
    for field in attrs.fields(record):
        arrays, wanted = getattr(params, field.name), shapes[field.name]
        if len(arrays) != len(wanted):
            _checks.fail(ValueError, f"{name}.{field.name}",
                         f"{len(wanted)} arrays for a spec with {spec.num_layers} layers and "
                         f"{spec.num_bn_layers} BatchNorm layers", f"{len(arrays)}")
        for i, (array, shape) in enumerate(zip(arrays, wanted)):
            if tuple(array.shape) != shape:
                _checks.fail(ValueError, f"{name}.{field.name}[{i}]", f"shape {shape}", f"shape {tuple(array.shape)}")
            if not _checks.is_float_array(array):
                _checks.fail(TypeError, f"{name}.{field.name}[{i}]", "dtype float32 or float64", _checks.dtype_of(array))
            if finite:
                _checks.all_finite(f"{name}.{field.name}[{i}]", array)


def named_arrays(name: str, record: Any) -> list:
    """``[(name.field[i], array), ...]`` for every array of a ``Params`` or ``BatchNormState``, in field
    order (for ``fnmlp.utils.namespace.common_namespace``)."""
    return [(f"{name}.{field.name}[{i}]", array) for field in attrs.fields(type(record))
            for i, array in enumerate(getattr(record, field.name))]


def check_state(spec: MLPSpec, state: Any, name: str = "state", *, finite: bool = False) -> None:
    """Raise unless ``state`` is a ``BatchNormState`` whose arrays fit ``spec`` (see ``check_params``)."""
    check_params(spec, state, name, BatchNormState, finite=finite)


def init_params(spec: MLPSpec, rng: Any = None, *,
                weight_init: Union[str, Callable[[int, int], Any], None] = None,
                bias_init: Union[Callable[[int], Any], None] = None,
                dtype: Any = np.float64, like: Any = None) -> tuple[Params, BatchNormState]:
    """Fresh parameters and BatchNorm state for ``spec``.

    ``weight_init(fan_in, fan_out)`` is called for every layer in order, then ``bias_init(fan_out)``
    for every layer. ``weight_init`` may also name a scheme (``"normal"``, ``"lecun"``, ``"xavier"``,
    ``"he"``) drawn from ``rng`` (``None``, an int seed or a NumPy generator); the default is
    ``"normal"``, standard normal weights, with zero biases. BatchNorm starts at ``gamma = 1``,
    ``beta = 0``, running mean 0 and running variance 1. Every array has ``dtype`` (float32 or float64).

    ``like``, an array of another library (a PyTorch tensor, a CuPy or JAX array, ...), puts the
    arrays in its namespace and on its device: drawn on the host as for NumPy, then moved, so the
    same ``rng`` gives the same numbers in every library (``dtype`` still picks the precision; a
    device without float64 needs ``dtype=np.float32``).
    """
    _checks.instance("spec", spec, MLPSpec)
    dtype = _checks.float_dtype("dtype", dtype)
    if like is not None and not namespace.is_foreign(like) and not isinstance(like, np.ndarray):
        _checks.fail(TypeError, "like", "an array, whose namespace and device the arrays take",
                     _checks.describe(like))
    if namespace.is_foreign(like):
        namespace.require_dtype("dtype", namespace.array_namespace(like), namespace.device(like), dtype.name)
    if weight_init is None or isinstance(weight_init, str):
        weight_init = weight_initializer(weight_init or "normal", rng)
    elif not callable(weight_init):
        _checks.fail(TypeError, "weight_init", "a scheme name or a callable (fan_in, fan_out)",
                     _checks.describe(weight_init))
    bias_init = zeros_bias_init if bias_init is None else bias_init
    if not callable(bias_init):
        _checks.fail(TypeError, "bias_init", "a callable (fan_out)", _checks.describe(bias_init))

    pairs = list(zip(spec.layer_sizes[:-1], spec.layer_sizes[1:]))
    weights = [_initial(f"weight_init({m}, {n})", weight_init(m, n), (m, n), dtype) for m, n in pairs]
    biases = [_initial(f"bias_init({n})", bias_init(n), (n,), dtype) for _, n in pairs]
    ones = [np.ones(n, dtype) for n in spec.bn_widths]
    zeros = [np.zeros(n, dtype) for n in spec.bn_widths]
    params = Params(W=weights, b=biases, gamma=ones, beta=zeros)
    state = BatchNormState(running_mean=[z.copy() for z in zeros], running_var=[o.copy() for o in ones])
    if namespace.is_foreign(like):
        xp, where = namespace.array_namespace(like), namespace.device(like)
        return to_namespace(params, xp, where), to_namespace(state, xp, where)
    return params, state


def _initial(name: str, value: Any, shape: tuple, dtype: np.dtype) -> np.ndarray:
    array = _checks.float_array(name, value, ndim=None, finite=False)
    if array.size != int(np.prod(shape)) or array.ndim > len(shape) + 1:
        _checks.fail(ValueError, name, f"an array of shape {shape}", _checks.describe(array))
    if array.shape != shape:
        if array.shape not in ((1, *shape), (*shape, 1)):
            _checks.fail(ValueError, name, f"an array of shape {shape}", f"shape {array.shape}")
        array = array.reshape(shape)
    with np.errstate(over="ignore"):  # a float64 value past float32's range becomes inf, refused below
        array = np.array(array, dtype=dtype)
    return _checks.all_finite(name, array)


def astype(tree: Any, dtype: Any) -> Any:
    """``tree`` with every array cast to ``dtype`` (no copy for arrays already of it). Arrays of
    another library stay in it: ``dtype`` (``np.float32``, ``"float64"``, ...) names the dtype of
    the same name there."""
    return tree_map(lambda a: _cast(a, dtype), tree)


def _cast(array: Any, dtype: Any) -> Any:
    if not namespace.is_foreign(array):
        return np.asarray(array).astype(dtype, copy=False)
    xp = namespace.array_namespace(array)
    name = np.dtype(dtype).name
    namespace.require_dtype("dtype", xp, namespace.device(array), name)
    return namespace.astype(xp, array, getattr(xp, name))
