"""Running the benchmark: every case, fastseq at ``threads`` and at 1 thread, every baseline,
with the results checked against the numpy reference."""
from __future__ import annotations

import importlib
import io
import os
import platform
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from threadpoolctl import threadpool_info

from .. import __version__, show_config
from .baselines import INSTALL_HINT, PEER_DISTS, import_peer
from .cases import get_cases
from .problems import call_op
from .timing import best_time, limit_threads

__all__ = ["run_bench", "environment", "usable_cpus", "SCHEMA_VERSION", "PEER_SUBSET",
           "PEER_MAX_FULL_S"]

#: Version of the results dict (``fastseq bench --json``).
SCHEMA_VERSION = 2
#: Quick mode: a per-sequence peer loop estimated to take over ``PEER_MAX_FULL_S`` seconds on
#: the whole batch is timed (best of repeats) on its first ``PEER_SUBSET`` sequences and
#: scaled by token count.
PEER_SUBSET = 64
#: See ``PEER_SUBSET``.
PEER_MAX_FULL_S = 2.0


def _dist_version(name: str) -> Optional[str]:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def usable_cpus() -> Optional[int]:
    """Number of CPUs this process may use.

    Returns
    -------
    int or None
        The size of the CPU affinity mask where the platform has one, else
        :func:`os.cpu_count` (None when undetermined).

    Examples
    --------
    >>> from fastseq.bench.runner import usable_cpus
    >>> usable_cpus() >= 1
    True
    """
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def environment(impl_module: Optional[str]) -> Dict[str, Any]:
    """Versions and machine facts for the header of the results (cheap: imports no peer).

    Parameters
    ----------
    impl_module : str or None
        Name of the implementation under test, recorded as ``"impl"``.

    Returns
    -------
    dict
        ``fastseq``, ``impl``, ``show_config`` (the text of ``fastseq.show_config()``
        where it exists, else None; why it failed if it raised), ``numpy``, ``blas``
        (threadpoolctl's BLAS libraries: internal API, version, threads), ``peers``
        (installed versions of hmmlearn, pytorch-crf, torch and matplotlib, None where
        missing), ``python``, ``platform``, ``cpu_count``
        and ``cpus_usable``.

    Examples
    --------
    >>> from fastseq.bench.runner import environment
    >>> env = environment("fastseq.ops")
    >>> env["impl"], sorted(env["peers"])
    ('fastseq.ops', ['hmmlearn', 'matplotlib', 'pytorch-crf', 'torch'])
    """
    env: Dict[str, Any] = {
        "fastseq": __version__,
        "impl": impl_module,
        "show_config": None,
        "numpy": np.__version__,
        "blas": [],
        "peers": {d: _dist_version(d) for d in ("hmmlearn", "pytorch-crf", "torch",
                                                 "matplotlib")},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable_cpus(),
    }
    buf = io.StringIO()
    show_config(file=buf)
    env["show_config"] = buf.getvalue().strip()
    env["blas"] = [{k: info.get(k) for k in ("internal_api", "version", "num_threads")}
                   for info in threadpool_info() if info.get("user_api") == "blas"]
    return env


# --------------------------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------------------------


def _load_impl(impl: str):
    """Return (module, module name). ``impl``: ops | reference | auto."""
    if impl in ("ops", "auto"):
        try:
            return importlib.import_module("fastseq.ops"), "fastseq.ops"
        except ImportError as exc:
            if impl == "ops":
                raise ImportError(
                    "fastseq.ops (the compiled kernels) cannot be imported: "
                    f"{exc}. Build/install fastseq (pip install .), or run "
                    "`fastseq bench --impl reference` to exercise the harness on the "
                    "numpy reference.") from exc
    return importlib.import_module("fastseq._reference"), "fastseq._reference"


def _leaves(x) -> List[np.ndarray]:
    if x is None:
        return []
    if isinstance(x, (tuple, list)):
        out: List[np.ndarray] = []
        for v in x:
            out += _leaves(v)
        return out
    return [np.asarray(x)]


# the baselines that compute the same numbers as fastseq: the case's "check" compares them
CHECKED_BASELINES = ("reference", "fastseq.dense")


