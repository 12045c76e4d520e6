"""Hidden Markov model with Gaussian emissions: hmmlearn's ``GaussianHMM``."""
from __future__ import annotations

import logging
from typing import Optional

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from ._kmeans import initial_means
from ._util import (
    as_real_2d,
    blocked_product,
    blocked_weighted_sums,
    broadcast_prior,
    cholesky_factors,
    design_log_density,
    design_scatter,
    gaussian_log_density,
    quadratic_design,
    weighted_scatter,
)
from .base import BaseHMM, RandomStateLike

__all__ = ["GaussianHMM", "COVARIANCE_TYPES"]

_log = logging.getLogger(__name__)

#: Covariance types of :class:`GaussianHMM`.
#:
#: Examples
#: --------
#: >>> from fastseq.hmm import COVARIANCE_TYPES
#: >>> sorted(COVARIANCE_TYPES)
#: ['diag', 'full', 'spherical', 'tied']
COVARIANCE_TYPES = frozenset(("spherical", "diag", "full", "tied"))


def check_covariance_type(value) -> None:
    """ValueError unless ``value`` is one of :data:`COVARIANCE_TYPES` (GaussianHMM, GMMHMM)."""
    if value not in COVARIANCE_TYPES:
        raise ValueError(f"`covariance_type` must be one of {sorted(COVARIANCE_TYPES)}, got "
                         f"{value!r}")

_LOG_2PI = np.log(2.0 * np.pi)

#: Largest quadratic design matrix (bytes) that a "full"/"tied" fit builds (see
#: ``GaussianHMM._center``); above it the E- and M-steps whiten and scatter block by block
#: instead (slower per iteration, no extra memory). 64 MiB holds 186,000 samples of 8
#: features, 36,000 of 20.
DESIGN_MAX_BYTES = 64 << 20


