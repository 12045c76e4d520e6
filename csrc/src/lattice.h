/*
 * The per-sequence dynamic programs, in double precision. Included once per ISA variant
 * (kernels_isa.c), so everything here is static.
 *
 * Numerics. The log domain is canonical, but a log-space forward step costs N^2 exp() calls.
 * The fast path keeps each lattice row *scaled*: row t holds v[j] = exp(la[t][j] - c[t]) with
 * max_j v[j] in [0.5, 1), so a forward step is one vector-matrix product with the fixed
 * matrix A[i][j] = exp(trans[i][j] - gT) (gT = the largest finite transition) times the
 * exponentiated emission row (N exps, made in blocks: exp_row). The scaled form is exact (to rounding) as long as nothing underflows, and we
 * keep it only while that is guaranteed:
 *   - every nonzero v[j] is >= 2^-300 (TINY) and every nonzero A[i][j] >= 2^-700, so each
 *     product v[i] * A[i][j] is a normal double >= 2^-1000 and the sums lose nothing;
 *   - an entry is exactly 0 only when its log value is exactly -inf (a forbidden state).
 * A row that would break this is stored as exact logs instead (is_log = 1) and the next step
 * is done in log space; as soon as a row's dynamic range allows it, it is scaled again. So a
 * fast step never returns a wrong number: scores of +-1e4, -inf constraints and sequences of
 * millions of steps give the log-space answer.
 */
#ifndef FASTSEQ_LATTICE_H
#define FASTSEQ_LATTICE_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#define FS_LOG_TINY (-207.0)                 /* a little above log(2^-300) */
#define FS_TINY 4.9090934652977266e-91       /* 2^-300 */
#define FS_SMALL 2.409919865102884e-181      /* 2^-600 */
#define FS_A_MIN_LOG (-485.0)                /* log(2^-700) */
#define FS_K_MAX_LOG 415.0                   /* log(2^599): pair-marginal scale bound */

/* Lockstep width: up to FS_G sequences advance together so that each load of the transition
   matrix serves all of them (the step becomes a small matrix-matrix product). Per sequence,
   FS_JB columns (two SIMD registers) are kept in registers; rows are padded to Np, a multiple
   of FS_JB, so the kernels need no tail loops. The vector vocabulary below is the only
   ISA-specific code; kernels_isa.c is compiled once per ISA with that ISA's flags. */
#define FS_G 4 /* the group kernels below are instantiated for 1..4 rows */
#if defined(FS_ISA_IS_AVX512)
#include <immintrin.h>
typedef __m512d fs_vd;
#define FS_VW 8
#define v_load _mm512_loadu_pd
#define v_store _mm512_storeu_pd
#define v_set1 _mm512_set1_pd
#define v_fma(a, b, c) _mm512_fmadd_pd(a, b, c)
#define v_add _mm512_add_pd
#define v_max _mm512_max_pd
#define v_mul _mm512_mul_pd
#define v_sub _mm512_sub_pd
#define v_round_magic(x) _mm512_add_pd(x, _mm512_set1_pd(6755399441055744.0))
#define v_pow2i(t) /* 2^k for t = k + magic */ _mm512_castsi512_pd(_mm512_slli_epi64( \
    _mm512_add_epi64(_mm512_sub_epi64(_mm512_castpd_si512(t), \
    _mm512_castpd_si512(_mm512_set1_pd(6755399441055744.0))), _mm512_set1_epi64(1023)), 52))
#define v_zero_below(x, lim, y) _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(x, lim, _CMP_GE_OQ), y)
#define v_div _mm512_div_pd
#define v_hmax _mm512_reduce_max_pd
#define v_eq_bits(a, b) ((unsigned)_mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ))
#define v_gt_bits(a, b) ((unsigned)_mm512_cmp_pd_mask(a, b, _CMP_GT_OQ))
/* the first n (< FS_VW) entries of p, the other lanes = fill; reads nothing past p + n */
static inline __m512d v_load_n(const double *p, int64_t n, double fill) {
    return _mm512_mask_loadu_pd(_mm512_set1_pd(fill), (__mmask8)((1u << n) - 1u), p);
}
#define v_lt_bits(a, b) ((unsigned)_mm512_cmp_pd_mask(a, b, _CMP_LT_OQ))
#define v_blend_gt(a, b, x, y) _mm512_mask_blend_pd(_mm512_cmp_pd_mask(a, b, _CMP_GT_OQ), y, x)
/* x = m 2^e with m in [1, 2), for positive normal x */
#define v_frexp1(x, e, m) do { e = _mm512_getexp_pd(x); \
    m = _mm512_getmant_pd(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src); } while (0)
#elif defined(FS_ISA_IS_AVX2)
#include <immintrin.h>
typedef __m256d fs_vd;
#define FS_VW 4
#define v_load _mm256_loadu_pd
#define v_store _mm256_storeu_pd
#define v_set1 _mm256_set1_pd
#define v_fma(a, b, c) _mm256_fmadd_pd(a, b, c)
#define v_add _mm256_add_pd
#define v_max _mm256_max_pd
#define v_mul _mm256_mul_pd
#define v_sub _mm256_sub_pd
#define v_round_magic(x) _mm256_add_pd(x, _mm256_set1_pd(6755399441055744.0))
#define v_pow2i(t) _mm256_castsi256_pd(_mm256_slli_epi64( \
    _mm256_add_epi64(_mm256_sub_epi64(_mm256_castpd_si256(t), \
    _mm256_castpd_si256(_mm256_set1_pd(6755399441055744.0))), _mm256_set1_epi64x(1023)), 52))
#define v_zero_below(x, lim, y) _mm256_and_pd(_mm256_cmp_pd(x, lim, _CMP_GE_OQ), y)
#define v_div _mm256_div_pd
static inline double v_hmax(__m256d x) {
    const __m128d m = _mm_max_pd(_mm256_castpd256_pd128(x), _mm256_extractf128_pd(x, 1));
    return _mm_cvtsd_f64(_mm_max_sd(m, _mm_unpackhi_pd(m, m)));
}
#define v_eq_bits(a, b) ((unsigned)_mm256_movemask_pd(_mm256_cmp_pd(a, b, _CMP_EQ_OQ)))
#define v_gt_bits(a, b) ((unsigned)_mm256_movemask_pd(_mm256_cmp_pd(a, b, _CMP_GT_OQ)))
static inline __m256d v_load_n(const double *p, int64_t n, double fill) {
    const __m256i m = _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_set_epi64x(3, 2, 1, 0));
    return _mm256_blendv_pd(_mm256_set1_pd(fill), _mm256_maskload_pd(p, m),
                            _mm256_castsi256_pd(m));
}
#define v_lt_bits(a, b) ((unsigned)_mm256_movemask_pd(_mm256_cmp_pd(a, b, _CMP_LT_OQ)))
#define v_blend_gt(a, b, x, y) _mm256_blendv_pd(y, x, _mm256_cmp_pd(a, b, _CMP_GT_OQ))
#define v_frexp1(x, e, m) do { const __m256i b_ = _mm256_castpd_si256(x); \
    e = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(_mm256_srli_epi64(b_, 52), \
        _mm256_castpd_si256(_mm256_set1_pd(4503599627370496.0)))), \
        _mm256_set1_pd(4503599627370496.0 + 1023.0)); \
    m = _mm256_castsi256_pd(_mm256_or_si256(_mm256_and_si256(b_, \
        _mm256_set1_epi64x(0x000FFFFFFFFFFFFFLL)), _mm256_set1_epi64x(0x3FF0000000000000LL))); \
    } while (0)
