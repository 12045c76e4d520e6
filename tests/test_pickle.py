"""Every model and tagger pickles and, unpickled, predicts the same (so it can be shipped to
the workers of Dask, Spark or Ray)."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from fastseq.crf import CRF
from fastseq.features import FeatureExtractor
from fastseq.hmm import CategoricalHMM, GaussianHMM
from fastseq.taggers import CRFTagger, HMMTagger

TAGGED = [[("The", "DT", "B-NP"), ("dog", "NN", "I-NP"), ("barks", "VBZ", "B-VP")],
          [("A", "DT", "B-NP"), ("cat", "NN", "I-NP"), ("sleeps", "VBZ", "B-VP")],
          [("Dogs", "NNS", "B-NP"), ("bark", "VBP", "B-VP"), (".", ".", "O")]] * 3


def _roundtrip(obj):
    return pickle.loads(pickle.dumps(obj))


@pytest.mark.parametrize("templates", ["pos", "ner", "chunk", "crfsuite_chunk"])
def test_crf_tagger(templates):
    data = TAGGED if templates != "pos" else [[(w, c) for w, _, c in s] for s in TAGGED]
    tagger = CRFTagger(templates=templates, max_iterations=10).train(data)
    inputs = [[t[:-1] if templates != "pos" else t[0] for t in s] for s in data[:3]]
    assert _roundtrip(tagger).predict(inputs) == tagger.predict(inputs)


def test_crf_on_featurized_input():
    words = [[w for w, _, _ in s] for s in TAGGED]
    fx = FeatureExtractor("pos")
    crf = CRF(max_iterations=10).fit(fx.fit_transform(words), [[c for *_, c in s] for s in TAGGED])
    back = _roundtrip(crf)
    assert back.predict(fx.transform(words)) == crf.predict(fx.transform(words))
    assert back.predict(_roundtrip(fx).transform(words)) == crf.predict(fx.transform(words))


def test_hmm_tagger():
    tagger = HMMTagger().train([[(w, p) for w, p, _ in s] for s in TAGGED])
    sents = [[w for w, _, _ in s] for s in TAGGED]
    assert _roundtrip(tagger).predict(sents) == tagger.predict(sents)


def test_hmms():
    rs = np.random.RandomState(0)
    X = rs.randint(0, 4, size=(200, 1))
    cat = CategoricalHMM(n_components=2, random_state=0).fit(X)
    assert np.array_equal(_roundtrip(cat).predict(X), cat.predict(X))
    Y = rs.normal(size=(200, 2))
    gau = GaussianHMM(n_components=2, random_state=0).fit(Y)
    assert _roundtrip(gau).score(Y) == gau.score(Y)
