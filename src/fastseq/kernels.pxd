# The C API of fastseq (csrc/include/fastseq/fastseq.h) for Cython, with the header's names.
# It ships in the wheel: other packages `cimport fastseq.kernels` and call the kernels
# without the GIL (docs/c-api.rst).
# Keep it in step with the header: every type, constant and function is declared here (the
# kernels written out, where the header generates them with FS_DECLARE).
from libc.stdint cimport int32_t, int64_t


cdef extern from "fastseq/fastseq.h" nogil:
    enum:
        FASTSEQ_VERSION_MAJOR
        FASTSEQ_VERSION_MINOR
        FASTSEQ_VERSION_PATCH
        FASTSEQ_VERSION_NUMBER
    const char *FASTSEQ_VERSION_STRING

    ctypedef enum fs_status:
        FS_OK
        FS_ERR_NOMEM
        FS_ERR_INVALID
        FS_ERR_INTERNAL
        FS_ERR_UNSUPPORTED
        FS_ERR_INTERRUPTED

    ctypedef enum fs_simd:
        FS_SIMD_AUTO
        FS_SIMD_GENERIC
        FS_SIMD_AVX2
        FS_SIMD_AVX512

    ctypedef struct fs_batch:
        int64_t n_states
        int64_t n_seqs
        const int64_t *offsets
        const int64_t *lengths
        int n_threads
        int simd
        int (*interrupt)(void *ctx) noexcept
        void *interrupt_ctx

    int fs_forward_f32(const fs_batch *batch, const float *em, const float *trans,
                       const float *start, const float *end, float *log_alpha, double *log_Z)
    int fs_forward_f64(const fs_batch *batch, const double *em, const double *trans,
                       const double *start, const double *end, double *log_alpha,
                       double *log_Z)
    int fs_backward_f32(const fs_batch *batch, const float *em, const float *trans,
                        const float *start, const float *end, float *log_beta)
    int fs_backward_f64(const fs_batch *batch, const double *em, const double *trans,
                        const double *start, const double *end, double *log_beta)
    int fs_marginals_f32(const fs_batch *batch, const float *em, const float *trans,
                         const float *start, const float *end, float *node, float *pair,
                         double *log_Z)
    int fs_marginals_f64(const fs_batch *batch, const double *em, const double *trans,
                         const double *start, const double *end, double *node, double *pair,
                         double *log_Z)
    int fs_viterbi_f32(const fs_batch *batch, const float *em, const float *trans,
                       const float *start, const float *end, int64_t *paths, double *scores)
    int fs_viterbi_f64(const fs_batch *batch, const double *em, const double *trans,
                       const double *start, const double *end, int64_t *paths,
                       double *scores)
    int fs_kbest_f32(const fs_batch *batch, const float *em, const float *trans,
                     const float *start, const float *end, int64_t k,
                     const int64_t *path_base, int64_t rank_stride, int64_t *paths,
                     double *scores)
    int fs_kbest_f64(const fs_batch *batch, const double *em, const double *trans,
                     const double *start, const double *end, int64_t k,
                     const int64_t *path_base, int64_t rank_stride, int64_t *paths,
                     double *scores)
    int fs_sequence_score_f32(const fs_batch *batch, const float *em, const float *trans,
                              const float *start, const float *end, const int64_t *tags,
                              double *scores)
    int fs_sequence_score_f64(const fs_batch *batch, const double *em, const double *trans,
                              const double *start, const double *end, const int64_t *tags,
                              double *scores)
    int fs_crf_nll_f32(const fs_batch *batch, const float *em, const float *trans,
                       const float *start, const float *end, const int64_t *tags,
                       double *nll, float *g_em, float *g_pair, float *g_start, float *g_end)
    int fs_crf_nll_f64(const fs_batch *batch, const double *em, const double *trans,
                       const double *start, const double *end, const int64_t *tags,
                       double *nll, double *g_em, double *g_pair, double *g_start,
                       double *g_end)

    const char *fs_version()
    int fs_openmp_enabled()
    int fs_max_threads()
    int fs_thread_count(int requested)
    ctypedef struct fs_pattern:
        int64_t nnz
        const int64_t *indptr
        const int32_t *indices

    int fs_sparse_forward_f32(const fs_batch *batch, const float *em, const fs_pattern *moves,
                              const float *trans, const float *start, const float *end,
                              float *log_alpha, double *log_Z)
    int fs_sparse_forward_f64(const fs_batch *batch, const double *em,
                              const fs_pattern *moves, const double *trans,
                              const double *start, const double *end, double *log_alpha,
                              double *log_Z)
    int fs_sparse_backward_f32(const fs_batch *batch, const float *em, const fs_pattern *moves,
                               const float *trans, const float *start, const float *end,
                               float *log_beta)
    int fs_sparse_backward_f64(const fs_batch *batch, const double *em,
                               const fs_pattern *moves, const double *trans,
                               const double *start, const double *end, double *log_beta)
    int fs_sparse_marginals_f32(const fs_batch *batch, const float *em,
                                const fs_pattern *moves, const float *trans,
                                const float *start, const float *end, float *node,
                                float *pair, double *log_Z)
    int fs_sparse_marginals_f64(const fs_batch *batch, const double *em,
                                const fs_pattern *moves, const double *trans,
                                const double *start, const double *end, double *node,
                                double *pair, double *log_Z)
    int fs_sparse_viterbi_f32(const fs_batch *batch, const float *em, const fs_pattern *moves,
                              const float *trans, const float *start, const float *end,
                              int64_t *paths, double *scores)
    int fs_sparse_viterbi_f64(const fs_batch *batch, const double *em,
                              const fs_pattern *moves, const double *trans,
                              const double *start, const double *end, int64_t *paths,
                              double *scores)
    int fs_sparse_kbest_f32(const fs_batch *batch, const float *em, const fs_pattern *moves,
                            const float *trans, const float *start, const float *end,
                            int64_t k, const int64_t *path_base, int64_t rank_stride,
                            int64_t *paths, double *scores)
    int fs_sparse_kbest_f64(const fs_batch *batch, const double *em, const fs_pattern *moves,
                            const double *trans, const double *start, const double *end,
                            int64_t k, const int64_t *path_base, int64_t rank_stride,
                            int64_t *paths, double *scores)

    int fs_csr_matmul(int64_t r0, int64_t r1, const int64_t *indptr, const int32_t *indices,
                      const double *data, const double *W, int64_t ldw, int64_t N,
                      double *out, int simd)
    int fs_csr_tmatmul_add(int64_t r0, int64_t r1, const int64_t *indptr,
                           const int32_t *indices, const double *data, const double *G,
                           int64_t N, double *out, int64_t ldo, int simd)
    int fs_feature_scores_add(int64_t r0, int64_t r1, const int64_t *indptr,
                              const int32_t *feat, const int32_t *col, const double *data,
                              const double *w, int64_t N, double *out, int simd)
    int fs_feature_grads_add(int64_t r0, int64_t r1, const int64_t *indptr,
                             const int32_t *feat, const int32_t *col, const double *data,
                             const double *G, int64_t N, double *gw, int simd)
    void fs_set_openmp_team(int on)
    const char *fs_simd_level()
    int fs_simd_supported(int simd)
    const char *fs_simd_name(int simd)
    int fs_simd_from_name(const char *name)
    const char *fs_status_name(int status)

    ctypedef struct fs_stream:
        pass
    ctypedef struct fs_stream_config:
        int64_t n_states
        int64_t n_streams
        int64_t max_lag
        int filter
        int simd
    int fs_stream_create(const fs_stream_config *config, const double *trans,
                         const double *start, const double *end, fs_stream **out)
    void fs_stream_free(fs_stream *stream)
    void fs_stream_reset(fs_stream *stream)
    int fs_stream_push_f32(fs_stream *stream, const float *rows, int64_t n_steps,
                           int n_threads)
    int fs_stream_push_f64(fs_stream *stream, const double *rows, int64_t n_steps,
                           int n_threads)
    int fs_stream_flush(fs_stream *stream)
    int64_t fs_stream_position(const fs_stream *stream)
    int64_t fs_stream_pending(const fs_stream *stream, int64_t b)
    int64_t fs_stream_take(fs_stream *stream, int64_t b, int64_t *labels, int64_t cap)
    double fs_stream_best_score(const fs_stream *stream, int64_t b)
    int fs_stream_filtered(const fs_stream *stream, int64_t b, double *probs,
                           double *log_evidence)
