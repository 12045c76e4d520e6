"""Readers and writers for CoNLL-style column files and CoNLL-U.

Sentence format
---------------
Every reader returns (or yields) sentences as plain dicts mapping a column name to the list of
that column's values, one string per token::

    {"word": ["EU", "rejects", "German"], "pos": ["NNP", "VBZ", "JJ"],
     "ner": ["B-ORG", "O", "B-MISC"]}

All lists of one sentence have the same length (the number of tokens, always >= 1). The dict's
key order is the column order of the file (or of the ``columns`` / ``fields`` you asked for).
Taggers want ``[(word, tag), ...]`` per sentence; :func:`to_tagged` converts.

Functions
---------
========================================= ===================================================
:func:`read_conll` / :func:`iter_conll`   CoNLL-2000/2002/2003, WNUT and similar column files
:func:`read_conllu` / :func:`iter_conllu` CoNLL-U (Universal Dependencies)
:func:`write_conll`                       inverse of :func:`read_conll`
:func:`to_tagged`                         sentences -> ``[[(word, tag), ...], ...]``
========================================= ===================================================

Paths may be ``str`` or :class:`os.PathLike`; the readers also accept an open text file
object (anything with ``read`` and ``readline``), which they read but do not close.
"""
from __future__ import annotations

import os
import re
from typing import IO, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

__all__ = [
    "Sentence",
    "CONLLU_FIELDS",
    "DOCSTART",
    "iter_conll",
    "read_conll",
    "iter_conllu",
    "read_conllu",
    "write_conll",
    "to_tagged",
]

#: One sentence: column name -> one value per token.
#:
#: Examples
#: --------
#: >>> from fastseq.io import Sentence
#: >>> sentence: Sentence = {"word": ["EU", "rejects"], "ner": ["B-ORG", "O"]}
#: >>> len(sentence["word"])
#: 2
Sentence = Dict[str, List[str]]
PathOrFile = Union[str, "os.PathLike[str]", IO[str]]

#: The ten CoNLL-U columns, in file order.
#:
#: Examples
#: --------
#: >>> from fastseq.io import CONLLU_FIELDS
#: >>> CONLLU_FIELDS[:4]
#: ('id', 'form', 'lemma', 'upos')
CONLLU_FIELDS: Tuple[str, ...] = (
    "id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc",
)

#: First field of a document-boundary line; such lines are dropped by :func:`read_conll`.
#:
#: Examples
#: --------
#: >>> import io
#: >>> from fastseq.io import DOCSTART, read_conll
#: >>> text = f"{DOCSTART} -X- O\n\nEU NNP B-ORG\n"
#: >>> read_conll(io.StringIO(text), columns=("word", "pos", "ner"))
#: [{'word': ['EU'], 'pos': ['NNP'], 'ner': ['B-ORG']}]
DOCSTART = "-DOCSTART-"

# "Whitespace" for the CoNLL formats means ASCII blanks: tokens that contain e.g. a NO-BREAK
# SPACE (U+00A0) or U+3000 stay whole, unlike with ``str.split()``.
_ASCII_WS = " \t\n\r\f\v"
_WS_RUN = re.compile(r"[ \t\f\v]+")


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _is_file_object(obj) -> bool:
    return hasattr(obj, "readline") and hasattr(obj, "read")


def _source_name(source) -> str:
    if _is_file_object(source):
        name = getattr(source, "name", None)
        return str(name) if isinstance(name, (str, bytes, os.PathLike)) else "<stream>"
    return os.fspath(source)


def _check_path(source) -> None:
    """Raise FileNotFoundError / TypeError eagerly (before any generator starts)."""
    if _is_file_object(source):
        return
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            "expected a path (str or os.PathLike) or an open text file, got "
            f"{type(source).__name__}"
        )
    path = os.fspath(source)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not os.path.exists(path):
        raise FileNotFoundError(2, f"No such file: {path!r}", path)
    if os.path.isdir(path):
        raise IsADirectoryError(21, f"Expected a file but found a directory: {path!r}", path)


def _lines(source, encoding: str) -> Iterator[str]:
    """Yield the lines of ``source`` (path or open text file), without a leading BOM."""
    if _is_file_object(source):
        first = True
        for line in source:
            if first:
                first = False
                if isinstance(line, bytes):
                    raise TypeError("expected a file opened in text mode, got a binary file")
                if line.startswith("\ufeff"):
                    line = line[1:]
            yield line
        return
    with open(source, "r", encoding=encoding) as fh:
        first = True
        for line in fh:
            if first:
                first = False
                if line.startswith("\ufeff"):
                    line = line[1:]
            yield line


