"""Your data in, your model out: train, evaluate, predict and export end to end on a CSV with string
labels, an .npz, a regression CSV and a folder of PNGs; resume, split files and imputation."""

import csv
import io
import json

import matplotlib.image
import numpy as np
import pytest

import fnmlp
from fnmlp import cli
from fnmlp.datasets.sources import load_table_data
from fnmlp.runs.trained import load_trained_run

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

FAST = ["--hidden", "8", "--epochs", "2", "--progress", "none", "--optimizer", "adam", "--lr", "0.01",
        "--activation", "relu"]
CLASSES = ("cat", "dog", "emu")


def write_csv(path, header, rows):
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """``animals.csv`` (60 rows: a, b, c and a string ``kind``), ``values.csv`` (a float ``value``),
    ``points.npz`` (x, y in 0/1, named columns)."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=(60, 3)) * [1, 10, 100] + [0, 5, 50], 4)
    kind = np.array(CLASSES)[np.argmax(x / [1, 10, 100] @ rng.normal(size=(3, 3)), axis=1)]
    write_csv(root / "animals.csv", ["a", "b", "c", "kind"], [[*row, k] for row, k in zip(x, kind)])
    value = np.round(x @ [1.5, -0.2, 0.01] + 3, 4)
    write_csv(root / "values.csv", ["a", "b", "c", "value"], [[*row, v] for row, v in zip(x, value)])
    np.savez(root / "points.npz", x=x, y=(x[:, 0] > 0).astype(np.int64), columns=np.array(["a", "b", "c"]))
    return root


def train(tmp_path, *args):
    out = tmp_path / "run"
    assert cli.main(["train", *args, *FAST, "--out", str(out)]) == 0
    return out


def predicted_csv(capsys, run, source):
    capsys.readouterr()
    assert cli.main(["predict", str(run), str(source)]) == 0
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def onnx_outputs(run, x):
    model = run / "model.onnx"
    assert cli.main(["export", str(run), "--onnx", str(model)]) == 0
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"input": np.asarray(x, dtype=np.float32)}))), session


def test_csv_with_string_labels_end_to_end(tmp_path, files, capsys):
    run = train(tmp_path, "--data", str(files / "animals.csv"), "--target", "kind")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["spec"]["layer_sizes"] == [3, 8, 3] and summary["spec"]["loss"] == "softmax_cross_entropy"
    assert summary["metric"]["name"] == "error" and summary["config"]["data"] == str(files / "animals.csv")
    assert summary["dataset"]["train_rows"] == 48 and summary["dataset"]["test_rows"] == 6

    trained = load_trained_run(run)
    assert trained.classes == CLASSES and trained.task == "classify"
    data = load_table_data(files / "animals.csv", target="kind", seed=11785)  # the run's split (its seed)
    raw = np.loadtxt(files / "animals.csv", delimiter=",", skiprows=1, usecols=(0, 1, 2))
    np.testing.assert_allclose(trained.preprocessing.mean, raw[data.rows[0]].mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(trained.preprocessing.std, raw[data.rows[0]].std(axis=0), rtol=1e-12)

    capsys.readouterr()
    assert cli.main(["evaluate", str(run)]) == 0
    assert "animals.csv test split, 6 rows" in capsys.readouterr().out
    record = json.loads((run / "evaluation.json").read_text())
    assert record["error"] == pytest.approx(summary["final"]["test_error"], abs=1e-12)
    assert [row["class"] for row in record["classes"]] == list(CLASSES)
    assert (run / "confusion.png").read_bytes()[:4] == b"\x89PNG" and not (run / "misclassified.png").exists()

    # new rows: the target column left out and the features in another order, matched by name
    new = write_csv(tmp_path / "new.csv", ["c", "a", "b"], raw[:5, [2, 0, 1]])
    rows = predicted_csv(capsys, run, new)
    assert list(rows[0]) == ["index", "predicted", "prob_cat", "prob_dog", "prob_emu"]
    probabilities = np.array([[float(row[f"prob_{c}"]) for c in CLASSES] for row in rows])
    logits = fnmlp.predict(trained.spec, trained.params, trained.bn_state,
                           (raw[:5] - trained.preprocessing.mean) / trained.preprocessing.std)
    expected = np.exp(fnmlp.log_softmax(logits))
    np.testing.assert_allclose(probabilities, expected, rtol=1e-12)
    assert [row["predicted"] for row in rows] == [CLASSES[k] for k in expected.argmax(axis=1)]

    out, session = onnx_outputs(run, raw[:5])
    np.testing.assert_allclose(out["probabilities"], probabilities, atol=1e-5, rtol=0)
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["classes"]) == list(CLASSES) and json.loads(meta["features"]) == ["a", "b", "c"]


def test_npz_end_to_end(tmp_path, files, capsys):
    run = train(tmp_path, "--data", str(files / "points.npz"), "--target", "y", "--validation-fraction", "0.2",
                "--test-fraction", "0.25")
    summary = json.loads((run / "summary.json").read_text())
    assert (summary["dataset"]["validation_rows"], summary["dataset"]["test_rows"]) == (12, 15)
    assert load_trained_run(run).classes == (0, 1)
    assert cli.main(["evaluate", str(run), "--data", str(files / "points.npz")]) == 0
    assert "points.npz, 60 rows" in capsys.readouterr().out
    x = np.load(files / "points.npz")["x"][:7]
    np.savez(tmp_path / "new.npz", x=x, columns=np.array(["a", "b", "c"]))
    rows = predicted_csv(capsys, run, tmp_path / "new.npz")
    assert list(rows[0]) == ["index", "predicted", "prob_0", "prob_1"] and {r["predicted"] for r in rows} <= {"0", "1"}
    out, _ = onnx_outputs(run, x)
    np.testing.assert_allclose(out["probabilities"], [[float(r["prob_0"]), float(r["prob_1"])] for r in rows],
                               atol=1e-5, rtol=0)


def test_regression_csv_end_to_end(tmp_path, files, capsys):
    run = train(tmp_path, "--data", str(files / "values.csv"), "--target", "value")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["spec"]["loss"] == "mse" and summary["spec"]["layer_sizes"][-1] == 1
    assert summary["metric"] == {"name": "r2", "greater_is_better": True} and "test_r2" in summary["final"]
    assert (run / "metrics.csv").read_text().splitlines()[0] == "epoch,train_loss,train_r2,val_loss,val_r2,seconds,lr"
    assert (run / "train_r2.png").exists()

    capsys.readouterr()
    assert cli.main(["evaluate", str(run)]) == 0
    assert "MSE" in capsys.readouterr().out
    record = json.loads((run / "evaluation.json").read_text())
    assert record["r2"] == pytest.approx(summary["final"]["test_r2"], abs=1e-9)  # R^2 ignores the target's scaling
    assert record["mse"] > 0 and record["mae"] > 0 and record["rows"] == 6
    assert (run / "predicted.png").read_bytes()[:4] == b"\x89PNG" and not (run / "confusion.png").exists()

    raw = np.loadtxt(files / "values.csv", delimiter=",", skiprows=1)
    rows = predicted_csv(capsys, run, files / "values.csv")  # the target column, if there, is left out
    assert list(rows[0]) == ["index", "predicted"] and len(rows) == 60
    values = np.array([float(row["predicted"]) for row in rows])
    trained = load_trained_run(run)
    prep = trained.preprocessing
    outputs = fnmlp.predict(trained.spec, trained.params, trained.bn_state, (raw[:, :3] - prep.mean) / prep.std)
    np.testing.assert_allclose(values, outputs[:, 0] * prep.target_std + prep.target_mean, rtol=1e-12)
    errors = values - raw[:, 3]
    assert cli.main(["evaluate", str(run), "--data", str(files / "values.csv")]) == 0
    record = json.loads((run / "evaluation.json").read_text())
    assert (record["mse"], record["mae"]) == pytest.approx((np.mean(errors ** 2), np.mean(np.abs(errors))), rel=1e-9)

    out, _ = onnx_outputs(run, raw[:, :3])
    np.testing.assert_allclose(out["values"][:, 0], values, rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """Three classes of 8x10 gray PNGs (a bar, a dot, a frame on noise), 10 images each."""
    root = tmp_path_factory.mktemp("data") / "shapes"
    rng = np.random.default_rng(1)
    for c, name in enumerate(("bar", "dot", "frame")):
        (root / name).mkdir(parents=True)
        for i in range(10):
            image = rng.uniform(0, 0.2, (8, 10))
            if c == 0:
                image[:, 4:6] = 0.9
            elif c == 1:
                image[3:5, 4:6] = 0.9
            else:
                image[[0, -1], :] = image[:, [0, -1]] = 0.9
            matplotlib.image.imsave(root / name / f"{i:02}.png", image, cmap="gray", vmin=0, vmax=1)
    return root


def test_image_folder_end_to_end(tmp_path, shapes, capsys):
    run = train(tmp_path, "--data", str(shapes), "--image-size", "4", "5")
    trained = load_trained_run(run)
    assert trained.kind == "images" and trained.classes == ("bar", "dot", "frame") and trained.image_size == (4, 5)
    assert trained.spec.layer_sizes == (20, 8, 3)
    capsys.readouterr()
    assert cli.main(["evaluate", str(run)]) == 0
    assert "shapes test split, 3 rows" in capsys.readouterr().out
    assert (run / "misclassified.png").exists() and (run / "confusion.png").exists()
    rows = predicted_csv(capsys, run, shapes / "dot")
    assert [row["file"] for row in rows] == [f"{i:02}.png" for i in range(10)]
    assert list(rows[0])[2:] == ["predicted", "prob_bar", "prob_dot", "prob_frame"]
    assert {row["predicted"] for row in rows} <= set(trained.classes)

    from fnmlp.datasets.image_folder import read_images
    pixels, _ = read_images(shapes / "dot", (4, 5))
    out, _ = onnx_outputs(run, pixels)  # the model takes raw pixels 0-255
    np.testing.assert_allclose(out["probabilities"], [[float(row[f"prob_{c}"]) for c in trained.classes]
                                                      for row in rows], atol=1e-5, rtol=0)


def test_a_resumed_table_run_reloads_its_data_and_matches_an_uninterrupted_one(tmp_path, files, monkeypatch):
    common = ["train", "--data", "animals.csv", "--target", "kind", *FAST[:2], "--progress", "none"]
    monkeypatch.chdir(files)  # a relative path, recorded as an absolute one
    assert cli.main([*common, "--epochs", "4", "--out", str(tmp_path / "whole")]) == 0
    assert cli.main([*common, "--epochs", "2", "--out", str(tmp_path / "split")]) == 0
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "--resume", str(tmp_path / "split"), "--epochs", "4", "--progress", "none"]) == 0
    a, b = (fnmlp.load_params(tmp_path / name / "params.npz") for name in ("whole", "split"))
    assert all(np.array_equal(x, y) for x, y in zip(fnmlp.tree_leaves(a[1]), fnmlp.tree_leaves(b[1])))
    assert a[3]["dataset"] == b[3]["dataset"]


def test_validation_and_test_files_and_imputation(tmp_path, files, capsys):
    rows = list(csv.reader(open(files / "animals.csv")))
    header, body = rows[0], rows[1:]
    body[3][1] = ""  # a gap in column b, line 5
    write_csv(tmp_path / "train.csv", header, body[:40])
    write_csv(tmp_path / "val.csv", header, body[40:50])
    write_csv(tmp_path / "test.csv", header, body[50:])
    split = ["--data", str(tmp_path / "train.csv"), "--target", "kind", "--validation", str(tmp_path / "val.csv"),
             "--test", str(tmp_path / "test.csv")]
    assert cli.main(["train", *split, *FAST, "--out", str(tmp_path / "refused")]) == 2
    assert "column 'b'" in capsys.readouterr().err and not (tmp_path / "refused").exists()

    run = train(tmp_path, *split, "--impute", "mean")
    summary = json.loads((run / "summary.json").read_text())
    assert (summary["dataset"]["train_rows"], summary["dataset"]["validation_rows"],
            summary["dataset"]["test_rows"]) == (40, 10, 10)
    prep = load_trained_run(run).preprocessing
    b = np.array([float(row[1]) for row in body[:40] if row[1]])
    assert prep.fill[1] == pytest.approx(b.mean(), rel=1e-12)
    new = write_csv(tmp_path / "new.csv", header[:3], [["0.5", "", "20"]])
    rows = predicted_csv(capsys, run, new)
    out, _ = onnx_outputs(run, [[0.5, np.nan, 20.0]])
    np.testing.assert_allclose(out["probabilities"][0], [float(rows[0][f"prob_{c}"]) for c in CLASSES], atol=1e-5)
