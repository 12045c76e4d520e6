"""Property-based fuzzing of the functional API (``fastseq.ops``) against its oracle.

Every case is one call of one of the nine functions on tiny inputs drawn over the three
batch layouts (with 0-size dimensions), every memory layout and container
(:data:`strategies.MEMORY`), many dtypes, special values, and bad arguments (a bad shape,
dtype, ``lengths``, ``tags``, ``k``, ``n_threads`` or ``reduction``). The contract checked:

* where the input justifies an error (a documented ValueError / TypeError), the call raises
  one of them, and its message names the offending argument in backticks;
* otherwise it returns exactly what ``fastseq._reference`` computes (float64: rtol 1e-9;
  float32: conftest's tolerances; both widened by a few ulps of the largest magnitude
  involved; integer outputs exactly; best paths by their scores, so that ties may go
  either way);
* nothing crashes, hangs or raises another exception type, and no output holds NaN.

Besides NaN and +inf, the inputs may not hold finite scores above SCORE_LIMIT / (T + 2)
(the total of a path could overflow to +inf); large negative scores are fine.

Every case runs in this process: a crash ends the session, a hang ends it after
``strategies.HANG_SECONDS`` with every thread's traceback.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import pytest
import strategies as S
from hypothesis import given, note
from hypothesis import strategies as st

import fastseq
from fastseq import _reference as ref

FUNCS = ("log_partition", "forward", "backward", "marginals", "viterbi", "kbest",
         "posterior_decode", "sequence_score", "crf_nll")
TAG_FUNCS = ("sequence_score", "crf_nll")
LAYOUTS = ("single", "padded", "padded_nolengths", "concat")
DTYPES = (np.float64,) * 5 + (np.float32, np.float16, np.longdouble, np.int8, np.int64,
                               np.uint8)
CORRUPTIONS = ("em_1d", "em_4d", "em_0d", "em_N0", "em_dtype", "tr_shape", "tr_dtype",
               "start_shape", "end_dtype", "lengths_negative", "lengths_too_long",
               "lengths_count", "lengths_wrap", "lengths_huge", "lengths_float", "lengths_ndim",
               "lengths_uint64", "lengths_bool", "tags_range", "tags_shape", "tags_float",
               "tags_bool", "scalar")
# k, n_threads, reduction: valid values (numpy ints, huge ones included), then bad ones
K_VALUES = (1, 2, 3, 5, np.int64(3), 10**6)
BAD_K = (0, -1, 10**30, 2.0, True, "3", None, np.array(2))
N_THREADS = (None,) * 4 + (1, 2, -1, np.int32(2), 10**5)
BAD_N_THREADS = (0, -2, 1.5, True, "2", np.float64(2.0))
REDUCTIONS = ("sum", "mean", "none", np.str_("mean"))
BAD_REDUCTIONS = ("SUM", "", None, 5, b"sum", "token_mean")
# Scores above SCORE_LIMIT / (T + 2) are refused: the total of a path of T positions (plus
# start and end) could overflow to +inf. Large negative scores are fine.
SCORE_LIMIT = {np.float64: 1e300, np.float32: 1e30}


@dataclass
class Case:
    """One call: ``fastseq.<fn>(em, tr[, extra], **kwargs)``."""

    fn: str
    layout: str
    em: Any
    tr: Any
    extra: Any = None  # k (kbest) or tags (sequence_score, crf_nll)
    kwargs: Dict[str, Any] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)

    def args(self) -> List[Any]:
        if self.fn == "kbest" or self.fn in TAG_FUNCS:
            return [self.em, self.tr, self.extra]
        return [self.em, self.tr]


# ---------------------------------------------------------------------------------------------
# generation
# ---------------------------------------------------------------------------------------------

@st.composite
def cases(draw, fn: str, bad: bool = False) -> Case:
    """One call of ``fastseq.<fn>`` (``bad``: with one bad argument; else the arguments may
    only be bad by their dtype, values or memory layout, or ``k`` / ``n_threads`` /
    ``reduction``)."""
    layout = draw(st.sampled_from(LAYOUTS))
    N = draw(st.integers(1, 3))
    T = draw(st.integers(0, 4))
    B = 1 if layout == "single" else draw(st.integers(0, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    all32 = draw(st.booleans())

    def dtype():
        return np.float32 if all32 else draw(st.sampled_from(DTYPES))

    def kind():
        return draw(st.sampled_from(("normal",) * 8 + S.VALUE_KINDS))

    if layout == "padded":
        lens = rng.integers(0, T + 1, size=B)
        if B:
            lens[rng.integers(0, B)] = T
    else:
        lens = np.full(B, T)
    if layout == "concat":
        lens = rng.integers(0, T + 1, size=B)
    em_dtype = dtype()
    if layout == "single":
        em = S.fill(rng, (T, N), kind(), em_dtype)
    elif layout == "concat":
        em = S.fill(rng, (int(lens.sum()), N), kind(), em_dtype)
    else:
        em = S.fill(rng, (B, T, N), kind(), em_dtype)
        if np.dtype(em_dtype).kind == "f":  # padding may hold anything: it is never read
            garbage = draw(st.sampled_from((1e30, np.nan, np.inf, -np.inf, 0.0)))
            with np.errstate(over="ignore"):
                for b, n in enumerate(lens):
                    em[b, n:] = garbage
    tr = S.fill(rng, (N, N), kind(), dtype())
    kwargs: Dict[str, Any] = {
        "start": S.fill(rng, (N,), kind(), dtype()) if draw(st.booleans()) else None,
        "end": S.fill(rng, (N,), kind(), dtype()) if draw(st.booleans()) else None,
        "lengths": lens.astype(np.int64) if layout in ("padded", "concat") else None,
        "n_threads": draw(st.sampled_from(N_THREADS)),
    }
    extra: Any = None
    if fn == "kbest":
        extra = draw(st.one_of(st.integers(1, 6), st.sampled_from(K_VALUES)))
        if S.is_int(extra) and extra >= 10**6 and em.size > 12:
            extra = 7  # a million paths only on the tiniest inputs (it costs memory)
    if fn in TAG_FUNCS:
        tag_dtype = draw(st.sampled_from((np.int64, np.int64, np.int32, np.uint8)))
        pad_tag = 255 if tag_dtype == np.uint8 else draw(st.sampled_from((-1, 10**6)))
        tags = rng.integers(0, N, size=em.shape[:-1])
        if layout == "padded":
            for b, n in enumerate(lens):
                tags[b, n:] = pad_tag
        extra = tags.astype(tag_dtype)
    if fn == "crf_nll":
        kwargs["reduction"] = draw(st.sampled_from(REDUCTIONS))
    if fn == "marginals":
        kwargs["pairwise"] = draw(st.booleans())
    case = Case(fn, layout, em, tr, extra, kwargs)

    corruption = draw(st.sampled_from(CORRUPTIONS)) if bad else None
    if corruption is not None:
        _corrupt(case, corruption, rng, draw)
        case.notes.append(f"corruption: {corruption}")
    # every array argument in some memory layout / container
    for slot in ("em", "tr", "start", "end", "lengths", "extra"):
        value = getattr(case, slot) if slot in ("em", "tr", "extra") else case.kwargs[slot]
        if not isinstance(value, np.ndarray):
            continue
        how = draw(st.sampled_from(("C",) * 8 + S.MEMORY))
        value = S.relayout(value, how)
        case.notes.append(f"{slot}: {how}")
        if slot in ("em", "tr", "extra"):
            setattr(case, slot, value)
        else:
            case.kwargs[slot] = value
    return case


def _corrupt(case: Case, what: str, rng: np.random.Generator, draw) -> None:
    """Make one argument of a valid case bad (some changes are no-ops on some cases)."""
    em, kw = np.asarray(case.em), case.kwargs
    N = em.shape[-1]
    lens: Optional[np.ndarray] = kw["lengths"]
    bad_dtype = draw(st.sampled_from(S.BAD_DTYPES))
    if what == "em_1d":
        case.em = em.reshape(-1)
    elif what == "em_4d":
        case.em = em.reshape((1,) * (4 - em.ndim) + em.shape)
    elif what == "em_0d":
        case.em = em.reshape(-1)[0] if em.size else np.float64(1.0)
    elif what == "em_N0":
        case.em = em[..., :0]
    elif what == "em_dtype":
        case.em = em.astype(bad_dtype)
    elif what == "tr_shape":
        options = [case.tr[:, :-1], np.zeros((N + 1, N + 1)), case.tr.reshape(-1),
                   case.tr[None]]
        case.tr = options[int(rng.integers(0, len(options)))]
    elif what == "tr_dtype":
        case.tr = case.tr.astype(bad_dtype)
    elif what == "start_shape":
        kw["start"] = [np.zeros(N + 1), np.zeros((1, N)), np.float64(0.0)][int(rng.integers(0,
                                                                                           3))]
    elif what == "end_dtype":
        kw["end"] = np.zeros(N).astype(bad_dtype)
    elif what == "scalar":  # a bad k (kbest), reduction (crf_nll) or n_threads
        if case.fn == "kbest" and draw(st.booleans()):
            case.extra = draw(st.sampled_from(BAD_K))
        elif case.fn == "crf_nll" and draw(st.booleans()):
            kw["reduction"] = draw(st.sampled_from(BAD_REDUCTIONS))
        else:
            kw["n_threads"] = draw(st.sampled_from(BAD_N_THREADS))
    elif what.startswith("lengths"):
        _corrupt_lengths(case, what, rng, lens)
    elif case.fn in TAG_FUNCS:
        tags = np.asarray(case.extra).astype(np.int64)
        if what == "tags_range" and tags.size:
            # a position inside some sequence (padding garbage is ignored)
            if case.layout == "padded":
                inside = np.arange(em.shape[1])[None, :] < np.asarray(lens)[:, None]
                where = np.argwhere(inside)
            else:
                where = np.argwhere(np.ones(tags.shape, bool))
            if len(where):
                tags[tuple(where[int(rng.integers(0, len(where)))])] = draw(
                    st.sampled_from((-1, N, 2**40, -(2**63))))
            case.extra = tags
        elif what == "tags_shape":
            case.extra = tags[..., :-1] if tags.ndim and tags.shape[-1] else tags[None]
        elif what == "tags_float":
            case.extra = tags.astype(np.float64)
        elif what == "tags_bool":
            case.extra = tags > 0


def _corrupt_lengths(case: Case, what: str, rng: np.random.Generator,
                     lens: Optional[np.ndarray]) -> None:
    kw = case.kwargs
    em = np.asarray(case.em)
    L = em.shape[0] if em.ndim == 2 else None
    if lens is None:  # a single sequence / full padded batch: give it lengths
        lens = np.array([em.shape[0]] if em.ndim == 2 else [em.shape[1]] * em.shape[0])
    lens = np.asarray(lens, dtype=np.int64).copy()
    if what == "lengths_negative":
        if lens.size:
            lens[int(rng.integers(0, lens.size))] = rng.choice([-1, -(2**63)])
        else:
            lens = np.array([-1])
    elif what == "lengths_too_long":
        if lens.size:
            lens[int(rng.integers(0, lens.size))] += 1
        else:
            lens = np.array([1])
    elif what == "lengths_count":
        lens = lens[:-1] if lens.size else np.array([0])
    elif what == "lengths_wrap":
        # int64 sum 2 * (2**63 - 1) + (L + 2) wraps around to exactly L
        lens = np.array([2**63 - 1, 2**63 - 1, (L if L is not None else 0) + 2], np.int64)
    elif what == "lengths_huge":
        lens = np.array([2**63 - 1] * max(1, lens.size), np.int64)
    elif what == "lengths_float":
        kw["lengths"] = lens.astype(np.float64) if lens.size else np.array([1.5])
        return
    elif what == "lengths_ndim":
        kw["lengths"] = lens[None] if rng.random() < 0.5 else np.int64(lens.sum())
        return
    elif what == "lengths_uint64":
        lens = np.array([2**64 - 1] + [0] * max(0, lens.size - 1), dtype=np.uint64)
    elif what == "lengths_bool":
        kw["lengths"] = lens > 0
        return
    kw["lengths"] = lens


# ---------------------------------------------------------------------------------------------
# the contract: which errors an input justifies
# ---------------------------------------------------------------------------------------------

@dataclass
class Layout:
    """The validated batch layout: ``kind`` single / padded / concat, ``T`` (padded: axis 1;
    concat: L rows), per-sequence lengths and the rows of each sequence."""

    kind: str
    T: int
    lengths: List[int]

    @property
    def T_path(self) -> int:
        """The most positions a path has (padded: axis 1 of ``emissions``)."""
        if self.kind == "concat":
            return max(self.lengths, default=0)
        return self.T

    def rows(self, b: int) -> slice:
        if self.kind == "concat":
            off = sum(self.lengths[:b])
            return slice(off, off + self.lengths[b])
        return slice(0, self.lengths[b])

    def seq(self, a: np.ndarray, b: int) -> np.ndarray:
        """Sequence ``b``'s rows of a per-position array laid out like ``emissions``."""
        return a[b, self.rows(b)] if self.kind == "padded" else a[self.rows(b)]

    def padding(self, a: np.ndarray, b: int) -> np.ndarray:
        """The padding past sequence ``b``'s end (padded layout; empty otherwise)."""
        return a[b, self.lengths[b]:] if self.kind == "padded" else a[:0]


