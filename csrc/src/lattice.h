/*
 * The per-sequence dynamic programs, in double precision. Included once per ISA variant
 * (kernels_isa.c), so everything here is static.
 *
 * Numerics. The log domain is canonical, but a log-space forward step costs N^2 exp() calls.
 * The fast path keeps each lattice row *scaled*: row t holds v[j] = exp(la[t][j] - c[t]) with
 * max_j v[j] = 1, so a forward step is one vector-matrix product with the fixed matrix
 * A[i][j] = exp(trans[i][j] - gT) (gT = the largest finite transition) plus N exp() calls for
 * the emissions. The scaled form is exact (to rounding) as long as nothing underflows, and we
 * keep it only while that is guaranteed:
 *   - every nonzero v[j] is >= 2^-300 (TINY) and every nonzero A[i][j] >= 2^-700, so each
 *     product v[i] * A[i][j] is a normal double >= 2^-1000 and the sums lose nothing;
 *   - an entry is exactly 0 only when its log value is exactly -inf (a forbidden state).
 * A row that would break this is stored as exact logs instead (is_log = 1) and the next step
 * is done in log space; as soon as a row's dynamic range allows it, it is scaled again. So a
 * fast step never returns a wrong number: scores of +-1e4, -inf constraints and sequences of
 * millions of steps give the log-space answer.
 */
#ifndef FASTSEQ_LATTICE_H
#define FASTSEQ_LATTICE_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#define FS_LOG_TINY (-207.0)                 /* a little above log(2^-300) */
#define FS_TINY 4.9090934652977266e-91       /* 2^-300 */
#define FS_SMALL 2.409919865102884e-181      /* 2^-600 */
#define FS_A_MIN_LOG (-485.0)                /* log(2^-700) */
#define FS_K_MAX_LOG 415.0                   /* log(2^599): pair-marginal scale bound */

/* Transition model shared (read-only) by all threads of a call. */
typedef struct {
    int64_t N;
    double *trans;   /* [N][N] log scores */
    double *start;   /* [N] */
    double *end;     /* [N] */
    double gT;       /* largest finite transition score (0 when there is none) */
    double *A;       /* [N][N] exp(trans - gT) */
    double *AT;      /* [N][N] transpose of A (backward steps run as row updates) */
    int scaled_ok;   /* every finite transition >= gT + FS_A_MIN_LOG: scaled steps allowed */
} fs_model;

/* One lattice (alpha or beta) over T positions. */
typedef struct {
    double *v;              /* [T][N] scaled values or exact logs */
    double *c;              /* [T] log offset of a scaled row */
    unsigned char *is_log;  /* [T] 1 when row t holds exact logs */
} fs_lattice;

static void model_free(fs_model *m) {
    free(m->trans);
    m->trans = NULL;
}

/* Copies the (converted) scores in and precomputes the exp matrix. trans/start/end are
   arrays of N*N, N, N doubles already filled by the caller through the returned pointers. */
static int model_alloc(fs_model *m, int64_t N) {
    size_t nn = (size_t)N * (size_t)N;
    m->N = N;
    m->trans = (double *)malloc(sizeof(double) * (3 * nn + 2 * (size_t)N));
    if (!m->trans) return -1;
    m->A = m->trans + nn;
    m->AT = m->A + nn;
    m->start = m->AT + nn;
    m->end = m->start + N;
    return 0;
}

static void model_prepare(fs_model *m) {
    int64_t N = m->N, i, j;
    double g = -INFINITY;
    for (i = 0; i < N * N; i++)
        if (m->trans[i] > g) g = m->trans[i];
    if (g == -INFINITY) g = 0.0;
    m->gT = g;
    m->scaled_ok = 1;
    for (i = 0; i < N; i++) {
        for (j = 0; j < N; j++) {
            double d = m->trans[i * N + j] - g;
            if (d > -INFINITY && d < FS_A_MIN_LOG) m->scaled_ok = 0;
            m->A[i * N + j] = exp(d);
            m->AT[j * N + i] = m->A[i * N + j];
        }
    }
}

static inline double lat_log(const fs_lattice *L, int64_t N, int64_t t, int64_t j) {
    double x = L->v[t * N + j];
    if (L->is_log[t]) return x;
    return x > 0 ? L->c[t] + log(x) : -INFINITY;
}

