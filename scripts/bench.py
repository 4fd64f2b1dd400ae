#!/usr/bin/env python3
"""Training and evaluation throughput of fnmlp against PyTorch CPU, scikit-learn and the GEMM limit.

For each workload every contender trains one epoch on ``--rows`` rows of MNIST-shaped data (784
features in [0, 1], 10 classes) and then evaluates ``--eval-rows`` rows, once as a warm-up and then
in ``--repeats`` rounds. In a round each peer runs back to back with fnmlp of its dtype (fnmlp first
in even rounds, second in odd ones), and the ratio fnmlp / peer is taken from that pair: on a shared
machine absolute speeds drift between rounds, ratios of neighbouring runs much less. The table gives
medians of samples per second and of the ratios. Contenders:

- ``fnmlp``: ``fnmlp.training.fit`` for one epoch (the loop the CLI uses), float32 and float64;
  evaluation is ``fnmlp.predict``. ``--optimizer adam`` (or ``adamw``) trains it with that optimizer
  instead of the workload's SGD (the peers keep theirs): compare its samples per second, or its ratio
  to ``gemm-limit``, with an ``--optimizer sgd`` run.
- ``hw1``: ``fnmlp.hw1.MLP`` trained through ``fnmlp.hw1.get_training_stats`` (float64).
- ``torch``: the same network as an ``nn.Sequential`` trained with ``optim.SGD(momentum=...)`` in eager
  mode, with ``torch.set_num_threads`` set to NumPy's BLAS threads; float32 and float64.
- ``sklearn``: ``MLPClassifier(solver="sgd", nesterovs_momentum=False, alpha=0)``, one epoch per
  ``partial_fit``; float32 and float64 (no BatchNorm, so skipped on ``--bn`` workloads).
- ``gemm-limit``: the epoch's matrix products alone (forward, weight gradients, and input gradients
  of every layer but the first), at the same shapes and memory layouts, into preallocated outputs
  and with their operands warm in cache. Its samples per second is the rate at which NumPy's BLAS
  could train if nothing else took time (a bound: in a real step the operands are colder).

Peers that are not installed (``pip install -e '.[bench]'``) are skipped with a note. ``--json PATH``
writes everything, per-round figures included. ``--profile`` prints where one fnmlp float32 epoch
spends its time (cProfile). Run from the repository root::

    python3 scripts/bench.py                     # both workloads, 5 rounds after a warm-up
    python3 scripts/bench.py --workloads handout --bn 1 --repeats 5 --json bench.json
    python3 scripts/bench.py --tiny              # seconds; what the test suite runs
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import json
import os
import platform
import pstats
import statistics
import sys
import time
from typing import Any, Callable, Optional

import attrs
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import fnmlp  # noqa: E402
import fnmlp.hw1 as hw1  # noqa: E402
from fnmlp._atomic import atomic_write  # noqa: E402
from fnmlp.training import fit  # noqa: E402

NUM_CLASSES = 10
FEATURES = 784
DTYPES = {"float32": np.float32, "float64": np.float64}


@attrs.frozen
class Workload:
    """A network and how it is trained."""

    name: str
    hidden: tuple
    activation: str
    batch_size: int
    lr: float = 0.008
    momentum: float = 0.9
    num_bn_layers: int = 0

    @property
    def spec(self) -> fnmlp.MLPSpec:
        return fnmlp.MLPSpec.from_hidden_sizes(FEATURES, self.hidden, NUM_CLASSES, activation=self.activation,
                                               num_bn_layers=self.num_bn_layers)

    def describe(self) -> str:
        sizes = "-".join(str(n) for n in (FEATURES, *self.hidden, NUM_CLASSES))
        bn = f", BatchNorm on {self.num_bn_layers}" if self.num_bn_layers else ""
        return (f"{sizes} {self.activation}{bn}, batch {self.batch_size}, lr {self.lr}, "
                f"momentum {self.momentum}")


WORKLOADS = {
    "handout": Workload("handout", (64, 64, 32), "sigmoid", batch_size=100),
    "gemm": Workload("gemm", (1024, 1024), "relu", batch_size=256),
}
TINY_HIDDEN = {"handout": (64, 64, 32), "gemm": (256, 256)}


@attrs.frozen(eq=False)
class Data:
    x: dict  # dtype name -> (rows, 784)
    y: np.ndarray
    x_eval: dict
    y_eval: np.ndarray


def make_data(rows: int, eval_rows: int, seed: int = 0) -> Data:
    """Pixel-like features in [0, 1] and labels a fixed linear teacher gives them (so training learns)."""
    rng = np.random.default_rng(seed)
    x = rng.random((rows + eval_rows, FEATURES), dtype=np.float32)
    teacher = rng.standard_normal((FEATURES, NUM_CLASSES)).astype(np.float32)
    y = (x @ teacher).argmax(axis=1)
    xs = {name: x[:rows].astype(dtype) for name, dtype in DTYPES.items()}
    xe = {name: x[rows:].astype(dtype) for name, dtype in DTYPES.items()}
    return Data(xs, y[:rows], xe, y[rows:])


# ----------------------------------------------------------------------------------------------
# Contenders. Each is built once per workload and dtype (outside the timings) and then asked, round
# by round, to train one epoch and to evaluate; both continue from where the last round left off.


class Skip(Exception):
    """A contender that cannot run here; the message says why."""


OPTIMIZERS = {"sgd": lambda w: fnmlp.sgd(w.lr, w.momentum), "adam": lambda w: fnmlp.adam(1e-3),
              "adamw": lambda w: fnmlp.adamw(1e-3)}


class FnmlpFit:
    def __init__(self, w: Workload, data: Data, dtype: str, seed: int, optimizer: str = "sgd"):
        self.spec, self.w = w.spec, w
        self.params, self.state = fnmlp.init_params(self.spec, seed, weight_init="lecun", dtype=DTYPES[dtype])
        self.opt = OPTIMIZERS[optimizer](w)
        self.x, self.y, self.x_eval = data.x[dtype], data.y, data.x_eval[dtype]
        self.seed = seed

    def train_epoch(self) -> float:
        self.seed += 1
        result = fit(self.spec, self.params, self.state, self.opt, (self.x, self.y), epochs=1,
                     batch_size=self.w.batch_size, rng=self.seed)
        self.params, self.state = result.params, result.bn_state
        return result.history[-1].train_loss

    def evaluate(self) -> None:
        fnmlp.predict(self.spec, self.params, self.state, self.x_eval)


class Hw1MLP:
    """``fnmlp.hw1.MLP`` built and trained as the handout's runner does."""

    def __init__(self, w: Workload, data: Data, dtype: str, seed: int):
        if dtype != "float64":
            raise Skip("the handout's classes run in float64")
        act = {"sigmoid": hw1.Sigmoid, "relu": hw1.ReLU, "tanh": hw1.Tanh}[w.activation]
        activations = [act() for _ in w.hidden] + [hw1.Identity()]
        init_rng = np.random.RandomState(seed)

        def weight_init(fan_in, fan_out):
            return init_rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)

        self.mlp = hw1.MLP(FEATURES, NUM_CLASSES, list(w.hidden), activations, weight_init, hw1.zeros_bias_init,
                           hw1.SoftmaxCrossEntropy(), w.lr, w.momentum, w.num_bn_layers)
        x, y = data.x[dtype], fnmlp.one_hot(data.y, NUM_CLASSES)
        held_out = (x[:w.batch_size], y[:w.batch_size])  # the runner's validation/test pass, kept tiny
        self.dset = ((x, y), held_out, held_out)
        self.batch_size, self.x_eval = w.batch_size, data.x_eval[dtype]

    def train_epoch(self) -> float:
        np.random.seed(0)
        self.mlp.train()
        losses = hw1.get_training_stats(self.mlp, self.dset, 1, self.batch_size)[0]
        return float(losses[-1])

    def evaluate(self) -> None:
        self.mlp.eval()
        self.mlp.forward(self.x_eval)


