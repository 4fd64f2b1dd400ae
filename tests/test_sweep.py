"""``fnmlp sweep`` on real Dask clusters on 127.0.0.1: sweep files, an embedded LocalCluster, an external
``dask scheduler`` + ``dask worker`` with a worker killed mid-trial, successive halving, and ``--resume``.

Every trial's final parameters are compared bit for bit with a plain ``fnmlp train`` of the same
options, run with the workers' BLAS setting (one thread). Trials train on a small MNIST-format
directory of 8x8 images (``--dataset DIR``), so that loading data costs nothing."""

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import fnmlp
from fnmlp import cli
from fnmlp.cli import train as train_command
from fnmlp.runs import lock as run_lock
from fnmlp import sweep
from fnmlp.runs.files import read_metrics

ROOT = str(Path(fnmlp.__file__).parent.parent)
ENV = {**os.environ, "PYTHONPATH": ROOT, **sweep.BLAS_ENV}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def idx_bytes(array):
    return bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape) + array.tobytes()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """An MNIST-format directory: 5,200 training images (the last 5,000 are validation) and 200 test
    images of 8x8 pixels, each brighter in the pixel of its class."""
    directory = tmp_path_factory.mktemp("idx")
    rng = np.random.default_rng(0)
    for prefix, rows in (("train", 5200), ("t10k", 200)):
        labels = rng.integers(0, 10, rows).astype(np.uint8)
        images = rng.integers(0, 160, (rows, 8, 8)).astype(np.uint8)
        images.reshape(rows, 64)[np.arange(rows), labels] += 90
        (directory / f"{prefix}-images-idx3-ubyte").write_bytes(idx_bytes(images))
        (directory / f"{prefix}-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    return directory


@pytest.fixture(scope="module")
def local():
    """An embedded LocalCluster of two worker processes, shared by the tests that need one."""
    with sweep.connect(2, None) as client:
        yield client


@pytest.fixture
def processes():
    """Start subprocesses in their own sessions; kill every one of their process groups at the end."""
    started = []

    def start(args, **kwargs):
        process = subprocess.Popen(args, env=ENV, start_new_session=True, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, **kwargs)
        started.append(process)
        return process

    yield start
    for process in started:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.communicate(timeout=30)


def write(path, text, **values):
    path.write_text(textwrap.dedent(text).format(**values) if values else text)
    return path


def rows_of(directory):
    with open(directory / "sweep.csv", newline="") as file:
        return list(csv.DictReader(file))


def plain_trains(tmp_path, plan, epochs=None, names=None):
    """Train the trials of ``plan`` (those in ``names``, default all) with a plain ``fnmlp train`` each,
    in one subprocess, BLAS at one thread."""
    jobs = [(trial["options"], epochs or trial["epochs"], str(tmp_path / "plain" / trial["name"]))
            for trial in plan["trials"] if names is None or trial["name"] in names]
    code = ("from fnmlp.runs import train_run\nfrom fnmlp.sweep import trial_config\n"
            f"for options, epochs, out in {jobs!r}:\n"
            "    assert train_run(trial_config(options, epochs), out).status == 'completed'\n")
    done = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return tmp_path / "plain"


def assert_same_params(a, b):
    with np.load(a) as x, np.load(b) as y:
        assert sorted(x.files) == sorted(y.files)
        for name in x.files:
            assert x[name].dtype == y[name].dtype and np.array_equal(x[name], y[name]), name


# ---------------------------------------------------------------- sweep files


@pytest.mark.parametrize("text, message", [
    ("[base]\nlimit = 200\n[grid]\nlearning_rate = [0.1]\n",
     "grid.learning_rate: unknown option; expected a fnmlp train option: activation, augment, batch_size, bn,"),
    ("[base]\nout = 'x'\n[grid]\nlr = [0.1]\n", "base.out: unknown option"),
    ("[grid]\n", "grid: expected at least one option with a list of values, got an empty grid"),
    ("[grid]\nlr = []\n", "grid.lr: expected a non-empty list of values, got []"),
    ("[grid]\nlr = 0.1\n", "grid.lr: expected a non-empty list of values, got 0.1"),
    ("[grid]\nlr = ['fast', 0.1]\n", "grid.lr[0]: expected a number, got 'fast'"),
    ("[grid]\nhidden = [[16, 'wide']]\n", "grid.hidden[0]: expected whole layer sizes, got 16 wide"),
    ("[grid]\ninit = ['zeros']\n", "grid.init[0]: expected one of normal, lecun, xavier, he, got 'zeros'"),
    ("[grid]\nlr = [true]\n", "grid.lr[0]: expected a number, got True"),
    ("[base]\nepochs = [2, 3]\n[grid]\nlr = [0.1]\n", "base.epochs: expected a single value for epochs, got [2, 3]"),
    ("[random]\nsamples = 3\nlr = {log_uniform = [0, 0.1]}\n",
     "random.lr.log_uniform: expected 0 < low < high, got [0, 0.1]"),
    ("[random]\nsamples = 3\nmomentum = {uniform = [0.9, 0.5]}\n",
     "random.momentum.uniform: expected low < high, got [0.9, 0.5]"),
    ("[random]\nsamples = 3\nlr = {uniform = [0.1]}\n", "random.lr.uniform: expected [low, high], two finite"),
    ("[random]\nsamples = 3\nlr = {normal = [0, 1]}\n", "random.lr: expected one of {uniform = [low, high]}"),
    ("[random]\nsamples = 3\nhidden = {choice = []}\n", "random.hidden.choice: expected a non-empty list"),
    ("[random]\nsamples = 0\nlr = {uniform = [0.1, 0.2]}\n", "random.samples: expected an integer >= 1"),
    ("[random]\nsamples = 2\nmomentum = {uniform = [0.5, 1.5]}\n",
     "random.momentum.uniform: momentum: expected a number in [0, 1), got 1.5"),
    ("[grid]\nlr = [0.1]\n[random]\nsamples = 1\n", "grid: expected either a grid or a random block, not both"),
    ("seed = -1\n[grid]\nlr = [0.1]\n", "seed: expected an integer >= 0"),
    ("trials = 3\n[grid]\nlr = [0.1]\n", "trials: unknown key; expected base, grid, random and seed"),
    ("[grid]\nactivation = ['relu']\nhidden = [[16, 8]]\nbn = [5]\n",
     "trial 000 (activation=relu, hidden=16 8, bn=5): bn: expected at most 3, the number of layers, got 5"),
    ("[grid]\nlr = [0.1, -1]\n", "grid.lr[1]: expected a finite number >= 0, got -1.0"),
    ("[grid]\nlr = [0.1\n", "not a valid TOML file"),
])
def test_a_bad_sweep_file_gets_one_line_naming_the_key_and_no_trial_starts(tmp_path, capsys, text, message):
    path = write(tmp_path / "sweep.toml", text)
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "out")]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"fnmlp: error: {path}: {message}"), err
    assert not (tmp_path / "out").exists()


