"""Tagging schemes for chunk / named-entity labels.

A chunk label is ``"O"`` (outside any chunk) or a one-letter *prefix* joined to a chunk
*type* by ``"-"``: ``"B-PER"``, ``"I-LOC"``, ... (with ``suffix=True`` the prefix comes last:
``"PER-B"``). Six schemes are supported; ``x`` below is a chunk type.

``IOB1``  (prefixes I, O, B)
    ``I-x`` marks every token of a chunk; ``B-x`` is used only for the first token of a
    chunk that immediately follows another chunk of the same type x.
``IOB2`` (a.k.a. BIO; prefixes B, I, O)
    every chunk starts with ``B-x``, continues with ``I-x``.
``IOE1``  (prefixes I, O, E)
    ``I-x`` marks every token of a chunk; ``E-x`` is used only for the last token of a chunk
    that is immediately followed by another chunk of the same type x.
``IOE2``  (prefixes I, O, E)
    every chunk ends with ``E-x``, earlier tokens are ``I-x``.
``IOBES`` (a.k.a. BIOES; prefixes B, I, O, E, S)
    single-token chunks are ``S-x``; longer ones ``B-x I-x ... E-x``.
``BILOU`` (prefixes B, I, L, O, U)
    IOBES with ``L-`` for ``E-`` and ``U-`` for ``S-``.

Public names: :data:`SCHEMES`, :func:`normalize_scheme`, :func:`parse_label`,
:func:`allowed_transitions`, :func:`get_entities`, :func:`entities_to_tags`,
:func:`convert_scheme`, :func:`detect_scheme`, :func:`is_chunk_tagset`.

Entities (spans) are ``(type, start, end)`` tuples with an *inclusive* ``end``, the
convention of ``seqeval.metrics.sequence_labeling.get_entities``.
"""
from __future__ import annotations

import warnings
from typing import (
    Callable,
    Dict,
    Iterable,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
)

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "SCHEMES",
    "normalize_scheme",
    "parse_label",
    "allowed_transitions",
    "get_entities",
    "entities_to_tags",
    "convert_scheme",
    "detect_scheme",
    "is_chunk_tagset",
]

SCHEMES: Tuple[str, ...] = ("IOB1", "IOB2", "IOE1", "IOE2", "IOBES", "BILOU")
"""The supported tagging schemes, by canonical name.

The functions of this module that take a scheme also accept the names
case-insensitively, the aliases ``"BIO"`` (IOB2) and ``"BIOES"`` (IOBES), and seqeval's
scheme classes (see :func:`normalize_scheme`).

Examples
--------
>>> from fastseq.schemes import SCHEMES
>>> SCHEMES
('IOB1', 'IOB2', 'IOE1', 'IOE2', 'IOBES', 'BILOU')
"""

# Prefix letters each scheme may use ("O" included).
_SCHEME_PREFIXES: Dict[str, frozenset] = {
    "IOB1": frozenset("IOB"),
    "IOB2": frozenset("IOB"),
    "IOE1": frozenset("IOE"),
    "IOE2": frozenset("IOE"),
    "IOBES": frozenset("IOBES"),
    "BILOU": frozenset("BILOU"),
}

_ALIASES = {"BIO": "IOB2", "BIOES": "IOBES"}

Entity = Tuple[str, int, int]
# a scheme name, or a class named after one (seqeval's scheme classes)
SchemeLike = Union[str, type]


# --------------------------------------------------------------------------------------
# scheme names and labels
# --------------------------------------------------------------------------------------
def normalize_scheme(scheme: SchemeLike) -> str:
    """Return the canonical name (one of :data:`SCHEMES`) of a tagging scheme.

    Parameters
    ----------
    scheme : str or type
        A scheme name, case-insensitive, surrounding blanks ignored (``"iob2"``; ``"BIO"``
        and ``"BIOES"`` are accepted as aliases of IOB2 and IOBES), or a class whose
        ``__name__`` is one of the names -- so seqeval's scheme classes
        (``seqeval.scheme.IOB2``) work too.

    Returns
    -------
    str
        The canonical name: one of :data:`SCHEMES`.

    Raises
    ------
    TypeError
        If ``scheme`` is neither a string nor a class.
    ValueError
        If the scheme is unknown; the message lists the valid ones.

    Examples
    --------
    >>> from fastseq.schemes import normalize_scheme
    >>> normalize_scheme("bio"), normalize_scheme(" iobes ")
    ('IOB2', 'IOBES')
    """
    if isinstance(scheme, type):
        name = scheme.__name__
    elif isinstance(scheme, str):
        name = scheme
    else:
        raise TypeError(
            f"`scheme` must be a string (one of {', '.join(SCHEMES)}), "
            f"got {type(scheme).__name__}"
        )
    key = name.strip().upper()
    key = _ALIASES.get(key, key)
    if key not in _SCHEME_PREFIXES:
        raise ValueError(
            f"unknown tagging scheme {name!r}; valid schemes are {', '.join(SCHEMES)}"
        )
    return key