class TorchSequential:
    """The same network in PyTorch eager mode, starting from fnmlp's initial weights."""

    def __init__(self, w: Workload, data: Data, dtype: str, seed: int, threads: int):
        torch = _optional("torch")
        torch.set_num_threads(threads)
        self.torch, self.w = torch, w
        params, _ = fnmlp.init_params(w.spec, seed, weight_init="lecun", dtype=DTYPES[dtype])
        layers = []
        act = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[w.activation]
        for i, (W, b) in enumerate(zip(params.W, params.b)):
            linear = torch.nn.Linear(*W.shape)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W.T.copy()))
                linear.bias.copy_(torch.from_numpy(b.copy()))
            layers.append(linear)
            if i < w.num_bn_layers:
                layers.append(torch.nn.BatchNorm1d(W.shape[1], eps=w.spec.bn_eps, momentum=1 - w.spec.bn_alpha))
            if i < len(w.hidden):
                layers.append(act())
        self.model = torch.nn.Sequential(*layers).to(getattr(torch, dtype))
        self.opt = torch.optim.SGD(self.model.parameters(), lr=w.lr, momentum=w.momentum)
        self.loss = torch.nn.CrossEntropyLoss()
        self.x = torch.from_numpy(data.x[dtype])
        self.y = torch.from_numpy(data.y)
        self.x_eval = torch.from_numpy(data.x_eval[dtype])
        self.gen = torch.Generator().manual_seed(seed)

    def train_epoch(self) -> float:
        torch, bs = self.torch, self.w.batch_size
        self.model.train()
        order = torch.randperm(self.x.shape[0], generator=self.gen)
        loss_sum = torch.zeros((), dtype=torch.float64)
        wrong = torch.zeros((), dtype=torch.int64)
        for begin in range(0, self.x.shape[0], bs):
            rows = order[begin:begin + bs]
            xb, yb = self.x[rows], self.y[rows]
            self.opt.zero_grad(set_to_none=True)
            logits = self.model(xb)
            loss = self.loss(logits, yb)
            loss.backward()
            self.opt.step()
            with torch.no_grad():  # the epoch's training loss and error, as fnmlp reports them
                loss_sum += loss.detach() * xb.shape[0]
                wrong += (logits.argmax(dim=1) != yb).sum()
        return float(loss_sum) / self.x.shape[0]

    def evaluate(self) -> None:
        self.model.eval()
        with self.torch.inference_mode():
            self.model(self.x_eval)


