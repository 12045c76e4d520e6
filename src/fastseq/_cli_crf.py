"""``fastseq train crf``: train a :class:`fastseq.crf_tagger.CRFTagger` from the command line.

Wire it in as a train kind (see :mod:`fastseq._cli_tag`)::

    TRAIN_KINDS["crf"] = TrainKind(help=HELP, add_arguments=add_train_crf_arguments,
                                   run=train_crf)

Examples::

    fastseq train crf --train conll2000/train.txt --columns word,pos,chunk \\
        --templates chunk --model chunk.crf
    fastseq train crf --train en_ewt-ud-train.conllu --tag-field upos --templates pos \\
        --dev en_ewt-ud-dev.conllu --model upos.crf
    fastseq train crf --train conll2003_en/train.txt --columns word,pos,chunk,ner \\
        --templates ner --c1 0.05 --c2 0.05 --model ner.crf

Input: CoNLL-U (``--format conllu``, or files named ``*.conllu``; ``--input-fields`` default
``form``, ``--tag-field`` default ``upos``) or CoNLL column files (whitespace- or
``--sep``-separated; ``--columns`` names the columns, default by their number: ``word,tag``,
``word,pos,tag``, ``word,pos,chunk,tag``; the tag is the last column unless ``--tag-field``
says otherwise; every other column feeds the templates unless ``--input-fields`` lists them).
Template columns: ``word`` / ``form`` are the words (``w`` in templates), ``pos`` / ``xpos``
the POS tags, ``chunk`` the chunk tags.

Exit status: 0 on success, 1 on a data or model error (message on stderr), 2 on a usage
error.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import List

from ._cli_args import column_names as _names
from ._cli_args import nonneg_float as _nonneg
from ._cli_args import sep as _sep
from ._cli_args import threads as _threads

__all__ = ["HELP", "add_train_crf_arguments", "train_crf"]

HELP = ("linear-chain CRF tagger over feature templates (sklearn-crfsuite-compatible CRF, "
        "L-BFGS / OWL-QN / averaged perceptron)")

_CONLLU_FIELDS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps",
                  "misc")
_TEMPLATE_SETS = ("pos", "chunk", "ner", "crfsuite_chunk")


class _Error(Exception):
    pass


def add_train_crf_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``fastseq train crf``."""
    p.add_argument("--train", required=True, metavar="FILE", help="tagged training data")
    p.add_argument("--model", required=True, metavar="OUT", help="where to write the model")
    p.add_argument("--dev", metavar="FILE",
                   help="tagged development data: scored after training (and every "
                        "iteration with --verbose)")
    g = p.add_argument_group("input format")
    g.add_argument("--format", choices=("conll", "conllu"), default=None,
                   help="input format (default: conllu for *.conllu files, else conll)")
    g.add_argument("--columns", type=_names, metavar="NAMES",
                   help="conll: names of the columns, e.g. word,pos,chunk,ner")
    g.add_argument("--sep", type=_sep, default=None, metavar="SEP",
                   help="conll: column separator (default: runs of whitespace; 'tab')")
    g.add_argument("--tag-field", metavar="NAME",
                   help="the label column (default: upos for conllu, the last column for "
                        "conll)")
    g.add_argument("--input-fields", type=_names, metavar="NAMES",
                   help="columns feeding the templates (default: form for conllu, all but the "
                        "tag column for conll)")
    m = p.add_argument_group("model (see fastseq.crf_tagger.CRFTagger, fastseq.crf.CRF)")
    m.add_argument("--templates", choices=_TEMPLATE_SETS, default=None,
                   help="built-in feature templates (default: pos for conllu, ner for conll)")
    m.add_argument("--stack", type=int, default=None, metavar="K",
                   help="two-level stacked tagger, the first level's training tags from K "
                        "jackknife folds (0: off; default: 2 for --templates pos, else 0)")
    m.add_argument("--algorithm", choices=("lbfgs", "ap"), default=None,
                   help="lbfgs (default; OWL-QN when --c1 > 0) or ap (averaged perceptron)")
    m.add_argument("--c1", type=_nonneg, default=None, help="L1 coefficient (lbfgs)")
    m.add_argument("--c2", type=_nonneg, default=None, help="L2 coefficient (lbfgs)")
    m.add_argument("--max-iterations", type=int, default=None, metavar="N")
    m.add_argument("--min-freq", type=_nonneg, default=None, metavar="F",
                   help="drop features seen less often than this")
    m.add_argument("--all-possible-states", action="store_true", default=None)
    m.add_argument("--all-possible-transitions", action="store_true", default=None)
    m.add_argument("--epsilon", type=_nonneg, default=None)
    m.add_argument("--period", type=int, default=None)
    m.add_argument("--delta", type=_nonneg, default=None)
    m.add_argument("--num-memories", type=int, default=None)
    p.add_argument("--threads", type=_threads, default=None, metavar="N",
                   help="threads (default: all the process may use)")
    p.add_argument("--verbose", action="store_true", help="print every training iteration")
    p.add_argument("-q", "--quiet", action="store_true", help="print less on stderr")


