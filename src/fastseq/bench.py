"""``fastseq bench``: time fastseq's kernels against the numpy reference and the peers.

A quick run (well under a minute on a 2-core machine) of exactly the cases that carry the
speed targets, printed as a table of times, speed-ups, targets and PASS/MISS::

    fastseq bench                      # quick run, 2 threads
    fastseq bench --threads 4 --json   # machine-readable output
    fastseq bench --plot speedups.png  # bar chart of the speed-ups (needs matplotlib)
    fastseq bench --full               # a bigger grid (several minutes)

The implementation under test is :mod:`fastseq.ops` (the compiled kernels); it is imported
lazily, so this module stays importable without the extension. Baselines:

* ``reference`` -- :mod:`fastseq._reference`, the plain numpy oracle (same API). It is
  timed on the first few sequences of each batch and scaled to the whole batch by token count
  (marked ``~``; ``--ref-sequences 0`` times it on everything). fastseq's output is checked
  against it on those sequences.
* ``numpy matmul loop`` -- :func:`numpy_matmul_forward`, the scaled forward recursion written
  as one ``(B, N) @ (N, N)`` product per time step: the matmul-bound baseline.
* ``hmmlearn`` 0.3.x -- ``hmmlearn._hmmc`` kernels called once per sequence in a Python loop,
  the way ``hmmlearn.base`` calls them (probability-space ``startprob``/``transmat``,
  log-space frame likelihoods). Its cost is linear in the number of sequences, so the quick
  run times a loop that would take over 2 s on the whole batch (N=128) on its first 64
  sequences, best of repeats, and scales (marked ``~``; ``--peer-sequences 0`` or ``--full``
  time whole batches).
* ``pytorch-crf`` 0.7.x -- ``torchcrf.CRF``: forward + backward of the log-likelihood, and
  ``decode``, float32, batch-first with a ragged mask.

Peers that cannot be imported show ``n/a`` (``pip install fastseq[bench]`` installs them).
Inputs are seeded, so every run times the same numbers. Times are the best (minimum) over
repeats of ``time.perf_counter`` measurements, with the number of calls per repeat scaled
so one repeat lasts at least ``min_time``, within a time budget per measurement.

The helpers here (problem generators, peer wrappers, :func:`best_time`) are also used by the
pytest-benchmark suites in ``benchmarks/``.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import io
import json
import math
import os
import platform
import sys
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

__all__ = [
    "HMMProblem",
    "CRFProblem",
    "hmm_problem",
    "crf_problem",
    "numpy_matmul_forward",
    "hmmlearn_runner",
    "torchcrf_runner",
    "call_op",
    "best_time",
    "Timing",
    "run_bench",
    "format_table",
    "write_plot",
    "add_arguments",
    "run",
    "main",
]

INSTALL_HINT = "pip install fastseq[bench]"
PEER_DISTS = {"hmmlearn": "hmmlearn", "torchcrf": "pytorch-crf"}
PEER_MODULES = {"hmmlearn": "hmmlearn._hmmc", "torchcrf": "torchcrf"}
KBEST_K = 5
# quick mode: a per-sequence peer loop estimated to take over PEER_MAX_FULL_S seconds on the
# whole batch is timed (best of repeats) on its first PEER_SUBSET sequences and scaled
PEER_SUBSET = 64
PEER_MAX_FULL_S = 2.0
SCHEMA_VERSION = 1
DESCRIPTION = """\
Time fastseq's kernels against the numpy reference, a numpy one-matmul-per-step loop,
hmmlearn and pytorch-crf on the cases that carry fastseq's speed targets, and print a
table of times, speed-ups, targets and PASS/MISS. Peers that are not installed show n/a
(pip install fastseq[bench]). Quick run: well under a minute on 2 cores."""


# --------------------------------------------------------------------------------------------
# deterministic problems
# --------------------------------------------------------------------------------------------


def _seed(*parts) -> int:
    return zlib.crc32(repr(parts).encode())


def _dtype_name(dtype) -> str:
    return "f32" if np.dtype(dtype) == np.float32 else "f64"


@dataclass
class HMMProblem:
    """A batch of HMM sequences in fastseq's form and in hmmlearn's form.

    ``emissions`` is ``(B, T, N)`` log frame likelihoods (``(T, N)`` when ``single``),
    ``transitions``/``start`` the logs of ``transmat``/``startprob``; ``end`` is None. Every
    sequence has length ``T`` (``lengths`` is None).
    """

    emissions: np.ndarray
    transitions: np.ndarray
    start: np.ndarray
    transmat: np.ndarray
    startprob: np.ndarray
    single: bool = False
    end: Optional[np.ndarray] = None
    lengths: Optional[np.ndarray] = None
    tags: Optional[np.ndarray] = None

    @property
    def B(self) -> int:
        return 1 if self.single else self.emissions.shape[0]

    @property
    def n_tokens(self) -> int:
        return int(np.prod(self.emissions.shape[:-1]))

    def kwargs(self) -> Dict[str, Any]:
        kw: Dict[str, Any] = {"start": self.start}
        if self.end is not None:
            kw["end"] = self.end
        if self.lengths is not None:
            kw["lengths"] = self.lengths
        return kw

    def subset(self, k: int) -> "HMMProblem":
        if self.single or k >= self.B:
            return self
        return HMMProblem(
            self.emissions[:k], self.transitions, self.start, self.transmat, self.startprob,
            tags=None if self.tags is None else self.tags[:k])

    def log_frames(self) -> List[np.ndarray]:
        """Per-sequence ``(T, N)`` float64 log frame likelihoods (hmmlearn's input)."""
        em = np.ascontiguousarray(self.emissions, dtype=np.float64)
        return [em] if self.single else [em[b] for b in range(em.shape[0])]


def hmm_problem(B: Optional[int], T: int, N: int, dtype=np.float64, seed: int = 0) -> HMMProblem:
    """Random HMM: row-stochastic ``transmat``, ``startprob``, frame likelihoods in
    [0.05, 1]. ``B=None`` gives one ``(T, N)`` sequence."""
    rng = np.random.default_rng(seed)
    transmat = rng.random((N, N)) + 0.1
    transmat /= transmat.sum(axis=1, keepdims=True)
    startprob = rng.random(N) + 0.1
    startprob /= startprob.sum()
    shape = (T, N) if B is None else (B, T, N)
    frameprob = rng.uniform(0.05, 1.0, size=shape)
    tags = rng.integers(0, N, size=shape[:-1]).astype(np.int64)
    return HMMProblem(
        emissions=np.log(frameprob).astype(dtype),
        transitions=np.log(transmat).astype(dtype),
        start=np.log(startprob).astype(dtype),
        transmat=transmat,
        startprob=startprob,
        single=B is None,
        tags=tags,
    )


@dataclass
class CRFProblem:
    """A padded, ragged CRF batch: ``emissions (B, T, N)``, ``transitions``, ``start``,
    ``end``, ``lengths (B,)`` (``lengths[0] == T``), gold ``tags (B, T)`` (0 past the end)."""

    emissions: np.ndarray
    transitions: np.ndarray
    start: np.ndarray
    end: np.ndarray
    lengths: np.ndarray
    tags: np.ndarray
    single: bool = False

    @property
    def B(self) -> int:
        return self.emissions.shape[0]

    @property
    def n_tokens(self) -> int:
        return int(self.lengths.sum())

    def kwargs(self) -> Dict[str, Any]:
        return {"start": self.start, "end": self.end, "lengths": self.lengths}

    def subset(self, k: int) -> "CRFProblem":
        if k >= self.B:
            return self
        return CRFProblem(self.emissions[:k], self.transitions, self.start, self.end,
                          self.lengths[:k], self.tags[:k])

    def mask(self) -> np.ndarray:
        T = self.emissions.shape[1]
        return np.arange(T)[None, :] < self.lengths[:, None]


def crf_problem(B: int, T: int, N: int, dtype=np.float32, seed: int = 0,
                ragged: bool = True) -> CRFProblem:
    """Random CRF batch; ``ragged`` draws lengths in ``[max(1, T//2), T]``."""
    rng = np.random.default_rng(seed)
    emissions = rng.normal(0.0, 1.0, size=(B, T, N)).astype(dtype)
    transitions = rng.normal(0.0, 0.5, size=(N, N)).astype(dtype)
    start = rng.normal(0.0, 0.5, size=N).astype(dtype)
    end = rng.normal(0.0, 0.5, size=N).astype(dtype)
    if ragged:
        lengths = rng.integers(max(1, T // 2), T + 1, size=B).astype(np.int64)
        lengths[0] = T
    else:
        lengths = np.full(B, T, dtype=np.int64)
    tags = rng.integers(0, N, size=(B, T)).astype(np.int64)
    tags[np.arange(T)[None, :] >= lengths[:, None]] = 0
    return CRFProblem(emissions, transitions, start, end, lengths, tags)


# --------------------------------------------------------------------------------------------
# the calls being timed
# --------------------------------------------------------------------------------------------


def call_op(op: str, mod, p, n_threads: Optional[int] = None) -> Callable[[], Any]:
    """A no-argument callable running ``mod.<op>`` (fastseq.ops or the reference) on ``p``."""
    kw = p.kwargs()
    if n_threads is not None:
        kw["n_threads"] = n_threads
    em, tr = p.emissions, p.transitions
    if op in ("log_partition", "forward", "backward", "viterbi", "posterior_decode"):
        fn = getattr(mod, op)
        return lambda: fn(em, tr, **kw)
    if op == "marginals":
        fn = mod.marginals
        return lambda: fn(em, tr, pairwise=True, **kw)
    if op == "kbest":
        fn = mod.kbest
        return lambda: fn(em, tr, KBEST_K, **kw)
    if op == "sequence_score":
        fn, tags = mod.sequence_score, p.tags
        return lambda: fn(em, tr, tags, **kw)
    if op == "crf_nll":
        fn, tags = mod.crf_nll, p.tags
        return lambda: fn(em, tr, tags, reduction="sum", **kw)
    raise ValueError(f"unknown op {op!r}")


def numpy_matmul_forward(emissions: np.ndarray, transitions: np.ndarray,
                         start: Optional[np.ndarray] = None) -> np.ndarray:
    """log Z of a ``(B, T, N)`` batch by the scaled forward recursion, one
    ``(B, N) @ (N, N)`` matrix product per time step -- the matmul-bound baseline.

    Starts from the same log-space inputs as fastseq (so it pays the ``B*T*N`` exps too),
    rescales every step, and is *not* safe against underflow (``-inf`` or very negative
    entries): it is a speed baseline, not an implementation.
    """
    B, T, N = emissions.shape
    if T == 0:
        return np.zeros(B)
    em = np.moveaxis(np.asarray(emissions, dtype=np.float64), 1, 0)  # (T, B, N)
    m = em.max(axis=2, keepdims=True)
    P = np.exp(em - m)                                                # contiguous (T, B, N)
    tmax = float(np.max(transitions))
    A = np.exp(np.asarray(transitions, dtype=np.float64) - tmax)
    alpha = P[0] * (1.0 if start is None else np.exp(np.asarray(start, dtype=np.float64)))
    buf = np.empty_like(alpha)
    S = np.empty((T, B))
    S[0] = alpha.sum(axis=1)
    alpha /= S[0][:, None]
    for t in range(1, T):
        np.matmul(alpha, A, out=buf)
        buf *= P[t]
        s = buf.sum(axis=1)
        buf /= s[:, None]
        S[t] = s
        alpha, buf = buf, alpha
    return m[:, :, 0].sum(axis=0) + np.log(S).sum(axis=0) + (T - 1) * tmax


def _import_peer(peer: str):
    """Import a peer module; raises ImportError (with the reason) if unavailable."""
    return importlib.import_module(PEER_MODULES[peer])


def hmmlearn_runner(kind: str, p: HMMProblem) -> Callable[[], Any]:
    """hmmlearn's per-sequence kernels in a Python loop, as ``hmmlearn.base`` calls them.

    ``kind``: ``forward_log``, ``forward_scaling``, ``viterbi``, ``backward_log`` or
    ``marginals`` (``forward_log`` + ``backward_log`` + ``compute_log_xi_sum``, the E-step
    of ``implementation="log"``).
    """
    hmmc = _import_peer("hmmlearn")
    sp, tm = p.startprob, p.transmat
    frames = p.log_frames()
    if kind == "forward_log":
        f = hmmc.forward_log

        def run():
            out = np.empty(len(frames))
            for b, lf in enumerate(frames):
                out[b], _ = f(sp, tm, lf)
            return out
    elif kind == "forward_scaling":
        f = hmmc.forward_scaling
        probs = [np.exp(lf) for lf in frames]

        def run():
            out = np.empty(len(probs))
            for b, fp in enumerate(probs):
                out[b], _, _ = f(sp, tm, fp)
            return out
    elif kind == "viterbi":
        f = hmmc.viterbi

        def run():
            out = np.empty(len(frames))
            for b, lf in enumerate(frames):
                out[b], _ = f(sp, tm, lf)
            return out
    elif kind == "backward_log":
        f = hmmc.backward_log

        def run():
            return [f(sp, tm, lf) for lf in frames]
    elif kind == "marginals":
        fwd_f, bwd_f, xi_f = hmmc.forward_log, hmmc.backward_log, hmmc.compute_log_xi_sum

        def run():
            out = []
            for lf in frames:
                _, fwd = fwd_f(sp, tm, lf)
                bwd = bwd_f(sp, tm, lf)
                out.append(xi_f(fwd, tm, bwd, lf))
            return out
    else:
        raise ValueError(f"unknown hmmlearn kind {kind!r}")
    return run


def torchcrf_runner(kind: str, p: CRFProblem) -> Callable[[], Any]:
    """pytorch-crf on the same batch: ``nll`` = forward + backward of ``-log_likelihood``
    (reduction "sum"), ``decode`` = Viterbi decoding; batch-first with a boolean mask."""
    torchcrf = _import_peer("torchcrf")
    import torch

    B, T, N = p.emissions.shape
    tdtype = torch.float32 if p.emissions.dtype == np.float32 else torch.float64
    crf = torchcrf.CRF(N, batch_first=True).to(tdtype)
    with torch.no_grad():
        crf.transitions.copy_(torch.as_tensor(p.transitions))
        crf.start_transitions.copy_(torch.as_tensor(p.start))
        crf.end_transitions.copy_(torch.as_tensor(p.end))
    em = torch.tensor(p.emissions, dtype=tdtype, requires_grad=(kind == "nll"))
    tags = torch.as_tensor(p.tags)
    mask = torch.as_tensor(p.mask())
    if kind == "nll":
        def run():
            em.grad = None
            crf.zero_grad(set_to_none=True)
            loss = -crf(em, tags, mask=mask, reduction="sum")
            loss.backward()
            return loss.detach()
    elif kind == "decode":
        def run():
            with torch.no_grad():
                return crf.decode(em, mask=mask)
    else:
        raise ValueError(f"unknown pytorch-crf kind {kind!r}")
    return run


# --------------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------------


@dataclass
class Timing:
    best_s: float          # best (minimum) seconds per call
    loops: int             # calls per repeat in the last repeat
    repeats: int           # repeats measured (the first, single call included)
    spent_s: float         # total seconds spent calling
    result: Any = field(default=None, repr=False)


def best_time(fn: Callable[[], Any], *, budget: float = 0.5, min_time: float = 0.02,
              max_repeats: Optional[int] = None) -> Timing:
    """Best seconds per call of ``fn()``: ``time.perf_counter``, minimum over repeats.

    The first call is timed alone (it is also the warm-up); then repeats of ``loops`` calls
    each (``loops`` grows until a repeat lasts ``min_time``) run while the next repeat is
    expected to fit in ``budget`` seconds in all. A call slower than the budget is measured
    once. ``budget=0`` measures exactly one call.
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        result = fn()
        first = time.perf_counter() - t0
        best, spent, repeats, loops = first, first, 1, 1
        if first > 0:
            loops = max(1, min(1_000_000, int(math.ceil(min_time / first))))
        while (max_repeats is None or repeats < max_repeats) and \
                spent + best * loops <= budget:
            t0 = time.perf_counter()
            for _ in range(loops):
                fn()
            dt = time.perf_counter() - t0
            spent += dt
            repeats += 1
            best = min(best, dt / loops)
            if dt < min_time:
                loops = max(loops + 1, int(math.ceil(loops * min_time / max(dt, 1e-9))))
    finally:
        if gc_was_enabled:
            gc.enable()
    return Timing(best, loops, repeats, spent, result)


@contextlib.contextmanager
def limit_threads(n: int):
    """Limit BLAS (numpy) and torch intra-op threads to ``n`` for the baselines."""
    stack = contextlib.ExitStack()
    with stack:
        try:
            from threadpoolctl import threadpool_limits
            stack.enter_context(threadpool_limits(limits=n, user_api="blas"))
        except Exception:  # threadpoolctl missing or unable: time with the default
            pass
        torch = sys.modules.get("torch")
        if torch is not None and hasattr(torch, "set_num_threads"):
            old = torch.get_num_threads()
            torch.set_num_threads(n)
            stack.callback(torch.set_num_threads, old)
        yield


# --------------------------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------------------------


@dataclass
class BaselineSpec:
    key: str                      # "hmmlearn.forward_log"
    label: str                    # shown in the table
    make: Callable[[Any], Callable[[], Any]]   # problem -> callable
    peer: Optional[str] = None    # "hmmlearn" / "torchcrf" / None
    target: Optional[float] = None
    subsample: bool = False       # the reference: time the first sequences only, scale up
    per_sequence: bool = False    # a Python loop over sequences (hmmlearn): cost linear in B
    threaded: bool = False        # uses BLAS/torch threads: timed at 1 and --threads, best kept


@dataclass
class Case:
    op: str
    kind: str                     # "hmm" / "crf"
    B: Optional[int]              # None: one (T, N) sequence
    T: int
    N: int
    dtype: Any
    baselines: List[BaselineSpec]
    ragged: bool = False
    label: Optional[str] = None   # op label in the table

    @property
    def name(self) -> str:
        op = self.label or self.op
        shape = f"T={self.T} N={self.N}" if self.B is None else f"B={self.B} T={self.T} N={self.N}"
        rag = " ragged" if self.ragged else ""
        return f"{op} {shape} {_dtype_name(self.dtype)}{rag}"

    def problem(self):
        seed = _seed(self.kind, self.B, self.T, self.N, _dtype_name(self.dtype))
        if self.kind == "crf":
            return crf_problem(self.B, self.T, self.N, self.dtype, seed=seed, ragged=self.ragged)
        return hmm_problem(self.B, self.T, self.N, self.dtype, seed=seed)


def _reference(op: str) -> BaselineSpec:
    def make(p):
        return call_op(op, importlib.import_module("fastseq._reference"), p)
    return BaselineSpec("reference", "reference (numpy)", make, subsample=True)


def _matmul(target: Optional[float] = None) -> BaselineSpec:
    def make(p):
        em = p.emissions[None] if p.single else p.emissions
        return lambda: numpy_matmul_forward(em, p.transitions, p.start)
    return BaselineSpec("numpy.matmul_loop", "numpy matmul loop", make, target=target,
                        threaded=True)


def _hmmlearn(kind: str, target: Optional[float] = None) -> BaselineSpec:
    label = {"marginals": "hmmlearn fwd_log+bwd_log+xi_sum"}.get(kind, f"hmmlearn {kind}")
    return BaselineSpec(f"hmmlearn.{kind}", label, lambda p: hmmlearn_runner(kind, p),
                        peer="hmmlearn", target=target, per_sequence=True)


def _torchcrf(kind: str, target: Optional[float] = None) -> BaselineSpec:
    label = {"nll": "pytorch-crf fwd+bwd", "decode": "pytorch-crf decode"}[kind]
    return BaselineSpec(f"torchcrf.{kind}", label, lambda p: torchcrf_runner(kind, p),
                        peer="torchcrf", target=target, threaded=True)


def _headline_cases(smoke: bool) -> List[Case]:
    """Exactly the cases of the speed targets (issue 2, item 4)."""
    f64, f32 = np.float64, np.float32
    if smoke:
        B, T, Ns, LT, LN, CB, CT, CNs = 4, 6, (3, 5), 40, 3, 4, 6, (3, 5)
    else:
        B, T, Ns, LT, LN, CB, CT, CNs = 256, 100, (45, 128), 10_000, 8, 64, 50, (9, 45)
    targets = {
        # N index 0 / 1
        "fl": (50, 100), "fs": (8, 15), "mm": (None, 1.5), "vit": (8, 10), "marg": (25, 50),
        "nll": (30, 15), "dec": (50, 20),
    }
    cases: List[Case] = []
    for i, N in enumerate(Ns):
        cases.append(Case("log_partition", "hmm", B, T, N, f64, [
            _reference("log_partition"), _matmul(targets["mm"][i]),
            _hmmlearn("forward_log", targets["fl"][i]),
            _hmmlearn("forward_scaling", targets["fs"][i])]))
    for i, N in enumerate(Ns):
        cases.append(Case("viterbi", "hmm", B, T, N, f64, [
            _reference("viterbi"), _hmmlearn("viterbi", targets["vit"][i])]))
    for i, N in enumerate(Ns):
        cases.append(Case("marginals", "hmm", B, T, N, f64, [
            _reference("marginals"), _hmmlearn("marginals", targets["marg"][i])],
            label="marginals(pairwise)"))
    cases.append(Case("forward", "hmm", None, LT, LN, f64, [
        _reference("forward"), _matmul(), _hmmlearn("forward_log", 5),
        _hmmlearn("forward_scaling")]))
    cases.append(Case("viterbi", "hmm", None, LT, LN, f64, [
        _reference("viterbi"), _hmmlearn("viterbi", 2)]))
    for i, N in enumerate(CNs):
        cases.append(Case("crf_nll", "crf", CB, CT, N, f32, [
            _reference("crf_nll"), _torchcrf("nll", targets["nll"][i])],
            ragged=True, label="crf_nll+grad"))
    for i, N in enumerate(CNs):
        cases.append(Case("viterbi", "crf", CB, CT, N, f32, [
            _reference("viterbi"), _torchcrf("decode", targets["dec"][i])],
            ragged=True, label="crf viterbi"))
    return cases


def _extra_cases() -> List[Case]:
    """The bigger grid of ``--full`` (no targets)."""
    f64, f32 = np.float64, np.float32
    cases: List[Case] = []
    for N in (8, 16, 256):
        cases.append(Case("log_partition", "hmm", 256, 100, N, f64, [
            _reference("log_partition"), _matmul(), _hmmlearn("forward_log"),
            _hmmlearn("forward_scaling")]))
        cases.append(Case("viterbi", "hmm", 256, 100, N, f64, [
            _reference("viterbi"), _hmmlearn("viterbi")]))
    for N in (45, 128):
        cases.append(Case("log_partition", "hmm", 256, 100, N, f32, [
            _reference("log_partition"), _matmul()]))
        cases.append(Case("viterbi", "hmm", 256, 100, N, f32, [_reference("viterbi")]))
        cases.append(Case("marginals", "hmm", 256, 100, N, f32, [_reference("marginals")],
                          label="marginals(pairwise)"))
    cases.append(Case("log_partition", "hmm", 1024, 100, 45, f64, [
        _reference("log_partition"), _matmul(), _hmmlearn("forward_log"),
        _hmmlearn("forward_scaling")]))
    cases.append(Case("log_partition", "hmm", 16, 1000, 45, f64, [
        _reference("log_partition"), _matmul(), _hmmlearn("forward_log"),
        _hmmlearn("forward_scaling")]))
    for op, extra in (("forward", [_hmmlearn("forward_log")]),
                      ("backward", [_hmmlearn("backward_log")]),
                      ("kbest", []), ("posterior_decode", []), ("sequence_score", [])):
        cases.append(Case(op, "hmm", 256, 100, 45, f64, [_reference(op)] + extra,
                          label=f"kbest(k={KBEST_K})" if op == "kbest" else None))
    cases.append(Case("forward", "hmm", None, 100_000, 8, f64, [
        _reference("forward"), _hmmlearn("forward_log"), _hmmlearn("forward_scaling")]))
    cases.append(Case("viterbi", "hmm", None, 100_000, 8, f64, [
        _reference("viterbi"), _hmmlearn("viterbi")]))
    for B in (64, 512):
        for N in (9, 45, 128):
            for dt in (f32, f64):
                if B == 64 and dt == f32 and N in (9, 45):
                    continue  # headline cases
                cases.append(Case("crf_nll", "crf", B, 50, N, dt, [
                    _reference("crf_nll"), _torchcrf("nll")], ragged=True, label="crf_nll+grad"))
                cases.append(Case("viterbi", "crf", B, 50, N, dt, [
                    _reference("viterbi"), _torchcrf("decode")], ragged=True,
                    label="crf viterbi"))
    return cases


def get_cases(mode: str) -> List[Case]:
    """``mode``: ``smoke`` (tiny shapes), ``quick`` (the target cases) or ``full``."""
    if mode == "smoke":
        return _headline_cases(smoke=True)
    cases = _headline_cases(smoke=False)
    if mode == "full":
        cases += _extra_cases()
    return cases


# --------------------------------------------------------------------------------------------
# environment
# --------------------------------------------------------------------------------------------


def _dist_version(name: str) -> Optional[str]:
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return None


def _usable_cpus() -> Optional[int]:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def environment(impl_module: Optional[str]) -> Dict[str, Any]:
    """Versions and machine facts for the header (cheap: imports no peer)."""
    import fastseq

    env: Dict[str, Any] = {
        "fastseq": getattr(fastseq, "__version__", None),
        "impl": impl_module,
        "show_config": None,
        "numpy": np.__version__,
        "blas": [],
        "peers": {d: _dist_version(d) for d in ("hmmlearn", "pytorch-crf", "torch",
                                                 "matplotlib")},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": _usable_cpus(),
    }
    show = getattr(fastseq, "show_config", None)
    if callable(show):
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf):
                ret = show()
            text = buf.getvalue().strip()
            if not text and ret is not None:
                text = ret if isinstance(ret, str) else json.dumps(ret, default=str)
            env["show_config"] = text or None
        except Exception as exc:  # a broken build should not stop the benchmark
            env["show_config"] = f"show_config() failed: {exc!r}"
    try:
        from threadpoolctl import threadpool_info
        env["blas"] = [
            {k: info.get(k) for k in ("internal_api", "version", "num_threads")}
            for info in threadpool_info() if info.get("user_api") == "blas"]
    except Exception:
        pass
    return env


# --------------------------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------------------------


def _load_impl(impl: str):
    """Return (module, module name). ``impl``: ops | reference | auto."""
    if impl in ("ops", "auto"):
        try:
            return importlib.import_module("fastseq.ops"), "fastseq.ops"
        except ImportError as exc:
            if impl == "ops":
                raise ImportError(
                    "fastseq.ops (the compiled kernels) cannot be imported: "
                    f"{exc}. Build/install fastseq (pip install .), or run "
                    "`fastseq bench --impl reference` to exercise the harness on the "
                    "numpy reference.") from exc
    return importlib.import_module("fastseq._reference"), "fastseq._reference"


def _leaves(x) -> List[np.ndarray]:
    if x is None:
        return []
    if isinstance(x, (tuple, list)):
        out: List[np.ndarray] = []
        for v in x:
            out += _leaves(v)
        return out
    return [np.asarray(x)]


def _compare(got, want, dtype) -> Optional[str]:
    """None if the float outputs agree; else a short description of the mismatch."""
    tol = 1e-3 if np.dtype(dtype) == np.float32 else 1e-7
    g, w = _leaves(got), _leaves(want)
    if len(g) != len(w):
        return f"{len(g)} outputs vs {len(w)}"
    for i, (a, b) in enumerate(zip(g, w)):
        if a.shape != b.shape:
            return f"output {i}: shape {a.shape} vs {b.shape}"
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            a64, b64 = a.astype(np.float64), b.astype(np.float64)
            if not np.allclose(a64, b64, rtol=tol, atol=tol, equal_nan=True):
                with np.errstate(invalid="ignore"):
                    err = np.nanmax(np.abs(a64 - b64)) if a64.size else 0.0
                return f"output {i}: max abs error {err:.3g}"
    return None


def _progress(msg: str, enabled: bool) -> None:
    if enabled:
        print(msg, file=sys.stderr, flush=True)


def run_bench(*, threads: int = 2, mode: str = "quick", impl: str = "ops",
              peers: Sequence[str] = ("hmmlearn", "torchcrf"), budget: Optional[float] = None,
              ref_sequences: Optional[int] = None, peer_sequences: Optional[int] = None,
              case_filter: Optional[str] = None, progress: bool = False) -> Dict[str, Any]:
    """Run the benchmark and return the results dict (what ``--json`` prints).

    ``ref_sequences``: time the reference on the first K sequences of a batch and scale by
    token count (0: all; default 16 quick, 64 full). ``peer_sequences``: the same for
    hmmlearn's per-sequence loop (0: all; default: quick mode uses the first
    PEER_SUBSET sequences only where the whole batch is estimated to take over
    PEER_MAX_FULL_S seconds a call; full and smoke time whole batches).
    """
    t_start = time.perf_counter()
    mod, mod_name = _load_impl(impl)
    if budget is None:
        budget = {"smoke": 0.0, "quick": 0.3, "full": 1.0}[mode]
    if ref_sequences is None:
        ref_sequences = {"smoke": 0, "quick": 16, "full": 64}[mode]  # 0: all
    peer_auto = peer_sequences is None and mode == "quick"
    if peer_sequences is None:
        peer_sequences = 0
    min_time = 0.0 if mode == "smoke" else 0.02
    max_repeats = 1 if mode == "smoke" else None
    peers = tuple(peers)

    def timeit(fn):
        return best_time(fn, budget=budget, min_time=min_time, max_repeats=max_repeats)

    peer_error: Dict[str, Optional[str]] = {}

    def peer_available(peer: str) -> Optional[str]:
        """None if importable, else why not."""
        if peer not in peer_error:
            try:
                _import_peer(peer)
                peer_error[peer] = None
            except Exception as exc:  # ImportError, or a broken install
                peer_error[peer] = f"{type(exc).__name__}: {exc}"
        return peer_error[peer]

    cases = get_cases(mode)
    if case_filter:
        cases = [c for c in cases if case_filter in c.name]
    results: List[Dict[str, Any]] = []
    for case in cases:
        _progress(f"[fastseq bench] {case.name}", progress)
        p = case.problem()
        rec: Dict[str, Any] = {
            "name": case.name, "op": case.op, "kind": case.kind, "B": case.B, "T": case.T,
            "N": case.N, "dtype": np.dtype(case.dtype).name, "ragged": case.ragged,
            "tokens": p.n_tokens,
        }
        t_n = timeit(call_op(case.op, mod, p, n_threads=threads))
        rec["fastseq_ms"] = t_n.best_s * 1e3
        if threads == 1:
            rec["fastseq_1thread_ms"] = rec["fastseq_ms"]
        else:
            rec["fastseq_1thread_ms"] = timeit(call_op(case.op, mod, p, n_threads=1)).best_s * 1e3
        rec["timing"] = {"loops": t_n.loops, "repeats": t_n.repeats}
        rec["check"] = "-"
        baselines = []
        for spec in case.baselines:
            b: Dict[str, Any] = {"key": spec.key, "label": spec.label, "ms": None,
                                 "speedup": None, "target": spec.target, "status": "",
                                 "note": "", "extrapolated_from": None, "threads": None}
            why = None
            if spec.peer is not None:
                if spec.peer not in peers:
                    why = "skipped (--peers)"
                else:
                    err = peer_available(spec.peer)
                    if err is not None:
                        why = f"not installed ({INSTALL_HINT}): {err}"
            if why is not None:
                b["status"] = "n/a"
                b["note"] = why
                baselines.append(b)
                continue
            sub = p
            try:
                if spec.subsample and ref_sequences and p.B > ref_sequences:
                    sub = p.subset(ref_sequences)
                elif spec.per_sequence and peer_sequences and p.B > peer_sequences:
                    sub = p.subset(peer_sequences)
                elif spec.per_sequence and peer_auto and p.B > PEER_SUBSET:
                    probe = p.subset(PEER_SUBSET // 4)
                    probe_fn = spec.make(probe)
                    t0 = time.perf_counter()
                    probe_fn()
                    est = (time.perf_counter() - t0) * p.n_tokens / probe.n_tokens
                    if est > PEER_MAX_FULL_S:
                        sub = p.subset(PEER_SUBSET)
            except Exception as exc:
                b["status"] = "n/a"
                b["note"] = f"failed: {type(exc).__name__}: {exc}"
                baselines.append(b)
                continue
            # multi-threaded baselines get their best thread count (1 or --threads): on
            # small problems, or a busy machine, one thread is often the faster
            thread_options = [threads]
            if spec.threaded and threads > 1 and mode != "smoke":
                thread_options.append(1)
            try:
                fn = spec.make(sub)
                tb, b["threads"] = None, None
                for th in thread_options:
                    with limit_threads(th):
                        t_th = timeit(fn)
                    if tb is None or t_th.best_s < tb.best_s:
                        tb, b["threads"] = t_th, (th if spec.threaded else None)
            except Exception as exc:
                b["status"] = "n/a"
                b["note"] = f"failed: {type(exc).__name__}: {exc}"
                baselines.append(b)
                continue
            scale = p.n_tokens / sub.n_tokens if sub is not p else 1.0
            if sub is not p:
                b["extrapolated_from"] = [sub.B, p.B]
                b["note"] = (f"timed on {sub.B} of {p.B} sequences, "
                             f"scaled by tokens x{scale:.3g}")
            b["ms"] = tb.best_s * 1e3 * scale
            b["speedup"] = b["ms"] / rec["fastseq_ms"] if rec["fastseq_ms"] > 0 else None
            if spec.target is not None and b["speedup"] is not None:
                b["status"] = "PASS" if b["speedup"] >= spec.target else "MISS"
            if spec.key == "reference" and mod_name != "fastseq._reference":
                # correctness check on the reference's subset (same inputs)
                try:
                    got = call_op(case.op, mod, sub, n_threads=threads)()
                    bad = _compare(got, tb.result, case.dtype)
                    rec["check"] = "ok" if bad is None else f"MISMATCH: {bad}"
                except Exception as exc:
                    rec["check"] = f"error: {type(exc).__name__}: {exc}"
            baselines.append(b)
        rec["baselines"] = baselines
        results.append(rec)
        del p

    summary = {"PASS": 0, "MISS": 0, "n/a": 0}
    for rec in results:
        for b in rec["baselines"]:
            if b["target"] is not None and b["status"] in summary:
                summary[b["status"]] += 1
    notes = []
    missing = sorted({PEER_DISTS[k] for k, v in peer_error.items() if v is not None})
    if missing:
        notes.append(f"not installed: {', '.join(missing)} -- `{INSTALL_HINT}` installs the "
                     "peers (hmmlearn, pytorch-crf, torch, matplotlib, pytest-benchmark)")
    if mod_name != "fastseq.ops":
        notes.append("fastseq.ops is not importable: the 'fastseq' columns time the numpy "
                     "reference as a stand-in")
    if any(b.get("extrapolated_from") for rec in results for b in rec["baselines"]):
        notes.append("~ : timed on the first sequences of the batch (reference: "
                     f"{ref_sequences}; hmmlearn, where the whole batch would take over "
                     f"{PEER_MAX_FULL_S:g} s a call: {peer_sequences or PEER_SUBSET}) and "
                     "scaled to the batch by token count; --ref-sequences 0 / "
                     "--peer-sequences 0 time whole batches")
    if mode == "smoke":
        notes.append("smoke mode: tiny shapes, one call each; targets are not meaningful")
    return {
        "schema": SCHEMA_VERSION,
        "env": environment(mod_name),
        "config": {"threads": threads, "mode": mode, "impl": mod_name, "budget_s": budget,
                   "ref_sequences": ref_sequences or None,
                   "peer_sequences": "auto" if peer_auto else (peer_sequences or None),
                   "peers": list(peers),
                   "case_filter": case_filter},
        "cases": results,
        "summary": summary,
        "notes": notes,
        "elapsed_s": time.perf_counter() - t_start,
    }


# --------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------


def _fmt_ms(ms: Optional[float]) -> str:
    if ms is None:
        return "n/a"
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 0.1:
        return f"{ms:.2f}"
    return f"{ms:.4f}"


def _fmt_x(x: Optional[float]) -> str:
    if x is None:
        return "n/a"
    return f"{x:.0f}x" if x >= 100 else f"{x:.1f}x" if x >= 10 else f"{x:.2f}x"


def format_header(res: Dict[str, Any]) -> str:
    env, cfg = res["env"], res["config"]
    lines = [f"fastseq {env['fastseq']} -- implementation under test: {cfg['impl']}"]
    if env.get("show_config"):
        lines += ["  " + ln for ln in str(env["show_config"]).splitlines()]
    blas = ", ".join(f"{b.get('internal_api')} {b.get('version')}" for b in env.get("blas", []))
    lines.append(f"numpy {env['numpy']}" + (f" ({blas})" if blas else ""))
    peers = env["peers"]
    lines.append("peers: " + ", ".join(f"{k} {v or 'n/a'}" for k, v in peers.items()))
    lines.append(f"CPU: {env['cpus_usable']} usable of {env['cpu_count']} | "
                 f"{env['platform']} | Python {env['python']}")
    lines.append(f"mode: {cfg['mode']} | threads: {cfg['threads']} for fastseq (1-thread time "
                 "shown too); numpy-matmul and pytorch-crf get the faster of 1 and "
                 f"{cfg['threads']}; hmmlearn is single-threaded | best of repeats, "
                 f"budget {cfg['budget_s']:g} s per measurement")
    return "\n".join(lines)


def format_table(res: Dict[str, Any]) -> str:
    """The human-readable table (header, one row per case x baseline, notes)."""
    th = res["config"]["threads"]
    head = ["case", f"fastseq ms ({th}t)", "1 thread", "baseline", "ms", "speed-up",
            "target", "status"]
    rows: List[List[str]] = []
    checks: List[str] = []
    for rec in res["cases"]:
        first = True
        for b in rec["baselines"] or [{"label": "-", "ms": None, "speedup": None,
                                       "target": None, "status": "", "extrapolated_from": None}]:
            ms = _fmt_ms(b["ms"]) + ("~" if b.get("extrapolated_from") and b["ms"] else "")
            rows.append([
                rec["name"] if first else "",
                _fmt_ms(rec["fastseq_ms"]) if first else "",
                _fmt_ms(rec["fastseq_1thread_ms"]) if first else "",
                b["label"] + (f" ({b['threads']}t)" if b.get("threads") else ""), ms,
                _fmt_x(b["speedup"]) if b["ms"] is not None else "n/a",
                f">={b['target']:g}x" if b["target"] is not None else "",
                b["status"],
            ])
            first = False
        if rec["check"] not in ("ok", "-"):
            checks.append(f"WARNING {rec['name']}: result differs from the reference "
                          f"({rec['check']})")
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    right = {1, 2, 4, 5, 6}

    def fmt(r):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    out = [format_header(res), "", fmt(head), "  ".join("-" * w for w in widths)]
    prev_case = None
    for r in rows:
        if r[0] and prev_case is not None:
            out.append("")
        prev_case = r[0] or prev_case
        out.append(fmt(r))
    s = res["summary"]
    out.append("")
    out.append(f"targets: {s['PASS']} PASS, {s['MISS']} MISS, {s['n/a']} n/a   "
               f"(speed-up = baseline ms / fastseq ms at {th} threads; "
               f"{res['elapsed_s']:.1f} s)")
    out += checks
    out += [f"note: {n}" for n in res["notes"]]
    return "\n".join(out)


def _require_matplotlib():
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            f"--plot needs matplotlib ({exc}); install it with `pip install matplotlib` "
            f"or `{INSTALL_HINT}`") from exc
    return Figure


def write_plot(res: Dict[str, Any], path: str) -> None:
    """Horizontal bar chart of the speed-ups (log scale), targets as black ticks."""
    Figure = _require_matplotlib()
    labels, values, targets, colors = [], [], [], []
    palette = {"PASS": "#2a9d3f", "MISS": "#d1495b", "": "#5b7db1"}
    for rec in res["cases"]:
        for b in rec["baselines"]:
            if b["speedup"] is None:
                continue
            labels.append(f"{rec['name']}  vs {b['label']}")
            values.append(b["speedup"])
            targets.append(b["target"])
            colors.append(palette.get(b["status"], palette[""]))
    height = 1.2 + 0.28 * max(1, len(labels))
    fig = Figure(figsize=(11, height))
    ax = fig.add_subplot(1, 1, 1)
    y = np.arange(len(labels))[::-1]
    if labels:
        ax.barh(y, values, color=colors)
        for yi, t in zip(y, targets):
            if t is not None:
                ax.plot([t, t], [yi - 0.4, yi + 0.4], color="black", linewidth=2)
        ax.set_yticks(y)
        ax.set_yticklabels(labels, fontsize=7)
        ax.set_xscale("log")
        ax.axvline(1.0, color="grey", linewidth=0.8, linestyle="--")
        for yi, v in zip(y, values):
            ax.text(v, yi, f" {_fmt_x(v)}", va="center", ha="left", fontsize=6)
        hi = max(values + [t for t in targets if t is not None])
        lo = min(values + [1.0])
        ax.set_xlim(lo / 1.5, hi * 3.0)
        from matplotlib.patches import Patch
        ax.legend(handles=[Patch(color=palette["PASS"], label="target met"),
                           Patch(color=palette["MISS"], label="target missed"),
                           Patch(color=palette[""], label="no target")],
                  loc="lower right", fontsize=7)
    ax.set_xlabel(f"speed-up of fastseq ({res['config']['threads']} threads) "
                  "over baseline (log scale); black tick = target")
    ax.set_title(f"fastseq {res['env']['fastseq']} bench ({res['config']['mode']}, "
                 f"impl {res['config']['impl']})", fontsize=9)
    fig.savefig(path, dpi=110, bbox_inches="tight")


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------


def _positive_threads(text: str) -> int:
    n = int(text)
    if n == -1:
        return _usable_cpus() or 1
    if n < 1:
        raise argparse.ArgumentTypeError(f"--threads must be >= 1 or -1 (all), got {n}")
    return n


def _peer_list(text: str) -> List[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    if names in ([], ["none"]):
        return []
    aliases = {"hmmlearn": "hmmlearn", "torchcrf": "torchcrf", "pytorch-crf": "torchcrf"}
    bad = [n for n in names if n not in aliases]
    if bad:
        raise argparse.ArgumentTypeError(
            f"--peers: unknown peer(s) {', '.join(bad)}; choose from hmmlearn, pytorch-crf, none")
    return [aliases[n] for n in names]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Define the ``fastseq bench`` options on ``parser``."""
    parser.add_argument("--threads", type=_positive_threads, default=2, metavar="N",
                        help="threads for fastseq and the BLAS/torch baselines "
                             "(default 2; -1 = all usable cores). fastseq's 1-thread time "
                             "is shown too.")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true",
                      help="a bigger grid (more shapes, dtypes and ops; several minutes)")
    size.add_argument("--smoke", action="store_true",
                      help="minuscule shapes, one call each: checks the harness in seconds")
    parser.add_argument("--json", action="store_true",
                        help="print machine-readable JSON instead of the table")
    parser.add_argument("--plot", metavar="FILE",
                        help="write a bar chart of the speed-ups to FILE (needs matplotlib)")
    parser.add_argument("--impl", choices=("ops", "reference", "auto"), default="ops",
                        help="implementation under test: the compiled fastseq.ops (default), "
                             "the numpy reference, or ops falling back to the reference")
    parser.add_argument("--peers", type=_peer_list, default=["hmmlearn", "torchcrf"],
                        metavar="LIST",
                        help="comma-separated peers to time: hmmlearn, pytorch-crf, or none "
                             "(default: both)")
    parser.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                        help="time budget per measurement (default 0.3 quick, 1.0 full)")
    parser.add_argument("--ref-sequences", type=int, default=None, metavar="K",
                        help="time the (slow) numpy reference on the first K sequences of "
                             "a batch and scale by token count (default 16, --full 64; "
                             "0 = all)")
    parser.add_argument("--peer-sequences", type=int, default=None, metavar="K",
                        help="time hmmlearn's per-sequence loop on the first K sequences "
                             "and scale by token count (0 = whole batches; default: quick "
                             f"mode does so with K={PEER_SUBSET} only where a whole batch "
                             f"would take over {PEER_MAX_FULL_S:g} s)")
    parser.add_argument("--cases", default=None, metavar="TEXT",
                        help="only the cases whose name contains TEXT, e.g. 'N=45'")
    parser.add_argument("--fail-on-miss", action="store_true",
                        help="exit with status 1 if any target is missed")


def run(args: argparse.Namespace) -> int:
    """Execute ``fastseq bench`` with parsed ``args``; returns the exit status."""
    if args.plot:
        try:
            _require_matplotlib()
        except ImportError as exc:
            print(f"fastseq bench: error: {exc}", file=sys.stderr)
            return 2
    mode = "smoke" if args.smoke else "full" if args.full else "quick"
    try:
        res = run_bench(threads=args.threads, mode=mode, impl=args.impl, peers=args.peers,
                        budget=args.budget, ref_sequences=args.ref_sequences,
                        peer_sequences=args.peer_sequences,
                        case_filter=args.cases,
                        progress=(not args.json) and sys.stderr.isatty())
    except ImportError as exc:
        print(f"fastseq bench: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(res, indent=2, default=str))
    else:
        print(format_table(res))
    if args.plot:
        write_plot(res, args.plot)
        if not args.json:
            print(f"wrote {args.plot}")
    if args.fail_on_miss and res["summary"]["MISS"]:
        return 1
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m fastseq.bench`` == ``fastseq bench``."""
    parser = argparse.ArgumentParser(prog="fastseq bench", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