class SklearnMLP:
    def __init__(self, w: Workload, data: Data, dtype: str, seed: int):
        neural_network = _optional("sklearn.neural_network")
        if w.num_bn_layers:
            raise Skip("MLPClassifier has no BatchNorm")
        act = {"sigmoid": "logistic", "relu": "relu", "tanh": "tanh"}[w.activation]
        self.model = neural_network.MLPClassifier(
            hidden_layer_sizes=w.hidden, activation=act, solver="sgd", learning_rate_init=w.lr,
            momentum=w.momentum, nesterovs_momentum=False, alpha=0.0, batch_size=w.batch_size, shuffle=True,
            random_state=seed)
        self.x, self.y, self.x_eval = data.x[dtype], data.y, data.x_eval[dtype]
        self.classes = np.arange(NUM_CLASSES)
        self.model.partial_fit(self.x[:w.batch_size], self.y[:w.batch_size], classes=self.classes)
        if self.model.coefs_[0].dtype != self.x.dtype:
            raise Skip(f"MLPClassifier trains {self.x.dtype} data in {self.model.coefs_[0].dtype}")

    def train_epoch(self) -> float:
        self.model.partial_fit(self.x, self.y)
        return float(self.model.loss_)

    def evaluate(self) -> None:
        self.model.predict_proba(self.x_eval)


class GemmLimit:
    """The epoch's matrix products alone, as BLAS computes them into preallocated outputs."""

    def __init__(self, w: Workload, data: Data, dtype: str, seed: int):
        rows = data.x[dtype].shape[0]
        sizes = w.spec.layer_sizes
        full, last = divmod(rows, w.batch_size)
        self.batches = [self._products(sizes, w.batch_size, DTYPES[dtype], seed)] * full
        if last:
            self.batches.append(self._products(sizes, last, DTYPES[dtype], seed))
        self.flops = sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for batch in self.batches for a, b, _ in batch)
        self.eval_products = self._products(sizes, data.x_eval[dtype].shape[0], DTYPES[dtype], seed)[:len(sizes) - 1]

    @staticmethod
    def _products(sizes: tuple, batch: int, dtype: Any, seed: int) -> list:
        """``(a, b, out)`` for every product of one training step, in the layouts fnmlp uses."""
        rng = np.random.default_rng(seed)
        acts = [rng.random((batch, n)).astype(dtype) for n in sizes]
        weights = [rng.random((m, n)).astype(dtype) for m, n in zip(sizes[:-1], sizes[1:])]
        forward = [(acts[i], weights[i], np.empty((batch, sizes[i + 1]), dtype)) for i in range(len(weights))]
        weight_grads = [(acts[i].T, acts[i + 1], np.empty(weights[i].shape, dtype)) for i in range(len(weights))]
        input_grads = [(acts[i + 1], weights[i].T, np.empty((batch, sizes[i]), dtype))
                       for i in range(1, len(weights))]
        return forward + weight_grads + input_grads

    def train_epoch(self) -> float:
        for products in self.batches:
            for a, b, out in products:
                np.matmul(a, b, out=out)
        return float("nan")

    def evaluate(self) -> None:
        for a, b, out in self.eval_products:
            np.matmul(a, b, out=out)


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise Skip(f"{module.split('.')[0]} is not installed (pip install -e '.[bench]')") from None


