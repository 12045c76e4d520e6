"""The one reader of tagged input for ``train`` and ``eval``, and the file helpers of ``tag``.

Formats: ``conllu`` (CoNLL-U; fields named as in :data:`fastseq.io.CONLLU_FIELDS`) and
``conll`` (one token a line, columns separated by whitespace or ``--sep``). CoNLL columns are
named by ``--columns``, else by the names recorded in the model being evaluated, else by
their number: ``word,tag``, ``word,pos,tag``, ``word,pos,chunk,tag``, then ``word, col1,
..., tag`` (see :func:`default_column_names`); when ``--columns`` names only the first
columns, the others are named ``col<i>`` (their 0-based number), the last ``tag`` if no
given name is; a field may also be given as a 0-based column number. Files named
``*.conllu`` are CoNLL-U; other files are sniffed (ten tab-separated columns = CoNLL-U)
unless ``--format`` says otherwise.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from typing import (
    IO,
    Any,
    Dict,
    Generator,
    Iterable,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from .._progress import progress_bar
from ..exceptions import DataFileError, ModelFileError
from ..io import CONLLU_FIELDS, MAX_LINE_LENGTH, iter_conll, iter_conllu, iter_lines
from ..taggers import CRFTagger, HMMTagger, load_tagger
from .errors import CLIError

__all__ = ["default_column_names", "open_text", "input_lines", "sniff_format", "resolve_field",
           "MAX_SENTENCE_TOKENS", "sentence_too_long", "TaggedData", "read_tagged",
           "load_model"]


def default_column_names(n: int) -> List[str]:
    """Names of ``n`` CoNLL columns when none are given: the words first, the tags last."""
    if n <= 1:
        return ["word"][:n]
    if n == 2:
        return ["word", "tag"]
    if n == 3:
        return ["word", "pos", "tag"]
    if n == 4:
        return ["word", "pos", "chunk", "tag"]
    return ["word"] + [f"col{i}" for i in range(1, n - 1)] + ["tag"]


def _name_columns(given: Optional[Sequence[str]], n: int, name: str, source: str) -> List[str]:
    """Names of the ``n`` columns of file ``name``: those ``given`` (by ``source``:
    ``--columns`` or the model) for the first ones, then ``col<i>`` (``i`` the 0-based
    column number) for the others, the last one ``tag`` unless a given name is ``tag``;
    :func:`default_column_names` when none is given. A model's names must cover the file."""
    if given is None:
        return default_column_names(n)
    given = list(given)
    dup = sorted({c for c in given if given.count(c) > 1})
    if dup:
        raise CLIError(f"{source} names the column(s) {', '.join(dup)} more than once")
    if len(given) > n or (len(given) < n and source == "the model"):
        # a model's columns name a whole file: a narrower or wider one is other data
        hint = ": name them with --columns" if source == "the model" else ""
        raise CLIError(f"{name}: {source} names {len(given)} columns "
                       f"({', '.join(given)}), the file has {n}{hint}")
    rest = [f"col{i}" for i in range(len(given), n)]
    if rest and "tag" not in given:
        rest[-1] = "tag"
    clash = sorted(set(rest) & set(given))
    if clash:
        raise CLIError(f"{name}: {source} names {len(given)} of the {n} columns, and the "
                       f"name(s) {', '.join(clash)} it gives are those of the unnamed ones: "
                       "name every column")
    return given + rest


def _check_file(path: str) -> None:
    """A clean CLIError for an input path that cannot be a readable file."""
    if not os.path.exists(path):
        raise CLIError(f"no such file: {path}")
    if os.path.isdir(path):
        raise CLIError(f"{path} is a directory, not a file")


def _stdin():
    """Standard input, as bytes where it can be (decoded as UTF-8 like every input file)."""
    if sys.stdin is None:
        raise CLIError("standard input is closed")
    return getattr(sys.stdin, "buffer", None) or sys.stdin


