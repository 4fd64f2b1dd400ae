"""A record's arrays as views into one contiguous buffer, so an update over all of them is a few
ufunc calls rather than a few per array.

``FlatLayout.of(params)`` notes the record's type and its arrays' shapes, in ``tree_leaves`` order;
``flatten(tree)`` copies a tree of that layout into a new 1-D buffer, ``unflatten(buffer)`` gives a
record of read-only views into a buffer, and ``split(buffer)`` writable views by field name, for
code that fills a buffer of its own.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from .tree import tree_leaves


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


def _views(layout: FlatLayout, buffer: np.ndarray) -> list:
    if buffer.shape != (layout.size,):
        raise ValueError(f"buffer: expected shape ({layout.size},), got shape {buffer.shape}")
    return [buffer[start:stop].reshape(shape) for _, slots in layout.fields for start, stop, shape in slots]
