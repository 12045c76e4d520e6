"""Linear-chain CRF with sklearn-crfsuite's API, trained on fastseq's batched kernels.

:class:`CRF` is a drop-in for ``sklearn_crfsuite.CRF``: same constructor arguments, same
defaults (those of CRFsuite), ``fit(X, y, X_dev, y_dev)``, ``predict``,
``predict_marginals``, ``score``, ``classes_``, ``state_features_``,
``transition_features_``, ``training_log_``.

>>> from fastseq.crf import CRF
>>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]]
>>> y = [["DET", "NOUN"], ["DET", "NOUN"]]
>>> CRF(c2=0.1).fit(X, y).predict([[{"w": "the"}, {"w": "cat"}]])
[['DET', 'NOUN']]

The model
---------
CRFsuite's first-order linear-chain CRF: *state features* ``(attribute, label)`` and
*transition features* ``(label, label)``; no start / end (BOS / EOS) features. The score of a
label sequence is the sum of the weights of its transitions plus, for every token, the sum of
``value * weight`` of its attributes paired with the token's label. Only features seen in the
training data exist (an attribute seen with labels ``B-NP`` and ``I-NP`` gets two weights,
unseen pairs stay 0) unless ``all_possible_states`` / ``all_possible_transitions``; a
feature is kept when its frequency (the sum of its attribute values, for transitions the
count) is at least ``min_freq``.

Training (``algorithm="lbfgs"``) minimises, as CRFsuite does,

    sum over training sequences of -log P(y | x)  +  c1 * ||w||_1  +  c2 * ||w||_2^2

(note: ``c2`` multiplies the squared norm itself, with no 1/2). With ``c1 > 0`` the optimiser
is OWL-QN (orthant-wise L-BFGS with a backtracking line search), otherwise L-BFGS with a
strong-Wolfe line search; ``num_memories`` corrections, first step ``1 / ||g||``. Stopping
rules are CRFsuite's (liblbfgs's): ``||g|| / max(1, ||w||) <= epsilon``; or
``(f[k - period] - f[k]) / f[k] < delta``; or ``max_iterations`` (0 = no limit).

The engine: all training tokens become ONE ``scipy.sparse`` CSR matrix ``X`` (tokens x
attributes) once; per evaluation the emission scores of every token are one sparse product
``E = X @ W`` (``W``: attributes x labels, zero outside the feature set), the loss and its
gradient with respect to the emission scores and transitions come from ONE call of
:func:`fastseq.ops.crf_nll` over all sequences (concatenated layout, C kernel, OpenMP over
sequences, GIL released), and the weight gradient is one sparse product ``X.T @ G``
gathered at the features. Both products skip the zeros of ``W``: the few attributes with
many labels (POS n-grams, bias) use a small dense block of ``W`` that stays in cache, all
others a sparse map with one entry per (token, feature) -- the work of CRFsuite's
per-feature loops, done by scipy's kernels. The products run on ``n_threads`` threads over a
fixed set of row blocks (results are bitwise the same for any ``n_threads``). Memory is
proportional to the number of non-zeros (times the labels per attribute); nothing is ever
tokens x attributes dense.

``algorithm="ap"`` is CRFsuite's averaged perceptron: sequences visited one at a time in a
shuffled order (a fixed seed), Viterbi with the current weights, ``+1`` for the features of
the gold path and ``-1`` for those of the predicted one when they differ, weights averaged
over all updates; stops after ``max_iterations`` epochs (default 100) or when the mean
fraction of wrongly labelled tokens per sequence drops below ``epsilon`` (default 0).

Features
--------
Each sequence in ``X`` is one of

* a list of token features in python-crfsuite's format -- per token a dict
  ``{name: value}`` or a list of str names. A str value ``v`` of key ``k`` is the attribute
  ``"k:v"`` with weight 1 (python-crfsuite joins with ``":"``); a number (bool, int, float)
  is the weight of the attribute ``k``; a nested dict, list or set prefixes its attributes with
  ``"k:"``; a list of str gives weight-1 attributes. Repeated attributes add up (CRFsuite
  sums their contributions). A ``pycrfsuite.ItemSequence`` works too;
* a ``scipy.sparse`` matrix or 2-D numpy array (tokens x features) for users with their own
  features (attribute ``j`` is column ``j``, named ``"j"``; every sequence needs the same
  number of columns);

or ``X`` as a whole is a :class:`fastseq.features.Featurized` batch (the fast path of
:mod:`fastseq.features`: a CSR matrix already). Attributes never seen in training are ignored
at prediction time.

File format
-----------
:meth:`CRF.save` writes one ZIP archive (the ``.npz`` container) holding

* ``model.json`` -- UTF-8 JSON: ``"format": "fastseq.CRF"``, ``"format_version": 1``, the
  fastseq version, the constructor parameters, ``"labels"`` (in model order),
  ``"attributes"`` (attribute names, in column order), ``"input"`` (what kind of ``X`` the
  model was trained on), a training summary and the manifest of the arrays;
* ``arrays/<name>.npy`` -- plain numeric arrays: ``state_attr`` / ``state_label`` (int64
  indices into attributes / labels) and ``state_weight`` (float64) for the state features,
  ``trans_from`` / ``trans_to`` / ``trans_weight`` for the transition features.

:meth:`CRF.load` never executes code from the file (JSON parsed as data, arrays read with
``allow_pickle=False``), checks every member, dtype, shape and index range and raises
``ValueError`` for anything unexpected.

Differences from sklearn-crfsuite
---------------------------------
* ``algorithm`` is ``"lbfgs"`` or ``"ap"`` (``"l2sgd"``, ``"pa"``, ``"arow"`` raise); the
  parameters of those other algorithms are not accepted.
* ``predict`` and ``predict_marginals`` return lists (sklearn-crfsuite 0.5 returns numpy
  object arrays, which become 2-D when all sequences have the same length).
* weights in ``state_features_`` / ``transition_features_`` are exact (CRFsuite's are read
  back from a text dump with 6 decimals); like CRFsuite's, they hold the non-zero weights.
* negative ``c1`` / ``c2``, NaN / inf feature values, labels that are not str, and labels in
  ``y_dev`` unseen in ``y`` raise (CRFsuite silently accepts some of them).
* the model lives in memory (pickle it, or use :meth:`save` / :meth:`load`); there are no
  temporary model files.
"""
from __future__ import annotations

import fractions
import math
import numbers
import os
import sys
import time
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Tuple

import numpy as np

from ._archive import check_model
from ._archive import read_archive as _read_archive
from ._archive import write_archive as _write_archive
from scipy import sparse

from . import ops
from .exceptions import NotFittedError

__all__ = ["CRF", "TrainingLog", "LabelScore", "NotFittedError", "FORMAT_VERSION",
           "crfsuite_items"]

#: version of the file format written by :meth:`CRF.save`
FORMAT_VERSION = 1
_FORMAT = "fastseq.CRF"

_ALGORITHMS = ("lbfgs", "ap")
_UNSUPPORTED = ("l2sgd", "pa", "arow")
_LINESEARCHES = ("MoreThuente", "Backtracking", "StrongBacktracking")

#: per-label holdout scores, as python-crfsuite's log parser reports them
LabelScore = namedtuple("LabelScore", "match model ref precision recall f1")


# ---------------------------------------------------------------------------------------------
# python-crfsuite feature semantics
# ---------------------------------------------------------------------------------------------

def _key_str(k, where):
    if isinstance(k, str):
        return k
    if isinstance(k, bytes):
        return k.decode("utf-8")
    raise TypeError(f"{where}: feature names must be str, got {type(k).__name__} {k!r}")


def _flatten(x, prefix, names, vals, where):
    """Append the (name, value) attributes of python-crfsuite item ``x`` (see the module
    docstring) to ``names`` / ``vals``."""
    if isinstance(x, dict):
        for k, v in x.items():
            key = prefix + _key_str(k, where)
            tv = type(v)
            if tv is str:
                names.append(key + ":" + v)
                vals.append(1.0)
            elif tv is float or tv is int or tv is bool:
                vals.append(float(v))
                names.append(key)
            elif isinstance(v, (dict, list, set, frozenset)):
                _flatten(v, key + ":", names, vals, where)
            elif isinstance(v, str):
                names.append(key + ":" + str(v))
                vals.append(1.0)
            elif isinstance(v, bytes):
                names.append(key + ":" + v.decode("utf-8"))
                vals.append(1.0)
            elif isinstance(v, (numbers.Real, np.bool_)):
                vals.append(float(v))
                names.append(key)
            else:
                raise TypeError(f"{where}: the value of feature {key!r} must be str, bool, int, "
                                f"float, dict, list or set, got {type(v).__name__} {v!r}")
    elif isinstance(x, (str, bytes)):
        raise TypeError(f"{where}: a token's features must be a dict or a list of str, got "
                        f"a {type(x).__name__} {x[:40]!r} (python-crfsuite would read its "
                        "characters as features)")
    else:
        try:
            it = iter(x)
        except TypeError:
            raise TypeError(f"{where}: a token's features must be a dict or a list of str, "
                            f"got {type(x).__name__}") from None
        for k in it:
            names.append(prefix + _key_str(k, where))
            vals.append(1.0)


def crfsuite_items(xseq) -> List[List[Tuple[str, float]]]:
    """The attributes python-crfsuite makes of one sequence of token features:
    per token the list of ``(name, value)`` pairs (duplicates kept, in order).

    >>> crfsuite_items([{"w": "dog", "len": 3, "f": {"a": True}}, ["x", "y"]])
    [[('w:dog', 1.0), ('len', 3.0), ('f:a', 1.0)], [('x', 1.0), ('y', 1.0)]]
    """
    out = []
    for t, tok in enumerate(xseq):
        names, vals = [], []
        _flatten(tok, "", names, vals, f"token {t}")
        out.append(list(zip(names, vals)))
    return out


