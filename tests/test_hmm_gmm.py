"""GMMHMM: parity with hmmlearn's GMMHMM (EM, init, scoring, sampling), errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from fastseq.hmm import GMMHMM

hmm = pytest.importorskip("hmmlearn.hmm")

LENGTHS = [100, 130, 70]
TYPES = ["spherical", "diag", "full", "tied"]
NAMES = ["startprob_", "transmat_", "weights_", "means_", "covars_"]


def _data(seed=0, nf=2):
    rs = np.random.RandomState(seed)
    states = rs.randint(0, 3, size=sum(LENGTHS))
    centers = np.array([[0.0, 0.0], [5.0, 1.0], [1.0, 6.0]])[:, :nf]
    X = centers[states] + rs.normal(size=(states.size, nf)) * rs.choice([0.5, 1.5],
                                                                      size=(states.size, 1))
    return X


def _start(covariance_type, X):
    """Initial parameters of hmmlearn's own initialisation (and one EM step)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = hmm.GMMHMM(3, 2, covariance_type=covariance_type, random_state=0, n_iter=1)
        ref.fit(X, LENGTHS)
    return {name: np.array(getattr(ref, name)) for name in NAMES}


def _pair(start, **kwargs):
    kwargs.setdefault("n_iter", 10)
    kwargs.setdefault("tol", -np.inf)
    kwargs.setdefault("init_params", "")
    ours, ref = GMMHMM(3, 2, **kwargs), hmm.GMMHMM(3, 2, **kwargs)
    for model in (ours, ref):
        for name, value in start.items():
            setattr(model, name, value.copy())
    return ours, ref


def _assert_same(ours, ref, rtol=1e-8):
    np.testing.assert_allclose(ours.monitor_.history, ref.monitor_.history, rtol=rtol)
    for name in NAMES:
        np.testing.assert_allclose(getattr(ours, name), getattr(ref, name), rtol=1e-6,
                                   atol=1e-9, err_msg=name)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_em_matches_hmmlearn_multi_sequence(covariance_type):
    X = _data()
    ours, ref = _pair(_start(covariance_type, X), covariance_type=covariance_type)
    ours.fit(X, LENGTHS)
    ref.fit(X, LENGTHS)
    assert len(ours.monitor_.history) == 10
    _assert_same(ours, ref)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_em_with_priors_matches_hmmlearn(covariance_type):
    X = _data(1)
    nf = X.shape[1]
    covars_prior = {"spherical": 0.5, "diag": 0.5, "full": 0.3 * np.eye(nf),
                    "tied": 0.3 * np.eye(nf)}[covariance_type]
    covars_weight = {"spherical": 2.0, "diag": 2.0, "full": 1.0, "tied": 4.0}[covariance_type]
    ours, ref = _pair(_start(covariance_type, X), covariance_type=covariance_type,
                      weights_prior=2.0, means_prior=np.array([1.0, -1.0]), means_weight=3.0,
                      covars_prior=covars_prior, covars_weight=covars_weight,
                      startprob_prior=2.0, transmat_prior=1.5)
    ours.fit(X, LENGTHS)
    ref.fit(X, LENGTHS)
    _assert_same(ours, ref)


