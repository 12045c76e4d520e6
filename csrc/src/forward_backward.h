/*
 * Sum-product over the lattice: forward_group and backward_group run up to FS_G sequences in
 * lockstep; local_log_Z, node_row and pair_sums turn the two lattices into marginals.
 * Relies on lattice.h (rows and their invariants) and products.h (the steps).
 */
#ifndef FASTSEQ_FORWARD_BACKWARD_H
#define FASTSEQ_FORWARD_BACKWARD_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "fsmath.h"
#include "lattice.h"
#include "products.h"
#include "simd.h"

#define FS_K_MAX_LOG 415.0                   /* log(2^599): pair-marginal scale bound */

/* alpha[t][j] = em[t][j] + logsumexp_i(alpha[t-1][i] + trans[i][j]), alpha[0] = start + em[0],
   for ns <= FS_G sequences in lockstep. Writes log_Z[s] = logsumexp_j(alpha[T-1][j] + end[j]).
   tmp: 3 Np doubles. */
static void forward_group(const fs_model *M, fs_seq *S, int ns, fs_dd *log_Z,
                          double *tmp) {
    const int64_t N = M->N, Np = M->Np;
    int alive[FS_G];
    int64_t t, j, Tmax = 0;
    int s;
    for (s = 0; s < ns; s++) {
        fs_lattice *L = S[s].L;
        if (S[s].T > Tmax) Tmax = S[s].T;
        alive[s] = 0;
        if (S[s].T == 0) continue;
        for (j = 0; j < N; j++) L->v[j] = M->start[j] + S[s].em[j];
        alive[s] = row_from_logs(L->v, N, fs_dd_zero, &L->c[0], &L->is_log[0], M->scaled_ok);
    }
    for (t = 1; t < Tmax; t++) {
        const double *in[FS_G];
        double *out[FS_G];
        int any = 0;
        if ((t & 63) == 0 && ctl_stopped(M->ctl)) { /* the results will be discarded */
            for (s = 0; s < ns; s++) log_Z[s] = fs_dd_zero;
            return;
        }
        for (s = 0; s < ns; s++) {
            const fs_lattice *L = S[s].L;
            if (t < S[s].T && alive[s] && !L->is_log[RIX(L, t - 1)]) {
                in[any] = ROW(L, Np, t - 1);
                out[any] = ROW(L, Np, t);
                any++;
            }
        }
        for (s = 0; s < ns; s++) /* the next emission rows stream from memory meanwhile */
            if (t + 1 < S[s].T) prefetch_row(S[s].em + (t + 1) * N, N);
        if (any) matvec_group(M->A, N, Np, in, out, any);
        for (s = 0; s < ns; s++) {
            fs_lattice *L = S[s].L;
            const int64_t r = RIX(L, t), rp = RIX(L, t - 1);
            double *cur = ROW(L, Np, t);
            const double *e = S[s].em + t * N;
            if (t >= S[s].T) continue;
            if (!alive[s]) {
                row_dead(cur, N, &L->c[r], &L->is_log[r]);
            } else if (!L->is_log[rp]) {
                double m;
                const double *E = exp_row(&S[s], N, Np, t, 1, &m);
                alive[s] = row_finish(cur, N, Np, dd_add(L->c[rp], M->gT), e, E, m, &L->c[r],
                                      &L->is_log[r], M->scaled_ok, tmp);
            } else {
                const double *prev = ROW(L, Np, t - 1);
                for (j = 0; j < N; j++) cur[j] = lse_strided(prev, M->trans + j, N, N) + e[j];
                alive[s] = row_from_logs(cur, N, L->c[rp], &L->c[r], &L->is_log[r], M->scaled_ok);
            }
        }
    }
    for (s = 0; s < ns; s++) {
        const int64_t T = S[s].T;
        double m = -INFINITY, acc = 0.0;
        log_Z[s] = fs_dd_zero;
        if (T == 0) continue;
        for (j = 0; j < N; j++) {
            tmp[j] = lat_rel(S[s].L, Np, T - 1, j) + M->end[j];
            if (tmp[j] > m) m = tmp[j];
        }
        if (m == -INFINITY) {
            log_Z[s].hi = -INFINITY;
            continue;
        }
        for (j = 0; j < N; j++) acc += exp(tmp[j] - m);
        log_Z[s] = dd_add(S[s].L->c[RIX(S[s].L, T - 1)], m + log(acc));
    }
}

/* beta[T-1] = end; beta[t][i] = logsumexp_j(trans[i][j] + em[t+1][j] + beta[t+1][j]), for
   ns <= FS_G sequences in lockstep, each running from its own end (position T_s - 1 - u at
   lockstep step u). tmp: 3 Np doubles. */
