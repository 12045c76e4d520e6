"""Evaluation of sequence labeling: token accuracy and chunk (entity) precision / recall / F1.

The functions take ``y_true`` and ``y_pred`` as lists of tag sequences (lists of str) and give
the same numbers as `seqeval <https://github.com/chakki-works/seqeval>`_ 1.2.2:

* default mode (``mode=None``): conlleval-compatible, lenient chunking -- a chunk is read
  the way the CoNLL ``conlleval`` script reads it, so malformed sequences such as
  ``["O", "I-PER"]`` still contain a PER chunk;
* ``mode="strict"`` with a ``scheme`` (``"IOB1"``, ``"IOB2"``, ``"IOE1"``, ``"IOE2"``,
  ``"IOBES"``, ``"BILOU"``; seqeval's scheme classes are accepted too): only chunks written
  correctly under that scheme count, and every label must use the scheme's prefixes.

A predicted chunk is correct when a true chunk has the same type, start and end. Scores
are per chunk type, then averaged: ``"micro"`` (pooled counts), ``"macro"`` (plain mean
over types), ``"weighted"`` (mean weighted by true chunk counts) or ``None`` (one value
per type, types sorted by name). :func:`performance_measure` gives seqeval's token counts
(TP / FP / FN / TN, ``"O"`` being the negative tag).

Differences from seqeval, all outside the numbers it computes:

* ``mode="strict"`` without a scheme detects the scheme from the labels (as seqeval's
  ``classification_report`` does) in every function; seqeval's score functions silently
  fall back to the default mode there.
* mismatched lengths raise ``ValueError`` naming the first differing sequence; a label
  that does not fit the strict scheme raises ``ValueError`` (seqeval raises ``KeyError``
  for unknown prefix letters); ``zero_division`` must be ``"warn"``, 0 or 1.
* tuples and numpy arrays of tags are accepted (seqeval's strict mode raises
  ``TypeError``).
* the text ``classification_report`` on data without any chunk shows the averages only
  (seqeval raises); ``accuracy_score`` of empty input is 0.0.
* like seqeval, ``scheme`` is ignored unless ``mode="strict"``, and ``sample_weight`` is
  accepted for compatibility but has no effect.
"""
from __future__ import annotations

import functools
import itertools
import sys
import warnings
from types import FrameType
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
    Type,
    Union,
)

import numpy as np
from numpy.typing import NDArray

from .schemes import (
    SchemeLike,
    _flatten_with_separators,
    _lenient_spans,
    _seqeval_tag_type,
    _strict_spans,
    get_entities,
    normalize_scheme,
)

__all__ = [
    "accuracy_score",
    "precision_score",
    "recall_score",
    "f1_score",
    "precision_recall_fscore_support",
    "classification_report",
    "get_entities",
    "performance_measure",
    "unique_labels",
    "check_consistent_length",
    "UndefinedMetricWarning",
]

_AVERAGES = (None, "micro", "macro", "weighted")

# tag sequences: a list of lists of str (a flat list of str is one sequence)
Tags = Union[Sequence[str], Sequence[Sequence[str]]]
# a score: a float (numpy.float64) when averaged, else one value per chunk type
Score = Union[float, NDArray[np.float64]]


_WARNING_DOC = """A score had a zero denominator and was set by ``zero_division``.

    Issued by the score functions when ``zero_division="warn"`` (the default): the score is
    then 0.0. Pass ``zero_division=0`` or ``1`` to set the value without a warning.

    When scikit-learn is installed this class derives from
    ``sklearn.exceptions.UndefinedMetricWarning`` (the class seqeval warns with), so a
    warning filter or ``pytest.warns`` on either class catches it; without scikit-learn it
    is a :class:`UserWarning`. scikit-learn is imported the first time the class is needed
    (a warning, or a use of the name ``fastseq.metrics.UndefinedMetricWarning``), not with
    the module.

    Examples
    --------
    >>> import warnings
    >>> from fastseq.metrics import UndefinedMetricWarning, precision_score
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     score = precision_score([["B-PER", "O"]], [["O", "O"]])
    >>> float(score), caught[0].category is UndefinedMetricWarning
    (0.0, True)
    """

# the class is built on first use, so doctest would not find its examples otherwise
__test__ = {"UndefinedMetricWarning": _WARNING_DOC}

if TYPE_CHECKING:
    class UndefinedMetricWarning(UserWarning):
        """Stands for the class that the module's ``__getattr__`` builds at run time."""


@functools.lru_cache(maxsize=None)
def _warning_class() -> Type[UserWarning]:
    """The warning class, derived from scikit-learn's when it is importable."""
    base: Type[UserWarning] = UserWarning
    try:
        # (quietly: under an "error" filter a warning from importing scikit-learn would
        # otherwise replace the one being issued)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from sklearn.exceptions import UndefinedMetricWarning as sklearn_warning
    except ImportError:
        pass
    else:
        base = sklearn_warning
    return type("UndefinedMetricWarning", (base,), {"__doc__": _WARNING_DOC,
                                                     "__module__": __name__})


