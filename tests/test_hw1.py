"""The handout adapter ``fnmlp.hw1``, driven as the 11-785 autograder drives it.

Expected values come from the test's own computations: weights drawn here from the seeded global
generator, ``helpers.reference_forward`` and finite differences of ``helpers.reference_mean_loss``,
direct NumPy formulas, hand-rolled SGD loops, and the pure core the adapter wraps.
"""

import copy

import numpy as np
import pytest

import fnmlp
import fnmlp.hw1 as hw1
from helpers import (numerical_grad, reference_activation, reference_forward, reference_mean_loss, replace_leaf,
                     sample_coords)

SEED = 11785
TINY_GRADIENT = 1e-4


def weight_init(x, y):
    return np.random.randn(x, y)


def bias_init(x):
    return np.zeros((1, x))


NETWORKS = {  # name: (hiddens, activation classes, num_bn_layers)
    "linear": ([], [hw1.Identity], 0),
    "one hidden": ([32], [hw1.Sigmoid, hw1.Identity], 0),
    "64-32": ([64, 32], [hw1.Sigmoid, hw1.Sigmoid, hw1.Identity], 0),
    "five hidden": ([32] * 5, [hw1.Sigmoid] * 5 + [hw1.Identity], 0),
    "tanh": ([64, 32], [hw1.Tanh, hw1.Tanh, hw1.Identity], 0),
    "relu": ([64, 32], [hw1.ReLU, hw1.ReLU, hw1.Identity], 0),
    "batchnorm 1": ([64, 32], [hw1.Sigmoid, hw1.Sigmoid, hw1.Identity], 1),
    "batchnorm 2": ([64, 32], [hw1.Sigmoid, hw1.Sigmoid, hw1.Identity], 2),
}


def handout_mlp(name, lr=0.008, momentum=0.0, seed=SEED):
    hiddens, classes, num_bn = NETWORKS[name]
    np.random.seed(seed)
    return hw1.MLP(784, 10, hiddens, [cls() for cls in classes], weight_init, bias_init, hw1.SoftmaxCrossEntropy(),
                   lr, momentum=momentum, num_bn_layers=num_bn)


def handout_spec(name):
    hiddens, classes, num_bn = NETWORKS[name]
    return fnmlp.MLPSpec((784, *hiddens, 10), [cls.name for cls in classes], num_bn)


def initial_records(spec, seed=SEED):
    """What the handout's constructor must build, drawn here: weights in layer order from the
    seeded global generator, zero biases, BatchNorm at gamma 1, beta 0, running mean 0, var 1."""
    np.random.seed(seed)
    pairs = list(zip(spec.layer_sizes[:-1], spec.layer_sizes[1:]))
    params = fnmlp.Params(W=[np.random.randn(m, n) for m, n in pairs], b=[np.zeros(n) for _, n in pairs],
                          gamma=[np.ones(n) for n in spec.bn_widths], beta=[np.zeros(n) for n in spec.bn_widths])
    state = fnmlp.BatchNormState([np.zeros(n) for n in spec.bn_widths], [np.ones(n) for n in spec.bn_widths])
    return params, state


def autograder_data(batch, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, batch)
    return rng.standard_normal((batch, 784)), np.eye(10)[labels], labels


def assert_array(value, expected, rtol=1e-10, atol=1e-12):
    """The autograder's closeness test, tighter: an ndarray of the same dtype and shape, close values."""
    expected = np.asarray(expected)
    assert isinstance(value, np.ndarray)
    assert value.dtype == expected.dtype and value.shape == expected.shape, (value.dtype, value.shape, expected.shape)
    np.testing.assert_allclose(value, expected, rtol=rtol, atol=atol)


def assert_finite_differences(analytical, loss_of, array, rng, count=5, scale=1.0):
    """``analytical`` against central differences of ``loss_of`` (times ``scale``) at ``count`` random
    coordinates of ``array``: relative error below 1e-6, or absolute below 1e-9 where every gradient is
    below TINY_GRADIENT (saturated units). Returns which kind of check it was."""
    coords = sample_coords(array.size, rng, at_most=count)
    numerical = scale * numerical_grad(loss_of, array, coords)
    ours = analytical.ravel()[coords]
    largest = max(np.abs(numerical).max(), np.abs(ours).max())
    if largest < TINY_GRADIENT * scale:
        assert np.abs(numerical - ours).max() < 1e-9 * scale
        return "tiny"
    assert np.abs(numerical - ours).max() / largest < 1e-6
    return "relative"


def row(vector):
    return np.asarray(vector)[None, :]


