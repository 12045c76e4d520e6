"""The compiled loop of ``encode_items`` against python-crfsuite's item semantics in Python.

The reference builds the matrix from :func:`fastseq.crf.crfsuite_items` (pure Python) with
a plain loop: attributes numbered in order of first appearance with ``fit``, unknown ones
dropped without, repeated ones summed, NaN / inf refused among the kept values. Hypothesis
draws tokens of every kind ``encode_items`` takes (dicts with str / bytes / bool / int /
float / numpy / nested dict, list and set values, unicode names with ``":"`` in them,
lists of names with repeats, empty tokens) and malformed ones.
"""
from __future__ import annotations

import math
import signal
import types
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse

from fastseq.crf import CRF, crfsuite_items
from fastseq.crf.items import encode_items, vocabulary_index

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# a small alphabet, so that names repeat and collide ("a:b" + "c" vs "a" + "b:c")
TEXT = st.text(alphabet="ab:\u00e9\u20ac\U0001f600", max_size=3)


class Str(str):
    """A str subclass (read as a str by python-crfsuite)."""


def _finite_values():
    leaf = st.one_of(
        TEXT, TEXT.map(str.encode), TEXT.map(Str), st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False, allow_infinity=False, width=64),
        st.floats(-5, 5).map(np.float64), st.integers(-5, 5).map(np.int64),
        st.booleans().map(np.bool_))
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.dictionaries(TEXT, inner, max_size=3),
            st.lists(TEXT, max_size=3),
            st.frozensets(TEXT, max_size=3),
            st.sets(TEXT, max_size=3)),
        max_leaves=6)


def _tokens(values):
    keys = st.one_of(TEXT, TEXT.map(str.encode))
    return st.one_of(
        st.dictionaries(keys, values, max_size=5),
        st.lists(TEXT, max_size=5),                            # repeats kept: they add up
        st.lists(TEXT, max_size=3).map(tuple),
        st.lists(st.one_of(TEXT, TEXT.map(str.encode)), max_size=3))


def _batches(values):
    return st.lists(st.lists(_tokens(values), max_size=4), max_size=5)


FINITE = _batches(_finite_values())


def reference(seqs: List[Any], vocab: Optional[Dict[str, int]],
              fit: bool) -> Tuple[sparse.csr_matrix, List[int], Dict[str, int]]:
    vocab = {} if fit else dict(vocab or {})
    indptr, cols, vals, lengths = [0], [], [], []
    for xseq in seqs:
        toks = crfsuite_items(xseq)
        lengths.append(len(toks))
        for pairs in toks:
            for n, v in pairs:
                if fit:
                    c = vocab.setdefault(n, len(vocab))
                elif n in vocab:
                    c = vocab[n]
                else:
                    continue
                cols.append(c)
                vals.append(v)
            indptr.append(len(cols))
    if not all(math.isfinite(v) for v in vals):
        raise ValueError("NaN or inf")
    X = sparse.csr_matrix((np.array(vals, dtype=np.float64), np.array(cols, dtype=np.int64),
                           np.array(indptr, dtype=np.int64)),
                          shape=(len(indptr) - 1, len(vocab)))
    X.sum_duplicates()
    return X, lengths, vocab


def assert_same(got, want) -> None:
    (batch, vocab), (X, lengths, vocab_ref) = got, want
    assert list(vocab.items()) == list(vocab_ref.items())  # same columns, same order
    assert batch.X.shape == X.shape
    assert batch.X.indptr.tolist() == X.indptr.tolist()
    assert batch.X.indices.tolist() == X.indices.tolist()
    assert batch.X.data.tolist() == X.data.tolist()
    assert batch.X.dtype == np.float64
    assert batch.lengths.tolist() == lengths


@SETTINGS
@given(FINITE)
def test_fit_matches_the_python_semantics(seqs):
    assert_same(encode_items(seqs, "X", None, fit=True), reference(seqs, None, True))


