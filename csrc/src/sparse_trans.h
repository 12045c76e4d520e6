/*
 * The kernels over sparse transitions (fs_sparse_* in fastseq.h): forward, backward,
 * marginals and Viterbi at O(nnz) per position instead of O(N^2). Included once per ISA by
 * kernels_isa.c (after the dense kernels, whose length_order it uses); the sweeps are in
 * sparse_lanes.h.
 *
 * The moves arrive as CSR rows (the moves out of each state), which the backward sweep and
 * the pair sums walk; the forward sweep and Viterbi walk the moves into each state, a CSC
 * copy built per call with sources in increasing order (Viterbi's tie rule).
 *
 * Sequences are processed longest first in groups of FS_VW, one per lane, so each move's
 * load serves FS_VW sequences; a batch of one sequence, or one whose kept rows would not
 * fit SP_LANES_MAX_BYTES per thread, runs one sequence at a time, and so does k-best
 * (viterbi.h's merge of sorted lists, over each state's incoming moves).
 */
#include "sparse_call.h"

#define SP_LANES_MAX_BYTES ((int64_t)256 << 20)

typedef struct {
    int64_t N, nnz;
    const int64_t *out_ptr; /* [N + 1] the caller's CSR: moves out of each state */
    const int32_t *out_dst; /* [nnz] */
    double *out_la;         /* [nnz] their scores */
    int64_t *in_ptr;        /* [N + 1] moves into each state */
    int32_t *in_src;        /* [nnz] sources, increasing within a state */
    double *in_la;          /* [nnz] */
    /* the fast sums' factors (sparse_lanes.h): lmax = the best score of the moves into
       (in_) or out of (out_) each state, -inf when none is allowed; e = exp(la - lmax) */
    double *in_lmax, *in_e, *out_lmax, *out_e; /* [N], [nnz] */
    double *start, *end;    /* [N] */
    void *block;
    fs_ctl *ctl;
} sp_model;

typedef struct {
    int64_t K;               /* the longest length of the group */
    int64_t T[FS_VW], off[FS_VW], idx[FS_VW]; /* per lane; idx -1 past the batch */
} sp_group;

typedef struct {
    double *x, *tmp, *q, *S; /* [N][W] emission row, scratch, backward products, a row's
                                exps (the fast sums) */
    double *R;               /* forward or Viterbi rows: [K or 2][N][W] */
    double *RB;              /* backward rows: [2][N][W] */
    double *shift;           /* [K][W] the forward rows' shifts (marginals) */
    double *P;               /* [nnz][W] pair sums */
    double *kd;              /* k-best: [2][N][k] scores */
    double *em;              /* k-best, float input: [K][N] emissions as doubles */
    int64_t *cnt, *heap, *bp; /* k-best: [2N] list sizes, [2N] merge heap, [K][N][k] links */
    void *block;
} sp_scratch;

static double sp_value(const void *a, int f32, int64_t i) {
    return f32 ? (double)((const float *)a)[i] : ((const double *)a)[i];
}

/* exp as the vector kernels make it: exactly 0 below -700 */
static FS_ALWAYS_INLINE double sp_exp1(double x) { return x >= -700.0 ? exp(x) : 0.0; }

/* lmax[r] = max_p la[p] over row r's moves, e[p] = exp(la[p] - lmax[r]) (0 when lmax is
   -inf) */
static void sp_factors(const int64_t *ptr, const double *la, int64_t n, double *lmax,
                       double *e) {
    int64_t r, p;
    for (r = 0; r < n; r++) {
        double m = -INFINITY;
        for (p = ptr[r]; p < ptr[r + 1]; p++)
            if (la[p] > m) m = la[p];
        lmax[r] = m;
        for (p = ptr[r]; p < ptr[r + 1]; p++) e[p] = m > -INFINITY ? sp_exp1(la[p] - m) : 0.0;
    }
}