def test_json_sweep_files_and_bad_halving_and_epochs_swept_under_halving(tmp_path, capsys):
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps({"base": {"hidden": "wide"}, "grid": {"lr": [0.1]}}))
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "out")]) == cli.EXIT_USAGE
    assert capsys.readouterr().err == f"fnmlp: error: {path}: base.hidden: expected whole layer sizes, got wide\n"
    path = write(tmp_path / "sweep.toml", "[grid]\nepochs = [2, 4]\n")
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "out"), "--halving", "1"]) == cli.EXIT_USAGE
    assert capsys.readouterr().err == "fnmlp: error: --halving: expected an integer >= 2, got 1\n"
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "out"), "--halving", "2"]) == cli.EXIT_USAGE
    assert capsys.readouterr().err == (f"fnmlp: error: {path}: epochs: expected the same epochs for every trial "
                                       "with halving, got 2, 4\n")
    assert not (tmp_path / "out").exists()
    path = write(tmp_path / "zero.toml", "[base]\nepochs = 0\n[grid]\nseed = [1, 2]\n")
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "out"), "--halving", "2"]) == cli.EXIT_USAGE
    assert capsys.readouterr().err == (f"fnmlp: error: {path}: epochs: expected at least 1 epoch for every "
                                       "trial with halving, got 0\n")
    assert not (tmp_path / "out").exists()