#elif defined(__SSE2__)
#include <emmintrin.h>
typedef __m128d fs_vd;
#define FS_VW 2
#define v_load _mm_loadu_pd
#define v_store _mm_storeu_pd
#define v_set1 _mm_set1_pd
#define v_fma(a, b, c) _mm_add_pd(_mm_mul_pd(a, b), c)
#define v_add _mm_add_pd
#define v_max _mm_max_pd
#define v_mul _mm_mul_pd
#define v_sub _mm_sub_pd
#define v_round_magic(x) _mm_add_pd(x, _mm_set1_pd(6755399441055744.0))
#define v_pow2i(t) _mm_castsi128_pd(_mm_slli_epi64( \
    _mm_add_epi64(_mm_sub_epi64(_mm_castpd_si128(t), \
    _mm_castpd_si128(_mm_set1_pd(6755399441055744.0))), _mm_set1_epi64x(1023)), 52))
#define v_zero_below(x, lim, y) _mm_and_pd(_mm_cmpge_pd(x, lim), y)
#define v_div _mm_div_pd
#define v_hmax(x) _mm_cvtsd_f64(_mm_max_sd(x, _mm_unpackhi_pd(x, x)))
#define v_eq_bits(a, b) ((unsigned)_mm_movemask_pd(_mm_cmpeq_pd(a, b)))
#define v_gt_bits(a, b) ((unsigned)_mm_movemask_pd(_mm_cmpgt_pd(a, b)))
#define v_load_n(p, n, fill) _mm_setr_pd((p)[0], fill) /* n == 1 */
#define v_lt_bits(a, b) ((unsigned)_mm_movemask_pd(_mm_cmplt_pd(a, b)))
#define v_blend_gt(a, b, x, y) _mm_or_pd(_mm_and_pd(_mm_cmpgt_pd(a, b), x), \
    _mm_andnot_pd(_mm_cmpgt_pd(a, b), y))
#define v_frexp1(x, e, m) do { const __m128i b_ = _mm_castpd_si128(x); \
    e = _mm_sub_pd(_mm_castsi128_pd(_mm_or_si128(_mm_srli_epi64(b_, 52), \
        _mm_castpd_si128(_mm_set1_pd(4503599627370496.0)))), \
        _mm_set1_pd(4503599627370496.0 + 1023.0)); \
    m = _mm_castsi128_pd(_mm_or_si128(_mm_and_si128(b_, \
        _mm_set1_epi64x(0x000FFFFFFFFFFFFFLL)), _mm_set1_epi64x(0x3FF0000000000000LL))); \
    } while (0)
#else
typedef double fs_vd;
#define FS_VW 1
#define v_load(p) (*(p))
#define v_store(p, x) (*(p) = (x))
#define v_set1(x) (x)
#define v_fma(a, b, c) ((a) * (b) + (c))
#define v_add(a, b) ((a) + (b))
#define v_max(a, b) ((a) > (b) ? (a) : (b))
#define v_hmax(x) (x)
#define v_eq_bits(a, b) ((unsigned)((a) == (b)))
#define v_gt_bits(a, b) ((unsigned)((a) > (b)))
#define v_load_n(p, n, fill) (fill) /* never called: n < FS_VW = 1 */
#define v_lt_bits(a, b) ((unsigned)((a) < (b)))
#define v_mul(a, b) ((a) * (b))
#define v_sub(a, b) ((a) - (b))
#define v_blend_gt(a, b, x, y) ((a) > (b) ? (x) : (y))
#endif
#define FS_JB (2 * FS_VW)

/* Entries j .. j + FS_VW - 1 of an unpadded row of n doubles, lanes past n = fill. */
#define v_load_row(p, j, n, fill) ((j) + FS_VW <= (n) ? v_load((p) + (j)) : v_load_n((p) + (j), (n) - (j), fill))

/* ln 2 split so that e * FS_LN2_HI is exact for |e| < 2^20 */
#define FS_LN2_HI 6.93147180369123816490e-01
#define FS_LN2_LO 1.90821492927058770002e-10

/* y[j] = exp(x[j]) for x <= 0, for j < n rounded up to FS_VW (the buffers have room):
   Cody-Waite reduction x = k ln2 + r, |r| <= ln2/2, a degree-13 Taylor polynomial (error
   below 1e-17 relative) and 2^k from the exponent bits. Inputs below -700 (including -inf)
   give exactly 0; the kernels only rely on values >= exp(-700). libm's exp() costs more than
   the whole vectorised loop. */
static void exp_array(const double *x, double *y, int64_t n) {
#if FS_VW > 1
    const fs_vd lim = v_set1(-700.0), log2e = v_set1(1.4426950408889634);
    const fs_vd ln2hi = v_set1(6.93147180369123816490e-01), ln2lo = v_set1(1.90821492927058770002e-10);
    int64_t j;
    for (j = 0; j < n; j += FS_VW) {
        const fs_vd xv = v_max(v_load(x + j), lim);
        const fs_vd t = v_round_magic(v_mul(xv, log2e));
        const fs_vd k = v_sub(t, v_set1(6755399441055744.0));
        const fs_vd r = v_sub(v_sub(xv, v_mul(k, ln2hi)), v_mul(k, ln2lo));
        /* Estrin's scheme: the same polynomial with a 4-deep dependency chain, not 13 */
        const fs_vd r2 = v_mul(r, r), r4 = v_mul(r2, r2), r8 = v_mul(r4, r4);
        const fs_vd q0 = v_fma(r, v_set1(1.0), v_set1(1.0));
        const fs_vd q1 = v_fma(r, v_set1(1.0 / 6.0), v_set1(0.5));
        const fs_vd q2 = v_fma(r, v_set1(1.0 / 120.0), v_set1(1.0 / 24.0));
        const fs_vd q3 = v_fma(r, v_set1(1.0 / 5040.0), v_set1(1.0 / 720.0));
        const fs_vd q4 = v_fma(r, v_set1(1.0 / 362880.0), v_set1(1.0 / 40320.0));
        const fs_vd q5 = v_fma(r, v_set1(1.0 / 39916800.0), v_set1(1.0 / 3628800.0));
        const fs_vd q6 = v_fma(r, v_set1(1.0 / 6227020800.0), v_set1(1.0 / 479001600.0));
        const fs_vd s0 = v_fma(q1, r2, q0), s1 = v_fma(q3, r2, q2), s2 = v_fma(q5, r2, q4);
        const fs_vd u0 = v_fma(s1, r4, s0), u1 = v_fma(q6, r4, s2);
        const fs_vd p = v_fma(u1, r8, u0);
        v_store(y + j, v_zero_below(v_load(x + j), lim, v_mul(p, v_pow2i(t))));
    }
#else
    int64_t j;
    for (j = 0; j < n; j++) y[j] = x[j] >= -700.0 ? exp(x[j]) : 0.0;
#endif
}

/* y[j] = log(x[j]) for x = 0 (-> -inf) or a positive normal double, j < n rounded up to
   FS_VW: x = m 2^e with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(f), f = (m-1)/(m+1),
   by its odd series to f^23 (|f| < 0.172: error below 1e-18). */
