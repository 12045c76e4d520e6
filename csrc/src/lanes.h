/*
 * Sum-product with one sequence per SIMD lane, for small N (FS_SUM_LANES_MAX_N): FS_VW sequences
 * of a group advance together and every operation of a step is one vector op over them
 * (with the states in the vector instead, a step at N = 9 leaves lanes and the per-row
 * bookkeeping idle). Rows are stored [row][state][lane].
 *
 * The rows are right-aligned: lane s holds its positions 0 .. T_s - 1 at rows
 * d_s = K - T_s .. K - 1 (K: the group's longest length), so the forward and backward rows
 * of a position meet at the same row in every lane (the marginals are vector products) and
 * the backward sweep starts everywhere at once. Before d_s a lane's forward rows are 0 and
 * its emission rows 1, which keeps them 0.
 *
 * Numerics are those of lattice.h -- every row scaled (max in [0.5, 1), rescaled by powers
 * of two, offsets double-double), every product of a step a normal double -- with the
 * scaled range taken from the model instead of the fixed bounds: a nonzero entry may go down
 * to vmin = 2^-1000 / A_min (A_min the smallest nonzero entry of A), so that each product
 * v_i A_ij stays >= 2^-1000, and an emission may sit up to 700 nats below its row's
 * maximum (exp_array is exact there) as long as its product with the row stays >= 2^-1000.
 * Rows of HMM emissions that span hundreds of nats stay scaled this way. Node and pair
 * products of two such entries can underflow; their true values are then below 2^-1000 of
 * the row's normaliser sum_j F B, which is checked to be >= 2^-100, so what is lost is
 * below 2^-900 in absolute terms. A lane that would break any of this is marked failed
 * (`fail`) and its sequence is computed again by the state-vector kernels
 * (forward_backward.h), which keep rows as exact logs where needed; so the lanes never
 * return a less exact number. A lane's arithmetic never involves another lane, so results
 * do not depend on which sequences share a group. Relies on lattice.h and fsmath.h.
 */
#ifndef FASTSEQ_LANES_H
#define FASTSEQ_LANES_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "fsmath.h"
#include "lattice.h"
#include "simd.h"

/* Models run with one sequence per SIMD lane up to these N (above them the state-vector
   kernels are faster: measured at B = 64, T = 50), while a group's scratch stays within a
   few MB per thread (8 FS_VW bytes per cell, rows = the longest length in the batch):
   Viterbi's delta rows hold rows x N cells, the sum-product lanes rows x (3 N + 6)
   (lanes_alloc). */
#define FS_VITERBI_LANES_MAX_N 16
#define FS_SUM_LANES_MAX_N 32
#define FS_VITERBI_LANES_MAX_CELLS 65536
#define FS_SUM_LANES_MAX_CELLS 131072
#define FS_K_MAX 1.0394971575336575e+180 /* 2^599: bound of a pair-marginal scale */
#define FS_W_MIN 9.332636185032189e-302      /* 2^-1000: the smallest product of a step */
#define FS_S_MIN 7.888609052210118e-31       /* 2^-100: the smallest sum_j F B of a row */
#define FS_E_LOG_MIN (-700.0)                /* emissions exp_array gives as normals */

typedef struct {
    int64_t N, K;          /* states; rows (the longest length in the group) */
    int64_t T[FS_VW];      /* lengths (0 for lanes past the batch) */
    int64_t d[FS_VW];      /* first row of each lane, K - T (ascending: longest first) */
    double *E;             /* [K][N][VW] exp(em - m); 1 before a lane's first row */
    double *m;             /* [K][VW] max_j em (0 when every entry is -inf) */
    unsigned *low;         /* [K] lanes whose emission row has an entry too small to scale */
    double *init;          /* [N][VW] start + em[0]: the first forward row, as logs */
    double *F, *Bk;        /* [K][N][VW] scaled forward and backward rows */
    double *cF, *cFlo;     /* [K][VW] forward offsets (double-double) */
    double *cB, *cBlo;     /* [K][VW] backward offsets */
    double *sc;            /* [K][VW] the forward rescale of row k, 2^-e */
    double *x;             /* [N][VW] backward scratch */
    double *P;             /* [N][N][VW] pair sums */
    double lz[FS_VW];      /* log_Z (forward) */
    int64_t dead[FS_VW];   /* first forward row that no path reaches (K: none) */
    int64_t deadb[FS_VW];  /* last backward row that no path leaves (-1: none) */
    unsigned fail;         /* lanes left to the state-vector kernels */
    double vmin, log_vmin; /* the smallest nonzero scaled entry, and (with a margin) its log */
    void *block;
} fs_lanes;

