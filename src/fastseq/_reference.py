"""Plain numpy reference implementation of every functional op.

This module is the test oracle and the benchmark baseline for the compiled kernels. It is
written for clarity and exactness, not speed:

* everything is computed in the log domain, in float64, and cast back to the output dtype
  (float32 if every float input is float32, else float64) at the very end;
* ``-inf`` entries (forbidden moves) are handled exactly: no NaN, no warnings;
* the recurrences work on one sequence -- an ``(T, N)`` array -- at a time; a single layout
  helper (:class:`_Layout`) splits the three batch layouts into sequences and reassembles the
  outputs in the documented shapes.

The model: the score of a path ``y`` of length ``T`` is ::

    start[y_0] + sum_t emissions[t, y_t] + sum_{t>0} transitions[y_{t-1}, y_t] + end[y_{T-1}]

and ``log_Z`` is the logsumexp of that score over all ``N**T`` paths (``log_Z = 0`` for an
empty sequence).

Only light input handling is done here (``np.asarray`` and dtype selection); the full
validation with helpful messages lives in :mod:`fastseq`. ``n_threads`` is accepted and
ignored.
"""
from __future__ import annotations

from typing import Callable, List, Sequence, Tuple

import numpy as np

from ._types import CRFGrad, Marginals

__all__ = [
    "logsumexp",
    "log_partition",
    "forward",
    "backward",
    "marginals",
    "viterbi",
    "kbest",
    "posterior_decode",
    "sequence_score",
    "crf_nll",
]

NEG_INF = -np.inf


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def logsumexp(x, axis=None):
    """``log(sum(exp(x)))`` along ``axis``, safe for ``-inf``.

    If every entry reduced over is ``-inf`` the result is ``-inf`` (no NaN, no warning).
    Inputs are assumed free of NaN and ``+inf``. Returns a Python float when ``axis`` is None.
    """
    x = np.asarray(x, dtype=np.float64)
    m = np.max(x, axis=axis, keepdims=True)
    # Shift by the max for stability; an all -inf slice is shifted by 0 instead, so that
    # exp(-inf - 0) = 0, sum = 0 and log(0) = -inf (the divide warning is silenced).
    m = np.where(np.isneginf(m), 0.0, m)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if axis is None:
        return float(out.reshape(()))
    return np.squeeze(out, axis=axis)


def _out_dtype(*arrays) -> type:
    """float32 if every given (non-None) float input is float32, else float64."""
    given = [a for a in arrays if a is not None]
    if all(a.dtype.type is np.float32 for a in given):
        return np.float32
    return np.float64


