"""Decode any tagger's per-token scores into the best legal label sequences.

:func:`decode` is the call that turns a token-classification model's logits (a transformer,
a BiLSTM, anything producing one score per token and label) into well-formed tag sequences:
with ``labels`` and ``scheme`` it forbids the moves the tagging scheme does not allow
(``O -> I-PER`` under IOB2, ...), with ``transitions`` it is a full linear-chain CRF Viterbi
decode, and with both, both apply. The work is one call of :func:`fastseq.viterbi` (or
:func:`fastseq.kbest`) over the whole batch, in C, on every core.
"""
from __future__ import annotations

import numbers
from typing import Any, List, Optional, Sequence

import numpy as np
from numpy.typing import ArrayLike

from . import ops
from .schemes import allowed_transitions, normalize_scheme

__all__ = ["decode"]


def _scores_array(scores):
    """``scores`` as a numpy float array, without copying where possible."""
    if hasattr(scores, "detach") and hasattr(scores, "device"):  # torch tensor
        import torch

        t = scores.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        if t.is_floating_point() and t.dtype not in (torch.float32, torch.float64):
            t = t.float()  # float16 / bfloat16 (numpy has no bfloat16)
        scores = t
    arr = ops.as_numpy(scores, "scores")
    if arr.dtype.kind == "f":
        if arr.dtype not in (np.float32, np.float64):
            arr = arr.astype(np.float64)
        return arr
    if arr.dtype.kind in "iu":
        return arr.astype(np.float64)
    raise TypeError(f"`scores` must be an array of real numbers, got dtype {arr.dtype}")


def _host(x):
    """Torch tensors on another device (a GPU) -> CPU tensors; anything else unchanged."""
    if hasattr(x, "detach") and hasattr(x, "device") and x.device.type != "cpu":
        return x.detach().cpu()
    return x


def _vector(x, name, shape):
    """A model parameter as a numpy array in its own dtype: casting it to the dtype of the
    scores could turn a large float64 value into a float32 inf (the kernels pick the
    computation dtype from all inputs)."""
    if x is None:
        return None
    arr = ops.as_numpy(_host(x), name)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"`{name}` must be an array of real numbers, got dtype {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"`{name}` must have shape {shape} to match `scores` "
                         f"(N = {shape[-1]} tags on its last axis), got {arr.shape}")
    return arr


def _check_defined(arr, name):
    """NaN and +inf are errors even where the scheme forbids the move (masking would hide
    them): they mean a broken model, not a score."""
    if arr is None or arr.size == 0 or bool(np.all(arr < np.inf)):  # NaN < inf is False
        return
    if np.isnan(arr).any():
        raise ValueError(f"`{name}` contains NaN")
    raise ValueError(f"`{name}` contains +inf (use -inf for forbidden entries)")


# The functional API names the scores `emissions` and the number of paths `k`.
_RENAMED = (("`emissions`", "`scores`"), ("`k`", "`nbest`"))


def _op(fn, *args, **kwargs):
    """Call a function of :mod:`fastseq.ops`, its errors naming decode's arguments."""
    try:
        return fn(*args, **kwargs)
    except (ValueError, TypeError) as e:
        msg = str(e)
        for old, new in _RENAMED:
            msg = msg.replace(old, new)
        if msg == str(e):
            raise
        raise type(e)(msg).with_traceback(e.__traceback__) from None


def _lengths_from(mask, lengths, B, T):
    if mask is None:
        return lengths
    if lengths is not None:
        raise ValueError("pass either `lengths` or `mask`, not both")
    m = ops.as_numpy(_host(mask), "mask")
    if m.shape != (B, T):
        raise ValueError(f"`mask` must have shape (B, T) = ({B}, {T}) to match `scores`, "
                         f"got {m.shape}")
    if m.dtype.kind not in "biu":
        raise TypeError(f"`mask` must be boolean, got dtype {m.dtype}")
    m = m.astype(bool, copy=False)
    if T > 1:
        gap = m[:, 1:] & ~m[:, :-1]  # an "on" after an "off"
        if gap.any():
            b = int(np.argmax(gap.any(axis=1)))
            raise ValueError(
                "`mask` must be a contiguous prefix per sequence (positions 0..length-1 on, "
                f"the rest off); row {b} is {m[b].astype(int).tolist()}")
    return m.sum(axis=1, dtype=np.int64)


