"""The command line: ``python -m fnmlp train`` (also installed as ``fnmlp train``).

Every option defaults to ``None`` in the parser and takes its value from ``DEFAULTS`` afterwards, so
the command knows which options the user typed (``--resume`` accepts only ``--epochs`` and
``--progress``; the rest comes from the run being resumed).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, NoReturn, Optional, Sequence

import attrs
import numpy as np

from .. import __version__
from . import evaluate as evaluate_command, predict as predict_command
from ..model.activations import ACTIVATIONS
from ..runs.checkpoint import load_train_state, save_train_state
from ..training.config import OPTIMIZERS, RECIPES, SCHEDULES, Built, ConfigError, TrainConfig, build, early_stopping
from ..datasets.mnist import DATASET_NAMES, Split, load_dataset
from ..model.initializers import SCALES, as_rng
from ..model.params import init_params
from .progress import Progress
from ..runs.lock import RunLock, RunLocked
from ..runs.files import CHECKPOINT, read_history, write_metrics, write_run_outputs
from ..training.loop import EpochStats, TrainingDiverged, TrainState, fit_from, initial_state

EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 3, 130

DEFAULTS = {**RECIPES["handout"].to_dict(), "recipe": "handout", "out": None, "progress": "auto"}
RESUMABLE = {"epochs", "progress"}


class UsageError(Exception):
    """A bad option or input: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An argument parser that raises ``UsageError`` where argparse would print its usage and exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message.removeprefix("argument "))


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fnmlp", description="Train multi-layer perceptrons with fnmlp.")
    parser.add_argument("--version", action="version", version=f"fnmlp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train = commands.add_parser(
        "train", help="train an MLP; write metrics, plots, parameters and a checkpoint per epoch",
        description="Train an MLP on an image data set. Without options it trains the 11-785 HW1 handout's "
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
           type=_integer, nargs="*", metavar="N")
    option(net, "--activation", f"activation names among {', '.join(ACTIVATIONS)}: one for every hidden layer, "
           "one per hidden layer (the output layer stays identity), or one per layer including the output",
           nargs="+", metavar="NAME")
    option(net, "--bn", "BatchNorm between the affine map and the activation of the first K layers",
           type=_integer, metavar="K")
    option(net, "--init", "weight initialiser: normal = N(0, 1) (the handout's), lecun = N(0, 1/fan_in), "
           "xavier = N(0, 2/(fan_in+fan_out)), he = N(0, 2/fan_in); biases start at 0", choices=sorted(SCALES))
    option(net, "--dropout", "inverted dropout rates: one for the output of every hidden layer; two for the "
           "input and then every hidden layer's output; or one per layer input, the input's first",
           type=_number, nargs="+", metavar="RATE")
    option(net, "--l2", "L2 penalty on the weights, added to the loss as scikit-learn's alpha is: "
           "alpha / (2 * batch) * sum of squared weights", type=_number, metavar="ALPHA")
    opt = train.add_argument_group("optimizer")
    option(opt, "--optimizer", "sgd: v = momentum * v - lr * g, p += v; adam and adamw as torch.optim's "
           "(betas 0.9, 0.999, eps 1e-8)", choices=list(OPTIMIZERS))
    option(opt, "--lr", "learning rate; a schedule's peak", type=_number)
    option(opt, "--momentum", "SGD momentum, in [0, 1)", type=_number)
    option(opt, "--nesterov", "Nesterov momentum for SGD, as torch.optim.SGD", action="store_true")
    option(opt, "--weight-decay", "weight decay on the weights (not biases, not BatchNorm): added to the "
           "gradient for sgd and adam (as torch.optim), decoupled for adamw", type=_number)
    option(opt, "--schedule", "learning rate per batch: constant; cosine: cosine decay to 0 at the last batch; "
           "step: x0.1 at 1/2 and again at 3/4 of the batches; exponential: x0.01 over all the batches",
           choices=list(SCHEDULES))
    option(opt, "--warmup-epochs", "grow the learning rate linearly from 0 over the first E epochs, then follow "
           "--schedule", type=_number, metavar="E")
    option(opt, "--clip-norm", "scale the gradients down to this global L2 norm when they exceed it",
           type=_number, metavar="NORM")
    loop = train.add_argument_group("training")
    option(loop, "--epochs", "epochs to train; with --resume, the total to reach", type=_integer)
    option(loop, "--batch-size", "rows per mini-batch", type=_integer)
    option(loop, "--early-stopping", "stop after PATIENCE epochs without a lower validation loss, and keep the "
           "best epoch's parameters", type=_integer, metavar="PATIENCE")
    option(loop, "--seed", "seeds initialisation, shuffling and dropout, as np.random.seed does in the handout",
           type=_integer)
    option(loop, "--dtype", "floating-point type of data, parameters and arithmetic", choices=["float64", "float32"])
    files = train.add_argument_group("data and output")
    option(files, "--dataset", "mnist (bundled), fashion-mnist (Debian package dataset-fashion-mnist), or a "
           "directory of MNIST-format IDX files", metavar="mnist|fashion-mnist|DIR")
    option(files, "--limit", "use only the first N rows of each split, for quick trials", type=_integer, metavar="N")
    option(files, "--out", "output directory; the default is runs/<timestamp>", metavar="DIR")
    files.add_argument("--resume", default=None, metavar="DIR",
                       help="continue the run in DIR from its last checkpoint, with its own options")
    option(files, "--progress", "lines: one line per epoch; bar: also a bar while each epoch runs; auto: bar "
           "when stderr is a terminal, else lines; none: nothing",
           choices=["auto", "bar", "lines", "none"])
    evaluate_command.add_parser(commands)
    predict_command.add_parser(commands)
    from ..sweep import runner as sweep  # here, not at the top: sweep imports this module
    sweep.add_parser(commands)
    return parser


