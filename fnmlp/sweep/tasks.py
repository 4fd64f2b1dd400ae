"""Running a sweep's trials as Dask tasks: each task is ``run_trial(directory, options, epochs)``, a
plain function of plain data that trains one run through ``fnmlp.runs.train_run`` (or resumes it)
and leaves its results in the trial's directory. A task that finds a checkpoint resumes from it, so
a worker killed mid-trial costs the unfinished epoch.

Dask is imported only by ``connect``, when a sweep runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any, Optional

from ..runs.files import CHECKPOINT, METRICS, SUMMARY, read_metrics
from ..runs.lock import RunLocked
from ..runs.train import RunError, resume_run, train_run
from ..training.config import ConfigError
from .plan import SweepError, trial_config
from .report import TRIAL_FILE, greater_is_better, read_json, write_csv, write_json, write_outputs

__all__ = ["INSTALL_HINT", "connect", "execute", "run_trial"]

BLAS_ENV = {"FNMLP_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "VECLIB_MAXIMUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1"}
ALLOWED_FAILURES = 3
TASK_RETRIES = 2
LOCK_WAIT_SECONDS = 600.0
INSTALL_HINT = "fnmlp sweep needs Dask distributed: pip install 'fnmlp[sweep]'"
CODES = {"completed": 0, "interrupted": 130, "diverged": 3}
CODE_BAD_INPUT = 2


def run_trial(directory: str, options: dict, epochs: int) -> dict:
    """Train the trial in ``directory`` to ``epochs``: a new run of ``options`` (a trial's options,
    ``recipe`` and ``TrainConfig`` fields), or a resumed one where a checkpoint exists.

    Waits while another live process holds the directory (a copy of this task the scheduler thought
    lost). Writes ``trial.json`` (``code``: 0 completed, 2 bad input, 3 diverged; message, worker,
    seconds) into the directory and returns it. Any other failure raises, so Dask retries it.
    """
    path = Path(directory)
    started, deadline = time.perf_counter(), time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            if (path / CHECKPOINT).is_file():
                outcome = resume_run(path, epochs=epochs)
            else:
                options = dict(options)
                outcome = train_run(trial_config(options, epochs), path, recipe=options.get("recipe", "handout"))
            code, message = CODES[outcome.status], outcome.message
        except RunLocked:
            if time.monotonic() < deadline:
                time.sleep(0.5)
                continue
            raise
        except (RunError, ConfigError, SweepError) as error:
            code, message = CODE_BAD_INPUT, " ".join(str(error).split())
        break
    previous = read_json(path / TRIAL_FILE) or {}
    record = {"code": code, "message": message, "epochs": epochs, "worker": _worker_name(),
              "seconds": previous.get("seconds", 0.0) + time.perf_counter() - started}
    path.mkdir(parents=True, exist_ok=True)
    write_json(path / TRIAL_FILE, record)
    return record


def _worker_name() -> str:
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


@contextlib.contextmanager
def connect(workers: Optional[int], scheduler: Optional[str]):
    """A Dask ``Client``: of the scheduler at ``scheduler``, or of an embedded ``LocalCluster`` of
    ``workers`` single-threaded processes on 127.0.0.1 (BLAS at one thread each), closed on exit."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=30)
        except (OSError, TimeoutError) as error:
            raise SweepError(f"cannot reach {scheduler}: {error}", "scheduler") from None
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
        futures = {client.submit(run_trial, str(directory / "trials" / name), trials[name]["options"], target[name],
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
                write_json(directory / "trials" / name / TRIAL_FILE, record)
            progress.finished(record["code"] != 0)
            write_csv(directory, plan, stopped)
        if k + 1 < len(rungs):
            ranked = sorted((name for name in alive if _finished(directory / "trials" / name, rung)),
                            key=lambda name: _rank(directory / "trials" / name, rung))
            keep = ranked[:max(1, len(alive) // plan["halving"])]
            stopped.update({name: rung for name in alive if name not in keep})
            alive = keep
    return write_outputs(directory, plan, stopped)


def _finished(trial: Path, epochs: int) -> bool:
    summary = read_json(trial / SUMMARY)
    return bool(summary) and summary.get("status") == "completed" and summary.get("epochs_completed", -1) >= epochs


def _rank(trial: Path, epoch: int) -> tuple:
    """Validation error (or minus R^2, when ``summary.json``'s metric is greater-is-better), then loss,
    at ``epoch`` (from ``metrics.csv``), then the name: lower is better."""
    row = next(stats for stats in read_metrics(trial / METRICS) if stats.epoch == epoch)
    sign = -1.0 if greater_is_better(read_json(trial / SUMMARY)) else 1.0
    return (sign * row.val_metric, row.val_loss, trial.name)


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
