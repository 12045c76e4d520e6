"""What CRF training did, in the shape of python-crfsuite's log parser, and the holdout
scores computed after every iteration."""
from __future__ import annotations

import fractions
import sys
from typing import Any, Dict, List, NamedTuple, Optional, Sequence

import numpy as np

__all__ = ["TrainingLog", "LabelScore", "holdout_scores", "print_iteration"]


class _LabelScoreFields(NamedTuple):
    match: int
    model: int
    ref: int
    precision: Optional[float]
    recall: Optional[float]
    f1: Optional[float]


class LabelScore(_LabelScoreFields):
    """Holdout scores of one label, as python-crfsuite's log parser reports them.

    A named tuple ``(match, model, ref, precision, recall, f1)``; each field is also the
    attribute of the same name.

    Parameters
    ----------
    match : int
        Number of holdout tokens predicted with the label that have it.
    model : int
        Number of holdout tokens predicted with the label.
    ref : int
        Number of holdout tokens that have the label.
    precision : float or None
        ``match / model`` (0.0 when ``model`` is 0); None when the label is neither
        predicted nor in the holdout data.
    recall : float or None
        ``match / ref`` (0.0 when ``ref`` is 0); None as for ``precision``.
    f1 : float or None
        The harmonic mean of ``precision`` and ``recall`` (0.0 when both are 0); None as
        for ``precision``.

    See Also
    --------
    TrainingLog : Where the scores are kept, per iteration.

    Examples
    --------
    >>> from fastseq.crf import LabelScore
    >>> s = LabelScore(match=3, model=4, ref=6, precision=0.75, recall=0.5, f1=0.6)
    >>> s.recall, s._asdict()["match"]
    (0.5, 3)
    """

    __slots__ = ()


class TrainingLog:
    """What training did, in the shape of python-crfsuite's log parser.

    The ``training_log_`` of a fitted :class:`fastseq.crf.CRF`, like
    ``sklearn_crfsuite.CRF.training_log_``.

    Parameters
    ----------
    algorithm : str
        The training algorithm, ``"lbfgs"`` or ``"ap"``.

    Attributes
    ----------
    algorithm : str
        As given.
    iterations : list of dict
        One record per iteration (per epoch for ``"ap"``). With ``"lbfgs"``: ``num``,
        ``loss`` (the objective, including regularisation), ``feature_norm``,
        ``error_norm`` (gradient norm; pseudo-gradient with L1), ``active_features``
        (non-zero weights), ``linesearch_trials``, ``linesearch_step``, ``time``
        (seconds) and ``scores``; with ``"ap"``: ``num``, ``loss`` (the sum over sequences
        of the fraction of wrongly labelled tokens), ``feature_norm``, ``time`` and
        ``scores``. With holdout data also ``avg_precision``, ``avg_recall``, ``avg_f1``
        (macro averages), ``item_accuracy`` (a :class:`fractions.Fraction`),
        ``item_accuracy_float``, ``instance_accuracy`` (a Fraction),
        ``instance_accuracy_float``, and a :class:`LabelScore` per label in ``scores``
        (``scores`` is ``{}`` without holdout data).
    last_iteration : dict or None
        The last record of ``iterations``.
    featgen_num_features : int or None
        Number of features (state + transition) generated.
    featgen_seconds : float or None
        Seconds spent generating the features.
    training_seconds : float or None
        Seconds spent training.
    stop_reason : str or None
        Why training stopped.

    See Also
    --------
    LabelScore : The per-label holdout scores.

    Notes
    -----
    A model read by :meth:`fastseq.crf.CRF.load` gets a log with no iterations: only
    ``algorithm``, ``stop_reason`` and ``training_seconds`` are restored from the file.

    Examples
    --------
    >>> from fastseq.crf import CRF
    >>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]]
    >>> y = [["DET", "NOUN"], ["DET", "NOUN"]]
    >>> X_dev, y_dev = [[{"w": "the"}, {"w": "cat"}]], [["DET", "DET"]]
    >>> log = CRF(c2=0.1).fit(X, y, X_dev, y_dev).training_log_
    >>> log
    TrainingLog(lbfgs, 7 iterations, stop: converged (gradient norm below epsilon))
    >>> log.featgen_num_features, len(log)
    (5, 7)
    >>> log.last_iteration["item_accuracy"], log.last_iteration["avg_f1"]
    (Fraction(1, 2), 0.3333333333333333)
    >>> log.last_iteration["scores"]["DET"]
    LabelScore(match=1, model=1, ref=2, precision=1.0, recall=0.5, f1=0.6666666666666666)
    """

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        self.iterations: List[dict] = []
        self.last_iteration: Optional[dict] = None
        self.featgen_num_features: Optional[int] = None
        self.featgen_seconds: Optional[float] = None
        self.training_seconds: Optional[float] = None
        self.stop_reason: Optional[str] = None

    def append(self, it: Dict[str, Any]) -> None:
        """Add the record of an iteration.

        Parameters
        ----------
        it : dict
            The record (see ``iterations``); it becomes ``last_iteration``.

        Examples
        --------
        >>> from fastseq.crf import TrainingLog
        >>> log = TrainingLog("lbfgs")
        >>> log.append({"num": 1, "loss": 2.5, "scores": {}})
        >>> len(log), log.last_iteration["loss"]
        (1, 2.5)
        """
        self.iterations.append(it)
        self.last_iteration = it

    def __len__(self) -> int:
        return len(self.iterations)

    def __repr__(self) -> str:
        return (f"TrainingLog({self.algorithm}, {len(self.iterations)} iterations, "
                f"stop: {self.stop_reason})")

    def as_dict(self) -> Dict[str, Any]:
        """The log as JSON-serialisable data.

        Returns
        -------
        dict
            ``algorithm``, ``iterations``, ``featgen_num_features``, ``featgen_seconds``,
            ``training_seconds`` and ``stop_reason``. In the iteration records each
            :class:`LabelScore` becomes a dict of its fields and each Fraction a
            ``[numerator, denominator]`` list.

        Examples
        --------
        >>> from fractions import Fraction
        >>> from fastseq.crf import LabelScore, TrainingLog
        >>> log = TrainingLog("lbfgs")
        >>> log.append({"num": 1, "item_accuracy": Fraction(3, 4),
        ...             "scores": {"B": LabelScore(3, 4, 4, 0.75, 0.75, 0.75)}})
        >>> d = log.as_dict()
        >>> d["iterations"][0]["item_accuracy"], d["iterations"][0]["scores"]["B"]["match"]
        ([3, 4], 3)
        """
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


