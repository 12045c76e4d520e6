"""The functional API: numpy in, numpy out, C kernels underneath.

Every function takes one sequence or a batch:

* ``emissions`` 2-D ``(T, N)`` and ``lengths=None``: one sequence;
* ``emissions`` 3-D ``(B, T, N)`` with ``lengths`` ``(B,)`` or ``None``: a padded batch whose
  positions ``>= lengths[b]`` are ignored (never read, so they may hold anything);
* ``emissions`` 2-D ``(L, N)`` with ``lengths`` ``(B,)`` summing to ``L``: a concatenated batch.

``transitions[i, j]`` scores the move from state ``i`` to ``j``; ``start``/``end`` ``(N,)``
score the first and last state (``None`` = zeros). ``-inf`` marks a forbidden move and is
handled exactly. float32 inputs give float32 outputs, anything else float64. ``n_threads``:
``None`` = every core this process may use (``OMP_NUM_THREADS`` and threadpoolctl limits
apply), ``-1`` = all cores, ``k > 0`` = k threads; results are bitwise identical for any value.
Inputs are validated here, once; the kernels run without the GIL.
"""
from __future__ import annotations

import contextlib
import contextvars
import numbers
import os

import numpy as np

from . import _kernels
from ._types import CRFGrad, Marginals
from .schemes import allowed_transitions

__all__ = [
    "log_partition", "forward", "backward", "marginals", "viterbi", "kbest",
    "posterior_decode", "sequence_score", "crf_nll", "allowed_transitions",
    "Marginals", "CRFGrad", "effective_n_threads", "as_numpy", "simd_variant",
]

_SINGLE, _PADDED, _CONCAT = "single", "padded", "concatenated"
_REDUCTIONS = ("sum", "mean", "none")


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------

def effective_n_threads(n_threads=None) -> int:
    """Resolve ``n_threads`` to a positive thread count (see the module docstring)."""
    if n_threads is None:
        return max(1, _kernels.max_threads())
    if isinstance(n_threads, (bool, np.bool_)) or not isinstance(n_threads, numbers.Integral):
        raise TypeError(f"`n_threads` must be None or an int, got {type(n_threads).__name__}")
    n_threads = int(n_threads)
    if n_threads == -1:
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not on Linux
            return os.cpu_count() or 1
    if n_threads < 1:
        raise ValueError(f"`n_threads` must be a positive int, -1 or None, got {n_threads}")
    return n_threads


# The SIMD variant the kernels run in this thread/context: 0 = the best this CPU supports.
_SIMD = contextvars.ContextVar("fastseq_simd", default=0)


def simd_variant(name):
    """Run the kernels of this variant in the current thread/context; for tests and benchmarks.

    ``with simd_variant("generic"): ...``. ``name`` is one of
    ``fastseq._kernels.simd_levels()``: "generic", "avx2", "avx512", those this build and CPU
    support. Other threads and contexts keep their own choice (by default the best variant);
    results agree across variants to rounding, not bitwise.
    """
    supported = _kernels.simd_levels()
    if name not in supported:
        raise ValueError(
            f"`name` must be a SIMD variant this CPU supports, one of {supported}; got {name!r}")
    return _simd_override(_kernels.simd_id(name))


@contextlib.contextmanager
def _simd_override(simd):
    token = _SIMD.set(simd)
    try:
        yield
    finally:
        _SIMD.reset(token)


