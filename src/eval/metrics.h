/*
 * Evaluation metrics for multi-label classifiers and intensity regressors.
 *
 * What is here, and the definitions it promises (tests/test_metrics_sklearn.py holds every
 * number to scikit-learn / scipy within 1e-12):
 *
 *   ROC AUC        roc_auc_score's number: trapezoid over the distinct score thresholds
 *                  (equal scores form one step, which is the same as Mann-Whitney with
 *                  average ranks). Undefined (NaN) when the items hold only one class.
 *   average prec.  average_precision_score's number: sum over distinct thresholds, highest
 *                  first, of (R_k - R_{k-1}) * P_k; step-wise, no interpolation. Undefined
 *                  (NaN) when there is no positive item (sklearn says 0.0 there; we do not).
 *                  A label with positives but no negatives is defined (AP = 1).
 *   micro          the metric of all labels flattened into one list (sklearn average='micro').
 *   macro          the mean over the labels where the per-label metric is defined; NaN if none.
 *   thresholds     per label, the validation score t maximising F1 of "score >= t". Ties in
 *                  F1 (compared exactly, as fractions of integer counts) go to the HIGHEST
 *                  such t, i.e. the fewest predicted positives. A label without validation
 *                  positives gets t = +infinity (predicts nothing). precision, recall and F1
 *                  are 0 where their denominators are 0 (sklearn's zero_division=0).
 *   Pearson r      two-pass, in double; NaN when n < 2 or either side is constant.
 *   bootstrap      percentile intervals over B resamples of rows (see eval_bootstrap_*).
 *
 * Inputs are double arrays; a label value must be exactly 0 or 1 and a score finite, else
 * AFFECT_EARG. Row-major matrices (rows, labels) are read column-wise with a stride, so a
 * column of a CSV matrix needs no copy. Sorting is a stable O(n log n) merge sort.
 * Nothing here prints or exits; errors come back as AFFECT_E* codes with a message.
 */
#ifndef AFFECT_EVAL_METRICS_H
#define AFFECT_EVAL_METRICS_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"

/* ---- ranking: items sorted once by descending score --------------------------------------- */

/* The items of one label (or of all labels flattened), sorted by score, highest first, with
 * the runs of equal scores marked. Built once, then scored many times with different row
 * weights (the bootstrap), each pass O(n). */
typedef struct eval_ranking {
    size_t n;             /* items */
    size_t *row;          /* (n) row of each sorted item: its item index / row_div */
    unsigned char *pos;   /* (n) 1 = positive item */
    unsigned char *last;  /* (n) 1 = last item of a run of equal scores */
    double *score;        /* (n) sorted scores, descending */
    size_t n_pos, n_neg;  /* class counts with unit weights */
} eval_ranking;

/* Items k = 0..n-1 are scores[k*stride] with labels y[k*stride]; item k belongs to row
 * k / row_div (1 for one label column; the label count for a flattened matrix). */
int eval_ranking_build(eval_ranking *r, const double *scores, const double *y, size_t n,
                       size_t stride, size_t row_div, affect_error *err);
void eval_ranking_free(eval_ranking *r);

/* AUC / AP of a ranking. `w` (NULL = every row once) gives each row's multiplicity, as a
 * bootstrap resample does; the result equals the metric on the rows repeated w times.
 * NaN when undefined. The total weight must stay below 2^32 (checked by the builders). */
double eval_ranking_auc(const eval_ranking *r, const uint32_t *w);
double eval_ranking_ap(const eval_ranking *r, const uint32_t *w);

/* One-shot forms: build, score, free. *out is NaN when undefined. */
int eval_roc_auc(const double *scores, const double *y, size_t n, size_t stride, double *out,
                 affect_error *err);
int eval_average_precision(const double *scores, const double *y, size_t n, size_t stride,
                           double *out, affect_error *err);

/* Stable merge sort of idx[0..n) by keys[idx[i]*stride], descending. `tmp` has n slots. */
void eval_sort_desc(size_t *idx, size_t *tmp, size_t n, const double *keys, size_t stride);

/* ---- multi-label summary ------------------------------------------------------------------- */

typedef struct eval_summary {
    size_t n_rows, n_labels;
    double micro_auc, macro_auc;      /* NaN when undefined */
    double *per_label_auc;            /* (n_labels) NaN = undefined (one class) */
    double micro_ap, macro_ap;
    double *per_label_ap;             /* (n_labels) NaN = no positives */
    size_t *support;                  /* (n_labels) positives per label */
    size_t n_defined_auc, n_defined_ap;
} eval_summary;

/* P and Y are (n_rows, n_labels) row-major. */
int eval_summary_compute(eval_summary *s, const double *P, const double *Y, size_t n_rows,
                         size_t n_labels, affect_error *err);
void eval_summary_free(eval_summary *s);

/* ---- thresholds and F1 ---------------------------------------------------------------------- */

typedef struct eval_prf {
    size_t tp, fp, fn;
    double precision, recall, f1;  /* 0 where the denominator is 0 */
} eval_prf;

/* The max-F1 threshold of one label on validation data (rule in the header comment).
 * *best_f1 receives the validation F1 at that threshold (0 without positives). */
int eval_choose_threshold(const double *scores, const double *y, size_t n, size_t stride,
                          double *threshold, double *best_f1, affect_error *err);
