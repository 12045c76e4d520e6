# cython: language_level=3, freethreading_compatible=True
"""Thin binding over the C kernels (csrc/include/fastseq/fastseq.h, declared in kernels.pxd).

Arguments arrive validated, C-contiguous and of one float dtype (fastseq.ops does that);
outputs are allocated by the caller. Every kernel runs without the GIL, on ``n_threads``
threads, with the SIMD variant ``simd`` (``simd_id(name)``; 0 = the best this CPU supports).
Emission-shaped arrays are 2-D ``[rows, N]``; sequence b is rows
``offsets[b] : offsets[b] + lengths[b]``. Called from the main thread, a kernel asks Python
about every 50 ms whether a signal arrived (Ctrl-C), and stops to raise its exception.
"""
from cpython.exc cimport PyErr_Fetch, PyErr_Restore
from cpython.object cimport PyObject
from cython cimport floating
from libc.stdint cimport int32_t, int64_t

import threading

from fastseq.kernels cimport (
    FS_ERR_INTERRUPTED, FS_ERR_NOMEM, FS_ERR_UNSUPPORTED, FS_OK, FS_SIMD_AVX512,
    FS_SIMD_GENERIC, fs_backward_f32, fs_backward_f64, fs_batch, fs_crf_nll_f32, fs_csr_matmul,
    fs_csr_tmatmul_add, fs_feature_grads_add, fs_feature_scores_add,
    fs_crf_nll_f64, fs_forward_f32, fs_forward_f64, fs_kbest_f32, fs_kbest_f64,
    fs_marginals_f32, fs_marginals_f64, fs_max_threads, fs_openmp_enabled,
    fs_sequence_score_f32, fs_sequence_score_f64, fs_simd_from_name, fs_simd_level,
    fs_pattern, fs_set_openmp_team, fs_simd_name, fs_sparse_backward_f32,
    fs_sparse_backward_f64, fs_sparse_forward_f32, fs_sparse_kbest_f32, fs_sparse_kbest_f64, fs_sparse_forward_f64,
    fs_sparse_marginals_f32, fs_sparse_marginals_f64, fs_sparse_viterbi_f32,
    fs_sparse_viterbi_f64, fs_simd_supported, fs_status_name, fs_thread_count,
    fs_version,
    fs_viterbi_f32, fs_viterbi_f64,
)

from fastseq.exceptions import KernelError


cdef extern from "Python.h":
    # declared without an exception clause: _signal_arrived handles the exception itself
    int PyErr_CheckSignals()


cdef struct _Pending:
    # the exception a signal handler raised during a kernel (NULL: none)
    PyObject *type
    PyObject *value
    PyObject *traceback


cdef int _signal_arrived(void *ctx) noexcept nogil:
    """fs_batch.interrupt: runs Python's signal handlers; 1 (stop) if one raised."""
    cdef _Pending *pending = <_Pending *>ctx
    with gil:
        if PyErr_CheckSignals() == 0:
            return 0
        PyErr_Fetch(&pending.type, &pending.value, &pending.traceback)
        return 1


cdef int _check(int status, str function, _Pending *pending) except -1:
    if pending != NULL and pending.type != NULL:  # a signal handler raised: it wins
        PyErr_Restore(pending.type, pending.value, pending.traceback)
        return -1
    if status == FS_OK:
        return 0
    name = fs_status_name(status).decode()
    if status == FS_ERR_NOMEM:
        raise MemoryError(f"{function}: could not allocate scratch memory ({name})")
    if status == FS_ERR_UNSUPPORTED:
        raise ValueError(f"{function}: the requested SIMD variant cannot run on this CPU or "
                         f"build ({name}); supported: {simd_levels()}")
    raise KernelError(f"{function} failed with {name} (status {status}); please report this bug")


