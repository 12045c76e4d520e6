"""CategoricalHMM / GaussianHMM: EM, supervised counting, hmmlearn parity, errors."""
from __future__ import annotations

import logging
import pickle

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from fastseq import sequence_score
from fastseq.hmm import CategoricalHMM, ConvergenceMonitor, GaussianHMM, NotFittedError

COV_TYPES = ["diag", "full", "spherical", "tied"]


@pytest.fixture(autouse=True)
def _one_thread_by_default():
    """These problems are tiny: BLAS / OpenMP threads only add waiting on a loaded machine.
    (Explicit ``n_threads`` arguments still apply.)"""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=1):
        yield


# ---------------------------------------------------------------------------------------------
# fixtures: a known model and data sampled from it
# ---------------------------------------------------------------------------------------------

def _cat_truth():
    startprob = np.array([0.6, 0.3, 0.1])
    transmat = np.array([[0.8, 0.15, 0.05],
                         [0.1, 0.8, 0.1],
                         [0.05, 0.15, 0.8]])
    emissionprob = np.array([[0.7, 0.2, 0.05, 0.03, 0.02],
                             [0.05, 0.1, 0.7, 0.1, 0.05],
                             [0.02, 0.03, 0.05, 0.2, 0.7]])
    return startprob, transmat, emissionprob


def _gauss_truth(covariance_type, n_features=2):
    startprob, transmat, _ = _cat_truth()
    means = np.array([[0.0, 0.0], [4.0, 4.0], [-4.0, 4.0]])[:, :n_features]
    nf = n_features
    covars = {
        "spherical": np.array([0.5, 1.0, 0.8]),
        "diag": np.array([[0.5, 1.0], [1.0, 0.4], [0.7, 0.7]])[:, :nf],
        "full": np.array([[[1.0, 0.3], [0.3, 0.5]], [[0.6, -0.2], [-0.2, 0.9]],
                          [[0.8, 0.0], [0.0, 0.8]]])[:, :nf, :nf],
        "tied": np.array([[0.7, 0.2], [0.2, 0.6]])[:nf, :nf],
    }[covariance_type]
    return startprob, transmat, means, covars


def _set_cat(model, startprob, transmat, emissionprob):
    model.startprob_ = startprob.copy()
    model.transmat_ = transmat.copy()
    model.emissionprob_ = emissionprob.copy()
    return model


def _set_gauss(model, startprob, transmat, means, covars):
    model.startprob_ = startprob.copy()
    model.transmat_ = transmat.copy()
    model.means_ = means.copy()
    model.covars_ = covars.copy()
    model.n_features = means.shape[1]
    return model


def _sample_many(model, lengths, seed):
    rs = np.random.RandomState(seed)
    parts = [model.sample(int(n), random_state=rs) for n in lengths]
    X = np.concatenate([p[0] for p in parts])
    states = np.concatenate([p[1] for p in parts])
    return X, states, np.asarray(lengths)


@pytest.fixture
def cat_data():
    truth = _cat_truth()
    gen = _set_cat(CategoricalHMM(3), *truth)
    lengths = np.random.RandomState(1).randint(20, 60, size=60)
    X, states, lengths = _sample_many(gen, lengths, seed=2)
    return truth, X, states, lengths


def _gauss_data(covariance_type, n_seq=60, seed=3):
    truth = _gauss_truth(covariance_type)
    gen = _set_gauss(GaussianHMM(3, covariance_type), *truth)
    lengths = np.random.RandomState(seed).randint(20, 60, size=n_seq)
    X, states, lengths = _sample_many(gen, lengths, seed=seed + 1)
    return truth, X, states, lengths


def _match_states(true_rows, fitted_rows):
    """Permutation p with fitted state p[i] ~ true state i (label switching)."""
    cost = ((true_rows[:, None, :] - fitted_rows[None, :, :]) ** 2).sum(axis=-1)
    _, p = linear_sum_assignment(cost)
    return p


# ---------------------------------------------------------------------------------------------
# EM
# ---------------------------------------------------------------------------------------------

def test_em_monotone_categorical(cat_data):
    _, X, _, lengths = cat_data
    model = CategoricalHMM(3, n_iter=30, tol=-np.inf, random_state=0).fit(X, lengths)
    hist = np.array(model.monitor_.history)
    assert hist.size == 30 and model.monitor_.iter == 30
    assert np.all(np.diff(hist) >= -1e-9 * np.abs(hist[1:]))
    assert hist[-1] > hist[0]


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_em_monotone_gaussian(covariance_type):
    _, X, _, lengths = _gauss_data(covariance_type, n_seq=30)
    # neutral priors: plain maximum likelihood, so the likelihood itself never decreases
    model = GaussianHMM(3, covariance_type, covars_prior=0.0, n_iter=25, tol=-np.inf,
                        random_state=0).fit(X, lengths)
    hist = np.array(model.monitor_.history)
    assert np.all(np.diff(hist) >= -1e-9 * np.abs(hist[1:]))
    assert hist[-1] > hist[0]


