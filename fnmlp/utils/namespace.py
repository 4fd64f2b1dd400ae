"""The array library ("namespace", in the array API standard's words) that arrays belong to, and
moving arrays between libraries and devices.

fnmlp's pure core computes in the namespace of its inputs. NumPy arrays (and Python lists and
scalars) are recognised without importing anything: ``array_namespace`` returns the ``numpy`` module
itself for them, and the NumPy code paths stay as they were. Any other library's arrays (PyTorch,
CuPy, JAX, array_api_strict, ...) go through array-api-compat, an optional extra imported only
when such an array arrives. This module imports no array library but NumPy.
"""

from __future__ import annotations

import sys
from typing import Any, Iterable

import numpy as np

_NUMPY_TYPES = (np.ndarray, np.generic)
# Libraries whose arrays lack ``__array_namespace__`` (array-api-compat wraps them).
_WRAPPED_ROOTS = frozenset({"torch", "cupy", "jax", "jaxlib", "dask", "sparse"})
FLOAT_NAMES = ("float32", "float64")
_DTYPE_NAMES = ("float32", "float64", "float16", "bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
                "uint32", "uint64", "complex64", "complex128")


def is_foreign(value: Any) -> bool:
    """Whether ``value`` is an array of a library other than NumPy."""
    if isinstance(value, _NUMPY_TYPES):
        return False
    cls = type(value)
    return hasattr(cls, "__array_namespace__") or cls.__module__.partition(".")[0] in _WRAPPED_ROOTS


def compat() -> Any:
    """The ``array_api_compat`` module, or a one-line ``ImportError`` saying how to install it."""
    try:
        import array_api_compat
    except ImportError:
        raise ImportError("fnmlp needs the array-api-compat package for arrays other than NumPy's: "
                          "pip install 'fnmlp[array-api]'") from None
    return array_api_compat


def array_namespace(*arrays: Any) -> Any:
    """The namespace of ``arrays``: the ``numpy`` module itself when none is another library's array
    (``None``, Python scalars and lists count as no array), else array-api-compat's namespace for
    them (``array_api_strict`` itself, ``array_api_compat.torch``, ``jax.numpy``, ...).

    Arrays of two libraries raise ``TypeError``; ``common_namespace`` names the arguments."""
    foreign = [a for a in arrays if is_foreign(a)]
    if not foreign:
        return np
    if not _JAX_DONE and "jax" in sys.modules:
        register_jax_pytrees()
    if any(isinstance(a, np.ndarray) for a in arrays):
        raise TypeError(f"arrays of two libraries: numpy and {namespace_name(compat().array_namespace(foreign[0]))}")
    return compat().array_namespace(*foreign)


def namespace_name(xp: Any) -> str:
    """``"numpy"``, ``"torch"``, ``"cupy"``, ``"jax.numpy"``, ``"array_api_strict"``, ..."""
    name = getattr(xp, "__name__", type(xp).__name__)
    return name[len("array_api_compat."):] if name.startswith("array_api_compat.") else name


def device(array: Any) -> Any:
    """``array``'s device: ``"cpu"`` for NumPy, else as array-api-compat reports it."""
    return "cpu" if not is_foreign(array) else compat().device(array)


def common_namespace(named: Iterable[tuple]) -> tuple:
    """``(xp, device)`` shared by every array of ``named`` (``(name, value)`` pairs; values that are
    not arrays, such as ``None`` or lists, are skipped). The first array that differs raises
    ``TypeError`` naming it, the array it was compared with, and both namespaces or devices."""
    named = [(name, value) for name, value in named if isinstance(value, np.ndarray) or is_foreign(value)]
    if all(isinstance(value, np.ndarray) for _, value in named):
        return np, "cpu"
    first_name, first = named[0]
    xp, where = array_namespace(first), device(first)
    for name, value in named[1:]:
        other = np if isinstance(value, np.ndarray) else compat().array_namespace(value)
        if other is not xp:
            raise TypeError(f"{name}: expected an array of {namespace_name(xp)}, as {first_name} is, got an array "
                            f"of {namespace_name(other)} (move records with fnmlp.to_namespace)")
        if device(value) != where:
            raise TypeError(f"{name}: expected an array on device {where}, as {first_name} is, got one on device "
                            f"{device(value)} (move records with fnmlp.to_namespace)")
    return xp, where


def dtype_name(xp: Any, dtype: Any) -> str:
    """The standard name of ``dtype`` in ``xp`` (``"float32"``, ``"int64"``, ...), else its ``str``."""
    if xp is np:
        return np.dtype(dtype).name
    for name in _DTYPE_NAMES:
        if getattr(xp, name, None) is not None and dtype == getattr(xp, name):
            return name
    return str(dtype)


