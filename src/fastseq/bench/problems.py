"""Seeded random problems in fastseq's form (and in the peers' forms), and the calls timed."""
from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any, Callable, Dict, List, Optional, Union

import numpy as np
from numpy.typing import DTypeLike

__all__ = ["HMMProblem", "CRFProblem", "hmm_problem", "crf_problem", "call_op", "seed_of",
           "dtype_name", "KBEST_K"]

#: The ``k`` of the k-best cases.
KBEST_K = 5


def seed_of(*parts: Any) -> int:
    """A seed from any hashable description of a problem.

    Parameters
    ----------
    *parts : object
        What identifies the problem (kind, shape, dtype name ...); hashed through their
        ``repr``.

    Returns
    -------
    int
        The CRC-32 of ``repr(parts)``: the same parts give the same seed in every run.

    Examples
    --------
    >>> from fastseq.bench.problems import seed_of
    >>> seed_of("crf", 64, 50, 9, "f32")
    1057689323
    """
    return zlib.crc32(repr(parts).encode())


def dtype_name(dtype: DTypeLike) -> str:
    """The short name of a float dtype in case names: ``"f32"`` or ``"f64"``.

    Parameters
    ----------
    dtype : dtype-like
        A numpy dtype or anything :class:`numpy.dtype` accepts.

    Returns
    -------
    str
        ``"f32"`` for float32, ``"f64"`` for anything else.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.bench.problems import dtype_name
    >>> dtype_name(np.float32), dtype_name("float64")
    ('f32', 'f64')
    """
    return "f32" if np.dtype(dtype) == np.float32 else "f64"


