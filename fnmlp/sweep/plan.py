"""A sweep file and the plan it expands into.

A sweep file (TOML or JSON) holds ``base`` (options shared by every trial) and either ``grid`` (a list
of values per option; the trials are their cartesian product) or ``random`` (``samples = N`` and, per
option, ``{uniform = [lo, hi]}``, ``{log_uniform = [lo, hi]}`` or ``{choice = [...]}``, drawn from the
sweep's top-level ``seed``). Keys are ``TrainConfig`` fields (``batch_size`` or ``batch-size``) and
``recipe``; each trial's configuration is ``attrs.evolve(RECIPES[recipe], **options)``, checked by
``TrainConfig`` itself.
"""

from __future__ import annotations

import itertools
import json
import math
import numbers
from pathlib import Path
from typing import Any, Callable, Optional

import attrs
import numpy as np

from ..runs.train import recipe_config
from ..training.config import RECIPES, ConfigError, TrainConfig

__all__ = ["SweepError", "load_sweep_file", "make_plan", "trial_config"]

DISTRIBUTIONS = ("uniform", "log_uniform", "choice")
FIELDS = attrs.fields_dict(TrainConfig)
SEQUENCE_FIELDS = ("hidden", "activation", "dropout", "augment")


class SweepError(ValueError):
    """A bad sweep file or sweep argument; ``argument`` names the argument (``halving``) or is ``None``
    when the message names the file and key itself."""

    def __init__(self, message: str, argument: Optional[str] = None):
        super().__init__(f"{argument}: {message}" if argument else message)
        self.argument, self.message = argument, message


def load_sweep_file(path: Path) -> dict:
    """The sweep file's table: JSON if the name ends in ``.json``, TOML otherwise."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as error:
        raise SweepError(f"cannot read {path}: {error.strerror}", "file") from None
    kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
    try:
        if kind == "JSON":
            table = json.loads(text)
        else:
            try:
                import tomllib
            except ImportError:  # Python < 3.11
                import tomli as tomllib
            table = tomllib.loads(text.decode())
    except ValueError as error:
        raise SweepError(f"{path}: not a valid {kind} file: {error}") from None
    if not isinstance(table, dict):
        raise SweepError(f"{path}: expected a table of base, grid or random, got {type(table).__name__}")
    return table


def trial_config(options: dict, epochs: Optional[int] = None) -> TrainConfig:
    """The ``TrainConfig`` of a trial's options (``recipe`` and fields), at ``epochs`` if given."""
    options = {_field(key): _normalised(_field(key), value) for key, value in options.items()}
    recipe = options.pop("recipe", "handout")
    if epochs is not None:
        options["epochs"] = epochs
    return recipe_config(recipe, options)


def make_plan(table: dict, source: str, halving: Optional[int] = None) -> dict:
    """Check a sweep file's table and expand it into trials, each checked as a run's configuration.
    Raises ``SweepError`` with one line naming the file and key at the first problem.

    Returns ``{"source", "sweep", "halving", "rungs", "trials": [{"name", "options", "swept",
    "epochs"}]}``; a trial's ``options`` hold every option of its run, ``epochs`` included.
    """
    def fail(key: str, message: str) -> None:
        raise SweepError(f"{source}: {key}: {message}")

    unknown = sorted(set(table) - {"base", "grid", "random", "seed"})
    if unknown:
        fail(unknown[0], "unknown key; expected base, grid, random and seed")
    if ("grid" in table) == ("random" in table):
        fail("grid" if "grid" in table else "random", "expected either a grid or a random block, not both")
    seed = table.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        fail("seed", f"expected an integer >= 0 (the seed of the random draws), got {seed!r}")
    base = _table(table.get("base", {}), "base", fail)
    for key, value in base.items():
        _check_value(f"base.{key}", key, value, fail)
    if halving is not None and (isinstance(halving, bool) or not isinstance(halving, int) or halving < 2):
        raise SweepError(f"expected an integer >= 2, got {halving}", "halving")

    if "grid" in table:
        points = _grid_points(_table(table["grid"], "grid", fail), fail)
    else:
        points = _random_points(_table(table["random"], "random", fail), seed, base, fail)

    trials = []
    width = max(3, len(str(len(points) - 1)))
    for index, point in enumerate(points):
        name = f"{index:0{width}d}"
        options = {**base, **point}
        try:
            config = trial_config(options)
        except (ConfigError, ValueError, TypeError) as error:
            swept = ", ".join(f"{key}={_text(value)}" for key, value in point.items())
            raise SweepError(f"{source}: trial {name} ({swept}): {error}") from None
        trials.append({"name": name, "options": {**options, "epochs": config.epochs}, "swept": dict(point),
                       "epochs": config.epochs})
    return {"source": str(source), "sweep": table, "halving": halving, "rungs": _rungs(trials, halving, fail),
            "trials": trials}


def _field(key: str) -> str:
    return key.replace("-", "_")