def open_text(path: str) -> IO[str]:
    """A text stream for ``path`` (``"-"``: stdin)."""
    if path == "-":
        if sys.stdin is None:
            raise CLIError("standard input is closed")
        return sys.stdin
    _check_file(path)
    return open(path, "r", encoding="utf-8")


def input_lines(path: str) -> Generator[str, None, None]:
    """The lines of the input ``path`` (``"-"``: stdin) without line ends, read as UTF-8 by
    :func:`fastseq.io.iter_lines`: each is checked and at most about
    :data:`fastseq.io.MAX_LINE_LENGTH` long, any problem a
    :class:`~fastseq.exceptions.DataFileError` naming the file and line."""
    if path == "-":
        return iter_lines(_stdin())
    _check_file(path)
    return iter_lines(path)


def _sniff(lines: Iterable[str]) -> Optional[str]:
    """The format the first token line of ``lines`` says, or None when there is none."""
    for line in lines:
        text = line.strip().lstrip("\ufeff")
        if not text or text.startswith("#"):
            continue
        parts = line.rstrip("\r\n").split("\t")
        first = parts[0].replace("-", "").replace(".", "")
        return "conllu" if len(parts) == 10 and first.isdigit() else "conll"
    return None


def sniff_format(path: str, stream: Optional[IO] = None) -> str:
    """``conllu`` for ``*.conllu``, or when the first token line has ten tab-separated
    columns with a numeric id; else ``conll``. ``stream``: read it instead of ``path``."""
    if path != "-" and path.lower().endswith(".conllu"):
        return "conllu"
    if stream is None:
        _check_file(path)
    with contextlib.closing(iter_lines(stream if stream is not None else path)) as lines:
        return _sniff(lines) or "conll"


class _Replay(io.RawIOBase):
    """A binary stream that gives ``head`` and then the rest of ``rest``: a stream that can
    be read only once (stdin, a pipe) with the lines read to sniff its format put back."""

    def __init__(self, head: bytes, rest, name: str) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._rest = rest
        self.name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        read = getattr(self._rest, "read1", None) or self._rest.read
        data = read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:  # ``rest`` stays open
        self._head = memoryview(b"")
        super().close()


def _sniff_stream(stream, name: str) -> Tuple[str, IO]:
    """(the format of binary ``stream``, a stream that reads it from the start); no more
    than its first token line, and no more than about the line limit, is read ahead."""
    head: List[bytes] = []
    size = 0
    while size <= MAX_LINE_LENGTH:
        line = stream.readline(MAX_LINE_LENGTH + 2)
        head.append(line)
        size += len(line)
        if not line or (line.strip() and not line.startswith((b"#", b"\xef\xbb\xbf#"))):
            break
    fmt = _sniff(line.decode("utf-8", "replace") for line in head) or "conll"
    return fmt, io.BufferedReader(_Replay(b"".join(head), stream, name))


def resolve_field(name: Optional[str], names: Sequence[str], default_index: int,
                  what: str) -> str:
    """The column ``name`` (a name or a 0-based number) among ``names``."""
    if name is None:
        return names[default_index]
    if name in names:
        return name
    try:
        i = int(name)
    except ValueError:
        i = None
    if i is not None and -len(names) <= i < len(names):
        return names[i]
    raise CLIError(f"no column {name!r} for {what}; the columns are "
                   f"{', '.join(names)} (or 0-based numbers)")


#: The most tokens ``fastseq`` takes in one sentence. Real sentences have at most some
#: hundreds; a file with no blank lines between its sentences reads as one giant one, which
#: would cost the taggers gigabytes.
MAX_SENTENCE_TOKENS = 100_000


def sentence_too_long(n_tokens: int) -> str:
    """The message for a sentence of more than :data:`MAX_SENTENCE_TOKENS` tokens."""
    return (f"a sentence of more than {MAX_SENTENCE_TOKENS:,} tokens ({n_tokens:,}): are the "
            "blank lines between sentences missing?")


