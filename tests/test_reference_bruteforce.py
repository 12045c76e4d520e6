"""The numpy reference (fastseq._reference) against brute-force enumeration of all N**T paths.

Every expected value here is computed by enumerating paths with itertools.product and plain
Python float arithmetic (math module), never by the code under test.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from fastseq import _reference as ref
from fastseq._types import CRFGrad, Marginals

# Any RuntimeWarning (e.g. -inf - -inf, log(0)) from the reference is a failure.
pytestmark = pytest.mark.filterwarnings("error")

NEG_INF = -math.inf
TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=1e-4, atol=1e-4)}
DTYPES = [np.float64, np.float32]


# --------------------------------------------------------------------------------------------
# brute force
# --------------------------------------------------------------------------------------------


def lse(values):
    values = list(values)
    m = max(values, default=NEG_INF)
    if m == NEG_INF:
        return NEG_INF
    return m + math.log(sum(math.exp(v - m) for v in values))


def path_score(em, tr, st, en, y):
    """Score of path y; em etc. are nested Python lists of floats."""
    if len(y) == 0:
        return 0.0
    s = st[y[0]] + em[0][y[0]]
    for t in range(1, len(y)):
        s += tr[y[t - 1]][y[t]] + em[t][y[t]]
    return s + en[y[-1]]


class Brute:
    """Everything about one sequence by enumeration. Inputs as float64 numpy arrays."""

    def __init__(self, em, tr, st=None, en=None):
        T, N = em.shape
        self.T, self.N = T, N
        st = np.zeros(N) if st is None else st
        en = np.zeros(N) if en is None else en
        E, A, S, F = (np.asarray(a, dtype=np.float64).tolist() for a in (em, tr, st, en))
        self.args = (E, A, S, F)
        self.paths = list(itertools.product(range(N), repeat=T))
        self.scores = [path_score(E, A, S, F, y) for y in self.paths]
        self.log_Z = lse(self.scores)

        # forward / backward by enumerating prefixes / suffixes
        self.alpha = np.zeros((T, N))
        self.beta = np.zeros((T, N))
        for t in range(T):
            for j in range(N):
                pre = []
                for y in itertools.product(range(N), repeat=t):
                    y = y + (j,)
                    s = S[y[0]] + E[0][y[0]]
                    for u in range(1, t + 1):
                        s += A[y[u - 1]][y[u]] + E[u][y[u]]
                    pre.append(s)
                self.alpha[t, j] = lse(pre)
                suf = []
                for y in itertools.product(range(N), repeat=T - 1 - t):
                    y = (j,) + y
                    s = 0.0
                    for u in range(1, len(y)):
                        s += A[y[u - 1]][y[u]] + E[t + u][y[u]]
                    suf.append(s + F[y[-1]])
                self.beta[t, j] = lse(suf)

        # marginals
        self.node = np.zeros((T, N))
        self.pair = np.zeros((N, N))
        if self.log_Z > NEG_INF:
            for y, s in zip(self.paths, self.scores):
                w = math.exp(s - self.log_Z)
                for t in range(T):
                    self.node[t, y[t]] += w
                for t in range(1, T):
                    self.pair[y[t - 1], y[t]] += w

        # viterbi: max score; ties -> the path that back-tracking with "lowest index wins"
        # produces = smallest when compared from the last position backwards
        best = max(self.scores)
        if T == 0:
            self.vpath, self.vscore = [], 0.0
        elif best == NEG_INF:
            self.vpath, self.vscore = [-1] * T, NEG_INF
        else:
            cands = [y for y, s in zip(self.paths, self.scores) if s == best]
            self.vpath = list(min(cands, key=lambda y: tuple(reversed(y))))
            self.vscore = best

        # posterior decode
        if T == 0 or self.log_Z == NEG_INF:
            self.ppath, self.pconf = [-1] * T, [0.0] * T
        else:
            self.ppath = [int(np.argmax(self.node[t])) for t in range(T)]
            self.pconf = [self.node[t, self.ppath[t]] for t in range(T)]

    def score(self, y):
        return path_score(*self.args, list(y))

    def finite_sorted_scores(self):
        return sorted((s for s in self.scores if s > NEG_INF), reverse=True)

    def nll_and_grad(self, tags):
        tags = list(tags)
        g = self.score(tags) if self.T else 0.0
        nll = math.inf if (self.log_Z == NEG_INF or g == NEG_INF) else self.log_Z - g
        g_em = self.node.copy()
        g_tr = self.pair.copy()
        g_st = np.zeros(self.N)
        g_en = np.zeros(self.N)
        if self.T:
            for t, y in enumerate(tags):
                g_em[t, y] -= 1
            for t in range(1, self.T):
                g_tr[tags[t - 1], tags[t]] -= 1
            g_st = self.node[0].copy()
            g_st[tags[0]] -= 1
            g_en = self.node[-1].copy()
            g_en[tags[-1]] -= 1
        return nll, g_em, g_tr, g_st, g_en


# --------------------------------------------------------------------------------------------
# case generators
# --------------------------------------------------------------------------------------------


def rand(rng, shape, scale=1.0, p_neginf=0.0, integer=False):
    if integer:
        x = rng.integers(-1, 2, size=shape).astype(np.float64)
    else:
        x = rng.normal(size=shape) * scale
    if p_neginf:
        x[rng.random(shape) < p_neginf] = NEG_INF
    return x


def make_model(rng, N, dtype, scale=1.0, p_neginf=0.0, integer=False, use_start=True,
               use_end=True):
    tr = rand(rng, (N, N), scale, p_neginf, integer).astype(dtype)
    st = rand(rng, (N,), scale, p_neginf, integer).astype(dtype) if use_start else None
    en = rand(rng, (N,), scale, p_neginf, integer).astype(dtype) if use_end else None
    return tr, st, en


def f64(a):
    return None if a is None else np.asarray(a, dtype=np.float64)


def close(got, want, dtype, **kw):
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), want, **TOL[dtype], **kw)


# A spread of single-sequence cases: (seed, N, T, scale, p_neginf, integer, start, end)
CASES = [
    (0, 1, 1, 1.0, 0.0, False, True, True),
    (1, 2, 3, 1.0, 0.0, False, True, True),
    (2, 3, 4, 1.0, 0.0, False, False, False),
    (3, 3, 5, 1.0, 0.0, False, True, False),
    (4, 3, 5, 2.0, 0.25, False, True, True),
    (5, 2, 5, 1.0, 0.4, False, False, True),
    (6, 3, 5, 1e4, 0.0, False, True, True),
    (7, 3, 4, 1e4, 0.2, False, True, True),
    (8, 3, 5, 1.0, 0.0, True, True, True),
    (9, 3, 5, 1.0, 0.2, True, False, True),
    (10, 2, 5, 1.0, 0.3, True, True, False),
    (11, 3, 1, 1.0, 0.3, False, True, True),
    (12, 1, 5, 1.0, 0.0, False, True, True),
    (13, 3, 2, 3.0, 0.5, False, True, True),
]


def single_case(case, dtype):
    seed, N, T, scale, p, integer, use_start, use_end = case
    rng = np.random.default_rng(seed)
    em = rand(rng, (T, N), scale, p, integer).astype(dtype)
    tr, st, en = make_model(rng, N, dtype, scale, p, integer, use_start, use_end)
    return em, tr, st, en


@pytest.fixture(params=DTYPES, ids=["f64", "f32"])
def dtype(request):
    return request.param


# --------------------------------------------------------------------------------------------
# single sequences
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[str(c[0]) for c in CASES])
def test_single_all_functions(case, dtype):
    em, tr, st, en = single_case(case, dtype)
    T, N = em.shape
    bf = Brute(f64(em), f64(tr), f64(st), f64(en))
    kw = dict(start=st, end=en)

    log_Z = ref.log_partition(em, tr, **kw)
    assert type(log_Z) is float
    close(log_Z, bf.log_Z, dtype)

    alpha, log_Z2 = ref.forward(em, tr, **kw)
    assert alpha.dtype == dtype and alpha.shape == (T, N) and alpha.flags.c_contiguous
    assert type(log_Z2) is float
    close(alpha, bf.alpha, dtype)
    close(log_Z2, bf.log_Z, dtype)

    beta = ref.backward(em, tr, **kw)
    assert beta.dtype == dtype and beta.shape == (T, N)
    close(beta, bf.beta, dtype)

    m = ref.marginals(em, tr, pairwise=True, **kw)
    assert isinstance(m, Marginals)
    assert m.node.dtype == dtype and m.pair.dtype == dtype and m.pair.shape == (N, N)
    close(m.node, bf.node, dtype)
    close(m.pair, bf.pair, dtype)
    close(m.log_Z, bf.log_Z, dtype)
    assert ref.marginals(em, tr, **kw).pair is None

    path, score = ref.viterbi(em, tr, **kw)
    assert path.dtype == np.int64 and path.shape == (T,)
    close(score, bf.vscore, dtype)
    if case[5] or bf.vscore == NEG_INF:  # integer scores: exact ties, tie rule checked
        assert path.tolist() == bf.vpath
    else:
        assert bf.score(path) == pytest.approx(bf.vscore, rel=1e-12, abs=1e-12)

    ppath, conf = ref.posterior_decode(em, tr, **kw)
    assert ppath.dtype == np.int64 and conf.dtype == dtype
    assert ppath.tolist() == bf.ppath
    close(conf, bf.pconf, dtype)

    # sequence_score and crf_nll on a few gold paths (best, a random one, a forbidden one)
    rng = np.random.default_rng(case[0] + 100)
    golds = [bf.paths[int(np.argmax(bf.scores))], bf.paths[rng.integers(len(bf.paths))]]
    golds += [y for y, s in zip(bf.paths, bf.scores) if s == NEG_INF][:1]
    for y in golds:
        tags = np.array(y, dtype=np.int64)
        s = ref.sequence_score(em, tr, tags, **kw)
        assert type(s) is float
        close(s, bf.score(y), dtype)
        for reduction in ("sum", "mean", "none"):
            nll, grad = ref.crf_nll(em, tr, tags, reduction=reduction, **kw)
            assert type(nll) is float and isinstance(grad, CRFGrad)
            want = bf.nll_and_grad(y)
            if want[0] == math.inf:
                assert nll == math.inf
            else:
                close(nll, want[0], dtype)
            for g, w, shape in zip(grad, want[1:], [(T, N), (N, N), (N,), (N,)]):
                assert g.dtype == dtype and g.shape == shape
                close(g, w, dtype)


@pytest.mark.parametrize("case", CASES, ids=[str(c[0]) for c in CASES])
@pytest.mark.parametrize("k", [1, 2, 5, 300])
def test_single_kbest(case, k, dtype):
    em, tr, st, en = single_case(case, dtype)
    T, N = em.shape
    bf = Brute(f64(em), f64(tr), f64(st), f64(en))
    paths, scores = ref.kbest(em, tr, k, start=st, end=en)
    assert paths.shape == (k, T) and paths.dtype == np.int64 and paths.flags.c_contiguous
    assert scores.shape == (k,) and scores.dtype == dtype

    want = bf.finite_sorted_scores()[:k]
    n = len(want)
    # best first, padded with -1 / -inf
    assert np.all(np.isfinite(scores[:n])) and np.all(scores[n:] == NEG_INF)
    assert np.all(paths[n:] == -1)
    assert np.all(np.diff(scores[:n].astype(np.float64)) <= 1e-9 * (1 + abs(scores[0])))
    close(scores[:n], want, dtype)
    # distinct, each with the score claimed
    assert len({tuple(p) for p in paths[:n].tolist()}) == n
    for p, s in zip(paths[:n], scores[:n]):
        assert np.all((p >= 0) & (p < N))
        close(s, bf.score(p), dtype)
    if n:  # the best one has the Viterbi score
        close(scores[0], bf.vscore, dtype)


def test_viterbi_ties_lowest_index(dtype):
    # all-zero model: every path ties; back-pointers and final state take index 0
    em = np.zeros((4, 3), dtype)
    tr = np.zeros((3, 3), dtype)
    path, score = ref.viterbi(em, tr)
    assert path.tolist() == [0, 0, 0, 0] and score == 0.0
    # many random integer models with heavy ties
    rng = np.random.default_rng(42)
    for _ in range(40):
        N, T = int(rng.integers(1, 4)), int(rng.integers(1, 6))
        em = rand(rng, (T, N), integer=True, p_neginf=0.15).astype(dtype)
        tr, st, en = make_model(rng, N, dtype, integer=True, p_neginf=0.15)
        bf = Brute(f64(em), f64(tr), f64(st), f64(en))
        path, score = ref.viterbi(em, tr, start=st, end=en)
        assert path.tolist() == bf.vpath
        assert score == bf.vscore
        kp, ks = ref.kbest(em, tr, 4, start=st, end=en)
        want = bf.finite_sorted_scores()[:4]
        assert ks[: len(want)].tolist() == want  # integer sums are exact
        if want:
            assert kp[0].tolist() == bf.vpath


def test_large_scores(dtype):
    # scores of +-1e4 with forbidden entries: no overflow / underflow / NaN
    rng = np.random.default_rng(7)
    em = (rng.choice([-1e4, 1e4, 0.0], size=(5, 3))).astype(dtype)
    tr = (rng.choice([-1e4, 1e4, 0.0, NEG_INF], size=(3, 3))).astype(dtype)
    bf = Brute(f64(em), f64(tr))
    close(ref.log_partition(em, tr), bf.log_Z, dtype)
    m = ref.marginals(em, tr, pairwise=True)
    close(m.node, bf.node, dtype)
    close(m.pair, bf.pair, dtype)
    assert np.isfinite(m.node).all()


# --------------------------------------------------------------------------------------------
# edge cases: length 0, no allowed path
# --------------------------------------------------------------------------------------------


def test_length_zero_single(dtype):
    N = 3
    em = np.zeros((0, N), dtype)
    tr = np.full((N, N), NEG_INF, dtype)
    st = np.full(N, NEG_INF, dtype)
    kw = dict(start=st, end=st)
    assert ref.log_partition(em, tr, **kw) == 0.0
    alpha, log_Z = ref.forward(em, tr, **kw)
    assert alpha.shape == (0, N) and log_Z == 0.0
    assert ref.backward(em, tr, **kw).shape == (0, N)
    m = ref.marginals(em, tr, pairwise=True, **kw)
    assert m.node.shape == (0, N) and np.all(m.pair == 0) and m.log_Z == 0.0
    path, score = ref.viterbi(em, tr, **kw)
    assert path.shape == (0,) and score == 0.0
    kp, ks = ref.kbest(em, tr, 3, **kw)
    assert kp.shape == (3, 0) and ks.tolist() == [0.0, NEG_INF, NEG_INF]
    pp, pc = ref.posterior_decode(em, tr, **kw)
    assert pp.shape == (0,) and pc.shape == (0,)
    tags = np.zeros(0, np.int64)
    assert ref.sequence_score(em, tr, tags, **kw) == 0.0
    nll, g = ref.crf_nll(em, tr, tags, **kw)
    assert nll == 0.0
    assert g.emissions.shape == (0, N)
    assert not np.any(g.transitions) and not np.any(g.start) and not np.any(g.end)


def no_path_models(dtype):
    """(emissions, transitions, start, end) tuples where every path is forbidden."""
    rng = np.random.default_rng(3)
    N, T = 3, 4
    em = rng.normal(size=(T, N))
    tr = rng.normal(size=(N, N))
    st, en = rng.normal(size=N), rng.normal(size=N)
    out = []
    e = em.copy()
    e[2] = NEG_INF  # a position where no state is allowed
    out.append((e, tr, st, en))
    out.append((em, np.full((N, N), NEG_INF), st, en))  # no transition allowed
    out.append((em, tr, st, np.full(N, NEG_INF)))  # no end allowed
    t2 = tr.copy()  # only 0->1 and 1->0 are allowed, but start allows only 2
    t2[:] = NEG_INF
    t2[0, 1] = t2[1, 0] = 0.0
    out.append((em, t2, np.array([NEG_INF, NEG_INF, 0.0]), en))
    return [tuple(a.astype(dtype) for a in m) for m in out]


def test_no_allowed_path(dtype):
    for em, tr, st, en in no_path_models(dtype):
        T, N = em.shape
        kw = dict(start=st, end=en)
        bf = Brute(f64(em), f64(tr), f64(st), f64(en))
        assert bf.log_Z == NEG_INF
        assert ref.log_partition(em, tr, **kw) == NEG_INF
        alpha, log_Z = ref.forward(em, tr, **kw)
        assert log_Z == NEG_INF
        close(alpha, bf.alpha, dtype)
        close(ref.backward(em, tr, **kw), bf.beta, dtype)
        m = ref.marginals(em, tr, pairwise=True, **kw)
        assert not np.any(m.node) and not np.any(m.pair) and m.log_Z == NEG_INF
        path, score = ref.viterbi(em, tr, **kw)
        assert path.tolist() == [-1] * T and score == NEG_INF
        kp, ks = ref.kbest(em, tr, 3, **kw)
        assert np.all(kp == -1) and np.all(ks == NEG_INF)
        pp, pc = ref.posterior_decode(em, tr, **kw)
        assert np.all(pp == -1) and not np.any(pc)
        tags = np.array([0, 1, 0, 2])
        assert ref.sequence_score(em, tr, tags, **kw) == NEG_INF
        nll, g = ref.crf_nll(em, tr, tags, **kw)
        assert nll == math.inf
        onehot = np.eye(N)[tags]
        close(g.emissions, -onehot, dtype)
        close(g.start, -onehot[0], dtype)
        close(g.end, -onehot[-1], dtype)
        want_tr = np.zeros((N, N))
        for a, b in zip(tags[:-1], tags[1:]):
            want_tr[a, b] -= 1
        close(g.transitions, want_tr, dtype)


def test_logsumexp_helper():
    assert ref.logsumexp([NEG_INF, NEG_INF]) == NEG_INF
    assert ref.logsumexp([1e4, 1e4]) == pytest.approx(1e4 + math.log(2), rel=1e-15)
    out = ref.logsumexp(np.array([[NEG_INF, NEG_INF], [0.0, NEG_INF]]), axis=1)
    assert out.tolist() == [NEG_INF, 0.0]


# --------------------------------------------------------------------------------------------
# batch layouts
# --------------------------------------------------------------------------------------------

LENGTHS = [3, 0, 1, 5, 2, 4, 5]


def batch_case(dtype, seed=11, N=3, p_neginf=0.15, lengths=LENGTHS):
    """Per-sequence arrays plus padded and concatenated layouts. Padding holds NaN emissions
    and out-of-range tags: the reference must never read them."""
    rng = np.random.default_rng(seed)
    tr, st, en = make_model(rng, N, dtype, 1.5, p_neginf)
    seqs = [rand(rng, (n, N), 1.5, p_neginf).astype(dtype) for n in lengths]
    # make one non-empty sequence have no allowed path
    seqs[5][1] = NEG_INF
    tags = []
    for e in seqs:  # gold paths: mostly allowed ones, one forbidden
        bf = Brute(f64(e), f64(tr), f64(st), f64(en))
        tags.append(np.array(bf.paths[int(rng.integers(len(bf.paths)))], dtype=np.int64))
    B, T = len(lengths), max(lengths)
    padded = np.full((B, T, N), np.nan, dtype)
    ptags = np.full((B, T), 99, np.int64)
    for b, (e, y) in enumerate(zip(seqs, tags)):
        padded[b, : len(e)] = e
        ptags[b, : len(e)] = y
    concat = np.concatenate(seqs).astype(dtype)
    ctags = np.concatenate(tags).astype(np.int64)
    lengths = np.array(lengths, dtype=np.int64)
    return dict(tr=tr, st=st, en=en, seqs=seqs, tags=tags, padded=padded, ptags=ptags,
                concat=concat, ctags=ctags, lengths=lengths)


def per_position(layout, parts, lengths, T, fill):
    """Expected per-position output in the given layout from per-sequence arrays."""
    if layout == "concat":
        return np.concatenate(parts)
    out = []
    for p, n in zip(parts, lengths):
        p = np.asarray(p, dtype=np.float64)
        pad = np.full((T - n,) + p.shape[1:], fill, dtype=np.float64)
        out.append(np.concatenate([p.reshape((n,) + pad.shape[1:]), pad]))
    return np.stack(out)


@pytest.mark.parametrize("layout", ["padded", "concat"])
def test_batch_layouts(layout, dtype):
    c = batch_case(dtype)
    tr, st, en, lengths = c["tr"], c["st"], c["en"], c["lengths"]
    B, T, N = len(lengths), max(lengths), tr.shape[0]
    em = c[layout]
    tags = c["ptags"] if layout == "padded" else c["ctags"]
    L = int(lengths.sum())
    kw = dict(start=st, end=en, lengths=lengths)
    bfs = [Brute(f64(e), f64(tr), f64(st), f64(en)) for e in c["seqs"]]
    assert any(b.log_Z == NEG_INF and b.T > 0 for b in bfs)
    pos_shape = (B, T, N) if layout == "padded" else (L, N)
    path_shape = (B, T) if layout == "padded" else (L,)

    def pos(parts, fill):
        return per_position(layout, parts, lengths, T, fill)

    log_Z = ref.log_partition(em, tr, **kw)
    assert log_Z.shape == (B,) and log_Z.dtype == dtype
    close(log_Z, [b.log_Z for b in bfs], dtype)

    alpha, log_Z2 = ref.forward(em, tr, **kw)
    assert alpha.shape == pos_shape and alpha.dtype == dtype and alpha.flags.c_contiguous
    close(alpha, pos([b.alpha for b in bfs], 0.0), dtype)
    close(log_Z2, [b.log_Z for b in bfs], dtype)

    beta = ref.backward(em, tr, **kw)
    assert beta.shape == pos_shape
    close(beta, pos([b.beta for b in bfs], 0.0), dtype)

    m = ref.marginals(em, tr, pairwise=True, **kw)
    assert m.node.shape == pos_shape and m.pair.shape == (B, N, N)
    close(m.node, pos([b.node for b in bfs], 0.0), dtype)
    close(m.pair, np.stack([b.pair for b in bfs]), dtype)
    close(m.log_Z, [b.log_Z for b in bfs], dtype)

    paths, scores = ref.viterbi(em, tr, **kw)
    assert paths.shape == path_shape and paths.dtype == np.int64
    close(scores, [b.vscore for b in bfs], dtype)
    assert np.array_equal(paths, pos([b.vpath for b in bfs], -1).astype(np.int64))

    pp, pc = ref.posterior_decode(em, tr, **kw)
    assert pp.shape == path_shape and pc.shape == path_shape and pc.dtype == dtype
    assert np.array_equal(pp, pos([b.ppath for b in bfs], -1).astype(np.int64))
    close(pc, pos([b.pconf for b in bfs], 0.0), dtype)

    k = 4
    kp, ks = ref.kbest(em, tr, k, **kw)
    assert ks.shape == (B, k) and ks.dtype == dtype
    assert kp.shape == ((B, k, T) if layout == "padded" else (k, L)) and kp.flags.c_contiguous
    offsets = np.cumsum(lengths) - lengths
    for b, bf in enumerate(bfs):
        n_b = int(lengths[b])
        got = kp[b, :, :n_b] if layout == "padded" else kp[:, offsets[b] : offsets[b] + n_b]
        if layout == "padded":
            assert np.all(kp[b, :, n_b:] == -1)
        want = bf.finite_sorted_scores()[:k]
        n = len(want)
        close(ks[b, :n], want, dtype)
        assert np.all(ks[b, n:] == NEG_INF) and np.all(got[n:] == -1)
        assert len({tuple(p) for p in got[:n].tolist()}) == n
        for p, s in zip(got[:n], ks[b, :n]):
            close(s, bf.score(p), dtype)

    s = ref.sequence_score(em, tr, tags, **kw)
    assert s.shape == (B,) and s.dtype == dtype
    close(s, [b.score(y) if b.T else 0.0 for b, y in zip(bfs, c["tags"])], dtype)

    wants = [b.nll_and_grad(y) for b, y in zip(bfs, c["tags"])]
    nll_vec = np.array([w[0] for w in wants])
    for reduction, scale in (("sum", 1.0), ("mean", 1.0 / B), ("none", 1.0)):
        nll, g = ref.crf_nll(em, tr, tags, reduction=reduction, **kw)
        if reduction == "none":
            assert nll.shape == (B,) and nll.dtype == dtype
            fin = np.isfinite(nll_vec)
            assert np.array_equal(np.isfinite(nll), fin)
            close(nll[fin], nll_vec[fin], dtype)
        else:
            assert type(nll) is float
            want = nll_vec.sum() * scale
            if math.isinf(want):
                assert nll == want
            else:
                close(nll, want, dtype)
        assert g.emissions.shape == pos_shape and g.emissions.dtype == dtype
        close(g.emissions, pos([w[1] * scale for w in wants], 0.0), dtype)
        close(g.transitions, sum(w[2] for w in wants) * scale, dtype)
        close(g.start, sum(w[3] for w in wants) * scale, dtype)
        close(g.end, sum(w[4] for w in wants) * scale, dtype)


def test_padded_without_lengths(dtype):
    rng = np.random.default_rng(5)
    em = rand(rng, (3, 4, 2), p_neginf=0.1).astype(dtype)
    tr, st, en = make_model(rng, 2, dtype, p_neginf=0.1)
    got = ref.log_partition(em, tr, start=st, end=en)
    close(got, [Brute(f64(e), f64(tr), f64(st), f64(en)).log_Z for e in em], dtype)


def test_layouts_agree_and_single_matches(dtype):
    # the three layouts give the same per-sequence answers (gold paths valid here)
    c = batch_case(dtype, seed=21, p_neginf=0.0)
    tr, st, en, lengths = c["tr"], c["st"], c["en"], c["lengths"]
    kw = dict(start=st, end=en, lengths=lengths)
    zp = ref.log_partition(c["padded"], tr, **kw)
    zc = ref.log_partition(c["concat"], tr, **kw)
    zs = [ref.log_partition(e, tr, start=st, end=en) for e in c["seqs"]]
    np.testing.assert_array_equal(zp, zc)
    np.testing.assert_array_equal(zc, np.array(zs, dtype=dtype))


def test_dtype_rules():
    rng = np.random.default_rng(0)
    em = rng.normal(size=(3, 2))
    tr = rng.normal(size=(2, 2))
    st = rng.normal(size=2)
    f32 = np.float32
    assert ref.forward(em.astype(f32), tr.astype(f32))[0].dtype == f32
    assert ref.forward(em.astype(f32), tr.astype(f32), start=st.astype(f32))[0].dtype == f32
    # any non-float32 float input -> float64
    assert ref.forward(em.astype(f32), tr)[0].dtype == np.float64
    assert ref.forward(em.astype(f32), tr.astype(f32), start=st)[0].dtype == np.float64
    assert ref.forward(np.zeros((3, 2), int), tr.astype(f32))[0].dtype == np.float64
    # non-contiguous input is fine
    em_nc = np.asfortranarray(em)
    close(ref.forward(em_nc, tr)[0], ref.forward(em, tr)[0], np.float64)
    # scalar outputs are Python floats
    assert type(ref.log_partition(em.astype(f32), tr.astype(f32))) is float
    # lists are accepted
    close(ref.log_partition(em.tolist(), tr.tolist()), ref.log_partition(em, tr), np.float64)


# --------------------------------------------------------------------------------------------
# crf_nll gradients by finite differences
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_crf_nll_finite_differences(reduction):
    rng = np.random.default_rng(99)
    N, lengths = 3, np.array([4, 1, 3, 0])
    B, T = len(lengths), int(lengths.max())
    em = rng.normal(size=(B, T, N))
    tr, st, en = make_model(rng, N, np.float64)
    tags = rng.integers(0, N, size=(B, T))

    def loss(em_, tr_, st_, en_):
        nll, _ = ref.crf_nll(em_, tr_, tags, reduction=reduction, start=st_, end=en_,
                             lengths=lengths)
        return float(np.sum(nll))

    _, g = ref.crf_nll(em, tr, tags, reduction=reduction, start=st, end=en, lengths=lengths)
    params = [em, tr, st, en]
    h = 1e-6
    for which, grad in enumerate(g):
        num = np.zeros_like(params[which])
        for idx in np.ndindex(params[which].shape):
            plus = [p.copy() for p in params]
            minus = [p.copy() for p in params]
            plus[which][idx] += h
            minus[which][idx] -= h
            num[idx] = (loss(*plus) - loss(*minus)) / (2 * h)
        np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-7)


def test_crf_nll_gradient_when_start_end_none():
    rng = np.random.default_rng(1)
    em = rng.normal(size=(4, 2))
    tr = rng.normal(size=(2, 2))
    tags = np.array([0, 1, 1, 0])
    bf = Brute(em, tr)
    nll, g = ref.crf_nll(em, tr, tags)
    want = bf.nll_and_grad(tags)
    close(nll, want[0], np.float64)
    for got, w in zip(g, want[1:]):
        close(got, w, np.float64)
    # same as passing explicit zeros
    nll0, g0 = ref.crf_nll(em, tr, tags, start=np.zeros(2), end=np.zeros(2))
    assert nll0 == nll
    for a, b in zip(g, g0):
        np.testing.assert_array_equal(a, b)


def test_crf_nll_bad_reduction():
    with pytest.raises(ValueError):
        ref.crf_nll(np.zeros((2, 2)), np.zeros((2, 2)), [0, 1], reduction="avg")
