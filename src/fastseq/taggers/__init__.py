"""Taggers: supervised models that label tokenised sentences, with one interface.

:class:`HMMTagger` (a TnT-style trigram HMM with lexicalised states and a suffix model for
unknown words) and :class:`CRFTagger` (feature templates + a linear-chain CRF) both offer
``train``, ``tag``, ``tag_sents``, ``predict``, ``evaluate``, ``evaluation_report``
(a :class:`TaggerEvaluation`), ``save`` and ``load``; :func:`load_tagger` loads a file of
either kind.

>>> from fastseq.taggers import CRFTagger, HMMTagger
>>> train = [[("the", "DET"), ("dog", "NOUN"), ("barks", "VERB")],
...          [("a", "DET"), ("cat", "NOUN"), ("sleeps", "VERB")]]
>>> HMMTagger().train(train).tag(["the", "cat", "sleeps"])
[('the', 'DET'), ('cat', 'NOUN'), ('sleeps', 'VERB')]

The package: ``hmm_tagger``, ``crf_tagger``, ``evaluation`` (scores shared by both),
``registry`` (:func:`load_tagger`). :class:`~fastseq.exceptions.NotFittedError`, raised by
an untrained tagger, is re-exported here.
"""
from __future__ import annotations

from ..exceptions import NotFittedError
from .crf_tagger import CRFTagger
from .evaluation import TaggerEvaluation, evaluate
from .hmm_tagger import HMMTagger
from .registry import TAGGER_FORMATS, load_tagger

__all__ = ["HMMTagger", "CRFTagger", "TaggerEvaluation", "evaluate", "load_tagger",
           "TAGGER_FORMATS", "NotFittedError"]
