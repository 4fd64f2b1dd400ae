"""One writer per run directory: the lock itself, two concurrent ``fnmlp train``, and a killed holder."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import fnmlp
from fnmlp import cli
from fnmlp.runs import lock as run_lock
from fnmlp.runs.checkpoint import load_train_state
from fnmlp.runs.files import read_metrics, write_metrics

ROOT = str(Path(fnmlp.__file__).parent.parent)
TINY = ["--limit", "200", "--hidden", "16", "--progress", "none"]


def start_train(*args):
    return subprocess.Popen([sys.executable, "-m", "fnmlp", "train", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": ROOT, "OPENBLAS_NUM_THREADS": "1"})


def test_the_lock_is_exclusive_names_its_holder_and_is_released(tmp_path):
    with run_lock.RunLock.acquire(tmp_path) as lock:
        holder = run_lock.holder(tmp_path)
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        assert holder["started"][:4].isdigit()
        with pytest.raises(run_lock.RunLocked) as refused:
            run_lock.RunLock.acquire(tmp_path)  # flock conflicts between open files, even in one process
        assert refused.value.holder == holder
        assert str(refused.value) == (f"{tmp_path} is being written by another fnmlp process (pid {os.getpid()} "
                                      f"on {socket.gethostname()}, started {holder['started']})")
    lock.release()  # idempotent
    assert run_lock.holder(tmp_path) is None
    run_lock.RunLock.acquire(tmp_path).release()
    assert (tmp_path / run_lock.LOCK_FILE).exists(), "the lock file stays; only the flock says who holds it"


def test_train_refuses_a_directory_another_process_holds(tmp_path, capsys):
    with run_lock.RunLock.acquire(tmp_path):
        assert cli.main(["train", *TINY, "--epochs", "1", "--out", str(tmp_path)]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"fnmlp: error: --out: {tmp_path} is being written by another fnmlp process (pid "
                          f"{os.getpid()} on {socket.gethostname()}, started ")
    assert not (tmp_path / "checkpoint.npz").exists()


def test_two_trains_started_together_on_one_directory_exactly_one_runs(tmp_path):
    out = tmp_path / "run"
    runs = [start_train(*TINY, "--epochs", "3", "--seed", str(seed), "--out", str(out)) for seed in (1, 2)]
    results = [(run.wait(timeout=120), *run.communicate()) for run in runs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, cli.EXIT_USAGE], results
    winner = next(i for i, (code, _, _) in enumerate(results) if code == 0)
    _, _, loser_err = results[1 - winner]
    assert loser_err.count("\n") == 1 and loser_err.startswith(f"fnmlp: error: --out: {out} ")
    assert ("is being written by another fnmlp process (pid" in loser_err
            or "already holds a run" in loser_err), loser_err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == (1, 2)[winner] and summary["status"] == "completed"
    assert [stats.epoch for stats in read_metrics(out / "metrics.csv")] == [1, 2, 3]
    assert sorted(p.name for p in out.iterdir() if not p.name.endswith(".png")) == [
        "checkpoint.npz", "metrics.csv", "params.npz", "run.lock", "summary.json"]


def test_resume_is_refused_while_the_run_is_live_and_a_killed_holder_leaves_no_stale_lock(tmp_path):
    out = tmp_path / "run"
    holder = start_train(*TINY, "--epochs", "100000", "--batch-size", "200", "--out", str(out))
    try:
        deadline = time.monotonic() + 60
        while not (out / "metrics.csv").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert run_lock.holder(out)["pid"] == holder.pid
        second = start_train("--resume", str(out), "--epochs", "100000", "--progress", "none")
        code, (_, err) = second.wait(timeout=60), second.communicate()
        assert code == cli.EXIT_USAGE and err.count("\n") == 1
        assert err.startswith(f"fnmlp: error: --resume: {out} is being written by another fnmlp process "
                              f"(pid {holder.pid} on {socket.gethostname()}, started ")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate(timeout=30)
    assert run_lock.holder(out) is None
    epochs_done = load_train_state(out / "checkpoint.npz")[2].epoch
    assert cli.main(["train", "--resume", str(out), "--epochs", str(epochs_done + 1), "--progress", "none"]) == 0
    assert [stats.epoch for stats in read_metrics(out / "metrics.csv")] == list(range(1, epochs_done + 2))


def test_resuming_restores_metrics_of_a_writer_killed_between_checkpoint_and_metrics(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", *TINY, "--epochs", "3", "--out", str(out)]) == 0
    history = read_metrics(out / "metrics.csv")
    write_metrics(out / "metrics.csv", history[:2])  # the checkpoint of epoch 3 was written, its metrics not
    assert cli.main(["train", "--resume", str(out), "--epochs", "3", "--progress", "none"]) == 0
    assert read_metrics(out / "metrics.csv") == history
