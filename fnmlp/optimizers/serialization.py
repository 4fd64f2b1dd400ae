"""Optimizers, schedules and optimizer states as JSON, for checkpoints (no pickle).

``to_json`` gives ``{"type": "Chain", "transforms": [...]}``-style dicts of the records this package
defines; ``from_json`` builds them back, equal to the originals. A state's arrays are kept apart:
``state_to_json(state, prefix)`` returns ``(description, {name: array})``.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from .base import EmptyState, Optimizer
from .combine import Chain
from .schedule import Constant, ExponentialDecay, LinearWarmup, PiecewiseConstant, WarmupCosineDecay
from .transform import (AdamState, AddDecayedWeights, ClipByGlobalNorm, ScaleByAdam, ScaleByLearningRate,
                        ScaleBySchedule, ScheduleState, Trace, TraceState)
from ..model.params import Params

RECORDS = {cls.__name__: cls for cls in (
    Optimizer, Chain, Trace, ScaleByAdam, AddDecayedWeights, ScaleByLearningRate, ScaleBySchedule,
    ClipByGlobalNorm, Constant, PiecewiseConstant, ExponentialDecay, WarmupCosineDecay, LinearWarmup)}
STATES = {cls.__name__: cls for cls in (EmptyState, TraceState, AdamState, ScheduleState, Params)}


def to_json(value: Any, name: str = "optimizer") -> Any:
    """``value`` (an optimizer, transform or schedule of this package) as JSON-ready data; a
    ``TypeError`` naming the part that is not (a user's function, say)."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (tuple, list)):
        return [to_json(item, f"{name}[{i}]") for i, item in enumerate(value)]
    if type(value).__name__ in RECORDS and RECORDS[type(value).__name__] is type(value):
        return {"type": type(value).__name__,
                **{f.name: to_json(getattr(value, f.name), f"{name}.{f.name}") for f in attrs.fields(type(value))}}
    raise TypeError(f"{name}: expected a value a checkpoint can store (a number, or a record of "
                    f"fnmlp.optimizers among {sorted(RECORDS)}), got {type(value).__name__}")


def from_json(data: Any, name: str = "optimizer") -> Any:
    """What ``to_json`` described; ``ValueError`` naming an unknown type."""
    if isinstance(data, list):
        return [from_json(item, f"{name}[{i}]") for i, item in enumerate(data)]
    if isinstance(data, dict):
        fields = dict(data)
        kind = fields.pop("type", None)
        if kind not in RECORDS:
            raise ValueError(f"{name}: expected one of {sorted(RECORDS)}, got {kind!r}")
        known = [f.name for f in attrs.fields(RECORDS[kind])]
        for key in fields:
            if key not in known:
                raise ValueError(f"{name}.{key}: expected a field of {kind} among {known}, got {key!r}")
        return RECORDS[kind](**{key: from_json(item, f"{name}.{key}") for key, item in fields.items()})
    return data


def state_to_json(state: Any, prefix: str) -> tuple:
    """``(description, arrays)``: ``state``'s records, tuples and counts as JSON, its arrays as
    ``{"prefix.0.mu.W.0": array, ...}``, the description pointing at them by name."""
    arrays = {}

    def encode(node: Any, name: str) -> Any:
        if isinstance(node, np.ndarray):
            arrays[name] = node
            return {"array": name}
        if isinstance(node, (tuple, list)):
            return {"tuple": [encode(item, f"{name}.{i}") for i, item in enumerate(node)]}
        if type(node).__name__ in STATES and STATES[type(node).__name__] is type(node):
            return {"type": type(node).__name__,
                    "fields": {f.name: encode(getattr(node, f.name), f"{name}.{f.name}")
                               for f in attrs.fields(type(node))}}
        if isinstance(node, (int, np.integer)) and not isinstance(node, bool):
            return int(node)
        raise TypeError(f"{name}: expected an optimizer state of fnmlp.optimizers (records among "
                        f"{sorted(STATES)}, tuples, arrays, counts), got {type(node).__name__}")

    return encode(state, prefix), arrays


def state_from_json(description: Any, take: Any, name: str = "opt_state") -> Any:
    """The state ``state_to_json`` described; ``take(array_name)`` gives (and consumes) an array."""
    if isinstance(description, int) and not isinstance(description, bool):
        return description
    if isinstance(description, dict) and set(description) == {"array"}:
        return take(description["array"])
    if isinstance(description, dict) and set(description) == {"tuple"}:
        return tuple(state_from_json(item, take, f"{name}[{i}]") for i, item in enumerate(description["tuple"]))
    if isinstance(description, dict) and set(description) == {"type", "fields"}:
        kind = description["type"]
        if kind not in STATES:
            raise ValueError(f"{name}: expected a state among {sorted(STATES)}, got {kind!r}")
        return STATES[kind](**{key: state_from_json(item, take, f"{name}.{key}")
                               for key, item in description["fields"].items()})
    raise ValueError(f"{name}: expected a state description, got {str(description)[:80]}")
