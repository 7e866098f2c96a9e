/* safetensors: an 8-byte little-endian header size N, N bytes of JSON
 *   {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
 *    "__metadata__": {"key": "value"}}
 * then the data region, offsets relative to its start. Tensors are row-major contiguous. */
#include "tensors.h"
#include "tensors_internal.h"
#include "util/error.h"
#include "util/json.h"
#include <stdlib.h>
#include <string.h>

/* The Rust crate refuses headers over 100 MB; so do we, before allocating anything. */
#define ST_MAX_HEADER (100u * 1000u * 1000u)
/* Offsets are JSON numbers (doubles): integers are exact up to 2^53. */
#define ST_MAX_INT 9007199254740992.0

typedef struct { const char *name; affect_dtype dt; } st_dtype;
static const st_dtype st_dtypes[] = {
    {"F32", AFFECT_DT_F32}, {"F16", AFFECT_DT_F16}, {"BF16", AFFECT_DT_BF16},
    {"F64", AFFECT_DT_F64}, {"I64", AFFECT_DT_I64}, {"I32", AFFECT_DT_I32},
    {"I16", AFFECT_DT_I16}, {"I8", AFFECT_DT_I8},   {"U8", AFFECT_DT_U8},
    {"BOOL", AFFECT_DT_BOOL},
};

static int st_lookup_dtype(const json_value *v, affect_dtype *out) {
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++) {
        if (v->len == strlen(st_dtypes[i].name) && !memcmp(v->str, st_dtypes[i].name, v->len)) {
            *out = st_dtypes[i].dt;
            return 1;
        }
    }
    return 0;
}

/* One header entry -> one tensor, after checking that it describes exactly the bytes it
 * claims inside the data region. */
static int st_entry(tensors_builder *b, const char *name, size_t name_len, const json_value *v,
                    const uint8_t *data, uint64_t data_len, affect_error *err) {
    /* names are printed with %.*s so a long one cannot blow the message */
    int nl = name_len > 200 ? 200 : (int)name_len;
    if (v->type != JSON_OBJECT)
        return affect_fail(err, AFFECT_EFORMAT, "safetensors: entry '%.*s' is not an object", nl, name);
    const json_value *dt = json_get(v, "dtype"), *shape = json_get(v, "shape"),
                     *offs = json_get(v, "data_offsets");
    if (!dt || dt->type != JSON_STRING)
        return affect_fail(err, AFFECT_EFORMAT, "safetensors: tensor '%.*s' has no dtype string", nl, name);
    if (!shape || shape->type != JSON_ARRAY)
        return affect_fail(err, AFFECT_EFORMAT, "safetensors: tensor '%.*s' has no shape array", nl, name);
    if (!offs || offs->type != JSON_ARRAY || offs->len != 2 ||
        !json_is_int(&offs->items[0], 0, ST_MAX_INT) || !json_is_int(&offs->items[1], 0, ST_MAX_INT))
        return affect_fail(err, AFFECT_EFORMAT,
                           "safetensors: tensor '%.*s' needs data_offsets [begin, end] of two "
                           "non-negative integers", nl, name);
    affect_tensor t;
    memset(&t, 0, sizeof t);
    if (!st_lookup_dtype(dt, &t.dtype))
        return affect_fail(err, AFFECT_EUNSUPPORTED,
                           "safetensors: tensor '%.*s' has dtype %.*s, which affect does not support",
                           nl, name, dt->len > 32 ? 32 : (int)dt->len, dt->str);
    if (shape->len > AFFECT_MAX_DIMS)
        return affect_fail(err, AFFECT_EUNSUPPORTED, "safetensors: tensor '%.*s' has %zu dims (max %d)",
                           nl, name, shape->len, AFFECT_MAX_DIMS);
    t.ndim = (int)shape->len;
    for (int i = 0; i < t.ndim; i++) {
        if (!json_is_int(&shape->items[i], 0, ST_MAX_INT))
            return affect_fail(err, AFFECT_EFORMAT,
                               "safetensors: tensor '%.*s' has a shape entry that is not a "
                               "non-negative integer", nl, name);
        t.shape[i] = (int64_t)shape->items[i].number;
    }
    int64_t nbytes;
    char sb[160];
    if (!tensors_numel(t.shape, t.ndim, &t.numel) ||
        !tensors_mul(t.numel, (int64_t)affect_dtype_size(t.dtype), &nbytes))
        return affect_fail(err, AFFECT_EFORMAT, "safetensors: tensor '%.*s' shape %s overflows",
                           nl, name, affect_shape_str(t.shape, t.ndim, sb, sizeof sb));
    uint64_t begin = (uint64_t)offs->items[0].number, end = (uint64_t)offs->items[1].number;
    if (begin > end || end > data_len)
        return affect_fail(err, AFFECT_EFORMAT,
                           "safetensors: tensor '%.*s' data_offsets [%llu, %llu] fall outside the "
                           "%llu-byte data region", nl, name, (unsigned long long)begin,
                           (unsigned long long)end, (unsigned long long)data_len);
    if (end - begin != (uint64_t)nbytes)
        return affect_fail(err, AFFECT_EFORMAT,
                           "safetensors: tensor '%.*s' %s %s needs %lld bytes but data_offsets "
                           "span %llu", nl, name, affect_dtype_name(t.dtype),
                           affect_shape_str(t.shape, t.ndim, sb, sizeof sb), (long long)nbytes,
                           (unsigned long long)(end - begin));
    int64_t st = 1;
    for (int i = t.ndim - 1; i >= 0; i--) {
        t.stride[i] = st;
        st *= t.shape[i]; /* cannot overflow: the full product was checked */
    }
    t.data = data + begin;
    return tensors_builder_add(b, name, name_len, &t, "safetensors", err);
}

