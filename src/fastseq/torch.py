"""A pytorch-crf-compatible linear-chain CRF layer whose CPU work runs in fastseq's C kernels.

:class:`CRF` has the constructor, parameters, initialisation and methods of
``torchcrf.CRF`` (pytorch-crf 0.7.2), so switching is a change of import::

    from fastseq.torch import CRF          # was: from torchcrf import CRF

    crf = CRF(num_tags, batch_first=True)
    loss = -crf(emissions, tags, mask=mask, reduction="mean")
    loss.backward()
    best = crf.decode(emissions, mask=mask)          # List[List[int]]

On CPU tensors (float32 or float64) the log-likelihood and its gradients come from one call
of :func:`fastseq.crf_nll` (the tensors are handed to numpy without copying where the layout
allows); decoding uses :func:`fastseq.viterbi` / :func:`fastseq.kbest` and
:meth:`CRF.marginals` uses :func:`fastseq.marginals`. On any other device (or dtype, or with
``backend="torch"``) the same results come from a vectorised pure-torch implementation, so a
model keeps running on a GPU.

The kernel calls are ``torch.library`` custom operators (``torch.ops.fastseq.crf_llh`` with
its gradient formula, ``crf_viterbi``, ``crf_kbest``, ``crf_marginals``) with shape
functions, so ``torch.compile`` traces a model through the CRF without a graph break and
``torch.export`` exports it; :meth:`CRF.decode_tensor` returns the best paths as a tensor for
graphs that cannot hold lists.

Beyond pytorch-crf:

* ``decode(emissions, mask, nbest=k)``: the k best paths of every sequence;
* ``decode_tensor(emissions, mask)``: the best paths as one tensor, ``-1`` where masked;
* ``marginals(emissions, mask)``: per-token posterior probabilities;
* ``CRF(num_tags, constraints=fastseq.allowed_transitions(labels, scheme))``: forbidden
  moves get ``-inf`` in training and decoding, so decoded tag sequences are always
  well-formed;
* masks need not start with the first timestep: any mask selecting one contiguous run of
  positions per sequence works (left padding, or both sides). pytorch-crf requires the first
  timestep to be on for every sequence. A sequence whose mask is all off is empty: its
  log-likelihood is 0 and its decoded path ``[]``.
"""
from __future__ import annotations

import numbers
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn
from torch.autograd.function import once_differentiable

from . import ops
from .stream import OnlineViterbi

__all__ = ["CRF"]

_REDUCTIONS = ("none", "sum", "mean", "token_mean")
_BACKENDS = ("auto", "c", "torch")
_C_DTYPES = (torch.float32, torch.float64)


# ---------------------------------------------------------------------------------------------
# where the sequences are: a mask -> per-sequence (offset, length)
# ---------------------------------------------------------------------------------------------

def _spans(mask: Optional[torch.Tensor], B: int, T: int, device):
    """``(offsets, lengths)`` int64 tensors (B,) on ``device`` from a batch-first (B, T) mask.

    ``mask=None`` selects every position. A row must select one contiguous run (possibly
    empty); anything else is a ValueError. (Pure torch: works on any device.)
    """
    if mask is None:
        zeros = torch.zeros(B, dtype=torch.int64, device=device)
        return zeros, torch.full((B,), T, dtype=torch.int64, device=device)
    m = mask if mask.dtype == torch.bool else mask != 0
    lengths = m.sum(1, dtype=torch.int64)
    if T == 0:
        return lengths.clone(), lengths
    as_int = m.to(torch.uint8)
    first = as_int.argmax(1).to(torch.int64)
    last = (T - 1) - as_int.flip(1).argmax(1).to(torch.int64)
    broken = (lengths > 0) & (last - first + 1 != lengths)
    if bool(broken.any()):
        _not_contiguous(m.cpu().numpy(), broken.cpu().numpy())
    offsets = torch.where(lengths > 0, first, torch.zeros_like(first))
    return offsets, lengths


def _spans_numpy(mask: Optional[torch.Tensor], B: int, T: int):
    """:func:`_spans` for a CPU mask, in numpy (cheaper on small batches): numpy arrays."""
    if mask is None:
        return np.zeros(B, dtype=np.int64), np.full(B, T, dtype=np.int64)
    m = mask.numpy()
    if m.dtype != np.bool_:
        m = m != 0
    lengths = m.sum(1, dtype=np.int64)
    if T <= 1 or not (m[:, 1:] > m[:, :-1]).any():  # no off -> on step: right padding only
        return np.zeros(B, dtype=np.int64), lengths
    first = m.argmax(1)
    last = (T - 1) - m[:, ::-1].argmax(1)
    broken = (lengths > 0) & (last - first + 1 != lengths)
    if broken.any():
        _not_contiguous(m, broken)
    return np.where(lengths > 0, first, 0).astype(np.int64), lengths


def _not_contiguous(m: np.ndarray, broken: np.ndarray):
    b = int(np.argmax(broken))
    on = np.flatnonzero(m[b]).tolist()
    raise ValueError(
        "`mask` must select one contiguous run of positions per sequence (padding on "
        f"the left and/or right only); sequence {b} has positions {on}")


class _Plan:
    """The numpy inputs of one C call: emissions/tags in fastseq's padded layout (sequences
    start at position 0) or, when some sequence starts later (left padding), gathered into
    the concatenated layout."""

    __slots__ = ("B", "T", "N", "lengths", "aligned", "b_idx", "t_idx", "first", "em",
                 "tags", "trans", "start", "end", "n_threads")

    def __init__(self, em_bf, mask_bf, trans, start, end, n_threads, tags=None):
        B, T, N = em_bf.shape
        self.B, self.T, self.N, self.n_threads = B, T, N, n_threads
        off, self.lengths = _spans_numpy(mask_bf, B, T)
        self.aligned = not off.any()
        em = em_bf.detach().numpy()  # a view; ops copies only if it is not C-contiguous
        tg = None if tags is None else tags.detach().numpy()
        if self.aligned:
            self.first = np.arange(B, dtype=np.int64) * T
            self.b_idx = self.t_idx = None
        else:
            cs = np.zeros(B, dtype=np.int64)
            np.cumsum(self.lengths[:-1], out=cs[1:])
            self.first = cs
            L = int(self.lengths.sum())
            self.b_idx = np.repeat(np.arange(B, dtype=np.int64), self.lengths)
            self.t_idx = np.arange(L, dtype=np.int64) + np.repeat(off - cs, self.lengths)
            em = em[self.b_idx, self.t_idx]
            if tg is not None:
                tg = tg[self.b_idx, self.t_idx]
        self.em, self.tags = em, tg
        self.trans, self.start, self.end = trans, start, end

    def kw(self):
        return dict(start=self.start, end=self.end, lengths=self.lengths,
                    n_threads=self.n_threads)

    def to_grid(self, a):
        """Per-row results (padded (B,T,...) or concatenated (L,...)) -> (B, T, ...)."""
        if self.aligned:
            return a
        out = np.zeros((self.B, self.T) + a.shape[1:], dtype=a.dtype)
        out[self.b_idx, self.t_idx] = a
        return out

    def flat_rows(self, a):
        """Per-row results as a 2-D (rows, ...) array, rows indexed like ``self.first``."""
        return a.reshape((-1,) + a.shape[2:]) if self.aligned else a


