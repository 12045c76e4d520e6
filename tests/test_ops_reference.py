"""Differential tests: every op of the compiled ``fastseq.ops`` against ``fastseq._reference``.

The reference is only ever called on one sequence at a time, in float64 (on the very values
handed to ``ops``, i.e. after any float32 rounding); the expected batch outputs are
assembled here, so the layout handling of ``ops`` is checked independently of the
reference's own batching.
"""
from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

# thread counts given in these tests must really be used (see conftest)
pytestmark = pytest.mark.usefixtures("every_requested_thread")

VARIANTS = ("none", "given", "inf")  # start/end None | given | given, with -inf entries
THREADS = (1, 2)


# --------------------------------------------------------------------------------------
# case construction
# --------------------------------------------------------------------------------------


class Case:
    """A random model + ragged batch in one layout, with per-sequence float64 copies."""

    def __init__(self, rng, make, layout, dtype, variant, *, B_max=40, T_max=60, N_max=20,
                 N=None):
        self.layout, self.dtype, self.variant = layout, np.dtype(dtype), variant
        self.N = N = int(rng.integers(1, N_max + 1)) if N is None else N
        neg = 0.12 if variant == "inf" else 0.0
        if layout == "single":
            lens = [int(rng.integers(0, T_max + 1))]
        elif layout == "padded_nolengths":
            B = int(rng.integers(1, B_max + 1))
            lens = [int(rng.integers(0, T_max + 1))] * B
        else:
            B = int(rng.integers(1, B_max + 1))
            lens = [int(v) for v in make.lengths(rng, B, T_max)]
        self.lens = lens
        self.B = len(lens)
        self.T = max(lens)
        self.seqs = [make.emissions(rng, n, N, neg_inf=neg, dtype=dtype) for n in lens]
        given = variant != "none"
        self.trans, self.start, self.end = make.model(
            rng, N, start=given, end=given, neg_inf=neg, dtype=dtype)
        self.emissions, self.lengths = make.batch(rng, layout, self.seqs)
        self.make = make
        self.rng = rng

    # float64 copies of the exact values given to ops
    def seq64(self, i):
        return np.asarray(self.seqs[i], dtype=np.float64)

    @property
    def model64(self):
        f = lambda a: None if a is None else np.asarray(a, dtype=np.float64)  # noqa: E731
        return f(self.trans), f(self.start), f(self.end)

    def kw(self, n_threads):
        return dict(start=self.start, end=self.end, lengths=self.lengths, n_threads=n_threads)

    def ref_call(self, ref, name, i, *args, **kw):
        A, s, e = self.model64
        return getattr(ref, name)(self.seq64(i), A, *args, start=s, end=e, **kw)

    def rows(self, arrays, fill=0.0, dtype=None):
        return self.make.pack_rows(self.layout, arrays, T=self.T, fill=fill,
                                   dtype=self.dtype if dtype is None else dtype)

    def per_seq(self, values):
        """Expected (B,) float output, or a Python float for the single layout."""
        if self.layout == "single":
            return float(values[0])
        return np.asarray(values, dtype=np.float64)

    def gold_tags(self, ref):
        """Tags: the reference's Viterbi path for even sequences (when one exists, so the
        gold path is allowed), random tags for odd ones."""
        tags = []
        for i, n in enumerate(self.lens):
            t = self.rng.integers(0, self.N, size=n).astype(np.int64)
            if i % 2 == 0 and n > 0:
                p, sc = self.ref_call(ref, "viterbi", i)
                if np.isfinite(sc):
                    t = np.asarray(p, dtype=np.int64)
            tags.append(t)
        return tags

    def packed_tags(self, tags):
        return self.make.pack_tags(self.layout, tags, T=self.T)


# --------------------------------------------------------------------------------------
# comparison helpers
# --------------------------------------------------------------------------------------


def check_array(actual, expected, dtype, *, name, tol=None, exact=False):
    assert isinstance(actual, np.ndarray), f"{name}: expected ndarray, got {type(actual)}"
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == np.dtype(dtype), f"{name}: dtype {actual.dtype} != {dtype}"
    assert actual.flags.c_contiguous, f"{name}: output not C-contiguous"
    if exact:
        assert_array_equal(actual, expected, err_msg=name)
    else:
        assert_allclose(actual.astype(np.float64), expected.astype(np.float64),
                        err_msg=name, **tol)


