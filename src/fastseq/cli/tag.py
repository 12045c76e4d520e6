"""``fastseq tag``: tag text or CoNLL / CoNLL-U files with a trained model.

    echo "The Fed raises rates ." | fastseq tag --model upos.zip
    fastseq tag --model upos.zip --format conllu en_ewt-ud-test.conllu > tagged.conllu
    fastseq tag --model upos.zip --format conllu corpus/ -o tagged/ --scheduler tcp://host:8786

``text`` input is whitespace-tokenised, one sentence a line, written back as
``word<TAG-SEP>tag``; ``conll`` input is written back with the predicted tag as a last
column; ``conllu`` input with the tags written into ``--tag-field``. Every other line
(comments, multiword ranges, ``-DOCSTART-``) is kept, and sentences are tagged in batches
of ``--batch-size`` by one kernel call each. A folder is tagged file by file on a Dask
cluster (``--scheduler``, else a LocalCluster started for the run) into the folder ``-o``.
"""
from __future__ import annotations

import argparse
import functools
import os
import re
import sys
import time
from typing import IO, Iterable, Iterator, List, NamedTuple, Optional, Tuple

from .._progress import progress_bar
from ..exceptions import DataFileError
from ..io import CONLLU_FIELDS
from . import options
from .errors import CLIError
from .inputs import (
    MAX_SENTENCE_TOKENS,
    default_column_names,
    input_lines,
    load_model,
    sentence_too_long,
)

__all__ = ["HELP", "DESCRIPTION", "add_arguments", "run", "tag_one_file"]

HELP = "tag text with a trained model"
DESCRIPTION = ("Tag whitespace-tokenised text (one sentence a line) or CoNLL/CoNLL-U files "
               "with a model written by `fastseq train`.")


# Blanks as fastseq.io reads CoNLL files: ASCII ones only, so that a token holding e.g. a
# NO-BREAK SPACE is one token here as it was in training.
_ASCII_WS = " \t\n\r\f\v"
_WS_RUN = re.compile(r"[ \t\f\v]+")


def _fields(line: str, fmt: str, sep: Optional[str]) -> List[str]:
    """The columns of a token line, split as :func:`fastseq.io.read_conll` (or
    :func:`~fastseq.io.read_conllu`) splits them."""
    if fmt == "conllu":
        return line.split("\t")
    if sep is not None:
        return line.split(sep)
    text = line.strip(_ASCII_WS)
    return text.split() if text.isascii() else _WS_RUN.split(text)


class _Block(NamedTuple):
    lines: List[str]          # raw lines, without line ends (text: one line)
    token_lines: List[int]    # indices into lines of the token lines
    words: List[str]
    first: int                # the input line number of lines[0]


def _text_blocks(lines: Iterable[str], name: str) -> Iterator[_Block]:
    for lineno, line in enumerate(lines, 1):
        words = line.split()
        if len(words) > MAX_SENTENCE_TOKENS:
            raise DataFileError(name, lineno, sentence_too_long(len(words)))
        yield _Block([line], [], words, lineno)


def _word(parts: List[str], word_col: int, name: str, lineno: int) -> str:
    """The word of a token line; an empty one (a line starting with the separator) is an
    error of the file, reported at its line rather than by the tagger."""
    word = parts[word_col]
    if not word:
        raise DataFileError(name, lineno, "the word of this token is empty")
    return word


