"""Tests of fastseq.crf (CRF), fastseq.features, fastseq.crf_tagger and the train-crf CLI."""
from __future__ import annotations

import itertools
import json
import math
import os
import zipfile

import numpy as np
import pytest

from fastseq.crf import CRF, NotFittedError, crfsuite_items
from fastseq.features import FeatureExtractor, Featurized, template_set
from fastseq.taggers import CRFTagger

# ---------------------------------------------------------------------------------------------
# data helpers
# ---------------------------------------------------------------------------------------------

#: a token-features example exercising every value kind python-crfsuite accepts
SHARED_EXAMPLE = [
    {"w": "The", "lower": "the", "len": 3, "score": -1.25, "title": True, "upper": False,
     "ctx": {"prev": "<s>", "n": 2, "deep": {"x": "y", "on": True}},
     "suffixes": ["e", "he"], "tags": {"DT", "X"}, "bytes": b"raw", "unicode": "caf\u00e9"},
    ["bias", "word=dog", "w:dog", "caf\u00e9"],
    {"w": "barks", "pos": {"p1": "V", "p2": "VB"}, "weights": {"a": 0.5, "b": 2}},
    {},
    {"empty_list": [], "empty_dict": {}, "n": 0},
]


def _random_dataset(rng, n_seq=12, n_labels=3, n_words=6, max_len=5):
    X, y = [], []
    for _ in range(n_seq):
        T = int(rng.integers(1, max_len + 1))
        xs, ys = [], []
        for _t in range(T):
            w = f"w{int(rng.integers(n_words))}"
            tok = {"w": w, "bias": 1.0, "v": float(rng.normal())}
            if rng.random() < 0.5:
                tok["x"] = ["a", "b"][int(rng.integers(2))]
            xs.append(tok)
            ys.append(f"L{int(rng.integers(n_labels))}")
        X.append(xs)
        y.append(ys)
    return X, y


def _separable(rng, n_seq=30):
    X, y = [], []
    for _ in range(n_seq):
        T = int(rng.integers(1, 7))
        words = [str(rng.choice(["cat", "dog", "runs", "eats", "the", "a"])) for _ in range(T)]
        lab = {"cat": "N", "dog": "N", "runs": "V", "eats": "V", "the": "D", "a": "D"}
        X.append([{"w": w, "suf": w[-1]} for w in words])
        y.append([lab[w] for w in words])
    return X, y


def _brute_force(crf, xseq):
    """Marginals and the best path of one sequence by enumerating every label sequence,
    from the public feature dictionaries."""
    labels = crf.classes_
    sf, tf = crf.state_features_, crf.transition_features_
    items = crfsuite_items(xseq)
    T, N = len(items), len(labels)
    em = np.zeros((T, N))
    for t, attrs in enumerate(items):
        for name, value in attrs:
            for j, lab in enumerate(labels):
                em[t, j] += value * sf.get((name, lab), 0.0)
    tr = np.array([[tf.get((a, b), 0.0) for b in labels] for a in labels])
    scores = {}
    for path in itertools.product(range(N), repeat=T):
        s = sum(em[t, path[t]] for t in range(T))
        s += sum(tr[path[t - 1], path[t]] for t in range(1, T))
        scores[path] = s
    m = max(scores.values())
    logZ = m + math.log(sum(math.exp(v - m) for v in scores.values()))
    marg = np.zeros((T, N))
    for path, s in scores.items():
        p = math.exp(s - logZ)
        for t in range(T):
            marg[t, path[t]] += p
    best = max(scores, key=scores.get)
    return marg, [labels[i] for i in best]


# ---------------------------------------------------------------------------------------------
# python-crfsuite feature semantics
# ---------------------------------------------------------------------------------------------

def test_items_match_python_crfsuite():
    pycrfsuite = pytest.importorskip("pycrfsuite")
    ours = [dict(tok) for tok in crfsuite_items(SHARED_EXAMPLE)]
    theirs = pycrfsuite.ItemSequence(SHARED_EXAMPLE).items()
    assert ours == theirs
    # the names are exactly the ones a fitted model knows
    crf = CRF(c2=1.0, max_iterations=3).fit([SHARED_EXAMPLE], [["A", "B", "A", "B", "A"]])
    assert set(crf.attributes_) == set().union(*(set(d) for d in theirs))


def test_feature_templates_match_python_crfsuite_lists():
    pycrfsuite = pytest.importorskip("pycrfsuite")
    sents = [{"word": ["He", "reckons", "the", "deficit"], "pos": ["PRP", "VBZ", "DT", "NN"]},
             {"word": ["Yes"], "pos": ["UH"]}]
    fx = FeatureExtractor("crfsuite_chunk")
    lists = fx.to_lists(sents)
    for seq in lists:
        items = pycrfsuite.ItemSequence(seq).items()
        assert [sorted(d) for d in items] == [sorted(tok) for tok in seq]
        assert all(v == 1.0 for d in items for v in d.values())
    # CRFsuite's example/template.py semantics: out-of-range offsets give no attribute
    assert lists[0][0][:3] == ["w[0]=He", "w[1]=reckons", "w[2]=the"]
    assert "w[-1]|w[0]=He|reckons" in lists[0][1]
    assert "__BOS__" in lists[1][0] and "__EOS__" in lists[1][0]
    assert "pos[-1]|pos[0]|pos[1]=PRP|VBZ|DT" in lists[0][1]


