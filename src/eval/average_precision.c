/* Average precision exactly as scikit-learn's average_precision_score defines it. */
#include "eval/metrics.h"
#include "core/util/error.h"
#include <math.h>

/* Step-wise sum over distinct thresholds, highest first: each run of equal scores adds its
 * recall gain times the precision after taking the whole run (no interpolation, a run of
 * ties is one operating point). Undefined without positives, where recall means nothing. */
double eval_ranking_ap(const eval_ranking *r, const uint32_t *w) {
    uint64_t tp = 0, fp = 0, tg = 0, fg = 0;
    double sum = 0.0;
    for (size_t i = 0; i < r->n; i++) {
        uint64_t wi = w ? w[r->row[i]] : 1;
        if (r->pos[i]) tg += wi; else fg += wi;
        if (r->last[i]) {
            tp += tg;
            fp += fg;
            if (tg) sum += (double)tg * ((double)tp / (double)(tp + fp));
            tg = fg = 0;
        }
    }
    if (tp == 0) return NAN;
    return sum / (double)tp;
}

/* For callers with one column and no reuse of the sort. */
int eval_average_precision(const double *scores, const double *y, size_t n, size_t stride,
                           double *out, affect_error *err) {
    eval_ranking r;
    int rc = eval_ranking_build(&r, scores, y, n, stride, 1, err);
    if (rc) return rc;
    *out = eval_ranking_ap(&r, NULL);
    eval_ranking_free(&r);
    return 0;
}