def check_scalar_or_vec(actual, expected, case, *, name, tol):
    if case.layout == "single":
        assert type(actual) is float, f"{name}: expected Python float, got {type(actual)}"
        assert_allclose(actual, expected, err_msg=name, **tol)
    else:
        check_array(actual, expected, case.dtype, name=name, tol=tol)


def check_fresh(outputs, case):
    inputs = [a for a in (case.emissions, case.trans, case.start, case.end, case.lengths)
              if a is not None]
    for out in outputs:
        if isinstance(out, np.ndarray):
            for inp in inputs:
                assert not np.shares_memory(out, inp), "output shares memory with an input"


def flatten(result):
    """Flatten a (possibly nested) tuple of outputs into a list of arrays/scalars."""
    out = []
    for r in (result if isinstance(result, tuple) else (result,)):
        if isinstance(r, tuple):
            out.extend(flatten(r))
        else:
            out.append(r)
    return out


def assert_bitwise_same(r1, r2):
    for a, b in zip(flatten(r1), flatten(r2)):
        if a is None:
            assert b is None
        else:
            assert_array_equal(np.asarray(a), np.asarray(b))


def run_threads(fn):
    """Call ``fn(n_threads)`` for every thread count; results must be bitwise identical."""
    results = [fn(nt) for nt in THREADS]
    for r in results[1:]:
        assert_bitwise_same(results[0], r)
    return results


# --------------------------------------------------------------------------------------
# one test per op, over layout x dtype x variant (n_threads 1 and 2 inside)
# --------------------------------------------------------------------------------------

layout_p = pytest.mark.parametrize("layout", ["single", "padded", "padded_nolengths", "concat"])
variant_p = pytest.mark.parametrize("variant", VARIANTS)


@layout_p
@variant_p
def test_log_partition(ops, ref, make, rng, dtype, tol, layout, variant):
    case = Case(rng, make, layout, dtype, variant)
    exp = case.per_seq([case.ref_call(ref, "log_partition", i) for i in range(case.B)])
    for out in run_threads(lambda nt: ops.log_partition(case.emissions, case.trans,
                                                        **case.kw(nt))):
        check_scalar_or_vec(out, exp, case, name="log_Z", tol=tol)


@layout_p
@variant_p
def test_forward(ops, ref, make, rng, dtype, tol, layout, variant):
    case = Case(rng, make, layout, dtype, variant)
    res = [case.ref_call(ref, "forward", i) for i in range(case.B)]
    exp_alpha = case.rows([r[0] for r in res])
    exp_z = case.per_seq([r[1] for r in res])
    for out in run_threads(lambda nt: ops.forward(case.emissions, case.trans, **case.kw(nt))):
        alpha, log_z = out
        check_array(alpha, exp_alpha, dtype, name="log_alpha", tol=tol)
        check_scalar_or_vec(log_z, exp_z, case, name="log_Z", tol=tol)
        check_fresh([alpha, log_z], case)


@layout_p
@variant_p
def test_backward(ops, ref, make, rng, dtype, tol, layout, variant):
    case = Case(rng, make, layout, dtype, variant)
    exp = case.rows([case.ref_call(ref, "backward", i) for i in range(case.B)])
    for beta in run_threads(lambda nt: ops.backward(case.emissions, case.trans,
                                                    **case.kw(nt))):
        check_array(beta, exp, dtype, name="log_beta", tol=tol)
        check_fresh([beta], case)


