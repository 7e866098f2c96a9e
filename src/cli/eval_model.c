/* affect eval MODEL|RUN --data SPEC [--json] [--out FILE]
 * affect eval MODEL|RUN --emoint GOLD.txt [GOLD2.txt ...] [--json]
 * affect eval --emoint-predictions PRED.txt --emoint GOLD.txt [...] [--json]
 *
 * Runs a trained model (a folder with heads, or a run folder: its final_model and
 * config.yaml) on a dataset and scores it with the code the pipeline uses for the run's own
 * analysis_metrics.json (pl_metrics_json), so `affect eval RUN --data lemotif:test` gives
 * the run's numbers and any other data set is scored on the same terms. The --emoint forms
 * score the WASSA-2017 EmoInt format (Pearson r per emotion and their mean) with the shared
 * task's scoring library (eval_emoint_score_text). */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "common.h"
#include "config/config.h"
#include "core/util/error.h"
#include "core/util/json.h"
#include "data/dataset.h"
#include "data/split.h"
#include "eval/metrics.h"
#include "model/model.h"
#include "native/atomic_file.h"
#include "pipeline/pl_report.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EM_BATCH 16 /* as `affect predict`, so both give the same numbers bit for bit */
#define EM_PATH 4096

static const char *USAGE =
    "usage: affect eval MODEL|RUN --data SPEC [--json] [--out FILE]\n"
    "       affect eval MODEL|RUN --emoint GOLD.txt [GOLD2.txt ...] [--json]\n"
    "       affect eval --emoint-predictions PRED.txt --emoint GOLD.txt [...] [--json]\n"
    "SPEC: lemotif:test | lemotif:val | lemotif:train | goemotions:test | goemotions:dev | emoint:dev | FILE\n";

static const char *VALID_SPECS =
    "lemotif:test, lemotif:val, lemotif:train, goemotions:test, goemotions:dev, emoint:dev, "
    "or a data file (CSV/TSV/JSONL with a text column, GoEmotions TSV, Lemotif CSV, EmoInt TXT)";

typedef struct em_opts {
    const char *model, *data, *out, *emoint_pred;
    const char **gold;
    int n_gold, json;
} em_opts;

/* The run's settings that decide which rows a SPEC names. */
typedef struct em_ctx {
    affect_run_config cfg;
    int have_cfg;            /* 1: from a run's config.yaml; 0: defaults */
    char cfg_path[EM_PATH];
    char model_dir[EM_PATH];
    char model_name[EM_PATH];  /* the "model" key */
    const char *config_name; /* the "config" key */
} em_ctx;

static int usage_error(const char *msg, const char *arg) {
    fprintf(stderr, "affect eval: %s%s%s\n%s", msg, arg ? " " : "", arg ? arg : "", USAGE);
    return 2;
}

static int is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Whether `argv` asks for this file's forms rather than the --predictions/--labels one. */
int cli_eval_model_wanted(int argc, char **argv) {
    if (argc > 1 && argv[1][0] != '-') return 1;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--data") || !strcmp(argv[i], "--emoint") || !strcmp(argv[i], "--emoint-predictions"))
            return 1;
    return 0;
}

static int parse_args(int argc, char **argv, em_opts *o) {
    memset(o, 0, sizeof *o);
    o->gold = calloc((size_t)argc, sizeof *o->gold);
    if (!o->gold) return usage_error("out of memory", NULL);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) o->json = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(USAGE, stdout); return -1; }
        else if (!strcmp(a, "--emoint")) {
            while (i + 1 < argc && argv[i + 1][0] != '-') o->gold[o->n_gold++] = argv[++i];
            if (o->n_gold == 0) return usage_error("--emoint needs one or more gold files", NULL);
        } else if (!strcmp(a, "--data") || !strcmp(a, "--out") || !strcmp(a, "--emoint-predictions")) {
            if (i + 1 >= argc) return usage_error("missing value for", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--data")) o->data = v;
            else if (!strcmp(a, "--out")) o->out = v;
            else o->emoint_pred = v;
        } else if (a[0] != '-' && !o->model) o->model = a;
        else return usage_error("unknown argument", a);
    }
    if (o->emoint_pred) {
        if (!o->n_gold) return usage_error("--emoint-predictions needs --emoint GOLD.txt", NULL);
        if (o->model || o->data) return usage_error("--emoint-predictions scores a file; give no MODEL or --data", NULL);
        return 0;
    }
    if (!o->model) return usage_error("MODEL or RUN folder required", NULL);
    if (!o->data == !o->n_gold) return usage_error("give one of --data SPEC or --emoint GOLD.txt", NULL);
    if (o->out && !o->data) return usage_error("--out goes with --data", NULL);
    return 0;
}

/* ---- model and run ------------------------------------------------------------------------ */

/* MODEL may be a run folder (config.yaml + final_model/), a model folder inside one (its
 * parent's config.yaml then decides the splits), a model folder on its own, or a hub id. */