def __getattr__(name: str) -> Any:
    # built on first use: importing scikit-learn with the module would make the import
    # about ten times slower
    if name == "UndefinedMetricWarning":
        return _warning_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------------------
# input checking
# --------------------------------------------------------------------------------------
def _as_sequences(y, name: str) -> List[Sequence[str]]:
    """Coerce ``y`` to a list of tag sequences (a flat list of str is one sequence)."""
    if isinstance(y, str):
        raise TypeError(f"`{name}` must be a list of tag sequences, got a single str")
    try:
        y = list(y)
    except TypeError:
        raise TypeError(
            f"`{name}` must be a list of tag sequences, got {type(y).__name__}"
        ) from None
    if y and all(isinstance(t, str) for t in y):
        return [y]  # one flat sequence
    out = []
    for k, seq in enumerate(y):
        if isinstance(seq, str):
            raise TypeError(
                f"`{name}` mixes tag sequences and single tags (item {k} is {seq!r}); "
                "pass a list of lists of str"
            )
        if not isinstance(seq, (list, tuple)):
            try:
                seq = list(seq)
            except TypeError:
                raise TypeError(
                    f"`{name}[{k}]` must be a sequence of str, got {type(seq).__name__}"
                ) from None
        out.append(seq)
    return out


def _check_pair(y_true, y_pred) -> Tuple[List[Sequence[str]], List[Sequence[str]]]:
    yt = _as_sequences(y_true, "y_true")
    yp = _as_sequences(y_pred, "y_pred")
    if len(yt) != len(yp):
        raise ValueError(
            f"`y_true` and `y_pred` have different numbers of sequences: "
            f"{len(yt)} vs {len(yp)}"
        )
    for k, (a, b) in enumerate(zip(yt, yp)):
        if len(a) != len(b):
            raise ValueError(
                f"sequence {k} has {len(a)} tag(s) in `y_true` but {len(b)} in `y_pred`"
            )
    _check_tags(yt, "y_true")
    _check_tags(yp, "y_pred")
    return yt, yp


def _check_tags(ys: List[Sequence[str]], name: str) -> None:
    kinds = set(map(type, itertools.chain.from_iterable(ys)))
    if all(issubclass(kind, str) for kind in kinds):
        return
    for k, seq in enumerate(ys):
        for j, tag in enumerate(seq):
            if not isinstance(tag, str):
                raise TypeError(
                    f"`{name}[{k}][{j}]` must be a str, got {type(tag).__name__}: {tag!r}"
                )


def check_consistent_length(y_true: Tags, y_pred: Tags) -> None:
    """Check that two tag collections can be compared: sequences of str tags, as many
    sequences in each, and as many tags in each pair of sequences.

    The check every score function of this module runs first (seqeval's
    ``seqeval.metrics.v1.check_consistent_length``).

    Parameters
    ----------
    y_true, y_pred : list of list of str
        Tag sequences (a flat list of str is one sequence; tuples and numpy arrays of str
        are accepted too).

    Raises
    ------
    ValueError
        When the numbers of sequences, or of tags in a pair of sequences, differ (the
        message names the first mismatch).
    TypeError
        When an input is not a collection of tag sequences or a tag is not a str.

    Examples
    --------
    >>> from fastseq.metrics import check_consistent_length
    >>> check_consistent_length([["B-PER", "O"]], [["B-PER", "B-LOC"]])
    >>> check_consistent_length([["B-PER", "O"]], [["B-PER"]])
    Traceback (most recent call last):
    ...
    ValueError: sequence 0 has 2 tag(s) in `y_true` but 1 in `y_pred`
    """
    _check_pair(y_true, y_pred)


def unique_labels(y_true: Tags, y_pred: Tags, scheme: Optional[Union[str, type]] = None,
                  suffix: bool = False) -> List[str]:
    """The chunk types found in either collection of tag sequences, sorted.

    The inputs need not have the same lengths (seqeval's ``unique_labels``).

    Parameters
    ----------
    y_true, y_pred : list of list of str
        Tag sequences.
    scheme : str or seqeval scheme class, optional
        Read the chunks strictly by this scheme (``"IOB2"``, ``"IOBES"``, ...; as
        ``mode="strict"`` does), so that ill-formed chunks do not count; by default they are
        read leniently (conlleval's rules), as the score functions' default mode does.
    suffix : bool, default False
        Whether the chunk prefix is at the end of the tag (``PER-B``).

    Returns
    -------
    list of str
        The chunk types, sorted.

    Raises
    ------
    TypeError
        When an input is not a collection of tag sequences or a tag is not a str.
    ValueError
        For an unknown scheme, or a tag that does not fit it.

    Examples
    --------
    >>> from fastseq.metrics import unique_labels
    >>> unique_labels([["B-PER", "I-PER", "O"]], [["B-LOC"], ["O", "B-PER"]])
    ['LOC', 'PER']
    >>> unique_labels([["I-PER", "O"]], [[]]), unique_labels([["I-PER", "O"]], [[]], "IOB2")
    (['PER'], [])
    """
    found: Set[str] = set()
    strict = None if scheme is None else normalize_scheme(scheme)
    for ys, name in ((y_true, "y_true"), (y_pred, "y_pred")):
        seqs = _as_sequences(ys, name)
        _check_tags(seqs, name)
        stream = _flatten_with_separators(seqs)
        stream.append("O")
        spans = _spans(stream, strict, suffix)
        found.update(spans.types[k] for k in np.unique(spans.type_id))
    return sorted(found)


