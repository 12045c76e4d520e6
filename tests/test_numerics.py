"""Numerical robustness of ``fastseq.ops`` (DESIGN.md section 5).

* scores spanning +-1e4 match the float64 reference;
* a sequence of a million steps matches an independent closed form (log-space / max-plus
  matrix powers of a periodic model) to 1e-10 relative;
* ``-inf`` (forbidden) entries and sequences with no allowed path give exactly the
  documented values;
* underflow-prone inputs (huge transitions, one-hot emissions, one catastrophic step in a long
  benign sequence) -- where a scaled probability-space fast path would underflow -- are
  answered exactly.

Tolerances. Any double-precision algorithm, the reference included, rounds the partial path
scores it adds up; for a sequence whose scores add up to a magnitude ``M`` that is an absolute
error of about ``eps * M`` per step in every log-value and (through ``exp``) in every
marginal; over ``T`` steps these add up like a random walk. Checks against the reference
therefore use ``rtol = 1e-10`` plus ``atol = 1e-10 + eps * M * (8 + 4 * sqrt(T + 1))``
("cond_tol"); for moderate scores this is the plain 1e-10 of DESIGN.md, and it is far below
any error a wrong fallback produces (O(1), inf or NaN). Where the exact answer is known to
better than 1e-10 (dyadic scores, the closed forms) the plain 1e-10 is used.
"""
from __future__ import annotations

import time

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

EPS64 = np.finfo(np.float64).eps


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _finite_absmax(a, axis=None):
    a = np.abs(np.asarray(a, dtype=np.float64))
    a = np.where(np.isfinite(a), a, 0.0)
    return np.max(a, axis=axis, initial=0.0)


def magnitude(em, A, s=None, e=None):
    """Upper bound ``M`` on the magnitude of any partial path score of one sequence."""
    T = em.shape[0]
    M = np.sum(_finite_absmax(em, axis=1)) + max(T - 1, 0) * _finite_absmax(A)
    M += _finite_absmax(s) if s is not None else 0.0
    M += _finite_absmax(e) if e is not None else 0.0
    return float(M)


def cond_tol(seqs, A, s=None, e=None):
    atol = max((magnitude(x, A, s, e) * (8 + 4 * np.sqrt(len(x) + 1)) for x in seqs),
               default=0.0)
    return dict(rtol=1e-10, atol=1e-10 + EPS64 * atol)


def pack(layout, seqs, pad=1e30):
    if layout == "concat":
        return np.concatenate(seqs), np.array([len(x) for x in seqs], np.int64)
    T = max(len(x) for x in seqs)
    out = np.full((len(seqs), T, seqs[0].shape[1]), pad)
    for b, x in enumerate(seqs):
        out[b, : len(x)] = x
    return out, np.array([len(x) for x in seqs], np.int64)


def split(layout, arr, lens):
    if layout == "concat":
        offs = np.concatenate([[0], np.cumsum(lens)])
        return [arr[offs[i]: offs[i + 1]] for i in range(len(lens))]
    return [arr[b, : n] for b, n in enumerate(lens)]