static void backward_group(const fs_model *M, fs_seq *S, int ns, double *tmp) {
    const int64_t N = M->N, Np = M->Np;
    int alive[FS_G];
    unsigned char xlog[FS_G];
    fs_dd cx[FS_G];
    int64_t u, i, j, Tmax = 0;
    int s;
    for (s = 0; s < ns; s++) {
        fs_lattice *L = S[s].L;
        const int64_t T = S[s].T;
        if (T > Tmax) Tmax = T;
        alive[s] = 0;
        if (T == 0) continue;
        memcpy(ROW(L, Np, T - 1), M->end, sizeof(double) * N);
        alive[s] = row_from_logs(ROW(L, Np, T - 1), N, fs_dd_zero, &L->c[RIX(L, T - 1)],
                                 &L->is_log[RIX(L, T - 1)], M->scaled_ok);
    }
    for (u = 1; u < Tmax; u++) {
        const double *in[FS_G];
        double *out[FS_G];
        int any = 0;
        if ((u & 63) == 0 && ctl_stopped(M->ctl)) return; /* the results will be discarded */
        /* x = beta[t+1] + em[t+1], rescaled */
        for (s = 0; s < ns; s++) {
            fs_lattice *L = S[s].L;
            const int64_t t = S[s].T - 1 - u;
            if (t < 0 || !alive[s]) continue;
            if (!L->is_log[RIX(L, t + 1)]) {
                double m;
                const double *E = exp_row(&S[s], N, Np, t + 1, 0, &m);
                memcpy(S[s].x, ROW(L, Np, t + 1), sizeof(double) * Np); /* with padding */
                if (!row_finish(S[s].x, N, Np, L->c[RIX(L, t + 1)], S[s].em + (t + 1) * N, E,
                                m, &cx[s], &xlog[s], M->scaled_ok, tmp)) {
                    alive[s] = 0;
                    continue;
                }
            } else {
                const double *nx = ROW(L, Np, t + 1), *e = S[s].em + (t + 1) * N;
                for (j = 0; j < N; j++) S[s].x[j] = nx[j] + e[j];
                cx[s] = L->c[RIX(L, t + 1)];
                xlog[s] = 1;
            }
            if (!xlog[s]) {
                in[any] = S[s].x;
                out[any] = ROW(L, Np, t);
                any++;
            }
        }
        for (s = 0; s < ns; s++)
            if (S[s].T - 1 - u > 0) prefetch_row(S[s].em + (S[s].T - 1 - u) * N, N);
        if (any) matvec_group(M->AT, N, Np, in, out, any);
        for (s = 0; s < ns; s++) {
            fs_lattice *L = S[s].L;
            const int64_t t = S[s].T - 1 - u;
            double *cur;
            if (t < 0) continue;
            cur = ROW(L, Np, t);
            if (!alive[s]) {
                row_dead(cur, N, &L->c[RIX(L, t)], &L->is_log[RIX(L, t)]);
            } else if (!xlog[s]) {
                alive[s] = row_finish(cur, N, Np, dd_add(cx[s], M->gT), NULL, NULL, 0.0,
                                      &L->c[RIX(L, t)],
                                      &L->is_log[RIX(L, t)], M->scaled_ok, tmp);
            } else {
                for (i = 0; i < N; i++) cur[i] = lse_strided(S[s].x, M->trans + i * N, N, 1);
                alive[s] = row_from_logs(cur, N, cx[s], &L->c[RIX(L, t)], &L->is_log[RIX(L, t)],
                                         M->scaled_ok);
            }
        }
    }
}

/* log sum_j exp(alpha[t][j] + beta[t][j]): equal to log_Z for every t, but computed from
   row t's own offsets, so that marginals normalised by it carry none of the rounding that
   the offsets accumulated over the sequence (a million-step sequence stays exact). tmp: Np. */
static fs_dd local_log_Z(const fs_lattice *F, const fs_lattice *Bk, int64_t N, int64_t Np,
                         int64_t t, double *tmp) {
    const double *a = ROW(F, Np, t), *b = ROW(Bk, Np, t);
    fs_dd c = F->c[RIX(F, t)];
    int64_t j;
    c = dd_add(c, Bk->c[RIX(Bk, t)].hi);
    c.lo += Bk->c[RIX(Bk, t)].lo;
    if (!F->is_log[RIX(F, t)] && !Bk->is_log[RIX(Bk, t)]) {
        double sum = 0.0;
        for (j = 0; j < N; j++) sum += a[j] * b[j];
        return dd_add(c, log(sum));
    } else {
        double m = -INFINITY, sum = 0.0;
        for (j = 0; j < N; j++) {
            tmp[j] = lat_rel(F, Np, t, j) + lat_rel(Bk, Np, t, j);
            if (tmp[j] > m) m = tmp[j];
        }
        for (j = 0; j < N; j++) sum += exp(tmp[j] - m);
        return dd_add(c, m + log(sum));
    }
}

/* node[j] = P(y_t = j | x) = exp(alpha[t][j] + beta[t][j] - log_Z), with log_Z taken as
   local_log_Z(t). */