def _check_label_type(label) -> None:
    if not isinstance(label, str):
        raise TypeError(f"labels must be str, got {type(label).__name__}: {label!r}")


def _split_label(label: str, suffix: bool) -> Optional[Tuple[str, str]]:
    """Split a well-formed label into (prefix, type); None if it is not well-formed."""
    if label == "O":
        return "O", ""
    if len(label) < 3:
        return None
    if suffix:
        prefix, sep, typ = label[-1], label[-2], label[:-2]
    else:
        prefix, sep, typ = label[0], label[1], label[2:]
    if sep != "-" or prefix == "O":
        return None
    return prefix, typ


def parse_label(label: str, scheme: Optional[SchemeLike] = None, *,
                suffix: bool = False) -> Tuple[str, str]:
    """Split a chunk label into ``(prefix, type)``.

    ``"B-PER" -> ("B", "PER")``, ``"O" -> ("O", "")``; with ``suffix=True``
    ``"PER-B" -> ("B", "PER")``. The type is everything after the first ``"-"`` (before the
    last one with ``suffix=True``) and may itself contain ``"-"``.

    Parameters
    ----------
    label : str
        A chunk label: ``"O"`` or ``<prefix>-<type>`` (``<type>-<prefix>`` with
        ``suffix=True``), the prefix one letter.
    scheme : str or type, optional
        When given (see :func:`normalize_scheme`), the prefix must be one that the scheme
        uses.
    suffix : bool, default False
        The prefix is written after the type.

    Returns
    -------
    prefix : str
        The prefix letter (``"O"`` for the label ``"O"``).
    type : str
        The chunk type (``""`` for the label ``"O"``).

    Raises
    ------
    TypeError
        If ``label`` is not a str, or ``scheme`` neither a str nor a class.
    ValueError
        If the label is not ``"O"`` nor ``<prefix>-<type>`` with a non-empty type and a prefix
        among B, I, E, S, L, U (or among the scheme's prefixes when ``scheme`` is given), or
        the scheme is unknown.

    Examples
    --------
    >>> from fastseq.schemes import parse_label
    >>> parse_label("B-PER"), parse_label("O"), parse_label("PER-B", suffix=True)
    (('B', 'PER'), ('O', ''), ('B', 'PER'))
    >>> parse_label("I-ORG-X", "IOB2")
    ('I', 'ORG-X')
    """
    _check_label_type(label)
    if scheme is None:
        allowed, where = frozenset("BIOESLU"), "any supported scheme"
    else:
        name = normalize_scheme(scheme)
        allowed, where = _SCHEME_PREFIXES[name], f"the {name} scheme"
    parts = _split_label(label, suffix)
    if parts is None or parts[0] not in allowed:
        form = "<type>-<prefix>" if suffix else "<prefix>-<type>"
        letters = ", ".join(p for p in "BIESLU" if p in allowed)
        raise ValueError(
            f"label {label!r} does not fit {where}: expected 'O' or {form} "
            f"with prefix one of {letters} and a non-empty type"
        )
    return parts


# --------------------------------------------------------------------------------------
# transition masks
# --------------------------------------------------------------------------------------
def _may_start(scheme: str, p: str) -> bool:
    if scheme == "IOB2":
        return p != "I"
    if scheme == "IOB1":
        return p != "B"  # B- only right after a chunk of the same type
    if scheme in ("IOBES", "BILOU"):
        return p not in "IEL"
    return True  # IOE1, IOE2


def _may_end(scheme: str, p: str) -> bool:
    if scheme == "IOE2":
        return p != "I"
    if scheme == "IOE1":
        return p != "E"  # E- only right before a chunk of the same type
    if scheme in ("IOBES", "BILOU"):
        return p not in "BI"
    return True  # IOB1, IOB2


def _may_follow(scheme: str, p1: str, t1: str, p2: str, t2: str) -> bool:
    same = p1 != "O" and p2 != "O" and t1 == t2
    if scheme == "IOB2":
        return p2 != "I" or (p1 in "BI" and same)
    if scheme == "IOB1":
        return p2 != "B" or (p1 in "BI" and same)
    if scheme == "IOE2":
        return p1 != "I" or (p2 in "IE" and same)
    if scheme == "IOE1":
        return p1 != "E" or (p2 in "IE" and same)
    # IOBES / BILOU: after B/I the chunk must go on (I) or close (E/L) with the same type;
    # after O/E/S/L/U a new chunk must open with B or S/U (or stay outside).
    closing = "E" if scheme == "IOBES" else "L"
    single = "S" if scheme == "IOBES" else "U"
    if p1 in "BI":
        return same and p2 in ("I", closing)
    return p2 in ("O", "B", single)


