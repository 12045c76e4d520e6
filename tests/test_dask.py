"""fastseq.dask on a LocalCluster of 2 worker processes: every fit equals the local fit of
the same data, settings and initial parameters (the whole objective / log-likelihood
trajectory within 1e-9 relative, the same predictions); tagging a bag equals tagging a
list; a worker killed mid-fit costs time, not the result."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
db = pytest.importorskip("dask.bag")
da = pytest.importorskip("dask.array")

from fastseq.crf import CRF  # noqa: E402
from fastseq.dask import fit_crf, fit_hmm, fit_hmm_supervised, tag, tag_files  # noqa: E402
from fastseq.exceptions import WorkerError  # noqa: E402
from fastseq.hmm import CategoricalHMM, GaussianHMM  # noqa: E402

RTOL = 1e-9


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster, set_as_default=False) as c:
        yield c


def _corpus(n, seed=0):
    """Sentences of token features and their labels; the label "RARE" occurs only in the
    last sentences, so it is in one partition only."""
    rng = np.random.RandomState(seed)
    words = ["the", "dog", "cat", "runs", "a", "big", "small", "eats", "fast", "slow"]
    tags = {"the": "DET", "a": "DET", "dog": "N", "cat": "N", "runs": "V", "eats": "V",
            "big": "A", "small": "A", "fast": "ADV", "slow": "ADV"}
    X, y = [], []
    for i in range(n):
        s = [words[j] for j in rng.randint(0, len(words), size=rng.randint(1, 9))]
        X.append([{"w": w, "prev": s[k - 1] if k else "BOS", "suf": w[-2:]}
                  for k, w in enumerate(s)])
        y.append([("RARE" if i >= n - 3 and k == 0 else
                   tags[w] if rng.rand() > 0.1 else "X") for k, w in enumerate(s)])
    return X, y


def _losses(crf):
    return np.array([it["loss"] for it in crf.training_log_.iterations])


def _same_crf(local, dist, X):
    a, b = _losses(local), _losses(dist)
    assert a.size == b.size and a.size > 5
    np.testing.assert_allclose(b, a, rtol=RTOL)
    assert dist.classes_ == local.classes_
    assert dist.attributes_ == local.attributes_
    assert dist.predict(X) == local.predict(X)
    assert dist.training_log_.stop_reason == local.training_log_.stop_reason
    for k, v in local.state_features_.items():
        assert dist.state_features_[k] == pytest.approx(v, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("params", [dict(c2=0.1), dict(c1=0.3, c2=0.01),
                                    dict(c2=0.1, min_freq=2)],
                         ids=["l2", "l1", "min_freq"])
def test_crf_equals_local_fit(client, params):
    X, y = _corpus(120)
    local = CRF(n_threads=1, **params).fit(X, y)
    dist = fit_crf(CRF(**params), X, y, client=client, npartitions=3)
    _same_crf(local, dist, X)
    assert dist.n_train_tokens_ == local.n_train_tokens_
    assert dist.n_train_sequences_ == 120


def test_crf_bag_with_an_empty_partition(client):
    X, y = _corpus(60, seed=1)
    cuts = [(0, 25), (25, 25), (25, 60)]        # the middle partition holds no sequence
    bx = db.from_delayed([dask.delayed(X[a:b]) for a, b in cuts])
    by = db.from_delayed([dask.delayed(y[a:b]) for a, b in cuts])
    local = CRF(c2=0.1, n_threads=1).fit(X, y)
    dist = fit_crf(CRF(c2=0.1), bx, by, client=client)
    _same_crf(local, dist, X)


def test_crf_featurised_on_the_workers(client):
    from fastseq.features import FeatureExtractor

    rng = np.random.RandomState(3)
    words = ["Fed", "raises", "rates", "the", "bank", "cuts"]
    sents = [[words[j] for j in rng.randint(0, 6, size=5)] for _ in range(40)]
    y = [["B" if w[0].isupper() else "O" for w in s] for s in sents]
    templates = [(("w", 0),), (("w", -1),), (("w.lower", 0), ("w", 1)), "bias"]
    fx = FeatureExtractor(templates)
    local = CRF(c2=0.1, n_threads=1).fit(fx.to_lists(sents), y)
    dist = fit_crf(CRF(c2=0.1), sents, y, features=fx.to_lists, client=client)
    _same_crf(local, dist, fx.to_lists(sents))
    # an extractor fitted per partition: the same model up to the order of the attributes
    dist2 = fit_crf(CRF(c2=0.1), sents, y, features=FeatureExtractor(templates),
                    client=client)
    np.testing.assert_allclose(_losses(dist2), _losses(local), rtol=1e-6)
    assert dist2.predict(fx.to_lists(sents)) == local.predict(fx.to_lists(sents))


def test_crf_bad_input_fails_on_the_client(client):
    X, y = _corpus(10)
    with pytest.raises(ValueError, match="sequence 0"):
        fit_crf(CRF(), X, [s[:-1] if i == 0 else s for i, s in enumerate(y)], client=client)
    with pytest.raises(ValueError, match="lbfgs"):
        fit_crf(CRF(algorithm="ap"), X, y, client=client)
    with pytest.raises(TypeError, match="str"):
        fit_crf(CRF(), X, [[1] * len(s) for s in y], client=client)
    with pytest.raises(ValueError, match="partitions"):
        fit_crf(CRF(), db.from_sequence(X, npartitions=2), db.from_sequence(y, npartitions=1),
                client=client)


def _categorical(seed=1):
    m = CategoricalHMM(3, n_iter=12, tol=0.0, init_params="", n_features=5)
    r = np.random.RandomState(seed)
    m.startprob_ = r.dirichlet(np.ones(3))
    m.transmat_ = r.dirichlet(np.ones(3), size=3)
    m.emissionprob_ = r.dirichlet(np.ones(5), size=3)
    return m


def _gaussian(ct):
    m = GaussianHMM(3, covariance_type=ct, n_iter=8, tol=0.0, init_params="")
    r = np.random.RandomState(2)
    m.startprob_ = r.dirichlet(np.ones(3))
    m.transmat_ = r.dirichlet(np.ones(3), size=3)
    m.means_ = r.normal(size=(3, 2))
    m.covars_ = np.ones((3, 2)) if ct == "diag" else np.tile(np.eye(2), (3, 1, 1))
    return m


def _same_hmm(local, dist, names):
    a, b = np.array(local.monitor_.history), np.array(dist.monitor_.history)
    assert a.size == b.size == local.n_iter
    np.testing.assert_allclose(b, a, rtol=RTOL)
    for name in names:
        np.testing.assert_allclose(getattr(dist, name), getattr(local, name), rtol=1e-9,
                                   atol=1e-12)


def test_categorical_hmm_equals_local_fit(client):
    rng = np.random.RandomState(0)
    lengths = rng.randint(5, 40, size=40)
    X = rng.randint(0, 5, size=(lengths.sum(), 1))
    local = _categorical().fit(X, lengths)
    _same_hmm(local, fit_hmm(_categorical(), X, lengths, client=client, npartitions=3),
              ["startprob_", "transmat_", "emissionprob_"])
    # a bag of sequences, one partition empty
    seqs = np.split(X[:, 0], np.cumsum(lengths)[:-1])
    bag = db.from_delayed([dask.delayed(seqs[:10]), dask.delayed([]),
                           dask.delayed(seqs[10:])])
    _same_hmm(local, fit_hmm(_categorical(), bag, client=client), ["emissionprob_"])


@pytest.mark.parametrize("ct", ["diag", "full"])
def test_gaussian_hmm_equals_local_fit(client, ct):
    rng = np.random.RandomState(1)
    lengths = rng.randint(10, 60, size=30)
    X = rng.normal(size=(lengths.sum(), 2)) + 3.0 * rng.randint(0, 3, size=(lengths.sum(), 1))
    local = _gaussian(ct).fit(X, lengths)
    dist = fit_hmm(_gaussian(ct), da.from_array(X, chunks=250), lengths, client=client)
    _same_hmm(local, dist, ["startprob_", "transmat_", "means_", "covars_"])


def test_supervised_hmm_equals_local(client):
    rng = np.random.RandomState(2)
    lengths = [30] * 10
    X = rng.normal(size=(300, 2))
    states = rng.randint(0, 3, size=300)
    local = GaussianHMM(3).fit_supervised(X, states, lengths)
    dist = fit_hmm_supervised(GaussianHMM(3), X, states, lengths, client=client,
                              npartitions=4)
    for name in ("startprob_", "transmat_", "means_", "covars_"):
        np.testing.assert_allclose(getattr(dist, name), getattr(local, name), rtol=1e-9,
                                   atol=1e-12)


def test_tagging_a_bag_equals_tagging_a_list(client, tmp_path):
    from fastseq.taggers import HMMTagger

    rng = np.random.RandomState(4)
    words = ["the", "dog", "runs", "a", "cat", "eats"]
    tags = {"the": "DET", "a": "DET", "dog": "N", "cat": "N", "runs": "V", "eats": "V"}
    train = [[(w, tags[w]) for w in (words[j] for j in rng.randint(0, 6, size=6))]
             for _ in range(50)]
    tagger = HMMTagger().train(train)
    sents = [[words[j] for j in rng.randint(0, 6, size=rng.randint(1, 8))]
             for _ in range(100)]
    expected = tagger.predict(sents)
    bag = db.from_sequence(sents, npartitions=5)
    assert client.compute(tag(tagger, bag)).result() == expected
    assert tag(tagger, sents, client=client) == expected
    X, y = _corpus(40)
    crf = CRF(c2=0.1).fit(X, y)
    assert client.compute(tag(crf, db.from_sequence(X, npartitions=3))).result() == \
        crf.predict(X)
    # a folder of text files, one task each
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        (src / f"f{i}.txt").write_text("\n".join(" ".join(s) for s in sents[i::3]) + "\n")
    n_sent, n_tok = tag_files(tagger, sorted(str(p) for p in src.iterdir()),
                              str(tmp_path / "out"), client=client)
    assert n_sent == 100 and n_tok == sum(map(len, sents))
    lines = (tmp_path / "out" / "f0.txt").read_text().splitlines()
    assert lines[0] == " ".join(f"{w}/{t}" for w, t in zip(sents[0], expected[0]))


def test_import_fastseq_does_not_import_dask():
    code = ("import sys, fastseq, fastseq.crf, fastseq.hmm, fastseq.taggers, fastseq.cli; "
            "assert 'dask' not in sys.modules and 'distributed' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- faults: a cluster of their own, where a task may kill its worker once ---------------------
@pytest.fixture(scope="module")
def fragile_client():
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address=None) as cluster, \
            distributed.Client(cluster, set_as_default=False) as c:
        yield c


def test_killed_worker_costs_time_not_the_result(fragile_client):
    c = fragile_client
    X, y = _corpus(400, seed=5)
    undisturbed = fit_crf(CRF(c2=0.1), X, y, client=c, npartitions=4)
    profile: list = []
    killed = []

    def kill_one():
        deadline = time.monotonic() + 60
        while len(profile) < 3 and time.monotonic() < deadline:
            time.sleep(0.002)
        pids = c.run(os.getpid)
        pid = sorted(pids.values())[0]
        os.kill(pid, signal.SIGKILL)
        killed.append((pid, len(profile)))

    t = threading.Thread(target=kill_one)
    t.start()
    dist = fit_crf(CRF(c2=0.1), X, y, client=c, npartitions=4, profile=profile)
    t.join()
    assert killed and killed[0][1] < len(profile)   # killed before the fit ended
    # the lost partitions were recomputed: the same sums, bit for bit, as without the kill
    np.testing.assert_array_equal(_losses(dist), _losses(undisturbed))
    assert dist.state_features_ == undisturbed.state_features_
    _same_crf(CRF(c2=0.1, n_threads=1).fit(X, y), dist, X)


def _die(sentences):
    os._exit(1)


def test_a_task_that_keeps_killing_workers_is_a_clear_error(fragile_client):
    X, y = _corpus(10)
    with pytest.raises(WorkerError, match="more partitions"):
        fit_crf(CRF(), X, y, features=_die, client=fragile_client)


def test_cli_tags_a_folder_on_a_scheduler(client, tmp_path, capsys):
    from fastseq.cli import main

    sents = [[("He", "PRP", "B-NP"), ("reckons", "VBZ", "B-VP"), ("the", "DT", "B-NP"),
              ("deficit", "NN", "I-NP"), (".", ".", "O")],
             [("The", "DT", "B-NP"), ("pound", "NN", "I-NP"), ("rose", "VBD", "B-VP"),
              (".", ".", "O")]]

    def write(path, ncols):
        path.write_text("".join("".join(" ".join(t[:ncols]) + "\n" for t in s) + "\n"
                                for s in sents))
    train, model = tmp_path / "train.txt", tmp_path / "chunk.crf"
    write(train, 3)
    assert main(["train", "crf", "--train", str(train), "--columns", "word,pos,chunk",
                 "--templates", "chunk", "--model", str(model)]) == 0
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.txt", "b.txt"):
        write(src / name, 2)
    assert main(["tag", "--model", str(model), "--format", "conll", str(src)]) != 0  # no -o
    out = tmp_path / "out"
    assert main(["tag", "--model", str(model), "--format", "conll", str(src), "-o", str(out),
                 "--scheduler", client.scheduler.address]) == 0
    # each output is what tagging the file alone gives
    assert main(["tag", "--model", str(model), "--format", "conll", str(src / "a.txt"),
                 "-o", str(tmp_path / "alone.txt")]) == 0
    expected = (tmp_path / "alone.txt").read_text()
    assert (out / "a.txt").read_text() == expected == (out / "b.txt").read_text()
    assert main(["tag", "--model", str(model), str(src / "a.txt"), "--scheduler",
                 client.scheduler.address]) != 0
