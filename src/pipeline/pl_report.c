/* The run folder's results: predictions.csv and labels.csv on the Lemotif test split, and
 * analysis_metrics.json with the reference keys (model, config, timestamp, micro_auc,
 * macro_auc, per_label_auc, label_names) and the added ones of notes/runfolder.md. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eval/metrics.h"
#include "pipeline/pl_report.h"
#include "util/error.h"
#include "util/json.h"

/* Appends a string literal. */
#define JS(b, lit) json_buf_append((b), (lit), sizeof(lit) - 1)

/* A CSV field, quoted (RFC 4180) only when it has to be. */
static void csv_field(json_buf *b, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        json_buf_append(b, s, strlen(s));
        return;
    }
    JS(b, "\"");
    for (const char *p = s; *p; p++) {
        if (*p == '"') JS(b, "\"");
        json_buf_append(b, p, 1);
    }
    JS(b, "\"");
}

int pl_write_predictions(const char *run_dir, const affect_dataset *test, const double *P, const double *I,
                         affect_error *err) {
    size_t n = test->n, L = (size_t)test->num_labels;
    json_buf p = {0}, y = {0};
    JS(&p, "id");
    JS(&y, "id");
    for (size_t l = 0; l < L; l++) {
        JS(&p, ",");
        csv_field(&p, test->label_names[l]);
        JS(&y, ",");
        csv_field(&y, test->label_names[l]);
    }
    JS(&p, ",intensity\n");
    JS(&y, "\n");
    for (size_t i = 0; i < n; i++) {
        csv_field(&p, test->id[i]);
        csv_field(&y, test->id[i]);
        for (size_t l = 0; l < L; l++) {
            json_buf_printf(&p, ",%.9g", P[i * L + l]);
            json_buf_printf(&y, ",%d", test->labels[i * L + l] > 0.5f ? 1 : 0);
        }
        double v = I ? I[i] : 0.0;
        v = v < 0 ? 0 : v > 1 ? 1 : v;
        json_buf_printf(&p, ",%.9g\n", v);
        if (JS(&y, "\n")) break;
    }
    int rc = 0;
    if (!p.data || !y.data) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory writing predictions");
    char path[PL_PATH];
    if (!rc) rc = pl_path(path, sizeof path, err, "%s/predictions.csv", run_dir);
    if (!rc) rc = pl_write_atomic(path, p.data, p.len, err);
    if (!rc) rc = pl_path(path, sizeof path, err, "%s/labels.csv", run_dir);
    if (!rc) rc = pl_write_atomic(path, y.data, y.len, err);
    json_buf_free(&p);
    json_buf_free(&y);
    return rc;
}

static void jnum(json_buf *b, double v) {
    if (isfinite(v)) json_buf_printf(b, "%.17g", v);
    else JS(b, "null");
}

static void jarr(json_buf *b, const char *key, const double *v, size_t n) {
    json_buf_printf(b, ",\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        if (i) JS(b, ",");
        jnum(b, v[i]);
    }
    JS(b, "]");
}

static void jstr(json_buf *b, const char *key, const char *s) {
    json_buf_printf(b, ",\"%s\":", key);
    json_buf_string(b, s, strlen(s));
}