def allowed_transitions(
    labels: Sequence[str], scheme: SchemeLike = "IOB2", *, suffix: bool = False
) -> Tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
    """Boolean masks of the legal moves between chunk labels under a tagging scheme.

    Apply them to scores as ``np.where(mask, scores, -np.inf)`` for constrained decoding;
    every path allowed by the three masks is a well-formed tag sequence of the scheme.

    Parameters
    ----------
    labels : sequence of str, length N
        The tag set, in state order (index ``i`` is state ``i``); must contain ``"O"`` and
        otherwise only ``<prefix>-<type>`` labels whose prefix the scheme uses. Each label may
        appear once.
    scheme : str or type, default "IOB2"
        One of ``"IOB1", "IOB2", "IOE1", "IOE2", "IOBES", "BILOU"`` (case-insensitive; see
        :func:`normalize_scheme`).
    suffix : bool, default False
        Labels are written ``<type>-<prefix>``.

    Returns
    -------
    trans_mask : ndarray of bool, shape (N, N)
        ``trans_mask[i, j]`` is True iff label ``j`` may directly follow label ``i``.
    start_mask : ndarray of bool, shape (N,)
        ``start_mask[j]`` is True iff a sequence may start with label ``j``.
    end_mask : ndarray of bool, shape (N,)
        ``end_mask[i]`` is True iff a sequence may end with label ``i``.

    Raises
    ------
    TypeError
        If ``labels`` is a single string or contains a non-str, or ``scheme`` is neither a
        str nor a class.
    ValueError
        If the scheme is unknown, a label does not fit the scheme (e.g. ``"E-PER"`` under
        IOB2), a label is duplicated, or there is no ``"O"`` label.

    Examples
    --------
    >>> from fastseq.schemes import allowed_transitions
    >>> trans, start, end = allowed_transitions(["O", "B-PER", "I-PER"], "IOB2")
    >>> trans.astype(int)
    array([[1, 1, 0],
           [1, 1, 1],
           [1, 1, 1]])
    >>> start.astype(int), end.astype(int)
    (array([1, 1, 0]), array([1, 1, 1]))
    """
    name = normalize_scheme(scheme)
    if isinstance(labels, str):
        raise TypeError("`labels` must be a sequence of label strings, got a single str")
    labels = list(labels)
    for lab in labels:
        _check_label_type(lab)
    parsed = [parse_label(lab, name, suffix=suffix) for lab in labels]
    seen = set()
    for lab in labels:
        if lab in seen:
            raise ValueError(f"label {lab!r} appears more than once in `labels`")
        seen.add(lab)
    if "O" not in seen:
        raise ValueError(f"`labels` must contain the outside label 'O' (scheme {name})")

    n = len(labels)
    trans = np.zeros((n, n), dtype=bool)
    for i, (p1, t1) in enumerate(parsed):
        for j, (p2, t2) in enumerate(parsed):
            trans[i, j] = _may_follow(name, p1, t1, p2, t2)
    start = np.array([_may_start(name, p) for p, _ in parsed], dtype=bool)
    end = np.array([_may_end(name, p) for p, _ in parsed], dtype=bool)
    return trans, start, end


# --------------------------------------------------------------------------------------
# span extraction
# --------------------------------------------------------------------------------------
# Both chunkers below work on a flat "stream" of labels (sentences joined with an "O"
# after each, so the stream ends with "O"). Whether a chunk boundary falls between two
# tokens depends only on the pair (previous label, label), so each distinct pair is
# decided once in Python and the stream itself is processed with numpy: linear time,
# no per-token Python work beyond mapping labels to integer ids.


class _Spans(NamedTuple):
    start: np.ndarray  # int64, position of the first token
    end: np.ndarray  # int64, position of the last token (inclusive)
    type_id: np.ndarray  # int64 index into `types`
    types: List[str]


def _encode(stream: List[str]) -> Tuple[np.ndarray, List[str]]:
    """Integer ids of the labels of ``stream`` and the distinct labels (first-seen order)."""
    try:
        uniq = list(dict.fromkeys(stream))
    except TypeError:  # unhashable item
        uniq = []
        for lab in stream:
            _check_label_type(lab)
    for lab in uniq:
        _check_label_type(lab)
    index = {lab: k for k, lab in enumerate(uniq)}
    ids = np.fromiter(map(index.__getitem__, stream), dtype=np.int64, count=len(stream))
    return ids, uniq


