"""Concurrency and process-layout guarantees.

* Python threads calling the kernels and the models at the same time, each with its own
  ``n_threads``, get bitwise the single-threaded results.
* A process that has run multi-threaded kernels and then forks (``os.fork``, every
  ``multiprocessing`` start method, a process pool, torch's DataLoader workers) gets working
  kernels in the child -- the same results, or a clear error -- and never a hang.
* ``n_threads`` far above the core count does not start thousands of threads, and runs
  under a tight address-space limit.

Every process scenario runs in a fresh interpreter (a script written to ``tmp_path``) in its
own session, killed as a whole when it does not finish in time, so a hang fails one test
instead of stopping the suite.
"""
from __future__ import annotations

import contextlib
import copy
import importlib.util
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
from typing import Any, Callable, Dict, List, Tuple

import numpy as np
import pytest

import fastseq
from fastseq.crf import CRF
from fastseq.hmm import CategoricalHMM, GaussianHMM
from fastseq.taggers import CRFTagger, HMMTagger

HAS_FORK = hasattr(os, "fork")
HAS_PROC_TASKS = os.path.isdir("/proc/self/task")
needs_fork = pytest.mark.skipif(not HAS_FORK, reason="needs os.fork")
needs_proc = pytest.mark.skipif(not HAS_PROC_TASKS, reason="needs Linux /proc/self/task")

# A scenario that has not finished after this long is hung (a normal run takes ~1-3 s).
HANG_SECONDS = 60

# ---------------------------------------------------------------------------------------------
# 1. many Python threads, mixed n_threads: bitwise the single-threaded results
# ---------------------------------------------------------------------------------------------

N_PYTHON_THREADS = 16
THREAD_COUNTS: Tuple[Any, ...] = (1, 2, None, -1, 64)
ROUNDS = 3


def _bitwise_equal(a: Any, b: Any) -> bool:
    """Same structure, and arrays with the same dtype, shape and bytes."""
    if isinstance(a, (tuple, list)):
        return (isinstance(b, (tuple, list)) and len(a) == len(b)
                and all(_bitwise_equal(x, y) for x, y in zip(a, b)))
    if isinstance(a, dict):
        return (isinstance(b, dict) and a.keys() == b.keys()
                and all(_bitwise_equal(a[k], b[k]) for k in a))
    if a is None or isinstance(a, str):
        return a == b
    x, y = np.asarray(a), np.asarray(b)
    return (x.dtype == y.dtype and x.shape == y.shape
            and np.ascontiguousarray(x).tobytes() == np.ascontiguousarray(y).tobytes())


def _kernel_cases(rng, make) -> List[Tuple[str, Callable[[Any], Any]]]:
    """(name, call(n_threads)) for every kernel, float32 and float64, on a ragged concatenated
    batch with many sequences (more groups than 64 threads) and a ragged padded batch."""
    cases = []
    N = 5
    for dtype in (np.float32, np.float64):
        trans, start, end = make.model(rng, N, dtype=dtype)
        for layout, B, T_max in (("concat", 300, 20), ("padded", 24, 40)):
            lengths = make.lengths(rng, B, T_max)
            seqs = [make.emissions(rng, int(n), N, dtype=dtype) for n in lengths]
            em, lens = make.batch(rng, layout, seqs)
            tags = make.pack_tags(layout, make.tags(rng, lengths, N), T=T_max)
            kw = dict(start=start, end=end, lengths=lens)
            name = f"{np.dtype(dtype).name}/{layout}"

            def bind(fn, *args, _kw=kw, **extra):
                return lambda nt: fn(*args, **_kw, **extra, n_threads=nt)

            cases += [
                (f"log_partition {name}", bind(fastseq.log_partition, em, trans)),
                (f"forward {name}", bind(fastseq.forward, em, trans)),
                (f"backward {name}", bind(fastseq.backward, em, trans)),
                (f"marginals {name}", bind(fastseq.marginals, em, trans, pairwise=True)),
                (f"viterbi {name}", bind(fastseq.viterbi, em, trans)),
                (f"kbest {name}", bind(fastseq.kbest, em, trans, 3)),
                (f"posterior_decode {name}", bind(fastseq.posterior_decode, em, trans)),
                (f"sequence_score {name}", bind(fastseq.sequence_score, em, trans, tags)),
                (f"crf_nll {name}", bind(fastseq.crf_nll, em, trans, tags, reduction="none")),
            ]
    return cases


