/*
 * The step loop of the online decoders, compiled per ISA (included by kernels_isa.c): for
 * up to FS_G streams at once, the Viterbi step with its back-pointers (maxarg_rows), the
 * filter step, then each stream's tree (stream_tree.h). Relies on products.h, lattice.h, fsmath.h.
 */
#ifndef FASTSEQ_STREAM_STEP_H
#define FASTSEQ_STREAM_STEP_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "fsmath.h"
#include "pool.h"
#include "products.h"
#include "simd.h"
#include "stream_tree.h"

/* A filter sum at least this large is exact to rounding as a sum of products: each term
   lost to underflow is below 2^-1000, 2^-200 of it. Smaller sums are redone from logs. */
#define FS_STREAM_SUM_MIN 1.499696813895631e-241 /* 2^-800 */

/* maxplus_rows that also notes where each maximum was reached, to within a chunk of
   FS_STREAM_CHUNK rows: raw[s][j] = max_i (in[s][i] + TP[i][j]), out[s][j] = raw[s][j] +
   add[s][j], and chunk[s][j] = the first multiple of FS_STREAM_CHUNK, as a double, whose
   chunk holds an i reaching the maximum (the lowest i: chunk_arg finds it). Per row i
   only the add and max of the offline Viterbi step; the comparison with the running
   maximum is made once a chunk. The maxima are the offline Viterbi's numbers. */
#define FS_STREAM_CHUNK 8
static FS_ALWAYS_INLINE void maxarg_rows(const double *TP, int64_t N, int64_t Np,
                                         const double *const *in, double *const *raw,
                                         double *const *out, double *const *chunk,
                                         const double *const *add, const int G) {
    int64_t j0, i, c0;
    int s;
    /* one vector of columns at a time: the maxima, the chunk maxima and the chunks of G
       rows fill the registers already */
    for (j0 = 0; j0 < Np; j0 += FS_VW) {
        fs_vd acc[FS_G], idx[FS_G];
        for (s = 0; s < G; s++) {
            acc[s] = v_set1(-INFINITY);
            idx[s] = v_set1(0.0);
        }
        for (c0 = 0; c0 < N; c0 += FS_STREAM_CHUNK) {
            const int64_t c1 = c0 + FS_STREAM_CHUNK < N ? c0 + FS_STREAM_CHUNK : N;
            const fs_vd cv = v_set1((double)c0);
            fs_vd m[FS_G];
            for (s = 0; s < G; s++) m[s] = v_set1(-INFINITY);
            for (i = c0; i < c1; i++) {
                const fs_vd a = v_load(TP + i * Np + j0);
                for (s = 0; s < G; s++) m[s] = v_max(v_add(v_set1(in[s][i]), a), m[s]);
            }
            for (s = 0; s < G; s++) {
                idx[s] = v_blend_gt(m[s], acc[s], cv, idx[s]);
                acc[s] = v_max(m[s], acc[s]);
            }
        }
        for (s = 0; s < G; s++) {
            v_store(raw[s] + j0, acc[s]);
            v_store(out[s] + j0, v_add(acc[s], v_load_row(add[s], j0, N, 0.0)));
            v_store(chunk[s] + j0, idx[s]);
        }
    }
}

/* The back-pointer of state j: the lowest i >= chunk[j] with in[i] + trans[i][j] ==
   raw[j] (the same additions as maxarg_rows, so the equality is exact). One vector compare
   per FS_VW rows of the chunk, no branch. TPT: [N][Np] the transitions into each state,
   -inf padded; in has -inf padding to Np (>= every chunk's end). */
static FS_ALWAYS_INLINE int64_t chunk_arg(const double *TPT, int64_t Np, const double *in,
                                          const double *raw, const double *chunk,
                                          int64_t j) {
    const int64_t i0 = (int64_t)chunk[j];
    const fs_vd r = v_set1(raw[j]);
    const double *t = TPT + j * Np + i0, *x = in + i0;
    unsigned bits = 1u << FS_STREAM_CHUNK; /* (a stop: the chunk holds a match) */
    int64_t k;
    for (k = 0; k < FS_STREAM_CHUNK; k += FS_VW)
        bits |= v_eq_bits(v_add(v_load(x + k), v_load(t + k)), r) << k;
    return i0 + lowest_bit(bits);
}

