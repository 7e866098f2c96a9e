/* The multi-label report: per-label, micro and macro AUC and AP, and label support. */
#include "eval/metrics.h"
#include "core/util/error.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void eval_summary_free(eval_summary *s) {
    if (!s) return;
    free(s->per_label_auc);
    free(s->per_label_ap);
    free(s->support);
    memset(s, 0, sizeof *s);
}

/* Macro averages skip undefined labels instead of counting them as 0 or 0.5, so a label with
 * no positives in a small test split cannot move the headline number. */
int eval_summary_compute(eval_summary *s, const double *P, const double *Y, size_t n_rows,
                         size_t n_labels, affect_error *err) {
    memset(s, 0, sizeof *s);
    if (n_labels == 0) return affect_fail(err, AFFECT_EARG, "eval: no labels");
    if (n_rows > SIZE_MAX / n_labels)
        return affect_fail(err, AFFECT_EARG, "eval: %zu rows x %zu labels overflows", n_rows, n_labels);
    s->n_rows = n_rows;
    s->n_labels = n_labels;
    s->per_label_auc = malloc(n_labels * sizeof *s->per_label_auc);
    s->per_label_ap = malloc(n_labels * sizeof *s->per_label_ap);
    s->support = malloc(n_labels * sizeof *s->support);
    if (!s->per_label_auc || !s->per_label_ap || !s->support) {
        eval_summary_free(s);
        return affect_fail(err, AFFECT_ENOMEM, "eval: out of memory for %zu labels", n_labels);
    }
    double auc_sum = 0.0, ap_sum = 0.0;
    for (size_t j = 0; j < n_labels; j++) {
        eval_ranking r;
        int rc = eval_ranking_build(&r, P + j, Y + j, n_rows, n_labels, 1, err);
        if (rc) { eval_summary_free(s); return rc; }
        s->support[j] = r.n_pos;
        s->per_label_auc[j] = eval_ranking_auc(&r, NULL);
        s->per_label_ap[j] = eval_ranking_ap(&r, NULL);
        eval_ranking_free(&r);
        if (!isnan(s->per_label_auc[j])) { auc_sum += s->per_label_auc[j]; s->n_defined_auc++; }
        if (!isnan(s->per_label_ap[j])) { ap_sum += s->per_label_ap[j]; s->n_defined_ap++; }
    }
    s->macro_auc = s->n_defined_auc ? auc_sum / (double)s->n_defined_auc : NAN;
    s->macro_ap = s->n_defined_ap ? ap_sum / (double)s->n_defined_ap : NAN;
    eval_ranking all;
    int rc = eval_ranking_build(&all, P, Y, n_rows * n_labels, 1, n_labels, err);
    if (rc) { eval_summary_free(s); return rc; }
    s->micro_auc = eval_ranking_auc(&all, NULL);
    s->micro_ap = eval_ranking_ap(&all, NULL);
    eval_ranking_free(&all);
    return 0;
}
