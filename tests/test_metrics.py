"""Tests for fastseq.metrics.

The hand-checked cases spell out the chunks and the arithmetic in comments; the randomized
suite compares every number with seqeval 1.2.2 when it is installed.
"""
import math
import random
import time
import warnings

import numpy as np
import pytest

from fastseq import metrics as M
from fastseq.metrics import (
    UndefinedMetricWarning,
    accuracy_score,
    classification_report,
    f1_score,
    performance_measure,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
)
from fastseq.schemes import SCHEMES, entities_to_tags

# True chunks:  seq 0: PER(0-1) LOC(3) LOC(5)      seq 1: ORG(0-1) PER(3)
# Pred chunks:  seq 0: PER(0-1) LOC(3)             seq 1: ORG(0)   PER(3)
# correct: PER 2 of 2 predicted (2 true), LOC 1 of 1 (2 true), ORG 0 of 1 (1 true)
Y_TRUE = [["B-PER", "I-PER", "O", "B-LOC", "O", "B-LOC"], ["B-ORG", "I-ORG", "O", "B-PER"]]
Y_PRED = [["B-PER", "I-PER", "O", "B-LOC", "O", "O"], ["B-ORG", "O", "O", "B-PER"]]

REPORT = """\
              precision    recall  f1-score   support

         LOC       1.00      0.50      0.67         2
         ORG       0.00      0.00      0.00         1
         PER       1.00      1.00      1.00         2

   micro avg       0.75      0.60      0.67         5
   macro avg       0.67      0.50      0.56         5
weighted avg       0.80      0.60      0.67         5
"""


def test_hand_example_scores():
    # micro: 3 correct / 4 predicted / 5 true
    assert precision_score(Y_TRUE, Y_PRED) == pytest.approx(0.75)
    assert recall_score(Y_TRUE, Y_PRED) == pytest.approx(0.6)
    assert f1_score(Y_TRUE, Y_PRED) == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    # per type (LOC, ORG, PER): p = 1, 0, 1; r = 1/2, 0, 1; f = 2/3, 0, 1
    np.testing.assert_allclose(precision_score(Y_TRUE, Y_PRED, average=None), [1, 0, 1])
    np.testing.assert_allclose(recall_score(Y_TRUE, Y_PRED, average=None), [0.5, 0, 1])
    np.testing.assert_allclose(f1_score(Y_TRUE, Y_PRED, average=None), [2 / 3, 0, 1])
    assert precision_score(Y_TRUE, Y_PRED, average="macro") == pytest.approx(2 / 3)
    assert recall_score(Y_TRUE, Y_PRED, average="macro") == pytest.approx(0.5)
    assert f1_score(Y_TRUE, Y_PRED, average="macro") == pytest.approx((2 / 3 + 1) / 3)
    # weighted by support 2, 1, 2
    assert precision_score(Y_TRUE, Y_PRED, average="weighted") == pytest.approx(4 / 5)
    assert recall_score(Y_TRUE, Y_PRED, average="weighted") == pytest.approx(3 / 5)
    assert f1_score(Y_TRUE, Y_PRED, average="weighted") == pytest.approx((4 / 3 + 2) / 5)
    p, r, f, s = precision_recall_fscore_support(Y_TRUE, Y_PRED)
    np.testing.assert_array_equal(s, [2, 1, 2])
    # all predicted chunks are well formed IOB2, so strict mode agrees
    assert f1_score(Y_TRUE, Y_PRED, mode="strict", scheme="IOB2") == f1_score(Y_TRUE, Y_PRED)
    # 5 of 6 and 3 of 4 tokens right
    assert accuracy_score(Y_TRUE, Y_PRED) == pytest.approx(0.8)


def test_return_types():
    assert isinstance(f1_score(Y_TRUE, Y_PRED), np.float64)
    assert isinstance(f1_score(Y_TRUE, Y_PRED, average=None), np.ndarray)
    assert isinstance(accuracy_score(Y_TRUE, Y_PRED), float)


def test_hand_example_report():
    assert classification_report(Y_TRUE, Y_PRED) == REPORT
    four = classification_report(Y_TRUE, Y_PRED, digits=4).splitlines()
    assert four[2] == "         LOC     1.0000    0.5000    0.6667         2"
    assert four[-2] == "   macro avg     0.6667    0.5000    0.5556         5"
    assert classification_report(Y_TRUE, Y_PRED, mode="strict", scheme="IOB2") == REPORT


