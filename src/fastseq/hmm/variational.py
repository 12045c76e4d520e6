"""Variational Bayes HMMs: hmmlearn's ``VariationalCategoricalHMM`` and
``VariationalGaussianHMM``.

Instead of point estimates, these models keep conjugate posterior distributions over their
parameters (Dirichlet for the start, transition and categorical emission probabilities,
Normal-Wishart for the Gaussian means and precisions) and fit them by maximising the
evidence lower bound. Each iteration's E-step is the same single batched kernel call as
Baum-Welch's, run on the *sub-normalised* expected log-parameters
(``E[log startprob]``, ``E[log transmat]``, ``E[log P(x | state)]``); the lower bound is
its log-normaliser minus the Kullback-Leibler divergences of the posteriors from the
priors.
"""
from __future__ import annotations

import logging
from typing import Dict, Optional, Tuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import linalg
from scipy.special import digamma, gammaln

from .._validation import check_int, check_random_state
from ..exceptions import NotFittedError
from ._kmeans import initial_means
from .base import BaseHMM, RandomStateLike
from .categorical import CategoricalHMM
from .gaussian import GaussianHMM, check_covariance_type

__all__ = ["VariationalCategoricalHMM", "VariationalGaussianHMM"]

_log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# distributions
# ---------------------------------------------------------------------------------------------

def _dirichlet_log_mean(alpha):
    """``E[log p]`` under Dirichlet(``alpha``), along the last axis."""
    return digamma(alpha) - digamma(alpha.sum(axis=-1, keepdims=True))


def _kl_dirichlet(q, p):
    """Sum over the rows of KL(Dirichlet(q) || Dirichlet(p)) (rows along the last axis)."""
    q_sum, p_sum = q.sum(axis=-1), p.sum(axis=-1)
    kl = (gammaln(q_sum) - gammaln(p_sum) - (gammaln(q) - gammaln(p)).sum(axis=-1)
          + ((q - p) * (digamma(q) - digamma(q_sum)[..., None])).sum(axis=-1))
    return float(np.sum(kl))


def _log_det(mats):
    """log-determinants of a stack of positive-definite matrices."""
    return np.linalg.slogdet(mats)[1]


def _kl_wishart(dof_q, scale_q, dof_p, scale_p):
    """KL(Wishart(dof_q, scale_q) || Wishart(dof_p, scale_p)) for stacks of (inverse) scale
    matrices, in the parameterisation of Ji, Krishnapuram and Carin (2006) that hmmlearn
    uses; returns one value per matrix."""
    d = scale_q.shape[-1]
    half = np.arange(d) / 2.0
    ld_q = _log_det(scale_q) - d * np.log(2.0)          # log det(scale / 2)
    ld_p = _log_det(scale_p) - d * np.log(2.0)
    e_q = -ld_q + digamma(dof_q[..., None] / 2.0 - half).sum(axis=-1)
    const = d * (d - 1) / 4.0 * np.log(np.pi)
    log_z_q = const - dof_q / 2.0 * ld_q + gammaln(dof_q[..., None] / 2.0 - half).sum(axis=-1)
    log_z_p = const - dof_p / 2.0 * ld_p + gammaln(dof_p[..., None] / 2.0 - half).sum(axis=-1)
    trace = np.trace(np.linalg.solve(scale_q, scale_p), axis1=-2, axis2=-1)
    return ((dof_q - dof_p) / 2.0 * e_q - d * dof_q / 2.0 + dof_q / 2.0 * trace
            + log_z_p - log_z_q)


