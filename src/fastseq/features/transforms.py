"""Field transformations: what ``"w.lower.s3"`` or ``"w.shape"`` does to a column's values.

A field is a column name followed by transformations separated by dots, applied left to
right (see :mod:`fastseq.features` for the table). Value-level transformations map one
string to another; the sentence-level ones (``sentcase``, ``isfirst``) look at the whole
sentence and must be the only transformation of their field.
"""
from __future__ import annotations

import re
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

__all__ = ["word_shape", "short_shape", "TRANSFORMS", "SENTENCE_TRANSFORMS", "transform",
           "compose", "field_special", "sentence_values"]


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


TRANSFORMS: Dict[str, Callable[[str], str]] = {
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
SENTENCE_TRANSFORMS = ("sentcase", "isfirst")


def sentence_values(name: str, values: List[str], lengths: np.ndarray) -> List[str]:
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


def field_special(field: str) -> Optional[str]:
    parts = field.split(".")
    return parts[1] if len(parts) == 2 and parts[1] in SENTENCE_TRANSFORMS else None


def transform(name: str) -> Callable[[str], str]:
    fn = TRANSFORMS.get(name)
    if fn is not None:
        return fn
    m = _AFFIX.match(name)
    if m:
        k = int(m.group(2))
        return (lambda s: s[:k]) if m.group(1) == "p" else (lambda s: s[-k:])
    raise ValueError(f"unknown field transformation {name!r}; known: "
                     f"{', '.join(sorted(TRANSFORMS))}, p1..p9, s1..s9")


def compose(fns: Sequence[Callable[[str], str]]) -> Callable[[str], str]:
    if len(fns) == 1:
        return fns[0]

    def run(s):
        for fn in fns:
            s = fn(s)
        return s
    return run