def _bounded(sents: Iterable[Dict[str, List[str]]], name: str) -> List[Dict[str, List[str]]]:
    out = []
    for k, sent in enumerate(sents, 1):
        n = len(next(iter(sent.values())))
        if n > MAX_SENTENCE_TOKENS:
            raise DataFileError(name, None, f"sentence {k:,}: {sentence_too_long(n)}")
        out.append(sent)
    return out


class TaggedData(NamedTuple):
    """Tagged sentences as read: the needed columns of every sentence."""

    sents: List[Dict[str, List[str]]]
    word: str            # the column of the words
    tag: str             # the column of the tags
    inputs: List[str]    # the columns a model reads (the words alone for one column)
    info: dict           # how the file was read, for a model's metadata

    def pairs(self) -> List[List[Tuple[str, str]]]:
        """``[[(word, tag), ...], ...]``."""
        return [list(zip(s[self.word], s[self.tag])) for s in self.sents]

    def columns(self) -> List[Dict[str, List[str]]]:
        """Dicts of the input columns with the tag column last."""
        return [{**{c: s[c] for c in self.inputs}, self.tag: s[self.tag]} for s in self.sents]


def _source(path: str, fmt: Optional[str],
            stack: contextlib.ExitStack) -> Tuple[Union[str, IO], str, str]:
    """(readable source for the io readers, display name, format): ``fmt``, else sniffed;
    what it opens goes on ``stack``."""
    if path != "-":
        _check_file(path)
        if fmt is not None or os.path.isfile(path) or path.lower().endswith(".conllu"):
            return path, path, fmt or sniff_format(path)
        # a pipe or device (``--test <(zcat test.txt.gz)``) can be read only once
        fmt, replay = _sniff_stream(stack.enter_context(open(path, "rb")), path)
        return replay, path, fmt
    stdin = _stdin()
    if fmt is not None:
        return stdin, "<stdin>", fmt
    if isinstance(stdin.read(0), str):  # a text stream standing in for stdin
        text = io.StringIO(stdin.read())
        return text, "<stdin>", sniff_format(path, io.StringIO(text.getvalue()))
    fmt, replay = _sniff_stream(stdin, "<stdin>")
    return replay, "<stdin>", fmt


def read_tagged(path: str, args: argparse.Namespace, *, model_meta: Optional[dict] = None,
                input_fields: Optional[Sequence[str]] = None,
                every_column_an_input: bool = False) -> TaggedData:
    """Read a tagged CoNLL-U or CoNLL file as the options (``--format``, ``--word-field``,
    ``--tag-field``, ``--columns``, ``--sep``) and, for what they leave open, the metadata
    of the model it is for say.

    ``input_fields``: the columns a model reads (default: the model's recorded ones, else
    every CoNLL column but the tags when ``every_column_an_input``, else the words alone).
    """
    meta = model_meta or {}
    with contextlib.ExitStack() as stack:
        source, name, fmt = _source(path, getattr(args, "format", None), stack)
        return _read_tagged(source, name, fmt, args, meta, input_fields, every_column_an_input)