def _real_array(value, name, shape):
    """``value`` as a finite float64 array of exactly ``shape`` (ValueError naming it)."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be an array of real numbers, got "
                        f"{type(value).__name__}") from None
    if arr.shape != shape:
        raise ValueError(f"`{name}` must have shape {shape}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"`{name}` contains NaN or infinity")
    return arr


def _positive_array(value, name, shape, above=0.0):
    arr = _real_array(value, name, shape)
    if (arr <= above).any():
        raise ValueError(f"`{name}` must be > {above:g}, got minimum {arr.min()!r}")
    return arr


def _broadcast(value, shape, name):
    """A prior argument (scalar or array) broadcast to ``shape``, as a new array."""
    try:
        return np.array(np.broadcast_to(np.asarray(value, dtype=np.float64), shape))
    except ValueError:
        raise ValueError(f"`{name}` must be a scalar or broadcast to shape {shape}, got "
                         f"shape {np.shape(value)}") from None


# ---------------------------------------------------------------------------------------------
# the shared variational machinery
# ---------------------------------------------------------------------------------------------

class _Variational(BaseHMM):
    """Variational start and transition posteriors, the lower bound and the derived
    parameters; the emission model comes from the second base class."""

    #: posterior/prior attributes of each ``params`` letter (subclasses add the emissions)
    _groups: Dict[str, Tuple[str, ...]] = {
        "s": ("startprob_prior_", "startprob_posterior_"),
        "t": ("transmat_prior_", "transmat_posterior_"),
    }

    def _supervised_emission_stats(self, prep, states):
        raise NotImplementedError(f"{type(self).__name__} has no fit_supervised: its "
                                  "parameters are posterior distributions; use fit")

    def _check_fitted(self):
        missing = [n for names in self._groups.values() for n in names if not hasattr(self, n)]
        if missing:
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet (missing "
                f"{', '.join(missing)}); call fit or set them by hand")

    def _needs_init_group(self, code, names):
        # as hmmlearn: the whole group is (re)initialised when its letter is in
        # init_params or any of its attributes is missing
        return any(self._needs_init(code, name) for name in names)

    def _init(self, X, lengths):
        nc = self.n_components
        if getattr(self, "n_features", None) is None:  # _init called directly, as in hmmlearn
            self._check_and_set_n_features(X)
        lengths = np.asarray([X.shape[0]] if lengths is None else lengths)
        total = int(np.sum(lengths))
        rs = check_random_state(self.random_state)
        uniform = np.full(nc, 1.0 / nc)
        if self._needs_init_group("s", self._groups["s"]):
            prior = 1.0 / nc if self.startprob_prior is None else self.startprob_prior
            self.startprob_prior_ = _broadcast(prior, (nc,), "startprob_prior")
            self.startprob_posterior_ = rs.dirichlet(uniform) * len(lengths)
        if self._needs_init_group("t", self._groups["t"]):
            prior = 1.0 / nc if self.transmat_prior is None else self.transmat_prior
            self.transmat_prior_ = _broadcast(prior, (nc, nc), "transmat_prior")
            self.transmat_posterior_ = rs.dirichlet(uniform, size=nc) * (total / nc)
        self._init_emissions(X, lengths)
        n_scalars = self._get_n_fit_scalars_per_param()
        n_fit = sum(v for k, v in n_scalars.items() if k in self.params)
        if X.size < n_fit:
            _log.warning("Fitting a model with %d free scalar parameters with only %d data "
                         "points will result in a degenerate solution.", n_fit, X.size)

    def _check(self):
        nc = check_int(self.n_components, "n_components", 1)
        self.startprob_prior_ = _positive_array(self.startprob_prior_, "startprob_prior_",
                                                (nc,))
        self.startprob_posterior_ = _positive_array(self.startprob_posterior_,
                                                    "startprob_posterior_", (nc,))
        self.transmat_prior_ = _positive_array(self.transmat_prior_, "transmat_prior_",
                                               (nc, nc))
        self.transmat_posterior_ = _positive_array(self.transmat_posterior_,
                                                   "transmat_posterior_", (nc, nc))
        self._check_emissions()
        self._derive_parameters()

    def _derive_parameters(self):
        """The point estimates (posterior means) that scoring, decoding and sampling use."""
        sp, tp = self.startprob_posterior_, self.transmat_posterior_
        self.startprob_ = sp / sp.sum()
        self.transmat_ = tp / tp.sum(axis=1, keepdims=True)
        self._derive_emissions()

    def _derive_emissions(self):
        raise NotImplementedError

    def _emission_kl(self):
        raise NotImplementedError

    def _estep_log_start_trans(self):
        return (_dirichlet_log_mean(self.startprob_posterior_),
                _dirichlet_log_mean(self.transmat_posterior_))

    def _do_estep(self, prep, lengths):
        # the log-normaliser of the sub-normalised model, minus the KL divergences of the
        # current posteriors (before this iteration's update), is the lower bound
        stats, log_prob = super()._do_estep(prep, lengths)
        kl = (_kl_dirichlet(self.startprob_posterior_, self.startprob_prior_)
              + _kl_dirichlet(self.transmat_posterior_, self.transmat_prior_))
        return stats, log_prob - kl - self._emission_kl()

    def _do_mstep(self, stats, supervised=False):
        if "s" in self.params:
            self.startprob_posterior_ = self.startprob_prior_ + stats["start"]
        if "t" in self.params:
            self.transmat_posterior_ = self.transmat_prior_ + stats["trans"]
        self._do_emission_mstep(stats, supervised)
        self._derive_parameters()


# ---------------------------------------------------------------------------------------------
# categorical emissions
# ---------------------------------------------------------------------------------------------

class VariationalCategoricalHMM(_Variational, CategoricalHMM):
    """Hidden Markov model with categorical emissions, trained by variational Bayes.

    The start probabilities, each row of the transition matrix and each state's symbol
    probabilities have Dirichlet priors; :meth:`fit` finds their Dirichlet posteriors by
    maximising the evidence lower bound (VB-EM, as in M. J. Beal's thesis, 2003), which
    :attr:`monitor_` records. Scoring, decoding and sampling use the posterior means
    :attr:`startprob_`, :attr:`transmat_`, :attr:`emissionprob_`. Unneeded states tend to
    be left empty (their posteriors stay at the prior).

    Parameters
    ----------
    n_components : int, default 1
        Number of states.
    startprob_prior : float or array-like of shape (n_components,), optional
        Dirichlet prior on :attr:`startprob_` (default ``1 / n_components``).
    transmat_prior : float or array-like of shape (n_components, n_components), optional
        Dirichlet prior on each row of :attr:`transmat_` (default ``1 / n_components``).
    emissionprob_prior : float or array-like of shape (n_components, n_features), optional
        Dirichlet prior on each row of :attr:`emissionprob_` (default ``1 / n_features``).
    n_features : int, optional
        Number of symbols; inferred from the data (largest symbol + 1) when not set.
    algorithm : {"viterbi", "map"}, default "viterbi"
        Decoder used by :meth:`decode` / :meth:`predict`.
    random_state : int, numpy.random.RandomState or None, default None
        Source of the random initial posteriors and of :meth:`sample`.
    n_iter : int, default 100
        Maximum number of iterations.
    tol : float, default 1e-6
        Fitting stops when the lower bound gains less than this.
    verbose : bool, default False
        Print iteration, lower bound and change to stderr at every iteration.
    params, init_params : str, default "ste"
        Posteriors updated by :meth:`fit` (``params``) / initialised before it
        (``init_params``): any of ``'s'`` start, ``'t'`` transitions, ``'e'`` emissions.
    implementation : {"log", "scaling"}, default "log"
        Accepted for compatibility; both use fastseq's exact kernels.
    n_threads : int, optional
        Threads of the kernels (``None`` = every core this process may use, ``-1`` = all
        cores); results are identical for any value. Keyword-only.

    Attributes
    ----------
    n_features : int
        Number of symbols.
    monitor_ : ConvergenceMonitor
        Convergence monitor of the last :meth:`fit`; its ``history`` holds the lower bound.
    startprob_prior_, startprob_posterior_ : ndarray of shape (n_components,)
        Dirichlet prior and posterior of the start probabilities.
    transmat_prior_, transmat_posterior_ : ndarray of shape (n_components, n_components)
        Dirichlet prior and posterior of each row of the transition matrix.
    emissionprob_prior_, emissionprob_posterior_ : ndarray of shape (n_components, \
n_features)
        Dirichlet prior and posterior of each state's symbol probabilities.
    startprob_, transmat_, emissionprob_ : ndarray
        Posterior means (each posterior normalised to sum to 1), derived from the
        posteriors whenever the model is checked; set the posteriors, not these.

    See Also
    --------
    CategoricalHMM : The same model fitted by maximum likelihood (Baum-Welch).
    VariationalGaussianHMM : Variational HMM with Gaussian emissions.

    Notes
    -----
    hmmlearn's initialisation (the same Dirichlet draws from ``random_state``) and update
    formulas, so the same seed gives hmmlearn's lower-bound trajectory and posteriors. As
    in hmmlearn, :attr:`n_features` comes from the data when not set, and posteriors of
    another width are rejected. Differences: the point estimates are derived from the
    posteriors whenever the model is checked (hmmlearn sets them only in the update, so a
    model with hand-set posteriors cannot be scored there); ``fit_supervised`` raises
    NotImplementedError; an array-valued ``emissionprob_prior`` is drawn from per state
    (hmmlearn accepts only a scalar there).

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.hmm import VariationalCategoricalHMM
    >>> X = np.tile([[0], [1], [2]], (100, 1))       # a strict cycle 0 -> 1 -> 2
    >>> model = VariationalCategoricalHMM(n_components=4, random_state=1)
    >>> model = model.fit(X, lengths=[150, 150])
    >>> model.monitor_.converged
    True
    >>> model.predict(X[:6]).tolist()
    [0, 1, 2, 0, 1, 2]

    Three states suffice; the fourth is left unused, its posterior at the prior:

    >>> model.emissionprob_.round(2).tolist()
    [[0.99, 0.0, 0.0], [0.0, 0.99, 0.0], [0.0, 0.0, 0.99], [0.33, 0.33, 0.33]]
    >>> model.emissionprob_posterior_[3].round(3).tolist()
    [0.333, 0.333, 0.333]
    """

    _groups = {**_Variational._groups,
               "e": ("emissionprob_prior_", "emissionprob_posterior_")}

    def __init__(self, n_components: int = 1, startprob_prior: Optional[ArrayLike] = None,
                 transmat_prior: Optional[ArrayLike] = None,
                 emissionprob_prior: Optional[ArrayLike] = None,
                 n_features: Optional[int] = None, algorithm: str = "viterbi",
                 random_state: RandomStateLike = None, n_iter: int = 100, tol: float = 1e-6,
                 verbose: bool = False, params: str = "ste", init_params: str = "ste",
                 implementation: str = "log", *, n_threads: Optional[int] = None) -> None:
        super().__init__(n_components, startprob_prior, transmat_prior,  # type: ignore[arg-type]
                         emissionprob_prior=emissionprob_prior,  # type: ignore[arg-type]
                         n_features=n_features, algorithm=algorithm,
                         random_state=random_state, n_iter=n_iter, tol=tol, verbose=verbose,
                         params=params, init_params=init_params,
                         implementation=implementation, n_threads=n_threads)

    def _init_emissions(self, X, lengths):
        if not self._needs_init_group("e", self._groups["e"]):
            return
        nc, nf = self.n_components, self.n_features
        rs = check_random_state(self.random_state)
        prior = 1.0 / nf if self.emissionprob_prior is None else self.emissionprob_prior
        self.emissionprob_prior_ = _broadcast(prior, (nc, nf), "emissionprob_prior")
        total = int(np.sum(lengths))
        if np.ndim(prior) == 0:   # hmmlearn's draw
            draws = rs.dirichlet(np.full(nf, float(prior)), size=nc)
        else:
            draws = np.stack([rs.dirichlet(row) for row in self.emissionprob_prior_])
        self.emissionprob_posterior_ = draws * total / nc

    def _check_emissions(self):
        prior = np.atleast_2d(np.asarray(self.emissionprob_prior_, dtype=np.float64))
        post = np.atleast_2d(np.asarray(self.emissionprob_posterior_, dtype=np.float64))
        if self.n_features is None:
            self.n_features = int(post.shape[-1])
        shape = (self.n_components, check_int(self.n_features, "n_features", 1))
        self.emissionprob_prior_ = _positive_array(prior, "emissionprob_prior_", shape)
        self.emissionprob_posterior_ = _positive_array(post, "emissionprob_posterior_", shape)

    def _derive_emissions(self):
        post = self.emissionprob_posterior_
        self.emissionprob_ = post / post.sum(axis=1, keepdims=True)

    def _fit_log_likelihood(self, prep):
        log_b = np.ascontiguousarray(_dirichlet_log_mean(self.emissionprob_posterior_).T)
        return np.take(log_b, prep[0], axis=0)

    def _do_emission_mstep(self, stats, supervised):
        if "e" in self.params:
            self.emissionprob_posterior_ = self.emissionprob_prior_ + stats["obs"]

    def _emission_kl(self):
        return _kl_dirichlet(self.emissionprob_posterior_, self.emissionprob_prior_)


# ---------------------------------------------------------------------------------------------
# Gaussian emissions
# ---------------------------------------------------------------------------------------------

class VariationalGaussianHMM(_Variational, GaussianHMM):
    """Hidden Markov model with Gaussian emissions, trained by variational Bayes.

    The start and transition probabilities have Dirichlet priors, each state's mean and
    precision a Normal-Wishart prior (Normal-Gamma per feature for "diag", with a single
    shared precision for "spherical", and one Wishart shared by the states for "tied").
    :meth:`fit` finds the posteriors by maximising the evidence lower bound (McGrory and
    Titterington, 2009; Gruhl and Sick, 2016), which :attr:`monitor_` records. Scoring,
    decoding and sampling use the posterior means :attr:`startprob_`, :attr:`transmat_`,
    :attr:`means_` and the covariances :attr:`covars_` = ``scale_posterior_ /
    dof_posterior_``.

    Parameters
    ----------
    n_components : int, default 1
        Number of states.
    covariance_type : {"spherical", "diag", "full", "tied"}, default "full"
        Form of the covariances (one variance per state, a diagonal per state, a full
        matrix per state, one full matrix shared by all states).
    startprob_prior : float or array-like of shape (n_components,), optional
        Dirichlet prior on :attr:`startprob_` (default ``1 / n_components``).
    transmat_prior : float or array-like of shape (n_components, n_components), optional
        Dirichlet prior on each row of :attr:`transmat_` (default ``1 / n_components``).
    means_prior : float or array-like of shape (n_components, n_features), optional
        Prior mean of the means (default: the mean of the data).
    beta_prior : float or array-like of shape (n_components,), optional
        Prior precision scale of the means, in pseudo-observations (default 1).
    dof_prior : float or array-like, optional
        Degrees of freedom of the Wishart (Gamma) prior: shape (n_components,), a scalar
        for "tied" (default ``n_features``).
    scale_prior : array-like, optional
        Inverse scale of the Wishart (Gamma) prior, of shape (n_components,) "spherical",
        (n_components, n_features) "diag", (n_components, n_features, n_features) "full",
        (n_features, n_features) "tied" (default ``1e-3`` times the identity).
    algorithm : {"viterbi", "map"}, default "viterbi"
        Decoder used by :meth:`decode` / :meth:`predict`.
    random_state : int, numpy.random.RandomState or None, default None
        Source of the random initial posteriors (Dirichlet draws and k-means) and of
        :meth:`sample`.
    n_iter : int, default 100
        Maximum number of iterations.
    tol : float, default 1e-6
        Fitting stops when the lower bound gains less than this.
    verbose : bool, default False
        Print iteration, lower bound and change to stderr at every iteration.
    params, init_params : str, default "stmc"
        Posteriors updated by :meth:`fit` (``params``) / initialised before it
        (``init_params``): any of ``'s'`` start, ``'t'`` transitions, ``'m'`` means
        (``means_*`` and ``beta_*``), ``'c'`` covariances (``dof_*`` and ``scale_*``).
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
        Convergence monitor of the last :meth:`fit`; its ``history`` holds the lower bound.
    startprob_prior_, startprob_posterior_ : ndarray of shape (n_components,)
        Dirichlet prior and posterior of the start probabilities.
    transmat_prior_, transmat_posterior_ : ndarray of shape (n_components, n_components)
        Dirichlet prior and posterior of each row of the transition matrix.
    means_prior_, means_posterior_ : ndarray of shape (n_components, n_features)
        Prior and posterior mean of each state's mean.
    beta_prior_, beta_posterior_ : ndarray of shape (n_components,)
        Prior and posterior precision scale of each state's mean.
    dof_prior_, dof_posterior_ : ndarray of shape (n_components,), or float for "tied"
        Degrees of freedom of the Wishart (Gamma) prior and posterior.
    scale_prior_, scale_posterior_ : ndarray
        Inverse scale of the Wishart (Gamma) prior and posterior, shaped as
        ``scale_prior``.
    startprob_, transmat_ : ndarray
        Posterior means, derived from the posteriors whenever the model is checked.

    See Also
    --------
    GaussianHMM : The same model fitted by maximum likelihood (Baum-Welch).
    VariationalCategoricalHMM : Variational HMM with categorical emissions.

    Notes
    -----
    hmmlearn's initialisation (the same Dirichlet draws and scikit-learn ``KMeans`` from
    ``random_state``) and update formulas, so the same seed gives hmmlearn's lower-bound
    trajectory and posteriors. As in hmmlearn, the expected emission log-density omits
    the constant ``-n_features / 2 * log(2 pi)`` per sample, so the lower bound is that
    much above the evidence bound proper (the fit is unaffected). Differences: the
    updates work on data centred on its mean (the same values, less cancellation);
    :attr:`covars_` and the point estimates are derived from the posteriors whenever the
    model is checked (hmmlearn sets them only in the update) and cannot be set; the
    spherical initial scale falls back to the mean of the data variances when hmmlearn's
    mean of all covariance entries is not positive; ``fit_supervised`` raises
    NotImplementedError.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.hmm import VariationalGaussianHMM
    >>> rs = np.random.RandomState(0)
    >>> X = np.concatenate([rs.normal(0, 1, (200, 1)), rs.normal(5, 1, (200, 1))])
    >>> model = VariationalGaussianHMM(n_components=2, covariance_type="diag",
    ...                                random_state=0).fit(X, lengths=[100, 300])
    >>> np.sort(model.means_[:, 0]).round(1).tolist()
    [0.1, 4.9]
    >>> round(float(model.dof_posterior_.sum()), 6)    # prior 1 + 1, plus one per sample
    402.0
    >>> model.covars_.shape
    (2, 1, 1)
    """

    _groups = {**_Variational._groups,
               "m": ("means_prior_", "means_posterior_", "beta_prior_", "beta_posterior_"),
               "c": ("dof_prior_", "dof_posterior_", "scale_prior_", "scale_posterior_")}

    def __init__(self, n_components: int = 1, covariance_type: str = "full",
                 startprob_prior: Optional[ArrayLike] = None,
                 transmat_prior: Optional[ArrayLike] = None,
                 means_prior: Optional[ArrayLike] = None, beta_prior: Optional[ArrayLike] = None,
                 dof_prior: Optional[ArrayLike] = None, scale_prior: Optional[ArrayLike] = None,
                 algorithm: str = "viterbi", random_state: RandomStateLike = None,
                 n_iter: int = 100, tol: float = 1e-6, verbose: bool = False,
                 params: str = "stmc", init_params: str = "stmc", implementation: str = "log",
                 *, n_threads: Optional[int] = None) -> None:
        super().__init__(n_components, covariance_type,
                         startprob_prior=startprob_prior,  # type: ignore[arg-type]
                         transmat_prior=transmat_prior,  # type: ignore[arg-type]
                         means_prior=means_prior,  # type: ignore[arg-type]
                         algorithm=algorithm, random_state=random_state, n_iter=n_iter,
                         tol=tol, verbose=verbose, params=params, init_params=init_params,
                         implementation=implementation, n_threads=n_threads)
        self.beta_prior = beta_prior
        self.dof_prior = dof_prior
        self.scale_prior = scale_prior

    # -- derived parameters -------------------------------------------------------------------
    @property
    def means_(self) -> NDArray[np.float64]:
        """Posterior mean of each state's mean: :attr:`means_posterior_` (read-only).

        Returns
        -------
        ndarray of shape (n_components, n_features), dtype float64
            The means used by scoring, decoding and sampling.

        Raises
        ------
        AttributeError
            If :attr:`means_posterior_` is not set yet.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.hmm import VariationalGaussianHMM
        >>> model = VariationalGaussianHMM(n_components=2)
        >>> model.means_posterior_ = np.array([[0.0], [3.0]])
        >>> model.means_.tolist()
        [[0.0], [3.0]]
        """
        if "means_posterior_" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__} has no means_posterior_ yet")
        return self.means_posterior_

    @property
    def covars_(self) -> NDArray[np.float64]:
        """Covariance matrices ``scale_posterior_ / dof_posterior_`` (read-only).

        Derived from the posteriors whenever the model is checked (fitted, scored ...).

        Returns
        -------
        ndarray of shape (n_components, n_features, n_features), dtype float64
            The covariance matrix of each state, as full matrices.

        Raises
        ------
        AttributeError
            If the model has no covariances yet.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.hmm import VariationalGaussianHMM
        >>> X = np.random.RandomState(0).normal(size=(100, 2))
        >>> model = VariationalGaussianHMM(n_components=2, covariance_type="diag",
        ...                                n_iter=5, random_state=0).fit(X)
        >>> model.covars_.shape
        (2, 2, 2)
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
        return cv[:, None, None] * np.eye(self.means_posterior_.shape[1])

    @covars_.setter
    def covars_(self, covars: ArrayLike) -> None:
        raise AttributeError(f"{type(self).__name__}.covars_ is derived from the posteriors: "
                             "set scale_posterior_ and dof_posterior_ instead")

    def _known_n_features(self):
        nf = getattr(self, "n_features", None)
        if nf is None and "means_posterior_" in self.__dict__:
            nf = int(np.shape(self.means_posterior_)[-1])
        return nf

    def _scale_shape(self, nc, nf):
        return {"spherical": (nc,), "diag": (nc, nf), "full": (nc, nf, nf),
                "tied": (nf, nf)}[self.covariance_type]

    def _full_scales(self, scale):
        """A scale parameter as a stack of (n_components, n_features, n_features)."""
        nc, nf, ct = self.n_components, self.n_features, self.covariance_type
        if ct == "full":
            return scale
        if ct == "tied":
            return np.broadcast_to(scale, (nc, nf, nf))
        diag = np.broadcast_to(scale[:, None] if ct == "spherical" else scale, (nc, nf))
        return diag[:, :, None] * np.eye(nf)

    def _dofs(self):
        return np.broadcast_to(self.dof_posterior_, (self.n_components,))

    # -- validation ---------------------------------------------------------------------------
    def _check_emissions(self):
        check_covariance_type(self.covariance_type)
        nc = self.n_components
        if getattr(self, "n_features", None) is None:
            self.n_features = int(np.shape(self.means_posterior_)[-1])
        nf = check_int(self.n_features, "n_features", 1)
        ct = self.covariance_type
        self.means_prior_ = _real_array(self.means_prior_, "means_prior_", (nc, nf))
        self.means_posterior_ = _real_array(self.means_posterior_, "means_posterior_", (nc, nf))
        self.beta_prior_ = _positive_array(self.beta_prior_, "beta_prior_", (nc,))
        self.beta_posterior_ = _positive_array(self.beta_posterior_, "beta_posterior_", (nc,))
        dof_shape = () if ct == "tied" else (nc,)
        # a Wishart needs more than n_features - 1 degrees of freedom
        dof_prior = _positive_array(self.dof_prior_, "dof_prior_", dof_shape, nf - 1.0)
        dof_post = _positive_array(self.dof_posterior_, "dof_posterior_", dof_shape, nf - 1.0)
        self.dof_prior_ = float(dof_prior) if ct == "tied" else dof_prior
        self.dof_posterior_ = float(dof_post) if ct == "tied" else dof_post
        shape = self._scale_shape(nc, nf)
        for name in ("scale_prior_", "scale_posterior_"):
            scale = _real_array(getattr(self, name), name, shape)
            if ct in ("spherical", "diag"):
                if (scale <= 0).any():
                    raise ValueError(f"`{name}` must be positive for {ct!r} covariances")
            else:
                for k, mat in enumerate(scale.reshape((-1, nf, nf))):
                    if not np.allclose(mat, mat.T) or not _is_pd(mat):
                        where = "" if ct == "tied" else f"component {k} of "
                        raise ValueError(f"{where}`{name}` must be symmetric, "
                                         "positive-definite")
            setattr(self, name, scale)

    def _derive_emissions(self):
        ct = self.covariance_type
        scale, dof = self.scale_posterior_, self.dof_posterior_
        if ct == "tied":
            self._covars_ = scale / dof
        elif ct == "full":
            self._covars_ = scale / dof[:, None, None]
        elif ct == "diag":
            self._covars_ = scale / dof[:, None]
        else:
            self._covars_ = scale / dof

    # -- initialisation -----------------------------------------------------------------------
    def _init_emissions(self, X, lengths):
        init_m = self._needs_init_group("m", self._groups["m"])
        init_c = self._needs_init_group("c", self._groups["c"])
        if not (init_m or init_c):
            return
        nc, nf, ct = self.n_components, X.shape[1], self.covariance_type
        centers = np.asarray(initial_means(X, nc, self.random_state), dtype=np.float64)
        # cluster sizes: the nearest centre of every sample
        dist = (np.einsum("ij,ij->i", X, X)[:, None] - 2.0 * X @ centers.T
                + np.einsum("ij,ij->i", centers, centers))
        counts = np.bincount(dist.argmin(axis=1), minlength=nc).astype(np.float64)
        if init_m:
            means_prior = X.mean(axis=0) if self.means_prior is None else self.means_prior
            self.means_prior_ = _broadcast(means_prior, (nc, nf), "means_prior")
            self.means_posterior_ = centers.copy()
            beta_prior = 1.0 if self.beta_prior is None else self.beta_prior
            self.beta_prior_ = _broadcast(beta_prior, (nc,), "beta_prior")
            self.beta_posterior_ = counts.copy()
        if init_c:
            dof_prior = float(nf) if self.dof_prior is None else self.dof_prior
            if ct == "tied":
                self.dof_prior_ = _broadcast(dof_prior, (), "dof_prior")
                self.dof_posterior_ = counts.sum()
            else:
                self.dof_prior_ = _broadcast(dof_prior, (nc,), "dof_prior")
                self.dof_posterior_ = counts.copy()
            cv = np.atleast_2d(np.cov(X.T)) if X.shape[0] > 1 else np.zeros((nf, nf))
            cv = cv + 1e-3 * np.eye(nf)
            if self.scale_prior is None:
                default = {"spherical": np.full(nc, 1e-3), "diag": np.full((nc, nf), 1e-3),
                           "full": np.tile(1e-3 * np.eye(nf), (nc, 1, 1)),
                           "tied": 1e-3 * np.eye(nf)}
                self.scale_prior_ = default[ct]
            else:
                self.scale_prior_ = _broadcast(self.scale_prior, self._scale_shape(nc, nf),
                                               "scale_prior")
            dof = self.dof_posterior_
            if ct == "full":
                self.scale_posterior_ = np.tile(cv, (nc, 1, 1)) * dof[:, None, None]
            elif ct == "tied":
                self.scale_posterior_ = cv * dof
            elif ct == "diag":
                self.scale_posterior_ = np.tile(np.diag(cv), (nc, 1)) * dof[:, None]
            else:
                # hmmlearn's: the mean of all covariance entries (off-diagonal ones too);
                # the mean of the variances when that is not positive
                var = np.full(nf, cv.mean()).mean()
                if var <= 0:
                    var = np.diag(cv).mean()
                self.scale_posterior_ = var * dof

    def _get_n_fit_scalars_per_param(self):
        check_covariance_type(self.covariance_type)
        nc, nf = self.n_components, self.n_features
        scalars = BaseHMM._get_n_fit_scalars_per_param(self)
        scalars["m"] = nc * nf + nc
        scalars["c"] = {"full": nc + nc * nf * (nf + 1) // 2, "tied": 1 + nf * (nf + 1) // 2,
                        "diag": nc + nc * nf, "spherical": nc + nc}[self.covariance_type]
        return scalars

    # -- E-step ---------------------------------------------------------------------------------
    def _compute_log_likelihood(self, X):
        # scoring: the Gaussian densities of the point estimates
        return GaussianHMM._fit_log_likelihood(self, self._center(X, for_stats=False))

    def _fit_log_likelihood(self, prep):
        """``E[log N(x | mean, precision)]`` under the posteriors, without the
        ``-n_features / 2 * log(2 pi)`` constant (as hmmlearn)."""
        Xc = prep["X"]
        nc, nf, ct = self.n_components, self.n_features, self.covariance_type
        dof, beta = self._dofs(), self.beta_posterior_
        mu = self.means_posterior_ - prep["shift"]
        i = np.arange(nf)
        const = 0.5 * (digamma((dof[:, None] - i) / 2.0).sum(axis=1) + nf * np.log(2.0))
        const = const - 0.5 * nf / beta
        if ct in ("spherical", "diag"):
            scale = self.scale_posterior_
            scale = np.broadcast_to(scale[:, None] if ct == "spherical" else scale, (nc, nf))
            prec = dof[:, None] / scale               # dof * W, diagonal
            W = np.empty((2 * nf + 1, nc))
            W[:nf] = -0.5 * prec.T
            W[nf:2 * nf] = (mu * prec).T
            W[-1] = const - 0.5 * np.log(scale).sum(axis=1) - 0.5 * (mu * mu * prec).sum(axis=1)
            return prep["A"] @ W
        scales = self._full_scales(self.scale_posterior_)
        out = np.empty((Xc.shape[0], nc))
        chol = None
        for k in range(nc):
            if chol is None or ct == "full":
                chol = linalg.cholesky(scales[k], lower=True, check_finite=False)
                log_det = 2.0 * np.log(np.diagonal(chol)).sum()
            y = linalg.solve_triangular(chol, (Xc - mu[k]).T, lower=True,
                                        check_finite=False)
            out[:, k] = const[k] - 0.5 * log_det - 0.5 * dof[k] * np.einsum("ij,ij->j", y, y)
        return out

    def _emission_kl(self):
        nf, ct = self.n_features, self.covariance_type
        dof, beta_q, beta_p = self._dofs(), self.beta_posterior_, self.beta_prior_
        scales = self._full_scales(self.scale_posterior_)
        diff = self.means_posterior_ - self.means_prior_
        maha = np.einsum("ki,ki->k", diff,
                         np.linalg.solve(scales, diff[:, :, None])[:, :, 0])
        # KL of N(m_q, S / (beta_q dof)) from N(m_p, S / (beta_p dof)), in closed form
        kl_normal = 0.5 * (nf * np.log(beta_q / beta_p) + nf * beta_p / beta_q
                           + beta_p * dof * maha - nf)
        if ct == "tied":
            kl_wishart = _kl_wishart(np.asarray(self.dof_posterior_),
                                     np.asarray(self.scale_posterior_),
                                     np.asarray(self.dof_prior_), np.asarray(self.scale_prior_))
        else:
            kl_wishart = _kl_wishart(self.dof_posterior_, scales, self.dof_prior_,
                                     self._full_scales(self.scale_prior_))
        return float(np.sum(kl_normal) + np.sum(kl_wishart))

    # -- M-step ---------------------------------------------------------------------------------
    def _do_emission_mstep(self, stats, supervised):
        if "m" not in self.params and "c" not in self.params:
            return
        ct, shift = self.covariance_type, stats["shift"]
        post, obs = stats["post"], stats["obs"]    # centred on the data mean
        beta_p = self.beta_prior_
        m_p = self.means_prior_ - shift
        beta_q = beta_p + post
        m_q = (beta_p[:, None] * m_p + obs) / beta_q[:, None]
        if "m" in self.params:
            self.beta_posterior_ = beta_q
            self.means_posterior_ = m_q + shift
        if "c" not in self.params:
            return
        # the scale update takes the means and precision scales of the joint update
        # even when 'm' is not in params, which keeps it positive definite (hmmlearn
        # takes the current ones then, and its scale can lose definiteness)
        if ct in ("full", "tied"):
            scatter = (stats["obs*obs.T"]
                       + beta_p[:, None, None] * m_p[:, :, None] * m_p[:, None, :]
                       - beta_q[:, None, None] * m_q[:, :, None] * m_q[:, None, :])
            if ct == "full":
                self.dof_posterior_ = self.dof_prior_ + post
                self.scale_posterior_ = self.scale_prior_ + scatter
            else:
                self.dof_posterior_ = float(self.dof_prior_ + post.sum())
                self.scale_posterior_ = self.scale_prior_ + scatter.sum(axis=0)
        else:
            scatter = stats["obs**2"] + beta_p[:, None] * m_p ** 2 - beta_q[:, None] * m_q ** 2
            self.dof_posterior_ = self.dof_prior_ + post
            self.scale_posterior_ = self.scale_prior_ + (
                scatter if ct == "diag" else scatter.mean(axis=1))


def _is_pd(mat):
    try:
        np.linalg.cholesky(mat)
    except np.linalg.LinAlgError:
        return False
    return True
