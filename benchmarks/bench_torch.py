"""fastseq.torch.CRF and fastseq.decode against their peers.

* forward + backward of the log-likelihood and decode: ``fastseq.torch.CRF`` (C kernels),
  its pure-torch fallback (``backend="torch"``) and pytorch-crf 0.7.2, B=64 T=50, N=9/45;
* constrained (IOB2) decoding of a (256, 128, 9) batch of scores to label strings:
  ``fastseq.decode`` vs an AllenNLP-style per-sequence Viterbi in numpy.

Run ``pytest benchmarks --benchmark-only -k bench_torch``; for the one-table summary with
ratios run ``python benchmarks/torch_figures.py``. Never collected by the default ``pytest``.
"""
from __future__ import annotations

import numpy as np
import pytest
from benchgrid import BASELINE_THREADS, THREADS

pytest.importorskip("pytest_benchmark")
torch = pytest.importorskip("torch", reason="torch is not installed (pip install fastseq[bench])")

from torch_figures import (  # noqa: E402  (same folder; needs torch)
    LABELS_9,
    allennlp_style_decode,
    crf_inputs,
    train_step,
)

from fastseq.decode import decode  # noqa: E402
from fastseq.torch import CRF  # noqa: E402

SHAPES = [(64, 50, 9), (64, 50, 45)]
shape_param = pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"B{s[0]}-T{s[1]}-N{s[2]}")


def _group(what, shape):
    B, T, N = shape
    return f"torch {what} B={B} T={T} N={N} float32"


def _model(kind, N, threads):
    torch.manual_seed(0)
    if kind == "pytorch-crf":
        torchcrf = pytest.importorskip(
            "torchcrf", reason="pytorch-crf is not installed (pip install fastseq[bench])")
        return torchcrf.CRF(N, batch_first=True)
    backend = "torch" if kind == "fallback" else "auto"
    return CRF(N, batch_first=True, n_threads=threads, backend=backend)


@shape_param
@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"{t}t")
@pytest.mark.parametrize("kind", ["fastseq", "fallback"])
@pytest.mark.parametrize("what", ["forward+backward", "decode"])
def test_crf_fastseq(measure, shape, threads, kind, what):
    em, tags, mask = crf_inputs(*shape, seed=shape[2])
    crf = _model(kind, shape[2], threads)
    fn = train_step(crf, em, tags, mask) if what != "decode" else (lambda: crf.decode(em, mask))
    measure(fn, _group(what, shape), threads=threads, impl=f"fastseq.torch ({kind})",
            threads_used=threads)


@shape_param
@pytest.mark.parametrize("threads", BASELINE_THREADS, ids=lambda t: f"{t}t")
@pytest.mark.parametrize("what", ["forward+backward", "decode"])
def test_crf_pytorch_crf(measure, shape, threads, what):
    em, tags, mask = crf_inputs(*shape, seed=shape[2])
    crf = _model("pytorch-crf", shape[2], threads)
    fn = train_step(crf, em, tags, mask) if what != "decode" else (lambda: crf.decode(em, mask))
    measure(fn, _group(what, shape), threads=threads, impl="pytorch-crf",
            threads_used=threads)


@pytest.fixture(scope="module")
def scores_256():
    rng = np.random.default_rng(0)
    B, T, N = 256, 128, 9
    return (rng.normal(size=(B, T, N)).astype(np.float32),
            rng.integers(T // 2, T + 1, size=B))


@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"{t}t")
def test_decode_fastseq(measure, scores_256, threads):
    scores, lengths = scores_256
    measure(lambda: decode(scores, labels=LABELS_9, scheme="IOB2", lengths=lengths,
                           n_threads=threads),
            "decode IOB2 -> labels B=256 T=128 N=9 float32", threads=threads,
            impl="fastseq.decode", threads_used=threads)


def test_decode_allennlp_style(measure, scores_256):
    scores, lengths = scores_256
    measure(lambda: allennlp_style_decode(scores, lengths, LABELS_9, "IOB2"),
            "decode IOB2 -> labels B=256 T=128 N=9 float32", impl="AllenNLP-style numpy")
