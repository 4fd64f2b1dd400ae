"""The throughput table: every contender trains an epoch and evaluates, round by round, each peer
back to back with fnmlp of its dtype."""

from __future__ import annotations

import statistics
import time
from typing import Callable

import attrs

from .skip import Skip
from .workloads import DTYPES, Data, Workload


def run_workload(w: Workload, data: Data, table: list, rounds: int, seed: int, log: Callable) -> dict:
    """Each round times every peer back to back with fnmlp of its dtype (fnmlp first in even rounds,
    second in odd ones), so each ratio compares two runs a few seconds apart."""
    built, skipped = {}, {}
    for name, dtype, build in table:
        key = f"{name}_{dtype}"
        try:
            built[key] = build(w, data, dtype, seed)
        except Skip as why:
            skipped[key] = str(why)
    train = {key: [] for key in built}
    evals = {key: [] for key in built}
    ratios, eval_ratios = {}, {}

    def run(key: str, label: str) -> tuple:
        started = time.perf_counter()
        built[key].train_epoch()
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        built[key].evaluate()
        eval_seconds = time.perf_counter() - started
        log(f"  {w.name} {label}: {key} {data.y.shape[0] / seconds:,.0f} samples/s")
        return data.y.shape[0] / seconds, data.y_eval.shape[0] / eval_seconds

    for key in list(built):
        try:
            run(key, "warm-up")
        except Exception as error:  # a peer's API may differ from what this script expects; fnmlp's may not
            if key.startswith("fnmlp"):
                raise
            skipped[key] = f"failed in the warm-up: {type(error).__name__}: {error}"
            del built[key], train[key], evals[key]
    for r in range(rounds):
        for dtype in DTYPES:
            ours = f"fnmlp_{dtype}"
            peers = [key for key in built if key.endswith(dtype) and key != ours]
            for peer in peers or [None]:
                pair = [key for key in (ours, peer) if key is not None]
                measured = {key: run(key, f"round {r + 1}") for key in (pair if r % 2 == 0 else pair[::-1])}
                for key, (speed, eval_speed) in measured.items():
                    train[key].append(speed)
                    evals[key].append(eval_speed)
                if peer is not None:
                    name = f"{ours}/{peer}"
                    ratios.setdefault(name, []).append(measured[ours][0] / measured[peer][0])
                    eval_ratios.setdefault(name, []).append(measured[ours][1] / measured[peer][1])
    result = {"workload": attrs.asdict(w), "description": w.describe(), "skipped": skipped,
              "train": {k: _summary(v) for k, v in train.items()},
              "eval": {k: _summary(v) for k, v in evals.items()},
              "ratios": {k: _summary(v) for k, v in ratios.items()},
              "eval_ratios": {k: _summary(v) for k, v in eval_ratios.items()}}
    for key in built:
        if key.startswith("gemm-limit"):
            result["gemm_flops_per_epoch"] = built[key].flops
            result["train"][key]["gflops"] = built[key].flops / 1e9 * result["train"][key]["median"] / data.y.shape[0]
    return result


def _summary(values: list) -> dict:
    return {"median": statistics.median(values), "rounds": values}


def format_workload(res: dict) -> list:
    """The table lines of one ``run_workload`` result."""
    lines = ["", f"{res['workload']['name']}: {res['description']}"]
    header = f"  {'contender':<20} {'train samples/s':>16} {'fnmlp / it':>11} {'eval samples/s':>15} {'fnmlp / it':>11}"
    lines += [header, "  " + "-" * (len(header) - 2)]
    for key, summary in res["train"].items():
        dtype = key.rsplit("_", 1)[1]
        ratio = res["ratios"].get(f"fnmlp_{dtype}/{key}")
        eval_ratio = res["eval_ratios"].get(f"fnmlp_{dtype}/{key}")
        name = key.replace("_", " ")
        if "gflops" in summary:
            name += f" ({summary['gflops']:.0f} GFLOP/s)"
        eval_text = f"{res['eval'][key]['median']:>15,.0f}"
        lines.append(f"  {name:<20} {summary['median']:>16,.0f} "
                     f"{_ratio_text(ratio):>11} {eval_text:>15} {_ratio_text(eval_ratio):>11}")
    for key, why in res["skipped"].items():
        lines.append(f"  {key.replace('_', ' '):<20} skipped: {why}")
    return lines


def _ratio_text(summary: dict | None) -> str:
    return "" if summary is None else f"{summary['median']:.2f}x"
