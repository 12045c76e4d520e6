# cython: language_level=3, freethreading_compatible=True
"""The hot loop of :func:`fastseq.crf.items.encode_items`, compiled: python-crfsuite token
features -> the arrays of a canonical CSR matrix (columns sorted within a row, repeated
attributes summed).

Predicting on feature dicts, this loop was most of ``CRF.predict``. What makes it cheap:

* the common tokens -- an exact ``dict`` with ``str`` keys and values that are exact
  ``str``, ``bool``, ``int`` or ``float``, or an exact ``list`` of ``str`` -- are walked
  with ``PyDict_Next`` and build no Python object;
* the attribute ``"key:value"`` of a str value is found in two steps, key -> key id ->
  (key id, value) -> column, by the hashes the str objects cache, in C tables: no string
  is built, no Python int unboxed. A direct-mapped cache in front of the key ids makes the
  key (feature dicts of one extractor share a few dozen keys) a pointer comparison;
* the tables are a :class:`Table`: per call, filled from the vocabulary as pairs appear
  (``fit``: a ``"key:value"`` string is built once per new pair), or, for a fitted model,
  an index of its whole vocabulary built once (:func:`index`), every colon of every name
  a possible (key, value) split -- so a pair missing from it is unknown, with no lookup
  in the vocabulary at all;
* the columns and values go to C buffers; each row is sorted and its repeats summed as it
  is closed, so scipy has nothing left to canonicalise.

Any other token (nested dicts, lists or sets, bytes, numpy numbers, subclasses, malformed
input) is handed whole to the pure-Python ``flatten`` given by the caller, which also raises
the errors, so the result and the messages are those of the Python path.
"""
from cpython.dict cimport PyDict_GetItem, PyDict_Next, PyDict_SetItem
from cpython.exc cimport PyErr_CheckSignals
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from cpython.object cimport Py_TYPE, PyObject_Hash, PyTypeObject
from cpython.ref cimport PyObject, Py_INCREF, Py_XDECREF
from cpython.unicode cimport PyUnicode_DATA, PyUnicode_GET_LENGTH, PyUnicode_KIND
from libc.math cimport isfinite
from libc.stdint cimport INT32_MAX, int32_t, int64_t, uint64_t
from cython.view cimport array as cvarray
from libc.stdlib cimport free, qsort, realloc
from libc.string cimport memcmp, memcpy

import numpy as np


cdef extern from "Python.h":
    PyTypeObject PyUnicode_Type
    PyTypeObject PyFloat_Type
    PyTypeObject PyLong_Type
    PyTypeObject PyBool_Type
    PyObject *Py_True
    double PyFloat_AS_DOUBLE(PyObject *)
    double PyLong_AsDouble(object) except? -1.0
    Py_ssize_t PyDict_GET_SIZE(object)
    PyObject *PyDict_SetDefault(object, object, object) except NULL


cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define FS_PREFETCH(p) __builtin_prefetch(p)
    #else
    #define FS_PREFETCH(p) ((void)0)
    #endif
    /* hash(s) of an exact str: the hash it caches, read in place (two calls fewer per
       attribute than PyObject_Hash); computed the first time */
    static inline Py_hash_t fs_str_hash(PyObject *s) {
    #if !defined(Py_GIL_DISABLED)
        Py_hash_t h = ((PyASCIIObject *)s)->hash;
        if (h != -1) return h;
    #endif
        return PyObject_Hash(s);
    }
    /* zeroed memory for a hash table, freed with free(): 64-byte aligned (a slot never
       straddles two cache lines) and from 2 MiB on, on huge pages where Linux gives them on
       request (madvise mode), as the table is probed at random and its 4 KiB pages would
       each cost a TLB miss */
    #if defined(__linux__)
    #include <sys/mman.h>
    #endif
    static void *fs_table_alloc(size_t bytes) {
    #if defined(__linux__)
        const size_t huge = (size_t)1 << 21;
        size_t align = bytes >= huge ? huge : 64;
        size_t rounded = (bytes + align - 1) & ~(align - 1);
        void *p = NULL;
        if (posix_memalign(&p, align, rounded) != 0)
            return NULL;
    #if defined(MADV_HUGEPAGE)
        if (align == huge)
            madvise(p, rounded, MADV_HUGEPAGE);  /* a hint: failure is harmless */
    #endif
        memset(p, 0, bytes);
        return p;
    #else
        return calloc(1, bytes);
    #endif
    }
    """
    void FS_PREFETCH(const void *p) noexcept nogil
    void *fs_table_alloc(size_t bytes) noexcept nogil
    Py_hash_t fs_str_hash(PyObject *s) except? -1


# the columns are int32 (the matrix's indices, sorted in rows); the row starts int64 until
# the end (int32 when they fit)
cdef int64_t MAX_COLUMNS = 2**31 - 2

cdef enum:
    KEY_CACHE = 256  # slots of the direct-mapped key cache
    SHORT_ROW = 63   # rows up to this long are sorted by counting ranks
    UNSET = -2       # a key column not looked up yet


cdef inline bint same_str(PyObject *a, PyObject *b) noexcept:
    # a == b for exact str objects (what PyUnicode_Compare does, less directly)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(<object>a), i
    cdef int kind = PyUnicode_KIND(<object>a)
    cdef const unsigned char *x
    cdef const unsigned char *y
    cdef uint64_t u, w
    if a == b:
        return True
    if n != PyUnicode_GET_LENGTH(<object>b) or kind != PyUnicode_KIND(<object>b):
        return False
    n *= kind
    x = <const unsigned char *>PyUnicode_DATA(<object>a)
    y = <const unsigned char *>PyUnicode_DATA(<object>b)
    if n > 16:
        return memcmp(x, y, n) == 0
    if n >= 8:  # two overlapping 8-byte words: no call for short names
        memcpy(&u, x, 8)
        memcpy(&w, y, 8)
        if u != w:
            return False
        memcpy(&u, x + n - 8, 8)
        memcpy(&w, y + n - 8, 8)
        return u == w
    for i in range(n):
        if x[i] != y[i]:
            return False
    return True


cdef inline int64_t column(dict vocab, str attr, bint fit) except -2:
    """The column of attribute ``attr``: added to the vocabulary when new with ``fit``, else
    -1 when unknown."""
    cdef PyObject *found
    cdef Py_ssize_t n
    if fit:  # one probe, found or added
        n = len(vocab)
        if n >= MAX_COLUMNS:
            raise OverflowError(f"more than {MAX_COLUMNS} attributes")
        return <object>PyDict_SetDefault(vocab, attr, n)
    found = PyDict_GetItem(vocab, attr)  # str keys: no error to swallow
    return -1 if found == NULL else <object>found


cdef struct Pair:
    # a (key, str value) pair in an open-addressing table: 32 bytes, so that a probe reads
    # one cache line (the table is 64-byte aligned)
    PyObject *value   # the value; a strong reference (NULL: an empty slot)
    uint64_t head     # the value as two words (see str_key): up to 15 bytes, the value
    uint64_t tail     # itself, so that a match reads no other object
    int32_t col       # the column of "key:value"; -1: not in the vocabulary
    int32_t kid       # the key's id


cdef enum:
    INLINE = 15       # values up to this many bytes are held whole by (head, tail)


cdef inline void str_key(PyObject *s, Py_hash_t h, uint64_t *head, uint64_t *tail) noexcept:
    """(head, tail) of str ``s`` of hash ``h``: for a value of up to 15 bytes its bytes
    (8 in head, the rest in tail) and, in tail's top byte, its size and kind -- equal
    exactly when the str are equal; for a longer one its first 8 bytes and 56 bits of its
    hash, a filter before the full comparison."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(<object>s), i
    cdef int kind = PyUnicode_KIND(<object>s)
    cdef const unsigned char *d = <const unsigned char *>PyUnicode_DATA(<object>s)
    cdef uint64_t w = 0
    n *= kind
    if n > INLINE:
        memcpy(head, d, 8)
        tail[0] = (<uint64_t>h & 0x00FFFFFFFFFFFFFFULL) | (<uint64_t>0xFF << 56)
        return
    if n >= 8:
        memcpy(head, d, 8)
    else:
        head[0] = 0
        for i in range(n):
            head[0] |= (<uint64_t>d[i]) << (8 * i)
    for i in range(8, n):
        w |= (<uint64_t>d[i]) << (8 * (i - 8))
    tail[0] = w | (<uint64_t>(n | kind << 4) << 56)  # n < 16, kind 1, 2 or 4: never 0xFF