def test_hand_example_report_dict():
    d = classification_report(Y_TRUE, Y_PRED, output_dict=True)
    assert list(d) == ["LOC", "ORG", "PER", "micro avg", "macro avg", "weighted avg"]
    assert d["LOC"] == {"precision": 1.0, "recall": 0.5, "f1-score": pytest.approx(2 / 3),
                        "support": 2}
    assert d["micro avg"]["precision"] == pytest.approx(0.75)
    assert d["weighted avg"]["support"] == 5


# ----------------------------------------------------------------------------------------
# malformed sequences: default (conlleval) vs strict mode
# ----------------------------------------------------------------------------------------
def test_i_after_o():
    y_true = [["O", "B-PER", "I-PER"]]
    y_pred = [["O", "I-PER", "I-PER"]]
    # default: the I- run is read as PER(1-2), equal to the true chunk
    assert f1_score(y_true, y_pred) == 1.0
    # strict IOB2: the prediction has no chunk -> precision 0/0, recall 0/1
    assert precision_score(y_true, y_pred, mode="strict", scheme="IOB2", zero_division=0) == 0.0
    assert precision_score(y_true, y_pred, mode="strict", scheme="IOB2", zero_division=1) == 1.0
    assert recall_score(y_true, y_pred, mode="strict", scheme="IOB2", zero_division=1) == 0.0
    assert f1_score(y_true, y_pred, mode="strict", scheme="IOB2", zero_division=1) == 0.0


def test_i_at_start():
    y_true = [["I-PER", "O"]]
    y_pred = [["B-PER", "O"]]
    assert f1_score(y_true, y_pred) == 1.0  # both read as PER(0)
    # strict: no true chunk; one predicted
    p, r, f, s = precision_recall_fscore_support(
        y_true, y_pred, mode="strict", scheme="IOB2", zero_division=1)
    np.testing.assert_array_equal(p, [0.0])
    np.testing.assert_array_equal(r, [1.0])
    np.testing.assert_array_equal(s, [0])


def test_type_switch():
    y_true = [["B-PER", "I-PER", "O", "B-LOC"]]
    y_pred = [["B-PER", "I-LOC", "O", "B-LOC"]]
    # default: pred PER(0) LOC(1) LOC(3); 1 of 3 correct, 1 of 2 found
    assert precision_score(y_true, y_pred) == pytest.approx(1 / 3)
    assert recall_score(y_true, y_pred) == pytest.approx(1 / 2)
    # strict: I-LOC cannot start a chunk -> pred PER(0) LOC(3)
    assert precision_score(y_true, y_pred, mode="strict", scheme="IOB2") == pytest.approx(1 / 2)
    assert recall_score(y_true, y_pred, mode="strict", scheme="IOB2") == pytest.approx(1 / 2)


def test_iobes_unclosed_chunk():
    y_true = [["B-PER", "E-PER", "S-LOC"]]
    y_pred = [["B-PER", "I-PER", "S-LOC"]]
    assert f1_score(y_true, y_pred) == 1.0  # default: PER(0-1) ends before S-
    # strict: B-PER I-PER is never closed with E- -> pred LOC(2) only: p 1/1, r 1/2
    assert f1_score(y_true, y_pred, mode="strict", scheme="IOBES") == pytest.approx(2 / 3)


def test_bilou_needs_strict():
    y_true = [["U-PER", "U-PER"]]
    y_pred = [["U-PER", "O"]]
    # default mode does not know U-: "U-PER U-PER" is one chunk PER(0-1) -> nothing matches
    assert f1_score(y_true, y_pred, zero_division=0) == 0.0
    # strict BILOU: two true chunks, one predicted and correct: p 1, r 1/2
    assert f1_score(y_true, y_pred, mode="strict", scheme="BILOU") == pytest.approx(2 / 3)


def test_ioe2_missing_end():
    y_true = [["I-PER", "E-PER", "O"]]
    y_pred = [["I-PER", "I-PER", "O"]]
    assert f1_score(y_true, y_pred) == 1.0
    assert recall_score(y_true, y_pred, mode="strict", scheme="IOE2") == 0.0


