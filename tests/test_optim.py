"""Optimizers: every update against its formula written out by hand here (PyTorch's, for sgd, adam
and adamw), schedules' values, bad input, purity, and the tree helpers they are built on."""

import math

import attrs
import numpy as np
import pytest

import fnmlp
from fnmlp import optimizers as optim
from helpers import sgd_state


def small_params(seed=0, num_bn=1, dtype=np.float64):
    spec = fnmlp.MLPSpec((3, 4, 2), ("tanh", "identity"), num_bn_layers=num_bn)
    return fnmlp.astype(fnmlp.init_params(spec, seed)[0], dtype)


def grads_for(params, rng):
    return fnmlp.tree_map(lambda a: rng.standard_normal(a.shape), params)


def fields(tree):
    """``[(field name, array), ...]`` in ``tree_leaves`` order."""
    return [(f.name, a) for f in attrs.fields(fnmlp.Params) for a in getattr(tree, f.name)]


def run(opt, params, steps, seed=1):
    """``steps`` updates with random gradients: ``(params, opt_state, [grads per step])``."""
    rng = np.random.default_rng(seed)
    state, seen = opt.init(params), []
    for _ in range(steps):
        grads = grads_for(params, rng)
        seen.append(grads)
        params, state = opt.update(grads, state, params)
    return params, state, seen


def assert_leaves(tree, expected, rtol=1e-13):
    for ours, wanted in zip(fnmlp.tree_leaves(tree), expected):
        np.testing.assert_allclose(ours, wanted, rtol=rtol, atol=1e-15)


def test_momentum_update_follows_its_formula_over_several_steps():
    params = small_params()
    opt = fnmlp.sgd(0.05, momentum=0.856)
    opt_state = opt.init(params)
    assert all((v == 0).all() for v in fnmlp.tree_leaves(opt_state))
    p = [a.copy() for a in fnmlp.tree_leaves(params)]
    v = [np.zeros_like(a) for a in p]
    new_params, new_state, seen = run(opt, params, 5)
    for grads in seen:
        for k, g in enumerate(fnmlp.tree_leaves(grads)):
            v[k] = 0.856 * v[k] - 0.05 * g
            p[k] = p[k] + v[k]
    assert_leaves(new_params, p)
    assert_leaves(new_state[1].trace, v)


def test_constant_rate_sgd_is_the_handouts_update_to_the_bit():
    """fnmlp.hw1 relies on it: ``v = momentum * v - lr * g; p = p + v`` exactly."""
    params = small_params()
    new_params, new_state, seen = run(fnmlp.sgd(0.03, 0.9), params, 4)
    p, v = fnmlp.tree_leaves(params), [np.zeros_like(a) for a in fnmlp.tree_leaves(params)]
    for grads in seen:
        v = [0.9 * vk - 0.03 * g for vk, g in zip(v, fnmlp.tree_leaves(grads))]
        p = [pk + vk for pk, vk in zip(p, v)]
    for ours, wanted in zip(fnmlp.tree_leaves((new_params, new_state[1].trace)), p + v):
        np.testing.assert_array_equal(ours, wanted)


@pytest.mark.parametrize("nesterov", [False, True])
def test_scheduled_sgd_with_weight_decay_follows_torch_sgd(nesterov):
    """torch.optim.SGD(dampening=0): ``g += wd * p`` (weights only, by default); ``b = m * b + g``;
    ``g = g + m * b`` with Nesterov, else ``b``; ``p -= lr_k * g``."""
    params = small_params()
    schedule = optim.piecewise_constant([2, 4], [0.1, 0.05, 0.01])
    opt = fnmlp.sgd(schedule, momentum=0.8, nesterov=nesterov, weight_decay=0.3)
    new_params, state, seen = run(opt, params, 6)
    p = [a.copy() for _, a in fields(params)]
    b = [np.zeros_like(a) for a in p]
    names = [name for name, _ in fields(params)]
    for k, grads in enumerate(seen):
        lr = [0.1, 0.1, 0.05, 0.05, 0.01, 0.01][k]
        for i, g in enumerate(fnmlp.tree_leaves(grads)):
            g = g + 0.3 * p[i] if names[i] == "W" else g
            b[i] = 0.8 * b[i] + g
            step = g + 0.8 * b[i] if nesterov else b[i]
            p[i] = p[i] - lr * step
    assert_leaves(new_params, p)
    assert state[-1] == optim.ScheduleState(6)
    assert opt.learning_rate(state) == 0.01


