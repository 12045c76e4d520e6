/*
 * Batch drivers, written once and instantiated per input type and ISA by kernels_isa.c
 * (FS_T = float or double, FS_SFX = f32 / f64, FS_ISA = generic / avx2 / avx512).
 * Sequences are spread over OpenMP threads; each thread owns its scratch, allocated and
 * freed inside the parallel region. Each sequence is computed by exactly one thread.
 */
#define FS_CAT4_(a, b, c, d) a##b##_##c##_##d
#define FS_CAT4(a, b, c, d) FS_CAT4_(a, b, c, d)
#define FS_FN(op) FS_CAT4(fs_, op, FS_SFX, FS_ISA)
#define FS_LOCAL(name) FS_CAT4(name, _, FS_SFX, FS_ISA)

/* Converts the transition model to double and precomputes its exp matrix. */
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
static const double *FS_LOCAL(load_em)(fs_ws *ws, const FS_T *em, int64_t off, int64_t T,
                                       int64_t N) {
#if FS_IS_DOUBLE
    (void)ws;
    (void)T;
    return em + off * N;
#else
    int64_t i;
    const FS_T *src = em + off * N;
    for (i = 0; i < T * N; i++) ws->em[i] = (double)src[i];
    return ws->em;
#endif
}

/* Runs the body for every sequence b with T (its length), off (its first row) and x (its
   emissions as doubles) in scope, and M / ws / N available. */
#define FS_FOR_EACH_SEQ(NEED, K, ...)                                                       \
    do {                                                                                   \
        const int64_t N = batch->n_states;                                                 \
        const int64_t Tmax = max_length(batch);                                            \
        int status = FS_OK;                                                                \
        int nt = batch->n_threads < 1 ? 1 : batch->n_threads;                              \
        fs_model M;                                                                        \
        if (nt > batch->n_seqs) nt = (int)(batch->n_seqs > 0 ? batch->n_seqs : 1);         \
        if (FS_LOCAL(model_from)(&M, N, trans, start, end)) return FS_ERR_NOMEM;           \
        FS_OMP(parallel num_threads(nt) if (nt > 1))                                       \
        {                                                                                  \
            fs_ws ws;                                                                      \
            const int ok = ws_alloc(&ws, Tmax, N, K, (NEED) | (FS_IS_DOUBLE ? 0 : WS_EM)) == 0; \
            int64_t b;                                                                     \
            if (!ok) {                                                                     \
                FS_OMP(atomic write)                                                       \
                status = FS_ERR_NOMEM;                                                     \
            }                                                                              \
            FS_OMP(for schedule(dynamic, 1))                                               \
            for (b = 0; b < batch->n_seqs; b++) {                                          \
                const int64_t T = batch->lengths[b];                                       \
                const int64_t off = batch->offsets[b];                                     \
                const double *x;                                                           \
                if (!ok) continue;                                                         \
                x = FS_LOCAL(load_em)(&ws, em, off, T, N);                                 \
                __VA_ARGS__                                                                \
            }                                                                              \
            ws_free(&ws);                                                                  \
        }                                                                                  \
        model_free(&M);                                                                    \
        return status;                                                                     \
    } while (0)

int FS_FN(forward)(FS_MODEL_ARGS(FS_T), FS_T *log_alpha, double *log_Z) {
    FS_FOR_EACH_SEQ(WS_F, 1, {
        int64_t t, j;
        log_Z[b] = forward_pass(&M, x, T, &ws.F, ws.tmp);
        if (log_alpha)
            for (t = 0; t < T; t++)
                for (j = 0; j < N; j++)
                    log_alpha[(off + t) * N + j] = (FS_T)lat_log(&ws.F, N, t, j);
    });
}

int FS_FN(backward)(FS_MODEL_ARGS(FS_T), FS_T *log_beta) {
    FS_FOR_EACH_SEQ(WS_B, 1, {
        int64_t t, j;
        backward_pass(&M, x, T, &ws.Bk, ws.tmp);
        for (t = 0; t < T; t++)
            for (j = 0; j < N; j++) log_beta[(off + t) * N + j] = (FS_T)lat_log(&ws.Bk, N, t, j);
    });
}

