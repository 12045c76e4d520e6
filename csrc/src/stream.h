/*
 * The state of the online decoders (fastseq.h's fs_stream): shared by stream.c (creation,
 * the back-pointer trees, commits, flush) and the per-ISA step loop (stream_step.h).
 */
#ifndef FASTSEQ_STREAM_H
#define FASTSEQ_STREAM_H

#include <stdint.h>

#include "fastseq/fastseq.h"

#define FS_STREAM_BLOCK_MAX 16

/* The open part of one stream's Viterbi lattice: for each position s >= base not yet
   committed, the back-pointers of every state and the set of the states still on some
   path to the newest position (the live nodes, a bit set of W = ceil(N / 64) words), in a
   ring of cap columns (a power of two; position s in column s & (cap - 1)). Positions
   where one node is left are committed. Back-pointers take the narrowest of 1, 2 or 4
   bytes that holds N - 1 (pw): with 1,024 streams at N=45, int32 columns overflowed the L2
   cache and a push per step waited on them. */
typedef struct {
    int64_t cap, base;
    void *parent;     /* [cap][N] back-pointer of node (s, j): its state at s - 1 */
    uint64_t *live;   /* [cap][W] the live states */
    uint64_t *tmp;    /* [W] */
    int64_t *out;     /* committed labels not yet taken: out[head .. head + n_out) */
    int64_t head, n_out, out_cap;
    int dead;         /* no path is left: every position commits -1 */
} fs_tree;

struct fs_stream {
    fs_stream_config cfg;
    int64_t N, Np, B, W;  /* W: words of a set of states */
    int pw;            /* bytes of a back-pointer */
    int64_t t;         /* observations pushed to each stream */
    int flushed, broken;
    double *trans;     /* [N][N] */
    double *start;     /* [N] */
    double *end;       /* [N] */
    double *TP;        /* [N][Np] trans with -inf padding (the Viterbi step) */
    double *TPT;       /* [N][Np] its transpose, -inf padding (the back-pointers) */
    double *Ac;        /* [N][Np] exp(trans[i][j] - cmax[j]), 0 padding (the filter step) */
    double *cmax;      /* [Np] column maxima of trans (-inf: no move into j) */
    double *delta;     /* [B][2][Np] Viterbi scores, position s in row s & 1 (-inf padding) */
    double *flog;      /* [B][Np] log filter relative to its maximum (-inf padding) */
    double *fz;        /* [B] the filter's log offset */
    double *final;     /* [B] the final scores, after flush */
    void *scratch;     /* the calling thread's step scratch */
    fs_tree *trees;    /* [B] */
};

/* Positions that a push of several takes into the trees at once in exact mode
   (stream_step.h): a block's scores, maxima and chunks of 4 streams stay within 256 KB. */
static inline int64_t fs_stream_block(int64_t Np) {
    const int64_t k = 32768 / (4 * 3 * Np);
    return k < 1 ? 1 : k > FS_STREAM_BLOCK_MAX ? FS_STREAM_BLOCK_MAX : k;
}

/* Step scratch for one thread, in bytes. */
int64_t fs_stream_scratch_bytes(int64_t N, int64_t Np);

/* The per-ISA step loop: n_steps rows of every stream. */
int fs_stream_run(fs_stream *st, const void *rows, int f32, int64_t n_steps, int n_threads);

#endif /* FASTSEQ_STREAM_H */
