"""Field transformations: what ``"w.lower.s3"`` or ``"w.shape"`` does to a column's values.

A field is a column name followed by transformations separated by dots, applied left to
right (see :mod:`fastseq.features` for the table). Value-level transformations map one
string to another; the sentence-level ones (``sentcase``, ``isfirst``) look at the whole
sentence and must be the only transformation of their field.
"""
from __future__ import annotations

import functools
import re
from itertools import groupby
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["word_shape", "short_shape", "TRANSFORMS", "SENTENCE_TRANSFORMS", "transform",
           "compose", "field_special", "sentence_values", "sentence_codes"]


# word_shape of the ASCII characters (upper case -> X, lower case -> x, digit -> d)
_ASCII_SHAPE = str.maketrans(
    {chr(c): ("X" if chr(c).isupper() else "x" if chr(c).islower() else "d" if chr(c).isdigit()
              else chr(c)) for c in range(128)})


def word_shape(word: str, cap: int = 20) -> str:
    """The shape of a word: upper case -> ``X``, lower case -> ``x``, digit -> ``d``.

    Other characters are kept. The ``shape`` field transformation.

    Parameters
    ----------
    word : str
        The word.
    cap : int, default 20
        Only the first ``cap`` characters are used.

    Returns
    -------
    str
        The shape, at most ``cap`` characters long.

    See Also
    --------
    short_shape : The shape with runs collapsed.

    Examples
    --------
    >>> from fastseq.features import word_shape
    >>> word_shape("McDonald's"), word_shape("CO2-free")
    ("XxXxxxxx'x", 'XXd-xxxx')
    >>> word_shape("Internationalisation", cap=5)
    'Xxxxx'
    """
    word = word[:cap]
    if word.isascii():  # the common case, at C speed
        return word.translate(_ASCII_SHAPE)
    out = []
    for ch in word:
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
    """The shape of a word with runs of the same symbol collapsed.

    :func:`word_shape` of the whole word (no cap on its length) with each run of a symbol
    written once. The ``sshape`` field transformation.

    Parameters
    ----------
    word : str
        The word.

    Returns
    -------
    str
        The collapsed shape.

    See Also
    --------
    word_shape : The shape, one symbol per character.

    Examples
    --------
    >>> from fastseq.features import short_shape
    >>> short_shape("McDonald's"), short_shape("CO2-free"), short_shape("1984")
    ("XxXx'x", 'Xd-x', 'd')
    """
    if word.isascii():  # the common case, at C speed
        return "".join([k for k, _ in groupby(word.translate(_ASCII_SHAPE))])
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


# The transformations are module-level functions and partials of them (never lambdas), so a
# fitted FeatureExtractor, which keeps them, pickles.

def _as_flag(pred: Callable[[str], bool], s: str) -> str:
    return "1" if pred(s) else "0"


def _flag(pred: Callable[[str], bool]) -> Callable[[str], str]:
    return functools.partial(_as_flag, pred)


def _ispunct(s: str) -> bool:
    return not any(map(str.isalnum, s))


def _hasdigit(s: str) -> bool:
    return any(map(str.isdigit, s))


def _hashyphen(s: str) -> bool:
    return "-" in s


def _hasupper(s: str) -> bool:
    return any(map(str.isupper, s[1:]))


def _length(s: str) -> str:
    return str(len(s)) if len(s) < 10 else "10+"


def _prefix(k: int, s: str) -> str:
    return s[:k]


def _suffix(k: int, s: str) -> str:
    return s[-k:]


def _apply_all(fns: Tuple[Callable[[str], str], ...], s: str) -> str:
    for fn in fns:
        s = fn(s)
    return s


#: the value-level field transformations by name (``p1`` .. ``p9`` and ``s1`` .. ``s9`` are
#: made by :func:`transform`)
TRANSFORMS: Dict[str, Callable[[str], str]] = {
    "lower": str.lower,
    "shape": word_shape,
    "sshape": short_shape,
    "istitle": _flag(str.istitle),
    "isupper": _flag(str.isupper),
    "islower": _flag(str.islower),
    "isdigit": _flag(str.isdigit),
    "hasdigit": _flag(_hasdigit),
    "hashyphen": _flag(_hashyphen),
    "ispunct": _flag(_ispunct),
    "hasupper": _flag(_hasupper),
    "len": _length,
}
_AFFIX = re.compile(r"^([ps])([1-9])$")

#: transformations that look at the whole sentence, not at one value; each must be the only
#: transformation of its field ("w.sentcase", "w.isfirst")
SENTENCE_TRANSFORMS = ("sentcase", "isfirst")


def sentence_values(name: str, values: Sequence[str], lengths: np.ndarray) -> List[str]:
    """Per token, the value of a sentence-level transformation of a column.

    ``isfirst`` is ``"1"`` for the first token of a sentence and ``"0"`` for the others.
    ``sentcase`` is the case of the whole sentence, from its tokens that start with a
    letter: ``"U"`` (at least 2, all upper case), ``"T"`` (at least 3, more than 60%
    capitalised: a title), ``"L"`` (at least 3, all lower case) or ``"M"`` (mixed, or too
    few to tell).

    Parameters
    ----------
    name : {"sentcase", "isfirst"}
        The transformation.
    values : sequence of str
        The column's values of all tokens, sentences concatenated.
    lengths : ndarray of int, shape (n_sentences,)
        The number of tokens of each sentence.

    Returns
    -------
    list of str
        The value of every token.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.features.transforms import sentence_values
    >>> words = ["The", "Big", "Dog", "the", "cat", "sat"]
    >>> sentence_values("sentcase", words, np.array([3, 3]))
    ['T', 'T', 'T', 'L', 'L', 'L']
    >>> sentence_values("isfirst", words, np.array([3, 3]))
    ['1', '0', '0', '1', '0', '0']
    """
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


