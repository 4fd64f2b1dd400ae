"""fnmlp's training on other array libraries (``--array-backend``): the gemm workload's network
(784-1024-1024-10 ReLU, batch 256, SGD with momentum) in float32, trained through fnmlp on NumPy
arrays, PyTorch CPU tensors (``fnmlp.fit``'s generic step), CuPy arrays on a GPU, and JAX (a
``jax.jit``-compiled step of fnmlp's kernels and ``Optimizer.update``, batches taken on the device in
NumPy's shuffled order), against ``torch.nn`` (autograd) when PyTorch is installed. Rounds run
every contender once, in a rotating order; the table gives median training samples per second.
"""

from __future__ import annotations

import importlib
import importlib.util
import statistics
import time
from typing import Callable, Optional

import numpy as np

import fnmlp
from fnmlp.model import kernels

from .peers import FnmlpFit, TorchSequential
from .workloads import WORKLOADS, Data

BACKENDS = ("numpy", "torch", "jax", "cupy")
WORKLOAD = WORKLOADS["gemm"]
DTYPE = "float32"


def unavailable(backends: list) -> Optional[str]:
    """One line naming the first of ``backends`` that cannot run here, else ``None``."""
    for name in backends:
        if name != "numpy" and importlib.util.find_spec(name) is None:
            return f"--array-backend {name}: {name} is not installed here, nothing measured"
        if name == "cupy":
            import cupy

            try:
                count = cupy.cuda.runtime.getDeviceCount()
            except Exception:  # CuPy raises its own CUDA errors when there is no driver
                count = 0
            if not count:
                return "--array-backend cupy: no CUDA GPU here, nothing measured"
    if any(name != "numpy" for name in backends) and importlib.util.find_spec("array_api_compat") is None:
        return "--array-backend needs array-api-compat for libraries other than NumPy: pip install 'fnmlp[array-api]'"
    return None


class FnmlpOn(FnmlpFit):
    """``fnmlp.fit`` one epoch at a time on another library's arrays (records and data moved there)."""

    def __init__(self, data: Data, seed: int, xp, device=None):
        super().__init__(WORKLOAD, data, DTYPE, seed)
        self.params, self.state, self.x, self.y = fnmlp.to_namespace((self.params, self.state, self.x, self.y), xp,
                                                                     device)


class FnmlpJaxJit:
    """fnmlp's kernels and ``Optimizer.update`` in one ``jax.jit``-compiled step, over batches taken on the
    device in the order a NumPy generator shuffles."""

    def __init__(self, data: Data, seed: int):
        import jax
        import jax.numpy as jnp

        self.jax, self.jnp = jax, jnp
        spec, opt = WORKLOAD.spec, fnmlp.sgd(WORKLOAD.lr, WORKLOAD.momentum)
        params, state = fnmlp.init_params(spec, seed, weight_init="lecun", dtype=np.float32)
        self.params, self.state = fnmlp.to_namespace((params, state), jnp)
        self.opt_state = opt.init(self.params)
        self.x, self.y = jnp.asarray(data.x[DTYPE]), jnp.asarray(data.y)
        self.rng = np.random.default_rng(seed)

        def step(params, bn_state, opt_state, xb, yb):
            loss, _, grads, bn_state = kernels.loss_and_grads(spec, params, bn_state, xb, yb)
            params, opt_state = opt.update(grads, opt_state, params)
            return params, bn_state, opt_state, loss

        self.step = jax.jit(step)

    def train_epoch(self) -> float:
        jnp, bs = self.jnp, WORKLOAD.batch_size
        order = self.rng.permutation(self.x.shape[0])
        loss = None
        for begin in range(0, order.shape[0], bs):
            rows = jnp.asarray(order[begin:begin + bs])
            self.params, self.state, self.opt_state, loss = self.step(
                self.params, self.state, self.opt_state, jnp.take(self.x, rows, axis=0), jnp.take(self.y, rows, axis=0))
        return float(self.jax.block_until_ready(loss))


def contenders(backends: list, threads: int) -> list:
    """``(name, builder(data, seed))`` for NumPy fnmlp, each backend asked for, and torch.nn if installed."""
    table = [("fnmlp numpy", lambda data, seed: FnmlpFit(WORKLOAD, data, DTYPE, seed))]
    if "torch" in backends:
        def on_torch(data, seed):
            import torch
            import array_api_compat

            torch.set_num_threads(threads)
            return FnmlpOn(data, seed, array_api_compat.array_namespace(torch.empty(0)), torch.device("cpu"))

        table.append(("fnmlp torch (cpu)", on_torch))
    if "cupy" in backends:
        def on_cupy(data, seed):
            import cupy
            import array_api_compat

            return FnmlpOn(data, seed, array_api_compat.array_namespace(cupy.empty(0)))

        table.append(("fnmlp cupy (gpu)", on_cupy))
    if "jax" in backends:
        table.append(("fnmlp jax (jit, cpu)", FnmlpJaxJit))
    if importlib.util.find_spec("torch") is not None:
        table.append(("torch.nn (autograd)", lambda data, seed: TorchSequential(WORKLOAD, data, DTYPE, seed, threads)))
    return table


def run_backends(backends: list, data: Data, rounds: int, seed: int, threads: int, log: Callable) -> dict:
    """Median training samples per second of each contender over ``rounds`` after a warm-up (which
    also compiles JAX's step)."""
    built = {name: build(data, seed) for name, build in contenders(backends, threads)}
    speeds = {name: [] for name in built}
    rows = data.y.shape[0]
    for r in range(rounds + 1):
        names = list(built)
        for name in names[r % len(names):] + names[:r % len(names)]:
            started = time.perf_counter()
            built[name].train_epoch()
            speed = rows / (time.perf_counter() - started)
            log(f"  {'warm-up' if r == 0 else f'round {r}'}: {name} {speed:,.0f} samples/s")
            if r:
                speeds[name].append(speed)
    versions = {lib: _version(lib) for lib in ("torch", "jax", "cupy") if lib in backends or lib == "torch"}
    return {"workload": WORKLOAD.describe() + f", {DTYPE}", "rows": rows, "versions": versions,
            "train": {name: {"median": statistics.median(v), "rounds": v} for name, v in speeds.items()}}


def _version(library: str) -> str:
    if importlib.util.find_spec(library) is None:
        return "not installed"
    return str(getattr(importlib.import_module(library), "__version__", "?"))


def format_backends(result: dict) -> list:
    """The table lines of ``run_backends``' result."""
    base = result["train"]["fnmlp numpy"]["median"]
    versions = ", ".join(f"{lib} {version}" for lib, version in result["versions"].items())
    lines = ["", f"array backends: {result['workload']}, {result['rows']:,} rows ({versions})",
             f"  {'contender':<22} {'train samples/s':>16} {'vs fnmlp numpy':>15}", "  " + "-" * 55]
    for name, summary in result["train"].items():
        lines.append(f"  {name:<22} {summary['median']:>16,.0f} {summary['median'] / base:>14.2f}x")
    return lines
