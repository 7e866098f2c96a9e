/* The AVX-512 kernel of affect_linear_forward: 12×32 register tiles (24 zmm accumulators),
 * A broadcast straight from the activation rows, B from the prepacked 32-column panels.
 * Compiled with target attributes, so the file builds everywhere and gemm.c calls it only
 * when the CPU has AVX-512F. */
#include "gemm_internal.h"
#include "simd_math_x86.h"

#ifdef AFFECT_X86
#define MR 12

/* One mr×32 tile over kc steps of K. load_c: start from C (a K block after the first, or a
 * residual already in C); last: add bias and residual, apply the activation. */
static inline __attribute__((always_inline)) AFFECT_T512 void
tile512(const int mr, int kc, const float *A, size_t lda, const float *B, float *C, size_t ldc,
        int load_c, int last, const float *bias, const float *res, size_t ldr, int act,
        __mmask16 m0, __mmask16 m1, const float *pf, int npf) {
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        if (i >= mr) break;
        if (load_c) {
            c0[i] = _mm512_maskz_loadu_ps(m0, C + i * ldc);
            c1[i] = _mm512_maskz_loadu_ps(m1, C + i * ldc + 16);
        } else {
            c0[i] = _mm512_setzero_ps();
            c1[i] = _mm512_setzero_ps();
        }
    }
#pragma GCC unroll 2
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_loadu_ps(B + (size_t)k * 32);
        __m512 b1 = _mm512_loadu_ps(B + (size_t)k * 32 + 16);
        if (pf && k < npf) {
            _mm_prefetch((const char *)(pf + (size_t)k * 32), _MM_HINT_T0);
            _mm_prefetch((const char *)(pf + (size_t)k * 32 + 16), _MM_HINT_T0);
        }
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            if (i >= mr) break;
            __m512 a = _mm512_set1_ps(A[i * lda + k]);
            c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);
        }
    }
    if (last) {
        __m512 bb0 = _mm512_setzero_ps(), bb1 = _mm512_setzero_ps();
        if (bias) {
            bb0 = _mm512_maskz_loadu_ps(m0, bias);
            bb1 = _mm512_maskz_loadu_ps(m1, bias + 16);
        }
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            if (i >= mr) break;
            if (bias) {
                c0[i] = _mm512_add_ps(c0[i], bb0);
                c1[i] = _mm512_add_ps(c1[i], bb1);
            }
            if (res) {
                c0[i] = _mm512_add_ps(c0[i], _mm512_maskz_loadu_ps(m0, res + i * ldr));
                c1[i] = _mm512_add_ps(c1[i], _mm512_maskz_loadu_ps(m1, res + i * ldr + 16));
            }
            if (act == AFFECT_ACT_GELU) {
                c0[i] = affect_gelu512(c0[i]);
                c1[i] = affect_gelu512(c1[i]);
            }
        }
    }
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        if (i >= mr) break;
        _mm512_mask_storeu_ps(C + i * ldc, m0, c0[i]);
        _mm512_mask_storeu_ps(C + i * ldc + 16, m1, c1[i]);
    }
}

/* The switch turns mr into a constant, so each case is its own fully unrolled tile. */
static AFFECT_T512 void tile512_any(int mr, int kc, const float *A, size_t lda, const float *B,
                                    float *C, size_t ldc, int load_c, int last,
                                    const float *bias, const float *res, size_t ldr, int act,
                                    __mmask16 m0, __mmask16 m1, const float *pf, int npf) {
#define T(n) case n: tile512(n, kc, A, lda, B, C, ldc, load_c, last, bias, res, ldr, act, m0, m1, pf, npf); break;
    switch (mr) { T(1) T(2) T(3) T(4) T(5) T(6) T(7) T(8) T(9) T(10) T(11) T(12) default: break; }
#undef T
}

/* Loop order: row blocks, then panels, then K blocks, then row tiles. A panel is one
 * contiguous run of memory, consumed whole before the next, so at batch 1 (weights from DRAM)
 * the weights stream sequentially; while one panel computes, its row tiles prefetch the next
 * panel in equal shares. A row block's K rows (mc·K floats, at most ~1 MB) stay in L2 for
 * all panels, so mc shrinks as K grows. */
AFFECT_T512 void affect_linear_panels_avx512(const affect_linear_job *j, int p0, int p1) {
    const int M = j->M, N = j->N, K = j->K;
    int mcap = (int)((1u << 20) / (4u * (unsigned)(K > 0 ? K : 1))) / MR * MR;
    if (mcap < MR) mcap = MR;
    if (mcap > AFFECT_GEMM_MC) mcap = AFFECT_GEMM_MC;
    for (int ic = 0; ic < M; ic += mcap) {
        int mc = M - ic < mcap ? M - ic : mcap;
        int ntiles = (mc + MR - 1) / MR;
        for (int p = p0; p < p1; p++) {
            int col0 = p * AFFECT_PANEL;
            int nc = N - col0 < AFFECT_PANEL ? N - col0 : AFFECT_PANEL;
            __mmask16 m0 = nc >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nc) - 1);
            __mmask16 m1 = nc >= 32 ? (__mmask16)0xFFFF
                           : nc > 16 ? (__mmask16)((1u << (nc - 16)) - 1) : (__mmask16)0;
            const float *panel = j->packed + (size_t)p * K * AFFECT_PANEL;
            const float *next = p + 1 < p1 ? panel + (size_t)K * AFFECT_PANEL : NULL;
            int pc = 0;
            do {
                int kc = K - pc < AFFECT_GEMM_KC ? K - pc : AFFECT_GEMM_KC;
                int first = pc == 0, last = pc + kc >= K;
                const float *Bp = panel + (size_t)pc * AFFECT_PANEL;
                for (int ir = 0, t = 0; ir < mc; ir += MR, t++) {
                    int mr = mc - ir < MR ? mc - ir : MR;
                    size_t row = (size_t)(ic + ir);
                    /* this tile's share of the next panel's rows pc … pc+kc */
                    int k0 = kc * t / ntiles, k1 = kc * (t + 1) / ntiles;
                    const float *pf = next && k1 > k0 ? next + (size_t)(pc + k0) * AFFECT_PANEL : NULL;
                    tile512_any(mr, kc, j->in + row * j->lda + pc, j->lda, Bp,
                                j->out + row * j->ldo + col0, j->ldo, !first || j->c_init, last,
                                j->bias ? j->bias + col0 : NULL,
                                j->res ? j->res + row * j->ldo + col0 : NULL, j->ldo, j->act, m0, m1,
                                pf, k1 - k0);
                }
                pc += kc;
            } while (pc < K);
        }
    }
}
#else
typedef int affect_gemm_avx512_unused; /* non-x86: gemm.c never calls this file */
#endif
