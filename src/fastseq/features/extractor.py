"""The feature extractor: templates applied to whole batches of sentences at once."""
from __future__ import annotations

import threading
import uuid
from itertools import repeat
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse

from .._archive import contents_checked
from ..exceptions import ModelFileError, NotFittedError
from .columns import Columns, read_sentences, resolve_column, unique_strs
from .templates import check_min_count, fields_of, normalize_template, template_prefix, template_set
from .transforms import compose, field_special, sentence_codes, sentence_values, transform

__all__ = ["Featurized", "FeatureExtractor"]

_MAX_KEY = 1 << 62
_DENSE_MAX = 1 << 21  # key spaces up to this size are looked up in a dense array
_CACHE_MAX = 1 << 18  # distinct values per column whose ids transform remembers
_HASH_MIN_QUERIES = 1024  # fewer keys are looked up by binary search (less overhead)


class Featurized:
    """Features of a batch of sentences, ready for :class:`fastseq.crf.CRF`.

    Made by :meth:`FeatureExtractor.transform` and :meth:`FeatureExtractor.fit_transform`.
    ``len()`` is the number of sentences.

    Parameters
    ----------
    matrix : scipy.sparse.csr_matrix, shape (n_tokens, n_attributes)
        All sentences' tokens concatenated, over the attribute columns of ``space``
        (float64 ones where a token has an attribute).
    lengths : array-like of int, shape (n_sentences,)
        The number of tokens of each sentence.
    space : FeatureExtractor
        The extractor whose attribute columns these are.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix, shape (n_tokens, n_attributes)
        As given.
    lengths : ndarray of int64, shape (n_sentences,)
        As given.
    space : FeatureExtractor
        As given.

    Examples
    --------
    >>> from fastseq.features import FeatureExtractor
    >>> fx = FeatureExtractor([(("w", 0),), "bias"])
    >>> F = fx.fit_transform([["The", "cat", "sat"], ["A", "dog"]])
    >>> F
    Featurized(2 sequences, 5 tokens, 6 attributes, 10 non-zeros)
    >>> len(F), F.matrix.shape, F.lengths.tolist()
    (2, (5, 6), [3, 2])
    """

    __slots__ = ("matrix", "lengths", "space")

    def __init__(self, matrix: sparse.csr_matrix, lengths: ArrayLike,
                 space: "FeatureExtractor") -> None:
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
        """Row offsets of the sentences: sentence ``i`` is rows ``offsets[i]:offsets[i + 1]``.

        An ndarray of int64 of shape ``(n_sentences + 1,)``, computed on each access.

        Examples
        --------
        >>> from fastseq.features import FeatureExtractor
        >>> F = FeatureExtractor(["bias"]).fit_transform([["The", "cat", "sat"], ["A", "dog"]])
        >>> F.offsets.tolist()
        [0, 3, 5]
        """
        off = np.zeros(self.lengths.size + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=off[1:])
        return off

    def sequences(self) -> List[sparse.csr_matrix]:
        """The matrix split into one CSR matrix per sentence.

        Returns
        -------
        list of scipy.sparse.csr_matrix
            Sentence ``i``'s rows, of shape ``(lengths[i], n_attributes)``.

        Examples
        --------
        >>> from fastseq.features import FeatureExtractor
        >>> F = FeatureExtractor(["bias"]).fit_transform([["The", "cat", "sat"], ["A", "dog"]])
        >>> [m.shape for m in F.sequences()]
        [(3, 1), (2, 1)]
        """
        off = self.offsets
        return [self.matrix[off[i]:off[i + 1]] for i in range(len(self))]


