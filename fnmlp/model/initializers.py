"""Weight initialisers by name, and the random generators they draw from.

Each scheme draws ``standard_normal((fan_in, fan_out))`` and scales it, so with one generator the
schemes differ only by a constant factor:

=========  ==============================
``normal``  1 (the handout's ``np.random.randn``)
``lecun``   ``1 / sqrt(fan_in)``
``xavier``  ``sqrt(2 / (fan_in + fan_out))``
``he``      ``sqrt(2 / fan_in)``
=========  ==============================
"""

from __future__ import annotations

import math
from typing import Any, Callable, Union

import numpy as np

from ..utils import checks as _checks

Rng = Union[np.random.Generator, np.random.RandomState]

SCALES: dict[str, Callable[[int, int], float]] = {
    "normal": lambda fan_in, fan_out: 1.0,
    "lecun": lambda fan_in, fan_out: 1.0 / math.sqrt(fan_in),
    "xavier": lambda fan_in, fan_out: math.sqrt(2.0 / (fan_in + fan_out)),
    "he": lambda fan_in, fan_out: math.sqrt(2.0 / fan_in),
}


def as_rng(rng: Any, name: str = "rng") -> Rng:
    """A random generator from ``None`` (fresh entropy), an int seed, or a generator.

    An int seeds NumPy's ``RandomState``, the generator behind ``np.random.seed``, so
    ``init_params(spec, 11785)`` draws exactly what the handout's ``np.random.seed(11785)`` code draws.
    """
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, (np.random.Generator, np.random.RandomState)):
        return rng
    seed = _checks.integer(name, rng, minimum=0, maximum=2**32 - 1)
    return np.random.RandomState(seed)


def weight_initializer(scheme: str, rng: Any = None) -> Callable[[int, int], np.ndarray]:
    """``weight_init(fan_in, fan_out) -> (fan_in, fan_out) float64`` for a named scheme."""
    if scheme not in SCALES:
        _checks.fail(ValueError, "weight_init", f"a callable or one of {sorted(SCALES)}", repr(scheme))
    rng = as_rng(rng)
    scale = SCALES[scheme]

    def weight_init(fan_in: int, fan_out: int) -> np.ndarray:
        weights = rng.standard_normal((fan_in, fan_out))
        factor = scale(fan_in, fan_out)
        return weights if factor == 1.0 else weights * factor

    weight_init.__name__ = f"{scheme}_weight_init"
    return weight_init


def zeros_bias_init(fan_out: int) -> np.ndarray:
    """Zero biases, shape ``(fan_out,)``."""
    return np.zeros(fan_out)