def expectation(case: Case) -> Tuple[S.Expect, Optional[Layout]]:
    """The errors the documented contract says ``case`` justifies, and its layout (None if
    the emissions or lengths themselves are wrong)."""
    ex = S.Expect()
    kw = case.kwargs
    if case.fn == "kbest":
        k = case.extra
        if not S.is_int(k):
            ex.error(TypeError, "k")
        elif k < 1:
            ex.error(ValueError, "k")
        elif k > 2**40:  # (k, T) outputs cannot exist
            ex.error(ValueError, "k")
        elif k > 4096:
            ex.maybe(ValueError, "k")  # a documented cap would be fine too
    nt = kw.get("n_threads")
    if nt is not None:
        if not S.is_int(nt):
            ex.error(TypeError, "n_threads")
        elif nt == 0 or nt < -1:
            ex.error(ValueError, "n_threads")
    if case.fn == "crf_nll":
        red = kw["reduction"]
        if not (isinstance(red, str) and red in ("sum", "mean", "none")):
            ex.error(ValueError, "reduction")

    arrays: Dict[str, np.ndarray] = {}
    for name, x in (("emissions", case.em), ("transitions", case.tr),
                    ("start", kw.get("start")), ("end", kw.get("end"))):
        a = S.seen(x)
        if a is None:
            continue
        if a.dtype.kind not in "fiu":
            ex.error(TypeError, name)
        else:
            arrays[name] = a
    em = arrays.get("emissions")
    if em is None:
        return ex, None
    if em.ndim not in (2, 3) or em.shape[-1] < 1:
        ex.error(ValueError, "emissions")
        return ex, None
    N = em.shape[-1]
    for name, shape in (("transitions", (N, N)), ("start", (N,)), ("end", (N,))):
        if name in arrays and arrays[name].shape != shape:
            ex.error(ValueError, name)
    layout = _layout(em, kw.get("lengths"), ex)
    if layout is None:
        return ex, None
    # NaN / +inf, as the computation dtype holds them; padding is never read
    cdt = (np.float32 if all(a.dtype.type is np.float32 for a in arrays.values()) else np.float64)
    for name, a in arrays.items():
        with np.errstate(over="ignore", invalid="ignore"):
            v = a.astype(cdt)
        if name == "emissions" and layout.kind == "padded":
            v = np.concatenate([layout.seq(v, b) for b in range(len(layout.lengths))]
                               + [v.reshape(-1, N)[:0]])
        if np.isnan(v).any() or np.isposinf(v).any():
            ex.error(ValueError, name)
        elif v.size and v.max() > SCORE_LIMIT[cdt] / (layout.T_path + 2):
            ex.error(ValueError, name)  # a path's total could overflow to +inf
    if case.fn in TAG_FUNCS:
        _tags_expectation(S.seen(case.extra), layout, N, ex)
    return ex, layout


