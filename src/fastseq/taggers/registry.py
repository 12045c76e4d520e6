"""Loading any tagger file: the model-file formats of the taggers and their classes."""
from __future__ import annotations

import os
from typing import Dict, Optional, Type, Union

from .._archive import read_archive
from ..exceptions import ModelFileError
from . import crf_tagger, hmm_tagger

__all__ = ["TAGGER_FORMATS", "load_tagger"]

TAGGER_FORMATS: Dict[str, Union[Type[hmm_tagger.HMMTagger], Type[crf_tagger.CRFTagger]]] = {
    hmm_tagger.FORMAT: hmm_tagger.HMMTagger,
    crf_tagger.FORMAT: crf_tagger.CRFTagger,
}
"""Model-file ``format`` -> the tagger class that reads it (used by :func:`load_tagger`).

Examples
--------
>>> from fastseq.taggers import TAGGER_FORMATS
>>> sorted((k, v.__name__) for k, v in TAGGER_FORMATS.items())
[('fastseq.CRFTagger', 'CRFTagger'), ('fastseq.HMMTagger', 'HMMTagger')]
"""


def load_tagger(path: Union[str, "os.PathLike[str]"], *, n_threads: Optional[int] = None
                ) -> Union[hmm_tagger.HMMTagger, crf_tagger.CRFTagger]:
    """Load any fastseq tagger file, whatever its kind.

    Reading never executes code from the file (see :meth:`HMMTagger.load` and
    :meth:`CRFTagger.load`).

    Parameters
    ----------
    path : str or path-like
        A file written by a tagger's ``save``.
    n_threads : int, optional
        Threads of the loaded tagger (None: every core the process may use).

    Returns
    -------
    HMMTagger or CRFTagger
        The tagger, chosen by the file's ``"format"`` (see :data:`TAGGER_FORMATS`).

    Raises
    ------
    FileNotFoundError, IsADirectoryError, PermissionError
        When the path cannot be opened.
    fastseq.exceptions.ModelFileError
        When the file is not a valid fastseq tagger model: not a model archive, an unknown
        ``"format"``, a newer format version, or contents that do not check out.

    Examples
    --------
    >>> import os, tempfile
    >>> from fastseq.taggers import HMMTagger, load_tagger
    >>> path = os.path.join(tempfile.mkdtemp(), "pos.zip")
    >>> HMMTagger().train([[("the", "DET"), ("dog", "NOUN")]]).save(path)
    >>> load_tagger(path).tag(["the", "dog"])
    [('the', 'DET'), ('dog', 'NOUN')]
    """
    meta, arrays = read_archive(path)
    kind = meta.get("format")
    cls = TAGGER_FORMATS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ModelFileError(f"{os.fspath(path)}: unknown model format {kind!r}; known: "
                             f"{', '.join(sorted(TAGGER_FORMATS))}")
    return cls.from_archive_parts(meta, arrays, where=os.fspath(path), n_threads=n_threads)
