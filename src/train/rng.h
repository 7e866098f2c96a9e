/*
 * Counter-based random numbers for training (Philox4x32-10, Salmon et al. 2011, the
 * generator of Random123, cuRAND and JAX).
 *
 * Why counter-based: a value is a pure function of (seed, stream, index), so a dropout mask
 * is the same whether one thread or sixteen fill it, in whatever order, and the backward
 * pass can regenerate the mask instead of storing it. There is no generator state to carry,
 * split or checkpoint: a training step only has to remember its seed and stream numbers.
 *
 * Layout: key = the 64-bit seed (low word first); counter = (block low, block high, stream
 * low, stream high), where block = index / 4 and the index selects one of the 4 words a
 * block yields. Streams separate independent uses (e.g. one per dropout site per step).
 */
#ifndef AFFECT_TRAIN_RNG_H
#define AFFECT_TRAIN_RNG_H
#include <stddef.h>
#include <stdint.h>

/* The raw Philox4x32-10 bijection: 4 output words from a 4-word counter and 2-word key.
 * Matches Random123's published known-answer vectors. */
void affect_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Word number `index` of stream `stream` under `seed`. */
uint32_t affect_rng_u32(uint64_t seed, uint64_t stream, uint64_t index);

/* A float uniform on [0, 1) with 24 random bits (every value a multiple of 2^-24), the same
 * resolution torch uses for float32 uniforms. */
float affect_rng_uniform(uint64_t seed, uint64_t stream, uint64_t index);

/* Fills out[i] = affect_rng_uniform(seed, stream, first + i) for i < n, one Philox call per
 * 4 values. A caller that splits [0, n) between threads gets the same numbers. */
void affect_rng_uniform_fill(float *out, uint64_t n, uint64_t seed, uint64_t stream,
                             uint64_t first);

/* out[i] = std · N(0,1) from Box–Muller on uniforms 2i and 2i+1 of (seed, stream): the
 * weight initialisations use it, so a fresh model is a function of its seed alone. */
void affect_rng_normal_fill(float *out, size_t n, uint64_t seed, uint64_t stream, float std);
#endif
