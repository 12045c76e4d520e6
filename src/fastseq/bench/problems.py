"""Seeded random problems in fastseq's form (and in the peers' forms), and the calls timed."""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

import numpy as np

__all__ = ["HMMProblem", "CRFProblem", "hmm_problem", "crf_problem", "call_op", "seed_of",
           "dtype_name", "KBEST_K"]

#: the ``k`` of the k-best cases
KBEST_K = 5


def seed_of(*parts) -> int:
    """A seed from any hashable description of a problem."""
    return zlib.crc32(repr(parts).encode())


def dtype_name(dtype) -> str:
    """``"f32"`` or ``"f64"``."""
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

