/*
 * One training step of the EmotionModel (encoder -> pooling -> emotion + intensity heads),
 * the way a PyTorch/Hugging Face Trainer loop does it:
 *
 *   for each of accum_steps micro-batches:           affect_train_micro_step
 *       forward (training mode; dropout from the counter RNG when p > 0)
 *       loss = BCE + w_int·L1 + w_ms·MS
 *       backward of loss / accum_steps, gradients ADDED into the gradient arena
 *   affect_train_optimizer_step:
 *       norm = clip_grad_norm_(trained params, max_grad_norm)   (NaN/Inf: error, no update)
 *       AdamW with lr = lr0 · schedule(optimizer steps taken), HF no-decay groups
 *       gradients zeroed
 *
 * Losses, precisely (B rows of a micro-batch; masks are byte arrays, NULL = all 1):
 *   BCE  affect_bce_logits_forward(logits, labels, pos_weight, label_row, label_mask): mean
 *        over the (row, label) elements that have a target.
 *   L1   affect_l1_forward(intensity, target, intensity_row): mean over rows with a target
 *        (0, with zero gradient, when no row has one). The intensity output is the raw
 *        linear output (no squashing).
 *   MS   multi-similarity (train/loss.h, MEAN_ALL reduction) over the n LABELLED rows only
 *        (label_row set), computed on their emotion-head hidden features z = GELU(u), the
 *        post-GELU hidden of the emotion head (heads.h), L2-normalised inside the loss;
 *        pairs from label-set Jaccard (pos > ms_pos_threshold, neg == 0) on labels > 0.5;
 *        the mean divides by n. Skipped (0, no gradient) when n < ms_min_rows (default 4:
 *        "skipped when a batch has <= 3 labelled rows") or w_ms == 0.
 *   The torch twin is tests/test_grad_torch.py (loss_terms).
 *
 * Frozen encoder (freeze_encoder): the encoder runs forward only (no per-layer activations
 * kept unless dropout needs them), its backward is skipped entirely, its tensors take no
 * part in the gradient norm or AdamW (as torch parameters with requires_grad False: no
 * decay, no moment updates, their step counts stay). Unfreezing is the same trainer with
 * freeze_encoder 0; each tensor keeps its own AdamW step count as torch does.
 *
 * Layout: parameters, gradients and AdamW's m and v are four arenas of n_total floats with
 * one layout: the encoder's arena (model/encoder.h order) followed by the heads' (heads.h).
 * affect_trainer_tensor() enumerates every tensor with its checkpoint name — the family's
 * Hugging Face key ("bert.encoder.layer.0.attention.self.query.weight", the prefix from
 * affect_arch_prefix) or "heads.emotion.0.weight" etc. — its shape and its four pointers,
 * which is all a checkpoint writer needs.
 *
 * Threads: GEMMs use whatever affect_sgemm is installed (OpenBLAS natively); every other
 * loop is single-threaded in a fixed order, so a run is repeatable for a given GEMM.
 */
#ifndef AFFECT_TRAIN_TRAIN_STEP_H
#define AFFECT_TRAIN_TRAIN_STEP_H
#include <stddef.h>
#include <stdint.h>

#include "affect.h"
#include "model/config.h"
#include "model/encoder.h"
#include "model/tensors.h"
#include "train/adamw.h"
#include "train/encoder_backward.h"
#include "train/heads.h"
#include "train/loss.h"
#include "train/mlm.h"
#include "train/schedule.h"

/* One micro-batch. Targets may be absent per row (masks) or entirely (NULL arrays). */
typedef struct affect_train_batch {
    int B, T;
    const int32_t *ids;           /* (B,T) */
    const int32_t *mask;          /* (B,T) 1 = real token */
    const float *labels;          /* (B,L) multi-hot in [0,1], or NULL (no emotion targets) */
    const uint8_t *label_row;     /* (B) 1 = the row has emotion targets; NULL = all rows */
    const uint8_t *label_mask;    /* (B,L) per-element target mask, or NULL */
    const float *intensity;       /* (B) targets, or NULL (no intensity targets) */
    const uint8_t *intensity_row; /* (B) 1 = the row has an intensity target; NULL = all */
} affect_train_batch;