cdef inline size_t pair_slot(Py_hash_t h, Py_ssize_t kid, size_t mask) noexcept:
    # mix the key id into the value's (already well spread) hash
    cdef uint64_t x = <uint64_t>h ^ (<uint64_t>kid * 0x9E3779B97F4A7C15ULL)
    x ^= x >> 32
    x *= 0xD6E8FEB86659FD93ULL
    x ^= x >> 32
    return <size_t>x & mask


cdef class Table:
    """Attribute columns by (key, value): key str -> key id -> column of the bare key, and
    (key id, str value) -> column of ``"key:value"``.

    Not ``complete``: a cache of the vocabulary for one call, filled as keys and pairs are
    met (with ``fit``, new attributes go into the vocabulary). ``complete``: the index of a
    whole vocabulary that no longer changes (:func:`index`); what it lacks is unknown.
    """

    cdef dict vocab
    cdef bint fit, complete
    cdef dict key_ids          # key str -> its id
    cdef list keys             # id -> key str
    cdef int64_t *key_cols     # id -> column of the bare key (number values), -1, UNSET
    cdef Py_ssize_t keys_cap
    cdef Pair *pairs
    cdef size_t mask
    cdef Py_ssize_t n_pairs

    def __cinit__(self, dict vocab, bint fit):
        self.vocab = vocab
        self.fit = fit
        self.key_ids = {}
        self.keys = []
        self.pairs = <Pair *>fs_table_alloc(1024 * sizeof(Pair))
        if self.pairs == NULL:
            raise MemoryError()
        self.mask = 1023

    def __dealloc__(self):
        cdef size_t i
        if self.pairs != NULL:
            for i in range(self.mask + 1):
                Py_XDECREF(self.pairs[i].value)
        free(self.pairs)
        PyMem_Free(self.key_cols)

    cdef Py_ssize_t key_id(self, str key) except -2:
        """The id of ``key``; -1 when a complete table does not know it."""
        cdef PyObject *found = PyDict_GetItem(self.key_ids, key)
        cdef Py_ssize_t kid, cap
        cdef int64_t *p
        if found != NULL:
            return <object>found
        if self.complete:
            return -1
        kid = len(self.keys)
        if kid >= 2**31 - 1:
            raise OverflowError("too many feature names")
        if kid == self.keys_cap:
            cap = self.keys_cap * 2 if self.keys_cap else 64
            p = <int64_t *>PyMem_Realloc(self.key_cols, cap * sizeof(int64_t))
            if p == NULL:
                raise MemoryError()
            self.key_cols = p
            self.keys_cap = cap
        self.key_cols[kid] = UNSET
        self.keys.append(key)
        self.key_ids[key] = kid
        return kid

    cdef inline int64_t key_column(self, Py_ssize_t kid) except -2:
        # a column once found (or found missing, without fit) stays right for the call:
        # the vocabulary only grows, with fit, and only through this module
        if kid < 0:
            return -1
        if self.key_cols[kid] == UNSET:
            self.key_cols[kid] = column(self.vocab, <str>self.keys[kid], self.fit)
        return self.key_cols[kid]

    cdef int64_t pair_column(self, Py_ssize_t kid, PyObject *value,
                             Py_hash_t h) except -2:
        """The column of ``"key:value"`` (key ``kid``, ``value`` an exact str of hash
        ``h``)."""
        cdef size_t i
        cdef Pair *p
        cdef uint64_t head, tail
        cdef int64_t col
        if kid < 0:
            return -1
        str_key(value, h, &head, &tail)
        i = pair_slot(h, kid, self.mask)
        while True:
            p = &self.pairs[i]
            if p.value == NULL:
                break
            if (p.kid == kid and p.head == head and p.tail == tail
                    and ((tail >> 56) != 0xFF or same_str(p.value, value))):
                return p.col
            i = (i + 1) & self.mask
        if self.complete:
            return -1
        col = column(self.vocab, <str>self.keys[kid] + ":" + <str>value, self.fit)
        self.add_pair(p, h, kid, value, col)
        return col

    cdef int add_pair(self, Pair *p, Py_hash_t h, Py_ssize_t kid, PyObject *value,
                      int64_t col) except -1:
        # p: the empty slot where the probe for (kid, value) ended
        Py_INCREF(<object>value)
        p.value = value
        str_key(value, h, &p.head, &p.tail)
        p.kid = <int32_t>kid
        p.col = <int32_t>col
        self.n_pairs += 1
        if <size_t>self.n_pairs * 2 > self.mask:
            self.grow()
        return 0

    cdef inline void prefetch(self, Py_ssize_t kid, Py_hash_t h) noexcept:
        FS_PREFETCH(&self.pairs[pair_slot(h, kid, self.mask)])

    cdef int grow(self) except -1:
        cdef size_t mask = self.mask * 2 + 1, i, j
        cdef Pair *old = self.pairs
        cdef Pair *new = <Pair *>fs_table_alloc((mask + 1) * sizeof(Pair))
        if new == NULL:
            raise MemoryError()
        for i in range(self.mask + 1):
            if old[i].value != NULL:
                # the slot from the value's hash, which the str caches
                j = pair_slot(fs_str_hash(old[i].value), old[i].kid, mask)
                while new[j].value != NULL:
                    j = (j + 1) & mask
                new[j] = old[i]
        self.pairs = new
        self.mask = mask
        free(old)
        return 0

    cdef int index_vocab(self) except -1:
        """Enter every name of the vocabulary: as a bare key, and split at each of its
        colons as a (key, value) pair. Then the table is complete."""
        cdef object name, col
        cdef str value
        cdef Py_ssize_t i, kid
        cdef Py_hash_t h
        cdef size_t slot
        for name, col in self.vocab.items():
            if type(name) is not str:
                raise TypeError("the attribute names must be str")
            kid = self.key_id(<str>name)
            self.key_cols[kid] = col
            i = (<str>name).find(":")
            while i >= 0:
                kid = self.key_id((<str>name)[:i])
                value = (<str>name)[i + 1:]
                h = PyObject_Hash(value)
                slot = pair_slot(h, kid, self.mask)
                while self.pairs[slot].value != NULL:  # no two names split the same way
                    slot = (slot + 1) & self.mask
                self.add_pair(&self.pairs[slot], h, kid, <PyObject *>value, col)
                i = (<str>name).find(":", i + 1)
        for kid in range(len(self.keys)):
            if self.key_cols[kid] == UNSET:
                self.key_cols[kid] = -1
        self.complete = True
        return 0