static void log_array(const double *x, double *y, int64_t n) {
#if FS_VW > 1
    const fs_vd one = v_set1(1.0), sqrt2 = v_set1(1.4142135623730951);
    int64_t j;
    for (j = 0; j < n; j += FS_VW) {
        const fs_vd xv = v_load(x + j);
        fs_vd e, m, f, s, p, r;
        v_frexp1(xv, e, m);
        e = v_blend_gt(m, sqrt2, v_add(e, one), e);
        m = v_blend_gt(m, sqrt2, v_mul(m, v_set1(0.5)), m);
        f = v_div(v_sub(m, one), v_add(m, one));
        s = v_mul(f, f);
        p = v_set1(1.0 / 23.0);
        p = v_fma(p, s, v_set1(1.0 / 21.0));
        p = v_fma(p, s, v_set1(1.0 / 19.0));
        p = v_fma(p, s, v_set1(1.0 / 17.0));
        p = v_fma(p, s, v_set1(1.0 / 15.0));
        p = v_fma(p, s, v_set1(1.0 / 13.0));
        p = v_fma(p, s, v_set1(1.0 / 11.0));
        p = v_fma(p, s, v_set1(1.0 / 9.0));
        p = v_fma(p, s, v_set1(1.0 / 7.0));
        p = v_fma(p, s, v_set1(1.0 / 5.0));
        p = v_fma(p, s, v_set1(1.0 / 3.0));
        /* log m = 2f + 2f s p; add the small terms first */
        r = v_fma(e, v_set1(FS_LN2_LO), v_mul(v_add(f, f), v_mul(s, p)));
        r = v_add(v_fma(e, v_set1(FS_LN2_HI), v_add(f, f)), r);
        v_store(y + j, v_blend_gt(xv, v_set1(0.0), r, v_set1(-INFINITY)));
    }
#else
    int64_t j;
    for (j = 0; j < n; j++) y[j] = x[j] > 0 ? log(x[j]) : -INFINITY;
#endif
}

/* Transition model shared (read-only) by all threads of a call. */
typedef struct {
    int64_t N, Np;   /* states; padded row stride */
    double *trans;   /* [N][N] log scores */
    double *start;   /* [N] */
    double *end;     /* [N] */
    double gT;       /* largest finite transition score (0 when there is none) */
    double *A;       /* [N][Np] exp(trans - gT), zero padding */
    double *AT;      /* [N][Np] transpose of A (backward steps) */
    double *TP;      /* [N][Np] trans with -inf padding (Viterbi) */
    double *TPT;     /* [N][Np] its transpose: column j of trans as a row (backtracking) */
    int scaled_ok;   /* every finite transition >= gT + FS_A_MIN_LOG: scaled steps allowed */
} fs_model;

/* A log offset kept as an unevaluated sum hi + lo (double-double): over a million steps the
   offsets reach ~1e6 and plain doubles would lose ~1e-10 absolute per step, which the
   marginals exp(alpha + beta - log_Z) would turn into relative errors. */
typedef struct {
    double hi, lo;
} fs_dd;

static inline fs_dd dd_add(fs_dd a, double b) {
    const double s = a.hi + b, bb = s - a.hi;
    fs_dd r;
    r.hi = s;
    r.lo = a.lo + ((a.hi - (s - bb)) + (b - bb));
    return r;
}

/* a + b - c as one double, exact up to the rounding of the (small) result */
static inline double dd_sum3(fs_dd a, fs_dd b, fs_dd c) {
    fs_dd r = dd_add(a, b.hi);
    r = dd_add(r, -c.hi);
    return r.hi + (r.lo + b.lo - c.lo);
}

static const fs_dd fs_dd_zero = {0.0, 0.0};


/* e with x * 2^-e in [0.5, 1), for a positive normal x */
static inline int pow2_exponent(double x) {
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return (int)((bits >> 52) & 0x7ff) - 1022;
}

