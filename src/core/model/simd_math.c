#include "simd_math.h"
#include "simd_math_x86.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- dispatch ----------------------------------------------------------------------------- */

/* What the CPU can run, before AFFECT_SIMD lowers it. */
static int cpu_level(void) {
#ifdef AFFECT_X86
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")) return AFFECT_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return AFFECT_SIMD_AVX2;
#endif
    return AFFECT_SIMD_PORTABLE;
}

static int g_level = -1;

/* The automatic choice: the CPU's level, lowered by AFFECT_SIMD when set. An unknown value
 * is ignored rather than reported: this is a tuning knob, not an input. */
static int auto_level(void) {
    int lv = cpu_level();
    const char *e = getenv("AFFECT_SIMD");
    if (e) {
        int want = lv;
        if (!strcmp(e, "portable")) want = AFFECT_SIMD_PORTABLE;
        else if (!strcmp(e, "avx2")) want = AFFECT_SIMD_AVX2;
        else if (!strcmp(e, "avx512")) want = AFFECT_SIMD_AVX512;
        if (want < lv) lv = want;
    }
    return lv;
}

int affect_simd_level(void) {
    int lv = g_level;
    if (lv < 0) g_level = lv = auto_level();
    return lv;
}

int affect_simd_set_level(int level) {
    if (level < 0) g_level = auto_level();
    else {
        int cpu = cpu_level();
        g_level = level < cpu ? level : cpu;
    }
    return g_level;
}

/* ---- x86 bodies --------------------------------------------------------------------------- */

#ifdef AFFECT_X86
enum { OP_ERF, OP_EXP, OP_GELU };

static AFFECT_T512 void map512(int op, float *out, const float *in, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        size_t left = n - i;
        __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        __m512 x = _mm512_maskz_loadu_ps(m, in + i);
        __m512 y = op == OP_ERF ? affect_erf512(x) : op == OP_EXP ? affect_exp512(x) : affect_gelu512(x);
        _mm512_mask_storeu_ps(out + i, m, y);
    }
}

/* AVX2 has no cheap masked loads for the tail: it goes through a zero-padded copy. */
static AFFECT_T256 void map256(int op, float *out, const float *in, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(in + i);
        __m256 y = op == OP_ERF ? affect_erf256(x) : op == OP_EXP ? affect_exp256(x) : affect_gelu256(x);
        _mm256_storeu_ps(out + i, y);
    }
    if (i < n) {
        float buf[8] = {0};
        memcpy(buf, in + i, (n - i) * sizeof *buf);
        __m256 x = _mm256_loadu_ps(buf);
        __m256 y = op == OP_ERF ? affect_erf256(x) : op == OP_EXP ? affect_exp256(x) : affect_gelu256(x);
        _mm256_storeu_ps(buf, y);
        memcpy(out + i, buf, (n - i) * sizeof *buf);
    }
}

static AFFECT_T512 float exp_shift_sum512(float *x, size_t n, float sub) {
    __m512 acc = _mm512_setzero_ps(), s = _mm512_set1_ps(sub);
    for (size_t i = 0; i < n; i += 16) {
        size_t left = n - i;
        __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        __m512 y = affect_exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), s));
        y = _mm512_maskz_mov_ps(m, y);
        acc = _mm512_add_ps(acc, y);
        _mm512_mask_storeu_ps(x + i, m, y);
    }
    return _mm512_reduce_add_ps(acc);
}

static AFFECT_T256 float exp_shift_sum256(float *x, size_t n, float sub) {
    __m256 acc = _mm256_setzero_ps(), s = _mm256_set1_ps(sub);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 y = affect_exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
        acc = _mm256_add_ps(acc, y);
        _mm256_storeu_ps(x + i, y);
    }
    float buf[8];
    _mm256_storeu_ps(buf, acc);
    float sum = ((buf[0] + buf[4]) + (buf[1] + buf[5])) + ((buf[2] + buf[6]) + (buf[3] + buf[7]));
    for (; i < n; i++) {
        x[i] = expf(x[i] - sub);
        sum += x[i];
    }
    return sum;
}

static AFFECT_T512 float max512(const float *x, size_t n) {
    __m512 m = _mm512_set1_ps(-INFINITY);
    for (size_t i = 0; i < n; i += 16) {
        size_t left = n - i;
        __mmask16 k = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        m = _mm512_mask_max_ps(m, k, m, _mm512_maskz_loadu_ps(k, x + i));
    }
    return _mm512_reduce_max_ps(m);
}

static AFFECT_T512 void scale512(float *x, size_t n, float s) {
    __m512 sv = _mm512_set1_ps(s);
    for (size_t i = 0; i < n; i += 16) {
        size_t left = n - i;
        __mmask16 k = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        _mm512_mask_storeu_ps(x + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), sv));
    }
}

