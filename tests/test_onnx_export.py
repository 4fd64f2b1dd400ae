"""ONNX export: onnxruntime runs the exported model and agrees with fnmlp.predict."""

import json
import sys

import numpy as np
import pytest

import fnmlp
from fnmlp.model.activations import BUILTINS
from fnmlp.datasets.inputs import standardize
from fnmlp.export import export_onnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def trained(spec, steps=3, seed=0):
    """float32 parameters after a few steps of SGD, so BatchNorm's running statistics are not 0 and 1."""
    rng = np.random.default_rng(seed)
    params, state = fnmlp.init_params(spec, seed, weight_init="xavier", dtype=np.float32)
    opt = fnmlp.sgd(lr=0.05)
    opt_state = opt.init(params)
    x = (rng.normal(size=(64, spec.layer_sizes[0])) * 2 + 1).astype(np.float32)
    y = (rng.integers(0, spec.layer_sizes[-1], 64) if spec.loss.name != "mse"
         else rng.normal(size=(64, spec.layer_sizes[-1])).astype(np.float32))
    for _ in range(steps):
        _, grads, state = fnmlp.loss_and_grads(spec, params, state, x, y)
        params, opt_state = opt.update(grads, opt_state, params)
    return params, state


def run(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"input": x})))


@pytest.mark.parametrize("bn", [0, 2], ids=["plain", "batchnorm"])
@pytest.mark.parametrize("activation", [a.name for a in BUILTINS])
def test_every_builtin_activation_matches_predict(tmp_path, activation, bn):
    spec = fnmlp.MLPSpec((5, 7, 6, 3), (activation, activation, activation), num_bn_layers=bn)
    params, state = trained(spec)
    if bn:
        assert not np.allclose(state.running_mean[0], 0.0) and not np.allclose(state.running_var[1], 1.0)
    x = (np.random.default_rng(1).normal(size=(50, 5)) * 3).astype(np.float32)
    path = export_onnx(spec, params, state, tmp_path / "model.onnx", classes=["a", "b", "c"])
    out = run(path, x)
    assert set(out) == {"logits", "probabilities"} and out["probabilities"].dtype == np.float32
    expected = fnmlp.predict(spec, params, state, x)
    reference = fnmlp.forward(spec, params, state, x.astype(np.float64), train=False)[0]
    np.testing.assert_allclose(out["probabilities"], softmax(expected), atol=1e-5, rtol=0)
    np.testing.assert_allclose(out["probabilities"], softmax(reference), atol=1e-5, rtol=0)
    np.testing.assert_allclose(out["logits"], reference, atol=1e-4 * (1 + np.abs(reference).max()), rtol=0)


def test_metadata_and_io_names(tmp_path):
    spec = fnmlp.MLPSpec((2, 3), ("identity",))
    params, state = fnmlp.init_params(spec, 0)
    path = export_onnx(spec, params, state, tmp_path / "m.onnx", classes=[False, True, 7], features=["u", "v"])
    model = onnx.load(path)
    props = {p.key: p.value for p in model.metadata_props}
    assert props["task"] == "classify"
    assert json.loads(props["classes"]) == [False, True, 7] and json.loads(props["features"]) == ["u", "v"]
    assert [i.name for i in model.graph.input] == ["input"]
    assert [o.name for o in model.graph.output] == ["logits", "probabilities"]
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert (dims[0].dim_param, dims[1].dim_value) == ("N", 2)


def test_feature_standardization_and_fill(tmp_path):
    spec = fnmlp.MLPSpec((3, 4, 2), ("relu", "identity"), num_bn_layers=1)
    params, state = trained(spec)
    mean, std, fill = np.array([10.0, -2.0, 0.5]), np.array([4.0, 0.5, 2.0]), np.array([11.0, -1.0, 0.0])
    raw = np.random.default_rng(2).normal(size=(20, 3)) * std + mean
    raw[3, 1] = np.nan
    path = export_onnx(spec, params, state, tmp_path / "m.onnx", standardize={"mean": mean, "std": std, "fill": fill})
    filled = np.where(np.isnan(raw), fill, raw)
    expected = softmax(fnmlp.predict(spec, params, state, ((filled - mean) / std).astype(np.float32)))
    np.testing.assert_allclose(run(path, raw.astype(np.float32))["probabilities"], expected, atol=1e-5, rtol=0)