int affect_safetensors_parse(affect_tensor_set *ts, const uint8_t *buf, size_t len,
                             affect_error *err) {
    if (!ts) return affect_fail(err, AFFECT_EARG, "safetensors: NULL set");
    ts->t = NULL;
    ts->n = 0;
    if (!buf && len) return affect_fail(err, AFFECT_EARG, "safetensors: NULL buffer");
    if (len < 8)
        return affect_fail(err, AFFECT_EFORMAT,
                           "safetensors: file is %zu bytes, too short for the 8-byte header size", len);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | buf[i];
    if (n > len - 8)
        return affect_fail(err, AFFECT_EFORMAT,
                           "safetensors: header size %llu exceeds the file (%zu bytes)",
                           (unsigned long long)n, len);
    if (n > ST_MAX_HEADER)
        return affect_fail(err, AFFECT_EFORMAT, "safetensors: header size %llu exceeds 100 MB",
                           (unsigned long long)n);
    if (n < 2 || buf[8] != '{')
        return affect_fail(err, AFFECT_EFORMAT, "safetensors: header does not start with '{'");
    json_doc *doc;
    affect_error jerr;
    int rc = json_parse(&doc, (const char *)buf + 8, (size_t)n, &jerr);
    if (rc) return affect_fail(err, rc, "safetensors header: %s", jerr.msg);
    const json_value *root = json_root(doc);
    tensors_builder b = {0};
    const uint8_t *data = buf + 8 + n;
    uint64_t data_len = (uint64_t)(len - 8 - n);
    if (root->type != JSON_OBJECT) {
        rc = affect_fail(err, AFFECT_EFORMAT, "safetensors: header is not a JSON object");
        goto done;
    }
    for (size_t i = 0; i < root->len; i++) {
        const char *k = root->keys[i];
        size_t kl = root->key_lens[i];
        if (kl == 12 && !memcmp(k, "__metadata__", 12)) {
            const json_value *m = &root->items[i];
            if (m->type != JSON_OBJECT) {
                rc = affect_fail(err, AFFECT_EFORMAT, "safetensors: __metadata__ is not an object");
                goto done;
            }
            for (size_t j = 0; j < m->len; j++) {
                if (m->items[j].type != JSON_STRING) {
                    rc = affect_fail(err, AFFECT_EFORMAT,
                                     "safetensors: __metadata__ value '%.*s' is not a string",
                                     m->key_lens[j] > 100 ? 100 : (int)m->key_lens[j], m->keys[j]);
                    goto done;
                }
            }
            continue;
        }
        if ((rc = st_entry(&b, k, kl, &root->items[i], data, data_len, err))) goto done;
    }
    rc = tensors_builder_finish(&b, ts, "safetensors", err);
done:
    tensors_builder_free(&b);
    json_free(doc);
    return rc;
}

/* ---- writing ----------------------------------------------------------------------------- */

/* Produces what the Rust crate would accept: header JSON padded with spaces so the data
 * starts 8-byte aligned, offsets contiguous in the order given. */
