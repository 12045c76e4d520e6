"""Tests for fastseq.schemes: labels, transition masks, span extraction, conversion.

Expected values are written out by hand from the scheme definitions.
"""
import itertools
import random

import numpy as np
import pytest

from fastseq.schemes import (
    SCHEMES,
    allowed_transitions,
    convert_scheme,
    entities_to_tags,
    get_entities,
    normalize_scheme,
    parse_label,
)

# prefixes (besides O) of each scheme
PREFIXES = {"IOB1": "IB", "IOB2": "BI", "IOE1": "IE", "IOE2": "IE",
            "IOBES": "BIES", "BILOU": "BILU"}


def tagset(scheme, types=("PER", "LOC")):
    return ["O"] + [f"{p}-{t}" for t in types for p in PREFIXES[scheme]]


def is_allowed(tags, masks, labels):
    trans, start, end = masks
    if not tags:
        return True
    idx = [labels.index(t) for t in tags]
    return bool(start[idx[0]] and end[idx[-1]] and all(trans[a, b] for a, b in zip(idx, idx[1:])))


def allowed_pairs(labels, trans):
    return {(labels[i], labels[j]) for i, j in zip(*np.nonzero(trans))}


# ----------------------------------------------------------------------------------------
# scheme names and labels
# ----------------------------------------------------------------------------------------
def test_normalize_scheme():
    assert SCHEMES == ("IOB1", "IOB2", "IOE1", "IOE2", "IOBES", "BILOU")
    assert normalize_scheme("iob2") == "IOB2"
    assert normalize_scheme("BIO") == "IOB2"
    assert normalize_scheme("bioes") == "IOBES"
    assert normalize_scheme("bilou") == "BILOU"

    class IOE1:  # a class named like a scheme (seqeval's scheme classes are used this way)
        pass

    assert normalize_scheme(IOE1) == "IOE1"
    with pytest.raises(ValueError, match="IOB1, IOB2, IOE1, IOE2, IOBES, BILOU"):
        normalize_scheme("IOB3")
    with pytest.raises(TypeError):
        normalize_scheme(2)


def test_parse_label():
    assert parse_label("B-PER") == ("B", "PER")
    assert parse_label("O") == ("O", "")
    assert parse_label("I-ORG-CORP") == ("I", "ORG-CORP")
    assert parse_label("PER-B", suffix=True) == ("B", "PER")
    assert parse_label("ORG-CORP-E", suffix=True) == ("E", "ORG-CORP")
    assert parse_label("U-LOC", "BILOU") == ("U", "LOC")
    assert parse_label("O", "IOE1") == ("O", "")
    with pytest.raises(ValueError, match="E-PER.*IOB2"):
        parse_label("E-PER", "IOB2")
    with pytest.raises(ValueError, match="S-PER.*BILOU"):
        parse_label("S-PER", "BILOU")
    for bad in ["B", "B-", "BPER", "X-PER", "O-PER", "", "-PER"]:
        with pytest.raises(ValueError, match="does not fit"):
            parse_label(bad)
    with pytest.raises(TypeError):
        parse_label(3)
    with pytest.raises(TypeError):
        parse_label(None, "IOB2")


# ----------------------------------------------------------------------------------------
# allowed_transitions: hand-written masks
# ----------------------------------------------------------------------------------------
def test_masks_iob2_by_hand():
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    trans, start, end = allowed_transitions(labels, "IOB2")
    assert trans.dtype == np.bool_ and trans.shape == (5, 5)
    assert start.dtype == np.bool_ and start.shape == (5,) and end.shape == (5,)
    # rows: from; columns: to             O  B-P I-P B-L I-L
    expected = np.array([[1, 1, 0, 1, 0],   # O
                         [1, 1, 1, 1, 0],   # B-PER
                         [1, 1, 1, 1, 0],   # I-PER
                         [1, 1, 0, 1, 1],   # B-LOC
                         [1, 1, 0, 1, 1]],  # I-LOC
                        dtype=bool)
    np.testing.assert_array_equal(trans, expected)
    np.testing.assert_array_equal(start, [1, 1, 0, 1, 0])
    np.testing.assert_array_equal(end, [1, 1, 1, 1, 1])


