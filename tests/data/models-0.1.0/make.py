"""Writes the model files of this folder and what they predict; run with fastseq 0.1.0.

The files pin the model file format: a later fastseq must load them and predict the same
(tests/test_model_files.py). Data: a small synthetic corpus, so that the files stay tiny.
"""
import json
import os
import random

import numpy as np
from fastseq.crf_tagger import CRFTagger

import fastseq
from fastseq.crf import CRF
from fastseq.tag import HMMTagger

HERE = os.path.dirname(os.path.abspath(__file__))


def corpus(n, seed):
    """Sentences of (word, pos, chunk) tuples from a tiny grammar."""
    rng = random.Random(seed)
    dets, nouns = ["the", "a", "this"], ["dog", "cat", "Paris", "bank", "rate"]
    verbs, advs = ["runs", "sees", "raises", "cuts"], ["fast", "today", "."]
    out = []
    for _ in range(n):
        s = [(rng.choice(dets), "DT", "B-NP"), (rng.choice(nouns), "NN", "I-NP"),
             (rng.choice(verbs), "VBZ", "B-VP")]
        if rng.random() < 0.6:
            s += [(rng.choice(dets), "DT", "B-NP"), (rng.choice(nouns), "NN", "I-NP")]
        s.append((rng.choice(advs), "RB" if s[-1][0] != "." else ".", "O"))
        out.append(s)
    return out


def main():
    train, test = corpus(60, 1), corpus(10, 2)
    expected = {"fastseq_version": fastseq.__version__}

    X = [[{"w": w, "pos": p, "w.lower": w.lower()} for w, p, _ in s] for s in train]
    y = [[c for *_, c in s] for s in train]
    Xt = [[{"w": w, "pos": p, "w.lower": w.lower()} for w, p, _ in s] for s in test]
    crf = CRF(c1=0.05, c2=0.1, max_iterations=30).fit(X, y)
    crf.save(os.path.join(HERE, "crf.zip"))
    expected["crf"] = {"X": Xt, "predict": crf.predict(Xt),
                       "marginals": np.asarray(crf.predict_marginals_array(Xt)[0]).tolist()}

    for name, kw in (("crf_tagger", dict(templates="chunk", stack=0)),
                     ("crf_tagger_stacked", dict(templates="pos", stack=2))):
        tagger = CRFTagger(**kw, max_iterations=20)
        if kw["templates"] == "pos":
            data, inputs = [[(w, p) for w, p, _ in s] for s in train], \
                [[w for w, _, _ in s] for s in test]
        else:
            data, inputs = train, [[(w, p) for w, p, _ in s] for s in test]
        tagger.train(data)
        tagger.save(os.path.join(HERE, f"{name}.zip"))
        expected[name] = {"inputs": inputs, "predict": tagger.predict(inputs)}

    hmm = HMMTagger().train([[(w, p) for w, p, _ in s] for s in train])
    hmm.save(os.path.join(HERE, "hmm_tagger.zip"))
    words = [[w for w, _, _ in s] + ["unseen"] for s in test]
    expected["hmm_tagger"] = {"inputs": words, "predict": hmm.predict(words)}

    with open(os.path.join(HERE, "expected.json"), "w") as fh:
        json.dump(expected, fh, separators=(",", ":"))


if __name__ == "__main__":
    main()
