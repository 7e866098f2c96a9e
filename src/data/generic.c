/* The user's own data: CSV, TSV or JSONL with the columns the config names (see
 * affect_generic_spec in dataset.h). One row iterator hides the format; the rest is about
 * turning cells into targets with precise messages. */
#define _POSIX_C_SOURCE 200809L
#include "data/csv.h"
#include "data/dataset.h"
#include "util/blob.h"
#include "util/error.h"
#include "util/json.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { FMT_CSV, FMT_TSV, FMT_JSONL };
enum { CELL_NONE, CELL_STR, CELL_NUM, CELL_BOOL, CELL_ARRAY };

typedef struct cell {
    int kind;
    const char *s;
    size_t n;
    double num;
    const json_value *v;
} cell;

typedef struct rows {
    int fmt;
    const char *path;
    csv_reader csv;
    size_t ncols;             /* CSV/TSV header width */
    char **header;            /* (ncols) */
    const char *p, *end;      /* JSONL */
    size_t line, next_line;
    json_doc *doc;
} rows;

static void rows_free(rows *r) {
    csv_free(&r->csv);
    for (size_t i = 0; i < r->ncols; i++) free(r->header[i]);
    free(r->header);
    json_free(r->doc);
    memset(r, 0, sizeof *r);
}

static int rows_open(rows *r, int fmt, const char *path, const char *text, size_t len, affect_error *err) {
    memset(r, 0, sizeof *r);
    r->fmt = fmt;
    r->path = path;
    if (fmt == FMT_JSONL) {
        r->p = text;
        r->end = text + len;
        r->next_line = 1;
        return 0;
    }
    csv_init(&r->csv, text, len, fmt == FMT_CSV ? ',' : '\t', fmt == FMT_CSV, path);
    int got, rc = csv_next(&r->csv, &got, err);
    if (rc) return rc;
    if (!got) return affect_fail(err, AFFECT_EFORMAT, "%s: empty file (expected a header row)", path);
    r->header = calloc(r->csv.nfields, sizeof *r->header);
    if (!r->header) return affect_fail(err, AFFECT_ENOMEM, "out of memory");
    for (size_t i = 0; i < r->csv.nfields; i++) {
        r->header[i] = strdup(r->csv.field[i]);
        if (!r->header[i]) return affect_fail(err, AFFECT_ENOMEM, "out of memory");
        r->ncols++;
    }
    return 0;
}

static int rows_next(rows *r, int *got, affect_error *err) {
    *got = 0;
    if (r->fmt != FMT_JSONL) {
        int rc = csv_next(&r->csv, got, err);
        if (rc || !*got) return rc;
        r->line = r->csv.line;
        if (r->csv.nfields != r->ncols)
            return affect_fail(err, AFFECT_EFORMAT, "%s:%zu: expected %zu fields, found %zu", r->path, r->line, r->ncols,
                               r->csv.nfields);
        return 0;
    }
    json_free(r->doc);
    r->doc = NULL;
    while (r->p < r->end) {
        const char *eol = memchr(r->p, '\n', (size_t)(r->end - r->p));
        const char *le = eol ? eol : r->end;
        const char *s = r->p;
        r->p = eol ? eol + 1 : r->end;
        r->line = r->next_line++;
        while (s < le && (*s == ' ' || *s == '\t' || *s == '\r')) s++;
        if (s == le) continue; /* blank line */
        affect_error sub = {0};
        if (json_parse(&r->doc, s, (size_t)(le - s), &sub))
            return affect_fail(err, AFFECT_EFORMAT, "%s:%zu: %s", r->path, r->line, sub.msg);
        if (json_root(r->doc)->type != JSON_OBJECT)
            return affect_fail(err, AFFECT_EFORMAT, "%s:%zu: expected a JSON object per line", r->path, r->line);
        *got = 1;
        return 0;
    }
    return 0;
}

/* CSV/TSV: the header index of `name` (-1 if absent). */
static long column(const rows *r, const char *name) {
    for (size_t i = 0; i < r->ncols; i++)
        if (!strcmp(r->header[i], name)) return (long)i;
    return -1;
}

