"""Properties of the pure functions over random networks, batches, dtypes and values (hypothesis).

Networks have 1-3 hidden layers of width 1-12, inputs of width 1-10, 2-6 classes, any activation
on any layer (the output layer included) and 0..all BatchNorm layers; batches have 1-20 rows of
finite, moderate float32 or float64 values; parameters are float32 or float64 too, not
necessarily the data's dtype. A BatchNorm layer in training mode over a single row is allowed:
the row is its own mean, so it normalises to 0 and the layer outputs ``beta`` (see
``test_batchnorm_over_one_row_outputs_beta``); the loop's last batch can be a single row.
"""

import tempfile
from pathlib import Path

import attrs
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fnmlp
from helpers import sgd_state
import fnmlp.hw1 as hw1

EXAMPLES = settings(max_examples=50)
ACTIVATIONS = sorted(a.name for a in fnmlp.activations.BUILTINS)
FLOATS = [np.float32, np.float64]
HW1_CLASSES = {"identity": hw1.Identity, "sigmoid": hw1.Sigmoid, "tanh": hw1.Tanh, "relu": hw1.ReLU}


@attrs.frozen(eq=False)
class Problem:
    spec: fnmlp.MLPSpec
    params: fnmlp.Params
    state: fnmlp.BatchNormState
    x: np.ndarray
    labels: np.ndarray

    @property
    def batch(self):
        return self.x.shape[0]


@st.composite
def specs(draw, min_bn=0, activations=ACTIVATIONS):
    sizes = [draw(st.integers(1, 10)), *draw(st.lists(st.integers(1, 12), min_size=1, max_size=3)),
             draw(st.integers(2, 6))]
    layers = len(sizes) - 1
    activations = draw(st.lists(st.sampled_from(activations), min_size=layers, max_size=layers))
    return fnmlp.MLPSpec(sizes, activations, num_bn_layers=draw(st.integers(min_bn, layers)))


@st.composite
def problems(draw, min_batch=1, max_batch=20, min_bn=0, activations=ACTIVATIONS):
    """A spec, parameters with non-trivial BatchNorm values and running statistics, a batch and its
    integer labels. Weights are scaled by 1/sqrt(fan_in), so activations stay moderate."""
    spec = draw(specs(min_bn, activations))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    param_dtype = draw(st.sampled_from(FLOATS))
    params, _ = fnmlp.init_params(spec, weight_init=lambda m, n: rng.standard_normal((m, n)) / np.sqrt(m),
                                  bias_init=lambda n: rng.uniform(-0.5, 0.5, n), dtype=param_dtype)
    widths = spec.bn_widths
    params = attrs.evolve(params, gamma=[rng.uniform(0.5, 1.5, n).astype(param_dtype) for n in widths],
                          beta=[rng.uniform(-0.5, 0.5, n).astype(param_dtype) for n in widths])
    state = fnmlp.BatchNormState([rng.uniform(-0.5, 0.5, n).astype(param_dtype) for n in widths],
                                 [rng.uniform(0.5, 2.0, n).astype(param_dtype) for n in widths])
    dtype = draw(st.sampled_from(FLOATS))
    batch = draw(st.integers(min_batch, max_batch))
    x = draw(hnp.arrays(dtype, (batch, spec.layer_sizes[0]),
                        elements=st.floats(-5, 5, width=np.finfo(dtype).bits)))
    labels = draw(hnp.arrays(np.int64, batch, elements=st.integers(0, spec.layer_sizes[-1] - 1)))
    return Problem(spec, params, state, x, labels)


def tolerance(dtype):
    return 1e-4 if dtype == np.float32 else 1e-11


def assert_finite(tree):
    for leaf in fnmlp.tree_leaves(tree):
        assert np.isfinite(leaf).all()


def as_bytes(tree):
    """Every leaf's dtype, shape and bytes, to compare inputs before and after a call."""
    return [(a.dtype, a.shape, a.tobytes()) for a in map(np.asarray, fnmlp.tree_leaves(tree))]


# --- Shapes and dtypes ----------------------------------------------------------------------------