def test_duplicate_attributes_add_up_like_crfsuite():
    X = [[["a", "a"], ["b"]], [["a"], ["b"]]]
    y = [["X", "Y"], ["X", "Y"]]
    crf = CRF(c2=0.5).fit(X, y)
    m1 = crf.predict_marginals_single([["a", "a"], ["b"]])
    m2 = crf.predict_marginals_single([{"a": 2.0}, ["b"]])
    m3 = crf.predict_marginals_single([["a"], ["b"]])
    assert m1[0]["X"] == pytest.approx(m2[0]["X"], abs=1e-12)
    assert m1[0]["X"] > m3[0]["X"]


@pytest.mark.parametrize("c1,c2", [(0.0, 0.3), (0.2, 0.05)])
def test_weights_match_python_crfsuite(c1, c2):
    pycrfsuite = pytest.importorskip("pycrfsuite")
    rng = np.random.default_rng(3)
    X, y = _random_dataset(rng, n_seq=20)
    ours = CRF(c1=c1, c2=c2, epsilon=1e-9, delta=0.0, max_iterations=300).fit(X, y)
    tr = pycrfsuite.Trainer(verbose=False)
    for xs, ys in zip(X, y):
        tr.append(xs, ys)
    tr.set_params({"c1": c1, "c2": c2, "epsilon": 1e-9, "delta": 0.0,
                   "max_iterations": 300})
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.crfsuite")
        tr.train(path)
        tagger = pycrfsuite.Tagger()
        tagger.open(path)
        info = tagger.info()
        theirs_s, theirs_t = info.state_features, info.transitions
        assert set(tagger.labels()) == set(ours.classes_)
        for xs in X[:5]:
            assert tagger.tag(xs) == ours.predict_single(xs)
        tagger.close()
    ours_s, ours_t = ours.state_features_, ours.transition_features_
    assert set(ours_s) == set(theirs_s)
    assert set(ours_t) == set(theirs_t)
    for k, v in theirs_s.items():
        assert ours_s[k] == pytest.approx(v, abs=2e-5)
    for k, v in theirs_t.items():
        assert ours_t[k] == pytest.approx(v, abs=2e-5)


# ---------------------------------------------------------------------------------------------
# the objective and its gradient
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("c1,c2", [(0.0, 0.7), (0.4, 0.0), (0.3, 0.2)])
def test_objective_gradient_finite_differences(c1, c2):
    rng = np.random.default_rng(7)
    X, y = _random_dataset(rng)
    fun, K = CRF(c1=c1, c2=c2)._training_objective(X, y)
    theta = rng.normal(size=K)
    theta = np.where(np.abs(theta) < 0.2, 0.2 * np.sign(theta + 1e-12), theta)  # away from 0
    f, g = fun(theta)
    # at zero weights every labelling is equally likely: f(0) = n_tokens * log(N)
    f0, _ = fun(np.zeros(K))
    n_labels = len({t for s in y for t in s})
    assert f0 == pytest.approx(sum(map(len, y)) * math.log(n_labels), rel=1e-12)
    h = 1e-6
    for k in rng.choice(K, size=min(K, 25), replace=False):
        e = np.zeros(K)
        e[k] = h
        num = (fun(theta + e)[0] - fun(theta - e)[0]) / (2 * h)
        assert g[k] == pytest.approx(num, rel=1e-5, abs=1e-6)
    d = rng.normal(size=K)
    d /= np.linalg.norm(d)
    num = (fun(theta + h * d)[0] - fun(theta - h * d)[0]) / (2 * h)
    assert float(g @ d) == pytest.approx(num, rel=1e-6, abs=1e-6)
    # regularisation scaling: c2 ||w||^2 and c1 ||w||_1 with no 1/2
    fz, _ = fun(np.zeros(K))
    e = np.zeros(K)
    e[0] = 1.0
    obj_nll, _ = CRF(c1=0.0, c2=0.0)._training_objective(X, y)
    assert fun(e)[0] - obj_nll(e)[0] == pytest.approx(c1 + c2, abs=1e-12)
    del fz


