/*
 * Gradient arena housekeeping: global-norm clipping (torch.nn.utils.clip_grad_norm_), a
 * finiteness check, and the scale/zero helpers that gradient accumulation needs.
 *
 * Gradients live in one or more flat float arenas (llm.c style); a list of spans names the
 * pieces that form "all parameters" for the global norm.
 *
 * Accumulation is the caller's job: zero the arena before the first micro-batch
 * (affect_grads_zero), let each backward add into it, and either scale each micro-batch's
 * loss gradient by 1/accum_steps or call affect_grads_scale(…, 1/accum_steps) once before
 * clipping — the same thing the HF Trainer does by dividing the loss.
 */
#ifndef AFFECT_TRAIN_CLIP_H
#define AFFECT_TRAIN_CLIP_H
#include <stddef.h>

typedef struct affect_fspan {
    float *data; /* (n) */
    size_t n;
} affect_fspan;

/* The L2 norm of all values in all spans, accumulated in double. NaN if any value is NaN,
 * +inf if any is infinite (or the sum overflows double, which float inputs cannot). */
double affect_grad_global_norm(const affect_fspan *spans, int nspans);

/* torch.nn.utils.clip_grad_norm_(params, max_norm) with norm_type 2:
 *   total = ||all grads||_2 (as float32),
 *   coef  = max_norm * (1 / (total + 1e-6))  (float32, torch's order of operations),
 *   grads *= coef when coef < 1 (torch multiplies by min(coef, 1); ×1 is the identity).
 * Returns the total norm before clipping. Deviation from torch, on purpose: when the norm
 * is NaN or infinite the gradients are left untouched (torch would turn them all into NaN
 * or zero); the caller should test the returned norm with isfinite() and skip the step. */
float affect_clip_grad_norm(affect_fspan *spans, int nspans, float max_norm);

/* 1 if every value of x (n) is finite, 0 if any is NaN or ±inf. */
int affect_all_finite(const float *x, size_t n);

/* g (n) = 0. */
void affect_grads_zero(float *g, size_t n);

/* g (n) *= scale. */
void affect_grads_scale(float *g, size_t n, float scale);

#endif
