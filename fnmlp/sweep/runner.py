"""``fnmlp sweep``: many ``fnmlp train`` runs from one sweep file, on Dask distributed.

A sweep file (TOML or JSON) holds ``base`` (``fnmlp train`` options shared by every trial) and either
``grid`` (a list of values per option; the trials are their cartesian product) or ``random``
(``samples = N`` and, per option, ``{uniform = [lo, hi]}``, ``{log_uniform = [lo, hi]}`` or
``{choice = [...]}``, drawn from the sweep's top-level ``seed``). Keys are ``train`` options' names.

Each trial is an ordinary run in ``SWEEP_DIR/trials/NNN/``, trained by the ``train`` command itself
(``cli.main``) from an argv built from its options, inside a Dask task: ``run_trial(directory, argv,
epochs)``, a plain function of plain data that leaves its results in the trial's directory. A task
that finds a checkpoint resumes from it, so a worker killed mid-trial costs the unfinished epoch.

Dask is imported only by ``_connect``, when a sweep runs.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import itertools
import json
import logging
import math
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..cli import train as cli
from ..runs import lock as run_lock
from ..utils.atomic import atomic_write
from ..runs.files import CHECKPOINT, read_metrics

PLAN = "sweep_plan.json"
TRIAL_FILE = "trial.json"
OWNED = {"out", "resume", "progress", "help", "run", "command"}
DISTRIBUTIONS = ("uniform", "log_uniform", "choice")
BLAS_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "VECLIB_MAXIMUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1"}
ALLOWED_FAILURES = 3
TASK_RETRIES = 2
LOCK_WAIT_SECONDS = 600.0
INSTALL_HINT = "fnmlp sweep needs Dask distributed: pip install 'fnmlp[sweep]'"


def add_parser(commands: Any) -> None:
    """Register ``fnmlp sweep`` on the ``train`` command's subparsers."""
    sweep = commands.add_parser(
        "sweep", help="train many runs from a sweep file (grid or random search) on Dask",
        description="Run every trial of a sweep file as an ordinary 'fnmlp train' run in SWEEP_DIR/trials/NNN/, "
                    "on an embedded Dask LocalCluster or an existing Dask cluster; write sweep.csv, sweep.json, "
                    "sweep_curves.png and sweep_params.png.")
    sweep.set_defaults(run=run)
    sweep.add_argument("file", nargs="?", metavar="FILE", help="the sweep file, TOML or JSON")
    sweep.add_argument("--out", metavar="SWEEP_DIR", help="the sweep's directory (new, or empty)")
    sweep.add_argument("--resume", metavar="SWEEP_DIR",
                       help="continue the sweep in SWEEP_DIR: finished trials are kept, unfinished ones resume")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--workers", type=cli._integer, metavar="N",
                       help="worker processes of the embedded LocalCluster on 127.0.0.1 (default: the cores)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="submit to the Dask scheduler at ADDRESS (tcp://host:port); SWEEP_DIR must be on "
                            "storage every worker sees")
    sweep.add_argument("--halving", type=cli._integer, metavar="ETA",
                       help="successive halving: train every trial to a first rung of epochs, keep the best "
                            "1/ETA by validation error, continue those, and so on up to the full epochs")


def run(args: argparse.Namespace) -> int:
    """The ``sweep`` command: plan (every check before any trial), connect, execute, report."""
    if (args.file is None) == (args.resume is None):
        raise cli.UsageError("sweep: expected a sweep FILE with --out SWEEP_DIR, or --resume SWEEP_DIR")
    if args.workers is not None and args.workers < 1:
        raise cli.UsageError(f"--workers: expected an integer >= 1, got {args.workers}")
    if args.resume is not None:
        if args.out is not None or args.halving is not None:
            raise cli.UsageError("--resume: the sweep keeps its own options; remove --out and --halving")
        directory = Path(args.resume)
        if not (directory / PLAN).is_file():
            raise cli.UsageError(f"--resume: expected a sweep directory holding {PLAN}, got {directory}")
        held = _lock(directory, "--resume")
    else:
        if args.out is None:
            raise cli.UsageError("sweep: expected --out SWEEP_DIR")
        plan = make_plan(load_sweep_file(Path(args.file)), args.file, args.halving)
        directory = Path(args.out)
        if directory.exists() and not directory.is_dir():
            raise cli.UsageError(f"--out: expected a directory, got {directory}")
        directory.mkdir(parents=True, exist_ok=True)
        held = _lock(directory, "--out")
    with held:
        if args.resume is not None:
            plan = json.loads((directory / PLAN).read_text())
        elif (directory / PLAN).exists():
            raise cli.UsageError(f"--out: {directory} already holds a sweep; continue it with --resume {directory}")
        else:
            (directory / "trials").mkdir(exist_ok=True)
            _write_json(directory / PLAN, plan)
        try:
            with _connect(args.workers, args.scheduler) as client:
                summary = execute(plan, directory, client)
        except KeyboardInterrupt:
            print(f"fnmlp: sweep interrupted; continue it with fnmlp sweep --resume {directory}", file=sys.stderr)
            return cli.EXIT_INTERRUPTED
    best = summary["best"]
    print(f"sweep: {summary['completed']} completed, {summary['failed']} failed, {summary['stopped']} stopped "
          f"of {summary['trials']}; best trial {best['trial'] if best else 'none'}"
          + (f" (validation error {best['val_error']:.4f})" if best else "") + f"; outputs in {directory}")
    return 0 if summary["completed"] or summary["stopped"] else 1


