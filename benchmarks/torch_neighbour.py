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
torch-free process pausing as long between its calls. The ratio "after torch / torch-free" is
the figure: 1.0 means torch costs fastseq nothing.
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
    """Torch-free timings, printed as JSON (run in a process that never imports torch)."""
    out = {}
    for op, N, t in _cases(args):
        # the same rhythm as the parent: a short gap between calls, then a long pause (after
        # which caches and clocks are cold, torch or not)
        fn = _call(op, N, t)
        out[f"{op}/{N}/{t}"] = _median_us(fn, args.repeats, pause=args.gap / 1e3)
        out[f"{op}/{N}/{t}/rested"] = _median_us(fn, args.repeats, pause=args.pause / 1e3)
    assert "torch" not in sys.modules
    print(json.dumps(out))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ops", default=",".join(OPS), help="comma-separated fastseq ops")
    ap.add_argument("--N", default="9,45", help="label counts")
    ap.add_argument("--threads", default="1,2", help="fastseq n_threads values")
    ap.add_argument("--torch-threads", type=int, default=2)
    ap.add_argument("--torch-op", default="matmul", choices=["matmul", "lstm"],
                    help="the torch op before each call")
    ap.add_argument("--repeats", type=int, default=200)
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

    cmd = [sys.executable, __file__, "--child", "--ops", ",".join(args.ops),
           "--N", ",".join(map(str, args.N)), "--threads", ",".join(map(str, args.threads)),
           "--repeats", str(args.repeats), "--gap", str(args.gap), "--pause", str(args.pause)]
    free = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                     text=True).stdout)

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
    rows = []
    for op, N, t in _cases(args):
        fn = _call(op, N, t)
        after = _median_us(fn, args.repeats, before=torch_op, pause=args.gap / 1e3)
        rested = _median_us(fn, args.repeats, before=torch_op, pause=args.pause / 1e3)
        base, base_rested = free[f"{op}/{N}/{t}"], free[f"{op}/{N}/{t}/rested"]
        rows.append({"op": op, "N": N, "threads": t, "torch_free_us": base,
                     "after_torch_us": after, "torch_free_rested_us": base_rested,
                     "after_pause_us": rested, "ratio": after / base,
                     "ratio_after_pause": rested / base_rested})
    print(f"\n## fastseq right after a torch {args.torch_op} ({args.torch_threads} torch "
          f"threads; B=64, T=50, float32; medians of {args.repeats})\n")
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
