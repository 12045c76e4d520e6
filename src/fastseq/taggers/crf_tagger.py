"""CRF taggers: feature templates (:mod:`fastseq.features`) + a linear-chain CRF
(:class:`fastseq.crf.CRF`), with the interface of :class:`fastseq.taggers.HMMTagger`.

>>> from fastseq.taggers import CRFTagger
>>> train = [[("The", "DET"), ("dog", "NOUN"), ("barks", "VERB")],
...          [("A", "DET"), ("cat", "NOUN"), ("sleeps", "VERB")]]
>>> tagger = CRFTagger(templates="pos").train(train)
>>> tagger.tag(["The", "cat", "barks"])
[('The', 'DET'), ('cat', 'NOUN'), ('barks', 'VERB')]

The input the tagger reads, how it runs and its file format are described in the Notes of
:class:`CRFTagger`. Public names: :class:`CRFTagger`, :data:`DEFAULT_REGULARIZATION` and
:data:`DEFAULT_STACK` (the defaults of the built-in template sets), :data:`FORMAT` and
:data:`FORMAT_VERSION` (the model file's ``"format"`` and ``"format_version"``).
"""
from __future__ import annotations

import os
import sys
import time
from itertools import chain
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from .._archive import check_model, contents_checked, read_archive, write_archive
from .._state import all_or_nothing
from ..crf import CRF
from ..crf.items import split_by_lengths
from ..exceptions import NotFittedError
from ..features import (
    DEFAULT_COLUMNS,
    STACK_COLUMN,
    FeatureExtractor,
    stack_templates,
    template_set,
)
from ..features.columns import resolve_column
from ..features.templates import Template
from ..schemes import (
    SCHEMES,
    allowed_transitions,
    convert_scheme,
    detect_scheme,
    parse_label,
)
from .evaluation import TaggerEvaluation, evaluate

__all__ = ["CRFTagger", "FORMAT", "FORMAT_VERSION", "DEFAULT_REGULARIZATION", "DEFAULT_STACK"]

#: The ``"format"`` of a CRF tagger model file.
FORMAT = "fastseq.CRFTagger"
#: Version of the file format written by :meth:`CRFTagger.save`.
FORMAT_VERSION = 1

DEFAULT_REGULARIZATION: Dict[str, Tuple[float, float]] = {
    "crfsuite_chunk": (0.0, 1.0),
    "chunk": (0.0, 1.0),
    "pos": (0.0, 0.03),
    "ner": (0.0, 0.1),
}
"""Regularisation ``(c1, c2)`` of the built-in template sets when neither is given.

Used by ``algorithm="lbfgs"`` (the default). Chosen on the development splits of UD
English-EWT ("pos"), CoNLL-2003 ("ner") and held-out CoNLL-2000 training data ("chunk"); see
benchmarks/crf_figures.py. The best values depend on the data (its size, noise, feature
counts): tune them for other corpora.

Examples
--------
>>> from fastseq.taggers.crf_tagger import DEFAULT_REGULARIZATION
>>> DEFAULT_REGULARIZATION["pos"], DEFAULT_REGULARIZATION["ner"]
((0.0, 0.03), (0.0, 0.1))
"""

DEFAULT_STACK: Dict[str, int] = {"pos": 2}
"""Jackknife folds of the stacked first level of the built-in template sets when ``stack``
is None (see ``CRFTagger(stack=...)``; a set not listed gets no stacking).

On UD English-EWT dev, stacking "pos" gains ~0.1 points of UPOS accuracy for ~3.5x the
training time.

Examples
--------
>>> from fastseq.taggers.crf_tagger import DEFAULT_STACK
>>> DEFAULT_STACK
{'pos': 2}
"""

_CRF_KEYS = ("algorithm", "c1", "c2", "max_iterations", "min_freq", "all_possible_states",
             "all_possible_transitions", "epsilon", "period", "delta", "num_memories", "order")
_PARAMS = (("templates", "columns", "min_count", "scheme", "constrained", "stack") + _CRF_KEYS
           + ("verbose", "n_threads"))


