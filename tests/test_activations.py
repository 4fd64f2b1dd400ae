"""Activations as values: the built-ins against the gradient checker, a user's own activation through
the pure API, the handout's MLP and checkpoints, and the registry of names."""

import json
import warnings
import zipfile

import attrs
import numpy as np
import pytest

import fnmlp
from fnmlp.runs.train import configure
import fnmlp.hw1 as hw1
from helpers import random_problem, reference_activation

NEW_BUILTINS = ("leaky_relu", "elu", "gelu", "softplus", "silu")


def user_leaky_relu(name="user_leaky_relu", slope=0.05):
    """What a user writes: a LeakyReLU with its own slope, derivative from the input."""
    return fnmlp.Activation(name, fn=lambda z: np.where(z > 0, z, slope * z),
                            derivative=lambda z: np.where(z > 0, 1.0, slope), uses="z", kinks=(0.0,))


class StudentLeakyReLU(hw1.Activation):
    """What a student writes against the handout."""

    def forward(self, x):
        self.state = np.where(x > 0, x, 0.05 * x)
        return self.state

    def derivative(self):
        return np.where(self.state > 0, 1.0, 0.05)


@pytest.fixture(autouse=True)
def registry_as_it_was():
    """Activations a test registers are forgotten after it, so other tests see the built-ins only."""
    saved = dict(fnmlp.ACTIVATIONS)
    yield
    fnmlp.ACTIVATIONS.clear()
    fnmlp.ACTIVATIONS.update(saved)


@pytest.fixture(scope="module")
def mnist_slice():
    data = fnmlp.load_mnist(dtype=np.float64)
    return (data.train.x[:2000], data.train.y[:2000]), (data.validation.x[:1000], data.validation.y[:1000])