@dataclass
class HMMProblem:
    """A batch of HMM sequences in fastseq's form and in hmmlearn's form.

    Every sequence has length ``T`` (``lengths`` is None) and there are no end scores
    (``end`` is None). Built by :func:`hmm_problem`.

    Parameters
    ----------
    emissions : ndarray of shape (B, T, N), or (T, N) when ``single``
        Log frame likelihoods (float32 or float64).
    transitions : ndarray of shape (N, N)
        ``log(transmat)``, in the dtype of ``emissions``.
    start : ndarray of shape (N,)
        ``log(startprob)``, in the dtype of ``emissions``.
    transmat : ndarray of shape (N, N), float64
        Row-stochastic transition probabilities (hmmlearn's input).
    startprob : ndarray of shape (N,), float64
        Start probabilities (hmmlearn's input).
    single : bool, default=False
        True when ``emissions`` is one ``(T, N)`` sequence.
    end : ndarray of shape (N,), optional
        Log end scores; None (no end scores).
    lengths : ndarray of shape (B,), optional
        Sequence lengths; None (every sequence has length ``T``).
    tags : ndarray of shape (B, T), or (T,) when ``single``, int64, optional
        Random tags (for the ops that score a given path).

    See Also
    --------
    hmm_problem : Builds a seeded random problem.

    Examples
    --------
    >>> from fastseq.bench import hmm_problem
    >>> p = hmm_problem(B=2, T=3, N=4, seed=0)
    >>> p.emissions.shape, p.transitions.shape, p.start.shape, p.tags.shape
    ((2, 3, 4), (4, 4), (4,), (2, 3))
    >>> p.B, p.n_tokens, p.single
    (2, 6, False)
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

    def dense(self) -> "HMMProblem":
        """The same problem with dense ``transitions``.

        Returns
        -------
        HMMProblem
            ``transitions`` as an ``(N, N)`` array, ``-inf`` where the sparse matrix has no
            entry; ``self`` when they are dense already.

        Examples
        --------
        >>> from fastseq.bench import hmm_problem
        >>> p = hmm_problem(B=2, T=3, N=100, pattern="random")
        >>> type(p.transitions).__name__, p.transitions.nnz, p.dense().transitions.shape
        ('csr_array', 100, (100, 100))
        """
        if isinstance(self.transitions, np.ndarray):
            return self
        with np.errstate(divide="ignore"):
            log_a = np.log(self.transmat).astype(self.emissions.dtype)
        return replace(self, transitions=log_a)

    @property
    def B(self) -> int:
        """Number of sequences (1 when ``single``).

        Examples
        --------
        >>> from fastseq.bench import hmm_problem
        >>> hmm_problem(B=3, T=5, N=2).B, hmm_problem(B=None, T=5, N=2).B
        (3, 1)
        """
        return 1 if self.single else self.emissions.shape[0]

    @property
    def n_tokens(self) -> int:
        """Number of tokens in all: ``B * T``.

        Examples
        --------
        >>> from fastseq.bench import hmm_problem
        >>> hmm_problem(B=3, T=5, N=2).n_tokens
        15
        """
        return int(np.prod(self.emissions.shape[:-1]))

    def kwargs(self) -> Dict[str, Any]:
        """The keyword arguments of the :mod:`fastseq` calls on this problem.

        Returns
        -------
        dict
            ``start``, plus ``end`` and ``lengths`` when they are not None.

        Examples
        --------
        >>> from fastseq.bench import hmm_problem
        >>> sorted(hmm_problem(B=2, T=3, N=4).kwargs())
        ['start']
        """
        kw: Dict[str, Any] = {"start": self.start}
        if self.end is not None:
            kw["end"] = self.end
        if self.lengths is not None:
            kw["lengths"] = self.lengths
        return kw

    def subset(self, k: int) -> "HMMProblem":
        """The first ``k`` sequences, as a problem of its own.

        Parameters
        ----------
        k : int
            Number of sequences to keep.

        Returns
        -------
        HMMProblem
            A problem with ``emissions[:k]`` and ``tags[:k]`` (views) and the same
            parameters; ``self`` itself when ``single`` or ``k >= B``.

        Examples
        --------
        >>> from fastseq.bench import hmm_problem
        >>> p = hmm_problem(B=4, T=3, N=2)
        >>> p.subset(2).emissions.shape, p.subset(9) is p
        ((2, 3, 2), True)
        """
        if self.single or k >= self.B:
            return self
        return replace(self, emissions=self.emissions[:k],
                       tags=None if self.tags is None else self.tags[:k])

    def log_frames(self) -> List[np.ndarray]:
        """Per-sequence log frame likelihoods, hmmlearn's input.

        Returns
        -------
        list of ndarray of shape (T, N), float64
            One C-contiguous array per sequence (one array when ``single``).

        Examples
        --------
        >>> from fastseq.bench import hmm_problem
        >>> frames = hmm_problem(B=2, T=3, N=4).log_frames()
        >>> len(frames), frames[0].shape, frames[0].dtype
        (2, (3, 4), dtype('float64'))
        """
        em = np.ascontiguousarray(self.emissions, dtype=np.float64)
        return [em] if self.single else [em[b] for b in range(em.shape[0])]


def hmm_problem(B: Optional[int], T: int, N: int, dtype: DTypeLike = np.float64,
                seed: int = 0, pattern: Optional[str] = None) -> HMMProblem:
    """A seeded random HMM problem.

    ``transmat`` and ``startprob`` are random and row-stochastic (every entry at least a
    little above 0), the frame likelihoods are uniform in [0.05, 1]; the emissions,
    transitions and start scores are their logs. With a ``pattern``, each state has
    ``ceil(N / 100)`` moves (1 % of the matrix) and ``transitions`` is the sparse log matrix
    of them (``transmat`` holds zeros elsewhere).

    Parameters
    ----------
    B : int or None
        Number of sequences; None gives one ``(T, N)`` sequence (``single=True``).
    T : int
        Sequence length.
    N : int
        Number of states.
    dtype : dtype-like, default=np.float64
        Dtype of ``emissions``, ``transitions`` and ``start`` (``transmat`` and
        ``startprob`` are always float64).
    seed : int, default=0
        Seed of :func:`numpy.random.default_rng`: the same arguments give the same problem.
    pattern : {"random", "band"}, optional
        Sparse transitions: moves to random states, or to the next ones (a left-to-right
        band: state ``i`` moves to ``i .. i + k - 1``, fewer near the end).

    Returns
    -------
    HMMProblem
        Emissions of shape ``(B, T, N)`` (``(T, N)`` when ``B`` is None), random int64 tags.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.bench import hmm_problem
    >>> p = hmm_problem(B=2, T=3, N=4, dtype=np.float32, seed=0)
    >>> p.emissions.shape, p.emissions.dtype, p.transmat.dtype
    ((2, 3, 4), dtype('float32'), dtype('float64'))
    >>> p.transmat.sum(axis=1).round(6).tolist()
    [1.0, 1.0, 1.0, 1.0]
    >>> hmm_problem(B=None, T=5, N=3).emissions.shape
    (5, 3)
    """
    rng = np.random.default_rng(seed)
    transmat = rng.random((N, N)) + 0.1
    if pattern is not None:
        transmat *= _moves_mask(rng, N, pattern)
    transmat /= transmat.sum(axis=1, keepdims=True)
    startprob = rng.random(N) + 0.1
    startprob /= startprob.sum()
    shape = (T, N) if B is None else (B, T, N)
    frameprob = rng.uniform(0.05, 1.0, size=shape)
    tags = rng.integers(0, N, size=shape[:-1]).astype(np.int64)
    if pattern is None:
        transitions: Any = np.log(transmat).astype(dtype)
    else:
        import scipy.sparse

        transitions = scipy.sparse.csr_array(transmat)
        transitions.data = np.log(transitions.data).astype(dtype)
    return HMMProblem(
        emissions=np.log(frameprob).astype(dtype),
        transitions=transitions,
        start=np.log(startprob).astype(dtype),
        transmat=transmat,
        startprob=startprob,
        single=B is None,
        tags=tags,
    )


def _moves_mask(rng, N, pattern):
    """A 0/1 mask with ceil(N / 100) moves per state (fewer at the end of a band)."""
    k = -(-N // 100)
    mask = np.zeros((N, N))
    rows = np.repeat(np.arange(N), k)
    if pattern == "random":
        cols = np.argsort(rng.random((N, N)), axis=1)[:, :k].ravel()
    elif pattern == "band":
        cols = rows + np.tile(np.arange(k), N)
        rows, cols = rows[cols < N], cols[cols < N]
    else:
        raise ValueError(f"`pattern` must be 'random' or 'band', got {pattern!r}")
    mask[rows, cols] = 1.0
    return mask


@dataclass
class CRFProblem:
    """A padded, ragged CRF batch with gold tags. Built by :func:`crf_problem`.

    Parameters
    ----------
    emissions : ndarray of shape (B, T, N)
        Emission scores (float32 or float64); entries past a sequence's end are ignored.
    transitions : ndarray of shape (N, N)
        Transition scores, in the dtype of ``emissions``.
    start : ndarray of shape (N,)
        Scores of the first tag.
    end : ndarray of shape (N,)
        Scores of the last tag.
    lengths : ndarray of shape (B,), int64
        Sequence lengths; ``lengths[0] == T``.
    tags : ndarray of shape (B, T), int64
        Gold tags, 0 past each sequence's end.
    single : bool, default=False
        False: a CRF problem is always a batch (the field mirrors
        :attr:`HMMProblem.single`).

    See Also
    --------
    crf_problem : Builds a seeded random problem.

    Examples
    --------
    >>> from fastseq.bench import crf_problem
    >>> p = crf_problem(B=3, T=5, N=4, seed=0)
    >>> p.emissions.shape, p.emissions.dtype, p.lengths.tolist()
    ((3, 5, 4), dtype('float32'), [5, 4, 5])
    >>> p.B, p.n_tokens
    (3, 14)
    """

    emissions: np.ndarray
    transitions: np.ndarray
    start: np.ndarray
    end: np.ndarray
    lengths: np.ndarray
    tags: np.ndarray
    single: bool = False

    @property
    def B(self) -> int:
        """Number of sequences.

        Examples
        --------
        >>> from fastseq.bench import crf_problem
        >>> crf_problem(B=3, T=5, N=4).B
        3
        """
        return self.emissions.shape[0]

    @property
    def n_tokens(self) -> int:
        """Number of real (unpadded) tokens: ``lengths.sum()``.

        Examples
        --------
        >>> from fastseq.bench import crf_problem
        >>> crf_problem(B=3, T=5, N=4, seed=0).n_tokens
        14
        """
        return int(self.lengths.sum())

    def kwargs(self) -> Dict[str, Any]:
        """The keyword arguments of the :mod:`fastseq` calls on this problem.

        Returns
        -------
        dict
            ``start``, ``end`` and ``lengths``.

        Examples
        --------
        >>> from fastseq.bench import crf_problem
        >>> sorted(crf_problem(B=3, T=5, N=4).kwargs())
        ['end', 'lengths', 'start']
        """
        return {"start": self.start, "end": self.end, "lengths": self.lengths}

    def subset(self, k: int) -> "CRFProblem":
        """The first ``k`` sequences, as a problem of its own.

        Parameters
        ----------
        k : int
            Number of sequences to keep.

        Returns
        -------
        CRFProblem
            A problem with ``emissions[:k]``, ``lengths[:k]`` and ``tags[:k]`` (views) and
            the same parameters; ``self`` itself when ``k >= B``.

        Examples
        --------
        >>> from fastseq.bench import crf_problem
        >>> p = crf_problem(B=3, T=5, N=4, seed=0)
        >>> p.subset(2).lengths.tolist(), p.subset(3) is p
        ([5, 4], True)
        """
        if k >= self.B:
            return self
        return CRFProblem(self.emissions[:k], self.transitions, self.start, self.end,
                          self.lengths[:k], self.tags[:k])

    def mask(self) -> np.ndarray:
        """The batch-first boolean mask of the real tokens (pytorch-crf's input).

        Returns
        -------
        ndarray of shape (B, T), bool
            True at positions ``t < lengths[b]``.

        Examples
        --------
        >>> from fastseq.bench import crf_problem
        >>> crf_problem(B=3, T=5, N=4, seed=0).mask().astype(int).tolist()
        [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]
        """
        T = self.emissions.shape[1]
        return np.arange(T)[None, :] < self.lengths[:, None]


def crf_problem(B: int, T: int, N: int, dtype: DTypeLike = np.float32, seed: int = 0,
                ragged: bool = True) -> CRFProblem:
    """A seeded random CRF batch.

    Emissions are standard normal, transitions, start and end scores normal with standard
    deviation 0.5, gold tags uniform.

    Parameters
    ----------
    B : int
        Number of sequences.
    T : int
        Padded length (the length of the first sequence).
    N : int
        Number of tags.
    dtype : dtype-like, default=np.float32
        Dtype of the scores.
    seed : int, default=0
        Seed of :func:`numpy.random.default_rng`: the same arguments give the same problem.
    ragged : bool, default=True
        Draw the lengths of sequences 1 ... B-1 uniformly in ``[max(1, T//2), T]``
        (``lengths[0]`` is always ``T``); False: every sequence has length ``T``.

    Returns
    -------
    CRFProblem
        Emissions ``(B, T, N)``, int64 ``lengths (B,)`` and ``tags (B, T)``.

    Examples
    --------
    >>> from fastseq.bench import crf_problem
    >>> p = crf_problem(B=3, T=5, N=4, seed=0)
    >>> p.lengths.tolist()
    [5, 4, 5]
    >>> p.tags.tolist()
    [[3, 0, 0, 0, 2], [3, 3, 2, 3, 0], [0, 0, 3, 0, 3]]
    >>> crf_problem(B=3, T=5, N=4, ragged=False).lengths.tolist()
    [5, 5, 5]
    """
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


def call_op(op: str, mod: ModuleType, p: Union[HMMProblem, CRFProblem],
            n_threads: Optional[int] = None) -> Callable[[], Any]:
    """A no-argument callable running ``mod.<op>`` on a problem: the call that is timed.

    Parameters
    ----------
    op : str
        ``"log_partition"``, ``"forward"``, ``"backward"``, ``"viterbi"``,
        ``"posterior_decode"``, ``"marginals"`` (with ``pairwise=True``), ``"kbest"``
        (``k = KBEST_K = 5``), ``"sequence_score"`` (of ``p.tags``) or ``"crf_nll"`` (of
        ``p.tags``, ``reduction="sum"``).
    mod : module
        :mod:`fastseq` or :mod:`fastseq._reference` (the same functional API).
    p : HMMProblem or CRFProblem
        The inputs, passed with ``p.kwargs()``.
    n_threads : int, optional
        Passed on as ``n_threads`` when not None.

    Returns
    -------
    callable
        ``fn()`` returns what ``mod.<op>`` returns.

    Raises
    ------
    ValueError
        If ``op`` is not one of the above.

    Examples
    --------
    >>> import fastseq.ops
    >>> from fastseq.bench import call_op, crf_problem
    >>> p = crf_problem(B=3, T=5, N=4, seed=0)
    >>> fn = call_op("viterbi", fastseq.ops, p, n_threads=1)
    >>> paths, scores = fn()
    >>> paths.tolist()
    [[3, 2, 3, 1, 3], [1, 0, 3, 2, -1], [1, 3, 0, 3, 0]]
    """
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
