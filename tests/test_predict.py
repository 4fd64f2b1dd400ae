"""``fnmlp predict RUN_DIR INPUT`` end to end for every input kind, MNIST-style PNGs, and bad input."""

import csv
import gzip
import hashlib
import io
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

import fnmlp
from fnmlp import cli
from fnmlp.datasets.idx import read_idx
from fnmlp.datasets.inputs import mnist_style, read_inputs, read_png

TEST_IMAGES = fnmlp.datasets.MNIST_DIR / "t10k-images-idx3-ubyte.gz"


def snapshot(directory):
    return {name: hashlib.sha256((directory / name).read_bytes()).hexdigest() for name in sorted(os.listdir(directory))}


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def images():
    """MNIST's 10,000 test images, uint8 (10000, 28, 28)."""
    return read_idx(TEST_IMAGES)


@pytest.fixture(scope="module")
def expected(trained):
    """``(predicted, probabilities)`` of the run on MNIST's test images, computed here from the
    standardised data set."""
    spec, params, bn_state, _ = fnmlp.load_params(trained / "params.npz")
    logits = fnmlp.predict(spec, params, bn_state, fnmlp.load_mnist().test.x)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return logits.argmax(axis=1), shifted / shifted.sum(axis=1, keepdims=True)


def predict(capsys, *args):
    status = cli.main(["predict", *map(str, args)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return captured.out


def check_rows(table, expected, indices):
    """``table`` holds the predictions of ``expected`` for the test images ``indices``."""
    predicted, probabilities = expected
    assert [int(row["index"]) for row in table] == list(range(len(indices)))
    assert [int(row["predicted"]) for row in table] == predicted[indices].tolist()
    got = np.array([[float(row[f"prob_{k}"]) for k in range(10)] for row in table])
    np.testing.assert_allclose(got, probabilities[indices], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-12)


def test_predict_an_idx_file_gzip_or_not_to_stdout_or_a_file(trained, expected, tmp_path, capsys):
    before = snapshot(trained)
    text = predict(capsys, trained, TEST_IMAGES)
    table = rows(text)
    assert list(table[0]) == ["index", "predicted", *(f"prob_{k}" for k in range(10))]
    assert len(table) == 10000
    check_rows(table, expected, np.arange(10000))

    raw = tmp_path / "t10k-images-idx3-ubyte"
    raw.write_bytes(gzip.decompress(TEST_IMAGES.read_bytes()))
    out = tmp_path / "predictions.csv"
    assert cli.main(["predict", str(trained), str(raw), "--out", str(out)]) == 0
    assert "wrote 10000 predictions to" in capsys.readouterr().err
    assert out.read_text() == text
    assert snapshot(trained) == before, "predict writes nothing into the run"


def test_predict_npy_arrays_of_raw_pixels(trained, expected, images, tmp_path, capsys):
    picks = np.arange(0, 10000, 97)
    square, flat, wide = tmp_path / "square.npy", tmp_path / "flat.npy", tmp_path / "int64.npy"
    np.save(square, images[picks])
    np.save(flat, images[picks].reshape(len(picks), 784))
    np.save(wide, images[picks].astype(np.int64))
    texts = [predict(capsys, trained, path) for path in (square, flat, wide)]
    assert texts[0] == texts[1] == texts[2]
    check_rows(rows(texts[0]), expected, picks)
    for path in (square, flat, wide):
        np.testing.assert_array_equal(read_inputs(path, 784).pixels, images[picks].reshape(-1, 784))


def save_pngs(directory, images):
    """The same MNIST images as PNGs of three kinds: gray, RGB dark on light, opaque RGBA."""
    directory.mkdir()
    names = []
    for k, image in enumerate(images):
        name = f"digit-{k:02d}.png"
        if k % 3 == 0:
            Image.fromarray(image, mode="L").save(directory / name)
        elif k % 3 == 1:
            Image.fromarray(np.repeat(255 - image[..., None], 3, axis=2), mode="RGB").save(directory / name)
        else:
            rgba = np.concatenate([np.repeat(image[..., None], 3, axis=2), np.full((28, 28, 1), 255, np.uint8)], 2)
            Image.fromarray(rgba, mode="RGBA").save(directory / name)
        names.append(name)
    (directory / "notes.txt").write_text("not an image, skipped")
    return names


def test_predict_a_directory_of_pngs_as_the_same_images_in_idx(trained, expected, images, tmp_path, capsys):
    picks = np.arange(12) * 31
    names = save_pngs(tmp_path / "pngs", images[picks])
    table = rows(predict(capsys, trained, tmp_path / "pngs"))
    assert list(table[0])[:3] == ["index", "file", "predicted"]
    assert [row["file"] for row in table] == names
    check_rows(table, expected, picks)
    np.testing.assert_array_equal(read_inputs(tmp_path / "pngs", 784).pixels, images[picks].reshape(-1, 784))

    single = rows(predict(capsys, trained, tmp_path / "pngs" / names[1]))
    assert [(row["index"], row["file"]) for row in single] == [("0", names[1])]
    check_rows(single, expected, picks[1:2])


def test_read_png_and_mnist_style_make_large_drawings_mnist_like(images, tmp_path):
    for k in range(20):
        digit = images[k]
        big = np.kron(digit / 255.0, np.ones((3, 3)))
        paper = np.ones((120, 100))
        paper[10:94, 5:89] -= big  # dark ink on white paper, 3 times MNIST's size, off centre
        path = tmp_path / f"{k}.png"
        Image.fromarray(np.rint(paper * 255).astype(np.uint8), mode="L").save(path)
        gray = read_png(path)
        assert gray.shape == (120, 100) and gray.min() >= 0 and gray.max() == 1.0
        got = mnist_style(gray)
        assert got.shape == (28, 28) and got.dtype == np.uint8 and got.max() == 255
        ink = np.nonzero(got)
        assert np.ptp(ink[0]) < 20 and np.ptp(ink[1]) < 20, "fits a 20x20 box"
        centre = [(got.sum(axis=1 - axis) * np.arange(28)).sum() / got.sum() for axis in (0, 1)]
        assert np.all(np.abs(np.array(centre) - 14) <= 0.5), "centre of mass on the middle pixel"
        assert np.corrcoef(got.ravel(), digit.ravel())[0, 1] > 0.99
    np.testing.assert_array_equal(mnist_style(read_png(tmp_path / "0.png")), images[0])


def test_transparent_pixels_are_paper_and_a_blank_drawing_is_refused(tmp_path):
    rgba = np.zeros((50, 40, 4), np.uint8)
    rgba[10:40, 18:22, 3] = 255  # an opaque black bar on a transparent background
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "bar.png")
    got = mnist_style(read_png(tmp_path / "bar.png"))
    expected = np.zeros((28, 28), np.uint8)
    expected[4:24, 13:16] = 255  # 30x4 becomes 20x3, its centre of mass moved to the nearest pixel of 14, 14
    np.testing.assert_array_equal(got, expected)
    Image.fromarray(np.full((40, 40), 255, np.uint8), mode="L").save(tmp_path / "blank.png")
    with pytest.raises(ValueError, match="blank.png: expected an image with something drawn on it, got a blank"):
        mnist_style(read_png(tmp_path / "blank.png"), source=str(tmp_path / "blank.png"))


def render_digit(path, digit):
    """``digit`` in bold DejaVu Sans (matplotlib's bundled font), black on white, 200x200 RGBA PNG."""
    figure = Figure(figsize=(2, 2), dpi=100, facecolor="white")
    figure.text(0.5, 0.5, digit, fontsize=110, fontweight="bold", family="DejaVu Sans", ha="center", va="center",
                color="black")
    FigureCanvasAgg(figure)
    figure.savefig(path, format="png", dpi=100, facecolor="white")


def test_a_digit_drawn_by_the_test_is_predicted_correctly(tmp_path, capsys):
    """A run trained briefly (10,000 MNIST rows, 3 epochs, ReLU) reads a rendered 7 and 3; both came
    out above 0.99 for every one of five seeds tried; the seed is fixed here."""
    run = tmp_path / "run"
    assert cli.main(["train", "--limit", "10000", "--epochs", "3", "--hidden", "64", "--activation", "relu",
                     "--init", "he", "--lr", "0.05", "--dtype", "float32", "--seed", "0", "--out", str(run),
                     "--progress", "none"]) == 0
    drawings = tmp_path / "drawings"
    drawings.mkdir()
    render_digit(drawings / "seven.png", "7")
    render_digit(drawings / "three.png", "3")
    assert read_png(drawings / "seven.png")[0, 0] == 1.0, "light paper"
    capsys.readouterr()
    table = rows(predict(capsys, run, drawings))
    assert [(row["file"], row["predicted"]) for row in table] == [("seven.png", "7"), ("three.png", "3")]
    assert float(table[0]["prob_7"]) > 0.9 and float(table[1]["prob_3"]) > 0.9


def bad_inputs(base, images):
    """``{case: (INPUT, expected message part)}``."""
    base.mkdir()
    np.save(base / "narrow.npy", images[:3, :, :27])
    np.save(base / "flat100.npy", np.zeros((3, 100), np.uint8))
    np.save(base / "scaled.npy", images[:3] / 255.0)
    np.save(base / "too-bright.npy", images[:3].astype(np.int64) * 2)
    (base / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (base / "no-pngs").mkdir()
    (base / "no-pngs" / "a.txt").write_text("x")
    (base / "one-bad").mkdir()
    Image.fromarray(images[0], mode="L").save(base / "one-bad" / "a.png")
    (base / "one-bad" / "b.png").write_bytes(b"GIF89a")
    Image.fromarray(np.full((40, 40), 255, np.uint8), mode="L").save(base / "blank.png")
    Image.fromarray(np.full((28, 28), 255, np.uint8), mode="L").save(base / "white28.png")
    Image.fromarray(np.zeros((28, 28), np.uint8), mode="L").save(base / "black28.png")
    Image.fromarray(np.zeros((28, 28, 4), np.uint8), mode="RGBA").save(base / "clear28.png")
    (base / "one-blank").mkdir()
    Image.fromarray(images[0], mode="L").save(base / "one-blank" / "a.png")
    Image.fromarray(np.full((28, 28), 90, np.uint8), mode="L").save(base / "one-blank" / "b.png")
    holes = images[:5].copy()
    holes[1], holes[3] = 0, 255
    np.save(base / "holes.npy", holes)
    many = np.zeros((12, 784), np.uint8)
    many[5, 100] = 1
    np.save(base / "many-blank.npy", many)
    (base / "holes-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28])
                                            + images[0].tobytes() + bytes(784))
    (base / "labels.idx").write_bytes(gzip.decompress((fnmlp.datasets.MNIST_DIR / "t10k-labels-idx1-ubyte.gz")
                                                      .read_bytes()))
    (base / "text.csv").write_text("1,2,3\n")
    (base / "pickled.npy").write_bytes(b"\x93NUMPY garbage")
    return {
        "missing": (base / "missing.npy", "which does not exist"),
        "27 columns": (base / "narrow.npy", "expected 784 pixels (28x28) per row, as the network takes, got 28x27 = 756"),
        "100 features": (base / "flat100.npy", "expected 784 pixels (28x28) per row, as the network takes, got 100"),
        "scaled floats": (base / "scaled.npy", "expected uint8 pixels 0-255 (raw images, not scaled ones), got dtype "
                                                "float64 with values 0.0..1.0"),
        "out of range": (base / "too-bright.npy", "got dtype int64 with values 0..510"),
        "corrupt npy": (base / "pickled.npy", "expected a .npy file of uint8 pixels, got an unreadable file"),
        "unreadable png": (base / "broken.png", "broken.png: expected a PNG image, got an unreadable file"),
        "no pngs": (base / "no-pngs", "expected a directory holding PNG images (*.png), got none"),
        "one unreadable png": (base / "one-bad", "b.png: expected a PNG image, got an unreadable file"),
        "blank png": (base / "blank.png", "expected an image with something drawn on it, got a blank image"),
        "white 28x28 png": (base / "white28.png", "white28.png: expected an image with something drawn on it, got a "
                                                  "blank image"),
        "black 28x28 png": (base / "black28.png", "black28.png: expected an image with something drawn on it"),
        "transparent 28x28 png": (base / "clear28.png", "clear28.png: expected an image with something drawn on it"),
        "a blank png among others": (base / "one-blank", "b.png: expected an image with something drawn on it"),
        "npy with blank rows": (base / "holes.npy", "holes.npy: expected images with something drawn on them, got "
                                                    "blank rows (every pixel one value) at index 1, 3"),
        "npy of blank rows": (base / "many-blank.npy", "at index 0, 1, 2, 3, 4, 6, 7, 8, 9, 10 ... (11 in all)"),
        "idx with a blank row": (base / "holes-idx3-ubyte", "holes-idx3-ubyte: expected images with something drawn "
                                                            "on them, got blank row (every pixel one value) at index 1"),
        "labels": (base / "labels.idx", "expected images of shape (n, rows, cols) or (n, features), n >= 1, got "
                                        "shape (10000,)"),
        "not idx": (base / "text.csv", "expected an IDX file starting with bytes 00 00"),
    }


CASES = ["missing", "27 columns", "100 features", "scaled floats", "out of range", "corrupt npy", "unreadable png",
         "no pngs", "one unreadable png", "blank png", "white 28x28 png", "black 28x28 png", "transparent 28x28 png",
         "a blank png among others", "npy with blank rows", "npy of blank rows", "idx with a blank row", "labels",
         "not idx"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gets_one_line_and_status_2(trained, images, tmp_path, capsys, case):
    path, message = bad_inputs(tmp_path / "inputs", images)[case]
    before = snapshot(trained)
    out = tmp_path / "predictions.csv"
    assert cli.main(["predict", str(trained), str(path), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("fnmlp: error: ") and captured.err.count("\n") == 1
    assert message in captured.err
    assert not out.exists() and snapshot(trained) == before


@pytest.mark.parametrize("target, message", [
    ("missing-dir/p.csv", "--out: expected a file fnmlp can write, got"),
    ("a-directory", "--out: expected a regular file or a path where none exists, got '{tmp}/a-directory', a directory"),
    ("a-pipe", "--out: expected a regular file or a path where none exists, got '{tmp}/a-pipe', a named pipe (FIFO)"),
])
def test_a_csv_target_that_cannot_be_written_gets_one_line_and_status_2(trained, tmp_path, capsys, target, message):
    (tmp_path / "a-directory").mkdir()
    os.mkfifo(tmp_path / "a-pipe")
    before = snapshot(trained)
    assert cli.main(["predict", str(trained), str(TEST_IMAGES), "--out", str(tmp_path / target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fnmlp: error: ") and err.count("\n") == 1 and message.format(tmp=tmp_path) in err
    assert sorted(os.listdir(tmp_path)) == ["a-directory", "a-pipe"] and os.listdir(tmp_path / "a-directory") == []
    assert stat.S_ISFIFO(os.lstat(tmp_path / "a-pipe").st_mode), "the pipe is still a pipe"
    assert snapshot(trained) == before


def test_a_csv_target_that_is_a_symbolic_link_is_written_through(trained, tmp_path, capsys):
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "p.csv").write_text("old\n")
    (tmp_path / "link.csv").symlink_to(os.path.join("kept", "p.csv"))
    assert cli.main(["predict", str(trained), str(TEST_IMAGES), "--out", str(tmp_path / "link.csv")]) == 0
    assert os.readlink(tmp_path / "link.csv") == os.path.join("kept", "p.csv"), "the link stays a link"
    assert (tmp_path / "kept" / "p.csv").read_text() == predict(capsys, trained, TEST_IMAGES)
    assert sorted(os.listdir(tmp_path / "kept")) == ["p.csv"]


def test_bad_run_directories_and_the_command_line_without_a_traceback(trained, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    for run, message in ((tmp_path / "nowhere", "RUN_DIR: expected a run directory written by fnmlp train, got"),
                         (tmp_path / "empty", "RUN_DIR: expected a run directory holding params.npz")):
        assert cli.main(["predict", str(run), str(TEST_IMAGES)]) == 2
        assert message in capsys.readouterr().err
    partial = Path(shutil.copytree(trained, tmp_path / "partial"))
    (partial / "params.npz").write_bytes((partial / "params.npz").read_bytes()[:1000])
    assert cli.main(["predict", str(partial), str(TEST_IMAGES)]) == 2
    assert "params.npz: expected an fnmlp checkpoint" in capsys.readouterr().err

    done = subprocess.run([sys.executable, "-m", "fnmlp", "predict", str(trained), str(tmp_path / "nothing.png")],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(Path(fnmlp.__file__).parent.parent)})
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and "which does not exist" in done.stderr
