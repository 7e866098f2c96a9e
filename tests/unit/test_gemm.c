/* Unit tests for the core's matrix products: the prepacked linear layer (every SIMD level the
 * CPU has, forced in turn; odd shapes, M/N/K = 1, K not a multiple of 16, N tails inside a
 * panel; bias, separate and in-place residual, GELU), the scratch panels attention uses,
 * bit-identical results for every thread count, the AFFECT_SIMD variable, and the portable
 * affect_sgemm hook in all four transpose combinations, all against a naive product in
 * double precision. */
#define _POSIX_C_SOURCE 200809L
#include "affect.h"
#include "model/gemm.h"
#include "model/parallel.h"
#include "native/threads.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            failures++;                                                    \
            fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__);          \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
        }                                                                  \
    } while (0)

static unsigned long long rng = 88172645463325252ull;
static float frand(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((rng >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
}
static float *rand_buf(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) { fprintf(stderr, "out of memory\n"); exit(1); }
    for (size_t i = 0; i < n; i++) p[i] = frand();
    return p;
}

static const char *level_name(int lv) {
    return lv == AFFECT_SIMD_AVX512 ? "avx512" : lv == AFFECT_SIMD_AVX2 ? "avx2" : "portable";
}

/* in (M,K) · W(N,K)ᵀ + bias + res, then GELU, in double; also Σ|terms| for the tolerance. */
static void reference(double *ref, double *mag, const float *in, const float *W, const float *bias,
                      const float *res, int M, int N, int K, int act) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0, m = 0;
            for (int k = 0; k < K; k++) {
                double t = (double)in[(size_t)i * K + k] * W[(size_t)j * K + k];
                s += t;
                m += fabs(t);
            }
            if (bias) { s += bias[j]; m += fabs(bias[j]); }
            if (res) { s += res[(size_t)i * N + j]; m += fabs(res[(size_t)i * N + j]); }
            if (act == AFFECT_ACT_GELU) {
                m = m * 1.2 + 1.0;
                s = 0.5 * s * (1.0 + erf(s / sqrt(2.0)));
            }
            ref[(size_t)i * N + j] = s;
            mag[(size_t)i * N + j] = m;
        }
}

/* One shape, all variants (no bias, bias, bias+residual, in-place residual, GELU). */
static void check_linear_shape(int M, int N, int K, int lv) {
    float *in = rand_buf((size_t)M * K), *W = rand_buf((size_t)N * K), *bias = rand_buf((size_t)N);
    float *res = rand_buf((size_t)M * N), *out = rand_buf((size_t)M * N);
    double *ref = malloc(sizeof(double) * (size_t)M * N), *mag = malloc(sizeof(double) * (size_t)M * N);
    affect_packed_w pw;
    affect_error err = {0};
    if (!ref || !mag || affect_pack_weights(&pw, W, N, K, &err)) {
        CHECK(0, "setup M=%d N=%d K=%d: %s", M, N, K, err.msg);
        exit(1);
    }
    for (int variant = 0; variant < 5; variant++) {
        const float *b = variant >= 1 ? bias : NULL;
        const float *r = variant == 2 ? res : NULL;
        int act = variant == 4 ? AFFECT_ACT_GELU : AFFECT_ACT_NONE;
        if (variant == 3) {
            memcpy(out, res, sizeof(float) * (size_t)M * N);
            affect_linear_forward(out, in, &pw, b, out, M, act);
            reference(ref, mag, in, W, b, res, M, N, K, act);
        } else {
            for (size_t i = 0; i < (size_t)M * N; i++) out[i] = NAN; /* every element written */
            affect_linear_forward(out, in, &pw, b, r, M, act);
            reference(ref, mag, in, W, b, r, M, N, K, act);
        }
        double worst = 0;
        size_t at = 0;
        for (size_t i = 0; i < (size_t)M * N; i++) {
            double e = fabs(out[i] - ref[i]) / (mag[i] * 3e-7 * (1 + sqrt((double)K)) + 1e-6);
            if (!(e <= worst)) { worst = e; at = i; }
        }
        CHECK(worst <= 1.0, "%s linear M=%d N=%d K=%d variant %d: out[%zu]=%.9g, reference %.9g",
              level_name(lv), M, N, K, variant, at, (double)out[at], ref[at]);
    }
    affect_packed_free(&pw);
    free(in); free(W); free(bias); free(res); free(out); free(ref); free(mag);
}

