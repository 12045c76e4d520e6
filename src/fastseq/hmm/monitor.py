"""The convergence monitor of EM (hmmlearn's ``ConvergenceMonitor``)."""
from __future__ import annotations

import logging
import sys
from collections import deque
from typing import Deque

import numpy as np

__all__ = ["ConvergenceMonitor"]

_log = logging.getLogger(__name__)


class ConvergenceMonitor:
    """Track the log-likelihood across EM iterations and decide when to stop.

    A model creates one as its ``monitor_``; ``fit`` copies the model's ``tol``,
    ``n_iter`` and ``verbose`` onto it and clears its history before iterating.

    Parameters
    ----------
    tol : float
        EM stops when the log-likelihood gains less than ``tol`` from one iteration to the
        next (a decrease counts as converged too).
    n_iter : int
        EM stops after ``n_iter`` iterations.
    verbose : bool
        Print one line per iteration (iteration, log-likelihood, change) to
        :data:`sys.stderr`.

    Attributes
    ----------
    history : collections.deque of float
        Log-likelihood of the training data at every iteration so far, computed with the
        parameters *before* that iteration's M-step.
    iter : int
        Number of iterations performed.

    Notes
    -----
    A decrease of the log-likelihood by more than ``sqrt(machine epsilon)`` is reported
    through the ``fastseq.hmm`` logger (``logging.WARNING``), as hmmlearn does. With
    priors (MAP estimation) EM increases the log *posterior*, so a tiny decrease of the
    likelihood alone is possible then.

    Examples
    --------
    After ``fit``, the monitor tells how EM went:

    >>> import numpy as np
    >>> from fastseq.hmm import CategoricalHMM, ConvergenceMonitor
    >>> X = np.random.RandomState(0).randint(0, 3, size=(300, 1))
    >>> model = CategoricalHMM(n_components=2, n_iter=100, random_state=0).fit(X)
    >>> model.monitor_.converged, model.monitor_.iter < 100
    (True, True)
    >>> len(model.monitor_.history) == model.monitor_.iter
    True

    Custom stopping rules: subclass and override :attr:`converged`, then put an instance on
    the model before calling ``fit``.

    >>> class StopAfterThree(ConvergenceMonitor):
    ...     @property
    ...     def converged(self):
    ...         return self.iter >= 3
    >>> model = CategoricalHMM(n_components=2, n_iter=100, random_state=0)
    >>> model.monitor_ = StopAfterThree(model.tol, model.n_iter, model.verbose)
    >>> model.fit(X).monitor_.iter
    3
    """

    _line = "{iter:>10d} {log_prob:>16.8f} {delta:>+16.8f}"

    def __init__(self, tol: float, n_iter: int, verbose: bool) -> None:
        self.tol = tol
        self.n_iter = n_iter
        self.verbose = verbose
        self.history: Deque[float] = deque()
        self.iter = 0

    def __repr__(self) -> str:
        fields = dict(vars(self), history=list(self.history))
        body = "".join(f"    {k}={v!r},\n" for k, v in sorted(fields.items()))
        return f"{type(self).__name__}(\n{body})"

    def _reset(self):
        """Forget the history (called at the start of every ``fit``)."""
        self.iter = 0
        self.history.clear()

    def report(self, log_prob: float) -> None:
        """Record the log-likelihood of one iteration (and print it when verbose).

        ``fit`` calls it once per iteration. A decrease larger than
        ``sqrt(machine epsilon)`` is logged as a warning.

        Parameters
        ----------
        log_prob : float
            Log-likelihood of the training data at this iteration.

        Examples
        --------
        >>> from fastseq.hmm import ConvergenceMonitor
        >>> monitor = ConvergenceMonitor(tol=0.5, n_iter=10, verbose=False)
        >>> monitor.report(-120.0)
        >>> monitor.report(-110.0)
        >>> monitor.iter, list(monitor.history)
        (2, [-120.0, -110.0])
        """
        delta = log_prob - self.history[-1] if self.history else np.nan
        if self.verbose:
            print(self._line.format(iter=self.iter + 1, log_prob=log_prob, delta=delta),
                  file=sys.stderr)
        if self.history and delta < -np.sqrt(np.finfo(float).eps):
            _log.warning("Model is not converging: log-likelihood %r at iteration %d is "
                         "lower than %r at the previous one (delta %r)",
                         log_prob, self.iter + 1, self.history[-1], delta)
        self.history.append(log_prob)
        self.iter += 1

    @property
    def converged(self) -> bool:
        """Whether EM should stop: ``n_iter`` reached or gain below ``tol``.

        Returns
        -------
        bool
            True once ``iter == n_iter``, or when the last iteration gained less than
            ``tol`` (a decrease included).

        Examples
        --------
        >>> from fastseq.hmm import ConvergenceMonitor
        >>> monitor = ConvergenceMonitor(tol=0.5, n_iter=10, verbose=False)
        >>> monitor.report(-120.0)
        >>> monitor.report(-110.0)
        >>> monitor.converged
        False
        >>> monitor.report(-109.8)
        >>> monitor.converged
        True
        """
        return (self.iter == self.n_iter
                or (len(self.history) >= 2 and self.history[-1] - self.history[-2] < self.tol))
