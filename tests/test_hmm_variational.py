"""Variational HMMs: parity with hmmlearn's vhmm models (initialisation, lower bound,
posteriors, scoring, sampling), and fastseq's own behaviour (errors, lengths, threads)."""
from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from fastseq.exceptions import NotFittedError
from fastseq.hmm import GaussianHMM, VariationalCategoricalHMM, VariationalGaussianHMM

vhmm = pytest.importorskip("hmmlearn.vhmm")

LENGTHS = [120, 80, 150, 1]
TYPES = ["spherical", "diag", "full", "tied"]
COMMON = ["startprob_prior_", "startprob_posterior_", "transmat_prior_", "transmat_posterior_"]
GAUSS = COMMON + ["means_prior_", "means_posterior_", "beta_prior_", "beta_posterior_",
                  "dof_prior_", "dof_posterior_", "scale_prior_", "scale_posterior_"]
CAT = COMMON + ["emissionprob_prior_", "emissionprob_posterior_"]


def _gauss_data(seed=0, nf=2):
    truth = GaussianHMM(3, covariance_type="full", init_params="")
    truth.startprob_ = np.array([0.5, 0.3, 0.2])
    truth.transmat_ = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7]])
    truth.means_ = np.array([[0.0, 0.0], [4.0, 1.0], [1.0, 5.0]])[:, :nf]
    truth.covars_ = np.array([[[1.0, 0.3], [0.3, 0.5]], [[0.6, 0.0], [0.0, 1.5]],
                              [[1.0, -0.4], [-0.4, 1.0]]])[:, :nf, :nf]
    return truth.sample(sum(LENGTHS), random_state=seed)[0]


def _cat_data(seed=0):
    rs = np.random.RandomState(seed)
    emission = np.array([[0.7, 0.2, 0.1, 0.0], [0.1, 0.1, 0.4, 0.4], [0.0, 0.5, 0.0, 0.5]])
    states = np.zeros(sum(LENGTHS), dtype=int)
    for t in range(1, states.size):
        states[t] = states[t - 1] if rs.rand() < 0.8 else rs.randint(3)
    u = rs.rand(states.size, 1)
    return (u > np.cumsum(emission[states], axis=1)).sum(axis=1, keepdims=True)


def _both(cls_ours, cls_ref, X, lengths=LENGTHS, **kwargs):
    kwargs.setdefault("n_iter", 10)
    kwargs.setdefault("tol", -np.inf)
    ref_kwargs = copy.deepcopy(kwargs)   # a RandomState is consumed: each model its own
    ours = cls_ours(**kwargs).fit(X, lengths)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = cls_ref(**ref_kwargs).fit(X, lengths)
    return ours, ref


def _assert_same(ours, ref, names, rtol=1e-6):
    if len(ref.monitor_.history):
        np.testing.assert_allclose(list(ours.monitor_.history), list(ref.monitor_.history),
                                   rtol=1e-8)
    for name in names:
        np.testing.assert_allclose(getattr(ours, name), getattr(ref, name), rtol=rtol,
                                   atol=1e-10, err_msg=name)


# -- parity with hmmlearn -----------------------------------------------------------------------

