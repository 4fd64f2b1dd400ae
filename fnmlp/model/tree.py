"""Map over, list and compare the arrays held in fnmlp's records.

A *tree* is an attrs record, a tuple or a list whose leaves are arrays, nested to any depth:
``Params``, ``BatchNormState`` and optimizer states are trees. Leaves are visited in field order,
then tuple order, so ``tree_leaves(params)`` is ``[*W, *b, *gamma, *beta]``.

Leaves may be arrays of any array-API library: records hold NumPy arrays read-only, and another
library's arrays as they are (no library but NumPy has a read-only flag: treat them as read-only).
``to_namespace`` and ``to_numpy`` move every array of a tree between libraries and devices.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

import attrs
import numpy as np

from ..utils import namespace

__all__ = ["tree_map", "tree_leaves", "tree_allclose", "readonly", "readonly_tuple", "to_namespace", "to_numpy"]


@functools.lru_cache(maxsize=None)
def field_names(cls: type) -> Optional[tuple]:
    """The ``__init__`` field names of an attrs class, or ``None`` for any other type (cached per type:
    attrs' own introspection costs more than the rest of a ``tree_map`` over ``Params``)."""
    return tuple(f.name for f in attrs.fields(cls) if f.init) if attrs.has(cls) else None


def _is_node(tree: Any) -> bool:
    return isinstance(tree, (tuple, list)) or field_names(type(tree)) is not None


def children_of(tree: Any) -> list:
    """The children of a tuple, list or attrs record, in field order."""
    names = field_names(type(tree))
    return list(tree) if names is None else [getattr(tree, name) for name in names]


def rebuild(tree: Any, children: list) -> Any:
    """A node of ``tree``'s type from new ``children`` (as ``children_of`` lists them)."""
    names = field_names(type(tree))
    return type(tree)(children) if names is None else type(tree)(**dict(zip(names, children)))


def tree_map(fn: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """Apply ``fn`` leaf by leaf and rebuild a tree of the same structure.

    ``tree_map(fn, a, b)`` calls ``fn(leaf_a, leaf_b)`` for corresponding leaves; ``a`` and ``b``
    must have the same structure (same record types, same tuple lengths), else ``ValueError``.
    """
    if not _is_node(tree):
        return fn(tree, *rest)
    children = children_of(tree)
    others = [children_of(other) if type(other) is type(tree) else None for other in rest]
    for other, other_children in zip(rest, others):
        if other_children is None or len(other_children) != len(children):
            raise ValueError(
                f"tree_map: trees differ in structure: expected {_describe(tree)}, got {_describe(other)}"
            )
    return rebuild(tree, [tree_map(fn, *column) for column in zip(children, *others)])


def tree_leaves(tree: Any) -> list:
    """The leaves of ``tree`` in order, as a flat list."""
    if not _is_node(tree):
        return [tree]
    return [leaf for child in children_of(tree) for leaf in tree_leaves(child)]


def tree_allclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    """True when ``a`` and ``b`` have the same structure, leaf shapes and ``np.allclose`` values
    (compared on the host, in NumPy, whatever library holds them)."""
    if _structure(a) != _structure(b):
        return False
    host = _host_leaf
    return all(
        np.shape(x) == np.shape(y) and np.allclose(x, y, rtol=rtol, atol=atol)
        for x, y in zip(map(host, tree_leaves(a)), map(host, tree_leaves(b)))
    )


def _host_leaf(leaf: Any) -> Any:
    return namespace.to_numpy(leaf) if namespace.is_foreign(leaf) else leaf


def to_namespace(tree: Any, xp: Any, device: Any = None) -> Any:
    """``tree`` (``Params``, ``BatchNormState``, an optimizer state, ...) with every array copied into
    namespace ``xp`` on ``device`` (``None``: ``xp``'s default device); other leaves (step counts)
    stay as they are. ``xp`` is an array-API namespace: ``array_api_strict``, ``jax.numpy``, or
    array-api-compat's wrapper of a library (``array_api_compat.array_namespace(torch.empty(0))``);
    ``numpy`` gives ``to_numpy(tree)``. A float64 array for a device without float64 raises
    ``TypeError``: cast first (``fnmlp.astype(tree, np.float32)``)."""
    if xp is np:
        return to_numpy(tree)
    return tree_map(lambda leaf: namespace.to_namespace(leaf, xp, device, "tree") if _is_array(leaf) else leaf,
                    tree)


def to_numpy(tree: Any) -> Any:
    """``tree`` with every array of another library copied into a NumPy array on the host (NumPy
    arrays are kept as they are)."""
    return tree_map(lambda leaf: namespace.to_numpy(leaf) if namespace.is_foreign(leaf) else leaf, tree)


def _is_array(leaf: Any) -> bool:
    return isinstance(leaf, np.ndarray) or namespace.is_foreign(leaf)


def _structure(tree: Any) -> Any:
    if not _is_node(tree):
        return None
    return (type(tree), tuple(_structure(child) for child in children_of(tree)))


def _describe(tree: Any) -> str:
    if _is_node(tree):
        return f"{type(tree).__name__} of {len(children_of(tree))}"
    return type(tree).__name__


def readonly(array: Any) -> np.ndarray:
    """A read-only view of ``array``; the caller's own array keeps its flags. Another library's array
    comes back as it is (it has no read-only flag)."""
    if type(array) is not np.ndarray and namespace.is_foreign(array):
        return array
    view = np.asarray(array).view()
    view.setflags(write=False)
    return view


def readonly_tuple(arrays: Any) -> tuple:
    """``arrays`` as a tuple of read-only views (the converter of every record field)."""
    if isinstance(arrays, np.ndarray) or namespace.is_foreign(arrays):
        raise TypeError("expected a sequence of arrays, one per layer, got a single ndarray")
    return tuple(readonly(a) for a in arrays)