def _lock(directory: Path, option: str) -> run_lock.RunLock:
    try:
        return run_lock.RunLock.acquire(directory)
    except run_lock.RunLocked as locked:
        raise cli.UsageError(f"{option}: {locked}") from None


# ---------------------------------------------------------------- the sweep file and the plan


def load_sweep_file(path: Path) -> dict:
    """The sweep file's table: JSON if the name ends in ``.json``, TOML otherwise."""
    try:
        text = path.read_bytes()
    except OSError as error:
        raise cli.UsageError(f"sweep: cannot read {path}: {error.strerror}") from None
    try:
        if path.suffix.lower() == ".json":
            table = json.loads(text)
        else:
            try:
                import tomllib
            except ImportError:  # Python < 3.11
                import tomli as tomllib
            table = tomllib.loads(text.decode())
    except ValueError as error:
        raise cli.UsageError(f"{path}: not a valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'} "
                             f"file: {error}") from None
    if not isinstance(table, dict):
        raise cli.UsageError(f"{path}: expected a table of base, grid or random, got {type(table).__name__}")
    return table


def make_plan(table: dict, source: str, halving: Optional[int] = None) -> dict:
    """Check a sweep file's table and expand it into trials, each checked as ``train`` checks its
    options. Raises ``cli.UsageError`` with one line naming the key at the first problem.

    Returns ``{"source", "sweep", "halving", "rungs", "trials": [{"name", "options", "swept", "argv",
    "epochs"}]}``; a trial's ``argv`` holds every option but ``--epochs``, which each rung adds.
    """
    actions = _train_actions()

    def fail(key: str, message: str) -> None:
        raise cli.UsageError(f"{source}: {key}: {message}")

    unknown = sorted(set(table) - {"base", "grid", "random", "seed"})
    if unknown:
        fail(unknown[0], "unknown key; expected base, grid, random and seed")
    if ("grid" in table) == ("random" in table):
        fail("grid" if "grid" in table else "random", "expected either a grid or a random block, not both")
    seed = table.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        fail("seed", f"expected an integer >= 0 (the seed of the random draws), got {seed!r}")
    base = _table(table.get("base", {}), "base", fail)
    base_argv = [token for key, value in base.items() for token in _tokens(actions, f"base.{key}", key, value, fail)]
    if halving is not None and halving < 2:
        raise cli.UsageError(f"--halving: expected an integer >= 2, got {halving}")

    if "grid" in table:
        grid = _table(table["grid"], "grid", fail)
        if not grid:
            fail("grid", "expected at least one option with a list of values, got an empty grid")
        for key, values in grid.items():
            _known(actions, f"grid.{key}", key, fail)
            if not isinstance(values, list) or not values:
                fail(f"grid.{key}", f"expected a non-empty list of values, got {values!r}")
            for i, value in enumerate(values):
                _tokens(actions, f"grid.{key}[{i}]", key, value, fail)
        points = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    else:
        points = _random_points(_table(table["random"], "random", fail), seed, actions, base_argv, fail)

    trials = []
    width = max(3, len(str(len(points) - 1)))
    for index, point in enumerate(points):
        name = f"{index:0{width}d}"
        options = {**base, **{_dest(key): value for key, value in point.items()}}
        argv = [token for key, value in options.items() if _dest(key) != "epochs"
                for token in _tokens(actions, key, key, value, fail)]
        epochs_argv = _tokens(actions, "epochs", "epochs", options["epochs"], fail) if "epochs" in options else []
        try:
            config = cli.config_from_args(cli.build_parser().parse_args(["train", *argv, *epochs_argv]))
        except (cli.UsageError, ValueError, TypeError) as error:
            swept = ", ".join(f"{key}={_text(value)}" for key, value in point.items())
            raise cli.UsageError(f"{source}: trial {name} ({swept}): {error}") from None
        trials.append({"name": name, "options": {**options, "epochs": config.epochs},
                       "swept": {_dest(key): value for key, value in point.items()}, "argv": argv,
                       "epochs": config.epochs})
    return {"source": str(source), "sweep": table, "halving": halving, "rungs": _rungs(trials, halving, fail),
            "trials": trials}


