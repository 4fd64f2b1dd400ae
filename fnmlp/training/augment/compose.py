"""``Compose``: several transforms in turn, each on the images a draw picks."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from ...utils import checks as _checks
from ._arguments import check_images, generator, take_images
from ._sampling import Scratch
from .transforms import Elastic, Geometric, move, move_in_batches


def _steps(value: Any) -> tuple:
    if not isinstance(value, (tuple, list)):
        _checks.fail(TypeError, "steps", "a list of transforms or (transform, p) pairs", _checks.describe(value))
    steps = []
    for i, item in enumerate(value):
        transform, p = item if isinstance(item, (tuple, list)) and len(item) == 2 else (item, 1.0)
        _checks.function(f"steps[{i}]", transform)
        steps.append((transform, _checks.real(f"steps[{i}] probability", p, minimum=0.0, maximum=1.0)))
    return tuple(steps)


def _runs(steps: tuple) -> list:
    """``steps`` (probability 0 left out) in runs: ``Geometric`` steps together while they share a
    ``fill`` and until an ``Elastic``; any other callable alone."""
    runs: list = []
    for transform, p in steps:
        if p == 0.0:
            continue
        last = runs[-1][-1][0] if runs else None
        if (isinstance(transform, Geometric) and isinstance(last, Geometric) and not isinstance(last, Elastic)
                and last.fill == transform.fill):
            runs[-1].append((transform, p))
        else:
            runs.append([(transform, p)])
    return runs


@attrs.frozen
class Compose:
    """Several transforms in turn: ``steps`` is a list of transforms or ``(transform, probability)``
    pairs. Step ``k`` with probability ``p_k`` (1 when not given, in ``[0, 1]``) transforms each image
    independently with probability ``p_k``: a uniform draw per image below ``p_k`` picks it (no draw
    when ``p_k`` is 0 or 1), and only the picked images pass through the transform.
    ``Compose([])`` is the identity.

    Consecutive ``Shift``, ``Affine`` and ``Elastic`` steps with the same ``fill`` (an ``Elastic`` ending
    such a run) move each image once: its source point is their maps composed, the first step's
    outermost, ``S_1(S_2(..S_k(P)))``, sampled bilinearly once rather than once per step (less blur,
    less work), or, moved only by shifts, shifted by their sum. The draws are those of the steps in turn.
    Any other callable gets the picked images and returns new ones."""

    steps: tuple = attrs.field(default=(), converter=_steps)

    def __call__(self, images: np.ndarray, rng: Any) -> np.ndarray:
        images, rng = check_images(images), generator(rng)
        out, owned, scratch = images, False, Scratch()
        for run in _runs(self.steps):
            transform, p = run[0]
            if isinstance(transform, Geometric):
                if not owned:
                    out, owned = check_images(out).copy(), True  # checks what another callable returned
                move(run, out, rng, scratch)
            elif p == 1.0:
                out, owned = transform(out, rng), False
            else:
                rows = np.flatnonzero(rng.random(out.shape[0]) < p)
                if rows.size:
                    changed = transform(out[rows], rng)
                    out, owned = (out if owned else out.copy()), True
                    out[rows] = changed
        return out if owned else out.copy()

    def batched(self, images: np.ndarray, batch_size: int, rng: Any, rows: Any = None) -> np.ndarray:
        """``self`` on ``images[rows]`` (``images`` ``(n, H, W)``, all of them when ``rows`` is None)
        cut into batches of ``batch_size`` (the last may be smaller), each in turn: for a Generator
        ``rng``, the same draws and bits as ``np.concatenate([self(batch, rng) for batch in batches])``
        (an int seeds one generator for all the batches). Runs of ``Geometric`` steps are carried out
        on all the batches at once, in fewer and larger NumPy calls; with any other callable among
        the steps, the batches go one by one. ``rows``: a 1-D array of indices in ``[0, n)``; the
        images are taken into the array returned."""
        images, rng = check_images(images), generator(rng)
        batch_size = _checks.integer("batch_size", batch_size, minimum=1)
        out, runs = take_images(images, rows), _runs(self.steps)
        if not all(isinstance(run[0][0], Geometric) for run in runs):
            return np.concatenate([self(out[i:i + batch_size], rng) for i in range(0, out.shape[0], batch_size)]
                                  or [out])
        move_in_batches(runs, out, batch_size, rng, Scratch())
        return out
