/* Streaming safetensors writer: see safetensors_file.h. */
#include "train/safetensors_file.h"

#include <string.h>

#include "native/atomic_file.h"
#include "util/error.h"
#include "util/json.h"

/* Elements of a shape, refusing negative dimensions and overflow. */
static int numel_of(const affect_st_out *t, uint64_t *out) {
    uint64_t n = 1;
    if (t->ndim < 0 || t->ndim > 2) return 0;
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] < 0) return 0;
        uint64_t s = (uint64_t)t->shape[d];
        if (s && n > UINT64_MAX / 8 / s) return 0;
        n *= s;
    }
    *out = n;
    return 1;
}

/* Builds the header JSON (padded) in h. */
static int build_header(json_buf *h, const affect_st_out *t, size_t n, const char *const *meta,
                        size_t n_meta, affect_error *err) {
    int bad = json_buf_append(h, "{", 1);
    if (n_meta) {
        bad |= json_buf_append(h, "\"__metadata__\":{", 16);
        for (size_t i = 0; i < n_meta && !bad; i++) {
            if (i) bad |= json_buf_append(h, ",", 1);
            bad |= json_buf_string(h, meta[2 * i], strlen(meta[2 * i]));
            bad |= json_buf_append(h, ":", 1);
            bad |= json_buf_string(h, meta[2 * i + 1], strlen(meta[2 * i + 1]));
        }
        bad |= json_buf_append(h, "}", 1);
    }
    uint64_t off = 0;
    for (size_t i = 0; i < n && !bad; i++) {
        uint64_t cnt;
        if (!t[i].name || !strcmp(t[i].name, "__metadata__") || !numel_of(&t[i], &cnt) ||
            (cnt && !t[i].data))
            return affect_fail(err, AFFECT_EARG, "safetensors: tensor %zu ('%.100s') has no usable "
                               "name, shape or data", i, t[i].name ? t[i].name : "");
        uint64_t bytes = cnt * (t[i].is_i64 ? 8 : 4);
        if (bytes > UINT64_MAX / 2 - off)
            return affect_fail(err, AFFECT_EARG, "safetensors: total size overflows");
        if (n_meta || i) bad |= json_buf_append(h, ",", 1);
        bad |= json_buf_string(h, t[i].name, strlen(t[i].name));
        bad |= json_buf_printf(h, ":{\"dtype\":\"%s\",\"shape\":[", t[i].is_i64 ? "I64" : "F32");
        for (int d = 0; d < t[i].ndim; d++)
            bad |= json_buf_printf(h, d ? ",%lld" : "%lld", (long long)t[i].shape[d]);
        bad |= json_buf_printf(h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                               (unsigned long long)(off + bytes));
        off += bytes;
    }
    bad |= json_buf_append(h, "}", 1);
    while (!bad && h->len % 8) bad |= json_buf_append(h, " ", 1);
    if (bad) return affect_fail(err, AFFECT_ENOMEM, "safetensors: out of memory for the header");
    return AFFECT_OK;
}

int affect_safetensors_save(const char *path, const affect_st_out *t, size_t n,
                            const char *const *metadata, size_t n_meta, affect_error *err) {
    json_buf h = {0};
    int rc = build_header(&h, t, n, metadata, n_meta, err);
    if (rc) {
        json_buf_free(&h);
        return rc;
    }
    affect_wfile f;
    if ((rc = affect_wfile_open(&f, path, err))) {
        json_buf_free(&h);
        return rc;
    }
    uint8_t len8[8];
    uint64_t hl = h.len;
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)(hl >> (8 * i));
    rc = affect_wfile_write(&f, len8, 8, err);
    if (!rc) rc = affect_wfile_write(&f, h.data, h.len, err);
    json_buf_free(&h);
    for (size_t i = 0; i < n && !rc; i++) {
        uint64_t cnt = 0;
        numel_of(&t[i], &cnt); /* checked by build_header */
        uint64_t bytes = cnt * (t[i].is_i64 ? 8 : 4);
        if (bytes > SIZE_MAX) {
            rc = affect_fail(err, AFFECT_ENOMEM, "safetensors: tensor '%s' is too large", t[i].name);
            break;
        }
        if (bytes) rc = affect_wfile_write(&f, t[i].data, (size_t)bytes, err);
    }
    if (rc) {
        affect_wfile_abort(&f);
        return rc;
    }
    return affect_wfile_close(&f, err);
}
