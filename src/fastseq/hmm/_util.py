"""Validation and M-step helpers shared by the HMM models."""
from __future__ import annotations

import logging

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import linalg, sparse

from .. import ops
from .._moves import as_moves

__all__ = ["check_lengths", "as_real_2d", "safe_log", "broadcast_prior", "normalize_rows",
           "check_stochastic", "check_sparse_stochastic", "pattern_rows",
           "normalize_pattern_rows", "values_at", "uniform_on_pattern", "first_rows",
           "cholesky_factors", "gaussian_log_density",
           "weighted_scatter", "quadratic_design", "design_log_density", "design_scatter",
           "blocked_product", "blocked_weighted_sums"]

_log = logging.getLogger(__name__)

_LOG_2PI = np.log(2.0 * np.pi)
# gaussian_log_density and weighted_scatter work on blocks of rows: a block of
# intermediate values has at most _BLOCK_ELEMENTS entries (it stays in cache between the
# passes over it), and its product at most _BLOCK_FLOPS multiply-adds, which OpenBLAS runs
# on the calling thread (handing such thin products to its threads was up to 100x slower
# on a busy machine)
_BLOCK_ELEMENTS = 1 << 16
_BLOCK_FLOPS = 1 << 18
# design_log_density keeps the expanded quadratic form of a Gaussian only where its
# rounding error bound stays below this, relative to the Gaussian's peak log-density
# (or absolute, in nats, for peaks within 1 of 0)
_EXPANSION_RTOL = 1e-9


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



def check_sparse_stochastic(a, name, nc):
    """A sparse ``(nc, nc)`` transition matrix as a ``csr_array`` of float64 probabilities
    with sorted columns (its pattern: the allowed moves), checked like
    :func:`check_stochastic`."""
    moves = as_moves(a, name)
    if moves.n_states != nc:
        raise ValueError(f"`{name}` must have shape {(nc, nc)}, got {a.shape}")
    data = moves.data.astype(np.float64)
    if not np.isfinite(data).all():
        raise ValueError(f"`{name}` contains NaN or infinity")
    if data.size and data.min() < 0:
        raise ValueError(f"`{name}` must be non-negative, got minimum {data.min()!r}")
    sums = np.bincount(pattern_rows(moves.indptr), weights=data, minlength=nc)
    if not np.allclose(sums, 1.0):
        bad = int(np.argmax(~np.isclose(sums, 1.0)))
        raise ValueError(f"`{name}` rows must sum to 1 (row {bad} sums to {sums[bad]!r})")
    return sparse.csr_array((data, moves.indices, moves.indptr), shape=(nc, nc))


def pattern_rows(indptr):
    """The row of every stored entry of a CSR matrix."""
    return np.repeat(np.arange(indptr.size - 1), np.diff(indptr))


def normalize_pattern_rows(matrix, data, fallback, what):
    """``matrix``'s pattern holding ``data`` divided by its row sums (sparse
    :func:`normalize_rows`): rows summing to 0 are taken from ``fallback`` (a matrix of the
    same pattern; ``None``: uniform over the row's entries) and reported."""
    nc = matrix.shape[0]
    rows = pattern_rows(matrix.indptr)
    data = np.array(data, dtype=np.float64)
    sums = np.bincount(rows, weights=data, minlength=nc)
    zero = sums == 0
    data = np.divide(data, sums[rows], out=np.zeros_like(data), where=~zero[rows])
    if zero.any():
        empty = zero[rows]
        if fallback is None:
            data[empty] = 1.0 / np.diff(matrix.indptr)[rows[empty]]
            _log.warning("%s: no counts for row(s) %s; set to uniform over their moves", what,
                         np.flatnonzero(zero).tolist())
        else:
            data[empty] = fallback.data[empty]
            _log.warning("%s: no expected counts for row(s) %s; keeping their previous "
                         "values", what, np.flatnonzero(zero).tolist())
    return sparse.csr_array((data, matrix.indices, matrix.indptr), shape=matrix.shape)


def uniform_on_pattern(matrix, name, nc):
    """A transition matrix with ``matrix``'s pattern, uniform over each row's entries."""
    moves = as_moves(matrix, name)
    if moves.n_states != nc:
        raise ValueError(f"`{name}` must have shape {(nc, nc)}, got {matrix.shape}")
    counts = np.diff(moves.indptr)
    if (counts == 0).any():
        raise ValueError(f"`{name}` leaves state {int(np.argmin(counts))} with no move")
    data = 1.0 / counts[pattern_rows(moves.indptr)]
    return sparse.csr_array((data, moves.indices, moves.indptr), shape=(nc, nc))


