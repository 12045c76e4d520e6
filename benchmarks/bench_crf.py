"""CRF-style kernels (start and end scores, ragged padded batches): fastseq vs the numpy
reference and pytorch-crf (forward + backward of the log-likelihood; decode).

Every benchmark of one op + shape + dtype lands in one pytest-benchmark group, so the
speed-ups read off one table. See README.md in this folder.
"""
from __future__ import annotations

import numpy as np
import pytest
from benchgrid import BASELINE_THREADS, GRID, THREADS, dtype_id, group_name, shape_id

pytest.importorskip("pytest_benchmark")

from fastseq.bench import call_op, torchcrf_runner  # noqa: E402

OPS = ["crf_nll", "viterbi", "sequence_score"]
if GRID == "full":
    OPS += ["log_partition", "marginals"]

# (B, T, N) padded with ragged lengths in [T//2, T]
SHAPES = [(64, 50, 9), (64, 50, 45)]
if GRID == "full":
    SHAPES += [(512, 50, 9), (512, 50, 45), (64, 50, 128), (16, 400, 45)]
DTYPES = [np.float32, np.float64]

# op -> pytorch-crf call doing the same job
TORCHCRF = {"crf_nll": "nll", "viterbi": "decode"}

REF_MAX_WORK = 2e9  # ~ B * T * N * N

dtype_param = pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
shape_param = pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
op_param = pytest.mark.parametrize("op", OPS)


def _label(op):
    return {"crf_nll": "crf_nll+grad", "marginals": "crf marginals(pairwise)"}.get(op, f"crf {op}")


@dtype_param
@shape_param
@op_param
@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"{t}t")
def test_fastseq(measure, fastseq_ops, crf, op, shape, dtype, threads):
    p = crf(shape, dtype)
    measure(call_op(op, fastseq_ops, p, n_threads=threads), group_name(_label(op), shape, dtype),
            threads=threads, impl="fastseq", threads_used=threads)


@dtype_param
@shape_param
@op_param
def test_reference(measure, reference, crf, op, shape, dtype):
    B, T, N = shape
    if B * T * N * N > REF_MAX_WORK:
        pytest.skip("reference would take minutes at this size")
    p = crf(shape, dtype)
    measure(call_op(op, reference, p), group_name(_label(op), shape, dtype), impl="reference")


@dtype_param
@shape_param
@pytest.mark.parametrize("op", sorted(TORCHCRF))
@pytest.mark.parametrize("threads", BASELINE_THREADS, ids=lambda t: f"{t}t")
def test_pytorch_crf(measure, crf, op, shape, dtype, threads):
    pytest.importorskip("torchcrf",
                        reason="pytorch-crf is not installed (pip install fastseq[bench])")
    p = crf(shape, dtype)
    measure(torchcrf_runner(TORCHCRF[op], p), group_name(_label(op), shape, dtype),
            threads=threads, impl=f"pytorch-crf {TORCHCRF[op]}", threads_used=threads)
