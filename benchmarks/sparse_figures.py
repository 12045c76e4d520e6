"""Sparse transitions against the dense kernels and against librosa, measured in one run.

1. Large sparse models: N = 2,048 states with 1 % of the moves, a random pattern and a
   left-to-right band (state i moves to i .. i + 20), B = 64 sequences of T = 500, float64,
   ``--threads`` threads (default 2): ``log_partition`` and ``viterbi`` with the transitions
   as a ``scipy.sparse`` matrix, against fastseq's dense kernels on the same model (``-inf``
   in the empty places). The dense kernels are timed on ``--dense-sequences`` sequences
   (default 8: two lockstep groups, every thread busy) and scaled to the batch by token
   count -- on the band their log_partition runs every step in log space (the rows span too
   many nats to scale) and takes about 9 s a sequence. The results are checked equal (the
   Viterbi paths bitwise).
2. A pYIN-like pitch tracker (librosa's own construction: ``transition_local`` of width 201
   over 1,201 pitch bins, ``kron`` with a voiced / unvoiced switch, 2,402 states, about
   925k moves): ``librosa.sequence.viterbi`` (dense, numba) against ``fastseq.viterbi``
   with the same matrix as sparse log-probabilities, on one sequence of ``--frames`` frames
   (default 1,000) and on a batch of 8; identical paths are checked. Needs librosa.

3. ``--part sparse`` (not in ``all``): the sparse kernels alone -- part 1's log_partition,
   pairwise marginals of 16 of its sequences, and the objective of a second-order CRF over
   45 labels (2,070 label-pair states, 93k moves a token, 2,000 sentences) -- for comparing
   two builds (run it under each, e.g. one installed with ``pip install --target``).

Run: ``python benchmarks/sparse_figures.py`` (about 2 minutes, most of it in the dense band
log_partition), ``--part dense`` or ``--part librosa`` for one half.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp

import fastseq
from fastseq import structured

N, B, T, DENSITY_MOVES = 2048, 64, 500, 21


def best_of(fn, repeats):
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def model(pattern, rng):
    """The sparse log matrix (1 % of the moves: 21 a state) and its dense -inf twin."""
    if pattern == "band":
        A = structured.left_to_right(N, max_jump=DENSITY_MOVES - 1)
        A.data = rng.normal(size=A.nnz) - 3.0  # scores, not probabilities: any will do
    else:
        cols = np.argsort(rng.random((N, N)), axis=1)[:, :DENSITY_MOVES]
        rows = np.repeat(np.arange(N), DENSITY_MOVES)
        A = sp.csr_array((rng.normal(size=rows.size) - 3.0, (rows, cols.ravel())), shape=(N, N))
    dense = np.full((N, N), -np.inf)
    coo = A.tocoo()
    dense[coo.row, coo.col] = coo.data
    return A, dense


def dense_part(args):
    rng = np.random.default_rng(0)
    em = rng.normal(size=(B, T, N))
    k = args.dense_sequences
    print(f"N={N}, {DENSITY_MOVES} moves a state (1 %), B={B}, T={T}, float64, "
          f"{args.threads} threads; dense timed on {k} sequences, scaled x{B / k:g}")
    print(f"{'pattern':8s} {'op':14s} {'sparse s':>9s} {'dense s':>9s} {'ratio':>7s}  check")
    for pattern in ("random", "band"):
        A, dense = model(pattern, rng)
        for op in ("log_partition", "viterbi"):
            fn = getattr(fastseq, op)
            t_sparse, got = best_of(lambda: fn(em, A, n_threads=args.threads), args.repeats)
            t_dense, want = best_of(lambda: fn(em[:k], dense, n_threads=args.threads), 1)
            t_dense *= B / k
            if op == "viterbi":
                ok = np.array_equal(got[0][:k], want[0]) and np.array_equal(got[1][:k], want[1])
            else:
                ok = np.allclose(got[:k], want, rtol=1e-12)
            print(f"{pattern:8s} {op:14s} {t_sparse:9.3f} {t_dense:9.2f} "
                  f"{t_dense / t_sparse:6.1f}x  {'same' if ok else 'DIFFERENT'}")


def sparse_part(args):
    from fastseq.crf.second_order import LabelPairs

    rng = np.random.default_rng(0)
    em = rng.normal(size=(B, T, N))
    print(f"sparse kernels alone, {args.threads} threads, best of {args.repeats}:")
    for pattern in ("random", "band"):
        A, _ = model(pattern, rng)
        t, _ = best_of(lambda: fastseq.log_partition(em, A, n_threads=args.threads),
                       args.repeats)
        print(f"{pattern:8s} log_partition B={B}        {t:8.3f} s")
        if pattern == "random":
            t, _ = best_of(lambda: fastseq.marginals(em[:16], A, pairwise=True,
                                                     n_threads=args.threads), args.repeats)
            print(f"{pattern:8s} marginals (pairs) B=16    {t:8.3f} s")
    labels = 45
    pairs = LabelPairs(labels)
    lengths = rng.integers(5, 43, size=2000)
    E = rng.normal(size=(lengths.sum(), labels))
    zeros2, zeros3 = np.zeros((labels, labels)), np.zeros((labels + 1, labels, labels))
    tags = pairs.tags(rng.integers(0, labels, size=lengths.sum()), lengths)
    t, _ = best_of(lambda: pairs.crf_nll(E, zeros2, zeros3, tags, lengths, args.threads),
                   args.repeats)
    print(f"second-order CRF objective, {labels} labels, {lengths.size} sentences "
          f"{t:8.3f} s")


def librosa_part(args):
    import librosa

    n_bins, width = 1201, 201
    local = librosa.sequence.transition_local(n_bins, width, window="triangle", wrap=False)
    dense = np.kron(librosa.sequence.transition_loop(2, 0.99), local)
    n = dense.shape[0]
    A = sp.csr_array(dense)
    A.data = np.log(A.data)
    rng = np.random.default_rng(1)
    prob = rng.random((n, args.frames)) ** 4  # observation likelihoods, (states, frames)
    p_init = np.full(n, 1.0 / n)
    em = np.log(prob.T)
    print(f"\npYIN-like model: {n} states, {A.nnz} moves ({A.nnz / n / n:.1%}), "
          f"{args.frames} frames; librosa {librosa.__version__}")
    librosa.sequence.viterbi(prob[:, :10], dense, p_init=p_init)  # numba compiles
    t_lib, path_lib = best_of(lambda: librosa.sequence.viterbi(prob, dense, p_init=p_init), 1)
    t_one, (path, _) = best_of(lambda: fastseq.viterbi(em, A, start=np.log(p_init),
                                                       n_threads=args.threads), args.repeats)
    batch = np.broadcast_to(em, (8,) + em.shape)
    t_8, _ = best_of(lambda: fastseq.viterbi(batch, A, start=np.log(p_init),
                                             n_threads=args.threads), args.repeats)
    same = np.array_equal(path, np.asarray(path_lib, dtype=np.int64))
    print(f"librosa.sequence.viterbi        {t_lib:8.3f} s a sequence")
    print(f"fastseq.viterbi, one sequence   {t_one:8.3f} s  {t_lib / t_one:6.1f}x  "
          f"paths {'identical' if same else 'DIFFERENT'}")
    print(f"fastseq.viterbi, batch of 8     {t_8 / 8:8.3f} s a sequence  {8 * t_lib / t_8:6.1f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("dense", "librosa", "sparse", "all"), default="all")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dense-sequences", type=int, default=8)
    parser.add_argument("--frames", type=int, default=1000)
    args = parser.parse_args(argv)
    if args.part in ("dense", "all"):
        dense_part(args)
    if args.part in ("librosa", "all"):
        librosa_part(args)
    if args.part == "sparse":
        sparse_part(args)


if __name__ == "__main__":
    main()
