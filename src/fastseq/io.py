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
:func:`iter_lines`                        the checked lines of any text file
:func:`write_conll`                       inverse of :func:`read_conll`
:func:`to_tagged`                         sentences -> ``[[(word, tag), ...], ...]``
========================================= ===================================================

Paths may be ``str`` or :class:`os.PathLike`; the readers also accept an open file object
(anything with ``read`` and ``readline``, in text or binary mode), which they read but do
not close.

Hostile input
-------------
The readers hold at most about :data:`MAX_LINE_LENGTH` of a line (overridable with the
``max_line_length`` keyword), so a file of any size or shape reads in bounded memory per
line. Whatever is wrong with a file -- a line too long, bytes that are not valid text, a
control character (binary files have them), a token line with the wrong number of columns
-- is a :class:`~fastseq.exceptions.DataFileError` (a :class:`ValueError`) whose message
names the file and the 1-based line and quotes at most a short, escaped excerpt of it.
"""
from __future__ import annotations

import codecs
import contextlib
import os
import re
from typing import (
    IO,
    Any,
    Dict,
    Generator,
    Iterable,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from .exceptions import DataFileError

__all__ = [
    "Sentence",
    "CONLLU_FIELDS",
    "DOCSTART",
    "MAX_LINE_LENGTH",
    "iter_lines",
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

#: The longest line the readers accept by default: 1 MiB (bytes of a file; characters of an
#: open text file), far beyond any token line of a real corpus. Pass ``max_line_length`` to
#: a reader for another limit.
#:
#: Examples
#: --------
#: >>> import io
#: >>> from fastseq.io import MAX_LINE_LENGTH, read_conll
#: >>> MAX_LINE_LENGTH
#: 1048576
#: >>> read_conll(io.StringIO("EU B-ORG\n"), max_line_length=4)
#: Traceback (most recent call last):
#:     ...
#: fastseq.exceptions.DataFileError: <stream>, line 1: line longer than the limit of 4
#: characters (max_line_length): 'EU B-ORG'
MAX_LINE_LENGTH = 1 << 20

# "Whitespace" for the CoNLL formats means ASCII blanks: tokens that contain e.g. a NO-BREAK
# SPACE (U+00A0) or U+3000 stay whole, unlike with ``str.split()``.
_ASCII_WS = " \t\n\r\f\v"
_WS_RUN = re.compile(r"[ \t\f\v]+")


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

_CHUNK = 1 << 16          # bytes (or characters) read at a time
_EXCERPT = 60             # longest quoted excerpt of a bad line in a message, escapes included
_HEAD = 4 * _EXCERPT      # what is kept of a too-long line to quote from
# C0 control characters and DEL, less the ASCII whitespace (tab, line feed, vertical tab, form
# feed, carriage return): no corpus has them, binary files do, and they garble terminals.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")
# Characters an encoding must write as their ASCII bytes for lines to be split as bytes.
_ASCII_PROBE = "\n\r\t +-#_.09AZaz"


class _TooLong(Exception):
    """Internal: the line being read exceeds the limit; ``head`` is its start."""

    def __init__(self, head) -> None:
        super().__init__()
        self.head = head


class _Undecodable(Exception):
    """Internal: the next line holds bytes that are not valid in the encoding."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _is_file_object(obj) -> bool:
    return hasattr(obj, "readline") and hasattr(obj, "read")


def _source_name(source) -> str:
    if _is_file_object(source):
        name = getattr(source, "name", None)
        if isinstance(name, bytes):
            return os.fsdecode(name)
        return str(name) if isinstance(name, (str, os.PathLike)) else "<stream>"
    path = os.fspath(source)
    return os.fsdecode(path) if isinstance(path, bytes) else path


def _check_path(source) -> None:
    """Raise FileNotFoundError / TypeError eagerly (before any generator starts)."""
    if _is_file_object(source):
        return
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            "expected a path (str or os.PathLike) or an open file, got "
            f"{type(source).__name__}"
        )
    path = os.fspath(source)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not os.path.exists(path):
        raise FileNotFoundError(2, f"No such file: {path!r}", path)
    if os.path.isdir(path):
        raise IsADirectoryError(21, f"Expected a file but found a directory: {path!r}", path)


