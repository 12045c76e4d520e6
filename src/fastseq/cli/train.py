"""``fastseq train KIND``: train a tagger from tagged data and save it.

Kinds (:data:`TRAIN_KINDS`): ``hmm`` (:class:`fastseq.taggers.HMMTagger`) and ``crf``
(:class:`fastseq.taggers.CRFTagger`)::

    fastseq train hmm --train en_ewt-ud-train.conllu --tag-field upos --model upos.zip
    fastseq train crf --train conll2000/train.txt --templates chunk --model chunk.crf
    fastseq train crf --train conll2003_en/train.txt --columns word,pos,chunk,ner \\
        --templates ner --model ner.crf

The model file records how the data was read (format, columns, fields), so ``fastseq tag``
and ``fastseq eval`` read their input the same way.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable, Dict, NamedTuple

from ..taggers import CRFTagger, HMMTagger
from . import options
from .errors import CLIError
from .inputs import read_tagged

__all__ = ["MAX_ITERATIONS", "TRAIN_KINDS", "TrainKind", "HELP", "DESCRIPTION",
           "add_arguments", "run"]

HELP = "train a tagger from tagged data"
DESCRIPTION = "Train a tagger: fastseq train KIND --train FILE --model OUT ..."


class TrainKind(NamedTuple):
    """A model kind of ``fastseq train KIND``."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}" if seconds > 0 else "inf"


def _add_data_arguments(p: argparse.ArgumentParser, dev_help: str) -> None:
    p.add_argument("--train", required=True, metavar="FILE",
                   help="tagged training data (CoNLL-U or CoNLL; '-' for stdin)")
    p.add_argument("--model", required=True, metavar="OUT", help="where to write the model")
    p.add_argument("--dev", metavar="FILE", help=dev_help)


def _source_name(path: str) -> str:
    return os.path.basename(path) if path != "-" else "<stdin>"


def _check_model_path(args: argparse.Namespace) -> None:
    """Refuse a --model that is one of the data files, which saving would overwrite."""
    for opt in ("train", "dev"):
        data = getattr(args, opt)
        if (data and data != "-" and os.path.exists(args.model) and os.path.exists(data)
                and os.path.samefile(args.model, data)):
            raise CLIError(f"--model {args.model} is the --{opt} file, which saving the model "
                           "would overwrite")


def _save(tagger, path: str) -> None:
    try:
        tagger.save(path)
    except OSError as exc:
        raise CLIError(f"cannot write the model to {path}: {exc.strerror or exc}") from None


# -- hmm ------------------------------------------------------------------------------------

def _add_hmm_arguments(p: argparse.ArgumentParser) -> None:
    d = HMMTagger().get_params()
    _add_data_arguments(p, "also report accuracy on this tagged file (default: none)")
    options.add_input_format_options(p, formats=("conllu", "conll"))
    h = p.add_argument_group("model (see fastseq.taggers.HMMTagger)")
    h.add_argument("--order", type=int, choices=(1, 2), default=d["order"],
                   help="1: bigram, 2: trigram tag model (default %(default)s)")
    h.add_argument("--beam", type=options.beam, default=d["beam"], metavar="K",
                   help="states kept per token when decoding; 'none' = exact "
                        "(default %(default)s)")
    h.add_argument("--lexicalize", type=int, default=d["lexicalize"], metavar="W",
                   help="frequent ambiguous words given word-specific states "
                        "(default %(default)s)")
    h.add_argument("--rare-threshold", type=options.positive_int, default=d["rare_threshold"],
                   metavar="C", help="words seen <= C times train the unknown-word model "
                                     "(default %(default)s)")
    h.add_argument("--max-suffix", type=int, default=d["max_suffix"], metavar="L",
                   help="longest suffix of the unknown-word model (default %(default)s)")
    h.add_argument("--suffix-smoothing", type=options.suffix_smoothing,
                   default=d["suffix_smoothing"], metavar="K",
                   help="'tnt' or a Dirichlet strength (default %(default)s)")
    h.add_argument("--known-prior", type=options.nonneg_float, default=d["known_prior"],
                   metavar="B", help="smoothing of known words towards the suffix model "
                                     "(default %(default)s)")
    h.add_argument("--case-backoff", type=options.nonneg_float, default=d["case_backoff"],
                   metavar="A", help="weight of a known other-case spelling of an unknown "
                                     "word, 0..1 (default %(default)s)")
    options.add_run_options(p)


