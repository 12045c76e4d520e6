"""Figures for fastseq.crf: parity and speed against CRFsuite, accuracy of the built-in
feature templates.

Run from the repository root (the corpora are read from ``$FASTSEQ_DATA``, see
:mod:`fastseq.datasets`; python-crfsuite is needed for the parity part)::

    python benchmarks/crf_figures.py                          # everything (long: ~1 h on 2 cores)
    python benchmarks/crf_figures.py --part parity            # CRFsuite comparison only
    python benchmarks/crf_figures.py --part algorithms        # ap, pa, arow, l2sgd vs CRFsuite
    python benchmarks/crf_figures.py --part accuracy --corpora conll2003,wnut17
    python benchmarks/crf_figures.py --part tune --corpora conll2003 --grid 0:1,0.05:0.05
    python benchmarks/crf_figures.py --json results.json      # also write the numbers

(1) ``parity``: CoNLL-2000 chunking with CRFsuite's own chunking templates
(``fastseq.features`` set ``"crfsuite_chunk"``: words at -2..2, the two adjacent word bigrams,
POS at -2..2, POS bigrams and trigrams, __BOS__/__EOS__ -- the attribute strings are
identical for both libraries), L-BFGS with c2=1 (CRFsuite's defaults otherwise), trained in the
same run by fastseq (``--threads``, default 2) and by python-crfsuite (single-threaded).
Reported: chunk F1 on the test split (conlleval), training wall time (fastseq: ``CRF.fit`` on
the feature matrix, which includes feature generation; python-crfsuite: ``Trainer.train``,
which includes CRFsuite's feature generation; appending / featurising reported apart),
iterations, active features, and tagging throughput on the test split with feature
extraction included (fastseq: templates -> sparse matrix -> one batched Viterbi; CRFsuite:
the same templates as python-crfsuite attribute lists -> ``Tagger.tag`` per sentence), best of
``--repeats``.

(2) ``accuracy``: :class:`fastseq.taggers.CRFTagger` with the built-in templates (chunk
labels re-encoded as IOBES for training, decoded with the scheme's constraints, converted
back -- the tagger's defaults), trained on ``train``, scored on ``test`` (CoNLL-2002:
``testb``): CoNLL-2000 chunking F1 (``"chunk"``,
columns word+POS), UD English-EWT UPOS accuracy (``"pos"``, words only), CoNLL-2003 English
NER F1 (``"ner"``, word+POS+chunk), WNUT-17 F1 (``"ner"``, words only), CoNLL-2002 Spanish and
Dutch NER F1 (``"ner"``, word+POS). ``"pos"`` is a stacked tagger (``CRFTagger``'s default
for it, ``DEFAULT_STACK``: two CRFs, the second reading the first's jackknifed tags).
Regularisation: ``--c1`` / ``--c2`` or the per-corpus
values in ``REGULARIZATION`` (chosen with ``--part tune`` on the development splits).

(3) ``tune``: train with each ``c1:c2`` pair of ``--grid`` and score on the development split
(``dev`` / ``valid`` / ``testa``; CoNLL-2000 has none: the last 10 % of ``train``).

(4) ``algorithms``: CRFsuite's other training algorithms (``--algorithms``: ap, pa, arow,
l2sgd with CRFsuite's defaults, l2sgd with c2=1) on the same data as ``parity``, one thread
each (these learners visit one sequence at a time); python-crfsuite trains in a fresh
process per algorithm (its shuffling uses C's ``rand()``, whose state earlier trainings in a
process would change). Reported: chunk F1, training time, epochs, and the time ratio overall
and per epoch (the learners stop after different numbers of epochs).

The machine may be shared: timings are wall-clock; compare the two libraries within one run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

from fastseq import datasets
from fastseq.crf import CRF
from fastseq.features import FeatureExtractor
from fastseq.metrics import accuracy_score, f1_score
from fastseq.taggers import CRFTagger

#: corpus -> (template set, input columns (sentence keys), label column, metric)
CORPORA = {
    "conll2000": ("chunk", ("word", "pos"), "chunk", "f1"),
    "ud_english_ewt": ("pos", ("form",), "upos", "accuracy"),
    "conll2003": ("ner", ("word", "pos", "chunk"), "ner", "f1"),
    "wnut17": ("ner", ("word",), "ner", "f1"),
    "conll2002_esp": ("ner", ("word", "pos"), "ner", "f1"),
    "conll2002_ned": ("ner", ("word", "pos"), "ner", "f1"),
}
ALIASES = {"ud_ewt": "ud_english_ewt", "conll2002_es": "conll2002_esp",
           "conll2002_nl": "conll2002_ned", "conll2003_en": "conll2003"}
#: corpus -> (c1, c2) used by the accuracy part, chosen on the development splits
#: (``--part tune``; CoNLL-2000: the last 10 % of train); CoNLL-2002 uses the "ner" defaults
REGULARIZATION = {
    "conll2000": (0.0, 1.0),
    "ud_english_ewt": (0.0, 0.03),
    "conll2003": (0.0, 0.1),
    "wnut17": (0.3, 0.03),
    "conll2002_esp": (0.0, 0.1),
    "conll2002_ned": (0.0, 0.1),
}
TARGETS = {"conll2000": 94.0, "ud_english_ewt": 95.5, "conll2003": 84.0}
DEV_SPLIT = {"conll2000": None, "ud_english_ewt": "dev", "conll2003": "valid",
             "wnut17": "dev", "conll2002_esp": "testa", "conll2002_ned": "testa"}


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


def _load(name, split, data_home):
    return datasets.load(name, split, data_home=data_home)


def _tagged(sents, cols, tag):
    return [list(zip(*[s[c] for c in cols], s[tag])) for s in sents]


def _inputs(sents, cols):
    return [list(zip(*[s[c] for c in cols])) for s in sents]


# ---------------------------------------------------------------------------------------------
# (1) parity with python-crfsuite
# ---------------------------------------------------------------------------------------------

def part_parity(args):
    import pycrfsuite

    tr = _load("conll2000", "train", args.data_home)
    te = _load("conll2000", "test", args.data_home)
    y_tr = [s["chunk"] for s in tr]
    y_te = [s["chunk"] for s in te]
    n_test_tokens = sum(len(s) for s in y_te)
    res = {"corpus": "conll2000", "templates": "crfsuite_chunk", "c2": 1.0,
           "threads": args.threads}

    # fastseq
    fx = FeatureExtractor("crfsuite_chunk")
    t0 = time.perf_counter()
    F = fx.fit_transform(tr)
    res["fastseq_featurize_s"] = time.perf_counter() - t0
    crf = CRF(c2=1.0, n_threads=args.threads, verbose=args.verbose,
              max_iterations=args.max_iterations)
    t0 = time.perf_counter()
    crf.fit(F, y_tr)
    res["fastseq_train_s"] = time.perf_counter() - t0
    log = crf.training_log_
    res["fastseq_iterations"] = len(log.iterations)
    res["fastseq_features"] = log.featgen_num_features
    res["fastseq_active_features"] = log.last_iteration["active_features"]
    res["fastseq_loss"] = log.last_iteration["loss"]
    res["fastseq_stop"] = log.stop_reason
    pred = crf.predict(fx.transform(te))
    res["fastseq_f1"] = 100 * f1_score(y_te, pred)
    _log(f"fastseq: F1 {res['fastseq_f1']:.2f}, train {res['fastseq_train_s']:.1f} s, "
         f"{res['fastseq_iterations']} iterations, {res['fastseq_active_features']:,} active")

    # python-crfsuite, same attributes
    t0 = time.perf_counter()
    X_tr = fx.to_lists(tr)
    res["crfsuite_featurize_s"] = time.perf_counter() - t0
    trainer = pycrfsuite.Trainer(verbose=False)
    t0 = time.perf_counter()
    for x, y in zip(X_tr, y_tr):
        trainer.append(x, y)
    res["crfsuite_append_s"] = time.perf_counter() - t0
    params = {"c1": 0.0, "c2": 1.0}
    if args.max_iterations:
        params["max_iterations"] = args.max_iterations
    trainer.set_params(params)
    model_path = os.path.join(tempfile.mkdtemp(prefix="crf_figures_"), "conll2000.crfsuite")
    del X_tr
    t0 = time.perf_counter()
    trainer.train(model_path)
    res["crfsuite_train_s"] = time.perf_counter() - t0
    last = trainer.logparser.last_iteration
    res["crfsuite_iterations"] = last["num"]
    res["crfsuite_active_features"] = last.get("active_features")
    res["crfsuite_loss"] = last.get("loss")
    res["crfsuite_features"] = trainer.logparser.featgen_num_features
    tagger = pycrfsuite.Tagger()
    tagger.open(model_path)
    X_te = fx.to_lists(te)
    pred_c = [tagger.tag(x) for x in X_te]
    res["crfsuite_f1"] = 100 * f1_score(y_te, pred_c)
    res["prediction_agreement"] = accuracy_score(pred_c, pred)
    _log(f"crfsuite: F1 {res['crfsuite_f1']:.2f}, train {res['crfsuite_train_s']:.1f} s, "
         f"{res['crfsuite_iterations']} iterations, {res['crfsuite_active_features']:,} active")

    # tagging throughput, feature extraction included
    best_f = best_c = best_c_only = float("inf")
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        crf.predict(fx.transform(te))
        best_f = min(best_f, time.perf_counter() - t0)
        t0 = time.perf_counter()
        xs = fx.to_lists(te)
        t1 = time.perf_counter()
        for x in xs:
            tagger.tag(x)
        t2 = time.perf_counter()
        best_c = min(best_c, t2 - t0)
        best_c_only = min(best_c_only, t2 - t1)
    res["fastseq_tag_tokens_per_s"] = n_test_tokens / best_f
    res["crfsuite_tag_tokens_per_s"] = n_test_tokens / best_c
    res["crfsuite_tag_only_tokens_per_s"] = n_test_tokens / best_c_only
    tagger.close()
    res["train_time_ratio"] = res["fastseq_train_s"] / res["crfsuite_train_s"]
    res["tagging_speedup"] = res["fastseq_tag_tokens_per_s"] / res["crfsuite_tag_tokens_per_s"]
    return res


def print_parity(r):
    print("\n## Parity with python-crfsuite (CoNLL-2000, CRFsuite chunking templates, "
          "L-BFGS, c2=1)\n")
    print("| | fastseq | python-crfsuite | ratio / target |")
    print("|---|---|---|---|")
    print(f"| chunk F1 (test) | {r['fastseq_f1']:.2f} | {r['crfsuite_f1']:.2f} | "
          f"diff {r['fastseq_f1'] - r['crfsuite_f1']:+.2f} (target within +-0.15) |")
    print(f"| training wall time | {r['fastseq_train_s']:.1f} s ({r['threads']} threads) | "
          f"{r['crfsuite_train_s']:.1f} s | {r['train_time_ratio']:.3f} (target <= 0.15) |")
    print(f"| iterations | {r['fastseq_iterations']} | {r['crfsuite_iterations']} | |")
    print(f"| features / active at the end | {r['fastseq_features']:,} / "
          f"{r['fastseq_active_features']:,} | {r['crfsuite_features']:,} / "
          f"{r['crfsuite_active_features']:,} | |")
    print(f"| final objective | {r['fastseq_loss']:.3f} | {r['crfsuite_loss']:.3f} | |")
    print(f"| featurise / append training data | {r['fastseq_featurize_s']:.1f} s | "
          f"{r['crfsuite_featurize_s']:.1f} s + {r['crfsuite_append_s']:.1f} s | |")
    print(f"| tagging, features included (tokens/s) | {r['fastseq_tag_tokens_per_s']:,.0f} | "
          f"{r['crfsuite_tag_tokens_per_s']:,.0f} | {r['tagging_speedup']:.1f}x (target >= 5x) |")
    print(f"| tagging, CRFsuite features precomputed (tokens/s) | | "
          f"{r['crfsuite_tag_only_tokens_per_s']:,.0f} | |")
    print(f"| token agreement of the two models' predictions | | | "
          f"{100 * r['prediction_agreement']:.2f} % |")


# ---------------------------------------------------------------------------------------------
# (4) CRFsuite's other training algorithms
# ---------------------------------------------------------------------------------------------

#: algorithm -> the parameters both libraries get (CRFsuite's defaults otherwise)
ALGORITHMS = {"ap": {}, "pa": {}, "arow": {}, "l2sgd": {"c2": 1.0}}


def _crfsuite_train(algorithm, params, X, y, path):
    """Train python-crfsuite in this (fresh) process: CRFsuite shuffles with C's rand(), so
    a training's result depends on the trainings run before it in the same process."""
    import pycrfsuite

    trainer = pycrfsuite.Trainer(algorithm=algorithm, verbose=False)
    for x, labels in zip(X, y):
        trainer.append(x, labels)
    trainer.set_params(params)
    t0 = time.perf_counter()
    trainer.train(path)
    seconds = time.perf_counter() - t0
    return seconds, trainer.logparser.last_iteration.get("num")


