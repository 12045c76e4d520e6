"""Tagging on a Dask cluster: a fitted tagger or model applied partition by partition to a
bag or a dataframe column of sentences, or file by file to a folder."""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any, Callable, List, Optional, Sequence, Tuple

import dask
import numpy as np
from dask.base import tokenize
from distributed import Client, default_client

from ..hmm import BaseHMM
from ._cluster import as_bag, connected, is_bag, kernel_threads, n_worker_threads, reporting

__all__ = ["tag", "tag_files"]


def _set_threads(model: Any, n_threads: int) -> Any:
    """The model with its kernels on ``n_threads`` threads (set in place: on a worker the
    model is one object shared by the tasks, which all want the same count)."""
    get = getattr(model, "get_params", None)
    if get is not None and "n_threads" in get(deep=False) and \
            getattr(model, "n_threads", None) != n_threads:
        model.set_params(n_threads=n_threads)
    return model


# (client id, the model's token) -> a future of the model on every worker: a model tagged
# with again is not sent again (a worker keeps its copy, and the lookup tables it built)
_SHIPPED: "OrderedDict[Tuple[str, str], Any]" = OrderedDict()
_SHIPPED_MAX = 4


def _shipped(model: Any, client: Optional[Client]) -> Any:
    """``model`` as a task argument: a future of it broadcast once to the workers of
    ``client`` (or of the current default client), reused while it lives; without a client,
    the model itself in the graph."""
    if client is None:
        try:
            client = default_client()
        except ValueError:  # no client: a graph for any scheduler
            return dask.delayed(model, traverse=False)
    key = (client.id, tokenize(model))
    fut = _SHIPPED.get(key)
    if fut is None or fut.status != "finished":
        fut = _SHIPPED[key] = client.scatter(model, broadcast=True, hash=False)
        while len(_SHIPPED) > _SHIPPED_MAX:
            _SHIPPED.popitem(last=False)
    return fut


def _tokens(sentence: Any) -> Any:
    return sentence.split() if isinstance(sentence, str) else sentence


def predict_sentences(model: Any, sentences: Sequence[Any], n_threads: int) -> List[Any]:
    """The predictions of ``model`` for ``sentences``: a tagger's or a CRF's ``predict``
    (a str sentence is split at whitespace), or an HMM's states per sequence.

    Parameters
    ----------
    model : tagger, fastseq.crf.CRF or fastseq.hmm model
        Fitted.
    sentences : list
        The sentences (arrays of samples for an HMM).
    n_threads : int
        The kernel threads.

    Returns
    -------
    list
        Per sentence, its labels (a list of str; for an HMM an array of states).

    Examples
    --------
    >>> from fastseq.crf import CRF
    >>> from fastseq.dask.tagging import predict_sentences
    >>> crf = CRF(c2=0.1).fit([[{"w": "a"}, {"w": "b"}]], [["A", "B"]])
    >>> predict_sentences(crf, [[{"w": "b"}]], n_threads=1)
    [['B']]
    """
    sentences = [_tokens(s) for s in sentences]
    if not sentences:
        return []
    model = _set_threads(model, n_threads)
    if isinstance(model, BaseHMM):
        seqs = [np.asarray(s) for s in sentences]
        X = np.concatenate([s.reshape(len(s), -1) for s in seqs])
        lengths = [len(s) for s in seqs]
        states = model.predict(X, lengths=lengths)
        return list(np.split(states, np.cumsum(lengths)[:-1]))
    out = model.predict(sentences)
    # one object per distinct tag: results pickle each tag once per partition, not per token
    canon: dict = {}
    return [[canon.setdefault(t, t) for t in s] for s in out]


def _predict_part(part: Sequence[Any], model: Any, n_threads: int) -> List[Any]:
    return predict_sentences(model, part, n_threads)


