"""The pure core on the array API standard: each computation on NumPy arrays and on array_api_strict's
(a minimal namespace that refuses anything outside the standard), checked against the references of
``helpers`` and formulas written out here; array_api_strict's float64 results against NumPy's to
1e-12; mixed libraries, devices and a device without float64 refused by name."""

import subprocess
import sys
from pathlib import Path

import attrs
import numpy as np
import pytest

import fnmlp
from fnmlp import optimizers as optim
from fnmlp.model import inference, kernels
from fnmlp.model.activations import BUILTINS
from helpers import reference_activation, reference_forward, reference_mean_loss, random_problem

xs = pytest.importorskip("array_api_strict")
ROOT = Path(__file__).resolve().parent.parent
NO_FLOAT64 = xs.Device("no_float64")


@pytest.fixture(params=[np, xs], ids=["numpy", "array_api_strict"])
def xp(request):
    return request.param


def move(tree, xp, device=None):
    return fnmlp.to_namespace(tree, xp, device)


def host(tree):
    return fnmlp.to_numpy(tree)


def relative(ours, wanted):
    """The largest difference between corresponding leaves over the largest magnitude of ``wanted``'s."""
    pairs = list(zip(fnmlp.tree_leaves(host(ours)), fnmlp.tree_leaves(host(wanted))))
    assert pairs
    difference = max(float(np.abs(np.asarray(a, np.float64) - b).max(initial=0.0)) for a, b in pairs)
    return difference / max(float(np.abs(b).max(initial=0.0)) for _, b in pairs)


def assert_in(xp, *arrays, dtype="float64"):
    """Each array (other leaves, such as step counts, are skipped) belongs to ``xp`` and has ``dtype``."""
    for array in arrays:
        if isinstance(array, int):
            continue
        assert fnmlp.array_namespace(array) is xp
        assert (array.dtype == np.dtype(dtype)) if xp is np else (array.dtype == getattr(xp, dtype))


def problem(spec, batch=12, seed=0):
    return random_problem(spec, batch, seed)


BN_SPEC = fnmlp.MLPSpec((5, 6, 4, 3), ("tanh", "sigmoid", "identity"), num_bn_layers=1, l2=0.3)


@pytest.mark.parametrize("train", [True, False])
def test_forward_matches_the_reference_in_the_inputs_namespace(xp, train):
    params, state, x, _ = problem(BN_SPEC)
    outputs, cache, new_state = fnmlp.forward(BN_SPEC, move(params, xp), move(state, xp), move(x, xp), train=train)
    logits, _, means, variances = reference_forward(BN_SPEC, params, state, x, train)
    assert_in(xp, outputs, *cache.outputs, *new_state.running_mean)
    assert relative(outputs, logits) < 1e-12
    assert relative(new_state.running_mean, means) < 1e-12 and relative(new_state.running_var, variances) < 1e-12


def test_float32_stays_float32_and_records_built_with_tree_map_work(xp):
    params, state, x, labels = problem(BN_SPEC)
    params32 = fnmlp.tree_map(lambda a: xp.asarray(a.astype(np.float32)), params)
    state32 = fnmlp.tree_map(lambda a: xp.asarray(a.astype(np.float32)), state)
    loss, grads, new_state = fnmlp.loss_and_grads(BN_SPEC, params32, state32, xp.asarray(x.astype(np.float32)),
                                                  xp.asarray(labels))
    assert_in(xp, *fnmlp.tree_leaves(grads), *fnmlp.tree_leaves(new_state), dtype="float32")
    assert abs(loss - reference_mean_loss(BN_SPEC, params, state, x, labels)) < 1e-5


