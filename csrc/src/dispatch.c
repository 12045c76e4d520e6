/*
 * Public entry points: each call runs the kernel variant its batch asks for (batch->simd),
 * FS_SIMD_AUTO meaning the best this CPU supports. The choice is made per call, from the
 * batch and the CPU's features, so threads never see each other's choice. Also the build
 * and run-time facts shown by fastseq.show_config().
 */
#include <string.h>

#include "control.h"
#include "sparse_call.h"
#include "stream.h"
#include "fastseq/fastseq.h"

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define FS_HAVE_FORK 1
#endif

/* Set in a child forked after a kernel ran (the only state the library keeps: it is the
   process's, not a call's). */
static int forked_child = 0;

#ifdef FS_HAVE_FORK
static void on_fork_child(void) { ctl_store(&forked_child, 1); }
static void register_fork_handler(void) { pthread_atfork(NULL, NULL, on_fork_child); }
static pthread_once_t fork_handler_once = PTHREAD_ONCE_INIT;
#endif

int fs_thread_count(int requested) {
    int n = requested < 1 ? 1 : requested;
#ifdef FS_HAVE_FORK
    pthread_once(&fork_handler_once, register_fork_handler);
#endif
    if (ctl_load(&forked_child)) return 1;
#ifdef _OPENMP
    if (n > omp_get_num_procs()) n = omp_get_num_procs();
#else
    n = 1;
#endif
    return n < 1 ? 1 : n;
}

#define FS_VARIANTS(SFX, T, ISA)                                                           \
    int fs_forward_##SFX##_##ISA(FS_MODEL_ARGS(T), T *, double *);                         \
    int fs_backward_##SFX##_##ISA(FS_MODEL_ARGS(T), T *);                                  \
    int fs_marginals_##SFX##_##ISA(FS_MODEL_ARGS(T), T *, T *, double *);                  \
    int fs_viterbi_##SFX##_##ISA(FS_MODEL_ARGS(T), int64_t *, double *);                   \
    int fs_kbest_##SFX##_##ISA(FS_MODEL_ARGS(T), int64_t, const int64_t *, int64_t,        \
                               int64_t *, double *);                                       \
    int fs_sequence_score_##SFX##_##ISA(FS_MODEL_ARGS(T), const int64_t *, double *);      \
    int fs_crf_nll_##SFX##_##ISA(FS_MODEL_ARGS(T), const int64_t *, double *, T *, T *,    \
                                 T *, T *);

#define FS_SPARSE_VARIANTS(ISA)                                                             \
    int fs_csr_matmul_##ISA(int64_t, int64_t, const int64_t *, const int32_t *,            \
                            const double *, const double *, int64_t, int64_t, double *);    \
    int fs_csr_tmatmul_add_##ISA(int64_t, int64_t, const int64_t *, const int32_t *,       \
                                 const double *, const double *, int64_t, double *,         \
                                 int64_t);                                                  \
    int fs_feature_scores_add_##ISA(int64_t, int64_t, const int64_t *, const int32_t *,    \
                                    const int32_t *, const double *, const double *,        \
                                    int64_t, double *);                                     \
    int fs_feature_grads_add_##ISA(int64_t, int64_t, const int64_t *, const int32_t *,     \
                                   const int32_t *, const double *, const double *,         \
                                   int64_t, double *);

int fs_sparse_run_generic(const fs_sparse_call *c);
int fs_stream_run_generic(fs_stream *st, const void *rows, int f32, int64_t n_steps,
                          int n_threads);
#ifdef FS_HAVE_AVX2
int fs_stream_run_avx2(fs_stream *st, const void *rows, int f32, int64_t n_steps,
                       int n_threads);
#endif
#ifdef FS_HAVE_AVX512
int fs_stream_run_avx512(fs_stream *st, const void *rows, int f32, int64_t n_steps,
                         int n_threads);
#endif
#ifdef FS_HAVE_AVX2
int fs_sparse_run_avx2(const fs_sparse_call *c);
#endif
#ifdef FS_HAVE_AVX512
int fs_sparse_run_avx512(const fs_sparse_call *c);
#endif

FS_VARIANTS(f32, float, generic)
FS_VARIANTS(f64, double, generic)
FS_SPARSE_VARIANTS(generic)
#ifdef FS_HAVE_AVX2
FS_VARIANTS(f32, float, avx2)
FS_VARIANTS(f64, double, avx2)
FS_SPARSE_VARIANTS(avx2)
#endif
#ifdef FS_HAVE_AVX512
FS_VARIANTS(f32, float, avx512)
FS_VARIANTS(f64, double, avx512)
FS_SPARSE_VARIANTS(avx512)
#endif

/* __builtin_cpu_supports reads the features that libgcc detects once, in a constructor that
   runs when the library is loaded, before any call can get here: reading them needs no
   synchronisation, and costs a few loads per call. */
int fs_simd_supported(int simd) {
    switch (simd) {
        case FS_SIMD_AUTO:
        case FS_SIMD_GENERIC: return 1;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#ifdef FS_HAVE_AVX2
        case FS_SIMD_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
#ifdef FS_HAVE_AVX512
        case FS_SIMD_AVX512:
            return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                   __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
#endif
#endif
        default: return 0;
    }
}

