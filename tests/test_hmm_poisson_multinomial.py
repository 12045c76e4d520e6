"""PoissonHMM / MultinomialHMM: parity with hmmlearn (EM, init, sampling, decoding), errors."""
from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest
from scipy import stats

from fastseq.hmm import MultinomialHMM, PoissonHMM

hmm = pytest.importorskip("hmmlearn.hmm")

LENGTHS = [120, 200, 80]


@pytest.fixture(autouse=True)
def _quiet():
    # hmmlearn's MultinomialHMM logs a warning at every construction
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


def _poisson_data(seed=0):
    rs = np.random.RandomState(seed)
    states = rs.randint(0, 3, size=sum(LENGTHS))
    rates = np.array([[1.0, 6.0], [4.0, 2.0], [9.0, 0.5]])
    return rs.poisson(rates[states])


def _multinomial_data(seed=0):
    rs = np.random.RandomState(seed)
    states = rs.randint(0, 2, size=sum(LENGTHS))
    probs = np.array([[0.6, 0.3, 0.1, 0.0], [0.1, 0.2, 0.3, 0.4]])
    return np.array([rs.multinomial(5, probs[s]) for s in states])


def _set(model, params):
    for name, value in params.items():
        setattr(model, name, np.array(value, copy=True))
    return model


def _pair(kind, **kw):
    if kind == "poisson":
        return PoissonHMM(**kw), hmm.PoissonHMM(**kw), _poisson_data(), "lambdas_"
    return MultinomialHMM(**kw), hmm.MultinomialHMM(**kw), _multinomial_data(), "emissionprob_"


@pytest.mark.parametrize("kind", ["poisson", "multinomial"])
def test_same_seed_gives_hmmlearn_initial_parameters(kind):
    nc = 3 if kind == "poisson" else 2
    ours, ref, X, em = _pair(kind, n_components=nc, random_state=11, n_iter=0)
    ours.fit(X, LENGTHS)
    ref._init(X, LENGTHS)
    for name in ("startprob_", "transmat_", em):
        np.testing.assert_array_equal(getattr(ours, name), getattr(ref, name))


@pytest.mark.parametrize("kind", ["poisson", "multinomial"])
def test_em_matches_hmmlearn_from_identical_start(kind):
    nc = 3 if kind == "poisson" else 2
    ours, ref, X, em = _pair(kind, n_components=nc, random_state=5, n_iter=10, tol=-np.inf,
                             init_params="")
    rs = np.random.RandomState(2)
    start = {"startprob_": rs.dirichlet(np.ones(nc)),
             "transmat_": rs.dirichlet(np.ones(nc), size=nc),
             em: (rs.uniform(0.5, 8, size=(nc, 2)) if kind == "poisson"
                  else rs.dirichlet(np.ones(4), size=nc))}
    _set(ours, start).fit(X, LENGTHS)
    _set(ref, start).fit(X, LENGTHS)
    np.testing.assert_allclose(ours.monitor_.history, ref.monitor_.history, rtol=1e-8)
    for name in ("startprob_", "transmat_", em):
        np.testing.assert_allclose(getattr(ours, name), getattr(ref, name), rtol=1e-6,
                                   atol=1e-12)


def test_poisson_prior_matches_hmmlearn_with_one_state():
    # with one state hmmlearn's total count is the state's count: the Gamma posterior mean
    X = _poisson_data()
    kw = dict(n_components=1, lambdas_prior=3.0, lambdas_weight=2.0, n_iter=3,
              random_state=0)
    ours, ref = PoissonHMM(**kw).fit(X), hmm.PoissonHMM(**kw).fit(X)
    np.testing.assert_allclose(ours.lambdas_, ref.lambdas_, rtol=1e-10)
    np.testing.assert_allclose(ours.lambdas_[0], (3.0 + X.sum(0)) / (2.0 + len(X)))


def test_poisson_prior_is_per_state():
    X = _poisson_data()
    model = PoissonHMM(n_components=3, lambdas_prior=[1.0, 2.0, 3.0], lambdas_weight=0.5,
                       random_state=0, n_iter=1, params="l", init_params="stl")
    model.fit(X)
    # the same seed and no EM step: the parameters the single E-step used
    refit = PoissonHMM(n_components=3, lambdas_prior=[1.0, 2.0, 3.0], lambdas_weight=0.5,
                       random_state=0, n_iter=0).fit(X)
    post = refit.predict_proba(X)
    expected = (np.array([[1.0], [2.0], [3.0]]) + post.T @ X) / (0.5 + post.sum(0))[:, None]
    np.testing.assert_allclose(model.lambdas_, expected, rtol=1e-10)


@pytest.mark.parametrize("kind", ["poisson", "multinomial"])
def test_scoring_and_decoding_match_hmmlearn(kind):
    nc = 3 if kind == "poisson" else 2
    ours, ref, X, em = _pair(kind, n_components=nc, random_state=3, n_iter=5)
    ref.fit(X, LENGTHS)
    params = {n: getattr(ref, n) for n in ("startprob_", "transmat_", em)}
    _set(ours, params)
    if kind == "multinomial":
        ours.n_trials = 5
    assert ours.score(X, LENGTHS) == pytest.approx(ref.score(X, LENGTHS), rel=1e-10)
    np.testing.assert_array_equal(ours.predict(X, LENGTHS), ref.predict(X, LENGTHS))
    np.testing.assert_allclose(ours.predict_proba(X, LENGTHS), ref.predict_proba(X, LENGTHS),
                               atol=1e-9)
    lp, path = ours.decode(X, LENGTHS)
    ref_lp, ref_path = ref.decode(X, LENGTHS)
    assert lp == pytest.approx(ref_lp, rel=1e-10)
    np.testing.assert_array_equal(path, ref_path)
    # emission log-likelihoods against scipy's pmfs
    if kind == "poisson":
        expect = np.stack([stats.poisson.logpmf(X, lam).sum(1) for lam in ours.lambdas_], 1)
    else:
        expect = np.stack([stats.multinomial.logpmf(X, X.sum(1), p)
                           for p in ours.emissionprob_], 1)
    np.testing.assert_allclose(ours._compute_log_likelihood(X), expect, rtol=1e-10)


