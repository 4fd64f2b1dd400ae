"""The elementwise thread pool: its size, its parts, and the same bits on any number of threads."""

import os
import threading

import attrs
import numpy as np
import pytest

import fnmlp
from fnmlp import optimizers as optim
from fnmlp.model.flat import FlatLayout
from fnmlp.optimizers import base
from fnmlp.utils import threads


@pytest.fixture
def small_parts(monkeypatch):
    """Parts and blocks small enough that a test network's buffers split across threads."""
    monkeypatch.setattr(threads, "MIN_PART", 7)
    monkeypatch.setattr(base, "BLOCK", 5)


def test_parts_cover_the_range_once_on_several_threads():
    seen, names = [], {}
    together = threading.Barrier(3, timeout=10)  # the three parts run at the same time, or this breaks

    def meet(start, stop):
        together.wait()
        names[start] = threading.current_thread().name

    with threads.limit(3):
        threads.for_parts(10, meet, min_part=2)
    assert sorted(names) == [0, 3, 6] and names[0] == threading.current_thread().name
    assert len(set(names.values())) == 3

    def record(start, stop):
        seen.append((start, stop))

    with threads.limit(3):
        threads.for_parts(10, record, min_part=2)
    assert sorted(seen) == [(0, 3), (3, 6), (6, 10)]
    seen.clear()
    with threads.limit(3):
        threads.for_parts(10, record, min_part=4)  # only two parts of at least 4
    assert sorted(seen) == [(0, 5), (5, 10)]
    seen.clear()
    with threads.limit(1):
        threads.for_parts(10, record, min_part=1)
    assert seen == [(0, 10)]


def test_an_error_in_a_part_is_raised_after_every_part_ends():
    done = []

    def part(start, stop):
        if start:
            raise RuntimeError(f"part {start}")
        done.append(start)

    with threads.limit(2), pytest.raises(RuntimeError, match="^part 5$"):
        threads.for_parts(10, part, min_part=1)
    assert done == [0]


def test_size_comes_from_the_environment(monkeypatch):
    for name in ("FNMLP_NUM_THREADS", *threads.ENVIRONMENT):
        monkeypatch.delenv(name, raising=False)
    assert threads.default_num_threads() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert threads.default_num_threads() == 1
    monkeypatch.setenv("FNMLP_NUM_THREADS", "3")
    assert threads.default_num_threads() == 3
    monkeypatch.setenv("FNMLP_NUM_THREADS", "zero")  # not a count: ignored
    assert threads.default_num_threads() == 1
    monkeypatch.setattr(threads, "_default", ())
    assert threads.num_threads() == 1
    monkeypatch.setenv("FNMLP_NUM_THREADS", "4")
    assert threads.num_threads() == 1  # read once per process
    with threads.limit(5):
        assert threads.num_threads() == 5
    assert threads.num_threads() == 1
    monkeypatch.setattr(threads, "_default", (-1, 7))  # as in a child forked since
    assert threads.num_threads() == 4
    with pytest.raises(ValueError, match=r"^count: expected an integer in 1\.\.inf, got 0"):
        threads.set_num_threads(0)


def test_sweep_workers_run_one_thread():
    from fnmlp.sweep import BLAS_ENV

    assert BLAS_ENV["OPENBLAS_NUM_THREADS"] == "1" and BLAS_ENV["FNMLP_NUM_THREADS"] == "1"


OPTIMIZERS = {
    "sgd": lambda: optim.sgd(0.05, momentum=0.9),
    "nesterov-decay-schedule": lambda: optim.sgd(optim.warmup_cosine_decay(0.1, 3, 20), momentum=0.9,
                                                 nesterov=True, weight_decay=1e-3),
    "adam": lambda: optim.adam(1e-2),
    "adamw-schedule": lambda: optim.adamw(optim.warmup_cosine_decay(1e-2, 2, 20), weight_decay=0.05),
    "clipped": lambda: optim.Optimizer(optim.chain(optim.clip_by_global_norm(0.5), optim.trace(0.9),
                                                   optim.scale_by_learning_rate(0.05))),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fit_gives_the_same_bits_on_one_two_and_three_threads(name, dtype, small_parts):
    spec = fnmlp.MLPSpec((6, 9, 7, 3), ("relu", "tanh", "identity"), num_bn_layers=1, dropout=(0.2, 0.1, 0.0))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((37, 6)).astype(dtype)
    y = rng.integers(0, 3, 37)
    params, bn_state = fnmlp.init_params(spec, 1, dtype=dtype)
    results = []
    for count in (1, 2, 3):
        with threads.limit(count):
            results.append(fnmlp.fit(spec, params, bn_state, OPTIMIZERS[name](), (x, y), epochs=3,
                                     batch_size=8, rng=4))
    for other in results[1:]:
        for a, b in zip(fnmlp.tree_leaves(results[0].final), fnmlp.tree_leaves(other.final)):
            if isinstance(a, np.ndarray):
                assert a.dtype == b.dtype and np.array_equal(a, b)
        assert [attrs.astuple(s)[:5] for s in other.history] == [attrs.astuple(s)[:5] for s in results[0].history]
    # and the blocked, threaded step is the pure update's, to the bit
    one = results[0].final
    assert not fnmlp.tree_allclose(one.params, params)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_blocked_flat_update_is_the_pure_update_to_the_bit(name, small_parts):
    rng = np.random.default_rng(2)
    spec = fnmlp.MLPSpec((5, 8, 3), ("relu", "identity"), num_bn_layers=1)
    params, _ = fnmlp.init_params(spec, 3, dtype=np.float32)
    optimizer = OPTIMIZERS[name]()
    state = optimizer.init(params)
    layout = FlatLayout.of(params)
    weights, flat_state = layout.flatten(params), layout.flatten_tree(state)
    for step in range(4):
        grads = fnmlp.tree_map(lambda p: rng.standard_normal(p.shape).astype(p.dtype), params)
        params, state = optimizer.update(grads, state, params)
        with threads.limit(2):
            flat_state = optimizer.update_flat(layout.flatten(grads), flat_state, weights, layout)
        assert np.array_equal(layout.flatten(params), weights), step
    for a, b in zip(fnmlp.tree_leaves(state), fnmlp.tree_leaves(layout.unflatten_tree(flat_state))):
        assert np.array_equal(np.asarray(a), np.asarray(b))
