/*
 * The encoder's linear layers in the training step, on the core's panel GEMM kernels
 * (model/gemm.h: affect_linear_forward over panels packed each call, since the weights
 * change every optimizer step) and the core's parallel-for, instead of OpenBLAS.
 *
 * Why: on a machine with few cores, OpenBLAS's own worker threads (which busy-wait between
 * calls) and the training step's thread pool (attention, LayerNorm, GELU) compete for the
 * same cores and slow each other down; with every product on one pool they take turns.
 * Packing costs O(rows·cols) next to the product's O(rows·cols·tokens), and is threaded too.
 *
 * Each output element is summed by one task in an order fixed by the shapes (gemm.h), so
 * results are identical for every thread count.
 */
#ifndef AFFECT_TRAIN_LINEAR_TRAIN_H
#define AFFECT_TRAIN_LINEAR_TRAIN_H
#include <stddef.h>

/* Scratch for the encoder's layers (hidden H, FFN F) over up to `rows` tokens, with
 * maxc = max(3H, F): wpan: panels of one weight in either orientation, at: a transposed
 * dout, bpan: panels of one layer input. */
size_t train_linear_wpan_floats(int H, int F);
size_t train_linear_at_floats(int maxc, int rows);
size_t train_linear_bpan_floats(int maxc, int rows);

/* affect_pack_panels (model/gemm.h) with scale 1, faster; on the calling thread. */
void train_pack_panels(float *dst, const float *B, size_t ldb, int N, int K, int trans);

/* out (N,OC) = inp (N,C) · wᵀ + bias (+ residual (N,OC), which may be out); w (OC,C). */
void train_linear_forward(float *out, const float *inp, const float *w, const float *bias,
                          const float *residual, int N, int C, int OC, float *wpan);

/* As linear_backward (encoder_backward.h): dinp (N,C) = dout·w (overwritten, or added with
 * accumulate_dinp), dw (OC,C) += doutᵀ·inp, db (OC) += column sums of dout. */
void train_linear_backward(float *dinp, float *dw, float *db, const float *dout,
                           const float *inp, const float *w, int N, int C, int OC,
                           int accumulate_dinp, float *wpan, float *at, float *bpan);

#endif
