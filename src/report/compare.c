/* Building a comparison of run folders: load, sort, rank labels, pair the top two. */
#include "report/compare.h"
#include "eval/metrics.h"
#include "core/util/blob.h"
#include "core/util/error.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void report_comparison_free(report_comparison *c) {
    if (!c) return;
    if (c->runs)
        for (size_t i = 0; i < c->n_runs; i++) report_run_free(&c->runs[i]);
    free(c->runs);
    free(c->labels); /* the strings belong to the runs */
    free(c->auc);
    for (size_t k = 0; k < 2; k++) report_roc_free(&c->roc[k]);
    free(c->summary);
    memset(c, 0, sizeof *c);
}

/* "a is better than b" for the table order: higher macro AUC; a null macro AUC never wins. */
static int ranks_before(const report_run *a, const report_run *b) {
    if (isnan(a->macro_auc)) return 0;
    if (isnan(b->macro_auc)) return 1;
    return a->macro_auc > b->macro_auc;
}

/* Stable insertion sort: run counts are small and equal scores keep the command-line order. */
static void sort_runs(report_run *runs, size_t n) {
    for (size_t i = 1; i < n; i++) {
        report_run t = runs[i];
        size_t k = i;
        while (k > 0 && ranks_before(&t, &runs[k - 1])) { runs[k] = runs[k - 1]; k--; }
        runs[k] = t;
    }
}

/* A linear search: label counts are in the tens. */
long report_label_index(const report_comparison *c, const char *name) {
    for (size_t j = 0; j < c->n_labels; j++)
        if (!strcmp(c->labels[j], name)) return (long)j;
    return -1;
}

/* The union of the runs' label names (pointers into the runs) and the runs x labels AUC
 * matrix the heatmap and the disagreement search read. */
static int build_label_matrix(report_comparison *c, affect_error *err) {
    size_t total = 0;
    for (size_t i = 0; i < c->n_runs; i++) {
        if (c->runs[i].n_labels > SIZE_MAX / 2 - total) return affect_fail(err, AFFECT_ENOMEM, "too many labels");
        total += c->runs[i].n_labels;
    }
    c->labels = malloc(total * sizeof *c->labels);
    if (!c->labels) return affect_fail(err, AFFECT_ENOMEM, "out of memory for %zu labels", total);
    for (size_t i = 0; i < c->n_runs; i++)
        for (size_t j = 0; j < c->runs[i].n_labels; j++)
            if (report_label_index(c, c->runs[i].label_names[j]) < 0) c->labels[c->n_labels++] = c->runs[i].label_names[j];
    if (c->n_labels > SIZE_MAX / sizeof(double) / c->n_runs) return affect_fail(err, AFFECT_ENOMEM, "too many labels");
    c->auc = malloc(c->n_runs * c->n_labels * sizeof *c->auc);
    if (!c->auc) return affect_fail(err, AFFECT_ENOMEM, "out of memory for %zu x %zu AUCs", c->n_runs, c->n_labels);
    for (size_t k = 0; k < c->n_runs * c->n_labels; k++) c->auc[k] = NAN;
    for (size_t i = 0; i < c->n_runs; i++)
        for (size_t j = 0; j < c->runs[i].n_labels; j++)
            c->auc[i * c->n_labels + (size_t)report_label_index(c, c->runs[i].label_names[j])] = c->runs[i].per_label_auc[j];
    return 0;
}

/* Each run's five best (highest first) and five worst (lowest first) defined labels; equal
 * AUCs keep label order in both lists. */
static int pick_best_worst(report_run *r, affect_error *err) {
    size_t *idx = malloc(r->n_labels * sizeof *idx);
    if (!idx) return affect_fail(err, AFFECT_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t j = 0; j < r->n_labels; j++)
        if (!isnan(r->per_label_auc[j])) idx[k++] = j;
    for (int dir = 0; dir < 2; dir++) {
        for (size_t i = 1; i < k; i++) {
            size_t t = idx[i], m = i;
            for (; m > 0; m--) {
                double a = r->per_label_auc[t], b = r->per_label_auc[idx[m - 1]];
                int before = dir == 0 ? a > b : a < b;
                /* restore label order among equals, whatever the previous pass did */
                if (!before && !(a == b && t < idx[m - 1])) break;
                idx[m] = idx[m - 1];
            }
            idx[m] = t;
        }
        size_t take = k < REPORT_TOP_K ? k : REPORT_TOP_K;
        for (size_t i = 0; i < take; i++) (dir == 0 ? r->best : r->worst)[i] = idx[i];
        if (dir == 0) r->n_best = take; else r->n_worst = take;
    }
    free(idx);
    return 0;
}