# ---------------------------------------------------------------------------------------------
# the C path: torch.library custom ops around fastseq.ops, so that torch.compile and
# torch.export see each kernel call as one opaque node (no graph break) with known shapes
# ---------------------------------------------------------------------------------------------

def _to_torch(a: np.ndarray, dtype) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(a))
    return t if t.dtype == dtype else t.to(dtype)


def _op_plan(emissions, transitions, start, end, mask, n_threads, tags=None) -> _Plan:
    if mask is not None and mask.device.type != "cpu":
        mask = mask.cpu()
    tr, st, en = (x.detach().numpy() for x in (transitions, start, end))
    return _Plan(emissions, mask, tr, st, en, n_threads, tags)


def _paths_grid(plan: _Plan, paths: np.ndarray) -> np.ndarray:
    """Kernel paths (padded (B, T) or concatenated (L,)) -> (B, T), -1 outside the mask."""
    if plan.aligned:
        return paths
    out = np.full((plan.B, plan.T), -1, dtype=np.int64)
    out[plan.b_idx, plan.t_idx] = paths
    return out


def _kernel_dtype(*scores: torch.Tensor) -> torch.dtype:
    """The dtype the kernels compute in: float32 when every input is, else float64."""
    return torch.float32 if all(x.dtype == torch.float32 for x in scores) else torch.float64


