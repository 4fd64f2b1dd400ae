"""Hyperparameter sweeps: a grid or random search of runs from a sweep file (``plan``), each trial a
run trained by ``fnmlp.runs.train_run`` inside a Dask task (``tasks``; Dask is imported only when a
sweep runs), and the table and plots of them all (``report``). Imports runs, training and plots;
never the command line."""

from .plan import SweepError, load_sweep_file, make_plan, trial_config
from .report import PLAN, TRIAL_FILE, trial_rows, write_outputs
from .tasks import BLAS_ENV, INSTALL_HINT, connect, execute, run_trial

__all__ = ["BLAS_ENV", "INSTALL_HINT", "PLAN", "SweepError", "TRIAL_FILE", "connect", "execute", "load_sweep_file",
           "make_plan", "run_trial", "trial_config", "trial_rows", "write_outputs"]
