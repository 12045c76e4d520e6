"""Small label sets run with one sequence per SIMD lane (Viterbi up to N = 16 states, the
sum-product kernels up to 32).
Viterbi's results must be those of the one-sequence path bit for bit -- ties broken towards
the lowest state, -inf moves, start and end scores, ragged and empty sequences, both dtypes,
every SIMD variant and thread count. The sum-product kernels in lanes must agree with the
one-sequence path to rounding, with the same -inf entries, including the sequences whose
rows the lanes cannot keep scaled (they are computed again by the one-sequence path)."""
from __future__ import annotations

import numpy as np
import pytest

import fastseq

VARIANTS = ["generic", "avx2", "avx512"]


def _case(rng, N, B, T, dtype, ties, forbid):
    if ties:  # small integers: many exactly equal path scores
        em = rng.integers(-2, 3, size=(B, T, N)).astype(dtype)
        tr = rng.integers(-2, 3, size=(N, N)).astype(dtype)
    else:
        em = rng.normal(size=(B, T, N)).astype(dtype)
        tr = rng.normal(size=(N, N)).astype(dtype)
    if forbid:
        tr[rng.random((N, N)) < 0.4] = -np.inf
        em[rng.random(em.shape) < 0.2] = -np.inf
    lengths = rng.integers(0, T + 1, size=B)
    lengths[0] = T
    start = rng.normal(size=N).astype(dtype) if rng.random() < 0.5 else None
    end = rng.normal(size=N).astype(dtype) if rng.random() < 0.5 else None
    return em, tr, start, end, lengths


def _same(a, b):
    return np.array_equal(a, b) and np.array_equal(np.signbit(a), np.signbit(b)) \
        if a.dtype.kind == "f" else np.array_equal(a, b)


