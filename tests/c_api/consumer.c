/* A plain C consumer of fastseq, built by tests/test_c_api.py against the installed
 * package's header and static library. Reads a batch from stdin (text, as written by the
 * test), runs kernels in both dtypes on two threads and prints their outputs, one labelled
 * line per array, for the test to compare with the Python API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fastseq/fastseq.h>

#if FASTSEQ_VERSION_NUMBER < 100
#error "fastseq >= 0.1.0 is needed"
#endif

static double *read_doubles(int64_t n) {
    double *x = malloc((size_t)(n > 0 ? n : 1) * sizeof *x);
    for (int64_t i = 0; i < n; i++)
        if (!x || scanf("%lf", &x[i]) != 1) exit(3);
    return x;
}

static float *to_float(const double *x, int64_t n) {
    float *y = malloc((size_t)(n > 0 ? n : 1) * sizeof *y);
    for (int64_t i = 0; y && i < n; i++) y[i] = (float)x[i];
    return y;
}

static void print_doubles(const char *name, const double *x, int64_t n) {
    printf("%s", name);
    for (int64_t i = 0; i < n; i++) printf(" %.17g", x[i]);
    printf("\n");
}

static void print_floats(const char *name, const float *x, int64_t n) {
    printf("%s", name);
    for (int64_t i = 0; i < n; i++) printf(" %.9g", (double)x[i]);
    printf("\n");
}

static void print_ints(const char *name, const int64_t *x, int64_t n) {
    printf("%s", name);
    for (int64_t i = 0; i < n; i++) printf(" %lld", (long long)x[i]);
    printf("\n");
}

#define CHECK(call)                                                           \
    do {                                                                      \
        int status_ = (call);                                                 \
        if (status_ != FS_OK) {                                               \
            fprintf(stderr, "%s: %s\n", #call, fs_status_name(status_));      \
            return 1;                                                         \
        }                                                                     \
    } while (0)

int main(void) {
    /* The header and the library linked must be the same release. */
    if (strcmp(fs_version(), FASTSEQ_VERSION_STRING) != 0) {
        fprintf(stderr, "header %s, library %s\n", FASTSEQ_VERSION_STRING, fs_version());
        return 2;
    }
    long long n_states, n_seqs;
    if (scanf("%lld %lld", &n_states, &n_seqs) != 2) return 3;
    const int64_t N = n_states, B = n_seqs;
    int64_t *offsets = malloc((size_t)B * sizeof *offsets);
    int64_t *lengths = malloc((size_t)B * sizeof *lengths);
    int64_t L = 0;
    for (int64_t b = 0; b < B; b++) {
        long long len;
        if (scanf("%lld", &len) != 1) return 3;
        offsets[b] = L;  /* the concatenated layout */
        lengths[b] = len;
        L += len;
    }
    double *em = read_doubles(L * N), *trans = read_doubles(N * N);
    double *start = read_doubles(N), *end = read_doubles(N);
    int64_t *tags = malloc((size_t)L * sizeof *tags);
    for (int64_t i = 0; i < L; i++) {
        long long t;
        if (scanf("%lld", &t) != 1) return 3;
        tags[i] = t;
    }

    fs_batch batch;
    memset(&batch, 0, sizeof batch);  /* zero: the default of every field */
    batch.n_states = N;
    batch.n_seqs = B;
    batch.offsets = offsets;
    batch.lengths = lengths;
    batch.n_threads = 2;
    batch.simd = FS_SIMD_AUTO;

    /* Caller-allocated outputs, in the shapes of the header. */
    double *log_alpha = malloc((size_t)(L * N) * sizeof(double));
    double *node = malloc((size_t)(L * N) * sizeof(double));
    double *pair = malloc((size_t)(B * N * N) * sizeof(double));
    double *log_Z = malloc((size_t)B * sizeof(double));
    double *scores = malloc((size_t)B * sizeof(double));
    int64_t *paths = malloc((size_t)L * sizeof(int64_t));

    CHECK(fs_forward_f64(&batch, em, trans, start, end, log_alpha, log_Z));
    print_doubles("forward_f64.log_alpha", log_alpha, L * N);
    print_doubles("forward_f64.log_Z", log_Z, B);
    CHECK(fs_marginals_f64(&batch, em, trans, start, end, node, pair, log_Z));
    print_doubles("marginals_f64.node", node, L * N);
    print_doubles("marginals_f64.pair", pair, B * N * N);
    CHECK(fs_viterbi_f64(&batch, em, trans, start, end, paths, scores));
    print_ints("viterbi_f64.paths", paths, L);
    print_doubles("viterbi_f64.scores", scores, B);
    CHECK(fs_sequence_score_f64(&batch, em, trans, start, end, tags, scores));
    print_doubles("sequence_score_f64", scores, B);
    double *g_start = malloc((size_t)(B * N) * sizeof(double));
    double *g_end = malloc((size_t)(B * N) * sizeof(double));
    CHECK(fs_crf_nll_f64(&batch, em, trans, start, end, tags, scores, node, pair, g_start,
                         g_end));
    print_doubles("crf_nll_f64.nll", scores, B);
    print_doubles("crf_nll_f64.g_em", node, L * N);

    /* float32: the same model rounded; arithmetic in double, outputs in float. */
    float *em32 = to_float(em, L * N), *trans32 = to_float(trans, N * N);
    float *start32 = to_float(start, N), *end32 = to_float(end, N);
    float *node32 = malloc((size_t)(L * N) * sizeof(float));
    CHECK(fs_forward_f32(&batch, em32, trans32, start32, end32, NULL, log_Z));
    print_doubles("forward_f32.log_Z", log_Z, B);
    CHECK(fs_marginals_f32(&batch, em32, trans32, start32, end32, node32, NULL, log_Z));
    print_floats("marginals_f32.node", node32, L * N);
    CHECK(fs_viterbi_f32(&batch, em32, trans32, start32, end32, paths, scores));
    print_ints("viterbi_f32.paths", paths, L);
    print_doubles("viterbi_f32.scores", scores, B);

    /* Online decoding of the first sequence, one row at a time, with at most two rows of
       latency: the labels as they become final, then the rest at the flush. */
    fs_stream_config config;
    fs_stream *stream;
    memset(&config, 0, sizeof config);
    config.n_states = N;
    config.n_streams = 1;
    config.max_lag = 2;
    config.simd = FS_SIMD_AUTO;
    CHECK(fs_stream_create(&config, trans, start, end, &stream));
    int64_t n_out = 0;
    for (int64_t t = 0; t < lengths[0]; t++) {
        CHECK(fs_stream_push_f64(stream, em + t * N, 1, 1));
        n_out += fs_stream_take(stream, 0, paths + n_out, lengths[0] - n_out);
        if (n_out < t + 1 - config.max_lag) return 4; /* the latency bound */
    }
    CHECK(fs_stream_flush(stream));
    n_out += fs_stream_take(stream, 0, paths + n_out, lengths[0] - n_out);
    print_ints("stream_lag2_f64.labels", paths, n_out);
    fs_stream_free(stream);
    return 0;
}