static int resolve(const char *spec, em_ctx *c, affect_error *err) {
    char p[EM_PATH];
    affect_run_config_defaults(&c->cfg);
    c->config_name = "";
    int n = snprintf(p, sizeof p, "%s/final_model", spec);
    if (n > 0 && (size_t)n < sizeof p && is_dir(p)) {
        snprintf(c->model_dir, sizeof c->model_dir, "%s", p);
        snprintf(c->cfg_path, sizeof c->cfg_path, "%s/config.yaml", spec);
    } else {
        int rc = cli_resolve_model(spec, c->model_dir, sizeof c->model_dir, err);
        if (rc) return rc;
        snprintf(p, sizeof p, "%s", c->model_dir);
        size_t L = strlen(p);
        while (L > 1 && p[L - 1] == '/') p[--L] = 0;
        char *slash = strrchr(p, '/');
        if (slash) *slash = 0;
        else snprintf(p, sizeof p, ".");
        n = snprintf(c->cfg_path, sizeof c->cfg_path, "%s/config.yaml", p);
        if (n < 0 || (size_t)n >= sizeof c->cfg_path) c->cfg_path[0] = 0;
    }
    snprintf(c->model_name, sizeof c->model_name, "%s", c->model_dir);
    if (c->cfg_path[0] && is_file(c->cfg_path)) {
        affect_run_config_free(&c->cfg);
        int rc = affect_run_config_load(c->cfg_path, &c->cfg, err);
        if (rc) return rc;
        c->have_cfg = 1;
        c->config_name = "config.yaml";
        if (c->cfg.model.name[0] && !c->cfg.model.scratch.enabled)
            snprintf(c->model_name, sizeof c->model_name, "%s", c->cfg.model.name);
        else if (c->cfg.model.scratch.enabled)
            snprintf(c->model_name, sizeof c->model_name, "scratch-%s-h%d-l%d", c->cfg.model.scratch.family,
                     c->cfg.model.scratch.hidden, c->cfg.model.scratch.layers);
    } else c->cfg_path[0] = 0;
    return 0;
}

/* Probabilities (n,L_model) and clamped intensities (n) of every row, in batches, with the
 * truncation the heads were trained with. Either output may be NULL. */
static int predict_rows(affect_model *m, const affect_dataset *d, double *P, double *I, affect_error *err) {
    int L = affect_model_num_labels(m), with_int = affect_model_has_intensity(m);
    const affect_heads_model *heads = affect_model_heads(m);
    int limit = affect_model_max_length(m);
    int maxlen = heads->max_length > 0 && heads->max_length < limit ? heads->max_length : limit;
    float *probs = malloc((size_t)EM_BATCH * (size_t)L * sizeof *probs), *inten = malloc(EM_BATCH * sizeof *inten);
    int rc = 0;
    if (!probs || !inten) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory for predictions");
    for (size_t at = 0; at < d->n && !rc; at += EM_BATCH) {
        int B = (int)(d->n - at < EM_BATCH ? d->n - at : EM_BATCH);
        affect_batch batch;
        memset(&batch, 0, sizeof batch);
        rc = affect_tokenizer_encode_batch(affect_model_tokenizer(m), (const char *const *)d->text + at,
                                           d->text_len + at, B, maxlen, 0, &batch, err);
        if (rc) break;
        rc = affect_model_predict(m, &batch, probs, with_int ? inten : NULL, err);
        for (int b = 0; b < B && !rc; b++) {
            if (P)
                for (int l = 0; l < L; l++) P[(at + (size_t)b) * (size_t)L + (size_t)l] = probs[(size_t)b * L + l];
            if (I) {
                double v = with_int ? inten[b] : 0.0;
                I[at + (size_t)b] = v < 0 ? 0 : v > 1 ? 1 : v;
            }
        }
        affect_batch_free(&batch);
    }
    free(probs);
    free(inten);
    return rc;
}

/* ---- data specs ---------------------------------------------------------------------------- */

/* The run's stage-2 corpus (data.custom when set, else Lemotif), sampled to data.max_rows
 * and split 70/15/15 exactly as the pipeline does (same seeds), so lemotif:test is the run's
 * test split row for row. part: 0 train, 1 val, 2 test. */
static int load_lemotif_part(const em_ctx *c, int part, affect_dataset *out, affect_dataset *val_out,
                             affect_error *err) {
    const affect_run_config *k = &c->cfg;
    pl_set all;
    memset(&all, 0, sizeof all);
    int rc;
    rc = pl_load_stage2(k, &all, err);
    uint64_t seed = (uint64_t)k->data.lemotif_split.seed;
    if (!rc) rc = pl_set_limit(&all, (size_t)k->data.max_rows, seed + 2, err);
    size_t n = all.ds.n;
    int32_t *pt = rc ? NULL : malloc((n ? n : 1) * sizeof *pt);
    size_t *idx = rc ? NULL : malloc((n ? n : 1) * sizeof *idx);
    if (!rc && (!pt || !idx)) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory splitting");
    double fr[3] = {k->data.lemotif_split.train, k->data.lemotif_split.val, k->data.lemotif_split.test};
    if (!rc) rc = affect_split_stratified(all.ds.labels, all.ds.label_mask, n, all.ds.num_labels, fr, 3, seed, pt, err);
    if (!rc) {
        size_t m = affect_split_rows(pt, n, part, idx);
        rc = affect_dataset_subset(&all.ds, idx, m, out, err);
    }
    if (!rc && val_out) {
        size_t m = affect_split_rows(pt, n, 1, idx);
        rc = affect_dataset_subset(&all.ds, idx, m, val_out, err);
    }
    free(pt);
    free(idx);
    pl_set_free(&all);
    return rc;
}

