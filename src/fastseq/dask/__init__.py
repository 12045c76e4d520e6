"""Training and tagging on a Dask cluster: :func:`fit_crf`, :func:`fit_hmm`,
:func:`fit_hmm_supervised`, :func:`tag` and :func:`tag_files`.

The pattern is dask-glm's: the optimiser runs on the client, the data stays in the workers'
memory, partitioned, and every step of the optimiser is one broadcast of the parameters and
one reduction of the partitions' results (the loss and gradient of a CRF; the sufficient
statistics of an HMM's E-step) up a fixed tree, so the sums are added in the same order
every time. A fit gives the model a local fit on the same data gives, as an ordinary
:class:`fastseq.crf.CRF` or :mod:`fastseq.hmm` model.

Every function takes ``client=`` (a :class:`distributed.Client`) or ``scheduler=`` (an
address, ``"tcp://host:8786"``); with neither, a :class:`distributed.LocalCluster` of one
single-threaded worker process per core is started for the call and closed after it, so
the same code runs on a laptop and on a cluster. The kernels of each task run on
``n_threads`` OpenMP threads (default: a machine's cores divided among the Dask threads of
the workers on it). A worker that dies costs time, not the result: its partitions are
recomputed from their lineage; a task that keeps killing workers (out of memory) raises
:class:`fastseq.exceptions.WorkerError`.

This module needs the ``dask`` extra (``pip install "fastseq[dask]"``); ``import fastseq``
does not import it.
"""
from __future__ import annotations

from .crf import fit_crf
from .hmm import fit_hmm, fit_hmm_supervised
from .tagging import tag, tag_files

__all__ = ["fit_crf", "fit_hmm", "fit_hmm_supervised", "tag", "tag_files"]
