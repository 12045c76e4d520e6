"""Online decoding (fastseq.stream): the committed labels against offline Viterbi, the
filtered distribution and fixed-lag smoothing against the offline forward / marginals, the
bounded-latency mode's promises, batches of streams, the models' stream() methods, and
inputs that must be refused."""
import threading

import numpy as np
import pytest

import fastseq
from fastseq import ops
from fastseq.stream import Committed, FixedLagSmoother, OnlineViterbi


def random_model(rng, N, forbid=0.0, scale=2.0):
    tr = rng.normal(size=(N, N)) * scale
    if forbid:
        tr[rng.random((N, N)) < forbid] = -np.inf
    return tr, rng.normal(size=N), rng.normal(size=N)


def run_stream(dec, em, *, many=False):
    """All labels of a one-stream decoder fed em row by row (or at once), then flushed."""
    if many:
        out = [dec.push_many(em)]
    else:
        out = [dec.push(row) for row in em]
    out.append(dec.flush())
    return np.concatenate(out).astype(np.int64)


def run_batch(dec, em):
    """Labels per stream of a batch decoder fed em [T, B, N]; checks the positions."""
    B = em.shape[1]
    got = [[] for _ in range(B)]

    def take(c):
        for s, p, lab in zip(c.stream, c.position, c.label):
            assert p == len(got[s])  # every position once, in order
            got[s].append(lab)

    for t in range(em.shape[0]):
        take(dec.push(em[t]))
    take(dec.flush())
    return [np.array(g, dtype=np.int64) for g in got]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("N", [1, 2, 5, 45, 64, 65, 130])
def test_exact_mode_equals_offline_viterbi(dtype, N):
    rng = np.random.default_rng(N)
    for trial in range(8):
        T = int(rng.integers(0, 40))
        tr, st, en = (a.astype(dtype) for a in random_model(rng, N, forbid=0.3 * (trial % 2)))
        em = (rng.normal(size=(T, N)) * 3).astype(dtype)
        path, score = ops.viterbi(em, tr, start=st, end=en)
        dec = OnlineViterbi(tr, start=st, end=en)
        got = run_stream(dec, em, many=bool(trial % 3 == 0))
        if T and path[0] < 0:  # no path at all: -1 from where the stream died on
            assert got.shape == (T,)
            continue
        np.testing.assert_array_equal(got, path)
        # the score in float64: offline float32 rounds its float64 sum to float32
        assert dtype(dec.best_score) == score


@pytest.mark.parametrize("N", [3, 20, 70, 300])
def test_ties_go_where_offline_viterbi_sends_them(N):
    """Small integer scores tie everywhere: the back-pointers must pick the lowest state,
    within and across the chunks the step compares at once."""
    rng = np.random.default_rng(N)
    tr = rng.integers(-2, 1, size=(N, N)).astype(float)
    em = rng.integers(-1, 1, size=(60, N)).astype(float)
    np.testing.assert_array_equal(run_stream(OnlineViterbi(tr), em), ops.viterbi(em, tr)[0])
    dec = OnlineViterbi(tr, n_streams=3)
    got = run_batch(dec, np.stack([em, em[::-1], em], axis=1))
    np.testing.assert_array_equal(got[1], ops.viterbi(em[::-1], tr)[0])


def test_lengths_zero_and_one():
    tr, st, en = random_model(np.random.default_rng(0), 4)
    dec = OnlineViterbi(tr, start=st, end=en)
    assert dec.flush().shape == (0,) and dec.t == 0 and dec.best_score == 0.0
    dec = OnlineViterbi(tr, start=st, end=en)
    row = np.array([0.0, 1.0, -np.inf, 0.5])
    out = np.concatenate([dec.push(row), dec.flush()])
    path, score = ops.viterbi(row[None], tr, start=st, end=en)
    np.testing.assert_array_equal(out, path)
    assert dec.best_score == score


def test_paths_that_never_coalesce_are_held_until_flush():
    N, T = 6, 500
    tr = np.full((N, N), -np.inf)
    np.fill_diagonal(tr, 0.0)  # every state its own path: no two ever merge
    em = np.random.default_rng(1).normal(size=(T, N))
    dec = OnlineViterbi(tr)
    for row in em:
        assert dec.push(row).size == 0
    assert dec.n_committed == 0 and dec.t == T
    np.testing.assert_array_equal(dec.flush(), ops.viterbi(em, tr)[0])
    assert dec.n_committed == T


