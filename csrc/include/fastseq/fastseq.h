/*
 * fastseq: C kernels for linear-chain models (HMMs and CRFs).
 *
 * Pure C99, no Python. Every kernel exists for float (_f32) and double (_f64) inputs; the
 * arithmetic is done in double either way, outputs are written in the input type (scores,
 * log-partitions and negative log-likelihoods always in double).
 *
 * The model: N states, for each sequence T positions,
 *   score(y) = start[y0] + sum_t em[t][y_t] + sum_{t>0} trans[y_{t-1}][y_t] + end[y_{T-1}],
 *   log_Z    = log sum_y exp(score(y)).
 * -inf entries are forbidden moves and are handled exactly. NaN and +inf must not be passed
 * (the Python layer rejects them).
 *
 * Batches (fs_batch). Emission-shaped arrays are row-major [rows][N], C-contiguous.
 * Sequence b occupies rows offsets[b] .. offsets[b] + lengths[b] - 1. This covers both the
 * concatenated layout (offsets = cumulative lengths) and the padded one
 * (offsets[b] = b * T_max) without copies.
 *
 * Outputs are allocated by the caller, in the shapes given with each kernel below. Outputs
 * shaped like emissions use the same rows; rows outside every sequence are not touched (the
 * caller zero-fills them). Per-sequence outputs are [B]; pair outputs [B][N][N].
 *
 * Threads: sequences are spread over up to batch->n_threads threads, the calling thread
 * and workers of a persistent pool that join it while work is left (at most the processors
 * available; one without OpenMP, whose settings give the default count, and in a process
 * forked after the kernels ran on several threads, since a thread pool does not survive
 * fork). Each sequence is computed by one thread in a fixed order of operations, so every
 * result is bitwise identical for any n_threads. The library keeps no state between calls:
 * calls from different threads may run at the same time.
 *
 * SIMD: every kernel is compiled for several instruction sets (fs_simd); batch->simd picks
 * the variant for that call, FS_SIMD_AUTO (0) the best this CPU supports. Variants agree to
 * rounding, not bitwise (their vector widths and fused multiply-adds differ).
 *
 * Every function returns an fs_status: FS_OK (0), FS_ERR_NOMEM when scratch memory could
 * not be allocated, FS_ERR_UNSUPPORTED when batch->simd names a variant this build or CPU
 * cannot run, FS_ERR_INTERRUPTED when batch->interrupt stopped it; outputs are unspecified
 * after an error. Kernels trust their inputs (shapes,
 * ranges): the Python layer validates them once, before releasing the GIL.
 *
 * Other packages build against this header and the static library the Python package
 * ships (fastseq.get_build_info() gives the flags); the rules are in docs/c-api.rst.
 */
#ifndef FASTSEQ_H
#define FASTSEQ_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of fastseq; the Python package's version is read from these three lines. */
#define FASTSEQ_VERSION_MAJOR 0
#define FASTSEQ_VERSION_MINOR 1
#define FASTSEQ_VERSION_PATCH 0
#define FASTSEQ_STRINGIFY_(x) #x
#define FASTSEQ_STRINGIFY(x) FASTSEQ_STRINGIFY_(x)
#define FASTSEQ_VERSION_STRING                   \
    FASTSEQ_STRINGIFY(FASTSEQ_VERSION_MAJOR) "." \
    FASTSEQ_STRINGIFY(FASTSEQ_VERSION_MINOR) "." \
    FASTSEQ_STRINGIFY(FASTSEQ_VERSION_PATCH)
/* One number for compile-time checks (0.1.0 is 100; 1.2.3 is 10203). At run time,
   strcmp(fs_version(), FASTSEQ_VERSION_STRING) == 0 when the header and the linked library
   come from the same release. What a change of each number means: docs/c-api.rst. */
#define FASTSEQ_VERSION_NUMBER \
    (FASTSEQ_VERSION_MAJOR * 10000 + FASTSEQ_VERSION_MINOR * 100 + FASTSEQ_VERSION_PATCH)

typedef enum fs_status {
    FS_OK = 0,
    FS_ERR_NOMEM = -1,      /* scratch allocation failed */
    FS_ERR_INVALID = -2,    /* inconsistent sizes (the sparse products; the kernels do not
                               check) */
    FS_ERR_INTERNAL = -3,   /* reserved */
    FS_ERR_UNSUPPORTED = -4, /* batch->simd names a variant this build or CPU cannot run */
    FS_ERR_INTERRUPTED = -5  /* batch->interrupt asked the kernel to stop */
} fs_status;

