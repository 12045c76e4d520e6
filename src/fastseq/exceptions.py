"""The exceptions fastseq raises beyond Python's built-in ones.

Bad arguments are built-in errors, as in numpy and scikit-learn: a wrong type is a
:class:`TypeError`, a wrong value or shape a :class:`ValueError`, each message naming the
argument. The classes here cover what is specific to fastseq; all derive from
:class:`FastseqError`, and each also derives from the built-in error that code written
before it existed catches.

>>> from fastseq.crf import CRF
>>> from fastseq.exceptions import NotFittedError
>>> try:
...     CRF().predict([[{"w": "dog"}]])
... except NotFittedError as exc:
...     print(exc)
This CRF instance is not fitted yet; call fit() or load() first
"""
from __future__ import annotations

__all__ = ["FastseqError", "NotFittedError", "ModelFileError", "KernelError"]


class FastseqError(Exception):
    """Base class of the exceptions defined by fastseq."""


class NotFittedError(FastseqError, ValueError, AttributeError):
    """A model or tagger was used before it was fitted (trained) or loaded.

    Shaped as scikit-learn's ``sklearn.exceptions.NotFittedError``: it is both a
    :class:`ValueError` and an :class:`AttributeError`, so ``hasattr(model, "classes_")`` is
    False on an unfitted model and code catching either keeps working.
    """


class ModelFileError(FastseqError, ValueError):
    """A model file is not a valid fastseq model of the expected kind.

    Raised by every ``load`` when the file is not a fastseq model archive, is corrupt, was
    written for another kind of model, or holds a parameter, array or index that does not
    check out. A file written by a *newer* format version is refused with this error too,
    its message naming both versions. It is a :class:`ValueError`.
    """


class KernelError(FastseqError, RuntimeError):
    """A C kernel returned an unexpected status.

    The Python layer validates every input before a kernel runs, so this signals a bug in
    fastseq; the message names the kernel and the status. Running out of memory is a
    :class:`MemoryError` instead.
    """