def compare_all_ops(ops, ref, seqs, A, s, e, *, layout="padded", tags=None, n_threads=2):
    """Run every op on the batch ``seqs`` and compare sequence by sequence with the
    reference (float64)."""
    tol = cond_tol(seqs, A, s, e)
    em, lens = pack(layout, seqs)
    kw = dict(start=s, end=e, lengths=lens, n_threads=n_threads)
    rkw = dict(start=s, end=e)
    if tags is None:
        tags = [np.asarray(ref.viterbi(x, A, **rkw)[0]).clip(0) for x in seqs]
    if layout == "concat":
        packed_tags = np.concatenate(tags).astype(np.int64)
    else:
        packed_tags = np.zeros(em.shape[:2], np.int64)
        for b, t in enumerate(tags):
            packed_tags[b, : len(t)] = t

    log_z = ops.log_partition(em, A, **kw)
    alpha, log_z2 = ops.forward(em, A, **kw)
    beta = ops.backward(em, A, **kw)
    marg = ops.marginals(em, A, pairwise=True, **kw)
    vpaths, vscores = ops.viterbi(em, A, **kw)
    ppaths, pconf = ops.posterior_decode(em, A, **kw)
    sscore = ops.sequence_score(em, A, packed_tags, **kw)
    nll, grad = ops.crf_nll(em, A, packed_tags, reduction="none", **kw)
    alpha_s, beta_s = split(layout, alpha, lens), split(layout, beta, lens)
    node_s, gem_s = split(layout, marg.node, lens), split(layout, grad.emissions, lens)
    vp_s, pp_s = split(layout, vpaths, lens), split(layout, ppaths, lens)
    pc_s = split(layout, pconf, lens)

    g_tr = np.zeros_like(A)
    g_st = np.zeros(A.shape[0])
    g_en = np.zeros(A.shape[0])
    for b, x in enumerate(seqs):
        msg = f"sequence {b}"
        r_alpha, r_z = ref.forward(x, A, **rkw)
        assert_allclose(log_z[b], r_z, err_msg=msg, **tol)
        assert_allclose(log_z2[b], r_z, err_msg=msg, **tol)
        assert_allclose(marg.log_Z[b], r_z, err_msg=msg, **tol)
        assert_allclose(alpha_s[b], r_alpha, err_msg=msg, **tol)
        assert_allclose(beta_s[b], ref.backward(x, A, **rkw), err_msg=msg, **tol)
        r_m = ref.marginals(x, A, pairwise=True, **rkw)
        assert_allclose(node_s[b], r_m.node, err_msg=msg, **tol)
        assert_allclose(marg.pair[b], r_m.pair, err_msg=msg, **tol)
        r_vp, r_vs = ref.viterbi(x, A, **rkw)
        assert_allclose(vscores[b], r_vs, err_msg=msg, **tol)
        assert_array_equal(vp_s[b], r_vp, err_msg=msg)
        r_pp, r_pc = ref.posterior_decode(x, A, **rkw)
        assert_array_equal(pp_s[b], r_pp, err_msg=msg)
        assert_allclose(pc_s[b], r_pc, err_msg=msg, **tol)
        assert_allclose(sscore[b], ref.sequence_score(x, A, tags[b], **rkw), err_msg=msg,
                        **tol)
        r_nll, r_g = ref.crf_nll(x, A, tags[b], **rkw)
        assert_allclose(nll[b], r_nll, err_msg=msg, **tol)
        assert_allclose(gem_s[b], r_g.emissions, err_msg=msg, **tol)
        g_tr += r_g.transitions
        g_st += r_g.start
        g_en += r_g.end
    # summed gradients: an error of atol per sequence may add up
    gtol = dict(rtol=1e-10, atol=tol["atol"] * len(seqs))
    assert_allclose(grad.transitions, g_tr, **gtol)
    assert_allclose(grad.start, g_st, **gtol)
    assert_allclose(grad.end, g_en, **gtol)


# --------------------------------------------------------------------------------------
# scores of +-1e4
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["padded", "concat"])
@pytest.mark.parametrize("with_start_end", [False, True], ids=["no_start_end", "start_end"])
def test_scores_1e4(ops, ref, rng, layout, with_start_end):
    N = int(rng.integers(2, 9))
    lens = [0, 1, 2] + list(rng.integers(3, 30, size=7))
    seqs = [rng.uniform(-1e4, 1e4, size=(n, N)) for n in lens]
    A = rng.uniform(-1e4, 1e4, size=(N, N))
    s = rng.uniform(-1e4, 1e4, size=N) if with_start_end else None
    e = rng.uniform(-1e4, 1e4, size=N) if with_start_end else None
    compare_all_ops(ops, ref, seqs, A, s, e, layout=layout)


