"""Full- and tied-covariance Gaussian emissions: the batched log-densities against scipy's
multivariate normal, the weighted scatter matrices and one EM step against a direct
per-sequence computation; the quadratic design matrix path of fitting against the
whitening path (accuracy guard, memory cap) and hmmlearn."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from fastseq.hmm import GMMHMM, GaussianHMM, _util, gaussian
from fastseq.hmm._util import (
    cholesky_factors,
    design_log_density,
    design_scatter,
    gaussian_log_density,
    quadratic_design,
    weighted_scatter,
)


def _random_covs(rng, k, nf, cond=None):
    """``k`` random positive-definite matrices; with ``cond``, eigenvalues spread over
    ``cond`` (condition number) in random directions."""
    out = np.empty((k, nf, nf))
    for g in range(k):
        if cond is None:
            a = rng.normal(size=(nf, nf + 2))
            out[g] = a @ a.T / nf + 0.05 * np.eye(nf)
        else:
            q, _ = np.linalg.qr(rng.normal(size=(nf, nf)))
            eig = np.geomspace(1.0, 1.0 / cond, nf) * rng.uniform(0.5, 2.0)
            out[g] = (q * eig) @ q.T
            out[g] = 0.5 * (out[g] + out[g].T)
    return out


def _scipy_log_density(X, means, covs):
    return np.stack([multivariate_normal(means[g], covs[g]).logpdf(X).reshape(len(X))
                     for g in range(len(means))], axis=1)


@pytest.mark.parametrize("nf, k, n", [(1, 3, 50), (2, 4, 7), (8, 4, 5000), (5, 13, 3000),
                                      (20, 2, 100)])
def test_log_density_matches_scipy(nf, k, n):
    rng = np.random.default_rng(nf * 100 + k)
    covs = _random_covs(rng, k, nf)
    means = rng.normal(size=(k, nf))
    X = rng.normal(size=(n, nf)) * 2.0
    got = gaussian_log_density(X, means, cholesky_factors(covs))
    assert got.shape == (n, k)
    np.testing.assert_allclose(got, _scipy_log_density(X, means, covs), rtol=1e-10,
                               atol=1e-9)


def test_log_density_one_shared_factor():
    rng = np.random.default_rng(1)
    nf, k = 6, 5
    cov = _random_covs(rng, 1, nf)
    means = rng.normal(size=(k, nf))
    X = rng.normal(size=(2000, nf))
    got = gaussian_log_density(X, means, cholesky_factors(cov))
    want = _scipy_log_density(X, means, np.repeat(cov, k, axis=0))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-9)


def test_log_density_strided_samples():
    # the samples may be a column slice of a wider matrix (as the models pass them)
    rng = np.random.default_rng(2)
    covs = _random_covs(rng, 3, 4)
    means = rng.normal(size=(3, 4))
    wide = rng.normal(size=(3000, 9))
    got = gaussian_log_density(wide[:, 2:6], means, cholesky_factors(covs))
    np.testing.assert_allclose(got, _scipy_log_density(wide[:, 2:6], means, covs),
                               rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("cond", [1e4, 1e8])
def test_log_density_ill_conditioned(cond):
    rng = np.random.default_rng(int(np.log10(cond)))
    nf, k = 5, 3
    covs = _random_covs(rng, k, nf, cond=cond)
    means = rng.normal(size=(k, nf))
    # samples from the Gaussians themselves (thin along their small directions), plus
    # some far away
    X = np.concatenate([rng.multivariate_normal(means[g], covs[g], size=300)
                        for g in range(k)] + [rng.normal(size=(100, nf))])
    got = gaussian_log_density(X, means, cholesky_factors(covs))
    want = _scipy_log_density(X, means, covs)
    # the log-densities reach ~cond in magnitude away from the means
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-6)


def test_cholesky_factors_retry_and_reject():
    # positive semi-definite: fails once, passes with 1e-7 on the diagonal (as hmmlearn)
    psd = np.array([[[1.0, 1.0], [1.0, 1.0]]])
    chol = cholesky_factors(psd)
    np.testing.assert_allclose(chol[0] @ chol[0].T, psd[0] + 1e-7 * np.eye(2), atol=1e-12)
    with pytest.raises(ValueError, match="positive-definite"):
        cholesky_factors(np.array([[[1.0, 0.0], [0.0, -1.0]]]))


@pytest.mark.parametrize("n, m, k", [(1, 2, 1), (10, 3, 4), (5000, 9, 4), (3000, 2, 30)])
def test_weighted_scatter_matches_loop(n, m, k):
    rng = np.random.default_rng(n + m + k)
    X = rng.normal(size=(n, m))
    w = rng.random((n, k))
    got = weighted_scatter(X, w)
    want = np.zeros((k, m, m))
    for i in range(n):
        want += w[i][:, None, None] * np.outer(X[i], X[i])
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)
    np.testing.assert_array_equal(got, got.transpose(0, 2, 1))


def _model_and_data(covariance_type, nf, seed):
    rng = np.random.default_rng(seed)
    nc = 3
    model = GaussianHMM(nc, covariance_type=covariance_type, init_params="", n_iter=1)
    model.startprob_ = rng.dirichlet(np.ones(nc))
    model.transmat_ = rng.dirichlet(np.ones(nc) * 3, size=nc)
    model.means_ = rng.normal(size=(nc, nf)) * 2
    covs = _random_covs(rng, nc, nf)
    model.covars_ = covs if covariance_type == "full" else covs[0]
    lengths = [40, 1, 77, 25, 60]
    X, _ = model.sample(sum(lengths), random_state=seed)
    return model, X, lengths


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
@pytest.mark.parametrize("nf", [1, 4])
@pytest.mark.parametrize("params", ["c", "mc"])
def test_em_step_matches_per_sequence_computation(covariance_type, nf, params):
    model, X, lengths = _model_and_data(covariance_type, nf, seed=nf)
    model.params = params
    cp = model.covars_prior
    # posteriors of every sequence on its own, from the initial parameters
    bounds = np.cumsum([0] + lengths)
    seqs = [X[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    posts = [model.predict_proba(x) for x in seqs]
    counts = sum(p.sum(axis=0) for p in posts)
    sums = sum(p.T @ x for p, x in zip(posts, seqs))
    means = sums / counts[:, None] if "m" in params else model.means_.copy()
    scatter = np.zeros((model.n_components, nf, nf))
    for p, x in zip(posts, seqs):
        for k in range(model.n_components):
            d = x - means[k]
            scatter[k] += (d * p[:, k:k + 1]).T @ d
    if covariance_type == "full":
        want = (cp + scatter) / counts[:, None, None]
    else:
        want = np.tile((cp + scatter.sum(axis=0)) / counts.sum(), (model.n_components, 1, 1))
    model.fit(X, lengths)
    np.testing.assert_allclose(model.means_, means, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(model.covars_, want, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_score_of_one_state_is_the_log_density(covariance_type):
    rng = np.random.default_rng(5)
    nf = 3
    model = GaussianHMM(1, covariance_type=covariance_type)
    model.startprob_ = np.ones(1)
    model.transmat_ = np.ones((1, 1))
    model.means_ = rng.normal(size=(1, nf))
    cov = _random_covs(rng, 1, nf)
    model.covars_ = cov if covariance_type == "full" else cov[0]
    X = rng.normal(size=(4000, nf))
    want = multivariate_normal(model.means_[0], cov[0]).logpdf(X).sum()
    assert model.score(X) == pytest.approx(want, rel=1e-11)


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_gmm_score_of_one_state_is_the_mixture_log_density(covariance_type):
    rng = np.random.default_rng(6)
    nf, nm = 3, 2
    model = GMMHMM(1, n_mix=nm, covariance_type=covariance_type)
    model.startprob_ = np.ones(1)
    model.transmat_ = np.ones((1, 1))
    model.weights_ = np.array([[0.3, 0.7]])
    model.means_ = rng.normal(size=(1, nm, nf))
    covs = _random_covs(rng, nm, nf)
    if covariance_type == "tied":
        covs[1] = covs[0]
    model.covars_ = covs[None] if covariance_type == "full" else covs[:1]
    X = rng.normal(size=(3000, nf))
    dens = _scipy_log_density(X, model.means_[0], covs)
    want = np.logaddexp(np.log(0.3) + dens[:, 0], np.log(0.7) + dens[:, 1]).sum()
    assert model.score(X) == pytest.approx(want, rel=1e-11)



# ---------------------------------------------------------------------------------------------
# the quadratic design matrix of full/tied fits
# ---------------------------------------------------------------------------------------------

def _no_whitening(monkeypatch):
    """Make design_log_density's whitening fallback fail, to prove it is not taken."""
    def boom(*args):
        raise AssertionError("whitening fallback taken")
    monkeypatch.setattr(_util, "gaussian_log_density", boom)