_TAGGED = [[tuple(tok.rsplit("/", 1)) for tok in line.split()] for line in (
    "the/DET dog/NOUN barks/VERB ./PUNCT",
    "a/DET cat/NOUN sleeps/VERB quietly/ADV ./PUNCT",
    "the/DET bank/NOUN raises/VERB fees/NOUN ./PUNCT",
    "Anna/PROPN rates/VERB the/DET film/NOUN highly/ADV ./PUNCT",
    "we/PRON visited/VERB Gdansk/PROPN and/CCONJ Hamburg/PROPN ./PUNCT",
)] * 4


def _model_cases(rng, tmp_path) -> List[Tuple[str, Dict[Any, Any], Callable[[Any], Any]]]:
    """(name, {n_threads: fitted model}, call(model)) for the models and the taggers: one
    small fitted model, copied (or, for the CRF tagger, loaded) with each n_threads of
    THREAD_COUNTS."""
    lengths = np.array([1, 7, 40, 52, 100, 100])
    X_cat = rng.integers(0, 6, size=(int(lengths.sum()), 1))
    X_gau = rng.normal(size=(int(lengths.sum()), 2)) + 3 * (X_cat > 2)
    cat = CategoricalHMM(3, n_iter=5, random_state=0, n_threads=1).fit(X_cat, lengths)
    gau = GaussianHMM(3, n_iter=5, random_state=0, n_threads=1).fit(X_gau, lengths)
    X_crf = [[{"w": w, "suf": w[-2:], "bias": 1.0} for w, _ in s] for s in _TAGGED]
    y_crf = [[t for _, t in s] for s in _TAGGED]
    crf = CRF(c2=0.1, max_iterations=30, n_threads=1).fit(X_crf, y_crf)
    hmm_tagger = HMMTagger(n_threads=1).train(_TAGGED)
    crf_tagger = CRFTagger(templates="pos", c2=0.1, max_iterations=20, n_threads=1).train(
        _TAGGED)
    words = [[w for w, _ in s] for s in _TAGGED]

    def copies(model):
        return {nt: copy.deepcopy(model).set_params(n_threads=nt) for nt in THREAD_COUNTS}

    # loaded taggers too: their n_threads comes from load, not from set_params
    crf_tagger.save(tmp_path / "tagger.crf")
    loaded = {nt: CRFTagger.load(tmp_path / "tagger.crf", n_threads=nt) for nt in THREAD_COUNTS}

    def hmm_outputs(m, X):
        return (m.predict(X, lengths), m.score(X, lengths), m.predict_proba(X, lengths),
                m.decode(X, lengths))

    return [
        ("CategoricalHMM", copies(cat), lambda m: hmm_outputs(m, X_cat)),
        ("GaussianHMM", copies(gau), lambda m: hmm_outputs(m, X_gau)),
        ("CRF", copies(crf),
         lambda m: (m.predict(X_crf), m.predict_marginals_array(X_crf), m.score(X_crf, y_crf))),
        ("HMMTagger", copies(hmm_tagger), lambda m: m.predict(words)),
        ("CRFTagger", copies(crf_tagger),
         lambda m: (m.predict(words), m.predict_marginals(words))),
        ("CRFTagger loaded", loaded,
         lambda m: (m.predict(words), m.predict_marginals(words))),
    ]


