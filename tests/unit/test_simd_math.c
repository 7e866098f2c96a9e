/* Unit tests for the vector math of the inference path (model/simd_math.h) at every SIMD level
 * the CPU has: erf against erf() in double over a dense grid of [-10, 10] (max |error| < 3e-7)
 * plus special values; exp against exp() in double over its whole normal range (< 2 ulp),
 * exactly 0 below -87.34 and for -inf, inf above the overflow threshold; GELU; the softmax
 * helper with masked (-inf) entries, max and scale; a LayerNorm row against double; tails
 * of every length. */
#include "model/gemm.h"
#include "model/simd_math.h"
#include <float.h>
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

static const char *name(int lv) {
    return lv == AFFECT_SIMD_AVX512 ? "avx512" : lv == AFFECT_SIMD_AVX2 ? "avx2" : "portable";
}

#define GRID 400001

static void test_erf(int lv, float *x, float *y) {
    for (int i = 0; i < GRID; i++) x[i] = -10.0f + 20.0f * (float)i / (GRID - 1);
    affect_erf_vec(y, x, GRID);
    double worst = 0;
    int at = 0;
    for (int i = 0; i < GRID; i++) {
        double e = fabs((double)y[i] - erf((double)x[i]));
        if (!(e <= worst)) { worst = e; at = i; }
    }
    CHECK(worst < 3e-7, "%s erf: max error %g at x=%.9g", name(lv), worst, (double)x[at]);
    printf("  %-8s erf  max |error| %.3g\n", name(lv), worst);
    /* the branch seam at |x| = 1 and the clamp at 4, densely */
    int n = 0;
    for (float v = 0.99f; v < 1.01f && n < GRID; v = nextafterf(v, 2.0f)) x[n++] = v;
    for (float v = 3.99f; v < 4.01f && n < GRID; v = nextafterf(v, 5.0f)) x[n++] = -v;
    affect_erf_vec(y, x, (size_t)n);
    worst = 0;
    for (int i = 0; i < n; i++) {
        double e = fabs((double)y[i] - erf((double)x[i]));
        if (e > worst) worst = e;
    }
    CHECK(worst < 3e-7, "%s erf near the seams: max error %g", name(lv), worst);
    float sp[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-30f, -1e-38f, FLT_MIN, 1e-45f};
    float out[9];
    affect_erf_vec(out, sp, 9);
    CHECK(out[0] == 0.0f && !signbit(out[0]) && out[1] == 0.0f && signbit(out[1]), "%s erf(±0)", name(lv));
    CHECK(out[2] == 1.0f && out[3] == -1.0f, "%s erf(±inf) = %g %g", name(lv), (double)out[2], (double)out[3]);
    CHECK(isnan(out[4]), "%s erf(nan) = %g", name(lv), (double)out[4]);
    for (int i = 5; i < 9; i++)
        CHECK(fabs(out[i] - 1.1283791670955126 * sp[i]) <= 1e-6 * fabs(sp[i]) + 1e-45,
              "%s erf(%g) = %g", name(lv), (double)sp[i], (double)out[i]);
}

static void test_exp(int lv, float *x, float *y) {
    for (int i = 0; i < GRID; i++) x[i] = -87.33f + (88.72f + 87.33f) * (float)i / (GRID - 1);
    affect_exp_vec(y, x, GRID);
    double worst = 0;
    int at = 0;
    for (int i = 0; i < GRID; i++) {
        double ref = exp((double)x[i]);
        float rf = (float)ref;
        double ulp = (double)nextafterf(rf, INFINITY) - rf;
        double e = fabs((double)y[i] - ref) / ulp;
        if (!(e <= worst)) { worst = e; at = i; }
    }
    CHECK(worst < 2.0, "%s exp: max error %.3f ulp at x=%.9g", name(lv), worst, (double)x[at]);
    printf("  %-8s exp  max error %.3f ulp\n", name(lv), worst);
    float sp[] = {-INFINITY, -88.0f, -1000.0f, 0.0f, 88.8f, INFINITY, NAN, -87.3f};
    float out[8];
    affect_exp_vec(out, sp, 8);
    CHECK(out[0] == 0.0f && out[2] == 0.0f, "%s exp(-inf) = %g, exp(-1000) = %g", name(lv), (double)out[0], (double)out[2]);
    CHECK(out[1] >= 0.0f && out[1] < 1e-37f, "%s exp(-88) = %g", name(lv), (double)out[1]);
    CHECK(out[3] == 1.0f, "%s exp(0) = %.9g", name(lv), (double)out[3]);
    CHECK(isinf(out[4]) && isinf(out[5]), "%s exp(88.8) = %g, exp(inf) = %g", name(lv), (double)out[4], (double)out[5]);
    CHECK(isnan(out[6]), "%s exp(nan) = %g", name(lv), (double)out[6]);
    CHECK(fabs(out[7] / exp((double)sp[7]) - 1) < 3e-7, "%s exp(-87.3) = %g", name(lv), (double)out[7]);
}

