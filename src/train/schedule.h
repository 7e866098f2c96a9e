/*
 * Learning-rate schedules, as Hugging Face transformers builds them for the Trainer:
 * lr(step) = base_lr * affect_lr_multiplier(kind, step, warmup, total), where `step` counts
 * optimizer steps already taken (torch's LambdaLR calls the lambda with 0 for the first
 * optimizer step, 1 for the second, ...).
 *
 *   linear  (get_linear_schedule_with_warmup):
 *     step < warmup: step / max(1, warmup)
 *     else:          max(0, (total - step) / max(1, total - warmup))
 *   cosine  (get_cosine_schedule_with_warmup, num_cycles = 0.5):
 *     step < warmup: step / max(1, warmup)
 *     else:          progress = (step - warmup) / max(1, total - warmup)
 *                    max(0, 0.5 * (1 + cos(pi * 2 * num_cycles * progress)))
 *   constant (get_constant_schedule_with_warmup):
 *     step < warmup: step / max(1, warmup), else 1
 *
 * Note the first step trains with lr 0 whenever warmup > 0, exactly as in HF.
 */
#ifndef AFFECT_TRAIN_SCHEDULE_H
#define AFFECT_TRAIN_SCHEDULE_H
#include <stdint.h>

typedef enum affect_lr_schedule {
    AFFECT_LR_LINEAR = 0,
    AFFECT_LR_COSINE = 1,
    AFFECT_LR_CONSTANT = 2
} affect_lr_schedule;

/* The multiplier for optimizer step `step` (0-based). num_cycles only matters for cosine
 * (HF default 0.5: one half-wave from 1 down to 0). */
double affect_lr_multiplier(affect_lr_schedule kind, int64_t step, int64_t warmup_steps,
                            int64_t total_steps, double num_cycles);

/* HF TrainingArguments.get_warmup_steps: warmup_steps if > 0, else
 * ceil(total_steps * warmup_ratio). Computed in double like Python's math.ceil. */
int64_t affect_warmup_steps(int64_t warmup_steps, double warmup_ratio, int64_t total_steps);

/* Parses "linear" / "cosine" / "constant" (also "constant_with_warmup"); returns -1 for
 * anything else. */
int affect_lr_schedule_from_name(const char *name);

#endif
