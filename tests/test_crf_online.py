"""CRF(algorithm="pa" / "arow"): CRFsuite's passive-aggressive and AROW learners."""
from __future__ import annotations

import os
from typing import Dict, List, Tuple

import numpy as np
import pytest

from fastseq.crf import CRF

pycrfsuite = pytest.importorskip("pycrfsuite")


def _corpus(n: int, seed: int) -> Tuple[List[List[dict]], List[List[str]]]:
    """Noisy chain data: a label mostly keeps or advances the previous one; the word hints at
    the label."""
    rng = np.random.default_rng(seed)
    X, Y = [], []
    for _ in range(n):
        prev = 0
        xs, ys = [], []
        for _ in range(int(rng.integers(3, 10))):
            lab = (prev + int(rng.integers(0, 2))) % 3 if rng.random() < 0.8 \
                else int(rng.integers(0, 3))
            w = f"w{lab}_{rng.integers(0, 5)}" if rng.random() < 0.7 \
                else f"n{rng.integers(0, 20)}"
            xs.append({"w": w, "bias": 1.0})
            ys.append(f"L{lab}")
            prev = lab
        X.append(xs)
        Y.append(ys)
    return X, Y


def _accuracy(pred, gold) -> float:
    return float(np.mean([a == b for p, g in zip(pred, gold) for a, b in zip(p, g)]))


X_TRAIN, Y_TRAIN = _corpus(300, 1)
X_TEST, Y_TEST = _corpus(150, 2)


def _crfsuite(X, Y, algorithm: str, params: Dict, tmp_path) -> "pycrfsuite.Tagger":
    trainer = pycrfsuite.Trainer(algorithm=algorithm, verbose=False)
    for x, y in zip(X, Y):
        trainer.append(x, y)
    trainer.set_params(params)
    path = os.path.join(str(tmp_path), "model.crfsuite")
    trainer.train(path)
    tagger = pycrfsuite.Tagger()
    tagger.open(path)
    return tagger


PA_CASES = [
    ("pa", {}),
    ("pa", {"pa_type": 0}),
    ("pa", {"pa_type": 2, "c": 0.5}),
    ("pa", {"error_sensitive": False, "averaging": False}),
    ("arow", {}),
    ("arow", {"variance": 0.5, "gamma": 2.0}),
]


def _crfsuite_params(params: Dict) -> Dict:
    return {("type" if k == "pa_type" else k): v for k, v in params.items()}


