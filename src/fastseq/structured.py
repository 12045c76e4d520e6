"""Structured transition matrices: the common sparse patterns, built as sparse log matrices.

Every function returns a ``scipy.sparse.csr_array`` of log-probabilities (or, for
:func:`duration_chain`, such a matrix with the start scores and state map that go with it),
built entry by entry: the dense ``(N, N)`` matrix is never formed. Missing entries are
forbidden moves; pass the matrix as ``transitions`` to any kernel of :mod:`fastseq` (each
step then costs O(nnz) instead of O(N²)) or as an HMM's ``transmat_``'s pattern.

* :func:`left_to_right` -- Bakis models: from state ``i`` to ``i .. i + max_jump``;
* :func:`banded` -- moves of at most ``lower`` states down and ``upper`` states up, with
  weights by distance (a pitch tracker's local transitions), optionally wrapping around;
* :func:`cyclic` -- left-to-right with the last state leading back to the first;
* :func:`duration_chain` -- explicit durations: each state expanded into a chain of
  counting states that stays in it for a duration drawn from a given distribution;
* :func:`log_probabilities`, :func:`probabilities` -- from probabilities to log-scores and
  back, the pattern kept.

Examples
--------
>>> import numpy as np
>>> from fastseq import structured
>>> A = structured.left_to_right(4, max_jump=1, stay=0.9)
>>> structured.probabilities(A).toarray().round(2)
array([[0.9, 0.1, 0. , 0. ],
       [0. , 0.9, 0.1, 0. ],
       [0. , 0. , 0.9, 0.1],
       [0. , 0. , 0. , 1. ]])
"""
from __future__ import annotations

from typing import Any, NamedTuple, Optional, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ._validation import check_bool, check_int, check_real

__all__ = ["left_to_right", "banded", "cyclic", "duration_chain", "DurationChain",
           "log_probabilities", "probabilities"]


def _csr(rows, cols, probs, n, dtype):
    """The csr_array of log(probs) at (rows, cols), rows normalised to sum to 1."""
    import scipy.sparse

    probs = np.asarray(probs, dtype=np.float64)
    totals = np.bincount(rows, weights=probs, minlength=n)
    with np.errstate(divide="ignore"):
        logs = np.log(probs) - np.log(totals[rows])
    order = np.lexsort((cols, rows))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return scipy.sparse.csr_array(
        (logs[order].astype(dtype), np.asarray(cols)[order].astype(np.int32), indptr),
        shape=(n, n))


def _check_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"`dtype` must be float32 or float64, got {dtype}")
    return dtype


def _check_weights(weights, n, name):
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"`{name}` must have {n} entries, got shape {w.shape}")
    if not np.all(np.isfinite(w)) or (w < 0).any() or not (w > 0).any():
        raise ValueError(f"`{name}` must be non-negative and finite, with a positive entry")
    return w


def left_to_right(n_states: int, max_jump: int = 1, *, stay: Optional[float] = None,
                  dtype: Any = np.float64) -> Any:
    """A left-to-right (Bakis) model: state ``i`` moves to ``i, i + 1, ..., i + max_jump``.

    Parameters
    ----------
    n_states : int
        ``N >= 1``.
    max_jump : int, default 1
        The longest move forward (``>= 0``; 0 allows only staying).
    stay : float in [0, 1], optional
        Probability of staying in a state; the rest is split evenly over the forward moves.
        Default: every allowed move equally likely. The last state always stays.
    dtype : float32 or float64
        Of the result's scores.

    Returns
    -------
    scipy.sparse.csr_array of shape (N, N)
        Log-probabilities of the allowed moves, each row summing to 1 in probability.
        About ``N (max_jump + 1)`` entries.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq import structured
    >>> A = structured.left_to_right(3, max_jump=2)
    >>> structured.probabilities(A).toarray().round(3)
    array([[0.333, 0.333, 0.333],
           [0.   , 0.5  , 0.5  ],
           [0.   , 0.   , 1.   ]])
    """
    n = check_int(n_states, "n_states", 1)
    jump = check_int(max_jump, "max_jump", 0)
    stay_p = None if stay is None else check_real(stay, "stay", 0.0, 1.0)
    dtype = _check_dtype(dtype)
    offsets = np.arange(min(jump, n - 1) + 1)
    rows = np.repeat(np.arange(n, dtype=np.int64), offsets.size)
    cols = rows + np.tile(offsets, n)
    keep = cols < n
    rows, cols = rows[keep], cols[keep]
    probs = np.ones(rows.size)
    if stay_p is not None:
        forward_moves = np.bincount(rows, minlength=n) - 1
        is_stay = rows == cols
        last = rows == n - 1
        probs = np.where(is_stay, stay_p,
                         (1 - stay_p) / np.maximum(forward_moves[rows], 1))
        probs[last] = 1.0
        zero = probs == 0  # stay = 0 or 1: those moves are not allowed at all
        rows, cols, probs = rows[~zero], cols[~zero], probs[~zero]
    return _csr(rows, cols, probs, n, dtype)


