"""HMM training on a Dask cluster: Baum-Welch with the E-step statistics summed over the
partitions, and supervised counting the same way."""
from __future__ import annotations

import copy
from typing import Any, List, Optional, Tuple

import dask
import dask.array as da
import numpy as np
from distributed import Client

from .._state import all_or_nothing
from ..hmm import BaseHMM
from ..hmm._partitions import (
    HMMPart,
    Summary,
    add_stats,
    add_summaries,
    check_lengths,
    mstep,
    start_fit,
    start_supervised,
    summarise,
    supervised_mstep,
)
from ._cluster import (
    connected,
    is_bag,
    kernel_threads,
    n_worker_threads,
    reduce_to_client,
    reporting,
    submit_each,
)

__all__ = ["fit_hmm", "fit_hmm_supervised"]


# -- the tasks ------------------------------------------------------------------------------
def _part_of_sequences(seqs: List[Any], states: Optional[List[Any]] = None) -> HMMPart:
    seqs = [np.asarray(s) for s in seqs]
    if states is not None:
        states = list(states)
        if len(states) != len(seqs):
            raise ValueError(f"`X` and `states` differ in a partition: {len(seqs)} sequences "
                             f"against {len(states)}; give them the same partitioning")
    if not seqs:
        return HMMPart(np.zeros((0, 1)))
    lengths = [len(s) for s in seqs]
    X = np.concatenate([s.reshape(len(s), -1) for s in seqs])
    st = None if states is None else np.concatenate([np.asarray(s).reshape(-1)
                                                     for s in states])
    return HMMPart(X, lengths, st)


def _summary(part: HMMPart, model: BaseHMM, index: int) -> Summary:
    return summarise(part, model, index)


def _add_summaries(*parts: Summary) -> Summary:
    return add_summaries(parts)


def _data(part: HMMPart) -> Tuple[np.ndarray, np.ndarray]:
    return part.X, part.lengths


def _estep(part: HMMPart, model: BaseHMM, shift, n_threads: int):
    model = copy.copy(model)
    model.n_threads = n_threads
    return part.estep(model, shift)


def _supervised(part: HMMPart, model: BaseHMM, shift, n_threads: int):
    model = copy.copy(model)
    model.n_threads = n_threads
    return part.supervised_stats(model, shift)


def _add_stats(*parts):
    return add_stats(parts)


# -- partitioning on the client --------------------------------------------------------------
def _cuts(lengths: np.ndarray, k: int) -> List[int]:
    """Sequence indices splitting ``lengths`` into ``k`` runs of about equal samples."""
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if ends.size else 0
    cuts = [0]
    for i in range(1, k):
        j = int(np.searchsorted(ends, total * i / k)) + 1
        cuts.append(min(max(j, cuts[-1]), lengths.size))
    cuts.append(int(lengths.size))
    return cuts


def _parts(X: Any, lengths: Any, states: Any, npartitions: int) -> List[Any]:
    """Delayed :class:`HMMPart` objects, each of whole sequences."""
    if is_bag(X):
        if lengths is not None:
            raise ValueError("`lengths` goes with an array `X`; a bag holds one sequence an "
                             "item")
        if states is not None:
            if not is_bag(states) or states.npartitions != X.npartitions:
                raise ValueError("`states` must be a bag partitioned as `X`")
            return [dask.delayed(_part_of_sequences)(x, s)
                    for x, s in zip(X.to_delayed(optimize_graph=False),
                                    states.to_delayed(optimize_graph=False))]
        return [dask.delayed(_part_of_sequences)(x) for x in X.to_delayed(optimize_graph=False)]
    if isinstance(X, da.Array):
        n = X.shape[0]
        lens = check_lengths(None if lengths is None else np.asarray(lengths), n)
        ends = np.cumsum(lens)
        # the chunks, moved to the nearest sequence end: no sequence is split
        bounds = sorted({0, n} | {int(ends[min(np.searchsorted(ends, b), ends.size - 1)])
                                  for b in np.cumsum(X.chunks[0])[:-1]})
        chunks = tuple(np.diff(bounds).tolist())
        X = X.rechunk({0: chunks} if X.ndim == 1 else {0: chunks, 1: -1})
        xs = X.to_delayed().ravel()
        sts: List[Any] = [None] * len(xs)
        if states is not None:
            st = states if isinstance(states, da.Array) else da.from_array(np.asarray(states))
            sts = list(st.rechunk({0: chunks}).to_delayed().ravel())
        out = []
        for i, x in enumerate(xs):
            seq = (ends > bounds[i]) & (ends <= bounds[i + 1])
            out.append(dask.delayed(HMMPart)(x, lens[seq], sts[i]))
        return out
    # arrays on the client: consecutive runs of whole sequences
    X = np.asarray(X)
    lens = check_lengths(lengths, X.shape[0])
    st = None if states is None else np.asarray(states)
    if st is not None and st.shape[0] != X.shape[0]:
        raise ValueError(f"`states` must have shape (n_samples,) = ({X.shape[0]},), got "
                         f"{st.shape}")
    starts = np.concatenate([[0], np.cumsum(lens)])
    cuts = _cuts(lens, max(1, min(npartitions, lens.size)))
    out = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        r0, r1 = int(starts[a]), int(starts[b])
        out.append(dask.delayed(HMMPart, pure=False)(
            X[r0:r1], lens[a:b], None if st is None else st[r0:r1]))
    return out


