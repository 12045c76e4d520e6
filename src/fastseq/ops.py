"""The functional API: numpy in, numpy out, C kernels underneath.

Every function takes one sequence or a batch:

* ``emissions`` 2-D ``(T, N)`` and ``lengths=None``: one sequence;
* ``emissions`` 3-D ``(B, T, N)`` with ``lengths`` ``(B,)`` or ``None``: a padded batch whose
  positions ``>= lengths[b]`` are ignored (never read, so they may hold anything);
* ``emissions`` 2-D ``(L, N)`` with ``lengths`` ``(B,)`` summing to ``L``: a concatenated batch.

``transitions[i, j]`` scores the move from state ``i`` to ``j``; ``start``/``end`` ``(N,)``
score the first and last state (``None`` = zeros). ``-inf`` marks a forbidden move and is
handled exactly; a ``scipy.sparse`` ``transitions`` lists only the allowed moves (see
:mod:`fastseq.structured` for common patterns). float32 inputs give float32 outputs,
anything else float64. ``n_threads``: ``None`` = every core this process may use
(``OMP_NUM_THREADS`` and threadpoolctl limits apply), ``-1`` = all cores, ``k > 0`` = k
threads; results are bitwise identical for any value.
Inputs are validated here, once; the kernels run without the GIL.
"""
from __future__ import annotations

import contextlib
import contextvars
import math
import numbers
import os
import sys
import threading
from typing import Any, Callable, ContextManager, Dict, List, Optional, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike

import fastseq._kernels as _kernels

from ._moves import as_moves, is_sparse
from ._types import CRFGrad, Marginals
from .schemes import allowed_transitions

__all__ = [
    "log_partition", "forward", "backward", "marginals", "viterbi", "kbest",
    "posterior_decode", "sequence_score", "crf_nll", "allowed_transitions",
    "Marginals", "CRFGrad", "effective_n_threads", "as_numpy", "simd_variant",
    "simd_in_use",
]

_SINGLE, _PADDED, _CONCAT = "single", "padded", "concatenated"
_MAX_OUTPUT = 2**60 // 8  # entries of one output array: its byte size must fit in int64
_REDUCTIONS = ("sum", "mean", "none")


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------

def effective_n_threads(n_threads: Optional[int] = None) -> int:
    """The number of threads an ``n_threads`` argument stands for.

    Parameters
    ----------
    n_threads : int, optional
        ``None``: every core this process may use (``omp_get_max_threads``, so
        ``OMP_NUM_THREADS`` and threadpoolctl limits apply); ``-1``: all cores available to
        the process; ``k > 0``: ``k``, at most the cores available to the process (more
        would only compete for them).

    Returns
    -------
    int
        A positive thread count; 1 in a child process forked after a kernel ran (the
        kernels' thread pool does not survive ``fork``; processes started by ``spawn`` or
        ``forkserver`` are not limited).

    Raises
    ------
    ValueError
        If ``n_threads`` is 0 or below -1.
    TypeError
        If ``n_threads`` is not None or an int.

    Examples
    --------
    >>> import fastseq
    >>> 1 <= fastseq.effective_n_threads(3) <= 3
    True
    >>> fastseq.effective_n_threads(None) >= 1
    True
    """
    if n_threads is None:
        return max(1, _kernels.max_threads())
    if isinstance(n_threads, (bool, np.bool_)) or not isinstance(n_threads, numbers.Integral):
        raise TypeError(f"`n_threads` must be None or an int, got {type(n_threads).__name__}")
    n_threads = int(n_threads)
    if n_threads == -1:
        return _kernels.thread_count(_INT_MAX)
    if n_threads < 1:
        raise ValueError(f"`n_threads` must be a positive int, -1 or None, got {n_threads}")
    return _kernels.thread_count(min(n_threads, _INT_MAX))


_INT_MAX = 2**31 - 1


def _simd_from_environment() -> int:
    """The default SIMD variant: ``FASTSEQ_SIMD`` (a variant's name) or 0, the best this CPU
    supports."""
    name = os.environ.get("FASTSEQ_SIMD", "").strip().lower()
    if not name:
        return 0
    supported = _kernels.simd_levels()
    if name not in supported:
        raise ImportError(f"FASTSEQ_SIMD={name!r} is not a SIMD variant this CPU supports, "
                          f"one of {supported}")
    return _kernels.simd_id(name)


# The SIMD variant the kernels run in this thread/context: 0 = the best this CPU supports.
_DEFAULT_SIMD = _simd_from_environment()
_SIMD = contextvars.ContextVar("fastseq_simd", default=_DEFAULT_SIMD)


def simd_variant(name: str) -> ContextManager[None]:
    """Run the kernels of one SIMD variant in the current thread or context.

    The kernels exist for generic x86-64, AVX2 and AVX-512; by default every call runs the
    best variant the CPU supports (or the one the ``FASTSEQ_SIMD`` environment variable
    names, read at import). This context manager (for tests and benchmarks) picks
    one for the calls made inside it, in this thread or asyncio context only; other
    threads keep their own choice. Results agree across variants to rounding, not
    bitwise.

    Parameters
    ----------
    name : str
        ``"generic"``, ``"avx2"`` or ``"avx512"``: one this build and CPU support.

    Returns
    -------
    context manager
        Restores the previous choice on exit.

    Raises
    ------
    ValueError
        If the variant is unknown or not supported here (the message lists the supported
        ones).

    Examples
    --------
    >>> import numpy as np
    >>> import fastseq
    >>> em, tr = np.log([[0.6, 0.4], [0.3, 0.7]]), np.log([[0.8, 0.2], [0.3, 0.7]])
    >>> with fastseq.simd_variant("generic"):
    ...     round(fastseq.log_partition(em, tr), 4)
    -0.7765
    """
    supported = _kernels.simd_levels()
    if name not in supported:
        raise ValueError(
            f"`name` must be a SIMD variant this CPU supports, one of {supported}; got {name!r}")
    return _simd_override(_kernels.simd_id(name))


def simd_in_use() -> str:
    """The SIMD variant the kernels run in the current thread or context.

    Returns
    -------
    str
        ``"generic"``, ``"avx2"`` or ``"avx512"``: the one :func:`simd_variant` chose here,
        else the one ``FASTSEQ_SIMD`` names, else the best this CPU supports.

    Examples
    --------
    >>> import fastseq
    >>> from fastseq.ops import simd_in_use
    >>> with fastseq.simd_variant("generic"):
    ...     simd_in_use()
    'generic'
    """
    simd = _SIMD.get()
    return _kernels.simd_level() if simd == 0 else _kernels.simd_name(simd)


@contextlib.contextmanager
def _simd_override(simd):
    token = _SIMD.set(simd)
    try:
        yield
    finally:
        _SIMD.reset(token)


def as_numpy(x: Any, name: str = "array") -> np.ndarray:
    """A numpy view of an array-like, without copying where possible.

    Parameters
    ----------
    x : array-like
        A numpy array (returned as it is), a torch CPU tensor (detached, conjugation
        resolved), or anything speaking DLPack or the buffer / array protocols.
    name : str, default "array"
        The argument's name, for error messages.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    TypeError
        For a tensor that is not on the CPU.

    Examples
    --------
    >>> from fastseq.ops import as_numpy
    >>> as_numpy([[1, 2], [3, 4]]).shape
    (2, 2)
    """
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


# Below about this much work per thread (in multiply-adds of a forward pass), waking a
# worker of the pool costs more than it saves (quiet 2-core machine, B=64 T=50 N=9 float32,
# 2 threads: Viterbi 39 -> 30 us and log_partition 50 -> 34 us going from 250,000 to
# 60,000; nothing slower down to 30,000). A worker that does not come in time costs little:
# the caller does its share.
_WORK_PER_THREAD = 60_000


_openmp_team_shared = False


def _share_torch_team():
    """Once torch is loaded, multi-threaded calls from the main thread may run on its OpenMP
    team while that team still spins after a torch op: torch and fastseq load the same
    libgomp, and the team's threads would otherwise spin on the cores our pool's workers
    need (csrc/src/pool.c). Other threads keep to the pool: they would each start a team."""
    global _openmp_team_shared
    if (not _openmp_team_shared and "torch" in sys.modules
            and threading.current_thread() is threading.main_thread()):
        _kernels.set_openmp_team(True)
        _openmp_team_shared = True


