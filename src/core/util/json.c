#include "json.h"
#include "error.h"
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 256

/* One arena of big chunks: a 1.3 MB tokenizer.json becomes ~200k small nodes, and freeing
 * them one by one would cost more than parsing. */
typedef struct chunk { struct chunk *next; size_t used, cap; size_t pad; } chunk; /* 32 bytes */

struct json_doc {
    chunk *chunks;
    json_value root;
};

typedef struct parser {
    const char *s, *end, *start;
    json_doc *doc;
    affect_error *err;
    int depth;
} parser;

static void *arena_alloc(json_doc *d, size_t n) {
    n = (n + 15) & ~(size_t)15;
    chunk *c = d->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > (1u << 20) ? n : (1u << 20);
        c = malloc(sizeof(chunk) + cap);
        if (!c) return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = d->chunks;
        d->chunks = c;
    }
    void *p = (char *)(c + 1) + c->used;
    c->used += n;
    return p;
}

static int perr(parser *p, const char *what) {
    int line = 1, col = 1;
    for (const char *q = p->start; q < p->s && q < p->end; q++) {
        if (*q == '\n') { line++; col = 1; } else col++;
    }
    return affect_fail(p->err, AFFECT_EFORMAT, "JSON: %s at line %d, column %d", what, line, col);
}

static void skip_ws(parser *p) {
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) p->s++;
}

static int parse_value(parser *p, json_value *v);

static int hex4(const char *s, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 63));
        o[2] = (char)(0x80 | (cp & 63)); return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 63));
    o[2] = (char)(0x80 | ((cp >> 6) & 63)); o[3] = (char)(0x80 | (cp & 63)); return 4;
}

/* Decodes a string literal in place into the arena. Escapes never make the text longer,
 * so the output needs at most the input's length. Lone surrogates become U+FFFD. */
static int parse_string(parser *p, const char **out, size_t *outlen) {
    p->s++; /* opening quote */
    const char *q = p->s;
    int simple = 1;
    while (q < p->end && *q != '"') {
        if (*q == '\\') { simple = 0; q++; if (q >= p->end) break; }
        else if ((unsigned char)*q < 0x20) { p->s = q; return perr(p, "control character in string"); }
        q++;
    }
    if (q >= p->end) return perr(p, "unterminated string");
    size_t maxn = (size_t)(q - p->s);
    char *o = arena_alloc(p->doc, maxn + 1);
    if (!o) return affect_fail(p->err, AFFECT_ENOMEM, "JSON: out of memory");
    if (simple) {
        memcpy(o, p->s, maxn);
        o[maxn] = 0;
        *out = o; *outlen = maxn;
        p->s = q + 1;
        return 0;
    }
    size_t n = 0;
    const char *s = p->s;
    while (s < q) {
        if (*s != '\\') { o[n++] = *s++; continue; }
        s++;
        char c = *s++;
        switch (c) {
        case '"': o[n++] = '"'; break;
        case '\\': o[n++] = '\\'; break;
        case '/': o[n++] = '/'; break;
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case 'n': o[n++] = '\n'; break;
        case 'r': o[n++] = '\r'; break;
        case 't': o[n++] = '\t'; break;
        case 'u': {
            unsigned cp;
            if (q - s < 4 || hex4(s, &cp)) { p->s = s; return perr(p, "bad \\u escape"); }
            s += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (q - s >= 6 && s[0] == '\\' && s[1] == 'u' && !hex4(s + 2, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    s += 6;
                } else cp = 0xFFFD;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) cp = 0xFFFD;
            n += put_utf8(o + n, cp);
            break;
        }
        default: p->s = s - 1; return perr(p, "bad escape");
        }
    }
    o[n] = 0;
    *out = o; *outlen = n;
    p->s = q + 1;
    return 0;
}

