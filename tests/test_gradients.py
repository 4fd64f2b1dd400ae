"""Every backward pass against central finite differences of an independent reference, in float64."""

import itertools
import zlib

import numpy as np
import pytest

import fnmlp
from helpers import (numerical_grad, random_problem, reference_mean_loss, relative_error, replace_leaf,
                     sample_coords)

ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu")
TINY_GRADIENT = 1e-4  # an array whose gradients are all smaller is checked absolutely (check_array)


def cases():
    for activation, hidden, num_bn, batch in itertools.product(ACTIVATIONS, (0, 1, 3), (0, 1, 2), (1, 2, 17)):
        if num_bn > hidden + 1 or (batch == 1 and num_bn):
            continue
        yield activation, hidden, num_bn, batch


def make_spec(activation, hidden, num_bn, input_size=6, width=5, classes=4):
    return fnmlp.MLPSpec.from_hidden_sizes(input_size, [width] * hidden, classes,
                                           activation=activation, num_bn_layers=num_bn)


def check_array(numerical, analytical):
    """Relative error below 1e-6 (error over the array's largest gradient).

    Central differences of a float64 loss near 1 carry about 2e-11 of rounding noise, so an array
    whose gradients are all below TINY_GRADIENT cannot be resolved to 1e-6 relative; it must agree
    to 1e-9 absolute instead. Such arrays are the structurally (near-)zero ones: a bias feeding
    BatchNorm, and everything before a BatchNorm over two rows, whose output is then +-1 whatever
    its input apart from eps."""
    scale = max(np.abs(numerical).max(), np.abs(analytical).max())
    if scale < TINY_GRADIENT:
        assert np.abs(numerical - analytical).max() < 1e-9
        return "tiny"
    error = relative_error(numerical, analytical)
    assert error < 1e-6, f"relative error {error:.2e}"
    return "relative"


def check_all_params(spec, params, grads, loss_of_params, rng):
    kinds = {}
    for field in ("W", "b", "gamma", "beta"):
        for layer, (array, grad) in enumerate(zip(getattr(params, field), getattr(grads, field))):
            assert grad.shape == array.shape and grad.dtype == np.float64
            coords = sample_coords(array.size, rng)
            numerical = numerical_grad(lambda a: loss_of_params(replace_leaf(params, field, layer, a)),
                                       array, coords)
            kinds[field, layer] = check_array(numerical, grad.flat[coords])
    return kinds


@pytest.mark.parametrize("activation, hidden, num_bn, batch", list(cases()))
def test_mean_loss_gradients_match_finite_differences(activation, hidden, num_bn, batch):
    spec = make_spec(activation, hidden, num_bn)
    params, state, x, labels = random_problem(spec, batch, seed=zlib.crc32(f"{activation}{hidden}{num_bn}{batch}".encode()))
    rng = np.random.default_rng(0)

    loss, grads, _ = fnmlp.loss_and_grads(spec, params, state, x, labels)
    assert loss == pytest.approx(reference_mean_loss(spec, params, state, x, labels), rel=1e-12)

    kinds = check_all_params(spec, params, grads,
                             lambda p: reference_mean_loss(spec, p, state, x, labels), rng)
    report = fnmlp.check_grads(spec, params, state, x, labels)  # the public checker, on fnmlp's own forward
    assert report.max_error < 1e-6 and sum(report.checked.values()) > 0
    last = spec.num_layers - 1
    if not (batch == 2 and num_bn == spec.num_layers):
        assert kinds["W", last] == "relative", "the output layer has a non-trivial gradient"
    assert "relative" in kinds.values()
    for layer in range(num_bn):
        if batch > 2:
            assert kinds["b", layer] == "tiny", "a bias before BatchNorm cannot change the loss"
            assert np.abs(grads.b[layer]).max() < 1e-12

    logits, cache, _ = fnmlp.forward(spec, params, state, x, train=True)
    _, loss_cache = fnmlp.softmax_cross_entropy(logits, labels)
    dlogits = fnmlp.softmax_cross_entropy_grad(loss_cache) / batch
    grads_again, dx = fnmlp.backward_with_input_grad(spec, params, cache, dlogits)
    assert fnmlp.tree_allclose(grads_again, grads, rtol=1e-12, atol=0)
    assert dx.shape == x.shape
    numerical = numerical_grad(lambda a: reference_mean_loss(spec, params, state, a, labels), x, np.arange(x.size))
    check_array(numerical, dx.ravel())


@pytest.mark.parametrize("activation, num_bn", [("sigmoid", 1), ("relu", 2), ("tanh", 2)])
def test_eval_mode_gradients_use_running_statistics(activation, num_bn):
    spec = make_spec(activation, 3, num_bn)
    params, state, x, labels = random_problem(spec, 9, seed=7)
    logits, cache, new_state = fnmlp.forward(spec, params, state, x, train=False)
    assert new_state is state
    _, loss_cache = fnmlp.softmax_cross_entropy(logits, labels)
    grads, dx = fnmlp.backward_with_input_grad(spec, params, cache, fnmlp.softmax_cross_entropy_grad(loss_cache) / 9)

    def loss_of(p):
        return reference_mean_loss(spec, p, state, x, labels, train=False)

    kinds = check_all_params(spec, params, grads, loss_of, np.random.default_rng(1))
    assert set(kinds.values()) == {"relative"}, "in eval mode every parameter matters"
    numerical = numerical_grad(lambda a: reference_mean_loss(spec, params, state, a, labels, train=False),
                               x, np.arange(x.size))
    check_array(numerical, dx.ravel())


