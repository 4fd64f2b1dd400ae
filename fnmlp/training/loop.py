"""Training: epochs of shuffled mini-batches with per-epoch statistics, and evaluation.

``run_epochs`` is the one loop. ``fit`` drives it with the pure functions, and
``fnmlp.hw1.get_training_stats`` drives it with the handout's stateful ``MLP``, so both shuffle,
batch, count and report identically.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import copy
import hashlib
import math
import time
from typing import Any, Callable, Optional

import attrs
import numpy as np

from ..utils import checks as _checks
from ..utils import threads
from ..utils.namespace import common_namespace, is_foreign
from ..model import inference
from ..model.initializers import as_rng
from ..optimizers import Optimizer
from .batches import augmented_batches
from .flat_step import FlatStep
from ..model.params import BatchNormState, Params, check_params, check_state
from ..model.spec import MLPSpec
from ..model.tree import readonly
from .early_stopping import EarlyStopping, EarlyStoppingState, patience_ran_out, watch
from . import namespace_step


@attrs.frozen
class EpochStats:
    """One epoch: mean training loss and metric over its batches as they were trained, then
    validation loss and metric in eval mode (NaN without validation data), its wall time, and the
    learning rate of its last step (NaN for an optimizer without one).

    The metric is the loss's (``spec.loss.metric_name``): the error rate for softmax cross-entropy
    (lower is better), R^2 for mean squared error (higher is better). ``train_error`` and
    ``val_error`` are the names it had before, kept as aliases of ``train_metric`` and ``val_metric``.
    """

    epoch: int
    train_loss: float
    train_metric: float
    val_loss: float
    val_metric: float
    seconds: float
    lr: float = math.nan

    @property
    def train_error(self) -> float:
        """``train_metric``, under its former name."""
        return self.train_metric

    @property
    def val_error(self) -> float:
        """``val_metric``, under its former name."""
        return self.val_metric

    @classmethod
    def from_dict(cls, row: dict) -> "EpochStats":
        """From ``attrs.asdict`` of one, also as written before the metric was named
        (``train_error``/``val_error``)."""
        row = dict(row)
        for old, new in (("train_error", "train_metric"), ("val_error", "val_metric")):
            if old in row:
                row[new] = row.pop(old)
        return cls(**row)


@attrs.frozen(eq=False)
class TrainState:
    """Everything training needs to carry on exactly where it stopped, after ``epoch`` epochs.

    ``order`` is the permutation of training rows, shuffled in place by ``rng`` at the start of each
    epoch (as the handout does with ``np.random.shuffle``); ``rng`` is never used directly, only copied.
    ``opt_state`` is the optimizer's state (``optimizer.init(params)`` at first). ``dropout_rng`` is a
    second NumPy ``Generator``, for the model's own randomness, derived from ``rng`` without drawing
    from it (``None``: derived when training starts). ``early_stopping`` is an
    ``EarlyStoppingState`` once training with early stopping has begun, else ``None``.
    ``augment_rng`` is the generator of ``fit``'s ``augment``, derived from ``rng`` when training with
    augmentation starts (``None`` until then).
    """

    params: Params
    bn_state: BatchNormState
    opt_state: Any
    epoch: int
    order: np.ndarray = attrs.field(converter=readonly)
    rng: Any
    dropout_rng: Any = None
    early_stopping: Optional[EarlyStoppingState] = None
    augment_rng: Any = None


@attrs.frozen(eq=False)
class FitResult:
    """What ``fit`` returns: the final ``TrainState`` (to continue from), one ``EpochStats`` per
    epoch, and the test loss and metric of the returned parameters (``None`` without test data);
    ``test_error`` is ``test_metric`` under its former name.

    ``params`` and ``bn_state`` are the final ones or, with early stopping, the best epoch's:
    ``best_epoch`` (``None`` without early stopping); ``stopped_early`` says whether patience ran out,
    ``stop_requested`` whether ``on_epoch`` asked training to stop.
    """

    final: TrainState
    history: tuple
    test_loss: Optional[float] = None
    test_metric: Optional[float] = None
    stopped_early: bool = False
    stop_requested: bool = False

    @property
    def test_error(self) -> Optional[float]:
        """``test_metric``, under its former name."""
        return self.test_metric

    @property
    def best_epoch(self) -> Optional[int]:
        return self.final.early_stopping.best_epoch if self.final.early_stopping is not None else None

    @property
    def params(self) -> Params:
        best = self.final.early_stopping
        return best.params if best is not None and best.best_epoch else self.final.params

    @property
    def bn_state(self) -> BatchNormState:
        best = self.final.early_stopping
        return best.bn_state if best is not None and best.best_epoch else self.final.bn_state


DIVERGENCE_FACTOR = 1e6
# fit augments the next batches in a worker thread while the current ones train: True, False, or None
# for where a core is spare beyond fnmlp's threads (the BLAS's). On 2 cores with 2 BLAS threads a
# worker made the gemm epoch slower than augmenting in turn (1.28x against 1.19-1.22x the plain epoch);
# with 1 BLAS thread it hid augmentation (1.02x against 1.18x).
PREFETCH = None


def prefetching() -> bool:
    """Whether ``fit`` augments the next batches in a worker thread (``PREFETCH``, or when None, whether
    this process has more cores than ``fnmlp.utils.threads.num_threads()``)."""
    return PREFETCH if PREFETCH is not None else threads.available_cores() > threads.num_threads()


class TrainingDiverged(FloatingPointError):
    """The training loss became NaN or infinite, or grew past ``DIVERGENCE_FACTOR`` times the loss of
    the first batch trained (taken as at least 1), at ``epoch`` (1-based), ``batch`` (0-based); ``loss``
    is that batch's mean loss.

    ``history`` holds the completed epochs; ``last_good`` is the training state after the last of
    them (for the stateful adapter, whose parameters are updated in place, it is ``None``).
    """

    def __init__(self, epoch: int, batch: int, loss: float, history: tuple, last_good: Any = None):
        why = f" (over {DIVERGENCE_FACTOR:g} times the first batch's)" if math.isfinite(loss) else ""
        super().__init__(f"training diverged: the loss became {loss:.4g}{why} at epoch {epoch}, batch {batch}; "
                         f"the last good state is from epoch {epoch - 1}")
        self.epoch, self.batch, self.loss = epoch, batch, loss
        self.history, self.last_good = history, last_good


def run_epochs(step: Callable, evaluate: Callable, carry: Any, x: np.ndarray, labels: np.ndarray, *,
               order: np.ndarray, shuffle: Callable[[np.ndarray], None], first_epoch: int, last_epoch: int,
               batch_size: int, gather: Callable = None, on_batch: Callable = None,
               on_epoch: Callable = None, learning_rate: Callable = None, metric: Callable = None,
               batches: Callable = None) -> tuple:
    """Train epochs ``first_epoch..last_epoch`` (1-based); returns ``(carry, history)``.

    Each epoch calls ``shuffle(order)``, then ``step(carry, xb, yb) -> (carry, loss_sum, totals)`` on
    consecutive batches of ``batch_size`` rows taken in ``order`` (the last may be smaller), then
    ``evaluate(carry) -> (val_loss, val_metric)``. ``totals`` are a batch's additive metric totals (a
    count of wrong rows, or a ``Loss.metric_totals`` array); the epoch's figure is ``metric(sum of
    totals)`` (default: ``sum / rows``, the error rate of wrong counts). ``gather(array, rows)``
    takes the batch rows (default ``array[rows]``); ``batches(x, order, batch_size)``, if given, is
    an iterator over one epoch's batches of ``x`` that takes the place of ``gather`` for ``x``. ``on_batch(epoch, batch, num_batches, loss, error)``
    sees the running figures; ``on_epoch(stats, carry, order)`` sees each finished epoch, and no epoch
    follows if it returns ``True``. ``learning_rate(carry)`` gives ``EpochStats.lr`` (default NaN).
    ``TrainingDiverged`` is raised at once by a batch whose mean loss is NaN or infinite, or above
    ``DIVERGENCE_FACTOR * max(1, the first batch's mean loss)`` (the first batch of this call, whose
    loss is that of the parameters training starts from): a finite loss a million times the start's
    means training has blown up (``lr=1e300`` gives ~1e301) though it has not yet overflowed.
    Overflow warnings on the way there are silenced. The arguments are checked before the first
    ``shuffle``.
    """
    n = x.shape[0]
    if labels.shape[0] != n:
        _checks.fail(ValueError, "labels", f"{n} rows, as many as x", labels.shape[0])
    _checks.permutation("order", order, n)
    first_epoch = _checks.integer("first_epoch", first_epoch, minimum=1)
    last_epoch = _checks.integer("last_epoch", last_epoch)
    batch_size = _checks.integer("batch_size", batch_size, minimum=1, maximum=n)
    gather = gather or (lambda array, rows: array[rows])
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is caught below, by the loss
        return _epochs(step, evaluate, carry, x, labels, order, shuffle, first_epoch, last_epoch,
                       batch_size, gather, on_batch, on_epoch, learning_rate, metric, batches)


def _epochs(step, evaluate, carry, x, labels, order, shuffle, first_epoch, last_epoch, batch_size, gather,
            on_batch, on_epoch, learning_rate, metric, batches):
    n = x.shape[0]
    num_batches = -(-n // batch_size)
    history = []
    limit = None  # DIVERGENCE_FACTOR times the first batch's mean loss, at least 1
    for epoch in range(first_epoch, last_epoch + 1):
        started = time.perf_counter()
        shuffle(order)
        loss_sum, totals = 0.0, 0
        xs = batches(x, order, batch_size) if batches is not None else None
        with contextlib.closing(xs) if hasattr(xs, "close") else contextlib.nullcontext():
            for batch, begin in enumerate(range(0, n, batch_size)):
                rows = order[begin:begin + batch_size]
                xb = gather(x, rows) if xs is None else next(xs)
                carry, batch_loss, batch_totals = step(carry, xb, gather(labels, rows))
                if not math.isfinite(batch_loss):
                    raise TrainingDiverged(epoch, batch, float(batch_loss), tuple(history))
                mean_loss = float(batch_loss) / rows.shape[0]
                if limit is None:
                    limit = DIVERGENCE_FACTOR * max(1.0, mean_loss)
                elif mean_loss > limit:
                    raise TrainingDiverged(epoch, batch, mean_loss, tuple(history))
                loss_sum += batch_loss
                totals = totals + batch_totals
                if on_batch is not None:
                    seen = min(begin + batch_size, n)
                    on_batch(epoch, batch, num_batches, loss_sum / seen, totals / seen if metric is None else metric(totals))
        val_loss, val_metric = evaluate(carry)
        lr = math.nan if learning_rate is None else float(learning_rate(carry))
        stats = EpochStats(epoch, loss_sum / n, float(totals / n if metric is None else metric(totals)),
                           float(val_loss), float(val_metric), time.perf_counter() - started, lr)
        history.append(stats)
        if on_epoch is not None and on_epoch(stats, carry, order) is True:
            break
    return carry, tuple(history)


def evaluate(spec: MLPSpec, params: Params, bn_state: BatchNormState, x: Any, targets: Any) -> tuple:
    """Eval mode on ``x``: ``(mean loss, metric)``, the spec's loss (without the L2 penalty) and its
    metric: the classification error (a fraction) for softmax cross-entropy, R^2 for MSE."""
    _checks.instance("spec", spec, MLPSpec)
    check_params(spec, params, finite=True)
    check_state(spec, bn_state, "bn_state", finite=True)
    common_namespace([("x", x), ("targets", targets), *namespace_step.named_arrays("params", params),
                      *namespace_step.named_arrays("bn_state", bn_state)])
    x, targets = _check_xy("x", "targets", spec, x, targets)
    return inference.evaluate(spec, params, bn_state, x, targets)


def initial_state(params: Params, bn_state: BatchNormState, optimizer: Optimizer, num_train: int,
                  rng: Any = None) -> TrainState:
    """The ``TrainState`` before the first epoch: ``optimizer.init(params)``, rows in order
    ``0..num_train-1``, a copy of ``rng`` (the caller's generator stays the caller's) and a
    ``dropout_rng`` derived from it without drawing from it."""
    _checks.instance("optimizer", optimizer, Optimizer)
    num_train = _checks.integer("num_train", num_train, minimum=1)
    rng = copy.deepcopy(as_rng(rng))
    return TrainState(params, bn_state, optimizer.init(params), 0, np.arange(num_train), rng, derived_rng(rng))


def derived_rng(rng: Any, label: str = "dropout_rng") -> np.random.Generator:
    """A new ``Generator`` seeded from a hash of ``label`` and ``rng``'s state: the same state and
    label give the same generator, another label another one, and ``rng`` draws nothing."""
    state = rng.get_state(legacy=False) if isinstance(rng, np.random.RandomState) else rng.bit_generator.state
    digest = hashlib.sha256(f"fnmlp.{label}".encode())

    def feed(value: Any) -> None:
        if isinstance(value, dict):
            for key in sorted(value):
                digest.update(str(key).encode())
                feed(value[key])
        elif isinstance(value, np.ndarray):
            digest.update(value.tobytes())
        else:
            digest.update(repr(value).encode())

    feed(state)
    return np.random.default_rng(np.frombuffer(digest.digest(), np.uint32))


def fit(spec: MLPSpec, params: Params, bn_state: BatchNormState, optimizer: Optimizer, train: Any,
        validation: Any = None, test: Any = None, *, epochs: int, batch_size: int, rng: Any = None,
        early_stopping: Optional[EarlyStopping] = None, on_batch: Callable = None,
        on_epoch: Callable = None, augment: Callable = None) -> FitResult:
    """Train from ``params`` for ``epochs`` epochs of mini-batches and ``optimizer`` (any
    ``fnmlp.optimizers.Optimizer``; a schedule steps once per batch); returns a ``FitResult``.

    ``train``, ``validation`` and ``test`` are ``(x, labels)`` pairs (or records with ``x`` and ``y``):
    ``x`` ``(n, n[0])`` float32 or float64 (boolean, integer and float16 ``x`` are refused); labels
    integer ``(n,)`` or one-hot. Training runs in the training ``x``'s dtype: the parameters,
    BatchNorm statistics and optimizer state are cast to it (float32 params with float64 ``x`` train
    and come back in float64), and validation and test ``x`` are cast to it. ``rng`` (a seed or a
    NumPy generator) shuffles the rows each epoch; seeding it as the handout seeds ``np.random``
    reproduces ``fnmlp.hw1.get_training_stats``. ``early_stopping`` (an
    ``EarlyStopping``, which needs ``validation``) may end training sooner and returns the best
    epoch's parameters. ``on_batch`` and ``on_epoch(stats, train_state)`` observe progress
    (``on_epoch`` is where to checkpoint); when ``on_epoch`` returns ``True``, no epoch follows and
    the result says ``stop_requested``. ``augment(x_batch, rng) -> x_batch`` (e.g. a
    ``fnmlp.training.augment.RowAugment``) transforms each training batch's ``(m, n[0])`` rows into new
    ones of the same shape and dtype, drawing from ``TrainState.augment_rng`` only.
    """
    _checks.instance("spec", spec, MLPSpec)
    check_params(spec, params, finite=True)
    check_state(spec, bn_state, "bn_state", finite=True)
    train = _check_data("train", spec, train)
    xp, _ = namespace_step.fit_namespace("", train, validation, test, params, bn_state, augment=augment)
    start = initial_state(params, bn_state, optimizer, train[0].shape[0], rng)
    return _fit_from(spec, optimizer, start, train, validation, test, epochs=epochs, batch_size=batch_size,
                     early_stopping=early_stopping, on_batch=on_batch, on_epoch=on_epoch, augment=augment, xp=xp)


def fit_from(spec: MLPSpec, optimizer: Optimizer, start: TrainState, train: Any, validation: Any = None,
             test: Any = None, *, epochs: int, batch_size: int, early_stopping: Optional[EarlyStopping] = None,
             on_batch: Callable = None, on_epoch: Callable = None, augment: Callable = None) -> FitResult:
    """Continue training from ``start`` (e.g. a loaded checkpoint) until ``epochs`` epochs in total.

    Training ``k`` epochs and continuing to ``epochs`` gives bit for bit what training ``epochs``
    epochs at once gives (pass the same ``optimizer``, ``early_stopping`` and ``augment``). ``start`` is left as
    it was. Every argument is checked before the first batch: shapes against ``spec``, finite data
    and parameters, ``start.opt_state`` a state of ``optimizer`` for these parameters, ``start.order``
    a permutation of the training rows, ``epochs`` at least ``start.epoch``.
    """
    _checks.instance("spec", spec, MLPSpec)
    return _fit_from(spec, optimizer, start, _check_data("train", spec, train), validation, test, epochs=epochs,
                     batch_size=batch_size, early_stopping=early_stopping, on_batch=on_batch, on_epoch=on_epoch,
                     augment=augment)


def _fit_from(spec: MLPSpec, optimizer: Optimizer, start: TrainState, train: tuple, validation: Any, test: Any, *,
              epochs: int, batch_size: int, early_stopping: Optional[EarlyStopping], on_batch: Callable,
              on_epoch: Callable, augment: Callable, xp: Any = None) -> FitResult:
    """``fit_from`` with ``train`` as ``_check_data`` returns it (so ``fit`` checks it only once), and
    ``xp`` the namespace of every array (``None``: found here, ``start`` checked with the data)."""
    _checks.instance("optimizer", optimizer, Optimizer)
    _checks.instance("start", start, TrainState)
    x, y = train
    if xp is None:
        xp, _ = namespace_step.fit_namespace("start.", train, validation, test, start.params, start.bn_state,
                                             start.opt_state, augment)
    val = _check_data("validation", spec, validation, x.dtype) if validation is not None else None
    tst = _check_data("test", spec, test, x.dtype) if test is not None else None
    epochs = _checks.integer("epochs", epochs, minimum=0)
    batch_size = _checks.integer("batch_size", batch_size, minimum=1, maximum=x.shape[0])
    if early_stopping is not None:
        _checks.instance("early_stopping", early_stopping, EarlyStopping)
        if val is None:
            _checks.fail(ValueError, "validation", f"data for early stopping to monitor {early_stopping.monitor}",
                         None)
    on_batch = _checks.optional_callable("on_batch", on_batch)
    on_epoch = _checks.optional_callable("on_epoch", on_epoch)
    augment = _checks.optional_callable("augment", augment)
    _check_start(spec, optimizer, start, x.shape[0])
    if epochs < start.epoch:
        _checks.fail(ValueError, "epochs", f"a total of at least {start.epoch}, the epochs start has done", epochs)

    # fit's own copies of the parameters and the optimizer state: flat NumPy buffers updated in place, or
    # another library's records made anew each batch; what leaves fit is a copy.
    records = (FlatStep(spec, optimizer, start, x, y, batch_size) if xp is np
               else namespace_step.RecordStep(spec, optimizer, start, x))
    order = start.order.copy()
    rng = copy.deepcopy(start.rng)
    dropout_rng = copy.deepcopy(start.dropout_rng) if start.dropout_rng is not None else derived_rng(rng)
    augment_rng = copy.deepcopy(start.augment_rng) if start.augment_rng is not None else (
        derived_rng(rng, "augment_rng") if augment is not None else None)
    stopping = start.early_stopping if early_stopping is not None else None
    if early_stopping is not None and stopping is None:
        stopping = EarlyStoppingState(math.inf, 0, 0, start.params, start.bn_state)

    step = records.step(dropout_rng)

    def validate(carry: tuple) -> tuple:
        return inference.evaluate(spec, records.params, carry[0], *val) if val is not None else (np.nan, np.nan)

    latest, stop_requested = start, False

    def epoch_done(stats: EpochStats, carry: tuple, order: np.ndarray) -> bool:
        nonlocal latest, stopping, stop_requested
        bn_state, opt_state = carry
        new_params, opt_copy = records.snapshot(opt_state)
        if early_stopping is not None:
            stopping = watch(early_stopping, stopping, stats, new_params, bn_state, spec.loss.greater_is_better)
        latest = TrainState(new_params, bn_state, opt_copy, stats.epoch,
                            order.copy(), copy.deepcopy(rng), copy.deepcopy(dropout_rng), stopping,
                            copy.deepcopy(augment_rng))
        stop_requested = on_epoch is not None and on_epoch(stats, latest) is True
        return stop_requested or patience_ran_out(early_stopping, stopping)

    last_epoch = start.epoch if patience_ran_out(early_stopping, stopping) else epochs
    with contextlib.ExitStack() as stack:
        prefetch = augment is not None and prefetching()
        worker = stack.enter_context(concurrent.futures.ThreadPoolExecutor(1)) if prefetch else None
        try:
            _, history = run_epochs(
                step, validate, (records.bn_state, records.opt_state), x, y, order=order, shuffle=rng.shuffle,
                first_epoch=start.epoch + 1, last_epoch=last_epoch, batch_size=batch_size,
                gather=records.gather, on_batch=on_batch, on_epoch=epoch_done,
                learning_rate=lambda carry: optimizer.learning_rate(carry[1]), metric=spec.loss.metric,
                batches=augmented_batches(augment, augment_rng, worker) if augment is not None else None)
        except TrainingDiverged as diverged:
            raise TrainingDiverged(diverged.epoch, diverged.batch, diverged.loss, diverged.history, latest) from None
    result = FitResult(latest, history, stopped_early=patience_ran_out(early_stopping, latest.early_stopping),
                       stop_requested=stop_requested)
    if tst is not None:
        test_loss, test_metric = inference.evaluate(spec, result.params, result.bn_state, *tst)
        result = attrs.evolve(result, test_loss=test_loss, test_metric=test_metric)
    return result




def _check_data(name: str, spec: MLPSpec, data: Any, dtype: Any = None) -> tuple:
    """``(x, targets)`` from a pair or a record with ``x`` and ``y``, checked against ``spec``."""
    if attrs.has(type(data)) and hasattr(data, "x") and hasattr(data, "y"):
        x, labels = data.x, data.y
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, labels = data
    else:
        _checks.fail(TypeError, name, "an (x, labels) pair", _checks.describe(data))
    return _check_xy(f"{name} x", f"{name} labels", spec, _float_x(f"{name} x", x), labels, dtype)


def _float_x(name: str, x: Any) -> Any:
    """``x``, as an array where it can be one, unless it holds booleans, integers or float16, which
    training refuses: it runs in x's dtype, and would otherwise promote them (and the parameters it
    returns) to float64."""
    if is_foreign(x):
        return namespace_step.check_float_x(name, x)
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except (ValueError, TypeError):
            return x  # float_array says what is wrong with it
    if x.dtype.kind in "biuf" and x.dtype not in _checks.FLOAT_DTYPES:
        hint = ("scale pixels first, as fnmlp's data loaders and fnmlp.datasets.inputs.standardize do"
                if x.dtype.kind in "biu" else "convert with x.astype(np.float32)")
        _checks.fail(TypeError, name, f"float32 or float64, the dtypes fit trains in ({hint})", f"dtype {x.dtype}")
    return x


def _check_xy(x_name: str, labels_name: str, spec: MLPSpec, x: Any, labels: Any, dtype: Any = None) -> tuple:
    """``(x, targets)``, ``x`` finite in ``dtype`` (default: its own float dtype) and the targets as the
    spec's loss takes them (class indices for cross-entropy, floats of ``x``'s dtype for MSE)."""
    if is_foreign(x):
        return namespace_step.check_xy(x_name, labels_name, spec, x, labels, dtype)
    x = _checks.float_array(x_name, x, ndim=2, width=spec.layer_sizes[0], finite=False)
    if dtype is not None:
        with np.errstate(over="ignore"):  # values past float32's range become inf, refused below
            x = x.astype(dtype, copy=False)
    _checks.all_finite(x_name, x)
    labels = spec.loss.targets(labels, spec.layer_sizes[-1], labels_name)
    if labels.dtype.kind == "f":
        labels = labels.astype(x.dtype, copy=False)
    if labels.shape[0] != x.shape[0]:
        _checks.fail(ValueError, labels_name, f"{x.shape[0]} rows, as many as {x_name}", labels.shape[0])
    return x, labels


def _check_start(spec: MLPSpec, optimizer: Optimizer, start: TrainState, num_train: int) -> None:
    """Raise unless ``fit_from`` can continue ``start`` on ``num_train`` training rows with ``optimizer``."""
    _checks.integer("start.epoch", start.epoch, minimum=0)
    check_params(spec, start.params, "start.params", finite=True)
    check_state(spec, start.bn_state, "start.bn_state", finite=True)
    optimizer.check_state("start.opt_state", start.opt_state, start.params, finite=True)
    _checks.permutation("start.order", start.order, num_train)
    for name in ("rng", "dropout_rng", "augment_rng"):
        value = getattr(start, name)
        if not isinstance(value, (np.random.Generator, np.random.RandomState)) and not (
                name != "rng" and value is None):
            _checks.fail(TypeError, f"start.{name}", "a NumPy Generator or RandomState", type(value).__name__)
    stopping = start.early_stopping
    if stopping is not None:
        _checks.instance("start.early_stopping", stopping, EarlyStoppingState)
        _checks.integer("start.early_stopping.best_epoch", stopping.best_epoch, minimum=0, maximum=start.epoch)
        _checks.integer("start.early_stopping.bad_epochs", stopping.bad_epochs, minimum=0)
        check_params(spec, stopping.params, "start.early_stopping.params", finite=True)
        check_state(spec, stopping.bn_state, "start.early_stopping.bn_state", finite=True)
