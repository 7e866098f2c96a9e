/* The transformer encoder shared by BERT, DistilBERT and RoBERTa: embeddings, then L
 * post-LayerNorm blocks (self-attention, residual, LN, GELU FFN, residual, LN).
 *
 * Memory follows llm.c: all parameters live in ONE float arena with a struct of pointers into
 * it (the gradients of training use the same layout over a second arena), and all
 * activations of a forward pass for a given (B,T) live in another. The three families differ
 * only in their checkpoint names (arch.c), position ids (RoBERTa counts from pad+1) and
 * whether token-type embeddings exist (DistilBERT has none).
 *
 *     affect_encoder_params p; size_t sizes[AFFECT_ENC_NPARAMS];
 *     size_t n = affect_encoder_param_sizes(cfg, sizes);
 *     float *arena = calloc(n, sizeof(float));
 *     affect_encoder_params_point(&p, arena, sizes);
 *     affect_encoder_acts a; affect_encoder_acts_alloc(&a, cfg, B, T, 0, &err);
 *     affect_encoder_forward(cfg, &p, &a, ids, mask, &err);
 *     const float *h = affect_encoder_output(&a, cfg);   // (B,T,H) */
#ifndef AFFECT_CORE_ENCODER_H
#define AFFECT_CORE_ENCODER_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"
#include "config.h"
#include "gemm.h"

#define AFFECT_ENC_NPARAMS 17

/* Per-layer tensors are stacked over L. Q, K and V are fused row-wise into one (3H,H) matrix
 * so the projection is a single GEMM; arch.c maps the checkpoint's three tensors onto it. */
typedef struct affect_encoder_params {
    float *wte;      // (V,H)   word embeddings
    float *wpe;      // (P,H)   position embeddings
    float *wtt;      // (TV,H)  token-type embeddings; NULL when TV == 0 (DistilBERT)
    float *emb_lnw;  // (H)
    float *emb_lnb;  // (H)
    float *qkvw;     // (L,3H,H) rows: query, key, value
    float *qkvb;     // (L,3H)
    float *attprojw; // (L,H,H)
    float *attprojb; // (L,H)
    float *ln1w;     // (L,H)   after attention
    float *ln1b;     // (L,H)
    float *fcw;      // (L,F,H)
    float *fcb;      // (L,F)
    float *fcprojw;  // (L,H,F)
    float *fcprojb;  // (L,H)
    float *ln2w;     // (L,H)   after the FFN
    float *ln2b;     // (L,H)
} affect_encoder_params;

/* Fills sizes[] (floats per tensor, in struct order) and returns their sum. */
size_t affect_encoder_param_sizes(const affect_model_config *cfg, size_t sizes[AFFECT_ENC_NPARAMS]);
/* Points every member of p into `arena` (laid out as sizes[] says); a size 0 gives NULL. */
void affect_encoder_params_point(affect_encoder_params *p, float *arena,
                                 const size_t sizes[AFFECT_ENC_NPARAMS]);

/* Activations of one forward pass. With per_layer set (training) every layer keeps its own
 * buffers, indexed l·(size of one layer); otherwise (inference) all layers share one set,
 * ln2 aliases x0, fch_gelu aliases fch, res2 aliases res1, and att is one (T,T) scratch. */
typedef struct affect_encoder_acts {
    int B, T, per_layer;
    int32_t *pos;     // (B,T)      position ids
    float *emb;       // (B,T,H)    word + type + position, before LayerNorm
    float *emb_mean;  // (B,T)
    float *emb_rstd;  // (B,T)
    float *x0;        // (B,T,H)    embedding output = input of layer 0
    float *qkv;       // (L,B,T,3H)
    float *att;       // (L,B,NH,T,T) attention probabilities; inference: (T,T) scratch
    float *atty;      // (L,B,T,H)  attention context, before the output projection
    float *res1;      // (L,B,T,H)  layer input + attention output (LN1 input)
    float *ln1;       // (L,B,T,H)
    float *ln1_mean;  // (L,B,T)
    float *ln1_rstd;  // (L,B,T)
    float *fch;       // (L,B,T,F)  FFN pre-activation
    float *fch_gelu;  // (L,B,T,F)
    float *res2;      // (L,B,T,H)  LN1 output + FFN output (LN2 input)
    float *ln2;       // (L,B,T,H)  layer outputs; the last one is the encoder's output
    float *ln2_mean;  // (L,B,T)
    float *ln2_rstd;  // (L,B,T)
    float *arena;     // owns everything above
    size_t cap;       // floats in arena
} affect_encoder_acts;

/* Allocates (or, when the existing arena is big enough, re-points) the activations for a
 * (B,T) batch. `a` must be zeroed before its first use. Checks every size product for
 * overflow. */
int affect_encoder_acts_alloc(affect_encoder_acts *a, const affect_model_config *cfg, int B,
                              int T, int per_layer, affect_error *err);
void affect_encoder_acts_free(affect_encoder_acts *a);

/* The full forward pass. ids and mask are (B,T); ids must lie in [0, V) and T must fit the
 * position table (RoBERTa: T <= P - pad - 1), else AFFECT_EARG. */
int affect_encoder_forward(const affect_model_config *cfg, const affect_encoder_params *p,
                           affect_encoder_acts *a, const int32_t *ids, const int32_t *mask,
                           affect_error *err);

/* Training support (additive, used by src/train/encoder_backward.c): only the embedding
 * stage of affect_encoder_forward (same checks and errors), leaving pos, emb, emb_mean,
 * emb_rstd and x0 filled. */
int affect_encoder_embed_forward(const affect_model_config *cfg, const affect_encoder_params *p,
                                 affect_encoder_acts *a, const int32_t *ids, affect_error *err);

/* Inference copies of the four linear weights of every layer, repacked once (gemm.h) for
 * the SIMD kernels. They are snapshots: after the parameters change (training), pack again. */
typedef struct affect_encoder_packed {
    int layers;
    affect_packed_w *w; /* (L,4): qkv, attention output, FFN in, FFN out */
} affect_encoder_packed;

int affect_encoder_pack(affect_encoder_packed *pk, const affect_model_config *cfg,
                        const affect_encoder_params *p, affect_error *err);
void affect_encoder_packed_free(affect_encoder_packed *pk);

/* affect_encoder_forward for inference (a->per_layer must be 0) with packed weights: the same
 * function to float rounding, with fused bias/residual/GELU, vector math and threads. */
int affect_encoder_forward_packed(const affect_model_config *cfg, const affect_encoder_params *p,
                                  const affect_encoder_packed *pk, affect_encoder_acts *a,
                                  const int32_t *ids, const int32_t *mask, affect_error *err);

/* Longest sequence the position table allows (BERT/DistilBERT: P; RoBERTa: P - pad - 1). */
int affect_encoder_max_length(const affect_model_config *cfg);

/* The last layer's hidden states (B,T,H) after a forward pass. */
const float *affect_encoder_output(const affect_encoder_acts *a, const affect_model_config *cfg);

#endif