def _check_zero_division(zero_division):
    if isinstance(zero_division, str):
        if zero_division != "warn":
            raise ValueError(f'`zero_division` must be "warn", 0 or 1, got {zero_division!r}')
        return zero_division
    if isinstance(zero_division, (bool, np.bool_)) or zero_division not in (0, 1):
        raise ValueError(f'`zero_division` must be "warn", 0 or 1, got {zero_division!r}')
    return int(zero_division)


def _resolve_mode(mode, scheme, yt, yp, suffix) -> Optional[str]:
    """Return the strict scheme name, or None for the default (lenient) mode."""
    if mode is None or mode == "default":
        if scheme is not None:
            normalize_scheme(scheme)  # still reject nonsense
        return None
    if mode != "strict":
        raise ValueError(f'`mode` must be None, "default" or "strict", got {mode!r}')
    if scheme is not None:
        return normalize_scheme(scheme)
    return _detect_scheme(yt, yp, suffix)


def _detect_scheme(yt, yp, suffix: bool) -> str:
    labels: Set[str] = set()
    for ys in (yt, yp):
        for seq in ys:
            labels.update(seq)
    prefixes = {lab[-1] if suffix else lab[0] for lab in labels if lab}
    found = prefixes - {"O"}
    if found <= set("BI") and ("B" in found or not found):
        return "IOB2"
    if found <= set("IE") and "E" in found:
        return "IOE2"
    if found <= set("BIES") and found & set("ES"):
        return "IOBES"
    if found <= set("BILU") and found & set("LU"):
        return "BILOU"
    raise ValueError(
        "could not detect the tagging scheme from the prefixes "
        f"{sorted(prefixes)}; pass `scheme=` (one of IOB1, IOB2, IOE1, IOE2, IOBES, BILOU)"
    )


# --------------------------------------------------------------------------------------
# counting
# --------------------------------------------------------------------------------------
def _spans(stream: List[str], scheme: Optional[str], suffix: bool):
    if scheme is None:
        return _lenient_spans(stream, lambda lab: _seqeval_tag_type(lab, suffix))
    return _strict_spans(stream, scheme, suffix)


def _counts(yt, yp, scheme, suffix):
    """(type names, pred counts, true-positive counts, true counts), types sorted.

    Both label streams have the same length, and no two chunks of one stream end at the
    same position, so a predicted chunk is correct iff the true chunk ending at its last
    token (if any) has the same start and type.
    """
    t_stream = _flatten_with_separators(yt)
    p_stream = _flatten_with_separators(yp)
    t_stream.append("O")
    p_stream.append("O")
    ts = _spans(t_stream, scheme, suffix)
    ps = _spans(p_stream, scheme, suffix)
    names = sorted(set(ts.types[k] for k in np.unique(ts.type_id))
                   | set(ps.types[k] for k in np.unique(ps.type_id)))
    where = {name: k for k, name in enumerate(names)}

    def global_ids(sp):
        lookup = np.array([where.get(t, -1) for t in sp.types] or [-1], dtype=np.int64)
        return lookup[sp.type_id]

    t_type, p_type = global_ids(ts), global_ids(ps)
    k = len(names)
    true_sum = np.bincount(t_type, minlength=k).astype(np.int64)
    pred_sum = np.bincount(p_type, minlength=k).astype(np.int64)
    n = len(t_stream)
    start_at = np.full(n, -1, dtype=np.int64)
    type_at = np.full(n, -1, dtype=np.int64)
    start_at[ts.end] = ts.start
    type_at[ts.end] = t_type
    hit = (start_at[ps.end] == ps.start) & (type_at[ps.end] == p_type)
    tp_sum = np.bincount(p_type[hit], minlength=k).astype(np.int64)
    return names, pred_sum, tp_sum, true_sum


def _warn(message: str) -> None:
    """Warn with the location of the first caller outside this module."""
    level = 1
    frame: Optional[FrameType] = sys._getframe(0)
    while frame is not None and frame.f_code.co_filename == __file__:
        level += 1
        frame = frame.f_back
    warnings.warn(message, _warning_class(), stacklevel=level)


def _warn_undefined(what: str, modifier: str, n_results: int) -> None:
    # seqeval's (and scikit-learn's) wording, so that filters on the message keep working
    where = "due to" if n_results == 1 else "in labels with"
    _warn(f"{what} ill-defined and being set to 0.0 {where} no {modifier} samples. "
          "Use `zero_division` parameter to control this behavior.")


