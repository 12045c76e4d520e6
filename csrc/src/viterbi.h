/*
 * Max-product and paths: viterbi_group (lockstep, back-pointers recovered while
 * backtracking) and kbest_seq (the k best distinct paths, one sequence at a time). Relies on
 * lattice.h (fs_model, fs_seq) and products.h (the max-plus step).
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
        if ((t & 63) == 0 && ctl_stopped(M->ctl)) { /* the results will be discarded */
            for (s = 0; s < ns; s++) scores[s] = 0.0;
            return;
        }
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

/* Whether candidate (ka, a) ranks before (kb, b): higher score, then lower list index. */
static inline int kb_before(double ka, int64_t a, double kb, int64_t b) {
    return ka > kb || (ka == kb && a < b);
}

/* The sorted candidate lists of a k-best merge: list i extends the prefixes of state
   q = src[i] (q = i when src is NULL): delta[q][r] + add[i * stride] for r < cnt[q]; pos[i] is
   the next unmerged rank of list i. */
typedef struct {
    const double *delta, *add;
    const int64_t *cnt;
    const int32_t *src;
    int64_t *pos, k, stride;
} kb_lists;

static inline int64_t kb_state(const kb_lists *l, int64_t i) { return l->src ? l->src[i] : i; }

static inline double kb_head(const kb_lists *l, int64_t i) {
    return l->delta[kb_state(l, i) * l->k + l->pos[i]] + l->add[i * l->stride];
}

static void kb_sift_down(const kb_lists *l, int64_t *heap, int64_t n, int64_t p) {
    const int64_t x = heap[p];
    const double kx = kb_head(l, x);
    for (;;) {
        int64_t c = 2 * p + 1;
        double kc;
        if (c >= n) break;
        kc = kb_head(l, heap[c]);
        if (c + 1 < n) {
            const double k2 = kb_head(l, heap[c + 1]);
            if (kb_before(k2, heap[c + 1], kc, heap[c])) {
                c++;
                kc = k2;
            }
        }
        if (!kb_before(kc, heap[c], kx, x)) break;
        heap[p] = heap[c];
        p = c;
    }
    heap[p] = x;
}

/* Inserts (s, id) into the descending list (sc, ids) of size *n <= k, after its equals. */
static inline void topk_insert(double *sc, int64_t *ids, int64_t *n, int64_t k, double s,
                               int64_t id) {
    int64_t p = *n < k ? (*n)++ : k - 1;
    while (p > 0 && sc[p - 1] < s) {
        sc[p] = sc[p - 1];
        ids[p] = ids[p - 1];
        p--;
    }
    sc[p] = s;
    ids[p] = id;
}

/* Inserts the candidates of state q's list, delta[q][r] + a, into the descending top-k
   (sc, ids) of size *m. */
static FS_ALWAYS_INLINE void kb_insert_list(const kb_lists *l, int64_t q, double a, double *sc,
                                            int64_t *ids, int64_t *m) {
    int64_t r;
    if (a == -INFINITY) return;
    for (r = 0; r < l->cnt[q]; r++) {
        const double s = l->delta[q * l->k + r] + a;
        if (!(s > -INFINITY)) break; /* the list is sorted: the rest are -inf too */
        if (*m == l->k && !(s > sc[l->k - 1])) break;
        topk_insert(sc, ids, m, l->k, s, q * l->k + r);
    }
}

/* Below this k, insertion into a sorted list (O(N k^2) per merge, but tight loops) beats the
   heap; both rank candidates the same way. */
#define FS_KB_HEAP_MIN 16

/* The (at most k) best finite candidates of the N lists, best first, into sc (scores) and
   ids (q * k + r, q the list's state): a heap over the list heads, O(N + k log N)
   (insertion for small k). heap: N scratch. */
