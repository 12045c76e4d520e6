"""Sentences read per column: the inputs the templates look at."""
from __future__ import annotations

from itertools import chain
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["DEFAULT_COLUMNS", "COLUMN_ALIASES", "Columns", "read_sentences",
           "resolve_column", "unique_strs"]

#: default names of the input columns when sentences are given as tuples
DEFAULT_COLUMNS = ("w", "pos", "chunk")
#: sentence keys that feed a template column (first present wins)
COLUMN_ALIASES: Dict[str, Tuple[str, ...]] = {
    "w": ("w", "word", "form", "token"),
    "pos": ("pos", "xpos"),
    "chunk": ("chunk",),
}



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


class Columns:
    """Sentences flattened per column: ``cols[name]`` is a list over all tokens."""

    __slots__ = ("cols", "lengths")

    def __init__(self, cols, lengths: np.ndarray):
        self.cols = cols
        self.lengths = lengths


def unique_strs(values, where) -> List[str]:
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


def read_sentences(sents, input_columns: Optional[Sequence[str]]) -> Columns:
    if isinstance(sents, (str, bytes, dict)) or not isinstance(sents, Iterable):
        raise TypeError("`sents` must be a list of sentences (dicts of columns, lists of "
                        f"tokens or lists of tuples), got {type(sents).__name__}")
    sents = sents if isinstance(sents, list) else list(sents)
    if not sents:
        return Columns({}, np.zeros(0, dtype=np.int64))
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
        return Columns(_LazyColumns(names, lambda c: list(chain.from_iterable(
            s[c] for s in sents))), lengths)
    # a list of tokens per sentence: str tokens (words) or tuples of columns
    lengths = np.fromiter((len(s) if not isinstance(s, (str, bytes)) else -1 for s in sents),
                          dtype=np.int64, count=len(sents))
    if lengths.size and lengths.min() < 0:
        k = int(np.argmin(lengths))
        raise TypeError(f"`sents[{k}]` must be a list of tokens, not a str (split it first)")
    flat = list(chain.from_iterable(sents))
    if not flat:
        return Columns({"w": []}, lengths)
    kinds = set(map(type, flat))
    if kinds == {str}:
        return Columns({"w": flat}, lengths)
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
        return Columns(_LazyColumns(names[:width],
                                     lambda c: [tok[index[c]] for tok in flat]), lengths)
    bad = next(t for t in flat if not isinstance(t, (str, tuple, list)))
    raise TypeError(f"`sents`: tokens must be str or tuples of str, got {type(bad).__name__} "
                    f"{bad!r}")


def resolve_column(base: str, available: Sequence[str]) -> Optional[str]:
    for cand in COLUMN_ALIASES.get(base, (base,)):
        if cand in available:
            return cand
    return None