/* vmin = 2^-1000 / A_min, rounded up to a power of two (A_min >= 2^-700 when the model
   allows scaled rows: vmin <= 2^-300). */
static void lanes_set_range(fs_lanes *G, const fs_model *M) {
    double amin = 1.0;
    int64_t i, j;
    for (i = 0; i < M->N; i++)
        for (j = 0; j < M->N; j++)
            if (M->A[i * M->Np + j] > 0 && M->A[i * M->Np + j] < amin) amin = M->A[i * M->Np + j];
    G->vmin = pow2(-999 - pow2_exponent(amin));
    G->log_vmin = log(G->vmin) + 1.0;
}

/* Scratch for groups of up to K rows. */
static int lanes_alloc(fs_lanes *G, int64_t N, int64_t K) {
    const size_t big = (size_t)(K * N * FS_VW), row = (size_t)(K * FS_VW);
    const size_t n = 3 * big + 6 * row + (size_t)(N * FS_VW) * 2 + (size_t)(N * N * FS_VW);
    double *p;
    G->N = N;
    G->block = malloc(sizeof(double) * n + sizeof(unsigned) * (size_t)K);
    if (!G->block) return -1;
    p = (double *)G->block;
    G->E = p, p += big;
    G->F = p, p += big;
    G->Bk = p, p += big;
    G->m = p, p += row;
    G->cF = p, p += row;
    G->cFlo = p, p += row;
    G->cB = p, p += row;
    G->cBlo = p, p += row;
    G->sc = p, p += row;
    G->init = p, p += N * FS_VW;
    G->x = p, p += N * FS_VW;
    G->P = p, p += N * N * FS_VW;
    G->low = (unsigned *)p;
    return 0;
}

/* Lanes in rows [d_s, K) at row k, i.e. those with d_s <= k (d is ascending). */
static inline unsigned lanes_from(const fs_lanes *G, int64_t k) {
    unsigned bits = 0;
    int s;
    for (s = 0; s < FS_VW; s++)
        if (G->d[s] <= k && G->T[s] > 0) bits |= 1u << s;
    return bits;
}

/* hi + lo += b, lane-wise (dd_add of fsmath.h): an offset below -DBL_MAX (scores near
   -DBL_MAX summed) is -inf with lo = 0, not -inf + NaN */
static inline void vdd_add(fs_vd *hi, fs_vd *lo, fs_vd b) {
    const fs_vd s = v_add(*hi, b), bb = v_sub(s, *hi);
    *lo = v_blend_gt(s, v_set1(-INFINITY),
                     v_add(*lo, v_add(v_sub(*hi, v_sub(s, bb)), v_sub(b, bb))), v_set1(0.0));
    *hi = s;
}

/* x = y 2^-(e+1) for the e with max_j x in [0.5, 1); returns 2^-(e+1) and E = e + 1 per lane
   (lanes whose maximum is 0 get 1/2: their rows stay 0). */
static inline fs_vd lanes_rescale(fs_vd mx, fs_vd *E) {
    const fs_vd one = v_set1(1.0);
    fs_vd e, mant;
    mx = v_blend_gt(mx, v_set1(0.0), mx, one);
    v_frexp1(mx, e, mant);
    (void)mant;
    *E = v_add(e, one);
    return v_pow2i(v_round_magic(v_sub(v_set1(0.0), *E)));
}

