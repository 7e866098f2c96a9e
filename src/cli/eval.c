/* affect eval --predictions P.csv --labels Y.csv [--bootstrap N] [--seed S] [--level L]
 *             [--compare P2.csv] [--val-predictions VP.csv --val-labels VY.csv] [--json]
 *
 * Scores per-label probabilities against gold 0/1 labels: ROC AUC and average precision
 * per label, micro and macro, label support, and percentile bootstrap intervals for micro
 * and macro AUC (src/eval/metrics.h has the exact definitions). Columns are matched by
 * header name; an optional first column "id" or "text_id" must agree row by row. With
 * --compare, a paired bootstrap of macro AUC(P) - macro AUC(P2) on the same rows. With a
 * validation pair, per-label max-F1 thresholds chosen there and applied to P. */
#include "cli.h"
#include "common.h"
#include "core/util/error.h"
#include "core/util/json.h"
#include "eval/metrics.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *USAGE =
    "usage: affect eval --predictions P.csv --labels Y.csv [--bootstrap N] [--seed S] "
    "[--level 0.95] [--compare P2.csv] [--val-predictions VP.csv --val-labels VY.csv] [--json]\n";

typedef struct eval_opts {
    const char *pred, *labels, *compare, *val_pred, *val_labels;
    size_t bootstrap;
    uint64_t seed;
    double level;
    int json;
} eval_opts;

static int usage_error(const char *msg, const char *arg) {
    fprintf(stderr, "affect eval: %s%s%s\n%s", msg, arg ? " " : "", arg ? arg : "", USAGE);
    return 2;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out) {
    if (!s || *s < '0' || *s > '9') return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno || v > max) return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, eval_opts *o) {
    memset(o, 0, sizeof *o);
    o->bootstrap = 1000;
    o->level = 0.95;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) { o->json = 1; continue; }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(USAGE, stdout); return -1; }
        if (i + 1 >= argc) return usage_error("missing value for", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--predictions")) o->pred = v;
        else if (!strcmp(a, "--labels")) o->labels = v;
        else if (!strcmp(a, "--compare")) o->compare = v;
        else if (!strcmp(a, "--val-predictions")) o->val_pred = v;
        else if (!strcmp(a, "--val-labels")) o->val_labels = v;
        else if (!strcmp(a, "--bootstrap")) {
            uint64_t n;
            if (parse_u64(v, 100000000, &n)) return usage_error("--bootstrap needs a count (0 = none), got", v);
            o->bootstrap = (size_t)n;
        } else if (!strcmp(a, "--seed")) {
            if (parse_u64(v, UINT64_MAX, &o->seed)) return usage_error("--seed needs a non-negative integer, got", v);
        } else if (!strcmp(a, "--level")) {
            char *end;
            o->level = strtod(v, &end);
            if (*end || !(o->level > 0.0 && o->level < 1.0)) return usage_error("--level must be in (0,1), got", v);
        } else return usage_error("unknown option", a);
    }
    if (!o->pred || !o->labels) return usage_error("--predictions and --labels are required", NULL);
    if (!o->val_pred != !o->val_labels) return usage_error("--val-predictions and --val-labels go together", NULL);
    return 0;
}

/* Gold cells must be exactly 0 or 1: anything else is a file:line error, not a silently
 * thresholded label. */
static int check_labels(const eval_csv_matrix *y, const char *path, affect_error *err) {
    for (size_t i = 0; i < y->rows; i++)
        for (size_t j = 0; j < y->cols; j++) {
            double v = y->v[i * y->cols + j];
            if (v != 0.0 && v != 1.0)
                return affect_fail(err, AFFECT_EFORMAT, "%s:%zu: column '%s': label %.17g is not 0 or 1", path,
                                   y->line[i], y->names[j], v);
        }
    if (y->rows == 0) return affect_fail(err, AFFECT_EFORMAT, "%s: no data rows", path);
    return 0;
}

/* Reorders the prediction columns into the gold file's order (matched by name) and checks
 * that rows line up: same count, and the same ids where both files have an id column. */
