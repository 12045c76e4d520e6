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

import numpy as np

cimport numpy as cnp

cnp.import_array()

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
    fs_stream, fs_stream_config, fs_stream_create, fs_stream_free, fs_stream_reset,
    fs_stream_push_f32, fs_stream_push_f64, fs_stream_flush, fs_stream_position,
    fs_stream_pending, fs_stream_take, fs_stream_best_score, fs_stream_filtered,
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



_BAD_SCORES = {1: "contains NaN", 2: "contains +inf (use -inf for forbidden entries)",
               3: "holds a score above {:.3g}, large enough for a long stream's path score "
                  "to overflow"}


cdef int _bad_scores(const floating *x, Py_ssize_t n, double limit) noexcept nogil:
    """0 when every score is a number <= limit (or -inf); else 1 for NaN, 2 for +inf, 3
    for a finite score above limit. (One pass without an exit, which the compiler can
    vectorise; the kind is looked for only when something is off.)"""
    cdef Py_ssize_t i
    cdef bint ok = True
    cdef double v
    cdef float flt_max = 3.4028234663852886e38
    if floating is float:  # every finite float is below limit: compared as floats
        for i in range(n):
            ok &= x[i] <= flt_max
    else:
        for i in range(n):
            ok &= x[i] <= limit
    if ok:
        return 0
    for i in range(n):
        v = x[i]
        if not v <= limit:
            if v != v:
                return 1
            return 2 if v - v != 0 else 3
    return 0


