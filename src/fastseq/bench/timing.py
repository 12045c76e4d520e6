"""Timing: best of repeats, and thread limits for the baselines."""
from __future__ import annotations

import contextlib
import gc
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

from threadpoolctl import threadpool_limits

__all__ = ["Timing", "best_time", "limit_threads"]


@dataclass
class Timing:
    """The measurement of a call by :func:`best_time`.

    Parameters
    ----------
    best_s : float
        Best (minimum) seconds per call, over the repeats.
    loops : int
        Calls per repeat in the last repeat measured (1 when only the first call was).
    repeats : int
        Repeats measured, the first (single) call included.
    spent_s : float
        Total seconds spent calling.
    result : object, default=None
        What the first call returned (not shown in the ``repr``).

    Examples
    --------
    >>> from fastseq.bench import best_time
    >>> t = best_time(lambda: 42, budget=0)
    >>> t.repeats, t.loops, t.result, t.best_s == t.spent_s
    (1, 1, 42, True)
    """

    best_s: float          # best (minimum) seconds per call
    loops: int             # calls per repeat in the last repeat
    repeats: int           # repeats measured (the first, single call included)
    spent_s: float         # total seconds spent calling
    result: Any = field(default=None, repr=False)


def best_time(fn: Callable[[], Any], *, budget: float = 0.5, min_time: float = 0.02,
              max_repeats: Optional[int] = None) -> Timing:
    """Best seconds per call of ``fn()``: ``time.perf_counter``, minimum over repeats.

    The first call is timed alone (it is also the warm-up); then repeats of ``loops`` calls
    each (``loops`` grows until a repeat lasts ``min_time``) run while the next repeat is
    expected to fit in ``budget`` seconds in all. A call slower than the budget is measured
    once. The garbage collector is off while timing.

    Parameters
    ----------
    fn : callable
        The call to time, without arguments.
    budget : float, default=0.5
        Seconds to spend in all; ``budget=0`` measures exactly one call.
    min_time : float, default=0.02
        Shortest duration of a repeat, in seconds: fast calls are looped.
    max_repeats : int, optional
        At most this many repeats, the first call included (``1``: the first call only).

    Returns
    -------
    Timing
        The best seconds per call, the loops and repeats measured, the seconds spent, and
        the result of the first call.

    Examples
    --------
    >>> from fastseq.bench import best_time
    >>> t = best_time(lambda: sum(range(1000)), budget=0.05, min_time=0.001)
    >>> t.result, t.repeats >= 1, 0 < t.best_s <= t.spent_s
    (499500, True, True)
    >>> best_time(lambda: None, max_repeats=1).repeats
    1
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        result = fn()
        first = time.perf_counter() - t0
        best, spent, repeats, loops, last_loops = first, first, 1, 1, 1
        if first > 0:
            loops = max(1, min(1_000_000, int(math.ceil(min_time / first))))
        while (max_repeats is None or repeats < max_repeats) and \
                spent + best * loops <= budget:
            t0 = time.perf_counter()
            for _ in range(loops):
                fn()
            dt = time.perf_counter() - t0
            spent += dt
            repeats += 1
            last_loops = loops
            best = min(best, dt / loops)
            if dt < min_time:
                loops = max(loops + 1, int(math.ceil(loops * min_time / max(dt, 1e-9))))
    finally:
        if gc_was_enabled:
            gc.enable()
    return Timing(best, last_loops, repeats, spent, result)


@contextlib.contextmanager
def limit_threads(n: int) -> Iterator[None]:
    """Limit BLAS (numpy) and torch intra-op threads to ``n`` for the baselines.

    BLAS threads are limited with threadpoolctl (if it cannot, the default is kept);
    torch's intra-op threads with ``torch.set_num_threads`` when torch is already imported.
    Both are restored on exit. fastseq's own kernels take ``n_threads`` instead.

    Parameters
    ----------
    n : int
        Number of threads.

    Yields
    ------
    None
        The block runs with the limits in place.

    Examples
    --------
    >>> from threadpoolctl import threadpool_info
    >>> from fastseq.bench import limit_threads
    >>> with limit_threads(1):
    ...     blas = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    >>> all(n == 1 for n in blas)
    True
    """
    stack = contextlib.ExitStack()
    with stack:
        stack.enter_context(threadpool_limits(limits=n, user_api="blas"))
        torch = sys.modules.get("torch")
        if torch is not None and hasattr(torch, "set_num_threads"):
            old = torch.get_num_threads()
            torch.set_num_threads(n)
            stack.callback(torch.set_num_threads, old)
        yield