def _crf_llh_impl(emissions: torch.Tensor, transitions: torch.Tensor, start: torch.Tensor,
                  end: torch.Tensor, tags: torch.Tensor, mask: Optional[torch.Tensor],
                  n_threads: Optional[int], need_grad: bool
                  ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-sequence log-likelihood (B,) of batch-first (B, T, N) emissions and, with
    ``need_grad``, the gradients of the summed negative log-likelihood (emissions per
    sequence, (B, T, N); the others summed) in the kernels' dtype, so that backward scales
    them before rounding to the inputs' dtypes; without, the gradients are empty."""
    plan = _op_plan(emissions, transitions, start, end, mask, n_threads, tags)
    out_dtype = torch.promote_types(emissions.dtype, transitions.dtype)
    if not need_grad:
        nll = (ops.log_partition(plan.em, plan.trans, **plan.kw())
               - ops.sequence_score(plan.em, plan.trans, plan.tags, **plan.kw()))
        return (_to_torch(np.negative(nll), out_dtype), emissions.new_empty((0,)),
                transitions.new_empty((0,)), start.new_empty((0,)), end.new_empty((0,)))
    nll, g = ops.crf_nll(plan.em, plan.trans, plan.tags, reduction="none", **plan.kw())
    kd = _kernel_dtype(emissions, transitions, start, end)
    return (_to_torch(np.negative(nll), out_dtype), _to_torch(plan.to_grid(g.emissions), kd),
            _to_torch(g.transitions, kd), _to_torch(g.start, kd), _to_torch(g.end, kd))


def _crf_llh_fake(emissions, transitions, start, end, tags, mask, n_threads, need_grad):
    B, T, N = emissions.shape
    llh = emissions.new_empty((B,), dtype=torch.promote_types(emissions.dtype,
                                                              transitions.dtype))
    if not need_grad:
        return (llh, *[x.new_empty((0,)) for x in (emissions, transitions, start, end)])
    kd = _kernel_dtype(emissions, transitions, start, end)
    return (llh, *[emissions.new_empty(s, dtype=kd) for s in ((B, T, N), (N, N), (N,), (N,))])


def _crf_llh_backward_impl(grad_llh: torch.Tensor, emissions: torch.Tensor,
                           transitions: torch.Tensor, start: torch.Tensor, end: torch.Tensor,
                           tags: torch.Tensor, mask: Optional[torch.Tensor],
                           g_emissions: torch.Tensor, g_transitions: torch.Tensor,
                           g_start: torch.Tensor, g_end: torch.Tensor, n_threads: Optional[int]
                           ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients of ``sum_b grad_llh[b] * llh[b]`` from the summed-nll gradients that
    ``crf_llh`` returned (one more kernel call only when the weights differ)."""
    g = grad_llh.detach().to(torch.float64).numpy()
    B = g.shape[0]
    if B == 0 or bool(np.all(g == g[0])):
        # sum / mean / token_mean: d(sum_b g_b * llh_b) = -g * d(sum nll)
        scale = 0.0 if B == 0 else -float(g[0])
        return ((g_emissions * scale).to(emissions.dtype),
                (g_transitions * scale).to(transitions.dtype),
                (g_start * scale).to(start.dtype), (g_end * scale).to(end.dtype))
    w = -g
    plan = _op_plan(emissions, transitions, start, end, mask, n_threads, tags)
    g_tr, g_st, g_en = _weighted_param_grads(plan, w)
    g_em = g_emissions * torch.from_numpy(w).to(g_emissions.dtype)[:, None, None]
    return (g_em.to(emissions.dtype), _to_torch(g_tr, transitions.dtype),
            _to_torch(g_st, start.dtype), _to_torch(g_en, end.dtype))


def _crf_llh_backward_fake(grad_llh, emissions, transitions, start, end, tags, mask,
                           g_emissions, g_transitions, g_start, g_end, n_threads):
    return tuple(torch.empty_like(g, dtype=x.dtype) for g, x in
                 ((g_emissions, emissions), (g_transitions, transitions), (g_start, start),
                  (g_end, end)))


def _crf_llh_setup_context(ctx, inputs, output):
    emissions, transitions, start, end, tags, mask, n_threads, _ = inputs
    ctx.n_threads = n_threads
    # saved: an in-place edit of an input before backward raises, as for torch ops
    ctx.save_for_backward(emissions, transitions, start, end, tags, mask, *output[1:])


def _crf_llh_autograd(ctx, grad_llh, *_):
    em, tr, st, en, tags, mask, g_em, g_tr, g_st, g_en = ctx.saved_tensors
    grads = _crf_llh_backward(grad_llh, em, tr, st, en, tags, mask, g_em, g_tr, g_st, g_en,
                              ctx.n_threads)
    need = ctx.needs_input_grad
    return (*[g if n else None for g, n in zip(grads, need[:4])], None, None, None, None)


def _eager(emissions: torch.Tensor) -> bool:
    """Whether to call the kernels' implementations directly: nothing is tracing and the
    tensors are plain (the custom ops' dispatch costs about 0.1 ms a call, which shows on
    small batches); traced code gets the custom ops."""
    return (not _CUSTOM_OPS or not _compiling() and not torch.jit.is_tracing()
            and type(emissions) is torch.Tensor)


def _compiling() -> bool:
    is_compiling = getattr(torch.compiler, "is_compiling", None)  # torch >= 2.3
    return bool(is_compiling()) if is_compiling is not None else False


class _EagerLogLikelihood(torch.autograd.Function):
    """``fastseq::crf_llh`` with its autograd formula, without the custom-op dispatch."""

    @staticmethod
    def forward(ctx, emissions, transitions, start, end, tags, mask, n_threads):
        llh, *grads = _crf_llh_impl(emissions, transitions, start, end, tags, mask, n_threads,
                                    True)
        ctx.n_threads = n_threads
        # saved: an in-place edit of an input before backward raises, as for torch ops
        ctx.save_for_backward(emissions, transitions, start, end, tags, mask, *grads)
        return llh

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_llh):
        em, tr, st, en, tags, mask, g_em, g_tr, g_st, g_en = ctx.saved_tensors
        grads = _crf_llh_backward_impl(grad_llh, em, tr, st, en, tags, mask, g_em, g_tr, g_st,
                                       g_en, ctx.n_threads)
        need = ctx.needs_input_grad
        return (*[g if n else None for g, n in zip(grads, need[:4])], None, None, None)


def _weighted_param_grads(plan: _Plan, w: np.ndarray):
    """Parameter gradients of ``sum_b w_b * nll_b`` for per-sequence weights ``w`` (B,).

    ``crf_nll`` sums the parameter gradients over the sequences, so they are rebuilt from
    per-sequence pair marginals minus weighted gold counts.
    """
    N, lengths = plan.N, plan.lengths
    m = ops.marginals(plan.em, plan.trans, pairwise=True, **plan.kw())
    node = plan.flat_rows(m.node).astype(np.float64)
    assert plan.tags is not None
    tags = plan.flat_rows(plan.tags).astype(np.int64)
    first = plan.first
    nonempty = lengths > 0
    f, ln, wf = first[nonempty], lengths[nonempty], w[nonempty]
    last = f + ln - 1
    # gold transitions: rows r with a predecessor in the same sequence
    n_pairs = np.maximum(lengths - 1, 0)
    r = (np.arange(int(n_pairs.sum()), dtype=np.int64)
         + np.repeat(first + 1 - (np.cumsum(n_pairs) - n_pairs), n_pairs))
    gold = np.bincount(tags[r - 1] * N + tags[r], weights=np.repeat(w, n_pairs),
                       minlength=N * N).reshape(N, N)
    assert m.pair is not None  # asked for with pairwise=True
    g_tr = np.einsum("b,bij->ij", w, m.pair.astype(np.float64)) - gold
    g_st = (wf @ node[f]) - np.bincount(tags[f], weights=wf, minlength=N)
    g_en = (wf @ node[last]) - np.bincount(tags[last], weights=wf, minlength=N)
    return g_tr, g_st, g_en


def _crf_viterbi_impl(emissions: torch.Tensor, transitions: torch.Tensor,
                      start: torch.Tensor, end: torch.Tensor, mask: Optional[torch.Tensor],
                      n_threads: Optional[int]) -> torch.Tensor:
    """Best paths of batch-first (B, T, N) emissions as (B, T) int64, -1 outside the mask
    (and where no path is allowed)."""
    plan = _op_plan(emissions, transitions, start, end, mask, n_threads)
    paths, _ = ops.viterbi(plan.em, plan.trans, **plan.kw())
    return _to_torch(_paths_grid(plan, paths), torch.int64)


def _crf_viterbi_fake(emissions, transitions, start, end, mask, n_threads):
    return emissions.new_empty(emissions.shape[:2], dtype=torch.int64)


def _crf_kbest_impl(emissions: torch.Tensor, transitions: torch.Tensor, start: torch.Tensor,
                    end: torch.Tensor, mask: Optional[torch.Tensor], n_threads: Optional[int],
                    k: int) -> torch.Tensor:
    """The k best paths of batch-first (B, T, N) emissions as (B, k, T) int64, best first,
    -1 outside the mask (and for paths that do not exist)."""
    plan = _op_plan(emissions, transitions, start, end, mask, n_threads)
    paths, _ = ops.kbest(plan.em, plan.trans, k, **plan.kw())
    if not plan.aligned:  # concatenated (k, L)
        grid = np.full((plan.B, k, plan.T), -1, dtype=np.int64)
        grid[plan.b_idx, :, plan.t_idx] = paths.T
        paths = grid
    return _to_torch(paths, torch.int64)


def _crf_kbest_fake(emissions, transitions, start, end, mask, n_threads, k):
    B, T = emissions.shape[:2]
    return emissions.new_empty((B, k, T), dtype=torch.int64)


def _crf_marginals_impl(emissions: torch.Tensor, transitions: torch.Tensor,
                        start: torch.Tensor, end: torch.Tensor, mask: Optional[torch.Tensor],
                        n_threads: Optional[int]) -> torch.Tensor:
    """Per-token posteriors (B, T, N) of batch-first emissions, 0 outside the mask."""
    plan = _op_plan(emissions, transitions, start, end, mask, n_threads)
    node = ops.marginals(plan.em, plan.trans, **plan.kw()).node
    return _to_torch(plan.to_grid(node),
                     torch.promote_types(emissions.dtype, transitions.dtype))


def _crf_marginals_fake(emissions, transitions, start, end, mask, n_threads):
    return emissions.new_empty(emissions.shape,
                               dtype=torch.promote_types(emissions.dtype, transitions.dtype))


# torch < 2.4 has no torch.library.custom_op: the implementations are then called directly
# (compilers break the graph around them)
_CUSTOM_OPS = hasattr(torch.library, "custom_op")


def _custom_op(name, impl, fake):
    op = torch.library.custom_op(f"fastseq::{name}", impl, mutates_args=())
    op.register_fake(fake)
    return op


if _CUSTOM_OPS:
    _crf_llh = _custom_op("crf_llh", _crf_llh_impl, _crf_llh_fake)
    _crf_llh_backward = _custom_op("crf_llh_backward", _crf_llh_backward_impl,
                                   _crf_llh_backward_fake)
    _crf_viterbi = _custom_op("crf_viterbi", _crf_viterbi_impl, _crf_viterbi_fake)
    _crf_kbest = _custom_op("crf_kbest", _crf_kbest_impl, _crf_kbest_fake)
    _crf_marginals = _custom_op("crf_marginals", _crf_marginals_impl, _crf_marginals_fake)
    _crf_llh.register_autograd(_crf_llh_autograd, setup_context=_crf_llh_setup_context)


# ---------------------------------------------------------------------------------------------
# the pure-torch path (any device): vectorised over the batch, loops over time
# ---------------------------------------------------------------------------------------------

def _lse(x: torch.Tensor, dim: int) -> torch.Tensor:
    """logsumexp that is exact for all -inf slices and has zero (not NaN) gradient there."""
    m = x.detach().amax(dim, keepdim=True)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    s = (x - m).exp().sum(dim)
    pos = s > 0
    out = torch.log(torch.where(pos, s, torch.ones_like(s))) + m.squeeze(dim)
    return torch.where(pos, out, torch.full_like(out, -float("inf")))


def _align(x: torch.Tensor, offsets: torch.Tensor, shift: int = 1) -> torch.Tensor:
    """Roll every row of a (B, T, ...) tensor left by its offset (``shift=-1``: right)."""
    B, T = x.shape[:2]
    idx = (torch.arange(T, device=x.device)[None, :] + shift * offsets[:, None]) % max(T, 1)
    if x.dim() == 3:
        idx = idx[:, :, None].expand(B, T, x.shape[2])
    return x.gather(1, idx)


def _valid(lengths: torch.Tensor, T: int) -> torch.Tensor:
    return torch.arange(T, device=lengths.device)[None, :] < lengths[:, None]


def _torch_log_z(em, valid, lengths, trans, start, end):
    """log Z (B,) of right-aligned (B, T, N) emissions (padding already zeroed)."""
    B, T, N = em.shape
    if T == 0:
        return em.new_zeros(B)
    score = start + em[:, 0]
    for t in range(1, T):
        nxt = _lse(score.unsqueeze(2) + trans, 1) + em[:, t]
        score = torch.where(valid[:, t, None], nxt, score)
    log_z = _lse(score + end, 1)
    return torch.where(lengths > 0, log_z, torch.zeros_like(log_z))


def _torch_gold(em, tags, valid, lengths, trans, start, end):
    """Score (B,) of right-aligned ``tags`` (entries past each end are ignored)."""
    B, T, N = em.shape
    if T == 0:
        return em.new_zeros(B)
    tags = torch.where(valid, tags, torch.zeros_like(tags))
    zero = em.new_zeros(())
    s = torch.where(valid, em.gather(2, tags.unsqueeze(2)).squeeze(2), zero).sum(1)
    if T > 1:
        tr = trans[tags[:, :-1], tags[:, 1:]]
        s = s + torch.where(valid[:, 1:], tr, zero).sum(1)
    last = tags.gather(1, (lengths - 1).clamp(min=0).unsqueeze(1)).squeeze(1)
    s = s + start[tags[:, 0]] + end[last]
    return torch.where(lengths > 0, s, torch.zeros_like(s))


def _torch_viterbi(em, valid, lengths, trans, start, end):
    """Best right-aligned paths (B, T) (-1 past each end and where no path is allowed)."""
    B, T, N = em.shape
    paths = torch.full((B, T), -1, dtype=torch.int64, device=em.device)
    if T == 0:
        return paths
    score = start + em[:, 0]
    history = []
    for t in range(1, T):
        best, idx = (score.unsqueeze(2) + trans).max(1)
        score = torch.where(valid[:, t, None], best + em[:, t], score)
        history.append(idx)
    best_score, cur = (score + end).max(1)
    last = lengths - 1
    for t in range(T - 1, -1, -1):
        if t < T - 1:
            back = history[t].gather(1, cur.unsqueeze(1)).squeeze(1)
            cur = torch.where(last > t, back, cur)
        paths[:, t] = cur
    ok = valid & (best_score > -float("inf"))[:, None]
    return torch.where(ok, paths, torch.full_like(paths, -1))


def _torch_kbest(em, valid, lengths, trans, start, end, k):
    """The k best right-aligned paths (B, k, T), best first; -1 where fewer exist."""
    B, T, N = em.shape
    paths = torch.full((B, k, T), -1, dtype=torch.int64, device=em.device)
    if T == 0:
        paths = paths.new_full((B, k, 0), -1)
        return paths
    ninf = -float("inf")
    score = em.new_full((B, N, k), ninf)
    score[:, :, 0] = start + em[:, 0]
    prev_state, prev_rank = [], []
    for t in range(1, T):
        # cand[b, j, i*k + r] = score[b, i, r] + trans[i, j]
        cand = (score.unsqueeze(2) + trans[None, :, :, None]).permute(0, 2, 1, 3)
        cand = cand.reshape(B, N, N * k)
        top, idx = cand.topk(k, dim=2)
        stay = ~valid[:, t, None, None]
        score = torch.where(stay, score, top + em[:, t, :, None])
        prev_state.append(idx // k)
        prev_rank.append(idx % k)
    final, fidx = (score + end[None, :, None]).reshape(B, N * k).topk(k, dim=1)
    state, rank = fidx // k, fidx % k  # (B, k)
    last = lengths - 1
    for t in range(T - 1, -1, -1):
        if t < T - 1:
            flat = state * k + rank
            ps = prev_state[t].reshape(B, N * k).gather(1, flat)
            pr = prev_rank[t].reshape(B, N * k).gather(1, flat)
            move = (last > t)[:, None]
            state = torch.where(move, ps, state)
            rank = torch.where(move, pr, rank)
        paths[:, :, t] = state
    ok = valid[:, None, :] & (final > ninf)[:, :, None]
    return torch.where(ok, paths, torch.full_like(paths, -1))


# ---------------------------------------------------------------------------------------------
# the module
# ---------------------------------------------------------------------------------------------

def _functorch_wrapped(t: torch.Tensor) -> bool:
    check = getattr(getattr(torch._C, "_functorch", None), "is_functorch_wrapped_tensor", None)
    return bool(check(t)) if check is not None else False


def _as_bool_tensor(x, shape, name):
    if x is None:
        return None
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.dtype != torch.bool:
        raise TypeError(f"`constraints`: the {name} mask must be boolean, got {t.dtype}")
    if tuple(t.shape) != shape:
        raise ValueError(f"`constraints`: the {name} mask must have shape {shape}, "
                         f"got {tuple(t.shape)}")
    return t.detach().cpu()


class CRF(nn.Module):
    """Linear-chain conditional random field layer, API-compatible with ``torchcrf.CRF`` 0.7.2.

    On CPU float32 / float64 tensors the work runs in fastseq's C kernels; elsewhere (a GPU,
    another dtype, ``backend="torch"``) a vectorised pure-torch implementation gives the
    same results.

    Parameters
    ----------
    num_tags : int
        Number of tags ``N``.
    batch_first : bool, default=False
        Whether dimension 0 of emissions / tags / mask is the batch (else time).
    constraints : tuple of three array-like of bool, optional
        ``(trans_mask (N, N), start_mask (N,), end_mask (N,))`` boolean masks of the
        allowed moves, as returned by
        :func:`fastseq.allowed_transitions(labels, scheme) <fastseq.allowed_transitions>`
        (numpy arrays or tensors; an entry may be None: everything allowed). Forbidden
        moves get ``-inf`` added to their scores in the log-likelihood, marginals and
        decoding, so decoded tag sequences are always well-formed.
    n_threads : int, optional
        Threads for the C kernels (None: every core the process may use; -1: all cores;
        see :func:`fastseq.effective_n_threads`). Keyword-only.
    backend : {"auto", "c", "torch"}, default="auto"
        ``"auto"``: the C kernels for CPU float32 / float64 tensors, pure torch otherwise;
        ``"c"``: always the C kernels (CPU tensors only); ``"torch"``: always the
        pure-torch implementation. Keyword-only; may be changed on the instance.

    Attributes
    ----------
    start_transitions : torch.nn.Parameter of shape (num_tags,)
        Scores of the first tag.
    end_transitions : torch.nn.Parameter of shape (num_tags,)
        Scores of the last tag.
    transitions : torch.nn.Parameter of shape (num_tags, num_tags)
        ``transitions[i, j]`` scores the move from tag ``i`` to tag ``j``.
    trans_constraint, start_constraint, end_constraint : torch.Tensor or None
        The constraints as ``0`` / ``-inf`` biases of shapes ``(N, N)``, ``(N,)``,
        ``(N,)``; None where every move is allowed. Non-persistent buffers, so
        ``state_dict()`` holds exactly the three parameters of pytorch-crf and loads
        into / from ``torchcrf.CRF``.
    num_tags : int
        Number of tags.
    batch_first : bool
        The layout of the inputs.
    n_threads : int or None
        Threads for the C kernels.

    Raises
    ------
    TypeError
        If ``num_tags`` is not an int, a constraint mask is not boolean, or ``n_threads``
        is neither None nor an int.
    ValueError
        If ``num_tags < 1``, ``constraints`` is not a triple, a mask has the wrong shape,
        ``backend`` is unknown, or ``n_threads`` is 0 or below -1.

    See Also
    --------
    fastseq.crf_nll : The loss and gradients computed on CPU tensors.
    fastseq.allowed_transitions : The constraints of a tagging scheme.

    Notes
    -----
    The three parameters are initialised uniformly in [-0.1, 0.1], in the order start,
    end, transitions (as pytorch-crf does, so a seeded model starts with the same values).

    Beyond pytorch-crf: ``decode(..., nbest=k)`` gives the k best paths,
    :meth:`marginals` the per-token posteriors, and a mask may select any one contiguous
    run of positions per sequence (left padding, or both sides; pytorch-crf requires the
    first timestep to be on). A sequence whose mask is all off is empty: its
    log-likelihood is 0 and its decoded path ``[]``.

    The C kernels are ``torch.ops.fastseq`` custom operators: ``torch.compile`` traces
    :meth:`forward`, :meth:`decode_tensor` and :meth:`marginals` without a graph break and
    ``torch.export`` exports them (:meth:`decode` builds its lists after the graph). A
    program exported with gradients enabled and parameters that require them computes the
    kernel gradients with every forward; export under ``torch.no_grad()`` for inference.

    Examples
    --------
    >>> import torch
    >>> from fastseq.torch import CRF
    >>> _ = torch.manual_seed(0)
    >>> crf = CRF(3, batch_first=True)
    >>> emissions = torch.randn(2, 4, 3)            # (batch_size, seq_length, num_tags)
    >>> tags = torch.tensor([[0, 1, 2, 1], [2, 2, 0, 0]])
    >>> mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
    >>> loss = -crf(emissions, tags, mask=mask, reduction="mean")
    >>> loss.backward()
    >>> crf.transitions.grad.shape
    torch.Size([3, 3])
    >>> crf.decode(emissions, mask=mask)
    [[0, 1, 2, 2], [0, 2]]
    >>> list(crf.state_dict())
    ['start_transitions', 'end_transitions', 'transitions']

    Constraints keep decoded sequences well-formed: under IOB2 no sequence starts with
    ``I-PER``, whatever the scores say.

    >>> import fastseq
    >>> labels = ["O", "B-PER", "I-PER"]
    >>> crf = CRF(3, batch_first=True,
    ...           constraints=fastseq.allowed_transitions(labels, "IOB2"))
    >>> emissions = torch.tensor([[[0.0, 0.0, 5.0], [0.0, 0.0, 5.0]]])
    >>> [labels[i] for i in crf.decode(emissions)[0]]
    ['B-PER', 'I-PER']
    """

    num_tags: int
    batch_first: bool
    n_threads: Optional[int]
    start_transitions: nn.Parameter
    end_transitions: nn.Parameter
    transitions: nn.Parameter
    trans_constraint: Optional[torch.Tensor]
    start_constraint: Optional[torch.Tensor]
    end_constraint: Optional[torch.Tensor]

    def __init__(self, num_tags: int, batch_first: bool = False,
                 constraints: Optional[Sequence[Optional[ArrayLike]]] = None, *,
                 n_threads: Optional[int] = None, backend: str = "auto") -> None:
        if isinstance(num_tags, bool) or not isinstance(num_tags, numbers.Integral):
            raise TypeError(f"`num_tags` must be an int, got {type(num_tags).__name__}")
        if num_tags <= 0:
            raise ValueError(f"invalid number of tags: {num_tags}")
        super().__init__()
        self.num_tags = int(num_tags)
        self.batch_first = batch_first
        self.n_threads = n_threads
        if n_threads is not None:
            ops.effective_n_threads(n_threads)  # validate early
        self.backend = backend
        self.start_transitions = nn.Parameter(torch.empty(num_tags))
        self.end_transitions = nn.Parameter(torch.empty(num_tags))
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))
        self._set_constraints(constraints)
        self.reset_parameters()

    # -- set-up ------------------------------------------------------------------------
    @property
    def backend(self) -> str:
        """The implementation used: ``"auto"``, ``"c"`` or ``"torch"`` (settable).

        Setting it to anything else raises ``ValueError``.

        Examples
        --------
        >>> from fastseq.torch import CRF
        >>> crf = CRF(3)
        >>> crf.backend
        'auto'
        >>> crf.backend = "torch"
        >>> crf.backend
        'torch'
        """
        return self._backend

    @backend.setter
    def backend(self, value: str) -> None:
        if value not in _BACKENDS:
            raise ValueError(f"`backend` must be one of {_BACKENDS}, got {value!r}")
        self._backend = value

    def _set_constraints(self, constraints) -> None:
        N = self.num_tags
        masks = (None, None, None)
        if constraints is not None:
            if isinstance(constraints, (str, bytes)) or not hasattr(constraints, "__len__") \
                    or len(constraints) != 3:
                raise ValueError("`constraints` must be (trans_mask, start_mask, end_mask) as "
                                 "returned by fastseq.allowed_transitions(labels, scheme)")
            masks = (_as_bool_tensor(constraints[0], (N, N), "transition"),
                     _as_bool_tensor(constraints[1], (N,), "start"),
                     _as_bool_tensor(constraints[2], (N,), "end"))
        for name, m in zip(("trans_constraint", "start_constraint", "end_constraint"), masks):
            bias = None
            if m is not None and not bool(m.all()):
                bias = torch.zeros(m.shape).masked_fill_(~m, -float("inf"))
            self.register_buffer(name, bias, persistent=False)

    def reset_parameters(self) -> None:
        """Initialise the transition parameters uniformly in [-0.1, 0.1].

        The order is start, end, transitions, as in pytorch-crf: a seeded model starts
        with the same values. The constraints are kept.

        Examples
        --------
        >>> import torch
        >>> from fastseq.torch import CRF
        >>> crf = CRF(3)
        >>> _ = torch.manual_seed(0)
        >>> crf.reset_parameters()
        >>> bool(crf.transitions.abs().max() <= 0.1)
        True
        >>> before = crf.transitions.detach().clone()
        >>> _ = torch.manual_seed(0)
        >>> crf.reset_parameters()
        >>> torch.equal(crf.transitions, before)
        True
        """
        nn.init.uniform_(self.start_transitions, -0.1, 0.1)
        nn.init.uniform_(self.end_transitions, -0.1, 0.1)
        nn.init.uniform_(self.transitions, -0.1, 0.1)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(num_tags={self.num_tags})"

    # -- helpers -----------------------------------------------------------------------
    def _scores(self):
        """(transitions, start, end) with the constraints' -inf added (differentiable)."""
        tr, st, en = self.transitions, self.start_transitions, self.end_transitions
        if self.trans_constraint is not None:
            tr = tr + self.trans_constraint
        if self.start_constraint is not None:
            st = st + self.start_constraint
        if self.end_constraint is not None:
            en = en + self.end_constraint
        return tr, st, en

    def _use_c(self, emissions: torch.Tensor) -> bool:
        if self._backend == "torch":
            return False
        params = (self.transitions, self.start_transitions, self.end_transitions)
        on_cpu = emissions.device.type == "cpu" and all(p.device.type == "cpu" for p in params)
        # torch.func transforms: numpy cannot see these (a compiled graph has none)
        if not _compiling() and _functorch_wrapped(emissions):
            on_cpu = False
        if self._backend == "c":
            if not on_cpu:
                raise ValueError(f"backend='c' needs CPU tensors; emissions are on "
                                 f"{emissions.device}")
            return True
        return (on_cpu and emissions.dtype in _C_DTYPES
                and all(p.dtype in _C_DTYPES for p in params))

    def _validate(self, emissions, tags=None, mask=None) -> None:
        if not isinstance(emissions, torch.Tensor):
            raise TypeError(f"`emissions` must be a torch.Tensor, got {type(emissions).__name__}")
        if emissions.dim() != 3:
            # pytorch-crf's messages follow the name: scripts and tests match on them
            raise ValueError(f"`emissions`: emissions must have dimension of 3, got "
                             f"{emissions.dim()}")
        if emissions.size(2) != self.num_tags:
            raise ValueError(f"`emissions`: expected last dimension of emissions is "
                             f"{self.num_tags}, got {emissions.size(2)}")
        if not emissions.is_floating_point():
            raise TypeError(f"`emissions` must be a floating-point tensor, got {emissions.dtype}")
        if tags is not None:
            if not isinstance(tags, torch.Tensor):
                raise TypeError(f"`tags` must be a torch.Tensor, got {type(tags).__name__}")
            if emissions.shape[:2] != tags.shape:
                raise ValueError("`tags`: the first two dimensions of emissions and tags must "
                                 f"match, got {tuple(emissions.shape[:2])} and "
                                 f"{tuple(tags.shape)}")
            if tags.is_floating_point() or tags.is_complex() or tags.dtype == torch.bool:
                raise TypeError(f"`tags` must be an integer tensor, got {tags.dtype}")
        if mask is not None:
            if not isinstance(mask, torch.Tensor):
                raise TypeError(f"`mask` must be a torch.Tensor, got {type(mask).__name__}")
            if emissions.shape[:2] != mask.shape:
                raise ValueError("`mask`: the first two dimensions of emissions and mask must "
                                 f"match, got {tuple(emissions.shape[:2])} and "
                                 f"{tuple(mask.shape)}")

    def _batch_first(self, emissions, tags=None, mask=None):
        if not self.batch_first:
            emissions = emissions.transpose(0, 1)
            tags = None if tags is None else tags.transpose(0, 1)
            mask = None if mask is None else mask.transpose(0, 1)
        return emissions, tags, mask

    def _torch_inputs(self, em_bf, mask_bf, tags=None):
        """Right-aligned emissions (padding zeroed), tags, validity mask, lengths, offsets and
        the constrained scores, for the pure-torch path."""
        offsets, lengths = _spans(mask_bf, em_bf.shape[0], em_bf.shape[1], em_bf.device)
        tr, st, en = self._scores()
        dtype = torch.promote_types(em_bf.dtype, tr.dtype)
        em_bf, tr, st, en = em_bf.to(dtype), tr.to(dtype), st.to(dtype), en.to(dtype)
        T = em_bf.shape[1]
        shifted = bool((offsets > 0).any()) if T else False
        if shifted:
            em_bf = _align(em_bf, offsets)
            tags = None if tags is None else _align(tags, offsets)
        valid = _valid(lengths, T)
        em_bf = torch.where(valid[:, :, None], em_bf, torch.zeros_like(em_bf))
        return em_bf, tags, valid, lengths, offsets, shifted, tr, st, en

    # -- API ---------------------------------------------------------------------------
    def forward(self, emissions: torch.Tensor, tags: torch.LongTensor,
                mask: Optional[torch.Tensor] = None, reduction: str = "sum") -> torch.Tensor:
        """Log-likelihood of ``tags`` given ``emissions`` (differentiable).

        Parameters
        ----------
        emissions : torch.Tensor of shape (seq_length, batch_size, num_tags)
            Emission scores, floating point; ``(batch_size, seq_length, num_tags)`` with
            ``batch_first=True``.
        tags : torch.Tensor of shape (seq_length, batch_size)
            Integer tags in ``[0, num_tags)`` (``(batch_size, seq_length)`` with
            ``batch_first``); entries outside the mask are ignored.
        mask : torch.Tensor of shape (seq_length, batch_size), optional
            Boolean or uint8, shaped like ``tags``; each sequence must be one contiguous run
            of "on" positions (it may start after the first timestep). None: every
            position.
        reduction : {"sum", "none", "mean", "token_mean"}, default="sum"
            ``"none"``: one value per sequence; ``"sum"`` over the batch; ``"mean"`` over
            the batch; ``"token_mean"``: the sum divided by the number of unmasked tokens
            (0 when there are none).

        Returns
        -------
        torch.Tensor
            The log-likelihood: shape ``(batch_size,)`` for ``"none"``, a scalar
            otherwise; in the promoted dtype of ``emissions`` and the parameters. Negate
            it for a loss.

        Raises
        ------
        TypeError
            If ``emissions`` is not a floating-point tensor, ``tags`` not an integer
            tensor, or ``mask`` not a tensor.
        ValueError
            If ``emissions`` is not 3-D or its last dimension is not ``num_tags``, the
            shapes of ``tags`` or ``mask`` do not match, a mask row is not one contiguous
            run, a tag is out of range, ``reduction`` is unknown, or ``backend="c"`` gets
            tensors that are not on the CPU. On the C kernels also for NaN or ``+inf``
            scores, or scores so large that a path's total could overflow (pure torch
            propagates them into the result).

        Examples
        --------
        >>> import torch
        >>> from fastseq.torch import CRF
        >>> _ = torch.manual_seed(0)
        >>> crf = CRF(3, batch_first=True)
        >>> emissions = torch.randn(2, 4, 3, requires_grad=True)
        >>> tags = torch.tensor([[0, 1, 2, 1], [2, 2, 0, 0]])
        >>> mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
        >>> llh = crf(emissions, tags, mask=mask, reduction="none")
        >>> llh.shape, [round(v, 4) for v in llh.tolist()]
        (torch.Size([2]), [-3.4539, -2.3241])
        >>> llh.sum().backward()
        >>> emissions.grad.shape
        torch.Size([2, 4, 3])
        """
        self._validate(emissions, tags=tags, mask=mask)
        if reduction not in _REDUCTIONS:
            raise ValueError(f"invalid reduction: {reduction} (`reduction` must be one of "
                             f"{_REDUCTIONS})")
        em_bf, tags_bf, mask_bf = self._batch_first(emissions, tags, mask)
        if self._use_c(emissions):
            tr, st, en = self._scores()
            need_grad = torch.is_grad_enabled() and any(
                x.requires_grad for x in (em_bf, tr, st, en))
            tg = tags_bf.to(torch.int64)
            if need_grad and _eager(em_bf):
                llh = _EagerLogLikelihood.apply(em_bf, tr, st, en, tg, mask_bf, self.n_threads)
            else:  # without a graph to build, the forward pass alone
                llh_op = _crf_llh_impl if _eager(em_bf) else _crf_llh
                llh = llh_op(em_bf, tr, st, en, tg, mask_bf, self.n_threads, need_grad)[0]
            if mask_bf is None:
                n_tokens = llh.new_tensor(float(max(em_bf.shape[0] * em_bf.shape[1], 1)))
            else:  # no tokens: every llh is 0
                n_tokens = (mask_bf != 0).sum().clamp(min=1).to(llh.dtype)
        else:
            em, tg, valid, lengths, _, _, tr, st, en = self._torch_inputs(em_bf, mask_bf,
                                                                          tags_bf)
            tg = tg.to(torch.int64)
            bad = valid & ((tg < 0) | (tg >= self.num_tags))
            if bool(bad.any()):
                raise ValueError(f"`tags` must be in [0, {self.num_tags})")
            gold = _torch_gold(em, tg, valid, lengths, tr, st, en)
            log_z = _torch_log_z(em, valid, lengths, tr, st, en)
            # no allowed path at all: -inf (as the C kernels), not -inf - -inf = NaN
            none = torch.isneginf(gold) & torch.isneginf(log_z)
            llh = torch.where(none, gold, gold - log_z.masked_fill(none, 0.0))
            n_tokens = lengths.sum().clamp(min=1).to(llh.dtype)  # no tokens: every llh is 0
        if reduction == "none":
            return llh
        if reduction == "sum":
            return llh.sum()
        if reduction == "mean":
            return llh.mean()
        return llh.sum() / n_tokens

    def decode(self, emissions: torch.Tensor, mask: Optional[torch.Tensor] = None,
               nbest: Optional[int] = None
               ) -> Union[List[List[int]], List[List[List[int]]]]:
        """Most likely tag sequences (Viterbi), honouring the constraints.

        Parameters
        ----------
        emissions : torch.Tensor of shape (seq_length, batch_size, num_tags)
            As in :meth:`forward`.
        mask : torch.Tensor of shape (seq_length, batch_size), optional
            As in :meth:`forward`.
        nbest : int, optional
            None (default): the best path only; an int ``k >= 1``: the k best distinct
            paths.

        Returns
        -------
        list
            ``nbest=None``: ``List[List[int]]``, one path per sequence (batch order), each
            as long as the sequence (its number of unmasked positions), as pytorch-crf
            returns. ``nbest=k``: ``List[List[List[int]]]`` of shape
            ``[batch_size][k][length_b]``: for every sequence exactly ``k`` paths, best
            first. Where fewer than ``k`` allowed paths exist (short sequences,
            constraints) the missing ones are filled with ``-1``; a sequence with no
            allowed path at all gets paths of ``-1``.

        Raises
        ------
        TypeError
            If ``emissions`` is not a floating-point tensor, ``mask`` not a tensor, or
            ``nbest`` neither None nor an int.
        ValueError
            If the shapes do not match (see :meth:`forward`), a mask row is not one
            contiguous run, ``nbest < 1``, or ``backend="c"`` gets tensors that are not on
            the CPU. On the C kernels also for NaN, ``+inf`` or overflowing scores (see
            :meth:`forward`).

        Examples
        --------
        >>> import torch
        >>> from fastseq.torch import CRF
        >>> _ = torch.manual_seed(0)
        >>> crf = CRF(3, batch_first=True)
        >>> emissions = torch.randn(2, 4, 3)
        >>> mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
        >>> crf.decode(emissions, mask=mask)
        [[0, 1, 2, 2], [0, 2]]
        >>> crf.decode(emissions, mask=mask, nbest=2)
        [[[0, 1, 2, 2], [0, 0, 2, 2]], [[0, 2], [0, 0]]]
        """
        self._validate(emissions, mask=mask)
        if nbest is not None:
            if isinstance(nbest, bool) or not isinstance(nbest, numbers.Integral):
                raise TypeError(f"`nbest` must be None or an int, got {type(nbest).__name__}")
            if nbest < 1:
                raise ValueError(f"`nbest` must be >= 1, got {nbest}")
            nbest = int(nbest)
        em_bf, _, mask_bf = self._batch_first(emissions, None, mask)
        if self._use_c(emissions):
            if nbest is None:
                grid = self._c_viterbi(em_bf, mask_bf).tolist()
                off, n = _spans_numpy(None if mask_bf is None else mask_bf.cpu(),
                                      *em_bf.shape[:2])
                return [p[o:o + k] for p, o, k in zip(grid, off.tolist(), n.tolist())]
            em, tr, st, en = self._detached(em_bf)
            op = _crf_kbest_impl if _eager(em_bf) else _crf_kbest
            grids = op(em, tr, st, en, mask_bf, self.n_threads, nbest).tolist()
            off, n = _spans_numpy(None if mask_bf is None else mask_bf.cpu(), *em_bf.shape[:2])
            return [[p[o:o + k] for p in seq]
                    for seq, o, k in zip(grids, off.tolist(), n.tolist())]
        with torch.no_grad():
            em, _, valid, lengths, _, _, tr, st, en = self._torch_inputs(em_bf, mask_bf)
            n = lengths.tolist()
            if nbest is None:
                paths = _torch_viterbi(em, valid, lengths, tr, st, en).tolist()
                return [p[:k] for p, k in zip(paths, n)]
            paths = _torch_kbest(em, valid, lengths, tr, st, en, nbest).tolist()
            return [[p[:k] for p in seq] for seq, k in zip(paths, n)]

    def decode_tensor(self, emissions: torch.Tensor,
                      mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Most likely tag sequences (Viterbi) as one integer tensor.

        The paths of :meth:`decode` laid out like the mask, so that ``torch.export`` and
        ``torch.compile`` can trace the call (a list cannot be part of a graph).

        Parameters
        ----------
        emissions : torch.Tensor of shape (seq_length, batch_size, num_tags)
            As in :meth:`forward`.
        mask : torch.Tensor of shape (seq_length, batch_size), optional
            As in :meth:`forward`.

        Returns
        -------
        torch.Tensor
            The paths as int64, shaped like the mask (``(seq_length, batch_size)``, or
            ``(batch_size, seq_length)`` with ``batch_first``), on the device of
            ``emissions``: the best tag at every unmasked position, ``-1`` at masked
            positions and throughout a sequence with no allowed path.

        Raises
        ------
        TypeError
            If ``emissions`` is not a floating-point tensor or ``mask`` not a tensor.
        ValueError
            As :meth:`decode`.

        Examples
        --------
        >>> import torch
        >>> from fastseq.torch import CRF
        >>> _ = torch.manual_seed(0)
        >>> crf = CRF(3, batch_first=True)
        >>> emissions = torch.randn(2, 4, 3)
        >>> mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
        >>> crf.decode_tensor(emissions, mask=mask)
        tensor([[ 0,  1,  2,  2],
                [ 0,  2, -1, -1]])
        """
        self._validate(emissions, mask=mask)
        em_bf, _, mask_bf = self._batch_first(emissions, None, mask)
        if self._use_c(emissions):
            out = self._c_viterbi(em_bf, mask_bf)
        else:
            with torch.no_grad():
                em, _, valid, lengths, offsets, shifted, tr, st, en = self._torch_inputs(
                    em_bf, mask_bf)
                out = _torch_viterbi(em, valid, lengths, tr, st, en)
                if shifted:
                    out = _align(out, offsets, shift=-1)
        return out if self.batch_first else out.transpose(0, 1)

    def _c_viterbi(self, em_bf, mask_bf) -> torch.Tensor:
        em, tr, st, en = self._detached(em_bf)
        op = _crf_viterbi_impl if _eager(em_bf) else _crf_viterbi
        return op(em, tr, st, en, mask_bf, self.n_threads)

    def _detached(self, em_bf) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        # detached inputs rather than no_grad(): a traced graph stays flat
        return (em_bf.detach(), *(x.detach() for x in self._scores()))

    def stream(self, *, max_lag: Optional[int] = None,
               n_streams: Optional[int] = None) -> OnlineViterbi:
        """An online Viterbi decoder with this CRF's scores (and constraints): push one
        emission row at a time, get tags as they become final.

        The numpy side of the module: pushes take ``(num_tags,)`` rows (one per stream for
        ``n_streams``), numpy arrays or CPU tensors, without autograd. Together, the tags
        equal :meth:`decode`'s for the whole sequence. The decoder copies the current
        parameters.

        Parameters
        ----------
        max_lag : int, optional
            Commit each tag at most this many positions late (default: only where every
            path agrees).
        n_streams : int, optional
            Decode this many independent streams together.

        Returns
        -------
        fastseq.stream.OnlineViterbi
            The decoder, at position 0.

        Examples
        --------
        >>> import torch
        >>> from fastseq.torch import CRF
        >>> crf = CRF(3)
        >>> em = torch.randn(6, 3)
        >>> dec = crf.stream()
        >>> tags = [t for row in em for t in dec.push(row).tolist()] + dec.flush().tolist()
        >>> tags == crf.decode(em[:, None])[0]
        True
        """
        tr, st, en = (x.detach().to("cpu", torch.float64).numpy() for x in self._scores())
        return OnlineViterbi(tr, start=st, end=en, max_lag=max_lag, n_streams=n_streams,
                             n_threads=self.n_threads)

    def marginals(self, emissions: torch.Tensor,
                  mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Per-token posterior probabilities ``P(y_t = j | emissions)``.

        Parameters
        ----------
        emissions : torch.Tensor of shape (seq_length, batch_size, num_tags)
            As in :meth:`forward`.
        mask : torch.Tensor of shape (seq_length, batch_size), optional
            As in :meth:`forward`.

        Returns
        -------
        torch.Tensor
            Shaped like ``emissions`` (same layout, device and floating dtype; not
            differentiable): over the tags, each unmasked position sums to 1; masked
            positions (and sequences with no allowed path) are 0.

        Raises
        ------
        TypeError
            If ``emissions`` is not a floating-point tensor or ``mask`` not a tensor.
        ValueError
            If the shapes do not match (see :meth:`forward`), a mask row is not one
            contiguous run, or ``backend="c"`` gets tensors that are not on the CPU. On the
            C kernels also for NaN, ``+inf`` or overflowing scores (see :meth:`forward`).

        Examples
        --------
        >>> import torch
        >>> from fastseq.torch import CRF
        >>> _ = torch.manual_seed(0)
        >>> crf = CRF(3, batch_first=True)
        >>> emissions = torch.randn(2, 4, 3)
        >>> mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
        >>> probs = crf.marginals(emissions, mask=mask)
        >>> probs.shape
        torch.Size([2, 4, 3])
        >>> probs.sum(dim=2).round(decimals=4).tolist()
        [[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0]]
        """
        self._validate(emissions, mask=mask)
        em_bf, _, mask_bf = self._batch_first(emissions, None, mask)
        if self._use_c(emissions):
            em, tr, st, en = self._detached(em_bf)
            op = _crf_marginals_impl if _eager(em_bf) else _crf_marginals
            out = op(em, tr, st, en, mask_bf, self.n_threads)
        else:
            out = self._torch_marginals(em_bf, mask_bf)
        if not self.batch_first:
            out = out.transpose(0, 1).contiguous()
        return out

    def _torch_marginals(self, em_bf, mask_bf):
        with torch.enable_grad():
            em, _, valid, lengths, offsets, shifted, tr, st, en = self._torch_inputs(
                em_bf.detach(), mask_bf)
            tr, st, en = tr.detach(), st.detach(), en.detach()
            em = em.detach().requires_grad_(True)
            log_z = _torch_log_z(em, valid, lengths, tr, st, en)
            finite = torch.isfinite(log_z)
            if em.numel() and bool(finite.any()):
                (node,) = torch.autograd.grad(log_z[finite].sum(), em)
            else:
                node = torch.zeros_like(em)
        node = torch.where(valid[:, :, None] & finite[:, None, None], node,
                           torch.zeros_like(node))
        if shifted:
            node = _align(node, offsets, shift=-1)
        return node.detach()
