"""Token-level and sequence-level scores of label sequences, as ``sklearn_crfsuite.metrics``.

The ``flat_*`` functions flatten ``y_true`` and ``y_pred`` (lists of label lists) into one
label per token and call the scikit-learn metric of the same name with the remaining
arguments; scikit-learn is needed for them (an optional dependency of fastseq, imported
when called). :func:`sequence_accuracy_score` counts whole sequences and needs nothing.

For chunk (entity) scores use :mod:`fastseq.metrics` instead.

>>> from fastseq.crf import metrics
>>> y_true = [["B-PER", "I-PER", "O"], ["O", "B-LOC"]]
>>> y_pred = [["B-PER", "O", "O"], ["O", "B-LOC"]]
>>> metrics.flat_accuracy_score(y_true, y_pred), metrics.sequence_accuracy_score(y_true, y_pred)
(0.8, 0.5)
"""
from __future__ import annotations

from itertools import chain
from typing import Any, Iterable, List

__all__ = ["flat_accuracy_score", "flat_precision_score", "flat_recall_score",
           "flat_f1_score", "flat_fbeta_score", "flat_classification_report",
           "sequence_accuracy_score"]


def _flat(y: Iterable[Iterable[Any]]) -> List[Any]:
    return list(chain.from_iterable(y))


def _sklearn_metrics() -> Any:
    try:
        from sklearn import metrics
    except ImportError as exc:  # optional dependency
        raise ImportError("fastseq.crf.metrics' flat_* functions need scikit-learn "
                          "(pip install scikit-learn)") from exc
    return metrics


def flat_accuracy_score(y_true: Iterable[Iterable[Any]], y_pred: Iterable[Iterable[Any]]
                        ) -> float:
    """Accuracy over all tokens.

    Parameters
    ----------
    y_true, y_pred : list of list of str
        The gold and the predicted labels, one list per sequence.

    Returns
    -------
    float
        ``sklearn.metrics.accuracy_score`` of the flattened labels.

    Examples
    --------
    >>> from fastseq.crf.metrics import flat_accuracy_score
    >>> flat_accuracy_score([["A", "B"], ["A"]], [["A", "A"], ["A"]])
    0.666...
    """
    return float(_sklearn_metrics().accuracy_score(_flat(y_true), _flat(y_pred)))


def flat_precision_score(y_true: Iterable[Iterable[Any]], y_pred: Iterable[Iterable[Any]],
                         **kwargs: Any) -> Any:
    """Precision over all tokens.

    Parameters
    ----------
    y_true, y_pred : list of list of str
        The gold and the predicted labels, one list per sequence.
    **kwargs
        Passed to ``sklearn.metrics.precision_score`` (``labels``, ``average``, ...).

    Returns
    -------
    float or ndarray
        ``sklearn.metrics.precision_score`` of the flattened labels.

    Examples
    --------
    >>> from fastseq.crf.metrics import flat_precision_score
    >>> float(flat_precision_score([["A", "B"], ["A"]], [["A", "A"], ["A"]], average="micro"))
    0.666...
    """
    return _sklearn_metrics().precision_score(_flat(y_true), _flat(y_pred), **kwargs)


def flat_recall_score(y_true: Iterable[Iterable[Any]], y_pred: Iterable[Iterable[Any]],
                      **kwargs: Any) -> Any:
    """Recall over all tokens.

    Parameters
    ----------
    y_true, y_pred : list of list of str
        The gold and the predicted labels, one list per sequence.
    **kwargs
        Passed to ``sklearn.metrics.recall_score`` (``labels``, ``average``, ...).

    Returns
    -------
    float or ndarray
        ``sklearn.metrics.recall_score`` of the flattened labels.

    Examples
    --------
    >>> from fastseq.crf.metrics import flat_recall_score
    >>> float(flat_recall_score([["A", "B"], ["A"]], [["A", "A"], ["A"]], labels=["A"],
    ...                         average="macro"))
    1.0
    """
    return _sklearn_metrics().recall_score(_flat(y_true), _flat(y_pred), **kwargs)