# ---------------------------------------------------------------------------------------------
# input encoding
# ---------------------------------------------------------------------------------------------

class _Batch:
    """Sequences as one CSR matrix over the model's attribute columns."""

    __slots__ = ("X", "lengths", "offsets")

    def __init__(self, X, lengths):
        self.X = X
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.offsets = np.zeros(self.lengths.size + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=self.offsets[1:])


def _is_featurized(X) -> bool:
    return (hasattr(X, "matrix") and hasattr(X, "lengths") and hasattr(X, "space")
            and sparse.issparse(X.matrix))


def _is_matrix(x) -> bool:
    return sparse.issparse(x) or (isinstance(x, np.ndarray) and x.ndim == 2)


def _as_seq_list(X, name):
    if isinstance(X, (str, bytes, dict)) or X is None:
        raise TypeError(f"`{name}` must be a list of sequences, got {type(X).__name__}")
    if isinstance(X, np.ndarray) and X.dtype != object:
        raise TypeError(f"`{name}` must be a list of sequences (one feature matrix or one list "
                        f"of token features per sequence), got a numeric array of shape "
                        f"{X.shape}")
    try:
        return X if isinstance(X, list) else list(X)
    except TypeError:
        raise TypeError(f"`{name}` must be a list of sequences, got {type(X).__name__}") from None


def _input_kind(X, name) -> str:
    if _is_featurized(X):
        return "featurized"
    seqs = _as_seq_list(X, name)
    kinds = set()
    for x in seqs:
        if _is_matrix(x):
            kinds.add("matrix")
        else:
            kinds.add("items")
        if len(kinds) > 1:
            raise TypeError(f"`{name}` mixes feature matrices and lists of token features")
    return kinds.pop() if kinds else "items"


def _check_matrix(x, name, i):
    if sparse.issparse(x):
        m = x.tocsr()
    else:
        m = x
    dt = m.dtype
    if dt.kind not in "biuf":
        raise TypeError(f"`{name}[{i}]` must hold real numbers, got dtype {dt}")
    data = m.data if sparse.issparse(m) else m
    if data.size and not np.all(np.isfinite(data)):
        raise ValueError(f"`{name}[{i}]` contains NaN or inf")
    return m


def _labels_of(y, name) -> List[List[str]]:
    seqs = _as_seq_list(y, name)
    out = []
    for i, s in enumerate(seqs):
        if isinstance(s, (str, bytes)):
            raise TypeError(f"`{name}[{i}]` must be a list of str labels, got a "
                            f"{type(s).__name__}")
        try:
            s = list(s)
        except TypeError:
            raise TypeError(f"`{name}[{i}]` must be a list of str labels, got "
                            f"{type(s).__name__}") from None
        for t, lab in enumerate(s):
            if not isinstance(lab, str):
                raise TypeError(f"`{name}[{i}][{t}]` must be a str label, got "
                                f"{type(lab).__name__} {lab!r}")
        out.append(s)
    return out


def _check_aligned(lengths: np.ndarray, labels: List[List[str]], xname: str, yname: str):
    """ValueError unless the sequences of ``xname`` (``lengths`` items each) and the label
    sequences of ``yname`` correspond one to one, item for label."""
    if len(labels) != len(lengths):
        raise ValueError(f"`{xname}` and `{yname}` must have the same number of sequences, "
                         f"got {len(lengths)} and {len(labels)}")
    for i, (n, lab) in enumerate(zip(lengths.tolist(), labels)):
        if n != len(lab):
            raise ValueError(f"The numbers of items and labels differ: `{xname}[{i}]` has {n} "
                             f"items, `{yname}[{i}]` has {len(lab)} labels")


# ---------------------------------------------------------------------------------------------
# training log
# ---------------------------------------------------------------------------------------------

class TrainingLog:
    """What training did, in the shape of python-crfsuite's log parser
    (``sklearn_crfsuite.CRF.training_log_``).

    ``iterations`` : one dict per iteration with ``num``, ``loss`` (the objective, including
    regularisation), ``feature_norm``, ``error_norm`` (gradient norm; pseudo-gradient with L1),
    ``active_features`` (non-zero weights), ``linesearch_trials``, ``linesearch_step``,
    ``time`` (seconds) and ``scores`` -- with holdout data also ``avg_precision``,
    ``avg_recall``, ``avg_f1``, ``item_accuracy`` (a Fraction), ``item_accuracy_float``,
    ``instance_accuracy``, ``instance_accuracy_float`` and per-label
    :data:`LabelScore` in ``scores``. ``last_iteration`` is the final dict.
    ``featgen_num_features``, ``featgen_seconds``, ``training_seconds``, ``stop_reason``.
    """

    def __init__(self, algorithm: str):
        self.algorithm = algorithm
        self.iterations: List[dict] = []
        self.last_iteration: Optional[dict] = None
        self.featgen_num_features: Optional[int] = None
        self.featgen_seconds: Optional[float] = None
        self.training_seconds: Optional[float] = None
        self.stop_reason: Optional[str] = None

    def append(self, it: dict) -> None:
        self.iterations.append(it)
        self.last_iteration = it

    def __len__(self) -> int:
        return len(self.iterations)

    def __repr__(self) -> str:
        return (f"TrainingLog({self.algorithm}, {len(self.iterations)} iterations, "
                f"stop: {self.stop_reason})")

    def as_dict(self) -> dict:
        def clean(it):
            d = {}
            for k, v in it.items():
                if k == "scores":
                    d[k] = {lab: s._asdict() for lab, s in v.items()}
                elif isinstance(v, fractions.Fraction):
                    d[k] = [v.numerator, v.denominator]
                else:
                    d[k] = v
            return d
        return {"algorithm": self.algorithm, "iterations": [clean(i) for i in self.iterations],
                "featgen_num_features": self.featgen_num_features,
                "featgen_seconds": self.featgen_seconds,
                "training_seconds": self.training_seconds, "stop_reason": self.stop_reason}


# ---------------------------------------------------------------------------------------------
# sparse products on several threads
# ---------------------------------------------------------------------------------------------

try:  # scipy's accumulating kernels (y += A @ x), used to avoid temporaries; optional
    from scipy.sparse import _sparsetools as _st

    def _probe():
        X = sparse.csr_matrix(np.array([[1.0, 0.0], [2.0, 3.0]]))
        W = np.array([[1.0, 2.0], [3.0, 4.0]])
        Y = np.zeros((2, 2))
        _st.csr_matvecs(2, 2, 2, X.indptr, X.indices, X.data, W.ravel(), Y.ravel())
        O = np.zeros((2, 2))
        _st.csc_matvecs(2, 2, 2, X.indptr, X.indices, X.data, W.ravel(), O.ravel())
        return np.array_equal(Y, X @ W) and np.array_equal(O, X.T @ W)
    _HAVE_ST = bool(_probe())

    def _probe_coo():
        y = np.zeros(3)
        _st.coo_matvec(3, np.array([0, 0, 2], np.int32), np.array([1, 0, 1], np.int32),
                       np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0]), y)
        return np.array_equal(y, [40.0, 0.0, 60.0])
    _HAVE_COO = _HAVE_ST and bool(_probe_coo())
except Exception:  # pragma: no cover - any scipy without them
    _st = None
    _HAVE_ST = _HAVE_COO = False