def describe_recipe(config: TrainConfig) -> str:
    """The options in which ``config`` differs from the handout's, as flags."""
    handout = RECIPES["handout"].to_dict()
    flags = []
    for name, value in config.to_dict().items():
        if value != handout[name]:
            text = "" if value is True else " ".join(map(str, value)) if isinstance(value, list) else str(value)
            flags.append(f"--{name.replace('_', '-')}" + (f" {text}" if text else ""))
    return " ".join(flags) or "the defaults"


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status (0, 2 usage, 3 diverged, 130 interrupted)."""
    try:
        args = build_parser().parse_args(argv)
        return getattr(args, "run", train)(args)  # subcommands other than train set ``run``
    except (UsageError, ValueError, TypeError, FileNotFoundError) as error:
        _report(error)
        return EXIT_USAGE
    except (OSError, MemoryError) as error:
        _report(error)
        return 1


def _report(error: BaseException) -> None:
    """``fnmlp: error: <message>`` on one line of stderr."""
    message = " ".join(str(error).split()) or type(error).__name__
    print(f"fnmlp: error: {message}", file=sys.stderr)


@attrs.frozen(eq=False)
class Run:
    """A run about to train: where it lives, what it trains and where it starts. ``recipe`` names the
    preset its ``config`` started from."""

    directory: Path
    recipe: str
    config: TrainConfig
    built: Built
    start: TrainState
    history: tuple

    @property
    def options(self) -> dict:
        """Every option of the run, as ``summary.json`` and the checkpoint keep them."""
        return {"recipe": self.recipe, **self.config.to_dict()}


def train(args: argparse.Namespace) -> int:
    """The ``train`` command; holds the run directory's lock (``fnmlp.run_lock``) from before it looks
    for an existing run until its last file is written."""
    with contextlib.ExitStack() as held:
        return _train(args, held)


def given_options(args: argparse.Namespace) -> set:
    """The names of the ``train`` options the user typed."""
    return {name for name, value in vars(args).items() if value is not None} - {"command", "resume"}


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The checked configuration of a new run from parsed ``train`` options (what ``train`` would use):
    the ``--recipe`` preset with the options typed in place of its own."""
    options = {name: getattr(args, name) for name in given_options(args) - {"recipe", "out", "progress"}}
    return configure(RECIPES[args.recipe or DEFAULTS["recipe"]], options)


