"""Feature templates: CRFsuite's ``(field, offset)`` notation and the built-in sets."""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Sequence, Tuple, Union

import numpy as np

from .transforms import SENTENCE_TRANSFORMS, transform

__all__ = ["Template", "SPECIAL_TEMPLATES", "TEMPLATE_SETS", "STACK_COLUMN", "template_set",
           "stack_templates", "template_prefix", "attribute_name", "normalize_template",
           "check_min_count", "fields_of"]

#: a template: a tuple of ``(field, offset)`` pairs, or one of :data:`SPECIAL_TEMPLATES`
Template = Union[str, Tuple[Tuple[str, int], ...]]

#: templates that read no field: on the first token, on the last, on every token
SPECIAL_TEMPLATES = ("__BOS__", "__EOS__", "bias")


def _win(field: str, offsets: Iterable[int]) -> List[Template]:
    return [((field, o),) for o in offsets]


def _ngrams(field: str, spans: Iterable[Tuple[int, ...]]) -> List[Template]:
    return [tuple((field, o) for o in span) for span in spans]


def _crfsuite_chunk() -> List[Template]:
    return (_win("w", range(-2, 3)) + _ngrams("w", [(-1, 0), (0, 1)])
            + _win("pos", range(-2, 3))
            + _ngrams("pos", [(-2, -1), (-1, 0), (0, 1), (1, 2)])
            + _ngrams("pos", [(-2, -1, 0), (-1, 0, 1), (0, 1, 2)])
            + ["__BOS__", "__EOS__"])


_FLAGS = ("w.istitle", "w.isupper", "w.islower", "w.isdigit", "w.hasdigit", "w.hashyphen",
          "w.ispunct", "w.hasupper")


def _word_features() -> List[Template]:
    t: List[Template] = ["bias", (("w", 0),), (("w.lower", 0),), (("w.shape", 0),),
                         (("w.sshape", 0),), (("w.len", 0),)]
    t += [((f"w.lower.p{k}", 0),) for k in range(1, 5)]
    t += [((f"w.lower.s{k}", 0),) for k in range(1, 5)]
    t += [((f, 0),) for f in _FLAGS]
    return t


def _sentence_case() -> List[Template]:
    return [(("w.sentcase", 0), ("w.istitle", 0)), (("w.sentcase", 0), ("w.sshape", 0)),
            (("w.sentcase", 0), ("w.lower", 0)), (("w.isfirst", 0), ("w.istitle", 0)),
            (("w.isfirst", 0), ("w.lower", 0))]


def _pos_set() -> List[Template]:
    t = _word_features()
    t += [(("w.lower.p5", 0),), (("w.lower.s5", 0),)]
    t += _win("w", (-1, 1)) + _win("w.lower", (-2, -1, 1, 2))
    t += _ngrams("w.lower", [(-2, -1), (-1, 0), (0, 1), (1, 2), (-1, 1)])
    t += [(("w.lower.s3", -1),), (("w.lower.s3", 1),), (("w.lower.s2", -1),),
          (("w.lower.s2", 1),), (("w.lower.s1", -1),), (("w.lower.s1", 1),)]
    t += _win("w.sshape", (-2, -1, 1, 2))
    t += [(("w.istitle", -1),), (("w.istitle", 1),)]
    t += [(("w.lower.s3", 0), ("w.lower", -1)), (("w.lower.s3", 0), ("w.lower", 1)),
          (("w.sshape", 0), ("w.lower.s3", 0))]
    # the word with its neighbours' spelling and with the words two away: "to" + "-ing", ...
    t += [(("w.lower", 0), ("w.lower.s3", 1)), (("w.lower.s3", -1), ("w.lower", 0)),
          (("w.lower", 0), ("w.sshape", 1)), (("w.lower", 0), ("w.lower", 2)),
          (("w.lower", -2), ("w.lower", 0))]
    t += _sentence_case()
    t += ["__BOS__", "__EOS__"]
    return t


def _chunk_set() -> List[Template]:
    t = _crfsuite_chunk()
    t += ["bias", (("w.lower", 0),), (("w.sshape", 0),), (("w.lower.s2", 0),),
          (("w.lower.s3", 0),), (("w.istitle", 0),), (("w.hasdigit", 0),),
          (("w.hashyphen", 0),)]
    t += _win("w.lower", (-1, 1))
    t += [(("w.lower", 0), ("pos", 0)), (("w.lower", -1), ("pos", 0)),
          (("pos", -1), ("w.lower", 0)), (("w.lower", 1), ("pos", 0)),
          (("pos", 1), ("w.lower", 0)), (("w.lower.s3", 0), ("pos", 0))]
    return t


