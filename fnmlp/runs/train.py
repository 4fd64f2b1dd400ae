"""A run as a library call: set up or resume a run directory under its lock, train with a checkpoint
after every epoch, and write the run's files (``fnmlp.runs.files``).

``train_run(config, directory)`` starts a new run and ``resume_run(directory)`` continues one; both
return a ``RunOutcome``. ``fnmlp train`` and every sweep trial call them. Errors are typed and name
the argument at fault, never a command-line flag:

- ``RunError(argument, message)``: a bad directory or epoch count (``argument`` is ``"directory"`` or
  ``"epochs"``); ``ConfigError`` (``fnmlp.config``): a bad option of the configuration;
- ``RunLocked`` (``fnmlp.runs.lock``): another live process writes the directory.

Ctrl-C and divergence do not raise: the outcome's ``status`` is ``"interrupted"`` or ``"diverged"``,
and the run's files hold its last finished epoch. A Ctrl-C before the first checkpoint leaves no new
directory behind; one while the outputs are written is held until they are all written.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence, Union

import attrs
import numpy as np

from ..datasets.mnist import DATASET_NAMES, Split, load_dataset
from ..datasets.sources import data_kind, load_folder_data, load_table_data
from ..model.initializers import as_rng
from ..model.params import init_params
from ..training.config import DATA_ONLY, RECIPES, Built, ConfigError, TrainConfig, build, early_stopping
from ..training.loop import EpochStats, TrainingDiverged, TrainState, fit_from, initial_state
from .augmentation import row_augment
from .checkpoint import load_train_state, save_train_state
from .files import CHECKPOINT, METRICS, read_history, write_metrics, write_run_outputs
from .lock import RunLock, RunLocked

__all__ = ["Run", "RunError", "RunOutcome", "check_dataset", "configure", "fitted_batch", "load_data", "load_splits",
           "recipe_config", "resume_run", "save_run_checkpoint", "train_run"]

PathLike = Union[str, "os.PathLike[str]"]


class RunError(ValueError):
    """A bad argument of a run: ``argument`` names it (``directory``, ``epochs``)."""

    def __init__(self, argument: str, message: str):
        super().__init__(f"{argument}: {message}")
        self.argument, self.message = argument, message


@attrs.frozen(eq=False)
class Run:
    """A run about to train: where it lives, what it trains and where it starts. ``recipe`` names the
    preset its ``config`` started from; ``augment`` is its training batches' augmentation (``None``:
    none)."""

    directory: Path
    recipe: str
    config: TrainConfig
    built: Built
    start: TrainState
    history: tuple
    augment: Any = None

    @property
    def options(self) -> dict:
        """Every option of the run, as ``summary.json`` and the checkpoint keep them."""
        return {"recipe": self.recipe, **self.config.to_dict()}


@attrs.frozen(eq=False)
class RunOutcome:
    """What a run ended with: ``status`` (``completed``, ``interrupted`` or ``diverged``), a one-line
    ``message`` (empty when completed), the last finished epoch's ``state``, the whole ``history``
    and the ``summary`` written to ``summary.json``. ``interrupted_writing`` says a Ctrl-C came while
    the outputs were written (they were finished first)."""

    directory: Path
    status: str
    message: str
    state: TrainState
    history: tuple
    summary: dict
    interrupted_writing: bool = False


class _Quiet:
    """Progress that shows nothing."""

    def batch(self, *args: Any) -> None:
        pass

    def epoch(self, stats: EpochStats) -> None:
        pass

    def clear(self) -> None:
        pass


def train_run(config: TrainConfig, directory: PathLike, *, recipe: str = "handout",
              progress: Any = None) -> RunOutcome:
    """Train a new run of ``config`` in ``directory`` (created if missing; it must not hold a run).

    ``recipe`` names the preset ``config`` came from (recorded with it). ``progress`` receives
    ``start(epochs, metric=name)`` if it has one, then ``batch(epoch, batch, num_batches, loss, metric)``,
    ``epoch(stats)`` and ``clear()`` (default: nothing shown). Raises ``RunError``, ``ConfigError`` or ``RunLocked`` before anything is written.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config: expected a TrainConfig, got {type(config).__name__}")
    check_dataset(config)
    config = _absolute_paths(config)
    directory = _directory(directory)
    with contextlib.ExitStack() as held:
        wall_start = time.perf_counter()
        run, splits, dataset = _new_run(recipe, config, directory, held)
        return _train_and_write(run, splits, dataset, progress, wall_start)