@layout_p
@variant_p
@pytest.mark.parametrize("pairwise", [False, True], ids=["node", "pair"])
def test_marginals(ops, ref, make, rng, dtype, tol, layout, variant, pairwise):
    case = Case(rng, make, layout, dtype, variant)
    res = [case.ref_call(ref, "marginals", i, pairwise=True) for i in range(case.B)]
    exp_node = case.rows([r[0] for r in res])
    exp_z = case.per_seq([r[2] for r in res])
    if case.layout == "single":
        exp_pair = np.asarray(res[0][1])
    else:
        exp_pair = np.stack([np.asarray(r[1]) for r in res])
    for out in run_threads(lambda nt: ops.marginals(case.emissions, case.trans,
                                                    pairwise=pairwise, **case.kw(nt))):
        node, pair, log_z = out
        assert type(out).__name__ == "Marginals"
        assert out.node is node and out.pair is pair and out.log_Z is log_z
        check_array(node, exp_node, dtype, name="node", tol=tol)
        check_scalar_or_vec(log_z, exp_z, case, name="log_Z", tol=tol)
        if pairwise:
            check_array(pair, exp_pair, dtype, name="pair", tol=tol)
        else:
            assert pair is None
        check_fresh([node, pair], case)


def check_paths_and_scores(case, ref, paths, scores, exp_paths, exp_scores, tol, name):
    """Viterbi-like outputs. float64: paths exact. float32 (near ties may legitimately
    flip): -1 exactly where expected, and every returned path scores (in float64) the
    optimum."""
    check_scalar_or_vec(scores, case.per_seq(exp_scores), case, name=f"{name} score", tol=tol)
    packed_exp = case.make.pack_paths(case.layout, exp_paths, T=case.T)
    if case.dtype == np.float64:
        check_array(paths, packed_exp, np.int64, name=f"{name} paths", exact=True)
        return
    assert isinstance(paths, np.ndarray) and paths.dtype == np.int64
    assert paths.shape == packed_exp.shape and paths.flags.c_contiguous
    assert_array_equal(paths == -1, packed_exp == -1, err_msg=f"{name}: -1 positions")
    got = case.make.split(case.layout, paths, case.lengths)
    for i, p in enumerate(got):
        if not np.isfinite(exp_scores[i]):
            continue
        sc = case.ref_call(ref, "sequence_score", i, np.asarray(p))
        assert_allclose(sc, exp_scores[i], err_msg=f"{name} path {i} is not optimal", **tol)


@layout_p
@variant_p
def test_viterbi(ops, ref, make, rng, dtype, tol, layout, variant):
    case = Case(rng, make, layout, dtype, variant)
    res = [case.ref_call(ref, "viterbi", i) for i in range(case.B)]
    exp_paths = [np.asarray(r[0], dtype=np.int64) for r in res]
    exp_scores = [float(r[1]) for r in res]
    for paths, scores in run_threads(lambda nt: ops.viterbi(case.emissions, case.trans,
                                                            **case.kw(nt))):
        check_paths_and_scores(case, ref, paths, scores, exp_paths, exp_scores, tol, "viterbi")
        check_fresh([paths, scores], case)


@layout_p
@variant_p
def test_kbest(ops, ref, make, rng, dtype, tol, layout, variant):
    case = Case(rng, make, layout, dtype, variant, B_max=12, T_max=25, N_max=6)
    k = int(rng.integers(1, 7))
    res = [case.ref_call(ref, "kbest", i, k) for i in range(case.B)]
    exp_scores = np.array([np.asarray(r[1], dtype=np.float64) for r in res])  # (B, k)
    for paths, scores in run_threads(lambda nt: ops.kbest(case.emissions, case.trans, k,
                                                          **case.kw(nt))):
        check_fresh([paths, scores], case)
        # shapes
        if layout == "single":
            exp_shape_p, exp_s = (k, case.T), exp_scores[0]
        elif layout == "concat":
            exp_shape_p, exp_s = (k, sum(case.lens)), exp_scores
        else:
            exp_shape_p, exp_s = (case.B, k, case.T), exp_scores
        check_array(scores, exp_s, dtype, name="kbest scores", tol=tol)
        assert isinstance(paths, np.ndarray) and paths.dtype == np.int64
        assert paths.shape == exp_shape_p and paths.flags.c_contiguous
        # per-sequence (k, T_i) path blocks
        if layout == "single":
            blocks = [paths]
        elif layout == "concat":
            offs = np.concatenate([[0], np.cumsum(case.lens)])
            blocks = [paths[:, offs[i]: offs[i + 1]] for i in range(case.B)]
        else:
            blocks = [paths[b, :, : n] for b, n in enumerate(case.lens)]
            for b, n in enumerate(case.lens):
                assert np.all(paths[b, :, n:] == -1), "kbest padding must be -1"
        got_scores = np.asarray(scores, dtype=np.float64).reshape(case.B, k)
        for i, blk in enumerate(blocks):
            seen = set()
            for r in range(k):
                if not np.isfinite(exp_scores[i, r]):
                    assert np.all(blk[r] == -1), f"seq {i} rank {r}: missing path must be -1"
                    continue
                p = blk[r]
                assert np.all((p >= 0) & (p < case.N)), f"seq {i} rank {r}: {p}"
                key = tuple(p.tolist())
                assert key not in seen, f"seq {i}: duplicate path {key}"
                seen.add(key)
                sc = case.ref_call(ref, "sequence_score", i, np.asarray(p))
                assert_allclose(sc, got_scores[i, r], err_msg=f"seq {i} rank {r}", **tol)
            # best first
            fin = got_scores[i][np.isfinite(got_scores[i])]
            assert np.all(np.diff(fin) <= tol["atol"] + tol["rtol"] * np.abs(fin[1:]))