def _ner_set() -> List[Template]:
    t = _word_features()
    t += _win("w.lower", (-2, -1, 1, 2))
    t += _win("w.sshape", (-2, -1, 1, 2))
    t += _ngrams("w.lower", [(-1, 0), (0, 1)])
    t += _ngrams("w.sshape", [(-1, 0), (0, 1)])
    t += [(("w.istitle", -1),), (("w.istitle", 1),), (("w.isupper", -1),),
          (("w.isupper", 1),)]
    t += [(("w.lower.s3", -1),), (("w.lower.s3", 1),)]
    t += [(("w.lower", -1), ("w.sshape", 0)), (("w.sshape", 0), ("w.lower", 1))]
    t += _win("pos", range(-2, 3)) + _ngrams("pos", [(-1, 0), (0, 1)])
    t += [(("pos", 0), ("w.sshape", 0))]
    t += _win("chunk", range(-2, 3)) + _ngrams("chunk", [(-1, 0), (0, 1)])
    t += _sentence_case()
    t += ["__BOS__", "__EOS__"]
    return t


#: name -> function returning the templates of a built-in set
TEMPLATE_SETS: Dict[str, Callable[[], List[Template]]] = {
    "crfsuite_chunk": _crfsuite_chunk,
    "pos": _pos_set,
    "chunk": _chunk_set,
    "ner": _ner_set,
}


#: the column holding the first level's tags in a stacked tagger (``CRFTagger(stack=...)``)
STACK_COLUMN = "tag1"


def stack_templates() -> List[Template]:
    """The templates the second level of a stacked tagger adds to its own.

    Templates over the first level's tags (column :data:`STACK_COLUMN`, ``"tag1"``): the
    tags at -2..2, tag bigrams around the token, and the neighbours' tags with the word,
    its suffix and its shape -- the observation-dependent tag context that a first-order
    CRF's transitions cannot express. :class:`fastseq.taggers.CRFTagger` uses them with
    ``stack``.

    Returns
    -------
    list of Template
        16 templates, a new list on every call.

    See Also
    --------
    template_set : The built-in template sets.

    Examples
    --------
    >>> from fastseq.features import stack_templates
    >>> t = stack_templates()
    >>> len(t), t[0], t[5]
    (16, (('tag1', -2),), (('tag1', -2), ('tag1', -1)))
    """
    p = STACK_COLUMN
    return (_win(p, range(-2, 3)) + _ngrams(p, [(-2, -1), (-1, 1), (1, 2)])
            + [((p, 0), ("w.lower", 0)), ((p, -1), ("w.lower", 0)), (("w.lower", 0), (p, 1)),
               ((p, -1), ("w.lower", 0), (p, 1)),
               (("w.lower.s3", 0), (p, -1)), (("w.lower.s3", 0), (p, 1)),
               (("w.sshape", 0), (p, -1)), (("w.sshape", 0), (p, 1))])


def check_min_count(mc: Any) -> Union[int, Dict[str, int]]:
    """Check a ``min_count`` argument of :class:`fastseq.features.FeatureExtractor`.

    Parameters
    ----------
    mc : int, dict of str to int, or None
        The minimum training count of a field's values: for every field (an int), per
        field (a dict ``{field: count}``), or None (1: keep everything).

    Returns
    -------
    int or dict of str to int
        ``mc`` with Python ints (1 for None).

    Raises
    ------
    TypeError
        If a key of a dict is not a str.
    ValueError
        If a count is not an int >= 1 (a bool or a float included).

    Examples
    --------
    >>> from fastseq.features.templates import check_min_count
    >>> check_min_count(None), check_min_count(2), check_min_count({"w": 3})
    (1, 2, {'w': 3})
    """
    if mc is None:
        return 1
    if isinstance(mc, dict):
        out = {}
        for k, v in mc.items():
            if not isinstance(k, str):
                raise TypeError(f"`min_count` keys must be field names (str), got {k!r}")
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"`min_count[{k!r}]` must be an int >= 1, got {v!r}")
            out[k] = int(v)
        return out
    if isinstance(mc, bool) or not isinstance(mc, (int, np.integer)) or mc < 1:
        raise ValueError(f"`min_count` must be an int >= 1 or a dict of them, got {mc!r}")
    return int(mc)


def template_set(name: str) -> List[Template]:
    """The templates of a built-in set.

    The sets are described in :mod:`fastseq.features`.

    Parameters
    ----------
    name : {"crfsuite_chunk", "pos", "chunk", "ner"}
        The set (a key of :data:`TEMPLATE_SETS`).

    Returns
    -------
    list of Template
        Its templates, a new list on every call.

    Raises
    ------
    ValueError
        For an unknown name.

    See Also
    --------
    stack_templates : The templates of the second level of a stacked tagger.

    Examples
    --------
    >>> from fastseq.features import template_set
    >>> t = template_set("crfsuite_chunk")
    >>> len(t), t[:2], t[-2:]
    (21, [(('w', -2),), (('w', -1),)], ['__BOS__', '__EOS__'])
    """
    try:
        return TEMPLATE_SETS[name]()
    except KeyError:
        raise ValueError(f"unknown template set {name!r}; built-in sets: "
                         f"{', '.join(TEMPLATE_SETS)}") from None