@pytest.mark.parametrize("loss", ["softmax_cross_entropy", "mse"])
def test_backward_and_loss_and_grads_pass_check_grads_with_dropout_and_batchnorm(xp, loss):
    spec = fnmlp.MLPSpec((4, 5, 3), ("gelu", "identity"), num_bn_layers=1, dropout=(0.25, 0.5), l2=0.2, loss=loss)
    params, state, x, labels = problem(spec, batch=6)
    targets = labels if loss != "mse" else np.random.default_rng(3).normal(size=(6, 3))
    report = fnmlp.check_grads(spec, move(params, xp), move(state, xp), move(x, xp), move(targets, xp), rng=5)
    assert 0 < report.max_error < 1e-6 and report.checked["params.W[0]"] == 20


def test_loss_and_grads_and_backward_match_the_reference_loss(xp):
    params, state, x, labels = problem(BN_SPEC)
    loss, grads, _ = fnmlp.loss_and_grads(BN_SPEC, move(params, xp), move(state, xp), move(x, xp), move(labels, xp))
    assert abs(loss - reference_mean_loss(BN_SPEC, params, state, x, labels)) < 1e-12
    outputs, cache, _ = fnmlp.forward(BN_SPEC, move(params, xp), move(state, xp), move(x, xp), train=True)
    probs = np.exp(host(outputs)) / np.exp(host(outputs)).sum(axis=1, keepdims=True)
    dlogits = probs - np.eye(3)[labels]
    via_backward, dx = fnmlp.backward_with_input_grad(BN_SPEC, move(params, xp), cache, move(dlogits / 12, xp))
    without_l2 = attrs.evolve(grads, W=[g - 0.3 / 12 * w for g, w in zip(grads.W, move(params, xp).W)])
    assert_in(xp, dx, *fnmlp.tree_leaves(via_backward))
    assert relative(via_backward, without_l2) < 1e-12


@pytest.mark.parametrize("activation", BUILTINS, ids=lambda a: a.name)
def test_every_builtin_activation_value_and_derivative(xp, activation):
    z = np.linspace(-4.0, 4.0, 33).reshape(3, 11) + 0.01
    a = activation.forward(move(z, xp))
    assert_in(xp, a)
    assert relative(a, reference_activation(activation, z)) < 1e-14
    h = 1e-6
    numerical = (reference_activation(activation, z + h) - reference_activation(activation, z - h)) / (2 * h)
    delta = np.full_like(z, 0.5)
    got = activation.backward(move(delta, xp), move(z, xp) if activation.needs_z else None,
                              a if activation.needs_a else None)
    assert_in(xp, got)
    assert relative(got, 0.5 * numerical) < 1e-8
    assert relative(activation.grad(move(z, xp) if activation.needs_z else None, a), numerical) < 1e-8


def test_softmax_cross_entropy_and_its_fused_form(xp):
    rng = np.random.default_rng(0)
    logits, labels = rng.normal(0, 3, (7, 4)), rng.integers(0, 4, 7)
    losses, cache = fnmlp.softmax_cross_entropy(move(logits, xp), move(labels, xp))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert relative(losses, -np.log(probs[np.arange(7), labels])) < 1e-13
    assert relative(fnmlp.softmax_cross_entropy_grad(cache), probs - np.eye(4)[labels]) < 1e-13
    loss_sum, dout = fnmlp.SOFTMAX_CROSS_ENTROPY.sum_and_grad(move(logits, xp), move(labels, xp), 2.0)
    assert abs(loss_sum - float(-np.log(probs[np.arange(7), labels]).sum())) < 1e-12
    assert relative(dout, 2.0 * (probs - np.eye(4)[labels]) / 7) < 1e-13
    assert relative(fnmlp.log_softmax(move(logits, xp)), np.log(probs)) < 1e-13
    assert relative(fnmlp.one_hot(move(labels, xp), 4), np.eye(4)[labels]) == 0
    assert fnmlp.SOFTMAX_CROSS_ENTROPY.metric_totals(move(logits, xp), move(labels, xp)).tolist() == [
        7, int((logits.argmax(axis=1) != labels).sum())]