def test_backward_is_linear_in_dlogits():
    spec = make_spec("tanh", 2, 1)
    params, state, x, _ = random_problem(spec, 5, seed=3)
    _, cache, _ = fnmlp.forward(spec, params, state, x, train=True)
    rng = np.random.default_rng(2)
    d1, d2 = rng.standard_normal((2, 5, 4))
    g1, g2, g12 = (fnmlp.backward(spec, params, cache, d) for d in (d1, d2, 2 * d1 - 3 * d2))
    combined = fnmlp.tree_map(lambda a, b: 2 * a - 3 * b, g1, g2)
    assert fnmlp.tree_allclose(g12, combined, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_handout_sized_network_random_coordinates_and_direction(activation):
    """784-64-32-10 with BatchNorm: 300 random coordinates of each large matrix, and the directional
    derivative along one random direction through every parameter at once."""
    spec = fnmlp.MLPSpec.from_hidden_sizes(784, [64, 32], 10, activation=activation, num_bn_layers=1)
    params, state, x, labels = random_problem(spec, 17, seed=11)
    _, grads, _ = fnmlp.loss_and_grads(spec, params, state, x, labels)
    kinds = check_all_params(spec, params, grads, lambda p: reference_mean_loss(spec, p, state, x, labels),
                             np.random.default_rng(5))
    assert kinds["W", 0] == "relative"

    rng = np.random.default_rng(6)
    direction = fnmlp.tree_map(lambda a: rng.standard_normal(a.shape), params)
    step = 1e-5
    shifted = [fnmlp.tree_map(lambda p, d, s=s: p + s * step * d, params, direction) for s in (1, -1)]
    numerical = (reference_mean_loss(spec, shifted[0], state, x, labels)
                 - reference_mean_loss(spec, shifted[1], state, x, labels)) / (2 * step)
    analytical = sum(np.vdot(g, d) for g, d in zip(fnmlp.tree_leaves(grads), fnmlp.tree_leaves(direction)))
    assert abs(numerical - analytical) / abs(analytical) < 1e-6


def test_float32_gradients_follow_float64_ones():
    spec = make_spec("sigmoid", 3, 2)
    params, state, x, labels = random_problem(spec, 17, seed=4)
    loss64, grads64, state64 = fnmlp.loss_and_grads(spec, params, state, x, labels)
    params32, state32 = fnmlp.astype(params, np.float32), fnmlp.astype(state, np.float32)
    loss32, grads32, new_state32 = fnmlp.loss_and_grads(spec, params32, state32, x.astype(np.float32), labels)
    assert {a.dtype for a in fnmlp.tree_leaves(grads32)} == {np.dtype(np.float32)}
    assert {a.dtype for a in fnmlp.tree_leaves(new_state32)} == {np.dtype(np.float32)}
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    assert fnmlp.tree_allclose(grads32, grads64, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("activation", ["leaky_relu", "elu", "gelu", "softplus", "silu", "linear"])
@pytest.mark.parametrize("num_bn, batch", [(0, 1), (1, 17), (2, 5)])
def test_new_activations_gradients_match_the_reference_and_the_checker(activation, num_bn, batch):
    spec = make_spec(activation, 2, num_bn)
    params, state, x, labels = random_problem(spec, batch, seed=zlib.crc32(f"{activation}{num_bn}{batch}".encode()))
    loss, grads, _ = fnmlp.loss_and_grads(spec, params, state, x, labels)
    assert loss == pytest.approx(reference_mean_loss(spec, params, state, x, labels), rel=1e-12)
    kinds = check_all_params(spec, params, grads, lambda p: reference_mean_loss(spec, p, state, x, labels),
                             np.random.default_rng(0))
    assert kinds["W", spec.num_layers - 1] == "relative"
    for train in (True, False):
        assert fnmlp.check_grads(spec, params, state, x, labels, train=train).max_error < 1e-6


def test_the_checker_samples_large_arrays_and_checks_a_random_direction():
    spec = fnmlp.MLPSpec.from_hidden_sizes(784, [64, 32], 10, activation="gelu", num_bn_layers=1)
    params, state, x, labels = random_problem(spec, 17, seed=11)
    report = fnmlp.check_grads(spec, params, state, x, labels, max_coords=50)
    assert report.checked["params.W[0]"] == 50 and report.checked["params.b[2]"] == 10
    assert report.checked["direction"] == 1 and report.errors["direction"] < 1e-6
    assert report.max_error < 1e-6


def test_the_checker_skips_coordinates_that_would_cross_a_relu_kink():
    spec = fnmlp.MLPSpec((2, 3, 2), ("relu", "identity"))
    params = fnmlp.Params(W=[np.array([[1.0, -1.0, 0.5], [0.0, 1.0, 1.0]]), np.ones((3, 2))], b=[np.zeros(3), np.zeros(2)])
    x = np.array([[1e-7, 1.0], [1.0, 2.0]])  # the first row's first unit sits 1e-7 from the kink
    report = fnmlp.check_grads(spec, params, fnmlp.BatchNormState(), x, np.array([0, 1]))
    assert report.skipped["params.W[0]"] >= 1 and report.skipped["x"] >= 1
    assert report.max_error < 1e-6
