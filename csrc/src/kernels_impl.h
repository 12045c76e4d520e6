/*
 * The kernels, written once and instantiated per input type and ISA by kernels_isa.c
 * (FS_T = float or double, FS_SFX = f32 / f64, FS_ISA = generic / avx2 / avx512).
 * Each public kernel names the scratch it needs, its outputs (FS_ARGS) and its work on one
 * lockstep group (<kernel>_for_group); run_batch does the rest: sequence order, the model,
 * threads, per-thread scratch and the groups.
 */
#define FS_CAT4_(a, b, c, d) a##b##_##c##_##d
#define FS_CAT4(a, b, c, d) FS_CAT4_(a, b, c, d)
#define FS_FN(op) FS_CAT4(fs_, op, FS_SFX, FS_ISA)
#define FS_LOCAL(name) FS_CAT4(name, _, FS_SFX, FS_ISA)
#if FS_VW > 1
#define FS_LANES(fn) FS_LOCAL(fn)
#else
#define FS_LANES(fn) NULL /* no lanes with one-double vectors */
#endif

/* Converts the transition model to double and precomputes its exp matrices. */
static int FS_LOCAL(model_from)(fs_model *m, int64_t N, const FS_T *trans, const FS_T *start,
                                const FS_T *end) {
    int64_t i;
    if (model_alloc(m, N)) return -1;
    for (i = 0; i < N * N; i++) m->trans[i] = (double)trans[i];
    for (i = 0; i < N; i++) {
        m->start[i] = start ? (double)start[i] : 0.0;
        m->end[i] = end ? (double)end[i] : 0.0;
    }
    model_prepare(m);
    return 0;
}

/* The emissions of one sequence as doubles: a view for double input, a copy for float. */
static const double *FS_LOCAL(load_em)(double *buf, const FS_T *em, int64_t off, int64_t T,
                                       int64_t N) {
#if FS_IS_DOUBLE
    (void)buf;
    (void)T;
    return em + off * N;
#else
    int64_t i;
    const FS_T *src = em + off * N;
    for (i = 0; i < T * N; i++) buf[i] = (double)src[i];
    return buf;
#endif
}

/* The score of path y through a sequence's T emission rows em. */
static double FS_LOCAL(path_score)(const fs_model *M, const FS_T *em, int64_t T,
                                   const int64_t *y) {
    const int64_t N = M->N;
    double s;
    int64_t t;
    if (T == 0) return 0.0;
    s = M->start[y[0]] + (double)em[y[0]];
    for (t = 1; t < T; t++) s += M->trans[y[t - 1] * N + y[t]] + (double)em[t * N + y[t]];
    return s + M->end[y[T - 1]];
}

/* A kernel's outputs and extra inputs; each kernel sets the fields it uses, the others are
   zero. */
#define FS_ARGS FS_LOCAL(fs_args)
typedef struct {
    FS_T *log_alpha;                       /* forward (NULL: log_Z only) */
    FS_T *log_beta;                        /* backward */
    FS_T *node, *pair;                     /* marginals (either may be NULL) */
    double *log_Z;                         /* forward, marginals */
    int64_t *paths;                        /* viterbi, kbest */
    double *scores;                        /* viterbi, kbest, sequence_score */
    int64_t k, rank_stride;                /* kbest */
    const int64_t *path_base;              /* kbest */
    const int64_t *tags;                   /* sequence_score, crf_nll */
    const FS_T *em;                        /* sequence_score, crf_nll: the emissions */
    double *nll;                           /* crf_nll */
    FS_T *g_em, *g_pair, *g_start, *g_end; /* crf_nll */
} FS_ARGS;

/* A kernel's work on one group of lanes (lanes.h): the lanes' results into the outputs,
   except for the failed lanes, which the caller hands to for_group one by one. idx[s]: the
   lane's sequence (-1 past the batch), off[s] its first row. */
#define FS_LANES_FN(name)                                                                  \
    void (*name)(const FS_ARGS *args, const fs_model *M, fs_lanes *G, const int64_t *idx,   \
                 const int64_t *off)

/* One kernel call's work, shared by its threads (pool.h): groups are claimed one at a time
   through `next`; `done` counts the groups computed. */
#define FS_JOB FS_LOCAL(fs_job)
typedef struct {
    const fs_batch *batch;
    const FS_T *em;
    fs_model *M;
    const int64_t *order, *rows;
    int need;
    const FS_ARGS *args;
    void (*for_group)(const FS_ARGS *args, fs_group *g);
    FS_LANES_FN(for_lanes);
    int64_t n_groups;
    long long next, done;
} FS_JOB;

