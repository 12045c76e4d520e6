"""HMMs with sparse transition matrices: EM keeps the pattern and equals EM on the dense
matrix; scoring, decoding and sampling use only the allowed moves."""
import logging

import numpy as np
import pytest
import scipy.sparse as sp

from fastseq import structured
from fastseq.hmm import CategoricalHMM, GaussianHMM

NC = 6


def left_right():
    return structured.probabilities(structured.left_to_right(NC, 2, stay=0.6))


def pattern_of_ones(A):
    """A Dirichlet prior of 1 (no pseudo-count) on A's pattern."""
    A = A.copy()
    A.data[:] = 1.0
    return A


def categorical_data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 4, size=(1200, 1))
    return X, [300, 500, 400]


def gaussian_data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(900, 2)) + np.repeat(np.arange(9), 100)[:, None] * 0.4
    return X, [450, 450]


def pair(cls, A, **kw):
    """The same model twice: sparse and dense transitions."""
    models = []
    for trans in (A, A.toarray()):
        m = cls(NC, n_iter=15, tol=-np.inf, random_state=0, **kw)
        m.startprob_ = np.r_[1.0, np.zeros(NC - 1)]
        m.transmat_ = trans
        models.append(m)
    return models


@pytest.mark.parametrize("cls, data, kw", [
    (CategoricalHMM, categorical_data, {"init_params": "e", "params": "ste"}),
    (GaussianHMM, gaussian_data, {"init_params": "mc", "params": "stmc"}),
])
def test_em_equals_dense_and_keeps_the_pattern(cls, data, kw):
    X, lengths = data()
    A = left_right()
    A.data[1] = 0.0          # a stored zero: a move EM must keep at zero
    A.data[0] = 1.0 - A.data[2]
    sparse_m, dense_m = pair(cls, A, **kw)
    sparse_m.fit(X, lengths)
    dense_m.fit(X, lengths)
    hs, hd = np.array(sparse_m.monitor_.history), np.array(dense_m.monitor_.history)
    np.testing.assert_allclose(hs, hd, rtol=1e-10)
    assert np.all(np.diff(list(sparse_m.monitor_.history)) >= -1e-8 * np.abs(hs[1:]))
    T = sparse_m.transmat_
    assert sp.issparse(T)
    np.testing.assert_array_equal(T.indptr, A.indptr)
    np.testing.assert_array_equal(T.indices, A.indices)
    assert T.data[1] == 0.0
    np.testing.assert_allclose(T.toarray(), dense_m.transmat_, atol=1e-10)
    assert sparse_m.score(X, lengths) == pytest.approx(dense_m.score(X, lengths), rel=1e-12)
    np.testing.assert_array_equal(sparse_m.predict(X, lengths), dense_m.predict(X, lengths))
    np.testing.assert_allclose(sparse_m.predict_proba(X, lengths),
                               dense_m.predict_proba(X, lengths), atol=1e-10)
    sparse_m.algorithm = dense_m.algorithm = "map"
    np.testing.assert_array_equal(sparse_m.predict(X, lengths), dense_m.predict(X, lengths))


def test_every_format_is_accepted_and_stored_as_csr():
    X, lengths = categorical_data()
    for fmt in ("coo", "csc", "lil"):
        m = CategoricalHMM(NC, init_params="e", params="ste", n_iter=2, random_state=0)
        m.startprob_ = np.r_[1.0, np.zeros(NC - 1)]
        m.transmat_ = left_right().asformat(fmt)
        m.fit(X, lengths)
        assert m.transmat_.format == "csr"


def test_sparse_prior_gives_the_pattern():
    X, lengths = categorical_data()
    m = CategoricalHMM(NC, transmat_prior=pattern_of_ones(structured.left_to_right(NC, 1)),
                       n_iter=5,
                       random_state=0)
    m.fit(X, lengths)
    P = m.transmat_.toarray()
    i, j = np.nonzero(P)
    assert ((j == i) | (j == i + 1)).all()
    # the number of free transition parameters follows the pattern: 2 per row but the last
    assert m._get_n_fit_scalars_per_param()["t"] == NC - 1


def test_supervised_counts_on_the_pattern(caplog):
    X = np.array([[0], [1], [1], [2], [0], [3]])
    states = np.array([0, 0, 1, 2, 2, 4])   # 2 -> 4 jumps over the band of width 1
    m = CategoricalHMM(5, transmat_prior=pattern_of_ones(structured.left_to_right(5, 1)),
                       params="ste", init_params="")
    with caplog.at_level(logging.WARNING):
        m.fit_supervised(X, states)
    assert "not in the transitions' pattern" in caplog.text
    P = m.transmat_.toarray()
    np.testing.assert_allclose(P[0], [0.5, 0.5, 0, 0, 0])
    np.testing.assert_allclose(P[2], [0, 0, 1, 0, 0])       # 2 -> 2 once; 2 -> 4 dropped
    np.testing.assert_allclose(P[3], [0, 0, 0, 0.5, 0.5])   # no counts: uniform


def test_sampling_uses_allowed_moves_only():
    m = CategoricalHMM(NC, init_params="")
    m.startprob_ = np.r_[1.0, np.zeros(NC - 1)]
    m.transmat_ = left_right()
    m.emissionprob_ = np.full((NC, 3), 1 / 3)
    m.n_features = 3
    _, Z = m.sample(400, random_state=0)
    steps = np.diff(Z)
    assert ((steps >= 0) & (steps <= 2)).all() and Z[0] == 0
    pi = m.get_stationary_distribution()
    np.testing.assert_allclose(pi, np.eye(NC)[-1], atol=1e-12)   # absorbed at the end


@pytest.mark.parametrize("bad, match", [
    (sp.csr_array(np.full((NC, NC), 0.5)), "sum to 1"),
    (sp.csr_array(np.eye(NC + 1)), "shape"),
    (sp.coo_array(([1.5, -0.5], ([0, 0], [0, 1])), shape=(NC, NC)), "non-negative"),
])
def test_bad_sparse_transmat(bad, match):
    X, lengths = categorical_data()
    m = CategoricalHMM(NC, init_params="e", random_state=0)
    m.startprob_ = np.full(NC, 1 / NC)
    m.transmat_ = bad
    with pytest.raises(ValueError, match=match) as err:
        m.fit(X, lengths)
    assert "transmat_" in str(err.value)