def _hammer(jobs: List[Tuple[str, Callable[[Any], Any], Any]]) -> None:
    """Run every ``(name, call(n_threads), expected)`` job from N_PYTHON_THREADS threads at
    once, for ROUNDS rounds, each thread with its own entry of THREAD_COUNTS (rotating by
    round), and fail on any difference from ``expected``, any exception or any thread that
    does not finish."""
    barrier = threading.Barrier(N_PYTHON_THREADS, timeout=HANG_SECONDS)
    problems: List[str] = []

    def worker(i):
        try:
            for r in range(ROUNDS):
                nt = THREAD_COUNTS[(i + r) % len(THREAD_COUNTS)]
                barrier.wait()
                # each thread walks the jobs from a different place: different kernels overlap
                shift = (7 * i + r) % len(jobs)
                for name, call, expected in jobs[shift:] + jobs[:shift]:
                    if not _bitwise_equal(call(nt), expected):
                        problems.append(f"{name}: n_threads={nt} (thread {i}, round {r}) "
                                        "differs from n_threads=1")
        except BaseException as e:  # noqa: BLE001 - reported below, with the thread
            problems.append(f"thread {i}: {type(e).__name__}: {e}")
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True)
               for i in range(N_PYTHON_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HANG_SECONDS)
    hung = [t.name for t in threads if t.is_alive()]
    assert not hung, f"hung: {len(hung)} threads still running after {HANG_SECONDS} s"
    assert not problems, "\n".join(sorted(set(problems))[:20])


@pytest.mark.usefixtures("every_requested_thread")
def test_threads_hammering_kernels_get_single_threaded_results(rng, make):
    cases = _kernel_cases(rng, make)
    _hammer([(name, call, call(1)) for name, call in cases])


@pytest.mark.usefixtures("every_requested_thread")
def test_threads_hammering_models_get_single_threaded_results(rng, tmp_path):
    jobs = []
    for name, models, call in _model_cases(rng, tmp_path):
        expected = call(models[1])
        jobs.append((name, lambda nt, _m=models, _c=call: _c(_m[nt]), expected))
    _hammer(jobs)


# ---------------------------------------------------------------------------------------------
# process scenarios: a script in a fresh interpreter, in its own session
# ---------------------------------------------------------------------------------------------