@pytest.mark.parametrize("values", ["ones", "reals"])
@pytest.mark.parametrize("feature_order", ["sorted", "shuffled"])
def test_objective_matches_dense_products(values, feature_order):
    """The objective's split products (wide attributes as rows of W, narrow ones feature by
    feature; blocks on threads) give the dense computation's loss and gradient, bitwise the
    same with and without a thread pool."""
    from concurrent.futures import ThreadPoolExecutor

    from fastseq import ops
    from fastseq.crf.items import encode_items
    from fastseq.crf.objective import Objective, feature_set

    rng = np.random.default_rng(3)
    N = 8  # attributes with more than N // 4 = 2 labels are wide
    X = [[{f"w{rng.integers(3000)}": 1.0 if values == "ones" else float(rng.normal()),
           f"p{rng.integers(3)}": 1.0 if values == "ones" else 0.5, "bias": 1.0}
          for _ in range(int(rng.integers(1, 9)))] for _ in range(3000)]
    batch, _ = encode_items(X, "X", None, fit=True)
    y = rng.integers(0, N, size=batch.X.shape[0])
    s_attr, s_label, t_from, t_to = feature_set(batch, y, N, min_freq=0.0,
                                                all_possible_states=False,
                                                all_possible_transitions=True)
    if feature_order == "shuffled":
        perm = rng.permutation(s_attr.size)
        s_attr, s_label = s_attr[perm], s_label[perm]
    per_attr = np.bincount(s_attr, minlength=batch.X.shape[1])
    assert (per_attr > N // 4).any() and ((per_attr > 0) & (per_attr <= N // 4)).any()
    theta = rng.normal(size=s_attr.size + t_from.size)
    serial = Objective(batch, y, N, s_attr, s_label, t_from, t_to, 1, None)
    nll, grad = serial(theta)
    assert len(serial._blocks) > 1

    W = np.zeros((batch.X.shape[1], N))
    W[s_attr, s_label] = theta[:s_attr.size]
    T = np.zeros((N, N))
    T[t_from, t_to] = theta[s_attr.size:]
    want_nll, g = ops.crf_nll(batch.X @ W, T, y, lengths=batch.lengths)
    want = np.concatenate([(batch.X.T @ g.emissions)[s_attr, s_label],
                           g.transitions[t_from, t_to]])
    assert nll == pytest.approx(want_nll, rel=1e-12)
    np.testing.assert_allclose(grad, want, rtol=1e-10, atol=1e-10)

    with ThreadPoolExecutor(2) as pool:
        threaded = Objective(batch, y, N, s_attr, s_label, t_from, t_to, 2, pool)
        nll2, grad2 = threaded(theta)
    assert nll2 == nll
    np.testing.assert_array_equal(grad2, grad)


def test_gradient_is_zero_at_the_fitted_optimum():
    rng = np.random.default_rng(11)
    X, y = _random_dataset(rng)
    crf = CRF(c2=0.5, epsilon=1e-10, delta=0.0, max_iterations=500).fit(X, y)
    fun, K = crf._training_objective(X, y)
    theta = np.concatenate([crf._weights.state_weight, crf._weights.trans_weight])
    _, g = fun(theta)
    assert np.linalg.norm(g) < 1e-6


# ---------------------------------------------------------------------------------------------
# prediction
# ---------------------------------------------------------------------------------------------

def test_predict_marginals_and_viterbi_match_brute_force():
    rng = np.random.default_rng(5)
    X, y = _random_dataset(rng, n_seq=15)
    crf = CRF(c2=0.1).fit(X, y)
    tests = [X[0], X[1][:1], X[2] + X[3][:2], [{"w": "unseen", "v": 0.3, "x": "a"}] * 3]
    got = crf.predict_marginals(tests)
    paths = crf.predict(tests)
    for xseq, marg, path in zip(tests, got, paths):
        ref, best = _brute_force(crf, xseq)
        arr = np.array([[m[lab] for lab in crf.classes_] for m in marg])
        np.testing.assert_allclose(arr, ref, rtol=1e-10, atol=1e-12)
        assert path == best
        assert crf.predict_single(xseq) == best
        single = crf.predict_marginals_single(xseq)
        for a, b in zip(single, marg):
            assert a == pytest.approx(b, abs=1e-14)
    assert crf.predict([]) == [] and crf.predict([[]]) == [[]]
    assert crf.predict_marginals([[]]) == [[]]


def test_separable_toy_set_is_learnt_perfectly():
    rng = np.random.default_rng(0)
    X, y = _separable(rng)
    for kw in ({}, {"c1": 0.1, "c2": 0.01}, {"algorithm": "ap", "max_iterations": 10}):
        crf = CRF(**kw).fit(X, y)
        assert crf.score(X, y) == 1.0, kw
        assert crf.predict(X) == y


def test_averaged_perceptron():
    rng = np.random.default_rng(1)
    X, y = _separable(rng)
    crf = CRF(algorithm="ap", max_iterations=20).fit(X, y, X_dev=X[:5], y_dev=y[:5])
    log = crf.training_log_
    assert len(log.iterations) == 20 and log.algorithm == "ap"
    assert log.last_iteration["loss"] == 0.0  # the last epoch made no mistake
    assert crf.score(X, y) > 0.95  # averaged weights: features only for seen pairs
    crf = CRF(algorithm="ap", max_iterations=20, all_possible_states=True).fit(X, y)
    assert crf.score(X, y) == 1.0
    assert CRF(algorithm="ap", epsilon=0.5, max_iterations=50).fit(X, y) \
        .training_log_.stop_reason.startswith("stopping")
    with pytest.raises(ValueError, match="c2"):
        CRF(algorithm="ap", c2=1.0).fit(X, y)


def test_input_kinds_give_the_same_model():
    rng = np.random.default_rng(2)
    words = [[str(rng.choice(["a", "b", "c", "d"])) for _ in range(int(rng.integers(1, 6)))]
             for _ in range(20)]
    y = [[w.upper() if w in "ab" else "O" for w in s] for s in words]
    fx = FeatureExtractor([(("w", 0),), (("w", -1),), "bias"])
    F = fx.fit_transform(words)
    lists = fx.to_lists(words)
    a = CRF(c2=0.2).fit(F, y)
    b = CRF(c2=0.2).fit(lists, y)
    mats = F.sequences()
    c = CRF(c2=0.2).fit(mats, y)
    d = CRF(c2=0.2).fit([m.toarray() for m in mats], y)
    pa = a.predict_marginals(fx.transform(words))
    for other, inp in ((b, lists), (c, mats), (d, [m.toarray() for m in mats])):
        po = other.predict_marginals(inp)
        for s1, s2 in zip(pa, po):
            for t1, t2 in zip(s1, s2):
                for k in t1:
                    assert t1[k] == pytest.approx(t2[k], abs=1e-8)
    # a model trained on the matrix predicts from python-crfsuite lists (names map)
    assert a.predict(lists) == a.predict(F)
    assert b.predict(fx.transform(words)) == b.predict(lists)
    assert a.state_features_.keys() == b.state_features_.keys()


def test_features_and_options():
    X = [[{"a": 1.0}, {"b": 1.0}], [{"a": 1.0}, {"c": 1.0}]]
    y = [["X", "Y"], ["X", "X"]]
    crf = CRF(c2=0.1).fit(X, y)
    assert crf.classes_ == ["X", "Y"]
    assert crf.num_features_ == 3 + 2  # (a,X) (b,Y) (c,X); X->Y, X->X
    crf = CRF(c2=0.1, all_possible_states=True, all_possible_transitions=True).fit(X, y)
    assert crf.num_features_ == 3 * 2 + 4
    crf = CRF(c2=0.1, min_freq=2).fit(X, y)
    assert crf.num_features_ == 1 + 0  # only (a,X) occurs twice; every transition once
    crf = CRF(c1=5.0, c2=0.0).fit(X, y)
    assert len(crf.state_features_) + len(crf.transition_features_) < 5
    crf = CRF(c2=1.0, max_iterations=2).fit(X, y)
    assert len(crf.training_log_.iterations) == 2
    it = crf.training_log_.iterations[0]
    for key in ("num", "loss", "feature_norm", "error_norm", "active_features",
                "linesearch_trials", "linesearch_step", "time"):
        assert key in it


def test_holdout_log_and_verbose(capsys):
    rng = np.random.default_rng(4)
    X, y = _separable(rng)
    crf = CRF(c2=0.1, verbose=True, max_iterations=5).fit(X[:20], y[:20], X[20:], y[20:])
    last = crf.training_log_.last_iteration
    assert {"avg_precision", "avg_recall", "avg_f1", "item_accuracy",
            "instance_accuracy"} <= set(last)
    assert set(last["scores"]) == set(crf.classes_)
    err = capsys.readouterr().err
    assert "iter" in err and "loss" in err and "active" in err


# ---------------------------------------------------------------------------------------------
# persistence
# ---------------------------------------------------------------------------------------------

def test_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(6)
    X, y = _random_dataset(rng)
    crf = CRF(c1=0.05, c2=0.1).fit(X, y)
    path = tmp_path / "m.crf"
    crf.save(path)
    back = CRF.load(path)
    assert back.predict(X) == crf.predict(X)
    assert back.predict_marginals(X) == crf.predict_marginals(X)
    assert back.state_features_ == crf.state_features_
    assert back.transition_features_ == crf.transition_features_
    assert back.classes_ == crf.classes_ and back.get_params() == crf.get_params()
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read("model.json"))
        assert meta["format"] == "fastseq.CRF" and meta["format_version"] == 1
    import pickle
    assert pickle.loads(pickle.dumps(crf)).predict(X) == crf.predict(X)


