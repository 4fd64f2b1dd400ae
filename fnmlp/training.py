"""Training: epochs of shuffled mini-batches with per-epoch statistics, and evaluation.

``run_epochs`` is the one loop. ``fit`` drives it with the pure functions, and
``fnmlp.hw1.get_training_stats`` drives it with the handout's stateful ``MLP``, so both shuffle,
batch, count and report identically.
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any, Callable, Optional

import attrs
import numpy as np

from . import _checks, inference
from .flat import FlatLayout
from .initializers import as_rng
from .losses import class_indices
from .network import _loss_and_grads
from .optim import SGD, SGDState
from .params import BatchNormState, Params, astype, check_params, check_state
from .spec import MLPSpec
from .tree import readonly


@attrs.frozen
class EpochStats:
    """One epoch: mean training loss and error over its batches as they were trained, then
    validation loss and error in eval mode (NaN without validation data), and its wall time."""

    epoch: int
    train_loss: float
    train_error: float
    val_loss: float
    val_error: float
    seconds: float


@attrs.frozen(eq=False)
class TrainState:
    """Everything training needs to carry on exactly where it stopped, after ``epoch`` epochs.

    ``order`` is the permutation of training rows, shuffled in place by ``rng`` at the start of each
    epoch (as the handout does with ``np.random.shuffle``); ``rng`` is never used directly, only copied.
    """

    params: Params
    bn_state: BatchNormState
    opt_state: SGDState
    epoch: int
    order: np.ndarray = attrs.field(converter=readonly)
    rng: Any


@attrs.frozen(eq=False)
class FitResult:
    """What ``fit`` returns: the final ``TrainState``, one ``EpochStats`` per epoch, and the test
    loss and error after training (``None`` without test data)."""

    final: TrainState
    history: tuple
    test_loss: Optional[float] = None
    test_error: Optional[float] = None

    @property
    def params(self) -> Params:
        return self.final.params

    @property
    def bn_state(self) -> BatchNormState:
        return self.final.bn_state


class TrainingDiverged(FloatingPointError):
    """The training loss became NaN or infinite at ``epoch`` (1-based), ``batch`` (0-based).

    ``history`` holds the completed epochs; ``last_good`` is the training state after the last of
    them (for the stateful adapter, whose parameters are updated in place, it is ``None``).
    """

    def __init__(self, epoch: int, batch: int, loss: float, history: tuple, last_good: Any = None):
        super().__init__(f"training diverged: the loss became {loss} at epoch {epoch}, batch {batch}; "
                         f"the last good state is from epoch {epoch - 1}")
        self.epoch, self.batch, self.loss = epoch, batch, loss
        self.history, self.last_good = history, last_good


def run_epochs(step: Callable, evaluate: Callable, carry: Any, x: np.ndarray, labels: np.ndarray, *,
               order: np.ndarray, shuffle: Callable[[np.ndarray], None], first_epoch: int, last_epoch: int,
               batch_size: int, gather: Callable = None, on_batch: Callable = None,
               on_epoch: Callable = None) -> tuple:
    """Train epochs ``first_epoch..last_epoch`` (1-based); returns ``(carry, history)``.

    Each epoch calls ``shuffle(order)``, then ``step(carry, xb, yb) -> (carry, loss_sum, wrong)`` on
    consecutive batches of ``batch_size`` rows taken in ``order`` (the last may be smaller), then
    ``evaluate(carry) -> (val_loss, val_error)``. ``gather(array, rows)`` takes the batch rows
    (default ``array[rows]``). ``on_batch(epoch, batch, num_batches, loss, error)`` sees the running
    means; ``on_epoch(stats, carry, order)`` sees each finished epoch. A non-finite batch loss raises
    ``TrainingDiverged`` at once (overflow warnings on the way there are silenced). The arguments are
    checked before the first ``shuffle``.
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
                       batch_size, gather, on_batch, on_epoch)