def test_constant_rate_nesterov_agrees_with_the_scheduled_form():
    params = small_params()
    fixed = run(fnmlp.sgd(0.07, 0.9, nesterov=True, weight_decay=0.01), params, 5)[0]
    scheduled = run(fnmlp.sgd(optim.constant(0.07), 0.9, nesterov=True, weight_decay=0.01), params, 5)[0]
    assert fnmlp.tree_allclose(fixed, scheduled, rtol=1e-12, atol=1e-14)


def adam_by_hand(params, seen, lr, b1, b2, eps, weight_decay=0.0, decoupled=False):
    """torch.optim.Adam / AdamW's step, written out; decay on the weights only."""
    p = [a.copy() for _, a in fields(params)]
    names = [name for name, _ in fields(params)]
    m = [np.zeros_like(a) for a in p]
    v = [np.zeros_like(a) for a in p]
    for k, grads in enumerate(seen, start=1):
        rate = lr(k - 1) if callable(lr) else lr
        for i, g in enumerate(fnmlp.tree_leaves(grads)):
            if decoupled and names[i] == "W":
                p[i] = p[i] * (1 - rate * weight_decay)
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            m_hat, v_hat = m[i] / (1 - b1 ** k), v[i] / (1 - b2 ** k)
            p[i] = p[i] - rate * m_hat / (np.sqrt(v_hat) + eps)
    return p, m, v


def test_adam_follows_torch_adam():
    params = small_params()
    new_params, state, seen = run(fnmlp.adam(0.01, b1=0.8, b2=0.99, eps=1e-3), params, 7)
    p, m, v = adam_by_hand(params, seen, 0.01, 0.8, 0.99, 1e-3)
    assert_leaves(new_params, p, rtol=1e-12)
    adam_state = state[0]
    assert isinstance(adam_state, optim.AdamState) and adam_state.step == 7
    assert_leaves(adam_state.mu, m, rtol=1e-12)
    assert_leaves(adam_state.nu, v, rtol=1e-12)


def test_adamw_with_a_schedule_follows_torch_adamw():
    params = small_params()
    schedule = optim.warmup_cosine_decay(0.02, 2, 8, end=0.001)
    new_params, state, seen = run(fnmlp.adamw(schedule, weight_decay=0.5), params, 9)
    p, _, _ = adam_by_hand(params, seen, schedule, 0.9, 0.999, 1e-8, weight_decay=0.5, decoupled=True)
    assert_leaves(new_params, p, rtol=1e-10)


def test_decay_applies_to_the_arrays_the_mask_chooses():
    params = small_params()
    zero = fnmlp.tree_map(np.zeros_like, params)
    for mask, decayed in ((None, {"W"}), (lambda p: fnmlp.tree_map(lambda a: True, p), {"W", "b", "gamma", "beta"}),
                          (fnmlp.Params(W=[False, True], b=[True, False], gamma=[False], beta=[False]), None)):
        opt = fnmlp.sgd(0.5, weight_decay=0.1, mask=mask)
        new, _ = opt.update(zero, opt.init(params), params)
        for i, ((name, before), (_, after)) in enumerate(zip(fields(params), fields(new))):
            chosen = name in decayed if decayed is not None else i in (1, 2)
            np.testing.assert_allclose(after, before * (1 - 0.5 * 0.1) if chosen else before, rtol=1e-15)
    assert optim.weights_only(params).W == (True, True)


def test_clip_by_global_norm_in_a_chain():
    params = small_params(num_bn=0)
    grads = fnmlp.tree_map(lambda a: np.full(a.shape, 2.0), params)  # norm 2 * sqrt(12 + 8 + 4 + 2)
    norm = 2.0 * math.sqrt(26)
    opt = optim.Optimizer(optim.chain(optim.clip_by_global_norm(1.5), optim.scale_by_learning_rate(0.1)))
    new, state = opt.update(grads, opt.init(params), params)
    assert fnmlp.tree_allclose(new, fnmlp.tree_map(lambda p: p - 0.1 * 2.0 * 1.5 / norm, params), rtol=1e-14)
    loose = optim.Optimizer(optim.chain(optim.clip_by_global_norm(100.0), optim.scale_by_learning_rate(0.1)))
    assert fnmlp.tree_allclose(loose.update(grads, state, params)[0], fnmlp.tree_map(lambda p: p - 0.2, params),
                               rtol=1e-14)