@layout_p
@variant_p
def test_posterior_decode(ops, ref, make, rng, dtype, tol, layout, variant):
    case = Case(rng, make, layout, dtype, variant)
    nodes = [np.asarray(case.ref_call(ref, "marginals", i)[0]) for i in range(case.B)]
    exp_paths, exp_conf = [], []
    for i in range(len(nodes)):
        p, c = case.ref_call(ref, "posterior_decode", i)
        exp_paths.append(np.asarray(p, np.int64))
        exp_conf.append(np.asarray(c, np.float64))
    for paths, conf in run_threads(lambda nt: ops.posterior_decode(case.emissions,
                                                                   case.trans, **case.kw(nt))):
        check_fresh([paths, conf], case)
        check_array(conf, case.rows(exp_conf), dtype, name="confidences", tol=tol)
        packed = make.pack_paths(layout, exp_paths, T=case.T)
        if dtype == np.float64:
            check_array(paths, packed, np.int64, name="posterior paths", exact=True)
            continue
        assert paths.shape == packed.shape and paths.dtype == np.int64
        assert_array_equal(paths == -1, packed == -1)
        got = make.split(layout, paths, case.lengths)
        for i, p in enumerate(got):
            ok = p >= 0
            chosen = nodes[i][np.nonzero(ok)[0], p[ok]]
            assert np.all(chosen >= nodes[i][ok].max(axis=1) - tol["atol"])


@layout_p
@variant_p
def test_sequence_score(ops, ref, make, rng, dtype, tol, layout, variant):
    case = Case(rng, make, layout, dtype, variant)
    tags = case.gold_tags(ref)
    exp = case.per_seq([case.ref_call(ref, "sequence_score", i, tags[i])
                        for i in range(case.B)])
    packed = case.packed_tags(tags)
    for out in run_threads(lambda nt: ops.sequence_score(case.emissions, case.trans, packed,
                                                         **case.kw(nt))):
        check_scalar_or_vec(out, exp, case, name="sequence_score", tol=tol)


@layout_p
@variant_p
@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_crf_nll(ops, ref, make, rng, dtype, tol, layout, variant, reduction):
    case = Case(rng, make, layout, dtype, variant, B_max=20, T_max=30, N_max=10)
    tags = case.gold_tags(ref)
    res = [case.ref_call(ref, "crf_nll", i, tags[i], reduction="sum") for i in range(case.B)]
    nll = np.array([float(r[0]) for r in res])
    N = case.N
    g_em = [np.asarray(r[1].emissions) for r in res]
    g_tr = np.sum([np.asarray(r[1].transitions) for r in res], axis=0)
    g_st = np.sum([np.asarray(r[1].start) for r in res], axis=0)
    g_en = np.sum([np.asarray(r[1].end) for r in res], axis=0)
    scale = 1.0 / case.B if reduction == "mean" else 1.0
    if layout == "single" or reduction == "sum":
        exp_nll = float(nll.sum())
    elif reduction == "mean":
        exp_nll = float(nll.mean())
    else:
        exp_nll = nll
    exp_em = case.rows([g * scale for g in g_em])
    packed = case.packed_tags(tags)
    for nll_out, grad in run_threads(lambda nt: ops.crf_nll(
            case.emissions, case.trans, packed, reduction=reduction, **case.kw(nt))):
        assert type(grad).__name__ == "CRFGrad"
        if isinstance(exp_nll, float):
            assert type(nll_out) is float, type(nll_out)
            assert_allclose(nll_out, exp_nll, err_msg="nll", **tol)
        else:
            check_array(nll_out, exp_nll, dtype, name="nll", tol=tol)
        check_array(grad.emissions, exp_em, dtype, name="grad emissions", tol=tol)
        check_array(grad.transitions, g_tr * scale, dtype, name="grad transitions", tol=tol)
        check_array(grad.start, g_st * scale, dtype, name="grad start", tol=tol)
        check_array(grad.end, g_en * scale, dtype, name="grad end", tol=tol)
        assert grad.transitions.shape == (N, N)
        check_fresh(list(grad), case)