@pytest.mark.parametrize("params", ["stw", "mc", "c", "w", "sm"])
def test_em_subsets_of_params_match_hmmlearn(params):
    X = _data(2)
    ours, ref = _pair(_start("diag", X), covariance_type="diag", params=params, n_iter=5)
    ours.fit(X, LENGTHS)
    ref.fit(X, LENGTHS)
    _assert_same(ours, ref)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_default_initialisation_matches_hmmlearn(covariance_type):
    X = _data(3)
    ours = GMMHMM(3, 2, covariance_type=covariance_type, random_state=7, n_iter=5)
    ref = hmm.GMMHMM(3, 2, covariance_type=covariance_type, random_state=7, n_iter=5)
    ours.fit(X, LENGTHS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit(X, LENGTHS)
    _assert_same(ours, ref)


def test_statistics_are_summed_over_all_sequences():
    # the fit must not depend on the order in which the sequences are packed
    X = _data(4)
    start = _start("full", X)
    bounds = np.cumsum([0] + LENGTHS)
    seqs = [X[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    order = [2, 0, 1]
    a, _ = _pair(start, covariance_type="full")
    b, _ = _pair(start, covariance_type="full")
    a.fit(X, LENGTHS)
    b.fit(np.concatenate([seqs[i] for i in order]), [LENGTHS[i] for i in order])
    for name in NAMES[1:]:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-9,
                                   atol=1e-12)
    np.testing.assert_allclose(a.monitor_.history, b.monitor_.history, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_score_decode_predict_sample_match_hmmlearn(covariance_type):
    X = _data(5)
    ours, ref = _pair(_start(covariance_type, X), covariance_type=covariance_type)
    np.testing.assert_allclose(ours.score(X, LENGTHS), ref.score(X, LENGTHS), rtol=1e-10)
    ll_a, post_a = ours.score_samples(X, LENGTHS)
    ll_b, post_b = ref.score_samples(X, LENGTHS)
    np.testing.assert_allclose(post_a, post_b, atol=1e-9)
    lp_a, path_a = ours.decode(X, LENGTHS)
    lp_b, path_b = ref.decode(X, LENGTHS)
    np.testing.assert_allclose(lp_a, lp_b, rtol=1e-10)
    np.testing.assert_array_equal(path_a, path_b)
    np.testing.assert_array_equal(ours.predict(X, LENGTHS), ref.predict(X, LENGTHS))
    Xa, sa = ours.sample(200, random_state=11)
    Xb, sb = ref.sample(200, random_state=11)
    np.testing.assert_array_equal(sa, sb)
    np.testing.assert_allclose(Xa, Xb, rtol=1e-10, atol=1e-12)
    Xa, sa = ours.sample(20, random_state=3, currstate=2)
    Xb, sb = ref.sample(20, random_state=3, currstate=2)
    np.testing.assert_array_equal(sa, sb)
    np.testing.assert_allclose(Xa, Xb, rtol=1e-10, atol=1e-12)


def test_aic_counts_the_weights_of_every_state():
    X = _data(6)
    ours, _ = _pair(_start("diag", X), covariance_type="diag")
    nc, nm, nf = 3, 2, X.shape[1]
    k = (nc - 1) + nc * (nc - 1) + nc * nm * nf + nc * nm * nf + nc * (nm - 1)
    assert ours.aic(X, LENGTHS) == pytest.approx(-2 * ours.score(X, LENGTHS) + 2 * k)
    assert ours.bic(X, LENGTHS) == pytest.approx(-2 * ours.score(X, LENGTHS)
                                                 + k * np.log(len(X)))


def test_small_cluster_initialisation_is_reproducible():
    rs = np.random.RandomState(0)
    X = np.concatenate([rs.uniform(0, 1, (100, 2)), rs.uniform(5, 6, (5, 2))])
    a = GMMHMM(2, n_mix=10, n_iter=0, random_state=3).fit(X)
    b = GMMHMM(2, n_mix=10, n_iter=0, random_state=3).fit(X)
    np.testing.assert_array_equal(a.means_, b.means_)
    assert a.means_.shape == (2, 10, 2)


def test_priors_are_left_as_given():
    X = _data(7)
    model = GMMHMM(3, 2, n_iter=2, random_state=0).fit(X, LENGTHS)
    assert model.covars_prior is None and model.covars_weight is None
    assert model.get_params()["weights_prior"] == 1.0


def test_fit_supervised_is_refused():
    X = _data(8)
    model = GMMHMM(3, 2, random_state=0).fit(X, LENGTHS)
    with pytest.raises(NotImplementedError, match="fit"):
        model.fit_supervised(X, np.zeros(len(X), dtype=int), LENGTHS)


def _fitted():
    X = _data(9)
    ours, _ = _pair(_start("full", X), covariance_type="full")
    return ours, X


@pytest.mark.parametrize("name, value, word", [
    ("weights_", np.full((3, 3), 1 / 3), "weights_"),
    ("weights_", np.full((3, 2), 0.4), "weights_"),
    ("means_", np.zeros((3, 2)), "means_"),
    ("means_", np.full((3, 2, 2), np.nan), "means_"),
    ("covars_", np.ones((3, 2, 2)), "covars_"),
    ("covars_", np.tile([[1.0, 2.0], [0.0, 1.0]], (3, 2, 1, 1)), "symmetric"),
    ("covars_", np.tile([[1.0, 2.0], [2.0, 1.0]], (3, 2, 1, 1)), "positive"),
    ("covariance_type", "bad", "covariance_type"),
])
def test_bad_parameters_raise_value_error(name, value, word):
    model, X = _fitted()
    setattr(model, name, value)
    with pytest.raises(ValueError, match=word):
        model.score(X)


@pytest.mark.parametrize("kwargs, word", [
    ({"n_mix": 0}, "n_mix"),
    ({"covariance_type": "round"}, "covariance_type"),
    ({"means_prior": np.zeros(5)}, "means_prior"),
    ({"weights_prior": np.ones(4)}, "weights_prior"),
    ({"covars_weight": np.ones(7)}, "covars_weight"),
])
def test_bad_constructor_arguments_raise_value_error(kwargs, word):
    with pytest.raises(ValueError, match=word):
        GMMHMM(3, **{"n_mix": 2, "n_iter": 1, **kwargs}).fit(_data(10), LENGTHS)


def test_bad_input_raises_value_error():
    model, X = _fitted()
    with pytest.raises(ValueError, match="X"):
        model.score(X[:, :1])
    with pytest.raises(ValueError, match="lengths"):
        model.score(X, [5, 5])
    with pytest.raises(ValueError, match="X"):
        model.score(np.full_like(X, np.nan))
    with pytest.raises(ValueError, match="currstate"):
        model.sample(3, currstate=3)


def test_failed_fit_leaves_model_unchanged():
    model, X = _fitted()
    before = {name: getattr(model, name).copy() for name in NAMES}
    model.means_prior = np.zeros(7)
    with pytest.raises(ValueError, match="means_prior"):
        model.fit(X, LENGTHS)
    for name in NAMES:
        np.testing.assert_array_equal(getattr(model, name), before[name])


def test_collapsed_variance_raises_and_keeps_model():
    X = np.column_stack([np.full(60, 3.0), np.random.RandomState(0).normal(size=60)])
    model = GMMHMM(2, 2, covariance_type="diag", random_state=0, n_iter=5)
    with pytest.raises(ValueError, match="covars_"):
        model.fit(X)
    assert not hasattr(model, "means_")
