/*
 * One instantiation of every kernel for one instruction set. CMake compiles this file once
 * per ISA (FS_ISA = generic, avx2, avx512) with that ISA's flags only; dispatch.c picks the
 * variant at run time. The ISA enters only through the vector vocabulary in simd.h.
 */
#include "fastseq/fastseq.h"

#ifndef FS_ISA
#define FS_ISA generic
#endif

#include <stdlib.h>
#include <string.h>

#include "forward_backward.h"
#include "lanes.h"
#include "pool.h"
#include "sparse.h"
#include "stream_step.h"
#include "viterbi.h"

/* Per-thread scratch: one block, carved into the parts a kernel asks for. */
enum {
    WS_EM = 1,     /* emissions converted to double (float input) */
    WS_F = 2,      /* forward lattices */
    WS_B = 4,      /* backward lattices */
    WS_PAIR = 8,   /* pair-marginal factors and accumulators */
    WS_VIT = 16,   /* Viterbi delta rows (in F) */
    WS_KBEST = 32, /* k-best score lists and back-pointers */
    WS_ROLL = 64   /* lattices keep two rolling rows instead of all T */
};

typedef struct {
    void *block;
    double *em[FS_G];       /* [Tmax][N] emissions converted to double (float input) */
    fs_lattice F[FS_G];     /* forward lattices (Viterbi: delta rows) */
    fs_lattice Bk[FS_G];    /* backward lattices */
    double *x[FS_G];        /* [Np] backward scratch */
    double *eb[FS_G];       /* [FS_EBLOCK][Np] exponentiated emission rows */
    double *emax[FS_G];     /* [FS_EBLOCK] their maxima */
    double *tmp;            /* [4 Np] */
    double *X, *Y;          /* [Tmax][Np] pair-marginal factors */
    double *P, *Ps;         /* [Np][Np] pair accumulators */
    double *pair;           /* [N][N] */
    double *kd;             /* [2][N][k] k-best scores */
    int64_t *arg;           /* [2N] */
    int64_t *heap;          /* [2N] k-best merge heap */
    int64_t *bp64;          /* [Tmax][N][k] k-best back-pointers */
} fs_ws;

static size_t lattice_bytes(int64_t rows, int64_t Np) {
    return sizeof(double) * (size_t)(rows * Np) + sizeof(fs_dd) * (size_t)rows +
           (((size_t)rows + 7) & ~(size_t)7);
}

static void lattice_carve(fs_lattice *L, char **p, int64_t rows, int64_t Np, int64_t mask) {
    L->v = (double *)*p;
    *p += sizeof(double) * rows * Np;
    L->c = (fs_dd *)*p;
    *p += sizeof(fs_dd) * rows;
    L->is_log = (unsigned char *)*p;
    *p += ((size_t)rows + 7) & ~(size_t)7;
    L->mask = mask;
}

/* rows[s]: the positions member s of a group can have (the s-th largest length: groups are
   cut from the batch sorted by decreasing length), Tmax = rows[0]. */
