/* The encoder's training forward (dropout) and backward pass: see encoder_backward.h. */
#include "train/encoder_backward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/gemm.h"
#include "model/kernels.h"
#include "model/parallel.h"
#include "train/attention_train.h"
#include "train/dropout.h"
#include "train/linear_train.h"
#include "train/train_kernels.h"
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
    if (db) train_colsum_add(db, dout, N, OC);
}

/* The standard LayerNorm backward (llm.c's form): with n = (x - mean)·rstd and
 * dn = dout·weight, dx = rstd·(dn - mean(dn) - n·mean(dn·n)); threaded and vectorized in
 * train_kernels.c, which reads dout fully before writing (so dinp == dout is safe). */
void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *mean, const float *rstd,
                        const float *weight, int N, int C) {
    // dinp (N,C), dweight (C), dbias (C), dout (N,C), inp (N,C), mean (N), rstd (N)
    train_layernorm_backward(dinp, dweight, dbias, dout, inp, mean, rstd, weight, N, C);
}

/* d/dx [x·Φ(x)] = Φ(x) + x·φ(x) with the exact normal CDF, matching the forward's erf form
 * (the tanh approximation's derivative differs by up to ~1e-3); vector erf/exp, threaded. */
void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n) {
    train_gelu_backward(dinp, inp, dout, n);
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

/* ---- scratch ---------------------------------------------------------------------------- */

/* One arena for all backward scratch; re-pointed in place when a smaller batch comes. */
int affect_encoder_grad_scratch_alloc(affect_encoder_grad_scratch *s,
                                      const affect_model_config *c, int B, int T,
                                      affect_error *err) {
    if (B <= 0 || T <= 0)
        return affect_fail(err, AFFECT_EARG, "encoder backward: batch shape (%d, %d) is empty", B, T);
    if (c->heads <= 0 || c->hidden % c->heads)
        return affect_fail(err, AFFECT_EARG, "encoder backward: hidden %d is not a multiple of heads %d",
                           c->hidden, c->heads);
    int tasks = train_attention_tasks(), hs = c->hidden / c->heads;
    size_t BT = 0, BTH = 0, BTF = 0, TT = 0, slot = 0, total = 0;
    int ok = mul_ok(&BT, (size_t)B, (size_t)T) && mul_ok(&BTH, BT, (size_t)c->hidden) &&
             mul_ok(&BTF, BT, (size_t)c->ffn) && mul_ok(&TT, (size_t)T, (size_t)T) &&
             BTH <= SIZE_MAX / 8 && TT <= SIZE_MAX / 8 / (size_t)tasks &&
             (size_t)T * (size_t)(hs + 32) <= SIZE_MAX / 8 / (size_t)tasks;
    size_t maxc = 3 * (size_t)c->hidden > (size_t)c->ffn ? 3 * (size_t)c->hidden : (size_t)c->ffn;
    size_t lw = 0, la = 0, lb = 0;
    ok = ok && c->hidden <= INT32_MAX / 4 && mul_ok(&la, maxc + 32, BT) && la <= SIZE_MAX / 8 &&
         mul_ok(&lw, maxc + 32, maxc + 32) && lw <= SIZE_MAX / 8;
    if (ok) {
        slot = train_attention_scratch_floats(T, hs, tasks); /* 3·T² + 2·T·(hs + 31) per task */
        lw = train_linear_wpan_floats(c->hidden, c->ffn);
        la = train_linear_at_floats((int)maxc, (int)BT);
        lb = train_linear_bpan_floats((int)maxc, (int)BT);
    }
    size_t sz[10] = {BTH, BTH, BTH, BTH, 3 * BTH, BTF, slot, lw, la, lb};
    for (int i = 0; i < 10 && ok; i++) {
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
    float **ptr[10] = {&s->dA, &s->dB, &s->dC, &s->dD, &s->dqkv, &s->dfch, &s->attw,
                       &s->lin_w, &s->lin_at, &s->lin_b};
    float *at = s->arena;
    for (int i = 0; i < 10; i++) {
        *ptr[i] = at;
        at += sz[i];
    }
    s->B = B;
    s->T = T;
    s->att_tasks = tasks;
    return AFFECT_OK;
}

void affect_encoder_grad_scratch_free(affect_encoder_grad_scratch *s) {
    if (!s) return;
    free(s->arena);
    memset(s, 0, sizeof *s);
}

/* ---- training forward ------------------------------------------------------------------- */

/* Mirrors affect_encoder_forward layer by layer (same operations, same activation layout),
 * with the training step's threaded kernels (attention per (batch, head) on the core's panel
 * GEMM, LayerNorm and GELU vectorized) and dropout where Hugging Face has it: BertSelfOutput /
 * BertOutput compute LN(dropout(dense(x)) + residual), so with hidden dropout the dense
 * output goes to `tmp`, is dropped, then the residual is added; without it the residual is
 * fused into the GEMM as the core does. Inference activations (per_layer 0, no dropout) take
 * the core's forward. */
int affect_encoder_forward_train(const affect_model_config *c, const affect_encoder_params *p,
                                 affect_encoder_acts *a, const int32_t *ids,
                                 const int32_t *mask, const affect_enc_dropout *drop,
                                 affect_encoder_grad_scratch *s, affect_error *err) {
    if (!a->per_layer) {
        if (!dropout_on(drop)) return affect_encoder_forward(c, p, a, ids, mask, err);
        return affect_fail(err, AFFECT_EARG, "encoder: dropout needs per-layer (training) activations");
    }
    int rc = affect_encoder_grad_scratch_alloc(s, c, a->B, a->T, err);
    if (rc) return rc;
    rc = affect_encoder_embed_forward(c, p, a, ids, err);
    if (rc) return rc;
    float *tmp = s->dC; /* (B,T,H) dense-branch output before dropout */
    int B = a->B, T = a->T, H = c->hidden, F = c->ffn, NH = c->heads, N = B * T;
    size_t BT = (size_t)N, BTH = BT * H;
    int hd = drop && drop->hidden > 0.0f;
    affect_dropout d0 = site(drop, drop ? drop->hidden : 0.0f, 0, 0);
    if (hd) affect_dropout_forward(a->x0, NULL, a->x0, BTH, &d0);
    for (int l = 0; l < c->layers; l++) {
        size_t L = (size_t)l;
        const float *x = l == 0 ? a->x0 : a->ln2 + (L - 1) * BTH;
        float *qkv = a->qkv + L * 3 * BTH, *att = a->att + L * BT * T * NH;
        float *atty = a->atty + L * BTH, *res1 = a->res1 + L * BTH, *ln1 = a->ln1 + L * BTH;
        float *fch = a->fch + L * BT * F, *fch_gelu = a->fch_gelu + L * BT * F;
        float *res2 = a->res2 + L * BTH, *ln2 = a->ln2 + L * BTH;
        affect_dropout da = site(drop, drop ? drop->attn : 0.0f, 1 + 3 * L, 0);
        affect_dropout d1 = site(drop, drop ? drop->hidden : 0.0f, 2 + 3 * L, 0);
        affect_dropout d2 = site(drop, drop ? drop->hidden : 0.0f, 3 + 3 * L, 0);
        train_linear_forward(qkv, x, p->qkvw + L * 3 * H * H, p->qkvb + L * 3 * H, NULL, N, H, 3 * H,
                             s->lin_w);
        train_attention_forward(atty, att, qkv, mask, B, T, H, NH, &da, s->attw, s->att_tasks);
        if (hd) {
            train_linear_forward(tmp, atty, p->attprojw + L * H * H, p->attprojb + L * H, NULL, N, H, H,
                             s->lin_w);
            affect_dropout_forward(tmp, NULL, tmp, BTH, &d1);
            for (size_t i = 0; i < BTH; i++) res1[i] = tmp[i] + x[i];
        } else {
            train_linear_forward(res1, atty, p->attprojw + L * H * H, p->attprojb + L * H, x, N, H, H,
                             s->lin_w);
        }
        train_layernorm_forward(ln1, a->ln1_mean + L * BT, a->ln1_rstd + L * BT, res1,
                                p->ln1w + L * H, p->ln1b + L * H, N, H, c->ln_eps);
        train_linear_forward(fch, ln1, p->fcw + L * F * H, p->fcb + L * F, NULL, N, H, F,
                             s->lin_w);
        train_gelu_forward(fch_gelu, fch, BT * F);
        if (hd) {
            train_linear_forward(tmp, fch_gelu, p->fcprojw + L * H * F, p->fcprojb + L * H, NULL, N, F, H,
                             s->lin_w);
            affect_dropout_forward(tmp, NULL, tmp, BTH, &d2);
            for (size_t i = 0; i < BTH; i++) res2[i] = tmp[i] + ln1[i];
        } else {
            train_linear_forward(res2, fch_gelu, p->fcprojw + L * H * F, p->fcprojb + L * H, ln1, N, F, H,
                             s->lin_w);
        }
        train_layernorm_forward(ln2, a->ln2_mean + L * BT, a->ln2_rstd + L * BT, res2,
                                p->ln2w + L * H, p->ln2b + L * H, N, H, c->ln_eps);
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
        train_linear_backward(s->dfch, g->fcprojw + L * H * F, g->fcprojb + L * H, dproj, fch_gelu,
                        p->fcprojw + L * H * F, N, F, H, 0,
                              s->lin_w, s->lin_at, s->lin_b);
        gelu_backward(s->dfch, fch, s->dfch, BT * F);
        /* dB (the residual branch, d(ln1)) += d through the FFN input */
        train_linear_backward(dB, g->fcw + L * F * H, g->fcb + L * F, s->dfch, ln1, p->fcw + L * F * H,
                        N, H, F, 1,
                              s->lin_w, s->lin_at, s->lin_b);
        /* LN1: dA = d(res1); res1 = x + dropout(attproj(atty)) */
        layernorm_backward(dA, g->ln1w + L * H, g->ln1b + L * H, dB, res1,
                           a->ln1_mean + L * BT, a->ln1_rstd + L * BT, p->ln1w + L * H, N, H);
        const float *dao = dA;
        if (hd) {
            affect_dropout_backward(dC, dA, NULL, BTH, &d1);
            dao = dC;
        }
        train_linear_backward(dD, g->attprojw + L * H * H, g->attprojb + L * H, dao, atty,
                        p->attprojw + L * H * H, N, H, H, 0,
                              s->lin_w, s->lin_at, s->lin_b);
        train_attention_backward(s->dqkv, dD, qkv, att, B, T, H, NH, &da, s->attw, s->att_tasks);
        /* dA (the residual branch, d(x)) += d through the QKV projection */
        train_linear_backward(dA, g->qkvw + L * 3 * H * H, g->qkvb + L * 3 * H, s->dqkv, x,
                        p->qkvw + L * 3 * H * H, N, H, 3 * H, 1,
                              s->lin_w, s->lin_at, s->lin_b);
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