def test_memory_follows_the_agreement_not_the_stream():
    """On an ergodic model the paths agree a few steps back: the open positions stay few
    however long the stream."""
    rng = np.random.default_rng(2)
    N = 8
    tr = np.log(rng.dirichlet(np.ones(N), size=N))
    dec = OnlineViterbi(tr)
    lag = 0
    for _ in range(40):
        dec.push_many(rng.normal(size=(500, N)))
        lag = max(lag, dec.t - dec.n_committed)
    assert dec.t == 20000 and lag < 200


def test_dead_stream_commits_minus_one_from_then_on():
    tr = np.log(np.array([[0.5, 0.5], [0.5, 0.5]]))
    dec = OnlineViterbi(tr)
    em = np.array([[0.0, -1.0], [-np.inf, -np.inf], [0.0, 0.0]])
    out = run_stream(dec, em)
    assert out.shape == (3,) and (out[1:] == -1).all()
    assert dec.best_score == -np.inf


@pytest.mark.parametrize("N", [5, 300])  # (back-pointers of one byte, and of two)
@pytest.mark.parametrize("lag", [0, 1, 2, 4])
def test_max_lag_commits_in_time_along_one_path(lag, N):
    rng = np.random.default_rng(lag)
    T = 60
    tr, st, en = random_model(rng, N)
    em = rng.normal(size=(T, N)) * 2
    dec = OnlineViterbi(tr, start=st, end=en, max_lag=lag)
    labels = []
    for t, row in enumerate(em):
        labels.extend(dec.push(row).tolist())
        assert len(labels) >= t + 1 - lag  # position t - lag is final by now
    labels.extend(dec.flush().tolist())
    assert len(labels) == T
    # one path: it has the score a path of these labels has (finite: no move forbidden)
    assert np.isfinite(ops.sequence_score(em, tr, np.array(labels), start=st, end=en))


def test_max_lag_beyond_the_stream_is_exact():
    rng = np.random.default_rng(3)
    tr, st, en = random_model(rng, 6)
    em = rng.normal(size=(30, 6))
    np.testing.assert_array_equal(run_stream(OnlineViterbi(tr, start=st, end=en, max_lag=30), em),
                                  ops.viterbi(em, tr, start=st, end=en)[0])


def test_max_lag_labels_avoid_forbidden_moves():
    """The committed prefix constrains what follows: the labels never take a forbidden
    move, even where the unconstrained best path would have gone elsewhere."""
    rng = np.random.default_rng(4)
    for _ in range(20):
        tr, st, en = random_model(rng, 5, forbid=0.4)
        em = rng.normal(size=(25, 5)) * 3
        labels = run_stream(OnlineViterbi(tr, start=st, end=en, max_lag=1), em)
        if (labels >= 0).all():
            assert np.isfinite(ops.sequence_score(em, tr, labels, start=st, end=en))


@pytest.mark.parametrize("max_lag", [None, 2])
def test_batch_of_streams_equals_each_stream_alone(max_lag):
    rng = np.random.default_rng(5)
    N, B, T = 7, 9, 30
    tr, st, en = random_model(rng, N, forbid=0.2)
    em = rng.normal(size=(T, B, N)) * 2
    em[5, 3] = -np.inf  # stream 3 dies at t = 5
    got = run_batch(OnlineViterbi(tr, start=st, end=en, n_streams=B, max_lag=max_lag,
                                  n_threads=2), em)
    for b in range(B):
        alone = run_stream(OnlineViterbi(tr, start=st, end=en, max_lag=max_lag), em[:, b])
        np.testing.assert_array_equal(got[b], alone)
    assert (got[3][5:] == -1).all()


