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

/* ---- inference-only twins ------------------------------------------------------------------ */

#include "parallel.h"
#include "simd_math.h"

typedef struct ln_task {
    float *out;
    const float *inp, *w, *b;
    int N, C;
    float eps;
} ln_task;

static void ln_task_run(void *ctx, int i, int n) {
    const ln_task *t = ctx;
    int r0 = (int)((long long)t->N * i / n), r1 = (int)((long long)t->N * (i + 1) / n);
    for (int r = r0; r < r1; r++)
        affect_layernorm_row(t->out + (size_t)r * t->C, t->inp + (size_t)r * t->C, t->w, t->b,
                             t->C, t->eps);
}

/* Rows are independent, so splitting them never changes a value. */
void layernorm_forward_infer(float *out, const float *inp, const float *weight,
                             const float *bias, int N, int C, float eps) {
    ln_task t = {out, inp, weight, bias, N, C, eps};
    int threads = affect_parallel_threads();
    int tasks = (size_t)N * C >= 65536 && threads > 1 ? 4 * threads : 1;
    affect_parallel_for(tasks < N ? tasks : N, ln_task_run, &t);
}

/* One task's scratch: the (T,T) scores, K of one head packed as panels (scaled by 1/√hs),
 * V of one head packed as panels. */
static size_t att_slot_floats(int T, int hs) {
    return (size_t)T * T + affect_panels_floats(T, hs) + affect_panels_floats(hs, T);
}

size_t attention_infer_scratch_floats(int T, int C, int NH, int tasks) {
    return att_slot_floats(T, C / NH) * (size_t)(tasks > 0 ? tasks : 1);
}

typedef struct att_task {
    float *out, *scratch;
    const float *qkv;
    const int32_t *mask;
    int B, T, C, NH;
} att_task;

/* Softmax of a score row as masked_softmax_row defines it, with the vector exp; `full` says
 * the mask is all ones (the common unpadded row), which skips the masking pass. */
static void masked_softmax_row_vec(float *s, const int32_t *mask, int T, int full) {
    if (full) {
        float mx = affect_max_vec(s, (size_t)T);
        affect_scale_vec(s, (size_t)T, 1.0f / affect_exp_shift_sum(s, (size_t)T, mx));
        return;
    }
    float mx = -INFINITY;
    int any = 0;
    for (int j = 0; j < T; j++) {
        if (mask[j]) { any = 1; if (s[j] > mx) mx = s[j]; }
        else s[j] = -INFINITY;
    }
    if (!any) {
        for (int j = 0; j < T; j++) s[j] = 1.0f / (float)T;
        return;
    }
    affect_scale_vec(s, (size_t)T, 1.0f / affect_exp_shift_sum(s, (size_t)T, mx));
}

/* Task i handles a contiguous run of the B·NH (batch, head) pairs with scratch slot i. */
static void att_task_run(void *ctx, int i, int n) {
    const att_task *t = ctx;
    int T = t->T, C = t->C, hs = C / t->NH, pairs = t->B * t->NH;
    size_t C3 = 3 * (size_t)C;
    float scale = 1.0f / sqrtf((float)hs);
    float *S = t->scratch + att_slot_floats(T, hs) * (size_t)i;
    float *pk = S + (size_t)T * T;
    float *pv = pk + affect_panels_floats(T, hs);
    int q0 = (int)((long long)pairs * i / n), q1 = (int)((long long)pairs * (i + 1) / n);
    for (int pi = q0; pi < q1; pi++) {
        int b = pi / t->NH, h = pi % t->NH;
        const float *q = t->qkv + (size_t)b * T * C3 + (size_t)h * hs;
        const int32_t *m = t->mask + (size_t)b * T;
        affect_pack_panels(pk, q + C, C3, T, hs, 1, scale);    /* kᵀ/√hs */
        affect_gemm_panels(S, (size_t)T, q, C3, pk, T, T, hs); /* S = q·kᵀ/√hs */
        int full = 1;
        for (int j = 0; j < T && full; j++) full = m[j] != 0;
        for (int r = 0; r < T; r++) masked_softmax_row_vec(S + (size_t)r * T, m, T, full);
        affect_pack_panels(pv, q + 2 * C, C3, hs, T, 0, 1.0f); /* v */
        affect_gemm_panels(t->out + (size_t)b * T * C + (size_t)h * hs, (size_t)C, S, (size_t)T,
                           pv, T, hs, T);
    }
}

/* Scaling k instead of the scores rounds differently from PyTorch (a few ulp of a score),
 * far inside the parity budget; everything else is attention_forward's definition. */
void attention_forward_infer(float *out, const float *qkv, const int32_t *mask, int B, int T,
                             int C, int NH, float *scratch, int tasks) {
    att_task t = {out, scratch, qkv, mask, B, T, C, NH};
    int pairs = B * NH;
    if (tasks > pairs) tasks = pairs;
    affect_parallel_for(tasks, att_task_run, &t);
}
