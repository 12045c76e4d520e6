"""fastseq.decode: constrained decoding of any tagger's per-token scores."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import fastseq
from fastseq.decode import decode
from fastseq.schemes import entities_to_tags, get_entities

IOB2 = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
IOBES = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-ORG", "I-ORG", "E-ORG", "S-ORG"]
BILOU = ["O", "B-PER", "I-PER", "L-PER", "U-PER", "B-ORG", "I-ORG", "L-ORG", "U-ORG"]
SETS = {"IOB2": IOB2, "IOBES": IOBES, "BILOU": BILOU}


@pytest.fixture
def torch():
    return pytest.importorskip(
        "torch", reason="torch is not installed (pip install 'fastseq[torch]'); "
                        "needed for the torch-input tests")


def well_formed(seq, scheme):
    """A tag sequence is well-formed iff strict chunking then re-writing gives it back."""
    return entities_to_tags(get_entities(list(seq), scheme), len(seq), scheme) == list(seq)


def test_well_formed_helper():
    assert well_formed(["B-PER", "I-PER", "O", "B-LOC"], "IOB2")
    assert not well_formed(["O", "I-PER"], "IOB2")
    assert not well_formed(["B-PER", "I-LOC"], "IOB2")
    assert well_formed(["S-PER", "B-ORG", "E-ORG"], "IOBES")
    assert not well_formed(["B-PER", "O"], "IOBES")


def scores_loving_inside(rng, shape, labels):
    s = rng.normal(size=shape) * 2.0
    inside = np.array([lab[:1] in "IEL" for lab in labels])
    return s + 3.0 * inside


def brute_best(scores, labels=None, scheme=None, transitions=None, start=None, end=None,
               k=1):
    """All paths by brute force: the k best allowed, best first, as (score, path)."""
    T, N = scores.shape
    tr = np.zeros((N, N)) if transitions is None else transitions
    st = np.zeros(N) if start is None else start
    en = np.zeros(N) if end is None else end
    if scheme is not None:
        tm, sm, em = fastseq.allowed_transitions(labels, scheme)
        tr, st, en = (np.where(m, x, -np.inf) for m, x in ((tm, tr), (sm, st), (em, en)))
    out = []
    for p in itertools.product(range(N), repeat=T):
        s = st[p[0]] + en[p[-1]] + scores[np.arange(T), p].sum()
        s += sum(tr[a, b] for a, b in zip(p, p[1:]))
        if s > -np.inf:
            out.append((s, list(p)))
    out.sort(key=lambda sp: -sp[0])
    return out[:k]


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
def test_brute_force_constraints_transitions_and_nbest(seed):
    rng = np.random.default_rng(seed)
    T, N = 4, 5
    s = scores_loving_inside(rng, (T, N), IOB2)
    tr = rng.normal(size=(N, N))
    st, en = rng.normal(size=N), rng.normal(size=N)
    best = brute_best(s, IOB2, "IOB2")[0][1]
    assert decode(s, labels=IOB2, scheme="IOB2") == [IOB2[i] for i in best]
    assert decode(s, scheme="IOB2", labels=IOB2, nbest=1) == [IOB2[i] for i in best]
    full = brute_best(s, IOB2, "IOB2", tr, st, en, k=7)
    got = decode(s, labels=IOB2, scheme="IOB2", transitions=tr, start=st, end=en, nbest=7)
    assert got == [[IOB2[i] for i in p] for _, p in full]
    plain = brute_best(s, transitions=tr, start=st, end=en, k=3)
    assert decode(s, transitions=tr, start=st, end=en, nbest=3) == [p for _, p in plain]
    assert decode(s) == list(s.argmax(axis=1))


@pytest.mark.parametrize("scheme", ["IOB2", "IOBES", "BILOU"])
def test_constrained_batch_is_well_formed(scheme):
    labels = SETS[scheme]
    rng = np.random.default_rng(1)
    B, T, N = 64, 20, len(labels)
    s = scores_loving_inside(rng, (B, T, N), labels).astype(np.float32)
    lengths = rng.integers(0, T + 1, size=B)
    raw = [[labels[i] for i in s[b, :lengths[b]].argmax(1)] for b in range(B)]
    assert not all(well_formed(p, scheme) for p in raw)  # the test has teeth
    out = decode(s, labels=labels, scheme=scheme, lengths=lengths)
    assert len(out) == B
    for b, p in enumerate(out):
        assert len(p) == lengths[b]
        assert all(isinstance(x, str) for x in p)
        assert well_formed(p, scheme)
    # equal to Viterbi with the masked transition matrix
    tm, sm, em = fastseq.allowed_transitions(labels, scheme)
    z = np.zeros(N, np.float32)
    paths, _ = fastseq.viterbi(s, np.where(tm, 0, -np.inf).astype(np.float32),
                               start=np.where(sm, z, -np.inf), end=np.where(em, z, -np.inf),
                               lengths=lengths)
    assert out == [[labels[i] for i in paths[b, :lengths[b]]] for b in range(B)]
    for paths in decode(s, labels=labels, scheme=scheme, lengths=lengths, nbest=3):
        assert 1 <= len(paths) <= 3 and all(well_formed(p, scheme) for p in paths)


def test_int_paths_transitions_and_layouts():
    rng = np.random.default_rng(2)
    B, T, N = 5, 7, 4
    s = rng.normal(size=(B, T, N))
    tr = rng.normal(size=(N, N))
    lengths = np.array([7, 3, 0, 5, 1])
    paths, _ = fastseq.viterbi(s, tr, lengths=lengths)
    want = [paths[b, :lengths[b]].tolist() for b in range(B)]
    out = decode(s, transitions=tr, lengths=lengths)
    assert out == want and all(type(x) is int for p in out for x in p)
    mask = np.arange(T)[None, :] < lengths[:, None]
    assert decode(s, transitions=tr, mask=mask) == want
    # full batch without lengths; one sequence; concatenated layout
    assert decode(s, transitions=tr) == [fastseq.viterbi(x, tr)[0].tolist() for x in s]
    assert decode(s[0], transitions=tr) == fastseq.viterbi(s[0], tr)[0].tolist()
    cat = np.concatenate([s[b, :lengths[b]] for b in range(B)])
    assert decode(cat, transitions=tr, lengths=lengths) == want
    kb, ks = fastseq.kbest(s, tr, 3, lengths=lengths)
    k_want = [[kb[b, r, :lengths[b]].tolist() for r in range(3) if ks[b, r] > -np.inf]
              for b in range(B)]
    assert decode(s, transitions=tr, lengths=lengths, nbest=3) == k_want
    assert decode(cat, transitions=tr, lengths=lengths, nbest=3) == k_want
    assert decode(s, transitions=tr, lengths=lengths, nbest=3, labels=list("abcd")) == [
        [["abcd"[i] for i in p] for p in paths] for paths in k_want]
    assert decode(s, transitions=tr, n_threads=1) == decode(s, transitions=tr, n_threads=2)


def test_fewer_paths_than_nbest_and_no_path():
    labels = ["O", "B-PER", "I-PER"]
    s = np.zeros((1, 3))
    # a one-token sentence has two legal IOB2 paths: O and B-PER
    assert sorted(decode(s, labels=labels, scheme="IOB2", nbest=5)) == [["B-PER"], ["O"]]
    # no allowed path at all: None (nbest=1) / no paths (nbest>1)
    batch = np.zeros((2, 2, 3))
    batch[1, 0, :] = -np.inf
    out = decode(batch, labels=labels, scheme="IOB2")
    assert out[0] is not None and out[1] is None
    assert decode(batch, nbest=2)[1] == []
    assert decode(batch[1]) is None
    assert decode(np.zeros((0, 3)), labels=labels, scheme="IOB2") == []


def test_dtypes_and_array_likes():
    rng = np.random.default_rng(3)
    s = rng.normal(size=(3, 6, 5))
    want = decode(s, labels=IOB2, scheme="IOB2")
    assert decode(s.astype(np.float32), labels=IOB2, scheme="iob2") == want
    assert decode(s.tolist(), labels=IOB2, scheme="BIO") == want
    assert decode(np.asfortranarray(s), labels=IOB2, scheme="IOB2") == want
    assert decode(s.transpose(1, 0, 2).copy().transpose(1, 0, 2), labels=IOB2,
                  scheme="IOB2") == want
    assert decode((s * 100).astype(np.int64), labels=IOB2, scheme="IOB2") == decode(
        (s * 100).astype(np.int64).astype(float), labels=IOB2, scheme="IOB2")
    assert decode(s, labels=tuple(IOB2), scheme="IOB2", transitions=np.zeros((5, 5),
                                                                            np.float32)) == want


def test_torch_inputs(torch):
    rng = np.random.default_rng(4)
    s = rng.normal(size=(4, 9, 5)).astype(np.float32)
    lengths = np.array([9, 4, 1, 6])
    want = decode(s, labels=IOB2, scheme="IOB2", lengths=lengths)
    t = torch.from_numpy(s).requires_grad_(True)
    mask = torch.arange(9)[None, :] < torch.from_numpy(lengths)[:, None]
    assert decode(t, labels=IOB2, scheme="IOB2", mask=mask) == want
    assert decode(t, labels=IOB2, scheme="IOB2", lengths=torch.from_numpy(lengths)) == want
    assert decode(t.double(), labels=IOB2, scheme="IOB2", lengths=lengths) == want
    tr = torch.zeros(5, 5)
    assert decode(t.transpose(0, 1).contiguous().transpose(0, 1), labels=IOB2,
                  scheme="IOB2", transitions=tr, lengths=lengths) == want
    assert decode(t[0], labels=IOB2, scheme="IOB2") == want[0]
    bf = decode(t.to(torch.bfloat16), labels=IOB2, scheme="IOB2", lengths=lengths)
    assert [len(p) for p in bf] == lengths.tolist()
    assert all(well_formed(p, "IOB2") for p in bf)


def test_zero_copy_input_is_not_modified():
    s = np.random.default_rng(5).normal(size=(2, 3, 5)).astype(np.float32)
    before = s.copy()
    decode(s, labels=IOB2, scheme="IOB2")
    np.testing.assert_array_equal(s, before)


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(labels=IOB2[:4]), ValueError, "`labels` must have N = 5"),
    (dict(labels="O B-PER"), TypeError, "`labels`"),
    (dict(labels=IOB2[:4] + [5]), TypeError, "`labels`"),
    (dict(scheme="IOB2"), ValueError, "`scheme` needs `labels`"),
    (dict(labels=IOB2, scheme="IOB9"), ValueError, "`scheme`"),
    (dict(labels=IOB2, scheme=3), TypeError, "`scheme`"),
    (dict(labels=["O", "B-PER", "E-PER", "B-LOC", "I-LOC"], scheme="IOB2"), ValueError,
     "`labels` do not fit"),
    (dict(labels=["B-PER", "I-PER", "B-LOC", "I-LOC", "B-X"], scheme="IOB2"), ValueError,
     "`labels`"),
    (dict(nbest=0), ValueError, "`nbest`"),
    (dict(nbest=1.5), TypeError, "`nbest`"),
    (dict(nbest=True), TypeError, "`nbest`"),
    (dict(transitions=np.zeros((4, 4))), ValueError, "`transitions`"),
    (dict(start=np.zeros(4)), ValueError, "`start`"),
    (dict(end=np.zeros((5, 1))), ValueError, "`end`"),
    (dict(transitions=np.full((5, 5), "a")), TypeError, "`transitions`"),
    (dict(lengths=[3, 3]), ValueError, "`lengths`"),
    (dict(lengths=[3, 3, 9]), ValueError, "`lengths`"),
    (dict(lengths=[3, 3, 3], mask=np.ones((3, 4), bool)), ValueError, "`lengths` or `mask`"),
    (dict(mask=np.ones((3, 5), bool)), ValueError, "`mask` must have shape"),
    (dict(mask=np.array([[1, 0, 1, 0]] * 3, bool)), ValueError, "contiguous prefix"),
    (dict(mask=np.full((3, 4), "x")), TypeError, "`mask`"),
    (dict(n_threads=0), ValueError, "`n_threads`"),
])
def test_errors(kwargs, exc, match):
    s = np.zeros((3, 4, 5))
    with pytest.raises(exc, match=match):
        decode(s, **kwargs)


def test_score_errors():
    with pytest.raises(ValueError, match="`scores`"):
        decode(np.zeros(5))
    with pytest.raises(ValueError, match="`scores`"):
        decode(np.zeros((1, 2, 3, 4)))
    with pytest.raises(ValueError, match="`scores`"):
        decode(np.zeros((3, 0)))
    with pytest.raises(TypeError, match="`scores`"):
        decode(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="NaN"):
        decode(np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match="`mask`"):
        decode(np.zeros((2, 3)), mask=np.ones((1, 2), bool))
