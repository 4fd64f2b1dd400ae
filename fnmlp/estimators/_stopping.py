"""When ``fit`` stops: scikit-learn's two rules, on the training loss or on a held-out validation score.

- Without ``early_stopping``, ``Plateau`` (``fnmlp.fit``'s ``on_epoch``) watches the training loss
  and returns ``True``, which ends training, once it stopped improving by ``tol``.
- With ``early_stopping``, ``validation_split`` holds out rows and ``early_stopping`` is the
  ``fnmlp.EarlyStopping`` rule on their score, ``monitor="val_error"``: the loss's metric (the
  classification error, ``1 - accuracy``, or R^2), which is what scikit-learn's validation score is.
  ``fnmlp train --early-stopping`` (``fnmlp.training.config.early_stopping``) watches ``val_loss``
  instead, the validation loss, with no ``min_delta``: the two rules differ on purpose and each
  stays as it is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..training.loop import EarlyStopping, EpochStats, TrainState
from ..utils import checks as _checks


class Plateau:
    """``fit``'s ``on_epoch``: scikit-learn's convergence rule on the training loss (the spec's loss
    times ``loss_scale``, with the L2 penalty: scikit-learn's ``loss_curve_``). An epoch whose loss
    is not below the best so far by ``tol`` counts; after ``n_iter_no_change + 1`` such epochs in a
    row it returns ``True``, so ``fnmlp.fit`` trains no further epoch (``FitResult.stop_requested``).
    Without ``stop`` it only records the losses (``losses``) and epochs (``stats``)."""

    def __init__(self, tol: float, n_iter_no_change: int, verbose: bool, loss_scale: float = 1.0, stop: bool = True):
        self.tol, self.patience, self.verbose, self.scale, self.stop = tol, n_iter_no_change, verbose, loss_scale, stop
        self.losses, self.stats, self.best, self.count = [], [], np.inf, 0

    def __call__(self, stats: EpochStats, state: TrainState) -> bool:
        loss = self.scale * stats.train_loss
        self.losses.append(loss)
        self.stats.append(stats)
        if self.verbose:
            print(f"Iteration {stats.epoch}, loss = {loss:.8f}")
        self.count = self.count + 1 if loss > self.best - self.tol else 0
        self.best = min(self.best, loss)
        if self.stop and self.count > self.patience:
            if self.verbose:
                print(f"Training loss did not improve more than tol={self.tol} for {self.patience} consecutive "
                      f"epochs. Stopping.")
            return True
        return False


def early_stopping(enabled: bool, n_iter_no_change: int, tol: float) -> Any:
    """scikit-learn's ``early_stopping`` as an ``fnmlp.EarlyStopping``, or ``None`` when not ``enabled``.

    scikit-learn checks the validation score (accuracy, or R^2 for the regressor) after each epoch;
    an epoch that does not raise it by ``tol`` over the best so far counts, training stops after
    ``n_iter_no_change + 1`` such epochs in a row, and the best epoch's parameters are kept.
    ``EarlyStopping(patience=n_iter_no_change + 1, min_delta=tol, monitor="val_error")`` is that rule
    (the error is ``1 - accuracy``; R^2 is watched with higher better), with two differences at the
    margin: an epoch that equals the best plus ``tol`` exactly counts as no improvement
    (scikit-learn: as one), and the parameters kept are those of the last epoch that improved by
    more than ``tol`` (scikit-learn: by any amount). Not ``TrainConfig.early_stopping``, which
    watches ``val_loss``: scikit-learn's score is the metric, not the loss."""
    if not enabled:
        return None
    return EarlyStopping(patience=n_iter_no_change + 1, min_delta=tol, monitor="val_error")


def validation_split(x: np.ndarray, targets: np.ndarray, fraction: float, rng: Any, stratify: bool) -> tuple:
    """``((x, targets) to train on, (x, targets) to validate on)``: ``ceil(fraction * n)`` random rows
    held out; with ``stratify`` (class indices), ``ceil(fraction * count)`` rows of each class."""
    order = rng.permutation(x.shape[0])
    if stratify:
        shuffled = targets[order]
        held = np.zeros(x.shape[0], bool)
        for c in np.unique(shuffled):
            rows = np.flatnonzero(shuffled == c)
            held[rows[:int(np.ceil(fraction * rows.shape[0]))]] = True
    else:
        held = np.arange(x.shape[0]) < int(np.ceil(fraction * x.shape[0]))
    val, train = order[held], order[~held]
    if val.shape[0] < 2 or train.shape[0] < 1:
        _checks.fail(ValueError, "validation_fraction", f"a share of the {x.shape[0]} rows that leaves at least 2 "
                     f"to validate on and 1 to train on", f"{fraction} ({val.shape[0]} to validate on)")
    return (x[train], targets[train]), (x[val], targets[val])