@pytest.mark.parametrize("name", NETWORKS)
def test_one_training_pass_exposes_what_the_reference_computes(name):
    spec = handout_spec(name)
    params, state = initial_records(spec)
    mlp = handout_mlp(name)
    x, y, labels = autograder_data(20, seed=len(name))
    batch = x.shape[0]

    for ours, expected in zip(mlp.W, params.W):
        assert_array(ours, expected, rtol=0, atol=0)
    for ours, expected in zip(mlp.b, params.b):
        assert_array(ours, row(expected), rtol=0, atol=0)
    assert mlp.nlayers == spec.num_layers and mlp.num_bn_layers == spec.num_bn_layers
    assert mlp.bn == (spec.num_bn_layers > 0) and mlp.train_mode is True
    assert (mlp.bn_layers is None) == (spec.num_bn_layers == 0)

    logits = mlp.forward(x)
    mlp.backward(y)

    expected_logits, pre, means, variances = reference_forward(spec, params, state, x, train=True)
    assert_array(logits, expected_logits)
    for activation, z, act_name in zip(mlp.activations, pre, spec.activations):
        assert_array(activation.state, reference_activation(act_name, z))
    a = x
    for i, layer in enumerate(mlp.bn_layers or []):
        z = a @ params.W[i] + params.b[i]
        mean, var = z.mean(axis=0, keepdims=True), z.var(axis=0, keepdims=True)
        norm = (z - mean) / np.sqrt(var + 1e-8)
        assert_array(layer.x, z)
        assert_array(layer.mean, mean)
        assert_array(layer.var, var)
        assert_array(layer.norm, norm, atol=1e-10)
        assert_array(layer.out, pre[i])
        assert_array(layer.running_mean, 0.1 * mean)
        assert_array(layer.running_var, 0.9 + 0.1 * var)
        assert_array(layer.running_mean, row(means[i]))
        assert_array(layer.gamma, np.ones((1, z.shape[1])), rtol=0, atol=0)
        a = reference_activation(spec.activations[i], pre[i])

    shifted = expected_logits - expected_logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    softmax = np.exp(log_softmax)
    assert_array(mlp.criterion.loss, -log_softmax[np.arange(batch), labels])
    assert_array(mlp.criterion.sm, softmax)
    assert_array(mlp.criterion.derivative(), softmax - y)
    assert mlp.criterion.logits is logits and mlp.criterion.labels is y

    mean_loss, core_grads, _ = fnmlp.loss_and_grads(spec, params, state, x, labels)
    assert mlp.criterion.loss.mean() == pytest.approx(mean_loss, rel=1e-12)
    rng = np.random.default_rng(1)
    kinds = {}
    for field, exposed, scale in (("W", mlp.dW, 1), ("b", mlp.db, 1),
                                  ("gamma", [layer.dgamma for layer in mlp.bn_layers or []], batch),
                                  ("beta", [layer.dbeta for layer in mlp.bn_layers or []], batch)):
        assert len(exposed) == len(getattr(params, field))
        for i, (grad, param, core_grad) in enumerate(zip(exposed, getattr(params, field), getattr(core_grads, field))):
            assert_array(grad, scale * core_grad, rtol=1e-10, atol=1e-14)
            assert grad.shape == param.shape, "dW[i] is W[i]'s shape; db, dgamma and dbeta are 1-D"
            kinds[field, i] = assert_finite_differences(
                grad, lambda p: reference_mean_loss(spec, replace_leaf(params, field, i, p), state, x, labels),
                param, rng, scale=scale)
    before_batchnorm = {("b", i) for i in range(spec.num_bn_layers)}
    assert {key for key, kind in kinds.items() if kind == "tiny"} == before_batchnorm, \
        "only a bias feeding BatchNorm has no effect on the loss; every other check is a relative one"


def test_five_momentum_steps_follow_a_hand_rolled_loop_over_the_handout_gradients():
    name, lr, momentum = "batchnorm 1", 0.008, 0.856
    spec = handout_spec(name)
    params, state = initial_records(spec)
    mlp = handout_mlp(name, lr=lr, momentum=momentum)
    x, y, labels = autograder_data(100, seed=3)
    p = {field: [np.array(a) for a in getattr(params, field)] for field in ("W", "b", "gamma", "beta")}
    v = {field: [np.zeros_like(a) for a in arrays] for field, arrays in p.items()}
    for _ in range(5):
        mlp.zero_grads()
        mlp.forward(x)
        mlp.backward(y)
        mlp.step()
        current = fnmlp.Params(**p)
        _, grads, state = fnmlp.loss_and_grads(spec, current, state, x, labels)
        for field, scale in (("W", 1), ("b", 1), ("gamma", 100), ("beta", 100)):
            for i, g in enumerate(getattr(grads, field)):
                v[field][i] = momentum * v[field][i] - lr * scale * g
                p[field][i] = p[field][i] + v[field][i]
    for i in range(spec.num_layers):
        assert_array(mlp.W[i], p["W"][i], rtol=1e-9)
        assert_array(mlp.b[i], row(p["b"][i]), rtol=1e-9)
    layer = mlp.bn_layers[0]
    assert_array(layer.gamma, row(p["gamma"][0]), rtol=1e-9)
    assert_array(layer.beta, row(p["beta"][0]), rtol=1e-9)
    assert_array(layer.dgamma, 100 * grads.gamma[0], rtol=1e-9)
    assert_array(layer.running_mean, row(state.running_mean[0]), rtol=1e-9)
    assert_array(layer.running_var, row(state.running_var[0]), rtol=1e-9)
    assert not np.allclose(layer.gamma, 1.0), "BatchNorm's parameters must move too"