class _Layout:
    """Splits a single / padded / concatenated input into sequences and joins outputs back.

    ``kind`` is one of

    * ``"single"``: ``emissions`` ``(T, N)``, ``lengths=None``;
    * ``"padded"``: ``emissions`` ``(B, T, N)``, ``lengths`` ``(B,)`` or None (all ``T``);
      positions ``>= lengths[b]`` are never read;
    * ``"concat"``: ``emissions`` ``(L, N)``, ``lengths`` ``(B,)`` summing to ``L``.
    """

    def __init__(self, emissions: np.ndarray, lengths) -> None:
        if emissions.ndim == 3:
            self.kind = "padded"
            B, T = emissions.shape[:2]
            self.T = T
            if lengths is None:
                self.lengths = np.full(B, T, dtype=np.int64)
            else:
                self.lengths = np.asarray(lengths).astype(np.int64).reshape(-1)
        elif lengths is None:
            self.kind = "single"
            self.T = emissions.shape[0]
            self.lengths = np.array([self.T], dtype=np.int64)
        else:
            self.kind = "concat"
            self.T = emissions.shape[0]  # = L
            self.lengths = np.asarray(lengths).astype(np.int64).reshape(-1)
        # start offset of each sequence in the concatenated layout
        self.offsets = np.cumsum(self.lengths) - self.lengths

    @property
    def B(self) -> int:
        return len(self.lengths)

    def split(self, x: np.ndarray) -> List[np.ndarray]:
        """Per-sequence views of ``x``, which has the same leading layout as ``emissions``
        (``(T, ...)``, ``(B, T, ...)`` or ``(L, ...)``); e.g. emissions or tags."""
        if self.kind == "single":
            return [x]
        if self.kind == "padded":
            return [x[b, : self.lengths[b]] for b in range(self.B)]
        return [x[o : o + n] for o, n in zip(self.offsets, self.lengths)]

    def join_positions(self, parts: Sequence[np.ndarray], trailing: Tuple[int, ...],
                       fill, dtype) -> np.ndarray:
        """Per-position outputs (``(T_b,) + trailing`` each) -> ``(T,)+trailing``,
        ``(B, T)+trailing`` filled with ``fill`` past each end, or ``(L,)+trailing``."""
        if self.kind == "single":
            return np.ascontiguousarray(parts[0], dtype=dtype).reshape((self.T,) + trailing)
        if self.kind == "padded":
            out = np.full((self.B, self.T) + trailing, fill, dtype=dtype)
            for b, part in enumerate(parts):
                out[b, : len(part)] = part
            return out
        out = np.empty((self.T,) + trailing, dtype=dtype)
        for o, n, part in zip(self.offsets, self.lengths, parts):
            out[o : o + n] = part
        return out

    def join_values(self, values: Sequence, shape: Tuple[int, ...], dtype):
        """Per-sequence outputs of shape ``shape`` -> one value (a Python float for scalars)
        for a single sequence, else stacked to ``(B,) + shape``."""
        if self.kind == "single":
            if shape == ():
                return float(dtype(values[0]))  # rounded to the output dtype
            return np.array(values[0], dtype=dtype)
        out = np.empty((self.B,) + shape, dtype=dtype)
        for b, v in enumerate(values):
            out[b] = v
        return out


class _Inputs:
    """Inputs converted to float64, ``start``/``end`` defaulted to zeros, plus the layout."""

    def __init__(self, emissions, transitions, start, end, lengths) -> None:
        em = np.asarray(emissions)
        tr = np.asarray(transitions)
        st = None if start is None else np.asarray(start)
        en = None if end is None else np.asarray(end)
        self.dtype = _out_dtype(em, tr, st, en)
        self.N = tr.shape[0]
        self.emissions = em.astype(np.float64)
        self.transitions = tr.astype(np.float64)
        self.start = np.zeros(self.N) if st is None else st.astype(np.float64)
        self.end = np.zeros(self.N) if en is None else en.astype(np.float64)
        self.layout = _Layout(self.emissions, lengths)

    def sequences(self) -> List[np.ndarray]:
        return self.layout.split(self.emissions)

    def each(self, fn: Callable, *args) -> list:
        """``[fn(emissions_b, transitions, start, end, *args) for each sequence b]``."""
        return [fn(e, self.transitions, self.start, self.end, *args) for e in self.sequences()]


# --------------------------------------------------------------------------------------------
# per-sequence algorithms: emissions (T, N) float64, transitions (N, N), start (N,), end (N,)
# --------------------------------------------------------------------------------------------


def _forward_seq(em, tr, st, en):
    """Forward pass. Returns ``log_alpha`` ``(T, N)`` and ``log_Z`` (float).

    ``log_alpha[t, j]`` = logsumexp over all prefixes ``y_0..y_t`` with ``y_t = j`` of their
    score, including ``start`` and ``emissions[t, j]`` (but not ``end``)::

        log_alpha[0, j] = start[j] + em[0, j]
        log_alpha[t, j] = logsumexp_i(log_alpha[t-1, i] + tr[i, j]) + em[t, j]
        log_Z           = logsumexp_j(log_alpha[T-1, j] + end[j])
    """
    T, N = em.shape
    alpha = np.empty((T, N))
    if T == 0:
        return alpha, 0.0
    alpha[0] = st + em[0]
    for t in range(1, T):
        alpha[t] = logsumexp(alpha[t - 1][:, None] + tr, axis=0) + em[t]
    return alpha, logsumexp(alpha[T - 1] + en)


