"""Mean squared error and R^2: values against the formulas written out, targets, gradients, and a
regression network that fits sin on [-3, 3]."""

import attrs
import numpy as np
import pytest

import fnmlp
from helpers import random_problem, reference_mean_loss


def torch_mse_mean(outputs, targets):
    """torch.nn.MSELoss(reduction="mean"): the mean over every element of the squared difference."""
    return ((outputs - targets) ** 2).sum() / outputs.size


def sklearn_r2(y_true, y_pred):
    """scikit-learn's r2_score(multioutput="uniform_average", force_finite=True), written out."""
    scores = []
    for j in range(y_true.shape[1]):
        numerator = ((y_true[:, j] - y_pred[:, j]) ** 2).sum()
        denominator = ((y_true[:, j] - y_true[:, j].mean()) ** 2).sum()
        if denominator != 0:
            scores.append(1 - numerator / denominator)
        else:
            scores.append(1.0 if numerator == 0 else 0.0)
    return float(np.mean(scores))


def test_mse_values_and_gradients_follow_the_torch_convention():
    rng = np.random.default_rng(0)
    outputs, targets = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    losses, cache = fnmlp.mean_squared_error(outputs, targets)
    np.testing.assert_allclose(losses, ((outputs - targets) ** 2).mean(axis=1), rtol=1e-14)
    assert losses.mean() == pytest.approx(torch_mse_mean(outputs, targets), rel=1e-14)
    np.testing.assert_allclose(fnmlp.mean_squared_error_grad(cache), 2 * (outputs - targets) / 3, rtol=1e-14)
    loss_sum, dout = fnmlp.MEAN_SQUARED_ERROR.fused(outputs, targets, 0.5)
    assert loss_sum == pytest.approx(losses.sum(), rel=1e-14)
    np.testing.assert_allclose(dout, 0.5 * 2 * (outputs - targets) / outputs.size, rtol=1e-14)
    report = fnmlp.check_loss("mse")
    assert report.errors["grad"] < 1e-6
    assert fnmlp.check_loss(fnmlp.SOFTMAX_CROSS_ENTROPY).errors["grad"] < 1e-6


def test_r2_from_batch_totals_equals_the_whole_data_s_r2():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(50, 2)) * [1.0, 5.0] + [0.0, 3.0]
    pred = y + rng.normal(scale=[0.3, 2.0], size=(50, 2))
    loss = fnmlp.MEAN_SQUARED_ERROR
    totals = sum(loss.metric_totals(pred[i:i + 16], y[i:i + 16]) for i in range(0, 50, 16))
    assert loss.metric(totals) == pytest.approx(sklearn_r2(y, pred), rel=1e-12)
    assert loss.metric_name == "r2" and loss.greater_is_better
    constant = np.ones((4, 1))
    assert loss.metric(loss.metric_totals(constant, constant)) == 1.0 == sklearn_r2(constant, constant)
    assert loss.metric(loss.metric_totals(constant * 2, constant)) == 0.0 == sklearn_r2(constant, constant * 2)
    ce = fnmlp.SOFTMAX_CROSS_ENTROPY
    logits = rng.normal(size=(10, 3))
    labels = rng.integers(0, 3, 10)
    wrong = np.count_nonzero(logits.argmax(axis=1) != labels)
    assert ce.metric(ce.metric_totals(logits[:4], labels[:4]) + ce.metric_totals(logits[4:], labels[4:])) == wrong / 10


