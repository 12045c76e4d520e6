"""The steps of Baum-Welch and of supervised counting on sequences held in parts (the
partitions of :mod:`fastseq.dask`): every part computes the E-step statistics (or the
counts) of its sequences with the model's batched kernels, :func:`add_stats` adds them in the
order given, and the M-step and the convergence monitor run once on the sums, as
:meth:`BaseHMM.fit` runs them on the statistics of all the data.

Only :class:`~fastseq.hmm.CategoricalHMM` and :class:`~fastseq.hmm.GaussianHMM` are
supported: their statistics are sums over samples (a Gaussian part is centred on the mean
of all the data, :attr:`Summary.shift`, so its sums add up with the others').
"""
from __future__ import annotations

from typing import Any, Dict, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from ._util import check_lengths
from .base import BaseHMM
from .categorical import CategoricalHMM
from .gaussian import GaussianHMM

__all__ = ["check_lengths", "SUPPORTED", "Summary", "HMMPart", "summarise", "add_summaries",
           "add_stats", "start_fit", "mstep", "start_supervised", "supervised_mstep"]

#: the model classes a fit on parts supports
SUPPORTED = (CategoricalHMM, GaussianHMM)

#: ``(stats, log_likelihood)`` of a part, or None for a part without samples
PartStats = Optional[Tuple[Dict[str, Any], float]]


class Summary(NamedTuple):
    """What a fit needs to know of all the data before its first iteration.

    Attributes
    ----------
    n_samples : int
        The samples of all the parts.
    max_symbol : int or None
        The largest symbol (CategoricalHMM), else None.
    sums : ndarray of float64 or None
        The sum of the samples (GaussianHMM), else None.
    first : int
        The index of the first part with samples (-1 if none has).
    """

    n_samples: int
    max_symbol: Optional[int]
    sums: Optional[np.ndarray]
    first: int

    @property
    def shift(self) -> Optional[np.ndarray]:
        """The mean of all the samples (GaussianHMM), else None."""
        return None if self.sums is None or self.n_samples == 0 else self.sums / self.n_samples


def _check_supported(model: BaseHMM) -> None:
    if type(model) not in SUPPORTED:
        raise TypeError(f"a fit on partitioned data supports "
                        f"{', '.join(c.__name__ for c in SUPPORTED)}, got "
                        f"{type(model).__name__}")