/* row *= sc (N vectors, in place); returns the lanes with a live entry now below vmin. */
static inline unsigned lanes_scale(double *row, int64_t N, fs_vd sc, fs_vd vmin) {
    const fs_vd zero = v_set1(0.0);
    unsigned bad = 0;
    int64_t j;
    for (j = 0; j < N; j++) {
        const fs_vd x = v_mul(v_load(row + j * FS_VW), sc);
        v_store(row + j * FS_VW, x);
        bad |= v_gt_bits(x, zero) & v_lt_bits(x, vmin);
    }
    return bad;
}

/* After the emission rows have been gathered into E (raw scores, 0 before a lane's first
   row): their maxima m, the lanes whose rows have a finite entry more than 700 nats below
   the maximum (its exponential would not be a normal double), and E = exp(em - m) in one
   pass. */
static void lanes_exp_emissions(fs_lanes *G) {
    const int64_t N = G->N, K = G->K;
    const fs_vd ninf = v_set1(-INFINITY), zero = v_set1(0.0), lim = v_set1(FS_E_LOG_MIN);
    int64_t k, j;
    for (k = 0; k < K; k++) {
        double *e = G->E + k * N * FS_VW;
        fs_vd mx = ninf;
        unsigned low = 0;
        for (j = 0; j < N; j++) mx = v_max(mx, v_load(e + j * FS_VW));
        mx = v_blend_gt(mx, ninf, mx, zero);
        v_store(G->m + k * FS_VW, mx);
        for (j = 0; j < N; j++) {
            const fs_vd x = v_sub(v_load(e + j * FS_VW), mx);
            low |= v_lt_bits(x, lim) & v_gt_bits(x, ninf);
            v_store(e + j * FS_VW, x);
        }
        G->low[k] = low;
    }
    exp_array(G->E, G->E, K * N * FS_VW);
}

