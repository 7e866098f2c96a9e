/*
 * Inverted dropout (as torch.nn.functional.dropout): in training each element is kept with
 * probability 1-p and scaled by 1/(1-p), so evaluation needs no rescaling; in evaluation
 * (or p == 0) the input passes through unchanged; p >= 1 zeroes everything.
 *
 * The keep decision for element i is affect_rng_uniform(seed, stream, first + i) >= p, a pure
 * function of its coordinates (see rng.h). So
 *   - masks are identical for any thread count or chunking of [0, n), and
 *   - the backward pass can regenerate the mask from (seed, stream, first) instead of
 *     storing it: pass mask = NULL to both calls. Passing a byte mask stores it in forward
 *     and reads it in backward (faster backward, n bytes of memory).
 * The masks are NOT the ones torch would draw (torch's CPU generator is a Mersenne twister);
 * only the distribution and scaling match.
 */
#ifndef AFFECT_TRAIN_DROPOUT_H
#define AFFECT_TRAIN_DROPOUT_H
#include <stddef.h>
#include <stdint.h>

typedef struct affect_dropout {
    float p;         /* drop probability, 0 <= p <= 1 */
    int training;    /* 0: identity */
    uint64_t seed;   /* the run's seed */
    uint64_t stream; /* distinct per dropout site and step, e.g. step * sites + site */
    uint64_t first;  /* counter of element 0 (lets a caller address a slice of a tensor) */
} affect_dropout;

/* out (n) = dropout(in (n)); out may alias in. mask (n), if non-NULL, receives 1 = kept,
 * 0 = dropped (all 1 when not training or p == 0). */
void affect_dropout_forward(float *out, uint8_t *mask, const float *in, size_t n,
                            const affect_dropout *d);

/* din (n) = d(loss)/d(in) from dout (n): dout * keep * 1/(1-p). mask is the forward's mask
 * or NULL to regenerate it from d (which must equal the forward's). din may alias dout. */
void affect_dropout_backward(float *din, const float *dout, const uint8_t *mask, size_t n,
                             const affect_dropout *d);

#endif
