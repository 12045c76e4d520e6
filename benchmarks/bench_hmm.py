"""HMM-style kernels (start, no end, equal lengths): fastseq vs the numpy reference, the
numpy one-matmul-per-step loop and hmmlearn's per-sequence kernels.

Every benchmark of one op + shape + dtype lands in one pytest-benchmark group, so the
speed-ups read off one table. See README.md in this folder.
"""
from __future__ import annotations

import numpy as np
import pytest
from benchgrid import BASELINE_THREADS, GRID, THREADS, dtype_id, group_name, shape_id

pytest.importorskip("pytest_benchmark")

from fastseq.bench import call_op, hmmlearn_runner, numpy_matmul_forward  # noqa: E402

OPS = ["log_partition", "forward", "backward", "marginals", "viterbi", "kbest",
       "posterior_decode"]  # sequence_score: bench_crf.py
# float32 for these (every op in the full grid), float64 for all
OPS_F32 = OPS if GRID == "full" else ["log_partition", "marginals", "viterbi"]

# (B, T, N); B=None is one (T, N) sequence
SHAPES = [(64, 50, 10), (64, 50, 45), (None, 2000, 8)]
if GRID == "full":
    SHAPES += [(256, 100, 45), (256, 100, 128), (1024, 100, 16), (None, 100_000, 8)]
DTYPES = [np.float64, np.float32]

# op -> hmmlearn kernels doing the same job (float64 only)
HMMLEARN = {
    "log_partition": ["forward_log", "forward_scaling"],
    "forward": ["forward_log"],
    "backward": ["backward_log"],
    "marginals": ["marginals"],
    "viterbi": ["viterbi"],
}

# the reference is a readable per-sequence Python loop: skip it where one call takes minutes
REF_MAX_WORK = 2e9  # ~ B * T * N * N (kbest: * k)


def _work(op, shape):
    B, T, N = shape
    return (B or 1) * T * N * N * (5 if op == "kbest" else 1)


dtype_param = pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
shape_param = pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
op_dtype_param = pytest.mark.parametrize(
    "op,dtype", [(op, dt) for op in OPS for dt in DTYPES if dt == np.float64 or op in OPS_F32],
    ids=lambda v: v if isinstance(v, str) else dtype_id(v))


def _op_label(op):
    return "marginals(pairwise)" if op == "marginals" else op


@shape_param
@op_dtype_param
@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"{t}t")
def test_fastseq(measure, fastseq_ops, hmm, op, shape, dtype, threads):
    p = hmm(shape, dtype)
    measure(call_op(op, fastseq_ops, p, n_threads=threads),
            group_name(_op_label(op), shape, dtype), threads=threads,
            impl="fastseq", threads_used=threads)


@shape_param
@op_dtype_param
def test_reference(measure, reference, hmm, op, shape, dtype):
    if _work(op, shape) > REF_MAX_WORK:
        pytest.skip("reference would take minutes at this size")
    p = hmm(shape, dtype)
    measure(call_op(op, reference, p), group_name(_op_label(op), shape, dtype),
            impl="reference")


@dtype_param
@shape_param
@pytest.mark.parametrize("threads", BASELINE_THREADS, ids=lambda t: f"{t}t")
def test_numpy_matmul_loop(measure, hmm, shape, dtype, threads):
    p = hmm(shape, dtype)
    em = p.emissions[None] if p.single else p.emissions
    measure(lambda: numpy_matmul_forward(em, p.transitions, p.start),
            group_name("log_partition", shape, dtype), threads=threads,
            impl="numpy matmul loop", threads_used=threads)


@shape_param
@pytest.mark.parametrize("op,kind", [(op, k) for op, ks in HMMLEARN.items() for k in ks],
                         ids=lambda v: v if isinstance(v, str) else None)
def test_hmmlearn(measure, hmm, op, kind, shape):
    pytest.importorskip("hmmlearn",
                        reason="hmmlearn is not installed (pip install fastseq[bench])")
    p = hmm(shape, np.float64)
    measure(hmmlearn_runner(kind, p), group_name(_op_label(op), shape, np.float64),
            impl=f"hmmlearn {kind}")
