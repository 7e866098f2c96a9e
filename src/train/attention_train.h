/*
 * Multi-head self-attention of the training step, forward (keeping the probabilities) and
 * backward, with the (batch, head) pairs split across the core's parallel-for
 * (model/parallel.h) and every small per-head product computed by the core's single-threaded
 * panel GEMM (affect_gemm_panels) instead of one multithreaded BLAS call per tiny product.
 *
 * Each pair is computed by one task in a fixed order, with a scratch slot of its task, so
 * results do not depend on the thread count or on which thread runs a task. The function is
 * the one of kernels.h's attention_forward (masked keys at probability 0, fully masked rows
 * uniform) with dropout on the probabilities as encoder_backward.h describes; it rounds a
 * little differently (1/√hs is folded into K or into dS's operands, vector exp).
 */
#ifndef AFFECT_TRAIN_ATTENTION_TRAIN_H
#define AFFECT_TRAIN_ATTENTION_TRAIN_H
#include <stddef.h>
#include <stdint.h>

#include "train/dropout.h"

/* Floats of scratch for `tasks` tasks at sequence length T and head size hs. */
size_t train_attention_scratch_floats(int T, int hs, int tasks);
/* Tasks to cut the pairs into for the current thread count (1 serial, else a few per thread). */
int train_attention_tasks(void);

/* qkv (B,T,3C), mask (B,T) -> att (B,NH,T,T) probabilities (before dropout), out (B,T,C) =
 * dropout(att)·V. ad is the attention dropout site (element counter bh·T·T + i). */
void train_attention_forward(float *out, float *att, const float *qkv, const int32_t *mask,
                             int B, int T, int C, int NH, const affect_dropout *ad,
                             float *scratch, int tasks);

/* dout (B,T,C) -> dqkv (B,T,3C), overwritten; att and ad as the forward left/used them. */
void train_attention_backward(float *dqkv, const float *dout, const float *qkv,
                              const float *att, int B, int T, int C, int NH,
                              const affect_dropout *ad, float *scratch, int tasks);

#endif