/* 2^e for -1022 <= e <= 1023 */
static inline double pow2(int e) {
    const uint64_t bits = (uint64_t)(e + 1023) << 52;
    double x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

/* One lattice (alpha, beta or Viterbi delta) of one sequence. Row t lives at
   v + (t & mask) * Np: mask = -1 keeps every row, mask = 1 keeps two rolling rows. A row is
   either scaled, v[j] = exp(la[j] - c) with max 1 (0 = forbidden), or holds relative logs,
   v[j] = la[j] - c (is_log = 1). */
typedef struct {
    double *v;              /* [rows][Np] */
    fs_dd *c;               /* [rows] log offset */
    unsigned char *is_log;  /* [rows] */
    int64_t mask;
} fs_lattice;

#define ROW(L, Np, t) ((L)->v + ((t) & (L)->mask) * (Np))
#define RIX(L, t) ((t) & (L)->mask)

static void model_free(fs_model *m) {
    free(m->trans);
    m->trans = NULL;
}

static int64_t padded(int64_t N) { return (N + FS_VW - 1) / FS_VW * FS_VW; }

/* Allocates the model; the caller fills trans, start and end, then calls model_prepare. */
static int model_alloc(fs_model *m, int64_t N) {
    const int64_t Np = padded(N);
    const size_t nn = (size_t)N * (size_t)N, np = (size_t)N * (size_t)Np;
    m->N = N;
    m->Np = Np;
    m->trans = (double *)malloc(sizeof(double) * (nn + 4 * np + 2 * (size_t)N));
    if (!m->trans) return -1;
    m->A = m->trans + nn;
    m->AT = m->A + np;
    m->TP = m->AT + np;
    m->TPT = m->TP + np;
    m->start = m->TPT + np;
    m->end = m->start + N;
    return 0;
}

static void model_prepare(fs_model *m) {
    const int64_t N = m->N, Np = m->Np;
    int64_t i, j;
    double g = -INFINITY;
    for (i = 0; i < N * N; i++)
        if (m->trans[i] > g) g = m->trans[i];
    if (g == -INFINITY) g = 0.0;
    m->gT = g;
    m->scaled_ok = 1;
    for (i = 0; i < N; i++) {
        for (j = 0; j < Np; j++) {
            m->A[i * Np + j] = 0.0;
            m->AT[i * Np + j] = 0.0;
            m->TP[i * Np + j] = -INFINITY;
            m->TPT[i * Np + j] = -INFINITY;
        }
    }
    for (i = 0; i < N; i++) {
        for (j = 0; j < N; j++) {
            const double d = m->trans[i * N + j] - g;
            if (d > -INFINITY && d < FS_A_MIN_LOG) m->scaled_ok = 0;
            m->A[i * Np + j] = exp(d);
            m->AT[j * Np + i] = exp(d);
            m->TP[i * Np + j] = m->trans[i * N + j];
            m->TPT[j * Np + i] = m->trans[i * N + j];
        }
    }
}

/* log value of entry j of row t, relative to the row's offset */
static inline double lat_rel(const fs_lattice *L, int64_t Np, int64_t t, int64_t j) {
    const double x = ROW(L, Np, t)[j];
    if (L->is_log[RIX(L, t)]) return x;
    return x > 0 ? log(x) : -INFINITY;
}

/* out[j] = log value of entry j of row t (absolute), j < N. tmp: Np doubles. */
static void row_logs(const fs_lattice *L, int64_t N, int64_t Np, int64_t t, double *out,
                     double *tmp) {
    const fs_dd c = L->c[RIX(L, t)];
    const double *v = ROW(L, Np, t);
    int64_t j;
    if (!L->is_log[RIX(L, t)]) {
        log_array(v, tmp, N);
        v = tmp;
    }
    for (j = 0; j < N; j++) out[j] = c.hi + (c.lo + v[j]);
}

/* Exact log(sum_i exp(x[i] + y[i * stride])), -inf safe. */
static inline double lse_strided(const double *x, const double *y, int64_t n, int64_t stride) {
    double m = -INFINITY, s = 0.0;
    int64_t i;
    for (i = 0; i < n; i++) {
        const double z = x[i] + y[i * stride];
        if (z > m) m = z;
    }
    if (m == -INFINITY) return -INFINITY;
    for (i = 0; i < n; i++) s += exp(x[i] + y[i * stride] - m);
    return m + log(s);
}

#if defined(__GNUC__)
#define FS_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define FS_ALWAYS_INLINE inline
#endif

/* out[s][j] = sum_i in[s][i] * A[i][j] for G rows at once (j < Np). G is a compile-time
   constant at each call site, so the accumulators live in registers. */
static FS_ALWAYS_INLINE void matvec_rows(const double *A, int64_t N, int64_t Np,
                                         const double *const *in, double *const *out,
                                         const int G) {
    int64_t j0, i;
    int s;
    for (j0 = 0; j0 + FS_JB <= Np; j0 += FS_JB) {
        fs_vd acc[FS_G][2];
        for (s = 0; s < G; s++) acc[s][0] = acc[s][1] = v_set1(0.0);
        for (i = 0; i < N; i++) {
            const fs_vd a0 = v_load(A + i * Np + j0), a1 = v_load(A + i * Np + j0 + FS_VW);
            for (s = 0; s < G; s++) {
                const fs_vd v = v_set1(in[s][i]);
                acc[s][0] = v_fma(v, a0, acc[s][0]);
                acc[s][1] = v_fma(v, a1, acc[s][1]);
            }
        }
        for (s = 0; s < G; s++) {
            v_store(out[s] + j0, acc[s][0]);
            v_store(out[s] + j0 + FS_VW, acc[s][1]);
        }
    }
    if (j0 < Np && G == 1) {
        /* a lone row: two accumulators halve the FMA-latency chain */
        fs_vd acc0 = v_set1(0.0), acc1 = v_set1(0.0);
        const double *x = in[0];
        for (i = 0; i + 1 < N; i += 2) {
            acc0 = v_fma(v_set1(x[i]), v_load(A + i * Np + j0), acc0);
            acc1 = v_fma(v_set1(x[i + 1]), v_load(A + (i + 1) * Np + j0), acc1);
        }
        if (i < N) acc0 = v_fma(v_set1(x[i]), v_load(A + i * Np + j0), acc0);
        v_store(out[0] + j0, v_add(acc0, acc1));
    } else if (j0 < Np) { /* one vector left */
        fs_vd acc[FS_G];
        for (s = 0; s < G; s++) acc[s] = v_set1(0.0);
        for (i = 0; i < N; i++) {
            const fs_vd a0 = v_load(A + i * Np + j0);
            for (s = 0; s < G; s++) acc[s] = v_fma(v_set1(in[s][i]), a0, acc[s]);
        }
        for (s = 0; s < G; s++) v_store(out[s] + j0, acc[s]);
    }
}

/* The Viterbi step for G rows at once: raw[s][j] = max_i (in[s][i] + TP[i][j]) and
   out[s][j] = raw[s][j] + add[s][j] (the emission rows, N entries, read without
   over-reading), kept in registers between the two stores so that the next step does not
   wait on a reload. */
static FS_ALWAYS_INLINE void maxplus_rows(const double *TP, int64_t N, int64_t Np,
                                          const double *const *in, double *const *raw,
                                          double *const *out, const double *const *add,
                                          const int G) {
    int64_t j0, i;
    int s;
    for (j0 = 0; j0 + FS_JB <= Np; j0 += FS_JB) {
        fs_vd acc[FS_G][2];
        for (s = 0; s < G; s++) acc[s][0] = acc[s][1] = v_set1(-INFINITY);
        for (i = 0; i < N; i++) {
            const fs_vd a0 = v_load(TP + i * Np + j0), a1 = v_load(TP + i * Np + j0 + FS_VW);
            for (s = 0; s < G; s++) {
                const fs_vd v = v_set1(in[s][i]);
                acc[s][0] = v_max(v_add(v, a0), acc[s][0]);
                acc[s][1] = v_max(v_add(v, a1), acc[s][1]);
            }
        }
        for (s = 0; s < G; s++) {
            v_store(raw[s] + j0, acc[s][0]);
            v_store(raw[s] + j0 + FS_VW, acc[s][1]);
            v_store(out[s] + j0, v_add(acc[s][0], v_load_row(add[s], j0, N, 0.0)));
            v_store(out[s] + j0 + FS_VW, v_add(acc[s][1], v_load_row(add[s], j0 + FS_VW, N, 0.0)));
        }
    }
    if (j0 < Np && G == 1) {
        /* a lone row: two accumulators halve the max-latency chain */
        fs_vd acc0 = v_set1(-INFINITY), acc1 = v_set1(-INFINITY);
        const double *x = in[0];
        for (i = 0; i + 1 < N; i += 2) {
            acc0 = v_max(v_add(v_set1(x[i]), v_load(TP + i * Np + j0)), acc0);
            acc1 = v_max(v_add(v_set1(x[i + 1]), v_load(TP + (i + 1) * Np + j0)), acc1);
        }
        if (i < N) acc0 = v_max(v_add(v_set1(x[i]), v_load(TP + i * Np + j0)), acc0);
        acc0 = v_max(acc0, acc1);
        v_store(raw[0] + j0, acc0);
        v_store(out[0] + j0, v_add(acc0, v_load_row(add[0], j0, N, 0.0)));
    } else if (j0 < Np) {
        fs_vd acc[FS_G];
        for (s = 0; s < G; s++) acc[s] = v_set1(-INFINITY);
        for (i = 0; i < N; i++) {
            const fs_vd a0 = v_load(TP + i * Np + j0);
            for (s = 0; s < G; s++) acc[s] = v_max(v_add(v_set1(in[s][i]), a0), acc[s]);
        }
        for (s = 0; s < G; s++) {
            v_store(raw[s] + j0, acc[s]);
            v_store(out[s] + j0, v_add(acc[s], v_load_row(add[s], j0, N, 0.0)));
        }
    }
}

/* The group step with the unused slots dropped: a lone sequence (a long single sequence,
   the tail of a batch) pays for one row, not FS_G. Slots [0, g) must be the active ones. */
static void matvec_group(const double *A, int64_t N, int64_t Np, const double *const *in,
                         double *const *out, int g) {
    switch (g) {
        case 1: matvec_rows(A, N, Np, in, out, 1); break;
        case 2: matvec_rows(A, N, Np, in, out, 2); break;
        case 3: matvec_rows(A, N, Np, in, out, 3); break;
        default: matvec_rows(A, N, Np, in, out, 4); break;
    }
}

static void maxplus_group(const double *TP, int64_t N, int64_t Np, const double *const *in,
                          double *const *raw, double *const *out, const double *const *add,
                          int g) {
    switch (g) {
        case 1: maxplus_rows(TP, N, Np, in, raw, out, add, 1); break;
        case 2: maxplus_rows(TP, N, Np, in, raw, out, add, 2); break;
        case 3: maxplus_rows(TP, N, Np, in, raw, out, add, 3); break;
        default: maxplus_rows(TP, N, Np, in, raw, out, add, 4); break;
    }
}

/* P[i][j] = sum_r X[r][i] * Y[r][j] over `rows` rows of stride Np (j < Np). The i blocks
   read up to FS_G - 1 entries past row ends (into the next row / the Y buffer behind X);
   those lanes are discarded: the pair-marginal sums as one product instead of a rank-1 update per step. */
static void gemm_tn(const double *X, const double *Y, int64_t rows, int64_t N, int64_t Np,
                    double *P) {
    int64_t i0, j0, r;
    int s;
    for (i0 = 0; i0 < N; i0 += FS_G) {
        for (j0 = 0; j0 + FS_JB <= Np; j0 += FS_JB) {
            fs_vd acc[FS_G][2];
            for (s = 0; s < FS_G; s++) acc[s][0] = acc[s][1] = v_set1(0.0);
            for (r = 0; r < rows; r++) {
                const fs_vd y0 = v_load(Y + r * Np + j0), y1 = v_load(Y + r * Np + j0 + FS_VW);
                const double *x = X + r * Np + i0;
                for (s = 0; s < FS_G; s++) {
                    const fs_vd v = v_set1(x[s]);
                    acc[s][0] = v_fma(v, y0, acc[s][0]);
                    acc[s][1] = v_fma(v, y1, acc[s][1]);
                }
            }
            for (s = 0; s < FS_G && i0 + s < N; s++) {
                v_store(P + (i0 + s) * Np + j0, acc[s][0]);
                v_store(P + (i0 + s) * Np + j0 + FS_VW, acc[s][1]);
            }
        }
        if (j0 < Np) {
            fs_vd acc[FS_G];
            for (s = 0; s < FS_G; s++) acc[s] = v_set1(0.0);
            for (r = 0; r < rows; r++) {
                const fs_vd y0 = v_load(Y + r * Np + j0);
                const double *x = X + r * Np + i0;
                for (s = 0; s < FS_G; s++) acc[s] = v_fma(v_set1(x[s]), y0, acc[s]);
            }
            for (s = 0; s < FS_G && i0 + s < N; s++) v_store(P + (i0 + s) * Np + j0, acc[s]);
        }
    }
}

/* v holds exact logs relative to c_in. Scale the row if its dynamic range allows (and
   scaling is enabled). Returns 0 when every entry is -inf (no path), else 1. */
static int row_from_logs(double *v, int64_t N, fs_dd c_in, fs_dd *c, unsigned char *is_log,
                         int scaled_ok) {
    double mx = -INFINITY;
    int64_t j;
    for (j = 0; j < N; j++)
        if (v[j] > mx) mx = v[j];
    *is_log = 1;
    *c = c_in;
    if (mx == -INFINITY) return 0;
    if (!scaled_ok) return 1;
    for (j = 0; j < N; j++)
        if (v[j] > -INFINITY && v[j] - mx < FS_LOG_TINY) return 1;
    for (j = 0; j < N; j++) v[j] = exp(v[j] - mx);
    for (j = N; j < padded(N); j++) v[j] = 0.0; /* scaled rows carry zero padding */
    *c = dd_add(c_in, mx);
    *is_log = 0;
    return 1;
}

/* v[j] >= 0 are unnormalised values whose logs are c_in + log v[j] (+ f[j] when f is given):
   fold f in, rescale and store as a valid row (scaled when safe, else exact logs). E and m
   come with f: E[j] = exp(f[j] - m), m = max_j f[j] (see exp_row). The loops run over
   whole SIMD vectors of the padded row (v's padding must be 0). tmp: Np doubles.
   Returns 0 when no entry is left (no path). */
static int row_finish(double *v, int64_t N, int64_t Np, fs_dd c_in, const double *f,
                      const double *E, double m, fs_dd *c, unsigned char *is_log, int scaled_ok,
                      double *tmp) {
    double *w = tmp, M;
    const fs_vd zero = v_set1(0.0), ninf = v_set1(-INFINITY), small = v_set1(FS_SMALL),
                tiny = v_set1(FS_TINY);
    fs_vd Mv = zero;
    unsigned slow = 0, bad = 0;
    int64_t j;
    if (!f) m = 0.0;
    for (j = 0; j < Np; j += FS_VW) {
        const fs_vd x = v_load(v + j);
        const unsigned live = v_gt_bits(x, zero);
        fs_vd wj = x;
        /* an entry below 2^-600, or scaled by less than 2^-300, could leave the normal
           range in the products of the next step: such rows go through exact logs */
        slow |= live & v_lt_bits(x, small);
        if (f) {
            const fs_vd ej = v_load(E + j);
            slow |= live & v_lt_bits(ej, tiny) & v_gt_bits(v_load_row(f, j, N, -INFINITY), ninf);
            wj = v_mul(x, ej);
        }
        v_store(w + j, wj);
        Mv = v_max(Mv, wj);
    }
    M = v_hmax(Mv);
    if (!slow) {
        int e;
        fs_vd scale;
        if (M == 0.0 || m == -INFINITY) { /* nothing left: no path */
            for (j = 0; j < N; j++) v[j] = -INFINITY;
            *is_log = 1;
            *c = c_in;
            return 0;
        }
        /* rescale by the power of two that brings M into [0.5, 1): exact, and no log() */
        e = pow2_exponent(M);
        scale = v_set1(pow2(-e));
        for (j = 0; j < Np; j += FS_VW) {
            const fs_vd x = v_mul(v_load(w + j), scale);
            v_store(v + j, x);
            bad |= v_gt_bits(x, zero) & v_lt_bits(x, tiny);
        }
        if (!bad && scaled_ok) {
            *c = dd_add(dd_add(c_in, m), e * FS_LN2_HI);
            c->lo += e * FS_LN2_LO;
            *is_log = 0;
            return 1;
        }
        for (j = 0; j < N; j++) v[j] = w[j] > 0 ? m + log(w[j]) : -INFINITY;
        *c = c_in;
        *is_log = 1;
        return 1;
    }
    /* Some entry is too small to carry in scaled form: go through exact logs. */
    for (j = 0; j < N; j++) v[j] = v[j] > 0 ? log(v[j]) + (f ? f[j] : 0.0) : -INFINITY;
    return row_from_logs(v, N, c_in, c, is_log, scaled_ok);
}

static void row_dead(double *v, int64_t N, fs_dd *c, unsigned char *is_log) {
    int64_t j;
    for (j = 0; j < N; j++) v[j] = -INFINITY;
    *c = fs_dd_zero;
    *is_log = 1;
}

static inline void prefetch_row(const double *p, int64_t n) {
#if defined(__GNUC__)
    int64_t j;
    for (j = 0; j < n; j += 8) __builtin_prefetch(p + j);
#else
    (void)p;
    (void)n;
#endif
}

/* One sequence of a lockstep group. */
typedef struct {
    const double *em;  /* [T][N] */
    int64_t T;
    fs_lattice *L;
    double *x;         /* [Np] scratch (backward x, Viterbi padded emissions) */
    double *raw;       /* [T][Np] Viterbi pre-emission maxima */
    double *eb;        /* [FS_EBLOCK][Np] exp(em[t] - max_j em[t]) for t in [eb_t0, +FS_EBLOCK) */
    double *emax;      /* [FS_EBLOCK] max_j em[t] */
    int64_t eb_t0;     /* first position in eb; -FS_EBLOCK - 1 when empty */
} fs_seq;

/* Rows of exponentiated emissions, E[t][j] = exp(em[t][j] - m_t), m_t = max_j em[t][j]
   (0 padding), made FS_EBLOCK positions at a time: one vectorised exp pass, throughput-
   bound, instead of a short latency-bound one in every step. `ahead` says which way the
   caller walks, so the next block is the one it needs. Returns the row; *m = m_t. */
#define FS_EBLOCK 64
static const double *exp_row(fs_seq *S, int64_t N, int64_t Np, int64_t t, int ahead,
                             double *m) {
    if (t < S->eb_t0 || t >= S->eb_t0 + FS_EBLOCK) {
        const fs_vd ninf = v_set1(-INFINITY);
        int64_t t0 = ahead ? t : t - FS_EBLOCK + 1, t1, u, j;
        if (t0 < 0) t0 = 0;
        t1 = t0 + FS_EBLOCK < S->T ? t0 + FS_EBLOCK : S->T;
        for (u = t0; u < t1; u++) {
            const double *e = S->em + u * N;
            double *r = S->eb + (u - t0) * Np;
            fs_vd mv = ninf;
            double mu;
            for (j = 0; j < Np; j += FS_VW) mv = v_max(mv, v_load_row(e, j, N, -INFINITY));
            mu = v_hmax(mv);
            S->emax[u - t0] = mu;
            if (mu == -INFINITY) mu = 0.0; /* every entry forbidden: exps are 0 */
            for (j = 0; j < Np; j += FS_VW)
                v_store(r + j, v_sub(v_load_row(e, j, N, -INFINITY), v_set1(mu)));
        }
        exp_array(S->eb, S->eb, (t1 - t0) * Np);
        S->eb_t0 = t0;
    }
    *m = S->emax[t - S->eb_t0];
    return S->eb + (t - S->eb_t0) * Np;
}


/* alpha[t][j] = em[t][j] + logsumexp_i(alpha[t-1][i] + trans[i][j]), alpha[0] = start + em[0],
   for ns <= FS_G sequences in lockstep. Writes log_Z[s] = logsumexp_j(alpha[T-1][j] + end[j]).
   tmp: 3 Np doubles. */
static void forward_group(const fs_model *M, fs_seq *S, int ns, fs_dd *log_Z,
                          double *tmp) {
    const int64_t N = M->N, Np = M->Np;
    int alive[FS_G];
    int64_t t, j, Tmax = 0;
    int s;
    for (s = 0; s < ns; s++) {
        fs_lattice *L = S[s].L;
        if (S[s].T > Tmax) Tmax = S[s].T;
        alive[s] = 0;
        if (S[s].T == 0) continue;
        for (j = 0; j < N; j++) L->v[j] = M->start[j] + S[s].em[j];
        alive[s] = row_from_logs(L->v, N, fs_dd_zero, &L->c[0], &L->is_log[0], M->scaled_ok);
    }
    for (t = 1; t < Tmax; t++) {
        const double *in[FS_G];
        double *out[FS_G];
        int any = 0;
        for (s = 0; s < ns; s++) {
            const fs_lattice *L = S[s].L;
            if (t < S[s].T && alive[s] && !L->is_log[RIX(L, t - 1)]) {
                in[any] = ROW(L, Np, t - 1);
                out[any] = ROW(L, Np, t);
                any++;
            }
        }
        for (s = 0; s < ns; s++) /* the next emission rows stream from memory meanwhile */
            if (t + 1 < S[s].T) prefetch_row(S[s].em + (t + 1) * N, N);
        if (any) matvec_group(M->A, N, Np, in, out, any);
        for (s = 0; s < ns; s++) {
            fs_lattice *L = S[s].L;
            const int64_t r = RIX(L, t), rp = RIX(L, t - 1);
            double *cur = ROW(L, Np, t);
            const double *e = S[s].em + t * N;
            if (t >= S[s].T) continue;
            if (!alive[s]) {
                row_dead(cur, N, &L->c[r], &L->is_log[r]);
            } else if (!L->is_log[rp]) {
                double m;
                const double *E = exp_row(&S[s], N, Np, t, 1, &m);
                alive[s] = row_finish(cur, N, Np, dd_add(L->c[rp], M->gT), e, E, m, &L->c[r],
                                      &L->is_log[r], M->scaled_ok, tmp);
            } else {
                const double *prev = ROW(L, Np, t - 1);
                for (j = 0; j < N; j++) cur[j] = lse_strided(prev, M->trans + j, N, N) + e[j];
                alive[s] = row_from_logs(cur, N, L->c[rp], &L->c[r], &L->is_log[r], M->scaled_ok);
            }
        }
    }
    for (s = 0; s < ns; s++) {
        const int64_t T = S[s].T;
        double m = -INFINITY, acc = 0.0;
        log_Z[s] = fs_dd_zero;
        if (T == 0) continue;
        for (j = 0; j < N; j++) {
            tmp[j] = lat_rel(S[s].L, Np, T - 1, j) + M->end[j];
            if (tmp[j] > m) m = tmp[j];
        }
        if (m == -INFINITY) {
            log_Z[s].hi = -INFINITY;
            continue;
        }
        for (j = 0; j < N; j++) acc += exp(tmp[j] - m);
        log_Z[s] = dd_add(S[s].L->c[RIX(S[s].L, T - 1)], m + log(acc));
    }
}

/* beta[T-1] = end; beta[t][i] = logsumexp_j(trans[i][j] + em[t+1][j] + beta[t+1][j]), for
   ns <= FS_G sequences in lockstep, each running from its own end (position T_s - 1 - u at
   lockstep step u). tmp: 3 Np doubles. */
static void backward_group(const fs_model *M, fs_seq *S, int ns, double *tmp) {
    const int64_t N = M->N, Np = M->Np;
    int alive[FS_G];
    unsigned char xlog[FS_G];
    fs_dd cx[FS_G];
    int64_t u, i, j, Tmax = 0;
    int s;
    for (s = 0; s < ns; s++) {
        fs_lattice *L = S[s].L;
        const int64_t T = S[s].T;
        if (T > Tmax) Tmax = T;
        alive[s] = 0;
        if (T == 0) continue;
        memcpy(ROW(L, Np, T - 1), M->end, sizeof(double) * N);
        alive[s] = row_from_logs(ROW(L, Np, T - 1), N, fs_dd_zero, &L->c[RIX(L, T - 1)],
                                 &L->is_log[RIX(L, T - 1)], M->scaled_ok);
    }
    for (u = 1; u < Tmax; u++) {
        const double *in[FS_G];
        double *out[FS_G];
        int any = 0;
        /* x = beta[t+1] + em[t+1], rescaled */
        for (s = 0; s < ns; s++) {
            fs_lattice *L = S[s].L;
            const int64_t t = S[s].T - 1 - u;
            if (t < 0 || !alive[s]) continue;
            if (!L->is_log[RIX(L, t + 1)]) {
                double m;
                const double *E = exp_row(&S[s], N, Np, t + 1, 0, &m);
                memcpy(S[s].x, ROW(L, Np, t + 1), sizeof(double) * Np); /* with padding */
                if (!row_finish(S[s].x, N, Np, L->c[RIX(L, t + 1)], S[s].em + (t + 1) * N, E,
                                m, &cx[s], &xlog[s], M->scaled_ok, tmp)) {
                    alive[s] = 0;
                    continue;
                }
            } else {
                const double *nx = ROW(L, Np, t + 1), *e = S[s].em + (t + 1) * N;
                for (j = 0; j < N; j++) S[s].x[j] = nx[j] + e[j];
                cx[s] = L->c[RIX(L, t + 1)];
                xlog[s] = 1;
            }
            if (!xlog[s]) {
                in[any] = S[s].x;
                out[any] = ROW(L, Np, t);
                any++;
            }
        }
        for (s = 0; s < ns; s++)
            if (S[s].T - 1 - u > 0) prefetch_row(S[s].em + (S[s].T - 1 - u) * N, N);
        if (any) matvec_group(M->AT, N, Np, in, out, any);
        for (s = 0; s < ns; s++) {
            fs_lattice *L = S[s].L;
            const int64_t t = S[s].T - 1 - u;
            double *cur;
            if (t < 0) continue;
            cur = ROW(L, Np, t);
            if (!alive[s]) {
                row_dead(cur, N, &L->c[RIX(L, t)], &L->is_log[RIX(L, t)]);
            } else if (!xlog[s]) {
                alive[s] = row_finish(cur, N, Np, dd_add(cx[s], M->gT), NULL, NULL, 0.0,
                                      &L->c[RIX(L, t)],
                                      &L->is_log[RIX(L, t)], M->scaled_ok, tmp);
            } else {
                for (i = 0; i < N; i++) cur[i] = lse_strided(S[s].x, M->trans + i * N, N, 1);
                alive[s] = row_from_logs(cur, N, cx[s], &L->c[RIX(L, t)], &L->is_log[RIX(L, t)],
                                         M->scaled_ok);
            }
        }
    }
}

/* log sum_j exp(alpha[t][j] + beta[t][j]): equal to log_Z for every t, but computed from
   row t's own offsets, so that marginals normalised by it carry none of the rounding that
   the offsets accumulated over the sequence (a million-step sequence stays exact). tmp: Np. */
static fs_dd local_log_Z(const fs_lattice *F, const fs_lattice *Bk, int64_t N, int64_t Np,
                         int64_t t, double *tmp) {
    const double *a = ROW(F, Np, t), *b = ROW(Bk, Np, t);
    fs_dd c = F->c[RIX(F, t)];
    int64_t j;
    c = dd_add(c, Bk->c[RIX(Bk, t)].hi);
    c.lo += Bk->c[RIX(Bk, t)].lo;
    if (!F->is_log[RIX(F, t)] && !Bk->is_log[RIX(Bk, t)]) {
        double sum = 0.0;
        for (j = 0; j < N; j++) sum += a[j] * b[j];
        return dd_add(c, log(sum));
    } else {
        double m = -INFINITY, sum = 0.0;
        for (j = 0; j < N; j++) {
            tmp[j] = lat_rel(F, Np, t, j) + lat_rel(Bk, Np, t, j);
            if (tmp[j] > m) m = tmp[j];
        }
        for (j = 0; j < N; j++) sum += exp(tmp[j] - m);
        return dd_add(c, m + log(sum));
    }
}

/* node[j] = P(y_t = j | x) = exp(alpha[t][j] + beta[t][j] - log_Z), with log_Z taken as
   local_log_Z(t). */
static void node_row(const fs_lattice *F, const fs_lattice *Bk, int64_t N, int64_t Np,
                     int64_t t, double *out) {
    const double *a = ROW(F, Np, t), *b = ROW(Bk, Np, t);
    int64_t j;
    if (!F->is_log[RIX(F, t)] && !Bk->is_log[RIX(Bk, t)]) {
        /* both scaled: a, b in [2^-300, 1], so the products are normal doubles */
        double sum = 0.0;
        for (j = 0; j < N; j++) sum += out[j] = a[j] * b[j];
        sum = 1.0 / sum;
        for (j = 0; j < N; j++) out[j] *= sum;
    } else {
        double m = -INFINITY, sum = 0.0;
        for (j = 0; j < N; j++) {
            out[j] = lat_rel(F, Np, t, j) + lat_rel(Bk, Np, t, j);
            if (out[j] > m) m = out[j];
        }
        for (j = 0; j < N; j++) sum += out[j] = out[j] > -INFINITY ? exp(out[j] - m) : 0.0;
        sum = 1.0 / sum;
        for (j = 0; j < N; j++) out[j] *= sum;
    }
}

/* Pair marginals summed over t: xi_t[i][j] = exp(alpha[t-1][i] + trans[i][j] + em[t][j] +
   beta[t][j] - log_Z). Fast path: xi_t = (a[i] K_t) A[i][j] q_t[j] with
   q_t[j] = b[j] exp(em[t][j] - m_t): the rows (a K_t) and q_t are collected in X and Y and
   sum_t (a K_t)^T q_t is one product (gemm_tn), multiplied by A at the end. log_Z is
   local_log_Z(t), as for the node marginals. Steps whose rows
   are not scaled, or whose K_t is too large for the dropped underflow terms to stay
   negligible (< 2^-400 each), are added exactly from logs. X, Y: [T][Np]; P, Ps: [Np][Np];
   out: [N][N] (double). tmp: 2 Np doubles. */
static void pair_sums(const fs_model *M, fs_seq *S, const fs_lattice *Bk, double *X,
                      double *Y, double *P, double *Ps, double *out, double *tmp) {
    const fs_lattice *F = S->L;
    const double *em = S->em;
    const int64_t T = S->T;
    const int64_t N = M->N, Np = M->Np;
    int64_t t, i, j;
    int any_slow = 0;
    for (t = 1; t < T; t++) {
        const double *e = em + t * N;
        const double *a = ROW(F, Np, t - 1), *b = ROW(Bk, Np, t);
        const double base =
            dd_sum3(F->c[RIX(F, t - 1)], Bk->c[RIX(Bk, t)], local_log_Z(F, Bk, N, Np, t, tmp));
        double *x = X + (t - 1) * Np, *y = Y + (t - 1) * Np;
        int fast = 0;
        if (!F->is_log[RIX(F, t - 1)] && !Bk->is_log[RIX(Bk, t)] && M->scaled_ok) {
            double m;
            const double *E = exp_row(S, N, Np, t, 1, &m);
            if (m == -INFINITY) { /* no path through t */
                for (j = 0; j < Np; j++) x[j] = y[j] = 0.0;
                continue;
            }
            /* if the entries live in b sit far below m, q is tiny and K huge: slow path */
            if (base + M->gT + m <= FS_K_MAX_LOG) {
                const fs_vd K = v_set1(exp(base + M->gT + m));
                for (j = 0; j < Np; j += FS_VW) {
                    v_store(x + j, v_mul(v_load(a + j), K));
                    v_store(y + j, v_mul(v_load(E + j), v_load(b + j)));
                }
                fast = 1;
            }
        }
        if (!fast) {
            double *la = tmp, *lb = tmp + Np;
            for (j = 0; j < Np; j++) x[j] = y[j] = 0.0;
            if (!any_slow) memset(Ps, 0, sizeof(double) * N * Np);
            any_slow = 1;
            for (i = 0; i < N; i++) la[i] = base + lat_rel(F, Np, t - 1, i);
            for (j = 0; j < N; j++) lb[j] = lat_rel(Bk, Np, t, j) + e[j];
            for (i = 0; i < N; i++) {
                if (la[i] == -INFINITY) continue;
                for (j = 0; j < N; j++) {
                    const double z = la[i] + M->trans[i * N + j] + lb[j];
                    if (z > -INFINITY) Ps[i * Np + j] += exp(z);
                }
            }
        }
    }
    gemm_tn(X, Y, T > 0 ? T - 1 : 0, N, Np, P);
    for (i = 0; i < N; i++)
        for (j = 0; j < N; j++)
            out[i * N + j] = P[i * Np + j] * M->A[i * Np + j] + (any_slow ? Ps[i * Np + j] : 0.0);
}

static inline int lowest_bit(unsigned x) {
#if defined(__GNUC__)
    return __builtin_ctz(x);
#else
    int i = 0;
    while (!(x & 1u)) {
        x >>= 1;
        i++;
    }
    return i;
#endif
}

/* The lowest i with d[i] + tp[i] == target, where target is the maximum of those sums as
   the forward sweep computed it (the same additions, so equality is exact). */
static int64_t first_match(const double *d, const double *tp, int64_t Np, double target) {
    const fs_vd m = v_set1(target);
    int64_t j;
    for (j = 0; j < Np; j += FS_VW) {
        const unsigned bits = v_eq_bits(v_add(v_load(d + j), v_load(tp + j)), m);
        if (bits) return j + lowest_bit(bits);
    }
    return 0;
}

/* Viterbi for ns <= FS_G sequences in lockstep. The sweep keeps only the max-plus rows
   (delta in the lattice's v, and the pre-emission maxima in S[s].raw, both [T][Np]);
   back-pointers are recovered while backtracking as the first state reaching the stored
   maximum, from the very same sums, so ties resolve exactly as a tracked argmax with the
   lowest state index would. Writes paths[s][t] (-1 when no path) and scores[s]. */
static void viterbi_group(const fs_model *M, const fs_seq *S, int ns, int64_t *const *paths,
                          double *scores) {
    const int64_t N = M->N, Np = M->Np;
    int64_t t, j, Tmax = 0;
    int s;
    for (s = 0; s < ns; s++) {
        if (S[s].T > Tmax) Tmax = S[s].T;
        if (S[s].T > 0)
            for (j = 0; j < Np; j++) S[s].L->v[j] = j < N ? M->start[j] + S[s].em[j] : -INFINITY;
    }
    for (t = 1; t < Tmax; t++) {
        const double *in[FS_G], *add[FS_G];
        double *out[FS_G], *raw[FS_G];
        int g = 0;
        for (s = 0; s < ns; s++) {
            if (t + 1 < S[s].T) prefetch_row(S[s].em + (t + 1) * N, N);
            if (t < S[s].T) {
                in[g] = S[s].L->v + (t - 1) * Np;
                out[g] = S[s].L->v + t * Np;
                raw[g] = S[s].raw + t * Np;
                add[g] = S[s].em + t * N;
                g++;
            }
        }
        maxplus_group(M->TP, N, Np, in, raw, out, add, g);
    }
    for (s = 0; s < ns; s++) {
        const int64_t T = S[s].T;
        const double *D = S[s].L->v;
        int64_t *path = paths[s], best_j = -1;
        double best = -INFINITY;
        if (T == 0) {
            scores[s] = 0.0;
            continue;
        }
        for (j = 0; j < N; j++) {
            const double v = D[(T - 1) * Np + j] + M->end[j];
            if (v > best) {
                best = v;
                best_j = j;
            }
        }
        scores[s] = best;
        if (best_j < 0) {
            for (t = 0; t < T; t++) path[t] = -1;
            continue;
        }
        path[T - 1] = best_j;
        for (t = T - 1; t > 0; t--)
            path[t - 1] = first_match(D + (t - 1) * Np, M->TPT + path[t] * Np, Np,
                                      S[s].raw[t * Np + path[t]]);
    }
}

/* Inserts (s, id) into the descending list (sc, ids) of size *n <= k. */
static inline void topk_insert(double *sc, int64_t *ids, int64_t *n, int64_t k, double s,
                               int64_t id) {
    int64_t p;
    if (*n == k && !(s > sc[k - 1])) return;
    p = *n < k ? (*n)++ : k - 1;
    while (p > 0 && sc[p - 1] < s) {
        sc[p] = sc[p - 1];
        ids[p] = ids[p - 1];
        p--;
    }
    sc[p] = s;
    ids[p] = id;
}

/* k best distinct paths: delta[j][r] is the r-th best score of a prefix ending in state j;
   bp[t][j][r] = i * k + r' names the prefix it extends. Distinct (i, r') give distinct
   prefixes, so the lists hold distinct paths. delta/nd: N*k doubles, cnt/ncnt: N int64,
   ids: N*k int64 scratch, bp: [T][N][k] int64. paths(r, t) = out[r * stride + t]. */
static void kbest_seq(const fs_model *M, const double *em, int64_t T, int64_t k, int64_t *out,
                      int64_t stride, double *scores, double *delta, double *nd, int64_t *cnt,
                      int64_t *ncnt, int64_t *bp) {
    const int64_t N = M->N;
    int64_t t, i, j, r, n = 0;
    double *fsc = nd; /* reused for the final list */
    for (r = 0; r < k; r++) scores[r] = -INFINITY;
    for (r = 0; r < k; r++)
        for (t = 0; t < T; t++) out[r * stride + t] = -1;
    if (T == 0) {
        scores[0] = 0.0;
        return;
    }
    for (j = 0; j < N; j++) {
        double s = M->start[j] + em[j];
        delta[j * k] = s;
        cnt[j] = s > -INFINITY ? 1 : 0;
    }
    for (t = 1; t < T; t++) {
        const double *e = em + t * N;
        int64_t *bpt = bp + t * N * k;
        for (j = 0; j < N; j++) {
            double *sc = nd + j * k;
            int64_t *ids = bpt + j * k;
            int64_t m = 0;
            if (e[j] > -INFINITY) {
                for (i = 0; i < N; i++) {
                    const double tr = M->trans[i * N + j];
                    if (tr == -INFINITY) continue;
                    for (r = 0; r < cnt[i]; r++) {
                        const double s = delta[i * k + r] + tr;
                        if (m == k && !(s > sc[k - 1])) break; /* lists are sorted */
                        topk_insert(sc, ids, &m, k, s, i * k + r);
                    }
                }
                for (r = 0; r < m; r++) sc[r] += e[j];
            }
            ncnt[j] = m;
        }
        memcpy(delta, nd, sizeof(double) * N * k);
        memcpy(cnt, ncnt, sizeof(int64_t) * N);
    }
    {
        /* final top-k over (j, r); its ids go to bp[0], which holds no back-pointers */
        int64_t *fids = bp;
        for (j = 0; j < N; j++) {
            if (M->end[j] == -INFINITY) continue;
            for (r = 0; r < cnt[j]; r++) {
                const double s = delta[j * k + r] + M->end[j];
                if (n == k && !(s > fsc[k - 1])) break;
                topk_insert(fsc, fids, &n, k, s, j * k + r);
            }
        }
        for (r = 0; r < n; r++) {
            int64_t id = fids[r];
            scores[r] = fsc[r];
            for (t = T - 1; t >= 0; t--) {
                const int64_t st = id / k;
                out[r * stride + t] = st;
                if (t > 0) id = bp[t * N * k + id];
            }
        }
    }
}

static double score_seq(const fs_model *M, const double *em, int64_t T, const int64_t *y) {
    const int64_t N = M->N;
    double s;
    int64_t t;
    if (T == 0) return 0.0;
    s = M->start[y[0]] + em[y[0]];
    for (t = 1; t < T; t++) s += M->trans[y[t - 1] * N + y[t]] + em[t * N + y[t]];
    return s + M->end[y[T - 1]];
}

#endif /* FASTSEQ_LATTICE_H */
