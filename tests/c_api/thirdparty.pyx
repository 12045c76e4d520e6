# cython: language_level=3, boundscheck=False, wraparound=False
"""A third-party extension module, built by tests/test_c_api.py against the installed
fastseq: it calls the kernels from its own code without the GIL."""
from libc.stdint cimport int64_t
from libc.string cimport memset

cimport fastseq.kernels as fk

import numpy as np


def viterbi(const double[:, ::1] em, const double[:, ::1] trans, const int64_t[::1] lengths):
    """Best paths of a concatenated batch, one kernel call without the GIL."""
    cdef int64_t B = lengths.shape[0]
    offsets = np.cumsum(lengths) - np.asarray(lengths)
    paths = np.full(em.shape[0], -1, dtype=np.int64)
    scores = np.empty(B)
    cdef const int64_t[::1] off = offsets
    cdef int64_t[::1] p = paths
    cdef double[::1] s = scores
    cdef fk.fs_batch batch
    memset(&batch, 0, sizeof(batch))
    batch.n_states = em.shape[1]
    batch.n_seqs = B
    batch.offsets = &off[0]
    batch.lengths = &lengths[0]
    batch.n_threads = 2
    batch.simd = fk.FS_SIMD_AUTO
    cdef int status
    with nogil:
        status = fk.fs_viterbi_f64(&batch, &em[0, 0], &trans[0, 0], NULL, NULL, &p[0], &s[0])
    if status != fk.FS_OK:
        raise RuntimeError(fk.fs_status_name(status).decode())
    return paths, scores


def log_partitions(const float[:, ::1] em, const float[:, ::1] trans,
                   const float[::1] start, const int64_t[::1] lengths):
    """log Z of each sequence, one kernel call per sequence in a nogil loop."""
    cdef int64_t B = lengths.shape[0], b, offset = 0
    log_Z = np.empty(B)
    cdef double[::1] out = log_Z
    cdef int64_t zero = 0
    cdef fk.fs_batch batch
    cdef int status = fk.FS_OK
    memset(&batch, 0, sizeof(batch))
    batch.n_states = em.shape[1]
    batch.n_seqs = 1
    batch.offsets = &zero
    batch.n_threads = 1
    with nogil:
        for b in range(B):
            batch.lengths = &lengths[b]
            status = fk.fs_forward_f32(&batch, &em[offset, 0], &trans[0, 0], &start[0], NULL,
                                       NULL, &out[b])
            if status != fk.FS_OK:
                break
            offset += lengths[b]
    if status != fk.FS_OK:
        raise RuntimeError(fk.fs_status_name(status).decode())
    return log_Z


def versions():
    """The header's version (at compile time) and the linked library's (at run time)."""
    return (fk.FASTSEQ_VERSION_STRING.decode(), fk.fs_version().decode(),
            fk.FASTSEQ_VERSION_NUMBER)
