"""Sentences read per column: the inputs the templates look at."""
from __future__ import annotations

from itertools import chain
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

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

    def __init__(self, names: Iterable[str], loader: Callable[[str], List[Any]]) -> None:
        self._names = list(names)
        self._loader = loader
        self._cache: Dict[str, List[Any]] = {}

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __contains__(self, key: object) -> bool:
        return key in self._names

    def __getitem__(self, key: str) -> List[Any]:
        if key not in self._cache:
            if key not in self._names:
                raise KeyError(key)
            self._cache[key] = self._loader(key)
        return self._cache[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._names else default

    def __setitem__(self, key: str, value: List[Any]) -> None:
        self._cache[key] = value
        if key not in self._names:
            self._names.append(key)


class Columns:
    """Sentences flattened per column: ``cols[name]`` is a list over all tokens.

    Parameters
    ----------
    cols : dict of str to list
        Column name -> the values of all tokens, sentences concatenated (a mapping that
        builds each list on first access, from :func:`read_sentences`).
    lengths : ndarray of int64, shape (n_sentences,)
        The number of tokens of each sentence.

    Attributes
    ----------
    cols : dict of str to list
        As given.
    lengths : ndarray of int64, shape (n_sentences,)
        As given.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.features.columns import Columns
    >>> c = Columns({"w": ["The", "cat", "A"]}, np.array([2, 1]))
    >>> c.cols["w"][2], c.lengths.tolist()
    ('A', [2, 1])
    """

    __slots__ = ("cols", "lengths")

    def __init__(self, cols: Union[Dict[str, List[Any]], _LazyColumns],
                 lengths: np.ndarray) -> None:
        self.cols = cols
        self.lengths = lengths


def unique_strs(values: Iterable[Any], where: str) -> List[str]:
    """The distinct values of a column, in first-seen order, checked to be str.

    Parameters
    ----------
    values : iterable of str
        The values (iterated twice when one is not a str).
    where : str
        What holds them, for the error messages.

    Returns
    -------
    list of str
        The distinct values.

    Raises
    ------
    TypeError
        If a value is not a str.

    Examples
    --------
    >>> from fastseq.features.columns import unique_strs
    >>> unique_strs(["a", "b", "a"], "column 'w'")
    ['a', 'b']
    >>> unique_strs(["a", 1], "column 'w'")
    Traceback (most recent call last):
        ...
    TypeError: column 'w' must hold str values, got int 1
    """
    types: Optional[List[str]]
    try:
        types = list(dict.fromkeys(values))
    except TypeError:
        types = None
    if types is None or not set(map(type, types)) <= {str}:
        for v in values:
            if not isinstance(v, str):
                raise TypeError(f"{where} must hold str values, got {type(v).__name__} {v!r}")
        if types is None:  # unreachable: an unhashable value is not a str
            raise TypeError(f"{where} must hold str values")
    return types


def read_sentences(sents: Iterable[Any], input_columns: Optional[Sequence[str]]) -> Columns:
    """Read sentences per column.

    Parameters
    ----------
    sents : iterable of sentences
        Each sentence is a dict of columns ``{name: list of str}`` (the format of
        :mod:`fastseq.io`; every sentence has the columns of the first, in the same
        order), a list of str tokens (the column ``"w"``), or a list of token tuples (or
        lists) of str, all of the same width.
    input_columns : sequence of str or None
        The names of the columns of token tuples, in order; None: :data:`DEFAULT_COLUMNS`.
        A tuple of width ``k`` uses the first ``k`` names.

    Returns
    -------
    Columns
        The columns (lists over all tokens, built on first access) and the sentence
        lengths.

    Raises
    ------
    TypeError
        If ``sents`` is a str, bytes, a dict or not iterable, a sentence is a str, or a
        token is neither a str nor a tuple or list.
    ValueError
        If a sentence does not have the columns of the first or its columns differ in
        length, token tuples differ in width, or they are wider than there are column
        names.

    Examples
    --------
    >>> from fastseq.features.columns import read_sentences
    >>> c = read_sentences([[("The", "DT"), ("cat", "NN")], [("Hi", "UH")]], None)
    >>> list(c.cols), c.cols["pos"], c.lengths.tolist()
    (['w', 'pos'], ['DT', 'NN', 'UH'], [2, 1])
    >>> c = read_sentences([{"form": ["The", "cat"], "upos": ["DET", "NOUN"]}], None)
    >>> list(c.cols), c.cols["form"]
    (['form', 'upos'], ['The', 'cat'])
    """
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
    """The input column that feeds a template column.

    Parameters
    ----------
    base : str
        The column a field reads (``"w"``, ``"pos"``, ``"chunk"`` or any other name).
    available : sequence of str
        The columns of the data.

    Returns
    -------
    str or None
        The first of ``COLUMN_ALIASES[base]`` (``base`` itself for other names) that is
        available, or None.

    Examples
    --------
    >>> from fastseq.features.columns import resolve_column
    >>> resolve_column("w", ["word", "pos"]), resolve_column("chunk", ["word"])
    ('word', None)
    """
    for cand in COLUMN_ALIASES.get(base, (base,)):
        if cand in available:
            return cand
    return None