def test_em_stops_on_tol(cat_data):
    _, X, _, lengths = cat_data
    model = CategoricalHMM(3, n_iter=500, tol=1e-3, random_state=0).fit(X, lengths)
    mon = model.monitor_
    assert mon.converged and mon.iter < 500
    assert mon.history[-1] - mon.history[-2] < 1e-3


def _neutral_start(model, nc=3):
    """Uniform start and a sticky symmetric transmat: EM from a random Dirichlet(1/n)
    transmat (hmmlearn's default init) often stalls in a poor local optimum."""
    model.startprob_ = np.full(nc, 1.0 / nc)
    model.transmat_ = np.full((nc, nc), 0.2 / (nc - 1)) + np.eye(nc) * (0.8 - 0.2 / (nc - 1))
    return model


def test_recovers_categorical_parameters(cat_data):
    (sp, tm, ep), X, _, lengths = cat_data
    fits = [_neutral_start(CategoricalHMM(3, init_params="e", n_iter=200, tol=1e-6,
                                          random_state=seed)).fit(X, lengths)
            for seed in range(3)]
    best = max(fits, key=lambda m: m.score(X, lengths))
    p = _match_states(ep, best.emissionprob_)
    np.testing.assert_allclose(best.emissionprob_[p], ep, atol=0.05)
    np.testing.assert_allclose(best.transmat_[np.ix_(p, p)], tm, atol=0.06)


@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_recovers_gaussian_parameters(covariance_type):
    (sp, tm, means, covars), X, _, lengths = _gauss_data(covariance_type)
    model = _neutral_start(GaussianHMM(3, covariance_type, init_params="mc", n_iter=100,
                                       tol=1e-6, random_state=0))
    model.fit(X, lengths)
    p = _match_states(means, model.means_)
    np.testing.assert_allclose(model.means_[p], means, atol=0.15)
    np.testing.assert_allclose(model.transmat_[np.ix_(p, p)], tm, atol=0.06)
    want = GaussianHMM(3, covariance_type)
    want.covars_ = covars
    want.n_features = 2
    np.testing.assert_allclose(model.covars_[p], want.covars_, atol=0.2)


def test_n_threads_do_not_change_results(cat_data):
    _, X, _, lengths = cat_data
    fits = [CategoricalHMM(3, n_iter=5, random_state=0, n_threads=t).fit(X, lengths)
            for t in (1, 2)]
    np.testing.assert_array_equal(fits[0].emissionprob_, fits[1].emissionprob_)
    assert list(fits[0].monitor_.history) == list(fits[1].monitor_.history)


def test_zero_length_sequences_are_ignored(cat_data):
    _, X, _, lengths = cat_data
    a = CategoricalHMM(3, n_iter=3, random_state=0).fit(X, lengths)
    with_empty = np.insert(lengths, [0, 5], 0)
    b = CategoricalHMM(3, n_iter=3, random_state=0).fit(X, with_empty)
    np.testing.assert_allclose(a.emissionprob_, b.emissionprob_, rtol=1e-12)
    assert a.score(X, lengths) == pytest.approx(b.score(X, with_empty), rel=1e-12)


def test_params_letters_freeze_parameters(cat_data):
    truth, X, _, lengths = cat_data
    model = _set_cat(CategoricalHMM(3, params="t", init_params="", n_iter=3), *truth)
    model.fit(X, lengths)
    np.testing.assert_array_equal(model.startprob_, truth[0])
    np.testing.assert_array_equal(model.emissionprob_, truth[2])
    assert not np.allclose(model.transmat_, truth[1])


def test_left_right_structure_is_kept():
    X = np.array([[0], [0], [1], [1], [2], [2], [0], [1], [2]])
    model = CategoricalHMM(3, init_params="e", params="ste", n_iter=5, random_state=0)
    model.startprob_ = np.array([1.0, 0.0, 0.0])
    model.transmat_ = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]])
    model.fit(X, [6, 3])
    assert model.startprob_[1] == 0 and model.startprob_[2] == 0
    assert model.transmat_[0, 2] == 0 and np.all(np.tril(model.transmat_, -1) == 0)


