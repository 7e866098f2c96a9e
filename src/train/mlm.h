/*
 * Masked-language-model pretraining pieces: BERT's masking recipe and its prediction head
 * (Hugging Face's BertForMaskedLM: cls.predictions), so a from-scratch encoder can first
 * learn the language of the training texts before it learns emotions.
 *
 *   masking   every real token that is not a special token is chosen with probability p;
 *             a chosen token becomes [MASK] (80%), a uniformly random vocabulary id (10%)
 *             or stays (10%), as DataCollatorForLanguageModeling does. Only chosen
 *             positions carry a target (their original id).
 *   head      u = h·Wᵀ + b (H→H),  t = LayerNorm(GELU(u)),  logits = t·Eᵀ + bias (H→V)
 *             where E (V,H) is the encoder's word-embedding table (tied weights: the
 *             decoder's gradient is added into the embeddings' gradient).
 *   loss      mean cross-entropy over the chosen positions (torch's CrossEntropyLoss with
 *             ignore_index on the others); 0 with no gradient when nothing was chosen.
 *
 * The head works on the M chosen positions only (gathered from (B,T,H)), so its cost is
 * 15% of a full-vocabulary projection of every token.
 */
#ifndef AFFECT_TRAIN_MLM_H
#define AFFECT_TRAIN_MLM_H
#include <stddef.h>
#include <stdint.h>

#include "affect.h"

#define AFFECT_MLM_NPARAMS 5

typedef struct affect_mlm_params {
    float *dense_w; // (H,H)  cls.predictions.transform.dense.weight
    float *dense_b; // (H)    cls.predictions.transform.dense.bias
    float *ln_w;    // (H)    cls.predictions.transform.LayerNorm.weight
    float *ln_b;    // (H)    cls.predictions.transform.LayerNorm.bias
    float *bias;    // (V)    cls.predictions.bias
} affect_mlm_params;

/* Fills sizes[] (floats per tensor, struct order) and returns their sum (0 on overflow). */
size_t affect_mlm_param_sizes(int H, int V, size_t sizes[AFFECT_MLM_NPARAMS]);
void affect_mlm_params_point(affect_mlm_params *p, float *arena, const size_t sizes[AFFECT_MLM_NPARAMS]);
/* Checkpoint name and PyTorch shape of tensor i (struct order). */
const char *affect_mlm_param_name(int i);
void affect_mlm_param_shape(int i, int H, int V, int *ndim, int64_t shape[2]);
/* Hugging Face's _init_weights: dense normal(0, std) from the counter RNG under `seed`,
 * biases 0, LayerNorm weight 1. */
void affect_mlm_init(affect_mlm_params *p, int H, int V, uint64_t seed, float std);

/* Applies the masking recipe to ids (B,T) with attention mask (B,T) into out_ids (B,T);
 * writes the flat index b·T+t of each chosen position into pos and its original id into
 * target (both with room for B·T) and returns how many were chosen. Ids listed in
 * `special` (n_special) and padding (mask 0) are never chosen. Randomness is the counter
 * RNG under (seed, stream): a pure function of its arguments, so a resumed run masks the
 * same way. */
int affect_mlm_mask(int32_t *out_ids, int32_t *pos, int32_t *target, const int32_t *ids,
                    const int32_t *mask, int B, int T, const int32_t *special, int n_special,
                    int32_t mask_id, int vocab_size, double p, uint64_t seed, uint64_t stream);

/* Scratch of one head pass over up to M positions. */
typedef struct affect_mlm_acts {
    int M, H, V;
    float *sel, *pre, *gel, *t, *mean, *rstd, *logits, *dt, *dsel;
    float *wpan, *at, *bpan;
    float *arena;
    size_t cap;
} affect_mlm_acts;

int affect_mlm_acts_alloc(affect_mlm_acts *a, int M, int H, int V, affect_error *err);
void affect_mlm_acts_free(affect_mlm_acts *a);

/* Forward, loss and backward of the head on the M chosen positions of hidden (rows of H
 * floats, indexed by pos). Returns the mean cross-entropy in *loss. Gradients, each scaled
 * by `scale` (1/accumulation steps): the head's into g, the tied decoder's into gwte (V,H),
 * and d(hidden) into dhidden (all rows, zero where nothing was chosen; overwritten).
 * eps is the LayerNorm epsilon (the encoder's layer_norm_eps). */
void affect_mlm_step(const affect_mlm_params *p, affect_mlm_params *g, const float *wte,
                     float *gwte, affect_mlm_acts *a, const float *hidden, size_t rows,
                     const int32_t *pos, const int32_t *target, int M, int H, int V, float eps,
                     float scale, double *loss, float *dhidden);

/* The loss alone (evaluation): mean cross-entropy over the M positions, no gradients. */
double affect_mlm_loss(const affect_mlm_params *p, const float *wte, affect_mlm_acts *a,
                       const float *hidden, const int32_t *pos, const int32_t *target, int M,
                       int H, int V, float eps);

#endif