def test_one_step_then_eval_forward_in_batches_uses_running_statistics():
    name, lr = "batchnorm 1", 0.008
    spec = handout_spec(name)
    params, state = initial_records(spec)
    mlp = handout_mlp(name, lr=lr)
    x, y, labels = autograder_data(100, seed=4)
    xs = autograder_data(1000, seed=5)[0]

    mlp.train()
    mlp.zero_grads()
    mlp.forward(x)
    mlp.backward(y)
    mlp.step()
    _, grads, state = fnmlp.loss_and_grads(spec, params, state, x, labels)
    stepped = fnmlp.Params(W=[w - lr * g for w, g in zip(params.W, grads.W)],
                           b=[b - lr * g for b, g in zip(params.b, grads.b)],
                           gamma=[c - lr * 100 * g for c, g in zip(params.gamma, grads.gamma)],
                           beta=[c - lr * 100 * g for c, g in zip(params.beta, grads.beta)])
    assert_array(mlp.bn_layers[0].dbeta, 100 * grads.beta[0])
    assert_array(mlp.bn_layers[0].dgamma, 100 * grads.gamma[0])

    running = (mlp.bn_layers[0].running_mean.copy(), mlp.bn_layers[0].running_var.copy())
    for begin in range(0, 1000, 100):
        mlp.eval()
        logits = mlp.forward(xs[begin:begin + 100])
        expected, pre, _, _ = reference_forward(spec, stepped, state, xs[begin:begin + 100], train=False)
        assert_array(logits, expected, rtol=1e-9, atol=1e-10)
        layer = mlp.bn_layers[0]
        assert_array(layer.mean, running[0], rtol=0, atol=0)
        assert_array(layer.var, running[1], rtol=0, atol=0)
        assert_array(layer.out, pre[0], rtol=1e-9, atol=1e-10)
    assert_array(mlp.bn_layers[0].running_mean, running[0], rtol=0, atol=0)
    assert_array(mlp.bn_layers[0].running_var, running[1], rtol=0, atol=0)
    assert_array(running[0], row(state.running_mean[0]))


def test_get_training_stats_equals_fit_from_the_same_seed():
    """The adapter and ``fit`` make the same draws from the same stream: the handout's global
    generator after the constructor's weight draws is ``init_params``' RandomState after its draws."""
    rng_data = np.random.default_rng(6)
    x = rng_data.standard_normal((260, 784))
    classes = (x @ rng_data.standard_normal((784, 10))).argmax(axis=1)
    y = np.eye(10)[classes]
    train, val = (x[:200], y[:200]), (x[200:], y[200:])
    seed, lr, momentum = 123, 0.01, 0.856

    np.random.seed(seed)
    mlp = hw1.MLP(784, 10, [32], [hw1.Tanh(), hw1.Identity()], hw1.random_normal_weight_init, hw1.zeros_bias_init,
                  hw1.SoftmaxCrossEntropy(), lr, momentum=momentum)
    stats = hw1.get_training_stats(mlp, (train, val, val), 3, 20)

    spec = fnmlp.MLPSpec((784, 32, 10), ("tanh", "identity"))
    rng = np.random.RandomState(seed)
    params, state = fnmlp.init_params(spec, rng)
    result = fnmlp.fit(spec, params, state, fnmlp.sgd(lr, momentum), (x[:200], classes[:200]),
                       (x[200:], classes[200:]), epochs=3, batch_size=20, rng=rng)

    for ours, field in zip(stats, ("train_loss", "train_error", "val_loss", "val_error")):
        assert_array(ours, np.array([getattr(s, field) for s in result.history]), rtol=1e-12, atol=0)
    for i in range(2):
        assert_array(mlp.W[i], result.params.W[i], rtol=1e-12, atol=1e-14)
        assert_array(mlp.b[i], row(result.params.b[i]), rtol=1e-12, atol=1e-14)
    assert np.array_equal(np.random.randn(5), result.final.rng.randn(5)), "the streams must have made the same draws"
    assert mlp.train_mode is False, "validation ran last, in eval mode"