# Lenient (conlleval / seqeval default mode) chunking. A label's "tag" is its first
# character (last with suffix=True) and its "type" what follows the first "-" (precedes
# the last "-" with suffix=True), "_" when empty.
def _seqeval_tag_type(label: str, suffix: bool) -> Tuple[str, str]:
    """(tag, type) of a label the way seqeval's default mode reads it."""
    _check_label_type(label)
    if not label:
        raise ValueError("the empty string is not a valid label")
    if suffix:
        return label[-1], label[:-1].rsplit("-", 1)[0] or "_"
    return label[0], label[1:].split("-", 1)[-1] or "_"


def _lenient_decision(prev: Tuple[str, str], cur: Tuple[str, str]) -> Tuple[bool, bool]:
    """(a chunk ends right before cur, a chunk starts at cur) -- conlleval's rules."""
    pt, ptype = prev
    t, typ = cur
    ends = (
        pt in ("E", "S")
        or (pt in ("B", "I") and t in ("B", "S", "O"))
        or (pt not in ("O", ".") and ptype != typ)
    )
    starts = (
        t in ("B", "S")
        or (pt in ("E", "S", "O") and t in ("E", "I"))
        or (t not in ("O", ".") and ptype != typ)
    )
    return ends, starts


def _type_ids(parts: List[Tuple[str, str]]) -> Tuple[np.ndarray, List[str]]:
    types = sorted({t for _, t in parts})
    where = {t: k for k, t in enumerate(types)}
    return np.array([where[t] for _, t in parts], dtype=np.int64), types


def _lenient_spans(stream: List[str], tag_type: Callable[[str], Tuple[str, str]]) -> _Spans:
    """Chunks of a flat label stream, conlleval-style. ``stream`` must end with ``"O"``."""
    ids, uniq = _encode(stream)
    n, m = len(ids), len(uniq)
    parts = [tag_type(lab) for lab in uniq]
    # row m of the tables is the state before the first token: tag "O", type ""
    ends_tbl = np.zeros((m + 1, m), dtype=bool)
    starts_tbl = np.zeros((m + 1, m), dtype=bool)
    for a, pa in enumerate(parts + [("O", "")]):
        for b, pb in enumerate(parts):
            ends_tbl[a, b], starts_tbl[a, b] = _lenient_decision(pa, pb)
    prev = np.empty(n, dtype=np.int64)
    prev[:1] = m
    prev[1:] = ids[:-1]
    code = prev * m + ids
    starts = starts_tbl.ravel()[code]
    ends = ends_tbl.ravel()[code]
    # a chunk closed before position i began at the last start strictly before i (0 if none)
    last_start = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    pos = np.flatnonzero(ends)  # never 0: nothing can end before the first token
    label_type, types = _type_ids(parts)
    return _Spans(last_start[pos - 1], pos - 1, label_type[ids[pos - 1]], types)


# Strict chunking (seqeval mode="strict"): a chunk is a token that may start a chunk
# after its predecessor, followed by tokens that may continue it, and it counts only if
# the token after it may legally close it. Each rule is a set of
# (previous prefix, current prefix, relation) with relation "=" (same type), "!" (different
# type) or "*" (either). The "type" of a label is what remains after removing the prefix
# letter and surrounding "-" ("_" if empty; "O" has type "_").
def _rules(spec: str) -> frozenset:
    out = set()
    for item in spec.split():
        a, b, rel = item[0], item[1], item[2]
        if rel in "=*":
            out.add((a, b, True))
        if rel in "!*":
            out.add((a, b, False))
    return frozenset(out)


_STRICT_RULES: Dict[str, Tuple[frozenset, frozenset, frozenset]] = {
    # scheme: (may start, may continue, may close)
    "IOB1": (
        _rules("BB= BI* IB= II! OI*"),
        _rules("BI= II="),
        _rules("BB= BI! BO* IB* II! IO*"),
    ),
    "IOB2": (
        _rules("BB* IB* OB*"),
        _rules("BI= II="),
        _rules("BB* BI! BO* IB* II! IO*"),
    ),
    "IOE1": (
        _rules("EE= EI* II! OI*"),
        _rules("IE= II="),
        _rules("EE= EI= IE! II! IO*"),
    ),
    "IOE2": (
        _rules("EE* EI* IE! II! OE* OI*"),
        _rules("IE= II="),
        _rules("EE* EI* EO*"),
    ),
    "IOBES": (
        _rules("BB* BS* EB* ES* IB* IS* OB* OS* SB* SS*"),
        _rules("BE= BI= IE= II="),
        _rules("EB* EE* EI* EO* ES* SB* SE* SI* SO* SS*"),
    ),
    "BILOU": (
        _rules("BB* BU* IB* IU* LB* LU* OB* OU* UB* UU*"),
        _rules("BI= BL= II= IL="),
        _rules("LB* LI* LL* LO* LU* UB* UI* UL* UO* UU*"),
    ),
}