static int best_simd(void) {
    if (fs_simd_supported(FS_SIMD_AVX512)) return FS_SIMD_AVX512;
    if (fs_simd_supported(FS_SIMD_AVX2)) return FS_SIMD_AVX2;
    return FS_SIMD_GENERIC;
}

/* The variant a call asking for `simd` runs; -1 when this build or CPU cannot run it. */
static int call_simd(int simd) {
    if (simd == FS_SIMD_AUTO) return best_simd();
    return fs_simd_supported(simd) ? simd : -1;
}

static const char *const simd_names[] = {"generic", "avx2", "avx512"}; /* from GENERIC on */

const char *fs_simd_name(int simd) {
    if (simd < FS_SIMD_GENERIC || simd > FS_SIMD_AVX512) return NULL;
    return simd_names[simd - FS_SIMD_GENERIC];
}

int fs_simd_from_name(const char *name) {
    int simd;
    for (simd = FS_SIMD_GENERIC; name && simd <= FS_SIMD_AVX512; simd++)
        if (strcmp(name, fs_simd_name(simd)) == 0) return simd;
    return -1;
}

const char *fs_simd_level(void) { return fs_simd_name(best_simd()); }

#ifdef FS_HAVE_AVX512
#define FS_CALL_AVX512(fn, ...) case FS_SIMD_AVX512: return fn##_avx512(__VA_ARGS__);
#else
#define FS_CALL_AVX512(fn, ...)
#endif
#ifdef FS_HAVE_AVX2
#define FS_CALL_AVX2(fn, ...) case FS_SIMD_AVX2: return fn##_avx2(__VA_ARGS__);
#else
#define FS_CALL_AVX2(fn, ...)
#endif
#define FS_DISPATCH_ON(simd, fn, ...)                           \
    switch (call_simd(simd)) {                                  \
        FS_CALL_AVX512(fn, __VA_ARGS__)                         \
        FS_CALL_AVX2(fn, __VA_ARGS__)                           \
        case FS_SIMD_GENERIC: return fn##_generic(__VA_ARGS__); \
        default: return FS_ERR_UNSUPPORTED;                     \
    }
#define FS_DISPATCH(fn, ...) FS_DISPATCH_ON(batch->simd, fn, __VA_ARGS__)

#define FS_PUBLIC(SFX, T)                                                                   \
    int fs_forward_##SFX(FS_MODEL_ARGS(T), T *log_alpha, double *log_Z) {                   \
        FS_DISPATCH(fs_forward_##SFX, batch, em, trans, start, end, log_alpha, log_Z)       \
    }                                                                                       \
    int fs_backward_##SFX(FS_MODEL_ARGS(T), T *log_beta) {                                  \
        FS_DISPATCH(fs_backward_##SFX, batch, em, trans, start, end, log_beta)              \
    }                                                                                       \
    int fs_marginals_##SFX(FS_MODEL_ARGS(T), T *node, T *pair, double *log_Z) {             \
        FS_DISPATCH(fs_marginals_##SFX, batch, em, trans, start, end, node, pair, log_Z)    \
    }                                                                                       \
    int fs_viterbi_##SFX(FS_MODEL_ARGS(T), int64_t *paths, double *scores) {                \
        FS_DISPATCH(fs_viterbi_##SFX, batch, em, trans, start, end, paths, scores)          \
    }                                                                                       \
    int fs_kbest_##SFX(FS_MODEL_ARGS(T), int64_t k, const int64_t *path_base,               \
                       int64_t rank_stride, int64_t *paths, double *scores) {               \
        FS_DISPATCH(fs_kbest_##SFX, batch, em, trans, start, end, k, path_base,             \
                    rank_stride, paths, scores)                                             \
    }                                                                                       \
    int fs_sequence_score_##SFX(FS_MODEL_ARGS(T), const int64_t *tags, double *scores) {    \
        FS_DISPATCH(fs_sequence_score_##SFX, batch, em, trans, start, end, tags, scores)    \
    }                                                                                       \
    int fs_crf_nll_##SFX(FS_MODEL_ARGS(T), const int64_t *tags, double *nll, T *g_em,       \
                         T *g_pair, T *g_start, T *g_end) {                                 \
        FS_DISPATCH(fs_crf_nll_##SFX, batch, em, trans, start, end, tags, nll, g_em,        \
                    g_pair, g_start, g_end)                                                 \
    }

FS_PUBLIC(f32, float)
FS_PUBLIC(f64, double)

/* The sparse-transition kernels: one entry per ISA for both types and every kernel. */
static int sparse_call(fs_sparse_call *c) {
    FS_DISPATCH_ON(c->batch->simd, fs_sparse_run, c)
}

