"""Hyperparameter sweeps: a grid of trials from a sweep file, each trial a run, scheduled on Dask
(imported only when a sweep runs). Imports runs, training and plots; never the command line."""