def test_load_rejects_bad_files(tmp_path):
    rng = np.random.default_rng(6)
    X, y = _random_dataset(rng)
    crf = CRF().fit(X, y)
    good = tmp_path / "good.crf"
    crf.save(good)
    with zipfile.ZipFile(good) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    meta = json.loads(members["model.json"])

    def write(name, mem):
        p = tmp_path / name
        with zipfile.ZipFile(p, "w") as zf:
            for k, v in mem.items():
                zf.writestr(k, v)
        return p

    (tmp_path / "text.crf").write_text("hello")
    with pytest.raises(ValueError, match="ZIP"):
        CRF.load(tmp_path / "text.crf")
    with pytest.raises(FileNotFoundError):
        CRF.load(tmp_path / "missing.crf")
    # an object array (would need pickle) is refused
    import io
    buf = io.BytesIO()
    np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    bad = dict(members)
    bad["arrays/state_weight.npy"] = buf.getvalue()
    with pytest.raises(ValueError, match="not a plain numeric"):
        CRF.load(write("pickle.crf", bad))
    # indices out of range
    buf = io.BytesIO()
    np.save(buf, np.full(meta["arrays"]["state_attr"]["shape"], 10**6, dtype=np.int64))
    bad = dict(members)
    bad["arrays/state_attr.npy"] = buf.getvalue()
    with pytest.raises(ValueError, match="out of range"):
        CRF.load(write("range.crf", bad))
    # newer format version
    m2 = dict(meta, format_version=99)
    bad = dict(members)
    bad["model.json"] = json.dumps(m2).encode()
    with pytest.raises(ValueError, match="newer"):
        CRF.load(write("newer.crf", bad))
    bad = dict(members)
    bad["evil.py"] = b"print(1)"
    with pytest.raises(ValueError, match="unexpected member"):
        CRF.load(write("member.crf", bad))


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------

