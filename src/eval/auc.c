/* ROC AUC exactly as scikit-learn's roc_auc_score defines it, including ties. */
#include "eval/metrics.h"
#include "core/util/error.h"
#include <math.h>

/* Trapezoid over distinct thresholds, kept in integers: each run of equal scores adds
 * dfp * (tp_before + tp_after), twice the trapezoid's area in count units, so ties cost
 * half a pair as with average ranks and no rounding happens until the final division.
 * Weights stand for repeated rows, which is what a bootstrap resample is. */
double eval_ranking_auc(const eval_ranking *r, const uint32_t *w) {
    uint64_t tp = 0, fp = 0, tg = 0, fg = 0, twice_area = 0;
    for (size_t i = 0; i < r->n; i++) {
        uint64_t wi = w ? w[r->row[i]] : 1;
        if (r->pos[i]) tg += wi; else fg += wi;
        if (r->last[i]) {
            twice_area += fg * (2 * tp + tg);
            tp += tg;
            fp += fg;
            tg = fg = 0;
        }
    }
    if (tp == 0 || fp == 0) return NAN;
    return (double)twice_area / (2.0 * (double)tp * (double)fp);
}

/* For callers with one column and no reuse of the sort. */
int eval_roc_auc(const double *scores, const double *y, size_t n, size_t stride, double *out,
                 affect_error *err) {
    eval_ranking r;
    int rc = eval_ranking_build(&r, scores, y, n, stride, 1, err);
    if (rc) return rc;
    *out = eval_ranking_auc(&r, NULL);
    eval_ranking_free(&r);
    return 0;
}
