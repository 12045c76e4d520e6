/*
 * The online decoders (fastseq.h, fs_stream): creation, the per-stream back-pointer trees
 * and their commits, flush, and the read-out. The numerical step is per ISA
 * (stream_step.h, reached through fs_stream_run in dispatch.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

#if defined(__GNUC__)
static inline int ctz64(uint64_t x) { return __builtin_ctzll(x); }
#else
static inline int ctz64(uint64_t x) {
    int n = 0;
    for (; !(x & 1); x >>= 1) n++;
    return n;
}
#endif

#define FS_STREAM_NP(N) (((N) + 7) / 8 * 8) /* a multiple of every ISA's vector width */

int64_t fs_stream_scratch_bytes(int64_t N, int64_t Np) {
    /* FS_G = 4 rows of 4 kinds and 2 spare, then N back-pointers and a set of states */
    return (int64_t)sizeof(double) * ((4 * 4 + 2) * Np + N / 2 + 1 + (N + 63) / 64);
}

/* ---- the trees ----------------------------------------------------------------------- */

static int out_reserve(fs_tree *tr, int64_t n) {
    if (tr->head > 0 && tr->head + tr->n_out + n > tr->out_cap) { /* move the rest down */
        memmove(tr->out, tr->out + tr->head, sizeof(int64_t) * tr->n_out);
        tr->head = 0;
    }
    if (tr->n_out + n > tr->out_cap) {
        int64_t cap = tr->out_cap ? tr->out_cap : 16;
        int64_t *out;
        while (cap < tr->n_out + n) cap *= 2;
        out = (int64_t *)realloc(tr->out, sizeof(int64_t) * cap);
        if (!out) return FS_ERR_NOMEM;
        tr->out = out;
        tr->out_cap = cap;
    }
    return FS_OK;
}

/* Commits -1 for positions base .. p (no path reaches them). */
static int commit_none(fs_tree *tr, int64_t p) {
    int64_t s, n = p - tr->base + 1;
    if (n <= 0) return FS_OK;
    if (out_reserve(tr, n)) return FS_ERR_NOMEM;
    for (s = 0; s < n; s++) tr->out[tr->head + tr->n_out++] = -1;
    tr->base = p + 1;
    return FS_OK;
}

/* Bit sets of states, W words. Whether x holds exactly one state. */
static inline int one_bit(const uint64_t *x, int64_t W) {
    int64_t w;
    int n = 0;
    for (w = 0; w < W; w++) {
        if (!x[w]) continue;
        if (n || (x[w] & (x[w] - 1))) return 0;
        n = 1;
    }
    return n;
}

static inline int32_t first_bit(const uint64_t *x) {
    int64_t w = 0;
    while (!x[w]) w++;
    return (int32_t)(w * 64 + ctz64(x[w]));
}

/* Room for the columns of positions base .. p. */
static int tree_grow(fs_tree *tr, int64_t N, int64_t W, int64_t p) {
    const int64_t need = p - tr->base + 1;
    int64_t cap = tr->cap ? tr->cap : 16, s;
    int32_t *parent;
    uint64_t *live;
    if (need <= tr->cap) return FS_OK;
    while (cap < need) cap *= 2;
    if (cap > ((int64_t)1 << 60) / (8 * (N + W + 1))) return FS_ERR_NOMEM;
    parent = (int32_t *)malloc(sizeof(int32_t) * (size_t)(cap * N + 1) +
                               sizeof(uint64_t) * (size_t)((cap + 1) * W));
    if (!parent) return FS_ERR_NOMEM;
    live = (uint64_t *)(parent + cap * N + (cap * N & 1)); /* 8-byte aligned */
    for (s = tr->base; s < p; s++) { /* the stored columns, into their new places */
        const int64_t o = s & (tr->cap - 1), c = s & (cap - 1);
        memcpy(parent + c * N, tr->parent + o * N, sizeof(int32_t) * N);
        memcpy(live + c * W, tr->live + o * W, sizeof(uint64_t) * W);
    }
    free(tr->parent);
    tr->parent = parent;
    tr->live = live;
    tr->tmp = live + cap * W;
    tr->cap = cap;
    return FS_OK;
}

#define COL(tr, s) ((s) & ((tr)->cap - 1))

/* out = the parents of column s's live nodes (the live set of column s - 1). */
static void live_parents(const fs_tree *tr, int64_t N, int64_t W, int64_t s, uint64_t *out) {
    const uint64_t *in = tr->live + COL(tr, s) * W;
    const int32_t *par = tr->parent + COL(tr, s) * N;
    int64_t w;
    if (W == 1) { /* in a register: or-ing into memory would wait on each store */
        uint64_t x = in[0], acc = 0;
        while (x) {
            acc |= (uint64_t)1 << par[ctz64(x)];
            x &= x - 1;
        }
        out[0] = acc;
        return;
    }
    memset(out, 0, sizeof(uint64_t) * W);
    for (w = 0; w < W; w++) {
        uint64_t x = in[w];
        while (x) {
            const int32_t q = par[w * 64 + ctz64(x)];
            out[q >> 6] |= (uint64_t)1 << (q & 63);
            x &= x - 1;
        }
    }
}

