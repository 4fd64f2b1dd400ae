"""Dropout and the L2 penalty: finite differences with the masks held fixed, against the reference
model and the public checker; masks from the explicit rng; eval ignores dropout; scikit-learn's alpha."""

import attrs
import numpy as np
import pytest

import fnmlp
from helpers import numerical_grad, random_problem, reference_mean_loss, relative_error, replace_leaf, sample_coords


def dropout_spec(activation="tanh", num_bn=0, dropout=(0.2, 0.5, 0.3), l2=0.0, loss="softmax_cross_entropy"):
    return fnmlp.MLPSpec((6, 5, 5, 4), (activation, activation, "identity"), num_bn_layers=num_bn, dropout=dropout,
                         l2=l2, loss=loss)


@pytest.mark.parametrize("activation, num_bn", [("tanh", 0), ("relu", 1), ("sigmoid", 2), ("gelu", 1)])
def test_dropout_and_l2_gradients_match_finite_differences_of_the_reference_with_the_masks_fixed(activation, num_bn):
    spec = dropout_spec(activation, num_bn, l2=0.3)
    params, state, x, labels = random_problem(spec, 11, seed=5)
    loss, grads, _ = fnmlp.loss_and_grads(spec, params, state, x, labels, rng=7)
    _, cache, _ = fnmlp.forward(spec, params, state, x, train=True, rng=7)
    masks = cache.masks
    assert all(m is not None for m in masks)
    assert loss == pytest.approx(reference_mean_loss(spec, params, state, x, labels, masks=masks), rel=1e-12)
    rng = np.random.default_rng(0)
    for field in ("W", "b", "gamma", "beta"):
        for layer, (array, grad) in enumerate(zip(getattr(params, field), getattr(grads, field))):
            coords = sample_coords(array.size, rng)
            numerical = numerical_grad(
                lambda a: reference_mean_loss(spec, replace_leaf(params, field, layer, a), state, x, labels,
                                              masks=masks), array, coords)
            scale = max(np.abs(numerical).max(), np.abs(grad.flat[coords]).max())
            if scale > 1e-4:
                assert relative_error(numerical, grad.flat[coords]) < 1e-6, (field, layer)
            else:
                assert np.abs(numerical - grad.flat[coords]).max() < 1e-9, (field, layer)
    report = fnmlp.check_grads(spec, params, state, x, labels, rng=7)
    assert report.max_error < 1e-6 and report.checked["params.W[0]"] > 0


def test_check_grads_holds_a_generator_s_masks_fixed_and_leaves_it_as_it_was():
    spec = dropout_spec("silu", 1, l2=0.1)
    params, state, x, labels = random_problem(spec, 8, seed=6)
    rng = np.random.default_rng(3)
    before = rng.bit_generator.state
    assert fnmlp.check_grads(spec, params, state, x, labels, rng=rng).max_error < 1e-6
    assert rng.bit_generator.state == before