cdef inline fs_batch _batch(Py_ssize_t n_states, const int64_t[::1] offsets,
                            const int64_t[::1] lengths, int n_threads, int simd,
                            _Pending *pending):
    cdef fs_batch b
    b.n_states = n_states
    b.n_seqs = lengths.shape[0]
    b.offsets = &offsets[0] if offsets.shape[0] > 0 else NULL
    b.lengths = &lengths[0] if lengths.shape[0] > 0 else NULL
    b.n_threads = n_threads
    b.simd = simd
    pending.type = pending.value = pending.traceback = NULL
    # only the main thread runs signal handlers: other threads are never interrupted
    if threading.get_ident() == _MAIN_THREAD:
        b.interrupt = _signal_arrived
        b.interrupt_ctx = pending
    else:
        b.interrupt = NULL
        b.interrupt_ctx = NULL
    return b


_MAIN_THREAD = threading.main_thread().ident


cdef inline const floating *_opt(const floating[::1] a) noexcept:
    return &a[0] if a is not None else NULL


def version():
    """The version of the compiled C library (fastseq.h's FASTSEQ_VERSION_STRING)."""
    return fs_version().decode()


def openmp_enabled():
    return bool(fs_openmp_enabled())


def max_threads():
    return fs_max_threads()


def set_openmp_team(bint on):
    """Whether calls may run on the calling thread's spinning OpenMP team (fs_set_openmp_team)."""
    fs_set_openmp_team(on)


def thread_count(int requested):
    """The threads a kernel runs on when asked for ``requested`` (fs_thread_count)."""
    return fs_thread_count(requested)


def simd_level():
    """The name of the best SIMD variant this CPU supports (the one kernels use by default)."""
    return fs_simd_level().decode()


def simd_levels():
    """The names of the variants this build and CPU can run, generic first."""
    return [fs_simd_name(v).decode() for v in range(FS_SIMD_GENERIC, FS_SIMD_AVX512 + 1)
            if fs_simd_supported(v)]


def simd_name(int simd):
    """The name of a variant given its ``simd`` argument (not 0)."""
    return fs_simd_name(simd).decode()


def simd_id(str name):
    """The kernels' ``simd`` argument for a variant's name (0 means the best supported)."""
    cdef int v = fs_simd_from_name(name.encode())
    if v < 0:
        raise ValueError(f"unknown SIMD variant {name!r}")
    return v


def forward(const floating[:, ::1] em, const floating[:, ::1] trans, const floating[::1] start,
            const floating[::1] end, const int64_t[::1] offsets, const int64_t[::1] lengths,
            int n_threads, int simd, floating[:, ::1] log_alpha, double[::1] log_Z):
    cdef _Pending pending
    cdef fs_batch b = _batch(trans.shape[0], offsets, lengths, n_threads, simd, &pending)
    cdef int s
    cdef floating *la = &log_alpha[0, 0] if log_alpha is not None and log_alpha.shape[0] > 0 else NULL
    cdef double *lz = &log_Z[0] if log_Z.shape[0] > 0 else NULL
    cdef const floating *e = &em[0, 0] if em.shape[0] > 0 else NULL
    cdef const floating *ps = _opt(start)
    cdef const floating *pe = _opt(end)
    with nogil:
        if floating is float:
            s = fs_forward_f32(&b, e, &trans[0, 0], ps, pe, la, lz)
        else:
            s = fs_forward_f64(&b, e, &trans[0, 0], ps, pe, la, lz)
    _check(s, "forward", &pending)


def backward(const floating[:, ::1] em, const floating[:, ::1] trans, const floating[::1] start,
             const floating[::1] end, const int64_t[::1] offsets, const int64_t[::1] lengths,
             int n_threads, int simd, floating[:, ::1] log_beta):
    cdef _Pending pending
    cdef fs_batch b = _batch(trans.shape[0], offsets, lengths, n_threads, simd, &pending)
    cdef int s
    cdef floating *lb = &log_beta[0, 0] if log_beta.shape[0] > 0 else NULL
    cdef const floating *e = &em[0, 0] if em.shape[0] > 0 else NULL
    cdef const floating *ps = _opt(start)
    cdef const floating *pe = _opt(end)
    with nogil:
        if floating is float:
            s = fs_backward_f32(&b, e, &trans[0, 0], ps, pe, lb)
        else:
            s = fs_backward_f64(&b, e, &trans[0, 0], ps, pe, lb)
    _check(s, "backward", &pending)


