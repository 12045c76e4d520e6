"""The taggers' batched fast paths give the results of the small-call paths.

HMMTagger: one sentence at a time decodes with the interpolated trigram formula; a large
batch builds (once) a lookup table of the same values, which later calls reuse, so tagging
sentence by sentence before and after a large batch, and in one batch, must agree. The
tests on UD English-EWT skip when the corpus is absent (see ``FASTSEQ_DATA`` in
tests/conftest.py).

FeatureExtractor: transform remembers the field ids of the values it has seen and switches
from binary search to hash lookups for large key tables; every call must give the columns
of a fresh copy's first call. CRFTagger: a stacked tagger trains its first level in
parallel threads; the model must be the one trained one fold after another.
"""
from __future__ import annotations

import pickle
import random

import pytest

from fastseq.taggers import HMMTagger


def _ud(field, split):
    from fastseq import datasets
    try:
        return datasets.load_tagged("ud_english_ewt", split, tag=field)
    except FileNotFoundError as exc:
        pytest.skip(f"UD English-EWT not available: {exc}")


def _noisy(sents, seed):
    """Unknown spellings of known words (case changes, a suffix), for the unknown-word
    model and its case back-off."""
    rng = random.Random(seed)
    out = []
    for s in sents:
        toks = []
        for w in s:
            r = rng.random()
            toks.append(w.upper() if r < 0.1 else w.capitalize() if r < 0.2
                        else w + "-ish" if r < 0.25 else w)
        out.append(toks)
    return out


def _synthetic(seed, n_sents=400, n_tags=6, n_words=300):  # beam 7 > 6 tags: narrow rows
    """A random corpus with ambiguous frequent words (so some get word-specific states)."""
    rng = random.Random(seed)
    tags = [f"T{i}" for i in range(n_tags)]
    lex = {f"w{i}{rng.choice(['', 'ed', 'ing', 's', 'ly'])}":
           rng.sample(tags, rng.choice([1, 1, 2, 3])) for i in range(n_words)}
    words = list(lex)
    weights = [1.0 / (i + 1) for i in range(len(words))]
    sents = []
    for _ in range(n_sents):
        ws = rng.choices(words, weights, k=rng.randint(1, 25))
        sents.append([(w, rng.choice(lex[w])) for w in ws])
    return sents


@pytest.mark.parametrize("field", ["upos", "xpos"])
def test_hmm_batch_matches_sentence_by_sentence_on_ud(field):
    train, test = _ud(field, "train"), _ud(field, "test")
    words = [[w for w, _ in s] for s in test]
    words += _noisy(words[:300], 0)
    tagger = HMMTagger().train(train)
    sample = words[::20]
    before = [tagger.predict([s])[0] for s in sample]     # small calls, before any batch
    batch = tagger.predict(words)
    after = [tagger.predict([s])[0] for s in sample]
    assert batch[::20] == before == after
    assert tagger.predict(words) == batch
    assert tagger.tag_sents(words) == [list(zip(s, t)) for s, t in zip(words, batch)]
    # the tags are good ones (not just consistent)
    gold = [[t for _, t in s] for s in test]
    right = sum(a == b for g, p in zip(gold, batch) for a, b in zip(g, p))
    assert right / sum(map(len, gold)) > 0.92


@pytest.mark.parametrize("params", [dict(), dict(beam=7), dict(beam=1), dict(order=1),
                                    dict(case_backoff=0.0, known_prior=0.0)])
def test_hmm_batch_matches_sentence_by_sentence_synthetic(params):
    corpus = _synthetic(1)
    tagger = HMMTagger(lexicalize=5, **params).train(corpus[:300])
    words = [[w for w, _ in s] for s in corpus[300:]]
    words += _noisy(words, 2) + [[], ["unseen", "W7", "w3ING"]]
    single = [tagger.predict([s])[0] for s in words]
    assert tagger.predict(words) == single
    assert [tagger.predict([s])[0] for s in words] == single