@pytest.mark.parametrize("covariance_type", TYPES)
def test_gaussian_initialisation_matches_hmmlearn(covariance_type):
    X = _gauss_data()
    ours, ref = _both(VariationalGaussianHMM, vhmm.VariationalGaussianHMM, X, n_iter=0,
                      n_components=3, covariance_type=covariance_type, random_state=5)
    _assert_same(ours, ref, GAUSS, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_gaussian_lower_bound_and_posteriors_match_hmmlearn(covariance_type):
    X = _gauss_data(1)
    ours, ref = _both(VariationalGaussianHMM, vhmm.VariationalGaussianHMM, X,
                      n_components=3, covariance_type=covariance_type, random_state=2)
    assert len(ours.monitor_.history) == 10
    _assert_same(ours, ref, GAUSS + ["startprob_", "transmat_", "means_", "covars_"])


@pytest.mark.parametrize("covariance_type", TYPES)
def test_gaussian_shared_random_state_matches_hmmlearn(covariance_type):
    # a RandomState object is consumed in hmmlearn's order (Dirichlet draws, then KMeans)
    X = _gauss_data(2)
    ours, ref = _both(VariationalGaussianHMM, vhmm.VariationalGaussianHMM, X, n_iter=0,
                      n_components=3, covariance_type=covariance_type,
                      random_state=np.random.RandomState(9))
    _assert_same(ours, ref, GAUSS, rtol=1e-12)
    np.testing.assert_array_equal(ours.random_state.rand(3), ref.random_state.rand(3))


@pytest.mark.parametrize("covariance_type", TYPES)
def test_gaussian_priors_match_hmmlearn(covariance_type):
    X = _gauss_data(3)
    nc, nf = 3, X.shape[1]
    scale = {"spherical": np.full(nc, 0.5), "diag": np.full((nc, nf), 0.5),
             "full": np.tile(0.5 * np.eye(nf), (nc, 1, 1)), "tied": 0.5 * np.eye(nf)}
    dof = 4.0 if covariance_type == "tied" else np.full(nc, 3.0)
    ours, ref = _both(VariationalGaussianHMM, vhmm.VariationalGaussianHMM, X,
                      n_components=nc, covariance_type=covariance_type, random_state=4,
                      startprob_prior=np.array([2.0, 1.0, 0.5]), transmat_prior=1.5,
                      means_prior=np.array([[0.0, 1.0]] * nc), beta_prior=np.full(nc, 2.0),
                      dof_prior=dof, scale_prior=scale[covariance_type])
    _assert_same(ours, ref, GAUSS)


@pytest.mark.parametrize("params", ["st", "stm", "stmc"])
@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_gaussian_params_subsets_match_hmmlearn(covariance_type, params):
    X = _gauss_data(4)
    ours, ref = _both(VariationalGaussianHMM, vhmm.VariationalGaussianHMM, X,
                      n_components=3, covariance_type=covariance_type, random_state=1,
                      params=params)
    _assert_same(ours, ref, GAUSS)


def test_categorical_initialisation_matches_hmmlearn():
    X = _cat_data()
    ours, ref = _both(VariationalCategoricalHMM, vhmm.VariationalCategoricalHMM, X, n_iter=0,
                      n_components=4, random_state=11)
    _assert_same(ours, ref, CAT, rtol=1e-12)


@pytest.mark.parametrize("kwargs", [{}, {"params": "st"},
                                    {"n_features": 6},
                                    {"startprob_prior": 2.0, "transmat_prior": 0.5,
                                     "emissionprob_prior": 1.5},
                                    {"random_state": np.random.RandomState(3)}])
def test_categorical_lower_bound_and_posteriors_match_hmmlearn(kwargs):
    X = _cat_data(1)
    kwargs = {"random_state": 0, **kwargs}
    ours, ref = _both(VariationalCategoricalHMM, vhmm.VariationalCategoricalHMM, X,
                      n_components=4, **kwargs)
    assert len(ours.monitor_.history) == 10
    # hmmlearn sets the point estimates only in the update of their letter; ours always
    derived = [n for n in ["startprob_", "transmat_", "emissionprob_"] if hasattr(ref, n)]
    _assert_same(ours, ref, CAT + derived)
    np.testing.assert_allclose(ours.emissionprob_.sum(axis=1), 1.0)


def test_categorical_convergence_matches_hmmlearn():
    X = _cat_data(2)
    ours, ref = _both(VariationalCategoricalHMM, vhmm.VariationalCategoricalHMM, X,
                      n_components=3, random_state=0, n_iter=500, tol=1e-6)
    assert ours.monitor_.converged and ref.monitor_.converged
    assert ours.monitor_.iter == ref.monitor_.iter
    _assert_same(ours, ref, CAT)


def _path_log_prob(model, X, path):
    """``log P(X, path)`` summed over the sequences of LENGTHS, from public attributes."""
    if hasattr(model, "emissionprob_"):
        log_em = np.log(model.emissionprob_[path, X[:, 0]])
    else:
        log_em = np.array([multivariate_normal.logpdf(x, model.means_[k], model.covars_[k])
                           for x, k in zip(X, path)])
    first = np.cumsum([0] + LENGTHS[:-1])
    inner = np.setdiff1d(np.arange(len(X)), first)
    return (log_em.sum() + np.log(model.startprob_[path[first]]).sum()
            + np.log(model.transmat_[path[inner - 1], path[inner]]).sum())


@pytest.mark.parametrize("model", ["categorical", "spherical", "full"])
def test_scoring_decoding_sampling_match_hmmlearn(model):
    if model == "categorical":
        X = _cat_data(3)
        ours, ref = _both(VariationalCategoricalHMM, vhmm.VariationalCategoricalHMM, X,
                          n_components=3, random_state=0)
    else:
        X = _gauss_data(5)
        ours, ref = _both(VariationalGaussianHMM, vhmm.VariationalGaussianHMM, X,
                          n_components=3, covariance_type=model, random_state=0)
    np.testing.assert_allclose(ours.score(X, LENGTHS), ref.score(X, LENGTHS), rtol=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X, LENGTHS), ref.predict_proba(X, LENGTHS),
                               rtol=1e-6, atol=1e-10)
    log_prob, path = ours.decode(X, LENGTHS)
    ref_log_prob, ref_path = ref.decode(X, LENGTHS)
    np.testing.assert_allclose(log_prob, ref_log_prob, rtol=1e-10)
    # equally good paths may be broken differently: both must score the optimum
    np.testing.assert_allclose(_path_log_prob(ours, X, path), ref_log_prob, rtol=1e-10)
    np.testing.assert_allclose(_path_log_prob(ours, X, ref_path), ref_log_prob, rtol=1e-10)
    np.testing.assert_array_equal(ours.predict(X, LENGTHS), path)
    np.testing.assert_array_equal(ours.decode(X, LENGTHS, algorithm="map")[1],
                                  ref.decode(X, LENGTHS, algorithm="map")[1])
    sample, states = ours.sample(50, random_state=7)
    ref_sample, ref_states = ref.sample(50, random_state=7)
    np.testing.assert_array_equal(states, ref_states)
    np.testing.assert_allclose(sample, ref_sample, rtol=1e-10)


