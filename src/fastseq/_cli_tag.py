"""``fastseq train``, ``fastseq tag`` and ``fastseq eval``: taggers from the command line.

Wire into the ``fastseq`` command with :func:`add_subcommands` (``subparsers`` is the object
returned by ``parser.add_subparsers()``). Every leaf parser sets ``_run`` (a function
``args -> exit status``), as :func:`fastseq.cli.main` expects.

    fastseq train hmm --train en_ewt-ud-train.conllu --tag-field upos --model upos.hmm
    echo "The Fed raises rates ." | fastseq tag --model upos.hmm
    fastseq tag --model upos.hmm --format conllu en_ewt-ud-test.conllu > tagged.conllu
    fastseq eval --model upos.hmm --test en_ewt-ud-test.conllu

``train`` dispatches on a model kind (``hmm`` today). To add one, register it in
:data:`TRAIN_KINDS` before :func:`add_subcommands` runs::

    TRAIN_KINDS["crf"] = TrainKind(help="...", add_arguments=..., run=...)

Input formats: ``conllu`` (CoNLL-U; ``--word-field`` / ``--tag-field`` name its columns,
default ``form`` / ``upos``), ``conll`` (one token a line, columns separated by whitespace or
``--sep``; fields are named by ``--columns`` or given as 0-based column numbers, default the
first column for words and the last one for tags) and, for ``tag``, ``text`` (whitespace-
tokenised text, one sentence a line). Files named ``*.conllu`` are read as CoNLL-U and other
files are sniffed (ten tab-separated columns = CoNLL-U) unless ``--format`` says otherwise.

Exit status: 0 on success, 1 on a data or model error (message on stderr), 2 on a usage
error (from argparse).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from . import _cli_crf
from ._cli_args import column_names as _columns
from ._cli_args import nonneg_float as _nonneg_float
from ._cli_args import positive_int as _positive_int
from ._cli_args import sep as _sep
from ._cli_args import threads as _threads

__all__ = ["add_subcommands", "TRAIN_KINDS", "TrainKind", "main"]

_CONLLU_FIELDS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps",
                  "misc")


class TrainKind(NamedTuple):
    """A model kind of ``fastseq train KIND``."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


class CLIError(Exception):
    """A user-facing error: printed as ``fastseq <command>: error: <message>``, status 1."""


# ---------------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------------


def _progress(iterable, args, **kw):
    from .taggers._inputs import progress_bar as bar
    return bar(iterable, enable=getattr(args, "progress", None), **kw)










def _add_data_options(p: argparse.ArgumentParser, *, formats: Sequence[str], default_fmt=None):
    g = p.add_argument_group("input format")
    g.add_argument("--format", choices=formats, default=default_fmt,
                   help="input format (default: %s)" % (default_fmt or
                                                         "CoNLL-U for *.conllu, else sniffed"))
    g.add_argument("--word-field", metavar="FIELD",
                   help="column holding the words: a CoNLL-U field name (default form) or, "
                        "for conll, a --columns name or 0-based number (default 0)")
    g.add_argument("--tag-field", metavar="FIELD",
                   help="column holding the tags: a CoNLL-U field (default upos) or, for "
                        "conll, a --columns name or 0-based number (default: the last)")
    g.add_argument("--columns", type=_columns, metavar="NAMES",
                   help="conll: names of the columns, e.g. word,pos,chunk")
    g.add_argument("--sep", type=_sep, default=None, metavar="SEP",
                   help="conll: column separator (default: runs of whitespace; 'tab' for tabs)")


def _add_common(p: argparse.ArgumentParser):
    p.add_argument("--threads", type=_threads, default=None, metavar="N",
                   help="threads for the kernels (default: all available; -1: all cores)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show progress bars (default: when stderr is a terminal)")
    p.add_argument("-q", "--quiet", action="store_true", help="print less on stderr")


def _open_text(path: str):
    """A text stream for ``path`` ("-" = stdin)."""
    if path == "-":
        return sys.stdin
    if not os.path.exists(path):
        raise CLIError(f"no such file: {path}")
    if os.path.isdir(path):
        raise CLIError(f"{path} is a directory, not a file")
    return open(path, "r", encoding="utf-8")