@EXAMPLES
@given(problems(), st.booleans())
def test_forward_gives_logits_and_cache_of_the_spec_in_the_inputs_dtype(p, train):
    logits, cache, new_state = fnmlp.forward(p.spec, p.params, p.state, p.x, train=train)
    sizes = p.spec.layer_sizes
    assert logits.shape == (p.batch, sizes[-1]) and logits.dtype == p.x.dtype
    assert [a.shape for a in cache.outputs] == [(p.batch, n) for n in sizes]
    assert {a.dtype for a in cache.outputs} == {p.x.dtype}
    assert len(cache.batchnorm) == p.spec.num_bn_layers and cache.train is train
    assert [a.shape for a in fnmlp.tree_leaves(new_state)] == [a.shape for a in fnmlp.tree_leaves(p.state)]
    if train and p.spec.num_bn_layers:  # new running statistics, in the state's own dtype
        assert [a.dtype for a in fnmlp.tree_leaves(new_state)] == [a.dtype for a in fnmlp.tree_leaves(p.state)]
    else:
        assert new_state is p.state


@EXAMPLES
@given(problems())
def test_gradients_are_shaped_like_the_params_in_the_inputs_dtype_and_read_only(p):
    loss, grads, new_state = fnmlp.loss_and_grads(p.spec, p.params, p.state, p.x, p.labels)
    assert isinstance(loss, float) and loss >= 0
    assert type(grads) is fnmlp.Params
    assert [g.shape for g in fnmlp.tree_leaves(grads)] == [a.shape for a in fnmlp.tree_leaves(p.params)]
    assert {g.dtype for g in fnmlp.tree_leaves(grads)} == {p.x.dtype}
    assert not any(g.flags.writeable for g in fnmlp.tree_leaves(grads) + fnmlp.tree_leaves(new_state))

    logits, cache, _ = fnmlp.forward(p.spec, p.params, p.state, p.x, train=True)
    same, dx = fnmlp.backward_with_input_grad(p.spec, p.params, cache, np.ones_like(logits))
    assert dx.shape == p.x.shape and dx.dtype == p.x.dtype
    assert [g.shape for g in fnmlp.tree_leaves(same)] == [g.shape for g in fnmlp.tree_leaves(grads)]


# --- Finite in, finite out ------------------------------------------------------------------------

@EXAMPLES
@given(problems())
def test_finite_inputs_give_finite_outputs(p):
    loss, grads, new_state = fnmlp.loss_and_grads(p.spec, p.params, p.state, p.x, p.labels)
    assert np.isfinite(loss)
    assert_finite(grads)
    assert_finite(new_state)
    logits, cache, _ = fnmlp.forward(p.spec, p.params, p.state, p.x, train=False)
    assert_finite((logits, cache.outputs))
    assert_finite(fnmlp.backward_with_input_grad(p.spec, p.params, cache, logits))
    losses, loss_cache = fnmlp.softmax_cross_entropy(logits, p.labels)
    assert_finite((losses, fnmlp.softmax_cross_entropy_grad(loss_cache)))
    assert all(np.isfinite(v) for v in fnmlp.evaluate(p.spec, p.params, p.state, p.x, p.labels))
    opt = fnmlp.sgd(0.1, momentum=0.9)
    assert_finite(opt.update(grads, opt.init(p.params), p.params))


# --- Purity ---------------------------------------------------------------------------------------

