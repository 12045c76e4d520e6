"""Token feature templates: sentences -> sparse feature matrices (or python-crfsuite lists).

A *template* says which attribute a token gets from its neighbourhood, in CRFsuite's
notation: a tuple of ``(field, offset)`` pairs. ``(("w", -1), ("w", 0))`` gives the token at
position t the attribute ``"w[-1]|w[0]=the|cat"`` (previous and current word); a template
whose offsets fall outside the sentence gives no attribute, exactly as CRFsuite's
``example/template.py`` does. Three special templates take no fields: ``"__BOS__"`` (on the
first token), ``"__EOS__"`` (on the last) and ``"bias"`` (on every token).

A *field* is an input column -- ``"w"`` (the word; read from a sentence's ``"word"``,
``"form"`` or ``"w"`` column), ``"pos"`` (``"pos"`` or ``"xpos"``), ``"chunk"``, or any other
column name -- optionally followed by transformations separated by dots, applied left to
right: ``"w.lower"``, ``"w.lower.s3"`` (last three characters of the lower-cased word),
``"pos.p2"`` (first two characters of the POS tag). Transformations:

=============== =============================================================
``lower``       lower case
``shape``       every upper-case letter -> ``X``, lower-case -> ``x``, digit -> ``d``, other
                characters kept (``"McDonald's"`` -> ``"XxXxxxxx'x"``); capped at 20 chars
``sshape``      ``shape`` with runs collapsed (``"XxXx'x"``)
``p1`` .. ``p9`` the first k characters (prefix); ``s1`` .. ``s9`` the last k (suffix)
``istitle``,    ``"1"`` / ``"0"`` flags: ``str.istitle``, ``str.isupper``, ``str.islower``,
``isupper``,    ``str.isdigit``; ``hasdigit`` (any digit), ``hashyphen`` (a ``-``),
``islower``,    ``ispunct`` (no letter or digit), ``hasupper`` (an upper-case letter
``isdigit``,    after the first character)
``hasdigit``,
``hashyphen``,
``ispunct``,
``hasupper``
``len``         the length, ``"1"`` .. ``"9"`` and ``"10+"``
``sentcase``    (sentence-level, alone) the case of the whole sentence: ``"U"`` all
                capitals, ``"T"`` mostly capitalised words (a title), ``"L"`` all lower
                case, ``"M"`` mixed -- capitalisation means something else in a headline
``isfirst``     (sentence-level, alone) ``"1"`` for the first token, else ``"0"``
=============== =============================================================

Built-in template sets (:data:`TEMPLATE_SETS`; templates reading a column the data does not
have are dropped, so ``"ner"`` works with and without POS / chunk columns):

* ``"crfsuite_chunk"`` -- CRFsuite's chunking templates (``example/chunking.py``): words at
  -2..2, the two adjacent word bigrams, POS at -2..2, the four POS bigrams and three POS
  trigrams, ``__BOS__`` / ``__EOS__``. Attribute names are CRFsuite's, so a model trained on
  them here and one trained by CRFsuite see the same attributes.
* ``"pos"`` -- part-of-speech tagging from words only: the word and its lower case, prefixes
  and suffixes of 1-5 characters, word shape, capitalisation / digit / hyphen flags, the
  words at -2..2 (lower-cased; also as written at -1, 1), word bigrams, suffixes and shapes
  of the neighbours (also with the word), the word with the words two away, and the case of
  the whole sentence with the word's capitalisation. :class:`fastseq.crf_tagger.CRFTagger`
  stacks two CRFs on it by default (``stack``), the second adding :func:`stack_templates`.
* ``"chunk"`` -- ``"crfsuite_chunk"`` plus lower case, suffixes, shape and flags of the word
  and word/POS combinations.
* ``"ner"`` -- named entities: the word, its lower case, prefixes and suffixes of 1-4
  characters, shapes and flags; lower-cased words and shapes at -2..2 with bigrams,
  capitalisation flags of the neighbours, the case of the whole sentence (headlines), POS
  and chunk columns at -2..2 where the corpus has them.

Usage::

    >>> from fastseq.features import FeatureExtractor
    >>> fx = FeatureExtractor("crfsuite_chunk")
    >>> sents = [{"word": ["He", "reckons"], "pos": ["PRP", "VBZ"]}]
    >>> F = fx.fit_transform(sents)         # Featurized: CSR matrix (tokens x attributes)
    >>> F.matrix.shape, list(F.lengths)
    ((2, 13), [2])
    >>> fx.to_lists(sents)[0][1][:3]          # python-crfsuite's list-of-strings format
    ['w[-1]=He', 'w[0]=reckons', 'w[-1]|w[0]=He|reckons']

Speed: transformations run once per distinct value of a column in the call, not per token,
and the attributes of all tokens of all sentences are computed with a handful of numpy
operations per template (integer keys looked up in sorted tables), so extraction costs
about one dictionary lookup per token and column plus vectorised work.
"""
from __future__ import annotations

import re
import uuid
from itertools import chain
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
from scipy import sparse

__all__ = [
    "FeatureExtractor", "Featurized", "TEMPLATE_SETS", "template_set", "stack_templates",
    "STACK_COLUMN", "word_shape", "short_shape", "attribute_name",
]

Template = Union[str, Tuple[Tuple[str, int], ...]]

_SPECIAL = ("__BOS__", "__EOS__", "bias")
_MAX_KEY = 1 << 62
_DENSE_MAX = 1 << 21  # key spaces up to this size are looked up in a dense array

#: default names of the input columns when sentences are given as tuples
DEFAULT_COLUMNS = ("w", "pos", "chunk")
#: sentence keys that feed a template column (first present wins)
COLUMN_ALIASES: Dict[str, Tuple[str, ...]] = {
    "w": ("w", "word", "form", "token"),
    "pos": ("pos", "xpos"),
    "chunk": ("chunk",),
}