int affect_safetensors_write(const affect_tensor_f32 *ts, size_t n, const char *const *metadata,
                             size_t n_meta, uint8_t **out, size_t *out_len, affect_error *err) {
    if (!out || !out_len || (n && !ts) || (n_meta && !metadata))
        return affect_fail(err, AFFECT_EARG, "safetensors write: NULL argument");
    *out = NULL;
    *out_len = 0;
    json_buf h = {0};
    int rc = 0;
    uint64_t off = 0;
    int64_t *nbytes = n ? calloc(n, sizeof *nbytes) : NULL;
    if (n && !nbytes) return affect_fail(err, AFFECT_ENOMEM, "safetensors write: out of memory");
#define W(call) do { if ((call)) { rc = affect_fail(err, AFFECT_ENOMEM, "safetensors write: out of memory"); goto done; } } while (0)
    W(json_buf_append(&h, "{", 1));
    if (n_meta) {
        W(json_buf_append(&h, "\"__metadata__\":{", strlen("\"__metadata__\":{")));
        for (size_t i = 0; i < n_meta; i++) {
            const char *k = metadata[2 * i], *v = metadata[2 * i + 1];
            if (!k || !v) { rc = affect_fail(err, AFFECT_EARG, "safetensors write: NULL metadata string"); goto done; }
            if (i) W(json_buf_append(&h, ",", 1));
            W(json_buf_string(&h, k, strlen(k)));
            W(json_buf_append(&h, ":", 1));
            W(json_buf_string(&h, v, strlen(v)));
        }
        W(json_buf_append(&h, "}", 1));
    }
    for (size_t i = 0; i < n; i++) {
        const affect_tensor_f32 *t = &ts[i];
        int64_t numel;
        if (!t->name || !strcmp(t->name, "__metadata__")) {
            rc = affect_fail(err, AFFECT_EARG, "safetensors write: tensor %zu has no usable name", i);
            goto done;
        }
        for (size_t j = 0; j < i; j++) {
            if (!strcmp(ts[j].name, t->name)) {
                rc = affect_fail(err, AFFECT_EARG, "safetensors write: duplicate tensor name '%s'", t->name);
                goto done;
            }
        }
        if (!tensors_numel(t->shape, t->ndim, &numel) || !tensors_mul(numel, 4, &nbytes[i]) ||
            (nbytes[i] && !t->data)) {
            rc = affect_fail(err, AFFECT_EARG, "safetensors write: tensor '%s' has a bad shape or no data", t->name);
            goto done;
        }
        if (n_meta || i) W(json_buf_append(&h, ",", 1));
        W(json_buf_string(&h, t->name, strlen(t->name)));
        W(json_buf_append(&h, ":{\"dtype\":\"F32\",\"shape\":[", strlen(":{\"dtype\":\"F32\",\"shape\":[")));
        for (int d = 0; d < t->ndim; d++) W(json_buf_printf(&h, d ? ",%lld" : "%lld", (long long)t->shape[d]));
        if ((uint64_t)nbytes[i] > UINT64_MAX - off) {
            rc = affect_fail(err, AFFECT_EARG, "safetensors write: total size overflows");
            goto done;
        }
        W(json_buf_printf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                          (unsigned long long)(off + (uint64_t)nbytes[i])));
        off += (uint64_t)nbytes[i];
    }
    W(json_buf_append(&h, "}", 1));
    while (h.len % 8) W(json_buf_append(&h, " ", 1));
    if (off > SIZE_MAX - 8 - h.len) {
        rc = affect_fail(err, AFFECT_ENOMEM, "safetensors write: file too large for memory");
        goto done;
    }
    size_t total = 8 + h.len + (size_t)off;
    uint8_t *o = malloc(total);
    if (!o) { rc = affect_fail(err, AFFECT_ENOMEM, "safetensors write: out of memory"); goto done; }
    uint64_t hl = h.len;
    for (int i = 0; i < 8; i++) o[i] = (uint8_t)(hl >> (8 * i));
    memcpy(o + 8, h.data, h.len);
    size_t p = 8 + h.len;
    for (size_t i = 0; i < n; i++) {
        if (nbytes[i]) memcpy(o + p, ts[i].data, (size_t)nbytes[i]);
        p += (size_t)nbytes[i];
    }
    *out = o;
    *out_len = total;
#undef W
done:
    free(nbytes);
    json_buf_free(&h);
    return rc;
}
