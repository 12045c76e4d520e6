"""``fastseq eval``: score a trained tagger on tagged data.

Prints the accuracy (overall, on known and on unknown words), CoNLL entity (chunk) scores
whenever the tags are IOB-like, whatever the kind of model, and precision / recall / F1 per
tag (or per entity type); ``--json`` prints the same as JSON. ``--confusion`` adds the
confusion matrix, ``--errors K`` the K most frequent confusions with an example word each,
and ``--output FILE`` writes the predictions in CoNLL form (word, gold tag, predicted tag),
as conlleval reads them.
"""
from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from typing import Dict, List, Tuple

from . import options
from .errors import CLIError
from .inputs import TaggedData, load_model, read_tagged

__all__ = ["HELP", "DESCRIPTION", "add_arguments", "run"]

HELP = "evaluate a trained model on tagged data"
DESCRIPTION = ("Accuracy (overall, known and unknown words), entity scores (conlleval style) "
               "for IOB-like tags, and per-tag precision / recall / F1 of a model on a tagged "
               "file; optionally the confusion matrix, the most frequent errors and the "
               "predictions.")


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
    p.add_argument("--confusion", action="store_true",
                   help="also print the confusion matrix (rows: gold tags, columns: predicted)")
    p.add_argument("--errors", type=options.nonneg_int, default=0, metavar="K",
                   help="also print the K most frequent (gold, predicted) confusions, with an "
                        "example word each (default: %(default)s, none)")
    p.add_argument("--output", metavar="FILE",
                   help="write the predictions to FILE as CoNLL lines 'word gold predicted', "
                        "a blank line after each sentence (default: none)")
    options.add_run_options(p)


def _check_tag_overlap(tagger, data: TaggedData, path: str) -> None:
    """CLIError when no gold tag is a tag of the model: the wrong column, or the wrong model,
    would otherwise score 0 without a word of why."""
    gold = {t for s in data.sents for t in s[data.tag]}
    known = set(getattr(tagger, "tags_", None) or ())
    if known and not gold & known:
        def some(tags) -> str:  # a few, each cut short: the message stays one short line
            shown = [t if len(t) <= 20 else t[:19] + "…" for t in sorted(tags)[:6]]
            return ", ".join(shown) + (", ..." if len(tags) > 6 else "")
        raise CLIError(f"{path}: none of the {len(gold)} gold tags in column {data.tag!r} "
                       f"({some(gold)}) is a tag of the model ({some(known)}): is --tag-field "
                       "(or --columns) right, and is this the model for this data?")


def _predictions(tagger, data: TaggedData) -> List[List[str]]:
    """The model's tags of every test sentence, read as ``evaluation_report`` reads it."""
    if len(data.inputs) > 1:
        inputs = [{c: s[c] for c in data.inputs} for s in data.sents]
        return tagger.predict(inputs)
    return tagger.predict([s[data.word] for s in data.sents])


def _confusion(gold: List[List[str]], pred: List[List[str]]
               ) -> Tuple[List[str], List[List[int]]]:
    """(labels, counts[gold][predicted]) over the labels of both, sorted."""
    labels = sorted({t for s in gold for t in s} | {t for s in pred for t in s})
    index = {t: i for i, t in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for gs, ps in zip(gold, pred):
        for g, p in zip(gs, ps):
            counts[index[g]][index[p]] += 1
    return labels, counts


def _format_confusion(labels: List[str], counts: List[List[int]]) -> str:
    head = "gold \\ predicted"
    first = max([len(head)] + [len(t) for t in labels])
    width = max([len(t) for t in labels] + [len(str(c)) for row in counts for c in row])
    lines = [head.ljust(first) + "".join(" " + t.rjust(width) for t in labels)]
    for t, row in zip(labels, counts):
        lines.append(t.ljust(first) + "".join(" " + str(c).rjust(width) for c in row))
    return "\n".join(lines)


def _top_errors(words: List[List[str]], gold: List[List[str]], pred: List[List[str]],
                k: int) -> List[Dict[str, object]]:
    """The k most frequent (gold, predicted) pairs that differ, with the first word seen."""
    counts: Counter = Counter()
    example: Dict[Tuple[str, str], str] = {}
    for ws, gs, ps in zip(words, gold, pred):
        for w, g, p in zip(ws, gs, ps):
            if g != p:
                counts[g, p] += 1
                example.setdefault((g, p), w)
    return [{"gold": g, "predicted": p, "count": n, "example": example[g, p]}
            for (g, p), n in counts.most_common(k)]


def _write_predictions(path: str, test: str, words, gold, pred) -> None:
    if test != "-" and os.path.exists(path) and os.path.samefile(path, test):
        raise CLIError(f"--output {path} is the --test file, which writing would erase")
    try:
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            for ws, gs, ps in zip(words, gold, pred):
                fh.write("".join(f"{w} {g} {p}\n" for w, g, p in zip(ws, gs, ps)) + "\n")
    except OSError as exc:
        raise CLIError(f"cannot write the predictions to {path}: "
                       f"{exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    """Run ``fastseq eval``: score the model on the test file; returns the exit status."""
    tagger = load_model(args.model, args.threads)
    gold_sents, data = _gold_sentences(tagger, args.test, args)
    _check_tag_overlap(tagger, data, args.test)
    kw = {"tag": data.tag} if len(data.inputs) > 1 else {}
    try:
        res = tagger.evaluation_report(gold_sents, **kw)
        detail = args.confusion or args.errors or args.output
        pred = _predictions(tagger, data) if detail else []
    except (TypeError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    words = [s[data.word] for s in data.sents]
    gold = [s[data.tag] for s in data.sents]
    confusion = _confusion(gold, pred) if args.confusion else None
    errors = _top_errors(words, gold, pred, args.errors) if args.errors else None
    if args.output:
        _write_predictions(args.output, args.test, words, gold, pred)
    if args.json:
        d = res.as_dict()
        d.update(model=args.model, test=args.test, tag_field=data.tag)
        if confusion is not None:
            d["confusion"] = {"labels": confusion[0], "counts": confusion[1]}
        if errors is not None:
            d["errors"] = errors
        print(json.dumps(d, indent=2, default=float))
    else:
        print(f"model {args.model}, test {args.test} (tags: {data.tag})")
        print(res.report(digits=args.digits))
        if confusion is not None:
            print("\nconfusion matrix (rows: gold, columns: predicted):")
            print(_format_confusion(*confusion))
        if errors is not None:
            print(f"\nthe {len(errors)} most frequent errors (gold -> predicted):" if errors
                  else "\nno errors")
            width = max([len(str(e["count"])) for e in errors] + [1])
            for e in errors:
                print(f"{str(e['count']).rjust(width)}  {e['gold']} -> {e['predicted']}  "
                      f"e.g. {e['example']!r}")
    return 0