def _conll_blocks(source: Iterable[str], fmt: str, word_col: int, sep: Optional[str],
                  name: str) -> Iterator[_Block]:
    """Sentence blocks of a CoNLL(-U) file, keeping every line (comments, multiword
    ranges, -DOCSTART-) so the output reproduces the input plus the tags."""
    lines: List[str] = []
    toks: List[int] = []
    words: List[str] = []
    first = 1
    for lineno, line in enumerate(source, 1):
        if not line.strip(_ASCII_WS):
            if lines:
                yield _Block(lines, toks, words, first)
            yield _Block([line], [], [], lineno)
            lines, toks, words = [], [], []
            first = lineno + 1
            continue
        if fmt == "conllu":
            if line.startswith("#"):
                lines.append(line)
                continue
            parts = line.split("\t")
            if len(parts) != 10:
                raise DataFileError(name, lineno, "expected 10 tab-separated CoNLL-U columns, "
                                                  f"found {len(parts)}")
            lines.append(line)
            if "-" in parts[0] or "." in parts[0]:
                continue
            toks.append(len(lines) - 1)
            words.append(_word(parts, word_col, name, lineno))
            if len(words) > MAX_SENTENCE_TOKENS:
                raise DataFileError(name, lineno, sentence_too_long(len(words)))
        else:
            parts = _fields(line, fmt, sep)
            lines.append(line)
            if parts[0] == "-DOCSTART-":
                continue
            if word_col >= len(parts) or -word_col > len(parts):
                raise DataFileError(name, lineno, f"no column {word_col} for the words "
                                                  f"({len(parts)} columns)")
            toks.append(len(lines) - 1)
            words.append(_word(parts, word_col, name, lineno))
            if len(words) > MAX_SENTENCE_TOKENS:
                raise DataFileError(name, lineno, sentence_too_long(len(words)))
    if lines:
        yield _Block(lines, toks, words, first)


def _block_inputs(block: _Block, fmt: str, meta: dict, sep: Optional[str], name: str):
    """What the model reads of a sentence: its words, or for a model trained on several
    input columns (a CRF tagger's ``input_fields``) a dict of those columns."""
    fields = meta.get("input_fields") or []
    if len(fields) <= 1:
        return block.words
    if fmt == "text":
        raise CLIError(f"this model reads the columns {fields}: give it CoNLL input "
                       "(--format conll or conllu)")
    rows = [_fields(block.lines[i], fmt, sep) for i in block.token_lines]
    width = len(rows[0])
    for i, row in zip(block.token_lines, rows):
        if len(row) != width:
            raise DataFileError(name, block.first + i, f"{len(row)} columns, where the "
                                f"sentence's first token line has {width}")
    if fmt == "conllu":
        names = list(CONLLU_FIELDS)
    else:  # the training columns, less the tags: tagging input has no tag column
        names = list(meta.get("columns") or default_column_names(width + 1))[:width]
    missing = [f for f in fields if f not in names]
    if missing:
        raise CLIError(f"this model reads the columns {fields}; the input has {names}")
    return {f: [r[names.index(f)] for r in rows] for f in fields}


