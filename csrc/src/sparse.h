/*
 * Sparse products of CRF training (fastseq.h): the emission scores X @ W of the attributes
 * that have many labels and the weight gradient X^T G (fs_csr_matmul, fs_csr_tmatmul_add:
 * each entry of X moves a row of N doubles, a few vectors kept in registers across the
 * entries of a row of X), and the same for the attributes with a few labels, feature by
 * feature (fs_feature_scores_add, fs_feature_grads_add). Relies on simd.h only.
 */
#ifndef FASTSEQ_SPARSE_H
#define FASTSEQ_SPARSE_H

#include <stdint.h>
#include <string.h>

#include "simd.h"

#define FS_ISA_FN_(name, isa) name##_##isa
#define FS_ISA_FN(name, isa) FS_ISA_FN_(name, isa)
/* Vectors of a row handled per pass over a row's entries (kept in registers). */
#define FS_SP_CH 4

/* Vectors v0 .. v0 + nv - 1 of out[r] = sum_p data[p] W[indices[p]] (out row unpadded). */
static FS_ALWAYS_INLINE void csr_row_chunk(int64_t p0, int64_t p1, const int32_t *indices,
                                           const double *data, const double *W, int64_t ldw,
                                           int64_t N, int64_t j0, double *o, const int nv) {
    fs_vd acc[FS_SP_CH];
    int64_t p;
    int k;
    for (k = 0; k < nv; k++) acc[k] = v_set1(0.0);
    for (p = p0; p < p1; p++) {
        const double *w = W + (int64_t)indices[p] * ldw + j0;
        const fs_vd a = v_set1(data ? data[p] : 1.0);
        for (k = 0; k < nv; k++) acc[k] = v_fma(a, v_load(w + k * FS_VW), acc[k]);
    }
    for (k = 0; k < nv; k++) {
        const int64_t j = j0 + k * FS_VW;
        if (j + FS_VW <= N) {
            v_store(o + j, acc[k]);
        } else { /* the row's last, partial vector */
            double tail[FS_VW];
            v_store(tail, acc[k]);
            memcpy(o + j, tail, sizeof(double) * (size_t)(N - j));
        }
    }
}

int FS_ISA_FN(fs_csr_matmul, FS_ISA)(int64_t r0, int64_t r1, const int64_t *indptr,
                                     const int32_t *indices, const double *data,
                                     const double *W, int64_t ldw, int64_t N, double *out) {
    const int64_t nvec = (N + FS_VW - 1) / FS_VW;
    int64_t r, v0;
    for (r = r0; r < r1; r++)
        for (v0 = 0; v0 < nvec; v0 += FS_SP_CH) {
            const int64_t p0 = indptr[r], p1 = indptr[r + 1], j0 = v0 * FS_VW;
            double *o = out + r * N;
            switch (nvec - v0 < FS_SP_CH ? (int)(nvec - v0) : FS_SP_CH) {
                case 1: csr_row_chunk(p0, p1, indices, data, W, ldw, N, j0, o, 1); break;
                case 2: csr_row_chunk(p0, p1, indices, data, W, ldw, N, j0, o, 2); break;
                case 3: csr_row_chunk(p0, p1, indices, data, W, ldw, N, j0, o, 3); break;
                default: csr_row_chunk(p0, p1, indices, data, W, ldw, N, j0, o, 4); break;
            }
        }
    return FS_OK;
}

/* Vectors v0 .. v0 + nv - 1 of out[indices[p]] += data[p] G[r] for a row r of X. */
static FS_ALWAYS_INLINE void csr_trow_chunk(int64_t p0, int64_t p1, const int32_t *indices,
                                            const double *data, const double *g, int64_t N,
                                            int64_t j0, double *out, int64_t ldo,
                                            const int nv) {
    fs_vd gv[FS_SP_CH];
    int64_t p;
    int k;
    for (k = 0; k < nv; k++) gv[k] = v_load_row(g, j0 + k * FS_VW, N, 0.0);
    for (p = p0; p < p1; p++) {
        double *o = out + (int64_t)indices[p] * ldo + j0;
        const fs_vd a = v_set1(data ? data[p] : 1.0);
        for (k = 0; k < nv; k++) v_store(o + k * FS_VW, v_fma(a, gv[k], v_load(o + k * FS_VW)));
    }
}

int FS_ISA_FN(fs_csr_tmatmul_add, FS_ISA)(int64_t r0, int64_t r1, const int64_t *indptr,
                                          const int32_t *indices, const double *data,
                                          const double *G, int64_t N, double *out,
                                          int64_t ldo) {
    const int64_t nvec = (N + FS_VW - 1) / FS_VW;
    int64_t r, v0;
    for (r = r0; r < r1; r++)
        for (v0 = 0; v0 < nvec; v0 += FS_SP_CH) {
            const int64_t p0 = indptr[r], p1 = indptr[r + 1], j0 = v0 * FS_VW;
            const double *g = G + r * N;
            switch (nvec - v0 < FS_SP_CH ? (int)(nvec - v0) : FS_SP_CH) {
                case 1: csr_trow_chunk(p0, p1, indices, data, g, N, j0, out, ldo, 1); break;
                case 2: csr_trow_chunk(p0, p1, indices, data, g, N, j0, out, ldo, 2); break;
                case 3: csr_trow_chunk(p0, p1, indices, data, g, N, j0, out, ldo, 3); break;
                default: csr_trow_chunk(p0, p1, indices, data, g, N, j0, out, ldo, 4); break;
            }
        }
    return FS_OK;
}

/* The attributes with few labels, feature by feature: entry q of row r is feature feat[q]
   (weight w[feat[q]]) in column col[q] (its label), with value data[q], or 1 without data;
   out[r][col[q]] += data[q] w[feat[q]], in the order of r, q. (An entry per attribute with
   a loop over its few features was 2-3x slower, that loop's exit being mispredicted, and a
   label looked up per feature 1.3x.) */
int FS_ISA_FN(fs_feature_scores_add, FS_ISA)(int64_t r0, int64_t r1, const int64_t *indptr,
                                             const int32_t *feat, const int32_t *col,
                                             const double *data, const double *w, int64_t N,
                                             double *out) {
    int64_t r, q;
    for (r = r0; r < r1; r++) {
        double *o = out + r * N;
        if (data)
            for (q = indptr[r]; q < indptr[r + 1]; q++) o[col[q]] += data[q] * w[feat[q]];
        else
            for (q = indptr[r]; q < indptr[r + 1]; q++) o[col[q]] += w[feat[q]];
    }
    return FS_OK;
}

/* Their gradient: gw[feat[q]] += data[q] G[r][col[q]], in the order of r, q. */
int FS_ISA_FN(fs_feature_grads_add, FS_ISA)(int64_t r0, int64_t r1, const int64_t *indptr,
                                            const int32_t *feat, const int32_t *col,
                                            const double *data, const double *G, int64_t N,
                                            double *gw) {
    int64_t r, q;
    for (r = r0; r < r1; r++) {
        const double *g = G + r * N;
        if (data)
            for (q = indptr[r]; q < indptr[r + 1]; q++) gw[feat[q]] += data[q] * g[col[q]];
        else
            for (q = indptr[r]; q < indptr[r + 1]; q++) gw[feat[q]] += g[col[q]];
    }
    return FS_OK;
}

#endif /* FASTSEQ_SPARSE_H */
