"""Validation and M-step helpers shared by the HMM models."""
from __future__ import annotations

import logging

import numpy as np
from numpy.typing import NDArray

from .. import ops

__all__ = ["check_lengths", "as_real_2d", "safe_log", "broadcast_prior", "normalize_rows",
           "check_stochastic", "first_rows"]

_log = logging.getLogger(__name__)


def check_lengths(lengths, n_samples) -> NDArray[np.int64]:
    """``lengths`` -> int64 array summing to ``n_samples`` (``None`` = one sequence)."""
    if lengths is None:
        return np.array([n_samples], dtype=np.int64)
    arr = np.asarray(lengths)
    if arr.ndim != 1:
        raise ValueError(f"`lengths` must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("`lengths` must hold at least one sequence length, got an empty array")
    if arr.dtype.kind not in "iu":
        raise ValueError(f"`lengths` must hold integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.min() < 0:
        i = int(np.argmin(arr))
        raise ValueError(f"`lengths` must be non-negative, got {arr[i]} at index {i}")
    total = int(arr.sum())
    if total != n_samples:
        raise ValueError(f"`lengths` must sum to n_samples = {n_samples} (rows of `X`), "
                         f"got {total}")
    return arr


def as_real_2d(X, name="X"):
    """Validate a real-valued 2-D sample matrix (float64, finite, at least one row)."""
    arr = ops.as_numpy(X, name)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"`{name}` must be an array of real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"`{name}` must be 2-D (n_samples, n_features), got shape "
                         f"{arr.shape}; reshape 1-D data with X.reshape(-1, 1)")
    if arr.shape[0] == 0:
        raise ValueError(f"`{name}` must contain at least one sample, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"`{name}` contains NaN or infinity")
    return arr


def safe_log(a):
    with np.errstate(divide="ignore"):
        return np.log(a)


def broadcast_prior(prior, shape, name):
    try:
        return np.broadcast_to(np.asarray(prior, dtype=np.float64), shape)
    except ValueError:
        raise ValueError(f"`{name}` must be a scalar or broadcast to shape {shape}, got "
                         f"shape {np.shape(prior)}") from None


def normalize_rows(a, fallback, what):
    """Divide rows of ``a`` by their sums; rows summing to 0 are taken from ``fallback``
    (``None``: uniform) and reported. Returns a new array."""
    a = np.array(a, dtype=np.float64)
    sums = a.sum(axis=-1, keepdims=True)
    zero = (sums == 0)[..., 0]
    np.divide(a, sums, out=a, where=sums != 0)
    if zero.any():
        rows = np.flatnonzero(np.atleast_1d(zero))
        if fallback is None:
            a[zero] = 1.0 / a.shape[-1]
            _log.warning("%s: no counts for row(s) %s; set to uniform", what, rows.tolist())
        else:
            a[zero] = np.asarray(fallback, dtype=np.float64)[zero]
            _log.warning("%s: no expected counts for row(s) %s; keeping their previous "
                         "values", what, rows.tolist())
    return a


def check_stochastic(a, name, shape):
    """``a`` must have ``shape``, be finite and non-negative with (rows) summing to 1."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"`{name}` must be an array of real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.shape != shape:
        raise ValueError(f"`{name}` must have shape {shape}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"`{name}` contains NaN or infinity")
    if (arr < 0).any():
        raise ValueError(f"`{name}` must be non-negative, got minimum {arr.min()!r}")
    s = arr.sum(axis=-1)
    if not np.allclose(s, 1.0):
        if s.ndim == 0:
            raise ValueError(f"`{name}` must sum to 1, got {float(s)!r}")
        bad = int(np.argmax(~np.isclose(s, 1.0)))
        raise ValueError(f"`{name}` rows must sum to 1, got row sums {s} (row {bad} sums to "
                         f"{s[bad]!r})")
    return arr



def first_rows(lengths):
    """Row index of the first sample of every non-empty sequence."""
    offsets = np.zeros(lengths.size, dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    return offsets[lengths > 0]
