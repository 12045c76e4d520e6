"""CRFsuite's stochastic gradient descent with L2 regularisation (``algorithm="l2sgd"``)."""
from __future__ import annotations

import math
import time
from typing import Callable, Optional, Tuple

import numpy as np

from . import _epochs
from .objective import EpochData, Objective

__all__ = ["l2sgd"]


def _run(data: EpochData, w: np.ndarray, order: np.ndarray, t0: float, lam: float,
         n_norm: int, num_epochs: int, period: int, delta: float, calibration: bool,
         shuffle: Optional[Callable[[], np.ndarray]],
         on_epoch: Optional[Callable[[dict, np.ndarray], None]]
         ) -> Tuple[float, str]:
    """CRFsuite's SGD loop from zero weights; leaves the best epoch's weights in ``w`` (the
    flat state then transition weights)."""
    w.fill(0.0)
    t = 0.0
    decay = 1.0
    best = math.inf
    best_w: Optional[np.ndarray] = None
    past = np.zeros(max(period, 1))
    reason = "maximum number of iterations"
    sum_loss = 0.0
    for epoch in range(1, num_epochs + 1):
        clock = time.perf_counter()
        if not calibration and shuffle is not None:
            order = shuffle()
        sum_loss, loss, decay, t = _epochs.sgd_epoch(order, w, lam, t0, t, decay, True,
                                                     *data.arrays, simd=data.simd)
        if not math.isfinite(loss):
            return loss, "overflow loss"
        eta = 1.0 / (lam * (t0 + t - 1.0))  # the last step's learning rate
        # the lazy L2 decay is applied to the stored weights once per epoch
        w *= decay
        decay = 1.0
        norm2 = float(w @ w)
        sum_loss += 0.5 * lam * norm2 * n_norm
        if calibration:
            continue
        if sum_loss < best:
            best = sum_loss
            best_w = w.copy()
        improvement = ((past[(epoch - 1) % period] - sum_loss) / sum_loss
                       if period < epoch else delta)
        past[(epoch - 1) % period] = sum_loss
        if on_epoch is not None:
            on_epoch({"num": epoch, "scores": {}, "loss": sum_loss,
                      "feature_norm": math.sqrt(norm2), "learning_rate": eta,
                      "time": time.perf_counter() - clock}, data.theta(w))
        if improvement < delta:
            reason = "stopping criterion (improvement below delta)"
            break
    if best_w is not None:
        w[...] = best_w
        sum_loss = best
    return sum_loss, reason


def l2sgd(obj: Objective, *, c2: float = 1.0, max_iterations: int = 1000, period: int = 10,
          delta: float = 1e-6, calibration_eta: float = 0.1, calibration_rate: float = 2.0,
          calibration_samples: float = 1000.0, calibration_candidates: int = 10,
          calibration_max_trials: int = 20, seed: int = 0,
          on_epoch: Optional[Callable[[dict, np.ndarray], None]] = None
          ) -> Tuple[np.ndarray, str]:
    """Train by CRFsuite's stochastic gradient descent with L2 regularisation.

    Minimises ``sum over sequences of -log P(y | x) + c2 ||w||^2`` one sequence at a time
    (Pegasos-style steps ``eta = 1 / (lambda (t0 + t))`` with ``lambda = 2 c2 / N``). The L2
    decay is kept as one scale factor, so a step costs time proportional to the sequence's
    features. The initial ``t0`` comes from CRFsuite's calibration: one epoch on the first
    ``calibration_samples`` sequences for each candidate learning rate, multiplying it by
    ``calibration_rate`` while the loss falls below the initial loss, then dividing. Sequences
    are shuffled every epoch (a generator seeded with ``seed``); training stops after
    ``max_iterations`` epochs or when the objective improved by less than ``delta``
    (relative) over the last ``period`` epochs, and returns the best epoch's weights.

    Parameters
    ----------
    obj : Objective
        The training data and the feature set (only the data and the features are used).
    c2 : float, default 1
        The L2 coefficient (> 0).
    max_iterations : int, default 1000
        The maximum number of epochs.
    period : int, default 10
        Epochs over which the stopping criterion is tested.
    delta : float, default 1e-6
        Stop when the relative improvement over ``period`` epochs is below it.
    calibration_eta : float, default 0.1
        The first candidate learning rate.
    calibration_rate : float, default 2
        The factor between candidate learning rates.
    calibration_samples : float, default 1000
        The number of sequences used for calibration.
    calibration_candidates : int, default 10
        The number of learning rates that must lower the loss in each direction.
    calibration_max_trials : int, default 20
        The maximum number of learning rates tried.
    seed : int, default 0
        Seed of the shuffling.
    on_epoch : callable, optional
        ``on_epoch(record, theta)``, called after every epoch with its record (``num``,
        ``loss`` -- the objective --, ``feature_norm``, ``learning_rate``, ``time``,
        ``scores``) and the weights ``theta`` at the end of the epoch (state then transition
        weights, in feature order).

    Returns
    -------
    theta : ndarray of float64, shape (K,)
        State weights then transition weights, in feature order.
    reason : str
        Why training stopped.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf.items import encode_items
    >>> from fastseq.crf.objective import Objective, feature_set
    >>> from fastseq.crf.sgd import l2sgd
    >>> batch, _ = encode_items([[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]],
    ...                         "X", None, fit=True)
    >>> y = np.array([0, 1, 0, 1])
    >>> feats = feature_set(batch, y, 2, min_freq=0.0, all_possible_states=False,
    ...                     all_possible_transitions=False)
    >>> obj = Objective(batch, y, 2, *feats, n_threads=1, pool=None)
    >>> theta, reason = l2sgd(obj, c2=0.1, max_iterations=50)
    >>> bool(theta[1] > 0), bool(theta[4] > 0), theta.shape
    (True, True, (5,))
    """
    B = obj.batch.lengths.size
    if B == 0:
        return np.zeros(obj.K), "no training data"
    data = EpochData(obj)
    w = np.zeros(data.size)
    lam = 2.0 * c2 / B
    rng = np.random.default_rng(seed)

    # calibration: one pass over a fixed shuffled sample per candidate learning rate
    sample = rng.permutation(B)[:int(min(B, calibration_samples))]
    init_loss = _epochs.sgd_epoch(sample, w, lam, 0.0, 0.0, 1.0, False, *data.arrays,
                                  simd=data.simd)[0]
    eta = best_eta = calibration_eta
    best_loss = math.inf
    num, dec, trials = calibration_candidates, False, 1
    while num > 0 or not dec:
        loss, _ = _run(data, w, sample, 1.0 / (lam * eta), lam, sample.size, 1, 1, 0.0, True,
                       None, None)
        ok = math.isfinite(loss) and loss < init_loss
        if ok:
            num -= 1
        if math.isfinite(loss) and loss < best_loss:
            best_loss, best_eta = loss, eta
        if not dec:
            if ok and num > 0:
                eta *= calibration_rate
            else:
                dec, num = True, calibration_candidates
                eta = calibration_eta / calibration_rate
        else:
            eta /= calibration_rate
        trials += 1
        if calibration_max_trials <= trials:
            break

    def shuffle() -> np.ndarray:
        return rng.permutation(B)

    _, reason = _run(data, w, sample, 1.0 / (lam * best_eta), lam, B, max_iterations, period,
                     delta, False, shuffle, on_epoch)
    return data.theta(w), reason
