"""sklearn-crfsuite's surface beyond fit / predict: fastseq.crf.metrics, the attributes
before and after fit, size_ in bytes, model_filename and tagger_ (python-crfsuite's Tagger),
checked against scikit-learn and python-crfsuite where installed."""
from __future__ import annotations

import itertools
import math
import os
import pickle

import numpy as np
import pytest

from fastseq.crf import CRF, NotFittedError, Tagger, metrics


def _dataset(seed=0, n_seq=60, n_words=40, n_labels=4):
    rng = np.random.default_rng(seed)
    X, y = [], []
    for _ in range(n_seq):
        n = int(rng.integers(2, 8))
        words = [f"w{int(rng.integers(n_words))}" for _ in range(n)]
        X.append([{"bias": 1.0, "w": w, "suffix": w[-1:], "caf\u00e9": 0.5} for w in words])
        y.append([f"L{int(w[1:]) % n_labels}" for w in words])
    return X, y


# ---------------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------------

Y_TRUE = [["x", "z", "y"], ["x", "x"]]
Y_PRED = [["y", "z", "y"], ["x", "y"]]


def test_flat_metrics_are_sklearn_on_flattened_labels():
    sk = pytest.importorskip("sklearn.metrics")
    t, p = sum(Y_TRUE, []), sum(Y_PRED, [])
    assert metrics.flat_accuracy_score(Y_TRUE, Y_PRED) == 3 / 5
    for avg in ("micro", "macro", "weighted"):
        assert metrics.flat_precision_score(Y_TRUE, Y_PRED, average=avg) == \
            sk.precision_score(t, p, average=avg)
        assert metrics.flat_recall_score(Y_TRUE, Y_PRED, average=avg) == \
            sk.recall_score(t, p, average=avg)
        assert metrics.flat_f1_score(Y_TRUE, Y_PRED, average=avg) == \
            sk.f1_score(t, p, average=avg)
        assert metrics.flat_fbeta_score(Y_TRUE, Y_PRED, 0.5, average=avg) == \
            sk.fbeta_score(t, p, beta=0.5, average=avg)
    assert metrics.flat_f1_score(Y_TRUE, Y_PRED, average="macro") == pytest.approx(2 / 3)
    assert metrics.flat_classification_report(Y_TRUE, Y_PRED, labels=["x", "y"]) == \
        sk.classification_report(t, p, labels=["x", "y"])
    # generators and tuples flatten like lists
    assert metrics.flat_accuracy_score((tuple(s) for s in Y_TRUE), iter(Y_PRED)) == 3 / 5


def test_sequence_accuracy():
    assert metrics.sequence_accuracy_score(Y_TRUE, Y_PRED) == 0
    assert metrics.sequence_accuracy_score([], []) == 0
    assert metrics.sequence_accuracy_score([[1, 2], [3], [4]], [[1, 2], [4], [4]]) == 2 / 3
    assert metrics.sequence_accuracy_score([["a"], ["b"]], [("a",), ("b",)]) == 1.0


# ---------------------------------------------------------------------------------------------
# attributes before fit: None, as sklearn-crfsuite's; methods raise
# ---------------------------------------------------------------------------------------------

def test_attributes_are_none_before_fit_and_methods_raise():
    crf = CRF()
    for name in ("tagger_", "size_", "classes_", "num_attributes_", "attributes_",
                 "state_features_", "transition_features_", "training_log_",
                 "num_features_"):
        assert getattr(crf, name) is None, name
    X, y = _dataset()
    for call in (lambda: crf.predict(X), lambda: crf.predict_marginals(X),
                 lambda: crf.score(X, y), lambda: crf.predict_single(X[0])):
        with pytest.raises(NotFittedError):
            call()
    crf.fit(X, y)
    assert set(crf.classes_) == {"L0", "L1", "L2", "L3"}
    assert isinstance(crf.tagger_, Tagger)
    assert len(crf.attributes_) == crf.num_attributes_ > 0
    assert crf.num_features_ == len(crf.state_features_) + len(crf.transition_features_)


# ---------------------------------------------------------------------------------------------
# size_: CRFsuite's model file size
# ---------------------------------------------------------------------------------------------

def _pycrfsuite_model(tmp_path, X, y, params, name="m.crfsuite"):
    pycrfsuite = pytest.importorskip("pycrfsuite")
    trainer = pycrfsuite.Trainer(verbose=False)
    for xseq, yseq in zip(X, y):
        trainer.append(xseq, yseq)
    trainer.set_params(params)
    path = str(tmp_path / name)
    trainer.train(path)
    tagger = pycrfsuite.Tagger()
    tagger.open(path)
    return path, tagger


@pytest.mark.parametrize("params", [{"c2": 0.1}, {"c1": 0.5, "c2": 0.01},
                                    {"c2": 1.0, "feature.possible_transitions": True}])
