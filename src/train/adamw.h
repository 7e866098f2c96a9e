/*
 * AdamW exactly as torch.optim.AdamW (torch 1.13, single-tensor path, amsgrad off), in
 * float32 with the same operation order, so a C training run follows a PyTorch one step for
 * step: 50 steps with two weight-decay groups and a changing lr are bit-identical to torch
 * 1.13 on x86-64 (tests/test_train_math_torch.py; it requires max |d| <= 1e-6, which holds
 * even where torch's kernels do not fuse multiply-adds). For step t (1-based):
 *
 *   p  = p * (1 - lr*wd)                          decoupled weight decay, first
 *   m  = fma(g, 1-beta1, m * beta1)
 *   v  = fma((1-beta2) * g, g, v * beta2)
 *   bc1 = 1 - beta1^t, bc2 = 1 - beta2^t          (double, as Python computes them)
 *   denom = sqrt(v) / sqrt(bc2) + eps
 *   p  = p + (-lr/bc1) * m / denom
 *
 * Scalars are computed in double and rounded to float once, as torch does when it passes a
 * Python float to a float32 kernel. Parameter groups: call the update once per tensor (or
 * per contiguous run of tensors) with that group's weight decay; affect_param_decays()
 * decides the group from the parameter name the way the HF Trainer does.
 */
#ifndef AFFECT_TRAIN_ADAMW_H
#define AFFECT_TRAIN_ADAMW_H
#include <stddef.h>
#include <stdint.h>

typedef struct affect_adamw_hparams {
    double beta1;        /* 0.9 */
    double beta2;        /* 0.999 */
    double eps;          /* 1e-8 */
    double weight_decay; /* torch default 0.01; HF Trainer default 0.0 */
} affect_adamw_hparams;

/* torch.optim.AdamW's defaults: betas (0.9, 0.999), eps 1e-8, weight_decay 0.01. */
affect_adamw_hparams affect_adamw_defaults(void);

/* One AdamW step over n values: param, m (exp_avg) and v (exp_avg_sq) are updated in place
 * (m and v start at zero). `step` is the 1-based number of this step (torch's state['step']
 * after its increment); `lr` is this step's learning rate (base lr times the schedule);
 * `decay` 0 turns weight decay off for this tensor (a no-decay group). */
void affect_adamw_update(float *param, const float *grad, float *m, float *v, size_t n,
                         const affect_adamw_hparams *h, double lr, int64_t step, int decay);

/* Whether the parameter called `name` (a Hugging Face state-dict key) gets weight decay.
 * Following the HF Trainer (get_decay_parameter_names: LayerNorm parameters and biases are
 * excluded), a name does NOT decay when
 *   - its last dotted component contains "bias" (".bias", "out_proj_bias"), or
 *   - any dotted component, case-insensitively, contains "layernorm" or "layer_norm"
 *     (BERT/RoBERTa "LayerNorm", DistilBERT "sa_layer_norm"/"output_layer_norm"), or is
 *     "ln" or starts with "ln_" or "ln" + digit (GPT-style "ln_f", "ln_1"), or is "norm".
 * Everything else (dense/attention/embedding weights, classifier weights) decays. */
int affect_param_decays(const char *name);

#endif
