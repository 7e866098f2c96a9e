/* Per-label decision thresholds chosen on validation data, and precision/recall/F1 at a
 * threshold on test data. */
#include "eval/metrics.h"
#include "core/util/error.h"
#include <math.h>

/* Walks the distinct validation scores from the highest down; F1 of "score >= t" is
 * 2tp / (tp + fp + P). Candidates are compared exactly by cross-multiplying the integer
 * fractions, and only a strictly better F1 replaces the best, so ties keep the highest t
 * (the rule metrics.h documents). */
int eval_choose_threshold(const double *scores, const double *y, size_t n, size_t stride,
                          double *threshold, double *best_f1, affect_error *err) {
    eval_ranking r;
    int rc = eval_ranking_build(&r, scores, y, n, stride, 1, err);
    if (rc) return rc;
    uint64_t P = r.n_pos, tp = 0, fp = 0;
    uint64_t bnum = 0, bden = 1; /* best F1 = bnum / bden */
    double bt = INFINITY;
    for (size_t i = 0; i < r.n; i++) {
        if (r.pos[i]) tp++; else fp++;
        if (!r.last[i] || P == 0) continue;
        uint64_t num = 2 * tp, den = tp + fp + P;
        if (num * bden > bnum * den) { bnum = num; bden = den; bt = r.score[i]; }
    }
    *threshold = bt;
    *best_f1 = bnum ? (double)bnum / (double)bden : 0.0;
    eval_ranking_free(&r);
    return 0;
}

/* The confusion counts of one label at a fixed threshold, with sklearn's zero_division=0
 * convention so a label nobody predicts scores 0 instead of NaN. */
int eval_prf_at(const double *scores, const double *y, size_t n, size_t stride,
                double threshold, eval_prf *out, affect_error *err) {
    eval_prf p = {0};
    for (size_t k = 0; k < n; k++) {
        double v = y[k * stride], s = scores[k * stride];
        if (v != 0.0 && v != 1.0)
            return affect_fail(err, AFFECT_EARG, "eval: label of item %zu is %.17g, not 0 or 1", k, v);
        if (!isfinite(s)) return affect_fail(err, AFFECT_EARG, "eval: score of item %zu is not finite", k);
        int pred = s >= threshold;
        if (pred && v == 1.0) p.tp++;
        else if (pred) p.fp++;
        else if (v == 1.0) p.fn++;
    }
    p.precision = p.tp + p.fp ? (double)p.tp / (double)(p.tp + p.fp) : 0.0;
    p.recall = p.tp + p.fn ? (double)p.tp / (double)(p.tp + p.fn) : 0.0;
    p.f1 = p.tp ? 2.0 * (double)p.tp / (double)(2 * p.tp + p.fp + p.fn) : 0.0;
    *out = p;
    return 0;
}