# The start of every scenario script. compute() returns digests of the outputs of the kernels
# on a batch large enough that n_threads=2 really runs two threads (and fastseq's
# small-batch shortcut does not apply), so results compare bitwise across processes.
_PRELUDE = '''
import hashlib
import json
import os
import sys
import threading
import traceback

import numpy as np

import fastseq

N_STATES = 16


def inputs():
    rng = np.random.default_rng(20240917)
    lengths = rng.integers(1, 200, size=64)
    lengths[:3] = (0, 1, 200)
    em = rng.normal(size=(int(lengths.sum()), N_STATES))
    trans = rng.normal(size=(N_STATES, N_STATES))
    start, end = rng.normal(size=N_STATES), rng.normal(size=N_STATES)
    tags = rng.integers(0, N_STATES, size=em.shape[0])
    return em, trans, start, end, lengths, tags


def digest(a):
    a = np.ascontiguousarray(a)
    return hashlib.sha256(f"{a.dtype}{a.shape}".encode() + a.tobytes()).hexdigest()


def compute(n_threads):
    """{output name: digest} of every kind of kernel on inputs()."""
    em, trans, start, end, lengths, tags = inputs()
    kw = dict(start=start, end=end, lengths=lengths, n_threads=n_threads)
    out = {}
    out["viterbi.paths"], out["viterbi.scores"] = fastseq.viterbi(em, trans, **kw)
    m = fastseq.marginals(em, trans, pairwise=True, **kw)
    out["marginals.node"], out["marginals.pair"], out["marginals.log_Z"] = m
    out["kbest.paths"], out["kbest.scores"] = fastseq.kbest(em, trans, 3, **kw)
    nll, grad = fastseq.crf_nll(em, trans, tags, reduction="none", **kw)
    out["crf_nll"] = nll
    for i, g in enumerate(grad):
        out[f"crf_nll.grad{i}"] = g
    return {k: digest(v) for k, v in out.items()}


def thread_count():
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def report(ok, detail=""):
    print(json.dumps({"ok": bool(ok), "detail": detail}), flush=True)


def warm_parent():
    """Run multi-threaded kernels in this process; return the n_threads=1 digests."""
    before = thread_count()
    expected = compute(1)
    if compute(2) != expected:
        raise SystemExit("parent: n_threads=2 differs from n_threads=1")
    after = thread_count()
    if before is not None and after <= before:
        raise SystemExit("precondition: the parent's n_threads=2 calls started no thread")
    print(f"parent warm: {before} -> {after} threads", flush=True)
    return expected


def child_outcome():
    """In a child: ("results", {n_threads: digests}), ("error", message) for a
    RuntimeError (a clear refusal), or ("crash", traceback) for anything else."""
    try:
        return ("results", {nt: compute(nt) for nt in (2, None, 1)})
    except RuntimeError as e:
        return ("error", f"{type(e).__name__}: {e}")
    except BaseException:
        return ("crash", traceback.format_exc())


def judge(outcome, expected, who="child"):
    """(ok, detail) for a child_outcome() against the parent's digests."""
    kind, value = outcome
    if kind == "results":
        bad = [f"n_threads={nt}: {k}" for nt, d in value.items() for k in d
               if d[k] != expected.get(k)]
        return not bad, f"{who}: results differ from the parent's: {bad}" if bad else ""
    if kind == "error" and value.split(":", 1)[1].strip():
        return True, f"{who} refused with a clear error: {value}"
    return False, f"{who}: {kind}: {value}"
'''


def _kill_session(proc: subprocess.Popen) -> None:
    """Kill a scenario and every process it started (its session's process group)."""
    if HAS_FORK:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    elif proc.poll() is None:
        proc.kill()


def _run_scenario(tmp_path, body: str, prelude: str = "", timeout: float = HANG_SECONDS) -> str:
    """Run ``_PRELUDE + prelude + body`` (``body`` calls ``report`` once) as a script in a new
    session; fail on a hang (killing the whole session), a death or a report of failure.
    Returns the report's detail."""
    script = tmp_path / "scenario.py"
    script.write_text(_PRELUDE + prelude + textwrap.dedent(body))
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=HAS_FORK)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_session(proc)
        out, err = proc.communicate()
        pytest.fail(f"hung: no result within {timeout} s (process group killed)\n"
                    f"stdout:\n{out}\nstderr (end):\n{err[-3000:]}")
    finally:
        _kill_session(proc)  # forked children left behind by a scenario that did finish
    reports = [json.loads(line) for line in out.splitlines() if line.startswith('{"ok"')]
    assert proc.returncode == 0 and len(reports) == 1, (
        f"died: exit status {proc.returncode}, {len(reports)} report(s)\n"
        f"stdout:\n{out}\nstderr (end):\n{err[-3000:]}")
    assert reports[0]["ok"], reports[0]["detail"]
    return reports[0]["detail"]


# ---------------------------------------------------------------------------------------------
# 2. fork (and the other start methods) after multi-threaded kernel use
# ---------------------------------------------------------------------------------------------