def test_plans_expand_grids_in_order_and_draw_random_values_from_the_seed():
    grid = sweep.make_plan({"base": {"limit": 200, "hidden": 16, "epochs": 9, "bn": 0},
                            "grid": {"lr": [0.1, 0.2], "activation": ["relu", "tanh"]}}, "f")
    assert [trial["swept"] for trial in grid["trials"]] == [
        {"lr": 0.1, "activation": "relu"}, {"lr": 0.1, "activation": "tanh"},
        {"lr": 0.2, "activation": "relu"}, {"lr": 0.2, "activation": "tanh"}]
    assert grid["trials"][1]["options"] == {"limit": 200, "hidden": 16, "epochs": 9, "bn": 0, "lr": 0.1,
                                            "activation": "tanh"}
    config = sweep.trial_config(grid["trials"][1]["options"])
    assert (config.limit, config.hidden, config.epochs, config.bn, config.lr, config.activation) == \
        (200, (16,), 9, 0, 0.1, ("tanh",))
    assert [trial["epochs"] for trial in grid["trials"]] == [9] * 4 and grid["rungs"] == [None]
    assert sweep.make_plan({"grid": {"lr": [0.1]}}, "f")["trials"][0]["epochs"] == train_command.DEFAULTS["epochs"]

    table = {"seed": 7, "random": {"samples": 5, "lr": {"log_uniform": [1e-3, 1e-1]},
                                   "momentum": {"uniform": [0.5, 0.9]}, "hidden": {"choice": [[16], [8, 8]]},
                                   "batch_size": {"log_uniform": [10, 100]}, "init": "he"}}
    plan = sweep.make_plan(json.loads(json.dumps(table)), "f")
    rng = np.random.default_rng(7)
    for trial in plan["trials"]:
        expected = {"lr": float(np.exp(rng.uniform(np.log(1e-3), np.log(1e-1)))),
                    "momentum": float(rng.uniform(0.5, 0.9)), "hidden": [[16], [8, 8]][int(rng.integers(2))],
                    "batch_size": int(round(np.exp(rng.uniform(np.log(10), np.log(100))))), "init": "he"}
        assert trial["swept"] == expected
    assert sweep.make_plan(json.loads(json.dumps(table)), "f") == plan

    halving = sweep.make_plan({"base": {"epochs": 9}, "grid": {"seed": list(range(10))}}, "f", 3)
    assert halving["rungs"] == [1, 3, 9]
    assert sweep.make_plan({"base": {"epochs": 9}, "grid": {"seed": [1, 2]}}, "f", 3)["rungs"] == [9]
    assert sweep.make_plan({"base": {"epochs": 2}, "grid": {"seed": list(range(9))}}, "f", 2)["rungs"] == [1, 2]


def test_without_dask_the_sweep_says_how_to_install_it(tmp_path, capsys):
    path = write(tmp_path / "sweep.toml", "[grid]\nlr = [0.1]\n")
    code = (f"import sys; sys.modules['distributed'] = None; from fnmlp import cli; "
            f"sys.exit(cli.main(['sweep', {str(path)!r}, '--out', {str(tmp_path / 'out')!r}]))")
    done = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr == f"fnmlp: error: {sweep.INSTALL_HINT}\n"


# ---------------------------------------------------------------- clusters


