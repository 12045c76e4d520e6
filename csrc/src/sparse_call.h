/*
 * One call of a sparse-transition kernel (fs_sparse_* in fastseq.h), as dispatch.c hands it
 * to the variant of the chosen instruction set (sparse_trans.h): the kernels are written
 * once for both input types, which only matter when emissions are read and outputs written.
 */
#ifndef FASTSEQ_SPARSE_CALL_H
#define FASTSEQ_SPARSE_CALL_H

#include "fastseq/fastseq.h"

enum { FS_SP_FORWARD, FS_SP_BACKWARD, FS_SP_MARGINALS, FS_SP_VITERBI, FS_SP_KBEST };

typedef struct {
    int op;                   /* FS_SP_* */
    int f32;                  /* 1: em, trans, start, end and the T-typed outputs are float */
    const fs_batch *batch;
    const fs_pattern *moves;
    const void *em, *trans, *start, *end; /* start, end may be NULL */
    void *rows;               /* log_alpha, log_beta or node ([rows][N]; NULL: not wanted) */
    void *pair;               /* marginals: [B][nnz] or NULL */
    double *log_Z;            /* forward, marginals */
    int64_t *paths;           /* viterbi, kbest */
    double *scores;           /* viterbi, kbest */
    int64_t k, rank_stride;   /* kbest */
    const int64_t *path_base; /* kbest */
} fs_sparse_call;

#endif /* FASTSEQ_SPARSE_CALL_H */