# ---------------------------------------------------------------------------------------------
# transformations
# ---------------------------------------------------------------------------------------------

def word_shape(word: str, cap: int = 20) -> str:
    """``"McDonald's"`` -> ``"XxXxxxxx'x"``: upper -> X, lower -> x, digit -> d (first
    ``cap`` characters)."""
    out = []
    for ch in word[:cap]:
        if ch.isupper():
            out.append("X")
        elif ch.islower():
            out.append("x")
        elif ch.isdigit():
            out.append("d")
        else:
            out.append(ch)
    return "".join(out)


def short_shape(word: str) -> str:
    """:func:`word_shape` with runs of the same symbol collapsed: ``"XxXx'x"``."""
    out = []
    last = None
    for ch in word:
        if ch.isupper():
            c = "X"
        elif ch.islower():
            c = "x"
        elif ch.isdigit():
            c = "d"
        else:
            c = ch
        if c != last:
            out.append(c)
            last = c
    return "".join(out)


def _flag(pred: Callable[[str], bool]) -> Callable[[str], str]:
    return lambda s: "1" if pred(s) else "0"


def _ispunct(s: str) -> bool:
    return not any(ch.isalnum() for ch in s)


_TRANSFORMS: Dict[str, Callable[[str], str]] = {
    "lower": str.lower,
    "shape": word_shape,
    "sshape": short_shape,
    "istitle": _flag(str.istitle),
    "isupper": _flag(str.isupper),
    "islower": _flag(str.islower),
    "isdigit": _flag(str.isdigit),
    "hasdigit": _flag(lambda s: any(ch.isdigit() for ch in s)),
    "hashyphen": _flag(lambda s: "-" in s),
    "ispunct": _flag(_ispunct),
    "hasupper": _flag(lambda s: any(ch.isupper() for ch in s[1:])),
    "len": lambda s: str(len(s)) if len(s) < 10 else "10+",
}
_AFFIX = re.compile(r"^([ps])([1-9])$")

#: transformations that look at the whole sentence, not at one value; each must be the only
#: transformation of its field ("w.sentcase", "w.isfirst")
_SENTENCE_TRANSFORMS = ("sentcase", "isfirst")


def _sentence_values(name: str, values: List[str], lengths: np.ndarray) -> List[str]:
    """Per token, the value of sentence-level transformation ``name`` of a column."""
    out: List[str] = []
    k = 0
    for n in lengths.tolist():
        sent = values[k:k + n]
        k += n
        if name == "isfirst":
            out.extend(["1"] + ["0"] * (n - 1) if n else [])
            continue
        alpha = [w for w in sent if w[:1].isalpha()]
        na = len(alpha)
        if na >= 2 and all(w.isupper() for w in alpha):
            cls = "U"
        elif na >= 3 and sum(w[:1].isupper() for w in alpha) > 0.6 * na:
            cls = "T"
        elif na >= 3 and all(w.islower() for w in alpha):
            cls = "L"
        else:
            cls = "M"
        out.extend([cls] * n)
    return out


def _field_special(field: str) -> Optional[str]:
    parts = field.split(".")
    return parts[1] if len(parts) == 2 and parts[1] in _SENTENCE_TRANSFORMS else None


def _transform(name: str) -> Callable[[str], str]:
    fn = _TRANSFORMS.get(name)
    if fn is not None:
        return fn
    m = _AFFIX.match(name)
    if m:
        k = int(m.group(2))
        return (lambda s: s[:k]) if m.group(1) == "p" else (lambda s: s[-k:])
    raise ValueError(f"unknown field transformation {name!r}; known: "
                     f"{', '.join(sorted(_TRANSFORMS))}, p1..p9, s1..s9")


def _compose(fns: Sequence[Callable[[str], str]]) -> Callable[[str], str]:
    if len(fns) == 1:
        return fns[0]

    def run(s):
        for fn in fns:
            s = fn(s)
        return s
    return run


# ---------------------------------------------------------------------------------------------
# template sets
# ---------------------------------------------------------------------------------------------

def _win(field: str, offsets: Iterable[int]) -> List[Template]:
    return [((field, o),) for o in offsets]


def _ngrams(field: str, spans: Iterable[Tuple[int, ...]]) -> List[Template]:
    return [tuple((field, o) for o in span) for span in spans]


def _crfsuite_chunk() -> List[Template]:
    return (_win("w", range(-2, 3)) + _ngrams("w", [(-1, 0), (0, 1)])
            + _win("pos", range(-2, 3))
            + _ngrams("pos", [(-2, -1), (-1, 0), (0, 1), (1, 2)])
            + _ngrams("pos", [(-2, -1, 0), (-1, 0, 1), (0, 1, 2)])
            + ["__BOS__", "__EOS__"])


_FLAGS = ("w.istitle", "w.isupper", "w.islower", "w.isdigit", "w.hasdigit", "w.hashyphen",
          "w.ispunct", "w.hasupper")


def _word_features() -> List[Template]:
    t: List[Template] = ["bias", (("w", 0),), (("w.lower", 0),), (("w.shape", 0),),
                         (("w.sshape", 0),), (("w.len", 0),)]
    t += [((f"w.lower.p{k}", 0),) for k in range(1, 5)]
    t += [((f"w.lower.s{k}", 0),) for k in range(1, 5)]
    t += [((f, 0),) for f in _FLAGS]
    return t


def _sentence_case() -> List[Template]:
    return [(("w.sentcase", 0), ("w.istitle", 0)), (("w.sentcase", 0), ("w.sshape", 0)),
            (("w.sentcase", 0), ("w.lower", 0)), (("w.isfirst", 0), ("w.istitle", 0)),
            (("w.isfirst", 0), ("w.lower", 0))]


