"""Ctrl-C outside the epochs: while the data loads, a run leaves no directory behind; while the outputs
are written, every file is finished first. Both exit 130 with one line and no traceback. The signal
is sent when the run reaches the stage (a marker file), not after a sleep."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--limit", "300", "--hidden", "8", "--epochs", "2", "--progress", "none"]
HOLDER = """
import sys, time, pathlib
import fnmlp.plots.history as history
import fnmlp.runs.train as run_train

markers, stage = pathlib.Path(sys.argv[1]), sys.argv[2]

def hold():
    (markers / stage).write_text("")
    deadline = time.monotonic() + 60
    while not (markers / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.01)

if stage == "loading":
    load = run_train.load_splits
    run_train.load_splits = lambda config: (hold(), load(config))[1]
else:
    plot = history.plot_history
    history.plot_history = lambda *args: (hold(), plot(*args))[1]

from fnmlp.cli import main
sys.exit(main(sys.argv[3:]))
"""


def interrupted_at(stage, tmp_path, out):
    markers = tmp_path / "markers"
    markers.mkdir()
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(markers), stage, "train", *TINY, "--out", str(out)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 60
    while not (markers / stage).exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    (markers / "release").write_text("")
    out_text, err_text = process.communicate(timeout=120)
    return process.returncode, out_text, err_text


def test_ctrl_c_while_the_data_loads_leaves_no_directory_and_exits_130(tmp_path):
    out = tmp_path / "new" / "run"
    code, _, err = interrupted_at("loading", tmp_path, out)
    assert code == 130, err
    assert err == "fnmlp: interrupted before the first epoch; nothing was written\n"
    assert not (tmp_path / "new").exists()


def test_ctrl_c_while_the_plots_are_drawn_finishes_every_file_and_exits_130(tmp_path):
    out = tmp_path / "run"
    code, stdout, err = interrupted_at("plotting", tmp_path, out)
    assert code == 130, err
    assert err == "fnmlp: interrupted while writing the outputs; every file was finished first\n"
    assert "after 2 epochs (completed)" in stdout
    for name in ("checkpoint.npz", "params.npz", "metrics.csv", "summary.json", "curves.png", "train_loss.png",
                 "train_error.png", "val_loss.png", "val_error.png"):
        assert (out / name).is_file(), name


@pytest.mark.parametrize("out, message", [
    ("/proc/fnmlp_nope", "--out: cannot create /proc/fnmlp_nope: No such file or directory"),
    ("", "--out: expected a directory path, got an empty one"),
])
def test_an_out_directory_that_cannot_be_made_fails_before_any_work(out, message, capsys, monkeypatch):
    from fnmlp import cli
    from fnmlp.runs import train as run_train

    monkeypatch.setattr(run_train, "load_splits", lambda config: pytest.fail("the data was loaded"))
    assert cli.main(["train", *TINY, "--out", out]) == cli.EXIT_USAGE
    assert capsys.readouterr().err == f"fnmlp: error: {message}\n"
