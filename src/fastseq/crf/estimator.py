"""The :class:`CRF` estimator: sklearn-crfsuite's API on fastseq's batched kernels."""
from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse

from .. import ops
from .._archive import contents_checked, read_archive, write_archive
from .._state import all_or_nothing
from .._validation import check_bool, check_int, check_real
from ..exceptions import ModelFileError, NotFittedError
from ..stream import OnlineViterbi
from . import persistence
from .items import (
    Batch,
    as_seq_list,
    check_aligned,
    encode_featurized,
    encode_items,
    encode_matrices,
    input_kind,
    labels_of,
    remap_columns,
    split_by_lengths,
    vocabulary_index,
)
from .lbfgs import lbfgs
from .objective import Objective, SparseProduct, feature_set, padded_columns, trigram_set
from .online import arow, averaged_perceptron, passive_aggressive
from .second_order import Chain
from .sgd import l2sgd
from .training_log import TrainingLog, holdout_scores, print_iteration
from .weights import CRFWeights

if TYPE_CHECKING:
    from ..features import Featurized

__all__ = ["CRF", "Tagger", "PARAM_NAMES", "lbfgs_params", "train_lbfgs", "install_fit"]

#: the constructor parameters of :class:`CRF`, in order
PARAM_NAMES = ("algorithm", "min_freq", "all_possible_states", "all_possible_transitions",
               "c1", "c2", "max_iterations", "num_memories", "epsilon", "period", "delta",
               "linesearch", "max_linesearch", "calibration_eta", "calibration_rate",
               "calibration_samples", "calibration_candidates", "calibration_max_trials",
               "gamma", "variance", "pa_type", "c",
               "error_sensitive", "averaging", "verbose", "n_threads", "model_filename", "order")

_ALGORITHMS = ("lbfgs", "ap", "l2sgd", "pa", "arow")
_CALIBRATION = ("calibration_eta", "calibration_rate", "calibration_samples",
                "calibration_candidates", "calibration_max_trials")
_LINESEARCHES = ("MoreThuente", "Backtracking", "StrongBacktracking")
# caches rebuilt on demand, never pickled
_CACHES = ("_matrices_cache", "_attr_index", "_items_index", "_colmap_cache")


def _trigrams(batch: Batch, yid: np.ndarray, N: int, p: Dict[str, Any]) -> Optional[np.ndarray]:
    """The trigram features of a second-order CRF (``p["order"] == 2``), else None."""
    if p["order"] != 2:
        return None
    return trigram_set(batch.lengths, yid, N, all_possible=p["all_possible_transitions"])