def _check_reading(encoding, max_line_length) -> None:
    """Validate ``encoding`` and ``max_line_length`` eagerly."""
    if not isinstance(encoding, str):
        raise TypeError(f"`encoding` must be a str, got {type(encoding).__name__}")
    try:
        _ASCII_PROBE.encode(encoding)
    except (LookupError, UnicodeError):
        raise ValueError(f"unknown text encoding {encoding!r}") from None
    if isinstance(max_line_length, bool) or not isinstance(max_line_length, int):
        raise TypeError(
            f"`max_line_length` must be an int, got {type(max_line_length).__name__}"
        )
    if max_line_length < 1:
        raise ValueError(f"`max_line_length` must be >= 1, got {max_line_length}")


def _excerpt(text, encoding: str = "utf-8") -> str:
    """A short quoted excerpt of ``text`` (str, or bytes in ``encoding``, bad bytes escaped)."""
    if isinstance(text, (bytes, bytearray)):
        head = bytes(text[:_HEAD])
        try:
            text = head.decode(encoding, "surrogateescape")
        except UnicodeError:  # a codec without error handlers: show the bytes
            text = head.decode("ascii", "surrogateescape")
    out: List[str] = []
    size = 0
    for ch in text[:_EXCERPT]:
        # repr-like escaping, so that control and invisible characters show
        if "\udc80" <= ch <= "\udcff":  # an undecodable byte
            esc = f"\\x{ord(ch) - 0xDC00:02x}"
        else:
            esc = "\\'" if ch == "'" else repr(ch)[1:-1]
        if size + len(esc) > _EXCERPT:
            return "'" + "".join(out) + "'..."
        out.append(esc)
        size += len(esc)
    return "'" + "".join(out) + ("'..." if len(text) > _EXCERPT else "'")


def _ascii_compatible(encoding: str) -> bool:
    """Whether lines of ``encoding`` can be split as bytes (utf-8, latin-1, cp1252 ...)."""
    return _ASCII_PROBE.encode(encoding) == _ASCII_PROBE.encode("ascii")


def _byte_chunks(fh) -> Iterator[bytes]:
    # read1 returns what is there, so that a pipe is read as it is written
    read = getattr(fh, "read1", None) or fh.read
    while True:
        chunk = read(_CHUNK)
        if not chunk:
            return
        yield bytes(chunk)


def _why(exc: UnicodeError) -> str:
    """The reason of a decoding error, short."""
    reason = getattr(exc, "reason", None) or str(exc)
    return reason[:_EXCERPT]


def _text_chunks(fh) -> Iterator[str]:
    while True:
        try:
            chunk = fh.readline(_CHUNK)
        except UnicodeError as exc:
            raise _Undecodable(f"the text cannot be decoded at or shortly after this line "
                               f"({_why(exc)})") from None
        if not chunk:
            return
        yield chunk