@SETTINGS
@given(FINITE, FINITE)
def test_predict_matches_the_python_semantics_and_drops_unknown_attributes(train, test):
    _, _, vocab = reference(train, None, True)
    before = dict(vocab)
    seqs = test + train  # unknown attributes and known ones
    want = reference(seqs, vocab, False)
    assert_same(encode_items(seqs, "X", vocab, fit=False), want)
    # the vocabulary's index (every split of every name at a colon) knows the same
    assert_same(encode_items(seqs, "X", vocab, fit=False, index=vocabulary_index(vocab)),
                want)
    assert vocab == before  # never extended


def _nonfinite_values():
    return st.one_of(_finite_values(), st.sampled_from([math.nan, math.inf, -math.inf]),
                     st.sampled_from([np.float64(np.nan), np.float64(-np.inf)]))


NONFINITE = _batches(_nonfinite_values())


class Refused(str):
    """The message of the ValueError a call raised."""


def _outcome(fn):
    try:
        return fn()
    except ValueError as e:
        return Refused(e)


def _first_appearance(seqs) -> Dict[str, int]:
    vocab: Dict[str, int] = {}
    for xseq in seqs:
        for pairs in crfsuite_items(xseq):
            for n, _ in pairs:
                vocab.setdefault(n, len(vocab))
    return vocab


@SETTINGS
@given(NONFINITE, FINITE, st.booleans())
def test_nan_and_inf_are_refused_where_python_refuses_them(seqs, train, all_known):
    got = _outcome(lambda: encode_items(seqs, "X", None, fit=True))
    want = _outcome(lambda: reference(seqs, None, True))
    if isinstance(want, Refused):
        assert got == Refused("`X` has a NaN or infinite feature value")
    else:
        assert_same(got, want)
    # without fit, only the values of known attributes are checked
    vocab = _first_appearance(train + seqs if all_known else train)
    got = _outcome(lambda: encode_items(seqs, "X", vocab, fit=False))
    want = _outcome(lambda: reference(seqs, vocab, False))
    if isinstance(want, Refused):
        assert got == Refused("`X` has a NaN or infinite feature value")
    else:
        assert_same(got, want)


def test_nan_of_an_unknown_attribute_is_dropped_without_fit():
    _, vocab = encode_items([[{"w": "a", "x": 1.0}]], "X", None, fit=True)
    batch, _ = encode_items([[{"w": "a", "y": math.nan}]], "X", vocab, fit=False)
    assert batch.X.toarray().tolist() == [[1.0, 0.0]]
    with pytest.raises(ValueError, match="NaN or infinite"):
        encode_items([[{"w": "a", "x": math.inf}]], "X", vocab, fit=False)


BAD = st.one_of(st.none(), st.just(object()), st.just(1 + 2j), st.just(b"\xff"),
                st.just(np.array([1.0])))


@SETTINGS
@given(st.lists(st.lists(_tokens(st.one_of(_finite_values(), BAD)), min_size=1, max_size=3),
                min_size=1, max_size=3),
       st.one_of(st.none(), st.just("word"), st.just(3), st.just({1: "a"}), st.just([2])))
def test_malformed_tokens_raise_what_the_python_path_raises(seqs, bad_token):
    if bad_token is not None:
        seqs[-1].append(bad_token)
    try:
        want = reference(seqs, None, True)
    except (TypeError, UnicodeDecodeError) as e:
        with pytest.raises(type(e)) as got:
            encode_items(seqs, "X", None, fit=True)
        if isinstance(e, TypeError):
            # same message, with the token's place instead of crfsuite_items' "token t"
            assert str(got.value).split(": ", 1)[1] == str(e).split(": ", 1)[1]
            assert str(got.value).startswith("`X[")
    else:
        assert_same(encode_items(seqs, "X", None, fit=True), want)


def test_error_names_the_token():
    with pytest.raises(TypeError, match=r"^`X\[1\]\[2\]`: the value of feature 'k'"):
        encode_items([[{}], [{}, ["a"], {"j": "x", "k": None}]], "X", None, fit=True)


