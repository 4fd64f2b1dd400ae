#!/usr/bin/env python3
"""fnmlp's MLPClassifier against scikit-learn's with the same settings: test accuracy and fit time.

``mnist`` (the default): both estimators train on the first ``--rows`` rows of MNIST's training
images (fnmlp's bundled copy, standardised with the training statistics, in ``--dtype``) with the
same hidden sizes, activation, solver, learning rate, momentum, batch size and number of epochs
(``tol=0`` and ``n_iter_no_change=--epochs``, so neither stops early), then predict the 10,000 test
images. Each of ``--repeats`` rounds fits both back to back (the order alternating between rounds);
the speed-up of a round is scikit-learn's fit time over fnmlp's, and the table shows each round
and the median. Both run with ``--threads`` BLAS threads.

``digits``: 5-fold ``cross_val_score`` of ``Pipeline(StandardScaler(), MLPClassifier(...))`` on
scikit-learn's ``load_digits``, for both estimators with ``--digits-settings`` (default: scikit-learn's
defaults with ``hidden_layer_sizes=(64,), max_iter=200``: Adam, ``alpha=1e-4``, the training-loss
stopping rule), and for both again with ``--digits-fallback`` merged into them, if given.

Run from the repository root (it needs scikit-learn)::

    python3 scripts/compare_sklearn.py                         # MNIST, 20,000 rows, 3 rounds
    python3 scripts/compare_sklearn.py --tasks mnist digits --json compare.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings
from typing import Optional

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import fnmlp  # noqa: E402
from fnmlp.utils.atomic import atomic_write  # noqa: E402
from fnmlp.estimators import MLPClassifier  # noqa: E402


def _sklearn():
    try:
        import sklearn
        from sklearn import datasets, model_selection, neural_network, pipeline, preprocessing
    except ImportError:
        sys.exit("compare_sklearn.py: error: it needs scikit-learn (python3 -m pip install scikit-learn)")
    return sklearn, datasets, model_selection, neural_network, pipeline, preprocessing


def shared_settings(args: argparse.Namespace) -> dict:
    """Constructor arguments both MLPClassifiers take and mean the same by."""
    return dict(hidden_layer_sizes=tuple(args.hidden), activation=args.activation, solver=args.solver,
                alpha=args.alpha, batch_size=args.batch_size, learning_rate_init=args.lr, momentum=args.momentum,
                nesterovs_momentum=False, max_iter=args.epochs, tol=0.0, n_iter_no_change=args.epochs,
                random_state=args.seed)


def compare_mnist(args: argparse.Namespace) -> dict:
    _, _, _, neural_network, _, _ = _sklearn()
    dtype = np.dtype(args.dtype)
    data = fnmlp.load_mnist(dtype=dtype)
    x, y = data.train.x[:args.rows], data.train.y[:args.rows]
    x_test, y_test = data.test.x[:args.test_rows], data.test.y[:args.test_rows]
    settings = shared_settings(args)
    makers = {"fnmlp": lambda: MLPClassifier(**settings),
              "sklearn": lambda: neural_network.MLPClassifier(shuffle=True, **settings)}
    rounds = []
    for r in range(args.repeats):
        order = ["fnmlp", "sklearn"] if r % 2 == 0 else ["sklearn", "fnmlp"]
        result = {}
        for name in order:
            est = makers[name]()
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*Maximum iterations")
                started = time.perf_counter()
                est.fit(x, y)
                seconds = time.perf_counter() - started
            result[name] = {"fit_seconds": seconds, "test_accuracy": float(np.mean(est.predict(x_test) == y_test)),
                            "epochs": int(est.n_iter_), "final_train_loss": float(est.loss_curve_[-1])}
        result["speedup"] = result["sklearn"]["fit_seconds"] / result["fnmlp"]["fit_seconds"]
        result["accuracy_gap_points"] = 100 * (result["fnmlp"]["test_accuracy"] - result["sklearn"]["test_accuracy"])
        rounds.append(result)
        print(f"round {r + 1}: fnmlp {result['fnmlp']['fit_seconds']:.2f} s, accuracy "
              f"{result['fnmlp']['test_accuracy']:.4f}; scikit-learn {result['sklearn']['fit_seconds']:.2f} s, "
              f"accuracy {result['sklearn']['test_accuracy']:.4f}; speed-up {result['speedup']:.2f}x", flush=True)
    summary = {"median_speedup": statistics.median(r["speedup"] for r in rounds),
               "median_accuracy_gap_points": statistics.median(r["accuracy_gap_points"] for r in rounds)}
    return {"settings": {**settings, "rows": len(x), "test_rows": len(x_test), "dtype": dtype.name},
            "rounds": rounds, **summary}


def compare_digits(args: argparse.Namespace) -> dict:
    _, datasets, model_selection, neural_network, pipeline, preprocessing = _sklearn()
    x, y = datasets.load_digits(return_X_y=True)
    settings = json.loads(args.digits_settings)
    settings["hidden_layer_sizes"] = tuple(settings.get("hidden_layer_sizes", (100,)))

    def cv(estimator) -> dict:
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Maximum iterations")
            scores = model_selection.cross_val_score(
                pipeline.make_pipeline(preprocessing.StandardScaler(), estimator), x, y, cv=5, error_score="raise")
        return {"mean_accuracy": float(scores.mean()), "fold_accuracies": scores.tolist(),
                "seconds": time.perf_counter() - started}

    result = {"settings": {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()},
              "sklearn": cv(neural_network.MLPClassifier(**settings))}
    try:
        result["fnmlp"] = cv(MLPClassifier(**settings))
    except ValueError as exc:
        result["fnmlp"] = {"error": str(exc)}
    fallback = {**settings, **json.loads(args.digits_fallback)}
    if fallback != settings:
        result["fallback_settings"] = {k: list(v) if isinstance(v, tuple) else v for k, v in fallback.items()}
        result["fnmlp_fallback"] = cv(MLPClassifier(**fallback))
        result["sklearn_fallback"] = cv(neural_network.MLPClassifier(**fallback))
    return result


def _row(name: str, entry: dict) -> str:
    if "error" in entry:
        return f"| {name} | {entry['error']} | |"
    return f"| {name} | {entry['mean_accuracy']:.4f} | {entry['seconds']:.1f} |"


def parse_args(argv: Optional[list]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", choices=["mnist", "digits"], default=["mnist"])
    parser.add_argument("--rows", type=int, default=20000, help="MNIST training rows (the first ones)")
    parser.add_argument("--test-rows", type=int, default=10000, help="MNIST test rows (the first ones)")
    parser.add_argument("--hidden", type=int, nargs="*", default=[100])
    parser.add_argument("--activation", default="relu")
    parser.add_argument("--solver", default="sgd")
    parser.add_argument("--alpha", type=float, default=0.0)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="MNIST rounds")
    parser.add_argument("--digits-settings", default='{"hidden_layer_sizes": [64], "max_iter": 200, "random_state": 0}',
                        help="JSON constructor arguments for both estimators on digits")
    parser.add_argument("--digits-fallback", default="{}",
                        help="JSON arguments for a second digits comparison (e.g. '{\"solver\": \"sgd\"}')")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads for both (default 1: on a busy shared machine, threads that wait for "
                             "each other measure the other processes more than the code)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures here")
    return parser.parse_args(argv)


def main(argv: Optional[list] = None) -> dict:
    args = parse_args(argv)
    sklearn = _sklearn()[0]
    from threadpoolctl import threadpool_limits  # scikit-learn's dependency

    with threadpool_limits(limits=args.threads, user_api="blas"):
        return _compare(args, sklearn)


def _compare(args: argparse.Namespace, sklearn) -> dict:
    report = {"machine": {"python": platform.python_version(), "numpy": np.__version__,
                          "scikit_learn": sklearn.__version__, "fnmlp": fnmlp.__version__,
                          "cpus": os.cpu_count(), "blas_threads": args.threads,
                          "load_average_before": list(os.getloadavg())}}
    if "mnist" in args.tasks:
        mnist = report["mnist"] = compare_mnist(args)
        s = mnist["settings"]
        print(f"\nMNIST, first {s['rows']} training rows, {s['test_rows']} test rows, {s['dtype']}: "
              f"hidden {s['hidden_layer_sizes']}, {s['activation']}, {s['solver']} lr {s['learning_rate_init']} "
              f"momentum {s['momentum']}, batch {s['batch_size']}, {s['max_iter']} epochs\n")
        print("| round | fnmlp fit (s) | scikit-learn fit (s) | speed-up | fnmlp accuracy | scikit-learn accuracy |")
        print("| --- | --- | --- | --- | --- | --- |")
        for i, r in enumerate(mnist["rounds"], 1):
            print(f"| {i} | {r['fnmlp']['fit_seconds']:.2f} | {r['sklearn']['fit_seconds']:.2f} | {r['speedup']:.2f}x "
                  f"| {r['fnmlp']['test_accuracy']:.4f} | {r['sklearn']['test_accuracy']:.4f} |")
        print(f"\nmedian speed-up {mnist['median_speedup']:.2f}x, median accuracy gap (fnmlp - scikit-learn) "
              f"{mnist['median_accuracy_gap_points']:+.2f} points")
    if "digits" in args.tasks:
        digits = report["digits"] = compare_digits(args)
        print(f"\nload_digits, StandardScaler + MLPClassifier({digits['settings']}), 5-fold cross_val_score\n")
        print("| estimator | mean accuracy | seconds |")
        print("| --- | --- | --- |")
        print(_row("scikit-learn", digits["sklearn"]))
        print(_row("fnmlp", digits["fnmlp"]))
        if "fnmlp_fallback" in digits:
            print(f"\nwith {json.loads(args.digits_fallback)}:\n")
            print(_row("scikit-learn", digits["sklearn_fallback"]))
            print(_row("fnmlp", digits["fnmlp_fallback"]))
    report["machine"]["load_average_after"] = list(os.getloadavg())
    print(f"\n{args.threads} BLAS thread(s); load average before {report['machine']['load_average_before']}, "
          f"after {report['machine']['load_average_after']} on {os.cpu_count()} CPUs")
    if args.json:
        with atomic_write(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == "__main__":
    main()