/* Column s's live set changed: recompute the columns before it, back to base or to the
   first that keeps its nodes (a node lives while a live node descends from it). */
static void prune_from(fs_tree *tr, int64_t N, int64_t W, int64_t s) {
    for (; s > tr->base; s--) {
        uint64_t *up = tr->live + COL(tr, s - 1) * W;
        int64_t w, same = 1;
        live_parents(tr, N, W, s, tr->tmp);
        for (w = 0; w < W; w++) { /* (usually one word: no library call) */
            same &= up[w] == tr->tmp[w];
            up[w] = tr->tmp[w];
        }
        if (same) return;
    }
}

/* Commits the positions from base on where one node is left (every path agrees). */
static int commit_agreed(fs_tree *tr, int64_t W, int64_t p) {
    while (tr->base <= p && one_bit(tr->live + COL(tr, tr->base) * W, W)) {
        if (out_reserve(tr, 1)) return FS_ERR_NOMEM;
        tr->out[tr->head + tr->n_out++] = first_bit(tr->live + COL(tr, tr->base) * W);
        tr->base++;
    }
    return FS_OK;
}

/* Commits positions base .. q along the path that ends in state j at position p. */
static int commit_path(fs_tree *tr, int64_t N, int64_t p, int64_t q, int32_t j) {
    const int64_t n = q - tr->base + 1;
    int64_t s;
    if (n <= 0) return FS_OK;
    if (out_reserve(tr, n)) return FS_ERR_NOMEM;
    for (s = p; s > q; s--) j = tr->parent[COL(tr, s) * N + j];
    for (s = q;; s--) {
        tr->out[tr->head + tr->n_out + (s - tr->base)] = j;
        if (s == tr->base) break;
        j = tr->parent[COL(tr, s) * N + j];
    }
    tr->n_out += n;
    tr->base = q + 1;
    return FS_OK;
}

/* max_lag: commits base .. q = p - max_lag along the best path at p, and drops every node
   off it at q together with its descendants (their Viterbi scores become -inf). */
static int force_commit(fs_stream *st, fs_tree *tr, double *delta, int64_t p, int64_t q) {
    const int64_t N = st->N, W = st->W;
    int64_t s, j, w;
    int32_t best = -1, keep;
    double v = -INFINITY;
    for (j = 0; j < N; j++)
        if (delta[j] > v) {
            v = delta[j];
            best = (int32_t)j;
        }
    keep = best;
    for (s = p; s > q; s--) keep = tr->parent[COL(tr, s) * N + keep];
    if (commit_path(tr, N, p, q, best)) return FS_ERR_NOMEM;
    /* forwards from q: a node stays while its parent does (no node loses its last child:
       the children of a kept node are kept) */
    memset(tr->live + COL(tr, q) * W, 0, sizeof(uint64_t) * W);
    tr->live[COL(tr, q) * W + (keep >> 6)] = (uint64_t)1 << (keep & 63);
    for (s = q + 1; s <= p; s++) {
        const uint64_t *up = tr->live + COL(tr, s - 1) * W;
        uint64_t *cur = tr->live + COL(tr, s) * W;
        const int32_t *par = tr->parent + COL(tr, s) * N;
        for (w = 0; w < W; w++) {
            uint64_t x = cur[w];
            while (x) {
                const int64_t k = w * 64 + ctz64(x);
                if (!(up[par[k] >> 6] >> (par[k] & 63) & 1)) cur[w] &= ~((uint64_t)1 << (k & 63));
                x &= x - 1;
            }
        }
    }
    for (j = 0; j < N; j++) /* the scores of the dropped paths' ends */
        if (!(tr->live[COL(tr, p) * W + (j >> 6)] >> (j & 63) & 1)) delta[j] = -INFINITY;
    return FS_OK;
}

int fs_stream_tree_column(fs_stream *st, int64_t b, int64_t p, int32_t **parent) {
    fs_tree *tr = &st->trees[b];
    *parent = NULL;
    if (tr->dead) return FS_OK;
    if (tree_grow(tr, st->N, st->W, p)) return FS_ERR_NOMEM;
    *parent = tr->parent + COL(tr, p) * st->N;
    return FS_OK;
}