typedef struct affect_train_opts {
    int pool;                    /* AFFECT_POOL_MEAN (default) or AFFECT_POOL_CLS */
    const float *pos_weight;     /* (L) BCE pos_weight, or NULL (all 1) */
    float w_int;                 /* intensity_loss_weight (0.1) */
    float w_ms;                  /* metric_loss_weight (0.1) */
    affect_ms_params ms;         /* alpha 2, beta 5, base 0.4, MEAN_ALL */
    double ms_pos_threshold;     /* 0.15 */
    int ms_min_rows;             /* 4 */
    int freeze_encoder;          /* 1: heads only */
    float hidden_dropout;        /* 0 = off */
    float attn_dropout;          /* 0 = off */
    uint64_t seed;               /* dropout masks */
    double lr;                   /* peak learning rate */
    affect_lr_schedule schedule; /* linear (default) / cosine / constant */
    int64_t warmup_steps, total_steps;
    double num_cycles;           /* cosine only, 0.5 */
    affect_adamw_hparams adam;   /* betas, eps, weight decay (0.01) */
    float max_grad_norm;         /* <= 0: no clipping (the norm is still reported) */
    int accum_steps;             /* gradient_accumulation_steps, >= 1 */
} affect_train_opts;

/* The values above in parentheses; lr 5e-5, total_steps 1, warmup 0, seed 42. */
affect_train_opts affect_train_opts_defaults(void);

/* The loss of one micro-batch (unscaled by accumulation) and its parts. */
typedef struct affect_loss_parts {
    double loss, bce, l1, ms;
    int ms_used; /* 1 when the multi-similarity term was computed */
} affect_loss_parts;

/* What one optimizer step did. */
typedef struct affect_step_info {
    int64_t step;     /* 1-based number of this optimizer step */
    double lr;        /* learning rate it used */
    float grad_norm;  /* global norm of the trained gradients before clipping */
} affect_step_info;

/* One tensor of the trainable model, for checkpoint writers and optimizers. */
typedef struct affect_train_tensor {
    const char *name;  /* checkpoint name (family prefix included for the encoder) */
    int ndim;          /* 1 or 2 */
    int64_t shape[2];  /* PyTorch shape */
    size_t offset, n;  /* position and float count in each arena */
    float *param, *grad, *m, *v;
    int64_t adam_step; /* AdamW updates this tensor has received (torch's state['step']) */
    int decays;        /* 0 = HF no-decay group (biases, LayerNorm) */
    int encoder;       /* 1 = encoder tensor (frozen mode leaves it alone) */
} affect_train_tensor;

typedef struct affect_trainer affect_trainer;

/* A trainer for an encoder of config `cfg` with `num_labels` emotion labels; every arena
 * starts at zero (load or initialise the parameters next). */
int affect_trainer_new(affect_trainer **out, const affect_model_config *cfg, int num_labels,
                       affect_error *err);
/* A trainer whose arenas also hold the masked-LM head (train/mlm.h) after the heads (with a
 * 1-label emotion head that the masked-LM stage leaves untouched): the pretraining stage.
 * Its encoder tensors have the same names and layout as any other trainer's. */
int affect_trainer_new_mlm(affect_trainer **out, const affect_model_config *cfg, affect_error *err);
void affect_trainer_free(affect_trainer *tr);

/* Fills the encoder from a weights file's tensors (model/arch.h naming and checks). */
int affect_trainer_load_encoder(affect_trainer *tr, const affect_tensor_set *ts,
                                const char *source, affect_error *err);
/* Fills the heads from tensors named heads.* (shapes checked; a missing one is an error). */
int affect_trainer_load_heads(affect_trainer *tr, const affect_tensor_set *ts,
                              const char *source, affect_error *err);