/* Exact log(sum_i exp(x[i] + y[i * stride])), -inf safe. */
static inline double lse_strided(const double *x, const double *y, int64_t n, int64_t stride) {
    double m = -INFINITY, s = 0.0;
    int64_t i;
    for (i = 0; i < n; i++) {
        double z = x[i] + y[i * stride];
        if (z > m) m = z;
    }
    if (m == -INFINITY) return -INFINITY;
    for (i = 0; i < n; i++) s += exp(x[i] + y[i * stride] - m);
    return m + log(s);
}

/* v holds exact logs. Scale the row if its dynamic range allows (and scaling is enabled).
   Returns 0 when every entry is -inf (no path), else 1. */
static int row_from_logs(double *v, int64_t N, double *c, unsigned char *is_log, int scaled_ok) {
    double mx = -INFINITY;
    int64_t j;
    for (j = 0; j < N; j++)
        if (v[j] > mx) mx = v[j];
    *is_log = 1;
    if (mx == -INFINITY) return 0;
    if (!scaled_ok) return 1;
    for (j = 0; j < N; j++)
        if (v[j] > -INFINITY && v[j] - mx < FS_LOG_TINY) return 1;
    for (j = 0; j < N; j++) v[j] = exp(v[j] - mx);
    *c = mx;
    *is_log = 0;
    return 1;
}

/* v[j] >= 0 are unnormalised values whose logs are c_in + log v[j] (+ f[j] when f is given):
   fold f in, rescale to max 1 and store as a valid row (scaled when safe, else exact logs).
   tmp: N doubles. Returns 0 when no entry is left (no path). */
static int row_finish(double *v, int64_t N, double c_in, const double *f, double *c,
                      unsigned char *is_log, int scaled_ok, double *tmp) {
    double m = f ? -INFINITY : 0.0, M = 0.0;
    int any = 0, slow = 0, bad = 0;
    int64_t j;
    for (j = 0; j < N; j++) {
        if (v[j] > 0) {
            any = 1;
            if (f && f[j] > m) m = f[j];
        }
    }
    if (!any || m == -INFINITY) {
        for (j = 0; j < N; j++) v[j] = -INFINITY;
        *is_log = 1;
        return 0;
    }
    for (j = 0; j < N; j++) {
        double w = 0.0;
        if (v[j] > 0) {
            double d = f ? f[j] - m : 0.0;
            if (d >= FS_LOG_TINY && v[j] >= FS_SMALL)
                w = f ? v[j] * exp(d) : v[j];  /* >= 2^-900: a normal double */
            else if (d > -INFINITY)
                slow = 1;
        }
        tmp[j] = w;
        if (w > M) M = w;
    }
    if (!slow) {
        double inv = 1.0 / M, lm = log(M);
        for (j = 0; j < N; j++) {
            double x = tmp[j] * inv;
            v[j] = x;
            if (x > 0 && x < FS_TINY) bad = 1;
        }
        if (!bad && scaled_ok) {
            *c = c_in + m + lm;
            *is_log = 0;
            return 1;
        }
        for (j = 0; j < N; j++) v[j] = tmp[j] > 0 ? c_in + m + log(tmp[j]) : -INFINITY;
        *is_log = 1;
        return 1;
    }
    /* Some entry is too small to carry in scaled form: go through exact logs. */
    for (j = 0; j < N; j++)
        v[j] = v[j] > 0 ? c_in + log(v[j]) + (f ? f[j] : 0.0) : -INFINITY;
    return row_from_logs(v, N, c, is_log, scaled_ok);
}

/* alpha[t][j] = em[t][j] + logsumexp_i(alpha[t-1][i] + trans[i][j]), alpha[0] = start + em[0].
   Fills L for t < T and returns log_Z = logsumexp_j(alpha[T-1][j] + end[j]). */
