"""Property-based fuzzing of the functions with sparse transitions against the dense kernels.

Cases are tiny: N in 1..6 states, a random pattern (rows or columns left empty: states with
no move out or in), stored zeros and stored -inf, extreme and tiny scores, any scipy.sparse
format and index dtype, the three batch layouts with lengths 0 and 1, float32 and float64,
and a ``memory_limit`` that sometimes forces checkpointing. The contract: every function
returns what it returns on the dense matrix with -inf in the missing places (Viterbi and
k-best paths and scores exactly, the rest to a tolerance), and never NaN. A corrupted
matrix (indptr edited, an index out of range, a duplicate entry, NaN or +inf stored) is a
ValueError naming ``transitions``, never a crash.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, note
from hypothesis import strategies as st

import fastseq

FORMATS = ("csr", "csc", "coo", "lil", "dok", "csr_matrix", "coo_matrix")
FUNCS = ("log_partition", "forward", "backward", "marginals", "viterbi", "kbest",
         "posterior_decode", "sequence_score", "crf_nll")
CORRUPTIONS = ("indptr_falls", "indptr_end", "index_range", "duplicate", "nan", "posinf")


@st.composite
def models(draw):
    N = draw(st.integers(1, 6))
    dtype = draw(st.sampled_from((np.float64, np.float64, np.float32)))
    mask = np.array(draw(st.lists(st.booleans(), min_size=N * N, max_size=N * N))).reshape(N, N)
    scale = draw(st.sampled_from((1.0, 1.0, 1e-3, 30.0, 1e3)))
    vals = np.array(draw(st.lists(st.floats(-3, 3), min_size=N * N, max_size=N * N)))
    vals = (vals.reshape(N, N) * scale).astype(dtype)
    if draw(st.booleans()) and mask.any():  # a stored -inf and a stored 0
        i, j = np.argwhere(mask)[draw(st.integers(0, int(mask.sum()) - 1))]
        vals[i, j] = -np.inf if draw(st.booleans()) else 0.0
    dense = np.where(mask, vals, -np.inf).astype(dtype)
    rows, cols = np.nonzero(mask)
    coo = sp.coo_array((vals[rows, cols], (rows, cols)), shape=(N, N))
    fmt = draw(st.sampled_from(FORMATS))
    matrix = (sp.csr_matrix(coo) if fmt == "csr_matrix" else sp.coo_matrix(coo)
              if fmt == "coo_matrix" else coo.asformat(fmt))
    return N, dtype, dense, matrix


@st.composite
def cases(draw, fn):
    N, dtype, dense, matrix = draw(models())
    layout = draw(st.sampled_from(("single", "padded", "concat")))
    B = draw(st.integers(1, 4))
    lengths = np.array(draw(st.lists(st.integers(0, 5), min_size=B, max_size=B)))
    T = int(lengths.max()) if layout == "padded" else None
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from((1.0, 1.0, 50.0, 1e-6)))
    kw = {}
    if layout == "single":
        em = rng.normal(size=(int(lengths[0]), N)) * scale
        tags = rng.integers(0, N, size=em.shape[0])
    elif layout == "padded":
        em = rng.normal(size=(B, T, N)) * scale
        tags = rng.integers(0, N, size=(B, T))
        kw["lengths"] = lengths
    else:
        em = rng.normal(size=(int(lengths.sum()), N)) * scale
        tags = rng.integers(0, N, size=em.shape[0])
        kw["lengths"] = lengths
    if draw(st.booleans()):
        kw["start"] = rng.normal(size=N).astype(dtype)
    if draw(st.booleans()):
        kw["end"] = np.where(rng.random(N) < 0.3, -np.inf, rng.normal(size=N)).astype(dtype)
    if fn in ("marginals", "posterior_decode", "crf_nll") and draw(st.booleans()):
        kw["memory_limit"] = 1  # checkpointed
    extra = {"kbest": draw(st.integers(1, 4)), "sequence_score": tags, "crf_nll": tags}.get(fn)
    return fn, em.astype(dtype), dense, matrix, extra, kw


def call(fn, em, trans, extra, kw):
    f = getattr(fastseq, fn)
    if fn == "marginals":
        return f(em, trans, pairwise=True, **kw)
    return f(em, trans, **kw) if extra is None else f(em, trans, extra, **kw)


def as_dense(x, mask):
    if sp.issparse(x):
        full = np.zeros(x.shape)
        coo = x.tocoo()
        full[coo.row, coo.col] = coo.data
        return np.where(mask, full, 0.0)
    if isinstance(x, list):
        return np.stack([as_dense(p, mask) for p in x]) if x else np.zeros((0,) + mask.shape)
    return x


def compare(fn, got, want, dense, dtype):
    stored = ~np.isneginf(dense)  # pair outputs are compared where both have entries
    tol = 1e-9 if dtype == np.float64 else 2e-4
    if fn in ("viterbi", "kbest"):
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
        return
    if fn == "marginals":
        np.testing.assert_allclose(got.node, want.node, rtol=tol, atol=tol)
        np.testing.assert_allclose(got.log_Z, want.log_Z, rtol=tol, atol=tol)
        pairs = as_dense(got.pair, stored)
        np.testing.assert_allclose(pairs, np.where(stored, want.pair, 0.0), rtol=tol,
                                   atol=tol * 10)
        return
    if fn == "crf_nll":
        np.testing.assert_allclose(got[0], want[0], rtol=tol, atol=tol)
        for k, (g, w) in enumerate(zip(got[1], want[1])):
            if k == 1:
                g, w = as_dense(g, stored), np.where(stored, w, 0.0)
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol * 10)
        return
    for g, w in zip(got if isinstance(got, tuple) else (got,),
                    want if isinstance(want, tuple) else (want,)):
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


@pytest.mark.parametrize("fn", FUNCS)
def test_fuzz_sparse_equals_dense(fuzz, fn):
    @given(cases(fn))
    def check(case):
        fuzz.count()
        fn_, em, dense, matrix, extra, kw = case
        note(f"{fn_} {type(matrix).__name__} N={dense.shape[0]} em={em.shape} {kw}")
        dense_kw = {k: v for k, v in kw.items() if k != "memory_limit"}
        with np.errstate(all="ignore"):
            want = call(fn_, em, dense, extra, dense_kw)
        got = call(fn_, em, matrix, extra, kw)
        for leaf in (got if isinstance(got, tuple) else (got,)):
            if isinstance(leaf, np.ndarray) and leaf.dtype.kind == "f":
                assert not np.isnan(leaf).any(), f"NaN in {fn_}"
        compare(fn_, got, want, dense, em.dtype.type)

    fuzz.run(check)


@st.composite
def corrupted(draw):
    N, dtype, dense, matrix = draw(models())
    kind = draw(st.sampled_from(CORRUPTIONS))
    x = sp.csr_array(matrix)
    x.sort_indices()
    if kind == "indptr_falls" and N >= 2 and x.nnz:
        x.indptr = x.indptr.copy()
        x.indptr[1] = x.nnz + 1
    elif kind == "indptr_end":
        x.indptr = x.indptr.copy()
        x.indptr[-1] = x.nnz + draw(st.integers(1, 5))
    elif kind == "index_range" and x.nnz:
        x.indices = x.indices.copy()
        x.indices[0] = N + draw(st.integers(0, 2**20))
    elif kind == "duplicate":
        x = sp.coo_array(([1.0, 2.0], ([0, 0], [0, 0])), shape=(N, N))
    elif kind in ("nan", "posinf") and x.nnz:
        x.data = x.data.copy()
        x.data[0] = np.nan if kind == "nan" else np.inf
    else:
        x = sp.coo_array(([1.0, 2.0], ([0, 0], [0, 0])), shape=(N, N))
    return N, x


@given(corrupted(), st.sampled_from(FUNCS))
def test_fuzz_corrupted_matrices_are_value_errors(case, fn):
    N, x = case
    em = np.zeros((3, N))
    extra = {"kbest": 2, "sequence_score": np.zeros(3, int), "crf_nll": np.zeros(3, int)}.get(fn)
    with pytest.raises(ValueError, match="`transitions`"):
        call(fn, em, x, extra, {})
