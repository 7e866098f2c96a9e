/* The encoder's training forward (dropout) and backward pass: see encoder_backward.h. */
#include "train/encoder_backward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/gemm.h"
#include "model/kernels.h"
#include "model/parallel.h"
#include "train/dropout.h"
#include "util/error.h"

/* a*b into *out unless it overflows size_t. */
static int mul_ok(size_t *out, size_t a, size_t b) {
    if (a && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

/* ---- layer kernels ------------------------------------------------------------------------ */

/* Two GEMMs and a column sum, the three gradients of x·Wᵀ + b. The weight gradient adds
 * (beta 1) so micro-batches accumulate in place. */
void linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                     const float *w, int N, int C, int OC, int accumulate_dinp) {
    // dinp (N,C), dw (OC,C), db (OC), dout (N,OC), inp (N,C), w (OC,C)
    if (dinp)
        affect_sgemm(0, 0, N, C, OC, 1.0f, dout, OC, w, C, accumulate_dinp ? 1.0f : 0.0f, dinp, C);
    if (dw) affect_sgemm(1, 0, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dw, C);
    if (db) {
        for (int i = 0; i < N; i++) {
            const float *d = dout + (size_t)i * OC;
            for (int j = 0; j < OC; j++) db[j] += d[j];
        }
    }
}

/* The standard LayerNorm backward (llm.c's form): with n = (x - mean)·rstd and
 * dn = dout·weight, dx = rstd·(dn - mean(dn) - n·mean(dn·n)). The two row means are taken
 * before anything is written, which is what makes dinp == dout safe. */
void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *mean, const float *rstd,
                        const float *weight, int N, int C) {
    // dinp (N,C), dweight (C), dbias (C), dout (N,C), inp (N,C), mean (N), rstd (N)
    for (int i = 0; i < N; i++) {
        const float *d = dout + (size_t)i * C;
        const float *x = inp + (size_t)i * C;
        float *dx = dinp + (size_t)i * C;
        float m = mean[i], s = rstd[i];
        float dn_mean = 0.0f, dn_n_mean = 0.0f;
        for (int j = 0; j < C; j++) {
            float n = (x[j] - m) * s;
            float dn = weight[j] * d[j];
            dn_mean += dn;
            dn_n_mean += dn * n;
            dbias[j] += d[j];
            dweight[j] += n * d[j];
        }
        dn_mean /= (float)C;
        dn_n_mean /= (float)C;
        for (int j = 0; j < C; j++) {
            float n = (x[j] - m) * s;
            float dn = weight[j] * d[j];
            dx[j] = (dn - dn_mean - n * dn_n_mean) * s;
        }
    }
}

/* d/dx [x·Φ(x)] = Φ(x) + x·φ(x) with the exact normal CDF, matching the forward's erf form
 * (the tanh approximation's derivative differs by up to ~1e-3). */
static void gelu_backward_range(float *dinp, const float *inp, const float *dout, size_t n) {
    const float inv_sqrt2 = 0.70710678118654752440f;
    const float inv_sqrt_2pi = 0.39894228040143267794f;
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        float cdf = 0.5f * (1.0f + erff(x * inv_sqrt2));
        float pdf = inv_sqrt_2pi * expf(-0.5f * x * x);
        dinp[i] = dout[i] * (cdf + x * pdf);
    }
}

typedef struct gelu_bw_job {
    float *dinp;
    const float *inp, *dout;
    size_t n;
} gelu_bw_job;

static void gelu_backward_task(void *ctx, int i, int n) {
    const gelu_bw_job *j = ctx;
    size_t lo = j->n * (size_t)i / (size_t)n, hi = j->n * (size_t)(i + 1) / (size_t)n;
    gelu_backward_range(j->dinp + lo, j->inp + lo, j->dout + lo, hi - lo);
}

/* Elementwise, so it is split across the parallel-for threads (erff/expf per element cost
 * ~10% of a step single-threaded); every element is the same scalar expression whichever
 * task computes it, so the result does not depend on the thread count. */
void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n) {
    gelu_bw_job j = {dinp, inp, dout, n};
    int tasks = n >= 65536 ? affect_parallel_threads() : 1;
    affect_parallel_for(tasks, gelu_backward_task, &j);
}