def test_get_training_stats_returns_falling_losses_per_epoch():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((500, 784))
    y = np.eye(10)[(x[:, :20] @ rng.standard_normal((20, 10))).argmax(axis=1)]
    np.random.seed(SEED)
    mlp = hw1.MLP(784, 10, [32], [hw1.Sigmoid(), hw1.Identity()], lambda m, n: np.random.randn(m, n) / np.sqrt(m),
                  bias_init, hw1.SoftmaxCrossEntropy(), 0.05, momentum=0.9, num_bn_layers=1)
    stats = hw1.get_training_stats(mlp, ((x[:400], y[:400]), (x[400:], y[400:]), (x[400:], y[400:])), 4, 20)
    assert isinstance(stats, tuple) and len(stats) == 4
    train_loss, train_error, val_loss, val_error = stats
    for array in stats:
        assert isinstance(array, np.ndarray) and array.shape == (4,) and array.dtype == np.float64
    assert np.all(np.diff(train_loss) < 0) and val_loss[-1] < val_loss[0]
    assert train_error[-1] < train_error[0] and ((0 <= val_error) & (val_error <= 1)).all()
    assert val_error[-1] == np.mean(mlp.forward(x[400:]).argmax(axis=1) != y[400:].argmax(axis=1))


def test_activations_alone():
    x = np.array([[-800.0, -2.0, 0.0, 0.5, 3.0, 800.0]])
    with np.errstate(over="ignore"):
        sigmoid = 1 / (1 + np.exp(-x))
    cases = [(hw1.Sigmoid(), sigmoid, sigmoid * (1 - sigmoid)),
             (hw1.Tanh(), np.tanh(x), 1 - np.tanh(x) ** 2),
             (hw1.ReLU(), np.where(x > 0, x, 0.0), np.array([[0.0, 0.0, 0.0, 1.0, 1.0, 1.0]])),
             (hw1.Identity(), x, None)]
    for activation, out, derivative in cases:
        assert activation.state is None
        assert_array(activation(x), out, rtol=1e-15, atol=0)
        assert_array(activation.state, out, rtol=1e-15, atol=0)
        assert_array(activation.forward(x.astype(np.float32)), out.astype(np.float32), rtol=1e-6, atol=0)
        activation.forward(x)
        if derivative is not None:
            assert_array(activation.derivative(), derivative, rtol=1e-15, atol=0)
    assert hw1.Identity().derivative() == 1.0
    assert hw1.ReLU()(np.array([[-0.0, 0.0]])).tolist() == [[0.0, 0.0]]
    with pytest.raises(NotImplementedError):
        hw1.Activation()(x)


def test_softmax_cross_entropy_alone():
    x = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    y = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    ce = hw1.SoftmaxCrossEntropy()
    loss = ce(x, y)
    expected_sm = np.array([[1.0, np.exp(-1000.0), 0.0], np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()])
    assert_array(loss, np.array([1000.0, -np.log(expected_sm[1, 2])]), rtol=1e-15)
    assert_array(ce.sm, expected_sm, rtol=1e-15, atol=1e-300)
    assert_array(ce.derivative(), expected_sm - y, rtol=1e-15, atol=1e-300)
    assert ce.logits is x and ce.labels is y and ce.loss is loss
    assert_array(ce.forward(x[1:], y[1:]), loss[1:], rtol=0, atol=0)


def test_batchnorm_alone_in_both_modes():
    rng = np.random.default_rng(8)
    bn = hw1.BatchNorm(4, alpha=0.75)
    bn.gamma, bn.beta = rng.uniform(0.5, 2, (1, 4)), rng.uniform(-1, 1, (1, 4))
    x = 3 + 2 * rng.standard_normal((6, 4))
    out = bn(x)
    mean, var = x.mean(axis=0, keepdims=True), x.var(axis=0, keepdims=True)
    norm = (x - mean) / np.sqrt(var + 1e-8)
    assert_array(out, bn.gamma * norm + bn.beta)
    assert bn.out is out and bn.x is x
    for attribute, expected in (("mean", mean), ("var", var), ("norm", norm), ("running_mean", 0.25 * mean),
                                ("running_var", 0.75 + 0.25 * var)):
        assert_array(getattr(bn, attribute), expected)

    delta = rng.standard_normal((6, 4))
    dx = bn.backward(delta)
    assert_array(bn.dbeta, delta.sum(axis=0))
    assert_array(bn.dgamma, (delta * norm).sum(axis=0))

    def summed(z):
        z_mean, z_var = z.mean(axis=0), z.var(axis=0)
        return np.sum(delta * (bn.gamma * (z - z_mean) / np.sqrt(z_var + 1e-8) + bn.beta))

    numerical = numerical_grad(summed, x, np.arange(x.size)).reshape(x.shape)
    assert_array(dx, numerical, rtol=1e-6, atol=1e-8)

    running = (bn.running_mean.copy(), bn.running_var.copy())
    x_eval = rng.standard_normal((3, 4))
    out = bn(x_eval, eval=True)
    assert_array(out, bn.gamma * (x_eval - running[0]) / np.sqrt(running[1] + 1e-8) + bn.beta)
    assert_array(bn.running_mean, running[0], rtol=0, atol=0)
    assert_array(bn.running_var, running[1], rtol=0, atol=0)
    assert_array(bn.mean, running[0], rtol=0, atol=0)
    assert_array(bn.backward(delta[:3]), delta[:3] * bn.gamma / np.sqrt(running[1] + 1e-8))


