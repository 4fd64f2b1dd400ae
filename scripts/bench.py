#!/usr/bin/env python3
"""Training and evaluation throughput of fnmlp against PyTorch CPU, scikit-learn and the GEMM limit.

For each workload every contender trains one epoch on ``--rows`` rows of MNIST-shaped data (784
features in [0, 1], 10 classes) and then evaluates ``--eval-rows`` rows, once as a warm-up and then
in ``--repeats`` rounds. In a round each peer runs back to back with fnmlp of its dtype (fnmlp first
in even rounds, second in odd ones), and the ratio fnmlp / peer is taken from that pair: on a shared
machine absolute speeds drift between rounds, ratios of neighbouring runs much less. The table gives
medians of samples per second and of the ratios. Contenders:

- ``fnmlp``: ``fnmlp.training.fit`` for one epoch (the loop the CLI uses), float32 and float64;
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

- ``--time-to-accuracy``: trains ``BEST_RECIPE``, ``Recipe.from_config(fnmlp.config.RECIPES["best"])``
  (today 784-1024-1024-10 ReLU, He init, BatchNorm on both hidden layers, dropout 0.2 on the input and 0.5
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
- ``--memory``: the peak resident memory (``ru_maxrss``) of one float32 training epoch of each
  workload per contender (fnmlp, torch, sklearn), each in a fresh process, beside the resident
  memory just before the epoch.

Peers that are not installed (``pip install -e '.[bench]'``) are skipped with a note. ``--json PATH``
writes everything, per-round figures included. ``--profile`` prints where one fnmlp float32 epoch
spends its time (cProfile, or ``--profiler pyinstrument``), ``--profile-recipe`` one fnmlp epoch of the
time-to-accuracy recipe on MNIST. Run from the repository root::

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
import cProfile
import importlib
import importlib.metadata
import io
import json
import math
import os
import platform
import pstats
import statistics
import sys
import textwrap
import time
from typing import Any, Callable, Optional

import attrs
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import fnmlp  # noqa: E402
import fnmlp.hw1 as hw1  # noqa: E402
from fnmlp.utils.atomic import atomic_write  # noqa: E402
from fnmlp.utils.checks import fail  # noqa: E402
from fnmlp.config import RECIPES, TrainConfig, build as build_config, layer_activations, layer_dropout  # noqa: E402
from fnmlp.model.initializers import SCALES, as_rng  # noqa: E402
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


def make_data(rows: int, eval_rows: int, seed: int = 0, dtypes: tuple = tuple(DTYPES)) -> Data:
    """Pixel-like features in [0, 1] and labels a fixed linear teacher gives them (so training learns),
    in each of ``dtypes``."""
    rng = np.random.default_rng(seed)
    x = rng.random((rows + eval_rows, FEATURES), dtype=np.float32)
    teacher = rng.standard_normal((FEATURES, NUM_CLASSES)).astype(np.float32)
    y = (x @ teacher).argmax(axis=1)
    xs = {name: x[:rows].astype(DTYPES[name], copy=False) for name in dtypes}
    xe = {name: x[rows:].astype(DTYPES[name], copy=False) for name in dtypes}
    return Data(xs, y[:rows], xe, y[rows:])


# ----------------------------------------------------------------------------------------------
# Contenders. Each is built once per workload and dtype (outside the timings) and then asked, round
# by round, to train one epoch and to evaluate; both continue from where the last round left off.


class Skip(Exception):
    """A contender that cannot run here; the message says why."""


OPTIMIZERS = {"sgd": lambda w: fnmlp.sgd(w.lr, w.momentum), "adam": lambda w: fnmlp.adam(1e-3),
              "adamw": lambda w: fnmlp.adamw(1e-3)}


class FnmlpFit:
    def __init__(self, w: Workload, data: Data, dtype: str, seed: int, optimizer: str = "sgd", dropout: tuple = ()):
        self.spec, self.w = w.spec, w
        if dropout:  # the rates in --dropout's forms, as fnmlp train reads them
            self.spec = attrs.evolve(w.spec, dropout=layer_dropout(TrainConfig(hidden=w.hidden, dropout=dropout)))
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


class NumpyLoop:
    """The workload as a hand-written NumPy loop: every buffer preallocated, the rows gathered with one
    ``np.take`` per batch, no checks, no records, SGD with momentum per array. What NumPy itself can
    do at these shapes, apart from the library around it; no BatchNorm."""

    def __init__(self, w: Workload, data: Data, dtype: str, seed: int):
        if w.num_bn_layers:
            raise Skip("the hand-written loop has no BatchNorm")
        if w.activation not in ("sigmoid", "relu"):
            raise Skip(f"the hand-written loop has no {w.activation}")
        params, _ = fnmlp.init_params(w.spec, seed, weight_init="lecun", dtype=DTYPES[dtype])
        self.W, self.b = [W.copy() for W in params.W], [b.copy() for b in params.b]
        self.vW, self.vb = [np.zeros_like(W) for W in self.W], [np.zeros_like(b) for b in self.b]
        self.gW, self.gb = [np.empty_like(W) for W in self.W], [np.empty_like(b) for b in self.b]
        batch, sizes, dt = w.batch_size, w.spec.layer_sizes, DTYPES[dtype]
        self.z = [np.empty((batch, n), dt) for n in sizes[1:]]
        self.delta = [np.empty((batch, n), dt) for n in sizes[1:-1]]
        self.xb, self.ones = np.empty((batch, sizes[0]), dt), np.ones(batch, dt)
        self.x, self.y, self.x_eval = data.x[dtype], data.y, data.x_eval[dtype]
        self.order, self.rng, self.w = np.arange(self.x.shape[0]), np.random.RandomState(seed), w  # as fit(rng=seed)

    def _activate(self, z: np.ndarray) -> None:
        if self.w.activation == "relu":
            fnmlp.model.activations.relu(z, out=z)  # max against a row of zeros, which NumPy vectorises
        else:
            np.negative(z, out=z)
            np.exp(z, out=z)
            z += 1
            np.reciprocal(z, out=z)

    def train_epoch(self) -> float:
        W, b, z, lr, momentum = self.W, self.b, self.z, self.w.lr, self.w.momentum
        last = len(W) - 1
        self.rng.shuffle(self.order)
        loss_sum = 0.0
        with np.errstate(over="ignore"):
            for begin in range(0, self.x.shape[0], self.w.batch_size):
                rows = self.order[begin:begin + self.w.batch_size]
                n = rows.shape[0]
                a = np.take(self.x, rows, axis=0, out=self.xb[:n])
                labels = self.y[rows]
                for i in range(len(W)):
                    a = np.matmul(a, W[i], out=z[i][:n])
                    a += b[i]
                    if i < last:
                        self._activate(a)
                a -= a.max(axis=1, keepdims=True)
                at_labels = a[np.arange(n), labels]
                np.exp(a, out=a)
                sums = a.sum(axis=1)
                loss_sum += float(np.log(sums).sum() - at_labels.sum())
                a /= sums[:, None]
                a[np.arange(n), labels] -= 1
                a /= n
                delta = a
                for i in range(last, -1, -1):
                    np.matmul(self.xb[:n].T if i == 0 else z[i - 1][:n].T, delta, out=self.gW[i])
                    np.matmul(self.ones[:n], delta, out=self.gb[i])
                    if i > 0:
                        out = z[i - 1][:n]
                        delta = np.matmul(delta, W[i].T, out=self.delta[i - 1][:n])
                        if self.w.activation == "relu":
                            delta *= out > 0
                        else:
                            delta *= out
                            delta *= 1 - out
                for p, v, g in zip(W + b, self.vW + self.vb, self.gW + self.gb):
                    v *= momentum
                    v -= lr * g
                    p += v
        return loss_sum / self.x.shape[0]

    def evaluate(self) -> None:
        a = self.x_eval
        for i in range(len(self.W)):
            a = a @ self.W[i]
            a += self.b[i]
            if i < len(self.W) - 1:
                self._activate(a)


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
def contenders(threads: int, peers: set, optimizer: str = "sgd", dropout: tuple = ()) -> list:
    table = [("fnmlp", d, lambda *a, **k: FnmlpFit(*a, **k, optimizer=optimizer, dropout=dropout)) for d in DTYPES]
    table += [("hw1", "float64", Hw1MLP)]
    table += [("torch", d, lambda *a, **k: TorchSequential(*a, **k, threads=threads)) for d in DTYPES]
    table += [("sklearn", d, SklearnMLP) for d in DTYPES]
    table += [("numpy-loop", d, NumpyLoop) for d in DTYPES]
    table += [("gemm-limit", d, GemmLimit) for d in DTYPES]
    return [c for c in table if c[0] == "fnmlp" or c[0] in peers]


PEERS = ("hw1", "torch", "sklearn", "numpy-loop", "gemm-limit")


# ----------------------------------------------------------------------------------------------


def blas_info() -> dict:
    """NumPy's BLAS: library, version, the kernel in use and its threads, and the ``OPENBLAS_*``
    variables set. The kernel comes from threadpoolctl's ``architecture`` (what OpenBLAS chose at run
    time); without threadpoolctl, from NumPy's build configuration (the build's target, which
    ``OPENBLAS_CORETYPE`` may override), and the threads from the environment."""
    env = {k: v for k, v in sorted(os.environ.items()) if k.startswith("OPENBLAS_")}
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        numpy_dir = os.path.dirname(os.path.dirname(np.__file__))
        for pool in threadpool_info():
            if pool.get("user_api") == "blas" and pool["filepath"].startswith(numpy_dir) and "numpy" in pool["filepath"]:
                return {"library": pool["internal_api"], "version": pool.get("version"),
                        "kernel": pool.get("architecture"), "kernel_source": "threadpoolctl",
                        "threads": pool["num_threads"], "threads_source": "threadpoolctl", "env": env}
    config = np.show_config(mode="dicts") if hasattr(np, "show_config") else {}
    blas = config.get("Build Dependencies", {}).get("blas", {})
    built = blas.get("openblas configuration", "")
    kernel = next((word for word in built.split() if word[:1].isupper() and word.isalpha()
                   and word not in {"OpenBLAS", "USE64BITINT", "DYNAMIC_ARCH", "NO_AFFINITY"}), None)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            threads, source = int(os.environ[var]), var
            break
    else:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        source = "assumed: one per usable core"
    return {"library": blas.get("name", "?"), "version": blas.get("version", "?"), "kernel": kernel,
            "kernel_source": "NumPy's build configuration", "threads": threads, "threads_source": source,
            "env": env}


def describe_blas(info: dict) -> str:
    env = ", ".join(f"{k}={v}" for k, v in info["env"].items()) or "none"
    return (f"{info['library']} {info['version']}, {info['kernel']} kernels ({info['kernel_source']}), "
            f"{info['threads']} threads; OPENBLAS_* set: {env}")


def machine(blas: dict) -> dict:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = {}
    for module, distribution in (("torch", "torch"), ("sklearn", "scikit-learn"), ("threadpoolctl", "threadpoolctl")):
        try:
            versions[module] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            versions[module] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "blas": describe_blas(blas), "blas_kernel": blas["kernel"], "threads": blas["threads"],
            "blas_info": blas, "openblas_env": blas["env"], "fnmlp": fnmlp.__version__, **versions}


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


def profile_epoch(w: Workload, data: Data, seed: int, lines: int = 30, profiler: str = "cprofile") -> str:
    """A profile of one fnmlp float32 epoch (after a warm-up one): cProfile sorted by own time, or
    pyinstrument's call tree."""
    contender = FnmlpFit(w, data, "float32", seed)
    contender.train_epoch()
    return profile_call(contender.train_epoch, lines, profiler)


