"""The optional progress bar (tqdm, when it is installed) of the taggers and the CLI."""
from __future__ import annotations

from typing import Any, Iterable, Optional

__all__ = ["progress_bar"]


def progress_bar(iterable: Optional[Iterable[Any]], enable: Optional[bool], **kw: Any) -> Any:
    """``iterable`` behind a tqdm bar; ``iterable`` itself when tqdm is not installed.

    ``enable``: True (always), False (never) or None (only when stderr is a terminal).
    ``kw`` goes to tqdm (``desc``, ``unit``, ``total``). With ``iterable=None`` the bar is
    updated by hand.
    """
    if enable is False:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is optional
        return iterable
    return tqdm(iterable, disable=None if enable is None else False, leave=False,
                dynamic_ncols=True, **kw)
