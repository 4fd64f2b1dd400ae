"""fit's compiled step gives, to the bit, what its own step gives, and is chosen only where it applies."""

import numpy as np
import pytest

import fnmlp
from fnmlp.model.tree import tree_leaves
from fnmlp.training import compiled_step

CUBE = fnmlp.Activation("cube_for_compiled_step", lambda z: z * z * z / 8.0, lambda z: 3.0 * z * z / 8.0)


def _data(loss, dtype, rows=150, width=12, classes=4):
    rng = np.random.default_rng(7)
    x = rng.random((rows, width)).astype(dtype)
    y = rng.standard_normal((rows, 2)).astype(dtype) if loss == "mse" else rng.integers(0, classes, rows)
    return x, y


def _fit(spec, optimizer, data, compiled, monkeypatch, epochs=3, batch_size=32):
    monkeypatch.setattr(compiled_step, "ENABLED", compiled)
    params, state = fnmlp.init_params(spec, 3, weight_init="lecun", dtype=data[0].dtype)
    return fnmlp.fit(spec, params, state, optimizer, data, epochs=epochs, batch_size=batch_size, rng=5)


def _assert_identical(a, b):
    for name in ("params", "opt_state", "bn_state"):
        left, right = tree_leaves(getattr(a.final, name)), tree_leaves(getattr(b.final, name))
        assert len(left) == len(right)
        for p, q in zip(left, right):
            assert type(p) is type(q) and np.array_equal(p, q) and np.asarray(p).dtype == np.asarray(q).dtype, name
    assert np.array_equal(a.final.order, b.final.order)
    assert a.final.dropout_rng.bit_generator.state == b.final.dropout_rng.bit_generator.state
    figures = [[(s.train_loss, s.train_metric, s.lr) for s in r.history] for r in (a, b)]
    assert figures[0] == figures[1]


