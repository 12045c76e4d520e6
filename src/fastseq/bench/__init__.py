"""The benchmark behind ``fastseq bench``: fastseq's kernels against the numpy reference and
the peers, in one run.

    fastseq bench                      # the quick grid, on every core this process may use
    fastseq bench --threads 2 --json   # machine-readable output
    fastseq bench --plot speedups.png  # bar chart of the speed-ups (needs matplotlib)
    fastseq bench --full               # a bigger grid (several minutes)

The implementation under test is :mod:`fastseq` (the compiled kernels). Baselines:

* ``reference`` -- :mod:`fastseq._reference`, the plain numpy oracle (same API). It is
  timed on the first few sequences of each batch and scaled to the whole batch by token count
  (marked ``~``; ``--ref-sequences 0`` times it on everything). fastseq's output is checked
  against it on those sequences.
* ``numpy matmul loop`` -- :func:`~fastseq.bench.baselines.numpy_matmul_forward`, the scaled
  forward recursion written as one ``(B, N) @ (N, N)`` product per time step: the
  matmul-bound baseline.
* ``hmmlearn`` 0.3.x -- ``hmmlearn._hmmc`` kernels called once per sequence in a Python loop,
  the way ``hmmlearn.base`` calls them. Its cost is linear in the number of sequences, so the
  quick run times a loop that would take over 2 s on the whole batch on its first 64
  sequences and scales (marked ``~``; ``--peer-sequences 0`` or ``--full`` time whole
  batches).
* ``pytorch-crf`` 0.7.x -- ``torchcrf.CRF``: forward + backward of the log-likelihood, and
  ``decode``, float32, batch-first with a ragged mask.

Peers that cannot be imported show ``n/a`` (``pip install fastseq[bench]`` installs them).
Inputs are seeded, so every run times the same numbers. Times are the best (minimum) over
repeats of ``time.perf_counter`` measurements. The results are times and speed-ups; what
speed-ups the project aims for, and whether a run meets them, is the business of the
scripts in the repository's ``benchmarks/`` folder, not of the package.

The modules: ``problems`` (seeded inputs and the timed calls), ``baselines``, ``timing``,
``cases`` (the grids), ``runner`` (:func:`run_bench`), ``report`` (table and chart).
"""
from __future__ import annotations

from .baselines import hmmlearn_runner, numpy_matmul_forward, torchcrf_runner
from .problems import CRFProblem, HMMProblem, call_op, crf_problem, hmm_problem
from .report import format_table, write_plot
from .runner import run_bench
from .timing import Timing, best_time, limit_threads

__all__ = ["run_bench", "format_table", "write_plot", "HMMProblem", "CRFProblem",
           "hmm_problem", "crf_problem", "call_op", "numpy_matmul_forward", "hmmlearn_runner",
           "torchcrf_runner", "best_time", "Timing", "limit_threads"]
