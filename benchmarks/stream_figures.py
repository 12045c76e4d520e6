"""Figures of the online decoders (fastseq.stream).

Parts (``--part``, default all but ``memory``):

- ``push``: the cost of one ``OnlineViterbi.push`` on one stream, N=64 float32 (exact mode;
  also with ``filtered=True``), and of a row pushed with ``push_many``; the offline Viterbi
  of the same rows per row alongside.
- ``batch``: B=1,024 streams, N=45, T rows each: one ``push`` of a row per stream per call,
  and ``push_many`` of all T rows, against ``fastseq.viterbi`` on the same (B, T, N) batch,
  same threads, best of ``--repeat``; the ratio is the figure.
- ``memory``: one stream of ``--length`` (default 10^8) observations in exact mode on an
  ergodic model (N=16), pushed 100,000 rows at a time (16 blocks of random scores reused in
  a random order); samples the resident set (VmRSS) and the open positions every 10^6
  observations and reports the first, largest and last. Linux; a few minutes.
- ``ewt``: bounded latency on real data: a first-order HMM POS tagger (CategoricalHMM from
  supervised counts on UD English-EWT train, words seen fewer than twice as one unknown
  word) decodes EWT test with ``max_lag`` 1, 2, 4, 8 and exact mode; reports the token
  agreement with offline Viterbi and the largest lag exact mode needed. Needs the corpus
  (``FASTSEQ_DATA``).

OpenBLAS's idle threads spin for a while after a BLAS call and take a core from the
kernels' threads on a small machine: the script sets ``OPENBLAS_NUM_THREADS=1`` (numpy and
scipy are not what is measured).

Run: ``python benchmarks/stream_figures.py [--part push,batch,ewt,memory]``.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402

import numpy as np  # noqa: E402

import fastseq  # noqa: E402
from fastseq.stream import OnlineViterbi  # noqa: E402


def best_of(repeat, fn):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def part_push(args):
    rng = np.random.default_rng(0)
    N, T = 64, 200_000
    tr = np.log(rng.dirichlet(np.ones(N), size=N)).astype(np.float32)
    em = rng.normal(size=(T, N)).astype(np.float32)
    rows = list(em)  # the rows as a caller would hold them
    for filtered in (False, True):
        dec = OnlineViterbi(tr, filtered=filtered)

        def pushes(dec=dec):
            dec.reset()
            push = dec.push
            for row in rows:
                push(row)

        def many(dec=dec):
            dec.reset()
            dec.push_many(em)

        t_push = best_of(args.repeat, pushes) / T
        t_many = best_of(args.repeat, many) / T
        print(f"push, one stream, N={N} float32, filtered={filtered}: "
              f"{t_push * 1e6:.2f} us per push; push_many {t_many * 1e6:.2f} us per row")
    t_off = best_of(args.repeat, lambda: fastseq.viterbi(em, tr, n_threads=1)) / T
    print(f"offline fastseq.viterbi of the same rows: {t_off * 1e6:.2f} us per row")


def part_batch(args):
    rng = np.random.default_rng(1)
    N, B, T = 45, 1024, args.T
    tr = np.log(rng.dirichlet(np.ones(N), size=N)).astype(np.float32)
    em = rng.normal(size=(T, B, N)).astype(np.float32)  # one row per stream per step
    batch = np.ascontiguousarray(em.transpose(1, 0, 2))  # the offline (B, T, N) layout
    nt = args.threads
    dec = OnlineViterbi(tr, n_streams=B, n_threads=nt)

    def pushes():
        dec.reset()
        for t in range(T):
            dec.push(em[t])
        dec.flush()

    def many():
        dec.reset()
        dec.push_many(em)
        dec.flush()

    t_off = best_of(args.repeat, lambda: fastseq.viterbi(batch, tr, n_threads=nt))
    t_push = best_of(args.repeat, pushes)
    t_many = best_of(args.repeat, many)
    print(f"batch B={B} N={N} T={T} float32, {nt} threads: offline viterbi "
          f"{t_off * 1e3:.1f} ms; push per step {t_push * 1e3:.1f} ms "
          f"({t_push / t_off:.2f}x); push_many {t_many * 1e3:.1f} ms ({t_many / t_off:.2f}x)")


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def part_memory(args):
    rng = np.random.default_rng(2)
    N, K = 16, 100_000
    tr = np.log(rng.dirichlet(np.ones(N), size=N)).astype(np.float32)
    blocks = [rng.normal(size=(K, N)).astype(np.float32) for _ in range(16)]
    dec = OnlineViterbi(tr)
    samples, n_out, most_open = [], 0, 0
    t0 = time.perf_counter()
    for i in range(args.length // K):
        n_out += dec.push_many(blocks[rng.integers(16)]).size
        most_open = max(most_open, dec.t - dec.n_committed)
        if (i + 1) % 10 == 0:
            samples.append((dec.t, rss_kib()))
    n_out += dec.flush().size
    secs = time.perf_counter() - t0
    assert n_out == dec.t
    first, last = samples[0], samples[-1]
    peak = max(r for _, r in samples)
    print(f"memory, one stream of {dec.t:,} observations, N={N}, exact mode: VmRSS "
          f"{first[1] / 1024:.1f} MiB at t={first[0]:,}, largest {peak / 1024:.1f} MiB, "
          f"{last[1] / 1024:.1f} MiB at t={last[0]:,}; at most {most_open} positions open; "
          f"{secs:.0f} s ({secs / dec.t * 1e9:.0f} ns per observation)")


def part_ewt(args):
    from fastseq import datasets
    from fastseq.hmm import CategoricalHMM

    train = datasets.load_tagged("ud_english_ewt", "train")
    test = datasets.load_tagged("ud_english_ewt", "test")
    counts = Counter(w for s in train for w, _ in s)
    vocab = {w: i + 1 for i, w in enumerate(sorted(w for w, c in counts.items() if c >= 2))}
    tags = sorted({t for s in train for _, t in s})
    tag_id = {t: i for i, t in enumerate(tags)}

    def encode(sents):
        X = np.array([[vocab.get(w, 0)] for s in sents for w, _ in s])
        y = np.array([tag_id[t] for s in sents for _, t in s])
        return X, y, np.array([len(s) for s in sents])

    X, y, lengths = encode(train)
    hmm = CategoricalHMM(len(tags), n_features=len(vocab) + 1)
    hmm.fit_supervised(X, y, lengths)
    Xt, yt, lt = encode(test)
    offline = hmm.predict(Xt, lt)
    print(f"EWT test, first-order HMM tagger: offline Viterbi accuracy "
          f"{np.mean(offline == yt):.4f} ({yt.size:,} tokens, {lt.size:,} sentences)")
    starts = np.concatenate([[0], np.cumsum(lt)[:-1]])
    for lag in (1, 2, 4, 8, None):
        dec = hmm.stream(max_lag=lag)
        got, most_open = [], 0
        for a, n in zip(starts, lt):
            dec.reset()
            for x in Xt[a:a + n]:
                got.extend(dec.push(x).tolist())
                most_open = max(most_open, dec.t - dec.n_committed)
            got.extend(dec.flush().tolist())
        got = np.array(got)
        name = "exact" if lag is None else f"max_lag={lag}"
        print(f"  {name}: agreement with offline Viterbi {np.mean(got == offline):.4f}, "
              f"accuracy {np.mean(got == yt):.4f}"
              + (f", at most {most_open} positions open" if lag is None else ""))


PARTS = {"push": part_push, "batch": part_batch, "memory": part_memory, "ewt": part_ewt}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", default="push,batch,ewt",
                    help="comma-separated: push, batch, memory, ewt")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--T", type=int, default=200, help="rows per stream in the batch part")
    ap.add_argument("--length", type=int, default=10**8, help="observations (memory part)")
    args = ap.parse_args(argv)
    print(fastseq.show_config(file=open(os.devnull, "w"))["simd"], "kernels;",
          os.cpu_count(), "CPUs")
    for part in args.part.split(","):
        PARTS[part.strip()](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
