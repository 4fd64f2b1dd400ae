"""Array operations shared by the layers, in the form that is fastest at MLP batch shapes."""

from __future__ import annotations

import numpy as np


def column_sums(a: np.ndarray, out: np.ndarray = None) -> np.ndarray:
    """``a.sum(axis=0)`` for a 2-D ``a``, as ``ones @ a``: BLAS's matrix-vector product is about 2x
    faster than NumPy's reduction over the batch axis at shapes like (100, 64) or (256, 1024)."""
    return np.matmul(np.ones(a.shape[0], a.dtype), a, out=out)
