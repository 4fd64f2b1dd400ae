"""The eval fast path (fnmlp.inference) against the unfolded forward pass and the reference MLP."""

import attrs
import numpy as np
import pytest

import fnmlp
from fnmlp import inference
from helpers import random_problem, reference_forward

SPECS = {
    "sigmoid, no BatchNorm": fnmlp.MLPSpec((7, 6, 5, 4), ("sigmoid", "sigmoid", "identity")),
    "relu, no BatchNorm": fnmlp.MLPSpec((7, 6, 5, 4), ("relu", "tanh", "identity")),
    "sigmoid, BatchNorm on 2": fnmlp.MLPSpec((7, 6, 5, 4), ("relu", "sigmoid", "sigmoid"), num_bn_layers=2),
    "relu, BatchNorm on 1": fnmlp.MLPSpec((7, 6, 5, 4), ("relu", "tanh", "identity"), num_bn_layers=1),
    "tanh, BatchNorm on all": fnmlp.MLPSpec((7, 6, 5, 4), ("tanh", "relu", "identity"), num_bn_layers=3,
                                            bn_eps=1e-3),
}


def problem(name, batch=23, seed=0):
    spec = SPECS[name]
    params, state, x, labels = random_problem(spec, batch, seed)
    return spec, params, state, x, labels


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("rows", [None, 1, 5, 23, 100])
def test_folded_logits_equal_the_unfolded_eval_forward_in_float64(name, rows):
    spec, params, state, x, _ = problem(name)
    unfolded = fnmlp.forward(spec, params, state, x, train=False)[0]
    reference = reference_forward(spec, params, state, x, train=False)[0]
    logits = inference.logits(inference.fold(spec, params, state, np.float64), x, rows=rows)
    assert logits.dtype == np.float64 and logits.shape == (23, 4)
    np.testing.assert_allclose(logits, unfolded, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(logits, reference, rtol=1e-12, atol=1e-13)
    if name == "relu, no BatchNorm" and rows in (None, 23, 100):  # nothing folded, one block: forward's products
        np.testing.assert_array_equal(logits, unfolded)


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("params_dtype", [np.float32, np.float64])
def test_folded_logits_in_float32(name, params_dtype):
    spec, params, state, x, _ = problem(name)
    params, state = fnmlp.astype(params, params_dtype), fnmlp.astype(state, params_dtype)
    x32 = x.astype(np.float32)
    logits = inference.logits(inference.fold(spec, params, state, np.float32), x32, rows=4)
    assert logits.dtype == np.float32
    np.testing.assert_allclose(logits, reference_forward(spec, params, state, x, train=False)[0],
                               rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(fnmlp.predict(spec, params, state, x32), logits, rtol=1e-6, atol=1e-6)


def test_fold_is_the_batchnorm_formula_written_out():
    spec, params, state, _, _ = problem("relu, BatchNorm on 1")
    net = inference.fold(spec, params, state, np.float64)
    s = params.gamma[0] / np.sqrt(state.running_var[0] + spec.bn_eps)
    np.testing.assert_allclose(net.W[0], params.W[0] * s[None, :], rtol=1e-15)
    np.testing.assert_allclose(net.b[0], (params.b[0] - state.running_mean[0]) * s + params.beta[0], rtol=1e-15)
    assert all(np.array_equal(net.W[i], params.W[i]) and np.array_equal(net.b[i], params.b[i]) for i in (1, 2))
    assert [a.name for a in net.activations] == ["relu", "tanh", "identity"]
    assert {a.dtype for a in net.W + net.b} == {np.dtype(np.float64)}
    assert {a.dtype for a in inference.fold(spec, params, state, np.float32).W} == {np.dtype(np.float32)}


def test_fold_writes_hidden_sigmoids_as_tanh_and_the_next_layer_reads_them_back():
    """sigmoid(z) = 0.5 tanh(0.5 z) + 0.5: a hidden sigmoid layer's W and b are halved and it applies
    tanh; the layer after it takes 0.5 t + 0.5 as W (0.5 t + 0.5) + b = t (0.5 W) + (b + 0.5 sum_k W[k])."""
    spec, params, state, x, _ = problem("sigmoid, no BatchNorm")
    net = inference.fold(spec, params, state, np.float64)
    W, b = params.W, params.b
    assert [a.name for a in net.activations] == ["tanh", "tanh", "identity"]
    np.testing.assert_array_equal(net.W[0], 0.5 * W[0])
    np.testing.assert_array_equal(net.b[0], 0.5 * b[0])
    np.testing.assert_array_equal(net.W[1], 0.25 * W[1])  # reads 0.5 t + 0.5, then its own sigmoid halves it
    np.testing.assert_allclose(net.b[1], 0.5 * (b[1] + 0.5 * W[1].sum(axis=0)), rtol=1e-15)
    np.testing.assert_array_equal(net.W[2], 0.5 * W[2])
    np.testing.assert_allclose(net.b[2], b[2] + 0.5 * W[2].sum(axis=0), rtol=1e-15)
    # an output sigmoid is kept (nothing after it could take back its affine map), BatchNorm folds first
    spec, params, state, x, _ = problem("sigmoid, BatchNorm on 2")
    net = inference.fold(spec, params, state, np.float64)
    assert [a.name for a in net.activations] == ["relu", "tanh", "sigmoid"]
    s = params.gamma[1] / np.sqrt(state.running_var[1] + spec.bn_eps)
    np.testing.assert_allclose(net.W[1], 0.5 * params.W[1] * s, rtol=1e-15)
    np.testing.assert_allclose(net.b[1], 0.5 * ((params.b[1] - state.running_mean[1]) * s + params.beta[1]),
                               rtol=1e-15)
    np.testing.assert_allclose(net.b[2], params.b[2] + 0.5 * params.W[2].sum(axis=0), rtol=1e-15)
    np.testing.assert_allclose(inference.logits(net, x), fnmlp.forward(spec, params, state, x, train=False)[0],
                               rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("rows", [None, 4, 7])
def test_loss_and_metric_match_cross_entropy_of_the_unfolded_logits(name, rows):
    spec, params, state, x, labels = problem(name, batch=30, seed=1)
    labels[:5] = fnmlp.forward(spec, params, state, x[:5], train=False)[0].argmax(axis=1)  # some right
    unfolded = fnmlp.forward(spec, params, state, x, train=False)[0]
    losses, _ = fnmlp.softmax_cross_entropy(unfolded, labels)
    error = np.mean(unfolded.argmax(axis=1) != labels)
    loss, err = inference.loss_and_metric(inference.fold(spec, params, state, np.float64), x, labels,
                                          fnmlp.SOFTMAX_CROSS_ENTROPY, rows=rows)
    assert isinstance(loss, float) and isinstance(err, float)
    assert loss == pytest.approx(losses.mean(), rel=1e-12)
    assert err == error and 0 < err < 1
    assert fnmlp.evaluate(spec, params, state, x, labels) == pytest.approx((loss, err), rel=1e-12)


def test_chunks_yield_consecutive_blocks_and_reuse_one_buffer():
    spec, params, state, x, _ = problem("tanh, BatchNorm on all", batch=10)
    net = inference.fold(spec, params, state, np.float64)
    whole = inference.logits(net, x, rows=4)
    np.testing.assert_allclose(whole, inference.logits(net, x), rtol=1e-13, atol=1e-14)
    seen, buffers = [], set()
    for block, z in inference.chunks(net, x, rows=4):
        np.testing.assert_array_equal(z, whole[block])
        seen.append((block.start, block.stop))
        buffers.add(z.__array_interface__["data"][0])
    assert seen == [(0, 4), (4, 8), (8, 10)]
    assert len(buffers) == 1  # the last layer's buffer, overwritten block after block
    out = np.zeros_like(whole)
    for block, z in inference.chunks(net, x, out=out, rows=3):
        assert np.shares_memory(z, out)
    np.testing.assert_allclose(out, whole, rtol=1e-13, atol=1e-14)


def test_nothing_is_written_into_the_inputs_and_the_logits_are_new():
    spec, params, state, x, _ = problem("relu, BatchNorm on 1")
    x = np.array(x)
    before = [a.copy() for a in fnmlp.tree_leaves((params, state))] + [x.copy()]
    logits = fnmlp.predict(spec, params, state, x)
    after = fnmlp.tree_leaves((params, state)) + [x]
    assert all(np.array_equal(b, a) for b, a in zip(before, after))
    assert logits.flags.writeable and not any(np.shares_memory(logits, a) for a in after)


def test_chunk_rows_aims_at_a_cache_sized_block_within_bounds():
    def rows_for(sizes, dtype):
        spec = fnmlp.MLPSpec(sizes, ("relu",) * (len(sizes) - 1))
        params, state = fnmlp.init_params(spec, 0, dtype=dtype)
        return inference.chunk_rows(inference.fold(spec, params, state, dtype))

    assert rows_for((784, 64, 10), np.float32) == inference.BLOCK_BYTES // (64 * 4) == 4096
    assert rows_for((784, 32, 10), np.float32) == 8192
    assert rows_for((784, 32, 10), np.float64) == 4096
    assert rows_for((784, 1024, 1024, 10), np.float32) == inference.MIN_CHUNK_ROWS
    assert rows_for((5, 2, 3), np.float32) == inference.MAX_CHUNK_ROWS


def test_blocks_are_as_even_as_the_row_limit_allows():
    spec, params, state, x, _ = problem("sigmoid, no BatchNorm", batch=23)
    net = inference.fold(spec, params, state, np.float64)
    sizes = {rows: [b.stop - b.start for b, _ in inference.chunks(net, x, rows=rows)] for rows in (1, 5, 10, 22, 23, 50)}
    assert sizes == {1: [1] * 23, 5: [5, 5, 5, 5, 3], 10: [8, 8, 7], 22: [12, 11], 23: [23], 50: [23]}


def test_fit_validates_with_the_folded_network():
    spec, params, state, x, labels = problem("relu, BatchNorm on 1", batch=40, seed=2)
    result = fnmlp.fit(spec, params, state, fnmlp.sgd(0.01, 0.9), (x[:30], labels[:30]), (x[30:], labels[30:]),
                       epochs=2, batch_size=10, rng=0)
    logits = reference_forward(spec, result.params, result.bn_state, x[30:], train=False)[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    loss = -(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))[np.arange(10), labels[30:]].mean()
    assert result.history[-1].val_loss == pytest.approx(loss, rel=1e-12)
    assert result.history[-1].val_error == np.mean(logits.argmax(axis=1) != labels[30:])


def test_an_activation_value_in_the_spec_is_used_as_it_is():
    relu = fnmlp.ACTIVATIONS["relu"]
    assert inference._activation(relu) is relu and inference._activation("relu") is relu
    assert attrs.has(type(relu))