/* The back-pointers of all N states from maxarg_rows' chunks (chunk_arg). Returns the set
   of the parents of the states in `live` (one word: N <= 64; else 0). A loop of its own,
   so that its variables stay in registers. */
static FS_NOINLINE uint64_t chunk_args(const double *TPT, int64_t N, int64_t Np,
                                       const double *in, const double *raw,
                                       const double *chunk, int32_t *par, uint64_t live) {
    uint64_t up = 0;
    int64_t j;
    for (j = 0; j < N; j++) par[j] = (int32_t)chunk_arg(TPT, Np, in, raw, chunk, j);
    if (N > 64) return 0;
    for (j = 0; j < N; j++) /* a loop of its own: it vectorises (variable shifts) */
        up |= (live >> j & 1) << par[j];
    return up;
}

/* The states with a finite score (W words), a word at a time in a register. */
static void live_leaves(const double *out, int64_t Np, int64_t W, uint64_t *al) {
    const fs_vd ninf = v_set1(-INFINITY);
    int64_t j, w;
    for (w = 0; w < W; w++) {
        uint64_t x = 0;
        for (j = w * 64; j < Np && j < w * 64 + 64; j += FS_VW)
            x |= (uint64_t)v_gt_bits(v_load(out + j), ninf) << (j & 63);
        al[w] = x;
    }
}

/* chunk_args for the states in `live` only: their back-pointers into col (pw bytes each;
   the others are left as they were: nothing reads a dead node's) and the set of those
   parents into up (W words). */
static void live_args(const fs_stream *st, const double *in, const double *raw,
                      const double *chunk, const uint64_t *live, void *col, uint64_t *up) {
    const int64_t Np = st->Np, W = st->W;
    const int pw = st->pw;
    int64_t w;
    for (w = 0; w < W; w++) up[w] = 0;
    for (w = 0; w < W; w++) {
        uint64_t x = live[w];
        while (x) {
            const int64_t j = w * 64 + ctz64(x);
            const int64_t q = chunk_arg(st->TPT, Np, in, raw, chunk, j);
            if (pw == 1)
                ((uint8_t *)col)[j] = (uint8_t)q;
            else if (pw == 2)
                ((uint16_t *)col)[j] = (uint16_t)q;
            else
                ((int32_t *)col)[j] = (int32_t)q;
            up[q >> 6] |= (uint64_t)1 << (q & 63);
            x &= x - 1;
        }
    }
}

/* Exact mode, several positions per call: the tree takes positions p0 .. p0 + nk - 1 at
   once, after their Viterbi steps. Walking back from the newest position, only the live
   nodes' back-pointers are made (at the newest, every finite state; before it, the
   parents of the next column's live nodes, a few states), instead of all N a position.
   The commits are those of nk single steps: a live set only shrinks as positions come, so
   what agreed at an earlier position still agrees at the last. in0: the scores at p0 - 1;
   D, R, C, A: per position its scores, maxima, chunks and finite states (W words). */
static int stream_tree_block(fs_stream *st, int64_t b, int64_t p0, int64_t nk,
                             const double *in0, double *const *D, double *const *R,
                             double *const *C, uint64_t *const *A, uint64_t *up) {
    const int64_t N = st->N, W = st->W;
    const int pw = st->pw;
    fs_tree *tr = &st->trees[b];
    int64_t k, w, last;
    if (tr->dead) return commit_none(tr, p0 + nk - 1);
    for (last = 0; last < nk; last++) { /* the first position without a path, if any */
        uint64_t any = 0;
        for (w = 0; w < W; w++) any |= A[last][w];
        if (!any) break;
    }
    last--; /* the newest position with a path */
    if (last >= 0) {
        if (tree_grow(tr, N, W, pw, p0 + last)) return FS_ERR_NOMEM;
        memcpy(tr->live + COL(tr, p0 + last) * W, A[last], sizeof(uint64_t) * W);
        for (k = last; k >= 0 && p0 + k > 0; k--) {
            const int64_t p = p0 + k;
            uint64_t *prev = k ? tr->live + COL(tr, p - 1) * W : up;
            live_args(st, k ? D[k - 1] : in0, R[k], C[k], tr->live + COL(tr, p) * W,
                      PAR_COL(tr, N, pw, p), prev);
        }
        if (p0 > tr->base) { /* the column before the block, and back from there */
            uint64_t *prev = tr->live + COL(tr, p0 - 1) * W;
            int same = 1;
            for (w = 0; w < W; w++) {
                same &= prev[w] == up[w];
                prev[w] = up[w];
            }
            if (!same) prune_from(tr, N, W, pw, p0 - 1);
        }
        if (commit_agreed(tr, W, p0 + last)) return FS_ERR_NOMEM;
    }
    if (last < nk - 1) { /* no path left from p0 + last + 1 on */
        tr->dead = 1;
        return commit_none(tr, p0 + nk - 1);
    }
    return FS_OK;
}

