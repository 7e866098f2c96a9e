/* A string builder for the report renderers: json_buf with a sticky out-of-memory flag, so
 * a renderer can append hundreds of pieces and check for failure once at the end. Also the
 * escapers each output format needs (HTML, JSON, Markdown, terminal). Internal to
 * src/report/. */
#ifndef AFFECT_REPORT_BUF_H
#define AFFECT_REPORT_BUF_H
#include <stddef.h>
#include "core/util/json.h"

typedef struct rbuf {
    json_buf *b;
    int oom;
} rbuf;

void rb_putn(rbuf *r, const char *s, size_t n);
void rb_put(rbuf *r, const char *s);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void rb_printf(rbuf *r, const char *fmt, ...);
/* Text as HTML character data or attribute value: & < > " ' escaped; control characters
 * other than tab/newline become U+FFFD. */
void rb_html(rbuf *r, const char *s);
/* A JSON string literal. */
void rb_json_str(rbuf *r, const char *s);
/* A JSON number with 17 significant digits, or null for NaN/Inf. */
void rb_json_num(rbuf *r, double v);
/* Text for a Markdown table cell: | and \ and backtick escaped, newlines as spaces. */
void rb_md(rbuf *r, const char *s);
/* Text for a terminal: control bytes (ESC included) shown as '?', so a label name cannot
 * move the cursor or change colours. */
void rb_term(rbuf *r, const char *s);
/* `s` in a field of `width` display columns (UTF-8 aware, terminal-escaped), left or right
 * aligned. */
void rb_term_pad(rbuf *r, const char *s, size_t width, int right);
/* Display columns of UTF-8 text (one per code point; good enough for labels and ids). */
size_t rb_text_width(const char *s);
/* A number with `decimals` decimals, or "n/a" for NaN. */
void rb_fixed(rbuf *r, double v, int decimals);

#endif
