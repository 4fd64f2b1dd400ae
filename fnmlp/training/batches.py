"""What each training step takes: batch rows gathered into reused buffers, and augmented batches of
an epoch, the next one prepared in a worker thread while the current one trains."""

from __future__ import annotations

import concurrent.futures
from typing import Any, Callable, Iterator, Optional

import numpy as np

from ..utils import checks as _checks

__all__ = ["gather_into_buffers", "augmented_batches"]


def gather_into_buffers(batch_size: int, *arrays: np.ndarray) -> Callable:
    """A ``run_epochs`` gather that takes each array's batch rows into a buffer of its own, reused
    batch after batch (about 10-30% faster than ``array[rows]``): only for a step that keeps no
    reference to its batch once it returns, and rows known to be in range. The buffers live as long
    as the gather, which one call of ``fit`` makes and drops."""
    buffers = {id(array): np.empty((batch_size, *array.shape[1:]), array.dtype) for array in arrays}
    take = np.ndarray.take  # the method itself: np.take's wrapper costs about 0.8 us a call

    def gather(array: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return take(array, rows, 0, buffers[id(array)][:rows.shape[0]], "wrap")

    return gather


# images an augment with a batched method transforms a call: in the gemm workload's epochs (batches of
# 256), best-aug's transforms took 92-95 ms an epoch in calls of 1,024 images, 100 at 512, 102 at
# 2,048, 130 at 4,096 (their work arrays outgrow the cache) and 109-120 ms a batch at a time
GROUP_IMAGES = 1024


def augmented_batches(augment: Callable, rng: Any, worker: Optional[concurrent.futures.Executor]) -> Callable:
    """A ``run_epochs`` ``batches``: ``batches(x, order, batch_size)`` iterates over one epoch's
    batches of ``x``, rows taken in ``order``, each ``augment(x[rows], rng)``, checked to be a finite
    array of ``x[rows]``'s shape and dtype (else ``TypeError``/``ValueError`` naming ``augment``).

    The batches are augmented one after the other, so that ``rng`` draws in the same order however
    they are computed. Where ``augment`` has ``batched(x, batch_size, rng, rows)`` (``RowAugment``
    has), which gives what augmenting the batches of ``x[rows]`` in turn gives, it takes consecutive
    batches of about ``GROUP_IMAGES`` rows in one call, from the epoch's first. With a ``worker`` (an
    executor of one thread), the next call runs there while the current batches train (NumPy
    releases the GIL). Closing the iterator waits for the worker's call, so that nothing touches
    ``rng`` or ``order`` once it is closed.
    """
    many = getattr(augment, "batched", None)
    many = many if callable(many) else None

    def make(x: np.ndarray, rows: np.ndarray, batch_size: int) -> np.ndarray:
        out = augment(np.take(x, rows, axis=0), rng) if many is None else many(x, batch_size, rng, rows)
        shape = (rows.size,) + x.shape[1:]
        if not isinstance(out, np.ndarray):
            _checks.fail(TypeError, "augment", "a function returning an array", _checks.describe(out))
        if out.shape != shape or out.dtype != x.dtype:
            _checks.fail(ValueError, "augment", f"a function returning the batch's shape {shape} and "
                         f"dtype {x.dtype}", f"shape {out.shape} and dtype {out.dtype}")
        return _checks.all_finite("augment", out)

    def batches(x: np.ndarray, order: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
        per_call = batch_size if many is None else max(1, GROUP_IMAGES // batch_size) * batch_size
        calls = [order[begin:begin + per_call] for begin in range(0, x.shape[0], per_call)]
        pending = worker.submit(make, x, calls[0], batch_size) if worker is not None and calls else None
        try:
            for k, call_rows in enumerate(calls):
                if worker is None:
                    ready = make(x, call_rows, batch_size)
                else:
                    ready, pending = pending.result(), None
                    if k + 1 < len(calls):
                        pending = worker.submit(make, x, calls[k + 1], batch_size)
                for begin in range(0, ready.shape[0], batch_size):
                    yield ready[begin:begin + batch_size]
        finally:
            if pending is not None:
                concurrent.futures.wait([pending])

    return batches