def part_algorithms(args):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import pycrfsuite

    tr = _load("conll2000", "train", args.data_home)
    te = _load("conll2000", "test", args.data_home)
    y_tr = [s["chunk"] for s in tr]
    y_te = [s["chunk"] for s in te]
    fx = FeatureExtractor("crfsuite_chunk")
    F, F_te = fx.fit_transform(tr), fx.transform(te)
    X_tr, X_te = fx.to_lists(tr), fx.to_lists(te)
    out = []
    for alg in args.algorithms:
        params = ALGORITHMS[alg]
        crf = CRF(algorithm=alg, n_threads=1, **params)
        t0 = time.perf_counter()
        crf.fit(F, y_tr)
        r = {"algorithm": alg, "params": params, "fastseq_train_s": time.perf_counter() - t0,
             "fastseq_epochs": len(crf.training_log_.iterations),
             "fastseq_f1": 100 * f1_score(y_te, crf.predict(F_te))}
        path = os.path.join(tempfile.mkdtemp(prefix="crf_figures_"), f"{alg}.crfsuite")
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(1, mp_context=ctx) as pool:
            r["crfsuite_train_s"], r["crfsuite_epochs"] = pool.submit(
                _crfsuite_train, alg, params, X_tr, y_tr, path).result()
        tagger = pycrfsuite.Tagger()
        tagger.open(path)
        r["crfsuite_f1"] = 100 * f1_score(y_te, [tagger.tag(x) for x in X_te])
        tagger.close()
        r["time_ratio"] = r["fastseq_train_s"] / r["crfsuite_train_s"]
        r["epoch_time_ratio"] = ((r["fastseq_train_s"] / r["fastseq_epochs"])
                                 / (r["crfsuite_train_s"] / r["crfsuite_epochs"]))
        _log(f"{alg}: F1 {r['fastseq_f1']:.2f} vs {r['crfsuite_f1']:.2f}, "
             f"{r['fastseq_train_s']:.1f} s vs {r['crfsuite_train_s']:.1f} s")
        out.append(r)
    return out


