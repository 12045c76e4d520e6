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

import functools
import sys
from typing import Any, Optional, Tuple

__all__ = ["FastseqError", "NotFittedError", "ModelFileError", "DataFileError", "KernelError",
           "WorkerError"]


class FastseqError(Exception):
    """Base class of the exceptions defined by fastseq.

    Catch it to handle every fastseq-specific error at once; each subclass also derives
    from the matching built-in error (:class:`ValueError`, :class:`RuntimeError` ...).

    See Also
    --------
    NotFittedError, ModelFileError, DataFileError, KernelError : The concrete exceptions.

    Examples
    --------
    >>> from fastseq.exceptions import FastseqError, ModelFileError, NotFittedError
    >>> issubclass(NotFittedError, FastseqError), issubclass(ModelFileError, FastseqError)
    (True, True)
    """


class NotFittedError(FastseqError, ValueError, AttributeError):
    """A model or tagger was used before it was fitted (trained) or loaded.

    Shaped as scikit-learn's ``sklearn.exceptions.NotFittedError``: it is both a
    :class:`ValueError` and an :class:`AttributeError`, so ``hasattr(model, "classes_")`` is
    False on an unfitted model and code catching either keeps working. When scikit-learn is
    imported in the process (as it is in code that catches its errors), the error raised is
    also an instance of ``sklearn.exceptions.NotFittedError``, so ``except
    sklearn.exceptions.NotFittedError`` catches it too; fastseq itself never imports
    scikit-learn for it.

    Parameters
    ----------
    *args : object
        The message, as for any exception.

    See Also
    --------
    FastseqError : The base class.

    Examples
    --------
    >>> from fastseq.exceptions import NotFittedError
    >>> from fastseq.hmm import CategoricalHMM
    >>> try:
    ...     CategoricalHMM(n_components=2).predict([[0], [1]])
    ... except NotFittedError as exc:
    ...     print(exc)
    This CategoricalHMM instance is not fitted yet (missing startprob_, transmat_,
    emissionprob_); call fit / fit_supervised or set them by hand
    >>> issubclass(NotFittedError, ValueError), issubclass(NotFittedError, AttributeError)
    (True, True)
    """

    def __new__(cls, *args: Any) -> "NotFittedError":
        if cls is NotFittedError and "sklearn" in sys.modules:
            cls = _with_sklearn_not_fitted()
        return super().__new__(cls, *args)

    def __reduce__(self) -> Tuple[Any, ...]:
        # pickles as the plain class (the combined one is made at run time)
        return NotFittedError, self.args


@functools.lru_cache(maxsize=None)
def _with_sklearn_not_fitted() -> type:
    """NotFittedError that is also scikit-learn's (made once, when first needed)."""
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    return type("NotFittedError", (NotFittedError, SklearnNotFittedError),
                {"__module__": __name__, "__qualname__": "NotFittedError",
                 "__doc__": NotFittedError.__doc__})


class ModelFileError(FastseqError, ValueError):
    """A model file is not a valid fastseq model of the expected kind.

    Raised by every ``load`` (and ``from_archive_parts``) when the file is not a fastseq
    model archive, is corrupt or truncated, is a zip bomb (a member larger than its
    declared array, or than deflate can produce), was written for another kind of model, or
    holds a parameter, array or index that does not check out -- a parameter the model's
    constructor or ``fit`` would refuse included. It is the only error a file's contents
    can cause; its message names the file and says what is wrong. A file written by a
    *newer* format version is refused with this error too, its message naming both
    versions. It is a :class:`ValueError`. A path that cannot be opened keeps its own
    error: :class:`FileNotFoundError`, :class:`IsADirectoryError` or
    :class:`PermissionError`.

    See Also
    --------
    FastseqError : The base class.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> from fastseq.crf import CRF
    >>> from fastseq.exceptions import ModelFileError
    >>> path = os.path.join(tempfile.mkdtemp(), "model.bin")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write("not a model")
    >>> try:
    ...     CRF.load(path)
    ... except ModelFileError as exc:
    ...     print(str(exc).replace(path, "model.bin"))
    model.bin: not a valid fastseq model file: not a ZIP archive (fastseq models are
    written by the models' save())
    """


class DataFileError(FastseqError, ValueError):
    """A data file (CoNLL, CoNLL-U, text) cannot be read as the format it should be in.

    Raised by the readers of :mod:`fastseq.io` (and so by :mod:`fastseq.datasets` and the
    ``fastseq`` command) for a line with the wrong number of columns, bytes that are not
    valid in the file's encoding, a control character, or a line longer than the readers'
    limit. The message names the file and the 1-based line and quotes at most a short,
    escaped excerpt of the line. It is a :class:`ValueError`.

    Parameters
    ----------
    filename : str
        The file (``"<stream>"`` for an unnamed file object).
    lineno : int or None
        The 1-based line, when the problem is on one line.
    reason : str
        What is wrong, e.g. ``"expected 3 columns separated by whitespace, found 2: 'a B'"``.

    Attributes
    ----------
    filename : str
        As given.
    lineno : int or None
        As given.
    reason : str
        As given.

    See Also
    --------
    FastseqError : The base class.

    Examples
    --------
    >>> import io
    >>> from fastseq.exceptions import DataFileError
    >>> from fastseq.io import read_conll
    >>> try:
    ...     read_conll(io.StringIO("EU B-ORG\\nrejects\\n"), columns=("word", "ner"))
    ... except DataFileError as exc:
    ...     print(exc)
    ...     print(exc.filename, exc.lineno)
    <stream>, line 2: expected 2 columns separated by whitespace, found 1: 'rejects'
    <stream> 2
    """

    def __init__(self, filename: str, lineno: Optional[int], reason: str) -> None:
        super().__init__(filename, lineno, reason)
        self.filename = filename
        self.lineno = lineno
        self.reason = reason

    def __str__(self) -> str:
        where = self.filename if self.lineno is None else f"{self.filename}, line {self.lineno}"
        return f"{where}: {self.reason}"


class KernelError(FastseqError, RuntimeError):
    """A C kernel returned an unexpected status.

    The Python layer validates every input before a kernel runs, so this signals a bug in
    fastseq; the message names the kernel and the status. Running out of memory is a
    :class:`MemoryError` instead.

    See Also
    --------
    FastseqError : The base class.

    Examples
    --------
    >>> from fastseq.exceptions import FastseqError, KernelError
    >>> issubclass(KernelError, FastseqError), issubclass(KernelError, RuntimeError)
    (True, True)
    """


class WorkerError(FastseqError, RuntimeError):
    """A step of a distributed fit or tagging run (:mod:`fastseq.dask`) lost its workers.

    Dask recomputes the work of a worker that dies; when the same task has killed workers
    again and again (most often by using more memory than a worker may), the step fails
    with this error, which names the step and what to change (more partitions, more memory
    per worker).

    See Also
    --------
    FastseqError : The base class.

    Examples
    --------
    >>> from fastseq.exceptions import FastseqError, WorkerError
    >>> issubclass(WorkerError, FastseqError), issubclass(WorkerError, RuntimeError)
    (True, True)
    """