/* Access to the arenas and the struct-of-pointers views of them. */
const affect_model_config *affect_trainer_config(const affect_trainer *tr);
int affect_trainer_num_labels(const affect_trainer *tr);
affect_encoder_params *affect_trainer_encoder(affect_trainer *tr, int grads);
affect_heads_params *affect_trainer_heads(affect_trainer *tr, int grads);
/* The masked-LM head's parameters or gradients; NULL for a trainer without one. */
affect_mlm_params *affect_trainer_mlm(affect_trainer *tr, int grads);
size_t affect_trainer_num_tensors(const affect_trainer *tr);
const affect_train_tensor *affect_trainer_tensor(const affect_trainer *tr, size_t i);
/* Optimizer steps taken so far (the schedule's counter). */
int64_t affect_trainer_step(const affect_trainer *tr);
/* Micro-batches run so far (the dropout RNG's stream counter). */
uint64_t affect_trainer_micro_steps(const affect_trainer *tr);
/* Restores the counters a checkpoint saved (train/checkpoint.c), so a resumed run takes the
 * same schedule, dropout streams and per-tensor AdamW bias corrections as an uninterrupted
 * one. adam_steps has affect_trainer_num_tensors() entries (tensor order); none may be
 * negative. */
int affect_trainer_restore_counters(affect_trainer *tr, int64_t opt_step, uint64_t micro,
                                    const int64_t *adam_steps, affect_error *err);

/* Forward + loss + backward of one micro-batch, adding (1/accum_steps)·gradient into the
 * gradient arena. A non-finite loss is AFFECT_EFORMAT naming the optimizer step and the
 * loss part (nothing is accumulated then). */
int affect_train_micro_step(affect_trainer *tr, const affect_train_batch *batch,
                            const affect_train_opts *o, affect_loss_parts *parts,
                            affect_error *err);

/* Clipping, AdamW and zeroing after the micro-batches of one step. A non-finite gradient
 * is AFFECT_EFORMAT naming the step and the first tensor holding one; the parameters are
 * then left unchanged (the gradients are zeroed so the caller may stop or skip). */
int affect_train_optimizer_step(affect_trainer *tr, const affect_train_opts *o,
                                affect_step_info *info, affect_error *err);

/* The whole step: n (= accum_steps) micro-batches, then the optimizer step. `parts` (n) may
 * be NULL; info may be NULL. */
int affect_train_step(affect_trainer *tr, const affect_train_batch *batches, int n,
                      const affect_train_opts *o, affect_loss_parts *parts,
                      affect_step_info *info, affect_error *err);

/* What the masking needs to know about the vocabulary. */
typedef struct affect_mlm_opts {
    const int32_t *special; /* ids never masked ([CLS], [SEP], [PAD], ...) */
    int n_special;
    int32_t mask_id;        /* [MASK] */
    double probability;     /* 0.15 */
} affect_mlm_opts;

/* The masked-LM twin of affect_train_micro_step on a trainer from affect_trainer_new_mlm:
 * masks ids (B,T) (train/mlm.h; the counter RNG under o->seed and the micro-batch number,
 * so a resumed run masks identically), runs the encoder in training mode, the head on the
 * chosen positions, and adds (1/accum_steps)·gradient of the mean cross-entropy into the
 * gradient arena (tied decoder into the word embeddings). o's loss weights and pos_weight
 * are not used. *loss is the micro-batch's loss, *n_masked (may be NULL) how many
 * positions it predicted. Follow with affect_train_optimizer_step. */
int affect_train_mlm_micro_step(affect_trainer *tr, const int32_t *ids, const int32_t *mask, int B, int T,
                                const affect_mlm_opts *mo, const affect_train_opts *o, double *loss,
                                int *n_masked, affect_error *err);
/* Eval-mode masked-LM loss of a batch masked under (seed, stream): the summed cross-entropy
 * into *loss_sum and the number of predicted positions into *n_masked (no dropout, no
 * gradients), for a held-out loss that is the same at every evaluation. */
int affect_trainer_mlm_eval(affect_trainer *tr, const int32_t *ids, const int32_t *mask, int B, int T,
                            const affect_mlm_opts *mo, uint64_t seed, uint64_t stream, double *loss_sum,
                            int *n_masked, affect_error *err);

/* Eval-mode forward of a batch (no dropout, nothing kept for backward): logits (B,L) and
 * intensity (B) (either may be NULL), for validation and tests. */
int affect_trainer_predict(affect_trainer *tr, const int32_t *ids, const int32_t *mask, int B,
                           int T, int pool, float *logits, float *intensity, affect_error *err);

#endif
