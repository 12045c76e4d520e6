/*
 * The sparse-transition sweeps over one group of SP_W sequences, one sequence per lane:
 * included twice by sparse_trans.h, with SP_W = FS_VW (a lane per vector entry) and with
 * SP_W = 1 (one sequence, plain doubles: a long sequence alone would waste the other lanes'
 * memory). A row of a group is [N][SP_W]: state j of lane s at j * SP_W + s.
 *
 * Rows are kept as logs: a step is, for each state, a log-sum-exp (or max) over its
 * incoming moves, computed as a sum of products where that is exact (lse_moves). Rows are kept relative to their
 * lane's maximum, the offsets summed as double-doubles (fs_dd), as the dense kernels do.
 * The lanes of a group share the moves' loads; a lane whose sequence has ended computes on
 * zero emissions and its results are not read.
 *
 * Expects SP_W, SP(name), SP_VEC and the SP_* operations below to be defined.
 */

/* x[j][s] = the emissions of lane s at position t, as doubles; 0 past its end. */
static void SP(load_row)(const fs_sparse_call *c, const sp_group *g, int64_t N, int64_t t,
                         double *x) {
    int64_t j;
    int s;
    for (s = 0; s < SP_W; s++) {
        if (t < g->T[s]) {
            const int64_t base = (g->off[s] + t) * N;
            if (c->f32) {
                const float *e = (const float *)c->em + base;
                for (j = 0; j < N; j++) x[j * SP_W + s] = (double)e[j];
            } else {
                const double *e = (const double *)c->em + base;
                for (j = 0; j < N; j++) x[j * SP_W + s] = e[j];
            }
        } else {
            for (j = 0; j < N; j++) x[j * SP_W + s] = 0.0;
        }
    }
}

/* out[r] = log sum_p exp(src[idx[p]] + la[p]) over ptr[r] <= p < ptr[r + 1], r < n, every
   lane (src has n rows too). Fast form: with S = exp(src - ms) (ms: the lane's maximum; n
   exps) and the model's e[p] = exp(la[p] - lmax[r]), out[r] = ms + lmax[r] + log sum_p S e,
   a multiply-add a move instead of an exp. Where that sum is >= 2^-800 it is exact to
   rounding: a term it drops (S or e flushed to 0 below e^-700, or their product below
   2^-1022) is under 2^-1000, so all of them together stay below 2^-160 of the sum. Where a
   lane's sum is smaller (every move far below the lane's maximum, or none allowed), the
   row goes through the exact form: the maximum first, then the sum of exps below it.
   tmp: [n][SP_W]; S: [n][SP_W] scratch. */
static void SP(lse_moves)(const int64_t *ptr, const int32_t *idx, const double *la,
                          const double *e, const double *lmax, const double *src, double *out,
                          double *tmp, double *S, int64_t n) {
    const SP_VEC ninf = SP_SET1(-INFINITY), zero = SP_SET1(0.0),
                 small = SP_SET1(0x1p-800);
    SP_VEC ms = ninf;
    int64_t r, p;
    for (r = 0; r < n; r++) ms = SP_MAX(ms, SP_LOAD(src + r * SP_W));
    ms = SP_BLEND_GT(ms, ninf, ms, zero);
    for (r = 0; r < n; r++) SP_STORE(S + r * SP_W, SP_EXP(SP_SUB(SP_LOAD(src + r * SP_W), ms)));
    for (r = 0; r < n; r++) {
        const int64_t p0 = ptr[r], p1 = ptr[r + 1];
        SP_VEC mx = ninf, m, sum = zero;
        if (lmax[r] > -INFINITY) {
            /* four independent chains */
            SP_VEC s1 = zero, s2 = zero, s3 = zero;
            for (p = p0; p + 3 < p1; p += 4) {
                sum = SP_FMA(SP_LOAD(S + (int64_t)idx[p] * SP_W), SP_SET1(e[p]), sum);
                s1 = SP_FMA(SP_LOAD(S + (int64_t)idx[p + 1] * SP_W), SP_SET1(e[p + 1]), s1);
                s2 = SP_FMA(SP_LOAD(S + (int64_t)idx[p + 2] * SP_W), SP_SET1(e[p + 2]), s2);
                s3 = SP_FMA(SP_LOAD(S + (int64_t)idx[p + 3] * SP_W), SP_SET1(e[p + 3]), s3);
            }
            for (; p < p1; p++)
                sum = SP_FMA(SP_LOAD(S + (int64_t)idx[p] * SP_W), SP_SET1(e[p]), sum);
            sum = SP_ADD(SP_ADD(sum, s1), SP_ADD(s2, s3));
            if (!SP_LT_BITS(sum, small)) {
                SP_STORE(out + r * SP_W, SP_ADD(ms, SP_SET1(lmax[r])));
                SP_STORE(tmp + r * SP_W, sum);
                continue;
            }
            sum = zero;
        }
        for (p = p0; p < p1; p++)
            mx = SP_MAX(mx, SP_ADD(SP_LOAD(src + (int64_t)idx[p] * SP_W), SP_SET1(la[p])));
        m = SP_BLEND_GT(mx, ninf, mx, zero); /* no move in: 0 + log 0 = -inf */
        if (SP_GT_BITS(mx, ninf)) /* else no lane is reached: -inf, no exps */
            for (p = p0; p < p1; p++)
                sum = SP_ADD(sum, SP_EXP(SP_SUB(
                    SP_ADD(SP_LOAD(src + (int64_t)idx[p] * SP_W), SP_SET1(la[p])), m)));
        SP_STORE(out + r * SP_W, m);
        SP_STORE(tmp + r * SP_W, sum);
    }
    SP_LOG_ARRAY(tmp, tmp, n * SP_W);
    for (r = 0; r < n * SP_W; r += SP_VW) SP_STORE(out + r, SP_ADD(SP_LOAD(out + r), SP_LOAD(tmp + r)));
}

