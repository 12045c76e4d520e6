"""The initial means of Gaussian HMMs: scikit-learn's KMeans, as hmmlearn uses it, when
scikit-learn is installed; else k-means (k-means++ seeding, Lloyd iterations) of our own."""
from __future__ import annotations

import numpy as np
from scipy import sparse

from .._validation import check_random_state

__all__ = ["initial_means", "kmeans"]

# k-means runs on at most this many samples
_MAX_SAMPLES = 100_000


def _sq_dist(X, x2, C):
    return np.maximum(x2[:, None] - 2.0 * (X @ C.T) + (C * C).sum(axis=1), 0.0)


def _kmeans_pp(X, x2, k, rs):
    """Greedy k-means++ seeding."""
    n = X.shape[0]
    n_trials = 2 + int(np.log(k))
    centers = [int(rs.randint(n))]
    closest = _sq_dist(X, x2, X[centers])[:, 0]
    for _ in range(1, k):
        total = closest.sum()
        if total <= 0:
            rest = np.setdiff1d(np.arange(n), centers)
            centers.append(int(rs.choice(rest)) if rest.size else int(rs.randint(n)))
            continue
        cand = np.searchsorted(np.cumsum(closest), rs.rand(n_trials) * total)
        cand = np.minimum(cand, n - 1)
        d = np.minimum(closest[:, None], _sq_dist(X, x2, X[cand]))
        best = int(np.argmin(d.sum(axis=0)))
        centers.append(int(cand[best]))
        closest = d[:, best]
    return X[centers].copy()


def kmeans(X, k, rs, n_init=3, max_iter=100, tol=1e-4):
    """k-means (k-means++ seeding, Lloyd iterations, best of ``n_init``) for the initial
    means; runs on a random subset of at most ``_MAX_SAMPLES`` samples."""
    n = X.shape[0]
    if n < k:
        raise ValueError(f"`X` has {n} samples but n_components = {k}: k-means initialisation "
                         "of means_ needs at least one sample per state (set means_ yourself "
                         "and remove 'm' from init_params)")
    if n > _MAX_SAMPLES:
        X = X[np.sort(rs.choice(n, _MAX_SAMPLES, replace=False))]
    center = X.mean(axis=0)
    Xc = X - center
    x2 = (Xc * Xc).sum(axis=1)
    threshold = tol * Xc.var(axis=0).mean()
    best, best_inertia = None, np.inf
    for _ in range(n_init):
        C = _kmeans_pp(Xc, x2, k, rs)
        for _ in range(max_iter):
            d = _sq_dist(Xc, x2, C)
            labels = d.argmin(axis=1)
            counts = np.bincount(labels, minlength=k)
            onehot = sparse.csr_matrix((np.ones(labels.size), (labels, np.arange(labels.size))),
                                       shape=(k, labels.size))
            sums = np.asarray(onehot @ Xc)
            new = C.copy()
            filled = counts > 0
            new[filled] = sums[filled] / counts[filled, None]
            if not filled.all():  # re-seed empty clusters at the farthest samples
                far = np.argsort(d.min(axis=1))[::-1][: int((~filled).sum())]
                new[~filled] = Xc[far]
            moved = ((new - C) ** 2).sum()
            C = new
            if moved <= threshold:
                break
        inertia = _sq_dist(Xc, x2, C).min(axis=1).sum()
        if inertia < best_inertia:
            best, best_inertia = C, inertia
    return best + center


def initial_means(X, k, random_state):
    """``k`` cluster centres of ``X`` to start EM from.

    With scikit-learn installed (hmmlearn requires it), ``KMeans(n_clusters=k,
    random_state=random_state, n_init=10)``, exactly as hmmlearn initialises its means, so
    the same ``random_state`` gives the same fit; otherwise :func:`kmeans`, drawing from the
    same ``random_state``."""
    try:
        from sklearn.cluster import KMeans
    except ImportError:
        return kmeans(X, k, check_random_state(random_state))
    if X.shape[0] < k:  # our message says what to do instead
        return kmeans(X, k, check_random_state(random_state))
    return KMeans(n_clusters=k, random_state=random_state, n_init=10).fit(X).cluster_centers_
