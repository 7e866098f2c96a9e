/* Reading prediction and gold-label matrices from CSV files with a header of label names. */
#include "eval/metrics.h"
#include "core/util/blob.h"
#include "core/util/error.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One record's fields, unescaped into a scratch buffer as NUL-terminated strings. */
typedef struct csv_record {
    char *buf;
    size_t len, cap;
    size_t *off;   /* start of each field in buf */
    size_t n, ncap;
} csv_record;

static int rec_putc(csv_record *r, char c) {
    if (r->len == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 256;
        if (nc < r->cap) return AFFECT_ENOMEM;
        char *nb = realloc(r->buf, nc);
        if (!nb) return AFFECT_ENOMEM;
        r->buf = nb;
        r->cap = nc;
    }
    r->buf[r->len++] = c;
    return 0;
}

static int rec_field(csv_record *r) {
    if (r->n == r->ncap) {
        size_t nc = r->ncap ? r->ncap * 2 : 16;
        if (nc > SIZE_MAX / sizeof *r->off) return AFFECT_ENOMEM;
        size_t *no = realloc(r->off, nc * sizeof *no);
        if (!no) return AFFECT_ENOMEM;
        r->off = no;
        r->ncap = nc;
    }
    r->off[r->n++] = r->len;
    return 0;
}

typedef struct csv_cursor {
    const char *name, *p, *end;
    size_t line;
} csv_cursor;

/* Reads the next non-blank record into `r`; returns 1 when one was read, 0 at end of input,
 * or -code on error. Quoted fields may hold commas, quotes ("") and newlines; *start_line
 * gets the line the record begins on, which is what error messages cite. */