def test_masks_iob1_by_hand():
    labels = ["O", "I-PER", "B-PER", "I-LOC", "B-LOC"]
    trans, start, end = allowed_transitions(labels, "IOB1")
    #                      O  I-P B-P I-L B-L
    expected = np.array([[1, 1, 0, 1, 0],   # O: B- only right after a same-type chunk
                         [1, 1, 1, 1, 0],   # I-PER
                         [1, 1, 1, 1, 0],   # B-PER
                         [1, 1, 0, 1, 1],   # I-LOC
                         [1, 1, 0, 1, 1]],  # B-LOC
                        dtype=bool)
    np.testing.assert_array_equal(trans, expected)
    np.testing.assert_array_equal(start, [1, 1, 0, 1, 0])
    np.testing.assert_array_equal(end, [1, 1, 1, 1, 1])


def test_masks_ioe2_by_hand():
    labels = ["O", "I-PER", "E-PER", "I-LOC", "E-LOC"]
    trans, start, end = allowed_transitions(labels, "IOE2")
    #                      O  I-P E-P I-L E-L
    expected = np.array([[1, 1, 1, 1, 1],   # O
                         [0, 1, 1, 0, 0],   # I-PER must continue to I-PER / E-PER
                         [1, 1, 1, 1, 1],   # E-PER
                         [0, 0, 0, 1, 1],   # I-LOC
                         [1, 1, 1, 1, 1]],  # E-LOC
                        dtype=bool)
    np.testing.assert_array_equal(trans, expected)
    np.testing.assert_array_equal(start, [1, 1, 1, 1, 1])
    np.testing.assert_array_equal(end, [1, 0, 1, 0, 1])


def test_masks_ioe1_by_hand():
    labels = ["O", "I-PER", "E-PER", "I-LOC", "E-LOC"]
    trans, start, end = allowed_transitions(labels, "IOE1")
    #                      O  I-P E-P I-L E-L
    expected = np.array([[1, 1, 1, 1, 1],   # O
                         [1, 1, 1, 1, 1],   # I-PER
                         [0, 1, 1, 0, 0],   # E-PER: the next chunk is a PER chunk
                         [1, 1, 1, 1, 1],   # I-LOC
                         [0, 0, 0, 1, 1]],  # E-LOC
                        dtype=bool)
    np.testing.assert_array_equal(trans, expected)
    np.testing.assert_array_equal(start, [1, 1, 1, 1, 1])
    np.testing.assert_array_equal(end, [1, 1, 0, 1, 0])