class CRFTagger:
    """A CRF tagger over feature templates.

    When the tags are chunk labels, the CRF learns them re-encoded by default in IOBES, a
    scheme that suits a first-order model (``scheme``), and decodes with the scheme's illegal
    transitions forbidden (``constrained``); the output is in the scheme of the training
    data. The fitted attributes (trailing underscore) exist after :meth:`train` or
    :meth:`load`.

    Parameters
    ----------
    templates : str or list, default "ner"
        A built-in template set of :mod:`fastseq.features` (``"pos"``, ``"chunk"``,
        ``"ner"``, ``"crfsuite_chunk"``) or a list of templates.
    columns : sequence of str, optional
        Names of the input columns of token tuples (default, by tuple width: ``("w",)``,
        ``("w", "pos")``, ``("w", "pos", "chunk")``; wider tuples need names). See the Notes.
    min_count : int or dict, optional
        Passed to :class:`fastseq.features.FeatureExtractor`: values of a field rarer than
        this in training are treated as unseen (an int for every field, a dict
        ``{field: count}`` for the fields it names; default: 1, keep everything).
    scheme : "auto", None or str, default "auto"
        When the tags are chunk labels (``O`` plus ``B-``/``I-``/... prefixed types; the
        scheme of the data is detected), the CRF learns them re-encoded in this scheme (one
        of :data:`fastseq.schemes.SCHEMES`, spelt exactly) and its output is converted back.
        ``"auto"``: IOBES (a label for single-token chunks and for chunk ends, which a
        first-order CRF benefits from); None: the tags as they are.
    constrained : bool, default True
        Decode chunk labels with the transitions the scheme forbids (``O`` -> ``I-X``, ...)
        set to -inf, so every output is well formed.
    stack : int, optional
        A two-level (stacked) tagger: a first CRF over the templates tags the input, and a
        second one reads its tags as an extra column (``"tag1"``,
        :func:`fastseq.features.stack_templates`: the neighbours' tags, alone and with the
        word), which a first-order CRF cannot otherwise condition on. The first level's tags
        on the training data come from ``stack`` jackknife folds (each fold tagged by a
        model trained on the others), so the second level learns how far to trust them.
        0: a single CRF; >= 2: that many folds (with 2 folds, training costs about three
        single trainings); None: :data:`DEFAULT_STACK` for a built-in set, else 0.
    algorithm : {"lbfgs", "ap"}, optional
        Training algorithm of :class:`fastseq.crf.CRF`: L-BFGS (OWL-QN when ``c1 > 0``; the
        default) or the averaged perceptron.
    c1 : float, optional
        L1 coefficient (lbfgs). For a built-in template set, ``c1`` and ``c2`` both left at
        None take the values of :data:`DEFAULT_REGULARIZATION`; else the CRF's defaults.
    c2 : float, optional
        L2 coefficient (lbfgs; see ``c1``).
    max_iterations : int, optional
        Passed to :class:`fastseq.crf.CRF` (None: its default), as the parameters below.
    min_freq : float, optional
        Keep only features at least this frequent in the training data.
    all_possible_states : bool, optional
        Also create the state features of (attribute, label) pairs never seen in training.
    all_possible_transitions : bool, optional
        Also create the transition features of label pairs never seen in training.
    epsilon : float, optional
        Stopping threshold: lbfgs, on the relative gradient norm; ap, on the error rate of
        an epoch.
    period : int, optional
        With lbfgs, stop when the objective improved by less than ``delta`` (relative) over
        this many iterations.
    delta : float, optional
        See ``period``.
    num_memories : int, optional
        L-BFGS corrections kept.
    order : {1, 2}, optional
        2: a second-order CRF (trigram transition weights; the CRF runs over label pairs,
        :mod:`fastseq.crf.second_order`), trained with lbfgs. Default 1.
    verbose : bool, default False
        Print training progress (to stderr).
    n_threads : int, optional
        Threads (None: all the process may use).

    Attributes
    ----------
    features_ : fastseq.features.FeatureExtractor
        The fitted feature extractor (of the second level for a stacked tagger).
    crf_ : fastseq.crf.CRF
        The trained CRF; its ``classes_`` are the labels it learnt (in ``scheme_train_``).
    level1_ : CRFTagger or None
        The first-level tagger of a stacked tagger, else None.
    tags_ : list of str
        The labels of the training data, in order of first appearance.
    scheme_in_, scheme_train_ : str or None
        The detected scheme of the training labels and the scheme the CRF learnt them in;
        None when the tags are not chunk labels or ``scheme=None``.
    input_columns_ : tuple of str or None
        Names of the input columns of tuple sentences (None for dict sentences).
    n_train_tokens_, n_train_sents_ : int
        Size of the training data.
    train_time_, feature_time_ : float
        Seconds the training took, and those spent preparing the CRF's input (featurising;
        the second level's for a stacked tagger). Set by :meth:`train` only.
    metadata : dict
        Free-form, JSON-serialisable information saved with the model (empty by default).

    Raises
    ------
    TypeError
        If ``templates``, ``columns``, ``constrained`` or ``stack`` has the wrong type, or a
        ``min_count`` key is not a str.
    ValueError
        If ``templates`` names no built-in set or holds an invalid template, ``scheme`` is
        not "auto", None or a scheme name, ``stack`` is 1 or negative, or ``min_count`` is
        not an int >= 1 (or a dict of them).

    See Also
    --------
    HMMTagger : A TnT-style HMM tagger, with the same interface.
    fastseq.crf.CRF : The CRF itself, over feature dicts.

    Notes
    -----
    .. rubric:: Input

    Training sentences are lists of tuples ``(word, [other input columns...], tag)``: the last
    element is the tag, the others are the input columns, named by ``columns`` (default, by
    tuple width: ``("w",)``, ``("w", "pos")``, ``("w", "pos", "chunk")``). CoNLL-2000 chunking
    is ``(word, pos, chunk)``, CoNLL-2003 NER ``(word, pos, chunk, ner)``. Sentences in the
    format of :mod:`fastseq.io` (dicts of columns) work too, with ``tag="ner"`` naming the label
    column. Tagging takes the same input without the tag: a list of words (when the templates
    read words only) or of tuples of the input columns.

    .. rubric:: Speed

    All sentences of a call are featurised together (vectorised templates) and decoded by one
    batched Viterbi call; training is :class:`fastseq.crf.CRF` (L-BFGS on the batched CRF
    gradient kernel).

    .. rubric:: File format

    :meth:`CRFTagger.save` writes the ZIP container of :mod:`fastseq.crf` (``model.json`` +
    ``arrays/<name>.npy``) with ``"format": "fastseq.CRFTagger"``: the tagger parameters, the
    feature extractor (templates, per-field vocabularies in ``model.json``; the sorted attribute
    key tables as ``feat_table_<j>`` arrays) and the CRF (``crf_*`` arrays); a stacked tagger
    adds its first level, written the same way, as ``"level1"`` in ``model.json`` and ``l1_*``
    arrays. Loading never executes code from the file and validates everything.

    Examples
    --------
    >>> from fastseq.taggers import CRFTagger
    >>> train = [[("Ann", "B-PER"), ("Lee", "I-PER"), ("sings", "O")],
    ...          [("Bob", "B-PER"), ("runs", "O")]]
    >>> tagger = CRFTagger(templates="ner").train(train)
    >>> tagger.scheme_in_, tagger.scheme_train_, tagger.crf_.classes_
    ('IOB2', 'IOBES', ['B-PER', 'E-PER', 'O', 'S-PER'])
    >>> tagger.predict([["Ann", "runs"], ["Bob", "Lee", "sings"]])
    [['B-PER', 'O'], ['B-PER', 'I-PER', 'O']]
    """

    # the first level of a stacked tagger (set by train / load)
    level1_: Optional["CRFTagger"] = None

    def __init__(self, templates: Union[str, Sequence[Template]] = "ner",
                 columns: Optional[Sequence[str]] = None, *,
                 min_count: Optional[Union[int, Dict[str, int]]] = None,
                 scheme: Optional[str] = "auto", constrained: bool = True,
                 stack: Optional[int] = None, algorithm: Optional[str] = None,
                 c1: Optional[float] = None, c2: Optional[float] = None,
                 max_iterations: Optional[int] = None, min_freq: Optional[float] = None,
                 all_possible_states: Optional[bool] = None,
                 all_possible_transitions: Optional[bool] = None,
                 epsilon: Optional[float] = None, period: Optional[int] = None,
                 delta: Optional[float] = None, num_memories: Optional[int] = None,
                 order: Optional[int] = None, verbose: bool = False,
                 n_threads: Optional[int] = None) -> None:
        self.templates = templates
        if isinstance(columns, str):
            raise TypeError(f"`columns` must be a sequence of column names, not a str; "
                            f"did you mean [{columns!r}]?")
        self.columns = None if columns is None else tuple(columns)
        self.min_count = min_count
        self.scheme = scheme
        self.constrained = constrained
        self.stack = stack
        self.algorithm = algorithm
        self.c1 = c1
        self.c2 = c2
        self.max_iterations = max_iterations
        self.min_freq = min_freq
        self.all_possible_states = all_possible_states
        self.all_possible_transitions = all_possible_transitions
        self.epsilon = epsilon
        self.period = period
        self.delta = delta
        self.num_memories = num_memories
        self.order = order
        self.verbose = verbose
        self.n_threads = n_threads
        self.metadata: Dict[str, Any] = {}
        FeatureExtractor(templates, columns=self.columns, min_count=min_count)  # validates
        if scheme is not None and scheme != "auto" and scheme not in SCHEMES:
            raise ValueError(f"`scheme` must be 'auto', None or one of {SCHEMES}, got "
                             f"{scheme!r}")
        if not isinstance(constrained, (bool, np.bool_)):
            raise TypeError(f"`constrained` must be a bool, got {type(constrained).__name__}")
        if stack is not None:
            if isinstance(stack, bool) or not isinstance(stack, (int, np.integer)):
                raise TypeError(f"`stack` must be None or an int, got {type(stack).__name__}")
            if stack < 0 or stack == 1:
                raise ValueError(f"`stack` must be 0 (no stacking) or >= 2 folds, got {stack}")

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """The constructor parameters (scikit-learn protocol).

        Parameters
        ----------
        deep : bool, default True
            Ignored (there are no nested estimators to describe).

        Returns
        -------
        dict
            ``{name: value}`` of every constructor parameter, in signature order.

        Examples
        --------
        >>> from fastseq.taggers import CRFTagger
        >>> params = CRFTagger(templates="pos", c2=0.1).get_params()
        >>> params["templates"], params["c2"], params["stack"]
        ('pos', 0.1, None)
        """
        return {p: getattr(self, p) for p in _PARAMS}

    def set_params(self, **params: Any) -> "CRFTagger":
        """Set constructor parameters (scikit-learn protocol), checked as the constructor
        checks them.

        Parameters
        ----------
        **params : dict
            ``name=value`` for constructor parameters.

        Returns
        -------
        CRFTagger
            ``self``.

        Raises
        ------
        ValueError
            If a name is not a constructor parameter, or a value is invalid.
        TypeError
            If a value has the wrong type.

        Examples
        --------
        >>> from fastseq.taggers import CRFTagger
        >>> tagger = CRFTagger().set_params(templates="pos", stack=0)
        >>> tagger.templates, tagger.stack_folds
        ('pos', 0)
        """
        for k in params:
            if k not in _PARAMS:
                raise ValueError(f"Invalid parameter {k!r} for CRFTagger; valid: {list(_PARAMS)}")
        checked = type(self)(**{**self.get_params(), **params})  # raises on bad values
        for k in params:
            setattr(self, k, getattr(checked, k))
        if "n_threads" in params and self.is_fitted:  # the trained models predict with it
            self.crf_.set_params(n_threads=self.n_threads)
            if self.level1_ is not None:
                self.level1_.set_params(n_threads=self.n_threads)
        return self

    def __repr__(self) -> str:
        parts = [f"{p}={getattr(self, p)!r}" for p in _PARAMS
                 if getattr(self, p) not in (None, False)]
        return f"CRFTagger({', '.join(parts)})"

    @property
    def is_fitted(self) -> bool:
        """Whether the tagger is trained (by :meth:`train` or :meth:`load`).

        Examples
        --------
        >>> from fastseq.taggers import CRFTagger
        >>> tagger = CRFTagger(templates="pos", stack=0)
        >>> tagger.is_fitted, tagger.train([[("hello", "INTJ")]]).is_fitted
        (False, True)
        """
        return hasattr(self, "crf_")

    def _require_fitted(self):
        if not self.is_fitted:
            raise NotFittedError("This CRFTagger is not trained yet; call train() or load()")

    def _crf(self) -> CRF:
        kw = {k: getattr(self, k) for k in _CRF_KEYS}
        alg = kw["algorithm"] or "lbfgs"
        if isinstance(self.templates, str) and alg == "lbfgs" and kw["c1"] is None \
                and kw["c2"] is None:
            kw["c1"], kw["c2"] = DEFAULT_REGULARIZATION.get(self.templates, (None, None))
        return CRF(**kw, verbose=self.verbose, n_threads=self.n_threads)

    # -- input -----------------------------------------------------------------------------
    def _split_tagged(self, sents, what, tag=None):
        """tagged sentences -> (input sentences, label lists, input column names)."""
        if isinstance(sents, (str, bytes, dict)) or not isinstance(sents, Iterable):
            raise TypeError(f"`{what}` must be a list of tagged sentences, got "
                            f"{type(sents).__name__}")
        sents = sents if isinstance(sents, list) else list(sents)
        if not sents:
            raise ValueError(f"`{what}` is empty")
        if isinstance(sents[0], dict):
            cols = list(sents[0])
            tag = tag if tag is not None else cols[-1]
            if tag not in cols:
                raise ValueError(f"`{what}` has no column {tag!r} (columns: {cols})")
            inputs = [{c: s[c] for c in s if c != tag} for s in sents]
            labels = [list(s[tag]) for s in sents]
            return inputs, labels, None
        inputs, labels = [], []
        width = None
        for k, s in enumerate(sents):
            if isinstance(s, (str, bytes)) or not isinstance(s, Iterable):
                raise TypeError(f"`{what}[{k}]` must be a list of (word, ..., tag) tuples")
            toks = list(s)
            for i, tok in enumerate(toks):
                if isinstance(tok, str) or not isinstance(tok, (tuple, list)) or len(tok) < 2:
                    raise ValueError(f"`{what}[{k}][{i}]` is not a (word, ..., tag) tuple: "
                                     f"{tok!r} (untagged token?)")
                if width is None:
                    width = len(tok)
                elif len(tok) != width:
                    raise ValueError(f"`{what}[{k}][{i}]` has {len(tok)} fields, earlier "
                                     f"tokens {width}")
                if not all(isinstance(x, str) for x in tok):
                    raise TypeError(f"`{what}[{k}][{i}]`: all fields must be str, got {tok!r}")
            inputs.append([tuple(t[:-1]) for t in toks])
            labels.append([t[-1] for t in toks])
        names = self._column_names(width - 1 if width else 1)
        return inputs, labels, names

    def _column_names(self, n_inputs: int) -> Tuple[str, ...]:
        if self.columns is not None:
            if len(self.columns) < n_inputs:
                raise ValueError(f"tokens have {n_inputs} input columns but `columns` names "
                                 f"{len(self.columns)}: {self.columns}")
            return tuple(self.columns[:n_inputs])
        if n_inputs > len(DEFAULT_COLUMNS):
            raise ValueError(f"tokens have {n_inputs} input columns; name them with `columns=`")
        return DEFAULT_COLUMNS[:n_inputs]

    def _inputs(self, sents, what):
        """Untagged input sentences in a form the feature extractor reads."""
        if isinstance(sents, (str, bytes, dict)) or not isinstance(sents, Iterable):
            raise TypeError(f"`{what}` must be a list of sentences, got {type(sents).__name__}")
        sents = sents if isinstance(sents, list) else list(sents)
        if sents and set(map(type, sents)) == {list}:
            # fast path: lists of words, or of tuples of str (all checks at C speed)
            flat = list(chain.from_iterable(sents))
            kinds = set(map(type, flat))
            if (kinds == {str} and all(flat)) or (kinds == {tuple} and set(
                    map(type, chain.from_iterable(flat))) <= {str}):
                return sents
        out = []
        for k, s in enumerate(sents):
            if isinstance(s, dict):
                out.append(s)
                continue
            if isinstance(s, (str, bytes)):
                raise TypeError(f"`{what}[{k}]` must be a list of tokens, not a str (split it "
                                "first)")
            toks = list(s)
            for i, tok in enumerate(toks):
                if isinstance(tok, str):
                    if not tok:
                        raise ValueError(f"`{what}[{k}][{i}]` is an empty string")
                elif isinstance(tok, (tuple, list)):
                    if not all(isinstance(x, str) for x in tok):
                        raise TypeError(f"`{what}[{k}][{i}]`: all fields must be str")
                else:
                    raise TypeError(f"`{what}[{k}][{i}]` must be a str or a tuple of str, got "
                                    f"{type(tok).__name__}")
            out.append([tuple(t) if isinstance(t, list) else t for t in toks])
        return out

    @staticmethod
    def _words(sents) -> List[List[str]]:
        words = []
        for s in sents:
            if isinstance(s, dict):
                for key in ("w", "word", "form", "token"):
                    if key in s:
                        words.append(list(s[key]))
                        break
                else:
                    words.append(list(next(iter(s.values()))) if s else [])
            else:
                words.append([t if isinstance(t, str) else t[0] for t in s])
        return words

    # -- training --------------------------------------------------------------------------
    def train(self, tagged_sents: Iterable[Any], dev: Optional[Iterable[Any]] = None, *,
              tag: Optional[str] = None) -> "CRFTagger":
        """Train on tagged sentences (replacing any previous model).

        Parameters
        ----------
        tagged_sents : list of sentences
            Each a list of tuples ``(word, [other input columns...], tag)`` of str, all
            tokens of the same width (see "Input" in the Notes), or a dict of columns (the
            format of :mod:`fastseq.io`), the labels in column ``tag``.
        dev : list of sentences, optional
            Tagged sentences in the same form, evaluated after every iteration (see
            ``crf_.training_log_``; sentences with a tag the training data lacks are left
            out of that monitoring).
        tag : str, optional
            Dict sentences: the label column (default: the last column of the first
            sentence).

        Returns
        -------
        CRFTagger
            ``self``, trained.

        Raises
        ------
        TypeError
            If ``tagged_sents`` is not a list of sentences (a str or a dict, say), or a
            token field is not a str.
        ValueError
            If there is no sentence, a token is not a tuple of two or more fields (an
            untagged token), tokens have different widths, there are more input columns
            than names for them, the ``tag`` column is missing, or a stacked tagger gets
            fewer sentences than folds (or input with a ``"tag1"`` column already).
        KeyboardInterrupt
            When training is interrupted (Ctrl-C); it stops as soon as the kernel call
            running then returns. Like every error, it leaves the tagger as it was before
            the call (untrained, or with its previous model), never part of the new model.

        Examples
        --------
        >>> from fastseq.taggers import CRFTagger
        >>> train = [[("He", "PRP", "B-NP"), ("runs", "VBZ", "B-VP")],
        ...          [("The", "DT", "B-NP"), ("dog", "NN", "I-NP"), ("barks", "VBZ", "B-VP")]]
        >>> tagger = CRFTagger(templates="chunk").train(train)
        >>> tagger.input_columns_, tagger.n_train_tokens_, tagger.tags_
        (('w', 'pos'), 5, ['B-NP', 'B-VP', 'I-NP'])
        >>> tagger.tag([("The", "DT"), ("dog", "NN"), ("runs", "VBZ")])
        [('The', 'B-NP'), ('dog', 'I-NP'), ('runs', 'B-VP')]
        """
        t0 = time.perf_counter()
        with all_or_nothing(self):
            inputs, labels, names = self._split_tagged(tagged_sents, "tagged_sents", tag)
            dev = None if dev is None else self._split_tagged(dev, "dev", tag)[:2]
            return self._fit(inputs, labels, names, dev, t0)

    @property
    def stack_folds(self) -> int:
        """Jackknife folds of the stacked first level in effect (0: a single CRF).

        ``stack``, or :data:`DEFAULT_STACK` of a built-in template set when ``stack`` is None.

        Examples
        --------
        >>> from fastseq.taggers import CRFTagger
        >>> CRFTagger(templates="pos").stack_folds, CRFTagger(templates="ner").stack_folds
        (2, 0)
        >>> CRFTagger(templates="pos", stack=0).stack_folds
        0
        """
        if self.stack is not None:
            return int(self.stack)
        return DEFAULT_STACK.get(self.templates, 0) if isinstance(self.templates, str) else 0

    def _level1(self) -> "CRFTagger":
        """An untrained single-level copy of this tagger (the first level of a stack)."""
        return type(self)(**{**self.get_params(), "stack": 0})

    def _stacked_extractor(self) -> FeatureExtractor:
        tpl = self.templates
        if isinstance(tpl, str):
            return FeatureExtractor(template_set(tpl) + stack_templates(), drop_missing=True,
                                    min_count=self.min_count)
        return FeatureExtractor(list(tpl) + stack_templates(), min_count=self.min_count)

    def _with_tags(self, sents, tags) -> List[dict]:
        """Input sentences as dicts of columns, plus the first level's tags (``"tag1"``)."""
        first = next((tok for s in sents if not isinstance(s, dict) for tok in s), "")
        names = ("w",) if isinstance(first, str) else self._column_names(len(first))
        out = []
        for s, t in zip(sents, tags):
            if isinstance(s, dict):
                if STACK_COLUMN in s:
                    raise ValueError(f"a stacked tagger adds the column {STACK_COLUMN!r}; the "
                                     "input has one already: rename it")
                d = dict(s)
            else:
                toks = [(tok,) if isinstance(tok, str) else tok for tok in s]
                d = {c: [tok[j] for tok in toks] for j, c in enumerate(names)}
            d[STACK_COLUMN] = list(t)
            out.append(d)
        return out

    def _fit(self, inputs, labels, names, dev, t0) -> "CRFTagger":
        folds = self.stack_folds
        level1 = None
        words = self._words(inputs)
        if folds:
            if names is not None and STACK_COLUMN in names:
                raise ValueError(f"a stacked tagger adds the column {STACK_COLUMN!r}; "
                                 "`columns` names one already: rename it")
            n = len(inputs)
            if n < folds:
                raise ValueError(f"`stack={folds}` needs at least {folds} training sentences, "
                                 f"got {n}")
            held_out: List[Optional[List[str]]] = [None] * n
            for k in range(folds):
                if self.verbose:
                    print(f"stacking: first level, fold {k + 1} of {folds}", file=sys.stderr,
                          flush=True)
                rest = [i for i in range(n) if i % folds != k]
                model = self._level1()._fit([inputs[i] for i in rest],
                                            [labels[i] for i in rest], names, None, t0)
                held = list(range(k, n, folds))
                for i, p in zip(held, model._predict_inputs([inputs[i] for i in held])):
                    held_out[i] = p
            if self.verbose:
                print("stacking: first level, all the data", file=sys.stderr, flush=True)
            level1 = self._level1()._fit(inputs, labels, names, None, t0)
            inputs = self._with_tags(inputs, held_out)
            if dev is not None:
                dev = (self._with_tags(dev[0], level1._predict_inputs(dev[0])), dev[1])
            fx = self._stacked_extractor()
            if self.verbose:
                print("stacking: second level", file=sys.stderr, flush=True)
        else:
            fx = FeatureExtractor(self.templates, columns=names if names else self.columns,
                                  min_count=self.min_count)
        t_feat = time.perf_counter() if folds else t0
        F = fx.fit_transform(inputs)
        crf = self._crf()
        tags_in = list(dict.fromkeys(t for s_ in labels for t in s_))
        src = detect_scheme(labels) if self.scheme is not None else None
        dst = None
        if src is not None:
            dst = "IOBES" if self.scheme == "auto" else self.scheme
            labels = self._convert(labels, src, dst)
        X_dev = y_dev = None
        if dev is not None:
            d_in, y_dev = dev
            X_dev = fx.transform(d_in)
            if src is not None:
                y_dev = self._convert(y_dev, detect_scheme(y_dev) or src, dst)
            # labels the training data lacks cannot be scored by the model: monitoring only
            known = set(t for s_ in labels for t in s_)
            keep = [i for i, s_ in enumerate(y_dev) if set(s_) <= known]
            if len(keep) < len(y_dev):
                X_dev = fx.transform([d_in[i] for i in keep])
                y_dev = [y_dev[i] for i in keep]
        t1 = time.perf_counter()
        crf.fit(F, labels, X_dev, y_dev)
        self.scheme_in_, self.scheme_train_ = src, dst
        self.features_ = fx
        self.crf_ = crf
        self.__dict__.pop("_constraint_cache", None)
        self.level1_ = level1
        self.tags_ = tags_in
        self._train_words = set(w for s_ in words for w in s_)
        self.input_columns_ = tuple(names) if names else None
        self.n_train_tokens_ = int(F.matrix.shape[0])
        self.n_train_sents_ = len(F)
        self.feature_time_ = t1 - t_feat
        self.train_time_ = time.perf_counter() - t0
        return self

    @staticmethod
    def _convert(labels, src, dst):
        if src == dst:
            return labels
        return convert_scheme(labels, src, dst)

    # -- tagging ---------------------------------------------------------------------------
    def _featurize(self, sents):
        if self.level1_ is not None:
            sents = self._with_tags(sents, self.level1_._predict_inputs(sents))
        return self.features_.transform(sents)

    def _constraints(self):
        cache = self.__dict__.get("_constraint_cache")
        if cache is None:
            cache = (None,)
            if self.constrained and self.scheme_train_ is not None \
                    and "O" in self.crf_.classes_:
                try:
                    cache = (allowed_transitions(self.crf_.classes_, self.scheme_train_),)
                except ValueError:
                    cache = (None,)
            self._constraint_cache = cache
        return cache[0]

    def _predict_inputs(self, sents) -> List[List[str]]:
        paths, lengths = self.crf_.predict_ids(self._featurize(sents),
                                               constraints=self._constraints())
        classes = self.crf_.classes_
        out = split_by_lengths([classes[i] for i in paths.tolist()], lengths)
        if self.scheme_in_ is not None:
            out = self._convert(out, self.scheme_train_, self.scheme_in_)
        return out

    def predict(self, sents: Iterable[Any]) -> List[List[str]]:
        """Tags only: ``[[tag, ...], ...]``.

        Parameters
        ----------
        sents : list of sentences
            Each a list of words (when the templates read words only) or of tuples of the
            input columns (as in training, without the tag), or a dict of columns.

        Returns
        -------
        list of lists of str
            The tags of every sentence, one per token (chunk labels in the scheme of the
            training data).

        Raises
        ------
        fastseq.exceptions.NotFittedError
            If the tagger is not trained.
        TypeError
            If ``sents`` is not a list of sentences (a str or a dict, say), a sentence is a
            str (split it first), or a token is neither a str nor a tuple of str.
        ValueError
            If a token is the empty string.

        Examples
        --------
        >>> from fastseq.taggers import CRFTagger
        >>> train = [[("The", "DET"), ("dog", "NOUN"), ("barks", "VERB")],
        ...          [("A", "DET"), ("cat", "NOUN"), ("sleeps", "VERB")]]
        >>> tagger = CRFTagger(templates="pos").train(train)
        >>> tagger.predict([["The", "cat", "barks"], ["A", "dog"]])
        [['DET', 'NOUN', 'VERB'], ['DET', 'NOUN']]
        """
        self._require_fitted()
        sents = self._inputs(sents, "sents")
        if not sents:
            return []
        return self._predict_inputs(sents)

    def tag_sents(self, sents: Iterable[Any]) -> List[List[Tuple[str, str]]]:
        """Tag many sentences: ``[[(word, tag), ...], ...]``.

        All sentences are featurised together and decoded by one batched call.

        Parameters
        ----------
        sents : list of sentences
            Each a list of words (when the templates read words only) or of tuples of the
            input columns (as in training, without the tag), or a dict of columns.

        Returns
        -------
        list of lists of (str, str)
            ``(word, tag)`` for every token of every sentence.

        Raises
        ------
        fastseq.exceptions.NotFittedError
            If the tagger is not trained.
        TypeError
            If ``sents`` is not a list of sentences (a str or a dict, say), a sentence is a
            str (split it first), or a token is neither a str nor a tuple of str.
        ValueError
            If a token is the empty string.

        Examples
        --------
        >>> from fastseq.taggers import CRFTagger
        >>> train = [[("The", "DET"), ("dog", "NOUN"), ("barks", "VERB")],
        ...          [("A", "DET"), ("cat", "NOUN"), ("sleeps", "VERB")]]
        >>> tagger = CRFTagger(templates="pos").train(train)
        >>> tagger.tag_sents([["The", "cat", "barks"], ["A", "dog"]])
        [[('The', 'DET'), ('cat', 'NOUN'), ('barks', 'VERB')], [('A', 'DET'), ('dog', 'NOUN')]]
        """
        self._require_fitted()
        sents = self._inputs(sents, "sents")
        if not sents:
            return []
        tags = self._predict_inputs(sents)
        return [list(zip(w, t)) for w, t in zip(self._words(sents), tags)]

    def tag(self, tokens: Any) -> List[Tuple[str, str]]:
        """Tag one sentence: a list of words (or of tuples of the input columns).

        Parameters
        ----------
        tokens : list of str, list of tuples of str, or dict
            The sentence: its words (when the templates read words only), tuples of its
            input columns (as in training, without the tag), or a dict of columns.

        Returns
        -------
        list of (str, str)
            ``(word, tag)`` for every token.

        Raises
        ------
        fastseq.exceptions.NotFittedError
            If the tagger is not trained.
        TypeError
            If ``tokens`` is a str (split it first, e.g. ``text.split()``), or a token is
            neither a str nor a tuple of str.
        ValueError
            If a token is the empty string.

        Examples
        --------
        >>> from fastseq.taggers import CRFTagger
        >>> train = [[("The", "DET"), ("dog", "NOUN"), ("barks", "VERB")],
        ...          [("A", "DET"), ("cat", "NOUN"), ("sleeps", "VERB")]]
        >>> tagger = CRFTagger(templates="pos").train(train)
        >>> tagger.tag("The cat barks".split())
        [('The', 'DET'), ('cat', 'NOUN'), ('barks', 'VERB')]
        """
        if isinstance(tokens, str):
            raise TypeError("`tokens` must be a list of tokens, not a str (split it first, "
                            "e.g. text.split())")
        return self.tag_sents([tokens])[0]

    def predict_marginals(self, sents: Iterable[Any]) -> List[List[Dict[str, float]]]:
        """Per sentence, per token: ``{tag: probability}`` over the CRF's labels.

        The labels are ``crf_.classes_``: those of ``scheme_train_`` when chunk labels are
        re-encoded (``"S-PER"``, ``"E-PER"``, ... for IOBES), not converted back. The
        probabilities are under the same constraints as decoding; a forbidden label has
        probability 0.

        Parameters
        ----------
        sents : list of sentences
            Each a list of words (when the templates read words only) or of tuples of the
            input columns (as in training, without the tag), or a dict of columns.

        Returns
        -------
        list of lists of dict
            ``{label: probability}`` (summing to 1) for every token of every sentence.

        Raises
        ------
        fastseq.exceptions.NotFittedError
            If the tagger is not trained.
        TypeError
            If ``sents`` is not a list of sentences (a str or a dict, say), a sentence is a
            str (split it first), or a token is neither a str nor a tuple of str.
        ValueError
            If a token is the empty string.

        Examples
        --------
        >>> from fastseq.taggers import CRFTagger
        >>> train = [[("The", "DET"), ("dog", "NOUN"), ("barks", "VERB")],
        ...          [("A", "DET"), ("cat", "NOUN"), ("sleeps", "VERB")]]
        >>> tagger = CRFTagger(templates="pos").train(train)
        >>> probs = tagger.predict_marginals([["The", "cat"]])[0][1]
        >>> sorted(probs), max(probs, key=probs.get), round(sum(probs.values()), 6)
        (['DET', 'NOUN', 'VERB'], 'NOUN', 1.0)
        """
        self._require_fitted()
        sents = self._inputs(sents, "sents")
        if not sents:
            return []
        node, lengths = self.crf_.predict_marginals_array(self._featurize(sents),
                                                          constraints=self._constraints())
        classes = self.crf_.classes_
        return split_by_lengths([dict(zip(classes, r)) for r in node.tolist()], lengths)

    # -- evaluation ------------------------------------------------------------------------
    def evaluate(self, gold_sents: Iterable[Any], *, tag: Optional[str] = None) -> float:
        """Token accuracy on tagged sentences.

        Parameters
        ----------
        gold_sents : list of sentences
            Tagged sentences, in the form :meth:`train` reads; a word seen in training counts
            as known.
        tag : str, optional
            Dict sentences: the label column (default: the last column).

        Returns
        -------
        float
            The fraction of tokens tagged as in the gold data (NaN when there is no token).

        Raises
        ------
        fastseq.exceptions.NotFittedError
            If the tagger is not trained.
        TypeError
            If ``gold_sents`` is not a list of sentences, or a token field is not a str.
        ValueError
            If there is no sentence, a token is not a tuple of two or more fields, tokens
            have different widths, or the ``tag`` column is missing.

        See Also
        --------
        evaluation_report : Accuracies, per-tag and chunk scores, and the speed.

        Examples
        --------
        >>> from fastseq.taggers import CRFTagger
        >>> train = [[("The", "DET"), ("dog", "NOUN"), ("barks", "VERB")],
        ...          [("A", "DET"), ("cat", "NOUN"), ("sleeps", "VERB")]]
        >>> tagger = CRFTagger(templates="pos").train(train)
        >>> tagger.evaluate([[("The", "DET"), ("cat", "NOUN"), ("barks", "NOUN")]])
        0.6666666666666666
        """
        return self.evaluation_report(gold_sents, tag=tag, per_tag=False).accuracy

    def evaluation_report(self, gold_sents: Iterable[Any], *, tag: Optional[str] = None,
                          per_tag: bool = True) -> TaggerEvaluation:
        """Accuracy (overall, known / unknown words), per-tag scores, CoNLL chunk scores
        when the tags are chunk labels, and the tagging speed.

        Parameters
        ----------
        gold_sents : list of sentences
            Tagged sentences, in the form :meth:`train` reads; a word seen in training counts
            as known.
        tag : str, optional
            Dict sentences: the label column (default: the last column).
        per_tag : bool, default True
            Also compute the per-tag (and, for chunk labels, per-type) scores.

        Returns
        -------
        TaggerEvaluation
            The scores (see :class:`~fastseq.taggers.TaggerEvaluation`); ``str()`` of it is
            a printable report.

        Raises
        ------
        fastseq.exceptions.NotFittedError
            If the tagger is not trained.
        TypeError
            If ``gold_sents`` is not a list of sentences, or a token field is not a str.
        ValueError
            If there is no sentence, a token is not a tuple of two or more fields, tokens
            have different widths, or the ``tag`` column is missing.

        Examples
        --------
        >>> from fastseq.taggers import CRFTagger
        >>> train = [[("Ann", "B-PER"), ("Lee", "I-PER"), ("sings", "O")],
        ...          [("Bob", "B-PER"), ("runs", "O")]]
        >>> tagger = CRFTagger(templates="ner").train(train)
        >>> e = tagger.evaluation_report([[("Bob", "B-PER"), ("Lee", "I-PER"), ("runs", "O")]])
        >>> e.accuracy, e.f1, e.n_unknown, sorted(e.per_type)
        (1.0, 1.0, 0, ['PER'])
        """
        self._require_fitted()
        inputs, gold, _ = self._split_tagged(gold_sents, "gold_sents", tag)
        t0 = time.perf_counter()
        pred = self._predict_inputs(inputs)
        seconds = time.perf_counter() - t0
        return evaluate(gold, pred, self._words(inputs), self._train_words, seconds,
                        per_tag=per_tag)

    # -- persistence -----------------------------------------------------------------------
    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Write the tagger to ``path`` (see "File format" in the Notes).

        The file is written atomically: to a temporary file ``.<name>.<random hex>.tmp`` in
        the same folder, flushed to disk, then renamed over ``path``, so that ``path`` holds
        the old file or the new one, never a part (a process killed while saving may leave
        the temporary file behind). An existing file is replaced. :attr:`metadata` is saved
        with the model.

        Parameters
        ----------
        path : str or path-like
            The file to write.

        Raises
        ------
        fastseq.exceptions.NotFittedError
            If the tagger is not trained.
        TypeError
            If :attr:`metadata` is not JSON-serialisable.

        See Also
        --------
        load : Read the file back.
        fastseq.taggers.load_tagger : Read a tagger file of any kind.

        Examples
        --------
        >>> import os, tempfile
        >>> from fastseq.taggers import CRFTagger
        >>> tagger = CRFTagger(templates="pos", stack=0).train([[("the", "DET"), ("dog", "NOUN")]])
        >>> tagger.metadata["corpus"] = "toy"
        >>> path = os.path.join(tempfile.mkdtemp(), "crf.zip")
        >>> tagger.save(path)
        >>> CRFTagger.load(path).metadata
        {'corpus': 'toy'}
        """
        self._require_fitted()
        meta, arrays = self._parts()
        try:
            write_archive(path, meta, arrays)
        except TypeError as exc:
            raise TypeError(f"`metadata` must be JSON-serialisable: {exc}") from None

    def _parts(self):
        """(model.json contents, arrays) of :meth:`save`; a stacked tagger's first level is
        ``"level1"`` in the former and arrays prefixed ``l1_`` in the latter."""
        fmeta, farrays = self.features_.to_archive_parts()
        cmeta, carrays = self.crf_.to_archive_parts(with_attributes=False)
        arrays = {f"feat_{k}": v for k, v in farrays.items()}
        arrays.update({f"crf_{k}": v for k, v in carrays.items()})
        params = {p: getattr(self, p) for p in _PARAMS if p != "n_threads"}
        if not isinstance(params["templates"], str):
            params["templates"] = None  # the templates themselves are in "features"
        params["columns"] = list(params["columns"]) if params["columns"] else None
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "params": params,
            "input_columns": list(self.input_columns_) if self.input_columns_ else None,
            "scheme_in": self.scheme_in_,
            "scheme_train": self.scheme_train_,
            "tags": list(self.tags_),
            "train_words": sorted(self._train_words),
            "n_train_tokens": self.n_train_tokens_,
            "n_train_sents": self.n_train_sents_,
            "metadata": self.metadata,
            "features": fmeta,
            "crf": cmeta,
        }
        if self.level1_ is not None:
            meta["level1"], l1 = self.level1_._parts()
            arrays.update({f"l1_{k}": v for k, v in l1.items()})
        return meta, arrays

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"], *,
             n_threads: Optional[int] = None) -> "CRFTagger":
        """Read a tagger written by :meth:`save` (never executes code from the file).

        Parameters
        ----------
        path : str or path-like
            The model file.
        n_threads : int, optional
            Threads of the loaded tagger (None: every core the process may use); not stored
            in the file.

        Returns
        -------
        CRFTagger
            The trained tagger, with the saved parameters and :attr:`metadata`
            (``train_time_`` and ``feature_time_`` are not saved).

        Raises
        ------
        FileNotFoundError, IsADirectoryError, PermissionError
            When the path cannot be opened.
        fastseq.exceptions.ModelFileError
            When the file is not a valid CRF tagger model (a :class:`ValueError`): not a
            model archive, another kind of model, a newer format version, or contents that do
            not check out.

        Examples
        --------
        >>> import os, tempfile
        >>> from fastseq.taggers import CRFTagger
        >>> path = os.path.join(tempfile.mkdtemp(), "crf.zip")
        >>> tagger = CRFTagger(templates="pos", stack=0).train([[("the", "DET"), ("dog", "NOUN")]])
        >>> tagger.save(path)
        >>> CRFTagger.load(path, n_threads=1).tag(["the", "dog"])
        [('the', 'DET'), ('dog', 'NOUN')]
        """
        meta, arrays = read_archive(path)
        return cls.from_archive_parts(meta, arrays, where=os.fspath(path), n_threads=n_threads)

    @classmethod
    @contents_checked
    def from_archive_parts(cls, meta: Dict[str, Any], arrays: Dict[str, np.ndarray], *,
                           where: str, n_threads: Optional[int] = None) -> "CRFTagger":
        """The tagger a model file holds, from its parts.

        This is what :meth:`load` and :func:`fastseq.taggers.load_tagger` do once the file is
        read; everything is checked.

        Parameters
        ----------
        meta : dict
            The parsed ``model.json`` (see "File format" in the Notes).
        arrays : dict of str to ndarray
            The arrays of the file by name (``"crf_transitions"`` for
            ``arrays/crf_transitions.npy``).
        where : str
            The file's name, for the error messages.
        n_threads : int, optional
            Threads of the tagger (None: every core the process may use).

        Returns
        -------
        CRFTagger
            The trained tagger.

        Raises
        ------
        fastseq.exceptions.ModelFileError
            When anything does not check out (the message names ``where``).

        Examples
        --------
        >>> import io, json, os, tempfile, zipfile
        >>> import numpy as np
        >>> from fastseq.taggers import CRFTagger
        >>> path = os.path.join(tempfile.mkdtemp(), "crf.zip")
        >>> tagger = CRFTagger(templates="pos", stack=0).train([[("the", "DET"), ("dog", "NOUN")]])
        >>> tagger.save(path)
        >>> with zipfile.ZipFile(path) as zf:
        ...     meta = json.loads(zf.read("model.json"))
        ...     arrays = {name[7:-4]: np.load(io.BytesIO(zf.read(name)))
        ...               for name in zf.namelist() if name.startswith("arrays/")}
        >>> meta["format"], meta["tags"]
        ('fastseq.CRFTagger', ['DET', 'NOUN'])
        >>> CRFTagger.from_archive_parts(meta, arrays, where=path).tag(["the", "dog"])
        [('the', 'DET'), ('dog', 'NOUN')]
        """
        bad, params = check_model(meta, where, FORMAT, FORMAT_VERSION, "CRFTagger",
                                  _PARAMS)
        fmeta, cmeta = meta.get("features"), meta.get("crf")
        if not isinstance(fmeta, dict) or not isinstance(cmeta, dict):
            raise bad("`features` and `crf` must be objects")
        farrays = {k[5:]: v for k, v in arrays.items() if k.startswith("feat_")}
        carrays = {k[4:]: v for k, v in arrays.items() if k.startswith("crf_")}
        l1arrays = {k[3:]: v for k, v in arrays.items() if k.startswith("l1_")}
        if len(farrays) + len(carrays) + len(l1arrays) != len(arrays):
            raise bad("unexpected arrays")
        level1 = None
        if "level1" in meta:
            l1meta = meta["level1"]
            if not isinstance(l1meta, dict) or "level1" in l1meta:
                raise bad("`level1` must be the object of a single-level tagger")
            level1 = cls.from_archive_parts(l1meta, l1arrays, where=where, n_threads=n_threads)
        elif l1arrays:
            raise bad("first-level arrays without `level1`")
        fx = FeatureExtractor.from_archive_parts(fmeta, farrays, where=where)
        templates: Any = params.get("templates") if params.get("templates") is not None \
            else fx.templates_
        kw = {k: v for k, v in params.items() if k not in ("templates",)}
        try:
            self = cls(templates, **kw, n_threads=n_threads)
        except (TypeError, ValueError) as exc:
            raise bad(f"bad parameter: {exc}") from None
        crf = CRF.from_archive_parts(cmeta, carrays, where=where, n_threads=n_threads, space=fx)
        # the CRF passed the checks fit applies to its parameters; the CRF the tagger would
        # train next (its parameters may have been set since) must pass them too
        train_params = {k: v for k, v in self._crf().get_params().items() if k != "n_threads"}
        if train_params != {k: v for k, v in crf.get_params().items() if k != "n_threads"}:
            CRF.from_archive_parts(dict(cmeta, params=train_params), carrays, where=where,
                                   space=fx)
        cols = meta.get("input_columns")
        if cols is not None and (not isinstance(cols, list)
                                 or not all(isinstance(c, str) and c for c in cols)
                                 or len(set(cols)) != len(cols)):
            raise bad("`input_columns` must be a list of distinct non-empty str")
        if cols:
            # every column the templates read must come from the input (or the first level)
            have = list(cols) + ([STACK_COLUMN] if level1 is not None else [])
            for base, col in fmeta["colmap"].items():
                if col not in have and resolve_column(base, have) is None:
                    raise bad(f"the templates read column {col!r}, not among the input "
                              f"columns {cols}")
        metadata = meta.get("metadata", {})
        if not isinstance(metadata, dict):
            raise bad("`metadata` must be an object")
        for k in ("n_train_tokens", "n_train_sents"):
            v = meta.get(k)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise bad(f"`{k}` must be a non-negative int")
        sin, strain = meta.get("scheme_in"), meta.get("scheme_train")
        for v in (sin, strain):
            if v is not None and v not in SCHEMES:
                raise bad(f"unknown scheme {v!r}")
        if (sin is None) != (strain is None):
            raise bad("`scheme_in` and `scheme_train` must both be set or both null")
        if strain is not None:
            # predictions are converted from scheme_train: the labels must be of that scheme
            try:
                for label in crf.classes_:
                    parse_label(label, strain)
            except ValueError as exc:
                raise bad(f"the CRF's labels are not of `scheme_train` ({exc})") from None
        tags = meta.get("tags")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise bad("`tags` must be a list of str")
        words = meta.get("train_words", [])
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise bad("`train_words` must be a list of str")
        fx.columns = tuple(cols) if cols else fx.columns
        self.features_ = fx
        self.crf_ = crf
        self.level1_ = level1
        self.scheme_in_, self.scheme_train_ = sin, strain
        self.tags_ = list(tags)
        self._train_words = set(words)
        self.input_columns_ = tuple(cols) if cols else None
        self.n_train_tokens_ = meta["n_train_tokens"]
        self.n_train_sents_ = meta["n_train_sents"]
        self.metadata = dict(metadata)
        return self