def print_algorithms(rows):
    print("\n## CRFsuite's other algorithms (CoNLL-2000, CRFsuite chunking templates, one "
          "thread each)\n")
    print("| algorithm | chunk F1 fastseq / CRFsuite (diff) | training fastseq / CRFsuite "
          "| epochs | time ratio (per epoch) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['algorithm']} | {r['fastseq_f1']:.2f} / {r['crfsuite_f1']:.2f} "
              f"({r['fastseq_f1'] - r['crfsuite_f1']:+.2f}) | {r['fastseq_train_s']:.1f} s / "
              f"{r['crfsuite_train_s']:.1f} s | {r['fastseq_epochs']} / {r['crfsuite_epochs']} "
              f"| {r['time_ratio']:.2f} ({r['epoch_time_ratio']:.2f}) |")


# ---------------------------------------------------------------------------------------------
# (2) accuracy of the built-in templates, (3) tuning
# ---------------------------------------------------------------------------------------------

def _train_eval(name, train, test, c1, c2, args, dev=None):
    tset, cols, tag, metric = CORPORA[name]
    tagger = CRFTagger(templates=tset, columns=None, c1=c1, c2=c2, n_threads=args.threads,
                       verbose=args.verbose, max_iterations=args.max_iterations,
                       order=args.order, stack=args.stack)
    t0 = time.perf_counter()
    tagger.train(_tagged(train, cols, tag), dev=_tagged(dev, cols, tag) if dev else None)
    train_s = time.perf_counter() - t0
    gold = [s[tag] for s in test]
    t0 = time.perf_counter()
    pred = tagger.predict(_inputs(test, cols))
    tag_s = time.perf_counter() - t0
    score = 100 * (f1_score(gold, pred) if metric == "f1" else accuracy_score(gold, pred))
    log = tagger.crf_.training_log_
    return {"corpus": name, "templates": tset, "stack": tagger.stack_folds,
            "order": args.order or 1,
            "columns": list(cols), "metric": metric,
            "score": score, "c1": c1, "c2": c2, "train_s": train_s,
            "iterations": len(log.iterations), "features": log.featgen_num_features,
            "attributes": tagger.features_.n_attributes_,
            "tag_tokens_per_s": sum(map(len, gold)) / tag_s, "target": TARGETS.get(name)}


