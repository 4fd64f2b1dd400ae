"""The time-to-accuracy plot: test error against wall time, one curve per contender."""

from __future__ import annotations

import os
import textwrap

from .report import atomic_write


def plot_time_to_accuracy(tta: dict, path: str) -> None:
    """Test error against wall time for every contender that ran, each target a dashed line labelled
    with its accuracy, the recipe in the title (what each contender ran is in the JSON)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter, NullFormatter

    fig, ax = plt.subplots(figsize=(8, 5))
    for name, res in tta["contenders"].items():
        if res.get("curve"):
            seconds, _, errors = zip(*res["curve"])
            reached = [f"{t}% at {s:.0f} s" for t, s in res["reached"].items() if s is not None]
            label = f"{name} ({', '.join(reached) or 'no target reached'})"
            ax.plot(seconds, [100 * e for e in errors], marker=".", label=label)
    for target in tta["targets"]:
        ax.axhline(100 - target, color="grey", linestyle="--", linewidth=0.8)
        ax.annotate(f"{target:g}%", (1.0, 100 - target), xycoords=("axes fraction", "data"), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=8, color="grey")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    if ax.get_ylim()[1] / ax.get_ylim()[0] > 20:
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("wall time (s), evaluation after every epoch included")
    ax.set_ylabel("test error (%)")
    ax.set_title("MNIST test error against wall time\n" + "\n".join(textwrap.wrap(tta["description"], 110)),
                 fontsize=8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format=os.path.splitext(path)[1][1:] or "png", dpi=120)
    plt.close(fig)