/* The header's column names of a CSV/TSV (simple quoted fields) or of a JSONL file's first
 * object, as a NULL-terminated malloc'd array. */
static int header_columns(const char *path, const char *fmt, char ***out, affect_error *err) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return affect_fail(err, AFFECT_ENOTFOUND, "%s: cannot open", path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, f);
    fclose(f);
    if (len <= 0) {
        free(line);
        return affect_fail(err, AFFECT_EFORMAT, "%s: empty file", path);
    }
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
    const char *s = line;
    if ((unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF) s += 3;
    char **cols = calloc((size_t)len + 2, sizeof *cols);
    int rc = cols ? 0 : affect_fail(err, AFFECT_ENOMEM, "out of memory");
    size_t nc = 0;
    if (!rc && !strcmp(fmt, "jsonl")) {
        json_doc *doc = NULL;
        rc = json_parse(&doc, s, strlen(s), err);
        const json_value *root = rc ? NULL : json_root(doc);
        if (!rc && root->type != JSON_OBJECT) rc = affect_fail(err, AFFECT_EFORMAT, "%s:1: not a JSON object", path);
        for (size_t i = 0; !rc && i < root->len; i++)
            if (!(cols[nc++] = strdup(root->keys[i]))) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory");
        json_free(doc);
    } else if (!rc) {
        char sep = !strcmp(fmt, "tsv") ? '\t' : ',';
        for (const char *p = s;;) {
            const char *e;
            char *cell;
            if (sep == ',' && *p == '"') {
                cell = malloc(strlen(p) + 1);
                size_t k = 0;
                const char *q = p + 1;
                while (cell && *q && !(q[0] == '"' && q[1] != '"')) {
                    if (q[0] == '"') q++;
                    cell[k++] = *q++;
                }
                if (cell) cell[k] = 0;
                e = *q ? q + 1 : q;
            } else {
                e = strchr(p, sep);
                if (!e) e = p + strlen(p);
                cell = strndup(p, (size_t)(e - p));
            }
            if (!cell) { rc = affect_fail(err, AFFECT_ENOMEM, "out of memory"); break; }
            cols[nc++] = cell;
            if (*e != sep) break;
            p = e + 1;
        }
    }
    free(line);
    if (rc && cols) {
        for (size_t i = 0; i < nc; i++) free(cols[i]);
        free(cols);
        cols = NULL;
    }
    *out = cols;
    return rc;
}

static int has_col(char **cols, const char *name) {
    for (size_t i = 0; cols[i]; i++)
        if (!strcmp(cols[i], name)) return 1;
    return 0;
}

static const char *ext_of(const char *path) {
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot + 1 : "";
}

/* A data file named on the command line, recognised by its content: a Lemotif CSV (header
 * with Answer.f1.*), a GoEmotions split (train|dev|test.tsv beside labels.txt), an EmoInt
 * file (4 tab fields ending in a number), else the generic reader with the columns
 * "text", optional "id", one 0/1 column per model label found, or a "labels" list column,
 * optional "intensity" and "emotion" (the intensity's group). */
