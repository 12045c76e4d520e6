"""The client of a call: the one given, one connected to a scheduler address, or an
embedded LocalCluster started for the call and closed after it; the kernel threads of the
tasks; the partitioning of plain lists; worker losses reported as :class:`WorkerError`."""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import dask
import dask.bag as db
from distributed import Client, KilledWorker, LocalCluster

from .. import ops
from ..exceptions import WorkerError

__all__ = ["submit_each", "connected", "kernel_threads", "as_bag", "is_bag", "reporting",
           "n_worker_threads", "reduce_to_client"]


@contextlib.contextmanager
def connected(client: Optional[Client], scheduler: Optional[str]) -> Iterator[Client]:
    """The client to run a call on.

    ``client`` when given; else a client of the scheduler at address ``scheduler``; else
    a :class:`distributed.LocalCluster` of one single-threaded worker process per usable
    core, started now and closed (with its client) when the block ends.
    """
    if client is not None and scheduler is not None:
        raise ValueError("pass `client` or `scheduler`, not both")
    if client is not None:
        if not isinstance(client, Client):
            raise TypeError(f"`client` must be a distributed.Client, got "
                            f"{type(client).__name__}")
        yield client
        return
    if scheduler is not None:
        if not isinstance(scheduler, str):
            raise TypeError(f"`scheduler` must be an address string such as "
                            f"'tcp://host:8786', got {type(scheduler).__name__}")
        with Client(scheduler, set_as_default=False) as c:
            yield c
        return
    n = ops.effective_n_threads(-1)
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as c:
        yield c


def _usable_cores() -> int:
    return ops.effective_n_threads(-1)


def n_worker_threads(client: Client) -> int:
    """The Dask threads of all the workers together (at least 1)."""
    return max(1, sum(client.nthreads().values()))


def kernel_threads(client: Client, n_threads: Optional[int]) -> int:
    """The OpenMP threads each task's kernels use: ``n_threads`` if given, else the usable
    cores of a worker's machine divided among the Dask threads of all the workers on it
    (the fewest over the machines, at least 1), so that workers x threads never exceeds
    the cores."""
    if n_threads is not None:
        if isinstance(n_threads, bool) or not isinstance(n_threads, int) or n_threads < 1:
            raise ValueError(f"`n_threads` must be a positive int or None, got {n_threads!r}")
        return n_threads
    workers = client.scheduler_info().get("workers", {})
    if not workers:
        return 1
    cores = client.run(_usable_cores)
    per_host: Dict[str, List[Any]] = {}
    for addr, w in workers.items():
        per_host.setdefault(w.get("host", addr), []).append((addr, w.get("nthreads", 1)))
    best = None
    for entries in per_host.values():
        threads = sum(t for _, t in entries)
        host_cores = max(cores.get(a, 1) for a, _ in entries)
        share = max(1, host_cores // max(1, threads))
        best = share if best is None else min(best, share)
    return best or 1


def is_bag(x: Any) -> bool:
    """Whether ``x`` is a dask.bag.Bag."""
    return isinstance(x, db.Bag)


def as_bag(items: Sequence[Any], npartitions: int) -> db.Bag:
    """A list as a bag of ``npartitions`` consecutive slices (fewer for a short list)."""
    n = len(items)
    k = max(1, min(npartitions, n))
    bounds = [n * i // k for i in range(k + 1)]
    parts = [list(items[bounds[i]:bounds[i + 1]]) for i in range(k)]
    return db.from_delayed([dask.delayed(p, traverse=False) for p in parts])


def reduce_to_client(client: Client, futures: List[Any], combine: Any,
                     split_every: int) -> Any:
    """The futures' results reduced by ``combine(*group)`` over groups of at most
    ``split_every`` consecutive ones, level by level on the workers until at most
    ``split_every`` are left, which the client gathers and combines: a fixed tree, so a
    fixed order of the additions."""
    level = list(futures)
    while len(level) > split_every:
        level = [client.submit(combine, *level[i:i + split_every], pure=False)
                 for i in range(0, len(level), split_every)]
    return combine(*client.gather(level, direct=True))


def submit_each(client: Client, fn: Callable[..., Any], futures: List[Any],
                *args: Any) -> List[Any]:
    """One task ``fn(result, *args)`` per future. The arguments (the weights of an
    evaluation, a model) travel inside each task, not as scattered data: a scattered
    value has no lineage, so a worker that dies holding it cancels the tasks that need
    it, and a broadcast scatter (the scheduler's replicate) never returns when a worker
    dies while it copies. Inside the task, a partition lost with its worker is recomputed
    with its argument and the evaluation goes on."""
    return [client.submit(fn, f, *args, pure=False) for f in futures]


@contextlib.contextmanager
def reporting(step: str) -> Iterator[None]:
    """Turn a task that kept killing its workers into a :class:`WorkerError` naming
    ``step``."""
    try:
        yield
    except KilledWorker as exc:
        raise WorkerError(
            f"{step}: workers died again and again running the same task, so it was given "
            f"up ({exc}). A worker that dies this way has most often used more memory than "
            "it may: split the data into more partitions (`npartitions`) or give each "
            "worker more memory (memory_limit).") from exc