def test_unicode_empty_tokens_and_repeats():
    seqs = [[{"w\u00e9": "caf\u00e9", "\U0001f600": True}, {}, [], ["a", "a", "b"]],
            [{"n": 2, "m": {"x": ["a", "a"]}}]]
    batch, vocab = encode_items(seqs, "X", None, fit=True)
    assert list(vocab) == ["w\u00e9:caf\u00e9", "\U0001f600", "a", "b", "n", "m:x:a"]
    assert batch.X.toarray().tolist() == [
        [1, 1, 0, 0, 0, 0], [0] * 6, [0] * 6, [0, 0, 2, 1, 0, 0], [0, 0, 0, 0, 2, 2]]
    assert batch.lengths.tolist() == [4, 1]


def test_mapping_vocabulary_and_sequence_kinds():
    pycrfsuite = pytest.importorskip("pycrfsuite")
    _, vocab = encode_items([[{"w": "a"}, ["b"]]], "X", None, fit=True)
    seqs = ((({"w": "a"}, ["b", "c"])), pycrfsuite.ItemSequence([{"w": "a"}]))
    batch, _ = encode_items(seqs, "X", types.MappingProxyType(vocab), fit=False)
    assert batch.X.toarray().tolist() == [[1, 0], [0, 1], [1, 0]]
    assert batch.lengths.tolist() == [2, 1]


def test_feature_dicts_of_the_tutorial_kind():
    # the common shape of real inputs: one dict per token, str and bool values
    words = ["El", "Tribunal", "de", "Madrid", "2001", "."]
    seqs = [[{"bias": 1.0, "lower": w.lower(), "suf2": w[-2:], "title": w.istitle(),
              "digit": w.isdigit()} for w in words[i:]] for i in range(3)]
    batch, vocab = encode_items(seqs, "X", None, fit=True)
    assert_same((batch, vocab), reference(seqs, None, True))
    assert_same(encode_items(seqs[1:], "X", vocab, fit=False),
                reference(seqs[1:], vocab, False))


class Alarm(Exception):
    pass


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs signal.setitimer")
def test_a_signal_interrupts_the_compiled_loop():
    # the compiled loop runs no bytecode: it must check for signals (Ctrl-C) itself
    seq = [{"w": "a", "n": 1.0, "x": "b"}] * 1000
    X = [seq] * 2000

    def handler(signum, frame):
        raise Alarm

    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.02)
        with pytest.raises(Alarm) as info:
            encode_items(X, "X", None, fit=True)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    # raised inside the loop, not at the first bytecode after it
    assert any(str(entry.path).endswith("_items.pyx") for entry in info.traceback)


# -- edge cases of the compiled loop, each against the Python semantics ----------------------

def _assert_all_paths(seqs, train=None):
    """fit on ``train`` (default: ``seqs``), then encode ``seqs`` with the vocabulary, with
    and without its index: all as the pure-Python reference."""
    train = seqs if train is None else train
    assert_same(encode_items(train, "X", None, fit=True), reference(train, None, True))
    _, _, vocab = reference(train, None, True)
    want = reference(seqs, vocab, False)
    assert_same(encode_items(seqs, "X", vocab, fit=False), want)
    assert_same(encode_items(seqs, "X", vocab, fit=False, index=vocabulary_index(vocab)),
                want)


