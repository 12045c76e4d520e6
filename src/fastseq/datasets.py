"""Loaders for the standard sequence-labeling corpora.

fastseq ships no data. The corpora live in a *data home* folder laid out like this::

    <data_home>/
        ud_english_ewt/en_ewt-ud-{train,dev,test}.conllu
        conll2000/{train,test}.txt
        conll2003_en/{train,valid,test}.txt
        conll2002/{esp,ned}.{train,testa,testb}
        wnut17/{wnut17train.conll,emerging.dev.conll,emerging.test.annotated}

The data home is, in order of preference: the ``data_home`` argument, the ``FASTSEQ_DATA``
environment variable, or the per-user folder ``~/fastseq_data`` (scikit-learn's
``get_data_home`` convention). A missing file is a :class:`FileNotFoundError` saying which
file was expected where and how to point fastseq at the data.

>>> from fastseq import datasets
>>> train = datasets.load("conll2003", "train")          # doctest: +SKIP
>>> train[0]["word"][:3], train[0]["ner"][:3]              # doctest: +SKIP
(['EU', 'rejects', 'German'], ['B-ORG', 'O', 'B-MISC'])
>>> pairs = datasets.load_tagged("conll2003", "train")   # doctest: +SKIP

Sentences come in the format of :func:`fastseq.io.read_conll`: one dict per sentence mapping
a column name to the list of that column's values.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple, Union

from .io import CONLLU_FIELDS, Sentence, read_conll, read_conllu, to_tagged

__all__ = [
    "Corpus",
    "CORPORA",
    "ENV_VAR",
    "DEFAULT_DATA_HOME",
    "available",
    "info",
    "get_data_home",
    "path",
    "load",
    "load_tagged",
]

#: Environment variable naming the data home.
#:
#: Examples
#: --------
#: >>> from fastseq.datasets import ENV_VAR
#: >>> ENV_VAR
#: 'FASTSEQ_DATA'
ENV_VAR = "FASTSEQ_DATA"
#: The data home when neither ``data_home`` nor :data:`ENV_VAR` names one (``~`` is
#: expanded when it is used).
#:
#: Examples
#: --------
#: >>> from fastseq.datasets import DEFAULT_DATA_HOME
#: >>> DEFAULT_DATA_HOME
#: '~/fastseq_data'
DEFAULT_DATA_HOME = "~/fastseq_data"

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Corpus:
    """Description of one corpus (an immutable record; see :data:`CORPORA`).

    Parameters
    ----------
    name : str
        Canonical name, e.g. ``"conll2003"``.
    folder : str
        Sub-folder of the data home.
    files : mapping of str to str
        Canonical split name -> file name inside ``folder``, in file order.
    aliases : mapping of str to str
        Extra split names -> canonical split (``"dev"`` -> ``"valid"`` ...).
    columns : tuple of str
        Column names of the returned sentences, in file order.
    fmt : {"conll", "conllu"}
        File format.
    sep : str or None
        Field separator for ``"conll"`` files (``None``: whitespace).
    tag : str
        Default label column for :func:`load_tagged`.
    sizes : mapping of str to (int, int), optional
        Canonical split -> (sentences, tokens) as documented for the data.
    description : str, optional
        One line.

    See Also
    --------
    info : The record of a corpus, by name.

    Examples
    --------
    >>> from fastseq.datasets import info
    >>> corpus = info("conll2003")
    >>> corpus.folder, corpus.columns
    ('conll2003_en', ('word', 'pos', 'chunk', 'ner'))
    >>> corpus.sizes["train"]
    (14041, 203621)
    """

    name: str
    folder: str
    files: Mapping[str, str]
    aliases: Mapping[str, str]
    columns: Tuple[str, ...]
    fmt: str
    sep: Optional[str]
    tag: str
    sizes: Mapping[str, Tuple[int, int]] = field(default_factory=dict)
    description: str = ""

    @property
    def splits(self) -> Tuple[str, ...]:
        """Canonical split names, in file order.

        Returns
        -------
        tuple of str
            The keys of :attr:`files`.

        Examples
        --------
        >>> from fastseq.datasets import info
        >>> info("conll2002_esp").splits
        ('train', 'testa', 'testb')
        """
        return tuple(self.files)

    def resolve_split(self, split: str) -> str:
        """Canonical name of a split given by its canonical name or an alias.

        Parameters
        ----------
        split : str
            A split name; case and surrounding blanks are ignored.

        Returns
        -------
        str
            The canonical split name, one of :attr:`splits`.

        Raises
        ------
        TypeError
            If ``split`` is not a str.
        ValueError
            If the corpus has no such split; the message lists the valid ones.

        Examples
        --------
        >>> from fastseq.datasets import info
        >>> corpus = info("conll2003")
        >>> corpus.resolve_split("dev"), corpus.resolve_split("TestB")
        ('valid', 'test')
        """
        if not isinstance(split, str):
            raise TypeError(f"`split` must be a str, got {type(split).__name__}")
        key = split.strip().lower()
        if key in self.files:
            return key
        if key in self.aliases:
            return self.aliases[key]
        valid = list(self.files) + [f"{a} (= {c})" for a, c in self.aliases.items()]
        extra = ""
        if key in ("dev", "valid", "validation", "testa") and self.name == "conll2000":
            extra = " (CoNLL-2000 has no development split; hold out part of 'train')"
        raise ValueError(
            f"unknown split {split!r} for corpus {self.name!r}{extra}; valid splits: "
            + ", ".join(valid)
        )


def _conll2002(lang: str, desc: str, sizes) -> Corpus:
    return Corpus(
        name=f"conll2002_{lang}",
        folder="conll2002",
        files={"train": f"{lang}.train", "testa": f"{lang}.testa", "testb": f"{lang}.testb"},
        aliases={"dev": "testa", "valid": "testa", "validation": "testa", "test": "testb"},
        columns=("word", "pos", "ner"),
        fmt="conll",
        sep=None,
        tag="ner",
        sizes=sizes,
        description=desc,
    )


#: Registry of the known corpora: canonical name -> :class:`Corpus`.
#:
#: Examples
#: --------
#: >>> from fastseq.datasets import CORPORA
#: >>> list(CORPORA)
#: ['ud_english_ewt', 'conll2000', 'conll2003', 'conll2002_esp', 'conll2002_ned', 'wnut17']
#: >>> CORPORA["wnut17"].description
#: 'WNUT-17 emerging entities (social media), IOB2'
CORPORA: Dict[str, Corpus] = {
    c.name: c
    for c in (
        Corpus(
            name="ud_english_ewt",
            folder="ud_english_ewt",
            files={
                "train": "en_ewt-ud-train.conllu",
                "dev": "en_ewt-ud-dev.conllu",
                "test": "en_ewt-ud-test.conllu",
            },
            aliases={"valid": "dev", "validation": "dev"},
            columns=CONLLU_FIELDS,
            fmt="conllu",
            sep="\t",
            tag="upos",
            sizes={"train": (12544, 204577), "dev": (2001, 25147), "test": (2077, 25094)},
            description="Universal Dependencies English Web Treebank (UPOS / XPOS tagging)",
        ),
        Corpus(
            name="conll2000",
            folder="conll2000",
            files={"train": "train.txt", "test": "test.txt"},
            aliases={},
            columns=("word", "pos", "chunk"),
            fmt="conll",
            sep=None,
            tag="chunk",
            sizes={"train": (8936, 211727), "test": (2012, 47377)},
            description="CoNLL-2000 chunking (WSJ), IOB2 chunk tags",
        ),
        Corpus(
            name="conll2003",
            folder="conll2003_en",
            files={"train": "train.txt", "valid": "valid.txt", "test": "test.txt"},
            aliases={"dev": "valid", "validation": "valid", "testa": "valid", "testb": "test"},
            columns=("word", "pos", "chunk", "ner"),
            fmt="conll",
            sep=None,
            tag="ner",
            sizes={"train": (14041, 203621), "valid": (3250, 51362), "test": (3453, 46435)},
            description="CoNLL-2003 English NER (Reuters), IOB2",
        ),
        _conll2002(
            "esp",
            "CoNLL-2002 Spanish NER, IOB2",
            {"train": (8323, 264715), "testa": (1915, 52923), "testb": (1517, 51533)},
        ),
        _conll2002(
            "ned",
            "CoNLL-2002 Dutch NER, IOB2",
            {"train": (15806, 202644), "testa": (2895, 37687), "testb": (5195, 68875)},
        ),
        Corpus(
            name="wnut17",
            folder="wnut17",
            files={
                "train": "wnut17train.conll",
                "dev": "emerging.dev.conll",
                "test": "emerging.test.annotated",
            },
            aliases={"valid": "dev", "validation": "dev"},
            columns=("word", "ner"),
            fmt="conll",
            sep="\t",
            tag="ner",
            sizes={"train": (3394, 62730), "dev": (1009, 15733), "test": (1287, 23394)},
            description="WNUT-17 emerging entities (social media), IOB2",
        ),
    )
}

# Alternative corpus names -> canonical.
_NAME_ALIASES = {
    "en_ewt": "ud_english_ewt",
    "ud_en_ewt": "ud_english_ewt",
    "conll2003_en": "conll2003",
    "conll2002_es": "conll2002_esp",
    "conll2002_nl": "conll2002_ned",
    "wnut_17": "wnut17",
}


def available() -> Dict[str, Tuple[str, ...]]:
    """Known corpus names mapped to their canonical split names.

    Returns
    -------
    dict of str to tuple of str
        Canonical corpus name -> canonical split names, in file order. Whether the files
        are present in the data home is not checked.

    Examples
    --------
    >>> from fastseq.datasets import available
    >>> available()["conll2003"]
    ('train', 'valid', 'test')
    >>> sorted(available())
    ['conll2000', 'conll2002_esp', 'conll2002_ned', 'conll2003', 'ud_english_ewt', 'wnut17']
    """
    return {name: c.splits for name, c in CORPORA.items()}


def info(name: str) -> Corpus:
    """The :class:`Corpus` record of a corpus.

    Parameters
    ----------
    name : str
        A canonical name (see :func:`available`) or an alternative one such as
        ``"en_ewt"``, ``"conll2003_en"``, ``"conll2002_es"``, ``"conll2002_nl"`` or
        ``"wnut_17"``; case, surrounding blanks and ``-`` versus ``_`` do not matter.

    Returns
    -------
    Corpus
        The record: folder, files, split aliases, columns, format ...

    Raises
    ------
    TypeError
        If ``name`` is not a str.
    ValueError
        If the corpus is unknown; the message lists the valid names.

    Examples
    --------
    >>> from fastseq.datasets import info
    >>> corpus = info("CoNLL2002-ESP")
    >>> corpus.name, corpus.splits, corpus.tag
    ('conll2002_esp', ('train', 'testa', 'testb'), 'ner')
    >>> info("en_ewt").columns[:4]
    ('id', 'form', 'lemma', 'upos')
    """
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a str, got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    key = _NAME_ALIASES.get(key, key)
    try:
        return CORPORA[key]
    except KeyError:
        raise ValueError(
            f"unknown corpus {name!r}; valid names: {', '.join(CORPORA)}"
        ) from None


def get_data_home(data_home: Optional[PathLike] = None) -> Path:
    """The folder holding the corpora.

    Parameters
    ----------
    data_home : str or os.PathLike, optional
        Used when given; else the ``FASTSEQ_DATA`` environment variable when set (and not
        empty); else ``~/fastseq_data``.

    Returns
    -------
    pathlib.Path
        The folder, with ``~`` expanded; whether it exists is not checked.

    Examples
    --------
    >>> from fastseq.datasets import get_data_home
    >>> str(get_data_home("/data/corpora"))
    '/data/corpora'
    """
    return _resolve_home(data_home)[0]


def _resolve_home(data_home: Optional[PathLike]) -> Tuple[Path, str]:
    """(data home, where it came from, for messages)."""
    if data_home is not None:
        return Path(os.fspath(data_home)).expanduser(), "the `data_home` argument"
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser(), f"the {ENV_VAR} environment variable"
    return Path(DEFAULT_DATA_HOME).expanduser(), f"the default ({ENV_VAR} is not set)"


def path(name: str, split: str, data_home: Optional[PathLike] = None) -> Path:
    """Path of the file holding one split of a corpus.

    Parameters
    ----------
    name : str
        Corpus name (aliases accepted, see :func:`info`).
    split : str
        Split name (aliases accepted, see :meth:`Corpus.resolve_split`).
    data_home : str or os.PathLike, optional
        Folder holding the corpora; default ``$FASTSEQ_DATA``, else ``~/fastseq_data``
        (see :func:`get_data_home`).

    Returns
    -------
    pathlib.Path
        The file, which exists.

    Raises
    ------
    TypeError
        If ``name`` or ``split`` is not a str.
    ValueError
        For an unknown corpus or split.
    FileNotFoundError
        When the file is absent; the message says which file was expected where and how
        to point fastseq at the data (:class:`IsADirectoryError` when it is a directory).

    Examples
    --------
    >>> from fastseq import datasets
    >>> datasets.path("conll2003", "dev")                     # doctest: +SKIP
    PosixPath('/home/me/fastseq_data/conll2003_en/valid.txt')
    >>> datasets.path("conll2003", "dev", data_home="/nowhere")
    Traceback (most recent call last):
        ...
    FileNotFoundError: corpus 'conll2003' split 'valid': expected the file
    ...conll2003_en...valid.txt (data home ...nowhere, from the `data_home` argument), but
    it does not exist. Pass data_home=PATH or set FASTSEQ_DATA=PATH, where PATH is the
    folder that contains conll2003_en/.
    """
    corpus = info(name)
    canon = corpus.resolve_split(split)
    rel = Path(corpus.folder) / corpus.files[canon]
    home, origin = _resolve_home(data_home)
    full = home / rel
    if full.is_dir():
        raise IsADirectoryError(
            f"corpus {corpus.name!r} split {canon!r}: expected the file {full}, but it is a "
            "directory"
        )
    if not full.exists():
        raise FileNotFoundError(
            f"corpus {corpus.name!r} split {canon!r}: expected the file {full} (data home "
            f"{home}, from {origin}), but it does not exist. Pass data_home=PATH or set "
            f"{ENV_VAR}=PATH, where PATH is the folder that contains {corpus.folder}/."
        )
    return full


def load(name: str, split: str, data_home: Optional[PathLike] = None) -> List[Sentence]:
    """Load one split of a corpus.

    Parameters
    ----------
    name : str
        One of ``ud_english_ewt``, ``conll2000``, ``conll2003``, ``conll2002_esp``,
        ``conll2002_ned``, ``wnut17`` (see :func:`available`).
    split : str
        A canonical split of that corpus or an alias: ``"train"``; ``"dev"`` (=
        ``valid`` for conll2003, ``testa`` for conll2002; conll2000 has none); ``"test"``
        (= ``testb`` for conll2002).
    data_home : str or os.PathLike, optional
        Folder holding the corpora; default ``$FASTSEQ_DATA``, else ``~/fastseq_data``.

    Returns
    -------
    list of dict
        One ``{column: [values]}`` dict per sentence (see :mod:`fastseq.io`) with columns:

        ============== ====================================================
        ud_english_ewt id, form, lemma, upos, xpos, feats, head, deprel, deps, misc
        conll2000      word, pos, chunk
        conll2003      word, pos, chunk, ner
        conll2002_*    word, pos, ner
        wnut17         word, ner
        ============== ====================================================

        ``-DOCSTART-`` lines are dropped; CoNLL-U multiword tokens and empty nodes skipped.

    Raises
    ------
    TypeError
        If ``name`` or ``split`` is not a str.
    ValueError
        For an unknown corpus or split.
    fastseq.exceptions.DataFileError
        For a malformed file (a :class:`ValueError`; see :func:`fastseq.io.read_conll`):
        the message names the file and line.
    FileNotFoundError
        When the file is absent from the data home (see :func:`path`).

    See Also
    --------
    load_tagged : The same as ``[(word, tag), ...]`` lists.

    Examples
    --------
    >>> from fastseq import datasets
    >>> train = datasets.load("conll2003", "train")            # doctest: +SKIP
    >>> len(train), list(train[0])                              # doctest: +SKIP
    (14041, ['word', 'pos', 'chunk', 'ner'])
    >>> train[0]["word"][:3], train[0]["ner"][:3]               # doctest: +SKIP
    (['EU', 'rejects', 'German'], ['B-ORG', 'O', 'B-MISC'])
    """
    corpus = info(name)
    file = path(corpus.name, split, data_home)
    if corpus.fmt == "conllu":
        return read_conllu(file, fields=corpus.columns)
    return read_conll(file, columns=corpus.columns, sep=corpus.sep)


def load_tagged(
    name: str,
    split: str,
    tag: Optional[str] = None,
    data_home: Optional[PathLike] = None,
) -> List[List[Tuple[str, str]]]:
    """Load a split as ``[[(word, tag), ...], ...]``, ready for a tagger's ``train``.

    Parameters
    ----------
    name : str
        Corpus name (aliases accepted, see :func:`info`).
    split : str
        Split name (aliases accepted, see :func:`load`).
    tag : str, optional
        The label column (default: ``upos`` for ud_english_ewt, ``chunk`` for conll2000,
        ``ner`` otherwise). The word column is ``form`` for CoNLL-U, else ``word``.
    data_home : str or os.PathLike, optional
        Folder holding the corpora; default ``$FASTSEQ_DATA``, else ``~/fastseq_data``.

    Returns
    -------
    list of list of (str, str)
        One ``[(word, tag), ...]`` list per sentence.

    Raises
    ------
    TypeError
        If ``name`` or ``split`` is not a str.
    ValueError
        For an unknown corpus, split or ``tag`` column.
    fastseq.exceptions.DataFileError
        For a malformed file (a :class:`ValueError`), naming the file and line.
    FileNotFoundError
        When the file is absent from the data home (see :func:`path`).

    See Also
    --------
    load : The sentences with all their columns.

    Examples
    --------
    >>> from fastseq import datasets
    >>> pairs = datasets.load_tagged("conll2003", "train")      # doctest: +SKIP
    >>> pairs[0][:3]                                             # doctest: +SKIP
    [('EU', 'B-ORG'), ('rejects', 'O'), ('German', 'B-MISC')]
    >>> datasets.load_tagged("ud_english_ewt", "dev", tag="xpos")[0][:2]  # doctest: +SKIP
    [('From', 'IN'), ('the', 'DT')]
    """
    corpus = info(name)
    tag = corpus.tag if tag is None else tag
    if tag not in corpus.columns:
        raise ValueError(
            f"corpus {corpus.name!r} has no column {tag!r}; columns: {', '.join(corpus.columns)}"
        )
    word = "form" if corpus.fmt == "conllu" else "word"
    return to_tagged(load(corpus.name, split, data_home), word=word, tag=tag)
