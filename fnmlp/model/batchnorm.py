"""Batch normalisation of one layer (Ioffe and Szegedy, 2015), forward and backward.

In training mode a batch ``z`` of shape ``(batch, width)`` is normalised with its own mean and
biased variance, ``norm = (z - mean) / sqrt(var + eps)``, and the running statistics move towards
them: ``running = alpha * running + (1 - alpha) * batch_stat``. In eval mode the running statistics
normalise and stay as they are. Either way ``out = gamma * norm + beta``. Arrays of any array-API
library work (all of one library and device); NumPy's are computed as before.
"""

from __future__ import annotations

import attrs
import numpy as np

from ..utils.namespace import array_namespace, astype
from ..utils.ops import column_dots, column_sums


@attrs.frozen(eq=False)
class BatchNormCache:
    """What ``batchnorm_backward`` needs: ``normalized`` ``(batch, width)``, ``inv_std`` ``(width,)``;
    and, for inspection, the ``mean`` and ``var`` ``(width,)`` that normalised (the batch's own in
    training mode, the running ones in eval mode), the input ``z`` and the output ``out``
    ``(batch, width)``."""

    train: bool
    normalized: np.ndarray
    inv_std: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    z: np.ndarray
    out: np.ndarray


def batchnorm_forward(z: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                      running_mean: np.ndarray, running_var: np.ndarray, *,
                      train: bool, alpha: float, eps: float):
    """Normalise ``z``; returns ``(out, cache, new_running_mean, new_running_var)``.

    ``out`` has ``z``'s shape and dtype; the new running statistics keep their own dtype. In eval mode
    the running statistics are returned as given.
    """
    dtype = z.dtype
    xp = np if type(z) is np.ndarray else array_namespace(z)
    if train:
        mean = column_sums(z) / z.shape[0]
        centered = z - mean
        var = column_dots(centered, centered) / z.shape[0]
        new_mean = astype(xp, alpha * running_mean + (1.0 - alpha) * mean, running_mean.dtype)
        new_var = astype(xp, alpha * running_var + (1.0 - alpha) * var, running_var.dtype)
    else:
        mean = astype(xp, running_mean, dtype)
        centered = z - mean
        var = astype(xp, running_var, dtype)
        new_mean, new_var = running_mean, running_var
    inv_std = np.reciprocal(np.sqrt(var + eps)) if xp is np else 1.0 / xp.sqrt(var + eps)
    normalized = centered
    normalized *= inv_std
    out = normalized * astype(xp, gamma, dtype)
    out += astype(xp, beta, dtype)
    return out, BatchNormCache(train, normalized, inv_std, mean, var, z, out), new_mean, new_var


def batchnorm_backward(cache: BatchNormCache, gamma: np.ndarray, dout: np.ndarray):
    """Gradients through BatchNorm: returns ``(dz, dgamma, dbeta)``.

    ``dgamma = sum(dout * norm)`` and ``dbeta = sum(dout)`` over the batch. In training mode the
    batch statistics depend on ``z``, giving
    ``dz = gamma * inv_std * (dout - dbeta / n - norm * dgamma / n)``;
    in eval mode they are constants and ``dz = gamma * inv_std * dout``.
    """
    normalized = cache.normalized
    dbeta = column_sums(dout)
    dgamma = column_dots(dout, normalized)
    scale = astype(np if type(dout) is np.ndarray else array_namespace(dout), gamma, dout.dtype) * cache.inv_std
    if not cache.train:
        return dout * scale, dgamma, dbeta
    n = dout.shape[0]
    dz = dout - dbeta / n
    dz -= normalized * (dgamma / n)
    dz *= scale
    return dz, dgamma, dbeta
