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

from fastseq.crf import crfsuite_items
from fastseq.crf.items import encode_items

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
    got = encode_items(seqs, "X", vocab, fit=False)
    assert_same(got, reference(seqs, vocab, False))
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