def as_numpy(x, name="array"):
    """A numpy view of ``x`` without copying where possible: numpy arrays as they are, torch
    CPU tensors (detached), and anything speaking DLPack or the buffer/array protocols."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach") and hasattr(x, "device"):  # a torch tensor
        if x.device.type != "cpu":
            raise TypeError(f"`{name}` is a tensor on {x.device}; fastseq's kernels run on the "
                            "CPU (use fastseq.torch.CRF, which falls back to pure torch there)")
        x = x.detach()
        if x.is_conj():
            x = x.resolve_conj()
        return x.numpy()
    if hasattr(x, "__dlpack__") and not hasattr(x, "__array__"):
        return np.from_dlpack(x)
    return np.asarray(x)


# Below about this much work per thread (in multiply-adds of a forward pass), starting a
# thread team costs more than it saves, and on a busy machine a descheduled team member
# stalls the whole call.
_WORK_PER_THREAD = 250_000


def _threads_for(n_threads, lengths, N, passes=1):
    """Threads actually used: fewer for small batches (``passes``: the op's cost in forward
    passes). Results do not depend on it."""
    if n_threads == 1:
        return 1
    work = int(lengths.sum()) * max(N, 8) ** 2 * passes
    return max(1, min(n_threads, work // _WORK_PER_THREAD))


def _float_array(x, name):
    arr = as_numpy(x, name)
    kind = arr.dtype.kind
    if kind == "f":
        return arr
    if kind in "iu":
        return arr.astype(np.float64)
    raise TypeError(f"`{name}` must be an array of real numbers, got dtype {arr.dtype}")


def _check_finite(arr, name, valid=None):
    """NaN and +inf are errors (-inf means forbidden). ``valid()``, if given, returns the mask
    of rows to check (padding may hold anything); it is only built when something is off."""
    if arr.size == 0 or bool(np.all(arr < np.inf)):
        return
    sub = arr if valid is None else arr[valid()]
    if np.isnan(sub).any():
        raise ValueError(f"`{name}` contains NaN")
    if np.isposinf(sub).any():
        raise ValueError(f"`{name}` contains +inf (use -inf for forbidden entries)")


class _Batch:
    """Validated inputs in the kernels' form: 2-D C-contiguous emissions [rows, N] + offsets."""

    __slots__ = ("kind", "em", "trans", "start", "end", "dtype", "N", "B", "T", "L",
                 "offsets", "lengths", "n_threads", "shape")

    def __init__(self, emissions, transitions, start, end, lengths, n_threads, passes=1):
        em = _float_array(emissions, "emissions")
        tr = _float_array(transitions, "transitions")
        st = None if start is None else _float_array(start, "start")
        en = None if end is None else _float_array(end, "end")
        floats = [a for a in (em, tr, st, en) if a is not None]
        self.dtype = (np.dtype(np.float32) if all(a.dtype == np.float32 for a in floats)
                      else np.dtype(np.float64))
        if em.ndim not in (2, 3):
            raise ValueError(
                f"`emissions` must be 2-D (T, N) / (L, N) or 3-D (B, T, N), got shape {em.shape}")
        N = em.shape[-1]
        if N < 1:
            raise ValueError(f"`emissions` must have at least one state, got shape {em.shape}")
        if tr.shape != (N, N):
            raise ValueError(
                f"`transitions` must have shape (N, N) = ({N}, {N}) to match `emissions`, "
                f"got {tr.shape}")
        for arr, name in ((st, "start"), (en, "end")):
            if arr is not None and arr.shape != (N,):
                raise ValueError(f"`{name}` must have shape (N,) = ({N},), got {arr.shape}")
        self.N, self.shape = N, em.shape
        self._layout(em, lengths)
        self.n_threads = _threads_for(effective_n_threads(n_threads), self.lengths, N, passes)
        cast = self.dtype
        self.em = np.ascontiguousarray(em.reshape(-1, N) if em.ndim == 3 else em, dtype=cast)
        self.trans = np.ascontiguousarray(tr, dtype=cast)
        self.start = None if st is None else np.ascontiguousarray(st, dtype=cast)
        self.end = None if en is None else np.ascontiguousarray(en, dtype=cast)
        _check_finite(self.em, "emissions", self.valid_rows if self.kind == _PADDED else None)
        for arr, name in ((self.trans, "transitions"), (self.start, "start"), (self.end, "end")):
            if arr is not None:
                _check_finite(arr, name)

    def _layout(self, em, lengths):
        if em.ndim == 2 and lengths is None:
            self.kind, self.B, self.T, self.L = _SINGLE, 1, em.shape[0], em.shape[0]
            self.lengths = np.array([em.shape[0]], dtype=np.int64)
            self.offsets = np.zeros(1, dtype=np.int64)
            return
        if em.ndim == 3:
            B, T = em.shape[0], em.shape[1]
            self.kind, self.B, self.T, self.L = _PADDED, B, T, B * T
            if lengths is None:
                self.lengths = np.full(B, T, dtype=np.int64)
            else:
                self.lengths = _check_lengths(lengths, B)
                if self.lengths.size and self.lengths.max() > T:
                    i = int(np.argmax(self.lengths))
                    raise ValueError(
                        f"`lengths` must be <= T = {T} (axis 1 of `emissions`), got "
                        f"{self.lengths[i]} at index {i}")
            self.offsets = np.arange(B, dtype=np.int64) * T
            return
        self.lengths = _check_lengths(lengths, None)
        L = em.shape[0]
        total = int(self.lengths.sum())
        if total != L:
            raise ValueError(
                f"`lengths` must sum to {L} (rows of `emissions`), got {total}")
        self.kind, self.B, self.L = _CONCAT, self.lengths.size, L
        self.T = int(self.lengths.max()) if self.lengths.size else 0
        self.offsets = np.zeros(self.B, dtype=np.int64)
        np.cumsum(self.lengths[:-1], out=self.offsets[1:])

    def valid_rows(self):
        """Boolean mask over the rows of ``em`` that belong to a sequence (padded layout)."""
        return (np.arange(self.T)[None, :] < self.lengths[:, None]).reshape(-1)

    def args(self):
        return (self.em, self.trans, self.start, self.end, self.offsets, self.lengths,
                self.n_threads, _SIMD.get())

    # -- outputs -------------------------------------------------------------------------
    def em_like(self):
        """A zeroed output shaped like the emissions rows (zeros past each end)."""
        return np.zeros((self.em.shape[0], self.N), dtype=self.dtype)

    def unrows(self, a):
        """Rows [rows, ...] back to the caller's layout."""
        return a.reshape(self.shape[:-1] + a.shape[1:]) if self.kind == _PADDED else a

    def per_seq(self, v, dtype=None):
        """(B,) values -> float for one sequence, else an array of the batch dtype."""
        if self.kind == _SINGLE:
            return float(np.asarray(v[0], dtype=dtype or self.dtype))
        return np.asarray(v, dtype=dtype or self.dtype)

    def paths_out(self):
        return np.full(self.em.shape[0], -1, dtype=np.int64)


