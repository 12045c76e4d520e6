# cython: language_level=3, freethreading_compatible=True
"""One epoch of CRFsuite's per-sequence learners, compiled: the averaged perceptron, the
passive-aggressive and AROW updates (:func:`online_epoch`) and the L2-regularised SGD step
(:func:`sgd_epoch`).

The learners visit the sequences one at a time and change the weights after each, so the
loop cannot be batched; run from Python it cost ~100 us of overhead per sequence, several
times the work. Here the loop runs without the GIL, decoding each sequence with
``fs_viterbi_f64`` and differentiating it with ``fs_crf_nll_f64`` (one sequence, one
thread) and updating the weights in place.

The weights are one flat vector ``w``: the ``K_s`` state features grouped by attribute, as
CRFsuite does (the weights a token reads then share a few cache lines), with labels
``label`` (int32), then the transition weights ``T`` ``(N, N)``, of which only the entries
marked in ``t_exists`` (uint8) are features (no other entry ever changes). The training
matrix is CSR with, instead of column indices, the range ``lo[p] : hi[p]`` of ``w`` holding
the state features of entry ``p``'s attribute (int64; one less indirection per entry):
token ``r``'s entries are ``indptr[r] : indptr[r + 1]`` with values ``data``, sequence ``s``
is rows ``offsets[s] : offsets[s + 1]``. Arguments are trusted (the callers in fastseq.crf
build them).
"""
from libc.math cimport sqrt
from libc.stdint cimport int32_t, int64_t, uint8_t

import numpy as np

from cpython.exc cimport PyErr_CheckSignals
from fastseq.kernels cimport (FS_OK, fs_batch, fs_crf_nll_f64, fs_simd_from_name,
                              fs_status_name, fs_viterbi_f64)

cdef enum:
    AP, PA, AROW       # the algorithms of online_epoch
    CHECK_EVERY = 256  # sequences between two checks for Ctrl-C


cdef struct Data:
    const int64_t *indptr
    const int64_t *lo
    const int64_t *hi
    const double *data
    const int64_t *offsets
    const int64_t *y
    const int32_t *label
    int64_t N
    fs_batch batch          # one sequence: offsets[0] = 0, lengths[0] = its length
    int64_t off0, len0


cdef inline void state_scores(const Data *d, int64_t s, const double *w, double scale,
                              double *E) noexcept nogil:
    """E[t, label] = scale * the sum over the state features (attribute, label) of token t
    of value * weight."""
    cdef int64_t N = d.N, r0 = d.offsets[s], n = d.offsets[s + 1] - r0, t, p, f
    cdef double v
    cdef double *row
    for t in range(n):
        row = E + t * N
        for f in range(N):
            row[f] = 0.0
        for p in range(d.indptr[r0 + t], d.indptr[r0 + t + 1]):
            v = d.data[p]
            for f in range(d.lo[p], d.hi[p]):
                row[d.label[f]] += w[f] * v
        if scale != 1.0:
            for f in range(N):
                row[f] *= scale


cdef inline int64_t state_feature(const Data *d, int64_t p, int64_t lab) noexcept nogil:
    """The state feature (the attribute of entry p, label lab), or -1 if there is none."""
    cdef int64_t f
    for f in range(d.lo[p], d.hi[p]):
        if d.label[f] == lab:
            return f
    return -1


cdef inline int64_t add_to(int64_t k, double v, double *acc, uint8_t *seen, int64_t *touched,
                           int64_t nt) noexcept nogil:
    """acc[k] += v for an entry k of the weights (k < 0: not a feature, nothing to do),
    listing k in touched the first time; returns the new length of touched."""
    if k < 0:
        return nt
    if not seen[k]:
        seen[k] = 1
        touched[nt] = k
        nt += 1
    acc[k] += v
    return nt


cdef int simd_of(str name) except -1:
    cdef int v = fs_simd_from_name(name.encode())
    if v < 0:
        raise ValueError(f"unknown SIMD variant {name!r}")
    return v


cdef int check_status(int status, str kernel) except -1:
    if status != FS_OK:
        name = fs_status_name(status).decode()
        if name == "FS_ERR_NOMEM":
            raise MemoryError(f"{kernel}: could not allocate scratch memory")
        raise RuntimeError(f"{kernel} failed with {name}")
    return 0


cdef Data make_data(const int64_t[::1] indptr, const int64_t[::1] lo, const int64_t[::1] hi,
                    const double[::1] data, const int64_t[::1] offsets, const int64_t[::1] y,
                    const int32_t[::1] label, int64_t N, str simd):
    cdef Data d
    d.label = &label[0] if label.shape[0] else NULL
    d.indptr = &indptr[0]
    d.lo = &lo[0] if lo.shape[0] else NULL
    d.hi = &hi[0] if hi.shape[0] else NULL
    d.data = &data[0] if data.shape[0] else NULL
    d.offsets = &offsets[0]
    d.y = &y[0] if y.shape[0] else NULL
    d.N = N
    d.off0 = 0
    d.len0 = 0
    d.batch.n_states = N
    d.batch.n_seqs = 1
    d.batch.n_threads = 1
    d.batch.simd = simd_of(simd)
    d.batch.interrupt = NULL
    d.batch.interrupt_ctx = NULL
    return d


