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
import os
import sys
from typing import Dict, Optional, Sequence

from .. import __version__
from .errors import CLIError

__all__ = ["COMMANDS", "build_parser", "main", "CLIError"]

COMMANDS: Dict[str, str] = {
    "bench": "fastseq.cli.bench",
    "train": "fastseq.cli.train",
    "tag": "fastseq.cli.tag",
    "eval": "fastseq.cli.eval",
}
"""The subcommands: name -> the module implementing it.

Each module has ``HELP``, ``DESCRIPTION``, ``add_arguments(parser)`` and
``run(args) -> exit status``; :func:`build_parser` registers them in this order.

Examples
--------
>>> from fastseq.cli import COMMANDS
>>> list(COMMANDS)
['bench', 'train', 'tag', 'eval']
>>> COMMANDS["tag"]
'fastseq.cli.tag'
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``fastseq`` argument parser, with every subcommand of :data:`COMMANDS`.

    Returns
    -------
    argparse.ArgumentParser
        The parser of ``fastseq [--version] COMMAND ...``. A parsed subcommand sets
        ``args.command`` to its name and ``args._run`` to its module's ``run``.

    Examples
    --------
    >>> from fastseq.cli import build_parser
    >>> args = build_parser().parse_args(["bench", "--smoke", "--threads", "2"])
    >>> args.command, args.smoke, args.threads, args.peers
    ('bench', True, 2, ['hmmlearn', 'torchcrf'])
    """
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

    A subcommand's :class:`CLIError` (a problem with the data or a model), ``OSError`` or
    ``UnicodeDecodeError`` is printed on stderr as ``fastseq <command>: error: <message>``
    and gives exit status 1.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments, without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success (and when the output pipe is closed early, as by ``| head``); 1 on
        an error reported by the subcommand; 2 when no subcommand is given (the help is
        printed on stderr); 130 when interrupted.

    Raises
    ------
    SystemExit
        From argparse: status 2 on a usage error (an unknown option, a bad value), 0 after
        ``--help`` or ``--version``.

    Examples
    --------
    Train an HMM tagger on a two-sentence CoNLL file, tag a sentence with it, and read a
    model that does not exist (the error goes to stderr):

    >>> import os, tempfile
    >>> from fastseq.cli import main
    >>> tmp = tempfile.mkdtemp()
    >>> train, text = os.path.join(tmp, "train.txt"), os.path.join(tmp, "text.txt")
    >>> with open(train, "w") as fh:
    ...     _ = fh.write("The DT\\ndog NN\\nbarks VBZ\\n\\nA DT\\ncat NN\\nsleeps VBZ\\n")
    >>> with open(text, "w") as fh:
    ...     _ = fh.write("The cat barks\\n")
    >>> model = os.path.join(tmp, "pos.zip")
    >>> main(["train", "hmm", "--train", train, "--model", model, "--quiet"])
    0
    >>> main(["tag", "--model", model, text, "--quiet"])
    The/DT cat/NN barks/VBZ
    0
    >>> main(["eval", "--model", "missing.zip", "--test", train])
    1
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except BrokenPipeError:  # the reader went away (`fastseq tag ... | head`): end quietly
        # stdout now points nowhere, so that the interpreter's final flush cannot fail
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CLIError, OSError, UnicodeDecodeError) as exc:
        print(f"fastseq {_command(args)}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # pragma: no cover
        print("interrupted", file=sys.stderr)
        return 130


def _command(args: argparse.Namespace) -> str:
    kind = getattr(args, "kind", None)
    return f"{args.command} {kind}" if kind else str(args.command)
