/* Threaded per-head attention for training: see attention_train.h. */
#include "train/attention_train.h"
#include "train/train_simd.h" /* -O3 and ISA clones, as train_kernels.c says */

#include <math.h>

#include "model/gemm.h"
#include "model/parallel.h"
#include "model/simd_math.h"
#include "train/linear_train.h"

/* One task's scratch: three (T,T) tiles (scores or their gradient, a transposed copy, the
 * dropped probabilities) and two panel buffers, for a (T,hs) right operand packed as
 * transposed rows and for a (T,hs) one packed as is. Rounded to whole cache lines. */
static size_t slot_floats(int T, int hs) {
    size_t f = 3 * (size_t)T * T + affect_panels_floats(T, hs) + affect_panels_floats(hs, T);
    return (f + 15) / 16 * 16;
}

size_t train_attention_scratch_floats(int T, int hs, int tasks) {
    return slot_floats(T, hs) * (size_t)(tasks > 0 ? tasks : 1);
}

int train_attention_tasks(void) {
    int threads = affect_parallel_threads();
    return threads > 1 ? 4 * threads : 1;
}

typedef struct att_job {
    float *out;         /* forward: (B,T,C); backward: dqkv (B,T,3C) */
    float *att;         /* forward: (B,NH,T,T) written */
    const float *patt;  /* backward: (B,NH,T,T) read */
    const float *qkv, *dout;
    const int32_t *mask;
    const affect_dropout *ad;
    float *scratch;
    int B, T, C, NH;
} att_job;

/* Softmax of one score row, masked keys at 0 and an all-masked row uniform, as
 * kernels.c's masked_softmax_row defines it; `full` skips the masking of an unpadded row. */
static void softmax_row(float *s, const int32_t *mask, int T, int full) {
    if (!full) {
        int any = 0;
        for (int j = 0; j < T; j++) {
            if (mask[j]) any = 1;
            else s[j] = -INFINITY;
        }
        if (!any) {
            for (int j = 0; j < T; j++) s[j] = 1.0f / (float)T;
            return;
        }
    }
    float mx = affect_max_vec(s, (size_t)T);
    affect_scale_vec(s, (size_t)T, 1.0f / affect_exp_shift_sum(s, (size_t)T, mx));
}

/* dst (T,T) = srcᵀ, in tiles so both sides stay in cache. */
TRAIN_CLONES static void transpose(float *dst, const float *src, int T) {
    for (int i0 = 0; i0 < T; i0 += 16)
        for (int j0 = 0; j0 < T; j0 += 16) {
            int i1 = i0 + 16 < T ? i0 + 16 : T, j1 = j0 + 16 < T ? j0 + 16 : T;
            for (int i = i0; i < i1; i++)
                for (int j = j0; j < j1; j++) dst[(size_t)j * T + i] = src[(size_t)i * T + j];
        }
}

/* The probabilities pair bh's context was made with: P, or its dropped copy in tmp. */
static const float *dropped(const float *P, float *tmp, int T, const affect_dropout *ad,
                            size_t bh) {
    if (!ad || !ad->training) return P;
    affect_dropout d = *ad;
    d.first = bh * (size_t)T * T;
    affect_dropout_forward(tmp, NULL, P, (size_t)T * T, &d);
    return tmp;
}

static void att_fwd_task(void *ctx, int i, int n) {
    const att_job *j = ctx;
    int T = j->T, C = j->C, NH = j->NH, hs = C / NH, pairs = j->B * NH;
    size_t C3 = 3 * (size_t)C, TT = (size_t)T * T;
    float scale = 1.0f / sqrtf((float)hs);
    float *tmp = j->scratch + slot_floats(T, hs) * (size_t)i + 2 * TT;
    float *pa = tmp + TT, *pb = pa + affect_panels_floats(T, hs);
    int q0 = (int)((long long)pairs * i / n), q1 = (int)((long long)pairs * (i + 1) / n);
    for (int pi = q0; pi < q1; pi++) {
        int b = pi / NH, h = pi % NH;
        const float *q = j->qkv + (size_t)b * T * C3 + (size_t)h * hs;
        const int32_t *m = j->mask + (size_t)b * T;
        float *P = j->att + (size_t)pi * TT;
        train_pack_panels(pa, q + C, C3, T, hs, 1);          /* kᵀ */
        affect_gemm_panels(P, (size_t)T, q, C3, pa, T, T, hs); /* S = q·kᵀ */
        int full = 1;
        for (int t = 0; t < T && full; t++) full = m[t] != 0;
        for (int r = 0; r < T; r++) {
            affect_scale_vec(P + (size_t)r * T, (size_t)T, scale); /* after the product, as torch */
            softmax_row(P + (size_t)r * T, m, T, full);
        }
        const float *Pd = dropped(P, tmp, T, j->ad, (size_t)pi);
        train_pack_panels(pb, q + 2 * C, C3, hs, T, 0);       /* v */
        affect_gemm_panels(j->out + (size_t)b * T * C + (size_t)h * hs, (size_t)C, Pd, (size_t)T,
                           pb, T, hs, T);
    }
}

