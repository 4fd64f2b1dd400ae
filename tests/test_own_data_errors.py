"""Own data refused in one line (exit 2, no run directory left), its options as TrainConfig fields, a
regression spec from build, sweeps ranking R^2 highest first, and the estimators exported to ONNX."""

import json
import sys

import matplotlib.image
import numpy as np
import pytest

from fnmlp import cli
from fnmlp.config import ConfigError, TrainConfig, build
from fnmlp.runs.files import write_metrics
from fnmlp.sweep.report import write_outputs
from fnmlp.training.loop import EpochStats

FAST = ["--hidden", "8", "--epochs", "1", "--progress", "none"]
TABLE = "a,b,name,kind\n" + "".join(f"{i % 7},{i % 3},n{i},{'xy'[i % 2]}\n" for i in range(20))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    (root / "table.csv").write_text(TABLE)
    (root / "ragged.csv").write_text("a,b,kind\n1,2,x\n3,4,y\n5,6\n")
    (root / "one.csv").write_text("a,kind\n" + "".join(f"{i},x\n" for i in range(10)))
    (root / "few.csv").write_text("a,kind\n1,x\n2,y\n3,x\n")
    (root / "empty").mkdir()
    for name in ("good", "bad"):
        (root / "broken" / name).mkdir(parents=True)
    matplotlib.image.imsave(root / "broken" / "good" / "1.png", np.eye(4))
    (root / "broken" / "bad" / "2.png").write_bytes(b"not a png")
    (root / "idx").mkdir()
    (root / "idx" / "train-images-idx3-ubyte.gz").write_bytes(b"")
    return root