def _strict_prefix_type(label: str, scheme: str, suffix: bool) -> Tuple[str, str]:
    _check_label_type(label)
    if not label:
        raise ValueError("the empty string is not a valid label")
    if suffix:
        prefix, rest = label[-1], label[:-1]
    else:
        prefix, rest = label[0], label[1:]
    if prefix not in _SCHEME_PREFIXES[scheme]:
        allowed = ", ".join(sorted(_SCHEME_PREFIXES[scheme]))
        raise ValueError(
            f"label {label!r} does not fit the {scheme} scheme: its prefix {prefix!r} "
            f"is not one of {allowed}"
        )
    return prefix, rest.strip("-") or "_"


def _strict_spans(stream: List[str], scheme: str, suffix: bool) -> _Spans:
    """Well-formed chunks of a flat label stream under ``scheme``.

    ``stream`` must end with ``"O"``; sentences separated by ``"O"`` are chunked exactly as
    if each were scanned on its own (the scan starts after an implicit "O").
    """
    may_start, may_continue, may_close = _STRICT_RULES[scheme]
    ids, uniq = _encode(stream)
    n, m = len(ids), len(uniq)
    parts = [_strict_prefix_type(lab, scheme, suffix) for lab in uniq]
    tables = np.zeros((3, m + 1, m), dtype=bool)  # row m: the implicit "O" before the stream
    for a, (pa, ta) in enumerate(parts + [("O", "_")]):
        for b, (pb, tb) in enumerate(parts):
            key = (pa, pb, ta == tb)
            tables[:, a, b] = key in may_start, key in may_continue, key in may_close
    prev = np.empty(n, dtype=np.int64)
    prev[:1] = m
    prev[1:] = ids[:-1]
    code = prev * m + ids
    can_start = tables[0].ravel()[code]
    cont = tables[1].ravel()[code]
    can_close = tables[2].ravel()[code]
    # The scan visits tokens left to right; at a token that may start a chunk it swallows
    # every following token that may continue it and resumes at the first one that may not.
    # So each "segment" -- a token that cannot continue its predecessor plus the tokens
    # that can -- holds at most one chunk: from its first possible start to its last token,
    # and the chunk counts iff the token after the segment may close it.
    cont[:1] = False
    heads = np.flatnonzero(~cont)
    seg = np.cumsum(~cont) - 1
    cand = np.flatnonzero(can_start)
    _, first = np.unique(seg[cand], return_index=True)
    begin = cand[first]
    seg_of = seg[begin]
    after = np.append(heads, n)[seg_of + 1]  # first token after the segment
    ok = after < n
    ok[ok] = can_close[after[ok]]
    begin, stop = begin[ok], after[ok] - 1
    label_type, types = _type_ids(parts)
    return _Spans(begin, stop, label_type[ids[begin]], types)


def _spans_to_list(sp: _Spans) -> List[Entity]:
    types = sp.types
    return [
        (types[t], s, e)
        for t, s, e in zip(sp.type_id.tolist(), sp.start.tolist(), sp.end.tolist())
    ]


def _is_nested(seq) -> bool:
    return any(isinstance(s, (list, tuple, np.ndarray)) for s in seq)


def _flatten_with_separators(seqs: Iterable[Sequence[str]]) -> List[str]:
    stream: List[str] = []
    for s in seqs:
        stream.extend(s)
        stream.append("O")
    return stream


