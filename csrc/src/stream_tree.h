/*
 * The back-pointer trees of the online decoders (stream.h's fs_tree): growing the ring,
 * the live sets, commits, max_lag's forced commits, and the step that adds a position.
 * Static functions, included by stream.c (flush, reset) and by the per-ISA step loop
 * (stream_step.h), so that the step calls them without a call across objects.
 */
#ifndef FASTSEQ_STREAM_TREE_H
#define FASTSEQ_STREAM_TREE_H

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

/* Back-pointer j of a column of pw-byte back-pointers. */
static inline int32_t par_get(const void *col, int pw, int64_t j) {
    return pw == 1   ? ((const uint8_t *)col)[j]
           : pw == 2 ? ((const uint16_t *)col)[j]
                     : ((const int32_t *)col)[j];
}

/* A column's back-pointers from N int32. */
static inline void par_store(void *col, int pw, const int32_t *bp, int64_t N) {
    int64_t j;
    if (pw == 1)
        for (j = 0; j < N; j++) ((uint8_t *)col)[j] = (uint8_t)bp[j];
    else if (pw == 2)
        for (j = 0; j < N; j++) ((uint16_t *)col)[j] = (uint16_t)bp[j];
    else
        memcpy(col, bp, sizeof(int32_t) * (size_t)N);
}

static inline int par_bytes(int64_t N) { return N <= 256 ? 1 : N <= 65536 ? 2 : 4; }

#define COL(tr, s) ((s) & ((tr)->cap - 1))
#define PAR_COL(tr, N, pw, s) ((char *)(tr)->parent + COL(tr, s) * (N) * (pw))

/* Room for the columns of positions base .. p. */
static int tree_grow(fs_tree *tr, int64_t N, int64_t W, int pw, int64_t p) {
    const int64_t need = p - tr->base + 1;
    int64_t cap = tr->cap ? tr->cap : 16, s, pbytes;
    char *parent;
    uint64_t *live;
    if (need <= tr->cap) return FS_OK;
    while (cap < need) cap *= 2;
    if (cap > ((int64_t)1 << 60) / (8 * (N + W + 1))) return FS_ERR_NOMEM;
    pbytes = (cap * N * pw + 7) / 8 * 8; /* the sets after it, 8-byte aligned */
    parent = (char *)malloc((size_t)pbytes + sizeof(uint64_t) * (size_t)((cap + 1) * W));
    if (!parent) return FS_ERR_NOMEM;
    live = (uint64_t *)(parent + pbytes);
    /* the stored columns into their new places (a block of positions grows the ring
       before its columns are made: those past the old ring are not copied) */
    for (s = tr->base; s < p && s < tr->base + tr->cap; s++) {
        const int64_t o = s & (tr->cap - 1), c = s & (cap - 1);
        memcpy(parent + c * N * pw, (char *)tr->parent + o * N * pw, (size_t)(N * pw));
        memcpy(live + c * W, tr->live + o * W, sizeof(uint64_t) * W);
    }
    free(tr->parent);
    tr->parent = parent;
    tr->live = live;
    tr->tmp = live + cap * W;
    tr->cap = cap;
    return FS_OK;
}

/* out = the parents of column s's live nodes (the live set of column s - 1). */
static void live_parents(const fs_tree *tr, int64_t N, int64_t W, int pw, int64_t s,
                         uint64_t *out) {
    const uint64_t *in = tr->live + COL(tr, s) * W;
    const void *par = PAR_COL(tr, N, pw, s);
    int64_t w;
    if (W == 1) { /* in a register: or-ing into memory would wait on each store */
        const uint8_t *p8 = (const uint8_t *)par; /* (N <= 64: one byte each) */
        uint64_t x = in[0], acc = 0;
        while (x) {
            acc |= (uint64_t)1 << p8[ctz64(x)];
            x &= x - 1;
        }
        out[0] = acc;
        return;
    }
    memset(out, 0, sizeof(uint64_t) * W);
    for (w = 0; w < W; w++) {
        uint64_t x = in[w];
        while (x) {
            const int32_t q = par_get(par, pw, w * 64 + ctz64(x));
            out[q >> 6] |= (uint64_t)1 << (q & 63);
            x &= x - 1;
        }
    }
}

/* Column s's live set changed: recompute the columns before it, back to base or to the
   first that keeps its nodes (a node lives while a live node descends from it). */
