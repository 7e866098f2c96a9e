/* What every weights format shares once parsed: dtypes, the sorted name index, conversion of
 * any dtype and any strides to contiguous f32, and format detection. */
#include "tensors.h"
#include "tensors_internal.h"
#include "util/error.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t affect_dtype_size(affect_dtype dt) {
    switch (dt) {
    case AFFECT_DT_F64: case AFFECT_DT_I64: return 8;
    case AFFECT_DT_F32: case AFFECT_DT_I32: return 4;
    case AFFECT_DT_F16: case AFFECT_DT_BF16: case AFFECT_DT_I16: return 2;
    case AFFECT_DT_I8: case AFFECT_DT_U8: case AFFECT_DT_BOOL: return 1;
    }
    return 0;
}

const char *affect_dtype_name(affect_dtype dt) {
    switch (dt) {
    case AFFECT_DT_F32: return "F32";
    case AFFECT_DT_F16: return "F16";
    case AFFECT_DT_BF16: return "BF16";
    case AFFECT_DT_F64: return "F64";
    case AFFECT_DT_I64: return "I64";
    case AFFECT_DT_I32: return "I32";
    case AFFECT_DT_I16: return "I16";
    case AFFECT_DT_I8: return "I8";
    case AFFECT_DT_U8: return "U8";
    case AFFECT_DT_BOOL: return "BOOL";
    }
    return "?";
}

int tensors_mul(int64_t a, int64_t b, int64_t *out) {
    if (a < 0 || b < 0) return 0;
    if (a != 0 && b > INT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

int tensors_numel(const int64_t *shape, int ndim, int64_t *out) {
    int64_t n = 1;
    if (ndim < 0 || ndim > AFFECT_MAX_DIMS) return 0;
    for (int i = 0; i < ndim; i++)
        if (!tensors_mul(n, shape[i], &n)) return 0;
    *out = n;
    return 1;
}

int tensors_builder_add(tensors_builder *b, const char *name, size_t name_len,
                        const affect_tensor *t, const char *what, affect_error *err) {
    if (memchr(name, 0, name_len))
        return affect_fail(err, AFFECT_EFORMAT, "%s: a tensor name contains a NUL byte", what);
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        if (cap > SIZE_MAX / sizeof *b->t)
            return affect_fail(err, AFFECT_ENOMEM, "%s: too many tensors", what);
        affect_tensor *nt = realloc(b->t, cap * sizeof *nt);
        if (!nt) return affect_fail(err, AFFECT_ENOMEM, "%s: out of memory", what);
        b->t = nt;
        b->cap = cap;
    }
    char *nm = malloc(name_len + 1);
    if (!nm) return affect_fail(err, AFFECT_ENOMEM, "%s: out of memory", what);
    memcpy(nm, name, name_len);
    nm[name_len] = 0;
    b->t[b->n] = *t;
    b->t[b->n].name = nm;
    b->n++;
    return 0;
}

static int cmp_tensor_name(const void *a, const void *b) {
    return strcmp(((const affect_tensor *)a)->name, ((const affect_tensor *)b)->name);
}

int tensors_builder_finish(tensors_builder *b, affect_tensor_set *ts, const char *what,
                           affect_error *err) {
    if (b->n > 1) qsort(b->t, b->n, sizeof *b->t, cmp_tensor_name);
    for (size_t i = 1; i < b->n; i++) {
        if (!strcmp(b->t[i - 1].name, b->t[i].name)) {
            int rc = affect_fail(err, AFFECT_EFORMAT, "%s: duplicate tensor name '%s'", what,
                                 b->t[i].name);
            tensors_builder_free(b);
            return rc;
        }
    }
    ts->t = b->t;
    ts->n = b->n;
    b->t = NULL;
    b->n = b->cap = 0;
    return 0;
}

void tensors_builder_free(tensors_builder *b) {
    for (size_t i = 0; i < b->n; i++) free(b->t[i].name);
    free(b->t);
    b->t = NULL;
    b->n = b->cap = 0;
}

void affect_tensor_set_free(affect_tensor_set *ts) {
    if (!ts) return;
    for (size_t i = 0; i < ts->n; i++) free(ts->t[i].name);
    free(ts->t);
    ts->t = NULL;
    ts->n = 0;
}

const affect_tensor *affect_tensor_set_find(const affect_tensor_set *ts, const char *name) {
    if (!ts || !name) return NULL;
    size_t lo = 0, hi = ts->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ts->t[mid].name, name);
        if (c == 0) return &ts->t[mid];
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

const char *affect_shape_str(const int64_t *shape, int ndim, char *buf, size_t buflen) {
    if (!buf || buflen == 0) return buf;
    size_t o = 0;
    buf[0] = 0;
    if (ndim < 0 || ndim > AFFECT_MAX_DIMS) {
        snprintf(buf, buflen, "[?]");
        return buf;
    }
    int w = snprintf(buf, buflen, "[");
    if (w > 0) o = (size_t)w;
    for (int i = 0; i < ndim && o < buflen; i++) {
        w = snprintf(buf + o, buflen - o, i ? ", %lld" : "%lld", (long long)shape[i]);
        if (w < 0) break;
        o += (size_t)w;
    }
    if (o < buflen) snprintf(buf + o, buflen - o, "]");
    return buf;
}

/* IEEE half -> float, exact for every value (subnormals, infinities, NaN payloads). */
static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do { man <<= 1; e++; } while (!(man & 0x400));
            man &= 0x3ff;
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | (man << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* One element at byte address p as float (data may be unaligned, hence memcpy). */
static float load_f32(affect_dtype dt, const uint8_t *p) {
    switch (dt) {
    case AFFECT_DT_F32: { float v; memcpy(&v, p, 4); return v; }
    case AFFECT_DT_F16: { uint16_t v; memcpy(&v, p, 2); return f16_to_f32(v); }
    case AFFECT_DT_BF16: {
        uint16_t v; memcpy(&v, p, 2);
        uint32_t bits = (uint32_t)v << 16; float f; memcpy(&f, &bits, 4); return f;
    }
    case AFFECT_DT_F64: { double v; memcpy(&v, p, 8); return (float)v; }
    case AFFECT_DT_I64: { int64_t v; memcpy(&v, p, 8); return (float)v; }
    case AFFECT_DT_I32: { int32_t v; memcpy(&v, p, 4); return (float)v; }
    case AFFECT_DT_I16: { int16_t v; memcpy(&v, p, 2); return (float)v; }
    case AFFECT_DT_I8: return (float)(int8_t)p[0];
    case AFFECT_DT_U8: return (float)p[0];
    case AFFECT_DT_BOOL: return p[0] ? 1.0f : 0.0f;
    }
    return 0.0f;
}

/* Walks the tensor in row-major order of its shape, following its strides, so a transposed
 * or sliced torch view comes out exactly as torch's .contiguous() would lay it out. The
 * contiguous F32 case is a single memcpy. */
int affect_tensor_to_f32(const affect_tensor *t, float *dst, affect_error *err) {
    if (!t || (!dst && t->numel > 0))
        return affect_fail(err, AFFECT_EARG, "tensor_to_f32: NULL argument");
    const char *nm = t->name ? t->name : "?";
    size_t es = affect_dtype_size(t->dtype);
    int64_t numel;
    if (es == 0) return affect_fail(err, AFFECT_EARG, "tensor '%s': invalid dtype %d", nm, (int)t->dtype);
    if (!tensors_numel(t->shape, t->ndim, &numel) || numel != t->numel)
        return affect_fail(err, AFFECT_EARG, "tensor '%s': shape and numel disagree", nm);
    if (numel == 0) return 0;
    if (!t->data) return affect_fail(err, AFFECT_EARG, "tensor '%s': no data", nm);
    int ndim = t->ndim;
    for (int i = 0; i < ndim; i++)
        if (t->stride[i] < 0) return affect_fail(err, AFFECT_EARG, "tensor '%s': negative stride", nm);

    /* contiguous? (dims of size 1 may carry any stride) */
    int contiguous = 1;
    int64_t expect = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != expect) { contiguous = 0; break; }
        expect *= t->shape[i];
    }
    if (contiguous) {
        if (t->dtype == AFFECT_DT_F32) {
            memcpy(dst, t->data, (size_t)numel * 4);
        } else {
            for (int64_t i = 0; i < numel; i++) dst[i] = load_f32(t->dtype, t->data + (size_t)i * es);
        }
        return 0;
    }
    /* general strides: an odometer over the indices, innermost dim in a tight loop */
    int64_t idx[AFFECT_MAX_DIMS] = {0};
    size_t off = 0; /* element offset of idx */
    int64_t inner = t->shape[ndim - 1], istride = t->stride[ndim - 1];
    int64_t o = 0;
    for (;;) {
        for (int64_t j = 0; j < inner; j++)
            dst[o++] = load_f32(t->dtype, t->data + (off + (size_t)j * (size_t)istride) * es);
        int d = ndim - 2;
        for (; d >= 0; d--) {
            idx[d]++;
            off += (size_t)t->stride[d];
            if (idx[d] < t->shape[d]) break;
            off -= (size_t)t->stride[d] * (size_t)t->shape[d]; /* unsigned: wraps back exactly */
            idx[d] = 0;
        }
        if (d < 0) break;
    }
    return 0;
}