def _divide(num, den, zero_division, metric, modifier, warn_for):
    den = den.astype(np.float64)
    zero = den == 0.0
    den[zero] = 1.0
    out = num / den
    if np.any(zero):
        out[zero] = 0.0 if zero_division in ("warn", 0) else 1.0
        # as seqeval: a score warns only when asked for by name, so f1_score alone does
        # not warn about an undefined precision or recall
        if zero_division == "warn" and metric in warn_for:
            what = metric.title() + (" and F-score are" if "f-score" in warn_for else " is")
            _warn_undefined(what, modifier, len(out))
    return out


def _prfs(names, pred_sum, tp_sum, true_sum, *, average, beta, zero_division, warn_for):
    if average == "micro":
        pred_sum = np.array([pred_sum.sum()])
        tp_sum = np.array([tp_sum.sum()])
        true_sum = np.array([true_sum.sum()])
    precision = _divide(tp_sum, pred_sum, zero_division, "precision", "predicted", warn_for)
    recall = _divide(tp_sum, true_sum, zero_division, "recall", "true", warn_for)
    # the F-score alone warns only where both of its parts are undefined
    if zero_division == "warn" and warn_for == ("f-score",):
        if np.any(pred_sum[true_sum == 0] == 0):
            _warn_undefined("F-score is", "true nor predicted", len(true_sum))
    if np.isposinf(beta):
        f_score = recall
    else:
        beta2 = beta ** 2
        denom = beta2 * precision + recall
        denom[denom == 0.0] = 1.0
        f_score = (1 + beta2) * precision * recall / denom

    if average is None:
        return precision, recall, f_score, true_sum
    # averaged scores come with the total number of true chunks, as in seqeval
    support = true_sum.sum()
    if average == "weighted":
        weights = true_sum
        if weights.sum() == 0:
            # (plain floats here, as seqeval returns)
            zd = 0.0 if zero_division in ("warn", 0) else 1.0
            if pred_sum.sum() == 0:
                return zd, zd, zd, support
            return 0.0, zd, 0.0, support
    else:
        weights = None
    # (the macro mean over no chunk type at all is NaN, with numpy's RuntimeWarning, as in
    # seqeval)
    return (
        np.average(precision, weights=weights),
        np.average(recall, weights=weights),
        np.average(f_score, weights=weights),
        support,
    )


def _check_average(average):
    if average not in _AVERAGES:
        raise ValueError(f"`average` must be one of {_AVERAGES}, got {average!r}")


def precision_recall_fscore_support(
    y_true: Tags,
    y_pred: Tags,
    *,
    average: Optional[str] = None,
    beta: float = 1.0,
    suffix: bool = False,
    mode: Optional[str] = None,
    scheme: Optional[SchemeLike] = None,
    sample_weight: Any = None,
    zero_division: Union[str, int] = "warn",
    warn_for: Sequence[str] = ("precision", "recall", "f-score"),
) -> Tuple[Score, Score, Score, Union[int, NDArray[np.int64]]]:
    """Chunk precision, recall, F-beta and support.

    Parameters
    ----------
    y_true, y_pred : list of lists of str
        Gold and predicted tag sequences: the same number of sequences, each of the same
        length in both (a flat list of str is one sequence).
    average : {None, "micro", "macro", "weighted"}, default None
        ``None`` returns one value per chunk type (types sorted by name); ``"micro"`` pools
        the counts of all types, ``"macro"`` takes the plain mean over types,
        ``"weighted"`` the mean weighted by the number of true chunks.
    beta : float, default 1.0
        Weight of recall in the F-score (>= 0; ``inf`` gives recall).
    suffix : bool, default False
        Labels are written ``<type>-<prefix>`` (``"PER-B"``).
    mode : {None, "default", "strict"}, default None
        ``None`` or ``"default"``: conlleval-compatible lenient chunking; ``"strict"``:
        only chunks that are well formed under ``scheme`` count.
    scheme : str or type, optional
        Tagging scheme for ``mode="strict"`` (see :func:`fastseq.schemes.normalize_scheme`;
        detected from the labels when omitted); validated but otherwise ignored in the
        default mode.
    sample_weight : object, optional
        Ignored: accepted for seqeval compatibility.
    zero_division : {"warn", 0, 1}, default "warn"
        Value of a precision (recall) whose denominator is zero; ``"warn"`` means 0 plus an
        :class:`UndefinedMetricWarning`.
    warn_for : sequence of str, default ("precision", "recall", "f-score")
        Which of ``"precision", "recall", "f-score"`` may warn.

    Returns
    -------
    precision, recall, f_score : float or ndarray of float64, shape (n_types,)
        The scores: arrays (one value per chunk type, types sorted by name) when
        ``average=None``, else floats (``numpy.float64``; NaN, with numpy's
        :class:`RuntimeWarning`, for ``"macro"`` over no chunk type at all; plain floats for
        ``"weighted"`` without any true chunk; all as in seqeval).
    support : ndarray of int64, shape (n_types,), or int
        Number of true chunks: per type when ``average=None``, else the total
        (``numpy.int64``), as in seqeval.

    Raises
    ------
    TypeError
        If ``y_true`` or ``y_pred`` is a single str or mixes sequences and single tags, a
        tag is not a str, or ``scheme`` is neither a str nor a class.
    ValueError
        If ``average``, ``beta`` (< 0), ``mode``, ``zero_division`` or ``scheme`` is invalid,
        the numbers of sequences or the lengths of a sequence differ (the message names the
        first mismatch), a label does not fit the strict scheme, or (``mode="strict"``
        without a scheme) the scheme cannot be detected.

    Examples
    --------
    >>> from fastseq.metrics import precision_recall_fscore_support
    >>> y_true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    >>> y_pred = [["B-PER", "I-PER", "O", "O"], ["B-ORG", "B-LOC"]]
    >>> p, r, f, support = precision_recall_fscore_support(y_true, y_pred)
    >>> p.tolist(), r.tolist(), support.tolist()  # LOC, ORG, PER
    ([0.0, 1.0, 1.0], [0.0, 1.0, 1.0], [1, 1, 1])
    >>> p, r, f, support = precision_recall_fscore_support(y_true, y_pred, average="micro")
    >>> round(float(p), 4), round(float(r), 4), round(float(f), 4), int(support)
    (0.6667, 0.6667, 0.6667, 3)
    """
    _check_average(average)
    if beta < 0:
        raise ValueError(f"`beta` must be >= 0, got {beta}")
    zero_division = _check_zero_division(zero_division)
    yt, yp = _check_pair(y_true, y_pred)
    scheme_name = _resolve_mode(mode, scheme, yt, yp, suffix)
    names, pred_sum, tp_sum, true_sum = _counts(yt, yp, scheme_name, suffix)
    return _prfs(
        names, pred_sum, tp_sum, true_sum, average=average, beta=beta,
        zero_division=zero_division, warn_for=warn_for,
    )


