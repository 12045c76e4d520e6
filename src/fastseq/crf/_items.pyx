# cython: language_level=3, freethreading_compatible=True
"""The hot loop of :func:`fastseq.crf.items.encode_items`, compiled: python-crfsuite token
features -> the column indices and values of a CSR matrix.

Run from Python, the per-attribute work (type tests, ``key + ":" + value``, a vocabulary
lookup, two list appends) cost several times the dictionary lookup itself and dominated
``CRF.predict`` on feature dicts. Here the common tokens -- an exact ``dict`` with ``str``
keys and values that are exact ``str``, ``bool``, ``int`` or ``float``, or an exact ``list``
of ``str`` -- are walked in C: the column of each ``(key, str value)`` pair is memoised for
the call (a pair seen before costs two lookups and builds no string), other names are looked
up in (or added to) the vocabulary directly, and the columns and values go to C buffers.
Any other token (nested dicts, lists or sets, bytes, numpy numbers, subclasses, malformed
input) is handed whole to the pure-Python ``flatten`` given by the caller, which also raises
the errors, so the result and the messages are those of the Python path.
"""
from cpython.dict cimport PyDict_GetItem, PyDict_SetItem
from cpython.exc cimport PyErr_CheckSignals
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from cpython.ref cimport PyObject
from libc.stdint cimport int64_t
from libc.string cimport memcpy

import numpy as np


cdef struct Buf:
    int64_t *cols     # column of each kept attribute
    double *vals      # its value
    Py_ssize_t n, cap
    int64_t *indptr   # row starts: n_rows + 1 entries
    Py_ssize_t n_rows, rows_cap


cdef int grow_entries(Buf *b) except -1:
    cdef Py_ssize_t cap = b.cap * 2 if b.cap else 4096
    cdef int64_t *c = <int64_t *>PyMem_Realloc(b.cols, cap * sizeof(int64_t))
    if c == NULL:
        raise MemoryError()
    b.cols = c
    cdef double *v = <double *>PyMem_Realloc(b.vals, cap * sizeof(double))
    if v == NULL:
        raise MemoryError()
    b.vals = v
    b.cap = cap
    return 0


cdef int grow_rows(Buf *b) except -1:
    cdef Py_ssize_t cap = b.rows_cap * 2 if b.rows_cap else 1024
    cdef int64_t *p = <int64_t *>PyMem_Realloc(b.indptr, (cap + 1) * sizeof(int64_t))
    if p == NULL:
        raise MemoryError()
    b.indptr = p
    b.rows_cap = cap
    return 0


cdef inline int push(Buf *b, int64_t col, double value) except -1:
    if b.n == b.cap:
        grow_entries(b)
    b.cols[b.n] = col
    b.vals[b.n] = value
    b.n += 1
    return 0


cdef inline int64_t column(dict vocab, str attr, bint fit) except -2:
    """The column of attribute ``attr``: added to the vocabulary when new with ``fit``, else
    -1 when unknown."""
    cdef PyObject *found = PyDict_GetItem(vocab, attr)  # str keys: no error to swallow
    cdef int64_t col
    if found != NULL:
        return <object>found
    if not fit:
        return -1
    col = len(vocab)
    PyDict_SetItem(vocab, attr, col)
    return col


cdef inline int emit(Buf *b, dict vocab, str attr, double value, bint fit) except -1:
    cdef int64_t col = column(vocab, attr, fit)
    if col >= 0:
        push(b, col, value)
    return 0


cdef int fast_token(Buf *b, object tok, dict vocab, dict memo, bint fit) except -1:
    """Emit the attributes of a common token; 0 when ``tok`` needs the Python path (what
    was emitted of it must then be dropped)."""
    cdef object k, v, tv
    cdef PyObject *p
    cdef dict per_key
    cdef int64_t col
    if type(tok) is dict:
        for k, v in (<dict>tok).items():
            if type(k) is not str:
                return 0
            tv = type(v)
            if tv is str:
                # memo[k][v] is the column of "k:v" (-1: unknown), so that a known pair
                # builds no string and hashes only v
                p = PyDict_GetItem(memo, k)
                if p == NULL:
                    per_key = {}
                    memo[k] = per_key
                else:
                    per_key = <dict>p
                p = PyDict_GetItem(per_key, v)
                if p == NULL:
                    col = column(vocab, <str>k + ":" + <str>v, fit)
                    per_key[v] = col
                else:
                    col = <object>p
                if col >= 0:
                    push(b, col, 1.0)
            elif tv is float or tv is int or tv is bool:
                emit(b, vocab, <str>k, float(v), fit)
            else:
                return 0
        return 1
    if type(tok) is list:
        for k in <list>tok:
            if type(k) is not str:
                return 0
            emit(b, vocab, <str>k, 1.0, fit)
        return 1
    return 0


