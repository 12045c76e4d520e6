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
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, TypeVar

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse

from . import _items

__all__ = ["Batch", "crfsuite_items", "input_kind", "as_seq_list", "labels_of",
           "check_aligned", "vocabulary_index", "encode_items", "encode_matrices",
           "encode_featurized", "remap_columns", "split_by_lengths"]

_T = TypeVar("_T")


class Batch:
    """Sequences as one CSR matrix: all tokens as rows, with the sequence lengths.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix, shape (n_tokens, n_attributes)
        The tokens of all sequences, concatenated, over the attribute columns.
    lengths : array-like of int, shape (n_sequences,)
        The number of tokens of each sequence; they sum to ``n_tokens``.

    Attributes
    ----------
    X : scipy.sparse.csr_matrix, shape (n_tokens, n_attributes)
        As given.
    lengths : ndarray of int64, shape (n_sequences,)
        As given.
    offsets : ndarray of int64, shape (n_sequences + 1,)
        Row offsets: sequence ``i`` is rows ``offsets[i]:offsets[i + 1]`` of ``X``.

    Examples
    --------
    >>> from scipy import sparse
    >>> from fastseq.crf.items import Batch
    >>> b = Batch(sparse.csr_matrix((5, 3)), [2, 3])
    >>> b.offsets.tolist()
    [0, 2, 5]
    """

    __slots__ = ("X", "lengths", "offsets")

    def __init__(self, X: sparse.csr_matrix, lengths: ArrayLike) -> None:
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


def crfsuite_items(xseq: Iterable[Any]) -> List[List[Tuple[str, float]]]:
    """The attributes python-crfsuite makes of one sequence of token features.

    A str value ``v`` of key ``k`` is the attribute ``"k:v"`` with weight 1; a number
    (bool, int, float) is the weight of the attribute ``k``; a nested dict, list or set
    prefixes its attributes with ``"k:"``; a list of str gives weight-1 attributes (see
    :mod:`fastseq.crf.items`).

    Parameters
    ----------
    xseq : iterable of dict or list of str
        The tokens of one sequence: per token a dict ``{name: value}`` or a list of str
        attribute names, as python-crfsuite reads them.

    Returns
    -------
    list of list of (str, float)
        Per token, the ``(name, value)`` pairs of its attributes (duplicates kept, in order).

    Raises
    ------
    TypeError
        If a token is not a dict or an iterable of names (a str token is refused: python-
        crfsuite would read its characters as features), a feature name is not str, or a
        value is not str, bool, int, float, dict, list or set.

    Examples
    --------
    >>> from fastseq.crf import crfsuite_items
    >>> crfsuite_items([{"w": "dog", "len": 3, "f": {"a": True}}, ["x", "y"]])
    [[('w:dog', 1.0), ('len', 3.0), ('f:a', 1.0)], [('x', 1.0), ('y', 1.0)]]
    """
    out = []
    for t, tok in enumerate(xseq):
        names: List[str] = []
        vals: List[float] = []
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


def as_seq_list(X: Any, name: str) -> list:
    """``X`` as a list of sequences (itself when it is a list).

    Parameters
    ----------
    X : iterable
        One item per sequence.
    name : str
        The argument's name, for the error messages.

    Returns
    -------
    list
        The sequences of ``X``.

    Raises
    ------
    TypeError
        If ``X`` is None, a str, bytes, a dict, a numeric numpy array or not iterable.

    Examples
    --------
    >>> from fastseq.crf.items import as_seq_list
    >>> as_seq_list((["a"], ["b", "c"]), "y")
    [['a'], ['b', 'c']]
    """
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


def input_kind(X: Any, name: str) -> str:
    """The kind of CRF input ``X`` is.

    Parameters
    ----------
    X : list of sequences or Featurized
        Per sequence a list of token features or a feature matrix; or a whole
        :class:`fastseq.features.Featurized` batch.
    name : str
        The argument's name, for the error messages.

    Returns
    -------
    {"items", "matrix", "featurized"}
        ``"matrix"`` when every sequence is a ``scipy.sparse`` matrix or a 2-D numpy array,
        ``"featurized"`` for a Featurized batch, ``"items"`` otherwise (also for no
        sequence).

    Raises
    ------
    TypeError
        If ``X`` is not a list of sequences (see :func:`as_seq_list`) or mixes feature
        matrices and lists of token features.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf.items import input_kind
    >>> input_kind([[{"w": "dog"}]], "X"), input_kind([np.ones((2, 3))], "X")
    ('items', 'matrix')
    """
    if _is_featurized(X):
        return "featurized"
    seqs = as_seq_list(X, name)
    if set(map(type, seqs)) == {list}:  # the common case, without a Python-level loop
        return "items"
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


