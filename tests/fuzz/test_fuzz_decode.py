"""Property-based fuzzing of :func:`fastseq.decode.decode` against a brute-force decode.

Cases are tiny (every path is enumerated): one sequence, a padded batch (with lengths, a
mask or neither) or a concatenated one; labels with or without a tagging scheme;
transitions / start / end of any dtype, with -inf and huge values; scores as numpy arrays
of many dtypes, torch tensors (float16 / bfloat16 included) and every memory layout of
:data:`strategies.MEMORY`; and one bad argument in the ``bad_argument`` runs. The
contract: a documented ValueError / TypeError naming the argument in backticks (the
argument of ``decode``: ``scores``, ``nbest``), or the best allowed paths (scores compared,
so ties may go either way), cut to each sequence's length, as label strings or ints, and
``None`` (``nbest=1``) or fewer paths where fewer are allowed.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import pytest
import strategies as S
from hypothesis import given, note
from hypothesis import strategies as st

import fastseq
from fastseq.decode import decode

try:  # torch tensors are among the inputs when torch is installed
    import torch
except ImportError:
    torch = None

SCHEMES = {"IOB1": "BI", "IOB2": "BI", "BIO": "BI", "IOE1": "IE", "IOE2": "IE",
           "IOBES": "BIES", "BIOES": "BIES", "BILOU": "BILU"}
LAYOUTS = ("single", "padded", "padded_mask", "padded_full", "concat")
SCORE_DTYPES = (np.float64, np.float64, np.float32, np.float32, np.float16, np.int64) + (
    ("torch32", "torch16", "torchbf16", "torch64") if torch is not None else ())
PARAM_DTYPES = (np.float64, np.float64, np.float32, np.int64)
NBEST = (1,) * 8 + (2, 3, 4, np.int64(2)) * 2 + (10**6,)
BAD_NBEST = (0, -1, 1.5, True, None, "2", 10**30)
CORRUPTIONS = ("scores_1d", "scores_4d", "scores_N0", "scores_dtype", "labels_count",
               "labels_str", "labels_type", "labels_misfit", "scheme_unknown", "scheme_type",
               "scheme_alone", "transitions_shape", "transitions_dtype", "start_shape",
               "lengths_and_mask", "mask_2d_scores", "mask_shape", "mask_dtype",
               "mask_gap", "lengths_bad", "nbest", "n_threads")
# Scores above SCORE_LIMIT / (T + 2) are refused (see test_fuzz_ops).
SCORE_LIMIT = {np.float64: 1e300, np.float32: 1e30}


@dataclass
class Case:
    """``decode(scores, **kwargs)``."""

    layout: str
    scores: Any
    kwargs: Dict[str, Any] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)


def labels_for(scheme: str, N: int) -> List[str]:
    """``N`` distinct labels fitting ``scheme``: "O" then prefixed labels of types A, B."""
    out = ["O"] + [f"{p}-{t}" for t in "AB" for p in SCHEMES[scheme]]
    return out[:N]


@st.composite
def cases(draw, bad: bool = False) -> Case:
    layout = draw(st.sampled_from(LAYOUTS))
    N = draw(st.integers(1, 5))
    T = draw(st.integers(0, 4))
    B = 1 if layout == "single" else draw(st.integers(0, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    def kind():
        return draw(st.sampled_from(("normal",) * 8 + S.VALUE_KINDS))

    sdt = draw(st.sampled_from(SCORE_DTYPES))
    np_dt = {"torch32": np.float32, "torch16": np.float16, "torchbf16": np.float32,
             "torch64": np.float64}.get(sdt, sdt)
    lens = rng.integers(0, T + 1, size=B)
    if layout in ("single", "padded_full"):
        lens[:] = T
    rows = int(lens.sum()) if layout == "concat" else None
    shape = (T, N) if layout == "single" else (rows, N) if rows is not None else (B, T, N)
    scores = S.fill(rng, shape, kind(), np_dt)
    if scores.ndim == 3 and scores.dtype.kind == "f":  # padding is never read
        garbage = draw(st.sampled_from((np.nan, np.inf, 1e30, 0.0)))
        with np.errstate(over="ignore"):
            for b, n in enumerate(lens):
                scores[b, n:] = garbage
    kw: Dict[str, Any] = {}
    if layout in ("padded", "concat"):
        kw["lengths"] = lens.astype(np.int64)
    if layout == "padded_mask":
        kw["mask"] = (np.arange(T)[None, :] < lens[:, None]).astype(
            draw(st.sampled_from((bool, bool, np.uint8, np.int64))))
    scheme = draw(st.sampled_from((None,) * 3 + tuple(SCHEMES)))
    if scheme is not None or draw(st.booleans()):
        kw["labels"] = labels_for(scheme or draw(st.sampled_from(tuple(SCHEMES))), N)
    if scheme is not None:
        kw["scheme"] = scheme if draw(st.booleans()) else scheme.lower()
    for name, shp in (("transitions", (N, N)), ("start", (N,)), ("end", (N,))):
        if draw(st.booleans()):
            kw[name] = S.fill(rng, shp, kind(), draw(st.sampled_from(PARAM_DTYPES)))
    kw["nbest"] = draw(st.sampled_from(NBEST))
    if kw["nbest"] >= 10**6 and B * T > 4:  # a million paths only on the tiniest inputs
        kw["nbest"] = 4
    kw["n_threads"] = draw(st.sampled_from((None, None, 1, 2, -1)))
    case = Case(layout, scores, kw)
    if bad:
        what = draw(st.sampled_from(CORRUPTIONS))
        _corrupt(case, what, rng, draw)
        case.notes.append(f"corruption: {what}")
    for name in ("scores", "transitions", "start", "end", "lengths", "mask"):
        value = case.scores if name == "scores" else case.kwargs.get(name)
        if not isinstance(value, np.ndarray):
            continue
        how = draw(st.sampled_from(("C",) * 8 + S.MEMORY))
        if name == "scores" and str(sdt).startswith("torch"):
            how = draw(st.sampled_from(("torch", "torch_T")))
        value = S.relayout(value, how)
        if (name == "scores" and sdt in ("torch16", "torchbf16")
                and isinstance(value, torch.Tensor) and value.is_floating_point()):
            value = value.to(torch.float16 if sdt == "torch16" else torch.bfloat16)
        case.notes.append(f"{name}: {how}")
        if name == "scores":
            case.scores = value
        else:
            case.kwargs[name] = value
    return case


def _corrupt(case: Case, what: str, rng: np.random.Generator, draw) -> None:
    kw = case.kwargs
    s = np.asarray(case.scores)
    N = s.shape[-1]
    if what == "scores_1d":
        case.scores = s.reshape(-1)
    elif what == "scores_4d":
        case.scores = s.reshape((1,) * (4 - s.ndim) + s.shape)
    elif what == "scores_N0":
        case.scores = s[..., :0]
    elif what == "scores_dtype":
        case.scores = s.astype(draw(st.sampled_from(S.BAD_DTYPES)))
    elif what == "labels_count":
        kw["labels"] = labels_for("IOB2", N + 1) + ["X"] * max(0, N - 4)
    elif what == "labels_str":
        kw["labels"] = "O B-A I-A"[: max(1, N)]
    elif what == "labels_type":
        kw["labels"] = [0] * N
    elif what == "labels_misfit":
        kw["labels"] = (["E-A", "B-A", "I-A", "O", "S-A"])[:N]
        kw["scheme"] = "IOB2"
    elif what == "scheme_unknown":
        kw["labels"], kw["scheme"] = labels_for("IOB2", N), "IOB9"
    elif what == "scheme_type":
        kw["labels"], kw["scheme"] = labels_for("IOB2", N), 3
    elif what == "scheme_alone":
        kw.pop("labels", None)
        kw["scheme"] = "IOB2"
    elif what == "transitions_shape":
        kw["transitions"] = np.zeros((N + 1, N))
    elif what == "transitions_dtype":
        kw["transitions"] = np.zeros((N, N)).astype(draw(st.sampled_from(S.BAD_DTYPES)))
    elif what == "start_shape":
        kw["start"] = np.zeros((1, N))
    elif what == "lengths_and_mask" and s.ndim == 3:
        kw["lengths"] = np.full(s.shape[0], s.shape[1])
        kw["mask"] = np.ones(s.shape[:2], bool)
    elif what == "mask_2d_scores" and s.ndim == 2:
        kw["mask"] = np.ones((1, s.shape[0]), bool)
        kw.pop("lengths", None)
    elif what == "mask_shape" and s.ndim == 3:
        kw.pop("lengths", None)
        kw["mask"] = np.ones((s.shape[0], s.shape[1] + 1), bool)
    elif what == "mask_dtype" and s.ndim == 3:
        kw.pop("lengths", None)
        kw["mask"] = np.ones(s.shape[:2], dtype=draw(st.sampled_from((np.float64, str))))
    elif what == "mask_gap" and s.ndim == 3:
        kw.pop("lengths", None)
        m = np.ones(s.shape[:2], bool)
        if m.size:
            m.reshape(-1)[int(rng.integers(0, m.size))] = False
        kw["mask"] = m
    elif what == "lengths_bad":
        kw.pop("mask", None)
        kw["lengths"] = draw(st.sampled_from(([-1], [2**63 - 1, 2**63 - 1, 5], [[1]], [1.5],
                                               [10**6])))
    elif what == "nbest":
        kw["nbest"] = draw(st.sampled_from(BAD_NBEST))
    elif what == "n_threads":
        kw["n_threads"] = draw(st.sampled_from((0, -2, 1.5, True)))


# ---------------------------------------------------------------------------------------------
# the contract
# ---------------------------------------------------------------------------------------------

def scores_seen(x: Any) -> np.ndarray:
    """``scores`` as decode reads them: torch float16 / bfloat16 as float32; numpy
    floats other than float32 / float64 and ints as float64."""
    if torch is not None and isinstance(x, torch.Tensor):
        if x.is_floating_point() and x.dtype not in (torch.float32, torch.float64):
            x = x.float()
        return x.numpy()
    a = np.asarray(x)
    if a.dtype.kind == "f" and a.dtype not in (np.float32, np.float64):
        return a.astype(np.float64)
    return a


@dataclass
class Plan:
    """A valid case, decoded: per-sequence float64 scores and the constrained parameters."""

    single: bool
    seqs: List[np.ndarray]
    tr: np.ndarray
    st: np.ndarray
    en: np.ndarray
    dtype: Any
    labels: Optional[List[str]]
    nbest: int


def expectation(case: Case) -> Tuple[S.Expect, Optional[Plan]]:
    ex = S.Expect()
    kw = case.kwargs
    nbest = kw.get("nbest", 1)
    if not S.is_int(nbest):
        ex.error(TypeError, "nbest")
    elif nbest < 1 or nbest > 2**40:
        ex.error(ValueError, "nbest")
    elif nbest > 4096:
        ex.maybe(ValueError, "nbest")
    nt = kw.get("n_threads")
    if nt is not None and not S.is_int(nt):
        ex.error(TypeError, "n_threads")
    elif nt is not None and (nt == 0 or nt < -1):
        ex.error(ValueError, "n_threads")
    s = scores_seen(case.scores)
    if s.dtype.kind not in "fiu":
        ex.error(TypeError, "scores")
        return ex, None
    if s.ndim not in (2, 3) or s.shape[-1] < 1:
        ex.error(ValueError, "scores")
        return ex, None
    N = s.shape[-1]
    labels, scheme = kw.get("labels"), kw.get("scheme")
    masks = None
    if labels is not None:
        if isinstance(labels, str):
            ex.error(TypeError, "labels")
        elif len(labels) != N:
            ex.error(ValueError, "labels")
        elif not all(isinstance(lab, str) for lab in labels):
            ex.error(TypeError, "labels")
        elif scheme is not None:
            try:
                masks = fastseq.allowed_transitions(labels, scheme)
            except TypeError:
                ex.error(TypeError, "scheme")
            except ValueError:
                known = isinstance(scheme, str) and scheme.strip().upper() in SCHEMES
                ex.error(ValueError, "labels" if known else "scheme")
    elif scheme is not None:
        ex.error(ValueError, "scheme")
    params = {}
    for name, shape in (("transitions", (N, N)), ("start", (N,)), ("end", (N,))):
        if kw.get(name) is None:
            continue
        a = S.seen(kw[name])
        if a.dtype.kind not in "fiu":
            ex.error(TypeError, name)
        elif a.shape != shape:
            ex.error(ValueError, name)
        else:
            params[name] = a
            if np.isnan(a).any() or np.isposinf(a).any():  # an error whatever the rest
                ex.error(ValueError, name)
    lens = _lengths(s, kw.get("lengths"), kw.get("mask"), ex)
    if lens is None:
        return ex, None
    # the computation dtype: float32 only if every given float input is float32 (in either
    # byte order: a big-endian float32 is float32)
    cdt = (np.float32 if all(a.dtype.type is np.float32 for a in [s, *params.values()])
           else np.float64)
    T_path = max(lens, default=0) if s.ndim == 2 and kw.get("lengths") is not None \
        else (s.shape[1] if s.ndim == 3 else s.shape[0])
    limit = SCORE_LIMIT[cdt] / (T_path + 2)
    with np.errstate(over="ignore", invalid="ignore"):
        s64 = s.astype(cdt).astype(np.float64)
        p64 = {k: v.astype(cdt).astype(np.float64) for k, v in params.items()}
    seqs = _split(s64, lens, kw.get("lengths") is None and kw.get("mask") is None)
    tr = p64.get("transitions", np.zeros((N, N)))
    st_ = p64.get("start", np.zeros(N))
    en = p64.get("end", np.zeros(N))
    # NaN and +inf are errors anywhere; finite scores too large to sum only where the
    # scheme allows the move
    raw = {"scores": np.concatenate([q.reshape(-1) for q in seqs] + [[]]),
           "transitions": tr, "start": st_, "end": en}
    if masks is not None:
        tr, st_, en = (np.where(m, x, -np.inf) for m, x in zip(masks, (tr, st_, en)))
    used = {"scores": raw["scores"], "transitions": tr, "start": st_, "end": en}
    for name in raw:
        if np.isnan(raw[name]).any() or np.isposinf(raw[name]).any():
            ex.error(ValueError, name)
        elif used[name].size and used[name].max() > limit:
            ex.error(ValueError, name)
    if ex.must_raise:
        return ex, None
    single = s.ndim == 2 and kw.get("lengths") is None and kw.get("mask") is None
    return ex, Plan(single, seqs, tr, st_, en, cdt,
                    None if labels is None else list(labels), int(nbest))


def _lengths(s: np.ndarray, lengths: Any, mask: Any, ex: S.Expect) -> Optional[List[int]]:
    if mask is not None:
        if lengths is not None:
            ex.error(ValueError, "lengths")
            return None
        if s.ndim != 3:
            ex.error(ValueError, "mask")
            return None
        m = S.seen(mask)
        if m.shape != s.shape[:2]:
            ex.error(ValueError, "mask")
            return None
        if m.dtype.kind not in "biu":
            ex.error(TypeError, "mask")
            return None
        m = m.astype(bool)
        n = m.sum(axis=1)
        if not np.array_equal(m, np.arange(s.shape[1])[None, :] < n[:, None]):
            ex.error(ValueError, "mask")
            return None
        return [int(v) for v in n]
    if lengths is None:
        return [s.shape[0]] if s.ndim == 2 else [s.shape[1]] * s.shape[0]
    a = S.seen(lengths)
    if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
        ex.error((ValueError, TypeError), "lengths")
        return None
    vals = S.int_list(a)
    if s.ndim == 3:
        ok = len(vals) == s.shape[0] and all(0 <= v <= s.shape[1] for v in vals)
    else:
        ok = all(v >= 0 for v in vals) and sum(vals) == s.shape[0]
    if not ok:
        ex.error(ValueError, "lengths")
        return None
    return vals


def _split(s: np.ndarray, lens: List[int], single: bool) -> List[np.ndarray]:
    if s.ndim == 3:
        return [s[b, :n] for b, n in enumerate(lens)]
    if single:
        return [s]
    offs = np.concatenate([[0], np.cumsum(lens)]).astype(int)
    return [s[offs[b]:offs[b + 1]] for b in range(len(lens))]


# ---------------------------------------------------------------------------------------------
# brute force
# ---------------------------------------------------------------------------------------------

def all_scores(em: np.ndarray, tr: np.ndarray, st_: np.ndarray, en: np.ndarray
               ) -> Tuple[np.ndarray, np.ndarray]:
    """Every path of one sequence ``(P, T)`` and its score ``(P,)``."""
    T, N = em.shape
    paths = np.array(list(itertools.product(range(N), repeat=T)), dtype=np.int64)
    if T == 0:
        return paths.reshape(1, 0), np.zeros(1)
    with np.errstate(over="ignore", invalid="ignore"):
        score = st_[paths[:, 0]] + en[paths[:, -1]] + em[np.arange(T), paths].sum(axis=1)
        score = score + tr[paths[:, :-1], paths[:, 1:]].sum(axis=1)
    return paths, score


def check_result(case: Case, plan: Plan, out: Any) -> None:
    per_seq = [out] if plan.single else out
    assert isinstance(per_seq, list) and len(per_seq) == len(plan.seqs), (
        f"{len(plan.seqs)} sequences, got {out!r}")
    tol = S.tol_for(plan.dtype)
    mags = [min(float(np.abs(a[np.isfinite(a)]).max(initial=0.0)), 1e300) for a in
            (plan.tr, plan.st, plan.en, *plan.seqs)]
    err = S.ULPS * float(np.finfo(plan.dtype).eps) * (1.0 + 6 * min(sum(mags), 1e300))
    atol = tol["atol"] + err
    for b, em in enumerate(plan.seqs):
        paths, score = all_scores(em, plan.tr, plan.st, plan.en)
        allowed = score > -np.inf
        ranked = np.sort(score[allowed])[::-1]
        got = per_seq[b]
        if plan.nbest == 1:
            if not allowed.any():
                assert got is None, f"sequence {b}: no allowed path, got {got!r}"
                continue
            assert got is not None, f"sequence {b}: None, but {paths[np.argmax(score)]} is allowed"
            got = [got]
        assert isinstance(got, list), f"sequence {b}: {got!r}"
        idx = [_index(p, plan, em.shape[0], b) for p in got]
        assert len(set(idx)) == len(idx), f"sequence {b}: a path twice in {got!r}"
        rescored = score[idx]
        assert np.all(rescored > -np.inf), f"sequence {b}: a forbidden path in {got!r}"
        if err > 1e-3:
            continue  # huge scores: the order is rounding noise
        assert len(got) == min(plan.nbest, int(allowed.sum())), (
            f"sequence {b}: {len(got)} paths, {int(allowed.sum())} allowed, nbest={plan.nbest}")
        np.testing.assert_allclose(rescored, ranked[:len(got)], rtol=tol["rtol"], atol=atol,
                                   err_msg=f"sequence {b}: {got!r} are not the best paths")


def _index(path: Any, plan: Plan, T: int, b: int) -> int:
    """The index of a returned path in :func:`all_scores`' enumeration (checks its form)."""
    assert isinstance(path, list) and len(path) == T, f"sequence {b}: {path!r}, length {T}"
    if plan.labels is not None:
        assert all(isinstance(x, str) and x in plan.labels for x in path), (
            f"sequence {b}: {path!r} is not a list of labels")
        ids = [plan.labels.index(x) for x in path]
    else:
        assert all(type(x) is int for x in path), f"sequence {b}: {path!r} is not a list of ints"
        ids = path
    N = plan.tr.shape[0]
    assert all(0 <= i < N for i in ids), f"sequence {b}: {path!r} out of range"
    return int(sum(i * N ** (T - 1 - t) for t, i in enumerate(ids)))


def check_case(case: Case) -> None:
    expect, plan = expectation(case)
    out = S.call(decode, case.scores, **case.kwargs)
    if not S.check_outcome(out, expect):
        return
    assert plan is not None
    check_result(case, plan, out.value)


@pytest.mark.parametrize("bad", [False, True], ids=["any", "bad_argument"])
def test_fuzz_decode(fuzz, bad):
    """decode returns the brute-force best allowed paths or a documented error."""

    @given(cases(bad=bad))
    def check(case):
        fuzz.count()
        note(f"layout={case.layout} {case.notes}")
        check_case(case)

    fuzz.run(check)