def banded(n_states: int, lower: int, upper: int, *, weights: Optional[ArrayLike] = None,
           wrap: bool = False, dtype: Any = np.float64) -> Any:
    """Moves of at most ``lower`` states down and ``upper`` states up.

    State ``i`` moves to ``j`` for ``i - lower <= j <= i + upper`` with probability
    proportional to ``weights[j - i + lower]``, each row normalised over the moves that stay
    within ``[0, N)`` (or, with ``wrap=True``, taken modulo ``N``). This is the local
    transition model of pitch trackers (pYIN) and of change-point models with bounded jumps.

    Parameters
    ----------
    n_states : int
        ``N >= 1``.
    lower, upper : int
        The longest move down and up (``>= 0``).
    weights : array-like of shape (lower + upper + 1,), optional
        Non-negative weights by offset, from ``-lower`` to ``upper`` (default: equal). Zero
        weights leave the move out.
    wrap : bool, default False
        Moves past either end come back at the other (a cyclic band); ``lower + upper``
        must then be below ``N``.
    dtype : float32 or float64
        Of the result's scores.

    Returns
    -------
    scipy.sparse.csr_array of shape (N, N)
        Log-probabilities; about ``N (lower + upper + 1)`` entries.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq import structured
    >>> A = structured.banded(4, 1, 1, weights=[1, 2, 1])
    >>> structured.probabilities(A).toarray().round(3)
    array([[0.667, 0.333, 0.   , 0.   ],
           [0.25 , 0.5  , 0.25 , 0.   ],
           [0.   , 0.25 , 0.5  , 0.25 ],
           [0.   , 0.   , 0.333, 0.667]])
    """
    n = check_int(n_states, "n_states", 1)
    lo = check_int(lower, "lower", 0)
    hi = check_int(upper, "upper", 0)
    cyc = check_bool(wrap, "wrap")
    dtype = _check_dtype(dtype)
    w = np.ones(lo + hi + 1) if weights is None else _check_weights(weights, lo + hi + 1,
                                                                     "weights")
    if cyc and lo + hi >= n:
        raise ValueError(f"with `wrap`, `lower` + `upper` must be below n_states = {n}, got "
                         f"{lo + hi}")
    offsets = np.arange(-lo, hi + 1)
    rows = np.repeat(np.arange(n, dtype=np.int64), offsets.size)
    cols = rows + np.tile(offsets, n)
    probs = np.tile(w, n)
    if cyc:
        cols %= n
    else:
        keep = (cols >= 0) & (cols < n)
        rows, cols, probs = rows[keep], cols[keep], probs[keep]
    keep = probs > 0
    rows, cols, probs = rows[keep], cols[keep], probs[keep]
    if not np.all(np.bincount(rows, minlength=n) > 0):
        raise ValueError("`weights` leave a state with no move")
    return _csr(rows, cols, probs, n, dtype)


def cyclic(n_states: int, max_jump: int = 1, *, stay: Optional[float] = None,
           dtype: Any = np.float64) -> Any:
    """A cyclic left-to-right model: :func:`left_to_right` whose moves wrap around, the last
    state leading on to the first (periodic processes: gait cycles, heartbeats).

    Parameters
    ----------
    n_states : int
        ``N >= 1``.
    max_jump : int, default 1
        The longest move forward, ``0 <= max_jump < N``.
    stay : float in [0, 1], optional
        Probability of staying; the rest split evenly over the forward moves (default: all
        allowed moves equally likely).
    dtype : float32 or float64
        Of the result's scores.

    Returns
    -------
    scipy.sparse.csr_array of shape (N, N)
        Log-probabilities; about ``N (max_jump + 1)`` entries.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq import structured
    >>> structured.probabilities(structured.cyclic(3, stay=0.5)).toarray()
    array([[0.5, 0.5, 0. ],
           [0. , 0.5, 0.5],
           [0.5, 0. , 0.5]])
    """
    n = check_int(n_states, "n_states", 1)
    jump = check_int(max_jump, "max_jump", 0, n - 1)
    stay_p = None if stay is None else check_real(stay, "stay", 0.0, 1.0)
    weights = np.ones(jump + 1)
    if stay_p is not None:
        weights[0] = stay_p
        weights[1:] = (1 - stay_p) / max(jump, 1)
        if jump == 0:
            weights[0] = 1.0
    return banded(n, 0, jump, weights=weights, wrap=True, dtype=dtype)