/* Subtracts each lane's maximum over the row (0 for a lane whose row is all -inf) and adds it
   to the lane's offset c[s]; the maxima go to shift[s] when shift is not NULL. */
static void SP(row_relative)(double *row, int64_t N, fs_dd *c, double *shift) {
    double m[SP_W];
    SP_VEC mv = SP_SET1(-INFINITY);
    int64_t j;
    int s;
    for (j = 0; j < N; j++) mv = SP_MAX(mv, SP_LOAD(row + j * SP_W));
    SP_STORE(m, mv);
    for (s = 0; s < SP_W; s++) {
        if (m[s] == -INFINITY) m[s] = 0.0;
        c[s] = dd_add(c[s], m[s]);
        if (shift) shift[s] = m[s];
    }
    mv = SP_LOAD(m);
    for (j = 0; j < N; j++) SP_STORE(row + j * SP_W, SP_SUB(SP_LOAD(row + j * SP_W), mv));
}

/* log sum_j exp(row[j][s] + add[j]) for lane s (add may be NULL), exactly. */
static double SP(lane_lse)(const double *row, const double *add, int64_t N, int s) {
    double m = -INFINITY, sum = 0.0;
    int64_t j;
    for (j = 0; j < N; j++) {
        const double v = row[j * SP_W + s] + (add ? add[j] : 0.0);
        if (v > m) m = v;
    }
    if (m == -INFINITY) return -INFINITY;
    for (j = 0; j < N; j++) sum += exp(row[j * SP_W + s] + (add ? add[j] : 0.0) - m);
    return m + log(sum);
}

/* Writes row[j][s] (plus off[s] when off is not NULL) of the lanes in `lanes` (a bit per
   lane) to their rows of the call's row output at position t. */
static void SP(lanes_write)(const fs_sparse_call *c, const sp_group *g, int64_t N, int64_t t,
                            const double *row, const fs_dd *off, unsigned lanes) {
    int64_t j;
    int s;
    for (s = 0; s < SP_W; s++) {
        const int64_t base = (g->off[s] + t) * N;
        const fs_dd o = off ? off[s] : fs_dd_zero;
        if (!(lanes >> s & 1)) continue;
        for (j = 0; j < N; j++) {
            const double v = o.hi + (o.lo + row[j * SP_W + s]);
            if (c->f32) ((float *)c->rows)[base + j] = (float)v;
            else ((double *)c->rows)[base + j] = v;
        }
    }
}

