"""The compiled epochs of the per-sequence CRF learners (ap, pa, arow, l2sgd) against a
direct NumPy transcription of the algorithms in feature space.

The data has what the compiled loops must get right: attribute values other than 1, the
same attribute twice in a sequence, (attribute, label) pairs and transitions that are not
features (``min_freq``), sequences of length 1 and an empty sequence.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import fastseq
from fastseq import ops
from fastseq.crf.items import encode_items
from fastseq.crf.objective import Objective, feature_set
from fastseq.crf.online import arow, averaged_perceptron, passive_aggressive
from fastseq.crf.sgd import l2sgd

N = 4


def _problem(seed=0, n_seqs=40):
    rng = np.random.default_rng(seed)
    X, Y = [], []
    for s in range(n_seqs):
        n = 0 if s == 7 else (1 if s % 9 == 0 else int(rng.integers(2, 9)))
        X.append([{f"w{rng.integers(12)}": float(rng.choice([1.0, 0.5, 2.0])),
                   f"v{rng.integers(6)}": 1.0, "bias": 1.0} for _ in range(n)])
        Y.append([int(rng.integers(N)) for _ in range(n)])
    batch, _ = encode_items(X, "X", None, fit=True)
    y = np.array([t for s in Y for t in s], dtype=np.int64)
    feats = feature_set(batch, y, N, min_freq=2.0, all_possible_states=False,
                        all_possible_transitions=False)
    obj = Objective(batch, y, N, *feats, n_threads=1, pool=None)
    return obj, feats


class _Features:
    """The feature vector of a labelling and the scores, in feature order (theta's)."""

    def __init__(self, obj, feats):
        s_attr, s_label, t_from, t_to = feats
        self.Ks = s_attr.size
        self.state = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(s_attr, s_label))}
        self.trans = {(int(a), int(b)): self.Ks + k for k, (a, b) in enumerate(zip(t_from, t_to))}
        self.K = self.Ks + t_from.size
        X = obj.batch.X.tocsr()
        off = obj.batch.offsets
        self.tokens = [[list(zip(X.indices[X.indptr[r]:X.indptr[r + 1]].tolist(),
                                 X.data[X.indptr[r]:X.indptr[r + 1]].tolist()))
                        for r in range(off[s], off[s + 1])] for s in range(len(off) - 1)]
        self.y = obj.y
        self.off = off

    def phi(self, s, labels):
        v = np.zeros(self.K)
        for t, (toks, lab) in enumerate(zip(self.tokens[s], labels)):
            for a, val in toks:
                k = self.state.get((a, int(lab)))
                if k is not None:
                    v[k] += val
            if t:
                k = self.trans.get((int(labels[t - 1]), int(lab)))
                if k is not None:
                    v[k] += 1.0
        return v

    def model(self, s, theta):
        E = np.zeros((len(self.tokens[s]), N))
        for t, toks in enumerate(self.tokens[s]):
            for a, val in toks:
                for lab in range(N):
                    k = self.state.get((a, lab))
                    if k is not None:
                        E[t, lab] += val * theta[k]
        T = np.zeros((N, N))
        for (i, j), k in self.trans.items():
            T[i, j] = theta[k]
        return E, T

    def gold(self, s):
        return self.y[self.off[s]:self.off[s + 1]]


def _reference_online(obj, feats, algorithm, epochs, **p):
    F = _Features(obj, feats)
    B = len(F.tokens)
    w = np.zeros(F.K)
    aux = np.full(F.K, p.get("variance", 0.0))
    u = 1
    rng = np.random.default_rng(0)  # the learners' documented fixed seed
    for _ in range(epochs):
        for s in rng.permutation(B):
            gold = F.gold(s)
            if gold.size == 0:
                u += 1
                continue
            E, T = F.model(s, w)
            path, best = ops.viterbi(E, T)
            d = int((path != gold).sum())
            if d:
                delta = F.phi(s, gold) - F.phi(s, path)
                margin = float(best) - float(F.phi(s, gold) @ w)
                if algorithm == "ap":
                    w += delta
                    aux += u * delta
                elif algorithm == "pa":
                    cost = margin + math.sqrt(d)
                    norm2 = float(delta @ delta)
                    tau = min(p["c"], cost / norm2) if norm2 > 0 else 0.0
                    w += tau * delta
                    aux += tau * u * delta
                else:
                    cost = margin + d
                    alpha = cost / (p["gamma"] + float((delta * delta) @ aux))
                    w += alpha * aux * delta
                    nz = delta != 0  # elsewhere 1 / (1 / var) would round the variance
                    aux[nz] = 1.0 / (1.0 / aux[nz] + delta[nz] ** 2 / p["gamma"])
            u += 1
    return w - aux / u if algorithm in ("ap", "pa") else w


