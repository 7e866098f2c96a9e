/* The vector bodies of erf, exp and GELU for x86 (AVX-512 and AVX2+FMA), as static inline
 * functions that each kernel file inlines into its own target-specific code. Included only
 * by gemm_avx512.c, gemm_avx2.c and simd_math.c, and only on x86 with GCC or Clang; the
 * public side is simd_math.h.
 *
 * erf(x): |x| < 1: x·P(x²), P of degree 6 (relative fit error 1.2e-9);
 *         1 <= |x| < 4: 1 − exp(−x²)·Q(1/(1 + |x|/2)), Q of degree 7 fitting erfcx(x)
 *         (relative fit error 3.7e-10); |x| >= 4 rounds to ±1 (erfc(4) = 1.5e-8 < ulp(1)/2).
 *         Coefficients: weighted least squares iterated towards minimax in double (Lawson).
 *         Measured over a dense grid against erf in double: max |error| < 3e-7 (test_simd_math).
 * exp(x): Cephes expf: x = n·ln2 + r, degree-6 polynomial in r, times 2^n; x below
 *         −87.33 (where the result leaves the normal range) gives 0, so −inf gives exactly 0
 *         (masked attention keys); NaN stays NaN in both. Max error < 2 ulp on the normal range. */
#ifndef AFFECT_CORE_SIMD_MATH_X86_H
#define AFFECT_CORE_SIMD_MATH_X86_H
/* -DAFFECT_NO_X86_SIMD builds the portable code alone, as non-x86 targets (WebAssembly) get. */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && !defined(AFFECT_NO_X86_SIMD)
#define AFFECT_X86 1
#include <immintrin.h>

#define AFFECT_T512 __attribute__((target("avx512f,fma")))
#define AFFECT_T256 __attribute__((target("avx2,fma")))

#define AFFECT_ERF_SMALL                                                                  \
    1.128379107e+00f, -3.761262596e-01f, 1.128358543e-01f, -2.685382031e-02f,            \
        5.188342649e-03f, -8.010311285e-04f, 7.854221622e-05f
#define AFFECT_ERF_BIG                                                                    \
    -1.531889138e-04f, 2.848962545e-01f, 2.598015666e-01f, 3.473614454e-01f,             \
        -1.025935411e-01f, 5.618744493e-01f, -4.701527059e-01f, 1.190163270e-01f

/* ---- AVX-512 ---------------------------------------------------------------------------- */

static inline AFFECT_T512 __m512 affect_exp512(__m512 xin) {
    __m512 x = xin;
    const __m512 hi = _mm512_set1_ps(88.8f); /* above: 2^n·p overflows to inf */
    __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.33654f), _CMP_LT_OQ);
    x = _mm512_min_ps(x, hi);
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.33654f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500E-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894E-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459E-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201E-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    p = _mm512_scalef_ps(p, n);
    p = _mm512_maskz_mov_ps((__mmask16)~under, p);
    return _mm512_mask_mov_ps(p, _mm512_cmp_ps_mask(xin, xin, _CMP_UNORD_Q), xin);
}

static inline AFFECT_T512 __m512 affect_erf512(__m512 x) {
    const float cs[] = {AFFECT_ERF_SMALL}, cb[] = {AFFECT_ERF_BIG};
    __m512 a = _mm512_abs_ps(x);
    __m512 a2 = _mm512_mul_ps(a, a);
    __m512 s = _mm512_set1_ps(cs[6]);
    for (int i = 5; i >= 0; i--) s = _mm512_fmadd_ps(s, a2, _mm512_set1_ps(cs[i]));
    s = _mm512_mul_ps(s, a);
    __m512 ac = _mm512_min_ps(a, _mm512_set1_ps(4.0f));
    __m512 u = _mm512_div_ps(_mm512_set1_ps(1.0f),
                             _mm512_fmadd_ps(ac, _mm512_set1_ps(0.5f), _mm512_set1_ps(1.0f)));
    __m512 q = _mm512_set1_ps(cb[7]);
    for (int i = 6; i >= 0; i--) q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(cb[i]));
    __m512 e = affect_exp512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(ac, ac)));
    __m512 big = _mm512_fnmadd_ps(q, e, _mm512_set1_ps(1.0f));
    __mmask16 small = _mm512_cmp_ps_mask(a, _mm512_set1_ps(1.0f), _CMP_LT_OQ);
    __m512 r = _mm512_mask_blend_ps(small, big, s);
    /* copy x's sign (erf is odd); NaN stays NaN through the small branch's arithmetic */
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    r = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(r),
                                            _mm512_and_si512(_mm512_castps_si512(x), sign)));
    return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
}