def has_dtype(xp: Any, where: Any, name: str) -> bool:
    """Whether ``xp`` has dtype ``name`` (``"float64"``, ...) on device ``where``."""
    if xp is np:
        return True
    info = getattr(xp, "__array_namespace_info__", None)
    if info is not None:
        try:
            return name in info().dtypes(device=where)
        except (TypeError, ValueError, AttributeError, NotImplementedError):
            pass
    wanted = getattr(xp, name, None)
    if wanted is None:
        return False
    try:
        return xp.asarray(0, dtype=wanted, device=where).dtype == wanted
    except (TypeError, ValueError, RuntimeError):
        return False


def require_dtype(name: str, xp: Any, where: Any, dtype: str) -> None:
    """Raise ``TypeError`` naming ``name`` unless ``xp`` has ``dtype`` on device ``where``."""
    if not has_dtype(xp, where, dtype):
        raise TypeError(f"{name}: expected a dtype that {namespace_name(xp)} has on device {where}, got {dtype} "
                        f"({namespace_name(xp)} has no {dtype} there: compute in float32)")


def to_numpy(array: Any) -> np.ndarray:
    """``array`` as a NumPy array on the host: NumPy arrays as they are, any other library's copied."""
    if not is_foreign(array):
        return array if isinstance(array, np.ndarray) else np.asarray(array)
    lib = compat()
    if lib.is_torch_array(array):
        array = array.detach().cpu()
    elif lib.is_cupy_array(array):
        return array.get()
    try:
        return np.array(np.from_dlpack(array))
    except (TypeError, ValueError, RuntimeError, BufferError, AttributeError):
        return np.array(array)


def to_namespace(array: Any, xp: Any, where: Any = None, name: str = "array") -> Any:
    """A copy of ``array`` in namespace ``xp`` on device ``where`` (its default device for ``None``),
    through the host; ``xp`` NumPy gives ``to_numpy``. A float64 array for a device without float64
    raises ``TypeError`` naming ``name``."""
    host = to_numpy(array)
    if xp is np:
        return host
    if not _JAX_DONE and "jax" in sys.modules:
        register_jax_pytrees()
    if host.dtype == np.float64:
        require_dtype(name, xp, where, "float64")
    return xp.asarray(host, device=where, copy=True)


def float_dtype(xp: Any, name: str) -> Any:
    """``xp``'s dtype called ``name`` (``"float32"`` or ``"float64"``)."""
    return np.dtype(name) if xp is np else getattr(xp, name)


def astype(xp: Any, array: Any, dtype: Any) -> Any:
    """``array`` in ``dtype``, without a copy when it already is."""
    if xp is np:
        return array.astype(dtype, copy=False)
    return array if array.dtype == dtype else xp.astype(array, dtype)


def is_traced(value: Any) -> bool:
    """Whether ``value`` is a JAX tracer (an abstract array inside ``jax.jit``, whose values cannot
    be read); checked without importing JAX."""
    jax = sys.modules.get("jax")
    return jax is not None and type(value).__module__.startswith("jax") and isinstance(value, jax.core.Tracer)


def scalar(value: Any) -> Any:
    """``float(value)`` for a 0-d array, or ``value`` itself while JAX traces it."""
    return value if is_traced(value) else float(value)


# --- fnmlp's records as JAX pytrees ------------------------------------------------------------------

_PYTREE_CLASSES: list = []
_JAX_DONE = False


def pytree_class(cls: type) -> type:
    """Record the attrs class ``cls`` as a pytree node (its ``__init__`` fields as children, in order),
    registered with JAX once JAX is in use (see ``register_jax_pytrees``); returns ``cls``."""
    _PYTREE_CLASSES.append(cls)
    if _JAX_DONE:
        _register(sys.modules["jax"], cls)
    return cls


def register_jax_pytrees() -> None:
    """Make fnmlp's records (``Params``, ``BatchNormState``, the optimizer states) JAX pytrees, so that
    ``jax.jit``, ``jax.tree_util`` and ``jax.device_put`` see their arrays. fnmlp does this by itself
    when it is imported after JAX or first meets a JAX array; call it when a record reaches JAX before
    that. Needs JAX imported (fnmlp never imports it)."""
    global _JAX_DONE
    jax = sys.modules.get("jax")
    if jax is None:
        raise ImportError("fnmlp.register_jax_pytrees needs JAX imported first: import jax")
    if not _JAX_DONE:
        _JAX_DONE = True
        for cls in _PYTREE_CLASSES:
            _register(jax, cls)


def _register(jax: Any, cls: type) -> None:
    names = tuple(field.name for field in cls.__attrs_attrs__ if field.init)

    def unflatten(_: Any, children: Any) -> Any:
        node = object.__new__(cls)  # no converters: JAX rebuilds nodes around tracers and placeholders
        for name, child in zip(names, children):
            object.__setattr__(node, name, child)
        return node

    try:
        jax.tree_util.register_pytree_node(cls, lambda node: (tuple(getattr(node, n) for n in names), None),
                                           unflatten)
    except ValueError:  # registered already (by an earlier copy of this module, say)
        pass
