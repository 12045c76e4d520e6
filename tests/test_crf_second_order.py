"""The second-order CRF: label-pair chains against brute force, the training objective's
gradient, and the estimator and tagger with ``order=2``."""
import itertools

import numpy as np
import pytest
from scipy.special import logsumexp

from fastseq.crf import CRF
from fastseq.crf.second_order import Chain, LabelPairs


def path_score(E, T, T3, y):
    s = sum(E[t, y[t]] for t in range(len(y)))
    for t in range(1, len(y)):
        a = 0 if t == 1 else y[t - 2] + 1
        s += T[y[t - 1], y[t]] + T3[a, y[t - 1], y[t]]
    return s


def brute(E, T, T3):
    L, N = E.shape
    paths = list(itertools.product(range(N), repeat=L))
    scores = np.array([path_score(E, T, T3, y) for y in paths])
    return paths, scores, logsumexp(scores)


@pytest.mark.parametrize("L, N", [(1, 3), (2, 2), (4, 3), (5, 2)])
def test_chain_against_brute_force(L, N):
    rng = np.random.default_rng(L * 10 + N)
    E, T, T3 = rng.normal(size=(L, N)), rng.normal(size=(N, N)), rng.normal(size=(N + 1, N, N))
    chain = Chain(E, T, T3)
    paths, scores, log_Z = brute(E, T, T3)
    best = paths[int(np.argmax(scores))]
    assert chain.viterbi(np.array([L]), 1).tolist() == list(best)
    y = np.array(paths[3 % len(paths)])
    assert chain.log_probability(y) == pytest.approx(path_score(E, T, T3, y) - log_Z,
                                                     rel=1e-12)
    probs = np.exp(scores - log_Z)
    want = np.zeros((L, N))
    for p, w in zip(paths, probs):
        want[np.arange(L), p] += w
    np.testing.assert_allclose(chain.marginals(np.array([L]), 1), want, atol=1e-12)


def test_pair_crf_nll_gradients():
    rng = np.random.default_rng(0)
    N, lengths = 3, np.array([4, 1, 3])
    L = int(lengths.sum())
    E, T, T3 = rng.normal(size=(L, N)), rng.normal(size=(N, N)), rng.normal(size=(N + 1, N, N))
    y = rng.integers(0, N, size=L)
    pairs = LabelPairs(N)
    y2 = pairs.tags(y, lengths)
    nll, G, gT, gT3 = pairs.crf_nll(E, T, T3, y2, lengths, 1)
    # the nll is the sum over sequences of log Z - score (brute force)
    want = 0.0
    for a, b in zip(np.cumsum(lengths) - lengths, np.cumsum(lengths)):
        want += brute(E[a:b], T, T3)[2] - path_score(E[a:b], T, T3, y[a:b])
    assert nll == pytest.approx(want, rel=1e-12)
    h = 1e-6
    for arr, grad in ((E, G), (T, gT), (T3, gT3)):
        for idx in list(np.ndindex(arr.shape))[::3]:
            arr[idx] += h
            up = pairs.crf_nll(E, T, T3, y2, lengths, 1)[0]
            arr[idx] -= 2 * h
            down = pairs.crf_nll(E, T, T3, y2, lengths, 1)[0]
            arr[idx] += h
            assert grad[idx] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-7)


def dataset(rng, n=40):
    words = ["the", "a", "dog", "cat", "runs", "sleeps", "big", "old"]
    X, y = [], []
    for _ in range(n):
        k = int(rng.integers(1, 7))
        w = rng.choice(words, size=k)
        X.append([{"w": str(t), "suffix": str(t)[-2:]} for t in w])
        y.append(["D" if t in ("the", "a") else "V" if t in ("runs", "sleeps")
                  else "A" if t in ("big", "old") else "N" for t in w])
    return X, y


def test_objective_gradient_finite_differences():
    rng = np.random.default_rng(1)
    X, y = dataset(rng)
    fun, K = CRF(c2=0.3, order=2)._training_objective(X, y)
    first, K1 = CRF(c2=0.3)._training_objective(X, y)
    assert K > K1   # the trigram features
    theta = rng.normal(size=K) * 0.5
    f, g = fun(theta)
    h = 1e-6
    for k in rng.choice(K, size=30, replace=False):
        e = np.zeros(K)
        e[k] = h
        num = (fun(theta + e)[0] - fun(theta - e)[0]) / (2 * h)
        assert g[k] == pytest.approx(num, rel=1e-5, abs=1e-6)
    # with zero trigram weights the second-order model is the first-order one
    t1 = rng.normal(size=K1)
    t2 = np.concatenate([t1, np.zeros(K - K1)])
    assert fun(t2)[0] == pytest.approx(first(t1)[0], rel=1e-12)


def test_estimator_fit_predict_save_load(tmp_path):
    rng = np.random.default_rng(2)
    X, y = dataset(rng, 80)
    crf = CRF(c2=0.05, order=2, max_iterations=50).fit(X, y)
    pred = crf.predict(X)
    assert sum(p == t for p, t in zip(pred, y)) >= 70
    assert crf.num_features_ == crf._fitted().size and crf._fitted().trigram_key is not None
    P, lengths = crf.predict_marginals_array(X[:3])
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    tagger = crf.tagger_
    tagger.set(X[0])
    assert 0 < tagger.probability(y[0]) <= 1
    path = tmp_path / "second.crf"
    crf.save(path)
    back = CRF.load(path)
    assert back.order == 2 and back.predict(X) == pred
    np.testing.assert_array_equal(back.predict_marginals_array(X[:3])[0], P)


def test_order_is_checked():
    X, y = dataset(np.random.default_rng(3), 5)
    with pytest.raises(ValueError, match="order"):
        CRF(order=3).fit(X, y)
    with pytest.raises(ValueError, match="lbfgs"):
        CRF(order=2, algorithm="ap").fit(X, y)
