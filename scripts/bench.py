#!/usr/bin/env python3
"""Training and evaluation throughput of fnmlp against PyTorch CPU, scikit-learn and the GEMM limit.

For each workload every contender trains one epoch on ``--rows`` rows of MNIST-shaped data (784
features in [0, 1], 10 classes) and then evaluates ``--eval-rows`` rows, once as a warm-up and then
in ``--repeats`` rounds. In a round each peer runs back to back with fnmlp of its dtype (fnmlp first
in even rounds, second in odd ones), and the ratio fnmlp / peer is taken from that pair: on a shared
machine absolute speeds drift between rounds, ratios of neighbouring runs much less. The table gives
medians of samples per second and of the ratios. Contenders:

- ``fnmlp``: ``fnmlp.fit`` for one epoch (the loop the CLI uses), float32 and float64;
  evaluation is ``fnmlp.predict`` (the eval fast path, ``fnmlp.inference``). ``--optimizer adam`` (or
  ``adamw``) trains it with that optimizer instead of the workload's SGD (the peers keep theirs):
  compare its samples per second, or its ratio to ``gemm-limit``, with an ``--optimizer sgd`` run.
- ``hw1``: ``fnmlp.hw1.MLP`` trained through ``fnmlp.hw1.get_training_stats`` (float64).
- ``torch``: the same network as an ``nn.Sequential`` trained with ``optim.SGD(momentum=...)`` in eager
  mode, with ``torch.set_num_threads`` set to NumPy's BLAS threads; float32 and float64.
- ``sklearn``: ``MLPClassifier(solver="sgd", nesterovs_momentum=False, alpha=0)``, one epoch per
  ``partial_fit``; float32 and float64 (no BatchNorm, so skipped on ``--bn`` workloads).
- ``numpy-loop``: the workload written out as a plain NumPy loop (every buffer preallocated, no
  checks, no records; no BatchNorm): what NumPy can do at these shapes without a library around it.
- ``gemm-limit``: the epoch's matrix products alone (forward, weight gradients, and input gradients
  of every layer but the first), at the same shapes and memory layouts, into preallocated outputs
  and with their operands warm in cache. Its samples per second is the rate at which NumPy's BLAS
  could train if nothing else took time (a bound: in a real step the operands are colder). Its
  evaluation is the forward products alone, one call per layer on all the rows.

The header names NumPy's BLAS, the kernel it runs (threadpoolctl's ``architecture``, else NumPy's
build configuration), its threads and every ``OPENBLAS_*`` variable set; this machine's
``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` force older kernels, so benchmark with both unset
(``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 scripts/bench.py ...``).

Other modes (each replaces the throughput table; ``--repeats 0`` skips it too):

- ``--time-to-accuracy``: trains ``BEST_RECIPE``, the ``fnmlp.config.TrainConfig`` ``RECIPES["best"]``
  itself (today 784-1024-1024-10 ReLU, He init, BatchNorm on both hidden layers, dropout 0.2 on the input and 0.5
  on each hidden output, SGD with Nesterov momentum 0.9, lr 0.1 with a per-batch cosine decay to 0
  over 50 epochs, weight decay 1e-4 on the weights, batch 128, float32, seed 11785), in fnmlp exactly
  as ``fnmlp train --recipe best`` builds it, in a PyTorch mirror of it (``TorchRecipe``; its one
  known difference, BatchNorm's running variance averaging the unbiased batch variance, is printed
  under the table), and ``MLPClassifier(solver="adam")`` at the same sizes and batch, on the bundled
  MNIST split (55,000 training rows). Test accuracy after every epoch, its time counted; records
  when (seconds and epoch) 98.0%, 98.5% and 98.7% (``--targets``) are first reached, and fnmlp's time
  over each peer's at every target and per epoch. ``--epochs`` (the schedule's length
  too), ``--max-seconds`` bound each run; ``--plot PATH`` draws test error against wall time;
  ``--tiny`` trains a 64-64 network of the same recipe for 2 epochs on 2,000 rows.
- ``--baseline DIR``: one epoch of each ``--baseline-workloads`` (``gemm``, ``handout``, ``best``: the
  ``best`` recipe's network and training) in this checkout's fnmlp and in DIR's, a fresh process per
  run, alternating for ``--repeats`` rounds; median seconds and speed-up (``benchmarks.baseline``).
- ``--array-backend numpy torch jax cupy``: training samples per second of the gemm workload's network
  in float32 through fnmlp on each library's arrays (PyTorch CPU tensors and CuPy through ``fnmlp.fit``,
  JAX as a ``jax.jit``-compiled step of fnmlp's kernels), beside NumPy fnmlp and ``torch.nn``
  (``benchmarks.array_backends``). A library asked for that cannot run here (not installed, or no GPU
  for CuPy) gets one line and exit status 2, before anything is measured.
- ``--memory``: the peak resident memory (``ru_maxrss``) of one float32 training epoch of each
  workload per contender (fnmlp, torch, sklearn), each in a fresh process, beside the resident
  memory just before the epoch.

Peers that are not installed (``pip install -e '.[bench]'``) are skipped with a note. ``--json PATH``
writes everything, per-round figures included. ``--augment TOKEN ...`` adds ``fnmlp-augment``,
fnmlp training on batches augmented as ``fnmlp train --augment`` says: its ratio to fnmlp is
augmentation's cost. ``--profile`` first times the parts of an epoch
outside the matrix products (``benchmarks.profiling.breakdown_epoch``). ``--threads N`` sets fnmlp's elementwise pool
(``fnmlp.utils.threads``; the header prints its size), ``--blas-threads N`` NumPy's BLAS and PyTorch's
threads. ``--profile`` prints where one fnmlp float32 epoch
spends its time (cProfile, or ``--profiler pyinstrument``), ``--profile-recipe`` one fnmlp epoch of the
time-to-accuracy recipe on MNIST. The pieces live in the ``benchmarks`` package beside this script.
Run from the repository root::

    python3 scripts/bench.py                     # both workloads, 5 rounds after a warm-up
    python3 scripts/bench.py --workloads handout --bn 1 --repeats 5 --json bench.json
    python3 scripts/bench.py --time-to-accuracy --plot tta.png --json tta.json
    python3 scripts/bench.py --memory --peers torch sklearn
    python3 scripts/bench.py --workloads handout --repeats 0 --profile
    python3 scripts/bench.py --profile-recipe      # one epoch of --time-to-accuracy's fnmlp run
    python3 scripts/bench.py --tiny              # seconds; what the test suite runs
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Callable, Optional

import attrs

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the repository's fnmlp
sys.path.insert(0, HERE)  # the benchmarks package

import fnmlp  # noqa: E402,F401  (tests reach fnmlp through this module)
from fnmlp.utils import threads as fnmlp_threads  # noqa: E402
from benchmarks.baseline import WORKLOADS as BASELINE_WORKLOADS, compare, format_comparison  # noqa: E402
from benchmarks.array_backends import BACKENDS, run_backends, unavailable  # noqa: E402
from benchmarks.gemm_limit import GemmLimit  # noqa: E402,F401
from benchmarks.machine import blas_info, describe_blas, machine  # noqa: E402
from benchmarks.memory import measure_memory, memory_child  # noqa: E402
from benchmarks.numpy_loop import NumpyLoop  # noqa: E402,F401
from benchmarks.peers import OPTIMIZERS, PEERS, FnmlpFit, contenders  # noqa: E402,F401
from benchmarks.plots import plot_time_to_accuracy  # noqa: E402
from benchmarks.profiling import breakdown_epoch, format_breakdown, profile_epoch, profile_recipe_epoch  # noqa: E402
from benchmarks.recipes import (BEST_RECIPE, FnmlpRecipe, TorchRecipe, check_recipe, describe_recipe,  # noqa: E402,F401
                                fnmlp_training, mnist_split, recipe_schedule)
from benchmarks.report import format_report, write_json  # noqa: E402
from benchmarks.throughput import run_workload  # noqa: E402
from benchmarks.time_to_accuracy import time_to_accuracy  # noqa: E402
from benchmarks.workloads import TINY_HIDDEN, WORKLOADS, make_data  # noqa: E402


def parse_args(argv: Optional[list]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", nargs="+", choices=sorted(WORKLOADS), default=list(WORKLOADS))
    parser.add_argument("--bn", type=int, default=None, metavar="K",
                        help="also run each workload with BatchNorm on its first K layers")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed rounds after the warm-up (default 5; 0 skips the throughput table)")
    parser.add_argument("--rows", type=int, default=55000, help="training rows (default 55,000)")
    parser.add_argument("--eval-rows", type=int, default=10000, help="evaluation rows (default 10,000)")
    parser.add_argument("--peers", nargs="*", choices=PEERS, default=list(PEERS),
                        help="peers to compare with (default all that are installed)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads of fnmlp's elementwise pool (default: fnmlp's, see fnmlp.utils.threads)")
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="BLAS and PyTorch threads (default: what NumPy's BLAS uses)")
    parser.add_argument("--tiny", action="store_true",
                        help="a few seconds' run: 512 rows, 256-wide GEMM workload, 1 round; with "
                             "--time-to-accuracy, 2,000 MNIST rows, a 64-64 network and 2 epochs")
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="sgd",
                        help="fnmlp's optimizer (default sgd, the workload's; adam and adamw at lr 1e-3)")
    parser.add_argument("--dropout", type=float, nargs="+", default=(), metavar="RATE",
                        help="fnmlp trains with dropout, the rates as fnmlp train's --dropout takes them "
                             "(the peers train without): compare with a run without it")
    parser.add_argument("--augment", nargs="+", default=(), metavar="TOKEN",
                        help="add fnmlp-augment: fnmlp training on batches augmented as fnmlp train's --augment "
                             "says; its ratio to fnmlp is augmentation's cost")
    parser.add_argument("--profile", action="store_true", help="print a profile of one fnmlp float32 epoch")
    parser.add_argument("--profile-recipe", action="store_true",
                        help="print a profile of one fnmlp epoch of the time-to-accuracy recipe on MNIST")
    parser.add_argument("--profiler", choices=("cprofile", "pyinstrument"), default="cprofile")
    parser.add_argument("--time-to-accuracy", action="store_true",
                        help="train the recipe on MNIST in fnmlp, PyTorch and scikit-learn; time to each target")
    parser.add_argument("--targets", type=float, nargs="+", default=None, metavar="PERCENT",
                        help="test accuracies to time (default 98.0 98.5 98.7)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="time to accuracy: the epoch limit (and the cosine schedule's length; default "
                             "the recipe's, 50)")
    parser.add_argument("--max-seconds", type=float, default=900.0,
                        help="time to accuracy: stop a contender after the epoch that passes this (default 900)")
    parser.add_argument("--tta-peers", nargs="*", choices=("torch", "sklearn"), default=["torch", "sklearn"],
                        help="time to accuracy: contenders beside fnmlp (default both)")
    parser.add_argument("--plot", metavar="PATH", help="time to accuracy: plot test error against wall time")
    parser.add_argument("--memory", action="store_true",
                        help="peak resident memory of one float32 training epoch per contender, a process each")
    parser.add_argument("--memory-child", metavar="JOB", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", metavar="DIR",
                        help="compare one epoch of --baseline-workloads with the fnmlp checkout in DIR (e.g. a git "
                             "worktree of an older commit), a fresh process per run, --repeats rounds")
    parser.add_argument("--baseline-workloads", nargs="+", choices=BASELINE_WORKLOADS, default=list(BASELINE_WORKLOADS))
    parser.add_argument("--array-backend", nargs="+", choices=BACKENDS, default=None, metavar="LIBRARY",
                        help="train the gemm network through fnmlp on these libraries' arrays "
                             f"({', '.join(BACKENDS)}) beside NumPy fnmlp and torch.nn; exit 2 if one cannot run")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--seed", type=int, default=None,
                        help="default 0; with --time-to-accuracy, the recipe's seed (fnmlp train's, 11785)")
    args = parser.parse_args(argv)
    if args.tiny:
        args.rows, args.eval_rows, args.repeats = min(args.rows, 512), min(args.eval_rows, 256), min(args.repeats, 1)
    return args

def main(argv: Optional[list] = None) -> dict:
    """Run what ``argv`` asks for, print the table and return the report (written to ``--json`` too)."""
    args = parse_args(argv)
    if args.blas_threads is not None:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            sys.exit("--blas-threads needs threadpoolctl (or set OPENBLAS_NUM_THREADS before starting python)")
        threadpool_limits(args.blas_threads, user_api="blas")
    if args.threads is not None:
        fnmlp_threads.set_num_threads(args.threads)
    if args.memory_child:
        result = memory_child(json.loads(args.memory_child))
        print(json.dumps(result))
        return result
    if args.array_backend:
        missing = unavailable(args.array_backend)
        if missing:
            print(missing)
            sys.exit(2)
    blas = blas_info()
    threads = blas["threads"]
    seed = 0 if args.seed is None else args.seed
    log = (lambda message: print(message, file=sys.stderr, flush=True))
    workloads = selected_workloads(args)
    throughput = args.repeats > 0 and not (args.time_to_accuracy or args.memory or args.profile_recipe
                                           or args.array_backend or args.baseline)
    report = {"settings": {"rows": args.rows, "eval_rows": args.eval_rows, "repeats": args.repeats, "warmup": 1,
                           "tiny": args.tiny, "peers": sorted(args.peers), "optimizer": args.optimizer,
                           "dropout": list(args.dropout), "augment": list(args.augment),
                           "command": sys.argv if argv is None else argv}}
    print(f"BLAS: {describe_blas(blas)}; fnmlp's elementwise pool: {fnmlp_threads.num_threads()} threads", flush=True)
    if throughput or args.profile:
        data = make_data(args.rows, args.eval_rows, seed)
    if throughput:
        table = contenders(threads, set(args.peers), args.optimizer, tuple(args.dropout), tuple(args.augment))
        report["workloads"] = [run_workload(w, data, table, args.repeats, seed, log) for w in workloads]
    if args.baseline:
        report["baseline"] = compare(args.baseline, os.path.dirname(HERE), tuple(args.baseline_workloads), args.rows,
                                     max(1, args.repeats), args.threads, log)
    if args.array_backend:
        report["array_backends"] = run_backends(args.array_backend, make_data(args.rows, 0, seed, ("float32",)),
                                                args.repeats, seed, threads, log)
    if args.time_to_accuracy:
        report["time_to_accuracy"] = run_time_to_accuracy(args, threads, log)
    if args.memory:
        names = ["fnmlp"] + [p for p in ("torch", "sklearn") if p in args.peers]
        report["memory"] = measure_memory(workloads, args.rows, threads, seed, names, log)
    report = {"machine": machine(blas), **report}
    print(format_report(report))
    if "baseline" in report:
        print(f"\nagainst {args.baseline}:\n{format_comparison(report['baseline'], args.rows)}")
    if args.plot and "time_to_accuracy" in report:
        plot_time_to_accuracy(report["time_to_accuracy"], args.plot)
    if args.profile:
        report["breakdown"] = {w.name: breakdown_epoch(w, data, seed) for w in workloads}
        for w in workloads:
            print("\n" + format_breakdown(w.name, report["breakdown"][w.name], -(-args.rows // w.batch_size)))
        report["profiles"] = {w.name: profile_epoch(w, data, seed, profiler=args.profiler) for w in workloads}
        for name, text in report["profiles"].items():
            print(f"\nprofile ({args.profiler}) of one fnmlp float32 epoch, {name}:\n{text}")
    if args.profile_recipe:
        recipe = attrs.evolve(BEST_RECIPE, hidden=(64, 64)) if args.tiny else BEST_RECIPE
        text = profile_recipe_epoch(recipe, *mnist_split(args.tiny), profiler=args.profiler)
        report["recipe_profile"] = text
        print(f"\nprofile ({args.profiler}) of one fnmlp epoch of the recipe, {describe_recipe(recipe)}:\n{text}")
    if args.json:
        write_json(args.json, report)
    return report


def selected_workloads(args: argparse.Namespace) -> list:
    """``--workloads`` at ``--tiny``'s sizes if asked, each followed by its ``--bn`` variant if asked."""
    workloads = []
    for name in args.workloads:
        w = WORKLOADS[name]
        if args.tiny:
            w = attrs.evolve(w, hidden=TINY_HIDDEN[name])
        workloads.append(w)
        if args.bn:
            workloads.append(attrs.evolve(w, name=f"{name}-bn{args.bn}", num_bn_layers=args.bn))
    return workloads


def run_time_to_accuracy(args: argparse.Namespace, threads: int, log: Callable) -> dict:
    """``time_to_accuracy`` of ``BEST_RECIPE`` as ``--tiny``, ``--epochs``, ``--targets`` and ``--seed`` set it."""
    recipe = BEST_RECIPE
    if args.tiny:
        recipe = attrs.evolve(recipe, hidden=(64, 64), epochs=2)
    if args.epochs is not None:
        recipe = attrs.evolve(recipe, epochs=args.epochs)
    targets = tuple(args.targets or ((50.0, 80.0, 99.9) if args.tiny else (98.0, 98.5, 98.7)))
    train, test = mnist_split(args.tiny)
    seed = recipe.seed if args.seed is None else args.seed
    return time_to_accuracy(recipe, train, test, targets, args.max_seconds, threads, seed, log,
                            {"fnmlp", *args.tta_peers})


if __name__ == "__main__":
    main()
