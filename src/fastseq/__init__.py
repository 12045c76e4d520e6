"""fastseq: fast HMM and linear-chain CRF kernels for sequence labeling.

The functional API -- :func:`log_partition`, :func:`forward`, :func:`backward`,
:func:`marginals`, :func:`viterbi`, :func:`kbest`, :func:`posterior_decode`,
:func:`sequence_score`, :func:`crf_nll`, with :func:`allowed_transitions` and
:func:`decode` -- is here (it is implemented in :mod:`fastseq`). Every function takes
one sequence ``(T, N)``, a padded batch ``(B, T, N)`` or a concatenated batch ``(L, N)``
with ``lengths``; the contract is in the documentation's "Functional API" page.
:func:`show_config` tells how this build runs; :func:`get_include`,
:func:`get_library_dirs` and :func:`get_build_info` let other compiled packages call the C
kernels (:mod:`fastseq.c_api`). The models, taggers and tools are in the
subpackages: :mod:`fastseq.hmm`, :mod:`fastseq.crf`, :mod:`fastseq.features`,
:mod:`fastseq.taggers`, :mod:`fastseq.torch`, :mod:`fastseq.schemes`,
:mod:`fastseq.metrics`, :mod:`fastseq.io`, :mod:`fastseq.datasets`;
:mod:`fastseq.structured` builds sparse transition matrices (left-to-right, banded,
duration chains), which every function accepts as ``transitions``.

Examples
--------
>>> import numpy as np
>>> import fastseq
>>> em = np.log([[0.6, 0.4], [0.3, 0.7], [0.5, 0.5]])
>>> tr = np.log([[0.8, 0.2], [0.3, 0.7]])
>>> fastseq.viterbi(em, tr)[0].tolist()
[1, 1, 1]
"""
from __future__ import annotations

from typing import Any, Dict, Optional, TextIO

import fastseq._kernels as _kernels

__version__ = _kernels.version()

from .c_api import get_build_info, get_include, get_library_dirs
from .decode import decode
from .ops import (
    CRFGrad,
    Marginals,
    allowed_transitions,
    backward,
    crf_nll,
    effective_n_threads,
    forward,
    kbest,
    log_partition,
    marginals,
    posterior_decode,
    sequence_score,
    simd_variant,
    viterbi,
)

__all__ = [
    "log_partition", "forward", "backward", "marginals", "viterbi", "kbest",
    "posterior_decode", "sequence_score", "crf_nll", "allowed_transitions", "decode",
    "Marginals", "CRFGrad", "effective_n_threads", "simd_variant", "show_config",
    "get_include", "get_library_dirs", "get_build_info",
]


def show_config(file: Optional[TextIO] = None) -> Dict[str, Any]:
    """Print and return how this build of fastseq runs.

    Parameters
    ----------
    file : file-like, optional
        Where to print (default: standard output).

    Returns
    -------
    dict
        ``version``, ``openmp`` (whether the kernels were built with OpenMP), ``simd`` (the
        SIMD variant the kernels use on this CPU) and ``default_threads`` (what
        ``n_threads=None`` means here).

    Examples
    --------
    >>> import io
    >>> import fastseq
    >>> info = fastseq.show_config(file=io.StringIO())
    >>> sorted(info)
    ['default_threads', 'openmp', 'simd', 'version']
    >>> info["version"] == fastseq.__version__
    True
    """
    info = {
        "version": __version__,
        "openmp": _kernels.openmp_enabled(),
        "simd": _kernels.simd_level(),
        "default_threads": effective_n_threads(None),
    }
    print(f"fastseq {info['version']}\n"
          f"  OpenMP:          {'on' if info['openmp'] else 'off (serial build)'}\n"
          f"  SIMD kernels:    {info['simd']} (chosen at run time)\n"
          f"  default threads: {info['default_threads']}", file=file)
    return info