def profile_recipe_epoch(recipe: Recipe, train: tuple, test: tuple, lines: int = 30,
                         profiler: str = "cprofile") -> str:
    """A profile of the first epoch of ``recipe`` in fnmlp as ``--time-to-accuracy`` trains it (its test
    evaluation included), after the same epoch run once to warm up."""
    def stop(epoch: int, error: float) -> None:
        raise StopTraining

    FnmlpRecipe(recipe, recipe.seed).run(train, test, stop)
    contender = FnmlpRecipe(recipe, recipe.seed)
    return profile_call(lambda: contender.run(train, test, stop), lines, profiler)


def profile_call(run: Callable[[], Any], lines: int = 30, profiler: str = "cprofile") -> str:
    """Where ``run()`` spends its time: cProfile sorted by own time, or pyinstrument's call tree."""
    if profiler == "pyinstrument":
        try:
            from pyinstrument import Profiler
        except ImportError:
            return "pyinstrument is not installed (pip install pyinstrument)"
        sampler = Profiler(interval=0.0005)
        sampler.start()
        run()
        sampler.stop()
        return sampler.output_text(unicode=False, color=False, show_all=False)
    profile = cProfile.Profile()
    profile.enable()
    run()
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(lines)
    return out.getvalue()


# ----------------------------------------------------------------------------------------------
# Time to accuracy: the same recipe trained in fnmlp, PyTorch and scikit-learn on the bundled MNIST
# split, test accuracy measured after every epoch (its time counted), until the last target.