def _pos_set() -> List[Template]:
    t = _word_features()
    t += [(("w.lower.p5", 0),), (("w.lower.s5", 0),)]
    t += _win("w", (-1, 1)) + _win("w.lower", (-2, -1, 1, 2))
    t += _ngrams("w.lower", [(-2, -1), (-1, 0), (0, 1), (1, 2), (-1, 1)])
    t += [(("w.lower.s3", -1),), (("w.lower.s3", 1),), (("w.lower.s2", -1),),
          (("w.lower.s2", 1),), (("w.lower.s1", -1),), (("w.lower.s1", 1),)]
    t += _win("w.sshape", (-2, -1, 1, 2))
    t += [(("w.istitle", -1),), (("w.istitle", 1),)]
    t += [(("w.lower.s3", 0), ("w.lower", -1)), (("w.lower.s3", 0), ("w.lower", 1)),
          (("w.sshape", 0), ("w.lower.s3", 0))]
    # the word with its neighbours' spelling and with the words two away: "to" + "-ing", ...
    t += [(("w.lower", 0), ("w.lower.s3", 1)), (("w.lower.s3", -1), ("w.lower", 0)),
          (("w.lower", 0), ("w.sshape", 1)), (("w.lower", 0), ("w.lower", 2)),
          (("w.lower", -2), ("w.lower", 0))]
    t += _sentence_case()
    t += ["__BOS__", "__EOS__"]
    return t


def _chunk_set() -> List[Template]:
    t = _crfsuite_chunk()
    t += ["bias", (("w.lower", 0),), (("w.sshape", 0),), (("w.lower.s2", 0),),
          (("w.lower.s3", 0),), (("w.istitle", 0),), (("w.hasdigit", 0),),
          (("w.hashyphen", 0),)]
    t += _win("w.lower", (-1, 1))
    t += [(("w.lower", 0), ("pos", 0)), (("w.lower", -1), ("pos", 0)),
          (("pos", -1), ("w.lower", 0)), (("w.lower", 1), ("pos", 0)),
          (("pos", 1), ("w.lower", 0)), (("w.lower.s3", 0), ("pos", 0))]
    return t


def _ner_set() -> List[Template]:
    t = _word_features()
    t += _win("w.lower", (-2, -1, 1, 2))
    t += _win("w.sshape", (-2, -1, 1, 2))
    t += _ngrams("w.lower", [(-1, 0), (0, 1)])
    t += _ngrams("w.sshape", [(-1, 0), (0, 1)])
    t += [(("w.istitle", -1),), (("w.istitle", 1),), (("w.isupper", -1),),
          (("w.isupper", 1),)]
    t += [(("w.lower.s3", -1),), (("w.lower.s3", 1),)]
    t += [(("w.lower", -1), ("w.sshape", 0)), (("w.sshape", 0), ("w.lower", 1))]
    t += _win("pos", range(-2, 3)) + _ngrams("pos", [(-1, 0), (0, 1)])
    t += [(("pos", 0), ("w.sshape", 0))]
    t += _win("chunk", range(-2, 3)) + _ngrams("chunk", [(-1, 0), (0, 1)])
    t += _sentence_case()
    t += ["__BOS__", "__EOS__"]
    return t


#: name -> function returning the templates of a built-in set
TEMPLATE_SETS: Dict[str, Callable[[], List[Template]]] = {
    "crfsuite_chunk": _crfsuite_chunk,
    "pos": _pos_set,
    "chunk": _chunk_set,
    "ner": _ner_set,
}


#: the column holding the first level's tags in a stacked tagger (``CRFTagger(stack=...)``)
STACK_COLUMN = "tag1"


def stack_templates() -> List[Template]:
    """Templates over the first level's tags (column ``"tag1"``) that the second level of a
    stacked tagger adds to its own: the tags at -2..2, tag bigrams around the token, and the
    neighbours' tags with the word, its suffix and its shape -- the observation-dependent
    tag context that a first-order CRF's transitions cannot express."""
    p = STACK_COLUMN
    return (_win(p, range(-2, 3)) + _ngrams(p, [(-2, -1), (-1, 1), (1, 2)])
            + [((p, 0), ("w.lower", 0)), ((p, -1), ("w.lower", 0)), (("w.lower", 0), (p, 1)),
               ((p, -1), ("w.lower", 0), (p, 1)),
               (("w.lower.s3", 0), (p, -1)), (("w.lower.s3", 0), (p, 1)),
               (("w.sshape", 0), (p, -1)), (("w.sshape", 0), (p, 1))])


#: per built-in set: field -> minimum training count of a value (rarer values are treated as
#: unseen, so the model learns to tag rare words from their spelling, as it must for new ones)
TEMPLATE_MIN_COUNT: Dict[str, Dict[str, int]] = {}


def _check_min_count(mc):
    if mc is None:
        return 1
    if isinstance(mc, dict):
        out = {}
        for k, v in mc.items():
            if not isinstance(k, str):
                raise TypeError(f"`min_count` keys must be field names (str), got {k!r}")
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"`min_count[{k!r}]` must be an int >= 1, got {v!r}")
            out[k] = int(v)
        return out
    if isinstance(mc, bool) or not isinstance(mc, (int, np.integer)) or mc < 1:
        raise ValueError(f"`min_count` must be an int >= 1 or a dict of them, got {mc!r}")
    return int(mc)


def template_set(name: str) -> List[Template]:
    """The templates of a built-in set (see the module docstring)."""
    try:
        return TEMPLATE_SETS[name]()
    except KeyError:
        raise ValueError(f"unknown template set {name!r}; built-in sets: "
                         f"{', '.join(TEMPLATE_SETS)}") from None


def _template_prefix(tpl: Template) -> str:
    if isinstance(tpl, str):
        return tpl
    return "|".join(f"{f}[{o}]" for f, o in tpl) + "="


