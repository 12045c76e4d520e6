"""Shared pieces of the property-based fuzz tests of the numeric API.

* :func:`relayout` hands the same (or, for broadcasts, a compatible) array over in another
  memory layout or container: Fortran order, strides, negative strides, read-only,
  unaligned, broadcast, a structured field, non-native byte order, a list, a memoryview, a
  torch tensor;
* :func:`fill` draws values with the special cases (NaN, +-inf, whole -inf rows or columns,
  +-1e308, denormals) in any dtype;
* :func:`seen` is what a function receives once it looks at an argument as an array (the
  oracles decide from it which errors an input justifies);
* :class:`Expect` / :func:`check_outcome` check that a call either returned or raised one
  of the documented errors, whose message names the argument in backticks;
* :func:`call` runs a case in this process (a crash ends the session: that is the point)
  under :func:`watchdog`, which ends the process with every thread's traceback when a call
  hangs.
"""
from __future__ import annotations

import contextlib
import faulthandler
import numbers
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np

try:
    import torch
except ImportError:  # pragma: no cover - torch is a test dependency here
    torch = None

# Memory layouts / containers an array argument is handed over in.
MEMORY = ("C", "F", "strided", "transposed", "negative", "readonly", "unaligned",
          "broadcast", "structured", "byteswapped", "list", "memoryview", "torch", "torch_T")

# Value recipes of :func:`fill` (special values are injected into normal(0, 2) draws).
VALUE_KINDS = ("normal", "neg_inf_some", "neg_inf_row", "neg_inf_col", "nan", "posinf",
               "huge_pos", "huge_neg", "big", "denormal", "tiny", "integral")

# dtypes that are not real numbers (a TypeError wherever a score array is expected)
BAD_DTYPES = (np.bool_, np.complex128, object, str)

# A call that takes longer than this is a hang (the per-case inputs are tiny).
HANG_SECONDS = 30.0

# The rounding of the oracles and the kernels differs by a few ulps of the largest magnitude
# involved: the fuzzers widen their tolerances by ULPS * eps * that magnitude.
ULPS = 64.0