def _score(which: int, y_true, y_pred, average, suffix, mode, scheme, sample_weight,
           zero_division) -> Score:
    warn_for = {0: ("precision",), 1: ("recall",), 2: ("f-score",)}[which]
    res = precision_recall_fscore_support(
        y_true, y_pred, average=average, suffix=suffix, mode=mode, scheme=scheme,
        sample_weight=sample_weight, zero_division=zero_division, warn_for=warn_for,
    )
    return res[0] if which == 0 else res[1] if which == 1 else res[2]


def precision_score(y_true: Tags, y_pred: Tags, *, average: Optional[str] = "micro",
                    suffix: bool = False, mode: Optional[str] = None, sample_weight: Any = None,
                    zero_division: Union[str, int] = "warn",
                    scheme: Optional[SchemeLike] = None) -> Score:
    """Chunk precision: correct predicted chunks / predicted chunks.

    Parameters
    ----------
    y_true, y_pred : list of lists of str
        Gold and predicted tag sequences; the number of sequences and each sequence's
        length must agree (a flat list of str is one sequence).
    average : {"micro", "macro", "weighted", None}, default "micro"
        How per-type scores are combined: pooled counts, plain mean over types, or mean
        weighted by the number of true chunks; ``None`` returns an array, one value per
        chunk type in sorted type order.
    suffix : bool, default False
        Labels are written ``<type>-<prefix>`` (``"PER-B"``).
    mode : {None, "default", "strict"}, default None
        ``None`` or ``"default"``: conlleval-compatible lenient chunking, as seqeval's
        default. ``"strict"``: only chunks written correctly under ``scheme`` count.
    sample_weight : object, optional
        Ignored: accepted for seqeval compatibility; has no effect (as in seqeval).
    zero_division : {"warn", 0, 1}, default "warn"
        Value used when a denominator is zero; ``"warn"`` = 0 plus an
        :class:`UndefinedMetricWarning`.
    scheme : str or type, optional
        ``"IOB1", "IOB2", "IOE1", "IOE2", "IOBES"`` or ``"BILOU"`` (or a seqeval scheme
        class) for ``mode="strict"``; detected from the labels when omitted.

    Returns
    -------
    float or ndarray of float64, shape (n_types,)
        The precision: a float (``numpy.float64``), or one value per chunk type when
        ``average=None``.

    Raises
    ------
    TypeError
        If ``y_true`` or ``y_pred`` is a single str or mixes sequences and single tags, a
        tag is not a str, or ``scheme`` is neither a str nor a class.
    ValueError
        If ``average``, ``mode``, ``zero_division`` or ``scheme`` is invalid, the numbers
        of sequences or the lengths of a sequence differ (the message names the first
        mismatch), a label does not fit the strict scheme, or (``mode="strict"`` without a
        scheme) the scheme cannot be detected.

    See Also
    --------
    precision_recall_fscore_support : All three scores and the support at once.

    Examples
    --------
    >>> from fastseq.metrics import precision_score
    >>> y_true = [["B-PER", "I-PER", "O", "B-LOC"]]
    >>> y_pred = [["B-PER", "I-PER", "O", "O"]]
    >>> float(precision_score(y_true, y_pred))
    1.0
    >>> precision_score(y_true, y_pred, average=None, zero_division=0).tolist()  # LOC, PER
    [0.0, 1.0]
    """
    _check_average(average)
    return _score(0, y_true, y_pred, average, suffix, mode, scheme, sample_weight, zero_division)