/* Forward, backward, then node rows (node_out) and pair sums (pair_out), both optional. */
static double FS_LOCAL(posteriors)(const fs_model *M, fs_ws *ws, const double *x, int64_t T,
                                   FS_T *node_out, FS_T *pair_out) {
    const int64_t N = M->N;
    const double log_Z = forward_pass(M, x, T, &ws->F, ws->tmp);
    int64_t t, j;
    if (log_Z == -INFINITY || T == 0) {
        if (node_out)
            for (j = 0; j < T * N; j++) node_out[j] = 0;
        if (pair_out)
            for (j = 0; j < N * N; j++) pair_out[j] = 0;
        return log_Z;
    }
    backward_pass(M, x, T, &ws->Bk, ws->tmp);
    if (node_out) {
        for (t = 0; t < T; t++) {
            node_row(&ws->F, &ws->Bk, N, t, log_Z, ws->tmp);
            for (j = 0; j < N; j++) node_out[t * N + j] = (FS_T)ws->tmp[j];
        }
    }
    if (pair_out) {
        memset(ws->P, 0, sizeof(double) * N * N);
        memset(ws->Ps, 0, sizeof(double) * N * N);
        for (t = 1; t < T; t++) pair_add(M, &ws->F, &ws->Bk, x, t, log_Z, ws->P, ws->Ps, ws->tmp);
        for (j = 0; j < N * N; j++) pair_out[j] = (FS_T)(ws->P[j] * M->A[j] + ws->Ps[j]);
    }
    return log_Z;
}

int FS_FN(marginals)(FS_MODEL_ARGS(FS_T), FS_T *node, FS_T *pair, double *log_Z) {
    FS_FOR_EACH_SEQ(WS_F | WS_B | (pair ? WS_PAIR : 0), 1, {
        log_Z[b] = FS_LOCAL(posteriors)(&M, &ws, x, T, node ? node + off * N : NULL,
                                        pair ? pair + b * N * N : NULL);
    });
}

int FS_FN(viterbi)(FS_MODEL_ARGS(FS_T), int64_t *paths, double *scores) {
    FS_FOR_EACH_SEQ(WS_VIT, 1, {
        scores[b] = viterbi_seq(&M, x, T, paths + off, ws.tmp, ws.tmp + N, ws.arg, ws.bp32);
    });
}

int FS_FN(kbest)(FS_MODEL_ARGS(FS_T), int64_t k, const int64_t *path_base, int64_t rank_stride,
                 int64_t *paths, double *scores) {
    FS_FOR_EACH_SEQ(WS_KBEST, k, {
        kbest_seq(&M, x, T, k, paths + path_base[b], rank_stride, scores + b * k, ws.kd,
                  ws.kd + N * k, ws.arg, ws.arg + N, ws.bp64);
    });
}

int FS_FN(sequence_score)(FS_MODEL_ARGS(FS_T), const int64_t *tags, double *scores) {
    FS_FOR_EACH_SEQ(0, 1, { scores[b] = score_seq(&M, x, T, tags + off); });
}

int FS_FN(crf_nll)(FS_MODEL_ARGS(FS_T), const int64_t *tags, double *nll, FS_T *g_em,
                   FS_T *g_pair, FS_T *g_start, FS_T *g_end) {
    FS_FOR_EACH_SEQ(WS_F | WS_B | WS_PAIR, 1, {
        const int64_t *y = tags + off;
        FS_T *ge = g_em + off * N, *gp = g_pair + b * N * N;
        FS_T *gs = g_start + b * N, *gn = g_end + b * N;
        const double lz = FS_LOCAL(posteriors)(&M, &ws, x, T, ge, gp);
        const double gold = score_seq(&M, x, T, y);
        int64_t t, j;
        nll[b] = (lz == -INFINITY || gold == -INFINITY) ? (T == 0 ? 0.0 : INFINITY) : lz - gold;
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
    });
}

#undef FS_FOR_EACH_SEQ
#undef FS_FN
#undef FS_LOCAL
