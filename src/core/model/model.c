#include "model.h"
#include "arch.h"
#include "kernels.h"
#include "tensors.h"
#include "util/blob.h"
#include "util/error.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* dir + "/" + name, refusing (rather than truncating) paths that do not fit. */
static int join(char *out, size_t cap, const char *dir, const char *name, affect_error *err) {
    size_t dl = strlen(dir);
    int slash = dl > 0 && dir[dl - 1] == '/';
    int n = snprintf(out, cap, "%s%s%s", dir, slash ? "" : "/", name);
    if (n < 0 || (size_t)n >= cap)
        return affect_fail(err, AFFECT_EARG, "model path too long: %.200s", dir);
    return AFFECT_OK;
}

/* Reads and parses config.json, with the file named in every error. */
static int load_config(affect_model_config *cfg, const char *dir, affect_error *err) {
    char path[4096];
    int rc = join(path, sizeof path, dir, "config.json", err);
    if (rc) return rc;
    char *text = NULL;
    size_t len = 0;
    if ((rc = affect_read_file(path, &text, &len, err))) {
        if (rc == AFFECT_ENOTFOUND)
            affect_fail(err, rc, "%s: no config.json (not a model folder?)", dir);
        return rc;
    }
    rc = affect_config_parse(cfg, text, len, err);
    free(text);
    return rc;
}

/* Weights: model.safetensors is preferred (it maps without unpickling), pytorch_model.bin
 * otherwise. They are copied into one f32 arena (converting F16/BF16), so the file is
 * closed again before this returns. */
static int load_weights(affect_model *m, const char *dir, affect_error *err) {
    static const char *const names[] = {"model.safetensors", "pytorch_model.bin"};
    char path[4096];
    const char *chosen = NULL;
    int rc;
    for (size_t i = 0; i < 2 && !chosen; i++) {
        if ((rc = join(path, sizeof path, dir, names[i], err))) return rc;
        if (affect_file_exists(path)) chosen = names[i];
    }
    if (!chosen)
        return affect_fail(err, AFFECT_ENOTFOUND,
                           "%s: no weights (model.safetensors or pytorch_model.bin)", dir);
    m->n_params = affect_encoder_param_sizes(&m->cfg, m->param_sizes);
    if (m->n_params == 0)
        return affect_fail(err, AFFECT_ENOMEM, "config.json: the model's sizes overflow memory");
    m->param_arena = calloc(m->n_params, sizeof(float));
    if (!m->param_arena)
        return affect_fail(err, AFFECT_ENOMEM, "out of memory for %zu MB of weights",
                           m->n_params * sizeof(float) >> 20);
    affect_encoder_params_point(&m->params, m->param_arena, m->param_sizes);

    affect_blob blob;
    if ((rc = affect_blob_open(&blob, path, err))) return rc;
    affect_tensor_set ts = {0};
    rc = affect_tensors_parse_any(&ts, blob.data, blob.len, err);
    if (rc) {
        char inner[sizeof err->msg];
        if (err) {
            memcpy(inner, err->msg, sizeof inner);
            affect_fail(err, rc, "%s: %.440s", chosen, inner);
        }
    } else {
        rc = affect_arch_load(&m->cfg, &m->params, &ts, chosen, err);
        if (!rc && m->heads)
            rc = affect_heads_load_weights(m->heads, &ts, m->cfg.hidden, chosen, err);
    }
    affect_tensor_set_free(&ts);
    affect_blob_close(&blob);
    return rc;
}

/* A trained model (affect train's final_model/) has affect_heads.json beside its weights;
 * its absence means a bare encoder, not an error. */
static int load_heads_meta(affect_model *m, const char *dir, affect_error *err) {
    char path[4096];
    int rc = join(path, sizeof path, dir, "affect_heads.json", err);
    if (rc || !affect_file_exists(path)) return rc;
    char *text = NULL;
    size_t len = 0;
    if ((rc = affect_read_file(path, &text, &len, err))) return rc;
    m->heads = calloc(1, sizeof *m->heads);
    if (!m->heads) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory loading %s", path);
    else rc = affect_heads_meta_parse(m->heads, text, len, "affect_heads.json", err);
    free(text);
    /* the lexical model reads the tokenizer's ids, which the encoder's embeddings count */
    if (!rc && m->heads->lexical_vocab > 0 && m->heads->lexical_vocab != m->cfg.vocab_size)
        rc = affect_fail(err, AFFECT_EFORMAT, "affect_heads.json: lexical.vocab_size %d does not match config.json "
                         "vocab_size %d", m->heads->lexical_vocab, m->cfg.vocab_size);
    return rc;
}

/* A model folder as Hugging Face saves it: config.json, weights, tokenizer files. */
int affect_model_load_dir(affect_model **out, const char *dir, affect_error *err) {
    *out = NULL;
    if (!dir) return affect_fail(err, AFFECT_EARG, "model folder is NULL");
    affect_model *m = calloc(1, sizeof *m);
    if (!m) return affect_fail(err, AFFECT_ENOMEM, "out of memory loading %s", dir);
    int rc = load_config(&m->cfg, dir, err);
    if (!rc) rc = load_heads_meta(m, dir, err);
    if (!rc) rc = load_weights(m, dir, err);
    if (!rc) rc = affect_encoder_pack(&m->packed, &m->cfg, &m->params, err);
    if (!rc) rc = affect_tokenizer_load_dir(&m->tok, dir, m->cfg.model_type, err);
    if (rc) {
        affect_model_free(m);
        return rc;
    }
    *out = m;
    return AFFECT_OK;
}