def test_state_without_mass_keeps_its_parameters(caplog):
    model = GaussianHMM(3, "diag", init_params="", n_iter=2, tol=-np.inf)
    model.startprob_ = np.array([0.5, 0.5, 0.0])   # state 2 is unreachable
    model.transmat_ = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    model.means_ = np.array([[0.0], [1.0], [2.0]])
    model.covars_ = np.ones((3, 1))
    with caplog.at_level(logging.WARNING, logger="fastseq.hmm"):
        model.fit(np.random.RandomState(0).randn(50, 1))
    assert model.means_[2, 0] == 2.0 and model._covars_[2, 0] == 1.0
    np.testing.assert_array_equal(model.transmat_[2], [0.0, 0.0, 1.0])
    assert np.isfinite(model.score(np.zeros((3, 1))))
    assert "no posterior mass" in caplog.text


# ---------------------------------------------------------------------------------------------
# supervised counting
# ---------------------------------------------------------------------------------------------

# Two sentences; symbols 0..2, states 0..1.
#   seq 1: x = 0 1 2 1, y = 0 0 1 1
#   seq 2: x = 2 2 0,   y = 1 1 0
SUP_X = np.array([[0], [1], [2], [1], [2], [2], [0]])
SUP_Y = np.array([0, 0, 1, 1, 1, 1, 0])
SUP_LEN = [4, 3]


def test_supervised_counts_by_hand():
    model = CategoricalHMM(2).fit_supervised(SUP_X, SUP_Y, SUP_LEN)
    # starts: seq1 starts in 0, seq2 in 1
    np.testing.assert_allclose(model.startprob_, [0.5, 0.5])
    # transitions: 0->0, 0->1, 1->1 (seq 1); 1->1, 1->0 (seq 2)
    #   from 0: {0: 1, 1: 1};  from 1: {0: 1, 1: 2}
    np.testing.assert_allclose(model.transmat_, [[1 / 2, 1 / 2], [1 / 3, 2 / 3]])
    # emissions: state 0 emits 0, 1, 0; state 1 emits 2, 1, 2, 2
    np.testing.assert_allclose(model.emissionprob_, [[2 / 3, 1 / 3, 0], [0, 1 / 4, 3 / 4]])
    assert model.n_features == 3


def test_supervised_priors_are_pseudo_counts():
    model = CategoricalHMM(2, startprob_prior=2.0, transmat_prior=2.0,
                           emissionprob_prior=2.0)
    model.fit_supervised(SUP_X, SUP_Y, SUP_LEN)
    # a Dirichlet(2) prior adds one pseudo-count to every cell
    np.testing.assert_allclose(model.startprob_, [2 / 4, 2 / 4])
    np.testing.assert_allclose(model.transmat_, [[2 / 4, 2 / 4], [2 / 5, 3 / 5]])
    np.testing.assert_allclose(model.emissionprob_, [[3 / 6, 2 / 6, 1 / 6],
                                                     [1 / 7, 2 / 7, 4 / 7]])


def test_supervised_gaussian_by_hand():
    X = np.array([[1.0], [3.0], [10.0], [12.0], [2.0], [11.0]])
    y = np.array([0, 0, 1, 1, 0, 1])
    model = GaussianHMM(2, "diag").fit_supervised(X, y, [4, 2])
    np.testing.assert_allclose(model.means_, [[2.0], [11.0]])
    # diag M-step with covars_prior = 0.01, covars_weight = 1: (0.01 + sum of squares) / n
    np.testing.assert_allclose(model._covars_, [[(0.01 + 2.0) / 3], [(0.01 + 2.0) / 3]])
    np.testing.assert_allclose(model.startprob_, [1.0, 0.0])
    # 0->0, 0->1, 1->1 (seq 1); 0->1 (seq 2)
    np.testing.assert_allclose(model.transmat_, [[1 / 3, 2 / 3], [0.0, 1.0]])


def test_supervised_unseen_rows_become_uniform(caplog):
    with caplog.at_level(logging.WARNING, logger="fastseq.hmm"):
        model = CategoricalHMM(3, n_features=3).fit_supervised(SUP_X, SUP_Y, SUP_LEN)
    np.testing.assert_allclose(model.transmat_[2], [1 / 3] * 3)
    np.testing.assert_allclose(model.emissionprob_[2], [1 / 3] * 3)
    assert "uniform" in caplog.text


def test_supervised_gaussian_unseen_state_is_an_error():
    with pytest.raises(ValueError, match=r"state\(s\) \[2\] have no samples"):
        GaussianHMM(3).fit_supervised(np.array([[1.0], [2.0], [3.0]]), [0, 1, 1])


def test_semi_supervised_refinement(cat_data):
    _, X, states, lengths = cat_data
    n_lab = int(lengths[:10].sum())
    model = CategoricalHMM(3, transmat_prior=1.1, emissionprob_prior=1.1)
    model.fit_supervised(X[:n_lab], states[:n_lab], lengths[:10])
    before = model.score(X, lengths)
    model.set_params(init_params="", n_iter=5, tol=-np.inf)
    model.fit(X, lengths)
    assert model.score(X, lengths) > before