def _normalize_names(names, what: str) -> Optional[Tuple[str, ...]]:
    if names is None:
        return None
    if isinstance(names, str):
        raise TypeError(f"`{what}` must be a sequence of names such as ('word', 'ner'), not a str")
    names = tuple(names)
    if not names:
        raise ValueError(f"`{what}` must name at least one column")
    for n in names:
        if not isinstance(n, str):
            raise TypeError(f"`{what}` entries must be str, got {type(n).__name__}: {n!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"`{what}` has duplicate names: {names!r}")
    return names


def _make_sentence(names: Sequence[str], rows: List[List[str]]) -> Sentence:
    return {name: list(col) for name, col in zip(names, zip(*rows))}


# --------------------------------------------------------------------------------------------
# CoNLL column files
# --------------------------------------------------------------------------------------------


def iter_conll(
    path: PathOrFile,
    columns: Optional[Sequence[str]] = None,
    sep: Optional[str] = None,
    encoding: str = "utf-8",
) -> Iterator[Sentence]:
    """Stream the sentences of a CoNLL column file, one at a time.

    The lazy form of :func:`read_conll`, for files too large to hold in memory: same
    arguments, same sentences. A missing file raises :class:`FileNotFoundError` at call
    time, format errors while iterating.

    Parameters
    ----------
    path : str, os.PathLike or open text file
        The file to read. A missing path raises :class:`FileNotFoundError` naming it.
    columns : sequence of str, optional
        Names of the columns; see :func:`read_conll`.
    sep : str, optional
        Field separator; ``None`` (default) splits on runs of ASCII whitespace.
    encoding : str, default "utf-8"
        Text encoding used when ``path`` is a path (a BOM is ignored).

    Returns
    -------
    iterator of dict
        One ``{column_name: [value_per_token, ...]}`` dict per sentence.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (:class:`IsADirectoryError` if it is a directory).
    TypeError
        If ``path`` is neither a path nor an open file, ``columns`` is a str or holds a
        non-str, or ``sep`` is not a str; while iterating, if the file is opened in binary
        mode.
    ValueError
        If ``columns`` is empty or has duplicates, or ``sep`` is empty or holds a newline;
        while iterating, if a token line has the wrong number of fields.

    See Also
    --------
    read_conll : The same, as a list.

    Examples
    --------
    >>> import io
    >>> from fastseq.io import iter_conll
    >>> sentences = iter_conll(io.StringIO("EU B-ORG\\nrejects O\\n\\nPeter B-PER\\n"),
    ...                        columns=("word", "ner"))
    >>> next(sentences)
    {'word': ['EU', 'rejects'], 'ner': ['B-ORG', 'O']}
    >>> next(sentences)
    {'word': ['Peter'], 'ner': ['B-PER']}
    """
    names = _normalize_names(columns, "columns")
    if sep is not None:
        if not isinstance(sep, str):
            raise TypeError(f"`sep` must be a str or None, got {type(sep).__name__}")
        if sep == "" or "\n" in sep or "\r" in sep:
            raise ValueError(f"`sep` must be a non-empty string without newlines, got {sep!r}")
    _check_path(path)
    return _iter_conll(path, names, sep, encoding)


def _iter_conll(source, names, sep, encoding) -> Iterator[Sentence]:
    fname = _source_name(source)
    ncols = len(names) if names is not None else None
    rows: List[List[str]] = []
    for lineno, line in enumerate(_lines(source, encoding), 1):
        if not line.strip(_ASCII_WS):
            # blank (or whitespace-only, e.g. a lone tab in WNUT-17) line: end of sentence
            if rows:
                yield _make_sentence(names, rows)
                rows = []
            continue
        if sep is None:
            text = line.strip(_ASCII_WS)
            fields = text.split() if text.isascii() else _WS_RUN.split(text)
        else:
            fields = line.rstrip("\r\n").split(sep)
        if fields[0] == DOCSTART:
            # CoNLL-2003 style (followed by a blank line) and CoNLL-2002 Dutch style (not
            # followed by one): drop the line; it neither ends nor starts a sentence.
            continue
        if ncols is None:
            ncols = len(fields)
            names = tuple(str(i) for i in range(ncols))
        if len(fields) != ncols:
            how = "whitespace" if sep is None else repr(sep)
            raise ValueError(
                f"{fname}, line {lineno}: expected {ncols} columns separated by {how}, "
                f"found {len(fields)}: {line.rstrip(chr(10) + chr(13))!r}"
            )
        rows.append(fields)
    if rows:  # no trailing blank line
        yield _make_sentence(names, rows)


def read_conll(
    path: PathOrFile,
    columns: Optional[Sequence[str]] = None,
    sep: Optional[str] = None,
    encoding: str = "utf-8",
) -> List[Sentence]:
    """Read a CoNLL column file (one token per line, blank line between sentences).

    Parameters
    ----------
    path : str, os.PathLike or open text file
        The file to read. A missing path raises :class:`FileNotFoundError` naming it.
    columns : sequence of str, optional
        Names of the columns, e.g. ``("word", "pos", "chunk", "ner")``. Every token line must
        have exactly ``len(columns)`` fields. When omitted the columns are named ``"0"``,
        ``"1"``, ... and their number is taken from the first token line.
    sep : str, optional
        Field separator. ``None`` (default) splits on runs of ASCII whitespace (spaces and
        tabs); otherwise the line (without its line ending) is split on exactly ``sep``, e.g.
        ``"\\t"`` for WNUT-17, so fields may then contain spaces.
    encoding : str, default "utf-8"
        Text encoding used when ``path`` is a path (a BOM is ignored).

    Returns
    -------
    list of dict
        One dict per sentence: ``{column_name: [value_per_token, ...]}``; see the module
        docstring. Use :func:`to_tagged` to get ``[(word, tag), ...]`` lists.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (:class:`IsADirectoryError` if it is a directory).
    TypeError
        If ``path`` is neither a path nor an open file, or is a file opened in binary mode;
        if ``columns`` is a str or holds a non-str; if ``sep`` is not a str.
    ValueError
        If a token line has the wrong number of fields (the message names the file and the
        1-based line number); if ``columns`` is empty or has duplicates; if ``sep`` is
        empty or holds a newline.

    See Also
    --------
    iter_conll : The same, one sentence at a time.
    write_conll : The inverse.

    Notes
    -----
    * A blank or whitespace-only line ends a sentence; runs of blank lines, leading blank
      lines and a missing final blank line are all fine (no empty sentences are produced).
    * Lines whose first field is ``-DOCSTART-`` are dropped, both the CoNLL-2003 form
      (followed by a blank line) and the CoNLL-2002 Dutch form ``-DOCSTART- -DOCSTART- O``
      (not followed by one): the line neither ends nor starts a sentence.
    * "Whitespace" means ASCII blanks: a token containing e.g. a NO-BREAK SPACE stays
      whole.

    Examples
    --------
    >>> import io
    >>> from fastseq.io import read_conll
    >>> text = "EU NNP B-ORG\\nrejects VBZ O\\n\\nPeter NNP B-PER\\n"
    >>> read_conll(io.StringIO(text), columns=("word", "pos", "ner"))
    [{'word': ['EU', 'rejects'], 'pos': ['NNP', 'VBZ'], 'ner': ['B-ORG', 'O']},
     {'word': ['Peter'], 'pos': ['NNP'], 'ner': ['B-PER']}]
    >>> read_conll(io.StringIO(text))[1]
    {'0': ['Peter'], '1': ['NNP'], '2': ['B-PER']}
    """
    return list(iter_conll(path, columns=columns, sep=sep, encoding=encoding))


# --------------------------------------------------------------------------------------------
# CoNLL-U
# --------------------------------------------------------------------------------------------


def iter_conllu(
    path: PathOrFile,
    fields: Optional[Sequence[str]] = None,
    encoding: str = "utf-8",
) -> Iterator[Sentence]:
    """Stream the sentences of a CoNLL-U file, one at a time.

    The lazy form of :func:`read_conllu`: same arguments, same sentences. A missing file
    or an unknown field raises at call time, format errors while iterating.

    Parameters
    ----------
    path : str, os.PathLike or open text file
        The file to read. A missing path raises :class:`FileNotFoundError` naming it.
    fields : sequence of str, optional
        Which columns to keep, in this order; any of :data:`CONLLU_FIELDS`. Default: all
        ten.
    encoding : str, default "utf-8"
        Text encoding used when ``path`` is a path (a BOM is ignored).

    Returns
    -------
    iterator of dict
        One ``{field: [value_per_word, ...]}`` dict per sentence.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (:class:`IsADirectoryError` if it is a directory).
    TypeError
        If ``path`` is neither a path nor an open file, or ``fields`` is a str or holds a
        non-str; while iterating, if the file is opened in binary mode.
    ValueError
        If ``fields`` is empty, has duplicates or names an unknown field; while iterating,
        if a line does not have 10 tab-separated fields.

    See Also
    --------
    read_conllu : The same, as a list.

    Examples
    --------
    >>> import io
    >>> from fastseq.io import iter_conllu
    >>> text = ("1\\tThe\\tthe\\tDET\\tDT\\t_\\t2\\tdet\\t_\\t_\\n"
    ...         "2\\tdog\\tdog\\tNOUN\\tNN\\t_\\t0\\troot\\t_\\t_\\n")
    >>> next(iter_conllu(io.StringIO(text), fields=("form", "upos")))
    {'form': ['The', 'dog'], 'upos': ['DET', 'NOUN']}
    """
    names = _normalize_names(fields, "fields")
    if names is None:
        names = CONLLU_FIELDS
    unknown = [n for n in names if n not in CONLLU_FIELDS]
    if unknown:
        raise ValueError(
            f"unknown CoNLL-U field(s) {unknown!r}; valid fields are {list(CONLLU_FIELDS)!r}"
        )
    _check_path(path)
    return _iter_conllu(path, names, encoding)


def _iter_conllu(source, names, encoding) -> Iterator[Sentence]:
    fname = _source_name(source)
    idx = [CONLLU_FIELDS.index(n) for n in names]
    cols: List[List[str]] = [[] for _ in idx]
    for lineno, line in enumerate(_lines(source, encoding), 1):
        if not line.strip(_ASCII_WS):
            if cols[0]:
                yield dict(zip(names, cols))
                cols = [[] for _ in idx]
            continue
        if line.startswith("#"):
            continue
        parts = line.rstrip("\r\n").split("\t")
        if len(parts) != 10:
            raise ValueError(
                f"{fname}, line {lineno}: expected 10 tab-separated CoNLL-U columns, "
                f"found {len(parts)}: {line.rstrip(chr(10) + chr(13))!r}"
            )
        tid = parts[0]
        if "-" in tid or "." in tid:
            # multiword-token range (3-4) or empty node (8.1): not a syntactic word
            continue
        for c, i in zip(cols, idx):
            c.append(parts[i])
    if cols[0]:
        yield dict(zip(names, cols))


def read_conllu(
    path: PathOrFile,
    fields: Optional[Sequence[str]] = None,
    encoding: str = "utf-8",
) -> List[Sentence]:
    """Read a CoNLL-U file (Universal Dependencies).

    Parameters
    ----------
    path : str, os.PathLike or open text file
        The file to read. A missing path raises :class:`FileNotFoundError` naming it.
    fields : sequence of str, optional
        Which columns to keep, in this order; any of :data:`CONLLU_FIELDS` (``id``, ``form``,
        ``lemma``, ``upos``, ``xpos``, ``feats``, ``head``, ``deprel``, ``deps``, ``misc``).
        Default: all ten. Unknown names raise :class:`ValueError`.
    encoding : str, default "utf-8"
        Text encoding used when ``path`` is a path (a BOM is ignored).

    Returns
    -------
    list of dict
        One dict per sentence ``{field: [value_per_word, ...]}``, values kept as strings
        (``"_"`` stays ``"_"``, ``head`` stays e.g. ``"4"``).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (:class:`IsADirectoryError` if it is a directory).
    TypeError
        If ``path`` is neither a path nor an open file, or is a file opened in binary mode;
        if ``fields`` is a str or holds a non-str.
    ValueError
        If a line does not have exactly 10 tab-separated fields (the message names the file
        and line); if ``fields`` is empty, has duplicates or names an unknown field.

    See Also
    --------
    iter_conllu : The same, one sentence at a time.

    Notes
    -----
    ``#`` comment lines are skipped, as are multiword-token lines (ids like ``3-4``) and empty
    nodes (ids like ``8.1``), so the tokens are the syntactic words. Lines must have exactly
    10 tab-separated fields (forms may contain spaces).

    Examples
    --------
    >>> import io
    >>> from fastseq.io import read_conllu
    >>> text = ("# text = The dog\\n"
    ...         "1\\tThe\\tthe\\tDET\\tDT\\t_\\t2\\tdet\\t_\\t_\\n"
    ...         "2\\tdog\\tdog\\tNOUN\\tNN\\t_\\t0\\troot\\t_\\t_\\n")
    >>> read_conllu(io.StringIO(text), fields=("form", "upos", "head"))
    [{'form': ['The', 'dog'], 'upos': ['DET', 'NOUN'], 'head': ['2', '0']}]
    """
    return list(iter_conllu(path, fields=fields, encoding=encoding))


# --------------------------------------------------------------------------------------------
# writing and conversion
# --------------------------------------------------------------------------------------------


def _sentence_rows(sent, columns, k: int) -> List[Sequence[str]]:
    """Token rows of one sentence (dict of columns, or sequence of token tuples)."""
    if isinstance(sent, dict):
        names = columns if columns is not None else tuple(sent.keys())
        missing = [n for n in names if n not in sent]
        if missing:
            raise ValueError(f"sentence {k}: no column(s) {missing!r}; it has {list(sent)!r}")
        cols = [sent[n] for n in names]
        lengths = {len(c) for c in cols}
        if len(lengths) > 1:
            detail = ", ".join(f"{n}={len(c)}" for n, c in zip(names, cols))
            raise ValueError(f"sentence {k}: columns have different lengths ({detail})")
        return list(zip(*cols))
    if columns is not None:
        raise ValueError(
            f"sentence {k}: `columns` only applies to dict sentences, got {type(sent).__name__}"
        )
    rows: List[Sequence[str]] = []
    for tok in sent:
        rows.append((tok,) if isinstance(tok, str) else tuple(tok))
    return rows


def write_conll(
    sents: Iterable[Union[Sentence, Sequence[Sequence[str]]]],
    path_or_file: PathOrFile,
    columns: Optional[Sequence[str]] = None,
    sep: str = " ",
    encoding: str = "utf-8",
) -> int:
    """Write sentences as a CoNLL column file; the inverse of :func:`read_conll`.

    Parameters
    ----------
    sents : iterable
        Sentences as returned by :func:`read_conll` (dicts of equal-length columns) or as
        token-tuple lists like ``[[("EU", "B-ORG"), ("rejects", "O")], ...]``
        (:func:`to_tagged` output).
    path_or_file : str, os.PathLike or open text file
        Destination; a path is created/overwritten (``\\n`` line endings).
    columns : sequence of str, optional
        For dict sentences: which columns to write, in order (default: all, in dict order).
    sep : str, default " "
        Field separator (default one space; use ``"\\t"`` for WNUT-style files).
    encoding : str, default "utf-8"
        Text encoding used when ``path_or_file`` is a path.

    Returns
    -------
    int
        The number of sentences written.

    Raises
    ------
    ValueError
        If a value is empty, or holds a newline or ``sep`` -- or, when ``sep`` is made of
        spaces (the default), any whitespace at all (the output would not read back
        identically); if token lines have different numbers of fields; if a dict
        sentence lacks one of ``columns`` or has columns of different lengths; if
        ``columns`` is given for token-tuple sentences; if ``sep`` is not a non-empty
        string without newlines.
    TypeError
        If a value is not a str, or ``columns`` is a str or holds a non-str.

    See Also
    --------
    read_conll : The inverse.

    Notes
    -----
    Every token becomes one line, every sentence is followed by one blank line; empty
    sentences are skipped (they could not be read back). Values must be non-empty and free
    of newlines and of ``sep`` -- and, when ``sep`` is made of spaces (the default), of any
    whitespace at all, since :func:`read_conll` with ``sep=None`` splits on it. Every token
    line must have the same number of fields. Read the file back with ``read_conll(path,
    columns, sep=None)`` for space-separated output, or ``sep=sep`` for other separators
    (e.g. tab).

    Examples
    --------
    >>> import io
    >>> from fastseq.io import read_conll, write_conll
    >>> sentences = [{"word": ["EU", "rejects"], "ner": ["B-ORG", "O"]}]
    >>> buffer = io.StringIO()
    >>> write_conll(sentences, buffer)
    1
    >>> print(buffer.getvalue())
    EU B-ORG
    rejects O
    <BLANKLINE>
    >>> read_conll(io.StringIO(buffer.getvalue()), columns=("word", "ner")) == sentences
    True
    >>> buffer = io.StringIO()
    >>> write_conll([[("EU", "B-ORG"), ("rejects", "O")]], buffer, sep="\\t")
    1
    >>> buffer.getvalue()
    'EU\\tB-ORG\\nrejects\\tO\\n\\n'
    """
    names = _normalize_names(columns, "columns")
    if not isinstance(sep, str) or sep == "" or "\n" in sep or "\r" in sep:
        raise ValueError(f"`sep` must be a non-empty string without newlines, got {sep!r}")
    # With a blank separator a whitespace-only value could make a line blank; with the
    # default " " the reader (sep=None) splits on any ASCII whitespace, so none is allowed.
    sep_is_ws = sep.strip(_ASCII_WS) == ""
    forbidden = {"\n", "\r"}
    if sep.strip(" ") == "":
        forbidden |= set(_ASCII_WS)

    def check(value, k, t):
        if not isinstance(value, str):
            raise TypeError(f"sentence {k}, token {t}: values must be str, got {value!r}")
        if value == "" or (sep_is_ws and value.strip(_ASCII_WS) == ""):
            raise ValueError(f"sentence {k}, token {t}: empty or blank value {value!r}")
        if sep in value or any(ch in value for ch in forbidden):
            raise ValueError(
                f"sentence {k}, token {t}: value {value!r} contains the separator, a newline "
                f"or (with a space separator) whitespace, and would not read back"
            )

    def emit(fh) -> int:
        n = 0
        width = None
        for k, sent in enumerate(sents):
            rows = _sentence_rows(sent, names, k)
            if not rows:
                continue
            out = []
            for t, row in enumerate(rows):
                if width is None:
                    width = len(row)
                if len(row) != width:
                    raise ValueError(
                        f"sentence {k}, token {t}: {len(row)} fields, earlier tokens had {width}"
                    )
                for v in row:
                    check(v, k, t)
                line = sep.join(row)
                if line.split(sep) != list(row):  # e.g. a multi-character sep overlapping a value
                    raise ValueError(
                        f"sentence {k}, token {t}: fields {row!r} joined by {sep!r} are ambiguous"
                    )
                out.append(line)
            fh.write("\n".join(out))
            fh.write("\n\n")
            n += 1
        return n

    if _is_file_object(path_or_file) or hasattr(path_or_file, "write"):
        return emit(path_or_file)
    with open(path_or_file, "w", encoding=encoding, newline="\n") as fh:
        return emit(fh)


def to_tagged(
    sents: Iterable[Sentence],
    word: Optional[str] = None,
    tag: Optional[str] = None,
) -> List[List[Tuple[str, str]]]:
    """Convert column sentences into ``[[(word, tag), ...], ...]`` for a tagger's ``train``.

    Parameters
    ----------
    sents : iterable of dict
        Sentences from :func:`read_conll`, :func:`read_conllu` or ``fastseq.datasets.load``.
    word : str, optional
        Column holding the tokens. Default: ``"word"`` if present, else ``"form"`` (CoNLL-U),
        else the first column.
    tag : str, optional
        Column holding the labels. Default: the last column -- except for CoNLL-U sentences
        (those with both a ``form`` and a ``misc`` column), where it must be given (e.g.
        ``"upos"`` or ``"xpos"``).

    Returns
    -------
    list of list of (str, str)
        One ``[(word, tag), ...]`` list per sentence.

    Raises
    ------
    ValueError
        If a sentence lacks the ``word`` or ``tag`` column (the message names the available
        ones), or ``tag`` is not given for CoNLL-U sentences.

    Examples
    --------
    >>> from fastseq.io import to_tagged
    >>> sentences = [{"word": ["EU", "rejects"], "pos": ["NNP", "VBZ"], "ner": ["B-ORG", "O"]}]
    >>> to_tagged(sentences)
    [[('EU', 'B-ORG'), ('rejects', 'O')]]
    >>> to_tagged(sentences, tag="pos")
    [[('EU', 'NNP'), ('rejects', 'VBZ')]]
    """
    out: List[List[Tuple[str, str]]] = []
    for k, sent in enumerate(sents):
        keys = list(sent)
        w = word
        if w is None:
            w = "word" if "word" in sent else "form" if "form" in sent else keys[0]
        t = tag
        if t is None:
            if "form" in sent and "misc" in sent:
                raise ValueError(
                    "CoNLL-U sentences need an explicit `tag`, e.g. tag='upos' or tag='xpos'"
                )
            t = keys[-1]
        if w not in sent or t not in sent:
            raise ValueError(
                f"sentence {k}: no column {(w if w not in sent else t)!r}; columns are {keys!r}"
            )
        out.append(list(zip(sent[w], sent[t])))
    return out