def test_regression_targets_are_checked():
    spec = fnmlp.MLPSpec((3, 4, 2), ("tanh", "identity"), loss="mse")
    params, state = fnmlp.init_params(spec, rng=0)
    x = np.ones((5, 3))
    cases = [
        (np.ones((5, 3)), ValueError, r"^targets: expected float targets of shape \(batch, 2\), got shape \(5, 3\)"),
        (np.ones(5), ValueError, r"^targets: expected float targets of shape \(batch, 2\), got shape \(5,\)"),
        (np.ones((4, 2)), ValueError, "^targets: expected 5 rows, as many as x, got 4"),
        (np.full((5, 2), np.nan), ValueError, "^targets: expected finite values"),
        (np.full((5, 2), "a"), TypeError, "^targets: expected an array of real numbers"),
    ]
    for targets, error, message in cases:
        with pytest.raises(error, match=message):
            fnmlp.loss_and_grads(spec, params, state, x, targets)
    one = fnmlp.MLPSpec((3, 1), ("identity",), loss="mse")
    p1, s1 = fnmlp.init_params(one, rng=0)
    a = fnmlp.loss_and_grads(one, p1, s1, x, np.arange(5.0))
    b = fnmlp.loss_and_grads(one, p1, s1, x, np.arange(5.0)[:, None])
    assert a[0] == b[0] and fnmlp.tree_allclose(a[1], b[1], rtol=0, atol=0)
    f32 = fnmlp.loss_and_grads(one, fnmlp.astype(p1, np.float32), s1, x.astype(np.float32), np.arange(5.0))
    assert {g.dtype for g in fnmlp.tree_leaves(f32[1])} == {np.dtype(np.float32)}


@pytest.mark.parametrize("activation, num_bn, outputs", [("tanh", 0, 1), ("softplus", 1, 3), ("relu", 2, 2)])
def test_mse_network_gradients_pass_the_checker_and_the_reference(activation, num_bn, outputs):
    spec = fnmlp.MLPSpec((4, 6, 5, outputs), (activation, activation, "identity"), num_bn_layers=num_bn, loss="mse",
                         l2=0.05)
    params, state, x, _ = random_problem(spec, 10, seed=12)
    targets = np.random.default_rng(2).normal(size=(10, outputs))
    loss, grads, _ = fnmlp.loss_and_grads(spec, params, state, x, targets)
    assert loss == pytest.approx(reference_mean_loss(spec, params, state, x, targets), rel=1e-12)
    assert fnmlp.check_grads(spec, params, state, x, targets).max_error < 1e-6
    assert fnmlp.check_grads(spec, params, state, x, targets, train=False).max_error < 1e-6


def test_a_regression_network_fits_sin_through_the_functional_api():
    x = np.linspace(-3, 3, 200)[:, None]
    y = np.sin(x)
    spec = fnmlp.MLPSpec((1, 32, 32, 1), ("tanh", "tanh", "identity"), loss="mse")
    params, bn_state = fnmlp.init_params(spec, rng=0, weight_init="xavier")
    optimizer = fnmlp.sgd(lr=0.05, momentum=0.9)
    opt_state = optimizer.init(params)
    rng = np.random.default_rng(0)
    for epoch in range(250):
        order = rng.permutation(200)
        for begin in range(0, 200, 20):
            rows = order[begin:begin + 20]
            _, grads, bn_state = fnmlp.loss_and_grads(spec, params, bn_state, x[rows], y[rows])
            params, opt_state = optimizer.update(grads, opt_state, params)
    prediction = fnmlp.predict(spec, params, bn_state, x)
    mse = torch_mse_mean(prediction, y)
    assert mse < 1e-3, mse
    loss_sum, totals = fnmlp.model.kernels.eval_totals(spec, params, bn_state, x, y)
    assert loss_sum / 200 == pytest.approx(mse, rel=1e-10)
    assert spec.loss.metric(totals) == pytest.approx(sklearn_r2(y, prediction), rel=1e-10)
    assert spec.loss.metric(totals) > 0.998


def test_check_loss_catches_a_wrong_gradient_and_a_fused_form_that_disagrees():
    mse = fnmlp.MEAN_SQUARED_ERROR
    halved = attrs.evolve(mse, name="halved_grad", grad=lambda cache: cache.diff / cache.diff.shape[1])
    with pytest.raises(AssertionError, match=r"^loss 'halved_grad' grad at \(\d+, \d+\): analytic gradient"):
        fnmlp.check_loss(halved)
    unfused = attrs.evolve(mse, name="unfused", fused=None)
    assert fnmlp.check_loss(unfused).errors["fused"] < 1e-12  # the default fused form, from value and grad
    off = attrs.evolve(mse, name="off", fused=lambda o, t, scale=1.0: (1.0, np.zeros_like(o)))
    with pytest.raises(AssertionError, match="^loss 'off' fused: sum 1.0"):
        fnmlp.check_loss(off)
