/* Reading a run folder's analysis_metrics.json: the reference keys are required with their
 * exact types (so a file the research notebook could not read is caught here too); the added
 * keys are optional and read as NaN when absent or null. */
#include "report/compare.h"
#include "core/util/blob.h"
#include "core/util/error.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void report_run_free(report_run *r) {
    if (!r) return;
    if (r->label_names)
        for (size_t j = 0; j < r->n_labels; j++) free(r->label_names[j]);
    free(r->label_names);
    free(r->per_label_auc);
    free(r->support);
    free(r->dir);
    free(r->name);
    free(r->model);
    free(r->config);
    free(r->timestamp);
    memset(r, 0, sizeof *r);
}

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) { memcpy(d, s, n); d[n] = 0; }
    return d;
}

/* The folder's last component, ignoring trailing slashes: "runs/minilm/" -> "minilm". */
static char *base_name(const char *dir) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    size_t s = n;
    while (s > 0 && dir[s - 1] != '/') s--;
    return dup_n(dir + s, n - s);
}

/* A number key that may be absent or null (NaN then); any other type is an error. */
static int opt_number(const json_value *root, const char *key, double *out, const char *path,
                      affect_error *err) {
    const json_value *v = json_get(root, key);
    *out = NAN;
    if (!v || v->type == JSON_NULL) return 0;
    if (v->type != JSON_NUMBER)
        return affect_fail(err, AFFECT_EFORMAT, "%s: \"%s\" must be a number or null", path, key);
    *out = v->number;
    return 0;
}

/* An interval [lo, hi] that may be absent; null bounds read as NaN. */
static int opt_pair(const json_value *root, const char *key, double out[2], const char *path,
                    affect_error *err) {
    const json_value *v = json_get(root, key);
    out[0] = out[1] = NAN;
    if (!v || v->type == JSON_NULL) return 0;
    if (v->type != JSON_ARRAY || v->len != 2)
        return affect_fail(err, AFFECT_EFORMAT, "%s: \"%s\" must be a list [lo, hi]", path, key);
    for (int k = 0; k < 2; k++) {
        if (v->items[k].type == JSON_NUMBER) out[k] = v->items[k].number;
        else if (v->items[k].type != JSON_NULL)
            return affect_fail(err, AFFECT_EFORMAT, "%s: \"%s\"[%d] must be a number or null", path, key, k);
    }
    return 0;
}

static int req_string(const json_value *root, const char *key, char **out, const char *path,
                      affect_error *err) {
    const json_value *v = json_get(root, key);
    if (!v) return affect_fail(err, AFFECT_EFORMAT, "%s: reference key \"%s\" is missing", path, key);
    if (v->type != JSON_STRING) return affect_fail(err, AFFECT_EFORMAT, "%s: \"%s\" must be a string", path, key);
    if (memchr(v->str, 0, v->len)) return affect_fail(err, AFFECT_EFORMAT, "%s: \"%s\" contains a NUL character", path, key);
    if (!(*out = dup_n(v->str, v->len))) return affect_fail(err, AFFECT_ENOMEM, "%s: out of memory", path);
    return 0;
}

/* An AUC must be a probability; anything outside [0,1] means the file is not what it claims. */
static int check_auc(double v, const char *what, const char *path, affect_error *err) {
    if (isnan(v) || (v >= 0.0 && v <= 1.0)) return 0;
    return affect_fail(err, AFFECT_EFORMAT, "%s: %s is %.17g, outside [0, 1]", path, what, v);
}

