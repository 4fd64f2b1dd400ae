"""``fnmlp evaluate RUN_DIR``: a trained run measured on a labelled split, in a table and pictures."""

from __future__ import annotations

import argparse
import math
import os
from typing import Any

from ..utils import checks as _checks
from ..runs.evaluation import (EVALUATION, SPLITS, evaluate_inputs, evaluate_run, evaluation_record, load_split,
                               worst_mistakes, write_evaluation)
from ..runs.own_data import evaluate_regression, labelled_data, regression_record
from ..runs.trained import load_trained_run
from ..utils.atomic import write_target
from .common import UsageError, flagged
from .data_options import INPUT_HINTS, with_flags

CONFUSION, MISCLASSIFIED, PREDICTED = "confusion.png", "misclassified.png", "predicted.png"
DATA_FLAGS = {"split": "--split", "data": "--data", "path": "--data", "directory": "--data", "columns": "--data"}
DEFAULT_MISTAKES = 36
MAX_DRAWN_MISTAKES = 400  # 67 rows of 6 tiles, a PNG of 900 x 11,440 pixels drawn in about a second


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "evaluate", help="measure a trained run on a labelled split: per-class table, confusion matrix, mistakes",
        description="Evaluate the network in RUN_DIR/params.npz on its data set's test split (or another), "
                    "with its inputs scaled as in training. Prints the loss, the error and a per-class table, "
                    f"and writes {CONFUSION} (normalised per true class), {MISCLASSIFIED} (the most confident "
                    f"mistakes, for square images) and {EVALUATION} into RUN_DIR, changing nothing else there. "
                    f"A run trained on a table or a folder of images (train --data) is evaluated on its own split "
                    f"or on --data; a regression reports MSE, MAE and R^2 and draws {PREDICTED} (predicted "
                    f"against true values) instead of the confusion matrix.")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a directory written by fnmlp train")
    parser.add_argument("--split", choices=SPLITS, default="test", help="the split to evaluate (default: test)")
    parser.add_argument("--dataset", metavar="mnist|fashion-mnist|DIR", default=None,
                        help="evaluate on this data set instead of the run's own")
    parser.add_argument("--data", metavar="FILE|DIR", default=None,
                        help="for a run trained with train --data: every row of this labelled table (the run's target "
                             "and feature columns, matched by name) or folder of class subfolders of PNG images, "
                             "instead of the run's own --split")
    parser.add_argument("--mistakes", type=int, default=DEFAULT_MISTAKES, metavar="N",
                        help=f"the N most confident mistakes to list in {EVALUATION} and show in {MISCLASSIFIED}, "
                             f"which draws at most {MAX_DRAWN_MISTAKES} (default: {DEFAULT_MISTAKES})")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.mistakes < 0:
        _checks.fail(ValueError, "--mistakes", "an integer >= 0", args.mistakes)
    trained = load_trained_run(args.run_dir)
    if trained.kind != "idx":
        return _run_own_data(args, trained)
    if args.data is not None:
        raise UsageError("--data: applies to a run trained with train --data; name another data set with --dataset")
    side = math.isqrt(trained.width)
    outputs = [CONFUSION, *([MISCLASSIFIED] if side * side == trained.width else []), EVALUATION]
    for output in outputs:  # every target checked before anything is computed or written
        write_target(trained.directory / output, output)
    try:
        name, pixels, labels = load_split(trained, args.split, args.dataset)
    except (ValueError, TypeError, FileNotFoundError) as error:
        raise flagged(error, {"split": "--split", "dataset": "--dataset"}) from None
    evaluation = evaluate_run(trained, pixels, labels, dataset=name, split=args.split)
    images = None if MISCLASSIFIED not in outputs else pixels.reshape(-1, side, side)
    return _report_classes(args, trained, evaluation, f"{name} {args.split} split", images, outputs)


