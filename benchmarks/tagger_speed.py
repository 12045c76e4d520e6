"""Tagging and stacked-training speed of fastseq's taggers on UD English-EWT (UPOS).

Focused on where users wait: tagging a whole corpus in one call, tagging it again (a
loaded tagger works through many documents), tagging one sentence per call, and training
a stacked CRF tagger::

    python benchmarks/tagger_speed.py                       # ~2 minutes
    python benchmarks/tagger_speed.py --crf-sents 1000      # quicker CRF models
    python benchmarks/tagger_speed.py --json out.json

The CRF taggers are trained on the first ``--crf-sents`` training sentences with
``--crf-iterations`` L-BFGS iterations (their speed, not their accuracy, is measured
here: benchmarks/crf_figures.py has the accuracy). Speeds are tokens per second, the best
of ``--repeat`` runs; "first call" is a tagger's first batch after training (its lookup
tables are built then). Compare versions by running this script for each in turn, on an
otherwise idle machine (the figures are wall-clock times). The corpora are read from
``--data-home``, else ``$FASTSEQ_DATA`` (see :mod:`fastseq.datasets`).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

from fastseq import __version__, datasets, effective_n_threads
from fastseq.taggers import CRFTagger, HMMTagger


def best_of(repeat, fn):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def tagging(tagger, words, repeat):
    """tokens/s: first call, best of later calls, one sentence per call (a sample)."""
    n = sum(map(len, words))
    t0 = time.perf_counter()
    tagger.predict(words)
    first = time.perf_counter() - t0
    again = best_of(repeat, lambda: tagger.predict(words))
    sample = words[::10]
    one = best_of(1, lambda: [tagger.predict([s]) for s in sample])
    return {"first_call": n / first, "again": n / again,
            "one_sentence_per_call": sum(map(len, sample)) / one}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-home", default=None, help="folder holding ud_english_ewt/")
    ap.add_argument("--repeat", type=int, default=3, help="timing repeats (best of)")
    ap.add_argument("--threads", type=int, default=None, help="threads (default all)")
    ap.add_argument("--crf-sents", type=int, default=3000, help="CRF training sentences")
    ap.add_argument("--crf-iterations", type=int, default=15, help="CRF L-BFGS iterations")
    ap.add_argument("--json", metavar="FILE", help="write the results as JSON")
    args = ap.parse_args(argv)
    try:
        train = datasets.load_tagged("ud_english_ewt", "train", tag="upos",
                                     data_home=args.data_home)
        test = datasets.load_tagged("ud_english_ewt", "test", tag="upos",
                                    data_home=args.data_home)
    except FileNotFoundError as exc:
        print(f"tagger_speed: {exc}", file=sys.stderr)
        return 1
    words = [[w for w, _ in s] for s in test]
    print(f"fastseq {__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"threads: {effective_n_threads(args.threads)}; UD English-EWT test: "
          f"{sum(map(len, words)):,} tokens\n")
    results = {}
    print("| tagger | first call | again | one sentence per call |")
    print("|---|---|---|---|")
    hmm = HMMTagger(n_threads=args.threads).train(train)
    results["HMMTagger"] = tagging(hmm, words, args.repeat)
    sub = train[:args.crf_sents]
    for stack in (0, 2):
        crf = CRFTagger(templates="pos", stack=stack, max_iterations=args.crf_iterations,
                        n_threads=args.threads)
        t0 = time.perf_counter()
        crf.train(sub)
        name = f"CRFTagger(stack={stack})"
        results[name] = dict(tagging(crf, words, args.repeat),
                             train_seconds=time.perf_counter() - t0)
    for name, r in results.items():
        print(f"| {name} | {r['first_call']:,.0f} | {r['again']:,.0f} "
              f"| {r['one_sentence_per_call']:,.0f} |")
    print(f"\nCRF training ({len(sub):,} sentences, {args.crf_iterations} iterations): "
          + ", ".join(f"{k} {r['train_seconds']:.1f} s" for k, r in results.items()
                      if "train_seconds" in r))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"fastseq": __version__, "results": results}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