def test_hand_set_posteriors_match_hmmlearn():
    X = _gauss_data(6)[:, :1]
    setup = {"means_prior_": [[0.0], [0.0], [0.0]], "means_posterior_": [[-1.0], [1.0], [4.0]],
             "beta_prior_": [1.0, 1.0, 1.0], "beta_posterior_": [5.0, 5.0, 5.0],
             "dof_prior_": [1.0, 1.0, 1.0], "dof_posterior_": [5.0, 5.0, 5.0],
             "scale_prior_": [[[1.0]]] * 3, "scale_posterior_": [[[5.0]]] * 3}
    ours = VariationalGaussianHMM(3, init_params="st", n_iter=10, tol=-np.inf,
                                  random_state=0)
    ref = vhmm.VariationalGaussianHMM(3, init_params="st", n_iter=10, tol=-np.inf,
                                      random_state=0)
    for model in (ours, ref):
        for name, value in setup.items():
            setattr(model, name, np.array(value))
        model.fit(X, LENGTHS)
    _assert_same(ours, ref, GAUSS)


# -- fastseq's own behaviour ----------------------------------------------------------------------

def test_errors_name_the_argument():
    X = _gauss_data()
    with pytest.raises(ValueError, match="covariance_type"):
        VariationalGaussianHMM(2, covariance_type="bogus").fit(X)
    model = VariationalGaussianHMM(2, init_params="")
    model.means_prior_, model.means_posterior_ = np.zeros((3, 2)), np.zeros((2, 2))
    model.beta_prior_, model.beta_posterior_ = np.ones(2), np.ones(2)
    with pytest.raises(ValueError, match="means_prior_"):
        model.fit(X)
    model = VariationalGaussianHMM(2, covariance_type="tied", init_params="")
    model.dof_prior_, model.dof_posterior_ = [3.0], 5.0
    model.scale_prior_, model.scale_posterior_ = np.eye(2), np.eye(2)
    with pytest.raises(ValueError, match="dof_prior_"):
        model.fit(X)
    model = VariationalGaussianHMM(2, covariance_type="full", init_params="mc")
    model.scale_posterior_ = np.array([[[1.0, 2.0], [2.0, 1.0]]] * 2)   # not PD
    model.startprob_prior_ = np.full(2, 0.5)
    model.startprob_posterior_ = np.full(2, -1.0)
    with pytest.raises(ValueError, match="startprob_posterior_"):
        model.fit(X)
    with pytest.raises(ValueError, match="beta_prior"):
        VariationalGaussianHMM(2, beta_prior=[1.0, 2.0, 3.0]).fit(X)
    Xc = _cat_data()
    with pytest.raises(ValueError, match="n_features"):
        VariationalCategoricalHMM(2, n_features=2).fit(Xc)
    model = VariationalCategoricalHMM(2, init_params="st")
    model.emissionprob_prior_ = np.ones((2, 4))
    model.emissionprob_posterior_ = np.ones((3, 4))
    with pytest.raises(ValueError, match="emissionprob_posterior_"):
        model.fit(Xc)
    with pytest.raises(ValueError, match="lengths"):
        VariationalCategoricalHMM(2).fit(Xc, lengths=[5, 5])