/* Counts and precision/recall/F1 of "score >= threshold". */
int eval_prf_at(const double *scores, const double *y, size_t n, size_t stride,
                double threshold, eval_prf *out, affect_error *err);

/* ---- Pearson correlation and EmoInt scoring ---------------------------------------------- */

/* r of x[i*sx] against y[i*sy]; NaN when n < 2 or a side is constant. Inputs must be finite. */
double eval_pearson(const double *x, size_t sx, const double *y, size_t sy, size_t n);

/* EmoInt (WASSA-2017) scoring: the gold file is id<TAB>text<TAB>emotion<TAB>score lines; the
 * predictions file has the same four fields or just id<TAB>score. Predictions are matched to
 * gold lines by id; every gold id needs exactly one prediction. r is per emotion (in order of
 * first appearance in the gold file) and mean_r the mean over emotions where r is defined. */
typedef struct eval_emoint_result {
    size_t n_emotions;
    char **emotion;    /* (n_emotions) */
    size_t *count;     /* (n_emotions) gold lines */
    double *r;         /* (n_emotions) NaN = undefined */
    double mean_r;     /* NaN when no emotion has a defined r */
} eval_emoint_result;

int eval_emoint_score(const char *gold_path, const char *pred_path, eval_emoint_result *out,
                      affect_error *err);
/* Same, from bytes in memory; the names are used in messages only. */
int eval_emoint_score_text(const char *gold_name, const char *gold, size_t gold_len,
                           const char *pred_name, const char *pred, size_t pred_len,
                           eval_emoint_result *out, affect_error *err);
void eval_emoint_result_free(eval_emoint_result *r);

/* ---- bootstrap ------------------------------------------------------------------------------ */

/*
 * Reproducible resampling, the same on every machine (and re-implementable in a few lines
 * of Python, which tests/test_metrics_sklearn.py does):
 *
 *   mix(z)    = splitmix64 finaliser: z ^= z>>30; z *= 0xBF58476D1CE4E5B9;
 *               z ^= z>>27; z *= 0x94D049BB133111EB; z ^= z>>31      (all mod 2^64)
 *   GAMMA     = 0x9E3779B97F4A7C15
 *   key_b     = mix(seed + (b+1)*GAMMA)                 resample b = 0, 1, ..., B-1
 *   u_{b,k}   = mix(key_b + (k+1)*GAMMA)                k = 0, 1, 2, ...
 *   draw      : take u_{b,k} in order; reject u < (2^64 mod n); row = u mod n; n draws.
 *
 * A statistic that is undefined on a resample (one class left) skips that resample; the
 * interval is over the rest. Macro AUC on a resample averages the labels defined in it.
 * The interval is (q(alpha/2), q(1-alpha/2)) with q numpy.percentile's default 'linear'
 * method over the sorted statistics.
 */
uint64_t eval_splitmix64_mix(uint64_t z);
/* The row multiplicities of resample b: counts[row] for n rows (sum = n). */
void eval_bootstrap_counts(uint64_t seed, uint64_t b, size_t n, uint32_t *counts);
/* numpy.percentile(sorted[0..m), 100*q) with method='linear'; sorted ascending, m >= 1. */
double eval_percentile_linear(const double *sorted, size_t m, double q);

typedef struct eval_interval {
    double lo, hi;
    size_t used;   /* resamples where the statistic was defined */
} eval_interval;

typedef struct eval_bootstrap_result {
    eval_interval micro_auc, macro_auc;
    /* Paired comparison (only when a second prediction set is given): macro AUC of P minus
     * macro AUC of P2 on the same resampled rows. */
    double diff;            /* point estimate on all rows */
    eval_interval diff_ci;
    double frac_diff_le0;   /* share of used resamples with difference <= 0 */
} eval_bootstrap_result;

/* B resamples (B >= 1) of the rows of (P, Y), and of (P2, Y) paired when P2 is non-NULL.
 * level is the interval's coverage, e.g. 0.95. NaN bounds when no resample was usable. */
int eval_bootstrap_auc(const double *P, const double *P2, const double *Y, size_t n_rows,
                       size_t n_labels, size_t B, uint64_t seed, double level,
                       eval_bootstrap_result *out, affect_error *err);

/* ---- CSV matrices ---------------------------------------------------------------------------- */

/* A numeric CSV with a header row of column names (RFC 4180: quoted fields, "" escapes,
 * CRLF or LF, optional final newline, optional UTF-8 BOM). A first column named "id" or
 * "text_id" holds row ids (any text); every other cell must be a finite number. Errors name
 * file:line and the column. Blank lines are skipped. */
typedef struct eval_csv_matrix {
    size_t rows, cols;   /* numeric columns; the id column is not counted */
    char **names;        /* (cols) */
    char *id_name;       /* the id column's header, or NULL when there is none */
    char **ids;          /* (rows) when id_name, else NULL */
    size_t *line;        /* (rows) the line each row starts on (1-based; header is line 1+) */
    double *v;           /* (rows, cols) row-major */
} eval_csv_matrix;

int eval_csv_matrix_read(const char *path, eval_csv_matrix *m, affect_error *err);
int eval_csv_matrix_parse(const char *name, const char *text, size_t len, eval_csv_matrix *m,
                          affect_error *err);
void eval_csv_matrix_free(eval_csv_matrix *m);
/* Index of the column named `name`, or -1. */
long eval_csv_matrix_column(const eval_csv_matrix *m, const char *name);

#endif