/* Group g of the state-vector kernels: the ns sequences order[first .. first + ns), with
   this thread's scratch. */
static void FS_LOCAL(fill_group)(const FS_JOB *J, fs_group *g, fs_ws *ws, int64_t first,
                                 int ns) {
    const int64_t N = J->batch->n_states;
    int s;
    g->M = J->M;
    g->ws = ws;
    g->ns = ns;
    for (s = 0; s < ns; s++) {
        fs_seq *q = &g->S[s];
        g->idx[s] = J->order[first + s];
        g->off[s] = J->batch->offsets[g->idx[s]];
        q->T = J->batch->lengths[g->idx[s]];
        q->em = FS_LOCAL(load_em)(ws->em[s], J->em, g->off[s], q->T, N);
        q->L = &ws->F[s];
        q->x = ws->x[s];
        q->eb = ws->eb[s];
        q->emax = ws->emax[s];
        q->eb_t0 = -FS_EBLOCK - 1;
    }
}

/* A participant of run_job's state-vector path: its own scratch, then groups until none is
   left. One whose scratch cannot be allocated claims nothing (the others do its share). */
static void FS_LOCAL(run_groups)(void *p) {
    FS_JOB *J = (FS_JOB *)p;
    const int64_t N = J->batch->n_states, B = J->batch->n_seqs;
    fs_ws ws;
    fs_group g;
    if (ws_alloc(&ws, J->rows, N, J->M->Np, J->args->k, J->need) != 0) return;
    while (!ctl_stopped(J->M->ctl)) {
        const int64_t gi = fs_claim(&J->next);
        if (gi >= J->n_groups) break;
        FS_LOCAL(fill_group)(J, &g, &ws, gi * FS_G,
                             (int)(B - gi * FS_G < FS_G ? B - gi * FS_G : FS_G));
        J->for_group(J->args, &g);
        fs_claim(&J->done);
    }
    ws_free(&ws);
}

#if FS_VW > 1
/* The emissions of a lane group, right-aligned (lanes.h), and the first forward rows. */
static void FS_LOCAL(lanes_load)(const FS_JOB *J, fs_lanes *G, int64_t gi, int64_t *idx,
                                 int64_t *off) {
    const fs_batch *batch = J->batch;
    const int64_t N = batch->n_states, B = batch->n_seqs;
    int64_t t, j;
    int s;
    for (s = 0; s < FS_VW; s++) {
        const int64_t k = gi * FS_VW + s;
        idx[s] = k < B ? J->order[k] : -1;
        off[s] = k < B ? batch->offsets[idx[s]] : 0;
        G->T[s] = k < B ? batch->lengths[idx[s]] : 0;
    }
    G->K = G->T[0]; /* the longest: the order is by decreasing length */
    for (s = 0; s < FS_VW; s++) G->d[s] = G->K - G->T[s];
    /* row by row, so that each store fills a vector of lanes (a lane at a time strided
       through the rows, after zeroing them, cost a tenth of crf_nll at N = 22) */
    for (t = 0; t < G->K; t++) {
        const FS_T *src[FS_VW];
        double *dst = G->E + t * N * FS_VW;
        for (s = 0; s < FS_VW; s++)
            src[s] = t >= G->d[s] ? J->em + (off[s] + t - G->d[s]) * N : NULL;
        for (j = 0; j < N; j++)
            for (s = 0; s < FS_VW; s++) dst[j * FS_VW + s] = src[s] ? (double)src[s][j] : 0.0;
    }
    for (s = 0; s < FS_VW; s++) {
        const FS_T *e = J->em + off[s] * N;
        for (j = 0; j < N; j++)
            G->init[j * FS_VW + s] = G->T[s] > 0 ? J->M->start[j] + (double)e[j] : 0.0;
    }
    lanes_exp_emissions(G);
}

/* A participant of run_job's sum-product lanes: groups of FS_VW sequences until none is left;
   a failed lane's sequence runs through the state-vector kernel (for_group), with scratch
   allocated on the first failure. */
static void FS_LOCAL(run_sum_lane_groups)(void *p) {
    FS_JOB *J = (FS_JOB *)p;
    const int64_t N = J->batch->n_states;
    fs_lanes G;
    fs_ws ws;
    int have_ws = 0;
    if (lanes_alloc(&G, N, J->rows[0])) return;
    lanes_set_range(&G, J->M);
    while (!ctl_stopped(J->M->ctl)) {
        const int64_t gi = fs_claim(&J->next);
        int64_t idx[FS_VW], off[FS_VW];
        unsigned fail;
        if (gi >= J->n_groups) break;
        FS_LOCAL(lanes_load)(J, &G, gi, idx, off);
        G.fail = 0;
        J->for_lanes(J->args, J->M, &G, idx, off);
        for (fail = G.fail; fail && !ctl_stopped(J->M->ctl); fail &= fail - 1) {
            fs_group g;
            if (!have_ws && ws_alloc(&ws, J->rows, N, J->M->Np, 0, J->need) != 0) {
                free(G.block);
                return; /* the group stays undone: the call reports FS_ERR_NOMEM */
            }
            have_ws = 1;
            FS_LOCAL(fill_group)(J, &g, &ws, gi * FS_VW + lowest_bit(fail), 1);
            J->for_group(J->args, &g);
        }
        fs_claim(&J->done);
    }
    if (have_ws) ws_free(&ws);
    free(G.block);
}
#endif

