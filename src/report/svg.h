/* Small pieces the HTML report's inline SVG charts share: the AUC colour scale, axis ticks
 * and the number formats on them. Internal to src/report/. */
#ifndef AFFECT_REPORT_SVG_H
#define AFFECT_REPORT_SVG_H
#include <stddef.h>

/* The heatmap's colour scale for an AUC: ColorBrewer's diverging RdBu, red for low and blue
 * for high as in the research notebook's heatmap, white at 0.75; 0.5 (chance) and below are
 * the darkest red, 1.0 the darkest blue. Writes "#rrggbb". `dark_text` says whether text on
 * that colour should be dark (light backgrounds) for contrast. */
#define SVG_AUC_LOW 0.5
#define SVG_AUC_MID 0.75
#define SVG_AUC_HIGH 1.0
void svg_auc_color(double auc, char out[8], int *dark_text);
/* The colour at position t in [0,1] along the same scale (for the legend's gradient). */
void svg_scale_color(double t, char out[8]);

/* Up to `max` "nice" tick values (1, 2, 5 x 10^k steps) covering [lo, hi]. */
size_t svg_ticks_linear(double lo, double hi, int target, double *out, size_t max);
/* Ticks 1, 2, 5 x 10^k inside [lo, hi] (lo > 0) for a log axis. */
size_t svg_ticks_log(double lo, double hi, double *out, size_t max);

#endif