def _check_lengths(lengths, B):
    arr = as_numpy(lengths, "lengths")
    if arr.ndim != 1:
        raise ValueError(f"`lengths` must be 1-D, got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu":
        raise ValueError(f"`lengths` must hold integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if B is not None and arr.size != B:
        raise ValueError(f"`lengths` must have B = {B} entries (axis 0 of `emissions`), "
                         f"got {arr.size}")
    if arr.size and arr.min() < 0:
        i = int(np.argmin(arr))
        raise ValueError(f"`lengths` must be non-negative, got {arr[i]} at index {i}")
    return np.ascontiguousarray(arr)


def _check_tags(tags, batch):
    arr = as_numpy(tags, "tags")
    if arr.dtype.kind not in "iu" and not (arr.size == 0 and arr.dtype.kind == "f"):
        raise TypeError(f"`tags` must be an integer array, got dtype {arr.dtype}")
    want = {_SINGLE: (batch.T,), _PADDED: (batch.B, batch.T), _CONCAT: (batch.L,)}[batch.kind]
    if arr.shape != want:
        raise ValueError(f"`tags` must have shape {want} to match `emissions` ({batch.kind} "
                         f"layout), got {arr.shape}")
    arr = np.ascontiguousarray(arr.reshape(-1), dtype=np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= batch.N):
        sub = arr[batch.valid_rows()] if batch.kind == _PADDED else arr
        bad = (sub < 0) | (sub >= batch.N)
        if bad.any():
            raise ValueError(f"`tags` must be in [0, {batch.N}), got {sub[np.argmax(bad)]}")
    return arr


# ---------------------------------------------------------------------------------------------
# the API
# ---------------------------------------------------------------------------------------------

def log_partition(emissions, transitions, *, start=None, end=None, lengths=None,
                  n_threads=None):
    """Log-partition ``log_Z`` = logsumexp of the scores of all paths.

    For an HMM (``emissions = log P(x_t | state)``, ``transitions = log A``,
    ``start = log pi``) this is the log-likelihood ``log P(x)``.
    Returns a float for one sequence, else ``(B,)``. ``-inf`` when no path is allowed.
    """
    b = _Batch(emissions, transitions, start, end, lengths, n_threads)
    log_Z = np.empty(b.B)
    _kernels.forward(*b.args(), None, log_Z)
    return b.per_seq(log_Z)


def forward(emissions, transitions, *, start=None, end=None, lengths=None, n_threads=None):
    """Forward lattice.

    Returns ``(log_alpha, log_Z)``: ``log_alpha`` like ``emissions`` (zeros past each end),
    ``log_alpha[t, j]`` = log-sum of the scores of all prefixes ending in state j at t
    (including ``start`` and ``emissions[t, j]``); ``log_Z`` float or ``(B,)``.
    """
    b = _Batch(emissions, transitions, start, end, lengths, n_threads)
    log_alpha = b.em_like()
    log_Z = np.empty(b.B)
    _kernels.forward(*b.args(), log_alpha, log_Z)
    return b.unrows(log_alpha), b.per_seq(log_Z)


def backward(emissions, transitions, *, start=None, end=None, lengths=None, n_threads=None):
    """Backward lattice ``log_beta`` like ``emissions`` (zeros past each end).

    ``log_beta[t, i]`` = log-sum of the scores of all suffixes after t given state i at t
    (transitions, later emissions and ``end``); ``log_beta[T-1] = end``.
    """
    b = _Batch(emissions, transitions, start, end, lengths, n_threads)
    log_beta = b.em_like()
    _kernels.backward(*b.args(), log_beta)
    return b.unrows(log_beta)


def marginals(emissions, transitions, *, pairwise=False, start=None, end=None, lengths=None,
              n_threads=None):
    """Posterior marginals ``Marginals(node, pair, log_Z)``.

    ``node`` like ``emissions``: ``P(y_t = j | x)``, each row sums to 1 (zeros past each end
    and for sequences with no allowed path). ``pair`` (only with ``pairwise=True``):
    ``(N, N)`` for one sequence, else ``(B, N, N)``: expected transition counts
    ``sum_t P(y_{t-1} = i, y_t = j | x)``. ``log_Z`` float or ``(B,)``.
    """
    b = _Batch(emissions, transitions, start, end, lengths, n_threads, passes=4)
    node = b.em_like()
    pair = np.empty((b.B, b.N, b.N), dtype=b.dtype) if pairwise else None
    log_Z = np.empty(b.B)
    _kernels.marginals(*b.args(), node, pair, log_Z)
    if pair is not None and b.kind == _SINGLE:
        pair = pair[0]
    return Marginals(b.unrows(node), pair, b.per_seq(log_Z))


def viterbi(emissions, transitions, *, start=None, end=None, lengths=None, n_threads=None):
    """Best path (Viterbi).

    Returns ``(paths, scores)``: int64 paths ``(T,)`` / ``(B, T)`` padded with -1 /
    ``(L,)`` concatenated; scores float or ``(B,)``. A sequence with no allowed path gets a
    path of -1 and score ``-inf``. Ties go to the lowest state index.
    """
    b = _Batch(emissions, transitions, start, end, lengths, n_threads)
    paths = b.paths_out()
    scores = np.empty(b.B)
    _kernels.viterbi(*b.args(), paths, scores)
    return b.unrows(paths), b.per_seq(scores)


def kbest(emissions, transitions, k, *, start=None, end=None, lengths=None, n_threads=None):
    """The ``k`` best distinct paths, best first.

    Returns ``(paths, scores)``: paths ``(k, T)`` for one sequence, ``(B, k, T)`` padded,
    ``(k, L)`` concatenated (row r holds every sequence's r-th best path); scores ``(k,)`` or
    ``(B, k)``. Missing paths (fewer than k exist) are -1 with score ``-inf``.
    """
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
        raise TypeError(f"`k` must be an int, got {type(k).__name__}")
    if k < 1:
        raise ValueError(f"`k` must be >= 1, got {k}")
    k = int(k)
    b = _Batch(emissions, transitions, start, end, lengths, n_threads)
    if b.kind == _CONCAT:
        base, stride, shape = b.offsets, b.L, (k, b.L)
    else:
        base, stride = np.arange(b.B, dtype=np.int64) * (k * b.T), b.T
        shape = (k, b.T) if b.kind == _SINGLE else (b.B, k, b.T)
    paths = np.full(k * b.B * b.T if b.kind != _CONCAT else k * b.L, -1, dtype=np.int64)
    scores = np.empty((b.B, k))
    _kernels.kbest(*b.args(), k, base, stride, paths, scores)
    scores = scores.astype(b.dtype)
    return paths.reshape(shape), scores[0] if b.kind == _SINGLE else scores


def posterior_decode(emissions, transitions, *, start=None, end=None, lengths=None,
                     n_threads=None):
    """Per-position most probable state (argmax of the node marginals).

    Returns ``(paths, confidences)`` laid out like :func:`viterbi`'s paths; ``confidences``
    holds the chosen state's marginal probability (0 past each end). Sequences with no
    allowed path get -1 and 0.
    """
    node = marginals(emissions, transitions, start=start, end=end, lengths=lengths,
                     n_threads=n_threads).node
    conf = node.max(axis=-1)
    paths = np.where(conf > 0, node.argmax(axis=-1), -1).astype(np.int64)
    return paths, conf


def sequence_score(emissions, transitions, tags, *, start=None, end=None, lengths=None,
                   n_threads=None):
    """Score of the given paths ``tags`` (laid out like :func:`viterbi`'s paths).

    Returns a float or ``(B,)``; entries of ``tags`` past a sequence's end are ignored.
    """
    b = _Batch(emissions, transitions, start, end, lengths, n_threads)
    y = _check_tags(tags, b)
    scores = np.empty(b.B)
    _kernels.sequence_score(*b.args(), y, scores)
    return b.per_seq(scores)


def crf_nll(emissions, transitions, tags, *, reduction="sum", start=None, end=None,
            lengths=None, n_threads=None):
    """CRF negative log-likelihood ``log_Z - score(tags)`` and its gradients.

    ``reduction``: "sum" or "mean" over sequences (a float), or "none" (``(B,)``; the
    gradients are then those of the sum). Returns ``(nll, CRFGrad(emissions, transitions,
    start, end))`` with gradients shaped like the inputs (``(N, N)``, ``(N,)``, ``(N,)``;
    the emission gradient is zero past each end). ``+inf`` when the gold path is forbidden.
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f"`reduction` must be one of {_REDUCTIONS}, got {reduction!r}")
    b = _Batch(emissions, transitions, start, end, lengths, n_threads, passes=4)
    y = _check_tags(tags, b)
    nll = np.empty(b.B)
    g_em = b.em_like()
    g_pair = np.empty((b.B, b.N, b.N), dtype=b.dtype)
    g_start = np.empty((b.B, b.N), dtype=b.dtype)
    g_end = np.empty((b.B, b.N), dtype=b.dtype)
    _kernels.crf_nll(*b.args(), y, nll, g_em, g_pair, g_start, g_end)
    # sums over the batch run here, in sequence order: bitwise identical for any n_threads
    grads = [g_em, g_pair.sum(axis=0), g_start.sum(axis=0), g_end.sum(axis=0)]
    if reduction == "mean" and b.B > 0:
        grads = [g / b.dtype.type(b.B) for g in grads]
    grad = CRFGrad(b.unrows(grads[0]), *grads[1:])
    if b.kind == _SINGLE:
        return b.per_seq(nll), grad
    if reduction == "none":
        return nll.astype(b.dtype), grad
    total = nll.sum() if reduction == "sum" else (nll.mean() if b.B else 0.0)
    return float(np.asarray(total, dtype=b.dtype)), grad