static void FS_LOCAL(run_viterbi_lane_groups)(void *p);

/* The driver of every kernel: orders the sequences (length_order), prepares the model and
   the stop flag, and runs the groups on the call's threads. Small models run in lanes
   (lanes.h) where the kernel has them (`lanes`, with for_lanes for the sum-product ones),
   else groups of FS_G sequences go to for_group, each thread with its scratch (`need`:
   the WS_* parts the kernel uses). Between groups, and every few dozen positions inside
   them, the call's stop flag is polled (control.h). A sequence is computed by one thread,
   in an order of operations that depends only on the lengths, so every result is bitwise
   identical for any thread count. */
static int FS_LOCAL(run_job)(FS_MODEL_ARGS(FS_T), int lanes, int need, const FS_ARGS *args,
                             void (*for_group)(const FS_ARGS *args, fs_group *g),
                             FS_LANES_FN(for_lanes)) {
    const int64_t N = batch->n_states, B = batch->n_seqs;
    int64_t *order = NULL, rows[FS_G], width = FS_G;
    void (*participant)(void *) = FS_LOCAL(run_groups);
    int status = FS_OK;
    int nt = fs_thread_count(batch->n_threads);
    fs_model M;
    fs_ctl ctl;
    FS_JOB J;
    if (!FS_IS_DOUBLE) need |= WS_EM;
    if (length_order(batch, &order, rows)) return FS_ERR_NOMEM;
    if (FS_LOCAL(model_from)(&M, N, trans, start, end)) {
        free(order);
        return FS_ERR_NOMEM;
    }
    if (B >= 2 && lanes == FS_VITERBI_LANES && N <= FS_VITERBI_LANES_MAX_N &&
        rows[0] * N <= FS_VITERBI_LANES_MAX_CELLS) {
        width = FS_VW;
        participant = FS_LOCAL(run_viterbi_lane_groups);
    }
#if FS_VW > 1
    if (B >= 2 && lanes == FS_SUM_LANES && N <= FS_SUM_LANES_MAX_N &&
        rows[0] * (3 * N + 6) <= FS_SUM_LANES_MAX_CELLS && M.scaled_ok && lanes_end_ok(&M)) {
        width = FS_VW;
        participant = FS_LOCAL(run_sum_lane_groups);
    }
#endif
    J.n_groups = (B + width - 1) / width;
    if (nt > J.n_groups) nt = (int)(J.n_groups > 0 ? J.n_groups : 1);
    ctl_init(&ctl, batch);
    M.ctl = &ctl;
    J.batch = batch;
    J.em = em;
    J.M = &M;
    J.order = order;
    J.rows = rows;
    J.need = need;
    J.args = args;
    J.for_group = for_group;
    J.for_lanes = for_lanes;
    J.next = J.done = 0;
    fs_run_parallel(nt, participant, &J);
    if (ctl.stop) status = FS_ERR_INTERRUPTED;
    else if (J.done < J.n_groups) status = FS_ERR_NOMEM; /* no thread got its scratch */
    model_free(&M);
    free(order);
    return status;
}

/* A kernel without lanes. */
static int FS_LOCAL(run_batch)(FS_MODEL_ARGS(FS_T), int need, const FS_ARGS *args,
                               void (*for_group)(const FS_ARGS *args, fs_group *g)) {
    return FS_LOCAL(run_job)(batch, em, trans, start, end, FS_NO_LANES, need, args, for_group,
                             NULL);
}

static void FS_LOCAL(forward_for_group)(const FS_ARGS *a, fs_group *g) {
    const int64_t N = g->M->N, Np = g->M->Np;
    double *tmp = g->ws->tmp;
    fs_dd lz[FS_G];
    int64_t t, j;
    int s;
    forward_group(g->M, g->S, g->ns, lz, tmp);
    for (s = 0; s < g->ns; s++) {
        a->log_Z[g->idx[s]] = lz[s].hi + lz[s].lo;
        if (a->log_alpha)
            for (t = 0; t < g->S[s].T; t++) {
                row_logs(g->S[s].L, N, Np, t, tmp, tmp + Np);
                for (j = 0; j < N; j++) a->log_alpha[(g->off[s] + t) * N + j] = (FS_T)tmp[j];
            }
    }
}

