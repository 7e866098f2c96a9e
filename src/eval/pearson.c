/* Pearson correlation, the official metric of emotion-intensity tasks (EmoInt). */
#include "eval/metrics.h"
#include <math.h>

/* Two passes (means first, then centred sums) rather than the one-pass textbook formula,
 * which cancels catastrophically when the scores sit far from zero with a small spread. */
double eval_pearson(const double *x, size_t sx, const double *y, size_t sy, size_t n) {
    if (n < 2) return NAN;
    /* exactly constant input is undefined (as scipy says); the centred sums below would
     * otherwise turn the rounding error of the mean into a meaningless r */
    int xc = 1, yc = 1;
    for (size_t i = 1; i < n; i++) {
        if (x[i * sx] != x[0]) xc = 0;
        if (y[i * sy] != y[0]) yc = 0;
    }
    if (xc || yc) return NAN;
    double mx = 0.0, my = 0.0;
    for (size_t i = 0; i < n; i++) { mx += x[i * sx]; my += y[i * sy]; }
    mx /= (double)n;
    my /= (double)n;
    double sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (size_t i = 0; i < n; i++) {
        double dx = x[i * sx] - mx, dy = y[i * sy] - my;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if (sxx == 0.0 || syy == 0.0) return NAN;
    double r = sxy / (sqrt(sxx) * sqrt(syy));
    if (r > 1.0) r = 1.0;
    if (r < -1.0) r = -1.0;
    return r;
}