def test_zero_grads_gives_zeros_of_the_gradients_shapes():
    mlp, x, y = trained_once()
    shapes = [a.shape for a in [*mlp.dW, *mlp.db]] + [a.shape for l in mlp.bn_layers for a in (l.dgamma, l.dbeta)]
    assert shapes == [(784, 64), (64, 32), (32, 10), (64,), (32,), (10,), (64,), (64,), (32,), (32,)]
    mlp.zero_grads()
    zeros = [*mlp.dW, *mlp.db] + [a for layer in mlp.bn_layers for a in (layer.dgamma, layer.dbeta)]
    for array, shape in zip(zeros, shapes):
        assert_array(array, np.zeros(shape), rtol=0, atol=0)
    before = [w.copy() for w in mlp.W]
    mlp.step()
    assert all(not np.array_equal(w, old) for w, old in zip(mlp.W, before)), "momentum carries on without gradients"


def test_initialisers_and_exports():
    np.random.seed(5)
    expected = np.random.randn(3, 4)
    np.random.seed(5)
    assert_array(hw1.random_normal_weight_init(3, 4), expected, rtol=0, atol=0)
    assert_array(hw1.zeros_bias_init(5), np.zeros((1, 5)), rtol=0, atol=0)
    assert set(hw1.__all__) == {"Activation", "Identity", "Sigmoid", "Tanh", "ReLU", "Criterion",
                                "SoftmaxCrossEntropy", "BatchNorm", "MLP", "random_normal_weight_init",
                                "zeros_bias_init", "get_training_stats"}
    assert all(hasattr(hw1, name) for name in hw1.__all__)
    assert fnmlp.hw1 is hw1


def test_float32_input_keeps_float32_outputs_and_gradients():
    mlp = handout_mlp("batchnorm 1")
    x, y, labels = autograder_data(20, seed=9)
    logits = mlp.forward(x.astype(np.float32))
    mlp.backward(y)
    exposed = [logits, mlp.criterion.loss, mlp.criterion.sm, *mlp.dW, *mlp.db, mlp.bn_layers[0].dgamma,
               mlp.bn_layers[0].norm, mlp.bn_layers[0].mean] + [a.state for a in mlp.activations]
    assert {a.dtype for a in exposed} == {np.dtype(np.float32)}
    mlp64 = handout_mlp("batchnorm 1")
    np.testing.assert_allclose(logits, mlp64.forward(x), rtol=1e-4, atol=1e-4)


def exposed(mlp):
    """A deep copy of everything the MLP exposes."""
    names = ("W", "b", "dW", "db", "train_mode", "lr", "momentum", "nlayers", "num_bn_layers")
    snapshot = {name: copy.deepcopy(getattr(mlp, name)) for name in names}
    snapshot["states"] = [copy.deepcopy(getattr(a, "state", a)) for a in mlp.activations]
    snapshot["criterion"] = copy.deepcopy(vars(mlp.criterion))
    snapshot["bn"] = [copy.deepcopy(vars(layer)) for layer in mlp.bn_layers or []]
    return snapshot


def assert_same(before, after):
    if isinstance(before, np.ndarray):
        assert isinstance(after, np.ndarray) and before.dtype == after.dtype and before.shape == after.shape
        np.testing.assert_array_equal(before, after)
    elif isinstance(before, dict):
        assert before.keys() == after.keys()
        for key in before:
            if key != "_cache":
                assert_same(before[key], after[key])
    elif isinstance(before, (list, tuple)):
        assert len(before) == len(after)
        for b, a in zip(before, after):
            assert_same(b, a)
    else:
        assert before == after


def trained_once(name="batchnorm 2"):
    mlp = handout_mlp(name, momentum=0.5)
    x, y, _ = autograder_data(20, seed=10)
    mlp.forward(x)
    mlp.backward(y)
    mlp.step()
    mlp.forward(x)
    mlp.backward(y)
    return mlp, x, y


def test_arrays_handed_out_are_never_changed_by_later_calls():
    mlp, x, y = trained_once()
    kept = {"W": list(mlp.W), "b": list(mlp.b), "dW": list(mlp.dW), "db": list(mlp.db),
            "states": [a.state for a in mlp.activations], "sm": mlp.criterion.sm, "loss": mlp.criterion.loss,
            "bn": [{k: v for k, v in vars(layer).items() if isinstance(v, np.ndarray)} for layer in mlp.bn_layers]}
    values = copy.deepcopy(kept)
    mlp.step()
    mlp.zero_grads()
    mlp.forward(2 * x)
    mlp.backward(y[::-1])
    mlp.step()
    mlp.eval()
    mlp.forward(x)
    assert not np.array_equal(mlp.W[0], kept["W"][0]), "the step moved the weights"
    assert_same(values, kept)


