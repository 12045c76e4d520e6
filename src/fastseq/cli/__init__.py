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
import re
import sys
from typing import Dict, Optional, Sequence

from .. import __version__
from ..exceptions import DataFileError, ModelFileError
from .errors import CLIError
from .options import HelpFormatter

__all__ = ["COMMANDS", "build_parser", "main", "CLIError"]

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")

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
                           formatter_class=HelpFormatter)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``fastseq`` console script; returns the exit status.

    A subcommand's :class:`CLIError` (a problem with the options, the data or a model), a
    :class:`~fastseq.exceptions.DataFileError` (a malformed input file),
    :class:`~fastseq.exceptions.ModelFileError`, ``OSError`` or ``MemoryError`` is printed on
    stderr as the one line ``fastseq <command>: error: <message>`` and gives exit status 1;
    Ctrl-C prints ``fastseq <command>: interrupted`` and gives 130.

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
    command = "fastseq"
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if getattr(args, "_run", None) is None:
            parser.print_help(sys.stderr)
            return 2
        command = _command(args)
        status = int(args._run(args) or 0)
        if sys.stdout is not None:
            sys.stdout.flush()  # a closed pipe shows here, not at the interpreter's exit
        return status
    except BrokenPipeError:  # the reader went away (`fastseq tag ... | head`): end quietly
        # stdout now points nowhere, so that the interpreter's final flush cannot fail
        if sys.stdout is not None:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CLIError, DataFileError, ModelFileError, UnicodeDecodeError) as exc:
        _error(command, str(exc))
    except OSError as exc:
        _error(command, _os_error(exc))
    except MemoryError:
        _error(command, "out of memory")
    except KeyboardInterrupt:
        _error(command, "interrupted", prefix="")
        return 130
    return 1


def _error(command: str, message: str, prefix: str = "error: ") -> None:
    # one line, and no control character (a file name may hold any) reaches the terminal
    message = _CONTROL.sub(lambda m: repr(m.group())[1:-1], message)
    try:
        print(f"{command}: {prefix}{message}", file=sys.stderr)
    except (OSError, ValueError, AttributeError):  # stderr closed: nothing more to say
        pass


def _os_error(exc: OSError) -> str:
    """``FILE: reason`` rather than ``[Errno 2] No such file or directory: 'FILE'``."""
    if exc.filename is not None and exc.strerror:
        return f"{os.fsdecode(exc.filename)}: {exc.strerror}"
    return str(exc)


def _command(args: argparse.Namespace) -> str:
    kind = getattr(args, "kind", None)
    return f"fastseq {args.command} {kind}" if kind else f"fastseq {args.command}"
