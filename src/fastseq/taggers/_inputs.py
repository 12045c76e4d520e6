"""Checks of the sentences the taggers read."""
from __future__ import annotations

from typing import Iterable, List, Optional, Tuple

import numpy as np

__all__ = ["check_tagged", "check_tokens", "offsets"]


def _is_str_seq(x) -> bool:
    return isinstance(x, (list, tuple))


def check_tagged(sents, what: str) -> List[List[Tuple[str, str]]]:
    """Validate ``[[(word, tag), ...], ...]`` and return it as lists of tuples."""
    if isinstance(sents, (str, bytes)) or not isinstance(sents, Iterable):
        raise TypeError(f"`{what}` must be a list of sentences, each a list of (word, tag) "
                        f"pairs, got {type(sents).__name__}")
    out: List[List[Tuple[str, str]]] = []
    for k, sent in enumerate(sents):
        if type(sent) is list or type(sent) is tuple:
            # fast path: tuples of two non-empty str (all checks run at C speed)
            if not sent:
                out.append([])
                continue
            if set(map(type, sent)) == {tuple} and set(map(len, sent)) == {2}:
                words, tags = zip(*sent)
                if set(map(type, words)) == {str} and set(map(type, tags)) == {str} \
                        and all(words) and all(tags):
                    out.append(sent if type(sent) is list else list(sent))
                    continue
        if isinstance(sent, (str, bytes)) or not isinstance(sent, Iterable):
            raise TypeError(f"`{what}`: sentence {k} must be a list of (word, tag) pairs, "
                            f"got {type(sent).__name__}")
        toks = []
        for i, tok in enumerate(sent):
            if isinstance(tok, str) or not _is_str_seq(tok) or len(tok) != 2:
                raise ValueError(
                    f"`{what}`: sentence {k}, token {i} is not a (word, tag) pair: {tok!r} "
                    "(untagged token?)")
            w, t = tok
            if not isinstance(w, str) or not isinstance(t, str):
                raise TypeError(f"`{what}`: sentence {k}, token {i}: word and tag must be str, "
                                f"got ({type(w).__name__}, {type(t).__name__})")
            if not w or not t:
                raise ValueError(f"`{what}`: sentence {k}, token {i}: empty word or tag {tok!r}")
            toks.append((w, t))
        out.append(toks)
    return out


def check_tokens(tokens, what: str, k: Optional[int] = None) -> List[str]:
    where = f"`{what}`" if k is None else f"`{what}`: sentence {k}"
    if isinstance(tokens, str):
        raise TypeError(f"{where} must be a list of tokens, not a str (split it first, "
                        "e.g. text.split())")
    if isinstance(tokens, bytes) or not isinstance(tokens, Iterable):
        raise TypeError(f"{where} must be a list of str tokens, got {type(tokens).__name__}")
    tokens = list(tokens)
    if not tokens or (set(map(type, tokens)) == {str} and all(tokens)):
        return tokens
    for i, tok in enumerate(tokens):
        if not isinstance(tok, str):
            raise TypeError(f"{where}: token {i} must be a str, got {type(tok).__name__} {tok!r}")
        if not tok:
            raise ValueError(f"{where}: token {i} is an empty string")
    return tokens



def offsets(lengths: np.ndarray) -> np.ndarray:
    """``(B + 1,)`` start rows of sequences of ``lengths``, ending with their total."""
    off = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=off[1:])
    return off