def _sniff_format(path: str, stream=None) -> str:
    """conllu for *.conllu, or when the first token line has ten tab-separated columns."""
    if path != "-" and path.lower().endswith(".conllu"):
        return "conllu"
    lines = stream if stream is not None else _open_text(path)
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


def _read_source(path: str) -> Tuple[object, str]:
    """(readable source for the io readers, display name); stdin is read into memory."""
    if path == "-":
        return io.StringIO(sys.stdin.read()), "<stdin>"
    _open_text(path).close()  # existence checks with a clean message
    return path, path


def _resolve_field(name: Optional[str], names: Sequence[str], default_index: int,
                   what: str) -> str:
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


def _tagged_sents(raw, word, tag, inputs):
    """(word, tag) pairs per sentence; for a model reading several input columns, dicts of
    those columns with the tag column last."""
    if len(inputs) > 1:
        return [{**{f: s[f] for f in inputs if f != tag}, tag: s[tag]} for s in raw]
    return [list(zip(s[word], s[tag])) for s in raw]


def _read_tagged(path: str, args, *, defaults: Optional[dict] = None):
    """Read ``[[(word, tag), ...], ...]`` from a CoNLL-U or CoNLL file, as the options say."""
    from .io import iter_conll, iter_conllu
    defaults = defaults or {}
    source, name = _read_source(path)
    fmt = args.format or (_sniff_format(path, io.StringIO(source.getvalue()))
                          if isinstance(source, io.StringIO) else _sniff_format(path))
    if fmt == "conllu":
        for opt in ("columns", "sep"):
            if getattr(args, opt, None) is not None:
                raise CLIError(f"--{opt} applies to --format conll, not conllu")
        word = args.word_field or (defaults.get("word_field")
                                   if defaults.get("format") == "conllu" else None) or "form"
        tag = args.tag_field or (defaults.get("tag_field")
                                 if defaults.get("format") == "conllu" else None) or "upos"
        for f, what in ((word, "--word-field"), (tag, "--tag-field")):
            if f not in _CONLLU_FIELDS:
                raise CLIError(f"{what} {f!r} is not a CoNLL-U field; valid: "
                               f"{', '.join(_CONLLU_FIELDS)}")
        inputs = list(defaults.get("input_fields") or [])
        try:
            fields = tuple(dict.fromkeys(inputs + [word, tag])) if len(inputs) > 1 else \
                ((word, tag) if word != tag else (word,))
            it = iter_conllu(source, fields=fields)
            raw = list(_progress(it, args, desc=f"reading {os.path.basename(name)}"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise CLIError(str(exc)) from None
        sents = _tagged_sents(raw, word, tag, inputs)
        info = {"format": "conllu", "word_field": word, "tag_field": tag}
    else:
        same = defaults.get("format") == "conll"
        columns = args.columns or (defaults.get("columns") if same else None)
        sep = args.sep if args.sep is not None else (defaults.get("sep") if same else None)
        try:
            raw = list(_progress(iter_conll(source, columns=columns, sep=sep), args,
                                 desc=f"reading {os.path.basename(name)}"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise CLIError(str(exc)) from None
        if not raw:
            raise CLIError(f"{name}: no sentences found")
        names = list(raw[0])
        word = _resolve_field(args.word_field or (defaults.get("word_field") if same else None),
                              names, 0, "--word-field")
        tag = _resolve_field(args.tag_field or (defaults.get("tag_field") if same else None),
                             names, -1, "--tag-field")
        if len(names) < 2 and word == tag:
            raise CLIError(f"{name}: only one column: where are the tags? (a conll file needs "
                           "a word column and a tag column)")
        inputs = list(defaults.get("input_fields") or [])
        missing = [f for f in inputs if f not in names]
        if len(inputs) > 1 and missing:
            raise CLIError(f"this model reads the columns {inputs}; {name} has {names}")
        sents = _tagged_sents(raw, word, tag, inputs)
        info = {"format": "conll", "word_field": word, "tag_field": tag,
                "columns": columns, "sep": sep}
    if not any(sents):
        raise CLIError(f"{name}: no tokens found")
    return sents, info


def _fail(command: str, exc: BaseException) -> int:
    print(f"fastseq {command}: error: {exc}", file=sys.stderr)
    return 1


def _load_model(path: str, threads):
    from .taggers import load_tagger
    if not os.path.exists(path):
        raise CLIError(f"no such model file: {path}")
    try:
        return load_tagger(path, n_threads=threads)
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}" if seconds > 0 else "inf"


# ---------------------------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------------------------


def _beam(text: str):
    if text.lower() in ("none", "exact", "0"):
        return None
    return _positive_int(text)


def _smoothing(text: str):
    if text.lower() == "tnt":
        return "tnt"
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'tnt' or a positive number, got {text!r}")
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected 'tnt' or a positive number, got {text!r}")
    return v




def _add_train_hmm_arguments(p: argparse.ArgumentParser) -> None:
    from .taggers import HMMTagger
    d = HMMTagger().get_params()
    p.add_argument("--train", required=True, metavar="FILE",
                   help="tagged training data (CoNLL-U or CoNLL; '-' for stdin)")
    p.add_argument("--model", required=True, metavar="OUT", help="where to write the model")
    p.add_argument("--dev", metavar="FILE", help="also report accuracy on this tagged file")
    _add_data_options(p, formats=("conllu", "conll"))
    h = p.add_argument_group("model (see fastseq.tag.HMMTagger)")
    h.add_argument("--order", type=int, choices=(1, 2), default=d["order"],
                   help="1: bigram, 2: trigram tag model (default %(default)s)")
    h.add_argument("--beam", type=_beam, default=d["beam"], metavar="K",
                   help="states kept per token when decoding; 'none' = exact "
                        "(default %(default)s)")
    h.add_argument("--lexicalize", type=int, default=d["lexicalize"], metavar="W",
                   help="frequent ambiguous words given word-specific states "
                        "(default %(default)s)")
    h.add_argument("--rare-threshold", type=_positive_int, default=d["rare_threshold"],
                   metavar="C", help="words seen <= C times train the unknown-word model "
                                     "(default %(default)s)")
    h.add_argument("--max-suffix", type=int, default=d["max_suffix"], metavar="L",
                   help="longest suffix of the unknown-word model (default %(default)s)")
    h.add_argument("--suffix-smoothing", type=_smoothing, default=d["suffix_smoothing"],
                   metavar="K", help="'tnt' or a Dirichlet strength (default %(default)s)")
    h.add_argument("--known-prior", type=_nonneg_float, default=d["known_prior"], metavar="B",
                   help="smoothing of known words towards the suffix model "
                        "(default %(default)s)")
    h.add_argument("--case-backoff", type=_nonneg_float, default=d["case_backoff"],
                   metavar="A", help="weight of a known other-case spelling of an unknown "
                                     "word, 0..1 (default %(default)s)")
    _add_common(p)


def _run_train_hmm(args) -> int:
    from .taggers import HMMTagger
    try:
        try:
            tagger = HMMTagger(order=args.order, beam=args.beam, lexicalize=args.lexicalize,
                               rare_threshold=args.rare_threshold, max_suffix=args.max_suffix,
                               suffix_smoothing=args.suffix_smoothing,
                               known_prior=args.known_prior, case_backoff=args.case_backoff,
                               n_threads=args.threads)
        except (TypeError, ValueError) as exc:
            raise CLIError(str(exc)) from None
        t0 = time.perf_counter()
        sents, info = _read_tagged(args.train, args)
        t_read = time.perf_counter() - t0
        try:
            tagger.train(sents, progress=args.progress)
        except (TypeError, ValueError) as exc:
            raise CLIError(f"{args.train}: {exc}") from None
        info["trained_on"] = os.path.basename(args.train) if args.train != "-" else "<stdin>"
        tagger.metadata = {k: v for k, v in info.items() if v is not None}
        try:
            tagger.save(args.model)
        except OSError as exc:
            raise CLIError(f"cannot write the model to {args.model}: {exc}") from None
        n = tagger.n_train_tokens_
        if not args.quiet:
            print(f"trained an HMM tagger on {tagger.n_train_sents_:,} sentences, {n:,} tokens "
                  f"({info['tag_field']!r} tags: {len(tagger.tags_)}, words: "
                  f"{len(tagger.vocab_):,}, states: {tagger.n_states_}) in "
                  f"{tagger.train_time_:.2f} s ({_rate(n, tagger.train_time_)} tokens/s; "
                  f"reading {t_read:.2f} s); saved {args.model}", file=sys.stderr)
        if args.dev:
            gold, _ = _read_tagged(args.dev, args, defaults=tagger.metadata)
            res = tagger.evaluation_report(gold, per_tag=False)
            print(f"dev {args.dev}: accuracy {100 * res.accuracy:.2f} % (known "
                  f"{100 * res.known_accuracy:.2f} %, unknown {100 * res.unknown_accuracy:.2f} "
                  f"% on {res.n_unknown:,} tokens), {res.tokens_per_s:,.0f} tokens/s",
                  file=sys.stderr)
        return 0
    except (CLIError, OSError) as exc:
        return _fail("train", exc)


#: model kinds of ``fastseq train KIND`` (add to it before add_subcommands runs)
TRAIN_KINDS: Dict[str, TrainKind] = {
    "hmm": TrainKind(help="supervised HMM tagger (TnT-style trigram HMM with a suffix model "
                          "for unknown words)",
                     add_arguments=_add_train_hmm_arguments, run=_run_train_hmm),
    "crf": TrainKind(help=_cli_crf.HELP, add_arguments=_cli_crf.add_train_crf_arguments,
                     run=_cli_crf.train_crf),
}


# ---------------------------------------------------------------------------------------------
# tag
# ---------------------------------------------------------------------------------------------


class _Block(NamedTuple):
    lines: List[str]          # raw lines, without line ends (text: one line)
    token_lines: List[int]    # indices into lines of the token lines
    words: List[str]


def _text_blocks(stream) -> Iterator[_Block]:
    for line in stream:
        line = line.rstrip("\r\n")
        yield _Block([line], [], line.split())


def _block_inputs(block: _Block, fmt: str, meta: dict, sep: Optional[str]):
    """What the model reads of a sentence: its words, or for a model trained on several
    input columns (a CRF tagger's ``input_fields``) a dict of those columns."""
    fields = meta.get("input_fields") or []
    if len(fields) <= 1:
        return block.words
    if fmt == "text":
        raise CLIError(f"this model reads the columns {fields}: give it CoNLL input "
                       "(--format conll or conllu)")
    rows = [block.lines[i].split("\t") if fmt == "conllu" else
            (block.lines[i].split(sep) if sep is not None else block.lines[i].split())
            for i in block.token_lines]
    names = list(_CONLLU_FIELDS) if fmt == "conllu" else list(meta.get("columns") or [])
    names = names[:len(rows[0])] if names else [str(k) for k in range(len(rows[0]))]
    missing = [f for f in fields if f not in names]
    if missing:
        raise CLIError(f"this model reads the columns {fields}; the input has {names}")
    return {f: [r[names.index(f)] for r in rows] for f in fields}


def _conll_blocks(stream, fmt: str, word_col: int, sep: Optional[str]) -> Iterator[_Block]:
    """Sentence blocks of a CoNLL(-U) file, keeping every line (comments, multiword
    ranges, -DOCSTART-) so the output reproduces the input plus the tags."""
    lines: List[str] = []
    toks: List[int] = []
    words: List[str] = []
    for lineno, line in enumerate(stream, 1):
        line = line.rstrip("\r\n")
        if lineno == 1 and line.startswith("\ufeff"):
            line = line[1:]
        if not line.strip():
            if lines:
                yield _Block(lines, toks, words)
            yield _Block([line], [], [])
            lines, toks, words = [], [], []
            continue
        if fmt == "conllu":
            if line.startswith("#"):
                lines.append(line)
                continue
            parts = line.split("\t")
            if len(parts) != 10:
                raise CLIError(f"line {lineno}: expected 10 tab-separated CoNLL-U columns, "
                               f"found {len(parts)}")
            lines.append(line)
            if "-" in parts[0] or "." in parts[0]:
                continue
            toks.append(len(lines) - 1)
            words.append(parts[word_col])
        else:
            parts = line.split(sep) if sep is not None else line.split()
            lines.append(line)
            if parts[0] == "-DOCSTART-":
                continue
            if word_col >= len(parts) or -word_col > len(parts):
                raise CLIError(f"line {lineno}: no column {word_col} for the words "
                               f"({len(parts)} columns)")
            toks.append(len(lines) - 1)
            words.append(parts[word_col])
    if lines:
        yield _Block(lines, toks, words)


def _add_tag_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", nargs="?", default="-", metavar="FILE",
                   help="input (default: stdin)")
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
    g.add_argument("--columns", type=_columns, metavar="NAMES",
                   help="conll: column names, to give --word-field by name")
    g.add_argument("--sep", type=_sep, default=None, metavar="SEP",
                   help="conll: column separator (default whitespace; output uses a tab if "
                        "the line has one, else a space)")
    p.add_argument("--batch-size", type=_positive_int, default=20000, metavar="S",
                   help="sentences decoded per batched kernel call (default %(default)s)")
    _add_common(p)


def _run_tag(args) -> int:
    try:
        tagger = _load_model(args.model, args.threads)
        meta = getattr(tagger, "metadata", {}) or {}
        fmt = args.format
        word_col = 0
        tag_col = None
        if fmt == "conllu":
            word = args.word_field or "form"
            tag = args.tag_field or (meta.get("tag_field") if meta.get("format") == "conllu"
                                     and meta.get("tag_field") in _CONLLU_FIELDS else "upos")
            for f, what in ((word, "--word-field"), (tag, "--tag-field")):
                if f not in _CONLLU_FIELDS:
                    raise CLIError(f"{what} {f!r} is not a CoNLL-U field; valid: "
                                   f"{', '.join(_CONLLU_FIELDS)}")
            word_col, tag_col = _CONLLU_FIELDS.index(word), _CONLLU_FIELDS.index(tag)
        elif fmt == "conll" and args.word_field is not None:
            names = args.columns or []
            if args.word_field in names:
                word_col = names.index(args.word_field)
            else:
                try:
                    word_col = int(args.word_field)
                except ValueError:
                    raise CLIError(f"--word-field {args.word_field!r}: give a 0-based column "
                                   "number or a name listed in --columns") from None
        stream = _open_text(args.input)
        out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8",
                                                         newline="\n")
        try:
            if fmt == "text":
                blocks = _text_blocks(stream)
            else:
                blocks = _conll_blocks(stream, fmt, word_col, args.sep)
            n_sent = n_tok = 0
            t_tag = 0.0
            bar = _progress(None, args, desc="tagging", unit="sent", total=None)
            batch: List[_Block] = []

            def flush():
                nonlocal n_sent, n_tok, t_tag
                todo = [_block_inputs(b, fmt, meta, args.sep) for b in batch if b.words]
                t0 = time.perf_counter()
                try:
                    tagged = iter(tagger.predict(todo))
                except (TypeError, ValueError) as exc:
                    raise CLIError(str(exc)) from None
                t_tag += time.perf_counter() - t0
                chunks = []
                for b in batch:
                    tags = next(tagged) if b.words else []
                    chunks.append(_render(b, tags, fmt, args, tag_col))
                out.write("".join(chunks))
                n_sent += len(todo)
                n_tok += sum(len(b.words) for b in batch)
                if bar is not None and hasattr(bar, "update"):
                    bar.update(len(todo))
                batch.clear()

            for block in blocks:
                batch.append(block)
                if len(batch) >= args.batch_size:
                    flush()
            flush()
            if bar is not None and hasattr(bar, "close"):
                bar.close()
        finally:
            if out is not sys.stdout:
                out.close()
            if stream is not sys.stdin:
                stream.close()
        if not args.quiet and n_tok and (args.progress or args.input != "-"):
            print(f"tagged {n_sent:,} sentences, {n_tok:,} tokens in {t_tag:.2f} s "
                  f"({_rate(n_tok, t_tag)} tokens/s)", file=sys.stderr)
        return 0
    except (CLIError, OSError, UnicodeDecodeError) as exc:
        return _fail("tag", exc)


def _render(block: _Block, tags: List[str], fmt: str, args, tag_col: Optional[int]) -> str:
    if fmt == "text":
        if not block.words:
            return "\n"
        return " ".join(f"{w}{args.tag_sep}{t}" for w, t in zip(block.words, tags)) + "\n"
    lines = list(block.lines)
    for i, tag in zip(block.token_lines, tags):
        line = lines[i]
        if fmt == "conllu":
            parts = line.split("\t")
            parts[tag_col] = tag
            lines[i] = "\t".join(parts)
        else:
            sep = args.sep if args.sep is not None else ("\t" if "\t" in line else " ")
            lines[i] = line + sep + tag
    return "".join(line + "\n" for line in lines)


# ---------------------------------------------------------------------------------------------
# eval
# ---------------------------------------------------------------------------------------------


def _add_eval_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, metavar="M", help="model file (fastseq train)")
    p.add_argument("--test", required=True, metavar="FILE",
                   help="tagged test data (CoNLL-U or CoNLL; '-' for stdin)")
    _add_data_options(p, formats=("conllu", "conll"))
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--digits", type=int, default=4, help="digits in the per-tag report")
    _add_common(p)


