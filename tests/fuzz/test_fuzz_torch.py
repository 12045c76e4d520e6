"""Property-based fuzzing of :class:`fastseq.torch.CRF` (forward, backward, decode, n-best,
marginals) on tiny batches.

Cases: float32 / float64 emissions (and parameters, possibly of the other dtype), time- or
batch-first, every backend (``auto``: the C kernels; ``torch``: pure torch), optional
scheme constraints, masks of every shape the CRF accepts (none, all on, right / left /
both-sides padding, all-off rows), an empty batch or empty sequences, -inf scores,
non-contiguous tensor views, and one bad argument in the ``bad_argument`` runs. Oracles:

* ``fastseq._reference`` on each sequence's selected positions (log-likelihoods, best and
  k best path scores, marginals);
* the same module on the other backend (gradients, with uniform and non-uniform weights);
* ``torchcrf`` (pytorch-crf) where it defines the answer: no constraints, finite scores,
  masks that keep the first timestep of every sequence and pad on the right.

Errors must be documented ones naming the argument in backticks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import pytest
import strategies as S
from hypothesis import given, note
from hypothesis import strategies as st

import fastseq
from fastseq import _reference as ref

torch = pytest.importorskip("torch", reason="torch is not installed; fastseq.torch needs it")
from fastseq.torch import CRF  # noqa: E402

LABELS = ["O", "B-A", "I-A", "B-B"]
PADS = ("none", "full", "right", "left", "both", "empty_rows")
REDUCTIONS = ("none", "sum", "mean", "token_mean")
CORRUPTIONS = ("em_2d", "em_4d", "em_num_tags", "em_int", "em_list", "tags_float",
               "tags_shape", "tags_range", "mask_shape", "mask_gap", "mask_list", "reduction",
               "nbest", "em_nan")


@dataclass
class Case:
    N: int
    batch_first: bool
    backend: str
    constrained: bool
    em: Any  # as passed (time-first unless batch_first)
    tags: Any
    mask: Any
    params: Tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # transitions, start, end
    reduction: Any = "sum"
    nbest: Any = None
    weights: Optional[torch.Tensor] = None  # per-sequence loss weights (None: reduction)
    notes: List[str] = field(default_factory=list)

    def crf(self, backend: Optional[str] = None) -> CRF:
        cons = fastseq.allowed_transitions(LABELS[:self.N], "IOB2") if self.constrained \
            else None
        crf = CRF(self.N, self.batch_first, constraints=cons, backend=backend or self.backend)
        crf = crf.to(self.params[0].dtype)
        with torch.no_grad():
            crf.transitions.copy_(self.params[0])
            crf.start_transitions.copy_(self.params[1])
            crf.end_transitions.copy_(self.params[2])
        return crf


def _view(t: torch.Tensor, how: str) -> torch.Tensor:
    """The same values as a non-contiguous view, or as they are."""
    if how == "transposed" and t.dim() >= 2:
        return t.transpose(0, 1).contiguous().transpose(0, 1)
    if how == "strided" and t.dim() >= 1:
        big = torch.zeros((2 * t.shape[0],) + tuple(t.shape[1:]), dtype=t.dtype)
        big[::2] = t
        return big[::2]
    return t


@st.composite
def cases(draw, bad: bool = False) -> Case:
    N = draw(st.integers(1, 4))
    T = draw(st.integers(0, 4))
    B = draw(st.integers(0, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from((torch.float32, torch.float64)))
    pdtype = draw(st.sampled_from((dtype, dtype, dtype, torch.float32, torch.float64)))
    pad = draw(st.sampled_from(PADS))
    # which positions of each (batch-first) row are on
    n = rng.integers(0, T + 1, size=B)
    off = np.zeros(B, dtype=np.int64)
    if pad in ("none", "full"):
        n[:] = T
    elif pad == "right" and B:
        n = rng.integers(min(1, T), T + 1, size=B)
    elif pad == "left":
        off = T - n
    elif pad == "both":
        off = (rng.random(B) * (T - n + 1)).astype(np.int64)
    elif pad == "empty_rows" and B:
        n[int(rng.integers(0, B))] = 0
    t = np.arange(T)[None, :]
    on = (t >= off[:, None]) & (t < (off + n)[:, None])
    kind = draw(st.sampled_from(("normal",) * 6 + ("neg_inf_some", "neg_inf_row", "integral")))
    em = S.fill(rng, (B, T, N), kind, np.float64)
    garbage = draw(st.sampled_from((1e6, 0.0, np.nan, -np.inf)))
    em[~on] = garbage  # never read
    tags = rng.integers(0, N, size=(B, T))
    tags[~on] = draw(st.sampled_from((0, -1, 10**6)))
    mask_dtype = draw(st.sampled_from((torch.bool, torch.bool, torch.uint8)))
    mask = None if pad == "none" else torch.from_numpy(on).to(mask_dtype)
    params = tuple(torch.from_numpy(S.fill(rng, shape, draw(st.sampled_from(
        ("normal",) * 5 + ("neg_inf_some",))), np.float64)).to(pdtype)
        for shape in ((N, N), (N,), (N,)))
    batch_first = draw(st.booleans())
    em_t = torch.from_numpy(em).to(dtype)
    tags_t = torch.from_numpy(tags)
    if not batch_first:
        em_t, tags_t = em_t.transpose(0, 1), tags_t.transpose(0, 1)
        mask = None if mask is None else mask.transpose(0, 1)
    em_t = _view(em_t.contiguous(), draw(st.sampled_from(("C", "transposed", "strided"))))
    tags_t = _view(tags_t.contiguous(), draw(st.sampled_from(("C", "transposed"))))
    case = Case(N, batch_first, draw(st.sampled_from(("auto", "auto", "torch", "c"))),
                draw(st.booleans()), em_t, tags_t, mask, params,
                reduction=draw(st.sampled_from(REDUCTIONS)),
                nbest=draw(st.sampled_from((None, None, 1, 2, 3, 5))))
    if draw(st.booleans()) and B:
        case.weights = torch.from_numpy(rng.uniform(0.5, 2.0, size=B)).to(dtype)
    case.notes.append(f"pad={pad} values={kind} garbage={garbage}")
    if bad:
        what = draw(st.sampled_from(CORRUPTIONS))
        _corrupt(case, what, rng)
        case.notes.append(f"corruption: {what}")
    return case


def _corrupt(case: Case, what: str, rng: np.random.Generator) -> None:
    em = case.em
    if what == "em_2d":
        case.em = em.reshape(-1, em.shape[-1])
    elif what == "em_4d":
        case.em = em[None]
    elif what == "em_num_tags":
        case.em = torch.cat([em, em[..., :1]], dim=-1)
    elif what == "em_int":
        case.em = torch.nan_to_num(em, nan=0.0, posinf=0.0, neginf=0.0).to(torch.int64)
    elif what == "em_list":
        case.em = em.tolist()
    elif what == "tags_float":
        case.tags = case.tags.to(torch.float64)
    elif what == "tags_shape":
        case.tags = case.tags[:, :-1] if case.tags.shape[1] else case.tags[:, None]
    elif what == "tags_range":
        on = _on(case)
        if on.any():
            idx = np.argwhere(on)[int(rng.integers(0, int(on.sum())))]
            tags = _bf(case, case.tags).clone()
            tags[tuple(idx)] = case.N if rng.random() < 0.5 else -1
            case.tags = tags if case.batch_first else tags.transpose(0, 1)
    elif what == "mask_shape":
        m = torch.ones(em.shape[:2], dtype=torch.bool)
        case.mask = torch.cat([m, m[:, :1]], dim=1)
    elif what == "mask_gap":
        if em.shape[0] >= 3 and em.shape[1]:
            m = torch.ones(em.shape[:2], dtype=torch.bool)
            m[1] = False  # an off position between two on ones, in every sequence
            case.mask = m
    elif what == "mask_list":
        case.mask = torch.ones(em.shape[:2], dtype=torch.bool).tolist()
    elif what == "reduction":
        case.reduction = str(rng.choice(["max", "SUM", "", "elementwise_mean"]))
    elif what == "nbest":
        case.nbest = [0, -1, 1.5, "2", True][int(rng.integers(0, 5))]
    elif what == "em_nan":
        on = _on(case)
        if on.any():
            idx = np.argwhere(on)[int(rng.integers(0, int(on.sum())))]
            e = _bf(case, case.em).clone()
            e[tuple(idx) + (0,)] = float("nan")
            case.em = e if case.batch_first else e.transpose(0, 1)


def _bf(case: Case, x: torch.Tensor) -> torch.Tensor:
    return x if case.batch_first else x.transpose(0, 1)


def _on(case: Case) -> np.ndarray:
    """The (batch-first) positions the mask selects."""
    em = _bf(case, case.em)
    if case.mask is None:
        return np.ones(tuple(em.shape[:2]), dtype=bool)
    return _bf(case, case.mask).numpy().astype(bool)


# ---------------------------------------------------------------------------------------------
# the contract
# ---------------------------------------------------------------------------------------------

def expectation(case: Case, method: str) -> S.Expect:
    """The errors ``case`` justifies for ``method`` ("forward", "decode", "marginals")."""
    ex = S.Expect()
    em, tags, mask = case.em, case.tags, case.mask
    if not isinstance(em, torch.Tensor):
        ex.error(TypeError, "emissions")
        return ex
    if em.dim() != 3 or em.shape[2] != case.N:
        ex.error(ValueError, "emissions")
        return ex
    if not em.is_floating_point():
        ex.error(TypeError, "emissions")
    if method == "forward":
        if tags.is_floating_point():
            ex.error(TypeError, "tags")
        if tuple(tags.shape) != tuple(em.shape[:2]):
            ex.error(ValueError, "tags")
        if case.reduction not in REDUCTIONS:
            ex.error(ValueError, "reduction")
    if method == "decode":
        nb = case.nbest
        if nb is not None and not S.is_int(nb):
            ex.error(TypeError, "nbest")
        elif nb is not None and nb < 1:
            ex.error(ValueError, "nbest")
    if mask is not None:
        if not isinstance(mask, torch.Tensor):
            ex.error(TypeError, "mask")
            return ex
        if tuple(mask.shape) != tuple(em.shape[:2]):
            ex.error(ValueError, "mask")
            return ex
        m = _bf(case, mask).numpy().astype(bool)
        n = m.sum(1)
        first = m.argmax(1) if m.shape[1] else n
        if any(n[b] and not m[b, first[b]:first[b] + n[b]].all() for b in range(len(n))):
            ex.error(ValueError, "mask")
    if ex.must_raise:
        return ex
    on = _on(case)
    if method == "forward":
        tg = _bf(case, tags).numpy()
        if ((tg[on] < 0) | (tg[on] >= case.N)).any():
            ex.error(ValueError, "tags")
    e = _bf(case, em).detach().to(torch.float64).numpy()
    if np.isnan(e[on]).any() or np.isposinf(e[on]).any():
        # the C kernels refuse them; pure torch propagates them
        (ex.maybe if case.backend == "torch" else ex.error)(ValueError, "emissions")
    return ex


# ---------------------------------------------------------------------------------------------
# oracles
# ---------------------------------------------------------------------------------------------

class Oracle:
    """Per-sequence answers of ``fastseq._reference`` (float64)."""

    def __init__(self, case: Case) -> None:
        self.case = case
        crf = case.crf("torch")
        tr, st_, en = (x.detach().to(torch.float64).numpy() for x in crf._scores())
        self.tr, self.st, self.en = tr, st_, en
        self.on = _on(case)
        em = _bf(case, case.em).detach().to(torch.float64).numpy()
        self.seqs = [em[b, self.on[b]] for b in range(em.shape[0])]
        self.dtype = torch.promote_types(case.em.dtype, case.params[0].dtype)
        np_dtype = np.float32 if self.dtype == torch.float32 else np.float64
        self.tol = dict(S.tol_for(np_dtype))
        # widened by a few ulps of the largest score a sum runs over (float32 holds 1e6 to
        # within 0.06): a path's score adds T + 2 of them
        values = np.concatenate([x.ravel() for x in self.seqs] + [tr.ravel(), st_, en])
        values = values[np.isfinite(values)]
        if values.size:
            T = max((len(x) for x in self.seqs), default=0)
            self.tol["atol"] += 8 * np.finfo(np_dtype).eps * np.abs(values).max() * (T + 2)

    def kw(self) -> Dict[str, Any]:
        return dict(start=self.st, end=self.en)

    def llh(self) -> np.ndarray:
        tags = _bf(self.case, self.case.tags).numpy()
        out = []
        for b, em in enumerate(self.seqs):
            tg = tags[b, self.on[b]].astype(np.int64)
            gold = ref.sequence_score(em, self.tr, tg, **self.kw())
            log_z = ref.log_partition(em, self.tr, **self.kw())
            out.append(-np.inf if gold == -np.inf else gold - log_z)
        return np.array(out, dtype=np.float64)

    def rescore(self, b: int, path: List[int]) -> float:
        return float(ref.sequence_score(self.seqs[b], self.tr, np.array(path, np.int64),
                                        **self.kw()))

    def close(self, what: str, a: Any, e: Any) -> None:
        a = np.asarray(a, dtype=np.float64)
        e = np.asarray(e, dtype=np.float64)
        assert not np.isnan(a).any(), f"{what}: NaN in {a!r} (expected {e!r})"
        assert np.array_equal(np.isinf(a), np.isinf(e)) and np.array_equal(
            a[np.isinf(a)], e[np.isinf(e)]), f"{what}: {a!r}, expected {e!r}"
        fin = np.isfinite(e)
        np.testing.assert_allclose(a[fin], e[fin], err_msg=what, **self.tol)


def reduce(llh: np.ndarray, reduction: str, n_tokens: int) -> float:
    if reduction == "sum":
        return float(llh.sum())
    if reduction == "mean":
        return float(llh.mean()) if llh.size else float("nan")  # torch.mean of nothing
    return float(llh.sum() / max(n_tokens, 1))  # token_mean; no tokens: no loss


def loss_grads(crf: CRF, case: Case) -> Tuple[torch.Tensor, List[torch.Tensor]]:
    """The module's output and the gradients of its (weighted) loss wrt emissions and the
    three parameters."""
    crf.zero_grad()
    em = case.em.detach().clone().requires_grad_(True)
    red = "none" if case.weights is not None else case.reduction
    out = crf(em, case.tags, mask=case.mask, reduction=red)
    loss = (out * case.weights.to(out.dtype)).sum() if case.weights is not None else out.sum()
    if loss.requires_grad and torch.isfinite(loss).all():
        loss.backward()
    ps = (em, crf.transitions, crf.start_transitions, crf.end_transitions)
    return out.detach(), [torch.zeros_like(p) if p.grad is None else p.grad for p in ps]


def check_forward(case: Case, oracle: Oracle) -> None:
    crf = case.crf()
    out, grads = loss_grads(crf, case)
    assert out.dtype == oracle.dtype, f"output dtype {out.dtype}, expected {oracle.dtype}"
    llh = oracle.llh()
    if case.weights is not None:
        oracle.close("llh", out.numpy(), llh)
    else:
        want = reduce(llh, case.reduction, int(oracle.on.sum())) if case.reduction != "none" \
            else llh
        if case.reduction == "mean" and not llh.size:
            assert out.isnan().all() and out.shape == (), f"mean of no sequences: {out}"
        else:
            oracle.close(f"llh ({case.reduction})", out.numpy(), want)
    for g in grads:
        assert torch.isfinite(g).all(), f"non-finite gradient {g}"
    # the other backend: the same values and gradients
    other = case.crf("torch" if case.backend != "torch" else "auto")
    out2, grads2 = loss_grads(other, case)
    kw = dict(rtol=oracle.tol["rtol"] * 10, atol=oracle.tol["atol"] * 10, equal_nan=True)
    torch.testing.assert_close(out, out2.to(out.dtype), **kw)
    for name, a, b in zip(("emissions", "transitions", "start", "end"), grads, grads2):
        torch.testing.assert_close(a, b.to(a.dtype), msg=lambda m, n=name: f"grad {n}: {m}",
                                   **kw)
    if _torchcrf_defined(case):
        theirs = _torchcrf(case)
        if torch.float32 in (case.em.dtype, case.params[0].dtype):  # pytorch-crf mixes them
            kw.update(rtol=1e-4, atol=1e-4)
        out3, grads3 = loss_grads(theirs, _clean(case))
        out4, grads4 = loss_grads(crf, _clean(case))
        torch.testing.assert_close(out4, out3.to(out4.dtype), **kw)
        for name, a, b in zip(("emissions", "transitions", "start", "end"), grads4, grads3):
            torch.testing.assert_close(a, b.to(a.dtype),
                                       msg=lambda m, n=name: f"torchcrf grad {n}: {m}", **kw)


def check_decode(case: Case, oracle: Oracle) -> None:
    crf = case.crf()
    out = crf.decode(case.em, mask=case.mask, nbest=case.nbest)
    B = len(oracle.seqs)
    assert isinstance(out, list) and len(out) == B, f"decode: {out!r} for {B} sequences"
    for b, em in enumerate(oracle.seqs):
        n = em.shape[0]
        if case.nbest is None:
            path = out[b]
            assert isinstance(path, list) and len(path) == n, f"decode[{b}]: {path!r}"
            best = float(ref.viterbi(em, oracle.tr, **oracle.kw())[1])
            if best == -np.inf:
                assert path == [-1] * n, f"decode[{b}]: no allowed path, got {path}"
            else:
                oracle.close(f"decode[{b}] score", oracle.rescore(b, path), best)
            continue
        k = int(case.nbest)
        paths = out[b]
        assert isinstance(paths, list) and len(paths) == k, f"decode[{b}] nbest: {paths!r}"
        scores = np.atleast_1d(ref.kbest(em, oracle.tr, k, **oracle.kw())[1])
        seen = set()
        for r, (p, s) in enumerate(zip(paths, scores)):
            assert isinstance(p, list) and len(p) == n, f"decode[{b}][{r}]: {p!r}"
            if s == -np.inf:
                assert p == [-1] * n, f"decode[{b}][{r}]: missing path, got {p}"
                continue
            oracle.close(f"decode[{b}][{r}] score", oracle.rescore(b, p), s)
            assert tuple(p) not in seen, f"decode[{b}]: {p} twice"
            seen.add(tuple(p))


def check_marginals(case: Case, oracle: Oracle) -> None:
    crf = case.crf()
    out = crf.marginals(case.em, mask=case.mask)
    assert out.shape == case.em.shape and out.dtype == oracle.dtype, (
        f"marginals: {tuple(out.shape)} {out.dtype}")
    got = _bf(case, out).to(torch.float64).numpy()
    want = np.zeros_like(got)
    for b, em in enumerate(oracle.seqs):
        want[b, oracle.on[b]] = ref.marginals(em, oracle.tr, **oracle.kw()).node
    oracle.close("marginals", got, want)


def _torchcrf_defined(case: Case) -> bool:
    """pytorch-crf defines the answer: no constraints, finite scores, the first timestep
    of every sequence on and right padding, no empty batch dimension."""
    em = _bf(case, case.em)
    if case.constrained or em.shape[0] == 0 or em.shape[1] == 0:
        return False
    on = _on(case)
    if not on[:, 0].all() or not (on[:, 1:] <= on[:, :-1]).all():
        return False
    values = [em.detach()[torch.from_numpy(on)]] + [p.detach() for p in case.params]
    return all(bool(torch.isfinite(v).all()) for v in values)


def _clean(case: Case) -> Case:
    """The case with what pytorch-crf reads of the padding made harmless (it multiplies
    padding emissions by 0 and indexes with padding tags)."""
    on = torch.from_numpy(_on(case))
    em = _bf(case, case.em).masked_fill(~on[..., None], 0.0)
    tags = _bf(case, case.tags).masked_fill(~on, 0)
    if not case.batch_first:
        em, tags = em.transpose(0, 1), tags.transpose(0, 1)
    return Case(case.N, case.batch_first, case.backend, False, em, tags, case.mask,
                case.params, case.reduction, case.nbest, case.weights)


def _torchcrf(case: Case):
    import warnings

    torchcrf = pytest.importorskip("torchcrf", reason="pytorch-crf is not installed")
    theirs = torchcrf.CRF(case.N, batch_first=case.batch_first).to(case.params[0].dtype)
    with torch.no_grad():
        theirs.transitions.copy_(case.params[0])
        theirs.start_transitions.copy_(case.params[1])
        theirs.end_transitions.copy_(case.params[2])
    warnings.filterwarnings("ignore", "where received a uint8", UserWarning)
    return theirs


def check_case(case: Case) -> None:
    crf = case.crf()
    calls = {"forward": lambda: crf(case.em, case.tags, mask=case.mask,
                                    reduction=case.reduction),
             "decode": lambda: crf.decode(case.em, mask=case.mask, nbest=case.nbest),
             "marginals": lambda: crf.marginals(case.em, mask=case.mask)}
    checks = {"forward": check_forward, "decode": check_decode,
              "marginals": check_marginals}
    for method, fn in calls.items():
        expect = expectation(case, method)
        if not S.check_outcome(S.call(fn), expect) or expect.optional:
            continue  # raised as it should, or NaN / +inf scores that pure torch propagates
        checks[method](case, Oracle(case))


@pytest.mark.parametrize("bad", [False, True], ids=["any", "bad_argument"])
def test_fuzz_torch_crf(fuzz, bad):
    """fastseq.torch.CRF agrees with the reference, its other backend and pytorch-crf, or
    raises a documented error."""

    @given(cases(bad=bad))
    def check(case):
        fuzz.count()
        note(f"backend={case.backend} batch_first={case.batch_first} "
             f"constrained={case.constrained} {case.notes}")
        check_case(case)

    fuzz.run(check)
