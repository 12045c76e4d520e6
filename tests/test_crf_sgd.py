"""CRF(algorithm="l2sgd"): CRFsuite's SGD with L2 regularisation."""
from __future__ import annotations

from typing import List, Tuple

import numpy as np
import pytest

from fastseq.crf import CRF


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


def test_trains_and_logs():
    crf = CRF(algorithm="l2sgd", c2=1.0, max_iterations=30).fit(X_TRAIN, Y_TRAIN)
    log = crf.training_log_
    assert 1 <= len(log.iterations) <= 30
    losses = [it["loss"] for it in log.iterations]
    assert all(np.isfinite(losses))
    # the objective falls from the first epoch on this separable-ish data
    assert min(losses) < losses[0]
    assert sorted(crf.classes_) == ["L0", "L1", "L2"]
    assert _accuracy(crf.predict(X_TEST), Y_TEST) > 0.7


def test_deterministic():
    a = CRF(algorithm="l2sgd", max_iterations=15).fit(X_TRAIN, Y_TRAIN)
    b = CRF(algorithm="l2sgd", max_iterations=15).fit(X_TRAIN, Y_TRAIN)
    assert a.state_features_ == b.state_features_
    assert a.transition_features_ == b.transition_features_


def test_max_iterations_and_delta_stop():
    crf = CRF(algorithm="l2sgd", max_iterations=3).fit(X_TRAIN, Y_TRAIN)
    assert len(crf.training_log_.iterations) == 3
    # a huge delta stops as soon as the criterion is tested (after period epochs)
    crf = CRF(algorithm="l2sgd", period=2, delta=10.0).fit(X_TRAIN, Y_TRAIN)
    assert len(crf.training_log_.iterations) == 3
    assert "delta" in crf.training_log_.stop_reason


@pytest.mark.parametrize("kwargs, name", [
    ({"c2": 0.0}, "c2"), ({"c2": -1.0}, "c2"), ({"max_iterations": 0}, "max_iterations"),
    ({"period": 0}, "period"), ({"delta": -1.0}, "delta"), ({"c1": 0.1}, "c1"),
    ({"num_memories": 3}, "num_memories"), ({"epsilon": 0.1}, "epsilon"),
    ({"linesearch": "Backtracking"}, "linesearch"), ({"max_linesearch": 5}, "max_linesearch"),
])
def test_invalid_params(kwargs, name):
    with pytest.raises(ValueError, match=name):
        CRF(algorithm="l2sgd", **kwargs).fit(X_TRAIN[:5], Y_TRAIN[:5])


def test_accuracy_close_to_crfsuite(tmp_path):
    pycrfsuite = pytest.importorskip("pycrfsuite")
    params = {"c2": 0.5, "max_iterations": 50}
    ours = CRF(algorithm="l2sgd", **params).fit(X_TRAIN, Y_TRAIN)
    trainer = pycrfsuite.Trainer(verbose=False)
    trainer.select("l2sgd")
    for x, y in zip(X_TRAIN, Y_TRAIN):
        trainer.append(x, y)
    trainer.set_params(params)
    path = str(tmp_path / "m.crfsuite")
    trainer.train(path)
    tagger = pycrfsuite.Tagger()
    tagger.open(path)
    theirs = [tagger.tag(x) for x in X_TEST]
    acc_ours = _accuracy(ours.predict(X_TEST), Y_TEST)
    acc_theirs = _accuracy(theirs, Y_TEST)
    assert abs(acc_ours - acc_theirs) < 0.03
    # the final objectives agree too (SGD order differs: a loose bound)
    loss_theirs = trainer.logparser.last_iteration["loss"]
    loss_ours = min(it["loss"] for it in ours.training_log_.iterations)
    assert abs(loss_ours - loss_theirs) / loss_theirs < 0.05


def test_calibration_parameters_set_the_learning_rate():
    # one calibration trial keeps calibration_eta; CRFsuite's schedule then starts from
    # t0 = 1 / (lambda * eta), lambda = 2 c2 / B, and the first epoch's last step (step B)
    # has rate 1 / (lambda * (t0 + B - 1))
    B, c2 = len(X_TRAIN), 0.5
    lam = 2 * c2 / B
    for eta in (0.05, 0.4):
        crf = CRF(algorithm="l2sgd", c2=c2, max_iterations=1, calibration_eta=eta,
                  calibration_max_trials=1).fit(X_TRAIN, Y_TRAIN)
        rate = crf.training_log_.iterations[0]["learning_rate"]
        assert rate == pytest.approx(1 / (lam * (1 / (lam * eta) + B - 1)), rel=1e-12)
    default = CRF(algorithm="l2sgd", c2=c2, max_iterations=1).fit(X_TRAIN, Y_TRAIN)
    assert CRF().get_params()["calibration_samples"] is None
    assert default.get_params()["calibration_eta"] is None


def test_calibration_samples_and_candidates_change_the_search():
    a = CRF(algorithm="l2sgd", max_iterations=2).fit(X_TRAIN, Y_TRAIN)
    b = CRF(algorithm="l2sgd", max_iterations=2, calibration_samples=20,
            calibration_candidates=1, calibration_rate=3.0).fit(X_TRAIN, Y_TRAIN)
    rate = [c.training_log_.iterations[0]["learning_rate"] for c in (a, b)]
    assert rate[0] != rate[1]


@pytest.mark.parametrize("kwargs, name", [
    ({"calibration_eta": 0.0}, "calibration_eta"),
    ({"calibration_rate": -2.0}, "calibration_rate"),
    ({"calibration_samples": 0}, "calibration_samples"),
    ({"calibration_candidates": 0}, "calibration_candidates"),
    ({"calibration_max_trials": 0}, "calibration_max_trials"),
])
def test_invalid_calibration(kwargs, name):
    with pytest.raises(ValueError, match=name):
        CRF(algorithm="l2sgd", **kwargs).fit(X_TRAIN[:5], Y_TRAIN[:5])


@pytest.mark.parametrize("algorithm", ["lbfgs", "ap", "pa", "arow"])
def test_calibration_only_with_l2sgd(algorithm):
    with pytest.raises(ValueError, match="calibration_rate"):
        CRF(algorithm=algorithm, calibration_rate=2.0).fit(X_TRAIN[:5], Y_TRAIN[:5])