#if FS_VW > 1
/* Row k's logs of lane s, c + log(v), from the logs of the scaled rows (lv); -inf where the
   row is dead. */
static void FS_LOCAL(lanes_row_out)(const fs_lanes *G, const double *lv, const double *c,
                                    const double *clo, int64_t k, int s, int dead, FS_T *out) {
    const int64_t N = G->N;
    const double hi = c[k * FS_VW + s], lo = clo[k * FS_VW + s];
    int64_t j;
    for (j = 0; j < N; j++)
        out[j] = dead ? (FS_T)-INFINITY : (FS_T)(hi + (lo + lv[(k * N + j) * FS_VW + s]));
}

static void FS_LOCAL(forward_lanes)(const FS_ARGS *a, const fs_model *M,
                                    fs_lanes *G, const int64_t *idx, const int64_t *off) {
    const int64_t N = G->N, K = G->K;
    int64_t k;
    int s;
    lanes_forward(M, G);
    if (a->log_alpha) log_array(G->F, G->E, K * N * FS_VW); /* E is free after the sweep */
    for (s = 0; s < FS_VW; s++) {
        if (idx[s] < 0 || (G->fail >> s & 1)) continue;
        a->log_Z[idx[s]] = G->lz[s];
        if (a->log_alpha)
            for (k = G->d[s]; k < K; k++)
                FS_LOCAL(lanes_row_out)(G, G->E, G->cF, G->cFlo, k, s, k >= G->dead[s],
                                        a->log_alpha + (off[s] + k - G->d[s]) * N);
    }
}
#endif

int FS_FN(forward)(FS_MODEL_ARGS(FS_T), FS_T *log_alpha, double *log_Z) {
    const FS_ARGS a = {.log_alpha = log_alpha, .log_Z = log_Z};
    /* without log_alpha only the last row is needed: two rolling rows */
    return FS_LOCAL(run_job)(batch, em, trans, start, end, FS_SUM_LANES,
                             WS_F | (log_alpha ? 0 : WS_ROLL), &a, FS_LOCAL(forward_for_group),
                             FS_LANES(forward_lanes));
}

static void FS_LOCAL(backward_for_group)(const FS_ARGS *a, fs_group *g) {
    const int64_t N = g->M->N, Np = g->M->Np;
    double *tmp = g->ws->tmp;
    int64_t t, j;
    int s;
    backward_group(g->M, g->S, g->ns, tmp);
    for (s = 0; s < g->ns; s++)
        for (t = 0; t < g->S[s].T; t++) {
            row_logs(g->S[s].L, N, Np, t, tmp, tmp + Np);
            for (j = 0; j < N; j++) a->log_beta[(g->off[s] + t) * N + j] = (FS_T)tmp[j];
        }
}

#if FS_VW > 1
static void FS_LOCAL(backward_lanes)(const FS_ARGS *a, const fs_model *M,
                                     fs_lanes *G, const int64_t *idx, const int64_t *off) {
    const int64_t N = G->N, K = G->K;
    int64_t k;
    int s;
    lanes_backward(M, G, lanes_from(G, K));
    log_array(G->Bk, G->E, K * N * FS_VW); /* E is free after the sweep */
    for (s = 0; s < FS_VW; s++) {
        if (idx[s] < 0 || (G->fail >> s & 1)) continue;
        for (k = G->d[s]; k < K; k++)
            FS_LOCAL(lanes_row_out)(G, G->E, G->cB, G->cBlo, k, s, k <= G->deadb[s],
                                    a->log_beta + (off[s] + k - G->d[s]) * N);
    }
}
#endif

int FS_FN(backward)(FS_MODEL_ARGS(FS_T), FS_T *log_beta) {
    const FS_ARGS a = {.log_beta = log_beta};
    return FS_LOCAL(run_job)(batch, em, trans, start, end, FS_SUM_LANES, WS_F, &a,
                             FS_LOCAL(backward_for_group), FS_LANES(backward_lanes));
}

/* Forward and backward for the group, then per sequence the node rows (node[s], optional)
   and pair sums (pair[s], optional). log_Z[s] out. */
