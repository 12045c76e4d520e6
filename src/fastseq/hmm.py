"""Hidden Markov models with hmmlearn's API, trained on fastseq's batched kernels.

:class:`CategoricalHMM` (discrete symbols) and :class:`GaussianHMM` (covariance types
``"spherical"``, ``"diag"``, ``"full"``, ``"tied"``) take hmmlearn 0.3's constructor
arguments and expose its methods and fitted attributes with the same names, shapes and data
layout (``X`` of shape ``(n_samples, n_features)``, all sequences concatenated, plus
``lengths``), so switching is a change of import::

    from fastseq.hmm import GaussianHMM      # was: from hmmlearn.hmm import GaussianHMM

What is different:

* one Baum-Welch iteration is ONE parallel kernel call over all sequences
  (:func:`fastseq.marginals` with ``pairwise=True``) plus a vectorised M-step -- no Python
  loop over sequences or time. ``n_threads`` (last argument) sets the thread count
  (``None`` = all cores this process may use; results are identical for any value);
* ``fit_supervised(X, states, lengths)`` estimates the parameters by counting;
* ``implementation`` is accepted ("log" or "scaling") but both run the same exact kernels;
* the odd spots of hmmlearn that are bugs are fixed; each class docstring lists them.
"""
from __future__ import annotations

import numpy as np
from scipy import linalg, sparse

from . import ops
from .base import (
    DECODER_ALGORITHMS,
    BaseHMM,
    ConvergenceMonitor,
    NotFittedError,
    _as_real_2d,
    _broadcast_prior,
    _check_int,
    _check_stochastic,
    _log,
    _normalize_rows,
    _safe_log,
    check_random_state,
)

__all__ = ["CategoricalHMM", "GaussianHMM", "ConvergenceMonitor", "NotFittedError",
           "COVARIANCE_TYPES", "DECODER_ALGORITHMS"]

#: Covariance types of :class:`GaussianHMM`.
COVARIANCE_TYPES = frozenset(("spherical", "diag", "full", "tied"))

_LOG_2PI = np.log(2.0 * np.pi)
# k-means for the initial means runs on at most this many samples
_KMEANS_MAX_SAMPLES = 100_000
# build the (n_samples, n_features**2) outer-product matrix for full/tied statistics only
# below this many elements; otherwise loop over the states
_OUTER_MAX_ELEMENTS = 1 << 23


# ---------------------------------------------------------------------------------------------
# CategoricalHMM
# ---------------------------------------------------------------------------------------------

