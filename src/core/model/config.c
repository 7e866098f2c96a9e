#include "config.h"
#include "util/error.h"
#include "util/json.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bounds that keep every size product (V*H, L*F*H, B*NH*T*T) far from overflow while
 * leaving room for any encoder a laptop could run. */
#define CFG_MAX_VOCAB 1000000
#define CFG_MAX_HIDDEN 16384
#define CFG_MAX_LAYERS 256
#define CFG_MAX_HEADS 1024
#define CFG_MAX_FFN 65536
#define CFG_MAX_POS 65536
#define CFG_MAX_TYPES 1024

/* Reads an integer member. Absent: the default, or an error naming the key when there is no
 * default (dflt < 0 marks "required"). Present but not an integer in [lo, hi]: an error, so a
 * float size or a negative count never reaches the allocator. */
static int get_int(const json_value *root, const char *key, int dflt, int lo, int hi, int *out,
                   affect_error *err) {
    const json_value *v = json_get(root, key);
    if (!v || v->type == JSON_NULL) {
        if (dflt < 0) return affect_fail(err, AFFECT_EFORMAT, "config.json: missing \"%s\"", key);
        *out = dflt;
        return AFFECT_OK;
    }
    if (!json_is_int(v, lo, hi))
        return affect_fail(err, AFFECT_EFORMAT, "config.json: \"%s\" must be an integer in [%d, %d]",
                           key, lo, hi);
    *out = (int)v->number;
    return AFFECT_OK;
}

/* Reads a float member in [lo, hi], with a default when absent. */
static int get_float(const json_value *root, const char *key, double dflt, double lo, double hi,
                     float *out, affect_error *err) {
    const json_value *v = json_get(root, key);
    if (!v || v->type == JSON_NULL) { *out = (float)dflt; return AFFECT_OK; }
    if (v->type != JSON_NUMBER || !(v->number >= lo && v->number <= hi))
        return affect_fail(err, AFFECT_EFORMAT, "config.json: \"%s\" must be a number in [%g, %g]",
                           key, lo, hi);
    *out = (float)v->number;
    return AFFECT_OK;
}

/* The encoder implements exactly one activation: the erf GELU Hugging Face calls "gelu". A
 * tanh approximation or ReLU would silently give different vectors, so anything else is
 * refused rather than run. */
static int check_activation(const json_value *root, const char *key, affect_error *err) {
    const json_value *v = json_get(root, key);
    if (!v || v->type == JSON_NULL) return AFFECT_OK;
    if (v->type != JSON_STRING)
        return affect_fail(err, AFFECT_EFORMAT, "config.json: \"%s\" must be a string", key);
    if (strcmp(v->str, "gelu") != 0)
        return affect_fail(err, AFFECT_EUNSUPPORTED,
                           "config.json: %s \"%s\" is not supported (only \"gelu\")", key, v->str);
    return AFFECT_OK;
}

/* BERT and RoBERTa share one config vocabulary (BertConfig / RobertaConfig); the defaults
 * are the ones transformers applies when a key is absent (TinyBERT omits eps and pad). */