def template_prefix(tpl: Template) -> str:
    """The part of a template's attribute names before the values.

    Parameters
    ----------
    tpl : Template
        A normalised template.

    Returns
    -------
    str
        ``"f1[o1]|f2[o2]="`` for a template of ``(field, offset)`` pairs; a special
        template itself.

    Examples
    --------
    >>> from fastseq.features.templates import template_prefix
    >>> template_prefix((("w", -1), ("w", 0))), template_prefix("bias")
    ('w[-1]|w[0]=', 'bias')
    """
    if isinstance(tpl, str):
        return tpl
    return "|".join(f"{f}[{o}]" for f, o in tpl) + "="


def attribute_name(tpl: Template, values: Sequence[str]) -> str:
    """The name of the attribute a template gives for some field values.

    CRFsuite's notation: the template's ``field[offset]`` parts joined by ``"|"``, ``"="``,
    then the values joined by ``"|"``.

    Parameters
    ----------
    tpl : Template
        A normalised template: a tuple of ``(field, offset)`` pairs or a special template.
    values : sequence of str
        The value of each field of the template, in order (ignored for a special
        template).

    Returns
    -------
    str
        The attribute name (a special template's name is the template itself).

    Examples
    --------
    >>> from fastseq.features import attribute_name
    >>> attribute_name((("w", -1), ("w", 0)), ["the", "cat"])
    'w[-1]|w[0]=the|cat'
    >>> attribute_name((("w.lower.s3", 0),), ["ing"]), attribute_name("bias", [])
    ('w.lower.s3[0]=ing', 'bias')
    """
    if isinstance(tpl, str):
        return tpl
    return template_prefix(tpl) + "|".join(values)


def normalize_template(tpl: Any, i: int) -> Template:
    """Check a template and return it in canonical form.

    Parameters
    ----------
    tpl : str or sequence of (str, int)
        One of :data:`SPECIAL_TEMPLATES`, or a non-empty sequence of ``(field, offset)``
        pairs (tuples or lists).
    i : int
        The template's index, for the error messages.

    Returns
    -------
    Template
        The special template, or a tuple of ``(field, offset)`` tuples with int offsets.

    Raises
    ------
    TypeError
        If ``tpl`` is neither a str nor iterable, or a part is not a ``(str, int)`` pair.
    ValueError
        For an unknown special template, an empty template, an empty field name or
        transformation, an unknown transformation, or a sentence-level transformation
        that is not the only one of its field.

    Examples
    --------
    >>> from fastseq.features.templates import normalize_template
    >>> normalize_template([["w.lower", 0], ("pos", -1)], 0)
    (('w.lower', 0), ('pos', -1))
    >>> normalize_template("EOS", 3)
    Traceback (most recent call last):
        ...
    ValueError: `templates[3]`: unknown special template 'EOS'; ...
    """
    if isinstance(tpl, str):
        if tpl not in SPECIAL_TEMPLATES:
            raise ValueError(f"`templates[{i}]`: unknown special template {tpl!r}; a template "
                             f"is one of {SPECIAL_TEMPLATES} or a tuple of (field, offset) pairs")
        return tpl
    try:
        parts = tuple(tpl)
    except TypeError:
        raise TypeError(f"`templates[{i}]` must be a tuple of (field, offset) pairs or one of "
                        f"{SPECIAL_TEMPLATES}, got {type(tpl).__name__}") from None
    if not parts:
        raise ValueError(f"`templates[{i}]` is empty")
    out = []
    for p in parts:
        if (not isinstance(p, (tuple, list)) or len(p) != 2 or not isinstance(p[0], str)
                or isinstance(p[1], bool) or not isinstance(p[1], (int, np.integer))):
            raise TypeError(f"`templates[{i}]`: each part must be a (field: str, offset: int) "
                            f"pair, got {p!r}")
        field = p[0]
        if not field or any(not x for x in field.split(".")):
            raise ValueError(f"`templates[{i}]`: bad field name {field!r}")
        fns = field.split(".")[1:]
        if any(fn in SENTENCE_TRANSFORMS for fn in fns):
            if len(fns) != 1:
                raise ValueError(f"`templates[{i}]`: {field!r}: a sentence-level "
                                 f"transformation ({', '.join(SENTENCE_TRANSFORMS)}) must be "
                                 "the only one of its field")
        else:
            for fn in fns:
                transform(fn)  # raises for unknown names
        out.append((field, int(p[1])))
    return tuple(out)


def fields_of(templates: Sequence[Template]) -> List[str]:
    """The distinct fields the templates read, in order of first use.

    Parameters
    ----------
    templates : sequence of Template
        Normalised templates.

    Returns
    -------
    list of str
        The fields.

    Examples
    --------
    >>> from fastseq.features.templates import fields_of
    >>> fields_of([(("w", 0), ("pos", 1)), "bias", (("w", 1),)])
    ['w', 'pos']
    """
    seen: Dict[str, None] = {}
    for t in templates:
        if not isinstance(t, str):
            for f, _ in t:
                seen.setdefault(f, None)
    return list(seen)
