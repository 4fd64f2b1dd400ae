"""``fnmlp train``: a run from options (``--recipe`` and the flags typed over it), or ``--resume``.

Every option defaults to ``None`` in the parser and takes its value from ``DEFAULTS`` afterwards, so
the command knows which options the user typed (``--resume`` accepts only ``--epochs`` and
``--progress``; the rest comes from the run being resumed). The run itself is a library call,
``fnmlp.runs.train_run``; this module turns flags into a ``TrainConfig`` and errors into flags.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path
from typing import Any

import attrs

from ..model.activations import ACTIVATIONS
from ..model.initializers import SCALES
from ..runs.lock import RunLocked
from ..runs.preview import AUGMENT_PICTURE, PREVIEW_DRAWS, show_augment
from ..runs.train import RunError, recipe_config, resume_run, train_run
from ..training.config import OPTIMIZERS, RECIPES, SCHEDULES, ConfigError, TrainConfig
from .common import EXIT_DIVERGED, EXIT_INTERRUPTED, UsageError, flag, integer, number
from .data_options import add_train_options, with_flags
from .progress import Progress

DEFAULTS = {**RECIPES["handout"].to_dict(), "recipe": "handout", "out": None, "progress": "auto",
            "show_augment": False}
NOT_CONFIG = {"recipe", "out", "progress", "show_augment"}
RESUMABLE = {"epochs", "progress"}
METRIC_NAMES = {"error": "error", "r2": "R^2"}
STATUS_CODES = {"completed": 0, "interrupted": EXIT_INTERRUPTED, "diverged": EXIT_DIVERGED}


def add_parser(commands: Any) -> None:
    """Register ``fnmlp train``."""
    train = commands.add_parser(
        "train", help="train an MLP; write metrics, plots, parameters and a checkpoint per epoch",
        description="Train an MLP on an image data set, or on your own table or folder of images (--data). "
                    "Without options it trains the 11-785 HW1 handout's "
                    "example (--recipe handout): 784-64-64-32-10 sigmoid, standard normal weights, SGD with lr "
                    "0.008 and momentum 0.9, batch 100, 100 epochs on MNIST. --recipe best is the most accurate "
                    "recipe fnmlp ships for 10 minutes on 2 cores. Options typed with --recipe override it.")

    def option(group: argparse._ArgumentGroup, flag: str, help: str, **kwargs) -> None:
        dest = flag[2:].replace("-", "_")
        default = DEFAULTS[dest]
        if not (default is None or default is False or default == []):
            help += f" (default: {' '.join(map(str, default)) if isinstance(default, list) else default})"
        group.add_argument(flag, default=None, help=help, **kwargs)

    option(train, "--recipe", "a named preset of every option below: " + "; ".join(
        f"{name}: {describe_recipe(config)}" for name, config in RECIPES.items()), choices=sorted(RECIPES))
    net = train.add_argument_group("network")
    option(net, "--hidden", "hidden layer sizes; --hidden with no sizes is a linear classifier",
           type=integer, nargs="*", metavar="N")
    option(net, "--activation", f"activation names among {', '.join(ACTIVATIONS)}: one for every hidden layer, "
           "one per hidden layer (the output layer stays identity), or one per layer including the output",
           nargs="+", metavar="NAME")
    option(net, "--bn", "BatchNorm between the affine map and the activation of the first K layers",
           type=integer, metavar="K")
    option(net, "--init", "weight initialiser: normal = N(0, 1) (the handout's), lecun = N(0, 1/fan_in), "
           "xavier = N(0, 2/(fan_in+fan_out)), he = N(0, 2/fan_in); biases start at 0", choices=sorted(SCALES))
    option(net, "--dropout", "inverted dropout rates: one for the output of every hidden layer; two for the "
           "input and then every hidden layer's output; or one per layer input, the input's first",
           type=number, nargs="+", metavar="RATE")
    option(net, "--l2", "L2 penalty on the weights, added to the loss as scikit-learn's alpha is: "
           "alpha / (2 * batch) * sum of squared weights", type=number, metavar="ALPHA")
    opt = train.add_argument_group("optimizer")
    option(opt, "--optimizer", "sgd: v = momentum * v - lr * g, p += v; adam and adamw as torch.optim's "
           "(betas 0.9, 0.999, eps 1e-8)", choices=list(OPTIMIZERS))
    option(opt, "--lr", "learning rate; a schedule's peak", type=number)
    option(opt, "--momentum", "SGD momentum, in [0, 1)", type=number)
    option(opt, "--nesterov", "Nesterov momentum for SGD, as torch.optim.SGD", action="store_true")
    option(opt, "--weight-decay", "weight decay on the weights (not biases, not BatchNorm): added to the "
           "gradient for sgd and adam (as torch.optim), decoupled for adamw", type=number)
    option(opt, "--schedule", "learning rate per batch: constant; cosine: cosine decay to 0 at the last batch; "
           "step: x0.1 at 1/2 and again at 3/4 of the batches; exponential: x0.01 over all the batches",
           choices=list(SCHEDULES))
    option(opt, "--warmup-epochs", "grow the learning rate linearly from 0 over the first E epochs, then follow "
           "--schedule", type=number, metavar="E")
    option(opt, "--clip-norm", "scale the gradients down to this global L2 norm when they exceed it",
           type=number, metavar="NORM")
    loop = train.add_argument_group("training")
    option(loop, "--epochs", "epochs to train; with --resume, the total to reach", type=integer)
    option(loop, "--batch-size", "rows per mini-batch", type=integer)
    option(loop, "--early-stopping", "stop after PATIENCE epochs without a lower validation loss, and keep the "
           "best epoch's parameters", type=integer, metavar="PATIENCE")
    option(loop, "--seed", "seeds initialisation, shuffling and dropout, as np.random.seed does in the handout",
           type=integer)
    option(loop, "--dtype", "floating-point type of data, parameters and arithmetic", choices=["float64", "float32"])
    option(loop, "--augment", "augment each training batch's images (square images only), in turn: shift:N "
           "(whole-pixel shifts up to N), affine:rot=DEG,scale=S,shear=DEG,translate=PX (each R for -R..R or "
           "LOW..HIGH), elastic:alpha=A,sigma=S (Simard et al.'s elastic distortions); any takes p=P, the "
           "probability per image, and fill=V (default: a blank pixel)", nargs="+", metavar="TOKEN")
    files = train.add_argument_group("data and output")
    option(files, "--dataset", "mnist (bundled), fashion-mnist (Debian package dataset-fashion-mnist), or a "
           "directory of MNIST-format IDX files", metavar="mnist|fashion-mnist|DIR")
    option(files, "--limit", "use only the first N rows of each split, for quick trials", type=integer, metavar="N")
    option(files, "--out", "output directory; the default is runs/<timestamp>", metavar="DIR")
    option(files, "--show-augment", f"write {AUGMENT_PICTURE} (the first training image and "
           f"{PREVIEW_DRAWS} draws of --augment on it) into --out, or the current directory, and exit "
           "without training", action="store_true")
    files.add_argument("--resume", default=None, metavar="DIR",
                       help="continue the run in DIR from its last checkpoint, with its own options")
    option(files, "--progress", "lines: one line per epoch; bar: also a bar while each epoch runs; auto: bar "
           "when stderr is a terminal, else lines; none: nothing",
           choices=["auto", "bar", "lines", "none"])
    add_train_options(train, option)
    train.set_defaults(run=run)


def describe_recipe(config: TrainConfig) -> str:
    """The options in which ``config`` differs from the handout's, as flags."""
    handout = RECIPES["handout"].to_dict()
    flags = []
    for name, value in config.to_dict().items():
        if value != handout[name]:
            text = "" if value is True else " ".join(map(str, value)) if isinstance(value, list) else str(value)
            flags.append(flag(name) + (f" {text}" if text else ""))
    return " ".join(flags) or "the defaults"