static int sp_model_build(sp_model *m, const fs_sparse_call *c) {
    const int64_t N = c->batch->n_states, nnz = c->moves->nnz;
    const int64_t *indptr = c->moves->indptr;
    const int32_t *indices = c->moves->indices;
    int64_t i, p, *fill;
    char *b;
    m->block = malloc(sizeof(double) * (4 * nnz + 4 * N) + sizeof(int64_t) * (2 * N + 2) +
                      sizeof(int32_t) * (nnz + 1));
    if (!m->block) return -1;
    b = (char *)m->block;
    m->out_la = (double *)b;
    m->in_la = m->out_la + nnz;
    m->in_e = m->in_la + nnz;
    m->out_e = m->in_e + nnz;
    m->start = m->out_e + nnz;
    m->end = m->start + N;
    m->in_lmax = m->end + N;
    m->out_lmax = m->in_lmax + N;
    b += sizeof(double) * (4 * nnz + 4 * N);
    m->in_ptr = (int64_t *)b;
    fill = m->in_ptr + N + 1;
    b += sizeof(int64_t) * (2 * N + 2);
    m->in_src = (int32_t *)b;
    m->N = N;
    m->nnz = nnz;
    m->out_ptr = indptr;
    m->out_dst = indices;
    for (p = 0; p < nnz; p++) m->out_la[p] = sp_value(c->trans, c->f32, p);
    for (i = 0; i < N; i++) {
        m->start[i] = c->start ? sp_value(c->start, c->f32, i) : 0.0;
        m->end[i] = c->end ? sp_value(c->end, c->f32, i) : 0.0;
    }
    /* counting sort by destination; rows in increasing order keep sources increasing */
    memset(m->in_ptr, 0, sizeof(int64_t) * (N + 1));
    for (p = 0; p < nnz; p++) m->in_ptr[indices[p] + 1]++;
    for (i = 0; i < N; i++) m->in_ptr[i + 1] += m->in_ptr[i];
    memcpy(fill, m->in_ptr, sizeof(int64_t) * N);
    for (i = 0; i < N; i++)
        for (p = indptr[i]; p < indptr[i + 1]; p++) {
            const int64_t q = fill[indices[p]]++;
            m->in_src[q] = (int32_t)i;
            m->in_la[q] = m->out_la[p];
        }
    if (c->op != FS_SP_VITERBI && c->op != FS_SP_KBEST) { /* only the sums use them */
        sp_factors(m->in_ptr, m->in_la, N, m->in_lmax, m->in_e);
        sp_factors(m->out_ptr, m->out_la, N, m->out_lmax, m->out_e);
    }
    return 0;
}

/* Scratch for groups of `lanes` sequences of up to K positions. */
static int sp_scratch_alloc(sp_scratch *w, const sp_model *M, const fs_sparse_call *c,
                            int64_t K, int lanes) {
    const int64_t N = M->N, NW = N * lanes, k = c->op == FS_SP_KBEST ? c->k : 0;
    const int keep = c->op == FS_SP_MARGINALS || c->op == FS_SP_VITERBI;
    const int64_t rows = keep ? K : 2;
    double *d;
    w->block = malloc(sizeof(double) * (NW * (6 + rows) + K * lanes + M->nnz * lanes) +
                      (k ? sizeof(double) * (2 * N * k + K * N) +
                               sizeof(int64_t) * (4 * N + K * N * k)
                         : 0));
    if (!w->block) return -1;
    d = (double *)w->block;
    w->x = d;
    w->tmp = d + NW;
    w->q = d + 2 * NW;
    w->S = d + 3 * NW;
    w->RB = d + 4 * NW;
    w->R = d + 6 * NW;
    w->shift = w->R + rows * NW;
    w->P = w->shift + K * lanes;
    w->kd = w->P + M->nnz * lanes;
    w->em = w->kd + 2 * N * k;
    w->cnt = (int64_t *)(w->em + (k ? K * N : 0));
    w->heap = w->cnt + 2 * N;
    w->bp = w->heap + 2 * N;
    return 0;
}

/* The scalar instantiation: one sequence, plain doubles. */
static void sp_log1(const double *x, double *y, int64_t n) {
    int64_t j;
    for (j = 0; j < n; j++) y[j] = x[j] > 0 ? log(x[j]) : -INFINITY;
}
#define SP_W 1
#define SP_VW 1
#define SP(name) sp1_##name
#define SP_VEC double
#define SP_LOAD(p) (*(p))
#define SP_STORE(p, x) (*(p) = (x))
#define SP_SET1(x) ((double)(x))
#define SP_ADD(a, b) ((a) + (b))
#define SP_SUB(a, b) ((a) - (b))
#define SP_MUL(a, b) ((a) * (b))
#define SP_FMA(a, b, c) ((a) * (b) + (c))
#define SP_MAX(a, b) ((b) > (a) ? (b) : (a))
#define SP_EXP sp_exp1
#define SP_BLEND_GT(a, b, x, y) ((a) > (b) ? (x) : (y))
#define SP_LT_BITS(a, b) ((unsigned)((a) < (b)))
#define SP_GT_BITS(a, b) ((unsigned)((a) > (b)))
#define SP_LOG_ARRAY sp_log1
#include "sparse_lanes.h"
#undef SP_W
#undef SP_VW
#undef SP
#undef SP_VEC
#undef SP_LOAD
#undef SP_STORE
#undef SP_SET1
#undef SP_ADD
#undef SP_SUB
#undef SP_MUL
#undef SP_FMA
#undef SP_MAX
#undef SP_EXP
#undef SP_BLEND_GT
#undef SP_LT_BITS
#undef SP_GT_BITS
#undef SP_LOG_ARRAY