class CategoricalHMM(BaseHMM):
    """Hidden Markov model with categorical (discrete) emissions.

    Parameters
    ----------
    n_components : int
        Number of states.
    startprob_prior : float or array, shape (n_components,)
        Dirichlet prior on :attr:`startprob_` (``prior - 1`` pseudo-counts; 1.0 = none).
    transmat_prior : float or array, shape (n_components, n_components)
        Dirichlet prior on each row of :attr:`transmat_`.
    emissionprob_prior : float or array, shape (n_components, n_features)
        Dirichlet prior on each row of :attr:`emissionprob_`.
    n_features : int, optional
        Number of symbols. Inferred when fitting (largest symbol + 1, or the width of a
        given ``emissionprob_``) when not set.
    algorithm : {"viterbi", "map"}
        Decoder used by :meth:`decode` / :meth:`predict`.
    random_state : RandomState or an int seed, optional
        Source of the random initial parameters and of :meth:`sample`.
    n_iter : int
        Maximum number of EM iterations.
    tol : float
        EM stops when the log-likelihood gains less than this.
    verbose : bool
        Print iteration, log-likelihood and change to stderr at every iteration.
    params, init_params : str
        Parameters updated by EM (``params``) / initialised before it (``init_params``):
        any of ``'s'`` startprob, ``'t'`` transmat, ``'e'`` emissionprob.
    implementation : {"log", "scaling"}
        Accepted for compatibility; both use fastseq's exact kernels.
    n_threads : int, optional
        Threads of the kernels (``None`` = every core this process may use, ``-1`` = all).

    Attributes
    ----------
    n_features : int
        Number of symbols.
    monitor_ : ConvergenceMonitor
        Convergence monitor of the last :meth:`fit`.
    startprob_ : array, shape (n_components,)
        Initial state distribution.
    transmat_ : array, shape (n_components, n_components)
        Transition probabilities, ``transmat_[i, j]`` = P(i -> j).
    emissionprob_ : array, shape (n_components, n_features)
        ``emissionprob_[i, k]`` = probability of symbol k in state i.

    Notes
    -----
    ``X`` has shape ``(n_samples, 1)`` and holds non-negative integer symbols (a 1-D array is
    accepted too). Behaviour that differs from hmmlearn 0.3:

    * float ``X`` is refused (as hmmlearn), and a symbol ``>= n_features`` is a ValueError
      when scoring too (hmmlearn raises an IndexError there);
    * with ``init_params`` lacking ``'e'``, ``n_features`` comes from the given
      ``emissionprob_`` (hmmlearn takes it from the data and then rejects an
      ``emissionprob_`` wider than the largest observed symbol);
    * in EM, a state with no expected transitions (emissions) keeps its previous row
      instead of getting an all-zero one (which hmmlearn then rejects when scoring);
    * ``fit`` does not replace ``random_state`` by a RandomState object;
    * ``decode(algorithm="map")`` returns a log-probability (see :meth:`decode`).
    Like hmmlearn, ``fit`` sets ``n_features`` when it is ``None``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.hmm import CategoricalHMM
    >>> X = np.random.RandomState(0).randint(0, 4, size=(500, 1))
    >>> model = CategoricalHMM(n_components=2, random_state=0).fit(X, lengths=[200, 300])
    >>> model.emissionprob_.shape
    (2, 4)
    """

    _emission_params = {"e": "emissionprob_"}

    def __init__(self, n_components=1, startprob_prior=1.0, transmat_prior=1.0, *,
                 emissionprob_prior=1.0, n_features=None, algorithm="viterbi",
                 random_state=None, n_iter=10, tol=1e-2, verbose=False, params="ste",
                 init_params="ste", implementation="log", n_threads=None):
        super().__init__(n_components, startprob_prior, transmat_prior, algorithm=algorithm,
                         random_state=random_state, n_iter=n_iter, tol=tol, verbose=verbose,
                         params=params, init_params=init_params,
                         implementation=implementation, n_threads=n_threads)
        self.emissionprob_prior = emissionprob_prior
        self.n_features = n_features

    # -- validation ---------------------------------------------------------------------------
    def _validate_X(self, X, *, fitting):
        arr = ops.as_numpy(X, "X")
        if arr.dtype.kind == "f":
            raise ValueError(f"`X` must hold integer symbols (CategoricalHMM), got dtype "
                             f"{arr.dtype}; encode the data, e.g. with "
                             "sklearn.preprocessing.LabelEncoder")
        if arr.dtype.kind not in "iu":
            raise TypeError(f"`X` must be an integer array of symbols, got dtype {arr.dtype}")
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        elif arr.ndim != 1:
            raise ValueError(f"`X` must have shape (n_samples, 1) (or (n_samples,)) for "
                             f"CategoricalHMM, got {arr.shape}")
        if arr.shape[0] == 0:
            raise ValueError("`X` must contain at least one sample, got 0")
        x = np.ascontiguousarray(arr, dtype=np.int64)
        lo, hi = int(x.min()), int(x.max())
        if lo < 0:
            raise ValueError(f"`X` must hold non-negative symbols, got {lo}")
        nf = self.n_features
        if nf is not None:
            nf = _check_int(nf, "n_features", 1)
        elif fitting and "e" not in self.init_params and hasattr(self, "emissionprob_"):
            nf = int(np.shape(self.emissionprob_)[-1])
        if nf is None:
            if not fitting:  # pragma: no cover - _check sets n_features first
                raise NotFittedError("n_features is unknown; fit the model first")
            nf = hi + 1
        elif hi >= nf:
            raise ValueError(f"Largest symbol in `X` is {hi} but the model only emits symbols "
                             f"up to {nf - 1} (n_features = {nf})")
        if fitting:
            self.n_features = nf
        return x

    def _check_emissions(self):
        ep = np.asarray(self.emissionprob_)
        if ep.ndim == 1:
            ep = ep[None, :]
        if self.n_features is None:
            self.n_features = int(ep.shape[-1])
        nf = _check_int(self.n_features, "n_features", 1)
        self.emissionprob_ = _check_stochastic(ep, "emissionprob_", (self.n_components, nf))

    # -- emissions ----------------------------------------------------------------------------
    def _compute_log_likelihood(self, X):
        X = np.asarray(X)
        X = X[:, 0] if X.ndim == 2 else X   # (n_samples, 1) as hmmlearn passes it
        log_b = np.ascontiguousarray(_safe_log(self.emissionprob_).T)  # (nf, nc)
        return np.take(log_b, X, axis=0)

    def _fit_prepare(self, X):
        n = X.shape[0]
        onehot = sparse.csr_matrix((np.ones(n), (X, np.arange(n))),
                                   shape=(self.n_features, n))
        return X, onehot

    def _fit_log_likelihood(self, prep):
        return self._compute_log_likelihood(prep[0])

    def _emission_stats(self, prep, post):
        if "e" not in self.params:
            return {}
        return {"obs": np.asarray(prep[1] @ post).T}

    def _supervised_emission_stats(self, prep, states):
        nc, nf = self.n_components, self.n_features
        counts = np.bincount(states * nf + prep[0], minlength=nc * nf)
        return {"obs": counts.reshape(nc, nf).astype(np.float64)}

    def _do_emission_mstep(self, stats, supervised):
        if "e" not in self.params:
            return
        shape = (self.n_components, self.n_features)
        prior = _broadcast_prior(self.emissionprob_prior, shape, "emissionprob_prior")
        counts = np.maximum(prior - 1.0 + stats["obs"], 0.0)
        self.emissionprob_ = _normalize_rows(
            counts, None if supervised else self.emissionprob_, "emissionprob_")

    def _init_emissions(self, X, lengths):
        if self._needs_init("e", "emissionprob_"):
            rs = check_random_state(self.random_state)
            self.emissionprob_ = _normalize_rows(
                rs.rand(self.n_components, self.n_features), None, "emissionprob_")

    def _get_n_fit_scalars_per_param(self):
        scalars = super()._get_n_fit_scalars_per_param()
        scalars["e"] = self.n_components * (self.n_features - 1)
        return scalars

    def _generate_samples(self, n_samples, rs, currstate):
        draws = []
        states = self._sample_states(n_samples, rs, currstate, lambda s: draws.append(rs.rand()))
        u = np.asarray(draws)
        cdf = np.cumsum(self.emissionprob_, axis=1)
        symbols = np.empty(n_samples, dtype=np.int64)
        for s in np.unique(states):
            at = states == s
            sym = np.searchsorted(cdf[s], u[at], side="right")
            symbols[at] = np.minimum(sym, np.flatnonzero(self.emissionprob_[s] > 0)[-1])
        return symbols[:, None], states