def resume_run(directory: PathLike, *, epochs: Optional[int] = None, progress: Any = None) -> RunOutcome:
    """Continue the run in ``directory`` from its last checkpoint, with its own options, up to
    ``epochs`` in total (default: its own). A finished run resumed at its own epochs trains nothing
    and writes its outputs again, which repairs a run whose writing was cut short."""
    directory = _directory(directory)
    with contextlib.ExitStack() as held:
        wall_start = time.perf_counter()
        run, splits, dataset = _resumed_run(directory, epochs, held)
        return _train_and_write(run, splits, dataset, progress, wall_start)


def check_dataset(config: TrainConfig) -> None:
    """Raise ``ConfigError`` unless ``config.dataset`` names a bundled data set or a directory, or
    ``config.data`` names a table file or a folder of images."""
    if config.data is not None:
        try:
            data_kind(config.data)
        except (ValueError, FileNotFoundError) as error:
            raise _config_error(error) from None
        return
    if config.dataset.lower() not in DATASET_NAMES and not os.path.isdir(config.dataset):
        raise ConfigError("dataset", f"expected {', '.join(DATASET_NAMES)} or a directory of IDX files, got "
                                     f"{config.dataset!r}, which is neither")


def load_splits(config: TrainConfig) -> tuple:
    """``(dataset, {"train": Split, "validation": Split, "test": Split})``, cut to ``config.limit``.
    With ``config.data`` the data set is a ``TableData`` or a ``FolderData``
    (``fnmlp.datasets.sources``), and a ``batch_size`` above the training rows is left for the run
    to cut (``fitted_batch``); with a ``dataset`` it is a ``ConfigError``."""
    dataset = load_dataset(config.dataset, dtype=np.dtype(config.dtype)) if config.data is None else load_data(config)
    splits = {name: getattr(dataset, name) for name in ("train", "validation", "test")}
    if config.limit is not None:
        splits = {name: Split(split.x[:config.limit], split.y[:config.limit]) for name, split in splits.items()}
    n_train = splits["train"].x.shape[0]
    if config.batch_size > n_train and config.data is None:
        raise ConfigError("batch_size", f"expected at most {n_train}, the training rows, got {config.batch_size}")
    return dataset, splits


# A run's own data: a table file or a folder of images (config.data)

def load_data(config: TrainConfig) -> Any:
    """The ``TableData`` or ``FolderData`` that ``config.data`` and its options describe, split with
    ``config.seed``. Every problem is a ``ConfigError`` naming the option (``data`` for the file's
    own content, which the message names by file, line and column)."""
    try:
        if data_kind(config.data) == "table":
            if config.image_size is not None:
                raise ConfigError("image_size", f"applies to a folder of images; {config.data} is a table file")
            return load_table_data(config.data, target=config.target, features=config.features, task=config.task,
                                   delimiter=config.delimiter, impute=config.impute,
                                   validation_fraction=config.validation_fraction,
                                   test_fraction=config.test_fraction, validation=config.validation,
                                   test=config.test, seed=config.seed, dtype=np.dtype(config.dtype))
        for option in ("target", "features", "delimiter", "impute", "validation", "test"):
            if getattr(config, option) != DATA_ONLY[option]:
                raise ConfigError(option, f"applies to a table; {config.data} is a folder of images")
        if config.task == "regress":
            raise ConfigError("task", "expected classify for a folder of images, got regress")
        return load_folder_data(config.data, image_size=config.image_size,
                                validation_fraction=config.validation_fraction, test_fraction=config.test_fraction,
                                seed=config.seed, dtype=np.dtype(config.dtype))
    except (ValueError, TypeError, FileNotFoundError) as error:
        raise _config_error(error) from None


def _config_error(error: Exception) -> ConfigError:
    """``error`` as a ``ConfigError`` of the option its message leads with, else of ``data``."""
    if isinstance(error, ConfigError):
        return error
    message = " ".join(str(error).split())
    argument, sep, rest = message.partition(": ")
    if sep and argument in attrs.fields_dict(TrainConfig):
        return ConfigError(argument, rest)
    return ConfigError("data", message)


def fitted_batch(config: TrainConfig, num_train: int) -> TrainConfig:
    """``config`` with a ``batch_size`` of at most ``num_train`` when it trains on its own ``data``
    (as scikit-learn cuts its batches to the samples), else ``config`` itself."""
    if config.data is None or config.batch_size <= num_train:
        return config
    return attrs.evolve(config, batch_size=num_train)


