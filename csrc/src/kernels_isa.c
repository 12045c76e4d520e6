/*
 * One instantiation of every kernel for one instruction set. CMake compiles this file once
 * per ISA (FS_ISA = generic, avx2, avx512) with that ISA's flags only; dispatch.c picks the
 * variant at run time. The loops are written so that the compiler vectorises them.
 */
#include "fastseq/fastseq.h"
#include "lattice.h"

#ifndef FS_ISA
#define FS_ISA generic
#endif

#ifdef _OPENMP
#define FS_PRAGMA_(x) _Pragma(#x)
#define FS_OMP(x) FS_PRAGMA_(omp x)
#else
#define FS_OMP(x)
#endif

/* Per-thread scratch. */
enum { WS_EM = 1, WS_F = 2, WS_B = 4, WS_PAIR = 8, WS_VIT = 16, WS_KBEST = 32 };

typedef struct {
    void *block;
    double *em;          /* [Tmax][N] emissions converted to double (float input) */
    fs_lattice F, Bk;    /* forward / backward lattices */
    double *tmp;         /* [4N] */
    double *P, *Ps;      /* [N][N] pair accumulators */
    double *kd;          /* [2][N][k] k-best scores */
    int64_t *arg;        /* [2N] */
    int32_t *bp32;       /* [Tmax][N] Viterbi back-pointers */
    int64_t *bp64;       /* [Tmax][N][k] k-best back-pointers */
} fs_ws;

static int lattice_carve(fs_lattice *L, char **p, int64_t T, int64_t N) {
    L->v = (double *)*p;
    *p += sizeof(double) * T * N;
    L->c = (double *)*p;
    *p += sizeof(double) * T;
    L->is_log = (unsigned char *)*p;
    *p += ((size_t)T + 7) & ~(size_t)7;
    return 0;
}

static int ws_alloc(fs_ws *ws, int64_t T, int64_t N, int64_t k, int need) {
    size_t lat = sizeof(double) * (size_t)(T * N + T) + (((size_t)T + 7) & ~(size_t)7);
    size_t bytes = sizeof(double) * 4 * N + sizeof(int64_t) * 2 * N;
    char *p;
    if (need & WS_EM) bytes += sizeof(double) * T * N;
    if (need & WS_F) bytes += lat;
    if (need & WS_B) bytes += lat;
    if (need & WS_PAIR) bytes += sizeof(double) * 2 * N * N;
    if (need & WS_VIT) bytes += sizeof(int32_t) * T * N + 8;
    if (need & WS_KBEST) bytes += sizeof(double) * 2 * N * k + sizeof(int64_t) * T * N * k;
    memset(ws, 0, sizeof(*ws));
    ws->block = malloc(bytes);
    if (!ws->block) return -1;
    p = (char *)ws->block;
    ws->tmp = (double *)p;
    p += sizeof(double) * 4 * N;
    ws->arg = (int64_t *)p;
    p += sizeof(int64_t) * 2 * N;
    if (need & WS_EM) { ws->em = (double *)p; p += sizeof(double) * T * N; }
    if (need & WS_F) lattice_carve(&ws->F, &p, T, N);
    if (need & WS_B) lattice_carve(&ws->Bk, &p, T, N);
    if (need & WS_PAIR) { ws->P = (double *)p; ws->Ps = ws->P + N * N; p += sizeof(double) * 2 * N * N; }
    if (need & WS_KBEST) {
        ws->kd = (double *)p;
        p += sizeof(double) * 2 * N * k;
        ws->bp64 = (int64_t *)p;
        p += sizeof(int64_t) * T * N * k;
    }
    if (need & WS_VIT) ws->bp32 = (int32_t *)p;
    return 0;
}

static void ws_free(fs_ws *ws) { free(ws->block); }

static int64_t max_length(const fs_batch *batch) {
    int64_t b, m = 1;
    for (b = 0; b < batch->n_seqs; b++)
        if (batch->lengths[b] > m) m = batch->lengths[b];
    return m;
}

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