def _layout(em: np.ndarray, lengths: Any, ex: S.Expect) -> Optional[Layout]:
    if em.ndim == 2 and lengths is None:
        return Layout("single", em.shape[0], [em.shape[0]])
    vals: List[int] = []
    if lengths is not None:
        a = S.seen(lengths)
        if a.ndim != 1:
            ex.error(ValueError, "lengths")
            return None
        if a.size and a.dtype.kind not in "iu":
            ex.error((ValueError, TypeError), "lengths")
            return None
        vals = S.int_list(a)
    if em.ndim == 3:
        B, T = em.shape[:2]
        if lengths is None:
            return Layout("padded", T, [T] * B)
        if len(vals) != B or any(v < 0 or v > T for v in vals):
            ex.error(ValueError, "lengths")
            return None
        return Layout("padded", T, vals)
    if any(v < 0 for v in vals) or sum(vals) != em.shape[0]:
        ex.error(ValueError, "lengths")
        return None
    return Layout("concat", em.shape[0], vals)


def _tags_expectation(tags: np.ndarray, layout: Layout, N: int, ex: S.Expect) -> None:
    if tags.dtype.kind not in "iu" and not (tags.size == 0 and tags.dtype.kind == "f"):
        ex.error(TypeError, "tags")
        return
    B = len(layout.lengths)
    want = (B, layout.T) if layout.kind == "padded" else (layout.T,)
    if tags.shape != want:
        ex.error(ValueError, "tags")
        return
    for b in range(B):
        if any(v < 0 or v >= N for v in S.int_list(layout.seq(tags, b))):
            ex.error(ValueError, "tags")
            return