def _radius(X):
    return float(np.sqrt((X * X).sum(axis=1).max()))


def test_quadratic_design_columns():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 4))
    Z = quadratic_design(X)
    iu = np.triu_indices(4)
    assert Z.shape == (50, 10 + 4 + 1)
    np.testing.assert_array_equal(Z[:, :10], X[:, iu[0]] * X[:, iu[1]])
    np.testing.assert_array_equal(Z[:, 10:14], X)
    np.testing.assert_array_equal(Z[:, -1], 1.0)


@pytest.mark.parametrize("nf, k, n, shared", [(1, 3, 50, False), (2, 4, 7, False),
                                              (8, 4, 5000, False), (8, 4, 5000, True),
                                              (5, 13, 3000, False), (20, 2, 100, True)])
def test_design_log_density_matches_whitening_and_scipy(monkeypatch, nf, k, n, shared):
    rng = np.random.default_rng(nf * 10 + k)
    covs = _random_covs(rng, 1 if shared else k, nf)
    means = rng.normal(size=(k, nf))
    X = rng.normal(size=(n, nf)) * 2.0
    chols = cholesky_factors(covs)
    want = gaussian_log_density(X, means, chols)
    _no_whitening(monkeypatch)        # well conditioned: every column from Z @ W
    got = design_log_density(quadratic_design(X), means, chols, _radius(X))
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)
    full = covs if not shared else np.repeat(covs, k, axis=0)
    np.testing.assert_allclose(got, _scipy_log_density(X, means, full), rtol=1e-10,
                               atol=1e-9)