static int parse_bert_like(affect_model_config *c, const json_value *r, affect_error *err) {
    int rc;
    int roberta = c->family == AFFECT_FAMILY_ROBERTA;
    if ((rc = get_int(r, "vocab_size", -1, 1, CFG_MAX_VOCAB, &c->vocab_size, err))) return rc;
    if ((rc = get_int(r, "hidden_size", -1, 1, CFG_MAX_HIDDEN, &c->hidden, err))) return rc;
    if ((rc = get_int(r, "num_hidden_layers", -1, 1, CFG_MAX_LAYERS, &c->layers, err))) return rc;
    if ((rc = get_int(r, "num_attention_heads", -1, 1, CFG_MAX_HEADS, &c->heads, err))) return rc;
    if ((rc = get_int(r, "intermediate_size", -1, 1, CFG_MAX_FFN, &c->ffn, err))) return rc;
    if ((rc = get_int(r, "max_position_embeddings", 512, 1, CFG_MAX_POS, &c->max_positions, err))) return rc;
    if ((rc = get_int(r, "type_vocab_size", 2, 1, CFG_MAX_TYPES, &c->type_vocab, err))) return rc;
    if ((rc = get_int(r, "pad_token_id", roberta ? 1 : 0, 0, CFG_MAX_VOCAB, &c->pad_id, err))) return rc;
    if ((rc = get_float(r, "layer_norm_eps", 1e-12, 0.0, 1.0, &c->ln_eps, err))) return rc;
    if ((rc = get_float(r, "hidden_dropout_prob", 0.1, 0.0, 1.0, &c->hidden_dropout, err))) return rc;
    if ((rc = get_float(r, "attention_probs_dropout_prob", 0.1, 0.0, 1.0, &c->attn_dropout, err))) return rc;
    if ((rc = check_activation(r, "hidden_act", err))) return rc;
    const char *pet = json_get_string(r, "position_embedding_type", "absolute");
    if (strcmp(pet, "absolute") != 0)
        return affect_fail(err, AFFECT_EUNSUPPORTED,
                           "config.json: position_embedding_type \"%s\" is not supported (only \"absolute\")", pet);
    return AFFECT_OK;
}

/* DistilBertConfig spells the same sizes differently (dim, n_layers, hidden_dim …) and
 * hard-codes LayerNorm eps 1e-12 in the model code. */
static int parse_distilbert(affect_model_config *c, const json_value *r, affect_error *err) {
    int rc;
    if ((rc = get_int(r, "vocab_size", -1, 1, CFG_MAX_VOCAB, &c->vocab_size, err))) return rc;
    if ((rc = get_int(r, "dim", -1, 1, CFG_MAX_HIDDEN, &c->hidden, err))) return rc;
    if ((rc = get_int(r, "n_layers", -1, 1, CFG_MAX_LAYERS, &c->layers, err))) return rc;
    if ((rc = get_int(r, "n_heads", -1, 1, CFG_MAX_HEADS, &c->heads, err))) return rc;
    if ((rc = get_int(r, "hidden_dim", -1, 1, CFG_MAX_FFN, &c->ffn, err))) return rc;
    if ((rc = get_int(r, "max_position_embeddings", 512, 1, CFG_MAX_POS, &c->max_positions, err))) return rc;
    if ((rc = get_int(r, "pad_token_id", 0, 0, CFG_MAX_VOCAB, &c->pad_id, err))) return rc;
    if ((rc = get_float(r, "dropout", 0.1, 0.0, 1.0, &c->hidden_dropout, err))) return rc;
    if ((rc = get_float(r, "attention_dropout", 0.1, 0.0, 1.0, &c->attn_dropout, err))) return rc;
    if ((rc = check_activation(r, "activation", err))) return rc;
    c->type_vocab = 0;
    c->ln_eps = 1e-12f;
    c->sinusoidal_pos = json_get_bool(r, "sinusoidal_pos_embds", 0);
    return AFFECT_OK;
}

/* Normalises the three families' config.json into one struct, refusing anything the encoder
 * could not run exactly as transformers would. */
