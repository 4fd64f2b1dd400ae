"""Where one fnmlp epoch spends its time: cProfile sorted by own time, or pyinstrument's call tree."""

from __future__ import annotations

import cProfile
import io
import pstats
from typing import Any, Callable

from fnmlp.config import TrainConfig

from .peers import FnmlpFit
from .recipes import FnmlpRecipe, StopTraining
from .workloads import Data, Workload


def profile_epoch(w: Workload, data: Data, seed: int, lines: int = 30, profiler: str = "cprofile") -> str:
    """A profile of one fnmlp float32 epoch of ``w`` (after a warm-up one)."""
    contender = FnmlpFit(w, data, "float32", seed)
    contender.train_epoch()
    return profile_call(contender.train_epoch, lines, profiler)


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
