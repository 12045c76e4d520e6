"""CRFsuite's online learners: the averaged perceptron (``"ap"``), passive-aggressive
(``"pa"``) and AROW (``"arow"``).

Each visits the sequences one at a time, in a shuffled order (a fixed seed), and updates
the weights after every mistake; an epoch runs in compiled code (:mod:`fastseq.crf._epochs`).
"""
from __future__ import annotations

import time
from typing import Callable, Tuple

import numpy as np

from . import _epochs
from .objective import EpochData, Objective

__all__ = ["averaged_perceptron", "passive_aggressive", "arow"]

_OnEpoch = Callable[[dict, np.ndarray], None]


def averaged_perceptron(obj: Objective, *, max_iterations: int, epsilon: float,
                        on_epoch: _OnEpoch
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
        ``on_epoch(record, theta)``, called after every epoch with its record (``num``,
        ``loss`` -- the sum over sequences of the fraction of wrongly labelled tokens --,
        ``feature_norm``, ``time``, ``scores``) and the averaged weights ``theta`` (as
        returned).

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
    >>> from fastseq.crf.online import averaged_perceptron
    >>> batch, _ = encode_items([[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]],
    ...                         "X", None, fit=True)
    >>> y = np.array([0, 1, 0, 1])
    >>> feats = feature_set(batch, y, 2, min_freq=0.0, all_possible_states=False,
    ...                     all_possible_transitions=False)
    >>> obj = Objective(batch, y, 2, *feats, n_threads=1, pool=None)
    >>> losses = []
    >>> theta, reason = averaged_perceptron(
    ...     obj, max_iterations=5, epsilon=0.0,
    ...     on_epoch=lambda rec, theta: losses.append(rec["loss"]))
    >>> theta.round(4).tolist(), reason, losses
    ([0.0, 0.9091, 0.0, 0.0, 0.9091], 'maximum number of iterations', [0.5, 0.0, 0.0, 0.0, 0.0])
    """
    return _online(obj, "ap", True, max_iterations, epsilon, on_epoch, 0.0,
                   "stopping criterion (error rate below epsilon)")


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
        ``on_epoch(record, theta)``, called after every epoch with its record (``num``,
        ``loss`` -- the sum of the costs --, ``feature_norm`` -- of the last weights --,
        ``time``, ``scores``) and the weights ``theta`` as they would be returned.

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
    ...     epsilon=0.0, on_epoch=lambda rec, theta: losses.append(rec["loss"]))
    >>> len(theta), reason, losses[-1]
    (5, 'maximum number of iterations', 0.0)
    """
    return _online(obj, "pa", averaging, max_iterations, epsilon, on_epoch, 0.0,
                   "stopping criterion (mean loss below epsilon)",
                   pa_type=pa_type, c=c, error_sensitive=error_sensitive)


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
        ``on_epoch(record, theta)``, called after every epoch with its record (``num``,
        ``loss`` -- the sum of the costs --, ``feature_norm``, ``time``, ``scores``) and the
        weights ``theta`` (as returned).

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
    ...                      on_epoch=lambda rec, theta: losses.append(rec["loss"]))
    >>> len(theta), reason, losses[-1]
    (5, 'maximum number of iterations', 0.0)
    """
    return _online(obj, "arow", False, max_iterations, epsilon, on_epoch, variance,
                   "stopping criterion (mean loss below epsilon)", gamma=gamma)


def _online(obj: Objective, algorithm: str, averaging: bool, max_iterations: int,
            epsilon: float, on_epoch: _OnEpoch, aux0: float, converged: str,
            **params) -> Tuple[np.ndarray, str]:
    """The epochs of an online learner (``_epochs.online_epoch``'s ``algorithm``).

    The weights live in one flat vector ``w`` (:class:`EpochData`'s layout); ``aux`` is its
    companion (the weighted sums for averaging, or the variances).
    """
    data = EpochData(obj)
    w = np.zeros(data.size)
    aux = np.full(data.size, float(aux0))
    B = obj.batch.lengths.size
    rng = np.random.default_rng(0)
    u = 1
    reason = "maximum number of iterations"
    theta = np.zeros(obj.K)
    for epoch in range(1, max_iterations + 1):
        t0 = time.perf_counter()
        loss, u = _epochs.online_epoch(algorithm, rng.permutation(B), w, aux, u, *data.arrays,
                                       simd=data.simd, **params)
        theta = data.theta(w - aux / u if averaging else w)
        it = {"num": epoch, "scores": {}, "loss": loss,
              # the perceptron reports the averaged weights' norm, pa and arow the last ones'
              "feature_norm": float(np.linalg.norm(theta if algorithm == "ap" else w)),
              "time": time.perf_counter() - t0}
        on_epoch(it, theta)
        if loss / max(B, 1) < epsilon:
            reason = converged
            break
    return theta, reason
