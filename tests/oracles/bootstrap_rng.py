"""The bootstrap resampling of src/eval/bootstrap.c, re-implemented from its documented rule
(src/eval/metrics.h): splitmix64, one stream per resample, rejection for an unbiased row
index. The metric and compare tests use it to reproduce affect's intervals exactly."""
import numpy as np

M64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def mix(z):
    z &= M64
    z ^= z >> 30
    z = (z * 0xBF58476D1CE4E5B9) & M64
    z ^= z >> 27
    z = (z * 0x94D049BB133111EB) & M64
    z ^= z >> 31
    return z


def resample_rows(seed, b, n):
    key = mix(seed + (b + 1) * GAMMA)
    reject_below = (1 << 64) % n
    rows, k = [], 0
    while len(rows) < n:
        k += 1
        u = mix(key + k * GAMMA)
        if u < reject_below:
            continue
        rows.append(u % n)
    return np.array(rows)
