/*
 * The lattice: the transition model of a call (fs_model), one sequence's rows of alpha, beta
 * or Viterbi deltas (fs_lattice), the row operations that keep the invariants below
 * (row_from_logs, row_finish, row_dead), reading rows back as logs (lat_rel, row_logs), and
 * the state of one sequence in a lockstep group with its exponentiated emission rows
 * (fs_seq, exp_row). Everything is double precision. Relies on simd.h and fsmath.h.
 *
 * Numerics. The log domain is canonical, but a log-space forward step costs N^2 exp() calls.
 * The fast path keeps each lattice row *scaled*: row t holds v[j] = exp(la[t][j] - c[t]) with
 * max_j v[j] in [0.5, 1], so a forward step is one vector-matrix product with the fixed
 * matrix A[i][j] = exp(trans[i][j] - gT) (gT = the largest finite transition) times the
 * exponentiated emission row (N exps, made in blocks: exp_row). The scaled form is exact (to
 * rounding) as long as nothing underflows, and we keep it only while that is guaranteed:
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

#include "control.h"
#include "fsmath.h"
#include "simd.h"

/* The bounds of the invariants above. */
#define FS_LOG_TINY (-207.0)                 /* a little above log(2^-300) */
#define FS_TINY 4.9090934652977266e-91       /* 2^-300 */
#define FS_SMALL 2.409919865102884e-181      /* 2^-600 */
#define FS_A_MIN_LOG (-485.0)                /* log(2^-700) */

/* Transition model shared (read-only) by all threads of a call. */
typedef struct {
    int64_t N, Np;   /* states; padded row stride */
    double *trans;   /* [N][N] log scores */
    double *start;   /* [N] */
    double *end;     /* [N] */
    double gT;       /* largest finite transition score (0 when there is none) */
    double *A;       /* [N][Np] exp(trans - gT), zero padding */
    double *AT;      /* [N][Np] transpose of A (backward steps) */
    double *TP;      /* [N][Np] trans with -inf padding (Viterbi) */
    double *TPT;     /* [N][Np] its transpose: column j of trans as a row (backtracking) */
    int scaled_ok;   /* every finite transition >= gT + FS_A_MIN_LOG: scaled steps allowed */
    fs_ctl *ctl;     /* the call's stop flag, polled by the loops over positions */
} fs_model;

/* One lattice (alpha, beta or Viterbi delta) of one sequence. Row t lives at
   v + (t & mask) * Np: mask = -1 keeps every row, mask = 1 keeps two rolling rows. A row is
   either scaled, v[j] = exp(la[j] - c) with max in [0.5, 1] (0 = forbidden), or holds
   relative logs, v[j] = la[j] - c (is_log = 1). */
typedef struct {
    double *v;              /* [rows][Np] */
    fs_dd *c;               /* [rows] log offset */
    unsigned char *is_log;  /* [rows] */
    int64_t mask;
} fs_lattice;

#define ROW(L, Np, t) ((L)->v + ((t) & (L)->mask) * (Np))
#define RIX(L, t) ((t) & (L)->mask)

static void model_free(fs_model *m) {
    free(m->trans);
    m->trans = NULL;
}

static int64_t padded(int64_t N) { return (N + FS_VW - 1) / FS_VW * FS_VW; }

/* Allocates the model; the caller fills trans, start and end, then calls model_prepare. */
static int model_alloc(fs_model *m, int64_t N) {
    const int64_t Np = padded(N);
    const size_t nn = (size_t)N * (size_t)N, np = (size_t)N * (size_t)Np;
    m->N = N;
    m->Np = Np;
    m->trans = (double *)malloc(sizeof(double) * (nn + 4 * np + 2 * (size_t)N));
    if (!m->trans) return -1;
    m->A = m->trans + nn;
    m->AT = m->A + np;
    m->TP = m->AT + np;
    m->TPT = m->TP + np;
    m->start = m->TPT + np;
    m->end = m->start + N;
    return 0;
}

