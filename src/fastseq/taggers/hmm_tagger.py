"""Part-of-speech (and other token-level) taggers built on fastseq's kernels.

:class:`HMMTagger` is a supervised hidden Markov model tagger over words in the style of TnT
(Brants 2000): tag n-grams smoothed by deleted interpolation, a word lexicon, and a suffix
model for words never seen in training.

>>> from fastseq.taggers import HMMTagger
>>> tagger = HMMTagger().train([[("the", "DET"), ("dog", "NOUN"), ("barks", "VERB")]])
>>> tagger.tag(["the", "dog", "barks"])
[('the', 'DET'), ('dog', 'NOUN'), ('barks', 'VERB')]

The model, its decoding, its measured accuracy and its file format are described in the
Notes of :class:`HMMTagger`. Public names: :class:`HMMTagger`, :func:`shape_class` (the
word shapes of the unknown-word model), :data:`FORMAT` and :data:`FORMAT_VERSION` (the
model file's ``"format"`` and ``"format_version"``).
"""
from __future__ import annotations

import os
import time
from itertools import chain, repeat
from typing import Any, Dict, Iterable, List, Optional, Sequence, Sized, Tuple, Union

import numpy as np
from scipy import sparse

from .._archive import check_model, contents_checked, read_archive, write_archive
from .._progress import progress_bar
from .._state import all_or_nothing
from .._validation import check_int, check_real
from ..exceptions import NotFittedError
from ..ops import effective_n_threads, viterbi
from ._inputs import check_tagged, check_tokens, offsets
from .evaluation import TaggerEvaluation, evaluate

__all__ = ["HMMTagger", "shape_class", "FORMAT", "FORMAT_VERSION"]

#: The ``"format"`` of an HMM tagger model file.
FORMAT = "fastseq.HMMTagger"
#: Version of the file format written by :meth:`HMMTagger.save`.
FORMAT_VERSION = 1

_NEG_INF = -np.inf


def shape_class(word: str) -> str:
    """The shape class of a word, used to pick a suffix trie for unknown words.

    Parameters
    ----------
    word : str
        A word (token).

    Returns
    -------
    str
        One of ``"url"`` (URLs, e-mail addresses), ``"num"`` (digits with punctuation only:
        ``1,000``, ``3.5``, ``10:30``), ``"alnum"`` (digits and letters: ``4th``, ``B2B``),
        ``"punct"`` (no letter or digit), ``"upper"`` (all letters capitals, two or more
        letters), ``"cap"`` (first letter a capital), ``"mixed"`` (a capital later on:
        ``iPhone``) or ``"lower"``; followed by ``"-"`` when the word contains a hyphen (and
        is not just hyphens); ``"url"`` and ``"punct"`` never take it.

    Examples
    --------
    >>> from fastseq.taggers.hmm_tagger import shape_class
    >>> [shape_class(w) for w in ["dog", "Dog", "DOG", "iPod", "1,000", "4th", "...", "well-known"]]
    ['lower', 'cap', 'upper', 'mixed', 'num', 'alnum', 'punct', 'lower-']
    """
    if word.isalpha():  # fast path for the common case (no URL, digit or hyphen possible)
        if word.islower():
            return "lower"
        if word.isupper():
            return "upper" if len(word) > 1 else "cap"
        return "cap" if word[0].isupper() else "mixed"
    low = word.lower()
    if "@" in word[1:] or "://" in word or low.startswith("www.") or low.endswith(
            (".com", ".org", ".net", ".edu", ".gov", ".html", ".htm")):
        return "url"
    has_digit = has_alpha = has_upper = False
    for ch in word:
        if ch.isdigit():
            has_digit = True
        elif ch.isalpha():
            has_alpha = True
            if ch.isupper():
                has_upper = True
    if has_digit:
        cls = "alnum" if has_alpha else "num"
    elif not has_alpha:
        return "punct"
    elif not has_upper:
        cls = "lower"
    else:
        letters = [ch for ch in word if ch.isalpha()]
        if len(letters) > 1 and all(ch.isupper() for ch in letters):
            cls = "upper"
        elif letters[0].isupper():
            cls = "cap"
        else:
            cls = "mixed"
    if "-" in word and word.strip("-"):
        cls += "-"
    return cls



_PARAMS = ("order", "beam", "lexicalize", "rare_threshold", "max_suffix", "suffix_smoothing",
           "known_prior", "case_backoff", "max_batch_tokens", "n_threads")
_MAX_PAIR_STATES = 64
# the lattice decoder runs over beam**3 states (beam**6 transitions); 16 gives the 4096
# states of the largest exact pair decoding
_MAX_BEAM = 16
#: the lattice drops candidates less probable than this fraction of the word's best state
_CANDIDATE_RATIO = 1e-3
#: entries of the largest trigram lookup table of the lattice decoder (8 bytes each)
_MAX_TABLE = 2 ** 23


