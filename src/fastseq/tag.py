"""Former name of :mod:`fastseq.taggers`; importing it warns. Use ``fastseq.taggers``."""
from __future__ import annotations

import warnings

from .taggers import CRFTagger, HMMTagger, TaggerEvaluation, load_tagger

__all__ = ["HMMTagger", "CRFTagger", "TaggerEvaluation", "load_tagger"]

warnings.warn("fastseq.tag is renamed fastseq.taggers; import from there",
              DeprecationWarning, stacklevel=2)