def attribute_name(tpl: Template, values: Sequence[str]) -> str:
    """The attribute a template gives for the field ``values``: ``"w[-1]|w[0]=the|cat"``."""
    if isinstance(tpl, str):
        return tpl
    return _template_prefix(tpl) + "|".join(values)


def _normalize_template(tpl, i) -> Template:
    if isinstance(tpl, str):
        if tpl not in _SPECIAL:
            raise ValueError(f"`templates[{i}]`: unknown special template {tpl!r}; a template "
                             f"is one of {_SPECIAL} or a tuple of (field, offset) pairs")
        return tpl
    try:
        parts = tuple(tpl)
    except TypeError:
        raise TypeError(f"`templates[{i}]` must be a tuple of (field, offset) pairs or one of "
                        f"{_SPECIAL}, got {type(tpl).__name__}") from None
    if not parts:
        raise ValueError(f"`templates[{i}]` is empty")
    out = []
    for p in parts:
        if (not isinstance(p, (tuple, list)) or len(p) != 2 or not isinstance(p[0], str)
                or isinstance(p[1], bool) or not isinstance(p[1], (int, np.integer))):
            raise TypeError(f"`templates[{i}]`: each part must be a (field: str, offset: int) "
                            f"pair, got {p!r}")
        field = p[0]
        if not field or any(not x for x in field.split(".")):
            raise ValueError(f"`templates[{i}]`: bad field name {field!r}")
        fns = field.split(".")[1:]
        if any(fn in _SENTENCE_TRANSFORMS for fn in fns):
            if len(fns) != 1:
                raise ValueError(f"`templates[{i}]`: {field!r}: a sentence-level "
                                 f"transformation ({', '.join(_SENTENCE_TRANSFORMS)}) must be "
                                 "the only one of its field")
        else:
            for fn in fns:
                _transform(fn)  # raises for unknown names
        out.append((field, int(p[1])))
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# input handling
# ---------------------------------------------------------------------------------------------

class _LazyColumns:
    """Column name -> flat list of all tokens' values, built on first access."""

    def __init__(self, names, loader):
        self._names = list(names)
        self._loader = loader
        self._cache: Dict[str, list] = {}

    def __iter__(self):
        return iter(self._names)

    def __contains__(self, key):
        return key in self._names

    def __getitem__(self, key):
        if key not in self._cache:
            if key not in self._names:
                raise KeyError(key)
            self._cache[key] = self._loader(key)
        return self._cache[key]

    def get(self, key, default=None):
        return self[key] if key in self._names else default

    def __setitem__(self, key, value):
        self._cache[key] = value
        if key not in self._names:
            self._names.append(key)


class _Columns:
    """Sentences flattened per column: ``cols[name]`` is a list over all tokens."""

    __slots__ = ("cols", "lengths")

    def __init__(self, cols, lengths: np.ndarray):
        self.cols = cols
        self.lengths = lengths


def _unique_strs(values, where) -> List[str]:
    """Distinct values in first-seen order; TypeError unless they are all str."""
    try:
        types = list(dict.fromkeys(values))
    except TypeError:
        types = None
    if types is None or not set(map(type, types)) <= {str}:
        for v in values:
            if not isinstance(v, str):
                raise TypeError(f"{where} must hold str values, got {type(v).__name__} {v!r}")
    return types


def _read_sentences(sents, input_columns: Optional[Sequence[str]]) -> _Columns:
    if isinstance(sents, (str, bytes, dict)) or not isinstance(sents, Iterable):
        raise TypeError("`sents` must be a list of sentences (dicts of columns, lists of "
                        f"tokens or lists of tuples), got {type(sents).__name__}")
    sents = sents if isinstance(sents, list) else list(sents)
    if not sents:
        return _Columns({}, np.zeros(0, dtype=np.int64))
    first = sents[0]
    if isinstance(first, dict):
        names = list(first)
        lengths = np.empty(len(sents), dtype=np.int64)
        for k, s in enumerate(sents):
            if not isinstance(s, dict) or list(s) != names:
                raise ValueError(f"`sents[{k}]` must be a dict with the columns {names} like "
                                 "sents[0]")
            n = len(s[names[0]]) if names else 0
            for c in names:
                if len(s[c]) != n:
                    raise ValueError(f"`sents[{k}]`: column {c!r} has {len(s[c])} values, "
                                     f"column {names[0]!r} has {n}")
            lengths[k] = n
        return _Columns(_LazyColumns(names, lambda c: list(chain.from_iterable(
            s[c] for s in sents))), lengths)
    # a list of tokens per sentence: str tokens (words) or tuples of columns
    lengths = np.fromiter((len(s) if not isinstance(s, (str, bytes)) else -1 for s in sents),
                          dtype=np.int64, count=len(sents))
    if lengths.size and lengths.min() < 0:
        k = int(np.argmin(lengths))
        raise TypeError(f"`sents[{k}]` must be a list of tokens, not a str (split it first)")
    flat = list(chain.from_iterable(sents))
    if not flat:
        return _Columns({"w": []}, lengths)
    kinds = set(map(type, flat))
    if kinds == {str}:
        return _Columns({"w": flat}, lengths)
    if kinds <= {tuple, list}:
        widths = set(map(len, flat))
        if len(widths) != 1:
            raise ValueError("`sents`: every token tuple must have the same number of columns, "
                             f"got widths {sorted(widths)}")
        width = widths.pop()
        names = list(input_columns) if input_columns is not None else list(DEFAULT_COLUMNS)
        if width > len(names):
            raise ValueError(f"`sents`: tokens have {width} columns but only {len(names)} "
                             f"column names are known ({names}); pass `columns=`")
        index = {name: j for j, name in enumerate(names[:width])}
        return _Columns(_LazyColumns(names[:width],
                                     lambda c: [tok[index[c]] for tok in flat]), lengths)
    bad = next(t for t in flat if not isinstance(t, (str, tuple, list)))
    raise TypeError(f"`sents`: tokens must be str or tuples of str, got {type(bad).__name__} "
                    f"{bad!r}")


