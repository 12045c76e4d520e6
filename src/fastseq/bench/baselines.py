"""The baselines fastseq is timed against: a numpy one-matmul-per-step loop, hmmlearn's
kernels called per sequence, and pytorch-crf."""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, Callable, Optional

import numpy as np

from .problems import CRFProblem, HMMProblem

__all__ = ["numpy_matmul_forward", "hmmlearn_runner", "torchcrf_runner", "import_peer",
           "PEER_DISTS", "INSTALL_HINT"]

#: How to install the peers.
INSTALL_HINT = "pip install fastseq[bench]"
#: Peer name -> its distribution name.
PEER_DISTS = {"hmmlearn": "hmmlearn", "torchcrf": "pytorch-crf"}
_PEER_MODULES = {"hmmlearn": "hmmlearn._hmmc", "torchcrf": "torchcrf"}


def numpy_matmul_forward(emissions: np.ndarray, transitions: np.ndarray,
                         start: Optional[np.ndarray] = None) -> np.ndarray:
    """Log partition functions by one numpy matmul per step: the matmul-bound baseline.

    The scaled forward recursion, one ``(B, N) @ (N, N)`` matrix product per time step. It
    starts from the same log-space inputs as fastseq (so it pays the ``B*T*N`` exps too),
    rescales every step, and is *not* safe against underflow (``-inf`` or very negative
    entries): it is a speed baseline, not an implementation.

    Parameters
    ----------
    emissions : ndarray of shape (B, T, N)
        Log emission scores (any real dtype; computed in float64). Every sequence has
        length ``T``.
    transitions : ndarray of shape (N, N)
        Log transition scores, ``transitions[i, j]`` for ``i -> j``.
    start : ndarray of shape (N,), optional
        Log start scores; None: 0 for every state.

    Returns
    -------
    ndarray of shape (B,), float64
        ``log Z`` of every sequence (0 when ``T == 0``), as :func:`fastseq.log_partition`
        computes it (without end scores).

    Raises
    ------
    ValueError
        If ``emissions`` is not 3-D.

    Examples
    --------
    >>> import numpy as np
    >>> import fastseq
    >>> from fastseq.bench import hmm_problem, numpy_matmul_forward
    >>> p = hmm_problem(B=2, T=3, N=4, seed=0)
    >>> log_z = numpy_matmul_forward(p.emissions, p.transitions, p.start)
    >>> np.round(log_z, 4).tolist()
    [-1.8545, -1.9346]
    >>> bool(np.allclose(log_z, fastseq.log_partition(p.emissions, p.transitions,
    ...                                               start=p.start)))
    True
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


def import_peer(peer: str) -> ModuleType:
    """Import the module of a peer: ``hmmlearn._hmmc`` or ``torchcrf``.

    Parameters
    ----------
    peer : str
        ``"hmmlearn"`` or ``"torchcrf"`` (a key of :data:`PEER_DISTS`).

    Returns
    -------
    module
        The imported module.

    Raises
    ------
    ImportError
        If the peer is not installed (the message says why).
    KeyError
        If ``peer`` is not a known peer.

    Examples
    --------
    >>> from fastseq.bench.baselines import import_peer
    >>> import_peer("hmmlearn").__name__
    'hmmlearn._hmmc'
    """
    return importlib.import_module(_PEER_MODULES[peer])


def hmmlearn_runner(kind: str, p: HMMProblem) -> Callable[[], Any]:
    """A timed call of hmmlearn's kernels, looping over the sequences in Python.

    The ``hmmlearn._hmmc`` kernels (hmmlearn 0.3.x) run once per sequence, in a Python
    loop, the way ``hmmlearn.base`` calls them, on ``p.startprob``, ``p.transmat`` and
    :meth:`HMMProblem.log_frames` (``forward_scaling`` gets the frame probabilities,
    computed once when the callable is built).

    Parameters
    ----------
    kind : str
        ``"forward_log"``, ``"forward_scaling"``, ``"viterbi"``, ``"backward_log"`` or
        ``"marginals"`` (``forward_log`` + ``backward_log`` + ``compute_log_xi_sum``, the
        E-step of ``implementation="log"``).
    p : HMMProblem
        The problem.

    Returns
    -------
    callable
        ``run()`` loops over the sequences. It returns a float64 ndarray of shape ``(B,)``
        (the log-likelihoods, or the Viterbi log-probabilities for ``"viterbi"``), or a list
        of per-sequence arrays: ``(T, N)`` backward variables for ``"backward_log"``,
        ``(N, N)`` log xi sums for ``"marginals"``.

    Raises
    ------
    ImportError
        If hmmlearn is not installed.
    ValueError
        If ``kind`` is not one of the above.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.bench import hmm_problem, hmmlearn_runner
    >>> p = hmm_problem(B=2, T=3, N=4, seed=0)
    >>> run = hmmlearn_runner("forward_log", p)
    >>> np.round(run(), 4).tolist()
    [-1.8545, -1.9346]
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
    """A timed call of pytorch-crf (``torchcrf.CRF``) on a CRF batch.

    The layer is batch-first, holds the problem's transitions, start and end scores, runs
    in the dtype of ``p.emissions`` (float32 or float64) and reads the ragged batch through
    the boolean mask :meth:`CRFProblem.mask`.

    Parameters
    ----------
    kind : str
        ``"nll"``: forward + backward of ``-log_likelihood`` (reduction ``"sum"``);
        ``"decode"``: Viterbi decoding.
    p : CRFProblem
        The problem.

    Returns
    -------
    callable
        ``run()`` returns the loss (a detached scalar tensor) for ``"nll"``, the best
        paths (``List[List[int]]``, one per sequence, as long as the sequence) for
        ``"decode"``.

    Raises
    ------
    ImportError
        If pytorch-crf or torch is not installed.
    ValueError
        If ``kind`` is not ``"nll"`` or ``"decode"``.

    Examples
    --------
    >>> import fastseq
    >>> from fastseq.bench import crf_problem, torchcrf_runner
    >>> p = crf_problem(B=3, T=5, N=4, seed=0)
    >>> torchcrf_runner("decode", p)()
    [[3, 2, 3, 1, 3], [1, 0, 3, 2], [1, 3, 0, 3, 0]]
    >>> loss = torchcrf_runner("nll", p)()
    >>> nll, _ = fastseq.crf_nll(p.emissions, p.transitions, p.tags, reduction="sum",
    ...                          **p.kwargs())
    >>> round(loss.item(), 3) == round(float(nll), 3)
    True
    """
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