# ---------------------------------------------------------------------------------------------
# the oracle comparison
# ---------------------------------------------------------------------------------------------

def oracle_arg(x: Any) -> Any:
    """An argument as the oracle gets it: a numpy copy with the same dtype."""
    return None if x is None else np.array(S.seen(x))


def _magnitude(parts: List[Tuple[Optional[np.ndarray], int]], cap: float) -> float:
    """``sum(times * max |finite entry|)`` over ``(array, times)`` parts, entries above ``cap``
    left out."""
    total = 0.0
    for a, times in parts:
        if a is not None and a.size:
            v = np.abs(a[np.isfinite(a)])
            v = v[v <= cap]
            total += times * (float(v.max()) if v.size else 0.0)
    return min(total, 1e300)


class Checker:
    """Compares one returned result with the oracle's."""

    def __init__(self, case: Case, layout: Layout) -> None:
        self.case, self.layout = case, layout
        kw = case.kwargs
        self.em = oracle_arg(case.em)
        self.tr = oracle_arg(case.tr)
        self.start, self.end = oracle_arg(kw.get("start")), oracle_arg(kw.get("end"))
        floats = [a for a in (self.em, self.tr, self.start, self.end) if a is not None]
        self.dtype = np.dtype(np.float32 if all(a.dtype.type is np.float32 for a in floats)
                              else np.float64)
        self.tol = S.tol_for(self.dtype)
        f64 = lambda a: None if a is None else a.astype(np.float64)  # noqa: E731
        with np.errstate(over="ignore", invalid="ignore"):
            self.em64, self.tr64 = f64(self.em), f64(self.tr)
            self.st64, self.en64 = f64(self.start), f64(self.end)
        # Rounding errors scale with the magnitudes a path score sums up. Log-domain outputs
        # (sums and logsumexps) are off by a few ulps of the terms that matter: moderate ones
        # here, huge ones are covered by rtol. Probabilities are exps of differences of such
        # sums: with huge scores anywhere they are rounding noise.
        T = max(max(layout.lengths, default=0), 1)
        parts = [(np.concatenate([s.reshape(-1) for s in self.seqs()] + [[]]), T),
                 (self.tr64, T), (self.st64, 1), (self.en64, 1)]
        eps = S.ULPS * float(np.finfo(self.dtype).eps)
        self.err_log = eps * (1.0 + _magnitude(parts, 1e15))
        self.err = eps * (1.0 + _magnitude(parts, np.inf))

    # -- the oracle ------------------------------------------------------------------------
    def reference(self) -> Tuple[Any, bool]:
        """The oracle's result, and whether it is defined (float64 overflow to +inf makes
        it NaN: no answer to compare with)."""
        case, kw = self.case, self.case.kwargs
        args: List[Any] = [self.em, self.tr]
        if case.fn == "kbest":
            n_paths = max(1, (self.em.shape[-1] ** max(self.layout.lengths, default=0)))
            args.append(min(int(case.extra), n_paths + 1))
        elif case.fn in TAG_FUNCS:
            args.append(oracle_arg(case.extra))
        rkw = {k: (oracle_arg(v) if k in ("start", "end", "lengths") else v)
               for k, v in kw.items() if k != "n_threads"}
        try:
            with np.errstate(invalid="raise", over="ignore", divide="ignore",
                             under="ignore"):
                return getattr(ref, case.fn)(*args, **rkw), True
        except FloatingPointError:
            return None, False

    # -- comparisons -------------------------------------------------------------------------
    def same_kind(self, name: str, a: Any, e: Any) -> None:
        if isinstance(e, float):
            assert isinstance(a, float), f"{name}: {type(a).__name__} instead of a float"
            return
        assert isinstance(a, np.ndarray), f"{name}: {type(a).__name__} instead of an array"
        assert a.shape == e.shape, f"{name}: shape {a.shape}, expected {e.shape}"
        assert a.dtype == e.dtype, f"{name}: dtype {a.dtype}, expected {e.dtype}"

    def close(self, name: str, a: Any, e: Any, prob: bool = False, weight: float = 1.0) -> None:
        """``a`` equals ``e``: the same infinities, finite parts within tolerance.
        ``prob``: a probability-like output (exp of a difference of log scores), compared
        only while the rounding of those scores is small."""
        self.same_kind(name, a, e)
        a64 = np.asarray(a, dtype=np.float64)
        e64 = np.asarray(e, dtype=np.float64)
        assert not np.isnan(a64).any(), f"{name} holds NaN: {a64!r} (expected {e64!r})"
        if prob and self.err > 1e-3:
            return  # magnitudes so large that the marginals are rounding noise
        inf_a, inf_e = np.isinf(a64), np.isinf(e64)
        assert np.array_equal(inf_a, inf_e) and np.array_equal(a64[inf_a], e64[inf_e]), (
            f"{name}: infinities differ: {a64!r}, expected {e64!r}")
        atol = self.tol["atol"] + (self.err * weight if prob else self.err_log)
        fin = ~inf_e
        np.testing.assert_allclose(a64[fin], e64[fin], rtol=self.tol["rtol"], atol=atol,
                                   err_msg=f"{name} (expected {e64!r}, got {a64!r})")

    def seqs(self) -> List[np.ndarray]:
        return [self.layout.seq(self.em64, b) for b in range(len(self.layout.lengths))]

    def rescore(self, em_b: np.ndarray, path: np.ndarray) -> float:
        """The oracle's score of one path of one sequence."""
        return float(ref.sequence_score(em_b, self.tr64, path.astype(np.int64),
                                        start=self.st64, end=self.en64))

    def check_best(self, name: str, em_b: np.ndarray, path: np.ndarray, score: float,
                   best: float) -> None:
        """``path`` with its reported ``score`` is a best path whose true score is ``best``
        (ties may go to any of the tied paths)."""
        if best == -np.inf:
            assert np.all(path == -1) and score == -np.inf, (
                f"{name}: no allowed path, got {path.tolist()} with score {score}")
            return
        assert path.shape == (em_b.shape[0],) and np.all((path >= 0) & (path < em_b.shape[1])), (
            f"{name}: {path.tolist()} is not a path over {em_b.shape[1]} states")
        self.close(f"{name} score", np.float64(score), np.float64(best))
        self.close(f"{name} rescored", np.float64(self.rescore(em_b, path)), np.float64(best))

    # -- per function ---------------------------------------------------------------------
    def check(self, out: Any, expected: Any) -> None:
        fn = self.case.fn
        if fn == "log_partition":
            self.close("log_Z", out, expected)
        elif fn == "forward":
            self.close("log_alpha", out[0], expected[0])
            self.close("log_Z", out[1], expected[1])
        elif fn == "backward":
            self.close("log_beta", out, expected)
        elif fn == "marginals":
            T = max(self.layout.T, 1)
            self.close("node", out.node, expected.node, prob=True)
            if expected.pair is None:
                assert out.pair is None, "pair returned without pairwise"
            else:
                self.close("pair", out.pair, expected.pair, prob=True, weight=T)
            self.close("log_Z", out.log_Z, expected.log_Z)
        elif fn == "viterbi":
            self.check_viterbi(out, expected)
        elif fn == "kbest":
            self.check_kbest(out, expected)
        elif fn == "posterior_decode":
            self.check_posterior(out, expected)
        elif fn == "sequence_score":
            self.close("score", out, expected)
        elif fn == "crf_nll":
            T = max(self.layout.T, 1) * max(len(self.layout.lengths), 1)
            self.close("nll", out[0], expected[0])
            for name in ("emissions", "transitions", "start", "end"):
                self.close(f"grad.{name}", getattr(out[1], name), getattr(expected[1], name),
                           prob=True, weight=T)

    def check_viterbi(self, out: Any, expected: Any) -> None:
        paths, scores = out
        self.same_kind("paths", paths, expected[0])
        self.close("scores", scores, expected[1])
        best = np.atleast_1d(np.asarray(expected[1], dtype=np.float64))
        got = np.atleast_1d(np.asarray(scores, dtype=np.float64))
        for b, em_b in enumerate(self.seqs()):
            assert np.all(self.layout.padding(paths, b) == -1), "paths: padding is not -1"
            self.check_best(f"paths[{b}]", em_b, self.layout.seq(paths, b), got[b], best[b])

    def check_kbest(self, out: Any, expected: Any) -> None:
        paths, scores = out
        k = int(self.case.extra)
        e_scores = expected[1]
        k_ref = e_scores.shape[-1]
        lay = self.layout
        B = len(lay.lengths)
        want = {"single": (k, lay.T), "padded": (B, k, lay.T), "concat": (k, lay.T)}[lay.kind]
        assert isinstance(paths, np.ndarray) and paths.shape == want and paths.dtype == np.int64, (
            f"kbest paths: {getattr(paths, 'shape', paths)!r}, expected shape {want}")
        want_s = (k,) if lay.kind == "single" else (B, k)
        assert scores.shape == want_s and scores.dtype == self.dtype, (
            f"kbest scores: shape {scores.shape} dtype {scores.dtype}")
        s2 = scores.reshape(B, k)
        # the oracle ran with fewer ranks than there are paths + 1: the rest is missing
        assert np.all(s2[:, k_ref:] == -np.inf), "kbest: more paths than exist"
        self.close("kbest scores", s2[:, :k_ref].copy(), e_scores.reshape(B, k_ref))
        e_rows = e_scores.reshape(B, k_ref).astype(np.float64)
        for b, em_b in enumerate(self.seqs()):
            if lay.kind == "padded":
                pb = paths[b]
                assert np.all(pb[:, lay.lengths[b]:] == -1), "kbest: padding is not -1"
                pb = pb[:, :lay.lengths[b]]
            elif lay.kind == "concat":
                pb = paths[:, lay.rows(b)]
            else:
                pb = paths
            assert np.all(pb[k_ref:] == -1), "kbest: missing paths are not -1"
            seen_paths = set()
            for r in range(k_ref):
                self.check_best(f"kbest[{b}][{r}]", em_b, pb[r], float(s2[b, r]),
                                float(e_rows[b, r]))
                if e_rows[b, r] > -np.inf:
                    key = tuple(pb[r].tolist())
                    assert key not in seen_paths, f"kbest[{b}]: path {key} twice"
                    seen_paths.add(key)

    def check_posterior(self, out: Any, expected: Any) -> None:
        paths, conf = out
        self.same_kind("paths", paths, expected[0])
        self.close("confidences", conf, expected[1], prob=True)
        with np.errstate(over="ignore", divide="ignore"):
            node = ref.marginals(self.em, self.tr, start=self.start, end=self.end,
                                 lengths=oracle_arg(self.case.kwargs.get("lengths"))).node
        e_paths = expected[0]
        none = e_paths == -1  # padding, or no allowed path
        assert np.array_equal(paths == -1, none), f"paths: -1 at {paths}, expected {e_paths}"
        if self.err > 1e-3:
            return
        node = np.asarray(node, dtype=np.float64)
        chosen = np.take_along_axis(node, np.where(none, 0, paths)[..., None], -1)[..., 0]
        gap = np.where(none, 0.0, node.max(axis=-1) - chosen)
        assert np.all(gap <= self.tol["atol"] + self.err), (
            f"paths: {paths} are not the most probable states of {node}")


