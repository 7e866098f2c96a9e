/*
 * Comparing trained runs: the numbers behind `affect compare` and its renderings.
 *
 * A run is a folder laid out as /work/notes/runfolder.md says: analysis_metrics.json (the
 * reference keys model, config, timestamp, micro_auc, macro_auc, per_label_auc, label_names,
 * plus added keys such as macro_auc_ci, model_bytes, latency_ms), predictions.csv and
 * labels.csv (the test split, rows in the same order, a first column "id").
 *
 * report_compare_load reads the runs, sorts them by macro AUC (highest first; a run whose
 * macro AUC is null goes last; ties keep the command-line order), picks each run's five best
 * and five worst labels by per-label AUC (undefined labels skipped), finds the label where
 * the runs disagree most, and the size/accuracy Pareto front. When the two best runs both
 * have predictions.csv and labels.csv it runs a paired bootstrap of their macro-AUC
 * difference on the same rows (src/eval/metrics.h, eval_bootstrap_auc); rows whose ids or
 * gold labels differ between the runs are an error (AFFECT_EFORMAT), because a paired test
 * on different rows would be meaningless. With want_roc it also computes the ROC curves of
 * the best run for its best and worst label.
 *
 * Renderers write into a json_buf (the growable string of core/util/json.h): plain or ANSI
 * coloured text, Markdown, one JSON object, or a self-contained HTML page. Nothing here
 * prints or exits.
 */
#ifndef AFFECT_REPORT_COMPARE_H
#define AFFECT_REPORT_COMPARE_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"
#include "core/util/json.h"

#define REPORT_TOP_K 5

typedef struct report_run {
    char *dir;             /* as given on the command line */
    char *name;            /* the folder's last path component */
    char *model, *config, *timestamp;  /* timestamp may be NULL */
    double micro_auc, macro_auc;       /* NaN = null */
    double micro_ci[2], macro_ci[2];   /* NaN when absent */
    double model_bytes, latency_ms, n_params;  /* NaN when absent */
    double n_rows;                     /* NaN when absent */
    size_t n_labels;
    char **label_names;    /* (n_labels) */
    double *per_label_auc; /* (n_labels) NaN = null (undefined) */
    double *support;       /* (n_labels) test positives per label ("support"); NaN when absent */
    size_t n_best, n_worst;
    size_t best[REPORT_TOP_K];   /* label indices, highest AUC first */
    size_t worst[REPORT_TOP_K];  /* label indices, lowest AUC first */
    int pareto;            /* 1 = on the size/macro-AUC Pareto front */
} report_run;

/* A ROC curve: points (fpr, tpr) from (0,0) to (1,1), one per distinct score threshold. */
typedef struct report_roc {
    size_t label;          /* index into the comparison's labels */
    size_t n;
    double *fpr, *tpr;     /* (n) */
    double auc;            /* trapezoid area under these points */
    size_t n_pos, n_neg;
} report_roc;

typedef struct report_options {
    size_t bootstrap;      /* resamples for the paired test; 0 = no paired test */
    uint64_t seed;
    double level;          /* interval coverage, e.g. 0.95 */
    int want_roc;          /* compute ROC curves of the best run (the HTML report needs them) */
} report_options;

typedef struct report_comparison {
    size_t n_runs;
    report_run *runs;      /* sorted by macro AUC, best first */
    size_t n_labels;       /* union of the runs' labels, in order of first appearance */
    char **labels;
    double *auc;           /* (n_runs, n_labels) per-label AUC; NaN = undefined or absent */
    report_options opt;

    /* paired bootstrap of runs[0] against runs[1] */
    int paired;            /* 1 when it ran */
    char paired_note[256]; /* why it did not run (when paired == 0 and n_runs >= 2) */
    double diff, diff_lo, diff_hi, frac_le0;  /* macro AUC(runs[0]) - macro AUC(runs[1]) */
    double paired_macro[2];                   /* both macro AUCs recomputed from the CSVs */
    size_t paired_rows, paired_labels, paired_used;

    /* the label with the largest spread of per-label AUC across runs */
    int has_disagreement;
    size_t dis_label, dis_hi, dis_lo;  /* label index, run with the highest / lowest AUC */
    double dis_spread;

    /* ROC of runs[0] on its best and worst label (n_roc 0..2) */
    size_t n_roc;
    report_roc roc[2];
    char roc_note[256];    /* why there are none */

    char *summary;         /* one paragraph, generated from the numbers above */
} report_comparison;

/* Reads one run folder's analysis_metrics.json. */
int report_run_load(report_run *r, const char *dir, affect_error *err);
void report_run_free(report_run *r);

int report_compare_load(report_comparison *c, const char *const *dirs, size_t n_dirs,
                        const report_options *opt, affect_error *err);
void report_comparison_free(report_comparison *c);

/* Index of a label in c->labels, or -1. */
long report_label_index(const report_comparison *c, const char *name);
/* "model (config)": how the summary and the charts name a run. */
void report_run_title(const report_run *r, char *out, size_t outlen);
/* (Re)writes c->summary from the numbers in c. */
int report_summary_build(report_comparison *c, affect_error *err);

/* ROC points of one label column (scores[k*stride], y[k*stride], k < n). */
int report_roc_compute(report_roc *roc, const double *scores, const double *y, size_t n,
                       size_t stride, affect_error *err);
void report_roc_free(report_roc *roc);

/* "1.5 KiB", "86.7 MiB"; "n/a" for NaN. */
void report_format_bytes(double bytes, char *out, size_t outlen);

/* Renderers. Each appends to `out` and returns 0 or AFFECT_ENOMEM. */
int report_render_text(const report_comparison *c, int color, json_buf *out, affect_error *err);
int report_render_markdown(const report_comparison *c, json_buf *out, affect_error *err);
int report_render_json(const report_comparison *c, json_buf *out, affect_error *err);
int report_render_html(const report_comparison *c, json_buf *out, affect_error *err);

#endif