class GaussianHMM(BaseHMM):
    """Hidden Markov model with Gaussian emissions.

    Parameters
    ----------
    n_components : int, default 1
        Number of states.
    covariance_type : {"spherical", "diag", "full", "tied"}, default "diag"
        ``"spherical"``: one variance per state; ``"diag"``: a diagonal covariance per
        state; ``"full"``: a full covariance per state; ``"tied"``: one full covariance
        shared by all states.
    min_covar : float, default 1e-3
        Added to the diagonal of the data covariance used to initialise :attr:`covars_`.
        As in hmmlearn, it is not applied in the M-step (``covars_prior`` keeps the
        covariances away from zero there).
    startprob_prior : float or array-like of shape (n_components,), default 1.0
        Dirichlet prior on :attr:`startprob_` (``prior - 1`` pseudo-counts; 1.0 = none).
    transmat_prior : float or array-like of shape (n_components, n_components), default 1.0
        Dirichlet prior on each row of :attr:`transmat_`.
    means_prior, means_weight : float or array-like, default 0
        Mean and precision (weight, in pseudo-observations) of the normal prior on
        :attr:`means_`; ``means_prior`` broadcasts to (n_components, n_features),
        ``means_weight`` is a scalar or has shape (n_components,).
    covars_prior : float or array-like, default 1e-2
        Scale of the prior on the covariances: inverse gamma for "spherical"/"diag",
        inverse Wishart for "full"/"tied" (hmmlearn's MAP formulas; a scalar
        ``covars_prior`` is added to every entry of the scatter matrix for "full"/"tied",
        as hmmlearn does).
    covars_weight : float or array-like, default 1
        Weight of that prior; a scalar or has shape (n_components,) (a scalar for
        "tied").
    algorithm : {"viterbi", "map"}, default "viterbi"
        Decoder used by :meth:`decode` / :meth:`predict`.
    random_state : int, numpy.random.RandomState or None, default None
        Source of the random initial parameters (k-means and Dirichlet draws) and of
        :meth:`sample`.
    n_iter : int, default 10
        Maximum number of EM iterations.
    tol : float, default 1e-2
        EM stops when the log-likelihood gains less than this.
    verbose : bool, default False
        Print iteration, log-likelihood and change to stderr at every iteration.
    params, init_params : str, default "stmc"
        Parameters updated by EM (``params``) / initialised before it (``init_params``):
        any of ``'s'`` startprob, ``'t'`` transmat, ``'m'`` means, ``'c'`` covars.
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
    startprob_ : ndarray of shape (n_components,), dtype float64
        Initial state distribution.
    transmat_ : ndarray or scipy.sparse matrix of shape (n_components, n_components)
        Transition probabilities, ``transmat_[i, j]`` = P(i -> j); a sparse matrix lists
        the allowed moves (EM keeps them; every step costs O(nnz)).
    means_ : ndarray of shape (n_components, n_features), dtype float64
        Mean of each state.
    covars_ : ndarray of shape (n_components, n_features, n_features), dtype float64
        Covariance matrix of each state, always as full matrices (hmmlearn's property
        semantics). Set it in the compact form of ``covariance_type``:
        ``(n_components,)`` spherical, ``(n_components, n_features)`` diag,
        ``(n_components, n_features, n_features)`` full, ``(n_features, n_features)``
        tied; the full-matrix form that the property returns is accepted too (it must
        then have the structure of the type), so ``b.covars_ = a.covars_`` works.

    See Also
    --------
    CategoricalHMM : HMM with discrete emissions.
    BaseHMM : The methods (fit, score, decode, sample ...).

    Notes
    -----
    Behaviour that differs from hmmlearn 0.3:

    * "spherical" models store one variance per state, so :attr:`covars_` has shape
      (n_components, n_features, n_features) after fitting (hmmlearn returns
      (n_components * n_features, n_features, n_features) then);
    * the spherical initial variance is the mean of the data variances (hmmlearn averages
      every entry of the covariance matrix, off-diagonal ones included, which can be
      negative);
    * with ``'c'`` but not ``'m'`` in ``params``, the covariance update uses the posterior
      counts (hmmlearn does not accumulate them then and divides by ~0);
    * the initial means come from fastseq's own k-means++ (on at most 100,000 samples),
      so they differ from hmmlearn's (scikit-learn KMeans) for the same seed;
      ``startprob_`` and ``transmat_`` initialisations are the same draws as hmmlearn's;
    * a state with no posterior mass keeps its previous mean/covariance (hmmlearn: NaN);
    * array-valued ``means_weight`` / ``covars_weight`` of shape (n_components,) work
      (hmmlearn documents but mis-broadcasts them);
    * ``decode(algorithm="map")`` returns a log-probability (see :meth:`decode`).

    Examples
    --------
    Sample from a known model, then fit a new one to the samples:

    >>> import numpy as np
    >>> from fastseq.hmm import GaussianHMM
    >>> truth = GaussianHMM(n_components=2, covariance_type="diag")
    >>> truth.startprob_ = np.array([0.5, 0.5])
    >>> truth.transmat_ = np.array([[0.9, 0.1], [0.1, 0.9]])
    >>> truth.means_ = np.array([[1.0, 1.0], [6.0, 6.0]])
    >>> truth.covars_ = np.array([[1.0, 2.0], [0.5, 0.5]])    # the diagonals
    >>> X, states = truth.sample(500, random_state=0)
    >>> model = GaussianHMM(n_components=2, n_iter=50, random_state=0).fit(X)
    >>> model.monitor_.converged
    True
    >>> order = np.argsort(model.means_[:, 0])      # the states come in any order
    >>> model.means_[order].round(1).tolist()
    [[1.0, 1.0], [6.1, 5.9]]
    >>> model.covars_.shape
    (2, 2, 2)
    """

    _emission_params = {"m": "means_", "c": "covars_"}

    def __init__(self, n_components: int = 1, covariance_type: str = "diag",
                 min_covar: float = 1e-3, startprob_prior: ArrayLike = 1.0,
                 transmat_prior: ArrayLike = 1.0, means_prior: ArrayLike = 0,
                 means_weight: ArrayLike = 0, covars_prior: ArrayLike = 1e-2,
                 covars_weight: ArrayLike = 1, algorithm: str = "viterbi",
                 random_state: RandomStateLike = None, n_iter: int = 10, tol: float = 1e-2,
                 verbose: bool = False, params: str = "stmc", init_params: str = "stmc",
                 implementation: str = "log", *, n_threads: Optional[int] = None) -> None:
        super().__init__(n_components, startprob_prior, transmat_prior, algorithm=algorithm,
                         random_state=random_state, n_iter=n_iter, tol=tol, verbose=verbose,
                         params=params, init_params=init_params,
                         implementation=implementation, n_threads=n_threads)
        self.covariance_type = covariance_type
        self.min_covar = min_covar
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight

    # -- covariances --------------------------------------------------------------------------
    def _check_covariance_type(self):
        check_covariance_type(self.covariance_type)

    def _known_n_features(self):
        nf = getattr(self, "n_features", None)
        if nf is None and hasattr(self, "means_"):
            nf = int(np.shape(self.means_)[-1])
        return nf

    @property
    def covars_(self) -> NDArray[np.float64]:
        """Covariance matrices, always as full matrices.

        Reading returns an array of shape (n_components, n_features, n_features) (a
        copy). Assigning accepts the compact form of ``covariance_type`` --
        ``(n_components,)`` spherical, ``(n_components, n_features)`` diag,
        ``(n_components, n_features, n_features)`` full, ``(n_features, n_features)``
        tied -- or the full-matrix form (with the structure of the type); the value is
        validated and stored compactly.

        Returns
        -------
        ndarray of shape (n_components, n_features, n_features), dtype float64
            The covariance matrix of each state.

        Raises
        ------
        AttributeError
            On reading, if the covariances are not set yet (or, for "spherical", neither
            ``n_features`` nor ``means_`` is).
        ValueError
            On assignment, if the value has the wrong shape for ``covariance_type``, holds
            NaN or infinity, or is not positive (definite), or ``covariance_type`` is
            unknown.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.hmm import GaussianHMM
        >>> model = GaussianHMM(n_components=2, covariance_type="diag")
        >>> model.covars_ = np.array([[1.0, 2.0], [0.5, 0.5]])
        >>> model.covars_.shape
        (2, 2, 2)
        >>> model.covars_[0].tolist()
        [[1.0, 0.0], [0.0, 2.0]]
        """
        if "_covars_" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__} has no covars_ yet")
        cv, ct, nc = self._covars_, self.covariance_type, self.n_components
        if ct == "full":
            return cv.copy()
        if ct == "tied":
            return np.tile(cv, (nc, 1, 1))
        if ct == "diag":
            return cv[:, :, None] * np.eye(cv.shape[1])
        nf = self._known_n_features()
        if nf is None:
            raise AttributeError("covars_ of a spherical model needs n_features (set means_ "
                                 "first)")
        return cv[:, None, None] * np.eye(nf)

    @covars_.setter
    def covars_(self, covars: ArrayLike) -> None:
        self._check_covariance_type()
        self._covars_ = _compact_covars(covars, self.covariance_type, self.n_components)

    # -- validation ---------------------------------------------------------------------------
    def _validate_params(self):
        super()._validate_params()
        self._check_covariance_type()

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
        means = np.asarray(self.means_)
        if means.dtype.kind not in "fiu":
            raise TypeError(f"`means_` must be an array of real numbers, got dtype "
                            f"{means.dtype}")
        if means.ndim != 2 or means.shape[0] != nc:
            raise ValueError(f"`means_` must have shape (n_components, n_features) = ({nc}, "
                             f"n_features), got {means.shape}")
        # as hmmlearn: the means decide the number of features
        self.n_features = nf = int(means.shape[1])
        if not np.isfinite(means).all():
            raise ValueError("`means_` contains NaN or infinity")
        self.means_ = means.astype(np.float64)
        cv = self._covars_
        want = {"spherical": (nc,), "diag": (nc, nf), "full": (nc, nf, nf),
                "tied": (nf, nf)}[self.covariance_type]
        if cv.shape != want:
            # the type may have changed since covars_ was set: re-validate
            self._covars_ = _compact_covars(cv, self.covariance_type, nc)
            if self._covars_.shape != want:
                raise ValueError(f"{self.covariance_type!r} covars must have shape {want}, "
                                 f"got {self._covars_.shape}")

    # -- log-densities ------------------------------------------------------------------------
    def _center(self, X, for_stats, shift=None):
        """Centre the data (the densities are translation invariant; centring removes the
        cancellation of the expanded quadratic forms) and cache what the E/M-steps use.

        ``A`` is a design matrix: ``[Xc**2 | Xc | 1]`` for "spherical"/"diag", so that their
        log-densities and all sufficient statistics are ONE matrix product each
        (``log_em = A @ W`` and ``stats = posteriors.T @ A``); ``[Xc | 1]`` for
        "full"/"tied". In fits (``for_stats``) "full"/"tied" get the same trick from the
        quadratic design matrix ``Z = [Xc_i Xc_j (i <= j) | Xc | 1]`` if it fits in
        :data:`DESIGN_MAX_BYTES` and there are at least ``0.4 * n_features`` states
        (``prep["design"]``). The products with ``Z`` stream its ~nf^2/2 columns twice an
        iteration whatever the number of states k, whitening and scattering do ~2 k nf^2
        multiply-adds per sample, so ``Z`` pays from a number of states on; measured
        (per iteration, densities + sums): 100,000 x 8 features 0.65x the time at k=4, 1.2x
        at k=2; 30,000 x 20: 0.7x at k=8, 1.13x at k=4; 1,000 x 120: 1.7x at k=8. The
        first E-step builds it
        (:meth:`_design`), so supervised fits, which only sum once, and scoring, which
        only evaluates once, whiten and scatter instead (cheaper than building ``Z``).
        ``shift`` is the point centred on (default: the mean of ``X``; a fit over parts
        of the data gives all of them the mean of the whole).
        """
        shift = X.mean(axis=0) if shift is None else np.asarray(shift, dtype=np.float64)
        n, nf = X.shape
        prep = {"shift": shift}
        if self.covariance_type in ("spherical", "diag"):
            A = np.empty((n, 2 * nf + 1))
            Xc = np.subtract(X, shift, out=A[:, nf:2 * nf])
            np.multiply(Xc, Xc, out=A[:, :nf])
        else:
            A = np.empty((n, nf + 1))
            Xc = np.subtract(X, shift, out=A[:, :nf])
            prep["design"] = (for_stats and 2 * nf <= 5 * self.n_components and
                              n * (nf * (nf + 1) // 2 + nf + 1) * 8 <= DESIGN_MAX_BYTES)
        A[:, -1] = 1.0
        prep["A"], prep["X"] = A, Xc
        return prep

    @staticmethod
    def _design(prep):
        """The quadratic design matrix of a "full"/"tied" fit, built on first use, and
        ``max |x|`` over the samples (for :func:`design_log_density`'s error bound)."""
        if "Z" not in prep:
            Xc = prep["X"]
            prep["Z"] = quadratic_design(Xc)
            prep["radius"] = float(np.sqrt(np.einsum("ij,ij->i", Xc, Xc).max()))
        return prep["Z"]

    def _fit_prepare(self, X):
        return self._center(X, for_stats=True)

    def _compute_log_likelihood(self, X):
        return self._fit_log_likelihood(self._center(X, for_stats=False))

    def _fit_log_likelihood(self, prep):
        Xc = prep["X"]
        mu = self.means_ - prep["shift"]
        nf = Xc.shape[1]
        ct, cv = self.covariance_type, self._covars_
        if ct in ("spherical", "diag"):
            var = cv[:, None] if ct == "spherical" else cv
            var = np.maximum(np.broadcast_to(var, mu.shape), np.finfo(float).tiny)
            prec = 1.0 / var
            # -0.5 * (sum_f (x - mu)^2 / var + log det + nf log 2 pi), expanded in x
            W = np.empty((2 * nf + 1, self.n_components))
            W[:nf] = -0.5 * prec.T
            W[nf:2 * nf] = (mu * prec).T
            W[-1] = -0.5 * (nf * _LOG_2PI + np.log(var).sum(axis=1)
                            + (mu * mu * prec).sum(axis=1))
            return blocked_product(prep["A"], W)
        # one Cholesky factor per state (one shared for "tied"); the densities of all
        # states come from one product per block of samples
        chols = cholesky_factors(cv[None] if ct == "tied" else cv)
        if prep.get("design"):
            return design_log_density(self._design(prep), mu, chols, prep["radius"])
        return gaussian_log_density(Xc, mu, chols)

    # -- sufficient statistics and M-step -------------------------------------------------------
    def _emission_stats(self, prep, post):
        if "m" not in self.params and "c" not in self.params:
            return {}
        A, nf = prep["A"], prep["X"].shape[1]
        if self.covariance_type in ("full", "tied") and "c" in self.params:
            # per state, the posterior-weighted scatter of [Xc | 1]: sum_i p_ik x_i x_i^T,
            # with sum_i p_ik x_i and sum_i p_ik in its last row
            dense = post.toarray() if sparse.issparse(post) else np.asarray(post)
            S = design_scatter(prep["Z"], dense) if "Z" in prep else weighted_scatter(A, dense)
            return {"post": S[:, nf, nf].copy(), "obs": S[:, nf, :nf].copy(),
                    "obs*obs.T": S[:, :nf, :nf].copy()}
        # every statistic in one product
        S = (np.asarray(post.T @ A) if sparse.issparse(post)
             else blocked_weighted_sums(np.asarray(post), A))
        stats = {"post": S[:, -1].copy(), "obs": S[:, -1 - nf:-1].copy()}
        if "c" in self.params:
            stats["obs**2"] = S[:, :nf].copy()
        return stats

    def _per_state(self, value, name, ndim):
        """A prior parameter as a scalar or an array broadcasting per state over ``ndim``
        dimensions ((n_components,) is taken as one value per state)."""
        arr = np.asarray(value, dtype=np.float64)
        if arr.ndim == 0:
            return float(arr)
        if arr.shape == (self.n_components,):
            return arr.reshape((-1,) + (1,) * (ndim - 1))
        if arr.ndim > ndim:
            raise ValueError(f"`{name}` must be a scalar or have shape (n_components,), got "
                             f"{arr.shape}")
        return arr

    def _do_emission_mstep(self, stats, supervised):
        if "m" not in self.params and "c" not in self.params:
            return
        nc, nf = self.n_components, self.n_features
        shift = stats.get("shift", 0.0)
        post, obs = stats["post"], stats["obs"]
        denom = post[:, None]
        old_means = getattr(self, "means_", None)
        w = self._per_state(self.means_weight, "means_weight", 2)
        m0 = broadcast_prior(self.means_prior, (nc, nf), "means_prior") - shift
        if "m" in self.params:
            total = w + denom
            empty = np.broadcast_to(total == 0, (nc, nf)).any(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                mu = (w * m0 + obs) / total
            if empty.any():
                mu[empty] = self._fallback(old_means, empty, "means_", shift)
        else:
            mu = self.means_ - shift
        if "c" in self.params:
            ct = self.covariance_type
            cw = self._per_state(self.covars_weight, "covars_weight",
                                 2 if ct in ("spherical", "diag") else 3)
            md = mu - m0
            if ct in ("spherical", "diag"):
                cp = self._per_state(self.covars_prior, "covars_prior", 2)
                c_n = w * md ** 2 + stats["obs**2"] - 2.0 * mu * obs + mu ** 2 * denom
                c_d = np.maximum(cw - 1.0, 0.0) + denom
                cov = (cp + c_n) / np.maximum(c_d, 1e-5)
                cov = cov.mean(axis=1) if ct == "spherical" else cov
                empty = np.broadcast_to(c_d == 0, (nc, nf)).any(axis=1)
                if empty.any():  # no data and no prior weight: keep the previous values
                    old = self.__dict__.get("_covars_")
                    cov[empty] = self._fallback(old, empty, "covars_", 0.0)
                self._covars_ = cov
            else:
                w3 = w if np.ndim(w) == 0 else np.reshape(w, (-1, 1, 1))
                mo = obs[:, :, None] * mu[:, None, :]
                c_n = (w3 * md[:, :, None] * md[:, None, :] + stats["obs*obs.T"]
                       - mo - mo.transpose(0, 2, 1) + mu[:, :, None] * mu[:, None, :]
                       * post[:, None, None])
                cvw = np.maximum(cw - nf, 0.0)
                cp = np.asarray(self.covars_prior, dtype=np.float64)
                if ct == "tied":
                    if np.ndim(cvw) != 0:
                        raise ValueError("`covars_weight` must be a scalar for 'tied' "
                                         f"covariances, got shape {np.shape(cvw)}")
                    self._covars_ = (cp + c_n.sum(axis=0)) / (cvw + post.sum())
                else:
                    total = np.broadcast_to(cvw + post[:, None, None], (nc, 1, 1))[:, 0, 0]
                    empty = total == 0
                    with np.errstate(invalid="ignore", divide="ignore"):
                        cov = (cp + c_n) / (cvw + post[:, None, None])
                    if empty.any():
                        old = self.__dict__.get("_covars_")
                        cov[empty] = self._fallback(old, empty, "covars_", 0.0)
                    self._covars_ = cov
        self.means_ = mu + shift

    def _fallback(self, old, empty, name, shift):
        states = np.flatnonzero(empty).tolist()
        if old is None or np.shape(old)[0] != self.n_components:
            raise ValueError(f"state(s) {states} have no samples (posterior mass 0), so their "
                             f"{name} cannot be estimated; set {name} first or use a prior")
        _log.warning("state(s) %s have no posterior mass; keeping their previous %s",
                     states, name)
        return np.asarray(old, dtype=np.float64)[empty] - shift

    def _do_estep(self, prep, lengths):
        stats, log_prob = super()._do_estep(prep, lengths)
        stats["shift"] = prep["shift"]
        return stats, log_prob

    def _supervised_emission_stats(self, prep, states):
        stats = super()._supervised_emission_stats(prep, states)
        stats["shift"] = prep["shift"]
        return stats

    # -- initialisation -----------------------------------------------------------------------
    def _init_emissions(self, X, lengths):
        nc, nf = self.n_components, X.shape[1]
        if self._needs_init("m", "means_"):
            self.means_ = initial_means(X, nc, self.random_state)
        if self._needs_init("c", "covars_"):
            if X.shape[0] > 1:
                cv = np.atleast_2d(np.cov(X.T))
            else:
                cv = np.zeros((nf, nf))
            cv = cv + self.min_covar * np.eye(nf)
            ct = self.covariance_type
            if ct == "spherical":
                self._covars_ = np.full(nc, np.diag(cv).mean())
            elif ct == "diag":
                self._covars_ = np.tile(np.diag(cv), (nc, 1))
            elif ct == "full":
                self._covars_ = np.tile(cv, (nc, 1, 1))
            else:
                self._covars_ = cv

    def _get_n_fit_scalars_per_param(self):
        nc, nf = self.n_components, self.n_features
        scalars = super()._get_n_fit_scalars_per_param()
        scalars["m"] = nc * nf
        scalars["c"] = {"spherical": nc, "diag": nc * nf, "full": nc * nf * (nf + 1) // 2,
                        "tied": nf * (nf + 1) // 2}[self.covariance_type]
        return scalars

    def _generate_samples(self, n_samples, rs, currstate):
        nf = self.n_features
        draws = []
        states = self._sample_states(n_samples, rs, currstate,
                                     lambda s: draws.append(rs.standard_normal(nf)))
        z = np.asarray(draws).reshape(n_samples, nf)
        X = np.empty((n_samples, nf))
        covs = self.covars_
        for s in np.unique(states):
            # the factor numpy's RandomState.multivariate_normal uses (as hmmlearn samples)
            _, sv, vt = np.linalg.svd(covs[s])
            at = states == s
            X[at] = z[at] @ (np.sqrt(sv)[:, None] * vt) + self.means_[s]
        return X, states



def _is_pd(mat):
    if not np.allclose(mat, mat.T):
        return False
    try:
        np.linalg.cholesky(mat)
    except np.linalg.LinAlgError:
        return False
    return True


def _compact_covars(covars, covariance_type, n_components):
    """Validate ``covars`` for ``covariance_type`` and return its compact form."""
    cv = np.array(covars, dtype=np.float64, copy=True)
    ct, nc = covariance_type, n_components
    if not np.isfinite(cv).all():
        raise ValueError("`covars_` contains NaN or infinity")
    full3 = cv.ndim == 3 and cv.shape[0] == nc and cv.shape[1] == cv.shape[2]
    if ct == "spherical":
        if cv.ndim == 2 and cv.shape[0] == nc and np.allclose(cv, cv[:, :1]):
            cv = cv[:, 0].copy()
        elif full3 and np.allclose(cv, cv[:, :1, :1] * np.eye(cv.shape[1])):
            cv = cv[:, 0, 0].copy()
        elif cv.ndim > 1 and cv.shape[0] == nc and cv.size == nc:
            cv = cv.reshape(nc)  # one variance per state in any shape, as hmmlearn accepts
        if cv.shape != (nc,):
            raise ValueError(f"'spherical' covars must have shape (n_components,) = ({nc},), "
                             f"got {np.shape(covars)}")
        if (cv <= 0).any():
            raise ValueError("'spherical' covars must be positive")
    elif ct == "diag":
        if full3 and np.allclose(cv, cv * np.eye(cv.shape[1])):
            cv = np.diagonal(cv, axis1=1, axis2=2).copy()
        if cv.ndim != 2 or cv.shape[0] != nc:
            raise ValueError(f"'diag' covars must have shape (n_components, n_features) = "
                             f"({nc}, n_features), got {np.shape(covars)}")
        if (cv <= 0).any():
            raise ValueError("'diag' covars must be positive")
    elif ct == "full":
        if not full3:
            raise ValueError(f"'full' covars must have shape (n_components, n_features, "
                             f"n_features) = ({nc}, n, n), got {np.shape(covars)}")
        for k, mat in enumerate(cv):
            if not _is_pd(mat):
                raise ValueError(f"component {k} of 'full' covars must be symmetric, "
                                 "positive-definite")
    elif ct == "tied":
        if full3 and np.allclose(cv, cv[:1]):
            cv = cv[0].copy()
        if cv.ndim != 2 or cv.shape[0] != cv.shape[1]:
            raise ValueError(f"'tied' covars must have shape (n_features, n_features), got "
                             f"{np.shape(covars)}")
        if not _is_pd(cv):
            raise ValueError("'tied' covars must be symmetric, positive-definite")
    else:
        check_covariance_type(covariance_type)
    return cv
