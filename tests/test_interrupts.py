"""Ctrl-C during training: every fit stops within a second and leaves its estimator as it
was before the call -- unfitted, or holding its previous model -- never half-updated.

The interrupt comes from a timer thread, as ``_thread.interrupt_main()`` or a real SIGINT
(``signal.raise_signal``), while a training that would otherwise run for a long time is
in progress; the training sets are small enough that one kernel call is short.
"""
from __future__ import annotations

import _thread
import signal
import threading
import time

import numpy as np
import pytest

from fastseq.crf import CRF
from fastseq.exceptions import NotFittedError
from fastseq.hmm import CategoricalHMM, GaussianHMM
from fastseq.taggers import CRFTagger, HMMTagger

DELAY = 0.3    # seconds of training before the interrupt
BOUND = 1.0    # generous bound on the time from the interrupt to the end of fit


def _sigint():
    signal.raise_signal(signal.SIGINT)


HOW = {"interrupt_main": _thread.interrupt_main, "sigint": _sigint}


@pytest.fixture(autouse=True)
def default_sigint_handler():
    """Ctrl-C raises KeyboardInterrupt, whatever handler the test runner installed."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def _interrupted(fit, how, delay=DELAY):
    """Run ``fit()`` and interrupt it after ``delay`` seconds; the seconds from the
    interrupt until fit raised KeyboardInterrupt (the test fails when fit returns)."""
    sent = []

    def fire():
        sent.append(time.perf_counter())
        HOW[how]()

    timer = threading.Timer(delay, fire)
    timer.start()
    try:
        fit()
    except KeyboardInterrupt:
        stopped = time.perf_counter()
    else:  # pragma: no cover - the training is meant to outlast the delay
        timer.cancel()
        timer.join()
        if sent:  # the interrupt may still be pending: let it out here
            try:
                time.sleep(0.1)
            except KeyboardInterrupt:
                pass
        pytest.fail("the training finished before the interrupt; make it longer")
    timer.join()
    assert sent
    return stopped - sent[0]


def _interrupted_at_call(fit, how, monkeypatch, after_calls=3):
    """Like ``_interrupted``, but the interrupt is sent (from another thread) as the
    ``after_calls``-th kernel call (or epoch of a per-sequence learner) of the training
    starts: deterministic, whatever the machine's speed or when the optimiser would stop."""
    from fastseq import ops
    from fastseq.crf import _epochs

    calls, sent = [0], []

    def fire():
        sent.append(time.perf_counter())
        HOW[how]()

    def counted(fn):
        def wrapper(*args, **kwargs):
            calls[0] += 1
            if calls[0] == after_calls:
                threading.Thread(target=fire).start()
            return fn(*args, **kwargs)
        return wrapper

    for name in ("crf_nll", "viterbi"):
        monkeypatch.setattr(ops, name, counted(getattr(ops, name)))
    for name in ("online_epoch", "sgd_epoch"):
        monkeypatch.setattr(_epochs, name, counted(getattr(_epochs, name)))
    with pytest.raises(KeyboardInterrupt):
        fit()
    stopped = time.perf_counter()
    monkeypatch.undo()
    assert sent
    return stopped - sent[0]


def _same_state(obj, before):
    """``obj`` holds exactly the attributes, and the very objects, it held before."""
    now = vars(obj)
    assert set(now) == set(before)
    changed = [k for k in before if now[k] is not before[k]]
    assert not changed, changed


# -- CRF ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def crf_data():
    """Random sequences: one kernel call takes milliseconds."""
    rng = np.random.default_rng(0)
    X = [[{f"a{j}": 1.0 for j in rng.choice(300, size=8, replace=False)}
          for _ in range(12)] for _ in range(3000)]
    y = [[str(t) for t in rng.integers(0, 6, size=12)] for _ in range(3000)]
    return X, y


# no stopping rule but the line search's failure (after seconds) or the interrupt
_LONG = {
    "lbfgs": dict(c2=1e-3, epsilon=0.0, period=0, max_iterations=10**6),
    "owlqn": dict(c1=1e-3, c2=1e-3, epsilon=0.0, period=0, max_iterations=10**6),
    "ap": dict(algorithm="ap", epsilon=0.0, max_iterations=10**6),
    "pa": dict(algorithm="pa", epsilon=0.0, max_iterations=10**6),
    "arow": dict(algorithm="arow", epsilon=0.0, max_iterations=10**6),
    "l2sgd": dict(algorithm="l2sgd", period=10**6, max_iterations=10**6),
}


@pytest.mark.parametrize("algorithm,fitted,how", [
    ("lbfgs", False, "interrupt_main"), ("lbfgs", True, "sigint"),
    ("owlqn", False, "sigint"), ("owlqn", True, "interrupt_main"),
    ("ap", False, "interrupt_main"), ("ap", True, "sigint"), ("pa", False, "sigint"),
    ("arow", True, "interrupt_main"), ("l2sgd", False, "interrupt_main"),
    ("l2sgd", True, "sigint")])
