"""The inputs of a CRF as one sparse matrix: python-crfsuite's item semantics, feature
matrices and :class:`fastseq.features.Featurized` batches.

Each sequence of ``X`` is one of

* a list of token features in python-crfsuite's format -- per token a dict
  ``{name: value}`` or a list of str names. A str value ``v`` of key ``k`` is the attribute
  ``"k:v"`` with weight 1 (python-crfsuite joins with ``":"``); a number (bool, int, float)
  is the weight of the attribute ``k``; a nested dict, list or set prefixes its attributes with
  ``"k:"``; a list of str gives weight-1 attributes. Repeated attributes add up (CRFsuite
  sums their contributions). A ``pycrfsuite.ItemSequence`` works too;
* a ``scipy.sparse`` matrix or 2-D numpy array (tokens x features) for users with their own
  features (attribute ``j`` is column ``j``, named ``"j"``; every sequence needs the same
  number of columns);

or ``X`` as a whole is a :class:`fastseq.features.Featurized` batch (a CSR matrix already).
Whatever the kind, the result is a :class:`Batch`: all tokens as the rows of one CSR matrix
over attribute columns, plus the sequence lengths.
"""
from __future__ import annotations

import numbers
from typing import Dict, List, Optional, Tuple

import numpy as np
from scipy import sparse

__all__ = ["Batch", "crfsuite_items", "input_kind", "as_seq_list", "labels_of",
           "check_aligned", "encode_items", "encode_matrices", "encode_featurized",
           "remap_columns"]


class Batch:
    """Sequences as one CSR matrix ``X`` (tokens x attributes) with their ``lengths`` and
    row ``offsets`` (``lengths.size + 1`` entries)."""

    __slots__ = ("X", "lengths", "offsets")

    def __init__(self, X, lengths):
        self.X = X
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.offsets = np.zeros(self.lengths.size + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=self.offsets[1:])


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
# input kinds and labels
# ---------------------------------------------------------------------------------------------

def _is_featurized(X) -> bool:
    return (hasattr(X, "matrix") and hasattr(X, "lengths") and hasattr(X, "space")
            and sparse.issparse(X.matrix))


def _is_matrix(x) -> bool:
    return sparse.issparse(x) or (isinstance(x, np.ndarray) and x.ndim == 2)


def as_seq_list(X, name):
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


def input_kind(X, name) -> str:
    if _is_featurized(X):
        return "featurized"
    seqs = as_seq_list(X, name)
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


def labels_of(y, name) -> List[List[str]]:
    seqs = as_seq_list(y, name)
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


def check_aligned(lengths: np.ndarray, labels: List[List[str]], xname: str, yname: str):
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
# encoders
# ---------------------------------------------------------------------------------------------

def encode_items(seqs, name: str, vocab: Optional[Dict[str, int]],
                 fit: bool) -> Tuple[Batch, Dict[str, int]]:
    """Sequences of python-crfsuite token features -> (Batch, attribute vocabulary).

    With ``fit`` the vocabulary is built (in order of first appearance); otherwise
    ``vocab`` maps the known attributes to their columns and the others are dropped.
    """
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
    return Batch(X, lengths), vocab


def encode_matrices(seqs, name: str, n_cols: Optional[int]) -> Tuple[Batch, Optional[int]]:
    """Per-sequence feature matrices -> (Batch, number of columns); every matrix must have
    ``n_cols`` columns when it is given."""
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
    return Batch(X, lengths), n_cols


def encode_featurized(F, name: str) -> Tuple[sparse.csr_matrix, np.ndarray]:
    """A :class:`fastseq.features.Featurized` batch -> (CSR float64 matrix, lengths),
    checked."""
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


def remap_columns(M, colmap, n_out: int):
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