static void prune_from(fs_tree *tr, int64_t N, int64_t W, int pw, int64_t s) {
    for (; s > tr->base; s--) {
        uint64_t *up = tr->live + COL(tr, s - 1) * W;
        int64_t w, same = 1;
        live_parents(tr, N, W, pw, s, tr->tmp);
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
static int commit_path(fs_tree *tr, int64_t N, int pw, int64_t p, int64_t q, int32_t j) {
    const int64_t n = q - tr->base + 1;
    int64_t s;
    if (n <= 0) return FS_OK;
    if (out_reserve(tr, n)) return FS_ERR_NOMEM;
    for (s = p; s > q; s--) j = par_get(PAR_COL(tr, N, pw, s), pw, j);
    for (s = q;; s--) {
        tr->out[tr->head + tr->n_out + (s - tr->base)] = j;
        if (s == tr->base) break;
        j = par_get(PAR_COL(tr, N, pw, s), pw, j);
    }
    tr->n_out += n;
    tr->base = q + 1;
    return FS_OK;
}

/* max_lag: commits base .. q = p - max_lag along the best path at p, and drops every node
   off it at q together with its descendants (their Viterbi scores become -inf). */
static int force_commit(fs_stream *st, fs_tree *tr, double *delta, int64_t p, int64_t q) {
    const int64_t N = st->N, W = st->W;
    const int pw = st->pw;
    int64_t s, j, w;
    int32_t best = -1, keep;
    double v = -INFINITY;
    for (j = 0; j < N; j++)
        if (delta[j] > v) {
            v = delta[j];
            best = (int32_t)j;
        }
    keep = best;
    for (s = p; s > q; s--) keep = par_get(PAR_COL(tr, N, pw, s), pw, keep);
    if (commit_path(tr, N, pw, p, q, best)) return FS_ERR_NOMEM;
    /* forwards from q: a node stays while its parent does (no node loses its last child:
       the children of a kept node are kept) */
    memset(tr->live + COL(tr, q) * W, 0, sizeof(uint64_t) * W);
    tr->live[COL(tr, q) * W + (keep >> 6)] = (uint64_t)1 << (keep & 63);
    for (s = q + 1; s <= p; s++) {
        const uint64_t *up = tr->live + COL(tr, s - 1) * W;
        uint64_t *cur = tr->live + COL(tr, s) * W;
        const void *par = PAR_COL(tr, N, pw, s);
        for (w = 0; w < W; w++) {
            uint64_t x = cur[w];
            while (x) {
                const int64_t k = w * 64 + ctz64(x);
                const int32_t q = par_get(par, pw, k);
                if (!(up[q >> 6] >> (q & 63) & 1)) cur[w] &= ~((uint64_t)1 << (k & 63));
                x &= x - 1;
            }
        }
    }
    for (j = 0; j < N; j++) /* the scores of the dropped paths' ends */
        if (!(tr->live[COL(tr, p) * W + (j >> 6)] >> (j & 63) & 1)) delta[j] = -INFINITY;
    return FS_OK;
}

/* Position p of stream b enters its tree in two calls. tree_column makes room and gives
   the column for the back-pointers (*parent: N states of st->pw bytes; NULL when the
   stream has no path left: nothing to write). tree_add then takes the live leaves (alive:
   W words, the states with a finite Viterbi score at p) and, for W = 1, their parents'
   set (up), and commits what it can (with max_lag, what it must). FS_OK or FS_ERR_NOMEM. */
static inline int tree_column(fs_stream *st, int64_t b, int64_t p, void **parent) {
    fs_tree *tr = &st->trees[b];
    *parent = NULL;
    if (tr->dead) return FS_OK;
    if (tree_grow(tr, st->N, st->W, st->pw, p)) return FS_ERR_NOMEM;
    *parent = PAR_COL(tr, st->N, st->pw, p);
    return FS_OK;
}

static inline int tree_add(fs_stream *st, int64_t b, int64_t p, const uint64_t *alive,
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
            prune_from(tr, N, W, st->pw, p - 1);
        }
    } else {
        prune_from(tr, N, W, st->pw, p);
    }
    if (commit_agreed(tr, W, p)) return FS_ERR_NOMEM;
    if (st->cfg.max_lag >= 0 && tr->base <= p - st->cfg.max_lag) {
        double *delta = st->delta + (b * 2 + (p & 1)) * st->Np;
        if (force_commit(st, tr, delta, p, p - st->cfg.max_lag)) return FS_ERR_NOMEM;
        if (commit_agreed(tr, W, p)) return FS_ERR_NOMEM;
    }
    return FS_OK;
}

#endif /* FASTSEQ_STREAM_TREE_H */
