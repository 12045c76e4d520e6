"""Accuracy and speed of fastseq.taggers.HMMTagger on UD English-EWT.

Trains on ``train`` and reports, on ``test`` (``--split dev`` for tuning), UPOS and XPOS
accuracy -- overall, on known words and on unknown words -- and
training and tagging speed in tokens per second::

    python benchmarks/tagger_figures.py                    # the headline table (~30 s)
    python benchmarks/tagger_figures.py --ablations        # + the design choices, on dev
    python benchmarks/tagger_figures.py --json out.json    # machine-readable too

Targets: UPOS >= 93.5 %, XPOS >= 92.5 % on test. For comparison, NLTK's supervised
HMM tagger measured UPOS 87.6 % on the same split.

Speeds are the best of ``--repeat`` runs (wall clock, ``time.perf_counter``). Training speed
counts everything ``HMMTagger.train`` does (validation, counting, smoothing, suffix tries)
on already-loaded sentences; tagging speed is ``HMMTagger.predict`` on the test sentences
(token lists in, tag lists out: unknown-word model, lattice construction, the batched
Viterbi kernel call) at the default thread count and at one thread. The corpora are read
from ``--data-home``, else ``$FASTSEQ_DATA`` (see :mod:`fastseq.datasets`).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

from fastseq import __version__, datasets, effective_n_threads
from fastseq.io import to_tagged
from fastseq.taggers import HMMTagger

TARGETS = {"upos": 0.935, "xpos": 0.925}

# the design steps from a TnT-like baseline to the default model (evaluated on dev)
ABLATIONS = [
    ("TnT-like: trigram, suffix tries with TnT's theta, no lexicalisation",
     dict(lexicalize=0, known_prior=0.0, suffix_smoothing="tnt")),
    ("+ Dirichlet suffix smoothing (k=5)", dict(lexicalize=0, known_prior=0.0)),
    ("+ rare known words smoothed towards the suffix model", dict(lexicalize=0)),
    ("+ word-specific states for 100 frequent ambiguous words (default)", dict()),
    ("default with a bigram tag model (order=1)", dict(order=1)),
    ("default, beam 3", dict(beam=3)),
    ("default, beam 8", dict(beam=8)),
    ("default, no case backoff", dict(case_backoff=0.0)),
    ("default, 150 lexicalised words", dict(lexicalize=150)),
]


def best_of(repeat, fn):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def load(data_home):
    t0 = time.perf_counter()
    splits = {s: datasets.load("ud_english_ewt", s, data_home=data_home)
              for s in ("train", "dev", "test")}
    data = {(f, s): to_tagged(sents, word="form", tag=f)
            for f in ("upos", "xpos") for s, sents in splits.items()}
    return data, time.perf_counter() - t0


def measure(data, field, split, params, repeat, n_threads):
    train, gold = data[field, "train"], data[field, split]
    n_train = sum(map(len, train))
    t_train, tagger = best_of(repeat, lambda: HMMTagger(**params).train(train))
    rep = tagger.evaluation_report(gold, per_tag=False)
    words = [[w for w, _ in s] for s in gold]
    n_test = sum(map(len, words))
    tagger.predict(words[:50])  # warm up (lazy tables)
    t_tag, _ = best_of(repeat, lambda: tagger.predict(words))
    tagger.n_threads = 1
    t_tag1, _ = best_of(repeat, lambda: tagger.predict(words))
    tagger.n_threads = n_threads
    return {
        "field": field, "split": split, "params": params,
        "accuracy": rep.accuracy, "known_accuracy": rep.known_accuracy,
        "unknown_accuracy": rep.unknown_accuracy, "n_tokens": rep.n_tokens,
        "n_unknown": rep.n_unknown, "tags": len(tagger.tags_), "states": tagger.n_states_,
        "train_tokens": n_train, "train_s": t_train, "train_tok_s": n_train / t_train,
        "tag_s": t_tag, "tag_tok_s": n_test / t_tag, "tag_tok_s_1thread": n_test / t_tag1,
        "lambdas": [round(float(x), 4) for x in tagger.lambdas_],
    }


def pct(x):
    return f"{100 * x:.2f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-home", default=None, help="folder holding ud_english_ewt/")
    ap.add_argument("--split", default="test", choices=("test", "dev"))
    ap.add_argument("--repeat", type=int, default=3, help="timing repeats (best of)")
    ap.add_argument("--threads", type=int, default=None, help="kernel threads (default all)")
    ap.add_argument("--ablations", action="store_true",
                    help="also evaluate the design steps on dev")
    ap.add_argument("--json", metavar="FILE", help="write all results as JSON")
    args = ap.parse_args(argv)

    try:
        data, t_load = load(args.data_home)
    except FileNotFoundError as exc:
        print(f"tagger_figures: {exc}", file=sys.stderr)
        return 1
    threads = effective_n_threads(args.threads)
    print(f"fastseq {__version__}, Python {platform.python_version()}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs, kernel threads: {threads}; corpus loaded in {t_load:.1f} s")
    print(f"UD English-EWT: train on train, evaluate on {args.split}; HMMTagger defaults "
          f"{HMMTagger().get_params()}\n")

    results = []
    print("| tags | accuracy | known words | unknown words (share) | target | train tokens/s "
          "| tag tokens/s | tag tokens/s, 1 thread |")
    print("|---|---|---|---|---|---|---|---|")
    for field in ("upos", "xpos"):
        r = measure(data, field, args.split, {"n_threads": args.threads}, args.repeat,
                    args.threads)
        results.append(r)
        status = ("PASS" if r["accuracy"] >= TARGETS[field] else "MISS") \
            if args.split == "test" else "-"
        print(f"| {field.upper()} ({r['tags']}, {r['states']} states) | {pct(r['accuracy'])} % "
              f"| {pct(r['known_accuracy'])} % | {pct(r['unknown_accuracy'])} % "
              f"({pct(r['n_unknown'] / r['n_tokens'])} %) | >= {pct(TARGETS[field])} % "
              f"{status} | {r['train_tok_s']:,.0f} | {r['tag_tok_s']:,.0f} "
              f"| {r['tag_tok_s_1thread']:,.0f} |")
    print(f"\n(train: {results[0]['train_tokens']:,} tokens in {results[0]['train_s']:.2f} s "
          f"(UPOS) / {results[1]['train_s']:.2f} s (XPOS); tagging: {results[0]['n_tokens']:,} "
          f"tokens; interpolation weights UPOS {results[0]['lambdas']}, XPOS "
          f"{results[1]['lambdas']})")

    if args.ablations:
        print("\nDesign steps, evaluated on dev (accuracy %, known, unknown, tag tokens/s):\n")
        print("| model | UPOS | XPOS | UPOS tag tokens/s | XPOS tag tokens/s |")
        print("|---|---|---|---|---|")
        for name, params in ABLATIONS:
            params = dict(params, n_threads=args.threads)
            row = [measure(data, f, "dev", params, 1, args.threads) for f in ("upos", "xpos")]
            results.extend(row)
            cells = [f"{pct(r['accuracy'])} ({pct(r['known_accuracy'])} / "
                     f"{pct(r['unknown_accuracy'])})" for r in row]
            print(f"| {name} | {cells[0]} | {cells[1]} | {row[0]['tag_tok_s']:,.0f} "
                  f"| {row[1]['tag_tok_s']:,.0f} |")
        # exact second-order decoding over the 17 x 17 UPOS tag pairs vs the beam
        base = dict(lexicalize=0, n_threads=args.threads)
        for split in ("dev", "test"):
            gold = data["upos", split]
            words = [[w for w, _ in s] for s in gold]
            tg = HMMTagger(**base).train(data["upos", "train"])
            out = {}
            for beam in (5, None):
                tg.beam = beam
                t, out[beam] = best_of(1, lambda: tg.predict(words))
                acc = tg.evaluate(gold)
                results.append({"field": "upos", "split": split, "params": dict(base, beam=beam),
                                "accuracy": acc, "tag_tok_s": sum(map(len, words)) / t})
                print(f"UPOS {split}, lexicalize=0, beam={beam}: {pct(acc)} %, "
                      f"{sum(map(len, words)) / t:,.0f} tokens/s")
            diff = sum(a != b for x, y in zip(out[5], out[None]) for a, b in zip(x, y))
            print(f"  tokens where beam 5 and exact pair decoding differ: {diff}")

    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"fastseq": __version__, "threads": threads, "results": results}, fh,
                      indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