# ---------------------------------------------------------------------------------------------
# the fuzz test
# ---------------------------------------------------------------------------------------------

def check_case(case: Case) -> None:
    expect, layout = expectation(case)
    out = S.call(getattr(fastseq, case.fn), *case.args(), **case.kwargs)
    if not S.check_outcome(out, expect):
        return
    assert layout is not None, f"returned for an input without a layout: {expect}"
    checker = Checker(case, layout)
    expected, defined = checker.reference()
    if not defined:  # float64 overflow: no oracle, but never NaN
        for leaf in _leaves(out.value):
            assert not np.isnan(np.asarray(leaf, dtype=np.float64)).any(), (
                f"NaN in the result of an overflowing input: {out.value!r}")
        return
    checker.check(out.value, expected)


def _leaves(x: Any) -> List[Any]:
    if isinstance(x, tuple):
        return [leaf for item in x if item is not None for leaf in _leaves(item)]
    return [x] if isinstance(x, (float, np.ndarray)) and np.asarray(x).dtype.kind == "f" else []


@pytest.mark.parametrize("bad", [False, True], ids=["any", "bad_argument"])
@pytest.mark.parametrize("fn", FUNCS)
def test_fuzz_ops(fuzz, fn, bad):
    """Every generated call returns the oracle's answer or a documented error (``bad``:
    every case has one bad argument)."""

    @given(cases(fn, bad=bad))
    def check(case):
        fuzz.count()
        note(f"{case.fn} layout={case.layout} {case.notes}")
        check_case(case)

    fuzz.run(check)