@pytest.mark.parametrize("scheme,close,single", [("IOBES", "E", "S"), ("BILOU", "L", "U")])
def test_masks_iobes_bilou_by_hand(scheme, close, single):
    labels = ["O", "B-PER", "I-PER", f"{close}-PER", f"{single}-PER", "B-LOC", f"{single}-LOC"]
    trans, start, end = allowed_transitions(labels, scheme)
    #                      O  B-P I-P E-P S-P B-L S-L
    expected = np.array([[1, 1, 0, 0, 1, 1, 1],   # O
                         [0, 0, 1, 1, 0, 0, 0],   # B-PER
                         [0, 0, 1, 1, 0, 0, 0],   # I-PER
                         [1, 1, 0, 0, 1, 1, 1],   # E-PER / L-PER
                         [1, 1, 0, 0, 1, 1, 1],   # S-PER / U-PER
                         [0, 0, 0, 0, 0, 0, 0],   # B-LOC (its I-/E- labels are absent)
                         [1, 1, 0, 0, 1, 1, 1]],  # S-LOC / U-LOC
                        dtype=bool)
    np.testing.assert_array_equal(trans, expected)
    np.testing.assert_array_equal(start, [1, 1, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(end, [1, 0, 0, 1, 1, 0, 1])


def test_masks_forbid_classic_illegal_moves():
    labels = tagset("IOB2")
    pairs = allowed_pairs(labels, allowed_transitions(labels, "IOB2")[0])
    for bad in [("O", "I-PER"), ("B-PER", "I-LOC"), ("I-PER", "I-LOC"), ("B-LOC", "I-PER")]:
        assert bad not in pairs
    for good in [("O", "B-PER"), ("B-PER", "I-PER"), ("I-PER", "B-LOC"), ("I-LOC", "O")]:
        assert good in pairs

    labels = tagset("IOBES")
    trans, start, end = allowed_transitions(labels, "IOBES")
    pairs = allowed_pairs(labels, trans)
    for bad in [("B-PER", "O"), ("O", "E-PER"), ("I-PER", "E-LOC"), ("B-PER", "B-PER"),
                ("S-PER", "I-PER"), ("E-PER", "E-PER")]:
        assert bad not in pairs
    assert not start[labels.index("I-PER")] and not start[labels.index("E-PER")]
    assert not end[labels.index("B-PER")] and not end[labels.index("I-PER")]


def test_masks_with_suffix_labels_and_order():
    labels = ["PER-I", "O", "PER-B"]  # any order; state index = position in labels
    trans, start, end = allowed_transitions(labels, "IOB2", suffix=True)
    np.testing.assert_array_equal(start, [0, 1, 1])
    assert not trans[1, 0] and trans[2, 0] and trans[0, 0]


def test_masks_errors():
    with pytest.raises(ValueError, match="E-PER.*IOB2"):
        allowed_transitions(["O", "B-PER", "E-PER"], "IOB2")
    with pytest.raises(ValueError, match="'O'"):
        allowed_transitions(["B-PER", "I-PER"], "IOB2")
    with pytest.raises(ValueError, match="more than once"):
        allowed_transitions(["O", "B-PER", "B-PER"], "IOB2")
    with pytest.raises(ValueError, match="IOB1, IOB2, IOE1, IOE2, IOBES, BILOU"):
        allowed_transitions(["O", "B-PER"], "BIOX")
    with pytest.raises(TypeError):
        allowed_transitions(["O", 1], "IOB2")
    with pytest.raises(TypeError):
        allowed_transitions("O", "IOB2")


def count_tilings(n, n_types):
    """Number of ways to cover n tokens with O's and chunks of n_types types."""
    a = [1]
    for k in range(1, n + 1):
        a.append(a[k - 1] + n_types * sum(a[k - length] for length in range(1, k + 1)))
    return a[n]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_masks_exactly_describe_wellformed_sequences(scheme):
    # Every label sequence up to length 3 that the masks allow is the canonical encoding of
    # its chunks (converting it to the same scheme changes nothing) and vice versa.
    labels = tagset(scheme)
    masks = allowed_transitions(labels, scheme)
    for n in range(1, 4):
        for tags in itertools.product(labels, repeat=n):
            tags = list(tags)
            ok = is_allowed(tags, masks, labels)
            assert ok == (convert_scheme(tags, scheme, scheme) == tags), tags


@pytest.mark.parametrize("scheme", SCHEMES)
def test_masks_count_matches_number_of_chunkings(scheme):
    # In every scheme each chunking of n tokens has exactly one spelling, so the number of
    # paths the masks allow (start' trans^(n-1) end) is the number of chunkings.
    trans, start, end = (m.astype(np.int64) for m in allowed_transitions(tagset(scheme), scheme))
    vec = start
    for n in range(1, 11):
        assert vec @ end == count_tilings(n, 2), n
        vec = vec @ trans
    assert count_tilings(2, 2) == 11  # by hand: OO; 4 x (a 1-token chunk and an O);
    #                                   4 x two 1-token chunks; 2 x one 2-token chunk


def random_spans(rng, n, types):
    spans, i = [], 0
    while i < n:
        if rng.random() < 0.5:
            e = min(n - 1, i + rng.randint(1, 4) - 1)
            spans.append((rng.choice(types), i, e))
            i = e + 1
        else:
            i += 1
    return spans


@pytest.mark.parametrize("scheme", SCHEMES)
def test_random_valid_sequences_are_allowed(scheme):
    rng = random.Random(sum(map(ord, scheme)))
    types = ("PER", "LOC", "ORG")
    labels = tagset(scheme, types)
    masks = allowed_transitions(labels, scheme)
    for _ in range(500):
        n = rng.randint(0, 12)
        spans = random_spans(rng, n, types)
        tags = entities_to_tags(spans, n, scheme)
        assert is_allowed(tags, masks, labels), tags
        assert convert_scheme(tags, scheme, "IOB2") == entities_to_tags(spans, n, "IOB2")
        if scheme != "BILOU":  # lenient chunking reads every other scheme correctly
            assert get_entities(tags) == spans


# ----------------------------------------------------------------------------------------
# get_entities
# ----------------------------------------------------------------------------------------
def test_get_entities_lenient_by_hand():
    assert get_entities(["B-PER", "I-PER", "O", "B-LOC"]) == [("PER", 0, 1), ("LOC", 3, 3)]
    # I- after O or at the start opens a chunk (conlleval)
    assert get_entities(["I-PER", "I-PER", "O", "I-LOC"]) == [("PER", 0, 1), ("LOC", 3, 3)]
    # a type switch inside a chunk splits it
    assert get_entities(["B-PER", "I-LOC", "I-LOC"]) == [("PER", 0, 0), ("LOC", 1, 2)]
    # B- always opens a new chunk
    assert get_entities(["B-PER", "B-PER", "I-PER"]) == [("PER", 0, 0), ("PER", 1, 2)]
    # E-/S- close chunks
    assert get_entities(["B-PER", "E-PER", "S-PER", "I-PER"]) == [
        ("PER", 0, 1), ("PER", 2, 2), ("PER", 3, 3)]
    assert get_entities(["I-PER", "E-PER", "E-PER"]) == [("PER", 0, 1), ("PER", 2, 2)]
    # several sequences: joined with an "O" after each
    assert get_entities([["B-PER", "I-PER"], ["I-PER", "O"]]) == [("PER", 0, 1), ("PER", 3, 3)]
    assert get_entities(["PER-B", "PER-I", "O", "LOC-S"], suffix=True) == [
        ("PER", 0, 1), ("LOC", 3, 3)]
    assert get_entities([]) == []
    with pytest.raises(TypeError):
        get_entities(["B-PER", 5])
    with pytest.raises(TypeError):
        get_entities("B-PER")


def test_get_entities_strict_by_hand():
    seq = ["I-PER", "I-PER", "O", "B-LOC", "I-LOC", "I-ORG"]
    assert get_entities(seq, "IOB2") == [("LOC", 3, 4)]  # I- start and I-ORG are not chunks
    assert get_entities(["B-PER", "I-LOC"], "IOB2") == [("PER", 0, 0)]
    assert get_entities(["B-PER", "I-PER", "O"], "IOBES") == []  # never closed with E-
    assert get_entities(["B-PER", "E-PER", "S-LOC"], "IOBES") == [("PER", 0, 1), ("LOC", 2, 2)]
    assert get_entities(["B-PER", "L-PER", "U-LOC"], "BILOU") == [("PER", 0, 1), ("LOC", 2, 2)]
    assert get_entities(["I-PER", "B-PER", "O"], "IOB1") == [("PER", 0, 0), ("PER", 1, 1)]
    assert get_entities(["O", "B-PER", "O"], "IOB1") == []  # B- without a PER chunk before it
    assert get_entities(["I-PER", "E-PER", "I-PER"], "IOE2") == [("PER", 0, 1)]
    assert get_entities(["I-PER", "E-PER", "I-PER"], "IOE1") == [("PER", 0, 1), ("PER", 2, 2)]
    assert get_entities([["B-PER"], ["I-PER", "B-LOC"]], "IOB2") == [("PER", 0, 0), ("LOC", 3, 3)]
    with pytest.raises(ValueError, match="E-PER.*IOB2"):
        get_entities(["B-PER", "E-PER"], "IOB2")
    with pytest.raises(ValueError, match="X-PER"):
        get_entities(["X-PER"], "IOBES")


# ----------------------------------------------------------------------------------------
# entities_to_tags / convert_scheme
# ----------------------------------------------------------------------------------------
SPANS = [("PER", 0, 1), ("PER", 2, 2), ("LOC", 3, 3), ("LOC", 5, 7)]
WRITTEN = {
    "IOB1": ["I-PER", "I-PER", "B-PER", "I-LOC", "O", "I-LOC", "I-LOC", "I-LOC", "O"],
    "IOB2": ["B-PER", "I-PER", "B-PER", "B-LOC", "O", "B-LOC", "I-LOC", "I-LOC", "O"],
    "IOE1": ["I-PER", "E-PER", "I-PER", "I-LOC", "O", "I-LOC", "I-LOC", "I-LOC", "O"],
    "IOE2": ["I-PER", "E-PER", "E-PER", "E-LOC", "O", "I-LOC", "I-LOC", "E-LOC", "O"],
    "IOBES": ["B-PER", "E-PER", "S-PER", "S-LOC", "O", "B-LOC", "I-LOC", "E-LOC", "O"],
    "BILOU": ["B-PER", "L-PER", "U-PER", "U-LOC", "O", "B-LOC", "I-LOC", "L-LOC", "O"],
}


@pytest.mark.parametrize("scheme", SCHEMES)
def test_entities_to_tags_by_hand(scheme):
    assert entities_to_tags(SPANS, 9, scheme) == WRITTEN[scheme]
    assert entities_to_tags(reversed(SPANS), 9, scheme) == WRITTEN[scheme]
    suffixed = [t if t == "O" else f"{t[2:]}-{t[0]}" for t in WRITTEN[scheme]]
    assert entities_to_tags(SPANS, 9, scheme, suffix=True) == suffixed


@pytest.mark.parametrize("src", SCHEMES)
@pytest.mark.parametrize("dst", SCHEMES)
def test_convert_scheme_by_hand(src, dst):
    assert convert_scheme(WRITTEN[src], src, dst) == WRITTEN[dst]
    assert convert_scheme([WRITTEN[src], ["O"], []], src, dst) == [WRITTEN[dst], ["O"], []]


def test_entities_to_tags_errors():
    with pytest.raises(ValueError, match="overlap"):
        entities_to_tags([("PER", 0, 2), ("LOC", 2, 3)], 5)
    with pytest.raises(ValueError, match="out of range"):
        entities_to_tags([("PER", 3, 5)], 5)
    with pytest.raises(ValueError, match="out of range"):
        entities_to_tags([("PER", 2, 1)], 5)
    assert entities_to_tags([], 3, "IOE1") == ["O", "O", "O"]


def test_convert_scheme_repairs_malformed_input():
    # I- after O / at the start opens a chunk; a type switch splits one
    assert convert_scheme(["O", "I-PER", "I-PER", "I-LOC"], "IOB2", "IOBES") == [
        "O", "B-PER", "E-PER", "S-LOC"]
    # an unclosed IOBES chunk ends where O follows
    assert convert_scheme(["B-PER", "I-PER", "O", "E-LOC"], "IOBES", "IOB2") == [
        "B-PER", "I-PER", "O", "B-LOC"]
    assert convert_scheme(["U-PER", "I-PER", "L-PER"], "BILOU", "IOB1") == [
        "I-PER", "B-PER", "I-PER"]


def test_convert_scheme_errors():
    with pytest.raises(ValueError, match="E-PER.*IOB2"):
        convert_scheme(["B-PER", "E-PER"], "IOB2", "IOBES")
    with pytest.raises(ValueError, match="valid schemes"):
        convert_scheme(["O"], "IOB2", "XYZ")
    with pytest.raises(TypeError):
        convert_scheme(["O", None], "IOB2", "IOBES")
    with pytest.raises(TypeError):
        convert_scheme("B-PER", "IOB2", "IOBES")


# ----------------------------------------------------------------------------------------
# against seqeval (optional)
# ----------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore")
def test_get_entities_matches_seqeval():
    pytest.importorskip("seqeval")
    from seqeval import scheme as sq_scheme
    from seqeval.metrics.sequence_labeling import get_entities as sq_get_entities

    rng = random.Random(7)
    odd = ["X", "B", "I", ".", "B--A", "I-", "Other", "E", "S", "O-A", "U-A", "L-A"]
    for _ in range(300):
        labels = tagset(rng.choice(SCHEMES), ("A", "B")) + odd
        seqs = [[rng.choice(labels) for _ in range(rng.randint(0, 8))]
                for _ in range(rng.randint(1, 3))]
        assert get_entities(seqs) == sq_get_entities(seqs)
        assert get_entities(seqs[0]) == sq_get_entities(seqs[0])
    for name in SCHEMES:
        cls = getattr(sq_scheme, name)
        labels = tagset(name, ("A", "B"))
        for _ in range(60):
            seqs = [[rng.choice(labels) for _ in range(rng.randint(0, 8))]
                    for _ in range(rng.randint(1, 3))]
            offsets = np.cumsum([0] + [len(s) + 1 for s in seqs])
            ref = [(e.tag, offsets[e.sent_id] + e.start, offsets[e.sent_id] + e.end - 1)
                   for sent in sq_scheme.Entities(seqs, cls).entities for e in sent]
            assert get_entities(seqs, name) == sorted(ref, key=lambda x: x[1])


# ----------------------------------------------------------------------------------------
# scheme detection
# ----------------------------------------------------------------------------------------
def test_detect_scheme_reads_an_iterator_like_a_list():
    from fastseq.schemes import detect_scheme

    cases = {"IOB1": [["I-PER", "O", "I-LOC"], ["I-PER", "B-PER"]],
             "IOE1": [["I-PER", "E-PER", "I-PER"], ["I-LOC", "O"]],
             "IOB2": [["B-PER", "I-PER", "O"]], "IOE2": [["I-PER", "E-PER", "O"]],
             "IOBES": [["S-PER", "O"]], "BILOU": [["U-PER", "O"]]}
    for expected, seqs in cases.items():
        assert detect_scheme(seqs) == expected
        assert detect_scheme(iter(seqs)) == expected
        assert detect_scheme(tuple(s) for s in seqs) == expected
    assert detect_scheme([["NOUN", "VERB"]]) is None
    assert detect_scheme([["B-PER", "I-PER"]]) is None  # no "O"
