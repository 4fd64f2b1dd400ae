"""A record's arrays as views into one contiguous buffer, so an update over all of them is a few
ufunc calls rather than a few per array.

``FlatLayout.of(params)`` notes the record's type and its arrays' shapes, in ``tree_leaves`` order;
``flatten(tree)`` copies a tree of that layout into a new 1-D buffer, ``unflatten(buffer)`` gives a
record of read-only views into a buffer, and ``split(buffer)`` writable views by field name, for
code that fills a buffer of its own. ``flatten_tree`` and ``unflatten_tree`` do the same for every
record of the layout's type inside a larger tree (an optimizer state: tuples and records holding
``Params`` of moments, and step counts), leaving the rest as it is.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from .tree import children_of, field_names, rebuild, tree_leaves


@attrs.frozen
class FlatLayout:
    """Where each array of a record of per-layer tuples (``Params``, ``BatchNormState``) lives in a
    1-D buffer of ``size`` elements of ``dtype``: ``fields`` is ``((name, ((start, stop, shape), ...)), ...)``."""

    record: type
    fields: tuple
    size: int
    dtype: np.dtype

    @classmethod
    def of(cls, tree: Any, dtype: Any = None) -> "FlatLayout":
        """The layout of ``tree``, in ``dtype`` (by default, the one its arrays promote to)."""
        fields, stop = [], 0
        for field in attrs.fields(type(tree)):
            slots = []
            for array in getattr(tree, field.name):
                start, stop = stop, stop + array.size
                slots.append((start, stop, array.shape))
            fields.append((field.name, tuple(slots)))
        if dtype is None:
            dtype = np.result_type(*tree_leaves(tree)) if stop else np.float64
        return cls(type(tree), tuple(fields), stop, np.dtype(dtype))

    def flatten(self, tree: Any) -> np.ndarray:
        """A new buffer holding ``tree``'s arrays (shaped as this layout says), cast to ``dtype``."""
        buffer = np.empty(self.size, self.dtype)
        for view, array in zip(_views(self, buffer), tree_leaves(tree)):
            view[...] = array
        return buffer

    def split(self, buffer: np.ndarray) -> dict:
        """Writable views of ``buffer``: ``{field name: (array per layer, ...)}``."""
        views = iter(_views(self, buffer))
        return {name: tuple(next(views) for _ in slots) for name, slots in self.fields}

    def unflatten(self, buffer: np.ndarray) -> Any:
        """A record of read-only views of ``buffer``; it changes if ``buffer`` does."""
        return self.record(**self.split(buffer))

    def flatten_tree(self, tree: Any) -> Any:
        """``tree`` with every record of this layout's type replaced by a new buffer (``flatten``)."""
        return self._map_records(self.flatten, tree)

    def unflatten_tree(self, tree: Any, copy: bool = False) -> Any:
        """``flatten_tree`` undone: every 1-D buffer of ``size`` elements becomes a record of read-only
        views (of a copy of it, with ``copy``)."""
        def record(buffer: np.ndarray) -> Any:
            return self.unflatten(buffer.copy() if copy else buffer)
        return self._map_records(record, tree, buffers=True)

    def _map_records(self, fn: Any, tree: Any, buffers: bool = False) -> Any:
        if buffers and isinstance(tree, np.ndarray):
            return fn(tree) if tree.shape == (self.size,) else tree
        if not buffers and isinstance(tree, self.record):
            return fn(tree)
        if isinstance(tree, (tuple, list)) or field_names(type(tree)) is not None:
            return rebuild(tree, [self._map_records(fn, child, buffers) for child in children_of(tree)])
        return tree


def _views(layout: FlatLayout, buffer: np.ndarray) -> list:
    if buffer.shape != (layout.size,):
        raise ValueError(f"buffer: expected shape ({layout.size},), got shape {buffer.shape}")
    return [buffer[start:stop].reshape(shape) for _, slots in layout.fields for start, stop, shape in slots]