def recall_score(y_true: Tags, y_pred: Tags, *, average: Optional[str] = "micro",
                 suffix: bool = False, mode: Optional[str] = None, sample_weight: Any = None,
                 zero_division: Union[str, int] = "warn",
                 scheme: Optional[SchemeLike] = None) -> Score:
    """Chunk recall: correct predicted chunks / true chunks.

    Parameters
    ----------
    y_true, y_pred : list of lists of str
        Gold and predicted tag sequences; the number of sequences and each sequence's
        length must agree (a flat list of str is one sequence).
    average : {"micro", "macro", "weighted", None}, default "micro"
        How per-type scores are combined: pooled counts, plain mean over types, or mean
        weighted by the number of true chunks; ``None`` returns an array, one value per
        chunk type in sorted type order.
    suffix : bool, default False
        Labels are written ``<type>-<prefix>`` (``"PER-B"``).
    mode : {None, "default", "strict"}, default None
        ``None`` or ``"default"``: conlleval-compatible lenient chunking, as seqeval's
        default. ``"strict"``: only chunks written correctly under ``scheme`` count.
    sample_weight : object, optional
        Ignored: accepted for seqeval compatibility; has no effect (as in seqeval).
    zero_division : {"warn", 0, 1}, default "warn"
        Value used when a denominator is zero; ``"warn"`` = 0 plus an
        :class:`UndefinedMetricWarning`.
    scheme : str or type, optional
        ``"IOB1", "IOB2", "IOE1", "IOE2", "IOBES"`` or ``"BILOU"`` (or a seqeval scheme
        class) for ``mode="strict"``; detected from the labels when omitted.

    Returns
    -------
    float or ndarray of float64, shape (n_types,)
        The recall: a float (``numpy.float64``), or one value per chunk type when
        ``average=None``.

    Raises
    ------
    TypeError
        If ``y_true`` or ``y_pred`` is a single str or mixes sequences and single tags, a
        tag is not a str, or ``scheme`` is neither a str nor a class.
    ValueError
        If ``average``, ``mode``, ``zero_division`` or ``scheme`` is invalid, the numbers
        of sequences or the lengths of a sequence differ (the message names the first
        mismatch), a label does not fit the strict scheme, or (``mode="strict"`` without a
        scheme) the scheme cannot be detected.

    See Also
    --------
    precision_recall_fscore_support : All three scores and the support at once.

    Examples
    --------
    >>> from fastseq.metrics import recall_score
    >>> y_true = [["B-PER", "I-PER", "O", "B-LOC"]]
    >>> y_pred = [["B-PER", "I-PER", "O", "O"]]
    >>> float(recall_score(y_true, y_pred))
    0.5
    >>> recall_score(y_true, y_pred, average=None).tolist()  # LOC, PER
    [0.0, 1.0]
    """
    _check_average(average)
    return _score(1, y_true, y_pred, average, suffix, mode, scheme, sample_weight, zero_division)


