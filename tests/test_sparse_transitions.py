"""Sparse transitions (a scipy.sparse matrix of log-scores, missing = forbidden) give what the
dense kernels give on the dense matrix with -inf in the missing places: Viterbi and k-best
bit for bit, the rest to 1e-12 (float64)."""
import itertools

import numpy as np
import pytest
import scipy.sparse as sp

import fastseq
from fastseq import ops

TOL = {np.float64: 1e-12, np.float32: 2e-5}


def random_model(rng, N, density, dtype=np.float64, absorbing=False, unreachable=False):
    mask = rng.random((N, N)) < density
    if absorbing:          # state 0 has no move out, state 1 only to itself
        mask[0] = False
        mask[1] = False
        mask[1, 1] = True
    if unreachable:        # nothing moves into the last state
        mask[:, -1] = False
    scores = rng.normal(size=(N, N)) * 2
    dense = np.where(mask, scores, -np.inf).astype(dtype)
    rows, cols = np.nonzero(mask)
    return dense, sp.coo_array((dense[rows, cols], (rows, cols)), shape=(N, N)), mask


def batch(rng, layout, N, dtype, B=7, T=9):
    lengths = rng.integers(0, T + 1, size=B)
    lengths[:3] = [T, 0, 1]
    em = (rng.normal(size=(B, T, N)) * 3).astype(dtype)
    tags = rng.integers(0, N, size=(B, T))
    kw = {"start": rng.normal(size=N).astype(dtype), "end": rng.normal(size=N).astype(dtype),
          "lengths": lengths}
    if layout == "concatenated":
        em = np.concatenate([em[b, :n] for b, n in enumerate(lengths)])
        tags = np.concatenate([tags[b, :n] for b, n in enumerate(lengths)])
    elif layout == "single":
        em, tags = em[0], tags[0]
        del kw["lengths"]
    return em, tags, kw


def pairs_dense(pair):
    return pair.toarray() if sp.issparse(pair) else np.stack([p.toarray() for p in pair])