void pool_backward(float *dhidden, const float *dpooled, const int32_t *mask, int B, int T,
                   int C, int pool) {
    // dhidden (B,T,C), dpooled (B,C), mask (B,T)
    memset(dhidden, 0, (size_t)B * T * C * sizeof *dhidden);
    for (int b = 0; b < B; b++) {
        const float *dp = dpooled + (size_t)b * C;
        float *dh = dhidden + (size_t)b * T * C;
        if (pool == 1) {
            memcpy(dh, dp, (size_t)C * sizeof *dh);
            continue;
        }
        int n = 0;
        for (int t = 0; t < T; t++) n += mask[(size_t)b * T + t] != 0;
        if (n == 0) continue;
        for (int t = 0; t < T; t++) {
            if (!mask[(size_t)b * T + t]) continue;
            float *o = dh + (size_t)t * C;
            /* the forward divides the sum by (float)n, so the gradient is dp / (float)n */
            for (int c = 0; c < C; c++) o[c] = dp[c] / (float)n;
        }
    }
}

/* ---- dropout helpers -------------------------------------------------------------------- */

/* The dropout descriptor of one site; p = 0 makes it the identity. */
static affect_dropout site(const affect_enc_dropout *d, float p, uint64_t s, uint64_t first) {
    affect_dropout r = {0};
    r.p = p;
    r.training = d != NULL && p > 0.0f;
    r.seed = d ? d->seed : 0;
    r.stream = (d ? d->stream : 0) + s;
    r.first = first;
    return r;
}

static int dropout_on(const affect_enc_dropout *d) {
    return d && (d->hidden > 0.0f || d->attn > 0.0f);
}

/* ---- attention -------------------------------------------------------------------------- */

/* The attention probabilities one (batch, head) pair's context was made with: `att` itself,
 * or its dropped copy regenerated into `tmp` from the same stream. */
static const float *used_probs(const float *att, float *tmp, int T, const affect_dropout *ad,
                               uint64_t first) {
    if (!ad->training) return att;
    affect_dropout d = *ad;
    d.first = first;
    affect_dropout_forward(tmp, NULL, att, (size_t)T * T, &d);
    return tmp;
}

/* Attention with dropout on the probabilities: the plain forward keeps the probabilities
 * (needed by backward) and then each head's context is recomputed from the dropped copy. */
static void attention_forward_dropout(float *out, float *att, float *tmp, const float *qkv,
                                      const int32_t *mask, int B, int T, int C, int NH,
                                      const affect_dropout *ad) {
    attention_forward(out, att, qkv, mask, B, T, C, NH, 1);
    if (!ad->training) return;
    int hs = C / NH, C3 = 3 * C;
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            size_t bh = (size_t)b * NH + h;
            const float *a = used_probs(att + bh * T * T, tmp, T, ad, bh * T * T);
            const float *v = qkv + (size_t)b * T * C3 + 2 * (size_t)C + (size_t)h * hs;
            affect_sgemm(0, 0, T, hs, T, 1.0f, a, T, v, C3, 0.0f,
                         out + (size_t)b * T * C + (size_t)h * hs, C);
        }
    }
}

/* Per (batch, head): with P the probabilities (dropped: Pd) and O = Pd·V,
 *   dPd = dO·Vᵀ, dV = Pdᵀ·dO, dP = dropout_backward(dPd),
 *   dS = P ⊙ (dP - rowsum(P ⊙ dP))   (softmax; masked keys have P = 0 so get 0),
 *   dQ = scale·dS·K, dK = scale·dSᵀ·Q,
 * written into the head's column slices of dqkv (B,T,3C), overwriting them. */