def get_entities(seq: Union[Sequence[str], Sequence[Sequence[str]]],
                 scheme: Optional[SchemeLike] = None, *, suffix: bool = False) -> List[Entity]:
    """Extract chunks (entities) from a tag sequence.

    Parameters
    ----------
    seq : list of str, or list of lists of str
        One tag sequence, or several; several are processed like seqeval does: joined with
        an ``"O"`` after each, so offsets are positions in that joined list.
    scheme : str or type, optional
        ``None`` (default): conlleval-compatible lenient chunking, identical to
        ``seqeval.metrics.sequence_labeling.get_entities`` -- a label's first character is
        its tag (B, I, E, S, O, ...) and chunks are formed as conlleval does, so malformed
        input like ``["O", "I-PER"]`` still yields a PER chunk.
        A scheme name: strict chunking as in seqeval's ``mode="strict"`` -- only chunks
        written correctly under that scheme count; every label's prefix must belong to
        the scheme (``ValueError`` otherwise). This reproduces seqeval exactly, including
        one gap in its IOE1 rules: a one-token ``E-x`` chunk is only recognised right
        after another ``E-`` label (so ``["E-PER", "I-PER"]`` yields only ``PER(1)``).
    suffix : bool, default False
        Labels are written ``<type>-<prefix>``.

    Returns
    -------
    list of (str, int, int)
        The chunks as ``(type, start, end)``, ``end`` inclusive, in order of position.

    Raises
    ------
    TypeError
        If ``seq`` is a single str, a label is not a str, or ``scheme`` is neither a str nor
        a class.
    ValueError
        If a label is the empty string, the scheme is unknown, or (strict chunking) a
        label's prefix does not belong to the scheme.

    Examples
    --------
    >>> from fastseq.schemes import get_entities
    >>> get_entities(["B-PER", "I-PER", "O", "B-LOC"])
    [('PER', 0, 1), ('LOC', 3, 3)]
    >>> get_entities(["O", "I-PER", "B-LOC"], scheme="IOB2")
    [('LOC', 2, 2)]
    >>> get_entities([["B-PER"], ["I-LOC", "I-LOC"]])  # offsets in "B-PER O I-LOC I-LOC O"
    [('PER', 0, 0), ('LOC', 2, 3)]
    """
    if isinstance(seq, str):
        raise TypeError("`seq` must be a sequence of label strings, got a single str")
    items: list = list(seq)
    if _is_nested(items):
        stream = _flatten_with_separators(items)
    else:
        stream = list(items)
    stream.append("O")
    if scheme is None:
        _warn_not_chunk_labels(stream, suffix)
        spans = _lenient_spans(stream, lambda lab: _seqeval_tag_type(lab, suffix))
    else:
        spans = _strict_spans(stream, normalize_scheme(scheme), suffix)
    return _spans_to_list(spans)


def _warn_not_chunk_labels(labels: List[str], suffix: bool) -> None:
    """seqeval's warning for labels that carry no chunk prefix (e.g. POS tags given to the
    chunk functions), once per such label."""
    for label in sorted({lab for lab in labels if isinstance(lab, str)}):
        if label in ("O", "B", "I", "E", "S"):
            continue
        ok = (label.endswith(("-B", "-I", "-E", "-S")) if suffix
              else label.startswith(("B-", "I-", "E-", "S-")))
        if not ok:
            warnings.warn(f"{label} seems not to be NE tag.", UserWarning, stacklevel=3)


# --------------------------------------------------------------------------------------
# writing spans in a scheme, converting between schemes
# --------------------------------------------------------------------------------------
def _join(prefix: str, typ: str, suffix: bool) -> str:
    return f"{typ}-{prefix}" if suffix else f"{prefix}-{typ}"


def entities_to_tags(
    entities: Iterable[Entity], length: int, scheme: SchemeLike = "IOB2", *,
    suffix: bool = False
) -> List[str]:
    """Write chunks as a tag sequence of ``length`` tokens in ``scheme``.

    Parameters
    ----------
    entities : iterable of (str, int, int)
        The chunks as ``(type, start, end)``: a non-empty type, inclusive ``end``,
        ``0 <= start <= end < length``, non-overlapping (in any order).
    length : int
        Number of tokens of the sequence (>= 0).
    scheme : str or type, default "IOB2"
        The scheme to write (see :func:`normalize_scheme`).
    suffix : bool, default False
        Write labels as ``<type>-<prefix>``.

    Returns
    -------
    list of str
        The ``length`` labels; tokens outside every chunk are ``"O"``.

    Raises
    ------
    TypeError
        If ``scheme`` is neither a str nor a class.
    ValueError
        If entities overlap or are out of range, a type is empty or not a str, ``length`` is
        negative, or the scheme is unknown.

    Examples
    --------
    >>> from fastseq.schemes import entities_to_tags
    >>> entities_to_tags([("PER", 0, 1)], 3, "IOBES")
    ['B-PER', 'E-PER', 'O']
    >>> entities_to_tags([("PER", 0, 1), ("PER", 2, 2)], 4, "IOB1")
    ['I-PER', 'I-PER', 'B-PER', 'O']
    """
    name = normalize_scheme(scheme)
    length = int(length)
    if length < 0:
        raise ValueError(f"`length` must be >= 0, got {length}")
    spans = sorted((int(s), int(e), t) for t, s, e in entities)
    for s, e, t in spans:
        if not isinstance(t, str) or not t:
            raise ValueError(f"entity types must be non-empty str, got {t!r}")
        if not 0 <= s <= e < length:
            raise ValueError(f"entity ({t!r}, {s}, {e}) is out of range for length {length}")
    for (s1, e1, t1), (s2, e2, t2) in zip(spans, spans[1:]):
        if s2 <= e1:
            raise ValueError(f"entities ({t1!r}, {s1}, {e1}) and ({t2!r}, {s2}, {e2}) overlap")

    tags = ["O"] * length
    for k, (s, e, t) in enumerate(spans):
        # same-type chunk directly before / after (matters for IOB1 and IOE1)
        glued_before = k > 0 and spans[k - 1][1] == s - 1 and spans[k - 1][2] == t
        glued_after = k + 1 < len(spans) and spans[k + 1][0] == e + 1 and spans[k + 1][2] == t
        if name == "IOB2":
            first, mid, last, single = "B", "I", "I", "B"
        elif name == "IOB1":
            first = "B" if glued_before else "I"
            mid, last, single = "I", "I", first
        elif name == "IOE2":
            first, mid, last, single = "I", "I", "E", "E"
        elif name == "IOE1":
            last = "E" if glued_after else "I"
            first, mid, single = "I", "I", last
        elif name == "IOBES":
            first, mid, last, single = "B", "I", "E", "S"
        else:  # BILOU
            first, mid, last, single = "B", "I", "L", "U"
        if s == e:
            tags[s] = _join(single, t, suffix)
            continue
        tags[s] = _join(first, t, suffix)
        for p in range(s + 1, e):
            tags[p] = _join(mid, t, suffix)
        tags[e] = _join(last, t, suffix)
    return tags


