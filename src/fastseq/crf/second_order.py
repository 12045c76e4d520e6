"""A second-order linear-chain CRF as a first-order one over label pairs.

The score of a label sequence adds, at every position ``t >= 1``, a bigram weight
``T[y_(t-1), y_t]`` and a trigram weight ``T3[y_(t-2), y_(t-1), y_t]`` (``y_(-1)`` is the
beginning of the sequence, ``BOS``). Over the states ``(y_(t-1), y_t)`` -- ``(N + 1) N`` of
them, the first label of the pair possibly ``BOS`` -- this is a first-order chain whose
moves ``(a, b) -> (b, c)`` score ``T[b, c] + T3[a, b, c]``: only pairs that share the middle
label connect, so there are ``(N + 1) N^2`` moves, not ``((N + 1) N)^2``, and the sparse
kernels of :mod:`fastseq` run it at O(T N^3). A state's emission score is that of its
second label; a sequence starts in a state ``(BOS, b)``.

State ``s = a' N + b`` holds the pair ``(a' - 1, b)`` (``a' = 0``: ``BOS``); move ``p = s N
+ c`` goes from ``s`` to ``(b + 1) N + c``, so the moves' scores are ``T3`` flattened, shape
``(N + 1, N, N)``, in the same order.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np
from scipy import sparse

from .. import ops

__all__ = ["LabelPairs", "Chain"]


class LabelPairs:
    """The label-pair states of a second-order CRF over ``N`` labels.

    Parameters
    ----------
    N : int
        The number of labels.

    Attributes
    ----------
    n_states : int
        ``(N + 1) N``.
    label : ndarray of int64, shape (n_states,)
        The second (current) label of each state.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf.second_order import LabelPairs
    >>> pairs = LabelPairs(2)
    >>> pairs.n_states, pairs.label.tolist()
    (6, [0, 1, 0, 1, 0, 1])
    >>> pairs.tags(np.array([1, 0, 0]), np.array([3])).tolist()   # (BOS,1) (1,0) (0,0)
    [1, 4, 2]
    """

    def __init__(self, N: int) -> None:
        self.N = N
        self.n_states = (N + 1) * N
        self.label = np.tile(np.arange(N, dtype=np.int64), N + 1)
        cols = (self.label[:, None] + 1) * N + np.arange(N)
        self._indptr = np.arange(self.n_states + 1, dtype=np.int64) * N
        self._indices = cols.ravel().astype(np.int32)

    def transitions(self, T: np.ndarray, T3: Optional[np.ndarray] = None) -> Any:
        """The pair states' moves as a sparse log matrix: ``T[b, c] + T3[a, b, c]``.

        Parameters
        ----------
        T : ndarray of shape (N, N)
            Bigram scores (``-inf`` forbids the move ``b -> c`` after any ``a``).
        T3 : ndarray of shape (N + 1, N, N), optional
            Trigram scores, ``T3[0]`` after ``BOS`` (default: none).

        Returns
        -------
        scipy.sparse.csr_array of shape (n_states, n_states)
        """
        data = np.asarray(T, dtype=np.float64)[self.label].ravel()
        if T3 is not None:
            data = data + np.asarray(T3, dtype=np.float64).ravel()
        return sparse.csr_array((data, self._indices, self._indptr),
                                shape=(self.n_states, self.n_states))

    def start(self, start: Optional[np.ndarray] = None) -> np.ndarray:
        """Start scores of the states: ``start[b]`` (0 when None) for ``(BOS, b)``,
        ``-inf`` for the others."""
        out = np.full(self.n_states, -np.inf)
        out[:self.N] = 0.0 if start is None else start
        return out

    def end(self, end: Optional[np.ndarray]) -> Optional[np.ndarray]:
        """End scores of the states (those of their second label), or None."""
        return None if end is None else np.asarray(end, dtype=np.float64)[self.label]

    def emissions(self, E: np.ndarray) -> np.ndarray:
        """The states' emission scores: each state's label's, ``(L, n_states)``."""
        return np.take(E, self.label, axis=1)  # C order, as the kernels read it

    def tags(self, y: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The state of every position of label sequences ``y`` (concatenated)."""
        prev = np.empty_like(y)
        prev[1:] = y[:-1] + 1
        starts = (np.cumsum(lengths) - lengths)[lengths > 0]
        prev[starts] = 0
        return prev * self.N + y

    def labels(self, states: np.ndarray) -> np.ndarray:
        """The labels of decoded states (-1 stays -1)."""
        return np.where(states >= 0, self.label[np.maximum(states, 0)], -1)

    def node_labels(self, node: np.ndarray) -> np.ndarray:
        """Per-state rows ``(L, n_states)`` summed into per-label rows ``(L, N)``."""
        return node.reshape(node.shape[0], self.N + 1, self.N).sum(axis=1)

    def crf_nll(self, E: np.ndarray, T: np.ndarray, T3: np.ndarray, y2: np.ndarray,
                lengths: np.ndarray, n_threads: int, out: Optional[np.ndarray] = None
                ) -> Tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """The negative log-likelihood of the pair tags ``y2`` and its gradients.

        Returns
        -------
        nll : float
            Summed over the sequences.
        G : ndarray of shape (L, N)
            With respect to the label emission scores ``E``.
        gT : ndarray of shape (N, N)
            With respect to ``T``.
        gT3 : ndarray of shape (N + 1, N, N)
            With respect to ``T3``.
        """
        nll, g = ops.crf_nll(self.emissions(E), self.transitions(T, T3), y2,
                             start=self.start(), lengths=lengths, reduction="sum",
                             n_threads=n_threads, out=out)
        # the moves' gradient, in move order: T3's shape (a sparse matrix of the pattern)
        g3 = np.asarray(g.transitions.data).reshape(self.N + 1, self.N, self.N)
        return float(nll), self.node_labels(g.emissions), g3.sum(axis=0), g3


class Chain:
    """The linear chain a fitted CRF decodes on, of either order.

    Parameters
    ----------
    E : ndarray of shape (L, N)
        Label emission scores of the tokens, concatenated.
    T : ndarray of shape (N, N)
        Bigram (transition) scores; ``-inf`` forbids a move.
    T3 : ndarray of shape (N + 1, N, N), optional
        Trigram scores of a second-order CRF (the chain then runs over label pairs).
    start, end : ndarray of shape (N,), optional
        Scores of the first and the last label.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf.second_order import Chain
    >>> E = np.log([[0.9, 0.1], [0.5, 0.5], [0.5, 0.5]])
    >>> T3 = np.zeros((3, 2, 2))
    >>> T3[1, 0, 0] = -5.0                       # 0 0 0 is unlikely
    >>> Chain(E, np.zeros((2, 2)), T3).viterbi(np.array([3]), 1).tolist()
    [0, 0, 1]
    """

    def __init__(self, E: np.ndarray, T: np.ndarray, T3: Optional[np.ndarray] = None,
                 start: Optional[np.ndarray] = None, end: Optional[np.ndarray] = None) -> None:
        self.pairs = None if T3 is None else LabelPairs(T.shape[0])
        if self.pairs is None:
            self.em, self.trans, self.start, self.end = E, T, start, end
        else:
            self.em = self.pairs.emissions(E)
            self.trans = self.pairs.transitions(T, T3)
            self.start, self.end = self.pairs.start(start), self.pairs.end(end)

    def _kw(self, lengths, n_threads):
        return {"start": self.start, "end": self.end, "lengths": lengths,
                "n_threads": n_threads}

    def viterbi(self, lengths: np.ndarray, n_threads: int) -> np.ndarray:
        """The best label of every token (-1 in a sequence with no allowed path)."""
        paths, _ = ops.viterbi(self.em, self.trans, **self._kw(lengths, n_threads))
        return paths if self.pairs is None else self.pairs.labels(paths)

    def marginals(self, lengths: np.ndarray, n_threads: int) -> np.ndarray:
        """``P(label j at token t | x)``, ``(L, N)``."""
        node = ops.marginals(self.em, self.trans, **self._kw(lengths, n_threads)).node
        return node if self.pairs is None else self.pairs.node_labels(node)

    def log_probability(self, ids: np.ndarray) -> float:
        """``log P(ids | x)`` of one sequence's labels."""
        kw = self._kw(None, 1)
        del kw["lengths"]
        states = ids if self.pairs is None else self.pairs.tags(ids, np.array([ids.size]))
        return float(ops.sequence_score(self.em, self.trans, states, **kw)
                     - ops.log_partition(self.em, self.trans, **kw))