/* The kernel variants, one per instruction set. */
typedef enum fs_simd {
    FS_SIMD_AUTO = 0,    /* the best variant this CPU supports */
    FS_SIMD_GENERIC = 1, /* portable (SSE2 on x86-64) */
    FS_SIMD_AVX2 = 2,    /* AVX2 + FMA */
    FS_SIMD_AVX512 = 3   /* AVX-512 F, DQ, BW and VL */
} fs_simd;

/* The batch description shared by every kernel. */
typedef struct fs_batch {
    int64_t n_states;        /* N >= 1 */
    int64_t n_seqs;          /* B >= 0 */
    const int64_t *offsets;  /* [B] first row of each sequence */
    const int64_t *lengths;  /* [B] number of rows of each sequence (>= 0) */
    int n_threads;           /* >= 1; more than the processors this process may use counts
                                as that many, and a forked child runs one thread */
    int simd;                /* an fs_simd: FS_SIMD_AUTO, or a variant fs_simd_supported()
                                accepts (else the kernel returns FS_ERR_UNSUPPORTED) */
    /* Optional (NULL: never): asked by the calling thread about every 50 ms of work; a
       non-zero answer stops the kernel, which returns FS_ERR_INTERRUPTED. Python's binding
       uses it to act on Ctrl-C during long calls. */
    int (*interrupt)(void *ctx);
    void *interrupt_ctx;
} fs_batch;

/* Arguments common to every kernel, for one dtype. start/end may be NULL (= zeros). */
#define FS_MODEL_ARGS(T) \
    const fs_batch *batch, const T *em, const T *trans, const T *start, const T *end

#define FS_DECLARE(SFX, T)                                                                 \
    /* log_alpha [rows][N] (NULL: not stored); log_Z [B]. */                               \
    int fs_forward_##SFX(FS_MODEL_ARGS(T), T *log_alpha, double *log_Z);                   \
    /* log_beta [rows][N], log_beta[T-1] = end. */                                         \
    int fs_backward_##SFX(FS_MODEL_ARGS(T), T *log_beta);                                  \
    /* node [rows][N] or NULL; pair [B][N][N] or NULL (expected transition counts);       \
       log_Z [B]. Sequences with log_Z = -inf get zero marginals. */                       \
    int fs_marginals_##SFX(FS_MODEL_ARGS(T), T *node, T *pair, double *log_Z);             \
    /* paths [rows] (-1 when no path exists); scores [B]. */                              \
    int fs_viterbi_##SFX(FS_MODEL_ARGS(T), int64_t *paths, double *scores);                \
    /* The k best distinct paths: rank r of sequence b, position t is written at          \
       paths[path_base[b] + r * rank_stride + t]; scores [B][k] best first; missing       \
       paths are -1 with score -inf. */                                                    \
    int fs_kbest_##SFX(FS_MODEL_ARGS(T), int64_t k, const int64_t *path_base,              \
                       int64_t rank_stride, int64_t *paths, double *scores);               \
    /* Score of given paths: tags [rows] in [0, N); scores [B]. */                        \
    int fs_sequence_score_##SFX(FS_MODEL_ARGS(T), const int64_t *tags, double *scores);    \
    /* CRF negative log-likelihood nll[b] = log_Z - score(tags) and its gradients, per    \
       sequence: g_em [rows][N] (node marginals - one-hot tags), g_pair [B][N][N]         \
       (pair marginals - gold transition counts), g_start [B][N], g_end [B][N]. */        \
    int fs_crf_nll_##SFX(FS_MODEL_ARGS(T), const int64_t *tags, double *nll, T *g_em,      \
                         T *g_pair, T *g_start, T *g_end);

FS_DECLARE(f32, float)
FS_DECLARE(f64, double)

/* Sparse transitions: the allowed moves of an N x N transition matrix in CSR form, row i
   holding the moves out of state i: i -> indices[p], scored trans[p] (-inf allowed), for
   indptr[i] <= p < indptr[i + 1]; indptr[0] = 0, indptr[N] = nnz, and within a row the
   columns are in [0, N) and strictly increasing (the caller checks; the kernels trust it).
   Moves not stored are forbidden. Each kernel computes what its dense namesake above does
   on the dense matrix with -inf in the missing places, at O(T nnz) per sequence instead of
   O(T N^2), with rows kept as logs (a log-sum-exp or a maximum over each state's incoming
   moves; the sums are made as products of exps where that is exact to rounding): paths and Viterbi scores are the dense kernels' bit for bit (same sums, ties to
   the lowest state), the rest agrees to rounding. Pair outputs are [B][nnz], entry p
   belonging to the move p. Scratch per thread: about 8 N W (K + 7) bytes for marginals and
   Viterbi (K the longest sequence, W = the SIMD width in doubles, or 1 for a batch of one
   sequence or when that would exceed 256 MiB), 8 N W 8 bytes otherwise, plus 8 nnz W for
   the pair sums; per call, 8 (4 nnz + 4 N) + 12 nnz + 16 N bytes for the model. */