int fs_stream_tree_add(fs_stream *st, int64_t b, int64_t p, const uint64_t *alive,
                       uint64_t up) {
    const int64_t N = st->N, W = st->W;
    fs_tree *tr = &st->trees[b];
    uint64_t any = 0;
    int64_t w;
    if (tr->dead) return commit_none(tr, p);
    for (w = 0; w < W; w++) {
        tr->live[COL(tr, p) * W + w] = alive[w];
        any |= alive[w];
    }
    if (!any) { /* no path left: the open positions and all later ones get -1 */
        tr->dead = 1;
        return commit_none(tr, p);
    }
    if (W == 1 && p > tr->base) { /* the parents' set came with the leaves */
        uint64_t *prev = tr->live + COL(tr, p - 1);
        if (*prev != up) {
            *prev = up;
            prune_from(tr, N, W, p - 1);
        }
    } else {
        prune_from(tr, N, W, p);
    }
    if (commit_agreed(tr, W, p)) return FS_ERR_NOMEM;
    if (st->cfg.max_lag >= 0 && tr->base <= p - st->cfg.max_lag) {
        double *delta = st->delta + (b * 2 + (p & 1)) * st->Np;
        if (force_commit(st, tr, delta, p, p - st->cfg.max_lag)) return FS_ERR_NOMEM;
        if (commit_agreed(tr, W, p)) return FS_ERR_NOMEM;
    }
    return FS_OK;
}

/* ---- the public functions ------------------------------------------------------------ */

static void trees_clear(fs_stream *st) {
    int64_t b;
    for (b = 0; b < st->B; b++) {
        fs_tree *tr = &st->trees[b];
        tr->base = tr->head = tr->n_out = 0;
        tr->dead = 0;
    }
}

void fs_stream_reset(fs_stream *st) {
    int64_t b;
    if (!st) return;
    st->t = 0;
    st->flushed = st->broken = 0;
    trees_clear(st);
    for (b = 0; b < st->B; b++) {
        st->fz[b] = 0.0;
        st->final[b] = 0.0;
    }
}

void fs_stream_free(fs_stream *st) {
    int64_t b;
    if (!st) return;
    if (st->trees)
        for (b = 0; b < st->B; b++) {
            free(st->trees[b].parent);
            free(st->trees[b].out);
        }
    free(st->trees);
    free(st->scratch);
    free(st->trans);
    free(st);
}

int fs_stream_create(const fs_stream_config *config, const double *trans, const double *start,
                     const double *end, fs_stream **out) {
    fs_stream *st;
    int64_t N, Np, B, i, j, st_words;
    size_t doubles;
    *out = NULL;
    if (!config || !trans || config->n_states < 1 || config->n_states > INT32_MAX ||
        config->n_streams < 1 || config->max_lag < -1)
        return FS_ERR_INVALID;
    if (!fs_simd_supported(config->simd)) return FS_ERR_UNSUPPORTED;
    N = config->n_states;
    B = config->n_streams;
    Np = FS_STREAM_NP(N);
    st_words = (N + 63) / 64;
    /* every size below in doubles, checked against overflow first */
    if (N > (int64_t)1 << 26 || B > ((int64_t)1 << 40) / Np || B >= (int64_t)1 << 32)
        return FS_ERR_INVALID;
    st = (fs_stream *)calloc(1, sizeof(fs_stream));
    if (!st) return FS_ERR_NOMEM;
    st->cfg = *config;
    st->N = N;
    st->Np = Np;
    st->B = B;
    st->W = st_words;
    doubles = (size_t)(N * N + 2 * N + 3 * N * Np + Np + 3 * B * Np + 2 * B);
    st->trans = (double *)malloc(sizeof(double) * doubles);
    st->trees = (fs_tree *)calloc((size_t)B, sizeof(fs_tree));
    st->scratch = malloc((size_t)fs_stream_scratch_bytes(N, Np));
    if (!st->trans || !st->trees || !st->scratch) {
        fs_stream_free(st);
        return FS_ERR_NOMEM;
    }
    st->start = st->trans + N * N;
    st->end = st->start + N;
    st->TP = st->end + N;
    st->TPT = st->TP + N * Np;
    st->Ac = st->TPT + N * Np;
    st->cmax = st->Ac + N * Np;
    st->delta = st->cmax + Np;
    st->flog = st->delta + 2 * B * Np;
    st->fz = st->flog + B * Np;
    st->final = st->fz + B;
    memcpy(st->trans, trans, sizeof(double) * N * N);
    for (j = 0; j < N; j++) {
        st->start[j] = start ? start[j] : 0.0;
        st->end[j] = end ? end[j] : 0.0;
    }
    for (j = 0; j < Np; j++) {
        double m = -INFINITY;
        for (i = 0; i < N && j < N; i++)
            if (trans[i * N + j] > m) m = trans[i * N + j];
        st->cmax[j] = m;
    }
    for (i = 0; i < N; i++)
        for (j = 0; j < Np; j++) {
            const double x = j < N ? trans[i * N + j] : -INFINITY;
            st->TP[i * Np + j] = x;
            st->TPT[i * Np + j] = j < N ? trans[j * N + i] : -INFINITY;
            st->Ac[i * Np + j] = x > -INFINITY ? exp(x - st->cmax[j]) : 0.0;
        }
    for (i = 0; i < 2 * B * Np; i++) st->delta[i] = -INFINITY;
    for (i = 0; i < B * Np; i++) st->flog[i] = -INFINITY;
    fs_stream_reset(st);
    *out = st;
    return FS_OK;
}