def test_hmm_pickle_leaves_out_the_lookup_tables():
    corpus = _synthetic(3, n_sents=600, n_tags=12, n_words=2000)
    tagger = HMMTagger().train(corpus)
    words = [[w for w, _ in s] for s in corpus] * 5
    size = len(pickle.dumps(tagger))
    pred = tagger.predict(words)
    assert len(pickle.dumps(tagger)) <= size + 1000
    assert pickle.loads(pickle.dumps(tagger)).predict(words) == pred


@pytest.mark.parametrize("sents, error", [
    ([["a", ""]], ValueError), ([["a", 3]], TypeError), ([["a"], "b c"], TypeError),
    ("a b", TypeError), ([["a"], [b"b"]], TypeError)])
def test_hmm_batch_input_checks_still_apply(sents, error):
    tagger = HMMTagger().train([[("a", "X"), ("b", "Y")]])
    with pytest.raises(error):
        tagger.predict(sents)


def test_hmm_accepts_tuple_sentences_and_generators():
    tagger = HMMTagger().train([[("a", "X"), ("b", "Y")]] * 2)
    expect = tagger.predict([["a", "b"], ["b"]])
    assert tagger.predict([("a", "b"), ("b",)]) == expect
    assert tagger.predict(iter([iter(["a", "b"]), ["b"]])) == expect


# ---------------------------------------------------------------------------------------------
# CRFTagger / FeatureExtractor
# ---------------------------------------------------------------------------------------------

def _reference_shape(word, collapse):
    """The documented shape: upper case -> X, lower case -> x, digit -> d, others kept."""
    out = []
    for ch in word:
        c = "X" if ch.isupper() else "x" if ch.islower() else "d" if ch.isdigit() else ch
        if not (collapse and out and out[-1] == c):
            out.append(c)
    return "".join(out)


def test_word_shapes_match_their_definition():
    from fastseq.features import short_shape, word_shape
    rng = random.Random(5)
    alphabet = "aZq9_-.'\u00e9\u0130\u00df\u01c5\u2160\u0663\u00b2 \u03a3!Xx"
    words = ["McDonald's", "CO2-free", "1984", "...", "Internationalisation", "a"]
    words += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30)))
              for _ in range(3000)]
    for w in words:
        assert word_shape(w) == _reference_shape(w[:20], False)
        assert word_shape(w, cap=4) == _reference_shape(w[:4], False)
        assert short_shape(w) == _reference_shape(w, True)


def test_sentence_codes_match_sentence_values():
    import numpy as np

    from fastseq.features.transforms import sentence_codes, sentence_values
    rng = random.Random(6)
    pool = ["The", "BIG", "dog", "Runs", "a", "IBM", "3", "...", "x", "Über", "éa", "NYC"]
    sents = [[rng.choice(pool) for _ in range(rng.randint(0, 8))] for _ in range(400)]
    values = [w for s in sents for w in s]
    lengths = np.array([len(s) for s in sents])
    types = list(dict.fromkeys(values))
    tid = np.array([types.index(w) for w in values], dtype=np.int64)
    for name in ("sentcase", "isfirst"):
        codes, labels = sentence_codes(name, types, tid, lengths)
        assert [labels[c] for c in codes.tolist()] == sentence_values(name, values, lengths)


def _same_features(a, b):
    A, B = a.matrix, b.matrix
    return (A.shape == B.shape and (A.indptr == B.indptr).all()
            and (A.indices == B.indices).all() and (A.data == B.data).all())


