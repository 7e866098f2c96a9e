/* Philox4x32-10: see rng.h for why training uses a counter-based generator. */
#include <math.h>
#include "train/rng.h"

#define PHILOX_M0 UINT32_C(0xD2511F53)
#define PHILOX_M1 UINT32_C(0xCD9E8D57)
#define PHILOX_W0 UINT32_C(0x9E3779B9)
#define PHILOX_W1 UINT32_C(0xBB67AE85)

/* Ten rounds of multiply-xor with a Weyl-sequence key schedule, exactly as Random123. */
void affect_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* One Philox block of the (seed, stream) sequence. */
static void rng_block(uint64_t seed, uint64_t stream, uint64_t block, uint32_t out[4]) {
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    const uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), (uint32_t)stream,
                             (uint32_t)(stream >> 32)};
    affect_philox4x32_10(ctr, key, out);
}

/* The top 24 bits scaled to [0, 1): exact in float, never 1.0. */
static float u32_to_unit(uint32_t x) {
    return (float)(x >> 8) * (1.0f / 16777216.0f);
}

uint32_t affect_rng_u32(uint64_t seed, uint64_t stream, uint64_t index) {
    uint32_t w[4];
    rng_block(seed, stream, index >> 2, w);
    return w[index & 3];
}

float affect_rng_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
    return u32_to_unit(affect_rng_u32(seed, stream, index));
}

void affect_rng_normal_fill(float *out, size_t n, uint64_t seed, uint64_t stream, float std) {
    const double two_pi = 6.28318530717958647692;
    for (size_t i = 0; i < n; i++) {
        double u1 = affect_rng_uniform(seed, stream, 2 * (uint64_t)i);
        double u2 = affect_rng_uniform(seed, stream, 2 * (uint64_t)i + 1);
        double r = sqrt(-2.0 * log(1.0 - u1)); /* 1 - u1 in (0, 1]: log is finite */
        out[i] = (float)(std * r * cos(two_pi * u2));
    }
}

void affect_rng_uniform_fill(float *out, uint64_t n, uint64_t seed, uint64_t stream,
                             uint64_t first) {
    uint64_t i = 0;
    while (i < n) {
        uint64_t idx = first + i;
        uint32_t w[4];
        rng_block(seed, stream, idx >> 2, w);
        for (unsigned k = (unsigned)(idx & 3); k < 4 && i < n; k++, i++)
            out[i] = u32_to_unit(w[k]);
    }
}
