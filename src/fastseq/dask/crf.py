"""CRF training on a Dask cluster: the L-BFGS / OWL-QN of :class:`fastseq.crf.CRF` on the
client, the objective summed over the partitions on the workers."""
from __future__ import annotations

import copy
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import dask
import numpy as np
from distributed import Client

from ..crf import CRF, TrainingLog
from ..crf._partitions import (
    EncodedPart,
    GlobalPart,
    PartObjective,
    add_evaluations,
    encode_featurized_part,
    encode_part,
    globalise,
    merge_vocabularies,
)
from ..crf.estimator import install_fit, lbfgs_params, train_lbfgs
from ..crf.items import input_kind, labels_of
from ..crf.objective import add_feature_counts, features_of_counts
from ..crf.training_log import print_iteration
from ._cluster import (
    as_bag,
    connected,
    is_bag,
    kernel_threads,
    n_worker_threads,
    reduce_to_client,
    reporting,
    submit_each,
)

__all__ = ["fit_crf"]


# -- the tasks (run on the workers) ------------------------------------------------------------
def _encode(xs: List[Any], ys: List[Any], features: Any) -> List[EncodedPart]:
    xs, ys = list(xs), list(ys)
    if len(xs) != len(ys):
        raise ValueError(f"`X` and `y` differ in a partition: {len(xs)} sequences against "
                         f"{len(ys)} label sequences; give them the same partitioning")
    if features is not None and _is_extractor(features):
        fx = copy.deepcopy(features)   # fitted here, on this partition's sentences
        return [encode_featurized_part(fx.fit_transform(xs), fx.attribute_names(), ys)]
    if features is not None:
        xs = list(features(xs))
        if len(xs) != len(ys):
            raise ValueError(f"`features` returned {len(xs)} sequences for {len(ys)}")
    return [encode_part(xs, ys)]


def _is_extractor(features: Any) -> bool:
    """A feature extractor (``fit_transform`` to a matrix, ``attribute_names``) rather
    than a function of the sentences."""
    return hasattr(features, "fit_transform") and hasattr(features, "attribute_names")


def _encode_pairs(pairs: List[Tuple[Any, Any]], features) -> List[EncodedPart]:
    return _encode([p[0] for p in pairs], [p[1] for p in pairs], features)


def _vocab_of(part: List[EncodedPart]) -> Tuple[Dict[str, int], Dict[str, int]]:
    return part[0].attributes, part[0].labels


def _merge_vocab(parts):
    return merge_vocabularies(list(parts))


def _add_counts(parts):
    return add_feature_counts(list(parts))


def _globalise(part: List[EncodedPart], vocab) -> List[GlobalPart]:
    return [globalise(part[0], vocab[0], vocab[1])]


def _counts_of(part: List[GlobalPart]):
    return part[0].counts


def _select(counts, vocab, p: Dict[str, Any]):
    return features_of_counts(counts, len(vocab[1]), min_freq=p["min_freq"],
                              all_possible_states=p["all_possible_states"],
                              all_possible_transitions=p["all_possible_transitions"])


def _objective(part: List[GlobalPart], vocab, feats, n_threads: int) -> PartObjective:
    return PartObjective(part[0], len(vocab[1]), feats, n_threads)


def _size(obj: PartObjective) -> Tuple[int, int]:
    return obj.n_tokens, obj.n_sequences


def _evaluate(obj: PartObjective, theta: np.ndarray):
    t0 = time.perf_counter()
    result = obj(theta)
    return result, time.perf_counter() - t0


def _add(*parts):
    return add_evaluations([p[0] for p in parts]), max(p[1] for p in parts)


# -- the client side ---------------------------------------------------------------------------
def _check_lists(X: Sequence[Any], y: Any, features) -> Tuple[list, list]:
    """Check list input on the client, before anything is sent."""
    X = list(X)
    ylist = labels_of(y, "y")
    if len(X) != len(ylist):
        raise ValueError(f"`X` has {len(X)} sequences but `y` has {len(ylist)}")
    if not X:
        raise ValueError("`X` holds no tokens to train on")
    if features is None:
        kind = input_kind(X, "X")
        if kind != "items":
            raise TypeError("fit_crf takes python-crfsuite items (per token a dict or a list "
                            f"of attribute names), got {kind} input")
        for i, (xs, ys) in enumerate(zip(X, ylist)):
            if len(xs) != len(ys):
                raise ValueError(f"sequence {i}: `X` has {len(xs)} tokens but `y` has "
                                 f"{len(ys)} labels")
    return X, ylist


