"""Training that is all or nothing: an estimator interrupted or failing part-way through
``fit`` is left exactly as it was before the call."""
from __future__ import annotations

import contextlib
import copy
from typing import Any, Iterator


@contextlib.contextmanager
def all_or_nothing(obj: Any, *changed_in_place: Any) -> Iterator[None]:
    """Put back ``obj``'s attributes (and deep copies of those of ``changed_in_place``,
    objects the block mutates rather than replaces) if the block raises, KeyboardInterrupt
    included. Each object is restored in one assignment, so that a second interrupt cannot
    leave a mix of old and new state."""
    before = dict(obj.__dict__)
    inner = [(o, copy.deepcopy(vars(o))) for o in changed_in_place]
    try:
        yield
    except BaseException:
        obj.__dict__ = before
        for o, state in inner:
            o.__dict__ = state
        raise
