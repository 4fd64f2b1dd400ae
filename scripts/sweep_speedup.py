#!/usr/bin/env python3
"""Wall time of ``fnmlp sweep --workers N`` on 8 small trials against the same 8 ``fnmlp train`` runs one
after another, and their ratio (sweep / sequential; the target on 2 cores is <= 0.65).

Both sides are whole commands started from a shell, as a user would start them: the sweep is one
``python -m fnmlp sweep`` (cluster start and shutdown included); the sequence is eight ``python -m
fnmlp train`` processes in a row, with the environment as it is. With ``--repeats R`` the two sides
alternate (sequence first in even rounds) and the median ratio of the pairs is reported. The load
average before and after tells how busy the machine was. Run from the repository root::

    python3 scripts/sweep_speedup.py                # 8 trials, --workers 2, one round
    python3 scripts/sweep_speedup.py --repeats 3 --json speedup.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fnmlp import sweep  # noqa: E402
from fnmlp.utils.atomic import atomic_write  # noqa: E402

SWEEP = """\
[base]
limit = {limit}
epochs = {epochs}
hidden = [64, 32]
init = "lecun"
[grid]
lr = [0.01, 0.03, 0.1, 0.3]
seed = [1, 2]
"""


def timed(command: list, env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"sweep_speedup: {' '.join(command)} failed:\n{done.stderr}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=10000, help="rows of each split per trial")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rounds = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="fnmlp-speedup-") as tmp:
        file = Path(tmp) / "sweep.toml"
        file.write_text(SWEEP.format(limit=args.limit, epochs=args.epochs))
        plan = sweep.make_plan(sweep.load_sweep_file(file), str(file))
        for r in range(args.repeats):
            def sequence() -> float:
                return sum(timed([sys.executable, "-m", "fnmlp", "train", *trial["argv"], "--epochs",
                                  str(trial["epochs"]), "--progress", "none", "--out",
                                  str(Path(tmp) / f"seq{r}" / trial["name"])], env) for trial in plan["trials"])

            def swept() -> float:
                return timed([sys.executable, "-m", "fnmlp", "sweep", str(file), "--out", str(Path(tmp) / f"sweep{r}"),
                              "--workers", str(args.workers)], env)

            if r % 2 == 0:
                seq, par = sequence(), swept()
            else:
                par, seq = swept(), sequence()
            rounds.append({"sequential_seconds": seq, "sweep_seconds": par, "ratio": par / seq})
            print(f"round {r + 1}: 8 trials one after another {seq:.1f} s, sweep --workers {args.workers} "
                  f"{par:.1f} s, ratio {par / seq:.3f}", flush=True)
    load_after = os.getloadavg()
    ratio = statistics.median(row["ratio"] for row in rounds)
    print(f"median ratio sweep / sequential: {ratio:.3f} (target <= 0.65) on {os.cpu_count()} cores; "
          f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")
    if args.json:
        with atomic_write(args.json, "w") as out:
            json.dump({"rounds": rounds, "ratio": ratio, "workers": args.workers, "limit": args.limit,
                       "epochs": args.epochs, "cores": os.cpu_count(), "load_before": load_before,
                       "load_after": load_after}, out, indent=2)
            out.write("\n")


if __name__ == "__main__":
    main()