/* lz[s] = log sum_j exp(row[j][s]) for every lane (-inf for a row of -inf). */
static void SP(lanes_lse)(const double *row, int64_t N, double *lz) {
    const SP_VEC ninf = SP_SET1(-INFINITY), zero = SP_SET1(0.0);
    SP_VEC mv = ninf, ms, sum = zero;
    double m[SP_W], tot[SP_W];
    int64_t j;
    int s;
    for (j = 0; j < N; j++) mv = SP_MAX(mv, SP_LOAD(row + j * SP_W));
    ms = SP_BLEND_GT(mv, ninf, mv, zero);
    for (j = 0; j < N; j++) sum = SP_ADD(sum, SP_EXP(SP_SUB(SP_LOAD(row + j * SP_W), ms)));
    SP_STORE(m, ms);
    SP_STORE(tot, sum);
    for (s = 0; s < SP_W; s++) lz[s] = tot[s] > 0 ? m[s] + log(tot[s]) : -INFINITY;
}

/* The lanes (bits) whose sequence has position t. */
static unsigned SP(lanes_at)(const sp_group *g, int64_t t) {
    unsigned bits = 0;
    int s;
    for (s = 0; s < SP_W; s++)
        if (t < g->T[s]) bits |= 1u << s;
    return bits;
}

/* Forward: rows R (all K when `keep`, with each row's shifts; else two rolling rows), log_Z
   of each lane at its last position, log_alpha rows when the call wants them. */
static void SP(forward)(const sp_model *M, const fs_sparse_call *c, const sp_group *g,
                        sp_scratch *w, int keep, double *log_Z) {
    const int64_t N = M->N, K = g->K, NW = N * SP_W;
    const int out = c->op == FS_SP_FORWARD && c->rows != NULL;
    fs_dd cF[SP_W];
    int64_t t, j;
    int s;
    for (s = 0; s < SP_W; s++) {
        cF[s] = fs_dd_zero;
        log_Z[s] = 0.0; /* an empty sequence */
    }
    for (t = 0; t < K; t++) {
        double *row = w->R + (keep ? t : (t & 1)) * NW;
        if ((t & 63) == 63 && ctl_stopped(M->ctl)) return;
        SP(load_row)(c, g, N, t, w->x);
        if (t == 0) {
            for (j = 0; j < N; j++)
                SP_STORE(row + j * SP_W, SP_ADD(SP_SET1(M->start[j]), SP_LOAD(w->x + j * SP_W)));
        } else {
            const double *prev = w->R + (keep ? t - 1 : ((t - 1) & 1)) * NW;
            SP(lse_moves)(M->in_ptr, M->in_src, M->in_la, M->in_e, M->in_lmax, prev, row, w->tmp,
                          w->S, N);
            for (j = 0; j < NW; j += SP_VW)
                SP_STORE(row + j, SP_ADD(SP_LOAD(row + j), SP_LOAD(w->x + j)));
        }
        SP(row_relative)(row, N, cF, keep ? w->shift + t * SP_W : NULL);
        if (out) SP(lanes_write)(c, g, N, t, row, cF, SP(lanes_at)(g, t));
        for (s = 0; s < SP_W; s++)
            if (t == g->T[s] - 1) {
                const fs_dd z = dd_add(cF[s], SP(lane_lse)(row, M->end, N, s));
                log_Z[s] = z.hi + z.lo;
            }
    }
}

/* Backward: log_beta rows (op FS_SP_BACKWARD), or, after a kept forward (R, shift, log_Z),
   the node marginals and the pair sums P[nnz][SP_W]. */