def _decode_for_conversion(tags: Sequence[str], scheme: str, suffix: bool) -> List[Entity]:
    to_lenient = {"L": "E", "U": "S"}

    def tag_type(lab: str) -> Tuple[str, str]:
        p, t = parse_label(lab, scheme, suffix=suffix)
        return to_lenient.get(p, p), t or "_"

    return _spans_to_list(_lenient_spans(list(tags) + ["O"], tag_type))


def convert_scheme(
    tags: Union[Sequence[str], Sequence[Sequence[str]]], from_scheme: SchemeLike,
    to_scheme: SchemeLike, *, suffix: bool = False
) -> Union[List[str], List[List[str]]]:
    """Rewrite tag sequence(s) from one tagging scheme into another.

    Every label must fit ``from_scheme``. Chunks are read the conlleval way, which is exact
    for well-formed input and repairs malformed input the way conlleval scores it: an
    ``I-x`` after ``O`` or after another type opens a chunk, a chunk missing its closing
    ``E-``/``L-`` ends where the next chunk or ``O`` begins, and so on.

    Parameters
    ----------
    tags : list of str, or list of lists of str
        One sequence or several (the result has the same shape).
    from_scheme, to_scheme : str or type
        Scheme names (see :data:`SCHEMES` and :func:`normalize_scheme`).
    suffix : bool, default False
        Labels are written ``<type>-<prefix>`` (input and output).

    Returns
    -------
    list of str, or list of lists of str
        The sequence(s) written in ``to_scheme``, one label per input label.

    Raises
    ------
    TypeError
        If ``tags`` is a single str or mixes sequences and single labels, a label is not a
        str, or a scheme is neither a str nor a class.
    ValueError
        If a scheme is unknown, or a label does not fit ``from_scheme`` (the message names
        the label).

    Examples
    --------
    >>> from fastseq.schemes import convert_scheme
    >>> convert_scheme(["B-PER", "I-PER", "O", "B-LOC"], "IOB2", "IOBES")
    ['B-PER', 'E-PER', 'O', 'S-LOC']
    >>> convert_scheme([["I-PER", "B-PER"]], "IOB1", "BILOU")
    [['U-PER', 'U-PER']]
    """
    src = normalize_scheme(from_scheme)
    dst = normalize_scheme(to_scheme)
    if isinstance(tags, str):
        raise TypeError("`tags` must be a sequence of label strings, got a single str")
    items: list = list(tags)
    if _is_nested(items):
        out = []
        for k, seq in enumerate(items):
            if isinstance(seq, str):
                raise TypeError(
                    f"`tags` mixes sequences and single labels (item {k} is {seq!r})"
                )
            out.append(_convert_one(list(seq), src, dst, suffix))
        return out
    return _convert_one(items, src, dst, suffix)


def _convert_one(tags: List[str], src: str, dst: str, suffix: bool) -> List[str]:
    spans = _decode_for_conversion(tags, src, suffix)
    return entities_to_tags(spans, len(tags), dst, suffix=suffix)