# --- The built-ins --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [a.name for a in fnmlp.activations.BUILTINS])
def test_every_builtin_passes_the_checker_up_to_50_in_both_dtypes_without_warnings(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = fnmlp.check_activation(name)
    assert report.checked["derivative"] >= 300
    assert set(report.errors) >= {"derivative", "float32 value", "float32 derivative", "float32 backward"}
    assert report.errors["derivative"] < 1e-6
    points = fnmlp.gradcheck.default_points(fnmlp.ACTIVATIONS[name].kinks)
    assert points.min() == -50.0 and points.max() == 50.0


@pytest.mark.parametrize("name", NEW_BUILTINS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_new_builtins_are_finite_and_follow_their_formulas_far_out(name, dtype):
    act = fnmlp.ACTIVATIONS[name]
    z = np.array([-1e4, -50.0, -20.0, -1.0, -0.1, 0.1, 1.0, 20.0, 50.0, 1e4], dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        a = act.fn(z)
        grad = act.grad(z if act.needs_z else None, a if act.needs_a else None)
    assert a.dtype == dtype and grad.dtype == dtype
    assert np.isfinite(a).all() and np.isfinite(grad).all()
    with np.errstate(over="ignore"):
        expected = reference_activation(name, z.astype(np.float64))
    np.testing.assert_allclose(a, expected, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-30)
    # Far out the derivatives are those of the asymptotes.
    assert grad[-1] == pytest.approx(1.0) and grad[0] == pytest.approx(0.01 if name == "leaky_relu" else 0.0, abs=1e-30)


def test_the_derivatives_by_hand():
    z = np.array([-2.0, -0.5, 0.5, 2.0])
    s = 1 / (1 + np.exp(-z))
    u = np.sqrt(2 / np.pi) * (z + 0.044715 * z ** 3)
    t = np.tanh(u)
    expected = {
        "leaky_relu": np.where(z > 0, 1.0, 0.01),
        "elu": np.where(z > 0, 1.0, np.exp(z)),
        "gelu": 0.5 * (1 + t) + 0.5 * z * (1 - t ** 2) * np.sqrt(2 / np.pi) * (1 + 3 * 0.044715 * z ** 2),
        "softplus": s,
        "silu": s + z * s * (1 - s),
    }
    for name, want in expected.items():
        act = fnmlp.ACTIVATIONS[name]
        a = act.fn(z)
        np.testing.assert_allclose(act.grad(z, a) if act.uses == "both" else act.grad(z if act.needs_z else None,
                                                                                      a if act.needs_a else None),
                                   want, rtol=1e-12, err_msg=name)
    assert fnmlp.ACTIVATIONS["linear"].fn(z) is not z
    np.testing.assert_array_equal(fnmlp.ACTIVATIONS["linear"].fn(z), z)


def test_the_checker_catches_a_wrong_derivative_and_overflow():
    wrong = fnmlp.Activation("wrong_softplus", fn=lambda z: np.logaddexp(0.0, z),
                             derivative=lambda z: 1 / (1 + np.exp(-z)) * 1.01, uses="z")
    with pytest.raises(AssertionError, match=r"activation 'wrong_softplus' derivative at z=.*: analytic .*numerical"):
        fnmlp.check_activation(wrong)

    def overflowing(z):  # exp(2 * 50) is past float32's range
        return (np.exp(2 * z) - 1) / (np.exp(2 * z) + 1)

    naive = fnmlp.Activation("naive_tanh", fn=overflowing, derivative=lambda a: 1 - a * a, uses="a")
    with pytest.raises(AssertionError, match="activation 'naive_tanh' in float32: overflow"):
        fnmlp.check_activation(naive)
    fnmlp.check_activation(naive, np.linspace(-5, 5, 11))  # fine where it does not overflow


# --- A user's own activation ----------------------------------------------------------------------

def test_a_user_activation_passes_check_grads_and_a_wrong_one_is_caught_naming_the_array():
    act = user_leaky_relu()
    fnmlp.check_activation(act)
    spec = fnmlp.MLPSpec((6, 5, 5, 4), (act, act, "identity"), num_bn_layers=1)
    params, state, x, labels = random_problem(spec, 9, seed=3)
    report = fnmlp.check_grads(spec, params, state, x, labels)
    assert set(report.errors) >= {"params.W[0]", "params.W[2]", "params.gamma[0]", "x"}
    assert report.max_error < 1e-6
    assert fnmlp.check_grads(spec, params, state, x, labels, train=False).max_error < 1e-6

    wrong = attrs.evolve(act, derivative=lambda z: np.where(z > 0, 1.0, 0.5))
    bad_spec = attrs.evolve(spec, activations=(wrong, act, "identity"))
    with pytest.raises(AssertionError, match=r"^params\.\w+\[0\] at \(\d+(, \d+)?\): analytic gradient .*, numerical"):
        fnmlp.check_grads(bad_spec, params, state, x, labels)


def test_a_user_activation_trains_on_mnist_through_the_pure_api(mnist_slice):
    (x, y), (vx, vy) = mnist_slice
    act = user_leaky_relu()
    spec = fnmlp.MLPSpec((784, 64, 10), (act, "identity"))
    params, bn_state = fnmlp.init_params(spec, rng=0, weight_init="he")
    optimizer = fnmlp.sgd(lr=0.05, momentum=0.9)
    opt_state = optimizer.init(params)
    before = fnmlp.evaluate(spec, params, bn_state, vx, vy)[1]
    for epoch in range(3):
        for begin in range(0, x.shape[0], 50):
            _, grads, bn_state = fnmlp.loss_and_grads(spec, params, bn_state, x[begin:begin + 50], y[begin:begin + 50])
            params, opt_state = optimizer.update(grads, opt_state, params)
    val_loss, val_error = fnmlp.evaluate(spec, params, bn_state, vx, vy)
    assert before > 0.8 and val_error < 0.15, (before, val_error)


def test_a_student_activation_trains_through_the_handout_mlp_and_its_methods_are_called(mnist_slice):
    (x, y), (vx, vy) = mnist_slice
    calls = {"forward": 0, "derivative": 0}

    class Counted(StudentLeakyReLU):
        def forward(self, x):
            calls["forward"] += 1
            return super().forward(x)

        def derivative(self):
            calls["derivative"] += 1
            return super().derivative()

    np.random.seed(0)
    mlp = hw1.MLP(784, 10, [64], [Counted(), hw1.Identity()], lambda m, n: np.random.randn(m, n) * np.sqrt(2 / m),
                  hw1.zeros_bias_init, hw1.SoftmaxCrossEntropy(), lr=0.05, momentum=0.9)
    one_hot = fnmlp.one_hot(y, 10)
    dset = ((x, one_hot), (vx, fnmlp.one_hot(vy, 10)), (vx, fnmlp.one_hot(vy, 10)))
    train_loss, train_error, val_loss, val_error = hw1.get_training_stats(mlp, dset, 3, 50)
    assert val_error[-1] < 0.15 and train_loss[-1] < train_loss[0]
    batches = 3 * 40
    assert calls["derivative"] == batches and calls["forward"] == batches + 3  # and one eval pass per epoch


def test_the_handout_mlp_follows_a_student_activation_exactly():
    """One forward and backward through a student's LeakyReLU equal the pure functions run with the
    same activation as a record, and its state is what its own forward kept."""
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((7, 5)), rng.integers(0, 3, 7)
    weights = [rng.standard_normal((5, 4)), rng.standard_normal((4, 3))]
    it = iter(weights)
    student = StudentLeakyReLU()
    mlp = hw1.MLP(5, 3, [4], [student, hw1.Identity()], lambda m, n: next(it), hw1.zeros_bias_init,
                  hw1.SoftmaxCrossEntropy(), lr=0.1)
    logits = mlp.forward(x)
    mlp.backward(fnmlp.one_hot(y, 3))
    spec = fnmlp.MLPSpec((5, 4, 3), (user_leaky_relu(), "identity"))
    params = fnmlp.Params(W=weights, b=[np.zeros(4), np.zeros(3)])
    _, grads, _ = fnmlp.loss_and_grads(spec, params, fnmlp.BatchNormState(), x, y)
    np.testing.assert_allclose(logits, fnmlp.predict(spec, params, fnmlp.BatchNormState(), x), rtol=1e-12)
    for ours, theirs in zip(mlp.dW, grads.W):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    np.testing.assert_array_equal(student.state, np.where(x @ weights[0] > 0, x @ weights[0], 0.05 * (x @ weights[0])))


def test_the_handout_mlp_refuses_what_lacks_the_interface():
    for bad in (hw1.Sigmoid, "relu", object()):
        with pytest.raises(TypeError, match=r"^activations\[0\]: expected an Identity, Sigmoid, Tanh or ReLU object, "
                                            r"or another with the handout's interface"):
            hw1.MLP(3, 2, [], [bad], hw1.random_normal_weight_init, hw1.zeros_bias_init, hw1.SoftmaxCrossEntropy(),
                    lr=0.1)


# --- Names: the registry, the spec, checkpoints, the CLI ------------------------------------------

def test_the_spec_takes_names_or_records_and_stores_names():
    act = user_leaky_relu("user_leaky_spec")
    spec = fnmlp.MLPSpec((3, 4, 2), (act, "relu"))
    assert spec.activations == (act, fnmlp.ACTIVATIONS["relu"]) and spec.activation_names == ("user_leaky_spec", "relu")
    assert spec.to_dict()["activations"] == ["user_leaky_spec", "relu"]
    with pytest.raises(ValueError, match=r"^activations\[0\]: expected one of .*register_activation"):
        fnmlp.MLPSpec(**spec.to_dict())
    fnmlp.register_activation(act)
    assert fnmlp.register_activation(act) is act  # again: nothing changes
    assert fnmlp.MLPSpec(**spec.to_dict()) == spec
    with pytest.raises(ValueError, match="^activation: expected a name no other activation has"):
        fnmlp.register_activation(user_leaky_relu("user_leaky_spec"))
    with pytest.raises(ValueError, match="^activation: expected a name no other activation has"):
        fnmlp.register_activation(attrs.evolve(fnmlp.ACTIVATIONS["relu"], kinks=()))
    with pytest.raises(ValueError, match="^uses: expected one of"):
        fnmlp.Activation("x", np.tanh, np.tanh, uses="out")
    with pytest.raises(TypeError, match="^derivative: expected a callable"):
        fnmlp.Activation("x", np.tanh, None)


def test_a_checkpoint_naming_an_unknown_activation_is_refused_and_left_as_it_was(tmp_path, monkeypatch):
    act = fnmlp.register_activation(user_leaky_relu("user_leaky_checkpoint"))
    spec = fnmlp.MLPSpec((3, 4, 2), (act, "identity"), dropout=(0.1, 0.2), l2=1e-3)
    params, bn_state = fnmlp.init_params(spec, rng=0)
    path = tmp_path / "model.npz"
    fnmlp.save_params(path, spec, params, bn_state)
    loaded = fnmlp.load_params(path)[0]
    assert loaded == spec

    monkeypatch.delitem(fnmlp.ACTIVATIONS, "user_leaky_checkpoint")  # as in a program that never registered it
    before = path.read_bytes()
    with pytest.raises(ValueError) as info:
        fnmlp.load_params(path)
    message = str(info.value)
    assert message.startswith(f"{path}: its spec's activations[0] is 'user_leaky_checkpoint', an activation this "
                              "program does not know")
    assert "fnmlp.register_activation(fnmlp.Activation('user_leaky_checkpoint'" in message
    assert path.read_bytes() == before
    with pytest.raises(ValueError, match=r"^spec.activations\[0\]: expected an activation registered under its name"):
        fnmlp.save_params(tmp_path / "other.npz", spec, params, bn_state)
    assert not (tmp_path / "other.npz").exists()
    monkeypatch.undo()
    assert fnmlp.load_params(path)[0] == spec


def test_an_older_checkpoint_without_dropout_loss_or_l2_loads_with_the_defaults(tmp_path):
    spec = fnmlp.MLPSpec((3, 4, 2), ("tanh", "identity"))
    params, bn_state = fnmlp.init_params(spec, rng=0)
    path = tmp_path / "old.npz"
    fnmlp.save_params(path, spec, params, bn_state)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = json.loads(np.lib.format.read_array(__import__("io").BytesIO(members["fnmlp.json.npy"])).tobytes())
    for key in ("dropout", "loss", "l2"):
        del header["spec"][key]
    arrays = {name[:-4]: np.lib.format.read_array(__import__("io").BytesIO(data))
              for name, data in members.items() if name != "fnmlp.json.npy"}
    fnmlp.runs.checkpoint._write_atomically(str(path), json.dumps(header).encode(), arrays)
    loaded = fnmlp.load_params(path)[0]
    assert loaded == spec and loaded.dropout == (0.0, 0.0) and loaded.l2 == 0.0
    assert loaded.loss is fnmlp.SOFTMAX_CROSS_ENTROPY


@pytest.mark.parametrize("name", NEW_BUILTINS + ("linear",))
def test_every_new_builtin_is_a_cli_activation(name):
    from fnmlp import cli
    config = configure(fnmlp.config.RECIPES["handout"], {"activation": [name]})
    spec = fnmlp.config.build(config, num_features=784, num_classes=10, num_train=100).spec
    assert spec.activation_names == (name,) * len(config.hidden) + ("identity",)


def test_the_readme_example_runs():
    from pathlib import Path
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    start = readme.index("# test_my_activation.py")
    namespace = {}
    exec(readme[start:readme.index("```", start)], namespace)
    namespace["test_my_activation"]()
