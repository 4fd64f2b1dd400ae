"""Early stopping: the rule (``EarlyStopping``), what it remembers between epochs
(``EarlyStoppingState``), and how an epoch's statistics update it."""

from __future__ import annotations

from typing import Any, Optional

import attrs

from ..model.params import BatchNormState, Params
from ..utils import checks as _checks

__all__ = ["EarlyStopping", "EarlyStoppingState", "patience_ran_out", "watch"]


@attrs.frozen
class EarlyStopping:
    """Stop after ``patience`` epochs in which ``monitor`` (``"val_loss"``, or ``"val_metric"``, also
    called ``"val_error"``; a metric that grows as the model improves is watched negated) did not
    fall below the best value so far by more than ``min_delta``; ``fit`` then returns the best
    epoch's parameters and BatchNorm state."""

    patience: int = attrs.field(converter=lambda v: _checks.integer("patience", v, minimum=1))
    min_delta: float = attrs.field(default=0.0, converter=lambda v: _checks.real("min_delta", v, minimum=0.0))
    monitor: str = attrs.field(default="val_loss")

    @monitor.validator
    def _check_monitor(self, attribute: Any, value: Any) -> None:
        if value not in ("val_loss", "val_metric", "val_error"):
            _checks.fail(ValueError, "monitor", "'val_loss', 'val_metric' or 'val_error'", _checks.describe(value))


@attrs.frozen(eq=False)
class EarlyStoppingState:
    """``best``: the best monitored value so far (inf before any epoch), reached after epoch
    ``best_epoch`` (0: none yet), whose ``params`` and ``bn_state`` are kept; ``bad_epochs``: epochs
    since, without improvement."""

    best: float
    best_epoch: int
    bad_epochs: int
    params: Params
    bn_state: BatchNormState


def watch(config: EarlyStopping, state: EarlyStoppingState, stats: Any, params: Params,
           bn_state: BatchNormState, metric_greater_is_better: bool) -> EarlyStoppingState:
    """The early-stopping state after ``stats``' epoch, whose parameters are ``params``. A metric that
    grows as the model improves (R^2) is watched negated, so that lower is better for every monitor."""
    value = getattr(stats, config.monitor)
    if config.monitor in ("val_metric", "val_error") and metric_greater_is_better:
        value = -value
    if value < state.best - config.min_delta:
        return EarlyStoppingState(float(value), stats.epoch, 0, params, bn_state)
    return attrs.evolve(state, bad_epochs=state.bad_epochs + 1)


def patience_ran_out(config: Optional[EarlyStopping], state: Optional[EarlyStoppingState]) -> bool:
    return config is not None and state is not None and state.bad_epochs >= config.patience