def _backward_seq(em, tr, st, en):
    """Backward pass. Returns ``log_beta`` ``(T, N)``.

    ``log_beta[t, i]`` = logsumexp over all suffixes ``y_{t+1}..y_{T-1}`` given ``y_t = i``
    of their score, including ``end`` (but not ``emissions[t]``)::

        log_beta[T-1, i] = end[i]
        log_beta[t, i]   = logsumexp_j(tr[i, j] + em[t+1, j] + log_beta[t+1, j])
    """
    T, N = em.shape
    beta = np.empty((T, N))
    if T == 0:
        return beta
    beta[T - 1] = en
    for t in range(T - 2, -1, -1):
        beta[t] = logsumexp(tr + (em[t + 1] + beta[t + 1])[None, :], axis=1)
    return beta


def _marginals_seq(em, tr, st, en):
    """Posterior marginals. Returns ``node`` ``(T, N)``, ``pair`` ``(N, N)``, ``log_Z``.

    ``node[t, j]   = exp(log_alpha[t, j] + log_beta[t, j] - log_Z)``
    ``pair[i, j]   = sum_{t>0} exp(log_alpha[t-1, i] + tr[i, j] + em[t, j]
                                   + log_beta[t, j] - log_Z)``
    Both are zero when ``log_Z = -inf`` (no allowed path) or ``T = 0``.
    """
    T, N = em.shape
    alpha, log_Z = _forward_seq(em, tr, st, en)
    node = np.zeros((T, N))
    pair = np.zeros((N, N))
    if T == 0 or log_Z == NEG_INF:
        return node, pair, log_Z
    beta = _backward_seq(em, tr, st, en)
    node = np.exp(alpha + beta - log_Z)
    for t in range(1, T):  # one (N, N) slab at a time; never a (T, N, N) array
        pair += np.exp(alpha[t - 1][:, None] + tr + (em[t] + beta[t])[None, :] - log_Z)
    return node, pair, log_Z


def _viterbi_seq(em, tr, st, en):
    """Best path. Returns ``path`` ``(T,)`` int64 and its ``score`` (float).

    ``delta[t, j]`` = best prefix score ending in ``j`` at ``t``; ``back[t, j]`` the best
    previous state (ties: the lowest index, as ``np.argmax``)::

        delta[0, j] = start[j] + em[0, j]
        delta[t, j] = max_i(delta[t-1, i] + tr[i, j]) + em[t, j]
        score       = max_j(delta[T-1, j] + end[j])

    No allowed path: all ``-1`` and ``-inf``. Empty sequence: empty path, score 0.
    """
    T, N = em.shape
    path = np.full(T, -1, dtype=np.int64)
    if T == 0:
        return path, 0.0
    delta = st + em[0]
    back = np.zeros((T, N), dtype=np.int64)
    for t in range(1, T):
        cand = delta[:, None] + tr  # cand[i, j]: come from i into j
        back[t] = np.argmax(cand, axis=0)
        delta = cand[back[t], np.arange(N)] + em[t]
    final = delta + en
    j = int(np.argmax(final))
    score = float(final[j])
    if score == NEG_INF:
        return path, score
    for t in range(T - 1, -1, -1):
        path[t] = j
        j = back[t, j]
    return path, score