@pytest.mark.parametrize("algorithm", ["ap", "pa", "arow"])
def test_online_learners_match_the_reference(algorithm):
    # data whose trajectories meet no near-tie in Viterbi: a tie that rounding (the two sum
    # in different orders) breaks differently makes the trajectories part for good
    obj, feats = _problem(1)
    log = []
    if algorithm == "ap":
        theta, _ = averaged_perceptron(obj, max_iterations=4, epsilon=0.0,
                                       on_epoch=lambda rec, th: log.append(rec))
        want = _reference_online(obj, feats, "ap", 4)
    elif algorithm == "pa":
        theta, _ = passive_aggressive(obj, pa_type=1, c=0.7, error_sensitive=True,
                                      averaging=True, max_iterations=4, epsilon=0.0,
                                      on_epoch=lambda rec, th: log.append(rec))
        want = _reference_online(obj, feats, "pa", 4, c=0.7)
    else:
        theta, _ = arow(obj, variance=0.8, gamma=1.5, max_iterations=4, epsilon=0.0,
                        on_epoch=lambda rec, th: log.append(rec))
        want = _reference_online(obj, feats, "arow", 4, variance=0.8, gamma=1.5)
    assert len(log) == 4 and np.abs(want).max() > 0.1
    np.testing.assert_allclose(theta, want, rtol=1e-10, atol=1e-12)


def _reference_sgd(obj, feats, c2, eta, epochs):
    """l2sgd with one calibration trial: the rate starts at ``eta``; the best epoch wins."""
    F = _Features(obj, feats)
    B = len(F.tokens)
    lam = 2 * c2 / B
    rng = np.random.default_rng(0)
    rng.permutation(B)  # the calibration sample is drawn first
    t0 = 1 / (lam * eta)
    w = np.zeros(F.K)
    t = 0
    best, best_w = math.inf, None
    for _ in range(epochs):
        total = 0.0
        for s in rng.permutation(B):
            step = 1 / (lam * (t0 + t))
            t += 1
            w *= 1 - step * lam
            gold = F.gold(s)
            if gold.size == 0:
                continue
            E, T = F.model(s, w)
            nll, g = ops.crf_nll(E, T, gold)
            grad = np.zeros(F.K)
            for j, toks in enumerate(F.tokens[s]):
                for a, val in toks:
                    for lab in range(N):
                        k = F.state.get((a, lab))
                        if k is not None:
                            grad[k] += val * g.emissions[j, lab]
            for (i, j), k in F.trans.items():
                grad[k] += g.transitions[i, j]
            w -= step * grad
            total += float(nll)
        total += 0.5 * lam * float(w @ w) * B
        if total < best:
            best, best_w = total, w.copy()
    return best_w


def test_l2sgd_matches_the_reference():
    obj, feats = _problem(1)
    theta, _ = l2sgd(obj, c2=0.3, max_iterations=3, period=100, calibration_eta=0.2,
                     calibration_max_trials=1)
    want = _reference_sgd(obj, feats, 0.3, 0.2, 3)
    assert np.abs(want).max() > 0.05
    np.testing.assert_allclose(theta, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("simd", ["generic", "avx2", "avx512"])
def test_every_simd_variant_agrees(simd):
    obj, _ = _problem(2)

    def train():
        return passive_aggressive(obj, pa_type=1, c=1.0, error_sensitive=True, averaging=True,
                                  max_iterations=3, epsilon=0.0, on_epoch=lambda rec, th: None)

    base, _ = train()
    try:
        variant = fastseq.simd_variant(simd)
    except ValueError:
        pytest.skip(f"{simd} is not supported on this CPU or build")
    with variant:
        assert ops.simd_in_use() == simd
        other, _ = train()
    np.testing.assert_allclose(other, base, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("counting", [True, False])
@pytest.mark.parametrize("all_states", [False, True])
def test_feature_set_matches_direct_count(monkeypatch, counting, all_states):
    # both ways of finding the (attribute, label) pairs -- a count per possible pair, or a
    # sort when there are too many possible pairs -- against a dictionary of frequencies;
    # an attribute of value 0 is seen (a feature with frequency 0)
    import fastseq.crf.objective as objective
    monkeypatch.setattr(objective, "_DENSE_FEATURE_KEYS", 1 << 24 if counting else 0)
    rng = np.random.default_rng(11)
    X, Y = [], []
    for _ in range(30):
        n = int(rng.integers(0, 7))
        X.append([{f"w{rng.integers(15)}": float(rng.choice([1.0, 0.5, 0.0])), "bias": 1.0}
                  for _ in range(n)])
        Y.append([int(rng.integers(N)) for _ in range(n)])
    batch, _ = encode_items(X, "X", None, fit=True)
    y = np.array([t for s in Y for t in s], dtype=np.int64)
    freq = {}
    Xc = batch.X.tocsr()
    for r in range(Xc.shape[0]):
        for a, v in zip(Xc.indices[Xc.indptr[r]:Xc.indptr[r + 1]],
                        Xc.data[Xc.indptr[r]:Xc.indptr[r + 1]]):
            freq[int(a), int(y[r])] = freq.get((int(a), int(y[r])), 0.0) + float(v)
    if all_states:
        for a, _ in list(freq):
            for lab in range(N):
                freq.setdefault((a, lab), 0.0)
    for min_freq in (0.0, 1.0):
        s_attr, s_label, _, _ = objective.feature_set(
            batch, y, N, min_freq=min_freq, all_possible_states=all_states,
            all_possible_transitions=False)
        want = sorted(k for k, f in freq.items() if f >= min_freq)
        assert list(zip(s_attr.tolist(), s_label.tolist())) == want
