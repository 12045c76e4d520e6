"""The one reader of tagged input for ``train`` and ``eval``, and the file helpers of ``tag``.

Formats: ``conllu`` (CoNLL-U; fields named as in :data:`fastseq.io.CONLLU_FIELDS`) and
``conll`` (one token a line, columns separated by whitespace or ``--sep``). CoNLL columns are
named by ``--columns``, else by the names recorded in the model being evaluated, else by
their number: ``word,tag``, ``word,pos,tag``, ``word,pos,chunk,tag``, then ``word, col1,
..., tag`` (see :func:`default_column_names`); a field may also be given as a 0-based column
number. Files named ``*.conllu`` are CoNLL-U; other files are sniffed (ten tab-separated
columns = CoNLL-U) unless ``--format`` says otherwise.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
from typing import IO, Any, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

from .._progress import progress_bar
from ..exceptions import ModelFileError
from ..io import CONLLU_FIELDS, iter_conll, iter_conllu
from ..taggers import CRFTagger, HMMTagger, load_tagger
from .errors import CLIError

__all__ = ["default_column_names", "open_text", "sniff_format", "resolve_field",
           "TaggedData", "read_tagged", "load_model"]


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


def open_text(path: str) -> IO[str]:
    """A text stream for ``path`` (``"-"``: stdin)."""
    if path == "-":
        return sys.stdin
    if not os.path.exists(path):
        raise CLIError(f"no such file: {path}")
    if os.path.isdir(path):
        raise CLIError(f"{path} is a directory, not a file")
    return open(path, "r", encoding="utf-8")


def sniff_format(path: str, stream: Optional[IO[str]] = None) -> str:
    """``conllu`` for ``*.conllu``, or when the first token line has ten tab-separated
    columns with a numeric id; else ``conll``."""
    if path != "-" and path.lower().endswith(".conllu"):
        return "conllu"
    lines = stream if stream is not None else open_text(path)
    try:
        for line in lines:
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            parts = line.rstrip("\r\n").split("\t")
            first = parts[0].replace("-", "").replace(".", "")
            return "conllu" if len(parts) == 10 and first.isdigit() else "conll"
        return "conll"
    finally:
        if stream is None and lines is not sys.stdin:
            lines.close()


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


def _source(path: str) -> Tuple[Union[str, io.StringIO], str]:
    """(readable source for the io readers, display name); stdin is read into memory."""
    if path == "-":
        return io.StringIO(sys.stdin.read()), "<stdin>"
    open_text(path).close()  # existence checks with a clean message
    return path, path


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
    source, name = _source(path)
    fmt = getattr(args, "format", None) or (
        sniff_format(path, io.StringIO(source.getvalue())) if isinstance(source, io.StringIO)
        else sniff_format(path))
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
                    raise CLIError(f"{f!r} is not a CoNLL-U field; valid: "
                                   f"{', '.join(CONLLU_FIELDS)}")
            names = list(CONLLU_FIELDS)
            fields = tuple(dict.fromkeys(inputs + [word, tag]))
            raw = list(progress_bar(iter_conllu(source, fields=fields), show, desc=desc))
            info: Dict[str, Any] = {"format": "conllu"}
        else:
            columns = getattr(args, "columns", None) or (meta.get("columns") if same else None)
            sep = getattr(args, "sep", None)
            if sep is None and same:
                sep = meta.get("sep")
            raw = list(progress_bar(iter_conll(source, columns=columns, sep=sep), show,
                                    desc=desc))
            if not raw:
                raise CLIError(f"{name}: no sentences found")
            names = list(raw[0])
            if columns is None:
                names = default_column_names(len(names))
                raw = [dict(zip(names, s.values())) for s in raw]
            word = resolve_field(word_opt, names, 0, "--word-field")
            tag = resolve_field(tag_opt, names, -1, "--tag-field")
            if len(names) < 2 and word == tag:
                raise CLIError(f"{name}: only one column: where are the tags? (a conll file "
                               "needs a word column and a tag column)")
            missing = [f for f in inputs if f not in names]
            if missing:
                raise CLIError(f"{name}: no column(s) {missing}; the columns are "
                               f"{', '.join(names)} (name them with --columns)")
            info = {"format": "conll", "columns": names, "sep": sep}
    except (ValueError, UnicodeDecodeError) as exc:
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


def load_model(path: str, threads: Optional[int]) -> Union[HMMTagger, CRFTagger]:
    """The tagger in the model file ``path``; a clean CLIError when it cannot be read."""
    try:
        return load_tagger(path, n_threads=threads)
    except FileNotFoundError:
        raise CLIError(f"no such model file: {path}") from None
    except ModelFileError as exc:
        raise CLIError(str(exc)) from None