def _text(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


def _table(value: Any, key: str, fail: Callable) -> dict:
    if not isinstance(value, dict):
        fail(key, f"expected a table of train options, got {value!r}")
    return {_field(name): item for name, item in value.items()}


def _normalised(key: str, value: Any) -> Any:
    """One value where a sequence is expected becomes a sequence of one, as ``--hidden 64`` is."""
    if key in SEQUENCE_FIELDS and not isinstance(value, (list, tuple)):
        return [value]
    return value


def _check_value(where: str, key: str, value: Any, fail: Callable) -> None:
    """Raise unless ``key`` is an option and ``value`` a value of its type (alone, before the whole
    configuration is checked)."""
    if key == "recipe":
        if value not in RECIPES:
            fail(where, f"expected one of {', '.join(sorted(RECIPES))}, got {value!r}")
        return
    _known(where, key, fail)
    if isinstance(value, dict) or (isinstance(value, list) and key not in SEQUENCE_FIELDS):
        fail(where, f"expected a single value for {key}, got {value!r}")
    try:
        FIELDS[key].converter(_normalised(key, value))
    except ConfigError as error:
        fail(where, error.message)


def _known(where: str, key: str, fail: Callable) -> None:
    if key not in FIELDS and key != "recipe":
        fail(where, f"unknown option; expected a fnmlp train option: {', '.join(sorted([*FIELDS, 'recipe']))}")


def _grid_points(grid: dict, fail: Callable) -> list:
    if not grid:
        fail("grid", "expected at least one option with a list of values, got an empty grid")
    for key, values in grid.items():
        _known(f"grid.{key}", key, fail)
        if not isinstance(values, list) or not values:
            fail(f"grid.{key}", f"expected a non-empty list of values, got {values!r}")
        for i, value in enumerate(values):
            _check_value(f"grid.{key}[{i}]", key, value, fail)
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


def _is_integer_option(key: str) -> bool:
    return str(FIELDS[key].type) in ("int", "Optional[int]")


def _random_points(block: dict, seed: int, base: dict, fail: Callable) -> list:
    """``block["samples"]`` dicts of values drawn from ``np.random.default_rng(seed)``, option by option
    in the file's order; draws for integer options are rounded. Both bounds of a distribution must be
    values a run takes beside the ``base`` options."""
    block = dict(block)
    samples = block.pop("samples", None)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        fail("random.samples", f"expected an integer >= 1, the number of trials, got {samples!r}")
    if not block:
        fail("random", "expected at least one option with a distribution")
    draws = {key: _draw(f"random.{key}", key, spec, base, fail) for key, spec in block.items()}
    rng = np.random.default_rng(seed)
    return [{key: draw(rng) for key, draw in draws.items()} for _ in range(samples)]


def _draw(where: str, key: str, spec: Any, base: dict, fail: Callable) -> Callable:
    """A function of the generator drawing ``key``'s value as ``spec`` says."""
    _known(where, key, fail)
    if not isinstance(spec, dict):
        _check_value(where, key, spec, fail)
        return lambda rng, value=spec: value
    if len(spec) != 1 or next(iter(spec)) not in DISTRIBUTIONS:
        fail(where, f"expected one of {{uniform = [low, high]}}, {{log_uniform = [low, high]}}, "
                    f"{{choice = [...]}}, got {spec!r}")
    kind, arguments = next(iter(spec.items()))
    where = f"{where}.{kind}"
    if kind == "choice":
        if not isinstance(arguments, list) or not arguments:
            fail(where, f"expected a non-empty list of values, got {arguments!r}")
        for i, value in enumerate(arguments):
            _check_value(f"{where}[{i}]", key, value, fail)
        return lambda rng, values=arguments: values[int(rng.integers(len(values)))]
    if (not isinstance(arguments, list) or len(arguments) != 2
            or any(isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x)
                   for x in arguments)):
        fail(where, f"expected [low, high], two finite numbers, got {arguments!r}")
    low, high = arguments
    if not low < high or (kind == "log_uniform" and low <= 0):
        fail(where, f"expected {'0 < ' if kind == 'log_uniform' else ''}low < high, got [{low}, {high}]")
    _check_value(where, key, low, fail)
    integer = _is_integer_option(key)
    for bound in (low, high):
        try:
            trial_config({**base, key: _cast(bound, integer)})
        except ConfigError as error:
            try:
                trial_config(base)
            except ConfigError:
                continue  # the base alone is at fault; the trials say so
            fail(where, str(error))
    if kind == "uniform":
        return lambda rng, lo=low, hi=high, i=integer: _cast(rng.uniform(lo, hi), i)
    return lambda rng, lo=low, hi=high, i=integer: _cast(math.exp(rng.uniform(math.log(lo), math.log(hi))), i)


def _cast(value: float, integer: bool) -> Any:
    return int(round(value)) if integer else float(value)


def _rungs(trials: list, halving: Optional[int], fail: Callable) -> list:
    """The epochs of each rung: ``[None]`` (every trial's own epochs) without halving; with halving
    ``R / eta**s, ..., R / eta, R`` for the trials' common epochs ``R``, with ``s`` as large as both
    ``eta**s <= trials`` and ``R / eta**s >= 1`` allow."""
    if halving is None:
        return [None]
    epochs = {trial["epochs"] for trial in trials}
    if len(epochs) != 1:
        fail("epochs", "expected the same epochs for every trial with halving, got " + ", ".join(
            map(str, sorted(epochs))))
    total = epochs.pop()
    if total < 1:
        fail("epochs", f"expected at least 1 epoch for every trial with halving, got {total}")
    s = 0
    while halving ** (s + 1) <= len(trials) and total // halving ** (s + 1) >= 1:
        s += 1
    return [max(1, round(total / halving ** (s - k))) for k in range(s + 1)]