def _predict_series(series: Any, model: Any, n_threads: int) -> Any:
    import pandas as pd
    return pd.Series(predict_sentences(model, list(series), n_threads), index=series.index,
                     name=series.name, dtype=object)


def tag(model: Any, sentences: Any, *, client: Optional[Client] = None,
        scheduler: Optional[str] = None, n_threads: Optional[int] = None,
        npartitions: Optional[int] = None) -> Any:
    """Apply a fitted tagger or model to sentences on a Dask cluster, partition by
    partition; the model goes to each worker once, not once per task (and not again for
    the next call with the same model, while the client lives).

    Parameters
    ----------
    model : object
        A fitted :class:`~fastseq.taggers.CRFTagger`, :class:`~fastseq.taggers.HMMTagger`,
        :class:`~fastseq.crf.CRF` (or anything with ``predict(list of sentences)``), or a
        :mod:`fastseq.hmm` model (each sentence an array of samples). It must be
        picklable.
    sentences : dask.bag.Bag, dask.dataframe.Series or list
        The sentences: lists of tokens (a str is split at whitespace), feature sequences
        for a CRF, sample arrays for an HMM. A bag or a series gives a lazy result, to be
        computed on ``client`` (default: the current client; the model is broadcast to its
        workers now) or, without any client, on any scheduler (the model then travels in
        the graph); a list is tagged now on the cluster (split into ``npartitions`` parts)
        and its result returned.
    client : distributed.Client, optional
        The cluster for list input, and the one a bag's result will be computed on.
    scheduler : str, optional
        The address of a scheduler for list input; without ``client`` and ``scheduler`` an
        embedded :class:`distributed.LocalCluster` tags a list.
    n_threads : int, optional
        The kernel threads of each task (default: for list input, a machine's cores divided
        among the Dask threads on it; for a bag or a series, 1, which suits one
        single-threaded worker process per core).
    npartitions : int, optional
        The partitions of list input (default: one per worker thread).

    Returns
    -------
    dask.bag.Bag, dask.dataframe.Series or list
        Per sentence its labels, in the order of ``sentences``.

    Raises
    ------
    fastseq.exceptions.WorkerError
        When a task of list input kept killing its workers.

    Examples
    --------
    >>> import dask.bag as db
    >>> from fastseq.crf import CRF
    >>> from fastseq.dask import tag
    >>> crf = CRF(c2=0.1).fit([[{"w": "a"}, {"w": "b"}]], [["A", "B"]])
    >>> tag(crf, db.from_sequence([[{"w": "b"}], [{"w": "a"}]])).compute(scheduler="sync")
    [['B'], ['A']]
    """
    if not hasattr(model, "predict"):
        raise TypeError(f"`model` must be a fitted tagger or model, got "
                        f"{type(model).__name__}")
    if is_bag(sentences):
        return sentences.map_partitions(_predict_part, _shipped(model, client), n_threads or 1)
    if hasattr(sentences, "map_partitions") and hasattr(sentences, "to_delayed"):
        return sentences.map_partitions(_predict_series, _shipped(model, client),
                                        n_threads or 1,
                                        meta=(getattr(sentences, "name", None), object))
    sentences = list(sentences)
    with connected(client, scheduler) as c:
        nt = kernel_threads(c, n_threads)
        bag = as_bag(sentences, npartitions or n_worker_threads(c))
        with reporting("tagging"):
            return c.compute(bag.map_partitions(_predict_part, _shipped(model, c), nt)).result()


def tag_text_file(model: Any, source: str, target: str, n_threads: int) -> Tuple[int, int]:
    """Tag a text file: whitespace-tokenised, one sentence a line, written back as
    ``word/tag`` (an empty line stays empty).

    Parameters
    ----------
    model : object
        A fitted tagger (``predict`` of lists of tokens).
    source, target : str
        The input and the output file.
    n_threads : int
        The kernel threads.

    Returns
    -------
    (int, int)
        The sentences and the tokens tagged.
    """
    with open(source, encoding="utf-8") as f:
        sents = [line.split() for line in f]
    todo = [s for s in sents if s]
    tagged = iter(predict_sentences(model, todo, n_threads))
    with open(target, "w", encoding="utf-8", newline="\n") as out:
        for s in sents:
            tags = next(tagged) if s else []
            out.write(" ".join(f"{w}/{t}" for w, t in zip(s, tags)) + "\n")
    return len(todo), sum(len(s) for s in todo)