static int load_file(const char *path, affect_model *m, affect_dataset *out, affect_error *err) {
    if (!is_file(path)) return affect_fail(err, AFFECT_ENOTFOUND, "%s: no such file", path);
    const char *ext = ext_of(path);
    const char *fmt = !strcmp(ext, "tsv") || !strcmp(ext, "txt") ? "tsv"
                      : !strcmp(ext, "jsonl") || !strcmp(ext, "json") ? "jsonl" : "csv";
    /* GoEmotions: <dir>/<split>.tsv with <dir>/labels.txt */
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!strcmp(ext, "tsv") && (!strcmp(base, "train.tsv") || !strcmp(base, "dev.tsv") || !strcmp(base, "test.tsv"))) {
        char dir[EM_PATH], lab[EM_PATH + 16], split[8];
        size_t dl = slash ? (size_t)(slash - path) : 1;
        if (dl >= sizeof dir) return affect_fail(err, AFFECT_EARG, "%s: path too long", path);
        memcpy(dir, slash ? path : ".", dl);
        dir[dl] = 0;
        snprintf(lab, sizeof lab, "%s/labels.txt", dir);
        snprintf(split, sizeof split, "%.*s", (int)(strlen(base) - 4), base);
        if (is_file(lab)) return affect_goemotions_load(dir, split, out, err);
    }
    char **cols = NULL;
    int rc = header_columns(path, fmt, &cols, err);
    if (rc) return rc;
    int ncols = 0;
    while (cols[ncols]) ncols++;
    int lemotif = 0;
    for (int i = 0; i < ncols; i++)
        if (!strncmp(cols[i], "Answer.f1.", 10)) lemotif = 1;
    char *endp = NULL;
    int emoint = !strcmp(fmt, "tsv") && ncols == 4 && (strtod(cols[3], &endp), endp != cols[3] && !*endp);
    if (lemotif) rc = affect_lemotif_load(path, out, err);
    else if (emoint) rc = affect_emoint_load_file(path, out, err);
    else if (!has_col(cols, "text")) {
        json_buf b = {0};
        for (int i = 0; i < ncols && i < 20; i++) json_buf_printf(&b, "%s'%s'", i ? ", " : "", cols[i]);
        rc = affect_fail(err, AFFECT_EFORMAT, "%s: no 'text' column (columns: %s)", path, b.data ? b.data : "");
        json_buf_free(&b);
    } else {
        int L = affect_model_num_labels(m);
        const char **lc = calloc((size_t)L + 1, sizeof *lc);
        int nl = 0;
        if (!lc) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory");
        for (int l = 0; l < L && lc; l++)
            if (has_col(cols, affect_model_label_name(m, l))) lc[nl++] = affect_model_label_name(m, l);
        affect_generic_spec sp;
        memset(&sp, 0, sizeof sp);
        sp.path = path;
        sp.format = fmt;
        sp.text_column = "text";
        sp.id_column = has_col(cols, "id") ? "id" : NULL;
        if (nl) {
            sp.label_columns = lc;
            sp.num_label_columns = nl;
        } else if (has_col(cols, "labels")) sp.labels_column = "labels";
        sp.intensity_column = has_col(cols, "intensity") ? "intensity" : NULL;
        sp.group_column = has_col(cols, "emotion") ? "emotion" : NULL;
        if (!rc && !nl && !sp.labels_column && !sp.intensity_column)
            rc = affect_fail(err, AFFECT_EFORMAT,
                             "%s: no column named after a model label, no 'labels' column and no 'intensity' column",
                             path);
        if (!rc) rc = affect_generic_load(&sp, out, err);
        free(lc);
    }
    for (int i = 0; i < ncols; i++) free(cols[i]);
    free(cols);
    return rc;
}

/* Loads the rows SPEC names into *d (and, for lemotif:test, the validation split into *val
 * for the thresholds). *seed_note says which split seed was used (messages / JSON). */
static int load_spec(const char *spec, em_ctx *c, affect_model *m, affect_dataset *d, affect_dataset *val,
                     int *has_val, int *bad_spec, affect_error *err) {
    *has_val = 0;
    *bad_spec = 0;
    char path[EM_PATH];
    int rc;
    int named = !strncmp(spec, "lemotif:", 8) || !strncmp(spec, "goemotions:", 11) || !strcmp(spec, "emoint:dev");
    if (named && (rc = affect_run_config_resolve(&c->cfg, AFFECT_RESOLVE_DATA, err))) return rc;
    if (!strncmp(spec, "lemotif:", 8)) {
        const char *p = spec + 8;
        int part = !strcmp(p, "train") ? 0 : !strcmp(p, "val") ? 1 : !strcmp(p, "test") ? 2 : -1;
        if (part < 0) {
            *bad_spec = 1;
            return affect_fail(err, AFFECT_EARG, "unknown data spec '%s'; valid: %s", spec, VALID_SPECS);
        }
        if (!c->have_cfg)
            fprintf(stderr, "affect eval: no run config.yaml beside the model; using the default split (seed %d)\n",
                    c->cfg.data.lemotif_split.seed);
        rc = load_lemotif_part(c, part, d, part == 2 ? val : NULL, err);
        if (!rc && part == 2) *has_val = 1;
        return rc;
    }
    if (!strncmp(spec, "goemotions:", 11)) {
        const char *p = spec + 11;
        if (strcmp(p, "test") && strcmp(p, "dev")) {
            *bad_spec = 1;
            return affect_fail(err, AFFECT_EARG, "unknown data spec '%s'; valid: %s", spec, VALID_SPECS);
        }
        if ((rc = affect_run_config_data_path(&c->cfg, "goemotions", path, sizeof path, err))) return rc;
        if ((rc = affect_goemotions_load(path, p, d, err))) return rc;
        if (!strcmp(p, "test")) {
            if ((rc = affect_goemotions_load(path, "dev", val, err))) return rc;
            *has_val = 1;
        }
        return 0;
    }
    if (!strcmp(spec, "emoint:dev")) {
        if ((rc = affect_run_config_data_path(&c->cfg, "emoint", path, sizeof path, err))) return rc;
        pl_set s;
        memset(&s, 0, sizeof s);
        rc = affect_emoint_load(path, "dev.gold", NULL, 0, &s.ds, err);
        if (!rc) rc = pl_set_limit(&s, (size_t)c->cfg.data.max_rows, (uint64_t)c->cfg.data.lemotif_split.seed + 4, err);
        if (!rc) *d = s.ds;
        else pl_set_free(&s);
        return rc;
    }
    if (strchr(spec, ':') && !is_file(spec)) {
        *bad_spec = 1;
        return affect_fail(err, AFFECT_EARG, "unknown data spec '%s'; valid: %s", spec, VALID_SPECS);
    }
    if (!is_file(spec)) {
        *bad_spec = 1;
        return affect_fail(err, AFFECT_ENOTFOUND, "data spec '%s' is not a file; valid: %s", spec, VALID_SPECS);
    }
    return load_file(spec, m, d, err);
}