def marginals(const floating[:, ::1] em, const floating[:, ::1] trans, const floating[::1] start,
              const floating[::1] end, const int64_t[::1] offsets, const int64_t[::1] lengths,
              int n_threads, int simd, floating[:, ::1] node, floating[:, :, ::1] pair,
              double[::1] log_Z):
    cdef _Pending pending
    cdef fs_batch b = _batch(trans.shape[0], offsets, lengths, n_threads, simd, &pending)
    cdef int s
    cdef floating *nd = &node[0, 0] if node is not None and node.shape[0] > 0 else NULL
    cdef floating *pr = &pair[0, 0, 0] if pair is not None and pair.shape[0] > 0 else NULL
    cdef double *lz = &log_Z[0] if log_Z.shape[0] > 0 else NULL
    cdef const floating *e = &em[0, 0] if em.shape[0] > 0 else NULL
    cdef const floating *ps = _opt(start)
    cdef const floating *pe = _opt(end)
    with nogil:
        if floating is float:
            s = fs_marginals_f32(&b, e, &trans[0, 0], ps, pe, nd, pr, lz)
        else:
            s = fs_marginals_f64(&b, e, &trans[0, 0], ps, pe, nd, pr, lz)
    _check(s, "marginals", &pending)


def viterbi(const floating[:, ::1] em, const floating[:, ::1] trans, const floating[::1] start,
            const floating[::1] end, const int64_t[::1] offsets, const int64_t[::1] lengths,
            int n_threads, int simd, int64_t[::1] paths, double[::1] scores):
    cdef _Pending pending
    cdef fs_batch b = _batch(trans.shape[0], offsets, lengths, n_threads, simd, &pending)
    cdef int s
    cdef int64_t *p = &paths[0] if paths.shape[0] > 0 else NULL
    cdef double *sc = &scores[0] if scores.shape[0] > 0 else NULL
    cdef const floating *e = &em[0, 0] if em.shape[0] > 0 else NULL
    cdef const floating *ps = _opt(start)
    cdef const floating *pe = _opt(end)
    with nogil:
        if floating is float:
            s = fs_viterbi_f32(&b, e, &trans[0, 0], ps, pe, p, sc)
        else:
            s = fs_viterbi_f64(&b, e, &trans[0, 0], ps, pe, p, sc)
    _check(s, "viterbi", &pending)


def kbest(const floating[:, ::1] em, const floating[:, ::1] trans, const floating[::1] start,
          const floating[::1] end, const int64_t[::1] offsets, const int64_t[::1] lengths,
          int n_threads, int simd, int64_t k, const int64_t[::1] path_base,
          int64_t rank_stride, int64_t[::1] paths, double[:, ::1] scores):
    cdef _Pending pending
    cdef fs_batch b = _batch(trans.shape[0], offsets, lengths, n_threads, simd, &pending)
    cdef int s
    cdef int64_t *p = &paths[0] if paths.shape[0] > 0 else NULL
    cdef const int64_t *pb = &path_base[0] if path_base.shape[0] > 0 else NULL
    cdef double *sc = &scores[0, 0] if scores.shape[0] > 0 else NULL
    cdef const floating *e = &em[0, 0] if em.shape[0] > 0 else NULL
    cdef const floating *ps = _opt(start)
    cdef const floating *pe = _opt(end)
    with nogil:
        if floating is float:
            s = fs_kbest_f32(&b, e, &trans[0, 0], ps, pe, k, pb, rank_stride, p, sc)
        else:
            s = fs_kbest_f64(&b, e, &trans[0, 0], ps, pe, k, pb, rank_stride, p, sc)
    _check(s, "kbest", &pending)


