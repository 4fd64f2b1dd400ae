"""Learning-rate schedules: frozen records called as ``schedule(step) -> lr``.

``step`` counts updates from 0 (the first update uses ``schedule(0)``). Every schedule here is a
plain record of numbers, so it compares by value and a checkpoint stores it as JSON. Any callable
``step -> lr`` works as a schedule too (it just cannot be saved).
"""

from __future__ import annotations

import bisect
import math
from typing import Any

import attrs

from ..utils import checks as _checks


def _nonneg(name):
    return lambda v: _checks.real(name, v, minimum=0.0)


def _count(name, minimum=0):
    return lambda v: _checks.integer(name, v, minimum=minimum)


@attrs.frozen
class Constant:
    """``lr(step) = value``."""

    value: float = attrs.field(converter=_nonneg("value"))

    def __call__(self, step: int) -> float:
        return self.value


@attrs.frozen
class PiecewiseConstant:
    """``lr(step) = values[i]``, ``i`` the number of ``boundaries`` at most ``step``: ``values[0]``
    before ``boundaries[0]``, ``values[1]`` from it, and so on (``len(values) == len(boundaries) + 1``,
    boundaries increasing)."""

    boundaries: tuple = attrs.field(converter=lambda v: tuple(_checks.integer(f"boundaries[{i}]", b, minimum=0)
                                                              for i, b in enumerate(v)))
    values: tuple = attrs.field(converter=lambda v: tuple(_checks.real(f"values[{i}]", x, minimum=0.0)
                                                          for i, x in enumerate(v)))

    def __attrs_post_init__(self) -> None:
        if len(self.values) != len(self.boundaries) + 1:
            _checks.fail(ValueError, "values", f"{len(self.boundaries) + 1} values, one more than the boundaries",
                         len(self.values))
        if list(self.boundaries) != sorted(set(self.boundaries)):
            _checks.fail(ValueError, "boundaries", "strictly increasing steps", list(self.boundaries))

    def __call__(self, step: int) -> float:
        return self.values[bisect.bisect_right(self.boundaries, step)]


@attrs.frozen
class ExponentialDecay:
    """``lr(step) = init * rate ** (step / transition_steps)``, with ``step // transition_steps`` in
    the exponent when ``staircase``."""

    init: float = attrs.field(converter=_nonneg("init"))
    rate: float = attrs.field(converter=lambda v: _checks.real("rate", v, above=0.0))
    transition_steps: int = attrs.field(default=1, converter=_count("transition_steps", 1))
    staircase: bool = attrs.field(default=False, converter=lambda v: _checks.boolean("staircase", v))

    def __call__(self, step: int) -> float:
        exponent = step // self.transition_steps if self.staircase else step / self.transition_steps
        return self.init * self.rate ** exponent


@attrs.frozen
class WarmupCosineDecay:
    """Linear warm-up from 0 to ``peak`` over ``warmup_steps``, then a cosine decay to ``end`` at
    step ``decay_steps`` (the whole length, warm-up included), and ``end`` after::

        lr(step) = peak * step / warmup_steps                               step < warmup_steps
        lr(step) = end + (peak - end) * (1 + cos(pi * t)) / 2,
                   t = min(step - warmup_steps, D) / D,  D = decay_steps - warmup_steps
    """

    peak: float = attrs.field(converter=_nonneg("peak"))
    warmup_steps: int = attrs.field(converter=_count("warmup_steps"))
    decay_steps: int = attrs.field(converter=_count("decay_steps", 1))
    end: float = attrs.field(default=0.0, converter=_nonneg("end"))

    def __attrs_post_init__(self) -> None:
        if self.decay_steps <= self.warmup_steps:
            _checks.fail(ValueError, "decay_steps", f"more than warmup_steps ({self.warmup_steps})",
                         self.decay_steps)

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.peak * step / self.warmup_steps
        span = self.decay_steps - self.warmup_steps
        t = min(step - self.warmup_steps, span) / span
        return self.end + (self.peak - self.end) * 0.5 * (1.0 + math.cos(math.pi * t))


@attrs.frozen
class LinearWarmup:
    """A linear warm-up from 0 over ``warmup_steps``, then ``schedule`` started afresh::

        lr(step) = schedule(0) * step / warmup_steps       step < warmup_steps
        lr(step) = schedule(step - warmup_steps)           otherwise
    """

    warmup_steps: int = attrs.field(converter=_count("warmup_steps", 1))
    schedule: Any = attrs.field()

    @schedule.validator
    def _check_schedule(self, attribute: Any, value: Any) -> None:
        if not callable(value):
            _checks.fail(TypeError, "schedule", "a schedule (step -> lr)", _checks.describe(value))

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.schedule(0) * step / self.warmup_steps
        return self.schedule(step - self.warmup_steps)


def constant(value: float) -> Constant:
    """``lr(step) = value``."""
    return Constant(value)


def piecewise_constant(boundaries, values) -> PiecewiseConstant:
    """``values[i]`` from ``boundaries[i - 1]`` up to ``boundaries[i]`` (see ``PiecewiseConstant``)."""
    return PiecewiseConstant(boundaries, values)


def exponential_decay(init: float, rate: float, transition_steps: int = 1, staircase: bool = False) -> ExponentialDecay:
    """``init * rate ** (step / transition_steps)`` (see ``ExponentialDecay``)."""
    return ExponentialDecay(init, rate, transition_steps, staircase)


def linear_warmup(warmup_steps: int, schedule) -> LinearWarmup:
    """0 growing linearly to ``schedule(0)`` over ``warmup_steps``, then ``schedule`` (see ``LinearWarmup``)."""
    return LinearWarmup(warmup_steps, schedule)


def warmup_cosine_decay(peak: float, warmup_steps: int, decay_steps: int, end: float = 0.0) -> WarmupCosineDecay:
    """Linear warm-up to ``peak``, then cosine decay to ``end`` at ``decay_steps`` (see ``WarmupCosineDecay``)."""
    return WarmupCosineDecay(peak, warmup_steps, decay_steps, end)