static int align(const eval_csv_matrix *p, const char *ppath, const eval_csv_matrix *y, const char *ypath,
                 double **out, affect_error *err) {
    *out = NULL;
    for (size_t j = 0; j < y->cols; j++)
        if (eval_csv_matrix_column(p, y->names[j]) < 0)
            return affect_fail(err, AFFECT_EFORMAT, "%s: no column for label '%s' (in %s)", ppath, y->names[j], ypath);
    for (size_t j = 0; j < p->cols; j++)
        if (eval_csv_matrix_column(y, p->names[j]) < 0)
            return affect_fail(err, AFFECT_EFORMAT, "%s: no column for label '%s' (in %s)", ypath, p->names[j], ppath);
    if (p->rows != y->rows)
        return affect_fail(err, AFFECT_EFORMAT, "%s has %zu rows but %s has %zu", ppath, p->rows, ypath, y->rows);
    if (p->ids && y->ids)
        for (size_t i = 0; i < y->rows; i++)
            if (strcmp(p->ids[i], y->ids[i]))
                return affect_fail(err, AFFECT_EFORMAT, "%s:%zu: id '%s' but %s:%zu has id '%s'", ppath, p->line[i],
                                   p->ids[i], ypath, y->line[i], y->ids[i]);
    if (y->rows && y->cols > SIZE_MAX / sizeof(double) / y->rows)
        return affect_fail(err, AFFECT_ENOMEM, "%s: too large", ppath);
    size_t cells = y->rows * y->cols;
    double *P = malloc((cells ? cells : 1) * sizeof *P);
    if (!P) return affect_fail(err, AFFECT_ENOMEM, "%s: out of memory", ppath);
    for (size_t j = 0; j < y->cols; j++) {
        size_t src = (size_t)eval_csv_matrix_column(p, y->names[j]);
        for (size_t i = 0; i < y->rows; i++) P[i * y->cols + j] = p->v[i * p->cols + src];
    }
    *out = P;
    return 0;
}

/* Reads a predictions/labels pair into aligned row-major matrices. */
static int load_pair(const char *ppath, const char *ypath, eval_csv_matrix *y, double **P, affect_error *err) {
    eval_csv_matrix p;
    int rc = eval_csv_matrix_read(ypath, y, err);
    if (rc) return rc;
    if ((rc = check_labels(y, ypath, err))) { eval_csv_matrix_free(y); return rc; }
    if ((rc = eval_csv_matrix_read(ppath, &p, err))) { eval_csv_matrix_free(y); return rc; }
    rc = align(&p, ppath, y, ypath, P, err);
    eval_csv_matrix_free(&p);
    if (rc) eval_csv_matrix_free(y);
    return rc;
}

static void jnum(json_buf *b, double v) {
    if (isfinite(v)) json_buf_printf(b, "%.17g", v);
    else json_buf_append(b, "null", 4);
}

static void jarr(json_buf *b, const char *key, const double *v, size_t n) {
    json_buf_printf(b, ",\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        if (i) json_buf_append(b, ",", 1);
        jnum(b, v[i]);
    }
    json_buf_append(b, "]", 1);
}

static void jpair(json_buf *b, const char *key, double lo, double hi) {
    json_buf_printf(b, ",\"%s\":[", key);
    jnum(b, lo);
    json_buf_append(b, ",", 1);
    jnum(b, hi);
    json_buf_append(b, "]", 1);
}

static void print_num(double v, int width) {
    if (isfinite(v)) printf("%*.4f", width, v);
    else printf("%*s", width, "n/a");
}

typedef struct thr_out { double *thr, *val_f1, *f1, *prec, *rec; } thr_out;

