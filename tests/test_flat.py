"""FlatLayout, and the in-place fast paths built on it agreeing bit for bit with the pure functions."""

import numpy as np
import pytest

import fnmlp
from fnmlp.flat import FlatLayout
from fnmlp.network import _backward, _forward
from helpers import random_problem


def spec_with_bn():
    return fnmlp.MLPSpec.from_hidden_sizes(6, [5, 4], 3, activation="tanh", num_bn_layers=2)


def test_flatten_unflatten_and_split_place_every_array_in_one_buffer():
    spec = spec_with_bn()
    params = fnmlp.init_params(spec, 0)[0]
    leaves = fnmlp.tree_leaves(params)
    layout = FlatLayout.of(params)
    assert layout.size == sum(a.size for a in leaves) == 6 * 5 + 5 * 4 + 4 * 3 + 5 + 4 + 3 + 2 * (5 + 4)
    assert layout.dtype == np.float64 and FlatLayout.of(params, np.float32).dtype == np.float32

    buffer = layout.flatten(params)
    assert buffer.shape == (layout.size,)
    np.testing.assert_array_equal(buffer, np.concatenate([a.ravel() for a in leaves]))
    record = layout.unflatten(buffer)
    assert type(record) is fnmlp.Params and fnmlp.tree_allclose(record, params, rtol=0, atol=0)
    assert all(np.shares_memory(a, buffer) and not a.flags.writeable for a in fnmlp.tree_leaves(record))

    views = layout.split(buffer)
    assert list(views) == ["W", "b", "gamma", "beta"]
    views["gamma"][1][...] = 7.0
    assert (record.gamma[1] == 7.0).all() and (params.gamma[1] == 1.0).all()
    assert (buffer == 7.0).sum() == 4

    state = fnmlp.init_params(spec, 0)[1]
    state_layout = FlatLayout.of(state, np.float32)
    assert fnmlp.tree_allclose(state_layout.unflatten(state_layout.flatten(state)), state, rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"^buffer: expected shape \(18,\), got shape \(17,\)"):
        state_layout.unflatten(np.zeros(17))


@pytest.mark.parametrize("num_bn", [0, 2])
def test_backward_into_a_buffer_equals_backward(num_bn):
    spec = fnmlp.MLPSpec.from_hidden_sizes(6, [5, 4], 3, activation="relu", num_bn_layers=num_bn)
    params, state, x, labels = random_problem(spec, 9, seed=2)
    _, cache, _ = _forward(spec, params, state, x, True)
    dlogits = np.random.default_rng(0).standard_normal((9, 3))
    expected = _backward(spec, params, cache, dlogits, input_grad=False)
    layout = FlatLayout.of(params)
    buffer = np.full(layout.size, np.nan)
    assert _backward(spec, params, cache, dlogits, input_grad=False, out=layout.split(buffer)) is None
    assert fnmlp.tree_allclose(layout.unflatten(buffer), expected, rtol=0, atol=0)


def test_sgd_in_place_step_is_the_pure_update_bit_for_bit():
    params = fnmlp.init_params(spec_with_bn(), 1)[0]
    opt = fnmlp.sgd(0.03, 0.85)
    opt_state = opt.init(params)
    layout = FlatLayout.of(params)
    weights, velocity = layout.flatten(params), layout.flatten(opt_state.velocity)
    rng = np.random.default_rng(3)
    for _ in range(4):
        grads = fnmlp.tree_map(lambda a: rng.standard_normal(a.shape), params)
        params, opt_state = opt.update(grads, opt_state, params)
        opt._update_in_place(layout.flatten(fnmlp.tree_map(lambda g: 0.03 * g, grads)), velocity, weights)
        assert fnmlp.tree_allclose(layout.unflatten(weights), params, rtol=0, atol=0)
        assert fnmlp.tree_allclose(layout.unflatten(velocity), opt_state.velocity, rtol=0, atol=0)
