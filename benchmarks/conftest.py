"""Shared fixtures for the pytest-benchmark suites (see README.md in this folder).

Grid settings live in benchgrid.py.

The suites live in ``bench_*.py`` files, which the default ``pytest`` run (testpaths =
["tests"], python_files = test_*.py) never collects; the hook below collects them when
pytest is pointed at this folder: ``pytest benchmarks --benchmark-only``.

Environment knobs:

* ``FASTSEQ_BENCH_GRID``: ``quick`` (default, a few minutes) or ``full`` (bigger shapes).
* ``FASTSEQ_BENCH_THREADS``: comma-separated thread counts for fastseq (default ``1,2``);
  the numpy matmul loop and pytorch-crf run at 1 and at the largest.
* ``FASTSEQ_BENCH_IMPL``: ``ops`` (default, the compiled kernels) or ``reference`` (time
  the numpy reference in the fastseq slot: only for developing the harness).
"""
from __future__ import annotations

import fnmatch
import os
import time
import zlib
from typing import Callable, Dict

import numpy as np
import pytest
from benchgrid import IMPL, PEER_THREADS, dtype_id

from fastseq.bench import crf_problem, hmm_problem, limit_threads

# calls slower than this are measured with a fixed, small number of rounds instead of
# pytest-benchmark's calibration (which would run them for seconds each)
SLOW_S = 0.05


# pytest-benchmark's default --benchmark-max-time (1 s per benchmark) would make the default
# grid take ~7 minutes; unless the option is given, this suite uses DEFAULT_MAX_TIME.
DEFAULT_MAX_TIME = 0.3


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    args = list(config.invocation_params.args) + os.environ.get("PYTEST_ADDOPTS", "").split()
    given = any(str(a).startswith("--benchmark-max-time") for a in args)
    if not given and hasattr(config.option, "benchmark_max_time"):
        config.option.benchmark_max_time = DEFAULT_MAX_TIME


def pytest_collect_file(file_path, parent):
    """Collect ``bench_*.py`` in this folder as test modules."""
    if file_path.suffix != ".py" or not file_path.name.startswith("bench_"):
        return None
    if any(fnmatch.fnmatch(file_path.name, pat) for pat in parent.config.getini("python_files")):
        return None  # already collected by the standard rule (e.g. -o python_files=bench_*.py)
    return pytest.Module.from_parent(parent, path=file_path)


@pytest.fixture(scope="session")
def fastseq_ops():
    """The implementation under test: ``fastseq.ops`` (skips if it is not built)."""
    if IMPL == "reference":
        import fastseq._reference as ref
        return ref
    return pytest.importorskip(
        "fastseq.ops", reason="fastseq.ops (the compiled kernels) is not importable")


@pytest.fixture(scope="session")
def reference():
    import fastseq._reference as ref
    return ref


@pytest.fixture(scope="session")
def hmm() -> Callable:
    """``hmm((B, T, N), dtype)`` -> a seeded, cached :class:`fastseq.bench.HMMProblem`."""
    cache: Dict = {}

    def get(shape, dtype=np.float64):
        key = (tuple(shape), dtype_id(dtype))
        if key not in cache:
            B, T, N = shape
            cache[key] = hmm_problem(B, T, N, dtype, seed=zlib.crc32(repr(('hmm',) + key).encode()))
        return cache[key]
    return get


@pytest.fixture(scope="session")
def crf() -> Callable:
    """``crf((B, T, N), dtype)`` -> a seeded, cached ragged :class:`fastseq.bench.CRFProblem`."""
    cache: Dict = {}

    def get(shape, dtype=np.float32):
        key = (tuple(shape), dtype_id(dtype))
        if key not in cache:
            B, T, N = shape
            cache[key] = crf_problem(B, T, N, dtype, seed=zlib.crc32(repr(('crf',) + key).encode()),
                                     ragged=True)
        return cache[key]
    return get


@pytest.fixture
def measure(benchmark):
    """``measure(fn, group, threads=None, **extra_info)``: benchmark ``fn()`` in ``group``.

    The baselines run with BLAS/torch limited to ``threads`` (default: the largest of
    FASTSEQ_BENCH_THREADS). Calls slower than SLOW_S get a fixed 1-5 rounds of one
    iteration, so the slow peers do not stretch the suite to tens of minutes.
    """
    def run(fn, group, threads=None, **extra_info):
        benchmark.group = group
        benchmark.extra_info.update(extra_info)
        with limit_threads(threads or PEER_THREADS):
            dt = float("inf")
            for _ in range(2):  # warm-up and cost estimate (a second try if it looks slow)
                t0 = time.perf_counter()
                fn()
                dt = min(dt, time.perf_counter() - t0)
                if dt <= SLOW_S:
                    break
            if dt > SLOW_S:
                rounds = 1 if dt > 1.0 else 3 if dt > 0.25 else 5
                return benchmark.pedantic(fn, rounds=rounds, iterations=1)
            return benchmark(fn)
    return run
