/* Colour scale and axis ticks for the report's charts (see svg.h). */
#include "report/svg.h"
#include <math.h>
#include <stdio.h>

/* ColorBrewer RdBu, 11 classes, from red (low) to blue (high). */
static const unsigned char RDBU[11][3] = {
    {0x67, 0x00, 0x1f}, {0xb2, 0x18, 0x2b}, {0xd6, 0x60, 0x4d}, {0xf4, 0xa5, 0x82}, {0xfd, 0xdb, 0xc7}, {0xf7, 0xf7, 0xf7},
    {0xd1, 0xe5, 0xf0}, {0x92, 0xc5, 0xde}, {0x43, 0x93, 0xc3}, {0x21, 0x66, 0xac}, {0x05, 0x30, 0x61}};

/* Linear interpolation between neighbouring stops, in sRGB (matplotlib does the same). */
void svg_scale_color(double t, char out[8]) {
    if (!(t >= 0.0)) t = 0.0;
    if (t > 1.0) t = 1.0;
    double x = t * 10.0;
    int k = (int)floor(x);
    if (k >= 10) k = 9;
    double f = x - k;
    int rgb[3];
    for (int c = 0; c < 3; c++) rgb[c] = (int)lround(RDBU[k][c] + (RDBU[k + 1][c] - RDBU[k][c]) * f);
    snprintf(out, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

void svg_auc_color(double auc, char out[8], int *dark_text) {
    double t = (auc - SVG_AUC_LOW) / (SVG_AUC_HIGH - SVG_AUC_LOW);
    if (!(t >= 0.0)) t = 0.0;
    if (t > 1.0) t = 1.0;
    svg_scale_color(t, out);
    if (dark_text) *dark_text = t > 0.22 && t < 0.78;
}

size_t svg_ticks_linear(double lo, double hi, int target, double *out, size_t max) {
    if (!(hi > lo) || target < 1 || max == 0) return 0;
    double raw = (hi - lo) / target, mag = pow(10.0, floor(log10(raw))), step = mag;
    if (raw / mag > 5) step = 10 * mag;
    else if (raw / mag > 2) step = 5 * mag;
    else if (raw / mag > 1) step = 2 * mag;
    size_t n = 0;
    for (double v = ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9 && n < max; v += step)
        out[n++] = fabs(v) < step * 1e-9 ? 0.0 : v;
    return n;
}

size_t svg_ticks_log(double lo, double hi, double *out, size_t max) {
    if (!(lo > 0) || !(hi > lo)) return 0;
    size_t n = 0;
    static const double m[] = {1, 2, 5};
    for (int e = (int)floor(log10(lo)); e <= (int)ceil(log10(hi)) && n < max; e++)
        for (int k = 0; k < 3 && n < max; k++) {
            double v = m[k] * pow(10.0, e);
            if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out[n++] = v;
        }
    return n;
}