def _kbest_seq(em, tr, st, en, k):
    """The ``k`` best distinct paths (list Viterbi). Returns ``paths`` ``(k, T)`` int64 and
    ``scores`` ``(k,)``, best first; only finite-score paths, the rest ``-1`` / ``-inf``.

    Lattice: for each position ``t`` and state ``j`` keep the ``k`` best distinct prefixes
    ending in ``j`` at ``t``: ``score[t, j, r]`` (rank ``r``, descending, ``-inf`` = none),
    with back-pointers ``(prev_state, prev_rank)``. The candidates for ``(t, j)`` are
    ``score[t-1, i, r] + tr[i, j] + em[t, j]`` for all ``(i, r)``, which are distinct prefixes;
    any of the global ``k`` best paths has its prefix among the ``k`` best prefixes of its
    state, so keeping ``k`` per state is exact. Candidates are ordered ``(i, r)`` and sorted
    stably, so rank 0 follows the Viterbi tie rule (lowest index).
    """
    T, N = em.shape
    paths = np.full((k, T), -1, dtype=np.int64)
    scores = np.full(k, NEG_INF)
    if T == 0:
        scores[0] = 0.0  # the one empty path
        return paths, scores
    score = np.full((T, N, k), NEG_INF)
    prev_state = np.zeros((T, N, k), dtype=np.int64)
    prev_rank = np.zeros((T, N, k), dtype=np.int64)
    score[0, :, 0] = st + em[0]
    for t in range(1, T):
        for j in range(N):
            cand = (score[t - 1] + tr[:, j][:, None]).ravel() + em[t, j]  # index i * k + r
            best = np.argsort(-cand, kind="stable")[:k]
            score[t, j, : len(best)] = cand[best]
            prev_state[t, j, : len(best)] = best // k
            prev_rank[t, j, : len(best)] = best % k
    final = (score[T - 1] + en[:, None]).ravel()  # index j * k + r
    best = np.argsort(-final, kind="stable")[:k]
    for out_rank, flat in enumerate(best):
        if final[flat] == NEG_INF:
            break
        scores[out_rank] = final[flat]
        j, r = divmod(int(flat), k)
        for t in range(T - 1, -1, -1):
            paths[out_rank, t] = j
            j, r = prev_state[t, j, r], prev_rank[t, j, r]
    return paths, scores


def _posterior_decode_seq(em, tr, st, en):
    """Per-position argmax of the node marginals (ties: lowest index). Returns ``path``
    ``(T,)`` int64 and ``confidence`` ``(T,)`` = marginal of the chosen state; ``-1`` / 0
    when there is no allowed path."""
    node, _, log_Z = _marginals_seq(em, tr, st, en)
    T = em.shape[0]
    if T == 0 or log_Z == NEG_INF:
        return np.full(T, -1, dtype=np.int64), np.zeros(T)
    path = np.argmax(node, axis=1).astype(np.int64)
    return path, node[np.arange(T), path]


def _sequence_score_seq(em, tr, st, en, tags):
    """Score of the path ``tags`` ``(T,)``: start + emissions + transitions + end (0 if T=0)."""
    T = em.shape[0]
    if T == 0:
        return 0.0
    tags = np.asarray(tags, dtype=np.int64)
    s = st[tags[0]] + np.sum(em[np.arange(T), tags])
    s += np.sum(tr[tags[:-1], tags[1:]])
    s += en[tags[-1]]
    return float(s)


def _crf_nll_seq(em, tr, st, en, tags):
    """Negative log-likelihood ``log_Z - score(tags)`` of one sequence and its gradients.

    Returns ``nll``, ``g_em`` ``(T, N)``, ``g_tr`` ``(N, N)``, ``g_st`` ``(N,)``, ``g_en``
    ``(N,)``: expected counts (marginals) minus gold counts. ``nll = +inf`` if ``log_Z`` or the
    gold score is ``-inf``; with ``log_Z = -inf`` the marginals are zero, so the gradient is
    ``-(gold counts)``. Empty sequence: nll 0, zero gradients.
    """
    T, N = em.shape
    tags = np.asarray(tags, dtype=np.int64)
    node, pair, log_Z = _marginals_seq(em, tr, st, en)
    gold = _sequence_score_seq(em, tr, st, en, tags)
    if log_Z == NEG_INF or gold == NEG_INF:
        nll = np.inf
    else:
        nll = log_Z - gold
    g_em = node.copy()
    g_tr = pair.copy()
    g_st = np.zeros(N)
    g_en = np.zeros(N)
    if T > 0:
        g_em[np.arange(T), tags] -= 1.0
        np.subtract.at(g_tr, (tags[:-1], tags[1:]), 1.0)
        g_st = node[0].copy()
        g_st[tags[0]] -= 1.0
        g_en = node[T - 1].copy()
        g_en[tags[T - 1]] -= 1.0
    return nll, g_em, g_tr, g_st, g_en