def given_options(args: argparse.Namespace) -> set:
    """The names of the ``train`` options the user typed."""
    return {name for name, value in vars(args).items() if value is not None} - {"command", "resume", "run"}


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The checked configuration of a new run from parsed ``train`` options (what ``train`` would use):
    the ``--recipe`` preset with the options typed in place of its own."""
    given = given_options(args)
    if {"data", "dataset"} <= given:
        raise UsageError("--data: expected either --data or --dataset, not both")
    options = {name: getattr(args, name) for name in given - NOT_CONFIG}
    try:
        return recipe_config(args.recipe or DEFAULTS["recipe"], options)
    except ConfigError as error:
        raise UsageError(f"{flag(error.option)}: {with_flags(error.message)}") from None


def run(args: argparse.Namespace) -> int:
    """The ``train`` command: a new run or a resumed one, its outcome printed; returns the exit status."""
    given = given_options(args)
    progress = None
    if args.resume is not None:
        refused = sorted(given - RESUMABLE)
        if refused:
            raise UsageError("--resume: the run keeps its own options; remove " + ", ".join(map(flag, refused)))
        where = "--resume"
    else:
        config = config_from_args(args)
        if args.out is not None and not args.out.strip():
            raise UsageError("--out: expected a directory path, got an empty one")
        where = "--out"
        if args.show_augment:
            return _show_augment(config, Path(args.out or "."))
        progress = Progress.create(args.progress or DEFAULTS["progress"], config.epochs)
    try:
        if args.resume is not None:
            outcome = resume_run(Path(args.resume), epochs=args.epochs,
                                 progress=Progress.create(args.progress or DEFAULTS["progress"], None))
        else:
            outcome = train_run(config, Path(args.out) if args.out else _timestamped_directory(),
                                recipe=args.recipe or DEFAULTS["recipe"], progress=progress)
    except RunError as error:
        raise UsageError(f"{where if error.argument == 'directory' else flag(error.argument)}: "
                         f"{error.message}") from None
    except ConfigError as error:
        raise UsageError(f"{flag(error.option)}: {with_flags(error.message)}") from None
    except RunLocked as locked:
        raise UsageError(f"{where}: {locked}; wait for it to finish or choose another directory") from None
    except KeyboardInterrupt:
        print("fnmlp: interrupted before the first epoch; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    return _report_outcome(outcome)


def _show_augment(config: TrainConfig, directory: Path) -> int:
    try:
        path = show_augment(config, directory)
    except RunError as error:
        raise UsageError(f"--out: {error.message}") from None
    except ConfigError as error:
        raise UsageError(f"{flag(error.option)}: {error.message}") from None
    print(f"augmentation drawn in {path}")
    return 0


def _report_outcome(outcome: Any) -> int:
    if outcome.message:
        hint = " Try a smaller --lr or --init lecun." if outcome.status == "diverged" else ""
        print(f"fnmlp: {outcome.message}{hint}", file=sys.stderr)
    final, metric = outcome.summary["final"], outcome.summary["metric"]["name"]
    print(f"test loss {final['test_loss']:.4g}, test {METRIC_NAMES.get(metric, metric)} "
          f"{final[f'test_{metric}']:.4f} after "
          f"{outcome.state.epoch} epochs ({outcome.status}); outputs in {outcome.directory}")
    if outcome.interrupted_writing:
        print("fnmlp: interrupted while writing the outputs; every file was finished first", file=sys.stderr)
        return EXIT_INTERRUPTED
    return STATUS_CODES[outcome.status]


def _timestamped_directory() -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path, n = Path("runs") / stamp, 1
    while path.exists():
        path, n = Path("runs") / f"{stamp}-{n}", n + 1
    return path
