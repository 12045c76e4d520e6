"""fastseq.torch.CRF: pytorch-crf compatibility, the C path vs the pure-torch fallback,
gradients, n-best, marginals, constraints, left-padded masks and input errors."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="torch is not installed (pip install 'fastseq[torch]'); "
                    "fastseq.torch.CRF needs it")

import fastseq  # noqa: E402
from fastseq.torch import CRF  # noqa: E402

REDUCTIONS = ("none", "sum", "mean", "token_mean")
LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


@pytest.fixture(scope="module")
def torchcrf():
    return pytest.importorskip(
        "torchcrf", reason="pytorch-crf is not installed (pip install pytorch-crf); "
                           "the equivalence tests compare against it")


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

def gen(seed):
    return torch.Generator().manual_seed(seed)


def problem(B, T, N, *, seed, dtype=torch.float32, batch_first=True, pad="right",
            scale=2.0):
    """Random emissions, tags and mask (batch-first unless told). ``pad``: "none" (all on),
    "right" (first timestep on: what pytorch-crf accepts), "left", "both" (some sequences
    may be empty)."""
    g = gen(seed)
    em = torch.randn(B, T, N, generator=g, dtype=torch.float64).to(dtype) * scale
    tags = torch.randint(0, N, (B, T), generator=g)
    t = torch.arange(T)[None, :]
    if pad == "none":
        mask = torch.ones(B, T, dtype=torch.bool)
    elif pad == "right":
        lengths = torch.randint(1, T + 1, (B,), generator=g)
        lengths[0] = T
        mask = t < lengths[:, None]
    elif pad == "left":
        lengths = torch.randint(1, T + 1, (B,), generator=g)
        mask = t >= (T - lengths)[:, None]
    else:  # both sides, empty sequences allowed
        lengths = torch.randint(0, T + 1, (B,), generator=g)
        off = (torch.rand(B, generator=g) * (T - lengths + 1)).long()
        mask = (t >= off[:, None]) & (t < (off + lengths)[:, None])
    em = em.masked_fill(~mask[:, :, None], 1e6)  # padding garbage must never be read
    tags = tags.masked_fill(~mask, -1)  # ... nor padding tags (pytorch-crf needs valid ones)
    if not batch_first:
        em, tags, mask = em.transpose(0, 1), tags.transpose(0, 1), mask.transpose(0, 1)
    return em, tags, mask


def randomize(crf, seed, scale=1.0):
    g = gen(seed)
    with torch.no_grad():
        for p in crf.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64).to(p.dtype) * scale)
    return crf


def grads(module, em, tags, mask, reduction, weights=None):
    """(llh, d em, d transitions, d start, d end) of llh (weighted when reduction='none')."""
    em = em.detach().clone().requires_grad_(True)
    module.zero_grad()
    llh = module(em, tags, mask=mask, reduction=reduction)
    if reduction == "none":
        w = torch.ones_like(llh) if weights is None else weights.to(llh.dtype)
        (llh * w).sum().backward()
    else:
        llh.backward()
    ps = (module.transitions, module.start_transitions, module.end_transitions)
    return (llh.detach(), em.grad) + tuple(
        torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in ps)


def twin(module, **kw):
    """A copy of ``module`` with the same parameters (and constraints)."""
    other = CRF(module.num_tags, module.batch_first, **kw).to(module.transitions.dtype)
    other.load_state_dict(module.state_dict())
    for name in ("trans_constraint", "start_constraint", "end_constraint"):
        setattr(other, name, getattr(module, name, None))
    return other


def right_align(em, tags, mask):
    """Batch-first left/both-padded inputs -> right-padded copies (same sequences)."""
    B, T, N = em.shape
    em2 = torch.full_like(em, 5e5)
    tags2 = torch.zeros_like(tags)
    mask2 = torch.zeros_like(mask)
    for b in range(B):
        on = torch.nonzero(mask[b]).flatten()
        n = on.numel()
        em2[b, :n] = em[b, on]
        tags2[b, :n] = tags[b, on]
        mask2[b, :n] = True
    return em2, tags2, mask2


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-9,
                                                                          atol=1e-9)


# ---------------------------------------------------------------------------------------------
# equivalence with pytorch-crf
# ---------------------------------------------------------------------------------------------

def test_same_initialisation_and_state_dict(torchcrf):
    torch.manual_seed(123)
    ours = CRF(7, batch_first=True)
    torch.manual_seed(123)
    theirs = torchcrf.CRF(7, batch_first=True)
    for (n1, p1), (n2, p2) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n1 == n2
        assert torch.equal(p1, p2)
        assert p1.abs().max() <= 0.1
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    assert repr(ours) == "CRF(num_tags=7)"
    constrained = CRF(5, constraints=fastseq.allowed_transitions(LABELS, "IOB2"))
    theirs5 = torchcrf.CRF(5)
    theirs5.load_state_dict(constrained.state_dict())  # buffers are not persistent
    constrained.load_state_dict(theirs5.state_dict())


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_loglik_and_grads_match_pytorch_crf_float32(torchcrf, batch_first, reduction):
    for seed, (B, T, N) in enumerate([(6, 9, 5), (3, 1, 4), (8, 13, 9)]):
        theirs = randomize(torchcrf.CRF(N, batch_first=batch_first), seed)
        ours = CRF(N, batch_first=batch_first)
        ours.load_state_dict(theirs.state_dict())
        em, tags, mask = problem(B, T, N, seed=100 + seed, batch_first=batch_first)
        tags = tags.clamp(min=0)  # pytorch-crf indexes the padding tags
        em = em.masked_fill(~mask[..., None], 0.0)  # ... and multiplies padding emissions by 0
        mine = grads(ours, em, tags, mask, reduction)
        ref = grads(theirs, em, tags, mask, reduction)
        assert mine[0].dtype == torch.float32
        torch.testing.assert_close(mine[0], ref[0], rtol=1e-5, atol=0)
        for a, b in zip(mine[1:], ref[1:]):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.filterwarnings("ignore:where received a uint8:UserWarning")  # inside torchcrf
@pytest.mark.parametrize("batch_first", [True, False])
def test_loglik_matches_pytorch_crf_float64_without_mask(torchcrf, batch_first):
    theirs = randomize(torchcrf.CRF(6, batch_first=batch_first).double(), 7)
    ours = twin(theirs)
    em, tags, _ = problem(5, 8, 6, seed=8, dtype=torch.float64, batch_first=batch_first,
                          pad="none")
    for reduction in REDUCTIONS:
        mine = grads(ours, em, tags, None, reduction)
        ref = grads(theirs, em, tags, None, reduction)
        for a, b in zip(mine, ref):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_decode_matches_pytorch_crf(torchcrf, batch_first, backend):
    theirs = randomize(torchcrf.CRF(5, batch_first=batch_first).double(), 3)
    ours = twin(theirs, backend=backend)
    em, _, mask = problem(10, 12, 5, seed=4, dtype=torch.float64, batch_first=batch_first)
    em = em.masked_fill(~mask[..., None], 0.0)
    assert ours.decode(em, mask) == theirs.decode(em, mask)
    assert ours.decode(em) == theirs.decode(em)
    # float32, well-separated scores: identical too
    em32 = (em * 10).round().float()
    assert ours.float().decode(em32, mask) == theirs.float().decode(em32, mask)


# ---------------------------------------------------------------------------------------------
# the C path vs the pure-torch fallback
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pad", ["none", "right", "left", "both"])
@pytest.mark.parametrize("constrained", [False, True])
def test_fallback_equals_c_path(pad, constrained):
    N = len(LABELS)
    cons = fastseq.allowed_transitions(LABELS, "IOB2") if constrained else None
    c = randomize(CRF(N, batch_first=False, constraints=cons).double(), 11)
    t = CRF(N, batch_first=False, constraints=cons, backend="torch").double()
    t.load_state_dict(c.state_dict())
    em, tags, mask = problem(7, 10, N, seed=12, dtype=torch.float64, batch_first=False,
                             pad=pad)
    if constrained:  # gold paths that the constraints allow: decoded ones
        d = c.decode(em, mask)
        tags = torch.zeros_like(tags)
        for b, p in enumerate(d):
            tags[mask[:, b], b] = torch.tensor(p, dtype=torch.int64)
    w = torch.rand(7, generator=gen(1), dtype=torch.float64) + 0.5
    for reduction in REDUCTIONS:
        mine = grads(c, em, tags, mask, reduction, weights=w)
        ref = grads(t, em, tags, mask, reduction, weights=w)
        assert torch.isfinite(mine[0]).all()
        for a, b in zip(mine, ref):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)
    assert c.decode(em, mask) == t.decode(em, mask)
    assert c.decode(em, mask, nbest=4) == t.decode(em, mask, nbest=4)
    torch.testing.assert_close(c.marginals(em, mask), t.marginals(em, mask),
                               rtol=1e-9, atol=1e-9)


def test_fallback_float32_and_forced_on_cpu():
    c = randomize(CRF(4, batch_first=True), 2)
    t = twin(c, backend="torch")
    em, tags, mask = problem(5, 6, 4, seed=3)
    for reduction in REDUCTIONS:
        mine = grads(c, em, tags, mask, reduction)
        ref = grads(t, em, tags, mask, reduction)
        for a, b in zip(mine, ref):
            torch.testing.assert_close(a, b, **tol(torch.float32))
    assert c.decode(em, mask) == t.decode(em, mask)


def test_non_c_dtype_runs_in_torch():
    crf = randomize(CRF(3, batch_first=True), 1)
    em, tags, mask = problem(2, 4, 3, seed=1)
    ref = crf(em, tags, mask)
    half = crf.to(torch.bfloat16)(em.to(torch.bfloat16), tags, mask)
    assert half.dtype == torch.bfloat16
    torch.testing.assert_close(half.float(), ref, rtol=0.05, atol=0.5)


# ---------------------------------------------------------------------------------------------
# gradients
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("pad", ["right", "both"])
def test_gradcheck_c_path_float64(reduction, pad):
    crf = randomize(CRF(3, batch_first=True).double(), 5)
    em, tags, mask = problem(3, 4, 3, seed=6, dtype=torch.float64, pad=pad)
    if pad == "both":
        mask[0] = torch.tensor([False, True, True, False])  # keep one interesting sequence
        tags[0] = tags[0].clamp(min=0)
    em = em.masked_fill(~mask[..., None], 0.0).requires_grad_(True)
    params = {k: v.detach().clone().requires_grad_(True) for k, v in crf.named_parameters()}
    names = list(params)

    def f(e, *ps):
        return torch.func.functional_call(crf, dict(zip(names, ps)), (e, tags),
                                          dict(mask=mask, reduction=reduction))

    assert torch.autograd.gradcheck(f, (em, *params.values()), eps=1e-6, atol=1e-6)


def test_grads_match_fastseq_crf_nll_and_dtypes():
    crf = randomize(CRF(4, batch_first=True), 9)
    em, tags, mask = problem(5, 7, 4, seed=10)
    llh, g_em, g_tr, g_st, g_en = grads(crf, em, tags, mask, "sum")
    lengths = mask.sum(1).numpy()
    nll, g = fastseq.crf_nll(em.numpy(), crf.transitions.detach().numpy(), tags.numpy(),
                             start=crf.start_transitions.detach().numpy(),
                             end=crf.end_transitions.detach().numpy(), lengths=lengths)
    assert llh.dtype == g_em.dtype == g_tr.dtype == torch.float32
    np.testing.assert_allclose(llh.item(), -nll, rtol=1e-6)
    np.testing.assert_allclose(g_em.numpy(), -g.emissions, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(g_tr.numpy(), -g.transitions, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(g_st.numpy(), -g.start, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(g_en.numpy(), -g.end, rtol=1e-6, atol=1e-7)


def test_backward_twice_and_no_grad():
    crf = randomize(CRF(4), 1)
    em, tags, mask = problem(3, 5, 4, seed=2, batch_first=False)
    em.requires_grad_(True)
    llh = crf(em, tags, mask)
    llh.backward(retain_graph=True)
    first = em.grad.clone()
    llh.backward()
    torch.testing.assert_close(em.grad, 2 * first)
    with torch.no_grad():
        again = crf(em, tags, mask)
    torch.testing.assert_close(again, llh.detach(), rtol=1e-6, atol=1e-6)
    # only emissions need a gradient
    for p in crf.parameters():
        p.requires_grad_(False)
    em.grad = None
    crf(em, tags, mask).backward()
    torch.testing.assert_close(em.grad, first)


def test_inplace_edit_before_backward_is_detected():
    crf = CRF(3, batch_first=True)
    em, tags, _ = problem(2, 3, 3, seed=0, pad="none")
    em.requires_grad_(True)
    x = em * 1.0
    llh = crf(x, tags)
    with torch.no_grad():
        x.add_(1.0)
    with pytest.raises(RuntimeError):
        llh.backward()


# ---------------------------------------------------------------------------------------------
# left padding, empty sequences
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["auto", "torch"])
@pytest.mark.parametrize("batch_first", [True, False])
def test_left_and_both_sides_padding_equal_right_aligned(backend, batch_first):
    crf = randomize(CRF(4, batch_first=True, backend=backend).double(), 3)
    for pad in ("left", "both"):
        em, tags, mask = problem(6, 7, 4, seed=20, dtype=torch.float64, pad=pad)
        em_r, tags_r, mask_r = right_align(em, tags, mask)
        crf.batch_first = batch_first

        def lay(x):
            return x if batch_first else x.transpose(0, 1)

        ref = grads(crf, lay(em_r), lay(tags_r), lay(mask_r), "none")
        mine = grads(crf, lay(em), lay(tags), lay(mask), "none")
        torch.testing.assert_close(mine[0], ref[0])
        for a, b in zip(mine[2:], ref[2:]):
            torch.testing.assert_close(a, b)
        g_em, g_em_r = lay(mine[1]), lay(ref[1])
        em_right, _, _ = right_align(g_em, tags, mask)
        em_right = em_right.masked_fill(~mask_r[..., None], 0.0)
        torch.testing.assert_close(em_right, g_em_r)
        assert (g_em[~mask] == 0).all()
        assert crf.decode(lay(em), lay(mask)) == crf.decode(lay(em_r), lay(mask_r))
        assert (crf.decode(lay(em), lay(mask), nbest=3)
                == crf.decode(lay(em_r), lay(mask_r), nbest=3))
        marg = lay(crf.marginals(lay(em), lay(mask)))
        marg_r = lay(crf.marginals(lay(em_r), lay(mask_r)))
        torch.testing.assert_close(right_align(marg, tags, mask)[0].masked_fill(
            ~mask_r[..., None], 0.0), marg_r)
        assert (marg[~mask] == 0).all()


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_empty_sequences(backend):
    crf = randomize(CRF(3, batch_first=True, backend=backend), 0)
    em, tags, _ = problem(3, 4, 3, seed=0, pad="none")
    mask = torch.tensor([[1, 1, 0, 0], [0, 0, 0, 0], [0, 1, 1, 1]], dtype=torch.uint8)
    llh = crf(em, tags, mask, reduction="none")
    assert llh[1].item() == 0.0
    out = crf.decode(em, mask)
    assert [len(p) for p in out] == [2, 0, 3]
    assert crf.decode(em, mask, nbest=2)[1] == [[], []]
    assert (crf.marginals(em, mask)[1] == 0).all()
    tm = crf(em, tags, mask, reduction="token_mean")
    torch.testing.assert_close(tm, llh.sum() / 5)


# ---------------------------------------------------------------------------------------------
# n-best, marginals: against brute force
# ---------------------------------------------------------------------------------------------

def brute(crf, em_b, n):
    """All paths of the first n positions of one batch-first sequence, with scores."""
    tr, st, en = (x.detach().double() for x in crf._scores())
    out = []
    for path in itertools.product(range(crf.num_tags), repeat=n):
        s = st[path[0]] + en[path[-1]] + sum(em_b[t, y] for t, y in enumerate(path))
        s = s + sum(tr[a, b] for a, b in zip(path, path[1:]))
        out.append((float(s), list(path)))
    return out


@pytest.mark.parametrize("backend", ["auto", "torch"])
@pytest.mark.parametrize("constrained", [False, True])
def test_nbest_and_marginals_brute_force(backend, constrained):
    labels = ["O", "B-X", "I-X"]
    cons = fastseq.allowed_transitions(labels, "IOB2") if constrained else None
    crf = randomize(CRF(3, batch_first=True, constraints=cons, backend=backend).double(), 4)
    em, _, mask = problem(4, 5, 3, seed=5, dtype=torch.float64, pad="right")
    k = 6
    best = crf.decode(em, mask, nbest=k)
    marg = crf.marginals(em, mask)
    assert len(best) == 4
    for b in range(4):
        n = int(mask[b].sum())
        paths = [(s, p) for s, p in brute(crf, em[b].double(), n) if s > -np.inf]
        paths.sort(key=lambda sp: -sp[0])
        assert len(best[b]) == k and all(len(p) == n for p in best[b])
        want = [p for _, p in paths[:k]] + [[-1] * n] * max(0, k - len(paths))
        assert best[b] == want
        assert best[b][0] == crf.decode(em, mask)[b]
        scores = torch.tensor([s for s, _ in paths], dtype=torch.float64)
        probs = torch.softmax(scores, 0)
        node = torch.zeros(5, 3, dtype=torch.float64)
        for pr, (_, p) in zip(probs, paths):
            node[torch.arange(n), torch.tensor(p)] += pr
        torch.testing.assert_close(marg[b], node, rtol=1e-9, atol=1e-12)
    valid = mask[..., None].expand_as(marg)
    torch.testing.assert_close(marg.sum(-1)[mask], torch.ones(int(mask.sum()),
                                                               dtype=torch.float64))
    assert (marg[~valid] == 0).all()


def test_nbest_float32_distinct_and_ordered():
    crf = randomize(CRF(5), 6)
    em, _, mask = problem(6, 8, 5, seed=7, batch_first=False)
    out = crf.decode(em, mask, nbest=5)
    tr, st, en = (x.detach().numpy() for x in crf._scores())
    e = em.transpose(0, 1).numpy()
    lengths = mask.sum(0).numpy()
    for b, paths in enumerate(out):
        assert len({tuple(p) for p in paths}) == 5
        s = [fastseq.sequence_score(e[b, :lengths[b]], tr, np.array(p), start=st, end=en)
             for p in paths]
        assert all(x >= y - 1e-4 for x, y in zip(s, s[1:]))
        assert paths[0] == crf.decode(em, mask)[b]


def test_marginals_match_fastseq_and_layout():
    crf = randomize(CRF(4, batch_first=False), 8)
    em, _, mask = problem(3, 6, 4, seed=9, batch_first=False)
    m = crf.marginals(em, mask)
    assert m.shape == em.shape and m.dtype == em.dtype and not m.requires_grad
    node = fastseq.marginals(em.transpose(0, 1).numpy(), crf.transitions.detach().numpy(),
                             start=crf.start_transitions.detach().numpy(),
                             end=crf.end_transitions.detach().numpy(),
                             lengths=mask.sum(0).numpy()).node
    np.testing.assert_allclose(m.transpose(0, 1).numpy(), node, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# constraints
# ---------------------------------------------------------------------------------------------

def legal(path, masks):
    trans, start, end = masks
    if not path:
        return True
    return (bool(start[path[0]]) and bool(end[path[-1]])
            and all(trans[a, b] for a, b in zip(path, path[1:])))


@pytest.mark.parametrize("scheme", ["IOB2", "IOBES"])
@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_constraints_forbid_illegal_moves(scheme, backend):
    labels = (LABELS if scheme == "IOB2"
              else ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC",
                    "S-LOC"])
    masks = fastseq.allowed_transitions(labels, scheme)
    N = len(labels)
    crf = randomize(CRF(N, batch_first=True, constraints=masks, backend=backend), 1, 3.0)
    assert [n for n, _ in crf.named_parameters()] == ["start_transitions", "end_transitions",
                                                      "transitions"]
    assert {n for n, _ in crf.named_buffers()} >= {"trans_constraint", "start_constraint"}
    em, _, mask = problem(32, 10, N, seed=2, pad="both", scale=4.0)
    # emissions that love I- tags: unconstrained decoding would be ill-formed
    inside = torch.tensor([lab.startswith("I-") for lab in labels])
    em = em + 6.0 * inside
    plain = CRF(N, batch_first=True)
    plain.load_state_dict(crf.state_dict())
    assert not all(legal(p, masks) for p in plain.decode(em, mask))
    for p in crf.decode(em, mask):
        assert legal(p, masks)
    for paths in crf.decode(em, mask, nbest=3):
        for p in paths:
            assert legal(p, masks) or set(p) == {-1}
    # an illegal gold path has probability 0; marginals of forbidden starts are 0
    tags = torch.zeros(32, 10, dtype=torch.int64)
    tags[:, 0] = labels.index("I-PER")
    llh = crf(em, tags, reduction="none")
    assert torch.isneginf(llh).all()
    marg = crf.marginals(em)
    assert (marg[:, 0, ~torch.as_tensor(masks[1])] == 0).all()


def test_constraints_follow_dtype_and_device_moves():
    crf = CRF(5, constraints=fastseq.allowed_transitions(LABELS, "IOB2")).double()
    assert crf.trans_constraint.dtype == torch.float64
    assert torch.isneginf(crf.trans_constraint).sum() > 0
    assert crf.end_constraint is None  # IOB2 may end anywhere: nothing to add


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------

def test_bad_input_errors():
    crf = CRF(4, batch_first=True)
    em, tags, mask = problem(2, 5, 4, seed=0)
    with pytest.raises(ValueError, match="invalid number of tags"):
        CRF(0)
    with pytest.raises(TypeError, match="num_tags"):
        CRF(2.5)
    with pytest.raises(ValueError, match="dimension of 3"):
        crf(em[0], tags[0])
    with pytest.raises(ValueError, match="last dimension"):
        crf(em[..., :3], tags)
    with pytest.raises(ValueError, match="emissions and tags"):
        crf(em, tags[:, :4])
    with pytest.raises(ValueError, match="emissions and mask"):
        crf(em, tags, mask[:, :4])
    with pytest.raises(ValueError, match="invalid reduction"):
        crf(em, tags, reduction="max")
    with pytest.raises(TypeError, match="tags"):
        crf(em, tags.float())
    with pytest.raises(ValueError, match="tags"):
        crf(em, torch.full_like(tags, 4))
    holes = torch.tensor([[1, 0, 1, 1, 1], [1, 1, 1, 1, 1]], dtype=torch.bool)
    for backend in ("auto", "torch"):
        crf.backend = backend
        with pytest.raises(ValueError, match="contiguous"):
            crf(em, tags.clamp(min=0), holes)
        with pytest.raises(ValueError, match="contiguous"):
            crf.decode(em, holes)
        with pytest.raises(ValueError, match="contiguous"):
            crf.marginals(em, holes)
        with pytest.raises(ValueError, match="tags"):
            crf(em, torch.full_like(tags, 7))
    with pytest.raises(ValueError, match="nbest"):
        crf.decode(em, nbest=0)
    with pytest.raises(TypeError, match="nbest"):
        crf.decode(em, nbest="2")
    with pytest.raises(ValueError, match="backend"):
        crf.backend = "cuda"
    with pytest.raises(ValueError, match="constraints"):
        CRF(4, constraints=fastseq.allowed_transitions(LABELS, "IOB2"))
    with pytest.raises(ValueError, match="constraints"):
        CRF(4, constraints=np.ones((4, 4), bool))
    with pytest.raises(TypeError, match="constraints"):
        CRF(2, constraints=(np.ones((2, 2)), None, None))
    with pytest.raises(ValueError, match="n_threads"):
        CRF(2, n_threads=0)
    with pytest.raises(ValueError, match="NaN"):
        crf.backend = "auto"
        crf(em.masked_fill(mask[..., None], float("nan")), tags.clamp(min=0), mask)


def test_torch_func_transforms_use_the_fallback():
    crf = randomize(CRF(4, batch_first=True).double(), 2)
    em, tags, mask = problem(3, 5, 4, seed=3, dtype=torch.float64)
    g = torch.func.grad(lambda e: crf(e, tags, mask))(em)
    ref = grads(crf, em, tags, mask, "sum")[1]
    torch.testing.assert_close(g, ref)


def test_no_grad_forward_builds_no_graph():
    crf = CRF(4)
    em, tags, mask = problem(3, 5, 4, seed=3, batch_first=False)
    with torch.no_grad():
        out = crf(em, tags, mask, reduction="none")
    assert not out.requires_grad and out.shape == (3,)
    torch.testing.assert_close(out, crf(em, tags, mask, reduction="none").detach())