# ---------------------------------------------------------------------------------------------
# agreement with hmmlearn
# ---------------------------------------------------------------------------------------------

def _assert_history(ours, theirs):
    ours, theirs = np.array(ours), np.array(theirs)
    assert ours.shape == theirs.shape == (10,)
    np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=0)


CAT_PRIORS = [{}, dict(startprob_prior=2.0, transmat_prior=3.0, emissionprob_prior=1.5)]


@pytest.mark.parametrize("priors", CAT_PRIORS, ids=["default", "priors"])
def test_hmmlearn_categorical_agreement(priors):
    hmm = pytest.importorskip("hmmlearn.hmm")
    rng = np.random.RandomState(7)
    nc, nf = 4, 6
    sp, tm = rng.dirichlet(np.ones(nc)), rng.dirichlet(np.ones(nc), nc)
    ep = rng.dirichlet(np.ones(nf), nc)
    lengths = rng.randint(5, 40, size=25)
    X = rng.randint(0, nf, size=(lengths.sum(), 1))
    kw = dict(init_params="", n_iter=10, tol=-np.inf, **priors)
    ref = _set_cat(hmm.CategoricalHMM(nc, **kw), sp, tm, ep).fit(X, lengths)
    ours = _set_cat(CategoricalHMM(nc, **kw), sp, tm, ep).fit(X, lengths)
    _assert_history(ours.monitor_.history, ref.monitor_.history)
    for name in ("startprob_", "transmat_", "emissionprob_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(ref, name), rtol=1e-6,
                                   atol=1e-9, err_msg=name)
    _assert_same_inference(ours, ref, X, lengths, viterbi_paths_may_tie=True)
    assert ours.aic(X, lengths) == pytest.approx(ref.aic(X, lengths), rel=1e-10)
    assert ours.bic(X, lengths) == pytest.approx(ref.bic(X, lengths), rel=1e-10)


GAUSS_PRIORS = [{}, dict(startprob_prior=2.0, transmat_prior=2.0, means_prior=0.5,
                         means_weight=2.0, covars_prior=0.3, covars_weight=4.0)]


@pytest.mark.parametrize("priors", GAUSS_PRIORS, ids=["default", "priors"])
@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_hmmlearn_gaussian_agreement(covariance_type, priors):
    hmm = pytest.importorskip("hmmlearn.hmm")
    rng = np.random.RandomState(11)
    nc, nf = 3, 3
    sp, tm = rng.dirichlet(np.ones(nc)), rng.dirichlet(np.ones(nc), nc)
    means = rng.randn(nc, nf) * 2
    a = rng.randn(nf, nf)
    base_cov = a @ a.T + nf * np.eye(nf)
    covars = {"spherical": rng.rand(nc) + 0.5, "diag": rng.rand(nc, nf) + 0.5,
              "full": np.stack([base_cov * (1 + k) / 3 for k in range(nc)]),
              "tied": base_cov / 2}[covariance_type]
    lengths = rng.randint(10, 40, size=20)
    X = rng.randn(lengths.sum(), nf) * 1.5 + np.repeat(means[rng.randint(0, nc, 20)],
                                                       lengths, axis=0)
    kw = dict(init_params="", n_iter=10, tol=-np.inf, **priors)
    ref = _set_gauss(hmm.GaussianHMM(nc, covariance_type, **kw), sp, tm, means, covars)
    ref.fit(X, lengths)
    ours = _set_gauss(GaussianHMM(nc, covariance_type, **kw), sp, tm, means, covars)
    ours.fit(X, lengths)
    _assert_history(ours.monitor_.history, ref.monitor_.history)
    for name in ("startprob_", "transmat_", "means_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(ref, name), rtol=1e-6,
                                   atol=1e-9, err_msg=name)
    ref_cov = ref._covars_[:, 0] if covariance_type == "spherical" else ref._covars_
    np.testing.assert_allclose(ours._covars_, ref_cov, rtol=1e-6, atol=1e-9)
    _assert_same_inference(ours, ref, X, lengths, viterbi_paths_may_tie=False)
    assert ours.bic(X, lengths) == pytest.approx(ref.bic(X, lengths), rel=1e-10)