def _run_eval(args) -> int:
    try:
        tagger = _load_model(args.model, args.threads)
        gold, info = _read_tagged(args.test, args,
                                  defaults=getattr(tagger, "metadata", None))
        try:
            res = tagger.evaluation_report(gold)
        except (TypeError, ValueError) as exc:
            raise CLIError(str(exc)) from None
        if args.json:
            d = res.as_dict()
            d.update(model=args.model, test=args.test, tag_field=info["tag_field"])
            print(json.dumps(d, indent=2, default=float))
        else:
            print(f"model {args.model}, test {args.test} (tags: {info['tag_field']})")
            print(res.report(digits=args.digits))
        return 0
    except (CLIError, OSError) as exc:
        return _fail("eval", exc)


# ---------------------------------------------------------------------------------------------
# registration
# ---------------------------------------------------------------------------------------------


def add_subcommands(subparsers) -> None:
    """Add ``train`` (dispatching on :data:`TRAIN_KINDS`), ``tag`` and ``eval`` to
    ``subparsers`` (from ``parser.add_subparsers()``)."""
    fmt = argparse.RawDescriptionHelpFormatter
    train = subparsers.add_parser(
        "train", help="train a tagger from tagged data",
        description="Train a tagger: fastseq train KIND --train FILE --model OUT ...",
        formatter_class=fmt)
    kinds = train.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True
    for name, kind in TRAIN_KINDS.items():
        kp = kinds.add_parser(name, help=kind.help, description=kind.help, formatter_class=fmt)
        kind.add_arguments(kp)
        kp.set_defaults(_run=kind.run)

    tag = subparsers.add_parser(
        "tag", help="tag text with a trained model",
        description="Tag whitespace-tokenised text (one sentence a line) or CoNLL/CoNLL-U "
                    "files with a model written by `fastseq train`.", formatter_class=fmt)
    _add_tag_arguments(tag)
    tag.set_defaults(_run=_run_tag)

    ev = subparsers.add_parser(
        "eval", help="evaluate a trained model on tagged data",
        description="Accuracy (overall, known and unknown words) and per-tag precision / "
                    "recall / F1 of a model on a tagged file.", formatter_class=fmt)
    _add_eval_arguments(ev)
    ev.set_defaults(_run=_run_eval)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``train`` / ``tag`` / ``eval`` on their own (``python -m fastseq._cli_tag``)."""
    parser = argparse.ArgumentParser(prog="fastseq")
    add_subcommands(parser.add_subparsers(dest="command", metavar="COMMAND"))
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help(sys.stderr)
        return 2
    return int(args._run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