def _render(block: _Block, tags: List[str], fmt: str, args, tag_col: Optional[int]) -> str:
    if fmt == "text":
        if not block.words:
            return "\n"
        return " ".join(f"{w}{args.tag_sep}{t}" for w, t in zip(block.words, tags)) + "\n"
    lines = list(block.lines)
    for i, tag in zip(block.token_lines, tags):
        line = lines[i]
        if fmt == "conllu":
            assert tag_col is not None  # _columns_of_fields gives one for conllu
            parts = line.split("\t")
            parts[tag_col] = tag
            lines[i] = "\t".join(parts)
        else:
            sep = args.sep if args.sep is not None else ("\t" if "\t" in line else " ")
            lines[i] = line + sep + tag
    return "".join(line + "\n" for line in lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of ``fastseq tag`` to its sub-parser."""
    p.add_argument("input", nargs="?", default="-", metavar="FILE",
                   help="input (default: stdin); a folder: every file in it is tagged into "
                        "the folder -o, one Dask task per file (needs the dask extra)")
    p.add_argument("--model", required=True, metavar="M", help="model file (fastseq train)")
    p.add_argument("-o", "--output", default="-", metavar="FILE",
                   help="output (default: stdout)")
    g = p.add_argument_group("formats")
    g.add_argument("--format", choices=("text", "conll", "conllu"), default="text",
                   help="text: whitespace-tokenised, one sentence a line, written back as "
                        "word<TAG-SEP>tag; conll: the input columns plus the predicted tag; "
                        "conllu: the input with the tag written into --tag-field "
                        "(default %(default)s)")
    g.add_argument("--tag-sep", default="/", metavar="S",
                   help="text output: between a word and its tag (default %(default)s)")
    g.add_argument("--word-field", metavar="FIELD",
                   help="conllu: field of the words (default form); conll: 0-based column "
                        "number or --columns name (default 0)")
    g.add_argument("--tag-field", metavar="FIELD",
                   help="conllu: field that receives the tags (default: the field the model "
                        "was trained on, else upos)")
    g.add_argument("--columns", type=options.column_names, metavar="NAMES",
                   help="conll: column names, to give --word-field by name")
    g.add_argument("--sep", type=options.sep, default=None, metavar="SEP",
                   help="conll: column separator (default whitespace; output uses a tab if "
                        "the line has one, else a space)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="a folder input: the Dask scheduler to run on (tcp://host:8786; "
                        "default: a LocalCluster started for the run, one worker per core)")
    p.add_argument("--batch-size", type=options.positive_int, default=20000, metavar="S",
                   help="sentences decoded per batched kernel call (default %(default)s)")
    options.add_run_options(p)


def _columns_of_fields(args: argparse.Namespace, meta: dict) -> Tuple[int, Optional[int]]:
    """(word column, tag column or None) numbers for the output format."""
    fmt = args.format
    if fmt == "conllu":
        word = args.word_field or "form"
        tag = args.tag_field or (meta.get("tag_field") if meta.get("format") == "conllu"
                                 and meta.get("tag_field") in CONLLU_FIELDS else "upos")
        for f, what in ((word, "--word-field"), (tag, "--tag-field")):
            if f not in CONLLU_FIELDS:
                raise CLIError(f"{what} {f!r} is not a CoNLL-U field; valid: "
                               f"{', '.join(CONLLU_FIELDS)}")
        return CONLLU_FIELDS.index(word), CONLLU_FIELDS.index(tag)
    if fmt == "conll" and args.word_field is not None:
        names = args.columns or []
        if args.word_field in names:
            return names.index(args.word_field), None
        try:
            return int(args.word_field), None
        except ValueError:
            raise CLIError(f"--word-field {args.word_field!r}: give a 0-based column "
                           "number or a name listed in --columns") from None
    return 0, None


def _open_output(path: str, input_path: str) -> IO[str]:
    if path == "-":
        if sys.stdout is None:
            raise CLIError("standard output is closed")
        return sys.stdout
    if input_path != "-" and os.path.exists(path) and os.path.samefile(path, input_path):
        raise CLIError(f"the output {path} is the input file, which writing would erase")
    return open(path, "w", encoding="utf-8", newline="\n")


def _tag_stream(tagger, meta: dict, args: argparse.Namespace, word_col: int,
                tag_col: Optional[int], input_path: str, out: IO[str],
                progress: bool) -> Tuple[int, int, float]:
    """Tag the file ``input_path`` ("-": stdin) into ``out``; (sentences, tokens, seconds
    in the tagger)."""
    fmt = args.format
    lines = input_lines(input_path)
    name = "<stdin>" if input_path == "-" else input_path
    n_sent = n_tok = 0
    t_tag = 0.0
    try:
        blocks = _text_blocks(lines, name) if fmt == "text" else \
            _conll_blocks(lines, fmt, word_col, args.sep, name)
        bar = progress_bar(None, progress, desc="tagging", unit="sent", total=None)
        batch: List[_Block] = []

        def flush():
            nonlocal n_sent, n_tok, t_tag
            todo = [_block_inputs(b, fmt, meta, args.sep, name) for b in batch if b.words]
            t0 = time.perf_counter()
            try:
                tagged = iter(tagger.predict(todo))
            except (TypeError, ValueError) as exc:
                raise CLIError(str(exc)) from None
            t_tag += time.perf_counter() - t0
            out.write("".join(_render(b, next(tagged) if b.words else [], fmt, args, tag_col)
                              for b in batch))
            n_sent += len(todo)
            n_tok += sum(len(b.words) for b in batch)
            if hasattr(bar, "update"):
                bar.update(len(todo))
            batch.clear()

        for block in blocks:
            batch.append(block)
            if len(batch) >= args.batch_size:
                flush()
        flush()
        if hasattr(bar, "close"):
            bar.close()
    finally:
        lines.close()  # the input file, now rather than when collected
    return n_sent, n_tok, t_tag


def tag_one_file(tagger, source: str, target: str, n_threads: int, *,
                 args: argparse.Namespace, meta: dict) -> Tuple[int, int]:
    """Tag the file ``source`` into ``target`` as ``fastseq tag`` does with ``args`` (a
    task of the folder form, run on a Dask worker); (sentences, tokens)."""
    word_col, tag_col = _columns_of_fields(args, meta)
    with open(target, "w", encoding="utf-8", newline="\n") as out:
        n_sent, n_tok, _ = _tag_stream(tagger, meta, args, word_col, tag_col, source, out,
                                       False)
    return n_sent, n_tok


def _run_folder(args: argparse.Namespace, tagger, meta: dict) -> int:
    """The folder form: every file of the folder ``args.input`` tagged into the folder
    ``args.output`` on a Dask cluster (``--scheduler``, else an embedded LocalCluster)."""
    if args.output == "-":
        raise CLIError(f"{args.input} is a directory: tagging a folder writes a folder, give "
                       "it with -o/--output")
    if os.path.isfile(args.output):
        raise CLIError(f"{args.input} is a directory: tagging a folder writes a folder, and "
                       f"the output {args.output} is a file")
    try:
        from ..dask import tag_files
    except ImportError:
        raise CLIError(f"{args.input} is a directory: tagging a folder needs the dask "
                       "extra (pip install \"fastseq[dask]\")") from None
    sources = sorted(os.path.join(args.input, n) for n in os.listdir(args.input)
                     if os.path.isfile(os.path.join(args.input, n)))
    _columns_of_fields(args, meta)  # bad field options fail here, before any work is sent
    t0 = time.perf_counter()
    try:
        n_sent, n_tok = tag_files(tagger, sources, args.output,
                                  tag_file=functools.partial(tag_one_file, args=args,
                                                             meta=meta),
                                  scheduler=args.scheduler, n_threads=args.threads)
    except (ValueError, OSError) as exc:
        raise CLIError(str(exc)) from None
    seconds = time.perf_counter() - t0
    if not args.quiet:
        print(f"tagged {len(sources):,} files, {n_sent:,} sentences, {n_tok:,} tokens in "
              f"{seconds:.2f} s", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    """Run ``fastseq tag``: tag the input and write it out; returns the exit status."""
    if "\n" in args.tag_sep or "\r" in args.tag_sep:
        raise CLIError("--tag-sep must not hold a line break")
    if args.scheduler is not None and not os.path.isdir(args.input):
        raise CLIError("--scheduler goes with a folder to tag (the input is not one)")
    tagger = load_model(args.model, args.threads)
    meta = getattr(tagger, "metadata", {}) or {}
    if args.input != "-" and os.path.isdir(args.input):
        return _run_folder(args, tagger, meta)
    word_col, tag_col = _columns_of_fields(args, meta)
    out = _open_output(args.output, args.input)
    try:
        n_sent, n_tok, t_tag = _tag_stream(tagger, meta, args, word_col, tag_col,
                                           args.input, out, args.progress)
    finally:
        if out is not sys.stdout:
            out.close()
    if not args.quiet and n_tok and (args.progress or args.input != "-"):
        rate = f"{n_tok / t_tag:,.0f}" if t_tag > 0 else "inf"
        print(f"tagged {n_sent:,} sentences, {n_tok:,} tokens in {t_tag:.2f} s "
              f"({rate} tokens/s)", file=sys.stderr)
    return 0
