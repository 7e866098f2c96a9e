#include "encoder.h"
#include "kernels.h"
#include "util/error.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* a*b into *out unless it overflows size_t (32 bits in WebAssembly). */
static int mul_ok(size_t *out, size_t a, size_t b) {
    if (a && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

/* Every tensor's float count from the config, in the struct's order, so the parameter
 * arena, its gradient twin and the checkpoint map agree on one layout. Returns 0 when a
 * size does not fit size_t (the caller reports it). */
size_t affect_encoder_param_sizes(const affect_model_config *c, size_t s[AFFECT_ENC_NPARAMS]) {
    size_t V = (size_t)c->vocab_size, H = (size_t)c->hidden, L = (size_t)c->layers;
    size_t P = (size_t)c->max_positions, TV = (size_t)c->type_vocab, F = (size_t)c->ffn;
    size_t LH, LF, total = 0;
    int ok = mul_ok(&s[0], V, H) && mul_ok(&s[1], P, H) && mul_ok(&s[2], TV, H) &&
             mul_ok(&LH, L, H) && mul_ok(&LF, L, F) &&
             mul_ok(&s[5], LH, 3 * H) && mul_ok(&s[7], LH, H) && mul_ok(&s[11], LF, H) &&
             mul_ok(&s[13], LH, F) && mul_ok(&s[6], LH, 3);
    if (!ok) return 0;
    s[3] = s[4] = H;
    s[8] = s[9] = s[10] = LH;
    s[12] = LF;
    s[14] = s[15] = s[16] = LH;
    for (int i = 0; i < AFFECT_ENC_NPARAMS; i++) {
        if (s[i] > SIZE_MAX / sizeof(float) - total) return 0;
        total += s[i];
    }
    return total;
}

/* Carves the arena in struct order; the struct is a plain run of float pointers, which is
 * what lets one loop fill it (the llm.c idiom). */
void affect_encoder_params_point(affect_encoder_params *p, float *arena,
                                 const size_t s[AFFECT_ENC_NPARAMS]) {
    float **ptrs[AFFECT_ENC_NPARAMS] = {
        &p->wte, &p->wpe, &p->wtt, &p->emb_lnw, &p->emb_lnb, &p->qkvw, &p->qkvb,
        &p->attprojw, &p->attprojb, &p->ln1w, &p->ln1b, &p->fcw, &p->fcb, &p->fcprojw,
        &p->fcprojb, &p->ln2w, &p->ln2b};
    float *at = arena;
    for (int i = 0; i < AFFECT_ENC_NPARAMS; i++) {
        *ptrs[i] = s[i] ? at : NULL;
        at += s[i];
    }
}

/* RoBERTa's positions start at pad + 1, so its table holds pad + 1 fewer tokens. */
int affect_encoder_max_length(const affect_model_config *c) {
    return c->family == AFFECT_FAMILY_ROBERTA ? c->max_positions - c->pad_id - 1
                                              : c->max_positions;
}

/* One arena for a whole forward pass; growing re-allocates, shrinking re-points in place, so
 * a CLI run over many batches allocates once per new maximum. */
int affect_encoder_acts_alloc(affect_encoder_acts *a, const affect_model_config *c, int B,
                              int T, int per_layer, affect_error *err) {
    if (B <= 0 || T <= 0)
        return affect_fail(err, AFFECT_EARG, "encoder: batch shape (%d, %d) is empty", B, T);
    size_t H = (size_t)c->hidden, F = (size_t)c->ffn, NH = (size_t)c->heads;
    size_t Lx = per_layer ? (size_t)c->layers : 1;
    size_t BT = 0, BTH = 0, BTF = 0, BTT = 0, att = 0, s[19] = {0};
    int ok = mul_ok(&BT, (size_t)B, (size_t)T) && mul_ok(&BTH, BT, H) && mul_ok(&BTF, BT, F) &&
             mul_ok(&BTT, BT, (size_t)T) && mul_ok(&att, BTT, NH);
    /* in struct order: pos emb emb_mean emb_rstd x0 | qkv att atty res1 ln1 ln1_mean ln1_rstd
     * fch fch_gelu res2 ln2 ln2_mean ln2_rstd */
    size_t per[14] = {0};
    ok = ok && mul_ok(&per[0], BTH, 3);
    per[1] = per_layer ? att : BTT / (size_t)B; /* inference: one (T,T) scratch */
    per[2] = per[3] = per[4] = BTH;
    per[5] = per[6] = BT;
    per[7] = BTF;
    per[8] = per_layer ? BTF : 0;
    per[9] = per_layer ? BTH : 0;
    per[10] = per_layer ? BTH : 0;
    per[11] = per[12] = BT;
    s[0] = BT; s[1] = BTH; s[2] = BT; s[3] = BT; s[4] = BTH;
    for (int i = 0; i < 14 && ok; i++) ok = mul_ok(&s[5 + i], per[i], Lx);
    size_t total = 0;
    for (int i = 0; i < 19 && ok; i++) {
        if (s[i] > SIZE_MAX / sizeof(float) - total) ok = 0;
        else total += s[i];
    }
    if (!ok)
        return affect_fail(err, AFFECT_ENOMEM, "encoder: activations for batch (%d, %d) are too large", B, T);
    if (total > a->cap || !a->arena) {
        float *na = malloc(total * sizeof(float));
        if (!na)
            return affect_fail(err, AFFECT_ENOMEM,
                               "encoder: out of memory for activations of batch (%d, %d) (%zu MB)",
                               B, T, total * sizeof(float) >> 20);
        free(a->arena);
        a->arena = na;
        a->cap = total;
    }
    float *at = a->arena;
    float **f[19] = {NULL, &a->emb, &a->emb_mean, &a->emb_rstd, &a->x0, &a->qkv, &a->att,
                     &a->atty, &a->res1, &a->ln1, &a->ln1_mean, &a->ln1_rstd, &a->fch,
                     &a->fch_gelu, &a->res2, &a->ln2, &a->ln2_mean, &a->ln2_rstd, NULL};
    a->pos = (int32_t *)(void *)at;
    at += s[0];
    for (int i = 1; i < 18; i++) {
        *f[i] = s[i] ? at : NULL;
        at += s[i];
    }
    if (!per_layer) {
        a->fch_gelu = a->fch;
        a->res2 = a->res1;
        a->ln2 = a->x0;
    }
    a->B = B;
    a->T = T;
    a->per_layer = per_layer;
    return AFFECT_OK;
}

/* Leaves the struct zeroed, ready for another alloc. */
void affect_encoder_acts_free(affect_encoder_acts *a) {
    if (!a) return;
    free(a->arena);
    memset(a, 0, sizeof *a);
}

/* The last layer's ln2 slot; in inference mode that is the shared buffer (x0). */
const float *affect_encoder_output(const affect_encoder_acts *a, const affect_model_config *c) {
    size_t l = a->per_layer ? (size_t)c->layers - 1 : 0;
    return a->ln2 + l * (size_t)a->B * a->T * c->hidden;
}

/* Position ids as each family's model code makes them: 0..T-1 for BERT and DistilBERT; for
 * RoBERTa Hugging Face's create_position_ids_from_input_ids, i.e. pad + running count of
 * non-pad ids, and pad itself at pad ids (decided by the ids, not the attention mask). */
static void position_ids(int32_t *pos, const int32_t *ids, const affect_model_config *c, int B,
                         int T) {
    for (int b = 0; b < B; b++) {
        int32_t count = 0;
        for (int t = 0; t < T; t++) {
            size_t i = (size_t)b * T + t;
            if (c->family != AFFECT_FAMILY_ROBERTA) pos[i] = t;
            else if (ids[i] != c->pad_id) pos[i] = ++count + c->pad_id;
            else pos[i] = c->pad_id;
        }
    }
}

/* word + token type 0 + position, summed in Hugging Face's order, then LayerNorm. */
static void embeddings_forward(const affect_model_config *c, const affect_encoder_params *p,
                               affect_encoder_acts *a, const int32_t *ids) {
    int B = a->B, T = a->T, H = c->hidden;
    // emb (B,T,H), pos (B,T)
    position_ids(a->pos, ids, c, B, T);
    for (size_t i = 0; i < (size_t)B * T; i++) {
        float *e = a->emb + i * H;
        const float *w = p->wte + (size_t)ids[i] * H;
        const float *ps = p->wpe + (size_t)a->pos[i] * H;
        if (p->wtt) {
            const float *tt = p->wtt; /* token type 0 */
            for (int j = 0; j < H; j++) e[j] = (w[j] + tt[j]) + ps[j];
        } else {
            for (int j = 0; j < H; j++) e[j] = w[j] + ps[j];
        }
    }
    layernorm_forward(a->x0, a->emb_mean, a->emb_rstd, a->emb, p->emb_lnw, p->emb_lnb, B * T, H,
                      c->ln_eps);
}

/* Rejects ids the tables cannot index before touching memory: a token id outside the
 * vocabulary (a tokenizer/model mismatch) or a sequence longer than the position table. */
static int check_inputs(const affect_model_config *c, const affect_encoder_acts *a,
                        const int32_t *ids, affect_error *err) {
    int maxlen = affect_encoder_max_length(c);
    if (a->T > maxlen)
        return affect_fail(err, AFFECT_EARG,
                           "encoder: sequence length %d exceeds the model's maximum of %d", a->T, maxlen);
    for (size_t i = 0; i < (size_t)a->B * a->T; i++)
        if (ids[i] < 0 || ids[i] >= c->vocab_size)
            return affect_fail(err, AFFECT_EARG,
                               "encoder: token id %d (row %zu, position %zu) is outside the vocabulary of %d",
                               (int)ids[i], i / (size_t)a->T, i % (size_t)a->T, c->vocab_size);
    return AFFECT_OK;
}

/* Added for training (src/train/encoder_backward.c, engineer "grad"): the embedding stage
 * alone (input checks, position ids, word + type + position, LayerNorm into x0), so the
 * training forward can interleave dropout between stages without duplicating this code.
 * affect_encoder_forward below is unchanged and does not call it. */
int affect_encoder_embed_forward(const affect_model_config *c, const affect_encoder_params *p,
                                 affect_encoder_acts *a, const int32_t *ids, affect_error *err) {
    int rc = check_inputs(c, a, ids, err);
    if (rc) return rc;
    embeddings_forward(c, p, a, ids);
    return AFFECT_OK;
}

/* The forward pass of all three families (they share the post-LN block). Each layer reads
 * its input from the previous layer's ln2 (x0 for layer 0) and leaves behind everything a
 * backward pass needs when the activations are per-layer. */
int affect_encoder_forward(const affect_model_config *c, const affect_encoder_params *p,
                           affect_encoder_acts *a, const int32_t *ids, const int32_t *mask,
                           affect_error *err) {
    int rc = check_inputs(c, a, ids, err);
    if (rc) return rc;
    int B = a->B, T = a->T, H = c->hidden, F = c->ffn, NH = c->heads, N = B * T;
    size_t BT = (size_t)N, BTH = BT * H;
    embeddings_forward(c, p, a, ids);
    for (int l = 0; l < c->layers; l++) {
        size_t ls = a->per_layer ? (size_t)l : 0; /* activation layer slot */
        size_t L = (size_t)l;
        const float *x = l == 0 ? a->x0 : a->ln2 + (a->per_layer ? (L - 1) : 0) * BTH;
        float *qkv = a->qkv + ls * 3 * BTH;                   // (B,T,3H)
        float *att = a->att + ls * BT * T * NH;               // (B,NH,T,T)
        float *atty = a->atty + ls * BTH;                     // (B,T,H)
        float *res1 = a->res1 + ls * BTH;                     // (B,T,H)
        float *ln1 = a->ln1 + ls * BTH;                       // (B,T,H)
        float *fch = a->fch + ls * BT * F;                    // (B,T,F)
        float *fch_gelu = a->fch_gelu + ls * BT * F;          // (B,T,F)
        float *res2 = a->res2 + ls * BTH;                     // (B,T,H)
        float *ln2 = a->ln2 + ls * BTH;                       // (B,T,H)
        linear_forward(qkv, x, p->qkvw + L * 3 * H * H, p->qkvb + L * 3 * H, NULL, N, H, 3 * H);
        attention_forward(atty, att, qkv, mask, B, T, H, NH, a->per_layer);
        linear_forward(res1, atty, p->attprojw + L * H * H, p->attprojb + L * H, x, N, H, H);
        layernorm_forward(ln1, a->ln1_mean + ls * BT, a->ln1_rstd + ls * BT, res1,
                          p->ln1w + L * H, p->ln1b + L * H, N, H, c->ln_eps);
        linear_forward(fch, ln1, p->fcw + L * F * H, p->fcb + L * F, NULL, N, H, F);
        gelu_forward(fch_gelu, fch, BT * F);
        linear_forward(res2, fch_gelu, p->fcprojw + L * H * F, p->fcprojb + L * H, ln1, N, F, H);
        layernorm_forward(ln2, a->ln2_mean + ls * BT, a->ln2_rstd + ls * BT, res2,
                          p->ln2w + L * H, p->ln2b + L * H, N, H, c->ln_eps);
    }
    return AFFECT_OK;
}

/* ---- inference with packed weights ------------------------------------------------------- */

#include "gemm.h"
#include "parallel.h"

/* Packs all 4·L matrices; on failure frees what was packed and leaves pk zeroed. */
int affect_encoder_pack(affect_encoder_packed *pk, const affect_model_config *c,
                        const affect_encoder_params *p, affect_error *err) {
    memset(pk, 0, sizeof *pk);
    int L = c->layers, H = c->hidden, F = c->ffn;
    if (L <= 0) return AFFECT_OK;
    pk->w = calloc((size_t)L * 4, sizeof *pk->w);
    if (!pk->w) return affect_fail(err, AFFECT_ENOMEM, "encoder: out of memory packing weights");
    pk->layers = L;
    for (int l = 0; l < L; l++) {
        size_t ll = (size_t)l, h = (size_t)H, f = (size_t)F;
        affect_packed_w *w = pk->w + ll * 4;
        int rc = affect_pack_weights(&w[0], p->qkvw + ll * 3 * h * h, 3 * H, H, err);
        if (!rc) rc = affect_pack_weights(&w[1], p->attprojw + ll * h * h, H, H, err);
        if (!rc) rc = affect_pack_weights(&w[2], p->fcw + ll * f * h, F, H, err);
        if (!rc) rc = affect_pack_weights(&w[3], p->fcprojw + ll * h * f, H, F, err);
        if (rc) {
            affect_encoder_packed_free(pk);
            return rc;
        }
    }
    return AFFECT_OK;
}

void affect_encoder_packed_free(affect_encoder_packed *pk) {
    if (!pk) return;
    for (int i = 0; pk->w && i < pk->layers * 4; i++) affect_packed_free(&pk->w[i]);
    free(pk->w);
    memset(pk, 0, sizeof *pk);
}

/* The layer loop of affect_encoder_forward over the shared inference buffers: x (= ln2 = x0)
 * -> qkv -> atty -> res1 = x + proj -> ln1 -> fch = GELU(ln1·W1ᵀ + b1) -> res2 (= res1) =
 * ln1 + fch·W2ᵀ + b2 -> ln2 (= x0). */
int affect_encoder_forward_packed(const affect_model_config *c, const affect_encoder_params *p,
                                  const affect_encoder_packed *pk, affect_encoder_acts *a,
                                  const int32_t *ids, const int32_t *mask, affect_error *err) {
    if (a->per_layer || !pk || pk->layers != c->layers)
        return affect_fail(err, AFFECT_EARG,
                           "encoder: packed forward needs inference activations and %d packed layers",
                           c->layers);
    int rc = check_inputs(c, a, ids, err);
    if (rc) return rc;
    int B = a->B, T = a->T, H = c->hidden, NH = c->heads, N = B * T;
    if (NH <= 0 || H % NH)
        return affect_fail(err, AFFECT_EARG, "encoder: hidden %d is not a multiple of heads %d", H, NH);
    int threads = affect_parallel_threads();
    int tasks = threads > 1 ? 4 * threads : 1; /* see affect_linear_forward */
    float *scratch = malloc(attention_infer_scratch_floats(T, H, NH, tasks) * sizeof(float));
    if (!scratch)
        return affect_fail(err, AFFECT_ENOMEM, "encoder: out of memory for attention scratch (T=%d)", T);
    embeddings_forward(c, p, a, ids);
    for (int l = 0; l < c->layers; l++) {
        size_t L = (size_t)l;
        const affect_packed_w *w = pk->w + L * 4;
        float *x = a->x0; /* = ln2 */
        affect_linear_forward(a->qkv, x, &w[0], p->qkvb + L * 3 * H, NULL, N, AFFECT_ACT_NONE);
        attention_forward_infer(a->atty, a->qkv, mask, B, T, H, NH, scratch, tasks);
        affect_linear_forward(a->res1, a->atty, &w[1], p->attprojb + L * H, x, N, AFFECT_ACT_NONE);
        layernorm_forward_infer(a->ln1, a->res1, p->ln1w + L * H, p->ln1b + L * H, N, H, c->ln_eps);
        affect_linear_forward(a->fch, a->ln1, &w[2], p->fcb + L * c->ffn, NULL, N, AFFECT_ACT_GELU);
        affect_linear_forward(a->res2, a->fch, &w[3], p->fcprojb + L * H, a->ln1, N, AFFECT_ACT_NONE);
        layernorm_forward_infer(a->ln2, a->res2, p->ln2w + L * H, p->ln2b + L * H, N, H, c->ln_eps);
    }
    free(scratch);
    return AFFECT_OK;
}
