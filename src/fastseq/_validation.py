"""Checks of scalar arguments shared by the models, taggers and the CLI.

Each check returns the value in its canonical type or raises ``TypeError`` (wrong type) /
``ValueError`` (wrong value) with a message naming the argument in backticks.
"""
from __future__ import annotations

import math
import numbers
from typing import Optional, Union

import numpy as np

__all__ = ["check_int", "check_real", "check_bool", "check_random_state"]


def _range_text(lo, hi) -> str:
    if hi is None:
        return f">= {lo}"
    if lo is None:
        return f"<= {hi}"
    return f"in [{lo}, {hi}]"


def check_int(value, name: str, lo: Optional[int] = None, hi: Optional[int] = None, *,
              allow_none: bool = False) -> Optional[int]:
    """``value`` as an int in ``[lo, hi]`` (either bound may be None); bools are refused."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"`{name}` must be {_range_text(lo, hi)}, got {value}")
    return value


def check_real(value, name: str, lo: Optional[float] = None, hi: Optional[float] = None, *,
               allow_none: bool = False) -> Optional[float]:
    """``value`` as a finite float in ``[lo, hi]`` (either bound may be None)."""
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


def check_bool(value, name: str) -> bool:
    """``value`` as a bool: a bool, 0 / 1, or None (False)."""
    if value is None:
        return False
    if not isinstance(value, (bool, np.bool_, numbers.Integral)) or value not in (0, 1):
        raise TypeError(f"`{name}` must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def check_random_state(seed: Union[None, int, np.random.RandomState],
                       name: str = "random_state") -> np.random.RandomState:
    """A ``numpy.random.RandomState`` from ``seed``, following scikit-learn.

    ``None`` gives numpy's global RandomState, an int a fresh ``RandomState(seed)``, and a
    RandomState is returned as it is.
    """
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, np.random.RandomState):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_)):
        return np.random.RandomState(int(seed))
    raise TypeError(f"`{name}` must be None, an int or a numpy RandomState, "
                    f"got {type(seed).__name__}")
