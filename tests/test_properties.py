"""Property-based tests (hypothesis) of ``fastseq.ops``: identities every correct
implementation satisfies, independent of any oracle."""
from __future__ import annotations

import types

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

# thread counts given in these tests must really be used (see conftest)
pytestmark = pytest.mark.usefixtures("every_requested_thread")

SETTINGS = dict(deadline=None, max_examples=30, suppress_health_check=[HealthCheck.too_slow])
TIGHT = dict(rtol=1e-12, atol=1e-12)
TOL64 = dict(rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------------------


@st.composite
def batch_params(draw, max_B=6, max_T=12, max_N=5, inf=True, layouts=("padded", "concat")):
    B = draw(st.integers(1, max_B))
    return dict(
        seed=draw(st.integers(0, 2**63 - 1)),
        N=draw(st.integers(1, max_N)),
        lens=draw(st.lists(st.integers(0, max_T), min_size=B, max_size=B)),
        neg_inf=draw(st.sampled_from([0.0, 0.0, 0.15, 0.4])) if inf else 0.0,
        start=draw(st.booleans()),
        end=draw(st.booleans()),
        scale=draw(st.sampled_from([0.3, 2.0, 20.0])),
        layout=draw(st.sampled_from(layouts)),
    )


def build(make, p, dtype=np.float64):
    rng = np.random.default_rng(p["seed"])
    N = p["N"]
    seqs = [make.emissions(rng, n, N, scale=p["scale"], neg_inf=p["neg_inf"], dtype=dtype)
            for n in p["lens"]]
    A, s, e = make.model(rng, N, start=p["start"], end=p["end"], scale=p["scale"] / 2,
                         neg_inf=p["neg_inf"] / 2, dtype=dtype)
    em, lengths = make.batch(rng, p["layout"], seqs)
    return types.SimpleNamespace(
        seqs=seqs, A=A, s=s, e=e, em=em, lengths=lengths, lens=list(p["lens"]), N=N,
        B=len(seqs), layout=p["layout"], rng=rng,
        # serial unless a test is about threads (keeps the suite fast on busy machines)
        kw=dict(start=s, end=e, lengths=lengths, n_threads=1),
        split=lambda arr: make.split(p["layout"], arr, lengths),
    )


def lse(x, axis=-1):
    x = np.asarray(x, dtype=np.float64)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.squeeze(np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m, axis)


def random_tags(b, make):
    tags = make.tags(b.rng, b.lens, b.N)
    return tags, make.pack_tags(b.layout, tags)


# --------------------------------------------------------------------------------------
# marginals and forward/backward identities
# --------------------------------------------------------------------------------------


@settings(**SETTINGS)
@given(p=batch_params())
def test_node_marginals_sum_to_one(ops, make, p):
    b = build(make, p)
    m = ops.marginals(b.em, b.A, pairwise=True, **b.kw)
    assert np.all(m.node >= 0) and np.all(m.node <= 1 + 1e-12)
    for i, node in enumerate(b.split(m.node)):
        if np.isfinite(m.log_Z[i]):
            assert_allclose(node.sum(axis=1), 1.0, rtol=0, atol=1e-10)
            # pair marginals: expected transition counts add up to T-1
            assert_allclose(m.pair[i].sum(), max(b.lens[i] - 1, 0), rtol=1e-10, atol=1e-10)
            # and their column sums are the node marginals of positions 1..T-1
            assert_allclose(m.pair[i].sum(axis=0), node[1:].sum(axis=0), **TOL64)
            assert_allclose(m.pair[i].sum(axis=1), node[:-1].sum(axis=0), **TOL64)
        else:
            assert_array_equal(node, 0.0)
            assert_array_equal(m.pair[i], 0.0)
    if b.layout == "padded":
        for i, n in enumerate(b.lens):
            assert_array_equal(m.node[i, n:], 0.0)


@settings(**SETTINGS)
@given(p=batch_params())
def test_alpha_beta_logsumexp_is_log_z(ops, make, p):
    b = build(make, p)
    alpha, log_z = ops.forward(b.em, b.A, **b.kw)
    beta = ops.backward(b.em, b.A, **b.kw)
    assert_array_equal(log_z, ops.log_partition(b.em, b.A, **b.kw))
    e = np.zeros(b.N) if b.e is None else b.e
    for i, (a, bt) in enumerate(zip(b.split(alpha), b.split(beta))):
        n = b.lens[i]
        if n == 0:
            assert log_z[i] == 0.0
            continue
        assert_allclose(lse(a + bt, axis=1), np.full(n, log_z[i]), **TOL64)
        assert_allclose(bt[-1], e, **TOL64)  # log_beta[T-1] = end
        assert_allclose(lse(a[-1] + e), log_z[i], **TOL64)


# --------------------------------------------------------------------------------------
# batching, permutation, threads
# --------------------------------------------------------------------------------------


def all_outputs(ops, em, A, kw, tags, k=3):
    """Every op's outputs as a flat list of arrays / scalars."""
    m = ops.marginals(em, A, pairwise=True, **kw)
    nll, g = ops.crf_nll(em, A, tags, reduction="none", **kw)
    return [
        ops.log_partition(em, A, **kw),
        *ops.forward(em, A, **kw),
        ops.backward(em, A, **kw),
        m.node, m.pair, m.log_Z,
        *ops.viterbi(em, A, **kw),
        *ops.kbest(em, A, k, **kw),
        *ops.posterior_decode(em, A, **kw),
        ops.sequence_score(em, A, tags, **kw),
        nll, *g,
    ]


@settings(**SETTINGS)
@given(p=batch_params(layouts=("padded", "concat")))
def test_batch_equals_loop_over_sequences(ops, make, p):
    b = build(make, p)
    tag_list, tags = random_tags(b, make)
    k = 3
    kw = dict(start=b.s, end=b.e, n_threads=1)
    log_z = ops.log_partition(b.em, b.A, **b.kw)
    alpha, _ = ops.forward(b.em, b.A, **b.kw)
    beta = ops.backward(b.em, b.A, **b.kw)
    m = ops.marginals(b.em, b.A, pairwise=True, **b.kw)
    vp, vs = ops.viterbi(b.em, b.A, **b.kw)
    kp, ks = ops.kbest(b.em, b.A, k, **b.kw)
    pp, pc = ops.posterior_decode(b.em, b.A, **b.kw)
    ss = ops.sequence_score(b.em, b.A, tags, **b.kw)
    nll, g = ops.crf_nll(b.em, b.A, tags, reduction="none", **b.kw)
    g_tr = np.zeros((b.N, b.N))
    if b.layout == "concat":
        offs = np.concatenate([[0], np.cumsum(b.lens)]).astype(int)
        kblocks = [kp[:, offs[i]: offs[i + 1]] for i in range(b.B)]
    else:
        kblocks = [kp[i, :, : n] for i, n in enumerate(b.lens)]
    for i, x in enumerate(b.seqs):
        assert_allclose(log_z[i], ops.log_partition(x, b.A, **kw), **TIGHT)
        assert_allclose(b.split(alpha)[i], ops.forward(x, b.A, **kw)[0], **TIGHT)
        assert_allclose(b.split(beta)[i], ops.backward(x, b.A, **kw), **TIGHT)
        mi = ops.marginals(x, b.A, pairwise=True, **kw)
        assert_allclose(b.split(m.node)[i], mi.node, **TIGHT)
        assert_allclose(m.pair[i], mi.pair, **TIGHT)
        p1, s1 = ops.viterbi(x, b.A, **kw)
        assert_array_equal(b.split(vp)[i], p1)
        assert_allclose(vs[i], s1, **TIGHT)
        kp1, ks1 = ops.kbest(x, b.A, k, **kw)
        assert_allclose(ks[i], ks1, **TIGHT)
        assert_array_equal(kblocks[i], kp1)
        pp1, pc1 = ops.posterior_decode(x, b.A, **kw)
        assert_array_equal(b.split(pp)[i], pp1)
        assert_allclose(b.split(pc)[i], pc1, **TIGHT)
        assert_allclose(ss[i], ops.sequence_score(x, b.A, tag_list[i], **kw), **TIGHT)
        n1, g1 = ops.crf_nll(x, b.A, tag_list[i], **kw)
        assert_allclose(nll[i], n1, **TIGHT)
        assert_allclose(b.split(g.emissions)[i], g1.emissions, **TIGHT)
        g_tr += g1.transitions
    assert_allclose(g.transitions, g_tr, rtol=1e-12, atol=1e-11)


@settings(**SETTINGS)
@given(p=batch_params(max_B=8), data=st.data())
def test_permuting_sequences_permutes_outputs(ops, make, p, data):
    b = build(make, p)
    perm = np.array(data.draw(st.permutations(range(b.B))))
    tag_list, tags = random_tags(b, make)
    seqs2 = [b.seqs[j] for j in perm]
    em2, lengths2 = make.batch(b.rng, b.layout, seqs2)
    tags2 = make.pack_tags(b.layout, [tag_list[j] for j in perm])
    kw2 = dict(start=b.s, end=b.e, lengths=lengths2, n_threads=1)
    z1, z2 = ops.log_partition(b.em, b.A, **b.kw), ops.log_partition(em2, b.A, **kw2)
    assert_allclose(z2, z1[perm], **TIGHT)
    m1 = ops.marginals(b.em, b.A, pairwise=True, **b.kw)
    m2 = ops.marginals(em2, b.A, pairwise=True, **kw2)
    assert_allclose(m2.pair, m1.pair[perm], **TIGHT)
    node1 = b.split(m1.node)
    for i, node in enumerate(make.split(b.layout, m2.node, lengths2)):
        assert_allclose(node, node1[perm[i]], **TIGHT)
    (p1, s1), (p2, s2) = ops.viterbi(b.em, b.A, **b.kw), ops.viterbi(em2, b.A, **kw2)
    assert_allclose(s2, s1[perm], **TIGHT)
    path1 = b.split(p1)
    for i, path in enumerate(make.split(b.layout, p2, lengths2)):
        assert_array_equal(path, path1[perm[i]])
    (ks1, ks2) = ops.kbest(b.em, b.A, 2, **b.kw)[1], ops.kbest(em2, b.A, 2, **kw2)[1]
    assert_allclose(ks2, ks1[perm], **TIGHT)
    n1 = ops.crf_nll(b.em, b.A, tags, reduction="none", **b.kw)[0]
    n2 = ops.crf_nll(em2, b.A, tags2, reduction="none", **kw2)[0]
    assert_allclose(n2, n1[perm], **TIGHT)


@settings(**dict(SETTINGS, max_examples=15))
@given(p=batch_params(max_B=40, max_T=30, max_N=8))
def test_results_bitwise_identical_for_thread_counts(ops, make, p):
    b = build(make, p)
    _, tags = random_tags(b, make)
    base = None
    for nt in (1, 2, 3):
        out = all_outputs(ops, b.em, b.A, dict(b.kw, n_threads=nt), tags)
        if base is None:
            base = out
            continue
        for x, y in zip(base, out):
            assert np.array_equal(np.asarray(x), np.asarray(y)), f"n_threads={nt} differs"


@pytest.mark.parametrize("layout", ["padded", "concat"])
def test_results_bitwise_identical_for_thread_counts_large_batch(ops, make, layout):
    """A batch big enough to be split over threads; every n_threads value (including
    None and -1) gives bitwise identical results."""
    rng = np.random.default_rng(12345)
    N = 12
    lens = rng.integers(0, 80, size=300)
    seqs = [make.emissions(rng, int(n), N, neg_inf=0.05) for n in lens]
    A, s, e = make.model(rng, N, neg_inf=0.05)
    em, lengths = make.batch(rng, layout, seqs)
    tags = make.pack_tags(layout, make.tags(rng, lens, N))
    base = all_outputs(ops, em, A, dict(start=s, end=e, lengths=lengths, n_threads=1), tags)
    for nt in (2, 3, 4, -1, None):
        out = all_outputs(ops, em, A, dict(start=s, end=e, lengths=lengths, n_threads=nt),
                          tags)
        for x, y in zip(base, out):
            assert np.array_equal(np.asarray(x), np.asarray(y)), f"n_threads={nt} differs"


# --------------------------------------------------------------------------------------
# invariances
# --------------------------------------------------------------------------------------


@settings(**SETTINGS)
@given(p=batch_params(), c=st.floats(-30, 30, allow_nan=False, allow_infinity=False))
def test_transition_shift_shifts_log_z(ops, make, p, c):
    b = build(make, p)
    z = ops.log_partition(b.em, b.A, **b.kw)
    z_c = ops.log_partition(b.em, b.A + c, **b.kw)
    shift = np.array([max(n - 1, 0) * c for n in b.lens])
    mag = np.abs(z[np.isfinite(z)]).max(initial=0) + abs(c) * max(b.lens)
    assert_allclose(z_c, z + shift, rtol=1e-10, atol=1e-12 * (1 + mag))
    # marginals and the viterbi path are invariant
    m, m_c = ops.marginals(b.em, b.A, **b.kw), ops.marginals(b.em, b.A + c, **b.kw)
    assert_allclose(m_c.node, m.node, rtol=0, atol=1e-9)
    v, v_c = ops.viterbi(b.em, b.A, **b.kw), ops.viterbi(b.em, b.A + c, **b.kw)
    assert_allclose(v_c[1], v[1] + shift, rtol=1e-10, atol=1e-12 * (1 + mag))
    fin = np.isfinite(v[1])
    for i, p2 in enumerate(b.split(v_c[0])):
        if fin[i]:
            # same optimum; the path may differ only on an exact (shifted) tie
            s2 = ops.sequence_score(b.seqs[i], b.A, p2, start=b.s, end=b.e)
            assert_allclose(s2, v[1][i], rtol=1e-10, atol=1e-12 * (1 + mag))
        else:
            assert_array_equal(p2, -1)


@settings(**SETTINGS)
@given(p=batch_params(inf=True))
def test_float32_close_to_float64(ops, make, p):
    b32 = build(make, p, dtype=np.float32)
    f64 = lambda a: None if a is None else a.astype(np.float64)  # noqa: E731
    em64, A64 = f64(b32.em), f64(b32.A)
    kw64 = dict(start=f64(b32.s), end=f64(b32.e), lengths=b32.lengths)
    z32 = ops.log_partition(b32.em, b32.A, **b32.kw)
    z64 = ops.log_partition(em64, A64, **kw64)
    assert z32.dtype == np.float32 and z64.dtype == np.float64
    assert_allclose(z32, z64, rtol=1e-4, atol=1e-4)
    a32, _ = ops.forward(b32.em, b32.A, **b32.kw)
    a64, _ = ops.forward(em64, A64, **kw64)
    assert_allclose(a32, a64, rtol=1e-4, atol=1e-4)
    m32 = ops.marginals(b32.em, b32.A, pairwise=True, **b32.kw)
    m64 = ops.marginals(em64, A64, pairwise=True, **kw64)
    assert_allclose(m32.node, m64.node, rtol=0, atol=1e-4)
    assert_allclose(m32.pair, m64.pair, rtol=1e-4, atol=1e-4 * (1 + max(b32.lens)))
    s32 = ops.viterbi(b32.em, b32.A, **b32.kw)[1]
    s64 = ops.viterbi(em64, A64, **kw64)[1]
    assert_allclose(s32, s64, rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------------------
# decoding
# --------------------------------------------------------------------------------------


@settings(**SETTINGS)
@given(p=batch_params())
def test_viterbi_score_is_score_of_its_path_and_optimal(ops, make, p):
    b = build(make, p)
    paths, scores = ops.viterbi(b.em, b.A, **b.kw)
    fin = np.isfinite(scores)
    for i, path in enumerate(b.split(paths)):
        if not fin[i]:
            assert scores[i] == -np.inf and np.all(path == -1)
    safe = np.where(paths < 0, 0, paths)  # impossible sequences: any valid tags
    ss = ops.sequence_score(b.em, b.A, safe, **b.kw)
    assert_allclose(ss[fin], scores[fin], rtol=1e-10, atol=1e-10)
    # no other path scores higher
    for _ in range(3):
        _, tags = random_tags(b, make)
        other = ops.sequence_score(b.em, b.A, tags, **b.kw)
        assert np.all(other <= scores + 1e-9 * (1 + np.abs(np.where(fin, scores, 0))))


@settings(**SETTINGS)
@given(p=batch_params(), k=st.integers(1, 6))
def test_kbest_first_is_viterbi_and_sorted(ops, make, p, k):
    b = build(make, p)
    kp, ks = ops.kbest(b.em, b.A, k, **b.kw)
    vp, vs = ops.viterbi(b.em, b.A, **b.kw)
    assert ks.shape == (b.B, k)
    assert_allclose(ks[:, 0], vs, rtol=1e-12, atol=1e-12)
    for i in range(b.B):
        fin = ks[i][np.isfinite(ks[i])]
        assert np.all(np.isneginf(ks[i][len(fin):])), "finite scores must come first"
        assert np.all(np.diff(fin) <= 1e-12 * (1 + np.abs(fin[1:])))
        assert len(fin) <= b.N ** b.lens[i]
    # a larger k extends the list
    ks2 = ops.kbest(b.em, b.A, k + 2, **b.kw)[1]
    assert_allclose(ks2[:, :k], ks, rtol=1e-12, atol=1e-12)


@settings(**SETTINGS)
@given(p=batch_params(max_T=4, max_N=3, inf=False, max_B=4))
def test_kbest_all_paths_logsumexp_is_log_z(ops, make, p):
    """With k >= N**T every path is listed: N**T finite scores, all distinct paths, and
    their logsumexp is log_Z."""
    b = build(make, p)
    k = b.N ** max(b.lens)
    kp, ks = ops.kbest(b.em, b.A, k, **b.kw)
    z = ops.log_partition(b.em, b.A, **b.kw)
    for i, n in enumerate(b.lens):
        fin = ks[i][np.isfinite(ks[i])]
        assert len(fin) == b.N ** n
        assert_allclose(lse(fin), z[i], **TOL64)


@settings(**SETTINGS)
@given(p=batch_params())
def test_posterior_decode_is_argmax_of_marginals(ops, make, p):
    b = build(make, p)
    m = ops.marginals(b.em, b.A, **b.kw)
    paths, conf = ops.posterior_decode(b.em, b.A, **b.kw)
    for i, (node, path, cf) in enumerate(zip(b.split(m.node), b.split(paths), b.split(conf))):
        if not np.isfinite(m.log_Z[i]):
            assert np.all(path == -1) and np.all(cf == 0)
            continue
        rows = np.arange(len(path))
        assert np.all(path >= 0)
        assert_allclose(cf, node[rows, path], **TIGHT)
        assert np.all(node[rows, path] >= node.max(axis=1) - 1e-12)


# --------------------------------------------------------------------------------------
# CRF objective
# --------------------------------------------------------------------------------------


@settings(**SETTINGS)
@given(p=batch_params())
def test_crf_nll_nonnegative_and_gradient_sums(ops, make, p):
    b = build(make, p)
    tag_list, tags = random_tags(b, make)
    nll, g = ops.crf_nll(b.em, b.A, tags, reduction="none", **b.kw)
    z = ops.log_partition(b.em, b.A, **b.kw)
    ss = ops.sequence_score(b.em, b.A, tags, **b.kw)
    assert np.all(nll >= -1e-9)
    ok = np.isfinite(z) & np.isfinite(ss)
    assert_allclose(nll[ok], z[ok] - ss[ok], rtol=1e-10, atol=1e-10)
    assert np.all(nll[~ok] == np.inf)
    finite_z = np.isfinite(z)
    for i, ge in enumerate(b.split(g.emissions)):
        if finite_z[i]:
            assert_allclose(ge.sum(axis=1), 0.0, rtol=0, atol=1e-10)
        else:  # no allowed path: -(gold one-hots)
            gold = np.zeros_like(ge)
            gold[np.arange(len(ge)), tag_list[i]] = 1.0
            assert_array_equal(ge, -gold)
    if np.all(finite_z):
        B_eff = sum(1 for n in b.lens if n > 0)
        assert_allclose(g.transitions.sum(), 0.0, atol=1e-9)
        assert_allclose(g.start.sum(), 0.0, atol=1e-9 * (1 + B_eff))
        assert_allclose(g.end.sum(), 0.0, atol=1e-9 * (1 + B_eff))
    # reductions are consistent
    n_sum, g_sum = ops.crf_nll(b.em, b.A, tags, reduction="sum", **b.kw)
    n_mean, g_mean = ops.crf_nll(b.em, b.A, tags, reduction="mean", **b.kw)
    assert type(n_sum) is float and type(n_mean) is float
    assert_allclose(n_sum, nll.sum(), rtol=1e-12, atol=1e-12)
    assert_allclose(n_mean, nll.sum() / b.B, rtol=1e-12, atol=1e-12)
    for a, s_, m_ in zip(g, g_sum, g_mean):
        assert_allclose(s_, a, rtol=1e-12, atol=1e-12)
        assert_allclose(m_, a / b.B, rtol=1e-12, atol=1e-12)


@settings(**SETTINGS)
@given(p=batch_params(inf=False))
def test_crf_nll_minimised_by_viterbi_tags(ops, make, p):
    b = build(make, p)
    vp, _ = ops.viterbi(b.em, b.A, **b.kw)
    n_best = ops.crf_nll(b.em, b.A, vp, reduction="none", **b.kw)[0]
    _, tags = random_tags(b, make)
    n_other = ops.crf_nll(b.em, b.A, tags, reduction="none", **b.kw)[0]
    assert np.all(n_best <= n_other + 1e-9 * (1 + np.abs(n_other)))