def test_scores_1e4_dyadic_marginals_strict(ops, ref, rng):
    """With scores on a 2**-10 grid every path score is exact in float64, so marginals
    must agree to the plain 1e-10 of DESIGN.md."""
    N, T = 6, 12
    q = lambda x: np.round(x * 1024) / 1024  # noqa: E731
    seqs = [q(rng.uniform(-1e4, 1e4, size=(T, N))) for _ in range(6)]
    A = q(rng.uniform(-1e4, 1e4, size=(N, N)))
    s, e = q(rng.uniform(-1e4, 1e4, size=N)), q(rng.uniform(-1e4, 1e4, size=N))
    em = np.stack(seqs)
    m = ops.marginals(em, A, start=s, end=e, pairwise=True)
    for b, x in enumerate(seqs):
        r = ref.marginals(x, A, start=s, end=e, pairwise=True)
        assert_allclose(m.node[b], r.node, rtol=0, atol=1e-10)
        assert_allclose(m.pair[b], r.pair, rtol=0, atol=1e-10)
        assert_allclose(m.log_Z[b], r.log_Z, rtol=1e-10)


# --------------------------------------------------------------------------------------
# a million steps vs a closed form
# --------------------------------------------------------------------------------------


def _lse(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isneginf(m), 0.0, m)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return np.squeeze(out, axis=axis)


def _log_mm(X, Y):
    return _lse(X[:, :, None] + Y[None, :, :], axis=1)


def _max_mm(X, Y):
    return np.max(X[:, :, None] + Y[None, :, :], axis=1)


def _nmul(X, Y, mul):
    """Product of two offset-normalised matrices ``(Mn, off)`` (``M = Mn + off``, max(Mn) =
    0), so that entries stay O(1) and rounding stays O(eps) however long the chain."""
    C = mul(X[0], Y[0])
    c = np.max(C)
    c = 0.0 if not np.isfinite(c) else c
    return C - c, X[1] + Y[1] + c


def _npower(M, p, mul):
    n = M[0].shape[0]
    eye = np.full((n, n), -np.inf)
    np.fill_diagonal(eye, 0.0)  # identity in both semirings
    result, base = (eye, 0.0), M
    while p:
        if p & 1:
            result = _nmul(result, base, mul)
        base = _nmul(base, base, mul)
        p >>= 1
    return result


