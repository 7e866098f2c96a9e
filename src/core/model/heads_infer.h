/*
 * Inference of a trained EmotionModel's heads (what `affect train` exports beside the encoder),
 * in the core so the browser build runs exactly what training computed:
 *
 *   emotion    probs     = sigmoid(Linear(H,L)(GELU(Linear(H,H)(pooled))))
 *   intensity  intensity = Linear(H,1)(GELU(Linear(H,H)(pooled)))     (raw, no squashing:
 *                                                                      the L1 target scale)
 *
 * with the same kernels (linear_forward, exact-erf gelu_forward) as src/train/heads.c, so a
 * model's predictions equal the trainer's own eval-mode outputs to the last bit of the
 * logits. The weights are model.safetensors' heads.emotion.{0,2}.* and heads.intensity.{0,2}.*
 * (the nn.Sequential indices); the metadata is affect_heads.json:
 *
 *   {"format":"affect-heads-1","label_names":[...],"pool":"mean"|"cls",
 *    "intensity":{"enabled":true,"target_min":0,"target_max":1,"median":m,
 *                 "emotion_prefix":true (optional: trained on "<emotion>: <text>" inputs)},
 *    "max_length":N,
 *    "lexical":{"features":"tfidf-sublinear-l2","vocab_size":V} (optional: see lexical.h)}
 */
#ifndef AFFECT_CORE_HEADS_INFER_H
#define AFFECT_CORE_HEADS_INFER_H
#include <stddef.h>
#include "affect.h"
#include "lexical.h"
#include "tensors.h"

typedef struct affect_heads_model {
    int H, L;
    int pool;              /* AFFECT_POOL_MEAN or AFFECT_POOL_CLS */
    int max_length;        /* training's truncation length; 0 = unknown */
    int has_intensity;     /* 1: intensity.enabled */
    float intensity_median, target_min, target_max;
    int intensity_prefix;  /* 1: intensity.emotion_prefix (rate emotion E of text T as "E: T") */
    char **label_names;    /* (L) owned */
    float *arena;          /* every head weight, owned */
    const float *emo1w, *emo1b, *emo2w, *emo2b; /* (H,H) (H) (L,H) (L) */
    const float *int1w, *int1b, *int2w, *int2b; /* (H,H) (H) (1,H) (1) */
    affect_lexical lex;    /* lexical model mixed into the emotion logits; lex.V == 0: none */
    int lexical_vocab;     /* affect_heads.json lexical.vocab_size, 0 = no lexical model */
    float *scratch;        /* (B,H) x2 + (B,L), grown on demand */
    size_t scratch_cap;
} affect_heads_model;

/* Parses affect_heads.json text into h (labels, pool, intensity, max_length). `source` names
 * the file in errors. */
int affect_heads_meta_parse(affect_heads_model *h, const char *json, size_t len,
                            const char *source, affect_error *err);

/* Copies the heads.* tensors for hidden size H and h->L labels from a weights file (each
 * must be present, a float dtype, and of the exact PyTorch shape). */
int affect_heads_load_weights(affect_heads_model *h, const affect_tensor_set *ts, int H,
                              const char *source, affect_error *err);

/* pooled (B,H) -> probs (B,L) (may be NULL) and intensity (B) (may be NULL). The batch the
 * pooled rows came from feeds the lexical model when there is one (it may be NULL only when
 * there is none). */
int affect_heads_infer(affect_heads_model *h, const float *pooled, const affect_batch *batch, int B,
                       float *probs, float *intensity, affect_error *err);

void affect_heads_model_free(affect_heads_model *h);

#endif
