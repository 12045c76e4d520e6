"""Hidden Markov model with Poisson emissions: hmmlearn's ``PoissonHMM``."""
from __future__ import annotations

from typing import Optional

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln

from .. import ops
from .._validation import check_random_state
from ._util import as_real_2d, safe_log
from .base import BaseHMM, RandomStateLike

__all__ = ["PoissonHMM"]


def count_matrix(X, *, multinomial=False):
    """Validate non-negative integer counts of shape (n_samples, n_features) -> float64."""
    arr = ops.as_numpy(X, "X")
    if arr.dtype.kind == "b":
        arr = arr.astype(np.int64)
    out = as_real_2d(arr)
    if (out < 0).any() or (out != np.round(out)).any():
        what = "symbol counts" if multinomial else "counts"
        raise ValueError(f"`X` must hold non-negative integer {what}")
    return out


def _dot_t(X, W):
    """``X @ W.T`` for a tall ``X``: with few columns BLAS is slow on this shape (27 ms
    where einsum takes 1.6 for 100,000 x 3 times 3 x 4)."""
    if X.shape[1] <= 16:
        return np.einsum("nf,kf->nk", X, W)
    return X @ W.T


def log_rates_dot(X, probs):
    """``X @ log(probs).T`` with ``0 * log 0 = 0`` (and -inf where a count meets a zero)."""
    zero = probs == 0
    finite = np.where(zero, 0.0, safe_log(np.where(zero, 1.0, probs)))
    out = _dot_t(X, finite)
    if zero.any():
        out[_dot_t((X > 0).astype(np.float64), zero.astype(np.float64)) > 0] = -np.inf
    return out


def log_factorials(X):
    """``sum_f log(X[:, f]!)`` per sample, shape (n_samples, 1), for integer counts ``X``."""
    top = X.max(initial=0.0)
    if top < 1 << 20:  # a table of log k! and a lookup: ~5x faster than gammaln on every entry
        table = gammaln(np.arange(int(top) + 1) + 1.0)
        return table[X.astype(np.int64)].sum(axis=1, keepdims=True)
    return gammaln(X + 1.0).sum(axis=1, keepdims=True)


