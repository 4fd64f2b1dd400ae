"""Time to accuracy: the same recipe trained in fnmlp, PyTorch and scikit-learn on the bundled MNIST
split, test accuracy measured after every epoch (its time counted), until the last target."""

from __future__ import annotations

import time
from typing import Callable, Optional

from fnmlp.config import TrainConfig

from .recipes import StopTraining, check_recipe, describe_recipe, recipe_contenders
from .skip import Skip


def time_to_accuracy(recipe: TrainConfig, train: tuple, test: tuple, targets: tuple, max_seconds: float,
                     threads: int, seed: int, log: Callable, names: Optional[set] = None) -> dict:
    """Train each contender until its test accuracy reaches the last of ``targets`` (percent), its
    epochs run out or ``max_seconds`` pass; returns per contender what it ran (``description``), how
    that differs from fnmlp's run of ``recipe`` (``differences``), the curve ``[(seconds, epoch, test
    error)]``, the seconds and the epoch at which each target was first reached (``None`` if never) and
    the mean seconds per epoch; ``ratios`` compares fnmlp with each peer (``tta_ratios``)."""
    check_recipe(recipe)
    results = {}
    for name, build in recipe_contenders(threads):
        if names is not None and name not in names:
            continue
        try:
            contender = build(recipe, seed)
        except Skip as why:
            results[name] = {"skipped": str(why)}
            continue
        curve, reached, reached_epoch = [], {f"{t:g}": None for t in targets}, {f"{t:g}": None for t in targets}
        started = time.perf_counter()

        def on_epoch(epoch: int, error: float) -> None:
            seconds = time.perf_counter() - started
            curve.append((seconds, epoch, error))
            for target in targets:
                if reached[f"{target:g}"] is None and 100 * (1 - error) >= target:
                    reached[f"{target:g}"], reached_epoch[f"{target:g}"] = seconds, epoch
            log(f"  time to accuracy: {name} epoch {epoch}, {seconds:.1f} s, test error {100 * error:.2f}%")
            if reached[f"{targets[-1]:g}"] is not None or seconds >= max_seconds:
                raise StopTraining

        contender.run(train, test, on_epoch)
        seconds = curve[-1][0] if curve else 0.0
        results[name] = {"description": contender.description, "differences": list(contender.differences),
                         "curve": curve, "reached": reached, "reached_epoch": reached_epoch,
                         "epochs": len(curve), "seconds": seconds,
                         "seconds_per_epoch": seconds / len(curve) if curve else None,
                         "best_error": min((e for _, _, e in curve), default=None)}
    return {"recipe": recipe.to_dict(), "description": describe_recipe(recipe), "seed": seed,
            "targets": list(targets), "max_seconds": max_seconds, "train_rows": int(train[0].shape[0]),
            "test_rows": int(test[0].shape[0]), "contenders": results, "ratios": tta_ratios(results)}


def tta_ratios(results: dict) -> dict:
    """``{peer: {"targets": {target: fnmlp seconds / peer seconds}, "per_epoch": ...}}`` for every peer
    that ran beside fnmlp; a target's ratio is ``None`` unless both reached it."""
    ours = results.get("fnmlp", {})
    if "curve" not in ours:
        return {}
    ratios = {}
    for name, res in results.items():
        if name == "fnmlp" or "curve" not in res:
            continue
        per_target = {t: (ours["reached"][t] / s if s and ours["reached"][t] is not None else None)
                      for t, s in res["reached"].items()}
        per_epoch = (ours["seconds_per_epoch"] / res["seconds_per_epoch"]
                     if ours["seconds_per_epoch"] and res["seconds_per_epoch"] else None)
        ratios[name] = {"targets": per_target, "per_epoch": per_epoch}
    return ratios


def format_time_to_accuracy(tta: dict) -> str:
    """The time-to-accuracy table, fnmlp's ratios to each peer and what each peer ran differently."""
    lines = [f"time to test accuracy, {tta['train_rows']:,} training rows, {tta['test_rows']:,} test rows "
             f"(evaluated after every epoch, evaluation counted); recipe: {tta['description']}"]
    header = (f"  {'contender':<10} " + " ".join(f"{f'{t:g}%':>15}" for t in tta["targets"])
              + f" {'epochs':>7} {'seconds':>8} {'s/epoch':>8} {'best error':>11}")
    lines += [header, "  " + "-" * (len(header) - 2)]
    for name, res in tta["contenders"].items():
        if "skipped" in res:
            lines.append(f"  {name:<10} skipped: {res['skipped']}")
            continue
        cells = " ".join(f"{'-' if s is None else f'{s:.1f} s (ep {e})':>15}"
                         for s, e in zip(res["reached"].values(), res["reached_epoch"].values()))
        best = "" if res["best_error"] is None else f"{100 * res['best_error']:.2f}%"
        per_epoch = "" if res["seconds_per_epoch"] is None else f"{res['seconds_per_epoch']:.2f}"
        lines.append(f"  {name:<10} {cells} {res['epochs']:>7} {res['seconds']:>8.1f} {per_epoch:>8} {best:>11}")
    for name, ratio in tta.get("ratios", {}).items():
        at = ", ".join("-" if r is None else f"{r:.2f}x" for r in ratio["targets"].values())
        epoch = "-" if ratio["per_epoch"] is None else f"{ratio['per_epoch']:.2f}x"
        lines.append(f"  fnmlp / {name}: {at} at the targets; {epoch} per epoch")
    for name, res in tta["contenders"].items():
        if res.get("differences"):
            lines.append(f"  {name} differs from fnmlp: {'; '.join(res['differences'])}")
    if "description" in tta["contenders"].get("sklearn", {}):
        lines.append(f"  sklearn runs {tta['contenders']['sklearn']['description']}")
    return "\n".join(lines)
