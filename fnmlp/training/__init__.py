"""Training: the epoch loop over the pure functions (``loop``), early stopping, and the one builder
from a ``TrainConfig`` to a network and its optimizer (``config``, with the recipes). Imports the model
and the optimizers, never files, plots, commands or adapters."""

from .loop import (EarlyStopping, EarlyStoppingState, EpochStats, FitResult, TrainState, TrainingDiverged,
                   derived_rng, evaluate, fit, fit_from, initial_state, run_epochs)

__all__ = ["EarlyStopping", "EarlyStoppingState", "EpochStats", "FitResult", "TrainState", "TrainingDiverged",
           "derived_rng", "evaluate", "fit", "fit_from", "initial_state", "run_epochs"]