def assert_close(a, b, dtype):
    np.testing.assert_allclose(a, b, rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layout", ["padded", "concatenated", "single"])
@pytest.mark.parametrize("N, density, absorbing, unreachable", [
    (6, 0.4, False, False), (23, 0.15, True, False), (40, 0.08, False, True),
    (3, 1.0, False, False)])
def test_sparse_equals_dense(dtype, layout, N, density, absorbing, unreachable):
    rng = np.random.default_rng(N)
    dense, moves, mask = random_model(rng, N, density, dtype, absorbing, unreachable)
    em, tags, kw = batch(rng, layout, N, dtype)
    assert_close(fastseq.log_partition(em, moves, **kw),
                 fastseq.log_partition(em, dense, **kw), dtype)
    for got, want in zip(fastseq.forward(em, moves, **kw), fastseq.forward(em, dense, **kw)):
        assert_close(got, want, dtype)
    assert_close(fastseq.backward(em, moves, **kw), fastseq.backward(em, dense, **kw), dtype)
    got, want = (fastseq.marginals(em, m, pairwise=True, **kw) for m in (moves, dense))
    assert_close(got.node, want.node, dtype)
    assert_close(got.log_Z, want.log_Z, dtype)
    assert_close(pairs_dense(got.pair), want.pair, dtype)
    for got, want in zip(fastseq.viterbi(em, moves, **kw), fastseq.viterbi(em, dense, **kw)):
        np.testing.assert_array_equal(got, want)
    for k in (1, 4):
        for got, want in zip(fastseq.kbest(em, moves, k, **kw), fastseq.kbest(em, dense, k, **kw)):
            np.testing.assert_array_equal(got, want)
    for got, want in zip(fastseq.posterior_decode(em, moves, **kw),
                         fastseq.posterior_decode(em, dense, **kw)):
        assert_close(got, want, dtype)
    assert_close(fastseq.sequence_score(em, moves, tags, **kw),
                 fastseq.sequence_score(em, dense, tags, **kw), dtype)
    for reduction in ("sum", "mean", "none"):
        (nll, grad), (nll_d, grad_d) = (
            fastseq.crf_nll(em, m, tags, reduction=reduction, **kw) for m in (moves, dense))
        assert_close(nll, nll_d, dtype)
        assert_close(grad.emissions, grad_d.emissions, dtype)
        assert_close(grad.start, grad_d.start, dtype)
        assert_close(grad.end, grad_d.end, dtype)
        assert sp.issparse(grad.transitions)
        # a gold move outside the pattern has no entry to receive its -1
        assert_close(grad.transitions.toarray()[mask], grad_d.transitions[mask], dtype)


def test_pattern_of_outputs_is_the_transitions():
    rng = np.random.default_rng(0)
    dense, moves, _ = random_model(rng, 12, 0.3)
    em, tags, kw = batch(rng, "padded", 12, np.float64)
    pair = fastseq.marginals(em, moves, pairwise=True, **kw).pair
    csr = moves.tocsr()
    csr.sort_indices()
    assert len(pair) == em.shape[0]
    for p in pair:
        np.testing.assert_array_equal(p.indptr, csr.indptr)
        np.testing.assert_array_equal(p.indices, csr.indices)
    total = sum(p.sum() for p in pair)
    assert total == pytest.approx(max(0, int((kw["lengths"] - 1).clip(0).sum())))
    grad = fastseq.crf_nll(em, moves, tags, **kw)[1].transitions
    np.testing.assert_array_equal(grad.indices, csr.indices)


def test_brute_force():
    rng = np.random.default_rng(5)
    N, T = 4, 5
    dense, moves, mask = random_model(rng, N, 0.5)
    em = rng.normal(size=(T, N))
    scores = {y: fastseq.sequence_score(em, dense, list(y))
              for y in itertools.product(range(N), repeat=T)}
    finite = [s for s in scores.values() if s > -np.inf]
    want = np.logaddexp.reduce(finite) if finite else -np.inf
    assert fastseq.log_partition(em, moves) == pytest.approx(want, rel=1e-13)
    path, best = fastseq.viterbi(em, moves)
    assert best == pytest.approx(max(scores.values()), rel=1e-13)
    if best > -np.inf:
        assert scores[tuple(path)] == pytest.approx(best, rel=1e-13)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil", "dok", "bsr", "csr_matrix"])
def test_every_format_gives_the_same(fmt):
    rng = np.random.default_rng(1)
    dense, moves, _ = random_model(rng, 9, 0.35)
    em, _, kw = batch(rng, "padded", 9, np.float64)
    x = sp.csr_matrix(moves) if fmt == "csr_matrix" else moves.asformat(fmt)
    np.testing.assert_array_equal(fastseq.log_partition(em, x, **kw),
                                  fastseq.log_partition(em, moves, **kw))


def test_stored_zero_and_stored_minus_inf():
    # a stored 0 is a move of score 0; a stored -inf, like a missing entry, forbids it
    em = np.zeros((3, 2))
    x = sp.coo_array(([0.0, -np.inf, 0.0], ([0, 0, 1], [0, 1, 1])), shape=(2, 2))
    dense = np.array([[0.0, -np.inf], [-np.inf, 0.0]])
    assert fastseq.log_partition(em, x) == pytest.approx(fastseq.log_partition(em, dense))
    assert fastseq.log_partition(em, x) == pytest.approx(np.log(2))


def test_no_move_at_all():
    em = np.random.default_rng(0).normal(size=(2, 3, 4))
    empty = sp.csr_array((4, 4))
    np.testing.assert_array_equal(fastseq.log_partition(em, empty), [-np.inf, -np.inf])
    paths, scores = fastseq.viterbi(em, empty)
    assert (paths == -1).all() and (scores == -np.inf).all()
    m = fastseq.marginals(em, empty, pairwise=True)
    assert not m.node.any() and all(p.nnz == 0 for p in m.pair)
    nll, _ = fastseq.crf_nll(em, empty, np.zeros((2, 3), int), reduction="none")
    assert (nll == np.inf).all()
    # one position needs no move
    assert np.isfinite(fastseq.log_partition(em[:, :1], empty)).all()


def test_threads_and_batch_shapes_are_bitwise_alike():
    rng = np.random.default_rng(2)
    dense, moves, _ = random_model(rng, 70, 0.05)
    em, tags, kw = batch(rng, "padded", 70, np.float64, B=21, T=30)
    one = fastseq.marginals(em, moves, pairwise=True, n_threads=1, **kw)
    two = fastseq.marginals(em, moves, pairwise=True, n_threads=2, **kw)
    np.testing.assert_array_equal(one.node, two.node)
    np.testing.assert_array_equal(pairs_dense(one.pair), pairs_dense(two.pair))
    np.testing.assert_array_equal(fastseq.log_partition(em, moves, n_threads=1, **kw),
                                  fastseq.log_partition(em, moves, n_threads=2, **kw))
    for x, y in zip(fastseq.viterbi(em, moves, n_threads=1, **kw),
                    fastseq.viterbi(em, moves, n_threads=2, **kw)):
        np.testing.assert_array_equal(x, y)
    # a sequence alone (one sequence at a time) and in a batch (in lanes) agree
    b = 4
    n = kw["lengths"][b]
    alone = fastseq.marginals(em[b, :n], moves, start=kw["start"], end=kw["end"])
    assert_close(alone.node, one.node[b, :n], np.float64)
    assert alone.log_Z == pytest.approx(one.log_Z[b], rel=1e-13)


@pytest.mark.parametrize("simd", fastseq.ops._kernels.simd_levels())
def test_every_simd_variant(simd):
    rng = np.random.default_rng(3)
    dense, moves, _ = random_model(rng, 30, 0.1)
    em, _, kw = batch(rng, "padded", 30, np.float64, B=11, T=20)
    with ops.simd_variant(simd):
        got = fastseq.marginals(em, moves, pairwise=True, **kw)
        paths = fastseq.viterbi(em, moves, **kw)
    want = fastseq.marginals(em, dense, pairwise=True, **kw)
    assert_close(got.node, want.node, np.float64)
    assert_close(pairs_dense(got.pair), want.pair, np.float64)
    np.testing.assert_array_equal(paths[0], fastseq.viterbi(em, dense, **kw)[0])


@pytest.mark.parametrize("scale", [1e3, 60.0])
def test_extreme_scores_stay_exact(scale):
    # scores spanning hundreds to thousands of nats: the sums of products the sparse sweeps
    # use where they are exact, and the exact log form everywhere else, must agree with the
    # dense kernels' exact results (node, pairs and log_Z)
    rng = np.random.default_rng(4)
    dense, moves, _ = random_model(rng, 16, 0.3)
    dense = np.where(np.isfinite(dense), dense * scale, -np.inf)
    moves = sp.coo_array((moves.data * scale, moves.coords), shape=moves.shape)
    em = rng.normal(size=(5, 200, 16)) * scale
    want = fastseq.marginals(em, dense, pairwise=True)
    got = fastseq.marginals(em, moves, pairwise=True)
    np.testing.assert_allclose(got.log_Z, want.log_Z, rtol=1e-12)
    np.testing.assert_allclose(got.node, want.node, atol=1e-12)
    np.testing.assert_allclose(pairs_dense(got.pair), want.pair, atol=1e-12)
    np.testing.assert_allclose(fastseq.forward(em, moves)[0], fastseq.forward(em, dense)[0],
                               rtol=1e-12)
    np.testing.assert_allclose(fastseq.backward(em, moves), fastseq.backward(em, dense),
                               rtol=1e-12)


def malformed(kind):
    x = sp.csr_array(np.eye(3))
    if kind == "indptr falls":
        x.indptr = np.array([0, 2, 1, 3], dtype=x.indptr.dtype)
    elif kind == "indptr too long":
        x.indptr = np.array([0, 1, 2, 3, 3], dtype=x.indptr.dtype)
    elif kind == "indptr past nnz":
        x.indptr = np.array([0, 1, 2, 7], dtype=x.indptr.dtype)
    elif kind == "column out of range":
        x.indices = np.array([0, 1, 5], dtype=x.indices.dtype)
    elif kind == "duplicate":
        x = sp.coo_array(([1.0, 2.0], ([0, 0], [1, 1])), shape=(3, 3))
    elif kind == "coo row out of range":
        x = sp.coo_array(([1.0], ([0], [1])), shape=(3, 3))
        x.row = np.array([9], dtype=x.row.dtype)
    return x


@pytest.mark.parametrize("kind", ["indptr falls", "indptr too long", "indptr past nnz",
                                  "column out of range", "duplicate", "coo row out of range"])
def test_malformed_matrices_are_value_errors(kind):
    em = np.zeros((4, 3))
    with pytest.raises(ValueError, match="`transitions`"):
        fastseq.log_partition(em, malformed(kind))


def test_bad_values_and_shapes():
    em = np.zeros((4, 3))
    for bad, err in ((np.nan, "NaN"), (np.inf, r"\+inf")):
        x = sp.coo_array(([0.0, bad], ([0, 1], [1, 2])), shape=(3, 3))
        with pytest.raises(ValueError, match=err):
            fastseq.viterbi(em, x)
    with pytest.raises(ValueError, match="must have shape"):
        fastseq.log_partition(em, sp.csr_array((4, 4)))
    with pytest.raises(ValueError, match="square"):
        fastseq.log_partition(em, sp.csr_array((3, 4)))
    with pytest.raises(TypeError, match="real numbers"):
        fastseq.log_partition(em, sp.csr_array(np.eye(3) * 1j))