/* The model's column for each data label; a data label the model lacks is an error naming
 * it and the model's labels. */
static int match_labels(const affect_dataset *d, affect_model *m, int *col, affect_error *err) {
    int L = affect_model_num_labels(m);
    for (int j = 0; j < d->num_labels; j++) {
        col[j] = -1;
        for (int l = 0; l < L; l++)
            if (!strcmp(d->label_names[j], affect_model_label_name(m, l))) col[j] = l;
        if (col[j] < 0) {
            json_buf b = {0};
            for (int l = 0; l < L; l++) json_buf_printf(&b, "%s%s", l ? "," : "", affect_model_label_name(m, l));
            int rc = affect_fail(err, AFFECT_EFORMAT, "data label '%s' is not a label of the model (model labels: %s)",
                                 d->label_names[j], b.data ? b.data : "");
            json_buf_free(&b);
            return rc;
        }
    }
    return 0;
}

/* The rows with an emotion target, and their probabilities in the data's label order. */
static int labelled_probs(const affect_dataset *d, const double *Pm, int Lm, const int *col, affect_dataset *out,
                          double **P, affect_error *err) {
    size_t k = 0, L = (size_t)d->num_labels;
    size_t *rows = malloc((d->n ? d->n : 1) * sizeof *rows);
    if (!rows) return affect_fail(err, AFFECT_ENOMEM, "out of memory");
    for (size_t i = 0; i < d->n; i++)
        if (d->label_mask && d->label_mask[i]) rows[k++] = i;
    int rc = affect_dataset_subset(d, rows, k, out, err);
    *P = rc ? NULL : malloc((k ? k : 1) * (L ? L : 1) * sizeof **P);
    if (!rc && !*P) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory");
    for (size_t i = 0; i < k && !rc; i++)
        for (size_t j = 0; j < L; j++) (*P)[i * L + j] = Pm[rows[i] * (size_t)Lm + (size_t)col[j]];
    free(rows);
    return rc;
}

/* ---- output --------------------------------------------------------------------------------- */

static void print_num(double v) {
    if (isfinite(v)) printf("%8.4f", v);
    else printf("%8s", "n/a");
}

/* The table for a terminal, read back from the JSON document (one source of truth). */
static void print_table(const char *json, size_t len) {
    json_doc *doc = NULL;
    affect_error e = {0};
    if (json_parse(&doc, json, len, &e)) {
        fwrite(json, 1, len, stdout);
        return;
    }
    const json_value *r = json_root(doc);
    printf("model %s   data %s   %g rows\n", json_get_string(r, "model", ""), json_get_string(r, "data", ""),
           json_get_number(r, "n_rows", 0));
    const json_value *names = json_get(r, "label_names"), *auc = json_get(r, "per_label_auc"),
                     *ap = json_get(r, "per_label_ap"), *sup = json_get(r, "support"),
                     *mci = json_get(r, "micro_auc_ci"), *aci = json_get(r, "macro_auc_ci");
    if (names && names->len) {
        const json_value *mi = json_get(r, "micro_auc"), *ma = json_get(r, "macro_auc");
        printf("\nmicro AUC ");
        print_num(mi && mi->type == JSON_NUMBER ? mi->number : NAN);
        if (mci && mci->len == 2)
            printf("   95%% CI [%.4f, %.4f]", mci->items[0].type == JSON_NUMBER ? mci->items[0].number : NAN,
                   mci->items[1].type == JSON_NUMBER ? mci->items[1].number : NAN);
        printf("\nmacro AUC ");
        print_num(ma && ma->type == JSON_NUMBER ? ma->number : NAN);
        if (aci && aci->len == 2)
            printf("   95%% CI [%.4f, %.4f]", aci->items[0].type == JSON_NUMBER ? aci->items[0].number : NAN,
                   aci->items[1].type == JSON_NUMBER ? aci->items[1].number : NAN);
        printf("\nmicro AP  ");
        print_num(json_get_number(r, "micro_ap", NAN));
        printf("\nmacro AP  ");
        print_num(json_get_number(r, "macro_ap", NAN));
        printf("\n\n%-16s %8s %8s %8s\n", "label", "AUC", "AP", "support");
        for (size_t j = 0; j < names->len; j++) {
            printf("%-16s ", names->items[j].str);
            print_num(auc && j < auc->len && auc->items[j].type == JSON_NUMBER ? auc->items[j].number : NAN);
            printf(" ");
            print_num(ap && j < ap->len && ap->items[j].type == JSON_NUMBER ? ap->items[j].number : NAN);
            printf(" %8.0f%s\n", sup && j < sup->len ? sup->items[j].number : 0,
                   auc && j < auc->len && auc->items[j].type == JSON_NULL ? "  (AUC undefined: one class)" : "");
        }
    }
    const json_value *in = json_get(r, "intensity");
    if (in) {
        const json_value *pe = json_get(in, "pearson");
        printf("\nintensity Pearson r (%s, %g rows)\n", json_get_string(in, "dataset", ""), json_get_number(in, "n_rows", 0));
        for (size_t g = 0; pe && g < pe->len; g++) {
            printf("  %-14s ", pe->keys[g]);
            print_num(pe->items[g].type == JSON_NUMBER ? pe->items[g].number : NAN);
            printf("\n");
        }
        printf("  %-14s ", "mean");
        print_num(json_get_number(in, "mean", NAN));
        printf("\n");
    }
    json_free(doc);
}

