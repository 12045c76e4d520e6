"""CRFsuite's online learners: passive-aggressive (``"pa"``) and AROW (``"arow"``)."""
from __future__ import annotations

import time
from typing import Callable, Tuple

import numpy as np

from .. import ops
from .objective import Objective, SequenceRows

__all__ = ["passive_aggressive", "arow"]

_OnEpoch = Callable[[dict, np.ndarray, np.ndarray], None]


def passive_aggressive(obj: Objective, *, pa_type: int, c: float, error_sensitive: bool,
                       averaging: bool, max_iterations: int, epsilon: float,
                       on_epoch: _OnEpoch) -> Tuple[np.ndarray, str]:
    """Train by CRFsuite's passive-aggressive algorithm.

    Sequences are visited one at a time in a shuffled order (a fixed seed); each is decoded
    by Viterbi with the current weights. Where the prediction differs from the gold labels in
    ``d`` tokens, the difference ``delta`` of the feature vectors of the gold and predicted
    paths is added with step ``tau``: with ``cost = score(predicted) - score(gold) + sqrt(d)``
    (``+ 1`` when not ``error_sensitive``), ``tau = cost / ||delta||^2`` (type 0),
    ``min(c, cost / ||delta||^2)`` (type 1) or ``cost / (||delta||^2 + 1 / (2 c))``
    (type 2). Training stops after ``max_iterations`` epochs or when the mean cost per
    sequence of an epoch is below ``epsilon``.

    Parameters
    ----------
    obj : Objective
        The training data and the feature set (only the data and the features are used).
    pa_type : {0, 1, 2}
        PA without slack variables, PA-I or PA-II.
    c : float
        The aggressiveness parameter (types 1 and 2).
    error_sensitive : bool
        Whether the cost counts the number of wrong labels (``sqrt(d)``) or only ``1``.
    averaging : bool
        Return the average of the weights over all updates instead of the last weights.
    max_iterations : int
        The maximum number of epochs.
    epsilon : float
        Stop when the mean cost per sequence of an epoch is below it.
    on_epoch : callable
        ``on_epoch(record, W, T)``, called after every epoch with its record (``num``,
        ``loss`` -- the sum of the costs --, ``feature_norm`` -- of the last weights --,
        ``time``, ``scores``) and the returned state weights ``W`` (``(A, N)``, internal
        attribute numbering) and transition weights ``T`` (``(N, N)``).

    Returns
    -------
    theta : ndarray of float64, shape (K,)
        The weights: state weights then transition weights, in feature order.
    reason : str
        Why training stopped.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf.items import encode_items
    >>> from fastseq.crf.objective import Objective, feature_set
    >>> from fastseq.crf.online import passive_aggressive
    >>> batch, _ = encode_items([[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]],
    ...                         "X", None, fit=True)
    >>> y = np.array([0, 1, 0, 1])
    >>> feats = feature_set(batch, y, 2, min_freq=0.0, all_possible_states=False,
    ...                     all_possible_transitions=False)
    >>> obj = Objective(batch, y, 2, *feats, n_threads=1, pool=None)
    >>> losses = []
    >>> theta, reason = passive_aggressive(
    ...     obj, pa_type=1, c=1.0, error_sensitive=True, averaging=False, max_iterations=3,
    ...     epsilon=0.0, on_epoch=lambda rec, W, T: losses.append(rec["loss"]))
    >>> len(theta), reason, losses[-1]
    (5, 'maximum number of iterations', 0.0)
    """
    if pa_type == 1:
        def tau_of(cost: float, norm2: float) -> float:
            return min(c, cost / norm2)
    elif pa_type == 2:
        def tau_of(cost: float, norm2: float) -> float:
            return cost / (norm2 + 0.5 / c)
    else:
        def tau_of(cost: float, norm2: float) -> float:
            return cost / norm2

    def step(d: int, margin: float, delta: np.ndarray, idx: np.ndarray, w: np.ndarray,
             aux: np.ndarray, u: int) -> float:
        cost = margin + (np.sqrt(d) if error_sensitive else 1.0)
        norm2 = float(delta @ delta)
        # a zero difference vector (identical features on both paths) cannot move the scores
        tau = tau_of(cost, norm2) if norm2 > 0 else 0.0
        w[idx] += tau * delta
        aux[idx] += (tau * u) * delta
        return cost

    return _online(obj, step, averaging, max_iterations, epsilon, on_epoch, 0.0)


