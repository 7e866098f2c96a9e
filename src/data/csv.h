/* A record reader for delimited text, shared by every dataset reader: RFC 4180 CSV (quoted
 * fields with "" escapes and embedded newlines) and quote-less TSV (GoEmotions, EmoInt, where
 * a '"' is a literal character).
 *
 * The reader works on bytes already in memory and never assumes a row count: it hands out one
 * record at a time, each tagged with the physical line it started on, so a reader can say
 * "lemotif.csv:17: expected 30 fields, found 12". It accepts LF and CRLF line ends, a UTF-8
 * byte-order mark at the start, and a last record with or without a final newline. Empty
 * lines are skipped (they are never data in the formats we read).
 *
 * Usage:
 *   csv_reader r;
 *   csv_init(&r, bytes, len, ',', 1, "lemotif.csv");
 *   int got;
 *   while (!(rc = csv_next(&r, &got, err)) && got) { use r.field[i], r.field_len[i], r.nfields, r.line }
 *   csv_free(&r);
 */
#ifndef AFFECT_DATA_CSV_H
#define AFFECT_DATA_CSV_H
#include <stddef.h>
#include "affect.h"

typedef struct csv_reader {
    /* the current record (valid until the next csv_next) */
    size_t nfields;
    const char **field;     /* (nfields) NUL-terminated, unescaped */
    size_t *field_len;      /* (nfields) bytes, without the NUL */
    size_t line;            /* 1-based physical line the record starts on */
    /* private */
    const char *p, *end;
    const char *name;       /* file name used in messages */
    char sep;
    int quoting;
    size_t next_line;
    char *buf;
    size_t buf_len, buf_cap;
    size_t *off;            /* field offsets into buf while a record is built */
    size_t fcap;
} csv_reader;

/* `sep` is ',' or '\t' (any byte other than '"', CR, LF); `quoting` 1 reads RFC 4180 quotes,
 * 0 makes '"' an ordinary character. `name` appears in error messages and must outlive the
 * reader. The bytes are not copied and must outlive it too. */
void csv_init(csv_reader *r, const char *data, size_t len, char sep, int quoting, const char *name);

/* Reads the next record: *got = 1 and the fields filled, or *got = 0 at the end. Errors
 * (AFFECT_EFORMAT for an unterminated quote or text after a closing quote, AFFECT_ENOMEM)
 * name the file and line. */
int csv_next(csv_reader *r, int *got, affect_error *err);

void csv_free(csv_reader *r);

#endif
