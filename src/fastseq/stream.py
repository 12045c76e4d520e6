"""Online decoding: labels while the observations arrive, one row of scores at a time.

:class:`OnlineViterbi` commits each position's label as soon as every path still in the
running agrees on it (exact: the labels are the offline Viterbi path of the whole stream),
or at most ``max_lag`` observations late (bounded latency). :class:`FixedLagSmoother`
gives ``p(z_{t-L} | x_1..t)`` as each ``x_t`` arrives. Both run one stream, or a batch of
independent streams that advance together (one row per stream per push). The models'
``stream()`` methods (HMMs, :class:`fastseq.crf.CRF`, :class:`fastseq.torch.CRF`) build
an :class:`OnlineViterbi` that takes their own observations.
"""
from __future__ import annotations

from typing import Any, Callable, List, NamedTuple, Optional, Sequence, Tuple, Union, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

import fastseq._kernels as _kernels

from . import ops
from ._moves import is_sparse
from ._validation import check_bool, check_int

__all__ = ["Committed", "FixedLagSmoother", "OnlineViterbi"]

# Finite scores above this are refused: a stream of 2^40 observations cannot overflow
# the running path scores with them.
_SCORE_LIMIT = 1e300 / 2.0**40


class Committed(NamedTuple):
    """Labels that became final in a batch of streams, in stream order, each stream's in
    position order (what a batch :class:`OnlineViterbi`'s pushes return).

    Parameters
    ----------
    stream : ndarray of int64
        The stream of each label.
    position : ndarray of int64
        Its position in that stream (0-based).
    label : ndarray of int64
        The label (the state; -1 where no path reaches the position).

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.stream import OnlineViterbi
    >>> dec = OnlineViterbi(np.zeros((2, 2)), n_streams=2)
    >>> dec.push(np.array([[0.0, 1.0], [2.0, 0.0]])).label.tolist()   # both open yet
    []
    >>> c = dec.flush()
    >>> c.stream.tolist(), c.position.tolist(), c.label.tolist()
    ([0, 1], [0, 0], [1, 0])
    """

    stream: NDArray[np.int64]
    position: NDArray[np.int64]
    label: NDArray[np.int64]


def _model(transitions, start, end) -> Tuple[np.ndarray, Optional[np.ndarray],
                                              Optional[np.ndarray]]:
    """The model as float64, validated (NaN, +inf and shapes; -inf forbids)."""
    if is_sparse(transitions):
        raise TypeError("`transitions` must be a dense (N, N) array here: the online "
                        "decoders keep every state's back-pointers at every step anyway")
    out: List[Optional[np.ndarray]] = []
    for value, name in ((transitions, "transitions"), (start, "start"), (end, "end")):
        if value is None:
            out.append(None)
            continue
        arr = ops.as_numpy(value, name)
        if arr.dtype.kind not in "fiu":
            raise TypeError(f"`{name}` must be an array of real numbers, got dtype {arr.dtype}")
        arr = np.ascontiguousarray(arr, dtype=np.float64)
        if np.isnan(arr).any():
            raise ValueError(f"`{name}` contains NaN")
        if np.isposinf(arr).any():
            raise ValueError(f"`{name}` contains +inf (use -inf for forbidden entries)")
        if arr.size and arr.max() > _SCORE_LIMIT:
            raise ValueError(f"`{name}` holds a score above {_SCORE_LIMIT:.3g}, large enough "
                             "for a long stream's path score to overflow")
        out.append(arr)
    trans = cast(np.ndarray, out[0])
    if trans.ndim != 2 or trans.shape[0] != trans.shape[1] or trans.shape[0] < 1:
        raise ValueError(f"`transitions` must have shape (N, N) with N >= 1, got {trans.shape}")
    N = trans.shape[0]
    for vec, name in ((out[1], "start"), (out[2], "end")):
        if vec is not None and vec.shape != (N,):
            raise ValueError(f"`{name}` must have shape (N,) = ({N},), got {vec.shape}")
    return trans, out[1], out[2]