class HMMTagger:
    """Supervised HMM tagger (TnT-style): trigram tag model, lexicon, suffix-based unknown words.

    ``lexicalize``, ``rare_threshold`` and ``max_suffix`` shape what :meth:`train` counts;
    the others may also be changed on a trained tagger (``order`` and ``suffix_smoothing``
    then re-derive the probabilities from the stored counts on the next call). The
    parameters are checked here and again at every call, so a bad value set later raises
    then. The fitted attributes (trailing underscore) exist after :meth:`train` or
    :meth:`load`.

    Parameters
    ----------
    order : {1, 2}, default 2
        1: bigram model; 2: trigram model (both smoothed by deleted interpolation).
    beam : int in [1, 16] or None, default 5
        ``order=2`` only: states kept per token for decoding (see the Notes); ``None``
        decodes exactly over all state pairs (at most 64 states: small tag sets and
        ``lexicalize=0`` only).
    lexicalize : int >= 0, default 100
        Number of frequent ambiguous words that get word-specific states (0: plain HMM).
    rare_threshold : int >= 1, default 10
        Words seen at most this often train the unknown-word (suffix) model.
    max_suffix : int >= 0, default 10
        Longest word ending used by the unknown-word model.
    suffix_smoothing : "tnt" or float > 0, default 5.0
        Successive-abstraction rule of the suffix tries: TnT's ``theta`` weighting or a
        Dirichlet prior of this strength (see the Notes).
    known_prior : float >= 0, default 0.5
        Pseudo-count pulling a rare known word's tag distribution towards the unknown-word
        estimate (0: pure lexicon counts, as TnT).
    case_backoff : float in [0, 1], default 0.5
        Weight of a known other-case spelling of an unknown word (0: off).
    max_batch_tokens : int >= 1, default 100000
        Inputs with more tokens are decoded in batches of about this many (bounds memory).
    n_threads : int or None, default None
        Threads for the kernels (None: all the process may use; see :func:`fastseq.viterbi`).

    Attributes
    ----------
    tags_ : list of str
        The tag set, sorted.
    vocab_ : dict of str to int
        The known words (word -> index, in order of first appearance in training).
    lexicalized_words_ : list of str
        The words with word-specific states.
    n_states_ : int
        HMM states: the tags plus the word-specific states.
    lambdas_ : ndarray of float64, shape (order + 1,)
        Interpolation weights (unigram, bigram[, trigram]), summing to 1.
    n_train_tokens_, n_train_sents_ : int
        Size of the training data (non-empty sentences).
    train_time_ : float
        Seconds :meth:`train` took (set by :meth:`train` only, not by :meth:`load`).
    metadata : dict
        Free-form, JSON-serialisable information saved with the model (empty by default).

    Raises
    ------
    TypeError
        If a parameter has the wrong type (``order="2"``).
    ValueError
        If a parameter is out of range (``order=3``, ``beam=0`` or above 16,
        ``suffix_smoothing=0``).

    See Also
    --------
    CRFTagger : A CRF tagger over feature templates, with the same interface.
    load_tagger : Load a tagger file of either kind.

    Notes
    -----
    .. rubric:: The model

    *Tag transitions.* ``order=2`` (default) is a second-order (trigram) HMM,
    ``P(t_i | t_{i-2}, t_{i-1}) = l1 P(t_i) + l2 P(t_i | t_{i-1}) + l3 P(t_i | t_{i-2}, t_{i-1})``
    with maximum-likelihood estimates from the training counts and the weights ``l1, l2, l3``
    set by *deleted interpolation*: every training trigram votes, with its count, for the
    estimate that predicts it best once that trigram itself is removed from the counts.
    Sentence boundaries are modelled: two begin-of-sentence states start every sentence and an
    end-of-sentence event ``P(</s> | t_{n-1}, t_n)`` ends it. ``order=1`` is the first-order
    (bigram) version.

    *Known words.* ``P(w | t)`` from the training counts. Internally the tagger works with
    ``P(t | w) / P(t)``, which equals ``P(w | t) / P(w)``; the factor ``1 / P(w)`` is the same
    for every tag of a token and so never changes the best path, and it lets differently
    estimated distributions (lexicon, suffixes, other spellings) be mixed on one scale. With
    ``known_prior > 0`` the counts of a *rare* known word (seen at most ``rare_threshold``
    times) are smoothed towards the unknown-word estimate
    (``(c(w, t) + known_prior * P_unk(t | w)) / (c(w) + known_prior)``), which lets such words
    take tags they were not seen with.

    *Lexicalised states.* The ``lexicalize`` most frequent ambiguous words (seen with two or
    more tags, and more than ``rare_threshold`` times) get states of their own, one per tag they
    take ("that/SCONJ", "that/PRON", ...), as in the lexicalised HMMs of Pla and Molina (2004):
    the tag model then learns word-specific contexts ("have" as AUX before a participle), which
    is where most errors of a plain HMM are. Each token of such a word is in one of its own
    states in training; the output is the state's tag. ``lexicalize=0`` gives the plain HMM.

    *Unknown words.* ``P(t | w)`` comes from the word's ending, learnt from the *rare* words of
    the training data (those seen at most ``rare_threshold`` times, whose behaviour resembles
    that of new words). Each word is first put in a shape class -- lower case, capitalised, all
    capitals, mixed case, number, digits mixed with letters, punctuation/symbols, URL or e-mail,
    each with or without a hyphen (see :func:`fastseq.taggers.hmm_tagger.shape_class`) -- and
    each class has its own suffix trie holding tag counts for every ending of up to
    ``max_suffix`` characters. The estimate for the ending ``s = c_k ... c_n`` is smoothed by
    *successive abstraction* towards that of the shorter ending ``c_{k+1} ... c_n``, down to the
    class's own tag distribution:

    * ``suffix_smoothing="tnt"`` (TnT's rule):
      ``P(t | s) = (ML(t | s) + theta P(t | s')) / (1 + theta)``, with ``theta`` the standard
      deviation of the unconditioned tag probabilities;
    * ``suffix_smoothing=k`` (a positive number):
      ``P(t | s) = (c(s, t) + k P(t | s')) / (c(s) + k)``, a Dirichlet prior of strength
      ``k``, so that endings seen a few times do not override their parents.

    The longest ending of the word found in its class's trie gives the estimate. An unknown word
    whose lower-case (or capitalised) spelling is known -- "The", "APPLE" -- mixes that
    spelling's tags in with weight ``case_backoff``.

    .. rubric:: Decoding

    The HMM's states are the tags plus the word-specific states (``n_states_``, ``M``). All
    sentences of a call are decoded together by ONE batched call to :func:`fastseq.viterbi`
    (inputs of more than ``max_batch_tokens`` tokens are cut, at sentence boundaries, into a few
    large batches to bound memory). There is no Python loop over sentences or positions.

    * ``order=2``, ``beam=K`` (default 5): every token keeps at most its ``K`` most probable
      states by ``P(state | w)`` (known words only take states they were seen with -- rare ones
      also what ``known_prior`` adds -- and states below 1/1000 of the token's best are
      dropped). The kernel then runs over ``K**3`` states ``(slot at t-2, slot at t-1, slot at
      t)``: the trigram and lexical scores, which depend on the position, go into the emissions,
      and the transition matrix only lets consecutive states agree on their shared slots. This
      is exact second-order Viterbi over the pruned lattice, costs ``K**6`` per token whatever
      ``M`` is, and is what makes a trigram model over 300-400 states cheap. Measured on UD
      English-EWT UPOS without word-specific states (17 states), beam 5 and exact decoding
      differ on 4 of the 25,094 test tokens (93.31 % vs 93.29 %), at twice the speed.
    * ``order=2``, ``beam=None``: exact second-order Viterbi over ``M**2`` state-pair states
      (``M**4`` per token): fine for 17 UPOS tags (289 pair states) and refused above 64 states
      (49 XPOS tags would need 2,401 pair states).
    * ``order=1``: the kernel runs over the ``M`` states directly (exact; ``M**2`` per token).

    .. rubric:: Accuracy

    UD English-EWT, trained on train, tested on test (``python benchmarks/tagger_figures.py``):
    UPOS 94.5 % (known words 96.2 %, unknown words 77.5 %), XPOS 93.9 % (95.5 % / 77.8 %); a
    TnT-like configuration (``lexicalize=0, known_prior=0, suffix_smoothing="tnt"``) gets 92.5 %
    UPOS on dev where the default gets 94.2 %.

    .. rubric:: File format

    :meth:`HMMTagger.save` writes one ZIP archive (the ``.npz`` container) with

    * ``model.json`` -- UTF-8 JSON: ``"format": "fastseq.HMMTagger"``, ``"format_version": 1``,
      the fastseq version that wrote it, the hyperparameters, the tag set, the vocabulary, the
      suffix-trie keys (``[shape, suffix]`` pairs, shorter suffixes first), the training size, a
      free-form ``"metadata"`` object (the CLI records the columns it trained on) and a manifest
      (dtype, shape) of the arrays;
    * ``arrays/<name>.npy`` -- plain int64 NumPy arrays holding the training counts:
      ``state_tag`` / ``state_word`` (each state's tag, and its word for word-specific states,
      else -1), ``word_state_{indptr,indices,counts}`` (word x state counts, CSR),
      ``ngram_unigrams`` ``(M+1,)`` and ``ngram_bigrams`` ``(M+1, M+1)`` (index ``M`` = sentence
      boundary), ``ngram_trigram_keys`` ``(n, 3)`` / ``ngram_trigram_counts`` ``(n,)``, and
      ``suffix_{indptr,indices,counts}`` (suffix-trie node x tag counts, CSR).

    The file stores counts, not derived probabilities; loading recomputes the model exactly as
    training did, so a loaded tagger tags identically. :meth:`HMMTagger.load` never executes
    code from the file: JSON is parsed as data, arrays are read with ``allow_pickle=False``,
    every member, dtype, shape, index range and count is checked, and anything unexpected raises
    :class:`fastseq.exceptions.ModelFileError` (a :class:`ValueError`). A newer
    ``format_version`` is refused with a message naming both versions.
    :func:`fastseq.taggers.load_tagger` loads any fastseq tagger file by its ``"format"``.

    Examples
    --------
    >>> from fastseq.taggers import HMMTagger
    >>> train = [[("the", "DET"), ("dog", "NOUN"), ("barks", "VERB")],
    ...          [("a", "DET"), ("cat", "NOUN"), ("sleeps", "VERB")]]
    >>> tagger = HMMTagger().train(train)
    >>> tagger.tag(["a", "dog", "sleeps"])
    [('a', 'DET'), ('dog', 'NOUN'), ('sleeps', 'VERB')]
    >>> tagger.tags_, tagger.n_states_, tagger.lambdas_.shape
    (['DET', 'NOUN', 'VERB'], 3, (3,))
    """

    def __init__(self, order: int = 2, beam: Optional[int] = 5, lexicalize: int = 100,
                 rare_threshold: int = 10, max_suffix: int = 10,
                 suffix_smoothing: Union[str, float] = 5.0, known_prior: float = 0.5,
                 case_backoff: float = 0.5, max_batch_tokens: int = 100_000,
                 n_threads: Optional[int] = None) -> None:
        self.order = order
        self.beam = beam
        self.lexicalize = lexicalize
        self.rare_threshold = rare_threshold
        self.max_suffix = max_suffix
        self.suffix_smoothing = suffix_smoothing
        self.known_prior = known_prior
        self.case_backoff = case_backoff
        self.max_batch_tokens = max_batch_tokens
        self.n_threads = n_threads
        self.metadata: Dict[str, Any] = {}
        self._check_params()

    # -- parameters ----------------------------------------------------------------------
    def _check_params(self):
        self.order = check_int(self.order, "order", 1, 2)
        self.beam = check_int(self.beam, "beam", 1, _MAX_BEAM, allow_none=True)
        self.lexicalize = check_int(self.lexicalize, "lexicalize", 0)
        self.rare_threshold = check_int(self.rare_threshold, "rare_threshold", 1)
        self.max_suffix = check_int(self.max_suffix, "max_suffix", 0)
        if isinstance(self.suffix_smoothing, str):
            if self.suffix_smoothing != "tnt":
                raise ValueError("`suffix_smoothing` must be 'tnt' or a positive number, got "
                                 f"{self.suffix_smoothing!r}")
        else:
            self.suffix_smoothing = check_real(self.suffix_smoothing, "suffix_smoothing", 0.0)
            if self.suffix_smoothing <= 0:
                raise ValueError("`suffix_smoothing` must be 'tnt' or a positive number, got "
                                 f"{self.suffix_smoothing}")
        self.known_prior = check_real(self.known_prior, "known_prior", 0.0)
        self.case_backoff = check_real(self.case_backoff, "case_backoff", 0.0, 1.0)
        self.max_batch_tokens = check_int(self.max_batch_tokens, "max_batch_tokens", 1)
        if self.n_threads is not None:
            effective_n_threads(self.n_threads)  # raises on bad values

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """The constructor arguments, as a dict (scikit-learn protocol).

        Parameters
        ----------
        deep : bool, default True
            Ignored (a tagger has no sub-estimators); accepted for scikit-learn.

        Returns
        -------
        dict
            ``{name: value}`` of every constructor parameter, in signature order.

        Examples
        --------
        >>> from fastseq.taggers import HMMTagger
        >>> params = HMMTagger(order=1, beam=None).get_params()
        >>> params["order"], params["beam"], params["lexicalize"]
        (1, None, 100)
        """
        return {p: getattr(self, p) for p in _PARAMS}

    def set_params(self, **params: Any) -> "HMMTagger":
        """Set constructor parameters (scikit-learn protocol), checked as the constructor
        checks them.

        ``order``, ``suffix_smoothing`` and the decoding parameters take effect on a trained
        tagger at its next call; ``lexicalize``, ``rare_threshold`` and ``max_suffix`` shape
        what :meth:`train` counts, so they take effect when it is trained again.

        Parameters
        ----------
        **params : dict
            ``name=value`` for constructor parameters.

        Returns
        -------
        HMMTagger
            ``self``.

        Raises
        ------
        ValueError
            If a name is not a constructor parameter, or a value is out of range.
        TypeError
            If a value has the wrong type.

        Examples
        --------
        >>> from fastseq.taggers import HMMTagger
        >>> HMMTagger().set_params(order=1, beam=None).get_params()["order"]
        1
        """
        unknown = sorted(set(params) - set(_PARAMS))
        if unknown:
            raise ValueError(f"Invalid parameter(s) {unknown} for HMMTagger; valid: "
                             f"{list(_PARAMS)}")
        old = self.get_params()
        for k, v in params.items():
            setattr(self, k, v)
        try:
            self._check_params()
        except (TypeError, ValueError):
            for k, v in old.items():
                setattr(self, k, v)
            raise
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{p}={getattr(self, p)!r}" for p in _PARAMS)
        state = (f"; {len(self.tags_)} tags, {self.n_states_} states, {len(self.vocab_)} words"
                 if self.is_fitted else "; untrained")
        return f"HMMTagger({args}){state}"

    @property
    def is_fitted(self) -> bool:
        """Whether the tagger is trained (by :meth:`train` or :meth:`load`).

        Examples
        --------
        >>> from fastseq.taggers import HMMTagger
        >>> tagger = HMMTagger()
        >>> tagger.is_fitted, tagger.train([[("hello", "INTJ")]]).is_fitted
        (False, True)
        """
        return hasattr(self, "_p1")

    def __getstate__(self) -> Dict[str, Any]:
        # the decoder's lookup tables are rebuilt when needed: keep them out of pickles
        state = dict(self.__dict__)
        for name in ("_tri_table", "_dense_tri"):
            if name in state:
                state[name] = None
        return state

    def _require_fitted(self):
        if not self.is_fitted:
            raise NotFittedError("This HMMTagger is not trained yet; call train() or "
                                 "HMMTagger.load(path) first")
        self._check_params()
        if self._built_with != (self.order, self.suffix_smoothing):
            self._build()  # order or suffix_smoothing changed since training: re-derive

    # -- training ------------------------------------------------------------------------
    def train(self, tagged_sents: Iterable[Sequence[Tuple[str, str]]], *,
              progress: Optional[bool] = False) -> "HMMTagger":
        """Estimate the model from ``[[(word, tag), ...], ...]`` (replacing any previous one).

        Parameters
        ----------
        tagged_sents : iterable of lists of (str, str)
            The training sentences, each a list of ``(word, tag)`` pairs of non-empty str.
            Empty sentences are skipped.
        progress : bool or None, default False
            Show a tqdm progress bar while reading the sentences: True, False, or None (only
            when stderr is a terminal). Ignored when tqdm is not installed.

        Returns
        -------
        HMMTagger
            ``self``, trained.

        Raises
        ------
        TypeError
            If ``tagged_sents`` is not a list of sentences (a str, say), or a word or tag is
            not a str.
        ValueError
            If there are no tokens, a token is not a ``(word, tag)`` pair (an untagged token),
            a word or tag is empty, or a parameter is out of range.
        KeyboardInterrupt
            When training is interrupted (Ctrl-C). Like every error, it leaves the tagger as
            it was before the call (untrained, or with its previous model), never part of
            the new model.

        Examples
        --------
        >>> from fastseq.taggers import HMMTagger
        >>> tagger = HMMTagger().train([[("the", "DET"), ("dog", "NOUN")],
        ...                             [("a", "DET"), ("cat", "NOUN")]])
        >>> tagger.tags_, tagger.n_train_tokens_, tagger.n_train_sents_
        (['DET', 'NOUN'], 4, 2)
        """
        with all_or_nothing(self):
            return self._train(tagged_sents, progress)

    def _train(self, tagged_sents, progress) -> "HMMTagger":
        self._check_params()
        t0 = time.perf_counter()
        if isinstance(tagged_sents, (str, bytes)):
            raise TypeError("`tagged_sents` must be a list of sentences, each a list of "
                            "(word, tag) pairs, got str")
        total = len(tagged_sents) if isinstance(tagged_sents, Sized) else None
        sents = check_tagged(progress_bar(tagged_sents, progress, total=total,
                                        desc="reading", unit="sent"), "tagged_sents")
        sents = [s for s in sents if s]
        if not sents:
            raise ValueError("`tagged_sents` holds no tokens: nothing to train on")
        lengths = np.fromiter((len(s) for s in sents), dtype=np.int64, count=len(sents))

        vocab: Dict[str, int] = {}
        tag_index: Dict[str, int] = {}
        w = np.fromiter((vocab.setdefault(w, len(vocab)) for s in sents for w, _ in s),
                        dtype=np.int64, count=int(lengths.sum()))
        t_raw = np.fromiter((tag_index.setdefault(t, len(tag_index)) for s in sents
                             for _, t in s), dtype=np.int64, count=w.size)
        del sents
        tags = sorted(tag_index)
        remap = np.empty(len(tags), dtype=np.int64)
        remap[[tag_index[t] for t in tags]] = np.arange(len(tags))
        t = remap[t_raw]
        N, V = len(tags), len(vocab)

        wt = sparse.csr_matrix((np.ones(w.size, dtype=np.int64), (w, t)), shape=(V, N))
        wt.sum_duplicates()
        wt.sort_indices()

        # word-specific states for the most frequent ambiguous (not rare) words
        counts = np.asarray(wt.sum(axis=1)).ravel()
        amb = np.flatnonzero((np.diff(wt.indptr) >= 2) & (counts > self.rare_threshold))
        spec = np.sort(amb[np.lexsort((amb, -counts[amb]))][:self.lexicalize])
        n_spec_states = np.diff(wt.indptr)[spec]
        state_tag = np.concatenate([np.arange(N)] + [wt.indices[wt.indptr[v]:wt.indptr[v + 1]]
                                                      for v in spec.tolist()]).astype(np.int64)
        state_word = np.concatenate([np.full(N, -1), np.repeat(spec, n_spec_states)])
        state_word = state_word.astype(np.int64)
        s = _token_states(w, t, state_tag, state_word, V, N)
        M = state_tag.size
        ws = sparse.csr_matrix((np.ones(w.size, dtype=np.int64), (w, s)), shape=(V, M))
        ws.sum_duplicates()
        ws.sort_indices()

        self.tags_ = tags
        self.vocab_ = vocab
        self._words = list(vocab)
        self._ws = ws
        self._state_tag, self._state_word = state_tag, state_word
        self._uni, self._bi, self._tri_keys, self._tri_counts = _count_ngrams(s, lengths, M)
        self._suffix_keys, self._suffix_counts = self._count_suffixes(wt)
        self.n_train_tokens_ = int(w.size)
        self.n_train_sents_ = int(lengths.size)
        self._build()
        self.train_time_ = time.perf_counter() - t0
        return self

    def _count_suffixes(self, wt: sparse.csr_matrix
                        ) -> Tuple[List[Tuple[str, str]], sparse.csr_matrix]:
        """Suffix-trie keys ``[(shape, suffix), ...]`` (parents before children) and the
        CSR matrix of the tag counts of the rare-word tokens under each key."""
        word_counts = np.asarray(wt.sum(axis=1)).ravel()
        rare = np.flatnonzero(word_counts <= self.rare_threshold)
        key_index: Dict[Tuple[str, str], int] = {}
        rows, cols = [], []
        words = self._words
        for r in rare.tolist():
            word = words[r]
            cls = shape_class(word)
            n = len(word)
            for i in range(min(self.max_suffix, n) + 1):
                rows.append(key_index.setdefault((cls, word[n - i:]), len(key_index)))
                cols.append(r)
        keys = list(key_index)
        # parents (shorter endings) first
        order = np.argsort(np.fromiter((len(k[1]) for k in keys), dtype=np.int64,
                                       count=len(keys)), kind="stable").tolist()
        rank = np.empty(len(keys), dtype=np.int64)
        rank[order] = np.arange(len(keys))
        member = sparse.csr_matrix((np.ones(len(rows), dtype=np.int64),
                                    (rank[np.asarray(rows, dtype=np.int64)],
                                     np.asarray(cols, dtype=np.int64))),
                                   shape=(len(keys), wt.shape[0]))
        counts = (member @ wt).tocsr()
        counts.sum_duplicates()
        counts.sort_indices()
        return [keys[k] for k in order], counts

    # -- derived tables ------------------------------------------------------------------
    def _build(self):
        """Derive every probability table from the stored counts (after train and load)."""
        N, M = len(self.tags_), self._state_tag.size
        M1 = M + 1                                   # states, then <s> (history) / </s>
        uni = self._uni.astype(np.float64)
        # a tag seen only on lexicalised words leaves its plain state without counts: give it
        # half a count so that unknown words can still take the tag (through the unigram)
        uni[:N][uni[:N] == 0] = 0.5
        bi = self._bi.astype(np.float64)
        keys = self._tri_keys
        f = self._tri_counts.astype(np.float64)
        total = uni.sum()
        p1 = uni / total
        ctx1 = bi.sum(axis=1)
        p2 = np.where(ctx1[:, None] > 0, bi / np.where(ctx1 > 0, ctx1, 1)[:, None], p1[None])
        ctx2 = np.bincount(keys[:, 0] * M1 + keys[:, 1], weights=f,
                           minlength=M1 * M1).reshape(M1, M1)

        # deleted interpolation: each observed n-gram votes (with its count) for the estimate
        # that predicts it best once the n-gram itself is left out; ties go to lower orders
        def loo(num, den):
            return np.where(den > 1, (num - 1) / np.where(den > 1, den - 1, 1), 0.0)

        if self.order == 2:
            h1, h2, t3 = keys[:, 0], keys[:, 1], keys[:, 2]
            votes = np.stack([loo(uni[t3], total), loo(bi[h2, t3], ctx1[h2]),
                              loo(f, ctx2[h1, h2])])
            weight = f
        else:
            h, t2 = np.nonzero(bi)
            weight = bi[h, t2]
            votes = np.stack([loo(uni[t2], total), loo(weight, ctx1[h])])
        best = np.argmax(votes, axis=0)
        # one extra vote each keeps every weight positive (no zero-probability moves)
        lam = np.bincount(best, weights=weight, minlength=votes.shape[0]) + 1.0
        self.lambdas_ = lam / lam.sum()
        self._p1, self._p2, self._ctx2 = p1, p2, ctx2
        flat = (keys[:, 0] * M1 + keys[:, 1]) * M1 + keys[:, 2]
        order = np.argsort(flat, kind="stable")
        self._tri_flat, self._tri_f = flat[order], f[order]
        if self.order == 1:
            with np.errstate(divide="ignore"):
                self._logbi = np.log(self.lambdas_[0] * p1[None, :] + self.lambdas_[1] * p2)
        with np.errstate(divide="ignore"):
            self._log_pstate = np.log(p1[:M] / p1[:M].sum())
        self.n_states_ = M
        self.lexicalized_words_ = [self._words[v] for v in
                                   np.unique(self._state_word[N:]).tolist()]
        self._dense_tri = None
        self._tri_table = self._n_contexts = None

        # lexicon: P(state | w) and P(tag | w) per known word (CSR rows)
        ws = self._ws
        wc = np.asarray(ws.sum(axis=1)).ravel().astype(np.float64)
        self._word_counts = wc
        self._ptw = ws.multiply(1.0 / wc[:, None]).tocsr()
        to_tag = sparse.csr_matrix((np.ones(M), (np.arange(M), self._state_tag)), shape=(M, N))
        self._ptw_tag = (self._ptw @ to_tag).tocsr()
        self._is_spec = np.zeros(len(self._words), dtype=bool)
        self._is_spec[self._state_word[N:]] = True

        # unknown words: smoothed P(tag | shape, suffix) for every trie node
        ptag = np.bincount(self._state_tag, weights=p1[:M], minlength=N)
        ptag = ptag / ptag.sum()
        self._log_ptag = np.log(ptag)
        sc = self._suffix_counts.toarray().astype(np.float64)
        roots = [i for i, (_, suf) in enumerate(self._suffix_keys) if suf == ""]
        rare_tags = sc[roots].sum(axis=0)
        if rare_tags.sum() > 0:
            p_rare = 0.99 * rare_tags / rare_tags.sum() + 0.01 * ptag
        else:
            p_rare = ptag.copy()
        self._p_rare = p_rare
        n_nodes = len(self._suffix_keys)
        node_index = {k: i for i, k in enumerate(self._suffix_keys)}
        depth = np.fromiter((len(suf) for _, suf in self._suffix_keys), dtype=np.int64,
                            count=n_nodes)
        parent = np.fromiter((node_index[(cls, suf[1:])] if suf else -1
                              for cls, suf in self._suffix_keys), dtype=np.int64, count=n_nodes)
        theta = float(np.sqrt(np.sum((ptag - 1.0 / N) ** 2) / max(N - 1, 1)))
        P = np.zeros((n_nodes, N))
        csum = sc.sum(axis=1)
        for d in range(int(depth.max()) + 1 if n_nodes else 0):
            idx = np.flatnonzero(depth == d)
            prior = p_rare[None, :] if d == 0 else P[parent[idx]]
            c, n = sc[idx], csum[idx][:, None]
            if self.suffix_smoothing == "tnt":
                P[idx] = (c / np.where(n > 0, n, 1) + theta * prior) / (1.0 + theta)
            else:
                k = self.suffix_smoothing
                P[idx] = (c + k * prior) / (n + k)
        self._node_index = node_index
        self._node_p = P
        self._built_with = (self.order, self.suffix_smoothing)
        if n_nodes == 0:
            self._node_p = np.zeros((1, N))
        # suffix-model node of each known word (for known_prior), filled in on first use
        self._word_node = np.full(len(self._words), -2, dtype=np.int64)

    def _logp3(self, h1, h2, t):
        """log P(t | h1, h2) of the interpolated trigram model, elementwise over broadcast
        index arrays (state ids; M = <s> in a history, </s> as t; M + 1 = none: -inf)."""
        M1 = self.n_states_ + 1
        h1, h2, t = np.broadcast_arrays(h1, h2, t)
        out = np.full(h1.shape, _NEG_INF)
        ok = (h1 < M1) & (h2 < M1) & (t < M1)
        out[ok] = self._logp3_valid(h1[ok], h2[ok], t[ok])
        return out

    def _logp3_valid(self, a, b, c):
        """:meth:`_logp3` for 1-D arrays of valid indices (no "none" entries)."""
        M1 = self.n_states_ + 1
        q = (a * M1 + b) * M1 + c
        keys = self._tri_flat
        pos = np.minimum(np.searchsorted(keys, q), keys.size - 1)
        c3 = np.where(keys[pos] == q, self._tri_f[pos], 0.0)
        return self._interpolate(c3, self._ctx2[a, b], self._p2[b, c], self._p1[c])

    def _interpolate(self, c3, ctx, p2, p1):
        """log of the interpolated trigram probability from the trigram count ``c3``, its
        context's count ``ctx`` and the bigram / unigram probabilities (broadcast)."""
        p3 = np.where(ctx > 0, c3 / np.where(ctx > 0, ctx, 1.0), p2)
        lam = self.lambdas_
        with np.errstate(divide="ignore"):
            return np.log(lam[0] * p1 + lam[1] * p2 + lam[2] * p3)

    def _trigram_table(self, n_queries: int) -> Optional[Tuple[np.ndarray, np.ndarray]]:
        """``(row, table)``: ``table[row[a * (M + 1) + b] + c]`` is :meth:`_logp3_valid` of
        ``(a, b, c)``, the same values computed once (a row per observed context, and one
        per ``b`` for the contexts never seen, whose probabilities do not depend on ``a``;
        ``row`` holds the flat offsets of the rows).
        None when the table would be too large (its memory is capped), or when it is not
        built yet and ``n_queries`` lookups are too few to pay for building it."""
        M1 = self.n_states_ + 1
        # (.get: a tagger pickled before the table existed has no such attribute)
        table: Any = self.__dict__.get("_tri_table")
        if table is None:
            n_ctx = self.__dict__.get("_n_contexts")
            if n_ctx is None:  # the contexts are runs of the sorted trigram keys
                n_ctx = self._n_contexts = 1 + int(np.count_nonzero(np.diff(self._tri_flat
                                                                            // M1)))
            size = (n_ctx + M1) * M1
            if size > _MAX_TABLE:
                table = self._tri_table = False
            elif 16 * n_queries < size:  # too few lookups to pay for the table
                return None
        if table is None:
            ctx_key, seen = np.unique(self._tri_flat // M1, return_inverse=True)
            n_ctx = ctx_key.size
            row = n_ctx + np.tile(np.arange(M1), M1)     # unseen (a, b): row n_ctx + b
            row[ctx_key] = np.arange(n_ctx)
            a = np.concatenate([ctx_key // M1, np.zeros(M1, dtype=np.int64)])
            b = np.concatenate([ctx_key % M1, np.arange(M1)])
            c3 = np.zeros((n_ctx + M1, M1))
            c3[seen, self._tri_flat % M1] = self._tri_f
            ctx = np.concatenate([self._ctx2[a[:n_ctx], b[:n_ctx]], np.zeros(M1)])
            table = self._tri_table = (
                row * M1,
                self._interpolate(c3, ctx[:, None], self._p2[b], self._p1[None, :]).reshape(-1))
        return None if table is False else table

    # -- lexical distributions -----------------------------------------------------------
    def _suffix_node(self, word: str) -> int:
        """Trie node of the word's shape class and longest known ending (-1: none)."""
        cls = shape_class(word)
        index = self._node_index
        node = index.get((cls, ""))
        if node is None:
            return -1
        n = len(word)
        for i in range(1, min(self.max_suffix, n) + 1):
            nxt = index.get((cls, word[n - i:]))
            if nxt is None:
                break
            node = nxt
        return node

    def _type_dists(self, types: List[str]) -> Tuple[np.ndarray, np.ndarray]:
        """``P(state | w)`` for each word type ``(U, M)`` and whether it is known ``(U,)``."""
        N, M = len(self.tags_), self.n_states_
        vocab = self.vocab_
        ids = np.fromiter(map(vocab.get, types, repeat(-1)), dtype=np.int64,
                          count=len(types))
        known = ids >= 0
        P = np.zeros((len(types), M))
        if known.any():
            P[known] = self._ptw[ids[known]].toarray()
            if self.known_prior > 0:
                kp = self.known_prior
                safe = np.maximum(ids, 0)
                kidx = np.flatnonzero(known & ~self._is_spec[safe]
                                      & (self._word_counts[safe] <= self.rare_threshold))
                if kidx.size:
                    node = self._word_node[ids[kidx]]
                    todo = np.flatnonzero(node == -2)
                    if todo.size:
                        words = self._words
                        node[todo] = np.fromiter(
                            (self._suffix_node(words[v]) for v in ids[kidx[todo]].tolist()),
                            dtype=np.int64, count=todo.size)
                        self._word_node[ids[kidx[todo]]] = node[todo]
                    prior = np.where((node >= 0)[:, None], self._node_p[np.maximum(node, 0)],
                                     self._p_rare[None, :])
                    c = self._word_counts[ids[kidx]][:, None]
                    P[kidx, :N] = (P[kidx, :N] * c + kp * prior) / (c + kp)
        unk = np.flatnonzero(~known)
        if unk.size:
            words = [types[i] for i in unk.tolist()]
            node = np.fromiter(map(self._suffix_node, words), dtype=np.int64, count=unk.size)
            dist = np.where((node >= 0)[:, None], self._node_p[np.maximum(node, 0)],
                            self._p_rare[None, :])
            alpha = self.case_backoff
            if alpha > 0:
                # a known other-case spelling: the lower-case one, else the capitalised one
                get = vocab.get
                other = np.fromiter(
                    (get(w.lower(), get(w[:1].upper() + w[1:].lower(), -1)) for w in words),
                    dtype=np.int64, count=unk.size)
                has = np.flatnonzero(other >= 0)
                if has.size:
                    dist[has] = (alpha * self._ptw_tag[other[has]].toarray()
                                 + (1.0 - alpha) * dist[has])
            P[unk, :N] = dist
        return P, known

    # -- decoding ------------------------------------------------------------------------
    def _decode(self, sents: List[List[str]]) -> Tuple[np.ndarray, np.ndarray]:
        """Tag ids ``(L,)`` of the concatenated tokens, and the sentence ``lengths``."""
        lengths = np.fromiter(map(len, sents), dtype=np.int64, count=len(sents))
        L = int(lengths.sum())
        # word types in order of first occurrence, and the type of every token (C-level loops)
        flat = list(chain.from_iterable(sents))
        type_index: Dict[str, Any] = dict.fromkeys(flat)
        types = list(type_index)
        type_index.update(zip(types, range(len(types))))
        tok = np.fromiter(map(type_index.__getitem__, flat), dtype=np.int64, count=L)
        P, _ = self._type_dists(types)
        out = np.full(L, -1, dtype=np.int64)
        if L == 0:
            return out, lengths
        M = self.n_states_
        lattice = self.order == 2 and self.beam is not None
        if lattice:
            K = min(self.beam, M)
            cand_t, lex_t = self._candidates(P, K)
        else:
            if self.order == 2 and M > _MAX_PAIR_STATES:
                raise ValueError(
                    f"beam=None (exact decoding over state pairs) needs at most "
                    f"{_MAX_PAIR_STATES} states, this model has {M} ({len(self.tags_)} tags + "
                    f"word-specific states); use a beam, e.g. beam=5")
            with np.errstate(divide="ignore"):
                lex_all = np.log(P) - self._log_pstate[None, :]
        # whole sentences in batches of about max_batch_tokens tokens (bounds memory)
        off = offsets(lengths)
        batch = off[:-1] // self.max_batch_tokens
        cut = np.concatenate([[0], np.flatnonzero(np.diff(batch)) + 1, [lengths.size]])
        for s0, s1 in zip(cut[:-1].tolist(), cut[1:].tolist()):
            a, b = int(off[s0]), int(off[s1])
            lens = lengths[s0:s1]
            idx = tok[a:b]
            if lattice:
                states = self._viterbi_lattice(cand_t[idx], lex_t[idx], lens, K)
            elif self.order == 1:
                states = self._viterbi_bigram(lex_all[idx], lens)
            else:
                states = self._viterbi_pairs(lex_all[idx], lens)
            out[a:b] = self._state_tag[states]
        return out, lengths

    def _candidates(self, P: np.ndarray, K: int):
        """Top-``K`` states per type by ``P(state | w)`` (ties: lower index) and their lexical
        scores ``log P(state | w) - log P(state)``; missing candidates are -1 / -inf."""
        # only the positive entries can be candidates (the order of the zeros does not
        # matter: they become -1 / -inf); rows whose positive entries all lie among the N
        # plain tag states (all but the lexicalised words) are sorted over those N columns
        N = len(self.tags_)
        U, M = P.shape
        wide = np.flatnonzero(P[:, N:].any(axis=1)) if M > N else np.zeros(0, dtype=np.int64)
        order = np.zeros((U, K), dtype=np.int64)
        k = min(K, N)
        order[:, :k] = np.argsort(-P[:, :N], axis=1, kind="stable")[:, :k]
        if k < K:
            order[:, k:] = np.arange(k, K)  # zeros in narrow rows: never candidates
        if wide.size:
            order[wide] = np.argsort(-P[wide], axis=1, kind="stable")[:, :K]
        prob = np.take_along_axis(P, order, axis=1)
        valid = prob > _CANDIDATE_RATIO * prob[:, :1]
        valid[:, 0] = prob[:, 0] > 0
        cand = np.where(valid, order, -1)
        with np.errstate(divide="ignore"):
            lex = np.where(valid, np.log(np.where(valid, prob, 1.0)) - self._log_pstate[order],
                           _NEG_INF)
        return cand, lex

    def _viterbi_bigram(self, lex, lengths):
        M = self.n_states_
        lb = self._logbi
        paths, _ = viterbi(lex, lb[:M, :M], start=lb[M, :M], end=lb[:M, M], lengths=lengths,
                           n_threads=self.n_threads)
        return paths

    def _viterbi_pairs(self, lex, lengths):
        """Exact second-order Viterbi over M*M (previous state, state) pairs."""
        M = self.n_states_
        if self._dense_tri is None:
            r = np.arange(M + 1)
            self._dense_tri = self._logp3(r[:, None, None], r[None, :, None], r[None, None, :])
        T = self._dense_tri
        BOS = EOS = M
        L = lex.shape[0]
        pos = np.arange(L) - np.repeat(offsets(lengths)[:-1], lengths)
        em = np.broadcast_to(lex[:, None, :], (L, M, M)).copy()   # [t, previous, current]
        first = np.flatnonzero(pos == 0)
        second = np.flatnonzero(pos == 1)
        # t = 0: a single placeholder predecessor (0), scored P(cur | <s>, <s>)
        em[first, 1:, :] = _NEG_INF
        em[first, 0, :] += T[BOS, BOS, :M]
        # t = 1: the move from (0, j) scores T[0, j, k]; correct it to T[<s>, j, k]
        em[second] += T[BOS, :M, :M] - T[0, :M, :M]
        # one-token sentences end in the placeholder state: correct their end score
        single = first[lengths[lengths > 0] == 1]
        em[single, 0, :] += T[BOS, :M, EOS] - T[0, :M, EOS]
        trans = np.full((M, M, M, M), _NEG_INF)                    # [i, j, j', k]
        jj = np.arange(M)
        trans[:, jj, jj, :] = T[:M, :M, :M]
        paths, _ = viterbi(em.reshape(L, M * M), trans.reshape(M * M, M * M),
                           end=T[:M, :M, EOS].reshape(-1), lengths=lengths,
                           n_threads=self.n_threads)
        return paths % M

    def _viterbi_lattice(self, cand, lex, lengths, K):
        """Exact second-order Viterbi over the pruned lattice: K**3 slot-triple states."""
        M = self.n_states_
        BOS = EOS = M
        NONE = M + 1
        L = cand.shape[0]
        # slot-major (K, L) layouts: the broadcasts below then run along the long axis
        c = np.where(cand >= 0, cand, NONE).T.copy()
        pos = np.arange(L) - np.repeat(offsets(lengths)[:-1], lengths)
        bos_row = np.full((K, 1), NONE, dtype=np.int64)
        bos_row[0] = BOS
        p1 = np.empty_like(c)
        p1[:, 1:] = c[:, :-1]
        p1[:, pos < 1] = bos_row
        p2 = np.empty_like(c)
        p2[:, 2:] = c[:, :-2]
        p2[:, pos < 2] = bos_row
        S = K ** 3
        # scores of the valid (t-2, t-1, t) slot triples only; the rest stay -inf
        ok = ((p2 != NONE)[:, None, None, :] & (p1 != NONE)[None, :, None, :]
              & (c != NONE)[None, None, :, :])
        state, t = np.divmod(np.flatnonzero(ok), L)
        i, r = np.divmod(state, K * K)
        k = r % K
        a, b = p2.reshape(-1)[i * L + t], p1.reshape(-1)[(r // K) * L + t]
        kt = k * L + t
        cur = c.reshape(-1)[kt]
        lex_kt = lex.T.reshape(-1)[kt]
        em = np.full((L, S), _NEG_INF)
        table = self._trigram_table(t.size)
        if table is None:
            em.reshape(-1)[t * S + state] = self._logp3_valid(a, b, cur) + lex_kt
        else:
            row, values = table
            em.reshape(-1)[t * S + state] = values[row[a * (M + 1) + b] + cur] + lex_kt
        em = em.reshape(L, K, K, K)
        last = np.cumsum(lengths)[lengths > 0] - 1
        h1, h2 = p1[:, last].T[:, :, None], c[:, last].T[:, None, :]
        if table is None:
            end = self._logp3(h1, h2, EOS)
        else:
            valid = (h1 != NONE) & (h2 != NONE)
            end = np.where(valid, values[row[np.where(valid, h1 * (M + 1) + h2, 0)] + EOS],
                           _NEG_INF)
        em[last] += end[:, None]
        trans = np.full((S, S), _NEG_INF)
        s = np.arange(S)
        trans[s[:, None], (s % (K * K))[:, None] * K + np.arange(K)[None, :]] = 0.0
        paths, _ = viterbi(em.reshape(L, S), trans, lengths=lengths, n_threads=self.n_threads)
        return np.take_along_axis(cand, (paths % K)[:, None], axis=1)[:, 0]

    # -- public tagging API --------------------------------------------------------------
    def tag(self, tokens: Sequence[str]) -> List[Tuple[str, str]]:
        """Tag one tokenised sentence: ``["The", "dog"] -> [("The", "DET"), ("dog", "NOUN")]``.

        Parameters
        ----------
        tokens : sequence of str
            The words of the sentence (may be empty).

        Returns
        -------
        list of (str, str)
            ``(word, tag)`` for every token.

        Raises
        ------
        fastseq.exceptions.NotFittedError
            If the tagger is not trained.
        TypeError
            If ``tokens`` is a str (split it first, e.g. ``text.split()``) or not a list, or a
            token is not a str.
        ValueError
            If a token is the empty string, or ``beam=None`` (exact second-order decoding) is
            asked of a model of more than 64 states.

        Examples
        --------
        >>> from fastseq.taggers import HMMTagger
        >>> tagger = HMMTagger().train([[("the", "DET"), ("dog", "NOUN"), ("barks", "VERB")]])
        >>> tagger.tag("the dog barks".split())
        [('the', 'DET'), ('dog', 'NOUN'), ('barks', 'VERB')]
        """
        tokens = check_tokens(tokens, "tokens")
        return self.tag_sents([tokens])[0]

    def tag_sents(self, sents: Iterable[Sequence[str]]) -> List[List[Tuple[str, str]]]:
        """Tag many tokenised sentences, decoded together by one batched kernel call.

        Parameters
        ----------
        sents : iterable of sequences of str
            The sentences, each a list of words (empty sentences are fine).

        Returns
        -------
        list of lists of (str, str)
            ``(word, tag)`` for every token of every sentence.

        Raises
        ------
        fastseq.exceptions.NotFittedError
            If the tagger is not trained.
        TypeError
            If ``sents`` or a sentence is a str (split it first, e.g. ``text.split()``) or
            not a list, or a token is not a str.
        ValueError
            If a token is the empty string, or ``beam=None`` (exact second-order decoding) is
            asked of a model of more than 64 states.

        Examples
        --------
        >>> from fastseq.taggers import HMMTagger
        >>> tagger = HMMTagger().train([[("the", "DET"), ("dog", "NOUN"), ("barks", "VERB")]])
        >>> tagger.tag_sents([["the", "dog"], ["dog", "barks"]])
        [[('the', 'DET'), ('dog', 'NOUN')], [('dog', 'NOUN'), ('barks', 'VERB')]]
        """
        self._require_fitted()
        sents = self._check_sents(sents)
        ids, lengths = self._decode(sents)
        flat = list(map(self.tags_.__getitem__, ids.tolist()))
        off = offsets(lengths).tolist()
        return [list(zip(s, flat[a:b])) for s, a, b in zip(sents, off[:-1], off[1:])]

    def predict(self, sents: Iterable[Sequence[str]]) -> List[List[str]]:
        """Tags only: ``[[tag, ...], ...]`` for tokenised sentences.

        Parameters
        ----------
        sents : iterable of sequences of str
            The sentences, each a list of words (empty sentences are fine).

        Returns
        -------
        list of lists of str
            The tags of every sentence, one per token.

        Raises
        ------
        fastseq.exceptions.NotFittedError
            If the tagger is not trained.
        TypeError
            If ``sents`` or a sentence is a str (split it first, e.g. ``text.split()``) or
            not a list, or a token is not a str.
        ValueError
            If a token is the empty string, or ``beam=None`` (exact second-order decoding) is
            asked of a model of more than 64 states.

        Examples
        --------
        >>> from fastseq.taggers import HMMTagger
        >>> tagger = HMMTagger().train([[("the", "DET"), ("dog", "NOUN"), ("barks", "VERB")]])
        >>> tagger.predict([["the", "dog"], ["dog", "barks"]])
        [['DET', 'NOUN'], ['NOUN', 'VERB']]
        """
        self._require_fitted()
        sents = self._check_sents(sents)
        ids, lengths = self._decode(sents)
        flat = list(map(self.tags_.__getitem__, ids.tolist()))
        off = offsets(lengths).tolist()
        return list(map(flat.__getitem__, map(slice, off[:-1], off[1:])))

    @staticmethod
    def _check_sents(sents) -> List[List[str]]:
        if isinstance(sents, (str, bytes)) or not isinstance(sents, Iterable):
            raise TypeError("`sents` must be a list of token lists, got "
                            f"{type(sents).__name__}")
        if type(sents) is list and set(map(type, sents)) == {list}:
            # fast path: all checks at C speed over the flattened tokens
            flat = list(chain.from_iterable(sents))
            if not flat or (set(map(type, flat)) == {str} and all(flat)):
                return sents
        return [check_tokens(s, "sents", k) for k, s in enumerate(sents)]

    def evaluate(self, gold_sents: Iterable[Sequence[Tuple[str, str]]]) -> float:
        """Token accuracy on ``[[(word, gold_tag), ...], ...]``.

        Parameters
        ----------
        gold_sents : iterable of lists of (str, str)
            Gold sentences ``[[(word, gold_tag), ...], ...]``; a word of :attr:`vocab_`
            counts as known.

        Returns
        -------
        float
            The fraction of tokens tagged as in the gold data (NaN when there is no token).

        Raises
        ------
        fastseq.exceptions.NotFittedError
            If the tagger is not trained.
        TypeError
            If ``gold_sents`` is not a list of sentences, or a word or tag is not a str.
        ValueError
            If a token is not a ``(word, tag)`` pair or has an empty word or tag.

        See Also
        --------
        evaluation_report : Accuracies, per-tag and chunk scores, and the speed.

        Examples
        --------
        >>> from fastseq.taggers import HMMTagger
        >>> tagger = HMMTagger().train([[("the", "DET"), ("dog", "NOUN"), ("barks", "VERB")]])
        >>> tagger.evaluate([[("the", "DET"), ("dog", "NOUN"), ("barks", "NOUN")]])
        0.6666666666666666
        """
        return self.evaluation_report(gold_sents, per_tag=False).accuracy

    def evaluation_report(self, gold_sents: Iterable[Sequence[Tuple[str, str]]], *,
                          per_tag: bool = True) -> TaggerEvaluation:
        """Accuracy overall and on known / unknown words, per-tag precision / recall / F1,
        chunk scores when the tags are chunk labels, and the tagging speed.

        Parameters
        ----------
        gold_sents : iterable of lists of (str, str)
            Gold sentences ``[[(word, gold_tag), ...], ...]``; a word of :attr:`vocab_`
            counts as known.
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
            If ``gold_sents`` is not a list of sentences, or a word or tag is not a str.
        ValueError
            If a token is not a ``(word, tag)`` pair or has an empty word or tag.

        Examples
        --------
        >>> from fastseq.taggers import HMMTagger
        >>> tagger = HMMTagger().train([[("the", "DET"), ("dog", "NOUN"), ("barks", "VERB")]])
        >>> e = tagger.evaluation_report([[("the", "DET"), ("cat", "NOUN"), ("barks", "VERB")]])
        >>> e.accuracy, e.n_known, e.n_unknown, e.per_tag["NOUN"]["recall"]
        (1.0, 2, 1, 1.0)
        """
        self._require_fitted()
        gold = check_tagged(gold_sents, "gold_sents")
        words = [[w for w, _ in s] for s in gold]
        t0 = time.perf_counter()
        pred = self.predict(words)
        seconds = time.perf_counter() - t0
        return evaluate([[t for _, t in s] for s in gold], pred, words, self.vocab_, seconds,
                        per_tag=per_tag)

    # -- persistence ---------------------------------------------------------------------
    def _arrays(self) -> Dict[str, np.ndarray]:
        ws, sc = self._ws, self._suffix_counts
        return {
            "word_state_indptr": ws.indptr, "word_state_indices": ws.indices,
            "word_state_counts": ws.data,
            "state_tag": self._state_tag, "state_word": self._state_word,
            "ngram_unigrams": self._uni, "ngram_bigrams": self._bi,
            "ngram_trigram_keys": self._tri_keys, "ngram_trigram_counts": self._tri_counts,
            "suffix_indptr": sc.indptr, "suffix_indices": sc.indices, "suffix_counts": sc.data,
        }

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Write the model to ``path`` (a ZIP/npz archive; see "File format" in the Notes).

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
        >>> from fastseq.taggers import HMMTagger
        >>> tagger = HMMTagger().train([[("the", "DET"), ("dog", "NOUN")]])
        >>> tagger.metadata["corpus"] = "toy"
        >>> path = os.path.join(tempfile.mkdtemp(), "hmm.zip")
        >>> tagger.save(path)
        >>> HMMTagger.load(path).metadata
        {'corpus': 'toy'}
        """
        self._require_fitted()
        arrays = {k: np.ascontiguousarray(v, dtype=np.int64) for k, v in self._arrays().items()}
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "params": {p: getattr(self, p) for p in _PARAMS if p != "n_threads"},
            "tags": list(self.tags_),
            "vocabulary": list(self._words),
            "suffix_keys": [[c, s] for c, s in self._suffix_keys],
            "n_train_tokens": self.n_train_tokens_,
            "n_train_sents": self.n_train_sents_,
            "metadata": self.metadata,
        }
        try:
            write_archive(path, meta, arrays)
        except TypeError as exc:
            raise TypeError(f"`metadata` must be JSON-serialisable: {exc}") from None

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"], *,
             n_threads: Optional[int] = None) -> "HMMTagger":
        """Read a model written by :meth:`save`.

        Never executes code from the file; the loaded tagger tags exactly as the saved one
        (see "File format" in the Notes).

        Parameters
        ----------
        path : str or path-like
            The model file.
        n_threads : int, optional
            Threads of the loaded tagger (None: every core the process may use); not stored
            in the file.

        Returns
        -------
        HMMTagger
            The trained tagger, with the saved hyperparameters and :attr:`metadata`.

        Raises
        ------
        FileNotFoundError, IsADirectoryError, PermissionError
            When the path cannot be opened.
        fastseq.exceptions.ModelFileError
            When the file is not a valid HMM tagger model (a :class:`ValueError`): not a
            model archive, another kind of model, a newer format version, or contents that do
            not check out.

        Examples
        --------
        >>> import os, tempfile
        >>> from fastseq.taggers import HMMTagger
        >>> path = os.path.join(tempfile.mkdtemp(), "hmm.zip")
        >>> HMMTagger(order=1).train([[("the", "DET"), ("dog", "NOUN")]]).save(path)
        >>> tagger = HMMTagger.load(path, n_threads=1)
        >>> tagger.order, tagger.tag(["the", "dog"])
        (1, [('the', 'DET'), ('dog', 'NOUN')])
        """
        meta, arrays = read_archive(path)
        return cls.from_archive_parts(meta, arrays, where=os.fspath(path), n_threads=n_threads)

    @classmethod
    @contents_checked
    def from_archive_parts(cls, meta: Dict[str, Any], arrays: Dict[str, np.ndarray], *,
                           where: str, n_threads: Optional[int] = None) -> "HMMTagger":
        """The tagger a model file holds, from its parts.

        This is what :meth:`load` and :func:`fastseq.taggers.load_tagger` do once the file is
        read; everything is checked.

        Parameters
        ----------
        meta : dict
            The parsed ``model.json`` (see "File format" in the Notes).
        arrays : dict of str to ndarray
            The arrays of the file by name (``"state_tag"`` for ``arrays/state_tag.npy``);
            integer dtypes.
        where : str
            The file's name, for the error messages.
        n_threads : int, optional
            Threads of the tagger (None: every core the process may use).

        Returns
        -------
        HMMTagger
            The trained tagger.

        Raises
        ------
        fastseq.exceptions.ModelFileError
            When anything does not check out (the message names ``where``).

        Examples
        --------
        >>> import io, json, os, tempfile, zipfile
        >>> import numpy as np
        >>> from fastseq.taggers import HMMTagger
        >>> path = os.path.join(tempfile.mkdtemp(), "hmm.zip")
        >>> HMMTagger().train([[("the", "DET"), ("dog", "NOUN")]]).save(path)
        >>> with zipfile.ZipFile(path) as zf:
        ...     meta = json.loads(zf.read("model.json"))
        ...     arrays = {name[7:-4]: np.load(io.BytesIO(zf.read(name)))
        ...               for name in zf.namelist() if name.startswith("arrays/")}
        >>> meta["format"], arrays["state_tag"].tolist()
        ('fastseq.HMMTagger', [0, 1])
        >>> HMMTagger.from_archive_parts(meta, arrays, where=path).tag(["the", "dog"])
        [('the', 'DET'), ('dog', 'NOUN')]
        """
        bad, params = check_model(meta, where, FORMAT, FORMAT_VERSION, "HMMTagger",
                                  set(_PARAMS) - {"n_threads"})
        try:
            self = cls(**params, n_threads=n_threads)
        except (TypeError, ValueError) as exc:
            raise bad(f"bad parameter: {exc}") from None
        tags, vocab, keys = meta.get("tags"), meta.get("vocabulary"), meta.get("suffix_keys")
        if (not isinstance(tags, list) or not tags
                or not all(isinstance(t, str) and t for t in tags) or tags != sorted(set(tags))):
            raise bad("`tags` must be a sorted list of distinct non-empty str")
        if (not isinstance(vocab, list) or not all(isinstance(w, str) and w for w in vocab)
                or len(set(vocab)) != len(vocab)):
            raise bad("`vocabulary` must be a list of distinct non-empty str")
        if not isinstance(keys, list) or not all(
                isinstance(k, list) and len(k) == 2 and all(isinstance(x, str) for x in k)
                for k in keys):
            raise bad("`suffix_keys` must be a list of [shape, suffix] pairs of str")
        keys = [(k[0], k[1]) for k in keys]
        seen = set()
        for i, (c, s) in enumerate(keys):
            if (c, s) in seen:
                raise bad(f"duplicate suffix key {[c, s]!r}")
            if s and (c, s[1:]) not in seen:
                raise bad(f"suffix key {i} {[c, s]!r} comes before its parent")
            seen.add((c, s))
        metadata = meta.get("metadata", {})
        if not isinstance(metadata, dict):
            raise bad("`metadata` must be an object")
        counts = {}
        for k in ("n_train_tokens", "n_train_sents"):
            v = meta.get(k)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise bad(f"`{k}` must be a non-negative int")
            counts[k] = v

        expect = ("word_state_indptr", "word_state_indices", "word_state_counts",
                  "state_tag", "state_word", "ngram_unigrams", "ngram_bigrams",
                  "ngram_trigram_keys", "ngram_trigram_counts",
                  "suffix_indptr", "suffix_indices", "suffix_counts")
        if set(arrays) != set(expect):
            raise bad(f"arrays {sorted(arrays)} do not match the expected {sorted(expect)}")
        for name in expect:
            a = arrays[name]
            if a.dtype.kind not in "iu" or a.dtype.itemsize > 8:
                raise bad(f"array {name!r} must hold integers, got dtype {a.dtype}")
            arrays[name] = a = a.astype(np.int64)
            if a.size and a.min() < (-1 if name == "state_word" else 0):
                raise bad(f"array {name!r} has negative entries")
        N, V, S = len(tags), len(vocab), len(keys)
        st, sw = arrays["state_tag"], arrays["state_word"]
        M = st.size
        if st.shape != (M,) or sw.shape != (M,) or M < N or np.any(st[:N] != np.arange(N)) \
                or np.any(sw[:N] != -1) or np.any(st >= N) or np.any(sw >= V) \
                or np.any(sw[N:] < 0):
            raise bad("inconsistent state table")
        if np.unique(sw[N:] * N + st[N:]).size != M - N:
            raise bad("duplicate word-specific states")

        def csr(prefix, rows, cols):
            ptr, ind, dat = (arrays[f"{prefix}_{x}"] for x in ("indptr", "indices", "counts"))
            if ptr.shape != (rows + 1,) or ind.ndim != 1 or dat.shape != ind.shape \
                    or ptr[0] != 0 or ptr[-1] != ind.size or np.any(np.diff(ptr) < 0) \
                    or (ind.size and ind.max() >= cols):
                raise bad(f"inconsistent sparse matrix {prefix!r}")
            m = sparse.csr_matrix((dat, ind, ptr), shape=(rows, cols))
            m.sum_duplicates()
            m.sort_indices()
            return m

        ws = csr("word_state", V, M)
        sc = csr("suffix", S, N)
        if np.any(ws.data < 1):
            raise bad("word/state counts must be positive")
        row = np.repeat(np.arange(V), np.diff(ws.indptr))
        spec = np.zeros(V, dtype=bool)
        spec[sw[N:]] = True
        col_word = sw[ws.indices]
        if np.any(np.where(spec[row], col_word != row, col_word != -1)):
            raise bad("word/state counts do not match the state table")
        if V and np.any(np.diff(ws.indptr) == 0) or V == 0:
            raise bad("every vocabulary word needs tag counts")
        uni, bi = arrays["ngram_unigrams"], arrays["ngram_bigrams"]
        keys3, cnt3 = arrays["ngram_trigram_keys"], arrays["ngram_trigram_counts"]
        if uni.shape != (M + 1,) or bi.shape != (M + 1, M + 1):
            raise bad("n-gram count shapes do not match the state table")
        if keys3.ndim != 2 or keys3.shape[1:] != (3,) or cnt3.shape != (keys3.shape[0],) \
                or keys3.shape[0] == 0 or keys3.max() > M:
            raise bad("inconsistent tag trigram counts")
        if np.any(uni[N:] == 0):
            raise bad("every word-specific state and </s> need a positive unigram count")

        self.tags_ = list(tags)
        self.vocab_ = {w: i for i, w in enumerate(vocab)}
        self._words = list(vocab)
        self._ws = ws
        self._state_tag, self._state_word = st, sw
        self._uni, self._bi = uni, bi
        self._tri_keys, self._tri_counts = keys3, cnt3
        self._suffix_keys, self._suffix_counts = keys, sc
        self.n_train_tokens_ = counts["n_train_tokens"]
        self.n_train_sents_ = counts["n_train_sents"]
        self.metadata = dict(metadata)
        try:
            with np.errstate(all="ignore"):
                self._build()
        except (IndexError, KeyError, ValueError) as exc:  # pragma: no cover - defensive
            raise bad(f"inconsistent counts ({exc})") from None
        # the checks above leave no way to a NaN probability; make sure of it
        if any(np.isnan(t).any() for t in (self.lambdas_, self._p1, self._p2, self._node_p,
                                           self._p_rare, self._ptw.data, self._log_pstate)):
            raise bad("inconsistent counts (they give NaN probabilities)")
        return self


def _token_states(w, t, state_tag, state_word, V, N):
    """State id of every token: its tag, or its word-specific state."""
    M = state_tag.size
    spec_pos = np.full(V, -1, dtype=np.int64)
    spec_words = np.unique(state_word[N:])
    spec_pos[spec_words] = np.arange(spec_words.size)
    table = np.full((spec_words.size, N), -1, dtype=np.int64)
    table[spec_pos[state_word[N:]], state_tag[N:]] = np.arange(N, M)
    s = t.copy()
    m = spec_pos[w] >= 0
    s[m] = table[spec_pos[w[m]], t[m]]
    return s


def _count_ngrams(t: np.ndarray, lengths: np.ndarray, N: int):
    """Tag unigram (N+1,), bigram (N+1, N+1) and trigram (COO) counts of sentences
    padded as ``<s> <s> t_1 ... t_n </s>`` (index N stands for both <s> and </s>)."""
    B = lengths.size
    L = t.size
    ext = np.full(L + 3 * B, N, dtype=np.int64)
    sent = np.repeat(np.arange(B), lengths)
    pos_in = np.arange(L) - np.repeat(offsets(lengths)[:-1], lengths)
    ext_pos = offsets(lengths)[:-1][sent] + 3 * sent + 2 + pos_in
    ext[ext_pos] = t
    # targets: every token and every </s> (i.e. all but the two leading <s> of a sentence)
    starts = offsets(lengths)[:-1] + 3 * np.arange(B)
    is_target = np.ones(ext.size, dtype=bool)
    is_target[starts] = False
    is_target[starts + 1] = False
    p = np.flatnonzero(is_target)
    M = N + 1
    uni = np.bincount(ext[p], minlength=M).astype(np.int64)
    bi = np.bincount(ext[p - 1] * M + ext[p], minlength=M * M).reshape(M, M).astype(np.int64)
    flat = (ext[p - 2] * M + ext[p - 1]) * M + ext[p]
    keys, cnt = np.unique(flat, return_counts=True)
    tri_keys = np.stack([keys // (M * M), (keys // M) % M, keys % M], axis=1).astype(np.int64)
    return uni, bi, tri_keys, cnt.astype(np.int64)


