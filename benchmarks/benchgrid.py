"""Grid settings shared by the benchmark suites (read from the environment; see
conftest.py and README.md in this folder)."""
from __future__ import annotations

import os
from typing import Optional, Tuple

import numpy as np

GRID = os.environ.get("FASTSEQ_BENCH_GRID", "quick").strip().lower()
if GRID not in ("quick", "full"):
    raise ValueError(f"FASTSEQ_BENCH_GRID must be 'quick' or 'full', got {GRID!r}")
THREADS = tuple(int(t) for t in os.environ.get("FASTSEQ_BENCH_THREADS", "1,2").split(","))
PEER_THREADS = max(THREADS)
# multi-threaded baselines (numpy BLAS, torch) run at each of these: on small problems or a
# busy machine one thread is often the faster, and the groups then show both
BASELINE_THREADS = sorted({1, PEER_THREADS})
IMPL = os.environ.get("FASTSEQ_BENCH_IMPL", "ops").strip().lower()


def shape_id(shape: Tuple[Optional[int], int, int]) -> str:
    B, T, N = shape
    return f"T{T}-N{N}" if B is None else f"B{B}-T{T}-N{N}"


def dtype_id(dtype) -> str:
    return np.dtype(dtype).name


def group_name(op: str, shape, dtype) -> str:
    """One pytest-benchmark group per op + shape + dtype: the ratios read off one table."""
    B, T, N = shape
    s = f"T={T} N={N}" if B is None else f"B={B} T={T} N={N}"
    return f"{op} {s} {dtype_id(dtype)}"
