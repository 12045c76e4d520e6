/*
 * The register-blocked dense loops, where the time goes for large N: up to FS_G rows at once
 * times an N x N matrix, in the (+, x) semiring (matvec_group: the forward and backward
 * steps) and the (max, +) one (maxplus_group: the Viterbi step), and X^T Y over a
 * sequence's rows (gemm_tn: the pair marginals). Relies on simd.h only.
 */
#ifndef FASTSEQ_PRODUCTS_H
#define FASTSEQ_PRODUCTS_H

#include <math.h>
#include <stdint.h>

#include "simd.h"

/* Lockstep width: up to FS_G sequences advance together so that each load of the transition
   matrix serves all of them (the step becomes a small matrix-matrix product). Per sequence,
   FS_JB columns (two SIMD registers) are kept in registers; rows are padded to Np, a multiple
   of FS_VW, so the kernels need no scalar tail loops. */
#define FS_G 4 /* the group kernels below are instantiated for 1..4 rows */

/* out[s][j] = sum_i in[s][i] * A[i][j] for G rows at once (j < Np). G is a compile-time
   constant at each call site, so the accumulators live in registers. */
static FS_ALWAYS_INLINE void matvec_rows(const double *A, int64_t N, int64_t Np,
                                         const double *const *in, double *const *out,
                                         const int G) {
    int64_t j0, i;
    int s;
    for (j0 = 0; j0 + FS_JB <= Np; j0 += FS_JB) {
        fs_vd acc[FS_G][2];
        for (s = 0; s < G; s++) acc[s][0] = acc[s][1] = v_set1(0.0);
        for (i = 0; i < N; i++) {
            const fs_vd a0 = v_load(A + i * Np + j0), a1 = v_load(A + i * Np + j0 + FS_VW);
            for (s = 0; s < G; s++) {
                const fs_vd v = v_set1(in[s][i]);
                acc[s][0] = v_fma(v, a0, acc[s][0]);
                acc[s][1] = v_fma(v, a1, acc[s][1]);
            }
        }
        for (s = 0; s < G; s++) {
            v_store(out[s] + j0, acc[s][0]);
            v_store(out[s] + j0 + FS_VW, acc[s][1]);
        }
    }
    if (j0 < Np && G == 1) {
        /* a lone row: two accumulators halve the FMA-latency chain */
        fs_vd acc0 = v_set1(0.0), acc1 = v_set1(0.0);
        const double *x = in[0];
        for (i = 0; i + 1 < N; i += 2) {
            acc0 = v_fma(v_set1(x[i]), v_load(A + i * Np + j0), acc0);
            acc1 = v_fma(v_set1(x[i + 1]), v_load(A + (i + 1) * Np + j0), acc1);
        }
        if (i < N) acc0 = v_fma(v_set1(x[i]), v_load(A + i * Np + j0), acc0);
        v_store(out[0] + j0, v_add(acc0, acc1));
    } else if (j0 < Np) { /* one vector left */
        fs_vd acc[FS_G];
        for (s = 0; s < G; s++) acc[s] = v_set1(0.0);
        for (i = 0; i < N; i++) {
            const fs_vd a0 = v_load(A + i * Np + j0);
            for (s = 0; s < G; s++) acc[s] = v_fma(v_set1(in[s][i]), a0, acc[s]);
        }
        for (s = 0; s < G; s++) v_store(out[s] + j0, acc[s]);
    }
}

/* The Viterbi step for G rows at once: raw[s][j] = max_i (in[s][i] + TP[i][j]) and
   out[s][j] = raw[s][j] + add[s][j] (the emission rows, N entries, read without
   over-reading), kept in registers between the two stores so that the next step does not
   wait on a reload. */