/* Stream b's new position p into its tree: the back-pointers (p > 0; from the chunks in
   arg, made in bp: N int32 scratch), the live leaves and, for N <= 64, their parents' set,
   in one pass. */
static int stream_tree_step(fs_stream *st, int64_t b, int64_t p, const double *in,
                            const double *out, const double *raw, const double *arg,
                            int32_t *bp) {
    const int64_t N = st->N, Np = st->Np, W = st->W;
    uint64_t alive[4], *al = W <= 4 ? alive : NULL, up = 0;
    void *par;
    int status = tree_column(st, b, p, &par);
    if (status != FS_OK) return status;
    if (!al) al = (uint64_t *)(bp + N + (N & 1)); /* W > 4: the scratch after bp */
    live_leaves(out, Np, W, al);
    if (p > 0) {
        up = chunk_args(st->TPT, N, Np, in, raw, arg, bp, al[0]);
        if (par) par_store(par, st->pw, bp, N);
    }
    return tree_add(st, b, p, al, up);
}

static void maxarg_group(const double *TP, int64_t N, int64_t Np, const double *const *in,
                         double *const *raw, double *const *out, double *const *chunk,
                         const double *const *add, int g) {
    switch (g) {
        case 1: maxarg_rows(TP, N, Np, in, raw, out, chunk, add, 1); break;
        case 2: maxarg_rows(TP, N, Np, in, raw, out, chunk, add, 2); break;
        case 3: maxarg_rows(TP, N, Np, in, raw, out, chunk, add, 3); break;
        default: maxarg_rows(TP, N, Np, in, raw, out, chunk, add, 4); break;
    }
}

/* The filter of one stream after the sums s[j] = sum_i exp(flog[i]) Ac[i][j] are made:
   log alpha[j] = cmax[j] + log s[j] + em[j], or the exact log-sum-exp where s[j] is too
   small; then relative to its maximum again. w: 2 Np scratch. */
static void stream_filter_finish(fs_stream *st, int64_t b, const double *sum, const double *em,
                                 double *w) {
    const int64_t N = st->N, Np = st->Np;
    double *f = st->flog + b * Np, *ls = w, *nl = w + Np, m = -INFINITY;
    int64_t j;
    log_array(sum, ls, Np);
    for (j = 0; j < N; j++) {
        nl[j] = (sum[j] >= FS_STREAM_SUM_MIN ? st->cmax[j] + ls[j]
                                             : lse_strided(f, st->trans + j, N, N)) + em[j];
        if (nl[j] > m) m = nl[j];
    }
    if (m == -INFINITY) { /* no path: the filter stays dead */
        for (j = 0; j < N; j++) f[j] = -INFINITY;
        return;
    }
    for (j = 0; j < N; j++) f[j] = nl[j] - m;
    st->fz[b] += m;
}