/* Chooses each label's threshold on the validation pair and applies it to the test rows. */
static int thresholds(const eval_opts *o, const eval_csv_matrix *y, const double *P, thr_out *t, affect_error *err) {
    eval_csv_matrix vy;
    double *VP = NULL;
    int rc = load_pair(o->val_pred, o->val_labels, &vy, &VP, err);
    if (rc) return rc;
    size_t L = y->cols;
    if (vy.cols != L)
        rc = affect_fail(err, AFFECT_EFORMAT, "%s: %zu labels, but %s has %zu", o->val_labels, vy.cols, o->labels, L);
    for (size_t j = 0; j < L && !rc; j++)
        if (eval_csv_matrix_column(&vy, y->names[j]) < 0)
            rc = affect_fail(err, AFFECT_EFORMAT, "%s: no column for label '%s' (in %s)", o->val_labels, y->names[j], o->labels);
    double *all = rc ? NULL : malloc(5 * L * sizeof *all);
    if (!rc && !all) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory");
    if (!rc) {
        t->thr = all; t->val_f1 = all + L; t->f1 = all + 2 * L; t->prec = all + 3 * L; t->rec = all + 4 * L;
        for (size_t j = 0; j < L && !rc; j++) {
            eval_prf prf;
            size_t vj = (size_t)eval_csv_matrix_column(&vy, y->names[j]);
            rc = eval_choose_threshold(VP + vj, vy.v + vj, vy.rows, L, &t->thr[j], &t->val_f1[j], err);
            if (!rc) rc = eval_prf_at(P + j, y->v + j, y->rows, L, t->thr[j], &prf, err);
            if (!rc) { t->f1[j] = prf.f1; t->prec[j] = prf.precision; t->rec[j] = prf.recall; }
        }
        if (rc) { free(all); t->thr = NULL; }
    }
    free(VP);
    eval_csv_matrix_free(&vy);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    if (cli_eval_model_wanted(argc, argv)) return cmd_eval_model(argc, argv);
    eval_opts o;
    int prc = parse_args(argc, argv, &o);
    if (prc) return prc < 0 ? 0 : prc;
    affect_error err = {0};
    eval_csv_matrix y;
    double *P = NULL, *P2 = NULL;
    eval_summary s = {0};
    eval_bootstrap_result br;
    thr_out t = {0};
    int rc = load_pair(o.pred, o.labels, &y, &P, &err);
    if (rc) return cli_error("eval", &err);
    size_t n = y.rows, L = y.cols;
    if (o.compare) {
        eval_csv_matrix p2;
        if ((rc = eval_csv_matrix_read(o.compare, &p2, &err))) goto fail;
        rc = align(&p2, o.compare, &y, o.labels, &P2, &err);
        eval_csv_matrix_free(&p2);
        if (rc) goto fail;
    }
    if ((rc = eval_summary_compute(&s, P, y.v, n, L, &err))) goto fail;
    memset(&br, 0, sizeof br);
    br.micro_auc.lo = br.micro_auc.hi = br.macro_auc.lo = br.macro_auc.hi = NAN;
    br.diff = br.diff_ci.lo = br.diff_ci.hi = br.frac_diff_le0 = NAN;
    if (o.bootstrap && (rc = eval_bootstrap_auc(P, P2, y.v, n, L, o.bootstrap, o.seed, o.level, &br, &err))) goto fail;
    if (P2 && !o.bootstrap) {
        eval_summary s2;
        if ((rc = eval_summary_compute(&s2, P2, y.v, n, L, &err))) goto fail;
        br.diff = s.macro_auc - s2.macro_auc;
        eval_summary_free(&s2);
    }
    if (o.val_pred && (rc = thresholds(&o, &y, P, &t, &err))) goto fail;

    if (o.json) {
        json_buf b = {0};
        json_buf_append(&b, "{\"micro_auc\":", 13);
        jnum(&b, s.micro_auc);
        json_buf_append(&b, ",\"macro_auc\":", 13);
        jnum(&b, s.macro_auc);
        jarr(&b, "per_label_auc", s.per_label_auc, L);
        json_buf_append(&b, ",\"label_names\":[", 16);
        for (size_t j = 0; j < L; j++) {
            if (j) json_buf_append(&b, ",", 1);
            json_buf_string(&b, y.names[j], strlen(y.names[j]));
        }
        json_buf_append(&b, "],\"undefined_labels\":[", 22);
        int first = 1;
        for (size_t j = 0; j < L; j++)
            if (isnan(s.per_label_auc[j])) {
                if (!first) json_buf_append(&b, ",", 1);
                first = 0;
                json_buf_string(&b, y.names[j], strlen(y.names[j]));
            }
        json_buf_append(&b, "],\"micro_ap\":", 13);
        jnum(&b, s.micro_ap);
        json_buf_append(&b, ",\"macro_ap\":", 12);
        jnum(&b, s.macro_ap);
        jarr(&b, "per_label_ap", s.per_label_ap, L);
        json_buf_append(&b, ",\"support\":[", 12);
        for (size_t j = 0; j < L; j++) json_buf_printf(&b, "%s%zu", j ? "," : "", s.support[j]);
        json_buf_append(&b, "]", 1);
        jpair(&b, "micro_auc_ci", br.micro_auc.lo, br.micro_auc.hi);
        jpair(&b, "macro_auc_ci", br.macro_auc.lo, br.macro_auc.hi);
        json_buf_printf(&b, ",\"n_rows\":%zu,\"bootstrap\":{\"resamples\":%zu,\"seed\":%llu,\"level\":%.17g,"
                            "\"micro_used\":%zu,\"macro_used\":%zu}",
                        n, o.bootstrap, (unsigned long long)o.seed, o.level, br.micro_auc.used, br.macro_auc.used);
        if (P2) {
            json_buf_append(&b, ",\"compare\":{\"macro_auc_diff\":", 29);
            jnum(&b, br.diff);
            jpair(&b, "macro_auc_diff_ci", br.diff_ci.lo, br.diff_ci.hi);
            json_buf_append(&b, ",\"frac_diff_le0\":", 17);
            jnum(&b, br.frac_diff_le0);
            json_buf_printf(&b, ",\"used\":%zu}", br.diff_ci.used);
        }
        if (t.thr) {
            jarr(&b, "thresholds", t.thr, L);
            jarr(&b, "val_f1", t.val_f1, L);
            jarr(&b, "f1", t.f1, L);
            jarr(&b, "precision", t.prec, L);
            jarr(&b, "recall", t.rec, L);
        }
        if (json_buf_append(&b, "}\n", 2)) {
            json_buf_free(&b);
            rc = affect_fail(&err, AFFECT_ENOMEM, "out of memory writing JSON");
            goto fail;
        }
        fwrite(b.data, 1, b.len, stdout);
        json_buf_free(&b);
    } else {
        int pct = (int)lround(o.level * 100);
        printf("%zu rows, %zu labels", n, L);
        if (o.bootstrap) printf("; %d%% intervals from %zu bootstrap resamples (seed %llu)", pct, o.bootstrap, (unsigned long long)o.seed);
        printf("\n\n");
        printf("micro AUC "); print_num(s.micro_auc, 8);
        if (o.bootstrap) { printf("   ["); print_num(br.micro_auc.lo, 6); printf(","); print_num(br.micro_auc.hi, 7); printf("]"); }
        printf("\nmacro AUC "); print_num(s.macro_auc, 8);
        if (o.bootstrap) { printf("   ["); print_num(br.macro_auc.lo, 6); printf(","); print_num(br.macro_auc.hi, 7); printf("]"); }
        printf("  (%zu of %zu labels defined)\n", s.n_defined_auc, L);
        printf("micro AP  "); print_num(s.micro_ap, 8);
        printf("\nmacro AP  "); print_num(s.macro_ap, 8);
        printf("\n");
        if (P2) {
            printf("macro AUC difference vs %s ", o.compare); print_num(br.diff, 8);
            if (o.bootstrap) {
                printf("   ["); print_num(br.diff_ci.lo, 7); printf(","); print_num(br.diff_ci.hi, 8);
                printf("]  share of resamples <= 0: "); print_num(br.frac_diff_le0, 6);
            }
            printf("\n");
        }
        size_t w = 5;
        for (size_t j = 0; j < L; j++) if (strlen(y.names[j]) > w) w = strlen(y.names[j]);
        printf("\n%-*s %8s %8s %8s", (int)w, "label", "AUC", "AP", "support");
        if (t.thr) printf(" %9s %8s %8s %8s", "threshold", "F1", "prec", "recall");
        printf("\n");
        for (size_t j = 0; j < L; j++) {
            printf("%-*s ", (int)w, y.names[j]);
            print_num(s.per_label_auc[j], 8); printf(" ");
            print_num(s.per_label_ap[j], 8);
            printf(" %8zu", s.support[j]);
            if (t.thr) {
                printf(" "); print_num(t.thr[j], 9); printf(" "); print_num(t.f1[j], 8);
                printf(" "); print_num(t.prec[j], 8); printf(" "); print_num(t.rec[j], 8);
            }
            if (isnan(s.per_label_auc[j])) printf("  (AUC undefined: one class)");
            printf("\n");
        }
    }
    rc = 0;
fail:
    free(t.thr);
    eval_summary_free(&s);
    free(P);
    free(P2);
    eval_csv_matrix_free(&y);
    return rc ? cli_error("eval", &err) : 0;
}
