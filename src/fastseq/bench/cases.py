"""The benchmark cases: the quick grid (the cases fastseq's speed claims are about), the
``--full`` grid and the ``--smoke`` one."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Union

import numpy as np

from .baselines import hmmlearn_runner, numpy_matmul_forward, torchcrf_runner
from .problems import (
    KBEST_K,
    CRFProblem,
    HMMProblem,
    call_op,
    crf_problem,
    dtype_name,
    hmm_problem,
    seed_of,
)

__all__ = ["BaselineSpec", "Case", "get_cases"]


@dataclass
class BaselineSpec:
    """One baseline of a case: how to build its timed call from the problem.

    Parameters
    ----------
    key : str
        Identifier in the results, e.g. ``"reference"``, ``"numpy.matmul_loop"``,
        ``"hmmlearn.forward_log"``, ``"torchcrf.nll"``.
    label : str
        Name shown in the table.
    make : callable
        ``make(problem)`` returns the no-argument callable that is timed.
    peer : str, optional
        ``"hmmlearn"`` or ``"torchcrf"`` for a peer (skipped when not installed or not
        asked for); None for fastseq's own baselines.
    subsample : bool, default=False
        The reference: timed on the first sequences only, and scaled up by token count.
    per_sequence : bool, default=False
        A Python loop over the sequences (hmmlearn): cost linear in ``B``.
    threaded : bool, default=False
        Uses BLAS or torch threads: timed at 1 thread and at ``threads``, the best kept.
    max_sequences : int, optional
        Timed on at most this many sequences of the batch, scaled up by token count.

    Examples
    --------
    >>> from fastseq.bench.cases import get_cases
    >>> spec = get_cases("smoke")[0].baselines[0]
    >>> spec.key, spec.label, spec.subsample
    ('reference', 'reference (numpy)', True)
    """

    key: str                      # "hmmlearn.forward_log"
    label: str                    # shown in the table
    make: Callable[[Any], Callable[[], Any]]   # problem -> callable
    peer: Optional[str] = None    # "hmmlearn" / "torchcrf" / None
    subsample: bool = False       # the reference: time the first sequences only, scale up
    per_sequence: bool = False    # a Python loop over sequences (hmmlearn): cost linear in B
    threaded: bool = False        # uses BLAS/torch threads: timed at 1 and --threads, best kept
    max_sequences: Optional[int] = None  # timed on the first sequences only, scaled up


@dataclass
class Case:
    """One timed operation on one problem shape, with its baselines.

    Parameters
    ----------
    op : str
        The :mod:`fastseq` function timed (see :func:`~fastseq.bench.call_op`).
    kind : str
        ``"hmm"`` (an :class:`~fastseq.bench.HMMProblem`) or ``"crf"`` (a
        :class:`~fastseq.bench.CRFProblem`).
    B : int or None
        Number of sequences; None: one ``(T, N)`` sequence.
    T : int
        Sequence length (the padded length of a ragged batch).
    N : int
        Number of states or tags.
    dtype : dtype-like
        ``np.float32`` or ``np.float64``.
    baselines : list of BaselineSpec
        What fastseq is compared with.
    ragged : bool, default=False
        A CRF batch with random lengths.
    label : str, optional
        The op's name in the table (default: ``op``).
    pattern : {"random", "band"}, optional
        Sparse transitions with 1 % of the moves (see :func:`~fastseq.bench.hmm_problem`).

    Examples
    --------
    >>> from fastseq.bench.cases import get_cases
    >>> case = get_cases("smoke")[11]
    >>> case.op, case.kind, (case.B, case.T, case.N), case.ragged
    ('viterbi', 'crf', (4, 6, 5), True)
    >>> [b.key for b in case.baselines]
    ['reference', 'torchcrf.decode']
    """

    op: str
    kind: str                     # "hmm" / "crf"
    B: Optional[int]              # None: one (T, N) sequence
    T: int
    N: int
    dtype: Any
    baselines: List[BaselineSpec]
    ragged: bool = False
    label: Optional[str] = None   # op label in the table
    pattern: Optional[str] = None  # sparse transitions: "random" / "band"

    @property
    def name(self) -> str:
        """The case's name in the table: op label, shape, dtype and ``ragged``.

        Examples
        --------
        >>> from fastseq.bench.cases import get_cases
        >>> [case.name for case in get_cases("smoke")[6:9]]
        ['forward T=40 N=3 f64', 'viterbi T=40 N=3 f64', 'crf_nll+grad B=4 T=6 N=3 f32 ragged']
        """
        op = self.label or self.op
        shape = f"T={self.T} N={self.N}" if self.B is None else f"B={self.B} T={self.T} N={self.N}"
        rag = " ragged" if self.ragged else ""
        sparse = f" sparse-{self.pattern} 1%" if self.pattern else ""
        return f"{op} {shape} {dtype_name(self.dtype)}{rag}{sparse}"

    def problem(self) -> Union[HMMProblem, CRFProblem]:
        """The case's seeded random inputs.

        Returns
        -------
        HMMProblem or CRFProblem
            :func:`~fastseq.bench.hmm_problem` or :func:`~fastseq.bench.crf_problem` of the
            case's shape and dtype, seeded by them: every run times the same numbers.

        Examples
        --------
        >>> from fastseq.bench.cases import get_cases
        >>> p = get_cases("smoke")[11].problem()
        >>> type(p).__name__, p.emissions.shape, p.emissions.dtype
        ('CRFProblem', (4, 6, 5), dtype('float32'))
        """
        parts = (self.kind, self.B, self.T, self.N, dtype_name(self.dtype))
        seed = seed_of(*parts, self.pattern) if self.pattern else seed_of(*parts)
        if self.kind == "crf":
            assert self.B is not None  # CRF cases are batches
            return crf_problem(self.B, self.T, self.N, self.dtype, seed=seed, ragged=self.ragged)
        return hmm_problem(self.B, self.T, self.N, self.dtype, seed=seed, pattern=self.pattern)


def _reference(op: str) -> BaselineSpec:
    def make(p):
        return call_op(op, importlib.import_module("fastseq._reference"), p)
    return BaselineSpec("reference", "reference (numpy)", make, subsample=True)


def _matmul() -> BaselineSpec:
    def make(p):
        em = p.emissions[None] if p.single else p.emissions
        return lambda: numpy_matmul_forward(em, p.transitions, p.start)
    return BaselineSpec("numpy.matmul_loop", "numpy matmul loop", make, threaded=True)


def _dense(op: str) -> BaselineSpec:
    """fastseq's dense kernels on a sparse case's model (-inf in the missing places), timed
    on 8 sequences (two groups of four: every thread busy) and scaled up: at O(N^2) a step
    they take seconds a sequence."""
    def make(p):
        return call_op(op, importlib.import_module("fastseq.ops"), p.dense())
    return BaselineSpec("fastseq.dense", "fastseq dense kernels (-inf)", make,
                        max_sequences=8)


def _hmmlearn(kind: str) -> BaselineSpec:
    label = {"marginals": "hmmlearn fwd_log+bwd_log+xi_sum"}.get(kind, f"hmmlearn {kind}")
    return BaselineSpec(f"hmmlearn.{kind}", label, lambda p: hmmlearn_runner(kind, p),
                        peer="hmmlearn", per_sequence=True)


def _torchcrf(kind: str) -> BaselineSpec:
    label = {"nll": "pytorch-crf fwd+bwd", "decode": "pytorch-crf decode"}[kind]
    return BaselineSpec(f"torchcrf.{kind}", label, lambda p: torchcrf_runner(kind, p),
                        peer="torchcrf", threaded=True)


def _headline_cases(smoke: bool) -> List[Case]:
    """The quick grid: HMM forward / Viterbi / marginals at B=256, T=100 and one long
    sequence, CRF loss+gradient and decoding at B=64, T=50 (tiny shapes for smoke)."""
    f64, f32 = np.float64, np.float32
    if smoke:
        B, T, Ns, LT, LN, CB, CT, CNs = 4, 6, (3, 5), 40, 3, 4, 6, (3, 5)
    else:
        B, T, Ns, LT, LN, CB, CT, CNs = 256, 100, (45, 128), 10_000, 8, 64, 50, (9, 45)
    cases: List[Case] = []
    for N in Ns:
        cases.append(Case("log_partition", "hmm", B, T, N, f64, [
            _reference("log_partition"), _matmul(), _hmmlearn("forward_log"),
            _hmmlearn("forward_scaling")]))
    for N in Ns:
        cases.append(Case("viterbi", "hmm", B, T, N, f64, [
            _reference("viterbi"), _hmmlearn("viterbi")]))
    for N in Ns:
        cases.append(Case("marginals", "hmm", B, T, N, f64, [
            _reference("marginals"), _hmmlearn("marginals")], label="marginals(pairwise)"))
    cases.append(Case("forward", "hmm", None, LT, LN, f64, [
        _reference("forward"), _matmul(), _hmmlearn("forward_log"),
        _hmmlearn("forward_scaling")]))
    cases.append(Case("viterbi", "hmm", None, LT, LN, f64, [
        _reference("viterbi"), _hmmlearn("viterbi")]))
    for N in CNs:
        cases.append(Case("crf_nll", "crf", CB, CT, N, f32, [
            _reference("crf_nll"), _torchcrf("nll")], ragged=True, label="crf_nll+grad"))
    for N in CNs:
        cases.append(Case("viterbi", "crf", CB, CT, N, f32, [
            _reference("viterbi"), _torchcrf("decode")], ragged=True, label="crf viterbi"))
    # large sparse models: 1 % of the moves of N states
    SB, ST, SN = (4, 6, 200) if smoke else (64, 500, 2048)
    for op in ("log_partition", "viterbi"):
        cases.append(Case(op, "hmm", SB, ST, SN, f64, [_dense(op)], pattern="random"))
    return cases


def _extra_cases() -> List[Case]:
    """The bigger grid of ``--full`` (no targets)."""
    f64, f32 = np.float64, np.float32
    cases: List[Case] = []
    for N in (8, 16, 256):
        cases.append(Case("log_partition", "hmm", 256, 100, N, f64, [
            _reference("log_partition"), _matmul(), _hmmlearn("forward_log"),
            _hmmlearn("forward_scaling")]))
        cases.append(Case("viterbi", "hmm", 256, 100, N, f64, [
            _reference("viterbi"), _hmmlearn("viterbi")]))
    for N in (45, 128):
        cases.append(Case("log_partition", "hmm", 256, 100, N, f32, [
            _reference("log_partition"), _matmul()]))
        cases.append(Case("viterbi", "hmm", 256, 100, N, f32, [_reference("viterbi")]))
        cases.append(Case("marginals", "hmm", 256, 100, N, f32, [_reference("marginals")],
                          label="marginals(pairwise)"))
    cases.append(Case("log_partition", "hmm", 1024, 100, 45, f64, [
        _reference("log_partition"), _matmul(), _hmmlearn("forward_log"),
        _hmmlearn("forward_scaling")]))
    cases.append(Case("log_partition", "hmm", 16, 1000, 45, f64, [
        _reference("log_partition"), _matmul(), _hmmlearn("forward_log"),
        _hmmlearn("forward_scaling")]))
    for op, extra in (("forward", [_hmmlearn("forward_log")]),
                      ("backward", [_hmmlearn("backward_log")]),
                      ("kbest", []), ("posterior_decode", []), ("sequence_score", [])):
        cases.append(Case(op, "hmm", 256, 100, 45, f64, [_reference(op)] + extra,
                          label=f"kbest(k={KBEST_K})" if op == "kbest" else None))
    cases.append(Case("forward", "hmm", None, 100_000, 8, f64, [
        _reference("forward"), _hmmlearn("forward_log"), _hmmlearn("forward_scaling")]))
    cases.append(Case("viterbi", "hmm", None, 100_000, 8, f64, [
        _reference("viterbi"), _hmmlearn("viterbi")]))
    # a left-to-right band: the dense kernels' rows span too many nats for scaling and
    # their log_partition steps through N^2 exps (about 9 s a sequence)
    for op in ("log_partition", "viterbi"):
        cases.append(Case(op, "hmm", 64, 500, 2048, f64, [_dense(op)], pattern="band"))
    for B in (64, 512):
        for N in (9, 45, 128):
            for dt in (f32, f64):
                if B == 64 and dt == f32 and N in (9, 45):
                    continue  # headline cases
                cases.append(Case("crf_nll", "crf", B, 50, N, dt, [
                    _reference("crf_nll"), _torchcrf("nll")], ragged=True, label="crf_nll+grad"))
                cases.append(Case("viterbi", "crf", B, 50, N, dt, [
                    _reference("viterbi"), _torchcrf("decode")], ragged=True,
                    label="crf viterbi"))
    return cases


def get_cases(mode: str) -> List[Case]:
    """The benchmark cases of a mode.

    Parameters
    ----------
    mode : str
        ``"quick"``: the quick grid, the cases fastseq's speed claims are about (HMM
        forward, Viterbi and pairwise marginals at B=256, T=100, N=45 and 128, one long
        sequence, CRF loss + gradient and decoding at B=64, T=50, N=9 and 45); ``"full"``:
        the quick grid and a bigger one (more shapes, dtypes and ops); ``"smoke"``: the
        quick grid's cases at tiny shapes.

    Returns
    -------
    list of Case
        The cases, in table order.

    Raises
    ------
    ValueError
        If ``mode`` is not ``"smoke"``, ``"quick"`` or ``"full"``.

    Examples
    --------
    >>> from fastseq.bench.cases import get_cases
    >>> len(get_cases("smoke")), len(get_cases("quick")), len(get_cases("full"))
    (14, 14, 57)
    >>> get_cases("quick")[0].name
    'log_partition B=256 T=100 N=45 f64'
    """
    if mode not in ("smoke", "quick", "full"):
        raise ValueError(f"`mode` must be 'smoke', 'quick' or 'full', got {mode!r}")
    if mode == "smoke":
        return _headline_cases(smoke=True)
    cases = _headline_cases(smoke=False)
    if mode == "full":
        cases += _extra_cases()
    return cases