static int parse_number(parser *p, json_value *v) {
    const char *s = p->s;
    if (s < p->end && *s == '-') s++;
    if (s >= p->end) return perr(p, "bad number");
    if (*s == '0') s++;
    else if (*s >= '1' && *s <= '9') while (s < p->end && *s >= '0' && *s <= '9') s++;
    else return perr(p, "bad number");
    if (s < p->end && *s == '.') {
        s++;
        if (s >= p->end || *s < '0' || *s > '9') return perr(p, "bad number");
        while (s < p->end && *s >= '0' && *s <= '9') s++;
    }
    if (s < p->end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < p->end && (*s == '+' || *s == '-')) s++;
        if (s >= p->end || *s < '0' || *s > '9') return perr(p, "bad number");
        while (s < p->end && *s >= '0' && *s <= '9') s++;
    }
    char tmp[64];
    size_t n = (size_t)(s - p->s);
    if (n >= sizeof tmp) {
        /* very long literal: strtod on a bounded copy */
        char *big = malloc(n + 1);
        if (!big) return affect_fail(p->err, AFFECT_ENOMEM, "JSON: out of memory");
        memcpy(big, p->s, n); big[n] = 0;
        v->number = strtod(big, NULL);
        free(big);
    } else {
        memcpy(tmp, p->s, n); tmp[n] = 0;
        v->number = strtod(tmp, NULL);
    }
    v->type = JSON_NUMBER;
    p->s = s;
    return 0;
}

/* Arrays and objects are collected in a temporary growable array, then copied into the
 * arena at their final size. */
static int parse_container(parser *p, json_value *v, int is_obj) {
    if (++p->depth > JSON_MAX_DEPTH) return perr(p, "nesting too deep");
    p->s++;
    size_t cap = 8, n = 0;
    json_value *items = malloc(cap * sizeof *items);
    const char **keys = is_obj ? malloc(cap * sizeof *keys) : NULL;
    size_t *klens = is_obj ? malloc(cap * sizeof *klens) : NULL;
    int rc = 0;
    if (!items || (is_obj && (!keys || !klens))) { rc = affect_fail(p->err, AFFECT_ENOMEM, "JSON: out of memory"); goto done; }
    skip_ws(p);
    if (p->s < p->end && *p->s == (is_obj ? '}' : ']')) { p->s++; goto finish; }
    for (;;) {
        if (n == cap) {
            cap *= 2;
            json_value *ni = realloc(items, cap * sizeof *items);
            if (!ni) { rc = affect_fail(p->err, AFFECT_ENOMEM, "JSON: out of memory"); goto done; }
            items = ni;
            if (is_obj) {
                const char **nk = realloc(keys, cap * sizeof *keys);
                if (!nk) { rc = affect_fail(p->err, AFFECT_ENOMEM, "JSON: out of memory"); goto done; }
                keys = nk;
                size_t *nl = realloc(klens, cap * sizeof *klens);
                if (!nl) { rc = affect_fail(p->err, AFFECT_ENOMEM, "JSON: out of memory"); goto done; }
                klens = nl;
            }
        }
        skip_ws(p);
        if (is_obj) {
            if (p->s >= p->end || *p->s != '"') { rc = perr(p, "expected string key"); goto done; }
            if ((rc = parse_string(p, &keys[n], &klens[n]))) goto done;
            skip_ws(p);
            if (p->s >= p->end || *p->s != ':') { rc = perr(p, "expected ':'"); goto done; }
            p->s++;
        }
        memset(&items[n], 0, sizeof items[n]);
        if ((rc = parse_value(p, &items[n]))) goto done;
        n++;
        skip_ws(p);
        if (p->s < p->end && *p->s == ',') { p->s++; continue; }
        if (p->s < p->end && *p->s == (is_obj ? '}' : ']')) { p->s++; break; }
        rc = perr(p, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
        goto done;
    }
finish:
    v->type = is_obj ? JSON_OBJECT : JSON_ARRAY;
    v->len = n;
    if (n) {
        v->items = arena_alloc(p->doc, n * sizeof *items);
        if (!v->items) { rc = affect_fail(p->err, AFFECT_ENOMEM, "JSON: out of memory"); goto done; }
        memcpy(v->items, items, n * sizeof *items);
        if (is_obj) {
            v->keys = arena_alloc(p->doc, n * sizeof *keys);
            v->key_lens = arena_alloc(p->doc, n * sizeof *klens);
            if (!v->keys || !v->key_lens) { rc = affect_fail(p->err, AFFECT_ENOMEM, "JSON: out of memory"); goto done; }
            memcpy(v->keys, keys, n * sizeof *keys);
            memcpy(v->key_lens, klens, n * sizeof *klens);
        }
    }
done:
    free(items);
    free(keys);
    free(klens);
    p->depth--;
    return rc;
}

static int parse_value(parser *p, json_value *v) {
    skip_ws(p);
    if (p->s >= p->end) return perr(p, "unexpected end of input");
    char c = *p->s;
    size_t left = (size_t)(p->end - p->s);
    switch (c) {
    case '{': return parse_container(p, v, 1);
    case '[': return parse_container(p, v, 0);
    case '"': v->type = JSON_STRING; return parse_string(p, &v->str, &v->len);
    case 't': if (left >= 4 && !memcmp(p->s, "true", 4)) { v->type = JSON_BOOL; v->boolean = 1; p->s += 4; return 0; } break;
    case 'f': if (left >= 5 && !memcmp(p->s, "false", 5)) { v->type = JSON_BOOL; v->boolean = 0; p->s += 5; return 0; } break;
    case 'n': if (left >= 4 && !memcmp(p->s, "null", 4)) { v->type = JSON_NULL; p->s += 4; return 0; } break;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p, v);
    }
    return perr(p, "unexpected character");
}