def test_iob1_and_ioe1():
    # IOB1: B- separates two adjacent PER chunks: PER(0) PER(1); the prediction PER(0-1)
    assert f1_score([["I-PER", "B-PER", "O"]], [["I-PER", "I-PER", "O"]],
                    mode="strict", scheme="IOB1") == 0.0
    assert f1_score([["I-PER", "B-PER", "O"]], [["I-PER", "B-PER", "O"]],
                    mode="strict", scheme="IOB1") == 1.0
    # IOE1: E- separates PER(0-1) from PER(2)
    y_true = [["I-PER", "E-PER", "I-PER"]]
    assert f1_score(y_true, y_true, mode="strict", scheme="IOE1") == 1.0
    assert f1_score(y_true, [["I-PER", "I-PER", "I-PER"]], mode="strict", scheme="IOE1") == 0.0


def test_strict_rejects_foreign_labels():
    with pytest.raises(ValueError, match="E-PER.*IOB2"):
        f1_score([["B-PER", "E-PER"]], [["B-PER", "I-PER"]], mode="strict", scheme="IOB2")
    with pytest.raises(ValueError, match="valid schemes"):
        f1_score([["B-PER"]], [["B-PER"]], mode="strict", scheme="IOB9")


def test_strict_detects_scheme():
    y_true = [["B-PER", "E-PER", "S-LOC"]]
    y_pred = [["B-PER", "I-PER", "S-LOC"]]
    assert f1_score(y_true, y_pred, mode="strict") == pytest.approx(2 / 3)  # IOBES
    with pytest.raises(ValueError, match="scheme"):
        f1_score([["I-PER"]], [["I-PER"]], mode="strict")  # IOB1 or IOE1?


# ----------------------------------------------------------------------------------------
# options
# ----------------------------------------------------------------------------------------
def test_zero_division():
    y_true = [["B-PER", "O"]]
    y_pred = [["O", "O"]]
    with pytest.warns(UndefinedMetricWarning, match="Precision"):
        assert precision_score(y_true, y_pred) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert precision_score(y_true, y_pred, zero_division=0) == 0.0
        assert precision_score(y_true, y_pred, zero_division=1) == 1.0
        assert recall_score(y_true, y_pred, zero_division=1) == 0.0
        assert f1_score(y_true, y_pred, zero_division=1) == 0.0  # 2*1*0/(1+0)
    for bad in ["always", 2, 0.5, None]:
        with pytest.raises(ValueError, match="zero_division"):
            f1_score(y_true, y_pred, zero_division=bad)


def test_weighted_without_true_chunks():
    y_true = [["O", "O"]]
    y_pred = [["B-PER", "O"]]
    kw = dict(average="weighted", zero_division=1)
    assert precision_score(y_true, y_pred, **kw) == 0.0
    assert recall_score(y_true, y_pred, **kw) == 1.0
    assert f1_score(y_true, y_pred, **kw) == 0.0
    # no chunks at all: every score is the zero_division value; the macro mean of nothing is nan
    assert f1_score([["O"]], [["O"]], average="weighted", zero_division=1) == 1.0
    assert f1_score([["O"]], [["O"]], zero_division=1) == 1.0
    with pytest.warns(RuntimeWarning):  # numpy's mean of nothing, as in seqeval
        assert math.isnan(f1_score([["O"]], [["O"]], average="macro"))
    assert f1_score([["O"]], [["O"]], average=None).shape == (0,)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the macro mean of nothing
def test_report_without_chunks():
    text = classification_report([["O"]], [["O"]], zero_division=0)
    assert text.splitlines()[-1] == "weighted avg       0.00      0.00      0.00         0"
    d = classification_report([["O"]], [["O"]], output_dict=True, zero_division=0)
    assert list(d) == ["micro avg", "macro avg", "weighted avg"]


def test_suffix():
    y_true = [["PER-B", "PER-I", "O", "LOC-B"]]
    y_pred = [["PER-B", "PER-I", "O", "O"]]
    assert precision_score(y_true, y_pred, suffix=True) == 1.0
    assert recall_score(y_true, y_pred, suffix=True) == 0.5
    assert recall_score(y_true, y_pred, suffix=True, mode="strict", scheme="IOB2") == 0.5


