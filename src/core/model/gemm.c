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

/* ---- prepacked linear layers (inference) --------------------------------------------------- */

#include "gemm_internal.h"
#include "simd_math_x86.h"
#include "parallel.h"
#include "util/error.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Panels are 64-byte aligned (one cache line, one zmm) and zero-padded past N, so the SIMD
 * kernels read whole panels without tail cases and the padding contributes exact zeros. */
int affect_pack_weights(affect_packed_w *pw, const float *W, int N, int K, affect_error *err) {
    memset(pw, 0, sizeof *pw);
    if (N <= 0 || K < 0 || (!W && K > 0))
        return affect_fail(err, AFFECT_EARG, "pack_weights: bad shape (%d, %d)", N, K);
    size_t np = ((size_t)N + AFFECT_PANEL - 1) / AFFECT_PANEL;
    size_t floats = np * AFFECT_PANEL;
    if (K > 0 && floats > SIZE_MAX / sizeof(float) / (size_t)K)
        return affect_fail(err, AFFECT_ENOMEM, "pack_weights: (%d, %d) overflows memory", N, K);
    floats *= (size_t)(K > 0 ? K : 1);
    size_t bytes = (floats * sizeof(float) + 63) & ~(size_t)63;
    float *d = aligned_alloc(64, bytes);
    if (!d)
        return affect_fail(err, AFFECT_ENOMEM, "pack_weights: out of memory for (%d, %d)", N, K);
    memset(d, 0, bytes);
    for (size_t p = 0; p < np; p++) {
        float *panel = d + p * (size_t)K * AFFECT_PANEL;
        for (int c = 0; c < AFFECT_PANEL; c++) {
            size_t n = p * AFFECT_PANEL + (size_t)c;
            if (n >= (size_t)N) break;
            const float *w = W + n * (size_t)K;
            for (int k = 0; k < K; k++) panel[(size_t)k * AFFECT_PANEL + c] = w[k];
        }
    }
    pw->data = d;
    pw->N = N;
    pw->K = K;
    return AFFECT_OK;
}

void affect_packed_free(affect_packed_w *pw) {
    if (!pw) return;
    free(pw->data);
    memset(pw, 0, sizeof *pw);
}

/* The portable kernel over the same panels (WebAssembly, non-x86, AFFECT_SIMD=portable):
 * a 4×32 tile whose inner loop over 32 contiguous columns compilers vectorize. The K order
 * per element is the same fixed one for every panel range. */
static void linear_panels_portable(const affect_linear_job *j, int p0, int p1) {
    const int M = j->M, N = j->N, K = j->K;
    for (int p = p0; p < p1; p++) {
        int col0 = p * AFFECT_PANEL;
        int nc = N - col0 < AFFECT_PANEL ? N - col0 : AFFECT_PANEL;
        const float *Bp = j->packed + (size_t)p * K * AFFECT_PANEL;
        for (int r0 = 0; r0 < M; r0 += 4) {
            int mr = M - r0 < 4 ? M - r0 : 4;
            float acc[4][AFFECT_PANEL];
            for (int i = 0; i < mr; i++) {
                float *o = j->out + (size_t)(r0 + i) * j->ldo + col0;
                for (int c = 0; c < AFFECT_PANEL; c++) acc[i][c] = j->c_init && c < nc ? o[c] : 0.0f;
            }
            for (int k = 0; k < K; k++) {
                const float *b = Bp + (size_t)k * AFFECT_PANEL;
                for (int i = 0; i < mr; i++) {
                    float a = j->in[(size_t)(r0 + i) * j->lda + k];
                    for (int c = 0; c < AFFECT_PANEL; c++) acc[i][c] += a * b[c];
                }
            }
            for (int i = 0; i < mr; i++) {
                size_t row = (size_t)(r0 + i);
                float *o = j->out + row * j->ldo + col0;
                for (int c = 0; c < nc; c++) {
                    float v = acc[i][c];
                    if (j->bias) v += j->bias[col0 + c];
                    if (j->res) v += j->res[row * j->ldo + col0 + c];
                    if (j->act == AFFECT_ACT_GELU) v = v * 0.5f * (1.0f + erff(v * 0.70710678118654752440f));
                    o[c] = v;
                }
            }
        }
    }
}