static void attention_backward(float *dqkv, float *datt, float *tmp, const float *dout,
                               const float *qkv, const float *att, int B, int T, int C, int NH,
                               const affect_dropout *ad) {
    // dqkv (B,T,3C), datt (T,T), dout (B,T,C), qkv (B,T,3C), att (B,NH,T,T)
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            size_t bh = (size_t)b * NH + h;
            const float *P = att + bh * T * T;
            const float *q = qkv + (size_t)b * T * C3 + (size_t)h * hs;
            const float *k = q + C, *v = q + 2 * C;
            float *dq = dqkv + (size_t)b * T * C3 + (size_t)h * hs;
            float *dk = dq + C, *dv = dq + 2 * C;
            const float *dO = dout + (size_t)b * T * C + (size_t)h * hs;
            const float *Pd = used_probs(P, tmp, T, ad, bh * T * T);
            affect_sgemm(0, 1, T, T, hs, 1.0f, dO, C, v, C3, 0.0f, datt, T);
            affect_sgemm(1, 0, T, hs, T, 1.0f, Pd, T, dO, C, 0.0f, dv, C3);
            if (ad->training) {
                affect_dropout d = *ad;
                d.first = bh * T * T;
                affect_dropout_backward(datt, datt, NULL, (size_t)T * T, &d);
            }
            for (int i = 0; i < T; i++) {
                const float *p = P + (size_t)i * T;
                float *dp = datt + (size_t)i * T;
                float dot = 0.0f;
                for (int j = 0; j < T; j++) dot += p[j] * dp[j];
                for (int j = 0; j < T; j++) dp[j] = p[j] * (dp[j] - dot);
            }
            affect_sgemm(0, 0, T, hs, T, scale, datt, T, k, C3, 0.0f, dq, C3);
            affect_sgemm(1, 0, T, hs, T, scale, datt, T, q, C3, 0.0f, dk, C3);
        }
    }
}

/* ---- scratch ---------------------------------------------------------------------------- */

/* One arena for all backward scratch; re-pointed in place when a smaller batch comes. */
int affect_encoder_grad_scratch_alloc(affect_encoder_grad_scratch *s,
                                      const affect_model_config *c, int B, int T,
                                      affect_error *err) {
    if (B <= 0 || T <= 0)
        return affect_fail(err, AFFECT_EARG, "encoder backward: batch shape (%d, %d) is empty", B, T);
    size_t BT = 0, BTH = 0, BTF = 0, TT = 0, total = 0;
    int ok = mul_ok(&BT, (size_t)B, (size_t)T) && mul_ok(&BTH, BT, (size_t)c->hidden) &&
             mul_ok(&BTF, BT, (size_t)c->ffn) && mul_ok(&TT, (size_t)T, (size_t)T) &&
             BTH <= SIZE_MAX / 8;
    size_t sz[8] = {BTH, BTH, BTH, BTH, 3 * BTH, BTF, TT, TT};
    for (int i = 0; i < 8 && ok; i++) {
        if (sz[i] > SIZE_MAX / sizeof(float) - total) ok = 0;
        else total += sz[i];
    }
    if (!ok)
        return affect_fail(err, AFFECT_ENOMEM, "encoder backward: scratch for batch (%d, %d) is too large", B, T);
    if (!s->arena || total > s->cap) {
        float *na = malloc(total * sizeof(float));
        if (!na)
            return affect_fail(err, AFFECT_ENOMEM,
                               "encoder backward: out of memory for batch (%d, %d) (%zu MB)", B, T,
                               total * sizeof(float) >> 20);
        free(s->arena);
        s->arena = na;
        s->cap = total;
    }
    float **ptr[8] = {&s->dA, &s->dB, &s->dC, &s->dD, &s->dqkv, &s->dfch, &s->datt, &s->attd};
    float *at = s->arena;
    for (int i = 0; i < 8; i++) {
        *ptr[i] = at;
        at += sz[i];
    }
    s->B = B;
    s->T = T;
    return AFFECT_OK;
}

void affect_encoder_grad_scratch_free(affect_encoder_grad_scratch *s) {
    if (!s) return;
    free(s->arena);
    memset(s, 0, sizeof *s);
}

/* ---- training forward ------------------------------------------------------------------- */

/* Mirrors affect_encoder_forward layer by layer, inserting dropout where Hugging Face has
 * it: BertSelfOutput / BertOutput compute LN(dropout(dense(x)) + residual), so the dense
 * output goes to `tmp`, is dropped, then the residual is added. Without dropout the encoder's
 * own forward runs, so both paths share one tested implementation. */
