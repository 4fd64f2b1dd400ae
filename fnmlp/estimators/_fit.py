"""Training for ``fit`` and ``partial_fit``: the estimator's settings, data and network handed to
``fnmlp.fit`` (or ``fit_from``), and the learned attributes that come back. Nothing here changes the
estimator: each function returns the attributes for ``fit`` to set."""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np

from ..model.params import init_params
from ..training import loop as training
from ..training.loop import TrainState
from ..utils import checks as _checks
from ._inputs import check_X
from ._learned import after_training, validation_scores
from ._sklearn import ConvergenceWarning, warn
from ._stopping import Plateau, early_stopping, validation_split


def fit_targets(est: Any, X: Any, y: Any, s: dict) -> dict:
    """The learned attributes of a fresh fit of ``est`` on ``(X, y)`` with the checked settings ``s``.

    ``fnmlp.fit`` trains for at most ``max_iter`` epochs; it stops sooner when ``Plateau`` (its
    ``on_epoch``) returns ``True``, or, with ``early_stopping``, when the validation score stops
    improving (``_stopping.early_stopping``), keeping the best epoch's parameters."""
    x = check_X(X, s["dtype"])
    targets, learned = est._encode_targets(y, x)
    spec, optimizer = est._network(s, x.shape[1], learned["n_outputs_"])
    rule = early_stopping(s["early_stopping"], s["n_iter_no_change"], s["tol"])
    rng = new_rng(est.random_state)
    params, bn_state = init_params(spec, rng, weight_init=s["weight_init"], dtype=x.dtype)
    train, validation = (x, targets), None
    if rule is not None:  # the validation score decides when to stop, not the training loss
        train, validation = validation_split(x, targets, s["validation_fraction"], rng,
                                             est._estimator_type == "classifier")
    plateau = Plateau(s["tol"], s["n_iter_no_change"], s["verbose"], est._loss_scale, stop=rule is None)
    result = training.fit(spec, params, bn_state, optimizer, train, validation, epochs=s["max_iter"],
                          batch_size=batch_size(s, train[0].shape[0]), rng=rng, early_stopping=rule,
                          on_epoch=plateau)
    if not result.stop_requested and not result.stopped_early:
        warn(ConvergenceWarning, f"Stochastic Optimizer: Maximum iterations ({s['max_iter']}) reached and "
                                 f"the optimization hasn't converged yet.", 2)
    elif result.stopped_early and s["verbose"]:
        print(f"Validation score did not improve more than tol={s['tol']} for {s['n_iter_no_change']} "
              f"consecutive epochs. Stopping.")
    learned.update(spec_=spec, n_features_in_=x.shape[1],
                   **after_training(result.final, plateau.losses, train[0].shape[0], result.params, result.bn_state))
    learned.update(validation_scores(est._validation_score, plateau.stats if rule is not None else None))
    return learned


def partial_fit_targets(est: Any, X: Any, y: Any, classes: Any) -> dict:
    """The learned attributes of ``est`` after one more epoch on ``(X, y)``, continuing the network,
    optimizer state and generators of earlier calls (``early_stopping`` is for ``fit`` only, as in
    scikit-learn)."""
    s = est._settings()
    first = not hasattr(est, "params_")
    x = check_X(X, s["dtype"] if first else est.params_.W[0].dtype,
                None if first else est.n_features_in_, type(est).__name__)
    targets, learned = est._encode_targets(y, x, classes, first, partial=True)
    n_outputs = learned["n_outputs_"]
    if not first and n_outputs != est.n_outputs_:
        _checks.fail(ValueError, "y", f"{est.n_outputs_} targets per row, as in earlier calls", n_outputs)
    spec, optimizer = est._network(s, x.shape[1], n_outputs)
    if first:
        rng = new_rng(est.random_state)
        params, bn_state = init_params(spec, rng, weight_init=s["weight_init"], dtype=x.dtype)
        start = training.initial_state(params, bn_state, optimizer, x.shape[0], rng)
        epochs, losses = 0, []
    else:
        if spec != est.spec_:
            raise ValueError(f"partial_fit: the parameters now describe {spec}, but the fitted network is "
                             f"{est.spec_}; call fit to start again")
        start = TrainState(est.params_, est.bn_state_, est._opt_state, 0, np.arange(x.shape[0]),
                           est._rng_state, est._dropout_rng)
        epochs, losses = est.n_iter_, list(est.loss_curve_)
    result = training.fit_from(spec, optimizer, start, (x, targets), epochs=1, batch_size=batch_size(s, x.shape[0]))
    losses.append(est._loss_scale * result.history[-1].train_loss)
    if s["verbose"]:
        print(f"Iteration {epochs + 1}, loss = {losses[-1]:.8f}")
    learned.update(spec_=spec, n_features_in_=x.shape[1], **after_training(result.final, losses, x.shape[0]))
    learned["n_iter_"] = epochs + 1
    learned["t_"] = (0 if first else est.t_) + x.shape[0]
    return learned


def batch_size(s: dict, n: int) -> int:
    """scikit-learn's batch: ``"auto"`` is ``min(200, n)``; larger than ``n`` is clipped, with a warning."""
    if s["batch_size"] == "auto":
        return min(200, n)
    if s["batch_size"] > n:
        warnings.warn(f"batch_size={s['batch_size']} is larger than the {n} samples: it is clipped to {n}",
                      UserWarning, stacklevel=4)  # batch_size, fit_targets, fit, the caller
    return min(s["batch_size"], n)


def new_rng(random_state: Any) -> Any:
    """A generator of the estimator's own: NumPy's default (PCG64) seeded by an int ``random_state``,
    or a copy of a ``random_state`` generator, so fitting twice with the same one trains the same
    network. (Not ``as_rng``'s ``RandomState`` for ints: ``fit`` copies its generator after every
    epoch, and copying an MT19937 costs about a millisecond, as much as an epoch of 300 rows.)"""
    if isinstance(random_state, (np.random.Generator, np.random.RandomState)):
        return copy.deepcopy(random_state)
    return np.random.default_rng(random_state)