def _resolve_column(base: str, available: Sequence[str]) -> Optional[str]:
    for cand in COLUMN_ALIASES.get(base, (base,)):
        if cand in available:
            return cand
    return None


# ---------------------------------------------------------------------------------------------
# the extractor
# ---------------------------------------------------------------------------------------------

class Featurized:
    """Features of a batch of sentences, ready for :class:`fastseq.crf.CRF`.

    ``matrix`` : ``scipy.sparse.csr_matrix`` of shape ``(tokens, attributes)`` -- all
    sentences' tokens concatenated; ``lengths`` : ``(n_sentences,)`` int64; ``space`` : the
    :class:`FeatureExtractor` whose attribute columns these are. ``len()`` is the number of
    sentences; ``sequences()`` splits the matrix into one CSR matrix per sentence.
    """

    __slots__ = ("matrix", "lengths", "space")

    def __init__(self, matrix, lengths, space):
        self.matrix = matrix
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.space = space

    def __len__(self) -> int:
        return int(self.lengths.size)

    def __repr__(self) -> str:
        return (f"Featurized({len(self)} sequences, {self.matrix.shape[0]} tokens, "
                f"{self.matrix.shape[1]} attributes, {self.matrix.nnz} non-zeros)")

    @property
    def offsets(self) -> np.ndarray:
        off = np.zeros(self.lengths.size + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=off[1:])
        return off

    def sequences(self) -> List[sparse.csr_matrix]:
        off = self.offsets
        return [self.matrix[off[i]:off[i + 1]] for i in range(len(self))]


