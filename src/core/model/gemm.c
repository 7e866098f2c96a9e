#include "gemm.h"

/* The portable fallback: correct for every shape and layout, cache-blocked enough to be
 * usable in tests and in the WebAssembly build until a SIMD kernel replaces it. */
static void sgemm_portable(int transA, int transB, int M, int N, int K, float alpha,
                           const float *A, int lda, const float *B, int ldb, float beta,
                           float *C, int ldc) {
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0.0f) for (int j = 0; j < N; j++) c[j] = 0.0f;
        else if (beta != 1.0f) for (int j = 0; j < N; j++) c[j] *= beta;
    }
    if (!transB) {
        /* C[i,:] += alpha * A[i,k] * B[k,:]: the inner loop runs along contiguous rows */
        for (int i = 0; i < M; i++) {
            float *c = C + (size_t)i * ldc;
            for (int k = 0; k < K; k++) {
                float a = alpha * (transA ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]);
                const float *b = B + (size_t)k * ldb;
                for (int j = 0; j < N; j++) c[j] += a * b[j];
            }
        }
    } else {
        /* C[i,j] += alpha * dot(A[i,:], B[j,:]) */
        for (int i = 0; i < M; i++) {
            float *c = C + (size_t)i * ldc;
            for (int j = 0; j < N; j++) {
                const float *b = B + (size_t)j * ldb;
                float s = 0.0f;
                if (!transA) {
                    const float *a = A + (size_t)i * lda;
                    for (int k = 0; k < K; k++) s += a[k] * b[k];
                } else {
                    for (int k = 0; k < K; k++) s += A[(size_t)k * lda + i] * b[k];
                }
                c[j] += alpha * s;
            }
        }
    }
}

static affect_sgemm_fn g_sgemm = sgemm_portable;

void affect_set_sgemm(affect_sgemm_fn fn) { g_sgemm = fn ? fn : sgemm_portable; }

void affect_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    g_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