@needs_fork
def test_os_fork_after_multithreaded_kernels(tmp_path):
    _run_scenario(tmp_path, '''
        import pickle

        expected = warm_parent()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r)
                with os.fdopen(w, "wb") as f:
                    pickle.dump(child_outcome(), f)
            finally:
                os._exit(0)
        os.close(w)
        with os.fdopen(r, "rb") as f:
            data = f.read()
        _, status = os.waitpid(pid, 0)
        if not data:
            report(False, f"child died without a result, wait status {status}")
        else:
            ok, detail = judge(pickle.loads(data), expected)
            # the parent keeps working after the fork
            if ok and compute(2) != expected:
                ok, detail = False, "parent: results changed after the fork"
            report(ok, detail)
    ''')


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_multiprocessing_child_after_multithreaded_kernels(tmp_path, method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"start method {method!r} is not available here")
    _run_scenario(tmp_path, f'''
        import multiprocessing


        def child_main(conn):
            conn.send(child_outcome())
            conn.close()


        if __name__ == "__main__":
            expected = warm_parent()
            ctx = multiprocessing.get_context({method!r})
            receive, send = ctx.Pipe(duplex=False)
            p = ctx.Process(target=child_main, args=(send,))
            p.start()
            send.close()
            try:
                outcome = receive.recv()
            except EOFError:
                outcome = ("crash", "the child died without a result")
            p.join()
            ok, detail = judge(outcome, expected)
            if ok and p.exitcode != 0:
                ok, detail = False, f"child exit code {{p.exitcode}}"
            report(ok, detail)
    ''')


@needs_fork
def test_fork_process_pool_after_multithreaded_kernels(tmp_path):
    _run_scenario(tmp_path, '''
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        if __name__ == "__main__":
            expected = warm_parent()
            ctx = multiprocessing.get_context("fork")
            try:
                with ProcessPoolExecutor(2, mp_context=ctx) as pool:
                    outcomes = [f.result() for f in
                                [pool.submit(child_outcome) for _ in range(4)]]
            except Exception as e:  # a worker died: BrokenProcessPool
                outcomes = [("crash", f"{type(e).__name__}: {e}")]
            verdicts = [judge(o, expected, f"task {i}") for i, o in enumerate(outcomes)]
            report(all(ok for ok, _ in verdicts), "; ".join(d for _, d in verdicts if d))
    ''')


@needs_fork
def test_fork_while_another_thread_runs_kernels(tmp_path):
    """The fork happens while a second thread is inside multi-threaded kernels."""
    _run_scenario(tmp_path, '''
        import multiprocessing


        def child_main(conn):
            conn.send(child_outcome())
            conn.close()


        if __name__ == "__main__":
            expected = warm_parent()
            stop = threading.Event()
            busy_errors = []

            def busy():
                while not stop.is_set():
                    if compute(2) != expected:
                        busy_errors.append("busy thread: results differ")

            t = threading.Thread(target=busy)
            t.start()
            ctx = multiprocessing.get_context("fork")
            verdicts = []
            for i in range(3):
                receive, send = ctx.Pipe(duplex=False)
                p = ctx.Process(target=child_main, args=(send,))
                p.start()
                send.close()
                try:
                    outcome = receive.recv()
                except EOFError:
                    outcome = ("crash", "the child died without a result")
                p.join()
                verdicts.append(judge(outcome, expected, f"child {i}"))
            stop.set()
            t.join()
            ok = all(ok for ok, _ in verdicts) and not busy_errors
            report(ok, "; ".join([d for _, d in verdicts if d] + busy_errors))
    ''')


@needs_fork
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
def test_torch_dataloader_fork_workers_after_multithreaded_kernels(tmp_path):
    _run_scenario(tmp_path, '''
        import torch
        from torch.utils.data import DataLoader, Dataset


        class Decoded(Dataset):
            """Item i: the digest of viterbi on the whole batch, with n_threads=2."""

            def __len__(self):
                return 6

            def __getitem__(self, i):
                em, trans, start, end, lengths, _ = inputs()
                paths, scores = fastseq.viterbi(em, trans, start=start, end=end,
                                                lengths=lengths, n_threads=2)
                return digest(paths) + digest(scores)


        if __name__ == "__main__":
            expected = warm_parent()
            want = expected["viterbi.paths"] + expected["viterbi.scores"]
            loader = DataLoader(Decoded(), batch_size=None, num_workers=2,
                                multiprocessing_context="fork")
            got = list(loader)
            bad = [i for i, g in enumerate(got) if g != want]
            report(len(got) == 6 and not bad, f"items differing from the parent's: {bad}")
    ''')


