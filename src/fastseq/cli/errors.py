"""The one error type of the ``fastseq`` command."""
from __future__ import annotations

from ..exceptions import FastseqError

__all__ = ["CLIError"]


class CLIError(FastseqError):
    """A user-facing error: ``fastseq`` prints ``fastseq <command>: error: <message>`` and
    exits with status 1."""
