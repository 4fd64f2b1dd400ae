"""A small pool of threads for fnmlp's large elementwise passes (NumPy releases the GIL inside ufuncs).

``for_parts(size, fn)`` runs ``fn(start, stop)`` over contiguous parts of ``range(size)``, one part per
thread, and returns when every part is done. Elementwise work gives the same bits on any number of
threads; fnmlp never splits a reduction this way, so no result depends on the pool's size.

The size is ``FNMLP_NUM_THREADS`` when set, else the smallest of ``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` that is set (the BLAS's own limit: 1 in a sweep's
workers), else the cores this process may run on, read once per process; ``set_num_threads`` overrides it and ``limit``
sets it for a block of code. The pool starts on first use, and again in a forked child.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import threading
from typing import Callable, Iterator, Optional

from . import checks as _checks

__all__ = ["ENVIRONMENT", "MIN_PART", "available_cores", "default_num_threads", "for_parts", "limit", "num_threads",
           "set_num_threads"]

ENVIRONMENT = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
MIN_PART = 65536  # elements: a part smaller than this costs more to hand over than it saves

_chosen: Optional[int] = None
_default: tuple = ()  # (pid, default_num_threads()) of the process that read the environment
_lock = threading.Lock()
_pool: Optional[concurrent.futures.ThreadPoolExecutor] = None
_pool_key: tuple = ()


def default_num_threads() -> int:
    """The pool's size from the environment, or the cores this process may use (at least 1)."""
    own = _from_environment("FNMLP_NUM_THREADS")
    if own is not None:
        return own
    limits = [n for n in (_from_environment(name) for name in ENVIRONMENT) if n is not None]
    return min(limits) if limits else available_cores()


def available_cores() -> int:
    """The cores this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _from_environment(name: str) -> Optional[int]:
    try:
        value = int(os.environ.get(name, ""))
    except ValueError:
        return None
    return value if value >= 1 else None


def num_threads() -> int:
    """The number of threads the elementwise passes use now (the environment is read once per process)."""
    global _default
    if _chosen is not None:
        return _chosen
    if not _default or _default[0] != os.getpid():
        _default = (os.getpid(), default_num_threads())
    return _default[1]


def set_num_threads(count: Optional[int]) -> None:
    """Use ``count`` threads (an integer >= 1) from now on; ``None`` goes back to the default."""
    global _chosen
    _chosen = None if count is None else _checks.integer("count", count, minimum=1)


@contextlib.contextmanager
def limit(count: Optional[int]) -> Iterator[None]:
    """``set_num_threads(count)`` inside a ``with`` block, the previous setting restored after it."""
    global _chosen
    previous = _chosen
    set_num_threads(count)
    try:
        yield
    finally:
        _chosen = previous


def for_parts(size: int, fn: Callable[[int, int], None], min_part: Optional[int] = None) -> None:
    """``fn(start, stop)`` for contiguous parts covering ``range(size)``: as many parts as threads,
    each at least ``min_part`` elements (default ``MIN_PART``; one part, in the caller's thread, when
    ``size`` is smaller than two). The caller runs the first part; an exception from any part is
    raised after all end."""
    parts = min(num_threads(), size // max(1, MIN_PART if min_part is None else min_part))
    if parts <= 1:
        fn(0, size)
        return
    bounds = [size * k // parts for k in range(parts + 1)]
    pool = _executor(parts - 1)
    futures = [pool.submit(fn, bounds[k], bounds[k + 1]) for k in range(1, parts)]
    try:
        fn(bounds[0], bounds[1])
    finally:
        concurrent.futures.wait(futures)
    for future in futures:
        future.result()


def _executor(workers: int) -> concurrent.futures.ThreadPoolExecutor:
    """The pool, started again when its size changes or the process has forked since."""
    global _pool, _pool_key
    key = (os.getpid(), workers)
    if _pool_key != key:
        with _lock:
            if _pool_key != key:
                old = _pool if _pool_key and _pool_key[0] == key[0] else None
                _pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="fnmlp")
                _pool_key = key
                if old is not None:
                    old.shutdown(wait=False)
    return _pool