static void test_linear_shapes(int lv) {
    static const int shapes[][3] = {
        {1, 1, 1}, {1, 768, 768}, {64, 1, 33}, {3, 5, 1}, {13, 33, 17}, {12, 32, 16},
        {25, 47, 15}, {64, 312, 312}, {7, 936, 312}, {64, 100, 300}, {200, 64, 520},
        {37, 1200, 26}, {1, 48, 257}, {193, 17, 64},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        check_linear_shape(shapes[s][0], shapes[s][1], shapes[s][2], lv);
}

/* Scratch panels: q·kᵀ·scale with strided rows (trans = 1) and p·v (trans = 0). */
static void test_panels(int lv) {
    int T = 45, hs = 26, ld = 3 * 78;
    float *qkv = rand_buf((size_t)T * ld), *S = rand_buf((size_t)T * T), *O = rand_buf((size_t)T * ld);
    float *pk = malloc(sizeof(float) * affect_panels_floats(T, hs));
    float *pv = malloc(sizeof(float) * affect_panels_floats(hs, T));
    if (!pk || !pv) exit(1);
    float scale = 0.19611614f;
    affect_pack_panels(pk, qkv + 78, (size_t)ld, T, hs, 1, scale);
    affect_gemm_panels(S, (size_t)T, qkv, (size_t)ld, pk, T, T, hs);
    double worst = 0;
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) {
            double s = 0;
            for (int d = 0; d < hs; d++) s += (double)qkv[i * ld + d] * qkv[j * ld + 78 + d];
            double e = fabs(S[i * T + j] - s * scale);
            if (e > worst) worst = e;
        }
    CHECK(worst < 2e-5, "%s panels q·kᵀ: max error %g", level_name(lv), worst);
    affect_pack_panels(pv, qkv + 156, (size_t)ld, hs, T, 0, 1.0f);
    float sentinel = O[hs]; /* the column after the head must stay untouched */
    affect_gemm_panels(O, (size_t)ld, S, (size_t)T, pv, T, hs, T);
    worst = 0;
    for (int i = 0; i < T; i++)
        for (int d = 0; d < hs; d++) {
            double s = 0;
            for (int j = 0; j < T; j++) s += (double)S[i * T + j] * qkv[j * ld + 156 + d];
            double e = fabs(O[i * ld + d] - s);
            if (e > worst) worst = e;
        }
    CHECK(worst < 5e-5, "%s panels p·v: max error %g", level_name(lv), worst);
    CHECK(O[hs] == sentinel, "%s panels p·v wrote past its %d columns", level_name(lv), hs);
    free(qkv); free(S); free(O); free(pk); free(pv);
}

/* A parallel-for that runs the tasks backwards, as if on other threads. */
static void reversed_for(int n, affect_task_fn fn, void *ctx) {
    for (int i = n - 1; i >= 0; i--) fn(ctx, i, n);
}

/* Serial, reversed 3-way and the native pool must give the same bits. */
static void test_thread_determinism(int lv) {
    int M = 70, N = 1000, K = 300;
    float *in = rand_buf((size_t)M * K), *W = rand_buf((size_t)N * K), *bias = rand_buf((size_t)N);
    float *o1 = rand_buf((size_t)M * N), *o2 = rand_buf((size_t)M * N), *o3 = rand_buf((size_t)M * N);
    affect_packed_w pw;
    if (affect_pack_weights(&pw, W, N, K, NULL)) exit(1);
    affect_set_parallel_for(NULL, 1);
    affect_linear_forward(o1, in, &pw, bias, NULL, M, AFFECT_ACT_GELU);
    affect_set_parallel_for(reversed_for, 3);
    CHECK(affect_parallel_threads() == 3, "parallel_threads %d", affect_parallel_threads());
    affect_linear_forward(o2, in, &pw, bias, NULL, M, AFFECT_ACT_GELU);
    int threads = affect_native_threads_init(2);
    CHECK(threads == 2, "native pool started %d threads", threads);
    affect_linear_forward(o3, in, &pw, bias, NULL, M, AFFECT_ACT_GELU);
    affect_set_parallel_for(NULL, 1);
    CHECK(!memcmp(o1, o2, sizeof(float) * (size_t)M * N), "%s: 3 reversed tasks differ from serial", level_name(lv));
    CHECK(!memcmp(o1, o3, sizeof(float) * (size_t)M * N), "%s: 2-thread pool differs from serial", level_name(lv));
    affect_packed_free(&pw);
    free(in); free(W); free(bias); free(o1); free(o2); free(o3);
}