void train_attention_forward(float *out, float *att, const float *qkv, const int32_t *mask,
                             int B, int T, int C, int NH, const affect_dropout *ad,
                             float *scratch, int tasks) {
    att_job j = {out, att, NULL, qkv, NULL, mask, ad, scratch, B, T, C, NH};
    int pairs = B * NH;
    affect_parallel_for(tasks < pairs ? tasks : pairs, att_fwd_task, &j);
}

/* Per pair, with P the probabilities (dropped: Pd) and O = Pd·V:
 *   dPd = dO·Vᵀ, dV = Pdᵀ·dO, dP = dropout_backward(dPd),
 *   dS = P ⊙ (dP − rowsum(P ⊙ dP)), dQ = scale·dS·K, dK = scale·dSᵀ·Q. */
TRAIN_CLONES static void att_bwd_task(void *ctx, int i, int n) {
    const att_job *j = ctx;
    int T = j->T, C = j->C, NH = j->NH, hs = C / NH, pairs = j->B * NH;
    size_t C3 = 3 * (size_t)C, TT = (size_t)T * T;
    float scale = 1.0f / sqrtf((float)hs);
    float *dS = j->scratch + slot_floats(T, hs) * (size_t)i;
    float *tr = dS + TT, *tmp = tr + TT;
    float *pa = tmp + TT, *pb = pa + affect_panels_floats(T, hs);
    int q0 = (int)((long long)pairs * i / n), q1 = (int)((long long)pairs * (i + 1) / n);
    for (int pi = q0; pi < q1; pi++) {
        int b = pi / NH, h = pi % NH;
        const float *P = j->patt + (size_t)pi * TT;
        const float *q = j->qkv + (size_t)b * T * C3 + (size_t)h * hs;
        const float *k = q + C, *v = q + 2 * C;
        float *dq = j->out + (size_t)b * T * C3 + (size_t)h * hs;
        float *dk = dq + C, *dv = dq + 2 * C;
        const float *dO = j->dout + (size_t)b * T * C + (size_t)h * hs;
        const float *Pd = dropped(P, tmp, T, j->ad, (size_t)pi);
        train_pack_panels(pa, v, C3, T, hs, 1);                     /* vᵀ */
        affect_gemm_panels(dS, (size_t)T, dO, (size_t)C, pa, T, T, hs); /* dPd = dO·vᵀ */
        transpose(tr, Pd, T);
        train_pack_panels(pb, dO, (size_t)C, hs, T, 0);
        affect_gemm_panels(dv, C3, tr, (size_t)T, pb, T, hs, T);       /* dV = Pdᵀ·dO */
        if (j->ad && j->ad->training) {
            affect_dropout d = *j->ad;
            d.first = (size_t)pi * TT;
            affect_dropout_backward(dS, dS, NULL, TT, &d);
        }
        for (int r = 0; r < T; r++) {
            const float *p = P + (size_t)r * T;
            float *dp = dS + (size_t)r * T;
            float acc[16] = {0};
            int c = 0;
            for (; c + 16 <= T; c += 16)
                for (int u = 0; u < 16; u++) acc[u] += p[c + u] * dp[c + u];
            for (; c < T; c++) acc[c & 15] += p[c] * dp[c];
            for (int w = 8; w; w >>= 1)
                for (int u = 0; u < w; u++) acc[u] += acc[u + w];
            float dot = acc[0];
            for (c = 0; c < T; c++) dp[c] = p[c] * (dp[c] - dot);
        }
        affect_pack_panels(pb, k, C3, hs, T, 0, scale);
        affect_gemm_panels(dq, C3, dS, (size_t)T, pb, T, hs, T);       /* dQ = scale·dS·k */
        transpose(tr, dS, T);
        affect_pack_panels(pb, q, C3, hs, T, 0, scale);
        affect_gemm_panels(dk, C3, tr, (size_t)T, pb, T, hs, T);       /* dK = scale·dSᵀ·q */
    }
}

void train_attention_backward(float *dqkv, const float *dout, const float *qkv,
                              const float *att, int B, int T, int C, int NH,
                              const affect_dropout *ad, float *scratch, int tasks) {
    att_job j = {dqkv, NULL, att, qkv, dout, NULL, ad, scratch, B, T, C, NH};
    int pairs = B * NH;
    affect_parallel_for(tasks < pairs ? tasks : pairs, att_bwd_task, &j);
}