static int64_t kb_merge(kb_lists *l, int64_t N, double *sc, int64_t *ids, int64_t *heap) {
    int64_t n = 0, m = 0, i;
    if (l->k < FS_KB_HEAP_MIN) {
        /* two loops, so that the dense one (every state a list) reads no source map */
        if (l->src) {
            for (i = 0; i < N; i++)
                kb_insert_list(l, l->src[i], l->add[i * l->stride], sc, ids, &m);
        } else {
            for (i = 0; i < N; i++) kb_insert_list(l, i, l->add[i * l->stride], sc, ids, &m);
        }
        return m;
    }
    for (i = 0; i < N; i++) {
        l->pos[i] = 0;
        if (l->cnt[kb_state(l, i)] > 0 && l->add[i * l->stride] > -INFINITY) heap[n++] = i;
    }
    for (i = n / 2 - 1; i >= 0; i--) kb_sift_down(l, heap, n, i);
    while (n > 0 && m < l->k) {
        const int64_t i0 = heap[0];
        const double s = kb_head(l, i0);
        if (s == -INFINITY) break; /* a sum below -DBL_MAX: no more finite candidates */
        sc[m] = s;
        ids[m] = kb_state(l, i0) * l->k + l->pos[i0];
        m++;
        if (++l->pos[i0] == l->cnt[kb_state(l, i0)]) heap[0] = heap[--n];
        if (n > 0) kb_sift_down(l, heap, n, 0);
    }
    return m;
}

/* The moves into each state, for kbest_seq: into state j from src[p] with score[p], for
   ptr[j] <= p < ptr[j + 1], sources increasing; ptr NULL: from every state i, with score
   score[i * N + j] (a dense matrix). */
typedef struct {
    const int64_t *ptr;
    const int32_t *src;
    const double *score;
} kb_moves;

/* k best distinct paths: delta[j][r] is the r-th best score of a prefix ending in state j;
   bp[t][j][r] = i * k + r' names the prefix it extends. Distinct (i, r') give distinct
   prefixes, so the lists hold distinct paths; ties rank the lower state, then the lower
   rank, first. em: [T][N] emissions; delta/nd: N*k doubles, cnt/ncnt: N int64, heap: 2N
   int64 scratch, bp: [T][N][k] int64. paths(r, t) = out[r * stride + t]. Cost
   O(T (moves + N k log N)). */
static void kbest_seq(int64_t N, const double *start, const double *end, const kb_moves *mv,
                      fs_ctl *ctl, const double *em, int64_t T, int64_t k, int64_t *out,
                      int64_t stride, double *scores, double *delta, double *nd, int64_t *cnt,
                      int64_t *ncnt, int64_t *heap, int64_t *bp) {
    int64_t t, j, r, n;
    kb_lists l;
    for (r = 0; r < k; r++) scores[r] = -INFINITY;
    for (r = 0; r < k; r++)
        for (t = 0; t < T; t++) out[r * stride + t] = -1;
    if (T == 0) {
        scores[0] = 0.0;
        return;
    }
    l.delta = delta;
    l.cnt = cnt;
    l.src = NULL;
    l.pos = heap + N;
    l.k = k;
    for (j = 0; j < N; j++) {
        const double s = start[j] + em[j];
        delta[j * k] = s;
        cnt[j] = s > -INFINITY ? 1 : 0;
    }
    for (t = 1; t < T; t++) {
        const double *e = em + t * N;
        int64_t *bpt = bp + t * N * k;
        if ((t & 15) == 0 && ctl_stopped(ctl)) return; /* the results will be discarded */
        for (j = 0; j < N; j++) {
            double *sc = nd + j * k;
            int64_t m = 0;
            if (e[j] > -INFINITY) {
                int64_t lists = N;
                if (mv->ptr) {
                    l.src = mv->src + mv->ptr[j];
                    l.add = mv->score + mv->ptr[j];
                    l.stride = 1;
                    lists = mv->ptr[j + 1] - mv->ptr[j];
                } else {
                    l.add = mv->score + j;
                    l.stride = N;
                }
                m = kb_merge(&l, lists, sc, bpt + j * k, heap);
                for (r = 0; r < m; r++) sc[r] += e[j];
                while (m > 0 && sc[m - 1] == -INFINITY) m--; /* sums below -DBL_MAX */
            }
            ncnt[j] = m;
        }
        memcpy(delta, nd, sizeof(double) * N * k);
        memcpy(cnt, ncnt, sizeof(int64_t) * N);
    }
    /* final top-k over (j, r); its ids go to bp[0], which holds no back-pointers */
    l.src = NULL;
    l.add = end;
    l.stride = 1;
    n = kb_merge(&l, N, nd, bp, heap);
    for (r = 0; r < n; r++) {
        int64_t id = bp[r];
        scores[r] = nd[r];
        for (t = T - 1; t >= 0; t--) {
            out[r * stride + t] = id / k;
            if (t > 0) id = bp[t * N * k + id];
        }
    }
}

#endif /* FASTSEQ_VITERBI_H */
