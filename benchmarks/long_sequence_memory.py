"""Memory of ``fastseq.marginals(pairwise=True)`` on one very long sequence.

One sequence of ``--T`` positions (default 10,000,000) over ``--N`` states (default 64),
float32, dense random transitions. Whole lattices would take about ``32 N T`` bytes (20 GB
here); with the default ``memory_limit`` (1 GiB) the call runs checkpointed forward-backward.
The emissions and the node marginals (2.6 GB each here) are ``numpy.memmap`` files in a
temporary directory, so what the process holds in memory is the call's own: the script
samples ``/proc/self/status`` every 10 ms and reports the peak anonymous memory (RssAnon:
heap and stacks, not the mapped files) above what it was before the call, the peak resident
set (VmHWM, which counts the mapped file pages read and written too), and the time. The
checkpointed path is then checked against the whole computation on the first ``--check``
positions alone, in float64 (a tiny ``memory_limit`` forces it).

Run: ``python benchmarks/long_sequence_memory.py`` (Linux; about 1-2 minutes and 5 GB of
temporary disk).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time

import numpy as np

import fastseq


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class PeakSampler:
    """The largest RssAnon seen while running (sampled every 10 ms)."""

    def __init__(self):
        self.peak = status_kib("RssAnon")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, status_kib("RssAnon"))
            self._stop.wait(0.01)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, status_kib("RssAnon"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--T", type=int, default=10_000_000)
    parser.add_argument("--N", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--check", type=int, default=20_000)
    args = parser.parse_args(argv)
    T, N = args.T, args.N
    rng = np.random.default_rng(0)
    trans = np.log(rng.dirichlet(np.ones(N), size=N)).astype(np.float32)
    start = np.full(N, -np.log(N), dtype=np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        em = np.lib.format.open_memmap(os.path.join(tmp, "em.npy"), mode="w+",
                                       dtype=np.float32, shape=(T, N))
        for a in range(0, T, 1 << 20):
            b = min(a + (1 << 20), T)
            em[a:b] = np.log(rng.uniform(0.05, 1.0, size=(b - a, N)))
        em.flush()
        em = np.load(os.path.join(tmp, "em.npy"), mmap_mode="r")
        node = np.lib.format.open_memmap(os.path.join(tmp, "node.npy"), mode="w+",
                                         dtype=np.float32, shape=(T, N))
        before = status_kib("RssAnon")
        t0 = time.perf_counter()
        with PeakSampler() as peak:
            m = fastseq.marginals(em, trans, start=start, pairwise=True, out=node,
                                  n_threads=args.threads)
        elapsed = time.perf_counter() - t0
        print(f"T = {T:,}, N = {N}, float32: whole lattices would take "
              f"{32 * N * T / 2**30:.1f} GiB; emissions and node marginals "
              f"{T * N * 4 / 2**30:.2f} GiB each, memory-mapped")
        print(f"marginals(pairwise=True): {elapsed:.1f} s, log_Z = {m.log_Z:.6g}, "
              f"pair sum = {float(m.pair.sum()):,.0f} (T - 1 = {T - 1:,})")
        print(f"peak anonymous memory above the start: {(peak.peak - before) / 2**20:.1f} GiB"
              f" ({(peak.peak - before) / 1024:.0f} MiB); peak resident set (mapped file "
              f"pages included): {status_kib('VmHWM') / 2**20:.2f} GiB")
        k = min(args.check, T)
        prefix = np.asarray(em[:k], dtype=np.float64)  # float64: agreement to 1e-12
        full = fastseq.marginals(prefix, trans.astype(np.float64),
                                 start=start.astype(np.float64), pairwise=True)
        ck = fastseq.marginals(prefix, trans.astype(np.float64),
                               start=start.astype(np.float64), pairwise=True, memory_limit=1)
        print(f"check on the first {k:,} positions, checkpointed vs whole: node "
              f"{np.abs(ck.node - full.node).max():.1e}, pair "
              f"{np.abs(ck.pair - full.pair).max() / full.pair.max():.1e} (relative)")
        del node, em, m


if __name__ == "__main__":
    main()