def _assert_same_inference(ours, ref, X, lengths, viterbi_paths_may_tie):
    assert ours.score(X, lengths) == pytest.approx(ref.score(X, lengths), rel=1e-10)
    lp, post = ours.score_samples(X, lengths)
    ref_lp, ref_post = ref.score_samples(X, lengths)
    assert lp == pytest.approx(ref_lp, rel=1e-10)
    np.testing.assert_allclose(post, ref_post, atol=1e-9)
    np.testing.assert_allclose(ours.predict_proba(X, lengths), ref_post, atol=1e-9)
    # Viterbi: same best score; the same path unless two paths tie exactly
    vit, path = ours.decode(X, lengths, algorithm="viterbi")
    ref_vit, ref_path = ref.decode(X, lengths, algorithm="viterbi")
    assert vit == pytest.approx(ref_vit, rel=1e-10)
    if viterbi_paths_may_tie:
        em = ours._compute_log_likelihood(ours._validate_X(X, fitting=False))
        log_start, log_trans = ours._log_start_trans()
        mine = sequence_score(em, log_trans, path, start=log_start, lengths=lengths)
        theirs = sequence_score(em, log_trans, ref_path, start=log_start, lengths=lengths)
        np.testing.assert_allclose(mine, theirs, rtol=1e-12)
    else:
        np.testing.assert_array_equal(path, ref_path)
        np.testing.assert_array_equal(ours.predict(X, lengths), ref.predict(X, lengths))
    # MAP decoding: same states; fastseq's log_prob is the log of what hmmlearn sums (#188)
    map_lp, map_path = ours.decode(X, lengths, algorithm="map")
    _, ref_map_path = ref.decode(X, lengths, algorithm="map")
    np.testing.assert_array_equal(map_path, ref_map_path)
    assert map_lp == pytest.approx(np.log(ref_post.max(axis=1)).sum(), rel=1e-10)


def test_hmmlearn_same_random_initialisation():
    hmm = pytest.importorskip("hmmlearn.hmm")
    X = np.random.RandomState(0).randint(0, 5, size=(200, 1))
    ref = hmm.CategoricalHMM(3, n_iter=0, random_state=42).fit(X)
    ours = CategoricalHMM(3, n_iter=0, random_state=42).fit(X)
    for name in ("startprob_", "transmat_", "emissionprob_"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(ref, name))
    Xg = np.random.RandomState(0).randn(200, 2)
    ref = hmm.GaussianHMM(3, "full", n_iter=0, random_state=5).fit(Xg)
    ours = GaussianHMM(3, "full", n_iter=0, random_state=5).fit(Xg)
    np.testing.assert_array_equal(ours.startprob_, ref.startprob_)
    np.testing.assert_array_equal(ours.transmat_, ref.transmat_)
    np.testing.assert_allclose(ours.covars_, ref.covars_, rtol=1e-12)