def test_local_cluster_with_halving_writes_every_output(tmp_path, data, local):
    path = write(tmp_path / "sweep.toml", """\
        [base]
        dataset = "{data}"
        limit = 200
        epochs = 2
        hidden = 16
        [grid]
        lr = [0.003, 0.05]
        seed = [1, 2]
        """, data=data)
    plan = sweep.make_plan(sweep.load_sweep_file(path), str(path), 2)
    assert plan["rungs"] == [1, 2]
    out = tmp_path / "out"
    (out / "trials").mkdir(parents=True)
    workers = local.run(lambda: (os.environ.get("OPENBLAS_NUM_THREADS"), os.environ.get("OMP_NUM_THREADS"),
                                  os.getpid()))
    assert len(workers) == 2 and all(value[:2] == ("1", "1") for value in workers.values())
    assert all(address.startswith("tcp://127.0.0.1:") for address in workers)
    summary = sweep.execute(plan, out, local)
    records = {path: path.read_text() for path in sorted(out.glob("trials/*/trial.json"))}
    assert sweep.execute(plan, out, local) == summary, "executing again (as --resume does) decides the same"
    assert {path: path.read_text() for path in records} == records, "and trains nothing again"

    rows = rows_of(out)
    assert list(rows[0]) == ["trial", "lr", "seed", "status", "epochs", "final_val_loss", "final_val_error",
                             "best_val_loss", "best_val_error", "best_epoch", "test_loss", "test_error", "seconds",
                             "worker", "message"]
    first = {trial["name"]: read_metrics(out / "trials" / trial["name"] / "metrics.csv")[0]
             for trial in plan["trials"]}
    ranked = sorted(first, key=lambda name: (first[name].val_error, first[name].val_loss, name))
    assert [row["status"] for row in sorted(rows, key=lambda row: ranked.index(row["trial"]))] == [
        "completed", "completed", "stopped", "stopped"]
    assert {row["trial"]: int(row["epochs"]) for row in rows} == {name: 2 if name in ranked[:2] else 1
                                                                  for name in ranked}
    assert {row["worker"] for row in rows} <= set(workers) and len({row["worker"] for row in rows}) == 2
    for row in rows:
        history = read_metrics(out / "trials" / row["trial"] / "metrics.csv")
        assert float(row["final_val_error"]) == history[-1].val_error
        assert float(row["best_val_error"]) == min(s.val_error for s in history)
        assert float(row["seconds"]) > 0
        config = json.loads((out / "trials" / row["trial"] / "summary.json").read_text())["config"]
        options = next(t["options"] for t in plan["trials"] if t["name"] == row["trial"])
        assert {key: config[key] for key in options if key != "epochs"} == {
            key: [value] if key == "hidden" else value for key, value in options.items() if key != "epochs"}
        assert config["epochs"] == int(row["epochs"])

    best = min(ranked[:2], key=lambda name: (float(next(r for r in rows if r["trial"] == name)["final_val_error"]),
                                             float(next(r for r in rows if r["trial"] == name)["final_val_loss"])))
    written = json.loads((out / "sweep.json").read_text())
    assert written == json.loads(json.dumps(summary))
    assert written["best"]["trial"] == best and written["best"]["directory"] == f"trials/{best}"
    assert (written["completed"], written["stopped"], written["failed"]) == (2, 2, 0)
    assert written["halving"] == {"eta": 2, "rungs": [1, 2]}
    for name in ("sweep_curves.png", "sweep_params.png"):
        assert (out / name).read_bytes().startswith(PNG_MAGIC)

    plain = plain_trains(tmp_path, plan, epochs=2, names=ranked[:2])  # resumed rungs = uninterrupted runs
    for name in ranked[:2]:
        assert_same_params(out / "trials" / name / "params.npz", plain / name / "params.npz")