@pytest.mark.parametrize("templates", ["pos", "ner"])
def test_transform_is_the_same_on_every_call(templates):
    from fastseq.features import FeatureExtractor
    corpus = _synthetic(7, n_sents=300)
    train = [[(w, t) for w, t in s] for s in corpus[:200]]
    test = [[(w.upper() if i % 3 else w, t) for i, (w, t) in enumerate(s)]
            for s in corpus[200:]]
    fx = FeatureExtractor(templates, columns=("w", "pos")).fit(train)
    first = fx.transform(test)
    # a fresh copy (no remembered values) of the same fit, in another order of calls
    fresh = pickle.loads(pickle.dumps(fx))
    assert _same_features(fresh.transform(test[:7]), fx.transform(test[:7]))
    assert _same_features(fx.transform(test), first)
    assert _same_features(fresh.transform(test), first)
    # the values remembered by transform do not travel in pickles
    size = len(pickle.dumps(fx))
    fx.transform([[(f"new{i}", "T0") for i in range(k, k + 20)] for k in range(0, 4000, 20)])
    assert len(pickle.dumps(fx)) == size
    # a new fit forgets them
    fx.fit(test)
    assert _same_features(fx.transform(train), FeatureExtractor(
        templates, columns=("w", "pos")).fit(test).transform(train))


def test_transform_from_threads_agrees():
    from concurrent.futures import ThreadPoolExecutor

    from fastseq.features import FeatureExtractor
    corpus = _synthetic(8, n_sents=600, n_words=3000)
    words = [[w for w, _ in s] for s in corpus]
    want = FeatureExtractor("pos").fit(words[:300]).transform(words)
    fx = FeatureExtractor("pos").fit(words[:300])
    parts = [words[i::8] for i in range(8)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(fx.transform, parts * 3))
    ref = FeatureExtractor("pos").fit(words[:300])
    for part, f in zip(parts * 3, got):
        assert _same_features(f, ref.transform(part))
    assert _same_features(fx.transform(words), want)


def test_crf_tagger_input_checks_still_apply():
    from fastseq.taggers import CRFTagger
    tagger = CRFTagger(templates="pos", stack=0).train([[("a", "X"), ("b", "Y")]])
    for bad, error in [([["a", ""]], ValueError), ([["a", 3]], TypeError),
                       ([[("a", 3)]], TypeError), ([["a"], "a b"], TypeError)]:
        with pytest.raises(error):
            tagger.predict(bad)
    assert tagger.predict([("a", "b")]) == tagger.predict([["a", "b"]])


def test_stacked_training_is_the_same_for_any_n_threads():
    """The first-level folds and the second level give the same model on 1 and 3 threads."""
    from fastseq.taggers import CRFTagger
    corpus = _synthetic(9, n_sents=300)
    models = [CRFTagger(templates="pos", stack=2, max_iterations=15, n_threads=nt)
              .train(corpus[:240]) for nt in (1, 3)]
    parts = []
    for m in models:
        meta, arrays = m.crf_.to_archive_parts(with_attributes=False)
        meta1, arrays1 = m.level1_.crf_.to_archive_parts(with_attributes=False)
        parts.append((arrays, arrays1, m.features_.attribute_names()))
    (a, a1, na), (b, b1, nb) = parts
    assert na == nb
    for x, y in ((a, b), (a1, b1)):
        assert sorted(x) == sorted(y)
        for k in x:
            assert (x[k] == y[k]).all(), k
    words = [[w for w, _ in s] for s in corpus[240:]]
    assert models[0].predict(words) == models[1].predict(words)
    assert models[1].level1_.n_threads == 3 and models[1].level1_.crf_.n_threads == 3


def test_repeated_transforms_agree_with_the_first():
    """Large key spaces (word pairs) are looked up by binary search, then, once the lookups
    add up, in a hash table: both give the same columns."""
    from fastseq.features import FeatureExtractor
    corpus = _synthetic(10, n_sents=800, n_words=4000)
    words = [[w for w, _ in s] for s in corpus]
    fx = FeatureExtractor("pos").fit(words[:500])
    fresh = pickle.dumps(fx)
    batches = [words[500:], words[:500], _noisy(words[500:], 3)]
    want = [pickle.loads(fresh).transform(b) for b in batches]
    for _ in range(4):
        for b, w in zip(batches, want):
            assert _same_features(fx.transform(b), w)
    assert _same_features(pickle.loads(pickle.dumps(fx)).transform(batches[2]), want[2])
