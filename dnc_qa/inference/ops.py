"""Elementwise activations and the linear layer, in NumPy, as torch computes them.

Every function keeps the dtype of its input (float32 or float64) and works on any shape.
"""

from __future__ import annotations

import numpy as np

SOFTPLUS_THRESHOLD = 20.0
"""``torch.nn.functional.softplus``'s default: above it, ``softplus(x) = x`` exactly."""


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``sigmoid(x) = 1 / (1 + exp(-x))``, computed without overflow for large ``|x|``:
    ``exp(x) / (1 + exp(x))`` for ``x < 0``."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def softplus(x: np.ndarray) -> np.ndarray:
    """``softplus(x) = log(1 + exp(x))``, and ``x`` itself above :data:`SOFTPLUS_THRESHOLD`
    (torch's rule, so both give the same values there)."""
    small = np.log1p(np.exp(np.minimum(x, SOFTPLUS_THRESHOLD)))
    return np.where(x > SOFTPLUS_THRESHOLD, x, small).astype(x.dtype, copy=False)


def oneplus(x: np.ndarray) -> np.ndarray:
    """``oneplus(x) = 1 + softplus(x)``: reals to ``[1, inf)`` (strengths, sharpness)."""
    return (1.0 + softplus(x)).astype(x.dtype, copy=False)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``softmax(x)_i = exp(x_i - max x) / sum_j exp(x_j - max x)`` along ``axis``."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log_softmax(x)_i = x_i - max x - log sum_j exp(x_j - max x)`` along ``axis``."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """``torch.nn.Linear``: ``y = x W^T + b`` with ``W [out, in]``, ``x [..., in]``."""
    y = np.matmul(x, weight.T)
    return y if bias is None else y + bias