def _threads_for(n_threads, lengths, per_step, passes=1):
    """Threads actually used: fewer for small batches (``per_step``: a forward step's work,
    ``passes``: the op's cost in forward passes). Results do not depend on it."""
    if n_threads == 1:
        return 1
    work = int(lengths.sum()) * per_step * passes
    threads = max(1, min(n_threads, work // _WORK_PER_THREAD))
    if threads > 1:
        _share_torch_team()
    return threads


def _float_array(x, name):
    arr = as_numpy(x, name)
    kind = arr.dtype.kind
    if kind == "f":
        return arr
    if kind in "iu":
        return arr.astype(np.float64)
    raise TypeError(f"`{name}` must be an array of real numbers, got dtype {arr.dtype}")


def _for_kernel(arr, dtype):
    """``arr`` as the kernels read it: C-contiguous, aligned, native ``dtype`` (a copy only
    when it is not already so: numpy hands out unaligned and byte-swapped arrays too)."""
    return np.require(arr, dtype=dtype, requirements=("C", "A"))


# Finite scores above this (over the positions a path has) could overflow the sum along a
# path to +inf, and log_Z - score to NaN; in float32 the outputs are rounded to float32.
_SCORE_LIMIT = {np.dtype(np.float64): 1e300, np.dtype(np.float32): 1e30}


def _check_scores(arr, name, positions, valid=None):
    """NaN and +inf are errors (-inf means forbidden), and so are scores so large that a
    path's total could overflow (any value is fine as a large negative one). ``valid()``, if
    given, returns the mask of rows to check (padding may hold anything); it is only built
    when something is off."""
    limit = _SCORE_LIMIT[arr.dtype] / (positions + 2)
    if arr.size == 0 or bool(arr.max() <= limit):
        return
    sub = arr if valid is None else arr[valid()]
    if np.isnan(sub).any():
        raise ValueError(f"`{name}` contains NaN")
    if np.isposinf(sub).any():
        raise ValueError(f"`{name}` contains +inf (use -inf for forbidden entries)")
    if sub.size and sub.max() > limit:
        raise ValueError(
            f"`{name}` holds a score of {sub.max():.3g}: above {limit:.3g} "
            f"({_SCORE_LIMIT[arr.dtype]:.0e} / (T + 2)) the total score of a path could "
            f"overflow")


class _Batch:
    """Validated inputs in the kernels' form: 2-D C-contiguous emissions [rows, N] + offsets."""

    __slots__ = ("kind", "em", "trans", "moves", "start", "end", "dtype", "N", "B", "T", "L",
                 "offsets", "lengths", "n_threads", "shape")

    def __init__(self, emissions, transitions, start, end, lengths, n_threads, passes=1):
        em = _float_array(emissions, "emissions")
        # sparse transitions: trans holds the scores of the stored moves (moves.data)
        self.moves = as_moves(transitions) if is_sparse(transitions) else None
        tr = (_float_array(transitions, "transitions") if self.moves is None
              else self.moves.data)
        st = None if start is None else _float_array(start, "start")
        en = None if end is None else _float_array(end, "end")
        floats = [a for a in (em, tr, st, en) if a is not None]
        self.dtype = (np.dtype(np.float32) if all(a.dtype.type is np.float32 for a in floats)
                      else np.dtype(np.float64))
        if em.ndim not in (2, 3):
            raise ValueError(
                f"`emissions` must be 2-D (T, N) / (L, N) or 3-D (B, T, N), got shape {em.shape}")
        N = em.shape[-1]
        if N < 1:
            raise ValueError(f"`emissions` must have at least one state, got shape {em.shape}")
        if self.moves is not None:
            if self.moves.n_states != N:
                raise ValueError(
                    f"`transitions` must have shape (N, N) = ({N}, {N}) to match `emissions`, "
                    f"got ({self.moves.n_states}, {self.moves.n_states})")
        elif tr.shape != (N, N):
            raise ValueError(
                f"`transitions` must have shape (N, N) = ({N}, {N}) to match `emissions`, "
                f"got {tr.shape}")
        for arr, name in ((st, "start"), (en, "end")):
            if arr is not None and arr.shape != (N,):
                raise ValueError(f"`{name}` must have shape (N,) = ({N},), got {arr.shape}")
        self.N, self.shape = N, em.shape
        self._layout(em, lengths)
        per_step = max(N, 8) ** 2 if self.moves is None else max(tr.size, 64)
        self.n_threads = _threads_for(effective_n_threads(n_threads), self.lengths, per_step,
                                      passes)
        cast = self.dtype
        self.em = _for_kernel(em.reshape(-1, N) if em.ndim == 3 else em, cast)
        self.trans = _for_kernel(tr, cast)
        self.start = None if st is None else _for_kernel(st, cast)
        self.end = None if en is None else _for_kernel(en, cast)
        _check_scores(self.em, "emissions", self.T,
                      self.valid_rows if self.kind == _PADDED else None)
        for arr, name in ((self.trans, "transitions"), (self.start, "start"), (self.end, "end")):
            if arr is not None:
                _check_scores(arr, name, self.T)

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
        if self.lengths.size and self.lengths.max() > L:
            i = int(np.argmax(self.lengths))
            raise ValueError(f"`lengths` must sum to {L} (rows of `emissions`), but entry "
                             f"{i} alone is {self.lengths[i]}")
        # each length is <= L, so the int64 sum cannot wrap unless B * L could
        total = (int(self.lengths.sum()) if self.lengths.size * max(L, 1) < 2**62
                 else sum(int(n) for n in self.lengths))
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

    def sub(self, lo: int, hi: int) -> "_Batch":
        """The same batch restricted to sequences ``lo:hi`` (their rows are not moved)."""
        part = object.__new__(_Batch)
        for name in self.__slots__:
            setattr(part, name, getattr(self, name))
        part.offsets, part.lengths = self.offsets[lo:hi], self.lengths[lo:hi]
        part.B = hi - lo
        return part

    def take(self, index: np.ndarray) -> "_Batch":
        """The same batch restricted to the sequences ``index`` (their rows are not
        moved)."""
        part = self.sub(0, self.B)
        part.offsets, part.lengths = self.offsets[index], self.lengths[index]
        part.B = len(index)
        return part

    def run(self, kernel: Callable[..., None], *more: Any) -> None:
        """Call a kernel of :mod:`fastseq._kernels` on this batch (its sparse-transition
        version when the transitions are sparse); ``more``: the kernel's remaining (output)
        arguments."""
        if self.moves is None:
            kernel(self.em, self.trans, self.start, self.end, self.offsets, self.lengths,
                   self.n_threads, _SIMD.get(), *more)
        else:
            _SPARSE_KERNELS[kernel](self.em, self.moves.indptr, self.moves.indices, self.trans,
                                    self.start, self.end, self.offsets, self.lengths,
                                    self.n_threads, _SIMD.get(), *more)

    # -- outputs -------------------------------------------------------------------------
    def em_like(self):
        """An output shaped like the emissions rows, for a kernel that writes every row of
        every sequence: zeros past each end of a padded batch, uninitialised otherwise."""
        shape = (self.em.shape[0], self.N)
        return np.zeros(shape, self.dtype) if self.kind == _PADDED else np.empty(shape, self.dtype)

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


_SPARSE_KERNELS: Dict[Callable[..., None], Callable[..., None]] = {
    _kernels.forward: _kernels.sparse_forward,
    _kernels.backward: _kernels.sparse_backward,
    _kernels.marginals: _kernels.sparse_marginals,
    _kernels.viterbi: _kernels.sparse_viterbi,
    _kernels.kbest: _kernels.sparse_kbest,
}


def _check_lengths(lengths, B):
    arr = as_numpy(lengths, "lengths")
    if arr.ndim != 1:
        raise ValueError(f"`lengths` must be 1-D, got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu":
        raise ValueError(f"`lengths` must hold integers, got dtype {arr.dtype}")
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"`lengths` must fit in int64, got {arr.max()}")
    arr = _for_kernel(arr, np.int64)
    if B is not None and arr.size != B:
        raise ValueError(f"`lengths` must have B = {B} entries (axis 0 of `emissions`), "
                         f"got {arr.size}")
    if arr.size and arr.min() < 0:
        i = int(np.argmin(arr))
        raise ValueError(f"`lengths` must be non-negative, got {arr[i]} at index {i}")
    return arr


# Per-sequence gradient scratch of crf_nll: at most this many bytes (but 16 sequences at
# least), whatever the batch size.
_CRF_CHUNK_BYTES = 32 << 20


def _crf_chunk(N, dtype):
    """Sequences per crf_nll kernel call; depends only on N and dtype, never on threads."""
    return max(16, _CRF_CHUNK_BYTES // ((N * N + 2 * N) * dtype.itemsize))


def _check_out(out, batch):
    """``out`` as the rows of an emission-shaped output (zeros past each end of a padded
    batch), or a TypeError / ValueError naming it."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"`out` must be a numpy array, got {type(out).__name__}")
    if out.shape != batch.shape or out.dtype != batch.dtype:
        raise ValueError(f"`out` must have the emissions' shape {batch.shape} and dtype "
                         f"{batch.dtype}, got {out.shape} and {out.dtype}")
    if not (out.flags.c_contiguous and out.flags.writeable):
        raise ValueError("`out` must be C-contiguous and writeable")
    if np.may_share_memory(out, batch.em):
        raise ValueError("`out` must not overlap `emissions`")
    rows = out.reshape(-1, batch.N)
    if batch.kind == _PADDED:
        rows.fill(0)
    return rows


def _check_tags(tags, batch):
    arr = as_numpy(tags, "tags")
    if arr.dtype.kind not in "iu" and not (arr.size == 0 and arr.dtype.kind == "f"):
        raise TypeError(f"`tags` must be an integer array, got dtype {arr.dtype}")
    want = {_SINGLE: (batch.T,), _PADDED: (batch.B, batch.T), _CONCAT: (batch.L,)}[batch.kind]
    if arr.shape != want:
        raise ValueError(f"`tags` must have shape {want} to match `emissions` ({batch.kind} "
                         f"layout), got {arr.shape}")
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"`tags` must be in [0, {batch.N}), got {arr.max()}")
    arr = _for_kernel(arr.reshape(-1), np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= batch.N):
        sub = arr[batch.valid_rows()] if batch.kind == _PADDED else arr
        bad = (sub < 0) | (sub >= batch.N)
        if bad.any():
            raise ValueError(f"`tags` must be in [0, {batch.N}), got {sub[np.argmax(bad)]}")
    return arr


# ---------------------------------------------------------------------------------------------
# the API
# ---------------------------------------------------------------------------------------------

def log_partition(emissions: ArrayLike, transitions: ArrayLike, *,
                  start: Optional[ArrayLike] = None, end: Optional[ArrayLike] = None,
                  lengths: Optional[ArrayLike] = None,
                  n_threads: Optional[int] = None) -> Union[float, np.ndarray]:
    """Log-partition ``log_Z``: the logsumexp of the scores of all paths.

    The score of a path ``y`` is ``start[y_0] + sum_t emissions[t, y_t] + sum_t
    transitions[y_(t-1), y_t] + end[y_(T-1)]``. For an HMM (``emissions = log P(x_t |
    state)``, ``transitions = log A``, ``start = log pi``) ``log_Z`` is the log-likelihood
    ``log P(x)``.

    Parameters
    ----------
    emissions : array-like of shape (T, N), (B, T, N) or (L, N)
        Scores of every state at every position (an HMM's ``log P(x_t | y_t)``): one
        sequence, a padded batch, or a concatenated batch with ``lengths``. float32 input
        (with float32 ``transitions``, ``start``, ``end``) computes and returns float32;
        anything else float64.
    transitions : array-like or scipy.sparse matrix of shape (N, N)
        ``transitions[i, j]`` scores the move from state ``i`` to state ``j`` (an HMM's
        ``log A[i, j]``); ``-inf`` forbids it. A ``scipy.sparse`` matrix (any format)
        lists the allowed moves: a missing entry forbids the move, a stored one is its
        score (a stored 0 scores 0), and every step costs O(nnz) instead of O(N²).
    start, end : array-like of shape (N,), optional
        Scores of the first and of the last state (default: zeros). An HMM's
        ``log P(y_0)`` is ``start``; it has no ``end``.
    lengths : array-like of int of shape (B,), optional
        Sequence lengths: required for the concatenated layout, optional for the padded
        one (default: all ``T``), not allowed for a single sequence.
    n_threads : int, optional
        Threads (``None``: every core this process may use; ``-1``: all cores). Results
        are bitwise identical for any value.

    Returns
    -------
    log_Z : float or ndarray of shape (B,)
        A float for one sequence, else one value per sequence; ``-inf`` where no path is
        allowed, 0 for an empty sequence.

    Raises
    ------
    ValueError
        On a shape that does not match, NaN or ``+inf`` in an input, a score large enough
        for a path's total to overflow (above ``1e300 / (T + 2)``; float32: ``1e30 / (T +
        2)``), or ``lengths`` that do not fit the layout (the message names the argument).
    TypeError
        On non-numeric input or a non-integer ``n_threads``.

    See Also
    --------
    forward : The whole forward lattice.

    Examples
    --------
    >>> import numpy as np
    >>> import fastseq
    >>> em = np.log([[0.6, 0.4], [0.3, 0.7], [0.5, 0.5]])   # T=3 positions, N=2 states
    >>> tr = np.log([[0.8, 0.2], [0.3, 0.7]])
    >>> round(fastseq.log_partition(em, tr), 4)
    -1.4697

    A padded batch of two sequences of lengths 4 and 2:

    >>> rng = np.random.default_rng(0)
    >>> fastseq.log_partition(rng.normal(size=(2, 4, 3)), rng.normal(size=(3, 3)),
    ...                       lengths=[4, 2]).round(4).tolist()
    [4.9056, 0.5627]
    """
    b = _Batch(emissions, transitions, start, end, lengths, n_threads)
    log_Z = np.empty(b.B)
    b.run(_kernels.forward, None, log_Z)
    return b.per_seq(log_Z)


def forward(emissions: ArrayLike, transitions: ArrayLike, *, start: Optional[ArrayLike] = None,
            end: Optional[ArrayLike] = None, lengths: Optional[ArrayLike] = None,
            n_threads: Optional[int] = None) -> Tuple[np.ndarray, Union[float, np.ndarray]]:
    """Forward lattice: log-sums over the path prefixes ending in each state.

    Parameters
    ----------
    emissions : array-like of shape (T, N), (B, T, N) or (L, N)
        Scores of every state at every position (an HMM's ``log P(x_t | y_t)``): one
        sequence, a padded batch, or a concatenated batch with ``lengths``. float32 input
        (with float32 ``transitions``, ``start``, ``end``) computes and returns float32;
        anything else float64.
    transitions : array-like or scipy.sparse matrix of shape (N, N)
        ``transitions[i, j]`` scores the move from state ``i`` to state ``j`` (an HMM's
        ``log A[i, j]``); ``-inf`` forbids it. A ``scipy.sparse`` matrix (any format)
        lists the allowed moves: a missing entry forbids the move, a stored one is its
        score (a stored 0 scores 0), and every step costs O(nnz) instead of O(N²).
    start, end : array-like of shape (N,), optional
        Scores of the first and of the last state (default: zeros). An HMM's
        ``log P(y_0)`` is ``start``; it has no ``end``.
    lengths : array-like of int of shape (B,), optional
        Sequence lengths: required for the concatenated layout, optional for the padded
        one (default: all ``T``), not allowed for a single sequence.
    n_threads : int, optional
        Threads (``None``: every core this process may use; ``-1``: all cores). Results
        are bitwise identical for any value.

    Returns
    -------
    log_alpha : ndarray, shaped like ``emissions``
        ``log_alpha[t, j]``: the log-sum of the scores of all prefixes ending in state
        ``j`` at ``t``, ``start`` and ``emissions[t, j]`` included (zeros past each end).
    log_Z : float or ndarray of shape (B,)
        As :func:`log_partition`.

    Raises
    ------
    ValueError
        On a shape that does not match, NaN or ``+inf`` in an input, a score large enough
        for a path's total to overflow (above ``1e300 / (T + 2)``; float32: ``1e30 / (T +
        2)``), or ``lengths`` that do not fit the layout (the message names the argument).
    TypeError
        On non-numeric input or a non-integer ``n_threads``.

    See Also
    --------
    backward : The suffix lattice; ``log_alpha + log_beta - log_Z`` is the log node
        marginal.

    Examples
    --------
    >>> import numpy as np
    >>> import fastseq
    >>> em = np.log([[0.6, 0.4], [0.3, 0.7], [0.5, 0.5]])   # T=3 positions, N=2 states
    >>> tr = np.log([[0.8, 0.2], [0.3, 0.7]])
    >>> log_alpha, log_Z = fastseq.forward(em, tr)
    >>> log_alpha.shape, round(log_Z, 4)
    ((3, 2), -1.4697)
    >>> log_alpha[0].round(4).tolist()                     # start = 0: just em[0]
    [-0.5108, -0.9163]
    """
    b = _Batch(emissions, transitions, start, end, lengths, n_threads)
    log_alpha = b.em_like()
    log_Z = np.empty(b.B)
    b.run(_kernels.forward, log_alpha, log_Z)
    return b.unrows(log_alpha), b.per_seq(log_Z)


def backward(emissions: ArrayLike, transitions: ArrayLike, *,
             start: Optional[ArrayLike] = None, end: Optional[ArrayLike] = None,
             lengths: Optional[ArrayLike] = None, n_threads: Optional[int] = None) -> np.ndarray:
    """Backward lattice: log-sums over the path suffixes after each state.

    Parameters
    ----------
    emissions : array-like of shape (T, N), (B, T, N) or (L, N)
        Scores of every state at every position (an HMM's ``log P(x_t | y_t)``): one
        sequence, a padded batch, or a concatenated batch with ``lengths``. float32 input
        (with float32 ``transitions``, ``start``, ``end``) computes and returns float32;
        anything else float64.
    transitions : array-like or scipy.sparse matrix of shape (N, N)
        ``transitions[i, j]`` scores the move from state ``i`` to state ``j`` (an HMM's
        ``log A[i, j]``); ``-inf`` forbids it. A ``scipy.sparse`` matrix (any format)
        lists the allowed moves: a missing entry forbids the move, a stored one is its
        score (a stored 0 scores 0), and every step costs O(nnz) instead of O(N²).
    start, end : array-like of shape (N,), optional
        Scores of the first and of the last state (default: zeros). An HMM's
        ``log P(y_0)`` is ``start``; it has no ``end``.
    lengths : array-like of int of shape (B,), optional
        Sequence lengths: required for the concatenated layout, optional for the padded
        one (default: all ``T``), not allowed for a single sequence.
    n_threads : int, optional
        Threads (``None``: every core this process may use; ``-1``: all cores). Results
        are bitwise identical for any value.

    Returns
    -------
    log_beta : ndarray, shaped like ``emissions``
        ``log_beta[t, i]``: the log-sum of the scores of all suffixes after ``t`` given
        state ``i`` at ``t`` (later transitions and emissions, and ``end``);
        ``log_beta[T-1] = end`` (zeros past each end).

    Raises
    ------
    ValueError
        On a shape that does not match, NaN or ``+inf`` in an input, a score large enough
        for a path's total to overflow (above ``1e300 / (T + 2)``; float32: ``1e30 / (T +
        2)``), or ``lengths`` that do not fit the layout (the message names the argument).
    TypeError
        On non-numeric input or a non-integer ``n_threads``.

    See Also
    --------
    forward : The prefix lattice.

    Examples
    --------
    >>> import numpy as np
    >>> import fastseq
    >>> em = np.log([[0.6, 0.4], [0.3, 0.7], [0.5, 0.5]])   # T=3 positions, N=2 states
    >>> tr = np.log([[0.8, 0.2], [0.3, 0.7]])
    >>> log_beta = fastseq.backward(em, tr)
    >>> log_beta[-1].tolist(), log_beta[0].round(4).tolist()
    ([0.0, 0.0], [-1.6607, -1.2379])
    """
    b = _Batch(emissions, transitions, start, end, lengths, n_threads)
    log_beta = b.em_like()
    b.run(_kernels.backward, log_beta)
    return b.unrows(log_beta)


def marginals(emissions: ArrayLike, transitions: ArrayLike, *, pairwise: bool = False,
              start: Optional[ArrayLike] = None, end: Optional[ArrayLike] = None,
              lengths: Optional[ArrayLike] = None, n_threads: Optional[int] = None,
              memory_limit: Optional[float] = None,
              out: Optional[np.ndarray] = None) -> Marginals:
    """Posterior marginals: the probability of each state, and of each move.

    Parameters
    ----------
    emissions : array-like of shape (T, N), (B, T, N) or (L, N)
        Scores of every state at every position (an HMM's ``log P(x_t | y_t)``): one
        sequence, a padded batch, or a concatenated batch with ``lengths``. float32 input
        (with float32 ``transitions``, ``start``, ``end``) computes and returns float32;
        anything else float64.
    transitions : array-like or scipy.sparse matrix of shape (N, N)
        ``transitions[i, j]`` scores the move from state ``i`` to state ``j`` (an HMM's
        ``log A[i, j]``); ``-inf`` forbids it. A ``scipy.sparse`` matrix (any format)
        lists the allowed moves: a missing entry forbids the move, a stored one is its
        score (a stored 0 scores 0), and every step costs O(nnz) instead of O(N²).
    pairwise : bool, default False
        Also return the expected transition counts.
    start, end : array-like of shape (N,), optional
        Scores of the first and of the last state (default: zeros). An HMM's
        ``log P(y_0)`` is ``start``; it has no ``end``.
    lengths : array-like of int of shape (B,), optional
        Sequence lengths: required for the concatenated layout, optional for the padded
        one (default: all ``T``), not allowed for a single sequence.
    n_threads : int, optional
        Threads (``None``: every core this process may use; ``-1``: all cores). Results
        are bitwise identical for any value.
    memory_limit : float, optional
        Bytes of lattice memory one sequence may take (about ``32 N`` bytes a position;
        default 1 GiB). A longer sequence is computed by checkpointed forward-backward:
        the forward row before every segment of about ``sqrt(T)`` positions is kept, the
        rows between are computed again -- about twice the work, ``O(sqrt(T) N)`` memory,
        the same marginals (each segment in float64).
    out : ndarray, optional
        Receives the node marginals, returned as ``node``: a writeable C-contiguous array
        of the emissions' shape and of the result dtype (a ``numpy.memmap`` keeps a very
        long sequence's marginals on disk).

    Returns
    -------
    Marginals
        A named tuple ``(node, pair, log_Z)``: ``node`` shaped like ``emissions``,
        ``P(y_t = j | x)``, each row summing to 1 (zeros past each end and for sequences
        with no allowed path); ``pair`` ``(N, N)`` for one sequence, else ``(B, N, N)``:
        ``sum_t P(y_(t-1) = i, y_t = j | x)`` (None unless ``pairwise``; with sparse
        ``transitions`` a ``scipy.sparse.csr_array`` of their pattern, or a list of them,
        one per sequence); ``log_Z`` as :func:`log_partition`. For an HMM these are the
        E-step statistics of Baum-Welch.

    Raises
    ------
    ValueError
        On a shape that does not match, NaN or ``+inf`` in an input, a score large enough
        for a path's total to overflow (above ``1e300 / (T + 2)``; float32: ``1e30 / (T +
        2)``), or ``lengths`` that do not fit the layout (the message names the argument).
    TypeError
        On non-numeric input or a non-integer ``n_threads``.

    See Also
    --------
    posterior_decode : The most probable state at each position.

    Examples
    --------
    >>> import numpy as np
    >>> import fastseq
    >>> em = np.log([[0.6, 0.4], [0.3, 0.7], [0.5, 0.5]])   # T=3 positions, N=2 states
    >>> tr = np.log([[0.8, 0.2], [0.3, 0.7]])
    >>> m = fastseq.marginals(em, tr, pairwise=True)
    >>> m.node.round(3).tolist()
    [[0.496, 0.504], [0.391, 0.609], [0.496, 0.504]]
    >>> m.pair.round(3).tolist()                           # sums to T - 1 = 2
    [[0.626, 0.261], [0.261, 0.852]]
    """
    b = _Batch(emissions, transitions, start, end, lengths, n_threads, passes=4)
    node = b.em_like() if out is None else _check_out(out, b)
    log_Z, rows = _posteriors(b, node, pairwise, memory_limit)
    pair: Any = rows
    if rows is not None and b.moves is not None:
        pair = [b.moves.to_sparse(r) for r in rows]
    if pair is not None and b.kind == _SINGLE:
        pair = pair[0]
    return Marginals(b.unrows(node) if out is None else out, pair, b.per_seq(log_Z))


def viterbi(emissions: ArrayLike, transitions: ArrayLike, *, start: Optional[ArrayLike] = None,
            end: Optional[ArrayLike] = None, lengths: Optional[ArrayLike] = None,
            n_threads: Optional[int] = None) -> Tuple[np.ndarray, Union[float, np.ndarray]]:
    """The best path of every sequence (Viterbi).

    Parameters
    ----------
    emissions : array-like of shape (T, N), (B, T, N) or (L, N)
        Scores of every state at every position (an HMM's ``log P(x_t | y_t)``): one
        sequence, a padded batch, or a concatenated batch with ``lengths``. float32 input
        (with float32 ``transitions``, ``start``, ``end``) computes and returns float32;
        anything else float64.
    transitions : array-like or scipy.sparse matrix of shape (N, N)
        ``transitions[i, j]`` scores the move from state ``i`` to state ``j`` (an HMM's
        ``log A[i, j]``); ``-inf`` forbids it. A ``scipy.sparse`` matrix (any format)
        lists the allowed moves: a missing entry forbids the move, a stored one is its
        score (a stored 0 scores 0), and every step costs O(nnz) instead of O(N²).
    start, end : array-like of shape (N,), optional
        Scores of the first and of the last state (default: zeros). An HMM's
        ``log P(y_0)`` is ``start``; it has no ``end``.
    lengths : array-like of int of shape (B,), optional
        Sequence lengths: required for the concatenated layout, optional for the padded
        one (default: all ``T``), not allowed for a single sequence.
    n_threads : int, optional
        Threads (``None``: every core this process may use; ``-1``: all cores). Results
        are bitwise identical for any value.

    Returns
    -------
    paths : ndarray of int64
        ``(T,)`` for one sequence, ``(B, T)`` padded with -1 for a padded batch, ``(L,)``
        concatenated for a concatenated one. Ties go to the lowest state index.
    scores : float or ndarray of shape (B,)
        The score of each best path. A sequence with no allowed path gets a path of -1
        and score ``-inf``; an empty one score 0.

    Raises
    ------
    ValueError
        On a shape that does not match, NaN or ``+inf`` in an input, a score large enough
        for a path's total to overflow (above ``1e300 / (T + 2)``; float32: ``1e30 / (T +
        2)``), or ``lengths`` that do not fit the layout (the message names the argument).
    TypeError
        On non-numeric input or a non-integer ``n_threads``.

    See Also
    --------
    kbest : The k best paths.
    sequence_score : The score of given paths.

    Examples
    --------
    >>> import numpy as np
    >>> import fastseq
    >>> em = np.log([[0.6, 0.4], [0.3, 0.7], [0.5, 0.5]])   # T=3 positions, N=2 states
    >>> tr = np.log([[0.8, 0.2], [0.3, 0.7]])
    >>> path, score = fastseq.viterbi(em, tr)
    >>> path.tolist(), round(score, 4)
    ([1, 1, 1], -2.6795)
    >>> rng = np.random.default_rng(0)
    >>> paths, _ = fastseq.viterbi(rng.normal(size=(2, 4, 3)), rng.normal(size=(3, 3)),
    ...                            lengths=[4, 2])
    >>> paths.tolist()                                     # padded with -1
    [[0, 0, 0, 0], [1, 2, -1, -1]]
    """
    b = _Batch(emissions, transitions, start, end, lengths, n_threads)
    paths = b.paths_out()
    scores = np.empty(b.B)
    b.run(_kernels.viterbi, paths, scores)
    return b.unrows(paths), b.per_seq(scores)


def kbest(emissions: ArrayLike, transitions: ArrayLike, k: int, *,
          start: Optional[ArrayLike] = None, end: Optional[ArrayLike] = None,
          lengths: Optional[ArrayLike] = None,
          n_threads: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
    """The ``k`` best distinct paths of every sequence, best first.

    Parameters
    ----------
    emissions : array-like of shape (T, N), (B, T, N) or (L, N)
        Scores of every state at every position (an HMM's ``log P(x_t | y_t)``): one
        sequence, a padded batch, or a concatenated batch with ``lengths``. float32 input
        (with float32 ``transitions``, ``start``, ``end``) computes and returns float32;
        anything else float64.
    transitions : array-like or scipy.sparse matrix of shape (N, N)
        ``transitions[i, j]`` scores the move from state ``i`` to state ``j`` (an HMM's
        ``log A[i, j]``); ``-inf`` forbids it. A ``scipy.sparse`` matrix (any format)
        lists the allowed moves: a missing entry forbids the move, a stored one is its
        score (a stored 0 scores 0), and every step costs O(nnz) instead of O(N²).
    k : int
        How many paths (>= 1).
    start, end : array-like of shape (N,), optional
        Scores of the first and of the last state (default: zeros). An HMM's
        ``log P(y_0)`` is ``start``; it has no ``end``.
    lengths : array-like of int of shape (B,), optional
        Sequence lengths: required for the concatenated layout, optional for the padded
        one (default: all ``T``), not allowed for a single sequence.
    n_threads : int, optional
        Threads (``None``: every core this process may use; ``-1``: all cores). Results
        are bitwise identical for any value.

    Returns
    -------
    paths : ndarray of int64
        ``(k, T)`` for one sequence, ``(B, k, T)`` for a padded batch, ``(k, L)`` for a
        concatenated one (row ``r`` holds every sequence's ``r``-th best path,
        concatenated). Missing paths (fewer than ``k`` exist) are -1.
    scores : ndarray of shape (k,) or (B, k)
        Their scores, best first; ``-inf`` for missing paths. The order among equal
        scores is unspecified.

    Raises
    ------
    ValueError
        If ``k < 1``, or as :func:`viterbi`.
    TypeError
        If ``k`` is not an int, or as :func:`viterbi`.

    See Also
    --------
    viterbi : The best path alone.

    Examples
    --------
    >>> import numpy as np
    >>> import fastseq
    >>> em = np.log([[0.6, 0.4], [0.3, 0.7], [0.5, 0.5]])   # T=3 positions, N=2 states
    >>> tr = np.log([[0.8, 0.2], [0.3, 0.7]])
    >>> paths, scores = fastseq.kbest(em, tr, 3)
    >>> paths.tolist(), scores.round(4).tolist()
    ([[1, 1, 1], [0, 0, 0], [1, 1, 0]], [-2.6795, -2.8542, -3.5268])
    """
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
        raise TypeError(f"`k` must be an int, got {type(k).__name__}")
    k = int(k)
    if k < 1:
        raise ValueError(f"`k` must be >= 1, got {k}")
    b = _Batch(emissions, transitions, start, end, lengths, n_threads)
    rows = b.L if b.kind == _CONCAT else b.B * b.T
    if k * max(rows, b.B, 1) > _MAX_OUTPUT:
        raise ValueError(f"`k` = {k} is too large: the paths would have {k} x {rows} entries")
    # no sequence has more distinct paths than N ** T: the kernel's lists never grow beyond
    k_run = k if b.T * np.log2(max(b.N, 2)) >= 62 else min(k, max(b.N, 1) ** b.T)
    b.n_threads = _kbest_threads(b, k, k_run)
    if b.kind == _CONCAT:
        base, stride, shape = b.offsets, b.L, (k, b.L)
    else:
        base, stride = np.arange(b.B, dtype=np.int64) * (k * b.T), b.T
        shape = (k, b.T) if b.kind == _SINGLE else (b.B, k, b.T)
    paths = np.full(k * rows, -1, dtype=np.int64)
    scores = np.full((b.B, k), -np.inf, dtype=b.dtype)
    found = np.empty((b.B, k_run))
    b.run(_kernels.kbest, k_run, base, stride, paths, found)
    scores[:, :k_run] = found
    return paths.reshape(shape), scores[0] if b.kind == _SINGLE else scores


def _available_memory() -> Optional[int]:
    """Bytes of memory available to new allocations (Linux: MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _kbest_threads(b, k, k_run):
    """Threads for a k-best call whose per-thread scratch (back-pointers for every position,
    state and rank: 8 T N k bytes) fits in the available memory; MemoryError, naming ``k``,
    when not even one thread's does."""
    outputs = 8 * k * max(b.L, b.B * b.T) + 8 * b.B * (k + 2 * k_run)
    per_thread = 8 * k_run * (b.T * b.N + 2 * b.N) + 16 * b.N
    available = _available_memory()
    if available is None:
        return b.n_threads
    room = (available - outputs) // per_thread
    if room < 1:
        raise MemoryError(
            f"kbest with `k` = {k} needs about {(outputs + per_thread) / 2**30:.1f} GiB "
            f"(paths, and back-pointers for {k_run} ranks per state and position); "
            f"{available / 2**30:.1f} GiB is available")
    return int(min(b.n_threads, room))


def posterior_decode(emissions: ArrayLike, transitions: ArrayLike, *,
                     start: Optional[ArrayLike] = None, end: Optional[ArrayLike] = None,
                     lengths: Optional[ArrayLike] = None,
                     n_threads: Optional[int] = None,
                     memory_limit: Optional[float] = None) -> Tuple[np.ndarray, np.ndarray]:
    """The most probable state at each position (the argmax of the node marginals).

    Unlike :func:`viterbi`, the states are chosen one position at a time, so the result
    may not be an allowed path.

    Parameters
    ----------
    emissions : array-like of shape (T, N), (B, T, N) or (L, N)
        Scores of every state at every position (an HMM's ``log P(x_t | y_t)``): one
        sequence, a padded batch, or a concatenated batch with ``lengths``. float32 input
        (with float32 ``transitions``, ``start``, ``end``) computes and returns float32;
        anything else float64.
    transitions : array-like or scipy.sparse matrix of shape (N, N)
        ``transitions[i, j]`` scores the move from state ``i`` to state ``j`` (an HMM's
        ``log A[i, j]``); ``-inf`` forbids it. A ``scipy.sparse`` matrix (any format)
        lists the allowed moves: a missing entry forbids the move, a stored one is its
        score (a stored 0 scores 0), and every step costs O(nnz) instead of O(N²).
    start, end : array-like of shape (N,), optional
        Scores of the first and of the last state (default: zeros). An HMM's
        ``log P(y_0)`` is ``start``; it has no ``end``.
    lengths : array-like of int of shape (B,), optional
        Sequence lengths: required for the concatenated layout, optional for the padded
        one (default: all ``T``), not allowed for a single sequence.
    n_threads : int, optional
        Threads (``None``: every core this process may use; ``-1``: all cores). Results
        are bitwise identical for any value.
    memory_limit : float, optional
        As :func:`marginals`.

    Returns
    -------
    paths : ndarray of int64
        Laid out like :func:`viterbi`'s paths; -1 past each end and for sequences with no
        allowed path.
    confidences : ndarray
        The chosen state's marginal probability, same layout (0 past each end and where
        no path is allowed).

    Raises
    ------
    ValueError
        On a shape that does not match, NaN or ``+inf`` in an input, a score large enough
        for a path's total to overflow (above ``1e300 / (T + 2)``; float32: ``1e30 / (T +
        2)``), or ``lengths`` that do not fit the layout (the message names the argument).
    TypeError
        On non-numeric input or a non-integer ``n_threads``.

    See Also
    --------
    marginals : All the node marginals.

    Examples
    --------
    >>> import numpy as np
    >>> import fastseq
    >>> em = np.log([[0.6, 0.4], [0.3, 0.7], [0.5, 0.5]])   # T=3 positions, N=2 states
    >>> tr = np.log([[0.8, 0.2], [0.3, 0.7]])
    >>> paths, confidences = fastseq.posterior_decode(em, tr)
    >>> paths.tolist(), confidences.round(3).tolist()
    ([1, 1, 1], [0.504, 0.609, 0.504])
    """
    node = marginals(emissions, transitions, start=start, end=end, lengths=lengths,
                     n_threads=n_threads, memory_limit=memory_limit).node
    conf = node.max(axis=-1)
    paths = np.where(conf > 0, node.argmax(axis=-1), -1).astype(np.int64)
    return paths, conf


def sequence_score(emissions: ArrayLike, transitions: ArrayLike, tags: ArrayLike, *,
                   start: Optional[ArrayLike] = None, end: Optional[ArrayLike] = None,
                   lengths: Optional[ArrayLike] = None,
                   n_threads: Optional[int] = None) -> Union[float, np.ndarray]:
    """The scores of given paths.

    Parameters
    ----------
    emissions : array-like of shape (T, N), (B, T, N) or (L, N)
        Scores of every state at every position (an HMM's ``log P(x_t | y_t)``): one
        sequence, a padded batch, or a concatenated batch with ``lengths``. float32 input
        (with float32 ``transitions``, ``start``, ``end``) computes and returns float32;
        anything else float64.
    transitions : array-like or scipy.sparse matrix of shape (N, N)
        ``transitions[i, j]`` scores the move from state ``i`` to state ``j`` (an HMM's
        ``log A[i, j]``); ``-inf`` forbids it. A ``scipy.sparse`` matrix (any format)
        lists the allowed moves: a missing entry forbids the move, a stored one is its
        score (a stored 0 scores 0), and every step costs O(nnz) instead of O(N²).
    tags : array-like of int
        The paths, laid out like :func:`viterbi`'s: ``(T,)``, ``(B, T)`` or ``(L,)``; entries
        past a sequence's end are ignored, the others must be in ``[0, N)``.
    start, end : array-like of shape (N,), optional
        Scores of the first and of the last state (default: zeros). An HMM's
        ``log P(y_0)`` is ``start``; it has no ``end``.
    lengths : array-like of int of shape (B,), optional
        Sequence lengths: required for the concatenated layout, optional for the padded
        one (default: all ``T``), not allowed for a single sequence.
    n_threads : int, optional
        Threads (``None``: every core this process may use; ``-1``: all cores). Results
        are bitwise identical for any value.

    Returns
    -------
    scores : float or ndarray of shape (B,)
        ``start[y_0] + sum_t emissions[t, y_t] + sum_t transitions[y_(t-1), y_t] +
        end[y_(T-1)]`` per sequence (``-inf`` for a forbidden path).

    Raises
    ------
    ValueError
        If ``tags`` does not match the layout or holds a state outside ``[0, N)``, or as
        :func:`viterbi`.
    TypeError
        If ``tags`` is not an integer array, or as :func:`viterbi`.

    Examples
    --------
    >>> import numpy as np
    >>> import fastseq
    >>> em = np.log([[0.6, 0.4], [0.3, 0.7], [0.5, 0.5]])   # T=3 positions, N=2 states
    >>> tr = np.log([[0.8, 0.2], [0.3, 0.7]])
    >>> round(fastseq.sequence_score(em, tr, [1, 1, 0]), 4)   # the third best path
    -3.5268
    """
    b = _Batch(emissions, transitions, start, end, lengths, n_threads)
    y = _check_tags(tags, b)
    if b.moves is not None:
        return b.per_seq(_GoldPaths(b, y).scores())
    scores = np.empty(b.B)
    b.run(_kernels.sequence_score, y, scores)
    return b.per_seq(scores)


def crf_nll(emissions: ArrayLike, transitions: ArrayLike, tags: ArrayLike, *,
            reduction: str = "sum", start: Optional[ArrayLike] = None,
            end: Optional[ArrayLike] = None, lengths: Optional[ArrayLike] = None,
            n_threads: Optional[int] = None, out: Optional[np.ndarray] = None,
            memory_limit: Optional[float] = None) -> Tuple[Union[float, np.ndarray], CRFGrad]:
    """The CRF negative log-likelihood of given paths, and its gradients.

    Per sequence ``nll = log_Z - score(tags)`` (``+inf`` when the gold path is forbidden);
    the gradients are ``node marginals - one-hot tags`` for the emissions, ``pair marginals
    - gold transition counts`` for the transitions, and the same at the first and last
    position for ``start`` and ``end``.

    Parameters
    ----------
    emissions : array-like of shape (T, N), (B, T, N) or (L, N)
        Scores of every state at every position (an HMM's ``log P(x_t | y_t)``): one
        sequence, a padded batch, or a concatenated batch with ``lengths``. float32 input
        (with float32 ``transitions``, ``start``, ``end``) computes and returns float32;
        anything else float64.
    transitions : array-like or scipy.sparse matrix of shape (N, N)
        ``transitions[i, j]`` scores the move from state ``i`` to state ``j`` (an HMM's
        ``log A[i, j]``); ``-inf`` forbids it. A ``scipy.sparse`` matrix (any format)
        lists the allowed moves: a missing entry forbids the move, a stored one is its
        score (a stored 0 scores 0), and every step costs O(nnz) instead of O(N²).
    tags : array-like of int
        The gold paths, laid out like :func:`viterbi`'s paths.
    reduction : {"sum", "mean", "none"}, default "sum"
        Sum or mean over the sequences (a float), or one value per sequence
        (``(B,)``; the gradients are then those of the sum). One sequence always gives a
        float.
    start, end : array-like of shape (N,), optional
        Scores of the first and of the last state (default: zeros). An HMM's
        ``log P(y_0)`` is ``start``; it has no ``end``.
    lengths : array-like of int of shape (B,), optional
        Sequence lengths: required for the concatenated layout, optional for the padded
        one (default: all ``T``), not allowed for a single sequence.
    n_threads : int, optional
        Threads (``None``: every core this process may use; ``-1``: all cores). Results
        are bitwise identical for any value.
    out : ndarray, optional
        Receives the emissions' gradient, returned as ``grad.emissions``: a writeable
        C-contiguous array of the emissions' shape and of the result dtype. A training loop
        that passes the same array each time saves allocating (and the system zeroing) a
        fresh one per call.
    memory_limit : float, optional
        As :func:`marginals`: a sequence whose lattices would take more bytes is computed
        by checkpointed forward-backward (the same loss and gradients).

    Returns
    -------
    nll : float or ndarray of shape (B,)
        The (reduced) negative log-likelihood.
    grad : CRFGrad
        A named tuple ``(emissions, transitions, start, end)`` of the gradients of the
        reduced loss: shaped like ``emissions`` (zeros past each end), ``(N, N)``,
        ``(N,)``, ``(N,)``; returned even when ``start`` / ``end`` are None (the gradient
        at 0). With sparse ``transitions`` their gradient is a ``scipy.sparse.csr_array``
        of the same pattern (a gold move outside it makes ``nll`` ``+inf`` and has no
        entry).

    Raises
    ------
    ValueError
        If ``reduction`` is not one of the three, or as :func:`sequence_score`.
    TypeError
        As :func:`sequence_score`.

    Examples
    --------
    >>> import numpy as np
    >>> import fastseq
    >>> em = np.log([[0.6, 0.4], [0.3, 0.7], [0.5, 0.5]])   # T=3 positions, N=2 states
    >>> tr = np.log([[0.8, 0.2], [0.3, 0.7]])
    >>> nll, grad = fastseq.crf_nll(em, tr, [0, 1, 1])
    >>> round(nll, 4)
    2.0571
    >>> grad.transitions.round(3).tolist()
    [[0.626, -0.739], [0.261, -0.148]]
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f"`reduction` must be one of {_REDUCTIONS}, got {reduction!r}")
    b = _Batch(emissions, transitions, start, end, lengths, n_threads, passes=4)
    y = _check_tags(tags, b)
    nll = np.empty(b.B)
    if out is None:
        g_em = b.em_like()
    else:
        g_em = _check_out(out, b)
    if b.moves is not None or _too_long(b, memory_limit).any():
        return _composed_crf_nll(b, y, g_em, reduction, out, memory_limit)
    grads = [g_em] + [np.zeros(shape, dtype=b.dtype) for shape in ((b.N, b.N), b.N, b.N)]
    # The kernel gives per-sequence transition, start and end gradients; they are summed here,
    # a chunk of sequences at a time (bounded scratch), in sequence order: bitwise identical
    # for any n_threads.
    chunk = _crf_chunk(b.N, b.dtype)
    g_pair = np.empty((min(chunk, b.B), b.N, b.N), dtype=b.dtype)
    g_start, g_end = (np.empty((min(chunk, b.B), b.N), dtype=b.dtype) for _ in range(2))
    for lo in range(0, b.B, chunk):
        hi = min(lo + chunk, b.B)
        part = b.sub(lo, hi)
        part.run(_kernels.crf_nll, y, nll[lo:hi], g_em, g_pair[:hi - lo], g_start[:hi - lo],
                 g_end[:hi - lo])
        for total, per_seq in zip(grads[1:], (g_pair, g_start, g_end)):
            total += per_seq[:hi - lo].sum(axis=0)
    return _crf_result(b, nll, grads, reduction, out)


# A sequence whose lattices would take more than `memory_limit` bytes (about this many bytes
# per position and state: forward and backward rows and the pair factors) is computed by
# checkpointed forward-backward.
_LATTICE_BYTES = 32
_MEMORY_LIMIT = 1 << 30


def _check_memory_limit(memory_limit):
    if memory_limit is None:
        return _MEMORY_LIMIT
    if isinstance(memory_limit, (bool, np.bool_)) or not isinstance(memory_limit, numbers.Real):
        raise TypeError(f"`memory_limit` must be a number of bytes or None, got "
                        f"{type(memory_limit).__name__}")
    if not memory_limit > 0:
        raise ValueError(f"`memory_limit` must be positive, got {memory_limit!r}")
    return memory_limit


def _too_long(b, memory_limit):
    """The sequences whose lattices would not fit in ``memory_limit`` bytes."""
    return b.lengths * float(_LATTICE_BYTES * b.N) > _check_memory_limit(memory_limit)


def _posteriors(b, node, pairwise, memory_limit):
    """Node marginals into the rows ``node``; returns ``log_Z`` ``(B,)`` and, with
    ``pairwise``, each sequence's pair sums (``(B, N, N)``, or ``(B, nnz)`` over sparse
    transitions). Sequences too long for ``memory_limit`` run checkpointed."""
    log_Z = np.empty(b.B)
    shape = (b.B, b.trans.size) if b.moves is not None else (b.B, b.N, b.N)
    pair = np.empty(shape, dtype=b.dtype) if pairwise else None
    long = _too_long(b, memory_limit)
    if not long.any():
        b.run(_kernels.marginals, node, pair, log_Z)
        return log_Z, pair
    short = np.flatnonzero(~long)
    if short.size:
        part_pair = np.empty((short.size,) + shape[1:], dtype=b.dtype) if pairwise else None
        part_log_Z = np.empty(short.size)
        b.take(short).run(_kernels.marginals, node, part_pair, part_log_Z)
        log_Z[short] = part_log_Z
        if pair is not None:
            pair[short] = part_pair
    for s in np.flatnonzero(long):
        log_Z[s], seq_pair = _checkpointed(b, int(s), node, pairwise)
        if pair is not None:
            pair[s] = seq_pair
    return log_Z, pair


def _checkpointed(b, s, node, pairwise):
    """Marginals of sequence ``s`` of ``b`` in O(sqrt(T) N) memory: a forward sweep keeps
    the forward row before every segment of about sqrt(T) positions (normalised: only its
    shape matters); a backward sweep then computes each segment's marginals as those of a
    short model whose start is that row, one step ahead, and whose end is the backward
    message from the next segment -- the exact conditionals, every segment in float64.
    Returns ``(log_Z, pair)``; node rows go to ``node``."""
    off, T, N = int(b.offsets[s]), int(b.lengths[s]), b.N
    em = b.em[off:off + T]
    trans = (b.trans.astype(np.float64) if b.moves is None
             else b.moves.to_sparse(b.trans.astype(np.float64)))
    start = None if b.start is None else b.start.astype(np.float64)
    end = None if b.end is None else b.end.astype(np.float64)
    K = max(1, int(np.ceil(np.sqrt(T))))
    segments = [(a, min(a + K, T)) for a in range(0, T, K)]
    buf = np.zeros((K + 1, N))
    kw: Dict[str, Any] = {"n_threads": b.n_threads}

    def segment(a, e, before):
        """Positions a .. e - 1, after the normalised forward row ``before`` at a - 1
        (None: the first segment): their emissions and start scores."""
        if before is None:
            return em[a:e].astype(np.float64), start
        buf[1:e - a + 1] = em[a:e]  # row 0: position a - 1, its emission already counted
        return buf[:e - a + 1], before

    rows_before: List[Optional[np.ndarray]] = []
    parts: List[float] = []
    before = None
    for a, e in segments:
        rows_before.append(before)
        x, st = segment(a, e, before)
        last = e == T
        log_alpha, log_z = forward(x, trans, start=st, end=end if last else None, **kw)
        parts.append(float(log_z))
        if log_z == -np.inf:  # no path: nothing to normalise by
            node[off:off + T] = 0
            zero = (np.zeros(b.trans.size if b.moves is not None else (N, N), b.dtype)
                    if pairwise else None)
            return -np.inf, zero
        before = log_alpha[-1] - log_z
    log_Z = math.fsum(parts)
    pair: Any = 0
    after = end
    for i in reversed(range(len(segments))):
        a, e = segments[i]
        x, st = segment(a, e, rows_before[i])
        m = marginals(x, trans, start=st, end=after, pairwise=pairwise,
                      memory_limit=math.inf, **kw)
        node[off + a:off + e] = m.node[-(e - a):]
        if pairwise:
            pair = pair + (m.pair if b.moves is None else m.pair.data)
        if i > 0:  # the backward message into the previous segment: beta at a - 1
            beta = backward(x, trans, end=after, **kw)[0]
            after = beta - beta.max()
    return log_Z, (np.asarray(pair, dtype=b.dtype) if pairwise else None)


def _crf_result(b, nll, grads, reduction, out):
    """crf_nll's return value from per-sequence ``nll`` and the summed gradients (emissions,
    transitions, start, end), reduced as asked."""
    if reduction == "mean" and b.B > 0:
        for g in grads:
            if isinstance(g, np.ndarray):
                g /= b.dtype.type(b.B)
            else:  # the sparse transitions' gradient
                g.data /= b.dtype.type(b.B)
    grad = CRFGrad(b.unrows(grads[0]) if out is None else out, *grads[1:])
    if b.kind == _SINGLE:
        return b.per_seq(nll), grad
    if reduction == "none":
        return nll.astype(b.dtype), grad
    with np.errstate(over="ignore"):  # nll near DBL_MAX may sum to +inf, which is right
        total = nll.sum() if reduction == "sum" else (nll.mean() if b.B else 0.0)
    return float(np.asarray(total, dtype=b.dtype)), grad


class _GoldPaths:
    """Given paths ``y`` through a batch: their rows, moves and scores, in numpy."""

    def __init__(self, b, y):
        lengths = b.lengths
        total = int(lengths.sum())
        starts = np.cumsum(lengths) - lengths
        # the rows of every position of every sequence, in order
        self.rows = np.arange(total, dtype=np.int64) + np.repeat(b.offsets - starts, lengths)
        self.first = np.zeros(total, dtype=bool)
        self.last = np.zeros(total, dtype=bool)
        nonempty = lengths > 0
        self.first[starts[nonempty]] = True
        self.last[(starts + lengths - 1)[nonempty]] = True
        self.b, self.y = b, y[self.rows]
        self.starts, self.nonempty = starts, nonempty
        self.prev = np.roll(self.y, 1)
        self.move = None
        if b.moves is not None:
            keys = self.prev * b.N + self.y
            entry_keys = (np.repeat(np.arange(b.N, dtype=np.int64), np.diff(b.moves.indptr))
                          * b.N + b.moves.indices)
            pos = np.minimum(np.searchsorted(entry_keys, keys), max(entry_keys.size - 1, 0))
            found = entry_keys[pos] == keys if entry_keys.size else np.zeros(keys.size, bool)
            # the stored move into each position (-1: a first position, or a forbidden move)
            self.move = np.where(found & ~self.first, pos, -1)

    def scores(self):
        """``(B,)`` float64: each path's score (-inf through a forbidden move)."""
        b, y = self.b, self.y
        em = b.em[self.rows, y].astype(np.float64)
        if self.move is None:
            trans = b.trans[self.prev, y].astype(np.float64)
        else:
            trans = np.append(b.trans.astype(np.float64), -np.inf)[self.move]  # -1: -inf
        start = np.zeros(b.N) if b.start is None else b.start.astype(np.float64)
        end = np.zeros(b.N) if b.end is None else b.end.astype(np.float64)
        step = np.where(self.first, start[y], trans) + em
        out = np.zeros(b.B)
        if y.size:
            with np.errstate(invalid="ignore"):
                sums = np.add.reduceat(step, self.starts[self.nonempty])
            out[self.nonempty] = sums + end[y[self.last]]
        return out

    def subtract_counts(self, g_pair):
        """``g_pair`` (dense ``(N, N)`` or the stored moves' ``(nnz,)``) minus how often
        the paths take each move."""
        one = g_pair.dtype.type(1)
        if self.move is None:
            inner = ~self.first
            np.subtract.at(g_pair, (self.prev[inner], self.y[inner]), one)
        else:
            np.subtract.at(g_pair, self.move[self.move >= 0], one)