def _compare(got, want, dtype) -> Optional[str]:
    """None if the float outputs agree; else a short description of the mismatch."""
    tol = 1e-3 if np.dtype(dtype) == np.float32 else 1e-7
    g, w = _leaves(got), _leaves(want)
    if len(g) != len(w):
        return f"{len(g)} outputs vs {len(w)}"
    for i, (a, b) in enumerate(zip(g, w)):
        if a.shape != b.shape:
            return f"output {i}: shape {a.shape} vs {b.shape}"
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            a64, b64 = a.astype(np.float64), b.astype(np.float64)
            if not np.allclose(a64, b64, rtol=tol, atol=tol, equal_nan=True):
                with np.errstate(invalid="ignore"):
                    err = np.nanmax(np.abs(a64 - b64)) if a64.size else 0.0
                return f"output {i}: max abs error {err:.3g}"
    return None


def _progress(msg: str, enabled: bool) -> None:
    if enabled:
        print(msg, file=sys.stderr, flush=True)


def run_bench(*, threads: Optional[int] = None, mode: str = "quick", impl: str = "ops",
              peers: Sequence[str] = ("hmmlearn", "torchcrf"), budget: Optional[float] = None,
              ref_sequences: Optional[int] = None, peer_sequences: Optional[int] = None,
              case_filter: Optional[str] = None, progress: bool = False) -> Dict[str, Any]:
    """Run the benchmark and return the results dict (what ``fastseq bench --json`` prints).

    Every case (see :mod:`fastseq.bench`) times fastseq at ``threads`` and at 1 thread,
    then every baseline; fastseq's output is checked against the numpy reference's on the
    sequences the reference was timed on. Peers that are not installed, not asked for, or
    that fail are reported as ``n/a`` with the reason.

    Parameters
    ----------
    threads : int, optional
        Threads for fastseq and the threaded baselines (numpy matmul loop, pytorch-crf;
        outside smoke mode they are timed at 1 thread and at ``threads`` and keep the
        faster); fastseq's 1-thread time is measured too. Default: the cores this process
        may use.
    mode : {"quick", "full", "smoke"}, default="quick"
        The grid: the quick one, a bigger one (several minutes), or tiny shapes with one
        call each (checks the harness in seconds; the times mean nothing).
    impl : {"ops", "reference", "auto"}, default="ops"
        Implementation under test: the compiled :mod:`fastseq`, the numpy reference,
        or ``fastseq.ops`` falling back to the reference when it cannot be imported.
    peers : sequence of str, default=("hmmlearn", "torchcrf")
        The peers to time; the baselines of the others show ``n/a``.
    budget : float, optional
        Seconds per measurement (see :func:`best_time`). Default: 0.3 quick, 1.0 full,
        0 smoke.
    ref_sequences : int, optional
        Time the reference on the first K sequences of a batch and scale by token count
        (0: all; default 16 quick, 64 full, all in smoke mode).
    peer_sequences : int, optional
        The same for hmmlearn's per-sequence loop (0: all). Default: quick mode times it on
        the first ``PEER_SUBSET`` (64) sequences only where the whole batch is estimated to
        take over ``PEER_MAX_FULL_S`` (2) seconds a call; full and smoke time whole batches.
    case_filter : str, optional
        Only the cases whose name contains this text (e.g. ``"N=45"``).
    progress : bool, default=False
        Print each case's name on stderr as it starts.

    Returns
    -------
    dict
        JSON-serialisable: ``schema`` (:data:`SCHEMA_VERSION`), ``env``
        (:func:`environment`), ``config`` (the settings used), ``cases`` (one dict per
        case: its name, op, kind, shape, dtype, ``tokens``, ``fastseq_ms``,
        ``fastseq_1thread_ms``, ``timing`` (loops and repeats), ``check`` (``"ok"``,
        ``"-"`` when not checked, or what differs) and ``baselines``, one dict each with
        ``key``, ``label``, ``ms``, ``speedup`` (baseline ms / fastseq ms), ``status``
        (``"n/a"`` or ``""``), ``note``, ``extrapolated_from`` (``[timed, total]``
        sequences, or None) and ``threads``), ``notes`` (lines for the reader) and
        ``elapsed_s``.

    Raises
    ------
    ValueError
        If ``mode`` or ``impl`` is not one of the values above.
    ImportError
        If ``impl="ops"`` and :mod:`fastseq` cannot be imported.

    See Also
    --------
    format_table : The results as the table ``fastseq bench`` prints.
    write_plot : The speed-ups as a bar chart.

    Examples
    --------
    >>> from fastseq.bench import run_bench
    >>> res = run_bench(mode="smoke", peers=(), threads=1)
    >>> len(res["cases"]), res["config"]["mode"], res["config"]["impl"]
    (14, 'smoke', 'fastseq.ops')
    >>> case = res["cases"][11]
    >>> case["name"], case["check"]
    ('crf viterbi B=4 T=6 N=5 f32 ragged', 'ok')
    >>> [(b["key"], b["status"]) for b in case["baselines"]]
    [('reference', ''), ('torchcrf.decode', 'n/a')]
    >>> case["baselines"][1]["note"]
    'skipped (--peers)'
    """
    if mode not in ("smoke", "quick", "full"):
        raise ValueError(f"`mode` must be 'quick', 'full' or 'smoke', got {mode!r}")
    if impl not in ("ops", "reference", "auto"):
        raise ValueError(f"`impl` must be 'ops', 'reference' or 'auto', got {impl!r}")
    t_start = time.perf_counter()
    if threads is None:
        threads = usable_cpus() or 1
    mod, mod_name = _load_impl(impl)
    if budget is None:
        budget = {"smoke": 0.0, "quick": 0.3, "full": 1.0}[mode]
    if ref_sequences is None:
        ref_sequences = {"smoke": 0, "quick": 16, "full": 64}[mode]  # 0: all
    peer_auto = peer_sequences is None and mode == "quick"
    if peer_sequences is None:
        peer_sequences = 0
    min_time = 0.0 if mode == "smoke" else 0.02
    max_repeats = 1 if mode == "smoke" else None
    peers = tuple(peers)

    def timeit(fn):
        return best_time(fn, budget=budget, min_time=min_time, max_repeats=max_repeats)

    peer_error: Dict[str, Optional[str]] = {}

    def peer_available(peer: str) -> Optional[str]:
        """None if importable, else why not."""
        if peer not in peer_error:
            try:
                import_peer(peer)
                peer_error[peer] = None
            except Exception as exc:  # ImportError, or a broken install
                peer_error[peer] = f"{type(exc).__name__}: {exc}"
        return peer_error[peer]

    cases = get_cases(mode)
    if case_filter:
        cases = [c for c in cases if case_filter in c.name]
    results: List[Dict[str, Any]] = []
    for case in cases:
        _progress(f"[fastseq bench] {case.name}", progress)
        p = case.problem()
        rec: Dict[str, Any] = {
            "name": case.name, "op": case.op, "kind": case.kind, "B": case.B, "T": case.T,
            "N": case.N, "dtype": np.dtype(case.dtype).name, "ragged": case.ragged,
            "tokens": p.n_tokens,
        }
        t_n = timeit(call_op(case.op, mod, p, n_threads=threads))
        rec["fastseq_ms"] = t_n.best_s * 1e3
        if threads == 1:
            rec["fastseq_1thread_ms"] = rec["fastseq_ms"]
        else:
            rec["fastseq_1thread_ms"] = timeit(call_op(case.op, mod, p, n_threads=1)).best_s * 1e3
        rec["timing"] = {"loops": t_n.loops, "repeats": t_n.repeats}
        rec["check"] = "-"
        baselines = []
        for spec in case.baselines:
            b: Dict[str, Any] = {"key": spec.key, "label": spec.label, "ms": None,
                                 "speedup": None, "status": "", "note": "",
                                 "extrapolated_from": None, "threads": None}
            why = None
            if spec.peer is not None:
                if spec.peer not in peers:
                    why = "skipped (--peers)"
                else:
                    err = peer_available(spec.peer)
                    if err is not None:
                        why = f"not installed ({INSTALL_HINT}): {err}"
            if why is not None:
                b["status"] = "n/a"
                b["note"] = why
                baselines.append(b)
                continue
            sub = p
            try:
                if spec.max_sequences and p.B > spec.max_sequences:
                    sub = p.subset(spec.max_sequences)
                elif spec.subsample and ref_sequences and p.B > ref_sequences:
                    sub = p.subset(ref_sequences)
                elif spec.per_sequence and peer_sequences and p.B > peer_sequences:
                    sub = p.subset(peer_sequences)
                elif spec.per_sequence and peer_auto and p.B > PEER_SUBSET:
                    probe = p.subset(PEER_SUBSET // 4)
                    probe_fn = spec.make(probe)
                    t0 = time.perf_counter()
                    probe_fn()
                    est = (time.perf_counter() - t0) * p.n_tokens / probe.n_tokens
                    if est > PEER_MAX_FULL_S:
                        sub = p.subset(PEER_SUBSET)
            except Exception as exc:
                b["status"] = "n/a"
                b["note"] = f"failed: {type(exc).__name__}: {exc}"
                baselines.append(b)
                continue
            # multi-threaded baselines get their best thread count (1 or --threads): on
            # small problems, or a busy machine, one thread is often the faster
            thread_options = [threads]
            if spec.threaded and threads > 1 and mode != "smoke":
                thread_options.append(1)
            try:
                fn = spec.make(sub)
                timed = []
                for th in thread_options:
                    with limit_threads(th):
                        timed.append((timeit(fn), th))
                tb, th_best = min(timed, key=lambda x: x[0].best_s)  # the first of ties
                b["threads"] = th_best if spec.threaded else None
            except Exception as exc:
                b["status"] = "n/a"
                b["note"] = f"failed: {type(exc).__name__}: {exc}"
                baselines.append(b)
                continue
            scale = p.n_tokens / sub.n_tokens if sub is not p else 1.0
            if sub is not p:
                b["extrapolated_from"] = [sub.B, p.B]
                b["note"] = (f"timed on {sub.B} of {p.B} sequences, "
                             f"scaled by tokens x{scale:.3g}")
            b["ms"] = tb.best_s * 1e3 * scale
            b["speedup"] = b["ms"] / rec["fastseq_ms"] if rec["fastseq_ms"] > 0 else None
            if spec.key in CHECKED_BASELINES and mod_name != "fastseq._reference":
                # correctness check on the baseline's subset (same inputs)
                try:
                    got = call_op(case.op, mod, sub, n_threads=threads)()
                    bad = _compare(got, tb.result, case.dtype)
                    rec["check"] = "ok" if bad is None else f"MISMATCH: {bad}"
                except Exception as exc:
                    rec["check"] = f"error: {type(exc).__name__}: {exc}"
            baselines.append(b)
        rec["baselines"] = baselines
        results.append(rec)
        del p

    notes = []
    missing = sorted({PEER_DISTS[k] for k, v in peer_error.items() if v is not None})
    if missing:
        notes.append(f"not installed: {', '.join(missing)} -- `{INSTALL_HINT}` installs the "
                     "peers (hmmlearn, pytorch-crf, torch, matplotlib, pytest-benchmark)")
    if mod_name != "fastseq.ops":
        notes.append("fastseq.ops is not importable: the 'fastseq' columns time the numpy "
                     "reference as a stand-in")
    if any(b.get("extrapolated_from") for rec in results for b in rec["baselines"]):
        notes.append("~ : timed on the first sequences of the batch (reference: "
                     f"{ref_sequences}; hmmlearn, where the whole batch would take over "
                     f"{PEER_MAX_FULL_S:g} s a call: {peer_sequences or PEER_SUBSET}; the "
                     "dense kernels on a sparse model: 8) and "
                     "scaled to the batch by token count; --ref-sequences 0 / "
                     "--peer-sequences 0 time whole batches")
    if mode == "smoke":
        notes.append("smoke mode: tiny shapes, one call each; the times mean nothing")
    return {
        "schema": SCHEMA_VERSION,
        "env": environment(mod_name),
        "config": {"threads": threads, "mode": mode, "impl": mod_name, "budget_s": budget,
                   "ref_sequences": ref_sequences or None,
                   "peer_sequences": "auto" if peer_auto else (peer_sequences or None),
                   "peers": list(peers),
                   "case_filter": case_filter},
        "cases": results,
        "notes": notes,
        "elapsed_s": time.perf_counter() - t_start,
    }

