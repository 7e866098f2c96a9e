/* The AVX2+FMA kernel of affect_linear_forward: 6×16 register tiles (12 ymm accumulators),
 * each covering one half of a prepacked 32-column panel. For x86 CPUs without AVX-512;
 * compiled with target attributes and called only when the CPU has AVX2 and FMA. */
#include "gemm_internal.h"
#include "simd_math_x86.h"

#ifdef AFFECT_X86
#define MR 6

static inline __attribute__((always_inline)) AFFECT_T256 void
tile256(const int mr, int kc, const float *A, size_t lda, const float *B, float *C, size_t ldc,
        int load_c, int last, const float *bias, const float *res, size_t ldr, int act,
        __m256i m0, __m256i m1) {
    __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        if (i >= mr) break;
        if (load_c) {
            c0[i] = _mm256_maskload_ps(C + i * ldc, m0);
            c1[i] = _mm256_maskload_ps(C + i * ldc + 8, m1);
        } else {
            c0[i] = _mm256_setzero_ps();
            c1[i] = _mm256_setzero_ps();
        }
    }
#pragma GCC unroll 2
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(B + (size_t)k * 32);
        __m256 b1 = _mm256_loadu_ps(B + (size_t)k * 32 + 8);
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            if (i >= mr) break;
            __m256 a = _mm256_broadcast_ss(A + i * lda + k);
            c0[i] = _mm256_fmadd_ps(a, b0, c0[i]);
            c1[i] = _mm256_fmadd_ps(a, b1, c1[i]);
        }
    }
    if (last) {
        __m256 bb0 = _mm256_setzero_ps(), bb1 = _mm256_setzero_ps();
        if (bias) {
            bb0 = _mm256_maskload_ps(bias, m0);
            bb1 = _mm256_maskload_ps(bias + 8, m1);
        }
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            if (i >= mr) break;
            if (bias) {
                c0[i] = _mm256_add_ps(c0[i], bb0);
                c1[i] = _mm256_add_ps(c1[i], bb1);
            }
            if (res) {
                c0[i] = _mm256_add_ps(c0[i], _mm256_maskload_ps(res + i * ldr, m0));
                c1[i] = _mm256_add_ps(c1[i], _mm256_maskload_ps(res + i * ldr + 8, m1));
            }
            if (act == AFFECT_ACT_GELU) {
                c0[i] = affect_gelu256(c0[i]);
                c1[i] = affect_gelu256(c1[i]);
            }
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        if (i >= mr) break;
        _mm256_maskstore_ps(C + i * ldc, m0, c0[i]);
        _mm256_maskstore_ps(C + i * ldc + 8, m1, c1[i]);
    }
}

static AFFECT_T256 void tile256_any(int mr, int kc, const float *A, size_t lda, const float *B,
                                    float *C, size_t ldc, int load_c, int last,
                                    const float *bias, const float *res, size_t ldr, int act,
                                    __m256i m0, __m256i m1) {
#define T(n) case n: tile256(n, kc, A, lda, B, C, ldc, load_c, last, bias, res, ldr, act, m0, m1); break;
    switch (mr) { T(1) T(2) T(3) T(4) T(5) T(6) default: break; }
#undef T
}

/* Lane l of the mask is on when column base + l < nc. */
static AFFECT_T256 __m256i lane_mask(int base, int nc) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(nc - base), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

AFFECT_T256 void affect_linear_panels_avx2(const affect_linear_job *j, int p0, int p1) {
    const int M = j->M, N = j->N, K = j->K;
    for (int ic = 0; ic < M; ic += AFFECT_GEMM_MC) {
        int mc = M - ic < AFFECT_GEMM_MC ? M - ic : AFFECT_GEMM_MC;
        int pc = 0;
        do {
            int kc = K - pc < AFFECT_GEMM_KC ? K - pc : AFFECT_GEMM_KC;
            int first = pc == 0, last = pc + kc >= K;
            for (int p = p0; p < p1; p++) {
                for (int half = 0; half < 2; half++) {
                    int col0 = p * AFFECT_PANEL + half * 16;
                    int nc = N - col0 < 16 ? N - col0 : 16;
                    if (nc <= 0) break;
                    __m256i m0 = lane_mask(0, nc), m1 = lane_mask(8, nc);
                    const float *Bp = j->packed + (size_t)p * K * AFFECT_PANEL +
                                      (size_t)pc * AFFECT_PANEL + half * 16;
                    for (int ir = 0; ir < mc; ir += MR) {
                        int mr = mc - ir < MR ? mc - ir : MR;
                        size_t row = (size_t)(ic + ir);
                        tile256_any(mr, kc, j->in + row * j->lda + pc, j->lda, Bp,
                                    j->out + row * j->ldo + col0, j->ldo, !first || j->c_init, last,
                                    j->bias ? j->bias + col0 : NULL,
                                    j->res ? j->res + row * j->ldo + col0 : NULL, j->ldo, j->act,
                                    m0, m1);
                    }
                }
            }
            pc += kc;
        } while (pc < K);
    }
}
#else
typedef int affect_gemm_avx2_unused; /* non-x86: gemm.c never calls this file */
#endif
