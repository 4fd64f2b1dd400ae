"""A run directory's life: parameter and checkpoint files, the metrics and summary files, the lock
that keeps one writer, loading a trained run and evaluating it. Imports the model, optimizers,
training, data and base utilities; never plots at import time, never the command line."""

from ..utils.atomic import atomic_write
from .checkpoint import (load_checkpoint, load_params, load_train_state, save_checkpoint, save_params,
                         save_train_state)
from .lock import RunLocked
from .train import RunError, RunOutcome, configure, recipe_config, resume_run, train_run

__all__ = ["RunError", "RunLocked", "RunOutcome", "atomic_write", "configure", "recipe_config", "resume_run",
           "train_run", "load_checkpoint", "load_params", "load_train_state", "save_checkpoint",
           "save_params", "save_train_state"]