class CRF:
    """Linear-chain CRF, a drop-in for ``sklearn_crfsuite.CRF``.

    CRFsuite's first-order linear-chain CRF: *state features* ``(attribute, label)`` and
    *transition features* ``(label, label)``; no start / end features. The score of a label
    sequence is the sum of the weights of its transitions plus, for every token, the sum of
    ``value * weight`` of its attributes paired with the token's label. Only features seen in
    the training data exist unless ``all_possible_states`` / ``all_possible_transitions``.

    Parameters
    ----------
    algorithm : {"lbfgs", "ap", "l2sgd", "pa", "arow"}, default "lbfgs"
        L-BFGS (OWL-QN when ``c1 > 0``) on the regularised log-likelihood, or the averaged
        perceptron (``"averaged-perceptron"`` and ``"averaged_perceptron"`` are accepted for
        ``"ap"``). ``"pa"`` is CRFsuite's passive-aggressive learner, ``"arow"`` its
        adaptive regularization of weights, ``"l2sgd"`` its stochastic gradient descent with
        L2 regularisation (its learning rate calibrated as CRFsuite does).
    min_freq : float, default 0
        Keep only features whose frequency in the training data (the sum of the attribute's
        values; for transitions the count) is at least this.
    all_possible_states, all_possible_transitions : bool, default False
        Also create the state features of every (attribute, label) pair / the transition
        features of every label pair, including those never seen in training.
    c1, c2 : float, default 0 and 1 (lbfgs; c2 also l2sgd)
        L1 and L2 coefficients of the objective ``NLL + c1 ||w||_1 + c2 ||w||^2`` (``c2``
        multiplies the squared norm itself, as in CRFsuite; l2sgd needs ``c2 > 0``).
    max_iterations : int, optional
        The maximum number of iterations. With lbfgs, default unlimited (0 also means
        unlimited); with ap, pa and arow, default 100 epochs; with l2sgd, default 1000 epochs.
    num_memories : int, default 6
        L-BFGS corrections kept.
    epsilon : float, default 1e-5 (lbfgs), 0 (ap, pa, arow)
        With lbfgs, stop when ``||g|| / max(1, ||w||) <= epsilon``; with ap, stop when the
        mean per-sequence error rate of an epoch is below it; with pa and arow, when the
        mean per-sequence cost of an epoch is.
    period : int, default 10
        With lbfgs, stop when the objective improved by less than ``delta`` (relative) over
        the last ``period`` iterations; with l2sgd, epochs.
    delta : float, default 1e-5 (lbfgs), 1e-6 (l2sgd)
        See ``period``.
    linesearch : {"MoreThuente", "Backtracking", "StrongBacktracking"}, default "MoreThuente"
        Accepted for compatibility; L-BFGS always uses a strong-Wolfe search, OWL-QN (c1 > 0)
        backtracking, as CRFsuite does for L1.
    max_linesearch : int, default 20
        Maximum number of trials per line search.
    calibration_eta : float, default 0.1 (l2sgd only)
        The first learning rate tried by l2sgd's calibration.
    calibration_rate : float, default 2
        The factor between two learning rates the calibration tries.
    calibration_samples : int, default 1000
        The number of sequences the calibration trains on.
    calibration_candidates : int, default 10
        The number of learning rates that must lower the loss before the calibration
        stops trying larger (then smaller) ones.
    calibration_max_trials : int, default 20
        The maximum number of learning rates the calibration tries.
    gamma : float, default 1 (arow only)
        AROW's trade-off parameter.
    variance : float, default 1 (arow only)
        AROW's initial variance of every weight.
    pa_type : {0, 1, 2}, default 1 (pa only)
        Passive-aggressive update: without slack variables, PA-I or PA-II.
    c : float, default 1 (pa only)
        Passive-aggressive aggressiveness parameter (types 1 and 2).
    error_sensitive : bool, default True (pa only)
        Whether the passive-aggressive cost counts the number of wrong labels.
    averaging : bool, default True (pa only)
        Whether passive-aggressive returns the weights averaged over all updates.
    verbose : bool, default False
        Print one line per iteration to stderr (iteration, loss, gradient norm, active
        features, seconds, and holdout scores when ``X_dev`` is given).
    n_threads : int, optional
        Threads for the kernels and the sparse products (None: every core the process may
        use, -1: all cores). Results are the same for any value.
    model_filename : str or os.PathLike, optional
        When given, :meth:`fit` also writes the model to this file (as :meth:`save`), and an
        unfitted CRF reads its model from this file, if it exists, on first use (as
        sklearn-crfsuite does with its CRFsuite model file).
    order : {1, 2}, optional
        2: a second-order CRF, which adds a weight for every label triple seen in training
        (every one with ``all_possible_transitions``) to the first-order features and runs
        the sparse kernels over label pairs (:mod:`fastseq.crf.second_order`). lbfgs only;
        not part of sklearn-crfsuite. Default 1.

    Attributes
    ----------
    classes_ : list of str
        Labels in model order (order of first appearance in ``y``).
    attributes_ : list of str
        Attribute names in column order.
    state_features_ : dict of (str, str) to float
        ``{(attribute, label): weight}`` of the non-zero state weights.
    transition_features_ : dict of (str, str) to float
        ``{(label_from, label_to): weight}`` of the non-zero transition weights.
    training_log_ : TrainingLog or None
        What training did, iteration by iteration (None before :meth:`fit`; after
        :meth:`load`, a log with no iterations holding the stop reason and the training
        time).
    num_attributes_ : int
        Number of attributes.
    size_ : int
        Size in bytes of CRFsuite's model file for this model.
    num_features_ : int
        Number of features (state + transition).
    tagger_ : Tagger
        python-crfsuite's tagger interface on the model.
    n_train_tokens_, n_train_sequences_ : int
        Number of training tokens and sequences (set by :meth:`fit`).
    train_time_ : float
        Seconds :meth:`fit` took (set by :meth:`fit`).

    Raises
    ------
    TypeError, ValueError
        From :meth:`fit` (parameters are checked when training starts): for a parameter of
        the wrong type or value, an lbfgs-only parameter (``c1``, ``c2``, ``num_memories``,
        ``period``, ``delta``, ``linesearch``, ``max_linesearch``) given with
        ``algorithm="ap"``, ``"pa"`` or ``"arow"``, or a parameter of pa, arow or l2sgd's
        calibration given with another algorithm, or ``c1``, ``num_memories``, ``epsilon``,
        ``linesearch``, ``max_linesearch`` with ``"l2sgd"``.

    See Also
    --------
    fastseq.taggers.CRFTagger : A tagger that builds the features from templates.
    fastseq.features.FeatureExtractor : Feature templates applied to whole batches.

    Notes
    -----
    Before :meth:`fit` the fitted attributes above are None, as in sklearn-crfsuite; the
    methods raise :class:`~fastseq.exceptions.NotFittedError`.

    Training (``algorithm="lbfgs"``) minimises, as CRFsuite does, ``sum over sequences of
    -log P(y | x) + c1 ||w||_1 + c2 ||w||_2^2``. All training tokens become one sparse CSR
    matrix once; per evaluation the emission scores of every token are one sparse product,
    the loss and its gradient come from one call of :func:`fastseq.crf_nll` over all
    sequences, and the weight gradient is one sparse product back. Stopping rules are
    CRFsuite's. ``algorithm="ap"`` is CRFsuite's averaged perceptron. Memory is
    proportional to the number of non-zero features.

    Examples
    --------
    >>> from fastseq.crf import CRF
    >>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]]
    >>> y = [["DET", "NOUN"], ["DET", "NOUN"]]
    >>> crf = CRF(c2=0.1).fit(X, y)
    >>> crf
    CRF(c2=0.1)
    >>> crf.predict([[{"w": "the"}, {"w": "cat"}]])
    [['DET', 'NOUN']]
    >>> crf.classes_, crf.num_features_
    (['DET', 'NOUN'], 5)

    Feature matrices instead of feature dicts (attribute ``j`` is column ``j``):

    >>> import numpy as np
    >>> Xm = [np.array([[1.0, 0.0], [0.0, 1.0]])]
    >>> CRF().fit(Xm, [["A", "B"]]).predict([np.array([[0.0, 1.0]])])
    [['B']]
    """

    def __init__(self, algorithm: Optional[str] = None, min_freq: Optional[float] = None,
                 all_possible_states: Optional[bool] = None,
                 all_possible_transitions: Optional[bool] = None, c1: Optional[float] = None,
                 c2: Optional[float] = None, max_iterations: Optional[int] = None,
                 num_memories: Optional[int] = None, epsilon: Optional[float] = None,
                 period: Optional[int] = None, delta: Optional[float] = None,
                 linesearch: Optional[str] = None, max_linesearch: Optional[int] = None,
                 calibration_eta: Optional[float] = None,
                 calibration_rate: Optional[float] = None,
                 calibration_samples: Optional[float] = None,
                 calibration_candidates: Optional[int] = None,
                 calibration_max_trials: Optional[int] = None,
                 gamma: Optional[float] = None, variance: Optional[float] = None,
                 pa_type: Optional[int] = None, c: Optional[float] = None,
                 error_sensitive: Optional[bool] = None, averaging: Optional[bool] = None,
                 verbose: bool = False, n_threads: Optional[int] = None,
                 model_filename: Optional[Union[str, "os.PathLike[str]"]] = None,
                 order: Optional[int] = None) -> None:
        self.algorithm = algorithm
        self.min_freq = min_freq
        self.all_possible_states = all_possible_states
        self.all_possible_transitions = all_possible_transitions
        self.c1 = c1
        self.c2 = c2
        self.max_iterations = max_iterations
        self.num_memories = num_memories
        self.epsilon = epsilon
        self.period = period
        self.delta = delta
        self.linesearch = linesearch
        self.max_linesearch = max_linesearch
        self.calibration_eta = calibration_eta
        self.calibration_rate = calibration_rate
        self.calibration_samples = calibration_samples
        self.calibration_candidates = calibration_candidates
        self.calibration_max_trials = calibration_max_trials
        self.gamma = gamma
        self.variance = variance
        self.pa_type = pa_type
        self.c = c
        self.error_sensitive = error_sensitive
        self.averaging = averaging
        self.verbose = verbose
        self.n_threads = n_threads
        self.model_filename = model_filename
        self.order = order
        self.training_log_: Optional[TrainingLog] = None

    # -- scikit-learn protocol -------------------------------------------------------------
    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """Constructor parameters (scikit-learn protocol).

        Parameters
        ----------
        deep : bool, default True
            Ignored (a CRF holds no sub-estimator).

        Returns
        -------
        dict
            ``{name: value}`` of every constructor parameter, as given (None where
            CRFsuite's default applies).

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> params = CRF(c1=0.1).get_params()
        >>> params["c1"], params["c2"], params["algorithm"]
        (0.1, None, None)
        """
        return {p: getattr(self, p) for p in PARAM_NAMES}

    def set_params(self, **params: Any) -> "CRF":
        """Set constructor parameters (scikit-learn protocol).

        The values are checked by the next :meth:`fit`; a fitted model keeps its weights.

        Parameters
        ----------
        **params
            ``name=value`` for constructor parameters.

        Returns
        -------
        CRF
            ``self``.

        Raises
        ------
        ValueError
            For a name that is not a constructor parameter.

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> CRF().set_params(c1=0.5, max_iterations=50)
        CRF(c1=0.5, max_iterations=50)
        """
        for k, v in params.items():
            if k not in PARAM_NAMES:
                raise ValueError(f"Invalid parameter {k!r} for CRF; valid parameters: "
                                 f"{list(PARAM_NAMES)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        parts = [f"{p}={getattr(self, p)!r}" for p in PARAM_NAMES
                 if getattr(self, p) not in (None, False)]
        return f"CRF({', '.join(parts)})"

    def __sklearn_tags__(self):
        """scikit-learn >= 1.6 estimator tags (imported lazily; scikit-learn is optional):
        sequences in, label sequences out, no array validation."""
        from sklearn.utils import InputTags, Tags, TargetTags
        return Tags(estimator_type=None, target_tags=TargetTags(required=True),
                    input_tags=InputTags(two_d_array=False, sparse=True),
                    no_validation=True)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for k in _CACHES:
            state.pop(k, None)
        return state

    def __setstate__(self, state: dict) -> None:
        # pickles from before ``model_filename`` existed
        self.__dict__.update(state)
        for name in ("model_filename",) + _CALIBRATION:
            self.__dict__.setdefault(name, None)

    def _resolve_params(self) -> Dict[str, Any]:
        """The parameters checked and with CRFsuite's defaults filled in."""
        alg = "lbfgs" if self.algorithm is None else self.algorithm
        if not isinstance(alg, str):
            raise TypeError(f"`algorithm` must be a str, got {type(alg).__name__}")
        alg = {"averaged-perceptron": "ap", "averaged_perceptron": "ap"}.get(alg, alg)
        if alg not in _ALGORITHMS:
            raise ValueError(f"`algorithm` must be one of {_ALGORITHMS}, got {alg!r}")

        def opt_int(name, lo, default):
            value = check_int(getattr(self, name), name, lo, allow_none=True)
            return default if value is None else value

        def opt_real(name, lo, default):
            value = check_real(getattr(self, name), name, lo, allow_none=True)
            return default if value is None else value

        p: Dict[str, Any] = {"algorithm": alg}
        p["min_freq"] = opt_real("min_freq", None, 0.0)
        p["all_possible_states"] = check_bool(self.all_possible_states, "all_possible_states")
        p["all_possible_transitions"] = check_bool(self.all_possible_transitions,
                                                   "all_possible_transitions")
        lbfgs_only = ("c1", "c2", "num_memories", "period", "delta", "linesearch",
                      "max_linesearch")
        specific = {"pa": ("pa_type", "c", "error_sensitive", "averaging"),
                       "arow": ("variance", "gamma"), "l2sgd": _CALIBRATION}
        foreign = [k for a, names in specific.items() if a != alg for k in names
                   if getattr(self, k) is not None]
        if foreign:
            raise ValueError(f"parameter(s) {', '.join(foreign)} do not apply to "
                             f"algorithm={alg!r} (CRFsuite rejects them too)")
        if alg == "l2sgd":
            given = [k for k in ("c1", "num_memories", "epsilon", "linesearch",
                                 "max_linesearch") if getattr(self, k) is not None]
            if given:
                raise ValueError(f"parameter(s) {', '.join(given)} do not apply to "
                                 "algorithm='l2sgd' (CRFsuite rejects them too)")
            p["c2"] = opt_real("c2", 0.0, 1.0)
            if p["c2"] <= 0.0:
                raise ValueError("`c2` must be > 0 with algorithm='l2sgd' (its step sizes "
                                 f"divide by it), got {p['c2']!r}")
            p["max_iterations"] = opt_int("max_iterations", 1, 1000)
            p["period"] = opt_int("period", 1, 10)
            p["delta"] = opt_real("delta", 0.0, 1e-6)
            for k, default in (("calibration_eta", 0.1), ("calibration_rate", 2.0),
                               ("calibration_samples", 1000.0)):
                p[k] = opt_real(k, 0.0, default)
                if p[k] <= 0.0:
                    raise ValueError(f"`{k}` must be > 0, got {p[k]!r}")
            p["calibration_candidates"] = opt_int("calibration_candidates", 1, 10)
            p["calibration_max_trials"] = opt_int("calibration_max_trials", 1, 20)
        elif alg == "ap":
            given = [k for k in lbfgs_only if getattr(self, k) is not None]
            if given:
                raise ValueError(f"parameter(s) {', '.join(given)} do not apply to "
                                 "algorithm='ap' (CRFsuite rejects them too)")
            p["max_iterations"] = opt_int("max_iterations", 0, 100)
            p["epsilon"] = opt_real("epsilon", 0.0, 0.0)
        elif alg in ("pa", "arow"):
            given = [k for k in lbfgs_only if getattr(self, k) is not None]
            if given:
                raise ValueError(f"parameter(s) {', '.join(given)} do not apply to "
                                 f"algorithm={alg!r} (CRFsuite rejects them too)")
            p["max_iterations"] = opt_int("max_iterations", 0, 100)
            p["epsilon"] = opt_real("epsilon", 0.0, 0.0)
            if alg == "pa":
                p["pa_type"] = opt_int("pa_type", 0, 1)
                if p["pa_type"] > 2:
                    raise ValueError(f"`pa_type` must be 0, 1 or 2, got {p['pa_type']!r}")
                p["c"] = opt_real("c", 0.0, 1.0)
                if p["c"] <= 0.0 and p["pa_type"] != 0:
                    raise ValueError(f"`c` must be > 0 with pa_type={p['pa_type']}, "
                                     f"got {p['c']!r}")
                for k in ("error_sensitive", "averaging"):
                    p[k] = True if getattr(self, k) is None else check_bool(getattr(self, k), k)
            else:
                for k in ("variance", "gamma"):
                    p[k] = opt_real(k, 0.0, 1.0)
                    if p[k] <= 0.0:
                        raise ValueError(f"`{k}` must be > 0, got {p[k]!r}")
        else:
            p["c1"] = opt_real("c1", 0.0, 0.0)
            p["c2"] = opt_real("c2", 0.0, 1.0)
            p["max_iterations"] = opt_int("max_iterations", 0, 0)
            p["num_memories"] = opt_int("num_memories", 1, 6)
            p["epsilon"] = opt_real("epsilon", 0.0, 1e-5)
            p["period"] = opt_int("period", 0, 10)
            p["delta"] = opt_real("delta", 0.0, 1e-5)
            ls = "MoreThuente" if self.linesearch is None else self.linesearch
            if ls not in _LINESEARCHES:
                raise ValueError(f"`linesearch` must be one of {_LINESEARCHES}, got {ls!r}")
            p["linesearch"] = ls
            p["max_linesearch"] = opt_int("max_linesearch", 1, 20)
        p["verbose"] = bool(self.verbose)
        p["n_threads"] = ops.effective_n_threads(self.n_threads)
        p["order"] = opt_int("order", 1, 1)
        if p["order"] > 2:
            raise ValueError(f"`order` must be 1 or 2, got {p['order']!r}")
        if p["order"] == 2 and alg != "lbfgs":
            raise ValueError(f"order=2 trains with algorithm='lbfgs' only, got {alg!r}")
        return p

    # -- encoding --------------------------------------------------------------------------
    def _model(self) -> Optional[CRFWeights]:
        """The fitted weights, or None; an unfitted CRF whose ``model_filename`` exists reads
        its model from there first (sklearn-crfsuite opens that file the same way)."""
        d = self.__dict__
        path = d.get("model_filename")
        if d.get("_weights") is None and "_classes" not in d and "classes_" not in d \
                and path is not None and os.path.isfile(path):
            loaded = type(self).load(path, n_threads=self.n_threads)
            for k in ("_classes", "_weights", "_attributes", "_space", "_space_uid",
                      "_input_kind", "training_log_"):
                d[k] = loaded.__dict__.get(k)
        return d.get("_weights")

    def _fitted(self) -> CRFWeights:
        weights = self._model()
        if weights is None:
            raise NotFittedError("This CRF instance is not fitted yet; call fit() or load() "
                                 "first")
        return weights

    def _encode_for_model(self, X, name: str) -> Batch:
        """Encode prediction / holdout input over the fitted attribute columns."""
        n_attr = self._fitted().n_attributes
        kind = input_kind(X, name)
        if kind == "featurized":
            M, lengths = encode_featurized(X, name)
            space = X.space
            uid = getattr(space, "uid", None)
            if uid is not None and uid == self._space_uid and M.shape[1] <= n_attr:
                if M.shape[1] < n_attr:
                    M = sparse.csr_matrix((M.data, M.indices, M.indptr),
                                          shape=(M.shape[0], n_attr))
                return Batch(M, lengths)
            colmap = self._colmap_for(space, M.shape[1])
            return Batch(remap_columns(M, colmap, n_attr), lengths)
        seqs = as_seq_list(X, name)
        if kind == "matrix":
            if self._input_kind == "matrix":
                return encode_matrices(seqs, name, n_attr)[0]
            raise TypeError(f"`{name}` holds feature matrices but this model was trained on "
                            f"{self._input_kind} input (attribute names); pass the same kind")
        vocab = self._attribute_index()
        # the model's vocabulary never changes: its index is built once, on first use
        cached = self.__dict__.get("_items_index")
        if cached is None or cached[0] is not vocab:
            cached = self._items_index = (vocab, vocabulary_index(vocab))
        return encode_items(seqs, name, vocab, fit=False, index=cached[1])[0]

    def _attribute_index(self) -> Dict[str, int]:
        idx = self.__dict__.get("_attr_index")
        if idx is None:
            idx = {n: i for i, n in enumerate(self.attributes_)}
            self._attr_index = idx
        return idx

    def _colmap_for(self, space, n_cols: int) -> np.ndarray:
        cache = self.__dict__.setdefault("_colmap_cache", {})
        key = (getattr(space, "uid", id(space)), n_cols)
        cm = cache.get(key)
        if cm is None:
            if not hasattr(space, "attribute_names"):
                raise TypeError("the `space` of a Featurized input must provide "
                                "attribute_names()")
            names = space.attribute_names()
            if len(names) < n_cols:
                raise ValueError("the feature space names fewer attributes than the matrix has "
                                 "columns")
            idx = self._attribute_index()
            cm = np.fromiter((idx.get(n, -1) for n in names[:n_cols]), dtype=np.int64,
                             count=n_cols)
            cache.clear()
            cache[key] = cm
        return cm

    def _encode_training(self, X, name: str, kind: str) -> Batch:
        """Encode training input, setting the attribute names and the input kind."""
        self._space: Any = None
        self._space_uid: Optional[str] = None
        if kind == "featurized":
            M, lengths = encode_featurized(X, name)
            self._space = X.space
            self._space_uid = getattr(X.space, "uid", None)
            self._attributes = None  # names come from the space, lazily
            batch = Batch(M, lengths)
        elif kind == "matrix":
            batch, n_cols = encode_matrices(as_seq_list(X, name), name, None)
            self._attributes = [str(j) for j in range(n_cols or 0)]
        else:
            batch, vocab = encode_items(as_seq_list(X, name), name, None, fit=True)
            self._attributes = list(vocab)
            self._attr_index = vocab
        self._input_kind = kind
        return batch

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, X: Union[Iterable[Any], "Featurized"], y: Iterable[Sequence[str]],
            X_dev: Optional[Union[Iterable[Any], "Featurized"]] = None,
            y_dev: Optional[Iterable[Sequence[str]]] = None) -> "CRF":
        """Train the model.

        The new model replaces any previous one when training completes.

        Parameters
        ----------
        X : list of sequences or Featurized
            Per sequence, a list of token features (dicts or lists of str, as for
            python-crfsuite; see :mod:`fastseq.crf.items`) or a feature matrix
            (``scipy.sparse`` or 2-D ndarray of real numbers, shape ``(n_tokens_i,
            n_features)``, the same ``n_features`` for all); or a whole
            :class:`fastseq.features.Featurized` batch.
        y : list of list of str
            The labels, one per token.
        X_dev, y_dev : optional
            Holdout data in the same form (a Featurized ``X_dev`` from the same feature
            extractor as ``X``), evaluated after every iteration (reported in
            ``training_log_`` and, with ``verbose``, printed); it does not change training.

        Returns
        -------
        CRF
            ``self``, fitted.

        Raises
        ------
        ValueError
            When ``X`` and ``y`` do not correspond one to one, hold no token, or a feature
            value is NaN or infinite; when only one of ``X_dev`` and ``y_dev`` is given or
            ``y_dev`` has labels not in ``y``; for a bad parameter value (see the class).
        TypeError
            For input of the wrong kind (labels that are not str, a mix of feature matrices
            and feature dicts, ``X_dev`` not of the kind of ``X``) or a parameter of the
            wrong type.
        KeyboardInterrupt
            When training is interrupted (Ctrl-C); it stops as soon as the kernel call
            running then returns.

        Notes
        -----
        ``fit`` is all or nothing: when it raises, whatever the error -- an interrupt
        (:class:`KeyboardInterrupt`) part-way through training included -- the model is left
        exactly as it was before the call (unfitted, or holding its previous model), never
        with part of the new one.

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]]
        >>> y = [["DET", "NOUN"], ["DET", "NOUN"]]
        >>> crf = CRF(algorithm="ap", max_iterations=5).fit(X, y)
        >>> crf.training_log_
        TrainingLog(ap, 5 iterations, stop: maximum number of iterations)
        >>> crf.n_train_tokens_, crf.n_train_sequences_
        (4, 2)
        """
        with all_or_nothing(self):
            self._fit(X, y, X_dev, y_dev)
            if self.model_filename is not None:
                self.save(self.model_filename)
        return self

    def _fit(self, X, y, X_dev, y_dev) -> "CRF":
        if (X_dev is None) != (y_dev is None):
            raise ValueError("Pass both `X_dev` and `y_dev` to use holdout data")
        p = self._resolve_params()
        t_start = time.perf_counter()
        for k in _CACHES + ("_weights",):  # drop any previous model
            self.__dict__.pop(k, None)
        kind = input_kind(X, "X")
        ylist = labels_of(y, "y")
        batch = self._encode_training(X, "X", kind)
        n_seqs = int(batch.lengths.size)
        check_aligned(batch.lengths, ylist, "X", "y")
        if batch.X.shape[0] == 0:
            raise ValueError("`X` holds no tokens to train on")
        n_attr = batch.X.shape[1]
        classes: Dict[str, int] = {}
        setd = classes.setdefault
        yid = np.fromiter((setd(t, len(classes)) for s in ylist for t in s), dtype=np.int64,
                          count=batch.X.shape[0])
        self.classes_ = list(classes)
        N = len(self.classes_)
        dev = None
        if X_dev is not None:
            dev_batch = self._encode_dev(X_dev, kind, n_attr)
            dev_labels = labels_of(y_dev, "y_dev")
            check_aligned(dev_batch.lengths, dev_labels, "X_dev", "y_dev")
            unseen = sorted({t for s in dev_labels for t in s} - set(classes))
            if unseen:
                raise ValueError(f"`y_dev` has labels not seen in `y`: {unseen[:10]}")
            dev_y = np.fromiter((classes[t] for s in dev_labels for t in s), dtype=np.int64,
                                count=dev_batch.X.shape[0])
            dev = (dev_batch, dev_y)

        log = TrainingLog(p["algorithm"])
        t0 = time.perf_counter()
        s_attr, s_label, t_from, t_to = feature_set(
            batch, yid, N, min_freq=p["min_freq"], all_possible_states=p["all_possible_states"],
            all_possible_transitions=p["all_possible_transitions"])
        trigrams = _trigrams(batch, yid, N, p)
        n_trigrams = 0 if trigrams is None else trigrams.size
        log.featgen_num_features = int(s_attr.size + t_from.size + n_trigrams)
        log.featgen_seconds = time.perf_counter() - t0
        if p["verbose"]:
            print(f"fastseq CRF ({p['algorithm']}): {n_seqs:,} sequences, "
                  f"{batch.X.shape[0]:,} tokens, {n_attr:,} attributes, {N} "
                  f"labels, {log.featgen_num_features:,} features ({s_attr.size:,} state, "
                  f"{t_from.size:,} transition"
                  + (f", {n_trigrams:,} trigram" if trigrams is not None else "")
                  + f"); {p['n_threads']} thread(s)", file=sys.stderr)
        nt = p["n_threads"]
        pool = ThreadPoolExecutor(nt) if nt > 1 else None
        try:
            obj = Objective(batch, yid, N, s_attr, s_label, t_from, t_to, nt, pool,
                            trigrams=trigrams)
            dev_product = (SparseProduct(obj.to_internal(dev[0].X), nt, pool)
                           if dev is not None else None)

            def record(it, theta):
                """Score the holdout data with weights theta, log and print iteration it."""
                if dev is not None and dev[0].X.shape[0] > 0:
                    dbatch, dy = dev
                    obj.set_weights(theta)
                    chain = Chain(dev_product.matmul(obj.W), obj.T,
                                  obj.T3 if obj.pairs is not None else None)
                    paths = chain.viterbi(dbatch.lengths, nt)
                    holdout_scores(it, paths, dy, dbatch.lengths, dbatch.offsets,
                                   self.classes_)
                log.append(it)
                if p["verbose"]:
                    print_iteration(it)

            t0 = time.perf_counter()
            if p["algorithm"] == "lbfgs":
                theta, reason = self._train_lbfgs(obj, p, record)
            elif p["algorithm"] == "l2sgd":
                theta, reason = l2sgd(obj, c2=p["c2"], max_iterations=p["max_iterations"],
                                      period=p["period"], delta=p["delta"], on_epoch=record,
                                      **{k: p[k] for k in _CALIBRATION})
            elif p["algorithm"] == "pa":
                theta, reason = passive_aggressive(
                    obj, pa_type=p["pa_type"], c=p["c"], error_sensitive=p["error_sensitive"],
                    averaging=p["averaging"], max_iterations=p["max_iterations"],
                    epsilon=p["epsilon"], on_epoch=record)
            elif p["algorithm"] == "arow":
                theta, reason = arow(obj, variance=p["variance"], gamma=p["gamma"],
                                     max_iterations=p["max_iterations"], epsilon=p["epsilon"],
                                     on_epoch=record)
            else:
                theta, reason = averaged_perceptron(obj, max_iterations=p["max_iterations"],
                                                    epsilon=p["epsilon"], on_epoch=record)
            log.training_seconds = time.perf_counter() - t0
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        log.stop_reason = reason
        self._weights = _weights_of(self.classes_, n_attr, (s_attr, s_label, t_from, t_to),
                                    theta, trigrams)
        self.training_log_ = log
        self.n_train_tokens_ = int(batch.X.shape[0])
        self.n_train_sequences_ = n_seqs
        self.train_time_ = time.perf_counter() - t_start
        if p["verbose"]:
            print(f"fastseq CRF: {reason}; {len(log.iterations)} iterations, "
                  f"{log.training_seconds:.2f} s training, {self.train_time_:.2f} s in all",
                  file=sys.stderr)
        return self

    def _encode_dev(self, X_dev, kind: str, n_attr: int) -> Batch:
        dkind = input_kind(X_dev, "X_dev")
        if kind == "featurized":
            if dkind != "featurized" or getattr(X_dev.space, "uid", None) != self._space_uid:
                raise TypeError("`X_dev` must be a Featurized batch from the same feature "
                                "extractor as `X`")
            return Batch(*encode_featurized(X_dev, "X_dev"))
        if kind == "matrix":
            if dkind != "matrix":
                raise TypeError("`X_dev` must hold feature matrices like `X`")
            return encode_matrices(as_seq_list(X_dev, "X_dev"), "X_dev", n_attr)[0]
        if dkind != "items":
            raise TypeError("`X_dev` must hold lists of token features like `X`")
        return encode_items(as_seq_list(X_dev, "X_dev"), "X_dev", self._attribute_index(),
                            fit=False)[0]

    @staticmethod
    def _train_lbfgs(obj: Objective, p: Dict[str, Any], record) -> Tuple[np.ndarray, str]:
        return train_lbfgs(obj, obj.K, p, record)

    def _training_objective(self, X: Any, y: Any
                            ) -> Tuple[Callable[[np.ndarray], Tuple[float, np.ndarray]], int]:
        """``(fun, K)``: the full lbfgs objective on (X, y) as this model's parameters would
        define it -- ``fun(theta) -> (f, g)`` with the NLL plus ``c1 ||theta||_1 + c2
        ||theta||^2`` (L1's gradient taken as ``c1 * sign(theta)``). For tests."""
        p = self._resolve_params()
        kind = input_kind(X, "X")
        if kind == "featurized":
            batch = Batch(*encode_featurized(X, "X"))
        elif kind == "matrix":
            batch = encode_matrices(as_seq_list(X, "X"), "X", None)[0]
        else:
            batch = encode_items(as_seq_list(X, "X"), "X", None, fit=True)[0]
        classes: Dict[str, int] = {}
        yid = np.fromiter((classes.setdefault(t, len(classes)) for s in labels_of(y, "y")
                           for t in s), dtype=np.int64)
        N = len(classes)
        feats = feature_set(batch, yid, N, min_freq=p["min_freq"],
                            all_possible_states=p["all_possible_states"],
                            all_possible_transitions=p["all_possible_transitions"])
        obj = Objective(batch, yid, N, *feats, 1, None, trigrams=_trigrams(batch, yid, N, p))
        c1, c2 = p.get("c1", 0.0), p.get("c2", 0.0)

        def fun(theta):
            theta = np.asarray(theta, dtype=np.float64)
            f, g = obj(theta)
            f += c2 * float(theta @ theta) + c1 * float(np.abs(theta).sum())
            g = g + 2 * c2 * theta + c1 * np.sign(theta)
            return f, g
        return fun, obj.K

    # -- prediction ------------------------------------------------------------------------
    def _matrices(self) -> Tuple[np.ndarray, np.ndarray]:
        """The weight matrices, W's rows padded for the sparse product (cached)."""
        cache = self.__dict__.get("_matrices_cache")
        if cache is None:
            W, T = self._fitted().matrices()
            Wp = np.zeros((W.shape[0], padded_columns(W.shape[1])))
            Wp[:, :W.shape[1]] = W
            cache = self._matrices_cache = (Wp, T)
        return cache

    def _emissions(self, batch: Batch, n_threads: int) -> Tuple[np.ndarray, np.ndarray]:
        W, T = self._matrices()
        N = len(self.classes_)
        if batch.X.shape[0] == 0:
            return np.zeros((0, N)), T
        pool = ThreadPoolExecutor(n_threads) if n_threads > 1 and batch.X.shape[0] >= 8192 \
            else None
        try:
            E = SparseProduct(batch.X, n_threads if pool else 1, pool).matmul(W, N)
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        return E, T

    def _chain(self, batch: Batch, n_threads: int, constraints=None) -> Chain:
        """The chain this model decodes ``batch`` on (over label pairs for order 2)."""
        E, T = self._emissions(batch, n_threads)
        T, start, end = self._constrained(T, constraints)
        return Chain(E, T, self._fitted().trigram_matrix(), start, end)

    def _constrained(self, T, constraints):
        """(T, start, end) with the moves ``constraints`` forbids set to -inf."""
        if constraints is None:
            return T, None, None
        N = len(self.classes_)
        try:
            tm, sm, em = (np.asarray(m, dtype=bool) for m in constraints)
        except (TypeError, ValueError):
            raise TypeError("`constraints` must be (trans_mask, start_mask, end_mask) boolean "
                            "arrays, e.g. from fastseq.allowed_transitions") from None
        if tm.shape != (N, N) or sm.shape != (N,) or em.shape != (N,):
            raise ValueError(f"`constraints` must have shapes ({N}, {N}), ({N},), ({N},) "
                             f"(labels in classes_ order), got {tm.shape}, {sm.shape}, "
                             f"{em.shape}")
        return (np.where(tm, T, -np.inf), np.where(sm, 0.0, -np.inf),
                np.where(em, 0.0, -np.inf))

    def predict_ids(self, X: Union[Iterable[Any], "Featurized"], *,
                    constraints: Optional[Tuple[ArrayLike, ArrayLike, ArrayLike]] = None
                    ) -> Tuple[np.ndarray, np.ndarray]:
        """Viterbi label ids of all tokens, concatenated, and the sequence lengths.

        Parameters
        ----------
        X : list of sequences or Featurized
            As for :meth:`fit`; attributes never seen in training are ignored. Feature
            dicts and Featurized batches are matched to the model's attributes by name
            (feature matrices need a model trained on feature matrices).
        constraints : tuple of array-like of bool, optional
            ``(trans_mask, start_mask, end_mask)`` boolean arrays of shapes ``(N, N)``,
            ``(N,)``, ``(N,)`` in ``classes_`` order (see
            :func:`fastseq.allowed_transitions`) restricting decoding to allowed label
            sequences; a sequence with no allowed path gets -1.

        Returns
        -------
        ids : ndarray of int64, shape (n_tokens,)
            Indices into ``classes_``.
        lengths : ndarray of int64, shape (n_sequences,)
            The number of tokens of each sequence.

        Raises
        ------
        fastseq.exceptions.NotFittedError
            When the model is not fitted.
        TypeError
            For input of the wrong kind (feature matrices for a model trained on named
            attributes: feature dicts or a Featurized batch), or ``constraints`` that are
            not three boolean arrays.
        ValueError
            When ``constraints`` have the wrong shapes, or for bad input values (see
            :meth:`fit`).

        Examples
        --------
        >>> from fastseq import allowed_transitions
        >>> from fastseq.crf import CRF
        >>> X = [[{"w": "Ann"}, {"w": "Lee"}, {"w": "ran"}],
        ...      [{"w": "Bo"}, {"w": "Lee"}, {"w": "sat"}], [{"w": "He"}, {"w": "ran"}]]
        >>> y = [["B-PER", "I-PER", "O"], ["B-PER", "I-PER", "O"], ["O", "O"]]
        >>> crf = CRF(c2=0.01).fit(X, y)
        >>> ids, lengths = crf.predict_ids([[{"w": "Lee"}, {"w": "ran"}]])
        >>> [crf.classes_[i] for i in ids], lengths.tolist()
        (['I-PER', 'O'], [2])

        Under IOB2, ``I-PER`` cannot start a sequence:

        >>> ids, _ = crf.predict_ids([[{"w": "Lee"}, {"w": "ran"}]],
        ...                          constraints=allowed_transitions(crf.classes_))
        >>> [crf.classes_[i] for i in ids]
        ['O', 'O']
        """
        self._fitted()
        batch = self._encode_for_model(X, "X")
        nt = ops.effective_n_threads(self.n_threads)
        if batch.lengths.size == 0:
            return np.zeros(0, dtype=np.int64), batch.lengths
        return self._chain(batch, nt, constraints).viterbi(batch.lengths, nt), batch.lengths

    def stream(self, *, max_lag: Optional[int] = None,
               n_streams: Optional[int] = None) -> "OnlineViterbi":
        """An online Viterbi decoder: push tokens, get label ids as they become final.

        Pushes take one token's features (a dict or list of attributes, as in ``X``), or
        one token per stream; the committed ids index :attr:`classes_`. The labels equal
        :meth:`predict`'s on the whole sequence (with ``max_lag``: at most that many
        tokens late instead). The decoder copies the weights.

        Parameters
        ----------
        max_lag : int, optional
            Commit each label at most this many tokens late (default: only where every
            path agrees).
        n_streams : int, optional
            Decode this many independent token streams together.

        Returns
        -------
        fastseq.stream.OnlineViterbi
            The decoder, at position 0.

        Raises
        ------
        fastseq.exceptions.NotFittedError
            When the model is not fitted.
        ValueError
            For a second-order model (the online decoders run first-order chains).

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]]
        >>> crf = CRF(c2=0.1).fit(X, [["DET", "NOUN"], ["DET", "NOUN"]])
        >>> dec = crf.stream()
        >>> ids = [*dec.push({"w": "a"}), *dec.push({"w": "dog"}), *dec.flush()]
        >>> [crf.classes_[i] for i in ids]
        ['DET', 'NOUN']
        """
        model = self._fitted()
        if model.trigram_matrix() is not None:
            raise ValueError("stream() decodes first-order CRFs; this one has order 2")
        _, T = self._matrices()

        def scorer(tokens):
            return self._emissions(self._encode_for_model([tokens], "tokens"), 1)[0]

        return OnlineViterbi(T, max_lag=max_lag, n_streams=n_streams,
                             n_threads=self.n_threads, scorer=scorer)

    def predict_marginals_array(
            self, X: Union[Iterable[Any], "Featurized"], *,
            constraints: Optional[Tuple[ArrayLike, ArrayLike, ArrayLike]] = None
    ) -> Tuple[np.ndarray, np.ndarray]:
        """Node marginals of all tokens, concatenated, and the sequence lengths.

        Parameters
        ----------
        X : list of sequences or Featurized
            As for :meth:`fit`; attributes never seen in training are ignored.
        constraints : tuple of array-like of bool, optional
            As for :meth:`predict_ids`: the marginals are over the allowed label sequences.

        Returns
        -------
        marginals : ndarray of float64, shape (n_tokens, n_classes)
            ``P(label j at token t | x)``, columns in ``classes_`` order; each row sums to
            1 (0 for a sequence with no allowed path).
        lengths : ndarray of int64, shape (n_sequences,)
            The number of tokens of each sequence.

        Raises
        ------
        fastseq.exceptions.NotFittedError
            When the model is not fitted.
        TypeError, ValueError
            As for :meth:`predict_ids`.

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]]
        >>> y = [["DET", "NOUN"], ["DET", "NOUN"]]
        >>> crf = CRF(c2=0.1).fit(X, y)
        >>> P, lengths = crf.predict_marginals_array(X)
        >>> P.shape, P.round(4)[:2].tolist(), lengths.tolist()
        ((4, 2), [[0.8867, 0.1133], [0.1133, 0.8867]], [2, 2])
        """
        self._fitted()
        batch = self._encode_for_model(X, "X")
        nt = ops.effective_n_threads(self.n_threads)
        if batch.lengths.size == 0:
            return np.zeros((0, len(self.classes_))), batch.lengths
        return self._chain(batch, nt, constraints).marginals(batch.lengths, nt), batch.lengths

    def predict(self, X: Union[Iterable[Any], "Featurized"]) -> List[List[str]]:
        """Most probable label sequence (Viterbi) of every sequence in ``X``.

        Parameters
        ----------
        X : list of sequences or Featurized
            As for :meth:`fit`; attributes never seen in training are ignored.

        Returns
        -------
        list of list of str
            Per sequence, the label of each token.

        Raises
        ------
        fastseq.exceptions.NotFittedError
            When the model is not fitted.
        TypeError, ValueError
            For input of the wrong kind or with bad values (see :meth:`fit`).

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]]
        >>> y = [["DET", "NOUN"], ["DET", "NOUN"]]
        >>> CRF(c2=0.1).fit(X, y).predict([[{"w": "a"}, {"w": "dog"}], [{"w": "cat"}]])
        [['DET', 'NOUN'], ['NOUN']]
        """
        paths, lengths = self.predict_ids(X)
        # one take over all tokens, not an index per token
        classes = np.empty(len(self.classes_), dtype=object)
        classes[:] = self.classes_
        return split_by_lengths(classes.take(paths).tolist(), lengths)

    def predict_single(self, xseq: Any) -> List[str]:
        """Most probable label sequence of one sequence (:meth:`predict` for one).

        Parameters
        ----------
        xseq : list of dict or list of list of str or matrix
            The token features of one sequence, as an element of ``X`` in :meth:`fit`.

        Returns
        -------
        list of str
            The label of each token.

        Raises
        ------
        fastseq.exceptions.NotFittedError
            When the model is not fitted.
        TypeError, ValueError
            For input of the wrong kind or with bad values (see :meth:`fit`).

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]]
        >>> y = [["DET", "NOUN"], ["DET", "NOUN"]]
        >>> CRF(c2=0.1).fit(X, y).predict_single([{"w": "a"}, {"w": "dog"}])
        ['DET', 'NOUN']
        """
        return self.predict([xseq])[0]

    def predict_marginals(self, X: Union[Iterable[Any], "Featurized"]
                          ) -> List[List[Dict[str, float]]]:
        """Per sequence, per token: ``{label: P(label at this token | x)}``.

        Parameters
        ----------
        X : list of sequences or Featurized
            As for :meth:`fit`; attributes never seen in training are ignored.

        Returns
        -------
        list of list of dict of str to float
            Per sequence, per token, the marginal probability of every label (in
            ``classes_`` order); they sum to 1.

        Raises
        ------
        fastseq.exceptions.NotFittedError
            When the model is not fitted.
        TypeError, ValueError
            For input of the wrong kind or with bad values (see :meth:`fit`).

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]]
        >>> y = [["DET", "NOUN"], ["DET", "NOUN"]]
        >>> m = CRF(c2=0.1).fit(X, y).predict_marginals([[{"w": "the"}]])
        >>> {label: round(p, 4) for label, p in m[0][0].items()}
        {'DET': 0.6379, 'NOUN': 0.3621}
        """
        node, lengths = self.predict_marginals_array(X)
        return split_by_lengths([dict(zip(self.classes_, r)) for r in node.tolist()], lengths)

    def predict_marginals_single(self, xseq: Any) -> List[Dict[str, float]]:
        """Per token of one sequence: ``{label: P(label at this token | x)}``.

        :meth:`predict_marginals` for one sequence.

        Parameters
        ----------
        xseq : list of dict or list of list of str or matrix
            The token features of one sequence, as an element of ``X`` in :meth:`fit`.

        Returns
        -------
        list of dict of str to float
            Per token, the marginal probability of every label (in ``classes_`` order).

        Raises
        ------
        fastseq.exceptions.NotFittedError
            When the model is not fitted.
        TypeError, ValueError
            For input of the wrong kind or with bad values (see :meth:`fit`).

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]]
        >>> y = [["DET", "NOUN"], ["DET", "NOUN"]]
        >>> m = CRF(c2=0.1).fit(X, y).predict_marginals_single([{"w": "a"}, {"w": "dog"}])
        >>> [round(p["NOUN"], 4) for p in m]
        [0.1133, 0.8867]
        """
        return self.predict_marginals([xseq])[0]

    def score(self, X: Union[Iterable[Any], "Featurized"],
              y: Iterable[Sequence[str]]) -> float:
        """Token accuracy of :meth:`predict` on ``X`` against ``y``.

        Parameters
        ----------
        X : list of sequences or Featurized
            As for :meth:`fit`.
        y : list of list of str
            The gold labels, one per token; labels unknown to the model count as errors.

        Returns
        -------
        float
            The fraction of tokens labelled correctly (0.0 when there is none).

        Raises
        ------
        fastseq.exceptions.NotFittedError
            When the model is not fitted.
        ValueError
            When ``X`` and ``y`` do not correspond one to one, or for bad input values.
        TypeError
            For input of the wrong kind, or labels that are not str.

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]]
        >>> y = [["DET", "NOUN"], ["DET", "NOUN"]]
        >>> crf = CRF(c2=0.1).fit(X, y)
        >>> crf.score(X, y), crf.score(X, [["DET", "DET"], ["DET", "NOUN"]])
        (1.0, 0.75)
        """
        paths, lengths = self.predict_ids(X)
        ylist = labels_of(y, "y")
        check_aligned(lengths, ylist, "X", "y")
        if paths.size == 0:
            return 0.0
        index = {c: i for i, c in enumerate(self.classes_)}
        gold = np.fromiter((index.get(t, -1) for s in ylist for t in s), dtype=np.int64,
                           count=paths.size)
        return float(np.mean(gold == paths))

    # -- introspection ---------------------------------------------------------------------
    # As in sklearn-crfsuite, the attributes below are None before fit (methods raise
    # NotFittedError).
    @property
    def classes_(self) -> List[str]:
        """Labels in model order (order of first appearance in ``y``); None before fit.

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> crf = CRF()
        >>> crf.classes_ is None
        True
        >>> crf.fit([[{"w": "the"}, {"w": "dog"}]], [["DET", "NOUN"]]).classes_
        ['DET', 'NOUN']
        """
        d = self.__dict__
        if "_classes" not in d and "classes_" not in d:
            self._model()
        return d.get("_classes", d.get("classes_"))  # type: ignore[return-value]

    @classes_.setter
    def classes_(self, labels: List[str]) -> None:
        self.__dict__["_classes"] = labels

    @property
    def attributes_(self) -> List[str]:
        """Attribute names, in column order; None before fit.

        A list of str: python-crfsuite's names for feature dicts (``"w:dog"``), ``"0"``,
        ``"1"``, ... for feature matrices, the feature extractor's names for a
        :class:`fastseq.features.Featurized` input. Every attribute seen in training is
        listed, also those left with no non-zero weight.

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> X = [[{"w": "the", "n": 3}, {"w": "dog"}]]
        >>> CRF().fit(X, [["DET", "NOUN"]]).attributes_
        ['w:the', 'n', 'w:dog']
        """
        weights = self._model()
        if weights is None:
            return None  # type: ignore[return-value]
        names = self.__dict__.get("_attributes")
        if names is None:
            names = self._attributes = list(self._space.attribute_names())[:weights.n_attributes]
        return names

    @property
    def num_attributes_(self) -> Optional[int]:
        """Number of attributes (the length of :attr:`attributes_`); None before fit.

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> X = [[{"w": "the", "n": 3}, {"w": "dog"}]]
        >>> CRF().fit(X, [["DET", "NOUN"]]).num_attributes_
        3
        """
        weights = self._model()
        return None if weights is None else int(weights.n_attributes)

    @property
    def num_features_(self) -> Optional[int]:
        """Number of features (state + transition) in the model, zero weights included;
        None before fit.

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> X = [[{"w": "the"}, {"w": "dog"}]]
        >>> CRF().fit(X, [["DET", "NOUN"]]).num_features_   # 2 state features, 1 transition
        3
        >>> CRF(all_possible_states=True).fit(X, [["DET", "NOUN"]]).num_features_
        5
        """
        weights = self._model()
        return None if weights is None else weights.size

    @property
    def size_(self) -> Optional[int]:
        """Size in bytes of the CRFsuite model file of this model; None before fit.

        What sklearn-crfsuite reports for the same weights: CRFsuite's file holds the
        non-zero features (20 bytes each), the labels and the attributes that have a
        non-zero feature (hashed string tables), and per label and per attribute the list
        of its features. fastseq's own model file (:meth:`save`) is another format, of
        another size; :attr:`num_features_` counts the features.

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]]
        >>> y = [["DET", "NOUN"], ["DET", "NOUN"]]
        >>> crf = CRF(c2=0.1)
        >>> crf.size_ is None
        True
        >>> crf.fit(X, y).size_
        4604
        """
        weights = self._model()
        if weights is None:
            return None
        state = weights.state_features(self.attributes_)
        trans = weights.transition_features()
        labels = weights.labels
        attrs = {a for a, _ in state}

        def strings(keys):  # CRFsuite's constant quark database
            return 24 + 256 * 8 + sum(8 + len(k.encode("utf-8")) + 1 + 20 for k in keys)

        def aligned(n):
            return n + (-n) % 4

        size = 48 + 12 + 20 * (len(state) + len(trans)) + strings(labels) + strings(attrs)
        # label references (two legacy slots for BOS / EOS), then attribute references
        size = aligned(size) + 12 + 4 * (len(labels) + 2) + 4 * len(labels) + 4 * len(trans)
        return aligned(size) + 12 + 8 * len(attrs) + 4 * len(state)

    @property
    def state_features_(self) -> Optional[Dict[Tuple[str, str], float]]:
        """``{(attribute, label): weight}`` of the non-zero state weights; None before fit.

        The weights are exact (CRFsuite's, as sklearn-crfsuite reads them, are rounded to
        6 decimals).

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]]
        >>> y = [["DET", "NOUN"], ["DET", "NOUN"]]
        >>> w = CRF(c2=0.1).fit(X, y).state_features_
        >>> {k: round(v, 4) for k, v in w.items()}
        {('w:the', 'DET'): 0.5664, ('w:dog', 'NOUN'): 0.5664, ('w:a', 'DET'): 0.5664,
         ('w:cat', 'NOUN'): 0.5664}
        """
        weights = self._model()
        return None if weights is None else weights.state_features(self.attributes_)

    @property
    def transition_features_(self) -> Optional[Dict[Tuple[str, str], float]]:
        """``{(label_from, label_to): weight}`` of the non-zero transition weights; None
        before fit.

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]]
        >>> y = [["DET", "NOUN"], ["DET", "NOUN"]]
        >>> w = CRF(c2=0.1).fit(X, y).transition_features_
        >>> {k: round(v, 4) for k, v in w.items()}
        {('DET', 'NOUN'): 1.8556}
        """
        weights = self._model()
        return None if weights is None else weights.transition_features()

    @property
    def tagger_(self) -> Optional["Tagger"]:
        """A :class:`Tagger` on this model, with python-crfsuite's ``Tagger`` methods; None
        before fit.

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> crf = CRF(c2=0.1).fit([[{"w": "the"}, {"w": "dog"}]], [["DET", "NOUN"]])
        >>> crf.tagger_.labels()
        ['DET', 'NOUN']
        >>> crf.tagger_.tag([{"w": "the"}, {"w": "dog"}])
        ['DET', 'NOUN']
        """
        return None if self._model() is None else Tagger(self)

    # -- persistence -----------------------------------------------------------------------
    def to_archive_parts(self, *, with_attributes: bool = True
                         ) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
        """The contents of the model file :meth:`save` writes.

        For embedding a CRF in another model file: a tagger whose feature extractor holds
        the attribute names passes ``with_attributes=False`` and gives the extractor to
        :meth:`from_archive_parts` as ``space``.

        Parameters
        ----------
        with_attributes : bool, default True
            Include the attribute names.

        Returns
        -------
        meta : dict
            The contents of ``model.json`` (JSON-serialisable when the constructor
            parameters are): format, version, parameters (all but ``n_threads``), labels,
            attribute names, input kind and a training summary.
        arrays : dict of str to ndarray
            The features and their weights, 1-D int64 / float64 arrays (see
            :mod:`fastseq.crf.persistence`).

        Raises
        ------
        fastseq.exceptions.NotFittedError
            When the model is not fitted.

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]]
        >>> y = [["DET", "NOUN"], ["DET", "NOUN"]]
        >>> meta, arrays = CRF(c2=0.1).fit(X, y).to_archive_parts()
        >>> meta["format"], meta["labels"], meta["attributes"]
        ('fastseq.CRF', ['DET', 'NOUN'], ['w:the', 'w:dog', 'w:a', 'w:cat'])
        >>> arrays["state_weight"].shape, arrays["trans_weight"].shape
        ((4,), (1,))
        """
        weights = self._fitted()
        log = self.training_log_
        training = {
            "iterations": len(log.iterations) if log is not None else None,
            "stop_reason": log.stop_reason if log is not None else None,
            "seconds": log.training_seconds if log is not None else None,
            "n_train_tokens": getattr(self, "n_train_tokens_", None),
            "n_train_sequences": getattr(self, "n_train_sequences_", None),
        }
        return persistence.encode(
            weights, params={k: getattr(self, k) for k in PARAM_NAMES
                             if k not in ("n_threads", "model_filename")},
            attributes=self.attributes_ if with_attributes else None,
            input_kind=self._input_kind, space_uid=self._space_uid, training=training)

    @classmethod
    @contents_checked
    def from_archive_parts(cls, meta: Dict[str, Any], arrays: Dict[str, np.ndarray], *,
                           where: str, n_threads: Optional[int] = None,
                           space: Any = None) -> "CRF":
        """The CRF described by :meth:`to_archive_parts`' output.

        Parameters
        ----------
        meta : dict
            The contents of ``model.json``.
        arrays : dict of str to ndarray
            The arrays.
        where : str
            The name of the file, for the error messages.
        n_threads : int, optional
            As the constructor's ``n_threads``.
        space : FeatureExtractor, optional
            The feature extractor that names the attributes when the parts hold none; it
            must be the one the model was trained on.

        Returns
        -------
        CRF
            The fitted model.

        Raises
        ------
        fastseq.exceptions.ModelFileError
            For anything that does not check out: the format or its version (newer than
            :data:`fastseq.crf.FORMAT_VERSION`), a parameter, the labels, the attribute
            names (none and no ``space``), an array, or a ``space`` with another number of
            attributes or another ``uid`` than the model was trained on.

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]]
        >>> y = [["DET", "NOUN"], ["DET", "NOUN"]]
        >>> meta, arrays = CRF(c2=0.1).fit(X, y).to_archive_parts()
        >>> CRF.from_archive_parts(meta, arrays, where="<memory>").predict(X)
        [['DET', 'NOUN'], ['DET', 'NOUN']]
        """
        d = persistence.decode(meta, arrays, where, PARAM_NAMES)

        def bad(msg):
            return ModelFileError(f"{where}: not a valid fastseq CRF model: {msg}")

        try:
            self = cls(**d.params, n_threads=n_threads)
            algorithm = self._resolve_params()["algorithm"]
        except (TypeError, ValueError) as exc:
            raise bad(f"bad parameter: {exc}") from None
        if d.attributes is None and space is None:
            raise bad("no attribute names")
        if space is not None:
            if getattr(space, "n_attributes_", d.weights.n_attributes) != \
                    d.weights.n_attributes:
                raise bad(f"the CRF has {d.weights.n_attributes} attributes, its feature "
                          f"extractor {space.n_attributes_}")
            if d.space_uid != getattr(space, "uid", d.space_uid):
                raise bad("the CRF was not trained on this feature extractor")
        self.classes_ = list(d.weights.labels)
        self._weights = d.weights
        self._attributes = d.attributes
        self._space = space
        self._space_uid = d.space_uid
        self._input_kind = d.input_kind
        log = TrainingLog(algorithm)
        log.stop_reason = d.training.get("stop_reason")
        log.training_seconds = d.training.get("seconds")
        self.training_log_ = log
        return self

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Write the model to ``path``.

        The file is a ZIP archive of JSON and plain ``.npy`` arrays (see
        :mod:`fastseq.crf.persistence`); :meth:`load` reads it without executing anything
        from it. It is written atomically: to a temporary file ``.<name>.<random hex>.tmp``
        in the same folder, flushed to disk, then renamed over ``path``, so that ``path``
        holds the old file or the new one, never a part (a process killed while saving may
        leave the temporary file behind).

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (replaced if it exists).

        Raises
        ------
        fastseq.exceptions.NotFittedError
            When the model is not fitted.
        TypeError
            When a constructor parameter is not JSON-serialisable.

        Examples
        --------
        >>> import os
        >>> import tempfile
        >>> from fastseq.crf import CRF
        >>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]]
        >>> y = [["DET", "NOUN"], ["DET", "NOUN"]]
        >>> crf = CRF(c2=0.1).fit(X, y)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "model.crf")
        ...     crf.save(path)
        ...     CRF.load(path).predict([[{"w": "a"}, {"w": "dog"}]])
        [['DET', 'NOUN']]
        """
        meta, arrays = self.to_archive_parts()
        write_archive(path, meta, arrays)

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"], *,
             n_threads: Optional[int] = None) -> "CRF":
        """Read a model written by :meth:`save`.

        Nothing from the file is executed (JSON parsed as data, arrays read with
        ``allow_pickle=False``), and every member is checked.

        Parameters
        ----------
        path : str or os.PathLike
            The model file.
        n_threads : int, optional
            As the constructor's ``n_threads``.

        Returns
        -------
        CRF
            The fitted model; its ``training_log_`` holds the stop reason and the training
            time only.

        Raises
        ------
        FileNotFoundError, IsADirectoryError, PermissionError
            When the path cannot be opened.
        fastseq.exceptions.ModelFileError
            When the file is not a valid fastseq CRF model, or was written by a newer
            format version.

        Examples
        --------
        >>> import os
        >>> import tempfile
        >>> from fastseq.crf import CRF
        >>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]]
        >>> y = [["DET", "NOUN"], ["DET", "NOUN"]]
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "model.crf")
        ...     CRF(c2=0.1).fit(X, y).save(path)
        ...     crf = CRF.load(path)
        >>> crf.classes_, crf.training_log_.stop_reason
        (['DET', 'NOUN'], 'converged (gradient norm below epsilon)')
        """
        meta, arrays = read_archive(path)
        return cls.from_archive_parts(meta, arrays, where=os.fspath(path), n_threads=n_threads)


def _weights_of(classes: List[str], n_attr: int, features: Tuple[np.ndarray, ...],
                theta: np.ndarray, trigrams: Optional[np.ndarray] = None) -> CRFWeights:
    """The fitted weights of the parameter vector ``theta`` over ``features``."""
    s_attr, s_label, t_from, t_to = features
    Ks, Kt = s_attr.size, t_from.size
    return CRFWeights(
        list(classes), n_attr, s_attr, s_label,
        np.ascontiguousarray(theta[:Ks], dtype=np.float64), t_from, t_to,
        np.ascontiguousarray(theta[Ks:Ks + Kt], dtype=np.float64),
        trigram_key=trigrams,
        trigram_weight=(None if trigrams is None
                        else np.ascontiguousarray(theta[Ks + Kt:], dtype=np.float64)))


def lbfgs_params(crf: CRF) -> Dict[str, Any]:
    """The training parameters of ``crf`` resolved and checked, for a fit by L-BFGS /
    OWL-QN of a first-order CRF outside :meth:`CRF.fit` (e.g. :mod:`fastseq.dask`).

    Parameters
    ----------
    crf : CRF
        The estimator; its ``algorithm`` must be ``"lbfgs"`` (or unset) and its ``order`` 1.

    Returns
    -------
    dict
        Every parameter of :data:`PARAM_NAMES` with its default filled in.

    Raises
    ------
    ValueError, TypeError
        For a parameter :meth:`CRF.fit` would reject, another algorithm or ``order=2``.

    Examples
    --------
    >>> from fastseq.crf import CRF
    >>> from fastseq.crf.estimator import lbfgs_params
    >>> p = lbfgs_params(CRF(c2=0.5))
    >>> p["c1"], p["c2"], p["period"]
    (0.0, 0.5, 10)
    """
    p = crf._resolve_params()
    if p["algorithm"] != "lbfgs":
        raise ValueError(f"this fit trains with algorithm='lbfgs' only, got "
                         f"{p['algorithm']!r}")
    if p["order"] != 1:
        raise ValueError(f"this fit trains first-order CRFs only, got order={p['order']}")
    return p


def train_lbfgs(fun: Callable[[np.ndarray], Tuple[float, np.ndarray]], K: int,
                p: Dict[str, Any], record: Callable[[Dict[str, Any], np.ndarray], None]
                ) -> Tuple[np.ndarray, str]:
    """Minimise the CRF objective ``fun`` from zero weights as :meth:`CRF.fit` does with
    ``algorithm="lbfgs"``: L-BFGS, or OWL-QN when ``c1 > 0``, with CRFsuite's stopping
    rules.

    Parameters
    ----------
    fun : callable
        ``fun(theta) -> (nll, grad)``: the negative log-likelihood of the training data
        (no regularisation) and its gradient, as :class:`~fastseq.crf.objective.Objective`.
    K : int
        The number of parameters.
    p : dict
        The parameters, from :func:`lbfgs_params`.
    record : callable
        ``record(it, theta)``, called after every iteration with its
        :class:`~fastseq.crf.TrainingLog` record (``num``, ``loss``, ``feature_norm``,
        ``error_norm``, ``active_features``, ``linesearch_trials``, ``linesearch_step``,
        ``time``, ``scores``) and the weights.

    Returns
    -------
    theta : ndarray of float64, shape (K,)
        The weights.
    reason : str
        Why training stopped.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf import CRF
    >>> from fastseq.crf.estimator import lbfgs_params, train_lbfgs
    >>> def fun(theta):                        # a stand-in for a CRF objective
    ...     return float((theta - 1) @ (theta - 1)), 2 * (theta - 1)
    >>> theta, reason = train_lbfgs(fun, 2, lbfgs_params(CRF(c2=1.0)), lambda it, x: None)
    >>> theta.round(4).tolist()
    [0.5, 0.5]
    """
    clock = [time.perf_counter()]

    def progress(k, x, f, xnorm, gnorm, step, trials):
        it = {"num": k, "scores": {}, "loss": f, "feature_norm": xnorm,
              "error_norm": gnorm, "active_features": int(np.count_nonzero(x)),
              "linesearch_trials": trials, "linesearch_step": step,
              "time": time.perf_counter() - clock[0]}
        record(it, x)
        clock[0] = time.perf_counter()

    return lbfgs(fun, np.zeros(K), c1=p["c1"], c2=p["c2"], m=p["num_memories"],
                 epsilon=p["epsilon"], past=p["period"], delta=p["delta"],
                 max_iterations=p["max_iterations"], linesearch=p["linesearch"],
                 max_linesearch=p["max_linesearch"], progress=progress)


def install_fit(crf: CRF, *, classes: List[str], attributes: List[str],
                features: Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                theta: np.ndarray, log: TrainingLog, n_tokens: int, n_sequences: int,
                train_time: float) -> CRF:
    """Make ``crf`` the model of a fit done outside :meth:`CRF.fit` on python-crfsuite
    items (attribute names), as if that fit had trained it.

    Parameters
    ----------
    crf : CRF
        The estimator; any previous model it holds is replaced.
    classes : list of str
        The labels, in id order.
    attributes : list of str
        The attribute names, in column order.
    features : tuple of ndarray of int64
        ``(state_attr, state_label, trans_from, trans_to)`` as
        :func:`~fastseq.crf.objective.feature_set` gives them.
    theta : ndarray of float64, shape (K,)
        The weights: state then transition features.
    log : TrainingLog
        The training log.
    n_tokens, n_sequences : int
        The size of the training data.
    train_time : float
        Seconds the fit took.

    Returns
    -------
    CRF
        ``crf``, fitted (and saved to its ``model_filename`` if it has one).

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf import CRF, TrainingLog
    >>> from fastseq.crf.estimator import install_fit
    >>> feats = (np.array([0, 1]), np.array([0, 1]), np.array([0]), np.array([1]))
    >>> crf = install_fit(CRF(), classes=["A", "B"], attributes=["w:a", "w:b"],
    ...                   features=feats, theta=np.array([1.0, 1.0, 0.5]),
    ...                   log=TrainingLog("lbfgs"), n_tokens=2, n_sequences=1, train_time=0.0)
    >>> crf.predict([[{"w": "a"}, {"w": "b"}]])
    [['A', 'B']]
    """
    d = crf.__dict__
    for k in _CACHES + ("_weights",):
        d.pop(k, None)
    crf._space = None
    crf._space_uid = None
    crf._attributes = list(attributes)
    crf._input_kind = "items"
    crf.classes_ = list(classes)
    crf._weights = _weights_of(crf.classes_, len(attributes), features, theta)
    crf.training_log_ = log
    crf.n_train_tokens_ = int(n_tokens)
    crf.n_train_sequences_ = int(n_sequences)
    crf.train_time_ = float(train_time)
    if crf.model_filename is not None:
        crf.save(crf.model_filename)
    return crf


class Tagger:
    """The interface of python-crfsuite's ``Tagger`` on a fitted :class:`CRF` (``tagger_``).

    :meth:`set` an item sequence, then :meth:`tag`, :meth:`probability` and
    :meth:`marginal` answer for it. It reads the CRF's current model; opening and dumping
    model files are not offered (see :meth:`CRF.save` / :meth:`CRF.load`).

    Parameters
    ----------
    crf : CRF
        A fitted CRF.

    Examples
    --------
    >>> from fastseq.crf import CRF
    >>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]]
    >>> y = [["DET", "NOUN"], ["DET", "NOUN"]]
    >>> tagger = CRF(c2=0.1).fit(X, y).tagger_
    >>> tagger.set([{"w": "a"}, {"w": "dog"}])
    >>> tagger.tag(), round(tagger.probability(["DET", "NOUN"]), 4)
    (['DET', 'NOUN'], 0.8144)
    """

    def __init__(self, crf: CRF) -> None:
        crf._fitted()
        self._crf = crf
        self._xseq: Any = None
        self._marginals: Optional[np.ndarray] = None

    def labels(self) -> List[str]:
        """The labels of the model.

        Returns
        -------
        list of str
            The labels, in the CRF's ``classes_`` order.

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> CRF().fit([[{"w": "a"}, {"w": "b"}]], [["A", "B"]]).tagger_.labels()
        ['A', 'B']
        """
        return list(self._crf.classes_)

    def set(self, xseq: Any) -> None:
        """Set the item sequence that :meth:`tag`, :meth:`probability` and :meth:`marginal`
        answer for.

        Parameters
        ----------
        xseq : list of dict or list of str or matrix
            The token features of one sequence, as an element of ``X`` in :meth:`CRF.fit`.

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> tagger = CRF().fit([[{"w": "a"}, {"w": "b"}]], [["A", "B"]]).tagger_
        >>> tagger.set([{"w": "b"}])
        >>> tagger.tag()
        ['B']
        """
        self._crf.predict_ids([xseq])  # checks the input now, as python-crfsuite does
        self._xseq = xseq
        self._marginals = None

    def _current(self, xseq: Any = None) -> Any:
        if xseq is not None:
            self.set(xseq)
        if self._xseq is None:
            raise ValueError("no item sequence is set; call set(xseq) first")
        return self._xseq

    def tag(self, xseq: Any = None) -> List[str]:
        """The most probable label sequence (Viterbi).

        Parameters
        ----------
        xseq : list of dict or list of str or matrix, optional
            A sequence to :meth:`set` first; by default the one set last.

        Returns
        -------
        list of str
            One label per token.

        Raises
        ------
        ValueError
            When no sequence is given nor set.

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> tagger = CRF().fit([[{"w": "a"}, {"w": "b"}]], [["A", "B"]]).tagger_
        >>> tagger.tag([{"w": "b"}, {"w": "a"}])
        ['B', 'A']
        """
        return self._crf.predict_single(self._current(xseq))

    def _node_marginals(self) -> np.ndarray:
        if self._marginals is None:
            self._marginals = self._crf.predict_marginals_array([self._current()])[0]
        return self._marginals

    def _label_id(self, label: str) -> int:
        try:
            return self._crf.classes_.index(label)
        except ValueError:
            raise ValueError(f"unknown label {label!r}") from None

    def marginal(self, y: str, pos: int) -> float:
        """The marginal probability of label ``y`` at position ``pos`` of the set sequence.

        Parameters
        ----------
        y : str
            A label of the model.
        pos : int
            A token position, ``0 <= pos < len(xseq)``.

        Returns
        -------
        float
            ``P(y_pos = y | x)``.

        Raises
        ------
        ValueError
            For an unknown label, a position out of range, or no sequence set.

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]]
        >>> y = [["DET", "NOUN"], ["DET", "NOUN"]]
        >>> tagger = CRF(c2=0.1).fit(X, y).tagger_
        >>> tagger.set([{"w": "a"}, {"w": "dog"}])
        >>> round(tagger.marginal("NOUN", 1), 4)
        0.8867
        """
        node = self._node_marginals()
        if not 0 <= pos < node.shape[0]:
            raise ValueError(f"position {pos} is out of range of {node.shape[0]}")
        return float(node[pos, self._label_id(y)])

    def probability(self, yseq: Sequence[str]) -> float:
        """The probability of the label sequence ``yseq`` for the set sequence.

        Parameters
        ----------
        yseq : list of str
            One label per token.

        Returns
        -------
        float
            ``P(yseq | x)``.

        Raises
        ------
        ValueError
            For an unknown label, a length other than the sequence's, or no sequence set.

        Examples
        --------
        >>> from fastseq.crf import CRF
        >>> tagger = CRF().fit([[{"w": "a"}, {"w": "b"}]], [["A", "B"]]).tagger_
        >>> tagger.set([{"w": "a"}, {"w": "b"}])
        >>> p = [tagger.probability(s) for s in (["A", "B"], ["B", "A"], ["A", "A"], ["B", "B"])]
        >>> max(p) == p[0], round(sum(p), 6)
        (True, 1.0)
        """
        crf = self._crf
        batch = crf._encode_for_model([self._current()], "xseq")
        n = int(batch.lengths.sum())
        if len(yseq) != n:
            raise ValueError(f"the numbers of items and labels differ: |x| = {n}, "
                             f"|y| = {len(yseq)}")
        if n == 0:
            return 1.0
        ids = np.array([self._label_id(t) for t in yseq], dtype=np.int64)
        return float(np.exp(crf._chain(batch, 1).log_probability(ids)))