def _decoded_chunks(fh, encoding: str) -> Iterator[str]:
    """Text of a binary stream in an encoding that is not ASCII-compatible (UTF-16 ...)."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    for chunk in _byte_chunks(fh):
        state = decoder.getstate()
        try:
            yield decoder.decode(chunk)
        except UnicodeError:
            # again a byte at a time from the same state, to hand on the valid text and so
            # report the line that holds the bad bytes
            decoder.setstate(state)
            for i in range(len(chunk)):
                try:
                    text = decoder.decode(chunk[i:i + 1])
                except UnicodeError as exc:
                    raise _Undecodable(f"not valid {encoding} text ({_why(exc)})") from None
                if text:
                    yield text
    try:
        tail = decoder.decode(b"", True)
    except UnicodeError as exc:
        raise _Undecodable(f"not valid {encoding} text ({_why(exc)})") from None
    if tail:
        yield tail


def _split(chunks, limit: int) -> Iterator[list]:
    """Batches of the lines of ``chunks`` (all str or all bytes), without line ends.

    Lines end at LF, CR LF or a lone CR, as with universal newlines. No more than
    ``limit`` (+ one chunk) of a line is held: a longer one raises :class:`_TooLong`, after
    the lines before it have been handed on.
    """
    empty: Any = None  # b"" or "", and the line end characters of the same type
    cr: Any = None
    lf: Any = None
    carry: list = []  # the pieces of the line being read
    carry_len = 0
    pending_cr = False  # the last chunk ended with a CR: an LF may open the next one
    for chunk in chunks:
        if empty is None:
            empty = chunk[:0]
            cr, lf = ("\r", "\n") if isinstance(chunk, str) else (b"\r", b"\n")
        if pending_cr:
            chunk = cr + chunk
            pending_cr = False
        if chunk.endswith(cr):
            chunk = chunk[:-1]
            pending_cr = True
        if cr in chunk:
            chunk = chunk.replace(cr + lf, lf).replace(cr, lf)
        lines = chunk.split(lf)
        tail = lines.pop()
        if lines:
            if carry:
                carry.append(lines[0])
                lines[0] = empty.join(carry)
                carry, carry_len = [], 0
            if max(map(len, lines)) > limit:
                k = next(i for i, line in enumerate(lines) if len(line) > limit)
                if k:
                    yield lines[:k]
                raise _TooLong(lines[k][:_HEAD])
            yield lines
        if tail:
            carry.append(tail)
            carry_len += len(tail)
            if carry_len > limit:
                head = empty
                for part in carry:  # the start of the line, without joining all of it
                    head += part[:_HEAD - len(head)]
                    if len(head) >= _HEAD:
                        break
                raise _TooLong(head)
    if carry or pending_cr:
        yield [empty.join(carry)] if carry else [empty]


def _decode_lines(batch: List[bytes], encoding: str,
                  at_start: bool) -> Tuple[List[str], Optional[str]]:
    """(the decoded lines up to the first bad one, what is wrong with that one or None);
    ``at_start``: the batch starts the file."""
    try:
        lines = b"\n".join(batch).decode(encoding).split("\n")
        if len(lines) == len(batch):
            return lines, None
    except UnicodeError:
        pass
    # a bad byte (or an encoding that decodes escapes into line ends): line by line
    lines = []
    for line in batch:
        try:
            lines.append(line.decode(encoding))
            continue
        except UnicodeDecodeError as exc:
            reason = (f"not valid {encoding} text: byte 0x{line[exc.start:exc.start + 1].hex()} "
                      f"at byte {exc.start + 1} of the line ({exc.reason}): "
                      f"{_excerpt(line, encoding)}")
        except UnicodeError as exc:  # from codecs that give no position
            reason = f"not valid {encoding} text ({_why(exc)}): {_excerpt(line, encoding)}"
        if at_start and not lines and line[:2] in (b"\xff\xfe", b"\xfe\xff"):
            reason += "; the file starts like UTF-16 (pass encoding='utf-16')"
        return lines, reason
    return lines, None


def _control_problem(lines: List[str]) -> Tuple[int, Optional[str]]:
    """(index of the first line with a control character or len(lines), the problem)."""
    text = "\n".join(lines)
    m = _CONTROL.search(text)
    if m is None:
        return len(lines), None
    k = text.count("\n", 0, m.start())
    column = m.start() - text.rfind("\n", 0, m.start())
    hint = " (is this a binary file?)" if m.group() == "\x00" else ""
    return k, (f"control character U+{ord(m.group()):04X} at column {column}{hint}: "
               f"{_excerpt(lines[k])}")


def _batches(source, encoding: str, limit: int) -> Iterator[List[str]]:
    """The lines of ``source`` (path, text or binary file), without line ends or a BOM, in
    batches (lists, to keep the per-line cost of the readers low).

    Every problem is a :class:`DataFileError` naming the file and line.
    """
    fname = _source_name(source)
    if codecs.lookup(encoding).name == "utf-8-sig":
        encoding = "utf-8"  # the BOM is dropped anyway
    with contextlib.ExitStack() as stack:
        fh = source if _is_file_object(source) else stack.enter_context(open(source, "rb"))
        probe = fh.read(0)
        as_bytes = False
        if isinstance(probe, str):
            chunks: Iterator = _text_chunks(fh)
        elif not isinstance(probe, (bytes, bytearray)):
            raise TypeError(f"expected a file object whose read() returns str or bytes, got "
                            f"{type(probe).__name__}")
        elif _ascii_compatible(encoding):
            chunks, as_bytes = _byte_chunks(fh), True
        else:
            chunks = _decoded_chunks(fh, encoding)
        done = 0  # lines handed on
        try:
            for batch in _split(chunks, limit):
                problem = None
                if as_bytes:
                    batch, problem = _decode_lines(batch, encoding, done == 0)
                if done == 0 and batch and batch[0].startswith("\ufeff"):
                    batch[0] = batch[0][1:]
                k, control = _control_problem(batch)
                if control is not None:
                    batch, problem = batch[:k], control
                if batch:
                    yield batch
                done += len(batch)
                if problem is not None:
                    raise DataFileError(fname, done + 1, problem)
        except _TooLong as exc:
            unit = "bytes" if isinstance(exc.head, bytes) else "characters"
            raise DataFileError(fname, done + 1, f"line longer than the limit of {limit:,} "
                                f"{unit} (max_line_length): {_excerpt(exc.head, encoding)}"
                                ) from None
        except _Undecodable as exc:
            raise DataFileError(fname, done + 1, exc.reason) from None
        except OSError as exc:  # a read error: say of which file
            if exc.filename is not None or exc.errno is None:
                raise
            raise OSError(exc.errno, exc.strerror, fname) from exc


def _lines(source, encoding: str, limit: int) -> Generator[str, None, None]:
    for batch in _batches(source, encoding, limit):
        yield from batch


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
# lines
# --------------------------------------------------------------------------------------------


def iter_lines(
    path: PathOrFile,
    encoding: str = "utf-8",
    *,
    max_line_length: int = MAX_LINE_LENGTH,
) -> Generator[str, None, None]:
    """Stream the lines of a text file, checked as every reader here checks them.

    The line reader behind :func:`iter_conll` and :func:`iter_conllu`, for formats of your
    own (``fastseq tag`` reads its input with it): lines end at ``\\n``, ``\\r\\n`` or a
    lone ``\\r``; a BOM at the start is dropped; no more than about ``max_line_length`` of a
    line is ever held in memory.

    Parameters
    ----------
    path : str, os.PathLike or open file
        The file to read; an open file may be in text or binary mode (binary is decoded
        with ``encoding``) and is read but not closed. A missing path raises
        :class:`FileNotFoundError` naming it, at call time.
    encoding : str, default "utf-8"
        Text encoding of a path or binary file.
    max_line_length : int, default MAX_LINE_LENGTH
        The longest line accepted, line end excluded: bytes for a path or binary file,
        characters for a text file.

    Returns
    -------
    generator of str
        The lines, without their line ends; its ``close()`` closes the file it opened.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (:class:`IsADirectoryError` if it is a directory); any
        other :class:`OSError` of opening or reading the file while iterating.
    TypeError
        If ``path`` is neither a path nor an open file, ``encoding`` is not a str or
        ``max_line_length`` not an int.
    ValueError
        If ``encoding`` is unknown or ``max_line_length`` < 1.
    fastseq.exceptions.DataFileError
        While iterating (a :class:`ValueError`): for a line longer than ``max_line_length``,
        bytes that are not valid in ``encoding``, or a control character other than the
        ASCII whitespace (tab, vertical tab, form feed). The message names the file and
        the line and quotes a short, escaped excerpt of it.

    See Also
    --------
    iter_conll, iter_conllu : The sentences of CoNLL and CoNLL-U files.

    Examples
    --------
    >>> import io
    >>> from fastseq.io import iter_lines
    >>> list(iter_lines(io.BytesIO(b"EU rejects\\r\\nGerman call\\rto boycott\\n")))
    ['EU rejects', 'German call', 'to boycott']
    >>> next(iter_lines(io.StringIO("a\\x00b\\n")))
    Traceback (most recent call last):
        ...
    fastseq.exceptions.DataFileError: <stream>, line 1: control character U+0000 at column 2
    (is this a binary file?): 'a\\x00b'
    """
    _check_reading(encoding, max_line_length)
    _check_path(path)
    return _lines(path, encoding, max_line_length)


# --------------------------------------------------------------------------------------------
# CoNLL column files
# --------------------------------------------------------------------------------------------


def iter_conll(
    path: PathOrFile,
    columns: Optional[Sequence[str]] = None,
    sep: Optional[str] = None,
    encoding: str = "utf-8",
    *,
    max_line_length: int = MAX_LINE_LENGTH,
) -> Iterator[Sentence]:
    """Stream the sentences of a CoNLL column file, one at a time.

    The lazy form of :func:`read_conll`, for files too large to hold in memory: same
    arguments, same sentences. A missing file raises :class:`FileNotFoundError` at call
    time, format errors while iterating.

    Parameters
    ----------
    path : str, os.PathLike or open file
        The file to read (an open file in text or binary mode). A missing path raises
        :class:`FileNotFoundError` naming it.
    columns : sequence of str, optional
        Names of the columns; see :func:`read_conll`.
    sep : str, optional
        Field separator; ``None`` (default) splits on runs of ASCII whitespace.
    encoding : str, default "utf-8"
        Text encoding of a path or binary file (a BOM is ignored).
    max_line_length : int, default MAX_LINE_LENGTH
        The longest line accepted; see :func:`iter_lines`.

    Returns
    -------
    iterator of dict
        One ``{column_name: [value_per_token, ...]}`` dict per sentence.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (:class:`IsADirectoryError` if it is a directory);
        other :class:`OSError` of reading the file while iterating.
    TypeError
        If ``path`` is neither a path nor an open file, ``columns`` is a str or holds a
        non-str, ``sep`` or ``encoding`` is not a str, or ``max_line_length`` not an int.
    ValueError
        If ``columns`` is empty or has duplicates, ``sep`` is empty or holds a newline,
        ``encoding`` is unknown or ``max_line_length`` < 1.
    fastseq.exceptions.DataFileError
        While iterating (a :class:`ValueError`): if a token line has the wrong number of
        fields, or a line is too long, not valid text or holds a control character (see
        :func:`iter_lines`). The message names the file and line.

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
    _check_reading(encoding, max_line_length)
    _check_path(path)
    return _iter_conll(path, names, sep, encoding, max_line_length)


