/*
 * Batch drivers, written once and instantiated per input type and ISA by kernels_isa.c
 * (FS_T = float or double, FS_SFX = f32 / f64, FS_ISA = generic / avx2 / avx512).
 * Sequences, longest first, form lockstep groups of up to FS_G; the groups are spread over
 * OpenMP threads. Each thread owns its scratch, allocated and freed inside the parallel
 * region, and each sequence is computed by exactly one thread in a fixed order of operations.
 */
#define FS_CAT4_(a, b, c, d) a##b##_##c##_##d
#define FS_CAT4(a, b, c, d) FS_CAT4_(a, b, c, d)
#define FS_FN(op) FS_CAT4(fs_, op, FS_SFX, FS_ISA)
#define FS_LOCAL(name) FS_CAT4(name, _, FS_SFX, FS_ISA)

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

/* Runs the body once per group with, in scope: M (the model), ws (this thread's scratch),
   N, Np, ns (sequences in the group), idx[s] (their batch indices), S[s] (their fs_seq:
   emissions as doubles, length, forward lattice) and off[s] (their first rows). */
#define FS_FOR_EACH_GROUP(NEED, K, ...)                                                     \
    do {                                                                                    \
        const int64_t N = batch->n_states, B = batch->n_seqs;                              \
        const int64_t n_groups = (B + FS_G - 1) / FS_G;                                     \
        int64_t *order = NULL, Tmax;                                                        \
        int status = FS_OK;                                                                 \
        int nt = batch->n_threads < 1 ? 1 : batch->n_threads;                               \
        fs_model M;                                                                         \
        if (nt > n_groups) nt = (int)(n_groups > 0 ? n_groups : 1);                         \
        Tmax = length_order(batch, &order);                                                 \
        if (Tmax < 0) return FS_ERR_NOMEM;                                                  \
        if (FS_LOCAL(model_from)(&M, N, trans, start, end)) {                               \
            free(order);                                                                    \
            return FS_ERR_NOMEM;                                                            \
        }                                                                                   \
        FS_OMP(parallel num_threads(nt) if (nt > 1))                                        \
        {                                                                                   \
            fs_ws ws;                                                                       \
            const int64_t Np = M.Np;                                                        \
            const int ok =                                                                  \
                ws_alloc(&ws, Tmax, N, Np, K, (NEED) | (FS_IS_DOUBLE ? 0 : WS_EM)) == 0;    \
            int64_t g;                                                                      \
            if (!ok) {                                                                      \
                FS_OMP(atomic write)                                                        \
                status = FS_ERR_NOMEM;                                                      \
            }                                                                               \
            FS_OMP(for schedule(dynamic, 1))                                                \
            for (g = 0; g < n_groups; g++) {                                                \
                fs_seq S[FS_G];                                                             \
                int64_t idx[FS_G], off[FS_G];                                               \
                int ns = 0, s;                                                              \
                if (!ok) continue;                                                          \
                for (s = 0; s < FS_G && g * FS_G + s < B; s++, ns++) {                      \
                    idx[s] = order[g * FS_G + s];                                           \
                    off[s] = batch->offsets[idx[s]];                                        \
                    S[s].T = batch->lengths[idx[s]];                                        \
                    S[s].em = FS_LOCAL(load_em)(ws.em[s], em, off[s], S[s].T, N);           \
                    S[s].L = &ws.F[s];                                                      \
                    S[s].x = ws.x[s];                                                       \
                    S[s].eb = ws.eb[s];                                                     \
                    S[s].emax = ws.emax[s];                                                 \
                    S[s].eb_t0 = -FS_EBLOCK - 1;                                            \
                }                                                                           \
                __VA_ARGS__                                                                 \
            }                                                                               \
            ws_free(&ws);                                                                   \
        }                                                                                   \
        model_free(&M);                                                                     \
        free(order);                                                                        \
        return status;                                                                      \
    } while (0)

int FS_FN(forward)(FS_MODEL_ARGS(FS_T), FS_T *log_alpha, double *log_Z) {
    FS_FOR_EACH_GROUP(WS_F | (log_alpha ? 0 : WS_ROLL), 1, {
        fs_dd lz[FS_G];
        int64_t t, j;
        forward_group(&M, S, ns, lz, ws.tmp);
        for (s = 0; s < ns; s++) {
            log_Z[idx[s]] = lz[s].hi + lz[s].lo;
            if (log_alpha)
                for (t = 0; t < S[s].T; t++) {
                    row_logs(S[s].L, N, Np, t, ws.tmp, ws.tmp + Np);
                    for (j = 0; j < N; j++) log_alpha[(off[s] + t) * N + j] = (FS_T)ws.tmp[j];
                }
        }
    });
}