# ---------------------------------------------------------------------------------------------
# 3. n_threads far above the core count
# ---------------------------------------------------------------------------------------------

# Many short sequences with many states: enough work and enough sequences that nothing but
# a cap on threads keeps n_threads=10**5 from starting about a thousand of them.
_MANY_THREADS_PRELUDE = '''
import resource
import time

CORES = max(os.cpu_count() or 1, len(os.sched_getaffinity(0)))
HUGE = 10**5


def big_inputs():
    rng = np.random.default_rng(7)
    N = 64
    lengths = np.full(8192, 8)
    em = rng.normal(size=(int(lengths.sum()), N)).astype(np.float32)
    trans = rng.normal(size=(N, N)).astype(np.float32)
    return em, trans, lengths


def big_compute(n_threads):
    em, trans, lengths = big_inputs()
    kw = dict(lengths=lengths, n_threads=n_threads)
    out = {}
    out["viterbi.paths"], out["viterbi.scores"] = fastseq.viterbi(em, trans, **kw)
    out["forward.alpha"], out["forward.log_Z"] = fastseq.forward(em, trans, **kw)
    out["posterior_decode.paths"], out["posterior_decode.node"] = fastseq.posterior_decode(
        em, trans, **kw)
    return {k: digest(v) for k, v in out.items()}
'''


@needs_proc
def test_huge_n_threads_starts_few_threads(tmp_path):
    _run_scenario(tmp_path, prelude=_MANY_THREADS_PRELUDE, body='''
        expected = big_compute(1)
        baseline = thread_count()
        peak = [baseline]
        stop = threading.Event()

        def monitor():
            while not stop.is_set():
                peak[0] = max(peak[0], thread_count() - 1)  # less the monitor itself
                time.sleep(0.0005)

        t = threading.Thread(target=monitor)
        t.start()
        got = big_compute(HUGE)
        stop.set()
        t.join()
        after = thread_count()
        limit = baseline + CORES + 4
        report(peak[0] <= limit and after <= limit and got == expected,
               f"threads: {baseline} before, peak {peak[0]} during, {after} after; "
               f"limit {limit} ({CORES} cores); results equal: {got == expected}")
    ''')


@pytest.mark.skipif(importlib.util.find_spec("resource") is None or not HAS_PROC_TASKS,
                    reason="needs resource.setrlimit and Linux /proc")
def test_huge_n_threads_under_address_space_limit(tmp_path):
    _run_scenario(tmp_path, prelude=_MANY_THREADS_PRELUDE, body='''
        def vm_size():
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmSize:"):
                        return int(line.split()[1]) * 1024

        expected = big_compute(1)
        # room for the data and a thread team of about the core count (a stack and a malloc
        # arena per thread), far from enough for a thread per sequence group
        limit = vm_size() + (512 + 128 * CORES) * 2**20
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        print(f"RLIMIT_AS = {limit / 2**30:.2f} GiB", flush=True)
        if big_compute(-1) != expected:
            raise SystemExit("control: n_threads=-1 under the limit differs from n_threads=1")
        try:
            got = big_compute(HUGE)
        except MemoryError as e:
            report(False, f"n_threads={HUGE} under RLIMIT_AS: MemoryError: {e}")
        else:
            report(got == expected, "results differ from n_threads=1")
    ''')