def _iter_conll(source, names, sep, encoding, limit) -> Iterator[Sentence]:
    fname = _source_name(source)
    ncols = len(names) if names is not None else None
    rows: List[List[str]] = []
    start = 1  # number of the batch's first line
    for batch in _batches(source, encoding, limit):
        for lineno, line in enumerate(batch, start):
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
                fields = line.split(sep)
            if fields[0] == DOCSTART:
                # CoNLL-2003 style (followed by a blank line) and CoNLL-2002 Dutch style (not
                # followed by one): drop the line; it neither ends nor starts a sentence.
                continue
            if ncols is None:
                ncols = len(fields)
                names = tuple(str(i) for i in range(ncols))
            if len(fields) != ncols:
                how = "whitespace" if sep is None else repr(sep)
                raise DataFileError(fname, lineno, f"expected {ncols} columns separated by "
                                                   f"{how}, found {len(fields)}: {_excerpt(line)}")
            rows.append(fields)
        start += len(batch)
    if rows:  # no trailing blank line
        yield _make_sentence(names, rows)


def read_conll(
    path: PathOrFile,
    columns: Optional[Sequence[str]] = None,
    sep: Optional[str] = None,
    encoding: str = "utf-8",
    *,
    max_line_length: int = MAX_LINE_LENGTH,
) -> List[Sentence]:
    """Read a CoNLL column file (one token per line, blank line between sentences).

    Parameters
    ----------
    path : str, os.PathLike or open file
        The file to read (an open file in text or binary mode; it is not closed). A
        missing path raises :class:`FileNotFoundError` naming it.
    columns : sequence of str, optional
        Names of the columns, e.g. ``("word", "pos", "chunk", "ner")``. Every token line must
        have exactly ``len(columns)`` fields. When omitted the columns are named ``"0"``,
        ``"1"``, ... and their number is taken from the first token line.
    sep : str, optional
        Field separator. ``None`` (default) splits on runs of ASCII whitespace (spaces and
        tabs); otherwise the line (without its line ending) is split on exactly ``sep``, e.g.
        ``"\\t"`` for WNUT-17, so fields may then contain spaces.
    encoding : str, default "utf-8"
        Text encoding of a path or binary file (a BOM is ignored).
    max_line_length : int, default MAX_LINE_LENGTH
        The longest line accepted (1 MiB by default): bytes for a path or binary file,
        characters for a text file. A longer line is an error, found without reading it
        whole.

    Returns
    -------
    list of dict
        One dict per sentence: ``{column_name: [value_per_token, ...]}``; see the module
        docstring. Use :func:`to_tagged` to get ``[(word, tag), ...]`` lists.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (:class:`IsADirectoryError` if it is a directory);
        other :class:`OSError` of reading the file.
    TypeError
        If ``path`` is neither a path nor an open file; if ``columns`` is a str or holds a
        non-str; if ``sep`` or ``encoding`` is not a str, or ``max_line_length`` not an int.
    ValueError
        If ``columns`` is empty or has duplicates; if ``sep`` is empty or holds a newline;
        if ``encoding`` is unknown or ``max_line_length`` < 1.
    fastseq.exceptions.DataFileError
        A :class:`ValueError`: if a token line has the wrong number of fields, or a line
        is longer than ``max_line_length``, not valid ``encoding`` text or holds a control
        character other than tab, vertical tab or form feed. The message names the file
        and the 1-based line number and quotes a short excerpt of the line.

    See Also
    --------
    iter_conll : The same, one sentence at a time.
    write_conll : The inverse.

    Notes
    -----
    * A blank or whitespace-only line ends a sentence; runs of blank lines, leading blank
      lines and a missing final blank line are all fine (no empty sentences are produced).
    * Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r``.
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
    return list(iter_conll(path, columns=columns, sep=sep, encoding=encoding,
                           max_line_length=max_line_length))


# --------------------------------------------------------------------------------------------
# CoNLL-U
# --------------------------------------------------------------------------------------------


def iter_conllu(
    path: PathOrFile,
    fields: Optional[Sequence[str]] = None,
    encoding: str = "utf-8",
    *,
    max_line_length: int = MAX_LINE_LENGTH,
) -> Iterator[Sentence]:
    """Stream the sentences of a CoNLL-U file, one at a time.

    The lazy form of :func:`read_conllu`: same arguments, same sentences. A missing file
    or an unknown field raises at call time, format errors while iterating.

    Parameters
    ----------
    path : str, os.PathLike or open file
        The file to read (an open file in text or binary mode). A missing path raises
        :class:`FileNotFoundError` naming it.
    fields : sequence of str, optional
        Which columns to keep, in this order; any of :data:`CONLLU_FIELDS`. Default: all
        ten.
    encoding : str, default "utf-8"
        Text encoding of a path or binary file (a BOM is ignored).
    max_line_length : int, default MAX_LINE_LENGTH
        The longest line accepted; see :func:`iter_lines`.

    Returns
    -------
    iterator of dict
        One ``{field: [value_per_word, ...]}`` dict per sentence.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (:class:`IsADirectoryError` if it is a directory);
        other :class:`OSError` of reading the file while iterating.
    TypeError
        If ``path`` is neither a path nor an open file, ``fields`` is a str or holds a
        non-str, ``encoding`` is not a str or ``max_line_length`` not an int.
    ValueError
        If ``fields`` is empty, has duplicates or names an unknown field, ``encoding`` is
        unknown or ``max_line_length`` < 1.
    fastseq.exceptions.DataFileError
        While iterating (a :class:`ValueError`): if a line does not have 10 tab-separated
        fields, or is too long, not valid text or holds a control character (see
        :func:`iter_lines`).

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
    _check_reading(encoding, max_line_length)
    _check_path(path)
    return _iter_conllu(path, names, encoding, max_line_length)