def test_bad_input_and_unseen_labels():
    X = [[{"w": "a"}, {"w": "b"}]]
    y = [["A", "B"]]
    with pytest.raises(NotFittedError):
        CRF().predict(X)
    with pytest.raises(ValueError, match="same number of sequences"):
        CRF().fit(X, y + y)
    with pytest.raises(ValueError, match=r"`X\[0\]` has 2 items, `y\[0\]` has 1"):
        CRF().fit(X, [["A"]])
    with pytest.raises(TypeError, match=r"`y\[0\]\[1\]` must be a str"):
        CRF().fit(X, [["A", 1]])
    with pytest.raises(TypeError, match=r"`X\[0\]\[0\]`"):
        CRF().fit([["word", "other"]], y)
    with pytest.raises(TypeError, match="feature"):
        CRF().fit([[{"w": None}, {"w": "b"}]], y)
    with pytest.raises(ValueError, match="NaN"):
        CRF().fit([[{"w": float("nan")}, {"w": "b"}]], y)
    with pytest.raises(ValueError, match="`y_dev` has labels not seen"):
        CRF().fit(X, y, X_dev=X, y_dev=[["A", "C"]])
    with pytest.raises(ValueError, match="both"):
        CRF().fit(X, y, X_dev=X)
    with pytest.raises(ValueError, match="`algorithm`"):
        CRF(algorithm="sgd").fit(X, y)
    with pytest.raises(ValueError, match="`c2`"):
        CRF(c2=-1.0).fit(X, y)
    with pytest.raises(TypeError, match="`max_iterations`"):
        CRF(max_iterations=2.5).fit(X, y)
    with pytest.raises(TypeError, match="`X`"):
        CRF().fit("not a list", y)
    crf = CRF().fit(X, y)
    with pytest.raises(TypeError, match="`X`"):
        crf.predict(np.zeros((3, 4)))
    mcrf = CRF().fit([np.eye(2)], y)
    with pytest.raises(ValueError, match="feature columns"):
        mcrf.predict([np.eye(3)])
    # unseen attributes at prediction time are ignored, not an error
    assert crf.predict([[{"w": "zzz"}]]) in ([["A"]], [["B"]])


# ---------------------------------------------------------------------------------------------
# feature templates
# ---------------------------------------------------------------------------------------------

def test_feature_extractor_matrix_matches_names():
    sents = [{"word": ["The", "U.S.", "economy", "grew", "3.5%"],
              "pos": ["DT", "NNP", "NN", "VBD", "CD"], "chunk": ["B-NP"] * 5},
             {"word": ["Well-known", "firms"], "pos": ["JJ", "NNS"], "chunk": ["B-NP", "I-NP"]}]
    for name in ("pos", "chunk", "ner", "crfsuite_chunk"):
        fx = FeatureExtractor(name)
        F = fx.fit_transform(sents)
        assert isinstance(F, Featurized) and len(F) == 2 and F.matrix.shape[0] == 7
        names = fx.attribute_names()
        assert len(names) == F.matrix.shape[1] == fx.n_attributes_ == len(set(names))
        lists = fx.to_lists(sents)
        for r, tok in enumerate([t for s in lists for t in s]):
            row = F.matrix.indices[F.matrix.indptr[r]:F.matrix.indptr[r + 1]]
            assert sorted(names[c] for c in row) == sorted(tok)
        # unseen values give no attribute; the rest is unchanged
        G = fx.transform([{"word": ["The", "zebra"], "pos": ["DT", "NN"],
                           "chunk": ["B-NP", "I-NP"]}])
        got = {names[c] for c in G.matrix.indices[G.matrix.indptr[0]:G.matrix.indptr[1]]}
        assert "w[0]=The" in got
        assert not any("zebra" in n for n in names)
    fx = FeatureExtractor("ner")
    fx.fit([["Only", "words"]])  # templates reading pos / chunk are dropped
    assert all("pos" not in n and "chunk" not in n for n in fx.attribute_names())
    assert template_set("crfsuite_chunk")[-2:] == ["__BOS__", "__EOS__"]


def test_feature_extractor_errors():
    with pytest.raises(ValueError, match="template set"):
        FeatureExtractor("nope")
    with pytest.raises(ValueError, match="transformation"):
        FeatureExtractor([(("w.bogus", 0),)])
    with pytest.raises(TypeError):
        FeatureExtractor([(("w", "0"),)])
    with pytest.raises(ValueError, match="column"):
        FeatureExtractor([(("pos", 0),)]).fit([["a", "b"]])
    with pytest.raises(NotFittedError):
        FeatureExtractor("pos").transform([["a"]])
    with pytest.raises(TypeError, match="not a str"):
        FeatureExtractor("pos").fit(["a sentence"])
    fx = FeatureExtractor("chunk").fit([[("a", "DT")]])
    with pytest.raises(ValueError, match="pos"):
        fx.transform([["a"]])


# ---------------------------------------------------------------------------------------------
# the tagger and the CLI
# ---------------------------------------------------------------------------------------------