static void FS_LOCAL(posteriors)(const fs_model *M, fs_ws *ws, fs_seq *S, int ns,
                                 FS_T *const *node, FS_T *const *pair, double *log_Z_out) {
    const int64_t N = M->N, Np = M->Np;
    fs_lattice *F[FS_G];
    fs_dd log_Z[FS_G];
    int s;
    forward_group(M, S, ns, log_Z, ws->tmp);
    for (s = 0; s < ns; s++) {
        log_Z_out[s] = log_Z[s].hi + log_Z[s].lo;
        F[s] = S[s].L;
        S[s].L = &ws->Bk[s];
    }
    if (!ctl_load(&M->ctl->stop)) backward_group(M, S, ns, ws->tmp);
    for (s = 0; s < ns; s++) S[s].L = F[s];
    if (ctl_load(&M->ctl->stop)) return; /* the results will be discarded */
    for (s = 0; s < ns; s++) {
        const int64_t T = S[s].T;
        int64_t t, j;
        if (log_Z[s].hi == -INFINITY || T == 0) {
            if (node[s])
                for (j = 0; j < T * N; j++) node[s][j] = 0;
            if (pair[s])
                for (j = 0; j < N * N; j++) pair[s][j] = 0;
            continue;
        }
        if (node[s]) {
            for (t = 0; t < T; t++) {
                node_row(F[s], &ws->Bk[s], N, Np, t, ws->tmp);
                for (j = 0; j < N; j++) node[s][t * N + j] = (FS_T)ws->tmp[j];
            }
        }
        if (pair[s]) {
            pair_sums(M, &S[s], &ws->Bk[s], ws->X, ws->Y, ws->P, ws->Ps, ws->pair, ws->tmp);
            for (j = 0; j < N * N; j++) pair[s][j] = (FS_T)ws->pair[j];
        }
    }
}

static void FS_LOCAL(marginals_for_group)(const FS_ARGS *a, fs_group *g) {
    const int64_t N = g->M->N;
    FS_T *node[FS_G], *pair[FS_G];
    double lz[FS_G];
    int s;
    for (s = 0; s < g->ns; s++) {
        node[s] = a->node ? a->node + g->off[s] * N : NULL;
        pair[s] = a->pair ? a->pair + g->idx[s] * N * N : NULL;
    }
    FS_LOCAL(posteriors)(g->M, g->ws, g->S, g->ns, node, pair, lz);
    for (s = 0; s < g->ns; s++) a->log_Z[g->idx[s]] = lz[s];
}

#if FS_VW > 1
/* The lanes' counterpart of posteriors: forward, backward, then the node rows (node[s], T_s
   x N, optional) and pair sums (pair[s], optional) of the lanes that did not fail; log_Z
   in G->lz. */
static void FS_LOCAL(posteriors_lanes)(const fs_model *M, fs_lanes *G, FS_T *const *node,
                                       FS_T *const *pair) {
    const int64_t N = G->N, K = G->K, Np = M->Np;
    unsigned want = 0, live;
    int64_t k, i, j;
    int s, any_pair = 0;
    lanes_forward(M, G);
    for (s = 0; s < FS_VW; s++) {
        if (G->T[s] > 0 && !(G->fail >> s & 1) && G->lz[s] > -INFINITY) want |= 1u << s;
        if (pair[s]) any_pair = 1;
    }
    if (want) {
        lanes_backward(M, G, want);
        lanes_check_sums(G, want);
        if (any_pair) lanes_pairs(M, G, want & ~G->fail);
    }
    if (ctl_stopped(M->ctl)) return; /* the results will be discarded */
    live = want & ~G->fail;
    for (s = 0; s < FS_VW; s++) { /* no path, or nothing to mark: zeros */
        if ((G->fail >> s & 1) || (live >> s & 1)) continue;
        if (node[s])
            for (j = 0; j < G->T[s] * N; j++) node[s][j] = 0;
        if (pair[s])
            for (j = 0; j < N * N; j++) pair[s][j] = 0;
    }
    if (!live) return;
    for (k = 0; k < K; k++) {
        double *nd = G->x;
        if (!(lanes_from(G, k) & live)) continue;
        lanes_node(G, k, nd);
        for (s = 0; s < FS_VW; s++)
            if ((live >> s & 1) && node[s] && k >= G->d[s])
                for (j = 0; j < N; j++)
                    node[s][(k - G->d[s]) * N + j] = (FS_T)nd[j * FS_VW + s];
    }
    for (s = 0; s < FS_VW; s++)
        if ((live >> s & 1) && pair[s])
            for (i = 0; i < N; i++)
                for (j = 0; j < N; j++)
                    pair[s][i * N + j] = (FS_T)(G->P[(i * N + j) * FS_VW + s] * M->A[i * Np + j]);
}