static double forward_pass(const fs_model *M, const double *em, int64_t T, fs_lattice *L,
                           double *tmp) {
    const int64_t N = M->N;
    int64_t t, i, j;
    int alive;
    if (T == 0) return 0.0;
    for (j = 0; j < N; j++) L->v[j] = M->start[j] + em[j];
    alive = row_from_logs(L->v, N, &L->c[0], &L->is_log[0], M->scaled_ok);
    for (t = 1; t < T; t++) {
        const double *prev = L->v + (t - 1) * N;
        double *cur = L->v + t * N;
        const double *e = em + t * N;
        if (!alive) {
            for (j = 0; j < N; j++) cur[j] = -INFINITY;
            L->is_log[t] = 1;
            continue;
        }
        if (!L->is_log[t - 1]) {
            /* scaled step: cur = prev @ A, then times exp(e) */
            for (j = 0; j < N; j++) cur[j] = 0.0;
            for (i = 0; i < N; i++) {
                const double a = prev[i];
                const double *Ai = M->A + i * N;
                if (a == 0.0) continue;
                for (j = 0; j < N; j++) cur[j] += a * Ai[j];
            }
            alive = row_finish(cur, N, L->c[t - 1] + M->gT, e, &L->c[t], &L->is_log[t],
                               M->scaled_ok, tmp);
        } else {
            for (j = 0; j < N; j++) cur[j] = lse_strided(prev, M->trans + j, N, N) + e[j];
            alive = row_from_logs(cur, N, &L->c[t], &L->is_log[t], M->scaled_ok);
        }
    }
    {
        double m = -INFINITY, s = 0.0;
        for (j = 0; j < N; j++) {
            tmp[j] = lat_log(L, N, T - 1, j) + M->end[j];
            if (tmp[j] > m) m = tmp[j];
        }
        if (m == -INFINITY) return -INFINITY;
        for (j = 0; j < N; j++) s += exp(tmp[j] - m);
        return m + log(s);
    }
}

/* beta[T-1] = end; beta[t][i] = logsumexp_j(trans[i][j] + em[t+1][j] + beta[t+1][j]).
   tmp: 2N doubles. */
static void backward_pass(const fs_model *M, const double *em, int64_t T, fs_lattice *L,
                          double *tmp) {
    const int64_t N = M->N;
    double *x = tmp + N;
    int64_t t, i, j;
    int alive;
    if (T == 0) return;
    memcpy(L->v + (T - 1) * N, M->end, sizeof(double) * N);
    alive = row_from_logs(L->v + (T - 1) * N, N, &L->c[T - 1], &L->is_log[T - 1], M->scaled_ok);
    for (t = T - 2; t >= 0; t--) {
        const double *nx = L->v + (t + 1) * N;
        const double *e = em + (t + 1) * N;
        double *cur = L->v + t * N;
        double cx = 0.0;
        unsigned char xlog = 1;
        if (!alive) {
            for (i = 0; i < N; i++) cur[i] = -INFINITY;
            L->is_log[t] = 1;
            continue;
        }
        /* x = beta[t+1] + em[t+1] */
        if (!L->is_log[t + 1]) {
            memcpy(x, nx, sizeof(double) * N);
            if (!row_finish(x, N, L->c[t + 1], e, &cx, &xlog, M->scaled_ok, tmp)) {
                for (i = 0; i < N; i++) cur[i] = -INFINITY;
                L->is_log[t] = 1;
                alive = 0;
                continue;
            }
        } else {
            for (j = 0; j < N; j++) x[j] = nx[j] + e[j];
        }
        if (!xlog) {
            /* scaled step: cur[i] = sum_j A[i][j] x[j], as row updates over AT */
            for (i = 0; i < N; i++) cur[i] = 0.0;
            for (j = 0; j < N; j++) {
                const double xj = x[j];
                const double *Aj = M->AT + j * N;
                if (xj == 0.0) continue;
                for (i = 0; i < N; i++) cur[i] += xj * Aj[i];
            }
            alive = row_finish(cur, N, cx + M->gT, NULL, &L->c[t], &L->is_log[t], M->scaled_ok,
                               tmp);
        } else {
            for (i = 0; i < N; i++) cur[i] = lse_strided(x, M->trans + i * N, N, 1);
            alive = row_from_logs(cur, N, &L->c[t], &L->is_log[t], M->scaled_ok);
        }
    }
}

/* node[j] = P(y_t = j | x) = exp(alpha[t][j] + beta[t][j] - log_Z). */
static void node_row(const fs_lattice *F, const fs_lattice *Bk, int64_t N, int64_t t,
                     double log_Z, double *out) {
    const double *a = F->v + t * N, *b = Bk->v + t * N;
    int64_t j;
    if (!F->is_log[t] && !Bk->is_log[t]) {
        /* both scaled: sum_j a b K = 1 with a, b in [2^-300, 1], so K is finite */
        const double K = exp(F->c[t] + Bk->c[t] - log_Z);
        for (j = 0; j < N; j++) out[j] = a[j] * b[j] * K;
    } else {
        for (j = 0; j < N; j++) {
            double z = lat_log(F, N, t, j) + lat_log(Bk, N, t, j) - log_Z;
            out[j] = z > -INFINITY ? exp(z) : 0.0;
        }
    }
}

