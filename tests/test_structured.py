"""The structured transition builders: their patterns, probabilities and validation."""
import numpy as np
import pytest
import scipy.sparse as sp

import fastseq
from fastseq import structured


def dense_probs(A):
    return structured.probabilities(A).toarray()


def assert_rows_sum_to_one(A):
    np.testing.assert_allclose(dense_probs(A).sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("n, jump", [(1, 1), (5, 1), (6, 3), (4, 9), (7, 0)])
def test_left_to_right(n, jump):
    A = structured.left_to_right(n, jump)
    assert sp.issparse(A) and A.shape == (n, n)
    P = dense_probs(A)
    i, j = np.nonzero(P)
    assert ((j >= i) & (j <= i + jump)).all()
    assert A.nnz == sum(min(jump, n - 1 - r) + 1 for r in range(n))
    assert_rows_sum_to_one(A)


def test_left_to_right_stay():
    P = dense_probs(structured.left_to_right(4, 2, stay=0.7))
    np.testing.assert_allclose(P[0], [0.7, 0.15, 0.15, 0])
    np.testing.assert_allclose(P[2], [0, 0, 0.7, 0.3])
    np.testing.assert_allclose(P[3], [0, 0, 0, 1])
    # stay = 0: no self-loop stored except in the last state
    A = structured.left_to_right(3, 1, stay=0.0)
    assert A.nnz == 3 and dense_probs(A)[0, 0] == 0


def test_banded_and_weights():
    P = dense_probs(structured.banded(6, 2, 1, weights=[1, 0, 2, 1]))
    assert P[3, 1] > 0 and P[3, 2] == 0 and P[3, 5] == 0
    np.testing.assert_allclose(P[3, [1, 3, 4]], [0.25, 0.5, 0.25])
    np.testing.assert_allclose(P[0, [0, 1]], [2 / 3, 1 / 3])
    W = dense_probs(structured.banded(6, 1, 1, wrap=True))
    np.testing.assert_allclose(W[0, [5, 0, 1]], 1 / 3)
    assert_rows_sum_to_one(structured.banded(50, 3, 7))


def test_cyclic():
    P = dense_probs(structured.cyclic(5, 2, stay=0.6))
    np.testing.assert_allclose(P[4, [4, 0, 1]], [0.6, 0.2, 0.2])
    assert_rows_sum_to_one(structured.cyclic(5, 2))


def test_large_patterns_never_densify():
    A = structured.banded(200_000, 5, 5, dtype=np.float32)  # dense: 160 GB
    assert A.dtype == np.float32 and A.nnz < 11 * 200_000


def test_duration_chain_probabilities():
    # state 0 lasts exactly 2 steps, state 1 one or two steps, each leads to the other
    chain = structured.duration_chain([[0, 1.0], [0.5, 0.5]], [[0, 1], [1, 0]], start=[1, 3])
    assert chain.state.tolist() == [0, 0, 1, 1]
    assert_rows_sum_to_one(chain.transitions)
    np.testing.assert_allclose(np.exp(chain.start), [0.25, 0, 0.375, 0.375])
    # the probability of a segmentation: 0 0 | 1 | 0 0 (the last segment complete)
    em = np.zeros((5, 4))
    path = [0, 1, 3, 0, 1]  # counting states: "2 left", "1 left", state 1 "1 left", ...
    score = fastseq.sequence_score(em, chain.transitions, path, start=chain.start)
    assert np.exp(score) == pytest.approx(0.25 * 1 * 0.5 * 1 * 1)
    assert chain.state[path].tolist() == [0, 0, 1, 0, 0]


def test_duration_chain_segment_lengths_follow_the_distribution():
    # the first state's duration, read off the node marginals of a long enough sequence
    dur = np.array([0.1, 0.2, 0.3, 0.4])
    long = [0] * 6 + [1.0]  # state 1 outlasts the sequence: state 0 never comes back
    chain = structured.duration_chain([dur, long], [[0, 1], [1, 0]], start=[1, 0])
    T = 6
    m = fastseq.marginals(np.zeros((T, chain.state.size)), chain.transitions,
                          start=chain.start)
    in_first = m.node[:, chain.state == 0].sum(axis=1)
    # P(still in state 0 at step t) = P(duration > t) for t < 4
    np.testing.assert_allclose(in_first[:4], [1, 0.9, 0.7, 0.4], rtol=1e-12)


def test_log_probabilities_round_trip():
    P = sp.random_array((30, 30), density=0.1, random_state=0, format="csr")
    L = structured.log_probabilities(P)
    np.testing.assert_allclose(structured.probabilities(L).toarray(), P.toarray())
    with pytest.raises(TypeError, match="probabilities"):
        structured.log_probabilities(np.eye(3))


@pytest.mark.parametrize("call, match", [
    (lambda: structured.left_to_right(0), "n_states"),
    (lambda: structured.left_to_right(3, -1), "max_jump"),
    (lambda: structured.left_to_right(3, stay=1.5), "stay"),
    (lambda: structured.banded(3, 1, 1, weights=[1, 2]), "weights"),
    (lambda: structured.banded(3, 1, 1, weights=[1, -1, 1]), "weights"),
    (lambda: structured.banded(3, 1, 2, wrap=True), "wrap"),
    (lambda: structured.left_to_right(3, dtype=np.int32), "dtype"),
    (lambda: structured.duration_chain([[1.0]], [[0.5]]), "diagonal"),
    (lambda: structured.duration_chain([[1.0], [1.0]], [[0, 1]]), "shape"),
    (lambda: structured.duration_chain([[0.0], [1.0]], [[0, 1], [1, 0]]), "durations"),
])
def test_bad_arguments_name_themselves(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