def labels_of(y: Any, name: str) -> List[List[str]]:
    """The label sequences of ``y``, checked.

    Parameters
    ----------
    y : iterable of iterable of str
        One sequence of str labels per sequence.
    name : str
        The argument's name, for the error messages.

    Returns
    -------
    list of list of str
        The label sequences, as lists.

    Raises
    ------
    TypeError
        If ``y`` is not a list of sequences, a sequence is a str or not iterable, or a label
        is not a str.

    Examples
    --------
    >>> from fastseq.crf.items import labels_of
    >>> labels_of([("B", "I"), ["O"]], "y")
    [['B', 'I'], ['O']]
    """
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


def check_aligned(lengths: np.ndarray, labels: List[List[str]], xname: str,
                  yname: str) -> None:
    """Check that sequences and label sequences correspond one to one, item for label.

    Parameters
    ----------
    lengths : ndarray of int, shape (n_sequences,)
        The number of items of each sequence of ``xname``.
    labels : list of list of str
        The label sequences of ``yname``.
    xname, yname : str
        The names of the two arguments, for the error messages.

    Raises
    ------
    ValueError
        If the numbers of sequences differ, or a sequence has more or fewer items than
        labels.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf.items import check_aligned
    >>> check_aligned(np.array([2]), [["B", "I"]], "X", "y")
    >>> check_aligned(np.array([2]), [["B"]], "X", "y")
    Traceback (most recent call last):
        ...
    ValueError: The numbers of items and labels differ: `X[0]` has 2 items, `y[0]` has 1 labels
    """
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

def vocabulary_index(vocab: Dict[str, int]) -> Any:
    """An index of a vocabulary that makes :func:`encode_items` without ``fit`` faster.

    Every name is entered whole and, split at each of its colons, as a (feature name,
    str value) pair, so that the encoder finds the column of ``{key: value}`` without
    building ``"key:value"``, and knows a pair missing from the index to be unknown. It
    costs about as much to build as encoding a few times the vocabulary's size of tokens
    and holds a str per colon of every name: worth it for a model that predicts many
    times. The vocabulary must not change while the index is in use.

    Parameters
    ----------
    vocab : dict of str to int
        Attribute name -> column.

    Returns
    -------
    object
        An opaque index, for the ``index`` argument of :func:`encode_items` (with the same
        ``vocab``).

    Raises
    ------
    TypeError
        If a name is not a str or a column not an int.

    Examples
    --------
    >>> from fastseq.crf.items import encode_items, vocabulary_index
    >>> vocab = {"w:a": 0, "w:b": 1, "n": 2}
    >>> index = vocabulary_index(vocab)
    >>> seqs = [[{"w": "b", "n": 3}, {"w": "c"}]]
    >>> encode_items(seqs, "X", vocab, fit=False, index=index)[0].X.toarray().tolist()
    [[0.0, 1.0, 3.0], [0.0, 0.0, 0.0]]
    """
    if type(vocab) is not dict:
        raise TypeError(f"`vocab` must be a dict, got {type(vocab).__name__}")
    return _items.index(vocab)


def encode_items(seqs: Sequence[Any], name: str, vocab: Optional[Dict[str, int]],
                 fit: bool, index: Any = None) -> Tuple[Batch, Dict[str, int]]:
    """Encode sequences of python-crfsuite token features as one CSR matrix.

    Parameters
    ----------
    seqs : sequence of list of dict or list of str
        Per sequence, its tokens' features in python-crfsuite's format (see
        :func:`crfsuite_items`); a ``pycrfsuite.ItemSequence`` works too.
    name : str
        The argument's name, for the error messages.
    vocab : dict of str to int or None
        Attribute name -> column. Ignored with ``fit``; without it, the known attributes
        are mapped to their columns and the others dropped.
    fit : bool
        Build a new vocabulary (attributes in order of first appearance).
    index : object, optional
        Without ``fit``, :func:`vocabulary_index` of ``vocab`` (the same dict): the same
        result, faster.

    Returns
    -------
    batch : Batch
        The tokens as the rows of a float64 CSR matrix of shape ``(n_tokens,
        len(vocab))``; repeated attributes of a token add up, as in CRFsuite.
    vocab : dict of str to int
        The vocabulary used (the new one with ``fit``).

    Raises
    ------
    TypeError
        If a sequence is not a list of token features or a token is malformed (see
        :func:`crfsuite_items`).
    ValueError
        If a feature value is NaN or infinite, or ``vocab`` is None without ``fit``.

    Examples
    --------
    >>> from fastseq.crf.items import encode_items
    >>> batch, vocab = encode_items([[{"w": "a"}, {"w": "b", "n": 2}]], "X", None, fit=True)
    >>> vocab
    {'w:a': 0, 'w:b': 1, 'n': 2}
    >>> batch.X.toarray().tolist(), batch.lengths.tolist()
    ([[1.0, 0.0, 0.0], [0.0, 1.0, 2.0]], [2])
    >>> encode_items([[{"w": "b"}, {"w": "c"}]], "X", vocab, fit=False)[0].X.toarray().tolist()
    [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    """
    if fit:
        vocab = {}
        index = None
    elif vocab is None:
        raise ValueError("encode_items needs a `vocab` unless `fit`")
    elif type(vocab) is not dict:
        vocab = dict(vocab)
        index = None  # the index of the mapping, not of this copy
    # the loop is compiled; tokens it does not take (nested values, bytes, numpy numbers,
    # malformed ones) go through _flatten, which also raises the errors
    indptr, cols, vals_a, lengths, finite = _items.encode(seqs, name, vocab, fit, _flatten,
                                                          index)
    if not finite:
        raise ValueError(f"`{name}` has a NaN or infinite feature value")
    X = sparse.csr_matrix((vals_a, cols, indptr), shape=(indptr.size - 1, len(vocab)))
    # the rows come sorted with their repeats summed (added up, as in CRFsuite)
    X.has_canonical_format = True
    return Batch(X, lengths), vocab


