/* Global-norm gradient clipping and arena helpers: see clip.h. */
#include "train/clip.h"

#include <math.h>
#include <string.h>

double affect_grad_global_norm(const affect_fspan *spans, int nspans) {
    double ss = 0.0;
    for (int s = 0; s < nspans; s++) {
        const float *g = spans[s].data;
        for (size_t i = 0; i < spans[s].n; i++) ss += (double)g[i] * (double)g[i];
    }
    return sqrt(ss);
}

float affect_clip_grad_norm(affect_fspan *spans, int nspans, float max_norm) {
    float total = (float)affect_grad_global_norm(spans, nspans);
    if (!isfinite(total)) return total;
    float coef = (1.0f / (total + 1e-6f)) * max_norm;
    if (coef < 1.0f) {
        for (int s = 0; s < nspans; s++) affect_grads_scale(spans[s].data, spans[s].n, coef);
    }
    return total;
}

int affect_all_finite(const float *x, size_t n) {
    /* x - x is 0 for finite x and NaN for NaN/inf; one branch at the end keeps it fast. */
    float acc = 0.0f;
    for (size_t i = 0; i < n; i++) acc += x[i] - x[i];
    return acc == 0.0f;
}

void affect_grads_zero(float *g, size_t n) {
    if (n) memset(g, 0, n * sizeof *g);
}

void affect_grads_scale(float *g, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) g[i] *= scale;
}
