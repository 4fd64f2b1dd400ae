"""The throughput workloads (a network and how it is trained) and their MNIST-shaped data."""

from __future__ import annotations

import attrs
import numpy as np

import fnmlp

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
    """``x`` and ``x_eval``: dtype name -> ``(rows, 784)`` features; ``y``, ``y_eval``: int labels ``(rows,)``."""

    x: dict
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