@EXAMPLES
@given(problems(), st.booleans())
def test_no_function_changes_its_inputs(p, one_hot):
    labels = fnmlp.one_hot(p.labels, p.spec.layer_sizes[-1]) if one_hot else p.labels
    x = np.array(p.x)  # writable, as a caller's array would be
    opt = fnmlp.sgd(0.05, momentum=0.5)
    opt_state = opt.init(p.params)
    inputs = (p.params, p.state, x, labels, opt_state)
    before = as_bytes(inputs)

    logits, cache, _ = fnmlp.forward(p.spec, p.params, p.state, x, train=True)
    fnmlp.forward(p.spec, p.params, p.state, x, train=False)
    fnmlp.predict(p.spec, p.params, p.state, x)
    _, loss_cache = fnmlp.softmax_cross_entropy(logits, labels)
    dlogits = fnmlp.softmax_cross_entropy_grad(loss_cache)
    kept = as_bytes((logits, cache.outputs, dlogits))
    fnmlp.backward_with_input_grad(p.spec, p.params, cache, dlogits)
    _, grads, _ = fnmlp.loss_and_grads(p.spec, p.params, p.state, x, labels)
    fnmlp.evaluate(p.spec, p.params, p.state, x, labels)
    grads_before = as_bytes(grads)
    opt.update(grads, opt_state, p.params)
    fnmlp.fit(p.spec, p.params, p.state, opt, (x, labels), epochs=1, batch_size=max(1, p.batch // 2), rng=0)

    assert as_bytes(inputs) == before
    assert as_bytes((logits, cache.outputs, dlogits)) == kept
    assert as_bytes(grads) == grads_before


# --- Eval mode is a function of each row ---------------------------------------------------------

@EXAMPLES
@given(problems())
def test_eval_mode_is_deterministic_and_row_by_row_equals_batched(p):
    batched = fnmlp.predict(p.spec, p.params, p.state, p.x)
    np.testing.assert_array_equal(batched, fnmlp.predict(p.spec, p.params, p.state, p.x))
    unfolded = fnmlp.forward(p.spec, p.params, p.state, p.x, train=False)[0]
    tol = tolerance(p.x.dtype)
    if p.spec.num_bn_layers or "sigmoid" in p.spec.activation_names[:-1]:
        # predict folds BatchNorm, and a hidden sigmoid as tanh, into the affine maps: equal to rounding
        np.testing.assert_allclose(batched, unfolded, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(batched, unfolded)
    rows = np.concatenate([fnmlp.predict(p.spec, p.params, p.state, p.x[i:i + 1]) for i in range(p.batch)])
    np.testing.assert_allclose(rows, batched, rtol=tol, atol=tol)


@EXAMPLES
@given(problems(min_batch=1, max_batch=1, min_bn=1))
def test_batchnorm_over_one_row_outputs_beta(p):
    """Training mode over a single row: mean = the row, variance 0, so the normalised values are 0,
    the first BatchNorm layer outputs beta, the running variance shrinks by alpha, and every
    gradient is finite (gamma's is 0: nothing it scales varies)."""
    logits, cache, new_state = fnmlp.forward(p.spec, p.params, p.state, p.x, train=True)
    bn = cache.batchnorm[0]
    np.testing.assert_allclose(bn.normalized, 0, atol=1e-3)
    np.testing.assert_allclose(bn.out[0], p.params.beta[0], rtol=1e-3, atol=1e-3)
    alpha = p.spec.bn_alpha
    np.testing.assert_allclose(new_state.running_var[0], alpha * p.state.running_var[0], rtol=1e-6)
    _, grads, _ = fnmlp.loss_and_grads(p.spec, p.params, p.state, p.x, p.labels)
    assert_finite(grads)
    np.testing.assert_allclose(grads.gamma[0], 0, atol=1e-3)


# --- Trees and checkpoints ------------------------------------------------------------------------

@EXAMPLES
@given(problems(max_batch=2))
def test_tree_map_and_tree_leaves_round_trip(p):
    opt_state = fnmlp.sgd(0.1, 0.5).init(p.params)
    for tree in (p.params, p.state, opt_state, (p.params, [p.state])):
        leaves = fnmlp.tree_leaves(tree)
        copied = fnmlp.tree_map(np.array, tree)
        assert type(copied) is type(tree) and as_bytes(copied) == as_bytes(tree)
        assert fnmlp.tree_allclose(copied, tree, rtol=0, atol=0)
        refill = iter(leaves)
        rebuilt = fnmlp.tree_map(lambda _: next(refill), tree)
        assert as_bytes(rebuilt) == as_bytes(tree) and next(refill, None) is None
        doubled = fnmlp.tree_map(lambda a: a * 2, tree)
        assert as_bytes(fnmlp.tree_leaves(doubled)) == as_bytes([a * 2 for a in leaves])
        summed = fnmlp.tree_map(np.add, tree, tree)
        assert fnmlp.tree_allclose(summed, doubled, rtol=0, atol=0)
    spec = p.spec
    assert fnmlp.tree_leaves(p.params) == [*p.params.W, *p.params.b, *p.params.gamma, *p.params.beta]
    assert len(fnmlp.tree_leaves(p.params)) == 2 * spec.num_layers + 2 * spec.num_bn_layers


@EXAMPLES
@given(problems(max_batch=2), st.sampled_from(["RandomState", "Generator"]), st.integers(0, 5))
def test_checkpoints_give_back_exactly_what_was_saved(p, generator, epoch):
    opt = fnmlp.sgd(0.05, momentum=0.9)
    velocity = fnmlp.tree_map(lambda a: a * np.asarray(-0.5, a.dtype), p.params)
    order = np.random.default_rng(epoch).permutation(7)
    rng = np.random.RandomState(epoch) if generator == "RandomState" else np.random.default_rng(epoch)
    rng.random()
    train_state = fnmlp.TrainState(p.params, p.state, sgd_state(velocity), epoch, order, rng)
    meta = {"epoch": epoch, "note": "h\u00e9", "nan": float("nan")}
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "ckpt.npz"
        fnmlp.save_checkpoint(path, p.spec, p.params, p.state, train_state.opt_state, meta)
        spec, params, state, opt_state, loaded_meta = fnmlp.load_checkpoint(path)
        assert spec == p.spec
        assert as_bytes((params, state, opt_state)) == as_bytes((p.params, p.state, train_state.opt_state))
        assert loaded_meta["note"] == meta["note"] and np.isnan(loaded_meta["nan"])

        fnmlp.save_train_state(path, p.spec, opt, train_state)
        spec, optimizer, loaded, _ = fnmlp.load_train_state(path)
        assert spec == p.spec and optimizer == opt and loaded.epoch == epoch
        assert as_bytes((loaded.params, loaded.bn_state, loaded.opt_state, loaded.order)) == as_bytes(
            (p.params, p.state, train_state.opt_state, order))
        assert type(loaded.rng) is type(rng)
        np.testing.assert_array_equal(loaded.rng.random(5), rng.random(5))
        assert [name for name in Path(directory).iterdir()] == [path], "no temporary file is left"


# --- The handout adapter computes what the functions compute --------------------------------------

@EXAMPLES
@given(problems(min_batch=2, activations=sorted(HW1_CLASSES)))
def test_the_handout_mlp_matches_the_pure_functions(p):
    spec, params = p.spec, p.params
    weights, biases = iter(params.W), iter(params.b)
    mlp = hw1.MLP(spec.layer_sizes[0], spec.layer_sizes[-1], list(spec.layer_sizes[1:-1]),
                  [HW1_CLASSES[name]() for name in spec.activation_names], lambda m, n: next(weights),
                  lambda n: next(biases), hw1.SoftmaxCrossEntropy(), lr=0.1, num_bn_layers=spec.num_bn_layers)
    for i, layer in enumerate(mlp.bn_layers or []):
        layer.gamma, layer.beta = params.gamma[i][None], params.beta[i][None]
        layer.running_mean, layer.running_var = p.state.running_mean[i][None], p.state.running_var[i][None]
    one_hot = fnmlp.one_hot(p.labels, spec.layer_sizes[-1])

    logits = mlp.forward(p.x)
    expected, _, new_state = fnmlp.forward(spec, params, p.state, p.x, train=True)
    tol = tolerance(p.x.dtype)
    np.testing.assert_allclose(logits, expected, rtol=tol, atol=tol)
    mlp.backward(one_hot)
    _, grads, _ = fnmlp.loss_and_grads(spec, params, p.state, p.x, p.labels)
    for ours, theirs in zip([*mlp.dW, *mlp.db], [*grads.W, *grads.b]):
        np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)
    for i, layer in enumerate(mlp.bn_layers or []):
        np.testing.assert_allclose(layer.dgamma, grads.gamma[i] * p.batch, rtol=tol, atol=tol)
        np.testing.assert_allclose(layer.running_var[0], new_state.running_var[i], rtol=tol, atol=tol)
    mlp.eval()
    np.testing.assert_allclose(mlp.forward(p.x), fnmlp.predict(spec, params, new_state, p.x), rtol=tol, atol=tol)