static void get_cell(const rows *r, const char *name, long col, cell *c) {
    memset(c, 0, sizeof *c);
    if (r->fmt != FMT_JSONL) {
        if (col < 0) return;
        c->s = r->csv.field[col];
        c->n = r->csv.field_len[col];
        c->kind = c->n ? CELL_STR : CELL_NONE;
        return;
    }
    const json_value *v = json_get(json_root(r->doc), name);
    if (!v || v->type == JSON_NULL) return;
    c->v = v;
    switch (v->type) {
    case JSON_STRING: c->kind = CELL_STR; c->s = v->str; c->n = v->len; break;
    case JSON_NUMBER: c->kind = CELL_NUM; c->num = v->number; break;
    case JSON_BOOL: c->kind = CELL_BOOL; c->num = v->boolean; break;
    default: c->kind = CELL_ARRAY; break; /* arrays (and objects, refused where used) */
    }
}

/* A 0/1 label cell: 1, 0, -1 (empty: no target) or -2 (not a boolean). */
static int cell_bool(const cell *c) {
    if (c->kind == CELL_NONE) return -1;
    if (c->kind == CELL_BOOL || c->kind == CELL_NUM) return c->num == 1 ? 1 : c->num == 0 ? 0 : -2;
    if (c->kind == CELL_STR) {
        int b = affect_parse_bool_cell(c->s, c->n);
        return b < 0 ? -2 : b;
    }
    return -2;
}

/* Splits "a, b,c" by sep into trimmed names and calls fn on each non-empty one. */
typedef int (*name_fn)(void *user, const char *s, size_t n);
static int each_name(const cell *c, const char *sep, name_fn fn, void *user) {
    if (c->kind == CELL_ARRAY) {
        if (c->v->type != JSON_ARRAY) return -2;
        for (size_t i = 0; i < c->v->len; i++) {
            const json_value *it = &c->v->items[i];
            if (it->type != JSON_STRING) return -2;
            int rc = fn(user, it->str, it->len);
            if (rc) return rc;
        }
        return 0;
    }
    if (c->kind != CELL_STR) return -2;
    size_t sl = strlen(sep);
    const char *s = c->s, *end = c->s + c->n;
    while (s <= end) {
        const char *hit = NULL;
        for (const char *q = s; q + sl <= end; q++)
            if (!memcmp(q, sep, sl)) { hit = q; break; }
        const char *e = hit ? hit : end;
        const char *a = s, *b = e;
        while (a < b && (*a == ' ' || *a == '\t')) a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t')) b--;
        if (b > a) {
            int rc = fn(user, a, (size_t)(b - a));
            if (rc) return rc;
        }
        if (!hit) break;
        s = hit + sl;
    }
    return 0;
}

typedef struct name_set {
    char **v;
    int n;
    int err;
} name_set;