static FS_ALWAYS_INLINE void maxplus_rows(const double *TP, int64_t N, int64_t Np,
                                          const double *const *in, double *const *raw,
                                          double *const *out, const double *const *add,
                                          const int G) {
    int64_t j0, i;
    int s;
    for (j0 = 0; j0 + FS_JB <= Np; j0 += FS_JB) {
        fs_vd acc[FS_G][2];
        for (s = 0; s < G; s++) acc[s][0] = acc[s][1] = v_set1(-INFINITY);
        for (i = 0; i < N; i++) {
            const fs_vd a0 = v_load(TP + i * Np + j0), a1 = v_load(TP + i * Np + j0 + FS_VW);
            for (s = 0; s < G; s++) {
                const fs_vd v = v_set1(in[s][i]);
                acc[s][0] = v_max(v_add(v, a0), acc[s][0]);
                acc[s][1] = v_max(v_add(v, a1), acc[s][1]);
            }
        }
        for (s = 0; s < G; s++) {
            v_store(raw[s] + j0, acc[s][0]);
            v_store(raw[s] + j0 + FS_VW, acc[s][1]);
            v_store(out[s] + j0, v_add(acc[s][0], v_load_row(add[s], j0, N, 0.0)));
            v_store(out[s] + j0 + FS_VW, v_add(acc[s][1], v_load_row(add[s], j0 + FS_VW, N, 0.0)));
        }
    }
    if (j0 < Np && G == 1) {
        /* a lone row: two accumulators halve the max-latency chain */
        fs_vd acc0 = v_set1(-INFINITY), acc1 = v_set1(-INFINITY);
        const double *x = in[0];
        for (i = 0; i + 1 < N; i += 2) {
            acc0 = v_max(v_add(v_set1(x[i]), v_load(TP + i * Np + j0)), acc0);
            acc1 = v_max(v_add(v_set1(x[i + 1]), v_load(TP + (i + 1) * Np + j0)), acc1);
        }
        if (i < N) acc0 = v_max(v_add(v_set1(x[i]), v_load(TP + i * Np + j0)), acc0);
        acc0 = v_max(acc0, acc1);
        v_store(raw[0] + j0, acc0);
        v_store(out[0] + j0, v_add(acc0, v_load_row(add[0], j0, N, 0.0)));
    } else if (j0 < Np) {
        fs_vd acc[FS_G];
        for (s = 0; s < G; s++) acc[s] = v_set1(-INFINITY);
        for (i = 0; i < N; i++) {
            const fs_vd a0 = v_load(TP + i * Np + j0);
            for (s = 0; s < G; s++) acc[s] = v_max(v_add(v_set1(in[s][i]), a0), acc[s]);
        }
        for (s = 0; s < G; s++) {
            v_store(raw[s] + j0, acc[s]);
            v_store(out[s] + j0, v_add(acc[s], v_load_row(add[s], j0, N, 0.0)));
        }
    }
}

/* The group step with the unused slots dropped: a lone sequence (a long single sequence,
   the tail of a batch) pays for one row, not FS_G. Slots [0, g) must be the active ones. */
static void matvec_group(const double *A, int64_t N, int64_t Np, const double *const *in,
                         double *const *out, int g) {
    switch (g) {
        case 1: matvec_rows(A, N, Np, in, out, 1); break;
        case 2: matvec_rows(A, N, Np, in, out, 2); break;
        case 3: matvec_rows(A, N, Np, in, out, 3); break;
        default: matvec_rows(A, N, Np, in, out, 4); break;
    }
}

static void maxplus_group(const double *TP, int64_t N, int64_t Np, const double *const *in,
                          double *const *raw, double *const *out, const double *const *add,
                          int g) {
    switch (g) {
        case 1: maxplus_rows(TP, N, Np, in, raw, out, add, 1); break;
        case 2: maxplus_rows(TP, N, Np, in, raw, out, add, 2); break;
        case 3: maxplus_rows(TP, N, Np, in, raw, out, add, 3); break;
        default: maxplus_rows(TP, N, Np, in, raw, out, add, 4); break;
    }
}

/* P[i][j] = sum_r X[r][i] * Y[r][j] over `rows` rows of stride Np (j < Np): the pair-marginal
   sums as one product instead of a rank-1 update per step. The i blocks read up to FS_G - 1
   entries past row ends (into the next row / the Y buffer behind X); those lanes are
   discarded. Stops early (P unspecified) when the call's stop flag is set. */
static void gemm_tn(const double *X, const double *Y, int64_t rows, int64_t N, int64_t Np,
                    double *P, fs_ctl *ctl) {
    int64_t i0, j0, r;
    int s;
    for (i0 = 0; i0 < N; i0 += FS_G) {
        if (ctl_stopped(ctl)) return;
        for (j0 = 0; j0 + FS_JB <= Np; j0 += FS_JB) {
            fs_vd acc[FS_G][2];
            for (s = 0; s < FS_G; s++) acc[s][0] = acc[s][1] = v_set1(0.0);
            for (r = 0; r < rows; r++) {
                const fs_vd y0 = v_load(Y + r * Np + j0), y1 = v_load(Y + r * Np + j0 + FS_VW);
                const double *x = X + r * Np + i0;
                for (s = 0; s < FS_G; s++) {
                    const fs_vd v = v_set1(x[s]);
                    acc[s][0] = v_fma(v, y0, acc[s][0]);
                    acc[s][1] = v_fma(v, y1, acc[s][1]);
                }
            }
            for (s = 0; s < FS_G && i0 + s < N; s++) {
                v_store(P + (i0 + s) * Np + j0, acc[s][0]);
                v_store(P + (i0 + s) * Np + j0 + FS_VW, acc[s][1]);
            }
        }
        if (j0 < Np) {
            fs_vd acc[FS_G];
            for (s = 0; s < FS_G; s++) acc[s] = v_set1(0.0);
            for (r = 0; r < rows; r++) {
                const fs_vd y0 = v_load(Y + r * Np + j0);
                const double *x = X + r * Np + i0;
                for (s = 0; s < FS_G; s++) acc[s] = v_fma(v_set1(x[s]), y0, acc[s]);
            }
            for (s = 0; s < FS_G && i0 + s < N; s++) v_store(P + (i0 + s) * Np + j0, acc[s]);
        }
    }
}

#endif /* FASTSEQ_PRODUCTS_H */