# ---------------------------------------------------------------------------------------------
# GaussianHMM
# ---------------------------------------------------------------------------------------------

class GaussianHMM(BaseHMM):
    """Hidden Markov model with Gaussian emissions.

    Parameters
    ----------
    n_components : int
        Number of states.
    covariance_type : {"spherical", "diag", "full", "tied"}
        ``"spherical"``: one variance per state; ``"diag"``: a diagonal covariance per
        state; ``"full"``: a full covariance per state; ``"tied"``: one full covariance
        shared by all states.
    min_covar : float
        Added to the diagonal of the data covariance used to initialise :attr:`covars_`.
        As in hmmlearn, it is not applied in the M-step (``covars_prior`` keeps the
        covariances away from zero there).
    startprob_prior : float or array, shape (n_components,)
        Dirichlet prior on :attr:`startprob_`.
    transmat_prior : float or array, shape (n_components, n_components)
        Dirichlet prior on each row of :attr:`transmat_`.
    means_prior, means_weight : float or array
        Mean and precision (weight, in pseudo-observations) of the normal prior on
        :attr:`means_`; ``means_prior`` broadcasts to (n_components, n_features),
        ``means_weight`` is a scalar or has shape (n_components,).
    covars_prior, covars_weight : float or array
        Parameters of the prior on the covariances: inverse gamma for "spherical"/"diag",
        inverse Wishart for "full"/"tied" (hmmlearn's MAP formulas; a scalar
        ``covars_prior`` is added to every entry of the scatter matrix for "full"/"tied",
        as hmmlearn does). ``covars_weight`` is a scalar or has shape (n_components,).
    algorithm, random_state, n_iter, tol, verbose, implementation, n_threads
        As for :class:`CategoricalHMM`.
    params, init_params : str
        Any of ``'s'`` startprob, ``'t'`` transmat, ``'m'`` means, ``'c'`` covars.

    Attributes
    ----------
    n_features : int
        Dimensionality of the emissions.
    monitor_ : ConvergenceMonitor
        Convergence monitor of the last :meth:`fit`.
    startprob_ : array, shape (n_components,)
    transmat_ : array, shape (n_components, n_components)
    means_ : array, shape (n_components, n_features)
        Mean of each state.
    covars_ : array, shape (n_components, n_features, n_features)
        Covariance matrix of each state, always as full matrices (hmmlearn's property
        semantics). Set it in the compact form of ``covariance_type``:
        ``(n_components,)`` spherical, ``(n_components, n_features)`` diag,
        ``(n_components, n_features, n_features)`` full, ``(n_features, n_features)``
        tied; the full-matrix form that the property returns is accepted too (it must
        then have the structure of the type), so ``b.covars_ = a.covars_`` works.

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
      startprob_ and transmat_ initialisations are the same draws as hmmlearn's;
    * a state with no posterior mass keeps its previous mean/covariance (hmmlearn: NaN);
    * array-valued ``means_weight`` / ``covars_weight`` of shape (n_components,) work
      (hmmlearn documents but mis-broadcasts them);
    * ``decode(algorithm="map")`` returns a log-probability (see :meth:`decode`).
    """

    _emission_params = {"m": "means_", "c": "covars_"}

    def __init__(self, n_components=1, covariance_type="diag", min_covar=1e-3,
                 startprob_prior=1.0, transmat_prior=1.0, means_prior=0, means_weight=0,
                 covars_prior=1e-2, covars_weight=1, algorithm="viterbi", random_state=None,
                 n_iter=10, tol=1e-2, verbose=False, params="stmc", init_params="stmc",
                 implementation="log", *, n_threads=None):
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
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"`covariance_type` must be one of {sorted(COVARIANCE_TYPES)}, "
                             f"got {self.covariance_type!r}")

    def _known_n_features(self):
        nf = getattr(self, "n_features", None)
        if nf is None and hasattr(self, "means_"):
            nf = int(np.shape(self.means_)[-1])
        return nf

    @property
    def covars_(self):
        """Covariance matrices, shape (n_components, n_features, n_features)."""
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
    def covars_(self, covars):
        self._check_covariance_type()
        self._covars_ = _compact_covars(covars, self.covariance_type, self.n_components)

    # -- validation ---------------------------------------------------------------------------
    def _validate_params(self):
        super()._validate_params()
        self._check_covariance_type()

    def _validate_X(self, X, *, fitting):
        arr = _as_real_2d(X)
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
        if getattr(self, "n_features", None) is None:
            self.n_features = int(means.shape[1])
        nf = self.n_features
        if means.shape != (nc, nf):
            raise ValueError(f"`means_` must have shape (n_components, n_features) = "
                             f"({nc}, {nf}), got {means.shape}")
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
    def _center(self, X, for_stats):
        """Centre the data (the densities are translation invariant; centring removes the
        cancellation of the expanded quadratic forms) and cache what the E/M-steps use.

        ``A`` is a design matrix ``[second-order terms | Xc | 1]`` so that the diagonal
        log-densities and all sufficient statistics are ONE matrix product each:
        ``log_em = A @ W`` and ``stats = posteriors.T @ A``.
        """
        shift = X.mean(axis=0)
        n, nf = X.shape
        prep = {"shift": shift}
        if self.covariance_type in ("spherical", "diag"):
            A = np.empty((n, 2 * nf + 1))
            Xc = np.subtract(X, shift, out=A[:, nf:2 * nf])
            np.multiply(Xc, Xc, out=A[:, :nf])
        elif for_stats and "c" in self.params and n * nf * nf <= _OUTER_MAX_ELEMENTS:
            A = np.empty((n, nf * nf + nf + 1))
            Xc = np.subtract(X, shift, out=A[:, nf * nf:nf * nf + nf])
            np.multiply(Xc[:, :, None], Xc[:, None, :],
                        out=A[:, :nf * nf].reshape(n, nf, nf))
        else:
            A = np.empty((n, nf + 1))
            Xc = np.subtract(X, shift, out=A[:, :nf])
        A[:, -1] = 1.0
        prep["A"], prep["X"] = A, Xc
        return prep

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
            return prep["A"] @ W
        out = np.empty((Xc.shape[0], self.n_components))
        covs = np.broadcast_to(cv, (self.n_components, nf, nf)) if ct == "tied" else cv
        chols = [_cholesky(c) for c in (covs[:1] if ct == "tied" else covs)]
        eye = np.eye(nf)
        # whitening factors W = chol^-1 (tiny nf x nf solves), then one gemm per state
        whiten = [linalg.solve_triangular(c, eye, lower=True, check_finite=False)
                  for c in chols]
        log_dets = [2.0 * np.log(np.diagonal(c)).sum() for c in chols]
        for k in range(self.n_components):
            j = 0 if ct == "tied" else k
            y = (Xc - mu[k]) @ whiten[j].T
            out[:, k] = -0.5 * (nf * _LOG_2PI + np.einsum("ij,ij->i", y, y) + log_dets[j])
        return out

    # -- sufficient statistics and M-step -------------------------------------------------------
    def _emission_stats(self, prep, post):
        if "m" not in self.params and "c" not in self.params:
            return {}
        A, Xc = prep["A"], prep["X"]
        nc, nf = self.n_components, Xc.shape[1]
        S = np.asarray(post.T @ A)        # every statistic in one product
        stats = {"post": S[:, -1].copy(), "obs": S[:, -1 - nf:-1].copy()}
        if "c" in self.params:
            if self.covariance_type in ("spherical", "diag"):
                stats["obs**2"] = S[:, :nf].copy()
            elif A.shape[1] == nf * nf + nf + 1:
                stats["obs*obs.T"] = S[:, :nf * nf].reshape(nc, nf, nf)
            else:
                dense = post.toarray() if sparse.issparse(post) else post
                stats["obs*obs.T"] = np.stack(
                    [(Xc * dense[:, k:k + 1]).T @ Xc for k in range(nc)])
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
        m0 = _broadcast_prior(self.means_prior, (nc, nf), "means_prior") - shift
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
            self.means_ = _kmeans(X, nc, check_random_state(self.random_state))
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


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