# --------------------------------------------------------------------------------------
# input handling: non-contiguous, read-only, dtype conversion, lengths types
# --------------------------------------------------------------------------------------


def all_ops_outputs(ops, em, A, s, e, lengths, tags, n_threads=1):
    kw = dict(start=s, end=e, lengths=lengths, n_threads=n_threads)
    return {
        "log_partition": ops.log_partition(em, A, **kw),
        "forward": ops.forward(em, A, **kw),
        "backward": ops.backward(em, A, **kw),
        "marginals": tuple(ops.marginals(em, A, pairwise=True, **kw)),
        "viterbi": ops.viterbi(em, A, **kw),
        "kbest": ops.kbest(em, A, 3, **kw),
        "posterior_decode": ops.posterior_decode(em, A, **kw),
        "sequence_score": ops.sequence_score(em, A, tags, **kw),
        "crf_nll": (ops.crf_nll(em, A, tags, **kw)[0], *ops.crf_nll(em, A, tags, **kw)[1]),
    }


def strided_copy(a, rng, order="F", step=2):
    """Same values as ``a``, as a non-contiguous view (every ``step``-th entry of a larger
    buffer along axis 0, in ``order``)."""
    a = np.asarray(a)
    if a.ndim == 0:
        return a
    big = np.empty((a.shape[0] * step,) + a.shape[1:], dtype=a.dtype, order=order)
    big[...] = rng.normal(size=big.shape).astype(a.dtype)
    view = big[::step]
    view[...] = a
    return view


@pytest.mark.parametrize("layout", ["single", "padded", "concat"])
@pytest.mark.parametrize("readonly", [False, True], ids=["writable", "readonly"])
def test_noncontiguous_and_readonly_inputs(ops, ref, make, rng, dtype, tol, layout, readonly):
    case = Case(rng, make, layout, dtype, "given", B_max=8, T_max=15,
                N=int(rng.integers(2, 7)))
    tags = case.packed_tags(case.gold_tags(ref))
    contiguous = all_ops_outputs(ops, case.emissions, case.trans, case.start, case.end,
                                 case.lengths, tags)

    em = strided_copy(case.emissions, rng, order="F")
    A = np.asfortranarray(case.trans)  # transposed memory layout
    A_t = np.ascontiguousarray(case.trans.T).T  # a .T view
    s = case.start.repeat(3)[::3]
    e = case.end[::-1].copy()[::-1]  # negative stride
    lens = None if case.lengths is None else strided_copy(case.lengths, rng)
    tg = strided_copy(tags, rng, order="F")
    assert not s.flags.c_contiguous and not A.flags.c_contiguous
    assert em.size == 0 or not em.flags.c_contiguous
    arrays = [em, A, A_t, s, e, tg] + ([lens] if lens is not None else [])
    if readonly:
        for a in arrays:
            a.setflags(write=False)
    for trans in (A, A_t):
        got = all_ops_outputs(ops, em, trans, s, e, lens, tg)
        for name in contiguous:
            assert_bitwise_same(contiguous[name], got[name])
    # and the contiguous results are right
    exp = case.per_seq([case.ref_call(ref, "log_partition", i) for i in range(case.B)])
    assert_allclose(contiguous["log_partition"], exp, **tol)