# --------------------------------------------------------------------------------------------
# public API (same signatures as fastseq.ops)
# --------------------------------------------------------------------------------------------


def log_partition(emissions, transitions, *, start=None, end=None, lengths=None,
                  n_threads=None):
    """Log-partition ``log_Z``: float for one sequence, ``(B,)`` for a batch."""
    p = _Inputs(emissions, transitions, start, end, lengths)
    log_Z = [r[1] for r in p.each(_forward_seq)]
    return p.layout.join_values(log_Z, (), p.dtype)


def forward(emissions, transitions, *, start=None, end=None, lengths=None, n_threads=None):
    """Forward pass -> ``(log_alpha, log_Z)``.

    ``log_alpha`` like ``emissions`` (``(T, N)``, ``(B, T, N)`` zeros past the end, or
    ``(L, N)``), including ``start`` and ``emissions[t]``; ``log_Z`` float or ``(B,)``.
    """
    p = _Inputs(emissions, transitions, start, end, lengths)
    res = p.each(_forward_seq)
    alpha = p.layout.join_positions([r[0] for r in res], (p.N,), 0.0, p.dtype)
    return alpha, p.layout.join_values([r[1] for r in res], (), p.dtype)


def backward(emissions, transitions, *, start=None, end=None, lengths=None, n_threads=None):
    """Backward pass -> ``log_beta`` like ``emissions`` (zeros past the end);
    ``log_beta[T-1] = end``."""
    p = _Inputs(emissions, transitions, start, end, lengths)
    return p.layout.join_positions(p.each(_backward_seq), (p.N,), 0.0, p.dtype)


def marginals(emissions, transitions, *, pairwise=False, start=None, end=None, lengths=None,
              n_threads=None):
    """Posterior marginals -> ``Marginals(node, pair, log_Z)``.

    ``node`` like ``emissions`` (zeros past the end / for sequences with no allowed path);
    ``pair`` ``(N, N)`` or ``(B, N, N)`` expected transition counts summed over ``t`` if
    ``pairwise`` else None; ``log_Z`` float or ``(B,)``.
    """
    p = _Inputs(emissions, transitions, start, end, lengths)
    res = p.each(_marginals_seq)
    node = p.layout.join_positions([r[0] for r in res], (p.N,), 0.0, p.dtype)
    pair = None
    if pairwise:
        pair = p.layout.join_values([r[1] for r in res], (p.N, p.N), p.dtype)
    return Marginals(node, pair, p.layout.join_values([r[2] for r in res], (), p.dtype))


def viterbi(emissions, transitions, *, start=None, end=None, lengths=None, n_threads=None):
    """Best paths -> ``(paths, scores)``: ``(T,)`` int64 and float; ``(B, T)`` padded with
    -1 and ``(B,)``; or ``(L,)`` and ``(B,)``."""
    p = _Inputs(emissions, transitions, start, end, lengths)
    res = p.each(_viterbi_seq)
    paths = p.layout.join_positions([r[0] for r in res], (), -1, np.int64)
    return paths, p.layout.join_values([r[1] for r in res], (), p.dtype)