def _absolute_paths(config: TrainConfig) -> TrainConfig:
    """``config`` with its ``data``, ``validation`` and ``test`` paths made absolute, so that a run
    resumed or evaluated from another directory finds them."""
    paths = {name: os.path.abspath(getattr(config, name)) for name in ("data", "validation", "test")
             if getattr(config, name) is not None}
    return attrs.evolve(config, **paths) if paths else config


def _directory(directory: Any) -> Path:
    if not isinstance(directory, (str, os.PathLike)) or not os.fspath(directory):
        raise RunError("directory", f"expected a directory path, got {directory!r}")
    return Path(directory)


def _new_run(recipe: str, config: TrainConfig, directory: Path, held: contextlib.ExitStack) -> tuple:
    _check_new_directory(directory)
    created = _make_directory(directory)  # first: a directory that cannot be made fails before any work
    locked = False
    try:
        dataset, splits = load_splits(config)
        train_x = splits["train"].x
        config = fitted_batch(config, train_x.shape[0])
        augment = row_augment(config, train_x.shape[1], dataset.pixel_mean, dataset.pixel_std)
        built = build(config, num_features=train_x.shape[1], num_classes=dataset.num_classes,
                      num_train=train_x.shape[0], num_outputs=getattr(dataset, "num_outputs", None))
        rng = as_rng(config.seed)
        params, bn_state = init_params(built.spec, rng, weight_init=config.init, dtype=config.dtype)
        start = initial_state(params, bn_state, built.optimizer, train_x.shape[0], rng)
        held.enter_context(RunLock.acquire(directory))
        locked = True
        _check_new_directory(directory)  # again, under the lock
        run = Run(directory, recipe, config, built, start, (), augment)
        save_run_checkpoint(run, start, ())
    except BaseException:
        if created is not None:
            _remove_unused(created, directory, locked)
        raise
    return run, splits, dataset


def _remove_unused(created: Path, directory: Path, locked: bool) -> None:
    """Remove the folders a run stopped before its first checkpoint created, unless another writer
    holds or has filled ``directory`` meanwhile."""
    try:
        with contextlib.ExitStack() as stack:
            if not locked:
                stack.enter_context(RunLock.acquire(directory))
            if not (directory / CHECKPOINT).exists():
                shutil.rmtree(created, ignore_errors=True)
    except (RunLocked, OSError):
        pass


def _check_new_directory(directory: Path) -> None:
    for path in (directory, *directory.parents):
        if path.exists():
            if not path.is_dir():
                raise RunError("directory", f"expected a directory, got {directory}"
                               + ("" if path == directory else f", inside the file {path}"))
            if not os.access(path, os.W_OK | os.X_OK):
                raise RunError("directory", f"cannot create or write {directory}: {path} is not writable")
            break
    if (directory / CHECKPOINT).exists():
        raise RunError("directory", f"{directory} already holds a run; resume it or choose another directory")


def _make_directory(directory: Path) -> Optional[Path]:
    """Create ``directory`` and any missing parents; returns the topmost folder created (``None``: it
    existed). An error names the directory."""
    missing = [path for path in (directory, *directory.parents) if not path.exists()]
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunError("directory", f"cannot create {directory}: {error.strerror}") from None
    return missing[-1] if missing else None


def _resumed_run(directory: Path, epochs: Optional[int], held: contextlib.ExitStack) -> tuple:
    config = _resumable(directory, epochs)[5]
    dataset, splits = load_splits(config)
    augment = row_augment(config, splits["train"].x.shape[1], dataset.pixel_mean, dataset.pixel_std)
    held.enter_context(RunLock.acquire(directory))  # after every check: bad input leaves no lock file
    spec, optimizer, start, meta, recipe, config = _resumable(directory, epochs)  # as the last writer left it
    history = read_history(meta)
    write_metrics(directory / METRICS, history, spec.loss.metric_name)  # a writer killed between the two files
    built = Built(spec, optimizer, early_stopping(config))
    return Run(directory, recipe, config, built, start, history, augment), splits, dataset


def _resumable(directory: Path, epochs: Optional[int]) -> tuple:
    """``(spec, optimizer, start, meta, recipe, config)`` of the run in ``directory``, checked for
    resuming to ``epochs``."""
    path = directory / CHECKPOINT
    if not path.is_file():
        raise RunError("directory", f"expected a run directory holding {CHECKPOINT}, got {directory}"
                       + ("" if directory.is_dir() else ", which does not exist"))
    spec, optimizer, start, meta = load_train_state(path)
    options = meta.get("config")
    if not isinstance(options, dict) or not {"hidden", "epochs", "batch_size", "seed"} <= set(options):
        raise RunError("directory", f"expected a run written by fnmlp train, got {path}, a checkpoint without "
                                    "the options of its run")
    options = dict(options)
    recipe = options.pop("recipe", "handout")
    try:
        config = TrainConfig.from_dict(options)
    except ConfigError as error:
        raise RunError("directory", f"{path} holds options this fnmlp cannot use ({error})") from None
    if epochs is not None:
        config = attrs.evolve(config, epochs=epochs)
    if config.epochs < start.epoch:
        raise RunError("epochs", f"expected at least {start.epoch}, the epochs the run has done, got {config.epochs}")
    return spec, optimizer, start, meta, recipe, config