@pytest.mark.parametrize("layout", ["single", "padded", "concat"])
def test_dtype_conversion(ops, ref, make, rng, layout):
    """float32 everywhere stays float32; any other mix (float16, int, float32 emissions with
    float64 transitions, Python lists) is computed and returned as float64."""
    case = Case(rng, make, layout, np.float64, "given", B_max=6, T_max=10, N_max=5)
    em = np.round(case.emissions * 4).clip(-50, 50)  # small integers
    A, s, e = (np.round(x * 4) for x in (case.trans, case.start, case.end))
    exp = ops.log_partition(em, A, start=s, end=e, lengths=case.lengths)

    def check64(out):
        if layout == "single":
            assert type(out) is float
        else:
            assert out.dtype == np.float64
        assert_allclose(out, exp, rtol=1e-12, atol=1e-12)

    kw = dict(lengths=case.lengths)
    check64(ops.log_partition(em.astype(np.int64), A.astype(np.int32), start=s.astype(np.int16),
                              end=e, **kw))
    check64(ops.log_partition(em.astype(np.float16), A, start=s, end=e, **kw))
    check64(ops.log_partition(em.astype(np.float32), A, start=s.astype(np.float32),
                              end=e.astype(np.float32), **kw))
    check64(ops.log_partition(em, A.astype(np.float32), start=s, end=e, **kw))
    if em.size:  # (nested lists cannot carry the shape of an empty array)
        check64(ops.log_partition(em.tolist(), A.tolist(), start=s.tolist(), end=e.tolist(),
                                  **kw))
    # mixed float32/float64: every output array float64
    alpha, _ = ops.forward(em.astype(np.float32), A, start=s, end=e, **kw)
    assert alpha.dtype == np.float64
    _, grad = ops.crf_nll(em.astype(np.float32), A, np.zeros(em.shape[:-1], np.int64),
                          start=s, end=e, **kw)
    assert all(g.dtype == np.float64 for g in grad)
    # all float32 -> float32
    f32 = [x.astype(np.float32) for x in (em, A, s, e)]
    out = ops.log_partition(f32[0], f32[1], start=f32[2], end=f32[3], **kw)
    if layout == "single":
        assert type(out) is float
    else:
        assert out.dtype == np.float32
    # start/end None with float32 emissions and transitions stays float32
    alpha, _ = ops.forward(f32[0], f32[1], **kw)
    assert alpha.dtype == np.float32


@pytest.mark.parametrize("layout", ["padded", "concat"])
def test_lengths_types(ops, make, rng, layout):
    """lengths as int64, int32, uint8, a list or a tuple of ints give the same result."""
    case = Case(rng, make, layout, np.float64, "given", B_max=8, T_max=12, N_max=5)
    base = ops.log_partition(case.emissions, case.trans, lengths=case.lengths)
    for lens in (case.lengths.astype(np.int32), case.lengths.astype(np.uint8),
                 [int(v) for v in case.lengths], tuple(int(v) for v in case.lengths)):
        assert_array_equal(ops.log_partition(case.emissions, case.trans, lengths=lens), base)