def test_size_is_crfsuite_model_file_size(tmp_path, params):
    X, y = _dataset()
    path, tagger = _pycrfsuite_model(tmp_path, X, y, params)
    kwargs = {k.replace("feature.possible_transitions", "all_possible_transitions"): v
              for k, v in params.items()}
    crf = CRF(**kwargs).fit(X, y)
    theirs = os.path.getsize(path)
    info = tagger.info()
    if len(crf.state_features_) == len(info.state_features) and \
            len(crf.transition_features_) == len(info.transitions):
        assert crf.size_ == theirs  # the same non-zero features: the same bytes
    assert abs(crf.size_ - theirs) <= 0.2 * theirs


# ---------------------------------------------------------------------------------------------
# model_filename
# ---------------------------------------------------------------------------------------------

def test_model_filename_is_written_by_fit_and_read_back(tmp_path):
    X, y = _dataset()
    path = str(tmp_path / "model.crf")
    crf = CRF(c2=0.1, model_filename=path)
    assert crf.get_params()["model_filename"] == path
    assert crf.classes_ is None and not os.path.exists(path)  # nothing to read yet
    crf.fit(X, y)
    assert os.path.isfile(path)
    again = CRF(model_filename=path)  # reads the model on first use, as sklearn-crfsuite
    assert again.classes_ == crf.classes_
    assert again.predict(X) == crf.predict(X)
    assert again.state_features_ == crf.state_features_ and again.size_ == crf.size_
    copy = pickle.loads(pickle.dumps(crf))
    assert copy.predict(X) == crf.predict(X) and copy.model_filename == path
    # the file holds no path: a model loaded from it does not write anywhere on fit
    assert CRF.load(path).model_filename is None


def test_model_filename_survives_clone(tmp_path):
    sklearn_base = pytest.importorskip("sklearn.base")
    path = str(tmp_path / "m.crf")
    clone = sklearn_base.clone(CRF(c1=0.1, model_filename=path))
    assert clone.model_filename == path and clone.c1 == 0.1


def test_failed_fit_writes_no_model_file(tmp_path):
    path = tmp_path / "m.crf"
    with pytest.raises(ValueError):
        CRF(model_filename=str(path)).fit([[{"a": 1.0}]], [["A", "B"]])
    assert not path.exists()


# ---------------------------------------------------------------------------------------------
# tagger_
# ---------------------------------------------------------------------------------------------

def test_tagger_agrees_with_predict_and_brute_force():
    X, y = _dataset(n_labels=3)
    crf = CRF(c2=0.1).fit(X, y)
    tagger = crf.tagger_
    assert tagger.labels() == crf.classes_
    xseq = X[0][:4]
    assert tagger.tag(xseq) == crf.predict_single(xseq)
    tagger.set(xseq)
    assert tagger.tag() == crf.predict_single(xseq)
    probs = {p: tagger.probability(list(p))
             for p in itertools.product(crf.classes_, repeat=len(xseq))}
    assert math.isclose(sum(probs.values()), 1.0, rel_tol=1e-9)
    assert list(max(probs, key=probs.get)) == tagger.tag()
    marg = crf.predict_marginals_single(xseq)
    for pos, label in itertools.product(range(len(xseq)), crf.classes_):
        brute = sum(v for p, v in probs.items() if p[pos] == label)
        assert tagger.marginal(label, pos) == pytest.approx(brute, abs=1e-9)
        assert tagger.marginal(label, pos) == pytest.approx(marg[pos][label], abs=1e-12)
    with pytest.raises(ValueError):
        tagger.marginal("nope", 0)
    with pytest.raises(ValueError):
        tagger.marginal(crf.classes_[0], len(xseq))
    with pytest.raises(ValueError):
        tagger.probability(tagger.tag()[:-1])
    with pytest.raises(ValueError):
        crf.tagger_.tag()  # a fresh tagger has no sequence set


def test_tagger_matches_python_crfsuite(tmp_path):
    X, y = _dataset()
    _, theirs = _pycrfsuite_model(tmp_path, X, y, {"c2": 0.1})
    ours = CRF(c2=0.1).fit(X, y).tagger_
    assert sorted(ours.labels()) == sorted(theirs.labels())
    for xseq in X[:10]:
        ours.set(xseq)
        theirs.set(xseq)
        assert ours.tag() == theirs.tag()
        yseq = theirs.tag()
        assert ours.probability(yseq) == pytest.approx(theirs.probability(yseq), abs=1e-3)
        for pos in range(len(xseq)):
            for label in theirs.labels():
                assert ours.marginal(label, pos) == \
                    pytest.approx(theirs.marginal(label, pos), abs=1e-3)