/* The forward rows of every lane, and log_Z per lane (lz). */
static void lanes_forward(const fs_model *M, fs_lanes *G) {
    const int64_t N = G->N, K = G->K, Np = M->Np;
    const fs_vd zero = v_set1(0.0), wmin = v_set1(FS_W_MIN), vmin = v_set1(G->vmin),
                gT = v_set1(M->gT), ln2hi = v_set1(FS_LN2_HI), ln2lo = v_set1(FS_LN2_LO);
    unsigned gone = 0; /* lanes no path reaches any more */
    int64_t k, i, j;
    int s;
    for (s = 0; s < FS_VW; s++) G->dead[s] = K;
    for (k = 0; k < K; k++) {
        double *Fk = G->F + k * N * FS_VW;
        const double *Ek = G->E + k * N * FS_VW;
        if ((k & 63) == 0 && ctl_stopped(M->ctl)) return; /* the results will be discarded */
        if (k == 0) { /* lanes that start later hold 0 until then */
            for (j = 0; j < N * FS_VW; j++) Fk[j] = 0.0;
            for (s = 0; s < FS_VW; s++) G->cF[s] = G->cFlo[s] = 0.0, G->sc[s] = 1.0;
        } else {
            const double *Fp = Fk - N * FS_VW;
            const unsigned cont = lanes_from(G, k - 1) & ~G->fail & ~gone;
            unsigned slow = G->low[k], bad = 0, dead;
            fs_vd mx = zero, sc, E, hi, lo;
            /* four columns at a time: independent accumulation chains (columns past N
               repeat the last one, unstored) */
            for (j = 0; j < N; j += 4) {
                const int64_t j1 = j + 1 < N ? j + 1 : N - 1, j2 = j + 2 < N ? j + 2 : N - 1,
                              j3 = j + 3 < N ? j + 3 : N - 1;
                fs_vd a0 = zero, a1 = zero, a2 = zero, a3 = zero;
                for (i = 0; i < N; i++) {
                    const fs_vd f = v_load(Fp + i * FS_VW);
                    const double *A = M->A + i * Np;
                    a0 = v_fma(f, v_set1(A[j]), a0);
                    a1 = v_fma(f, v_set1(A[j1]), a1);
                    a2 = v_fma(f, v_set1(A[j2]), a2);
                    a3 = v_fma(f, v_set1(A[j3]), a3);
                }
                {
                    const fs_vd e0 = v_load(Ek + j * FS_VW), e1 = v_load(Ek + j1 * FS_VW),
                                e2 = v_load(Ek + j2 * FS_VW), e3 = v_load(Ek + j3 * FS_VW);
                    const fs_vd w0 = v_mul(a0, e0), w1 = v_mul(a1, e1), w2 = v_mul(a2, e2),
                                w3 = v_mul(a3, e3);
                    /* a live product below 2^-1000 may have lost bits to underflow */
                    slow |= (v_gt_bits(a0, zero) & v_gt_bits(e0, zero) & v_lt_bits(w0, wmin)) |
                            (v_gt_bits(a1, zero) & v_gt_bits(e1, zero) & v_lt_bits(w1, wmin)) |
                            (v_gt_bits(a2, zero) & v_gt_bits(e2, zero) & v_lt_bits(w2, wmin)) |
                            (v_gt_bits(a3, zero) & v_gt_bits(e3, zero) & v_lt_bits(w3, wmin));
                    a0 = w0, a1 = w1, a2 = w2, a3 = w3;
                }
                mx = v_max(v_max(mx, a0), v_max(a1, v_max(a2, a3)));
                v_store(Fk + j * FS_VW, a0);
                if (j + 1 < N) v_store(Fk + j1 * FS_VW, a1);
                if (j + 2 < N) v_store(Fk + j2 * FS_VW, a2);
                if (j + 3 < N) v_store(Fk + j3 * FS_VW, a3);
            }
            dead = v_eq_bits(mx, zero);
            sc = lanes_rescale(mx, &E);
            bad |= lanes_scale(Fk, N, sc, vmin);
            v_store(G->sc + k * FS_VW, sc);
            /* c[k] = c[k-1] + gT + m_k + E ln 2, in the order of row_finish */
            hi = v_load(G->cF + (k - 1) * FS_VW);
            lo = v_load(G->cFlo + (k - 1) * FS_VW);
            vdd_add(&hi, &lo, gT);
            vdd_add(&hi, &lo, v_load(G->m + k * FS_VW));
            vdd_add(&hi, &lo, v_mul(E, ln2hi));
            lo = v_fma(E, ln2lo, lo);
            v_store(G->cF + k * FS_VW, hi);
            v_store(G->cFlo + k * FS_VW, lo);
            G->fail |= (slow | bad) & cont;
            dead &= cont & ~G->fail;
            gone |= dead;
            while (dead) {
                s = lowest_bit(dead);
                dead &= dead - 1;
                G->dead[s] = k;
            }
        }
        /* lanes starting here: their first row, as row_from_logs makes it */
        for (s = 0; s < FS_VW; s++) {
            double mx = -INFINITY;
            if (G->d[s] != k || G->T[s] == 0) continue;
            for (j = 0; j < N; j++)
                if (G->init[j * FS_VW + s] > mx) mx = G->init[j * FS_VW + s];
            G->cF[k * FS_VW + s] = mx == -INFINITY ? 0.0 : mx;
            G->cFlo[k * FS_VW + s] = 0.0;
            G->sc[k * FS_VW + s] = 1.0;
            for (j = 0; j < N; j++) {
                const double x = G->init[j * FS_VW + s] - mx;
                if (x > -INFINITY && x < G->log_vmin) G->fail |= 1u << s;
                Fk[j * FS_VW + s] = mx == -INFINITY ? 0.0 : exp(x);
            }
            if (mx == -INFINITY) {
                G->dead[s] = k;
                gone |= 1u << s;
            }
        }
    }
    for (s = 0; s < FS_VW; s++) {
        const double *last = G->F + (K - 1) * N * FS_VW + s;
        double mx = -INFINITY, acc = 0.0, tmp[FS_SUM_LANES_MAX_N];
        fs_dd c;
        G->lz[s] = 0.0;
        if (G->T[s] == 0 || (G->fail >> s & 1)) continue;
        G->lz[s] = -INFINITY;
        if (G->dead[s] < K) continue;
        for (j = 0; j < N; j++) {
            tmp[j] = (last[j * FS_VW] > 0 ? log(last[j * FS_VW]) : -INFINITY) + M->end[j];
            if (tmp[j] > mx) mx = tmp[j];
        }
        if (mx == -INFINITY) continue;
        for (j = 0; j < N; j++) acc += exp(tmp[j] - mx);
        c.hi = G->cF[(K - 1) * FS_VW + s];
        c.lo = G->cFlo[(K - 1) * FS_VW + s];
        c = dd_add(c, mx + log(acc));
        G->lz[s] = c.hi + c.lo;
    }
}