static void model_prepare(fs_model *m) {
    const int64_t N = m->N, Np = m->Np;
    int64_t i, j;
    double g = -INFINITY;
    for (i = 0; i < N * N; i++)
        if (m->trans[i] > g) g = m->trans[i];
    if (g == -INFINITY) g = 0.0;
    m->gT = g;
    m->scaled_ok = 1;
    for (i = 0; i < N; i++) {
        for (j = 0; j < Np; j++) {
            m->A[i * Np + j] = 0.0;
            m->AT[i * Np + j] = 0.0;
            m->TP[i * Np + j] = -INFINITY;
            m->TPT[i * Np + j] = -INFINITY;
        }
    }
    for (i = 0; i < N; i++) {
        for (j = 0; j < N; j++) {
            const double d = m->trans[i * N + j] - g;
            if (d > -INFINITY && d < FS_A_MIN_LOG) m->scaled_ok = 0;
            m->A[i * Np + j] = exp(d);
            m->AT[j * Np + i] = exp(d);
            m->TP[i * Np + j] = m->trans[i * N + j];
            m->TPT[j * Np + i] = m->trans[i * N + j];
        }
    }
}

/* log value of entry j of row t, relative to the row's offset */
static inline double lat_rel(const fs_lattice *L, int64_t Np, int64_t t, int64_t j) {
    const double x = ROW(L, Np, t)[j];
    if (L->is_log[RIX(L, t)]) return x;
    return x > 0 ? log(x) : -INFINITY;
}

/* out[j] = log value of entry j of row t (absolute), j < N. tmp: Np doubles. */
static void row_logs(const fs_lattice *L, int64_t N, int64_t Np, int64_t t, double *out,
                     double *tmp) {
    const fs_dd c = L->c[RIX(L, t)];
    const double *v = ROW(L, Np, t);
    int64_t j;
    if (!L->is_log[RIX(L, t)]) {
        log_array(v, tmp, N);
        v = tmp;
    }
    for (j = 0; j < N; j++) out[j] = c.hi + (c.lo + v[j]);
}

/* v holds exact logs relative to c_in. Scale the row if its dynamic range allows (and
   scaling is enabled). Returns 0 when every entry is -inf (no path), else 1. */
static int row_from_logs(double *v, int64_t N, fs_dd c_in, fs_dd *c, unsigned char *is_log,
                         int scaled_ok) {
    double mx = -INFINITY;
    int64_t j;
    for (j = 0; j < N; j++)
        if (v[j] > mx) mx = v[j];
    *is_log = 1;
    *c = c_in;
    if (mx == -INFINITY) return 0;
    if (!scaled_ok) return 1;
    for (j = 0; j < N; j++)
        if (v[j] > -INFINITY && v[j] - mx < FS_LOG_TINY) return 1;
    for (j = 0; j < N; j++) v[j] = exp(v[j] - mx);
    for (j = N; j < padded(N); j++) v[j] = 0.0; /* scaled rows carry zero padding */
    *c = dd_add(c_in, mx);
    *is_log = 0;
    return 1;
}

/* v[j] >= 0 are unnormalised values whose logs are c_in + log v[j] (+ f[j] when f is given):
   fold f in, rescale and store as a valid row (scaled when safe, else exact logs). E and m
   come with f: E[j] = exp(f[j] - m), m = max_j f[j] (see exp_row). The loops run over
   whole SIMD vectors of the padded row (v's padding must be 0). tmp: Np doubles.
   Returns 0 when no entry is left (no path). */