def periodic_closed_form(E, A, s, e, T, mul):
    """Closed form for the sequence whose emission row t is ``E[t % P]``.

    With ``mul=_log_mm`` returns ``(log_alpha[T-1], log_Z, node[0], node[T-1])``; with
    ``mul=_max_mm`` the max-plus analogues (the second item is the Viterbi score). The
    transfer matrix of all steps t = 1..T-1 is a power of the per-period matrix, computed by
    repeated squaring with offset normalisation.
    """
    P, N = E.shape
    s = np.zeros(N) if s is None else s
    e = np.zeros(N) if e is None else e
    steps = [(A + E[p % P][None, :], 0.0) for p in range(1, P + 1)]  # steps t = 1..P
    G = steps[0]
    for S in steps[1:]:
        G = _nmul(G, S, mul)
    q, r = divmod(T - 1, P)
    Mn, off = _npower(G, q, mul)
    for S in steps[:r]:
        Mn, off = _nmul((Mn, off), S, mul)
    alpha0 = s + E[0]
    alpha_last_n = mul(alpha0[None, :], Mn)[0]
    total = off + mul(alpha_last_n[None, :], e[:, None])[0, 0]
    beta0_n = mul(Mn, e[:, None])[:, 0]

    def softmax(x):
        return np.exp(x - _lse(x, axis=0))

    return alpha_last_n + off, total, softmax(alpha0 + beta0_n), softmax(alpha_last_n + e)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_million_steps_closed_form(ops, rng, dtype):
    T, N, P = 10**6, 4, 7
    # an HMM-like model (log-probabilities) with one forbidden transition, plus start/end
    A = np.log(rng.dirichlet(np.ones(N), size=N))
    A[0, 1] = -np.inf
    s = np.log(rng.dirichlet(np.ones(N)))
    e = rng.normal(size=N)
    E = -rng.uniform(0.2, 3.0, size=(P, N))
    A, s, e, E = (x.astype(dtype) for x in (A, s, e, E))
    em = np.tile(E, (T // P + 1, 1))[:T]
    A64, s64, e64, E64 = (x.astype(np.float64) for x in (A, s, e, E))
    rtol = 1e-10 if dtype == np.float64 else 1e-4

    t0 = time.perf_counter()
    exp_alpha, exp_z, _, _ = periodic_closed_form(E64, A64, s64, e64, T, _log_mm)
    _, exp_v, _, _ = periodic_closed_form(E64, A64, s64, e64, T, _max_mm)
    assert time.perf_counter() - t0 < 1.0

    z = ops.log_partition(em, A, start=s, end=e, n_threads=1)
    assert_allclose(z, exp_z, rtol=rtol)
    alpha, z2 = ops.forward(em, A, start=s, end=e, n_threads=1)
    assert alpha.shape == (T, N) and alpha.dtype == dtype
    assert_allclose(z2, exp_z, rtol=rtol)
    assert_allclose(alpha[-1], exp_alpha, rtol=rtol)
    del alpha
    path, score = ops.viterbi(em, A, start=s, end=e, n_threads=1)
    assert_allclose(score, exp_v, rtol=rtol)
    assert np.all((path >= 0) & (path < N))
    assert not np.any((path[:-1] == 0) & (path[1:] == 1)), "forbidden move in the path"
    if dtype == np.float64:
        # the path really scores what viterbi says (sum computed independently here)
        own = s64[path[0]] + em[np.arange(T), path].sum() + A64[path[:-1], path[1:]].sum() \
            + e64[path[-1]]
        assert_allclose(own, exp_v, rtol=1e-10)


def test_million_steps_marginals(ops, rng):
    """Node marginals of a million-step sequence are within 1e-10 (DESIGN.md section 5) of
    the closed form at both ends, and every row sums to 1. (A log-space recursion that does
    not renormalise per step accumulates ~1e6 roundings of ~1e6-sized numbers in alpha, beta
    and log_Z; the marginals exp(alpha + beta - log_Z) then drift far beyond 1e-10.)"""
    T, N, P = 10**6, 4, 5
    A = np.log(rng.dirichlet(np.ones(N), size=N))
    s = rng.normal(size=N)
    E = -rng.uniform(0.1, 4.0, size=(P, N))
    em = np.tile(E, (T // P + 1, 1))[:T]
    _, exp_z, node0, node_last = periodic_closed_form(E, A, s, None, T, _log_mm)
    m = ops.marginals(em, A, start=s, n_threads=1)
    assert_allclose(m.log_Z, exp_z, rtol=1e-10)
    assert_allclose(m.node[0], node0, rtol=0, atol=1e-10)
    assert_allclose(m.node[-1], node_last, rtol=0, atol=1e-10)
    assert_allclose(m.node.sum(axis=1), 1.0, rtol=0, atol=N * 1e-10)
    assert np.all(m.node >= 0)


# --------------------------------------------------------------------------------------
# -inf entries and sequences with no allowed path
# --------------------------------------------------------------------------------------


def _no_path_cases(rng, N=4, T=6):
    em = rng.normal(size=(T, N))
    A = rng.normal(size=(N, N))
    s, e = rng.normal(size=N), rng.normal(size=N)
    cases = {}
    x = em.copy()
    x[T // 2] = -np.inf
    cases["emission_row"] = (x, A, s, e)
    cases["transitions"] = (em, np.full((N, N), -np.inf), s, e)
    cases["start"] = (em, A, np.full(N, -np.inf), e)
    cases["end"] = (em, A, s, np.full(N, -np.inf))
    # state 0 may only be entered at t=0 and must be left; emissions allow only state 0 at
    # t=0 and t=1
    A2 = A.copy()
    A2[:, 0] = -np.inf
    x2 = em.copy()
    x2[:2, 1:] = -np.inf
    cases["structural"] = (x2, A2, s, e)
    x3 = em[:1].copy()
    x3[:] = -np.inf
    cases["single_step"] = (x3, A, s, e)
    return cases


CASE_NAMES = ["emission_row", "transitions", "start", "end", "structural", "single_step"]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_no_allowed_path_single(ops, rng, name):
    em, A, s, e = _no_path_cases(rng)[name]
    T, N = em.shape
    z = ops.log_partition(em, A, start=s, end=e)
    assert z == -np.inf
    alpha, z2 = ops.forward(em, A, start=s, end=e)
    assert z2 == -np.inf and not np.any(np.isnan(alpha))
    assert not np.any(np.isnan(ops.backward(em, A, start=s, end=e)))
    m = ops.marginals(em, A, start=s, end=e, pairwise=True)
    assert m.log_Z == -np.inf
    assert_array_equal(m.node, np.zeros((T, N)))
    assert_array_equal(m.pair, np.zeros((N, N)))
    path, score = ops.viterbi(em, A, start=s, end=e)
    assert_array_equal(path, np.full(T, -1))
    assert score == -np.inf
    kp, ks = ops.kbest(em, A, 3, start=s, end=e)
    assert_array_equal(kp, np.full((3, T), -1))
    assert_array_equal(ks, np.full(3, -np.inf))
    pp, pc = ops.posterior_decode(em, A, start=s, end=e)
    assert_array_equal(pp, np.full(T, -1))
    assert_array_equal(pc, np.zeros(T))
    tags = rng.integers(0, N, size=T)
    assert ops.sequence_score(em, A, tags, start=s, end=e) == -np.inf
    nll, g = ops.crf_nll(em, A, tags, start=s, end=e)
    assert nll == np.inf
    gold = np.zeros((T, N))
    gold[np.arange(T), tags] = 1.0
    assert_array_equal(g.emissions, -gold)
    gold_tr = np.zeros((N, N))
    np.add.at(gold_tr, (tags[:-1], tags[1:]), 1.0)
    assert_array_equal(g.transitions, -gold_tr)
    assert_array_equal(g.start, -np.eye(N)[tags[0]])
    assert_array_equal(g.end, -np.eye(N)[tags[-1]])


@pytest.mark.parametrize("layout", ["padded", "concat"])
def test_no_allowed_path_in_batch(ops, ref, rng, layout):
    """Impossible sequences mixed with possible ones: each gets its own answer. The per-case
    transitions/start/end become -inf patterns in the emissions so one model is shared."""
    N, T = 4, 6
    A = rng.normal(size=(N, N))
    A[1, 2] = A[3, 3] = -np.inf
    s, e = rng.normal(size=N), rng.normal(size=N)
    seqs = []
    for i in range(8):
        x = rng.normal(size=(int(rng.integers(1, T + 1)), N))
        if i % 2:
            x[rng.integers(0, len(x))] = -np.inf  # impossible
        elif i % 4 == 2:
            x[rng.random(x.shape) < 0.3] = -np.inf  # maybe possible
        seqs.append(x)
    compare_all_ops(ops, ref, seqs, A, s, e, layout=layout,
                    tags=[rng.integers(0, N, size=len(x)) for x in seqs])
    em, lens = pack(layout, seqs)
    z = ops.log_partition(em, A, start=s, end=e, lengths=lens)
    assert np.all(z[1::2] == -np.inf)


def test_single_allowed_path_exact(ops, rng):
    """Constraints that leave exactly one path: log_Z equals its score, marginals are
    exactly one-hot, kbest has one path then -1/-inf."""
    N, T = 5, 9
    gold = rng.integers(0, N, size=T)
    em = rng.normal(size=(T, N)) * 3
    mask = np.zeros((T, N), bool)
    mask[np.arange(T), gold] = True
    em = np.where(mask, em, -np.inf)
    A = rng.normal(size=(N, N))
    s, e = rng.normal(size=N), rng.normal(size=N)
    score = s[gold[0]] + em[np.arange(T), gold].sum() + A[gold[:-1], gold[1:]].sum() \
        + e[gold[-1]]
    assert_allclose(ops.log_partition(em, A, start=s, end=e), score, rtol=1e-12)
    m = ops.marginals(em, A, start=s, end=e, pairwise=True)
    assert_allclose(m.node, mask.astype(float), rtol=0, atol=1e-12)
    pair = np.zeros((N, N))
    np.add.at(pair, (gold[:-1], gold[1:]), 1.0)
    assert_allclose(m.pair, pair, rtol=0, atol=1e-12)
    path, vs = ops.viterbi(em, A, start=s, end=e)
    assert_array_equal(path, gold)
    assert_allclose(vs, score, rtol=1e-12)
    kp, ks = ops.kbest(em, A, 4, start=s, end=e)
    assert_array_equal(kp[0], gold)
    assert_array_equal(kp[1:], -1)
    assert_allclose(ks[0], score, rtol=1e-12)
    assert_array_equal(ks[1:], -np.inf)
    nll, g = ops.crf_nll(em, A, gold, start=s, end=e)
    assert abs(nll) < 1e-10
    for arr in g:
        assert_allclose(arr, 0.0, atol=1e-12)


def test_constrained_decoding_respects_mask(ops, ref, rng):
    """IOB2-style constraints applied as -inf: decoded paths never use a forbidden move,
    and everything matches the reference."""
    # labels: O, B-X, I-X, B-Y, I-Y ; I-X only after B-X/I-X, I-Y only after B-Y/I-Y
    N = 5
    allowed = np.ones((N, N), bool)
    allowed[:, 2] = False
    allowed[[1, 2], 2] = True
    allowed[:, 4] = False
    allowed[[3, 4], 4] = True
    start_ok = np.array([True, True, False, True, False])
    A = np.where(allowed, rng.normal(size=(N, N)), -np.inf)
    s = np.where(start_ok, rng.normal(size=N), -np.inf)
    seqs = [rng.normal(size=(int(n), N)) * 3 for n in rng.integers(1, 25, size=10)]
    compare_all_ops(ops, ref, seqs, A, s, None, layout="concat")
    em, lens = pack("padded", seqs)
    paths, _ = ops.viterbi(em, A, start=s, lengths=lens)
    kp, ks = ops.kbest(em, A, 4, start=s, lengths=lens)
    for p in [paths[b, :n] for b, n in enumerate(lens)] + \
             [kp[b, r, :n] for b, n in enumerate(lens) for r in range(4)
              if np.isfinite(ks[b, r])]:
        assert start_ok[p[0]]
        assert np.all(allowed[p[:-1], p[1:]])


# --------------------------------------------------------------------------------------
# underflow / overflow-prone inputs: a scaled fast path must fall back exactly
# --------------------------------------------------------------------------------------


def _signed_big(rng, shape, lo=1e3, hi=1e4):
    return rng.choice([-1.0, 1.0], size=shape) * 10 ** rng.uniform(np.log10(lo), np.log10(hi),
                                                                    size=shape)


def _one_hot_emissions(rng, T, N, off):
    em = np.full((T, N), -off) if np.isscalar(off) else -np.asarray(off)
    em = np.array(em, dtype=np.float64)
    em[np.arange(T), rng.integers(0, N, size=T)] = 0.0
    return em


UNDERFLOW_CASES = ["huge_signed_transitions", "all_very_negative", "very_positive",
                   "one_hot_neg_inf", "tiny_probabilities"]


@pytest.mark.parametrize("case", UNDERFLOW_CASES)
def test_underflow_prone(ops, ref, rng, case):
    N = int(rng.integers(2, 7))
    lens = [1, 2] + list(rng.integers(3, 40, size=6))
    s = rng.normal(size=N)
    e = rng.normal(size=N)
    if case == "huge_signed_transitions":
        A = _signed_big(rng, (N, N))
        seqs = [_one_hot_emissions(rng, n, N, 10 ** rng.uniform(3, 4, size=(n, N)))
                for n in lens]
    elif case == "all_very_negative":
        A = -rng.uniform(1e3, 1e4, size=(N, N))
        seqs = [-rng.uniform(1e3, 1e4, size=(n, N)) for n in lens]
        s, e = -rng.uniform(1e3, 1e4, size=N), -rng.uniform(1e3, 1e4, size=N)
    elif case == "very_positive":
        A = rng.uniform(1e3, 1e4, size=(N, N))
        seqs = [rng.uniform(1e3, 1e4, size=(n, N)) for n in lens]
    elif case == "one_hot_neg_inf":
        A = -rng.uniform(1e3, 1e4, size=(N, N))
        seqs = [_one_hot_emissions(rng, n, N, np.inf) for n in lens]
    else:  # HMM-like probabilities around 1e-300 .. 1e-30
        A = np.log(rng.dirichlet(np.ones(N) * 0.05, size=N) + 1e-300)
        seqs = [-rng.uniform(50.0, 700.0, size=(n, N)) for n in lens]
        s = None
    compare_all_ops(ops, ref, seqs, A, s, e, layout="padded")


@pytest.mark.parametrize("shift", [-1e4, -745.0, 1e4])
def test_one_catastrophic_step_in_long_sequence(ops, ref, rng, shift):
    """A long benign sequence where one row is shifted so far that every state's
    probability under/overflows at that step (exp(-1e4) = 0, exp(-745) is subnormal,
    exp(1e4) = inf)."""
    T, N = 1500, 5
    em = rng.normal(size=(T, N))
    t0 = int(rng.integers(1, T - 1))
    em[t0] += shift
    em[t0 + 1, 1:] -= abs(shift)  # and a near-one-hot row right after
    A = rng.normal(size=(N, N))
    tol = cond_tol([em], A)
    alpha, z = ops.forward(em, A)
    r_alpha, r_z = ref.forward(em, A)
    assert_allclose(z, r_z, **tol)
    assert_allclose(alpha, r_alpha, **tol)
    assert_allclose(ops.backward(em, A), ref.backward(em, A), **tol)
    m, r = ops.marginals(em, A, pairwise=True), ref.marginals(em, A, pairwise=True)
    assert_allclose(m.node, r.node, **tol)
    assert_allclose(m.pair, r.pair, rtol=1e-10, atol=tol["atol"] * T)
    p, v = ops.viterbi(em, A)
    rp, rv = ref.viterbi(em, A)
    assert_array_equal(p, rp)
    assert_allclose(v, rv, **tol)


def test_float32_underflow(ops, ref, rng):
    """float32 probabilities underflow below ~1e-38 (log ~ -87) / -103 for subnormals; a
    float32 scaled path must fall back too. Compared with the float64 reference on the same
    float32 values, at float32 tolerance."""
    T, N, B = 300, 4, 6
    seqs = []
    for _ in range(B):
        x = rng.normal(size=(T, N))
        rows = rng.integers(0, T, size=10)
        x[rows] -= rng.uniform(100.0, 300.0, size=(10, 1))
        x[rows[:5], 1:] -= 150.0
        seqs.append(x.astype(np.float32))
    A = (rng.normal(size=(N, N)) - np.array([0, 120, 0, 200])[None, :]).astype(np.float32)
    em = np.stack(seqs)
    z = ops.log_partition(em, A)
    alpha, _ = ops.forward(em, A)
    m = ops.marginals(em, A)
    paths, scores = ops.viterbi(em, A)
    assert z.dtype == np.float32 and m.node.dtype == np.float32
    for b, x in enumerate(seqs):
        x64 = x.astype(np.float64)
        r_alpha, r_z = ref.forward(x64, A.astype(np.float64))
        assert_allclose(z[b], r_z, rtol=1e-4)
        assert_allclose(alpha[b], r_alpha, rtol=1e-4, atol=1e-3)
        assert_allclose(m.node[b], ref.marginals(x64, A.astype(np.float64)).node, atol=1e-4)
        rv = ref.viterbi(x64, A.astype(np.float64))[1]
        assert_allclose(scores[b], rv, rtol=1e-4)
        own = ref.sequence_score(x64, A.astype(np.float64), paths[b])
        assert_allclose(own, rv, rtol=1e-4)
