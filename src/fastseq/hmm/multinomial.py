"""Hidden Markov model with multinomial emissions: hmmlearn's ``MultinomialHMM``."""
from __future__ import annotations

from typing import Optional

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln

from .._validation import check_random_state
from ._util import check_stochastic, normalize_rows
from .base import BaseHMM, RandomStateLike
from .poisson import count_matrix, log_factorials, log_rates_dot

__all__ = ["MultinomialHMM"]


class MultinomialHMM(BaseHMM):
    """Hidden Markov model with multinomial emissions (a vector of symbol counts per sample).

    Each sample ``X[t]`` counts how often each of ``n_features`` symbols came up in
    ``n_trials`` draws from the state's :attr:`emissionprob_` row. With one trial per
    sample this is :class:`CategoricalHMM` on one-hot rows.

    Parameters
    ----------
    n_components : int, default 1
        Number of states.
    n_trials : int or array-like of int, optional
        Number of trials of every sample (a scalar, or one per sample). Set from ``X`` (row
        sums) by :meth:`fit` when not given; when given, ``fit`` checks the rows of ``X``
        sum to it. :meth:`sample` needs a single value.
    startprob_prior : float or array-like of shape (n_components,), default 1.0
        Dirichlet prior on :attr:`startprob_` (``prior - 1`` pseudo-counts; 1.0 = none).
    transmat_prior : float or array-like of shape (n_components, n_components), default 1.0
        Dirichlet prior on each row of :attr:`transmat_`.
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
    params, init_params : str, default "ste"
        Parameters updated by EM (``params``) / initialised before it (``init_params``):
        any of ``'s'`` startprob, ``'t'`` transmat, ``'e'`` emissionprob.
    implementation : {"log", "scaling"}, default "log"
        Accepted for compatibility; both use fastseq's exact kernels.
    n_threads : int, optional
        Threads of the kernels (``None`` = every core this process may use, ``-1`` = all
        cores); results are identical for any value.

    Attributes
    ----------
    n_features : int
        Number of symbols (columns of ``X``).
    monitor_ : ConvergenceMonitor
        Convergence monitor of the last :meth:`fit`.
    startprob_ : ndarray of shape (n_components,), dtype float64
        Initial state distribution.
    transmat_ : ndarray or scipy.sparse matrix of shape (n_components, n_components)
        Transition probabilities, ``transmat_[i, j]`` = P(i -> j); a sparse matrix lists
        the allowed moves (EM keeps them; every step costs O(nnz)).
    emissionprob_ : ndarray of shape (n_components, n_features), dtype float64
        ``emissionprob_[i, k]`` = probability of symbol k in one trial in state i.

    See Also
    --------
    CategoricalHMM : One symbol per sample.
    PoissonHMM : HMM with independent Poisson counts.

    Notes
    -----
    The scores use each row's own total as its number of trials (as hmmlearn).
    ``emissionprob_`` starts as normalised uniform draws from a fresh
    ``check_random_state(random_state)`` after ``startprob_`` and ``transmat_``, so an int
    seed gives hmmlearn's initial parameters; :meth:`sample` draws in hmmlearn's order too.
    Behaviour that differs from hmmlearn 0.3:

    * no warning about the change of meaning in hmmlearn 0.2.8 is logged at construction;
    * ``X`` with negative or non-integer values is a ValueError whatever its dtype
      (hmmlearn refuses float arrays even when they hold whole numbers);
    * in EM, a state with no expected emissions keeps its previous row (hmmlearn gives
      NaN); zero probabilities stay zero;
    * ``fit`` does not replace ``random_state`` by a RandomState object.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.hmm import MultinomialHMM
    >>> X = np.random.RandomState(0).multinomial(5, [0.2, 0.3, 0.5], size=200)
    >>> model = MultinomialHMM(n_components=2, random_state=0).fit(X)
    >>> model.emissionprob_.shape, int(model.n_trials[0])
    ((2, 3), 5)
    """

    _emission_params = {"e": "emissionprob_"}

    def __init__(self, n_components: int = 1, n_trials: Optional[ArrayLike] = None,
                 startprob_prior: ArrayLike = 1.0, transmat_prior: ArrayLike = 1.0,
                 algorithm: str = "viterbi", random_state: RandomStateLike = None,
                 n_iter: int = 10, tol: float = 1e-2, verbose: bool = False,
                 params: str = "ste", init_params: str = "ste", implementation: str = "log",
                 n_threads: Optional[int] = None) -> None:
        super().__init__(n_components, startprob_prior, transmat_prior, algorithm=algorithm,
                         random_state=random_state, n_iter=n_iter, tol=tol, verbose=verbose,
                         params=params, init_params=init_params,
                         implementation=implementation, n_threads=n_threads)
        self.n_trials = n_trials

    # -- validation ---------------------------------------------------------------------------
    def _validate_X(self, X, *, fitting):
        arr = count_matrix(X, multinomial=True)
        nf = getattr(self, "n_features", None)
        if fitting and nf is None and "e" not in self.init_params \
                and hasattr(self, "emissionprob_"):
            nf = int(np.atleast_2d(self.emissionprob_).shape[1])
        if nf is not None and arr.shape[1] != nf:
            raise ValueError(f"`X` has {arr.shape[1]} features, but this model has "
                             f"n_features = {nf}")
        self.n_features = arr.shape[1]
        if fitting:
            totals = arr.sum(axis=1)
            if self.n_trials is None:
                self.n_trials = totals.astype(np.int64)
            elif not (totals == np.asarray(self.n_trials)).all():
                raise ValueError("`X` rows must sum to `n_trials` (total count for each "
                                 "sample should add up to the number of trials)")
        return arr

    def _check_emissions(self):
        ep = np.atleast_2d(np.asarray(self.emissionprob_))
        nf = getattr(self, "n_features", None)
        nf = ep.shape[-1] if nf is None else nf
        self.emissionprob_ = check_stochastic(ep, "emissionprob_", (self.n_components, nf))
        self.n_features = nf
        if self.n_trials is None:
            raise ValueError("`n_trials` must be set (fit sets it from the row sums of `X`)")

    # -- emissions ----------------------------------------------------------------------------
    def _compute_log_likelihood(self, X):
        X = np.asarray(X, dtype=np.float64)
        return self._log_likelihood(X, self._log_coefficients(X))

    @staticmethod
    def _log_coefficients(X):
        """log of the multinomial coefficients, per sample: (n_samples, 1)."""
        return gammaln(X.sum(axis=1, keepdims=True) + 1.0) - log_factorials(X)

    def _log_likelihood(self, X, log_coef):
        return log_rates_dot(X, self.emissionprob_) + log_coef

    def _fit_prepare(self, X):
        # the multinomial coefficients do not change between EM iterations
        return X, self._log_coefficients(X)

    def _fit_log_likelihood(self, prep):
        return self._log_likelihood(*prep)

    def _emission_stats(self, prep, post):
        if "e" not in self.params:
            return {}
        return {"obs": np.asarray(post.T @ prep[0])}

    def _do_emission_mstep(self, stats, supervised):
        if "e" not in self.params:
            return
        self.emissionprob_ = normalize_rows(
            stats["obs"], None if supervised else self.emissionprob_, "emissionprob_")

    def _init_emissions(self, X, lengths):
        if "e" in self.init_params or not hasattr(self, "emissionprob_"):
            rs = check_random_state(self.random_state)
            self.emissionprob_ = normalize_rows(
                rs.rand(self.n_components, self.n_features), None, "emissionprob_")

    def _get_n_fit_scalars_per_param(self):
        scalars = super()._get_n_fit_scalars_per_param()
        scalars["e"] = self.n_components * (self.n_features - 1)
        return scalars

    def _generate_samples(self, n_samples, rs, currstate):
        trials = np.unique(np.asarray(self.n_trials))
        if trials.size != 1:
            raise ValueError("For sampling, a single `n_trials` must be given")
        n = int(trials[0])
        # the last probability is 1 - the others, as scipy.stats.multinomial does
        p = self.emissionprob_.copy()
        p[:, -1] = 1.0 - p[:, :-1].sum(axis=1)
        draws = []
        states = self._sample_states(n_samples, rs, currstate,
                                     lambda s: draws.append(rs.multinomial(n, p[s])))
        return np.asarray(draws, dtype=np.int64).reshape(n_samples, -1), states
