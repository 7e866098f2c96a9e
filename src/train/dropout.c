/* Inverted dropout with counter-addressed masks: see dropout.h. */
#include "train/dropout.h"

#include <string.h>

#include "train/rng.h"

/* The 1/(1-p) factor as torch computes it (a float division), 0 when everything drops. */
static float dropout_scale(float p) {
    return p >= 1.0f ? 0.0f : 1.0f / (1.0f - p);
}

/* Whether this call is the identity (evaluation or nothing to drop). */
static int dropout_is_identity(const affect_dropout *d) {
    return !d->training || d->p <= 0.0f;
}

/* Applies keep/scale to n values, generating the keep bits four at a time; `mask_out`
 * receives them when non-NULL, `mask_in` supplies them instead of the generator. */
static void dropout_apply(float *out, const float *in, uint8_t *mask_out, const uint8_t *mask_in,
                          size_t n, const affect_dropout *d) {
    const float scale = dropout_scale(d->p);
    if (d->p >= 1.0f) {
        for (size_t i = 0; i < n; i++) out[i] = 0.0f;
        if (mask_out) memset(mask_out, 0, n);
        return;
    }
    if (mask_in) {
        for (size_t i = 0; i < n; i++) out[i] = mask_in[i] ? in[i] * scale : 0.0f;
        return;
    }
    float u[64];
    for (size_t i0 = 0; i0 < n; i0 += 64) {
        size_t m = n - i0 < 64 ? n - i0 : 64;
        affect_rng_uniform_fill(u, m, d->seed, d->stream, d->first + i0);
        for (size_t k = 0; k < m; k++) {
            uint8_t keep = u[k] >= d->p;
            out[i0 + k] = keep ? in[i0 + k] * scale : 0.0f;
            if (mask_out) mask_out[i0 + k] = keep;
        }
    }
}

void affect_dropout_forward(float *out, uint8_t *mask, const float *in, size_t n,
                            const affect_dropout *d) {
    if (dropout_is_identity(d)) {
        if (out != in) memmove(out, in, n * sizeof *out);
        if (mask) memset(mask, 1, n);
        return;
    }
    dropout_apply(out, in, mask, NULL, n, d);
}

void affect_dropout_backward(float *din, const float *dout, const uint8_t *mask, size_t n,
                             const affect_dropout *d) {
    if (dropout_is_identity(d)) {
        if (din != dout) memmove(din, dout, n * sizeof *din);
        return;
    }
    dropout_apply(din, dout, NULL, mask, n, d);
}
