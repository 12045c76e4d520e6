"""fastseq.torch.CRF under torch.compile and torch.export: the C kernels are torch.library
custom ops (``torch.ops.fastseq.*``), so a compiled model has no graph break at the CRF and
an exported program holds one node per kernel call; results and gradients equal eager mode
(and the pure-torch implementation)."""
from __future__ import annotations

import shutil

import pytest

torch = pytest.importorskip(
    "torch", reason="torch is not installed (pip install 'fastseq[torch]'); "
                    "fastseq.torch.CRF needs it")

import fastseq  # noqa: E402
from fastseq.torch import CRF  # noqa: E402

LABELS = ["O", "B-X", "I-X"]


def inputs(B=4, T=6, N=3, *, seed=0, dtype=torch.float32, batch_first=True):
    """Emissions, tags and a mask with right, left and both-sides padding and an empty row."""
    g = torch.Generator().manual_seed(seed)
    em = torch.randn(B, T, N, generator=g, dtype=torch.float64).to(dtype) * 2
    tags = torch.randint(0, N, (B, T), generator=g)
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[1, T - 2:] = False
    mask[2, :2] = False
    mask[3] = False
    if not batch_first:
        em, tags, mask = em.transpose(0, 1), tags.transpose(0, 1), mask.transpose(0, 1)
    return em, tags, mask


def make_crf(batch_first=True, constrained=True, dtype=torch.float32, **kw):
    cons = fastseq.allowed_transitions(LABELS, "IOB2") if constrained else None
    crf = CRF(3, batch_first=batch_first, constraints=cons, **kw).to(dtype)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in crf.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64).to(dtype))
    return crf


class Tagger(torch.nn.Module):
    """A linear layer and a CRF: the loss, the decoded tags and the marginals."""

    def __init__(self, batch_first=True, reduction="mean"):
        super().__init__()
        self.lin = torch.nn.Linear(3, 3)
        self.crf = make_crf(batch_first)
        self.reduction = reduction

    def forward(self, x, tags, mask):
        em = self.lin(x)
        llh = self.crf(em, tags, mask, reduction=self.reduction)
        return llh, self.crf.decode_tensor(em, mask), self.crf.marginals(em, mask)


def run(model, x, tags, mask, weights):
    """Outputs and parameter gradients of ``sum(weights * llh)``."""
    model.zero_grad()
    llh, paths, marg = model(x, tags, mask)
    (llh * weights).sum().backward()
    return [llh.detach(), paths, marg] + [p.grad.clone() for p in model.parameters()]


def assert_same(a, b):
    for u, v in zip(a, b):
        torch.testing.assert_close(u, v, rtol=1e-5, atol=1e-6)


def test_no_graph_break_at_the_crf():
    model = Tagger()
    x, tags, mask = inputs()
    torch._dynamo.reset()
    explained = torch._dynamo.explain(model)(x, tags, mask)
    assert explained.graph_break_count == 0 and explained.graph_count == 1
    ops = {str(n.target) for g in explained.graphs for n in g.graph.nodes}
    assert {"fastseq.crf_llh.default", "fastseq.crf_viterbi.default",
            "fastseq.crf_marginals.default"} <= ops


@pytest.mark.parametrize("backend, batch_first, reduction", [
    ("eager", False, "none"), ("aot_eager", True, "none"), ("aot_eager", False, "mean")])
def test_compiled_equals_eager(backend, batch_first, reduction):
    model = Tagger(batch_first, reduction)
    x, tags, mask = inputs(batch_first=batch_first)
    # per-sequence weights: the backward that rebuilds weighted parameter gradients
    weights = torch.tensor([1.0, -2.0, 0.5, 3.0]) if reduction == "none" else torch.ones(())
    ref = run(model, x, tags, mask, weights)
    torch._dynamo.reset()
    compiled = torch.compile(model, backend=backend, fullgraph=True)
    assert_same(run(compiled, x, tags, mask, weights), ref)
    # and the pure-torch implementation agrees
    model.crf.backend = "torch"
    assert_same(run(model, x, tags, mask, weights), ref)


@pytest.mark.skipif(shutil.which("c++") is None and shutil.which("g++") is None,
                    reason="the inductor backend needs a C++ compiler")