@pytest.mark.parametrize("layout", ["padded", "concat"])
def test_all_sequences_empty(ops, rng, dtype, layout):
    """Length-0 sequences: log_Z 0, Viterbi score 0 with an empty path, kbest one empty path
    with score 0 then -inf, sequence_score 0, nll 0, zero gradients and pair marginals."""
    B, N, k = 4, 3, 3
    A = rng.normal(size=(N, N)).astype(dtype)
    s, e = rng.normal(size=N).astype(dtype), rng.normal(size=N).astype(dtype)
    if layout == "padded":
        em, lens = np.zeros((B, 0, N), dtype), np.zeros(B, np.int64)
        tags = np.zeros((B, 0), np.int64)
        path_shape, kpath_shape = (B, 0), (B, k, 0)
    else:
        em, lens = np.zeros((0, N), dtype), np.zeros(B, np.int64)
        tags = np.zeros(0, np.int64)
        path_shape, kpath_shape = (0,), (k, 0)
    kw = dict(start=s, end=e, lengths=lens)
    assert_array_equal(ops.log_partition(em, A, **kw), np.zeros(B))
    alpha, z = ops.forward(em, A, **kw)
    assert alpha.shape == em.shape and alpha.dtype == dtype
    assert_array_equal(z, np.zeros(B))
    assert ops.backward(em, A, **kw).shape == em.shape
    m = ops.marginals(em, A, pairwise=True, **kw)
    assert m.node.shape == em.shape
    assert_array_equal(m.pair, np.zeros((B, N, N)))
    paths, scores = ops.viterbi(em, A, **kw)
    assert paths.shape == path_shape and paths.dtype == np.int64
    assert_array_equal(scores, np.zeros(B))
    kp, ks = ops.kbest(em, A, k, **kw)
    assert kp.shape == kpath_shape
    assert_array_equal(ks, np.tile([0.0] + [-np.inf] * (k - 1), (B, 1)))
    pp, pc = ops.posterior_decode(em, A, **kw)
    assert pp.shape == path_shape and pc.shape == path_shape
    assert_array_equal(ops.sequence_score(em, A, tags, **kw), np.zeros(B))
    for red in ("sum", "mean", "none"):
        nll, g = ops.crf_nll(em, A, tags, reduction=red, **kw)
        assert_array_equal(nll, 0.0 if red != "none" else np.zeros(B))
        for arr in g:
            assert_array_equal(arr, np.zeros_like(arr))
        assert g.transitions.shape == (N, N) and g.start.shape == (N,)


def test_single_empty_sequence(ops, dtype):
    N = 3
    em = np.zeros((0, N), dtype)
    A = np.ones((N, N), dtype)
    z = ops.log_partition(em, A)
    assert type(z) is float and z == 0.0
    paths, score = ops.viterbi(em, A)
    assert paths.shape == (0,) and paths.dtype == np.int64 and score == 0.0
    kp, ks = ops.kbest(em, A, 2)
    assert kp.shape == (2, 0)
    assert_array_equal(ks, [0.0, -np.inf])
    assert ops.sequence_score(em, A, np.zeros(0, np.int64)) == 0.0
    nll, g = ops.crf_nll(em, A, np.zeros(0, np.int64))
    assert nll == 0.0 and g.emissions.shape == (0, N)


@pytest.mark.parametrize("layout", ["single", "padded", "concat"])
def test_viterbi_tie_rule(ops, ref, make, rng, dtype, layout):
    """Ties: the lowest state index wins, for the back-pointers and for the final state
    (numpy argmax's first-occurrence rule). Small-integer scores make exact ties common;
    every sum is exact, so the paths must equal the reference's exactly."""
    N = 4
    lens = [1, 2, 7, 12] if layout != "single" else [9]
    seqs = [rng.integers(-1, 2, size=(n, N)).astype(dtype) for n in lens]
    A = rng.integers(-1, 2, size=(N, N)).astype(dtype)
    s = rng.integers(-1, 2, size=N).astype(dtype)
    em, lengths = make.batch(rng, layout, seqs)
    paths, _ = ops.viterbi(em, A, start=s, lengths=lengths)
    exp = [np.asarray(ref.viterbi(x.astype(np.float64), A.astype(np.float64),
                                  start=s.astype(np.float64))[0]) for x in seqs]
    assert_array_equal(paths, make.pack_paths(layout, exp))
    # all paths tie: the all-zero path
    zeros = [np.zeros_like(x) for x in seqs]
    em0, _ = make.batch(rng, layout, zeros)
    p0, s0 = ops.viterbi(em0, np.zeros_like(A), lengths=lengths)
    assert_array_equal(p0, make.pack_paths(layout, [np.zeros(n, np.int64) for n in lens]))
    assert_array_equal(s0, 0.0)
    pp, pc = ops.posterior_decode(em0, np.zeros_like(A), lengths=lengths)
    assert_array_equal(pp, make.pack_paths(layout, [np.zeros(n, np.int64) for n in lens]))
    assert_allclose(pc, make.pack_rows(layout, [np.full(n, 1.0 / N) for n in lens]),
                    rtol=1e-6 if dtype == np.float32 else 1e-12)