def test_threads_give_the_single_thread_results_on_a_large_batch():
    # big enough (tens of milliseconds) for every thread of the team to take groups
    rng = np.random.default_rng(11)
    B, T, N = 600, 60, 24
    em = rng.normal(size=(B, T, N))
    tr = rng.normal(size=(N, N))
    tags = rng.integers(0, N, size=(B, T))
    lengths = rng.integers(1, T + 1, size=B)
    one = fastseq.crf_nll(em, tr, tags, lengths=lengths, reduction="none", n_threads=1)
    for _ in range(3):
        two = fastseq.crf_nll(em, tr, tags, lengths=lengths, reduction="none", n_threads=2)
        assert np.array_equal(one[0], two[0])
        assert np.array_equal(one[1].emissions, two[1].emissions)
        assert np.array_equal(one[1].transitions, two[1].transitions)


# ---------------------------------------------------------------------------------------------
# 4. next to torch: the main thread's calls may run on torch's OpenMP team
# ---------------------------------------------------------------------------------------------

# A first multi-threaded call from the thread that enabled the team always runs on it (that
# is how the team's threads are learnt); the pool's workers are the threads named
# "fastseq-pool".
_TEAM_PRELUDE = '''
import time


def pool_started():
    names = []
    for t in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{t}/comm") as f:
                names.append(f.read().strip())
        except FileNotFoundError:  # a thread that has just ended
            pass
    return "fastseq-pool" in names


def one_call():
    em, trans, start, end, lengths, _ = inputs()
    return fastseq.viterbi(em, trans, lengths=lengths, n_threads=2)
'''


@needs_proc
def test_calls_on_the_openmp_team_give_the_single_threaded_results(tmp_path):
    _run_scenario(tmp_path, prelude=_TEAM_PRELUDE, body='''
        import fastseq._kernels

        expected = compute(1)
        fastseq._kernels.set_openmp_team(True)
        before = thread_count()
        one_call()
        on_team = not pool_started() and thread_count() > before
        results = [compute(2) for _ in range(3)]
        time.sleep(0.05)  # the team's threads sleep by now: the pool runs the next call
        results.append(compute(2))
        other = []
        t = threading.Thread(target=lambda: other.append(compute(2)))
        t.start()
        t.join()
        same = [r == expected for r in results + other]
        report(on_team and pool_started() and all(same),
               f"first call on the team: {on_team}; pool started: {pool_started()}; "
               f"results equal to n_threads=1: {same}")
    ''')


@needs_proc
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
def test_calls_between_torch_ops_give_the_single_threaded_results(tmp_path):
    _run_scenario(tmp_path, prelude=_TEAM_PRELUDE, body='''
        import torch

        torch.set_num_threads(2)
        a = torch.randn(256, 256)
        expected = compute(1)
        (a @ a).sum()
        one_call()
        on_team = not pool_started()
        results = []
        for pause in (0.0, 0.0, 0.06, 0.0, 0.06):
            (a @ a).sum()
            time.sleep(pause)
            results.append(compute(2))
        other = []
        t = threading.Thread(target=lambda: other.append(compute(2)))
        t.start()
        results.append(compute(2))
        t.join()
        same = [r == expected for r in results + other]
        report(on_team and all(same), f"first call on torch's team: {on_team}; "
                                      f"results equal to n_threads=1: {same}")
    ''')


@needs_proc
def test_ctrl_c_stops_a_call_on_the_openmp_team(tmp_path):
    _run_scenario(tmp_path, prelude=_TEAM_PRELUDE, body='''
        import _thread
        import fastseq._kernels

        rng = np.random.default_rng(7)
        em, tr = rng.normal(size=(400, 20, 40)), rng.normal(size=(40, 40))
        fastseq._kernels.set_openmp_team(True)
        fired = []
        timer = threading.Timer(0.3, lambda: (fired.append(time.perf_counter()),
                                              _thread.interrupt_main()))
        timer.start()
        try:
            fastseq.kbest(em, tr, 300, n_threads=2)  # seconds of work, the team's first call
            report(False, "the call finished before the interrupt: make it longer")
        except KeyboardInterrupt:
            took = time.perf_counter() - fired[0]
            report(took < 1.0 and not pool_started(),
                   f"stopped {took:.2f} s after the interrupt; pool started: {pool_started()}")
    ''')
