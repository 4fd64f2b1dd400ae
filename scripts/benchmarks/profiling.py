"""Where one fnmlp epoch spends its time: outside the matrix products, part by part
(``breakdown_epoch``), and cProfile sorted by own time or pyinstrument's call tree."""

from __future__ import annotations

import cProfile
import io
import pstats
import statistics
import time
from typing import Any, Callable

import numpy as np

from fnmlp.model import kernels
from fnmlp.model.flat import FlatLayout
from fnmlp.training import compiled_step

from fnmlp.config import TrainConfig

from .gemm_limit import GemmLimit
from .peers import FnmlpFit
from .recipes import FnmlpRecipe, StopTraining
from .workloads import Data, Workload


def profile_epoch(w: Workload, data: Data, seed: int, lines: int = 30, profiler: str = "cprofile") -> str:
    """A profile of one fnmlp float32 epoch of ``w`` (after a warm-up one)."""
    contender = FnmlpFit(w, data, "float32", seed)
    contender.train_epoch()
    return profile_call(contender.train_epoch, lines, profiler)


def breakdown_epoch(w: Workload, data: Data, seed: int, dtype: str = "float32", repeats: int = 3) -> dict:
    """Median seconds of one epoch of ``w`` in ``fnmlp.fit`` and of its parts, each timed alone over the
    epoch's batches: the matrix products (the GEMM limit), the rest of forward, loss and backward
    (the step ``fit`` runs, compiled or ``kernels.loss_and_grads``, less the products and, for a
    compiled step, which includes it, the optimizer), the optimizer's flat update, and the batches'
    gathering; ``loop`` is what is left: ``fit``'s own work (its checks and setup, once per call, and per
batch the Python between the parts, records and statistics)."""
    fit, gemm = FnmlpFit(w, data, dtype, seed), GemmLimit(w, data, dtype, seed)
    x, y, spec, optimizer = data.x[dtype], data.y, fit.spec, fit.opt
    layout = FlatLayout.of(fit.params, x.dtype)
    weights, opt_state = layout.flatten(fit.params), layout.flatten_tree(optimizer.init(fit.params))
    grads = np.empty_like(weights)
    out, params, rng = layout.split(grads), layout.unflatten(weights), np.random.default_rng(seed)
    rows = [np.arange(start, min(start + w.batch_size, x.shape[0])) for start in range(0, x.shape[0], w.batch_size)]
    batches = [(x[r], y[r]) for r in rows]

    step = compiled_step.select_step(None, spec, optimizer, layout, weights, grads, w.batch_size, rng)

    def losses() -> None:
        carry = (fit.state, opt_state)
        with np.errstate(over="ignore", invalid="ignore"):  # as fit's loop runs its steps
            for xb, yb in batches:
                if step is None:
                    kernels.loss_and_grads(spec, params, fit.state, xb, yb, rng=rng, out=out)
                else:
                    carry = step(carry, xb, yb)[0]

    def updates() -> None:
        for _ in batches:
            optimizer.update_flat(grads, opt_state, weights, layout)

    def gathers() -> None:
        for r in rows:
            x.take(r, axis=0), y.take(r, axis=0)

    parts = {"epoch": fit.train_epoch, "products": gemm.train_epoch, "forward+loss+backward": losses,
             "optimizer": updates, "gather": gathers}
    seconds = {name: [] for name in parts}
    for _ in range(repeats + 1):  # the first round warms up
        for name, run in parts.items():
            started = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - started)
    median = {name: statistics.median(times[1:]) for name, times in seconds.items()}
    median["forward+loss+backward"] -= median["products"] + (median["optimizer"] if step is not None else 0.0)
    median["loop"] = median["epoch"] - sum(median[name] for name in ("products", "forward+loss+backward",
                                                                      "optimizer", "gather"))
    return median


def format_breakdown(name: str, median: dict, steps: int) -> str:
    epoch = median["epoch"]
    lines = [f"where one fnmlp float32 epoch of {name} goes ({steps} steps; each part timed alone, medians):",
             "| part | ms per step | share of the epoch |", "| --- | --- | --- |"]
    for part, seconds in median.items():
        lines.append(f"| {part} | {1e3 * seconds / steps:.3f} | {seconds / epoch:.1%} |")
    return "\n".join(lines)


def profile_recipe_epoch(recipe: TrainConfig, train: tuple, test: tuple, lines: int = 30,
                         profiler: str = "cprofile") -> str:
    """A profile of the first epoch of ``recipe`` in fnmlp as ``--time-to-accuracy`` trains it (its test
    evaluation included), after the same epoch run once to warm up."""
    def stop(epoch: int, error: float) -> None:
        raise StopTraining

    FnmlpRecipe(recipe, recipe.seed).run(train, test, stop)
    contender = FnmlpRecipe(recipe, recipe.seed)
    return profile_call(lambda: contender.run(train, test, stop), lines, profiler)


def profile_call(run: Callable[[], Any], lines: int = 30, profiler: str = "cprofile") -> str:
    """Where ``run()`` spends its time: cProfile's ``lines`` costliest functions by own time, or
    pyinstrument's call tree."""
    if profiler == "pyinstrument":
        try:
            from pyinstrument import Profiler
        except ImportError:
            return "pyinstrument is not installed (pip install pyinstrument)"
        sampler = Profiler(interval=0.0005)
        sampler.start()
        run()
        sampler.stop()
        return sampler.output_text(unicode=False, color=False, show_all=False)
    profile = cProfile.Profile()
    profile.enable()
    run()
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(lines)
    return out.getvalue()