static int row_finish(double *v, int64_t N, int64_t Np, fs_dd c_in, const double *f,
                      const double *E, double m, fs_dd *c, unsigned char *is_log, int scaled_ok,
                      double *tmp) {
    double *w = tmp, M;
    const fs_vd zero = v_set1(0.0), ninf = v_set1(-INFINITY), small = v_set1(FS_SMALL),
                tiny = v_set1(FS_TINY);
    fs_vd Mv = zero;
    unsigned slow = 0, bad = 0;
    int64_t j;
    if (!f) m = 0.0;
    for (j = 0; j < Np; j += FS_VW) {
        const fs_vd x = v_load(v + j);
        const unsigned live = v_gt_bits(x, zero);
        fs_vd wj = x;
        /* an entry below 2^-600, or scaled by less than 2^-300, could leave the normal
           range in the products of the next step: such rows go through exact logs */
        slow |= live & v_lt_bits(x, small);
        if (f) {
            const fs_vd ej = v_load(E + j);
            slow |= live & v_lt_bits(ej, tiny) & v_gt_bits(v_load_row(f, j, N, -INFINITY), ninf);
            wj = v_mul(x, ej);
        }
        v_store(w + j, wj);
        Mv = v_max(Mv, wj);
    }
    M = v_hmax(Mv);
    if (!slow) {
        int e;
        fs_vd scale;
        if (M == 0.0 || m == -INFINITY) { /* nothing left: no path */
            for (j = 0; j < N; j++) v[j] = -INFINITY;
            *is_log = 1;
            *c = c_in;
            return 0;
        }
        /* rescale by the power of two that brings M into [0.5, 1): exact, and no log() */
        e = pow2_exponent(M);
        scale = v_set1(pow2(-e));
        for (j = 0; j < Np; j += FS_VW) {
            const fs_vd x = v_mul(v_load(w + j), scale);
            v_store(v + j, x);
            bad |= v_gt_bits(x, zero) & v_lt_bits(x, tiny);
        }
        if (!bad && scaled_ok) {
            *c = dd_add(dd_add(c_in, m), e * FS_LN2_HI);
            c->lo += e * FS_LN2_LO;
            *is_log = 0;
            return 1;
        }
        for (j = 0; j < N; j++) v[j] = w[j] > 0 ? m + log(w[j]) : -INFINITY;
        *c = c_in;
        *is_log = 1;
        return 1;
    }
    /* Some entry is too small to carry in scaled form: go through exact logs. */
    for (j = 0; j < N; j++) v[j] = v[j] > 0 ? log(v[j]) + (f ? f[j] : 0.0) : -INFINITY;
    return row_from_logs(v, N, c_in, c, is_log, scaled_ok);
}

/* Row t of a sequence that no path reaches: every entry -inf. */
static void row_dead(double *v, int64_t N, fs_dd *c, unsigned char *is_log) {
    int64_t j;
    for (j = 0; j < N; j++) v[j] = -INFINITY;
    *c = fs_dd_zero;
    *is_log = 1;
}

/* One sequence of a lockstep group. */
typedef struct {
    const double *em;  /* [T][N] */
    int64_t T;
    fs_lattice *L;
    double *x;         /* [Np] backward scratch: beta[t+1] + em[t+1] */
    double *raw;       /* [T][Np] Viterbi pre-emission maxima */
    double *eb;        /* [FS_EBLOCK][Np] exp(em[t] - max_j em[t]) for t in [eb_t0, +FS_EBLOCK) */
    double *emax;      /* [FS_EBLOCK] max_j em[t] */
    int64_t eb_t0;     /* first position in eb; -FS_EBLOCK - 1 when empty */
} fs_seq;

/* Rows of exponentiated emissions, E[t][j] = exp(em[t][j] - m_t), m_t = max_j em[t][j]
   (0 padding), made FS_EBLOCK positions at a time: one vectorised exp pass, throughput-
   bound, instead of a short latency-bound one in every step. `ahead` says which way the
   caller walks, so the next block is the one it needs. Returns the row; *m = m_t. */
#define FS_EBLOCK 64
static const double *exp_row(fs_seq *S, int64_t N, int64_t Np, int64_t t, int ahead,
                             double *m) {
    if (t < S->eb_t0 || t >= S->eb_t0 + FS_EBLOCK) {
        const fs_vd ninf = v_set1(-INFINITY);
        int64_t t0 = ahead ? t : t - FS_EBLOCK + 1, t1, u, j;
        if (t0 < 0) t0 = 0;
        t1 = t0 + FS_EBLOCK < S->T ? t0 + FS_EBLOCK : S->T;
        for (u = t0; u < t1; u++) {
            const double *e = S->em + u * N;
            double *r = S->eb + (u - t0) * Np;
            fs_vd mv = ninf;
            double mu;
            for (j = 0; j < Np; j += FS_VW) mv = v_max(mv, v_load_row(e, j, N, -INFINITY));
            mu = v_hmax(mv);
            S->emax[u - t0] = mu;
            if (mu == -INFINITY) mu = 0.0; /* every entry forbidden: exps are 0 */
            for (j = 0; j < Np; j += FS_VW)
                v_store(r + j, v_sub(v_load_row(e, j, N, -INFINITY), v_set1(mu)));
        }
        exp_array(S->eb, S->eb, (t1 - t0) * Np);
        S->eb_t0 = t0;
    }
    *m = S->emax[t - S->eb_t0];
    return S->eb + (t - S->eb_t0) * Np;
}

#endif /* FASTSEQ_LATTICE_H */
