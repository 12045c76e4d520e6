"""Sparse transition matrices in the kernels' form.

A ``scipy.sparse`` transition matrix lists the allowed moves: a stored entry ``(i, j)`` is the
log-score of the move ``i -> j`` (a stored 0 is a score of 0, a stored ``-inf`` forbids it),
a missing entry is a forbidden move. The kernels take the moves as CSR rows with sorted,
distinct columns (:class:`Moves`); :func:`as_moves` converts any format to that, once.
"""
from __future__ import annotations

import sys
from typing import Any, NamedTuple, Optional

import numpy as np

__all__ = ["Moves", "as_moves", "is_sparse"]


class Moves(NamedTuple):
    """The allowed moves of an ``(N, N)`` transition matrix as CSR rows (row ``i``: the
    moves out of state ``i``, columns increasing): ``indptr`` int64 ``(N + 1,)``,
    ``indices`` int32 ``(nnz,)``, ``data`` the scores ``(nnz,)``."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray

    @property
    def n_states(self) -> int:
        return self.indptr.size - 1

    def to_sparse(self, data: Optional[np.ndarray] = None) -> Any:
        """A ``scipy.sparse.csr_array`` of this pattern holding ``data`` (default: the
        scores)."""
        import scipy.sparse

        N = self.n_states
        return scipy.sparse.csr_array(
            (self.data if data is None else data, self.indices, self.indptr), shape=(N, N))


def is_sparse(x: Any) -> bool:
    """Whether ``x`` is a ``scipy.sparse`` matrix or array (without importing scipy)."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(x)


def as_moves(x: Any, name: str = "transitions") -> Moves:
    """The moves of a square ``scipy.sparse`` matrix ``x`` (any format).

    The index arrays of CSR, CSC and COO input are checked here, before scipy or the kernels
    read them: a malformed matrix (its arrays edited after construction) is an error, never a
    read out of bounds.

    Raises
    ------
    ValueError
        If ``x`` is not square, its index arrays are inconsistent, it holds the same entry
        twice (the score of a move would be ambiguous), or it has 2**31 states or more.
    TypeError
        If its values are not real numbers.
    """
    if len(x.shape) != 2 or x.shape[0] != x.shape[1]:
        raise ValueError(f"`{name}` must be a square (N, N) matrix, got shape {x.shape}")
    N = int(x.shape[0])
    if N >= 2**31:
        raise ValueError(f"`{name}` has {N} states; at most 2**31 - 1 are supported")
    if np.dtype(x.dtype).kind not in "fiu":
        raise TypeError(f"`{name}` must hold real numbers, got dtype {x.dtype}")
    if x.format in ("csr", "csc"):
        major, minor, data = _compressed(x, N, name)
        rows, cols = (major, minor) if x.format == "csr" else (minor, major)
    else:
        coo = x if x.format == "coo" else x.tocoo()  # tocoo keeps stored zeros
        rows, cols = (np.asarray(a).astype(np.int64, copy=False) for a in (coo.row, coo.col))
        data = np.asarray(coo.data)
        if not (rows.shape == cols.shape == data.shape and rows.ndim == 1):
            raise ValueError(f"`{name}`: its row, col and data arrays differ in length")
        for arr in (rows, cols):
            if arr.size and (arr.min() < 0 or arr.max() >= N):
                raise ValueError(f"`{name}` has an index outside [0, {N})")
    keys = rows * N + cols
    if keys.size > 1 and not bool(np.all(keys[1:] > keys[:-1])):
        order = np.argsort(keys, kind="stable")
        keys, rows, cols, data = keys[order], rows[order], cols[order], data[order]
        same = keys[1:] == keys[:-1]
        if same.any():
            k = int(np.argmax(same))
            raise ValueError(f"`{name}` holds entry ({rows[k]}, {cols[k]}) more than once: "
                             f"each stored entry is the log-score of one move")
    indptr = np.zeros(N + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=N), out=indptr[1:])
    if data.dtype.kind != "f":
        data = data.astype(np.float64)
    return Moves(indptr, cols.astype(np.int32), data)


def _compressed(x, N, name):
    """The (major, minor) indices and data of a CSR / CSC matrix, its arrays checked."""
    indptr, indices, data = (np.asarray(a) for a in (x.indptr, x.indices, x.data))
    if indptr.ndim != 1 or indptr.size != N + 1:
        raise ValueError(f"`{name}`: its indptr must have N + 1 = {N + 1} entries, got "
                         f"{indptr.size}")
    if indices.ndim != 1 or data.shape != indices.shape:
        raise ValueError(f"`{name}`: its indices and data differ in length")
    indptr = indptr.astype(np.int64, copy=False)
    if indptr[0] != 0 or indptr[-1] != indices.size or np.any(np.diff(indptr) < 0):
        raise ValueError(f"`{name}`: its indptr must rise from 0 to nnz = {indices.size}")
    minor = indices.astype(np.int64, copy=False)
    if minor.size and (minor.min() < 0 or minor.max() >= N):
        raise ValueError(f"`{name}` has an index outside [0, {N})")
    major = np.repeat(np.arange(N, dtype=np.int64), np.diff(indptr))
    return major, minor, data
