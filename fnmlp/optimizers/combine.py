"""``chain``: transforms applied one after the other, as one transform."""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from ..utils import checks as _checks
from ..model.flat import FlatLayout
from ..model.params import Params
from .base import flat_block, flat_update, last_learning_rate, run_blocks


def _transforms(value: Any) -> tuple:
    value = tuple(value)
    for i, transform in enumerate(value):
        if not (callable(getattr(transform, "init", None)) and callable(getattr(transform, "update", None))):
            _checks.fail(TypeError, f"transforms[{i}]", "a transform with init and update methods",
                         _checks.describe(transform))
    return value


@attrs.frozen
class Chain:
    """``transforms`` in order, each fed the updates of the one before; the state is the tuple of
    their states."""

    transforms: tuple = attrs.field(converter=_transforms)

    def init(self, params: Params) -> tuple:
        return tuple(transform.init(params) for transform in self.transforms)

    def update(self, updates: Params, state: tuple, params: Params) -> tuple:
        new_state = []
        for transform, inner in zip(self.transforms, state):
            updates, inner = transform.update(updates, inner, params)
            new_state.append(inner)
        return updates, tuple(new_state)

    def update_flat(self, updates: np.ndarray, state: tuple, params: np.ndarray, layout: FlatLayout) -> tuple:
        blocked = self.flat_block(updates, state, params, layout)
        if blocked is not None:
            run_blocks(blocked[0], layout.size)
            return blocked[1]
        return tuple(flat_update(transform, updates, inner, params, layout)
                     for transform, inner in zip(self.transforms, state))

    def flat_block(self, updates: np.ndarray, state: tuple, params: np.ndarray, layout: FlatLayout) -> Any:
        """Every transform's block in turn on each block, or ``None`` unless all are elementwise."""
        blocked = [flat_block(transform, updates, inner, params, layout)
                   for transform, inner in zip(self.transforms, state)]
        if any(b is None for b in blocked):
            return None
        steps = tuple(step for step, _ in blocked)

        def block(start: int, stop: int) -> None:
            for step in steps:
                step(start, stop)
        return block, tuple(new for _, new in blocked)

    def last_learning_rate(self, state: tuple) -> float:
        for transform, inner in zip(self.transforms, state):
            lr = last_learning_rate(transform, inner)
            if not math.isnan(lr):
                return lr
        return math.nan


def chain(*transforms: Any) -> Chain:
    """One transform running ``transforms`` in order (see ``Chain``)."""
    return Chain(transforms)
