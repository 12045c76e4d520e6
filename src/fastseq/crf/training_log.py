"""What CRF training did, in the shape of python-crfsuite's log parser, and the holdout
scores computed after every iteration."""
from __future__ import annotations

import fractions
import sys
from collections import namedtuple
from typing import List, Optional

import numpy as np

__all__ = ["TrainingLog", "LabelScore", "holdout_scores", "print_iteration"]

#: per-label holdout scores, as python-crfsuite's log parser reports them
LabelScore = namedtuple("LabelScore", "match model ref precision recall f1")


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


def holdout_scores(it: dict, paths: np.ndarray, gold: np.ndarray, lengths: np.ndarray,
                   offsets: np.ndarray, classes: List[str]) -> None:
    """Add the holdout scores of predicted label ids ``paths`` against ``gold`` (both
    concatenated over sequences of ``lengths`` starting at ``offsets``) to the iteration
    record ``it``: per-label :data:`LabelScore`, macro averages, item and instance accuracy."""
    N = len(classes)
    ok = paths == gold
    match = np.bincount(gold[ok], minlength=N)
    model = np.bincount(paths, minlength=N)
    ref = np.bincount(gold, minlength=N)
    scores = {}
    ps, rs, fs = [], [], []
    for j, lab in enumerate(classes):
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
    live = lengths > 0
    seq_ok = np.add.reduceat(ok.astype(np.int64), offsets[:-1][live]) == lengths[live]
    n_ok = int(seq_ok.sum()) + int((~live).sum())
    inst = fractions.Fraction(n_ok, int(lengths.size))
    it["instance_accuracy"] = inst
    it["instance_accuracy_float"] = float(inst)


def print_iteration(it: dict) -> None:
    """One line per iteration on stderr (the ``verbose`` output)."""
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
