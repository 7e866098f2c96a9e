/* GoEmotions ("simplified" release): labels.txt gives the 28 names, <split>.tsv one comment
 * per line as text<TAB>comma-separated label ids<TAB>comment id. */
#define _POSIX_C_SOURCE 200809L
#include "data/csv.h"
#include "data/dataset.h"
#include "util/blob.h"
#include "util/error.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* labels.txt: one name per line; blank lines (a trailing newline) do not count. */
static int read_label_names(const char *path, char ***names, int *L, affect_error *err) {
    char *text;
    size_t len;
    int rc = affect_read_file(path, &text, &len, err);
    if (rc) return rc;
    char **v = NULL;
    int n = 0;
    csv_reader r;
    csv_init(&r, text, len, '\t', 0, path);
    int got;
    while (!(rc = csv_next(&r, &got, err)) && got) {
        if (r.nfields != 1 || r.field_len[0] == 0) {
            rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: expected one label name per line", path, r.line);
            break;
        }
        if (n >= 100000) {
            rc = affect_fail(err, AFFECT_EFORMAT, "%s: too many label names", path);
            break;
        }
        char **nv = realloc(v, (size_t)(n + 1) * sizeof *nv);
        if (!nv) {
            rc = affect_fail(err, AFFECT_ENOMEM, "out of memory");
            break;
        }
        v = nv;
        v[n] = strdup(r.field[0]);
        if (!v[n]) { rc = affect_fail(err, AFFECT_ENOMEM, "out of memory"); break; }
        n++;
    }
    csv_free(&r);
    free(text);
    if (!rc && n == 0) rc = affect_fail(err, AFFECT_EFORMAT, "%s: no label names", path);
    if (rc) {
        for (int i = 0; i < n; i++) free(v[i]);
        free(v);
        return rc;
    }
    *names = v;
    *L = n;
    return 0;
}

/* "3,27" -> labels[3] = labels[27] = 1; ids outside [0,L) or junk are errors. */
static int parse_ids(const char *s, size_t n, float *row, int L, const char *path, size_t line, affect_error *err) {
    size_t i = 0;
    int count = 0;
    while (i < n) {
        long v = 0;
        size_t start = i;
        while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 9) v = v * 10 + (s[i++] - '0');
        if (i == start || (i < n && s[i] != ','))
            return affect_fail(err, AFFECT_EFORMAT, "%s:%zu: label ids must be comma-separated numbers, found '%.*s'",
                               path, line, (int)(n > 40 ? 40 : n), s);
        if (v >= L)
            return affect_fail(err, AFFECT_EFORMAT, "%s:%zu: label id %ld out of range (labels.txt has %d)", path, line,
                               v, L);
        row[v] = 1.0f;
        count++;
        if (i < n) i++; /* the comma */
        if (i == n && s[n - 1] == ',')
            return affect_fail(err, AFFECT_EFORMAT, "%s:%zu: label ids end with a comma", path, line);
    }
    if (!count) return affect_fail(err, AFFECT_EFORMAT, "%s:%zu: no label ids", path, line);
    return 0;
}

int affect_goemotions_load(const char *dir, const char *split, affect_dataset *out, affect_error *err) {
    memset(out, 0, sizeof *out);
    if (!split || (strcmp(split, "train") && strcmp(split, "dev") && strcmp(split, "test")))
        return affect_fail(err, AFFECT_EARG, "GoEmotions split must be train, dev or test, not '%s'", split ? split : "");
    char lpath[4096], path[4096];
    if (snprintf(lpath, sizeof lpath, "%s/labels.txt", dir) >= (int)sizeof lpath ||
        snprintf(path, sizeof path, "%s/%s.tsv", dir, split) >= (int)sizeof path)
        return affect_fail(err, AFFECT_EARG, "GoEmotions folder path too long");
    if (!affect_file_exists(lpath) || !affect_file_exists(path))
        return affect_fail(err, AFFECT_ENOTFOUND, "GoEmotions file %s not found (get the data with: affect data pull)",
                           affect_file_exists(lpath) ? path : lpath);
    char **names;
    int L;
    int rc = read_label_names(lpath, &names, &L, err);
    if (rc) return rc;
    rc = affect_dataset_set_labels(out, L, (const char *const *)names, err);
    for (int i = 0; i < L; i++) free(names[i]);
    free(names);
    if (rc) return rc;
    char *text;
    size_t len;
    if ((rc = affect_read_file(path, &text, &len, err))) {
        affect_dataset_free(out);
        return rc;
    }
    csv_reader r;
    csv_init(&r, text, len, '\t', 0, path);
    int got;
    while (!(rc = csv_next(&r, &got, err)) && got) {
        if (r.nfields != 3) {
            rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: expected 3 fields (text, label ids, id), found %zu", path,
                             r.line, r.nfields);
            break;
        }
        size_t row;
        if ((rc = affect_dataset_add_row(out, r.field[2], r.field_len[2], r.field[0], r.field_len[0], &row, err)))
            break;
        if ((rc = parse_ids(r.field[1], r.field_len[1], out->labels + row * (size_t)L, L, path, r.line, err))) break;
        out->label_mask[row] = 1;
    }
    csv_free(&r);
    free(text);
    if (rc) affect_dataset_free(out);
    return rc;
}