int affect_encoder_forward_train(const affect_model_config *c, const affect_encoder_params *p,
                                 affect_encoder_acts *a, const int32_t *ids,
                                 const int32_t *mask, const affect_enc_dropout *drop,
                                 affect_encoder_grad_scratch *s, affect_error *err) {
    if (!dropout_on(drop)) return affect_encoder_forward(c, p, a, ids, mask, err);
    if (!a->per_layer)
        return affect_fail(err, AFFECT_EARG, "encoder: dropout needs per-layer (training) activations");
    int rc = affect_encoder_grad_scratch_alloc(s, c, a->B, a->T, err);
    if (rc) return rc;
    rc = affect_encoder_embed_forward(c, p, a, ids, err);
    if (rc) return rc;
    float *tmp = s->dC; /* (B,T,H) dense-branch output before dropout */
    int B = a->B, T = a->T, H = c->hidden, F = c->ffn, NH = c->heads, N = B * T;
    size_t BT = (size_t)N, BTH = BT * H;
    affect_dropout d0 = site(drop, drop->hidden, 0, 0);
    affect_dropout_forward(a->x0, NULL, a->x0, BTH, &d0);
    for (int l = 0; l < c->layers; l++) {
        size_t L = (size_t)l;
        const float *x = l == 0 ? a->x0 : a->ln2 + (L - 1) * BTH;
        float *qkv = a->qkv + L * 3 * BTH, *att = a->att + L * BT * T * NH;
        float *atty = a->atty + L * BTH, *res1 = a->res1 + L * BTH, *ln1 = a->ln1 + L * BTH;
        float *fch = a->fch + L * BT * F, *fch_gelu = a->fch_gelu + L * BT * F;
        float *res2 = a->res2 + L * BTH, *ln2 = a->ln2 + L * BTH;
        affect_dropout da = site(drop, drop->attn, 1 + 3 * L, 0);
        affect_dropout d1 = site(drop, drop->hidden, 2 + 3 * L, 0);
        affect_dropout d2 = site(drop, drop->hidden, 3 + 3 * L, 0);
        linear_forward(qkv, x, p->qkvw + L * 3 * H * H, p->qkvb + L * 3 * H, NULL, N, H, 3 * H);
        attention_forward_dropout(atty, att, s->attd, qkv, mask, B, T, H, NH, &da);
        linear_forward(tmp, atty, p->attprojw + L * H * H, p->attprojb + L * H, NULL, N, H, H);
        affect_dropout_forward(tmp, NULL, tmp, BTH, &d1);
        for (size_t i = 0; i < BTH; i++) res1[i] = tmp[i] + x[i];
        layernorm_forward(ln1, a->ln1_mean + L * BT, a->ln1_rstd + L * BT, res1, p->ln1w + L * H,
                          p->ln1b + L * H, N, H, c->ln_eps);
        linear_forward(fch, ln1, p->fcw + L * F * H, p->fcb + L * F, NULL, N, H, F);
        gelu_forward(fch_gelu, fch, BT * F);
        linear_forward(tmp, fch_gelu, p->fcprojw + L * H * F, p->fcprojb + L * H, NULL, N, F, H);
        affect_dropout_forward(tmp, NULL, tmp, BTH, &d2);
        for (size_t i = 0; i < BTH; i++) res2[i] = tmp[i] + ln1[i];
        layernorm_forward(ln2, a->ln2_mean + L * BT, a->ln2_rstd + L * BT, res2, p->ln2w + L * H,
                          p->ln2b + L * H, N, H, c->ln_eps);
    }
    return AFFECT_OK;
}

/* ---- backward driver -------------------------------------------------------------------- */

/* Adds the embedding gradient row by row in token order (deterministic): word rows of the
 * ids present, position rows, and token type 0 (BERT, RoBERTa). */
static void embeddings_backward(const affect_model_config *c, affect_encoder_params *g,
                                const affect_encoder_acts *a, const int32_t *ids,
                                const float *demb) {
    int H = c->hidden;
    for (size_t i = 0; i < (size_t)a->B * a->T; i++) {
        const float *d = demb + i * H;
        float *w = g->wte + (size_t)ids[i] * H;
        float *ps = g->wpe + (size_t)a->pos[i] * H;
        for (int j = 0; j < H; j++) w[j] += d[j];
        for (int j = 0; j < H; j++) ps[j] += d[j];
        if (g->wtt)
            for (int j = 0; j < H; j++) g->wtt[j] += d[j];
    }
}

/* Top-down over the layers. Buffers: dA = d(layer output) on entry of each layer and
 * d(layer input) on exit; dB = d(LN1 output); dC = the dropped-branch gradient when hidden
 * dropout is on; dD = d(attention context). */