def _chunk_data():
    return [[("He", "PRP", "B-NP"), ("reckons", "VBZ", "B-VP"), ("the", "DT", "B-NP"),
             ("current", "JJ", "I-NP"), ("deficit", "NN", "I-NP")],
            [("The", "DT", "B-NP"), ("dog", "NN", "I-NP"), ("barks", "VBZ", "B-VP")],
            [("It", "PRP", "B-NP"), ("rains", "VBZ", "B-VP"), (".", ".", "O")]]


def test_crf_tagger_train_tag_evaluate_save_load(tmp_path):
    data = _chunk_data()
    tagger = CRFTagger(templates="chunk", c2=0.1).train(data, dev=data)
    assert tagger.evaluate(data) == 1.0
    rep = tagger.evaluation_report(data)
    assert rep.f1 == 1.0 and rep.accuracy == 1.0 and "NP" in rep.per_type
    assert "F1" in rep.report() and json.dumps(rep.as_dict())
    toks = [(w, p) for w, p, _ in data[1]]
    assert tagger.tag(toks) == [(w, t) for w, _, t in data[1]]
    assert tagger.predict([toks]) == [[t for *_, t in data[1]]]
    path = tmp_path / "chunk.crf"
    tagger.metadata = {"trained_on": "toy"}
    tagger.save(path)
    back = CRFTagger.load(path)
    assert back.predict_marginals([toks]) == tagger.predict_marginals([toks])
    assert back.metadata == {"trained_on": "toy"}
    with pytest.raises(ValueError, match="pos"):
        back.tag(["He", "reckons"])  # the model needs the POS column
    pos = CRFTagger(templates="pos", algorithm="ap", max_iterations=5).train(
        [[(w, t) for w, _, t in s] for s in data])
    assert pos.tag(["The", "dog"])[0][0] == "The"
    with pytest.raises(ValueError, match="untagged"):
        CRFTagger().train([["a", "b"]])
    with pytest.raises(NotFittedError):
        CRFTagger().tag(["a"])


def test_cli_train_crf(tmp_path, capsys):
    from fastseq.cli import main
    data = _chunk_data()
    train = tmp_path / "train.txt"
    train.write_text("\n\n".join("\n".join(" ".join(t) for t in s) for s in data) + "\n")
    model = tmp_path / "m.crf"
    assert main(["train", "crf", "--train", str(train), "--model", str(model), "--columns",
                 "word,pos,chunk", "--templates", "chunk", "--c2", "0.1",
                 "--dev", str(train)]) == 0
    err = capsys.readouterr().err
    assert "trained a CRF tagger" in err and "chunk F1 100.00" in err
    tagger = CRFTagger.load(model)
    assert tagger.metadata["tag_field"] == "chunk"
    assert tagger.predict([[("It", "PRP"), ("rains", "VBZ")]]) == [["B-NP", "B-VP"]]
    assert main(["train", "crf", "--train", str(tmp_path / "none.txt"), "--model",
                 str(model)]) == 1
    assert "fastseq train crf: error: no such file" in capsys.readouterr().err


def test_training_is_bitwise_identical_for_any_thread_count():
    rng = np.random.default_rng(8)
    X, y = _random_dataset(rng, n_seq=1800, n_words=40, max_len=9)
    assert sum(map(len, y)) > 2 * 4096  # several row blocks
    models = [CRF(c2=0.1, max_iterations=8, n_threads=n).fit(X, y) for n in (1, 2, 3)]
    for m in models[1:]:
        assert np.array_equal(m._weights.state_weight, models[0]._weights.state_weight)
        assert np.array_equal(m._weights.trans_weight, models[0]._weights.trans_weight)
    fun, K = CRF(c2=0.1)._training_objective(X, y)
    theta = rng.normal(size=K)
    f, g = fun(theta)
    h = 1e-6
    d = rng.normal(size=K)
    num = (fun(theta + h * d)[0] - fun(theta - h * d)[0]) / (2 * h)
    assert float(g @ d) == pytest.approx(num, rel=1e-6)


def test_scheme_detection_and_reencoding():
    from fastseq.schemes import detect_scheme
    assert detect_scheme([["B-PER", "I-PER", "O", "B-LOC"]]) == "IOB2"
    assert detect_scheme([["I-PER", "I-PER", "O", "I-LOC", "B-LOC"]]) == "IOB1"
    assert detect_scheme([["B-PER", "E-PER", "O", "S-LOC"]]) == "IOBES"
    assert detect_scheme([["B-PER", "L-PER", "U-LOC", "O"]]) == "BILOU"
    assert detect_scheme([["NOUN", "VERB"]]) is None
    assert detect_scheme([["O", "X-Y"]]) is None
    data = _chunk_data()
    t = CRFTagger(templates="chunk", c2=0.1).train(data)
    assert t.scheme_in_ == "IOB2" and t.scheme_train_ == "IOBES"
    assert "S-NP" in t.crf_.classes_ and set(t.tags_) == {"B-NP", "I-NP", "B-VP", "O"}
    assert t.predict([[(w, p) for w, p, _ in s] for s in data]) == [[c for *_, c in s]
                                                                      for s in data]
    plain = CRFTagger(templates="chunk", c2=0.1, scheme=None).train(data)
    assert plain.scheme_train_ is None and "S-NP" not in plain.crf_.classes_
    # constrained decoding never outputs I-X after O, even when the scores prefer it
    iob = CRFTagger(templates="chunk", c2=0.1, scheme="IOB2").train(data)
    T = iob.crf_._matrices()[1]
    i_np = iob.crf_.classes_.index("I-NP")
    o = iob.crf_.classes_.index("O")
    T[o, i_np] = 50.0  # make O -> I-NP very attractive
    out = iob.predict([[("It", "PRP"), ("rains", "VBZ"), (".", "."), ("deficit", "NN")]])[0]
    assert all(not (a == "O" and b.startswith("I-")) for a, b in zip(out, out[1:]))
    assert not out[0].startswith("I-")


