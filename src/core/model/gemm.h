/* The one door to matrix multiplication: every large product in the core goes through
 * affect_sgemm, which calls whatever the platform installed with affect_set_sgemm
 * (OpenBLAS natively, a SIMD kernel in the browser, the portable loop otherwise).
 *
 * Inference adds a second door for the encoder's linear layers, whose weights never change
 * between calls: affect_pack_weights copies a PyTorch (out, in) weight matrix ONCE into
 * 32-column panels (k-major inside a panel, zero-padded to a multiple of 32 columns), and
 * affect_linear_forward multiplies by it with the core's own SIMD kernels (AVX-512 or AVX2+FMA
 * chosen at run time, portable C otherwise), bias / residual / GELU fused into the store.
 * Its output columns are split over the threads of the parallel-for hook (parallel.h); each
 * output element is computed by one thread in one fixed order, so results are bit-identical
 * for any thread count. */
#ifndef AFFECT_CORE_GEMM_H
#define AFFECT_CORE_GEMM_H
#include <stddef.h>
#include "affect.h"
#include "simd_math.h"

/* Row-major C(M,N) = alpha * op(A)(M,K) * op(B)(K,N) + beta * C. */
void affect_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc);

#define AFFECT_PANEL 32 /* columns per packed panel */

/* A weight matrix W (N,K), PyTorch (out, in) layout, repacked for affect_linear_forward:
 * panel p holds columns p·32 … p·32+31 as data[p·K·32 + k·32 + c] = W[p·32+c, k]. */
typedef struct affect_packed_w {
    float *data; /* owned; NULL when empty */
    int N, K;
} affect_packed_w;

/* Packs W (N,K). Returns AFFECT_OK or AFFECT_ENOMEM / AFFECT_EARG (err may be NULL). */
int affect_pack_weights(affect_packed_w *pw, const float *W, int N, int K, affect_error *err);
void affect_packed_free(affect_packed_w *pw);

enum { AFFECT_ACT_NONE = 0, AFFECT_ACT_GELU = 1 };

/* out(M,N) = act(in(M,K) · Wᵀ + bias + residual). bias (N) and residual (M,N) may be NULL;
 * out may alias residual, never in. act is AFFECT_ACT_NONE or AFFECT_ACT_GELU (exact erf form,
 * vectorized to ~2 ulp, see simd_math.h). Row strides are K for in and N for out/residual. */
void affect_linear_forward(float *out, const float *in, const affect_packed_w *w,
                           const float *bias, const float *residual, int M, int act);

/* Panels for products whose right operand changes every call (attention's K and V): the
 * caller owns the scratch, affect_panels_floats(N, K) floats. trans = 1 packs B given as
 * (N,K) rows with stride ldb (W in (out, in) layout, or K in q·kᵀ), trans = 0 packs B given
 * as (K,N) rows with stride ldb (V in p·v); every value is multiplied by scale. */
size_t affect_panels_floats(int N, int K);
void affect_pack_panels(float *dst, const float *B, size_t ldb, int N, int K, int trans,
                        float scale);
/* out(M,N) (row stride ldo) = in(M,K) (row stride lda) · panels, on the calling thread. */
void affect_gemm_panels(float *out, size_t ldo, const float *in, size_t lda,
                        const float *panels, int M, int N, int K);

#endif
