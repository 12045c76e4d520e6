"""argparse value types shared by the ``fastseq`` subcommands."""
from __future__ import annotations

import argparse
from typing import List, Optional


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def threads(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if v == 0 or v < -1:
        raise argparse.ArgumentTypeError(f"expected a positive integer or -1 (all cores), "
                                         f"got {v}")
    return v


def nonneg_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v >= 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative number, got {text}")
    return v


def sep(text: str) -> Optional[str]:
    named = {"tab": "\t", "\\t": "\t", "space": " ", "whitespace": None, "ws": None}
    if text.lower() in named:
        return named[text.lower()]
    if not text:
        raise argparse.ArgumentTypeError("the separator must not be empty")
    return text


def column_names(text: str) -> List[str]:
    names = [c for c in text.replace(",", " ").split() if c]
    if not names:
        raise argparse.ArgumentTypeError("expected column names, e.g. word,pos,chunk")
    return names
