"""Hidden Markov model with categorical (discrete) emissions: hmmlearn's ``CategoricalHMM``."""
from __future__ import annotations

from typing import Optional

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse

from .. import ops
from .._validation import check_int, check_random_state
from ..exceptions import NotFittedError
from ._util import broadcast_prior, check_stochastic, normalize_rows, safe_log
from .base import BaseHMM, RandomStateLike

__all__ = ["CategoricalHMM"]


class CategoricalHMM(BaseHMM):
    """Hidden Markov model with categorical (discrete) emissions.

    Parameters
    ----------
    n_components : int, default 1
        Number of states.
    startprob_prior : float or array-like of shape (n_components,), default 1.0
        Dirichlet prior on :attr:`startprob_` (``prior - 1`` pseudo-counts; 1.0 = none).
    transmat_prior : float or array-like of shape (n_components, n_components), default 1.0
        Dirichlet prior on each row of :attr:`transmat_`.
    emissionprob_prior : float or array-like of shape (n_components, n_features), default 1.0
        Dirichlet prior on each row of :attr:`emissionprob_`.
    n_features : int, optional
        Number of symbols. Inferred when fitting (largest symbol + 1, or the width of a
        given ``emissionprob_``) when not set.
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
        Number of symbols.
    monitor_ : ConvergenceMonitor
        Convergence monitor of the last :meth:`fit`.
    startprob_ : ndarray of shape (n_components,), dtype float64
        Initial state distribution.
    transmat_ : ndarray or scipy.sparse matrix of shape (n_components, n_components)
        Transition probabilities, ``transmat_[i, j]`` = P(i -> j); a sparse matrix lists
        the allowed moves (EM keeps them; every step costs O(nnz)).
    emissionprob_ : ndarray of shape (n_components, n_features), dtype float64
        ``emissionprob_[i, k]`` = probability of symbol k in state i.

    See Also
    --------
    GaussianHMM : HMM with Gaussian emissions.
    BaseHMM : The methods (fit, score, decode, sample ...).

    Notes
    -----
    ``X`` has shape ``(n_samples, 1)`` and holds non-negative integer symbols (a 1-D array is
    accepted too). The parameters may also be set by hand (``startprob_``, ``transmat_``,
    ``emissionprob_``) instead of fitted. Behaviour that differs from hmmlearn 0.3:

    * float ``X`` is refused (as hmmlearn), and a symbol ``>= n_features`` is a ValueError
      when scoring too (hmmlearn raises an IndexError there);
    * with ``init_params`` lacking ``'e'``, ``n_features`` comes from the given
      ``emissionprob_`` (hmmlearn takes it from the data and then rejects an
      ``emissionprob_`` wider than the largest observed symbol);
    * in EM, a state with no expected transitions (emissions) keeps its previous row
      instead of getting an all-zero one (which hmmlearn then rejects when scoring);
    * ``fit`` does not replace ``random_state`` by a RandomState object;
    * ``decode(algorithm="map")`` returns a log-probability (see :meth:`decode`).

    Like hmmlearn, ``fit`` sets ``n_features`` when it is ``None`` (and so does scoring a
    model whose ``emissionprob_`` was set by hand).

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.hmm import CategoricalHMM
    >>> X = np.random.RandomState(0).randint(0, 4, size=(500, 1))
    >>> model = CategoricalHMM(n_components=2, random_state=0).fit(X, lengths=[200, 300])
    >>> model.n_features, model.emissionprob_.shape
    (4, (2, 4))

    Parameters set by hand:

    >>> model = CategoricalHMM(n_components=2)
    >>> model.startprob_ = np.array([0.6, 0.4])
    >>> model.transmat_ = np.array([[0.7, 0.3], [0.4, 0.6]])
    >>> model.emissionprob_ = np.array([[0.1, 0.4, 0.5], [0.6, 0.3, 0.1]])
    >>> model.predict([[0], [1], [2], [2], [0]]).tolist()
    [1, 0, 0, 0, 1]
    """

    _emission_params = {"e": "emissionprob_"}

    def __init__(self, n_components: int = 1, startprob_prior: ArrayLike = 1.0,
                 transmat_prior: ArrayLike = 1.0, *, emissionprob_prior: ArrayLike = 1.0,
                 n_features: Optional[int] = None, algorithm: str = "viterbi",
                 random_state: RandomStateLike = None, n_iter: int = 10, tol: float = 1e-2,
                 verbose: bool = False, params: str = "ste", init_params: str = "ste",
                 implementation: str = "log", n_threads: Optional[int] = None) -> None:
        super().__init__(n_components, startprob_prior, transmat_prior, algorithm=algorithm,
                         random_state=random_state, n_iter=n_iter, tol=tol, verbose=verbose,
                         params=params, init_params=init_params,
                         implementation=implementation, n_threads=n_threads)
        self.emissionprob_prior = emissionprob_prior
        self.n_features = n_features

    # -- validation ---------------------------------------------------------------------------
    def _check_and_set_n_features(self, X):
        # hmmlearn's check reads the symbols whatever the array's shape
        self._validate_X(ops.as_numpy(X, "X").reshape(-1), fitting=True)

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
            nf = check_int(nf, "n_features", 1)
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
        nf = check_int(self.n_features, "n_features", 1)
        self.emissionprob_ = check_stochastic(ep, "emissionprob_", (self.n_components, nf))

    # -- emissions ----------------------------------------------------------------------------
    def _compute_log_likelihood(self, X):
        X = np.asarray(X)
        X = X[:, 0] if X.ndim == 2 else X   # (n_samples, 1) as hmmlearn passes it
        log_b = np.ascontiguousarray(safe_log(self.emissionprob_).T)  # (nf, nc)
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
        prior = broadcast_prior(self.emissionprob_prior, shape, "emissionprob_prior")
        counts = np.maximum(prior - 1.0 + stats["obs"], 0.0)
        self.emissionprob_ = normalize_rows(
            counts, None if supervised else self.emissionprob_, "emissionprob_")

    def _init_emissions(self, X, lengths):
        if self._needs_init("e", "emissionprob_"):
            rs = check_random_state(self.random_state)
            self.emissionprob_ = normalize_rows(
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