static void jnum(json_buf *b, double v) {
    if (isfinite(v)) json_buf_printf(b, "%.17g", v);
    else json_buf_append(b, "null", 4);
}

/* ---- the two model-driven forms ------------------------------------------------------------ */

static int eval_data(const em_opts *o, em_ctx *c, affect_model *m, affect_error *err, int *usage) {
    affect_dataset d, val, t, tv;
    memset(&d, 0, sizeof d);
    memset(&val, 0, sizeof val);
    memset(&t, 0, sizeof t);
    memset(&tv, 0, sizeof tv);
    double *Pm = NULL, *I = NULL, *P = NULL, *VPm = NULL, *VP = NULL, *pear = NULL;
    int *col = NULL, has_val = 0, Lm = affect_model_num_labels(m);
    json_buf b = {0}, extra = {0};
    int rc = load_spec(o->data, c, m, &d, &val, &has_val, usage, err);
    /* intensity-only rows rated per emotion (EmoInt) read as the model was trained on them */
    if (!rc && affect_model_intensity_prefix(m) && d.num_labels == 0) rc = affect_dataset_prefix_groups(&d, err);
    if (!rc && d.n == 0) rc = affect_fail(err, AFFECT_EFORMAT, "data spec '%s' has no rows", o->data);
    size_t n = d.n, nint = rc ? 0 : affect_dataset_with_intensity(&d), nlab = rc ? 0 : affect_dataset_labelled(&d);
    if (!rc && d.num_labels > 0 && nlab > 0) {
        col = malloc((size_t)d.num_labels * sizeof *col);
        if (!col) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory");
        if (!rc) rc = match_labels(&d, m, col, err);
    }
    if (!rc && nint && !affect_model_has_intensity(m))
        fprintf(stderr, "affect eval: the model has no trained intensity head; intensity is not scored\n");
    if (!rc && !(col && nlab) && !(nint && affect_model_has_intensity(m)))
        rc = affect_fail(err, AFFECT_EFORMAT, "data spec '%s' has nothing this model can be scored on", o->data);
    if (!rc) {
        Pm = malloc(n * (size_t)Lm * sizeof *Pm);
        I = malloc(n * sizeof *I);
        if (!Pm || !I) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory for %zu rows", n);
    }
    if (!rc) rc = predict_rows(m, &d, Pm, I, err);
    int G = d.num_groups > 0 ? d.num_groups : 1;
    double pmean = NAN;
    int do_int = !rc && nint && affect_model_has_intensity(m);
    if (do_int) {
        pear = malloc((size_t)G * sizeof *pear);
        if (!pear) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory");
        else {
            pl_set s;
            memset(&s, 0, sizeof s);
            s.ds = d;
            pmean = pl_pearson_groups(&s, I, pear);
        }
    }
    char *one_group[1] = {"all"};
    if (!rc) {
        json_buf_printf(&extra, "\"data\":");
        json_buf_string(&extra, o->data, strlen(o->data));
        if (!strncmp(o->data, "lemotif:", 8))
            json_buf_printf(&extra, ",\"split_seed\":%d,\"split_from\":\"%s\"", c->cfg.data.lemotif_split.seed,
                            c->have_cfg ? "run config" : "default");
        json_buf_printf(&extra, ",\"model_dir\":");
        json_buf_string(&extra, c->model_dir, strlen(c->model_dir));
        if (!extra.data) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory");
    }
    if (!rc && col && nlab) {
        rc = labelled_probs(&d, Pm, Lm, col, &t, &P, err);
        if (!rc && has_val && val.n) {
            int *vcol = malloc((size_t)(val.num_labels > 0 ? val.num_labels : 1) * sizeof *vcol);
            if (!vcol) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory");
            if (!rc) rc = match_labels(&val, m, vcol, err);
            if (!rc) VPm = malloc(val.n * (size_t)Lm * sizeof *VPm);
            if (!rc && !VPm) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory");
            if (!rc) rc = predict_rows(m, &val, VPm, NULL, err);
            if (!rc) rc = labelled_probs(&val, VPm, Lm, vcol, &tv, &VP, err);
            free(vcol);
        }
        if (!rc) {
            char msp[EM_PATH + 32];
            struct stat st;
            snprintf(msp, sizeof msp, "%s/model.safetensors", c->model_dir);
            pl_metrics_in mi;
            memset(&mi, 0, sizeof mi);
            mi.model = c->model_name;
            mi.config = c->config_name;
            mi.test = &t;
            mi.P = P;
            mi.val = has_val && tv.n ? &tv : NULL;
            mi.VP = VP;
            mi.model_bytes = stat(msp, &st) == 0 ? (long long)st.st_size : -1;
            mi.n_params = affect_model_param_count(m);
            const affect_heads_model *hm = affect_model_heads(m);
            int ml = hm && hm->max_length > 0 ? hm->max_length : affect_model_max_length(m);
            mi.latency_ms = pl_measure_latency(c->model_dir, &t, ml, 0);
            if (do_int) {
                mi.n_groups = d.num_groups > 0 ? d.num_groups : 1;
                mi.group_names = d.num_groups > 0 ? d.group_names : one_group;
                mi.pearson = pear;
                mi.pearson_mean = pmean;
                mi.n_intensity_rows = nint;
                mi.intensity_dataset = o->data;
            }
            mi.extra_json = extra.data;
            rc = pl_metrics_json(&mi, &b, err);
        }
    } else if (!rc) {
        /* intensity only: the reference keys stay, with nothing to put in them */
        char ts[64];
        pl_timestamp(ts, sizeof ts);
        json_buf_printf(&b, "{\"model\":");
        json_buf_string(&b, c->model_name, strlen(c->model_name));
        json_buf_printf(&b, ",\"config\":");
        json_buf_string(&b, c->config_name, strlen(c->config_name));
        json_buf_printf(&b, ",\"timestamp\":\"%s\",\"micro_auc\":null,\"macro_auc\":null,\"per_label_auc\":[],"
                            "\"label_names\":[],\"undefined_labels\":[],\"n_rows\":%zu,\"intensity\":{\"dataset\":",
                        ts, n);
        json_buf_string(&b, o->data, strlen(o->data));
        json_buf_printf(&b, ",\"pearson\":{");
        for (int g = 0; g < G; g++) {
            const char *gn = d.num_groups > 0 ? d.group_names[g] : "all";
            if (g) json_buf_append(&b, ",", 1);
            json_buf_string(&b, gn, strlen(gn));
            json_buf_append(&b, ":", 1);
            jnum(&b, pear[g]);
        }
        json_buf_printf(&b, "},\"mean\":");
        jnum(&b, pmean);
        json_buf_printf(&b, ",\"n_rows\":%zu},", nint);
        json_buf_append(&b, extra.data, extra.len);
        if (json_buf_append(&b, "}\n", 2)) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory");
    }
    if (!rc && o->out) rc = affect_file_write_atomic(o->out, b.data, b.len, err);
    if (!rc) {
        if (o->json) fwrite(b.data, 1, b.len, stdout);
        else print_table(b.data, b.len);
    }
    json_buf_free(&b);
    json_buf_free(&extra);
    free(Pm);
    free(I);
    free(P);
    free(VPm);
    free(VP);
    free(pear);
    free(col);
    affect_dataset_free(&d);
    affect_dataset_free(&val);
    affect_dataset_free(&t);
    affect_dataset_free(&tv);
    return rc;
}