cdef inline fs_pattern _pattern(const int64_t[::1] indptr, const int32_t[::1] indices):
    cdef fs_pattern m
    m.nnz = indices.shape[0]
    m.indptr = &indptr[0]
    m.indices = &indices[0] if indices.shape[0] > 0 else NULL
    return m


def sparse_forward(const floating[:, ::1] em, const int64_t[::1] indptr,
                   const int32_t[::1] indices, const floating[::1] trans,
                   const floating[::1] start, const floating[::1] end,
                   const int64_t[::1] offsets, const int64_t[::1] lengths, int n_threads,
                   int simd, floating[:, ::1] log_alpha, double[::1] log_Z):
    """forward over sparse transitions (CSR ``indptr``, ``indices``, scores ``trans``)."""
    cdef _Pending pending
    cdef fs_batch b = _batch(indptr.shape[0] - 1, offsets, lengths, n_threads, simd, &pending)
    cdef fs_pattern m = _pattern(indptr, indices)
    cdef int s
    cdef floating *la = &log_alpha[0, 0] if log_alpha is not None and log_alpha.shape[0] > 0 else NULL
    cdef double *lz = &log_Z[0] if log_Z.shape[0] > 0 else NULL
    cdef const floating *e = &em[0, 0] if em.shape[0] > 0 else NULL
    cdef const floating *tr = _opt(trans) if trans.shape[0] > 0 else NULL
    cdef const floating *ps = _opt(start)
    cdef const floating *pe = _opt(end)
    with nogil:
        if floating is float:
            s = fs_sparse_forward_f32(&b, e, &m, tr, ps, pe, la, lz)
        else:
            s = fs_sparse_forward_f64(&b, e, &m, tr, ps, pe, la, lz)
    _check(s, "forward", &pending)


def sparse_backward(const floating[:, ::1] em, const int64_t[::1] indptr,
                    const int32_t[::1] indices, const floating[::1] trans,
                    const floating[::1] start, const floating[::1] end,
                    const int64_t[::1] offsets, const int64_t[::1] lengths, int n_threads,
                    int simd, floating[:, ::1] log_beta):
    cdef _Pending pending
    cdef fs_batch b = _batch(indptr.shape[0] - 1, offsets, lengths, n_threads, simd, &pending)
    cdef fs_pattern m = _pattern(indptr, indices)
    cdef int s
    cdef floating *lb = &log_beta[0, 0] if log_beta.shape[0] > 0 else NULL
    cdef const floating *e = &em[0, 0] if em.shape[0] > 0 else NULL
    cdef const floating *tr = _opt(trans) if trans.shape[0] > 0 else NULL
    cdef const floating *ps = _opt(start)
    cdef const floating *pe = _opt(end)
    with nogil:
        if floating is float:
            s = fs_sparse_backward_f32(&b, e, &m, tr, ps, pe, lb)
        else:
            s = fs_sparse_backward_f64(&b, e, &m, tr, ps, pe, lb)
    _check(s, "backward", &pending)


