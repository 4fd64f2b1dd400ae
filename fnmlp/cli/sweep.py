"""``fnmlp sweep``: many runs from one sweep file (``fnmlp.sweep.plan``), on Dask distributed
(``fnmlp.sweep.tasks``), with a table and plots of them all (``fnmlp.sweep.report``). Each trial is
an ordinary run in ``SWEEP_DIR/trials/NNN/``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..runs.lock import RunLock, RunLocked
from .common import EXIT_INTERRUPTED, UsageError, integer


def add_parser(commands: Any) -> None:
    """Register ``fnmlp sweep``."""
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
    where.add_argument("--workers", type=integer, metavar="N",
                       help="worker processes of the embedded LocalCluster on 127.0.0.1 (default: the cores)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="submit to the Dask scheduler at ADDRESS (tcp://host:port); SWEEP_DIR must be on "
                            "storage every worker sees")
    sweep.add_argument("--halving", type=integer, metavar="ETA",
                       help="successive halving: train every trial to a first rung of epochs, keep the best "
                            "1/ETA by validation error, continue those, and so on up to the full epochs")


def run(args: argparse.Namespace) -> int:
    """The ``sweep`` command: plan (every check before any trial), connect, execute, report."""
    from ..sweep import plan as plans, report, tasks
    from ..sweep.plan import SweepError

    if (args.file is None) == (args.resume is None):
        raise UsageError("sweep: expected a sweep FILE with --out SWEEP_DIR, or --resume SWEEP_DIR")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers: expected an integer >= 1, got {args.workers}")
    try:
        if args.resume is not None:
            if args.out is not None or args.halving is not None:
                raise UsageError("--resume: the sweep keeps its own options; remove --out and --halving")
            directory = Path(args.resume)
            if not (directory / report.PLAN).is_file():
                raise UsageError(f"--resume: expected a sweep directory holding {report.PLAN}, got {directory}")
            held = _lock(directory, "--resume")
        else:
            if args.out is None:
                raise UsageError("sweep: expected --out SWEEP_DIR")
            plan = plans.make_plan(plans.load_sweep_file(Path(args.file)), args.file, args.halving)
            directory = Path(args.out)
            _check_new_sweep_directory(directory, report.PLAN)
            directory.mkdir(parents=True, exist_ok=True)
            held = _lock(directory, "--out")
        with held:
            if args.resume is not None:
                plan = json.loads((directory / report.PLAN).read_text())
            elif (directory / report.PLAN).exists():
                raise UsageError(f"--out: {directory} already holds a sweep; continue it with --resume {directory}")
            else:
                (directory / "trials").mkdir(exist_ok=True)
                report.write_json(directory / report.PLAN, plan)
            try:
                with tasks.connect(args.workers, args.scheduler) as client:
                    summary = tasks.execute(plan, directory, client)
            except KeyboardInterrupt:
                print(f"fnmlp: sweep interrupted; continue it with fnmlp sweep --resume {directory}", file=sys.stderr)
                return EXIT_INTERRUPTED
    except SweepError as error:
        raise UsageError(f"--{error.argument}: {error.message}" if error.argument else error.message) from None
    except ImportError as error:
        raise UsageError(str(error)) from None
    best = summary["best"]
    print(f"sweep: {summary['completed']} completed, {summary['failed']} failed, {summary['stopped']} stopped "
          f"of {summary['trials']}; best trial {best['trial'] if best else 'none'}"
          + (f" (validation {'R^2' if best.get('greater_is_better') else 'error'} {best['val_error']:.4f})"
             if best else "") + f"; outputs in {directory}")
    return 0 if summary["completed"] or summary["stopped"] else 1


def _check_new_sweep_directory(directory: Path, plan_file: str) -> None:
    """A new sweep's directory: missing, empty, or a sweep (which ``--resume`` continues)."""
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--out: expected a directory, got {directory}")
    if directory.is_dir() and not (directory / plan_file).exists():
        present = sorted(path.name for path in directory.iterdir())
        if present:
            raise UsageError(f"--out: expected a new or empty directory, got {directory}, which holds "
                             + ", ".join(present[:3]) + (" ..." if len(present) > 3 else ""))


def _lock(directory: Path, option: str) -> RunLock:
    try:
        return RunLock.acquire(directory)
    except RunLocked as locked:
        raise UsageError(f"{option}: {locked}") from None