@pytest.mark.parametrize("kind", ["poisson", "multinomial"])
def test_samples_match_hmmlearn(kind):
    nc = 3 if kind == "poisson" else 2
    ours, ref, X, em = _pair(kind, n_components=nc, random_state=3, n_iter=2)
    ref.fit(X, LENGTHS)
    _set(ours, {n: getattr(ref, n) for n in ("startprob_", "transmat_", em)})
    if kind == "multinomial":
        ours.n_trials = ref.n_trials = 5
    for currstate in (None, 1):
        a, sa = ours.sample(60, random_state=9, currstate=currstate)
        b, sb = ref.sample(60, random_state=9, currstate=currstate)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(sa, sb)


def test_poisson_zero_rate():
    model = PoissonHMM(n_components=2)
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.full((2, 2), 0.5)
    model.lambdas_ = np.array([[0.0], [2.0]])
    ll = model._compute_log_likelihood(np.array([[0.0], [3.0]]))
    np.testing.assert_allclose(ll[0], [0.0, stats.poisson.logpmf(0, 2.0)])
    assert ll[1, 0] == -np.inf
    assert model.predict([[0], [3]]).tolist()[1] == 1


def test_multinomial_n_trials():
    X = _multinomial_data()
    model = MultinomialHMM(n_components=2, random_state=0).fit(X)
    np.testing.assert_array_equal(model.n_trials, np.full(len(X), 5))
    with pytest.raises(ValueError, match="n_trials"):
        MultinomialHMM(n_components=2, n_trials=4).fit(X)
    model.n_trials = model.n_trials  # a per-sample array of one value samples fine
    assert model.sample(3, random_state=0)[0].sum(axis=1).tolist() == [5, 5, 5]
    model.n_trials = np.arange(len(X))
    with pytest.raises(ValueError, match="single `n_trials`"):
        model.sample(3)


def test_empty_state_keeps_previous_parameters():
    X = _poisson_data()
    model = PoissonHMM(n_components=2, init_params="", n_iter=2)
    model.startprob_ = np.array([1.0, 0.0])
    model.transmat_ = np.array([[1.0, 0.0], [0.0, 1.0]])
    model.lambdas_ = np.array([[3.0, 3.0], [7.0, 7.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X)
    np.testing.assert_allclose(model.lambdas_[1], [7.0, 7.0])
    np.testing.assert_allclose(model.lambdas_[0], X.mean(0))


@pytest.mark.parametrize("cls", [PoissonHMM, MultinomialHMM])
@pytest.mark.parametrize("bad", [[[1, -1]], [[0.5, 1.0]], [[np.nan, 1.0]], [1, 2]])
def test_bad_X_names_argument(cls, bad):
    with pytest.raises(ValueError, match="`X`"):
        cls(n_components=1).fit(np.array(bad, dtype=float))


def test_bad_parameters_name_themselves():
    X = _poisson_data()
    model = PoissonHMM(n_components=3, random_state=0).fit(X)
    model.lambdas_ = np.ones((2, 2))
    with pytest.raises(ValueError, match="lambdas_"):
        model.score(X)
    model.lambdas_ = -np.ones((3, 2))
    with pytest.raises(ValueError, match="lambdas_"):
        model.score(X)
    with pytest.raises(ValueError, match="lambdas_prior"):
        PoissonHMM(n_components=3, lambdas_prior=np.ones((2, 5))).fit(X)
    with pytest.raises(ValueError, match="`X` has 3 features"):
        PoissonHMM(n_components=3, random_state=0).fit(X).score(np.ones((4, 3), int))
    with pytest.raises(ValueError, match="zero variance"):
        PoissonHMM(n_components=2).fit(np.ones((10, 2), int))
    mm = MultinomialHMM(n_components=2)
    mm.startprob_, mm.transmat_ = np.array([0.5, 0.5]), np.full((2, 2), 0.5)
    mm.emissionprob_ = np.array([[0.5, 0.5], [0.2, 0.8]])
    with pytest.raises(ValueError, match="n_trials"):
        mm.score([[1, 1]])
    mm.emissionprob_ = np.array([[0.5, 0.6], [0.2, 0.8]])
    mm.n_trials = 2
    with pytest.raises(ValueError, match="emissionprob_"):
        mm.score([[1, 1]])


def test_fit_supervised_counts():
    X = _poisson_data()
    states = np.random.RandomState(1).randint(0, 3, size=len(X))
    model = PoissonHMM(n_components=3).fit_supervised(X, states, LENGTHS)
    for s in range(3):
        np.testing.assert_allclose(model.lambdas_[s], X[states == s].mean(0))
    Xm = _multinomial_data()
    st = states[:len(Xm)] % 2
    mm = MultinomialHMM(n_components=2).fit_supervised(Xm, st)
    for s in range(2):
        tot = Xm[st == s].sum(0)
        np.testing.assert_allclose(mm.emissionprob_[s], tot / tot.sum())