def _epochs(step, evaluate, carry, x, labels, order, shuffle, first_epoch, last_epoch, batch_size, gather,
            on_batch, on_epoch):
    n = x.shape[0]
    num_batches = -(-n // batch_size)
    history = []
    for epoch in range(first_epoch, last_epoch + 1):
        started = time.perf_counter()
        shuffle(order)
        loss_sum, wrong = 0.0, 0
        for batch, begin in enumerate(range(0, n, batch_size)):
            rows = order[begin:begin + batch_size]
            carry, batch_loss, batch_wrong = step(carry, gather(x, rows), gather(labels, rows))
            if not math.isfinite(batch_loss):
                raise TrainingDiverged(epoch, batch, float(batch_loss), tuple(history))
            loss_sum += batch_loss
            wrong += batch_wrong
            if on_batch is not None:
                seen = min(begin + batch_size, n)
                on_batch(epoch, batch, num_batches, loss_sum / seen, wrong / seen)
        val_loss, val_error = evaluate(carry)
        stats = EpochStats(epoch, loss_sum / n, wrong / n, float(val_loss), float(val_error),
                           time.perf_counter() - started)
        history.append(stats)
        if on_epoch is not None:
            on_epoch(stats, carry, order)
    return carry, tuple(history)


def evaluate(spec: MLPSpec, params: Params, bn_state: BatchNormState, x: Any, labels: Any) -> tuple:
    """Eval-mode mean softmax cross-entropy and classification error (a fraction) on ``x``."""
    _checks.instance("spec", spec, MLPSpec)
    check_params(spec, params, finite=True)
    check_state(spec, bn_state, "bn_state", finite=True)
    x, labels = _check_xy("x", "labels", spec, x, labels)
    return _evaluate(spec, params, bn_state, x, labels)


def _evaluate(spec: MLPSpec, params: Params, bn_state: BatchNormState, x: np.ndarray,
              labels: np.ndarray) -> tuple:
    return inference.loss_and_error(inference.fold(spec, params, bn_state, x.dtype), x, labels)


def initial_state(params: Params, bn_state: BatchNormState, optimizer: SGD, num_train: int,
                  rng: Any = None) -> TrainState:
    """The ``TrainState`` before the first epoch: zero velocity, rows in order ``0..num_train-1``, and a
    copy of ``rng`` (the caller's generator stays the caller's)."""
    _checks.instance("optimizer", optimizer, SGD)
    num_train = _checks.integer("num_train", num_train, minimum=1)
    return TrainState(params, bn_state, optimizer.init(params), 0, np.arange(num_train), copy.deepcopy(as_rng(rng)))


def fit(spec: MLPSpec, params: Params, bn_state: BatchNormState, optimizer: SGD, train: Any,
        validation: Any = None, test: Any = None, *, epochs: int, batch_size: int, rng: Any = None,
        on_batch: Callable = None, on_epoch: Callable = None) -> FitResult:
    """Train from ``params`` for ``epochs`` epochs of mini-batch SGD; returns a ``FitResult``.

    ``train``, ``validation`` and ``test`` are ``(x, labels)`` pairs (or records with ``x`` and ``y``):
    ``x`` ``(n, n[0])`` float32 or float64, the dtype training runs in; labels integer ``(n,)`` or
    one-hot. ``rng`` (a seed or a NumPy generator) shuffles the rows each epoch; seeding it as the
    handout seeds ``np.random`` reproduces ``fnmlp.hw1.get_training_stats``. ``on_batch`` and
    ``on_epoch(stats, train_state)`` observe progress (``on_epoch`` is where to checkpoint).
    """
    _checks.instance("spec", spec, MLPSpec)
    check_params(spec, params, finite=True)
    check_state(spec, bn_state, "bn_state", finite=True)
    train = _check_data("train", spec, train)
    start = initial_state(params, bn_state, optimizer, train[0].shape[0], rng)
    return _fit_from(spec, optimizer, start, train, validation, test, epochs=epochs, batch_size=batch_size,
                     on_batch=on_batch, on_epoch=on_epoch)


def fit_from(spec: MLPSpec, optimizer: SGD, start: TrainState, train: Any, validation: Any = None,
             test: Any = None, *, epochs: int, batch_size: int, on_batch: Callable = None,
             on_epoch: Callable = None) -> FitResult:
    """Continue training from ``start`` (e.g. a loaded checkpoint) until ``epochs`` epochs in total.

    Training ``k`` epochs and continuing to ``epochs`` gives bit for bit what training ``epochs``
    epochs at once gives. ``start`` is left as it was. Every argument is checked before the first
    batch: shapes against ``spec``, finite data and parameters, ``start.order`` a permutation of the
    training rows, ``epochs`` at least ``start.epoch``.
    """
    _checks.instance("spec", spec, MLPSpec)
    return _fit_from(spec, optimizer, start, _check_data("train", spec, train), validation, test, epochs=epochs,
                     batch_size=batch_size, on_batch=on_batch, on_epoch=on_epoch)


def _fit_from(spec: MLPSpec, optimizer: SGD, start: TrainState, train: tuple, validation: Any, test: Any, *,
              epochs: int, batch_size: int, on_batch: Callable, on_epoch: Callable) -> FitResult:
    """``fit_from`` with ``train`` as ``_check_data`` returns it (so ``fit`` checks it only once)."""
    _checks.instance("optimizer", optimizer, SGD)
    _checks.instance("start", start, TrainState)
    x, y = train
    val = _check_data("validation", spec, validation, x.dtype) if validation is not None else None
    tst = _check_data("test", spec, test, x.dtype) if test is not None else None
    epochs = _checks.integer("epochs", epochs, minimum=0)
    batch_size = _checks.integer("batch_size", batch_size, minimum=1, maximum=x.shape[0])
    on_batch = _checks.optional_callable("on_batch", on_batch)
    on_epoch = _checks.optional_callable("on_epoch", on_epoch)
    _check_start(spec, start, x.shape[0])
    if epochs < start.epoch:
        _checks.fail(ValueError, "epochs", f"a total of at least {start.epoch}, the epochs start has done", epochs)

    # fit's own copies of the parameters and velocity, updated in place batch after batch (about 2x
    # faster than new arrays every step on large layers); what leaves fit is a copy.
    layout = FlatLayout.of(start.params, x.dtype)
    weights, velocity = layout.flatten(start.params), layout.flatten(start.opt_state.velocity)
    params = layout.unflatten(weights)
    grads = np.empty_like(weights)
    grads_out = layout.split(grads)
    bn_state = astype(start.bn_state, x.dtype)
    order = start.order.copy()
    rng = copy.deepcopy(start.rng)

    def step(bn_state: BatchNormState, xb: np.ndarray, yb: np.ndarray) -> tuple:
        mean_loss, logits, _, bn_state = _loss_and_grads(spec, params, bn_state, xb, yb, out=grads_out,
                                                         scale=optimizer.lr)
        optimizer._update_in_place(grads, velocity, weights)  # grads holds lr * the gradients
        return bn_state, mean_loss * xb.shape[0], int((logits.argmax(axis=1) != yb).sum())

    def validate(bn_state: BatchNormState) -> tuple:
        return _evaluate(spec, params, bn_state, *val) if val is not None else (np.nan, np.nan)

    latest = start

    def epoch_done(stats: EpochStats, bn_state: BatchNormState, order: np.ndarray) -> None:
        nonlocal latest
        latest = TrainState(layout.unflatten(weights.copy()), bn_state,
                            SGDState(layout.unflatten(velocity.copy())), stats.epoch, order.copy(),
                            copy.deepcopy(rng))
        if on_epoch is not None:
            on_epoch(stats, latest)

    try:
        _, history = run_epochs(step, validate, bn_state, x, y, order=order, shuffle=rng.shuffle,
                                first_epoch=start.epoch + 1, last_epoch=epochs, batch_size=batch_size,
                                gather=_gather_into_buffers(batch_size, x, y), on_batch=on_batch,
                                on_epoch=epoch_done)
    except TrainingDiverged as diverged:
        raise TrainingDiverged(diverged.epoch, diverged.batch, diverged.loss, diverged.history, latest) from None
    test_loss, test_error = (_evaluate(spec, latest.params, latest.bn_state, *tst) if tst is not None
                             else (None, None))
    return FitResult(latest, history, test_loss, test_error)


def _gather_into_buffers(batch_size: int, *arrays: np.ndarray) -> Callable:
    """A ``run_epochs`` gather that takes each array's batch rows into a buffer of its own, reused
    batch after batch (about 10-30% faster than ``array[rows]``): only for a step that keeps no
    reference to its batch once it returns, and rows known to be in range."""
    buffers = {id(array): np.empty((batch_size, *array.shape[1:]), array.dtype) for array in arrays}

    def gather(array: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return np.take(array, rows, axis=0, out=buffers[id(array)][:rows.shape[0]], mode="wrap")

    return gather


def _check_data(name: str, spec: MLPSpec, data: Any, dtype: Any = None) -> tuple:
    """``(x, class_indices)`` from a pair or a record with ``x`` and ``y``, checked against ``spec``."""
    if attrs.has(type(data)) and hasattr(data, "x") and hasattr(data, "y"):
        x, labels = data.x, data.y
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, labels = data
    else:
        _checks.fail(TypeError, name, "an (x, labels) pair", _checks.describe(data))
    return _check_xy(f"{name} x", f"{name} labels", spec, x, labels, dtype)


def _check_xy(x_name: str, labels_name: str, spec: MLPSpec, x: Any, labels: Any, dtype: Any = None) -> tuple:
    """``(x, class_indices)``, ``x`` finite in ``dtype`` (default: its own float dtype)."""
    x = _checks.float_array(x_name, x, ndim=2, width=spec.layer_sizes[0], finite=False)
    if dtype is not None:
        with np.errstate(over="ignore"):  # values past float32's range become inf, refused below
            x = x.astype(dtype, copy=False)
    _checks.all_finite(x_name, x)
    labels = class_indices(labels, spec.layer_sizes[-1], labels_name)
    if labels.shape[0] != x.shape[0]:
        _checks.fail(ValueError, labels_name, f"{x.shape[0]} rows, as many as {x_name}", labels.shape[0])
    return x, labels


def _check_start(spec: MLPSpec, start: TrainState, num_train: int) -> None:
    """Raise unless ``fit_from`` can continue ``start`` on ``num_train`` training rows."""
    _checks.integer("start.epoch", start.epoch, minimum=0)
    check_params(spec, start.params, "start.params", finite=True)
    check_state(spec, start.bn_state, "start.bn_state", finite=True)
    _checks.instance("start.opt_state", start.opt_state, SGDState)
    check_params(spec, start.opt_state.velocity, "start.opt_state.velocity", finite=True)
    _checks.permutation("start.order", start.order, num_train)
    if not isinstance(start.rng, (np.random.Generator, np.random.RandomState)):
        _checks.fail(TypeError, "start.rng", "a NumPy Generator or RandomState", type(start.rng).__name__)
