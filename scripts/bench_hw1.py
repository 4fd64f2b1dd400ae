"""How much the handout adapter costs: ``fnmlp.hw1.get_training_stats`` against ``fnmlp.training.fit``.

Both train the handout's network (784-64-64-32-10, sigmoid, no BatchNorm) for one epoch on random
float64 data (55,000 training rows, batch 100, 5,000 validation rows); prints the median seconds of
each over ``--repeats`` runs and their ratio (adapter / core).

    PYTHONPATH=. python3 scripts/bench_hw1.py [--rows 55000] [--repeats 3] [--num-bn-layers 0]

(``PYTHONPATH=.`` from the repository root, unless fnmlp is installed). Timings on a shared machine
swing with its load, multi-threaded BLAS most; ``OMP_NUM_THREADS=1`` steadies them.
"""

import argparse
import statistics
import time

import numpy as np

import fnmlp
import fnmlp.hw1 as hw1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=55000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--num-bn-layers", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.rows + 5000, 784))
    y = np.eye(10)[rng.integers(0, 10, args.rows + 5000)]
    train, val = (x[:args.rows], y[:args.rows]), (x[args.rows:], y[args.rows:])
    hiddens, lr, momentum = [64, 64, 32], 0.008, 0.856

    def adapter() -> None:
        np.random.seed(11785)
        mlp = hw1.MLP(784, 10, hiddens, [hw1.Sigmoid(), hw1.Sigmoid(), hw1.Sigmoid(), hw1.Identity()],
                      hw1.random_normal_weight_init, hw1.zeros_bias_init, hw1.SoftmaxCrossEntropy(), lr,
                      momentum=momentum, num_bn_layers=args.num_bn_layers)
        hw1.get_training_stats(mlp, (train, val, val), 1, 100)

    def core() -> None:
        spec = fnmlp.MLPSpec.from_hidden_sizes(784, hiddens, 10, num_bn_layers=args.num_bn_layers)
        rng = np.random.RandomState(11785)
        params, state = fnmlp.init_params(spec, rng)
        fnmlp.fit(spec, params, state, fnmlp.sgd(lr, momentum), train, val, epochs=1, batch_size=100, rng=rng)

    seconds = {"fit": [], "get_training_stats": []}
    for _ in range(args.repeats):
        for name, run in (("fit", core), ("get_training_stats", adapter)):
            started = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(times) for name, times in seconds.items()}
    for name, median in medians.items():
        print(f"{name:>20}: median {median:.3f} s of {[round(t, 3) for t in seconds[name]]}")
    print(f"{'ratio':>20}: {medians['get_training_stats'] / medians['fit']:.3f} (adapter / core)")


if __name__ == "__main__":
    main()