@attrs.frozen
class Recipe:
    """A training recipe, as every time-to-accuracy contender reads it: ``Recipe.from_config`` of a
    ``fnmlp.config.TrainConfig`` (``BEST_RECIPE`` is ``RECIPES["best"]``'s), with the choices that
    ``fnmlp train`` leaves to the spec's defaults written out.

    - ``hidden``, ``activation`` (every hidden layer; the output is linear), ``init`` (an fnmlp scheme:
      normal weights of that scale, zero biases), ``bn`` (BatchNorm on the first ``bn`` layers, between
      the affine map and the activation; running statistics
      ``running = bn_alpha * running + (1 - bn_alpha) * batch``, ``bn_eps`` added to the variance).
    - ``dropout``: one rate per affine layer's input, the network input's first.
    - SGD with ``lr``, ``momentum``, ``nesterov`` and coupled ``weight_decay`` (``g + wd * W``, on the
      weights only); ``schedule`` ``"constant"`` or ``"cosine"`` (per batch, from ``lr`` to 0 over
      ``epochs`` epochs), after a linear warm-up of ``warmup_epochs``.
    - ``batch_size``, ``epochs``, ``dtype``, ``seed`` (the default seed of a run).
    """

    hidden: tuple
    activation: str
    init: str
    bn: int
    bn_alpha: float
    bn_eps: float
    dropout: tuple
    lr: float
    momentum: float
    nesterov: bool
    weight_decay: float
    schedule: str
    warmup_epochs: float
    batch_size: int
    epochs: int
    dtype: str
    seed: int

    @classmethod
    def from_config(cls, config: TrainConfig) -> "Recipe":
        """The recipe of ``config``; a ``ValueError`` names any choice of it the PyTorch mirror does not
        write out (another optimizer, an L2 penalty, clipping, early stopping, a step or exponential
        schedule, per-layer activations, a data set other than MNIST)."""
        unsupported = {"optimizer": ("sgd", "sgd"), "l2": (0.0, "0"), "clip_norm": (None, "None"),
                       "early_stopping": (None, "None"), "dataset": ("mnist", "mnist"), "limit": (None, "None")}
        for name, (wanted, text) in unsupported.items():
            if getattr(config, name) != wanted:
                fail(ValueError, f"config.{name}", f"{text} (what the time-to-accuracy contenders express)",
                     repr(getattr(config, name)))
        if config.schedule not in ("constant", "cosine"):
            fail(ValueError, "config.schedule", "constant or cosine", repr(config.schedule))
        activations = layer_activations(config)
        if len(set(activations[:-1])) > 1 or activations[-1] != "identity":
            fail(ValueError, "config.activation", "one activation for every hidden layer and a linear output",
                 repr(config.activation))
        spec = build_config(config, num_features=FEATURES, num_classes=NUM_CLASSES, num_train=1).spec
        return cls(hidden=config.hidden, activation=activations[0], init=config.init, bn=config.bn,
                   bn_alpha=spec.bn_alpha, bn_eps=spec.bn_eps, dropout=layer_dropout(config), lr=config.lr,
                   momentum=config.momentum, nesterov=config.nesterov, weight_decay=config.weight_decay,
                   schedule=config.schedule, warmup_epochs=config.warmup_epochs, batch_size=config.batch_size,
                   epochs=config.epochs, dtype=config.dtype, seed=config.seed)

    def to_config(self) -> TrainConfig:
        """The ``TrainConfig`` that ``fnmlp train`` would run for this recipe (on MNIST)."""
        return TrainConfig(hidden=self.hidden, activation=(self.activation,), init=self.init, bn=self.bn,
                           dropout=self.dropout, optimizer="sgd", lr=self.lr, momentum=self.momentum,
                           nesterov=self.nesterov, weight_decay=self.weight_decay, schedule=self.schedule,
                           warmup_epochs=self.warmup_epochs, epochs=self.epochs, batch_size=self.batch_size,
                           dtype=self.dtype, seed=self.seed)

    def describe(self) -> str:
        sizes = "-".join(str(n) for n in (FEATURES, *self.hidden, NUM_CLASSES))
        bn = f"BatchNorm on {self.bn} layers" if self.bn else "no BatchNorm"
        drop = "no dropout" if not any(self.dropout) else "dropout " + "/".join(f"{r:g}" for r in self.dropout)
        momentum = f"{'Nesterov ' if self.nesterov else ''}momentum {self.momentum:g}"
        warmup = f" after {self.warmup_epochs:g} warm-up epochs" if self.warmup_epochs else ""
        lr = f"lr {self.lr:g}" + (f" cosine to 0 over {self.epochs} epochs" if self.schedule == "cosine"
                                  else " constant") + warmup
        decay = f", weight decay {self.weight_decay:g}" if self.weight_decay else ""
        return (f"{sizes} {self.activation}, {self.init} init, {bn}, {drop}, SGD {momentum}, {lr}{decay}, "
                f"batch {self.batch_size}, {self.dtype}")


