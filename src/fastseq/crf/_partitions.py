"""The steps of a CRF fit on training data held in parts (the partitions of
:mod:`fastseq.dask`), each a plain function of numpy / scipy data:

1. :func:`encode_part`: a part's sequences -> its own attribute and label vocabularies;
2. :func:`merge_vocabularies`: the vocabularies of consecutive parts -> theirs, in order of
   first appearance (so merging all parts in order gives what :meth:`CRF.fit` builds);
3. :func:`globalise`: a part over the merged vocabularies, and its feature counts
   (:func:`~fastseq.crf.objective.feature_counts`, added up by
   :func:`~fastseq.crf.objective.add_feature_counts`);
4. :class:`PartObjective`: a part's negative log-likelihood and gradient for given weights;
   :func:`add_evaluations` adds the parts' in the order given.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from .items import (
    Batch,
    as_seq_list,
    check_aligned,
    encode_featurized,
    encode_items,
    input_kind,
    labels_of,
    remap_columns,
)
from .objective import FeatureCounts, Objective, feature_counts

__all__ = ["EncodedPart", "encode_part", "encode_featurized_part", "merge_vocabularies",
           "globalise", "GlobalPart", "PartObjective", "add_evaluations", "Evaluation"]

#: ``(nll, grad)`` of a part; ``grad`` is None for a part without tokens
Evaluation = Tuple[float, Optional[np.ndarray]]


class EncodedPart(NamedTuple):
    """A part of the training data encoded over its own vocabularies.

    Attributes
    ----------
    batch : Batch
        The tokens over the part's attribute columns.
    attributes : dict of str to int
        The part's attributes, in order of first appearance.
    labels : dict of str to int
        The part's labels, in order of first appearance.
    y : ndarray of int64
        The label id (in ``labels``) of every token.
    """

    batch: Batch
    attributes: Dict[str, int]
    labels: Dict[str, int]
    y: np.ndarray


def encode_part(X: Sequence[Any], y: Sequence[Sequence[str]]) -> EncodedPart:
    """Encode a part of the training data: python-crfsuite items and their labels.

    Parameters
    ----------
    X : list of sequences
        Per sequence, its tokens' features (dicts or lists of str, as for
        :meth:`fastseq.crf.CRF.fit`).
    y : list of list of str
        The labels, one per token.

    Returns
    -------
    EncodedPart

    Raises
    ------
    TypeError, ValueError
        As :meth:`fastseq.crf.CRF.fit` for the same input.

    Examples
    --------
    >>> from fastseq.crf._partitions import encode_part
    >>> part = encode_part([[{"w": "a"}, {"w": "b"}]], [["A", "B"]])
    >>> part.attributes, part.labels, part.y.tolist()
    ({'w:a': 0, 'w:b': 1}, {'A': 0, 'B': 1}, [0, 1])
    """
    X = list(X)
    ylist = labels_of(list(y), "y")
    if X:
        kind = input_kind(X, "X")
        if kind != "items":
            raise TypeError("a distributed CRF fit takes python-crfsuite items (per token a "
                            f"dict or a list of attribute names), got {kind} input")
    batch, vocab = encode_items(as_seq_list(X, "X"), "X", None, fit=True)
    check_aligned(batch.lengths, ylist, "X", "y")
    labels: Dict[str, int] = {}
    setd = labels.setdefault
    yid = np.fromiter((setd(t, len(labels)) for s in ylist for t in s), dtype=np.int64,
                      count=batch.X.shape[0])
    return EncodedPart(batch, vocab, labels, yid)


def encode_featurized_part(F: Any, attributes: Sequence[str],
                           y: Sequence[Sequence[str]]) -> EncodedPart:
    """Encode a part of the training data featurised as a matrix (a
    :class:`fastseq.features.Featurized` batch) whose columns are named ``attributes``.

    Parameters
    ----------
    F : Featurized
        The part's tokens.
    attributes : list of str
        The name of each column of ``F`` (``FeatureExtractor.attribute_names()``).
    y : list of list of str
        The labels, one per token.

    Returns
    -------
    EncodedPart

    Examples
    --------
    >>> from fastseq.crf._partitions import encode_featurized_part
    >>> from fastseq.features import FeatureExtractor
    >>> fx = FeatureExtractor([(("w", 0),)])
    >>> F = fx.fit_transform([["a", "b"]])
    >>> part = encode_featurized_part(F, fx.attribute_names(), [["A", "B"]])
    >>> part.attributes, part.batch.X.shape
    ({'w[0]=a': 0, 'w[0]=b': 1}, (2, 2))
    """
    ylist = labels_of(list(y), "y")
    M, lengths = encode_featurized(F, "X")
    batch = Batch(M, lengths)
    check_aligned(batch.lengths, ylist, "X", "y")
    names = list(attributes)[:M.shape[1]]
    vocab = {n: i for i, n in enumerate(names)}
    if len(vocab) != M.shape[1]:
        raise ValueError("the feature matrix has columns without a distinct attribute name")
    labels: Dict[str, int] = {}
    setd = labels.setdefault
    yid = np.fromiter((setd(t, len(labels)) for s in ylist for t in s), dtype=np.int64,
                      count=M.shape[0])
    return EncodedPart(batch, vocab, labels, yid)


def merge_vocabularies(parts: Sequence[Tuple[Dict[str, int], Dict[str, int]]]
                       ) -> Tuple[Dict[str, int], Dict[str, int]]:
    """The attribute and label vocabularies of consecutive parts, in order of first
    appearance.

    Parameters
    ----------
    parts : sequence of (dict, dict)
        Per part, in data order, its ``(attributes, labels)`` (name -> id in order of
        first appearance).

    Returns
    -------
    attributes, labels : dict of str to int

    Examples
    --------
    >>> from fastseq.crf._partitions import merge_vocabularies
    >>> merge_vocabularies([({"a": 0, "b": 1}, {"X": 0}), ({"c": 0, "a": 1}, {"Y": 0})])
    ({'a': 0, 'b': 1, 'c': 2}, {'X': 0, 'Y': 1})
    """
    attributes: Dict[str, int] = {}
    labels: Dict[str, int] = {}
    for a, lab in parts:
        if not attributes:
            attributes = dict(a)
        else:
            for name in a:
                attributes.setdefault(name, len(attributes))
        for name in lab:
            labels.setdefault(name, len(labels))
    return attributes, labels


class GlobalPart(NamedTuple):
    """A part of the training data over the vocabularies of all the data.

    Attributes
    ----------
    batch : Batch
        The tokens over all the attribute columns.
    y : ndarray of int64
        The label id of every token.
    counts : FeatureCounts
        The part's feature counts.
    """

    batch: Batch
    y: np.ndarray
    counts: FeatureCounts


def globalise(part: EncodedPart, attributes: Dict[str, int],
              labels: Dict[str, int]) -> GlobalPart:
    """Move a part onto the vocabularies of all the data and count its features.

    Parameters
    ----------
    part : EncodedPart
        From :func:`encode_part`.
    attributes, labels : dict of str to int
        From :func:`merge_vocabularies` over all the parts.

    Returns
    -------
    GlobalPart

    Examples
    --------
    >>> from fastseq.crf._partitions import encode_part, globalise
    >>> g = globalise(encode_part([[{"w": "b"}]], [["B"]]), {"w:a": 0, "w:b": 1},
    ...               {"A": 0, "B": 1})
    >>> g.batch.X.toarray().tolist(), g.y.tolist(), g.counts.state_keys.tolist()
    ([[0.0, 1.0]], [1], [3])
    """
    colmap = np.fromiter((attributes[a] for a in part.attributes), dtype=np.int64,
                         count=len(part.attributes))
    X = remap_columns(part.batch.X, colmap, len(attributes))
    batch = Batch(X, part.batch.lengths)
    ymap = np.fromiter((labels[t] for t in part.labels), dtype=np.int64,
                       count=len(part.labels))
    y = ymap[part.y]
    return GlobalPart(batch, y, feature_counts(batch, y, len(labels)))


class PartObjective:
    """The negative log-likelihood of a part of the training data and its gradient.

    Parameters
    ----------
    part : GlobalPart
        The part.
    N : int
        The number of labels.
    features : tuple of ndarray
        ``(state_attr, state_label, trans_from, trans_to)`` of the whole data.
    n_threads : int
        Threads of the kernels (and of the sparse products when above 1).

    Attributes
    ----------
    K : int
        The number of parameters.
    n_tokens, n_sequences : int
        The tokens and the sequences of the part.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf._partitions import PartObjective, encode_part, globalise
    >>> g = globalise(encode_part([[{"w": "a"}, {"w": "b"}]], [["A", "B"]]),
    ...               {"w:a": 0, "w:b": 1}, {"A": 0, "B": 1})
    >>> feats = (np.array([0, 1]), np.array([0, 1]), np.array([0]), np.array([1]))
    >>> nll, grad = PartObjective(g, 2, feats, n_threads=1)(np.zeros(3))
    >>> round(nll, 4), grad.tolist()     # two tokens, two labels: 2 log 2
    (1.3863, [-0.5, -0.5, -0.75])
    """

    def __init__(self, part: GlobalPart, N: int, features: Tuple[np.ndarray, ...],
                 n_threads: int) -> None:
        s_attr, s_label, t_from, t_to = features
        self.K = int(s_attr.size + t_from.size)
        self.n_tokens = int(part.batch.X.shape[0])
        self.n_sequences = int(part.batch.lengths.size)
        self.n_threads = max(1, int(n_threads))
        self._obj: Optional[Objective] = None
        if self.n_tokens:
            self._obj = Objective(part.batch, part.y, N, s_attr, s_label, t_from, t_to,
                                  self.n_threads, None)

    def __call__(self, theta: np.ndarray) -> Evaluation:
        """``(nll, grad)`` at ``theta``; ``grad`` is None for a part without tokens.

        Parameters
        ----------
        theta : ndarray of float64, shape (K,)
            State weights then transition weights.

        Returns
        -------
        nll : float
        grad : ndarray of float64, shape (K,), or None
        """
        if self._obj is None:
            return 0.0, None
        if self.n_threads == 1:
            return self._obj(theta)
        # the thread pool lives only for the call: the object stays picklable
        with ThreadPoolExecutor(self.n_threads) as pool:
            self._obj.pool = pool
            try:
                return self._obj(theta)
            finally:
                self._obj.pool = None


def add_evaluations(parts: Sequence[Evaluation]) -> Evaluation:
    """The sum of evaluations, added in the order given (the same order, the same bits).

    Parameters
    ----------
    parts : sequence of (float, ndarray or None)
        ``(nll, grad)`` pairs; a None gradient is zero.

    Returns
    -------
    (float, ndarray or None)

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf._partitions import add_evaluations
    >>> f, g = add_evaluations([(1.0, np.ones(2)), (0.0, None), (2.0, np.ones(2))])
    >>> f, g.tolist()
    (3.0, [2.0, 2.0])
    """
    nll = 0.0
    grad: Optional[np.ndarray] = None
    for f, g in parts:
        nll += f
        if g is not None:
            if grad is None:
                grad = np.array(g, dtype=np.float64)  # a copy: the inputs stay as they are
            else:
                grad += g
    return nll, grad