def _read_tagged(source: Union[str, IO], name: str, fmt: str, args: argparse.Namespace,
                 meta: dict, input_fields: Optional[Sequence[str]],
                 every_column_an_input: bool) -> TaggedData:
    same = meta.get("format") == fmt  # the model's recorded fields apply to this format
    word_opt = getattr(args, "word_field", None) or (meta.get("word_field") if same else None)
    tag_opt = getattr(args, "tag_field", None) or (meta.get("tag_field") if same else None)
    inputs = list(input_fields or meta.get("input_fields") or [])
    desc = f"reading {os.path.basename(name)}"
    show = getattr(args, "progress", None)  # train crf has no --progress
    try:
        if fmt == "conllu":
            for opt in ("columns", "sep"):
                if getattr(args, opt, None) is not None:
                    raise CLIError(f"--{opt} applies to --format conll, not conllu")
            word = word_opt or (inputs[0] if inputs else "form")
            tag = tag_opt or "upos"
            for f in [word, tag] + inputs:
                if f not in CONLLU_FIELDS:
                    hint = (" (the model was trained on CoNLL input: try --format conll)"
                            if meta.get("format") == "conll" else "")
                    raise CLIError(f"{name}: {f!r} is not a CoNLL-U field; valid: "
                                   f"{', '.join(CONLLU_FIELDS)}{hint}")
            names = list(CONLLU_FIELDS)
            fields = tuple(dict.fromkeys(inputs + [word, tag]))
            raw = _bounded(progress_bar(iter_conllu(source, fields=fields), show, desc=desc),
                           name)
            info: Dict[str, Any] = {"format": "conllu"}
        else:
            columns = getattr(args, "columns", None) or (meta.get("columns") if same else None)
            sep = getattr(args, "sep", None)
            if sep is None and same:
                sep = meta.get("sep")
            # read unnamed, then name: --columns may name only the first columns
            raw = _bounded(progress_bar(iter_conll(source, sep=sep), show, desc=desc), name)
            if not raw:
                raise CLIError(f"{name}: no sentences found")
            names = _name_columns(columns, len(raw[0]), name,
                                  "--columns" if getattr(args, "columns", None) else "the model")
            raw = [dict(zip(names, s.values())) for s in raw]
            try:
                word = resolve_field(word_opt, names, 0, "--word-field")
                tag = resolve_field(tag_opt, names, -1, "--tag-field")
            except CLIError as exc:
                raise CLIError(f"{name}: {exc}") from None
            if len(names) < 2 and word == tag:
                raise CLIError(f"{name}: only one column: where are the tags? (a conll file "
                               "needs a word column and a tag column)")
            missing = [f for f in inputs if f not in names]
            if missing:
                raise CLIError(f"{name}: no column(s) {missing}; the columns are "
                               f"{', '.join(names)} (name them with --columns)")
            info = {"format": "conll", "columns": names, "sep": sep}
    except DataFileError:
        raise  # it names the file and line
    except ValueError as exc:
        raise CLIError(f"{name}: {exc}") from None
    if not any(s[word] for s in raw):
        raise CLIError(f"{name}: no tokens found")
    if not inputs:
        inputs = ([n for n in names if n != tag] if every_column_an_input and fmt == "conll"
                  else [word])
    if tag in inputs:
        raise CLIError(f"the tag column {tag!r} cannot also be an input column")
    info.update(word_field=word, tag_field=tag, input_fields=inputs)
    return TaggedData(raw, word, tag, inputs, info)


def _check_metadata(meta: Any, path: str) -> None:
    """CLIError unless the metadata fields that say how to read input have the types
    ``fastseq train`` writes (a model saved from Python may carry anything there)."""
    if not isinstance(meta, dict):
        raise CLIError(f"{path}: the model's metadata is not a mapping")

    def names(v: Any) -> bool:
        return isinstance(v, list) and all(isinstance(x, str) and x for x in v)

    checks = {
        "format": (lambda v: v in ("conll", "conllu"), "'conll' or 'conllu'"),
        "sep": (lambda v: isinstance(v, str) and v and "\n" not in v and "\r" not in v,
                "a separator"),
        "word_field": (lambda v: isinstance(v, str), "a column name"),
        "tag_field": (lambda v: isinstance(v, str), "a column name"),
        "columns": (names, "a list of column names"),
        "input_fields": (names, "a list of column names"),
    }
    for key, (ok, what) in checks.items():
        if meta.get(key) is not None and not ok(meta[key]):
            raise CLIError(f"{path}: the model's metadata {key!r} is not {what}: "
                           f"{str(meta[key])[:60]!r}")


def load_model(path: str, threads: Optional[int]) -> Union[HMMTagger, CRFTagger]:
    """The tagger in the model file ``path``; a clean CLIError when it cannot be read, or
    when the metadata that says how to read its input is not what ``fastseq train``
    writes."""
    try:
        tagger = load_tagger(path, n_threads=threads)
    except FileNotFoundError:
        raise CLIError(f"no such model file: {path}") from None
    except ModelFileError as exc:
        raise CLIError(str(exc)) from None
    _check_metadata(getattr(tagger, "metadata", None) or {}, path)
    return tagger
