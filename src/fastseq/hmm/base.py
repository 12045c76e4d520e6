"""Shared machinery of the HMM models: parameter handling, batched EM, scoring, decoding.

:class:`BaseHMM` implements everything that does not depend on the emission model --
validation of ``X``/``lengths``, the start and transition parts of Baum-Welch, scoring,
decoding and sampling -- on top of the batched kernels of :mod:`fastseq`. One call to
:func:`fastseq.marginals` computes the E-step statistics of *all* sequences (in parallel,
without the GIL); the M-step is plain vectorised numpy. Subclasses (``fastseq.hmm``) add the
emission model.

The public surface follows hmmlearn 0.3 (``fit``, ``score``, ``score_samples``, ``decode``,
``predict``, ``predict_proba``, ``sample``, ``aic``, ``bic``, ``monitor_``, ``startprob_``,
``transmat_``) so that switching is a change of import. Where the behaviour deliberately
differs, the class docstrings of :mod:`fastseq.hmm` say so.
"""
from __future__ import annotations

import bisect
import inspect
import logging
import numbers
from typing import Any, Callable, Dict, Optional, Tuple, TypeVar, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import linalg, sparse

from .. import ops, structured
from .._state import all_or_nothing
from .._validation import check_int, check_random_state
from ..exceptions import NotFittedError
from ..stream import OnlineViterbi
from ._util import (
    as_real_2d,
    broadcast_prior,
    check_lengths,
    check_sparse_stochastic,
    check_stochastic,
    first_rows,
    normalize_pattern_rows,
    normalize_rows,
    pattern_rows,
    safe_log,
    uniform_on_pattern,
    values_at,
)
from .monitor import ConvergenceMonitor

__all__ = ["BaseHMM", "DECODER_ALGORITHMS", "IMPLEMENTATIONS"]

_log = logging.getLogger(__name__)

#: Decoder algorithms accepted by ``decode`` / the ``algorithm`` parameter.
#:
#: Examples
#: --------
#: >>> from fastseq.hmm import DECODER_ALGORITHMS
#: >>> sorted(DECODER_ALGORITHMS)
#: ['map', 'viterbi']
DECODER_ALGORITHMS = frozenset(("viterbi", "map"))
#: Accepted values of ``implementation`` (both run the same exact batched kernels).
#:
#: Examples
#: --------
#: >>> from fastseq.hmm.base import IMPLEMENTATIONS
#: >>> sorted(IMPLEMENTATIONS)
#: ['log', 'scaling']
IMPLEMENTATIONS = frozenset(("log", "scaling"))

# a seed or a random number generator, as check_random_state takes it
RandomStateLike = Union[None, int, np.random.RandomState]

_HMM = TypeVar("_HMM", bound="BaseHMM")


def _value_changed(value, default):
    if value is default:
        return False
    if isinstance(value, np.ndarray) or isinstance(default, np.ndarray):
        return True
    try:
        return bool(value != default)
    except Exception:  # pragma: no cover - exotic types
        return True


# ---------------------------------------------------------------------------------------------
# the base model
# ---------------------------------------------------------------------------------------------

def _map_counts(prior, counts, current):
    """Dirichlet MAP pseudo-counts ``prior - 1 + counts`` (negatives clipped); with the
    ``current`` probabilities (EM), their zeros stay zero."""
    x = np.maximum(prior - 1.0 + counts, 0.0)
    return x if current is None else np.where(current == 0, 0.0, x)