int pl_metrics_json(const pl_metrics_in *in, json_buf *out, affect_error *err) {
    memset(out, 0, sizeof *out);
    size_t n = in->test->n, L = (size_t)in->test->num_labels;
    double *Y = malloc((n ? n : 1) * (L ? L : 1) * sizeof *Y);
    if (!Y) return affect_fail(err, AFFECT_ENOMEM, "out of memory for the metrics");
    for (size_t i = 0; i < n * L; i++) Y[i] = in->test->labels[i] > 0.5f ? 1.0 : 0.0;
    eval_summary s;
    memset(&s, 0, sizeof s);
    int rc = eval_summary_compute(&s, in->P, Y, n, L, err);
    eval_bootstrap_result br;
    memset(&br, 0, sizeof br);
    br.micro_auc.lo = br.micro_auc.hi = br.macro_auc.lo = br.macro_auc.hi = NAN;
    if (!rc && n > 0) rc = eval_bootstrap_auc(in->P, NULL, Y, n, L, 1000, 0, 0.95, &br, err);

    /* thresholds: max-F1 on the validation split, applied to the test split */
    double *thr = calloc(L ? 5 * L : 1, sizeof *thr);
    double *val_f1 = thr + L, *f1 = thr + 2 * L, *prec = thr + 3 * L, *rec = thr + 4 * L;
    size_t nv = in->val ? in->val->n : 0;
    double *VY = malloc((nv ? nv : 1) * (L ? L : 1) * sizeof *VY);
    if (!rc && (!thr || !VY)) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory for the metrics");
    size_t tp = 0, fp = 0, fn = 0;
    double macro_f1 = 0;
    if (!rc && in->val) {
        for (size_t i = 0; i < in->val->n * L; i++) VY[i] = in->val->labels[i] > 0.5f ? 1.0 : 0.0;
        for (size_t j = 0; j < L && !rc; j++) {
            eval_prf prf;
            rc = eval_choose_threshold(in->VP + j, VY + j, in->val->n, L, &thr[j], &val_f1[j], err);
            if (!rc) rc = eval_prf_at(in->P + j, Y + j, n, L, thr[j], &prf, err);
            if (!rc) {
                f1[j] = prf.f1;
                prec[j] = prf.precision;
                rec[j] = prf.recall;
                tp += prf.tp;
                fp += prf.fp;
                fn += prf.fn;
                macro_f1 += prf.f1;
            }
        }
    }
    json_buf b = {0};
    if (!rc) {
        char ts[64];
        pl_timestamp(ts, sizeof ts);
        JS(&b, "{\"model\":");
        json_buf_string(&b, in->model, strlen(in->model));
        jstr(&b, "config", in->config);
        jstr(&b, "timestamp", ts);
        JS(&b, ",\"micro_auc\":");
        jnum(&b, s.micro_auc);
        JS(&b, ",\"macro_auc\":");
        jnum(&b, s.macro_auc);
        jarr(&b, "per_label_auc", s.per_label_auc, L);
        JS(&b, ",\"label_names\":[");
        for (size_t j = 0; j < L; j++) {
            if (j) JS(&b, ",");
            json_buf_string(&b, in->test->label_names[j], strlen(in->test->label_names[j]));
        }
        JS(&b, "],\"undefined_labels\":[");
        int first = 1;
        for (size_t j = 0; j < L; j++)
            if (isnan(s.per_label_auc[j])) {
                if (!first) JS(&b, ",");
                first = 0;
                json_buf_string(&b, in->test->label_names[j], strlen(in->test->label_names[j]));
            }
        JS(&b, "]");
        JS(&b, ",\"micro_auc_ci\":[");
        jnum(&b, br.micro_auc.lo);
        JS(&b, ",");
        jnum(&b, br.micro_auc.hi);
        JS(&b, "],\"macro_auc_ci\":[");
        jnum(&b, br.macro_auc.lo);
        JS(&b, ",");
        jnum(&b, br.macro_auc.hi);
        JS(&b, "],\"ci_level\":0.95,\"bootstrap_resamples\":1000,\"bootstrap_seed\":0");
        JS(&b, ",\"micro_ap\":");
        jnum(&b, s.micro_ap);
        JS(&b, ",\"macro_ap\":");
        jnum(&b, s.macro_ap);
        jarr(&b, "per_label_ap", s.per_label_ap, L);
        JS(&b, ",\"support\":[");
        for (size_t j = 0; j < L; j++) json_buf_printf(&b, "%s%zu", j ? "," : "", s.support[j]);
        /* calibration in the large: the mean predicted probability beside the prevalence */
        JS(&b, "],\"mean_probability\":[");
        for (size_t j = 0; j < L; j++) {
            double m = 0;
            for (size_t i = 0; i < n; i++) m += in->P[i * L + j];
            if (j) JS(&b, ",");
            jnum(&b, n ? m / (double)n : NAN);
        }
        json_buf_printf(&b, "],\"n_rows\":%zu,\"n_params\":%zu,\"model_bytes\":%lld,\"latency_ms\":", n, in->n_params,
                        (long long)in->model_bytes);
        jnum(&b, in->latency_ms);
        if (in->val) {
            jarr(&b, "thresholds", thr, L);
            jarr(&b, "val_f1", val_f1, L);
            jarr(&b, "f1", f1, L);
            jarr(&b, "precision", prec, L);
            jarr(&b, "recall", rec, L);
            double mi_p = tp + fp ? (double)tp / (double)(tp + fp) : 0,
                   mi_r = tp + fn ? (double)tp / (double)(tp + fn) : 0;
            JS(&b, ",\"micro_f1\":");
            jnum(&b, mi_p + mi_r > 0 ? 2 * mi_p * mi_r / (mi_p + mi_r) : 0);
            JS(&b, ",\"macro_f1\":");
            jnum(&b, L ? macro_f1 / (double)L : NAN);
        }
    }
    if (!rc && in->pearson) {
        JS(&b, ",\"intensity\":{\"dataset\":");
        const char *ds = in->intensity_dataset ? in->intensity_dataset : "emoint dev";
        json_buf_string(&b, ds, strlen(ds));
        JS(&b, ",\"pearson\":{");
        for (int g = 0; g < in->n_groups; g++) {
            if (g) JS(&b, ",");
            json_buf_string(&b, in->group_names[g], strlen(in->group_names[g]));
            JS(&b, ":");
            jnum(&b, in->pearson[g]);
        }
        JS(&b, "},\"mean\":");
        jnum(&b, in->pearson_mean);
        json_buf_printf(&b, ",\"n_rows\":%zu}", in->n_intensity_rows);
    }
    if (!rc) {
        if (in->extra_json) {
            JS(&b, ",");
            json_buf_append(&b, in->extra_json, strlen(in->extra_json));
        }
        if (JS(&b, "}\n")) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory writing metrics");
    }
    if (!rc && in->out_macro) *in->out_macro = s.macro_auc;
    if (!rc && in->out_micro) *in->out_micro = s.micro_auc;
    if (rc) json_buf_free(&b);
    else *out = b;
    free(thr);
    free(VY);
    free(Y);
    eval_summary_free(&s);
    return rc;
}

int pl_write_metrics(const char *run_dir, const pl_metrics_in *in, affect_error *err) {
    json_buf b;
    int rc = pl_metrics_json(in, &b, err);
    char path[PL_PATH];
    if (!rc) rc = pl_path(path, sizeof path, err, "%s/analysis_metrics.json", run_dir);
    if (!rc) rc = pl_write_atomic(path, b.data, b.len, err);
    json_buf_free(&b);
    return rc;
}