static void FS_LOCAL(marginals_lanes)(const FS_ARGS *a, const fs_model *M,
                                      fs_lanes *G, const int64_t *idx, const int64_t *off) {
    const int64_t N = G->N;
    FS_T *node[FS_VW], *pair[FS_VW];
    int s;
    for (s = 0; s < FS_VW; s++) {
        node[s] = a->node && idx[s] >= 0 ? a->node + off[s] * N : NULL;
        pair[s] = a->pair && idx[s] >= 0 ? a->pair + idx[s] * N * N : NULL;
    }
    FS_LOCAL(posteriors_lanes)(M, G, node, pair);
    for (s = 0; s < FS_VW; s++)
        if (idx[s] >= 0 && !(G->fail >> s & 1)) a->log_Z[idx[s]] = G->lz[s];
}
#endif

int FS_FN(marginals)(FS_MODEL_ARGS(FS_T), FS_T *node, FS_T *pair, double *log_Z) {
    const FS_ARGS a = {.node = node, .pair = pair, .log_Z = log_Z};
    return FS_LOCAL(run_job)(batch, em, trans, start, end, FS_SUM_LANES,
                             WS_F | WS_B | (pair ? WS_PAIR : 0), &a,
                             FS_LOCAL(marginals_for_group), FS_LANES(marginals_lanes));
}

static void FS_LOCAL(viterbi_for_group)(const FS_ARGS *a, fs_group *g) {
    int64_t *paths[FS_G];
    double scores[FS_G];
    int s;
    for (s = 0; s < g->ns; s++) {
        paths[s] = a->paths + g->off[s];
        g->S[s].raw = g->ws->Bk[s].v; /* the backward lattices' rows hold the raw maxima */
    }
    viterbi_group(g->M, g->S, g->ns, paths, scores);
    for (s = 0; s < g->ns; s++) a->scores[g->idx[s]] = scores[s];
}

/* Viterbi with one sequence per SIMD lane, for small N (FS_VITERBI_LANES_MAX_N): FS_VW sequences of
   a group advance together and every operation of a step is one vector op over them (with
   the states in the vector instead, a step at N = 9 left lanes and the per-row bookkeeping
   idle). The sweep keeps the delta rows, D [Tmax][N][FS_VW]; back-pointers are recovered
   while backtracking, from the same sums, as the first state reaching the maximum. The same
   additions and comparisons as viterbi_group, so paths and scores are identical. */
static void FS_LOCAL(viterbi_lanes_group)(const fs_model *M, const FS_T *em,
                                          const int64_t *off, const int64_t *T, double *D,
                                          int64_t *const *paths, double *scores) {
    const int64_t N = M->N;
    double *e = D + T[0] * N * FS_VW;
    int64_t best_j[FS_VW], t, i, j;
    int s;
    for (s = 0; s < FS_VW; s++) {
        best_j[s] = -1;
        for (j = 0; j < N; j++)
            D[j * FS_VW + s] = M->start[j] + (T[s] > 0 ? (double)em[off[s] * N + j] : 0.0);
    }
    for (t = 0; t < T[0]; t++) {
        double *Dt = D + t * N * FS_VW;
        if (t > 0) {
            const double *Dp = Dt - N * FS_VW;
            if ((t & 63) == 0 && ctl_stopped(M->ctl)) return; /* results discarded */
            for (s = 0; s < FS_VW; s++)
                for (j = 0; j < N; j++)
                    e[j * FS_VW + s] = t < T[s] ? (double)em[(off[s] + t) * N + j] : 0.0;
            /* four columns at a time: independent max chains (columns past N repeat the
               last one, unstored) */
            for (j = 0; j < N; j += 4) {
                const int64_t j1 = j + 1 < N ? j + 1 : N - 1, j2 = j + 2 < N ? j + 2 : N - 1,
                              j3 = j + 3 < N ? j + 3 : N - 1;
                fs_vd b0 = v_set1(-INFINITY), b1 = b0, b2 = b0, b3 = b0;
                for (i = 0; i < N; i++) {
                    const fs_vd d = v_load(Dp + i * FS_VW);
                    const double *tr = M->trans + i * N;
                    b0 = v_max(b0, v_add(d, v_set1(tr[j])));
                    b1 = v_max(b1, v_add(d, v_set1(tr[j1])));
                    b2 = v_max(b2, v_add(d, v_set1(tr[j2])));
                    b3 = v_max(b3, v_add(d, v_set1(tr[j3])));
                }
                v_store(Dt + j * FS_VW, v_add(b0, v_load(e + j * FS_VW)));
                if (j + 1 < N) v_store(Dt + j1 * FS_VW, v_add(b1, v_load(e + j1 * FS_VW)));
                if (j + 2 < N) v_store(Dt + j2 * FS_VW, v_add(b2, v_load(e + j2 * FS_VW)));
                if (j + 3 < N) v_store(Dt + j3 * FS_VW, v_add(b3, v_load(e + j3 * FS_VW)));
            }
        }
        for (s = 0; s < FS_VW; s++) {
            double top = -INFINITY;
            if (T[s] - 1 != t) continue;
            for (j = 0; j < N; j++) {
                const double v = Dt[j * FS_VW + s] + M->end[j];
                if (v > top) {
                    top = v;
                    best_j[s] = j;
                }
            }
            scores[s] = top;
        }
    }
    for (s = 0; s < FS_VW; s++) {
        if (T[s] == 0) scores[s] = 0.0;
        else if (best_j[s] < 0)
            for (t = 0; t < T[s]; t++) paths[s][t] = -1;
        else
            paths[s][T[s] - 1] = best_j[s];
    }
    /* backtracking, the lanes interleaved: each lane's steps form a dependent chain */
    for (t = T[0] - 1; t > 0; t--) {
        const double *Dp = D + (t - 1) * N * FS_VW;
        for (s = 0; s < FS_VW; s++) {
            double top = -INFINITY;
            int64_t arg = 0;
            if (t >= T[s] || best_j[s] < 0) continue;
            j = paths[s][t];
            for (i = 0; i < N; i++) { /* branch-free: the comparisons are unpredictable */
                const double v = Dp[i * FS_VW + s] + M->trans[i * N + j];
                const int gt = v > top;
                arg = gt ? i : arg;
                top = gt ? v : top;
            }
            paths[s][t - 1] = arg;
        }
    }
}