/* n_steps positions of streams b0 .. b0 + g - 1. scratch: fs_stream_scratch_bytes. */
static int stream_group_steps(fs_stream *st, int64_t b0, int g, const void *rows, int f32,
                              int64_t n_steps, void *scratch) {
    const int64_t N = st->N, Np = st->Np, B = st->B;
    const int64_t W = st->W;
    /* exact mode, several positions: the trees a block at a time (stream_tree_block) */
    const int64_t KB = n_steps > 1 && st->cfg.max_lag < 0 ? fs_stream_block(Np) : 1;
    double *em[FS_G], *arg[FS_G], *fin[FS_G], *sum[FS_G], *w = (double *)scratch;
    double *D[FS_G][FS_STREAM_BLOCK_MAX], *R[FS_G][FS_STREAM_BLOCK_MAX];
    double *C[FS_G][FS_STREAM_BLOCK_MAX];
    uint64_t *A[FS_G][FS_STREAM_BLOCK_MAX];
    int32_t *bp = (int32_t *)(w + 4 * FS_G * Np + 2 * Np);
    int64_t k, j, kk;
    int s, status;
    for (s = 0; s < FS_G; s++) {
        em[s] = w + (2 + 4 * s) * Np;
        arg[s] = em[s] + Np;
        fin[s] = arg[s] + Np;
        sum[s] = fin[s] + Np;
    }
    if (KB > 1) {
        double *blk = w + (4 * FS_G + 2) * Np + N / 2 + 1 + W;
        for (s = 0; s < FS_G; s++)
            for (kk = 0; kk < KB; kk++) {
                D[s][kk] = blk + (s * KB + kk) * (3 * Np + W);
                R[s][kk] = D[s][kk] + Np;
                C[s][kk] = R[s][kk] + Np;
                A[s][kk] = (uint64_t *)(C[s][kk] + Np);
            }
    }
    for (k = 0; k < n_steps; k++) {
        const int64_t p = st->t + k;
        const double *in[FS_G], *add[FS_G], *fx[FS_G];
        double *out[FS_G], *raw[FS_G], *chunk[FS_G];
        kk = k % KB; /* the position in its block */
        if (k + 1 < n_steps) { /* the group's next rows, a row of all streams away */
            const size_t size = f32 ? sizeof(float) : sizeof(double);
            const char *next = (const char *)rows + ((k + 1) * B + b0) * N * size;
            int64_t off;
            for (off = 0; off < g * N * (int64_t)size; off += 64) FS_PREFETCH(next + off);
        }
        for (s = 0; s < g; s++) {
            const int64_t r = (k * B + b0 + s) * N;
            if (f32) {
                const float *x = (const float *)rows + r;
                for (j = 0; j < N; j++) em[s][j] = x[j];
            } else {
                const double *x = (const double *)rows + r;
                for (j = 0; j < N; j++) em[s][j] = x[j];
            }
            for (j = N; j < Np; j++) em[s][j] = 0.0;
            in[s] = KB > 1 && kk > 0 ? D[s][kk - 1]
                                     : st->delta + ((b0 + s) * 2 + ((p - 1) & 1)) * Np;
            out[s] = KB > 1 ? D[s][kk] : st->delta + ((b0 + s) * 2 + (p & 1)) * Np;
            raw[s] = KB > 1 ? R[s][kk] : fin[s]; /* (fin: until the back-pointers are made) */
            chunk[s] = KB > 1 ? C[s][kk] : arg[s];
            add[s] = em[s];
            fx[s] = fin[s];
        }
        if (p == 0) {
            for (s = 0; s < g; s++) {
                for (j = 0; j < N; j++) out[s][j] = st->start[j] + em[s][j];
                for (j = N; j < Np; j++) out[s][j] = -INFINITY;
            }
        } else {
            maxarg_group(st->TP, N, Np, in, raw, out, chunk, add, g);
        }
        if (KB == 1) {
            for (s = 0; s < g; s++) {
                status = stream_tree_step(st, b0 + s, p, in[s], out[s], raw[s], chunk[s], bp);
                if (status != FS_OK) return status;
            }
        } else {
            for (s = 0; s < g; s++) live_leaves(out[s], Np, W, A[s][kk]);
            if (kk == KB - 1 || k == n_steps - 1) { /* the block is complete */
                for (s = 0; s < g; s++) {
                    double *last = st->delta + ((b0 + s) * 2 + (p & 1)) * Np;
                    status = stream_tree_block(
                        st, b0 + s, p - kk, kk + 1,
                        st->delta + ((b0 + s) * 2 + ((p - kk - 1) & 1)) * Np, D[s], R[s],
                        C[s], A[s], (uint64_t *)bp);
                    if (status != FS_OK) return status;
                    memcpy(last, out[s], sizeof(double) * (size_t)Np);
                }
            }
        }
        if (st->cfg.filter && p == 0) {
            for (s = 0; s < g; s++) {
                double *f = st->flog + (b0 + s) * Np, m = -INFINITY;
                for (j = 0; j < N; j++)
                    if (out[s][j] > m) m = out[s][j];
                st->fz[b0 + s] = m == -INFINITY ? 0.0 : m;
                for (j = 0; j < Np; j++)
                    f[j] = j < N && m > -INFINITY ? out[s][j] - m : -INFINITY;
            }
        } else if (st->cfg.filter) {
            for (s = 0; s < g; s++) exp_array(st->flog + (b0 + s) * Np, fin[s], Np);
            matvec_group(st->Ac, N, Np, fx, sum, g);
            for (s = 0; s < g; s++) stream_filter_finish(st, b0 + s, sum[s], em[s], w);
        }
    }
    return FS_OK;
}