/* Whether the end scores can start a scaled backward row (else the state-vector kernels run
   the batch): some finite, none too far below the largest. */
static int lanes_end_ok(const fs_model *M) {
    double mx = -INFINITY;
    int64_t j;
    for (j = 0; j < M->N; j++)
        if (M->end[j] > mx) mx = M->end[j];
    if (mx == -INFINITY) return 0;
    for (j = 0; j < M->N; j++)
        if (M->end[j] > -INFINITY && M->end[j] - mx < FS_LOG_TINY) return 0;
    return 1;
}

/* The backward rows of the lanes in `want` (lanes_end_ok must hold). */
static void lanes_backward(const fs_model *M, fs_lanes *G, unsigned want) {
    const int64_t N = G->N, K = G->K, Np = M->Np;
    const fs_vd zero = v_set1(0.0), wmin = v_set1(FS_W_MIN), vmin = v_set1(G->vmin),
                gT = v_set1(M->gT), ln2hi = v_set1(FS_LN2_HI), ln2lo = v_set1(FS_LN2_LO);
    double *x = G->x, mx = -INFINITY;
    int64_t k, i, j;
    int s;
    for (j = 0; j < N; j++)
        if (M->end[j] > mx) mx = M->end[j];
    for (s = 0; s < FS_VW; s++) {
        G->deadb[s] = -1;
        G->cB[(K - 1) * FS_VW + s] = mx;
        G->cBlo[(K - 1) * FS_VW + s] = 0.0;
        for (j = 0; j < N; j++) G->Bk[((K - 1) * N + j) * FS_VW + s] = exp(M->end[j] - mx);
    }
    for (k = K - 1; k > 0; k--) {
        const double *Bn = G->Bk + k * N * FS_VW, *Ek = G->E + k * N * FS_VW;
        double *Bc = G->Bk + (k - 1) * N * FS_VW;
        const unsigned need = lanes_from(G, k - 1) & want & ~G->fail;
        unsigned slow = G->low[k], bad = 0, dead;
        fs_vd m1 = zero, m2 = zero, sc, E, hi, lo;
        if (!need) break; /* the lanes still running are not wanted */
        if (((K - 1 - k) & 63) == 63 && ctl_stopped(M->ctl)) return;
        /* x = beta[k] * E[k], rescaled (row_finish with the emission row) */
        for (j = 0; j < N; j++) {
            const fs_vd b = v_load(Bn + j * FS_VW), e = v_load(Ek + j * FS_VW), w = v_mul(b, e);
            slow |= v_gt_bits(b, zero) & v_gt_bits(e, zero) & v_lt_bits(w, wmin);
            v_store(x + j * FS_VW, w);
            m1 = v_max(m1, w);
        }
        dead = v_eq_bits(m1, zero);
        sc = lanes_rescale(m1, &E);
        bad |= lanes_scale(x, N, sc, vmin);
        hi = v_load(G->cB + k * FS_VW);
        lo = v_load(G->cBlo + k * FS_VW);
        vdd_add(&hi, &lo, v_load(G->m + k * FS_VW));
        vdd_add(&hi, &lo, v_mul(E, ln2hi));
        lo = v_fma(E, ln2lo, lo);
        /* beta[k-1][i] = sum_j A[i][j] x[j], four rows at a time */
        for (i = 0; i < N; i += 4) {
            const int64_t i1 = i + 1 < N ? i + 1 : N - 1, i2 = i + 2 < N ? i + 2 : N - 1,
                          i3 = i + 3 < N ? i + 3 : N - 1;
            const double *A0 = M->A + i * Np, *A1 = M->A + i1 * Np, *A2 = M->A + i2 * Np,
                         *A3 = M->A + i3 * Np;
            fs_vd a0 = zero, a1 = zero, a2 = zero, a3 = zero;
            for (j = 0; j < N; j++) {
                const fs_vd xj = v_load(x + j * FS_VW);
                a0 = v_fma(xj, v_set1(A0[j]), a0);
                a1 = v_fma(xj, v_set1(A1[j]), a1);
                a2 = v_fma(xj, v_set1(A2[j]), a2);
                a3 = v_fma(xj, v_set1(A3[j]), a3);
            }
            slow |= (v_gt_bits(a0, zero) & v_lt_bits(a0, wmin)) |
                    (v_gt_bits(a1, zero) & v_lt_bits(a1, wmin)) |
                    (v_gt_bits(a2, zero) & v_lt_bits(a2, wmin)) |
                    (v_gt_bits(a3, zero) & v_lt_bits(a3, wmin));
            m2 = v_max(v_max(m2, a0), v_max(a1, v_max(a2, a3)));
            v_store(Bc + i * FS_VW, a0);
            if (i + 1 < N) v_store(Bc + i1 * FS_VW, a1);
            if (i + 2 < N) v_store(Bc + i2 * FS_VW, a2);
            if (i + 3 < N) v_store(Bc + i3 * FS_VW, a3);
        }
        dead |= v_eq_bits(m2, zero);
        sc = lanes_rescale(m2, &E);
        bad |= lanes_scale(Bc, N, sc, vmin);
        vdd_add(&hi, &lo, gT);
        vdd_add(&hi, &lo, v_mul(E, ln2hi));
        lo = v_fma(E, ln2lo, lo);
        v_store(G->cB + (k - 1) * FS_VW, hi);
        v_store(G->cBlo + (k - 1) * FS_VW, lo);
        G->fail |= (slow | bad) & need;
        dead &= need & ~G->fail;
        while (dead) {
            s = lowest_bit(dead);
            dead &= dead - 1;
            if (G->deadb[s] < 0) G->deadb[s] = k - 1;
        }
    }
}