/* A participant of run_job's Viterbi lanes: groups of FS_VW sequences until none is left. */
static void FS_LOCAL(run_viterbi_lane_groups)(void *p) {
    FS_JOB *J = (FS_JOB *)p;
    const fs_batch *batch = J->batch;
    const int64_t N = batch->n_states, B = batch->n_seqs;
    /* the delta rows of the longest sequence, then one [N][FS_VW] emission row */
    double *D = (double *)malloc(sizeof(double) * (size_t)((J->rows[0] + 1) * N * FS_VW));
    if (!D) return;
    while (!ctl_stopped(J->M->ctl)) {
        const int64_t gi = fs_claim(&J->next);
        int64_t off[FS_VW], T[FS_VW], pad[FS_VW] = {0}, *path[FS_VW];
        double sc[FS_VW];
        int s;
        if (gi >= J->n_groups) break;
        for (s = 0; s < FS_VW; s++) {
            const int64_t k = gi * FS_VW + s;
            /* lanes past the batch: empty sequences */
            off[s] = k < B ? batch->offsets[J->order[k]] : 0;
            T[s] = k < B ? batch->lengths[J->order[k]] : 0;
            path[s] = k < B ? J->args->paths + off[s] : pad;
        }
        FS_LOCAL(viterbi_lanes_group)(J->M, J->em, off, T, D, path, sc);
        for (s = 0; s < FS_VW && gi * FS_VW + s < B; s++)
            J->args->scores[J->order[gi * FS_VW + s]] = sc[s];
        fs_claim(&J->done);
    }
    free(D);
}

int FS_FN(viterbi)(FS_MODEL_ARGS(FS_T), int64_t *paths, double *scores) {
    const FS_ARGS a = {.paths = paths, .scores = scores};
    return FS_LOCAL(run_job)(batch, em, trans, start, end, FS_VITERBI_LANES, WS_VIT | WS_B, &a,
                             FS_LOCAL(viterbi_for_group), NULL);
}

static void FS_LOCAL(kbest_for_group)(const FS_ARGS *a, fs_group *g) {
    const int64_t N = g->M->N, k = a->k;
    const kb_moves every = {NULL, NULL, g->M->trans};
    fs_ws *ws = g->ws;
    int s;
    for (s = 0; s < g->ns; s++) {
        const int64_t b = g->idx[s];
        kbest_seq(N, g->M->start, g->M->end, &every, g->M->ctl, g->S[s].em, g->S[s].T, k,
                  a->paths + a->path_base[b], a->rank_stride, a->scores + b * k, ws->kd,
                  ws->kd + N * k, ws->arg, ws->arg + N, ws->heap, ws->bp64);
    }
}

int FS_FN(kbest)(FS_MODEL_ARGS(FS_T), int64_t k, const int64_t *path_base, int64_t rank_stride,
                 int64_t *paths, double *scores) {
    const FS_ARGS a = {.k = k, .path_base = path_base, .rank_stride = rank_stride,
                       .paths = paths, .scores = scores};
    return FS_LOCAL(run_batch)(batch, em, trans, start, end, WS_KBEST, &a,
                               FS_LOCAL(kbest_for_group));
}