def arow(obj: Objective, *, variance: float, gamma: float, max_iterations: int,
         epsilon: float, on_epoch: _OnEpoch) -> Tuple[np.ndarray, str]:
    """Train by CRFsuite's adaptive regularization of weights (AROW).

    Every weight has a mean (the weight returned) and a variance, initially ``variance``.
    Sequences are visited one at a time in a shuffled order (a fixed seed); each is decoded
    by Viterbi with the means. Where the prediction differs from the gold labels in ``d``
    tokens, with ``delta`` the difference of the feature vectors of the gold and predicted
    paths and ``cost = score(predicted) - score(gold) + d``, every feature ``k`` of ``delta``
    moves by ``cost / (gamma + sum(var * delta^2)) * var[k] * delta[k]`` and its variance
    becomes ``1 / (1 / var[k] + delta[k]^2 / gamma)``. Training stops after
    ``max_iterations`` epochs or when the mean cost per sequence of an epoch is below
    ``epsilon``.

    Parameters
    ----------
    obj : Objective
        The training data and the feature set (only the data and the features are used).
    variance : float
        The initial variance of every weight.
    gamma : float
        The trade-off parameter.
    max_iterations : int
        The maximum number of epochs.
    epsilon : float
        Stop when the mean cost per sequence of an epoch is below it.
    on_epoch : callable
        ``on_epoch(record, W, T)``, called after every epoch with its record (``num``,
        ``loss`` -- the sum of the costs --, ``feature_norm``, ``time``, ``scores``) and the
        state weights ``W`` (``(A, N)``, internal attribute numbering) and transition weights
        ``T`` (``(N, N)``).

    Returns
    -------
    theta : ndarray of float64, shape (K,)
        The weights: state weights then transition weights, in feature order.
    reason : str
        Why training stopped.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf.items import encode_items
    >>> from fastseq.crf.objective import Objective, feature_set
    >>> from fastseq.crf.online import arow
    >>> batch, _ = encode_items([[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]],
    ...                         "X", None, fit=True)
    >>> y = np.array([0, 1, 0, 1])
    >>> feats = feature_set(batch, y, 2, min_freq=0.0, all_possible_states=False,
    ...                     all_possible_transitions=False)
    >>> obj = Objective(batch, y, 2, *feats, n_threads=1, pool=None)
    >>> losses = []
    >>> theta, reason = arow(obj, variance=1.0, gamma=1.0, max_iterations=3, epsilon=0.0,
    ...                      on_epoch=lambda rec, W, T: losses.append(rec["loss"]))
    >>> len(theta), reason, losses[-1]
    (5, 'maximum number of iterations', 0.0)
    """
    def step(d: int, margin: float, delta: np.ndarray, idx: np.ndarray, w: np.ndarray,
             aux: np.ndarray, u: int) -> float:
        cost = margin + d
        prod = delta * delta
        var = aux[idx]
        alpha = cost / (gamma + float(prod @ var))
        w[idx] += alpha * var * delta
        aux[idx] = 1.0 / (1.0 / var + prod / gamma)
        return cost

    return _online(obj, step, False, max_iterations, epsilon, on_epoch, variance)


def _online(obj: Objective, step, averaging: bool, max_iterations: int, epsilon: float,
            on_epoch: _OnEpoch, aux0: float) -> Tuple[np.ndarray, str]:
    """The loop shared by the online learners.

    The weights live in one flat vector ``w``: state weights ``W.ravel()`` (``(A, N)``) then
    transition weights ``T.ravel()`` (``(N, N)``); ``aux`` is its companion (the weighted
    sums for averaging, or the variances). ``step`` updates both from a mistake and returns
    the cost.
    """
    N, A = obj.N, obj.A
    AN = A * N
    exists = np.zeros(AN + N * N, dtype=bool)
    exists[obj.s_flat] = True
    exists[AN + obj.t_flat] = True
    w = np.zeros(AN + N * N)
    aux = np.full(AN + N * N, float(aux0))
    W = w[:AN].reshape(A, N)  # views: updates to w show through
    T = w[AN:].reshape(N, N)
    y = obj.y
    B = obj.batch.lengths.size
    rows = SequenceRows(obj)
    rng = np.random.default_rng(0)
    u = 1
    reason = "maximum number of iterations"
    theta = np.zeros(obj.K)
    for epoch in range(1, max_iterations + 1):
        t0 = time.perf_counter()
        loss = 0.0
        for s in rng.permutation(B).tolist():
            q = rows.seqs[s]
            r0, r1, cols, vals, tok_rows = q.r0, q.r1, q.cols, q.vals, q.tok_rows
            n = r1 - r0
            if n == 0:
                u += 1
                continue
            E = rows.scores(s, W)
            path, best = ops.viterbi(E, T, n_threads=1)
            gold = y[r0:r1]
            diff = path != gold
            d = int(diff.sum())
            if d:
                gold_score = float(E[np.arange(n), gold].sum() + T[gold[:-1], gold[1:]].sum())
                # the difference of the feature vectors of the gold and the predicted path;
                # state features of tokens where both agree cancel out
                sel = diff[tok_rows]
                a, v = cols[sel], vals[sel]
                tr = tok_rows[sel]
                keys = np.concatenate([a * N + gold[tr], a * N + path[tr],
                                       AN + gold[:-1] * N + gold[1:],
                                       AN + path[:-1] * N + path[1:]])
                sv = np.concatenate([v, -v, np.ones(n - 1), -np.ones(n - 1)])
                ok = exists[keys]
                idx, inv = np.unique(keys[ok], return_inverse=True)
                delta = np.bincount(inv, weights=sv[ok], minlength=idx.size)
                keep = delta != 0
                idx, delta = idx[keep], delta[keep]
                loss += step(d, float(best) - gold_score, delta, idx, w, aux, u)
            u += 1
        if averaging:
            wa = w - aux / u
        else:
            wa = w
        theta = np.concatenate([wa[obj.s_flat], wa[AN + obj.t_flat]])
        it = {"num": epoch, "scores": {}, "loss": loss,
              "feature_norm": float(np.linalg.norm(w)),
              "time": time.perf_counter() - t0}
        on_epoch(it, wa[:AN].reshape(A, N), wa[AN:].reshape(N, N))
        if loss / max(B, 1) < epsilon:
            reason = "stopping criterion (mean loss below epsilon)"
            break
    return theta, reason