def test_the_same_rng_gives_the_same_masks_and_a_generator_moves_on():
    spec = dropout_spec()
    params, state, x, labels = random_problem(spec, 9, seed=1)
    masks = [fnmlp.forward(spec, params, state, x, train=True, rng=seed)[1].masks for seed in (4, 4, 5)]
    for a, b in zip(masks[0], masks[1]):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(masks[0], masks[2]))
    first, second = (np.random.default_rng(9), np.random.default_rng(9))
    one = fnmlp.forward(spec, params, state, x, train=True, rng=first)[1].masks
    two = fnmlp.forward(spec, params, state, x, train=True, rng=second)[1].masks
    three = fnmlp.forward(spec, params, state, x, train=True, rng=first)[1].masks
    assert all(np.array_equal(a, b) for a, b in zip(one, two))
    assert not all(np.array_equal(a, b) for a, b in zip(one, three)), "the generator was advanced"
    loss_a, grads_a, _ = fnmlp.loss_and_grads(spec, params, state, x, labels, rng=11)
    loss_b, grads_b, _ = fnmlp.loss_and_grads(spec, params, state, x, labels, rng=np.random.default_rng(11))
    assert loss_a == loss_b and fnmlp.tree_allclose(grads_a, grads_b, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kept_units_are_scaled_by_one_over_keep_probability(dtype):
    spec = fnmlp.MLPSpec((400, 3), ("identity",), dropout=(0.25,))
    params, state = fnmlp.init_params(spec, rng=0, dtype=dtype)
    x = np.full((250, 400), 3.0, dtype)
    _, cache, _ = fnmlp.forward(spec, params, state, x, train=True, rng=0)
    dropped = cache.inputs[0]
    assert dropped.dtype == dtype and cache.masks[0].dtype == dtype
    assert set(np.unique(dropped)) == {dtype(0.0), dtype(3.0 / 0.75)}
    np.testing.assert_array_equal(cache.masks[0] * x, dropped)
    kept = np.count_nonzero(dropped) / dropped.size
    assert abs(kept - 0.75) < 0.01, kept  # 100,000 draws: the standard deviation is 0.0014
    np.testing.assert_allclose(cache.outputs[-1], dropped @ params.W[0] + params.b[0], rtol=1e-5)
    np.testing.assert_array_equal(cache.outputs[0], x)


def test_eval_ignores_dropout_and_needs_no_rng():
    spec = dropout_spec()
    plain = attrs.evolve(spec, dropout=None)
    params, state, x, _ = random_problem(spec, 9, seed=2)
    logits, cache, _ = fnmlp.forward(spec, params, state, x, train=False)
    np.testing.assert_array_equal(logits, fnmlp.forward(plain, params, state, x, train=False)[0])
    np.testing.assert_array_equal(fnmlp.predict(spec, params, state, x), logits)
    assert cache.masks == (None, None, None)
    assert fnmlp.forward(spec, params, state, x, train=False, rng=3)[1].masks == (None, None, None)
    assert not np.array_equal(fnmlp.forward(spec, params, state, x, train=True, rng=3)[0], logits)


def test_training_with_dropout_needs_an_rng():
    spec = dropout_spec()
    params, state, x, labels = random_problem(spec, 4, seed=2)
    with pytest.raises(ValueError, match=r"^rng: expected a seed or a NumPy Generator to draw the dropout masks"):
        fnmlp.forward(spec, params, state, x, train=True)
    with pytest.raises(ValueError, match=r"^rng: expected a seed or a NumPy Generator"):
        fnmlp.loss_and_grads(spec, params, state, x, labels)
    with pytest.raises(TypeError, match=r"^rng: expected an integer"):
        fnmlp.loss_and_grads(spec, params, state, x, labels, rng="seed")
    no_dropout = attrs.evolve(spec, dropout=None)
    fnmlp.loss_and_grads(no_dropout, params, state, x, labels)  # no rng needed


def test_a_rate_of_zero_draws_no_mask_and_changes_nothing():
    spec = dropout_spec(dropout=(0.0, 0.5, 0.0))
    params, state, x, _ = random_problem(spec, 5, seed=2)
    cache = fnmlp.forward(spec, params, state, x, train=True, rng=0)[1]
    assert cache.masks[0] is None and cache.masks[2] is None and cache.masks[1] is not None
    assert cache.inputs[0] is cache.outputs[0]


def test_l2_follows_scikit_learns_alpha_written_out():
    """scikit-learn's MLP (``_backprop``): ``loss += (0.5 * alpha) * sum(||W||^2) / n_samples`` and
    ``coef_grads[i] = (a[i].T @ delta[i] + alpha * W[i]) / n_samples``; biases carry no penalty."""
    alpha = 0.7
    spec = fnmlp.MLPSpec((6, 5, 4), ("relu", "identity"), l2=alpha)
    plain = attrs.evolve(spec, l2=0.0)
    params, state, x, labels = random_problem(spec, 13, seed=9)
    n_samples = x.shape[0]
    loss, grads, _ = fnmlp.loss_and_grads(spec, params, state, x, labels)
    base_loss, base_grads, _ = fnmlp.loss_and_grads(plain, params, state, x, labels)
    values = sum(np.dot(W.ravel(), W.ravel()) for W in params.W)
    assert loss == pytest.approx(base_loss + (0.5 * alpha) * values / n_samples, rel=1e-13)
    for W, g, g0 in zip(params.W, grads.W, base_grads.W):
        np.testing.assert_allclose(g, (g0 * n_samples + alpha * W) / n_samples, rtol=1e-12, atol=1e-15)
    for g, g0 in zip(grads.b, base_grads.b):
        np.testing.assert_array_equal(g, g0)
    assert fnmlp.check_grads(spec, params, state, x, labels).max_error < 1e-6


def test_the_spec_round_trips_dropout_loss_and_l2(tmp_path):
    spec = fnmlp.MLPSpec((6, 5, 1), ("elu", "identity"), num_bn_layers=1, dropout=(0.1, 0.4), loss="mse", l2=0.25)
    assert spec.to_dict() == {"layer_sizes": [6, 5, 1], "activations": ["elu", "identity"], "num_bn_layers": 1,
                              "bn_alpha": 0.9, "bn_eps": 1e-8, "dropout": [0.1, 0.4], "loss": "mse", "l2": 0.25}
    assert fnmlp.MLPSpec(**spec.to_dict()) == spec
    params, state = fnmlp.init_params(spec, rng=0)
    fnmlp.save_params(tmp_path / "m.npz", spec, params, state)
    loaded = fnmlp.load_params(tmp_path / "m.npz")[0]
    assert loaded == spec and loaded.loss is fnmlp.MEAN_SQUARED_ERROR and loaded.dropout == (0.1, 0.4)
    defaults = fnmlp.MLPSpec((6, 5, 1), ("elu", "identity"))
    assert defaults.dropout == (0.0, 0.0) and defaults.l2 == 0.0 and defaults.loss is fnmlp.SOFTMAX_CROSS_ENTROPY


def test_the_checked_functions_write_into_nothing_with_dropout():
    spec = dropout_spec("relu", 1, l2=0.1)
    params, state, x, labels = random_problem(spec, 6, seed=4)
    x_before = x.copy()
    fnmlp.loss_and_grads(spec, params, state, x, labels, rng=0)
    fnmlp.forward(spec, params, state, x, train=True, rng=0)
    np.testing.assert_array_equal(x, x_before)
