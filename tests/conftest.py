"""Shared fixtures and random-model helpers for the fastseq test suite.

Environment variables
---------------------
FASTSEQ_SEED
    Base seed of every ``rng`` fixture (default below). Each test derives its own seed from
    the base seed and its node id, so a single test reproduces on its own. The base seed is
    printed in the pytest header.
FASTSEQ_TEST_OPS
    ``"reference"`` points the ``ops`` fixture at ``fastseq._reference`` instead of the
    compiled ``fastseq.ops`` (a way to check the tests themselves while the compiled API is
    being written; validation tests are expected to fail then).
FASTSEQ_DATA
    The folder holding the corpora (see :mod:`fastseq.datasets`). When it is not set and the
    project's development checkout has its corpora at ``../shared/data`` beside the
    repository, the tests use those. Tests that need a corpus skip, saying so, when it is
    absent (a user's clone has none).

Fuzzing
-------
The property-based fuzz tests (``tests/fuzz``) run a short budget by default.
``--fuzz-minutes M`` gives each fuzz test about ``M`` minutes instead (for occasional deep
runs), ``--fuzz-examples K`` the examples per round; the number of cases run is printed at
the end of the session. ``FASTSEQ_SIMD=generic|avx2|avx512`` picks the kernels' SIMD
variant for the whole run.
"""
from __future__ import annotations

import os
import time
import types
import zlib
from pathlib import Path

import numpy as np
import pytest

_DEV_CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if "FASTSEQ_DATA" not in os.environ and _DEV_CORPORA.is_dir():
    os.environ["FASTSEQ_DATA"] = str(_DEV_CORPORA)

DEFAULT_SEED = 20240917
SEED = int(os.environ.get("FASTSEQ_SEED", DEFAULT_SEED))
OPS_BACKEND = os.environ.get("FASTSEQ_TEST_OPS", "compiled").strip().lower()

# Tolerances from DESIGN.md section 5.
TOL = {
    np.dtype(np.float64): dict(rtol=1e-10, atol=1e-10),
    np.dtype(np.float32): dict(rtol=1e-4, atol=1e-4),
}

# Value written into padding (rows past a sequence's end in the padded layout). It is finite
# (so validation cannot object) but so large that reading it changes every result.
PAD_VALUE = 1.0e30
# Garbage tags written past a sequence's end (must be ignored, never range-checked).
PAD_TAGS = (-1, 10**6)

LAYOUTS = ("single", "padded", "padded_nolengths", "concat")


def pytest_addoption(parser):
    group = parser.getgroup("fastseq fuzzing")
    group.addoption("--fuzz-minutes", type=float, default=0.0,
                    help="run each fuzz test for about this many minutes (default: one "
                         "short round)")
    group.addoption("--fuzz-examples", type=int, default=None,
                    help="hypothesis examples per fuzz round (default 60; 1000 with "
                         "--fuzz-minutes)")


_FUZZ_CASES = {"cases": 0, "seconds": 0.0}


class FuzzBudget:
    """Runs hypothesis tests under the session's fuzz budget and counts their cases.

    ``run(test)`` calls a ``@given`` test in rounds of ``examples`` examples (a fresh random
    stream each round) until ``seconds`` have passed, or once when ``seconds`` is 0. The
    test calls ``count()`` once per case it checks.
    """

    def __init__(self, examples, seconds):
        self.examples, self.seconds = examples, seconds

    def count(self):
        _FUZZ_CASES["cases"] += 1

    def run(self, test):
        from hypothesis import HealthCheck, settings

        wrapped = settings(max_examples=self.examples, deadline=None, database=None,
                           suppress_health_check=list(HealthCheck))(test)
        start = time.perf_counter()
        while True:
            wrapped()
            if time.perf_counter() - start >= self.seconds:
                break
        _FUZZ_CASES["seconds"] += time.perf_counter() - start