def sparse_marginals(const floating[:, ::1] em, const int64_t[::1] indptr,
                     const int32_t[::1] indices, const floating[::1] trans,
                     const floating[::1] start, const floating[::1] end,
                     const int64_t[::1] offsets, const int64_t[::1] lengths, int n_threads,
                     int simd, floating[:, ::1] node, floating[:, ::1] pair,
                     double[::1] log_Z):
    """``pair``: [B, nnz] or None."""
    cdef _Pending pending
    cdef fs_batch b = _batch(indptr.shape[0] - 1, offsets, lengths, n_threads, simd, &pending)
    cdef fs_pattern m = _pattern(indptr, indices)
    cdef int s
    cdef floating *nd = &node[0, 0] if node is not None and node.shape[0] > 0 else NULL
    cdef floating *pr = &pair[0, 0] if pair is not None and pair.size > 0 else NULL
    cdef double *lz = &log_Z[0] if log_Z.shape[0] > 0 else NULL
    cdef const floating *e = &em[0, 0] if em.shape[0] > 0 else NULL
    cdef const floating *tr = _opt(trans) if trans.shape[0] > 0 else NULL
    cdef const floating *ps = _opt(start)
    cdef const floating *pe = _opt(end)
    with nogil:
        if floating is float:
            s = fs_sparse_marginals_f32(&b, e, &m, tr, ps, pe, nd, pr, lz)
        else:
            s = fs_sparse_marginals_f64(&b, e, &m, tr, ps, pe, nd, pr, lz)
    _check(s, "marginals", &pending)


def sparse_viterbi(const floating[:, ::1] em, const int64_t[::1] indptr,
                   const int32_t[::1] indices, const floating[::1] trans,
                   const floating[::1] start, const floating[::1] end,
                   const int64_t[::1] offsets, const int64_t[::1] lengths, int n_threads,
                   int simd, int64_t[::1] paths, double[::1] scores):
    cdef _Pending pending
    cdef fs_batch b = _batch(indptr.shape[0] - 1, offsets, lengths, n_threads, simd, &pending)
    cdef fs_pattern m = _pattern(indptr, indices)
    cdef int s
    cdef int64_t *p = &paths[0] if paths.shape[0] > 0 else NULL
    cdef double *sc = &scores[0] if scores.shape[0] > 0 else NULL
    cdef const floating *e = &em[0, 0] if em.shape[0] > 0 else NULL
    cdef const floating *tr = _opt(trans) if trans.shape[0] > 0 else NULL
    cdef const floating *ps = _opt(start)
    cdef const floating *pe = _opt(end)
    with nogil:
        if floating is float:
            s = fs_sparse_viterbi_f32(&b, e, &m, tr, ps, pe, p, sc)
        else:
            s = fs_sparse_viterbi_f64(&b, e, &m, tr, ps, pe, p, sc)
    _check(s, "viterbi", &pending)


def sparse_kbest(const floating[:, ::1] em, const int64_t[::1] indptr,
                 const int32_t[::1] indices, const floating[::1] trans,
                 const floating[::1] start, const floating[::1] end,
                 const int64_t[::1] offsets, const int64_t[::1] lengths, int n_threads,
                 int simd, int64_t k, const int64_t[::1] path_base, int64_t rank_stride,
                 int64_t[::1] paths, double[:, ::1] scores):
    cdef _Pending pending
    cdef fs_batch b = _batch(indptr.shape[0] - 1, offsets, lengths, n_threads, simd, &pending)
    cdef fs_pattern m = _pattern(indptr, indices)
    cdef int s
    cdef int64_t *p = &paths[0] if paths.shape[0] > 0 else NULL
    cdef const int64_t *pb = &path_base[0] if path_base.shape[0] > 0 else NULL
    cdef double *sc = &scores[0, 0] if scores.shape[0] > 0 else NULL
    cdef const floating *e = &em[0, 0] if em.shape[0] > 0 else NULL
    cdef const floating *tr = _opt(trans) if trans.shape[0] > 0 else NULL
    cdef const floating *ps = _opt(start)
    cdef const floating *pe = _opt(end)
    with nogil:
        if floating is float:
            s = fs_sparse_kbest_f32(&b, e, &m, tr, ps, pe, k, pb, rank_stride, p, sc)
        else:
            s = fs_sparse_kbest_f64(&b, e, &m, tr, ps, pe, k, pb, rank_stride, p, sc)
    _check(s, "kbest", &pending)


