"""Checks of scalar arguments shared by the models, taggers and the CLI.

Each check returns the value in its canonical type or raises ``TypeError`` (wrong type) /
``ValueError`` (wrong value) with a message naming the argument in backticks.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Literal, Optional, Union, overload

import numpy as np

__all__ = ["check_int", "check_real", "check_bool", "check_random_state"]


def _range_text(lo, hi) -> str:
    if hi is None:
        return f">= {lo}"
    if lo is None:
        return f"<= {hi}"
    return f"in [{lo}, {hi}]"


@overload
def check_int(value: Any, name: str, lo: Optional[int] = None, hi: Optional[int] = None, *,
              allow_none: Literal[False] = False) -> int: ...
@overload
def check_int(value: Any, name: str, lo: Optional[int] = None, hi: Optional[int] = None, *,
              allow_none: bool) -> Optional[int]: ...


def check_int(value: Any, name: str, lo: Optional[int] = None, hi: Optional[int] = None, *,
              allow_none: bool = False) -> Optional[int]:
    """Check that ``value`` is an integer in ``[lo, hi]`` and return it as an int.

    Parameters
    ----------
    value : object
        The value to check: any :class:`numbers.Integral` (Python or numpy integer).
        Bools are refused.
    name : str
        Name of the argument, for the error messages.
    lo, hi : int, optional
        Inclusive bounds; ``None`` (default) leaves that side open.
    allow_none : bool, default False
        Accept ``None`` (returned as it is).

    Returns
    -------
    int or None
        ``value`` as a Python int (``None`` only with ``allow_none``).

    Raises
    ------
    TypeError
        If ``value`` is not an integer, or is a bool.
    ValueError
        If ``value`` is outside ``[lo, hi]``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq._validation import check_int
    >>> check_int(np.int64(3), "n_iter", 0)
    3
    >>> check_int(-1, "n_iter", 0)
    Traceback (most recent call last):
        ...
    ValueError: `n_iter` must be >= 0, got -1
    """
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"`{name}` must be {_range_text(lo, hi)}, got {value}")
    return value


@overload
def check_real(value: Any, name: str, lo: Optional[float] = None, hi: Optional[float] = None,
               *, allow_none: Literal[False] = False) -> float: ...
@overload
def check_real(value: Any, name: str, lo: Optional[float] = None, hi: Optional[float] = None,
               *, allow_none: bool) -> Optional[float]: ...


def check_real(value: Any, name: str, lo: Optional[float] = None, hi: Optional[float] = None,
               *, allow_none: bool = False) -> Optional[float]:
    """Check that ``value`` is a finite real number in ``[lo, hi]`` and return it as a float.

    Parameters
    ----------
    value : object
        The value to check: any :class:`numbers.Real` (ints included). Bools are refused.
    name : str
        Name of the argument, for the error messages.
    lo, hi : float, optional
        Inclusive bounds; ``None`` (default) leaves that side open.
    allow_none : bool, default False
        Accept ``None`` (returned as it is).

    Returns
    -------
    float or None
        ``value`` as a Python float (``None`` only with ``allow_none``).

    Raises
    ------
    TypeError
        If ``value`` is not a real number, or is a bool.
    ValueError
        If ``value`` is NaN or infinite, or outside ``[lo, hi]``.

    Examples
    --------
    >>> from fastseq._validation import check_real
    >>> check_real(1, "tol", 0.0)
    1.0
    >>> check_real(float("nan"), "tol")
    Traceback (most recent call last):
        ...
    ValueError: `tol` must be finite, got nan
    """
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number, got {type(value).__name__} "
                        f"{value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be finite, got {value}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"`{name}` must be {_range_text(lo, hi)}, got {value}")
    return value


def check_bool(value: Any, name: str) -> bool:
    """Check that ``value`` is a boolean flag and return it as a bool.

    Parameters
    ----------
    value : bool, int or None
        A bool (Python or numpy), the integers 0 / 1, or ``None`` (taken as False).
    name : str
        Name of the argument, for the error messages.

    Returns
    -------
    bool
        ``value`` as a Python bool.

    Raises
    ------
    TypeError
        If ``value`` is anything else (e.g. the string ``"yes"`` or the integer 2).

    Examples
    --------
    >>> from fastseq._validation import check_bool
    >>> check_bool(1, "verbose"), check_bool(None, "verbose")
    (True, False)
    """
    if value is None:
        return False
    if not isinstance(value, (bool, np.bool_, numbers.Integral)) or value not in (0, 1):
        raise TypeError(f"`{name}` must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def check_random_state(seed: Union[None, int, np.random.RandomState],
                       name: str = "random_state") -> np.random.RandomState:
    """Turn ``seed`` into a ``numpy.random.RandomState``, following scikit-learn.

    Parameters
    ----------
    seed : None, int or numpy.random.RandomState
        ``None`` (or the :mod:`numpy.random` module) gives numpy's global RandomState, an
        int a fresh ``RandomState(seed)``, and a RandomState is returned as it is.
    name : str, default "random_state"
        Name of the argument, for the error message.

    Returns
    -------
    numpy.random.RandomState
        The random number generator.

    Raises
    ------
    TypeError
        If ``seed`` is of any other type (bools included).

    Examples
    --------
    >>> from fastseq._validation import check_random_state
    >>> rs = check_random_state(0)
    >>> rs.randint(10, size=3).tolist()
    [5, 0, 3]
    >>> check_random_state(rs) is rs
    True
    """
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, np.random.RandomState):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_)):
        return np.random.RandomState(int(seed))
    raise TypeError(f"`{name}` must be None, an int or a numpy RandomState, "
                    f"got {type(seed).__name__}")