def test_push_many_equals_pushes_and_threads_do_not_matter():
    rng = np.random.default_rng(6)
    N, B, T = 45, 64, 40
    tr = np.log(rng.dirichlet(np.ones(N), size=N)).astype(np.float32)
    em = rng.normal(size=(T, B, N)).astype(np.float32)
    results = []
    for n_threads in (1, 2):
        dec = OnlineViterbi(tr, n_streams=B, n_threads=n_threads)
        c1, c2 = dec.push_many(em[:17]), dec.push_many(em[17:])
        c3 = dec.flush()
        results.append([np.concatenate([c.label[c.stream == b] for c in (c1, c2, c3)])
                        for b in range(B)])
    offline = ops.viterbi(np.ascontiguousarray(em.transpose(1, 0, 2)), tr)[0]
    for b in range(B):
        np.testing.assert_array_equal(results[0][b], results[1][b])
        np.testing.assert_array_equal(results[0][b], offline[b])


@pytest.mark.parametrize("N", [3, 45, 70, 300])
def test_push_many_commits_what_its_rows_pushed_one_by_one_commit(N):
    """push_many in exact mode makes the back-pointers and commits for a block of positions
    at once: after every call the committed labels must be those of the same rows pushed
    one at a time, whatever the block boundaries, with streams that die mid-block."""
    rng = np.random.default_rng(N)
    B, T = 5, 47
    tr, st, en = random_model(rng, N, forbid=0.3)
    em = rng.normal(size=(T, B, N)) * 2
    em[9, 1] = -np.inf  # stream 1 dies inside a block
    em[0, 2] = -np.inf  # stream 2 has no path from the start
    many = OnlineViterbi(tr, start=st, end=en, n_streams=B, filtered=True)
    one = OnlineViterbi(tr, start=st, end=en, n_streams=B, filtered=True)
    t = 0
    for size in [1, 2, 9, 3, 16, 7, 1, 8]:
        a = many.push_many(em[t:t + size])
        b = [one.push(row) for row in em[t:t + size]]
        b = [np.concatenate([getattr(c, f) for c in b]) for f in Committed._fields]
        order = np.lexsort((b[1], b[0]))  # (push_many's results come in stream order)
        for got, want in zip(a, b):
            np.testing.assert_array_equal(got, want[order])
        np.testing.assert_array_equal(many.filtered, one.filtered)
        t += size
    assert t == T
    a, b = many.flush(), one.flush()
    np.testing.assert_array_equal(a.label, b.label)
    np.testing.assert_array_equal(many.best_score, one.best_score)
    got = run_batch(OnlineViterbi(tr, start=st, end=en, n_streams=B), em)
    path = ops.viterbi(np.ascontiguousarray(em[:, 0]), tr, start=st, end=en)[0]
    np.testing.assert_array_equal(got[0], path)


