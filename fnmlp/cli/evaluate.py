"""``fnmlp evaluate RUN_DIR``: a trained run measured on a labelled split, in a table and pictures."""

from __future__ import annotations

import argparse
import math
import os
from typing import Any

from ..utils import checks as _checks
from ..runs.evaluation import (EVALUATION, SPLITS, evaluate_run, evaluation_record, load_split, worst_mistakes,
                         write_evaluation)
from ..runs.trained import load_trained_run
from ..utils.atomic import write_target
from .common import flagged

CONFUSION, MISCLASSIFIED = "confusion.png", "misclassified.png"
DEFAULT_MISTAKES = 36
MAX_DRAWN_MISTAKES = 400  # 67 rows of 6 tiles, a PNG of 900 x 11,440 pixels drawn in about a second


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "evaluate", help="measure a trained run on a labelled split: per-class table, confusion matrix, mistakes",
        description="Evaluate the network in RUN_DIR/params.npz on its data set's test split (or another), "
                    "with its inputs scaled as in training. Prints the loss, the error and a per-class table, "
                    f"and writes {CONFUSION} (normalised per true class), {MISCLASSIFIED} (the most confident "
                    f"mistakes, for square images) and {EVALUATION} into RUN_DIR, changing nothing else there.")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a directory written by fnmlp train")
    parser.add_argument("--split", choices=SPLITS, default="test", help="the split to evaluate (default: test)")
    parser.add_argument("--dataset", metavar="mnist|fashion-mnist|DIR", default=None,
                        help="evaluate on this data set instead of the run's own")
    parser.add_argument("--mistakes", type=int, default=DEFAULT_MISTAKES, metavar="N",
                        help=f"the N most confident mistakes to list in {EVALUATION} and show in {MISCLASSIFIED}, "
                             f"which draws at most {MAX_DRAWN_MISTAKES} (default: {DEFAULT_MISTAKES})")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.mistakes < 0:
        _checks.fail(ValueError, "--mistakes", "an integer >= 0", args.mistakes)
    trained = load_trained_run(args.run_dir)
    side = math.isqrt(trained.width)
    outputs = [CONFUSION, *([MISCLASSIFIED] if side * side == trained.width else []), EVALUATION]
    for output in outputs:  # every target checked before anything is computed or written
        write_target(trained.directory / output, output)
    try:
        name, pixels, labels = load_split(trained, args.split, args.dataset)
    except (ValueError, TypeError, FileNotFoundError) as error:
        raise flagged(error, {"split": "--split", "dataset": "--dataset"}) from None
    evaluation = evaluate_run(trained, pixels, labels, dataset=name, split=args.split)
    mistakes = worst_mistakes(labels, evaluation.predicted, evaluation.probabilities, args.mistakes)
    record = evaluation_record(evaluation, trained, mistakes)
    print(f"{name} {args.split} split, {len(labels)} rows: loss {evaluation.loss:.4f}, "
          f"error {100 * evaluation.error:.2f}%")
    print(f"{'class':>5}  {'count':>6}  {'error':>7}  most confused with")
    for row in record["classes"]:
        error = "-" if row["error"] is None else f"{100 * row['error']:.2f}%"
        confused = "-" if row["confused_with"] is None else f"{row['confused_with']} ({row['confusions']} times)"
        print(f"{row['class']:>5}  {row['count']:>6}  {error:>7}  {confused}")

    from ..plots.evaluation import plot_confusion, plot_mistakes  # matplotlib only where a plot is drawn

    title = f"{name} {args.split}: error {100 * evaluation.error:.2f}%"
    drawn = mistakes[:MAX_DRAWN_MISTAKES]
    predicted = evaluation.predicted[drawn]
    writers = {
        CONFUSION: lambda path: plot_confusion(evaluation.confusion, path,
                                               title=f"Confusion matrix, % of each true class\n{title}"),
        MISCLASSIFIED: lambda path: plot_mistakes(
            pixels[drawn].reshape(-1, side, side), labels[drawn], predicted,
            evaluation.probabilities[drawn, predicted], path,
            title=f"Most confident mistakes, true -> predicted (probability)\n{title}"),
        EVALUATION: lambda path: write_evaluation(path, record),
    }
    if MISCLASSIFIED not in outputs:
        print(f"no {MISCLASSIFIED}: the inputs are not square images")
    elif len(drawn) < len(mistakes):
        print(f"{MISCLASSIFIED} shows the {len(drawn)} most confident of the {len(mistakes)} mistakes listed in "
              f"{EVALUATION} (it draws at most {MAX_DRAWN_MISTAKES})")
    for output in outputs:
        path = trained.directory / output
        try:
            writers[output](path)
        except OSError as error:
            _checks.fail(ValueError, output, "a file fnmlp can write",
                         f"{os.fspath(path)!r} ({error.strerror or error})")
    print(f"wrote {', '.join(outputs)} to {trained.directory}")
    return 0