def fit_crf(crf: CRF, X: Any, y: Any, *, features: Any = None,
            npartitions: Optional[int] = None, client: Optional[Client] = None,
            scheduler: Optional[str] = None, n_threads: Optional[int] = None,
            split_every: int = 8, profile: Optional[List[Dict[str, float]]] = None) -> CRF:
    """Train ``crf`` (``algorithm="lbfgs"``) on data spread over a Dask cluster.

    The workers featurise and encode their partitions, the attribute and label
    vocabularies and the feature counts are reduced from theirs (``min_freq`` applies to
    the totals), and every partition keeps its encoded features in worker memory. The
    client then runs the same L-BFGS / OWL-QN as :meth:`fastseq.crf.CRF.fit`, with
    CRFsuite's stopping rules; each evaluation of the objective sends the weights to the
    workers once and adds the partitions' loss and gradient up a fixed tree. The result
    is the model a local fit on the same data gives (the order of the sums is the only
    difference), in an ordinary :class:`~fastseq.crf.CRF`.

    Parameters
    ----------
    crf : fastseq.crf.CRF
        The estimator, with its training parameters; ``algorithm`` must be ``"lbfgs"``
        (the default) and ``order`` 1. Its ``n_threads`` is not used (see ``n_threads``).
    X : dask.bag.Bag or list
        The training sequences: python-crfsuite items (per token a dict or a list of
        attribute names), or, with ``features``, whatever ``features`` takes. A list is
        split into ``npartitions`` consecutive parts.
    y : dask.bag.Bag or list of list of str
        The labels, one per token; a bag partitioned as ``X`` (the same number of
        partitions and of sequences in each).
    features : FeatureExtractor or callable, optional
        How the workers featurise their partitions of sentences: an unfitted
        :class:`fastseq.features.FeatureExtractor` (a copy is fitted on each partition and
        its matrix used, with the attribute names as the columns' names; templates with a
        ``min_count`` then count per partition), or ``features(sentences) -> items``
        (e.g. ``FeatureExtractor("crfsuite_chunk").to_lists``). It must be picklable.
    npartitions : int, optional
        The partitions of list input (default: one per worker thread).
    client : distributed.Client, optional
        The cluster to run on.
    scheduler : str, optional
        The address of a scheduler to connect to (``"tcp://host:8786"``). Without
        ``client`` and ``scheduler``, a :class:`distributed.LocalCluster` of one
        single-threaded worker process per core is started for the call.
    n_threads : int, optional
        The kernel threads of each task (default: a worker machine's cores divided among
        the Dask threads on it).
    split_every : int, default 8
        The fan-in of the reduction tree.
    profile : list, optional
        A list that receives, per evaluation of the objective, a dict with ``wall_s`` (on
        the client, from sending the weights to holding the sum), ``compute_s`` (the
        slowest partition's evaluation), ``weights_bytes`` (the weights, times the partitions)
        and ``gradient_bytes`` (the gradients the client gathers: the last level of the
        reduction).

    Returns
    -------
    fastseq.crf.CRF
        ``crf``, fitted; its ``training_log_`` records every iteration.

    Raises
    ------
    ValueError, TypeError
        For bad parameters, or input that does not check out (list input is checked on
        the client before anything is sent; a bag's partitions on the workers).
    fastseq.exceptions.WorkerError
        When a task kept killing its workers (out of memory, most often).

    See Also
    --------
    fastseq.crf.CRF.fit : The same fit on one machine.

    Examples
    --------
    >>> from distributed import Client, LocalCluster
    >>> from fastseq.crf import CRF
    >>> from fastseq.dask import fit_crf
    >>> X = [[{"w": "the"}, {"w": "dog"}], [{"w": "a"}, {"w": "cat"}]] * 4
    >>> y = [["DET", "NOUN"], ["DET", "NOUN"]] * 4
    >>> with LocalCluster(n_workers=1, processes=False) as cluster, Client(cluster) as c:
    ...     crf = fit_crf(CRF(c2=0.1), X, y, client=c, npartitions=2)
    >>> crf.predict([[{"w": "the"}, {"w": "cat"}]])
    [['DET', 'NOUN']]
    """
    t_start = time.perf_counter()
    p = lbfgs_params(crf)
    if isinstance(split_every, bool) or not isinstance(split_every, int) or split_every < 2:
        raise ValueError(f"`split_every` must be an int >= 2, got {split_every!r}")
    if npartitions is not None and (isinstance(npartitions, bool)
                                    or not isinstance(npartitions, int) or npartitions < 1):
        raise ValueError(f"`npartitions` must be a positive int, got {npartitions!r}")
    if features is not None and not callable(features) and not _is_extractor(features):
        raise TypeError("`features` must be a FeatureExtractor or a callable: sentences -> "
                        "items")
    if is_bag(X) != is_bag(y):
        raise TypeError("pass `X` and `y` both as dask bags or both as lists")
    if is_bag(X) and X.npartitions != y.npartitions:
        raise ValueError(f"`X` has {X.npartitions} partitions but `y` has {y.npartitions}")
    lists = None if is_bag(X) else _check_lists(X, y, features)

    with connected(client, scheduler) as c:
        nt = kernel_threads(c, n_threads)
        if lists is not None:
            pairs = list(zip(*lists))
            bag = as_bag(pairs, npartitions or n_worker_threads(c))
            encoded = bag.map_partitions(_encode_pairs, features)
        else:
            encoded = X.map_partitions(_encode, y, features)
        # each stage held in worker memory before the next reads it (graph optimisation
        # would otherwise fuse a copy of the encoding into every branch that reads it); the
        # scheduler keeps every stage's tasks, the lineage of a lost partition
        encoded = c.persist(encoded, optimize_graph=False)
        vocab = c.persist(encoded.reduction(_vocab_of, _merge_vocab, split_every=split_every),
                          optimize_graph=False)
        parts = c.persist(encoded.map_partitions(_globalise, vocab), optimize_graph=False)
        counts = parts.reduction(_counts_of, _add_counts, split_every=split_every)
        feats = dask.delayed(_select)(counts, vocab, p)
        objectives = [dask.delayed(_objective)(d, vocab, feats, nt)
                      for d in parts.to_delayed(optimize_graph=False)]
        t0 = time.perf_counter()
        with reporting("featurising and encoding the partitions"):
            futures = c.compute([vocab, feats] + objectives, optimize_graph=False)
            vocab_v, feats_v = c.gather(futures[:2])
            part_futures = futures[2:]
            sizes = c.gather(c.map(_size, part_futures, pure=False))
        featgen_seconds = time.perf_counter() - t0
        n_tokens = sum(s[0] for s in sizes)
        n_seqs = sum(s[1] for s in sizes)
        if n_tokens == 0:
            raise ValueError("`X` holds no tokens to train on")
        attributes, labels = vocab_v
        K = int(feats_v[0].size + feats_v[2].size)

        def fun(theta: np.ndarray) -> Tuple[float, np.ndarray]:
            t1 = time.perf_counter()
            with reporting("evaluating the objective"):
                (nll, grad), compute_s = reduce_to_client(
                    c, submit_each(c, _evaluate, part_futures, theta), _add, split_every)
            if profile is not None:
                profile.append({"wall_s": time.perf_counter() - t1, "compute_s": compute_s,
                                "weights_bytes": theta.nbytes * len(part_futures),
                                "gradient_bytes": K * 8 * min(len(part_futures),
                                                              split_every)})
            return nll, (np.zeros(K) if grad is None else grad)

        log = TrainingLog("lbfgs")
        log.featgen_num_features = K
        log.featgen_seconds = featgen_seconds

        def record(it, theta):
            log.append(it)
            if p["verbose"]:
                print_iteration(it)

        t0 = time.perf_counter()
        try:
            theta, reason = train_lbfgs(fun, K, p, record)
        finally:
            c.cancel(part_futures)
        log.training_seconds = time.perf_counter() - t0
        log.stop_reason = reason
    return install_fit(crf, classes=list(labels), attributes=list(attributes),
                       features=feats_v, theta=theta, log=log, n_tokens=n_tokens,
                       n_sequences=n_seqs, train_time=time.perf_counter() - t_start)