@pytest.mark.parametrize("train", [True, False])
def test_arrays_handed_out_are_writable_and_share_no_memory(train):
    mlp, x, y = trained_once()
    mlp.train_mode = train
    mlp.forward(x)
    mlp.backward(y)
    arrays = {f"{name}[{i}]": a for name in ("W", "b", "dW", "db") for i, a in enumerate(getattr(mlp, name))}
    for i, layer in enumerate(mlp.bn_layers):
        for name in ("mean", "var", "gamma", "beta", "dgamma", "dbeta", "running_mean", "running_var", "norm", "x"):
            arrays[f"bn_layers[{i}].{name}"] = getattr(layer, name)
    for i, activation in enumerate(mlp.activations[:-1]):
        arrays[f"activations[{i}].state"] = activation.state
    arrays["sm"], arrays["loss"] = mlp.criterion.sm, mlp.criterion.loss
    for name, array in arrays.items():
        assert isinstance(array, np.ndarray) and array.flags.writeable, name
    names = list(arrays)
    for k, first in enumerate(names):
        for second in names[k + 1:]:
            assert not np.shares_memory(arrays[first], arrays[second]), (first, second)


def test_assignments_and_in_place_writes_take_effect():
    mlp, x, _ = trained_once()
    spec = handout_spec("batchnorm 2")

    def expected_logits(train):
        params = fnmlp.Params(W=[w.copy() for w in mlp.W], b=[b.ravel() for b in mlp.b],
                              gamma=[layer.gamma.ravel() for layer in mlp.bn_layers],
                              beta=[layer.beta.ravel() for layer in mlp.bn_layers])
        state = fnmlp.BatchNormState([layer.running_mean.ravel() for layer in mlp.bn_layers],
                                     [layer.running_var.ravel() for layer in mlp.bn_layers])
        return reference_forward(spec, params, state, x, train)[0]

    assert all(a.flags.writeable for a in [*mlp.W, *mlp.b, mlp.bn_layers[0].gamma, mlp.bn_layers[1].running_var])
    trained_w0 = mlp.W[0].copy()
    mlp.W[0][...] = 0.0
    mlp.b[0] += 0.5
    mlp.bn_layers[1].gamma[...] = 2.0
    mlp.eval()
    mlp.bn_layers[0].running_var[...] = 4.0
    assert_array(mlp.forward(x), expected_logits(train=False))
    assert np.ptp(mlp.bn_layers[0].x, axis=0).max() == 0, "every row sees zero weights"

    mlp.W = [w * 0.5 for w in mlp.W]
    mlp.W[0] = trained_w0  # rows differ again: BatchNorm over identical rows amplifies rounding by 1/sqrt(eps)
    mlp.W[1] = np.ones((64, 32))
    mlp.activations[1] = hw1.ReLU()
    spec = fnmlp.MLPSpec((784, 64, 32, 10), ("sigmoid", "relu", "identity"), 2)
    mlp.train()
    assert_array(mlp.forward(x), expected_logits(train=True))

    before = [w.copy() for w in mlp.W]
    mlp.lr = 0.0
    mlp.momentum = 0.0
    mlp.zero_grads()
    mlp.step()
    for w, old in zip(mlp.W, before):
        assert_array(w, old, rtol=0, atol=0)