def _run_file(model: Any, tag_file: Callable[..., Tuple[int, int]], source: str, target: str,
              n_threads: int) -> Tuple[int, int]:
    model = _set_threads(model, n_threads)
    return tag_file(model, source, target, n_threads)


def tag_files(model: Any, sources: Sequence[str], output_dir: str, *,
              tag_file: Callable[..., Tuple[int, int]] = tag_text_file,
              client: Optional[Client] = None, scheduler: Optional[str] = None,
              n_threads: Optional[int] = None) -> Tuple[int, int]:
    """Tag files on a Dask cluster, one task per file; each output has its input's name,
    in ``output_dir``. The files and the folder must be reachable by the workers under the
    same paths (the same machine, or a shared file system).

    Parameters
    ----------
    model : object
        A fitted tagger; it goes to each worker once.
    sources : list of str
        The input files.
    output_dir : str
        The folder of the outputs (made if missing); it must not hold an input.
    tag_file : callable, default :func:`tag_text_file`
        ``tag_file(model, source, target, n_threads) -> (n_sentences, n_tokens)``: tags
        one file (picklable).
    client : distributed.Client, optional
        The cluster to run on.
    scheduler : str, optional
        The address of a scheduler; without ``client`` and ``scheduler`` an embedded
        :class:`distributed.LocalCluster` runs the call.
    n_threads : int, optional
        The kernel threads of each task (default: a machine's cores divided among the Dask
        threads on it).

    Returns
    -------
    (int, int)
        The sentences and the tokens tagged, over all the files.

    Raises
    ------
    ValueError
        When two inputs have the same name or an output would overwrite an input.
    fastseq.exceptions.WorkerError
        When a task kept killing its workers.

    Examples
    --------
    >>> import os, tempfile
    >>> from distributed import Client, LocalCluster
    >>> from fastseq.dask import tag_files
    >>> from fastseq.taggers import HMMTagger
    >>> tagger = HMMTagger().train([[("the", "DET"), ("dog", "NOUN")]] * 5)
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "a.txt"), "w") as f:
    ...     print("the dog", file=f)
    >>> with LocalCluster(n_workers=1, processes=False) as cluster, Client(cluster) as c:
    ...     counts = tag_files(tagger, [os.path.join(folder, "a.txt")],
    ...                        os.path.join(folder, "out"), client=c)
    >>> counts, open(os.path.join(folder, "out", "a.txt")).read().split()
    ((1, 2), ['the/DET', 'dog/NOUN'])
    """
    sources = [os.path.abspath(s) for s in sources]
    output_dir = os.path.abspath(output_dir)
    names = [os.path.basename(s) for s in sources]
    if len(set(names)) != len(names):
        raise ValueError("two input files have the same name; their outputs would collide")
    targets = [os.path.join(output_dir, n) for n in names]
    if set(targets) & set(sources):
        raise ValueError(f"the output folder {output_dir} holds the inputs, which writing "
                         "would erase")
    os.makedirs(output_dir, exist_ok=True)
    if not sources:
        return 0, 0
    with connected(client, scheduler) as c:
        nt = kernel_threads(c, n_threads)
        [model_f] = c.scatter([model], broadcast=True, hash=False)
        with reporting("tagging files"):
            done = c.gather([c.submit(_run_file, model_f, tag_file, s, t, nt, pure=False)
                             for s, t in zip(sources, targets)])
    return sum(d[0] for d in done), sum(d[1] for d in done)