def decode(scores: ArrayLike, *, labels: Optional[Sequence[str]] = None,
           scheme: Optional[str] = None, transitions: Optional[ArrayLike] = None,
           start: Optional[ArrayLike] = None, end: Optional[ArrayLike] = None,
           lengths: Optional[ArrayLike] = None, mask: Optional[ArrayLike] = None,
           nbest: int = 1, n_threads: Optional[int] = None) -> Optional[List[Any]]:
    """Best legal paths through per-token ``scores``.

    Parameters
    ----------
    scores : array-like, ``(T, N)`` or ``(B, T, N)``
        Per-token scores of the ``N`` labels (logits or log-probabilities; any real
        numbers, ``-inf`` = impossible): one sequence ``(T, N)``; a padded batch
        ``(B, T, N)``; or, with ``lengths``, a 2-D ``(L, N)`` concatenation of sequences
        (``lengths`` summing to ``L``). numpy arrays, torch tensors (CPU tensors are read
        without copying; others are moved to the CPU) and any DLPack / buffer-protocol array.
        float32 scores are decoded in float32 unless ``transitions``, ``start`` or ``end``
        are given in another dtype (then, as in :func:`fastseq.viterbi`, in float64);
        float64 scores in float64; integer and other float dtypes are converted to float64
        (torch float16 / bfloat16 to float32).
    labels : sequence of str, optional
        The label of each of the ``N`` columns (e.g. ``model.config.id2label`` values in
        order). When given, the paths are returned as label strings.
    scheme : str, optional
        A tagging scheme (``"IOB1", "IOB2"``/``"BIO", "IOE1", "IOE2", "IOBES"``/``"BIOES",
        "BILOU"``); needs ``labels``. Moves the scheme forbids get ``-inf`` (see
        :func:`fastseq.allowed_transitions`): e.g. under IOB2 no sequence starts with
        ``I-x`` and ``I-x`` follows only ``B-x`` or ``I-x``.
    transitions : array-like ``(N, N)``, optional
        ``transitions[i, j]`` scores label ``j`` right after label ``i`` (a CRF's transition
        matrix): the decode is then a full linear-chain CRF Viterbi.
    start, end : array-like ``(N,)``, optional
        Scores of the first / last label of a sequence.
    lengths : array-like ``(B,)`` of int, optional
        Sequence lengths of a padded batch (positions ``>= lengths[b]`` are ignored), or
        of the concatenated layout.
    mask : array-like ``(B, T)`` of bool, optional
        Alternative to ``lengths`` for a padded batch: ``True`` at the real tokens, which
        must be a prefix of each row (padding on the right).
    nbest : int
        ``1``: the best path; ``k > 1``: the k best distinct paths, best first.
    n_threads : int, optional
        Threads for the kernels (``None``: every core this process may use).

    Returns
    -------
    paths : list or None
        Python lists, each path cut to its sequence's length. A path is a ``list`` of
        label strings when ``labels`` is given, else a ``list`` of int label indices.

        * one sequence (2-D ``scores``, no ``lengths``): a path; with ``nbest > 1`` a list
          of up to ``nbest`` paths;
        * a batch: a list with one entry per sequence, each a path (or, with
          ``nbest > 1``, a list of up to ``nbest`` paths).

        Only allowed paths are returned: with ``nbest > 1`` a sequence with fewer than
        ``nbest`` allowed paths gets fewer; with ``nbest=1`` a sequence with no allowed
        path at all (only possible when ``scores``, ``transitions``, ``start`` or ``end``
        hold ``-inf``) gets ``None``.

    Raises
    ------
    ValueError
        Wrong shapes (``scores`` not 2-D/3-D, ``labels`` not of length ``N``,
        ``transitions``/``start``/``end``/``lengths``/``mask`` not matching), unknown
        ``scheme``, ``scheme`` without ``labels``, labels that do not fit the scheme, both
        ``lengths`` and ``mask``, a ``mask`` that is not a prefix, ``nbest < 1`` (or so
        large that the paths could not be stored), NaN or ``+inf`` in ``scores``,
        ``transitions``, ``start`` or ``end``, or finite values there so large that the
        total score of a path could overflow.
    TypeError
        Non-numeric ``scores``, non-int ``nbest``, ``labels`` a single string or holding
        non-strings.

    Examples
    --------
    >>> import numpy as np
    >>> labels = ["O", "B-PER", "I-PER"]
    >>> logits = np.log([[0.3, 0.3, 0.4],
    ...                  [0.1, 0.2, 0.7]])
    >>> [labels[i] for i in logits.argmax(axis=1)]    # per-token argmax: ill-formed
    ['I-PER', 'I-PER']
    >>> decode(logits, labels=labels, scheme="IOB2")
    ['B-PER', 'I-PER']

    A padded batch with its lengths, and the two best paths of each sequence:

    >>> batch = np.stack([logits, logits[::-1]])          # (B, T, N) = (2, 2, 3)
    >>> decode(batch, labels=labels, scheme="IOB2", lengths=[2, 1])
    [['B-PER', 'I-PER'], ['B-PER']]
    >>> decode(batch, labels=labels, scheme="IOB2", lengths=[2, 1], nbest=2)
    [[['B-PER', 'I-PER'], ['O', 'B-PER']], [['B-PER'], ['O']]]
    """
    em = _scores_array(scores)
    if em.ndim not in (2, 3):
        raise ValueError("`scores` must be 2-D (T, N) for one sequence or 3-D (B, T, N) for a "
                         f"padded batch, got shape {em.shape}")
    N = em.shape[-1]
    if N < 1:
        raise ValueError(f"`scores` must have at least one label (last axis), got {em.shape}")
    if isinstance(nbest, (bool, np.bool_)) or not isinstance(nbest, numbers.Integral):
        raise TypeError(f"`nbest` must be an int, got {type(nbest).__name__}")
    if nbest < 1:
        raise ValueError(f"`nbest` must be >= 1, got {nbest}")
    nbest = int(nbest)

    if labels is not None:
        if isinstance(labels, str):
            raise TypeError("`labels` must be a sequence of label strings, got a single str")
        labels = list(labels)
        if len(labels) != N:
            raise ValueError(f"`labels` must have N = {N} entries (last axis of `scores`), "
                             f"got {len(labels)}")
        for lab in labels:
            if not isinstance(lab, str):
                raise TypeError(f"`labels` must hold str, got {type(lab).__name__}: {lab!r}")
    if scheme is not None:
        if labels is None:
            raise ValueError("`scheme` needs `labels` (the label of each column of `scores`)")
        try:
            scheme = normalize_scheme(scheme)
        except ValueError as e:
            raise ValueError(f"`scheme`: {e}") from None
        try:
            masks = allowed_transitions(labels, scheme)
        except (ValueError, TypeError) as e:
            raise type(e)(f"`labels` do not fit scheme {scheme}: {e}") from None
    else:
        masks = None

    dtype = em.dtype  # missing parameters take the scores' dtype (float32 stays float32)
    tr = _vector(transitions, "transitions", (N, N))
    st = _vector(start, "start", (N,))
    en = _vector(end, "end", (N,))
    if tr is None:
        tr = np.zeros((N, N), dtype=dtype)
    if masks is not None:
        for arr, name in ((tr, "transitions"), (st, "start"), (en, "end")):
            _check_defined(arr, name)
        ninf = dtype.type(-np.inf)
        tmask, smask, emask = masks
        tr = np.where(tmask, tr, ninf)
        st = np.where(smask, dtype.type(0) if st is None else st, ninf)
        en = np.where(emask, dtype.type(0) if en is None else en, ninf)

    lengths = _host(lengths)
    single = em.ndim == 2 and lengths is None and mask is None
    if em.ndim == 3:
        B, T = em.shape[:2]
        lengths = _lengths_from(mask, lengths, B, T)
    elif mask is not None:
        raise ValueError("`mask` needs 3-D (B, T, N) `scores`; for 2-D `scores` use `lengths`")

    kw = dict(start=st, end=en, lengths=lengths, n_threads=n_threads)
    if nbest == 1:
        paths, best = _op(ops.viterbi, em, tr, **kw)
        if single:
            return _out(paths.tolist(), labels) if best > -np.inf else None
        ok = (np.asarray(best) > -np.inf).tolist()
        if em.ndim == 3:  # (B, T) padded with -1
            n = _batch_lengths(lengths, B, T)
            return [p[:m] if good else None
                    for p, m, good in zip(_labelled(paths, labels), n, ok)]
        return [_out(p, labels) if good else None
                for p, good in zip(_split(paths, em, lengths), ok)]

    paths, best = _op(ops.kbest, em, tr, nbest, **kw)
    ok = np.asarray(best) > -np.inf
    if single:
        return [_out(p, labels) for p, good in zip(paths.tolist(), ok.tolist()) if good]
    if em.ndim == 3:  # (B, k, T)
        n = _batch_lengths(lengths, B, T)
        return [[p[:m] for p, good in zip(seq, oks) if good]
                for seq, oks, m in zip(_labelled(paths, labels), ok.tolist(), n)]
    # concatenated: (k, L), row r = every sequence's r-th best path
    rows = [_split(row, em, lengths) for row in paths]
    B = len(rows[0]) if rows else 0
    return [[_out(rows[r][b], labels) for r in range(nbest) if ok[b, r]] for b in range(B)]


def _labelled(paths, labels):
    """int paths (any shape) -> nested lists of ints, or of label strings."""
    if labels is None:
        return paths.tolist()
    table = np.empty(len(labels) + 1, dtype=object)
    table[:-1] = labels
    table[-1] = None  # index -1 (padding / missing)
    return table[paths].tolist()


def _out(path, labels):
    if labels is None:
        return list(path)
    return [labels[i] for i in path]


def _batch_lengths(lengths, B, T):
    """Lengths of a padded batch as a list of ints (validated by the kernel call already)."""
    if lengths is None:
        return [T] * B
    return _int_list(lengths)


def _int_list(lengths):
    """Lengths the kernel call has validated, as a list of ints."""
    return [int(n) for n in ops.as_numpy(lengths, "lengths").tolist()]


def _split(paths, em, lengths):
    """Concatenated (L,) paths -> one int list per sequence."""
    n = _int_list(lengths)
    flat = paths.tolist()
    out, pos = [], 0
    for m in n:
        out.append(flat[pos:pos + m])
        pos += m
    return out