@pytest.mark.parametrize("algorithm,params", PA_CASES)
def test_same_weights_as_crfsuite_on_one_sequence(algorithm, params, tmp_path):
    # one training sequence: the visiting order cannot matter, so every update (costs,
    # step sizes, averaging, variances) must give CRFsuite's weights
    X = [[{"a": 1.0, "b": 0.5}, {"b": 2.0, "c": 1.0}, {"a": 1.5, "d": 1.0},
          {"c": 0.5, "d": 1.0}]]
    Y = [["A", "B", "A", "C"]]
    ours = CRF(algorithm=algorithm, max_iterations=4, **params).fit(X, Y)
    info = _crfsuite(X, Y, algorithm, dict(_crfsuite_params(params), max_iterations=4),
                     tmp_path).info()
    theirs_s = {k: v for k, v in info.state_features.items() if v != 0}
    theirs_t = {k: v for k, v in info.transitions.items() if v != 0}
    assert ours.state_features_.keys() == theirs_s.keys()
    assert ours.transition_features_.keys() == theirs_t.keys()
    for k, v in theirs_s.items():
        assert ours.state_features_[k] == pytest.approx(v, rel=1e-5, abs=1e-6)
    for k, v in theirs_t.items():
        assert ours.transition_features_[k] == pytest.approx(v, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("algorithm,params", PA_CASES)
def test_accuracy_close_to_crfsuite(algorithm, params, tmp_path):
    ours = CRF(algorithm=algorithm, max_iterations=20, **params).fit(X_TRAIN, Y_TRAIN)
    tagger = _crfsuite(X_TRAIN, Y_TRAIN, algorithm,
                       dict(_crfsuite_params(params), max_iterations=20), tmp_path)
    acc_ours = _accuracy(ours.predict(X_TEST), Y_TEST)
    acc_theirs = _accuracy([tagger.tag(x) for x in X_TEST], Y_TEST)
    assert acc_ours > 0.6
    # the sequences are visited in another random order than CRFsuite's
    assert abs(acc_ours - acc_theirs) < 0.03
    log = ours.training_log_
    assert len(log.iterations) == 20
    assert all(np.isfinite(it["loss"]) and it["loss"] >= 0 for it in log.iterations)


@pytest.mark.parametrize("algorithm", ["pa", "arow"])
def test_deterministic(algorithm):
    a = CRF(algorithm=algorithm, max_iterations=5).fit(X_TRAIN, Y_TRAIN)
    b = CRF(algorithm=algorithm, max_iterations=5).fit(X_TRAIN, Y_TRAIN)
    assert a.state_features_ == b.state_features_
    assert a.transition_features_ == b.transition_features_


@pytest.mark.parametrize("algorithm", ["pa", "arow"])
def test_epsilon_stops(algorithm):
    crf = CRF(algorithm=algorithm, epsilon=1e9).fit(X_TRAIN, Y_TRAIN)
    assert len(crf.training_log_.iterations) == 1
    assert "epsilon" in crf.training_log_.stop_reason
    crf = CRF(algorithm=algorithm, max_iterations=3).fit(X_TRAIN, Y_TRAIN)
    assert len(crf.training_log_.iterations) == 3


def test_averaging_changes_the_weights():
    a = CRF(algorithm="pa", max_iterations=3).fit(X_TRAIN, Y_TRAIN)
    b = CRF(algorithm="pa", max_iterations=3, averaging=False).fit(X_TRAIN, Y_TRAIN)
    assert a.state_features_ != b.state_features_


@pytest.mark.parametrize("kwargs,name", [
    ({"algorithm": "pa", "pa_type": 3}, "pa_type"),
    ({"algorithm": "pa", "pa_type": -1}, "pa_type"),
    ({"algorithm": "pa", "c": 0.0}, "c"),
    ({"algorithm": "pa", "c": -1.0}, "c"),
    ({"algorithm": "arow", "variance": 0.0}, "variance"),
    ({"algorithm": "arow", "gamma": -1.0}, "gamma"),
    ({"algorithm": "pa", "max_iterations": -1}, "max_iterations"),
    ({"algorithm": "arow", "epsilon": -1.0}, "epsilon"),
    ({"algorithm": "pa", "c2": 1.0}, "c2"),
    ({"algorithm": "arow", "c1": 1.0}, "c1"),
    ({"algorithm": "arow", "pa_type": 1}, "pa_type"),
    ({"algorithm": "pa", "gamma": 1.0}, "gamma"),
    ({"algorithm": "lbfgs", "variance": 1.0}, "variance"),
    ({"algorithm": "ap", "averaging": True}, "averaging"),
])
def test_bad_parameters(kwargs, name):
    with pytest.raises(ValueError, match=name):
        CRF(**kwargs).fit(X_TRAIN[:5], Y_TRAIN[:5])


def test_bad_parameter_types():
    with pytest.raises(TypeError, match="error_sensitive"):
        CRF(algorithm="pa", error_sensitive="yes").fit(X_TRAIN[:5], Y_TRAIN[:5])
    with pytest.raises(TypeError, match="pa_type"):
        CRF(algorithm="pa", pa_type=1.5).fit(X_TRAIN[:5], Y_TRAIN[:5])


def test_params_round_trip(tmp_path):
    crf = CRF(algorithm="pa", pa_type=2, c=0.5, averaging=False, max_iterations=3)
    assert crf.get_params()["pa_type"] == 2
    assert "pa_type=2" in repr(crf)
    crf.fit(X_TRAIN, Y_TRAIN)
    path = tmp_path / "m.fastseq"
    crf.save(path)
    back = CRF.load(path)
    assert back.get_params()["c"] == 0.5
    assert back.predict(X_TEST) == crf.predict(X_TEST)
