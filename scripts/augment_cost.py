#!/usr/bin/env python3
"""What augmentation costs an epoch of ``--recipe best`` (784-1024-1024-10, batch 128, float32).

Trains one epoch of the recipe's network on MNIST's 55,000 training rows with ``fnmlp.fit``, without
augmentation and with each ``--augment`` setting, with the worker thread that augments the next batch
while the current one trains (``prefetch``) and without it (``serial``), in ``--repeats`` rounds
(every case once per round, after one warm-up epoch), and prints the median epoch seconds and each
case's cost over the plain epoch. ``augment alone`` is the augmentation of one epoch's batches as
``fit`` makes them (several batches a call), without training. On this machine benchmark with its
forced OpenBLAS kernels unset::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 scripts/augment_cost.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fnmlp  # noqa: E402
import fnmlp.training.loop as loop  # noqa: E402
from fnmlp.runs.augmentation import row_augment  # noqa: E402
from fnmlp.training.batches import augmented_batches  # noqa: E402
from fnmlp.training.config import RECIPES, TrainConfig, build  # noqa: E402

SETTINGS = {"best-aug": " ".join(RECIPES["best-aug"].augment),
            "every image": "shift:2 affine:rot=15,scale=0.1 elastic:alpha=34,sigma=4"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--rows", type=int, default=55000)
    args = parser.parse_args()
    config = RECIPES["best"]
    data = fnmlp.load_mnist(dtype=np.float32)
    x, y = data.train.x[:args.rows], data.train.y[:args.rows]
    built = build(config, num_features=784, num_classes=10, num_train=x.shape[0])
    params, state = fnmlp.init_params(built.spec, config.seed, weight_init=config.init, dtype=config.dtype)
    augments = {name: row_augment(TrainConfig(augment=tokens), 784, data.pixel_mean, data.pixel_std)
                for name, tokens in SETTINGS.items()}

    def epoch(augment, prefetch: bool) -> float:
        loop.PREFETCH = prefetch
        result = fnmlp.fit(built.spec, params, state, built.optimizer, (x, y), epochs=1,
                           batch_size=config.batch_size, rng=config.seed, augment=augment)
        return result.history[0].seconds

    def alone(augment) -> float:
        rng, order = np.random.default_rng(0), np.random.default_rng(1).permutation(x.shape[0])
        started = time.perf_counter()
        for _ in augmented_batches(augment, rng, None)(x, order, config.batch_size):
            pass
        return time.perf_counter() - started

    cases = [("none", None, True)] + [(f"{name}, {mode}", augment, mode == "prefetch")
                                      for name, augment in augments.items() for mode in ("prefetch", "serial")]
    epoch(None, True)
    times = {name: [] for name, _, _ in cases}
    times.update({f"{name}, augment alone": [] for name in augments})
    for _ in range(args.repeats):
        for name, augment, prefetch in cases:
            times[name].append(epoch(augment, prefetch))
        for name, augment in augments.items():
            times[f"{name}, augment alone"].append(alone(augment))
    plain = statistics.median(times["none"])
    print(f"epoch of {x.shape[0]} rows, batch {config.batch_size}, float32; medians of {args.repeats}")
    for name, values in times.items():
        seconds = statistics.median(values)
        extra = seconds if name.endswith("alone") else seconds - plain
        print(f"{name:32s} {seconds:7.2f} s   {'+' if extra >= 0 else ''}{100 * extra / plain:5.1f}% of a plain epoch")
    for name, tokens in SETTINGS.items():
        print(f"{name}: {tokens}")


if __name__ == "__main__":
    main()