def f1_score(y_true: Tags, y_pred: Tags, *, average: Optional[str] = "micro",
             suffix: bool = False, mode: Optional[str] = None, sample_weight: Any = None,
             zero_division: Union[str, int] = "warn",
             scheme: Optional[SchemeLike] = None) -> Score:
    """Chunk F1: harmonic mean of chunk precision and recall (0 when both are 0).

    Parameters
    ----------
    y_true, y_pred : list of lists of str
        Gold and predicted tag sequences; the number of sequences and each sequence's
        length must agree (a flat list of str is one sequence).
    average : {"micro", "macro", "weighted", None}, default "micro"
        How per-type scores are combined: pooled counts, plain mean over types, or mean
        weighted by the number of true chunks; ``None`` returns an array, one value per
        chunk type in sorted type order.
    suffix : bool, default False
        Labels are written ``<type>-<prefix>`` (``"PER-B"``).
    mode : {None, "default", "strict"}, default None
        ``None`` or ``"default"``: conlleval-compatible lenient chunking, as seqeval's
        default. ``"strict"``: only chunks written correctly under ``scheme`` count.
    sample_weight : object, optional
        Ignored: accepted for seqeval compatibility; has no effect (as in seqeval).
    zero_division : {"warn", 0, 1}, default "warn"
        Value used when a denominator is zero; ``"warn"`` = 0 plus an
        :class:`UndefinedMetricWarning`.
    scheme : str or type, optional
        ``"IOB1", "IOB2", "IOE1", "IOE2", "IOBES"`` or ``"BILOU"`` (or a seqeval scheme
        class) for ``mode="strict"``; detected from the labels when omitted.

    Returns
    -------
    float or ndarray of float64, shape (n_types,)
        The F1 score: a float (``numpy.float64``), or one value per chunk type when
        ``average=None``.

    Raises
    ------
    TypeError
        If ``y_true`` or ``y_pred`` is a single str or mixes sequences and single tags, a
        tag is not a str, or ``scheme`` is neither a str nor a class.
    ValueError
        If ``average``, ``mode``, ``zero_division`` or ``scheme`` is invalid, the numbers
        of sequences or the lengths of a sequence differ (the message names the first
        mismatch), a label does not fit the strict scheme, or (``mode="strict"`` without a
        scheme) the scheme cannot be detected.

    See Also
    --------
    precision_recall_fscore_support : All three scores and the support at once.

    Examples
    --------
    >>> from fastseq.metrics import f1_score
    >>> y_true = [["B-PER", "I-PER", "O", "B-LOC"]]
    >>> y_pred = [["B-PER", "I-PER", "O", "O"]]
    >>> round(float(f1_score(y_true, y_pred)), 4)
    0.6667
    >>> y_pred_bad = [["O", "I-PER", "O", "B-LOC"]]  # a PER chunk only in the lenient mode
    >>> float(f1_score(y_true, y_pred_bad)), float(f1_score(y_true, y_pred_bad, mode="strict"))
    (0.5, 0.6666666666666666)
    """
    _check_average(average)
    return _score(2, y_true, y_pred, average, suffix, mode, scheme, sample_weight, zero_division)


def accuracy_score(y_true: Tags, y_pred: Tags) -> float:
    """Token accuracy: the fraction of tokens whose predicted tag equals the true tag.

    Parameters
    ----------
    y_true, y_pred : list of lists of str
        Gold and predicted tag sequences: the same number of sequences, each of the same
        length in both (a flat list of str is one sequence).

    Returns
    -------
    float
        The accuracy; 0.0 for empty input.

    Raises
    ------
    TypeError
        If ``y_true`` or ``y_pred`` is a single str or mixes sequences and single tags, or a
        tag is not a str.
    ValueError
        If the numbers of sequences or the lengths of a sequence differ (the message names
        the first mismatch).

    Examples
    --------
    >>> from fastseq.metrics import accuracy_score
    >>> accuracy_score([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])
    0.6666666666666666
    """
    yt, yp = _check_pair(y_true, y_pred)
    total = 0
    correct = 0
    for a, b in zip(yt, yp):
        total += len(a)
        correct += sum(map(str.__eq__, a, b))
    return correct / total if total else 0.0


def performance_measure(y_true: Tags, y_pred: Tags) -> Dict[str, int]:
    """Token counts of true / false positives and negatives, "O" being the negative tag.

    Tokens are compared one by one, without reading chunks, as seqeval's
    ``performance_measure`` does: a token is a true positive when both tags are equal and
    not both ``"O"``, a false positive when the tags differ and the predicted one is not
    ``"O"``, a false negative when the true tag is not ``"O"`` but the predicted one is, and
    a true negative when both are ``"O"``. A token whose tags are two different non-``"O"``
    tags is therefore a false positive only.

    Parameters
    ----------
    y_true, y_pred : list of lists of str
        Gold and predicted tag sequences: the same number of sequences, each of the same
        length in both (a flat list of str is one sequence).

    Returns
    -------
    dict
        ``{"TP": int, "FP": int, "FN": int, "TN": int}``.

    Raises
    ------
    TypeError
        If ``y_true`` or ``y_pred`` is a single str or mixes sequences and single tags, or a
        tag is not a str.
    ValueError
        If the numbers of sequences or the lengths of a sequence differ (the message names
        the first mismatch).

    See Also
    --------
    accuracy_score : The fraction of tokens tagged correctly.

    Examples
    --------
    >>> from fastseq.metrics import performance_measure
    >>> y_true = [["O", "B-PER", "I-PER", "O"], ["B-LOC", "O"]]
    >>> y_pred = [["O", "B-PER", "O", "B-ORG"], ["B-PER", "O"]]
    >>> performance_measure(y_true, y_pred)
    {'TP': 1, 'FP': 2, 'FN': 1, 'TN': 2}
    """
    yt, yp = _check_pair(y_true, y_pred)
    t = np.array(list(itertools.chain.from_iterable(yt)), dtype=object)
    p = np.array(list(itertools.chain.from_iterable(yp)), dtype=object)
    same = t == p
    t_out = t == "O"
    p_out = p == "O"
    return {
        "TP": int(np.count_nonzero(same & ~(t_out & p_out))),
        "FP": int(np.count_nonzero(~same & ~p_out)),
        "FN": int(np.count_nonzero(~t_out & p_out)),
        "TN": int(np.count_nonzero(t_out & p_out)),
    }


