"""Forward values, BatchNorm modes, dtypes, purity and argument checks of the pure network API."""

import copy

import attrs
import numpy as np
import pytest

import fnmlp
from helpers import random_problem, reference_activation, reference_forward


def handout_spec(num_bn=2, activation="sigmoid"):
    return fnmlp.MLPSpec.from_hidden_sizes(12, [8, 8, 6], 5, activation=activation, num_bn_layers=num_bn)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("activation", ["identity", "sigmoid", "tanh", "relu"])
def test_forward_matches_reference(activation, train):
    spec = handout_spec(activation=activation)
    params, state, x, _ = random_problem(spec, 13, seed=1)
    logits, cache, new_state = fnmlp.forward(spec, params, state, x, train=train)
    expected, _, means, variances = reference_forward(spec, params, state, x, train)
    np.testing.assert_allclose(logits, expected, rtol=1e-12, atol=1e-12)
    assert cache.outputs[-1] is logits and cache.outputs[0] is x and cache.train is train
    np.testing.assert_allclose(np.concatenate(new_state.running_mean), np.concatenate(means), rtol=1e-12)
    np.testing.assert_allclose(np.concatenate(new_state.running_var), np.concatenate(variances), rtol=1e-12)


def test_training_forward_moves_running_statistics_towards_batch_statistics():
    spec = fnmlp.MLPSpec((3, 4, 2), ("identity", "identity"), num_bn_layers=1, bn_alpha=0.75)
    params, state = fnmlp.init_params(spec, 0)
    x = np.arange(15.0).reshape(5, 3) ** 1.5
    _, _, new_state = fnmlp.forward(spec, params, state, x, train=True)
    z = x @ params.W[0] + params.b[0]
    np.testing.assert_allclose(new_state.running_mean[0], 0.25 * z.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(new_state.running_var[0], 0.75 + 0.25 * z.var(axis=0), rtol=1e-12)
    assert new_state is not state
    np.testing.assert_array_equal(state.running_mean[0], 0.0)
    np.testing.assert_array_equal(state.running_var[0], 1.0)


def test_eval_forward_uses_running_statistics_and_returns_state_unchanged():
    spec = handout_spec(num_bn=1)
    params, state, x, _ = random_problem(spec, 4, seed=2)
    logits, _, new_state = fnmlp.forward(spec, params, state, x, train=False)
    assert new_state is state
    row_by_row = np.vstack([fnmlp.forward(spec, params, state, row[None], train=False)[0] for row in x])
    np.testing.assert_allclose(logits, row_by_row, rtol=1e-12)
    # predict folds BatchNorm into the affine map: the same logits to float64 rounding, not bit for bit
    np.testing.assert_allclose(fnmlp.predict(spec, params, state, x), logits, rtol=1e-13, atol=1e-15)
    train_logits = fnmlp.forward(spec, params, state, x, train=True)[0]
    assert not np.allclose(train_logits, logits), "train mode must use the batch's own statistics"


def test_without_batchnorm_training_forward_keeps_the_state_object():
    spec = handout_spec(num_bn=0)
    params, state, x, _ = random_problem(spec, 3, seed=3)
    assert fnmlp.forward(spec, params, state, x, train=True)[2] is state


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_dtype_follows_input(dtype):
    spec = handout_spec()
    params, state, x, labels = random_problem(spec, 6, seed=4)
    logits, cache, new_state = fnmlp.forward(spec, params, state, x.astype(dtype), train=True)
    assert logits.dtype == dtype
    assert all(a.dtype == dtype for a in cache.outputs)
    grads = fnmlp.backward(spec, params, cache, np.ones_like(logits))
    assert {a.dtype for a in fnmlp.tree_leaves(grads)} == {np.dtype(dtype)}
    assert {a.dtype for a in fnmlp.tree_leaves(new_state)} == {np.dtype(np.float64)}, "state keeps its dtype"
    np.testing.assert_allclose(logits, fnmlp.forward(spec, params, state, x, train=True)[0], rtol=1e-4, atol=1e-5)


def test_integer_input_is_computed_in_float64():
    spec = fnmlp.MLPSpec((3, 2), ("identity",))
    params, state = fnmlp.init_params(spec, 0)
    x = np.array([[1, 2, 3]], dtype=np.uint8)
    logits = fnmlp.predict(spec, params, state, x)
    assert logits.dtype == np.float64
    np.testing.assert_allclose(logits, x.astype(float) @ params.W[0], rtol=1e-12)


def snapshot(value):
    return copy.deepcopy(value)


def assert_same(before, after):
    if isinstance(before, np.ndarray):
        assert before.dtype == after.dtype and before.shape == after.shape
        np.testing.assert_array_equal(before, after)
    elif attrs.has(type(before)) or isinstance(before, (tuple, list)):
        before_leaves, after_leaves = fnmlp.tree_leaves(before), fnmlp.tree_leaves(after)
        assert len(before_leaves) == len(after_leaves)
        for b, a in zip(before_leaves, after_leaves):
            assert_same(b, a)
    else:
        assert before == after


def call_every_public_function(spec, params, state, x, labels):
    opt = fnmlp.sgd(0.1, momentum=0.9)
    logits, cache, _ = fnmlp.forward(spec, params, state, x, train=True)
    fnmlp.forward(spec, params, state, x, train=False)
    fnmlp.predict(spec, params, state, x)
    losses, loss_cache = fnmlp.softmax_cross_entropy(logits, labels)
    dlogits = fnmlp.softmax_cross_entropy_grad(loss_cache)
    fnmlp.backward(spec, params, cache, dlogits)
    fnmlp.backward_with_input_grad(spec, params, cache, dlogits)
    _, grads, _ = fnmlp.loss_and_grads(spec, params, state, x, labels)
    opt_state = opt.init(params)
    opt.update(grads, opt.update(grads, opt_state, params)[1], params)
    fnmlp.softmax_cross_entropy_grad(loss_cache)
    return dlogits, grads, opt_state, cache


@pytest.mark.parametrize("one_hot", [False, True])
def test_no_function_writes_into_its_arguments(one_hot):
    spec = handout_spec(num_bn=2, activation="relu")
    params, state, x, labels = random_problem(spec, 7, seed=5)
    if one_hot:
        labels = fnmlp.one_hot(labels, 5)
    x = np.array(x)
    assert x.flags.writeable
    inputs = (params, state, x, labels)
    before = snapshot(inputs)
    dlogits, grads, opt_state, cache = call_every_public_function(spec, *inputs)
    assert_same(before, inputs)
    for value in (dlogits, grads, opt_state, cache):
        kept = snapshot(value)
        call_every_public_function(spec, *inputs)
        fnmlp.backward(spec, params, cache, dlogits)
        fnmlp.sgd(0.1, 0.5).update(grads, opt_state, params)
        assert_same(kept, value)


def test_records_hold_read_only_views_and_are_frozen():
    spec = handout_spec(num_bn=1)
    weights = np.ones((12, 8))
    params, state = fnmlp.init_params(spec, 0)
    params = attrs.evolve(params, W=(weights, *params.W[1:]))
    assert weights.flags.writeable, "building a record must not change the caller's array"
    for array in fnmlp.tree_leaves(params) + fnmlp.tree_leaves(state):
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array[...] = 0
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        params.W = ()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        spec.num_bn_layers = 0


def test_init_params_shapes_defaults_and_call_order():
    spec = fnmlp.MLPSpec((4, 3, 2), ("tanh", "identity"), num_bn_layers=1)
    calls = []

    def weight_init(m, n):
        calls.append(("W", m, n))
        return np.full((m, n), 0.5)

    def bias_init(n):
        calls.append(("b", n))
        return np.full((1, n), 0.25)

    params, state = fnmlp.init_params(spec, weight_init=weight_init, bias_init=bias_init, dtype=np.float32)
    assert calls == [("W", 4, 3), ("W", 3, 2), ("b", 3), ("b", 2)]
    assert [w.shape for w in params.W] == [(4, 3), (3, 2)] and [b.shape for b in params.b] == [(3,), (2,)]
    assert {a.dtype for a in fnmlp.tree_leaves(params) + fnmlp.tree_leaves(state)} == {np.dtype(np.float32)}
    np.testing.assert_array_equal(params.b[1], [0.25, 0.25])
    np.testing.assert_array_equal(params.gamma[0], np.ones(3))
    np.testing.assert_array_equal(params.beta[0], np.zeros(3))
    np.testing.assert_array_equal(state.running_mean[0], np.zeros(3))
    np.testing.assert_array_equal(state.running_var[0], np.ones(3))


def test_default_init_draws_like_the_handouts_global_generator():
    spec = fnmlp.MLPSpec((5, 4, 3), ("sigmoid", "identity"))
    np.random.seed(11785)
    handout = [np.random.randn(5, 4), np.random.randn(4, 3)]
    params, _ = fnmlp.init_params(spec, 11785)
    for ours, theirs in zip(params.W, handout):
        np.testing.assert_array_equal(ours, theirs)
    assert all((b == 0).all() for b in params.b)


@pytest.mark.parametrize("scheme, scale", [("normal", lambda m, n: 1.0), ("lecun", lambda m, n: m ** -0.5),
                                           ("xavier", lambda m, n: (2 / (m + n)) ** 0.5),
                                           ("he", lambda m, n: (2 / m) ** 0.5)])
def test_named_initialisers_scale_the_same_draws(scheme, scale):
    spec = fnmlp.MLPSpec((50, 30, 10), ("relu", "identity"))
    reference, _ = fnmlp.init_params(spec, 3, weight_init="normal")
    params, _ = fnmlp.init_params(spec, 3, weight_init=scheme)
    for w, ref in zip(params.W, reference.W):
        np.testing.assert_allclose(w, ref * scale(*w.shape), rtol=1e-15)


def test_bad_arguments_name_themselves():
    spec = handout_spec(num_bn=1)
    params, state, x, labels = random_problem(spec, 4, seed=6)
    cases = [
        (lambda: fnmlp.forward(spec, params, state, x[0], train=True), ValueError, "x: expected a 2-D array"),
        (lambda: fnmlp.forward(spec, params, state, x[:, :5], train=True), ValueError, "x: expected 12 columns"),
        (lambda: fnmlp.forward(spec, params, state, x[:0], train=True), ValueError, "x: expected at least one row"),
        (lambda: fnmlp.forward(spec, params, state, x * np.nan, train=True), ValueError, "x: expected finite"),
        (lambda: fnmlp.forward(spec, params, state, x.astype(complex), train=True), TypeError, "x: expected an array of real"),
        (lambda: fnmlp.forward(spec, params, state, x, train="yes"), TypeError, "train: expected True or False"),
        (lambda: fnmlp.forward(spec, state, params, x, train=True), TypeError, "params: expected a Params"),
        (lambda: fnmlp.forward(spec, attrs.evolve(params, W=params.W[:2]), state, x, train=True),
         ValueError, "params.W: expected 4 arrays"),
        (lambda: fnmlp.forward(spec, attrs.evolve(params, b=(params.b[0][:3], *params.b[1:])), state, x, train=True),
         ValueError, "params.b[0]: expected shape (8,)"),
        (lambda: fnmlp.forward(spec, params, fnmlp.BatchNormState(), x, train=True),
         ValueError, "bn_state.running_mean: expected 1 arrays"),
        (lambda: fnmlp.loss_and_grads(spec, params, state, x, labels[:3]), ValueError, "targets: expected 4 rows"),
        (lambda: fnmlp.loss_and_grads(spec, params, state, x, labels + 5), ValueError, "targets: expected class indices in 0..4"),
        (lambda: fnmlp.loss_and_grads(spec, params, state, x, np.eye(4)), ValueError, "targets: expected one-hot rows of width 5"),
        (lambda: fnmlp.loss_and_grads(spec, params, state, x, 0.5 * np.ones((4, 5))), ValueError, "targets: expected one-hot rows"),
        (lambda: fnmlp.loss_and_grads(spec, params, state, x, labels.astype(float)), TypeError, "targets: expected integer class indices"),
        (lambda: fnmlp.MLPSpec((4, 3), ("swish",)), ValueError, "activations[0]: expected one of"),
        (lambda: fnmlp.MLPSpec((4, 3), ("relu",), dropout=(1.0,)), ValueError, "dropout[0]: expected a finite number in [0.0, 1.0)"),
        (lambda: fnmlp.MLPSpec((4, 3, 2), ("relu", "relu"), dropout=(0.5,)), ValueError, "dropout: expected 2 rates"),
        (lambda: fnmlp.MLPSpec((4, 3), ("relu",), dropout=0.5), TypeError, "dropout: expected a sequence of rates"),
        (lambda: fnmlp.MLPSpec((4, 3), ("relu",), l2=-1.0), ValueError, "l2: expected a finite number in [0.0, inf)"),
        (lambda: fnmlp.MLPSpec((4, 3), ("relu",), loss="hinge"), ValueError, "loss: expected one of ['mse', "),
        (lambda: fnmlp.MLPSpec((4, 3), ("relu",), loss=len), TypeError, "loss: expected a Loss or a loss name"),
        (lambda: fnmlp.MLPSpec((4, 3), "relu"), TypeError, "activations: expected a sequence"),
        (lambda: fnmlp.MLPSpec((4, 3, 2), ("relu",)), ValueError, "activations: expected 2 names"),
        (lambda: fnmlp.MLPSpec((4, 3), ("relu",), num_bn_layers=2), ValueError, "num_bn_layers: expected an integer in 0..1"),
        (lambda: fnmlp.MLPSpec((4, 0), ("relu",)), ValueError, "layer_sizes[1]: expected an integer in 1..inf"),
        (lambda: fnmlp.MLPSpec((4,), ()), ValueError, "layer_sizes: expected at least an input and an output"),
        (lambda: fnmlp.MLPSpec((4, 2.5), ("relu",)), TypeError, "layer_sizes[1]: expected an integer"),
        (lambda: fnmlp.MLPSpec((4, 3), ("relu",), bn_alpha=1.5), ValueError, "bn_alpha: expected a finite number in [0.0, 1.0]"),
        (lambda: fnmlp.MLPSpec((4, 3), ("relu",), bn_eps=0), ValueError, "bn_eps: expected a finite number in (0.0, inf)"),
        (lambda: fnmlp.init_params(spec, weight_init="glorot"), ValueError, "weight_init: expected a callable or one of"),
        (lambda: fnmlp.init_params(spec, weight_init=lambda m, n: np.zeros((n, m))), ValueError,
         "weight_init(12, 8): expected an array of shape (12, 8)"),
        (lambda: fnmlp.init_params(spec, dtype=np.int32), TypeError, "dtype: expected float32 or float64"),
        (lambda: fnmlp.init_params(spec, rng=-1), ValueError, "rng: expected an integer in 0..4294967295"),
        (lambda: fnmlp.sgd(-0.1), ValueError, "lr: expected a finite number in [0.0, inf)"),
        (lambda: fnmlp.sgd(float("nan")), ValueError, "lr: expected a finite number"),
        (lambda: fnmlp.sgd(0.1, momentum=1.0), ValueError, "momentum: expected a finite number in [0.0, 1.0)"),
        (lambda: fnmlp.softmax_cross_entropy(np.zeros(3), [0]), ValueError, "logits: expected a 2-D array"),
    ]
    for call, error, message in cases:
        with pytest.raises(error) as info:
            call()
        assert str(info.value).startswith(message), (message, str(info.value))


def test_backward_rejects_a_foreign_cache_and_mismatched_dlogits():
    spec = handout_spec(num_bn=1)
    params, state, x, _ = random_problem(spec, 4, seed=7)
    logits, cache, _ = fnmlp.forward(spec, params, state, x, train=True)
    other = fnmlp.MLPSpec((12, 5), ("identity",))
    other_params, other_state = fnmlp.init_params(other, 0)
    foreign = fnmlp.forward(other, other_params, other_state, x, train=True)[1]
    with pytest.raises(ValueError, match="^cache: expected the cache of a forward pass of this spec"):
        fnmlp.backward(spec, params, foreign, logits)
    with pytest.raises(ValueError, match=r"^dlogits: expected shape \(4, 5\)"):
        fnmlp.backward(spec, params, cache, logits[:2])
    with pytest.raises(ValueError, match="^dlogits: expected 5 columns"):
        fnmlp.backward(spec, params, cache, logits[:, :2])


@pytest.mark.parametrize("train", [True, False])
def test_batchnorm_cache_keeps_what_it_normalised(train):
    spec = handout_spec(num_bn=2, activation="identity")
    params, state, x, _ = random_problem(spec, 9, seed=8)
    _, cache, _ = fnmlp.forward(spec, params, state, x, train=train)
    _, pre, _, _ = reference_forward(spec, params, state, x, train)
    z = x @ params.W[0] + params.b[0]
    mean, var = (z.mean(axis=0), z.var(axis=0)) if train else (state.running_mean[0], state.running_var[0])
    bn = cache.batchnorm[0]
    np.testing.assert_allclose(bn.z, z, rtol=1e-12)
    np.testing.assert_allclose(bn.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(bn.var, var, rtol=1e-12)
    np.testing.assert_allclose(bn.normalized, (z - mean) / np.sqrt(var + spec.bn_eps), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(bn.out, pre[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(fnmlp.ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_into_out_or_in_place_equal_the_plain_call(name, dtype):
    activation = fnmlp.ACTIVATIONS[name]
    z = np.array([[-800.0, -3.0, -0.5, 0.0], [0.25, 2.0, 30.0, 800.0]], dtype)
    kept = z.copy()
    expected = activation.apply(z)
    np.testing.assert_array_equal(z, kept)
    assert expected.dtype == dtype
    out = np.full_like(z, np.nan)
    assert activation.apply(z, out=out) is out
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(z, kept)
    assert activation.apply(z, out=z) is z
    np.testing.assert_array_equal(z, expected)
    with np.errstate(over="ignore"):
        reference = reference_activation(name, kept.astype(np.float64))
    np.testing.assert_allclose(expected, reference, rtol=1e-6 if dtype == np.float32 else 1e-14, atol=1e-300)