def part_accuracy(args):
    out = []
    for name in args.corpora:
        tr = _load(name, "train", args.data_home)
        te = _load(name, "test", args.data_home)
        c1, c2 = REGULARIZATION[name]
        c1 = args.c1 if args.c1 is not None else c1
        c2 = args.c2 if args.c2 is not None else c2
        _log(f"{name}: training ({len(tr)} sentences, c1={c1}, c2={c2}) ...")
        r = _train_eval(name, tr, te, c1, c2, args)
        _log(f"{name}: {r['metric']} {r['score']:.2f} ({r['train_s']:.0f} s, "
             f"{r['iterations']} iterations)")
        out.append(r)
    return out


def print_accuracy(rows):
    print("\n## Accuracy of the built-in templates (test splits)\n")
    print("| corpus | templates (columns) | metric | score | target | c1 / c2 | iterations "
          "| features | train time | tagging (tokens/s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        tgt = f">= {r['target']}" if r["target"] else ""
        stacked = f", stacked ({r['stack']} folds)" if r.get("stack") else ""
        stacked += ", second order" if r.get("order", 1) == 2 else ""
        print(f"| {r['corpus']} | {r['templates']}{stacked} ({'+'.join(r['columns'])}) | "
              f"{r['metric']} | {r['score']:.2f} | {tgt} | {r['c1']} / {r['c2']} | "
              f"{r['iterations']} | {r['features']:,} | {r['train_s']:.0f} s | "
              f"{r['tag_tokens_per_s']:,.0f} |")


def part_tune(args):
    out = []
    grid = []
    for pair in args.grid.split(","):
        a, b = pair.split(":")
        grid.append((float(a), float(b)))
    for name in args.corpora:
        tr = _load(name, "train", args.data_home)
        split = DEV_SPLIT[name]
        if split is None:
            k = int(len(tr) * 0.9)
            tr, dv = tr[:k], tr[k:]
        else:
            dv = _load(name, split, args.data_home)
        for c1, c2 in grid:
            r = _train_eval(name, tr, dv, c1, c2, args)
            r["split"] = split or "train[90%:]"
            _log(f"tune {name} c1={c1} c2={c2}: {r['metric']} {r['score']:.2f} "
                 f"({r['train_s']:.0f} s, {r['iterations']} it)")
            out.append(r)
    return out


def print_tune(rows):
    print("\n## Regularisation on the development splits\n")
    print("| corpus | order | split | c1 | c2 | score | iterations | train time |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['corpus']} | {r.get('order', 1)} | {r['split']} | {r['c1']} | {r['c2']} | "
              f"{r['score']:.2f} | {r['iterations']} | {r['train_s']:.0f} s |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", default="parity,accuracy",
                    help="comma-separated: parity, algorithms, accuracy, tune (default "
                         "parity,accuracy)")
    ap.add_argument("--algorithms", default=",".join(ALGORITHMS),
                    help=f"for algorithms (default all: {','.join(ALGORITHMS)})")
    ap.add_argument("--corpora", default=",".join(CORPORA),
                    help=f"for accuracy / tune (default all: {','.join(CORPORA)})")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3, help="tagging-speed repeats")
    ap.add_argument("--c1", type=float, default=None)
    ap.add_argument("--c2", type=float, default=None)
    ap.add_argument("--grid", default="0:1,0:0.1,0.05:0.05,0.1:0.01",
                    help="tune: c1:c2 pairs, comma-separated")
    ap.add_argument("--order", type=int, default=None, choices=(1, 2),
                    help="the CRF's order (CRFTagger(order=...)); default 1")
    ap.add_argument("--stack", type=int, default=None,
                    help="CRFTagger(stack=...): 0 trains one CRF (default: the tagger's, "
                         "which stacks two for 'pos')")
    ap.add_argument("--max-iterations", type=int, default=None,
                    help="cap on L-BFGS iterations (default: CRFsuite's stopping rules)")
    ap.add_argument("--data-home", default=None)
    ap.add_argument("--json", default=None, help="write all results to this JSON file")
    ap.add_argument("--verbose", action="store_true", help="print every training iteration")
    args = ap.parse_args(argv)
    parts = [p.strip() for p in args.part.split(",") if p.strip()]
    bad = set(parts) - {"parity", "algorithms", "accuracy", "tune"}
    if bad:
        ap.error(f"unknown part(s) {sorted(bad)}")
    corpora = []
    for c in args.corpora.split(","):
        c = ALIASES.get(c.strip(), c.strip())
        if c not in CORPORA:
            ap.error(f"unknown corpus {c!r}; known: {', '.join(CORPORA)}")
        corpora.append(c)
    args.corpora = corpora
    args.algorithms = [a.strip() for a in args.algorithms.split(",") if a.strip()]
    bad = set(args.algorithms) - set(ALGORITHMS)
    if bad:
        ap.error(f"unknown algorithm(s) {sorted(bad)}; known: {', '.join(ALGORITHMS)}")
    results = {}
    if "parity" in parts:
        results["parity"] = part_parity(args)
        print_parity(results["parity"])
    if "algorithms" in parts:
        results["algorithms"] = part_algorithms(args)
        print_algorithms(results["algorithms"])
    if "tune" in parts:
        results["tune"] = part_tune(args)
        print_tune(results["tune"])
    if "accuracy" in parts:
        results["accuracy"] = part_accuracy(args)
        print_accuracy(results["accuracy"])
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2, default=float)
    return 0


if __name__ == "__main__":
    sys.exit(main())
