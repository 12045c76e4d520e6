"""fastseq: fast HMM and linear-chain CRF kernels for sequence labeling.

The functional API (``fastseq.log_partition``, ``viterbi``, ``marginals``, ``crf_nll``, ...)
lives in :mod:`fastseq.ops`; see ``show_config()`` for how this build runs.
"""
from __future__ import annotations

from . import _kernels

__version__ = _kernels.version()

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
    viterbi,
)

__all__ = [
    "__version__", "show_config", "log_partition", "forward", "backward", "marginals",
    "viterbi", "kbest", "posterior_decode", "sequence_score", "crf_nll",
    "allowed_transitions", "decode", "Marginals", "CRFGrad", "effective_n_threads",
]


def show_config(file=None) -> dict:
    """Print (to ``file``, default stdout) and return how this build of fastseq runs."""
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
