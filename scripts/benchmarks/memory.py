"""Peak memory: one float32 training epoch per contender, each in a process of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Callable

import attrs

from .peers import FnmlpFit, SklearnMLP, TorchSequential
from .skip import Skip
from .workloads import Workload, make_data

# the script whose --memory-child runs one measurement
BENCH_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench.py")
MEMORY_CONTENDERS = {"fnmlp": FnmlpFit, "torch": TorchSequential, "sklearn": SklearnMLP}


def _rss_now() -> int:
    """Resident bytes now (Linux ``/proc/self/statm``; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _peak_rss() -> int:
    """The process's peak resident bytes so far."""
    import resource  # POSIX only

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB on Linux


def memory_child(job: dict) -> dict:
    """In a fresh process: build one contender on float32 data, then train one epoch; the peak RSS."""
    w = Workload(**{**job["workload"], "hidden": tuple(job["workload"]["hidden"])})
    data = make_data(job["rows"], 1, job["seed"], dtypes=("float32",))
    build = MEMORY_CONTENDERS[job["contender"]]
    kwargs = {"threads": job["threads"]} if job["contender"] == "torch" else {}
    try:
        contender = build(w, data, "float32", job["seed"], **kwargs)
    except Skip as why:
        return {"skipped": str(why)}
    before, peak_before = _rss_now(), _peak_rss()
    contender.train_epoch()
    peak = _peak_rss()
    return {"peak_rss_mb": peak / 2**20, "rss_before_epoch_mb": before / 2**20,
            "peak_before_epoch_mb": peak_before / 2**20, "epoch_growth_mb": (peak - before) / 2**20}


def measure_memory(workloads: list, rows: int, threads: int, seed: int, names: list, log: Callable) -> dict:
    """``memory_child`` for every workload and contender, each in its own ``python`` process."""
    results = {}
    for w in workloads:
        results[w.name] = {}
        for name in names:
            job = {"workload": attrs.asdict(w), "rows": rows, "seed": seed, "threads": threads, "contender": name}
            done = subprocess.run([sys.executable, BENCH_SCRIPT, "--blas-threads", str(threads),
                                   "--memory-child", json.dumps(job)],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                tail = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
                results[w.name][name] = {"skipped": f"the child process failed: {tail[0]}"}
            else:
                results[w.name][name] = json.loads(done.stdout.strip().splitlines()[-1])
            log(f"  memory: {w.name} {name}: {results[w.name][name]}")
    return {"rows": rows, "dtype": "float32", "workloads": results}


def format_memory(memory: dict) -> str:
    """The table of ``measure_memory``'s result."""
    lines = [f"peak resident memory of one float32 training epoch on {memory['rows']:,} rows, each contender "
             f"in its own process (imports and data included; growth = peak - resident before the epoch)"]
    header = f"  {'workload':<14} {'contender':<10} {'peak MiB':>9} {'before MiB':>11} {'growth MiB':>11}"
    lines += [header, "  " + "-" * (len(header) - 2)]
    for workload, table in memory["workloads"].items():
        for name, res in table.items():
            if "skipped" in res:
                lines.append(f"  {workload:<14} {name:<10} skipped: {res['skipped']}")
            else:
                lines.append(f"  {workload:<14} {name:<10} {res['peak_rss_mb']:>9.0f} "
                             f"{res['rss_before_epoch_mb']:>11.0f} {res['epoch_growth_mb']:>11.0f}")
    return "\n".join(lines)