/* The label whose per-label AUC varies most across runs (needs two defined values). */
static void find_disagreement(report_comparison *c) {
    c->has_disagreement = 0;
    for (size_t j = 0; j < c->n_labels; j++) {
        size_t hi = 0, lo = 0, k = 0;
        for (size_t i = 0; i < c->n_runs; i++) {
            double v = c->auc[i * c->n_labels + j];
            if (isnan(v)) continue;
            if (k == 0 || v > c->auc[hi * c->n_labels + j]) hi = i;
            if (k == 0 || v < c->auc[lo * c->n_labels + j]) lo = i;
            k++;
        }
        if (k < 2) continue;
        double spread = c->auc[hi * c->n_labels + j] - c->auc[lo * c->n_labels + j];
        if (!c->has_disagreement || spread > c->dis_spread) {
            c->has_disagreement = 1;
            c->dis_label = j;
            c->dis_hi = hi;
            c->dis_lo = lo;
            c->dis_spread = spread;
        }
    }
}

/* A run is on the front when no other run is at least as small and at least as good, and
 * strictly one of the two. Runs without a size or a macro AUC are not placed. */
static void mark_pareto(report_comparison *c) {
    for (size_t i = 0; i < c->n_runs; i++) {
        report_run *a = &c->runs[i];
        a->pareto = isfinite(a->model_bytes) && isfinite(a->macro_auc);
        for (size_t k = 0; k < c->n_runs && a->pareto; k++) {
            const report_run *b = &c->runs[k];
            if (k == i || !isfinite(b->model_bytes) || !isfinite(b->macro_auc)) continue;
            if (b->model_bytes <= a->model_bytes && b->macro_auc >= a->macro_auc &&
                (b->model_bytes < a->model_bytes || b->macro_auc > a->macro_auc))
                a->pareto = 0;
        }
    }
}

/* ---- the test split of a run: labels.csv and predictions.csv, aligned ------------------- */

typedef struct run_split {
    eval_csv_matrix y;   /* labels.csv */
    double *P;           /* (rows, y.cols) predictions in labels.csv's column order */
    char ypath[4200], ppath[4200];
} run_split;

static void split_free(run_split *s) {
    eval_csv_matrix_free(&s->y);
    free(s->P);
    s->P = NULL;
}

/* Returns 1 when the run has both CSV files, 0 when either is absent (with a note), or
 * -code on a real error: malformed files, or predictions whose ids or columns do not line
 * up with the gold file. */
static int split_load(run_split *s, const report_run *r, char *note, size_t notelen, affect_error *err) {
    memset(s, 0, sizeof *s);
    snprintf(s->ypath, sizeof s->ypath, "%s/labels.csv", r->dir);
    snprintf(s->ppath, sizeof s->ppath, "%s/predictions.csv", r->dir);
    int hy = affect_file_exists(s->ypath), hp = affect_file_exists(s->ppath);
    if (!hy || !hp) {
        snprintf(note, notelen, "%s has no %s", r->dir, !hp && !hy ? "predictions.csv and labels.csv" : !hp ? "predictions.csv" : "labels.csv");
        return 0;
    }
    eval_csv_matrix p;
    int rc = eval_csv_matrix_read(s->ypath, &s->y, err);
    if (rc) return -rc;
    if (s->y.rows == 0) { split_free(s); return -affect_fail(err, AFFECT_EFORMAT, "%s: no data rows", s->ypath); }
    for (size_t i = 0; i < s->y.rows; i++)
        for (size_t j = 0; j < s->y.cols; j++) {
            double v = s->y.v[i * s->y.cols + j];
            if (v != 0.0 && v != 1.0) {
                rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: column '%s': label %.17g is not 0 or 1", s->ypath,
                                 s->y.line[i], s->y.names[j], v);
                split_free(s);
                return -rc;
            }
        }
    if ((rc = eval_csv_matrix_read(s->ppath, &p, err))) { split_free(s); return -rc; }
    if (p.rows != s->y.rows)
        rc = affect_fail(err, AFFECT_EFORMAT, "%s has %zu rows but %s has %zu", s->ppath, p.rows, s->ypath, s->y.rows);
    for (size_t i = 0; !rc && p.ids && s->y.ids && i < p.rows; i++)
        if (strcmp(p.ids[i], s->y.ids[i]))
            rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: id '%s' but %s:%zu has id '%s'", s->ppath, p.line[i], p.ids[i],
                             s->ypath, s->y.line[i], s->y.ids[i]);
    for (size_t j = 0; !rc && j < s->y.cols; j++)
        if (eval_csv_matrix_column(&p, s->y.names[j]) < 0)
            rc = affect_fail(err, AFFECT_EFORMAT, "%s: no column for label '%s' (in %s)", s->ppath, s->y.names[j], s->ypath);
    if (!rc) {
        s->P = malloc(s->y.rows * s->y.cols * sizeof *s->P); /* rows*cols fit: y.v holds as many */
        if (!s->P) rc = affect_fail(err, AFFECT_ENOMEM, "%s: out of memory", s->ppath);
    }
    for (size_t j = 0; !rc && j < s->y.cols; j++) {
        size_t src = (size_t)eval_csv_matrix_column(&p, s->y.names[j]);
        for (size_t i = 0; i < s->y.rows; i++) {
            double v = p.v[i * p.cols + src];
            if (!(v >= 0.0 && v <= 1.0)) {
                rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: column '%s': probability %.17g is outside [0, 1]", s->ppath,
                                 p.line[i], s->y.names[j], v);
                break;
            }
            s->P[i * s->y.cols + j] = v;
        }
    }
    eval_csv_matrix_free(&p);
    if (rc) { split_free(s); return -rc; }
    return 1;
}

