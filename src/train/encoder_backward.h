/*
 * The encoder's backward pass (BERT, DistilBERT, RoBERTa share it), llm.c style: one
 * `foo_backward(dinp, dweights…, dout, inp, weights…, dims)` per layer operation over flat
 * float arrays, and one driver that walks the layers top-down reading the activations the
 * training-mode forward (affect_encoder_acts with per_layer = 1) left behind.
 *
 * Gradients live in an affect_encoder_params struct pointed into a gradient arena with the
 * parameter arena's exact layout (affect_encoder_params_point over a second arena), and are
 * ACCUMULATED (+=), so gradient accumulation over micro-batches is simply "do not zero".
 * The word-embedding gradient is sparse-friendly: only the rows of ids that occur in the
 * batch are touched (cost B·T·H, never V·H).
 *
 * Dropout (training only): hidden dropout after the embedding LayerNorm, on the attention
 * output projection and on the FFN output (before each residual add), attention dropout on
 * the softmax probabilities, all as Hugging Face places them. Masks are never stored: each
 * is regenerated from (seed, stream) by the counter RNG (train/dropout.h), stream =
 * base + site, sites numbered 0 = embeddings, then per layer l: 1+3l attention
 * probabilities, 2+3l attention output, 3+3l FFN output (AFFECT_ENC_DROPOUT_SITES(L) in all).
 * With both probabilities 0, affect_encoder_forward_train computes affect_encoder_forward
 * (to float rounding: threaded vector kernels, see attention_train.h and train_kernels.h).
 *
 * Oracle: tests/test_grad_torch.py (float64 torch.autograd of tests/oracles/torch_ref.py).
 */
#ifndef AFFECT_TRAIN_ENCODER_BACKWARD_H
#define AFFECT_TRAIN_ENCODER_BACKWARD_H
#include <stddef.h>
#include <stdint.h>

#include "affect.h"
#include "model/config.h"
#include "model/encoder.h"

#define AFFECT_ENC_DROPOUT_SITES(L) (1 + 3 * (uint64_t)(L))

/* Dropout settings of one forward/backward pair; the backward must get the same values. */
typedef struct affect_enc_dropout {
    float hidden;    /* hidden_dropout_prob (DistilBERT: dropout) */
    float attn;      /* attention_probs_dropout_prob (DistilBERT: attention_dropout) */
    uint64_t seed;   /* the run's seed */
    uint64_t stream; /* first stream of this micro-batch (e.g. micro_index · SITES) */
} affect_enc_dropout;

/* Scratch the training forward and backward need for one (B,T): a few (B,T,H)-sized
 * gradients, (B,T,3H), (B,T,F), the per-task attention workspace (three (T,T) tiles and
 * two head panels per task, attention_train.h) and the linear layers' packed operands
 * (about two (B,T,max(3H,F)) buffers, linear_train.h). Zero the struct before the first alloc. */
typedef struct affect_encoder_grad_scratch {
    int B, T;
    float *dA, *dB, *dC, *dD; /* (B,T,H) each */
    float *dqkv;              /* (B,T,3H) */
    float *dfch;              /* (B,T,F) */
    float *attw;              /* train_attention_scratch_floats(T, H/NH, att_tasks) */
    int att_tasks;            /* tasks the attention's (batch, head) pairs are cut into */
    float *lin_w, *lin_at, *lin_b; /* linear layers' panels and transposed dout (linear_train.h) */
    float *arena;
    size_t cap;
} affect_encoder_grad_scratch;

int affect_encoder_grad_scratch_alloc(affect_encoder_grad_scratch *s,
                                      const affect_model_config *cfg, int B, int T,
                                      affect_error *err);
void affect_encoder_grad_scratch_free(affect_encoder_grad_scratch *s);

/* The training forward: affect_encoder_forward plus dropout (NULL or zero probabilities:
 * the same function, to float rounding). `a` must have been allocated with per_layer = 1
 * when dropout is on or a backward will follow (per_layer 0 runs affect_encoder_forward).
 * `s` is scratch (grown as needed). */
int affect_encoder_forward_train(const affect_model_config *cfg, const affect_encoder_params *p,
                                 affect_encoder_acts *a, const int32_t *ids,
                                 const int32_t *mask, const affect_enc_dropout *drop,
                                 affect_encoder_grad_scratch *s, affect_error *err);

/* The backward pass: given dout (B,T,H) = d(loss)/d(last hidden states), adds every
 * parameter's gradient into g. dout is read only. `a` holds the activations of the forward
 * of the same batch (per_layer = 1), `drop` the same dropout settings (or NULL). */
int affect_encoder_backward(const affect_model_config *cfg, const affect_encoder_params *p,
                            affect_encoder_params *g, const affect_encoder_acts *a,
                            const int32_t *ids, const int32_t *mask, const float *dout,
                            const affect_enc_dropout *drop, affect_encoder_grad_scratch *s,
                            affect_error *err);

/* ---- layer backward kernels (exposed for tests and the heads) ---------------------------- */

/* Linear layer out = inp·wᵀ + b.   dout (N,OC), inp (N,C), w (OC,C).
 * dinp (N,C) = dout·w, overwritten (accumulate_dinp 0) or added to (1); may be NULL.
 * dw (OC,C) += doutᵀ·inp and db (OC) += Σ_rows dout; either may be NULL. */
void linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                     const float *w, int N, int C, int OC, int accumulate_dinp);

/* Row-wise LayerNorm.   dout, inp (N,C), mean, rstd (N) from the forward, weight (C).
 * dinp (N,C) is overwritten (it may alias dout); dweight, dbias (C) are added to. */
void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *mean, const float *rstd,
                        const float *weight, int N, int C);

/* Exact erf GELU: dinp = dout · (Φ(x) + x·φ(x)).   inp, dout, dinp (n); dinp may alias dout. */
void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n);

/* Pooling backward: dhidden (B,T,C) is overwritten from dpooled (B,C): pool 0 (masked mean)
 * spreads dpooled/n over the n real tokens, pool 1 (first token) puts it at t = 0; every
 * other position gets 0. */
void pool_backward(float *dhidden, const float *dpooled, const int32_t *mask, int B, int T,
                   int C, int pool);

#endif