/* Fails the lanes of `want` in which some row's sum_j F B is below 2^-100 (the node and
   pair products that underflow would then matter). */
static void lanes_check_sums(fs_lanes *G, unsigned want) {
    const int64_t N = G->N, K = G->K;
    const fs_vd smin = v_set1(FS_S_MIN);
    int64_t k, j;
    for (k = 0; k < K; k++) {
        const double *a = G->F + k * N * FS_VW, *b = G->Bk + k * N * FS_VW;
        const unsigned live = lanes_from(G, k) & want & ~G->fail;
        fs_vd sum = v_set1(0.0);
        if (!live) continue;
        for (j = 0; j < N; j++) sum = v_fma(v_load(a + j * FS_VW), v_load(b + j * FS_VW), sum);
        G->fail |= v_lt_bits(sum, smin) & live;
    }
}

/* node[j] = F[k][j] B[k][j] / sum_j F[k][j] B[k][j], every lane (node_row's arithmetic). */
static void lanes_node(const fs_lanes *G, int64_t k, double *node) {
    const int64_t N = G->N;
    const double *a = G->F + k * N * FS_VW, *b = G->Bk + k * N * FS_VW;
    fs_vd sum = v_set1(0.0), inv;
    int64_t j;
    for (j = 0; j < N; j++) {
        const fs_vd p = v_mul(v_load(a + j * FS_VW), v_load(b + j * FS_VW));
        v_store(node + j * FS_VW, p);
        sum = v_add(sum, p);
    }
    inv = v_div(v_set1(1.0), sum);
    for (j = 0; j < N; j++) v_store(node + j * FS_VW, v_mul(v_load(node + j * FS_VW), inv));
}