def _train_and_write(run: Run, splits: dict, dataset: Any, progress: Any, wall_start: float) -> RunOutcome:
    progress = progress or _Quiet()
    if hasattr(progress, "start"):
        progress.start(run.config.epochs, metric=run.built.spec.loss.metric_name)
    latest, history, status, message = _train(run, splits, progress)
    with _interrupt_deferred() as interrupted:  # every output is written, then a Ctrl-C is reported
        summary = write_run_outputs(run.directory, run.options, run.built.spec, dataset, splits, latest, history,
                                    status, message, time.perf_counter() - wall_start)
    return RunOutcome(run.directory, status, message, latest, tuple(history), summary, bool(interrupted))


def _train(run: Run, splits: dict, progress: Any) -> tuple:
    """Train ``run``, checkpointing every epoch; returns ``(latest, history, status, message)``."""
    latest, history = run.start, list(run.history)

    def on_epoch(stats: EpochStats, state: TrainState) -> None:
        nonlocal latest
        with _interrupt_deferred(reraise=True):  # the files and what the run reports move together
            save_run_checkpoint(run, state, [*history, stats])
            history.append(stats)
            latest = state
        progress.epoch(stats)

    try:
        fit_from(run.built.spec, run.built.optimizer, run.start, splits["train"], splits["validation"],
                 epochs=run.config.epochs, batch_size=run.config.batch_size,
                 early_stopping=run.built.early_stopping, on_batch=progress.batch, on_epoch=on_epoch,
                 augment=run.augment)
    except KeyboardInterrupt:
        progress.clear()
        return latest, history, "interrupted", (f"interrupted in epoch {latest.epoch + 1}; kept the "
                                                f"{latest.epoch} finished epochs")
    except TrainingDiverged as diverged:
        progress.clear()
        return latest, history, "diverged", (
            f"training diverged: the loss became {diverged.loss:.4g} at epoch {diverged.epoch}, batch "
            f"{diverged.batch}; kept the checkpoint of epoch {latest.epoch}")
    return latest, history, "completed", ""


@contextlib.contextmanager
def _interrupt_deferred(reraise: bool = False) -> Iterator[list]:
    """Hold a Ctrl-C (SIGINT) that arrives inside the block until the block is done; then raise it
    (``reraise``) or leave it in the yielded list. Only in the main thread, the one Python delivers
    signals to; elsewhere the block runs as it is."""
    caught: list = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return
    previous = signal.signal(signal.SIGINT, lambda number, frame: caught.append(number))
    try:
        yield caught
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught and reraise:
        raise KeyboardInterrupt


def save_run_checkpoint(run: Run, state: TrainState, history: Sequence[EpochStats]) -> None:
    """``checkpoint.npz``, ``state`` with the run's configuration and the history up to it, and
    ``metrics.csv`` with that history."""
    save_train_state(run.directory / CHECKPOINT, run.built.spec, run.built.optimizer, state,
                     {"config": run.options, "history": [attrs.asdict(stats) for stats in history]})
    write_metrics(run.directory / METRICS, history, run.built.spec.loss.metric_name)


def recipe_config(recipe: str, options: dict) -> TrainConfig:
    """``RECIPES[recipe]`` with ``options`` (field name -> value) in place of its own, checked."""
    if recipe not in RECIPES:
        raise ConfigError("recipe", f"expected one of {', '.join(sorted(RECIPES))}, got {recipe!r}")
    return configure(RECIPES[recipe], options)


def configure(base: TrainConfig, options: dict) -> TrainConfig:
    """``base`` with ``options`` (field name -> value) in place of its own, checked: a bad value or an
    unknown option is a ``ConfigError`` naming it."""
    unknown = sorted(set(options) - set(attrs.fields_dict(TrainConfig)))
    if unknown:
        raise ConfigError(unknown[0], f"unknown option; expected one of {', '.join(attrs.fields_dict(TrainConfig))}")
    config = attrs.evolve(base, **options)
    check_dataset(config)
    return config