static void SP(backward)(const sp_model *M, const fs_sparse_call *c, const sp_group *g,
                         sp_scratch *w, const double *log_Z) {
    const int64_t N = M->N, K = g->K, NW = N * SP_W;
    const int marg = c->op == FS_SP_MARGINALS, pair = marg && c->pair != NULL;
    double end_max = -INFINITY, lz[SP_W], poff[SP_W] = {0};
    fs_dd cB[SP_W];
    int64_t t, j, p;
    int s;
    for (j = 0; j < N; j++)
        if (M->end[j] > end_max) end_max = M->end[j];
    if (end_max == -INFINITY) end_max = 0.0;
    for (s = 0; s < SP_W; s++) cB[s] = fs_dd_zero;
    memset(w->RB, 0, sizeof(double) * 2 * NW);
    if (pair) memset(w->P, 0, sizeof(double) * M->nnz * SP_W);
    for (t = K - 1; t >= 0; t--) {
        double *rb = w->RB + (t & 1) * NW;
        const unsigned lanes = SP(lanes_at)(g, t);
        if ((t & 63) == 0 && ctl_stopped(M->ctl)) return;
        for (s = 0; s < SP_W; s++)
            if (t == g->T[s] - 1) { /* this lane's last position: beta = end */
                for (j = 0; j < N; j++) rb[j * SP_W + s] = M->end[j] - end_max;
                cB[s].hi = end_max;
                cB[s].lo = 0.0;
            }
        if (!marg) {
            SP(lanes_write)(c, g, N, t, rb, cB, lanes);
        } else {
            /* node marginals at t, normalised by their own sum (lz), as the dense kernels */
            const double *rf = w->R + t * NW;
            for (j = 0; j < NW; j += SP_VW)
                SP_STORE(w->q + j, SP_ADD(SP_LOAD(rf + j), SP_LOAD(rb + j)));
            SP(lanes_lse)(w->q, N, lz);
            for (s = 0; s < SP_W; s++) {
                if (!(lanes >> s & 1) || log_Z[s] == -INFINITY) lz[s] = INFINITY; /* no node */
                poff[s] = lz[s] < INFINITY && t > 0 ? -(lz[s] + w->shift[t * SP_W + s])
                                                    : -INFINITY;
            }
            if (c->rows) {
                const SP_VEC lzv = SP_LOAD(lz);
                for (j = 0; j < NW; j += SP_VW)
                    SP_STORE(w->tmp + j, SP_EXP(SP_SUB(SP_LOAD(w->q + j), lzv)));
                SP(lanes_write)(c, g, N, t, w->tmp, NULL, lanes);
            }
        }
        if (t == 0) break;
        /* q = emissions + beta at t; beta at t - 1 over the moves out of each state */
        SP(load_row)(c, g, N, t, w->x);
        for (j = 0; j < NW; j += SP_VW)
            SP_STORE(w->q + j, SP_ADD(SP_LOAD(w->x + j), SP_LOAD(rb + j)));
        if (pair) {
            /* P[p] += P(y_(t-1) = i, y_t = j) = exp(x), x = a_i + la[p] + q[j] for the move
               p: i -> j, a_i the forward row at t - 1 normalised with the forward shift at t
               (its pre-emission sums are lse over these moves). Fast form, as lse_moves:
               exp(x) = (exp(c_i) e[p]) Q[j] with Q = exp(q - qm) (qm: the lane's maximum)
               and c_i = a_i + lmax_i + qm >= x; where c_i <= 700 in every lane no factor
               overflows, and what underflows is below 2^-1000 in absolute terms. Where c_i
               < -700 every exp(x) is 0 in both forms; elsewhere the exps are made one by
               one. */
            const double *rf = w->R + (t - 1) * NW;
            const SP_VEC po = SP_LOAD(poff), big = SP_SET1(700.0), small = SP_SET1(-700.0);
            SP_VEC qm = SP_SET1(-INFINITY);
            for (j = 0; j < NW; j += SP_VW) qm = SP_MAX(qm, SP_LOAD(w->q + j));
            qm = SP_BLEND_GT(qm, SP_SET1(-INFINITY), qm, SP_SET1(0.0));
            for (j = 0; j < N; j++)
                SP_STORE(w->S + j * SP_W, SP_EXP(SP_SUB(SP_LOAD(w->q + j * SP_W), qm)));
            for (j = 0; j < N; j++) {
                const SP_VEC a = SP_ADD(SP_LOAD(rf + j * SP_W), po);
                const SP_VEC ci = SP_ADD(SP_ADD(a, SP_SET1(M->out_lmax[j])), qm);
                if (M->out_lmax[j] == -INFINITY || !SP_GT_BITS(ci, small)) continue;
                if (!SP_GT_BITS(ci, big)) {
                    const SP_VEC f = SP_EXP(ci);
                    for (p = M->out_ptr[j]; p < M->out_ptr[j + 1]; p++)
                        SP_STORE(w->P + p * SP_W,
                                 SP_FMA(SP_MUL(f, SP_SET1(M->out_e[p])),
                                        SP_LOAD(w->S + (int64_t)M->out_dst[p] * SP_W),
                                        SP_LOAD(w->P + p * SP_W)));
                    continue;
                }
                for (p = M->out_ptr[j]; p < M->out_ptr[j + 1]; p++) {
                    const SP_VEC x = SP_ADD(SP_ADD(SP_SET1(M->out_la[p]),
                                                   SP_LOAD(w->q + (int64_t)M->out_dst[p] * SP_W)), a);
                    SP_STORE(w->P + p * SP_W, SP_ADD(SP_LOAD(w->P + p * SP_W), SP_EXP(x)));
                }
            }
        }
        rb = w->RB + ((t - 1) & 1) * NW;
        SP(lse_moves)(M->out_ptr, M->out_dst, M->out_la, M->out_e, M->out_lmax, w->q, rb, w->tmp,
                      w->S, N);
        SP(row_relative)(rb, N, cB, NULL);
    }
}

