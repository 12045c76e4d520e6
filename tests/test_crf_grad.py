"""Finite-difference checks (float64, central differences) of every ``crf_nll`` gradient
(emissions, transitions, start, end) for every reduction and layout, and of the identity
d log_Z / d theta = marginals."""
from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

H = 1e-5
FD_TOL = dict(rtol=1e-6, atol=1e-6)
LAYOUTS = ["single", "padded", "padded_nolengths", "concat"]


def central_diff(f, x, mask=None):
    """Gradient of scalar ``f`` w.r.t. every (masked) entry of array ``x`` (modified in
    place and restored)."""
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
        if mask is not None and not mask[idx]:
            continue
        old = x[idx]
        x[idx] = old + H
        fp = f()
        x[idx] = old - H
        fm = f()
        x[idx] = old
        g[idx] = (fp - fm) / (2 * H)
    return g


def make_problem(rng, make, layout, *, forbid=False):
    N = int(rng.integers(1, 4))
    if layout == "single":
        lens = [int(rng.integers(1, 6))]
    elif layout == "padded_nolengths":
        lens = [int(rng.integers(1, 5))] * 3
    else:
        lens = [0, 1] + [int(v) for v in rng.integers(2, 6, size=2)]
        rng.shuffle(lens)
    seqs = [make.emissions(rng, n, N, scale=1.5) for n in lens]
    A, s, e = make.model(rng, N, scale=1.0)
    if forbid and N > 1:
        A[rng.random((N, N)) < 0.3] = -np.inf
        np.fill_diagonal(A, 0.5)  # keep some path allowed
    # moderate garbage in the padding, so perturbing it is visible if it were read
    em, lengths = make.batch(rng, layout, seqs, pad_value=0.37)
    tags = []
    for x in seqs:
        t = rng.integers(0, N, size=len(x))
        if forbid and len(x) > 0:
            t[:] = t[0]  # stays on the diagonal: an allowed gold path
        tags.append(t)
    T = em.shape[1] if em.ndim == 3 else None
    return em, A, s, e, lengths, make.pack_tags(layout, tags, T=T), len(lens), N


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
@pytest.mark.parametrize("with_start_end", [True, False], ids=["start_end", "no_start_end"])
def test_crf_nll_gradients_finite_differences(ops, make, rng, layout, reduction,
                                              with_start_end):
    em, A, s, e, lengths, tags, B, N = make_problem(rng, make, layout)
    # None start/end: the gradient is at zeros
    s_eval = s if with_start_end else np.zeros(N)
    e_eval = e if with_start_end else np.zeros(N)

    def loss():
        nll, _ = ops.crf_nll(em, A, tags, start=s_eval, end=e_eval, lengths=lengths,
                             reduction=reduction)
        return float(np.sum(nll))  # "none": the gradient is of the sum

    nll, g = ops.crf_nll(em, A, tags, start=s if with_start_end else None,
                         end=e if with_start_end else None, lengths=lengths,
                         reduction=reduction)
    assert np.all(np.isfinite(nll))
    assert_allclose(g.emissions, central_diff(loss, em), **FD_TOL)
    assert_allclose(g.transitions, central_diff(loss, A), **FD_TOL)
    assert_allclose(g.start, central_diff(loss, s_eval), **FD_TOL)
    assert_allclose(g.end, central_diff(loss, e_eval), **FD_TOL)
    if layout == "padded":
        for b, n in enumerate(lengths):
            assert np.all(g.emissions[b, n:] == 0.0), "gradient past the end must be 0"


@pytest.mark.parametrize("layout", ["single", "padded", "concat"])
@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_crf_nll_gradients_with_forbidden_transitions(ops, make, rng, layout, reduction):
    """-inf transitions (gold path allowed): finite entries match finite differences, and
    the gradient of a forbidden entry is exactly 0 (its marginal is 0, gold never uses it)."""
    em, A, s, e, lengths, tags, B, N = make_problem(rng, make, layout, forbid=True)
    finite = np.isfinite(A)

    def loss():
        nll, _ = ops.crf_nll(em, A, tags, start=s, end=e, lengths=lengths,
                             reduction=reduction)
        return float(np.sum(nll))

    nll, g = ops.crf_nll(em, A, tags, start=s, end=e, lengths=lengths, reduction=reduction)
    assert np.all(np.isfinite(nll))
    assert_allclose(g.emissions, central_diff(loss, em), **FD_TOL)
    assert_allclose(g.transitions[finite], central_diff(loss, A, mask=finite)[finite],
                    **FD_TOL)
    assert np.all(g.transitions[~finite] == 0.0)
    assert_allclose(g.start, central_diff(loss, s), **FD_TOL)
    assert_allclose(g.end, central_diff(loss, e), **FD_TOL)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_log_partition_gradient_is_marginals(ops, make, rng, layout):
    """d log_Z / d emissions = node marginals, d log_Z / d transitions = pair marginals,
    d log_Z / d start = node[0], d log_Z / d end = node[T-1] (summed over the batch)."""
    em, A, s, e, lengths, _, B, N = make_problem(rng, make, layout)

    def total_log_z():
        return float(np.sum(ops.log_partition(em, A, start=s, end=e, lengths=lengths)))

    m = ops.marginals(em, A, start=s, end=e, lengths=lengths, pairwise=True)
    assert_allclose(m.node, central_diff(total_log_z, em), **FD_TOL)
    pair = m.pair if m.pair.ndim == 2 else m.pair.sum(axis=0)
    assert_allclose(pair, central_diff(total_log_z, A), **FD_TOL)
    nodes = make.split(layout, m.node, lengths)
    first = sum((x[0] for x in nodes if len(x)), np.zeros(N))
    last = sum((x[-1] for x in nodes if len(x)), np.zeros(N))
    assert_allclose(first, central_diff(total_log_z, s), **FD_TOL)
    assert_allclose(last, central_diff(total_log_z, e), **FD_TOL)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_crf_nll_writes_the_emissions_gradient_into_out(ops, make, rng, layout, reduction):
    em, A, s, e, lengths, tags, B, N = make_problem(rng, make, layout)
    want_nll, want = ops.crf_nll(em, A, tags, start=s, end=e, lengths=lengths,
                                 reduction=reduction)
    out = np.full(np.shape(em), np.nan)  # garbage: every entry must be written
    nll, g = ops.crf_nll(em, A, tags, start=s, end=e, lengths=lengths, reduction=reduction,
                         out=out)
    assert g.emissions is out
    np.testing.assert_array_equal(out, want.emissions)
    np.testing.assert_array_equal(nll, want_nll)
    for a, b in zip(g[1:], want[1:]):
        np.testing.assert_array_equal(a, b)


def test_crf_nll_rejects_an_unusable_out(ops, rng):
    em, A = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 4))
    tags = rng.integers(0, 4, size=(2, 3))
    bad = {
        "shape": (np.empty((2, 3, 5)), ValueError),
        "dtype": (np.empty((2, 3, 4), np.float32), ValueError),
        "order": (np.empty((2, 4, 3)).transpose(0, 2, 1), ValueError),
        "read-only": (np.empty((2, 3, 4)), ValueError),
        "the emissions": (em, ValueError),
        "a list": ([[0.0] * 4] * 6, TypeError),
    }
    bad["read-only"][0].flags.writeable = False
    for out, err in bad.values():
        with pytest.raises(err, match="`out`"):
            ops.crf_nll(em, A, tags, out=out)