cdef int64_t longest(const int64_t[::1] offsets):
    cdef int64_t s, m = 0
    for s in range(offsets.shape[0] - 1):
        m = max(m, offsets[s + 1] - offsets[s])
    return m


def online_epoch(str name, const int64_t[::1] order, double[::1] w, double[::1] aux,
                 int64_t u, const int64_t[::1] indptr, const int64_t[::1] lo,
                 const int64_t[::1] hi, const double[::1] data, const int64_t[::1] offsets,
                 const int64_t[::1] y, const int32_t[::1] label, int64_t N,
                 const uint8_t[::1] t_exists, *, int pa_type=1, double c=1.0,
                 bint error_sensitive=True, double gamma=1.0, str simd="generic"):
    """One epoch of the averaged perceptron (``name`` "ap"), passive-aggressive ("pa") or
    AROW ("arow") over the sequences in ``order``; ``w`` and ``aux`` are updated in place.

    Each sequence is decoded by Viterbi under ``w``; where the path differs from the gold
    labels ``y`` in ``d`` tokens, ``delta`` (the gold path's feature vector minus the
    predicted path's, on the entries that are features) moves ``w``:

    - perceptron: ``w += delta``, ``aux += u * delta`` (the averaging sums); cost ``d / n``;
    - passive-aggressive: ``w += tau * delta``, ``aux += tau * u * delta``, ``tau`` by
      ``pa_type`` from ``cost = margin + (sqrt(d) if error_sensitive else 1)``;
    - AROW (``aux`` holds the variances): ``w += alpha * aux * delta``, ``aux = 1 / (1 / aux
      + delta**2 / gamma)``, ``alpha = cost / (gamma + sum(aux * delta**2))``, ``cost =
      margin + d``;

    where ``margin`` is the Viterbi score minus the gold path's score. ``u`` counts the
    sequences visited (it goes up by one per sequence, mistakes or not).

    Returns ``(sum of the costs, u)``.
    """
    cdef int algorithm = {"ap": AP, "pa": PA, "arow": AROW}[name]
    cdef Data d = make_data(indptr, lo, hi, data, offsets, y, label, N, simd)
    cdef int64_t Ks = label.shape[0]
    cdef int64_t n_max = longest(offsets)
    cdef double[::1] E = np.zeros(max(n_max * N, 1))
    cdef int64_t[::1] path = np.zeros(max(n_max, 1), dtype=np.int64)
    cdef double[::1] acc = np.zeros(w.shape[0])
    cdef uint8_t[::1] seen = np.zeros(w.shape[0], dtype=np.uint8)
    cdef int64_t nnz_max = 0, s
    for s in range(offsets.shape[0] - 1):
        nnz_max = max(nnz_max, indptr[offsets[s + 1]] - indptr[offsets[s]])
    cdef int64_t[::1] touched = np.zeros(2 * nnz_max + 2 * n_max + 1, dtype=np.int64)
    cdef double loss = 0.0, best, gold_score, cost, norm2, tau, sv, var, dv, alpha
    cdef double *W = &w[0]
    cdef double *T = W + Ks
    cdef int64_t i, i2, k, t, p, n, r0, nt, diff, status
    cdef const int64_t *gold
    cdef double val
    for i in range(order.shape[0]):
        s = order[i]
        if i % CHECK_EVERY == CHECK_EVERY - 1:
            PyErr_CheckSignals()
        with nogil:
            r0 = offsets[s]
            n = offsets[s + 1] - r0
            if n == 0:
                u += 1
                continue
            state_scores(&d, s, W, 1.0, &E[0])
            d.len0 = n
            d.batch.offsets = &d.off0
            d.batch.lengths = &d.len0
            status = fs_viterbi_f64(&d.batch, &E[0], T, NULL, NULL, &path[0], &best)
        check_status(status, "viterbi")
        with nogil:
            gold = d.y + r0
            diff = 0
            for t in range(n):
                if path[t] != gold[t]:
                    diff += 1
            if diff == 0:
                u += 1
                continue
            # the gold path's score, and delta accumulated in acc over the touched entries
            gold_score = 0.0
            for t in range(n):
                gold_score += E[t * N + gold[t]]
            for t in range(1, n):
                gold_score += T[gold[t - 1] * N + gold[t]]
            nt = 0
            for t in range(n):
                if path[t] == gold[t]:
                    continue  # state features of tokens where both agree cancel out
                for p in range(indptr[r0 + t], indptr[r0 + t + 1]):
                    val = data[p]
                    nt = add_to(state_feature(&d, p, gold[t]), val, &acc[0], &seen[0],
                                &touched[0], nt)
                    nt = add_to(state_feature(&d, p, path[t]), -val, &acc[0], &seen[0],
                                &touched[0], nt)
            for t in range(1, n):
                k = gold[t - 1] * N + gold[t]
                nt = add_to(Ks + k if t_exists[k] else -1, 1.0, &acc[0], &seen[0],
                            &touched[0], nt)
                k = path[t - 1] * N + path[t]
                nt = add_to(Ks + k if t_exists[k] else -1, -1.0, &acc[0], &seen[0],
                            &touched[0], nt)
            if algorithm == AP:
                loss += <double>diff / n
                for i2 in range(nt):
                    k = touched[i2]
                    dv = acc[k]
                    w[k] += dv
                    aux[k] += u * dv
            elif algorithm == PA:
                cost = best - gold_score + (sqrt(<double>diff) if error_sensitive else 1.0)
                norm2 = 0.0
                for i2 in range(nt):
                    dv = acc[touched[i2]]
                    norm2 += dv * dv
                # a zero difference vector (the same features on both paths) cannot move
                # the scores
                if norm2 <= 0.0:
                    tau = 0.0
                elif pa_type == 1:
                    tau = min(c, cost / norm2)
                elif pa_type == 2:
                    tau = cost / (norm2 + 0.5 / c)
                else:
                    tau = cost / norm2
                loss += cost
                for i2 in range(nt):
                    k = touched[i2]
                    dv = acc[k]
                    w[k] += tau * dv
                    aux[k] += (tau * u) * dv
            else:
                cost = best - gold_score + diff
                sv = 0.0
                for i2 in range(nt):
                    k = touched[i2]
                    sv += acc[k] * acc[k] * aux[k]
                alpha = cost / (gamma + sv)
                loss += cost
                for i2 in range(nt):
                    k = touched[i2]
                    dv = acc[k]
                    var = aux[k]
                    w[k] += alpha * var * dv
                    aux[k] = 1.0 / (1.0 / var + dv * dv / gamma)
            for i2 in range(nt):
                k = touched[i2]
                acc[k] = 0.0
                seen[k] = 0
            u += 1
    return loss, u


