#!/usr/bin/env python3
"""Does one BLAS thread per pool thread, each taking a block of the batch's rows through the whole step,
beat one step on OpenBLAS's own threads? The gemm workload's step (784-1024-1024-10 ReLU, batch 256,
float32, softmax cross-entropy, SGD with momentum 0.9), written out in NumPy, three ways:

- ``blas``: the whole batch, OpenBLAS on its threads (what fnmlp does);
- ``rows``: two blocks of 128 rows, one per thread of fnmlp's pool (``fnmlp.utils.threads``), OpenBLAS
  limited to one thread (threadpoolctl); each block's weight gradient is a part, and the parts are summed
  block 0 + block 1, an order fixed by the shape, so any number of threads gives the same bits;
- ``rows, in turn``: the same two blocks on one thread, one BLAS thread (what ``rows`` would gain over).

Medians of ``--rounds`` rounds of 40 steps, after 5 warm-up steps::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 scripts/row_blocks.py
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fnmlp.utils import threads  # noqa: E402

SIZES, BATCH, LR, MOMENTUM = (784, 1024, 1024, 10), 256, 0.008, 0.9


class Network:
    """Weights, biases and their momenta, updated in place (a benchmark, not fnmlp's API)."""

    def __init__(self, rng: np.random.Generator):
        self.w = [(rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32) for a, b in zip(SIZES, SIZES[1:])]
        self.b = [np.zeros(b, np.float32) for b in SIZES[1:]]
        self.vw, self.vb = [np.zeros_like(w) for w in self.w], [np.zeros_like(b) for b in self.b]

    def grads(self, x: np.ndarray, targets: np.ndarray) -> tuple:
        """Gradients of the batch's mean loss (over ``BATCH`` rows) from the rows ``x``: a part when ``x``
        is a block."""
        acts = [x]
        for i, (w, b) in enumerate(zip(self.w, self.b)):
            z = acts[-1] @ w
            z += b
            if i < len(self.w) - 1:
                np.maximum(z, 0, out=z)
            acts.append(z)
        z = acts[-1]
        z -= z.max(1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(1, keepdims=True)
        delta = (z - targets) / BATCH
        gw, gb = [None] * len(self.w), [None] * len(self.w)
        for i in reversed(range(len(self.w))):
            gw[i], gb[i] = acts[i].T @ delta, delta.sum(0)
            if i:
                delta = delta @ self.w[i].T
                delta *= acts[i] > 0
        return gw, gb

    def update(self, gw: list, gb: list) -> None:
        for p, v, g in zip(self.w + self.b, self.vw + self.vb, gw + gb):
            v *= MOMENTUM
            v += g
            p -= LR * v


def steps(x: np.ndarray, targets: np.ndarray, net: Network) -> dict:
    def whole() -> None:
        net.update(*net.grads(x, targets))

    def blocks(on_pool: bool) -> None:
        parts = [None, None]

        def run(start: int, stop: int) -> None:
            parts[start // (BATCH // 2)] = net.grads(x[start:stop], targets[start:stop])
        if on_pool:
            threads.for_parts(BATCH, run, min_part=BATCH // 2)
        else:
            run(0, BATCH // 2)
            run(BATCH // 2, BATCH)
        net.update([a + b for a, b in zip(parts[0][0], parts[1][0])], [a + b for a, b in zip(parts[0][1], parts[1][1])])

    return {"blas": whole, "rows": lambda: blocks(True), "rows, in turn": lambda: blocks(False)}


def milliseconds(step, count: int = 40) -> float:
    for _ in range(5):
        step()
    started = time.perf_counter()
    for _ in range(count):
        step()
    return 1e3 * (time.perf_counter() - started) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        sys.exit("scripts/row_blocks.py needs threadpoolctl: pip install threadpoolctl")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    targets = np.eye(SIZES[-1], dtype=np.float32)[rng.integers(0, SIZES[-1], BATCH)]
    run = steps(x, targets, Network(rng))
    blas_threads = max(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")
    times = {name: [] for name in run}
    for _ in range(args.rounds):
        times["blas"].append(milliseconds(run["blas"]))
        with threadpool_limits(1, user_api="blas"), threads.limit(2):
            times["rows"].append(milliseconds(run["rows"]))
            times["rows, in turn"].append(milliseconds(run["rows, in turn"]))
    print(f"gemm step, batch {BATCH}, float32; OpenBLAS {blas_threads} threads for blas, 1 for rows; "
          f"medians of {args.rounds} rounds of 40 steps")
    print("| step | ms per step | rounds |")
    print("| --- | --- | --- |")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.2f} | {', '.join(f'{v:.2f}' for v in values)} |")


if __name__ == "__main__":
    main()