def encode_matrices(seqs: Sequence[Any], name: str,
                    n_cols: Optional[int]) -> Tuple[Batch, Optional[int]]:
    """Stack per-sequence feature matrices into one CSR matrix.

    Parameters
    ----------
    seqs : sequence of scipy.sparse matrix or ndarray
        Per sequence a real matrix of shape ``(n_tokens_i, n_cols)``.
    name : str
        The argument's name, for the error messages.
    n_cols : int or None
        The number of columns every matrix must have; None: that of the first one.

    Returns
    -------
    batch : Batch
        The rows of all matrices, concatenated, as a float64 CSR matrix (explicit zeros
        removed).
    n_cols : int or None
        The number of columns (None when there is no matrix and ``n_cols`` was None).

    Raises
    ------
    TypeError
        If a matrix does not hold real numbers.
    ValueError
        If a matrix holds NaN or inf or has the wrong number of columns.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf.items import encode_matrices
    >>> batch, n = encode_matrices([np.eye(2), np.ones((1, 2))], "X", None)
    >>> batch.X.toarray().tolist(), batch.lengths.tolist(), n
    ([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [2, 1], 2)
    """
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


def encode_featurized(F: Any, name: str) -> Tuple[sparse.csr_matrix, np.ndarray]:
    """The matrix and lengths of a :class:`fastseq.features.Featurized` batch, checked.

    Parameters
    ----------
    F : Featurized
        A batch with ``matrix`` (sparse, ``(n_tokens, n_attributes)``) and ``lengths``.
    name : str
        The argument's name, for the error messages.

    Returns
    -------
    matrix : scipy.sparse.csr_matrix of float64, shape (n_tokens, n_attributes)
        ``F.matrix`` as float64 CSR (itself when it already is).
    lengths : ndarray of int64, shape (n_sequences,)
        ``F.lengths``.

    Raises
    ------
    ValueError
        If the lengths are not 1-D, are negative or do not sum to the matrix's rows, or the
        matrix holds NaN or inf.

    Examples
    --------
    >>> from fastseq.features import FeatureExtractor
    >>> from fastseq.crf.items import encode_featurized
    >>> F = FeatureExtractor([(("w", 0),)]).fit_transform([["a", "b"], ["a"]])
    >>> M, lengths = encode_featurized(F, "X")
    >>> M.shape, M.dtype, lengths.tolist()
    ((3, 2), dtype('float64'), [2, 1])
    """
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


def remap_columns(M: sparse.csr_matrix, colmap: np.ndarray,
                  n_out: int) -> sparse.csr_matrix:
    """Move the columns of a CSR matrix.

    Parameters
    ----------
    M : scipy.sparse.csr_matrix, shape (n_rows, n_cols)
        The matrix.
    colmap : ndarray of int, shape (n_cols,)
        The new column of each column of ``M``; -1 drops it.
    n_out : int
        The number of columns of the result.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_rows, n_out)
        ``M`` with column ``j`` moved to ``colmap[j]``; entries moved to the same column add
        up.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from fastseq.crf.items import remap_columns
    >>> M = sparse.csr_matrix(np.array([[1.0, 2.0, 3.0]]))
    >>> remap_columns(M, np.array([1, -1, 0]), 2).toarray().tolist()
    [[3.0, 1.0]]
    """
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


def split_by_lengths(values: List[_T], lengths: np.ndarray) -> List[List[_T]]:
    """Per-token values of concatenated sequences, cut back into one piece per sequence.

    Parameters
    ----------
    values : list
        One value per token, the sequences one after the other.
    lengths : ndarray of int of shape (n_sequences,)
        The sequence lengths (summing to ``len(values)``).

    Returns
    -------
    list
        ``values[0:lengths[0]]``, the next ``lengths[1]`` values, and so on.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf.items import split_by_lengths
    >>> split_by_lengths(["a", "b", "c"], np.array([2, 0, 1]))
    [['a', 'b'], [], ['c']]
    """
    ends = np.cumsum(lengths, dtype=np.int64).tolist()
    return [values[a:b] for a, b in zip([0] + ends[:-1], ends)]
