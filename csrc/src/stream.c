/*
 * The online decoders (fastseq.h, fs_stream): creation, flush and the read-out. The trees
 * are in stream_tree.h; the numerical step is per ISA (stream_step.h, reached through
 * fs_stream_run in dispatch.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stream_tree.h"


#define FS_STREAM_NP(N) (((N) + 7) / 8 * 8) /* a multiple of every ISA's vector width */

int64_t fs_stream_scratch_bytes(int64_t N, int64_t Np) {
    /* FS_G = 4 rows of 4 kinds and 2 spare, then N back-pointers and a set of states,
       then per stream and position of a block (when there are blocks) three rows and a
       set */
    const int64_t W = (N + 63) / 64, KB = fs_stream_block(Np);
    return (int64_t)sizeof(double) *
           ((4 * 4 + 2) * Np + N / 2 + 1 + W + (KB > 1 ? 4 * KB * (3 * Np + W) : 0));
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
    st->pw = par_bytes(N);
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
        if (best_j < 0 ? commit_none(tr, p) : commit_path(tr, st->N, st->pw, p, p, best_j))
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
