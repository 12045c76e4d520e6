"""Timing: best of repeats, and thread limits for the baselines."""
from __future__ import annotations

import contextlib
import gc
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

__all__ = ["Timing", "best_time", "limit_threads"]


@dataclass
class Timing:
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
    once. ``budget=0`` measures exactly one call.
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        result = fn()
        first = time.perf_counter() - t0
        best, spent, repeats, loops = first, first, 1, 1
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
            best = min(best, dt / loops)
            if dt < min_time:
                loops = max(loops + 1, int(math.ceil(loops * min_time / max(dt, 1e-9))))
    finally:
        if gc_was_enabled:
            gc.enable()
    return Timing(best, loops, repeats, spent, result)


@contextlib.contextmanager
def limit_threads(n: int):
    """Limit BLAS (numpy) and torch intra-op threads to ``n`` for the baselines."""
    stack = contextlib.ExitStack()
    with stack:
        try:
            from threadpoolctl import threadpool_limits
            stack.enter_context(threadpool_limits(limits=n, user_api="blas"))
        except Exception:  # threadpoolctl missing or unable: time with the default
            pass
        torch = sys.modules.get("torch")
        if torch is not None and hasattr(torch, "set_num_threads"):
            old = torch.get_num_threads()
            torch.set_num_threads(n)
            stack.callback(torch.set_num_threads, old)
        yield