/* Viterbi: the max-plus rows D (all K), then each lane's best path, its back-pointers
   recovered as the first incoming move reaching the stored maximum (the same additions, so
   the same path and score as the dense kernel, ties to the lowest state). */
static void SP(viterbi)(const sp_model *M, const fs_sparse_call *c, const sp_group *g,
                        sp_scratch *w) {
    const int64_t N = M->N, K = g->K, NW = N * SP_W;
    const SP_VEC ninf = SP_SET1(-INFINITY);
    int64_t t, j, p;
    int s;
    for (t = 0; t < K; t++) {
        double *row = w->R + t * NW;
        if ((t & 63) == 63 && ctl_stopped(M->ctl)) return;
        SP(load_row)(c, g, N, t, w->x);
        if (t == 0) {
            for (j = 0; j < N; j++)
                SP_STORE(row + j * SP_W, SP_ADD(SP_SET1(M->start[j]), SP_LOAD(w->x + j * SP_W)));
            continue;
        }
        for (j = 0; j < N; j++) {
            const double *prev = row - NW;
            SP_VEC mx = ninf;
            for (p = M->in_ptr[j]; p < M->in_ptr[j + 1]; p++)
                mx = SP_MAX(mx, SP_ADD(SP_LOAD(prev + (int64_t)M->in_src[p] * SP_W),
                                       SP_SET1(M->in_la[p])));
            SP_STORE(row + j * SP_W, SP_ADD(mx, SP_LOAD(w->x + j * SP_W)));
        }
    }
    for (s = 0; s < SP_W; s++) {
        const int64_t T = g->T[s];
        int64_t *path = c->paths + g->off[s], best_j = -1;
        double best = -INFINITY;
        if (g->idx[s] < 0) continue;
        if (T == 0) {
            c->scores[g->idx[s]] = 0.0;
            continue;
        }
        for (j = 0; j < N; j++) {
            const double v = w->R[(T - 1) * NW + j * SP_W + s] + M->end[j];
            if (v > best) {
                best = v;
                best_j = j;
            }
        }
        c->scores[g->idx[s]] = best;
        if (best_j < 0) {
            for (t = 0; t < T; t++) path[t] = -1;
            continue;
        }
        path[T - 1] = best_j;
        for (t = T - 1; t > 0; t--) {
            const double *prev = w->R + (t - 1) * NW;
            const int64_t to = path[t];
            double mx = -INFINITY;
            int64_t from = -1;
            for (p = M->in_ptr[to]; p < M->in_ptr[to + 1]; p++) {
                const double v = prev[(int64_t)M->in_src[p] * SP_W + s] + M->in_la[p];
                if (v > mx) {
                    mx = v;
                    from = M->in_src[p];
                }
            }
            path[t - 1] = from;
        }
    }
}

/* One group's work for the call. */
static void SP(run_group)(const sp_model *M, const fs_sparse_call *c, const sp_group *g,
                          sp_scratch *w) {
    double log_Z[SP_W];
    int64_t p;
    int s;
    switch (c->op) {
        case FS_SP_FORWARD:
            SP(forward)(M, c, g, w, 0, log_Z);
            break;
        case FS_SP_BACKWARD:
            SP(backward)(M, c, g, w, NULL);
            return;
        case FS_SP_MARGINALS:
            SP(forward)(M, c, g, w, 1, log_Z);
            if (ctl_load(&M->ctl->stop)) return;
            SP(backward)(M, c, g, w, log_Z);
            if (c->pair)
                for (s = 0; s < SP_W; s++) {
                    if (g->idx[s] < 0) continue;
                    for (p = 0; p < M->nnz; p++) {
                        const double v = log_Z[s] > -INFINITY ? w->P[p * SP_W + s] : 0.0;
                        const int64_t o = g->idx[s] * M->nnz + p;
                        if (c->f32) ((float *)c->pair)[o] = (float)v;
                        else ((double *)c->pair)[o] = v;
                    }
                }
            break;
        default:
            SP(viterbi)(M, c, g, w);
            return;
    }
    if (c->log_Z)
        for (s = 0; s < SP_W; s++)
            if (g->idx[s] >= 0) c->log_Z[g->idx[s]] = log_Z[s];
}