@pytest.mark.parametrize("fn", FUNCS)
def test_checker_catches_a_wrong_answer(fn, monkeypatch):
    """The comparison is not vacuous: a result off by a little fails it."""
    rng = np.random.default_rng(1)
    em, tr = rng.normal(size=(2, 3, 3)), rng.normal(size=(3, 3))
    tags = rng.integers(0, 3, size=(2, 3))
    extra = {"kbest": 2, "sequence_score": tags, "crf_nll": tags}.get(fn)
    case = Case(fn, "padded", em, tr, extra, {"lengths": np.array([3, 2]), "start": None,
                                              "end": None, "n_threads": None})
    if fn == "crf_nll":
        case.kwargs["reduction"] = "sum"
    check_case(case)  # the genuine result passes
    real = getattr(fastseq, fn)

    def off(*args, **kwargs):
        out = real(*args, **kwargs)
        if fn in ("viterbi", "kbest", "posterior_decode"):
            paths = np.where(out[0] >= 0, (out[0] + 1) % 3, -1)  # other paths
            return (paths, out[1])
        if fn == "marginals":
            return out._replace(node=out.node + 1e-3)
        if fn == "forward":
            return (out[0], out[1] + 1e-6)
        if fn == "crf_nll":
            return (out[0] + 1e-6, out[1])
        return out + 1e-6

    monkeypatch.setattr(fastseq, fn, off)
    with pytest.raises(AssertionError):
        check_case(case)