#if FS_VW > 1
#define SP_W FS_VW
#define SP_VW FS_VW
#define SP(name) spv_##name
#define SP_VEC fs_vd
#define SP_LOAD v_load
#define SP_STORE v_store
#define SP_SET1 v_set1
#define SP_ADD v_add
#define SP_SUB v_sub
#define SP_MUL v_mul
#define SP_FMA v_fma
#define SP_MAX v_max
#define SP_EXP v_exp
#define SP_BLEND_GT v_blend_gt
#define SP_LT_BITS v_lt_bits
#define SP_GT_BITS v_gt_bits
#define SP_LOG_ARRAY log_array
#include "sparse_lanes.h"
#endif

/* The k best paths of the group's one sequence: kbest_seq (viterbi.h) over each state's
   incoming moves; the same candidates, sums and order as the dense kernel, so the same
   paths. Float input is converted into w->em first. */
static void sp_kbest_seq(const sp_model *M, const fs_sparse_call *c, const sp_group *g,
                         sp_scratch *w) {
    const int64_t N = M->N, T = g->T[0], k = c->k;
    const kb_moves in = {M->in_ptr, M->in_src, M->in_la};
    const double *em = (const double *)c->em + g->off[0] * N;
    if (c->f32) {
        const float *src = (const float *)c->em + g->off[0] * N;
        int64_t i;
        for (i = 0; i < T * N; i++) w->em[i] = (double)src[i];
        em = w->em;
    }
    kbest_seq(N, M->start, M->end, &in, M->ctl, em, T, k, c->paths + c->path_base[g->idx[0]],
              c->rank_stride, c->scores + g->idx[0] * k, w->kd, w->kd + N * k, w->cnt,
              w->cnt + N, w->heap, w->bp);
}

/* A call's work, shared by its threads: groups of `lanes` sequences claimed one at a time. */
typedef struct {
    const fs_sparse_call *c;
    const sp_model *M;
    const int64_t *order;
    int64_t K, n_groups;
    int lanes;
    long long next, done;
} sp_job;

static void sp_participant(void *p) {
    sp_job *J = (sp_job *)p;
    const fs_batch *batch = J->c->batch;
    sp_scratch w;
    if (sp_scratch_alloc(&w, J->M, J->c, J->K, J->lanes)) return;
    while (!ctl_stopped(J->M->ctl)) {
        const int64_t gi = fs_claim(&J->next);
        sp_group g;
        int s;
        if (gi >= J->n_groups) break;
        for (s = 0; s < J->lanes; s++) {
            const int64_t k = gi * J->lanes + s;
            g.idx[s] = k < batch->n_seqs ? J->order[k] : -1;
            g.off[s] = k < batch->n_seqs ? batch->offsets[g.idx[s]] : 0;
            g.T[s] = k < batch->n_seqs ? batch->lengths[g.idx[s]] : 0;
        }
        g.K = g.T[0];
        if (J->c->op == FS_SP_KBEST) sp_kbest_seq(J->M, J->c, &g, &w);
#if FS_VW > 1
        else if (J->lanes > 1) spv_run_group(J->M, J->c, &g, &w);
#endif
        else sp1_run_group(J->M, J->c, &g, &w);
        fs_claim(&J->done);
    }
    free(w.block);
}

#define SP_ENTRY_(isa) fs_sparse_run_##isa
#define SP_ENTRY(isa) SP_ENTRY_(isa)
int SP_ENTRY(FS_ISA)(const fs_sparse_call *c);
int SP_ENTRY(FS_ISA)(const fs_sparse_call *c) {
    const fs_batch *batch = c->batch;
    const int64_t N = batch->n_states;
    const int keep = c->op == FS_SP_MARGINALS || c->op == FS_SP_VITERBI;
    int64_t *order = NULL, rows[FS_G];
    int nt = fs_thread_count(batch->n_threads), status = FS_OK;
    sp_model M;
    fs_ctl ctl;
    sp_job J;
    if (length_order(batch, &order, rows)) return FS_ERR_NOMEM;
    if (sp_model_build(&M, c)) {
        free(order);
        return FS_ERR_NOMEM;
    }
    J.lanes = 1;
    if (FS_VW > 1 && batch->n_seqs >= 2 && c->op != FS_SP_KBEST &&
        (!keep || rows[0] * N * FS_VW * (int64_t)sizeof(double) <= SP_LANES_MAX_BYTES))
        J.lanes = FS_VW;
    J.c = c;
    J.M = &M;
    J.order = order;
    J.K = rows[0];
    J.n_groups = (batch->n_seqs + J.lanes - 1) / J.lanes;
    J.next = J.done = 0;
    if (nt > J.n_groups) nt = (int)(J.n_groups > 0 ? J.n_groups : 1);
    ctl_init(&ctl, batch);
    M.ctl = &ctl;
    fs_run_parallel(nt, sp_participant, &J);
    if (ctl.stop) status = FS_ERR_INTERRUPTED;
    else if (J.done < J.n_groups) status = FS_ERR_NOMEM;
    free(M.block);
    free(order);
    return status;
}
