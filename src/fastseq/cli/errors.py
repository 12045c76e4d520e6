"""The one error type of the ``fastseq`` command."""
from __future__ import annotations

from ..exceptions import FastseqError

__all__ = ["CLIError"]


class CLIError(FastseqError):
    """A user-facing error of a ``fastseq`` subcommand.

    A subcommand raises it for a problem with the data, a model or the options it can
    check only while running; :func:`fastseq.cli.main` prints
    ``fastseq <command>: error: <message>`` on stderr and returns exit status 1.

    Examples
    --------
    >>> from fastseq.cli import CLIError
    >>> from fastseq.exceptions import FastseqError
    >>> issubclass(CLIError, FastseqError)
    True
    >>> from fastseq.cli.inputs import open_text
    >>> try:
    ...     open_text("no-such-file.txt")
    ... except CLIError as exc:
    ...     print(exc)
    no such file: no-such-file.txt
    """