def test_min_count_treats_rare_values_as_unseen(tmp_path):
    sents = [["the", "cat", "sat"], ["the", "dog", "sat"], ["a", "cat", "ran"]]
    fx = FeatureExtractor([(("w", 0),), (("w.s1", 0),)], min_count={"w": 2})
    fx.fit(sents)
    names = set(fx.attribute_names())
    assert {"w[0]=the", "w[0]=cat", "w[0]=sat"} <= names
    assert "w[0]=dog" not in names and "w[0]=a" not in names
    assert "w.s1[0]=g" in names  # other fields keep every value
    tagged = [[(w, "N" if w in ("cat", "dog") else "X") for w in s] for s in sents]
    t = CRFTagger(templates=[(("w", 0),), (("w.s1", 0),)], min_count=2, c2=0.1).train(tagged)
    rep = t.evaluation_report(tagged)
    assert rep.n_unknown == 0  # known = seen in training, whatever min_count drops
    path = tmp_path / "mc.crf"
    t.save(path)
    back = CRFTagger.load(path)
    assert back.features_.attribute_names() == t.features_.attribute_names()
    assert back.predict(sents) == t.predict(sents)
    with pytest.raises(ValueError, match="min_count"):
        FeatureExtractor("pos", min_count=0)


def test_scikit_learn_model_selection():
    pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV
    rng = np.random.default_rng(9)
    X, y = _separable(rng, n_seq=20)
    assert clone(CRF(c1=0.1, c2=0.2)).get_params()["c1"] == 0.1
    g = GridSearchCV(CRF(max_iterations=20), {"c2": [0.1, 1.0]}, cv=2).fit(X, y)
    assert g.best_score_ > 0.9


# ---------------------------------------------------------------------------------------------
# stacked taggers
# ---------------------------------------------------------------------------------------------

def _pos_data():
    words = {"the": "DET", "a": "DET", "dog": "NOUN", "cat": "NOUN", "barks": "VERB",
             "runs": "VERB", "big": "ADJ"}
    rng = np.random.default_rng(4)
    sents = []
    for _ in range(30):
        s = [("the", "DET"), ("big", "ADJ"), ("dog", "NOUN"), ("barks", "VERB")]
        s = [(w if rng.random() < 0.5 else {"the": "a", "dog": "cat", "barks": "runs"}.get(w, w),
              t) for w, t in s]
        assert all(words[w] == t for w, t in s)
        sents.append(s)
    sents.append([("zz", "Z"), ("runs", "VERB")])  # the only sentence with "zz" and Z
    return sents


def test_stacked_tagger_trains_on_held_out_first_level_tags(monkeypatch):
    data = _pos_data()
    seen = []
    orig = CRFTagger._with_tags

    def spy(self, sents, tags):
        seen.append([list(t) for t in tags])
        return orig(self, sents, tags)

    monkeypatch.setattr(CRFTagger, "_with_tags", spy)
    t = CRFTagger(templates="pos", c2=0.01, stack=2).train(data)
    assert t.level1_ is not None and t.level1_.level1_ is None
    train_tags = seen[0]
    assert len(train_tags) == len(data)
    # "zz" is tagged by a first level that never saw it (its fold was held out) ...
    assert train_tags[-1][0] != "Z"
    # ... while the first level trained on everything knows it, and so does the stack
    assert t.level1_.predict([["zz", "runs"]]) == [["Z", "VERB"]]
    assert t.predict([["zz", "runs"]]) == [["Z", "VERB"]]
    assert any(n.startswith("tag1[") for n in t.features_.attribute_names())
    assert not any(n.startswith("tag1[") for n in t.level1_.features_.attribute_names())
    words = [w for w, _ in data[0]]
    assert t.predict([words]) == [[tag for _, tag in data[0]]]


