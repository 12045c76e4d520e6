"""Every SIMD variant of the kernels (generic, AVX2, AVX-512: whichever this CPU and build
have) agrees with the numpy reference; the variant is chosen at run time."""
import numpy as np
import pytest

import fastseq
from fastseq import _kernels
from fastseq import _reference as ref

LEVELS = ["generic", "avx2", "avx512"]


def _supported(level):
    current = _kernels.simd_level()
    try:
        _kernels.set_simd_level(level)
    except ValueError:
        return False
    finally:
        _kernels.set_simd_level(current)
    return True


@pytest.fixture(params=LEVELS)
def simd(request):
    if not _supported(request.param):
        pytest.skip(f"{request.param} kernels not built or not supported by this CPU")
    before = _kernels.simd_level()
    _kernels.set_simd_level(request.param)
    yield request.param
    _kernels.set_simd_level(before)


def test_best_level_is_default():
    best = [lv for lv in LEVELS if _supported(lv)][-1]
    assert _kernels.simd_level() == best
    assert fastseq.show_config(file=open("/dev/null", "w"))["simd"] == best


def test_unknown_level_rejected():
    with pytest.raises(ValueError, match="sse9"):
        _kernels.set_simd_level("sse9")


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
    got, want = fastseq.marginals(em, tr, pairwise=True, **kw), ref.marginals(em, tr, pairwise=True, **kw)
    np.testing.assert_allclose(got.node, want.node, **tol)
    np.testing.assert_allclose(got.pair, want.pair, **tol)
    np.testing.assert_allclose(fastseq.backward(em, tr, **kw), ref.backward(em, tr, **kw), **tol)
    paths, scores = fastseq.viterbi(em, tr, **kw)
    np.testing.assert_allclose(scores, ref.viterbi(em, tr, **kw)[1], **tol)
    found = np.isfinite(scores)
    assert found.sum() >= 3 and np.all(paths[~found] == -1)
    rescored = fastseq.sequence_score(em, tr, np.maximum(paths, 0), **kw)
    np.testing.assert_allclose(rescored[found], scores[found], **tol)


def test_small_batches_use_fewer_threads():
    from fastseq.ops import _threads_for

    assert _threads_for(2, np.array([20] * 64), 9) == 1     # 64 x 20 x 81 multiply-adds
    assert _threads_for(2, np.array([20] * 64), 9, passes=4) == 1
    assert _threads_for(2, np.array([50] * 64), 9, passes=4) == 2
    assert _threads_for(2, np.array([100] * 256), 128) == 2
    assert _threads_for(1, np.array([100] * 256), 128) == 1
    assert _threads_for(8, np.array([10] * 300), 15) == 2   # work for 2.7 threads
