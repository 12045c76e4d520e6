"""Property-based fuzzing of the online decoders against offline Viterbi.

Cases are small: N in 1..70 states (so that the sets of live states take one word and two),
transitions with forbidden moves, small-integer scores (ties everywhere) or scaled normal
ones, -inf emissions (streams that die), float32 or float64 rows, 1..5 streams pushed row
by row or in blocks, exact mode or a max_lag. The contract: in exact mode every stream's
labels are offline Viterbi's path of its rows (where a path exists), every position is
committed once and in order; with max_lag a label is never later than promised and the
labels of a stream that keeps a path score finitely; never a crash.
"""
from __future__ import annotations

import numpy as np
from hypothesis import given, note
from hypothesis import strategies as st

from fastseq import ops
from fastseq.stream import OnlineViterbi


@st.composite
def cases(draw):
    N = draw(st.sampled_from((1, 2, 3, 5, 9, 64, 65, 70)))
    T = draw(st.integers(0, 12))
    B = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ties = draw(st.booleans())
    if ties:
        tr = rng.integers(-2, 1, size=(N, N)).astype(float)
        em = rng.integers(-2, 1, size=(T, B, N)).astype(float)
    else:
        scale = draw(st.sampled_from((1e-3, 1.0, 30.0, 1e4)))
        tr, em = rng.normal(size=(N, N)) * scale, rng.normal(size=(T, B, N)) * scale
    forbid = draw(st.sampled_from((0.0, 0.3, 0.8)))
    tr[rng.random((N, N)) < forbid] = -np.inf
    em[rng.random(em.shape) < draw(st.sampled_from((0.0, 0.05, 0.5)))] = -np.inf
    dtype = draw(st.sampled_from((np.float64, np.float32)))
    start = rng.normal(size=N) if draw(st.booleans()) else None
    end = rng.normal(size=N) if draw(st.booleans()) else None
    max_lag = draw(st.sampled_from((None, None, 0, 1, 3)))
    block = draw(st.sampled_from((1, 2, 5)))
    return tr, em.astype(dtype), start, end, max_lag, block


def test_fuzz_stream_equals_offline_viterbi(fuzz):
    @given(cases())
    def check(case):
        fuzz.count()
        tr, em, start, end, max_lag, block = case
        T, B, N = em.shape
        note(f"N={N} T={T} B={B} max_lag={max_lag} block={block} dtype={em.dtype}")
        dec = OnlineViterbi(tr, start=start, end=end, n_streams=B, max_lag=max_lag)
        got = [[] for _ in range(B)]

        def take(c):
            for s, p, lab in zip(c.stream, c.position, c.label):
                assert p == len(got[s])
                assert -1 <= lab < N
                got[s].append(lab)

        for t0 in range(0, T, block):
            take(dec.push_many(em[t0:t0 + block]))
            if max_lag is not None:
                t = min(t0 + block, T) - 1
                assert all(len(g) >= t + 1 - max_lag for g in got)
        take(dec.flush())
        paths = ops.viterbi(np.ascontiguousarray(em.transpose(1, 0, 2)), tr, start=start,
                            end=end)[0] if T else np.zeros((B, 0), dtype=np.int64)
        for b in range(B):
            labels = np.array(got[b], dtype=np.int64)
            assert labels.shape == (T,)
            if max_lag is None and T and paths[b, 0] >= 0:
                np.testing.assert_array_equal(labels, paths[b])
            elif T and (labels >= 0).all():
                score = ops.sequence_score(em[:, b], tr, labels, start=start, end=end)
                assert np.isfinite(score)

    fuzz.run(check)