/* The fallback hook (the WebAssembly build's until a SIMD kernel is installed) in all four
 * transpose combinations with alpha/beta, and then the OpenBLAS hook the same way. */
static void test_sgemm_hook(const char *name) {
    int M = 9, N = 21, K = 17;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 1;
            float *A = rand_buf((size_t)(ta ? K : M) * lda), *B = rand_buf((size_t)(tb ? N : K) * ldb);
            float *C = rand_buf((size_t)M * ldc), *C0 = malloc(sizeof(float) * (size_t)M * ldc);
            if (!C0) exit(1);
            memcpy(C0, C, sizeof(float) * (size_t)M * ldc);
            affect_sgemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, -2.0f, C, ldc);
            double worst = 0;
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double s = 0;
                    for (int k = 0; k < K; k++)
                        s += (double)(ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
                    double e = fabs(C[i * ldc + j] - (0.5 * s - 2.0 * C0[i * ldc + j]));
                    if (e > worst) worst = e;
                }
            CHECK(worst < 1e-5, "%s sgemm transA=%d transB=%d: max error %g", name, ta, tb, worst);
            free(A); free(B); free(C); free(C0);
        }
}

static void test_pack_errors(void) {
    affect_packed_w pw;
    affect_error err = {0};
    float w = 1.0f;
    CHECK(affect_pack_weights(&pw, &w, 0, 1, &err) == AFFECT_EARG && pw.data == NULL, "N=0 accepted");
    CHECK(strstr(err.msg, "(0, 1)") != NULL, "message does not name the shape: %s", err.msg);
    CHECK(affect_pack_weights(&pw, NULL, 4, 3, &err) == AFFECT_EARG, "NULL weights accepted");
    affect_packed_free(&pw);
    affect_packed_free(NULL);
}

/* AFFECT_SIMD only lowers the level; an unknown value is ignored. */
static void test_env(void) {
    int cpu = affect_simd_set_level(AFFECT_SIMD_AVX512);
    setenv("AFFECT_SIMD", "portable", 1);
    CHECK(affect_simd_set_level(-1) == AFFECT_SIMD_PORTABLE, "AFFECT_SIMD=portable ignored");
    setenv("AFFECT_SIMD", "avx2", 1);
    int want = cpu < AFFECT_SIMD_AVX2 ? cpu : AFFECT_SIMD_AVX2;
    CHECK(affect_simd_set_level(-1) == want, "AFFECT_SIMD=avx2 gave %d", affect_simd_level());
    setenv("AFFECT_SIMD", "bogus", 1);
    CHECK(affect_simd_set_level(-1) == cpu, "AFFECT_SIMD=bogus changed the level");
    unsetenv("AFFECT_SIMD");
    affect_simd_set_level(-1);
}

int main(void) {
    int cpu = affect_simd_set_level(AFFECT_SIMD_AVX512);
    printf("test_gemm: CPU level %s\n", level_name(cpu));
    for (int lv = 0; lv <= cpu; lv++) {
        CHECK(affect_simd_set_level(lv) == lv, "could not force level %d", lv);
        test_linear_shapes(lv);
        test_panels(lv);
        test_thread_determinism(lv);
    }
    affect_simd_set_level(-1);
    test_pack_errors();
    test_env();
    test_sgemm_hook("portable");
    affect_native_init(1);
    test_sgemm_hook("openblas");
    if (failures) {
        fprintf(stderr, "test_gemm: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_gemm: all passed\n");
    return 0;
}