class DurationChain(NamedTuple):
    """An explicit-duration model expanded into counting states, as
    :func:`duration_chain` returns it.

    Parameters
    ----------
    transitions : scipy.sparse.csr_array of shape (M, M)
        Log-probabilities of the moves between the ``M`` counting states.
    start : ndarray of shape (M,)
        Log-probabilities of the first counting state (``-inf`` where none starts).
    state : ndarray of int64, shape (M,)
        The original state each counting state belongs to (map decoded paths with
        ``state[path]``; emissions of counting state ``m`` are those of ``state[m]``).

    Examples
    --------
    >>> import numpy as np
    >>> import fastseq
    >>> from fastseq import structured
    >>> chain = structured.duration_chain([[0.2, 0.8], [1.0]], [[0, 1], [1, 0]])
    >>> em = np.log([[0.9, 0.1], [0.9, 0.1], [0.2, 0.8]])   # scores of the 2 states
    >>> path, _ = fastseq.viterbi(em[:, chain.state], chain.transitions, start=chain.start)
    >>> chain.state[path].tolist()
    [0, 0, 1]
    """

    transitions: Any
    start: np.ndarray
    state: np.ndarray


def duration_chain(durations: Sequence[ArrayLike], transitions: ArrayLike, *,
                   start: Optional[ArrayLike] = None, dtype: Any = np.float64) -> DurationChain:
    """An explicit-duration (semi-Markov) model as an HMM over counting states.

    State ``k`` lasts ``d`` steps with probability ``durations[k][d - 1]``, then moves to
    ``l != k`` with probability ``transitions[k, l]``. Each state becomes a chain of
    ``D_k = len(durations[k])`` counting states, "``r`` steps left" for ``r = D_k .. 1``:
    entering state ``l`` picks its duration (the chain's entry point), the chain counts down,
    and its last counting state leads into the other states' chains. The result is a
    first-order model on ``M = sum_k D_k`` states with about ``M + K (M - K)`` moves, for
    every kernel of :mod:`fastseq`; ``state`` maps its paths back.

    Parameters
    ----------
    durations : sequence of K array-likes
        ``durations[k][d - 1]``: the probability (or a non-negative weight, normalised here)
        that state ``k`` lasts ``d`` steps, ``d = 1 .. D_k``.
    transitions : array-like of shape (K, K)
        Probabilities of the next state (rows normalised here; the diagonal must be 0: a
        state's own repetition is its duration). A row of zeros makes the state final.
    start : array-like of shape (K,), optional
        Probabilities of the first state (default: equal).
    dtype : float32 or float64
        Of the result's scores.

    Returns
    -------
    DurationChain
        ``(transitions, start, state)``: the sparse log matrix over the counting states,
        the log start scores, and the state of each counting state.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq import structured
    >>> chain = structured.duration_chain([[0, 1.0], [0.5, 0.5]], [[0, 1], [1, 0]])
    >>> chain.state.tolist()
    [0, 0, 1, 1]
    >>> structured.probabilities(chain.transitions).toarray().round(2)
    array([[0. , 1. , 0. , 0. ],
           [0. , 0. , 0.5, 0.5],
           [0. , 0. , 0. , 1. ],
           [1. , 0. , 0. , 0. ]])
    """
    dtype = _check_dtype(dtype)
    if isinstance(durations, (np.ndarray, str)) and np.ndim(durations) != 2:
        raise ValueError("`durations` must be a sequence of one array per state")
    dur = [_check_weights(d, np.size(d), f"durations[{k}]") for k, d in enumerate(durations)]
    K = len(dur)
    if K < 1:
        raise ValueError("`durations` must give at least one state")
    A = np.asarray(transitions, dtype=np.float64)
    if A.shape != (K, K):
        raise ValueError(f"`transitions` must have shape ({K}, {K}), got {A.shape}")
    if not np.all(np.isfinite(A)) or (A < 0).any():
        raise ValueError("`transitions` must hold non-negative finite probabilities")
    if np.any(np.diag(A) != 0):
        raise ValueError("`transitions` must have a zero diagonal: a state's repetition is "
                         "its duration")
    pi = np.full(K, 1.0) if start is None else _check_weights(start, K, "start")
    sizes = np.array([d.size for d in dur])
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])  # counting state "D_k left"
    M = int(sizes.sum())
    state = np.repeat(np.arange(K, dtype=np.int64), sizes)
    left = np.concatenate([np.arange(D, 0, -1) for D in sizes])  # steps left, D_k .. 1
    entry_p = np.concatenate([d[::-1] / d.sum() for d in dur])  # entering with r left
    # counting down: (k, r) -> (k, r - 1)
    down = np.nonzero(left > 1)[0]
    rows, cols, probs = [down], [down + 1], [np.ones(down.size)]
    # the last counting state of k (1 left) -> every counting state of l, by A[k, l] p_l
    ends = first + sizes - 1
    row_sum = A.sum(axis=1)
    for k in range(K):
        if row_sum[k] == 0:
            continue
        to = np.nonzero(entry_p > 0)[0]
        p = A[k, state[to]] / row_sum[k] * entry_p[to]
        keep = p > 0
        rows.append(np.full(int(keep.sum()), ends[k]))
        cols.append(to[keep])
        probs.append(p[keep])
    r = np.concatenate(rows).astype(np.int64)
    c = np.concatenate(cols).astype(np.int64)
    p = np.concatenate(probs)
    matrix = _csr_exact(r, c, p, M, dtype)
    with np.errstate(divide="ignore"):
        start_scores = np.log(pi[state] / pi.sum() * entry_p).astype(dtype)
    return DurationChain(matrix, start_scores, state)