static int collect_name(void *user, const char *s, size_t n) {
    name_set *ns = user;
    for (int i = 0; i < ns->n; i++)
        if (strlen(ns->v[i]) == n && !memcmp(ns->v[i], s, n)) return 0;
    if (ns->n >= 100000) return ns->err = -3;
    char **nv = realloc(ns->v, (size_t)(ns->n + 1) * sizeof *nv);
    if (!nv) return ns->err = -3;
    ns->v = nv;
    nv[ns->n] = malloc(n + 1);
    if (!nv[ns->n]) return ns->err = -3;
    memcpy(nv[ns->n], s, n);
    nv[ns->n][n] = 0;
    ns->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

typedef struct mark_ctx {
    const affect_dataset *ds;
    float *row;
    const char *bad;
    size_t bad_n;
} mark_ctx;

static int mark_name(void *user, const char *s, size_t n) {
    mark_ctx *m = user;
    for (int j = 0; j < m->ds->num_labels; j++)
        if (strlen(m->ds->label_names[j]) == n && !memcmp(m->ds->label_names[j], s, n)) {
            m->row[j] = 1.0f;
            return 0;
        }
    m->bad = s;
    m->bad_n = n;
    return -4;
}

static int detect_format(const affect_generic_spec *spec, int *fmt, affect_error *err) {
    const char *f = spec->format;
    if (!f || !*f || !strcmp(f, "auto")) {
        const char *dot = strrchr(spec->path, '.');
        f = dot ? dot + 1 : "";
        if (!strcasecmp(f, "jsonl") || !strcasecmp(f, "ndjson")) f = "jsonl";
        else if (!strcasecmp(f, "tsv") || !strcasecmp(f, "tab")) f = "tsv";
        else if (!strcasecmp(f, "csv")) f = "csv";
        else
            return affect_fail(err, AFFECT_EARG, "%s: cannot tell the format from the extension; set data.custom.format "
                               "(csv, tsv or jsonl)", spec->path);
    }
    if (!strcmp(f, "csv")) *fmt = FMT_CSV;
    else if (!strcmp(f, "tsv")) *fmt = FMT_TSV;
    else if (!strcmp(f, "jsonl")) *fmt = FMT_JSONL;
    else return affect_fail(err, AFFECT_EARG, "unknown data format '%s' (csv, tsv, jsonl)", f);
    return 0;
}

/* CSV/TSV: every named column must be in the header (JSONL keys may be absent per row). */
static int need_column(const rows *r, const char *name, long *col, affect_error *err) {
    *col = -1;
    if (!name || !*name || r->fmt == FMT_JSONL) return 0;
    *col = column(r, name);
    if (*col < 0) return affect_fail(err, AFFECT_EFORMAT, "%s:%zu: no column '%s' in the header", r->path, r->csv.line, name);
    return 0;
}

int affect_generic_load(const affect_generic_spec *spec, affect_dataset *out, affect_error *err) {
    memset(out, 0, sizeof *out);
    if (!spec || !spec->path || !spec->text_column || !*spec->text_column)
        return affect_fail(err, AFFECT_EARG, "custom data needs a path and a text column");
    int multi = spec->num_label_columns > 0, list = spec->labels_column && *spec->labels_column;
    if (multi == list)
        return affect_fail(err, AFFECT_EARG, "custom data needs exactly one of label_columns or labels_column");
    int fmt = FMT_CSV, rc = detect_format(spec, &fmt, err);
    if (rc) return rc;
    if (!affect_file_exists(spec->path)) return affect_fail(err, AFFECT_ENOTFOUND, "data file %s not found", spec->path);
    const char *sep = spec->label_separator && *spec->label_separator ? spec->label_separator : ",";
    char *text;
    size_t len;
    if ((rc = affect_read_file(spec->path, &text, &len, err))) return rc;
    rows r;
    name_set names = {0};
    long *lcol = NULL;
    int got;
    /* the label set */
    if (multi) {
        rc = affect_dataset_set_labels(out, spec->num_label_columns, spec->label_columns, err);
    } else if (spec->label_names && spec->num_label_names > 0) {
        rc = affect_dataset_set_labels(out, spec->num_label_names, spec->label_names, err);
    } else { /* discover: every name seen, sorted */
        if (!(rc = rows_open(&r, fmt, spec->path, text, len, err))) {
            long lc = -1;
            rc = need_column(&r, spec->labels_column, &lc, err);
            while (!rc && !(rc = rows_next(&r, &got, err)) && got) {
                cell c;
                get_cell(&r, spec->labels_column, lc, &c);
                if (c.kind == CELL_NONE) continue;
                int e = each_name(&c, sep, collect_name, &names);
                if (e == -3) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory for label names");
                else if (e) rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: column %s: expected a list of label names",
                                            spec->path, r.line, spec->labels_column);
            }
        }
        rows_free(&r);
        if (!rc && names.n == 0) rc = affect_fail(err, AFFECT_EFORMAT, "%s: no label names in column %s", spec->path, spec->labels_column);
        if (!rc) {
            qsort(names.v, (size_t)names.n, sizeof *names.v, cmp_str);
            rc = affect_dataset_set_labels(out, names.n, (const char *const *)names.v, err);
        }
    }
    if (rc) goto done;
    if ((rc = rows_open(&r, fmt, spec->path, text, len, err))) goto done_rows;
    long tcol, icol, ncol, gcol, lscol;
    if ((rc = need_column(&r, spec->text_column, &tcol, err)) || (rc = need_column(&r, spec->id_column, &icol, err)) ||
        (rc = need_column(&r, spec->intensity_column, &ncol, err)) ||
        (rc = need_column(&r, spec->group_column, &gcol, err)) ||
        (rc = need_column(&r, list ? spec->labels_column : NULL, &lscol, err)))
        goto done_rows;
    lcol = calloc((size_t)(multi ? spec->num_label_columns : 1), sizeof *lcol);
    if (!lcol) { rc = affect_fail(err, AFFECT_ENOMEM, "out of memory"); goto done_rows; }
    for (int j = 0; multi && j < spec->num_label_columns && !rc; j++) rc = need_column(&r, spec->label_columns[j], &lcol[j], err);
    size_t k = 0;
    const int L = out->num_labels;
    while (!rc && !(rc = rows_next(&r, &got, err)) && got) {
        k++;
        cell t, idc;
        get_cell(&r, spec->text_column, tcol, &t);
        if (t.kind != CELL_STR && !(t.kind == CELL_NONE && r.fmt != FMT_JSONL)) {
            rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: %s: expected a text string", spec->path, r.line, spec->text_column);
            break;
        }
        char idbuf[64];
        const char *id = idbuf;
        size_t idn;
        get_cell(&r, spec->id_column ? spec->id_column : "", icol, &idc);
        if (spec->id_column && *spec->id_column && idc.kind == CELL_STR) { id = idc.s; idn = idc.n; }
        else if (spec->id_column && *spec->id_column && idc.kind == CELL_NUM)
            idn = (size_t)snprintf(idbuf, sizeof idbuf, "%.17g", idc.num);
        else idn = (size_t)snprintf(idbuf, sizeof idbuf, "%zu", k);
        size_t row;
        if ((rc = affect_dataset_add_row(out, id, idn, t.kind == CELL_STR ? t.s : "", t.kind == CELL_STR ? t.n : 0, &row, err)))
            break;
        float *lab = out->labels + row * (size_t)L;
        if (multi) {
            int set = 0, empty = 0;
            for (int j = 0; j < L && !rc; j++) {
                cell c;
                get_cell(&r, spec->label_columns[j], lcol[j], &c);
                int b = cell_bool(&c);
                if (b == -2) rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: column %s: expected 1/0 or true/false", spec->path, r.line, spec->label_columns[j]);
                else if (b < 0) empty++;
                else { lab[j] = (float)b; set++; }
            }
            if (rc) break;
            if (set && empty) {
                rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: some label columns are empty and some are not", spec->path, r.line);
                break;
            }
            out->label_mask[row] = set > 0;
        } else {
            cell c;
            get_cell(&r, spec->labels_column, lscol, &c);
            if (c.kind == CELL_NONE && r.fmt == FMT_JSONL) {
                out->label_mask[row] = 0; /* null/absent: no target */
            } else if (c.kind != CELL_NONE) {
                mark_ctx m = {out, lab, NULL, 0};
                int e = each_name(&c, sep, mark_name, &m);
                if (e == -4) rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: label '%.*s' is not in data.custom.label_names", spec->path, r.line, (int)(m.bad_n > 60 ? 60 : m.bad_n), m.bad);
                else if (e) rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: column %s: expected a list of label names", spec->path, r.line, spec->labels_column);
                if (rc) break;
                out->label_mask[row] = 1;
            } else {
                out->label_mask[row] = 1; /* an empty CSV cell: a row with no positive label */
            }
        }
        if (spec->intensity_column && *spec->intensity_column) {
            cell c;
            get_cell(&r, spec->intensity_column, ncol, &c);
            double v = NAN;
            if (c.kind == CELL_NUM) v = c.num;
            else if (c.kind == CELL_STR) {
                char tmp[64];
                if (c.n < sizeof tmp) {
                    memcpy(tmp, c.s, c.n);
                    tmp[c.n] = 0;
                    char *e;
                    v = strtod(tmp, &e);
                    if (e == tmp || *e) v = NAN;
                }
            }
            if (c.kind != CELL_NONE) {
                if (!(v >= 0 && v <= 1)) {
                    rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: %s: expected a number in [0,1]", spec->path, r.line, spec->intensity_column);
                    break;
                }
                out->intensity[row] = (float)v;
                out->intensity_mask[row] = 1;
            }
        }
        if (spec->group_column && *spec->group_column) {
            cell c;
            get_cell(&r, spec->group_column, gcol, &c);
            if (c.kind == CELL_STR) {
                char g[256];
                if (c.n >= sizeof g) { rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: group name too long", spec->path, r.line); break; }
                memcpy(g, c.s, c.n);
                g[c.n] = 0;
                if ((rc = affect_dataset_group_index(out, g, &out->group[row], err))) break;
            } else if (c.kind != CELL_NONE) {
                rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: %s: expected a string", spec->path, r.line, spec->group_column);
                break;
            }
        }
    }
    if (!rc && out->n == 0) rc = affect_fail(err, AFFECT_EFORMAT, "%s: no data rows", spec->path);
done_rows:
    rows_free(&r);
done:
    free(lcol);
    for (int i = 0; i < names.n; i++) free(names.v[i]);
    free(names.v);
    free(text);
    if (rc) affect_dataset_free(out);
    return rc;
}
