/* ROC curves from predictions: the exact step points scikit-learn's roc_curve would give
 * (with drop_intermediate=False), using the metrics library's ranking so ties form one step. */
#include "report/compare.h"
#include "eval/metrics.h"
#include "core/util/error.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void report_roc_free(report_roc *roc) {
    if (!roc) return;
    free(roc->fpr);
    free(roc->tpr);
    memset(roc, 0, sizeof *roc);
}

/* One point per run of equal scores, starting at (0,0); the area is the trapezoid sum, which
 * equals eval_ranking_auc on the same column (the test checks it against per_label_auc). */
int report_roc_compute(report_roc *roc, const double *scores, const double *y, size_t n,
                       size_t stride, affect_error *err) {
    memset(roc, 0, sizeof *roc);
    eval_ranking r;
    int rc = eval_ranking_build(&r, scores, y, n, stride, 1, err);
    if (rc) return rc;
    if (r.n_pos == 0 || r.n_neg == 0) {
        eval_ranking_free(&r);
        return affect_fail(err, AFFECT_EARG, "roc: the column has only one class (%zu positives, %zu negatives)", r.n_pos, r.n_neg);
    }
    size_t groups = 0;
    for (size_t i = 0; i < r.n; i++) groups += r.last[i];
    roc->fpr = malloc((groups + 1) * sizeof *roc->fpr);
    roc->tpr = malloc((groups + 1) * sizeof *roc->tpr);
    if (!roc->fpr || !roc->tpr) {
        eval_ranking_free(&r);
        report_roc_free(roc);
        return affect_fail(err, AFFECT_ENOMEM, "roc: out of memory for %zu points", groups + 1);
    }
    size_t tp = 0, fp = 0, k = 0;
    double P = (double)r.n_pos, N = (double)r.n_neg, area = 0.0;
    roc->fpr[k] = 0.0;
    roc->tpr[k++] = 0.0;
    for (size_t i = 0; i < r.n; i++) {
        if (r.pos[i]) tp++; else fp++;
        if (r.last[i]) {
            roc->fpr[k] = (double)fp / N;
            roc->tpr[k] = (double)tp / P;
            area += (roc->fpr[k] - roc->fpr[k - 1]) * (roc->tpr[k] + roc->tpr[k - 1]) / 2.0;
            k++;
        }
    }
    roc->n = k;
    roc->auc = area;
    roc->n_pos = r.n_pos;
    roc->n_neg = r.n_neg;
    eval_ranking_free(&r);
    return 0;
}
