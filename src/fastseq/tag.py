"""Former name of :mod:`fastseq.taggers`; importing it warns. Use ``fastseq.taggers``.

Importing this module issues a :class:`DeprecationWarning`. It re-exports
:class:`~fastseq.taggers.HMMTagger`, :class:`~fastseq.taggers.CRFTagger`,
:class:`~fastseq.taggers.TaggerEvaluation` and :func:`~fastseq.taggers.load_tagger`.
"""
from __future__ import annotations

import warnings

from .taggers import CRFTagger, HMMTagger, TaggerEvaluation, load_tagger

__all__ = ["HMMTagger", "CRFTagger", "TaggerEvaluation", "load_tagger"]

warnings.warn("fastseq.tag is renamed fastseq.taggers; import from there",
              DeprecationWarning, stacklevel=2)
