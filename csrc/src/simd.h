/*
 * The vector vocabulary: everything that depends on the instruction set or the compiler.
 *
 * kernels_isa.c is compiled once per ISA, with that ISA's flags and FS_ISA = generic, avx2 or
 * avx512 (set by CMake). FS_ISA picks one set of the definitions below, all with the same
 * names, so the kernels are written once:
 *   fs_vd, FS_VW       a vector of FS_VW doubles (AVX-512: 8, AVX2: 4, SSE2: 2, else 1)
 *   v_load, v_store, v_set1, v_add, v_sub, v_mul, v_div, v_max, v_fma   lane-wise
 *                      (v_fma is a multiply then an add where the ISA has no FMA)
 *   v_hmax             the largest lane
 *   v_eq_bits, v_gt_bits, v_lt_bits   a comparison as a lane mask, lane i in bit i
 *   v_blend_gt, v_zero_below          lane selects
 *   v_round_magic, v_pow2i, v_frexp1  exponent-bit tricks for exp_array and log_array
 *   v_load_n, v_load_row              loads that never read past the end of a row
 *   FS_JB              the columns a kernel keeps in registers per row (two vectors)
 * and the compiler-specific helpers FS_ALWAYS_INLINE, FS_NOINLINE, lowest_bit and
 * prefetch_row.
 */
#ifndef FASTSEQ_SIMD_H
#define FASTSEQ_SIMD_H

#include <stdint.h>

/* FS_ISA as a number, which the preprocessor can compare */
#define FS_ISA_ID_generic 0
#define FS_ISA_ID_avx2 1
#define FS_ISA_ID_avx512 2
#define FS_ISA_ID_(x) FS_ISA_ID_##x
#define FS_ISA_ID(x) FS_ISA_ID_(x)
#if FS_ISA_ID(FS_ISA) == 2
#define FS_ISA_IS_AVX512
#elif FS_ISA_ID(FS_ISA) == 1
#define FS_ISA_IS_AVX2
#endif

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
#define v_load_row(p, j, n, fill) \
    ((j) + FS_VW <= (n) ? v_load((p) + (j)) : v_load_n((p) + (j), (n) - (j), fill))

#if defined(__GNUC__)
#define FS_ALWAYS_INLINE inline __attribute__((always_inline))
#define FS_NOINLINE __attribute__((noinline))
#else
#define FS_ALWAYS_INLINE inline
#define FS_NOINLINE
#endif

/* The index of the lowest set bit of x != 0 (the first matching lane of a v_*_bits mask). */
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

/* Asks for the n doubles at p to be brought into cache. */
#if defined(__GNUC__)
#define FS_PREFETCH(p) __builtin_prefetch(p)
#else
#define FS_PREFETCH(p) ((void)(p))
#endif

static inline void prefetch_row(const double *p, int64_t n) {
#if defined(__GNUC__)
    int64_t j;
    for (j = 0; j < n; j += 8) __builtin_prefetch(p + j);
#else
    (void)p;
    (void)n;
#endif
}

#endif /* FASTSEQ_SIMD_H */