def flat_f1_score(y_true: Iterable[Iterable[Any]], y_pred: Iterable[Iterable[Any]],
                  **kwargs: Any) -> Any:
    """F1 score over all tokens.

    Parameters
    ----------
    y_true, y_pred : list of list of str
        The gold and the predicted labels, one list per sequence.
    **kwargs
        Passed to ``sklearn.metrics.f1_score`` (``labels``, ``average``, ...).

    Returns
    -------
    float or ndarray
        ``sklearn.metrics.f1_score`` of the flattened labels.

    Examples
    --------
    >>> from fastseq.crf.metrics import flat_f1_score
    >>> float(flat_f1_score([["A", "B"], ["A"]], [["A", "B"], ["B"]], average="macro"))
    0.666...
    """
    return _sklearn_metrics().f1_score(_flat(y_true), _flat(y_pred), **kwargs)


def flat_fbeta_score(y_true: Iterable[Iterable[Any]], y_pred: Iterable[Iterable[Any]],
                     beta: float, **kwargs: Any) -> Any:
    """F-beta score over all tokens.

    Parameters
    ----------
    y_true, y_pred : list of list of str
        The gold and the predicted labels, one list per sequence.
    beta : float
        The weight of recall relative to precision.
    **kwargs
        Passed to ``sklearn.metrics.fbeta_score`` (``labels``, ``average``, ...).

    Returns
    -------
    float or ndarray
        ``sklearn.metrics.fbeta_score`` of the flattened labels.

    Examples
    --------
    >>> from fastseq.crf.metrics import flat_fbeta_score
    >>> float(flat_fbeta_score([["A", "B"], ["A"]], [["A", "B"], ["B"]], beta=1,
    ...                        average="macro"))
    0.666...
    """
    # beta by keyword: scikit-learn >= 0.23 accepts it no other way
    return _sklearn_metrics().fbeta_score(_flat(y_true), _flat(y_pred), beta=beta, **kwargs)


def flat_classification_report(y_true: Iterable[Iterable[Any]],
                               y_pred: Iterable[Iterable[Any]], labels: Any = None,
                               **kwargs: Any) -> Any:
    """Classification report (scikit-learn's) over all tokens.

    Parameters
    ----------
    y_true, y_pred : list of list of str
        The gold and the predicted labels, one list per sequence.
    labels : list of str, optional
        The labels to report on (by default every label in the data).
    **kwargs
        Passed to ``sklearn.metrics.classification_report`` (``digits``,
        ``output_dict``, ...).

    Returns
    -------
    str or dict
        ``sklearn.metrics.classification_report`` of the flattened labels.

    Examples
    --------
    >>> from fastseq.crf.metrics import flat_classification_report
    >>> report = flat_classification_report([["A", "B"]], [["A", "B"]], output_dict=True)
    >>> report["A"]["f1-score"], report["accuracy"]
    (1.0, 1.0)
    """
    return _sklearn_metrics().classification_report(_flat(y_true), _flat(y_pred),
                                                    labels=labels, **kwargs)


def sequence_accuracy_score(y_true: Iterable[Iterable[Any]], y_pred: Iterable[Iterable[Any]]
                            ) -> float:
    """The fraction of sequences whose labels are all right.

    Parameters
    ----------
    y_true, y_pred : list of list of str
        The gold and the predicted labels, one list per sequence (paired in order; extra
        sequences of the longer argument are ignored, as in sklearn-crfsuite).

    Returns
    -------
    float
        Sequences predicted exactly, divided by the number of sequences in ``y_true``
        (0.0 when it has none).

    Examples
    --------
    >>> from fastseq.crf.metrics import sequence_accuracy_score
    >>> sequence_accuracy_score([["A", "B"], ["A"]], [["A", "B"], ["B"]])
    0.5
    """
    y_true = list(y_true)
    if not y_true:
        return 0.0
    matches = sum(1 for a, b in zip(y_true, y_pred) if list(a) == list(b))
    return matches / len(y_true)
