/*
 * The EmotionModel's two heads on top of the pooled encoder output (B,H):
 *
 *   emotion    u = pooled·W1ᵀ + b1 (H→H),  z = GELU(u),  logits = z·W2ᵀ + b2 (H→L)
 *   intensity  r = pooled·V1ᵀ + c1 (H→H),  s = GELU(r),  intensity = s·V2ᵀ + c2 (H→1)
 *
 * as PyTorch's nn.Sequential(nn.Linear(H,H), nn.GELU(), nn.Linear(H,out)), GELU in its exact
 * erf form. The "emotion-head hidden features" that the multi-similarity loss uses are z,
 * the post-GELU hidden of the emotion head, (B,H) (the loss L2-normalises them itself).
 *
 * Parameters: one float arena in the order of affect_heads_params (which is also the order
 * of the checkpoint names heads.emotion.0.weight, heads.emotion.0.bias, heads.emotion.2.*,
 * heads.intensity.0.*, heads.intensity.2.*: the nn.Sequential indices), gradients in a twin
 * arena with the same layout.
 */
#ifndef AFFECT_TRAIN_HEADS_H
#define AFFECT_TRAIN_HEADS_H
#include <stddef.h>
#include <stdint.h>

#include "affect.h"

#define AFFECT_HEADS_NPARAMS 8

typedef struct affect_heads_params {
    float *emo1w; // (H,H)  heads.emotion.0.weight
    float *emo1b; // (H)    heads.emotion.0.bias
    float *emo2w; // (L,H)  heads.emotion.2.weight
    float *emo2b; // (L)    heads.emotion.2.bias
    float *int1w; // (H,H)  heads.intensity.0.weight
    float *int1b; // (H)    heads.intensity.0.bias
    float *int2w; // (1,H)  heads.intensity.2.weight
    float *int2b; // (1)    heads.intensity.2.bias
} affect_heads_params;

/* Fills sizes[] (floats per tensor, struct order) and returns their sum (0 on overflow). */
size_t affect_heads_param_sizes(int H, int L, size_t sizes[AFFECT_HEADS_NPARAMS]);
void affect_heads_params_point(affect_heads_params *p, float *arena,
                               const size_t sizes[AFFECT_HEADS_NPARAMS]);

/* Checkpoint name, ndim and PyTorch shape of tensor i (struct order). */
const char *affect_heads_param_name(int i);
void affect_heads_param_shape(int i, int H, int L, int *ndim, int64_t shape[2]);

/* Initialises like a fresh Hugging Face head: weights normal(0, std) (std 0.02 =
 * initializer_range) from the counter RNG under `seed`, hidden biases 0; the emotion output
 * bias to the log prior odds log(p/(1-p)) of each label (prior (L), clamped to
 * [1e-4, 1-1e-4]; NULL = 0), the intensity output bias to `intensity_median`. */
void affect_heads_init(affect_heads_params *p, int H, int L, uint64_t seed, float std,
                       const float *prior, float intensity_median);

/* Activations of one heads forward for B rows. */
typedef struct affect_heads_acts {
    int B;
    float *emo_pre;   // (B,H) u
    float *emo_hid;   // (B,H) z = GELU(u): the multi-similarity features
    float *logits;    // (B,L)
    float *int_pre;   // (B,H) r
    float *int_hid;   // (B,H) s
    float *intensity; // (B)
    float *dhid;      // (B,H) scratch of the backward
    float *arena;
    size_t cap;
} affect_heads_acts;

int affect_heads_acts_alloc(affect_heads_acts *a, int B, int H, int L, affect_error *err);
void affect_heads_acts_free(affect_heads_acts *a);

/* pooled (B,H) -> a->logits (B,L), a->intensity (B). */
void affect_heads_forward(const affect_heads_params *p, affect_heads_acts *a,
                          const float *pooled, int B, int H, int L);

/* Adds the heads' parameter gradients into g and writes dpooled (B,H) (may be NULL: frozen
 * encoder) from the upstream gradients: dlogits (B,L), dintensity (B) (NULL = 0) and
 * dfeat (B,H) = an extra gradient on z (the multi-similarity loss; NULL = 0). */
void affect_heads_backward(const affect_heads_params *p, affect_heads_params *g,
                           affect_heads_acts *a, const float *pooled, const float *dlogits,
                           const float *dintensity, const float *dfeat, float *dpooled, int B,
                           int H, int L);

#endif