# --------------------------------------------------------------------------------------
# detection
# --------------------------------------------------------------------------------------
def detect_scheme(tag_seqs: Iterable[Sequence[str]]) -> Optional[str]:
    """The chunk tagging scheme of label sequences, or None when they are not chunk labels.

    The labels are chunk labels when ``"O"`` occurs and every other label is
    ``<prefix>-<type>``: a prefix among B, I, E, S, L, U, a ``"-"`` and a non-empty type
    (a label set without ``"O"`` gives None). The scheme is then read from the prefixes:

    * B, I, E, S with E or S (unless only I and E occur): ``"IOBES"``;
    * B, I, L, U with L or U: ``"BILOU"``;
    * I and E only: ``"IOE2"`` when at least as many chunks end with ``E-`` as without,
      else ``"IOE1"`` (only ``I-`` labels therefore give ``"IOE1"``, which reads them as
      IOB1 does);
    * B and I only: ``"IOB2"`` when at least as many chunks start with ``B-`` as with
      ``I-``, else ``"IOB1"``;
    * any other mix: None.

    Parameters
    ----------
    tag_seqs : iterable of sequences of str
        The label sequences (a list of lists of str; a flat list of str is not one
        sequence but a list of one-character sequences, and gives None).

    Returns
    -------
    str or None
        ``"IOB1"``, ``"IOB2"``, ``"IOE1"``, ``"IOE2"``, ``"IOBES"`` or ``"BILOU"``; None when
        the labels are not chunk labels.

    Examples
    --------
    >>> from fastseq.schemes import detect_scheme
    >>> detect_scheme([["B-PER", "I-PER", "O"], ["B-LOC", "O"]])
    'IOB2'
    >>> detect_scheme([["I-PER", "O", "I-LOC"], ["I-PER", "B-PER"]])
    'IOB1'
    >>> detect_scheme([["S-PER", "O", "B-LOC", "E-LOC"]])
    'IOBES'
    >>> print(detect_scheme([["DET", "NOUN"]]))
    None
    """
    seqs = list(tag_seqs)  # read twice below: an iterator must not run dry
    prefixes: Set[str] = set()
    labels: Set[str] = set()
    for seq in seqs:
        labels.update(seq)
    if "O" not in labels:
        return None
    for lab in labels:
        if lab == "O":
            continue
        if len(lab) < 3 or lab[1] != "-" or lab[0] not in "BIESLU":
            return None
        prefixes.add(lab[0])
    if not prefixes:
        return None
    if prefixes <= {"B", "I", "E", "S"} and prefixes & {"E", "S"} and not prefixes <= {"I", "E"}:
        return "IOBES"
    if prefixes <= {"B", "I", "L", "U"} and prefixes & {"L", "U"}:
        return "BILOU"
    if prefixes <= {"I", "E"}:
        # IOE2 closes every chunk with E-; IOE1 only a chunk followed by one of the same type
        closed = open_ = 0
        for seq in seqs:
            for a, b in zip(seq, list(seq[1:]) + ["O"]):
                if a != "O" and (b == "O" or b[2:] != a[2:] or b[0] == "E" and a[0] == "E"):
                    if a[0] == "E":
                        closed += 1
                    else:
                        open_ += 1
        return "IOE2" if closed >= open_ else "IOE1"
    if prefixes <= {"B", "I"}:
        # IOB2 opens every chunk with B-; IOB1 only a chunk right after one of the same type
        b_starts = i_starts = 0
        for seq in seqs:
            prev = "O"
            for lab in seq:
                if lab != "O" and (prev == "O" or prev[2:] != lab[2:] or lab[0] == "B"):
                    if lab[0] == "B":
                        b_starts += 1
                    else:
                        i_starts += 1
                prev = lab
        return "IOB2" if b_starts >= i_starts else "IOB1"
    return None


def is_chunk_tagset(tags: Iterable[str]) -> bool:
    """Whether a tag set is one of chunk labels.

    True when every tag is ``"O"`` or a prefixed label -- a prefix among B, I, E, S, L, U,
    a ``"-"`` or ``"_"``, and a non-empty type -- and at least one tag is prefixed.
    ``"O"`` itself need not occur. (This test is looser than :func:`detect_scheme`, which
    also requires ``"O"`` and a ``"-"``.)

    Parameters
    ----------
    tags : iterable of str
        The tags (repeats are fine: the set of them is tested).

    Returns
    -------
    bool
        Whether the tags are chunk labels; False for an empty set.

    Examples
    --------
    >>> from fastseq.schemes import is_chunk_tagset
    >>> is_chunk_tagset(["B-NP", "I-NP", "O"]), is_chunk_tagset(["NOUN", "VERB"])
    (True, False)
    >>> is_chunk_tagset(["B-NP"]), is_chunk_tagset(["O"])
    (True, False)
    """
    seen = set(tags)
    if not seen:
        return False
    prefixed = [t for t in seen if len(t) > 2 and t[1] in "-_" and t[0] in "BIESLU"]
    return bool(prefixed) and all(t == "O" or t in prefixed for t in seen)
