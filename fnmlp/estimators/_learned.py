"""The learned attributes, scikit-learn's names ending in ``_``, as ``fit`` and ``partial_fit`` set them."""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from ..model.tree import readonly, tree_map
from ..training.loop import TrainState


def after_training(final: TrainState, losses: list, n: int, params: Any = None, bn_state: Any = None) -> dict:
    """The learned attributes after training on ``n`` rows ended in ``final``, with the epochs'
    ``losses`` (scikit-learn's ``loss_curve_``); ``params`` and ``bn_state``, if given, are the ones
    to keep (early stopping's best), else ``final``'s. The optimizer state and the generators stay,
    private, for ``partial_fit`` to continue from."""
    return {"params_": final.params if params is None else params,
            "bn_state_": final.bn_state if bn_state is None else bn_state, "_opt_state": final.opt_state,
            "_rng_state": final.rng, "_dropout_rng": final.dropout_rng, "loss_curve_": list(losses),
            "loss_": losses[-1],
            "best_loss_": min(losses), "n_iter_": len(losses), "t_": n * len(losses)}


def validation_scores(score: Callable[[float], float], history: Optional[list]) -> dict:
    """``validation_scores_`` and ``best_validation_score_``: ``score(stats.val_error)`` (accuracy,
    or R^2) of each epoch in ``history``, and the highest; both ``None`` without early stopping."""
    scores = None if history is None else [score(stats.val_error) for stats in history]
    return {"validation_scores_": scores, "best_validation_score_": None if scores is None else max(scores)}


def unpickled(state: dict) -> dict:
    """An estimator's pickled ``__dict__`` with its records' arrays read-only again (unpickled arrays
    come back writable)."""
    for name in ("params_", "bn_state_", "_opt_state"):
        if name in state:
            state[name] = tree_map(lambda a: readonly(a) if isinstance(a, np.ndarray) else a, state[name])
    return state
