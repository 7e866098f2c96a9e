/* The run folder's result files (pl_report.c): test predictions, gold labels, and
 * analysis_metrics.json. */
#ifndef AFFECT_PIPELINE_REPORT_H
#define AFFECT_PIPELINE_REPORT_H
#include "pipeline/pl_internal.h"
#include "util/json.h"

/* predictions.csv (id, probabilities, intensity clamped to [0,1]) and labels.csv (id, 0/1) for
 * the rows of `test`, P (n,L) and I (n) (NULL: 0). */
int pl_write_predictions(const char *run_dir, const affect_dataset *test, const double *P, const double *I,
                         affect_error *err);

typedef struct pl_metrics_in {
    const char *model, *config;      /* the reference keys' strings */
    const affect_dataset *test;      /* gold labels and names */
    const double *P;                 /* (n,L) test probabilities */
    const affect_dataset *val;       /* for the max-F1 thresholds (NULL: no thresholds/F1 keys) */
    const double *VP;                /* (n_val,L) validation probabilities */
    size_t n_params;
    long long model_bytes;
    double latency_ms;
    int n_groups;                    /* EmoInt emotions */
    char **group_names;
    const double *pearson;           /* (n_groups); NULL: no "intensity" key */
    const char *intensity_dataset;   /* intensity.dataset; NULL: "emoint dev" */
    double pearson_mean;
    size_t n_intensity_rows;
    const char *extra_json;          /* more members ("\"cv\":{...}"), or NULL */
    double *out_macro, *out_micro;   /* receive the test AUCs (may be NULL) */
} pl_metrics_in;

int pl_write_metrics(const char *run_dir, const pl_metrics_in *in, affect_error *err);
/* The same JSON document into *out (initialised here; the caller frees it), for `affect eval
 * MODEL --data SPEC`, which prints it or writes it elsewhere. */
int pl_metrics_json(const pl_metrics_in *in, json_buf *out, affect_error *err);

#endif
