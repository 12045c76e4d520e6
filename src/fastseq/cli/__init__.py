"""The ``fastseq`` command.

    fastseq bench                                   # time the kernels against the peers
    fastseq train hmm|crf --train FILE --model OUT  # train a tagger
    fastseq tag --model M [FILE]                    # tag text or CoNLL files
    fastseq eval --model M --test FILE              # score a tagger on tagged data

Subcommands are registered in :data:`COMMANDS`. Each is a module of this package with
``HELP``, ``DESCRIPTION``, ``add_arguments(parser)`` and ``run(args) -> exit status``; a
subcommand reports a problem with the data or a model by raising
:class:`~fastseq.cli.errors.CLIError`, which :func:`main` prints as
``fastseq <command>: error: <message>`` with exit status 1 (usage errors exit with 2).
Input is read by :mod:`fastseq.cli.inputs`, shared options are in :mod:`fastseq.cli.options`.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence

from .errors import CLIError

__all__ = ["COMMANDS", "build_parser", "main", "CLIError"]

#: subcommand -> the module implementing it
COMMANDS = {
    "bench": "fastseq.cli.bench",
    "train": "fastseq.cli.train",
    "tag": "fastseq.cli.tag",
    "eval": "fastseq.cli.eval",
}


def build_parser() -> argparse.ArgumentParser:
    """The ``fastseq`` argument parser, with every subcommand of :data:`COMMANDS`."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="fastseq",
        description="fastseq: fast HMM and linear-chain CRF kernels for sequence labeling.")
    parser.add_argument("--version", action="version", version=f"fastseq {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        mod = importlib.import_module(module)
        p = sub.add_parser(name, help=mod.HELP, description=mod.DESCRIPTION,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``fastseq`` console script; returns the exit status.

    Examples
    --------
    >>> from fastseq.cli import main
    >>> main(["eval", "--model", "missing.zip", "--test", "missing.txt"])
    1
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except (CLIError, OSError, UnicodeDecodeError) as exc:
        print(f"fastseq {_command(args)}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # pragma: no cover
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # pragma: no cover -- e.g. `fastseq bench | head`
        return 0


def _command(args: argparse.Namespace) -> str:
    kind = getattr(args, "kind", None)
    return f"{args.command} {kind}" if kind else str(args.command)
