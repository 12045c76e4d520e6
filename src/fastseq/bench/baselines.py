"""The baselines fastseq is timed against: a numpy one-matmul-per-step loop, hmmlearn's
kernels called per sequence, and pytorch-crf."""
from __future__ import annotations

import importlib
from typing import Any, Callable, Optional

import numpy as np

from .problems import CRFProblem, HMMProblem

__all__ = ["numpy_matmul_forward", "hmmlearn_runner", "torchcrf_runner", "import_peer",
           "PEER_DISTS", "INSTALL_HINT"]

#: how to install the peers
INSTALL_HINT = "pip install fastseq[bench]"
#: peer -> its distribution name
PEER_DISTS = {"hmmlearn": "hmmlearn", "torchcrf": "pytorch-crf"}
_PEER_MODULES = {"hmmlearn": "hmmlearn._hmmc", "torchcrf": "torchcrf"}


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


def import_peer(peer: str):
    """Import a peer module; raises ImportError (with the reason) if unavailable."""
    return importlib.import_module(_PEER_MODULES[peer])


def hmmlearn_runner(kind: str, p: HMMProblem) -> Callable[[], Any]:
    """hmmlearn's per-sequence kernels in a Python loop, as ``hmmlearn.base`` calls them.

    ``kind``: ``forward_log``, ``forward_scaling``, ``viterbi``, ``backward_log`` or
    ``marginals`` (``forward_log`` + ``backward_log`` + ``compute_log_xi_sum``, the E-step
    of ``implementation="log"``).
    """
    hmmc = import_peer("hmmlearn")
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
    torchcrf = import_peer("torchcrf")
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