class FeatureExtractor:
    """Apply feature templates to sentences.

    Templates are applied to whole batches of sentences at once: transformations run once
    per distinct value of a column, and the attributes of all tokens are computed with a
    few numpy operations per template (see :mod:`fastseq.features`).

    Parameters
    ----------
    templates : str or list, default "ner"
        A built-in set (``"pos"``, ``"chunk"``, ``"ner"``, ``"crfsuite_chunk"``) or a list
        of templates: tuples of ``(field, offset)`` pairs, or ``"__BOS__"``,
        ``"__EOS__"``, ``"bias"`` (see :mod:`fastseq.features`).
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
        1 (keep everything).

    Attributes
    ----------
    templates_ : list of Template
        The templates in use (after :meth:`fit`): those that read columns the training
        data has.
    n_attributes_ : int
        The number of attribute columns (after :meth:`fit`).
    uid : str
        A random identifier of this attribute space, made by :meth:`fit` (a
        :class:`fastseq.crf.CRF` trained on its output recognises it).

    Raises
    ------
    ValueError
        For an unknown template-set name, an empty or malformed template list (unknown
        special template or transformation, see
        :func:`fastseq.features.templates.normalize_template`), or a ``min_count`` that is
        not an int >= 1 or a dict of them.
    TypeError
        If ``templates`` is neither a str nor a list, a template part is not a
        ``(str, int)`` pair, or a column name is not a non-empty str.

    See Also
    --------
    fastseq.crf.CRF : The model that learns from the features.
    fastseq.taggers.CRFTagger : A tagger built on both.

    Examples
    --------
    >>> from fastseq.features import FeatureExtractor
    >>> fx = FeatureExtractor([(("w", 0),), (("w.lower", -1),), "bias"])
    >>> F = fx.fit_transform([["The", "cat", "sat"], ["A", "dog"]])
    >>> fx, F.matrix.shape
    (FeatureExtractor('<3 templates>', 9 attributes), (5, 9))
    >>> fx.attribute_names()[:6]
    ['w[0]=The', 'w[0]=cat', 'w[0]=sat', 'w[0]=A', 'w[0]=dog', 'w.lower[-1]=the']
    >>> fx.transform([["the", "cat"]]).matrix.toarray().tolist()
    [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0]]

    A built-in set drops the templates that read columns the data lacks:

    >>> fx = FeatureExtractor("crfsuite_chunk").fit([["The", "cat"]])
    >>> len(fx.templates_), fx.n_attributes_
    (9, 8)
    """

    def __init__(self, templates: Union[str, Iterable[Any]] = "ner",
                 columns: Optional[Sequence[str]] = None, drop_missing: Optional[bool] = None,
                 min_count: Union[None, int, Dict[str, int]] = None) -> None:
        self.templates = templates
        if isinstance(columns, str):
            raise TypeError(f"`columns` must be a sequence of column names, not a str; "
                            f"did you mean [{columns!r}]?")
        self.columns = None if columns is None else tuple(columns)
        self.drop_missing = drop_missing
        self.min_count = check_min_count(min_count)
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
        self._all_templates = [normalize_template(t, i) for i, t in enumerate(raw)]
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
        """Whether the extractor is fitted (by :meth:`fit` or read from a model file).

        Examples
        --------
        >>> from fastseq.features import FeatureExtractor
        >>> fx = FeatureExtractor("pos")
        >>> fx.is_fitted, fx.fit([["The", "cat"]]).is_fitted
        (False, True)
        """
        return self._fitted

    def _require_fitted(self):
        if not self._fitted:
            raise NotFittedError("this FeatureExtractor is not fitted yet; call fit() first")

    def _min_count_of(self, field: str) -> int:
        mc = self.min_count
        if isinstance(mc, dict):
            return int(mc.get(field, 1))
        return int(mc)

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, sents: Iterable[Any]) -> "FeatureExtractor":
        """Build the attribute vocabulary from training sentences.

        Parameters
        ----------
        sents : list of sentences
            Each a dict of columns ``{name: list of str}`` (the format of
            :mod:`fastseq.io`), a list of str tokens (words), or a list of token tuples of
            str named by ``columns``.

        Returns
        -------
        FeatureExtractor
            ``self``, fitted.

        Raises
        ------
        ValueError
            As for :meth:`fit_transform`.
        TypeError
            As for :meth:`fit_transform`.

        Examples
        --------
        >>> from fastseq.features import FeatureExtractor
        >>> fx = FeatureExtractor([(("w.lower", 0),)]).fit([["The", "cat"], ["the", "dog"]])
        >>> fx.attribute_names()
        ['w.lower[0]=the', 'w.lower[0]=cat', 'w.lower[0]=dog']
        """
        self.fit_transform(sents)
        return self

    def fit_transform(self, sents: Iterable[Any]) -> Featurized:
        """:meth:`fit` and :meth:`transform` in one pass.

        Any previous fit is replaced (with a new ``uid``).

        Parameters
        ----------
        sents : list of sentences
            As for :meth:`fit`.

        Returns
        -------
        Featurized
            The features of ``sents``: a CSR matrix of shape ``(n_tokens,
            n_attributes_)``.

        Raises
        ------
        ValueError
            When ``sents`` holds no token, a template reads a column the data lacks (unless
            such templates are dropped: ``drop_missing``), no template applies, a template
            combines too many distinct values for 62-bit keys, or the sentences are
            malformed (columns of different lengths, token tuples of different widths).
        TypeError
            When ``sents`` is not a list of sentences or holds values that are not str.

        Examples
        --------
        >>> from fastseq.features import FeatureExtractor
        >>> fx = FeatureExtractor([(("w", 0),), (("pos", -1),)])
        >>> F = fx.fit_transform([[("The", "DT"), ("cat", "NN")]])
        >>> F.matrix.toarray().tolist(), fx.attribute_names()
        ([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]], ['w[0]=The', 'w[0]=cat', 'pos[-1]=DT'])
        """
        data = read_sentences(sents, self.columns)
        if not data.lengths.size or int(data.lengths.sum()) == 0:
            raise ValueError("`sents` holds no tokens to fit the feature templates on")
        available = list(data.cols)
        templates, colmap = [], {}
        for t in self._all_templates:
            ok = True
            if not isinstance(t, str):
                for f, _ in t:
                    base = f.split(".")[0]
                    col = resolve_column(base, available)
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
        fields = fields_of(templates)
        self._fields = fields
        self._field_fn = {f: (compose([transform(x) for x in f.split(".")[1:]])
                              if "." in f and field_special(f) is None else None)
                          for f in fields}
        self._vocab: Dict[str, Dict[str, int]] = {f: {} for f in fields}
        self._type_cache: Dict[str, Tuple[Dict[str, int], np.ndarray]] = {}
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
        self._dense: Dict[int, Optional[np.ndarray]] = {}
        cols2d = self._attribute_columns(data, ids, fit=True)
        self.uid = uuid.uuid4().hex
        self._names_cache: Optional[List[str]] = None
        self._fitted = True
        return self._assemble(cols2d, data.lengths)

    # -- transforming ----------------------------------------------------------------------
    def transform(self, sents: Iterable[Any]) -> Featurized:
        """Features of sentences over the fitted attribute columns.

        Values never seen in training (or rarer than ``min_count``) give no attribute.

        Parameters
        ----------
        sents : list of sentences
            As for :meth:`fit`; the columns the templates read may go by another alias
            than in training (``"word"`` for ``"w"``, ...).

        Returns
        -------
        Featurized
            The features: a CSR matrix of shape ``(n_tokens, n_attributes_)``.

        Raises
        ------
        fastseq.exceptions.NotFittedError
            When the extractor is not fitted.
        ValueError
            When ``sents`` lacks a column the templates read, or is malformed.
        TypeError
            When ``sents`` is not a list of sentences or holds values that are not str.

        Examples
        --------
        >>> from fastseq.features import FeatureExtractor
        >>> fx = FeatureExtractor([(("w", 0),), "bias"]).fit([["The", "cat"]])
        >>> fx.transform([["The", "dog"]]).matrix.toarray().tolist()
        [[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]
        """
        self._require_fitted()
        data = read_sentences(sents, self.columns)
        if data.lengths.size and int(data.lengths.sum()) > 0:
            for base, col in self._colmap.items():
                if col not in data.cols:
                    alt = resolve_column(base, list(data.cols))
                    if alt is None:
                        raise ValueError(f"the feature templates read column {col!r}, which "
                                         f"`sents` does not have (columns: {list(data.cols)})")
                    data.cols[col] = data.cols[alt]
        ids = self._field_ids(data, fit=False)
        cols2d = self._attribute_columns(data, ids, fit=False)
        return self._assemble(cols2d, data.lengths)

    def _field_ids(self, data: Columns, fit: bool) -> Dict[str, np.ndarray]:
        """Per field: the vocabulary id of every token's value (-1 = unseen)."""
        L = int(data.lengths.sum())
        type_ids: Dict[str, Tuple[np.ndarray, List[str]]] = {}
        cached: Dict[str, Dict[str, np.ndarray]] = {}
        out: Dict[str, np.ndarray] = {}
        for f in self._fields:
            base = f.split(".")[0]
            col = self._colmap[base]
            if col not in type_ids:
                values = data.cols.get(col, [])
                types = unique_strs(values, f"`sents` column {col!r}")
                table = dict(zip(types, range(len(types))))
                tid = np.fromiter(map(table.__getitem__, values), dtype=np.int64, count=L)
                type_ids[col] = (tid, types)
            tid, types = type_ids[col]
            if not fit and col not in cached:
                cached[col] = self._type_field_ids(col, types)
            special = field_special(f)
            if special is not None and not fit:
                codes, labels = sentence_codes(special, types, tid, data.lengths)
                get = self._vocab[f].get
                out[f] = np.array([get(v, -1) for v in labels], dtype=np.int64)[codes]
                continue
            if special is not None:
                # sentence-level: one value per token, looked up directly
                tok_vals = sentence_values(special, data.cols.get(col, []), data.lengths)
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
            if not fit:
                out[f] = cached[col][f][tid] if L else np.zeros(0, dtype=np.int64)
                continue
            fn = self._field_fn[f]
            vals = types if fn is None else [fn(v) for v in types]
            vocab = self._vocab[f]
            if fit:
                k = self._min_count_of(f)
                if k > 1:
                    # count the derived values over tokens; rare ones stay out of the vocabulary
                    raw: Dict[str, int] = {}
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

    def _type_field_ids(self, col: str, types: List[str]) -> Dict[str, np.ndarray]:
        """Per value-level field of column ``col``: the vocabulary id of each of ``types``
        (-1 = unseen). A value's ids are the same wherever it occurs: they are remembered
        across calls (up to :data:`_CACHE_MAX` values per column), so that only values not
        seen since the fit are transformed and looked up."""
        fields = [f for f in self._fields
                  if self._colmap[f.split(".")[0]] == col and field_special(f) is None]
        if not fields:
            return {}
        lock = self.__dict__.setdefault("_cache_lock", threading.Lock())
        with lock:
            caches: Dict[str, Tuple[Dict[str, int], np.ndarray]] = \
                self.__dict__.setdefault("_type_cache", {})
            index: Dict[str, int]
            index, table = caches.get(col) or ({}, np.zeros((0, len(fields)), dtype=np.int64))
            rows = np.fromiter(map(index.get, types, repeat(-1)), dtype=np.int64,
                               count=len(types))
            new = np.flatnonzero(rows < 0)
            if new.size:
                if len(index) + new.size > _CACHE_MAX:  # start afresh rather than grow
                    index, table = {}, table[:0]
                    new = np.arange(len(types))
                new_types = [types[i] for i in new.tolist()]
                ids = self._value_ids(fields, new_types)
                n = len(index)
                if n + new.size > table.shape[0]:  # grow by doubling (amortised appends)
                    grown = np.empty((max(2 * table.shape[0], n + new.size, 1024),
                                      len(fields)), dtype=np.int64)
                    grown[:n] = table[:n]
                    table = grown
                table[n:n + new.size] = ids
                rows[new] = np.arange(n, n + new.size)
                index.update(zip(new_types, range(n, n + new.size)))
                caches[col] = (index, table)
            sub = table[rows]
        return {f: sub[:, k] for k, f in enumerate(fields)}

    def _value_ids(self, fields: List[str], types: List[str]) -> np.ndarray:
        """``(len(types), len(fields))`` vocabulary ids (-1 = unseen) of the fields' values
        of ``types``; a field's value is its parent field's (``w.lower`` of ``w.lower.s3``)
        transformed once more."""
        values: Dict[str, List[str]] = {}

        def field_values(f: str) -> List[str]:
            if f not in values:
                head, _, last = f.rpartition(".")
                values[f] = (types if not head
                             else list(map(transform(last), field_values(head))))
            return values[f]

        out = np.empty((len(types), len(fields)), dtype=np.int64)
        for k, f in enumerate(fields):
            out[:, k] = np.fromiter(map(self._vocab[f].get, field_values(f), repeat(-1)),
                                    dtype=np.int64, count=len(types))
        return out

    def __getstate__(self) -> Dict[str, Any]:
        # transform's caches are rebuilt on use (a lock does not pickle)
        state = dict(self.__dict__)
        for name in ("_type_cache", "_cache_lock", "_hashed", "_hash_queries"):
            state.pop(name, None)
        return state

    def _attribute_columns(self, data: Columns, ids, fit: bool) -> np.ndarray:
        """(L, n_templates) int64 attribute columns, -1 where a template gives nothing; with
        ``fit``, the templates' key tables are built here (else :meth:`_lookup_columns`)."""
        if not fit:
            return self._lookup_columns(data.lengths, ids)
        L = int(data.lengths.sum())
        if L == 0:  # pragma: no cover - fit refuses empty data
            raise ValueError("no tokens")
        cols2d = np.full((L, len(self.templates_)), -1, dtype=np.int64)
        base = 0
        for j, valid, key in self._template_keys(data.lengths, ids):
            table = np.unique(key[valid])
            self._tables.append(table)
            self._bases.append(base)
            cols2d[valid, j] = base + np.searchsorted(table, key[valid])
            base += table.size
        self.n_attributes_ = base
        return cols2d

    def _template_keys(self, lengths: np.ndarray, ids):
        """For every template ``j``: ``(j, valid, key)``, where the template gives an
        attribute (``valid``, bool of length L) and its key there (a mixed-radix number of
        the field values it reads; meaningless where not valid). The shifted field values
        are shared by the templates that read them."""
        L = int(lengths.sum())
        off = np.zeros(lengths.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=off[1:])
        lens = np.repeat(lengths, lengths)
        pos = np.arange(L, dtype=np.int64) - np.repeat(off[:-1], lengths)
        gidx = np.arange(L, dtype=np.int64)
        shifted: Dict[Tuple[str, int], np.ndarray] = {}

        def at(f, o):
            """Ids of field ``f`` at offset ``o`` of every token (-1: none there)."""
            if (f, o) not in shifted:
                v = ids[f]
                if o:
                    inside = (pos + o >= 0) & (pos + o < lens)
                    v = np.where(inside, v[np.clip(gidx + o, 0, L - 1)], -1)
                shifted[f, o] = v
            return shifted[f, o]

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
                (f, o), rest = t[0], t[1:]
                key = at(f, o)
                valid = key >= 0
                key = np.maximum(key, 0)
                for f, o in rest:
                    v = at(f, o)
                    valid &= v >= 0
                    key = key * max(self._vsize[f], 1) + np.maximum(v, 0)
            yield j, valid, key

    def _lookup_columns(self, lengths: np.ndarray, ids) -> np.ndarray:
        """:meth:`_attribute_columns` of a fitted extractor: the same columns, by
        whole-column lookups in the dense tables (else hashed or binary searches)."""
        L = int(lengths.sum())
        nT = len(self.templates_)
        if L == 0:
            return np.full((L, nT), -1, dtype=np.int64)
        cols = np.full((nT, L), -1, dtype=np.int64)       # one contiguous row per template
        for j, valid, key in self._template_keys(lengths, ids):
            table = self._tables[j]
            dense = self._dense_table(j)
            if dense is not None:
                col = dense[np.where(valid, key, 0)]
                np.add(col, self._bases[j], out=cols[j], where=valid & (col >= 0))
            elif table.size:
                sel = np.flatnonzero(valid)
                k = key[sel]
                hashed = self._hashed_table(j, k.size)
                if hashed is None or k.size < _HASH_MIN_QUERIES:
                    idx = np.searchsorted(table, k)
                    np.minimum(idx, table.size - 1, out=idx)
                    found = table[idx] == k
                else:
                    idx = _hash_find(hashed, table, k)
                    found = idx >= 0
                cols[j, sel[found]] = self._bases[j] + idx[found]
        return np.ascontiguousarray(cols.T)

    def _hashed_table(self, j: int, n_queries: int) -> Optional[np.ndarray]:
        """The hash slots (see :func:`_hash_slots`) of the key table of template ``j``,
        built once the lookups in it add up to its size (a binary search per key until
        then); None while not built."""
        done = self.__dict__.setdefault("_hashed", {})
        if j not in done:
            seen = self.__dict__.setdefault("_hash_queries", {})
            seen[j] = seen.get(j, 0) + n_queries
            if seen[j] < self._tables[j].size:
                return None
            done[j] = _hash_slots(self._tables[j])
        return done[j]

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
        # within a row the columns follow the template order, and each template's columns
        # come after those of the templates before it (``_bases`` grow): already sorted
        A = self.n_attributes_
        itype = np.int32 if A < 2**31 - 1 and indices.size < 2**31 - 1 else np.int64
        m = sparse.csr_matrix((np.ones(indices.size), indices.astype(itype),
                               indptr.astype(itype)), shape=(L, A))
        m.has_sorted_indices = True
        return Featurized(m, lengths, self)

    # -- names and python-crfsuite output ----------------------------------------------------
    def attribute_names(self) -> List[str]:
        """The name of every attribute column, in column order.

        Names are CRFsuite's: ``"w[-1]|w[0]=the|cat"`` (see
        :func:`fastseq.features.attribute_name`); the columns of a template are
        contiguous, in template order.

        Returns
        -------
        list of str
            ``n_attributes_`` names (the same list on every call: do not modify it).

        Raises
        ------
        fastseq.exceptions.NotFittedError
            When the extractor is not fitted.

        Examples
        --------
        >>> from fastseq.features import FeatureExtractor
        >>> fx = FeatureExtractor([(("w", -1), ("w", 0)), "__BOS__"])
        >>> fx.fit([["the", "cat", "sat"]]).attribute_names()
        ['w[-1]|w[0]=the|cat', 'w[-1]|w[0]=cat|sat', '__BOS__']
        """
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
            prefix = template_prefix(t)
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

    def to_lists(self, sents: Iterable[Any]) -> List[List[List[str]]]:
        """Features in python-crfsuite's format: per token, the list of attribute names.

        Uses no vocabulary, so it needs no fit: an unfitted extractor applies all its
        templates (a built-in set drops those reading columns ``sents`` lacks), a fitted
        one the templates in use (``templates_``). The names are made exactly as
        :meth:`attribute_names` makes them; values never seen in training (or rarer than
        ``min_count``) give attributes too.

        Parameters
        ----------
        sents : list of sentences
            As for :meth:`fit`.

        Returns
        -------
        list of list of list of str
            Per sentence, per token, its attribute names (in template order).

        Raises
        ------
        ValueError
            When a template reads a column ``sents`` lacks (a fitted extractor, or
            explicit templates without ``drop_missing``), or ``sents`` is malformed.
        TypeError
            When ``sents`` is not a list of sentences or holds values that are not str.

        See Also
        --------
        to_dicts : The same as dicts of ``{name: 1.0}``.

        Examples
        --------
        >>> from fastseq.features import FeatureExtractor
        >>> fx = FeatureExtractor([(("w", 0),), (("w.lower", -1),), "bias"])
        >>> fx.to_lists([["The", "cat"]])
        [[['w[0]=The', 'bias'], ['w[0]=cat', 'w.lower[-1]=the', 'bias']]]
        """
        data = read_sentences(sents, self.columns)
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
        per_field: Dict[str, Optional[List[str]]] = {}
        type_cache: Dict[str, Tuple[list, list]] = {}

        def field_values(f):
            if f not in per_field:
                base = f.split(".")[0]
                col = (self._colmap.get(base) if self._fitted else None) or \
                    resolve_column(base, available)
                if col is None or col not in data.cols:
                    per_field[f] = None
                    return None
                if col not in type_cache:
                    values = data.cols[col]
                    types = unique_strs(values, f"`sents` column {col!r}")
                    table = dict(zip(types, range(len(types))))
                    tid = list(map(table.__getitem__, values))
                    type_cache[col] = (tid, types)
                tid, types = type_cache[col]
                special = field_special(f)
                if special is not None:
                    per_field[f] = sentence_values(special, data.cols[col], lengths)
                    return per_field[f]
                fns = [transform(x) for x in f.split(".")[1:]]
                if fns:
                    fn = compose(fns)
                    tv = [fn(v) for v in types]
                    per_field[f] = [tv[i] for i in tid]
                else:
                    unique_strs(data.cols[col], f"`sents` column {col!r}")
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
            prefix = template_prefix(t)
            if len(t) == 1:
                v, o = vals[0], t[0][1]
                for r in rows:
                    out[r].append(prefix + v[r + o])
            else:
                offs = [o for _, o in t]
                for r in rows:
                    out[r].append(prefix + "|".join([v[r + o] for v, o in zip(vals, offs)]))
        return [out[off[i]:off[i + 1]] for i in range(lengths.size)]

    def to_dicts(self, sents: Iterable[Any]) -> List[List[Dict[str, float]]]:
        """Features in python-crfsuite's dict format: per token, ``{attribute: 1.0}``.

        Like :meth:`to_lists`, with a dict per token (an attribute given twice to a token
        appears once).

        Parameters
        ----------
        sents : list of sentences
            As for :meth:`fit`.

        Returns
        -------
        list of list of dict of str to float
            Per sentence, per token, ``{attribute name: 1.0}``.

        Raises
        ------
        ValueError, TypeError
            As for :meth:`to_lists`.

        Examples
        --------
        >>> from fastseq.features import FeatureExtractor
        >>> FeatureExtractor([(("w.lower", 0),), "bias"]).to_dicts([["The"]])
        [[{'w.lower[0]=the': 1.0, 'bias': 1.0}]]
        """
        return [[dict.fromkeys(tok, 1.0) for tok in s] for s in self.to_lists(sents)]

    # -- persistence ------------------------------------------------------------------------
    def to_archive_parts(self) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
        """The fitted extractor as a JSON-able description and arrays.

        For embedding it in a model file (a tagger's); :meth:`from_archive_parts` reads it
        back.

        Returns
        -------
        meta : dict
            JSON-able: ``templates``, ``template_set`` (the built-in set's name or None),
            ``columns``, ``min_count``, ``colmap`` (template column -> data column),
            ``fields``, ``vocab`` (per field, its values in id order) and ``uid``.
        arrays : dict of str to ndarray
            ``table_<j>``: the sorted int64 keys of template ``j``'s attribute columns.

        Raises
        ------
        fastseq.exceptions.NotFittedError
            When the extractor is not fitted.

        Examples
        --------
        >>> from fastseq.features import FeatureExtractor
        >>> fx = FeatureExtractor([(("w", 0),), "bias"]).fit([["The", "cat"]])
        >>> meta, arrays = fx.to_archive_parts()
        >>> meta["templates"], meta["vocab"], arrays["table_0"].tolist()
        ([[['w', 0]], 'bias'], {'w': ['The', 'cat']}, [0, 1])
        """
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
    @contents_checked
    def from_archive_parts(cls, meta: Dict[str, Any], arrays: Dict[str, np.ndarray], *,
                           where: str) -> "FeatureExtractor":
        """The extractor :meth:`to_archive_parts` described.

        Parameters
        ----------
        meta : dict
            The description.
        arrays : dict of str to ndarray
            The attribute tables.
        where : str
            The name of the file, for the error messages.

        Returns
        -------
        FeatureExtractor
            The fitted extractor, with the same attribute columns and ``uid``.

        Raises
        ------
        fastseq.exceptions.ModelFileError
            For anything that does not check out: a missing or malformed entry, templates,
            fields, vocabularies or column map that do not agree, or a missing, unsorted
            or out-of-range attribute table.

        Examples
        --------
        >>> from fastseq.features import FeatureExtractor
        >>> fx = FeatureExtractor([(("w", 0),), "bias"]).fit([["The", "cat"]])
        >>> fx2 = FeatureExtractor.from_archive_parts(*fx.to_archive_parts(), where="<memory>")
        >>> fx2.uid == fx.uid, fx2.attribute_names()
        (True, ['w[0]=The', 'w[0]=cat', 'bias'])
        """
        def bad(msg):
            return ModelFileError(f"{where}: not a valid fastseq feature extractor: {msg}")

        try:
            # offsets as written: the constructor checks their type
            templates = [t if isinstance(t, str) else tuple((f, o) for f, o in t)
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
        if fields != fields_of(self.templates_):
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
        self._field_fn = {f: (compose([transform(x) for x in f.split(".")[1:]])
                              if "." in f and field_special(f) is None else None)
                          for f in fields}
        self._vocab = {f: {x: i for i, x in enumerate(vocab[f])} for f in fields}
        self._type_cache = {}
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


_HASH_MULT = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing


def _hash_start(keys: np.ndarray, bits: int) -> np.ndarray:
    """First slot of each key (non-negative int64) in a table of ``2**bits`` slots."""
    return ((keys.astype(np.uint64) * _HASH_MULT) >> np.uint64(64 - bits)).astype(np.int64)


def _hash_slots(table: np.ndarray) -> np.ndarray:
    """An open-addressing (linear probing) hash table of the distinct keys ``table``:
    ``2**bits >= 2 * len(table)`` slots holding an index into ``table`` or -1. Built in
    rounds, all keys at once: a key takes its slot when it is free (one key wins when
    several want it) and moves one slot on otherwise, so every slot between a key's first
    slot and its own is taken, as :func:`_hash_find` needs."""
    n = table.size
    bits = max(4, (2 * n).bit_length())
    H = 1 << bits
    slots = np.full(H, -1, dtype=np.int64)
    pos = _hash_start(table, bits)
    pending = np.arange(n)
    while pending.size:
        at = pos[pending]
        free = slots[at] < 0
        cand, where = pending[free], at[free]
        slots[where] = cand
        won = np.zeros(n, dtype=bool)
        won[cand[slots[where] == cand]] = True
        pending = pending[~won[pending]]
        pos[pending] = (pos[pending] + 1) & (H - 1)
    return slots


def _hash_find(slots: np.ndarray, table: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Index of each key in ``table`` (-1: absent) from the slots of :func:`_hash_slots`."""
    H = slots.size
    pos = _hash_start(keys, H.bit_length() - 1)
    out = np.full(keys.size, -1, dtype=np.int64)
    active = np.arange(keys.size)
    while active.size:
        s = slots[pos[active]]
        taken = s >= 0
        hit = np.zeros(active.size, dtype=bool)
        hit[taken] = table[s[taken]] == keys[active[taken]]
        out[active[hit]] = s[hit]
        active = active[taken & ~hit]
        pos[active] = (pos[active] + 1) & (H - 1)
    return out
