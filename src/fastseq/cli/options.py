"""argparse value types and the option groups the subcommands share."""
from __future__ import annotations

import argparse
from typing import List, Optional, Sequence, Union

__all__ = ["HelpFormatter", "positive_int", "nonneg_int", "threads", "nonneg_float",
           "positive_float", "digits", "sep", "column_names", "beam", "suffix_smoothing",
           "add_input_format_options", "add_run_options"]


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The help layout of every ``fastseq`` parser: descriptions as written, and
    ``(default: X)`` after the help of an option whose help does not already state its
    default (an option with no default, or whose default is None or off, shows none).

    Examples
    --------
    >>> import argparse
    >>> from fastseq.cli.options import HelpFormatter
    >>> p = argparse.ArgumentParser(prog="demo", formatter_class=HelpFormatter)
    >>> _ = p.add_argument("--size", type=int, default=3, help="a size")
    >>> "a size (default: 3)" in p.format_help()
    True
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("default" in text or action.required or action.default is None
                or action.default is False or action.default == argparse.SUPPRESS):
            return text
        return text + " (default: %(default)s)"


def _number(text: str, kind, what: str):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def positive_int(text: str) -> int:
    """An integer >= 1."""
    v = _number(text, int, "a positive integer")
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def nonneg_int(text: str) -> int:
    """An integer >= 0."""
    v = _number(text, int, "an integer >= 0")
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {v}")
    return v


def digits(text: str) -> int:
    """A number of decimal digits to print: 0 to 15."""
    v = _number(text, int, "an integer from 0 to 15")
    if not 0 <= v <= 15:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to 15, got {v}")
    return v


def threads(text: str) -> int:
    """A thread count: an integer >= 1, or -1 (all cores)."""
    v = _number(text, int, "an integer")
    if v == 0 or v < -1:
        raise argparse.ArgumentTypeError(f"expected a positive integer or -1 (all cores), "
                                         f"got {v}")
    return v


def nonneg_float(text: str) -> float:
    """A number >= 0."""
    v = _number(text, float, "a number")
    if not v >= 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative number, got {text}")
    return v


def positive_float(text: str) -> float:
    """A finite number > 0."""
    v = _number(text, float, "a number")
    if not 0 < v < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return v


def sep(text: str) -> Optional[str]:
    """A column separator: ``tab`` / ``\\t``, ``space``, ``whitespace`` / ``ws`` (None: runs
    of whitespace) or the text itself."""
    named = {"tab": "\t", "\\t": "\t", "space": " ", "whitespace": None, "ws": None}
    if text.lower() in named:
        return named[text.lower()]
    if not text:
        raise argparse.ArgumentTypeError("the separator must not be empty")
    if "\n" in text or "\r" in text:
        raise argparse.ArgumentTypeError("the separator must not hold a line break")
    return text


def column_names(text: str) -> List[str]:
    """Column names separated by commas or spaces."""
    names = [c for c in text.replace(",", " ").split() if c]
    if not names:
        raise argparse.ArgumentTypeError("expected column names, e.g. word,pos,chunk")
    return names


def beam(text: str) -> Optional[int]:
    """A beam width, or None ("none", "exact", "0") for exact decoding."""
    if text.lower() in ("none", "exact", "0"):
        return None
    return positive_int(text)


def suffix_smoothing(text: str) -> Union[str, float]:
    """``"tnt"`` or a positive number."""
    if text.lower() == "tnt":
        return "tnt"
    v = _number(text, float, "'tnt' or a positive number")
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected 'tnt' or a positive number, got {text!r}")
    return v


def add_input_format_options(p: argparse.ArgumentParser, *, formats: Sequence[str],
                             default: Optional[str] = None, conllu_tag_default: str = "upos",
                             word_field: bool = True) -> argparse._ArgumentGroup:
    """``--format``, ``--word-field``, ``--tag-field``, ``--columns``, ``--sep``."""
    g = p.add_argument_group("input format")
    g.add_argument("--format", choices=formats, default=default,
                   help="input format (default: %s)" % (default or
                                                        "CoNLL-U for *.conllu, else sniffed"))
    if word_field:
        g.add_argument("--word-field", metavar="FIELD",
                       help="column holding the words: a CoNLL-U field name (default form) "
                            "or, for conll, a column name or 0-based number (default 0)")
    g.add_argument("--tag-field", metavar="FIELD",
                   help=f"column holding the tags: a CoNLL-U field (default "
                        f"{conllu_tag_default}) or, for conll, a column name or 0-based "
                        "number (default: the last)")
    g.add_argument("--columns", type=column_names, metavar="NAMES",
                   help="conll: names of the columns, e.g. word,pos,chunk (default by their "
                        "number: word,tag / word,pos,tag / word,pos,chunk,tag)")
    g.add_argument("--sep", type=sep, default=None, metavar="SEP",
                   help="conll: column separator (default: runs of whitespace; 'tab' for tabs)")
    return g


def add_run_options(p: argparse.ArgumentParser, *, progress: bool = True) -> None:
    """``--threads``, ``--progress`` and ``--quiet``."""
    p.add_argument("--threads", type=threads, default=None, metavar="N",
                   help="threads for the kernels (default: all available; -1: all cores)")
    if progress:
        p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="show progress bars (default: when stderr is a terminal)")
    p.add_argument("-q", "--quiet", action="store_true", help="print less on stderr")