static void node_row(const fs_lattice *F, const fs_lattice *Bk, int64_t N, int64_t Np,
                     int64_t t, double *out) {
    const double *a = ROW(F, Np, t), *b = ROW(Bk, Np, t);
    int64_t j;
    if (!F->is_log[RIX(F, t)] && !Bk->is_log[RIX(Bk, t)]) {
        /* both scaled: a, b in [2^-300, 1], so the products are normal doubles */
        double sum = 0.0;
        for (j = 0; j < N; j++) sum += out[j] = a[j] * b[j];
        sum = 1.0 / sum;
        for (j = 0; j < N; j++) out[j] *= sum;
    } else {
        double m = -INFINITY, sum = 0.0;
        for (j = 0; j < N; j++) {
            out[j] = lat_rel(F, Np, t, j) + lat_rel(Bk, Np, t, j);
            if (out[j] > m) m = out[j];
        }
        for (j = 0; j < N; j++) sum += out[j] = out[j] > -INFINITY ? exp(out[j] - m) : 0.0;
        sum = 1.0 / sum;
        for (j = 0; j < N; j++) out[j] *= sum;
    }
}

/* Pair marginals summed over t: xi_t[i][j] = exp(alpha[t-1][i] + trans[i][j] + em[t][j] +
   beta[t][j] - log_Z). Fast path: xi_t = (a[i] K_t) A[i][j] q_t[j] with
   q_t[j] = b[j] exp(em[t][j] - m_t): the rows (a K_t) and q_t are collected in X and Y and
   sum_t (a K_t)^T q_t is one product (gemm_tn), multiplied by A at the end. log_Z is
   local_log_Z(t), as for the node marginals. Steps whose rows
   are not scaled, or whose K_t is too large for the dropped underflow terms to stay
   negligible (< 2^-400 each), are added exactly from logs. X, Y: [T][Np]; P, Ps: [Np][Np];
   out: [N][N] (double). tmp: 2 Np doubles. */
static void pair_sums(const fs_model *M, fs_seq *S, const fs_lattice *Bk, double *X,
                      double *Y, double *P, double *Ps, double *out, double *tmp) {
    const fs_lattice *F = S->L;
    const double *em = S->em;
    const int64_t T = S->T;
    const int64_t N = M->N, Np = M->Np;
    int64_t t, i, j;
    int any_slow = 0;
    for (t = 1; t < T; t++) {
        const double *e = em + t * N;
        const double *a = ROW(F, Np, t - 1), *b = ROW(Bk, Np, t);
        if ((t & 63) == 0 && ctl_stopped(M->ctl)) { /* the results will be discarded */
            memset(out, 0, sizeof(double) * N * N);
            return;
        }
        const double base =
            dd_sum3(F->c[RIX(F, t - 1)], Bk->c[RIX(Bk, t)], local_log_Z(F, Bk, N, Np, t, tmp));
        double *x = X + (t - 1) * Np, *y = Y + (t - 1) * Np;
        int fast = 0;
        if (!F->is_log[RIX(F, t - 1)] && !Bk->is_log[RIX(Bk, t)] && M->scaled_ok) {
            double m;
            const double *E = exp_row(S, N, Np, t, 1, &m);
            if (m == -INFINITY) { /* no path through t */
                for (j = 0; j < Np; j++) x[j] = y[j] = 0.0;
                continue;
            }
            /* if the entries live in b sit far below m, q is tiny and K huge: slow path */
            if (base + M->gT + m <= FS_K_MAX_LOG) {
                const fs_vd K = v_set1(exp(base + M->gT + m));
                for (j = 0; j < Np; j += FS_VW) {
                    v_store(x + j, v_mul(v_load(a + j), K));
                    v_store(y + j, v_mul(v_load(E + j), v_load(b + j)));
                }
                fast = 1;
            }
        }
        if (!fast) {
            double *la = tmp, *lb = tmp + Np;
            for (j = 0; j < Np; j++) x[j] = y[j] = 0.0;
            if (!any_slow) memset(Ps, 0, sizeof(double) * N * Np);
            any_slow = 1;
            for (i = 0; i < N; i++) la[i] = base + lat_rel(F, Np, t - 1, i);
            for (j = 0; j < N; j++) lb[j] = lat_rel(Bk, Np, t, j) + e[j];
            for (i = 0; i < N; i++) {
                if (la[i] == -INFINITY) continue;
                for (j = 0; j < N; j++) {
                    const double z = la[i] + M->trans[i * N + j] + lb[j];
                    if (z > -INFINITY) Ps[i * Np + j] += exp(z);
                }
            }
        }
    }
    gemm_tn(X, Y, T > 0 ? T - 1 : 0, N, Np, P, M->ctl);
    for (i = 0; i < N; i++)
        for (j = 0; j < N; j++)
            out[i * N + j] = P[i * Np + j] * M->A[i * Np + j] + (any_slow ? Ps[i * Np + j] : 0.0);
}

#endif /* FASTSEQ_FORWARD_BACKWARD_H */