typedef struct fs_pattern {
    int64_t nnz;
    const int64_t *indptr;  /* [N + 1] */
    const int32_t *indices; /* [nnz] */
} fs_pattern;

#define FS_SPARSE_ARGS(T)                                                                  \
    const fs_batch *batch, const T *em, const fs_pattern *moves, const T *trans,           \
        const T *start, const T *end

#define FS_DECLARE_SPARSE(SFX, T)                                                          \
    int fs_sparse_forward_##SFX(FS_SPARSE_ARGS(T), T *log_alpha, double *log_Z);           \
    int fs_sparse_backward_##SFX(FS_SPARSE_ARGS(T), T *log_beta);                          \
    int fs_sparse_marginals_##SFX(FS_SPARSE_ARGS(T), T *node, T *pair, double *log_Z);     \
    int fs_sparse_viterbi_##SFX(FS_SPARSE_ARGS(T), int64_t *paths, double *scores);         \
    int fs_sparse_kbest_##SFX(FS_SPARSE_ARGS(T), int64_t k, const int64_t *path_base,       \
                              int64_t rank_stride, int64_t *paths, double *scores);

FS_DECLARE_SPARSE(f32, float)
FS_DECLARE_SPARSE(f64, double)

/* The sparse products of CRF training, for rows r0 <= r < r1 of a CSR matrix X (row r's
   entries: column indices[p], value data[p] (1 when data is NULL), for indptr[r] <= p <
   indptr[r + 1]; columns are not checked) and N >= 1 columns of dense rows. Row strides ldw and ldo are multiples
   of 8 and at least N, so that whole vectors can be read and written; padding columns of
   W are read, those of out receive zeros added.
   fs_csr_matmul:      out[r][j] = sum_p data[p] * W[indices[p]][j]  (out rows N apart)
   fs_csr_tmatmul_add: out[indices[p]][j] += data[p] * G[r][j], in the order of r then p
                       (G rows N apart)
   simd: an FS_SIMD_* value. FS_ERR_INVALID on bad sizes, FS_ERR_UNSUPPORTED as above. */
int fs_csr_matmul(int64_t r0, int64_t r1, const int64_t *indptr, const int32_t *indices,
                  const double *data, const double *W, int64_t ldw, int64_t N, double *out,
                  int simd);
int fs_csr_tmatmul_add(int64_t r0, int64_t r1, const int64_t *indptr, const int32_t *indices,
                       const double *data, const double *G, int64_t N, double *out,
                       int64_t ldo, int simd);
/* The same for attributes with a few labels, feature by feature: entry q of row r is feature
   feat[q] in column col[q] in [0, N) (its label; not checked), with value data[q] (1 when
   data is NULL).
   fs_feature_scores_add: out[r][col[q]] += data[q] * w[feat[q]]   (out rows N apart)
   fs_feature_grads_add:  gw[feat[q]] += data[q] * G[r][col[q]]    (G rows N apart)
   both in the order of r, then q. */
int fs_feature_scores_add(int64_t r0, int64_t r1, const int64_t *indptr, const int32_t *feat,
                          const int32_t *col, const double *data, const double *w, int64_t N,
                          double *out, int simd);
int fs_feature_grads_add(int64_t r0, int64_t r1, const int64_t *indptr, const int32_t *feat,
                         const int32_t *col, const double *data, const double *G, int64_t N,
                         double *gw, int simd);

/* Online decoding: B independent streams of one model, advanced together one observation
   (a row of N scores per stream) at a time. Each stream keeps its Viterbi scores and the
   back-pointers of the positions not yet committed, as a tree whose branches die with
   their last descendant (the on-line Viterbi algorithm of Sramek, Brejova and Vinar, 2007):
   a position is committed once every surviving path agrees on it, so the committed labels
   are those of the offline Viterbi path of the whole stream (fs_viterbi_* on the same
   rows, bit for bit), and memory is bounded by the distance back to that agreement, not by
   the stream's length. With max_lag = L >= 0 a position is also committed at most L
   observations after its own: the best path at that moment is taken up to there and every
   path that leaves it is dropped, so the committed labels stay one path. fs_stream_flush
   ends every stream (end scores added, the best final state's path committed).
   A stream no path reaches (every score -inf) commits -1 for its open positions and for
   every later one. The model is copied at creation; the scores are kept in double, rows of
   either type are widened exactly. One stream object must not be used by two threads at
   once; different objects are independent. */