/* The paired test is only meaningful on the same rows with the same gold labels: refuse,
 * naming the first difference, otherwise. On success *P2 holds b's predictions in a's
 * column order. */
static int check_same_rows(const run_split *a, const run_split *b, double **P2, affect_error *err) {
    *P2 = NULL;
    if (a->y.rows != b->y.rows)
        return affect_fail(err, AFFECT_EFORMAT, "cannot pair the top two runs: %s has %zu rows but %s has %zu; they were not scored on the same test rows",
                           a->ypath, a->y.rows, b->ypath, b->y.rows);
    if (!a->y.ids != !b->y.ids)
        return affect_fail(err, AFFECT_EFORMAT, "cannot pair the top two runs: %s has an id column and %s has none",
                           a->y.ids ? a->ypath : b->ypath, a->y.ids ? b->ypath : a->ypath);
    for (size_t i = 0; a->y.ids && i < a->y.rows; i++)
        if (strcmp(a->y.ids[i], b->y.ids[i]))
            return affect_fail(err, AFFECT_EFORMAT,
                               "cannot pair the top two runs: row ids differ: %s:%zu has id '%s' but %s:%zu has id '%s'; they were not scored on the same test rows",
                               a->ypath, a->y.line[i], a->y.ids[i], b->ypath, b->y.line[i], b->y.ids[i]);
    if (a->y.cols != b->y.cols)
        return affect_fail(err, AFFECT_EFORMAT, "cannot pair the top two runs: %s has %zu labels but %s has %zu",
                           a->ypath, a->y.cols, b->ypath, b->y.cols);
    for (size_t j = 0; j < a->y.cols; j++) {
        long bj = eval_csv_matrix_column(&b->y, a->y.names[j]);
        if (bj < 0)
            return affect_fail(err, AFFECT_EFORMAT, "cannot pair the top two runs: label '%s' of %s is not in %s",
                               a->y.names[j], a->ypath, b->ypath);
        for (size_t i = 0; i < a->y.rows; i++)
            if (a->y.v[i * a->y.cols + j] != b->y.v[i * b->y.cols + (size_t)bj])
                return affect_fail(err, AFFECT_EFORMAT, "cannot pair the top two runs: gold label '%s' differs at %s:%zu and %s:%zu",
                                   a->y.names[j], a->ypath, a->y.line[i], b->ypath, b->y.line[i]);
    }
    double *P = malloc(a->y.rows * a->y.cols * sizeof *P);
    if (!P) return affect_fail(err, AFFECT_ENOMEM, "out of memory");
    for (size_t j = 0; j < a->y.cols; j++) {
        size_t bj = (size_t)eval_csv_matrix_column(&b->y, a->y.names[j]);
        for (size_t i = 0; i < a->y.rows; i++) P[i * a->y.cols + j] = b->P[i * b->y.cols + bj];
    }
    *P2 = P;
    return 0;
}

static int run_paired(report_comparison *c, const run_split *a, const run_split *b, affect_error *err) {
    double *P2 = NULL;
    int rc = check_same_rows(a, b, &P2, err);
    if (rc) return rc;
    size_t n = a->y.rows, L = a->y.cols;
    eval_summary sa, sb;
    eval_bootstrap_result br;
    if ((rc = eval_summary_compute(&sa, a->P, a->y.v, n, L, err))) { free(P2); return rc; }
    if ((rc = eval_summary_compute(&sb, P2, a->y.v, n, L, err))) { eval_summary_free(&sa); free(P2); return rc; }
    c->paired_macro[0] = sa.macro_auc;
    c->paired_macro[1] = sb.macro_auc;
    eval_summary_free(&sa);
    eval_summary_free(&sb);
    rc = eval_bootstrap_auc(a->P, P2, a->y.v, n, L, c->opt.bootstrap, c->opt.seed, c->opt.level, &br, err);
    free(P2);
    if (rc) return rc;
    c->paired = 1;
    c->diff = br.diff;
    c->diff_lo = br.diff_ci.lo;
    c->diff_hi = br.diff_ci.hi;
    c->frac_le0 = br.frac_diff_le0;
    c->paired_used = br.diff_ci.used;
    c->paired_rows = n;
    c->paired_labels = L;
    return 0;
}

