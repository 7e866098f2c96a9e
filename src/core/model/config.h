/* A model's architecture as read from its config.json, normalised across the three families
 * affect runs: BERT (bert-base, TinyBERT), DistilBERT, and RoBERTa (MiniLMv2). */
#ifndef AFFECT_CORE_CONFIG_H
#define AFFECT_CORE_CONFIG_H
#include "affect.h"

typedef enum { AFFECT_FAMILY_BERT, AFFECT_FAMILY_DISTILBERT, AFFECT_FAMILY_ROBERTA } affect_family;

typedef struct affect_model_config {
    affect_family family;
    char model_type[32];   /* as written in config.json */
    int vocab_size;
    int hidden;            /* H */
    int layers;            /* L */
    int heads;             /* NH; head size = H / NH (TinyBERT: 312/12 = 26) */
    int ffn;               /* intermediate size */
    int max_positions;
    int type_vocab;        /* 0 when the family has no token-type embeddings (DistilBERT) */
    int pad_id;
    float ln_eps;          /* LayerNorm epsilon: config's layer_norm_eps, DistilBERT 1e-12 */
    float hidden_dropout, attn_dropout; /* used by training only */
    int sinusoidal_pos;    /* DistilBERT's sinusoidal_pos_embds (stored as a weight anyway) */
} affect_model_config;

/* Parses config.json text. Unknown model_type, missing required sizes, hidden not divisible
 * by heads, non-gelu activations and absurd sizes are errors. */
int affect_config_parse(affect_model_config *cfg, const char *json, size_t len, affect_error *err);
/* Writes config.json text for cfg (in the family's own key names) into a malloc'd string. */
int affect_config_to_json(const affect_model_config *cfg, char **out, affect_error *err);

#endif