def _long_double_log_density(X, means, chols):
    """The direct form ``-(|L^-1 (x - mu)|^2 + log det + nf log 2 pi) / 2`` in long double,
    from the float64 inverse factors (isolates the rounding of the evaluation)."""
    nf = X.shape[1]
    inv = np.stack([np.linalg.inv(c) for c in chols]).astype(np.longdouble)
    out = np.empty((X.shape[0], len(means)), dtype=np.longdouble)
    for g, mu in enumerate(means):
        y = (X.astype(np.longdouble) - mu.astype(np.longdouble)) @ inv[g].T
        log_det = 2.0 * np.log(np.diagonal(chols[g]).astype(np.longdouble)).sum()
        out[:, g] = -0.5 * ((y * y).sum(axis=1) + log_det + nf * np.log(2.0 * np.pi))
    return out


@pytest.mark.parametrize("cond", [1e6, 1e8])
def test_design_log_density_ill_conditioned_keeps_whitening(monkeypatch, cond):
    rng = np.random.default_rng(int(np.log10(cond)) + 20)
    nf, k = 8, 3
    covs = _random_covs(rng, k, nf) * 1e-2
    covs[1] = _random_covs(rng, 1, nf, cond=cond)[0] * 1e-2     # one ill-conditioned state
    means = rng.normal(size=(k, nf))
    X = np.concatenate([rng.multivariate_normal(means[g], covs[g], size=500)
                        for g in range(k)] + [rng.normal(size=(500, nf)) * 2.0])
    shift = X.mean(axis=0)
    X, means = X - shift, means - shift
    chols = cholesky_factors(covs)
    Z, radius = quadratic_design(X), _radius(X)
    ref = _long_double_log_density(X, means, chols)
    scale = np.maximum(1.0, np.abs(ref))
    got = design_log_density(Z, means, chols, radius)
    # the ill-conditioned column is the whitening path's, bit for bit; the others not
    np.testing.assert_array_equal(got[:, 1:2],
                                  gaussian_log_density(X, means[1:2], chols[1:2]))
    assert not np.array_equal(got[:, :1], gaussian_log_density(X, means[:1], chols[:1]))
    guarded_err = np.max(np.abs(got - ref) / scale)
    assert guarded_err < 1e-11
    # without the guard the expansion loses far more on that column (beyond 1e-9 at 1e8)
    monkeypatch.setattr(_util, "_EXPANSION_RTOL", np.inf)
    expanded = design_log_density(Z, means, chols, radius)
    expanded_err = np.max(np.abs(expanded[:, 1] - ref[:, 1]) / scale[:, 1])
    assert expanded_err > 10 * guarded_err
    if cond >= 1e8:
        assert expanded_err > 1e-9


@pytest.mark.parametrize("n, nf, k", [(1, 1, 1), (10, 3, 4), (5000, 8, 4), (3000, 2, 30)])
def test_design_scatter_matches_weighted_scatter(n, nf, k):
    rng = np.random.default_rng(n + nf + k)
    X = rng.normal(size=(n, nf))
    w = rng.random((n, k))
    A = np.hstack([X, np.ones((n, 1))])
    got = design_scatter(quadratic_design(X), w)
    np.testing.assert_allclose(got, weighted_scatter(A, w), rtol=1e-11, atol=1e-11)
    np.testing.assert_array_equal(got, got.transpose(0, 2, 1))