def test_every_simd_variant_gives_the_same_labels():
    rng = np.random.default_rng(7)
    tr, st, en = random_model(rng, 11, forbid=0.2)
    em = rng.normal(size=(50, 11))
    want = ops.viterbi(em, tr, start=st, end=en)[0]
    for name in fastseq._kernels.simd_levels():
        with ops.simd_variant(name):
            dec = OnlineViterbi(tr, start=st, end=en)
        np.testing.assert_array_equal(run_stream(dec, em), want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_filtered_distribution_equals_the_offline_forward(dtype):
    rng = np.random.default_rng(8)
    N, B, T = 6, 3, 25
    tr, st, _ = (a.astype(dtype) for a in random_model(rng, N, forbid=0.3))
    em = (rng.normal(size=(T, B, N)) * 3).astype(dtype)
    # state 1 about e^-900 below the rest, and the only way into state 0, which the
    # emissions then favour: its filter sum is below 2^-800, made by the exact
    # log-sum-exp, and it matters
    em[:, :, 1] -= 900.0
    em[:, :, 0] += 1800.0
    tr[:, 0] = -np.inf
    tr[1, 0] = 0.0
    dec = OnlineViterbi(tr, start=st, n_streams=B, filtered=True)
    wide = em.astype(np.float64)  # the decoder widens float32 exactly: this is its reference
    for t in range(T):
        dec.push(em[t])
        alpha, log_z = ops.forward(np.ascontiguousarray(wide[:t + 1].transpose(1, 0, 2)),
                                   tr.astype(np.float64), start=st.astype(np.float64))
        a = alpha[:, t]
        with np.errstate(invalid="ignore"):
            p = np.exp(a - a.max(axis=1, keepdims=True))
        p = np.nan_to_num(p / p.sum(axis=1, keepdims=True))
        np.testing.assert_allclose(dec.filtered, p, rtol=0, atol=1e-12)
        np.testing.assert_allclose(dec.log_evidence, log_z, rtol=1e-12)


def test_filtered_needs_the_option():
    dec = OnlineViterbi(np.zeros((2, 2)))
    dec.push(np.zeros(2))
    with pytest.raises(ValueError, match="filtered=True"):
        _ = dec.filtered


@pytest.mark.parametrize("lag", [0, 1, 3])
def test_fixed_lag_smoothing_equals_offline_marginals(lag):
    rng = np.random.default_rng(9 + lag)
    N, B, T = 5, 4, 20
    tr, st, en = random_model(rng, N, forbid=0.2)
    em = rng.normal(size=(T, B, N)) * 2
    sm = FixedLagSmoother(tr, lag, start=st, end=en, n_streams=B)
    for t in range(T):
        out = sm.push(em[t])
        if t < lag:
            assert out.shape == (0, B, N)
            continue
        cut = ops.marginals(np.ascontiguousarray(em[:t + 1].transpose(1, 0, 2)), tr,
                            start=st).node[:, t - lag]
        np.testing.assert_allclose(out[0], cut, atol=1e-12, rtol=0)
    rest = sm.flush()
    full = ops.marginals(np.ascontiguousarray(em.transpose(1, 0, 2)), tr, start=st,
                         end=en).node
    assert rest.shape == (lag, B, N)
    np.testing.assert_allclose(rest, full[:, T - lag:].transpose(1, 0, 2), atol=1e-12, rtol=0)


def test_fixed_lag_smoother_one_stream_shorter_than_the_lag():
    rng = np.random.default_rng(10)
    tr, st, en = random_model(rng, 3)
    em = rng.normal(size=(2, 3))
    sm = FixedLagSmoother(tr, 5, start=st, end=en)
    assert sm.push(em[0]).shape == (0, 3) and sm.push(em[1]).shape == (0, 3)
    np.testing.assert_allclose(sm.flush(), ops.marginals(em, tr, start=st, end=en).node,
                               atol=1e-12, rtol=0)
    sm.reset()
    assert sm.flush().shape == (0, 3)


def test_reset_starts_over():
    rng = np.random.default_rng(11)
    tr, st, en = random_model(rng, 4)
    em = rng.normal(size=(15, 4))
    dec = OnlineViterbi(tr, start=st, end=en)
    first = run_stream(dec, em)
    with pytest.raises(ValueError, match="reset"):
        dec.push(em[0])
    dec.reset()
    np.testing.assert_array_equal(run_stream(dec, em), first)


@pytest.mark.parametrize("bad, match", [(np.nan, "NaN"), (np.inf, r"\+inf"), (1e300, "above")])
def test_bad_scores_are_refused_before_anything_changes(bad, match):
    dec = OnlineViterbi(np.zeros((3, 3)), n_streams=2)
    dec.push(np.zeros((2, 3)))
    rows = np.zeros((2, 3), dtype=np.float32 if bad != 1e300 else np.float64)
    rows[1, 2] = bad
    with pytest.raises(ValueError, match=match):
        dec.push(rows)
    assert dec.t == 1
    one = OnlineViterbi(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=match):
        one.push(np.array([0.0, bad, 0.0]))
    assert one.t == 0


def test_inputs_of_any_layout_and_kind():
    rng = np.random.default_rng(12)
    tr, st, en = random_model(rng, 4)
    em = rng.normal(size=(8, 4))
    want = ops.viterbi(em, tr, start=st, end=en)[0]
    for rows in (np.asfortranarray(em), em.astype(">f8"), em[:, ::-1][:, ::-1],
                 [list(r) for r in em]):
        dec = OnlineViterbi(tr, start=st, end=en)
        np.testing.assert_array_equal(run_stream(dec, rows), want)
    dec = OnlineViterbi(tr)
    with pytest.raises(ValueError, match="shape"):
        dec.push(np.zeros(5))
    with pytest.raises(TypeError, match="real numbers"):
        dec.push(np.array(["a", "b", "c", "d"]))


def test_model_arguments_are_checked():
    with pytest.raises(ValueError, match="transitions"):
        OnlineViterbi(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        OnlineViterbi(np.array([[0.0, np.nan], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="start"):
        OnlineViterbi(np.zeros((2, 2)), start=np.zeros(3))
    with pytest.raises(ValueError, match="max_lag"):
        OnlineViterbi(np.zeros((2, 2)), max_lag=-1)
    with pytest.raises(ValueError, match="n_streams"):
        OnlineViterbi(np.zeros((2, 2)), n_streams=0)
    with pytest.raises(ValueError, match="lag"):
        FixedLagSmoother(np.zeros((2, 2)), -1)
    scipy_sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="dense"):
        OnlineViterbi(scipy_sparse.eye(3, format="csr"))


def test_one_decoder_from_two_threads_is_refused_not_corrupted():
    """A push while another thread's push of the same decoder runs raises instead of
    racing on the trees; what was pushed is decoded right."""
    N, B, K = 64, 128, 100
    rng = np.random.default_rng(13)
    tr = np.log(rng.dirichlet(np.ones(N), size=N))
    dec = OnlineViterbi(tr, n_streams=B, n_threads=1)
    rows = rng.normal(size=(K, B, N))
    outs, errors = [], []

    def worker():
        for _ in range(3):
            try:
                outs.append(dec.push_many(rows))
            except RuntimeError as e:
                errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert all("another thread" in str(e) for e in errors)
    assert dec.t == K * len(outs)
    outs.append(dec.flush())
    stream = np.concatenate([rows] * (len(outs) - 1))
    want = ops.viterbi(np.ascontiguousarray(stream[:, :3].transpose(1, 0, 2)), tr)[0]
    for b in range(3):
        got = np.full(dec.t, -2)
        for c in outs:
            got[c.position[c.stream == b]] = c.label[c.stream == b]
        np.testing.assert_array_equal(got, want[b])


def test_hmm_stream_equals_decode():
    from fastseq.hmm import CategoricalHMM, GaussianHMM

    rng = np.random.default_rng(14)
    g = GaussianHMM(3, n_iter=3, random_state=0).fit(rng.normal(size=(300, 2)))
    X = rng.normal(size=(60, 2))
    np.testing.assert_array_equal(run_stream(g.stream(), X), g.decode(X)[1])
    dec = g.stream(n_streams=2, filtered=True)
    c = dec.push_many(np.stack([X, X[::-1]], axis=1))
    assert dec.log_evidence[0] == pytest.approx(g.score(X), rel=1e-12)
    f = dec.flush()
    for b, seq in enumerate((X, X[::-1])):
        got = np.concatenate([c.label[c.stream == b], f.label[f.stream == b]])
        np.testing.assert_array_equal(got, g.decode(seq)[1])
    cat = CategoricalHMM(3, n_iter=3, random_state=0).fit(rng.integers(0, 4, size=(200, 1)))
    Xc = rng.integers(0, 4, size=(40, 1))
    np.testing.assert_array_equal(run_stream(cat.stream(), Xc), cat.decode(Xc)[1])


def test_crf_stream_equals_predict():
    from fastseq.crf import CRF

    X = [[{"w": "the"}, {"w": "dog"}, {"w": "ran"}], [{"w": "a"}, {"w": "cat"}, {"w": "sat"}],
         [{"w": "dogs"}, {"w": "ran"}]]
    y = [["DET", "NOUN", "VERB"], ["DET", "NOUN", "VERB"], ["NOUN", "VERB"]]
    crf = CRF(c2=0.1).fit(X, y)
    seq = [{"w": "a"}, {"w": "dog"}, {"w": "sat"}, {"w": "the"}, {"w": "cat"}]
    got = run_stream(crf.stream(), seq)
    assert [crf.classes_[i] for i in got] == crf.predict_single(seq)
    with pytest.raises(ValueError, match="first-order"):
        CRF(c2=0.1, order=2).fit(X, y).stream()


def test_torch_crf_stream_equals_decode():
    torch = pytest.importorskip("torch")
    from fastseq.torch import CRF

    torch.manual_seed(0)
    crf = CRF(4)
    em = torch.randn(12, 4)
    dec = crf.stream()
    got = [t for row in em for t in dec.push(row).tolist()] + dec.flush().tolist()
    assert got == crf.decode(em[:, None])[0]