/* P[ib..ib+3][jb..jb+2] = sum over k >= 1 of (F[k-1][i] K_k) Y[k][j] (Y = G->E, K_k = G->sc),
   twelve sums in registers over all rows; rows and columns past N repeat the last one and
   are not stored. */
static FS_ALWAYS_INLINE void lanes_pair_block(const fs_lanes *G, int64_t ib, int64_t jb) {
    const int64_t N = G->N, K = G->K;
    int64_t ii[4], jj[3], k;
    fs_vd acc[4][3];
    int r, c;
    for (r = 0; r < 4; r++) ii[r] = ib + r < N ? ib + r : N - 1;
    for (c = 0; c < 3; c++) jj[c] = jb + c < N ? jb + c : N - 1;
    for (r = 0; r < 4; r++)
        for (c = 0; c < 3; c++) acc[r][c] = v_set1(0.0);
    for (k = 1; k < K; k++) {
        const double *a = G->F + (k - 1) * N * FS_VW, *y = G->E + k * N * FS_VW;
        const fs_vd kk = v_load(G->sc + k * FS_VW);
        fs_vd ai[4], yj[3];
        for (r = 0; r < 4; r++) ai[r] = v_mul(v_load(a + ii[r] * FS_VW), kk);
        for (c = 0; c < 3; c++) yj[c] = v_load(y + jj[c] * FS_VW);
        for (r = 0; r < 4; r++)
            for (c = 0; c < 3; c++) acc[r][c] = v_fma(ai[r], yj[c], acc[r][c]);
    }
    for (r = 0; r < 4 && ib + r < N; r++)
        for (c = 0; c < 3 && jb + c < N; c++)
            v_store(G->P + (ii[r] * N + jj[c]) * FS_VW, acc[r][c]);
}

/* P[i][j] = sum_k xi_k[i][j] / A[i][j] for the lanes in `want`, with
   xi_k[i][j] = F[k-1][i] A[i][j] E[k][j] B[k][j] 2^-e_k / sum_j F[k][j] B[k][j] (the forward
   step's rescale 2^-e_k carries exp(c[k-1] + gT + m_k - c[k]), and the sum normalises
   by row k's own offsets, as pair_sums does). A lane whose scale exceeds 2^599 fails.
   First every row's factors, in place: K_k = 2^-e_k / sum (in sc; 0 for rows no wanted lane
   is in) and Y[k][j] = E[k][j] B[k][j] (in E, no longer needed); then the sums over k
   block by block, in registers (a rank-one update of P per row was bound by P's loads and
   stores). */
static void lanes_pairs(const fs_model *M, fs_lanes *G, unsigned want) {
    const int64_t N = G->N, K = G->K;
    const fs_vd zero = v_set1(0.0), kmax = v_set1(FS_K_MAX);
    int64_t k, i, j;
    for (k = 1; k < K; k++) {
        const double *f = G->F + k * N * FS_VW, *b = G->Bk + k * N * FS_VW;
        double *e = G->E + k * N * FS_VW;
        const unsigned live = lanes_from(G, k - 1) & want & ~G->fail;
        fs_vd sum = zero, Kk;
        if (!live) {
            v_store(G->sc + k * FS_VW, zero);
            continue;
        }
        for (j = 0; j < N; j++) {
            const fs_vd bj = v_load(b + j * FS_VW);
            sum = v_fma(v_load(f + j * FS_VW), bj, sum);
            v_store(e + j * FS_VW, v_mul(v_load(e + j * FS_VW), bj));
        }
        /* lanes not started yet have sum 0 and a zero row: scale 0, not inf */
        Kk = v_blend_gt(sum, zero, v_div(v_load(G->sc + k * FS_VW), sum), zero);
        G->fail |= v_gt_bits(Kk, kmax) & live;
        v_store(G->sc + k * FS_VW, Kk);
    }
    if (ctl_stopped(M->ctl)) return;
    for (i = 0; i < N; i += 4)
        for (j = 0; j < N; j += 3) lanes_pair_block(G, i, j);
}

#endif /* FASTSEQ_LANES_H */
