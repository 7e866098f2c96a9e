/* Lemotif journal entries: an RFC 4180 CSV whose columns are found by header name, never by
 * position or row count (the file the project ships has rows withheld; a user's copy may have
 * all of them, with or without a final newline). */
#include "data/csv.h"
#include "data/dataset.h"
#include "util/blob.h"
#include "util/error.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "Answer.f1.happy.raw" with prefix "Answer.f1." -> "happy" (into out), else 0. */
static int column_label(const char *h, size_t hn, const char *prefix, char *out, size_t outlen) {
    size_t pn = strlen(prefix), sn = strlen(".raw");
    if (hn <= pn + sn || memcmp(h, prefix, pn) || memcmp(h + hn - sn, ".raw", sn)) return 0;
    size_t k = hn - pn - sn;
    if (k >= outlen) return 0;
    memcpy(out, h + pn, k);
    out[k] = 0;
    return 1;
}

typedef struct col_set {
    int n;
    size_t *col;     /* (n) column index in the file */
    char **name;     /* (n) */
} col_set;

static void col_set_free(col_set *s) {
    for (int i = 0; i < s->n; i++) free(s->name[i]);
    free(s->col);
    free(s->name);
    memset(s, 0, sizeof *s);
}

static int col_set_add(col_set *s, size_t col, const char *name, affect_error *err) {
    size_t *c = realloc(s->col, (size_t)(s->n + 1) * sizeof *c);
    if (!c) return affect_fail(err, AFFECT_ENOMEM, "out of memory");
    s->col = c;
    char **nm = realloc(s->name, (size_t)(s->n + 1) * sizeof *nm);
    if (!nm) return affect_fail(err, AFFECT_ENOMEM, "out of memory");
    s->name = nm;
    size_t k = strlen(name);
    nm[s->n] = malloc(k + 1);
    if (!nm[s->n]) return affect_fail(err, AFFECT_ENOMEM, "out of memory");
    memcpy(nm[s->n], name, k + 1);
    c[s->n] = col;
    s->n++;
    return 0;
}

/* Reads the boolean cells of one label set into row[0..n). */
static int read_cells(const csv_reader *r, const col_set *s, float *row, const char *path, const char *header_prefix,
                      affect_error *err) {
    for (int j = 0; j < s->n; j++) {
        size_t c = s->col[j];
        int v = affect_parse_bool_cell(r->field[c], r->field_len[c]);
        if (v < 0)
            return affect_fail(err, AFFECT_EFORMAT, "%s:%zu: column %s%s.raw: expected TRUE or FALSE, found '%.*s'", path,
                               r->line, header_prefix, s->name[j], (int)(r->field_len[c] > 40 ? 40 : r->field_len[c]),
                               r->field[c]);
        if (row) row[j] = (float)v;
    }
    return 0;
}

int affect_lemotif_load(const char *path, affect_dataset *out, affect_error *err) {
    memset(out, 0, sizeof *out);
    if (!affect_file_exists(path))
        return affect_fail(err, AFFECT_ENOTFOUND, "Lemotif file %s not found (get the data with: affect data pull)", path);
    char *text;
    size_t len;
    int rc = affect_read_file(path, &text, &len, err);
    if (rc) return rc;
    csv_reader r;
    csv_init(&r, text, len, ',', 1, path);
    col_set emo = {0}, topic = {0};
    long text_col = -1;
    size_t ncols = 0;
    int got;
    if ((rc = csv_next(&r, &got, err))) goto done;
    if (!got) {
        rc = affect_fail(err, AFFECT_EFORMAT, "%s: empty file (expected a header row)", path);
        goto done;
    }
    ncols = r.nfields;
    for (size_t c = 0; c < ncols && !rc; c++) {
        char name[256];
        if (!strcmp(r.field[c], "Answer")) {
            if (text_col >= 0) rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: two 'Answer' columns", path, r.line);
            text_col = (long)c;
        } else if (column_label(r.field[c], r.field_len[c], "Answer.f1.", name, sizeof name)) {
            rc = col_set_add(&emo, c, name, err);
        } else if (column_label(r.field[c], r.field_len[c], "Answer.t1.", name, sizeof name)) {
            rc = col_set_add(&topic, c, name, err);
        }
    }
    if (rc) goto done;
    if (text_col < 0 || emo.n == 0) {
        rc = affect_fail(err, AFFECT_EFORMAT,
                         "%s:%zu: header has no %s column (expected 'Answer' and 'Answer.f1.<emotion>.raw' columns)", path,
                         r.line, text_col < 0 ? "'Answer'" : "'Answer.f1.<emotion>.raw'");
        goto done;
    }
    if ((rc = affect_dataset_set_labels(out, emo.n, (const char *const *)emo.name, err))) goto done;
    if ((rc = affect_dataset_set_labels2(out, topic.n, (const char *const *)topic.name, err))) goto done;
    size_t k = 0;
    while (!(rc = csv_next(&r, &got, err)) && got) {
        if (r.nfields != ncols) {
            rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: expected %zu fields, found %zu", path, r.line, ncols, r.nfields);
            break;
        }
        char id[32];
        int idn = snprintf(id, sizeof id, "lemotif-%zu", ++k);
        size_t row;
        if ((rc = affect_dataset_add_row(out, id, (size_t)idn, r.field[text_col], r.field_len[text_col], &row, err)))
            break;
        if ((rc = read_cells(&r, &emo, out->labels + row * (size_t)emo.n, path, "Answer.f1.", err))) break;
        if ((rc = read_cells(&r, &topic, topic.n ? out->labels2 + row * (size_t)topic.n : NULL, path, "Answer.t1.", err)))
            break;
        out->label_mask[row] = 1;
    }
    if (!rc && out->n == 0) rc = affect_fail(err, AFFECT_EFORMAT, "%s: no data rows after the header", path);
done:
    col_set_free(&emo);
    col_set_free(&topic);
    csv_free(&r);
    free(text);
    if (rc) affect_dataset_free(out);
    return rc;
}