def sequence_score(const floating[:, ::1] em, const floating[:, ::1] trans,
                   const floating[::1] start, const floating[::1] end,
                   const int64_t[::1] offsets, const int64_t[::1] lengths, int n_threads,
                   int simd, const int64_t[::1] tags, double[::1] scores):
    cdef _Pending pending
    cdef fs_batch b = _batch(trans.shape[0], offsets, lengths, n_threads, simd, &pending)
    cdef int s
    cdef const int64_t *y = &tags[0] if tags.shape[0] > 0 else NULL
    cdef double *sc = &scores[0] if scores.shape[0] > 0 else NULL
    cdef const floating *e = &em[0, 0] if em.shape[0] > 0 else NULL
    cdef const floating *ps = _opt(start)
    cdef const floating *pe = _opt(end)
    with nogil:
        if floating is float:
            s = fs_sequence_score_f32(&b, e, &trans[0, 0], ps, pe, y, sc)
        else:
            s = fs_sequence_score_f64(&b, e, &trans[0, 0], ps, pe, y, sc)
    _check(s, "sequence_score", &pending)


def crf_nll(const floating[:, ::1] em, const floating[:, ::1] trans, const floating[::1] start,
            const floating[::1] end, const int64_t[::1] offsets, const int64_t[::1] lengths,
            int n_threads, int simd, const int64_t[::1] tags, double[::1] nll,
            floating[:, ::1] g_em, floating[:, :, ::1] g_pair, floating[:, ::1] g_start,
            floating[:, ::1] g_end):
    cdef _Pending pending
    cdef fs_batch b = _batch(trans.shape[0], offsets, lengths, n_threads, simd, &pending)
    cdef int s
    cdef const int64_t *y = &tags[0] if tags.shape[0] > 0 else NULL
    cdef double *out = &nll[0] if nll.shape[0] > 0 else NULL
    cdef const floating *e = &em[0, 0] if em.shape[0] > 0 else NULL
    cdef floating *ge = &g_em[0, 0] if g_em.shape[0] > 0 else NULL
    cdef floating *gp = &g_pair[0, 0, 0] if g_pair.shape[0] > 0 else NULL
    cdef floating *gs = &g_start[0, 0] if g_start.shape[0] > 0 else NULL
    cdef floating *gn = &g_end[0, 0] if g_end.shape[0] > 0 else NULL
    cdef const floating *ps = _opt(start)
    cdef const floating *pe = _opt(end)
    with nogil:
        if floating is float:
            s = fs_crf_nll_f32(&b, e, &trans[0, 0], ps, pe, y, out, ge, gp, gs, gn)
        else:
            s = fs_crf_nll_f64(&b, e, &trans[0, 0], ps, pe, y, out, ge, gp, gs, gn)
    _check(s, "crf_nll", &pending)


cdef const double *_values(object data, Py_ssize_t n) except? NULL:
    """The address of an entries' values array of length n (NULL for None: all ones)."""
    cdef const double[::1] d
    if data is None:
        return NULL
    d = data
    if d.shape[0] != n:
        raise ValueError("indptr does not match the entries' values")
    return &d[0] if n > 0 else NULL


cdef _check_rows(Py_ssize_t r0, Py_ssize_t r1, const int64_t[::1] indptr,
                 const int32_t[::1] indices, Py_ssize_t n_rows):
    # the column indices themselves are the caller's to check (fs_csr_matmul)
    if not (0 <= r0 <= r1 < indptr.shape[0]) or r1 > n_rows:
        raise ValueError(f"rows {r0}:{r1} out of range")
    if r1 > r0 and (indptr[r0] < 0 or indptr[r1] > indices.shape[0]):
        raise ValueError("indptr does not match indices")


