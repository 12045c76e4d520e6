"""How well a tagger does on gold data: one result class and one function for every tagger."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Collection, Dict, Optional, Sequence

import numpy as np

from ..metrics import precision_recall_fscore_support
from ..schemes import get_entities, is_chunk_tagset

__all__ = ["TaggerEvaluation", "evaluate", "per_tag_scores"]


@dataclass
class TaggerEvaluation:
    """Evaluation of a tagger on gold data.

    Made by :func:`evaluate` and by the taggers' ``evaluation_report``. Every parameter is
    kept as the attribute of the same name; ``str(evaluation)`` is :meth:`report`.

    Parameters
    ----------
    accuracy : float
        Token accuracy (NaN when there is no token).
    known_accuracy, unknown_accuracy : float
        Token accuracy on the words seen / not seen in training (NaN when there is none).
    n_tokens, n_known, n_unknown : int
        Numbers of tokens, of known and of unknown words.
    per_tag : dict, optional
        ``{tag: {"precision", "recall", "f1", "support"}}`` for every gold or predicted tag
        (support = gold count; an undefined score is 0.0); empty when not computed.
    tokens_per_s : float, default NaN
        The tagging speed measured (NaN when unknown).
    precision, recall, f1 : float or None, default None
        When the tags are chunk labels (``O`` and ``B-``/``I-``/... prefixed types): CoNLL
        chunk scores, micro-averaged as conlleval does; else None.
    per_type : dict, optional
        ``{chunk type: {"precision", "recall", "f1", "support"}}`` for chunk labels; empty
        otherwise or when not computed.

    See Also
    --------
    evaluate : Score predicted tags against gold ones.

    Examples
    --------
    >>> from fastseq.taggers import evaluate
    >>> e = evaluate([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]], [["Ann", "Lee", "sings"]],
    ...              known_words={"Ann", "sings"})
    >>> round(e.accuracy, 3), e.n_unknown, e.f1
    (0.667, 1, 0.0)
    >>> e.per_type
    {'PER': {'precision': 0.0, 'recall': 0.0, 'f1': 0.0, 'support': 1}}
    """

    accuracy: float
    known_accuracy: float
    unknown_accuracy: float
    n_tokens: int
    n_known: int
    n_unknown: int
    per_tag: Dict[str, Dict[str, float]] = field(default_factory=dict)
    tokens_per_s: float = float("nan")
    precision: Optional[float] = None
    recall: Optional[float] = None
    f1: Optional[float] = None
    per_type: Dict[str, Dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> Dict[str, Any]:
        """The fields as a JSON-ready dict (undefined rates, NaN here, become None).

        Returns
        -------
        dict
            ``{field: value}`` for ``accuracy``, ``known_accuracy``, ``unknown_accuracy``,
            ``n_tokens``, ``n_known``, ``n_unknown``, ``tokens_per_s``, ``precision``,
            ``recall``, ``f1``, ``per_type`` and ``per_tag``, in that order.

        Examples
        --------
        >>> from fastseq.taggers import evaluate
        >>> d = evaluate([["DET", "NOUN"]], [["DET", "VERB"]], [["the", "dog"]], {"the"}).as_dict()
        >>> d["accuracy"], d["unknown_accuracy"], d["tokens_per_s"], d["f1"]
        (0.5, 0.0, None, None)
        """
        def num(x):
            return None if isinstance(x, float) and x != x else x

        return {k: num(getattr(self, k)) for k in (
            "accuracy", "known_accuracy", "unknown_accuracy", "n_tokens", "n_known",
            "n_unknown", "tokens_per_s", "precision", "recall", "f1", "per_type", "per_tag")}

    def report(self, digits: int = 4) -> str:
        """A plain-text report: the accuracies, the chunk scores, then a table per chunk type
        (chunk labels) or per tag.

        The chunk-score line is there for chunk labels only, the speed line when the speed is
        known, the table when per-tag (per-type) scores were computed.

        Parameters
        ----------
        digits : int, default 4
            Decimal places of the table's scores; percentages get ``max(digits - 2, 1)``.

        Returns
        -------
        str
            The report, lines separated by ``"\\n"`` (no final newline).

        Examples
        --------
        >>> from fastseq.taggers import evaluate
        >>> e = evaluate([["DET", "NOUN"], ["VERB"]], [["DET", "VERB"], ["VERB"]],
        ...              [["the", "dog"], ["runs"]], known_words={"the", "runs"})
        >>> print(e.report(digits=2))
        tokens:           3
        accuracy:         66.7 %
        known words:      100.0 % (2 tokens)
        unknown words:    0.0 % (1 tokens, 33.3 %)
        <BLANKLINE>
             tag  precision     recall   f1-score    support
             DET       1.00       1.00       1.00          1
            NOUN       0.00       0.00       0.00          1
            VERB       0.50       1.00       0.67          1
        """
        def pct(x):
            return "n/a" if x is None or x != x else f"{100 * x:.{max(digits - 2, 1)}f} %"

        share = pct(self.n_unknown / self.n_tokens) if self.n_tokens else "n/a"
        lines = [
            f"tokens:           {self.n_tokens}",
            f"accuracy:         {pct(self.accuracy)}",
            f"known words:      {pct(self.known_accuracy)} ({self.n_known} tokens)",
            f"unknown words:    {pct(self.unknown_accuracy)} ({self.n_unknown} tokens, "
            f"{share})",
        ]
        if self.f1 is not None:
            lines.append(f"chunks (CoNLL):   precision {pct(self.precision)}, recall "
                         f"{pct(self.recall)}, F1 {pct(self.f1)}")
        if self.tokens_per_s == self.tokens_per_s:
            lines.append(f"tagging speed:    {self.tokens_per_s:,.0f} tokens/s")
        table = self.per_type if self.per_type else self.per_tag
        if table:
            what = "type" if self.per_type else "tag"
            width = max(8, max(len(t) for t in table))
            lines += ["", f"{what:>{width}}  precision     recall   f1-score    support"]
            for tag in sorted(table):
                r = table[tag]
                lines.append(f"{tag:>{width}}  {r['precision']:9.{digits}f}  "
                             f"{r['recall']:9.{digits}f}  {r['f1']:9.{digits}f}  "
                             f"{int(r['support']):9d}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()


def per_tag_scores(gold: Sequence[str], pred: Sequence[str]) -> Dict[str, Dict[str, float]]:
    """Precision, recall, F1 and support of every tag of two aligned flat tag lists.

    Parameters
    ----------
    gold, pred : sequence of str
        Gold and predicted tags, token for token (the same length).

    Returns
    -------
    dict
        ``{tag: {"precision": float, "recall": float, "f1": float, "support": int}}`` for
        every gold or predicted tag, tags sorted; support is the gold count, and a score
        whose denominator is zero is 0.0.

    Examples
    --------
    >>> from fastseq.taggers.evaluation import per_tag_scores
    >>> scores = per_tag_scores(["DET", "NOUN", "NOUN"], ["DET", "VERB", "NOUN"])
    >>> scores["NOUN"]
    {'precision': 1.0, 'recall': 0.5, 'f1': 0.6666666666666666, 'support': 2}
    >>> scores["VERB"]
    {'precision': 0.0, 'recall': 0.0, 'f1': 0.0, 'support': 0}
    """
    labels = sorted(set(gold) | set(pred))
    index = {t: i for i, t in enumerate(labels)}
    g = np.fromiter((index[t] for t in gold), dtype=np.int64, count=len(gold))
    p = np.fromiter((index[t] for t in pred), dtype=np.int64, count=len(pred))
    n = len(labels)
    support = np.bincount(g, minlength=n)
    predicted = np.bincount(p, minlength=n)
    correct = np.bincount(g[g == p], minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(predicted > 0, correct / np.maximum(predicted, 1), 0.0)
        rec = np.where(support > 0, correct / np.maximum(support, 1), 0.0)
        f1 = np.where(prec + rec > 0, 2 * prec * rec / np.where(prec + rec > 0, prec + rec, 1),
                      0.0)
    return {t: {"precision": float(prec[i]), "recall": float(rec[i]), "f1": float(f1[i]),
                "support": int(support[i])} for i, t in enumerate(labels)}


def evaluate(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]],
             words: Sequence[Sequence[str]], known_words: Collection[str],
             seconds: float = float("nan"), *, per_tag: bool = True) -> TaggerEvaluation:
    """Score predicted tag sequences against gold ones.

    Chunk scores (CoNLL, micro-averaged, as :func:`fastseq.metrics.precision_recall_fscore_support`
    computes them) are added when the gold and predicted tags together are chunk labels
    (see :func:`fastseq.schemes.is_chunk_tagset`).

    Parameters
    ----------
    gold, pred : list of list of str
        Gold and predicted tags, one list per sentence, aligned token for token.
    words : list of list of str
        The words of the sentences (a word in ``known_words`` counts as known).
    known_words : collection of str
        The words seen in training.
    seconds : float, default NaN
        Time the tagging took, for ``tokens_per_s`` (NaN or <= 0: speed unknown).
    per_tag : bool, default True
        Also fill ``per_tag`` (and ``per_type`` for chunk labels).

    Returns
    -------
    TaggerEvaluation
        The accuracies, counts, speed and (per-tag, chunk) scores.

    Raises
    ------
    ValueError
        If ``gold``, ``pred`` and ``words`` do not hold as many tokens in all.

    See Also
    --------
    fastseq.metrics.classification_report : Chunk scores with more options.

    Examples
    --------
    >>> from fastseq.taggers import evaluate
    >>> e = evaluate([["DET", "NOUN"], ["VERB"]], [["DET", "VERB"], ["VERB"]],
    ...              [["the", "dog"], ["runs"]], known_words={"the", "runs"}, seconds=0.5)
    >>> round(e.accuracy, 4), e.known_accuracy, e.unknown_accuracy, e.tokens_per_s
    (0.6667, 1.0, 0.0, 6.0)
    >>> e.per_tag["VERB"]
    {'precision': 0.5, 'recall': 1.0, 'f1': 0.6666666666666666, 'support': 1}
    """
    g = [t for s in gold for t in s]
    p = [t for s in pred for t in s]
    w = [x for s in words for x in s]
    if not len(g) == len(p) == len(w):
        raise ValueError(f"`gold`, `pred` and `words` must hold as many tokens, got {len(g)}, "
                         f"{len(p)} and {len(w)}")
    ok = np.fromiter((a == b for a, b in zip(g, p)), dtype=bool, count=len(g))
    known = np.fromiter((x in known_words for x in w), dtype=bool, count=len(w))
    n, nk = len(g), int(known.sum())

    def rate(mask):
        m = int(mask.sum())
        return float(ok[mask].sum() / m) if m else float("nan")

    res = TaggerEvaluation(
        accuracy=float(ok.mean()) if n else float("nan"),
        known_accuracy=rate(known), unknown_accuracy=rate(~known), n_tokens=n, n_known=nk,
        n_unknown=n - nk, tokens_per_s=n / seconds if n and seconds > 0 else float("nan"))
    if per_tag and n:
        res.per_tag = per_tag_scores(g, p)
    if n and is_chunk_tagset(set(g) | set(p)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # undefined scores of absent types are 0 here
            pr, rc, f1, _ = precision_recall_fscore_support(gold, pred, average="micro")
            res.precision, res.recall, res.f1 = float(pr), float(rc), float(f1)
            if per_tag:
                types = sorted({e[0] for s in gold for e in get_entities(s)}
                               | {e[0] for s in pred for e in get_entities(s)})
                P, R, Fs, S = (np.asarray(x) for x in
                               precision_recall_fscore_support(gold, pred, average=None))
                res.per_type = {t: {"precision": float(a), "recall": float(b), "f1": float(c),
                                    "support": int(d)} for t, a, b, c, d in zip(types, P, R, Fs, S)}
    return res