def _cholesky(cov):
    """Lower Cholesky factor; retries with 1e-7 on the diagonal (as hmmlearn)."""
    try:
        return linalg.cholesky(cov, lower=True, check_finite=False)
    except linalg.LinAlgError:
        try:
            return linalg.cholesky(cov + 1e-7 * np.eye(cov.shape[0]), lower=True,
                                   check_finite=False)
        except linalg.LinAlgError:
            raise ValueError("`covars_` must be symmetric, positive-definite") from None


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
        raise ValueError(f"`covariance_type` must be one of {sorted(COVARIANCE_TYPES)}, got "
                         f"{covariance_type!r}")
    return cv


def _sq_dist(X, x2, C):
    return np.maximum(x2[:, None] - 2.0 * (X @ C.T) + (C * C).sum(axis=1), 0.0)


def _kmeans_pp(X, x2, k, rs):
    """Greedy k-means++ seeding."""
    n = X.shape[0]
    n_trials = 2 + int(np.log(k))
    centers = [int(rs.randint(n))]
    closest = _sq_dist(X, x2, X[centers])[:, 0]
    for _ in range(1, k):
        total = closest.sum()
        if total <= 0:
            rest = np.setdiff1d(np.arange(n), centers)
            centers.append(int(rs.choice(rest)) if rest.size else int(rs.randint(n)))
            continue
        cand = np.searchsorted(np.cumsum(closest), rs.rand(n_trials) * total)
        cand = np.minimum(cand, n - 1)
        d = np.minimum(closest[:, None], _sq_dist(X, x2, X[cand]))
        best = int(np.argmin(d.sum(axis=0)))
        centers.append(int(cand[best]))
        closest = d[:, best]
    return X[centers].copy()