def test_hmmlearn_same_samples():
    hmm = pytest.importorskip("hmmlearn.hmm")
    truth = _cat_truth()
    ref = _set_cat(hmm.CategoricalHMM(3), *truth)
    ours = _set_cat(CategoricalHMM(3), *truth)
    for currstate in (None, 2):
        X1, s1 = ref.sample(300, random_state=9, currstate=currstate)
        X2, s2 = ours.sample(300, random_state=9, currstate=currstate)
        np.testing.assert_array_equal(X1, X2)
        np.testing.assert_array_equal(s1, s2)
    gtruth = _gauss_truth("full")
    ref = _set_gauss(hmm.GaussianHMM(3, "full"), *gtruth)
    ours = _set_gauss(GaussianHMM(3, "full"), *gtruth)
    X1, s1 = ref.sample(200, random_state=4)
    X2, s2 = ours.sample(200, random_state=4)
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_allclose(X1, X2, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# sampling, pickling, estimator protocol
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_sample_shapes_and_reproducibility(covariance_type):
    model = _set_gauss(GaussianHMM(3, covariance_type, random_state=3),
                       *_gauss_truth(covariance_type))
    X, states = model.sample(50)
    assert X.shape == (50, 2) and states.shape == (50,) and states.dtype.kind == "i"
    X2, states2 = model.sample(50)   # int random_state: same draws every call
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(states, states2)
    X3, _ = model.sample(50, random_state=4)
    assert not np.array_equal(X, X3)
    assert model.covars_.shape == (3, 2, 2)
    cat = _set_cat(CategoricalHMM(3), *_cat_truth())
    Xc, sc = cat.sample(40, random_state=np.random.RandomState(0), currstate=1)
    assert Xc.shape == (40, 1) and sc[0] == 1 and Xc.min() >= 0 and Xc.max() < 5


def test_sampled_frequencies_follow_the_model():
    sp, tm, ep = _cat_truth()
    model = _set_cat(CategoricalHMM(3), sp, tm, ep)
    X, states = model.sample(20000, random_state=0)
    counts = np.zeros((3, 5))
    np.add.at(counts, (states, X[:, 0]), 1)
    np.testing.assert_allclose(counts / counts.sum(1, keepdims=True), ep, atol=0.03)


def test_pickle_round_trip(cat_data):
    _, X, _, lengths = cat_data
    model = CategoricalHMM(3, n_iter=3, random_state=0).fit(X, lengths)
    clone = pickle.loads(pickle.dumps(model))
    assert clone.score(X, lengths) == model.score(X, lengths)
    assert list(clone.monitor_.history) == list(model.monitor_.history)
    g = _set_gauss(GaussianHMM(3, "tied"), *_gauss_truth("tied"))
    g2 = pickle.loads(pickle.dumps(g))
    np.testing.assert_array_equal(g2.covars_, g.covars_)
    pickle.loads(pickle.dumps(GaussianHMM(2)))  # unfitted


def test_estimator_protocol():
    model = GaussianHMM(3, "full", n_iter=5, n_threads=1)
    params = model.get_params()
    assert params["covariance_type"] == "full" and params["n_threads"] == 1
    assert "n_features" not in params
    assert type(model)(**params).get_params() == params
    assert model.set_params(n_iter=7) is model and model.n_iter == 7
    assert repr(model) == "GaussianHMM(n_components=3, covariance_type='full', n_iter=7, " \
                          "n_threads=1)"
    with pytest.raises(ValueError, match="Invalid parameter"):
        model.set_params(bogus=1)
    assert "n_features" in CategoricalHMM().get_params()


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_covars_property_round_trip(covariance_type):
    truth = _gauss_truth(covariance_type)
    a = _set_gauss(GaussianHMM(3, covariance_type), *truth)
    full = a.covars_
    assert full.shape == (3, 2, 2)
    b = GaussianHMM(3, covariance_type)
    b.covars_ = full  # the full form is accepted and reduced to the compact one
    np.testing.assert_allclose(b._covars_, a._covars_)


def test_verbose_and_monitor(cat_data, capsys, caplog):
    _, X, _, lengths = cat_data
    CategoricalHMM(3, n_iter=3, tol=-np.inf, verbose=True, random_state=0).fit(X, lengths)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and err[0].split()[0] == "1" and err[2].split()[0] == "3"
    assert err[0].split()[2] == "+nan"  # no delta at the first iteration
    mon = ConvergenceMonitor(tol=1e-2, n_iter=10, verbose=False)
    with caplog.at_level(logging.WARNING, logger="fastseq.hmm"):
        mon.report(-10.0)
        mon.report(-11.0)
    assert "not converging" in caplog.text
    assert mon.converged and list(mon.history) == [-10.0, -11.0] and mon.iter == 2


def test_custom_monitor_is_used(cat_data):
    _, X, _, lengths = cat_data

    class StopAfterTwo(ConvergenceMonitor):
        @property
        def converged(self):
            return self.iter >= 2

    model = CategoricalHMM(3, n_iter=50, random_state=0)
    model.monitor_ = StopAfterTwo(model.tol, model.n_iter, model.verbose)
    model.fit(X, lengths)
    assert model.monitor_.iter == 2


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def cat_model():
    return _set_cat(CategoricalHMM(3), *_cat_truth())


@pytest.fixture
def gauss_model():
    return _set_gauss(GaussianHMM(3, "diag"), *_gauss_truth("diag"))


def test_errors_categorical_symbols(cat_model):
    with pytest.raises(ValueError, match="non-negative"):
        cat_model.score(np.array([[0], [-1]]))
    with pytest.raises(ValueError, match="integer symbols.*float64"):
        cat_model.score(np.array([[0.0], [1.5]]))
    with pytest.raises(ValueError, match="Largest symbol in `X` is 7.*n_features = 5"):
        cat_model.score(np.array([[0], [7]]))
    with pytest.raises(ValueError, match=r"shape \(n_samples, 1\)"):
        cat_model.score(np.zeros((4, 2), dtype=int))
    with pytest.raises(TypeError, match="integer array"):
        cat_model.score(np.array([["a"], ["b"]]))
    with pytest.raises(ValueError, match="Largest symbol"):
        CategoricalHMM(2, n_features=3).fit(np.array([[0], [3]]))


def test_errors_n_features_and_X(gauss_model):
    with pytest.raises(ValueError, match="`X` has 3 features.*n_features = 2"):
        gauss_model.score(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="2-D"):
        gauss_model.score(np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        gauss_model.score(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="at least one sample"):
        gauss_model.score(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="Unexpected number of dimensions"):
        gauss_model.set_params(init_params="").fit(np.zeros((10, 3)))


def test_errors_lengths(cat_model):
    X = np.zeros((10, 1), dtype=int)
    with pytest.raises(ValueError, match="`lengths` must sum to n_samples = 10.*got 9"):
        cat_model.score(X, [4, 5])
    with pytest.raises(ValueError, match="non-negative"):
        cat_model.score(X, [11, -1])
    with pytest.raises(ValueError, match="integers"):
        cat_model.score(X, [5.0, 5.0])
    with pytest.raises(ValueError, match="sum to n_samples"):
        CategoricalHMM(2).fit(X, [3, 3])


def test_errors_parameters(cat_model, gauss_model):
    X = np.zeros((4, 1), dtype=int)
    bad = _set_cat(CategoricalHMM(3), *_cat_truth())
    bad.startprob_ = np.array([0.5, 0.3, 0.1])
    with pytest.raises(ValueError, match="`startprob_` must sum to 1, got 0.9"):
        bad.score(X)
    bad = _set_cat(CategoricalHMM(3), *_cat_truth())
    bad.transmat_ = np.array([[0.5, 0.5, 0.0], [0.2, 0.2, 0.2], [0.0, 0.0, 1.0]])
    with pytest.raises(ValueError, match="`transmat_` rows must sum to 1.*row 1"):
        bad.score(X)
    bad.transmat_ = np.ones((2, 2)) / 2
    with pytest.raises(ValueError, match=r"`transmat_` must have shape \(3, 3\)"):
        bad.score(X)
    with pytest.raises(ValueError, match="covariance_type.*'bogus'"):
        GaussianHMM(2, "bogus").fit(np.zeros((10, 2)))
    with pytest.raises(ValueError, match="Unknown decoder 'beam'"):
        cat_model.decode(X, algorithm="beam")
    with pytest.raises(ValueError, match="implementation"):
        CategoricalHMM(2, implementation="fast").fit(X)
    with pytest.raises(ValueError, match="n_threads"):
        CategoricalHMM(2, n_threads=0).fit(X)
    with pytest.raises(TypeError, match="n_components"):
        CategoricalHMM(2.5).fit(X)
    with pytest.raises(ValueError, match="'diag' covars must be positive"):
        gauss_model.covars_ = -np.ones((3, 2))
    with pytest.raises(ValueError, match="symmetric, positive-definite"):
        GaussianHMM(2, "full").covars_ = np.array([[[1.0, 2.0], [2.0, 1.0]]] * 2)
    with pytest.raises(NotFittedError, match="not fitted"):
        CategoricalHMM(2).score(X)
    with pytest.raises(ValueError, match="n_samples"):
        cat_model.sample(0)


def test_errors_states(cat_model):
    X = np.array([[0], [1], [2]])
    with pytest.raises(ValueError, match=r"`states` must be in \[0, n_components\) = \[0, 2\)"):
        CategoricalHMM(2).fit_supervised(X, [0, 1, 2])
    with pytest.raises(ValueError, match=r"`states` must have shape"):
        CategoricalHMM(2).fit_supervised(X, [0, 1])
    with pytest.raises(TypeError, match="integer"):
        CategoricalHMM(2).fit_supervised(X, [0.0, 1.0, 0.0])


def test_information_criteria_are_python_floats(cat_data):
    _, X, _, lengths = cat_data
    model = CategoricalHMM(3, n_iter=2, random_state=0).fit(X, lengths)
    assert type(model.aic(X, lengths)) is float
    assert type(model.bic(X, lengths)) is float


@pytest.mark.parametrize("cls", [CategoricalHMM, GaussianHMM])
def test_stationary_distribution_needs_only_the_transition_matrix(cls):
    hmm = pytest.importorskip("hmmlearn.hmm")
    transmat = np.array([[0.7, 0.2, 0.1], [0.3, 0.5, 0.2], [0.3, 0.3, 0.4]])
    ours, theirs = cls(n_components=3), getattr(hmm, cls.__name__)(n_components=3)
    ours.transmat_ = theirs.transmat_ = transmat
    got = ours.get_stationary_distribution()
    np.testing.assert_allclose(got, theirs.get_stationary_distribution(), rtol=1e-12)
    np.testing.assert_allclose(got @ transmat, got, rtol=1e-12)
    with pytest.raises(NotFittedError, match="transmat_"):
        cls(n_components=3).get_stationary_distribution()
    ours.transmat_ = transmat[:2]
    with pytest.raises(ValueError, match="transmat_"):
        ours.get_stationary_distribution()


class _FixedGaussians:
    """An emission model written to hmmlearn's extension contract: only
    _compute_log_likelihood and _generate_sample_from_state (unit-variance Gaussians at
    fixed means)."""

    means = np.array([[-2.0], [0.0], [3.0]])

    def _compute_log_likelihood(self, X):
        return -0.5 * ((X[:, None, 0] - self.means[None, :, 0]) ** 2) - 0.5 * np.log(2 * np.pi)

    def _generate_sample_from_state(self, state, random_state):
        return self.means[state] + random_state.standard_normal(1)

    def _get_n_fit_scalars_per_param(self):
        nc = self.n_components
        return {"s": nc - 1, "t": nc * (nc - 1)}


def test_a_subclass_written_for_hmmlearn_works():
    base = pytest.importorskip("hmmlearn.base")
    from fastseq.hmm import BaseHMM

    ours_cls = type("Ours", (_FixedGaussians, BaseHMM), {})
    theirs_cls = type("Theirs", (_FixedGaussians, base.BaseHMM), {})
    kw = dict(n_components=3, params="st", init_params="", n_iter=5, random_state=0)
    start = np.array([0.5, 0.3, 0.2])
    trans = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7]])
    ours, theirs = ours_cls(**kw), theirs_cls(**kw)
    for m in (ours, theirs):
        m.startprob_, m.transmat_ = start.copy(), trans.copy()
    X, states = ours.sample(300, random_state=1)
    assert X.shape == (300, 1)
    X_theirs, states_theirs = theirs.sample(300, random_state=1)
    np.testing.assert_allclose(X, X_theirs)
    np.testing.assert_array_equal(states, states_theirs)
    np.testing.assert_allclose(ours.score(X), theirs.score(X), rtol=1e-10)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    ours.fit(X, [100, 200])
    theirs.fit(X, [100, 200])
    assert ours.n_features == theirs.n_features == 1
    np.testing.assert_allclose(ours.transmat_, theirs.transmat_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.score(X), theirs.score(X), rtol=1e-10)


