/* A small, strict JSON reader (RFC 8259) for the files a model folder holds: config.json,
 * tokenizer.json and the safetensors header. The core cannot depend on a JSON library (it
 * compiles to WebAssembly with libc only), so this is the one parser everything shares.
 * Parsing builds a tree in one arena; json_free releases it all. */
#ifndef AFFECT_CORE_JSON_H
#define AFFECT_CORE_JSON_H
#include <stddef.h>
#include "affect.h"

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value json_value;
struct json_value {
    json_type type;
    int boolean;      /* JSON_BOOL */
    double number;    /* JSON_NUMBER */
    const char *str;  /* JSON_STRING: UTF-8, NUL-terminated (may contain NUL: use len) */
    size_t len;       /* JSON_STRING: bytes; JSON_ARRAY/OBJECT: number of items */
    json_value *items;/* JSON_ARRAY / JSON_OBJECT values */
    const char **keys;/* JSON_OBJECT keys, parallel to items */
    size_t *key_lens;
};

typedef struct json_doc json_doc;

/* Parses `len` bytes; on error the message names the line and column. */
int json_parse(json_doc **out, const char *text, size_t len, affect_error *err);
const json_value *json_root(const json_doc *doc);
void json_free(json_doc *doc);

/* Object member by key (first match), or NULL when absent or `obj` is not an object. */
const json_value *json_get(const json_value *obj, const char *key);
/* Typed accessors with defaults when the member is absent or of another type. */
double json_get_number(const json_value *obj, const char *key, double dflt);
const char *json_get_string(const json_value *obj, const char *key, const char *dflt);
int json_get_bool(const json_value *obj, const char *key, int dflt);
/* 1 if `v` is an integral number in [lo, hi]. */
int json_is_int(const json_value *v, double lo, double hi);

/* Appends a JSON string literal for `s` (escaping as needed) to a growable buffer;
 * used by writers (CLI output, safetensors headers). Returns 0 or AFFECT_ENOMEM. */
typedef struct json_buf { char *data; size_t len, cap; } json_buf;
int json_buf_append(json_buf *b, const char *s, size_t n);
int json_buf_printf(json_buf *b, const char *fmt, ...);
int json_buf_string(json_buf *b, const char *s, size_t n);
void json_buf_free(json_buf *b);

#endif
