#include "kernels.h"
#include "gemm.h"
#include <math.h>
#include <string.h>

/* A linear layer is one GEMM: the output is pre-filled with bias (+ residual) and the product
 * accumulated on top (beta = 1), so the residual add of a transformer block costs no extra
 * pass over memory. W stays in PyTorch's (out, in) layout, hence the transposed operand. */
void linear_forward(float *out, const float *inp, const float *w, const float *bias,
                    const float *residual, int N, int C, int OC) {
    // out (N,OC), inp (N,C), w (OC,C), bias (OC), residual (N,OC)
    for (int i = 0; i < N; i++) {
        float *o = out + (size_t)i * OC;
        const float *r = residual ? residual + (size_t)i * OC : NULL;
        if (r && bias) for (int j = 0; j < OC; j++) o[j] = r[j] + bias[j];
        else if (r) { if (o != r) memcpy(o, r, (size_t)OC * sizeof *o); }
        else if (bias) memcpy(o, bias, (size_t)OC * sizeof *o);
        else memset(o, 0, (size_t)OC * sizeof *o);
    }
    affect_sgemm(0, 1, N, OC, C, 1.0f, inp, C, w, C, 1.0f, out, OC);
}

/* Two passes (mean, then centred variance) rather than E[x²]−E[x]²: the one-pass form loses
 * digits when the mean is large next to the spread, which residual streams often are. */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                       const float *weight, const float *bias, int N, int C, float eps) {
    // out (N,C), mean (N), rstd (N), inp (N,C), weight (C), bias (C)
    for (int i = 0; i < N; i++) {
        const float *x = inp + (size_t)i * C;
        float *o = out + (size_t)i * C;
        float m = 0.0f;
        for (int j = 0; j < C; j++) m += x[j];
        m /= (float)C;
        float v = 0.0f;
        for (int j = 0; j < C; j++) {
            float d = x[j] - m;
            v += d * d;
        }
        v /= (float)C;
        float s = 1.0f / sqrtf(v + eps);
        for (int j = 0; j < C; j++) o[j] = (x[j] - m) * s * weight[j] + bias[j];
        if (mean) mean[i] = m;
        if (rstd) rstd[i] = s;
    }
}

/* Hugging Face's "gelu" is the exact erf form, not the tanh approximation: the two differ by
 * up to ~1e-3, far more than the parity budget. */
void gelu_forward(float *out, const float *inp, size_t n) {
    const float inv_sqrt2 = 0.70710678118654752440f;
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        out[i] = x * 0.5f * (1.0f + erff(x * inv_sqrt2));
    }
}

/* Softmax of one score row in place, masked keys forced to probability 0. That is exactly
 * what Hugging Face gets by adding finfo(float32).min: exp underflows to 0. A row whose keys
 * are all masked becomes uniform, which is also what that addition yields (every score
 * rounds to the same minimum). */
static void masked_softmax_row(float *s, const int32_t *mask, int T) {
    float mx = -INFINITY;
    int any = 0;
    for (int j = 0; j < T; j++)
        if (mask[j]) { any = 1; if (s[j] > mx) mx = s[j]; }
    if (!any) {
        for (int j = 0; j < T; j++) s[j] = 1.0f / (float)T;
        return;
    }
    float sum = 0.0f;
    for (int j = 0; j < T; j++) {
        float e = mask[j] ? expf(s[j] - mx) : 0.0f;
        s[j] = e;
        sum += e;
    }
    float inv = 1.0f / sum;
    for (int j = 0; j < T; j++) s[j] *= inv;
}

/* Works on head slices of the fused QKV buffer in place (leading dimension 3C), so no
 * reshuffle to (B,NH,T,hs) is needed: two small GEMMs and a softmax per (batch, head). */
void attention_forward(float *out, float *att, const float *qkv, const int32_t *mask, int B,
                       int T, int C, int NH, int keep_att) {
    // out (B,T,C), att (B,NH,T,T), qkv (B,T,3C), mask (B,T)
    int hs = C / NH;
    int C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    for (int b = 0; b < B; b++) {
        const int32_t *m = mask + (size_t)b * T;
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)b * T * C3 + (size_t)h * hs;
            const float *k = q + C;
            const float *v = q + 2 * C;
            float *a = keep_att ? att + ((size_t)b * NH + h) * T * T : att;
            affect_sgemm(0, 1, T, T, hs, scale, q, C3, k, C3, 0.0f, a, T);
            for (int i = 0; i < T; i++) masked_softmax_row(a + (size_t)i * T, m, T);
            affect_sgemm(0, 0, T, hs, T, 1.0f, a, T, v, C3, 0.0f,
                         out + (size_t)b * T * C + (size_t)h * hs, C);
        }
    }
}

/* Mean pooling divides by the count of real tokens, as sentence-transformers does, so padding
 * never changes a text's vector. */
void pool_forward(float *out, const float *hidden, const int32_t *mask, int B, int T, int C,
                  int pool) {
    // out (B,C), hidden (B,T,C), mask (B,T)
    for (int b = 0; b < B; b++) {
        float *o = out + (size_t)b * C;
        const float *hb = hidden + (size_t)b * T * C;
        if (pool == 1) {
            memcpy(o, hb, (size_t)C * sizeof *o);
            continue;
        }
        memset(o, 0, (size_t)C * sizeof *o);
        int n = 0;
        for (int t = 0; t < T; t++) {
            if (!mask[(size_t)b * T + t]) continue;
            const float *x = hb + (size_t)t * C;
            for (int c = 0; c < C; c++) o[c] += x[c];
            n++;
        }
        if (n > 0)
            for (int c = 0; c < C; c++) o[c] /= (float)n;
    }
}