@pytest.mark.parametrize("cls", [VariationalCategoricalHMM, VariationalGaussianHMM])
def test_not_fitted(cls):
    model = cls(2)
    X = np.zeros((4, 1), dtype=int)
    for call in (lambda: model.score(X), lambda: model.predict(X),
                 lambda: model.predict_proba(X), lambda: model.sample(3)):
        with pytest.raises(NotFittedError, match="startprob_prior_"):
            call()


def test_multi_sequence_lengths():
    X = _gauss_data(7)
    model = VariationalGaussianHMM(3, covariance_type="diag", random_state=0).fit(X, LENGTHS)
    bounds = np.cumsum([0] + LENGTHS)
    parts = [X[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    np.testing.assert_allclose(model.score(X, LENGTHS), sum(model.score(p) for p in parts),
                               rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X, LENGTHS),
                                  np.concatenate([model.predict(p) for p in parts]))
    # the sequences are separate: one sequence has a different lower bound
    whole = VariationalGaussianHMM(3, covariance_type="diag", random_state=0).fit(X)
    assert whole.monitor_.history[-1] != model.monitor_.history[-1]
    # the start posterior counts one start per sequence, on top of the prior
    assert model.startprob_posterior_.sum() == pytest.approx(len(LENGTHS) + 1.0)


def test_threads_give_identical_results():
    X = _cat_data(4)
    one = VariationalCategoricalHMM(3, random_state=0, n_threads=1).fit(X, LENGTHS)
    two = VariationalCategoricalHMM(3, random_state=0, n_threads=2).fit(X, LENGTHS)
    assert list(one.monitor_.history) == list(two.monitor_.history)
    np.testing.assert_array_equal(one.emissionprob_posterior_, two.emissionprob_posterior_)


def test_lower_bound_increases_and_fit_is_all_or_nothing():
    X = _gauss_data(8)
    model = VariationalGaussianHMM(3, covariance_type="full", random_state=0, n_iter=30,
                                   tol=-np.inf).fit(X, LENGTHS)
    assert np.all(np.diff(model.monitor_.history) > -1e-8)
    before = {name: np.copy(getattr(model, name)) for name in GAUSS}
    with pytest.raises(ValueError, match="lengths"):
        model.fit(X, lengths=[3])
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(model, name), value)


def test_api_details():
    model = VariationalGaussianHMM(2, covariance_type="diag", random_state=0)
    assert repr(model) == "VariationalGaussianHMM(n_components=2, covariance_type='diag', " \
                          "random_state=0)"
    params = model.get_params()
    assert params["n_iter"] == 100 and params["tol"] == 1e-6 and params["dof_prior"] is None
    X = _gauss_data(9)
    model.fit(X)
    with pytest.raises(AttributeError):
        model.covars_ = np.ones((2, 2))
    np.testing.assert_array_equal(model.means_, model.means_posterior_)
    np.testing.assert_allclose(model.covars_[:, [0, 1], [0, 1]],
                               model.scale_posterior_ / model.dof_posterior_[:, None])
    with pytest.raises(NotImplementedError, match="fit_supervised"):
        model.fit_supervised(X, np.zeros(len(X), dtype=int))
    assert model.aic(X) > 0 and np.isfinite(model.bic(X))
    clone = pickle.loads(pickle.dumps(model))
    assert clone.score(X) == model.score(X)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_covariances_without_means(covariance_type):
    # with 'c' but not 'm' in params the scale stays positive definite and the means fixed
    X = _gauss_data(10)
    model = VariationalGaussianHMM(3, covariance_type=covariance_type, params="stc",
                                   random_state=0, n_iter=20).fit(X, LENGTHS)
    init = VariationalGaussianHMM(3, covariance_type=covariance_type, params="stc",
                                  random_state=0, n_iter=0).fit(X, LENGTHS)
    np.testing.assert_array_equal(model.means_posterior_, init.means_posterior_)
    assert np.all(np.isfinite(model.monitor_.history))
    assert np.all(np.linalg.eigvalsh(model.covars_) > 0)


def test_params_without_transitions():
    # hmmlearn needs 't' in params (it reads transmat_, which only that update sets)
    X = _cat_data(5)
    model = VariationalCategoricalHMM(3, params="e", random_state=0, n_iter=5).fit(X, LENGTHS)
    init = VariationalCategoricalHMM(3, params="e", random_state=0, n_iter=0).fit(X, LENGTHS)
    np.testing.assert_array_equal(model.transmat_posterior_, init.transmat_posterior_)
    np.testing.assert_allclose(model.transmat_.sum(axis=1), 1.0)
    assert not np.array_equal(model.emissionprob_posterior_, init.emissionprob_posterior_)