def classification_report(
    y_true: Tags, y_pred: Tags, digits: int = 2, suffix: bool = False,
    output_dict: bool = False, mode: Optional[str] = None, sample_weight: Any = None,
    zero_division: Union[str, int] = "warn", scheme: Optional[SchemeLike] = None,
) -> Union[str, Dict[str, Dict[str, Any]]]:
    """Per-type chunk precision, recall, F1 and support, plus micro / macro / weighted averages.

    Parameters
    ----------
    y_true, y_pred : list of lists of str
        Gold and predicted tag sequences: the same number of sequences, each of the same
        length in both (a flat list of str is one sequence).
    digits : int, default 2
        Decimal places in the text report.
    suffix : bool, default False
        Labels are written ``<type>-<prefix>`` (``"PER-B"``).
    output_dict : bool, default False
        Return a dict instead of text: ``{type: {"precision", "recall", "f1-score",
        "support"}, ..., "micro avg": {...}, "macro avg": {...}, "weighted avg": {...}}``.
    mode : {None, "default", "strict"}, default None
        ``None`` or ``"default"``: conlleval-compatible lenient chunking; ``"strict"``: only
        chunks written correctly under ``scheme`` count.
    sample_weight : object, optional
        Ignored: accepted for seqeval compatibility.
    zero_division : {"warn", 0, 1}, default "warn"
        Value used when a denominator is zero; ``"warn"`` = 0 plus an
        :class:`UndefinedMetricWarning`.
    scheme : str or type, optional
        Tagging scheme for ``mode="strict"`` (detected from the labels when omitted).

    Returns
    -------
    str or dict
        The text has the same layout as seqeval's (and scikit-learn's) report. The dict
        maps each chunk type (sorted) and ``"micro avg"``, ``"macro avg"``,
        ``"weighted avg"`` to ``{"precision", "recall", "f1-score", "support"}``. Without
        any chunk there are only the averages.

    Raises
    ------
    TypeError
        If ``y_true`` or ``y_pred`` is a single str or mixes sequences and single tags, a
        tag is not a str, or ``scheme`` is neither a str nor a class.
    ValueError
        If ``mode``, ``zero_division`` or ``scheme`` is invalid, the numbers of sequences or
        the lengths of a sequence differ, a label does not fit the strict scheme, or
        (``mode="strict"`` without a scheme) the scheme cannot be detected.

    Examples
    --------
    >>> from fastseq.metrics import classification_report
    >>> print(classification_report([["B-PER", "O", "B-LOC"]], [["B-PER", "O", "O"]],
    ...                             zero_division=0))
                  precision    recall  f1-score   support
    <BLANKLINE>
             LOC       0.00      0.00      0.00         1
             PER       1.00      1.00      1.00         1
    <BLANKLINE>
       micro avg       1.00      0.50      0.67         2
       macro avg       0.50      0.50      0.50         2
    weighted avg       0.50      0.50      0.50         2
    <BLANKLINE>
    >>> report = classification_report([["B-PER", "O"]], [["B-PER", "O"]], output_dict=True)
    >>> sorted(report), float(report["PER"]["f1-score"])
    (['PER', 'macro avg', 'micro avg', 'weighted avg'], 1.0)
    """
    zero_division = _check_zero_division(zero_division)
    yt, yp = _check_pair(y_true, y_pred)
    scheme_name = _resolve_mode(mode, scheme, yt, yp, suffix)
    names, pred_sum, tp_sum, true_sum = _counts(yt, yp, scheme_name, suffix)
    kw = dict(beta=1.0, zero_division=zero_division, warn_for=("precision", "recall", "f-score"))
    p, r, f, s = _prfs(names, pred_sum, tp_sum, true_sum, average=None, **kw)
    rows = [(name, p[k], r[k], f[k], s[k]) for k, name in enumerate(names)]
    # each average warns on its own, as in seqeval
    for average in ("micro", "macro", "weighted"):
        ap, ar, af, total = _prfs(names, pred_sum, tp_sum, true_sum, average=average, **kw)
        rows.append((f"{average} avg", ap, ar, af, total))

    if output_dict:
        return {
            name: {"precision": pp, "recall": rr, "f1-score": ff, "support": ss}
            for name, pp, rr, ff, ss in rows
        }

    width = max([len(name) for name in names] + [len("weighted avg"), digits])
    head = f"{'':>{width}s} " + "".join(
        f" {h:>9}" for h in ("precision", "recall", "f1-score", "support")
    )
    lines = [head, ""]
    n_types = len(names)
    for k, (name, pp, rr, ff, ss) in enumerate(rows):
        if k == n_types:
            lines.append("")
        lines.append(
            f"{name:>{width}s} " + f" {pp:>9.{digits}f} {rr:>9.{digits}f} {ff:>9.{digits}f}"
            + f" {ss:>9}"
        )
    return "\n".join(lines) + "\n"
