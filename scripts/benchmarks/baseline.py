"""One fnmlp against another: an epoch of each workload, in a fresh process per run, the two
checkouts alternating round by round (which goes first alternates too), so both see the same drift
of a shared machine. ``--baseline DIR`` names the other checkout (e.g. a ``git worktree`` of an
older commit); this repository's fnmlp is the other contender.

Workloads: ``gemm`` and ``handout`` (the throughput table's networks, SGD with momentum, no
BatchNorm or dropout) and ``best`` (``--recipe best``: BatchNorm, dropout, Nesterov, weight decay,
batch 128), each a ``fnmlp.fit`` of one epoch on ``rows`` MNIST-shaped float32 rows after a
warm-up epoch. The child prints its seconds as JSON.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Callable

WORKLOADS = ("gemm", "handout", "best")


def compare(baseline: str, repository: str, workloads: tuple, rows: int, rounds: int, threads,
            log: Callable) -> dict:
    """``{workload: {"baseline": [seconds...], "this": [...], "ratio": median baseline / this}}``."""
    contenders = {"baseline": os.path.abspath(baseline), "this": os.path.abspath(repository)}
    results = {}
    for workload in workloads:
        seconds = {name: [] for name in contenders}
        for r in range(rounds):
            names = list(contenders) if r % 2 == 0 else list(reversed(contenders))
            for name in names:
                seconds[name].append(_child(contenders[name], workload, rows, threads))
            log(f"{workload} round {r + 1}: baseline {seconds['baseline'][-1]:.3f} s, this {seconds['this'][-1]:.3f} s")
        ratios = [b / t for b, t in zip(seconds["baseline"], seconds["this"])]
        results[workload] = {**seconds, "ratio": statistics.median(ratios),
                             "baseline_median": statistics.median(seconds["baseline"]),
                             "this_median": statistics.median(seconds["this"])}
    return results


def format_comparison(results: dict, rows: int) -> str:
    lines = [f"one epoch of {rows:,} rows, float32, a fresh process per run; median seconds and the median "
             "of the rounds' ratios (baseline / this: above 1 is faster)",
             "| workload | baseline s | this s | speed-up |", "| --- | --- | --- | --- |"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['baseline_median']:.3f} | {r['this_median']:.3f} | {r['ratio']:.2f}x |")
    return "\n".join(lines)


def _child(checkout: str, workload: str, rows: int, threads) -> float:
    env = {**os.environ, "PYTHONPATH": checkout}
    if threads is not None:
        env["FNMLP_NUM_THREADS"] = str(threads)
    done = subprocess.run([sys.executable, __file__, workload, str(rows)], env=env, capture_output=True,
                          text=True, check=False, cwd=checkout)
    if done.returncode:
        raise RuntimeError(f"{workload} in {checkout} failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds"]


def _epoch(workload: str, rows: int) -> float:
    """Seconds of one timed epoch (after a warm-up one) of ``workload`` in the fnmlp on the path."""
    import numpy as np

    import fnmlp
    from fnmlp.config import RECIPES, TrainConfig, build  # the name older checkouts have too

    rng = np.random.default_rng(0)
    x = rng.random((rows, 784), dtype=np.float32)
    y = (x @ rng.standard_normal((784, 10)).astype(np.float32)).argmax(axis=1)
    if workload == "best":
        config = RECIPES["best"]
    else:
        hidden, activation, batch = {"gemm": ((1024, 1024), "relu", 256), "handout": ((64, 64, 32), "sigmoid", 100)}[workload]
        config = TrainConfig(hidden=hidden, activation=(activation,), lr=0.008, momentum=0.9, batch_size=batch,
                             epochs=2, dtype="float32")
    built = build(config, num_features=784, num_classes=10, num_train=rows)
    params, state = fnmlp.init_params(built.spec, 0, weight_init="he", dtype=np.float32)
    fit = fnmlp.fit(built.spec, params, state, built.optimizer, (x, y), epochs=1, batch_size=config.batch_size, rng=1)
    started = time.perf_counter()
    fnmlp.fit_from(built.spec, built.optimizer, fit.final, (x, y), epochs=2, batch_size=config.batch_size)
    return time.perf_counter() - started


if __name__ == "__main__":
    print(json.dumps({"seconds": _epoch(sys.argv[1], int(sys.argv[2]))}))