int FS_FN(backward)(FS_MODEL_ARGS(FS_T), FS_T *log_beta) {
    FS_FOR_EACH_GROUP(WS_F, 1, {
        int64_t t, j;
        backward_group(&M, S, ns, ws.tmp);
        for (s = 0; s < ns; s++)
            for (t = 0; t < S[s].T; t++) {
                row_logs(S[s].L, N, Np, t, ws.tmp, ws.tmp + Np);
                for (j = 0; j < N; j++) log_beta[(off[s] + t) * N + j] = (FS_T)ws.tmp[j];
            }
    });
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
    backward_group(M, S, ns, ws->tmp);
    for (s = 0; s < ns; s++) {
        const int64_t T = S[s].T;
        int64_t t, j;
        S[s].L = F[s];
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

int FS_FN(marginals)(FS_MODEL_ARGS(FS_T), FS_T *node, FS_T *pair, double *log_Z) {
    FS_FOR_EACH_GROUP(WS_F | WS_B | (pair ? WS_PAIR : 0), 1, {
        FS_T *nd[FS_G], *pr[FS_G];
        double lz[FS_G];
        for (s = 0; s < ns; s++) {
            nd[s] = node ? node + off[s] * N : NULL;
            pr[s] = pair ? pair + idx[s] * N * N : NULL;
        }
        FS_LOCAL(posteriors)(&M, &ws, S, ns, nd, pr, lz);
        for (s = 0; s < ns; s++) log_Z[idx[s]] = lz[s];
    });
}

int FS_FN(viterbi)(FS_MODEL_ARGS(FS_T), int64_t *paths, double *scores) {
    FS_FOR_EACH_GROUP(WS_VIT | WS_B, 1, {
        int64_t *p[FS_G];
        double sc[FS_G];
        for (s = 0; s < ns; s++) {
            p[s] = paths + off[s];
            S[s].raw = ws.Bk[s].v;
        }
        viterbi_group(&M, S, ns, p, sc);
        for (s = 0; s < ns; s++) scores[idx[s]] = sc[s];
    });
}

int FS_FN(kbest)(FS_MODEL_ARGS(FS_T), int64_t k, const int64_t *path_base, int64_t rank_stride,
                 int64_t *paths, double *scores) {
    FS_FOR_EACH_GROUP(WS_KBEST, k, {
        for (s = 0; s < ns; s++)
            kbest_seq(&M, S[s].em, S[s].T, k, paths + path_base[idx[s]], rank_stride,
                      scores + idx[s] * k, ws.kd, ws.kd + N * k, ws.arg, ws.arg + N, ws.bp64);
    });
}

int FS_FN(sequence_score)(FS_MODEL_ARGS(FS_T), const int64_t *tags, double *scores) {
    FS_FOR_EACH_GROUP(0, 1, {
        for (s = 0; s < ns; s++) scores[idx[s]] = score_seq(&M, S[s].em, S[s].T, tags + off[s]);
    });
}

int FS_FN(crf_nll)(FS_MODEL_ARGS(FS_T), const int64_t *tags, double *nll, FS_T *g_em,
                   FS_T *g_pair, FS_T *g_start, FS_T *g_end) {
    FS_FOR_EACH_GROUP(WS_F | WS_B | WS_PAIR, 1, {
        FS_T *ge[FS_G], *gp[FS_G];
        double lz[FS_G];
        for (s = 0; s < ns; s++) {
            ge[s] = g_em + off[s] * N;
            gp[s] = g_pair + idx[s] * N * N;
        }
        FS_LOCAL(posteriors)(&M, &ws, S, ns, ge, gp, lz);
        for (s = 0; s < ns; s++) {
            const int64_t b = idx[s], T = S[s].T, *y = tags + off[s];
            FS_T *gs = g_start + b * N, *gn = g_end + b * N;
            const double gold = score_seq(&M, S[s].em, T, y);
            int64_t t, j;
            nll[b] = (lz[s] == -INFINITY || gold == -INFINITY) ? (T == 0 ? 0.0 : INFINITY)
                                                                : lz[s] - gold;
            for (j = 0; j < N; j++) gs[j] = gn[j] = 0;
            if (T > 0) {
                for (j = 0; j < N; j++) {
                    gs[j] = ge[s][j];
                    gn[j] = ge[s][(T - 1) * N + j];
                }
                gs[y[0]] -= 1;
                gn[y[T - 1]] -= 1;
            }
            for (t = 0; t < T; t++) {
                ge[s][t * N + y[t]] -= 1;
                if (t > 0) gp[s][y[t - 1] * N + y[t]] -= 1;
            }
        }
    });
}

#undef FS_FOR_EACH_GROUP
#undef FS_FN
#undef FS_LOCAL