static int ws_alloc(fs_ws *ws, const int64_t *rows, int64_t N, int64_t Np, int64_t k, int need) {
    const int64_t T = rows[0], mask = (need & WS_ROLL) ? 1 : -1;
    size_t bytes = sizeof(double) * (4 * Np + FS_G * (Np + FS_EBLOCK * (Np + 1))) +
                   sizeof(int64_t) * 2 * N;
    char *p;
    int s;
    for (s = 0; s < FS_G; s++) {
        const int64_t lat_rows = (need & WS_ROLL) ? 2 : rows[s];
        if (need & WS_EM) bytes += sizeof(double) * rows[s] * N;
        if (need & (WS_F | WS_VIT)) bytes += lattice_bytes(lat_rows, Np);
        if (need & WS_B) bytes += lattice_bytes(lat_rows, Np);
    }
    if (need & WS_PAIR) bytes += sizeof(double) * (2 * T * Np + 2 * Np * Np + N * N);
    if (need & WS_KBEST)
        bytes += sizeof(double) * 2 * N * k + sizeof(int64_t) * (T * N * k + 2 * N);
    memset(ws, 0, sizeof(*ws));
    ws->block = malloc(bytes);
    if (!ws->block) return -1;
    p = (char *)ws->block;
    ws->tmp = (double *)p;
    p += sizeof(double) * 4 * Np;
    for (s = 0; s < FS_G; s++) {
        ws->x[s] = (double *)p;
        p += sizeof(double) * Np;
        ws->eb[s] = (double *)p;
        p += sizeof(double) * FS_EBLOCK * Np;
        ws->emax[s] = (double *)p;
        p += sizeof(double) * FS_EBLOCK;
    }
    ws->arg = (int64_t *)p;
    p += sizeof(int64_t) * 2 * N;
    for (s = 0; s < FS_G; s++) {
        const int64_t lat_rows = (need & WS_ROLL) ? 2 : rows[s];
        if (need & WS_EM) {
            ws->em[s] = (double *)p;
            p += sizeof(double) * rows[s] * N;
        }
        if (need & (WS_F | WS_VIT)) lattice_carve(&ws->F[s], &p, lat_rows, Np, mask);
        if (need & WS_B) lattice_carve(&ws->Bk[s], &p, lat_rows, Np, mask);
    }
    if (need & WS_PAIR) {
        ws->X = (double *)p;
        ws->Y = ws->X + T * Np;
        ws->P = ws->Y + T * Np;
        ws->Ps = ws->P + Np * Np;
        ws->pair = ws->Ps + Np * Np;
        p += sizeof(double) * (2 * T * Np + 2 * Np * Np + N * N);
    }
    if (need & WS_KBEST) {
        ws->kd = (double *)p;
        p += sizeof(double) * 2 * N * k;
        ws->heap = (int64_t *)p;
        p += sizeof(int64_t) * 2 * N;
        ws->bp64 = (int64_t *)p;
    }
    return 0;
}

static void ws_free(fs_ws *ws) { free(ws->block); }

/* One lockstep group, as the driver hands it to a kernel. S comes first: placed after the
   other fields it made Viterbi at N = 9 a third slower (the step loop reads S every step). */
typedef struct {
    fs_seq S[FS_G];      /* the sequences: emissions as doubles, length, forward lattice */
    int ns;              /* how many: 1 .. FS_G */
    int64_t idx[FS_G];   /* their indices in the batch */
    int64_t off[FS_G];   /* their first rows */
    const fs_model *M;   /* the model, shared by all threads */
    fs_ws *ws;           /* this thread's scratch */
} fs_group;

/* Sequences are processed longest first (better load balance, and lockstep groups of
   similar lengths); the order depends only on the lengths, never on the thread count. */
typedef struct {
    int64_t len, idx;
} fs_key;

static int by_length_desc(const void *a, const void *b) {
    const fs_key *x = (const fs_key *)a, *y = (const fs_key *)b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/* order[B] by decreasing length, and rows[s] = the (s+1)-th largest length (0 past B).
   Returns 0, or -1 on OOM. */
static int length_order(const fs_batch *batch, int64_t **order, int64_t rows[FS_G]) {
    const int64_t B = batch->n_seqs;
    int64_t b, sorted = 1;
    int s;
    *order = (int64_t *)malloc(sizeof(int64_t) * (B > 0 ? B : 1));
    if (!*order) return -1;
    for (b = 0; b < B; b++) {
        (*order)[b] = b;
        if (b > 0 && batch->lengths[b] > batch->lengths[b - 1]) sorted = 0;
    }
    if (!sorted) {
        fs_key *keys = (fs_key *)malloc(sizeof(fs_key) * B);
        if (!keys) {
            free(*order);
            return -1;
        }
        for (b = 0; b < B; b++) {
            keys[b].len = batch->lengths[b];
            keys[b].idx = b;
        }
        qsort(keys, (size_t)B, sizeof(fs_key), by_length_desc);
        for (b = 0; b < B; b++) (*order)[b] = keys[b].idx;
        free(keys);
    }
    for (s = 0; s < FS_G; s++) rows[s] = s < B ? batch->lengths[(*order)[s]] : 0;
    if (rows[0] < 1) rows[0] = 1;
    return 0;
}

/* How a kernel can run small models (lanes.h): not in lanes, Viterbi's lanes, sum-product
   lanes. */
enum { FS_NO_LANES, FS_VITERBI_LANES, FS_SUM_LANES };

#define FS_T float
#define FS_SFX f32
#define FS_IS_DOUBLE 0
#include "kernels_impl.h"
#undef FS_T
#undef FS_SFX
#undef FS_IS_DOUBLE

#define FS_T double
#define FS_SFX f64
#define FS_IS_DOUBLE 1
#include "kernels_impl.h"
#undef FS_T
#undef FS_SFX
#undef FS_IS_DOUBLE

#include "sparse_trans.h"