/* Adds the pair marginals between t-1 and t:
   xi[i][j] = exp(alpha[t-1][i] + trans[i][j] + em[t][j] + beta[t][j] - log_Z).
   Fast path: xi = (a[i] K) A[i][j] q[j] with q[j] = b[j] exp(em[t][j] - m); P accumulates
   (a K) q^T and is multiplied by A once at the end. Rows that are not scaled, or a scale
   factor K too large to keep the dropped underflow terms negligible, go to exact logs in
   Pslow. tmp: 3N doubles. */
static void pair_add(const fs_model *M, const fs_lattice *F, const fs_lattice *Bk,
                     const double *em, int64_t t, double log_Z, double *P, double *Pslow,
                     double *tmp) {
    const int64_t N = M->N;
    const double *e = em + t * N;
    const double *a = F->v + (t - 1) * N, *b = Bk->v + t * N;
    int64_t i, j;
    if (!F->is_log[t - 1] && !Bk->is_log[t] && M->scaled_ok) {
        double m = -INFINITY, logK;
        for (j = 0; j < N; j++)
            if (b[j] > 0 && e[j] > m) m = e[j];
        if (m == -INFINITY) return;
        logK = F->c[t - 1] + M->gT + m + Bk->c[t] - log_Z;
        if (logK <= FS_K_MAX_LOG) {
            const double K = exp(logK);
            double *q = tmp;
            for (j = 0; j < N; j++) q[j] = b[j] > 0 ? b[j] * exp(e[j] - m) : 0.0;
            for (i = 0; i < N; i++) {
                const double ak = a[i] * K;
                double *Pi = P + i * N;
                if (ak == 0.0) continue;
                for (j = 0; j < N; j++) Pi[j] += ak * q[j];
            }
            return;
        }
    }
    {
        double *la = tmp, *lb = tmp + N;
        for (i = 0; i < N; i++) la[i] = lat_log(F, N, t - 1, i);
        for (j = 0; j < N; j++) lb[j] = lat_log(Bk, N, t, j) + e[j] - log_Z;
        for (i = 0; i < N; i++) {
            if (la[i] == -INFINITY) continue;
            for (j = 0; j < N; j++) {
                double z = la[i] + M->trans[i * N + j] + lb[j];
                if (z > -INFINITY) Pslow[i * N + j] += exp(z);
            }
        }
    }
}

/* Max-plus recursion with back-pointers. bp: [T][N] int32; delta, nd: N doubles; arg: N
   int64. Ties go to the lowest state index. Returns the best score (-inf: no path, path all
   -1). */
static double viterbi_seq(const fs_model *M, const double *em, int64_t T, int64_t *path,
                          double *delta, double *nd, int64_t *arg, int32_t *bp) {
    const int64_t N = M->N;
    int64_t t, i, j, best_j = -1;
    double best = -INFINITY;
    if (T == 0) return 0.0;
    for (j = 0; j < N; j++) delta[j] = M->start[j] + em[j];
    for (t = 1; t < T; t++) {
        const double *e = em + t * N;
        int32_t *bpt = bp + t * N;
        for (j = 0; j < N; j++) {
            nd[j] = -INFINITY;
            arg[j] = 0;
        }
        for (i = 0; i < N; i++) {
            const double di = delta[i];
            const double *tr = M->trans + i * N;
            if (di == -INFINITY) continue;
            for (j = 0; j < N; j++) {
                const double v = di + tr[j];
                const int better = v > nd[j];
                nd[j] = better ? v : nd[j];
                arg[j] = better ? i : arg[j];
            }
        }
        for (j = 0; j < N; j++) {
            delta[j] = nd[j] + e[j];
            bpt[j] = (int32_t)arg[j];
        }
    }
    for (j = 0; j < N; j++) {
        double v = delta[j] + M->end[j];
        if (v > best) {
            best = v;
            best_j = j;
        }
    }
    if (best_j < 0) {
        for (t = 0; t < T; t++) path[t] = -1;
        return -INFINITY;
    }
    path[T - 1] = best_j;
    for (t = T - 1; t > 0; t--) path[t - 1] = bp[t * N + path[t]];
    return best;
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

#endif /* FASTSEQ_LATTICE_H */