static void FS_LOCAL(sequence_score_for_group)(const FS_ARGS *a, fs_group *g) {
    int s;
    for (s = 0; s < g->ns; s++)
        a->scores[g->idx[s]] = FS_LOCAL(path_score)(g->M, a->em + g->off[s] * g->M->N,
                                                    g->S[s].T, a->tags + g->off[s]);
}

int FS_FN(sequence_score)(FS_MODEL_ARGS(FS_T), const int64_t *tags, double *scores) {
    const FS_ARGS a = {.tags = tags, .em = em, .scores = scores};
    return FS_LOCAL(run_batch)(batch, em, trans, start, end, 0, &a,
                               FS_LOCAL(sequence_score_for_group));
}

/* The marginals went straight into the gradient outputs (ge: node rows, gp: pair sums); the
   gold path's counts are subtracted from them, and nll = log_Z - the gold path's score. */
static void FS_LOCAL(crf_nll_finish)(const FS_ARGS *a, const fs_model *M, int64_t b, int64_t off,
                                     int64_t T, double lz, FS_T *ge, FS_T *gp) {
    const int64_t N = M->N, *y = a->tags + off;
    FS_T *gs = a->g_start + b * N, *gn = a->g_end + b * N;
    const double gold = FS_LOCAL(path_score)(M, a->em + off * N, T, y);
    int64_t t, j;
    a->nll[b] = (lz == -INFINITY || gold == -INFINITY) ? (T == 0 ? 0.0 : INFINITY) : lz - gold;
    for (j = 0; j < N; j++) gs[j] = gn[j] = 0;
    if (T > 0) {
        for (j = 0; j < N; j++) {
            gs[j] = ge[j];
            gn[j] = ge[(T - 1) * N + j];
        }
        gs[y[0]] -= 1;
        gn[y[T - 1]] -= 1;
    }
    for (t = 0; t < T; t++) {
        ge[t * N + y[t]] -= 1;
        if (t > 0) gp[y[t - 1] * N + y[t]] -= 1;
    }
}

static void FS_LOCAL(crf_nll_for_group)(const FS_ARGS *a, fs_group *g) {
    const int64_t N = g->M->N;
    FS_T *ge[FS_G], *gp[FS_G];
    double lz[FS_G];
    int s;
    for (s = 0; s < g->ns; s++) {
        ge[s] = a->g_em + g->off[s] * N;
        gp[s] = a->g_pair + g->idx[s] * N * N;
    }
    FS_LOCAL(posteriors)(g->M, g->ws, g->S, g->ns, ge, gp, lz);
    for (s = 0; s < g->ns; s++)
        FS_LOCAL(crf_nll_finish)(a, g->M, g->idx[s], g->off[s], g->S[s].T, lz[s], ge[s], gp[s]);
}

#if FS_VW > 1
static void FS_LOCAL(crf_nll_lanes)(const FS_ARGS *a, const fs_model *M,
                                    fs_lanes *G, const int64_t *idx, const int64_t *off) {
    const int64_t N = G->N;
    FS_T *ge[FS_VW], *gp[FS_VW];
    int s;
    for (s = 0; s < FS_VW; s++) {
        ge[s] = idx[s] >= 0 ? a->g_em + off[s] * N : NULL;
        gp[s] = idx[s] >= 0 ? a->g_pair + idx[s] * N * N : NULL;
    }
    FS_LOCAL(posteriors_lanes)(M, G, ge, gp);
    if (ctl_stopped(M->ctl)) return;
    for (s = 0; s < FS_VW; s++)
        if (idx[s] >= 0 && !(G->fail >> s & 1))
            FS_LOCAL(crf_nll_finish)(a, M, idx[s], off[s], G->T[s], G->lz[s], ge[s], gp[s]);
}
#endif

int FS_FN(crf_nll)(FS_MODEL_ARGS(FS_T), const int64_t *tags, double *nll, FS_T *g_em,
                   FS_T *g_pair, FS_T *g_start, FS_T *g_end) {
    const FS_ARGS a = {.tags = tags, .em = em, .nll = nll, .g_em = g_em, .g_pair = g_pair,
                       .g_start = g_start, .g_end = g_end};
    return FS_LOCAL(run_job)(batch, em, trans, start, end, FS_SUM_LANES, WS_F | WS_B | WS_PAIR,
                             &a, FS_LOCAL(crf_nll_for_group), FS_LANES(crf_nll_lanes));
}

#undef FS_ARGS
#undef FS_JOB
#undef FS_LANES
#undef FS_LANES_FN
#undef FS_FN
#undef FS_LOCAL