def test_mean_squared_error_and_r2(xp):
    rng = np.random.default_rng(1)
    outputs, targets = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    losses, cache = fnmlp.mean_squared_error(move(outputs, xp), move(targets, xp))
    assert relative(losses, ((outputs - targets) ** 2).mean(axis=1)) < 1e-14
    assert relative(fnmlp.mean_squared_error_grad(cache), outputs - targets) < 1e-14
    loss_sum, dout = fnmlp.MEAN_SQUARED_ERROR.sum_and_grad(move(outputs, xp), move(targets, xp))
    assert abs(loss_sum - ((outputs - targets) ** 2).sum() / 2) < 1e-12
    assert relative(dout, 2 * (outputs - targets) / 12) < 1e-14
    totals = fnmlp.MEAN_SQUARED_ERROR.metric_totals(move(outputs, xp), move(targets, xp))
    r2 = 1 - ((targets - outputs) ** 2).sum(axis=0) / ((targets - targets.mean(axis=0)) ** 2).sum(axis=0)
    assert abs(fnmlp.MEAN_SQUARED_ERROR.metric(totals) - r2.mean()) < 1e-12


@pytest.mark.parametrize("train", [True, False])
def test_batchnorm_forward_and_backward(xp, train):
    rng = np.random.default_rng(2)
    z, gamma, beta = rng.normal(1, 2, (9, 4)), rng.uniform(0.5, 1.5, 4), rng.normal(size=4)
    mean0, var0, dout = rng.normal(size=4), rng.uniform(0.5, 2, 4), rng.normal(size=(9, 4))
    out, cache, new_mean, new_var = fnmlp.batchnorm_forward(*move((z, gamma, beta, mean0, var0), xp),
                                                            train=train, alpha=0.9, eps=1e-5)
    mean, var = (z.mean(axis=0), z.var(axis=0)) if train else (mean0, var0)
    norm = (z - mean) / np.sqrt(var + 1e-5)
    assert relative(out, gamma * norm + beta) < 1e-13
    assert relative(new_mean, 0.9 * mean0 + 0.1 * mean if train else mean0) < 1e-14
    dz, dgamma, dbeta = fnmlp.batchnorm_backward(cache, move(gamma, xp), move(dout, xp))
    assert_in(xp, out, dz, dgamma, dbeta, new_var)
    assert relative(dgamma, (dout * norm).sum(axis=0)) < 1e-13 and relative(dbeta, dout.sum(axis=0)) < 1e-13
    expected = gamma / np.sqrt(var + 1e-5) * (dout - dout.mean(axis=0) - norm * (dout * norm).mean(axis=0)
                                              if train else dout)
    assert relative(dz, expected) < 1e-12


def test_dropout_uses_the_same_host_mask_in_every_namespace(xp):
    spec = fnmlp.MLPSpec((6, 3), ("identity",), dropout=(0.5,))
    params, state = fnmlp.init_params(spec, 0)
    x = np.random.default_rng(4).normal(size=(10, 6))
    outputs, cache, _ = fnmlp.forward(spec, move(params, xp), move(state, xp), move(x, xp), train=True, rng=7)
    mask = kernels.dropout_mask(np.random.default_rng(7), (10, 6), 0.5, np.dtype(np.float64))
    assert set(np.unique(mask)) == {0.0, 2.0}
    assert np.array_equal(host(cache.masks[0]), mask)
    assert relative(outputs, (x * mask) @ params.W[0] + params.b[0]) < 1e-14


def _sgd_reference(p, grads, lrs, momentum, nesterov, weight_decay):
    buffers = [np.zeros_like(a) for a in p]
    for step, g in enumerate(grads):
        for k, (a, gk) in enumerate(zip(p, g)):
            gk = gk + weight_decay * a if k < 3 else gk     # W[0..2] decay; biases and BatchNorm do not
            buffers[k] = momentum * buffers[k] + gk
            p[k] = a - lrs(step) * (gk + momentum * buffers[k] if nesterov else buffers[k])
    return p


