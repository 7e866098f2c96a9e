/* The encoder's layer operations over flat float arrays, in the llm.c manner: each is a
 * `foo_forward(out, in, weights…, dims)` with the shapes in comments, no allocation, and
 * the intermediates a backward pass will need written to caller-owned buffers.
 *
 * Numerics follow PyTorch's eager path for BERT-family models: LayerNorm with biased
 * variance and eps inside the square root, exact erf GELU, softmax with masked keys at
 * probability 0 (what adding finfo(float32).min yields), linear layers as x·Wᵀ + b with W in
 * PyTorch's (out, in) layout. Every large product goes through affect_sgemm. */
#ifndef AFFECT_CORE_KERNELS_H
#define AFFECT_CORE_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/* out = inp · wᵀ + bias (+ residual).                  inp (N,C), w (OC,C), bias (OC) or NULL,
 * residual (N,OC) or NULL, out (N,OC); out may alias residual, never inp. */
void linear_forward(float *out, const float *inp, const float *w, const float *bias,
                    const float *residual, int N, int C, int OC);

/* Row-wise LayerNorm.                                  inp (N,C) -> out (N,C), out may alias inp;
 * mean, rstd (N) receive the statistics (either may be NULL for inference). */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                       const float *weight, const float *bias, int N, int C, float eps);

/* Exact GELU, 0.5·x·(1 + erf(x/√2)).                   inp (n) -> out (n), in place allowed. */
void gelu_forward(float *out, const float *inp, size_t n);

/* Multi-head self-attention core (no projections).
 *   qkv (B,T,3C): per token [q | k | v], head h at columns h·hs … (h+1)·hs
 *   mask (B,T): 1 = real key, 0 = padding (never attended to)
 *   att (B,NH,T,T): receives the softmax probabilities (kept for backward); with keep_att
 *                   0 it is only (T,T) scratch reused by every (batch, head) (inference)
 *   out (B,T,C): receives softmax(q·kᵀ/√hs) · v, heads concatenated
 * Padded query rows are computed like any other (Hugging Face defines them too). */
void attention_forward(float *out, float *att, const float *qkv, const int32_t *mask, int B,
                       int T, int C, int NH, int keep_att);

/* Pools a (B,T,C) batch into (B,C): pool 0 = mean over the real tokens (mask 1), pool 1 = the
 * first token. A row without real tokens pools to zeros. */
void pool_forward(float *out, const float *hidden, const int32_t *mask, int B, int T, int C,
                  int pool);

/* ---- inference-only twins (no statistics kept, SIMD math, threads) ----------------------
 * The training path above stays as it is (a backward pass reads its layout); these compute
 * the same functions to float rounding (vector exp/erf within ~2 ulp, other sum orders). */

/* layernorm_forward without mean/rstd, vectorized, rows split over the parallel-for. */
void layernorm_forward_infer(float *out, const float *inp, const float *weight,
                             const float *bias, int N, int C, float eps);

/* attention_forward for inference: the (batch, head) pairs are cut into `tasks` runs (each
 * with its own slice of `scratch`, run through the parallel-for), so `scratch` must hold
 * attention_infer_scratch_floats(T, C, NH, tasks) floats. */
size_t attention_infer_scratch_floats(int T, int C, int NH, int tasks);
void attention_forward_infer(float *out, const float *qkv, const int32_t *mask, int B, int T,
                             int C, int NH, float *scratch, int tasks);

#endif