def _train(args: argparse.Namespace, held: contextlib.ExitStack) -> int:
    given = given_options(args)
    wall_start = time.perf_counter()
    if args.resume is not None:
        refused = sorted(given - RESUMABLE)
        if refused:
            raise UsageError("--resume: the run keeps its own options; remove "
                             + ", ".join("--" + name.replace("_", "-") for name in refused))
        run, splits, dataset = resumed_run(Path(args.resume), args.epochs, held)
    else:
        config = config_from_args(args)
        run, splits, dataset = new_run(args.recipe or DEFAULTS["recipe"], config,
                                       Path(args.out) if args.out else _timestamped_directory(), held)
    progress = Progress.create(args.progress or DEFAULTS["progress"], run.config.epochs)
    latest, history, status, message = train_run(run, splits, progress)
    code = {"completed": 0, "interrupted": EXIT_INTERRUPTED, "diverged": EXIT_DIVERGED}[status]
    if message:
        print(f"fnmlp: {message}", file=sys.stderr)
    summary = write_run_outputs(run.directory, run.options, run.built.spec, dataset, splits, latest, history, status,
                                message, time.perf_counter() - wall_start)
    final = summary["final"]
    print(f"test loss {final['test_loss']:.4f}, test error {final['test_error']:.4f} after "
          f"{latest.epoch} epochs ({status}); outputs in {run.directory}")
    return code


def configure(base: TrainConfig, options: dict) -> TrainConfig:
    """``base`` with ``options`` (field name -> value) in place of its own, checked; a bad value is a
    ``UsageError`` naming its command-line option."""
    try:
        config = attrs.evolve(base, **options)
    except ConfigError as error:
        raise UsageError(f"--{error.option.replace('_', '-')}: {error.message}") from None
    if config.dataset.lower() not in DATASET_NAMES and not os.path.isdir(config.dataset):
        raise UsageError(f"--dataset: expected {', '.join(DATASET_NAMES)} or a directory of IDX files, "
                         f"got {config.dataset!r}, which is neither")
    return config


def load_splits(config: TrainConfig) -> tuple:
    """``(dataset, {"train": Split, "validation": Split, "test": Split})``, cut to ``config.limit``."""
    dataset = load_dataset(config.dataset, dtype=np.dtype(config.dtype))
    splits = {name: getattr(dataset, name) for name in ("train", "validation", "test")}
    if config.limit is not None:
        splits = {name: Split(split.x[:config.limit], split.y[:config.limit]) for name, split in splits.items()}
    n_train = splits["train"].x.shape[0]
    if config.batch_size > n_train:
        raise UsageError(f"--batch-size: expected at most {n_train}, the training rows, got {config.batch_size}")
    return dataset, splits


def _lock(directory: Path, option: str, held: contextlib.ExitStack) -> None:
    """Hold ``directory``'s run lock until ``held`` closes; another live writer is a usage error."""
    try:
        held.enter_context(RunLock.acquire(directory))
    except RunLocked as locked:
        raise UsageError(f"{option}: {locked}; wait for it to finish or choose another directory") from None


def new_run(recipe: str, config: TrainConfig, directory: Path, held: contextlib.ExitStack) -> tuple:
    for path in (directory, *directory.parents):
        if path.exists():
            if not path.is_dir():
                raise UsageError(f"--out: expected a directory, got {directory}"
                                 + ("" if path == directory else f", inside the file {path}"))
            break
    if (directory / CHECKPOINT).exists():
        raise UsageError(f"--out: {directory} already holds a run; continue it with --resume {directory} "
                         "or choose another directory")
    dataset, splits = load_splits(config)
    train_x = splits["train"].x
    built = build(config, num_features=train_x.shape[1], num_classes=dataset.num_classes, num_train=train_x.shape[0])
    rng = as_rng(config.seed)
    params, bn_state = init_params(built.spec, rng, weight_init=config.init, dtype=config.dtype)
    start = initial_state(params, bn_state, built.optimizer, train_x.shape[0], rng)
    directory.mkdir(parents=True, exist_ok=True)
    _lock(directory, "--out", held)
    if (directory / CHECKPOINT).exists():
        raise UsageError(f"--out: {directory} already holds a run; continue it with --resume {directory} "
                         "or choose another directory")
    run = Run(directory, recipe, config, built, start, ())
    save_run_checkpoint(run, start, ())
    return run, splits, dataset