/* ROC curves of the best run for its best and its worst label (one curve when they are the
 * same label). A label whose column has one class in labels.csv gets a note, not a curve. */
static int run_rocs(report_comparison *c, const run_split *a, affect_error *err) {
    const report_run *r = &c->runs[0];
    if (r->n_best == 0) { snprintf(c->roc_note, sizeof c->roc_note, "the best run has no defined per-label AUC"); return 0; }
    size_t want[2] = {r->best[0], r->worst[0]};
    size_t nwant = want[0] == want[1] ? 1 : 2;
    for (size_t k = 0; k < nwant; k++) {
        const char *name = r->label_names[want[k]];
        long col = eval_csv_matrix_column(&a->y, name);
        if (col < 0) { snprintf(c->roc_note, sizeof c->roc_note, "%.150s has no column '%.80s'", a->ypath, name); continue; }
        affect_error e2 = {0};
        report_roc *roc = &c->roc[c->n_roc];
        int rc = report_roc_compute(roc, a->P + col, a->y.v + col, a->y.rows, a->y.cols, &e2);
        if (rc == AFFECT_ENOMEM) return affect_fail(err, rc, "%s", e2.msg);
        if (rc) { snprintf(c->roc_note, sizeof c->roc_note, "label '%.80s': %.120s", name, e2.msg); continue; }
        roc->label = (size_t)report_label_index(c, name);
        c->n_roc++;
    }
    return 0;
}

/* Loads the CSVs of the top two runs once and runs whatever needs them. */
static int use_predictions(report_comparison *c, affect_error *err) {
    run_split a, b;
    int need_pair = c->n_runs >= 2 && c->opt.bootstrap > 0;
    if (c->n_runs >= 2 && c->opt.bootstrap == 0) snprintf(c->paired_note, sizeof c->paired_note, "the paired test is off (--bootstrap 0)");
    if (!need_pair && !c->opt.want_roc) return 0;
    char note[256] = "";
    int ha = split_load(&a, &c->runs[0], note, sizeof note, err);
    if (ha < 0) return -ha;
    if (!ha) {
        if (need_pair) snprintf(c->paired_note, sizeof c->paired_note, "no paired test: %.200s", note);
        if (c->opt.want_roc) snprintf(c->roc_note, sizeof c->roc_note, "no ROC curves: %.200s", note);
        return 0;
    }
    int rc = 0;
    if (c->opt.want_roc) rc = run_rocs(c, &a, err);
    if (!rc && need_pair) {
        int hb = split_load(&b, &c->runs[1], note, sizeof note, err);
        if (hb < 0) rc = -hb;
        else if (!hb) snprintf(c->paired_note, sizeof c->paired_note, "no paired test: %.200s", note);
        else {
            rc = run_paired(c, &a, &b, err);
            split_free(&b);
        }
    }
    split_free(&a);
    return rc;
}

int report_compare_load(report_comparison *c, const char *const *dirs, size_t n_dirs,
                        const report_options *opt, affect_error *err) {
    memset(c, 0, sizeof *c);
    c->opt = *opt;
    c->diff = c->diff_lo = c->diff_hi = c->frac_le0 = NAN;
    c->paired_macro[0] = c->paired_macro[1] = NAN;
    if (n_dirs == 0) return affect_fail(err, AFFECT_EARG, "compare: give at least one run folder");
    if (opt->bootstrap && !(opt->level > 0.0 && opt->level < 1.0))
        return affect_fail(err, AFFECT_EARG, "compare: interval level %g is not in (0,1)", opt->level);
    c->runs = calloc(n_dirs, sizeof *c->runs);
    if (!c->runs) return affect_fail(err, AFFECT_ENOMEM, "out of memory for %zu runs", n_dirs);
    int rc = 0;
    for (size_t i = 0; i < n_dirs && !rc; i++) {
        rc = report_run_load(&c->runs[i], dirs[i], err);
        if (!rc) c->n_runs++;
    }
    if (!rc) {
        sort_runs(c->runs, c->n_runs);
        rc = build_label_matrix(c, err);
    }
    for (size_t i = 0; i < c->n_runs && !rc; i++) rc = pick_best_worst(&c->runs[i], err);
    if (!rc) {
        find_disagreement(c);
        mark_pareto(c);
        rc = use_predictions(c, err);
    }
    if (!rc) rc = report_summary_build(c, err);
    if (rc) report_comparison_free(c);
    return rc;
}
