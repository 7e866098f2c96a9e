/*
 * The elementwise and row-wise kernels of the training step, threaded over the core's
 * parallel-for hook (model/parallel.h) and vectorized (model/simd_math.h for erf/exp/GELU,
 * multi-accumulator loops the compiler vectorizes for the sums).
 *
 * Repeatability: every output element is computed by one task in an order fixed by the
 * shapes alone (rows are independent; column sums run over all rows in row order inside a
 * task that owns a range of columns), so results are identical for every thread count and
 * every run. They differ from the scalar reference loops only by float rounding (vector
 * erf/exp within ~2 ulp, sums in 16 partial accumulators).
 */
#ifndef AFFECT_TRAIN_TRAIN_KERNELS_H
#define AFFECT_TRAIN_TRAIN_KERNELS_H
#include <stddef.h>

/* How many tasks to cut `work` floats of streaming work into (1 when serial or small, a
 * few per thread otherwise), never more than `most` (>= 1 returned). */
int train_tasks_for(size_t work, int most);

/* LayerNorm forward keeping the statistics the backward needs.   inp, out (N,C) (out may
 * alias inp), mean, rstd (N), weight, bias (C). Two-pass mean and biased variance. */
void train_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                             const float *weight, const float *bias, int N, int C, float eps);

/* LayerNorm backward: dinp (N,C) overwritten (may alias dout); dweight, dbias (C) added to. */
void train_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                              const float *inp, const float *mean, const float *rstd,
                              const float *weight, int N, int C);

/* Exact erf GELU forward (out may alias inp) and backward dinp = dout·(Φ(x) + x·φ(x))
 * (dinp may alias dout). */
void train_gelu_forward(float *out, const float *inp, size_t n);
void train_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n);

/* db (OC) += Σ over the N rows of dout (N,OC): the bias gradient of a linear layer. */
void train_colsum_add(float *db, const float *dout, int N, int OC);

#endif