def test_pixel_standardization(tmp_path):
    spec = fnmlp.MLPSpec((4, 3), ("identity",))
    params, state = trained(spec)
    pixels = np.random.default_rng(3).integers(0, 256, size=(10, 4)).astype(np.uint8)
    path = export_onnx(spec, params, state, tmp_path / "m.onnx",
                       standardize={"pixel_mean": 0.13, "pixel_std": 0.31})
    x = standardize(pixels, 0.13, 0.31, np.float32)
    expected = fnmlp.predict(spec, params, state, x)
    np.testing.assert_allclose(run(path, pixels.astype(np.float32))["logits"], expected, atol=1e-5, rtol=0)


def test_regression_values_with_target_scale(tmp_path):
    spec = fnmlp.MLPSpec((3, 5, 2), ("tanh", "identity"), num_bn_layers=1, loss="mse")
    params, state = trained(spec)
    x = np.random.default_rng(4).normal(size=(15, 3)).astype(np.float32)
    path = export_onnx(spec, params, state, tmp_path / "r.onnx", target_scale=(100.0, 20.0))
    out = run(path, x)
    assert set(out) == {"values"}
    np.testing.assert_allclose(out["values"], fnmlp.predict(spec, params, state, x) * 20.0 + 100.0, atol=1e-4,
                               rtol=1e-6)
    props = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert props["task"] == "regress"


def test_float64_model(tmp_path):
    spec = fnmlp.MLPSpec((3, 4, 2), ("relu", "identity"), num_bn_layers=1)
    params, state = trained(spec)
    x = np.random.default_rng(5).normal(size=(6, 3))
    path = export_onnx(spec, params, state, tmp_path / "m.onnx", dtype=np.float64)
    logits = run(path, x)["logits"]
    assert logits.dtype == np.float64
    np.testing.assert_allclose(logits, fnmlp.predict(spec, params, state, x), atol=1e-12, rtol=1e-12)


def test_activation_without_onnx_form_is_refused(tmp_path):
    cube = fnmlp.Activation("cube", lambda z: z ** 3, lambda z: 3 * z ** 2)
    spec = fnmlp.MLPSpec((2, 3, 2), (cube, "identity"))
    params, state = fnmlp.init_params(spec, 0)
    with pytest.raises(ValueError, match=r"spec\.activations\[0\].*got 'cube', which has none"):
        export_onnx(spec, params, state, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_missing_onnx_package(tmp_path, monkeypatch):
    spec = fnmlp.MLPSpec((2, 2), ("identity",))
    params, state = fnmlp.init_params(spec, 0)
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"^fnmlp\.export_onnx needs the onnx package: pip install 'fnmlp\[onnx\]'$"):
        export_onnx(spec, params, state, tmp_path / "m.onnx")


@pytest.mark.parametrize("task", ["classify", "regress"])
def test_table_preprocessing_goes_into_the_model(tmp_path, task):
    from fnmlp.datasets.table_data import prepare_table
    from fnmlp.datasets.tables import read_table

    rng = np.random.default_rng(6)
    x = rng.normal(size=(40, 3)) * [1.0, 10.0, 100.0] + [0.0, 5.0, 1000.0]
    x[[2, 9], [1, 2]] = np.nan
    y = np.where(x[:, 0] > 0, "up", "down") if task == "classify" else 300.0 + 7.0 * x[:, 0]
    np.savez(tmp_path / "t.npz", x=x, y=y)
    table = read_table(tmp_path / "t.npz", target="y", impute="mean")
    prep = prepare_table(table, seed=0).preprocessing
    outputs = 2 if task == "classify" else 1
    spec = fnmlp.MLPSpec((3, 4, outputs), ("elu", "identity"), num_bn_layers=1,
                         loss="softmax_cross_entropy" if task == "classify" else "mse")
    params, state = trained(spec)
    path = export_onnx(spec, params, state, tmp_path / "t.onnx", standardize=prep, classes=prep.classes,
                       features=prep.features)
    out = run(path, table.x.astype(np.float32))
    expected = fnmlp.predict(spec, params, state, prep.inputs(table, np.float32))
    if task == "classify":
        np.testing.assert_allclose(out["probabilities"], softmax(expected), atol=1e-5, rtol=0)
    else:
        np.testing.assert_allclose(out["values"], prep.targets(expected), rtol=1e-5)