@pytest.fixture
def fuzz(request):
    """The session's :class:`FuzzBudget` (see the module docstring)."""
    minutes = request.config.getoption("--fuzz-minutes")
    examples = request.config.getoption("--fuzz-examples")
    if examples is None:
        examples = 1000 if minutes > 0 else 60
    return FuzzBudget(examples, 60.0 * minutes)


def pytest_terminal_summary(terminalreporter):
    if _FUZZ_CASES["cases"]:
        import fastseq._kernels as kernels

        simd = os.environ.get("FASTSEQ_SIMD") or kernels.simd_level()
        terminalreporter.write_line(
            f"fuzz: {_FUZZ_CASES['cases']} cases in {_FUZZ_CASES['seconds']:.1f} s "
            f"(SIMD variant: {simd})")


def pytest_report_header(config):
    return (
        f"fastseq tests: FASTSEQ_SEED={SEED} (default {DEFAULT_SEED}); "
        f"ops backend: {OPS_BACKEND}"
    )


# --------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------


def _load_ops():
    if OPS_BACKEND in ("reference", "ref", "python"):
        from fastseq import _reference as mod
    else:
        from fastseq import ops as mod
    return mod


@pytest.fixture(scope="session")
def ops():
    """The functional API under test (``fastseq.ops``)."""
    return _load_ops()


@pytest.fixture(scope="session")
def ref():
    """The numpy oracle (``fastseq._reference``)."""
    from fastseq import _reference

    return _reference


@pytest.fixture
def rng(request):
    """A numpy Generator seeded from FASTSEQ_SEED and the test's node id."""
    node_seed = zlib.crc32(request.node.nodeid.encode("utf-8"))
    return np.random.default_rng([SEED, node_seed])


@pytest.fixture(params=[np.float32, np.float64], ids=["f32", "f64"])
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture
def tol(dtype):
    """``dict(rtol=..., atol=...)`` for ``dtype`` (DESIGN.md section 5)."""
    return dict(TOL[dtype])


@pytest.fixture(params=[1, 2], ids=["nt1", "nt2"])
def n_threads(request):
    return request.param


@pytest.fixture(scope="session")
def make():
    """Namespace of the random-model / layout helpers defined in this file."""
    return types.SimpleNamespace(
        TOL=TOL,
        LAYOUTS=LAYOUTS,
        PAD_VALUE=PAD_VALUE,
        tolerance=tolerance,
        scores=random_scores,
        emissions=random_emissions,
        model=random_model,
        lengths=random_lengths,
        batch=make_batch,
        tags=random_tags,
        pack_tags=pack_tags,
        pack_rows=pack_rows,
        pack_paths=pack_paths,
        split=split_layout,
    )


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def tolerance(dtype):
    return dict(TOL[np.dtype(dtype)])


def random_scores(rng, shape, *, scale=2.0, neg_inf=0.0, dtype=np.float64):
    """Normal(0, scale) log-potentials; each entry is -inf with probability ``neg_inf``."""
    x = rng.normal(0.0, scale, size=shape)
    if neg_inf > 0:
        x[rng.random(shape) < neg_inf] = -np.inf
    return x.astype(dtype)


def random_emissions(rng, T, N, *, scale=2.0, neg_inf=0.0, dtype=np.float64):
    return random_scores(rng, (T, N), scale=scale, neg_inf=neg_inf, dtype=dtype)


def random_model(rng, N, *, start=True, end=True, scale=1.0, neg_inf=0.0, dtype=np.float64):
    """``(transitions, start, end)``; start/end are None unless requested."""
    trans = random_scores(rng, (N, N), scale=scale, neg_inf=neg_inf, dtype=dtype)
    s = random_scores(rng, (N,), scale=scale, neg_inf=neg_inf, dtype=dtype) if start else None
    e = random_scores(rng, (N,), scale=scale, neg_inf=neg_inf, dtype=dtype) if end else None
    return trans, s, e


def random_lengths(rng, B, T_max, *, edge=True):
    """``B`` random lengths in ``[0, T_max]``; with ``edge`` the values 0, 1 and T_max
    appear whenever B is large enough (shuffled in)."""
    lengths = rng.integers(0, T_max + 1, size=B)
    if edge:
        special = [v for v in (0, 1, T_max) if v <= T_max][:B]
        idx = rng.permutation(B)[: len(special)]
        lengths[idx] = special
    return lengths.astype(np.int64)


