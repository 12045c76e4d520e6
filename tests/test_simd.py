"""Every SIMD variant of the kernels (generic, AVX2, AVX-512: whichever this CPU and build
have) agrees with the numpy reference. The variant is chosen per call: the best one by
default, or the one fastseq.ops.simd_variant sets for the current thread/context."""
import os
import threading

import numpy as np
import pytest

import fastseq
from fastseq import _kernels
from fastseq import _reference as ref
from fastseq.ops import simd_variant

LEVELS = ["generic", "avx2", "avx512"]
SUPPORTED = _kernels.simd_levels()


@pytest.fixture(params=LEVELS)
def simd(request):
    if request.param not in SUPPORTED:
        pytest.skip(f"{request.param} kernels not built or not supported by this CPU")
    with simd_variant(request.param):
        yield request.param


def test_best_level_is_default():
    assert SUPPORTED[0] == "generic" and set(SUPPORTED) <= set(LEVELS)
    assert _kernels.simd_level() == SUPPORTED[-1]
    assert fastseq.show_config(file=open("/dev/null", "w"))["simd"] == SUPPORTED[-1]


def test_unknown_or_unsupported_level_rejected():
    for name in ["sse9", "auto", None] + [lv for lv in LEVELS if lv not in SUPPORTED]:
        with pytest.raises(ValueError, match=r"`name`.*'generic'.*got"):
            simd_variant(name)


def test_kernel_returns_a_clean_error_for_an_unsupported_variant():
    em, tr, lengths = np.zeros((3, 2)), np.zeros((2, 2)), np.array([3])
    bad = [-1, 4, 99] + [_kernels.simd_id(lv) for lv in LEVELS if lv not in SUPPORTED]
    for simd in bad:
        with pytest.raises(ValueError, match="FS_ERR_UNSUPPORTED"):
            _kernels.forward(em, tr, None, None, np.zeros(1, np.int64), lengths, 1, simd, None,
                             np.empty(1))


@pytest.mark.parametrize("N", [1, 3, 9, 17, 40])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_variant_matches_reference(simd, N, dtype):
    rng = np.random.default_rng(N)
    lengths = np.array([0, 1, 7, 30, 13, 30, 2])
    B, T = len(lengths), lengths.max()
    em = (rng.normal(size=(B, T, N)) * 3).astype(dtype)
    tr = rng.normal(size=(N, N)).astype(dtype)
    tr[rng.random((N, N)) < 0.2] = -np.inf
    st, en = rng.normal(size=N).astype(dtype), rng.normal(size=N).astype(dtype)
    kw = dict(start=st, end=en, lengths=lengths)
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-4)
    np.testing.assert_allclose(fastseq.log_partition(em, tr, **kw),
                               ref.log_partition(em, tr, **kw), **tol)
    got = fastseq.marginals(em, tr, pairwise=True, **kw)
    want = ref.marginals(em, tr, pairwise=True, **kw)
    np.testing.assert_allclose(got.node, want.node, **tol)
    np.testing.assert_allclose(got.pair, want.pair, **tol)
    np.testing.assert_allclose(fastseq.backward(em, tr, **kw), ref.backward(em, tr, **kw), **tol)
    paths, scores = fastseq.viterbi(em, tr, **kw)
    np.testing.assert_allclose(scores, ref.viterbi(em, tr, **kw)[1], **tol)
    found = np.isfinite(scores)
    assert found.sum() >= 3 and np.all(paths[~found] == -1)
    rescored = fastseq.sequence_score(em, tr, np.maximum(paths, 0), **kw)
    np.testing.assert_allclose(rescored[found], scores[found], **tol)


def _outputs(em, tr, tags, lengths):
    log_alpha, _ = fastseq.forward(em, tr, lengths=lengths)
    m = fastseq.marginals(em, tr, pairwise=True, lengths=lengths)
    _, scores = fastseq.viterbi(em, tr, lengths=lengths)
    _, grad = fastseq.crf_nll(em, tr, tags, lengths=lengths)
    return [log_alpha, m.node, m.pair, scores, grad.emissions, grad.transitions]


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.skipif(len(SUPPORTED) < 2, reason="only one SIMD variant on this CPU/build")
def test_concurrent_threads_use_their_own_variant():
    """Two threads running different variants at the same time each get, bitwise, what their
    variant gives alone; the choice ends with the `with` block and never reaches another
    thread."""
    rng = np.random.default_rng(7)
    lengths = rng.integers(20, 60, size=48)
    em = rng.normal(size=(48, 60, 17)) * 3
    tr = rng.normal(size=(17, 17))
    tags = rng.integers(0, 17, size=(48, 60))
    args = (em, tr, tags, lengths)
    lo, hi = SUPPORTED[0], SUPPORTED[-1]
    default_variant = os.environ.get("FASTSEQ_SIMD") or hi  # the best, unless set
    want = {}
    for lv in {lo, hi, default_variant}:
        with simd_variant(lv):
            want[lv] = _outputs(*args)
    default = _outputs(*args)
    assert _same(default, want[default_variant])
    assert not _same(want[lo], want[hi]), "variants agree bitwise here: the test cannot tell"

    start = threading.Barrier(2)
    results, errors = {}, []

    def work(lv):
        try:
            with simd_variant(lv):
                start.wait(timeout=30)
                results[lv] = all(_same(_outputs(*args), want[lv]) for _ in range(10))
            results[lv, "after"] = _same(_outputs(*args), default)
        except BaseException as e:  # reported below, in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(lv,)) for lv in (lo, hi)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert results == {lo: True, hi: True, (lo, "after"): True, (hi, "after"): True}

    # a thread started earlier keeps the default while this one is inside the block
    inside, computed = threading.Event(), threading.Event()
    seen = {}

    def bystander():
        inside.wait(timeout=30)
        seen["out"] = _outputs(*args)
        computed.set()

    t = threading.Thread(target=bystander)
    t.start()
    with simd_variant(lo):
        inside.set()
        computed.wait(timeout=30)
        assert _same(_outputs(*args), want[lo])
    t.join()
    assert _same(seen["out"], default)
    assert _same(_outputs(*args), default)


def test_small_batches_use_fewer_threads():
    from fastseq.ops import _threads_for

    # the work of a step: N^2 multiply-adds (dense), nnz (sparse transitions)
    assert _threads_for(2, np.array([20] * 64), 9 * 9) == 1     # 64 x 20 x 81
    assert _threads_for(2, np.array([5] * 64), 9 * 9, passes=4) == 1
    assert _threads_for(2, np.array([20] * 64), 9 * 9, passes=4) == 2
    assert _threads_for(2, np.array([100] * 256), 128 * 128) == 2
    assert _threads_for(1, np.array([100] * 256), 128 * 128) == 1
    assert _threads_for(8, np.array([10] * 100), 15 * 15) == 3   # work for 3.75 threads