typedef struct fs_stream fs_stream;

typedef struct fs_stream_config {
    int64_t n_states;  /* N >= 1 */
    int64_t n_streams; /* B >= 1 */
    int64_t max_lag;   /* -1: commit only where the paths agree (exact); L >= 0: also L
                          observations behind the newest */
    int filter;        /* 1: also keep p(z_t | x_1..t) (fs_stream_filtered) */
    int simd;          /* an fs_simd */
} fs_stream_config;

/* trans [N][N], start [N], end [N] (start/end NULL: zeros). *out is NULL after an error:
   FS_ERR_INVALID (bad config), FS_ERR_NOMEM, FS_ERR_UNSUPPORTED (simd). */
int fs_stream_create(const fs_stream_config *config, const double *trans, const double *start,
                     const double *end, fs_stream **out);
void fs_stream_free(fs_stream *stream); /* NULL: nothing */
/* Back to position 0 with nothing committed (the model and config kept). */
void fs_stream_reset(fs_stream *stream);
/* Pushes n_steps observations to every stream: rows [n_steps][B][N], C-contiguous. Fails
   with FS_ERR_INVALID after fs_stream_flush (until fs_stream_reset), FS_ERR_NOMEM if a
   stream's tree could not grow (the stream object is then unusable until reset). */
int fs_stream_push_f32(fs_stream *stream, const float *rows, int64_t n_steps, int n_threads);
int fs_stream_push_f64(fs_stream *stream, const double *rows, int64_t n_steps, int n_threads);
int fs_stream_flush(fs_stream *stream);
/* Observations pushed to each stream so far (all streams advance together). */
int64_t fs_stream_position(const fs_stream *stream);
/* Labels committed to stream b and not yet taken. Their positions follow on from the
   labels taken before (every position is committed exactly once, in order). */
int64_t fs_stream_pending(const fs_stream *stream, int64_t b);
/* Moves up to cap of stream b's pending labels into labels[]; returns how many. */
int64_t fs_stream_take(fs_stream *stream, int64_t b, int64_t *labels, int64_t cap);
/* The best Viterbi score of stream b at the newest position (-inf before the first push or
   when no path is left; after flush the final score, end included). */
double fs_stream_best_score(const fs_stream *stream, int64_t b);
/* probs [N] = p(z_t | x_1..t) at the newest position t (zeros when no path is left), and
   *log_evidence = log of the sum over paths of x_1..t (no end scores). FS_ERR_INVALID
   without config->filter or before the first push. */
int fs_stream_filtered(const fs_stream *stream, int64_t b, double *probs,
                       double *log_evidence);

/* Build and run-time facts. */
const char *fs_version(void);       /* FASTSEQ_VERSION_STRING of the compiled library */
int fs_openmp_enabled(void);        /* 1 when compiled with OpenMP */
int fs_max_threads(void);           /* fs_thread_count(omp_get_max_threads()) */
/* The threads a kernel runs on when asked for `requested`: at most the processors this
   process may run on; 1 without OpenMP, and in a child forked after a kernel ran (the
   kernels' thread pool does not survive fork: waiting for it in the child would hang). */
int fs_thread_count(int requested);
/* on = 1: a call made from the thread that calls this, on more than one thread, runs on that
   thread's OpenMP team while the team's threads still spin after a parallel region (another
   library's, such as torch's, in the same OpenMP runtime), and on the kernels' own pool
   otherwise; 0 (the default): always on the pool. Results are the same either way. */
void fs_set_openmp_team(int on);
const char *fs_simd_level(void);    /* the name of the best variant this CPU supports */
int fs_simd_supported(int simd);    /* 1 when this build and CPU can run it (AUTO: 1), else 0 */
const char *fs_simd_name(int simd); /* "generic", "avx2", "avx512"; NULL for other values */
int fs_simd_from_name(const char *name); /* the fs_simd of a variant's name, -1 if unknown */
const char *fs_status_name(int status);

#ifdef __cplusplus
}
#endif
#endif /* FASTSEQ_H */