def _run_hmm(args: argparse.Namespace) -> int:
    _check_model_path(args)
    try:
        tagger = HMMTagger(order=args.order, beam=args.beam, lexicalize=args.lexicalize,
                           rare_threshold=args.rare_threshold, max_suffix=args.max_suffix,
                           suffix_smoothing=args.suffix_smoothing, known_prior=args.known_prior,
                           case_backoff=args.case_backoff, n_threads=args.threads)
    except (TypeError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    t0 = time.perf_counter()
    data = read_tagged(args.train, args)
    t_read = time.perf_counter() - t0
    # read before training, so that a bad --dev file fails fast and writes no model
    gold = read_tagged(args.dev, args, model_meta=data.info).pairs() if args.dev else None
    try:
        tagger.train(data.pairs(), progress=args.progress)
    except (TypeError, ValueError) as exc:
        raise CLIError(f"{args.train}: {exc}") from None
    tagger.metadata = {**data.info, "trained_on": _source_name(args.train)}
    _save(tagger, args.model)
    n = tagger.n_train_tokens_
    if not args.quiet:
        print(f"trained an HMM tagger on {tagger.n_train_sents_:,} sentences, {n:,} tokens "
              f"({data.tag!r} tags: {len(tagger.tags_)}, words: {len(tagger.vocab_):,}, "
              f"states: {tagger.n_states_}) in {tagger.train_time_:.2f} s "
              f"({_rate(n, tagger.train_time_)} tokens/s; reading {t_read:.2f} s); "
              f"saved {args.model}", file=sys.stderr)
    if gold is not None:
        res = tagger.evaluation_report(gold, per_tag=False)
        print(f"dev {args.dev}: accuracy {100 * res.accuracy:.2f} % (known "
              f"{100 * res.known_accuracy:.2f} %, unknown {100 * res.unknown_accuracy:.2f} "
              f"% on {res.n_unknown:,} tokens), {res.tokens_per_s:,.0f} tokens/s",
              file=sys.stderr)
    return 0


# -- crf ------------------------------------------------------------------------------------

_TEMPLATE_SETS = ("pos", "chunk", "ner", "crfsuite_chunk")

#: The iteration cap of ``fastseq train crf`` (``--max-iterations``). The library's lbfgs,
#: like CRFsuite's, has none and runs until its stopping tests hold, which on a large data
#: set can take hundreds of iterations; a command run with the defaults should end in a
#: bounded time. (The averaged perceptron's own default is 100 epochs too.)
MAX_ITERATIONS = 100


def _add_crf_arguments(p: argparse.ArgumentParser) -> None:
    _add_data_arguments(p, "tagged development data: scored after training (and at every "
                           "iteration with --verbose)")
    g = options.add_input_format_options(p, formats=("conllu", "conll"), word_field=False)
    g.add_argument("--input-fields", type=options.column_names, metavar="NAMES",
                   help="columns feeding the templates (default: form for conllu, all but the "
                        "tag column for conll)")
    m = p.add_argument_group("model (see fastseq.taggers.CRFTagger, fastseq.crf.CRF)")
    m.add_argument("--templates", choices=_TEMPLATE_SETS, default=None,
                   help="built-in feature templates (default: pos for conllu, ner for conll)")
    m.add_argument("--stack", type=int, default=None, metavar="K",
                   help="two-level stacked tagger, the first level's training tags from K "
                        "jackknife folds (0: off; default: 2 for --templates pos, else 0)")
    m.add_argument("--algorithm", choices=("lbfgs", "ap"), default=None,
                   help="lbfgs (OWL-QN when --c1 > 0) or ap (averaged perceptron) "
                        "(default: lbfgs)")
    m.add_argument("--c1", type=options.nonneg_float, default=None,
                   help="L1 coefficient, lbfgs (default: 0)")
    m.add_argument("--c2", type=options.nonneg_float, default=None,
                   help="L2 coefficient, lbfgs (default: by --templates: 0.03 pos, 0.1 ner, "
                        "1 chunk and crfsuite_chunk)")
    m.add_argument("--max-iterations", type=options.nonneg_int, default=MAX_ITERATIONS,
                   metavar="N",
                   help="stop after N iterations (lbfgs) or epochs (ap); 0: no cap, as the "
                        "library's lbfgs default (default: %(default)s)")
    m.add_argument("--min-freq", type=options.nonneg_float, default=None, metavar="F",
                   help="drop features seen less often than this (default: 0, keep all)")
    m.add_argument("--all-possible-states", action="store_true", default=None,
                   help="also create the state features of (attribute, tag) pairs never seen "
                        "in training")
    m.add_argument("--all-possible-transitions", action="store_true", default=None,
                   help="also create the transition features of tag pairs never seen in "
                        "training")
    m.add_argument("--epsilon", type=options.nonneg_float, default=None,
                   help="stopping threshold: lbfgs, the relative gradient norm (default: "
                        "1e-5); ap, the error rate of an epoch (default: 0)")
    m.add_argument("--period", type=options.nonneg_int, default=None, metavar="K",
                   help="lbfgs: stop when the loss improved by less than --delta over K "
                        "iterations (default: 10)")
    m.add_argument("--delta", type=options.nonneg_float, default=None,
                   help="lbfgs: see --period (default: 1e-5)")
    m.add_argument("--num-memories", type=options.positive_int, default=None, metavar="M",
                   help="lbfgs: corrections kept (default: 6)")
    m.add_argument("--order", type=int, choices=(1, 2), default=None,
                   help="2: a second-order CRF (weights for tag triples; lbfgs) (default: 1)")
    p.add_argument("--verbose", action="store_true",
                   help="also score --dev at every iteration (slower)")
    options.add_run_options(p, progress=False)


def _run_crf(args: argparse.Namespace) -> int:
    _check_model_path(args)
    if args.format is None and args.train != "-":
        args.format = "conllu" if args.train.endswith(".conllu") else "conll"
    data = read_tagged(args.train, args, input_fields=args.input_fields,
                       every_column_an_input=True)
    fmt = data.info["format"]
    templates = args.templates or ("pos" if fmt == "conllu" else "ner")
    dev = None
    if args.dev:
        dev = read_tagged(args.dev, args, model_meta=data.info).columns()
    try:
        tagger = CRFTagger(templates=templates, stack=args.stack, algorithm=args.algorithm,
                           c1=args.c1, c2=args.c2, max_iterations=args.max_iterations,
                           min_freq=args.min_freq,
                           all_possible_states=args.all_possible_states,
                           all_possible_transitions=args.all_possible_transitions,
                           epsilon=args.epsilon, period=args.period, delta=args.delta,
                           num_memories=args.num_memories, order=args.order,
                           # the per-iteration lines are the progress report
                           verbose=args.verbose or not args.quiet,
                           n_threads=args.threads)
        t0 = time.perf_counter()
        tagger.train(data.columns(), dev=dev if args.verbose else None, tag=data.tag)
        dt = time.perf_counter() - t0
    except (TypeError, ValueError) as exc:
        raise CLIError(f"{args.train}: {exc}") from None
    tagger.verbose = args.verbose  # the progress lines were this run's, not the model's
    tagger.metadata = {**data.info, "templates": templates,
                       "trained_on": _source_name(args.train)}
    _save(tagger, args.model)
    if not args.quiet:
        log = tagger.crf_.training_log_
        assert log is not None  # fit() sets it
        stacked = (f", stacked on a first level ({tagger.stack_folds} folds)"
                   if tagger.level1_ is not None else "")
        print(f"trained a CRF tagger ({templates!r} templates{stacked} on "
              f"{', '.join(data.inputs)}) on {tagger.n_train_sents_:,} sentences, "
              f"{tagger.n_train_tokens_:,} tokens: {len(tagger.tags_)} {data.tag!r} tags, "
              f"{tagger.features_.n_attributes_:,} attributes, "
              f"{log.featgen_num_features:,} features, {len(log.iterations)} iterations "
              f"({log.stop_reason}) in {dt:.1f} s; saved {args.model}", file=sys.stderr)
    if dev is not None:
        res = tagger.evaluation_report(dev, tag=data.tag, per_tag=False)
        extra = f", chunk F1 {100 * res.f1:.2f}" if res.f1 is not None else ""
        print(f"dev {args.dev}: accuracy {100 * res.accuracy:.2f} %{extra}, "
              f"{res.tokens_per_s:,.0f} tokens/s", file=sys.stderr)
    return 0


#: model kinds of ``fastseq train KIND``
TRAIN_KINDS: Dict[str, TrainKind] = {
    "hmm": TrainKind(help="supervised HMM tagger (TnT-style trigram HMM with a suffix model "
                          "for unknown words)",
                     add_arguments=_add_hmm_arguments, run=_run_hmm),
    "crf": TrainKind(help="linear-chain CRF tagger over feature templates "
                          "(sklearn-crfsuite-compatible CRF, L-BFGS / OWL-QN / averaged "
                          "perceptron)",
                     add_arguments=_add_crf_arguments, run=_run_crf),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One sub-parser per :data:`TRAIN_KINDS` entry."""
    kinds = parser.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True
    for name, kind in TRAIN_KINDS.items():
        kp = kinds.add_parser(name, help=kind.help, description=kind.help,
                              formatter_class=options.HelpFormatter)
        kind.add_arguments(kp)
        kp.set_defaults(_run=kind.run)


def run(args: argparse.Namespace) -> int:
    """Run ``fastseq train KIND``: the run of the kind chosen; returns the exit status."""
    return args._run(args)
