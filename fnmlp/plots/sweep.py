"""A sweep's two plots, drawn with matplotlib's object API: ``sweep_curves.png`` (validation error per
epoch of every trial, the best highlighted) and ``sweep_params.png`` (final validation error against
each swept option)."""

from __future__ import annotations

import os
from typing import Optional, Sequence, Union

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from .history import save_figure

PathLike = Union[str, os.PathLike]


def plot_sweep_curves(rows: Sequence[dict], best: Optional[str], path: PathLike) -> None:
    """One validation-error curve per trial (``row["curve"]``, a float per epoch), ``best`` in a thick line."""
    figure = Figure(figsize=(7, 4.5), layout="constrained")
    axes = figure.add_subplot()
    for row in rows:
        curve = row["curve"]
        if not curve:
            continue
        epochs = range(1, len(curve) + 1)
        if row["trial"] == best:
            axes.plot(epochs, curve, color="C3", linewidth=2.5, zorder=3, marker=".", label=f"best: trial {best}")
        else:
            axes.plot(epochs, curve, color="0.55", linewidth=1, alpha=0.7)
    axes.set(title=f"Validation error of {len(rows)} trials", xlabel="epoch", ylabel="validation error")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.grid(alpha=0.3)
    if best is not None:
        axes.legend()
    save_figure(figure, path)


def plot_sweep_params(rows: Sequence[dict], swept: Sequence[str], best: Optional[str], path: PathLike) -> None:
    """Final validation error against each swept option, one panel per option: numbers on a linear or
    (when all positive and spanning more than a decade, max > 10 min) logarithmic axis, whole numbers
    (seeds, sizes, epochs) on a linear one with whole-number ticks only; anything else as categories."""
    panels = list(swept) or ["trial"]
    figure = Figure(figsize=(4 * len(panels), 3.8), layout="constrained")
    for position, key in enumerate(panels, 1):
        axes = figure.add_subplot(1, len(panels), position)
        points = [(row[key], row["final_val_error"], row["trial"] == best) for row in rows
                  if row["final_val_error"] is not None]
        numbers = [_number(x) for x, _, _ in points]
        if points and all(n is not None for n in numbers):
            xs = numbers
            if min(xs) > 0 and max(xs) > 10 * min(xs):
                axes.set_xscale("log")
            elif all(_is_integer(x) for x, _, _ in points):
                axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        else:
            labels = list(dict.fromkeys(str(x) for x, _, _ in points))
            xs = [labels.index(str(x)) for x, _, _ in points]
            axes.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 4 else 0)
        ys = [y for _, y, _ in points]
        axes.scatter(xs, ys, color="0.4", s=25)
        for x, (_, y, is_best) in zip(xs, points):
            if is_best:
                axes.scatter([x], [y], color="C3", s=80, marker="*", zorder=3, label="best")
                axes.legend()
        axes.set(xlabel=key, ylabel="final validation error" if position == 1 else None)
        axes.yaxis.set_major_formatter(PercentFormatter(1.0))
        axes.grid(alpha=0.3)
    save_figure(figure, path)


def _is_integer(value) -> bool:
    """Whether ``value`` (a number or its text, as ``sweep.csv`` holds it) is written as a whole number."""
    try:
        int(str(value))
    except ValueError:
        return False
    return True


def _number(value) -> Optional[float]:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
