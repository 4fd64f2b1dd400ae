#!/usr/bin/env python3
"""``fnmlp train --data`` on tables against scikit-learn's MLPClassifier and MLPRegressor at the same settings.

scikit-learn's bundled ``load_wine`` and ``load_breast_cancer`` (classification, string labels) and
``load_diabetes`` (regression) are written as CSV files and trained with the command line,
``fnmlp train --data FILE --target target`` (through ``fnmlp.cli.main``), for each seed of ``--seeds``.
scikit-learn's estimator trains on the very same rows: the split is ``fnmlp.datasets.sources.
load_table_data``'s for that seed (stratified for classes; the validation rows are left out of both
fits), the features standardised with the training rows' mean and std (``StandardScaler``, as fnmlp
does), with the same hidden sizes, activation, solver, learning rate, epochs (``tol=0``,
``n_iter_no_change`` above the epochs, so neither stops early), batch size, no L2 penalty, and
Glorot-variance initial weights. fnmlp standardises a regression target with the training rows'
statistics; scikit-learn gets the same through ``TransformedTargetRegressor(StandardScaler())``
(its plain ``MLPRegressor`` on raw targets is reported too, in the JSON and a note).

Prints a Markdown table of the mean test accuracy (R^2 for a regression) over the seeds, each
seed's figures, and the difference. Run from the repository root (it needs scikit-learn)::

    python3 scripts/compare_tables.py
    python3 scripts/compare_tables.py --tasks wine --seeds 0 1 --epochs 50 --json tables.json
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import statistics
import sys
import tempfile
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from fnmlp.cli import main as fnmlp_main  # noqa: E402
from fnmlp.datasets.sources import load_table_data  # noqa: E402
from fnmlp.runs import atomic_write  # noqa: E402

TASKS = {"wine": ("load_wine", "classify"), "cancer": ("load_breast_cancer", "classify"),
         "diabetes": ("load_diabetes", "regress")}


def _sklearn():
    try:
        from sklearn import compose, datasets, exceptions, neural_network, preprocessing
    except ImportError:
        sys.exit("compare_tables.py: error: it needs scikit-learn (python3 -m pip install scikit-learn)")
    return compose, datasets, exceptions, neural_network, preprocessing


def write_table(task: str, directory: str) -> str:
    """scikit-learn's data set of ``task`` as ``DIRECTORY/<task>.csv``: its feature columns by name
    and ``target`` (class names for a classification)."""
    _, datasets, *_ = _sklearn()
    loader, kind = TASKS[task]
    bunch = getattr(datasets, loader)()
    target = bunch.target_names[bunch.target] if kind == "classify" else bunch.target
    path = os.path.join(directory, f"{task}.csv")
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([*bunch.feature_names, "target"])
        for row, value in zip(bunch.data, target):
            writer.writerow([*(repr(float(v)) for v in row), value])
    return path


def fnmlp_run(path: str, seed: int, args: argparse.Namespace, out: str) -> dict:
    """Train with the command line; the test figure and seconds of its ``summary.json``."""
    argv = ["train", "--data", path, "--target", "target", "--hidden", *map(str, args.hidden),
            "--activation", args.activation, "--init", "xavier", "--optimizer", args.solver, "--lr", str(args.lr),
            "--momentum", str(args.momentum), "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
            "--seed", str(seed), "--validation-fraction", str(args.validation_fraction),
            "--test-fraction", str(args.test_fraction), "--dtype", "float64", "--progress", "none", "--out", out]
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = fnmlp_main(argv)
    if code != 0:
        sys.exit(f"compare_tables.py: error: fnmlp {' '.join(argv)} exited with status {code}")
    summary = json.loads(open(os.path.join(out, "summary.json")).read())
    final, metric = summary["final"], summary["metric"]["name"]
    score = 1.0 - final["test_error"] if metric == "error" else final["test_r2"]
    return {"score": score, "seconds": time.perf_counter() - start, "command": "fnmlp " + " ".join(argv)}


def sklearn_run(path: str, kind: str, seed: int, args: argparse.Namespace) -> dict:
    """scikit-learn's estimator on the rows of fnmlp's split for ``seed``."""
    compose, _, exceptions, neural_network, preprocessing = _sklearn()
    data = load_table_data(path, target="target", seed=seed, validation_fraction=args.validation_fraction,
                           test_fraction=args.test_fraction)
    raw = np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(len(data.preprocessing.features)))
    labels = np.array([row[-1] for row in csv.reader(open(path))][1:])
    train, test = data.rows[0], data.rows[2]
    scaler = preprocessing.StandardScaler().fit(raw[train])
    x_train, x_test = scaler.transform(raw[train]), scaler.transform(raw[test])
    settings = dict(hidden_layer_sizes=tuple(args.hidden), activation=args.activation, solver=args.solver,
                    alpha=0.0, batch_size=args.batch_size, learning_rate_init=args.lr, momentum=args.momentum,
                    nesterovs_momentum=False, max_iter=args.epochs, tol=0.0, n_iter_no_change=args.epochs + 1,
                    random_state=seed)
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", exceptions.ConvergenceWarning)
        start = time.perf_counter()
        if kind == "classify":
            model = neural_network.MLPClassifier(**settings).fit(x_train, labels[train])
            return {"score": float(model.score(x_test, labels[test])), "seconds": time.perf_counter() - start}
        y = labels.astype(np.float64)
        model = compose.TransformedTargetRegressor(neural_network.MLPRegressor(**settings),
                                                   transformer=preprocessing.StandardScaler())
        results["score"] = float(model.fit(x_train, y[train]).score(x_test, y[test]))
        results["seconds"] = time.perf_counter() - start
        plain = neural_network.MLPRegressor(**settings).fit(x_train, y[train])
        results["score_unscaled_target"] = float(plain.score(x_test, y[test]))
    return results


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--hidden", nargs="+", type=int, default=[32])
    parser.add_argument("--activation", choices=["relu", "tanh", "logistic", "identity"], default="relu")
    parser.add_argument("--solver", choices=["adam", "sgd"], default="adam")
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (plain, not Nesterov)")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--validation-fraction", type=float, default=0.1)
    parser.add_argument("--test-fraction", type=float, default=0.3)
    parser.add_argument("--json", metavar="FILE", help="write every figure to FILE")
    args = parser.parse_args(argv)
    if args.activation == "logistic":
        args.activation = "sigmoid"  # fnmlp's name; scikit-learn's estimator gets "logistic" below
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    report = {"settings": {**vars(args), "json": None}, "tasks": {}}
    sk_args = argparse.Namespace(**{**vars(args), "activation": "logistic" if args.activation == "sigmoid"
                                    else args.activation})
    with tempfile.TemporaryDirectory() as directory:
        for task in args.tasks:
            path = write_table(task, directory)
            kind = TASKS[task][1]
            seeds = []
            for seed in args.seeds:
                ours = fnmlp_run(path, seed, args, os.path.join(directory, f"{task}-{seed}"))
                theirs = sklearn_run(path, kind, seed, sk_args)
                seeds.append({"seed": seed, "fnmlp": ours, "sklearn": theirs})
            mean = {who: statistics.fmean(s[who]["score"] for s in seeds) for who in ("fnmlp", "sklearn")}
            report["tasks"][task] = {"kind": kind, "rows": sum(1 for _ in open(path)) - 1, "seeds": seeds,
                                     "mean": mean, "difference": mean["fnmlp"] - mean["sklearn"]}
    print_report(report)
    if args.json:
        with atomic_write(args.json, "w") as file:
            json.dump(report, file, indent=2)
    return report


def print_report(report: dict) -> None:
    s = report["settings"]
    print(f"hidden {s['hidden']}, {s['activation']}, {s['solver']} lr {s['lr']}, {s['epochs']} epochs, batches of "
          f"{s['batch_size']}, validation {s['validation_fraction']}, test {s['test_fraction']}, seeds {s['seeds']}")
    print("| data set | rows | figure | fnmlp train --data | scikit-learn | difference | per seed (fnmlp / scikit-learn) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for task, r in report["tasks"].items():
        figure, scale = ("test accuracy", 100.0) if r["kind"] == "classify" else ("test R^2", 1.0)
        unit = "%" if r["kind"] == "classify" else ""
        cells = ", ".join(f"{scale * s['fnmlp']['score']:.{1 if scale > 1 else 3}f}/"
                          f"{scale * s['sklearn']['score']:.{1 if scale > 1 else 3}f}" for s in r["seeds"])
        digits = 2 if scale > 1 else 4
        print(f"| {task} | {r['rows']} | {figure} | {scale * r['mean']['fnmlp']:.{digits}f}{unit} | "
              f"{scale * r['mean']['sklearn']:.{digits}f}{unit} | {scale * r['difference']:+.{digits}f} | {cells} |")
        if r["kind"] == "regress":
            plain = statistics.fmean(s["sklearn"]["score_unscaled_target"] for s in r["seeds"])
            print(f"  ({task}: scikit-learn's MLPRegressor on the unscaled target: mean R^2 {plain:.4f})")


if __name__ == "__main__":
    main()
