"""Softmax cross-entropy: values, gradient, stability, label forms."""

import numpy as np
import pytest

import fnmlp


def direct_cross_entropy(logits, one_hot):
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return -(one_hot * np.log(probs)).sum(axis=1), probs


def test_agrees_with_the_direct_formula_on_moderate_logits():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 5, (20, 10))
    labels = rng.integers(0, 10, 20)
    one_hot = fnmlp.one_hot(labels, 10)
    expected, probs = direct_cross_entropy(logits, one_hot)
    for form in (labels, one_hot):
        losses, cache = fnmlp.softmax_cross_entropy(logits, form)
        assert losses.shape == (20,)
        np.testing.assert_allclose(losses, expected, rtol=1e-12)
        np.testing.assert_allclose(fnmlp.softmax_cross_entropy_grad(cache), probs - one_hot, rtol=1e-10, atol=1e-15)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(3, 4))
    labels = np.array([0, 3, 1])
    _, cache = fnmlp.softmax_cross_entropy(logits, labels)
    grad = fnmlp.softmax_cross_entropy_grad(cache)
    step = 1e-6
    for i, j in np.ndindex(logits.shape):
        plus, minus = logits.copy(), logits.copy()
        plus[i, j] += step
        minus[i, j] -= step
        numerical = (fnmlp.softmax_cross_entropy(plus, labels)[0][i]
                     - fnmlp.softmax_cross_entropy(minus, labels)[0][i]) / (2 * step)
        assert numerical == pytest.approx(grad[i, j], rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finite_and_exact_on_extreme_logits(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4 - 2.0, -1e4]], dtype=dtype)
    labels = np.array([1, 2, 0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        losses, cache = fnmlp.softmax_cross_entropy(logits, labels)
        grad = fnmlp.softmax_cross_entropy_grad(cache)
    assert losses.dtype == dtype and grad.dtype == dtype
    assert np.isfinite(losses).all() and np.isfinite(grad).all()
    np.testing.assert_allclose(losses, [2e4, np.log(3), np.log1p(np.exp(-2.0))], rtol=1e-6)
    np.testing.assert_allclose(grad[0], [1, -1, 0], atol=1e-6)
    np.testing.assert_allclose(grad[1], [1 / 3, 1 / 3, -2 / 3], rtol=1e-6)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        naive, _ = direct_cross_entropy(logits.astype(np.float64), fnmlp.one_hot(labels, 3))
    assert not np.isfinite(naive).all(), "the direct formula overflows here; that is the point"


def test_one_hot_round_trip_and_checks():
    labels = np.array([2, 0, 1])
    one_hot = fnmlp.one_hot(labels, 3)
    np.testing.assert_array_equal(one_hot, np.eye(3)[labels])
    np.testing.assert_array_equal(fnmlp.class_indices(one_hot, 3), labels)
    with pytest.raises(ValueError, match="^labels: expected class indices in 0..2"):
        fnmlp.one_hot([0, 3], 3)
    with pytest.raises(ValueError, match="^labels: expected one-hot rows"):
        fnmlp.class_indices(np.array([[1.0, 1.0, 0.0]]), 3)
    with pytest.raises(ValueError, match="NaN or infinity"):
        fnmlp.class_indices(np.array([[np.nan, 1.0, 0.0]]), 3)
    with pytest.raises(ValueError, match="^labels: expected 3 rows, as many as logits"):
        fnmlp.softmax_cross_entropy(np.zeros((3, 3)), [0, 1])


def test_log_softmax_is_minus_the_loss_at_each_class_and_checks_its_input():
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 5, (6, 4))
    result = fnmlp.log_softmax(logits)
    for label in range(4):
        losses, _ = fnmlp.softmax_cross_entropy(logits, np.full(6, label))
        np.testing.assert_allclose(-result[:, label], losses, rtol=1e-12)
    np.testing.assert_allclose(fnmlp.log_softmax([[1, 2, 3]]), fnmlp.log_softmax(np.array([[1.0, 2.0, 3.0]])), rtol=0)
    with pytest.raises(ValueError, match=r"^logits: expected a 2-D array, got shape \(3,\)"):
        fnmlp.log_softmax(np.zeros(3))
    with pytest.raises(ValueError, match="^logits: expected finite values, got NaN or infinity"):
        fnmlp.log_softmax([[0.0, np.nan]])