def _kmeans(X, k, rs, n_init=3, max_iter=100, tol=1e-4):
    """k-means (k-means++ seeding, Lloyd iterations, best of ``n_init``) for the initial
    means; runs on a random subset of at most ``_KMEANS_MAX_SAMPLES`` samples."""
    n = X.shape[0]
    if n < k:
        raise ValueError(f"`X` has {n} samples but n_components = {k}: k-means initialisation "
                         "of means_ needs at least one sample per state (set means_ yourself "
                         "and remove 'm' from init_params)")
    if n > _KMEANS_MAX_SAMPLES:
        X = X[np.sort(rs.choice(n, _KMEANS_MAX_SAMPLES, replace=False))]
    center = X.mean(axis=0)
    Xc = X - center
    x2 = (Xc * Xc).sum(axis=1)
    threshold = tol * Xc.var(axis=0).mean()
    best, best_inertia = None, np.inf
    for _ in range(n_init):
        C = _kmeans_pp(Xc, x2, k, rs)
        for _ in range(max_iter):
            d = _sq_dist(Xc, x2, C)
            labels = d.argmin(axis=1)
            counts = np.bincount(labels, minlength=k)
            onehot = sparse.csr_matrix((np.ones(labels.size), (labels, np.arange(labels.size))),
                                       shape=(k, labels.size))
            sums = np.asarray(onehot @ Xc)
            new = C.copy()
            filled = counts > 0
            new[filled] = sums[filled] / counts[filled, None]
            if not filled.all():  # re-seed empty clusters at the farthest samples
                far = np.argsort(d.min(axis=1))[::-1][: int((~filled).sum())]
                new[~filled] = Xc[far]
            moved = ((new - C) ** 2).sum()
            C = new
            if moved <= threshold:
                break
        inertia = _sq_dist(Xc, x2, C).min(axis=1).sum()
        if inertia < best_inertia:
            best, best_inertia = C, inertia
    return best + center