def holdout_scores(it: Dict[str, Any], paths: np.ndarray, gold: np.ndarray,
                   lengths: np.ndarray, offsets: np.ndarray, classes: Sequence[str]) -> None:
    """Add the holdout scores of predicted label ids to an iteration record.

    Parameters
    ----------
    it : dict
        The iteration record, updated in place: ``scores`` (a :class:`LabelScore` per
        label), ``avg_precision``, ``avg_recall``, ``avg_f1`` (macro averages over the
        labels predicted or in ``gold``), ``item_accuracy`` (a
        :class:`fractions.Fraction` of the tokens), ``item_accuracy_float``,
        ``instance_accuracy`` (a Fraction of the sequences, empty ones counting as
        correct) and ``instance_accuracy_float``.
    paths, gold : ndarray of int64, shape (n_tokens,)
        Predicted and gold label ids (indices into ``classes``), concatenated over the
        sequences.
    lengths : ndarray of int64, shape (n_sequences,)
        The sequence lengths (at least one sequence).
    offsets : ndarray of int64, shape (n_sequences + 1,)
        Where each sequence starts in ``paths`` (``offsets[0] == 0``, cumulated lengths).
    classes : sequence of str
        The labels.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf.training_log import holdout_scores
    >>> it = {}
    >>> holdout_scores(it, np.array([0, 1, 1]), np.array([0, 1, 0]), np.array([2, 1]),
    ...                np.array([0, 2, 3]), ["A", "B", "C"])
    >>> it["item_accuracy"], it["instance_accuracy"], it["avg_recall"]
    (Fraction(2, 3), Fraction(1, 2), 0.75)
    >>> it["scores"]["A"], it["scores"]["C"]
    (LabelScore(match=1, model=1, ref=2, precision=1.0, recall=0.5, f1=0.666...),
     LabelScore(match=0, model=0, ref=0, precision=None, recall=None, f1=None))
    """
    N = len(classes)
    ok = paths == gold
    match = np.bincount(gold[ok], minlength=N)
    model = np.bincount(paths, minlength=N)
    ref = np.bincount(gold, minlength=N)
    scores: Dict[str, LabelScore] = {}
    ps: List[float] = []
    rs: List[float] = []
    fs: List[float] = []
    for j, lab in enumerate(classes):
        if model[j] == 0 and ref[j] == 0:
            scores[lab] = LabelScore(0, 0, 0, None, None, None)
            continue
        pr = float(match[j] / model[j]) if model[j] else 0.0
        rc = float(match[j] / ref[j]) if ref[j] else 0.0
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
    live = lengths > 0
    seq_ok = np.add.reduceat(ok.astype(np.int64), offsets[:-1][live]) == lengths[live]
    n_ok = int(seq_ok.sum()) + int((~live).sum())
    inst = fractions.Fraction(n_ok, int(lengths.size))
    it["instance_accuracy"] = inst
    it["instance_accuracy_float"] = float(inst)


def print_iteration(it: Dict[str, Any]) -> None:
    """Print an iteration record on one line to stderr (the ``verbose`` output).

    Parameters
    ----------
    it : dict
        The record: ``num``, ``loss``, ``feature_norm`` and ``time``; ``error_norm``,
        ``active_features``, ``linesearch_trials`` / ``linesearch_step`` and the holdout
        scores (``item_accuracy_float``, ``avg_f1``) when present.

    Examples
    --------
    >>> import contextlib
    >>> import sys
    >>> from fastseq.crf.training_log import print_iteration
    >>> with contextlib.redirect_stderr(sys.stdout):
    ...     print_iteration({"num": 3, "loss": 1.5, "feature_norm": 2.0, "time": 0.01})
    iter    3  loss 1.5000  |w| 2  0.010 s
    """
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
