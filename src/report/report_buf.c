/* The renderers' shared string builder and escapers (see report_buf.h). */
#include "report/report_buf.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rb_putn(rbuf *r, const char *s, size_t n) {
    if (r->oom || n == 0) return;
    if (json_buf_append(r->b, s, n)) r->oom = 1;
}

void rb_put(rbuf *r, const char *s) { rb_putn(r, s, strlen(s)); }

/* vsnprintf into a stack buffer, or a heap one when the text is longer. */
void rb_printf(rbuf *r, const char *fmt, ...) {
    if (r->oom) return;
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) { r->oom = 1; return; }
    if ((size_t)n < sizeof tmp) { rb_putn(r, tmp, (size_t)n); return; }
    char *big = malloc((size_t)n + 1);
    if (!big) { r->oom = 1; return; }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    rb_putn(r, big, (size_t)n);
    free(big);
}

void rb_html(rbuf *r, const char *s) {
    const char *run = s;
    for (const char *p = s;; p++) {
        unsigned char c = (unsigned char)*p;
        const char *rep = NULL;
        switch (c) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default:
            if ((c < 0x20 && c != '\t' && c != '\n' && c != 0) || c == 0x7f) rep = "\xEF\xBF\xBD";
        }
        if (c == 0 || rep) {
            rb_putn(r, run, (size_t)(p - run));
            if (c == 0) return;
            rb_put(r, rep);
            run = p + 1;
        }
    }
}

void rb_json_str(rbuf *r, const char *s) {
    if (r->oom) return;
    if (json_buf_string(r->b, s, strlen(s))) r->oom = 1;
}

void rb_json_num(rbuf *r, double v) {
    if (isfinite(v)) rb_printf(r, "%.17g", v);
    else rb_put(r, "null");
}

void rb_md(rbuf *r, const char *s) {
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '|' || c == '\\' || c == '`' || c == '*' || c == '_' || c == '<' || c == '>') {
            char e[2] = {'\\', (char)c};
            rb_putn(r, e, 2);
        } else if (c < 0x20 || c == 0x7f) rb_putn(r, " ", 1);
        else rb_putn(r, p, 1);
    }
}

void rb_term(rbuf *r, const char *s) {
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        rb_putn(r, (c < 0x20 || c == 0x7f) ? "?" : p, 1);
    }
}

size_t rb_text_width(const char *s) {
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80) w++;
    return w;
}

void rb_term_pad(rbuf *r, const char *s, size_t width, int right) {
    size_t w = rb_text_width(s);
    size_t pad = w < width ? width - w : 0;
    if (right) for (size_t i = 0; i < pad; i++) rb_putn(r, " ", 1);
    rb_term(r, s);
    if (!right) for (size_t i = 0; i < pad; i++) rb_putn(r, " ", 1);
}

void rb_fixed(rbuf *r, double v, int decimals) {
    if (isfinite(v)) rb_printf(r, "%.*f", decimals, v);
    else rb_put(r, "n/a");
}
