/*
 * Public entry points: pick the kernel variant for this CPU once (AVX-512, AVX2 or generic)
 * and forward to it. Also the build and run-time facts shown by fastseq.show_config().
 */
#include <stdlib.h>
#include <string.h>

#include "fastseq/fastseq.h"

#ifdef _OPENMP
#include <omp.h>
#endif

enum { LEVEL_GENERIC = 0, LEVEL_AVX2 = 1, LEVEL_AVX512 = 2 };

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

FS_VARIANTS(f32, float, generic)
FS_VARIANTS(f64, double, generic)
#ifdef FS_HAVE_AVX2
FS_VARIANTS(f32, float, avx2)
FS_VARIANTS(f64, double, avx2)
#endif
#ifdef FS_HAVE_AVX512
FS_VARIANTS(f32, float, avx512)
FS_VARIANTS(f64, double, avx512)
#endif

static int detect_level(void) {
    int level = LEVEL_GENERIC;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
#ifdef FS_HAVE_AVX2
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) level = LEVEL_AVX2;
#endif
#ifdef FS_HAVE_AVX512
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
        level = LEVEL_AVX512;
#endif
#endif
    return level;
}

static int max_level = -1; /* what the CPU supports; written once, same value by any thread */
static int cur_level = -1;

static int level(void) {
    if (cur_level < 0) {
        if (max_level < 0) max_level = detect_level();
        cur_level = max_level;
    }
    return cur_level;
}

static const char *level_names[] = {"generic", "avx2", "avx512"};

const char *fs_simd_level(void) { return level_names[level()]; }

int fs_set_simd_level(const char *name) {
    int i;
    level();
    for (i = 0; i <= LEVEL_AVX512; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            if (i > max_level) return -1;
            cur_level = i;
            return 0;
        }
    }
    return -1;
}

#ifdef FS_HAVE_AVX512
#define FS_CALL_AVX512(fn, ...) case LEVEL_AVX512: return fn##_avx512(__VA_ARGS__);
#else
#define FS_CALL_AVX512(fn, ...)
#endif
#ifdef FS_HAVE_AVX2
#define FS_CALL_AVX2(fn, ...) case LEVEL_AVX2: return fn##_avx2(__VA_ARGS__);
#else
#define FS_CALL_AVX2(fn, ...)
#endif
#define FS_DISPATCH(fn, ...)                 \
    switch (level()) {                       \
        FS_CALL_AVX512(fn, __VA_ARGS__)      \
        FS_CALL_AVX2(fn, __VA_ARGS__)        \
        default: return fn##_generic(__VA_ARGS__); \
    }

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

int fs_openmp_enabled(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int fs_max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
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
        default: return "unknown status";
    }
}
