"""Hidden Markov model with Gaussian-mixture emissions: hmmlearn's ``GMMHMM``."""
from __future__ import annotations

import logging
from typing import Optional

import numpy as np
from numpy.typing import ArrayLike

from .._validation import check_int, check_random_state
from ._kmeans import initial_means
from ._util import (
    as_real_2d,
    broadcast_prior,
    check_stochastic,
    cholesky_factors,
    gaussian_log_density,
    normalize_rows,
    weighted_scatter,
)
from .base import BaseHMM, RandomStateLike
from .gaussian import check_covariance_type

__all__ = ["GMMHMM"]

_log = logging.getLogger(__name__)

_LOG_2PI = np.log(2.0 * np.pi)


class GMMHMM(BaseHMM):
    """Hidden Markov model with Gaussian-mixture emissions.

    Each state emits from a mixture of ``n_mix`` Gaussians with its own weights, means and
    covariances.

    Parameters
    ----------
    n_components : int, default 1
        Number of states.
    n_mix : int, default 1
        Number of mixture components of each state.
    min_covar : float, default 1e-3
        Added to the diagonal of the data covariance used to initialise :attr:`covars_`.
    startprob_prior : float or array-like of shape (n_components,), default 1.0
        Dirichlet prior on :attr:`startprob_`.
    transmat_prior : float or array-like of shape (n_components, n_components), default 1.0
        Dirichlet prior on each row of :attr:`transmat_`.
    weights_prior : float or array-like, default 1.0
        Dirichlet prior on each row of :attr:`weights_` (broadcasts to
        (n_components, n_mix)).
    means_prior, means_weight : float or array-like, default 0.0
        Mean and precision of the normal prior on :attr:`means_` (broadcast to
        (n_components, n_mix, n_features) and (n_components, n_mix)).
    covars_prior, covars_weight : float or array-like, optional
        Parameters of the prior on the covariances (inverse gamma for "spherical"/"diag",
        inverse Wishart for "full"/"tied"), with hmmlearn's formulas and its defaults
        (``None``): the priors that give the maximum-likelihood update.
    algorithm : {"viterbi", "map"}, default "viterbi"
        Decoder used by :meth:`decode` / :meth:`predict`.
    covariance_type : {"spherical", "diag", "full", "tied"}, default "diag"
        ``"spherical"``: one variance per component; ``"diag"``: a diagonal covariance
        per component; ``"full"``: a full covariance per component; ``"tied"``: one full
        covariance shared by the components of each state.
    random_state : int, numpy.random.RandomState or None, default None
        Source of the random initial parameters and of :meth:`sample`.
    n_iter : int, default 10
        Maximum number of EM iterations.
    tol : float, default 1e-2
        EM stops when the log-likelihood gains less than this.
    verbose : bool, default False
        Print iteration, log-likelihood and change to stderr at every iteration.
    params, init_params : str, default "stmcw"
        Parameters updated by EM (``params``) / initialised before it (``init_params``):
        any of ``'s'`` startprob, ``'t'`` transmat, ``'m'`` means, ``'c'`` covars,
        ``'w'`` mixture weights.
    implementation : {"log", "scaling"}, default "log"
        Accepted for compatibility; both use fastseq's exact kernels.
    n_threads : int, optional
        Threads of the kernels (``None`` = every core this process may use, ``-1`` = all
        cores); results are identical for any value. Keyword-only.

    Attributes
    ----------
    n_features : int
        Dimensionality of the emissions.
    monitor_ : ConvergenceMonitor
        Convergence monitor of the last :meth:`fit`.
    startprob_ : ndarray of shape (n_components,)
        Initial state distribution.
    transmat_ : ndarray or scipy.sparse matrix of shape (n_components, n_components)
        Transition probabilities, ``transmat_[i, j]`` = P(i -> j); a sparse matrix lists
        the allowed moves (EM keeps them; every step costs O(nnz)).
    weights_ : ndarray of shape (n_components, n_mix)
        Mixture weights of each state.
    means_ : ndarray of shape (n_components, n_mix, n_features)
        Mean of each mixture component.
    covars_ : ndarray
        Covariances, in the shape of ``covariance_type``: (n_components, n_mix)
        "spherical", (n_components, n_mix, n_features) "diag", (n_components, n_mix,
        n_features, n_features) "full", (n_components, n_features, n_features) "tied".

    See Also
    --------
    GaussianHMM : One Gaussian per state.
    BaseHMM : The methods (fit, score, decode, sample ...).

    Notes
    -----
    The E-step and M-step are hmmlearn's (the covariance scatter is taken around the
    means of the E-step, as hmmlearn does), so from the same initial parameters ``fit``
    gives hmmlearn's results. Behaviour that differs from hmmlearn 0.3:

    * a state whose k-means cluster has fewer than ``n_mix`` samples draws its initial
      means from ``random_state`` (hmmlearn: from numpy's global generator);
    * the k-means runs only when ``means_`` is initialised;
    * the spherical initial variance is hmmlearn's mean of every entry of the data
      covariance matrix only when that is positive (else the mean of the variances);
    * a component (or state) with no posterior mass keeps its previous mean, covariance
      (or weights) instead of becoming 0 or NaN;
    * the constructor's prior arguments are left as given (hmmlearn replaces them with
      broadcast arrays when it checks the model);
    * ``aic``/``bic`` count ``n_components * (n_mix - 1)`` free weights (hmmlearn:
      ``n_mix - 1``);
    * :meth:`fit_supervised` is not available (the mixture components are hidden);
    * when a "spherical"/"diag" variance collapses to 0 (e.g. a constant feature), ``fit``
      raises ValueError and leaves the model unchanged (hmmlearn goes on with NaN).

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.hmm import GMMHMM
    >>> rs = np.random.RandomState(0)
    >>> X = np.concatenate([rs.normal(0, 1, (200, 1)), rs.normal(8, 1, (200, 1))])
    >>> model = GMMHMM(n_components=2, n_mix=2, random_state=0).fit(X, lengths=[200, 200])
    >>> model.means_.shape, model.weights_.shape, model.covars_.shape
    ((2, 2, 1), (2, 2), (2, 2, 1))
    >>> states = model.predict(X, lengths=[200, 200])
    >>> bool(states[0] != states[399])
    True
    """

    _emission_params = {"w": "weights_", "m": "means_", "c": "covars_"}

    def __init__(self, n_components: int = 1, n_mix: int = 1, min_covar: float = 1e-3,
                 startprob_prior: ArrayLike = 1.0, transmat_prior: ArrayLike = 1.0,
                 weights_prior: ArrayLike = 1.0, means_prior: ArrayLike = 0.0,
                 means_weight: ArrayLike = 0.0, covars_prior: Optional[ArrayLike] = None,
                 covars_weight: Optional[ArrayLike] = None, algorithm: str = "viterbi",
                 covariance_type: str = "diag", random_state: RandomStateLike = None,
                 n_iter: int = 10, tol: float = 1e-2, verbose: bool = False,
                 params: str = "stmcw", init_params: str = "stmcw",
                 implementation: str = "log", *, n_threads: Optional[int] = None) -> None:
        super().__init__(n_components, startprob_prior, transmat_prior, algorithm=algorithm,
                         random_state=random_state, n_iter=n_iter, tol=tol, verbose=verbose,
                         params=params, init_params=init_params,
                         implementation=implementation, n_threads=n_threads)
        self.n_mix = n_mix
        self.min_covar = min_covar
        self.weights_prior = weights_prior
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight
        self.covariance_type = covariance_type

    # -- validation ---------------------------------------------------------------------------
    def _check_covariance_type(self):
        check_covariance_type(self.covariance_type)

    def _validate_params(self):
        super()._validate_params()
        self._check_covariance_type()
        check_int(self.n_mix, "n_mix", 1)

    def _validate_X(self, X, *, fitting):
        arr = as_real_2d(X)
        nf = getattr(self, "n_features", None)
        if fitting:
            reinit = "m" in self.init_params and "c" in self.init_params
            if nf is not None and nf != arr.shape[1] and not reinit:
                raise ValueError(f"Unexpected number of dimensions: `X` has {arr.shape[1]} "
                                 f"features, the model expects n_features = {nf}")
            self.n_features = arr.shape[1]
        elif arr.shape[1] != nf:
            raise ValueError(f"`X` has {arr.shape[1]} features, but this model has "
                             f"n_features = {nf}")
        return arr

    def _check_emissions(self):
        self._check_covariance_type()
        nc = self.n_components
        nm = check_int(self.n_mix, "n_mix", 1)
        self.weights_ = check_stochastic(self.weights_, "weights_", (nc, nm))
        means = np.asarray(self.means_)
        if means.dtype.kind not in "fiu":
            raise TypeError(f"`means_` must be an array of real numbers, got dtype "
                            f"{means.dtype}")
        if means.ndim != 3 or means.shape[:2] != (nc, nm):
            raise ValueError(f"`means_` must have shape (n_components, n_mix, n_features) = "
                             f"({nc}, {nm}, n_features), got {means.shape}")
        if not np.isfinite(means).all():
            raise ValueError("`means_` contains NaN or infinity")
        self.means_ = means.astype(np.float64)
        self.n_features = nf = int(means.shape[2])
        ct = self.covariance_type
        cv = np.asarray(self.covars_)
        want = {"spherical": (nc, nm), "diag": (nc, nm, nf), "full": (nc, nm, nf, nf),
                "tied": (nc, nf, nf)}[ct]
        if cv.dtype.kind not in "fiu":
            raise TypeError(f"`covars_` must be an array of real numbers, got dtype "
                            f"{cv.dtype}")
        if cv.shape != want:
            raise ValueError(f"{ct!r} `covars_` must have shape {want}, got {cv.shape}")
        if not np.isfinite(cv).all():
            raise ValueError("`covars_` contains NaN or infinity")
        cv = cv.astype(np.float64)
        if ct in ("spherical", "diag"):
            if (cv <= 0).any():
                raise ValueError(f"{ct!r} `covars_` must be positive")
        else:
            mats = cv.reshape(-1, nf, nf)
            if not np.allclose(mats, mats.transpose(0, 2, 1)):
                raise ValueError(f"{ct!r} `covars_` must be symmetric")
            if (np.linalg.eigvalsh(mats).min(axis=1) < 0).any():
                raise ValueError(f"{ct!r} `covars_` must be positive definite")
        self.covars_ = cv

    # -- priors -------------------------------------------------------------------------------
    def _priors(self):
        """The priors broadcast to their full shapes, with hmmlearn's defaults for None."""
        nc, nm, nf, ct = self.n_components, self.n_mix, self.n_features, self.covariance_type
        cp, cw = self.covars_prior, self.covars_weight
        # defaults that make the MAP update the maximum-likelihood one
        if cp is None:
            cp = {"full": 0.0, "tied": 0.0, "diag": -1.5,
                  "spherical": -(nm + 2.0) / 2.0}[ct]
        if cw is None:
            cw = {"full": -(1.0 + nf + 1.0), "tied": -(nm + nf + 1.0), "diag": 0.0,
                  "spherical": 0.0}[ct]
        cp_shape = {"full": (nc, nm, nf, nf), "tied": (nc, nf, nf), "diag": (nc, nm, nf),
                    "spherical": (nc, nm)}[ct]
        cw_shape = {"full": (nc, nm), "tied": (nc,), "diag": (nc, nm, nf),
                    "spherical": (nc, nm)}[ct]
        return {
            "w": broadcast_prior(self.weights_prior, (nc, nm), "weights_prior"),
            "mu": broadcast_prior(self.means_prior, (nc, nm, nf), "means_prior"),
            "lam": broadcast_prior(self.means_weight, (nc, nm), "means_weight"),
            "cp": broadcast_prior(cp, cp_shape, "covars_prior"),
            "cw": broadcast_prior(cw, cw_shape, "covars_weight"),
        }

    # -- log-densities ------------------------------------------------------------------------
    def _full_covars(self):
        """Covariance of every component as (n_components * n_mix, nf, nf) matrices."""
        nc, nm, nf, ct = self.n_components, self.n_mix, self.n_features, self.covariance_type
        cv = self.covars_
        if ct == "full":
            return cv.reshape(nc * nm, nf, nf)
        if ct == "tied":
            return np.repeat(cv, nm, axis=0)
        diag = cv if ct == "diag" else np.repeat(cv[:, :, None], nf, axis=2)
        return diag.reshape(nc * nm, nf)[:, :, None] * np.eye(nf)

    def _fit_prepare(self, X):
        # centring keeps the expanded quadratic forms of the statistics accurate
        shift = X.mean(axis=0)
        Xc = X - shift
        n, nf = Xc.shape
        # design matrix [Xc**2 | Xc | 1] ("spherical"/"diag": all statistics are one
        # product) or [Xc | 1] ("full"/"tied": its weighted scatter matrices hold them)
        parts = [Xc * Xc] if self.covariance_type in ("spherical", "diag") else []
        A = np.hstack(parts + [Xc, np.ones((n, 1))])
        return {"shift": shift, "X": Xc, "A": A}

    def _compute_log_likelihood(self, X):
        return self._fit_log_likelihood(self._fit_prepare(X))

    def _fit_log_likelihood(self, prep):
        Xc = prep["X"]
        n, nf = Xc.shape
        nc, nm, ct = self.n_components, self.n_mix, self.covariance_type
        mu = (self.means_ - prep["shift"]).reshape(nc * nm, nf)
        if ct in ("spherical", "diag"):
            var = self.covars_.reshape(nc * nm, -1)
            var = np.broadcast_to(var, (nc * nm, nf))
            prec = 1.0 / var
            # -0.5 * (sum_f (x - mu)^2 / var + log det + nf log 2 pi), expanded in x: one
            # product with the design matrix [Xc^2 | Xc | 1] (BLAS is slow on the thin
            # products of its parts)
            const = -0.5 * (nf * _LOG_2PI + np.log(var).sum(axis=1)
                            + (mu * mu * prec).sum(axis=1))
            dens = prep["A"] @ np.vstack([-0.5 * prec.T, (mu * prec).T, const[None, :]])
        else:
            # every component's density from one product per block of samples
            dens = gaussian_log_density(Xc, mu, cholesky_factors(self._full_covars()))
        with np.errstate(divide="ignore"):
            dens = dens.reshape(n, nc, nm) + np.log(self.weights_)
        # log-sum-exp over the components; the shares exp(dens - top) / total are kept for
        # the responsibilities of the E-step
        # (a loop over the few components: numpy's reductions over a short last axis are
        # several times slower)
        top = dens[:, :, 0].copy()
        for k in range(1, nm):
            np.maximum(top, dens[:, :, k], out=top)
        alive = np.isfinite(top)
        with np.errstate(under="ignore", invalid="ignore"):
            share = np.exp(dens - np.where(alive, top, 0.0)[:, :, None])
        total = share[:, :, 0].copy()
        for k in range(1, nm):
            total += share[:, :, k]
        with np.errstate(divide="ignore"):
            log_em = np.where(alive, top + np.log(total), -np.inf)
        prep["share"], prep["total"] = share, np.where(alive, total, 1.0)
        return log_em

    # -- sufficient statistics and M-step -------------------------------------------------------
    def _emission_stats(self, prep, post):
        if not any(c in self.params for c in "mcw"):
            return {}
        n, nf = prep["X"].shape
        nc, nm = self.n_components, self.n_mix
        # component responsibilities = state posterior x component share
        resp = np.asarray(post)[:, :, None] * (prep["share"] / prep["total"][:, :, None])
        if self.covariance_type in ("full", "tied"):
            # per component, the weighted scatter of [Xc | 1]: sum_i r_i x_i x_i^T, with
            # sum_i r_i x_i and sum_i r_i in its last row
            S = weighted_scatter(prep["A"], resp.reshape(n, nc * nm))
            S0 = S[:, nf, nf].reshape(nc, nm)
            S1 = S[:, nf, :nf].reshape(nc, nm, nf)
        else:
            S = resp.reshape(n, nc * nm).T @ prep["A"]
            S0 = S[:, -1].reshape(nc, nm)
            S1 = S[:, -1 - nf:-1].reshape(nc, nm, nf)
        stats = {"post_mix": S0, "post": np.asarray(post).sum(axis=0), "obs": S1,
                 "shift": prep["shift"]}
        if "c" in self.params:
            # scatter around the current means (hmmlearn's statistic)
            mu = self.means_ - prep["shift"]
            if self.covariance_type in ("spherical", "diag"):
                S2 = S[:, :nf].reshape(nc, nm, nf)
                c_n = S2 - 2.0 * mu * S1 + mu * mu * S0[:, :, None]
                stats["c_n"] = c_n.sum(axis=2) if self.covariance_type == "spherical" else c_n
            else:
                S2 = S[:, :nf, :nf].reshape(nc, nm, nf, nf)
                mo = S1[..., :, None] * mu[..., None, :]
                c_n = (S2 - mo - mo.swapaxes(-1, -2)
                       + S0[:, :, None, None] * mu[..., :, None] * mu[..., None, :])
                stats["c_n"] = c_n.sum(axis=1) if self.covariance_type == "tied" else c_n
        return stats

    def _supervised_emission_stats(self, prep, states):
        raise NotImplementedError("GMMHMM cannot be fitted by counting: the mixture "
                                  "components are hidden; use fit")

    def _do_emission_mstep(self, stats, supervised):
        if not any(c in self.params for c in "mcw"):
            return
        nf = self.n_features
        nm = self.n_mix
        pr = self._priors()
        S0 = stats["post_mix"]
        if "w" in self.params:
            w = np.maximum(S0 + pr["w"] - 1.0, 0.0)
            self.weights_ = normalize_rows(w, self.weights_, "weights_")
        if "m" in self.params:
            shift = stats["shift"]
            m_d = S0 + pr["lam"]
            m_n = pr["lam"][:, :, None] * (pr["mu"] - shift) + stats["obs"]
            empty = m_d == 0
            with np.errstate(invalid="ignore", divide="ignore"):
                means = m_n / m_d[:, :, None] + shift
            if empty.any():
                _log.warning("mixture component(s) %s have no posterior mass; keeping "
                             "their previous means", np.argwhere(empty).tolist())
                means[empty] = self.means_[empty]
            self.means_ = means
        if "c" in self.params:
            ct = self.covariance_type
            lam, cp, cw = pr["lam"], pr["cp"], pr["cw"]
            cm = self.means_ - pr["mu"]
            if ct == "full":
                c_n = (cp.swapaxes(-1, -2) + lam[:, :, None, None] * cm[..., :, None]
                       * cm[..., None, :] + stats["c_n"])
                c_d = (S0 + 1.0 + cw + nf + 1.0)[:, :, None, None]
            elif ct == "diag":
                c_n = lam[:, :, None] * cm ** 2 + 2.0 * cw + stats["c_n"]
                c_d = S0[:, :, None] + 1.0 + 2.0 * (cp + 1.0)
            elif ct == "spherical":
                c_n = lam * np.einsum("...i,...i", cm, cm) + 2.0 * cw + stats["c_n"]
                c_d = nf * (S0 + 1.0) + 2.0 * (cp + 1.0)
            else:
                c_n = (np.einsum("ij,ijk,ijl->ikl", lam, cm, cm) + cp.swapaxes(-1, -2)
                       + stats["c_n"])
                c_d = (stats["post"] + nm + cw + nf + 1.0)[:, None, None]
            c_d = np.broadcast_to(c_d, c_n.shape)
            with np.errstate(invalid="ignore", divide="ignore"):
                cov = c_n / c_d
            empty = c_d == 0
            if empty.any():
                _log.warning("some mixture components have no posterior mass; keeping "
                             "their previous covars_")
                cov[empty] = self.covars_[empty]
            if ct in ("spherical", "diag") and not (cov > 0).all():
                # the next E-step would score every sample as NaN
                raise ValueError("`covars_` collapsed to zero variance (a component fits "
                                 "constant data); set covars_prior / covars_weight to keep "
                                 "the variances positive")
            self.covars_ = cov

    # -- initialisation -----------------------------------------------------------------------
    def _init_emissions(self, X, lengths):
        nc, nm, nf = self.n_components, self.n_mix, X.shape[1]
        self._check_covariance_type()
        cv = (np.atleast_2d(np.cov(X.T)) if X.shape[0] > 1 else np.zeros((nf, nf)))
        cv = cv + self.min_covar * np.eye(nf)
        if self._needs_init("w", "weights_"):
            self.weights_ = np.full((nc, nm), 1.0 / nm)
        if self._needs_init("m", "means_"):
            # k-means on all the data for the states, then on each state's cluster
            centers = initial_means(X, nc, self.random_state)
            d = ((X[:, None, :] - centers[None]) ** 2).sum(axis=2)
            labels = d.argmin(axis=1)
            means = np.empty((nc, nm, nf))
            for k in range(nc):
                members = X[labels == k]
                if members.shape[0] >= nm:
                    means[k] = initial_means(members, nm, self.random_state)
                else:
                    rs = check_random_state(self.random_state)
                    means[k] = rs.multivariate_normal(centers.mean(axis=0), cv, size=nm)
            self.means_ = means
        if self._needs_init("c", "covars_"):
            ct = self.covariance_type
            if ct == "tied":
                self.covars_ = np.tile(cv, (nc, 1, 1))
            elif ct == "full":
                self.covars_ = np.tile(cv, (nc, nm, 1, 1))
            elif ct == "diag":
                self.covars_ = np.tile(np.diag(cv), (nc, nm, 1))
            else:
                # hmmlearn's value (mean of every entry); it can be <= 0 when features are
                # anti-correlated, then the mean variance is used
                value = cv.mean()
                self.covars_ = np.full((nc, nm), value if value > 0 else np.diag(cv).mean())

    def _get_n_fit_scalars_per_param(self):
        nc, nm, nf = self.n_components, self.n_mix, self.n_features
        scalars = super()._get_n_fit_scalars_per_param()
        scalars["m"] = nc * nm * nf
        scalars["c"] = {"spherical": nc * nm, "diag": nc * nm * nf,
                        "full": nc * nm * nf * (nf + 1) // 2,
                        "tied": nc * nf * (nf + 1) // 2}[self.covariance_type]
        scalars["w"] = nc * (nm - 1)
        return scalars

    # -- sampling -----------------------------------------------------------------------------
    def _generate_samples(self, n_samples, rs, currstate):
        nf, nm = self.n_features, self.n_mix
        uniforms, normals = [], []

        def draw(state):
            # the draws of hmmlearn: RandomState.choice, then multivariate_normal
            uniforms.append(rs.random_sample())
            normals.append(rs.standard_normal(nf))

        states = self._sample_states(n_samples, rs, currstate, draw)
        cdf = np.cumsum(self.weights_, axis=1)
        cdf /= cdf[:, -1:]
        u = np.asarray(uniforms)
        comp = np.minimum((cdf[states] <= u[:, None]).sum(axis=1), nm - 1)
        z = np.asarray(normals).reshape(n_samples, nf)
        covs = self._full_covars().reshape(self.n_components, nm, nf, nf)
        X = np.empty((n_samples, nf))
        flat = states * nm + comp
        for key in np.unique(flat):
            s, c = divmod(int(key), nm)
            # the factor numpy's RandomState.multivariate_normal uses
            _, sv, vt = np.linalg.svd(covs[s, c])
            at = flat == key
            X[at] = z[at] @ (np.sqrt(sv)[:, None] * vt) + self.means_[s, c]
        return X, states
