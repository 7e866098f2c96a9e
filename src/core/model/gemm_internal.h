/* What gemm.c shares with its per-ISA kernel files (gemm_avx512.c, gemm_avx2.c): one linear
 * layer's operands, and the kernel that computes a range of its 32-column panels. */
#ifndef AFFECT_CORE_GEMM_INTERNAL_H
#define AFFECT_CORE_GEMM_INTERNAL_H
#include "gemm.h"

typedef struct affect_linear_job {
    float *out;          /* (M,N) */
    const float *in;     /* (M,K) */
    const float *packed; /* panels, see affect_packed_w */
    const float *bias;   /* (N) or NULL */
    const float *res;    /* (M,N) or NULL; never equal to out (then c_init is set instead) */
    int M, N, K;
    size_t lda;          /* row stride of in */
    size_t ldo;          /* row stride of out and res */
    int c_init;          /* out already holds the residual: accumulate onto it */
    int act;             /* AFFECT_ACT_* */
} affect_linear_job;

/* Computes output columns [p0·32, min(p1·32, N)) for all M rows. Each element's value depends
 * only on its row and column (fixed K order), never on the panel range. */
void affect_linear_panels_avx512(const affect_linear_job *j, int p0, int p1);
void affect_linear_panels_avx2(const affect_linear_job *j, int p0, int p1);

/* K is cut into blocks of KC so one panel slice (32·KC floats = 32 KB) stays in L1 while the
 * row tiles pass over it; rows into blocks of at most MC (the AVX-512 kernel shrinks it for
 * long K so a row block stays in L2). */
#define AFFECT_GEMM_KC 256
#define AFFECT_GEMM_MC 192

#endif