def index(dict vocab):
    """The complete :class:`Table` of a vocabulary ``{name: column}`` of str names, for
    ``encode`` without ``fit``: the vocabulary must not change while it is in use."""
    cdef Table t = Table(vocab, False)
    t.index_vocab()
    return t


cdef struct KeySlot:
    PyObject *key     # a strong reference, so that a pointer match is sound
    Py_hash_t hash
    Py_ssize_t kid


cdef struct Item:
    # an attribute of a dict token, between the passes of Encoder.dict_token
    Py_ssize_t kid
    PyObject *key     # borrowed
    PyObject *value   # a str value (borrowed), or NULL: a number
    Py_hash_t hash    # hash(value)
    double x          # the number


cdef struct Entry:
    int32_t col
    Py_ssize_t pos    # its place in the row (long rows: the sort's tie-break)
    double val


cdef int cmp_entries(const void *a, const void *b) noexcept nogil:
    cdef const Entry *x = <const Entry *>a
    cdef const Entry *y = <const Entry *>b
    if x.col != y.col:
        return -1 if x.col < y.col else 1
    return -1 if x.pos < y.pos else (1 if x.pos > y.pos else 0)


cdef class Encoder:
    """The state of one ``encode`` call: the table, a key cache, the CSR buffers. Freed
    with the object, so that an exception anywhere leaks nothing."""

    cdef Table table
    cdef KeySlot key_cache[KEY_CACHE]
    # CSR buffers: the column and value of each entry, the row starts
    cdef int32_t *cols         # malloc'd: handed over to the arrays returned
    cdef double *vals
    cdef Py_ssize_t n, cap
    cdef int64_t *indptr
    cdef Py_ssize_t n_rows, rows_cap
    cdef Entry *scratch        # a row being sorted
    cdef Py_ssize_t scratch_cap
    cdef Item *items           # the attributes of a dict token
    cdef Py_ssize_t items_cap
    cdef bint finite           # no NaN / inf among the values kept

    def __cinit__(self, Table table):
        self.table = table
        self.finite = True
        self.grow_rows()
        self.indptr[0] = 0

    def __dealloc__(self):
        cdef int j
        for j in range(KEY_CACHE):
            Py_XDECREF(self.key_cache[j].key)
        free(self.cols)
        free(self.vals)
        PyMem_Free(self.indptr)
        PyMem_Free(self.scratch)
        PyMem_Free(self.items)

    # -- buffers ---------------------------------------------------------------------------
    cdef int grow_entries(self) except -1:
        cdef Py_ssize_t cap = self.cap * 2 if self.cap else 1 << 16
        cdef int32_t *c = <int32_t *>realloc(self.cols, cap * sizeof(int32_t))
        if c == NULL:
            raise MemoryError()
        self.cols = c
        cdef double *v = <double *>realloc(self.vals, cap * sizeof(double))
        if v == NULL:
            raise MemoryError()
        self.vals = v
        self.cap = cap
        return 0

    cdef int grow_items(self, Py_ssize_t n) except -1:
        cdef Item *p = <Item *>PyMem_Realloc(self.items, n * sizeof(Item))
        if p == NULL:
            raise MemoryError()
        self.items = p
        self.items_cap = n
        return 0

    cdef int grow_rows(self) except -1:
        cdef Py_ssize_t cap = self.rows_cap * 2 if self.rows_cap else 4096
        cdef int64_t *p = <int64_t *>PyMem_Realloc(self.indptr, (cap + 1) * sizeof(int64_t))
        if p == NULL:
            raise MemoryError()
        self.indptr = p
        self.rows_cap = cap
        return 0

    cdef inline int push(self, int64_t col, double value) except -1:
        if col < 0:
            return 0
        if self.n + 8 >= self.cap:  # slack for the sort's padding
            self.grow_entries()
        if not isfinite(value):  # checked on what is kept, before any summing
            self.finite = False
        self.cols[self.n] = <int32_t>col
        self.vals[self.n] = value
        self.n += 1
        return 0

    cdef bint rank_sort(self, int32_t *cols, const double *vals, Py_ssize_t n,
                        Entry *out) noexcept:
        """Sort a short row into ``out`` if its columns are distinct (else False): the place
        of an entry is the number of smaller columns. O(n^2) compares, but no branch to
        mispredict, and vectorised (rows of feature dicts are short, their columns in no
        order). ``cols`` has room for 8 more."""
        cdef Py_ssize_t i, j, padded = (n + 7) & ~7
        cdef int32_t c, r  # 32-bit, as the columns: one vector add per compare
        cdef uint64_t seen = 0
        for j in range(n, padded):  # never smaller: whole vectors, no remainder loop
            cols[j] = INT32_MAX
        for i in range(n):
            c = cols[i]
            r = 0
            for j in range(padded):
                r += cols[j] < c
            seen |= (<uint64_t>1) << r
            out[r].col = c
            out[r].val = vals[i]
        return seen == ((<uint64_t>1) << n) - 1  # every place taken once: no repeats

    cdef int end_row(self) except -1:
        """Close the row: sort its entries by column, stably (so that repeats add up in
        their order, as scipy's sum_duplicates adds them), and sum the repeats."""
        cdef Py_ssize_t start = self.indptr[self.n_rows], n = self.n - start, i, j, r, m
        cdef int32_t *cols = self.cols + start
        cdef double *vals = self.vals + start
        cdef int32_t c
        cdef Entry *out
        if n > 1:
            if n > self.scratch_cap:
                out = <Entry *>PyMem_Realloc(self.scratch, n * sizeof(Entry))
                if out == NULL:
                    raise MemoryError()
                self.scratch = out
                self.scratch_cap = n
            out = self.scratch
            if n > SHORT_ROW:
                for i in range(n):
                    out[i].col = cols[i]
                    out[i].pos = i
                    out[i].val = vals[i]
                qsort(out, n, sizeof(Entry), cmp_entries)  # (column, place): stable
            elif not self.rank_sort(cols, vals, n, out):  # (the buffer has slack: see push)
                # repeats: ties broken by place (stable)
                for i in range(n):
                    c = cols[i]
                    r = 0
                    for j in range(i):
                        r += cols[j] <= c
                    for j in range(i + 1, n):
                        r += cols[j] < c
                    out[r].col = c
                    out[r].val = vals[i]
            m = 0
            cols[0] = out[0].col
            vals[0] = out[0].val
            for i in range(1, n):
                if out[i].col == cols[m]:
                    vals[m] += out[i].val
                else:
                    m += 1
                    cols[m] = out[i].col
                    vals[m] = out[i].val
            self.n = start + m + 1
        if self.n_rows == self.rows_cap:
            self.grow_rows()
        self.n_rows += 1
        self.indptr[self.n_rows] = self.n
        return 0

    # -- the result ------------------------------------------------------------------------
    cdef object indptr_array(self):
        cdef Py_ssize_t i
        cdef int32_t[::1] out32
        cdef int64_t[::1] out64
        if self.n < 2**31 - 1:
            out = np.empty(self.n_rows + 1, dtype=np.int32)
            out32 = out
            for i in range(self.n_rows + 1):
                out32[i] = <int32_t>self.indptr[i]
        else:
            out = np.empty(self.n_rows + 1, dtype=np.int64)
            out64 = out
            for i in range(self.n_rows + 1):
                out64[i] = self.indptr[i]
        return out

    cdef object take_cols(self):
        """The column buffer as an int32 array (int64 when there are 2**31 entries or more:
        the indices take the row starts' type), now the array's."""
        cdef void *p = self.cols
        cdef void *q
        cdef Py_ssize_t n = self.n
        if n:
            q = realloc(p, n * sizeof(int32_t))  # give back the slack (or keep it)
            p = q if q != NULL else p
        self.cols = NULL
        out = adopt(p, n, sizeof(int32_t), "i", np.int32)
        return out if n < 2**31 - 1 else out.astype(np.int64)

    cdef object take_vals(self):
        cdef void *p = self.vals
        cdef void *q
        cdef Py_ssize_t n = self.n
        if n:
            q = realloc(p, n * sizeof(double))
            p = q if q != NULL else p
        self.vals = NULL
        return adopt(p, n, sizeof(double), "d", np.float64)

    # -- tokens ----------------------------------------------------------------------------
    cdef int dict_token(self, dict tok) except -1:
        """Emit the attributes of a dict token; 0 when it needs the Python path (what was
        emitted of it must then be dropped)."""
        cdef Table table = self.table
        cdef Py_ssize_t pos = 0, kid, i, n = 0
        cdef Py_hash_t h
        cdef KeySlot *ks
        cdef PyObject *k
        cdef PyObject *v
        cdef PyTypeObject *tv
        cdef Item *it
        if PyDict_GET_SIZE(tok) > self.items_cap:
            self.grow_items(PyDict_GET_SIZE(tok))
        # Three passes, so that the cache misses of a token overlap rather than queue: the
        # first collects the keys and values and starts fetching them (in feature dicts
        # built token by token they are scattered objects), the second reads them and starts
        # fetching the table slots of the pairs, the third finds the columns, in order
        # (with fit, new attributes are numbered in order of appearance; repeats are summed
        # in it).
        # k and v are borrowed: tok holds them, and nothing here runs Python code that
        # could change tok (str hashing and comparison, dict updates with str keys)
        while PyDict_Next(tok, &pos, &k, &v):
            it = &self.items[n]
            it.key = k
            it.value = v
            FS_PREFETCH(k)
            FS_PREFETCH(v)
            n += 1
        for i in range(n):
            it = &self.items[i]
            k = it.key
            v = it.value
            if Py_TYPE(<object>k) != &PyUnicode_Type:
                return 0
            h = fs_str_hash(k)
            ks = &self.key_cache[<size_t>h % KEY_CACHE]
            if ks.key == k or (ks.hash == h and ks.key != NULL and same_str(ks.key, k)):
                kid = ks.kid
            else:
                kid = table.key_id(<str>k)
                Py_INCREF(<object>k)
                Py_XDECREF(ks.key)
                ks.key = k
                ks.hash = h
                ks.kid = kid
            it.kid = kid
            tv = Py_TYPE(<object>v)
            if tv == &PyUnicode_Type:
                it.value = v
                it.hash = fs_str_hash(v)
                if kid >= 0:
                    table.prefetch(kid, it.hash)
            else:
                it.value = NULL
                if tv == &PyBool_Type:
                    it.x = 1.0 if v == Py_True else 0.0
                elif tv == &PyFloat_Type:
                    it.x = PyFloat_AS_DOUBLE(v)
                elif tv == &PyLong_Type:
                    it.x = PyLong_AsDouble(<object>v)  # OverflowError as float(v)
                else:
                    return 0
        for i in range(n):
            it = &self.items[i]
            if it.value != NULL:
                self.push(table.pair_column(it.kid, it.value, it.hash), 1.0)
            else:
                self.push(table.key_column(it.kid), it.x)
        return 1

    cdef int list_token(self, list tok) except -1:
        cdef object k
        for k in tok:
            if type(k) is not str:
                return 0
            self.push(column(self.table.vocab, <str>k, self.table.fit), 1.0)
        return 1