def _wide_model_and_data(covariance_type, cond=None, seed=0):
    rng = np.random.default_rng(seed)
    nc, nf = 4, 8
    model = GaussianHMM(nc, covariance_type=covariance_type, init_params="", n_iter=5,
                        tol=-np.inf)
    model.startprob_ = np.full(nc, 1 / nc)
    model.transmat_ = rng.dirichlet(np.ones(nc) * 5, size=nc)
    model.means_ = rng.normal(size=(nc, nf)) * 3
    covs = _random_covs(rng, nc, nf, cond=cond)
    model.covars_ = covs if covariance_type == "full" else covs[0]
    X, _ = model.sample(3000, random_state=seed)
    return model, X, [100] * 30


def _fit_both_paths(monkeypatch, model, X, lengths):
    """Fit a copy with the design matrix and one capped to the whitening path (whose use
    of weighted_scatter alone is checked)."""
    from copy import deepcopy
    fast = deepcopy(model).fit(X, lengths)
    monkeypatch.setattr(gaussian, "DESIGN_MAX_BYTES", 0)

    def boom(*args):
        raise AssertionError("design path used above the cap")
    monkeypatch.setattr(gaussian, "design_scatter", boom)
    monkeypatch.setattr(gaussian, "design_log_density", boom)
    capped = deepcopy(model).fit(X, lengths)
    monkeypatch.undo()
    return fast, capped


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
@pytest.mark.parametrize("cond", [None, 1e7])
def test_fit_design_path_matches_capped_whitening_path(monkeypatch, covariance_type, cond):
    model, X, lengths = _wide_model_and_data(covariance_type, cond)
    assert model._center(X, for_stats=True)["design"]
    fast, capped = _fit_both_paths(monkeypatch, model, X, lengths)
    np.testing.assert_allclose(fast.monitor_.history, capped.monitor_.history, rtol=1e-11)
    np.testing.assert_allclose(fast.means_, capped.means_, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(fast.covars_, capped.covars_, rtol=1e-9, atol=1e-12)


def test_design_matrix_memory_cap(monkeypatch):
    model, X, _ = _wide_model_and_data("full")
    need = X.shape[0] * (8 * 9 // 2 + 8 + 1) * 8
    monkeypatch.setattr(gaussian, "DESIGN_MAX_BYTES", need)
    prep = model._center(X, for_stats=True)
    assert prep["design"]
    model._fit_log_likelihood(prep)
    assert prep["Z"].shape == (X.shape[0], 8 * 9 // 2 + 8 + 1)
    monkeypatch.setattr(gaussian, "DESIGN_MAX_BYTES", need - 1)
    prep = model._center(X, for_stats=True)
    model._fit_log_likelihood(prep)
    assert not prep["design"] and "Z" not in prep
    # too few states for it to pay (k < 0.4 nf)
    monkeypatch.undo()
    few = GaussianHMM(3, covariance_type="full")
    assert few._center(X, for_stats=True)["design"] is False
    # scoring never builds it
    prep = model._center(X, for_stats=False)
    model._fit_log_likelihood(prep)
    assert not prep["design"] and "Z" not in prep


def test_supervised_fit_does_not_build_the_design_matrix(monkeypatch):
    model, X, lengths = _wide_model_and_data("full")
    states = model.predict(X, lengths)
    want = weighted_scatter(np.hstack([X - X.mean(axis=0), np.ones((len(X), 1))]),
                            np.eye(4)[states])

    def boom(*args):
        raise AssertionError("design matrix built for one sum")
    monkeypatch.setattr(gaussian, "quadratic_design", boom)
    model.fit_supervised(X, states, lengths)
    counts = want[:, 8, 8]
    np.testing.assert_allclose(model.means_, want[:, 8, :8] / counts[:, None] + X.mean(axis=0),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_design_path_matches_hmmlearn_8_features(covariance_type):
    hmm = pytest.importorskip("hmmlearn.hmm")
    model, X, lengths = _wide_model_and_data(covariance_type, seed=4)
    ref = hmm.GaussianHMM(4, covariance_type, init_params="", n_iter=5, tol=-np.inf)
    ref.startprob_, ref.transmat_ = model.startprob_, model.transmat_
    ref.means_ = model.means_
    ref.covars_ = model.covars_ if covariance_type == "full" else model.covars_[0]
    ref.fit(X, lengths)
    model.fit(X, lengths)
    np.testing.assert_allclose(model.monitor_.history, ref.monitor_.history, rtol=1e-9)
    np.testing.assert_allclose(model.means_, ref.means_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(model.covars_, ref.covars_, rtol=1e-7, atol=1e-9)
