#!/usr/bin/env python3
"""Does splitting a training step's elementwise pass over fnmlp's thread pool gain? ReLU's forward
(bias add and max, in place) and backward (times the output's sign) on (rows, 1024) float32, one
thread against two parts on fnmlp.utils.threads, medians of 200 calls, each right after a
(rows, 1024) x (1024, 1024) product, as in a step (OpenBLAS's threads are then still spinning).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 scripts/pool_threshold.py
"""
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fnmlp.utils import threads  # noqa: E402


def forward(z, b, parts):
    def rows(start, stop):
        block = z[start:stop]
        block += b
        np.maximum(block, np.zeros(block.shape[-1:], block.dtype), out=block)
    threads.for_parts(z.shape[0], rows, min_part=max(1, z.shape[0] // parts))


def backward(delta, a, out, parts):
    def rows(start, stop):
        np.multiply(delta[start:stop], a[start:stop] > 0, out=out[start:stop])
    threads.for_parts(delta.shape[0], rows, min_part=max(1, delta.shape[0] // parts))


def main():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((1024, 1024)).astype(np.float32)
    b = np.zeros(1024, np.float32)
    print("| rows | elements | forward, 1 thread (us) | 2 threads | backward, 1 thread | 2 threads |")
    print("| --- | --- | --- | --- | --- | --- |")
    for rows in (32, 64, 128, 256, 512, 1024):
        x = rng.standard_normal((rows, 1024)).astype(np.float32)
        out = np.empty_like(x)
        medians = {}
        for parts in (1, 2):
            with threads.limit(parts):
                f, g = [], []
                for _ in range(200):
                    z = x @ W
                    started = time.perf_counter()
                    forward(z, b, parts)
                    f.append(time.perf_counter() - started)
                    d = x @ W
                    started = time.perf_counter()
                    backward(d, z, out, parts)
                    g.append(time.perf_counter() - started)
            medians[parts] = (1e6 * statistics.median(f), 1e6 * statistics.median(g))
        print(f"| {rows} | {rows * 1024:,} | {medians[1][0]:.0f} | {medians[2][0]:.0f} | {medians[1][1]:.0f} | "
              f"{medians[2][1]:.0f} |")


if __name__ == "__main__":
    main()