def encode(seqs, str name, dict vocab, bint fit, flatten):
    """The CSR arrays of python-crfsuite sequences (see :func:`fastseq.crf.items.encode_items`,
    whose checks and messages these are).

    ``vocab`` is filled (``fit``: a new, empty dict) or read (else; unknown attributes
    dropped). ``flatten(tok, "", names, vals, where)`` appends the ``(name, value)`` pairs
    of any token to the two lists or raises. Returns ``(indptr, cols, vals, lengths)``
    (int64, int64, float64, int64); repeated attributes are not summed and values are not
    checked for NaN or inf.
    """
    cdef Buf b
    cdef Py_ssize_t i, t, start, n_seq = len(seqs)
    cdef dict memo = {}  # key -> {str value -> column of "key:value" or -1}
    cdef list names = [], vals = [], toks
    cdef object xseq, tok, attr, value
    cdef int64_t[::1] lengths_v
    lengths = np.empty(n_seq, dtype=np.int64)
    lengths_v = lengths
    b.cols = NULL
    b.vals = NULL
    b.indptr = NULL
    b.n = b.cap = b.n_rows = b.rows_cap = 0
    try:
        grow_rows(&b)
        b.indptr[0] = 0
        for i, xseq in enumerate(seqs):
            if type(xseq) is list:
                toks = <list>xseq
            else:
                if (hasattr(xseq, "items") and callable(xseq.items)
                        and not isinstance(xseq, dict)):
                    xseq = xseq.items()  # pycrfsuite.ItemSequence
                if isinstance(xseq, (str, bytes, dict)):
                    raise TypeError(f"`{name}[{i}]` must be a list of token features, got a "
                                    f"{type(xseq).__name__}")
                try:
                    toks = list(xseq)
                except TypeError:
                    raise TypeError(f"`{name}[{i}]` must be a list of token features, got "
                                    f"{type(xseq).__name__}") from None
            if i >= n_seq:  # `seqs` grew under a token's own code (Python path)
                raise IndexError(f"index {i} is out of bounds for axis 0 with size {n_seq}")
            lengths_v[i] = len(toks)
            t = 0
            while t < len(toks):  # re-read: a token's own code (Python path) may shrink it
                tok = toks[t]
                start = b.n
                if not fast_token(&b, tok, vocab, memo, fit):
                    b.n = start
                    del names[:]
                    del vals[:]
                    flatten(tok, "", names, vals, f"`{name}[{i}][{t}]`")
                    for attr, value in zip(names, vals):
                        emit(&b, vocab, attr, value, fit)
                if b.n_rows == b.rows_cap:
                    grow_rows(&b)
                b.n_rows += 1
                b.indptr[b.n_rows] = b.n
                t += 1
                if (b.n_rows & 1023) == 0:  # Ctrl-C: the loop runs no bytecode to see it
                    PyErr_CheckSignals()
        indptr = np.empty(b.n_rows + 1, dtype=np.int64)
        cols = np.empty(b.n, dtype=np.int64)
        data = np.empty(b.n, dtype=np.float64)
        copy_out(&b, indptr, cols, data)
    finally:
        PyMem_Free(b.cols)
        PyMem_Free(b.vals)
        PyMem_Free(b.indptr)
    return indptr, cols, data, lengths


cdef void copy_out(Buf *b, int64_t[::1] indptr, int64_t[::1] cols,
                   double[::1] data) noexcept:
    memcpy(&indptr[0], b.indptr, (b.n_rows + 1) * sizeof(int64_t))
    if b.n:
        memcpy(&cols[0], b.cols, b.n * sizeof(int64_t))
        memcpy(&data[0], b.vals, b.n * sizeof(double))
