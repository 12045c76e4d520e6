"""Speed figures of the torch side in one run: fastseq.torch.CRF vs pytorch-crf, and
fastseq.decode vs an AllenNLP-style per-sequence Viterbi in numpy.

    python benchmarks/torch_figures.py              # 2 threads
    python benchmarks/torch_figures.py --threads 4 --budget 1.0

Every time is the minimum over ``time.perf_counter`` measurements of single calls (calls
under 0.1 ms: of batches of calls lasting >= 20 ms) within a time budget per measurement. fastseq
runs with ``n_threads=--threads`` (and ``torch.set_num_threads(--threads)`` for the torch
glue); pytorch-crf and the pure-torch fallback are timed with torch at 1 thread and at
``--threads`` and the faster counts (as ``fastseq bench`` does: at these sizes extra torch
threads often slow them down). The numpy baseline is a single-threaded Python loop.
Inputs are seeded, padded batches with random lengths (first timestep always on, as
pytorch-crf requires). Needs torch and pytorch-crf (``pip install -e ".[bench]"``).
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import fastseq
from fastseq.decode import decode

try:
    import torch
    import torchcrf
except ImportError as e:  # pragma: no cover - only without the bench extra
    sys.exit(f"torch_figures.py needs torch and pytorch-crf ({e}); "
             "pip install -e '.[bench]'")
from fastseq.torch import CRF

LABELS_9 = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]


def measure(fn, budget):
    """Minimum seconds per call of ``fn()`` within ``budget`` seconds of calls.

    Calls of >= 0.1 ms are timed one by one (so one descheduled call on a busy machine
    spoils only itself); quicker ones in batches lasting >= 20 ms.
    """
    fn()  # warm-up
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    number = 1 if one >= 1e-4 else max(1, int(0.02 / one))
    best, spent, rounds = float("inf"), 0.0, 0
    while spent < budget or rounds < 5:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        dt = time.perf_counter() - t0
        best, spent, rounds = min(best, dt / number), spent + dt, rounds + 1
        if spent > 3 * budget and rounds >= 1:
            break
    return best


def measure_torch(fn, budget, threads):
    """:func:`measure` with torch at 1 thread and at ``threads``: the faster counts."""
    best = float("inf")
    for n in sorted({1, threads}):
        torch.set_num_threads(n)
        best = min(best, measure(fn, budget))
    torch.set_num_threads(threads)
    return best


def crf_inputs(B, T, N, seed):
    g = torch.Generator().manual_seed(seed)
    em = torch.randn(B, T, N, generator=g)
    tags = torch.randint(0, N, (B, T), generator=g)
    lengths = torch.randint(T // 2, T + 1, (B,), generator=g)
    lengths[0] = T
    mask = torch.arange(T)[None, :] < lengths[:, None]
    return em, tags, mask


def train_step(crf, em, tags, mask):
    def step():
        e = em.detach().requires_grad_(True)
        crf.zero_grad()
        loss = -crf(e, tags, mask, reduction="mean")
        loss.backward()
    return step


# -- the AllenNLP-style baseline: one sequence at a time, numpy max over (N, N) per step ----

def viterbi_one(scores, trans, start, end):
    """Best path of one (T, N) sequence: per step, a numpy max over the (N, N) lattice."""
    T = scores.shape[0]
    path_score = start + scores[0]
    backptrs = []
    for t in range(1, T):
        summed = path_score[:, None] + trans  # (N, N): previous tag x next tag
        backptrs.append(summed.argmax(axis=0))
        path_score = summed.max(axis=0) + scores[t]
    path_score = path_score + end
    best = [int(path_score.argmax())]
    for bp in reversed(backptrs):
        best.append(int(bp[best[-1]]))
    best.reverse()
    return best


def allennlp_style_decode(scores, lengths, labels, scheme):
    """Constrained decoding of a padded batch, sequence by sequence, to label strings."""
    tm, sm, em = fastseq.allowed_transitions(labels, scheme)
    trans = np.where(tm, 0.0, -np.inf)
    start = np.where(sm, 0.0, -np.inf)
    end = np.where(em, 0.0, -np.inf)
    out = []
    for b in range(scores.shape[0]):
        path = viterbi_one(scores[b, :lengths[b]], trans, start, end) if lengths[b] else []
        out.append([labels[i] for i in path])
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--budget", type=float, default=0.5, help="seconds per measurement")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []

    for N in (9, 45):
        B, T = 64, 50
        em, tags, mask = crf_inputs(B, T, N, seed=N)
        torch.manual_seed(0)
        theirs = torchcrf.CRF(N, batch_first=True)
        ours = CRF(N, batch_first=True, n_threads=args.threads)
        ours.load_state_dict(theirs.state_dict())
        fallback = CRF(N, batch_first=True, backend="torch")
        fallback.load_state_dict(theirs.state_dict())
        # same numbers first
        a = ours(em, tags, mask, reduction="mean").item()
        b = theirs(em, tags, mask, reduction="mean").item()
        assert abs(a - b) <= 1e-5 * abs(b), (a, b)
        assert ours.decode(em, mask) == theirs.decode(em, mask)
        shape = f"B={B} T={T} N={N} float32"
        t_ref = measure_torch(train_step(theirs, em, tags, mask), args.budget, args.threads)
        t_fs = measure(train_step(ours, em, tags, mask), args.budget)
        t_fb = measure_torch(train_step(fallback, em, tags, mask), args.budget, args.threads)
        rows.append(("forward+backward", shape, "pytorch-crf 0.7.2", t_ref, t_fs, 10))
        rows.append(("forward+backward", shape, "fastseq.torch (pure-torch fallback)", t_ref,
                     t_fb, None))
        d_ref = measure_torch(lambda: theirs.decode(em, mask), args.budget, args.threads)
        d_fs = measure(lambda: ours.decode(em, mask), args.budget)
        d_fb = measure_torch(lambda: fallback.decode(em, mask), args.budget, args.threads)
        rows.append(("decode", shape, "pytorch-crf 0.7.2", d_ref, d_fs, 30))
        rows.append(("decode", shape, "fastseq.torch (pure-torch fallback)", d_ref, d_fb,
                     None))

    B, T, N = 256, 128, 9
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(B, T, N)).astype(np.float32)
    lengths = rng.integers(T // 2, T + 1, size=B)
    want = allennlp_style_decode(scores, lengths, LABELS_9, "IOB2")
    got = decode(scores, labels=LABELS_9, scheme="IOB2", lengths=lengths,
                 n_threads=args.threads)
    assert got == want, "fastseq.decode disagrees with the baseline"
    shape = f"B={B} T={T} N={N} float32"
    t_ref = measure(lambda: allennlp_style_decode(scores, lengths, LABELS_9, "IOB2"),
                    args.budget)
    t_fs = measure(lambda: decode(scores, labels=LABELS_9, scheme="IOB2", lengths=lengths,
                                  n_threads=args.threads), args.budget)
    rows.append(("decode IOB2 -> labels", shape, "AllenNLP-style numpy loop", t_ref, t_fs,
                 20))
    st = torch.from_numpy(scores)
    t_fs_t = measure(lambda: decode(st, labels=LABELS_9, scheme="IOB2", lengths=lengths,
                                    n_threads=args.threads), args.budget)
    rows.append(("decode IOB2 -> labels (torch in)", shape, "AllenNLP-style numpy loop", t_ref,
                 t_fs_t, None))

    print(f"fastseq {fastseq.__version__}, torch {torch.__version__}, pytorch-crf "
          f"{torchcrf.__version__}; fastseq n_threads={args.threads}; torch baselines: "
          f"best of 1 and {args.threads} threads\n")
    head = ("what", "shape", "baseline", "baseline ms", "fastseq ms", "speed-up", "target")
    table = [head]
    for what, shape, base, t_ref, t_fs, target in rows:
        ratio = t_ref / t_fs
        verdict = "" if target is None else (
            f">= {target}x {'PASS' if ratio >= target else 'MISS'}")
        table.append((what, shape, base, f"{t_ref * 1e3:.3f}", f"{t_fs * 1e3:.3f}",
                      f"{ratio:.1f}x", verdict))
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    for k, r in enumerate(table):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
        if k == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


if __name__ == "__main__":
    main()