/* The gold files' bytes, concatenated with a newline between files. */
static int read_golds(const em_opts *o, json_buf *gold, affect_error *err) {
    memset(gold, 0, sizeof *gold);
    for (int g = 0; g < o->n_gold; g++) {
        FILE *f = fopen(o->gold[g], "rb");
        if (!f) return affect_fail(err, AFFECT_ENOTFOUND, "%s: cannot open", o->gold[g]);
        char buf[65536];
        size_t k;
        while ((k = fread(buf, 1, sizeof buf, f)) > 0)
            if (json_buf_append(gold, buf, k)) break;
        int bad = ferror(f);
        fclose(f);
        if (bad) return affect_fail(err, AFFECT_EIO, "%s: read error", o->gold[g]);
        if (json_buf_append(gold, "\n", 1)) return affect_fail(err, AFFECT_ENOMEM, "out of memory");
    }
    return 0;
}

static int report_emoint(const em_opts *o, const char *source, const eval_emoint_result *r, size_t rows,
                         affect_error *err) {
    if (o->json) {
        json_buf b = {0};
        json_buf_printf(&b, "{\"source\":");
        json_buf_string(&b, source, strlen(source));
        json_buf_printf(&b, ",\"gold\":[");
        for (int g = 0; g < o->n_gold; g++) {
            if (g) json_buf_append(&b, ",", 1);
            json_buf_string(&b, o->gold[g], strlen(o->gold[g]));
        }
        json_buf_printf(&b, "],\"n_rows\":%zu,\"pearson\":{", rows);
        for (size_t e = 0; e < r->n_emotions; e++) {
            if (e) json_buf_append(&b, ",", 1);
            json_buf_string(&b, r->emotion[e], strlen(r->emotion[e]));
            json_buf_append(&b, ":", 1);
            jnum(&b, r->r[e]);
        }
        json_buf_printf(&b, "},\"count\":{");
        for (size_t e = 0; e < r->n_emotions; e++) {
            if (e) json_buf_append(&b, ",", 1);
            json_buf_string(&b, r->emotion[e], strlen(r->emotion[e]));
            json_buf_printf(&b, ":%zu", r->count[e]);
        }
        json_buf_printf(&b, "},\"mean\":");
        jnum(&b, r->mean_r);
        if (json_buf_append(&b, "}\n", 2)) return affect_fail(err, AFFECT_ENOMEM, "out of memory");
        fwrite(b.data, 1, b.len, stdout);
        json_buf_free(&b);
        return 0;
    }
    printf("EmoInt Pearson r (%s, %zu rows)\n", source, rows);
    for (size_t e = 0; e < r->n_emotions; e++) {
        printf("  %-14s ", r->emotion[e]);
        print_num(r->r[e]);
        printf("   (%zu tweets)\n", r->count[e]);
    }
    printf("  %-14s ", "mean");
    print_num(r->mean_r);
    printf("\n");
    return 0;
}