int affect_config_parse(affect_model_config *cfg, const char *json, size_t len, affect_error *err) {
    memset(cfg, 0, sizeof *cfg);
    json_doc *doc = NULL;
    int rc = json_parse(&doc, json, len, err);
    if (rc) {
        char inner[sizeof err->msg];
        if (err) {
            memcpy(inner, err->msg, sizeof inner);
            affect_fail(err, rc, "config.json: %.400s", inner);
        }
        return rc;
    }
    const json_value *r = json_root(doc);
    if (r->type != JSON_OBJECT) {
        json_free(doc);
        return affect_fail(err, AFFECT_EFORMAT, "config.json: top level is not an object");
    }
    const json_value *mt = json_get(r, "model_type");
    if (!mt || mt->type != JSON_STRING) {
        json_free(doc);
        return affect_fail(err, AFFECT_EFORMAT, "config.json: missing \"model_type\"");
    }
    if (!strcmp(mt->str, "bert")) cfg->family = AFFECT_FAMILY_BERT;
    else if (!strcmp(mt->str, "distilbert")) cfg->family = AFFECT_FAMILY_DISTILBERT;
    else if (!strcmp(mt->str, "roberta")) cfg->family = AFFECT_FAMILY_ROBERTA;
    else {
        rc = affect_fail(err, AFFECT_EUNSUPPORTED,
                         "config.json: model_type \"%.64s\" is not supported (bert, distilbert, roberta)",
                         mt->str);
        json_free(doc);
        return rc;
    }
    snprintf(cfg->model_type, sizeof cfg->model_type, "%s", mt->str);
    rc = cfg->family == AFFECT_FAMILY_DISTILBERT ? parse_distilbert(cfg, r, err)
                                                 : parse_bert_like(cfg, r, err);
    json_free(doc);
    if (rc) return rc;
    if (cfg->hidden % cfg->heads != 0)
        return affect_fail(err, AFFECT_EFORMAT,
                           "config.json: hidden size %d is not divisible by %d attention heads",
                           cfg->hidden, cfg->heads);
    if (cfg->pad_id >= cfg->vocab_size)
        return affect_fail(err, AFFECT_EFORMAT, "config.json: pad_token_id %d >= vocab_size %d",
                           cfg->pad_id, cfg->vocab_size);
    if (cfg->family == AFFECT_FAMILY_ROBERTA && cfg->max_positions <= cfg->pad_id + 1)
        return affect_fail(err, AFFECT_EFORMAT,
                           "config.json: max_position_embeddings %d leaves no positions after padding_idx %d",
                           cfg->max_positions, cfg->pad_id);
    return AFFECT_OK;
}

/* Emits config.json in the family's own key names, so a folder affect writes (a fine-tuned
 * model) loads back in transformers unchanged. */
int affect_config_to_json(const affect_model_config *c, char **out, affect_error *err) {
    json_buf b = {0};
    int rc = 0;
    *out = NULL;
    if (c->family == AFFECT_FAMILY_DISTILBERT) {
        rc = json_buf_printf(&b,
            "{\n  \"activation\": \"gelu\",\n  \"architectures\": [\"DistilBertModel\"],\n"
            "  \"attention_dropout\": %.9g,\n  \"dim\": %d,\n  \"dropout\": %.9g,\n"
            "  \"hidden_dim\": %d,\n  \"max_position_embeddings\": %d,\n"
            "  \"model_type\": \"distilbert\",\n  \"n_heads\": %d,\n  \"n_layers\": %d,\n"
            "  \"pad_token_id\": %d,\n  \"sinusoidal_pos_embds\": %s,\n  \"vocab_size\": %d\n}\n",
            (double)c->attn_dropout, c->hidden, (double)c->hidden_dropout, c->ffn,
            c->max_positions, c->heads, c->layers, c->pad_id,
            c->sinusoidal_pos ? "true" : "false", c->vocab_size);
    } else {
        int roberta = c->family == AFFECT_FAMILY_ROBERTA;
        rc = json_buf_printf(&b,
            "{\n  \"architectures\": [\"%s\"],\n  \"attention_probs_dropout_prob\": %.9g,\n"
            "  \"hidden_act\": \"gelu\",\n  \"hidden_dropout_prob\": %.9g,\n"
            "  \"hidden_size\": %d,\n  \"intermediate_size\": %d,\n  \"layer_norm_eps\": %.9g,\n"
            "  \"max_position_embeddings\": %d,\n  \"model_type\": \"%s\",\n"
            "  \"num_attention_heads\": %d,\n  \"num_hidden_layers\": %d,\n"
            "  \"pad_token_id\": %d,\n  \"position_embedding_type\": \"absolute\",\n"
            "  \"type_vocab_size\": %d,\n  \"vocab_size\": %d\n}\n",
            roberta ? "RobertaModel" : "BertModel", (double)c->attn_dropout,
            (double)c->hidden_dropout, c->hidden, c->ffn, (double)c->ln_eps, c->max_positions,
            roberta ? "roberta" : "bert", c->heads, c->layers, c->pad_id, c->type_vocab,
            c->vocab_size);
    }
    if (rc) {
        json_buf_free(&b);
        return affect_fail(err, AFFECT_ENOMEM, "out of memory writing config.json");
    }
    *out = b.data;
    return AFFECT_OK;
}
