"""``fnmlp evaluate RUN_DIR`` end to end on a small run, the computations behind it, and bad input."""

import collections
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fnmlp
from fnmlp import cli
from fnmlp.runs.evaluation import class_table, confusion_matrix, worst_mistakes
from fnmlp.datasets.idx import read_idx
from fnmlp.datasets.inputs import standardize

OUTPUTS = {"confusion.png", "misclassified.png", "evaluation.json"}


def idx_bytes(array):
    array = np.asarray(array, dtype=np.uint8)
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def snapshot(directory):
    """``{name: sha256}`` of every file in ``directory``."""
    return {name: hashlib.sha256((directory / name).read_bytes()).hexdigest() for name in sorted(os.listdir(directory))}


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "fnmlp", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(Path(fnmlp.__file__).parent.parent)})


@pytest.fixture
def run_copy(trained, tmp_path):
    """A fresh copy of the small run, for a test that writes into it."""
    return Path(shutil.copytree(trained, tmp_path / "run"))


@pytest.fixture(scope="module")
def mnist():
    return fnmlp.load_mnist()


def softmax(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def test_evaluate_prints_and_writes_the_figures_of_the_test_split(run_copy, mnist, capsys):
    before = snapshot(run_copy)
    assert cli.main(["evaluate", str(run_copy)]) == 0
    out = capsys.readouterr().out
    after = snapshot(run_copy)
    assert set(after) == set(before) | OUTPUTS
    assert {name: after[name] for name in before} == before, "evaluate changed a file it does not own"

    spec, params, bn_state, _ = fnmlp.load_params(run_copy / "params.npz")
    x, y = mnist.test.x, mnist.test.y
    loss, error = fnmlp.evaluate(spec, params, bn_state, x, y)
    logits = fnmlp.predict(spec, params, bn_state, x)
    predicted = logits.argmax(axis=1)
    record = json.loads((run_copy / "evaluation.json").read_text())
    assert (record["dataset"], record["split"], record["rows"]) == ("mnist", "test", 10000)
    assert record["loss"] == pytest.approx(loss, rel=1e-12) and record["error"] == error
    assert f"mnist test split, 10000 rows: loss {loss:.4f}, error {100 * error:.2f}%" in out

    expected = np.zeros((10, 10), dtype=int)
    for t, p in zip(y, predicted):
        expected[t, p] += 1
    np.testing.assert_array_equal(record["confusion"], expected)
    for label, row in enumerate(record["classes"]):
        mine = y == label
        wrong = collections.Counter(predicted[mine & (predicted != label)].tolist())
        top = max(wrong.values())
        assert row["count"] == mine.sum() and row["error"] == pytest.approx(np.mean(predicted[mine] != label))
        assert row["confused_with"] == min(k for k, v in wrong.items() if v == top) and row["confusions"] == top
        error_text = f"{100 * row['error']:.2f}%"
        assert f"{label:>5}  {row['count']:>6}  {error_text:>7}  {row['confused_with']} ({top} times)\n" in out

    probabilities = softmax(logits)
    confidence = [(-probabilities[i, predicted[i]], i) for i in np.flatnonzero(predicted != y)]
    worst = [i for _, i in sorted(confidence)[:36]]
    assert [m["index"] for m in record["worst_mistakes"]] == worst
    assert [(m["true"], m["predicted"]) for m in record["worst_mistakes"]] == [(y[i], predicted[i]) for i in worst]
    assert [m["probability"] for m in record["worst_mistakes"]] == pytest.approx(
        [probabilities[i, predicted[i]] for i in worst], rel=1e-9)


def test_evaluate_pngs_decode_to_the_figure_sizes(run_copy, capsys):
    import matplotlib.image

    from fnmlp.plots.evaluation import CONFUSION_SIZE, DPI, mistakes_figure_size

    assert cli.main(["evaluate", str(run_copy), "--mistakes", "8"]) == 0
    confusion = matplotlib.image.imread(run_copy / "confusion.png")
    assert confusion.shape == (CONFUSION_SIZE[1] * DPI, CONFUSION_SIZE[0] * DPI, 4) == (600, 700, 4)
    assert confusion.std() > 0.05
    mistakes = matplotlib.image.imread(run_copy / "misclassified.png")
    width, height = mistakes_figure_size(8)
    assert (width, height) == (9.0, 3.9)  # 6 columns, 2 rows
    assert mistakes.shape == (round(height * DPI), round(width * DPI), 4)
    assert mistakes[..., :3].min() < 0.1 and mistakes.std() > 0.05, "digits drawn dark on light"
    assert len(json.loads((run_copy / "evaluation.json").read_text())["worst_mistakes"]) == 8
    assert not [name for name in os.listdir(run_copy) if name.startswith(".")], "no temporary files left"


def test_evaluate_on_the_validation_split(run_copy, mnist, capsys):
    assert cli.main(["evaluate", str(run_copy), "--split", "validation"]) == 0
    spec, params, bn_state, _ = fnmlp.load_params(run_copy / "params.npz")
    loss, error = fnmlp.evaluate(spec, params, bn_state, mnist.validation.x, mnist.validation.y)
    record = json.loads((run_copy / "evaluation.json").read_text())
    assert (record["split"], record["rows"], record["error"]) == ("validation", 5000, error)
    assert record["loss"] == pytest.approx(loss, rel=1e-12)


def test_evaluate_on_another_dataset_scales_it_as_the_run_was_trained(run_copy, tmp_path, capsys):
    """A directory of other images, whose own pixel statistics differ: the run's are applied. (Its
    5,010 training images leave the 5,000 validation rows every data set keeps.)"""
    rng = np.random.default_rng(4)
    train_images = (rng.random((5010, 28, 28)) < 0.5).astype(np.uint8) * 255  # mean 0.5, not MNIST's
    test_images = rng.integers(0, 256, (40, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 40).astype(np.uint8)
    other = tmp_path / "other"
    other.mkdir()
    for stem, array in (("train-images-idx3-ubyte", train_images), ("train-labels-idx1-ubyte", np.arange(5010) % 10),
                        ("t10k-images-idx3-ubyte", test_images), ("t10k-labels-idx1-ubyte", labels)):
        (other / stem).write_bytes(idx_bytes(array))
    assert cli.main(["evaluate", str(run_copy), "--dataset", str(other), "--split", "test"]) == 0
    spec, params, bn_state, meta = fnmlp.load_params(run_copy / "params.npz")
    x = ((test_images.reshape(40, -1) / 255.0) - meta["dataset"]["pixel_mean"]) / meta["dataset"]["pixel_std"]
    loss, error = fnmlp.evaluate(spec, params, bn_state, x, labels)
    record = json.loads((run_copy / "evaluation.json").read_text())
    assert (record["dataset"], record["rows"], record["error"]) == ("other", 40, error)
    assert record["loss"] == pytest.approx(loss, rel=1e-12)


def test_params_npz_records_how_the_inputs_were_scaled(trained):
    _, _, _, meta = fnmlp.load_params(trained / "params.npz")
    summary = json.loads((trained / "summary.json").read_text())
    assert meta["dataset"] == {"name": "mnist", "source": "mnist", "num_classes": 10,
                               "pixel_mean": summary["dataset"]["pixel_mean"],
                               "pixel_std": summary["dataset"]["pixel_std"]}
    assert meta["dataset"]["pixel_mean"] == pytest.approx(0.1307, abs=1e-4)


def test_a_run_written_before_params_npz_had_its_scaling_falls_back_to_summary_json(run_copy, trained, tmp_path,
                                                                                    capsys):
    spec, params, bn_state, _ = fnmlp.load_params(run_copy / "params.npz")
    fnmlp.save_params(run_copy / "params.npz", spec, params, bn_state)
    assert fnmlp.load_params(run_copy / "params.npz")[3] == {}
    current = Path(shutil.copytree(trained, tmp_path / "current"))
    for directory in (run_copy, current):
        assert cli.main(["evaluate", str(directory), "--mistakes", "0"]) == 0
    old, new = (json.loads((directory / "evaluation.json").read_text()) for directory in (run_copy, current))
    assert (old["loss"], old["error"], old["rows"]) == (new["loss"], new["error"], 10000)


def test_standardize_gives_the_bits_the_data_set_trained_on(mnist):
    pixels = read_idx(fnmlp.datasets.MNIST_DIR / "t10k-images-idx3-ubyte.gz").reshape(10000, -1)
    np.testing.assert_array_equal(standardize(pixels, mnist.pixel_mean, mnist.pixel_std), mnist.test.x)
    np.testing.assert_array_equal(standardize(pixels[:5], mnist.pixel_mean, mnist.pixel_std, np.float32),
                                  mnist.test.x[:5].astype(np.float32))


def test_confusion_table_and_worst_mistakes_on_a_small_example():
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    predicted = np.array([0, 1, 2, 1, 0, 0, 1, 2])
    confusion = confusion_matrix(labels, predicted, 4)
    np.testing.assert_array_equal(confusion, [[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 0, 0]])
    assert class_table(confusion) == [
        {"class": 0, "count": 3, "error": 2 / 3, "confused_with": 1, "confusions": 1},  # tie: the lower class
        {"class": 1, "count": 2, "error": 0.5, "confused_with": 0, "confusions": 1},
        {"class": 2, "count": 3, "error": 2 / 3, "confused_with": 0, "confusions": 1},
        {"class": 3, "count": 0, "error": None, "confused_with": None, "confusions": 0},
    ]
    probabilities = np.full((8, 4), 0.1)
    probabilities[np.arange(8), predicted] = [0.9, 0.6, 0.8, 0.9, 0.6, 0.95, 0.5, 0.7]
    assert worst_mistakes(labels, predicted, probabilities, 10).tolist() == [5, 2, 1, 4, 6]
    assert worst_mistakes(labels, predicted, probabilities, 2).tolist() == [5, 2]
    assert worst_mistakes(labels, labels, probabilities, 10).tolist() == []


def test_no_mistakes_still_draws_the_grid_with_a_note(tmp_path):
    import matplotlib.image

    from fnmlp.plots.evaluation import DPI, mistakes_figure_size, plot_mistakes

    plot_mistakes(np.zeros((0, 28, 28), np.uint8), [], [], [], tmp_path / "none.png", title="none")
    width, height = mistakes_figure_size(0)
    image = matplotlib.image.imread(tmp_path / "none.png")
    assert image.shape == (round(height * DPI), round(width * DPI), 4) and image[..., :3].min() < 0.2


def bad_runs(base):
    """``{case: (arguments after 'evaluate', expected message part)}`` for broken runs and options."""
    (base / "empty").mkdir()
    (base / "corrupt").mkdir()
    (base / "corrupt" / "params.npz").write_bytes(b"not a zip")
    (base / "a-file").write_text("x")
    return {
        "missing run": ([str(base / "missing")], "which does not exist"),
        "not a directory": ([str(base / "a-file")], "which is not a directory"),
        "no params.npz": ([str(base / "empty")], "holding params.npz"),
        "corrupt params.npz": ([str(base / "corrupt")], "not a complete zip archive"),
    }


@pytest.mark.parametrize("case", ["missing run", "not a directory", "no params.npz", "corrupt params.npz"])
def test_a_bad_run_directory_gets_one_line_and_status_2(tmp_path, capsys, case):
    args, message = bad_runs(tmp_path)[case]
    assert cli.main(["evaluate", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fnmlp: error: ") and err.count("\n") == 1 and message in err


@pytest.mark.parametrize("args, message", [
    (["--split", "everything"], "--split: invalid choice"),
    (["--dataset", "no-such-dataset"], "--dataset: expected mnist, fashion-mnist or a directory of IDX files"),
    (["--mistakes", "-1"], "--mistakes: expected an integer >= 0, got -1"),
    (["--mistakes", "many"], "--mistakes: invalid int value"),
])
def test_bad_options_leave_the_run_unchanged(run_copy, capsys, args, message):
    before = snapshot(run_copy)
    assert cli.main(["evaluate", str(run_copy), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fnmlp: error: ") and err.count("\n") == 1 and message in err
    assert snapshot(run_copy) == before


def test_a_dataset_of_another_width_or_a_run_without_its_scaling_is_refused(run_copy, tmp_path, capsys):
    small = tmp_path / "small"
    small.mkdir()
    for stem, array in (("train-images-idx3-ubyte", np.arange(5002 * 100).reshape(5002, 10, 10) % 256),
                        ("train-labels-idx1-ubyte", np.arange(5002) % 2),
                        ("t10k-images-idx3-ubyte", np.ones((2, 10, 10))),
                        ("t10k-labels-idx1-ubyte", [1, 0])):
        (small / stem).write_bytes(idx_bytes(array))
    before = snapshot(run_copy)
    assert cli.main(["evaluate", str(run_copy), "--dataset", str(small), "--split", "train"]) == 2
    assert "--dataset: expected images of 784 pixels, as the network takes, got small, of 100" in capsys.readouterr().err

    spec, params, bn_state, _ = fnmlp.load_params(run_copy / "params.npz")
    fnmlp.save_params(run_copy / "params.npz", spec, params, bn_state)
    (run_copy / "summary.json").unlink()
    before = snapshot(run_copy)
    assert cli.main(["evaluate", str(run_copy)]) == 2
    err = capsys.readouterr().err
    assert "records the pixel mean and standard deviation of its data set, got neither does" in err
    assert snapshot(run_copy) == before


def test_the_command_line_runs_evaluate_without_a_traceback_and_importing_it_draws_nothing(trained, tmp_path):
    done = run_cli("evaluate", str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("fnmlp: error: RUN_DIR: expected a run directory")
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, fnmlp.cli; print(sorted(m for m in sys.modules if 'matplotlib' in m))"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(fnmlp.__file__).parent.parent)})
    assert imported.returncode == 0 and imported.stdout.strip() == "[]", imported.stdout + imported.stderr
    help_text = run_cli("evaluate", "--help").stdout
    assert "confusion.png" in help_text and "--split" in help_text and "--dataset" in help_text


@pytest.mark.parametrize("blocked", ["misclassified.png", "evaluation.json", "confusion.png"])
def test_an_output_that_cannot_be_written_is_named_and_nothing_is_written(run_copy, capsys, blocked):
    before = snapshot(run_copy)
    (run_copy / blocked).mkdir()
    assert cli.main(["evaluate", str(run_copy)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (f"fnmlp: error: {blocked}: expected a regular file or a path where none exists, got "
                            f"'{run_copy / blocked}', a directory\n")
    assert captured.out == "", "refused before evaluating"
    assert os.listdir(run_copy / blocked) == []
    (run_copy / blocked).rmdir()
    assert snapshot(run_copy) == before, "no other output written"


def test_the_mistakes_picture_draws_at_most_400_and_evaluation_json_lists_them_all(run_copy, capsys, monkeypatch):
    """The cap, 400, is in --help; here it is lowered to 10 so that the picture draws quickly."""
    import matplotlib.image

    from fnmlp.cli import evaluate
    from fnmlp.plots.evaluation import DPI, mistakes_figure_size

    assert evaluate.MAX_DRAWN_MISTAKES == 400
    assert "which draws at most 400" in " ".join(run_cli("evaluate", "--help").stdout.split())
    monkeypatch.setattr(evaluate, "MAX_DRAWN_MISTAKES", 10)
    assert cli.main(["evaluate", str(run_copy), "--mistakes", "100000"]) == 0
    out = capsys.readouterr().out
    listed = json.loads((run_copy / "evaluation.json").read_text())["worst_mistakes"]
    assert 10 < len(listed) < 100000  # every mistake of the small run, about 1,500
    assert (f"misclassified.png shows the 10 most confident of the {len(listed)} mistakes listed in "
            f"evaluation.json (it draws at most 10)\n") in out
    width, height = mistakes_figure_size(10)
    assert matplotlib.image.imread(run_copy / "misclassified.png").shape == (round(height * DPI), round(width * DPI), 4)