def test_external_cluster_survives_a_worker_killed_mid_trial_bit_for_bit(tmp_path, data, processes):
    scheduler_file = tmp_path / "scheduler.json"
    processes([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
               "--scheduler-file", str(scheduler_file)])
    deadline = time.monotonic() + 60
    while not scheduler_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    address = json.loads(scheduler_file.read_text())["address"]
    assert address.startswith("tcp://127.0.0.1:")
    workers = [processes([sys.executable, "-m", "dask", "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                          "--no-nanny", "--no-dashboard", "--death-timeout", "60"]) for _ in range(2)]
    path = write(tmp_path / "sweep.toml", """\
        [base]
        dataset = "{data}"
        limit = 200
        epochs = 30
        hidden = 16
        batch-size = 20
        [grid]
        seed = [1, 2]
        lr = [0.01]
        bn = [0, 1]
        """, data=data)
    out = tmp_path / "out"
    driver = processes([sys.executable, "-m", "fnmlp", "sweep", str(path), "--out", str(out), "--scheduler", address])

    killed, deadline = None, time.monotonic() + 90
    while killed is None and driver.poll() is None and time.monotonic() < deadline:
        for trial in sorted((out / "trials").glob("*")) if (out / "trials").is_dir() else []:
            holder = run_lock.holder(trial)
            done = len(read_metrics(trial / "metrics.csv")) if (trial / "metrics.csv").exists() else 0
            if holder and holder["pid"] in {w.pid for w in workers} and done and not (trial / "summary.json").exists():
                os.kill(holder["pid"], signal.SIGKILL)
                killed = (trial, read_metrics(trial / "metrics.csv"))
                break
        time.sleep(0.02)
    assert killed is not None, "no worker was caught mid-trial"
    stdout, stderr = driver.communicate(timeout=120)
    assert driver.returncode == 0, stderr
    assert "sweep: 4/4 done, 0 running, 0 failed, ETA 0 s" in stdout

    rows = rows_of(out)
    assert [row["status"] for row in rows] == ["completed"] * 4 and all(row["epochs"] == "30" for row in rows)
    trial, before_kill = killed
    assert 1 <= len(before_kill) < 30
    assert read_metrics(trial / "metrics.csv")[:len(before_kill)] == before_kill, \
        "the epochs finished before the kill are kept (their timings too), not trained again"
    plan = json.loads((out / sweep.PLAN).read_text())
    plain = plain_trains(tmp_path, plan)
    for row in rows:
        assert_same_params(out / "trials" / row["trial"] / "params.npz", plain / row["trial"] / "params.npz")
        ours = read_metrics(out / "trials" / row["trial"] / "metrics.csv")
        theirs = read_metrics(plain / row["trial"] / "metrics.csv")
        assert [(s.epoch, s.train_loss, s.val_loss) for s in ours] == [(s.epoch, s.train_loss, s.val_loss)
                                                                       for s in theirs]


def test_resume_keeps_finished_trials_and_continues_the_others(tmp_path, data, local, processes):
    path = write(tmp_path / "sweep.toml", """\
        [base]
        dataset = "{data}"
        limit = 200
        hidden = 16
        batch-size = 20
        [grid]
        epochs = [2, 60]
        seed = [4]
        """, data=data)
    out = tmp_path / "out"
    driver = processes([sys.executable, "-m", "fnmlp", "sweep", str(path), "--out", str(out), "--workers", "1"])
    first, second = out / "trials" / "000", out / "trials" / "001"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not (
            (first / sweep.TRIAL_FILE).exists() and (second / "metrics.csv").exists()):
        time.sleep(0.02)
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and its cluster stop at once
    driver.communicate(timeout=30)
    assert (first / "summary.json").exists() and not (second / "summary.json").exists()
    kept = (first / "params.npz").stat().st_mtime_ns, (first / sweep.TRIAL_FILE).read_text()
    deadline = time.monotonic() + 30
    while run_lock.holder(second) is not None and time.monotonic() < deadline:
        time.sleep(0.05)  # the cluster's worker dies with its nanny

    resumed = processes([sys.executable, "-m", "fnmlp", "sweep", "--resume", str(out),
                         "--scheduler", local.scheduler.address])
    stdout, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr
    assert "sweep: 1/2 done, 1 running, 0 failed, ETA ?" in stdout
    assert ((first / "params.npz").stat().st_mtime_ns, (first / sweep.TRIAL_FILE).read_text()) == kept
    assert [row["status"] for row in rows_of(out)] == ["completed", "completed"]
    assert [row["epochs"] for row in rows_of(out)] == ["2", "60"]
    plain = plain_trains(tmp_path, json.loads((out / sweep.PLAN).read_text()))
    for name in ("000", "001"):
        assert_same_params(out / "trials" / name / "params.npz", plain / name / "params.npz")


def test_a_trial_failing_for_its_own_reason_is_recorded_and_the_sweep_goes_on(tmp_path, data, local):
    path = write(tmp_path / "sweep.toml", """\
        [base]
        dataset = "{data}"
        limit = 200
        epochs = 2
        hidden = 16
        activation = "identity"
        [grid]
        batch-size = [50, 500]
        lr = [0.01, 1e300]
        """, data=data)
    plan = sweep.make_plan(sweep.load_sweep_file(path), str(path))
    out = tmp_path / "out"
    (out / "trials").mkdir(parents=True)
    summary = sweep.execute(plan, out, local)
    rows = {row["trial"]: row for row in rows_of(out)}
    assert rows["000"]["status"] == "completed" and rows["000"]["message"] == ""
    assert rows["001"]["status"] == "diverged" and rows["001"]["message"].startswith("training diverged")
    for name in ("002", "003"):
        assert rows[name]["status"] == "failed"
        assert rows[name]["message"] == "batch_size: expected at most 200, the training rows, got 500"
    assert (summary["completed"], summary["failed"], summary["best"]["trial"]) == (1, 3, "000")


def test_a_sweep_refuses_a_non_empty_directory_that_is_not_a_sweep(tmp_path, capsys):
    path = write(tmp_path / "sweep.toml", "[grid]\nlr = [0.1]\n")
    out = tmp_path / "notes"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert cli.main(["sweep", str(path), "--out", str(out)]) == cli.EXIT_USAGE
    assert capsys.readouterr().err == (f"fnmlp: error: --out: expected a new or empty directory, got {out}, "
                                       "which holds notes.txt\n")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