def refused(capsys, tmp_path, *args):
    """The one line of stderr of a ``train`` that must fail with exit status 2 and leave no directory."""
    out = tmp_path / "run"
    assert cli.main(["train", *args, *FAST, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("fnmlp: error: ") and "Traceback" not in err, err
    assert not out.exists()
    return err


@pytest.mark.parametrize("args, expected", [
    (["table.csv", "--target", "label"], r"--target: expected a column of .*table.csv .*got 'label'"),
    (["table.csv", "--target", "kind"], r"--data: .*table.csv, column 'name': expected numbers \(leave the column out "
                                        r"with --features \.\.\.\), got 'n0' in line 2"),
    (["one.csv", "--target", "kind"], r"--target: expected a column of at least two classes.*only 'x'"),
    (["few.csv", "--target", "kind"], r"--data: expected enough rows for a test split of 0.1, got .*few.csv, of 3 rows"),
    (["ragged.csv", "--target", "kind"], r"--data: .*ragged.csv, line 4: expected 3 fields, as the header has, got 2"),
    (["empty"], r"--data: .*empty: expected one subfolder of PNG images per class"),
    (["broken"], r"--data: .*2.png: expected a PNG image, got an unreadable file"),
    (["idx"], r"--data: .*a directory of MNIST-format IDX files \(name it with --dataset instead\)"),
    (["missing.csv", "--target", "kind"], r"--data: .*missing.csv', which does not exist"),
    (["table.csv"], r"--target: expected the name of the table's target column, got none"),
    (["table.csv", "--target", "kind", "--features", "a", "--image-size", "2", "2"], r"--image-size: applies to a folder"),
    (["empty", "--target", "kind"], r"--target: applies to a table; .*empty is a folder of images"),
    (["table.csv", "--target", "kind", "--dataset", "mnist"], r"--data: expected either --data or --dataset, not both"),
])
def test_bad_data_is_one_line_and_leaves_no_directory(data, tmp_path, capsys, args, expected):
    import re

    err = refused(capsys, tmp_path, "--data", str(data / args[0]), *args[1:])
    assert re.search(expected, err), err


def test_table_options_need_data_and_features_can_leave_a_column_out(data, tmp_path, capsys):
    err = refused(capsys, tmp_path, "--target", "kind")
    assert "--target: applies only to a run's own data" in err
    out = tmp_path / "ok"
    assert cli.main(["train", "--data", str(data / "table.csv"), "--target", "kind", "--features", "b", "a", *FAST,
                     "--out", str(out)]) == 0
    capsys.readouterr()
    (tmp_path / "new.csv").write_text("a,b,extra\n1,2,3\n")
    assert cli.main(["predict", str(out), str(tmp_path / "new.csv")]) == 2
    assert "INPUT: expected only the network's features ['b', 'a'], got also 'extra'" in capsys.readouterr().err
    (tmp_path / "new.csv").write_text("b,kind\n1,x\n")
    assert cli.main(["predict", str(out), str(tmp_path / "new.csv")]) == 2
    assert "INPUT: expected the network's features ['b', 'a'], got no column 'a'" in capsys.readouterr().err
    (tmp_path / "other.csv").write_text("a,b,kind\n1,2,zz\n")
    assert cli.main(["evaluate", str(out), "--data", str(tmp_path / "other.csv")]) == 2
    assert "classes the network was trained on (['x', 'y']), got 'zz' in line 2" in capsys.readouterr().err
    assert cli.main(["evaluate", str(out), "--dataset", "mnist"]) == 2
    assert "--dataset: the run was trained with train --data" in capsys.readouterr().err

    saved = sys.modules.get("onnx")
    sys.modules["onnx"] = None  # as if the onnx extra were not installed
    try:
        assert cli.main(["export", str(out), "--onnx", str(tmp_path / "m.onnx")]) == 2
    finally:
        if saved is None:
            del sys.modules["onnx"]
        else:
            sys.modules["onnx"] = saved
    err = capsys.readouterr().err
    assert err == "fnmlp: error: fnmlp.export_onnx needs the onnx package: pip install 'fnmlp[onnx]'\n"
    assert not (tmp_path / "m.onnx").exists()


def test_data_options_are_config_fields():
    default = TrainConfig()
    assert default.data is None and default.delimiter == "," and default.validation_fraction == 0.1
    old = {key: value for key, value in default.to_dict().items() if key not in ("data", "target", "image_size")}
    assert TrainConfig.from_dict(old) == default  # runs written before these fields load with the defaults
    config = TrainConfig(data="t.csv", target="y", features=["a", "b"], task="regress", image_size=[2, 3])
    assert json.loads(json.dumps(config.to_dict())) == config.to_dict()
    assert TrainConfig.from_dict(config.to_dict()) == config and config.features == ("a", "b")
    for options, field in [({"target": "y"}, "target"), ({"data": "t", "dataset": "fashion-mnist"}, "data"),
                           ({"data": "t", "task": "sort"}, "task"), ({"data": "t", "features": ["a", "a"]}, "features"),
                           ({"data": "t", "delimiter": ";;"}, "delimiter"), ({"data": "t", "impute": "zero"}, "impute"),
                           ({"data": "t", "test_fraction": 0.6, "validation_fraction": 0.5}, "validation_fraction"),
                           ({"data": "t", "image_size": (0, 2)}, "image_size"), ({"test_fraction": 0.2}, "test_fraction")]:
        with pytest.raises(ConfigError) as caught:
            TrainConfig(**options)
        assert caught.value.option == field


def test_build_makes_a_regression_spec():
    config = TrainConfig(hidden=(5,))
    classify = build(config, num_features=3, num_classes=4, num_train=10)
    regress = build(config, num_features=3, num_classes=None, num_train=10)
    two = build(config, num_features=3, num_classes=None, num_outputs=2, num_train=10)
    assert classify.spec.layer_sizes == (3, 5, 4) and classify.spec.loss.name == "softmax_cross_entropy"
    assert regress.spec.layer_sizes == (3, 5, 1) and regress.spec.loss.name == "mse"
    assert two.spec.layer_sizes == (3, 5, 2)


def test_a_regression_sweep_picks_the_highest_r2(tmp_path):
    trials = []
    for name, r2 in (("000", 0.9), ("001", 0.4)):
        path = tmp_path / "trials" / name
        path.mkdir(parents=True)
        history = [EpochStats(1, 1.0, r2 - 0.1, 1.0, r2 - 0.2, 0.1, 0.01), EpochStats(2, 0.5, r2, 0.5, r2, 0.1, 0.01)]
        write_metrics(path / "metrics.csv", history, "r2")
        (path / "summary.json").write_text(json.dumps({"status": "completed", "metric": {
            "name": "r2", "greater_is_better": True}, "final": {"test_loss": 0.5, "test_r2": r2}}))
        (path / "trial.json").write_text(json.dumps({"code": 0, "seconds": 1.0}))
        trials.append({"name": name, "options": {"lr": r2}, "swept": {"lr": r2}, "epochs": 2})
    plan = {"source": "sweep.toml", "halving": None, "rungs": [None], "trials": trials}
    summary = write_outputs(tmp_path, plan, {})
    assert summary["best"]["trial"] == "000" and summary["best"]["val_error"] == 0.9
    assert summary["best"]["test_error"] == 0.9
    assert [row["best_epoch"] for row in summary["rows"]] == [2, 2]


@pytest.mark.filterwarnings("ignore:Stochastic Optimizer")
@pytest.mark.parametrize("kind", ["MLPClassifier", "MLPRegressor"])
def test_the_estimators_export_to_onnx(tmp_path, kind):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    import fnmlp
    from fnmlp import estimators

    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 4)).astype(np.float32)
    y = np.where(x[:, 0] > 0, "up", "down") if kind == "MLPClassifier" else x @ [1.0, 2.0, 0.0, -1.0]
    model = getattr(estimators, kind)((6,), max_iter=20, random_state=0).fit(x, y)
    path = fnmlp.export_onnx(model.spec_, model.params_, model.bn_state_, tmp_path / "model.onnx",
                             classes=None if kind == "MLPRegressor" else model.classes_.tolist())
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    out = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"input": x})))
    if kind == "MLPClassifier":
        np.testing.assert_allclose(out["probabilities"], model.predict_proba(x), atol=1e-5, rtol=0)
    else:
        np.testing.assert_allclose(out["values"][:, 0], model.predict(x), atol=1e-5, rtol=1e-5)
