"""Figures for fastseq.dask on a LocalCluster, against the same work done locally.

Run from the repository root, the corpora in ``$FASTSEQ_DATA`` (see :mod:`fastseq.datasets`),
with the ``dask`` extra installed::

    python benchmarks/dask_figures.py                       # both parts (~2 min on 2 cores)
    python benchmarks/dask_figures.py --part crf            # CoNLL-2000 CRF fit only
    python benchmarks/dask_figures.py --part tag --copies 50
    python benchmarks/dask_figures.py --part exact            # trajectories on the same items
    python benchmarks/dask_figures.py --part floor            # Dask's cost per evaluation
    python benchmarks/dask_figures.py --json results.json   # also write the numbers

(1) ``crf``: CoNLL-2000 with CRFsuite's chunking templates, L-BFGS c2=1 (the parity
protocol of ``benchmarks/crf_figures.py``). Local: ``FeatureExtractor.fit_transform`` +
``CRF(n_threads=--threads).fit``. Dask: :func:`fastseq.dask.fit_crf` on a LocalCluster of
``--workers`` single-threaded worker processes (started before the clock), the sentences
split in one partition per worker and featurised on the workers (a
``FeatureExtractor("crfsuite_chunk")`` fitted on each partition). Reported: wall time of
each (featurisation included) and their ratio, chunk F1 on the test split, the objective
trajectories' largest relative difference, and per L-BFGS evaluation: the wall time on the
client, the slowest partition's compute time, the client-side overhead (their difference),
and the bytes sent to the workers (the weights, once per worker) and back (the gradient;
plus what moves between workers, read from the workers' transfer counters).

(2) ``tag``: UD English-EWT test repeated ``--copies`` times, tagged by an ``HMMTagger``
trained on train: locally (``predict`` on ``--threads`` threads) and as a dask bag of
``--partitions`` (default: one per worker) on the LocalCluster (:func:`fastseq.dask.tag`),
the corpus persisted on the workers first; the model is broadcast once (the first, untimed
call) and kept by the workers. Reported: tokens/s of each (best of ``--repeat``) and their
ratio, for Dask with the tags left on the workers (a count of them comes back, as when a
pipeline writes its output from the workers) and with all the tags gathered on the
client; the tags must be the same as the local ones.

(3) ``exact``: a local ``CRF.fit`` on ``FeatureExtractor("crfsuite_chunk").to_lists`` items
and a Dask fit featurising with the same function (the same attribute order): how many
iterations their objectives agree within 1e-9 relative, the largest difference, whether the
test predictions are the same.

(4) ``floor``: Dask's own cost of one evaluation in the pattern ``fit_crf`` uses, with no
objective: one task per partition carrying the weights (K = 452,755 float64, CoNLL-2000's)
and returning a gradient of K float64 at once, gathered and summed on the client; then the
same with K = 1,000 (the latency without the bytes). Median of 30, the client pausing 10 ms
between evaluations as the optimiser does. A Dask fit cannot be faster than the local one
plus this per evaluation.

The machine may be shared: the ratios compare runs made one after the other in one process.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from fastseq import datasets
from fastseq.crf import CRF
from fastseq.features import FeatureExtractor
from fastseq.io import to_tagged
from fastseq.metrics import f1_score
from fastseq.taggers import HMMTagger


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


def _transfers(client):
    def read(dask_worker):
        return (getattr(dask_worker, "transfer_incoming_bytes_total", 0),
                getattr(dask_worker, "transfer_outgoing_bytes_total", 0))
    return client.run(read)


def part_crf(args, client):
    from fastseq.dask import fit_crf

    tr = datasets.load("conll2000", "train", data_home=args.data_home)
    te = datasets.load("conll2000", "test", data_home=args.data_home)
    y_tr = [s["chunk"] for s in tr]
    y_te = [s["chunk"] for s in te]
    res = {"corpus": "conll2000", "templates": "crfsuite_chunk", "c2": 1.0,
           "threads": args.threads, "workers": args.workers}

    fx = FeatureExtractor("crfsuite_chunk")
    t0 = time.perf_counter()
    F = fx.fit_transform(tr)
    local = CRF(c2=1.0, n_threads=args.threads, max_iterations=args.max_iterations).fit(F, y_tr)
    res["local_s"] = time.perf_counter() - t0
    res["local_f1"] = 100 * f1_score(y_te, local.predict(fx.transform(te)))
    res["local_iterations"] = len(local.training_log_.iterations)
    # the evaluations of the fit (each iteration's line-search trials, and the first)
    res["local_evaluations"] = 1 + sum(it["linesearch_trials"]
                                       for it in local.training_log_.iterations)
    res["local_eval_ms"] = (1000 * local.training_log_.training_seconds
                            / res["local_evaluations"])
    _log(f"local: {res['local_s']:.1f} s, F1 {res['local_f1']:.2f}, "
         f"{res['local_iterations']} iterations, {res['local_eval_ms']:.1f} ms an evaluation "
         "(with the optimiser's step)")

    profile = []
    before = _transfers(client)
    t0 = time.perf_counter()
    dist = fit_crf(CRF(c2=1.0, max_iterations=args.max_iterations), tr, y_tr,
                   features=FeatureExtractor("crfsuite_chunk"), client=client,
                   npartitions=args.workers, n_threads=1, profile=profile)
    res["dask_s"] = time.perf_counter() - t0
    after = _transfers(client)
    xs = fx.to_lists(te)
    res["dask_f1"] = 100 * f1_score(y_te, dist.predict(xs))
    res["dask_iterations"] = len(dist.training_log_.iterations)
    res["time_ratio"] = res["dask_s"] / res["local_s"]
    a = np.array([it["loss"] for it in local.training_log_.iterations])
    b = np.array([it["loss"] for it in dist.training_log_.iterations])
    n = min(a.size, b.size)
    res["trajectory_max_rel_diff"] = float(np.max(np.abs(a[:n] - b[:n]) / np.abs(a[:n])))
    res["featurise_encode_s"] = dist.training_log_.featgen_seconds
    wall = np.array([p["wall_s"] for p in profile])
    comp = np.array([p["compute_s"] for p in profile])
    res["evaluations"] = len(profile)
    res["eval_wall_ms"] = 1000 * float(np.median(wall))
    res["eval_compute_ms"] = 1000 * float(np.median(comp))
    res["eval_overhead_ms"] = 1000 * float(np.median(wall - comp))
    res["weights_bytes_per_eval"] = profile[0]["weights_bytes"]
    res["gradient_bytes_to_client_per_eval"] = profile[0]["gradient_bytes"]
    moved = sum(after[w][0] - before[w][0] for w in after if w in before)
    res["worker_to_worker_bytes_per_eval"] = moved / max(1, len(profile))
    res["n_parameters"] = int(dist.training_log_.featgen_num_features)
    _log(f"dask: {res['dask_s']:.1f} s ({res['time_ratio']:.2f}x), F1 {res['dask_f1']:.2f}, "
         f"{res['dask_iterations']} iterations, trajectory within "
         f"{res['trajectory_max_rel_diff']:.1e}; per evaluation {res['eval_wall_ms']:.1f} ms "
         f"wall, {res['eval_compute_ms']:.1f} ms compute, {res['eval_overhead_ms']:.1f} ms "
         "overhead")
    return res


def part_exact(args, client):
    """The objective trajectories of a local and a Dask fit on the same items (the same
    attribute order): where they first differ by more than 1e-9 relative, and the most."""
    from fastseq.dask import fit_crf

    tr = datasets.load("conll2000", "train", data_home=args.data_home)
    te = datasets.load("conll2000", "test", data_home=args.data_home)
    y = [s["chunk"] for s in tr]
    fx = FeatureExtractor("crfsuite_chunk")
    local = CRF(c2=1.0, n_threads=args.threads, max_iterations=args.max_iterations)
    local.fit(fx.to_lists(tr), y)
    dist = fit_crf(CRF(c2=1.0, max_iterations=args.max_iterations), tr, y,
                   features=fx.to_lists, client=client, npartitions=args.workers)
    a = np.array([it["loss"] for it in local.training_log_.iterations])
    b = np.array([it["loss"] for it in dist.training_log_.iterations])
    n = min(a.size, b.size)
    rel = np.abs(a[:n] - b[:n]) / np.abs(a[:n])
    xt = fx.to_lists(te)
    res = {"local_iterations": int(a.size), "dask_iterations": int(b.size),
           "max_rel_diff": float(rel.max()),
           "iterations_within_1e-9": int(np.argmax(rel > 1e-9)) if np.any(rel > 1e-9) else n,
           "same_test_predictions": local.predict(xt) == dist.predict(xt)}
    _log(f"same items: {res}")
    return res


def part_tag(args, client):
    import dask.bag as db

    from fastseq.dask import tag

    train = to_tagged(datasets.load("ud_english_ewt", "train", data_home=args.data_home),
                      word="form", tag="upos")
    test = datasets.load("ud_english_ewt", "test", data_home=args.data_home)
    sents = [list(s["form"]) for s in test] * args.copies
    n_tok = sum(map(len, sents))
    tagger = HMMTagger(n_threads=args.threads).train(train)
    res = {"corpus": "ud_english_ewt test", "copies": args.copies, "tokens": n_tok,
           "tagger": "HMMTagger", "threads": args.threads, "workers": args.workers}
    best = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        local = tagger.predict(sents)
        best = min(best, time.perf_counter() - t0)
    res["local_tokens_per_s"] = n_tok / best
    bag = db.from_sequence(sents, npartitions=args.partitions or args.workers)
    bag = client.persist(bag)   # the corpus already on the workers, as it would be
    out = tag(tagger, bag, n_threads=1).compute()   # the default client: the cluster's
    res["same_tags"] = out == local
    for what, run in [("kept", lambda: tag(tagger, bag, n_threads=1).map(len).sum().compute()),
                      ("to_client", lambda: tag(tagger, bag, n_threads=1).compute())]:
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - t0)
        res[f"dask_{what}_tokens_per_s"] = n_tok / best
    res["ratio"] = res["dask_kept_tokens_per_s"] / res["local_tokens_per_s"]
    res["ratio_to_client"] = res["dask_to_client_tokens_per_s"] / res["local_tokens_per_s"]
    _log(f"tagging {n_tok:,} tokens: local {res['local_tokens_per_s']:,.0f} tokens/s, dask "
         f"{res['dask_kept_tokens_per_s']:,.0f} tokens/s with the tags left on the workers "
         f"({res['ratio']:.2f}x), {res['dask_to_client_tokens_per_s']:,.0f} tokens/s with "
         f"them gathered on the client ({res['ratio_to_client']:.2f}x); same tags: "
         f"{res['same_tags']}")
    return res


def _noop_evaluation(part, theta):
    return 1.0, np.zeros_like(theta)


def part_floor(args, client):
    parts = client.scatter(list(range(args.workers)), hash=False)
    res = {}
    for K in (452_755, 1_000):
        walls = []
        for i in range(30):
            theta = np.full(K, float(i))
            t0 = time.perf_counter()
            out = client.gather([client.submit(_noop_evaluation, p, theta, pure=False)
                                 for p in parts], direct=True)
            sum(g for _, g in out)
            walls.append(time.perf_counter() - t0)
            time.sleep(0.01)
        res[f"evaluation_ms_K{K}"] = 1000 * float(np.median(walls))
    _log(f"Dask alone, per evaluation: {res['evaluation_ms_K452755']:.1f} ms with CoNLL-2000's "
         f"K float64 each way, {res['evaluation_ms_K1000']:.1f} ms with K = 1,000")
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", default="crf,tag")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2, help="threads of the local runs")
    ap.add_argument("--copies", type=int, default=50)
    ap.add_argument("--partitions", type=int, default=None,
                    help="partitions of the tagging bag (default: one per worker)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--max-iterations", type=int, default=None)
    ap.add_argument("--data-home", default=os.environ.get("FASTSEQ_DATA"))
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    from distributed import Client, LocalCluster

    out = {"load_average": os.getloadavg()}
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        for part in args.part.split(","):
            out[part] = {"crf": part_crf, "tag": part_tag, "exact": part_exact,
                         "floor": part_floor}[part](args, client)
    out["load_average_after"] = os.getloadavg()
    print(json.dumps(out, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
