/*
 * Max-product and paths: viterbi_group (lockstep, back-pointers recovered while
 * backtracking), kbest_seq (the k best distinct paths, one sequence at a time) and score_seq
 * (the score of a given path, for sequence_score and crf_nll). Relies on lattice.h (fs_model,
 * fs_seq) and products.h (the max-plus step).
 */
#ifndef FASTSEQ_VITERBI_H
#define FASTSEQ_VITERBI_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "lattice.h"
#include "products.h"
#include "simd.h"

/* The lowest i with d[i] + tp[i] == target, where target is the maximum of those sums as
   the forward sweep computed it (the same additions, so equality is exact). */
static int64_t first_match(const double *d, const double *tp, int64_t Np, double target) {
    const fs_vd m = v_set1(target);
    int64_t j;
    for (j = 0; j < Np; j += FS_VW) {
        const unsigned bits = v_eq_bits(v_add(v_load(d + j), v_load(tp + j)), m);
        if (bits) return j + lowest_bit(bits);
    }
    return 0;
}

/* Viterbi for ns <= FS_G sequences in lockstep. The sweep keeps only the max-plus rows
   (delta in the lattice's v, and the pre-emission maxima in S[s].raw, both [T][Np]);
   back-pointers are recovered while backtracking as the first state reaching the stored
   maximum, from the very same sums, so ties resolve exactly as a tracked argmax with the
   lowest state index would. Writes paths[s][t] (-1 when no path) and scores[s]. */
static void viterbi_group(const fs_model *M, const fs_seq *S, int ns, int64_t *const *paths,
                          double *scores) {
    const int64_t N = M->N, Np = M->Np;
    int64_t t, j, Tmax = 0;
    int s;
    for (s = 0; s < ns; s++) {
        if (S[s].T > Tmax) Tmax = S[s].T;
        if (S[s].T > 0)
            for (j = 0; j < Np; j++) S[s].L->v[j] = j < N ? M->start[j] + S[s].em[j] : -INFINITY;
    }
    for (t = 1; t < Tmax; t++) {
        const double *in[FS_G], *add[FS_G];
        double *out[FS_G], *raw[FS_G];
        int g = 0;
        for (s = 0; s < ns; s++) {
            if (t + 1 < S[s].T) prefetch_row(S[s].em + (t + 1) * N, N);
            if (t < S[s].T) {
                in[g] = S[s].L->v + (t - 1) * Np;
                out[g] = S[s].L->v + t * Np;
                raw[g] = S[s].raw + t * Np;
                add[g] = S[s].em + t * N;
                g++;
            }
        }
        maxplus_group(M->TP, N, Np, in, raw, out, add, g);
    }
    for (s = 0; s < ns; s++) {
        const int64_t T = S[s].T;
        const double *D = S[s].L->v;
        int64_t *path = paths[s], best_j = -1;
        double best = -INFINITY;
        if (T == 0) {
            scores[s] = 0.0;
            continue;
        }
        for (j = 0; j < N; j++) {
            const double v = D[(T - 1) * Np + j] + M->end[j];
            if (v > best) {
                best = v;
                best_j = j;
            }
        }
        scores[s] = best;
        if (best_j < 0) {
            for (t = 0; t < T; t++) path[t] = -1;
            continue;
        }
        path[T - 1] = best_j;
        for (t = T - 1; t > 0; t--)
            path[t - 1] = first_match(D + (t - 1) * Np, M->TPT + path[t] * Np, Np,
                                      S[s].raw[t * Np + path[t]]);
    }
}

/* Inserts (s, id) into the descending list (sc, ids) of size *n <= k. */
static inline void topk_insert(double *sc, int64_t *ids, int64_t *n, int64_t k, double s,
                               int64_t id) {
    int64_t p;
    if (*n == k && !(s > sc[k - 1])) return;
    p = *n < k ? (*n)++ : k - 1;
    while (p > 0 && sc[p - 1] < s) {
        sc[p] = sc[p - 1];
        ids[p] = ids[p - 1];
        p--;
    }
    sc[p] = s;
    ids[p] = id;
}

/* k best distinct paths: delta[j][r] is the r-th best score of a prefix ending in state j;
   bp[t][j][r] = i * k + r' names the prefix it extends. Distinct (i, r') give distinct
   prefixes, so the lists hold distinct paths. delta/nd: N*k doubles, cnt/ncnt: N int64,
   ids: N*k int64 scratch, bp: [T][N][k] int64. paths(r, t) = out[r * stride + t]. */
static void kbest_seq(const fs_model *M, const double *em, int64_t T, int64_t k, int64_t *out,
                      int64_t stride, double *scores, double *delta, double *nd, int64_t *cnt,
                      int64_t *ncnt, int64_t *bp) {
    const int64_t N = M->N;
    int64_t t, i, j, r, n = 0;
    double *fsc = nd; /* reused for the final list */
    for (r = 0; r < k; r++) scores[r] = -INFINITY;
    for (r = 0; r < k; r++)
        for (t = 0; t < T; t++) out[r * stride + t] = -1;
    if (T == 0) {
        scores[0] = 0.0;
        return;
    }
    for (j = 0; j < N; j++) {
        double s = M->start[j] + em[j];
        delta[j * k] = s;
        cnt[j] = s > -INFINITY ? 1 : 0;
    }
    for (t = 1; t < T; t++) {
        const double *e = em + t * N;
        int64_t *bpt = bp + t * N * k;
        for (j = 0; j < N; j++) {
            double *sc = nd + j * k;
            int64_t *ids = bpt + j * k;
            int64_t m = 0;
            if (e[j] > -INFINITY) {
                for (i = 0; i < N; i++) {
                    const double tr = M->trans[i * N + j];
                    if (tr == -INFINITY) continue;
                    for (r = 0; r < cnt[i]; r++) {
                        const double s = delta[i * k + r] + tr;
                        if (m == k && !(s > sc[k - 1])) break; /* lists are sorted */
                        topk_insert(sc, ids, &m, k, s, i * k + r);
                    }
                }
                for (r = 0; r < m; r++) sc[r] += e[j];
            }
            ncnt[j] = m;
        }
        memcpy(delta, nd, sizeof(double) * N * k);
        memcpy(cnt, ncnt, sizeof(int64_t) * N);
    }
    {
        /* final top-k over (j, r); its ids go to bp[0], which holds no back-pointers */
        int64_t *fids = bp;
        for (j = 0; j < N; j++) {
            if (M->end[j] == -INFINITY) continue;
            for (r = 0; r < cnt[j]; r++) {
                const double s = delta[j * k + r] + M->end[j];
                if (n == k && !(s > fsc[k - 1])) break;
                topk_insert(fsc, fids, &n, k, s, j * k + r);
            }
        }
        for (r = 0; r < n; r++) {
            int64_t id = fids[r];
            scores[r] = fsc[r];
            for (t = T - 1; t >= 0; t--) {
                const int64_t st = id / k;
                out[r * stride + t] = st;
                if (t > 0) id = bp[t * N * k + id];
            }
        }
    }
}

static double score_seq(const fs_model *M, const double *em, int64_t T, const int64_t *y) {
    const int64_t N = M->N;
    double s;
    int64_t t;
    if (T == 0) return 0.0;
    s = M->start[y[0]] + em[y[0]];
    for (t = 1; t < T; t++) s += M->trans[y[t - 1] * N + y[t]] + em[t * N + y[t]];
    return s + M->end[y[T - 1]];
}

#endif /* FASTSEQ_VITERBI_H */