@pytest.mark.parametrize("simd", VARIANTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_viterbi_batch_equals_one_sequence_at_a_time(simd, dtype):
    try:
        variant = fastseq.simd_variant(simd)
    except ValueError:
        pytest.skip(f"{simd} is not supported on this CPU or build")
    rng = np.random.default_rng(hash((simd, np.dtype(dtype).name)) % 2**32)
    with variant:
        for trial in range(60):
            N = int(rng.integers(1, 17))
            em, tr, start, end, lengths = _case(rng, N, int(rng.integers(2, 21)),
                                                int(rng.integers(1, 40)), dtype,
                                                ties=trial % 2 == 0, forbid=trial % 3 == 0)
            paths, scores = fastseq.viterbi(em, tr, start=start, end=end, lengths=lengths,
                                            n_threads=2)
            for b, n in enumerate(lengths):
                if n == 0:
                    assert scores[b] == 0.0 and (paths[b] == -1).all()
                    continue
                p1, s1 = fastseq.viterbi(em[b, :n], tr, start=start, end=end, n_threads=1)
                assert np.array_equal(paths[b, :n], p1), (trial, b)
                assert (paths[b, n:] == -1).all()
                assert scores[b] == s1 or (np.isneginf(scores[b]) and np.isneginf(s1))


def test_viterbi_no_path_and_threads():
    rng = np.random.default_rng(3)
    em, tr, _, _, lengths = _case(rng, 5, 37, 30, np.float64, ties=True, forbid=False)
    tr[:, 2] = -np.inf          # state 2 can only start a path
    em[5, :, :] = -np.inf       # sequence 5 has no path at all
    one = fastseq.viterbi(em, tr, lengths=lengths, n_threads=1)
    two = fastseq.viterbi(em, tr, lengths=lengths, n_threads=2)
    assert all(_same(a, b) for a, b in zip(one, two))
    paths, scores = one
    assert np.isneginf(scores[5]) and (paths[5] == -1).all()
    assert not (paths[np.arange(37) != 5][:, 1:] == 2).any()


def test_viterbi_long_sequences_in_lanes():
    # long sequences in lanes (up to the length the lanes take) against the one-sequence path
    rng = np.random.default_rng(4)
    em = rng.normal(size=(3, 4096, 4))
    tr = rng.normal(size=(4, 4))
    paths, scores = fastseq.viterbi(em, tr, lengths=[4096, 1, 4000])
    for b, n in enumerate([4096, 1, 4000]):
        p1, s1 = fastseq.viterbi(em[b, :n], tr)
        assert np.array_equal(paths[b, :n], p1) and scores[b] == s1


def _sum_product(em, tr, start, end, lengths, tags, n_threads):
    """Every sum-product kernel's outputs for one call, as a flat list of arrays."""
    kw = dict(start=start, end=end, lengths=lengths, n_threads=n_threads)
    log_alpha, log_Z = fastseq.forward(em, tr, **kw)
    node, pair, lz = fastseq.marginals(em, tr, pairwise=True, **kw)
    nll, g = fastseq.crf_nll(em, tr, tags, reduction="none", **kw)
    return [log_alpha, np.asarray(log_Z), fastseq.backward(em, tr, **kw),
            np.asarray(fastseq.log_partition(em, tr, **kw)), node, pair, np.asarray(lz),
            np.asarray(nll), g.emissions, g.transitions, g.start, g.end]


def _close(a, b, rtol):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert np.array_equal(np.isinf(a), np.isinf(b)) and np.array_equal(a[np.isinf(a)],
                                                                       b[np.isinf(b)])
    fin = np.isfinite(a)
    scale = np.maximum(1.0, np.abs(b[fin]))
    assert (np.abs(a[fin] - b[fin]) <= rtol * scale).all(), np.abs(a[fin] - b[fin]).max()


@pytest.mark.parametrize("simd", VARIANTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sum_product_batch_equals_one_sequence_at_a_time(simd, dtype):
    try:
        variant = fastseq.simd_variant(simd)
    except ValueError:
        pytest.skip(f"{simd} is not supported on this CPU or build")
    rng = np.random.default_rng(hash(("sp", simd, np.dtype(dtype).name)) % 2**32)
    rtol = 1e-5 if dtype == np.float32 else 1e-11
    with variant:
        for trial in range(40):
            N = int(rng.integers(1, 34))
            B, T = int(rng.integers(2, 21)), int(rng.integers(1, 40))
            em, tr, start, end, lengths = _case(rng, N, B, T, dtype, ties=False,
                                                forbid=trial % 3 == 0)
            if trial % 4 == 1:  # rows too wide to scale: some lanes fail, others do not
                em[rng.random(B) < 0.5] *= 300
            if trial % 4 == 3:  # rows spanning hundreds of nats, as fitted HMMs give
                em *= 60
            if trial % 5 == 2:  # a sequence no path goes through
                em[0, min(3, T - 1)] = -np.inf
            tags = rng.integers(0, N, size=(B, T))
            batch = _sum_product(em, tr, start, end, lengths, tags, n_threads=2)
            assert all(_same(x, y) for x, y in zip(
                batch, _sum_product(em, tr, start, end, lengths, tags, n_threads=1)))
            summed = [0.0, 0.0, 0.0]  # the batch's transition, start and end gradients
            for b, n in enumerate(lengths):
                one = _sum_product(em[b, :n][None], tr, start, end, [n], tags[b, :n][None], 1)
                rows = [batch[0][b, :n], batch[1][b], batch[2][b, :n], batch[3][b],
                        batch[4][b, :n], batch[5][b], batch[6][b], batch[7][b],
                        batch[8][b, :n]]
                for k, (x, y) in enumerate(zip(rows, one)):
                    _close(x, y[0], rtol), (trial, b, k)
                summed = [acc + g for acc, g in zip(summed, one[9:])]
            for x, y in zip(batch[9:], summed):
                _close(x, y, rtol * B)


def test_sum_product_long_sequences_in_lanes():
    # sequences up to the longest the lanes take at this N, against the one-sequence path
    rng = np.random.default_rng(5)
    lengths = [4369, 1, 4000]  # 4369 (3 N + 6) cells at N = 8: the most the lanes take
    em, tr = rng.normal(size=(3, 4369, 8)) * 3, rng.normal(size=(8, 8))
    tags = rng.integers(0, 8, size=(3, 4369))
    batch = _sum_product(em, tr, None, None, lengths, tags, n_threads=2)
    for b, n in enumerate(lengths):
        one = _sum_product(em[b, :n][None], tr, None, None, [n], tags[b, :n][None], 1)
        for k, x in enumerate([batch[0][b, :n], batch[1][b], batch[2][b, :n], batch[3][b],
                               batch[4][b, :n], batch[5][b], batch[6][b], batch[7][b],
                               batch[8][b, :n]]):
            _close(x, one[k][0], 1e-10)


def test_offsets_that_overflow_to_minus_inf_in_lanes():
    # scores near -DBL_MAX summed along a path: the lanes' offsets become -inf and every
    # output must be the one-sequence path's -inf / 0, never NaN (found by the fuzzer)
    em, tr = np.array([[-1e308], [-0.826]]), np.array([[-1e308]])
    for simd in VARIANTS:
        try:
            variant = fastseq.simd_variant(simd)
        except ValueError:
            continue
        with variant:
            batch = _sum_product(em, tr, None, None, [2, 0], np.zeros((2,), int), 1)
            one = _sum_product(em[None], tr, None, None, [2], np.zeros((1, 2), int), 1)
        for x in batch:
            assert not np.isnan(x).any()
        for k, (x, y) in enumerate(zip([batch[0][:2], batch[1][0], batch[2][:2], batch[3][0],
                                        batch[4][:2], batch[5][0], batch[6][0], batch[7][0]],
                                       one)):
            assert np.array_equal(x, np.asarray(y[0])), k
