"""fastseq's kernels right after a torch op, against the same calls in a torch-free process.

A user's tagger alternates torch ops (the network) and fastseq calls (the CRF). Both may use
OpenMP thread teams: torch's libgomp (bundled with the wheel) and the one fastseq links are
two runtimes with two pools, and a pool spin-waits for a while after its parallel region
ends. This script measures what that costs fastseq::

    python benchmarks/torch_neighbour.py                 # N = 9 and 45, fastseq 1 and 2 threads
    python benchmarks/torch_neighbour.py --torch-threads 1 --repeats 400 --json out.json

For every case (op, N, fastseq threads) it times the call (median of ``--repeats``) in a
child process that never imports torch, then in this process right after a torch op
(``--torch-op``: a 256 x 256 matmul by default, on ``--torch-threads`` threads), and after a
pause of ``--pause`` ms following the torch op (by then torch's pool sleeps), against the
torch-free process pausing as long between its calls. Between its calls the torch-free
process touches as much memory as the matmul (an elementwise product of the same 256 x 256
float32 operands, on one thread), so that the ratio measures what torch's threads cost, not
the caches any op of that size leaves cold. The two processes take turns, case by
case, for ``--rounds`` rounds (the machine's speed drifts over minutes); the figure is the
median over the rounds of the ratio "after torch / torch-free": 1.0 means torch costs
fastseq nothing.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

OPS = ("crf_nll", "viterbi", "log_partition", "marginals")


def _inputs(N, B=64, T=50, seed=0):
    rng = np.random.default_rng(seed)
    em = rng.normal(size=(B, T, N)).astype(np.float32)
    tr = rng.normal(size=(N, N)).astype(np.float32)
    tags = rng.integers(0, N, size=(B, T))
    lengths = rng.integers(T // 2, T + 1, size=B)
    return em, tr, tags, lengths


def _call(op, N, threads):
    import fastseq

    em, tr, tags, lengths = _inputs(N)
    if op == "crf_nll":
        return lambda: fastseq.crf_nll(em, tr, tags, lengths=lengths, n_threads=threads)
    if op == "viterbi":
        return lambda: fastseq.viterbi(em, tr, lengths=lengths, n_threads=threads)
    if op == "log_partition":
        return lambda: fastseq.log_partition(em, tr, lengths=lengths, n_threads=threads)
    return lambda: fastseq.marginals(em, tr, lengths=lengths, n_threads=threads)


def _median_us(fn, repeats, before=None, pause=0.0):
    """Median time of ``fn()``, each call preceded by ``before()`` and a pause (seconds)."""
    for _ in range(10):
        fn()
    times = []
    for _ in range(repeats):
        if before is not None:
            before()
        if pause:
            time.sleep(pause)
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e6


def _cases(args):
    return [(op, N, t) for N in args.N for op in args.ops for t in args.threads]


def child(args):
    """Torch-free timings on request: reads "op N threads pause_ms" lines, answers each with
    the median time in us (run in a process that never imports torch)."""
    calls = {}
    a, c = np.ones((256, 256), np.float32), np.empty((256, 256), np.float32)

    def same_memory_as_the_matmul():
        np.multiply(a, a, out=c)
        c.sum()
    for line in sys.stdin:
        op, N, t, pause = line.split()
        key = (op, int(N), int(t))
        if key not in calls:
            calls[key] = _call(*key)
        # the same rhythm as the parent: a short gap between calls, or a long pause (after
        # which caches and clocks are cold, torch or not)
        print(_median_us(calls[key], args.repeats, before=same_memory_as_the_matmul,
                         pause=float(pause) / 1e3), flush=True)
    assert "torch" not in sys.modules


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ops", default=",".join(OPS), help="comma-separated fastseq ops")
    ap.add_argument("--N", default="9,45", help="label counts")
    ap.add_argument("--threads", default="1,2", help="fastseq n_threads values")
    ap.add_argument("--torch-threads", type=int, default=2)
    ap.add_argument("--torch-op", default="matmul", choices=["matmul", "lstm"],
                    help="the torch op before each call")
    ap.add_argument("--repeats", type=int, default=100, help="calls per timing")
    ap.add_argument("--rounds", type=int, default=3, help="turns of the two processes")
    ap.add_argument("--gap", type=float, default=0.2,
                    help="ms between the torch op (or, torch-free, the previous call) and the "
                         "fastseq call")
    ap.add_argument("--pause", type=float, default=50.0,
                    help="ms after the torch op for the 'after a pause' column")
    ap.add_argument("--json", default=None)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.ops = [o for o in args.ops.split(",") if o]
    bad = set(args.ops) - set(OPS)
    if bad:
        ap.error(f"unknown op(s) {sorted(bad)}; known: {', '.join(OPS)}")
    args.N = [int(n) for n in args.N.split(",")]
    args.threads = [int(t) for t in args.threads.split(",")]
    if args.child:
        return child(args)

    child_proc = subprocess.Popen([sys.executable, __file__, "--child", "--repeats",
                                   str(args.repeats)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)

    def torch_free(op, N, t, pause_ms):
        child_proc.stdin.write(f"{op} {N} {t} {pause_ms}\n")
        child_proc.stdin.flush()
        return float(child_proc.stdout.readline())

    import torch

    torch.set_num_threads(args.torch_threads)
    if args.torch_op == "matmul":
        a = torch.randn(256, 256)

        def torch_op():
            (a @ a).sum()
    else:
        lstm = torch.nn.LSTM(100, 100, batch_first=True)
        x = torch.randn(64, 50, 100)

        def torch_op():
            with torch.no_grad():
                lstm(x)
    times = {case: {k: [] for k in ("free", "after", "free_rested", "rested")}
             for case in _cases(args)}
    calls = {case: _call(*case) for case in _cases(args)}
    for _ in range(args.rounds):
        for case, got in times.items():
            fn = calls[case]
            got["free"].append(torch_free(*case, args.gap))
            got["after"].append(_median_us(fn, args.repeats, before=torch_op,
                                           pause=args.gap / 1e3))
            got["free_rested"].append(torch_free(*case, args.pause))
            got["rested"].append(_median_us(fn, args.repeats, before=torch_op,
                                            pause=args.pause / 1e3))
    child_proc.stdin.close()
    child_proc.wait()
    rows = []
    for (op, N, t), got in times.items():
        m = {k: float(np.median(v)) for k, v in got.items()}
        rows.append({"op": op, "N": N, "threads": t, "torch_free_us": m["free"],
                     "after_torch_us": m["after"], "torch_free_rested_us": m["free_rested"],
                     "after_pause_us": m["rested"],
                     "ratio": float(np.median(np.divide(got["after"], got["free"]))),
                     "ratio_after_pause": float(np.median(np.divide(got["rested"],
                                                                    got["free_rested"])))})
    print(f"\n## fastseq right after a torch {args.torch_op} ({args.torch_threads} torch "
          f"threads; B=64, T=50, float32; medians of {args.repeats} calls, ratios: medians "
          f"over {args.rounds} rounds)\n")
    print(f"| op | N | fastseq threads | torch-free | after torch | ratio | torch-free, "
          f"{args.pause:g} ms pauses | after torch and a {args.pause:g} ms pause | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['op']} | {r['N']} | {r['threads']} | {r['torch_free_us']:.0f} us | "
              f"{r['after_torch_us']:.0f} us | {r['ratio']:.2f} | "
              f"{r['torch_free_rested_us']:.0f} us | {r['after_pause_us']:.0f} us | "
              f"{r['ratio_after_pause']:.2f} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"torch_threads": args.torch_threads, "torch_op": args.torch_op,
                       "rows": rows}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