int affect_encoder_backward(const affect_model_config *c, const affect_encoder_params *p,
                            affect_encoder_params *g, const affect_encoder_acts *a,
                            const int32_t *ids, const int32_t *mask, const float *dout,
                            const affect_enc_dropout *drop, affect_encoder_grad_scratch *s,
                            affect_error *err) {
    if (!a->per_layer)
        return affect_fail(err, AFFECT_EARG, "encoder backward: the forward kept no per-layer activations");
    int B = a->B, T = a->T, H = c->hidden, F = c->ffn, NH = c->heads, N = B * T;
    int rc = affect_encoder_grad_scratch_alloc(s, c, B, T, err);
    if (rc) return rc;
    size_t BT = (size_t)N, BTH = BT * H;
    int hd = drop && drop->hidden > 0.0f;
    float *dA = s->dA, *dB = s->dB, *dC = s->dC, *dD = s->dD;
    memcpy(dA, dout, BTH * sizeof *dA);
    for (int l = c->layers - 1; l >= 0; l--) {
        size_t L = (size_t)l;
        const float *x = l == 0 ? a->x0 : a->ln2 + (L - 1) * BTH;
        const float *qkv = a->qkv + L * 3 * BTH, *att = a->att + L * BT * T * NH;
        const float *atty = a->atty + L * BTH, *res1 = a->res1 + L * BTH;
        const float *ln1 = a->ln1 + L * BTH;
        const float *fch = a->fch + L * BT * F, *fch_gelu = a->fch_gelu + L * BT * F;
        const float *res2 = a->res2 + L * BTH;
        affect_dropout da = site(drop, drop ? drop->attn : 0.0f, 1 + 3 * L, 0);
        affect_dropout d1 = site(drop, drop ? drop->hidden : 0.0f, 2 + 3 * L, 0);
        affect_dropout d2 = site(drop, drop ? drop->hidden : 0.0f, 3 + 3 * L, 0);
        /* LN2: dB = d(res2); res2 = ln1 + dropout(fcproj(gelu(fc(ln1)))) */
        layernorm_backward(dB, g->ln2w + L * H, g->ln2b + L * H, dA, res2,
                           a->ln2_mean + L * BT, a->ln2_rstd + L * BT, p->ln2w + L * H, N, H);
        const float *dproj = dB;
        if (hd) {
            affect_dropout_backward(dC, dB, NULL, BTH, &d2);
            dproj = dC;
        }
        linear_backward(s->dfch, g->fcprojw + L * H * F, g->fcprojb + L * H, dproj, fch_gelu,
                        p->fcprojw + L * H * F, N, F, H, 0);
        gelu_backward(s->dfch, fch, s->dfch, BT * F);
        /* dB (the residual branch, d(ln1)) += d through the FFN input */
        linear_backward(dB, g->fcw + L * F * H, g->fcb + L * F, s->dfch, ln1, p->fcw + L * F * H,
                        N, H, F, 1);
        /* LN1: dA = d(res1); res1 = x + dropout(attproj(atty)) */
        layernorm_backward(dA, g->ln1w + L * H, g->ln1b + L * H, dB, res1,
                           a->ln1_mean + L * BT, a->ln1_rstd + L * BT, p->ln1w + L * H, N, H);
        const float *dao = dA;
        if (hd) {
            affect_dropout_backward(dC, dA, NULL, BTH, &d1);
            dao = dC;
        }
        linear_backward(dD, g->attprojw + L * H * H, g->attprojb + L * H, dao, atty,
                        p->attprojw + L * H * H, N, H, H, 0);
        attention_backward(s->dqkv, s->datt, s->attd, dD, qkv, att, B, T, H, NH, &da);
        /* dA (the residual branch, d(x)) += d through the QKV projection */
        linear_backward(dA, g->qkvw + L * 3 * H * H, g->qkvb + L * 3 * H, s->dqkv, x,
                        p->qkvw + L * 3 * H * H, N, H, 3 * H, 1);
    }
    /* embeddings: x0 = dropout(LN(emb)) */
    affect_dropout d0 = site(drop, drop ? drop->hidden : 0.0f, 0, 0);
    if (hd) affect_dropout_backward(dA, dA, NULL, BTH, &d0);
    layernorm_backward(dB, g->emb_lnw, g->emb_lnb, dA, a->emb, a->emb_mean, a->emb_rstd,
                       p->emb_lnw, N, H);
    embeddings_backward(c, g, a, ids, dB);
    (void)mask; /* masked keys already carry probability 0 in att */
    return AFFECT_OK;
}
