"""Checkpointed forward-backward (``memory_limit``): the same marginals, pair counts, CRF loss
and gradients as the full computation, for sequences too long to hold their lattices."""
import numpy as np
import pytest

import fastseq
from fastseq import ops, structured

# every sequence longer than a position checkpointed
TINY = 1


def model(rng, N, dtype=np.float64, forbid=True):
    tr = rng.normal(size=(N, N))
    if forbid:
        tr[0, 1] = tr[2 % N, 0] = -np.inf
    return (tr.astype(dtype), rng.normal(size=N).astype(dtype),
            rng.normal(size=N).astype(dtype))


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("T", [1, 2, 3, 17, 400, 1000])
def test_marginals_equal_the_full_computation(dtype, tol, T):
    rng = np.random.default_rng(T)
    tr, st, en = model(rng, 6, dtype)
    em = (rng.normal(size=(T, 6)) * 4).astype(dtype)
    full = fastseq.marginals(em, tr, start=st, end=en, pairwise=True)
    ck = fastseq.marginals(em, tr, start=st, end=en, pairwise=True, memory_limit=TINY)
    assert ck.node.dtype == dtype and ck.pair.dtype == dtype
    np.testing.assert_allclose(ck.log_Z, full.log_Z, rtol=tol)
    np.testing.assert_allclose(ck.node, full.node, rtol=tol, atol=tol)
    np.testing.assert_allclose(ck.pair, full.pair, rtol=tol, atol=tol * max(T, 1))


def test_batches_mix_checkpointed_and_whole_sequences():
    rng = np.random.default_rng(1)
    tr, st, en = model(rng, 4)
    em = rng.normal(size=(5, 300, 4))
    lengths = [300, 10, 0, 250, 1]
    # 32 N bytes a position: sequences over 100 positions are checkpointed
    limit = 32 * 4 * 100
    full = fastseq.marginals(em, tr, lengths=lengths, pairwise=True, start=st, end=en)
    ck = fastseq.marginals(em, tr, lengths=lengths, pairwise=True, start=st, end=en,
                           memory_limit=limit)
    np.testing.assert_allclose(ck.node, full.node, atol=1e-12)
    np.testing.assert_allclose(ck.pair, full.pair, rtol=1e-12, atol=1e-11)
    np.testing.assert_allclose(ck.log_Z, full.log_Z, rtol=1e-13)
    paths, conf = fastseq.posterior_decode(em, tr, lengths=lengths, memory_limit=limit)
    np.testing.assert_array_equal(paths, fastseq.posterior_decode(em, tr, lengths=lengths)[0])


def test_sparse_transitions():
    rng = np.random.default_rng(2)
    A = structured.left_to_right(40, 3)
    first = np.r_[0.0, np.full(39, -np.inf)]
    em = rng.normal(size=(2000, 40))
    full = fastseq.marginals(em, A, start=first, pairwise=True)
    ck = fastseq.marginals(em, A, start=first, pairwise=True, memory_limit=TINY)
    np.testing.assert_allclose(ck.node, full.node, atol=1e-12)
    np.testing.assert_allclose(ck.pair.data, full.pair.data, rtol=1e-12, atol=1e-10)
    assert ck.log_Z == pytest.approx(full.log_Z, rel=1e-13)


@pytest.mark.parametrize("sparse", [False, True])
def test_crf_loss_and_gradients(sparse):
    rng = np.random.default_rng(3)
    tr, st, en = model(rng, 5, forbid=False)
    trans = structured.log_probabilities(structured.probabilities(
        structured.banded(5, 1, 1))) if sparse else tr
    em = rng.normal(size=(3, 500, 5))
    tags = np.tile(np.repeat(np.arange(5), 100), (3, 1))  # moves of one state up: allowed
    lengths = [500, 380, 7]
    (nll, g), (nll_ck, g_ck) = (
        fastseq.crf_nll(em, trans, tags, start=st, end=en, lengths=lengths,
                        reduction="none", memory_limit=limit)
        for limit in (None, 32 * 5 * 100))
    np.testing.assert_allclose(nll_ck, nll, rtol=1e-12)
    for got, want in zip(g_ck, g):
        if sparse and hasattr(got, "toarray"):
            got, want = got.toarray(), want.toarray()
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-10)


def test_no_path_gives_zeros():
    em = np.zeros((50, 3))
    tr = np.full((3, 3), -np.inf)
    m = fastseq.marginals(em, tr, pairwise=True, memory_limit=TINY)
    assert m.log_Z == -np.inf and not m.node.any() and not m.pair.any()


def test_out_receives_the_node_marginals():
    rng = np.random.default_rng(4)
    tr, st, en = model(rng, 3)
    em = rng.normal(size=(2, 60, 3))
    out = np.full(em.shape, np.nan)
    m = fastseq.marginals(em, tr, lengths=[60, 20], out=out, memory_limit=TINY)
    assert m.node is out
    assert (out[1, 20:] == 0).all()
    np.testing.assert_allclose(out, fastseq.marginals(em, tr, lengths=[60, 20]).node,
                               atol=1e-12)


def test_the_default_limit_applies(monkeypatch):
    rng = np.random.default_rng(5)
    tr, st, en = model(rng, 4)
    em = rng.normal(size=(300, 4))
    full = fastseq.marginals(em, tr, pairwise=True)
    calls = []
    real = ops._checkpointed
    monkeypatch.setattr(ops, "_checkpointed", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(ops, "_MEMORY_LIMIT", 32 * 4 * 100)
    ck = fastseq.marginals(em, tr, pairwise=True)
    assert calls == [1]
    np.testing.assert_allclose(ck.node, full.node, atol=1e-12)


@pytest.mark.parametrize("bad, err", [(0, ValueError), (-5, ValueError), ("1GB", TypeError),
                                      (True, TypeError)])
def test_bad_memory_limit(bad, err):
    with pytest.raises(err, match="memory_limit"):
        fastseq.marginals(np.zeros((3, 2)), np.zeros((2, 2)), memory_limit=bad)
