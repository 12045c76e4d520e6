"""The ``fastseq`` command.

Subcommands are registered in :data:`COMMANDS` as ``(name, module, help)``. Each module
provides ``add_arguments(parser)`` (define its options) and ``run(args) -> int`` (the exit
status), and optionally ``DESCRIPTION`` (the text of ``fastseq <name> --help``). Command
modules are imported when the parser is built, so keep their top-level imports light (numpy
and the standard library); import heavy things inside ``run``.

To add a subcommand (``train``, ``tag``, ``eval``...): write ``fastseq/<name>.py`` with
those two functions and append one line to :data:`COMMANDS`.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import List, Optional, Sequence, Tuple

#: (subcommand, module implementing it, one-line help)
COMMANDS: List[Tuple[str, str, str]] = [
    ("bench", "fastseq.bench",
     "time fastseq's kernels against the numpy reference, hmmlearn and pytorch-crf"),
]


def _version() -> str:
    try:
        from . import __version__
    except ImportError:  # pragma: no cover
        __version__ = "unknown"
    return f"fastseq {__version__}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastseq",
        description="fastseq: fast HMM and linear-chain CRF kernels for sequence labeling.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module, help_text in COMMANDS:
        mod = importlib.import_module(module)
        p = sub.add_parser(name, help=help_text, description=getattr(mod, "DESCRIPTION", help_text),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    from . import _cli_tag  # train / tag / eval

    _cli_tag.add_subcommands(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``fastseq`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:  # pragma: no cover
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # pragma: no cover -- e.g. `fastseq bench | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