cdef class StreamCore:
    """An fs_stream: ``n_streams`` online decoders of one model, advanced together.

    The model arrives validated (float64, C-contiguous); rows of scores are checked here,
    one value at a time, so that a push costs no numpy call. Keeps how many labels each
    stream has handed out (their positions). Not for two threads at once (a second caller
    while one is inside gets a RuntimeError).
    """
    cdef fs_stream *st
    cdef readonly Py_ssize_t n_states, n_streams
    cdef readonly double limit
    cdef readonly bint flushed
    cdef int n_threads
    cdef bint busy
    cdef int64_t[::1] taken

    def __cinit__(self, const double[:, ::1] trans, const double[::1] start,
                  const double[::1] end, Py_ssize_t n_streams, Py_ssize_t max_lag,
                  bint filter, int simd, int n_threads, double limit):
        cdef fs_stream_config c
        c.n_states = trans.shape[0]
        c.n_streams = n_streams
        c.max_lag = max_lag
        c.filter = filter
        c.simd = simd
        self.n_states = trans.shape[0]
        self.n_streams = n_streams
        self.n_threads = n_threads
        self.limit = limit
        self.taken = np.zeros(n_streams, dtype=np.int64)
        _check(fs_stream_create(&c, &trans[0, 0], _opt(start), _opt(end), &self.st),
               "stream", NULL)

    def __dealloc__(self):
        fs_stream_free(self.st)

    cdef int _enter(self) except -1:
        if self.busy:
            raise RuntimeError("this stream decoder is in use by another thread")
        self.busy = True
        return 0

    cdef int _checked(self, const void *x, bint f32, Py_ssize_t n) except -1:
        cdef int bad = (_bad_scores(<const float *>x, n, self.limit) if f32
                        else _bad_scores(<const double *>x, n, self.limit))
        if bad:
            raise ValueError("`scores` " + _BAD_SCORES[bad].format(self.limit))
        return 0

    def push(self, cnp.ndarray rows not None, Py_ssize_t n_steps):
        """Pushes ``n_steps`` rows to every stream: ``rows`` is a C-contiguous, aligned,
        native float32 or float64 array of n_steps * B * N scores."""
        cdef int s
        cdef bint f32 = cnp.PyArray_TYPE(rows) == cnp.NPY_FLOAT32
        cdef const void *x = cnp.PyArray_DATA(rows)
        if (not cnp.PyArray_IS_C_CONTIGUOUS(rows) or not cnp.PyArray_ISALIGNED(rows)
                or not cnp.PyArray_ISNOTSWAPPED(rows)
                or (not f32 and cnp.PyArray_TYPE(rows) != cnp.NPY_FLOAT64)
                or cnp.PyArray_SIZE(rows) != n_steps * self.n_streams * self.n_states):
            raise ValueError("rows do not match the streams")
        if self.flushed:
            raise ValueError("the stream was flushed: call reset() to start a new one")
        if n_steps == 0:
            return
        self._checked(x, f32, cnp.PyArray_SIZE(rows))
        self._enter()
        try:
            with nogil:
                if f32:
                    s = fs_stream_push_f32(self.st, <const float *>x, n_steps, self.n_threads)
                else:
                    s = fs_stream_push_f64(self.st, <const double *>x, n_steps, self.n_threads)
        finally:
            self.busy = False
        _check(s, "stream push", NULL)

    def push_row(self, row):
        """One row of one stream (n_streams = 1), when it is a contiguous float32 / float64
        array of N scores: the labels that became final. None for any other input (the
        caller converts it) or after a flush."""
        cdef cnp.ndarray a
        cdef int s, t
        cdef bint f32
        if type(row) is not cnp.ndarray or self.flushed or self.n_streams != 1:
            return None
        a = <cnp.ndarray>row
        t = cnp.PyArray_TYPE(a)
        f32 = t == cnp.NPY_FLOAT32
        if (cnp.PyArray_NDIM(a) != 1 or cnp.PyArray_DIM(a, 0) != self.n_states
                or not (f32 or t == cnp.NPY_FLOAT64) or not cnp.PyArray_IS_C_CONTIGUOUS(a)
                or not cnp.PyArray_ISALIGNED(a) or not cnp.PyArray_ISNOTSWAPPED(a)):
            return None
        self._checked(cnp.PyArray_DATA(a), f32, self.n_states)
        self._enter()
        if f32:
            s = fs_stream_push_f32(self.st, <const float *>cnp.PyArray_DATA(a), 1, 1)
        else:
            s = fs_stream_push_f64(self.st, <const double *>cnp.PyArray_DATA(a), 1, 1)
        self.busy = False
        _check(s, "stream push", NULL)
        return self.take(0)

    def take(self, Py_ssize_t b):
        """The labels committed to stream ``b`` since the last take (int64)."""
        cdef cnp.npy_intp n = fs_stream_pending(self.st, b)
        cdef cnp.ndarray out = cnp.PyArray_EMPTY(1, &n, cnp.NPY_INT64, 0)
        if n:
            fs_stream_take(self.st, b, <int64_t *>cnp.PyArray_DATA(out), n)
            self.taken[b] += n
        return out

    def take_all(self):
        """Every stream's new labels as (stream, position, label), in stream order."""
        cdef Py_ssize_t b, k
        cdef cnp.npy_intp total = 0
        cdef int64_t n
        for b in range(self.n_streams):
            total += fs_stream_pending(self.st, b)
        stream = cnp.PyArray_EMPTY(1, &total, cnp.NPY_INT64, 0)
        position = cnp.PyArray_EMPTY(1, &total, cnp.NPY_INT64, 0)
        label = cnp.PyArray_EMPTY(1, &total, cnp.NPY_INT64, 0)
        cdef int64_t[::1] so = stream, po = position, lo = label
        total = 0
        for b in range(self.n_streams):
            n = fs_stream_pending(self.st, b)
            if n:
                fs_stream_take(self.st, b, &lo[total], n)
                for k in range(n):
                    so[total + k] = b
                    po[total + k] = self.taken[b] + k
                self.taken[b] += n
                total += n
        return stream, position, label

    def flush(self):
        self._enter()
        s = fs_stream_flush(self.st)
        self.busy = False
        _check(s, "stream flush", NULL)
        self.flushed = True

    def reset(self):
        self._enter()
        fs_stream_reset(self.st)
        self.busy = False
        self.flushed = False
        self.taken[:] = 0

    def committed(self, Py_ssize_t b):
        """Positions of stream ``b`` whose labels are final (taken or not)."""
        return self.taken[b] + fs_stream_pending(self.st, b)

    @property
    def position(self):
        return fs_stream_position(self.st)

    def best_score(self, Py_ssize_t b):
        return fs_stream_best_score(self.st, b)

    def filtered(self, Py_ssize_t b, double[::1] probs):
        """probs[N] = p(z_t | x_1..t); returns the log evidence."""
        cdef double lz = 0.0
        _check(fs_stream_filtered(self.st, b, &probs[0], &lz), "stream filtered", NULL)
        return lz