# (name, dtype, builder); the first is fnmlp's own loop, compared with every peer of its dtype.
def contenders(threads: int, peers: set, optimizer: str = "sgd") -> list:
    table = [("fnmlp", d, lambda *a, **k: FnmlpFit(*a, **k, optimizer=optimizer)) for d in DTYPES]
    table += [("hw1", "float64", Hw1MLP)]
    table += [("torch", d, lambda *a, **k: TorchSequential(*a, **k, threads=threads)) for d in DTYPES]
    table += [("sklearn", d, SklearnMLP) for d in DTYPES]
    table += [("gemm-limit", d, GemmLimit) for d in DTYPES]
    return [c for c in table if c[0] == "fnmlp" or c[0] in peers]


PEERS = ("hw1", "torch", "sklearn", "gemm-limit")


# ----------------------------------------------------------------------------------------------


def blas_threads() -> tuple:
    """``(threads, description)`` of NumPy's BLAS."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        numpy_dir = os.path.dirname(os.path.dirname(np.__file__))
        for pool in threadpool_info():
            if pool.get("user_api") == "blas" and pool["filepath"].startswith(numpy_dir) and "numpy" in pool["filepath"]:
                return pool["num_threads"], (f"{pool['internal_api']} {pool.get('version')} "
                                             f"({pool.get('architecture')} kernels, {pool['num_threads']} threads)")
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"] if hasattr(np, "show_config") else {}
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            threads = int(os.environ[var])
            break
    else:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return threads, f"{blas.get('name', '?')} {blas.get('version', '?')} ({threads} threads, assumed)"


def machine(threads: int, blas: str) -> dict:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = {}
    for module in ("torch", "sklearn", "threadpoolctl"):
        mod = sys.modules.get(module)
        versions[module] = getattr(mod, "__version__", None) if mod else None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "blas": blas, "threads": threads, "fnmlp": fnmlp.__version__, **versions}


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
                    if not peer.startswith("gemm-limit"):
                        eval_ratios.setdefault(name, []).append(measured[ours][1] / measured[peer][1])
    result = {"workload": attrs.asdict(w), "description": w.describe(), "skipped": skipped,
              "train": {k: _summary(v) for k, v in train.items()},
              "eval": {k: _summary(v) for k, v in evals.items() if not k.startswith("gemm-limit")},
              "ratios": {k: _summary(v) for k, v in ratios.items()},
              "eval_ratios": {k: _summary(v) for k, v in eval_ratios.items()}}
    for key in built:
        if key.startswith("gemm-limit"):
            result["gemm_flops_per_epoch"] = built[key].flops
            result["train"][key]["gflops"] = built[key].flops / 1e9 * result["train"][key]["median"] / data.y.shape[0]
    return result


def _summary(values: list) -> dict:
    return {"median": statistics.median(values), "rounds": values}


def profile_epoch(w: Workload, data: Data, seed: int, lines: int = 25) -> str:
    """cProfile of one fnmlp float32 epoch (after a warm-up one), sorted by own time."""
    contender = FnmlpFit(w, data, "float32", seed)
    contender.train_epoch()
    profiler = cProfile.Profile()
    profiler.enable()
    contender.train_epoch()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(lines)
    return out.getvalue()


# ----------------------------------------------------------------------------------------------


def format_report(report: dict) -> str:
    m = report["machine"]
    lines = [f"machine: {m['cpu']}, {m['cores']} cores; python {m['python']}, numpy {m['numpy']}, "
             f"BLAS {m['blas']}; torch {m['torch']}, scikit-learn {m['sklearn']}",
             f"settings: {report['settings']['rows']:,} training rows (one epoch), "
             f"{report['settings']['eval_rows']:,} evaluation rows, {report['settings']['repeats']} rounds "
             f"after a warm-up; medians of samples/s and of the ratios of back-to-back runs"]
    for res in report["workloads"]:
        lines += ["", f"{res['workload']['name']}: {res['description']}"]
        header = f"  {'contender':<20} {'train samples/s':>16} {'fnmlp / it':>11} {'eval samples/s':>15} {'fnmlp / it':>11}"
        lines += [header, "  " + "-" * (len(header) - 2)]
        for key, summary in res["train"].items():
            dtype = key.rsplit("_", 1)[1]
            ratio = res["ratios"].get(f"fnmlp_{dtype}/{key}")
            eval_ratio = res["eval_ratios"].get(f"fnmlp_{dtype}/{key}")
            name = key.replace("_", " ")
            if "gflops" in summary:
                name += f" ({summary['gflops']:.0f} GFLOP/s)"
                eval_text = ""
            else:
                eval_text = f"{res['eval'][key]['median']:>15,.0f}"
            lines.append(f"  {name:<20} {summary['median']:>16,.0f} "
                         f"{_ratio_text(ratio):>11} {eval_text:>15} {_ratio_text(eval_ratio):>11}")
        for key, why in res["skipped"].items():
            lines.append(f"  {key.replace('_', ' '):<20} skipped: {why}")
    return "\n".join(lines)


def _ratio_text(summary: Optional[dict]) -> str:
    return "" if summary is None else f"{summary['median']:.2f}x"


def parse_args(argv: Optional[list]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", nargs="+", choices=sorted(WORKLOADS), default=list(WORKLOADS))
    parser.add_argument("--bn", type=int, default=None, metavar="K",
                        help="also run each workload with BatchNorm on its first K layers")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds after the warm-up (default 5)")
    parser.add_argument("--rows", type=int, default=55000, help="training rows (default 55,000)")
    parser.add_argument("--eval-rows", type=int, default=10000, help="evaluation rows (default 10,000)")
    parser.add_argument("--peers", nargs="*", choices=PEERS, default=list(PEERS),
                        help="peers to compare with (default all that are installed)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS and PyTorch threads (default: what NumPy's BLAS uses)")
    parser.add_argument("--tiny", action="store_true",
                        help="a few seconds' run: 512 rows, 256-wide GEMM workload, 1 round")
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="sgd",
                        help="fnmlp's optimizer (default sgd, the workload's; adam and adamw at lr 1e-3)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one fnmlp float32 epoch")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.tiny:
        args.rows, args.eval_rows, args.repeats = min(args.rows, 512), min(args.eval_rows, 256), 1
    return args


def main(argv: Optional[list] = None) -> dict:
    args = parse_args(argv)
    if args.threads is not None:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            sys.exit("--threads needs threadpoolctl (or set OPENBLAS_NUM_THREADS before starting python)")
        threadpool_limits(args.threads, user_api="blas")
    threads, blas = blas_threads()
    log = (lambda message: print(message, file=sys.stderr, flush=True))
    workloads = []
    for name in args.workloads:
        w = WORKLOADS[name]
        if args.tiny:
            w = attrs.evolve(w, hidden=TINY_HIDDEN[name])
        workloads.append(w)
        if args.bn:
            workloads.append(attrs.evolve(w, name=f"{name}-bn{args.bn}", num_bn_layers=args.bn))
    data = make_data(args.rows, args.eval_rows, args.seed)
    table = contenders(threads, set(args.peers), args.optimizer)
    results = [run_workload(w, data, table, args.repeats, args.seed, log) for w in workloads]
    report = {"machine": machine(threads, blas),
              "settings": {"rows": args.rows, "eval_rows": args.eval_rows, "repeats": args.repeats, "warmup": 1,
                           "tiny": args.tiny, "peers": sorted(args.peers), "optimizer": args.optimizer, "command": sys.argv if argv is None else argv},
              "workloads": results}
    print(format_report(report))
    if args.profile:
        report["profiles"] = {w.name: profile_epoch(w, data, args.seed) for w in workloads}
        for name, text in report["profiles"].items():
            print(f"\nprofile of one fnmlp float32 epoch, {name}:\n{text}")
    if args.json:
        write_json(args.json, report)
    return report


def write_json(path: str, report: dict) -> None:
    """Write ``report`` to ``path`` whole or not at all."""
    with atomic_write(path, "w") as f:
        json.dump(report, f, indent=1, default=float)


if __name__ == "__main__":
    main()
