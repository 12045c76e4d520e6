"""Result types shared by the compiled kernels and the numpy reference."""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np


class Marginals(NamedTuple):
    """Posterior marginals.

    node : like ``emissions`` -- ``P(y_t = j | x)``; rows sum to 1 (zeros past a sequence's
        end and for sequences with no allowed path).
    pair : ``(N, N)`` for one sequence, ``(B, N, N)`` for a batch, or ``None`` -- expected
        transition counts ``sum_t P(y_{t-1} = i, y_t = j | x)``.
    log_Z : float for one sequence, ``(B,)`` for a batch.
    """

    node: np.ndarray
    pair: Optional[np.ndarray]
    log_Z: "float | np.ndarray"


class CRFGrad(NamedTuple):
    """Gradients of the (reduced) CRF negative log-likelihood.

    emissions : like ``emissions``; transitions ``(N, N)``; start ``(N,)``; end ``(N,)``.
    """

    emissions: np.ndarray
    transitions: np.ndarray
    start: np.ndarray
    end: np.ndarray