def test_stack_defaults_and_input_forms(tmp_path):
    data = _pos_data()
    assert CRFTagger(templates="pos", c2=0.1).train(data).level1_ is not None  # DEFAULT_STACK
    assert CRFTagger(templates="pos", c2=0.1, stack=0).train(data).level1_ is None
    assert CRFTagger(templates="ner", c2=0.1).train(data).level1_ is None
    explicit = [(("w", 0),), (("w", 1),)]
    assert CRFTagger(templates=explicit, c2=0.1).train(data).level1_ is None
    t = CRFTagger(templates=explicit, c2=0.1, stack=3).train(data)
    assert t.level1_ is not None
    chunks = _chunk_data()
    c = CRFTagger(templates="chunk", c2=0.1, stack=2).train(chunks, dev=chunks)
    as_tuples = [[(w, p) for w, p, _ in s] for s in chunks]
    as_dicts = [{"w": [w for w, *_ in s], "pos": [p for _, p, _ in s]} for s in chunks]
    assert c.predict(as_tuples) == c.predict(as_dicts) == [[t_ for *_, t_ in s] for s in chunks]
    assert c.predict(as_tuples + [[]])[-1] == []
    with pytest.raises(ValueError, match="pos"):
        c.predict([["He", "reckons"]])  # the first level needs the POS column too
    path = tmp_path / "stack.crf"
    c.save(path)
    back = CRFTagger.load(path)
    assert back.level1_ is not None and back.stack == 2
    assert back.predict_marginals(as_tuples) == c.predict_marginals(as_tuples)
    assert back.evaluation_report(chunks).as_dict()["f1"] == 1.0


def test_stack_bad_input(tmp_path):
    for bad, err in [(1, ValueError), (-2, ValueError), ("2", TypeError), (True, TypeError),
                     (2.0, TypeError)]:
        with pytest.raises(err, match="stack"):
            CRFTagger(stack=bad)
    with pytest.raises(ValueError, match="at least 5"):
        CRFTagger(templates="pos", stack=5).train(_pos_data()[:3])
    d = [{"w": ["a", "b"], "tag1": ["x", "y"], "t": ["X", "Y"]}] * 3
    with pytest.raises(ValueError, match="tag1"):
        CRFTagger(templates="pos", stack=2).train(d, tag="t")
    t = CRFTagger(templates="pos", c2=0.1, stack=2).train(_pos_data())
    path = tmp_path / "s.crf"
    t.save(path)
    # first-level arrays without the first level: refused
    bad_path = tmp_path / "bad.crf"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(bad_path, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "model.json":
                meta = json.loads(data)
                del meta["level1"]
                data = json.dumps(meta).encode()
            zout.writestr(item, data)
    with pytest.raises(ValueError, match="level1"):
        CRFTagger.load(bad_path)


def test_cli_train_crf_stack(tmp_path, capsys):
    from fastseq.cli import main
    train = tmp_path / "train.txt"
    train.write_text("\n\n".join("\n".join(" ".join(t) for t in s) for s in _chunk_data()) + "\n")
    model = tmp_path / "m.crf"
    common = ["train", "crf", "--train", str(train), "--model", str(model), "--columns",
              "word,pos,chunk", "--templates", "chunk", "--c2", "0.1"]
    assert main(common + ["--stack", "2"]) == 0
    assert "stacked on a first level (2 folds)" in capsys.readouterr().err
    assert CRFTagger.load(model).level1_ is not None
    assert main(common + ["--stack", "1"]) == 1
    assert "`stack` must be 0" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# documentation details
# ---------------------------------------------------------------------------------------------

def test_holdout_label_scores_are_python_floats():
    import pickle

    from fastseq.crf import LabelScore
    X = [[{"w": "a"}, {"w": "b"}], [{"w": "c"}]]
    crf = CRF(c2=0.1, max_iterations=3).fit(X, [["A", "B"], ["C"]], X, [["A", "A"], ["C"]])
    scores = crf.training_log_.last_iteration["scores"]
    assert set(scores) == {"A", "B", "C"}
    for s in scores.values():
        assert isinstance(s, LabelScore) and isinstance(s, tuple)
        assert s._fields == ("match", "model", "ref", "precision", "recall", "f1")
        for v in (s.precision, s.recall, s.f1):
            assert v is None or type(v) is float
    assert scores["A"] == LabelScore(1, 1, 2, 1.0, 0.5, 2 / 3)
    assert pickle.loads(pickle.dumps(scores["A"])) == scores["A"]
    assert repr(scores["C"]).startswith("LabelScore(match=1, model=1, ref=1,")


def test_encode_items_needs_a_vocabulary_unless_fitting():
    from fastseq.crf.items import encode_items
    with pytest.raises(ValueError, match="vocab"):
        encode_items([[{"w": "a"}]], "X", None, fit=False)


def test_columns_given_as_one_str_is_an_error():
    with pytest.raises(TypeError, match="not a str"):
        FeatureExtractor("pos", columns="word")
    with pytest.raises(TypeError, match="not a str"):
        CRFTagger(templates="pos", columns="word")


def test_tagger_set_params_checks_like_the_constructor():
    tagger = CRFTagger(templates="pos")
    with pytest.raises(TypeError, match="constrained"):
        tagger.set_params(constrained="yes")
    with pytest.raises(ValueError, match="stack"):
        tagger.set_params(stack=1)
    assert tagger.set_params(stack=0, c2=0.5).get_params()["c2"] == 0.5 and tagger.stack == 0


def test_set_params_n_threads_reaches_a_trained_taggers_models():
    tagger = CRFTagger(templates="pos", max_iterations=5, n_threads=1, stack=2).train(
        [[("the", "DT", "B-NP"), ("dog", "NN", "I-NP")], [("a", "DT", "B-NP"),
                                                          ("cat", "NN", "I-NP")]] * 3)
    tagger.set_params(n_threads=2)
    assert tagger.crf_.n_threads == 2 and tagger.level1_.crf_.n_threads == 2