def _start(c: Client, model: BaseHMM, X: Any, lengths: Any, states: Any,
           npartitions: Optional[int], split_every: int):
    """The part futures and the summary of all the data."""
    delayed_parts = _parts(X, lengths, states, npartitions or n_worker_threads(c))
    with reporting("partitioning and checking the data"):
        futures = c.compute(delayed_parts, optimize_graph=False)
        summaries = [c.submit(_summary, f, model, i, pure=False)
                     for i, f in enumerate(futures)]
        summary = reduce_to_client(c, summaries, _add_summaries, split_every)
    return futures, summary


def _check_args(model: BaseHMM, split_every: int) -> None:
    if not isinstance(model, BaseHMM):
        raise TypeError(f"`model` must be a fastseq.hmm model, got {type(model).__name__}")
    if isinstance(split_every, bool) or not isinstance(split_every, int) or split_every < 2:
        raise ValueError(f"`split_every` must be an int >= 2, got {split_every!r}")


def fit_hmm(model: BaseHMM, X: Any, lengths: Any = None, *,
            npartitions: Optional[int] = None, client: Optional[Client] = None,
            scheduler: Optional[str] = None, n_threads: Optional[int] = None,
            split_every: int = 8) -> BaseHMM:
    """Baum-Welch for ``model`` on sequences spread over a Dask cluster.

    Each iteration sends the model to the workers once; every partition computes the
    E-step statistics of its sequences (node posteriors' sums, expected transition counts,
    emission statistics, log-likelihood) with the batched kernels; they are added up a
    fixed tree, and the M-step and the convergence monitor run on the client, as in
    :meth:`fastseq.hmm.BaseHMM.fit`, which gives the same model (the order of the sums is
    the only difference). Parameters that ``init_params`` asks to initialise from the data
    (a GaussianHMM's k-means means and covariances) are drawn from the first partition.

    Parameters
    ----------
    model : fastseq.hmm.CategoricalHMM or fastseq.hmm.GaussianHMM
        The model, with its settings (and initial parameters, if ``init_params`` leaves
        them out).
    X : dask.bag.Bag, dask.array.Array or array-like
        A bag with one sequence an item (an array of shape ``(n_i, n_features)``, or
        ``(n_i,)`` symbols), or all sequences concatenated (shape ``(n_samples,
        n_features)``) with ``lengths``: a Dask array (its chunks are moved to the nearest
        sequence ends) or an array on the client (split into ``npartitions`` runs of whole
        sequences).
    lengths : array-like of int, optional
        The lengths of the sequences of an array ``X`` (default: one sequence).
    npartitions : int, optional
        The partitions of an array on the client (default: one per worker thread).
    client : distributed.Client, optional
        The cluster to run on.
    scheduler : str, optional
        The address of a scheduler; without ``client`` and ``scheduler`` an embedded
        :class:`distributed.LocalCluster` runs the call.
    n_threads : int, optional
        The kernel threads of each task (default: a machine's cores divided among the Dask
        threads on it).
    split_every : int, default 8
        The fan-in of the reduction tree.

    Returns
    -------
    fastseq.hmm.BaseHMM
        ``model``, fitted; ``model.monitor_.history`` holds the log-likelihoods.

    Raises
    ------
    TypeError, ValueError
        For a bad model, parameter or input (as :meth:`~fastseq.hmm.BaseHMM.fit`).
    fastseq.exceptions.WorkerError
        When a task kept killing its workers (out of memory, most often).

    Notes
    -----
    As ``fit``, it is all or nothing: when it raises, the model is left as it was.

    Examples
    --------
    >>> import numpy as np
    >>> from distributed import Client, LocalCluster
    >>> from fastseq.hmm import CategoricalHMM
    >>> from fastseq.dask import fit_hmm
    >>> X = np.random.RandomState(0).randint(0, 3, size=(300, 1))
    >>> model = CategoricalHMM(n_components=2, n_iter=10, random_state=0)
    >>> with LocalCluster(n_workers=1, processes=False) as cluster, Client(cluster) as c:
    ...     model = fit_hmm(model, X, lengths=[100, 100, 100], client=c)
    >>> model.emissionprob_.shape, model.monitor_.iter
    ((2, 3), 10)
    """
    _check_args(model, split_every)
    with all_or_nothing(model, model.monitor_), connected(client, scheduler) as c:
        nt = kernel_threads(c, n_threads)
        futures, summary = _start(c, model, X, lengths, None, npartitions, split_every)
        if summary.n_samples == 0:
            raise ValueError("`X` must contain at least one sample, got 0")
        with reporting("initialising"):
            X0, l0 = c.submit(_data, futures[summary.first], pure=False).result()
        start_fit(model, X0, l0, summary)
        shift = summary.shift
        try:
            for _ in range(model.n_iter):
                with reporting("the E-step"):
                    total = reduce_to_client(
                        c, submit_each(c, _estep, futures, model, shift, nt), _add_stats,
                        split_every)
                if mstep(model, total):
                    break
        finally:
            c.cancel(futures)
    return model