class PoissonHMM(BaseHMM):
    """Hidden Markov model with independent Poisson emissions per feature.

    Parameters
    ----------
    n_components : int, default 1
        Number of states.
    startprob_prior : float or array-like of shape (n_components,), default 1.0
        Dirichlet prior on :attr:`startprob_` (``prior - 1`` pseudo-counts; 1.0 = none).
    transmat_prior : float or array-like of shape (n_components, n_components), default 1.0
        Dirichlet prior on each row of :attr:`transmat_`.
    lambdas_prior : float or array-like, default 0.0
        Shape ``alpha`` of the Gamma prior on :attr:`lambdas_`: a scalar, one value per state
        (shape ``(n_components,)``) or per state and feature (``(n_components, n_features)``).
    lambdas_weight : float or array-like, default 0.0
        Rate ``beta`` of that Gamma prior (same shapes). With both 0 (the default) the
        M-step is the maximum-likelihood estimate.
    algorithm : {"viterbi", "map"}, default "viterbi"
        Decoder used by :meth:`decode` / :meth:`predict`.
    random_state : int, numpy.random.RandomState or None, default None
        Source of the random initial parameters and of :meth:`sample`.
    n_iter : int, default 10
        Maximum number of EM iterations.
    tol : float, default 1e-2
        EM stops when the log-likelihood gains less than this.
    verbose : bool, default False
        Print iteration, log-likelihood and change to stderr at every iteration.
    params, init_params : str, default "stl"
        Parameters updated by EM (``params``) / initialised before it (``init_params``):
        any of ``'s'`` startprob, ``'t'`` transmat, ``'l'`` lambdas.
    implementation : {"log", "scaling"}, default "log"
        Accepted for compatibility; both use fastseq's exact kernels.
    n_threads : int, optional
        Threads of the kernels (``None`` = every core this process may use, ``-1`` = all
        cores); results are identical for any value.

    Attributes
    ----------
    n_features : int
        Number of count features (columns of ``X``).
    monitor_ : ConvergenceMonitor
        Convergence monitor of the last :meth:`fit`.
    startprob_ : ndarray of shape (n_components,), dtype float64
        Initial state distribution.
    transmat_ : ndarray or scipy.sparse matrix of shape (n_components, n_components)
        Transition probabilities, ``transmat_[i, j]`` = P(i -> j); a sparse matrix lists
        the allowed moves (EM keeps them; every step costs O(nnz)).
    lambdas_ : ndarray of shape (n_components, n_features), dtype float64
        Poisson rate of every feature in every state.

    See Also
    --------
    MultinomialHMM : HMM with multinomial (count vector) emissions.
    BaseHMM : The methods (fit, score, decode, sample ...).

    Notes
    -----
    ``X`` has shape ``(n_samples, n_features)`` and holds non-negative integer counts (any
    numeric dtype). As in hmmlearn, ``lambdas_`` starts as Gamma draws matching the mean and
    variance of ``X`` (method of moments), taken from a fresh ``check_random_state(
    random_state)`` after ``startprob_`` and ``transmat_``, so an int seed gives hmmlearn's
    initial parameters; :meth:`sample` draws in hmmlearn's order too. Behaviour that differs
    from hmmlearn 0.3:

    * the Gamma prior is applied per state: ``lambdas_ = (alpha + sum_t gamma_t x_t) /
      (beta + sum_t gamma_t)`` with the state's own expected count ``sum_t gamma_t``
      (hmmlearn weighs the data of every state by the total count of all states); with the
      default prior (0, 0) both are the maximum-likelihood estimate;
    * a state with no expected occupancy keeps its previous rates (hmmlearn gives NaN);
    * ``X`` with negative or non-integer values is a ValueError (hmmlearn scores
      non-integer counts as impossible), and so is a constant ``X`` when ``lambdas_`` is
      initialised from it (its variance is 0);
    * ``fit`` does not replace ``random_state`` by a RandomState object.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.hmm import PoissonHMM
    >>> X = np.random.RandomState(0).poisson([[2.0, 9.0]] * 300)
    >>> model = PoissonHMM(n_components=2, random_state=0).fit(X, lengths=[100, 200])
    >>> model.lambdas_.shape
    (2, 2)

    Parameters set by hand:

    >>> model = PoissonHMM(n_components=2)
    >>> model.startprob_ = np.array([0.5, 0.5])
    >>> model.transmat_ = np.array([[0.9, 0.1], [0.1, 0.9]])
    >>> model.lambdas_ = np.array([[1.0], [10.0]])
    >>> model.predict([[0], [2], [11], [9]]).tolist()
    [0, 0, 1, 1]
    """

    _emission_params = {"l": "lambdas_"}

    def __init__(self, n_components: int = 1, startprob_prior: ArrayLike = 1.0,
                 transmat_prior: ArrayLike = 1.0, lambdas_prior: ArrayLike = 0.0,
                 lambdas_weight: ArrayLike = 0.0, algorithm: str = "viterbi",
                 random_state: RandomStateLike = None, n_iter: int = 10, tol: float = 1e-2,
                 verbose: bool = False, params: str = "stl", init_params: str = "stl",
                 implementation: str = "log", n_threads: Optional[int] = None) -> None:
        super().__init__(n_components, startprob_prior, transmat_prior, algorithm=algorithm,
                         random_state=random_state, n_iter=n_iter, tol=tol, verbose=verbose,
                         params=params, init_params=init_params,
                         implementation=implementation, n_threads=n_threads)
        self.lambdas_prior = lambdas_prior
        self.lambdas_weight = lambdas_weight

    # -- validation ---------------------------------------------------------------------------
    def _validate_X(self, X, *, fitting):
        arr = count_matrix(X)
        nf = getattr(self, "n_features", None)
        if fitting and nf is None and "l" not in self.init_params and hasattr(self, "lambdas_"):
            nf = int(np.atleast_2d(self.lambdas_).shape[1])
        if nf is not None and arr.shape[1] != nf:
            raise ValueError(f"`X` has {arr.shape[1]} features, but this model has "
                             f"n_features = {nf}")
        self.n_features = arr.shape[1]
        return arr

    def _check_emissions(self):
        lam = np.atleast_2d(np.asarray(self.lambdas_))
        if lam.dtype.kind not in "fiu":
            raise TypeError(f"`lambdas_` must be an array of real numbers, got dtype "
                            f"{lam.dtype}")
        lam = lam.astype(np.float64)
        nf = getattr(self, "n_features", None)
        nf = lam.shape[1] if nf is None else nf
        if lam.shape != (self.n_components, nf):
            raise ValueError(f"`lambdas_` must have shape (n_components, n_features) = "
                             f"{(self.n_components, nf)}, got {lam.shape}")
        if not np.isfinite(lam).all() or (lam < 0).any():
            raise ValueError("`lambdas_` must be finite and non-negative")
        self.n_features = nf
        self.lambdas_ = lam

    # -- emissions ----------------------------------------------------------------------------
    def _compute_log_likelihood(self, X):
        X = np.asarray(X, dtype=np.float64)
        return self._log_likelihood(X, log_factorials(X))

    def _log_likelihood(self, X, log_fact):
        return log_rates_dot(X, self.lambdas_) - self.lambdas_.sum(axis=1) - log_fact

    def _fit_prepare(self, X):
        # the counts' log-factorials do not change between EM iterations
        return X, log_factorials(X)

    def _fit_log_likelihood(self, prep):
        return self._log_likelihood(*prep)

    def _emission_stats(self, prep, post):
        if "l" not in self.params:
            return {}
        return {"post": np.asarray(post.sum(axis=0)).reshape(-1),
                "obs": np.asarray(post.T @ prep[0])}

    def _prior(self, value, name):
        shape = (self.n_components, self.n_features)
        arr = np.asarray(value, dtype=np.float64)
        if arr.ndim == 1 and arr.shape[0] == self.n_components:
            arr = arr[:, None]  # documented as one value per state
        try:
            return np.broadcast_to(arr, shape)
        except ValueError:
            raise ValueError(f"`{name}` must be a scalar, of shape (n_components,) or "
                             f"{shape}, got shape {np.shape(value)}") from None

    def _do_emission_mstep(self, stats, supervised):
        if "l" not in self.params:
            return
        alpha = self._prior(self.lambdas_prior, "lambdas_prior")
        beta = self._prior(self.lambdas_weight, "lambdas_weight")
        num = alpha + stats["obs"]
        den = beta + stats["post"][:, None]
        empty = den <= 0
        lam = np.divide(num, den, out=np.zeros_like(num), where=~empty)
        if empty.any() and not supervised:
            lam[empty] = self.lambdas_[empty]
        self.lambdas_ = lam

    def _init_emissions(self, X, lengths):
        if self._needs_init("l", "lambdas_"):
            X = np.asarray(X, dtype=np.float64)
            mean, var = X.mean(), X.var()
            if not var > 0:
                raise ValueError("`X` has zero variance, so lambdas_ cannot be initialised "
                                 "from it; set lambdas_ and leave 'l' out of init_params")
            rs = check_random_state(self.random_state)
            self.lambdas_ = rs.gamma(shape=mean ** 2 / var, scale=var / mean,
                                     size=(self.n_components, self.n_features))

    def _get_n_fit_scalars_per_param(self):
        scalars = super()._get_n_fit_scalars_per_param()
        scalars["l"] = self.n_components * self.n_features
        return scalars

    def _generate_samples(self, n_samples, rs, currstate):
        draws = []
        states = self._sample_states(n_samples, rs, currstate,
                                     lambda s: draws.append(rs.poisson(self.lambdas_[s])))
        return np.asarray(draws, dtype=np.int64).reshape(n_samples, -1), states
