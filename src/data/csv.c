/* RFC 4180 records (and quote-less TSV) from bytes in memory; see csv.h. */
#include "data/csv.h"
#include "util/error.h"
#include <stdlib.h>
#include <string.h>

void csv_init(csv_reader *r, const char *data, size_t len, char sep, int quoting, const char *name) {
    memset(r, 0, sizeof *r);
    r->p = data;
    r->end = data + len;
    if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) r->p += 3; /* a BOM is not part of the first field */
    r->sep = sep;
    r->quoting = quoting;
    r->name = name ? name : "(input)";
    r->next_line = 1;
}

void csv_free(csv_reader *r) {
    free(r->buf);
    free(r->off);
    free(r->field);
    free(r->field_len);
    memset(r, 0, sizeof *r);
}

/* Field bytes accumulate in one buffer per record, so a quoted field can be unescaped in
 * place and every field gets a terminating NUL. */
static int put(csv_reader *r, const char *s, size_t n, affect_error *err) {
    if (n > (size_t)-1 / 2 - r->buf_len - 1) return affect_fail(err, AFFECT_ENOMEM, "%s: record too large", r->name);
    if (r->buf_len + n + 1 > r->buf_cap) {
        size_t nc = r->buf_cap ? r->buf_cap : 256;
        while (nc < r->buf_len + n + 1) nc *= 2;
        char *nb = realloc(r->buf, nc);
        if (!nb) return affect_fail(err, AFFECT_ENOMEM, "%s:%zu: out of memory", r->name, r->line);
        r->buf = nb;
        r->buf_cap = nc;
    }
    memcpy(r->buf + r->buf_len, s, n);
    r->buf_len += n;
    return 0;
}

/* Closes the field being built (NUL) and opens the next one. */
static int end_field(csv_reader *r, affect_error *err) {
    int rc = put(r, "", 1, err); /* the NUL */
    if (rc) return rc;
    if (r->nfields + 1 >= r->fcap) {
        size_t nc = r->fcap ? r->fcap * 2 : 32;
        size_t *no = realloc(r->off, nc * sizeof *no);
        if (!no) return affect_fail(err, AFFECT_ENOMEM, "%s:%zu: out of memory", r->name, r->line);
        r->off = no;
        r->fcap = nc;
    }
    r->nfields++;
    r->off[r->nfields] = r->buf_len;
    return 0;
}

/* An end of line at p: returns its length (1 for LF or a lone CR, 2 for CRLF), else 0. */
static size_t eol_len(const char *p, const char *end) {
    if (p >= end) return 0;
    if (*p == '\n') return 1;
    if (*p == '\r') return (p + 1 < end && p[1] == '\n') ? 2 : 1;
    return 0;
}

int csv_next(csv_reader *r, int *got, affect_error *err) {
    *got = 0;
    size_t k;
    while (r->p < r->end && (k = eol_len(r->p, r->end)) != 0) { /* empty lines */
        r->p += k;
        r->next_line++;
    }
    if (r->p >= r->end) return 0;
    r->line = r->next_line;
    r->buf_len = 0;
    r->nfields = 0;
    if (!r->off) {
        r->off = malloc(32 * sizeof *r->off);
        if (!r->off) return affect_fail(err, AFFECT_ENOMEM, "%s: out of memory", r->name);
        r->fcap = 32;
    }
    r->off[0] = 0;
    const char *p = r->p, *end = r->end;
    int rc;
    for (;;) { /* one field per iteration */
        if (r->quoting && p < end && *p == '"') {
            size_t qline = r->next_line;
            p++;
            for (;;) {
                const char *q = memchr(p, '"', (size_t)(end - p));
                if (!q)
                    return affect_fail(err, AFFECT_EFORMAT, "%s:%zu: quoted field never closed (the file ends inside it)",
                                       r->name, qline);
                for (const char *s = p; s < q; s++) /* count lines inside the quotes */
                    if (*s == '\n' || (*s == '\r' && (s + 1 >= q || s[1] != '\n'))) r->next_line++;
                if ((rc = put(r, p, (size_t)(q - p), err))) return rc;
                p = q + 1;
                if (p < end && *p == '"') { /* "" is one quote */
                    if ((rc = put(r, "\"", 1, err))) return rc;
                    p++;
                    continue;
                }
                break;
            }
            if (p < end && *p != r->sep && !eol_len(p, end))
                return affect_fail(err, AFFECT_EFORMAT, "%s:%zu: field %zu: text after a closing quote", r->name,
                                   r->next_line, r->nfields + 1);
        } else {
            const char *s = p;
            while (p < end && *p != r->sep && *p != '\n' && *p != '\r') p++;
            if ((rc = put(r, s, (size_t)(p - s), err))) return rc;
        }
        if ((rc = end_field(r, err))) return rc;
        if (p < end && *p == r->sep) {
            p++;
            continue;
        }
        k = eol_len(p, end);
        p += k;
        if (k) r->next_line++;
        break;
    }
    r->p = p;
    /* publish pointers (buf may have moved while growing) */
    const char **f = realloc(r->field, r->nfields * sizeof *f);
    if (!f) return affect_fail(err, AFFECT_ENOMEM, "%s: out of memory", r->name);
    r->field = f;
    size_t *fl = realloc(r->field_len, r->nfields * sizeof *fl);
    if (!fl) return affect_fail(err, AFFECT_ENOMEM, "%s: out of memory", r->name);
    r->field_len = fl;
    for (size_t i = 0; i < r->nfields; i++) {
        r->field[i] = r->buf + r->off[i];
        r->field_len[i] = r->off[i + 1] - r->off[i] - 1;
    }
    *got = 1;
    return 0;
}