class HMMPart:
    """A part of the data: its samples, sequence lengths and, for supervised counting, its
    states; it keeps its E-step input (one-hot symbols, centred samples) between
    iterations.

    Parameters
    ----------
    X : array-like, shape (n_samples, n_features)
        The samples of the part's sequences, concatenated (may be empty).
    lengths : array-like of int, optional
        The lengths of its sequences (default: one sequence).
    states : array-like of int, shape (n_samples,), optional
        The hidden state of every sample (supervised counting).

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.hmm import CategoricalHMM
    >>> from fastseq.hmm._partitions import HMMPart
    >>> model = CategoricalHMM(2, n_features=3, init_params="")
    >>> model.startprob_, model.transmat_ = np.array([0.5, 0.5]), np.full((2, 2), 0.5)
    >>> model.emissionprob_ = np.full((2, 3), 1 / 3)
    >>> stats, log_prob = HMMPart([[0], [1], [2]], [3]).estep(model, None)
    >>> round(log_prob, 4), stats["nobs"]
    (-3.2958, 1)
    """

    def __init__(self, X: Any, lengths: Any = None, states: Any = None) -> None:
        self.X = np.asarray(X)
        n = self.X.shape[0] if self.X.ndim else 0
        self.lengths = check_lengths(lengths, n) if n else np.zeros(0, dtype=np.int64)
        self.states = None if states is None else np.asarray(states)
        self.n_samples = n
        self._prep: Any = None
        self._prep_key: Any = None

    def _validated(self, model: BaseHMM) -> np.ndarray:
        return model._validate_X(self.X, fitting=False)

    def summary(self, model: BaseHMM, index: int) -> Summary:
        """This part's :class:`Summary` (``index``: its position among the parts); checks
        the samples against ``model``.

        Parameters
        ----------
        model : CategoricalHMM or GaussianHMM
            The model (its ``n_features``, if set, is checked).
        index : int
            The part's position.

        Returns
        -------
        Summary
        """
        _check_supported(model)
        if self.n_samples == 0:
            return Summary(0, None, None, -1)
        X = model._validate_X(self.X, fitting=True)
        if self.states is not None:
            model._check_states(self.states, X.shape[0])
        if isinstance(model, CategoricalHMM):
            return Summary(X.shape[0], int(X.max()), None, index)
        return Summary(X.shape[0], None, X.sum(axis=0), index)

    def _prepared(self, model: BaseHMM, shift: Optional[np.ndarray]) -> Any:
        key = (type(model).__name__, getattr(model, "covariance_type", None), model.params,
               model.n_features, None if shift is None else shift.tobytes())
        if self._prep_key != key:
            X = self._validated(model)
            if isinstance(model, GaussianHMM):
                self._prep = model._center(X, for_stats=True, shift=shift)
            else:
                self._prep = model._fit_prepare(X)
            self._prep_key = key
        return self._prep

    def estep(self, model: BaseHMM, shift: Optional[np.ndarray]) -> PartStats:
        """The E-step statistics and the log-likelihood of this part under ``model``.

        Parameters
        ----------
        model : CategoricalHMM or GaussianHMM
            The current model.
        shift : ndarray or None
            :attr:`Summary.shift` of all the data.

        Returns
        -------
        (dict, float) or None
            None for a part without samples.
        """
        if self.n_samples == 0:
            return None
        return model._do_estep(self._prepared(model, shift), self.lengths)

    def supervised_stats(self, model: BaseHMM, shift: Optional[np.ndarray]) -> PartStats:
        """The counts :meth:`BaseHMM.fit_supervised` takes of this part's states.

        Parameters
        ----------
        model : CategoricalHMM or GaussianHMM
            The model.
        shift : ndarray or None
            :attr:`Summary.shift` of all the data.

        Returns
        -------
        (dict, float) or None
            The counts and 0.0; None for a part without samples.
        """
        if self.n_samples == 0:
            return None
        X = self._validated(model)
        states = model._check_states(self.states, X.shape[0])
        if isinstance(model, GaussianHMM):
            prep = model._center(X, for_stats=True, shift=shift)
            stats = model._supervised_stats(prep, states, self.lengths)
            stats["shift"] = prep["shift"]
        else:
            stats = model._supervised_stats(model._fit_prepare(X), states, self.lengths)
        return stats, 0.0


def summarise(part: HMMPart, model: BaseHMM, index: int) -> Summary:
    """:meth:`HMMPart.summary` as a function (for a map over parts).

    Parameters
    ----------
    part : HMMPart
        The part.
    model : CategoricalHMM or GaussianHMM
        The model.
    index : int
        The part's position.

    Returns
    -------
    Summary
    """
    return part.summary(model, index)


def add_summaries(parts: Sequence[Summary]) -> Summary:
    """The summary of consecutive parts, from theirs (in order).

    Parameters
    ----------
    parts : sequence of Summary
        At least one.

    Returns
    -------
    Summary

    Examples
    --------
    >>> from fastseq.hmm._partitions import Summary, add_summaries
    >>> add_summaries([Summary(0, None, None, -1), Summary(5, 3, None, 1),
    ...                Summary(2, 7, None, 2)])
    Summary(n_samples=7, max_symbol=7, sums=None, first=1)
    """
    n, mx, sums, first = 0, None, None, -1
    for p in parts:
        if p.n_samples == 0:
            continue
        n += p.n_samples
        if p.max_symbol is not None:
            mx = p.max_symbol if mx is None else max(mx, p.max_symbol)
        if p.sums is not None:
            sums = np.array(p.sums, dtype=np.float64) if sums is None else sums + p.sums
        if first < 0:
            first = p.first
    return Summary(n, mx, sums, first)