def test_crf_fit_stops_and_leaves_the_model_as_before(crf_data, algorithm, fitted, how,
                                                      monkeypatch):
    X, y = crf_data
    crf = CRF(**_LONG[algorithm], n_threads=2)
    if fitted:
        small = CRF(max_iterations=5).fit(X[:20], y[:20])
        crf = small.set_params(**_LONG[algorithm], n_threads=2)
        want = small.predict(X[:20])
    before = dict(vars(crf))
    # the interrupt comes during the iterations, past the encoding of the input
    assert _interrupted_at_call(lambda: crf.fit(X, y), how, monkeypatch) < BOUND
    _same_state(crf, before)
    if fitted:
        assert crf.predict(X[:20]) == want
    else:
        with pytest.raises(NotFittedError):
            crf.predict(X[:1])
    # nothing is left broken: the same estimator trains normally afterwards
    crf.set_params(max_iterations=3)
    assert len(crf.fit(X[:50], y[:50]).predict(X[:2])) == 2


# -- HMM (Baum-Welch) -------------------------------------------------------------------------

def _hmm(kind):
    rng = np.random.default_rng(1)
    if kind == "categorical":
        X = rng.integers(0, 12, size=(60_000, 1))
        model = CategoricalHMM(n_components=6, n_iter=10**6, tol=-np.inf, random_state=0)
    else:
        X = rng.normal(size=(60_000, 3))
        model = GaussianHMM(n_components=6, n_iter=10**6, tol=-np.inf, random_state=0)
    return model, X, [300] * 200


@pytest.mark.parametrize("how", sorted(HOW))
@pytest.mark.parametrize("kind", ["categorical", "gaussian"])
def test_hmm_fit_stops_and_leaves_the_model_as_before(kind, how):
    model, X, lengths = _hmm(kind)
    model.set_params(n_iter=3).fit(X[:3000], lengths=lengths[:10])
    params = {k: v.copy() for k, v in vars(model).items() if isinstance(v, np.ndarray)}
    history = list(model.monitor_.history)
    model.set_params(n_iter=10**6, init_params="")
    before = dict(vars(model))
    assert _interrupted(lambda: model.fit(X, lengths=lengths), how) < BOUND
    _same_state(model, before)
    for k, v in params.items():  # not changed in place either
        np.testing.assert_array_equal(getattr(model, k), v)
    assert list(model.monitor_.history) == history


def test_hmm_fit_supervised_is_all_or_nothing(monkeypatch):
    model = CategoricalHMM(n_components=2)
    X = [[0], [1], [2], [2], [0], [1]]
    states = [1, 0, 0, 0, 1, 1]
    model.fit_supervised(X, states)
    before = dict(vars(model))
    start = model.startprob_.copy()

    def interrupted(self, stats, supervised):
        raise KeyboardInterrupt  # Ctrl-C after start and transitions, before the emissions

    monkeypatch.setattr(CategoricalHMM, "_do_emission_mstep", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.fit_supervised(X, [0, 0, 1, 1, 0, 0])
    _same_state(model, before)
    np.testing.assert_array_equal(model.startprob_, start)


# -- taggers ------------------------------------------------------------------------------------

def _tagged(n_sents, seed=2):
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(400)]
    tags = ["A", "B", "C", "D", "E"]
    return [[(words[rng.integers(400)], tags[rng.integers(5)]) for _ in range(10)]
            for _ in range(n_sents)]


@pytest.mark.parametrize("how", sorted(HOW))
@pytest.mark.parametrize("stack", [0, 2], ids=["single", "stacked"])
def test_crf_tagger_train_stops_and_leaves_the_tagger_as_before(stack, how):
    data = _tagged(800)
    tagger = CRFTagger(templates="pos", stack=stack, max_iterations=3).train(data[:30])
    want = tagger.predict([["w1", "w2"]])
    tagger.set_params(max_iterations=10**6, epsilon=0.0, period=0)
    before = dict(vars(tagger))
    assert _interrupted(lambda: tagger.train(data), how) < BOUND
    _same_state(tagger, before)
    assert tagger.predict([["w1", "w2"]]) == want


def test_hmm_tagger_train_interrupted_while_reading_or_counting(monkeypatch):
    data = _tagged(300)
    tagger = HMMTagger()
    untrained = dict(vars(tagger))

    def interrupting(sents, at):
        for i, s in enumerate(sents):
            if i == at:
                _thread.interrupt_main()  # Ctrl-C while the corpus is being read
            yield s

    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        tagger.train(interrupting(data, 100))
        time.sleep(5)  # pragma: no cover - reached only when the interrupt is lost
    assert time.perf_counter() - t0 < BOUND
    _same_state(tagger, untrained)
    assert not tagger.is_fitted

    tagger.train(data[:50])
    want = tagger.predict([["w1", "w7"]])
    before = dict(vars(tagger))
    build = HMMTagger._build

    def interrupted_build(self):
        build(self)  # the new tables are in place when Ctrl-C comes
        raise KeyboardInterrupt

    monkeypatch.setattr(HMMTagger, "_build", interrupted_build)
    with pytest.raises(KeyboardInterrupt):
        tagger.train(data)
    monkeypatch.undo()
    _same_state(tagger, before)
    assert tagger.predict([["w1", "w7"]]) == want