def fit_hmm_supervised(model: BaseHMM, X: Any, states: Any, lengths: Any = None, *,
                       npartitions: Optional[int] = None, client: Optional[Client] = None,
                       scheduler: Optional[str] = None, n_threads: Optional[int] = None,
                       split_every: int = 8) -> BaseHMM:
    """:meth:`fastseq.hmm.BaseHMM.fit_supervised` on sequences spread over a Dask cluster:
    the partitions count their states, the counts are added up and the parameters set from
    them on the client.

    Parameters
    ----------
    model : fastseq.hmm.CategoricalHMM or fastseq.hmm.GaussianHMM
        The model.
    X : dask.bag.Bag, dask.array.Array or array-like
        As for :func:`fit_hmm`.
    states : dask.bag.Bag, dask.array.Array or array-like
        The hidden state of every sample: a bag partitioned as a bag ``X`` (one array of
        states an item), else an array of shape ``(n_samples,)``.
    lengths : array-like of int, optional
        As for :func:`fit_hmm`.
    npartitions : int, optional
        As for :func:`fit_hmm`.
    client : distributed.Client, optional
        As for :func:`fit_hmm`.
    scheduler : str, optional
        As for :func:`fit_hmm`.
    n_threads : int, optional
        As for :func:`fit_hmm`.
    split_every : int, default 8
        As for :func:`fit_hmm`.

    Returns
    -------
    fastseq.hmm.BaseHMM
        ``model``, fitted.

    Raises
    ------
    TypeError, ValueError
        As :meth:`~fastseq.hmm.BaseHMM.fit_supervised`.
    fastseq.exceptions.WorkerError
        When a task kept killing its workers.

    Examples
    --------
    >>> from distributed import Client, LocalCluster
    >>> from fastseq.hmm import CategoricalHMM
    >>> from fastseq.dask import fit_hmm_supervised
    >>> X, states = [[0], [1], [2], [2], [0], [1]], [1, 0, 0, 0, 1, 1]
    >>> with LocalCluster(n_workers=1, processes=False) as cluster, Client(cluster) as c:
    ...     model = fit_hmm_supervised(CategoricalHMM(n_components=2), X, states,
    ...                                lengths=[3, 3], client=c)
    >>> model.startprob_.tolist()
    [0.5, 0.5]
    """
    _check_args(model, split_every)
    with all_or_nothing(model, model.monitor_), connected(client, scheduler) as c:
        nt = kernel_threads(c, n_threads)
        futures, summary = _start(c, model, X, lengths, states, npartitions, split_every)
        start_supervised(model, summary)
        try:
            with reporting("counting"):
                total = reduce_to_client(
                    c, submit_each(c, _supervised, futures, model, summary.shift, nt),
                    _add_stats, split_every)
        finally:
            c.cancel(futures)
        supervised_mstep(model, total)
    return model
