"""The compiled sparse products of CRF training against scipy and numpy, at every SIMD level
this CPU runs: ``fastseq._kernels.csr_matmul`` / ``csr_tmatmul_add`` (attributes with many
labels: rows of W) and ``feature_scores_add`` / ``feature_grads_add`` (feature by feature)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from fastseq import _kernels

LEVELS = _kernels.simd_levels()


def _csr(rng, rows, cols, density=0.1):
    dense = rng.normal(size=(rows, cols)) * (rng.random((rows, cols)) < density)
    dense[3] = 0.0  # a row without entries
    X = sparse.csr_matrix(dense)
    return X, (X.indptr.astype(np.int64), X.indices.astype(np.int32), X.data.copy())


def _padded(a, fill):
    out = np.full((a.shape[0], -(-a.shape[1] // 8) * 8), fill)
    out[:, :a.shape[1]] = a
    return out


def _ones(X, arrays):
    """The same matrix with every value 1, passed as data=None."""
    X = X.copy()
    X.data[:] = 1.0
    return X, arrays[:2] + (None,)


@pytest.mark.parametrize("simd", LEVELS)
@pytest.mark.parametrize("N", [1, 3, 8, 9, 22, 33, 40])
@pytest.mark.parametrize("unit", [False, True], ids=["values", "ones"])
def test_csr_matmul_is_the_sparse_product(rng, simd, N, unit):
    X, arrays = _csr(rng, 60, 45)
    if unit:
        X, arrays = _ones(X, arrays)
    W = rng.normal(size=(45, N))
    Wp = _padded(W, np.nan)  # padding is read, never used
    out = np.full((60, N), np.nan)
    _kernels.csr_matmul(0, 25, *arrays, Wp, out, _kernels.simd_id(simd))
    _kernels.csr_matmul(25, 60, *arrays, Wp, out, _kernels.simd_id(simd))
    np.testing.assert_allclose(out, X @ W, rtol=1e-13, atol=1e-13)
    if simd == "generic":  # no FMA: scipy's arithmetic
        np.testing.assert_array_equal(out, X @ W)


@pytest.mark.parametrize("simd", LEVELS)
@pytest.mark.parametrize("N", [1, 3, 8, 9, 22, 33, 40])
@pytest.mark.parametrize("unit", [False, True], ids=["values", "ones"])
def test_csr_tmatmul_add_accumulates_the_transposed_product(rng, simd, N, unit):
    X, arrays = _csr(rng, 60, 45)
    if unit:
        X, arrays = _ones(X, arrays)
    G = rng.normal(size=(60, N))
    start = rng.normal(size=(45, N))
    out = _padded(start, 0.0)
    _kernels.csr_tmatmul_add(0, 30, *arrays, G, out, _kernels.simd_id(simd))
    _kernels.csr_tmatmul_add(30, 60, *arrays, G, out, _kernels.simd_id(simd))
    np.testing.assert_allclose(out[:, :N], start + X.T @ G, rtol=1e-13, atol=1e-13)
    assert not out[:, N:].any()


def test_sparse_products_check_their_sizes(rng):
    X, arrays = _csr(rng, 10, 6)
    simd = _kernels.simd_id("generic")
    W, out = np.zeros((6, 8)), np.zeros((10, 3))
    with pytest.raises(ValueError, match="multiple of 8"):
        _kernels.csr_matmul(0, 10, *arrays, np.zeros((6, 3)), out, simd)
    with pytest.raises(ValueError, match="out of range"):
        _kernels.csr_matmul(0, 11, *arrays, W, out, simd)
    with pytest.raises(ValueError, match="indptr"):
        _kernels.csr_matmul(0, 10, arrays[0], arrays[1][:-1], arrays[2][:-1], W, out, simd)
    with pytest.raises(ValueError, match="values"):
        _kernels.csr_matmul(0, 10, arrays[0], arrays[1], arrays[2][:-1], W, out, simd)
    with pytest.raises(ValueError, match="multiple of 8"):
        _kernels.csr_tmatmul_add(0, 10, *arrays, np.zeros((10, 3)), np.zeros((6, 3)), simd)


def _features(rng, rows, N, n_feat):
    """Per row, a few (feature, column, value) entries, CSR-like."""
    counts = rng.integers(0, 5, size=rows)
    counts[2] = 0
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    nnz = int(indptr[-1])
    feat = rng.integers(0, n_feat, size=nnz).astype(np.int32)
    col = rng.integers(0, N, size=nnz).astype(np.int32)
    return indptr, feat, col, rng.normal(size=nnz), np.repeat(np.arange(rows), counts)


@pytest.mark.parametrize("simd", LEVELS)
@pytest.mark.parametrize("unit", [False, True], ids=["values", "ones"])
def test_feature_products_add_weights_and_gradients(rng, simd, unit):
    N, rows, n_feat = 7, 40, 30
    indptr, feat, col, data, row_of = _features(rng, rows, N, n_feat)
    vals = np.ones_like(data) if unit else data
    w = rng.normal(size=n_feat)
    start = rng.normal(size=(rows, N))
    out = start.copy()
    sid = _kernels.simd_id(simd)
    for r0, r1 in ((0, 17), (17, rows)):
        _kernels.feature_scores_add(r0, r1, indptr, feat, col, None if unit else data, w, out,
                                    sid)
    want = start.copy()
    np.add.at(want, (row_of, col), vals * w[feat])
    np.testing.assert_allclose(out, want, rtol=1e-13, atol=1e-13)

    G = rng.normal(size=(rows, N))
    gw = np.zeros(n_feat)
    _kernels.feature_grads_add(0, rows, indptr, feat, col, None if unit else data, G, gw, sid)
    want_g = np.zeros(n_feat)
    np.add.at(want_g, feat, vals * G[row_of, col])
    np.testing.assert_allclose(gw, want_g, rtol=1e-13, atol=1e-13)


def test_feature_products_check_their_sizes(rng):
    indptr, feat, col, data, _ = _features(rng, 10, 3, 5)
    sid = _kernels.simd_id("generic")
    out, w = np.zeros((10, 3)), np.zeros(5)
    with pytest.raises(ValueError, match="out of range"):
        _kernels.feature_scores_add(0, 11, indptr, feat, col, data, w, out, sid)
    with pytest.raises(ValueError, match="indptr"):
        _kernels.feature_scores_add(0, 10, indptr, feat, col[:-1], data, w, out, sid)
    with pytest.raises(ValueError, match="indptr"):
        _kernels.feature_grads_add(0, 10, indptr, feat, col, data[:-1], out, w, sid)