def make_batch(rng, layout, seqs, *, pad_value=PAD_VALUE):
    """Pack a list of ``(T_i, N)`` emission arrays into ``layout``.

    Returns ``(emissions, lengths)`` to pass to the API. ``single`` takes exactly one
    sequence; ``padded_nolengths`` requires all sequences to have the same length.
    """
    N = seqs[0].shape[1]
    dt = seqs[0].dtype
    if layout == "single":
        assert len(seqs) == 1
        return np.array(seqs[0], dtype=dt), None
    lens = np.array([s.shape[0] for s in seqs], dtype=np.int64)
    if layout == "concat":
        em = np.concatenate(seqs, axis=0) if len(seqs) else np.zeros((0, N), dt)
        return np.ascontiguousarray(em, dtype=dt), lens
    if layout in ("padded", "padded_nolengths"):
        T = int(lens.max()) if len(lens) else 0
        if layout == "padded_nolengths":
            assert np.all(lens == T)
        em = np.full((len(seqs), T, N), pad_value, dtype=dt)
        for b, s in enumerate(seqs):
            em[b, : s.shape[0]] = s
        return em, (None if layout == "padded_nolengths" else lens)
    raise ValueError(layout)


def random_tags(rng, lens, N):
    """A list of random int64 tag sequences with the given lengths."""
    return [rng.integers(0, N, size=int(n)).astype(np.int64) for n in lens]


def pack_tags(layout, tag_list, T=None, rng=None):
    """Pack per-sequence tags like viterbi paths; padding gets garbage (ignored)."""
    if layout == "single":
        return np.array(tag_list[0], dtype=np.int64)
    if layout == "concat":
        if not tag_list:
            return np.zeros(0, np.int64)
        return np.concatenate(tag_list).astype(np.int64)
    if T is None:
        T = max((len(t) for t in tag_list), default=0)
    out = np.empty((len(tag_list), T), np.int64)
    for b, t in enumerate(tag_list):
        out[b, : len(t)] = t
        out[b, len(t):] = PAD_TAGS[b % 2]
    return out


def pack_rows(layout, rows, T=None, fill=0.0, dtype=None):
    """Expected layout of per-sequence ``(T_i, ...)`` arrays (padding = ``fill``)."""
    rows = [np.asarray(r) for r in rows]
    if dtype is None:
        dtype = rows[0].dtype
    if layout == "single":
        return np.asarray(rows[0], dtype=dtype)
    tail = rows[0].shape[1:]
    if layout == "concat":
        return np.concatenate(rows, axis=0).astype(dtype)
    if T is None:
        T = max(r.shape[0] for r in rows)
    out = np.full((len(rows), T) + tail, fill, dtype=dtype)
    for b, r in enumerate(rows):
        out[b, : r.shape[0]] = r
    return out


def pack_paths(layout, paths, T=None):
    return pack_rows(layout, paths, T=T, fill=-1, dtype=np.int64)


def split_layout(layout, arr, lengths):
    """Inverse of pack_rows for an output array: list of per-sequence arrays."""
    arr = np.asarray(arr)
    if layout == "single":
        return [arr]
    if layout == "concat":
        offs = np.concatenate([[0], np.cumsum(lengths)])
        return [arr[offs[i]: offs[i + 1]] for i in range(len(lengths))]
    if lengths is None:
        lengths = [arr.shape[1]] * arr.shape[0]
    return [arr[b, : int(n)] for b, n in enumerate(lengths)]


@pytest.fixture
def every_requested_thread(monkeypatch):
    """Use every requested thread even on tiny batches: the thread-invariance tests must
    exercise the parallel code, which the small-batch shortcut
    (fastseq.ops._threads_for) would otherwise skip."""
    from fastseq import ops as _ops

    monkeypatch.setattr(_ops, "_WORK_PER_THREAD", 1)

