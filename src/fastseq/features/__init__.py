"""Token feature templates: sentences -> sparse feature matrices (or python-crfsuite lists).

A *template* says which attribute a token gets from its neighbourhood, in CRFsuite's
notation: a tuple of ``(field, offset)`` pairs. ``(("w", -1), ("w", 0))`` gives the token at
position t the attribute ``"w[-1]|w[0]=the|cat"`` (previous and current word); a template
whose offsets fall outside the sentence gives no attribute, exactly as CRFsuite's
``example/template.py`` does. Three special templates take no fields: ``"__BOS__"`` (on the
first token), ``"__EOS__"`` (on the last) and ``"bias"`` (on every token). The type of a
template is ``Template``, an alias of ``Union[str, Tuple[Tuple[str, int], ...]]``.

A *field* is an input column -- ``"w"`` (the word; read from a sentence's ``"w"``,
``"word"``, ``"form"`` or ``"token"`` column: :data:`COLUMN_ALIASES`), ``"pos"`` (``"pos"`` or
``"xpos"``), ``"chunk"``, or any other column name -- optionally followed by
transformations separated by dots, applied left to right: ``"w.lower"``, ``"w.lower.s3"``
(last three characters of the lower-cased word), ``"pos.p2"`` (first two characters of the
POS tag). Transformations:

================= =============================================================
``lower``         lower case
``shape``         every upper-case letter -> ``X``, lower-case -> ``x``, digit -> ``d``,
                  other characters kept (``"McDonald's"`` -> ``"XxXxxxxx'x"``); capped at
                  20 chars (:func:`word_shape`)
``sshape``        the shape of the whole word (no cap) with runs collapsed (``"XxXx'x"``;
                  :func:`short_shape`)
``p1`` .. ``p9``  the first k characters (prefix)
``s1`` .. ``s9``  the last k characters (suffix)
``istitle``,      ``"1"`` / ``"0"`` flags: ``str.istitle``, ``str.isupper``,
``isupper``,      ``str.islower``, ``str.isdigit``; ``hasdigit`` (any digit),
``islower``,      ``hashyphen`` (a ``-``), ``ispunct`` (no letter or digit),
``isdigit``,      ``hasupper`` (an upper-case letter after the first character)
``hasdigit``,
``hashyphen``,
``ispunct``,
``hasupper``
``len``           the length, ``"0"`` .. ``"9"`` and ``"10+"``
``sentcase``      (sentence-level, alone) the case of the whole sentence: ``"U"`` all
                  capitals, ``"T"`` mostly capitalised words (a title), ``"L"`` all lower
                  case, ``"M"`` mixed -- capitalisation means something else in a headline
``isfirst``       (sentence-level, alone) ``"1"`` for the first token, else ``"0"``
================= =============================================================

Built-in template sets (:data:`TEMPLATE_SETS`; templates reading a column the data does not
have are dropped, so ``"ner"`` works with and without POS / chunk columns):

* ``"crfsuite_chunk"`` -- CRFsuite's chunking templates (``example/chunking.py``): words at
  -2..2, the two adjacent word bigrams, POS at -2..2, the four POS bigrams and three POS
  trigrams, ``__BOS__`` / ``__EOS__``. Attribute names are CRFsuite's, so a model trained on
  them here and one trained by CRFsuite see the same attributes.
* ``"pos"`` -- part-of-speech tagging from words only: the word and its lower case, prefixes
  and suffixes of 1-5 characters, word shape, capitalisation / digit / hyphen flags, the
  words at -2..2 (lower-cased; also as written at -1, 1), word bigrams, suffixes and shapes
  of the neighbours (also with the word), the word with the words two away, and the case of
  the whole sentence with the word's capitalisation. :class:`fastseq.taggers.CRFTagger`
  stacks two CRFs on it by default (``stack``), the second adding :func:`stack_templates`.
* ``"chunk"`` -- ``"crfsuite_chunk"`` plus lower case, suffixes, shape and flags of the word
  and word/POS combinations.
* ``"ner"`` -- named entities: the word, its lower case, prefixes and suffixes of 1-4
  characters, shapes and flags; lower-cased words and shapes at -2..2 with bigrams,
  capitalisation flags of the neighbours, the case of the whole sentence (headlines), POS
  and chunk columns at -2..2 where the corpus has them.

Usage:

>>> from fastseq.features import FeatureExtractor
>>> fx = FeatureExtractor("crfsuite_chunk")
>>> sents = [{"word": ["He", "reckons"], "pos": ["PRP", "VBZ"]}]
>>> F = fx.fit_transform(sents)         # Featurized: CSR matrix (tokens x attributes)
>>> F.matrix.shape, F.lengths.tolist()
((2, 14), [2])
>>> fx.to_lists(sents)[0][1][:3]          # python-crfsuite's list-of-strings format
['w[-1]=He', 'w[0]=reckons', 'w[-1]|w[0]=He|reckons']

Speed: transformations run once per distinct value of a column in the call, not per token,
and the attributes of all tokens of all sentences are computed with a handful of numpy
operations per template (integer keys looked up in sorted tables), so extraction costs
about one dictionary lookup per token and column plus vectorised work.

The package: ``transforms`` (field transformations), ``templates`` (template notation and
the built-in sets), ``columns`` (sentences read per column), ``extractor``
(:class:`FeatureExtractor` and :class:`Featurized`).
"""
from __future__ import annotations

