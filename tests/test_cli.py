"""The command line end to end: outputs, resume, Ctrl-C, divergence and bad options."""

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import fnmlp
from fnmlp.runs import train as run_files
from fnmlp.runs.train import configure
from fnmlp import cli
from fnmlp.cli import train as train_command
from fnmlp.runs.files import read_metrics

TINY = ["--limit", "400", "--batch-size", "50", "--hidden", "16", "--progress", "lines"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "fnmlp", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(Path(fnmlp.__file__).parent.parent)})


def test_train_end_to_end_writes_every_output(tmp_path):
    out = tmp_path / "run"
    done = run_cli("train", *TINY, "--epochs", "2", "--out", str(out), "--init", "lecun", "--seed", "3")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert [line.split(":")[0] for line in done.stdout.splitlines()[:2]] == ["epoch 1/2", "epoch 2/2"]

    with open(out / "metrics.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["epoch", "train_loss", "train_error", "val_loss", "val_error", "seconds", "lr"]
    assert [float(row["lr"]) for row in rows] == [train_command.DEFAULTS["lr"]] * 2
    assert [int(row["epoch"]) for row in rows] == [1, 2]
    assert all(0 <= float(row["val_error"]) <= 1 and float(row["train_loss"]) > 0 for row in rows)

    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["seed"] == 3
    assert summary["config"]["init"] == "lecun" and summary["config"]["hidden"] == [16]
    assert summary["spec"]["layer_sizes"] == [784, 16, 10]
    assert summary["versions"]["numpy"] == np.__version__ and summary["versions"]["fnmlp"] == fnmlp.__version__
    assert summary["final"]["val_loss"] == pytest.approx(float(rows[-1]["val_loss"]), rel=1e-12)
    assert summary["train_samples_per_second"] > 0 and summary["wall_seconds"] > 0
    assert f"test error {summary['final']['test_error']:.4f}" in done.stdout

    spec, params, bn_state, _ = fnmlp.load_params(out / "params.npz")
    data = fnmlp.load_mnist()
    test_loss, test_error = fnmlp.evaluate(spec, params, bn_state, data.test.x[:400], data.test.y[:400])
    assert (test_loss, test_error) == pytest.approx((summary["final"]["test_loss"], summary["final"]["test_error"]),
                                                    rel=1e-12)

    for name in ("train_loss", "train_error", "val_loss", "val_error", "curves"):
        png = (out / f"{name}.png").read_bytes()
        assert png.startswith(PNG_MAGIC)
        import matplotlib.image
        image = matplotlib.image.imread(out / f"{name}.png")
        assert image.ndim == 3 and image.shape[0] > 200 and image.std() > 0.01
    assert not [p for p in os.listdir(out) if p.startswith(".")], "no temporary files left behind"


def test_resumed_run_matches_an_uninterrupted_one(tmp_path, capsys):
    common = [*TINY, "--bn", "1", "--seed", "5", "--dtype", "float32"]
    assert cli.main(["train", *common, "--epochs", "6", "--out", str(tmp_path / "whole")]) == 0
    assert cli.main(["train", *common, "--epochs", "3", "--out", str(tmp_path / "split")]) == 0
    assert cli.main(["train", "--resume", str(tmp_path / "split"), "--epochs", "6", "--progress", "none"]) == 0
    whole, split = read_metrics(tmp_path / "whole" / "metrics.csv"), read_metrics(tmp_path / "split" / "metrics.csv")
    assert [(s.train_loss, s.val_loss, s.val_error) for s in whole] == [(s.train_loss, s.val_loss, s.val_error)
                                                                         for s in split]
    a, b = (fnmlp.load_params(tmp_path / run / "params.npz") for run in ("whole", "split"))
    assert all(x.dtype == np.float32 for x in fnmlp.tree_leaves(a[1]))
    for x, y in zip(fnmlp.tree_leaves((a[1], a[2])), fnmlp.tree_leaves((b[1], b[2]))):
        np.testing.assert_array_equal(x, y)
    assert json.loads((tmp_path / "split" / "summary.json").read_text())["epochs_completed"] == 6


def test_same_seed_same_bits_and_the_seed_is_recorded(tmp_path, capsys):
    for name in ("a", "b"):
        assert cli.main(["train", *TINY, "--epochs", "2", "--seed", "9", "--out", str(tmp_path / name)]) == 0
    a, b = (fnmlp.load_params(tmp_path / name / "params.npz") for name in ("a", "b"))
    for x, y in zip(fnmlp.tree_leaves(a[1]), fnmlp.tree_leaves(b[1])):
        np.testing.assert_array_equal(x, y)
    strip = [[(s.train_loss, s.val_loss) for s in read_metrics(tmp_path / n / "metrics.csv")] for n in ("a", "b")]
    assert strip[0] == strip[1]
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["seed"] == 9


def test_divergence_keeps_the_last_good_checkpoint_and_exits_non_zero(tmp_path, capsys):
    out = tmp_path / "run"
    # a linear network at lr 0.2 finishes two epochs, then its loss passes a million times its start's
    code = cli.main(["train", *TINY, "--epochs", "30", "--activation", "identity", "--lr", "0.2", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_DIVERGED
    assert "training diverged" in err and "epoch" in err and "batch" in err and "Traceback" not in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "diverged"
    spec, optimizer, state, meta = fnmlp.load_train_state(out / "checkpoint.npz")
    assert state.epoch == summary["epochs_completed"] == len(meta["history"]) > 0
    assert all(np.isfinite(a).all() for a in fnmlp.tree_leaves(state.params))
    assert all(np.isfinite(a).all() for a in fnmlp.tree_leaves(fnmlp.load_params(out / "params.npz")[1]))


def test_an_absurd_but_finite_learning_rate_is_divergence_and_losses_print_short(tmp_path, capsys):
    """--lr 1e300 gives finite losses of ~1e300 that used to "complete" and print 300 digits."""
    out = tmp_path / "run"
    code = cli.main(["train", *TINY, "--epochs", "2", "--lr", "1e300", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == cli.EXIT_DIVERGED
    assert "training diverged: the loss became" in captured.err and "at epoch 1, batch 1;" in captured.err
    assert json.loads((out / "summary.json").read_text())["status"] == "diverged"
    assert max(map(len, (captured.out + captured.err).splitlines())) < 200

    from fnmlp.cli.progress import Progress

    lines, bar = io.StringIO(), io.StringIO()
    progress = Progress(2, bar=True, out=lines, err=bar)
    progress.batch(1, 0, 4, 1.234567e301, 0.5)
    progress.epoch(fnmlp.EpochStats(1, 1.234567e301, 0.5, 0.01234567, 0.25, 1.5, 0.1))
    assert bar.getvalue().startswith("\repoch 1/2 [") and bar.getvalue().endswith(
        "] 1/4 loss 1.235e+301 error 0.5000\r\033[K")
    assert lines.getvalue() == ("epoch 1/2: train loss 1.235e+301 error 0.5000 | validation loss 0.01235 "
                                "error 0.2500 | 1.50 s\n")


def test_ctrl_c_stops_cleanly_after_writing_what_was_done(tmp_path):
    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "fnmlp", "train", "--limit", "5000", "--epochs", "10000", "--out", str(out),
         "--progress", "lines"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(fnmlp.__file__).parent.parent)})
    deadline = time.monotonic() + 60
    while not (out / "metrics.csv").exists() or not read_metrics(out / "metrics.csv"):
        assert time.monotonic() < deadline, "no epoch finished within a minute"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == cli.EXIT_INTERRUPTED, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["epochs_completed"] >= 1
    assert len(read_metrics(out / "metrics.csv")) == summary["epochs_completed"]
    assert fnmlp.load_train_state(out / "checkpoint.npz")[2].epoch == summary["epochs_completed"]


@pytest.mark.parametrize("args, message", [
    (["--lr", "-1"], "--lr: expected a finite number >= 0, got -1.0"),
    (["--momentum", "1"], "--momentum: expected a number in [0, 1), got 1.0"),
    (["--batch-size", "0"], "--batch-size: expected an integer >= 1, got 0"),
    (["--batch-size", "401"], "--batch-size: expected at most 400, the training rows, got 401"),
    (["--epochs", "-2"], "--epochs: expected an integer >= 0, got -2"),
    (["--bn", "3"], "--bn: expected at most 2, the number of layers, got 3"),
    (["--activation", "relu", "tanh", "relu"], "--activation: expected 1, 1 or 2 names for 1 hidden layers, got 3"),
    (["--activation", "swish"], "--activation: expected names among identity, sigmoid, tanh, relu, leaky_relu, elu, gelu, softplus, silu, linear, got swish"),
    (["--hidden", "0"], "--hidden: expected positive sizes, got 0"),
    (["--dataset", "/nonexistent/dir"], "/nonexistent/dir"),
])
def test_bad_options_give_one_line_and_status_2(tmp_path, capsys, args, message):
    out = tmp_path / "run"
    code = cli.main(["train", "--limit", "400", "--hidden", "16", *args, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE
    assert err.startswith("fnmlp: error: ") and message in err and err.count("\n") == 1, err
    assert not (out / "checkpoint.npz").exists()


def test_resume_refuses_other_options_and_out_refuses_an_existing_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", *TINY, "--epochs", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    assert cli.main(["train", "--resume", str(out), "--lr", "0.1"]) == cli.EXIT_USAGE
    assert "--resume: the run keeps its own options; remove --lr" in capsys.readouterr().err
    assert cli.main(["train", *TINY, "--out", str(out)]) == cli.EXIT_USAGE
    assert f"--out: {out} already holds a run" in capsys.readouterr().err
    assert cli.main(["train", "--resume", str(tmp_path / "missing")]) == cli.EXIT_USAGE


def test_help_explains_every_option():
    done = run_cli("train", "--help")
    assert done.returncode == 0
    for option in ("--hidden", "--activation", "--bn", "--lr", "--momentum", "--epochs", "--batch-size", "--seed",
                   "--dtype", "--init", "--dataset", "--out", "--resume", "--limit", "--progress"):
        assert option in done.stdout
    assert "(default: 64 64 32)" in done.stdout and "(default: 0.008)" in done.stdout
    assert "(default: None)" not in done.stdout


def test_ctrl_c_while_saving_an_epoch_leaves_outputs_of_the_last_saved_one(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    save = run_files.save_run_checkpoint

    def interrupted_at_epoch_2(run, state, history):
        if state.epoch == 2:
            raise KeyboardInterrupt
        save(run, state, history)

    monkeypatch.setattr(run_files, "save_run_checkpoint", interrupted_at_epoch_2)
    assert cli.main(["train", *TINY, "--epochs", "3", "--out", str(out)]) == cli.EXIT_INTERRUPTED
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs_completed"] == 1
    assert [s.epoch for s in read_metrics(out / "metrics.csv")] == [1]
    assert fnmlp.load_train_state(out / "checkpoint.npz")[2].epoch == 1


def test_early_stopping_keeps_the_best_epoch_and_records_it(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", *TINY, "--epochs", "40", "--lr", "0.5", "--early-stopping", "2", "--seed", "4",
                     "--out", str(out)]) == 0
    history = read_metrics(out / "metrics.csv")
    summary = json.loads((out / "summary.json").read_text())
    losses = [s.val_loss for s in history]
    best = 1 + losses.index(min(losses))
    assert len(history) == best + 2 < 40  # two epochs without a lower validation loss, then it stopped
    assert summary["best_epoch"] == best and summary["epochs_completed"] == len(history)
    _, _, state, _ = fnmlp.load_train_state(out / "checkpoint.npz")
    spec, params, bn_state, _ = fnmlp.load_params(out / "params.npz")
    assert state.early_stopping.best_epoch == best
    for kept, saved in zip(fnmlp.tree_leaves(state.early_stopping.params), fnmlp.tree_leaves(params)):
        np.testing.assert_array_equal(kept, saved)
    data = fnmlp.load_mnist()
    assert fnmlp.evaluate(spec, params, bn_state, data.validation.x[:400], data.validation.y[:400])[0] == \
        pytest.approx(min(losses), rel=1e-12)


def test_the_recipes_options_are_recorded_and_flags_override_them(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", "--recipe", "best", "--hidden", "32", "--epochs", "1", "--limit", "300",
                     "--progress", "none", "--out", str(out)]) == 0
    config = json.loads((out / "summary.json").read_text())["config"]
    best = fnmlp.config.RECIPES["best"]
    assert config["recipe"] == "best" and config["hidden"] == [32] and config["epochs"] == 1
    assert (config["optimizer"], config["nesterov"], config["schedule"], config["dropout"], config["dtype"]) == \
        (best.optimizer, best.nesterov, best.schedule, list(best.dropout), best.dtype)
    spec, optimizer, state, _ = fnmlp.load_train_state(out / "checkpoint.npz")
    assert spec.layer_sizes == (784, 32, 10) and spec.dropout == fnmlp.config.build(
        configure(best, {"hidden": [32]}), num_features=784, num_classes=10, num_train=300).spec.dropout
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert list(rows[0])[-1] == "lr" and 0 <= float(rows[0]["lr"]) < best.lr  # the cosine schedule has decayed


def test_resume_is_bit_for_bit_with_dropout_adam_and_a_warm_up(tmp_path, capsys):
    # a schedule spans the --epochs a run starts with, so the split run could not share one with the whole;
    # a constant rate after a warm-up shorter than the split is the same in both
    common = [*TINY, "--dropout", "0.2", "0.5", "--optimizer", "adam", "--lr", "0.003", "--warmup-epochs", "1",
              "--dtype", "float32", "--seed", "8"]
    assert cli.main(["train", *common, "--epochs", "4", "--out", str(tmp_path / "whole")]) == 0
    assert cli.main(["train", *common, "--epochs", "2", "--out", str(tmp_path / "split")]) == 0
    assert cli.main(["train", "--resume", str(tmp_path / "split"), "--epochs", "4", "--progress", "none"]) == 0
    whole, split = (read_metrics(tmp_path / run / "metrics.csv") for run in ("whole", "split"))
    assert [(s.train_loss, s.val_loss, s.lr) for s in whole] == [(s.train_loss, s.val_loss, s.lr) for s in split]
    a, b = (fnmlp.load_params(tmp_path / run / "params.npz") for run in ("whole", "split"))
    for x, y in zip(fnmlp.tree_leaves(a[1]), fnmlp.tree_leaves(b[1])):
        np.testing.assert_array_equal(x, y)
    assert a[0].dropout == (0.2, 0.5)  # TINY has one hidden layer: the input's rate, then the hidden one's
