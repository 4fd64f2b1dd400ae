"""Optimizers as composable pure transformations, in the style of optax.

- ``transform``: the building blocks (momentum ``trace``, ``scale_by_adam``, ``add_decayed_weights``,
  ``scale_by_learning_rate``, ``clip_by_global_norm``), each a frozen record with ``init`` and
  ``update`` and a small named state;
- ``schedule``: learning rates as records called ``step -> lr``;
- ``combine``: ``chain(...)``;
- ``alias``: ``sgd``, ``adam``, ``adamw``, chains of the above;
- ``base``: ``Optimizer``, a transform applied to parameters: ``init(params) -> state`` and
  ``update(grads, state, params) -> (new_params, new_state)``;
- ``serialization``: all of it as JSON, for checkpoints.
"""

from .alias import adam, adamw, sgd
from .base import EmptyState, Optimizer, apply_updates, flat_update
from .combine import Chain, chain
from .schedule import (Constant, ExponentialDecay, LinearWarmup, PiecewiseConstant, WarmupCosineDecay, constant,
                       exponential_decay, linear_warmup, piecewise_constant, warmup_cosine_decay)
from .transform import (AdamState, AddDecayedWeights, ClipByGlobalNorm, ScaleByAdam, ScaleByLearningRate,
                        ScaleBySchedule, ScheduleState, Trace, TraceState, add_decayed_weights,
                        clip_by_global_norm, scale_by_adam, scale_by_learning_rate, trace, weights_only)

__all__ = [
    "adam", "adamw", "sgd", "EmptyState", "Optimizer", "apply_updates", "flat_update", "Chain", "chain",
    "Constant", "ExponentialDecay", "LinearWarmup", "PiecewiseConstant", "WarmupCosineDecay", "constant",
    "exponential_decay", "linear_warmup", "piecewise_constant", "warmup_cosine_decay", "AdamState", "AddDecayedWeights", "ClipByGlobalNorm",
    "ScaleByAdam", "ScaleByLearningRate", "ScaleBySchedule", "ScheduleState", "Trace", "TraceState",
    "add_decayed_weights", "clip_by_global_norm", "scale_by_adam", "scale_by_learning_rate", "trace",
    "weights_only",
]