static int parse_metrics(report_run *r, const json_value *root, const char *path, affect_error *err) {
    if (root->type != JSON_OBJECT) return affect_fail(err, AFFECT_EFORMAT, "%s: expected a JSON object", path);
    int rc;
    if ((rc = req_string(root, "model", &r->model, path, err))) return rc;
    if ((rc = req_string(root, "config", &r->config, path, err))) return rc;
    const json_value *ts = json_get(root, "timestamp");
    if (ts && ts->type == JSON_STRING && !memchr(ts->str, 0, ts->len) && !(r->timestamp = dup_n(ts->str, ts->len)))
        return affect_fail(err, AFFECT_ENOMEM, "%s: out of memory", path);
    const char *need[] = {"micro_auc", "macro_auc", "per_label_auc", "label_names"};
    for (size_t k = 0; k < sizeof need / sizeof need[0]; k++)
        if (!json_get(root, need[k])) return affect_fail(err, AFFECT_EFORMAT, "%s: reference key \"%s\" is missing", path, need[k]);
    if ((rc = opt_number(root, "micro_auc", &r->micro_auc, path, err))) return rc;
    if ((rc = opt_number(root, "macro_auc", &r->macro_auc, path, err))) return rc;
    if ((rc = check_auc(r->micro_auc, "micro_auc", path, err))) return rc;
    if ((rc = check_auc(r->macro_auc, "macro_auc", path, err))) return rc;
    if ((rc = opt_pair(root, "micro_auc_ci", r->micro_ci, path, err))) return rc;
    if ((rc = opt_pair(root, "macro_auc_ci", r->macro_ci, path, err))) return rc;
    if ((rc = opt_number(root, "model_bytes", &r->model_bytes, path, err))) return rc;
    if ((rc = opt_number(root, "latency_ms", &r->latency_ms, path, err))) return rc;
    if ((rc = opt_number(root, "n_params", &r->n_params, path, err))) return rc;
    if ((rc = opt_number(root, "n_rows", &r->n_rows, path, err))) return rc;
    if (r->model_bytes < 0) return affect_fail(err, AFFECT_EFORMAT, "%s: model_bytes is negative", path);

    const json_value *names = json_get(root, "label_names"), *aucs = json_get(root, "per_label_auc");
    if (names->type != JSON_ARRAY) return affect_fail(err, AFFECT_EFORMAT, "%s: \"label_names\" must be a list", path);
    if (aucs->type != JSON_ARRAY) return affect_fail(err, AFFECT_EFORMAT, "%s: \"per_label_auc\" must be a list", path);
    if (names->len != aucs->len)
        return affect_fail(err, AFFECT_EFORMAT, "%s: %zu label_names but %zu per_label_auc values", path, names->len, aucs->len);
    if (names->len == 0) return affect_fail(err, AFFECT_EFORMAT, "%s: label_names is empty", path);
    size_t L = names->len;
    r->label_names = calloc(L, sizeof *r->label_names);
    r->per_label_auc = malloc(L * sizeof *r->per_label_auc);
    if (!r->label_names || !r->per_label_auc) return affect_fail(err, AFFECT_ENOMEM, "%s: out of memory for %zu labels", path, L);
    r->n_labels = L;
    for (size_t j = 0; j < L; j++) {
        const json_value *n = &names->items[j], *a = &aucs->items[j];
        if (n->type != JSON_STRING || n->len == 0 || memchr(n->str, 0, n->len))
            return affect_fail(err, AFFECT_EFORMAT, "%s: label_names[%zu] must be a non-empty string", path, j);
        if (!(r->label_names[j] = dup_n(n->str, n->len))) return affect_fail(err, AFFECT_ENOMEM, "%s: out of memory", path);
        for (size_t k = 0; k < j; k++)
            if (!strcmp(r->label_names[k], r->label_names[j]))
                return affect_fail(err, AFFECT_EFORMAT, "%s: label '%s' appears twice in label_names", path, r->label_names[j]);
        if (a->type == JSON_NULL) r->per_label_auc[j] = NAN;
        else if (a->type == JSON_NUMBER) r->per_label_auc[j] = a->number;
        else return affect_fail(err, AFFECT_EFORMAT, "%s: per_label_auc[%zu] ('%s') must be a number or null", path, j, r->label_names[j]);
        char what[64];
        snprintf(what, sizeof what, "per_label_auc[%zu]", j);
        if ((rc = check_auc(r->per_label_auc[j], what, path, err))) return rc;
    }
    /* optional: positives per label, so a reader can tell a 0.95 from 2 positives from one
     * from 90 */
    r->support = malloc(L * sizeof *r->support);
    if (!r->support) return affect_fail(err, AFFECT_ENOMEM, "%s: out of memory for %zu labels", path, L);
    const json_value *sup = json_get(root, "support");
    for (size_t j = 0; j < L; j++) r->support[j] = NAN;
    if (sup && sup->type != JSON_NULL) {
        if (sup->type != JSON_ARRAY || sup->len != L)
            return affect_fail(err, AFFECT_EFORMAT, "%s: \"support\" must be a list of %zu counts", path, L);
        for (size_t j = 0; j < L; j++) {
            const json_value *v = &sup->items[j];
            if (v->type != JSON_NUMBER || !(v->number >= 0) || v->number != floor(v->number))
                return affect_fail(err, AFFECT_EFORMAT, "%s: support[%zu] must be a count", path, j);
            r->support[j] = v->number;
        }
    }
    return 0;
}

int report_run_load(report_run *r, const char *dir, affect_error *err) {
    memset(r, 0, sizeof *r);
    r->micro_auc = r->macro_auc = NAN;
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/analysis_metrics.json", dir);
    if (n < 0 || (size_t)n >= sizeof path) return affect_fail(err, AFFECT_EARG, "run folder path is too long: %.64s...", dir);
    if (!affect_file_exists(path))
        return affect_fail(err, AFFECT_ENOTFOUND, "%s: not a run folder (no analysis_metrics.json)", dir);
    r->dir = dup_n(dir, strlen(dir));
    r->name = base_name(dir);
    if (!r->dir || !r->name) { report_run_free(r); return affect_fail(err, AFFECT_ENOMEM, "out of memory"); }
    char *text = NULL;
    size_t len = 0;
    int rc = affect_read_file(path, &text, &len, err);
    if (rc) { report_run_free(r); return rc; }
    json_doc *doc = NULL;
    rc = json_parse(&doc, text, len, err);
    if (rc) {
        /* the parser names line and column; prefix the file */
        affect_error e2 = *err;
        affect_fail(err, rc, "%s: %s", path, e2.msg);
    } else {
        rc = parse_metrics(r, json_root(doc), path, err);
    }
    json_free(doc);
    free(text);
    if (rc) report_run_free(r);
    return rc;
}
