"""Loading any tagger file: the model-file formats of the taggers and their classes."""
from __future__ import annotations

import os
from typing import Dict, Optional, Union

from .._archive import read_archive
from ..exceptions import ModelFileError
from . import crf_tagger, hmm_tagger

__all__ = ["TAGGER_FORMATS", "load_tagger"]

#: model-file ``format`` -> the tagger class that reads it
TAGGER_FORMATS: Dict[str, type] = {
    hmm_tagger.FORMAT: hmm_tagger.HMMTagger,
    crf_tagger.FORMAT: crf_tagger.CRFTagger,
}


def load_tagger(path: "str | os.PathLike[str]", *, n_threads: Optional[int] = None
                ) -> Union[hmm_tagger.HMMTagger, crf_tagger.CRFTagger]:
    """Load any fastseq tagger file, whatever its kind.

    Parameters
    ----------
    path : str or path-like
        A file written by a tagger's ``save``.
    n_threads : int, optional
        Threads of the loaded tagger (None: every core the process may use).

    Returns
    -------
    HMMTagger or CRFTagger
        The tagger, chosen by the file's ``format``.

    Raises
    ------
    FileNotFoundError
        When there is no such file.
    fastseq.exceptions.ModelFileError
        When the file is not a valid fastseq tagger model.

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