def test_schedules_give_their_values():
    assert [optim.constant(0.3)(k) for k in (0, 10 ** 6)] == [0.3, 0.3]
    steps = optim.piecewise_constant([3, 5], [1.0, 0.5, 0.25])
    assert [steps(k) for k in range(7)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    assert optim.exponential_decay(2.0, 0.5)(3) == 0.25
    assert optim.exponential_decay(2.0, 0.5, transition_steps=4)(2) == pytest.approx(2.0 * 0.5 ** 0.5, rel=1e-15)
    assert optim.exponential_decay(2.0, 0.5, transition_steps=4, staircase=True)(7) == 1.0
    cosine = optim.warmup_cosine_decay(1.0, 4, 14, end=0.1)
    assert [cosine(k) for k in range(5)] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert cosine(9) == pytest.approx(0.1 + 0.9 * 0.5, rel=1e-15)  # half way through the decay
    assert cosine(14) == pytest.approx(0.1, rel=1e-15) and cosine(100) == pytest.approx(0.1, rel=1e-15)
    no_warmup = optim.warmup_cosine_decay(0.05, 0, 100)
    assert no_warmup(0) == 0.05 and no_warmup(25) == pytest.approx(0.05 * (1 + math.cos(math.pi / 4)) / 2)
    assert optim.warmup_cosine_decay(1.0, 4, 14) == optim.WarmupCosineDecay(1.0, 4, 14, 0.0), "plain values"


def test_optimizers_are_plain_values_that_round_trip_through_json():
    from fnmlp.optimizers.serialization import from_json, to_json
    import json
    for opt in (fnmlp.sgd(0.1, 0.9), fnmlp.sgd(optim.exponential_decay(0.1, 0.9), 0.9, True, 1e-4),
                fnmlp.adam(1e-3), fnmlp.adamw(optim.piecewise_constant([10], [1e-3, 1e-4]), weight_decay=0.1,
                                             mask=fnmlp.Params(W=[True], b=[True])),
                optim.Optimizer(optim.chain(optim.clip_by_global_norm(1.0), fnmlp.sgd(0.1, 0.5).transform))):
        assert from_json(json.loads(json.dumps(to_json(opt)))) == opt
    with pytest.raises(TypeError, match=r"^optimizer\.transform\.transforms\[1\]\.schedule: expected a value "):
        to_json(fnmlp.adam(lambda step: 0.1))


@pytest.mark.parametrize("make, message", [
    (lambda: fnmlp.sgd(-0.1), "lr: expected a finite number in [0.0, inf), got -0.1"),
    (lambda: fnmlp.adam(np.nan), "lr: expected a finite number in [0.0, inf), got nan"),
    (lambda: fnmlp.sgd(0.1, momentum=1.0), "momentum: expected a finite number in [0.0, 1.0), got 1.0"),
    (lambda: fnmlp.sgd(0.1, weight_decay=-1e-4), "weight_decay: expected a finite number in [0.0, inf), got -0.0001"),
    (lambda: fnmlp.adamw(0.1, weight_decay=-0.01), "weight_decay: expected a finite number in [0.0, inf)"),
    (lambda: fnmlp.adam(0.1, b1=1.0), "b1: expected a finite number in [0.0, 1.0), got 1.0"),
    (lambda: fnmlp.adam(0.1, eps=-1.0), "eps: expected a finite number in [0.0, inf)"),
    (lambda: fnmlp.sgd(0.1, nesterov=1), "nesterov: expected True or False, got 1"),
    (lambda: fnmlp.sgd(0.1, weight_decay=0.1, mask="W"), "mask: expected None, a callable"),
    (lambda: optim.clip_by_global_norm(0.0), "max_norm: expected a finite number in (0.0, inf)"),
    (lambda: optim.piecewise_constant([5, 3], [1.0, 0.5, 0.1]), "boundaries: expected strictly increasing"),
    (lambda: optim.piecewise_constant([5], [1.0]), "values: expected 2 values"),
    (lambda: optim.exponential_decay(0.1, -0.5), "rate: expected a finite number in (0.0, inf)"),
    (lambda: optim.warmup_cosine_decay(0.1, 10, 10), "decay_steps: expected more than warmup_steps (10), got 10"),
    (lambda: optim.warmup_cosine_decay(-0.1, 0, 10), "peak: expected a finite number in [0.0, inf)"),
    (lambda: optim.chain(optim.trace(0.9), "adam"), "transforms[1]: expected a transform with init and update"),
])
def test_bad_configurations_are_refused_naming_the_argument(make, message):
    with pytest.raises((TypeError, ValueError)) as info:
        make()
    assert str(info.value).startswith(message), str(info.value)


def test_a_schedule_that_returns_nan_is_caught_at_the_update_naming_lr():
    params = small_params()
    opt = fnmlp.sgd(lambda step: 0.1 if step < 2 else float("nan"), 0.9)
    state = opt.init(params)
    grads = fnmlp.tree_map(np.ones_like, params)
    for _ in range(2):
        params, state = opt.update(grads, state, params)
    with pytest.raises(ValueError, match=r"^lr: expected a finite learning rate >= 0 from the schedule .* at step 2, "
                                         r"got nan"):
        opt.update(grads, state, params)


def test_update_rejects_mismatched_trees():
    params = small_params()
    opt = fnmlp.sgd(0.1, 0.9)
    with pytest.raises(ValueError, match="^grads: expected arrays shaped like params"):
        opt.update(small_params(num_bn=0), opt.init(params), params)
    with pytest.raises(TypeError, match=r"^opt_state: expected a tuple of 2 states, got Params"):
        opt.update(params, params, params)
    adam = fnmlp.adam(0.1)
    other = adam.init(small_params(num_bn=0))
    with pytest.raises(ValueError, match=r"^opt_state\[0\]\.mu\.gamma: expected 1 entries, got 0"):
        adam.update(params, other, params)
    with pytest.raises(TypeError, match=r"^opt_state\[0\]: expected a AdamState, got EmptyState"):
        adam.update(params, opt.init(params), params)
    with pytest.raises(ValueError, match=r"^opt_state\[0\]\.step: expected an integer in 0\.\.inf, got -1"):
        adam.update(params, (attrs.evolve(adam.init(params)[0], step=-1), optim.EmptyState()), params)
    assert opt == fnmlp.sgd(lr=0.1, momentum=0.9), "optimizers are plain values"


@pytest.mark.parametrize("make", [lambda: fnmlp.sgd(optim.constant(0.1), 0.9, True, 0.1), lambda: fnmlp.adamw(0.1)])
def test_updates_write_into_no_argument(make):
    params = small_params()
    opt = make()
    state = run(opt, params, 2)[1]
    grads = grads_for(params, np.random.default_rng(5))
    arguments = (grads, state, params)
    before = [a.copy() for a in fnmlp.tree_leaves(arguments) if isinstance(a, np.ndarray)]
    new_params, new_state = opt.update(*arguments)
    after = [a for a in fnmlp.tree_leaves(arguments) if isinstance(a, np.ndarray)]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert not any(np.shares_memory(a, b) for a in fnmlp.tree_leaves(new_params) for b in after)
    assert all(not a.flags.writeable for a in fnmlp.tree_leaves((new_params, new_state)) if isinstance(a, np.ndarray))


def test_plain_sgd_is_a_gradient_step():
    params = small_params(num_bn=0)
    grads = fnmlp.tree_map(np.ones_like, params)
    opt = fnmlp.sgd(0.25)
    new_params, _ = opt.update(grads, opt.init(params), params)
    assert fnmlp.tree_allclose(new_params, fnmlp.tree_map(lambda p: p - 0.25, params), rtol=0, atol=1e-15)


@pytest.mark.parametrize("make", [lambda: fnmlp.sgd(0.1, 0.9), lambda: fnmlp.adamw(optim.constant(0.01))])
def test_records_keep_their_dtype_whatever_the_gradients_dtype(make):
    params = small_params(dtype=np.float32)
    opt = make()
    grads = fnmlp.tree_map(lambda a: np.full(a.shape, 1 / 3), params)  # float64
    new_params, opt_state = opt.update(grads, opt.init(params), params)
    assert {a.dtype for a in fnmlp.tree_leaves((new_params, opt_state)) if isinstance(a, np.ndarray)} == {
        np.dtype(np.float32)}


def test_tree_map_leaves_and_allclose():
    params = small_params()
    doubled = fnmlp.tree_map(lambda a: 2 * a, params)
    assert type(doubled) is fnmlp.Params
    assert [a.shape for a in fnmlp.tree_leaves(doubled)] == [(3, 4), (4, 2), (4,), (2,), (4,), (4,)]
    summed = fnmlp.tree_map(np.add, params, params)
    assert fnmlp.tree_allclose(summed, doubled, rtol=0, atol=0)
    assert not fnmlp.tree_allclose(params, doubled)
    assert not fnmlp.tree_allclose(params, small_params(num_bn=0)), "different structure"
    with pytest.raises(ValueError, match="trees differ in structure"):
        fnmlp.tree_map(np.add, params, small_params(num_bn=0))
    nested = sgd_state(params)
    assert len(fnmlp.tree_leaves(nested)) == 6
    assert fnmlp.tree_allclose(attrs.evolve(nested[1]), nested[1])