def csr_matmul(Py_ssize_t r0, Py_ssize_t r1, const int64_t[::1] indptr,
               const int32_t[::1] indices, data, const double[:, ::1] W,
               double[:, ::1] out, int simd):
    """Rows r0:r1 of out = X @ W[:, :N] (fs_csr_matmul), N = out's columns; W's rows padded
    to a multiple of 8; data None: values 1. X's column indices must be below W's rows."""
    cdef int s
    cdef const double *pd = _values(data, indices.shape[0])
    _check_rows(r0, r1, indptr, indices, out.shape[0])
    if W.shape[1] % 8 or W.shape[1] < out.shape[1] or out.shape[1] < 1:
        raise ValueError("W must have a multiple of 8 columns, at least out's")
    if r1 == r0:
        return
    with nogil:
        s = fs_csr_matmul(r0, r1, &indptr[0], &indices[0] if indices.shape[0] else NULL, pd,
                          &W[0, 0], W.shape[1], out.shape[1], &out[0, 0], simd)
    _check(s, "csr_matmul", NULL)


def csr_tmatmul_add(Py_ssize_t r0, Py_ssize_t r1, const int64_t[::1] indptr,
                    const int32_t[::1] indices, data, const double[:, ::1] G,
                    double[:, ::1] out, int simd):
    """out[:, :N] += (rows r0:r1 of X).T @ G[r0:r1] (fs_csr_tmatmul_add), N = G's columns;
    out's rows padded to a multiple of 8; data None: values 1. X's column indices must be
    below out's rows."""
    cdef int s
    cdef const double *pd = _values(data, indices.shape[0])
    _check_rows(r0, r1, indptr, indices, G.shape[0])
    if out.shape[1] % 8 or out.shape[1] < G.shape[1] or G.shape[1] < 1:
        raise ValueError("out must have a multiple of 8 columns, at least G's")
    if r1 == r0:
        return
    with nogil:
        s = fs_csr_tmatmul_add(r0, r1, &indptr[0], &indices[0] if indices.shape[0] else NULL,
                               pd, &G[0, 0], G.shape[1], &out[0, 0], out.shape[1], simd)
    _check(s, "csr_tmatmul_add", NULL)


cdef _check_features(Py_ssize_t r0, Py_ssize_t r1, const int64_t[::1] indptr,
                     const int32_t[::1] feat, const int32_t[::1] col, Py_ssize_t n_rows):
    # the feature ids and columns themselves are the caller's to check
    _check_rows(r0, r1, indptr, feat, n_rows)
    if col.shape[0] != feat.shape[0]:
        raise ValueError("indptr does not match feat and col")


def feature_scores_add(Py_ssize_t r0, Py_ssize_t r1, const int64_t[::1] indptr,
                       const int32_t[::1] feat, const int32_t[::1] col, data,
                       const double[::1] w, double[:, ::1] out, int simd):
    """Rows r0:r1 of out += the features' weights (fs_feature_scores_add); data None: ones.
    feat must index w, col out's columns."""
    cdef int s
    cdef const double *pd = _values(data, feat.shape[0])
    _check_features(r0, r1, indptr, feat, col, out.shape[0])
    if r1 == r0 or indptr[r1] == indptr[r0]:
        return
    with nogil:
        s = fs_feature_scores_add(r0, r1, &indptr[0], &feat[0], &col[0], pd, &w[0],
                                  out.shape[1], &out[0, 0], simd)
    _check(s, "feature_scores_add", NULL)


def feature_grads_add(Py_ssize_t r0, Py_ssize_t r1, const int64_t[::1] indptr,
                      const int32_t[::1] feat, const int32_t[::1] col, data,
                      const double[:, ::1] G, double[::1] gw, int simd):
    """gw += the features' gradient over rows r0:r1 (fs_feature_grads_add); data None: ones.
    feat must index gw, col G's columns."""
    cdef int s
    cdef const double *pd = _values(data, feat.shape[0])
    _check_features(r0, r1, indptr, feat, col, G.shape[0])
    if r1 == r0 or indptr[r1] == indptr[r0]:
        return
    with nogil:
        s = fs_feature_grads_add(r0, r1, &indptr[0], &feat[0], &col[0], pd, &G[0, 0],
                                 G.shape[1], &gw[0], simd)
    _check(s, "feature_grads_add", NULL)