def tol_for(dtype) -> Dict[str, float]:
    """The comparison tolerances of a computation dtype (float32: those of conftest.TOL;
    float64: rtol 1e-9 with a small atol, looser than conftest's: the fuzzed values are
    wilder)."""
    if np.dtype(dtype) == np.float32:
        return dict(rtol=1e-4, atol=1e-4)
    return dict(rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------------------------------
# values and layouts
# ---------------------------------------------------------------------------------------------

def fill(rng: np.random.Generator, shape: Tuple[int, ...], kind: str, dtype) -> np.ndarray:
    """An array of ``shape`` and ``dtype`` following the recipe ``kind``."""
    dtype = np.dtype(dtype)
    x = rng.normal(0.0, 2.0, size=shape)
    if kind == "integral" or dtype.kind in "iu":
        x = rng.integers(-4, 5, size=shape).astype(np.float64)
    size = int(np.prod(shape))
    if size and dtype.kind in "fcOU":  # other dtypes cannot hold the special values
        flat = x.reshape(-1)
        pick = rng.integers(0, size, size=int(rng.integers(1, 3)))
        special = {"neg_inf_some": -np.inf, "nan": np.nan, "posinf": np.inf,
                   "huge_pos": 1e308, "huge_neg": -1e308, "big": 1e100, "denormal": 5e-324 * 7,
                   "tiny": 1e-300}.get(kind)
        if special is not None:
            flat[pick] = special
        if kind == "denormal":
            flat[pick[:1]] = -1e-310
        if kind in ("neg_inf_row", "neg_inf_col") and len(shape) >= 1:
            axis = len(shape) - 1 if kind == "neg_inf_col" or len(shape) == 1 else len(shape) - 2
            idx = [slice(None)] * len(shape)
            idx[axis] = int(rng.integers(0, shape[axis])) if shape[axis] else 0
            if shape[axis]:
                x[tuple(idx)] = -np.inf
    if dtype.kind == "b":
        return x > 0
    if dtype.kind in "iu":
        if dtype.kind == "u":
            x = np.abs(x)
        return x.astype(dtype)
    if dtype.kind == "c":
        return x.astype(dtype)
    if dtype.kind in "OU":
        return x.astype(dtype)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        return x.astype(dtype)


def relayout(x: np.ndarray, how: str) -> Any:
    """``x`` handed over in the memory layout / container ``how`` (a plain C array where
    ``how`` does not apply to ``x``'s dtype or shape). ``broadcast`` repeats the first entry
    along axis 0 (other values, same shape)."""
    x = np.asarray(x)
    kind = x.dtype.kind
    if how == "F":
        return np.asfortranarray(x)
    if how == "strided" and x.ndim:
        big = np.zeros(x.shape[:-1] + (2 * x.shape[-1],), dtype=x.dtype)
        big[..., ::2] = x
        return big[..., ::2]
    if how == "transposed" and x.ndim:
        return np.ascontiguousarray(x.T).T
    if how == "negative" and x.ndim:
        flip = (slice(None, None, -1),) * x.ndim
        return x[flip].copy()[flip]
    if how == "readonly":
        y = x.copy()
        y.setflags(write=False)
        return y
    if how == "unaligned" and kind not in "OU" and x.dtype.itemsize > 1:
        buf = bytearray(x.nbytes + 1)
        y = np.frombuffer(buf, dtype=x.dtype, count=x.size, offset=1).reshape(x.shape)
        y[...] = x
        return y
    if how == "broadcast" and x.ndim and x.shape[0]:
        return np.broadcast_to(x[:1], x.shape)
    if how == "structured" and kind not in "OU":
        s = np.zeros(x.shape, dtype=[("pad", "u1"), ("value", x.dtype)])
        s["value"] = x
        return s["value"]
    if how == "byteswapped" and kind in "fiuc" and x.dtype.itemsize > 1:
        return x.astype(x.dtype.newbyteorder(">"))
    if how == "list":
        return x.tolist()
    if how == "memoryview" and kind in "fiubc":
        return memoryview(np.ascontiguousarray(x))
    if how in ("torch", "torch_T") and torch is not None and kind in "fiubc":
        try:
            if how == "torch_T" and x.ndim >= 2:
                return torch.from_numpy(np.ascontiguousarray(x.swapaxes(-1, -2))).transpose(-1,
                                                                                            -2)
            return torch.from_numpy(np.ascontiguousarray(x))
        except TypeError:  # a dtype torch lacks (longdouble, unsigned ints)
            return np.ascontiguousarray(x)
    return np.ascontiguousarray(x)


def seen(x: Any) -> Any:
    """An argument as a function of the numeric API sees it once it reads it as an array
    (``None`` stays ``None``; torch tensors become their numpy views)."""
    if x is None:
        return None
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().resolve_conj().numpy()
    return np.asarray(x)


def is_int(value: Any) -> bool:
    """An int argument (numpy ints included, bools not)."""
    return (isinstance(value, numbers.Integral)
            and not isinstance(value, (bool, np.bool_)))


def int_list(a: np.ndarray) -> List[int]:
    """Integer entries as exact Python ints (no int64 wrap-around)."""
    return [int(v) for v in a.reshape(-1).tolist()]


# ---------------------------------------------------------------------------------------------
# outcomes
# ---------------------------------------------------------------------------------------------

class Expect:
    """The errors an input justifies: ``required`` (the call must raise one of them) and
    ``optional`` (the call may raise one instead of returning the right answer)."""

    def __init__(self) -> None:
        self.required: List[Tuple[Tuple[type, ...], str]] = []
        self.optional: List[Tuple[Tuple[type, ...], str]] = []

    def error(self, exc, name: str) -> None:
        self.required.append((exc if isinstance(exc, tuple) else (exc,), name))

    def maybe(self, exc, name: str) -> None:
        self.optional.append((exc if isinstance(exc, tuple) else (exc,), name))

    @property
    def must_raise(self) -> bool:
        return bool(self.required)

    def matches(self, err: BaseException) -> bool:
        for types, name in self.required + self.optional:
            if isinstance(err, types) and f"`{name}`" in str(err):
                return True
        return False

    def __repr__(self) -> str:
        def fmt(items):
            return ", ".join(f"{'/'.join(t.__name__ for t in ts)}(`{n}`)" for ts, n in items)
        return f"Expect(required=[{fmt(self.required)}], optional=[{fmt(self.optional)}])"


class Outcome:
    """What a call did: returned ``value`` or raised ``error``."""

    def __init__(self, value: Any = None, error: Optional[BaseException] = None) -> None:
        self.value, self.error = value, error


def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Outcome:
    """Run ``fn`` in this process under the hang watchdog; any exception is captured."""
    with watchdog():
        try:
            return Outcome(value=fn(*args, **kwargs))
        except Exception as e:  # noqa: BLE001 - every exception type is judged by the caller
            return Outcome(error=e)


def check_outcome(out: Outcome, expect: Expect) -> bool:
    """Whether an outcome respects the contract so far: ``True`` when the call returned
    and must now be compared with the oracle, ``False`` when it raised a justified error.
    Raises AssertionError on an unjustified or wrong exception, or a return where an error
    was required."""
    if out.error is not None:
        assert expect.matches(out.error), (
            f"unexpected {type(out.error).__name__}: {out.error} (justified: {expect})")
        return False
    assert not expect.must_raise, f"returned instead of raising one of {expect}"
    return True


@contextlib.contextmanager
def watchdog(seconds: float = HANG_SECONDS) -> Iterator[None]:
    """End the process with every thread's traceback if the block runs past ``seconds``
    (a hung kernel never returns to Python, so nothing softer can stop it)."""
    faulthandler.dump_traceback_later(seconds, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