int json_parse(json_doc **out, const char *text, size_t len, affect_error *err) {
    *out = NULL;
    json_doc *d = calloc(1, sizeof *d);
    if (!d) return affect_fail(err, AFFECT_ENOMEM, "JSON: out of memory");
    parser p = {text, text + len, text, d, err, 0};
    /* a UTF-8 byte order mark is tolerated, as Python's and Rust's readers of these files do not
     * produce one but editors sometimes add it */
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) p.s += 3;
    int rc = parse_value(&p, &d->root);
    if (!rc) {
        skip_ws(&p);
        if (p.s != p.end) rc = perr(&p, "trailing characters");
    }
    if (rc) { json_free(d); return rc; }
    *out = d;
    return 0;
}

const json_value *json_root(const json_doc *doc) { return &doc->root; }

void json_free(json_doc *doc) {
    if (!doc) return;
    chunk *c = doc->chunks;
    while (c) { chunk *n = c->next; free(c); c = n; }
    free(doc);
}

const json_value *json_get(const json_value *obj, const char *key) {
    if (!obj || obj->type != JSON_OBJECT) return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < obj->len; i++)
        if (obj->key_lens[i] == kl && !memcmp(obj->keys[i], key, kl)) return &obj->items[i];
    return NULL;
}

double json_get_number(const json_value *obj, const char *key, double dflt) {
    const json_value *v = json_get(obj, key);
    return v && v->type == JSON_NUMBER ? v->number : dflt;
}

const char *json_get_string(const json_value *obj, const char *key, const char *dflt) {
    const json_value *v = json_get(obj, key);
    return v && v->type == JSON_STRING ? v->str : dflt;
}

int json_get_bool(const json_value *obj, const char *key, int dflt) {
    const json_value *v = json_get(obj, key);
    return v && v->type == JSON_BOOL ? v->boolean : dflt;
}

int json_is_int(const json_value *v, double lo, double hi) {
    return v && v->type == JSON_NUMBER && v->number >= lo && v->number <= hi &&
           v->number == (double)(long long)v->number;
}

/* ---- writing ---------------------------------------------------------------------------- */

static int buf_reserve(json_buf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *nd = realloc(b->data, cap);
    if (!nd) return AFFECT_ENOMEM;
    b->data = nd;
    b->cap = cap;
    return 0;
}

int json_buf_append(json_buf *b, const char *s, size_t n) {
    if (buf_reserve(b, n)) return AFFECT_ENOMEM;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

int json_buf_printf(json_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return AFFECT_EFORMAT;
    if ((size_t)n < sizeof tmp) return json_buf_append(b, tmp, (size_t)n);
    if (buf_reserve(b, (size_t)n)) return AFFECT_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int json_buf_string(json_buf *b, const char *s, size_t n) {
    if (buf_reserve(b, n * 6 + 2)) return AFFECT_ENOMEM;
    char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': *o++ = '\\'; *o++ = '"'; break;
        case '\\': *o++ = '\\'; *o++ = '\\'; break;
        case '\n': *o++ = '\\'; *o++ = 'n'; break;
        case '\r': *o++ = '\\'; *o++ = 'r'; break;
        case '\t': *o++ = '\\'; *o++ = 't'; break;
        default:
            if (c < 0x20 || c == 0x7f) { o += sprintf(o, "\\u%04x", c); }
            else *o++ = (char)c;
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = 0;
    return 0;
}

void json_buf_free(json_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