CASES = {
    "handout sigmoid, SGD momentum, float32": (dict(activation="sigmoid"), lambda: fnmlp.sgd(0.05, 0.9), np.float32),
    "relu, L2, Nesterov with weight decay, float64": (dict(activation="relu", l2=1e-2),
                                                      lambda: fnmlp.sgd(0.05, 0.9, nesterov=True, weight_decay=1e-3),
                                                      np.float64),
    "tanh, L2, Adam, float32": (dict(activation="tanh", l2=1e-3), lambda: fnmlp.adam(1e-2), np.float32),
    "sigmoid and relu with dropout, scheduled SGD": (dict(activation=["sigmoid", "relu", "identity"],
                                                          dropout=(0.2, 0.5, 0.3)),
                                                     lambda: fnmlp.sgd(lambda k: 0.1 / (1 + k), 0.9), np.float32),
    "gelu and elu (through their records), MSE, AdamW, float64": (
        dict(activation=["gelu", "elu", "identity"], loss="mse"), lambda: fnmlp.adamw(1e-2), np.float64),
    "a user's activation without a fast path, tanh output": (dict(activation=[CUBE, "softplus", "tanh"], l2=1e-3),
                                                             lambda: fnmlp.sgd(0.05), np.float32),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_compiled_step_trains_to_the_bit_what_fits_own_step_trains(case, monkeypatch):
    options, make_optimizer, dtype = CASES[case]
    options = dict(options)
    activations = options.pop("activation")
    sizes = (12, 10, 8, 2 if options.get("loss") == "mse" else 4)
    activations = activations if isinstance(activations, list) else [activations] * 2 + ["identity"]
    spec = fnmlp.MLPSpec(sizes, activations, **options)
    data = _data(options.get("loss"), dtype)
    compiled = []
    real = compiled_step.compile_step
    monkeypatch.setattr(compiled_step, "compile_step", lambda *a: compiled.append(a[-2]) or real(*a))
    fast = _fit(spec, make_optimizer(), data, True, monkeypatch)
    assert compiled == [32]  # 150 rows: four batches of 32 and a last one of 22, through one compiled step
    own = _fit(spec, make_optimizer(), data, False, monkeypatch)
    assert compiled == [32]
    _assert_identical(fast, own)
    assert fast.history[-1].train_loss < fast.history[0].train_loss or options.get("dropout")


def test_resuming_through_the_compiled_step_is_bit_identical(monkeypatch):
    spec = fnmlp.MLPSpec.from_hidden_sizes(12, (10, 8), 4, activation="sigmoid", l2=1e-3)
    data = _data(None, np.float32)
    optimizer = fnmlp.sgd(0.05, 0.9)
    at_once = _fit(spec, optimizer, data, True, monkeypatch, epochs=4)
    half = _fit(spec, optimizer, data, True, monkeypatch, epochs=2)
    resumed = fnmlp.fit_from(spec, optimizer, half.final, data, epochs=4, batch_size=32)
    for p, q in zip(tree_leaves(at_once.final.params), tree_leaves(resumed.final.params)):
        assert np.array_equal(p, q)
    assert [s.train_loss for s in at_once.history[2:]] == [s.train_loss for s in resumed.history]


def test_what_fit_returns_does_not_share_the_compiled_steps_buffers(monkeypatch):
    spec = fnmlp.MLPSpec.from_hidden_sizes(12, (10, 8), 4, activation="relu")
    data = _data(None, np.float64)
    seen = []
    monkeypatch.setattr(compiled_step, "ENABLED", True)
    params, state = fnmlp.init_params(spec, 3, weight_init="lecun", dtype=np.float64)
    result = fnmlp.fit(spec, params, state, fnmlp.sgd(0.05, 0.9), data, epochs=3, batch_size=32, rng=5,
                       on_epoch=lambda stats, train_state: seen.append(train_state))
    first = [W.copy() for W in seen[0].params.W]
    assert not np.array_equal(first[0], result.params.W[0])  # training went on after epoch 1 ...
    for W, kept in zip(seen[0].params.W, first):
        assert np.array_equal(W, kept) and not W.flags.writeable  # ... and left epoch 1's state alone


def test_batchnorm_large_layers_and_the_switch_keep_fits_own_step():
    def own(carry, xb, yb):
        return carry

    def selected(spec, batch_size):
        params, _ = fnmlp.init_params(spec, 0)
        layout = fnmlp.model.flat.FlatLayout.of(params)
        weights = layout.flatten(params)
        return compiled_step.select_step(own, spec, fnmlp.sgd(0.1), layout, weights, np.empty_like(weights),
                                         batch_size, None)

    small = fnmlp.MLPSpec.from_hidden_sizes(784, (64, 64, 32), 10, activation="sigmoid")
    assert selected(small, 100) is not own
    assert selected(fnmlp.MLPSpec.from_hidden_sizes(20, (16,), 3, num_bn_layers=1), 8) is own
    wide = fnmlp.MLPSpec.from_hidden_sizes(20, (1024,), 3)
    assert compiled_step.MAX_ELEMENTS < 256 * 1024
    assert selected(wide, 256) is own and selected(wide, 8) is not own
    switch = compiled_step.ENABLED
    try:
        compiled_step.ENABLED = False
        assert selected(small, 100) is own
    finally:
        compiled_step.ENABLED = switch


def test_the_handout_network_at_its_own_sizes_trains_to_the_same_bits(monkeypatch):
    spec = fnmlp.MLPSpec.from_hidden_sizes(784, (64, 64, 32), 10, activation="sigmoid")
    rng = np.random.default_rng(0)
    data = rng.random((250, 784), dtype=np.float32), rng.integers(0, 10, 250)
    runs = [_fit(spec, fnmlp.sgd(0.008, 0.9), data, compiled, monkeypatch, epochs=2, batch_size=100)
            for compiled in (True, False)]
    _assert_identical(*runs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_takes_each_rows_maximum_at_its_argmax_to_the_same_bits(dtype, monkeypatch):
    # one identity layer: the logits are the inputs, with tied maxima, zero rows and large values
    spec = fnmlp.MLPSpec((6, 6), ["identity"])
    rng = np.random.default_rng(2)
    x = rng.integers(-3, 4, (96, 6)).astype(dtype)  # many ties
    x[::7] = 0.0
    x[1::5] *= 30.0
    x[2::9] = -0.0
    labels = rng.integers(0, 6, 96)
    runs = []
    for compiled in (True, False):
        monkeypatch.setattr(compiled_step, "ENABLED", compiled)
        params = fnmlp.Params(W=[np.eye(6, dtype=dtype)], b=[np.zeros(6, dtype)], gamma=[], beta=[])
        runs.append(fnmlp.fit(spec, params, fnmlp.init_params(spec, 0)[1], fnmlp.sgd(1e-3, 0.5), (x, labels),
                              epochs=2, batch_size=20, rng=1))
    _assert_identical(*runs)