#define FS_PUBLIC_SPARSE(SFX, T, F32)                                                        \
    int fs_sparse_forward_##SFX(FS_SPARSE_ARGS(T), T *log_alpha, double *log_Z) {            \
        fs_sparse_call c = {FS_SP_FORWARD, F32, batch, moves, em, trans, start, end,         \
                            log_alpha, NULL, log_Z, NULL, NULL, 0, 0, NULL};                 \
        return sparse_call(&c);                                                              \
    }                                                                                        \
    int fs_sparse_backward_##SFX(FS_SPARSE_ARGS(T), T *log_beta) {                           \
        fs_sparse_call c = {FS_SP_BACKWARD, F32, batch, moves, em, trans, start, end,        \
                            log_beta, NULL, NULL, NULL, NULL, 0, 0, NULL};                   \
        return sparse_call(&c);                                                              \
    }                                                                                        \
    int fs_sparse_marginals_##SFX(FS_SPARSE_ARGS(T), T *node, T *pair, double *log_Z) {      \
        fs_sparse_call c = {FS_SP_MARGINALS, F32, batch, moves, em, trans, start, end,       \
                            node, pair, log_Z, NULL, NULL, 0, 0, NULL};                      \
        return sparse_call(&c);                                                              \
    }                                                                                        \
    int fs_sparse_viterbi_##SFX(FS_SPARSE_ARGS(T), int64_t *paths, double *scores) {         \
        fs_sparse_call c = {FS_SP_VITERBI, F32, batch, moves, em, trans, start, end,         \
                            NULL, NULL, NULL, paths, scores, 0, 0, NULL};                    \
        return sparse_call(&c);                                                              \
    }                                                                                        \
    int fs_sparse_kbest_##SFX(FS_SPARSE_ARGS(T), int64_t k, const int64_t *path_base,        \
                              int64_t rank_stride, int64_t *paths, double *scores) {         \
        fs_sparse_call c = {FS_SP_KBEST, F32, batch, moves, em, trans, start, end,           \
                            NULL, NULL, NULL, paths, scores, k, rank_stride, path_base};     \
        return sparse_call(&c);                                                              \
    }

FS_PUBLIC_SPARSE(f32, float, 1)
FS_PUBLIC_SPARSE(f64, double, 0)

/* The online decoders' step loop, in the variant the stream was created for. */
int fs_stream_run(fs_stream *st, const void *rows, int f32, int64_t n_steps, int n_threads) {
    FS_DISPATCH_ON(st->cfg.simd, fs_stream_run, st, rows, f32, n_steps, n_threads)
}

/* The sparse products of CRF training (no batch: the variant is an argument). */
int fs_csr_matmul(int64_t r0, int64_t r1, const int64_t *indptr, const int32_t *indices,
                  const double *data, const double *W, int64_t ldw, int64_t N, double *out,
                  int simd) {
    if (r1 <= r0) return FS_OK;
    if (N < 1 || ldw < N || ldw % 8 != 0) return FS_ERR_INVALID;
    FS_DISPATCH_ON(simd, fs_csr_matmul, r0, r1, indptr, indices, data, W, ldw, N, out)
}

int fs_csr_tmatmul_add(int64_t r0, int64_t r1, const int64_t *indptr, const int32_t *indices,
                       const double *data, const double *G, int64_t N, double *out,
                       int64_t ldo, int simd) {
    if (r1 <= r0) return FS_OK;
    if (N < 1 || ldo < N || ldo % 8 != 0) return FS_ERR_INVALID;
    FS_DISPATCH_ON(simd, fs_csr_tmatmul_add, r0, r1, indptr, indices, data, G, N, out, ldo)
}

int fs_feature_scores_add(int64_t r0, int64_t r1, const int64_t *indptr, const int32_t *feat,
                          const int32_t *col, const double *data, const double *w, int64_t N,
                          double *out, int simd) {
    if (r1 <= r0) return FS_OK;
    FS_DISPATCH_ON(simd, fs_feature_scores_add, r0, r1, indptr, feat, col, data, w, N, out)
}

int fs_feature_grads_add(int64_t r0, int64_t r1, const int64_t *indptr, const int32_t *feat,
                         const int32_t *col, const double *data, const double *G, int64_t N,
                         double *gw, int simd) {
    if (r1 <= r0) return FS_OK;
    FS_DISPATCH_ON(simd, fs_feature_grads_add, r0, r1, indptr, feat, col, data, G, N, gw)
}

const char *fs_version(void) { return FASTSEQ_VERSION_STRING; }

int fs_openmp_enabled(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int fs_max_threads(void) {
#ifdef _OPENMP
    return fs_thread_count(omp_get_max_threads());
#else
    return 1;
#endif
}

const char *fs_status_name(int status) {
    switch (status) {
        case FS_OK: return "FS_OK";
        case FS_ERR_NOMEM: return "FS_ERR_NOMEM";
        case FS_ERR_INVALID: return "FS_ERR_INVALID";
        case FS_ERR_INTERNAL: return "FS_ERR_INTERNAL";
        case FS_ERR_UNSUPPORTED: return "FS_ERR_UNSUPPORTED";
        case FS_ERR_INTERRUPTED: return "FS_ERR_INTERRUPTED";
        default: return "unknown status";
    }
}