def test_init_sets_n_features_as_hmmlearn():
    model = GaussianHMM(n_components=2, random_state=0)
    model._init(np.random.default_rng(0).normal(size=(20, 3)), np.array([20]))
    assert model.n_features == 3


@pytest.mark.parametrize("covariance_type", ["spherical", "diag", "full", "tied"])
def test_gaussian_fit_from_the_same_seed_as_hmmlearn(covariance_type):
    """Default initialisation (k-means means, data covariance, Dirichlet start/transitions)
    from the same random_state gives hmmlearn's fit."""
    hmm = pytest.importorskip("hmmlearn.hmm")
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(5)
    X = np.concatenate([rng.normal(m, 1.0, size=(150, 2)) for m in (-4, 0, 5)])
    lengths = [200, 250]
    kw = dict(n_components=3, covariance_type=covariance_type, n_iter=10, tol=0.0,
              random_state=7)
    ours, theirs = GaussianHMM(**kw).fit(X, lengths), hmm.GaussianHMM(**kw).fit(X, lengths)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-6, atol=1e-8)
    if covariance_type == "spherical":
        # hmmlearn's spherical M-step leaves one variance per state and feature (all equal),
        # and its covars_ then has twice the states; compare the variances
        want = theirs._covars_[:, 0, None, None] * np.eye(2)
    else:
        want = theirs.covars_
    np.testing.assert_allclose(ours.covars_, want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.transmat_, theirs.transmat_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.score(X, lengths), theirs.score(X, lengths), rtol=1e-8)