def encode(seqs, str name, dict vocab, bint fit, flatten, Table table=None):
    """The CSR arrays of python-crfsuite sequences (see :func:`fastseq.crf.items.encode_items`,
    whose checks and messages these are).

    ``vocab`` is filled (``fit``: a new, empty dict) or read (else; unknown attributes
    dropped); ``table``, without ``fit``, its :func:`index`. ``flatten(tok, "", names,
    vals, where)`` appends the ``(name, value)`` pairs of any token to the two lists or
    raises. Returns ``(indptr, cols, vals, lengths, finite)``: the arrays of a canonical CSR
    matrix (int32 indptr and cols, int64 from 2**31 entries on; float64 values), the int64
    sequence lengths, and whether all the values kept were finite (checked before repeats
    are summed).
    """
    if len(vocab) > MAX_COLUMNS:
        raise OverflowError(f"more than {MAX_COLUMNS} attributes")
    if table is None:
        table = Table(vocab, fit)
    elif fit or table.vocab is not vocab:
        raise ValueError("a table is the index of `vocab`, without fit")
    cdef Encoder e = Encoder(table)
    cdef Py_ssize_t i, t, start, n_seq = len(seqs)
    cdef list names = [], vals = [], toks
    cdef object xseq, tok, attr, value
    cdef int64_t[::1] lengths_v
    cdef bint done
    lengths = np.empty(n_seq, dtype=np.int64)
    lengths_v = lengths
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
            start = e.n
            if type(tok) is dict:
                done = e.dict_token(<dict>tok)
            elif type(tok) is list:
                done = e.list_token(<list>tok)
            else:
                done = False
            if not done:
                e.n = start
                del names[:]
                del vals[:]
                flatten(tok, "", names, vals, f"`{name}[{i}][{t}]`")
                for attr, value in zip(names, vals):
                    e.push(column(vocab, attr, fit), value)
            e.end_row()
            t += 1
            if (e.n_rows & 1023) == 0:  # Ctrl-C: the loop runs no bytecode to see it
                PyErr_CheckSignals()
    return e.indptr_array(), e.take_cols(), e.take_vals(), lengths, e.finite


cdef object adopt(void *data, Py_ssize_t n, Py_ssize_t itemsize, fmt, dtype):
    """A 1-D array of the ``n`` items at ``data`` (malloc'd), which it frees: no copy."""
    cdef cvarray a
    if n == 0:
        free(data)
        return np.empty(0, dtype=dtype)
    a = cvarray(shape=(n,), itemsize=itemsize, format=fmt, mode="c", allocate_buffer=False)
    a.data = <char *>data
    a.callback_free_data = free
    return np.asarray(a)