def test_flat_and_tuple_inputs():
    assert f1_score(["B-PER", "I-PER"], ["B-PER", "I-PER"]) == 1.0
    assert f1_score((("B-PER", "O"),), [np.array(["B-PER", "O"])]) == 1.0
    assert accuracy_score(["B-PER", "O"], ["B-PER", "I-PER"]) == 0.5
    assert accuracy_score([], []) == 0.0


def test_input_errors():
    with pytest.raises(ValueError, match="numbers of sequences: 1 vs 2"):
        f1_score([["O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match="sequence 1 has 2 tag"):
        f1_score([["O"], ["O", "O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match="sequence 0"):
        accuracy_score([["O", "O"]], [["O"]])
    with pytest.raises(ValueError, match="sequence 2"):
        classification_report([["O"], ["O"], ["O"]], [["O"], ["O"], []])
    with pytest.raises(TypeError, match=r"y_pred\[0\]\[1\]"):
        f1_score([["O", "O"]], [["O", 7]])
    with pytest.raises(TypeError):
        f1_score("B-PER", "B-PER")
    with pytest.raises(ValueError, match="average"):
        f1_score(Y_TRUE, Y_PRED, average="samples")
    with pytest.raises(ValueError, match="mode"):
        f1_score(Y_TRUE, Y_PRED, mode="lenient")


def test_fast_on_100k_tokens():
    rng = random.Random(0)
    labels = ["O"] * 6 + [f"{p}-{t}" for p in "BI" for t in ("PER", "LOC", "ORG", "MISC")]
    y_true = [[rng.choice(labels) for _ in range(20)] for _ in range(5000)]
    y_pred = [[t if rng.random() < 0.8 else rng.choice(labels) for t in s] for s in y_true]
    t0 = time.perf_counter()
    f1_score(y_true, y_pred)
    f1_score(y_true, y_pred, mode="strict", scheme="IOB2")
    classification_report(y_true, y_pred)
    accuracy_score(y_true, y_pred)
    assert time.perf_counter() - t0 < 2.0  # ~0.1 s on a laptop


# ----------------------------------------------------------------------------------------
# randomized comparison with seqeval
# ----------------------------------------------------------------------------------------
PREFIXES = {"IOB1": "IB", "IOB2": "BI", "IOE1": "IE", "IOE2": "IE",
            "IOBES": "BIES", "BILOU": "BILU"}
ODD_LABELS = ["X", "B", "I", ".", "B--A", "I-", "Other", "E", "S", "O-A", "U-A", "L-A", "X-B"]


def _random_batch(rng, scheme, types):
    labels = ["O"] + [f"{p}-{t}" for t in types for p in PREFIXES[scheme]]
    y_true, y_pred = [], []
    for _ in range(rng.randint(1, 12)):
        n = rng.randint(0, 12)
        spans, i = [], 0
        while i < n:
            if rng.random() < 0.4:
                e = min(n - 1, i + rng.randint(0, 3))
                spans.append((rng.choice(types), i, e))
                i = e + 1
            else:
                i += 1
        gold = entities_to_tags(spans, n, scheme)
        if rng.random() < 0.3:  # malformed gold
            gold = [t if rng.random() < 0.8 else rng.choice(labels) for t in gold]
        rate = rng.choice([0.0, 0.1, 0.3, 1.0])
        pred = [t if rng.random() >= rate else rng.choice(labels) for t in gold]
        y_true.append(gold)
        y_pred.append(pred)
    return y_true, y_pred


def _same(ours, ref):
    if isinstance(ref, dict):
        assert list(ours) == list(ref)
        for k in ref:
            _same(ours[k], ref[k])
        return
    a, b = np.asarray(ours, dtype=float), np.asarray(ref, dtype=float)
    assert a.shape == b.shape and np.array_equal(a, b, equal_nan=True), (ours, ref)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("scheme", SCHEMES)
def test_matches_seqeval_randomized(scheme):
    pytest.importorskip("seqeval")
    import seqeval.metrics as S
    from seqeval import scheme as sq_scheme

    sq_cls = getattr(sq_scheme, scheme)
    rng = random.Random(1000 + SCHEMES.index(scheme))
    n_seqs = 0
    for it in range(70):
        types = rng.choice([("A",), ("A", "B"), ("PER", "LOC", "ORG")])
        y_true, y_pred = _random_batch(rng, scheme, types)
        n_seqs += len(y_true)
        suffix = it % 4 == 3
        if suffix:
            y_true = [[t if t == "O" else f"{t[2:]}-{t[0]}" for t in s] for s in y_true]
            y_pred = [[t if t == "O" else f"{t[2:]}-{t[0]}" for t in s] for s in y_pred]
        elif it % 4 == 2:  # labels seqeval's default mode reads in its own way
            y_pred = [[t if rng.random() < 0.7 else rng.choice(ODD_LABELS) for t in s]
                      for s in y_pred]
        zd = ["warn", 0, 1][it % 3]
        modes = [dict()]
        if it % 4 != 2:
            modes.append(dict(mode="strict"))
        for mode in modes:
            ours_kw = dict(suffix=suffix, zero_division=zd, **mode)
            ref_kw = dict(ours_kw)
            if mode:
                ours_kw["scheme"] = scheme if it % 2 else sq_cls  # both spellings work
                ref_kw["scheme"] = sq_cls
            ref = S.classification_report(y_true, y_pred, output_dict=True, **ref_kw)
            _same(classification_report(y_true, y_pred, output_dict=True, **ours_kw), ref)
            if len(ref) > 3:  # seqeval's text report fails when there is no chunk
                digits = rng.randint(0, 5)
                assert (classification_report(y_true, y_pred, digits=digits, **ours_kw)
                        == S.classification_report(y_true, y_pred, digits=digits, **ref_kw))
            average = rng.choice([None, "micro", "macro", "weighted"])
            for name in ("precision_score", "recall_score", "f1_score"):
                _same(getattr(M, name)(y_true, y_pred, average=average, **ours_kw),
                      getattr(S, name)(y_true, y_pred, average=average, **ref_kw))
        if sum(map(len, y_true)):
            assert accuracy_score(y_true, y_pred) == S.accuracy_score(y_true, y_pred)
    assert n_seqs > 300


# ----------------------------------------------------------------------------------------
# seqeval details: averaged support, warnings, performance_measure
# ----------------------------------------------------------------------------------------
def test_averaged_support_is_the_true_chunk_count():
    # Y_TRUE has 5 true chunks (PER 2, LOC 2, ORG 1)
    for average in ("micro", "macro", "weighted"):
        *_, support = precision_recall_fscore_support(Y_TRUE, Y_PRED, average=average)
        assert support == 5
    *_, support = precision_recall_fscore_support(Y_TRUE, Y_PRED, average=None)
    assert support.tolist() == [2, 1, 2]  # LOC, ORG, PER
    report = classification_report(Y_TRUE, Y_PRED, output_dict=True)
    assert [report[f"{a} avg"]["support"] for a in ("micro", "macro", "weighted")] == [5] * 3


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("scheme", ["IOB2", "IOBES"])
def test_prfs_every_average_matches_seqeval(scheme):
    pytest.importorskip("seqeval")
    from seqeval.metrics.sequence_labeling import precision_recall_fscore_support as ref_prfs

    rng = random.Random(7 + len(scheme))
    for it in range(40):
        types = rng.choice([("A",), ("PER", "LOC", "ORG")])
        y_true, y_pred = _random_batch(rng, scheme, types)
        if it % 5 == 4:
            y_true = [["O"] * len(s) for s in y_true]  # no true chunk at all
        kw = dict(zero_division=["warn", 0, 1][it % 3], beta=[1.0, 0.5, 2.0][it % 3])
        for average in (None, "micro", "macro", "weighted"):
            ours = precision_recall_fscore_support(y_true, y_pred, average=average, **kw)
            ref = ref_prfs(y_true, y_pred, average=average, **kw)
            for a, b in zip(ours, ref):
                _same(a, b)


def _recorded(fn, *args, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn(*args, **kw)
    return [(w.category.__name__, str(w.message)) for w in caught]


WARNING_CASES = [
    ([["B-PER", "O"]], [["O", "O"]]),            # nothing predicted
    ([["O", "O"]], [["B-PER", "O"]]),            # nothing true
    ([["B-PER", "O"]], [["O", "B-LOC"]]),        # LOC never true, PER never predicted
    ([["O"]], [["O"]]),                          # no chunk at all
]


@pytest.mark.parametrize("y_true, y_pred", WARNING_CASES)
def test_warnings_match_seqeval(y_true, y_pred):
    pytest.importorskip("seqeval")
    import seqeval.metrics.sequence_labeling as S

    for name in ("precision_score", "recall_score", "f1_score"):
        for average in (None, "micro", "macro", "weighted"):
            assert (_recorded(getattr(M, name), y_true, y_pred, average=average)
                    == _recorded(getattr(S, name), y_true, y_pred, average=average))
    for average in (None, "micro", "macro", "weighted"):
        assert (_recorded(precision_recall_fscore_support, y_true, y_pred, average=average)
                == _recorded(S.precision_recall_fscore_support, y_true, y_pred,
                             average=average))
    if y_true != [["O"]]:  # seqeval's text report fails without any chunk
        assert (_recorded(classification_report, y_true, y_pred)
                == _recorded(S.classification_report, y_true, y_pred))


def test_warning_is_sklearns_class():
    sk_exceptions = pytest.importorskip("sklearn.exceptions")
    assert issubclass(UndefinedMetricWarning, sk_exceptions.UndefinedMetricWarning)
    with pytest.warns(sk_exceptions.UndefinedMetricWarning):
        precision_score([["B-PER", "O"]], [["O", "O"]])
    # a user's filter on scikit-learn's class silences fastseq's warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=sk_exceptions.UndefinedMetricWarning)
        assert precision_score([["B-PER", "O"]], [["O", "O"]]) == 0.0


WITHOUT_SKLEARN = """
import sys, warnings
sys.modules["sklearn"] = None  # makes `import sklearn` fail
from fastseq.metrics import UndefinedMetricWarning, precision_score
assert UndefinedMetricWarning.__mro__[1] is UserWarning
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    assert precision_score([["B-PER", "O"]], [["O", "O"]]) == 0.0
assert [w.category for w in caught] == [UndefinedMetricWarning]
"""

LAZY_IMPORT = """
import sys
import fastseq.metrics
assert "sklearn" not in sys.modules, "importing fastseq.metrics imported scikit-learn"
"""


@pytest.mark.parametrize("code", [WITHOUT_SKLEARN, LAZY_IMPORT])
def test_warning_class_without_sklearn_and_lazy_import(code):
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", code], check=True)


def test_performance_measure_hand_example():
    y_true = [["O", "B-PER", "I-PER", "O"], ["B-LOC", "O"]]
    y_pred = [["O", "B-PER", "O", "B-ORG"], ["B-PER", "O"]]
    # token by token: O/O TN, B-PER/B-PER TP, I-PER/O FN, O/B-ORG FP, B-LOC/B-PER FP, O/O TN
    assert performance_measure(y_true, y_pred) == {"TP": 1, "FP": 2, "FN": 1, "TN": 2}
    assert performance_measure(["B-PER", "O"], ["B-PER", "O"]) == {
        "TP": 1, "FP": 0, "FN": 0, "TN": 1}
    assert performance_measure([], []) == {"TP": 0, "FP": 0, "FN": 0, "TN": 0}
    with pytest.raises(ValueError, match="sequence 0"):
        performance_measure([["O", "O"]], [["O"]])


def test_performance_measure_matches_seqeval():
    pytest.importorskip("seqeval")
    from seqeval.metrics import performance_measure as ref

    rng = random.Random(11)
    for _ in range(50):
        y_true, y_pred = _random_batch(rng, "IOB2", ("PER", "LOC"))
        ours = performance_measure(y_true, y_pred)
        assert ours == ref(y_true, y_pred)
        assert all(type(v) is int for v in ours.values())


def test_get_entities_warns_about_tags_that_are_not_chunk_tags_as_seqeval():
    labeling = pytest.importorskip("seqeval.metrics.sequence_labeling")
    seq = ["B-PER", "I-PER", "MISC", "O", "NN"]
    with pytest.warns(UserWarning, match="seems not to be NE tag") as ours:
        got = M.get_entities(seq)
    with pytest.warns(UserWarning, match="seems not to be NE tag"):
        want = labeling.get_entities(seq)
    assert got == want
    assert {str(w.message) for w in ours} == {"MISC seems not to be NE tag.",
                                              "NN seems not to be NE tag."}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        M.get_entities(["B-PER", "I-PER", "O", "S-LOC", "E-LOC"])
        M.get_entities(["PER-B", "LOC-S"], suffix=True)