def values_at(prior, pattern, name):
    """A Dirichlet prior (scalar, dense or sparse) read at a sparse pattern's entries; a
    sparse prior's missing entries are 1 (no pseudo-count)."""
    nc = pattern.shape[0]
    rows, cols = pattern_rows(pattern.indptr), pattern.indices
    if sparse.issparse(prior):
        moves = as_moves(prior, name)
        if moves.n_states != nc:
            raise ValueError(f"`{name}` must have shape {(nc, nc)}, got {prior.shape}")
        keys = pattern_rows(moves.indptr) * nc + moves.indices
        want = rows * nc + cols
        pos = np.minimum(np.searchsorted(keys, want), max(keys.size - 1, 0))
        found = keys[pos] == want if keys.size else np.zeros(want.size, bool)
        return np.where(found, moves.data[pos] if keys.size else 1.0, 1.0).astype(np.float64)
    if np.ndim(prior) == 0:
        return np.full(rows.size, float(prior))
    return broadcast_prior(prior, (nc, nc), name)[rows, cols]


def first_rows(lengths):
    """Row index of the first sample of every non-empty sequence."""
    offsets = np.zeros(lengths.size, dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    return offsets[lengths > 0]


def cholesky_factors(covs: ArrayLike) -> NDArray[np.float64]:
    """Lower Cholesky factors of a stack of covariance matrices.

    A matrix whose factorisation fails is retried with 1e-7 added to its diagonal (as
    hmmlearn does).

    Parameters
    ----------
    covs : array-like of shape (n_matrices, n_features, n_features)
        Symmetric positive-definite matrices (only their lower triangles are read).

    Returns
    -------
    ndarray of shape (n_matrices, n_features, n_features), dtype float64
        ``L`` with ``L[k] @ L[k].T == covs[k]``, zero above the diagonal.

    Raises
    ------
    ValueError
        If a matrix is not positive definite, even with the 1e-7 added.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.hmm._util import cholesky_factors
    >>> cholesky_factors([[[4.0, 2.0], [2.0, 2.0]]]).tolist()
    [[[2.0, 0.0], [1.0, 1.0]]]
    """
    covs = np.asarray(covs, dtype=np.float64)
    try:
        return np.linalg.cholesky(covs)
    except np.linalg.LinAlgError:
        pass
    out = np.empty_like(covs)
    for k, cov in enumerate(covs):
        try:
            out[k] = linalg.cholesky(cov, lower=True, check_finite=False)
        except linalg.LinAlgError:
            try:
                out[k] = linalg.cholesky(cov + 1e-7 * np.eye(cov.shape[0]), lower=True,
                                         check_finite=False)
            except linalg.LinAlgError:
                raise ValueError("`covars_` must be symmetric, positive-definite") from None
    return out


def gaussian_log_density(X: NDArray[np.float64], means: NDArray[np.float64],
                         chols: NDArray[np.float64]) -> NDArray[np.float64]:
    """Log-density of every sample under every full-covariance Gaussian.

    ``y = chol_k^-1 (x - mean_k)`` for all the Gaussians comes from ONE matrix product
    per block of rows (the whitening maps of all Gaussians side by side), so the cost
    does not grow with the number of Python-level calls per Gaussian.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Samples (centre them first for accuracy: the offsets ``chol_k^-1 mean_k`` are
        subtracted after the product).
    means : ndarray of shape (n_gaussians, n_features)
        Means.
    chols : ndarray of shape (n_gaussians, n_features, n_features)
        Lower Cholesky factors of the covariances (see :func:`cholesky_factors`); shape
        (1, n_features, n_features) shares one factor between all the means.

    Returns
    -------
    ndarray of shape (n_samples, n_gaussians), dtype float64
        ``log N(X[i]; means[k], chols[k] @ chols[k].T)``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.hmm._util import gaussian_log_density
    >>> X = np.array([[0.0, 0.0], [1.0, 2.0]])
    >>> chols = np.array([np.eye(2), 2.0 * np.eye(2)])
    >>> dens = gaussian_log_density(X, np.zeros((2, 2)), chols)
    >>> bool(np.isclose(dens[0, 0], -np.log(2.0 * np.pi)))
    True
    >>> bool(np.isclose(dens[1, 1], -np.log(8.0 * np.pi) - 5.0 / 8.0))
    True
    """
    n, nf = X.shape
    k = means.shape[0]
    inv = _triangular_inverses(chols)
    log_det = 2.0 * np.log(np.diagonal(chols, axis1=1, axis2=2)).sum(axis=1)
    inv = np.broadcast_to(inv, (k, nf, nf))
    # maps[j, g * nf + i] = inv[g][i, j]: X @ maps holds inv_g x for every g side by side
    maps = np.ascontiguousarray(inv.transpose(2, 0, 1).reshape(nf, k * nf))
    offset = np.einsum("gij,gj->gi", inv, means).reshape(k * nf)
    out = np.empty((n, k))
    rows = max(64, min(_BLOCK_ELEMENTS // (k * nf), _BLOCK_FLOPS // (k * nf * nf)))
    for start in range(0, n, rows):
        y = X[start:start + rows] @ maps
        y -= offset
        np.square(y, out=y)
        # squared norm of each Gaussian's block (einsum: numpy's sum over a short last
        # axis is several times slower)
        np.einsum("rgi->rg", y.reshape(y.shape[0], k, nf), out=out[start:start + rows])
    out *= -0.5
    out -= 0.5 * (nf * _LOG_2PI + np.broadcast_to(log_det, (k,)))
    return out


def weighted_scatter(X: NDArray[np.float64], weights: NDArray[np.float64]
                     ) -> NDArray[np.float64]:
    """Weighted scatter matrices ``X.T @ (weights[:, k, None] * X)`` for every column k.

    All the columns of ``weights`` share one product per block of rows; the result is
    made exactly symmetric.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_columns)
        Samples (a last column of ones gives the weighted sums of the samples and of the
        weights in the last row and column).
    weights : ndarray of shape (n_samples, n_weights)
        Weight of each sample in each scatter matrix.

    Returns
    -------
    ndarray of shape (n_weights, n_columns, n_columns), dtype float64
        ``out[k] = sum_i weights[i, k] * outer(X[i], X[i])``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.hmm._util import weighted_scatter
    >>> X = np.array([[1.0, 2.0], [3.0, 1.0]])
    >>> weighted_scatter(X, np.array([[1.0, 0.0], [1.0, 2.0]])).tolist()
    [[[10.0, 5.0], [5.0, 5.0]], [[18.0, 6.0], [6.0, 2.0]]]
    """
    n, m = X.shape
    k = weights.shape[1]
    rows = max(64, min(_BLOCK_ELEMENTS // (k * m), _BLOCK_FLOPS // (k * m * m)))
    total = np.zeros((m, k * m))
    part = np.empty((m, k * m))
    scaled = np.empty((min(rows, n), k, m))
    for start in range(0, n, rows):
        x = X[start:start + rows]
        z = scaled[:x.shape[0]]
        np.multiply(weights[start:start + rows, :, None], x[:, None, :], out=z)
        np.matmul(x.T, z.reshape(x.shape[0], k * m), out=part)
        total += part
    out = total.reshape(m, k, m).transpose(1, 0, 2)
    return 0.5 * (out + out.transpose(0, 2, 1))


def _triangular_inverses(chols):
    """``chol^-1`` of each lower triangular factor (LAPACK's dtrtri directly:
    ``solve_triangular(c, eye)`` costs ~6 us a call in scipy's wrapper, dtrtri ~1 us, with
    the same result)."""
    out = np.empty_like(chols)
    for g, c in enumerate(chols):
        out[g], info = linalg.lapack.dtrtri(c, lower=1)
        if info != 0:
            raise ValueError("`covars_` must be symmetric, positive-definite")
    return out


def _block_rows(n_in, n_out):
    """Rows per block of a product with ``n_in`` inner and ``n_out`` outer columns, so that
    OpenBLAS runs it on the calling thread (see ``_BLOCK_FLOPS``)."""
    return max(64, _BLOCK_FLOPS // (n_in * n_out))


def blocked_product(A: NDArray[np.float64], W: NDArray[np.float64]) -> NDArray[np.float64]:
    """``A @ W`` for a tall ``A`` and a small ``W``, block by block of rows.

    Each block's product stays under ``_BLOCK_FLOPS``, so OpenBLAS runs it on the calling
    thread: a (100,000 x 45) @ (45 x 4) product took 28 ms handed to 2 OpenBLAS threads on
    a 2-core machine with other work running, 3 ms block by block on one thread.

    Parameters
    ----------
    A : ndarray of shape (n_samples, n_columns)
        Tall matrix (a design matrix).
    W : ndarray of shape (n_columns, n_outputs)
        Small matrix.

    Returns
    -------
    ndarray of shape (n_samples, n_outputs), dtype float64
        ``A @ W``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.hmm._util import blocked_product
    >>> blocked_product(np.ones((3, 2)), np.array([[1.0], [2.0]])).tolist()
    [[3.0], [3.0], [3.0]]
    """
    out = np.empty((A.shape[0], W.shape[1]))
    rows = _block_rows(A.shape[1], W.shape[1])
    for start in range(0, A.shape[0], rows):
        np.matmul(A[start:start + rows], W, out=out[start:start + rows])
    return out


def blocked_weighted_sums(weights: NDArray[np.float64], A: NDArray[np.float64]
                          ) -> NDArray[np.float64]:
    """``weights.T @ A`` for tall ``weights`` and ``A``, block by block of rows (see
    :func:`blocked_product` for why).

    Parameters
    ----------
    weights : ndarray of shape (n_samples, n_weights)
        Weight of each sample (dense).
    A : ndarray of shape (n_samples, n_columns)
        Samples (a design matrix).

    Returns
    -------
    ndarray of shape (n_weights, n_columns), dtype float64
        ``out[k] = sum_i weights[i, k] * A[i]``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.hmm._util import blocked_weighted_sums
    >>> blocked_weighted_sums(np.array([[1.0], [2.0]]), np.array([[1.0, 0.0], [3.0, 1.0]])
    ...                       ).tolist()
    [[7.0, 2.0]]
    """
    sums = np.zeros((weights.shape[1], A.shape[1]))
    rows = _block_rows(weights.shape[1], A.shape[1])
    for start in range(0, A.shape[0], rows):
        sums += weights[start:start + rows].T @ A[start:start + rows]
    return sums


def quadratic_design(X: NDArray[np.float64]) -> NDArray[np.float64]:
    """Design matrix of a quadratic function of the samples: ``[x_i x_j (i <= j) | x | 1]``.

    With it the log-densities of Gaussians are one matrix product
    (:func:`design_log_density`) and the weighted scatter matrices another
    (:func:`design_scatter`); it depends on the samples only, so a fit builds it once.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Samples (centre them first: the expanded quadratic forms cancel less then).

    Returns
    -------
    ndarray of shape (n_samples, n_features * (n_features + 1) // 2 + n_features + 1)
        The products ``x_i x_j`` for ``i <= j`` in row-major upper-triangle order
        (``numpy.triu_indices``), then ``X``, then a column of ones. ``Z[:, -nf - 1:-1]``
        is ``X`` and ``Z[:, -nf - 1:]`` is ``[X | 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.hmm._util import quadratic_design
    >>> quadratic_design(np.array([[2.0, 3.0]])).tolist()
    [[4.0, 6.0, 9.0, 2.0, 3.0, 1.0]]
    """
    n, nf = X.shape
    m = nf * (nf + 1) // 2
    Z = np.empty((n, m + nf + 1))
    off = 0
    for i in range(nf):     # row i of the upper triangle: x_i * x_j for j >= i
        np.multiply(X[:, i:], X[:, i:i + 1], out=Z[:, off:off + nf - i])
        off += nf - i
    Z[:, m:m + nf] = X
    Z[:, -1] = 1.0
    return Z


def design_log_density(Z: NDArray[np.float64], means: NDArray[np.float64],
                       chols: NDArray[np.float64], radius: float) -> NDArray[np.float64]:
    """:func:`gaussian_log_density` from a :func:`quadratic_design`: ``Z @ W``.

    ``log N(x; mu, S) = -1/2 (x^T P x - 2 mu^T P x + mu^T P mu + log det S + nf log 2 pi)``
    with ``P = S^-1`` is linear in the columns of ``Z``, so all the Gaussians' densities
    are one product (:func:`blocked_product`).

    The expanded form cancels: its rounding error is bounded by about
    ``n_columns * eps / 2 * trace(P) * (radius + |mu|)^2`` (each of the ``n_columns`` terms
    is at most ``trace(P) (|x| + |mu|)^2 / 2``, as ``|P_ij| <= sqrt(P_ii P_jj)``), which
    grows with the condition number of ``S`` times the spread of the data in units of
    ``S``. A Gaussian whose bound exceeds 1e-9 of ``max(1, |peak log-density|)`` (for
    example a covariance with condition number 1e6 over data that it does not fit) has
    its column recomputed by :func:`gaussian_log_density` (whitening, error ~ eps times
    the Mahalanobis distance).

    Parameters
    ----------
    Z : ndarray of shape (n_samples, nf * (nf + 1) // 2 + nf + 1)
        :func:`quadratic_design` of the samples.
    means : ndarray of shape (n_gaussians, nf)
        Means.
    chols : ndarray of shape (n_gaussians, nf, nf) or (1, nf, nf)
        Lower Cholesky factors of the covariances (see :func:`cholesky_factors`); one
        factor is shared by all the means.
    radius : float
        ``max |x|`` over the samples (for the error bound).

    Returns
    -------
    ndarray of shape (n_samples, n_gaussians), dtype float64
        ``log N(X[i]; means[k], chols[k] @ chols[k].T)``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.hmm._util import design_log_density, quadratic_design
    >>> X = np.array([[0.0, 0.0], [1.0, 2.0]])
    >>> chols = np.array([np.eye(2), 2.0 * np.eye(2)])
    >>> dens = design_log_density(quadratic_design(X), np.zeros((2, 2)), chols, 3.0)
    >>> bool(np.isclose(dens[1, 1], -np.log(8.0 * np.pi) - 5.0 / 8.0))
    True
    """
    k, nf = means.shape
    m = nf * (nf + 1) // 2
    inv = _triangular_inverses(chols)
    prec = np.broadcast_to(np.matmul(inv.transpose(0, 2, 1), inv), (k, nf, nf))
    log_det = np.broadcast_to(2.0 * np.log(np.diagonal(chols, axis1=1, axis2=2)).sum(axis=1),
                              (k,))
    pm = np.einsum("kij,kj->ki", prec, means)
    iu = np.triu_indices(nf)
    W = np.empty((Z.shape[1], k))
    # x^T P x = sum_i P_ii x_i^2 + 2 sum_{i<j} P_ij x_i x_j
    W[:m] = (-0.5 * prec * (2.0 - np.eye(nf)))[:, iu[0], iu[1]].T
    W[m:m + nf] = pm.T
    peak = -0.5 * (nf * _LOG_2PI + log_det)
    W[-1] = peak - 0.5 * np.einsum("ki,ki->k", pm, means)
    out = blocked_product(Z, W)
    trace = np.trace(prec, axis1=1, axis2=2)
    bound = (0.5 * Z.shape[1] * np.finfo(np.float64).eps * trace
             * (radius + np.linalg.norm(means, axis=1)) ** 2)
    loose = bound > _EXPANSION_RTOL * np.maximum(1.0, np.abs(peak))
    if loose.any():
        X = Z[:, m:m + nf]
        out[:, loose] = gaussian_log_density(
            X, means[loose], chols[loose] if chols.shape[0] == k else chols)
    return out


def design_scatter(Z: NDArray[np.float64], weights: NDArray[np.float64]
                   ) -> NDArray[np.float64]:
    """:func:`weighted_scatter` of ``[X | 1]`` from the :func:`quadratic_design` of ``X``.

    Every weighted sum is one product ``weights.T @ Z`` (:func:`blocked_weighted_sums`),
    unpacked into symmetric matrices.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, nf * (nf + 1) // 2 + nf + 1)
        :func:`quadratic_design` of the samples.
    weights : ndarray of shape (n_samples, n_weights)
        Weight of each sample in each scatter matrix.

    Returns
    -------
    ndarray of shape (n_weights, nf + 1, nf + 1), dtype float64
        ``out[k] = sum_i weights[i, k] * outer(a_i, a_i)`` with ``a_i = [X[i] | 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.hmm._util import design_scatter, quadratic_design
    >>> Z = quadratic_design(np.array([[1.0], [3.0]]))
    >>> design_scatter(Z, np.array([[1.0, 0.0], [1.0, 2.0]])).tolist()
    [[[10.0, 4.0], [4.0, 2.0]], [[18.0, 6.0], [6.0, 2.0]]]
    """
    cols = Z.shape[1]
    k = weights.shape[1]
    nf = int(round((np.sqrt(8 * cols - 7) - 3) / 2))   # cols = nf (nf + 1) / 2 + nf + 1
    m = nf * (nf + 1) // 2
    sums = blocked_weighted_sums(weights, Z)
    out = np.empty((k, nf + 1, nf + 1))
    iu = np.triu_indices(nf)
    out[:, iu[0], iu[1]] = sums[:, :m]
    out[:, iu[1], iu[0]] = sums[:, :m]
    out[:, nf, :nf] = out[:, :nf, nf] = sums[:, m:m + nf]
    out[:, nf, nf] = sums[:, -1]
    return out
