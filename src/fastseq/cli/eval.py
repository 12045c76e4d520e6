"""``fastseq eval``: score a trained tagger on tagged data.

Prints the accuracy (overall, on known and on unknown words), CoNLL chunk scores when the
tags are chunk labels, and precision / recall / F1 per tag (or per chunk type); ``--json``
prints the same as JSON.
"""
from __future__ import annotations

import argparse
import json

from . import options
from .errors import CLIError
from .inputs import load_model, read_tagged

__all__ = ["HELP", "DESCRIPTION", "add_arguments", "run"]

HELP = "evaluate a trained model on tagged data"
DESCRIPTION = ("Accuracy (overall, known and unknown words), chunk scores for chunk labels, "
               "and per-tag precision / recall / F1 of a model on a tagged file.")


def _gold_sentences(tagger, path: str, args):
    """(gold sentences in the form ``tagger.evaluation_report`` reads, the data read)."""
    data = read_tagged(path, args, model_meta=getattr(tagger, "metadata", None))
    return (data.columns() if len(data.inputs) > 1 else data.pairs()), data


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of ``fastseq eval`` to its sub-parser."""
    p.add_argument("--model", required=True, metavar="M", help="model file (fastseq train)")
    p.add_argument("--test", required=True, metavar="FILE",
                   help="tagged test data (CoNLL-U or CoNLL; '-' for stdin)")
    options.add_input_format_options(p, formats=("conllu", "conll"))
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--digits", type=options.digits, default=4,
                   help="digits in the per-tag report, 0 to 15 (default %(default)s)")
    options.add_run_options(p)


def run(args: argparse.Namespace) -> int:
    """Run ``fastseq eval``: score the model on the test file; returns the exit status."""
    tagger = load_model(args.model, args.threads)
    gold, data = _gold_sentences(tagger, args.test, args)
    kw = {"tag": data.tag} if len(data.inputs) > 1 else {}
    try:
        res = tagger.evaluation_report(gold, **kw)
    except (TypeError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    if args.json:
        d = res.as_dict()
        d.update(model=args.model, test=args.test, tag_field=data.tag)
        print(json.dumps(d, indent=2, default=float))
    else:
        print(f"model {args.model}, test {args.test} (tags: {data.tag})")
        print(res.report(digits=args.digits))
    return 0
