"""Inputs a hostile or careless user can build, each of which once crashed, hung, misled or
ran away with memory: every one now gives the reference answer or a clear error naming the
argument. (The fuzzers in tests/fuzz search for more; what they find lands here.)"""
from __future__ import annotations

import _thread
import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import fastseq
from fastseq import _reference as ref

TR2 = np.log([[0.8, 0.2], [0.3, 0.7]])


def _em(T=5, N=2, seed=0):
    return np.random.default_rng(seed).normal(size=(T, N))


# --- lengths whose int64 sum wraps --------------------------------------------------------

@pytest.mark.parametrize("fn", ["viterbi", "log_partition", "marginals", "kbest"])
def test_lengths_whose_sum_wraps_are_rejected(fn):
    # 2 * (2**63 - 1) + 3 wraps to 1 in int64: it used to pass "sums to L" and crash or hang
    args = (np.zeros((1, 2)), np.zeros((2, 2))) + ((2,) if fn == "kbest" else ())
    with pytest.raises(ValueError, match="`lengths`"):
        getattr(fastseq, fn)(*args, lengths=[2**63 - 1, 2**63 - 1, 3])


def test_huge_unsigned_lengths_are_rejected():
    with pytest.raises(ValueError, match="`lengths`"):
        fastseq.viterbi(np.zeros((1, 2)), TR2, lengths=np.array([2**64 - 1], dtype=np.uint64))


# --- memory layouts numpy hands out ------------------------------------------------------

def _unaligned(a):
    buf = bytearray(a.nbytes + 1)
    out = np.frombuffer(buf, dtype=a.dtype, offset=1, count=a.size).reshape(a.shape)
    out[...] = a
    assert not out.flags.aligned
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unaligned_and_byteswapped_arrays_give_the_reference_answer(dtype):
    em, tr = _em(7, 3).astype(dtype), np.random.default_rng(1).normal(size=(3, 3)).astype(dtype)
    tags = np.array([0, 1, 2, 2, 1, 0, 1])
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    want_z = ref.log_partition(em.astype(np.float64), tr.astype(np.float64))
    swapped = em.dtype.newbyteorder(">")
    for em_x, tr_x in [(_unaligned(em), _unaligned(tr)), (em.astype(swapped), tr.astype(swapped))]:
        np.testing.assert_allclose(fastseq.log_partition(em_x, tr_x), want_z, **tol)
        paths, _ = fastseq.viterbi(em_x, tr_x)
        np.testing.assert_array_equal(paths, ref.viterbi(em, tr)[0])
        nll, _ = fastseq.crf_nll(em_x, tr_x, _unaligned(tags.astype(np.int64)))
        np.testing.assert_allclose(nll, ref.crf_nll(em, tr, tags)[0], **tol)
    # a structured array's field is a strided, possibly unaligned view
    rec = np.zeros(7, dtype=[("flag", "u1"), ("score", dtype, (3,))])
    rec["score"] = em
    np.testing.assert_allclose(fastseq.log_partition(rec["score"], tr), want_z, **tol)


def test_unaligned_lengths_and_broadcast_views():
    em = np.broadcast_to(_em(1, 2), (6, 2))
    lengths = _unaligned(np.array([2, 4], dtype=np.int64))
    got = fastseq.log_partition(em, TR2, lengths=lengths)
    want = [ref.log_partition(np.asarray(em[:2]), TR2), ref.log_partition(np.asarray(em[2:]), TR2)]
    np.testing.assert_allclose(got, want, rtol=1e-12)


# --- extreme values ----------------------------------------------------------------------

def test_scores_near_minus_dbl_max_give_minus_inf_not_nan():
    em = np.full((3, 2), -1e308)
    assert fastseq.log_partition(em, np.zeros((2, 2))) == -np.inf
    m = fastseq.marginals(em, np.zeros((2, 2)), pairwise=True)
    assert m.log_Z == -np.inf and not np.isnan(m.node).any() and not np.isnan(m.pair).any()
    assert fastseq.log_partition(np.zeros((3, 2)), np.full((2, 2), -1e308)) == -np.inf
    z = fastseq.log_partition(np.zeros((3, 2)), np.zeros((2, 2)), start=np.full(2, -1e308),
                              end=np.full(2, -1e308))
    assert z == -np.inf
    _, scores = fastseq.kbest(em, np.zeros((2, 2)), 3)
    assert np.all(scores == -np.inf)
    paths, score = fastseq.viterbi(em, np.zeros((2, 2)))
    assert score == -np.inf and np.all(paths == -1)


def test_one_extreme_negative_score_is_exact():
    # np.finfo(float).min as "almost forbidden", as torch users write masks
    em = _em(4, 3)
    em[1, 0] = np.finfo(np.float64).min
    tr = np.random.default_rng(2).normal(size=(3, 3))
    np.testing.assert_allclose(fastseq.log_partition(em, tr), ref.log_partition(em, tr),
                               rtol=1e-12)


@pytest.mark.parametrize("name", ["emissions", "transitions", "start", "end"])
def test_scores_that_could_overflow_a_path_total_are_rejected(name):
    args = dict(emissions=_em(3, 2), transitions=np.zeros((2, 2)), start=np.zeros(2),
                end=np.zeros(2))
    args[name] = np.full_like(args[name], 1e308)
    with pytest.raises(ValueError, match=f"`{name}`.*overflow"):
        fastseq.log_partition(args["emissions"], args["transitions"], start=args["start"],
                              end=args["end"])


