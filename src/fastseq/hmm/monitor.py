"""The convergence monitor of EM (hmmlearn's ``ConvergenceMonitor``)."""
from __future__ import annotations

import logging
import sys
from collections import deque

import numpy as np

__all__ = ["ConvergenceMonitor"]

_log = logging.getLogger(__name__)


class ConvergenceMonitor:
    """Track the log-likelihood across EM iterations and decide when to stop.

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
    history : collections.deque
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
    Custom stopping rules: subclass and override :attr:`converged`, then put an instance on
    the model before calling ``fit``.

    >>> from fastseq.hmm import ConvergenceMonitor
    >>> from fastseq.hmm import GaussianHMM
    >>> class StopAbove(ConvergenceMonitor):
    ...     @property
    ...     def converged(self):
    ...         return self.iter == self.n_iter or self.history[-1] >= -100.0
    >>> model = GaussianHMM(n_components=2, n_iter=50)
    >>> model.monitor_ = StopAbove(model.tol, model.n_iter, model.verbose)
    """

    _line = "{iter:>10d} {log_prob:>16.8f} {delta:>+16.8f}"

    def __init__(self, tol, n_iter, verbose):
        self.tol = tol
        self.n_iter = n_iter
        self.verbose = verbose
        self.history = deque()
        self.iter = 0

    def __repr__(self):
        fields = dict(vars(self), history=list(self.history))
        body = "".join(f"    {k}={v!r},\n" for k, v in sorted(fields.items()))
        return f"{type(self).__name__}(\n{body})"

    def _reset(self):
        """Forget the history (called at the start of every ``fit``)."""
        self.iter = 0
        self.history.clear()

    def report(self, log_prob):
        """Record the log-likelihood of one iteration (and print it when verbose).

        Parameters
        ----------
        log_prob : float
            Log-likelihood of the training data at this iteration.
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
    def converged(self):
        """Whether EM should stop: ``n_iter`` reached or gain below ``tol``."""
        return (self.iter == self.n_iter
                or (len(self.history) >= 2 and self.history[-1] - self.history[-2] < self.tol))