def test_gaussian_n_features_follows_the_means_as_in_hmmlearn():
    # hmmlearn's model-selection example sets n_features = 4 and then 1-D means
    model = GaussianHMM(n_components=2, init_params="")
    model.n_features = 4
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.array([[0.9, 0.1], [0.2, 0.8]])
    model.means_ = np.array([[-2.0], [2.0]])
    model.covars_ = np.array([[0.5], [0.5]])
    X, _ = model.sample(50, random_state=0)
    assert model.n_features == 1 and X.shape == (50, 1)


def test_hmmlearn_style_direct_calls_of_init_and_n_features_checks():
    rng = np.random.default_rng(3)
    X = rng.integers(0, 4, size=(100, 1))
    h = CategoricalHMM(n_components=2, params="ste", init_params="ste", random_state=0)
    h._init(X, [50, 50])  # called directly, before fit, as hmmlearn's tests do
    assert h.n_features == 4 and h.emissionprob_.shape == (2, 4)
    h.fit(X, [50, 50])
    h = CategoricalHMM(n_components=2)
    h._check_and_set_n_features(np.array([[0, 0, 2, 1, 3, 1, 1]], np.uint8))
    assert h.n_features == 4
    for bad in (np.array([[0.0, 2.0]]), np.array([[0, -2, 1]])):
        with pytest.raises(ValueError):
            CategoricalHMM(n_components=2)._check_and_set_n_features(bad)


def test_spherical_covars_of_any_shape_with_one_variance_per_state():
    model = GaussianHMM(n_components=2, covariance_type="spherical")
    model.startprob_ = np.array([0.6, 0.4])
    model.transmat_ = np.array([[0.4, 0.6], [0.9, 0.1]])
    model.means_ = np.array([[3.0], [5.0]])
    model.covars_ = np.array([[[[4.0]]], [[[3.0]]]])
    X, _ = model.sample(200, random_state=0)
    np.testing.assert_allclose(model.covars_[:, 0, 0], [4.0, 3.0])
    assert X.shape == (200, 1)