def resumed_run(directory: Path, epochs: Optional[int], held: contextlib.ExitStack) -> tuple:
    dataset, splits = load_splits(_resumable(directory, epochs)[5])
    _lock(directory, "--resume", held)  # after every check, so that bad input leaves no lock file behind
    spec, optimizer, start, meta, recipe, config = _resumable(directory, epochs)  # as the last writer left it
    history = read_history(meta)
    write_metrics(directory / "metrics.csv", history)  # a writer killed between the two files left it behind
    built = Built(spec, optimizer, early_stopping(config))
    return Run(directory, recipe, config, built, start, history), splits, dataset


def _resumable(directory: Path, epochs: Optional[int]) -> tuple:
    """``(spec, optimizer, start, meta, recipe, config)`` of the run in ``directory``, checked for
    resuming to ``epochs``."""
    path = directory / CHECKPOINT
    if not path.is_file():
        raise UsageError(f"--resume: expected a run directory holding {CHECKPOINT}, got {directory}"
                         + ("" if directory.is_dir() else ", which does not exist"))
    spec, optimizer, start, meta = load_train_state(path)
    options = meta.get("config")
    if not isinstance(options, dict) or not {"hidden", "epochs", "batch_size", "seed"} <= set(options):
        raise UsageError(f"--resume: expected a run written by fnmlp train, got {path}, a checkpoint without "
                         "the options of its run")
    options = dict(options)
    recipe = options.pop("recipe", "handout")
    try:
        config = TrainConfig.from_dict(options)
    except ConfigError as error:
        raise UsageError(f"--resume: {path} holds options this fnmlp cannot use ({error})") from None
    if epochs is not None:
        config = configure(config, {"epochs": epochs})
    if config.epochs < start.epoch:
        raise UsageError(f"--epochs: expected at least {start.epoch}, the epochs the run has done, "
                         f"got {config.epochs}")
    return spec, optimizer, start, meta, recipe, config


def train_run(run: Run, splits: dict, progress: Progress) -> tuple:
    """Train ``run``, checkpointing every epoch; returns ``(latest, history, status, message)``.

    Ctrl-C and divergence end training with the last finished epoch's state, already on disk.
    """
    latest, history = run.start, list(run.history)

    def on_epoch(stats: EpochStats, state: TrainState) -> None:
        nonlocal latest
        with _interrupt_deferred():  # the files and what the run reports move together
            save_run_checkpoint(run, state, [*history, stats])
            history.append(stats)
            latest = state
        progress.epoch(stats)

    try:
        fit_from(run.built.spec, run.built.optimizer, run.start, splits["train"], splits["validation"],
                 epochs=run.config.epochs, batch_size=run.config.batch_size,
                 early_stopping=run.built.early_stopping, on_batch=progress.batch, on_epoch=on_epoch)
    except KeyboardInterrupt:
        progress.clear()
        return latest, history, "interrupted", (f"interrupted in epoch {latest.epoch + 1}; kept the "
                                                f"{latest.epoch} finished epochs")
    except TrainingDiverged as diverged:
        progress.clear()
        return latest, history, "diverged", (
            f"training diverged: the loss became {diverged.loss} at epoch {diverged.epoch}, batch "
            f"{diverged.batch}; kept the checkpoint of epoch {latest.epoch}. Try a smaller --lr or --init lecun.")
    return latest, history, "completed", ""


@contextlib.contextmanager
def _interrupt_deferred() -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) that arrives inside the block until the block is done, then raise it.
    Only in the main thread, the one Python delivers signals to; elsewhere the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: caught.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def save_run_checkpoint(run: Run, state: TrainState, history: Sequence[EpochStats]) -> None:
    """``checkpoint.npz``, ``state`` with the run's configuration and the history up to it, and
    ``metrics.csv`` with that history."""
    save_train_state(run.directory / CHECKPOINT, run.built.spec, run.built.optimizer, state,
                     {"config": run.options, "history": [attrs.asdict(stats) for stats in history]})
    write_metrics(run.directory / "metrics.csv", history)


def _timestamped_directory() -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path, n = Path("runs") / stamp, 1
    while path.exists():
        path, n = Path("runs") / f"{stamp}-{n}", n + 1
    return path