class BaseHMM:
    """Base class of fastseq's HMMs: EM on the batched kernels, scoring, decoding, sampling.

    Not used directly: it has no emission model. The public classes are
    :class:`fastseq.hmm.CategoricalHMM` and :class:`fastseq.hmm.GaussianHMM`; the methods
    documented here are theirs. ``params`` / ``init_params`` letters: ``'s'`` startprob,
    ``'t'`` transmat, plus the emission letters of the subclass.

    Parameters
    ----------
    n_components : int, default 1
        Number of states.
    startprob_prior : float or array-like of shape (n_components,), default 1.0
        Dirichlet prior on :attr:`startprob_` (``prior - 1`` pseudo-counts; 1.0 = none).
    transmat_prior : float, array-like or sparse matrix, default 1.0
        Dirichlet prior on each row of :attr:`transmat_`, a scalar or of shape
        ``(n_components, n_components)``. A ``scipy.sparse`` prior (concentrations at its
        stored entries, 1 = no pseudo-count) also gives the pattern of a sparse
        :attr:`transmat_` that ``init_params`` initialises (uniform over each row's
        entries).
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
    params : str, default "st"
        Parameters updated by EM: any of ``'s'`` startprob, ``'t'`` transmat, plus the
        emission letters of the subclass.
    init_params : str, default "st"
        Parameters initialised before EM (same letters).
    implementation : {"log", "scaling"}, default "log"
        Accepted for compatibility; both use fastseq's exact kernels.
    n_threads : int, optional
        Threads of the kernels (``None`` = every core this process may use, ``-1`` = all
        cores); results are identical for any value.

    Attributes
    ----------
    monitor_ : ConvergenceMonitor
        Convergence monitor of the last ``fit``.
    startprob_ : ndarray of shape (n_components,), dtype float64
        Initial state distribution.
    transmat_ : ndarray or scipy.sparse matrix of shape (n_components, n_components)
        ``transmat_[i, j]`` = probability of moving from state i to state j. A sparse
        matrix (any format; kept as a ``csr_array``) lists the allowed moves: EM keeps its
        pattern, and the E-step, scoring and decoding run the sparse kernels, at O(T nnz)
        instead of O(T n_components^2).

    See Also
    --------
    CategoricalHMM : HMM with discrete emissions.
    GaussianHMM : HMM with Gaussian emissions.

    Examples
    --------
    >>> from fastseq.hmm import BaseHMM, CategoricalHMM, GaussianHMM
    >>> issubclass(CategoricalHMM, BaseHMM), issubclass(GaussianHMM, BaseHMM)
    (True, True)
    """

    #: fitted emission attributes, by ``params`` letter (subclasses set this)
    _emission_params: Dict[str, str] = {}

    def __init__(self, n_components: int = 1, startprob_prior: ArrayLike = 1.0,
                 transmat_prior: ArrayLike = 1.0, *, algorithm: str = "viterbi",
                 random_state: RandomStateLike = None, n_iter: int = 10, tol: float = 1e-2,
                 verbose: bool = False, params: str = "st", init_params: str = "st",
                 implementation: str = "log", n_threads: Optional[int] = None) -> None:
        self.n_components = n_components
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.params = params
        self.init_params = init_params
        self.implementation = implementation
        self.n_threads = n_threads
        self.monitor_ = ConvergenceMonitor(tol, n_iter, verbose)

    # -- scikit-learn estimator protocol ---------------------------------------------------
    @classmethod
    def _get_param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """Constructor parameters as a dict (scikit-learn's estimator protocol).

        Parameters
        ----------
        deep : bool, default True
            Ignored (an HMM has no sub-estimators); accepted for scikit-learn.

        Returns
        -------
        dict
            Parameter name -> current value, for every constructor parameter.

        See Also
        --------
        set_params : Set them.

        Examples
        --------
        >>> from fastseq.hmm import GaussianHMM
        >>> params = GaussianHMM(n_components=3, covariance_type="full").get_params()
        >>> params["n_components"], params["covariance_type"], params["n_iter"]
        (3, 'full', 10)
        """
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self: _HMM, **params: Any) -> _HMM:
        """Set constructor parameters (scikit-learn's estimator protocol).

        Values are stored as given; they are checked when the model is next fitted or
        used.

        Parameters
        ----------
        **params : dict
            Parameter name -> new value; the names are those of :meth:`get_params`.

        Returns
        -------
        self : BaseHMM
            The model itself.

        Raises
        ------
        ValueError
            If a name is not a constructor parameter; the message lists the valid ones.

        Examples
        --------
        >>> from fastseq.hmm import CategoricalHMM
        >>> CategoricalHMM(n_components=2).set_params(n_iter=50, tol=1e-4)
        CategoricalHMM(n_components=2, n_iter=50, tol=0.0001)
        """
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"Invalid parameter {key!r} for {type(self).__name__}; "
                                 f"valid parameters: {valid}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        parts = []
        for p in sig.parameters.values():
            if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            value = getattr(self, p.name)
            if _value_changed(value, p.default):
                parts.append(f"{p.name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    # -- validation -------------------------------------------------------------------------
    def _validate_params(self):
        """Check the constructor parameters (called by fit / fit_supervised)."""
        check_int(self.n_components, "n_components", 1)
        check_int(self.n_iter, "n_iter", 0)
        if not isinstance(self.tol, numbers.Real) or np.isnan(self.tol):
            raise TypeError(f"`tol` must be a real number, got {self.tol!r}")
        for name in ("params", "init_params"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"`{name}` must be a string of parameter letters, got "
                                f"{type(getattr(self, name)).__name__}")
        self._check_implementation()
        ops.effective_n_threads(self.n_threads)

    def _check_implementation(self):
        if self.implementation not in IMPLEMENTATIONS:
            raise ValueError(f"`implementation` must be one of {sorted(IMPLEMENTATIONS)}, got "
                             f"{self.implementation!r}")

    def _check_fitted(self):
        need = ["startprob_", "transmat_"] + list(self._emission_params.values())
        missing = [n for n in need if not hasattr(self, n)]
        if missing:
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet (missing "
                f"{', '.join(missing)}); call fit / fit_supervised or set them by hand")

    def _check(self):
        """Validate the model parameters (shapes, stochastic rows, emission parameters)."""
        nc = check_int(self.n_components, "n_components", 1)
        self.startprob_ = check_stochastic(self.startprob_, "startprob_", (nc,))
        if sparse.issparse(self.transmat_):
            self.transmat_ = check_sparse_stochastic(self.transmat_, "transmat_", nc)
        else:
            self.transmat_ = check_stochastic(self.transmat_, "transmat_", (nc, nc))
        self._check_emissions()

    def _check_emissions(self):
        """Validate the emission parameters (a subclass without any: nothing to check)."""

    def _validate_X(self, X, *, fitting) -> np.ndarray:
        """Return a validated sample matrix; with ``fitting`` also set ``n_features``.

        This default (real-valued samples) serves subclasses written for hmmlearn's
        contract, which only override ``_compute_log_likelihood``."""
        arr = as_real_2d(X)
        if fitting or getattr(self, "n_features", None) is None:
            self.n_features = arr.shape[1]
        elif arr.shape[1] != self.n_features:
            raise ValueError(f"`X` has {arr.shape[1]} features, but this model has "
                             f"n_features = {self.n_features}")
        return arr

    def _check_and_set_n_features(self, X):
        """hmmlearn's name for validating ``X`` and setting ``n_features`` from it (for
        subclasses and code written against hmmlearn's base class)."""
        self._validate_X(X, fitting=True)

    def _check_states(self, states, n_samples) -> NDArray[np.int64]:
        arr = ops.as_numpy(states, "states")
        if arr.dtype.kind not in "iu":
            raise TypeError(f"`states` must be an integer array, got dtype {arr.dtype}")
        arr = arr.reshape(-1) if arr.ndim == 2 and arr.shape[1:] == (1,) else arr
        if arr.shape != (n_samples,):
            raise ValueError(f"`states` must have shape (n_samples,) = ({n_samples},), got "
                             f"{np.shape(states)}")
        arr = arr.astype(np.int64)
        if arr.min() < 0 or arr.max() >= self.n_components:
            bad = arr[(arr < 0) | (arr >= self.n_components)][0]
            raise ValueError(f"`states` must be in [0, n_components) = [0, "
                             f"{self.n_components}), got {bad}")
        return arr

    def _prepare_inputs(self, X, lengths) -> Tuple[np.ndarray, NDArray[np.int64]]:
        """Validation shared by the scoring / decoding methods."""
        self._check_implementation()
        self._check_fitted()
        self._check()
        X = self._validate_X(X, fitting=False)
        return X, check_lengths(lengths, X.shape[0])

    # -- emission interface (subclasses) ------------------------------------------------------
    def _compute_log_likelihood(self, X):
        """Emission log-probabilities ``log P(X[t] | state)``, shape (n_samples,
        n_components), for a validated ``X``."""
        raise NotImplementedError

    def _fit_prepare(self, X):
        """Per-fit cache of ``X`` in the form the E/M-steps use (e.g. one-hot, centred)."""
        return X

    def _fit_log_likelihood(self, prep):
        """Like :meth:`_compute_log_likelihood` from the per-fit cache."""
        return self._compute_log_likelihood(prep)

    def _emission_stats(self, prep, post):
        """Emission sufficient statistics from posteriors (dense (n, nc) or sparse one-hot)."""
        return {}

    def _supervised_emission_stats(self, prep, states):
        n = states.shape[0]
        onehot = sparse.csr_matrix((np.ones(n), (np.arange(n), states)),
                                   shape=(n, self.n_components))
        return self._emission_stats(prep, onehot)

    def _do_emission_mstep(self, stats, supervised):
        pass

    def _init_emissions(self, X, lengths):
        pass

    def _get_n_fit_scalars_per_param(self):
        nc = self.n_components
        pattern = self._transition_pattern()
        if pattern is None:
            return {"s": nc - 1, "t": nc * (nc - 1)}
        # each row's entries, less one for its sum
        return {"s": nc - 1, "t": int(pattern.nnz - np.count_nonzero(np.diff(pattern.indptr)))}

    def _transition_pattern(self):
        """The allowed moves, when the transitions are sparse: ``transmat_`` checked, or,
        before there is one, uniform over ``transmat_prior``'s pattern. None when dense."""
        nc = self.n_components
        if sparse.issparse(getattr(self, "transmat_", None)):
            return check_sparse_stochastic(self.transmat_, "transmat_", nc)
        if sparse.issparse(self.transmat_prior):
            return uniform_on_pattern(self.transmat_prior, "transmat_prior", nc)
        return None

    def _generate_samples(self, n_samples, rs, currstate):
        """``(X, states)``: ``n_samples`` draws with the RandomState ``rs``.

        This default calls hmmlearn's per-state hook,
        ``_generate_sample_from_state(state, random_state)``, once per sample."""
        draw_one = getattr(self, "_generate_sample_from_state", None)
        if draw_one is None:
            raise NotImplementedError(f"{type(self).__name__} cannot sample: it defines "
                                      "neither _generate_samples nor "
                                      "_generate_sample_from_state")
        draws = []
        states = self._sample_states(n_samples, rs, currstate,
                                     lambda s: draws.append(draw_one(s, rs)))
        return np.asarray(draws).reshape(n_samples, -1), states

    # -- initialisation ---------------------------------------------------------------------
    def _needs_init(self, code, name):
        if code in self.init_params:
            if hasattr(self, name):
                _log.warning("Even though the %r attribute is set, it will be overwritten "
                             "during initialization because 'init_params' contains %r",
                             name, code)
            return True
        return not hasattr(self, name)

    def _init(self, X, lengths):
        """Initialise the parameters named in ``init_params`` (and any that are missing).

        startprob_ and transmat_ are Dirichlet(1/n_components) draws from
        ``check_random_state(random_state)``, in the same order as hmmlearn, so an int seed
        gives hmmlearn's initial startprob_ and transmat_.
        """
        nc = self.n_components
        rs = check_random_state(self.random_state)
        if getattr(self, "n_features", None) is None:  # _init called directly, as in hmmlearn
            self._check_and_set_n_features(X)
        if self._needs_init("s", "startprob_"):
            self.startprob_ = rs.dirichlet(np.full(nc, 1.0 / nc))
        if self._needs_init("t", "transmat_"):
            if sparse.issparse(self.transmat_prior):  # its pattern, uniform over each row
                self.transmat_ = uniform_on_pattern(self.transmat_prior, "transmat_prior", nc)
            else:
                self.transmat_ = rs.dirichlet(np.full(nc, 1.0 / nc), size=nc)
        self._init_emissions(X, lengths)
        n_scalars = self._get_n_fit_scalars_per_param()
        n_fit = sum(v for k, v in n_scalars.items() if k in self.params)
        if X.size < n_fit:
            _log.warning("Fitting a model with %d free scalar parameters with only %d data "
                         "points will result in a degenerate solution.", n_fit, X.size)

    # -- EM -----------------------------------------------------------------------------------
    def _log_start_trans(self):
        if sparse.issparse(self.transmat_):
            return safe_log(self.startprob_), structured.log_probabilities(self.transmat_)
        return safe_log(self.startprob_), safe_log(self.transmat_)

    def _estep_log_start_trans(self):
        """Start and transition log-weights of the E-step (variational models use
        sub-normalised expectations here, while scoring keeps :meth:`_log_start_trans`)."""
        return self._log_start_trans()

    def _do_estep(self, prep, lengths):
        """One batched E-step: returns ``(stats, log_likelihood)``."""
        log_em = self._fit_log_likelihood(prep)
        log_start, log_trans = self._estep_log_start_trans()
        need_pair = "t" in self.params
        if sparse.issparse(log_trans):
            node, trans, log_Z = self._sparse_posteriors(log_em, log_trans, log_start, lengths,
                                                         need_pair)
        else:
            node, pair, log_Z = ops.marginals(log_em, log_trans, start=log_start,
                                              lengths=lengths, pairwise=need_pair,
                                              n_threads=self.n_threads)
            trans = pair.sum(axis=0) if need_pair else None
        stats = {"nobs": int(lengths.size)}
        if "s" in self.params:
            first = first_rows(lengths)
            stats["start"] = node[first].sum(axis=0)
        if need_pair:
            stats["trans"] = trans
        stats.update(self._emission_stats(prep, node))
        return stats, float(np.sum(log_Z))

    # the sparse E-step's per-sequence pair sums (nnz each) are made this many bytes at most
    # at a time: a chunk of sequences per call
    _PAIR_CHUNK_BYTES = 64 << 20

    def _sparse_posteriors(self, log_em, log_trans, log_start, lengths, need_pair):
        """Node marginals, expected counts of the stored moves (summed over the sequences;
        None unless ``need_pair``) and log-likelihoods, over sparse transitions."""
        node = np.empty_like(log_em)
        log_Z = np.empty(lengths.size)
        counts = np.zeros(log_trans.nnz) if need_pair else None
        chunk = max(1, self._PAIR_CHUNK_BYTES // max(8 * log_trans.nnz, 1))
        ends = np.cumsum(lengths)
        for lo in range(0, lengths.size, chunk):
            hi = min(lo + chunk, lengths.size)
            r0, r1 = ends[lo] - lengths[lo], ends[hi - 1]
            m = ops.marginals(log_em[r0:r1], log_trans, start=log_start,
                              lengths=lengths[lo:hi], pairwise=need_pair,
                              n_threads=self.n_threads)
            node[r0:r1] = m.node
            log_Z[lo:hi] = m.log_Z
            if need_pair:
                counts += np.sum([p.data for p in m.pair], axis=0)
        return node, counts, log_Z

    def _do_mstep(self, stats, supervised=False):
        """MAP update of the parameters in ``params`` from (expected or hard) counts.

        Dirichlet priors act as ``prior - 1`` pseudo-counts (negative results clipped to 0).
        In EM, zero probabilities stay zero (left-right models keep their structure) and a
        row with no expected counts keeps its previous values; in supervised estimation such
        a row becomes uniform (both are reported through logging).
        """
        nc = self.n_components
        if "s" in self.params:
            prior = broadcast_prior(self.startprob_prior, (nc,), "startprob_prior")
            old = None if supervised else self.startprob_
            sp = _map_counts(prior, stats["start"], old)
            self.startprob_ = normalize_rows(sp, old, "startprob_")
        if "t" in self.params:
            pattern = self._transition_pattern()
            if pattern is None:
                prior = broadcast_prior(self.transmat_prior, (nc, nc), "transmat_prior")
                old = None if supervised else self.transmat_
                tm = _map_counts(prior, stats["trans"], old)
                self.transmat_ = normalize_rows(tm, old, "transmat_")
            else:  # counts of the stored moves: the pattern stays
                prior = values_at(self.transmat_prior, pattern, "transmat_prior")
                old = None if supervised else pattern
                tm = _map_counts(prior, stats["trans"], None if old is None else old.data)
                self.transmat_ = normalize_pattern_rows(pattern, tm, old, "transmat_")
        self._do_emission_mstep(stats, supervised)

    def fit(self: _HMM, X: ArrayLike, lengths: Optional[ArrayLike] = None) -> _HMM:
        """Estimate the model parameters with Baum-Welch (EM).

        Parameters named in ``init_params`` (and any not set yet) are initialised first;
        then each iteration runs one batched E-step over all sequences and a vectorised
        M-step of the parameters named in ``params``. Iterations stop after ``n_iter`` or
        when the log-likelihood gains less than ``tol`` (see :attr:`monitor_`; its ``tol``,
        ``n_iter`` and ``verbose`` are refreshed from the model's at every ``fit``, so
        ``set_params(n_iter=...)`` takes effect -- hmmlearn keeps the values the monitor
        was created with).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature matrix of individual samples (all sequences concatenated).
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the individual sequences in ``X``; they must sum to ``n_samples``.
            Default: ``X`` is one sequence.

        Returns
        -------
        self : BaseHMM
            The fitted model.

        Raises
        ------
        TypeError
            If a constructor parameter or ``X`` has the wrong type.
        ValueError
            If a constructor parameter has an invalid value, ``X`` is not a valid sample
            matrix for the model, or ``lengths`` is not 1-D, non-negative integers summing
            to ``n_samples``.
        KeyboardInterrupt
            When training is interrupted (Ctrl-C); it stops as soon as the kernel call
            running then returns.

        See Also
        --------
        fit_supervised : Estimate the parameters from labelled sequences.

        Notes
        -----
        ``fit`` is all or nothing: when it raises, whatever the error -- an interrupt
        (:class:`KeyboardInterrupt`) between iterations included -- the model's parameters
        and :attr:`monitor_` are left as they were before the call, never part-way through
        an iteration.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.hmm import CategoricalHMM
        >>> X = np.random.RandomState(0).randint(0, 3, size=(300, 1))
        >>> model = CategoricalHMM(n_components=2, n_iter=100, random_state=0)
        >>> model = model.fit(X, lengths=[100, 200])
        >>> model.monitor_.converged
        True
        >>> model.transmat_.shape, model.emissionprob_.shape
        ((2, 2), (2, 3))
        """
        return self._all_or_nothing(self._fit, X, lengths)

    def _all_or_nothing(self: _HMM, fit: Callable[..., Any], *args: Any) -> _HMM:
        """``fit(*args)``; if it raises (KeyboardInterrupt included), the model as before."""
        with all_or_nothing(self, self.monitor_):  # fit changes the monitor in place
            fit(*args)
        return self

    def _fit(self, X, lengths):
        self._validate_params()
        X = self._validate_X(X, fitting=True)
        lengths = check_lengths(lengths, X.shape[0])
        self._init(X, lengths)
        self._check()
        monitor = self.monitor_
        monitor.tol, monitor.n_iter, monitor.verbose = self.tol, self.n_iter, self.verbose
        monitor._reset()
        prep = self._fit_prepare(X)
        for _ in range(self.n_iter):
            stats, log_prob = self._do_estep(prep, lengths)
            self._do_mstep(stats)
            monitor.report(log_prob)
            if monitor.converged:
                break

    def fit_supervised(self: _HMM, X: ArrayLike, states: ArrayLike,
                       lengths: Optional[ArrayLike] = None) -> _HMM:
        """Estimate the parameters from labelled sequences by counting.

        The start, transition and emission statistics are the counts of the given hidden
        ``states`` (one per sample); the parameters named in ``params`` are then set by the
        same MAP formulas as the M-step of :meth:`fit`, so the priors act as pseudo-counts
        (e.g. ``transmat_prior=2.0`` is add-one smoothing; the default 1.0 is the plain
        maximum-likelihood estimate). Parameters not in ``params`` must be set already.
        A following ``fit`` with ``init_params=""`` refines the estimate by Baum-Welch
        (semi-supervised training).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature matrix of individual samples (all sequences concatenated).
        states : array-like of int of shape (n_samples,)
            Hidden state of every sample, in ``[0, n_components)``.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the individual sequences in ``X``; they must sum to ``n_samples``.
            Default: ``X`` is one sequence.

        Returns
        -------
        self : BaseHMM
            The fitted model.

        Raises
        ------
        TypeError
            If a constructor parameter, ``X`` or ``states`` has the wrong type (``states``
            must be integers).
        ValueError
            If ``X`` or ``lengths`` is invalid, ``states`` does not have shape
            ``(n_samples,)`` or holds a state outside ``[0, n_components)``, or a parameter
            not in ``params`` is not set yet. A :class:`GaussianHMM` state that never
            occurs in ``states`` is an error too, unless the priors define its mean and
            covariance or the model has them already (they are then kept).

        See Also
        --------
        fit : Baum-Welch (EM) on unlabelled sequences.

        Notes
        -----
        A row of counts that is all zero, prior pseudo-counts included (e.g. a state that
        never starts a sequence or is never left), becomes uniform, which is reported
        through logging. When ``fit_supervised`` raises (:class:`KeyboardInterrupt`
        included), the model is left as it was before the call.

        Examples
        --------
        >>> from fastseq.hmm import CategoricalHMM
        >>> X = [[0], [1], [2], [2], [0], [1]]
        >>> states = [1, 0, 0, 0, 1, 1]
        >>> model = CategoricalHMM(n_components=2).fit_supervised(X, states, lengths=[3, 3])
        >>> model.startprob_.tolist()
        [0.5, 0.5]
        >>> model.emissionprob_.round(4).tolist()
        [[0.0, 0.3333, 0.6667], [0.6667, 0.3333, 0.0]]
        """
        return self._all_or_nothing(self._fit_supervised, X, states, lengths)

    def _fit_supervised(self, X, states, lengths):
        self._validate_params()
        X = self._validate_X(X, fitting=True)
        lengths = check_lengths(lengths, X.shape[0])
        states = self._check_states(states, X.shape[0])
        self._check_supervised_fixed()
        stats = self._supervised_stats(self._fit_prepare(X), states, lengths)
        self._do_mstep(stats, supervised=True)
        self._check()

    def _check_supervised_fixed(self):
        """The parameters fit_supervised does not estimate must be set already."""
        fixed = [name for code, name in [("s", "startprob_"), ("t", "transmat_")]
                 + list(self._emission_params.items())
                 if code not in self.params and not hasattr(self, name)]
        if fixed:
            raise ValueError(f"fit_supervised estimates only the parameters in `params` "
                             f"({self.params!r}); set {', '.join(fixed)} first or add their "
                             "letters to `params`")

    def _supervised_stats(self, prep, states, lengths):
        """The counts of fit_supervised (start, transitions, emissions) of validated data."""
        nc = self.n_components
        first = first_rows(lengths)
        inner = np.ones(states.size, dtype=bool)
        inner[first] = False          # positions whose predecessor is in the same sequence
        cur = states[inner]
        prev = states[np.flatnonzero(inner) - 1]
        pattern = self._transition_pattern() if "t" in self.params else None
        if pattern is None:
            trans = np.bincount(prev * nc + cur, minlength=nc * nc).reshape(nc, nc)
        else:
            trans = self._pattern_counts(pattern, prev, cur)
        stats = {
            "nobs": int(lengths.size),
            "start": np.bincount(states[first], minlength=nc).astype(np.float64),
            "trans": trans.astype(np.float64),
        }
        stats.update(self._supervised_emission_stats(prep, states))
        return stats

    @staticmethod
    def _pattern_counts(pattern, prev, cur):
        """How often each stored move of ``pattern`` is taken (moves outside it: reported
        and left out)."""
        nc = pattern.shape[0]
        keys = pattern_rows(pattern.indptr) * nc + pattern.indices
        want = prev * nc + cur
        pos = np.minimum(np.searchsorted(keys, want), max(keys.size - 1, 0))
        found = keys[pos] == want if keys.size else np.zeros(want.size, bool)
        if not found.all():
            _log.warning("transmat_: %d labelled move(s) are not in the transitions' pattern "
                         "(first: %d -> %d) and are left out", int((~found).sum()),
                         prev[~found][0], cur[~found][0])
        return np.bincount(pos[found], minlength=keys.size)

    # -- scoring ------------------------------------------------------------------------------
    def score_samples(self, X: ArrayLike, lengths: Optional[ArrayLike] = None
                      ) -> Tuple[float, NDArray[np.float64]]:
        """Log-likelihood of ``X`` and the state posteriors of every sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature matrix of individual samples.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the individual sequences in ``X``; they must sum to ``n_samples``.
            Default: ``X`` is one sequence.

        Returns
        -------
        log_prob : float
            Log-likelihood of ``X`` (sum over the sequences).
        posteriors : ndarray of shape (n_samples, n_components), dtype float64
            ``P(state at t = j | its sequence)`` for every sample.

        Raises
        ------
        NotFittedError
            If the model has no parameters yet.
        ValueError
            If the parameters are invalid (e.g. rows not summing to 1), or ``X`` or
            ``lengths`` is.

        See Also
        --------
        score : Log-likelihood only (cheaper).
        decode : Most likely state sequence.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.hmm import CategoricalHMM
        >>> model = CategoricalHMM(n_components=2)
        >>> model.startprob_ = np.array([0.6, 0.4])
        >>> model.transmat_ = np.array([[0.7, 0.3], [0.4, 0.6]])
        >>> model.emissionprob_ = np.array([[0.1, 0.4, 0.5], [0.6, 0.3, 0.1]])
        >>> X = np.array([[0], [1], [2], [2], [0]])
        >>> log_prob, posteriors = model.score_samples(X)
        >>> round(log_prob, 4)
        -5.736
        >>> posteriors.round(3).tolist()
        [[0.234, 0.766], [0.634, 0.366], [0.895, 0.105], [0.858, 0.142], [0.254, 0.746]]
        """
        X, lengths = self._prepare_inputs(X, lengths)
        log_start, log_trans = self._log_start_trans()
        res = ops.marginals(self._compute_log_likelihood(X), log_trans, start=log_start,
                            lengths=lengths, n_threads=self.n_threads)
        return float(np.sum(res.log_Z)), res.node

    def score(self, X: ArrayLike, lengths: Optional[ArrayLike] = None) -> float:
        """Log-likelihood of ``X`` under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature matrix of individual samples.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the individual sequences in ``X``; they must sum to ``n_samples``.
            Default: ``X`` is one sequence.

        Returns
        -------
        log_prob : float
            Log-likelihood of ``X`` (sum over the sequences).

        Raises
        ------
        NotFittedError
            If the model has no parameters yet.
        ValueError
            If the parameters are invalid (e.g. rows not summing to 1), or ``X`` or
            ``lengths`` is.

        See Also
        --------
        score_samples : Log-likelihood and state posteriors.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.hmm import CategoricalHMM
        >>> model = CategoricalHMM(n_components=2)
        >>> model.startprob_ = np.array([0.6, 0.4])
        >>> model.transmat_ = np.array([[0.7, 0.3], [0.4, 0.6]])
        >>> model.emissionprob_ = np.array([[0.1, 0.4, 0.5], [0.6, 0.3, 0.1]])
        >>> X = np.array([[0], [1], [2], [2], [0]])
        >>> round(model.score(X), 4)
        -5.736
        >>> round(model.score(X, lengths=[2, 3]), 4)
        -5.6823
        """
        X, lengths = self._prepare_inputs(X, lengths)
        log_start, log_trans = self._log_start_trans()
        log_Z = ops.log_partition(self._compute_log_likelihood(X), log_trans,
                                  start=log_start, lengths=lengths, n_threads=self.n_threads)
        return float(np.sum(log_Z))

    def decode(self, X: ArrayLike, lengths: Optional[ArrayLike] = None,
               algorithm: Optional[str] = None) -> Tuple[float, NDArray[np.int64]]:
        """Most likely state sequence of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature matrix of individual samples.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the individual sequences in ``X``; they must sum to ``n_samples``.
            Default: ``X`` is one sequence.
        algorithm : {"viterbi", "map"}, optional
            ``"viterbi"``: the single most likely path; ``"map"`` (posterior decoding,
            forward-backward): the most likely state at each position. Defaults to the
            ``algorithm`` parameter.

        Returns
        -------
        log_prob : float
            ``"viterbi"``: log-probability ``log P(X, path)`` of the best paths, summed over
            the sequences. ``"map"``: the sum over samples of the log of the chosen state's
            posterior (hmmlearn returns the sum of the posteriors themselves, not their
            logs).
        state_sequence : ndarray of shape (n_samples,), dtype int64
            State of every sample. Ties between equally good paths go to the lowest state
            index (hmmlearn breaks some ties toward the highest); a sequence with no
            possible path gets -1.

        Raises
        ------
        NotFittedError
            If the model has no parameters yet.
        ValueError
            If ``algorithm`` is unknown, the parameters are invalid, or ``X`` or
            ``lengths`` is.

        See Also
        --------
        predict : The state sequence only.
        score_samples : Log-likelihood and state posteriors.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.hmm import CategoricalHMM
        >>> model = CategoricalHMM(n_components=2)
        >>> model.startprob_ = np.array([0.6, 0.4])
        >>> model.transmat_ = np.array([[0.7, 0.3], [0.4, 0.6]])
        >>> model.emissionprob_ = np.array([[0.1, 0.4, 0.5], [0.6, 0.3, 0.1]])
        >>> X = np.array([[0], [1], [2], [2], [0]])
        >>> log_prob, states = model.decode(X)
        >>> round(log_prob, 4), states.tolist()
        (-7.0741, [1, 0, 0, 0, 1])
        >>> log_prob, states = model.decode(X, algorithm="map")
        >>> round(log_prob, 4), states.tolist()
        (-1.2799, [1, 0, 0, 0, 1])
        """
        algorithm = algorithm or self.algorithm
        if algorithm not in DECODER_ALGORITHMS:
            raise ValueError(f"Unknown decoder {algorithm!r}: `algorithm` must be one of "
                             f"{sorted(DECODER_ALGORITHMS)}")
        X, lengths = self._prepare_inputs(X, lengths)
        log_em = self._compute_log_likelihood(X)
        log_start, log_trans = self._log_start_trans()
        if algorithm == "viterbi":
            paths, scores = ops.viterbi(log_em, log_trans, start=log_start, lengths=lengths,
                                        n_threads=self.n_threads)
            return float(np.sum(scores)), paths
        node = ops.marginals(log_em, log_trans, start=log_start, lengths=lengths,
                             n_threads=self.n_threads).node
        best = node.max(axis=1)
        paths = np.where(best > 0, node.argmax(axis=1), -1).astype(np.int64)
        return float(np.sum(safe_log(best))), paths

    def stream(self, *, max_lag: Optional[int] = None, n_streams: Optional[int] = None,
               filtered: bool = False) -> "OnlineViterbi":
        """An online Viterbi decoder of this model: push samples, get states as they become final.

        The decoder copies the current parameters (later changes to the model do not
        reach it). Its pushes take samples as :meth:`decode` does (one sample, or one per
        stream), scored by the model's emission densities.

        Parameters
        ----------
        max_lag : int, optional
            Commit each state at most this many samples late (default: only where every
            path agrees, which gives :meth:`decode`'s Viterbi path exactly).
        n_streams : int, optional
            Decode this many independent streams together.
        filtered : bool, default False
            Also keep ``p(z_t | x_1..t)`` and the log-likelihood so far.

        Returns
        -------
        fastseq.stream.OnlineViterbi
            The decoder, at position 0.

        Raises
        ------
        NotFittedError
            If the model has no parameters yet.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.hmm import CategoricalHMM
        >>> model = CategoricalHMM(n_components=2)
        >>> model.startprob_ = np.array([0.6, 0.4])
        >>> model.transmat_ = np.array([[0.7, 0.3], [0.4, 0.6]])
        >>> model.emissionprob_ = np.array([[0.1, 0.4, 0.5], [0.6, 0.3, 0.1]])
        >>> dec = model.stream()
        >>> [dec.push([x]).tolist() for x in [0, 1, 2, 2, 0]]   # final states, as known
        [[], [1], [], [0, 0], [0]]
        >>> dec.flush().tolist()        # the rest: together, model.decode()'s path
        [1]
        """
        self._check_implementation()
        self._check_fitted()
        self._check()
        log_start, log_trans = self._log_start_trans()
        if sparse.issparse(self.transmat_):  # the decoders keep dense back-pointers anyway
            log_trans = safe_log(self.transmat_.toarray())

        def scorer(samples):
            X = self._validate_X(np.asarray(samples).reshape(len(samples), -1), fitting=False)
            return self._compute_log_likelihood(X)

        return OnlineViterbi(log_trans, start=log_start, max_lag=max_lag, n_streams=n_streams,
                             filtered=filtered, n_threads=self.n_threads, scorer=scorer)

    def predict(self, X: ArrayLike, lengths: Optional[ArrayLike] = None) -> NDArray[np.int64]:
        """Most likely state of every sample (``decode`` with the model's ``algorithm``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature matrix of individual samples.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the individual sequences in ``X``; they must sum to ``n_samples``.
            Default: ``X`` is one sequence.

        Returns
        -------
        state_sequence : ndarray of shape (n_samples,), dtype int64
            State of every sample (-1 for a sequence with no possible path).

        Raises
        ------
        NotFittedError
            If the model has no parameters yet.
        ValueError
            If the parameters, ``X`` or ``lengths`` are invalid.

        See Also
        --------
        decode : The state sequence and its log-probability.
        predict_proba : State posteriors.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.hmm import CategoricalHMM
        >>> model = CategoricalHMM(n_components=2)
        >>> model.startprob_ = np.array([0.6, 0.4])
        >>> model.transmat_ = np.array([[0.7, 0.3], [0.4, 0.6]])
        >>> model.emissionprob_ = np.array([[0.1, 0.4, 0.5], [0.6, 0.3, 0.1]])
        >>> X = np.array([[0], [1], [2], [2], [0]])
        >>> model.predict(X).tolist()
        [1, 0, 0, 0, 1]
        """
        return self.decode(X, lengths)[1]

    def predict_proba(self, X: ArrayLike, lengths: Optional[ArrayLike] = None
                      ) -> NDArray[np.float64]:
        """State posteriors of every sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature matrix of individual samples.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the individual sequences in ``X``; they must sum to ``n_samples``.
            Default: ``X`` is one sequence.

        Returns
        -------
        posteriors : ndarray of shape (n_samples, n_components), dtype float64
            ``P(state at t = j | its sequence)``; each row sums to 1.

        Raises
        ------
        NotFittedError
            If the model has no parameters yet.
        ValueError
            If the parameters, ``X`` or ``lengths`` are invalid.

        See Also
        --------
        score_samples : The posteriors and the log-likelihood.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.hmm import CategoricalHMM
        >>> model = CategoricalHMM(n_components=2)
        >>> model.startprob_ = np.array([0.6, 0.4])
        >>> model.transmat_ = np.array([[0.7, 0.3], [0.4, 0.6]])
        >>> model.emissionprob_ = np.array([[0.1, 0.4, 0.5], [0.6, 0.3, 0.1]])
        >>> X = np.array([[0], [1], [2], [2], [0]])
        >>> model.predict_proba(X)[0].round(3).tolist()
        [0.234, 0.766]
        """
        return self.score_samples(X, lengths)[1]

    def _n_free_parameters(self):
        return sum(self._get_n_fit_scalars_per_param().values())

    def aic(self, X: ArrayLike, lengths: Optional[ArrayLike] = None) -> float:
        """Akaike information criterion of the model on ``X``.

        ``-2 log L + 2 k``, with ``k`` the number of free parameters -- all of them, as
        hmmlearn counts, whatever ``params`` says.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature matrix of individual samples.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the individual sequences in ``X``; they must sum to ``n_samples``.
            Default: ``X`` is one sequence.

        Returns
        -------
        aic : float
            The lower the better.

        Raises
        ------
        NotFittedError
            If the model has no parameters yet.
        ValueError
            If the parameters, ``X`` or ``lengths`` are invalid.

        See Also
        --------
        bic : Bayesian information criterion.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.hmm import CategoricalHMM
        >>> model = CategoricalHMM(n_components=2)
        >>> model.startprob_ = np.array([0.6, 0.4])
        >>> model.transmat_ = np.array([[0.7, 0.3], [0.4, 0.6]])
        >>> model.emissionprob_ = np.array([[0.1, 0.4, 0.5], [0.6, 0.3, 0.1]])
        >>> X = np.array([[0], [1], [2], [2], [0]])
        >>> round(model.aic(X), 4)    # 7 free parameters
        25.4719
        """
        return -2.0 * self.score(X, lengths) + 2.0 * self._n_free_parameters()

    def bic(self, X: ArrayLike, lengths: Optional[ArrayLike] = None) -> float:
        """Bayesian information criterion of the model on ``X``.

        ``-2 log L + k log(n_samples)``, with ``k`` the number of free parameters, counted
        as in :meth:`aic`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature matrix of individual samples.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the individual sequences in ``X``; they must sum to ``n_samples``.
            Default: ``X`` is one sequence.

        Returns
        -------
        bic : float
            The lower the better.

        Raises
        ------
        NotFittedError
            If the model has no parameters yet.
        ValueError
            If the parameters, ``X`` or ``lengths`` are invalid.

        See Also
        --------
        aic : Akaike information criterion.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.hmm import CategoricalHMM
        >>> model = CategoricalHMM(n_components=2)
        >>> model.startprob_ = np.array([0.6, 0.4])
        >>> model.transmat_ = np.array([[0.7, 0.3], [0.4, 0.6]])
        >>> model.emissionprob_ = np.array([[0.1, 0.4, 0.5], [0.6, 0.3, 0.1]])
        >>> X = np.array([[0], [1], [2], [2], [0]])
        >>> round(model.bic(X), 4)
        22.738
        """
        log_prob = self.score(X, lengths)
        n = len(X)  # type: ignore[arg-type]  # score() checked that X is a sample matrix
        return float(-2.0 * log_prob + self._n_free_parameters() * np.log(n))

    def get_stationary_distribution(self) -> NDArray[np.float64]:
        """Stationary distribution of the Markov chain :attr:`transmat_`.

        The left eigenvector of ``transmat_`` for its largest eigenvalue (1 for a
        stochastic matrix), normalised to sum to 1.

        Returns
        -------
        ndarray of shape (n_components,), dtype float64
            ``pi`` with ``pi @ transmat_ == pi``.

        Raises
        ------
        NotFittedError
            If the model has no ``transmat_`` yet (only it is needed, as in hmmlearn).
        ValueError
            If ``transmat_`` is not a stochastic ``(n_components, n_components)`` matrix.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.hmm import CategoricalHMM
        >>> model = CategoricalHMM(n_components=2)
        >>> model.transmat_ = np.array([[0.7, 0.3], [0.4, 0.6]])
        >>> model.get_stationary_distribution().round(4).tolist()
        [0.5714, 0.4286]
        """
        if not hasattr(self, "transmat_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance has no transmat_ yet; call fit / "
                "fit_supervised or set it by hand")
        nc = check_int(self.n_components, "n_components", 1)
        if sparse.issparse(self.transmat_):  # a dense eigen-decomposition all the same
            transmat = check_sparse_stochastic(self.transmat_, "transmat_", nc).toarray()
        else:
            transmat = check_stochastic(self.transmat_, "transmat_", (nc, nc))
        vals, vecs = linalg.eig(transmat.T)
        vec = np.real_if_close(vecs[:, np.argmax(vals.real)])
        return np.real(vec / vec.sum())

    # -- sampling -----------------------------------------------------------------------------
    def _sample_states(self, n_samples, rs, currstate, draw):
        """The state chain, drawing uniforms in hmmlearn's order.

        hmmlearn draws one uniform for the first state (unless ``currstate`` is given), then
        alternates: the emission draw(s) of the current state, one uniform for the next
        state. ``draw`` is a callable ``state -> None`` making the emission draws at the
        right place in the stream (so Gaussian normals interleave as in hmmlearn).
        """
        start_cdf = np.cumsum(self.startprob_).tolist()
        nc = self.n_components
        if sparse.issparse(self.transmat_):  # each row's cdf over its entries, when needed
            T = sparse.csr_array(self.transmat_)
            rows: Dict[int, Tuple[list, list]] = {}

            def row(i):
                if i not in rows:
                    lo, hi = T.indptr[i], T.indptr[i + 1]
                    rows[i] = (np.cumsum(T.data[lo:hi]).tolist(), T.indices[lo:hi].tolist())
                return rows[i]
        else:
            dense_cdf = np.cumsum(self.transmat_, axis=1).tolist()
            cols = list(range(nc))

            def row(i):
                return dense_cdf[i], cols

        def pick(cdf, u, states):
            k = bisect.bisect_right(cdf, u)
            if k >= len(cdf):  # u at the top of the rounding: the last state of mass
                k = int(np.flatnonzero(np.diff(np.r_[0.0, cdf]) > 0)[-1])
            return states[k]

        states = np.empty(n_samples, dtype=np.int64)
        state = (pick(start_cdf, rs.rand(), range(nc)) if currstate is None
                 else int(currstate))
        for t in range(n_samples):
            if t:
                cdf, to = row(state)
                state = pick(cdf, rs.rand(), to)
            states[t] = state
            draw(state)
        return states

    def sample(self, n_samples: int = 1, random_state: RandomStateLike = None,
               currstate: Optional[int] = None) -> Tuple[np.ndarray, NDArray[np.int64]]:
        """Generate a random sequence from the model.

        The random stream is consumed in hmmlearn's order, so the same seed gives the same
        states (and, for CategoricalHMM, the same symbols) as hmmlearn.

        Parameters
        ----------
        n_samples : int, default 1
            Number of samples to generate.
        random_state : int, numpy.random.RandomState or None, default None
            Defaults to the model's ``random_state``.
        currstate : int, optional
            State of the first sample (otherwise drawn from ``startprob_``).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Samples: int64 symbols for :class:`CategoricalHMM` (``n_features`` = 1 column),
            float64 vectors for :class:`GaussianHMM`.
        state_sequence : ndarray of shape (n_samples,), dtype int64
            States that produced them.

        Raises
        ------
        NotFittedError
            If the model has no parameters yet.
        TypeError
            If ``n_samples`` or ``currstate`` is not an int, or ``random_state`` is not a
            seed or a RandomState.
        ValueError
            If ``n_samples`` < 1, ``currstate`` is outside ``[0, n_components)``, or the
            parameters are invalid.

        Examples
        --------
        >>> import numpy as np
        >>> from fastseq.hmm import CategoricalHMM
        >>> model = CategoricalHMM(n_components=2)
        >>> model.startprob_ = np.array([0.6, 0.4])
        >>> model.transmat_ = np.array([[0.7, 0.3], [0.4, 0.6]])
        >>> model.emissionprob_ = np.array([[0.1, 0.4, 0.5], [0.6, 0.3, 0.1]])
        >>> X, states = model.sample(6, random_state=0)
        >>> X.ravel().tolist(), states.tolist()
        ([2, 2, 2, 2, 0, 0], [0, 0, 0, 0, 1, 1])
        """
        self._check_fitted()
        self._check()
        n_samples = check_int(n_samples, "n_samples", 1)
        if currstate is not None:
            currstate = check_int(currstate, "currstate", 0)
            if currstate >= self.n_components:
                raise ValueError(f"`currstate` must be in [0, n_components) = [0, "
                                 f"{self.n_components}), got {currstate}")
        rs = check_random_state(self.random_state if random_state is None else random_state)
        return self._generate_samples(n_samples, rs, currstate)
