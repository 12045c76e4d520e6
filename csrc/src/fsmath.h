/*
 * Numerical building blocks that know nothing of lattices: exp and log over arrays
 * (vectorised, about 1 ulp), log offsets as double-doubles (fs_dd), exact powers of two,
 * and an exact strided log-sum-exp. Relies on simd.h.
 */
#ifndef FASTSEQ_FSMATH_H
#define FASTSEQ_FSMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "simd.h"

/* ln 2 split so that e * FS_LN2_HI is exact for |e| < 2^20 */
#define FS_LN2_HI 6.93147180369123816490e-01
#define FS_LN2_LO 1.90821492927058770002e-10

#if FS_VW > 1
/* exp(x) lane-wise for x <= 0 (a little above 0 is fine); below -700, -inf included, 0.
   Cody-Waite reduction x = k ln2 + r, |r| <= ln2/2, a degree-13 Taylor polynomial (error
   below 1e-17 relative) and 2^k from the exponent bits. */
static FS_ALWAYS_INLINE fs_vd v_exp(fs_vd x) {
    const fs_vd lim = v_set1(-700.0), xv = v_max(x, lim);
    const fs_vd log2e = v_set1(1.4426950408889634);
    const fs_vd ln2hi = v_set1(FS_LN2_HI), ln2lo = v_set1(FS_LN2_LO);
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
    return v_zero_below(x, lim, v_mul(p, v_pow2i(t)));
}
#endif

/* y[j] = exp(x[j]) for x <= 0, for j < n rounded up to FS_VW (the buffers have room), by
   v_exp. Inputs below -700 (including -inf) give exactly 0; the kernels only rely on values
   >= exp(-700). libm's exp() costs more than the whole vectorised loop. */
static void exp_array(const double *x, double *y, int64_t n) {
#if FS_VW > 1
    int64_t j;
    for (j = 0; j < n; j += FS_VW) v_store(y + j, v_exp(v_load(x + j)));
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
    /* an offset below -DBL_MAX (scores near -DBL_MAX summed) is -inf, not -inf + NaN */
    if (s == -INFINITY) r.lo = 0.0;
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

#endif /* FASTSEQ_FSMATH_H */