def kbest(emissions, transitions, k, *, start=None, end=None, lengths=None, n_threads=None):
    """The ``k`` best distinct paths -> ``(paths, scores)``, best first, padded with ``-1``
    paths and ``-inf`` scores when fewer finite-score paths exist.

    Shapes: single ``(k, T)``, ``(k,)``; padded ``(B, k, T)``, ``(B, k)``; concatenated
    ``(k, L)`` (row ``r`` = the r-th best path of every sequence, concatenated), ``(B, k)``.
    """
    k = int(k)
    p = _Inputs(emissions, transitions, start, end, lengths)
    res = p.each(_kbest_seq, k)
    # join with the position axis first ((T_b, k) per sequence), then move it last
    paths = p.layout.join_positions([r[0].T for r in res], (k,), -1, np.int64)
    paths = np.ascontiguousarray(np.moveaxis(paths, -1, -2))
    if p.layout.kind == "single":
        return paths, np.array(res[0][1], dtype=p.dtype)
    return paths, p.layout.join_values([r[1] for r in res], (k,), p.dtype)


def posterior_decode(emissions, transitions, *, start=None, end=None, lengths=None,
                     n_threads=None):
    """Argmax of the node marginals -> ``(paths, confidences)``: paths as :func:`viterbi`,
    confidences (float, same shape) = marginal of the chosen state, 0 past the end."""
    p = _Inputs(emissions, transitions, start, end, lengths)
    res = p.each(_posterior_decode_seq)
    paths = p.layout.join_positions([r[0] for r in res], (), -1, np.int64)
    conf = p.layout.join_positions([r[1] for r in res], (), 0.0, p.dtype)
    return paths, conf


def sequence_score(emissions, transitions, tags, *, start=None, end=None, lengths=None,
                   n_threads=None):
    """Scores of the given paths ``tags`` (``(T,)``, ``(B, T)`` or ``(L,)``; entries past a
    sequence's end are ignored) -> float or ``(B,)``."""
    p = _Inputs(emissions, transitions, start, end, lengths)
    tag_seqs = p.layout.split(np.asarray(tags))
    scores = [_sequence_score_seq(e, p.transitions, p.start, p.end, y)
              for e, y in zip(p.sequences(), tag_seqs)]
    return p.layout.join_values(scores, (), p.dtype)


def crf_nll(emissions, transitions, tags, *, reduction="sum", start=None, end=None,
            lengths=None, n_threads=None):
    """CRF negative log-likelihood and its gradient -> ``(nll, CRFGrad)``.

    Per sequence ``nll = log_Z - score(tags)``. ``reduction``: "sum" (float), "mean" (sum / B,
    gradients divided by B too) or "none" (``(B,)``; gradients of the sum). A single sequence
    always gives a float. ``CRFGrad.emissions`` like ``emissions`` (zeros past the end),
    ``transitions`` ``(N, N)``, ``start`` and ``end`` ``(N,)`` (returned even when
    ``start``/``end`` are None).
    """
    if reduction not in ("sum", "mean", "none"):
        raise ValueError(f"`reduction` must be 'sum', 'mean' or 'none', got {reduction!r}")
    p = _Inputs(emissions, transitions, start, end, lengths)
    tag_seqs = p.layout.split(np.asarray(tags))
    res = [_crf_nll_seq(e, p.transitions, p.start, p.end, y)
           for e, y in zip(p.sequences(), tag_seqs)]
    nll = np.array([r[0] for r in res], dtype=np.float64)
    g_em = [r[1] for r in res]
    g_tr = sum((r[2] for r in res), np.zeros((p.N, p.N)))
    g_st = sum((r[3] for r in res), np.zeros(p.N))
    g_en = sum((r[4] for r in res), np.zeros(p.N))
    scale = 1.0
    if reduction == "mean" and p.layout.B > 0:
        scale = 1.0 / p.layout.B
    g_em = [g * scale for g in g_em]
    grad = CRFGrad(
        p.layout.join_positions(g_em, (p.N,), 0.0, p.dtype),
        np.array(g_tr * scale, dtype=p.dtype),
        np.array(g_st * scale, dtype=p.dtype),
        np.array(g_en * scale, dtype=p.dtype),
    )
    if p.layout.kind == "single":
        out = float(p.dtype(nll[0]))
    elif reduction == "none":
        out = nll.astype(p.dtype)
    else:
        out = float(p.dtype(np.sum(nll) * scale))
    return out, grad
