"""Model files written by fastseq 0.1.0 still load and predict what they predicted then.

The files and the predictions in tests/data/models-0.1.0 were made by that folder's make.py
under fastseq 0.1.0; the format is a promise to users, so these must keep passing.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fastseq.crf import CRF
from fastseq.taggers import CRFTagger, HMMTagger, load_tagger

DATA = Path(__file__).parent / "data" / "models-0.1.0"
EXPECTED = json.loads((DATA / "expected.json").read_text())


def test_crf_file_loads_and_predicts_the_same():
    crf = CRF.load(DATA / "crf.zip")
    want = EXPECTED["crf"]
    assert crf.predict(want["X"]) == want["predict"]
    np.testing.assert_allclose(crf.predict_marginals_array(want["X"])[0], want["marginals"],
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["crf_tagger", "crf_tagger_stacked", "hmm_tagger"])
def test_tagger_files_load_and_predict_the_same(name):
    want = EXPECTED[name]
    tagger = load_tagger(DATA / f"{name}.zip")
    assert isinstance(tagger, HMMTagger if name == "hmm_tagger" else CRFTagger)
    assert tagger.predict(want["inputs"]) == want["predict"]
    again = type(tagger).load(DATA / f"{name}.zip")
    assert again.predict(want["inputs"]) == want["predict"]