def _adam_reference(p, grads, lrs, weight_decay, b1=0.9, b2=0.999, eps=1e-8):
    mu, nu = [np.zeros_like(a) for a in p], [np.zeros_like(a) for a in p]
    for step, g in enumerate(grads, start=1):
        for k, (a, gk) in enumerate(zip(p, g)):
            mu[k] = b1 * mu[k] + (1 - b1) * gk
            nu[k] = b2 * nu[k] + (1 - b2) * gk * gk
            direction = mu[k] / (1 - b1 ** step) / (np.sqrt(nu[k]) / np.sqrt(1 - b2 ** step) + eps)
            p[k] = a - lrs(step - 1) * (direction + (weight_decay * a if k < 3 else 0.0))
    return p


SCHEDULE = optim.warmup_cosine_decay(0.05, 2, 10)
OPTIMIZERS = {
    "sgd_nesterov_decay": (fnmlp.sgd(SCHEDULE, momentum=0.9, nesterov=True, weight_decay=0.01),
                           lambda p, g: _sgd_reference(p, g, SCHEDULE, 0.9, True, 0.01)),
    "sgd_momentum": (fnmlp.sgd(optim.exponential_decay(0.1, 0.5), momentum=0.8),
                     lambda p, g: _sgd_reference(p, g, optim.exponential_decay(0.1, 0.5), 0.8, False, 0.0)),
    "adam": (fnmlp.adam(optim.piecewise_constant([1], [0.01, 0.002])),
             lambda p, g: _adam_reference(p, g, optim.piecewise_constant([1], [0.01, 0.002]), 0.0)),
    "adamw_warmup_cosine": (fnmlp.adamw(SCHEDULE, weight_decay=0.1),
                            lambda p, g: _adam_reference(p, g, SCHEDULE, 0.1)),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_with_a_schedule_follows_its_formula(xp, name):
    opt, reference = OPTIMIZERS[name]
    params, _, _, _ = problem(BN_SPEC)
    rng = np.random.default_rng(5)
    grads = [fnmlp.tree_map(lambda a: rng.standard_normal(a.shape), params) for _ in range(3)]
    theirs, state = move(params, xp), opt.init(move(params, xp))
    for g in grads:
        theirs, state = opt.update(move(g, xp), state, theirs)
    assert_in(xp, *fnmlp.tree_leaves(theirs), *fnmlp.tree_leaves(state))
    wanted = reference(fnmlp.tree_leaves(params), [fnmlp.tree_leaves(g) for g in grads])
    assert relative(fnmlp.tree_leaves(theirs), wanted) < 1e-12
    assert opt.learning_rate(state) > 0


def test_clip_by_global_norm_and_the_state_round_trip(xp):
    params, _, _, _ = problem(BN_SPEC)
    opt = fnmlp.Optimizer(optim.chain(optim.clip_by_global_norm(0.5), optim.scale_by_adam(), optim.scale_by_learning_rate(0.1)))
    grads = fnmlp.tree_map(lambda a: np.full(a.shape, 2.0), params)
    new, state = opt.update(move(grads, xp), opt.init(move(params, xp)), move(params, xp))
    step = fnmlp.tree_leaves(host(new))[0] - params.W[0]
    assert np.allclose(step, -0.1, rtol=1e-6)     # Adam's first step is lr * sign(g), whatever the clipping
    back = host(state)
    assert back[1].step == 1 and all(isinstance(a, np.ndarray) for a in fnmlp.tree_leaves(back[1].mu))
    assert fnmlp.tree_allclose(move(back, xp), state, rtol=0, atol=0)


def test_inference_predict_and_evaluate_match_numpys_folded_path(xp):
    params, state, x, labels = problem(BN_SPEC, batch=30)
    logits = fnmlp.predict(BN_SPEC, move(params, xp), move(state, xp), move(x, xp))
    assert_in(xp, logits)
    assert relative(logits, fnmlp.predict(BN_SPEC, params, state, x)) < 1e-12
    loss, error = inference.evaluate(BN_SPEC, move(params, xp), move(state, xp), move(x, xp), move(labels, xp))
    want_loss, want_error = inference.evaluate(BN_SPEC, params, state, x, labels)
    assert abs(loss - want_loss) < 1e-12 and error == want_error


def test_init_params_like_draws_numpys_numbers_in_the_namespace(xp):
    like = xp.asarray(np.zeros(2, np.float32))
    params, state = fnmlp.init_params(BN_SPEC, 3, weight_init="he", dtype=np.float32, like=like)
    want, _ = fnmlp.init_params(BN_SPEC, 3, weight_init="he", dtype=np.float32)
    assert_in(xp, *fnmlp.tree_leaves(params), *fnmlp.tree_leaves(state), dtype="float32")
    assert all(np.array_equal(a, b) for a, b in zip(fnmlp.tree_leaves(host(params)), fnmlp.tree_leaves(want)))


# --- array_api_strict against NumPy, and what is refused ---------------------------------------------

def test_float64_loss_and_grads_and_three_steps_of_three_optimizers_match_numpy():
    spec = fnmlp.MLPSpec((8, 16, 16, 4), ("relu", "gelu", "identity"), num_bn_layers=2, dropout=(0.1, 0.2, 0.0),
                         l2=1e-3)
    params, state, x, labels = problem(spec, batch=64, seed=1)
    for opt in (fnmlp.sgd(0.1, momentum=0.9, nesterov=True, weight_decay=1e-4), fnmlp.adam(1e-3),
                fnmlp.adamw(SCHEDULE, weight_decay=0.01)):
        ours = [params, state, opt.init(params)]
        theirs = [move(params, xs), move(state, xs), opt.init(move(params, xs))]
        for step in range(3):
            for run, data in ((ours, (x, labels)), (theirs, move((x, labels), xs))):
                loss, grads, run[1] = fnmlp.loss_and_grads(spec, run[0], run[1], *data, rng=step)
                run[0], run[2] = opt.update(grads, run[2], run[0])
                run.append((loss, grads))
            assert abs(theirs[-1][0] - ours[-1][0]) <= 1e-12 * abs(ours[-1][0])
            assert relative(theirs[-1][1], ours[-1][1]) <= 1e-12
        assert_in(xs, *fnmlp.tree_leaves(theirs[:3]))
        assert relative(theirs[:3], ours[:3]) <= 1e-12


def test_mixed_namespaces_are_refused_naming_the_argument_and_both_libraries():
    params, state, x, labels = problem(BN_SPEC)
    with pytest.raises(TypeError, match=r"^x: expected an array of numpy, as params.W\[0\] is, got an array of "
                                        r"array_api_strict"):
        fnmlp.forward(BN_SPEC, params, state, xs.asarray(x), train=False)
    with pytest.raises(TypeError, match=r"^bn_state.running_mean\[0\]: expected an array of array_api_strict"):
        fnmlp.loss_and_grads(BN_SPEC, move(params, xs), state, xs.asarray(x), labels)
    with pytest.raises(TypeError, match=r"^targets: expected an array of array_api_strict, as x is, got an array "
                                        r"of numpy"):
        fnmlp.loss_and_grads(BN_SPEC, move(params, xs), move(state, xs), xs.asarray(x), labels)
    opt = fnmlp.adam(1e-3)
    with pytest.raises(TypeError, match=r"^grads.W\[0\]: expected an array of array_api_strict, as params.W\[0\] is"):
        opt.update(params, opt.init(move(params, xs)), move(params, xs))
    with pytest.raises(TypeError, match=r"^opt_state\[0\].mu.W\[0\]: expected an array of numpy"):
        opt.update(params, opt.init(move(params, xs)), params)


def test_arrays_on_two_devices_are_refused_naming_both():
    params, state, x, labels = problem(BN_SPEC)
    device1 = xs.Device("device1")
    with pytest.raises(TypeError, match=r"^x: expected an array on device .*CPU_DEVICE.*, as params.W\[0\] is, "
                                        r"got one on device .*device1"):
        fnmlp.forward(BN_SPEC, move(params, xs), move(state, xs), xs.asarray(x, device=device1), train=False)
    outputs, _, _ = fnmlp.forward(BN_SPEC, move(params, xs, device1), move(state, xs, device1),
                                  xs.asarray(x, device=device1), train=False)
    assert outputs.device == device1


def test_a_device_without_float64_refuses_float64_and_computes_in_float32():
    params, state, x, labels = problem(BN_SPEC)
    like = xs.asarray(np.zeros(1, np.float32), device=NO_FLOAT64)
    with pytest.raises(TypeError, match=r"^dtype: expected a dtype that array_api_strict has on device .*no_float64"
                                        r".*, got float64"):
        fnmlp.init_params(BN_SPEC, 0, like=like)
    with pytest.raises(TypeError, match=r"^tree: .*has no float64 there"):
        fnmlp.to_namespace(params, xs, NO_FLOAT64)
    p32, s32 = fnmlp.init_params(BN_SPEC, 0, dtype=np.float32, like=like)
    x32 = xs.asarray(x.astype(np.float32), device=NO_FLOAT64)
    with pytest.raises(TypeError, match=r"^x: expected a dtype .* got float64"):
        fnmlp.check_grads(BN_SPEC, p32, s32, x32, xs.asarray(labels, device=NO_FLOAT64))
    with pytest.raises(TypeError, match=r"^x: expected a dtype .* got float64"):
        fnmlp.forward(BN_SPEC, p32, s32, xs.asarray(np.ones((2, 5), np.int32), device=NO_FLOAT64), train=False)
    loss, grads, _ = fnmlp.loss_and_grads(BN_SPEC, p32, s32, x32, xs.asarray(labels, device=NO_FLOAT64))
    assert grads.W[0].device == NO_FLOAT64 and grads.W[0].dtype == xs.float32 and np.isfinite(loss)


def test_numpy_work_never_imports_array_api_compat():
    code = ("import sys, numpy as np, fnmlp\n"
            "spec = fnmlp.MLPSpec((4, 3, 2), ('relu', 'identity'), num_bn_layers=1, dropout=(0.5, 0.0))\n"
            "p, s = fnmlp.init_params(spec, 0)\n"
            "x, y = np.ones((5, 4)), np.array([0, 1, 0, 1, 1])\n"
            "loss, g, s = fnmlp.loss_and_grads(spec, p, s, x, y, rng=0)\n"
            "opt = fnmlp.adamw(1e-3); p, o = opt.update(g, opt.init(p), p)\n"
            "fnmlp.predict(spec, p, s, x); fnmlp.check_grads(spec, p, s, x, y); fnmlp.to_numpy(p)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('array_api_compat', 'array_api_strict')))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=str(ROOT))
    assert result.stdout.strip() == "[]"


def test_without_array_api_compat_one_line_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "array_api_compat", None)
    with pytest.raises(ImportError, match=r"^fnmlp needs the array-api-compat package for arrays other than "
                                          r"NumPy's: pip install 'fnmlp\[array-api\]'$"):
        fnmlp.array_namespace(xs.asarray([1.0]))


def test_check_backends_script_compares_a_namespace_with_numpy():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_backends.py"), "--backends",
                           "array_api_strict", "--dtypes", "float32"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("array_api_strict ")]
    assert len(rows) == 13 and all(row[-1] == "pass" and float(row[-2]) < 1e-4 for row in rows)
    assert any("adamw" in " ".join(row) for row in rows)