class FeatureExtractor:
    """Apply feature templates to sentences.

    Parameters
    ----------
    templates : str or list, default "ner"
        A built-in set (``"pos"``, ``"chunk"``, ``"ner"``, ``"crfsuite_chunk"``) or a list
        of templates (see the module docstring).
    columns : sequence of str, optional
        Names of the columns when sentences are given as lists of token tuples
        (default ``("w", "pos", "chunk")``, as many as the tuples have). Sentences given as
        dicts (the format of :mod:`fastseq.io`) name their own columns; lists of str are
        words (``"w"``).
    drop_missing : bool, optional
        Drop templates that read a column the training data lacks (default: True for the
        built-in sets, False -- an error -- for explicit templates).
    min_count : int or dict, optional
        A value of a field seen fewer than this many times in the training data is treated
        like an unseen one (its attributes do not exist), so that the model learns to
        label rare words from their other features, as it must for new words. An int
        applies to every field, a dict ``{field: count}`` to the fields it names. Default:
        1 (keep everything), or the built-in set's :data:`TEMPLATE_MIN_COUNT`.

    After :meth:`fit`, ``templates_`` holds the templates in use, ``n_attributes_`` the number
    of attribute columns and ``uid`` a random identifier of this attribute space (a
    :class:`fastseq.crf.CRF` trained on its output recognises it).
    """

    def __init__(self, templates="ner", columns: Optional[Sequence[str]] = None,
                 drop_missing: Optional[bool] = None, min_count=None):
        self.templates = templates
        self.columns = None if columns is None else tuple(columns)
        self.drop_missing = drop_missing
        if min_count is None and isinstance(templates, str):
            min_count = dict(TEMPLATE_MIN_COUNT.get(templates, {}))
        self.min_count = _check_min_count(min_count)
        if isinstance(templates, str):
            raw = template_set(templates)
            self._drop = True if drop_missing is None else bool(drop_missing)
        else:
            if isinstance(templates, (bytes, dict)) or not isinstance(templates, Iterable):
                raise TypeError("`templates` must be a template-set name or a list of "
                                f"templates, got {type(templates).__name__}")
            raw = list(templates)
            if not raw:
                raise ValueError("`templates` is empty")
            self._drop = False if drop_missing is None else bool(drop_missing)
        self._all_templates = [_normalize_template(t, i) for i, t in enumerate(raw)]
        if self.columns is not None:
            for c in self.columns:
                if not isinstance(c, str) or not c:
                    raise TypeError(f"`columns` must be non-empty str, got {c!r}")
        self._fitted = False

    # -- introspection ---------------------------------------------------------------------
    def __repr__(self) -> str:
        t = (self.templates if isinstance(self.templates, str)
             else f"<{len(self._all_templates)} templates>")
        state = f", {self.n_attributes_} attributes" if self._fitted else ""
        return f"FeatureExtractor({t!r}{state})"

    @property
    def is_fitted(self) -> bool:
        return self._fitted

    def _require_fitted(self):
        if not self._fitted:
            from .exceptions import NotFittedError
            raise NotFittedError("this FeatureExtractor is not fitted yet; call fit() first")

    def _min_count_of(self, field: str) -> int:
        mc = self.min_count
        if isinstance(mc, dict):
            return int(mc.get(field, 1))
        return int(mc)

    @staticmethod
    def _fields_of(templates) -> List[str]:
        seen = {}
        for t in templates:
            if not isinstance(t, str):
                for f, _ in t:
                    seen.setdefault(f, None)
        return list(seen)

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, sents) -> "FeatureExtractor":
        """Build the attribute vocabulary from training sentences."""
        self.fit_transform(sents)
        return self

    def fit_transform(self, sents) -> Featurized:
        """:meth:`fit` and :meth:`transform` in one pass."""
        data = _read_sentences(sents, self.columns)
        if not data.lengths.size or int(data.lengths.sum()) == 0:
            raise ValueError("`sents` holds no tokens to fit the feature templates on")
        available = list(data.cols)
        templates, colmap = [], {}
        for t in self._all_templates:
            ok = True
            if not isinstance(t, str):
                for f, _ in t:
                    base = f.split(".")[0]
                    col = _resolve_column(base, available)
                    if col is None:
                        ok = False
                        if not self._drop:
                            raise ValueError(
                                f"template {t!r} reads column {base!r}, which the data does "
                                f"not have (columns: {available}); pass `columns=` or drop it")
                        break
                    colmap[base] = col
            if ok:
                templates.append(t)
        if not templates:
            raise ValueError("none of the templates applies to the data's columns "
                             f"{available}")
        self.templates_ = templates
        self._colmap = colmap
        fields = self._fields_of(templates)
        self._fields = fields
        self._field_fn = {f: (_compose([_transform(x) for x in f.split(".")[1:]])
                              if "." in f and _field_special(f) is None else None)
                          for f in fields}
        self._vocab: Dict[str, Dict[str, int]] = {f: {} for f in fields}
        ids = self._field_ids(data, fit=True)
        self._vsize = {f: len(self._vocab[f]) for f in fields}
        for t in templates:
            if not isinstance(t, str):
                size = 1
                for f, _ in t:
                    size *= max(self._vsize[f], 1)
                if size >= _MAX_KEY:
                    raise ValueError(f"template {t!r} combines too many distinct values "
                                     f"({size:.3g}) for 62-bit keys; split it")
        self._tables: List[np.ndarray] = []
        self._bases: List[int] = []
        self._dense = {}
        cols2d = self._attribute_columns(data, ids, fit=True)
        self.uid = uuid.uuid4().hex
        self._names_cache = None
        self._fitted = True
        return self._assemble(cols2d, data.lengths)

    # -- transforming ----------------------------------------------------------------------
    def transform(self, sents) -> Featurized:
        """Features of ``sents`` over the fitted attribute columns (values never seen in
        training give no attribute)."""
        self._require_fitted()
        data = _read_sentences(sents, self.columns)
        if data.lengths.size and int(data.lengths.sum()) > 0:
            for base, col in self._colmap.items():
                if col not in data.cols:
                    alt = _resolve_column(base, list(data.cols))
                    if alt is None:
                        raise ValueError(f"the feature templates read column {col!r}, which "
                                         f"`sents` does not have (columns: {list(data.cols)})")
                    data.cols[col] = data.cols[alt]
        ids = self._field_ids(data, fit=False)
        cols2d = self._attribute_columns(data, ids, fit=False)
        return self._assemble(cols2d, data.lengths)

    def _field_ids(self, data: _Columns, fit: bool) -> Dict[str, np.ndarray]:
        """Per field: the vocabulary id of every token's value (-1 = unseen)."""
        L = int(data.lengths.sum())
        type_ids: Dict[str, Tuple[np.ndarray, List[str]]] = {}
        out: Dict[str, np.ndarray] = {}
        for f in self._fields:
            base = f.split(".")[0]
            col = self._colmap[base]
            if col not in type_ids:
                values = data.cols.get(col, [])
                types = _unique_strs(values, f"`sents` column {col!r}")
                table = dict(zip(types, range(len(types))))
                tid = np.fromiter(map(table.__getitem__, values), dtype=np.int64, count=L)
                type_ids[col] = (tid, types)
            tid, types = type_ids[col]
            special = _field_special(f)
            if special is not None:
                # sentence-level: one value per token, looked up directly
                tok_vals = _sentence_values(special, data.cols.get(col, []), data.lengths)
                vocab = self._vocab[f]
                if fit:
                    setd = vocab.setdefault
                    out[f] = np.fromiter((setd(v, len(vocab)) for v in tok_vals),
                                         dtype=np.int64, count=L)
                else:
                    get = vocab.get
                    out[f] = np.fromiter((get(v, -1) for v in tok_vals), dtype=np.int64,
                                         count=L)
                continue
            fn = self._field_fn[f]
            vals = types if fn is None else [fn(v) for v in types]
            vocab = self._vocab[f]
            if fit:
                k = self._min_count_of(f)
                if k > 1:
                    # count the derived values over tokens; rare ones stay out of the vocabulary
                    raw = {}
                    setr = raw.setdefault
                    vid = np.fromiter((setr(v, len(raw)) for v in vals), dtype=np.int64,
                                      count=len(vals))
                    cnt = np.bincount(vid[tid], minlength=len(raw)) if L else \
                        np.zeros(len(raw), dtype=np.int64)
                    keep = cnt >= k
                    newid = np.full(len(raw), -1, dtype=np.int64)
                    kept = [v for v, ok in zip(raw, keep.tolist()) if ok]
                    newid[keep] = np.arange(len(kept))
                    vocab.update(zip(kept, range(len(kept))))
                    per_type = newid[vid]
                else:
                    setd = vocab.setdefault
                    per_type = np.fromiter((setd(v, len(vocab)) for v in vals),
                                           dtype=np.int64, count=len(vals))
            else:
                get = vocab.get
                per_type = np.fromiter((get(v, -1) for v in vals), dtype=np.int64,
                                       count=len(vals))
            out[f] = per_type[tid] if L else np.zeros(0, dtype=np.int64)
        return out

    def _attribute_columns(self, data: _Columns, ids, fit: bool) -> np.ndarray:
        """(L, n_templates) int64 attribute columns, -1 where a template gives nothing."""
        lengths = data.lengths
        L = int(lengths.sum())
        nT = len(self.templates_)
        cols2d = np.full((L, nT), -1, dtype=np.int64)
        if L == 0:
            if fit:  # pragma: no cover - fit refuses empty data
                raise ValueError("no tokens")
            return cols2d
        off = np.zeros(lengths.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=off[1:])
        lens = np.repeat(lengths, lengths)
        pos = np.arange(L, dtype=np.int64) - np.repeat(off[:-1], lengths)
        inrange: Dict[int, np.ndarray] = {}

        def ok_at(o):
            if o not in inrange:
                inrange[o] = (pos + o >= 0) & (pos + o < lens)
            return inrange[o]

        gidx = np.arange(L, dtype=np.int64)
        base = 0
        for j, t in enumerate(self.templates_):
            if isinstance(t, str):
                if t == "__BOS__":
                    valid = pos == 0
                elif t == "__EOS__":
                    valid = pos == lens - 1
                else:
                    valid = np.ones(L, dtype=bool)
                key = np.zeros(L, dtype=np.int64)
            else:
                valid = np.ones(L, dtype=bool)
                key = np.zeros(L, dtype=np.int64)
                for f, o in t:
                    fid = ids[f]
                    if o == 0:
                        v = fid
                    else:
                        valid &= ok_at(o)
                        v = fid[np.clip(gidx + o, 0, L - 1)]
                    valid &= v >= 0
                    key *= max(self._vsize[f], 1)
                    key += np.maximum(v, 0)
            if fit:
                table = np.unique(key[valid])
                self._tables.append(table)
                self._bases.append(base)
                cols2d[valid, j] = base + np.searchsorted(table, key[valid])
                base += table.size
            else:
                table = self._tables[j]
                dense = self._dense_table(j)
                if dense is not None:
                    col = dense[key[valid]]
                    sel = np.flatnonzero(valid)
                    hit = col >= 0
                    cols2d[sel[hit], j] = self._bases[j] + col[hit]
                elif table.size:
                    k = key[valid]
                    idx = np.searchsorted(table, k)
                    np.minimum(idx, table.size - 1, out=idx)
                    found = table[idx] == k
                    sel = np.flatnonzero(valid)[found]
                    cols2d[sel, j] = self._bases[j] + idx[found]
        if fit:
            self.n_attributes_ = base
        return cols2d

    def _key_space(self, j) -> int:
        t = self.templates_[j]
        if isinstance(t, str):
            return 1
        size = 1
        for f, _ in t:
            size *= max(self._vsize[f], 1)
        return size

    def _dense_table(self, j):
        """For a template with a small key space: key -> position in its table (-1: none)."""
        cache = self.__dict__.setdefault("_dense", {})
        if j not in cache:
            size = self._key_space(j)
            if size > _DENSE_MAX:
                cache[j] = None
            else:
                d = np.full(size, -1, dtype=np.int64)
                tab = self._tables[j]
                d[tab] = np.arange(tab.size)
                cache[j] = d
        return cache[j]

    def _assemble(self, cols2d: np.ndarray, lengths: np.ndarray) -> Featurized:
        L = cols2d.shape[0]
        mask = cols2d >= 0
        counts = mask.sum(axis=1)
        indptr = np.zeros(L + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        indices = cols2d[mask]
        # within a row the columns follow the template order: sort them (CSR canonical form)
        A = self.n_attributes_
        itype = np.int32 if A < 2**31 - 1 and indices.size < 2**31 - 1 else np.int64
        m = sparse.csr_matrix((np.ones(indices.size), indices.astype(itype),
                               indptr.astype(itype)), shape=(L, A))
        m.has_sorted_indices = False
        m.sort_indices()
        return Featurized(m, lengths, self)

    # -- names and python-crfsuite output ----------------------------------------------------
    def attribute_names(self) -> List[str]:
        """The name of every attribute column, in column order (``"w[-1]|w[0]=the|cat"``)."""
        self._require_fitted()
        if self._names_cache is not None:
            return self._names_cache
        values = {f: list(self._vocab[f]) for f in self._fields}
        names: List[str] = []
        for j, t in enumerate(self.templates_):
            table = self._tables[j]
            if isinstance(t, str):
                names.extend([t] * table.size)
                continue
            prefix = _template_prefix(t)
            parts = []
            rest = table.copy()
            for f, _ in reversed(t):
                V = max(self._vsize[f], 1)
                parts.append((f, rest % V))
                rest //= V
            parts.reverse()
            cols = [[values[f][i] for i in idx.tolist()] for f, idx in parts]
            names.extend(prefix + "|".join(vs) for vs in zip(*cols))
        self._names_cache = names
        return names

    def to_lists(self, sents) -> List[List[List[str]]]:
        """python-crfsuite features: per sentence, per token, the list of attribute names.

        Uses no vocabulary (needs no fit unless the templates were resolved by one); the
        names are exactly those of :meth:`attribute_names`.
        """
        data = _read_sentences(sents, self.columns)
        templates = self.templates_ if self._fitted else self._all_templates
        available = list(data.cols)
        lengths = data.lengths
        L = int(lengths.sum())
        out: List[List[str]] = [[] for _ in range(L)]
        if L == 0:
            return [[] for _ in range(lengths.size)]
        off = np.zeros(lengths.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=off[1:])
        lens = np.repeat(lengths, lengths)
        pos = np.arange(L, dtype=np.int64) - np.repeat(off[:-1], lengths)
        per_field: Dict[str, List[str]] = {}
        type_cache: Dict[str, Tuple[list, list]] = {}

        def field_values(f):
            if f not in per_field:
                base = f.split(".")[0]
                col = (self._colmap.get(base) if self._fitted else None) or \
                    _resolve_column(base, available)
                if col is None or col not in data.cols:
                    per_field[f] = None
                    return None
                if col not in type_cache:
                    values = data.cols[col]
                    types = _unique_strs(values, f"`sents` column {col!r}")
                    table = dict(zip(types, range(len(types))))
                    tid = list(map(table.__getitem__, values))
                    type_cache[col] = (tid, types)
                tid, types = type_cache[col]
                special = _field_special(f)
                if special is not None:
                    per_field[f] = _sentence_values(special, data.cols[col], lengths)
                    return per_field[f]
                fns = [_transform(x) for x in f.split(".")[1:]]
                if fns:
                    fn = _compose(fns)
                    tv = [fn(v) for v in types]
                    per_field[f] = [tv[i] for i in tid]
                else:
                    _unique_strs(data.cols[col], f"`sents` column {col!r}")
                    per_field[f] = data.cols[col]
            return per_field[f]

        for t in templates:
            if isinstance(t, str):
                if t == "__BOS__":
                    rows = np.flatnonzero(pos == 0)
                elif t == "__EOS__":
                    rows = np.flatnonzero(pos == lens - 1)
                else:
                    rows = np.arange(L)
                for r in rows.tolist():
                    out[r].append(t)
                continue
            vals = [field_values(f) for f, _ in t]
            if any(v is None for v in vals):
                if self._fitted or not self._drop:
                    raise ValueError(f"template {t!r} reads a column `sents` does not have "
                                     f"(columns: {available})")
                continue
            valid = np.ones(L, dtype=bool)
            for _, o in t:
                if o:
                    valid &= (pos + o >= 0) & (pos + o < lens)
            rows = np.flatnonzero(valid).tolist()
            prefix = _template_prefix(t)
            if len(t) == 1:
                v, o = vals[0], t[0][1]
                for r in rows:
                    out[r].append(prefix + v[r + o])
            else:
                offs = [o for _, o in t]
                for r in rows:
                    out[r].append(prefix + "|".join([v[r + o] for v, o in zip(vals, offs)]))
        return [out[off[i]:off[i + 1]] for i in range(lengths.size)]

    def to_dicts(self, sents) -> List[List[Dict[str, float]]]:
        """Like :meth:`to_lists` with ``{attribute: 1.0}`` dicts per token."""
        return [[dict.fromkeys(tok, 1.0) for tok in s] for s in self.to_lists(sents)]

    # -- persistence helpers (used by fastseq.crf_tagger) -----------------------------------
    def _state(self):
        """(json-able meta, {name: ndarray}) describing the fitted extractor."""
        self._require_fitted()
        meta = {
            "templates": [t if isinstance(t, str) else [[f, o] for f, o in t]
                          for t in self.templates_],
            "template_set": self.templates if isinstance(self.templates, str) else None,
            "columns": list(self.columns) if self.columns is not None else None,
            "min_count": self.min_count,
            "colmap": dict(self._colmap),
            "fields": list(self._fields),
            "vocab": {f: list(self._vocab[f]) for f in self._fields},
            "uid": self.uid,
        }
        arrays = {f"table_{j}": t.astype(np.int64) for j, t in enumerate(self._tables)}
        return meta, arrays

    @classmethod
    def _from_state(cls, meta, arrays, bad):
        try:
            templates = [t if isinstance(t, str) else tuple((f, int(o)) for f, o in t)
                         for t in meta["templates"]]
            name = meta.get("template_set")
            self = cls(templates, columns=meta.get("columns"), drop_missing=False,
                       min_count=meta.get("min_count", 1))
            self.templates = name if isinstance(name, str) else self.templates
            self.templates_ = self._all_templates
            colmap = meta["colmap"]
            fields = meta["fields"]
            vocab = meta["vocab"]
            uid = meta["uid"]
        except (KeyError, TypeError, ValueError) as exc:
            raise bad(f"bad feature extractor description ({exc})") from None
        if (not isinstance(colmap, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                    for k, v in colmap.items())):
            raise bad("`colmap` must map str to str")
        if fields != self._fields_of(self.templates_):
            raise bad("`fields` do not match the templates")
        if not isinstance(vocab, dict) or set(vocab) != set(fields):
            raise bad("`vocab` must have one list per field")
        for f in fields:
            if f.split(".")[0] not in colmap:
                raise bad(f"field {f!r} has no column")
            v = vocab[f]
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v) \
                    or len(set(v)) != len(v):
                raise bad(f"vocabulary of {f!r} must be a list of distinct str")
        if not isinstance(uid, str):
            raise bad("`uid` must be a str")
        self._colmap = dict(colmap)
        self._fields = list(fields)
        self._field_fn = {f: (_compose([_transform(x) for x in f.split(".")[1:]])
                              if "." in f and _field_special(f) is None else None)
                          for f in fields}
        self._vocab = {f: {x: i for i, x in enumerate(vocab[f])} for f in fields}
        self._vsize = {f: len(vocab[f]) for f in fields}
        self._tables, self._bases = [], []
        self._dense = {}
        base = 0
        for j, t in enumerate(self.templates_):
            tab = arrays.get(f"table_{j}")
            if tab is None or tab.ndim != 1 or tab.dtype.kind not in "iu":
                raise bad(f"missing or malformed attribute table {j}")
            tab = tab.astype(np.int64)
            if tab.size and (np.any(np.diff(tab) <= 0) or tab[0] < 0):
                raise bad(f"attribute table {j} must be sorted, distinct and non-negative")
            if isinstance(t, str):
                if tab.size > 1 or (tab.size and tab[0] != 0):
                    raise bad(f"attribute table {j} of {t!r} must be [0]")
            else:
                size = 1
                for f, _ in t:
                    size *= max(self._vsize[f], 1)
                if tab.size and tab[-1] >= size:
                    raise bad(f"attribute table {j} has keys out of range")
            self._tables.append(tab)
            self._bases.append(base)
            base += tab.size
        if set(arrays) != {f"table_{j}" for j in range(len(self.templates_))}:
            raise bad("unexpected attribute tables")
        self.n_attributes_ = base
        self.uid = uid
        self._names_cache = None
        self._fitted = True
        return self