def _default_columns(n: int) -> List[str]:
    if n == 2:
        return ["word", "tag"]
    if n == 3:
        return ["word", "pos", "tag"]
    if n == 4:
        return ["word", "pos", "chunk", "tag"]
    return ["word"] + [f"col{i}" for i in range(1, n - 1)] + ["tag"]


def _read(path: str, args, fmt: str, *, columns=None):
    """Read sentences as dicts of columns; returns (sentences, column names)."""
    from .io import read_conll, read_conllu
    if not os.path.exists(path):
        raise _Error(f"no such file: {path}")
    try:
        if fmt == "conllu":
            sents = read_conllu(path)
            names = list(sents[0]) if sents else list(_CONLLU_FIELDS)
        else:
            cols = columns if columns is not None else args.columns
            sents = read_conll(path, columns=cols, sep=args.sep)
            if not sents:
                raise _Error(f"{path}: no sentences found")
            names = list(sents[0])
            if cols is None:
                new = _default_columns(len(names))
                sents = [{n: s[o] for n, o in zip(new, names)} for s in sents]
                names = new
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Error(f"{path}: {exc}") from None
    if not sents:
        raise _Error(f"{path}: no sentences found")
    return sents, names


def train_crf(args) -> int:
    """Run ``fastseq train crf`` with parsed ``args``; returns the exit status."""
    from .taggers import CRFTagger
    try:
        fmt = args.format or ("conllu" if args.train.endswith(".conllu") else "conll")
        sents, names = _read(args.train, args, fmt)
        if fmt == "conllu":
            tag = args.tag_field or "upos"
            inputs = args.input_fields or ["form"]
            if tag not in _CONLLU_FIELDS:
                raise _Error(f"--tag-field {tag!r} is not a CoNLL-U field; valid: "
                             f"{', '.join(_CONLLU_FIELDS)}")
        else:
            tag = args.tag_field or names[-1]
            if tag not in names:
                raise _Error(f"--tag-field {tag!r} is not a column; the columns are "
                             f"{', '.join(names)} (name them with --columns)")
            inputs = args.input_fields or [n for n in names if n != tag]
        for c in inputs:
            if c not in names:
                raise _Error(f"--input-fields: no column {c!r}; the columns are "
                             f"{', '.join(names)}")
            if c == tag:
                raise _Error(f"--input-fields must not include the tag column {tag!r}")
        templates = args.templates or ("pos" if fmt == "conllu" else "ner")
        keep = list(inputs) + [tag]
        data = [{c: s[c] for c in keep} for s in sents]
        dev = None
        if args.dev:
            dsents, dnames = _read(args.dev, args, fmt, columns=args.columns)
            missing = [c for c in keep if c not in dnames]
            if missing:
                raise _Error(f"{args.dev}: no column(s) {missing}")
            dev = [{c: s[c] for c in keep} for s in dsents]
        try:
            tagger = CRFTagger(templates=templates, stack=args.stack,
                               algorithm=args.algorithm, c1=args.c1,
                               c2=args.c2, max_iterations=args.max_iterations,
                               min_freq=args.min_freq,
                               all_possible_states=args.all_possible_states,
                               all_possible_transitions=args.all_possible_transitions,
                               epsilon=args.epsilon, period=args.period, delta=args.delta,
                               num_memories=args.num_memories, verbose=args.verbose,
                               n_threads=args.threads)
            t0 = time.perf_counter()
            tagger.train(data, dev=dev if args.verbose else None, tag=tag)
            dt = time.perf_counter() - t0
        except (TypeError, ValueError) as exc:
            raise _Error(f"{args.train}: {exc}") from None
        tagger.metadata = {k: v for k, v in {
            "format": fmt, "tag_field": tag, "input_fields": list(inputs),
            "word_field": inputs[0], "columns": args.columns if fmt == "conll" else None,
            "sep": args.sep, "templates": templates,
            "trained_on": os.path.basename(args.train)}.items() if v is not None}
        try:
            tagger.save(args.model)
        except OSError as exc:
            raise _Error(f"cannot write the model to {args.model}: {exc}") from None
        if not args.quiet:
            log = tagger.crf_.training_log_
            stacked = (f", stacked on a first level ({tagger._stack_folds()} folds)"
                       if tagger.level1_ is not None else "")
            print(f"trained a CRF tagger ({templates!r} templates{stacked} on "
                  f"{', '.join(inputs)}) on {tagger.n_train_sents_:,} sentences, "
                  f"{tagger.n_train_tokens_:,} tokens: {len(tagger.tags_)} {tag!r} tags, "
                  f"{tagger.features_.n_attributes_:,} attributes, "
                  f"{log.featgen_num_features:,} features, {len(log.iterations)} iterations "
                  f"({log.stop_reason}) in {dt:.1f} s; saved {args.model}", file=sys.stderr)
        if dev is not None:
            res = tagger.evaluation_report(dev, tag=tag, per_tag=False)
            extra = f", chunk F1 {100 * res.f1:.2f}" if res.f1 is not None else ""
            print(f"dev {args.dev}: accuracy {100 * res.accuracy:.2f} %{extra}, "
                  f"{res.tokens_per_s:,.0f} tokens/s", file=sys.stderr)
        return 0
    except (_Error, OSError) as exc:
        print(f"fastseq train crf: error: {exc}", file=sys.stderr)
        return 1