def _csr_exact(rows, cols, probs, n, dtype):
    """The csr_array of log(probs) at (rows, cols), without normalising."""
    import scipy.sparse

    order = np.lexsort((cols, rows))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return scipy.sparse.csr_array(
        (np.log(probs[order]).astype(dtype), cols[order].astype(np.int32), indptr),
        shape=(n, n))


def log_probabilities(probabilities: Any, *, dtype: Any = np.float64) -> Any:
    """The log of a sparse probability matrix, its pattern kept.

    Parameters
    ----------
    probabilities : scipy.sparse matrix of shape (N, N)
        Non-negative entries; stored zeros become ``-inf`` (forbidden) entries.
    dtype : float32 or float64
        Of the result's scores.

    Returns
    -------
    scipy.sparse.csr_array of shape (N, N)
        The logs of the stored entries, in the same places.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse
    >>> from fastseq import structured
    >>> P = scipy.sparse.coo_array(([0.5, 0.5, 0.0, 1.0], ([0, 0, 1, 1], [0, 1, 0, 1])))
    >>> structured.log_probabilities(P).data.round(3)   # the stored 0 forbids 1 -> 0
    array([-0.693, -0.693,   -inf,  0.   ])
    """
    import scipy.sparse

    dtype = _check_dtype(dtype)
    if not scipy.sparse.issparse(probabilities):
        raise TypeError("`probabilities` must be a scipy.sparse matrix, got "
                        f"{type(probabilities).__name__}")
    P = scipy.sparse.csr_array(probabilities)
    data = np.asarray(P.data, dtype=np.float64)
    if not np.all(np.isfinite(data)) or (data < 0).any():
        raise ValueError("`probabilities` must hold non-negative finite numbers")
    with np.errstate(divide="ignore"):
        logs = np.log(data).astype(dtype)
    return scipy.sparse.csr_array((logs, P.indices, P.indptr), shape=P.shape)


def probabilities(log_matrix: Any) -> Any:
    """The probabilities of a sparse log matrix: ``exp`` of its stored entries, pattern
    kept (so ``toarray()`` shows forbidden moves as 0, not as ``exp(0)``).

    Parameters
    ----------
    log_matrix : scipy.sparse matrix
        Log-scores, such as the builders here return.

    Returns
    -------
    scipy.sparse.csr_array
        ``exp`` of the stored entries, in the same places.

    Examples
    --------
    >>> from fastseq import structured
    >>> structured.probabilities(structured.left_to_right(2)).toarray()
    array([[0.5, 0.5],
           [0. , 1. ]])
    """
    import scipy.sparse

    if not scipy.sparse.issparse(log_matrix):
        raise TypeError("`log_matrix` must be a scipy.sparse matrix, got "
                        f"{type(log_matrix).__name__}")
    L = scipy.sparse.csr_array(log_matrix)
    return scipy.sparse.csr_array((np.exp(L.data), L.indices, L.indptr), shape=L.shape)
