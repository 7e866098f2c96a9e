/* Vectorized elementwise math for the inference path: erf, exp, GELU, a softmax row and a
 * LayerNorm row, each dispatched at run time to AVX-512, AVX2+FMA or portable C (libm).
 *
 * Accuracy (measured by tests/unit/test_simd_math.c against double precision on dense grids):
 * erf max |error| < 3e-7 (about 2 ulp near ±1, where erf's ulp is 6e-8), exp < 2 ulp on
 * the normal range and exactly 0 for x < −87.33 (so −inf is 0, which masked attention
 * relies on). That is still "exact erf GELU" to float precision: the tanh approximation is
 * off by up to 1e-3. The portable level uses libm's erff/expf. */
#ifndef AFFECT_CORE_SIMD_MATH_H
#define AFFECT_CORE_SIMD_MATH_H
#include <stddef.h>

/* Which kernel family the SIMD code uses. Decided once, from the CPU (x86:
 * __builtin_cpu_supports) and the environment variable AFFECT_SIMD (portable|avx2|avx512),
 * which can only lower the level the CPU supports. */
enum { AFFECT_SIMD_PORTABLE = 0, AFFECT_SIMD_AVX2 = 1, AFFECT_SIMD_AVX512 = 2 };
int affect_simd_level(void);
/* Forces a level (clamped to what the CPU supports; -1 = back to the automatic choice).
 * For tests and benchmarks; returns the level now in effect. */
int affect_simd_set_level(int level);

/* out[i] = erf(in[i]) / exp(in[i]) / 0.5·x·(1 + erf(x/√2)); out may equal in. */
void affect_erf_vec(float *out, const float *in, size_t n);
void affect_exp_vec(float *out, const float *in, size_t n);
void affect_gelu_vec(float *out, const float *in, size_t n);

/* x[i] = exp(x[i] − sub) for a softmax row (−inf entries become 0); returns the sum. */
float affect_exp_shift_sum(float *x, size_t n, float sub);

/* max of x[0..n) (n >= 1; -inf if all are), and x[i] *= s. */
float affect_max_vec(const float *x, size_t n);
void affect_scale_vec(float *x, size_t n, float s);

/* One LayerNorm row as layernorm_forward computes it (two-pass mean and biased variance,
 * eps inside the square root), vectorized: out may equal x. */
void affect_layernorm_row(float *out, const float *x, const float *w, const float *b, int C,
                          float eps);

#endif
