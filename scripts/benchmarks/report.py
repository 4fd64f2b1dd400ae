"""The report: the text table of every mode that ran, and the JSON written whole or not at all."""

from __future__ import annotations

import json

from .array_backends import format_backends
from .memory import format_memory
from .throughput import format_workload
from .time_to_accuracy import format_time_to_accuracy

from fnmlp.runs import atomic_write


def format_report(report: dict) -> str:
    """The machine header, then the throughput table, time to accuracy and memory, whichever ran."""
    m = report["machine"]
    lines = [f"machine: {m['cpu']}, {m['cores']} cores; python {m['python']}, numpy {m['numpy']}; "
             f"torch {m['torch']}, scikit-learn {m['sklearn']}",
             f"BLAS: {m['blas']}"]
    if "workloads" in report:
        lines += [f"settings: {report['settings']['rows']:,} training rows (one epoch), "
                  f"{report['settings']['eval_rows']:,} evaluation rows, {report['settings']['repeats']} rounds "
                  f"after a warm-up; medians of samples/s and of the ratios of back-to-back runs"]
    for res in report.get("workloads", ()):
        lines += format_workload(res)
    if "time_to_accuracy" in report:
        lines += ["", format_time_to_accuracy(report["time_to_accuracy"])]
    if "memory" in report:
        lines += ["", format_memory(report["memory"])]
    if "array_backends" in report:
        lines += format_backends(report["array_backends"])
    return "\n".join(lines)


def write_json(path: str, report: dict) -> None:
    """Write ``report`` to ``path`` whole or not at all."""
    with atomic_write(path, "w") as f:
        json.dump(report, f, indent=1, default=float)
