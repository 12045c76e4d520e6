"""Result types shared by the compiled kernels and the numpy reference."""
from __future__ import annotations

from typing import NamedTuple, Optional, Union

import numpy as np


class Marginals(NamedTuple):
    """Posterior marginals, as :func:`fastseq.marginals` returns them.

    Parameters
    ----------
    node : ndarray, shaped like ``emissions``
        ``P(y_t = j | x)``: each row sums to 1 (zeros past a sequence's end and for
        sequences with no allowed path).
    pair : ndarray of shape (N, N) or (B, N, N), or None
        Expected transition counts ``sum_t P(y_(t-1) = i, y_t = j | x)``: ``(N, N)`` for
        one sequence, ``(B, N, N)`` for a batch; None unless ``pairwise=True``.
    log_Z : float or ndarray of shape (B,)
        The log-partition of each sequence.

    Examples
    --------
    >>> import numpy as np
    >>> import fastseq
    >>> m = fastseq.marginals(np.zeros((3, 2)), np.zeros((2, 2)))
    >>> m.node.tolist(), m.pair, round(m.log_Z, 4)
    ([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]], None, 2.0794)
    """

    node: np.ndarray
    pair: Optional[np.ndarray]
    log_Z: Union[float, np.ndarray]


class CRFGrad(NamedTuple):
    """Gradients of the (reduced) CRF negative log-likelihood, as :func:`fastseq.crf_nll`
    returns them.

    Parameters
    ----------
    emissions : ndarray, shaped like ``emissions``
        With respect to the emission scores (zeros past each end).
    transitions : ndarray of shape (N, N)
        With respect to the transition scores.
    start : ndarray of shape (N,)
        With respect to the start scores.
    end : ndarray of shape (N,)
        With respect to the end scores.

    Examples
    --------
    >>> import numpy as np
    >>> import fastseq
    >>> _, grad = fastseq.crf_nll(np.zeros((3, 2)), np.zeros((2, 2)), [0, 1, 1])
    >>> grad.start.tolist(), grad.transitions.tolist()
    ([-0.5, 0.5], [[0.5, -0.5], [0.5, -0.5]])
    """

    emissions: np.ndarray
    transitions: np.ndarray
    start: np.ndarray
    end: np.ndarray