/* The groups of streams, claimed by the participants of a parallel call: the calling
   thread from the front, pool workers from the back, so that from one push to the next
   each thread tends to get the same streams and finds their state in its cache. claims
   packs (taken from the front) << 32 | (taken from the back). */
typedef struct {
    fs_stream *st;
    const void *rows;
    int f32;
    int64_t n_steps, n_groups;
    uint64_t claims;
    int status;
} fs_stream_job;

/* The next group for this participant, or -1 when none is left. */
static int64_t stream_claim(fs_stream_job *J, int front) {
#if defined(__GNUC__)
    uint64_t c = __atomic_load_n(&J->claims, __ATOMIC_RELAXED), next;
    do {
        const int64_t f = (int64_t)(c >> 32), b = (int64_t)(c & 0xffffffffu);
        if (f + b >= J->n_groups) return -1;
        next = front ? c + ((uint64_t)1 << 32) : c + 1;
    } while (!__atomic_compare_exchange_n(&J->claims, &c, next, 1, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    return front ? (int64_t)(c >> 32) : J->n_groups - 1 - (int64_t)(c & 0xffffffffu);
#else
    const int64_t f = (int64_t)(J->claims >> 32), b = (int64_t)(J->claims & 0xffffffffu);
    (void)front; /* without atomics fs_run_parallel runs the caller only */
    if (f + b >= J->n_groups) return -1;
    J->claims += (uint64_t)1 << 32;
    return f;
#endif
}

static void stream_participant(void *ctx) {
    fs_stream_job *J = (fs_stream_job *)ctx;
    fs_stream *st = J->st;
    const int front = !fs_on_worker();
    void *scratch = front ? st->scratch : malloc((size_t)fs_stream_scratch_bytes(st->N, st->Np));
    int64_t gi;
    if (!scratch) return; /* the caller does the work */
    while ((gi = stream_claim(J, front)) >= 0) {
        const int64_t b0 = gi * FS_G;
        const int g = (int)(st->B - b0 < FS_G ? st->B - b0 : FS_G);
        const int status = stream_group_steps(st, b0, g, J->rows, J->f32, J->n_steps, scratch);
        if (status != FS_OK) ctl_store(&J->status, status);
    }
    if (!front) free(scratch);
}

#define FS_STREAM_ENTRY_(isa) fs_stream_run_##isa
#define FS_STREAM_ENTRY(isa) FS_STREAM_ENTRY_(isa)
int FS_STREAM_ENTRY(FS_ISA)(fs_stream *st, const void *rows, int f32, int64_t n_steps,
                            int n_threads);
int FS_STREAM_ENTRY(FS_ISA)(fs_stream *st, const void *rows, int f32, int64_t n_steps,
                            int n_threads) {
    const int64_t n_groups = (st->B + FS_G - 1) / FS_G;
    int64_t gi;
    /* threads pay off from a few hundred thousand multiply-adds a call */
    if (n_threads > 1 && n_groups > 1 && st->N * st->N * st->B * n_steps >= (1 << 18)) {
        fs_stream_job J;
        int nt = fs_thread_count(n_threads);
        if (nt > n_groups) nt = (int)n_groups;
        J.st = st;
        J.rows = rows;
        J.f32 = f32;
        J.n_steps = n_steps;
        J.n_groups = n_groups;
        J.claims = 0;
        J.status = FS_OK;
        fs_run_parallel(nt, stream_participant, &J);
        return J.status;
    }
    for (gi = 0; gi < n_groups; gi++) {
        const int64_t b0 = gi * FS_G;
        const int g = (int)(st->B - b0 < FS_G ? st->B - b0 : FS_G);
        const int status = stream_group_steps(st, b0, g, rows, f32, n_steps, st->scratch);
        if (status != FS_OK) return status;
    }
    return FS_OK;
}

#endif /* FASTSEQ_STREAM_STEP_H */
