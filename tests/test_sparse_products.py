"""The compiled sparse x dense products of CRF training (``fastseq._kernels.csr_matmul`` and
``csr_tmatmul_add``) against scipy, at every SIMD level this CPU runs."""
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


@pytest.mark.parametrize("simd", LEVELS)
@pytest.mark.parametrize("N", [1, 3, 8, 9, 22, 33, 40])
def test_csr_matmul_is_the_sparse_product(rng, simd, N):
    X, arrays = _csr(rng, 60, 45)
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
def test_csr_tmatmul_add_accumulates_the_transposed_product(rng, simd, N):
    X, arrays = _csr(rng, 60, 45)
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
    with pytest.raises(ValueError, match="multiple of 8"):
        _kernels.csr_tmatmul_add(0, 10, *arrays, np.zeros((10, 3)), np.zeros((6, 3)), simd)