def sentence_codes(name: str, types: Sequence[str], type_of: np.ndarray,
                   lengths: np.ndarray) -> Tuple[np.ndarray, List[str]]:
    """:func:`sentence_values` from the distinct values of the column, vectorised.

    Each distinct value is examined once; the per-sentence counts are numpy sums.

    Parameters
    ----------
    name : {"sentcase", "isfirst"}
        The transformation.
    types : sequence of str
        The distinct values of the column.
    type_of : ndarray of int, shape (n_tokens,)
        Per token, the index of its value in ``types`` (sentences concatenated).
    lengths : ndarray of int, shape (n_sentences,)
        The number of tokens of each sentence.

    Returns
    -------
    codes : ndarray of int64, shape (n_tokens,)
        Per token, the index of its value in ``labels``.
    labels : list of str
        The values: ``sentence_values(...)[i] == labels[codes[i]]``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.features.transforms import sentence_codes
    >>> types = ["The", "Big", "Dog", "the", "cat", "sat"]
    >>> codes, labels = sentence_codes("sentcase", types, np.arange(6), np.array([3, 3]))
    >>> [labels[c] for c in codes]
    ['T', 'T', 'T', 'L', 'L', 'L']
    >>> codes, labels = sentence_codes("isfirst", types, np.arange(6), np.array([3, 3]))
    >>> [labels[c] for c in codes]
    ['1', '0', '0', '1', '0', '0']
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    L = int(lengths.sum())
    off = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=off[1:])
    if name == "isfirst":
        codes = np.zeros(L, dtype=np.int64)
        codes[off[:-1][lengths > 0]] = 1
        return codes, ["0", "1"]
    # per value: starts with a letter, all upper case, capitalised, all lower case
    flags = np.array([(w[:1].isalpha(), w.isupper(), w[:1].isupper(), w.islower())
                      for w in types], dtype=bool).reshape(len(types), 4)
    tok = flags[np.asarray(type_of, dtype=np.int64)]
    tok[:, 1:] &= tok[:, :1]                     # counted among the alphabetic words only
    csum = np.zeros((L + 1, 4), dtype=np.int64)
    np.cumsum(tok, axis=0, out=csum[1:])
    na, nu, nt, nl = (csum[off[1:]] - csum[off[:-1]]).T
    cls = np.full(lengths.size, 3, dtype=np.int64)              # "M"
    cls[(na >= 3) & (nl == na)] = 2                              # "L"
    cls[(na >= 3) & (nt > 0.6 * na)] = 1                         # "T"
    cls[(na >= 2) & (nu == na)] = 0                              # "U"
    return np.repeat(cls, lengths), ["U", "T", "L", "M"]


def field_special(field: str) -> Optional[str]:
    """The sentence-level transformation of a field, if it has one.

    Parameters
    ----------
    field : str
        A field: a column name followed by transformations separated by dots.

    Returns
    -------
    str or None
        ``"sentcase"`` or ``"isfirst"`` when it is the field's only transformation, else
        None.

    Examples
    --------
    >>> from fastseq.features.transforms import field_special
    >>> field_special("w.sentcase"), field_special("w.lower")
    ('sentcase', None)
    """
    parts = field.split(".")
    return parts[1] if len(parts) == 2 and parts[1] in SENTENCE_TRANSFORMS else None


def transform(name: str) -> Callable[[str], str]:
    """The value-level field transformation of a name.

    Parameters
    ----------
    name : str
        A name of :data:`TRANSFORMS`, or ``p1`` .. ``p9`` (the first k characters) or
        ``s1`` .. ``s9`` (the last k).

    Returns
    -------
    callable
        ``str -> str``.

    Raises
    ------
    ValueError
        For an unknown name.

    Examples
    --------
    >>> from fastseq.features.transforms import transform
    >>> transform("s3")("running"), transform("p2")("NNP"), transform("istitle")("Dog")
    ('ing', 'NN', '1')
    """
    fn = TRANSFORMS.get(name)
    if fn is not None:
        return fn
    m = _AFFIX.match(name)
    if m:
        k = int(m.group(2))
        return functools.partial(_prefix if m.group(1) == "p" else _suffix, k)
    raise ValueError(f"unknown field transformation {name!r}; known: "
                     f"{', '.join(sorted(TRANSFORMS))}, p1..p9, s1..s9")


def compose(fns: Sequence[Callable[[str], str]]) -> Callable[[str], str]:
    """Transformations applied left to right, as one.

    Parameters
    ----------
    fns : sequence of callable
        ``str -> str`` functions (at least one).

    Returns
    -------
    callable
        ``str -> str``: ``fns[-1](... fns[0](s))`` (``fns[0]`` itself when it is alone).

    Examples
    --------
    >>> from fastseq.features.transforms import compose, transform
    >>> compose([transform("lower"), transform("s3")])("RUNNING")
    'ing'
    """
    if len(fns) == 1:
        return fns[0]
    return functools.partial(_apply_all, tuple(fns))