static int stream_push(fs_stream *st, const void *rows, int f32, int64_t n_steps,
                       int n_threads) {
    int status;
    if (!st || n_steps < 0 || (n_steps > 0 && !rows)) return FS_ERR_INVALID;
    if (st->flushed || st->broken) return FS_ERR_INVALID;
    if (n_steps == 0) return FS_OK;
    status = fs_stream_run(st, rows, f32, n_steps, n_threads);
    if (status == FS_ERR_UNSUPPORTED) return status; /* nothing was done */
    if (status != FS_OK) {
        st->broken = 1;
        return status;
    }
    st->t += n_steps;
    return FS_OK;
}

int fs_stream_push_f32(fs_stream *st, const float *rows, int64_t n_steps, int n_threads) {
    return stream_push(st, rows, 1, n_steps, n_threads);
}

int fs_stream_push_f64(fs_stream *st, const double *rows, int64_t n_steps, int n_threads) {
    return stream_push(st, rows, 0, n_steps, n_threads);
}

int fs_stream_flush(fs_stream *st) {
    int64_t b, j;
    if (!st || st->broken) return FS_ERR_INVALID;
    if (st->flushed) return FS_OK;
    for (b = 0; b < st->B; b++) {
        fs_tree *tr = &st->trees[b];
        const int64_t p = st->t - 1;
        const double *delta = st->delta + (b * 2 + (p & 1)) * st->Np;
        double best = -INFINITY;
        int32_t best_j = -1;
        st->final[b] = 0.0;
        if (st->t == 0) continue;
        for (j = 0; j < st->N; j++) {
            const double v = delta[j] + st->end[j];
            if (v > best) {
                best = v;
                best_j = (int32_t)j;
            }
        }
        st->final[b] = best;
        if (tr->dead) continue;
        if (best_j < 0 ? commit_none(tr, p) : commit_path(tr, st->N, p, p, best_j))
            return FS_ERR_NOMEM; /* (a retry may succeed: nothing was committed) */
    }
    st->flushed = 1;
    return FS_OK;
}

int64_t fs_stream_position(const fs_stream *st) { return st ? st->t : 0; }

int64_t fs_stream_pending(const fs_stream *st, int64_t b) {
    if (!st || b < 0 || b >= st->B) return 0;
    return st->trees[b].n_out;
}

int64_t fs_stream_take(fs_stream *st, int64_t b, int64_t *labels, int64_t cap) {
    fs_tree *tr;
    int64_t n;
    if (!st || b < 0 || b >= st->B || cap <= 0) return 0;
    tr = &st->trees[b];
    n = tr->n_out < cap ? tr->n_out : cap;
    memcpy(labels, tr->out + tr->head, sizeof(int64_t) * n);
    tr->head += n;
    tr->n_out -= n;
    if (tr->n_out == 0) tr->head = 0;
    return n;
}

double fs_stream_best_score(const fs_stream *st, int64_t b) {
    const double *delta;
    double best = -INFINITY;
    int64_t j;
    if (!st || b < 0 || b >= st->B) return NAN;
    if (st->flushed) return st->final[b];
    if (st->t == 0) return -INFINITY;
    delta = st->delta + (b * 2 + ((st->t - 1) & 1)) * st->Np;
    for (j = 0; j < st->N; j++)
        if (delta[j] > best) best = delta[j];
    return best;
}

int fs_stream_filtered(const fs_stream *st, int64_t b, double *probs, double *log_evidence) {
    const double *f;
    double sum = 0.0;
    int64_t j;
    if (!st || b < 0 || b >= st->B || !st->cfg.filter || st->t == 0) return FS_ERR_INVALID;
    f = st->flog + b * st->Np;
    for (j = 0; j < st->N; j++) sum += probs[j] = f[j] > -INFINITY ? exp(f[j]) : 0.0;
    if (sum > 0)
        for (j = 0; j < st->N; j++) probs[j] /= sum;
    if (log_evidence) *log_evidence = sum > 0 ? st->fz[b] + log(sum) : -INFINITY;
    return FS_OK;
}