/* Predicts every gold tweet's intensity, writes them as id<TAB>score, and scores that text
 * with the official-format scorer, so the model path and --emoint-predictions agree. */
static int eval_emoint_model(const em_opts *o, affect_model *m, affect_error *err) {
    if (!affect_model_has_intensity(m))
        return affect_fail(err, AFFECT_EARG, "the model has no trained intensity head (affect_heads.json)");
    affect_dataset d;
    memset(&d, 0, sizeof d);
    json_buf gold = {0}, pred = {0};
    double *I = NULL;
    eval_emoint_result r;
    memset(&r, 0, sizeof r);
    int rc = 0;
    for (int g = 0; g < o->n_gold && !rc; g++) rc = affect_emoint_load_file(o->gold[g], &d, err);
    if (!rc && affect_model_intensity_prefix(m)) rc = affect_dataset_prefix_groups(&d, err);
    if (!rc) rc = read_golds(o, &gold, err);
    if (!rc) {
        I = malloc((d.n ? d.n : 1) * sizeof *I);
        if (!I) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory");
    }
    if (!rc) rc = predict_rows(m, &d, NULL, I, err);
    for (size_t i = 0; i < d.n && !rc; i++)
        if (json_buf_printf(&pred, "%s\t%.9g\n", d.id[i], I[i])) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory");
    if (!rc)
        rc = eval_emoint_score_text(o->gold[0], gold.data ? gold.data : "", gold.len, "model predictions",
                                    pred.data ? pred.data : "", pred.len, &r, err);
    if (!rc) rc = report_emoint(o, o->model, &r, d.n, err);
    eval_emoint_result_free(&r);
    json_buf_free(&gold);
    json_buf_free(&pred);
    free(I);
    affect_dataset_free(&d);
    return rc;
}

static int eval_emoint_file(const em_opts *o, affect_error *err) {
    json_buf gold = {0};
    eval_emoint_result r;
    memset(&r, 0, sizeof r);
    int rc = read_golds(o, &gold, err);
    FILE *f = rc ? NULL : fopen(o->emoint_pred, "rb");
    if (!rc && !f) rc = affect_fail(err, AFFECT_ENOTFOUND, "%s: cannot open", o->emoint_pred);
    json_buf pred = {0};
    if (f) {
        char buf[65536];
        size_t k;
        while ((k = fread(buf, 1, sizeof buf, f)) > 0)
            if (json_buf_append(&pred, buf, k)) break;
        fclose(f);
    }
    if (!rc)
        rc = eval_emoint_score_text(o->gold[0], gold.data ? gold.data : "", gold.len, o->emoint_pred,
                                    pred.data ? pred.data : "", pred.len, &r, err);
    size_t rows = 0;
    for (size_t e = 0; !rc && e < r.n_emotions; e++) rows += r.count[e];
    if (!rc) rc = report_emoint(o, o->emoint_pred, &r, rows, err);
    eval_emoint_result_free(&r);
    json_buf_free(&gold);
    json_buf_free(&pred);
    return rc;
}

int cmd_eval_model(int argc, char **argv) {
    em_opts o;
    int prc = parse_args(argc, argv, &o);
    if (prc) {
        free(o.gold);
        return prc < 0 ? 0 : prc;
    }
    affect_error err = {0};
    int rc, usage = 0;
    if (o.emoint_pred) {
        rc = eval_emoint_file(&o, &err);
        free(o.gold);
        return rc ? cli_error("eval", &err) : 0;
    }
    affect_native_init(0);
    em_ctx c;
    memset(&c, 0, sizeof c);
    affect_model *m = NULL;
    rc = resolve(o.model, &c, &err);
    if (!rc) rc = affect_model_load_dir(&m, c.model_dir, &err);
    if (!rc && affect_model_num_labels(m) == 0) {
        fprintf(stderr, "affect eval: %s is a bare encoder with no classification heads; train one with `affect train`\n",
                o.model);
        affect_model_free(m);
        affect_run_config_free(&c.cfg);
        free(o.gold);
        return 2;
    }
    if (!rc) rc = o.data ? eval_data(&o, &c, m, &err, &usage) : eval_emoint_model(&o, m, &err);
    affect_model_free(m);
    affect_run_config_free(&c.cfg);
    free(o.gold);
    if (rc && usage) {
        fprintf(stderr, "affect eval: %s\n", err.msg);
        return 2;
    }
    return rc ? cli_error("eval", &err) : 0;
}