def _rows(scores, shape, name="scores") -> np.ndarray:
    """``scores`` flattened as the kernels read it (float32 stays float32, other numbers
    become float64), after checking its shape."""
    arr = ops.as_numpy(scores, name)
    if arr.dtype.kind == "f" and arr.dtype.itemsize in (4, 8):
        dtype = np.float32 if arr.dtype.itemsize == 4 else np.float64
    elif arr.dtype.kind in "fiu":
        dtype = np.float64
    else:
        raise TypeError(f"`{name}` must be an array of real numbers, got dtype {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"`{name}` must have shape {shape}, got {arr.shape}")
    return np.require(arr, dtype=dtype, requirements=("C", "A")).reshape(-1)


class OnlineViterbi:
    """Viterbi decoding of a stream, pushed one observation at a time.

    Each position's label is committed as soon as every path that can still win agrees on
    it (the on-line Viterbi algorithm of Šrámek, Brejová and Vinař, 2007): the committed
    labels are exactly those of :func:`fastseq.viterbi` on the whole stream, and memory
    holds only the positions back to where the paths agree, however long the stream.
    With ``max_lag=L`` a label is also committed at most ``L`` observations after its own
    (the best path at that moment; paths that leave it are dropped, so the labels still
    form one path).

    Parameters
    ----------
    transitions : array-like of shape (N, N)
        ``transitions[i, j]`` scores the move from state ``i`` to ``j``; ``-inf`` forbids it.
    start, end : array-like of shape (N,), optional
        Scores of the first and the last state (default: zeros); ``end`` is added by
        :meth:`flush`.
    n_streams : int, optional
        Decode this many independent streams together: each push takes one row per
        stream, and the results come as :class:`Committed`. Default: one stream, whose
        pushes take one row and return an array of labels.
    max_lag : int, optional
        Commit every label at most this many observations late (>= 0; 0: at once, the
        best state so far). Default: only where the paths agree (exact).
    filtered : bool, default False
        Also keep ``p(z_t | x_1..t)`` (:attr:`filtered`, :attr:`log_evidence`): a
        forward step per push on top of the Viterbi step.
    n_threads : int, optional
        Threads for a batch of streams (``None``: every core this process may use).
        Results do not depend on it.
    scorer : callable, optional
        Turns pushed observations into score rows: called with a list of observations
        (oldest first, then stream by stream), it returns their ``(len, N)`` scores. The
        models' ``stream()`` methods pass theirs; without it, pushes take scores.

    Attributes
    ----------
    n_states : int
        N.
    n_streams : int or None
        As given.

    Notes
    -----
    A stream that no path can reach any more (every score ``-inf``) commits -1 for its
    open positions and for all later ones; its earlier labels stay as committed (offline
    Viterbi would give -1 for the whole sequence). Scores are kept in float64 whatever
    the rows' dtype (float32 rows are widened exactly), so the labels equal the offline
    Viterbi path of either dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.stream import OnlineViterbi
    >>> tr = np.log([[0.9, 0.1], [0.1, 0.9]])
    >>> dec = OnlineViterbi(tr)
    >>> em = np.log([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9]])
    >>> [dec.push(row).tolist() for row in em]   # final labels as they become known
    [[], [0], [0], []]
    >>> dec.flush().tolist()                     # the rest, at the end of the stream
    [1, 1]
    >>> dec = OnlineViterbi(tr, max_lag=1)        # at most one observation late
    >>> [dec.push(row).tolist() for row in em] + [dec.flush().tolist()]
    [[], [0], [0], [1, 1], []]
    """

    def __init__(self, transitions: ArrayLike, *, start: Optional[ArrayLike] = None,
                 end: Optional[ArrayLike] = None, n_streams: Optional[int] = None,
                 max_lag: Optional[int] = None, filtered: bool = False,
                 n_threads: Optional[int] = None,
                 scorer: Optional[Callable[[list], ArrayLike]] = None) -> None:
        trans, st, en = _model(transitions, start, end)
        self.n_states = trans.shape[0]
        self.n_streams = None if n_streams is None else check_int(n_streams, "n_streams", 1)
        lag = -1 if max_lag is None else check_int(max_lag, "max_lag", 0)
        self._filter = check_bool(filtered, "filtered")
        if scorer is not None and not callable(scorer):
            raise TypeError("`scorer` must be callable")
        self._scorer = scorer
        B = self.n_streams or 1
        simd = _kernels.simd_id(ops.simd_in_use())
        self._core = _kernels.StreamCore(trans, st, en, B, lag, self._filter, simd,
                                         ops.effective_n_threads(n_threads), _SCORE_LIMIT)
        self._row = (self.n_states,) if self.n_streams is None else (B, self.n_states)
        # one stream's contiguous float rows go straight to the kernel
        self._fast = self.n_streams is None and scorer is None

    # -- pushing ---------------------------------------------------------------------------
    def push(self, scores: ArrayLike) -> Union[NDArray[np.int64], Committed]:
        """Push one observation to the stream (one row per stream for a batch).

        Parameters
        ----------
        scores : array-like of shape (N,), or (n_streams, N) for a batch
            The scores of every state at the new position (with a ``scorer``: the
            observation, or one per stream).

        Returns
        -------
        ndarray of int64, or Committed
            The labels that became final (for one stream, in position order, following
            on from those returned before).

        Raises
        ------
        ValueError
            On a wrong shape, NaN or ``+inf`` in ``scores``, or after :meth:`flush`.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.stream import OnlineViterbi
        >>> dec = OnlineViterbi(np.log([[0.9, 0.1], [0.1, 0.9]]))
        >>> dec.push(np.log([0.9, 0.1])).tolist(), dec.push(np.log([0.8, 0.2])).tolist()
        ([], [0])
        """
        out = self._core.push_row(scores) if self._fast else None
        if out is not None:
            return out
        return self._push(scores, None)

    def push_many(self, scores: ArrayLike) -> Union[NDArray[np.int64], Committed]:
        """Push several observations at once: one call into the kernels, cheaper than a
        push per row (in exact mode the back-pointers are made a block of positions at a
        time, for the states still on some path), with the same labels.

        Parameters
        ----------
        scores : array-like of shape (K, N), or (K, n_streams, N) for a batch
            K rows, oldest first (with a ``scorer``: K observations, or K rows of one per
            stream).

        Returns
        -------
        ndarray of int64, or Committed
            As :meth:`push`.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.stream import OnlineViterbi
        >>> dec = OnlineViterbi(np.log([[0.9, 0.1], [0.1, 0.9]]))
        >>> dec.push_many(np.log([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8]])).tolist()
        [0, 0]
        """
        if self._scorer is not None:
            return self._push(scores, len(cast(Sequence[Any], scores)))
        arr = ops.as_numpy(scores, "scores")
        if arr.ndim == 0:
            raise ValueError("`scores` must hold K rows, got a scalar")
        return self._push(arr, arr.shape[0])

    def _push(self, scores, k):
        """k rows of every stream (None: one, without the leading axis)."""
        n = 1 if k is None else k
        shape = self._row if k is None else (k, *self._row)
        if self._scorer is not None:
            # the observations as one flat list, k rows of one per stream
            obs = [scores] if k is None and self.n_streams is None else list(scores)
            if k is not None and self.n_streams is not None:
                obs = [o for row in obs for o in row]
            if len(obs) != n * (self.n_streams or 1):
                raise ValueError(f"expected {n * (self.n_streams or 1)} observations, got "
                                 f"{len(obs)}")
            scores = (np.asarray(self._scorer(obs)).reshape(shape) if obs
                      else np.zeros(shape))
        self._core.push(_rows(scores, shape), n)
        return self._collect()

    def flush(self) -> Union[NDArray[np.int64], Committed]:
        """End the stream(s): add the end scores and commit the best path's open labels.

        Returns
        -------
        ndarray of int64, or Committed
            The labels committed by the flush (-1 where no path is left). Pushing again
            needs :meth:`reset`.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.stream import OnlineViterbi
        >>> dec = OnlineViterbi(np.log([[0.9, 0.1], [0.1, 0.9]]))
        >>> dec.push_many(np.log([[0.9, 0.1], [0.2, 0.8], [0.1, 0.9]])).tolist()
        [0]
        >>> dec.flush().tolist()
        [1, 1]
        """
        self._core.flush()
        return self._collect()

    def reset(self) -> None:
        """Start over at position 0 (the model is kept).

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.stream import OnlineViterbi
        >>> dec = OnlineViterbi(np.log([[0.9, 0.1], [0.1, 0.9]]))
        >>> _ = dec.push_many(np.zeros((3, 2)))
        >>> dec.reset()
        >>> dec.t
        0
        """
        self._core.reset()

    def _collect(self):
        if self.n_streams is None:
            return self._core.take(0)
        return Committed(*self._core.take_all())

    # -- state -----------------------------------------------------------------------------
    @property
    def t(self) -> int:
        """Observations pushed to each stream so far.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.stream import OnlineViterbi
        >>> dec = OnlineViterbi(np.log([[0.9, 0.1], [0.1, 0.9]]))
        >>> _ = dec.push_many(np.zeros((3, 2)))
        >>> dec.t
        3
        """
        return self._core.position

    @property
    def n_committed(self) -> Union[int, NDArray[np.int64]]:
        """Positions whose labels are final (per stream for a batch): ``t - n_committed``
        positions are held open, and the memory in use is proportional to them.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.stream import OnlineViterbi
        >>> dec = OnlineViterbi(np.log([[0.9, 0.1], [0.1, 0.9]]))
        >>> _ = dec.push_many(np.log([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8]]))
        >>> dec.t, dec.n_committed      # the last position is still open
        (3, 2)
        """
        n = np.array([self._core.committed(b) for b in range(self._core.n_streams)])
        return int(n[0]) if self.n_streams is None else n

    @property
    def best_score(self) -> Union[float, NDArray[np.float64]]:
        """The best path's score so far (after :meth:`flush`: the final Viterbi score,
        ``end`` included; ``-inf`` before the first push or when no path is left).

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.stream import OnlineViterbi
        >>> dec = OnlineViterbi(np.log([[0.9, 0.1], [0.1, 0.9]]))
        >>> _ = dec.push(np.log([0.5, 0.5]))
        >>> round(dec.best_score, 4)
        -0.6931
        """
        s = np.array([self._core.best_score(b) for b in range(self._core.n_streams)])
        return float(s[0]) if self.n_streams is None else s

    def _filter_state(self):
        if not self._filter:
            raise ValueError("the filtered distribution is kept with filtered=True only")
        if self.t == 0:
            raise ValueError("nothing was pushed yet")
        B = self._core.n_streams
        p = np.empty((B, self.n_states))
        lz = np.array([self._core.filtered(b, p[b]) for b in range(B)])
        return (p[0], float(lz[0])) if self.n_streams is None else (p, lz)

    @property
    def filtered(self) -> NDArray[np.float64]:
        """``p(z_t | x_1..t)`` at the newest position, shape (N,) or (n_streams, N) (zeros
        where no path is left). Needs ``filtered=True``.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.stream import OnlineViterbi
        >>> dec = OnlineViterbi(np.log([[0.9, 0.1], [0.1, 0.9]]), filtered=True)
        >>> _ = dec.push(np.log([0.9, 0.1]))
        >>> dec.filtered.round(2).tolist()
        [0.9, 0.1]
        """
        return self._filter_state()[0]

    @property
    def log_evidence(self) -> Union[float, NDArray[np.float64]]:
        """``log sum over paths exp(score)`` of ``x_1..t`` (no end scores): an HMM's
        ``log P(x_1..t)``. Needs ``filtered=True``.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.stream import OnlineViterbi
        >>> dec = OnlineViterbi(np.log([[0.9, 0.1], [0.1, 0.9]]), start=np.log([0.5, 0.5]),
        ...                     filtered=True)
        >>> _ = dec.push(np.log([0.9, 0.1]))
        >>> round(dec.log_evidence, 4)       # log(0.5 * 0.9 + 0.5 * 0.1)
        -0.6931
        """
        return self._filter_state()[1]


class FixedLagSmoother:
    """Fixed-lag smoothing: ``p(z_{t-L} | x_1..t)`` as each observation ``x_t`` arrives.

    Equal to :func:`fastseq.marginals` on the stream cut at ``t`` (its row ``t - L``); at
    :meth:`flush`, the last ``L`` positions get the marginals of the whole stream, ``end``
    included. Each push costs a forward-backward pass over the ``L + 1`` newest positions.

    Parameters
    ----------
    transitions : array-like of shape (N, N)
        ``transitions[i, j]`` scores the move from state ``i`` to ``j``; ``-inf`` forbids it.
    lag : int
        L >= 0 (0: the filtered distribution ``p(z_t | x_1..t)``).
    start, end : array-like of shape (N,), optional
        Scores of the first and the last state (default: zeros).
    n_streams : int, optional
        Smooth this many streams together (one row per stream per push). Default: one.
    n_threads : int, optional
        Threads for a batch of streams. Results do not depend on it.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.stream import FixedLagSmoother
    >>> tr = np.log([[0.9, 0.1], [0.1, 0.9]])
    >>> sm = FixedLagSmoother(tr, lag=1)
    >>> em = np.log([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8]])
    >>> [sm.push(row).shape for row in em]    # position t - 1 once x_t is in
    [(0, 2), (1, 2), (1, 2)]
    >>> sm.flush().shape                        # the last position
    (1, 2)
    """

    def __init__(self, transitions: ArrayLike, lag: int, *, start: Optional[ArrayLike] = None,
                 end: Optional[ArrayLike] = None, n_streams: Optional[int] = None,
                 n_threads: Optional[int] = None) -> None:
        self._trans, st, self._end = _model(transitions, start, end)
        self.n_states = N = self._trans.shape[0]
        self.lag = check_int(lag, "lag", 0)
        self.n_streams = None if n_streams is None else check_int(n_streams, "n_streams", 1)
        self._n_threads = ops.effective_n_threads(n_threads)
        self._start = np.zeros(N) if st is None else st
        self._row = (N,) if self.n_streams is None else (self.n_streams, N)
        self.reset()

    def reset(self) -> None:
        """Start over at position 0.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.stream import FixedLagSmoother
        >>> sm = FixedLagSmoother(np.log([[0.9, 0.1], [0.1, 0.9]]), lag=1)
        >>> _ = sm.push(np.zeros(2))
        >>> sm.reset()
        >>> sm.t
        0
        """
        B = self.n_streams or 1
        self._window = np.empty((B, 0, self.n_states))  # the newest rows, oldest first
        self._prior = np.broadcast_to(self._start, (B, self.n_states)).copy()
        self._flushed = False
        self.t = 0

    def _out(self, node):
        """(k, N) for one stream, (k, B, N) for a batch, from (B, k, N)."""
        return node[0] if self.n_streams is None else node.transpose(1, 0, 2)

    def push(self, scores: ArrayLike) -> NDArray[np.float64]:
        """Push one observation (one row per stream for a batch).

        Parameters
        ----------
        scores : array-like of shape (N,), or (n_streams, N) for a batch
            The scores of every state at the new position.

        Returns
        -------
        ndarray
            ``p(z_{t-L} | x_1..t)``: shape (1, N) (a batch: (1, n_streams, N)) once ``t >=
            L``, else (0, N) (a batch: (0, n_streams, N)).

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.stream import FixedLagSmoother
        >>> sm = FixedLagSmoother(np.log([[0.9, 0.1], [0.1, 0.9]]), lag=1)
        >>> sm.push(np.log([0.9, 0.1])).shape         # nothing is 1 position old yet
        (0, 2)
        >>> sm.push(np.log([0.5, 0.5])).round(3).tolist()   # p(z_0 | x_0, x_1)
        [[0.9, 0.1]]
        """
        if self._flushed:
            raise ValueError("the stream was flushed: call reset() to start a new one")
        row = _rows(scores, self._row).astype(np.float64).reshape(-1, 1, self.n_states)
        if np.isnan(row).any() or np.isposinf(row).any():
            raise ValueError("`scores` contains NaN or +inf (use -inf for forbidden entries)")
        self._window = np.concatenate([self._window, row], axis=1)
        self.t += 1
        if self._window.shape[1] <= self.lag:
            return self._out(np.empty((self._window.shape[0], 0, self.n_states)))
        node = self._marginals(None)[:, :1]
        # the prior of the next window's first position: one forward step
        em = self._window[:, :1].copy()
        em[:, 0] += self._prior
        step = np.concatenate([em, np.zeros_like(em)], axis=1)
        alpha = ops.forward(step, self._trans, n_threads=self._n_threads)[0][:, 1]
        top = alpha.max(axis=1, keepdims=True)
        self._prior = alpha - np.where(np.isfinite(top), top, 0.0)
        self._window = self._window[:, 1:]
        return self._out(node)

    def _marginals(self, end):
        em = self._window.copy()
        em[:, 0] += self._prior
        return ops.marginals(em, self._trans, end=end, n_threads=self._n_threads).node

    def flush(self) -> NDArray[np.float64]:
        """End the stream(s): the marginals of the positions still open, end included.

        Returns
        -------
        ndarray of shape (k, N), or (k, n_streams, N) for a batch
            ``k = min(L, t)`` rows, oldest first.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.stream import FixedLagSmoother
        >>> sm = FixedLagSmoother(np.log([[0.9, 0.1], [0.1, 0.9]]), lag=1)
        >>> _ = sm.push(np.log([0.9, 0.1]))
        >>> sm.flush().round(3).tolist()             # the last position
        [[0.9, 0.1]]
        """
        if self._flushed:
            raise ValueError("the stream was flushed: call reset() to start a new one")
        self._flushed = True
        if self._window.shape[1] == 0:
            return self._out(self._window.copy())
        return self._out(self._marginals(self._end))
