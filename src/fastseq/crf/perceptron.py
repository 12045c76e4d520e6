"""CRFsuite's averaged perceptron (``algorithm="ap"``)."""
from __future__ import annotations

import time
from typing import Callable, Tuple

import numpy as np

from .. import ops
from .objective import Objective, SequenceRows

__all__ = ["averaged_perceptron"]


def averaged_perceptron(obj: Objective, *, max_iterations: int, epsilon: float,
                        on_epoch: Callable[[dict, np.ndarray, np.ndarray], None]
                        ) -> Tuple[np.ndarray, str]:
    """Train by CRFsuite's averaged perceptron.

    Sequences are visited one at a time in a shuffled order (a fixed seed); each is decoded
    by Viterbi with the current weights and, where the prediction differs from the gold
    labels ``obj.y``, the features of the gold path get ``+1`` and those of the predicted path
    ``-1`` (times the attribute values for state features). The weights returned are the
    averages over all updates. Training stops after ``max_iterations`` epochs or when the
    mean fraction of wrongly labelled tokens per sequence drops below ``epsilon``.

    Parameters
    ----------
    obj : Objective
        The training data and the feature set (only the data and the features are used).
    max_iterations : int
        The maximum number of epochs.
    epsilon : float
        Stop when the mean per-sequence error rate of an epoch is below it.
    on_epoch : callable
        ``on_epoch(record, W, T)``, called after every epoch with its record (``num``,
        ``loss`` -- the sum over sequences of the fraction of wrongly labelled tokens --,
        ``feature_norm``, ``time``, ``scores``) and the averaged state weights ``W``
        (``(A, N)``, internal attribute numbering) and transition weights ``T``
        (``(N, N)``).

    Returns
    -------
    theta : ndarray of float64, shape (K,)
        The averaged weights: state weights then transition weights, in feature order.
    reason : str
        Why training stopped.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf.items import encode_items
    >>> from fastseq.crf.objective import Objective, feature_set
    >>> from fastseq.crf.perceptron import averaged_perceptron
    >>> batch, _ = encode_items([[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]],
    ...                         "X", None, fit=True)
    >>> y = np.array([0, 1, 0, 1])
    >>> feats = feature_set(batch, y, 2, min_freq=0.0, all_possible_states=False,
    ...                     all_possible_transitions=False)
    >>> obj = Objective(batch, y, 2, *feats, n_threads=1, pool=None)
    >>> losses = []
    >>> theta, reason = averaged_perceptron(
    ...     obj, max_iterations=5, epsilon=0.0,
    ...     on_epoch=lambda rec, W, T: losses.append(rec["loss"]))
    >>> theta.round(4).tolist(), reason, losses
    ([0.0, 0.9091, 0.0, 0.0, 0.9091], 'maximum number of iterations', [0.5, 0.0, 0.0, 0.0, 0.0])
    """
    N, A = obj.N, obj.A
    mask = np.zeros((A, N), dtype=bool)
    mask.ravel()[obj.s_flat] = True
    tmask = np.zeros((N, N), dtype=bool)
    tmask.ravel()[obj.t_flat] = True
    W = np.zeros((A, N))
    Ws = np.zeros((A, N))
    T = np.zeros((N, N))
    Ts = np.zeros((N, N))
    y = obj.y
    B = obj.batch.lengths.size
    rows = SequenceRows(obj)
    rng = np.random.default_rng(0)
    c = 1
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
                c += 1
                continue
            E = rows.scores(s, W)
            path, _ = ops.viterbi(E, T, n_threads=1)
            gold = y[r0:r1]
            diff = path != gold
            d = int(diff.sum())
            if d:
                # features of tokens where gold and prediction agree cancel out
                sel = diff[tok_rows]
                a = cols[sel]
                v = vals[sel]
                tr = tok_rows[sel]
                for lab_arr, sign in ((gold, 1.0), (path, -1.0)):
                    labs = lab_arr[tr]
                    ok = mask[a, labs]
                    np.add.at(W, (a[ok], labs[ok]), sign * v[ok])
                    np.add.at(Ws, (a[ok], labs[ok]), (sign * c) * v[ok])
                    if n > 1:
                        fr, to = lab_arr[:-1], lab_arr[1:]
                        okt = tmask[fr, to]
                        np.add.at(T, (fr[okt], to[okt]), sign)
                        np.add.at(Ts, (fr[okt], to[okt]), sign * c)
                loss += d / n
            c += 1
        Wa = W - Ws / c
        Ta = T - Ts / c
        theta = np.concatenate([Wa.ravel()[obj.s_flat], Ta.ravel()[obj.t_flat]])
        it = {"num": epoch, "scores": {}, "loss": loss,
              "feature_norm": float(np.linalg.norm(theta)),
              "time": time.perf_counter() - t0}
        on_epoch(it, Wa, Ta)
        if loss / max(B, 1) < epsilon:
            reason = "stopping criterion (error rate below epsilon)"
            break
    return theta, reason
