/* The one door to matrix multiplication: every large product in the core goes through
 * affect_sgemm, which calls whatever the platform installed with affect_set_sgemm
 * (OpenBLAS natively, a SIMD kernel in the browser, the portable loop otherwise). */
#ifndef AFFECT_CORE_GEMM_H
#define AFFECT_CORE_GEMM_H
#include "affect.h"

/* Row-major C(M,N) = alpha * op(A)(M,K) * op(B)(K,N) + beta * C. */
void affect_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc);

#endif
