"""Input validation of ``fastseq.ops`` (notes/api-contract.md, "Errors").

Every bad input raises ValueError or TypeError -- before any kernel runs -- with a message
that names the offending argument in backticks. Nothing crashes.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

FUNCS = ["log_partition", "forward", "backward", "marginals", "viterbi", "kbest",
         "posterior_decode", "sequence_score", "crf_nll"]
TAG_FUNCS = ["sequence_score", "crf_nll"]
N = 3


def call(ops, name, em, A, *, tags=None, k=2, **kw):
    fn = getattr(ops, name)
    if name == "kbest":
        return fn(em, A, k, **kw)
    if name in TAG_FUNCS:
        return fn(em, A, tags, **kw)
    if name == "marginals":
        return fn(em, A, pairwise=True, **kw)
    return fn(em, A, **kw)


def base(layout):
    """Valid inputs: dict(em, A, start, end, lengths, tags)."""
    rng = np.random.default_rng(0)
    A = rng.normal(size=(N, N))
    s, e = rng.normal(size=N), rng.normal(size=N)
    if layout == "single":
        em, lengths = rng.normal(size=(5, N)), None
        tags = np.array([0, 1, 2, 1, 0])
    elif layout == "padded":
        em, lengths = rng.normal(size=(3, 5, N)), np.array([5, 2, 0])
        tags = np.array([[0, 1, 2, 1, 0], [2, 2, -1, -1, -1], [-1] * 5])
    else:
        em, lengths = rng.normal(size=(7, N)), np.array([5, 2, 0])
        tags = np.array([0, 1, 2, 1, 0, 2, 2])
    return dict(em=em, A=A, start=s, end=e, lengths=lengths, tags=tags)


def run(ops, name, d, **override):
    d = dict(d, **override)
    kw = dict(start=d["start"], end=d["end"], lengths=d["lengths"])
    kw.update({k: v for k, v in override.items() if k in ("n_threads", "reduction")})
    extra = {"k": override["k"]} if "k" in override else {}
    return call(ops, name, d["em"], d["A"], tags=d["tags"], **kw, **extra)


LAYOUTS = ["single", "padded", "concat"]
func_p = pytest.mark.parametrize("name", FUNCS)
layout_p = pytest.mark.parametrize("layout", LAYOUTS)


@func_p
@layout_p
def test_valid_base_inputs_pass(ops, name, layout):
    """The base inputs used below are valid (so each failure is due to the one change)."""
    d = base(layout)
    run(ops, name, d)
    run(ops, name, d, n_threads=np.int32(2))
    if name == "kbest":
        run(ops, name, d, k=np.int64(3))
    # -inf is allowed anywhere
    d2 = dict(d, em=np.where(d["em"] > 1, -np.inf, d["em"]),
              A=np.where(d["A"] > 1, -np.inf, d["A"]))
    run(ops, name, d2)


# --------------------------------------------------------------------------------------
# NaN / +inf
# --------------------------------------------------------------------------------------


def _poison(arr, value, index=0):
    arr = np.array(arr, dtype=np.float64)
    arr.flat[index] = value
    return arr


@func_p
@layout_p
@pytest.mark.parametrize("value", [np.nan, np.inf], ids=["nan", "posinf"])
@pytest.mark.parametrize("arg", ["em", "A", "start", "end"])
def test_nan_and_posinf_rejected(ops, name, layout, value, arg):
    d = base(layout)
    argname = {"em": "emissions", "A": "transitions"}.get(arg, arg)
    bad = _poison(d[arg], value, index=d[arg].size // 2 if arg != "em" else 1)
    with pytest.raises(ValueError, match=rf"`{argname}`"):
        run(ops, name, d, **{arg: bad})


@func_p
def test_nan_in_float32_emissions_rejected(ops, name):
    d = base("padded")
    em = d["em"].astype(np.float32)
    em[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"`emissions`"):
        run(ops, name, d, em=em, A=d["A"].astype(np.float32), start=None, end=None)


# --------------------------------------------------------------------------------------
# shapes
# --------------------------------------------------------------------------------------


BAD_EMISSIONS = {
    "0d": np.float64(1.0),
    "1d": np.zeros(N),
    "4d": np.zeros((2, 2, 2, N)),
    "wrong_N": np.zeros((5, N + 1)),
}


@func_p
@pytest.mark.parametrize("case", list(BAD_EMISSIONS))
def test_bad_emissions_shape(ops, name, case):
    d = base("single")
    em = BAD_EMISSIONS[case]
    tags = np.zeros(em.shape[:-1] if np.ndim(em) >= 2 else (5,), np.int64)
    with pytest.raises(ValueError, match=r"`emissions`|`transitions`"):
        run(ops, name, d, em=em, tags=tags)


BAD_TRANSITIONS = {
    "1d": np.zeros(N),
    "3d": np.zeros((N, N, 1)),
    "non_square": np.zeros((N, N + 1)),
    "non_square2": np.zeros((N + 1, N)),
    "mismatched_N": np.zeros((N + 1, N + 1)),
    "0d": np.float64(0.0),
}


@func_p
@layout_p
@pytest.mark.parametrize("case", list(BAD_TRANSITIONS))
def test_bad_transitions_shape(ops, name, layout, case):
    with pytest.raises(ValueError, match=r"`transitions`"):
        run(ops, name, base(layout), A=BAD_TRANSITIONS[case])


BAD_VEC = {
    "too_long": np.zeros(N + 1),
    "too_short": np.zeros(N - 1),
    "2d": np.zeros((1, N)),
    "0d": np.float64(0.0),
}


@func_p
@pytest.mark.parametrize("arg", ["start", "end"])
@pytest.mark.parametrize("case", list(BAD_VEC))
def test_bad_start_end_shape(ops, name, arg, case):
    with pytest.raises(ValueError, match=rf"`{arg}`"):
        run(ops, name, base("padded"), **{arg: BAD_VEC[case]})


# --------------------------------------------------------------------------------------
# lengths
# --------------------------------------------------------------------------------------


BAD_LENGTHS = {
    # (layout, lengths)
    "negative_padded": ("padded", np.array([5, -1, 0])),
    "negative_concat": ("concat", np.array([8, -1, 0])),
    "longer_than_T": ("padded", np.array([6, 2, 0])),
    "wrong_B_padded": ("padded", np.array([5, 2])),
    "sum_too_small": ("concat", np.array([5, 1, 0])),
    "sum_too_large": ("concat", np.array([5, 2, 1])),
    "2d_padded": ("padded", np.array([[5, 2, 0]])),
    "2d_concat": ("concat", np.array([[5], [2], [0]])),
    "0d": ("concat", np.array(7)),
    "float": ("concat", np.array([5.0, 2.0, 0.0])),
    "float_padded": ("padded", np.array([5.0, 2.0, 0.0])),
    "float_list": ("concat", [5.0, 2.0, 0.0]),
    "complex": ("concat", np.array([5, 2, 0], dtype=complex)),
    "str": ("concat", np.array(["5", "2", "0"])),
}


@func_p
@pytest.mark.parametrize("case", list(BAD_LENGTHS))
def test_bad_lengths(ops, name, case):
    layout, lengths = BAD_LENGTHS[case]
    with pytest.raises(ValueError, match=r"`lengths`"):
        run(ops, name, base(layout), lengths=lengths)


@func_p
def test_lengths_message_is_informative(ops, name):
    with pytest.raises(ValueError, match=r"`lengths`.*7|7.*`lengths`"):
        run(ops, name, base("concat"), lengths=np.array([5, 1, 0]))


# --------------------------------------------------------------------------------------
# tags
# --------------------------------------------------------------------------------------


BAD_TAGS = {
    # (layout, tags, exception)
    "too_large_single": ("single", np.array([0, 1, 3, 1, 0]), ValueError),
    "negative_single": ("single", np.array([0, -1, 2, 1, 0]), ValueError),
    "too_large_padded": ("padded", np.array([[0, 1, 2, 1, 0], [2, N, 0, 0, 0], [0] * 5]),
                         ValueError),
    "negative_padded": ("padded", np.array([[0, 1, 2, 1, -1], [2, 2, 0, 0, 0], [0] * 5]),
                        ValueError),
    "too_large_concat": ("concat", np.array([0, 1, 2, 1, 0, 2, 7]), ValueError),
    "wrong_length_single": ("single", np.array([0, 1, 2, 1]), ValueError),
    "2d_single": ("single", np.zeros((1, 5), np.int64), ValueError),
    "wrong_T_padded": ("padded", np.zeros((3, 4), np.int64), ValueError),
    "wrong_B_padded": ("padded", np.zeros((2, 5), np.int64), ValueError),
    "1d_padded": ("padded", np.zeros(15, np.int64), ValueError),
    "wrong_L_concat": ("concat", np.zeros(6, np.int64), ValueError),
    "str": ("single", np.array(["a"] * 5), (TypeError, ValueError)),
    "float": ("single", np.array([0.5, 1.0, 2.0, 1.0, 0.0]), (TypeError, ValueError)),
    "complex": ("single", np.zeros(5, complex), (TypeError, ValueError)),
}


@pytest.mark.parametrize("name", TAG_FUNCS)
@pytest.mark.parametrize("case", list(BAD_TAGS))
def test_bad_tags(ops, name, case):
    layout, tags, exc = BAD_TAGS[case]
    with pytest.raises(exc, match=r"`tags`"):
        run(ops, name, base(layout), tags=tags)


# --------------------------------------------------------------------------------------
# k, n_threads, reduction
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("k,exc", [(0, ValueError), (-1, ValueError), (2.5, TypeError),
                                   (2.0, TypeError), ("3", TypeError), (None, TypeError),
                                   (np.array([2, 3]), TypeError)],
                         ids=["0", "-1", "2.5", "2.0", "str", "None", "array"])
@layout_p
def test_bad_k(ops, layout, k, exc):
    with pytest.raises(exc, match=r"`k`"):
        run(ops, "kbest", base(layout), k=k)


@func_p
@pytest.mark.parametrize("n_threads,exc", [(0, ValueError), (-2, ValueError),
                                           (-100, ValueError), (1.5, TypeError),
                                           (2.0, TypeError), ("2", TypeError)],
                         ids=["0", "-2", "-100", "1.5", "2.0", "str"])
def test_bad_n_threads(ops, name, n_threads, exc):
    with pytest.raises(exc, match=r"`n_threads`"):
        run(ops, name, base("padded"), n_threads=n_threads)


@pytest.mark.parametrize("reduction", ["avg", "SUM", "", "elementwise"])
def test_bad_reduction(ops, reduction):
    with pytest.raises(ValueError, match=r"`reduction`"):
        run(ops, "crf_nll", base("padded"), reduction=reduction)


# --------------------------------------------------------------------------------------
# non-numeric input
# --------------------------------------------------------------------------------------


def _as(arr, kind):
    arr = np.asarray(arr)
    if kind == "str":
        return arr.astype(str)
    if kind == "object":
        return arr.astype(object)
    if kind == "complex":
        return arr.astype(np.complex128)
    if kind == "bool":
        return arr > 0
    raise ValueError(kind)


@func_p
@pytest.mark.parametrize("kind", ["str", "object", "complex", "bool"])
@pytest.mark.parametrize("arg", ["em", "A", "start", "end"])
def test_non_numeric_rejected(ops, name, kind, arg):
    d = base("padded")
    argname = {"em": "emissions", "A": "transitions"}.get(arg, arg)
    with pytest.raises(TypeError, match=rf"`{argname}`"):
        run(ops, name, d, **{arg: _as(d[arg], kind)})


@func_p
def test_non_numeric_python_objects(ops, name):
    d = base("single")
    with pytest.raises(TypeError, match=r"`emissions`"):
        run(ops, name, d, em=[["a", "b", "c"]] * 5)
    with pytest.raises((TypeError, ValueError), match=r"`transitions`"):
        run(ops, name, d, A={"not": "an array"})


# --------------------------------------------------------------------------------------
# nothing crashes
# --------------------------------------------------------------------------------------


def _malformed_values():
    rng = np.random.default_rng(1)
    return [
        None, 3, "x", [], [[]], np.zeros(0), np.zeros((0, 0)), np.zeros((2, 0)),
        np.zeros((0, 2, 0)), np.full((2, N), np.nan), rng.normal(size=(2, 2, N)),
        rng.normal(size=(4, N)).T, np.array([1, 2, 3]), np.array([-5]),
        np.array([2**62, 2**62]), np.array([[1]], dtype=np.uint8),
    ]


@func_p
def test_malformed_inputs_never_crash(ops, name):
    """Any combination of malformed arguments raises ValueError/TypeError or returns;
    nothing segfaults, hangs or raises anything else."""
    d = base("padded")
    values = _malformed_values()
    slots = ["em", "A", "start", "end", "lengths", "tags"]
    for slot, v in itertools.product(slots, values):
        if slot in ("em", "A") and v is None:
            continue
        try:
            run(ops, name, d, **{slot: v})
        except (ValueError, TypeError):
            pass
    # pairs of bad slots
    for (s1, v1), (s2, v2) in itertools.islice(
            itertools.combinations(itertools.product(slots, values[1:8]), 2), 0, None, 7):
        if s1 == s2:
            continue
        try:
            run(ops, name, d, **{s1: v1, s2: v2})
        except (ValueError, TypeError):
            pass