def test_values_of_every_length_and_kind():
    # values are matched by their first and last 8 bytes up to 16 bytes, in full beyond:
    # lengths around those bounds, 1-, 2- and 4-byte characters, and values that differ
    # only in the middle or only at one end
    values = []
    for ch in ("a", "\u00e9", "\u20ac", "\U0001f600"):
        for n in range(0, 21):
            values.append(ch * n)
            if n >= 3:
                values.append(ch * (n // 2) + "x" + ch * (n - n // 2 - 1))  # middle
                values.append("y" + ch * (n - 1))
                values.append(ch * (n - 1) + "z")
    seqs = [[{"k": v, "k2": v[::-1]} for v in values], [{"k": v} for v in values[::3]]]
    _assert_all_paths(seqs)
    # a vocabulary of half of them: the others are unknown
    _assert_all_paths(seqs, train=[[{"k": v, "k2": v} for v in values[::2]]])


def test_number_values_and_known_or_unknown_keys():
    seqs = [[{"b": True, "f": False, "i": 0, "j": -7, "big": 2**70, "x": 0.0, "y": -2.5e-300},
             {"b": False, "i": 3, "new": 1.0, "w": "b"}, {"w": True}]]
    _assert_all_paths(seqs)
    _assert_all_paths(seqs, train=[[{"b": 1, "w": "b"}, {"y": 2.0}]])


def test_an_int_too_large_for_a_float_raises_as_in_python():
    for train in ([[{"k": 1}]], [[{"other": 1}]]):  # known or unknown
        vocab = encode_items(train, "X", None, fit=True)[1]
        for index in (None, vocabulary_index(vocab)):
            with pytest.raises(OverflowError):
                encode_items([[{"k": 10**400}]], "X", vocab, fit=False, index=index)
    with pytest.raises(OverflowError):
        crfsuite_items([{"k": 10**400}])


def test_names_joined_the_same_way_are_one_attribute():
    # "a" + "b:c", "a:b" + "c" and the number "a:b:c" are all the attribute "a:b:c": they
    # add up, in their order
    seqs = [[{"a:b:c": 0.1, "a": "b:c", "a:b": "c"}, {"a": "b:c"}, {"a:b": "c", "c": ":"},
             {"": "", ":": ":", "::": ""}, ["a:b:c", "a:b:c"]]]
    _assert_all_paths(seqs)
    _assert_all_paths([[{"a": "b:c"}, {"a:b": "c"}, {"a": "b:c:d"}]],
                      train=[[{"a:b:c": 2.0}, ["a:b:c:d"]]])


def test_rows_with_repeats_and_long_rows():
    # short rows with repeats keep their order when summed; rows past the short-row sort
    # (63 entries) go through the general one
    seqs = [[["a", "b", "a", "c", "a"], {"a": 1.0, "b": "x", "b:x": 0.5},
             [f"n{i % 50}" for i in range(200)],
             {f"k{i}": (f"v{i % 7}" if i % 3 else i) for i in range(150)},
             [f"m{i}" for i in range(64)], [f"m{i}" for i in range(63, -1, -1)]]]
    _assert_all_paths(seqs)


def test_more_keys_than_the_key_cache_holds():
    # keys that share cache slots evict each other: the answers stay right
    seqs = [[{f"key{j}": f"v{(i + j) % 5}" for j in range(i, i + 400)} for i in range(0, 60, 7)]]
    _assert_all_paths(seqs)
    _assert_all_paths(seqs, train=[seqs[0][:3]])


def test_non_str_keys_nested_values_and_empty_tokens():
    seqs = [[{b"k": "v", "n": {"x": "y", "z": [b"a", "b"]}}, {}, [], {"s": {"t"}},
             {"\U0001f600": "\u00e9", "e": frozenset()}, ["\u20ac", b"\xe2\x82\xac"]],
            [], [{"k": "v"}]]
    _assert_all_paths(seqs)
    with pytest.raises(TypeError, match="feature names must be str"):
        encode_items([[{1: "a"}]], "X", None, fit=True)


def test_vocabulary_index_refuses_what_it_cannot_index():
    with pytest.raises(TypeError, match="must be a dict"):
        vocabulary_index([("a", 0)])
    with pytest.raises(TypeError, match="must be str"):
        vocabulary_index({b"a": 0})


def test_crf_predicts_the_same_with_its_cached_index_and_after_pickling():
    import pickle

    X = [[{"w": w, "s": w[-1:], "up": w.isupper(), "n": len(w)} for w in s.split()]
         for s in ("The dog BARKS", "A cat sleeps", "Dogs bark .")] * 3
    y = [["D", "N", "V"]] * 9
    crf = CRF(max_iterations=20).fit(X, y)
    test = X + [[{"w": "unknown", "s": "x", "up": False, "n": 99, "new": "v"}]]
    first = crf.predict(test)  # builds the index
    assert crf.predict(test) == first
    back = pickle.loads(pickle.dumps(crf))  # the index is not pickled, but rebuilt
    assert back.predict(test) == first
    batch, _ = encode_items(test, "X", {n: i for i, n in enumerate(crf.attributes_)},
                            fit=False)
    assert crf.predict_ids(test)[0].size == batch.X.shape[0]