def add_stats(parts: Sequence[PartStats]) -> PartStats:
    """The sum of parts' statistics and log-likelihoods, added in the order given.

    Parameters
    ----------
    parts : sequence of (dict, float) or None
        Per part its statistics (None: a part without samples).

    Returns
    -------
    (dict, float) or None
        ``"nobs"`` and the arrays added up, ``"shift"`` kept (the same in every part).

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.hmm._partitions import add_stats
    >>> stats, ll = add_stats([({"nobs": 1, "start": np.ones(2)}, -1.5), None,
    ...                        ({"nobs": 2, "start": np.ones(2)}, -2.0)])
    >>> stats["nobs"], stats["start"].tolist(), ll
    (3, [2.0, 2.0], -3.5)
    """
    total: Optional[Dict[str, Any]] = None
    log_prob = 0.0
    for p in parts:
        if p is None:
            continue
        stats, lp = p
        log_prob += lp
        if total is None:  # copies: the inputs stay as they are
            total = {k: (v if k == "shift" else np.array(v) if isinstance(v, np.ndarray)
                         else v) for k, v in stats.items()}
            continue
        for k, v in stats.items():
            if k != "shift":
                total[k] = total[k] + v
    return None if total is None else (total, log_prob)


def _check_data(summary: Summary) -> None:
    if summary.n_samples == 0:
        raise ValueError("`X` must contain at least one sample, got 0")


def start_fit(model: BaseHMM, X_init: Any, lengths_init: Any, summary: Summary) -> None:
    """Prepare ``model`` for Baum-Welch on all the parts, as :meth:`BaseHMM.fit` does
    before its first iteration: check its parameters, set ``n_features`` from all the
    data, initialise what ``init_params`` names (the parameters drawn from data, e.g.
    GaussianHMM's k-means means, from ``X_init``) and reset the monitor.

    Parameters
    ----------
    model : CategoricalHMM or GaussianHMM
        The model.
    X_init, lengths_init : array-like
        The samples (and their lengths) initialisation draws on: one part of the data.
    summary : Summary
        Of all the data.
    """
    _check_supported(model)
    model._validate_params()
    _check_data(summary)
    X0 = np.asarray(X_init)
    if isinstance(model, CategoricalHMM):
        # n_features as a fit on all the data sets it: from the largest symbol of all parts
        symbols = np.asarray(X0).reshape(-1)
        top = int(summary.max_symbol or 0)
        model._validate_X(np.append(symbols, top).astype(np.int64)[:, None], fitting=True)
        X0 = model._validate_X(X0, fitting=False)
    else:
        X0 = model._validate_X(X0, fitting=True)
    model._init(X0, check_lengths(lengths_init, X0.shape[0]))
    model._check()
    monitor = model.monitor_
    monitor.tol, monitor.n_iter, monitor.verbose = model.tol, model.n_iter, model.verbose
    monitor._reset()


def mstep(model: BaseHMM, stats: PartStats) -> bool:
    """The M-step of Baum-Welch on the statistics of all the parts, and the report of
    their log-likelihood to the monitor.

    Parameters
    ----------
    model : CategoricalHMM or GaussianHMM
        The model; its parameters are updated.
    stats : (dict, float)
        From :func:`add_stats` over all the parts.

    Returns
    -------
    bool
        Whether EM has converged (``model.monitor_.converged``).
    """
    if stats is None:
        raise ValueError("`X` must contain at least one sample, got 0")
    model._do_mstep(stats[0])
    model.monitor_.report(stats[1])
    return bool(model.monitor_.converged)


def start_supervised(model: BaseHMM, summary: Summary) -> None:
    """Check ``model`` for supervised counting on all the parts and set its
    ``n_features``, as :meth:`BaseHMM.fit_supervised` does.

    Parameters
    ----------
    model : CategoricalHMM or GaussianHMM
        The model.
    summary : Summary
        Of all the data.
    """
    _check_supported(model)
    model._validate_params()
    _check_data(summary)
    if isinstance(model, CategoricalHMM):
        model._validate_X(np.array([[summary.max_symbol]]), fitting=True)
    elif summary.sums is not None:
        model._validate_X(np.zeros((1, summary.sums.size)), fitting=True)
    model._check_supervised_fixed()


def supervised_mstep(model: BaseHMM, stats: PartStats) -> None:
    """Set the parameters of ``model`` from the counts of all the parts, as
    :meth:`BaseHMM.fit_supervised` does.

    Parameters
    ----------
    model : CategoricalHMM or GaussianHMM
        The model.
    stats : (dict, float)
        From :func:`add_stats` over all the parts.
    """
    if stats is None:
        raise ValueError("`X` must contain at least one sample, got 0")
    model._do_mstep(stats[0], supervised=True)
    model._check()