static void test_gelu(int lv, float *x, float *y) {
    for (int i = 0; i < GRID; i++) x[i] = -12.0f + 24.0f * (float)i / (GRID - 1);
    affect_gelu_vec(y, x, GRID);
    double worst = 0;
    int at = 0;
    for (int i = 0; i < GRID; i++) {
        double v = x[i], ref = 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
        double e = fabs((double)y[i] - ref) / (fabs(v) > 1 ? fabs(v) : 1.0);
        if (!(e <= worst)) { worst = e; at = i; }
    }
    CHECK(worst < 4e-7, "%s gelu: max error %g·max(1,|x|) at x=%.9g", name(lv), worst, (double)x[at]);
    printf("  %-8s gelu max |error|/max(1,|x|) %.3g\n", name(lv), worst);
}

/* Every length 1..40 (all tail shapes), masked entries, and the returned sum. */
static void test_softmax_helper(int lv) {
    for (int n = 1; n <= 40; n++) {
        float s[40], keep[40];
        for (int j = 0; j < n; j++) s[j] = keep[j] = (j % 5 == 3) ? -INFINITY : 0.37f * (float)(j % 11) - 2.0f;
        float sum = affect_exp_shift_sum(s, (size_t)n, 1.5f);
        double ref_sum = 0, worst = 0;
        for (int j = 0; j < n; j++) {
            double r = isinf(keep[j]) ? 0.0 : exp((double)keep[j] - 1.5);
            ref_sum += r;
            double e = fabs(s[j] - r) / (r > 0 ? r : 1.0);
            if (e > worst) worst = e;
            if (isinf(keep[j])) CHECK(s[j] == 0.0f, "%s n=%d: masked entry %d = %g", name(lv), n, j, (double)s[j]);
        }
        CHECK(worst < 3e-7, "%s n=%d: exp error %g", name(lv), n, worst);
        /* max and scale over the same tail shapes: the largest value sits at the end */
        float v[40], want = -INFINITY;
        for (int j = 0; j < n; j++) { v[j] = keep[j] + (j == n - 1 ? 9.0f : 0.0f); want = v[j] > want ? v[j] : want; }
        CHECK(affect_max_vec(v, (size_t)n) == want, "%s n=%d: max %g, want %g", name(lv), n,
              (double)affect_max_vec(v, (size_t)n), (double)want);
        float sc[41];
        for (int j = 0; j <= n; j++) sc[j] = (float)j;
        affect_scale_vec(sc, (size_t)n, 0.5f);
        int ok = sc[n] == (float)n; /* past the end: untouched */
        for (int j = 0; j < n; j++) ok = ok && sc[j] == 0.5f * (float)j;
        CHECK(ok, "%s n=%d: scale wrong or wrote past the end", name(lv), n);
        CHECK(fabs(sum - ref_sum) < 1e-6 * ref_sum + 1e-30, "%s n=%d: sum %.9g vs %.9g", name(lv), n, (double)sum, ref_sum);
    }
}

static void test_layernorm(int lv) {
    static const int Cs[] = {1, 7, 16, 26, 33, 312, 768};
    for (size_t c = 0; c < sizeof Cs / sizeof Cs[0]; c++) {
        int C = Cs[c];
        float *x = malloc(sizeof(float) * C * 4), *w = x + C, *b = x + 2 * C, *o = x + 3 * C;
        if (!x) exit(1);
        for (int j = 0; j < C; j++) {
            x[j] = 5.0f + 0.3f * (float)((j * 37) % 17) - 2.0f;
            w[j] = 1.0f + 0.01f * (float)(j % 7);
            b[j] = 0.02f * (float)(j % 5);
        }
        affect_layernorm_row(o, x, w, b, C, 1e-12f);
        double m = 0, v = 0, worst = 0;
        for (int j = 0; j < C; j++) m += x[j];
        m /= C;
        for (int j = 0; j < C; j++) v += (x[j] - m) * (x[j] - m);
        v /= C;
        for (int j = 0; j < C; j++) {
            double r = (x[j] - m) / sqrt(v + 1e-12) * w[j] + b[j];
            if (v == 0) r = b[j];
            double e = fabs(o[j] - r);
            if (e > worst) worst = e;
        }
        CHECK(worst < 2e-5, "%s layernorm C=%d: max error %g", name(lv), C, worst);
        affect_layernorm_row(x, x, w, b, C, 1e-12f); /* in place */
        CHECK(!memcmp(x, o, sizeof(float) * C), "%s layernorm C=%d in place differs", name(lv), C);
        free(x);
    }
}

int main(void) {
    float *x = malloc(sizeof(float) * GRID), *y = malloc(sizeof(float) * GRID);
    if (!x || !y) return 1;
    int cpu = affect_simd_set_level(AFFECT_SIMD_AVX512);
    printf("test_simd_math: CPU level %s\n", name(cpu));
    for (int lv = 0; lv <= cpu; lv++) {
        affect_simd_set_level(lv);
        test_erf(lv, x, y);
        test_exp(lv, x, y);
        test_gelu(lv, x, y);
        test_softmax_helper(lv);
        test_layernorm(lv);
    }
    affect_simd_set_level(-1);
    free(x);
    free(y);
    if (failures) {
        fprintf(stderr, "test_simd_math: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_simd_math: all passed\n");
    return 0;
}