def test_large_padding_is_never_read_or_checked():
    em = np.full((2, 4, 2), 1e308)
    em[0, :2] = em[1, :3] = 0.0
    got = fastseq.log_partition(em, TR2, lengths=[2, 3])
    np.testing.assert_allclose(got, [ref.log_partition(np.zeros((2, 2)), TR2),
                                     ref.log_partition(np.zeros((3, 2)), TR2)], rtol=1e-12)


# --- k-best ------------------------------------------------------------------------------

def test_kbest_with_a_huge_k_is_fast_and_exact():
    rng = np.random.default_rng(3)
    em, tr = rng.normal(size=(8, 17)), rng.normal(size=(17, 17))
    t0 = time.perf_counter()
    paths, scores = fastseq.kbest(em, tr, 10**6)
    assert time.perf_counter() - t0 < 60  # was hours (insertion into the top-k lists)
    assert paths.shape == (10**6, 8) and np.all(np.diff(scores) <= 0)
    np.testing.assert_array_equal(paths[:5], ref.kbest(em, tr, 5)[0])
    np.testing.assert_allclose(fastseq.sequence_score(em, tr, paths[-1]), scores[-1], rtol=1e-12)


def test_kbest_with_more_paths_asked_than_exist():
    em = _em(3, 2)
    paths, scores = fastseq.kbest(em, TR2, 100)
    assert paths.shape == (100, 3) and np.isfinite(scores[:8]).all()
    assert np.all(paths[8:] == -1) and np.all(scores[8:] == -np.inf)
    assert len({tuple(p) for p in paths[:8]}) == 8


@pytest.mark.parametrize("k, error", [(10**30, ValueError), (0, ValueError), (-1, ValueError),
                                      (2.0, TypeError), (True, TypeError),
                                      (10**14, MemoryError)])
def test_kbest_bad_k(k, error):
    with pytest.raises(error, match="`k`"):
        fastseq.kbest(_em(), TR2, k)


# --- threads -----------------------------------------------------------------------------

def test_n_threads_far_above_the_cores_is_clamped():
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert fastseq.effective_n_threads(10**5) <= cores
    assert fastseq.effective_n_threads(2**31) <= cores
    em = np.random.default_rng(4).normal(size=(64, 20, 5))
    tr = np.random.default_rng(5).normal(size=(5, 5))
    np.testing.assert_array_equal(fastseq.log_partition(em, tr, n_threads=10**5),
                                  fastseq.log_partition(em, tr, n_threads=1))


# --- crf_nll's scratch does not grow with the batch ---------------------------------------

def test_crf_nll_gradients_are_summed_in_bounded_chunks(monkeypatch):
    from fastseq import ops

    rng = np.random.default_rng(6)
    em, tr = rng.normal(size=(50, 4, 3)), rng.normal(size=(3, 3))
    tags = rng.integers(0, 3, size=(50, 4))
    lengths = rng.integers(0, 5, size=50)
    whole = fastseq.crf_nll(em, tr, tags, lengths=lengths, reduction="none")
    monkeypatch.setattr(ops, "_CRF_CHUNK_BYTES", 1)  # 16 sequences per kernel call
    parts = fastseq.crf_nll(em, tr, tags, lengths=lengths, reduction="none")
    np.testing.assert_array_equal(whole[0], parts[0])
    for a, b in zip(whole[1], parts[1]):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)
    want = ref.crf_nll(em, tr, tags, lengths=lengths, reduction="none")
    np.testing.assert_allclose(parts[1].transitions, want[1].transitions, rtol=1e-10, atol=1e-10)


# --- interrupts --------------------------------------------------------------------------

def _interrupt_after(seconds):
    fired = []

    def fire():
        fired.append(time.perf_counter())
        _thread.interrupt_main()

    timer = threading.Timer(seconds, fire)
    timer.start()
    return fired, timer


@pytest.mark.parametrize("call", ["kbest", "marginals"])
def test_ctrl_c_stops_a_long_kernel_within_a_second(call):
    rng = np.random.default_rng(7)
    if call == "kbest":  # seconds of work in a single kernel call
        em, tr = rng.normal(size=(400, 20, 40)), rng.normal(size=(40, 40))
        run = lambda: fastseq.kbest(em, tr, 300)  # noqa: E731
    else:
        em = rng.normal(size=(2, 2_000_000, 8))
        run = lambda: fastseq.marginals(em, np.zeros((8, 8)), pairwise=True)  # noqa: E731
    fired, timer = _interrupt_after(0.3)
    try:
        with pytest.raises(KeyboardInterrupt):
            run()
    finally:
        timer.cancel()
    assert fired and time.perf_counter() - fired[0] < 1.0


def test_a_forked_child_runs_the_kernels_instead_of_hanging():
    script = textwrap.dedent("""
        import os, numpy as np, fastseq, fastseq.ops as ops
        ops._WORK_PER_THREAD = 1  # really start the parent's thread team
        em = np.random.default_rng(0).normal(size=(64, 30, 6)); tr = np.zeros((6, 6))
        want = fastseq.log_partition(em, tr, n_threads=2)
        pid = os.fork()
        if pid == 0:
            ok = np.array_equal(fastseq.log_partition(em, tr, n_threads=2), want)
            os._exit(0 if ok and fastseq.effective_n_threads(2) == 1 else 3)
        _, status = os.waitpid(pid, 0)
        raise SystemExit(os.waitstatus_to_exitcode(status))
    """)
    if not hasattr(os, "fork"):
        pytest.skip("no os.fork on this platform")
    proc = subprocess.run([sys.executable, "-c", script], timeout=120)
    assert proc.returncode == 0