size_t affect_panels_floats(int N, int K) {
    size_t np = ((size_t)(N > 0 ? N : 0) + AFFECT_PANEL - 1) / AFFECT_PANEL;
    return np * AFFECT_PANEL * (size_t)(K > 0 ? K : 0);
}

/* Zero-fills the padding columns of the last panel, as affect_pack_weights does. */
void affect_pack_panels(float *dst, const float *B, size_t ldb, int N, int K, int trans,
                        float scale) {
    size_t np = ((size_t)N + AFFECT_PANEL - 1) / AFFECT_PANEL;
    for (size_t p = 0; p < np; p++) {
        float *panel = dst + p * (size_t)K * AFFECT_PANEL;
        size_t n0 = p * AFFECT_PANEL;
        int nc = (size_t)N - n0 < AFFECT_PANEL ? (int)((size_t)N - n0) : AFFECT_PANEL;
        for (int k = 0; k < K; k++) {
            float *row = panel + (size_t)k * AFFECT_PANEL;
            if (trans)
                for (int c = 0; c < nc; c++) row[c] = B[(n0 + (size_t)c) * ldb + (size_t)k] * scale;
            else
                for (int c = 0; c < nc; c++) row[c] = B[(size_t)k * ldb + n0 + (size_t)c] * scale;
            for (int c = nc; c < AFFECT_PANEL; c++) row[c] = 0.0f;
        }
    }
}

/* Runs panels [p0, p1) of a job with the kernel of the given level. */
static void linear_panels(const affect_linear_job *j, int level, int p0, int p1) {
#ifdef AFFECT_X86
    if (level == AFFECT_SIMD_AVX512) { affect_linear_panels_avx512(j, p0, p1); return; }
    if (level == AFFECT_SIMD_AVX2) { affect_linear_panels_avx2(j, p0, p1); return; }
#endif
    (void)level;
    linear_panels_portable(j, p0, p1);
}

void affect_gemm_panels(float *out, size_t ldo, const float *in, size_t lda,
                        const float *panels, int M, int N, int K) {
    if (M <= 0 || N <= 0) return;
    affect_linear_job job = {out, in, panels, NULL, NULL, M, N, K, lda, ldo, 0, AFFECT_ACT_NONE};
    linear_panels(&job, affect_simd_level(), 0, (N + AFFECT_PANEL - 1) / AFFECT_PANEL);
}

typedef struct linear_task {
    const affect_linear_job *job;
    int np, level;
} linear_task;

/* Task i of n takes a contiguous run of panels; which thread runs it does not matter. */
static void linear_task_run(void *ctx, int i, int n) {
    const linear_task *t = ctx;
    int p0 = (int)((long long)t->np * i / n), p1 = (int)((long long)t->np * (i + 1) / n);
    if (p0 < p1) linear_panels(t->job, t->level, p0, p1);
}

/* Small products stay on the caller: waking a thread costs more than it saves below ~1 µs
 * of work per panel. */
void affect_linear_forward(float *out, const float *in, const affect_packed_w *w,
                           const float *bias, const float *residual, int M, int act) {
    if (M <= 0 || !w || w->N <= 0) return;
    affect_linear_job job = {out, in, w->data, bias, residual == out ? NULL : residual,
                             M, w->N, w->K, (size_t)w->K, (size_t)w->N,
                             residual && residual == out, act};
    linear_task t = {&job, (w->N + AFFECT_PANEL - 1) / AFFECT_PANEL, affect_simd_level()};
    /* a few tasks per thread, so a thread the OS preempts (a busy machine) holds back little
     * of the work: the others take the rest */
    int threads = affect_parallel_threads();
    int tasks = threads > 1 ? 4 * threads : 1;
    double flops = 2.0 * M * (double)w->N * (double)w->K;
    if (tasks > t.np) tasks = t.np;
    if (flops < 2e5) tasks = 1;
    affect_parallel_for(tasks, linear_task_run, &t);
}