/* Accepts NULL and half-loaded models (the load path's error exit uses it). */
void affect_model_free(affect_model *m) {
    if (!m) return;
    affect_heads_model_free(m->heads);
    free(m->heads);
    affect_tokenizer_free(m->tok);
    affect_encoder_acts_free(&m->acts);
    affect_encoder_packed_free(&m->packed);
    free(m->param_arena);
    free(m);
}

/* Accessors; NULL-tolerant so callers can chain them after a failed load. */
const affect_tokenizer *affect_model_tokenizer(const affect_model *m) { return m ? m->tok : NULL; }
int affect_model_hidden_size(const affect_model *m) { return m ? m->cfg.hidden : 0; }
/* Classifier heads arrive with training (affect_heads.json); a Hugging Face encoder has none. */
int affect_model_num_labels(const affect_model *m) { return m && m->heads ? m->heads->L : 0; }
const char *affect_model_label_name(const affect_model *m, int i) {
    return m && m->heads && i >= 0 && i < m->heads->L ? m->heads->label_names[i] : NULL;
}
int affect_model_has_intensity(const affect_model *m) {
    return m && m->heads ? m->heads->has_intensity : 0;
}
int affect_model_intensity_prefix(const affect_model *m) {
    return m && m->heads ? m->heads->intensity_prefix : 0;
}
const affect_heads_model *affect_model_heads(const affect_model *m) { return m ? m->heads : NULL; }
int affect_model_max_length(const affect_model *m) { return affect_encoder_max_length(&m->cfg); }
const affect_model_config *affect_model_config_of(const affect_model *m) { return &m->cfg; }

/* Counted from the shapes rather than stored, so it cannot drift from what was loaded. */
size_t affect_model_param_count(const affect_model *m) {
    size_t n = m->n_params;
    const affect_heads_model *h = m->heads;
    if (h) {
        size_t H = (size_t)h->H, L = (size_t)h->L;
        n += H * H + H + L * H + L;                 /* emotion head */
        if (h->int1w) n += H * H + H + H + 1;       /* intensity head */
    }
    return n;
}

/* One padded batch through the encoder; outputs are copied out so the caller's buffers
 * never alias the reusable activation arena. */
int affect_model_embed(affect_model *m, const affect_batch *batch, int pool, float *hidden,
                       float *pooled, affect_error *err) {
    if (!m || !batch || !batch->ids || !batch->mask || batch->B <= 0 || batch->T <= 0)
        return affect_fail(err, AFFECT_EARG, "embed: empty or invalid batch");
    if (pool != AFFECT_POOL_MEAN && pool != AFFECT_POOL_CLS)
        return affect_fail(err, AFFECT_EARG, "embed: unknown pooling %d", pool);
    int rc = affect_encoder_acts_alloc(&m->acts, &m->cfg, batch->B, batch->T, 0, err);
    if (rc) return rc;
    if (m->packed.w)
        rc = affect_encoder_forward_packed(&m->cfg, &m->params, &m->packed, &m->acts, batch->ids,
                                           batch->mask, err);
    else
        rc = affect_encoder_forward(&m->cfg, &m->params, &m->acts, batch->ids, batch->mask, err);
    if (rc) return rc;
    const float *h = affect_encoder_output(&m->acts, &m->cfg);
    size_t n = (size_t)batch->B * batch->T * m->cfg.hidden;
    if (hidden) memcpy(hidden, h, n * sizeof *hidden);
    if (pooled) pool_forward(pooled, h, batch->mask, batch->B, batch->T, m->cfg.hidden, pool);
    return AFFECT_OK;
}

/* Encoder, the pooling the heads were trained with, then the heads: the whole EmotionModel in
 * eval mode, as the trainer's own validation computes it. */
int affect_model_predict(affect_model *m, const affect_batch *batch, float *probs,
                         float *intensity, affect_error *err) {
    if (!m || !m->heads)
        return affect_fail(err, AFFECT_EARG, "predict: the model has no classification heads");
    if (!batch || batch->B <= 0)
        return affect_fail(err, AFFECT_EARG, "predict: empty or invalid batch");
    if (intensity && !m->heads->has_intensity)
        return affect_fail(err, AFFECT_EARG, "predict: the model has no trained intensity head");
    size_t H = (size_t)m->cfg.hidden, B = (size_t)batch->B;
    if (B > SIZE_MAX / sizeof(float) / H)
        return affect_fail(err, AFFECT_ENOMEM, "predict: batch of %d rows is too large", batch->B);
    float *pooled = malloc(B * H * sizeof *pooled);
    if (!pooled) return affect_fail(err, AFFECT_ENOMEM, "predict: out of memory for %d rows", batch->B);
    int rc = affect_model_embed(m, batch, m->heads->pool, NULL, pooled, err);
    if (!rc) rc = affect_heads_infer(m->heads, pooled, batch, batch->B, probs, intensity, err);
    free(pooled);
    return rc;
}