BEST_RECIPE = Recipe.from_config(RECIPES["best"])


def fnmlp_training(recipe: Recipe, steps_per_epoch: int) -> tuple:
    """``(spec, optimizer)`` for ``recipe`` in fnmlp: ``fnmlp.config.build`` of ``recipe.to_config()``,
    exactly what ``fnmlp train`` builds (the schedule spans ``steps_per_epoch * recipe.epochs`` steps)."""
    built = build_config(recipe.to_config(), num_features=FEATURES, num_classes=NUM_CLASSES,
                         num_train=steps_per_epoch * recipe.batch_size)
    spec = built.spec
    if (spec.bn_alpha, spec.bn_eps) != (recipe.bn_alpha, recipe.bn_eps):
        spec = attrs.evolve(spec, bn_alpha=recipe.bn_alpha, bn_eps=recipe.bn_eps)
    return spec, built.optimizer


def recipe_schedule(recipe: Recipe, steps_per_epoch: int) -> Callable[[int], float]:
    """``step -> lr`` for the PyTorch mirror, ``step`` counting batches from 0 (the first batch uses
    ``lr``), the formula of fnmlp's ``warmup_cosine_decay`` and ``linear_warmup`` written out: ``W``
    warm-up steps (``round(warmup_epochs * steps_per_epoch)``, at most ``T - 1``) of ``lr * step / W``,
    then ``lr`` (constant) or ``lr * (1 + cos(pi * min(step - W, T - W) / (T - W))) / 2`` (cosine),
    ``T = epochs * steps_per_epoch``."""
    total = max(1, recipe.epochs * steps_per_epoch)
    warmup = min(total - 1, round(recipe.warmup_epochs * steps_per_epoch))
    peak, span = float(recipe.lr), total - warmup

    def lr(step: int) -> float:
        if step < warmup:
            return peak * step / warmup
        if recipe.schedule == "constant":
            return peak
        return peak * 0.5 * (1.0 + math.cos(math.pi * (min(step - warmup, span) / span)))

    return lr


