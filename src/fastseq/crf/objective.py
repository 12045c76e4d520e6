"""The CRF training objective: the negative log-likelihood of the training data and its
gradient with respect to the feature weights, computed by sparse products around one
batched :func:`fastseq.crf_nll` call; and the feature set it is defined over."""
from __future__ import annotations

from concurrent.futures import Executor
from typing import NamedTuple, Optional, Sequence, Tuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse

from .. import _kernels, ops
from .items import Batch
from .second_order import LabelPairs

__all__ = ["Objective", "SparseProduct", "EpochData", "feature_set", "FeatureCounts",
           "feature_counts", "add_feature_counts", "features_of_counts"]


def padded_columns(N: int) -> int:
    """The row length of a dense factor of the compiled sparse products: ``N`` rounded up to
    a multiple of 8 (whole SIMD vectors).

    Examples
    --------
    >>> from fastseq.crf.objective import padded_columns
    >>> padded_columns(9), padded_columns(16)
    (16, 16)
    """
    return -(-N // 8) * 8


def _csr_arrays(X: sparse.csr_matrix) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """``X`` as the compiled products take it: int64 indptr, int32 indices, float64 data
    (None when every value is 1: the products then read none)."""
    if X.shape[1] >= 2**31:
        raise ValueError(f"too many attribute columns: {X.shape[1]}")
    data = np.ascontiguousarray(X.data, dtype=np.float64)
    return (X.indptr.astype(np.int64), X.indices.astype(np.int32, copy=False),
            None if np.all(data == 1.0) else data)


class SparseProduct:
    """``X @ W`` (dense ``W``) for a fixed CSR ``X``, split by rows over threads.

    The compiled product releases the GIL and writes straight into the output. Used for
    prediction and holdout evaluation.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix, shape (n_rows, n_cols)
        The sparse factor.
    n_threads : int
        Threads to use (at least 1). Blocks of rows run in parallel only when ``pool`` is
        given and ``X`` has at least 4096 rows, with at most one block per 2048 rows.
    pool : concurrent.futures.Executor, optional
        The thread pool that runs the blocks.

    Attributes
    ----------
    blocks : list of (int, int)
        The rows ``first : end`` of each block, balanced by non-zeros.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from fastseq.crf.objective import SparseProduct
    >>> X = sparse.csr_matrix(np.array([[1.0, 0.0], [2.0, 3.0]]))
    >>> SparseProduct(X, n_threads=1).matmul(np.array([[1.0, 2.0], [3.0, 4.0]])).tolist()
    [[1.0, 2.0], [11.0, 16.0]]
    """

    def __init__(self, X: sparse.csr_matrix, n_threads: int,
                 pool: Optional[Executor] = None) -> None:
        self.shape = X.shape
        self._arrays = _csr_arrays(X)
        L = X.shape[0]
        n = max(1, min(max(1, int(n_threads)), L // 2048 if L >= 4096 else 1))
        self.pool = pool if n > 1 else None
        if self.pool is None:
            n = 1
        cuts = np.searchsorted(X.indptr, np.linspace(0, X.nnz, n + 1)[1:-1])
        bounds = [0] + sorted(set(int(c) for c in cuts if 0 < c < L)) + [L]
        self.blocks = list(zip(bounds[:-1], bounds[1:]))
        self._simd = _kernels.simd_id(ops.simd_in_use())

    def matmul(self, W: np.ndarray, n_out: Optional[int] = None) -> np.ndarray:
        """The product ``X @ W[:, :n_out]``.

        Parameters
        ----------
        W : ndarray of float64, shape (n_cols, k)
            The dense factor. Rows of ``padded_columns(n_out)`` entries (C-contiguous) are
            used as they are; any other ``W`` is copied into such rows first.
        n_out : int, optional
            The columns of ``W`` in the product (default: all).

        Returns
        -------
        ndarray of float64, shape (n_rows, n_out)
            ``X @ W[:, :n_out]``.

        Examples
        --------
        >>> import numpy as np
        >>> from scipy import sparse
        >>> from fastseq.crf.objective import SparseProduct
        >>> P = SparseProduct(sparse.csr_matrix(np.eye(2)), n_threads=1)
        >>> P.matmul(np.array([[1.0], [2.0]])).tolist()
        [[1.0], [2.0]]
        """
        N = W.shape[1] if n_out is None else n_out
        if W.shape != (self.shape[1], padded_columns(N)) or not W.flags.c_contiguous or \
                W.dtype != np.float64:
            Wp = np.zeros((self.shape[1], padded_columns(N)))
            Wp[:, :N] = W[:, :N]
            W = Wp
        E = np.empty((self.shape[0], N))

        def work(block):
            _kernels.csr_matmul(block[0], block[1], *self._arrays, W, E, self._simd)
        if self.pool is None:
            work(self.blocks[0])  # one block
        else:
            list(self.pool.map(work, self.blocks))
        return E


_MAX_BLOCKS = 8
_BLOCK_TOKENS = 4096


class EpochData:
    """The training data of an :class:`Objective` as the compiled loops of the per-sequence
    learners (:mod:`fastseq.crf._epochs`) read it, and their weight layout.

    The learners keep the weights in one flat vector ``w`` of ``K_s + N * N`` entries: the
    state features grouped by attribute (in the internal numbering), then the dense
    transition weights, of which only the model's transition features ever change.

    Attributes
    ----------
    arrays : tuple
        ``(indptr, lo, hi, data, offsets, y, label, N, t_exists)``, the trailing arguments
        of the epoch functions: the training matrix as CSR whose entry ``p`` has, instead of
        its attribute, the range ``lo[p] : hi[p]`` of ``w`` holding that attribute's state
        features (int64 / float64), the first row of every sequence and the end (``offsets``,
        ``B + 1``), the gold labels, the state features' labels (int32), ``N``, and which
        transitions are features (uint8, ``N * N``).
    size : int
        The length of ``w``.
    simd : str
        The SIMD variant of the kernels in the calling context (:func:`fastseq.ops.simd_in_use`).
    """

    def __init__(self, obj: "Objective") -> None:
        X, N = obj.X, obj.N
        Ks = obj.Ks
        order = np.argsort(obj.s_flat, kind="stable")  # by (attribute, label)
        self._position = np.empty(Ks, dtype=np.int64)  # where feature i sits in w
        self._position[order] = np.arange(Ks)
        self._t_flat = Ks + obj.t_flat
        attr_ptr = np.zeros(obj.A + 1, dtype=np.int64)
        np.cumsum(np.bincount(obj.newid[obj.s_attr], minlength=obj.A), out=attr_ptr[1:])
        t_exists = np.zeros(N * N, dtype=np.uint8)
        t_exists[obj.t_flat] = 1
        cols = X.indices
        self.arrays = (X.indptr.astype(np.int64), attr_ptr[cols], attr_ptr[cols + 1],
                       np.ascontiguousarray(X.data, dtype=np.float64),
                       np.ascontiguousarray(obj.batch.offsets, dtype=np.int64),
                       np.ascontiguousarray(obj.y, dtype=np.int64),
                       obj.s_label[order].astype(np.int32), N, t_exists)
        self.size = Ks + N * N
        self.simd = ops.simd_in_use()

    def theta(self, w: np.ndarray) -> np.ndarray:
        """The parameter vector (state then transition weights, in feature order) of ``w``.

        Parameters
        ----------
        w : ndarray of float64, shape (size,)
            Weights in the learners' layout.

        Returns
        -------
        ndarray of float64, shape (K,)
        """
        return np.concatenate([w[self._position], w[self._t_flat]])


class Objective:
    """The CRF negative log-likelihood of the training data and its gradient.

    Calling the objective with the parameter vector ``theta = [state weights, transition
    weights]`` returns the sum over sequences of the negative log-likelihood (no
    regularisation) and its gradient.

    The emission scores ``E = X @ W`` and the weight gradient ``X.T @ G`` are computed in
    two parts. Attributes with many labels (more than ``N // 4`` state features: POS
    n-grams, "bias", ...) are few but frequent: they form a small dense ``W_d`` (fits in
    cache) multiplied by their columns of ``X``. Every other attribute touches only its few
    features: each of its entries in ``X`` adds those features' weights straight to ``E``
    (and takes its share of ``G`` back to their gradient), as CRFsuite's per-feature loops
    do, without ever touching the zeros of ``W``. Both are compiled loops. The products run
    over a fixed set of row blocks whose gradients are added in block order, so the result
    is bitwise the same for every ``n_threads``.

    Parameters
    ----------
    batch : Batch
        The training sequences (``n_tokens`` rows over ``A`` attribute columns).
    y : ndarray of int64, shape (n_tokens,)
        The gold label id of every token.
    N : int
        The number of labels.
    s_attr, s_label : array-like of int, shape (K_s,)
        The attribute column and the label of each state feature.
    t_from, t_to : array-like of int, shape (K_t,)
        The previous and the current label of each transition feature.
    n_threads : int
        Threads for :func:`fastseq.crf_nll`.
    pool : concurrent.futures.Executor or None
        The thread pool that runs the sparse products over blocks of rows; None runs them
        in the calling thread.
    trigrams : array-like of int, shape (K_3,), optional
        A second-order CRF: its trigram features ``(a, b, c)`` as keys ``(a' N + b) N + c``
        (``a' = a + 1``, 0 for the beginning of a sequence; see
        :mod:`fastseq.crf.second_order`), weighted after the transition features.

    Attributes
    ----------
    K : int
        The number of parameters, ``K_s + K_t`` (``+ K_3`` for a second-order CRF).
    Ks : int
        The number of state features ``K_s``.
    X : scipy.sparse.csr_matrix, shape (n_tokens, A)
        ``batch.X`` with the attribute columns renumbered by decreasing frequency (the
        internal numbering of ``W``).
    T : ndarray of float64, shape (N, N)
        The transition weights last set.
    n_evals : int
        The number of evaluations so far.

    See Also
    --------
    feature_set : The features the objective is defined over.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf.items import encode_items
    >>> from fastseq.crf.objective import Objective, feature_set
    >>> batch, _ = encode_items([[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]],
    ...                         "X", None, fit=True)
    >>> y = np.array([0, 1, 0, 1])
    >>> feats = feature_set(batch, y, 2, min_freq=0.0, all_possible_states=False,
    ...                     all_possible_transitions=False)
    >>> obj = Objective(batch, y, 2, *feats, n_threads=1, pool=None)
    >>> nll, grad = obj(np.zeros(obj.K))   # 4 tokens, 2 labels: 4 log 2
    >>> round(nll, 4), grad.tolist()
    (2.7726, [-0.5, -0.5, -0.5, -0.5, -1.5])
    """

    def __init__(self, batch: Batch, y: np.ndarray, N: int, s_attr: ArrayLike,
                 s_label: ArrayLike, t_from: ArrayLike, t_to: ArrayLike, n_threads: int,
                 pool: Optional[Executor], trigrams: Optional[ArrayLike] = None) -> None:
        self.batch = batch
        self.y = y
        self.N = N
        A = batch.X.shape[1]
        self.A = A
        self.s_attr = np.asarray(s_attr, dtype=np.int64)
        self.s_label = np.asarray(s_label, dtype=np.int64)
        # Attribute columns renumbered by decreasing frequency (for the AP trainer and the
        # holdout evaluation, which use a dense W): the hot rows of W then share cache lines.
        freq = np.bincount(batch.X.indices, minlength=A)
        order = np.argsort(-freq, kind="stable")
        self.newid = np.empty(A, dtype=np.int64)
        self.newid[order] = np.arange(A)
        self.X = self.to_internal(batch.X)
        self.s_flat = self.newid[self.s_attr] * N + self.s_label
        self.t_flat = (np.asarray(t_from, dtype=np.int64) * N
                       + np.asarray(t_to, dtype=np.int64))
        self.Ks = self.s_flat.size
        self.K = self.Ks + self.t_flat.size
        self.T = np.zeros((N, N))
        self.pairs: Optional[LabelPairs] = None
        if trigrams is not None:
            self.pairs = LabelPairs(N)
            self.t3_flat = np.asarray(trigrams, dtype=np.int64)
            self.Kt = self.t_flat.size
            self.K += self.t3_flat.size
            self.T3 = np.zeros((N + 1, N, N))
            self.y2 = self.pairs.tags(y, batch.lengths)
        self.n_threads = n_threads
        self.pool = pool
        self._W: Optional[np.ndarray] = None
        self._split: Optional[dict] = None
        self.n_evals = 0

    @property
    def W(self) -> np.ndarray:
        """The dense state weights last set, in the internal attribute numbering.

        An ndarray of float64 of shape ``(A, N)``, allocated (zero) on first use.

        Examples
        --------
        >>> import numpy as np
        >>> from scipy import sparse
        >>> from fastseq.crf.items import Batch
        >>> from fastseq.crf.objective import Objective
        >>> obj = Objective(Batch(sparse.csr_matrix(np.ones((2, 3))), [2]), np.array([0, 1]),
        ...                 2, [0], [1], [0], [1], n_threads=1, pool=None)
        >>> obj.W.shape
        (3, 2)
        """
        if self._W is None:
            self._W = np.zeros((self.A, self.N))
        return self._W

    def to_internal(self, M: sparse.csr_matrix) -> sparse.csr_matrix:
        """A CSR matrix over the model's attribute columns, in the internal numbering.

        Parameters
        ----------
        M : scipy.sparse.csr_matrix, shape (n_rows, A)
            Rows over the model's attribute columns.

        Returns
        -------
        scipy.sparse.csr_matrix, shape (n_rows, A)
            The same rows with the columns renumbered as in ``X`` and ``W``.

        Examples
        --------
        >>> import numpy as np
        >>> from scipy import sparse
        >>> from fastseq.crf.items import Batch
        >>> from fastseq.crf.objective import Objective
        >>> X = sparse.csr_matrix(np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 1.0]]))
        >>> obj = Objective(Batch(X, [4]), np.zeros(4, dtype=np.int64), 1, [0, 1], [0, 0],
        ...                 [0], [0], n_threads=1, pool=None)
        >>> obj.to_internal(sparse.csr_matrix(np.array([[2.0, 0.0]]))).toarray().tolist()
        [[0.0, 2.0]]
        """
        return sparse.csr_matrix((M.data, self.newid[M.indices].astype(M.indices.dtype),
                                  M.indptr), shape=M.shape)

    def set_weights(self, theta: np.ndarray) -> None:
        """Fill the dense ``W`` (internal numbering) and ``T`` from a parameter vector.

        Parameters
        ----------
        theta : ndarray of float64, shape (K,)
            State weights then transition weights, in feature order.

        Examples
        --------
        >>> import numpy as np
        >>> from scipy import sparse
        >>> from fastseq.crf.items import Batch
        >>> from fastseq.crf.objective import Objective
        >>> obj = Objective(Batch(sparse.csr_matrix(np.ones((2, 1))), [2]), np.array([0, 1]),
        ...                 2, [0], [1], [0], [1], n_threads=1, pool=None)
        >>> obj.set_weights(np.array([0.5, 2.0]))
        >>> obj.W.tolist(), obj.T.tolist()
        ([[0.0, 0.5]], [[0.0, 2.0], [0.0, 0.0]])
        """
        self.W.ravel()[self.s_flat] = theta[:self.Ks]
        self._set_transitions(theta)

    def _set_transitions(self, theta):
        if self.pairs is None:
            self.T.ravel()[self.t_flat] = theta[self.Ks:]
        else:
            self.T.ravel()[self.t_flat] = theta[self.Ks:self.Ks + self.Kt]
            self.T3.ravel()[self.t3_flat] = theta[self.Ks + self.Kt:]

    # -- the split representation used by __call__ ------------------------------------------
    def _prepare(self) -> dict:
        X = self.batch.X
        L, A = X.shape
        N = self.N
        per_attr = np.bincount(self.s_attr, minlength=A)
        tau = max(1, N // 4)
        dense_attr = per_attr > tau
        # dense part: columns of the wide attributes, renumbered 0..Ad-1
        d_ids = np.flatnonzero(dense_attr)
        Ad = d_ids.size
        d_new = np.full(A, -1, dtype=np.int64)
        d_new[d_ids] = np.arange(Ad)
        cols = X.indices
        is_d = dense_attr[cols]

        def row_ptr(counts):  # CSR row pointers of per-entry counts, in X's row order
            ptr = np.zeros(X.nnz + 1, dtype=np.int64)
            np.cumsum(counts, out=ptr[1:])
            return ptr[X.indptr]
        # the wide attributes' columns of X as CSR for the compiled products (column ids
        # below Ad < 2**31), and their weights with rows padded to whole vectors
        d_data = np.ascontiguousarray(X.data[is_d], dtype=np.float64)
        Xd = (row_ptr(is_d), d_new[cols[is_d]].astype(np.int32),
              None if np.all(d_data == 1.0) else d_data)  # None: values 1, not read
        ldw = padded_columns(N)
        s_d = np.flatnonzero(dense_attr[self.s_attr])
        d_flat = d_new[self.s_attr[s_d]] * ldw + self.s_label[s_d]
        # narrow part: per token, the features of its other attributes (in theta's order),
        # with the attributes' values
        if self.Ks >= 2**31:
            raise ValueError(f"too many state features: {self.Ks}")
        first = np.zeros(A + 1, dtype=np.int64)   # each attribute's features, grouped
        np.cumsum(per_attr, out=first[1:])
        nar = ~is_d & (per_attr[cols] > 0)
        n_cols = cols[nar]
        c = per_attr[n_cols]
        # entry k of the attributes' feature lists: feature first[a] + (k - start of a's list)
        feat = np.repeat(first[n_cols] - (np.cumsum(c) - c), c) + np.arange(int(c.sum()))
        if np.any(self.s_attr[1:] < self.s_attr[:-1]):  # features not sorted by attribute
            feat = np.argsort(self.s_attr, kind="stable")[feat]
        n_vals = np.asarray(X.data[nar], dtype=np.float64)
        Xn = (row_ptr(np.where(nar, per_attr[cols], 0)), feat.astype(np.int32),
              self.s_label[feat].astype(np.int32),
              None if np.all(n_vals == 1.0) else np.repeat(n_vals, c))  # None: values 1
        split = self._split = {
            "Xd": Xd, "Xn": Xn, "s_d": s_d, "d_flat": d_flat,
            "Wd": np.zeros((Ad, ldw)),
            "simd": _kernels.simd_id(ops.simd_in_use()),
            # the emission scores and their gradient, reused by every evaluation (fresh
            # arrays of L x N doubles each time cost their page faults)
            "E": np.empty((L, N)),
            "G": np.empty((L, N)),
        }
        # Row blocks for the thread pool. Their number depends on the data only, and the
        # per-block gradients are added in block order, so the result is bitwise the same
        # for every n_threads.
        nb = int(min(_MAX_BLOCKS, max(1, L // _BLOCK_TOKENS)))
        cuts = [0] + [int(x) for x in np.linspace(0, L, nb + 1)[1:-1]] + [L]
        self._blocks = list(zip(cuts[:-1], cuts[1:]))
        self._gbufs = [(np.zeros(self.Ks), np.zeros((Ad, ldw))) for _ in self._blocks]
        return split

    def _run(self, fn):
        if len(self._blocks) == 1 or self.pool is None:
            return [fn(i) for i in range(len(self._blocks))]
        return list(self.pool.map(fn, range(len(self._blocks))))

    def __call__(self, theta: np.ndarray) -> Tuple[float, np.ndarray]:
        """The negative log-likelihood and its gradient at ``theta``.

        Parameters
        ----------
        theta : ndarray of float64, shape (K,)
            State weights then transition weights, in feature order.

        Returns
        -------
        nll : float
            The sum over sequences of the negative log-likelihood.
        grad : ndarray of float64, shape (K,)
            Its gradient with respect to ``theta``.
        """
        sp = self._split
        if sp is None:
            sp = self._prepare()
        th_s = np.ascontiguousarray(theta[:self.Ks])
        Wd = sp["Wd"]
        Wd.ravel()[sp["d_flat"]] = th_s[sp["s_d"]]
        self._set_transitions(theta)
        E = sp["E"]
        Xd, Xn, simd = sp["Xd"], sp["Xn"], sp["simd"]

        def scores(i):
            r0, r1 = self._blocks[i]
            _kernels.csr_matmul(r0, r1, *Xd, Wd, E, simd)
            _kernels.feature_scores_add(r0, r1, *Xn, th_s, E, simd)
        self._run(scores)
        if self.pairs is None:
            nll, g = ops.crf_nll(E, self.T, self.y, lengths=self.batch.lengths,
                                 reduction="sum", n_threads=self.n_threads, out=sp["G"])
            G, g_trans = g.emissions, g.transitions.ravel()[self.t_flat]
        else:
            if "G2" not in sp:  # the pair states' emission gradient, reused
                sp["G2"] = np.empty((E.shape[0], self.pairs.n_states))
            nll, G, gT, gT3 = self.pairs.crf_nll(E, self.T, self.T3, self.y2,
                                                 self.batch.lengths, self.n_threads,
                                                 out=sp["G2"])
            g_trans = np.concatenate([gT.ravel()[self.t_flat], gT3.ravel()[self.t3_flat]])
        grad = np.empty(self.K)

        def backprop(i):
            r0, r1 = self._blocks[i]
            gs, gd = self._gbufs[i]
            gs.fill(0.0)
            gd.fill(0.0)
            _kernels.csr_tmatmul_add(r0, r1, *Xd, G, gd, simd)
            _kernels.feature_grads_add(r0, r1, *Xn, G, gs, simd)
        self._run(backprop)
        gs_tot, gd_tot = (b.copy() for b in self._gbufs[0])
        for gs_i, gd_i in self._gbufs[1:]:
            gs_tot += gs_i
            gd_tot += gd_i
        gs_tot[sp["s_d"]] += gd_tot.ravel()[sp["d_flat"]]
        grad[:self.Ks] = gs_tot
        grad[self.Ks:] = g_trans
        self.n_evals += 1
        return float(nll), grad


# feature_set counts (attribute, label) pairs in an array of this many entries at most
_DENSE_FEATURE_KEYS = 1 << 24


class FeatureCounts(NamedTuple):
    """What :func:`feature_set` counts in the training data, in a form that adds up over
    parts of it (:func:`add_feature_counts`).

    Attributes
    ----------
    state_keys : ndarray of int64
        The (attribute, label) pairs seen, as sorted keys ``attribute * N + label``.
    state_freq : ndarray of float64
        The frequency of each (the sum of the attribute's values on tokens with the label).
    attributes : ndarray of bool, shape (A,)
        Which attribute columns occur.
    transitions : ndarray of float64, shape (N * N,)
        How often each label pair ``previous * N + current`` occurs inside a sequence.
    """

    state_keys: np.ndarray
    state_freq: np.ndarray
    attributes: np.ndarray
    transitions: np.ndarray


def feature_counts(batch: Batch, y: np.ndarray, N: int) -> FeatureCounts:
    """The counts :func:`feature_set` selects its features from.

    Parameters
    ----------
    batch : Batch
        The training sequences.
    y : ndarray of int64, shape (n_tokens,)
        The gold label id of every token.
    N : int
        The number of labels.

    Returns
    -------
    FeatureCounts

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf.items import encode_items
    >>> from fastseq.crf.objective import feature_counts
    >>> batch, _ = encode_items([[{"w": "a"}, {"w": "a"}]], "X", None, fit=True)
    >>> c = feature_counts(batch, np.array([0, 1]), 2)
    >>> c.state_keys.tolist(), c.state_freq.tolist(), c.transitions.tolist()
    ([0, 1], [1.0, 1.0], [0.0, 1.0, 0.0, 0.0])
    """
    X = batch.X
    L, A = X.shape
    rows = np.repeat(np.arange(L, dtype=np.int64), np.diff(X.indptr))
    key = X.indices.astype(np.int64) * N + y[rows]
    freq: np.ndarray
    if A * N <= _DENSE_FEATURE_KEYS:
        # a count per possible (attribute, label): linear time where np.unique sorts
        uniq = np.flatnonzero(np.bincount(key, minlength=A * N))
        freq = np.bincount(key, weights=X.data, minlength=A * N)[uniq]
    else:
        uniq, inv = np.unique(key, return_inverse=True)
        freq = np.bincount(inv.ravel(), weights=X.data, minlength=uniq.size)
    # transitions inside sequences
    off = batch.offsets
    first = np.zeros(L, dtype=bool)
    first[off[:-1][batch.lengths > 0]] = True
    idx = np.flatnonzero(~first)
    tkey = y[idx - 1] * N + y[idx]
    tcount = np.bincount(tkey, minlength=N * N).astype(np.float64)
    return FeatureCounts(uniq.astype(np.int64), np.asarray(freq, dtype=np.float64),
                         np.bincount(X.indices, minlength=A) > 0, tcount)


def add_feature_counts(parts: Sequence[FeatureCounts]) -> FeatureCounts:
    """The counts of the concatenation of the data of ``parts`` (the same ``A`` and ``N``).

    Parameters
    ----------
    parts : sequence of FeatureCounts
        At least one.

    Returns
    -------
    FeatureCounts

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf.objective import FeatureCounts, add_feature_counts
    >>> a = FeatureCounts(np.array([0, 3]), np.array([1.0, 2.0]), np.array([True, True]),
    ...                   np.zeros(4))
    >>> b = FeatureCounts(np.array([3]), np.array([5.0]), np.array([False, True]),
    ...                   np.ones(4))
    >>> c = add_feature_counts([a, b])
    >>> c.state_keys.tolist(), c.state_freq.tolist(), c.transitions.tolist()
    ([0, 3], [1.0, 7.0], [1.0, 1.0, 1.0, 1.0])
    """
    if len(parts) == 1:
        return parts[0]
    keys = np.concatenate([p.state_keys for p in parts])
    uniq, inv = np.unique(keys, return_inverse=True)
    freq = np.bincount(inv.ravel(), weights=np.concatenate([p.state_freq for p in parts]),
                       minlength=uniq.size)
    attributes = np.logical_or.reduce([p.attributes for p in parts])
    transitions = np.sum([p.transitions for p in parts], axis=0)
    return FeatureCounts(uniq.astype(np.int64), freq, attributes, transitions)


def features_of_counts(counts: FeatureCounts, N: int, *, min_freq: float,
                       all_possible_states: bool, all_possible_transitions: bool
                       ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The features :func:`feature_set` selects from ``counts`` (same arguments and result).

    Parameters
    ----------
    counts : FeatureCounts
        From :func:`feature_counts` (or several added by :func:`add_feature_counts`).
    N : int
        The number of labels.
    min_freq : float
        The minimum frequency of a feature.
    all_possible_states : bool
        Add the (attribute, label) pairs never seen in training.
    all_possible_transitions : bool
        Add the label pairs never seen in training.

    Returns
    -------
    state_attr, state_label, trans_from, trans_to : ndarray of int64
        As :func:`feature_set` returns them.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf.objective import FeatureCounts, features_of_counts
    >>> c = FeatureCounts(np.array([0, 3]), np.array([1.0, 2.0]), np.array([True, True]),
    ...                   np.array([0.0, 2.0, 0.0, 0.0]))
    >>> [f.tolist() for f in features_of_counts(c, 2, min_freq=2, all_possible_states=False,
    ...                                         all_possible_transitions=False)]
    [[1], [1], [0], [1]]
    """
    uniq, freq = counts.state_keys, counts.state_freq
    if all_possible_states:
        attrs = np.flatnonzero(counts.attributes).astype(np.int64)
        allk = (attrs[:, None] * N + np.arange(N)[None, :]).ravel()
        f_all = np.zeros(allk.size)
        pos = np.searchsorted(allk, uniq)
        f_all[pos] = freq
        uniq, freq = allk, f_all
    keep = freq >= min_freq
    uniq = uniq[keep]
    s_attr, s_label = uniq // N, uniq % N
    tcount = counts.transitions
    if all_possible_transitions:
        tk = np.arange(N * N)
    else:
        tk = np.flatnonzero(tcount > 0)
    tk = tk[tcount[tk] >= min_freq]
    return s_attr, s_label, tk // N, tk % N


def feature_set(batch: Batch, y: np.ndarray, N: int, *, min_freq: float,
                all_possible_states: bool, all_possible_transitions: bool
                ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The features of a CRF trained on ``batch`` with label ids ``y``, as CRFsuite makes
    them.

    State features are the (attribute, label) pairs seen in training, transition features
    the label pairs seen in a row; ``all_possible_*`` adds the unseen ones (for the
    attributes that occur in ``batch``). A feature is kept when its frequency (the sum of
    the attribute's values; for transitions the count) is at least ``min_freq``.

    Parameters
    ----------
    batch : Batch
        The training sequences.
    y : ndarray of int64, shape (n_tokens,)
        The gold label id of every token.
    N : int
        The number of labels.
    min_freq : float
        The minimum frequency of a feature.
    all_possible_states : bool
        Add the (attribute, label) pairs never seen in training.
    all_possible_transitions : bool
        Add the label pairs never seen in training.

    Returns
    -------
    state_attr, state_label : ndarray of int64, shape (K_s,)
        The attribute column and the label of each state feature, sorted by attribute then
        label.
    trans_from, trans_to : ndarray of int64, shape (K_t,)
        The previous and the current label of each transition feature, sorted.

    See Also
    --------
    feature_counts, features_of_counts : The two steps, for data in parts.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf.items import encode_items
    >>> from fastseq.crf.objective import feature_set
    >>> batch, _ = encode_items([[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]],
    ...                         "X", None, fit=True)
    >>> feats = feature_set(batch, np.array([0, 1, 0, 1]), 2, min_freq=0.0,
    ...                     all_possible_states=False, all_possible_transitions=False)
    >>> [f.tolist() for f in feats]
    [[0, 1, 2, 3], [0, 1, 0, 1], [0], [1]]
    """
    return features_of_counts(feature_counts(batch, y, N), N, min_freq=min_freq,
                              all_possible_states=all_possible_states,
                              all_possible_transitions=all_possible_transitions)


def trigram_set(lengths: np.ndarray, y: np.ndarray, N: int, *,
                all_possible: bool) -> np.ndarray:
    """The trigram features of a second-order CRF trained on label ids ``y``: the label
    triples that occur (the first label may be the beginning of a sequence), or all of them.

    Parameters
    ----------
    lengths : ndarray of int64
        The sequence lengths.
    y : ndarray of int64
        The gold label ids, concatenated.
    N : int
        The number of labels.
    all_possible : bool
        All ``(N + 1) N^2`` triples.

    Returns
    -------
    ndarray of int64
        Sorted keys ``(a' N + b) N + c`` (see :mod:`fastseq.crf.second_order`).

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf.objective import trigram_set
    >>> trigram_set(np.array([3]), np.array([1, 0, 0]), 2, all_possible=False).tolist()
    [2, 8]
    """
    if all_possible:
        return np.arange((N + 1) * N * N, dtype=np.int64)
    state = LabelPairs(N).tags(y, lengths)
    inner = np.ones(y.size, dtype=bool)
    inner[(np.cumsum(lengths) - lengths)[lengths > 0]] = False
    t = np.flatnonzero(inner)
    return np.unique(state[t - 1] * N + y[t])