def test_bad_calls_name_the_argument_and_change_nothing():
    x, y, labels = autograder_data(20, seed=11)

    def set_attr(path, value):
        """A mutation ``mlp.<path> = value``, ``path`` like ``"lr"``, ``"W[1]"`` or ``"bn_layers[0].gamma"``."""
        def mutate(mlp):
            *parents, last = path.split(".")
            owner = eval("mlp." + ".".join(parents), {"mlp": mlp}) if parents else mlp
            if last.endswith("]"):
                field, index = last[:-1].split("[")
                getattr(owner, field)[int(index)] = value
            else:
                setattr(owner, last, value)
        return mutate

    def nothing(mlp):
        pass

    cases = [
        (nothing, lambda m: m.forward(x[:, :700]), ValueError, "x: expected 784 columns"),
        (nothing, lambda m: m.forward(x[0]), ValueError, "x: expected a 2-D array"),
        (nothing, lambda m: m.forward(x * np.nan), ValueError, "x: expected finite values"),
        (nothing, lambda m: m.backward(labels), ValueError, "labels: expected one-hot rows of shape (20, 10)"),
        (nothing, lambda m: m.backward(y[:5]), ValueError, "labels: expected one-hot rows of shape (20, 10)"),
        (nothing, lambda m: m.backward(0.5 * y + 0.05), ValueError, "labels: expected one-hot rows (a single 1"),
        (set_attr("W[1]", np.zeros((32, 64))), lambda m: m.forward(x), ValueError, "W[1]: expected shape (64, 32)"),
        (set_attr("W[1]", np.zeros((32, 64))), lambda m: m.step(), ValueError, "W[1]: expected shape (64, 32)"),
        (set_attr("W[0]", np.zeros((784, 64), dtype=int)), lambda m: m.forward(x), TypeError,
         "W[0]: expected a float32 or float64 ndarray"),
        (set_attr("b", []), lambda m: m.forward(x), ValueError, "b: expected a list of 3 (one per layer), got 0 items"),
        (set_attr("b[2]", np.zeros((10, 1))), lambda m: m.forward(x), ValueError, "b[2]: expected shape (1, 10) or shape (10,)"),
        (set_attr("dW[0]", np.zeros((3, 3))), lambda m: m.step(), ValueError, "dW[0]: expected shape (784, 64)"),
        (set_attr("db", None), lambda m: m.step(), TypeError, "db: expected a list of 3"),
        (set_attr("bn_layers[1].gamma", np.ones((1, 5))), lambda m: m.forward(x), ValueError,
         "bn_layers[1].gamma: expected shape (1, 32) or shape (32,)"),
        (set_attr("bn_layers[0].dbeta", np.ones(5)), lambda m: m.step(), ValueError,
         "bn_layers[0].dbeta: expected shape (1, 64) or shape (64,)"),
        (set_attr("bn_layers[0].alpha", 0.5), lambda m: m.forward(x), ValueError,
         "bn_layers: expected the same alpha and eps in every layer"),
        (set_attr("bn_layers", [hw1.BatchNorm(64)]), lambda m: m.forward(x), ValueError,
         "bn_layers: expected a list of 2 (one per BatchNorm layer)"),
        (set_attr("activations", [hw1.Sigmoid(), hw1.Identity()]), lambda m: m.forward(x), ValueError,
         "activations: expected a list of 3 (one per layer), got 2 items"),
        (set_attr("activations[0]", "sigmoid"), lambda m: m.forward(x), TypeError,
         "activations[0]: expected an Identity, Sigmoid, Tanh or ReLU object"),
        (set_attr("train_mode", "yes"), lambda m: m.forward(x), TypeError, "train_mode: expected True or False"),
        (set_attr("lr", -1.0), lambda m: m.step(), ValueError, "lr: expected a finite number in [0.0, inf)"),
        (set_attr("momentum", 1.0), lambda m: m.step(), ValueError, "momentum: expected a finite number in [0.0, 1.0)"),
        (set_attr("criterion", hw1.Criterion()), lambda m: m.backward(y), TypeError,
         "criterion: expected a SoftmaxCrossEntropy"),
        (nothing, lambda m: hw1.get_training_stats(m, ((x, y), (x, y)), 1, 10), TypeError,
         "dset: expected a (train, val, test) triple"),
        (nothing, lambda m: hw1.get_training_stats(m, ((x, labels), (x, y), (x, y)), 1, 10), ValueError,
         "train labels: expected one-hot rows of shape (20, 10)"),
        (nothing, lambda m: hw1.get_training_stats(m, ((x, y), (x[:, 1:], y), (x, y)), 1, 10), ValueError,
         "val x: expected 784 columns"),
        (nothing, lambda m: hw1.get_training_stats(m, ((x, y), (x, y), (x, y)), 1, 21), ValueError,
         "batch_size: expected an integer in 1..20"),
        (nothing, lambda m: hw1.get_training_stats(m, ((x, y), (x, y), (x, y)), -1, 10), ValueError,
         "nepochs: expected an integer in 0..inf"),
        (nothing, lambda m: hw1.get_training_stats(vars(m), ((x, y), (x, y), (x, y)), 1, 10), TypeError,
         "mlp: expected a MLP"),
    ]
    trained = trained_once()[0]
    for mutate, call, error, message in cases:
        mlp = copy.deepcopy(trained)
        mutate(mlp)
        before = exposed(mlp)
        random_state = np.random.get_state()[1].copy()
        with pytest.raises(error) as info:
            call(mlp)
        assert str(info.value).startswith(message), (message, str(info.value))
        assert_same(before, exposed(mlp))
        assert np.array_equal(random_state, np.random.get_state()[1])

    with pytest.raises(ValueError, match=r"^MLP.backward: expected a forward\(x\) call before it"):
        handout_mlp("linear").backward(y)