def _iter_conllu(source, names, encoding, limit) -> Iterator[Sentence]:
    fname = _source_name(source)
    idx = [CONLLU_FIELDS.index(n) for n in names]
    cols: List[List[str]] = [[] for _ in idx]
    start = 1  # number of the batch's first line
    for batch in _batches(source, encoding, limit):
        for lineno, line in enumerate(batch, start):
            if not line.strip(_ASCII_WS):
                if cols[0]:
                    yield dict(zip(names, cols))
                    cols = [[] for _ in idx]
                continue
            if line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != 10:
                raise DataFileError(fname, lineno, f"expected 10 tab-separated CoNLL-U "
                                                   f"columns, found {len(parts)}: "
                                                   f"{_excerpt(line)}")
            tid = parts[0]
            if "-" in tid or "." in tid:
                # multiword-token range (3-4) or empty node (8.1): not a syntactic word
                continue
            for c, i in zip(cols, idx):
                c.append(parts[i])
        start += len(batch)
    if cols[0]:
        yield dict(zip(names, cols))


def read_conllu(
    path: PathOrFile,
    fields: Optional[Sequence[str]] = None,
    encoding: str = "utf-8",
    *,
    max_line_length: int = MAX_LINE_LENGTH,
) -> List[Sentence]:
    """Read a CoNLL-U file (Universal Dependencies).

    Parameters
    ----------
    path : str, os.PathLike or open file
        The file to read (an open file in text or binary mode; it is not closed). A
        missing path raises :class:`FileNotFoundError` naming it.
    fields : sequence of str, optional
        Which columns to keep, in this order; any of :data:`CONLLU_FIELDS` (``id``, ``form``,
        ``lemma``, ``upos``, ``xpos``, ``feats``, ``head``, ``deprel``, ``deps``, ``misc``).
        Default: all ten. Unknown names raise :class:`ValueError`.
    encoding : str, default "utf-8"
        Text encoding of a path or binary file (a BOM is ignored).
    max_line_length : int, default MAX_LINE_LENGTH
        The longest line accepted (1 MiB by default); see :func:`read_conll`.

    Returns
    -------
    list of dict
        One dict per sentence ``{field: [value_per_word, ...]}``, values kept as strings
        (``"_"`` stays ``"_"``, ``head`` stays e.g. ``"4"``).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (:class:`IsADirectoryError` if it is a directory);
        other :class:`OSError` of reading the file.
    TypeError
        If ``path`` is neither a path nor an open file; if ``fields`` is a str or holds a
        non-str; if ``encoding`` is not a str or ``max_line_length`` not an int.
    ValueError
        If ``fields`` is empty, has duplicates or names an unknown field; if ``encoding``
        is unknown or ``max_line_length`` < 1.
    fastseq.exceptions.DataFileError
        A :class:`ValueError`: if a line does not have exactly 10 tab-separated fields, or
        is too long, not valid text or holds a control character (see :func:`read_conll`).
        The message names the file and line and quotes a short excerpt of the line.

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
    return list(iter_conllu(path, fields=fields, encoding=encoding,
                            max_line_length=max_line_length))


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
        If a sentence has no columns or lacks the ``word`` or ``tag`` column (the message
        names the available ones), or ``tag`` is not given for CoNLL-U sentences.

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
        if not keys:
            raise ValueError(f"sentence {k}: no columns")
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