def _run_own_data(args: argparse.Namespace, trained: Any) -> int:
    """``evaluate`` of a run trained on a table or a folder of images."""
    if args.dataset is not None:
        raise UsageError("--dataset: the run was trained with train --data; name labelled data with --data")
    regression = trained.task == "regress"
    outputs = ([PREDICTED] if regression else [CONFUSION, *([MISCLASSIFIED] if trained.kind == "images" else [])])
    outputs.append(EVALUATION)
    for output in outputs:
        write_target(trained.directory / output, output)
    try:
        labelled = labelled_data(trained, args.split, args.data)
    except (ValueError, TypeError, FileNotFoundError) as error:
        raise flagged(UsageError(with_flags(error, INPUT_HINTS)), DATA_FLAGS) from None
    where = f"{labelled.dataset} {labelled.split} split" if args.data is None else f"{labelled.dataset}"
    if not regression:
        evaluation = evaluate_inputs(trained, labelled.x, labelled.labels, dataset=labelled.dataset,
                                     split=labelled.split)
        images = None if labelled.pixels is None else labelled.pixels.reshape(-1, *trained.image_size)
        return _report_classes(args, trained, evaluation, where, images, outputs)
    evaluation = evaluate_regression(trained, labelled)
    record = regression_record(evaluation, trained)
    print(f"{where}, {len(evaluation.targets)} rows: MSE {evaluation.mse:.6g}, MAE {evaluation.mae:.6g}, "
          f"R^2 {evaluation.r2:.4f}")

    from ..plots.evaluation import plot_predicted  # matplotlib only where a plot is drawn

    target = trained.preprocessing.target
    writers = {PREDICTED: lambda path: plot_predicted(
                   evaluation.targets[:, 0], evaluation.predicted[:, 0], path, name=target,
                   title=f"Predicted against true {target}\n{where}: R^2 {evaluation.r2:.4f}"),
               EVALUATION: lambda path: write_evaluation(path, record)}
    return _write_outputs(trained, outputs, writers)


def _report_classes(args: argparse.Namespace, trained: Any, evaluation: Any, where: str, images: Any,
                    outputs: list) -> int:
    """Print a classifier's figures and per-class table, and write ``outputs``."""
    labels = evaluation.labels
    mistakes = worst_mistakes(labels, evaluation.predicted, evaluation.probabilities, args.mistakes)
    record = evaluation_record(evaluation, trained, mistakes)
    print(f"{where}, {len(labels)} rows: loss {evaluation.loss:.4f}, error {100 * evaluation.error:.2f}%")
    width = max([5, *(len(str(row["class"])) for row in record["classes"])])
    print(f"{'class':>{width}}  {'count':>6}  {'error':>7}  most confused with")
    for row in record["classes"]:
        error = "-" if row["error"] is None else f"{100 * row['error']:.2f}%"
        confused = "-" if row["confused_with"] is None else f"{row['confused_with']} ({row['confusions']} times)"
        print(f"{row['class']:>{width}}  {row['count']:>6}  {error:>7}  {confused}")

    from ..plots.evaluation import plot_confusion, plot_mistakes  # matplotlib only where a plot is drawn

    title = f"{where.removesuffix(' split')}: error {100 * evaluation.error:.2f}%"
    drawn = mistakes[:MAX_DRAWN_MISTAKES]
    predicted = evaluation.predicted[drawn]
    names = (lambda k: k) if trained.classes is None else (lambda k: [trained.classes[i] for i in k])
    writers = {
        CONFUSION: lambda path: plot_confusion(evaluation.confusion, path, labels=trained.classes,
                                               title=f"Confusion matrix, % of each true class\n{title}"),
        MISCLASSIFIED: lambda path: plot_mistakes(
            images[drawn], names(labels[drawn]), names(predicted),
            evaluation.probabilities[drawn, predicted], path, ink=trained.kind == "idx",
            title=f"Most confident mistakes, true -> predicted (probability)\n{title}"),
        EVALUATION: lambda path: write_evaluation(path, record),
    }
    if MISCLASSIFIED not in outputs:
        if trained.kind == "idx":
            print(f"no {MISCLASSIFIED}: the inputs are not square images")
    elif len(drawn) < len(mistakes):
        print(f"{MISCLASSIFIED} shows the {len(drawn)} most confident of the {len(mistakes)} mistakes listed in "
              f"{EVALUATION} (it draws at most {MAX_DRAWN_MISTAKES})")
    return _write_outputs(trained, outputs, writers)


def _write_outputs(trained: Any, outputs: list, writers: dict) -> int:
    for output in outputs:
        path = trained.directory / output
        try:
            writers[output](path)
        except OSError as error:
            _checks.fail(ValueError, output, "a file fnmlp can write",
                         f"{os.fspath(path)!r} ({error.strerror or error})")
    print(f"wrote {', '.join(outputs)} to {trained.directory}")
    return 0