def test_bad_constructor_arguments_name_themselves_before_any_draw():
    sigmoid3 = [hw1.Sigmoid(), hw1.Sigmoid(), hw1.Identity()]
    good = dict(input_size=784, output_size=10, hiddens=[64, 32], activations=sigmoid3, weight_init_fn=weight_init,
                bias_init_fn=bias_init, criterion=hw1.SoftmaxCrossEntropy(), lr=0.008, momentum=0.0, num_bn_layers=0)
    cases = [
        (dict(activations=sigmoid3[1:]), ValueError, "activations: expected a list of 3 (one per layer), got 2 items"),
        (dict(activations=[hw1.Sigmoid, hw1.Sigmoid, hw1.Identity]), TypeError, "activations[0]: expected an Identity"),
        (dict(activations=hw1.Sigmoid()), TypeError, "activations: expected a list of 3"),
        (dict(num_bn_layers=4), ValueError, "num_bn_layers: expected an integer in 0..3"),
        (dict(num_bn_layers=-1), ValueError, "num_bn_layers: expected an integer in 0..3"),
        (dict(hiddens=[64, 0]), ValueError, "hiddens[1]: expected an integer in 1..inf"),
        (dict(hiddens="64"), TypeError, "hiddens: expected a sequence of layer widths"),
        (dict(input_size=0), ValueError, "input_size: expected an integer in 1..inf"),
        (dict(output_size=2.5), TypeError, "output_size: expected an integer"),
        (dict(lr=-0.1), ValueError, "lr: expected a finite number in [0.0, inf)"),
        (dict(momentum=1.0), ValueError, "momentum: expected a finite number in [0.0, 1.0)"),
        (dict(criterion=hw1.Criterion()), TypeError, "criterion: expected a SoftmaxCrossEntropy"),
        (dict(weight_init_fn=None), TypeError, "weight_init_fn: expected a callable"),
        (dict(weight_init_fn=lambda m, n: np.zeros((n, m))), ValueError,
         "weight_init_fn(784, 64): expected an array of shape (784, 64)"),
        (dict(bias_init_fn=lambda n: np.zeros((n, 1))), ValueError,
         "bias_init_fn(64): expected an array of shape (1, 64) or shape (64,)"),
    ]
    for change, error, message in cases:
        random_state = np.random.get_state()[1].copy()
        with pytest.raises(error) as info:
            hw1.MLP(**{**good, **change})
        assert str(info.value).startswith(message), (message, str(info.value))
        if "init_fn(" not in message:
            assert np.array_equal(random_state, np.random.get_state()[1]), message

    mlp = hw1.MLP(**{**good, "bias_init_fn": lambda n: np.full(n, 0.25)})
    assert [b.shape for b in mlp.b] == [(64,), (32,), (10,)], "b keeps the shape bias_init_fn made"
    assert (mlp.b[0] == 0.25).all()


def test_bad_calls_to_the_small_classes():
    x = np.ones((3, 4))
    cases = [
        (lambda: hw1.Sigmoid().derivative(), ValueError, "Sigmoid.state: expected the output of a forward call, got None"),
        (lambda: hw1.Tanh()(np.array(["a"])), TypeError, "x: expected an array of real numbers"),
        (lambda: hw1.ReLU()(np.array([np.inf])), ValueError, "x: expected finite values"),
        (lambda: hw1.SoftmaxCrossEntropy()(x, np.array([0, 1, 2])), ValueError, "y: expected one-hot rows of shape (3, 4)"),
        (lambda: hw1.SoftmaxCrossEntropy().derivative(), ValueError, "SoftmaxCrossEntropy.sm: expected the softmax"),
        (lambda: hw1.BatchNorm(5)(x), ValueError, "x: expected 5 columns"),
        (lambda: hw1.BatchNorm(4)(x, eval="no"), TypeError, "eval: expected True or False"),
        (lambda: hw1.BatchNorm(0), ValueError, "fan_in: expected an integer in 1..inf"),
        (lambda: hw1.BatchNorm(4, alpha=2), ValueError, "alpha: expected a finite number in [0.0, 1.0]"),
        (lambda: hw1.BatchNorm(4).backward(x), ValueError, "BatchNorm.norm: expected the output of a forward call"),
    ]
    for call, error, message in cases:
        with pytest.raises(error) as info:
            call()
        assert str(info.value).startswith(message), (message, str(info.value))
    bn = hw1.BatchNorm(4)
    bn(x)
    before = copy.deepcopy({k: v for k, v in vars(bn).items() if k != "_cache"})
    with pytest.raises(ValueError, match=r"^delta: expected shape \(3, 4\)"):
        bn.backward(x[:2])
    bn.gamma = np.ones((4, 1))
    with pytest.raises(ValueError, match=r"^BatchNorm.gamma: expected shape \(1, 4\) or shape \(4,\)"):
        bn(x)
    bn.gamma = before["gamma"]
    assert_same(before, {k: v for k, v in vars(bn).items() if k != "_cache"})