def sgd_epoch(const int64_t[::1] order, double[::1] w, double lam, double t0, double t,
              double decay, bint update, const int64_t[::1] indptr, const int64_t[::1] lo,
              const int64_t[::1] hi, const double[::1] data, const int64_t[::1] offsets,
              const int64_t[::1] y, const int32_t[::1] label, int64_t N,
              const uint8_t[::1] t_exists, *,
              str simd="generic"):
    """One epoch of CRFsuite's L2-regularised SGD over the sequences in ``order``.

    The weights are ``decay * w`` (the L2 shrinkage is applied lazily through ``decay``).
    Before sequence number ``t`` (counted over all epochs) the learning rate is
    ``eta = 1 / (lam * (t0 + t))``, ``decay *= 1 - eta * lam``, and the sequence's gradient
    of the negative log-likelihood is subtracted from ``w`` with step ``eta / decay``, on its
    entries that are features. With ``update`` false the weights and ``decay`` stay as they
    are and only the losses are summed.

    Returns ``(sum of the losses, the last loss, decay, t)``.
    """
    cdef Data d = make_data(indptr, lo, hi, data, offsets, y, label, N, simd)
    cdef int64_t Ks = label.shape[0]
    cdef int64_t n_max = longest(offsets)
    cdef double[::1] E = np.zeros(max(n_max * N, 1))
    cdef double[::1] G = np.zeros(max(n_max * N, 1))
    cdef double[::1] Tt = np.zeros(N * N)
    cdef double[::1] GP = np.zeros(N * N)
    cdef double[::1] G_ends = np.zeros(2 * N)
    cdef double *W = &w[0]
    cdef double *T = W + Ks
    cdef double sum_loss = 0.0, loss = 0.0, eta, gain = 0.0, coef
    cdef int64_t i, s, n, r0, t_, p, j, k, status
    for i in range(order.shape[0]):
        s = order[i]
        if i % CHECK_EVERY == CHECK_EVERY - 1:
            PyErr_CheckSignals()
        with nogil:
            if update:
                eta = 1.0 / (lam * (t0 + t))
                decay *= 1.0 - eta * lam
                gain = eta / decay
                t += 1.0
            r0 = offsets[s]
            n = offsets[s + 1] - r0
            if n == 0:
                loss = 0.0
                continue
            state_scores(&d, s, W, decay, &E[0])
            for j in range(N * N):
                Tt[j] = T[j] * decay
            d.len0 = n
            d.batch.offsets = &d.off0
            d.batch.lengths = &d.len0
            status = fs_crf_nll_f64(&d.batch, &E[0], &Tt[0], NULL, NULL, d.y + r0, &loss,
                                    &G[0], &GP[0], &G_ends[0], &G_ends[N])
        check_status(status, "crf_nll")
        sum_loss += loss
        if not update:
            continue
        with nogil:
            # only features of the model move (CRFsuite's sparse update)
            for t_ in range(n):
                for p in range(indptr[r0 + t_], indptr[r0 + t_ + 1]):
                    coef = -gain * data[p]
                    for k in range(lo[p], hi[p]):
                        W[k] += G[t_ * N + label[k]] * coef
            for j in range(N * N):
                if t_exists[j]:
                    T[j] -= gain * GP[j]
    return sum_loss, loss, decay, t
