"""The training and sweep plots' axes: whole-number ticks for epochs, seeds and sizes, a log axis for
options that span more than a decade. Figures are caught before they are saved; no image is compared."""

import pytest

import fnmlp
from fnmlp.plots import history, sweep


@pytest.fixture
def figures(monkeypatch):
    """The figures the plot functions draw, in order, instead of PNG files."""
    drawn = []
    monkeypatch.setattr(history, "save_figure", lambda figure, path, dpi=100: drawn.append(figure))
    monkeypatch.setattr(sweep, "save_figure", lambda figure, path, dpi=100: drawn.append(figure))
    return drawn


def x_ticks(axes):
    """The x ticks inside the axis' view."""
    low, high = sorted(axes.get_xlim())
    return [tick for tick in axes.get_xticks() if low - 1e-9 <= tick <= high + 1e-9]


def assert_whole_ticks(axes):
    ticks = x_ticks(axes)
    assert len(ticks) >= 2 and all(float(tick).is_integer() for tick in ticks), ticks


@pytest.mark.parametrize("epochs", [2, 3, 5])
def test_training_curves_tick_whole_epochs(figures, epochs):
    stats = [fnmlp.EpochStats(k, 1.0 / k, 0.5 / k, 1.1 / k, 0.6 / k, 1.0, 0.1) for k in range(1, epochs + 1)]
    history.plot_history(stats, "unused")
    assert len(figures) == 5  # four curves, then curves.png with two panels
    for figure in figures:
        for axes in figure.axes:
            assert axes.get_xlabel() == "epoch"
            assert_whole_ticks(axes)


def sweep_rows(key, values):
    return [{key: str(value), "trial": f"{k:03d}", "final_val_error": 0.1 + 0.01 * k, "curve": [0.3, 0.2]}
            for k, value in enumerate(values)]


def test_sweep_curves_tick_whole_epochs(figures):
    sweep.plot_sweep_curves(sweep_rows("lr", [0.1, 0.2]), "000", "unused")
    assert_whole_ticks(figures[0].axes[0])


@pytest.mark.parametrize("key, values, scale, whole", [
    ("lr", [0.01, 0.03, 0.05, 0.11], "log", False),  # 11x: more than a decade
    ("weight_decay", [1e-5, 1e-4, 1e-3], "log", False),
    ("lr", [0.01, 0.05, 0.1], "linear", False),  # exactly a decade
    ("seed", [1, 2, 3], "linear", True),
    ("seed", [0, 1, 2], "linear", True),  # 0: no log axis
    ("epochs", [2, 3], "linear", True),
    ("batch-size", [32, 64, 512], "log", False),
])
def test_sweep_params_use_a_log_axis_past_a_decade_and_whole_ticks_for_whole_numbers(figures, key, values, scale,
                                                                                       whole):
    sweep.plot_sweep_params(sweep_rows(key, values), [key], "001", "unused")
    axes = figures[0].axes[0]
    assert axes.get_xscale() == scale and axes.get_xlabel() == key
    if whole:
        assert_whole_ticks(axes)
    elif scale == "linear":
        assert not all(float(tick).is_integer() for tick in x_ticks(axes))
