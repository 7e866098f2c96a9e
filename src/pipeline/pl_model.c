/* The encoder a run starts from: a pretrained model folder, or a fresh one built from the
 * config's model.scratch section and initialised as Hugging Face initialises a new model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/tensors.h"
#include "pipeline/pl_internal.h"
#include "train/rng.h"
#include "util/blob.h"
#include "util/error.h"

int pl_scratch_config(const affect_run_config *c, int vocab_size, int32_t pad_id, affect_model_config *out,
                      affect_error *err) {
    const char *fam = c->model.scratch.family;
    int L = c->model.max_length;
    char json[1024];
    int n;
    double d = c->model.scratch.dropout;
    if (!strcmp(fam, "distilbert")) {
        int P = L > 512 ? L : 512;
        n = snprintf(json, sizeof json,
                     "{\"model_type\":\"distilbert\",\"vocab_size\":%d,\"dim\":%d,\"n_layers\":%d,\"n_heads\":%d,"
                     "\"hidden_dim\":%d,\"max_position_embeddings\":%d,\"pad_token_id\":%d,\"dropout\":%.9g,"
                     "\"attention_dropout\":%.9g,\"activation\":\"gelu\",\"sinusoidal_pos_embds\":false}",
                     vocab_size, c->model.scratch.hidden, c->model.scratch.layers, c->model.scratch.heads,
                     c->model.scratch.ffn, P, (int)pad_id, d, d);
    } else {
        int roberta = !strcmp(fam, "roberta");
        int P = roberta ? (L + pad_id + 1 > 514 ? L + pad_id + 1 : 514) : (L > 512 ? L : 512);
        n = snprintf(json, sizeof json,
                     "{\"model_type\":\"%s\",\"vocab_size\":%d,\"hidden_size\":%d,\"num_hidden_layers\":%d,"
                     "\"num_attention_heads\":%d,\"intermediate_size\":%d,\"max_position_embeddings\":%d,"
                     "\"type_vocab_size\":%d,\"pad_token_id\":%d,\"layer_norm_eps\":1e-12,\"hidden_act\":\"gelu\","
                     "\"hidden_dropout_prob\":%.9g,\"attention_probs_dropout_prob\":%.9g}",
                     roberta ? "roberta" : "bert", vocab_size, c->model.scratch.hidden, c->model.scratch.layers,
                     c->model.scratch.heads, c->model.scratch.ffn, P, roberta ? 1 : 2, (int)pad_id, d, d);
    }
    if (n < 0 || (size_t)n >= sizeof json) return affect_fail(err, AFFECT_EARG, "model.scratch: config too long");
    affect_error sub = {0};
    int rc = affect_config_parse(out, json, (size_t)n, &sub);
    if (rc) return affect_fail(err, rc, "model.scratch: %s", sub.msg);
    return 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

void pl_encoder_init_random(affect_trainer *tr, uint64_t seed) {
    const affect_model_config *cfg = affect_trainer_config(tr);
    size_t nt = affect_trainer_num_tensors(tr);
    for (size_t i = 0; i < nt; i++) {
        const affect_train_tensor *t = affect_trainer_tensor(tr, i);
        if (!t->encoder) continue;
        int is_norm = strstr(t->name, "LayerNorm") || strstr(t->name, "layer_norm");
        if (t->ndim == 2) {
            affect_rng_normal_fill(t->param, t->n, seed, 0x454e430000000000ull + i, 0.02f);
            if (ends_with(t->name, "word_embeddings.weight") && cfg->pad_id >= 0 && cfg->pad_id < t->shape[0])
                memset(t->param + (size_t)cfg->pad_id * (size_t)t->shape[1], 0, (size_t)t->shape[1] * sizeof(float));
        } else {
            float v = is_norm && ends_with(t->name, ".weight") ? 1.0f : 0.0f;
            for (size_t k = 0; k < t->n; k++) t->param[k] = v;
        }
    }
}

int pl_model_config_dir(const char *dir, affect_model_config *cfg, affect_error *err) {
    char path[PL_PATH];
    int rc = pl_path(path, sizeof path, err, "%s/config.json", dir);
    if (rc) return rc;
    char *text = NULL;
    size_t len = 0;
    if ((rc = affect_read_file(path, &text, &len, err))) return rc;
    affect_error sub = {0};
    rc = affect_config_parse(cfg, text, len, &sub);
    free(text);
    if (rc) return affect_fail(err, rc, "%s: %s", path, sub.msg);
    return 0;
}

int pl_encoder_load_dir(affect_trainer *tr, const char *dir, affect_error *err) {
    static const char *const names[] = {"model.safetensors", "pytorch_model.bin"};
    char path[PL_PATH];
    int rc;
    for (int i = 0; i < 2; i++) {
        if ((rc = pl_path(path, sizeof path, err, "%s/%s", dir, names[i]))) return rc;
        if (!affect_file_exists(path)) continue;
        affect_blob blob;
        if ((rc = affect_blob_open(&blob, path, err))) return rc;
        affect_tensor_set ts = {0};
        rc = affect_tensors_parse_any(&ts, blob.data, blob.len, err);
        if (!rc) rc = affect_trainer_load_encoder(tr, &ts, path, err);
        affect_tensor_set_free(&ts);
        affect_blob_close(&blob);
        return rc;
    }
    return affect_fail(err, AFFECT_ENOTFOUND, "%s: no weights (model.safetensors or pytorch_model.bin)", dir);
}

void pl_copy_encoder(affect_trainer *dst, const affect_trainer *src) {
    size_t nt = affect_trainer_num_tensors(src);
    for (size_t i = 0; i < nt; i++) {
        const affect_train_tensor *s = affect_trainer_tensor(src, i), *d = affect_trainer_tensor(dst, i);
        if (!s->encoder || !d || !d->encoder || d->n != s->n) continue;
        memcpy(d->param, s->param, s->n * sizeof(float));
    }
}

int pl_reset_optimizer(affect_trainer *tr, affect_error *err) {
    size_t nt = affect_trainer_num_tensors(tr);
    int64_t *zeros = calloc(nt ? nt : 1, sizeof *zeros);
    if (!zeros) return affect_fail(err, AFFECT_ENOMEM, "out of memory");
    for (size_t i = 0; i < nt; i++) {
        const affect_train_tensor *t = affect_trainer_tensor(tr, i);
        memset(t->m, 0, t->n * sizeof(float));
        memset(t->v, 0, t->n * sizeof(float));
        memset(t->grad, 0, t->n * sizeof(float));
    }
    int rc = affect_trainer_restore_counters(tr, 0, 0, zeros, err);
    free(zeros);
    return rc;
}

size_t pl_param_count(const affect_trainer *tr) {
    size_t n = 0, nt = affect_trainer_num_tensors(tr);
    for (size_t i = 0; i < nt; i++) n += affect_trainer_tensor(tr, i)->n;
    return n;
}

void pl_params_get(const affect_trainer *tr, float *dst) {
    size_t nt = affect_trainer_num_tensors(tr);
    for (size_t i = 0; i < nt; i++) {
        const affect_train_tensor *t = affect_trainer_tensor(tr, i);
        memcpy(dst + t->offset, t->param, t->n * sizeof(float));
    }
}

void pl_params_set(affect_trainer *tr, const float *src) {
    size_t nt = affect_trainer_num_tensors(tr);
    for (size_t i = 0; i < nt; i++) {
        const affect_train_tensor *t = affect_trainer_tensor(tr, i);
        memcpy(t->param, src + t->offset, t->n * sizeof(float));
    }
}
