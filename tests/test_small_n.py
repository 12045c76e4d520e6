"""Small label sets run with one sequence per SIMD lane (batches of N <= 16 states): the
results must be those of the one-sequence path bit for bit -- ties broken towards the lowest
state, -inf moves, start and end scores, ragged and empty sequences, both dtypes, every SIMD
variant and thread count."""
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