static int is_legacy_torch(const uint8_t *buf, size_t len) {
    /* PROTO 2, LONG1 of 10 bytes: the magic number 0x1950a86a20f9469cfc6c */
    static const uint8_t magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                    0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
    return len >= sizeof magic && !memcmp(buf, magic, sizeof magic);
}

/* Detection by content, not by file name: a folder's pytorch_model.bin may be either torch
 * format, and a renamed file still loads. */
int affect_tensors_parse_any(affect_tensor_set *ts, const uint8_t *buf, size_t len,
                             affect_error *err) {
    if (!ts) return affect_fail(err, AFFECT_EARG, "tensors: NULL set");
    ts->t = NULL;
    ts->n = 0;
    if (!buf && len) return affect_fail(err, AFFECT_EARG, "tensors: NULL buffer");
    if (len >= 4 && !memcmp(buf, "PK\x03\x04", 4)) return affect_torch_parse(ts, buf, len, err);
    if (is_legacy_torch(buf, len)) return affect_torch_parse(ts, buf, len, err);
    if (len >= 9 && buf[8] == '{') return affect_safetensors_parse(ts, buf, len, err);
    if (len >= 2 && buf[0] == 0x80) return affect_torch_parse(ts, buf, len, err);
    return affect_fail(err, AFFECT_EFORMAT,
                       "tensors: not a weights file (neither safetensors, a torch zip archive, "
                       "nor a legacy torch.save pickle)");
}