/* 0.5·x·(1 + erf(x/√2)), in PyTorch's operation order. */
static inline AFFECT_T512 __m512 affect_gelu512(__m512 x) {
    __m512 e = affect_erf512(_mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752440f)));
    return _mm512_mul_ps(_mm512_mul_ps(x, _mm512_set1_ps(0.5f)),
                         _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

/* ---- AVX2 + FMA --------------------------------------------------------------------------- */

static inline AFFECT_T256 __m256 affect_exp256(__m256 xin) {
    __m256 x = xin;
    __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(-87.33654f), _CMP_LT_OQ);
    x = _mm256_min_ps(x, _mm256_set1_ps(88.8f));
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.33654f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500E-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    /* 2^n for n in [-126, 128): n = 128 only when x ≈ 88.7, where expf overflows anyway */
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i ex = _mm256_slli_epi32(_mm256_add_epi32(ni, _mm256_set1_epi32(127)), 23);
    __m256 two_n = _mm256_castsi256_ps(ex);
    /* n == 128 (x within an ulp of the overflow threshold): split the scale in two */
    __m256 big = _mm256_cmp_ps(n, _mm256_set1_ps(127.5f), _CMP_GT_OQ);
    two_n = _mm256_blendv_ps(two_n, _mm256_set1_ps(1.7014118346046923e38f), big);
    p = _mm256_blendv_ps(p, _mm256_mul_ps(p, _mm256_set1_ps(2.0f)), big);
    p = _mm256_andnot_ps(under, _mm256_mul_ps(p, two_n));
    return _mm256_blendv_ps(p, xin, _mm256_cmp_ps(xin, xin, _CMP_UNORD_Q));
}

static inline AFFECT_T256 __m256 affect_erf256(__m256 x) {
    const float cs[] = {AFFECT_ERF_SMALL}, cb[] = {AFFECT_ERF_BIG};
    const __m256 signbit = _mm256_set1_ps(-0.0f);
    __m256 a = _mm256_andnot_ps(signbit, x);
    __m256 a2 = _mm256_mul_ps(a, a);
    __m256 s = _mm256_set1_ps(cs[6]);
    for (int i = 5; i >= 0; i--) s = _mm256_fmadd_ps(s, a2, _mm256_set1_ps(cs[i]));
    s = _mm256_mul_ps(s, a);
    __m256 ac = _mm256_min_ps(a, _mm256_set1_ps(4.0f));
    __m256 u = _mm256_div_ps(_mm256_set1_ps(1.0f),
                             _mm256_fmadd_ps(ac, _mm256_set1_ps(0.5f), _mm256_set1_ps(1.0f)));
    __m256 q = _mm256_set1_ps(cb[7]);
    for (int i = 6; i >= 0; i--) q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(cb[i]));
    __m256 e = affect_exp256(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(ac, ac)));
    __m256 big = _mm256_fnmadd_ps(q, e, _mm256_set1_ps(1.0f));
    __m256 small = _mm256_cmp_ps(a, _mm256_set1_ps(1.0f), _CMP_LT_OQ);
    __m256 r = _mm256_blendv_ps(big, s, small);
    r = _mm256_or_ps(r, _mm256_and_ps(x, signbit));
    return _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

static inline AFFECT_T256 __m256 affect_gelu256(__m256 x) {
    __m256 e = affect_erf256(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752440f)));
    return _mm256_mul_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.5f)),
                         _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

#endif
#endif