from . import columns as _columns
from . import templates as _templates
from .extractor import FeatureExtractor, Featurized
from .templates import Template, attribute_name, stack_templates, template_set
from .transforms import short_shape, word_shape

#: The built-in template sets: name -> function returning the set's templates.
#:
#: ``"crfsuite_chunk"``, ``"pos"``, ``"chunk"`` and ``"ner"`` (see :mod:`fastseq.features`);
#: use :func:`template_set` to get one.
#:
#: Examples
#: --------
#: >>> from fastseq.features import TEMPLATE_SETS
#: >>> list(TEMPLATE_SETS), len(TEMPLATE_SETS["pos"]())
#: (['crfsuite_chunk', 'pos', 'chunk', 'ner'], 62)
TEMPLATE_SETS = _templates.TEMPLATE_SETS

#: The column holding the first level's tags in a stacked tagger (``CRFTagger(stack=...)``).
#:
#: The templates of :func:`stack_templates` read it.
#:
#: Examples
#: --------
#: >>> from fastseq.features import STACK_COLUMN, stack_templates
#: >>> STACK_COLUMN, stack_templates()[0]
#: ('tag1', (('tag1', -2),))
STACK_COLUMN = _templates.STACK_COLUMN

#: The default names of the input columns when sentences are given as token tuples.
#:
#: A tuple of width k uses the first k names; pass ``columns=`` to
#: :class:`FeatureExtractor` for others.
#:
#: Examples
#: --------
#: >>> from fastseq.features import DEFAULT_COLUMNS, FeatureExtractor
#: >>> DEFAULT_COLUMNS
#: ('w', 'pos', 'chunk')
#: >>> FeatureExtractor([(("chunk", 0),)]).to_lists([[("He", "PRP", "B-NP")]])
#: [[['chunk[0]=B-NP']]]
DEFAULT_COLUMNS = _columns.DEFAULT_COLUMNS

#: The sentence keys that feed each template column (the first one present wins).
#:
#: A template column without an entry reads the sentence key of its own name.
#:
#: Examples
#: --------
#: >>> from fastseq.features import COLUMN_ALIASES, FeatureExtractor
#: >>> COLUMN_ALIASES["w"]
#: ('w', 'word', 'form', 'token')
#: >>> FeatureExtractor([(("w", 0),)]).to_lists([{"form": ["Hi"], "upos": ["INTJ"]}])
#: [[['w[0]=Hi']]]
COLUMN_ALIASES = _columns.COLUMN_ALIASES

__all__ = [
    "FeatureExtractor", "Featurized", "Template", "TEMPLATE_SETS", "template_set",
    "stack_templates", "STACK_COLUMN", "DEFAULT_COLUMNS", "COLUMN_ALIASES", "word_shape",
    "short_shape", "attribute_name",
]
