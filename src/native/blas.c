#include "affect.h"
#include "native/threads.h"
#include <cblas.h>

/* OpenBLAS behind the core's GEMM hook (training, attention of the training path, and any
 * caller of affect_sgemm; inference's linear layers use the core's own prepacked kernels). */
static void sgemm_openblas(int transA, int transB, int M, int N, int K, float alpha,
                           const float *A, int lda, const float *B, int ldb, float beta,
                           float *C, int ldc) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}


/* The CLI and tests call this once: it is where the native build picks its GEMM, its thread
 * pool and thread count, so the core itself never learns about either. */
void affect_native_init(int threads) {
    if (threads <= 0) threads = openblas_get_num_procs();
    openblas_set_num_threads(threads);
    affect_set_sgemm(sgemm_openblas);
    affect_native_threads_init(threads);
}
