"""fastseq.crf.CRF against sklearn-crfsuite on python-crfsuite feature dicts, in one run.

The CoNLL-2002 Spanish NER data (``FASTSEQ_DATA`` must name the data home), per token a
feature dict of the kind of sklearn-crfsuite's tutorial (the lowercased word, its suffixes,
isupper / istitle / isdigit, the POS tag and its prefix, the same for the neighbours,
BOS / EOS), built once before any timing. Both sides train with c1 = c2 = 0.1,
max_iterations = 100 and all possible transitions, then tag ``testb``; the two sides are
interleaved and each time is the best of ``--repeats`` (fit: ``--fit-repeats``). Also timed:
fastseq's conversion of the dicts alone (``encode_items`` as ``fit`` does it, and without
``fit`` from the vocabulary alone and, as ``predict`` does it, with the vocabulary's index
built once) and python-crfsuite's (an ``ItemSequence`` per sequence). When sklearn-crfsuite
is not installed, its ``fit`` / ``predict`` are replayed with python-crfsuite, which it wraps
(``Trainer.append`` per sequence, ``train`` to a file, ``Tagger.tag`` per sequence).

Run: ``FASTSEQ_DATA=/path/to/data python benchmarks/crf_dict_speed.py``.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Any, Callable, Dict, List, Tuple

from fastseq import datasets
from fastseq.crf import CRF
from fastseq.crf import items as crf_items
from fastseq.crf.items import encode_items
from fastseq.metrics import f1_score

PARAMS: Dict[str, Any] = {"c1": 0.1, "c2": 0.1, "max_iterations": 100,
                          "all_possible_transitions": True}


def token_features(words: List[str], pos: List[str], i: int) -> Dict[str, Any]:
    """The feature dict of token ``i``: the word and POS tag, and those of its neighbours."""
    w, p = words[i], pos[i]
    f: Dict[str, Any] = {
        "bias": 1.0,
        "lower": w.lower(),
        "suf3": w[-3:],
        "suf2": w[-2:],
        "upper": w.isupper(),
        "title": w.istitle(),
        "digit": w.isdigit(),
        "pos": p,
        "pos2": p[:2],
    }
    for d, tag in ((-1, "-1"), (1, "+1")):
        j = i + d
        if 0 <= j < len(words):
            f[tag + ":lower"] = words[j].lower()
            f[tag + ":title"] = words[j].istitle()
            f[tag + ":upper"] = words[j].isupper()
            f[tag + ":pos"] = pos[j]
            f[tag + ":pos2"] = pos[j][:2]
        else:
            f["BOS" if d < 0 else "EOS"] = True
    return f


def featurize(split: str) -> Tuple[List[List[Dict[str, Any]]], List[List[str]]]:
    X, y = [], []
    for s in datasets.load("conll2002_esp", split):
        X.append([token_features(s["word"], s["pos"], i) for i in range(len(s["word"]))])
        y.append(list(s["ner"]))
    return X, y


class CrfsuiteCRF:
    """sklearn_crfsuite.CRF when installed, else its fit / predict with python-crfsuite."""

    def __init__(self) -> None:
        try:
            import sklearn_crfsuite
        except ImportError:
            self.model: Any = None
            self.name = "python-crfsuite (as sklearn-crfsuite)"
        else:
            self.model = sklearn_crfsuite.CRF(algorithm="lbfgs", **PARAMS)
            self.name = "sklearn-crfsuite"
        self.tagger: Any = None

    def fit(self, X, y) -> None:
        if self.model is not None:
            self.model.fit(X, y)
            return
        import pycrfsuite

        trainer = pycrfsuite.Trainer(algorithm="lbfgs", verbose=False, params={
            "c1": PARAMS["c1"], "c2": PARAMS["c2"], "max_iterations": PARAMS["max_iterations"],
            "feature.possible_transitions": PARAMS["all_possible_transitions"]})
        for xseq, yseq in zip(X, y):
            trainer.append(xseq, yseq)
        fd, path = tempfile.mkstemp(suffix=".crfsuite")
        os.close(fd)
        try:
            trainer.train(path)
            self.tagger = pycrfsuite.Tagger()
            self.tagger.open(path)
        finally:
            os.unlink(path)  # the tagger keeps the model mapped

    def predict(self, X) -> List[List[str]]:
        if self.model is not None:
            return self.model.predict(X)
        return [self.tagger.tag(xseq) for xseq in X]


def best(fn: Callable[[], Any], repeats: int) -> Tuple[float, Any]:
    t_best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        t_best = min(t_best, time.perf_counter() - t0)
    return t_best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5, help="repeats of predict / conversion")
    ap.add_argument("--fit-repeats", type=int, default=1, help="repeats of fit")
    args = ap.parse_args()
    import pycrfsuite

    X_tr, y_tr = featurize("train")
    X_te, y_te = featurize("testb")
    print(f"CoNLL-2002 esp: {len(X_tr)} train / {len(X_te)} testb sentences, "
          f"{sum(map(len, X_tr))} / {sum(map(len, X_te))} tokens")
    cs, fs = CrfsuiteCRF(), CRF(**PARAMS)
    t_fit = {"cs": float("inf"), "fs": float("inf")}
    for _ in range(args.fit_repeats):  # interleaved
        t_fit["cs"] = min(t_fit["cs"], best(lambda: cs.fit(X_tr, y_tr), 1)[0])
        t_fit["fs"] = min(t_fit["fs"], best(lambda: fs.fit(X_tr, y_tr), 1)[0])
    vocab = {n: i for i, n in enumerate(fs.attributes_)}
    t0 = time.perf_counter()
    make_index = getattr(crf_items, "vocabulary_index", None)  # None: fastseq before it
    index = make_index(vocab) if make_index is not None else None
    t_index = time.perf_counter() - t0
    t = {"cs": float("inf"), "fs": float("inf"), "enc_fit": float("inf"),
         "enc_pred": float("inf"), "enc_index": float("inf"), "cs_items": float("inf")}
    pred: Dict[str, Any] = {}
    for _ in range(args.repeats):  # interleaved
        dt, pred["cs"] = best(lambda: cs.predict(X_te), 1)
        t["cs"] = min(t["cs"], dt)
        dt, pred["fs"] = best(lambda: fs.predict(X_te), 1)
        t["fs"] = min(t["fs"], dt)
        t["cs_items"] = min(t["cs_items"], best(
            lambda: [pycrfsuite.ItemSequence(x) for x in X_te], 1)[0])
        t["enc_pred"] = min(t["enc_pred"], best(
            lambda: encode_items(X_te, "X", vocab, fit=False), 1)[0])
        if index is not None:
            t["enc_index"] = min(t["enc_index"], best(
                lambda: encode_items(X_te, "X", vocab, fit=False, index=index), 1)[0])
        t["enc_fit"] = min(t["enc_fit"], best(
            lambda: encode_items(X_tr, "X", None, fit=True), 1)[0])
    f1 = {k: f1_score(y_te, pred[k]) for k in ("cs", "fs")}
    print(f"\nc1=c2=0.1, 100 iterations, all transitions; best of {args.fit_repeats} fit, "
          f"{args.repeats} predict / conversion\n")
    print(f"| | {cs.name} | fastseq | fastseq / crfsuite |")
    print("|---|---|---|---|")
    print(f"| fit (train) | {t_fit['cs']:.2f} s | {t_fit['fs']:.2f} s | "
          f"{t_fit['fs'] / t_fit['cs']:.2f}x |")
    print(f"| predict (testb) | {t['cs']:.3f} s | {t['fs']:.3f} s | {t['fs'] / t['cs']:.2f}x |")
    print(f"| dicts -> items, testb (ItemSequence / encode_items) | {t['cs_items']:.3f} s | "
          f"{t['enc_pred']:.3f} s | {t['enc_pred'] / t['cs_items']:.2f}x |")
    if index is not None:
        print(f"| dicts -> items, testb, with the vocabulary's index (as predict) | | "
              f"{t['enc_index']:.3f} s (index: {t_index:.3f} s, once) | "
              f"{t['enc_index'] / t['cs_items']:.2f}x |")
    print(f"| encode_items(train, fit=True) | | {t['enc_fit']:.3f} s "
          f"({t['enc_fit'] / t_fit['fs']:.1%} of fit) | |")
    print(f"| F1 (testb, micro) | {f1['cs']:.4f} | {f1['fs']:.4f} | |")


if __name__ == "__main__":
    main()