class StopTraining(Exception):
    pass


class FnmlpRecipe:
    """``fnmlp.training.fit`` on the recipe, set up as ``fnmlp train`` sets it up (one NumPy generator
    from the seed draws the initial weights, then shuffles and seeds the dropout masks), the test split
    as its validation data (so each epoch's test error is measured inside the epoch, as the CLI
    measures validation)."""

    name = "fnmlp"
    differences: tuple = ()

    def __init__(self, recipe: Recipe, seed: int):
        self.spec, _ = fnmlp_training(recipe, 1)  # fails here, before any timing, if it cannot
        self.rng = as_rng(seed)
        self.params, self.bn_state = fnmlp.init_params(self.spec, self.rng, weight_init=recipe.init,
                                                       dtype=DTYPES[recipe.dtype])
        self.recipe = recipe
        self.description = recipe.describe()

    def run(self, train: tuple, test: tuple, on_epoch: Callable) -> None:
        _, optimizer = fnmlp_training(self.recipe, -(-train[0].shape[0] // self.recipe.batch_size))
        x, y = train
        x_test = test[0]
        if x.dtype != DTYPES[self.recipe.dtype]:
            x, x_test = x.astype(DTYPES[self.recipe.dtype]), x_test.astype(DTYPES[self.recipe.dtype])

        def observe(stats, _state):
            on_epoch(stats.epoch, stats.val_error)

        try:
            fit(self.spec, self.params, self.bn_state, optimizer, (x, y), (x_test, test[1]),
                epochs=self.recipe.epochs, batch_size=self.recipe.batch_size, rng=self.rng, on_epoch=observe)
        except StopTraining:
            pass


class TorchRecipe:
    """The recipe in PyTorch eager mode, layer by layer as fnmlp computes it: ``nn.Dropout`` before
    each ``nn.Linear`` whose input rate is > 0, the ``nn.Linear`` (normal weights scaled as the
    recipe's fnmlp scheme scales them, ``sqrt(2 / fan_in)`` for ``he``; zero biases), ``nn.BatchNorm1d(momentum=1 - bn_alpha, eps=bn_eps)`` on the first ``bn``
    layers, the activation; ``optim.SGD(momentum, nesterov)`` with ``weight_decay`` in a parameter
    group of the ``Linear`` weights alone (biases and BatchNorm's ``gamma`` and ``beta`` undecayed, as
    fnmlp decays ``W`` only); the learning rate of every batch set from ``recipe_schedule``;
    evaluation in ``eval()`` mode, on the running statistics.

    One known difference, which ``differences`` states: ``BatchNorm1d`` moves its running variance
    towards the batch's *unbiased* variance (``n / (n - 1)`` times the biased one, ``n`` the batch
    size), fnmlp towards the biased one. Training (normalised by the biased batch variance in both)
    is the same; evaluation normalises by a running variance 1/(n - 1) larger (0.8% at batch 128).
    ``load`` starts the model from fnmlp's parameters, for the test that proves the two the same
    recipe; the timed run draws its own initial weights from ``torch.manual_seed(seed)``."""

    name = "torch"

    def __init__(self, recipe: Recipe, seed: int, threads: int):
        torch = _optional("torch")
        acts = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}
        if recipe.activation not in acts:
            raise Skip(f"the PyTorch mirror has no {recipe.activation} activation")
        torch.set_num_threads(threads)
        torch.manual_seed(seed)
        self.torch, self.recipe, self.seed = torch, recipe, seed
        self.dtype = getattr(torch, recipe.dtype)
        sizes = (FEATURES, *recipe.hidden, NUM_CLASSES)
        layers, self.linears, self.norms = [], [], []
        for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
            if recipe.dropout[i]:
                layers.append(torch.nn.Dropout(recipe.dropout[i]))
            linear = torch.nn.Linear(m, n)
            with torch.no_grad():
                linear.weight.normal_(0.0, SCALES[recipe.init](m, n))
                linear.bias.zero_()
            layers.append(linear)
            self.linears.append(linear)
            if i < recipe.bn:
                self.norms.append(torch.nn.BatchNorm1d(n, eps=recipe.bn_eps, momentum=1.0 - recipe.bn_alpha))
                layers.append(self.norms[-1])
            if i < len(recipe.hidden):
                layers.append(acts[recipe.activation]())
        self.model = torch.nn.Sequential(*layers).to(self.dtype)
        decayed = [linear.weight for linear in self.linears]
        others = [p for p in self.model.parameters() if all(p is not w for w in decayed)]
        self.opt = torch.optim.SGD([{"params": decayed, "weight_decay": recipe.weight_decay},
                                    {"params": others, "weight_decay": 0.0}],
                                   lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.description = recipe.describe()
        self.differences = (("BatchNorm's running variance averages the unbiased batch variance "
                             "(fnmlp: the biased one)",) if recipe.bn else ())

    def load(self, params: Any, bn_state: Any) -> None:
        """Start from fnmlp's ``Params`` and ``BatchNormState`` (``W`` transposed into ``weight``)."""
        torch = self.torch
        with torch.no_grad():
            for linear, W, b in zip(self.linears, params.W, params.b):
                linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
                linear.bias.copy_(torch.from_numpy(np.array(b)))
            for norm, gamma, beta, mean, var in zip(self.norms, params.gamma, params.beta,
                                                    bn_state.running_mean, bn_state.running_var):
                for target, value in ((norm.weight, gamma), (norm.bias, beta), (norm.running_mean, mean),
                                      (norm.running_var, var)):
                    target.copy_(torch.from_numpy(np.array(value)))

    def state(self) -> dict:
        """The parameters and running statistics in fnmlp's layout: ``W`` ``(fan_in, fan_out)``, ``b``,
        ``gamma``, ``beta``, ``running_mean``, ``running_var``, each a list of NumPy arrays."""
        out = lambda t: t.detach().numpy().copy()
        return {"W": [out(linear.weight).T for linear in self.linears],
                "b": [out(linear.bias) for linear in self.linears],
                "gamma": [out(n.weight) for n in self.norms], "beta": [out(n.bias) for n in self.norms],
                "running_mean": [out(n.running_mean) for n in self.norms],
                "running_var": [out(n.running_var) for n in self.norms]}

    def train_step(self, x: Any, y: Any, lr: float) -> float:
        """One SGD step at learning rate ``lr`` on the batch ``(x, y)`` (tensors); returns the batch's mean
        loss before the step (a 0-d tensor)."""
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.model(x), y)
        loss.backward()
        self.opt.step()
        return loss.detach()

    def run(self, train: tuple, test: tuple, on_epoch: Callable) -> None:
        torch, recipe = self.torch, self.recipe
        x, y = (torch.from_numpy(np.array(a)) for a in train)  # writable copies of the read-only splits
        x_test, y_test = (torch.from_numpy(np.array(a)) for a in test)
        x, x_test = x.to(self.dtype), x_test.to(self.dtype)
        lr = recipe_schedule(recipe, -(-x.shape[0] // recipe.batch_size))
        gen = torch.Generator().manual_seed(self.seed)
        step = 0
        for epoch in range(1, recipe.epochs + 1):
            self.model.train()
            order = torch.randperm(x.shape[0], generator=gen)
            for begin in range(0, x.shape[0], recipe.batch_size):
                rows = order[begin:begin + recipe.batch_size]
                self.train_step(x[rows], y[rows], lr(step))
                step += 1
            self.model.eval()
            with torch.no_grad():
                wrong = int((self.model(x_test).argmax(dim=1) != y_test).sum())
            try:
                on_epoch(epoch, wrong / x_test.shape[0])
            except StopTraining:
                return


class SklearnRecipe:
    """``MLPClassifier(solver="adam")`` at the recipe's sizes and batch (its other defaults), one
    ``partial_fit`` per epoch."""

    name = "sklearn"
    differences: tuple = ()

    def __init__(self, recipe: Recipe, seed: int):
        neural_network = _optional("sklearn.neural_network")
        act = {"sigmoid": "logistic", "relu": "relu", "tanh": "tanh"}.get(recipe.activation)
        if act is None:
            raise Skip(f"MLPClassifier has no {recipe.activation} activation")
        self.model = neural_network.MLPClassifier(hidden_layer_sizes=recipe.hidden, activation=act, solver="adam",
                                                  batch_size=recipe.batch_size, random_state=seed)
        self.recipe = recipe
        self.description = (f"MLPClassifier(solver='adam', hidden_layer_sizes={recipe.hidden}, "
                            f"activation='{act}', batch_size={recipe.batch_size}), its defaults otherwise "
                            f"(lr 0.001, alpha 1e-4, Glorot uniform init, no BatchNorm, no dropout)")

    def run(self, train: tuple, test: tuple, on_epoch: Callable) -> None:
        classes = np.arange(NUM_CLASSES)
        for epoch in range(1, self.recipe.epochs + 1):
            self.model.partial_fit(train[0], train[1], classes=classes)
            try:
                on_epoch(epoch, float(np.mean(self.model.predict(test[0]) != test[1])))
            except StopTraining:
                return


def recipe_contenders(threads: int) -> list:
    """``(name, builder(recipe, seed))`` of every time-to-accuracy contender."""
    return [("fnmlp", FnmlpRecipe),
            ("torch", lambda recipe, seed: TorchRecipe(recipe, seed, threads)),
            ("sklearn", SklearnRecipe)]


def time_to_accuracy(recipe: Recipe, train: tuple, test: tuple, targets: tuple, max_seconds: float,
                     threads: int, seed: int, log: Callable, names: Optional[set] = None) -> dict:
    """Train each contender until its test accuracy reaches the last of ``targets`` (percent), its
    epochs run out or ``max_seconds`` pass; returns per contender what it ran (``description``), how
    that differs from fnmlp's run of ``recipe`` (``differences``), the curve ``[(seconds, epoch, test
    error)]``, the seconds and the epoch at which each target was first reached (``None`` if never) and
    the mean seconds per epoch; ``ratios`` compares fnmlp with each peer (``tta_ratios``)."""
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
    return {"recipe": attrs.asdict(recipe), "description": recipe.describe(), "seed": seed, "targets": list(targets),
            "max_seconds": max_seconds, "train_rows": int(train[0].shape[0]), "test_rows": int(test[0].shape[0]),
            "contenders": results, "ratios": tta_ratios(results)}


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


def mnist_split(tiny: bool) -> tuple:
    """``(train, test)`` pairs of the bundled MNIST (float32); ``tiny``: 2,000 and 1,000 rows."""
    data = fnmlp.load_mnist(dtype=np.float32)
    train, test = (data.train.x, data.train.y), (data.test.x, data.test.y)
    if tiny:
        train, test = tuple(a[:2000] for a in train), tuple(a[:1000] for a in test)
    return train, test


# ----------------------------------------------------------------------------------------------
# Peak memory: one training epoch per contender, each in a process of its own.

MEMORY_CONTENDERS = {"fnmlp": FnmlpFit, "torch": TorchSequential, "sklearn": SklearnMLP}


def _rss_now() -> int:
    """Resident bytes now (Linux ``/proc/self/statm``; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _peak_rss() -> int:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB on Linux


def memory_child(job: dict) -> dict:
    """In a fresh process: build one contender on float32 data, then train one epoch; the peak RSS."""
    w = Workload(**{**job["workload"], "hidden": tuple(job["workload"]["hidden"])})
    data = make_data(job["rows"], 1, job["seed"], dtypes=("float32",))
    build = MEMORY_CONTENDERS[job["contender"]]
    kwargs = {"threads": job["threads"]} if job["contender"] == "torch" else {}
    try:
        contender = build(w, data, "float32", job["seed"], **kwargs)
    except Skip as why:
        return {"skipped": str(why)}
    before, peak_before = _rss_now(), _peak_rss()
    contender.train_epoch()
    peak = _peak_rss()
    return {"peak_rss_mb": peak / 2**20, "rss_before_epoch_mb": before / 2**20,
            "peak_before_epoch_mb": peak_before / 2**20, "epoch_growth_mb": (peak - before) / 2**20}


def measure_memory(workloads: list, rows: int, threads: int, seed: int, names: list, log: Callable) -> dict:
    """``memory_child`` for every workload and contender, each in its own ``python`` process."""
    import subprocess

    results = {}
    for w in workloads:
        results[w.name] = {}
        for name in names:
            job = {"workload": attrs.asdict(w), "rows": rows, "seed": seed, "threads": threads, "contender": name}
            done = subprocess.run([sys.executable, os.path.abspath(__file__), "--threads", str(threads),
                                   "--memory-child", json.dumps(job)],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                tail = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
                results[w.name][name] = {"skipped": f"the child process failed: {tail[0]}"}
            else:
                results[w.name][name] = json.loads(done.stdout.strip().splitlines()[-1])
            log(f"  memory: {w.name} {name}: {results[w.name][name]}")
    return {"rows": rows, "dtype": "float32", "workloads": results}


def format_memory(memory: dict) -> str:
    lines = [f"peak resident memory of one float32 training epoch on {memory['rows']:,} rows, each contender "
             f"in its own process (imports and data included; growth = peak - resident before the epoch)"]
    header = f"  {'workload':<14} {'contender':<10} {'peak MiB':>9} {'before MiB':>11} {'growth MiB':>11}"
    lines += [header, "  " + "-" * (len(header) - 2)]
    for workload, table in memory["workloads"].items():
        for name, res in table.items():
            if "skipped" in res:
                lines.append(f"  {workload:<14} {name:<10} skipped: {res['skipped']}")
            else:
                lines.append(f"  {workload:<14} {name:<10} {res['peak_rss_mb']:>9.0f} "
                             f"{res['rss_before_epoch_mb']:>11.0f} {res['epoch_growth_mb']:>11.0f}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------


def format_report(report: dict) -> str:
    m = report["machine"]
    lines = [f"machine: {m['cpu']}, {m['cores']} cores; python {m['python']}, numpy {m['numpy']}; "
             f"torch {m['torch']}, scikit-learn {m['sklearn']}",
             f"BLAS: {m['blas']}"]
    if "workloads" in report:
        lines += [f"settings: {report['settings']['rows']:,} training rows (one epoch), "
                  f"{report['settings']['eval_rows']:,} evaluation rows, {report['settings']['repeats']} rounds "
                  f"after a warm-up; medians of samples/s and of the ratios of back-to-back runs"]
    for res in report.get("workloads", ()):
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
            eval_text = f"{res['eval'][key]['median']:>15,.0f}"
            lines.append(f"  {name:<20} {summary['median']:>16,.0f} "
                         f"{_ratio_text(ratio):>11} {eval_text:>15} {_ratio_text(eval_ratio):>11}")
        for key, why in res["skipped"].items():
            lines.append(f"  {key.replace('_', ' '):<20} skipped: {why}")
    if "time_to_accuracy" in report:
        lines += ["", format_time_to_accuracy(report["time_to_accuracy"])]
    if "memory" in report:
        lines += ["", format_memory(report["memory"])]
    return "\n".join(lines)


def _ratio_text(summary: Optional[dict]) -> str:
    return "" if summary is None else f"{summary['median']:.2f}x"


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
                        help="BLAS and PyTorch threads (default: what NumPy's BLAS uses)")
    parser.add_argument("--tiny", action="store_true",
                        help="a few seconds' run: 512 rows, 256-wide GEMM workload, 1 round; with "
                             "--time-to-accuracy, 2,000 MNIST rows, a 64-64 network and 2 epochs")
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="sgd",
                        help="fnmlp's optimizer (default sgd, the workload's; adam and adamw at lr 1e-3)")
    parser.add_argument("--dropout", type=float, nargs="+", default=(), metavar="RATE",
                        help="fnmlp trains with dropout, the rates as fnmlp train's --dropout takes them "
                             "(the peers train without): compare with a run without it")
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
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--seed", type=int, default=None,
                        help="default 0; with --time-to-accuracy, the recipe's seed (fnmlp train's, 11785)")
    args = parser.parse_args(argv)
    if args.tiny:
        args.rows, args.eval_rows, args.repeats = min(args.rows, 512), min(args.eval_rows, 256), min(args.repeats, 1)
    return args


def main(argv: Optional[list] = None) -> dict:
    args = parse_args(argv)
    if args.threads is not None:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            sys.exit("--threads needs threadpoolctl (or set OPENBLAS_NUM_THREADS before starting python)")
        threadpool_limits(args.threads, user_api="blas")
    if args.memory_child:
        result = memory_child(json.loads(args.memory_child))
        print(json.dumps(result))
        return result
    blas = blas_info()
    threads = blas["threads"]
    seed = 0 if args.seed is None else args.seed
    log = (lambda message: print(message, file=sys.stderr, flush=True))
    workloads = []
    for name in args.workloads:
        w = WORKLOADS[name]
        if args.tiny:
            w = attrs.evolve(w, hidden=TINY_HIDDEN[name])
        workloads.append(w)
        if args.bn:
            workloads.append(attrs.evolve(w, name=f"{name}-bn{args.bn}", num_bn_layers=args.bn))
    throughput = args.repeats > 0 and not (args.time_to_accuracy or args.memory or args.profile_recipe)
    report = {"settings": {"rows": args.rows, "eval_rows": args.eval_rows, "repeats": args.repeats, "warmup": 1,
                           "tiny": args.tiny, "peers": sorted(args.peers), "optimizer": args.optimizer,
                           "dropout": list(args.dropout),
                           "command": sys.argv if argv is None else argv}}
    print(f"BLAS: {describe_blas(blas)}", flush=True)
    if throughput or args.profile:
        data = make_data(args.rows, args.eval_rows, seed)
    if throughput:
        table = contenders(threads, set(args.peers), args.optimizer, tuple(args.dropout))
        report["workloads"] = [run_workload(w, data, table, args.repeats, seed, log) for w in workloads]
    if args.time_to_accuracy:
        recipe = BEST_RECIPE
        if args.tiny:
            recipe = attrs.evolve(recipe, hidden=(64, 64), epochs=2)
        if args.epochs is not None:
            recipe = attrs.evolve(recipe, epochs=args.epochs)
        targets = tuple(args.targets or ((50.0, 80.0, 99.9) if args.tiny else (98.0, 98.5, 98.7)))
        train, test = mnist_split(args.tiny)
        tta_seed = recipe.seed if args.seed is None else args.seed
        report["time_to_accuracy"] = time_to_accuracy(recipe, train, test, targets, args.max_seconds, threads,
                                                      tta_seed, log, {"fnmlp", *args.tta_peers})
    if args.memory:
        names = ["fnmlp"] + [p for p in ("torch", "sklearn") if p in args.peers]
        report["memory"] = measure_memory(workloads, args.rows, threads, seed, names, log)
    report = {"machine": machine(blas), **report}
    print(format_report(report))
    if args.plot and "time_to_accuracy" in report:
        plot_time_to_accuracy(report["time_to_accuracy"], args.plot)
    if args.profile:
        report["profiles"] = {w.name: profile_epoch(w, data, seed, profiler=args.profiler) for w in workloads}
        for name, text in report["profiles"].items():
            print(f"\nprofile ({args.profiler}) of one fnmlp float32 epoch, {name}:\n{text}")
    if args.profile_recipe:
        recipe = attrs.evolve(BEST_RECIPE, hidden=(64, 64)) if args.tiny else BEST_RECIPE
        text = profile_recipe_epoch(recipe, *mnist_split(args.tiny), profiler=args.profiler)
        report["recipe_profile"] = text
        print(f"\nprofile ({args.profiler}) of one fnmlp epoch of the recipe, {recipe.describe()}:\n{text}")
    if args.json:
        write_json(args.json, report)
    return report


def write_json(path: str, report: dict) -> None:
    """Write ``report`` to ``path`` whole or not at all."""
    with atomic_write(path, "w") as f:
        json.dump(report, f, indent=1, default=float)


if __name__ == "__main__":
    main()