static AFFECT_T512 void layernorm512(float *out, const float *x, const float *w, const float *b,
                                     int C, float eps) {
    __m512 acc = _mm512_setzero_ps();
    for (int j = 0; j < C; j += 16) {
        int left = C - j;
        __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, x + j));
    }
    float mean = _mm512_reduce_add_ps(acc) / (float)C;
    __m512 mv = _mm512_set1_ps(mean);
    acc = _mm512_setzero_ps();
    for (int j = 0; j < C; j += 16) {
        int left = C - j;
        __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, x + j), mv);
        acc = _mm512_fmadd_ps(d, d, acc);
    }
    float var = _mm512_reduce_add_ps(acc) / (float)C;
    __m512 sv = _mm512_set1_ps(1.0f / sqrtf(var + eps));
    for (int j = 0; j < C; j += 16) {
        int left = C - j;
        __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), mv), sv);
        __m512 y = _mm512_fmadd_ps(d, _mm512_maskz_loadu_ps(m, w + j), _mm512_maskz_loadu_ps(m, b + j));
        _mm512_mask_storeu_ps(out + j, m, y);
    }
}

static AFFECT_T256 float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static AFFECT_T256 void layernorm256(float *out, const float *x, const float *w, const float *b,
                                     int C, float eps) {
    __m256 acc = _mm256_setzero_ps();
    int j = 0, C8 = C & ~7;
    for (; j < C8; j += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(x + j));
    float sum = hsum256(acc);
    for (; j < C; j++) sum += x[j];
    float mean = sum / (float)C;
    __m256 mv = _mm256_set1_ps(mean);
    acc = _mm256_setzero_ps();
    for (j = 0; j < C8; j += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + j), mv);
        acc = _mm256_fmadd_ps(d, d, acc);
    }
    float var = hsum256(acc);
    for (; j < C; j++) var += (x[j] - mean) * (x[j] - mean);
    var /= (float)C;
    float s = 1.0f / sqrtf(var + eps);
    __m256 sv = _mm256_set1_ps(s);
    for (j = 0; j < C8; j += 8) {
        __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), mv), sv);
        _mm256_storeu_ps(out + j, _mm256_fmadd_ps(d, _mm256_loadu_ps(w + j), _mm256_loadu_ps(b + j)));
    }
    for (; j < C; j++) out[j] = (x[j] - mean) * s * w[j] + b[j];
}
#endif

/* ---- public entry points -------------------------------------------------------------------- */

void affect_erf_vec(float *out, const float *in, size_t n) {
#ifdef AFFECT_X86
    int lv = affect_simd_level();
    if (lv == AFFECT_SIMD_AVX512) { map512(OP_ERF, out, in, n); return; }
    if (lv == AFFECT_SIMD_AVX2) { map256(OP_ERF, out, in, n); return; }
#endif
    for (size_t i = 0; i < n; i++) out[i] = erff(in[i]);
}

void affect_exp_vec(float *out, const float *in, size_t n) {
#ifdef AFFECT_X86
    int lv = affect_simd_level();
    if (lv == AFFECT_SIMD_AVX512) { map512(OP_EXP, out, in, n); return; }
    if (lv == AFFECT_SIMD_AVX2) { map256(OP_EXP, out, in, n); return; }
#endif
    for (size_t i = 0; i < n; i++) out[i] = expf(in[i]);
}

void affect_gelu_vec(float *out, const float *in, size_t n) {
#ifdef AFFECT_X86
    int lv = affect_simd_level();
    if (lv == AFFECT_SIMD_AVX512) { map512(OP_GELU, out, in, n); return; }
    if (lv == AFFECT_SIMD_AVX2) { map256(OP_GELU, out, in, n); return; }
#endif
    for (size_t i = 0; i < n; i++) {
        float x = in[i];
        out[i] = x * 0.5f * (1.0f + erff(x * 0.70710678118654752440f));
    }
}

float affect_exp_shift_sum(float *x, size_t n, float sub) {
#ifdef AFFECT_X86
    int lv = affect_simd_level();
    if (lv == AFFECT_SIMD_AVX512) return exp_shift_sum512(x, n, sub);
    if (lv == AFFECT_SIMD_AVX2) return exp_shift_sum256(x, n, sub);
#endif
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - sub);
        sum += x[i];
    }
    return sum;
}

float affect_max_vec(const float *x, size_t n) {
#ifdef AFFECT_X86
    if (affect_simd_level() == AFFECT_SIMD_AVX512) return max512(x, n);
#endif
    float m = -INFINITY;
    for (size_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

void affect_scale_vec(float *x, size_t n, float s) {
#ifdef AFFECT_X86
    if (affect_simd_level() == AFFECT_SIMD_AVX512) { scale512(x, n, s); return; }
#endif
    for (size_t i = 0; i < n; i++) x[i] *= s;
}

void affect_layernorm_row(float *out, const float *x, const float *w, const float *b, int C,
                          float eps) {
#ifdef AFFECT_X86
    int lv = affect_simd_level();
    if (lv == AFFECT_SIMD_AVX512) { layernorm512(out, x, w, b, C, eps); return; }
    if (lv == AFFECT_SIMD_AVX2) { layernorm256(out, x, w, b, C, eps); return; }
#endif
    float m = 0.0f;
    for (int j = 0; j < C; j++) m += x[j];
    m /= (float)C;
    float v = 0.0f;
    for (int j = 0; j < C; j++) v += (x[j] - m) * (x[j] - m);
    v /= (float)C;
    float s = 1.0f / sqrtf(v + eps);
    for (int j = 0; j < C; j++) out[j] = (x[j] - m) * s * w[j] + b[j];
}