static int read_record(csv_cursor *c, csv_record *r, size_t *start_line, affect_error *err) {
    r->len = 0;
    r->n = 0;
    /* skip blank lines */
    for (;;) {
        if (c->p >= c->end) return 0;
        if (*c->p == '\n') { c->p++; c->line++; continue; }
        if (*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n') { c->p += 2; c->line++; continue; }
        break;
    }
    *start_line = c->line;
    for (;;) {
        if (rec_field(r)) goto oom;
        if (c->p < c->end && *c->p == '"') {
            size_t qline = c->line;
            c->p++;
            for (;;) {
                if (c->p >= c->end)
                    return -affect_fail(err, AFFECT_EFORMAT, "%s:%zu: quoted field %zu never closes", c->name, qline, r->n);
                char ch = *c->p++;
                if (ch == '"') {
                    if (c->p < c->end && *c->p == '"') { c->p++; if (rec_putc(r, '"')) goto oom; continue; }
                    break;
                }
                if (ch == '\n') c->line++;
                if (rec_putc(r, ch)) goto oom;
            }
            if (c->p < c->end && *c->p != ',' && *c->p != '\n' &&
                !(*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n'))
                return -affect_fail(err, AFFECT_EFORMAT, "%s:%zu: unexpected character after the closing quote of field %zu", c->name, c->line, r->n);
        } else {
            while (c->p < c->end && *c->p != ',' && *c->p != '\n' &&
                   !(*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n')) {
                if (*c->p == '"')
                    return -affect_fail(err, AFFECT_EFORMAT, "%s:%zu: stray quote in unquoted field %zu", c->name, c->line, r->n);
                if (rec_putc(r, *c->p++)) goto oom;
            }
        }
        if (rec_putc(r, '\0')) goto oom;
        if (c->p >= c->end) return 1;
        if (*c->p == ',') { c->p++; continue; }
        c->p += *c->p == '\r' ? 2 : 1;
        c->line++;
        return 1;
    }
oom:
    return -affect_fail(err, AFFECT_ENOMEM, "%s: out of memory reading line %zu", c->name, c->line);
}

void eval_csv_matrix_free(eval_csv_matrix *m) {
    if (!m) return;
    if (m->names)
        for (size_t j = 0; j < m->cols; j++) free(m->names[j]);
    free(m->names);
    if (m->ids)
        for (size_t i = 0; i < m->rows; i++) free(m->ids[i]);
    free(m->ids);
    free(m->id_name);
    free(m->line);
    free(m->v);
    memset(m, 0, sizeof *m);
}

long eval_csv_matrix_column(const eval_csv_matrix *m, const char *name) {
    for (size_t j = 0; j < m->cols; j++)
        if (!strcmp(m->names[j], name)) return (long)j;
    return -1;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* A cell is a finite decimal number with optional surrounding blanks; anything else is an
 * error naming where it is, because a silently skipped cell would shift a metric. */
static int parse_cell(const char *s, double *out, const csv_cursor *c, size_t line, const char *col,
                      affect_error *err) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (n == 0) return affect_fail(err, AFFECT_EFORMAT, "%s:%zu: empty cell in column '%s'", c->name, line, col);
    char tmp[64];
    if (n >= sizeof tmp)
        return affect_fail(err, AFFECT_EFORMAT, "%s:%zu: column '%s': '%.20s...' is not a number", c->name, line, col, s);
    memcpy(tmp, s, n);
    tmp[n] = 0;
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (end == tmp || *end)
        return affect_fail(err, AFFECT_EFORMAT, "%s:%zu: column '%s': '%s' is not a number", c->name, line, col, tmp);
    if (isnan(v)) return affect_fail(err, AFFECT_EFORMAT, "%s:%zu: column '%s' is NaN", c->name, line, col);
    if (!isfinite(v)) return affect_fail(err, AFFECT_EFORMAT, "%s:%zu: column '%s': '%s' is not finite", c->name, line, col, tmp);
    *out = v;
    return 0;
}

/* Parses the header, then each row, growing the arrays geometrically. */
int eval_csv_matrix_parse(const char *name, const char *text, size_t len, eval_csv_matrix *m,
                          affect_error *err) {
    memset(m, 0, sizeof *m);
    csv_cursor c = {name, text, text + len, 1};
    if (len >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB && (unsigned char)text[2] == 0xBF)
        c.p += 3;
    csv_record r = {0};
    size_t line = 0, rowcap = 0;
    int rc = read_record(&c, &r, &line, err);
    if (rc == 0) { rc = affect_fail(err, AFFECT_EFORMAT, "%s: empty file, expected a header row of label names", name); goto fail; }
    if (rc < 0) { rc = -rc; goto fail; }
    size_t nf = r.n;
    int has_id = !strcmp(r.buf + r.off[0], "id") || !strcmp(r.buf + r.off[0], "text_id");
    size_t first = has_id ? 1 : 0;
    if (nf <= first) { rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: the header names no label columns", name, line); goto fail; }
    m->cols = nf - first;
    m->names = calloc(m->cols, sizeof *m->names);
    if (!m->names) goto oom;
    if (has_id && !(m->id_name = dup_str(r.buf + r.off[0]))) goto oom;
    for (size_t j = 0; j < m->cols; j++) {
        const char *h = r.buf + r.off[first + j];
        if (!*h) { rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: header column %zu is empty", name, line, first + j + 1); goto fail; }
        for (size_t k = 0; k < j; k++)
            if (!strcmp(m->names[k], h)) { rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: label '%s' appears twice in the header", name, line, h); goto fail; }
        if (!(m->names[j] = dup_str(h))) goto oom;
    }
    for (;;) {
        rc = read_record(&c, &r, &line, err);
        if (rc == 0) break;
        if (rc < 0) { rc = -rc; goto fail; }
        if (r.n != nf) {
            rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: %zu fields, but the header has %zu", name, line, r.n, nf);
            goto fail;
        }
        if (m->rows == rowcap) {
            size_t nc = rowcap ? rowcap * 2 : 64;
            if (nc > SIZE_MAX / sizeof(double) / m->cols) goto oom;
            double *nv = realloc(m->v, nc * m->cols * sizeof *nv);
            if (!nv) goto oom;
            m->v = nv;
            size_t *nl = realloc(m->line, nc * sizeof *nl);
            if (!nl) goto oom;
            m->line = nl;
            if (has_id) {
                char **ni = realloc(m->ids, nc * sizeof *ni);
                if (!ni) goto oom;
                m->ids = ni;
            }
            rowcap = nc;
        }
        size_t i = m->rows;
        m->line[i] = line;
        for (size_t j = 0; j < m->cols; j++) {
            rc = parse_cell(r.buf + r.off[first + j], &m->v[i * m->cols + j], &c, line, m->names[j], err);
            if (rc) goto fail;
        }
        if (has_id && !(m->ids[i] = dup_str(r.buf + r.off[0]))) goto oom;
        m->rows++;
    }
    free(r.buf);
    free(r.off);
    return 0;
oom:
    rc = affect_fail(err, AFFECT_ENOMEM, "%s: out of memory near line %zu", name, line);
fail:
    free(r.buf);
    free(r.off);
    eval_csv_matrix_free(m);
    return rc;
}

int eval_csv_matrix_read(const char *path, eval_csv_matrix *m, affect_error *err) {
    char *data = NULL;
    size_t len = 0;
    memset(m, 0, sizeof *m);
    int rc = affect_read_file(path, &data, &len, err);
    if (rc) return rc;
    rc = eval_csv_matrix_parse(path, data, len, m, err);
    free(data);
    return rc;
}