def test_compiled_inductor_equals_eager():
    model = Tagger()
    x, tags, mask = inputs()
    ref = run(model, x, tags, mask, torch.ones(()))
    torch._dynamo.reset()
    compiled = torch.compile(model, backend="inductor", fullgraph=True)
    assert_same(run(compiled, x, tags, mask, torch.ones(())), ref)


def test_compiled_dynamic_shapes():
    crf = make_crf()
    f = torch.compile(lambda e, t, m: crf(e, t, m, reduction="token_mean"),
                      backend="aot_eager", dynamic=True, fullgraph=True)
    torch._dynamo.reset()
    for B, T in ((4, 6), (5, 9)):
        em, tags, mask = inputs(B, T, seed=B)
        torch.testing.assert_close(f(em, tags, mask), crf(em, tags, mask, "token_mean"))


@pytest.mark.parametrize("batch_first", [True, False])
def test_export(batch_first):
    model = Tagger(batch_first).eval()
    x, tags, mask = inputs(batch_first=batch_first)
    b, t = torch.export.Dim("b"), torch.export.Dim("t")
    dims = {0: b, 1: t} if batch_first else {0: t, 1: b}
    program = torch.export.export(model, (x, tags, mask),
                                  dynamic_shapes=({**dims, 2: None}, dims, dims))
    targets = {str(n.target) for n in program.graph.nodes}
    assert {"fastseq.crf_llh.default", "fastseq.crf_viterbi.default",
            "fastseq.crf_marginals.default"} <= targets
    for B, T, seed in ((4, 6, 0), (5, 8, 3)):
        x, tags, mask = inputs(B, T, seed=seed, batch_first=batch_first)
        assert_same(program.module()(x, tags, mask), model(x, tags, mask))


@pytest.mark.parametrize("backend", ["auto", "torch"])
@pytest.mark.parametrize("batch_first", [True, False])
def test_decode_tensor_matches_decode(backend, batch_first):
    crf = make_crf(batch_first, backend=backend)
    em, _, mask = inputs(batch_first=batch_first)
    em[..., 1] = -50.0  # under IOB2 some rows have no allowed path: all -1
    em[0, 0, :] = 0.0
    out = crf.decode_tensor(em, mask)
    assert out.dtype == torch.int64 and out.shape == mask.shape
    out_bf, mask_bf = (out, mask) if batch_first else (out.t(), mask.t())
    assert (out_bf[~mask_bf] == -1).all()
    assert [row[m].tolist() for row, m in zip(out_bf, mask_bf)] == crf.decode(em, mask)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_custom_ops_pass_opcheck(dtype):
    crf = make_crf(dtype=dtype)
    em, tags, mask = inputs(dtype=dtype)
    tr, st, en = (p.detach().clone().requires_grad_(True)
                  for p in (crf.transitions, crf.start_transitions, crf.end_transitions))
    em = em.requires_grad_(True)
    torch.library.opcheck(torch.ops.fastseq.crf_llh, (em, tr, st, en, tags, mask, None, True))
    torch.library.opcheck(torch.ops.fastseq.crf_llh,
                          (em.detach(), tr.detach(), st.detach(), en.detach(), tags, None, 1,
                           False))
    for op in (torch.ops.fastseq.crf_viterbi, torch.ops.fastseq.crf_marginals):
        torch.library.opcheck(op, (em.detach(), tr.detach(), st.detach(), en.detach(), mask,
                                   None))
    torch.library.opcheck(torch.ops.fastseq.crf_kbest,
                          (em.detach(), tr.detach(), st.detach(), en.detach(), mask, None, 3))


def test_compiled_nbest_decode_equals_eager():
    crf = make_crf()
    em, _, mask = inputs()
    torch._dynamo.reset()
    f = torch.compile(lambda e, m: crf.decode(e, m, nbest=3), backend="aot_eager")
    assert f(em, mask) == crf.decode(em, mask, nbest=3)
    # the lists are built after the graph: one break, after the kernel call
    explained = torch._dynamo.explain(lambda e, m: crf.decode(e, m, nbest=3))(em, mask)
    ops = {str(n.target) for g in explained.graphs for n in g.graph.nodes}
    assert "fastseq.crf_kbest.default" in ops and explained.graph_break_count == 1

