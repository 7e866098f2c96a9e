/*
 * The optimizer step's memory-bound passes, fused and split across the parallel-for threads
 * (core/model/parallel.h), with results bit-identical to the serial helpers they replace:
 *
 *   serial (train/clip.c, train/adamw.c)           here
 *   norm = affect_grad_global_norm (1 pass)        affect_grad_norm_parallel (1 pass, threads)
 *   grads *= coef when clipping (1 pass)           \
 *   affect_adamw_update per tensor (1 pass)         > affect_adamw_fused: 1 pass, threads,
 *   affect_grads_zero (1 pass)                     /  AVX-512/AVX2 where the CPU has them
 *
 * For DistilBERT that is ~66M floats (the dense 30522x768 word-embedding gradient included)
 * read/written in 2 passes instead of 4, on every core, instead of 4 serial passes.
 *
 * Exactness. AdamW is elementwise: each value goes through the same float32 operations in
 * the same order as affect_adamw_update (g·coef first when clipping, as the separate scale
 * pass did; then decay, the two fused multiply-adds, IEEE sqrt and division, which SIMD
 * lanes round exactly as scalar code does), so parameters, m, v are bit-identical for any
 * thread count and any vector width. The norm is a double sum of float squares in fixed
 * 64K-value chunks added in chunk order (independent of the thread count, so a run stays
 * repeatable); its order differs from the one serial loop's only in double rounding
 * (~1e-16 relative), which survives the rounding to float32 of the norm torch-style
 * clipping uses only for values within 1e-16 of a float32 rounding boundary.
 */
#ifndef AFFECT_TRAIN_PARALLEL_ADAMW_H
#define AFFECT_TRAIN_PARALLEL_ADAMW_H
#include <stddef.h>
#include <stdint.h>

#include "train/adamw.h"
#include "train/clip.h"

/* affect_grad_global_norm over the spans, split across threads (see above for its order). */
double affect_grad_norm_parallel(const affect_fspan *spans, int nspans);

/* One tensor's share of a fused step: the arena pointers, its float count, and whether it
 * is updated (0: a frozen tensor, whose gradient is only zeroed), its AdamW step number
 * (1-based, already incremented) and whether it decays. */
typedef struct affect_adamw_item {
    float *param, *grad, *m, *v;
    size_t n;
    int update;
    int64_t step;
    int decay;
} affect_adamw_item;

/* For every item: when update, grad *= grad_scale (only if grad_scale != 1, i.e. clipping
 * applied: the product is taken exactly as affect_grads_scale takes it) then
 * affect_adamw_update(param, grad, m, v, n, h, lr, step, decay); then grad = 0 in every
 * case. Items must not overlap. */
void affect_adamw_fused(const affect_adamw_item *items, size_t nitems,
                        const affect_adamw_hparams *h, double lr, float grad_scale);

#endif
