"""SGD with momentum, and the tree helpers it is built on."""

import attrs
import numpy as np
import pytest

import fnmlp


def small_params(seed=0, num_bn=1):
    spec = fnmlp.MLPSpec((3, 4, 2), ("tanh", "identity"), num_bn_layers=num_bn)
    return fnmlp.init_params(spec, seed)[0]


def test_momentum_update_follows_its_formula_over_several_steps():
    params = small_params()
    opt = fnmlp.sgd(0.05, momentum=0.856)
    opt_state = opt.init(params)
    assert isinstance(opt_state, fnmlp.SGDState)
    assert all((v == 0).all() for v in fnmlp.tree_leaves(opt_state.velocity))
    rng = np.random.default_rng(1)
    p = [a.copy() for a in fnmlp.tree_leaves(params)]
    v = [np.zeros_like(a) for a in p]
    for _ in range(5):
        grads = fnmlp.tree_map(lambda a: rng.standard_normal(a.shape), params)
        params, opt_state = opt.update(grads, opt_state, params)
        for k, g in enumerate(fnmlp.tree_leaves(grads)):
            v[k] = 0.856 * v[k] - 0.05 * g
            p[k] = p[k] + v[k]
    for ours, expected in zip(fnmlp.tree_leaves(params), p):
        np.testing.assert_allclose(ours, expected, rtol=1e-13, atol=1e-15)
    for ours, expected in zip(fnmlp.tree_leaves(opt_state.velocity), v):
        np.testing.assert_allclose(ours, expected, rtol=1e-13, atol=1e-15)


def test_plain_sgd_is_a_gradient_step():
    params = small_params(num_bn=0)
    grads = fnmlp.tree_map(np.ones_like, params)
    opt = fnmlp.sgd(0.25)
    new_params, _ = opt.update(grads, opt.init(params), params)
    assert fnmlp.tree_allclose(new_params, fnmlp.tree_map(lambda p: p - 0.25, params), rtol=0, atol=1e-15)


def test_float32_parameters_stay_float32():
    params = fnmlp.astype(small_params(), np.float32)
    opt = fnmlp.sgd(0.1, 0.9)
    grads = fnmlp.tree_map(np.ones_like, params)
    new_params, opt_state = opt.update(grads, opt.init(params), params)
    assert {a.dtype for a in fnmlp.tree_leaves((new_params, opt_state))} == {np.dtype(np.float32)}


def test_records_keep_their_dtype_whatever_the_gradients_dtype():
    params = fnmlp.astype(small_params(), np.float32)
    opt = fnmlp.sgd(0.1, 0.9)
    grads = fnmlp.tree_map(lambda a: np.full(a.shape, 1 / 3), params)  # float64
    new_params, opt_state = opt.update(grads, opt.init(params), params)
    assert {a.dtype for a in fnmlp.tree_leaves((new_params, opt_state))} == {np.dtype(np.float32)}
    expected = fnmlp.tree_map(lambda p: p - np.float32(0.1 / 3), params)
    assert fnmlp.tree_allclose(new_params, expected, rtol=1e-6, atol=1e-7)


def test_update_rejects_mismatched_trees():
    params = small_params()
    opt = fnmlp.sgd(0.1, 0.9)
    with pytest.raises(ValueError, match="^grads: expected arrays shaped like params"):
        opt.update(small_params(num_bn=0), opt.init(params), params)
    with pytest.raises(TypeError, match="^opt_state: expected a SGDState"):
        opt.update(params, params, params)
    assert opt == fnmlp.SGD(lr=0.1, momentum=0.9), "optimizers are plain values"


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
    nested = fnmlp.SGDState(velocity=params)
    assert len(fnmlp.tree_leaves(nested)) == 6
    assert fnmlp.tree_allclose(attrs.evolve(nested), nested)