def _table(value: Any, key: str, fail) -> dict:
    if not isinstance(value, dict):
        fail(key, f"expected a table of train options, got {value!r}")
    return {_dest(name): item for name, item in value.items()}


def _dest(key: str) -> str:
    return key.replace("-", "_")


def _text(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


def _train_actions() -> dict:
    """The ``train`` subcommand's options by destination, less those the sweep sets itself."""
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {action.dest: action for action in commands.choices["train"]._actions
            if action.option_strings and action.dest not in OWNED}


def _tokens(actions: dict, where: str, key: str, value: Any, fail) -> list:
    """``value`` as ``train`` argv tokens (a list as several values, ``true`` as a bare flag, ``false``
    and ``null`` as nothing), checked by ``train``'s own parser."""
    _known(actions, where, key, fail)
    action = actions[_dest(key)]
    flag = action.option_strings[-1]
    takes_values = action.nargs != 0
    if value is None or value is False and not takes_values:
        return []
    if value is True and not takes_values:
        return [flag]
    if isinstance(value, bool) or isinstance(value, dict) or not takes_values:
        fail(where, f"expected {'a value' if takes_values else 'true or false'} for {flag}, got {value!r}")
    many = action.nargs in ("*", "+") or (isinstance(action.nargs, int) and action.nargs > 1)
    if isinstance(value, list):
        if not many:
            fail(where, f"expected a single value for {flag}, got the list {value!r}")
        if any(isinstance(item, (list, dict, bool)) or item is None for item in value):
            fail(where, f"expected a list of numbers or strings for {flag}, got {value!r}")
        tokens = [flag, *map(_token, value)]
    else:
        tokens = [flag, _token(value)]
    try:
        cli.build_parser().parse_args(["train", *tokens])
    except cli.UsageError as error:
        fail(where, str(error))
    return tokens


def _known(actions: dict, where: str, key: str, fail) -> None:
    if _dest(key) not in actions:
        fail(where, f"unknown option; expected a fnmlp train option: {', '.join(sorted(actions))}")


def _token(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _is_integer_option(action: argparse.Action) -> bool:
    try:
        action.type("2.5")
    except (argparse.ArgumentTypeError, TypeError, ValueError):
        return True
    return False


def _config_error(argv: list) -> Optional[str]:
    """What ``train`` would say of a new run with options ``argv``, or ``None`` if it takes them."""
    try:
        cli.config_from_args(cli.build_parser().parse_args(["train", *argv]))
    except (cli.UsageError, ValueError, TypeError) as error:
        return str(error)
    return None


def _random_points(block: dict, seed: int, actions: dict, base_argv: list, fail) -> list:
    """``block["samples"]`` dicts of values drawn from ``np.random.default_rng(seed)``, option by option
    in the file's order; draws for integer options are rounded. Both bounds of a distribution must be
    values ``train`` takes beside the ``base`` options."""
    samples = block.pop("samples", None)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        fail("random.samples", f"expected an integer >= 1, the number of trials, got {samples!r}")
    if not block:
        fail("random", "expected at least one option with a distribution")
    draws = {}
    for key, spec in block.items():
        where = f"random.{key}"
        _known(actions, where, key, fail)
        if not isinstance(spec, dict):
            _tokens(actions, where, key, spec, fail)
            draws[key] = lambda rng, value=spec: value
            continue
        if len(spec) != 1 or next(iter(spec)) not in DISTRIBUTIONS:
            fail(where, f"expected one of {{uniform = [low, high]}}, {{log_uniform = [low, high]}}, "
                        f"{{choice = [...]}}, got {spec!r}")
        kind, arguments = next(iter(spec.items()))
        where = f"{where}.{kind}"
        if kind == "choice":
            if not isinstance(arguments, list) or not arguments:
                fail(where, f"expected a non-empty list of values, got {arguments!r}")
            for i, value in enumerate(arguments):
                _tokens(actions, f"{where}[{i}]", key, value, fail)
            draws[key] = lambda rng, values=arguments: values[int(rng.integers(len(values)))]
            continue
        if (not isinstance(arguments, list) or len(arguments) != 2
                or any(isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x)
                       for x in arguments)):
            fail(where, f"expected [low, high], two finite numbers, got {arguments!r}")
        low, high = arguments
        if not low < high or (kind == "log_uniform" and low <= 0):
            fail(where, f"expected {'0 < ' if kind == 'log_uniform' else ''}low < high, got [{low}, {high}]")
        integer = _is_integer_option(actions[_dest(key)])
        for bound in (low, high):
            tokens = _tokens(actions, where, key, _cast(bound, integer), fail)
            error = _config_error(base_argv + tokens) if _config_error(base_argv) is None else None
            if error:
                fail(where, error)
        if kind == "uniform":
            draws[key] = lambda rng, lo=low, hi=high, i=integer: _cast(rng.uniform(lo, hi), i)
        else:
            draws[key] = lambda rng, lo=low, hi=high, i=integer: _cast(math.exp(rng.uniform(math.log(lo),
                                                                                              math.log(hi))), i)
    rng = np.random.default_rng(seed)
    return [{key: draw(rng) for key, draw in draws.items()} for _ in range(samples)]


def _cast(value: float, integer: bool) -> Any:
    return int(round(value)) if integer else float(value)


def _rungs(trials: list, halving: Optional[int], fail) -> list:
    """The epochs of each rung: ``[None]`` (every trial's own epochs) without halving; with halving
    ``R / eta**s, ..., R / eta, R`` for the trials' common epochs ``R``, with ``s`` as large as both
    ``eta**s <= trials`` and ``R / eta**s >= 1`` allow."""
    if halving is None:
        return [None]
    epochs = {trial["epochs"] for trial in trials}
    if len(epochs) != 1:
        fail("epochs", "expected the same epochs for every trial with --halving, got " + ", ".join(
            map(str, sorted(epochs))))
    total = epochs.pop()
    s = 0
    while halving ** (s + 1) <= len(trials) and total // halving ** (s + 1) >= 1:
        s += 1
    return [max(1, round(total / halving ** (s - k))) for k in range(s + 1)]


# ---------------------------------------------------------------- the task


def run_trial(directory: str, argv: list, epochs: int) -> dict:
    """Train the trial in ``directory`` to ``epochs`` with the ``train`` command: a new run from
    ``argv`` (its options but ``--epochs``), or ``--resume`` where a checkpoint exists.

    Waits while another live process holds the directory (a copy of this task the scheduler thought
    lost). Writes ``trial.json`` (exit code, message, worker, seconds) into the directory and returns
    it. Raises ``RuntimeError`` on a failure that is not the trial's own (exit status other than 0, 2
    and 3), so Dask retries it.
    """
    path = Path(directory)
    started, deadline = time.perf_counter(), time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        if (path / CHECKPOINT).is_file():
            command = ["train", "--resume", directory, "--epochs", str(epochs), "--progress", "none"]
        else:
            command = ["train", *argv, "--epochs", str(epochs), "--out", directory, "--progress", "none"]
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = cli.main(command)
        if code == cli.EXIT_USAGE and run_lock.holder(path) is not None and time.monotonic() < deadline:
            time.sleep(0.5)
            continue
        break
    lines = [line.removeprefix("fnmlp: ").removeprefix("error: ") for line in err.getvalue().splitlines()
             if line.startswith("fnmlp: ")]
    message = lines[-1] if lines else ""
    if code not in (0, cli.EXIT_USAGE, cli.EXIT_DIVERGED):
        raise RuntimeError(f"fnmlp train exited {code}: {message}")
    previous = _read_json(path / TRIAL_FILE) or {}
    record = {"code": code, "message": message, "epochs": epochs, "worker": _worker_name(),
              "seconds": previous.get("seconds", 0.0) + time.perf_counter() - started}
    path.mkdir(parents=True, exist_ok=True)
    _write_json(path / TRIAL_FILE, record)
    return record


def _worker_name() -> str:
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


# ---------------------------------------------------------------- execution


@contextlib.contextmanager
def _connect(workers: Optional[int], scheduler: Optional[str]):
    """A Dask ``Client``: of the scheduler at ``scheduler``, or of an embedded ``LocalCluster`` of
    ``workers`` single-threaded processes on 127.0.0.1 (BLAS at one thread each), closed on exit."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise cli.UsageError(INSTALL_HINT) from None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=30)
        except (OSError, TimeoutError) as error:
            raise cli.UsageError(f"--scheduler: cannot reach {scheduler}: {error}") from None
        with client:
            yield client
        return
    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **BLAS_ENV}
    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                          "distributed.nanny.pre-spawn-environ": environ}):  # each nanny keeps it for restarts
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
    with cluster, Client(cluster) as client:
        yield client


def execute(plan: dict, directory: Path, client: Any) -> dict:
    """Run the plan's rungs on ``client``, skipping work already on disk; write the outputs; return
    the summary written to ``sweep.json``."""
    from distributed import as_completed

    trials = {trial["name"]: trial for trial in plan["trials"]}
    rungs = plan["rungs"]
    alive, stopped = list(trials), {}
    for k, rung in enumerate(rungs):
        label = f"rung {k + 1}/{len(rungs)} ({rung} epochs): " if rung is not None else ""
        target = {name: trials[name]["epochs"] if rung is None else rung for name in alive}
        todo = [name for name in alive if not _finished(directory / "trials" / name, target[name])]
        progress = _Progress(label, len(alive), len(alive) - len(todo), client)
        futures = {client.submit(run_trial, str(directory / "trials" / name), trials[name]["argv"], target[name],
                                 key=f"fnmlp-trial-{name}-{target[name]}-{os.urandom(4).hex()}",
                                 retries=TASK_RETRIES, pure=False, priority=len(todo) - i): name
                   for i, name in enumerate(todo)}
        progress.show()
        for future in as_completed(futures):
            name = futures[future]
            try:
                record = future.result()
            except Exception as error:  # KilledWorker, or retries used up
                record = {"code": None, "message": f"{type(error).__name__}: {error}", "epochs": target[name],
                          "worker": "", "seconds": 0.0}
                (directory / "trials" / name).mkdir(exist_ok=True)
                _write_json(directory / "trials" / name / TRIAL_FILE, record)
            progress.finished(record["code"] != 0)
            _write_csv(directory, plan, stopped)
        if k + 1 < len(rungs):
            ranked = sorted((name for name in alive if _finished(directory / "trials" / name, rung)),
                            key=lambda name: _rank(directory / "trials" / name, rung))
            keep = ranked[:max(1, len(alive) // plan["halving"])]
            stopped.update({name: rung for name in alive if name not in keep})
            alive = keep
    return write_outputs(directory, plan, stopped)


def _finished(trial: Path, epochs: int) -> bool:
    summary = _read_json(trial / "summary.json")
    return bool(summary) and summary.get("status") == "completed" and summary.get("epochs_completed", -1) >= epochs


def _rank(trial: Path, epoch: int) -> tuple:
    """Validation error, then loss, at ``epoch`` (from ``metrics.csv``), then the name: lower is better."""
    row = next(stats for stats in read_metrics(trial / "metrics.csv") if stats.epoch == epoch)
    return (row.val_error, row.val_loss, trial.name)


class _Progress:
    """``[label]done/total done, running, failed, ETA`` on stdout, a line per finished trial."""

    def __init__(self, label: str, total: int, done: int, client: Any):
        self.label, self.total, self.done, self.failed, self.kept = label, total, done, 0, done
        self.threads = max(1, sum(client.nthreads().values())) if hasattr(client, "nthreads") else 1
        self.start = time.monotonic()

    def finished(self, failed: bool) -> None:
        self.done += 1
        self.failed += failed
        self.show()

    def show(self) -> None:
        remaining = self.total - self.done
        ran = self.done - self.kept
        eta = (f"{(time.monotonic() - self.start) / ran * remaining:.0f} s" if ran else "?") if remaining else "0 s"
        print(f"sweep: {self.label}{self.done}/{self.total} done, {min(remaining, self.threads)} running, "
              f"{self.failed} failed, ETA {eta}", flush=True)


# ---------------------------------------------------------------- outputs

COLUMNS = ("trial", "status", "epochs", "final_val_loss", "final_val_error", "best_val_loss", "best_val_error",
           "best_epoch", "test_loss", "test_error", "seconds", "worker", "message")


def trial_rows(directory: Path, plan: dict, stopped: dict) -> list:
    """One dict per trial, read from its directory: its swept options and ``COLUMNS``."""
    rows = []
    for trial in plan["trials"]:
        path = directory / "trials" / trial["name"]
        summary, record = _read_json(path / "summary.json") or {}, _read_json(path / TRIAL_FILE) or {}
        history = read_metrics(path / "metrics.csv") if (path / "metrics.csv").is_file() else []
        best = min(history, key=lambda s: (s.val_error, s.val_loss, s.epoch)) if history else None
        final = summary.get("final", {})
        if not record:
            status = "pending"
        elif record.get("code") == 0:
            status = "stopped" if trial["name"] in stopped else summary.get("status", "completed")
        else:
            status = summary.get("status") if summary.get("status") == "diverged" else "failed"
        rows.append({**{key: _text(value) for key, value in trial["swept"].items()}, "trial": trial["name"],
                     "status": status, "epochs": len(history),
                     "final_val_loss": history[-1].val_loss if history else None,
                     "final_val_error": history[-1].val_error if history else None,
                     "best_val_loss": best.val_loss if best else None,
                     "best_val_error": best.val_error if best else None,
                     "best_epoch": best.epoch if best else None,
                     "test_loss": final.get("test_loss"), "test_error": final.get("test_error"),
                     "seconds": record.get("seconds"), "worker": record.get("worker", ""),
                     "message": record.get("message", "") or summary.get("message", ""),
                     "curve": [s.val_error for s in history]})
    return rows


def _swept_keys(plan: dict) -> list:
    return list(dict.fromkeys(key for trial in plan["trials"] for key in trial["swept"]))


def _write_csv(directory: Path, plan: dict, stopped: dict, rows: Optional[list] = None) -> list:
    rows = trial_rows(directory, plan, stopped) if rows is None else rows
    text = io.StringIO()
    writer = csv.DictWriter(text, ["trial", *_swept_keys(plan), *COLUMNS[1:]], extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: ("" if value is None else value) for key, value in row.items()} for row in rows)
    with atomic_write(directory / "sweep.csv", "w") as file:
        file.write(text.getvalue())
    return rows


def write_outputs(directory: Path, plan: dict, stopped: dict) -> dict:
    """``sweep.csv``, ``sweep.json`` (naming the best trial by final validation error among those
    trained to their full epochs) and the two plots; returns the summary."""
    rows = _write_csv(directory, plan, stopped)
    completed = [row for row in rows if row["status"] == "completed" and row["final_val_error"] is not None]
    best = min(completed, key=lambda row: (row["final_val_error"], row["final_val_loss"], row["trial"]),
               default=None)
    trials = {trial["name"]: trial for trial in plan["trials"]}
    summary = {
        "source": plan["source"], "trials": len(rows),
        "completed": sum(row["status"] == "completed" for row in rows),
        "failed": sum(row["status"] in ("failed", "diverged") for row in rows),
        "stopped": sum(row["status"] == "stopped" for row in rows),
        "halving": None if plan["halving"] is None else {"eta": plan["halving"], "rungs": plan["rungs"]},
        "swept": _swept_keys(plan),
        "best": None if best is None else {
            "trial": best["trial"], "directory": str(Path("trials") / best["trial"]),
            "val_error": best["final_val_error"], "val_loss": best["final_val_loss"],
            "test_error": best["test_error"], "test_loss": best["test_loss"],
            "options": trials[best["trial"]]["options"]},
        "rows": [{key: value for key, value in row.items() if key != "curve"} for row in rows],
    }
    _write_json(directory / "sweep.json", summary)
    from ..plots.sweep import plot_sweep_curves, plot_sweep_params
    plot_sweep_curves(rows, best and best["trial"], directory / "sweep_curves.png")
    plot_sweep_params(rows, summary["swept"], best and best["trial"], directory / "sweep_params.png")
    return summary


def _read_json(path: Path) -> Optional[dict]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, value: Any) -> None:
    with atomic_write(path, "w") as file:
        json.dump(value, file, indent=2)
        file.write("\n")