def _composed_crf_nll(b, y, g_em, reduction, out, memory_limit):
    """crf_nll from the marginals (sparse transitions, or sequences too long for the
    crf_nll kernel's lattices): node and pair marginals minus the gold counts."""
    log_Z = np.empty(b.B)
    width = b.trans.size if b.moves is not None else b.N * b.N
    g_pair = np.zeros(b.trans.size if b.moves is not None else (b.N, b.N), dtype=b.dtype)
    chunk = max(16, _CRF_CHUNK_BYTES // max(1, width * b.dtype.itemsize))
    for lo in range(0, b.B, chunk):
        hi = min(lo + chunk, b.B)
        log_Z[lo:hi], pair = _posteriors(b.sub(lo, hi), g_em, True, memory_limit)
        g_pair += pair.sum(axis=0)
    paths = _GoldPaths(b, y)
    scores = paths.scores()
    with np.errstate(invalid="ignore"):  # -inf - -inf where no path at all: +inf below
        nll = np.where(scores == -np.inf, np.inf, log_Z - scores)
    g_start = g_em[paths.rows[paths.first]].sum(axis=0)
    g_end = g_em[paths.rows[paths.last]].sum(axis=0)
    one = b.dtype.type(1)
    np.subtract.at(g_start, paths.y[paths.first], one)
    np.subtract.at(g_end, paths.y[paths.last], one)
    g_em[paths.rows, paths.y] -= one
    paths.subtract_counts(g_pair)
    grads = [g_em, g_pair if b.moves is None else b.moves.to_sparse(g_pair), g_start, g_end]
    return _crf_result(b, nll, grads, reduction, out)