class _SparseOps:
    """``X @ W`` (dense W) for a fixed CSR ``X``, split by rows over threads (scipy's sparse
    kernels release the GIL); written straight into the output where scipy's accumulating
    kernel is available. Used for prediction and holdout evaluation."""

    def __init__(self, X, n_threads: int, pool=None):
        self.X = X
        self.n_threads = max(1, int(n_threads))
        L, A = X.shape
        n = max(1, min(self.n_threads, L // 2048 if L >= 4096 else 1))
        self.pool = pool if n > 1 else None
        if self.pool is None:
            n = 1
        cuts = np.searchsorted(X.indptr, np.linspace(0, X.nnz, n + 1)[1:-1])
        bounds = [0] + sorted(set(int(c) for c in cuts if 0 < c < L)) + [L]
        self.blocks = []
        for r0, r1 in zip(bounds[:-1], bounds[1:]):
            p0, p1 = int(X.indptr[r0]), int(X.indptr[r1])
            indptr = (X.indptr[r0:r1 + 1] - p0).astype(X.indices.dtype)
            blk = sparse.csr_matrix((X.data[p0:p1], X.indices[p0:p1], indptr),
                                    shape=(r1 - r0, A))
            self.blocks.append((r0, r1, blk))
        self.n = len(self.blocks)

    def _run(self, fn):
        if self.n == 1:
            return [fn(self.blocks[0])]
        return list(self.pool.map(fn, self.blocks))

    def matmul(self, W):
        """``X @ W`` (dense, C-contiguous W) -> (rows, W.shape[1])."""
        N = W.shape[1]
        if not _HAVE_ST:
            parts = self._run(lambda b: np.asarray(b[2] @ W))
            return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
        E = np.zeros((self.X.shape[0], N))
        Wf = W.ravel()

        def work(b):
            r0, r1, m = b
            _st.csr_matvecs(r1 - r0, m.shape[1], N, m.indptr, m.indices, m.data, Wf,
                            E[r0:r1].ravel())
        self._run(work)
        return E


# ---------------------------------------------------------------------------------------------
# the training objective
# ---------------------------------------------------------------------------------------------

_MAX_BLOCKS = 8
_BLOCK_TOKENS = 4096


class _Objective:
    """Sum over sequences of the CRF negative log-likelihood (no regularisation) and its
    gradient, for the parameter vector ``theta = [state weights, transition weights]``.

    The emission scores ``E = X @ W`` and the weight gradient ``X.T @ G`` are computed in
    two parts. Attributes with many labels (more than ``N // 4`` state features: POS
    n-grams, "bias", ...) are few but frequent: they form a small dense ``W_d`` (fits in
    cache) multiplied by their columns of ``X``. Every other attribute touches only its few
    features: each (token, feature) pair is one entry of a sparse map from the feature
    weights straight to ``E`` (and from ``G`` back to the gradient). This does the work of
    CRFsuite's per-feature loops without ever touching the zeros of ``W``.
    """

    def __init__(self, batch: _Batch, y: np.ndarray, N: int, s_attr, s_label, t_from, t_to,
                 n_threads: int, pool):
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
        self.n_threads = n_threads
        self.pool = pool
        self._W = None
        self._split = None
        self.n_evals = 0

    @property
    def W(self):
        if self._W is None:
            self._W = np.zeros((self.A, self.N))
        return self._W

    def to_internal(self, M):
        """CSR ``M`` over the model's attribute columns -> over the internal numbering."""
        return sparse.csr_matrix((M.data, self.newid[M.indices].astype(M.indices.dtype),
                                  M.indptr), shape=M.shape)

    def set_weights(self, theta):
        """Fill the dense ``W`` (internal numbering) and ``T`` from ``theta``."""
        self.W.ravel()[self.s_flat] = theta[:self.Ks]
        self.T.ravel()[self.t_flat] = theta[self.Ks:]

    # -- the split representation used by __call__ ------------------------------------------
    def _prepare(self):
        X = self.batch.X
        L, A = X.shape
        N = self.N
        per_attr = np.bincount(self.s_attr, minlength=A)
        tau = max(1, N // 4) if _HAVE_COO else -1
        dense_attr = per_attr > tau
        # dense part: columns of the wide attributes, renumbered 0..Ad-1
        d_ids = np.flatnonzero(dense_attr)
        Ad = d_ids.size
        d_new = np.full(A, -1, dtype=np.int64)
        d_new[d_ids] = np.arange(Ad)
        rows = np.repeat(np.arange(L, dtype=np.int64), np.diff(X.indptr))
        cols = X.indices.astype(np.int64)
        is_d = dense_attr[cols]
        itype = np.int32 if max(L, Ad, X.nnz) < 2**31 - 1 else np.int64
        counts = np.bincount(rows[is_d], minlength=L)
        indptr = np.zeros(L + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        Xd = sparse.csr_matrix((X.data[is_d], d_new[cols[is_d]].astype(itype),
                                indptr.astype(itype)), shape=(L, Ad))
        s_d = np.flatnonzero(dense_attr[self.s_attr])
        d_flat = d_new[self.s_attr[s_d]] * N + self.s_label[s_d]
        # narrow part: one entry per (token, feature of a narrow attribute)
        order = np.argsort(self.s_attr, kind="stable")          # features grouped by attribute
        first = np.zeros(A + 1, dtype=np.int64)
        np.cumsum(per_attr, out=first[1:])
        nar = ~is_d & (per_attr[cols] > 0)
        n_rows, n_cols, n_vals = rows[nar], cols[nar], X.data[nar]
        c = per_attr[n_cols]
        tot = int(c.sum())
        rep_start = np.repeat(np.cumsum(c) - c, c)
        within = np.arange(tot, dtype=np.int64) - rep_start
        feat = order[np.repeat(first[n_cols], c) + within]       # feature index into theta
        rowflat = np.repeat(n_rows, c) * N + self.s_label[feat]
        jtype = np.int32 if max(L * N, self.Ks) < 2**31 - 1 else np.int64
        self._split = {
            "Xd": Xd, "Ad": Ad, "s_d": s_d, "d_flat": d_flat,
            "rowflat": rowflat.astype(jtype), "feat": feat.astype(jtype),
            "vals": np.repeat(n_vals, c),
            "Wd": np.zeros((Ad, N)),
        }
        # Row blocks for the thread pool (entries of the narrow map are ordered by token).
        # Their number depends on the data only, and the per-block gradients are added in
        # block order, so the result is bitwise the same for every n_threads.
        nb = int(min(_MAX_BLOCKS, max(1, L // _BLOCK_TOKENS)))
        cuts = [0] + [int(x) for x in np.linspace(0, L, nb + 1)[1:-1]] + [L]
        tok = np.repeat(n_rows, c)
        blocks = []
        for r0, r1 in zip(cuts[:-1], cuts[1:]):
            p0, p1 = int(Xd.indptr[r0]), int(Xd.indptr[r1])
            q0, q1 = np.searchsorted(tok, [r0, r1])
            blocks.append((r0, r1, p0, p1, int(q0), int(q1)))
        self._blocks = blocks
        self._gbufs = [(np.zeros(self.Ks), np.zeros((Ad, N))) for _ in blocks]

    def _run(self, fn):
        if len(self._blocks) == 1 or self.pool is None:
            return [fn(i) for i in range(len(self._blocks))]
        return list(self.pool.map(fn, range(len(self._blocks))))

    def __call__(self, theta):
        if self._split is None:
            self._prepare()
        sp = self._split
        N, L = self.N, self.batch.X.shape[0]
        th_s = np.ascontiguousarray(theta[:self.Ks])
        Wd = sp["Wd"]
        Wd.ravel()[sp["d_flat"]] = th_s[sp["s_d"]]
        self.T.ravel()[self.t_flat] = theta[self.Ks:]
        E = np.zeros((L, N))
        Xd = sp["Xd"]
        Ad = sp["Ad"]
        rowflat, feat, vals = sp["rowflat"], sp["feat"], sp["vals"]

        def scores(i):
            r0, r1, p0, p1, q0, q1 = self._blocks[i]
            if p1 > p0:
                _st.csr_matvecs(r1 - r0, Ad, N, Xd.indptr[r0:r1 + 1] - Xd.indptr[r0],
                                Xd.indices[p0:p1], Xd.data[p0:p1], Wd.ravel(),
                                E[r0:r1].ravel())
            if q1 > q0:
                _st.coo_matvec(q1 - q0, rowflat[q0:q1], feat[q0:q1], vals[q0:q1], th_s,
                               E.ravel())
        if _HAVE_ST:
            self._run(scores)
        else:  # pragma: no cover - scipy without the accumulating kernels
            E = np.asarray(Xd @ Wd)
            np.add.at(E.ravel(), rowflat, vals * th_s[feat])
        nll, g = ops.crf_nll(E, self.T, self.y, lengths=self.batch.lengths, reduction="sum",
                             n_threads=self.n_threads)
        G = np.ascontiguousarray(g.emissions)
        grad = np.empty(self.K)

        def backprop(i):
            r0, r1, p0, p1, q0, q1 = self._blocks[i]
            gs, gd = self._gbufs[i]
            gs.fill(0.0)
            gd.fill(0.0)
            if p1 > p0:
                _st.csc_matvecs(Ad, r1 - r0, N, Xd.indptr[r0:r1 + 1] - Xd.indptr[r0],
                                Xd.indices[p0:p1], Xd.data[p0:p1], G[r0:r1].ravel(),
                                gd.ravel())
            if q1 > q0:
                _st.coo_matvec(q1 - q0, feat[q0:q1], rowflat[q0:q1], vals[q0:q1], G.ravel(),
                               gs)
            return i
        if _HAVE_ST:
            self._run(backprop)
            gs_tot, gd_tot = self._gbufs[0]
            gs_tot = gs_tot.copy()
            gd_tot = gd_tot.copy()
            for gs_i, gd_i in self._gbufs[1:]:
                gs_tot += gs_i
                gd_tot += gd_i
        else:  # pragma: no cover
            gd_tot = np.asarray(Xd.T @ G)
            gs_tot = np.bincount(feat, weights=vals * G.ravel()[rowflat], minlength=self.Ks)
        gs_tot[sp["s_d"]] += gd_tot.ravel()[sp["d_flat"]]
        grad[:self.Ks] = gs_tot
        grad[self.Ks:] = g.transitions.ravel()[self.t_flat]
        self.n_evals += 1
        return float(nll), grad


# ---------------------------------------------------------------------------------------------
# L-BFGS / OWL-QN (liblbfgs's algorithm and stopping rules, as CRFsuite uses them)
# ---------------------------------------------------------------------------------------------

class _LineSearchError(RuntimeError):
    pass


def _cubic_min(a, fa, da, b, fb, db):
    """Minimiser of the cubic interpolating (a, fa, da), (b, fb, db); None if undefined."""
    d1 = da + db - 3.0 * (fa - fb) / (a - b)
    rad = d1 * d1 - da * db
    if rad < 0:
        return None
    d2 = math.copysign(math.sqrt(rad), b - a)
    den = db - da + 2.0 * d2
    if den == 0:
        return None
    x = b - (b - a) * (db + d2 - d1) / den
    return x if math.isfinite(x) else None


def _wolfe_search(phi, f0, dg0, step, ftol, gtol, max_trials):
    """Line search for the strong Wolfe conditions (bracketing + zoom with cubic
    interpolation). ``phi(a) -> (f, g, dg)``. Returns (a, f, g, trials)."""
    trials = 0
    a_prev, f_prev, dg_prev, g_prev = 0.0, f0, dg0, None
    a = step
    best = None

    def zoom(lo, hi, trials):
        # the bracket ends: (step, f, directional derivative[, gradient at the low end])
        (a_lo, f_lo, dg_lo, g_lo), (a_hi, f_hi, dg_hi, _) = lo, hi
        while trials < max_trials:
            lo_b, hi_b = min(a_lo, a_hi), max(a_lo, a_hi)
            width = hi_b - lo_b
            c = _cubic_min(a_lo, f_lo, dg_lo, a_hi, f_hi, dg_hi)
            if c is None or not (lo_b + 0.1 * width <= c <= hi_b - 0.1 * width):
                c = 0.5 * (a_lo + a_hi)
            f, g, dg = phi(c)
            trials += 1
            if not math.isfinite(f) or f > f0 + ftol * c * dg0 or f >= f_lo:
                a_hi, f_hi, dg_hi = c, f, dg
            else:
                if abs(dg) <= -gtol * dg0:
                    return c, f, g, trials
                if dg * (a_hi - a_lo) >= 0:
                    a_hi, f_hi, dg_hi = a_lo, f_lo, dg_lo
                a_lo, f_lo, dg_lo, g_lo = c, f, dg, g
            if width < 1e-16 * max(1.0, hi_b):
                break
        if g_lo is not None and a_lo > 0 and f_lo <= f0 + ftol * a_lo * dg0:
            return a_lo, f_lo, g_lo, trials  # sufficient decrease holds: accept
        raise _LineSearchError("the line search did not find a point satisfying the Wolfe "
                               "conditions")

    while trials < max_trials:
        f, g, dg = phi(a)
        trials += 1
        if not math.isfinite(f) or f > f0 + ftol * a * dg0 or (trials > 1 and f >= f_prev):
            return zoom((a_prev, f_prev, dg_prev, g_prev), (a, f, dg, g), trials)
        if abs(dg) <= -gtol * dg0:
            return a, f, g, trials
        if dg >= 0:
            return zoom((a, f, dg, g), (a_prev, f_prev, dg_prev, g_prev), trials)
        best = (a, f, g)
        a_prev, f_prev, dg_prev, g_prev = a, f, dg, g
        a = a * 4.0
    if best is not None:
        return best[0], best[1], best[2], trials
    raise _LineSearchError("the line search reached its maximum number of trials")


def _pseudo_gradient(x, g, c1):
    pg = g.copy()
    pos, neg, zero = x > 0, x < 0, x == 0
    pg[pos] += c1
    pg[neg] -= c1
    gz = g[zero]
    pz = np.where(gz + c1 < 0, gz + c1, np.where(gz - c1 > 0, gz - c1, 0.0))
    pg[zero] = pz
    return pg


def _lbfgs(fun, x, *, c1, c2, m, epsilon, past, delta, max_iterations, linesearch,
           max_linesearch, progress):
    """Minimise ``fun(x)[0] + c2 ||x||^2 + c1 ||x||_1``; ``fun(x) -> (f, g)`` (the data
    part). ``progress(k, x, f, xnorm, gnorm, step, trials)`` is called after every
    iteration. Returns (x, reason)."""
    ftol, gtol = 1e-4, 0.9

    def evaluate(z):
        f, g = fun(z)
        if c2 > 0:
            f += c2 * float(z @ z)
            g += (2.0 * c2) * z
        return f, g

    f, g = evaluate(x)
    if c1 > 0:
        f += c1 * float(np.abs(x).sum())
        pg = _pseudo_gradient(x, g, c1)
    else:
        pg = g
    pf = [f] * past if past > 0 else None
    d = -pg
    xnorm = max(1.0, float(np.linalg.norm(x)))
    gnorm = float(np.linalg.norm(pg))
    if gnorm / xnorm <= epsilon:
        return x, "the initial weights are already a minimiser"
    step = 1.0 / gnorm if gnorm > 0 else 1.0
    S, Y, RHO = [], [], []
    k = 1
    while True:
        xp, gp, fp = x, g, f
        if c1 > 0:
            # OWL-QN: backtracking, each trial projected onto the orthant of xp (or -pg)
            orth = np.sign(xp)
            z0 = orth == 0
            orth[z0] = -np.sign(pg[z0])
            trials = 0
            while True:
                xt = xp + step * d
                xt[np.sign(xt) != orth] = 0.0
                ft, gt = evaluate(xt)
                ft += c1 * float(np.abs(xt).sum())
                trials += 1
                if ft <= fp + ftol * float((xt - xp) @ pg):
                    break
                if trials >= max_linesearch:
                    return xp, "the line search failed (maximum number of trials)"
                step *= 0.5
            x, f, g = xt, ft, gt
            pg = _pseudo_gradient(x, g, c1)
        else:
            dg0 = float(g @ d)
            if dg0 >= 0:  # not a descent direction: restart from steepest descent
                S, Y, RHO = [], [], []
                d = -g
                dg0 = -float(g @ g)

            def phi(a, xp=xp, d=d):
                z = xp + a * d
                fz, gz = evaluate(z)
                return fz, gz, float(gz @ d)
            try:
                step, f, g, trials = _wolfe_search(phi, fp, dg0, step, ftol, gtol,
                                                   max_linesearch)
            except _LineSearchError as exc:
                return xp, str(exc)
            x = xp + step * d
            pg = g
        xnorm = float(np.linalg.norm(x))
        gnorm = float(np.linalg.norm(pg))
        progress(k, x, f, xnorm, gnorm, step, trials)
        if gnorm / max(1.0, xnorm) <= epsilon:
            return x, "converged (gradient norm below epsilon)"
        if pf is not None:
            if past <= k:
                rate = (pf[k % past] - f) / f if f != 0 else 0.0
                if rate < delta:
                    return x, f"stopping criterion (improvement over {past} iterations " \
                              f"below delta)"
            pf[k % past] = f
        if max_iterations and k + 1 > max_iterations:
            return x, "maximum number of iterations"
        s = x - xp
        yv = g - gp
        ys = float(yv @ s)
        yy = float(yv @ yv)
        if ys > 1e-12 * max(yy, 1e-300) and yy > 0:
            S.append(s)
            Y.append(yv)
            RHO.append(1.0 / ys)
            if len(S) > m:
                S.pop(0)
                Y.pop(0)
                RHO.pop(0)
        q = -pg.copy()
        if S:
            alphas = []
            for s_i, y_i, r_i in zip(reversed(S), reversed(Y), reversed(RHO)):
                a_i = r_i * float(s_i @ q)
                alphas.append(a_i)
                q -= a_i * y_i
            q *= 1.0 / (RHO[-1] * float(Y[-1] @ Y[-1]))
            for (s_i, y_i, r_i), a_i in zip(zip(S, Y, RHO), reversed(alphas)):
                b = r_i * float(y_i @ q)
                q += (a_i - b) * s_i
        d = q
        if c1 > 0:
            d[d * pg >= 0] = 0.0
            if not np.any(d):
                return x, "converged (no descent direction left)"
        step = 1.0
        k += 1


# ---------------------------------------------------------------------------------------------
# the estimator
# ---------------------------------------------------------------------------------------------

_PARAM_NAMES = ("algorithm", "min_freq", "all_possible_states", "all_possible_transitions",
                "c1", "c2", "max_iterations", "num_memories", "epsilon", "period", "delta",
                "linesearch", "max_linesearch", "verbose", "n_threads")


def _real(value, name, lo=None, allow_none=True):
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be finite, got {value}")
    if lo is not None and value < lo:
        raise ValueError(f"`{name}` must be >= {lo}, got {value}")
    return value


def _int(value, name, lo, allow_none=True):
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if value < lo:
        raise ValueError(f"`{name}` must be >= {lo}, got {value}")
    return value


def _bool(value, name):
    if value is None:
        return False
    if not isinstance(value, (bool, np.bool_, int)) or (isinstance(value, int)
                                                       and value not in (0, 1)):
        raise TypeError(f"`{name}` must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


class CRF:
    """Linear-chain CRF, a drop-in for ``sklearn_crfsuite.CRF`` (see the module docstring).

    Parameters
    ----------
    algorithm : {"lbfgs", "ap"}, default "lbfgs"
        L-BFGS (OWL-QN when ``c1 > 0``) on the regularised log-likelihood, or the averaged
        perceptron.
    min_freq : float, default 0
        Keep only features whose frequency in the training data is at least this.
    all_possible_states, all_possible_transitions : bool, default False
        Also create the state features of every (attribute, label) pair / the transition
        features of every label pair, including those never seen in training.
    c1, c2 : float, default 0 and 1 (lbfgs only)
        L1 and L2 coefficients of the objective ``NLL + c1 ||w||_1 + c2 ||w||^2``.
    max_iterations : int, optional
        lbfgs: default unlimited (0 also means unlimited); ap: default 100 epochs.
    num_memories : int, default 6
        L-BFGS corrections kept.
    epsilon : float, default 1e-5 (lbfgs), 0 (ap)
        lbfgs: stop when ``||g|| / max(1, ||w||) <= epsilon``; ap: stop when the mean
        per-sequence error rate of an epoch is below it.
    period : int, default 10; delta : float, default 1e-5
        lbfgs: stop when the objective improved by less than ``delta`` (relative) over the
        last ``period`` iterations.
    linesearch : {"MoreThuente", "Backtracking", "StrongBacktracking"}, default "MoreThuente"
        Accepted for compatibility; L-BFGS always uses a strong-Wolfe search, OWL-QN (c1 > 0)
        backtracking, as CRFsuite does for L1.
    max_linesearch : int, default 20
        Maximum number of trials per line search.
    verbose : bool, default False
        Print one line per iteration to stderr (iteration, loss, gradient norm, active
        features, seconds, and holdout scores when ``X_dev`` is given).
    n_threads : int, optional
        Threads for the kernels and the sparse products (None: every core the process may
        use, -1: all cores).

    Attributes (after fit)
    ----------------------
    classes_ : list of str -- labels in model order (order of first appearance in ``y``).
    attributes_ : list of str -- attribute names in column order.
    state_features_ : dict ``{(attribute, label): weight}`` of non-zero weights.
    transition_features_ : dict ``{(label_from, label_to): weight}`` of non-zero weights.
    training_log_ : :class:`TrainingLog`.
    num_attributes_, size_ (number of features).
    """

    def __init__(self, algorithm=None, min_freq=None, all_possible_states=None,
                 all_possible_transitions=None, c1=None, c2=None, max_iterations=None,
                 num_memories=None, epsilon=None, period=None, delta=None, linesearch=None,
                 max_linesearch=None, verbose=False, n_threads=None):
        self.algorithm = algorithm
        self.min_freq = min_freq
        self.all_possible_states = all_possible_states
        self.all_possible_transitions = all_possible_transitions
        self.c1 = c1
        self.c2 = c2
        self.max_iterations = max_iterations
        self.num_memories = num_memories
        self.epsilon = epsilon
        self.period = period
        self.delta = delta
        self.linesearch = linesearch
        self.max_linesearch = max_linesearch
        self.verbose = verbose
        self.n_threads = n_threads
        self.training_log_ = None

    # -- scikit-learn protocol -------------------------------------------------------------
    def get_params(self, deep=True):
        """Constructor parameters (scikit-learn protocol)."""
        return {p: getattr(self, p) for p in _PARAM_NAMES}

    def set_params(self, **params):
        """Set constructor parameters (scikit-learn protocol); returns ``self``."""
        for k, v in params.items():
            if k not in _PARAM_NAMES:
                raise ValueError(f"Invalid parameter {k!r} for CRF; valid parameters: "
                                 f"{list(_PARAM_NAMES)}")
            setattr(self, k, v)
        return self

    def __repr__(self):
        parts = [f"{p}={getattr(self, p)!r}" for p in _PARAM_NAMES
                 if getattr(self, p) not in (None, False)]
        return f"CRF({', '.join(parts)})"

    def __sklearn_tags__(self):
        """scikit-learn >= 1.6 estimator tags (imported lazily; scikit-learn is optional):
        sequences in, label sequences out, no array validation."""
        from sklearn.utils import InputTags, Tags, TargetTags
        return Tags(estimator_type=None, target_tags=TargetTags(required=True),
                    input_tags=InputTags(two_d_array=False, sparse=True),
                    no_validation=True)

    def __getstate__(self):
        state = self.__dict__.copy()
        for k in ("_W_cache", "_attr_index", "_colmap_cache"):
            state.pop(k, None)
        return state

    def _resolve_params(self) -> dict:
        alg = "lbfgs" if self.algorithm is None else self.algorithm
        if not isinstance(alg, str):
            raise TypeError(f"`algorithm` must be a str, got {type(alg).__name__}")
        alg = {"averaged-perceptron": "ap", "averaged_perceptron": "ap"}.get(alg, alg)
        if alg in _UNSUPPORTED:
            raise ValueError(f"`algorithm` {alg!r} is not implemented by fastseq; use one of "
                             f"{_ALGORITHMS}")
        if alg not in _ALGORITHMS:
            raise ValueError(f"`algorithm` must be one of {_ALGORITHMS}, got {alg!r}")
        p = {"algorithm": alg}
        p["min_freq"] = _real(self.min_freq, "min_freq") or 0.0
        p["all_possible_states"] = _bool(self.all_possible_states, "all_possible_states")
        p["all_possible_transitions"] = _bool(self.all_possible_transitions,
                                              "all_possible_transitions")
        lbfgs_only = ("c1", "c2", "num_memories", "period", "delta", "linesearch",
                      "max_linesearch")
        if alg == "ap":
            given = [k for k in lbfgs_only if getattr(self, k) is not None]
            if given:
                raise ValueError(f"parameter(s) {', '.join(given)} do not apply to "
                                 "algorithm='ap' (CRFsuite rejects them too)")
            p["max_iterations"] = _int(self.max_iterations, "max_iterations", 0)
            p["max_iterations"] = 100 if p["max_iterations"] is None else p["max_iterations"]
            p["epsilon"] = _real(self.epsilon, "epsilon", 0.0)
            p["epsilon"] = 0.0 if p["epsilon"] is None else p["epsilon"]
        else:
            c1 = _real(self.c1, "c1", 0.0)
            c2 = _real(self.c2, "c2", 0.0)
            p["c1"] = 0.0 if c1 is None else c1
            p["c2"] = 1.0 if c2 is None else c2
            p["max_iterations"] = _int(self.max_iterations, "max_iterations", 0) or 0
            p["num_memories"] = _int(self.num_memories, "num_memories", 1) or 6
            eps = _real(self.epsilon, "epsilon", 0.0)
            p["epsilon"] = 1e-5 if eps is None else eps
            per = _int(self.period, "period", 0)
            p["period"] = 10 if per is None else per
            dl = _real(self.delta, "delta", 0.0)
            p["delta"] = 1e-5 if dl is None else dl
            ls = "MoreThuente" if self.linesearch is None else self.linesearch
            if ls not in _LINESEARCHES:
                raise ValueError(f"`linesearch` must be one of {_LINESEARCHES}, got {ls!r}")
            p["linesearch"] = ls
            p["max_linesearch"] = _int(self.max_linesearch, "max_linesearch", 1) or 20
        p["verbose"] = bool(self.verbose)
        p["n_threads"] = ops.effective_n_threads(self.n_threads)
        return p

    # -- encoding --------------------------------------------------------------------------
    def _require_fitted(self):
        if not hasattr(self, "_state_w"):
            raise NotFittedError("This CRF instance is not fitted yet; call fit() or load() "
                                 "first")

    def _encode_items(self, seqs, name, vocab: Optional[dict], fit: bool):
        """python-crfsuite style sequences -> (_Batch, vocab or None)."""
        indptr = [0]
        cols: List[int] = []
        vals: List[float] = []
        lengths = np.empty(len(seqs), dtype=np.int64)
        if fit:
            vocab = {}
        names_buf: List[str] = []
        vals_buf: List[float] = []
        for i, xseq in enumerate(seqs):
            if hasattr(xseq, "items") and callable(xseq.items) and not isinstance(xseq, dict):
                xseq = xseq.items()  # pycrfsuite.ItemSequence
            if isinstance(xseq, (str, bytes, dict)):
                raise TypeError(f"`{name}[{i}]` must be a list of token features, got a "
                                f"{type(xseq).__name__}")
            try:
                toks = xseq if isinstance(xseq, list) else list(xseq)
            except TypeError:
                raise TypeError(f"`{name}[{i}]` must be a list of token features, got "
                                f"{type(xseq).__name__}") from None
            lengths[i] = len(toks)
            for t, tok in enumerate(toks):
                names_buf.clear()
                vals_buf.clear()
                _flatten(tok, "", names_buf, vals_buf, f"`{name}[{i}][{t}]`")
                if fit:
                    setd = vocab.setdefault
                    cols.extend([setd(n, len(vocab)) for n in names_buf])
                    vals.extend(vals_buf)
                else:
                    get = vocab.get
                    for n, v in zip(names_buf, vals_buf):
                        c = get(n)
                        if c is not None:
                            cols.append(c)
                            vals.append(v)
                indptr.append(len(cols))
        vals_a = np.asarray(vals, dtype=np.float64)
        if vals_a.size and not np.all(np.isfinite(vals_a)):
            raise ValueError(f"`{name}` has a NaN or infinite feature value")
        A = len(vocab)
        itype = np.int32 if max(A, len(cols)) < 2**31 - 1 else np.int64
        X = sparse.csr_matrix((vals_a, np.asarray(cols, dtype=itype),
                               np.asarray(indptr, dtype=itype)), shape=(len(indptr) - 1, A))
        X.sum_duplicates()  # repeated attributes add up, as in CRFsuite
        return _Batch(X, lengths), vocab

    def _encode_matrices(self, seqs, name, n_cols: Optional[int]):
        mats = []
        for i, x in enumerate(seqs):
            m = _check_matrix(x, name, i)
            if n_cols is not None and m.shape[1] != n_cols:
                raise ValueError(f"`{name}[{i}]` has {m.shape[1]} feature columns, expected "
                                 f"{n_cols}")
            if n_cols is None:
                n_cols = m.shape[1]
            mats.append(sparse.csr_matrix(m, dtype=np.float64))
        lengths = np.array([m.shape[0] for m in mats], dtype=np.int64)
        if mats:
            X = sparse.vstack(mats, format="csr", dtype=np.float64)
        else:
            X = sparse.csr_matrix((0, n_cols or 0))
        X.eliminate_zeros()
        X.sum_duplicates()
        return _Batch(X, lengths), n_cols

    def _encode_featurized(self, F, name):
        M = F.matrix.tocsr() if not sparse.isspmatrix_csr(F.matrix) else F.matrix
        if M.dtype != np.float64:
            M = M.astype(np.float64)
        lengths = np.asarray(F.lengths, dtype=np.int64)
        if lengths.ndim != 1 or (lengths.size and lengths.min() < 0) \
                or int(lengths.sum()) != M.shape[0]:
            raise ValueError(f"`{name}.lengths` must be non-negative and sum to the "
                             f"{M.shape[0]} rows of `{name}.matrix`")
        if M.data.size and not np.all(np.isfinite(M.data)):
            raise ValueError(f"`{name}.matrix` contains NaN or inf")
        return M, lengths

    def _encode_for_model(self, X, name) -> _Batch:
        """Encode prediction / holdout input over the fitted attribute columns."""
        kind = _input_kind(X, name)
        if kind == "featurized":
            M, lengths = self._encode_featurized(X, name)
            space = X.space
            uid = getattr(space, "uid", None)
            if uid is not None and uid == self._space_uid and M.shape[1] <= self._n_attributes:
                if M.shape[1] < self._n_attributes:
                    M = sparse.csr_matrix((M.data, M.indices, M.indptr),
                                          shape=(M.shape[0], self._n_attributes))
                return _Batch(M, lengths)
            colmap = self._colmap_for(space, M.shape[1])
            return _Batch(_remap_columns(M, colmap, self._n_attributes), lengths)
        seqs = _as_seq_list(X, name)
        if kind == "matrix":
            if self._input_kind == "matrix":
                batch, _ = self._encode_matrices(seqs, name, self._n_attributes)
                return batch
            raise TypeError(f"`{name}` holds feature matrices but this model was trained on "
                            f"{self._input_kind} input (attribute names); pass the same kind")
        batch, _ = self._encode_items(seqs, name, self._attribute_index(), fit=False)
        return batch

    def _attr_names_or_none(self):
        return self.__dict__.get("_attributes")

    def _attribute_index(self) -> dict:
        idx = self.__dict__.get("_attr_index")
        if idx is None:
            idx = {n: i for i, n in enumerate(self.attributes_)}
            self._attr_index = idx
        return idx

    def _colmap_for(self, space, n_cols):
        cache = self.__dict__.setdefault("_colmap_cache", {})
        key = (getattr(space, "uid", id(space)), n_cols)
        cm = cache.get(key)
        if cm is None:
            if not hasattr(space, "attribute_names"):
                raise TypeError("the `space` of a Featurized input must provide "
                                "attribute_names()")
            names = space.attribute_names()
            if len(names) < n_cols:
                raise ValueError("the feature space names fewer attributes than the matrix has "
                                 "columns")
            idx = self._attribute_index()
            cm = np.fromiter((idx.get(n, -1) for n in names[:n_cols]), dtype=np.int64,
                             count=n_cols)
            cache.clear()
            cache[key] = cm
        return cm

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, X, y, X_dev=None, y_dev=None):
        """Train the model.

        Parameters
        ----------
        X : list of sequences (see the module docstring) or a ``Featurized`` batch
        y : list of lists of str -- the labels, one per token
        X_dev, y_dev : optional holdout data, evaluated after every iteration (reported in
            ``training_log_`` and, with ``verbose``, printed); it does not change training.
        """
        if (X_dev is None) != (y_dev is None):
            raise ValueError("Pass both `X_dev` and `y_dev` to use holdout data")
        p = self._resolve_params()
        t_start = time.perf_counter()
        # drop any previous model
        for k in ("_W_cache", "_attr_index", "_colmap_cache", "_state_w"):
            self.__dict__.pop(k, None)
        kind = _input_kind(X, "X")
        ylist = _labels_of(y, "y")
        if kind == "featurized":
            M, lengths = self._encode_featurized(X, "X")
            batch = _Batch(M, lengths)
            space = X.space
            self._space = space
            self._space_uid = getattr(space, "uid", None)
            self._attributes = None  # names come from the space, lazily
            n_seqs = len(lengths)
        else:
            seqs = _as_seq_list(X, "X")
            n_seqs = len(seqs)
            self._space = None
            self._space_uid = None
            if kind == "matrix":
                batch, n_cols = self._encode_matrices(seqs, "X", None)
                self._attributes = [str(j) for j in range(n_cols or 0)]
            else:
                batch, vocab = self._encode_items(seqs, "X", None, fit=True)
                self._attributes = list(vocab)
                self._attr_index = vocab
        _check_aligned(batch.lengths, ylist, "X", "y")
        if batch.X.shape[0] == 0:
            raise ValueError("`X` holds no tokens to train on")
        self._input_kind = kind
        self._n_attributes = batch.X.shape[1]
        classes: Dict[str, int] = {}
        setd = classes.setdefault
        yid = np.fromiter((setd(t, len(classes)) for s in ylist for t in s), dtype=np.int64,
                          count=batch.X.shape[0])
        self.classes_ = list(classes)
        N = len(self.classes_)
        dev = None
        if X_dev is not None:
            dev_batch = self._encode_dev(X_dev, kind)
            dev_labels = _labels_of(y_dev, "y_dev")
            _check_aligned(dev_batch.lengths, dev_labels, "X_dev", "y_dev")
            unseen = sorted({t for s in dev_labels for t in s} - set(classes))
            if unseen:
                raise ValueError(f"`y_dev` has labels not seen in `y`: {unseen[:10]}")
            dev_y = np.fromiter((classes[t] for s in dev_labels for t in s), dtype=np.int64,
                                count=dev_batch.X.shape[0])
            dev = (dev_batch, dev_y)

        log = TrainingLog(p["algorithm"])
        t0 = time.perf_counter()
        s_attr, s_label, t_from, t_to = self._generate_features(batch, yid, N, p)
        log.featgen_num_features = int(s_attr.size + t_from.size)
        log.featgen_seconds = time.perf_counter() - t0
        if p["verbose"]:
            print(f"fastseq CRF ({p['algorithm']}): {n_seqs:,} sequences, "
                  f"{batch.X.shape[0]:,} tokens, {self._n_attributes:,} attributes, {N} "
                  f"labels, {log.featgen_num_features:,} features ({s_attr.size:,} state, "
                  f"{t_from.size:,} transition); {p['n_threads']} thread(s)", file=sys.stderr)
        nt = p["n_threads"]
        pool = ThreadPoolExecutor(nt) if nt > 1 else None
        try:
            obj = _Objective(batch, yid, N, s_attr, s_label, t_from, t_to, nt, pool)
            dev_ops = (_SparseOps(obj.to_internal(dev[0].X), nt, pool) if dev is not None
                       else None)
            t0 = time.perf_counter()
            if p["algorithm"] == "lbfgs":
                theta, reason = self._train_lbfgs(obj, p, log, dev, dev_ops)
            else:
                theta, reason = self._train_ap(obj, batch, yid, p, log, dev, dev_ops)
            log.training_seconds = time.perf_counter() - t0
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        log.stop_reason = reason
        Ks = s_attr.size
        self._state_attr = s_attr
        self._state_label = s_label
        self._state_w = np.ascontiguousarray(theta[:Ks], dtype=np.float64)
        self._trans_from = t_from
        self._trans_to = t_to
        self._trans_w = np.ascontiguousarray(theta[Ks:], dtype=np.float64)
        self.training_log_ = log
        self.n_train_tokens_ = int(batch.X.shape[0])
        self.n_train_sequences_ = int(n_seqs)
        self.train_time_ = time.perf_counter() - t_start
        if p["verbose"]:
            print(f"fastseq CRF: {reason}; {len(log.iterations)} iterations, "
                  f"{log.training_seconds:.2f} s training, {self.train_time_:.2f} s in all",
                  file=sys.stderr)
        return self

    def _encode_dev(self, X_dev, kind):
        dkind = _input_kind(X_dev, "X_dev")
        if kind == "featurized":
            if dkind != "featurized" or getattr(X_dev.space, "uid", None) != self._space_uid:
                raise TypeError("`X_dev` must be a Featurized batch from the same feature "
                                "extractor as `X`")
            M, lengths = self._encode_featurized(X_dev, "X_dev")
            return _Batch(M, lengths)
        if kind == "matrix":
            if dkind != "matrix":
                raise TypeError("`X_dev` must hold feature matrices like `X`")
            batch, _ = self._encode_matrices(_as_seq_list(X_dev, "X_dev"), "X_dev",
                                             self._n_attributes)
            return batch
        if dkind != "items":
            raise TypeError("`X_dev` must hold lists of token features like `X`")
        batch, _ = self._encode_items(_as_seq_list(X_dev, "X_dev"), "X_dev",
                                      self._attribute_index(), fit=False)
        return batch

    @staticmethod
    def _generate_features(batch: _Batch, y: np.ndarray, N: int, p: dict):
        X = batch.X
        L, A = X.shape
        rows = np.repeat(np.arange(L, dtype=np.int64), np.diff(X.indptr))
        key = X.indices.astype(np.int64) * N + y[rows]
        uniq, inv = np.unique(key, return_inverse=True)
        freq = np.bincount(inv.ravel(), weights=X.data, minlength=uniq.size)
        if p["all_possible_states"]:
            attrs = np.unique(X.indices).astype(np.int64)
            allk = (attrs[:, None] * N + np.arange(N)[None, :]).ravel()
            f_all = np.zeros(allk.size)
            pos = np.searchsorted(allk, uniq)
            f_all[pos] = freq
            uniq, freq = allk, f_all
        keep = freq >= p["min_freq"]
        uniq = uniq[keep]
        s_attr, s_label = uniq // N, uniq % N
        # transitions inside sequences
        off = batch.offsets
        first = np.zeros(L, dtype=bool)
        first[off[:-1][batch.lengths > 0]] = True
        idx = np.flatnonzero(~first)
        tkey = y[idx - 1] * N + y[idx]
        tcount = np.bincount(tkey, minlength=N * N).astype(np.float64)
        if p["all_possible_transitions"]:
            tk = np.arange(N * N)
        else:
            tk = np.flatnonzero(tcount > 0)
        tk = tk[tcount[tk] >= p["min_freq"]]
        return s_attr, s_label, tk // N, tk % N

    # -- trainers --------------------------------------------------------------------------
    def _holdout(self, W, T, dev, dev_ops, it):
        dbatch, dy = dev
        if dbatch.X.shape[0] == 0:
            return
        E = dev_ops.matmul(W)
        paths, _ = ops.viterbi(E, T, lengths=dbatch.lengths, n_threads=dev_ops.n_threads)
        N = len(self.classes_)
        ok = paths == dy
        match = np.bincount(dy[ok], minlength=N)
        model = np.bincount(paths, minlength=N)
        ref = np.bincount(dy, minlength=N)
        scores = {}
        ps, rs, fs = [], [], []
        for j, lab in enumerate(self.classes_):
            if model[j] == 0 and ref[j] == 0:
                scores[lab] = LabelScore(0, 0, 0, None, None, None)
                continue
            pr = match[j] / model[j] if model[j] else 0.0
            rc = match[j] / ref[j] if ref[j] else 0.0
            f1 = 2 * pr * rc / (pr + rc) if pr + rc > 0 else 0.0
            scores[lab] = LabelScore(int(match[j]), int(model[j]), int(ref[j]), pr, rc, f1)
            ps.append(pr)
            rs.append(rc)
            fs.append(f1)
        it["scores"] = scores
        it["avg_precision"] = float(np.mean(ps)) if ps else 0.0
        it["avg_recall"] = float(np.mean(rs)) if rs else 0.0
        it["avg_f1"] = float(np.mean(fs)) if fs else 0.0
        item = fractions.Fraction(int(ok.sum()), int(ok.size))
        it["item_accuracy"] = item
        it["item_accuracy_float"] = float(item)
        seq_ok = np.add.reduceat(ok.astype(np.int64), dbatch.offsets[:-1][dbatch.lengths > 0]) \
            == dbatch.lengths[dbatch.lengths > 0]
        n_ok = int(seq_ok.sum()) + int((dbatch.lengths == 0).sum())
        inst = fractions.Fraction(n_ok, int(dbatch.lengths.size))
        it["instance_accuracy"] = inst
        it["instance_accuracy_float"] = float(inst)

    @staticmethod
    def _print_iteration(it):
        parts = [f"iter {it['num']:4d}", f"loss {it['loss']:.4f}"]
        if "error_norm" in it:
            parts.append(f"|g| {it['error_norm']:.4g}")
        parts.append(f"|w| {it['feature_norm']:.4g}")
        if "active_features" in it:
            parts.append(f"active {it['active_features']:,}")
        if "linesearch_trials" in it:
            parts.append(f"ls {it['linesearch_trials']} step {it['linesearch_step']:.3g}")
        parts.append(f"{it['time']:.3f} s")
        if "item_accuracy_float" in it:
            parts.append(f"dev acc {it['item_accuracy_float']:.4f} "
                         f"macro-F1 {it['avg_f1']:.4f}")
        print("  ".join(parts), file=sys.stderr, flush=True)

    def _train_lbfgs(self, obj: _Objective, p, log, dev, dev_ops):
        x0 = np.zeros(obj.K)
        clock = [time.perf_counter()]

        def progress(k, x, f, xnorm, gnorm, step, trials):
            now = time.perf_counter()
            it = {"num": k, "scores": {}, "loss": f, "feature_norm": xnorm,
                  "error_norm": gnorm, "active_features": int(np.count_nonzero(x)),
                  "linesearch_trials": trials, "linesearch_step": step,
                  "time": now - clock[0]}
            if dev is not None:
                obj.set_weights(x)
                self._holdout(obj.W, obj.T, dev, dev_ops, it)
            log.append(it)
            if p["verbose"]:
                self._print_iteration(it)
            clock[0] = time.perf_counter()

        x, reason = _lbfgs(obj, x0, c1=p["c1"], c2=p["c2"], m=p["num_memories"],
                           epsilon=p["epsilon"], past=p["period"], delta=p["delta"],
                           max_iterations=p["max_iterations"], linesearch=p["linesearch"],
                           max_linesearch=p["max_linesearch"], progress=progress)
        return x, reason

    def _train_ap(self, obj: _Objective, batch: _Batch, y, p, log, dev, dev_ops):
        N, A = obj.N, obj.A
        X = obj.X  # internal attribute numbering, like obj.s_flat
        mask = np.zeros((A, N), dtype=bool)
        mask.ravel()[obj.s_flat] = True
        tmask = np.zeros((N, N), dtype=bool)
        tmask.ravel()[obj.t_flat] = True
        W = np.zeros((A, N))
        Ws = np.zeros((A, N))
        T = np.zeros((N, N))
        Ts = np.zeros((N, N))
        off = batch.offsets
        lengths = batch.lengths
        B = lengths.size
        indptr, indices, data = X.indptr, X.indices, X.data
        rng = np.random.default_rng(0)
        c = 1
        reason = "maximum number of iterations"
        theta = np.zeros(obj.K)
        for epoch in range(1, p["max_iterations"] + 1):
            t0 = time.perf_counter()
            loss = 0.0
            for s in rng.permutation(B).tolist():
                r0, r1 = int(off[s]), int(off[s + 1])
                n = r1 - r0
                if n == 0:
                    c += 1
                    continue
                p0, p1 = int(indptr[r0]), int(indptr[r1])
                cols = indices[p0:p1]
                vals = data[p0:p1]
                counts = np.diff(indptr[r0:r1 + 1])
                E = np.zeros((n, N))
                nz = counts > 0
                if p1 > p0:
                    contrib = W[cols] * vals[:, None]
                    starts = (indptr[r0:r1] - p0)[nz]
                    E[nz] = np.add.reduceat(contrib, starts, axis=0)
                path, _ = ops.viterbi(E, T, n_threads=1)
                gold = y[r0:r1]
                diff = path != gold
                d = int(diff.sum())
                if d:
                    # features of tokens where gold and prediction agree cancel out
                    tok_rows = np.repeat(np.arange(n), counts)
                    sel = diff[tok_rows]
                    a = cols[sel].astype(np.int64)
                    v = vals[sel]
                    tr = tok_rows[sel]
                    for lab_arr, sign in ((gold, 1.0), (path, -1.0)):
                        labs = lab_arr[tr]
                        ok = mask[a, labs]
                        np.add.at(W, (a[ok], labs[ok]), sign * v[ok])
                        np.add.at(Ws, (a[ok], labs[ok]), (sign * c) * v[ok])
                        if n > 1:
                            fr, to = lab_arr[:-1], lab_arr[1:]
                            okt = tmask[fr, to]
                            np.add.at(T, (fr[okt], to[okt]), sign)
                            np.add.at(Ts, (fr[okt], to[okt]), sign * c)
                    loss += d / n
                c += 1
            Wa = W - Ws / c
            Ta = T - Ts / c
            theta = np.concatenate([Wa.ravel()[obj.s_flat], Ta.ravel()[obj.t_flat]])
            it = {"num": epoch, "scores": {}, "loss": loss,
                  "feature_norm": float(np.linalg.norm(theta)),
                  "time": time.perf_counter() - t0}
            if dev is not None:
                self._holdout(Wa, Ta, dev, dev_ops, it)
            log.append(it)
            if p["verbose"]:
                self._print_iteration(it)
            if loss / max(B, 1) < p["epsilon"]:
                reason = "stopping criterion (error rate below epsilon)"
                break
        return theta, reason

    def _training_objective(self, X, y):
        """``(fun, K)``: the full lbfgs objective on (X, y) as this model's parameters would
        define it -- ``fun(theta) -> (f, g)`` with the NLL plus ``c1 ||theta||_1 + c2
        ||theta||^2`` (L1's gradient taken as ``c1 * sign(theta)``). For tests."""
        p = self._resolve_params()
        kind = _input_kind(X, "X")
        if kind == "featurized":
            M, lengths = self._encode_featurized(X, "X")
            batch = _Batch(M, lengths)
        elif kind == "matrix":
            batch, _ = self._encode_matrices(_as_seq_list(X, "X"), "X", None)
        else:
            batch, _ = self._encode_items(_as_seq_list(X, "X"), "X", None, fit=True)
        classes: Dict[str, int] = {}
        yid = np.fromiter((classes.setdefault(t, len(classes)) for s in _labels_of(y, "y")
                           for t in s), dtype=np.int64)
        N = len(classes)
        feats = self._generate_features(batch, yid, N, p)
        obj = _Objective(batch, yid, N, *feats, 1, None)
        c1, c2 = p.get("c1", 0.0), p.get("c2", 0.0)

        def fun(theta):
            theta = np.asarray(theta, dtype=np.float64)
            f, g = obj(theta)
            f += c2 * float(theta @ theta) + c1 * float(np.abs(theta).sum())
            g = g + 2 * c2 * theta + c1 * np.sign(theta)
            return f, g
        return fun, obj.K

    # -- prediction ------------------------------------------------------------------------
    def _weights(self):
        cache = self.__dict__.get("_W_cache")
        if cache is None:
            N = len(self.classes_)
            W = np.zeros((self._n_attributes, N))
            W[self._state_attr, self._state_label] = self._state_w
            T = np.zeros((N, N))
            T[self._trans_from, self._trans_to] = self._trans_w
            cache = (W, T)
            self._W_cache = cache
        return cache

    def _emissions(self, batch: _Batch, n_threads: int):
        W, T = self._weights()
        if batch.X.shape[0] == 0:
            return np.zeros((0, len(self.classes_))), T
        pool = ThreadPoolExecutor(n_threads) if n_threads > 1 and batch.X.shape[0] >= 8192 \
            else None
        try:
            E = _SparseOps(batch.X, n_threads if pool else 1, pool).matmul(W)
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        return E, T

    def _constrained(self, T, constraints):
        """(T, start, end) with the moves ``constraints`` forbids set to -inf."""
        if constraints is None:
            return T, None, None
        N = len(self.classes_)
        try:
            tm, sm, em = (np.asarray(m, dtype=bool) for m in constraints)
        except (TypeError, ValueError):
            raise TypeError("`constraints` must be (trans_mask, start_mask, end_mask) boolean "
                            "arrays, e.g. from fastseq.allowed_transitions") from None
        if tm.shape != (N, N) or sm.shape != (N,) or em.shape != (N,):
            raise ValueError(f"`constraints` must have shapes ({N}, {N}), ({N},), ({N},) "
                             f"(labels in classes_ order), got {tm.shape}, {sm.shape}, "
                             f"{em.shape}")
        return (np.where(tm, T, -np.inf), np.where(sm, 0.0, -np.inf),
                np.where(em, 0.0, -np.inf))

    def predict_ids(self, X, *, constraints=None) -> Tuple[np.ndarray, np.ndarray]:
        """Viterbi label ids (indices into ``classes_``) of all tokens, concatenated, and the
        sequence lengths. ``constraints``: optional ``(trans_mask, start_mask, end_mask)``
        boolean arrays (see :func:`fastseq.allowed_transitions`) restricting decoding to
        allowed label sequences (a sequence with no allowed path gets -1)."""
        self._require_fitted()
        batch = self._encode_for_model(X, "X")
        nt = ops.effective_n_threads(self.n_threads)
        if batch.lengths.size == 0:
            return np.zeros(0, dtype=np.int64), batch.lengths
        E, T = self._emissions(batch, nt)
        T, start, end = self._constrained(T, constraints)
        paths, _ = ops.viterbi(E, T, start=start, end=end, lengths=batch.lengths,
                               n_threads=nt)
        return paths, batch.lengths

    def predict_marginals_array(self, X, *, constraints=None) -> Tuple[np.ndarray, np.ndarray]:
        """Node marginals of all tokens, concatenated (tokens x ``len(classes_)``), and the
        sequence lengths; ``constraints`` as in :meth:`predict_ids`."""
        self._require_fitted()
        batch = self._encode_for_model(X, "X")
        nt = ops.effective_n_threads(self.n_threads)
        if batch.lengths.size == 0:
            return np.zeros((0, len(self.classes_))), batch.lengths
        E, T = self._emissions(batch, nt)
        T, start, end = self._constrained(T, constraints)
        node = ops.marginals(E, T, start=start, end=end, lengths=batch.lengths,
                             n_threads=nt).node
        return node, batch.lengths

    def predict(self, X) -> List[List[str]]:
        """Most probable label sequence (Viterbi) of every sequence in ``X``."""
        paths, lengths = self.predict_ids(X)
        classes = self.classes_
        labs = [classes[i] for i in paths.tolist()]
        out, k = [], 0
        for n in lengths.tolist():
            out.append(labs[k:k + n])
            k += n
        return out

    def predict_single(self, xseq) -> List[str]:
        """:meth:`predict` for one sequence."""
        return self.predict([xseq])[0]

    def predict_marginals(self, X) -> List[List[Dict[str, float]]]:
        """Per sequence, per token: ``{label: P(label at this token | x)}``."""
        node, lengths = self.predict_marginals_array(X)
        classes = self.classes_
        rows = [dict(zip(classes, r)) for r in node.tolist()]
        out, k = [], 0
        for n in lengths.tolist():
            out.append(rows[k:k + n])
            k += n
        return out

    def predict_marginals_single(self, xseq) -> List[Dict[str, float]]:
        """:meth:`predict_marginals` for one sequence."""
        return self.predict_marginals([xseq])[0]

    def score(self, X, y) -> float:
        """Token accuracy of :meth:`predict` on ``X`` against ``y``."""
        paths, lengths = self.predict_ids(X)
        ylist = _labels_of(y, "y")
        _check_aligned(lengths, ylist, "X", "y")
        if paths.size == 0:
            return 0.0
        index = {c: i for i, c in enumerate(self.classes_)}
        gold = np.fromiter((index.get(t, -1) for s in ylist for t in s), dtype=np.int64,
                           count=paths.size)
        return float(np.mean(gold == paths))

    # -- introspection ---------------------------------------------------------------------
    @property
    def attributes_(self) -> List[str]:
        """Attribute names, in column order."""
        self._require_fitted()
        names = self._attr_names_or_none()
        if names is None:
            names = list(self._space.attribute_names())[:self._n_attributes]
            self._attributes = names
        return names

    @property
    def num_attributes_(self) -> int:
        self._require_fitted()
        return int(self._n_attributes)

    @property
    def size_(self) -> int:
        """Number of features (state + transition) in the model."""
        self._require_fitted()
        return int(self._state_w.size + self._trans_w.size)

    @property
    def state_features_(self) -> Dict[Tuple[str, str], float]:
        self._require_fitted()
        names, classes = self.attributes_, self.classes_
        nz = np.flatnonzero(self._state_w)
        return {(names[a], classes[l]): w for a, l, w in
                zip(self._state_attr[nz].tolist(), self._state_label[nz].tolist(),
                    self._state_w[nz].tolist())}

    @property
    def transition_features_(self) -> Dict[Tuple[str, str], float]:
        self._require_fitted()
        classes = self.classes_
        nz = np.flatnonzero(self._trans_w)
        return {(classes[a], classes[b]): w for a, b, w in
                zip(self._trans_from[nz].tolist(), self._trans_to[nz].tolist(),
                    self._trans_w[nz].tolist())}

    # -- persistence -----------------------------------------------------------------------
    def _to_parts(self, with_attributes=True):
        self._require_fitted()
        from . import __version__
        arrays = {
            "state_attr": self._state_attr.astype(np.int64),
            "state_label": self._state_label.astype(np.int64),
            "state_weight": self._state_w.astype(np.float64),
            "trans_from": self._trans_from.astype(np.int64),
            "trans_to": self._trans_to.astype(np.int64),
            "trans_weight": self._trans_w.astype(np.float64),
        }
        log = self.training_log_
        meta = {
            "format": _FORMAT,
            "format_version": FORMAT_VERSION,
            "fastseq_version": __version__,
            "params": {k: getattr(self, k) for k in _PARAM_NAMES if k != "n_threads"},
            "labels": list(self.classes_),
            "n_attributes": int(self._n_attributes),
            "input": {"kind": self._input_kind, "space_uid": self._space_uid},
            "training": {
                "iterations": len(log.iterations) if log is not None else None,
                "stop_reason": log.stop_reason if log is not None else None,
                "seconds": log.training_seconds if log is not None else None,
                "n_train_tokens": getattr(self, "n_train_tokens_", None),
                "n_train_sequences": getattr(self, "n_train_sequences_", None),
            },
        }
        if with_attributes:
            meta["attributes"] = list(self.attributes_)
        return meta, arrays

    def save(self, path) -> None:
        """Write the model to ``path`` (see "File format" in the module docstring)."""
        meta, arrays = self._to_parts()
        _write_archive(path, meta, arrays)

    @classmethod
    def load(cls, path, *, n_threads=None) -> "CRF":
        """Read a model written by :meth:`save` (never executes code from the file)."""
        meta, arrays = _read_archive(path)
        return cls._from_parts(meta, arrays, n_threads, os.fspath(path))

    @classmethod
    def _from_parts(cls, meta, arrays, n_threads, where, attributes=None, space=None):
        bad, params = check_model(meta, where, _FORMAT, FORMAT_VERSION, "CRF",
                                  _PARAM_NAMES)
        try:
            self = cls(**params, n_threads=n_threads)
            self._resolve_params()
        except (TypeError, ValueError) as exc:
            raise bad(f"bad parameter: {exc}") from None
        labels = meta.get("labels")
        if (not isinstance(labels, list) or not labels
                or not all(isinstance(t, str) for t in labels) or len(set(labels)) != len(labels)):
            raise bad("`labels` must be a non-empty list of distinct str")
        n_attr = meta.get("n_attributes")
        if not isinstance(n_attr, int) or isinstance(n_attr, bool) or n_attr < 0:
            raise bad("`n_attributes` must be a non-negative int")
        if attributes is None:
            attributes = meta.get("attributes")
            if attributes is not None:
                if (not isinstance(attributes, list) or len(attributes) != n_attr
                        or not all(isinstance(a, str) for a in attributes)):
                    raise bad("`attributes` must be a list of n_attributes str")
        inp = meta.get("input")
        if not isinstance(inp, dict) or inp.get("kind") not in ("items", "matrix", "featurized"):
            raise bad("`input.kind` must be 'items', 'matrix' or 'featurized'")
        uid = inp.get("space_uid")
        if uid is not None and not isinstance(uid, str):
            raise bad("`input.space_uid` must be a str or null")
        if attributes is None and space is None:
            raise bad("no attribute names")
        N = len(labels)
        expect = {"state_attr": "iu", "state_label": "iu", "state_weight": "f",
                  "trans_from": "iu", "trans_to": "iu", "trans_weight": "f"}
        if set(arrays) != set(expect):
            raise bad(f"arrays {sorted(arrays)} do not match the expected {sorted(expect)}")
        for name, kinds in expect.items():
            a = arrays[name]
            if a.ndim != 1 or a.dtype.kind not in kinds:
                raise bad(f"array {name!r} must be 1-D of kind {kinds!r}, got {a.dtype} "
                          f"{a.shape}")
        sa, sl, sw = arrays["state_attr"], arrays["state_label"], arrays["state_weight"]
        tf, tt, tw = arrays["trans_from"], arrays["trans_to"], arrays["trans_weight"]
        if not (sa.shape == sl.shape == sw.shape) or not (tf.shape == tt.shape == tw.shape):
            raise bad("feature arrays of different lengths")
        for arr, hi, name in ((sa, n_attr, "state_attr"), (sl, N, "state_label"),
                              (tf, N, "trans_from"), (tt, N, "trans_to")):
            if arr.size and (arr.min() < 0 or arr.max() >= hi):
                raise bad(f"array {name!r} has indices out of range [0, {hi})")
        if not (np.all(np.isfinite(sw)) and np.all(np.isfinite(tw))):
            raise bad("non-finite weights")
        self.classes_ = list(labels)
        self._n_attributes = n_attr
        self._attributes = list(attributes) if attributes is not None else None
        self._space = space
        self._space_uid = uid
        self._input_kind = inp["kind"]
        self._state_attr = sa.astype(np.int64)
        self._state_label = sl.astype(np.int64)
        self._state_w = sw.astype(np.float64)
        self._trans_from = tf.astype(np.int64)
        self._trans_to = tt.astype(np.int64)
        self._trans_w = tw.astype(np.float64)
        tr = meta.get("training") or {}
        log = TrainingLog(self._resolve_params()["algorithm"])
        if isinstance(tr, dict):
            log.stop_reason = tr.get("stop_reason")
            log.training_seconds = tr.get("seconds")
        self.training_log_ = log
        return self


def _remap_columns(M, colmap, n_out):
    """CSR ``M`` with column j moved to ``colmap[j]`` (dropped where -1)."""
    new = colmap[M.indices]
    keep = new >= 0
    L = M.shape[0]
    rows = np.repeat(np.arange(L), np.diff(M.indptr))
    counts = np.bincount(rows[keep], minlength=L)
    indptr = np.zeros(L + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    out = sparse.csr_matrix((M.data[keep], new[keep], indptr), shape=(L, n_out))
    out.sum_duplicates()
    return out
