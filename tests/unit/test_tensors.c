/* Weights-file readers against hand-made byte images: every corrupt or hostile input must
 * give its specific error code (never a crash: this also runs under ASan+UBSan), and valid
 * images must give exactly the tensors they describe. Covers safetensors (parse + write
 * round trip), the ZIP reader, the restricted unpickler (disallowed globals, truncation,
 * protocol-4 opcodes, _rebuild_tensor_v3), the legacy torch format with storage views, dtype
 * conversion and strided copies. Ends with a truncate-and-flip sweep over valid images. */
#include "model/tensors.h"
#include "model/pickle.h"
#include "model/zip_reader.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); } } while (0)

/* ---- a growable byte buffer to assemble files ---------------------------------------------- */
typedef struct { uint8_t *d; size_t n, cap; } bytes;
static void put(bytes *b, const void *p, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->d = realloc(b->d, b->cap);
        if (!b->d) { fprintf(stderr, "out of memory\n"); exit(1); }
    }
    if (n) memcpy(b->d + b->n, p, n);
    b->n += n;
}
static void u8(bytes *b, unsigned v) { uint8_t x = (uint8_t)v; put(b, &x, 1); }
static void u16(bytes *b, unsigned v) { u8(b, v & 0xff); u8(b, (v >> 8) & 0xff); }
static void u32(bytes *b, uint32_t v) { u16(b, v & 0xffff); u16(b, v >> 16); }
static void u64(bytes *b, uint64_t v) { u32(b, (uint32_t)v); u32(b, (uint32_t)(v >> 32)); }
static void puts_(bytes *b, const char *s) { put(b, s, strlen(s)); }

/* pickle assembly */
static void p_str(bytes *b, const char *s) { u8(b, 'X'); u32(b, (uint32_t)strlen(s)); puts_(b, s); }
static void p_global(bytes *b, const char *mod, const char *name) {
    u8(b, 'c'); puts_(b, mod); u8(b, '\n'); puts_(b, name); u8(b, '\n');
}
static void p_int(bytes *b, unsigned v) { u8(b, 'K'); u8(b, v); }

/* A state dict {name: _rebuild_tensor_v2(storage(key, numel), offset, size, stride, False, {})}
 * in protocol 2, as torch.save writes it. */
static void pickle_one_tensor(bytes *b, const char *name, const char *stype, const char *key,
                              unsigned numel, unsigned offset, int nd, const unsigned *size,
                              const unsigned *stride, int legacy) {
    u8(b, 0x80); u8(b, 2);
    p_global(b, "collections", "OrderedDict"); u8(b, ')'); u8(b, 'R');
    u8(b, '(');
    p_str(b, name);
    p_global(b, "torch._utils", "_rebuild_tensor_v2");
    u8(b, '(');
    u8(b, '('); p_str(b, "storage"); p_global(b, "torch", stype); p_str(b, key); p_str(b, "cpu");
    p_int(b, numel);
    if (legacy) u8(b, 'N');
    u8(b, 't');
    u8(b, 'Q');
    p_int(b, offset);
    u8(b, '('); for (int i = 0; i < nd; i++) p_int(b, size[i]); u8(b, 't');
    u8(b, '('); for (int i = 0; i < nd; i++) p_int(b, stride[i]); u8(b, 't');
    u8(b, 0x89);
    p_global(b, "collections", "OrderedDict"); u8(b, ')'); u8(b, 'R');
    u8(b, 't');
    u8(b, 'R');
    u8(b, 'u');
    u8(b, '.');
}

/* A ZIP of STORED entries (or `method` for all). With `zip64`, sizes and offsets live only
 * in ZIP64 extra fields (0xFFFFFFFF placeholders) and the end records are ZIP64 ones, as
 * torch writes them for files over 4 GB. */
typedef struct { const char *name; const uint8_t *data; size_t len; } zent;
static void make_zip_ex(bytes *z, const zent *e, int n, unsigned method, int zip64) {
    uint32_t offs[16];
    for (int i = 0; i < n; i++) {
        offs[i] = (uint32_t)z->n;
        u32(z, 0x04034b50); u16(z, 20); u16(z, 0); u16(z, method); u32(z, 0); u32(z, 0);
        u32(z, (uint32_t)e[i].len); u32(z, (uint32_t)e[i].len); u16(z, (unsigned)strlen(e[i].name)); u16(z, 0);
        puts_(z, e[i].name);
        put(z, e[i].data, e[i].len);
    }
    uint32_t cd = (uint32_t)z->n;
    for (int i = 0; i < n; i++) {
        uint32_t sz = zip64 ? 0xffffffffu : (uint32_t)e[i].len;
        u32(z, 0x02014b50); u16(z, 45); u16(z, 45); u16(z, 0); u16(z, method); u32(z, 0); u32(z, 0);
        u32(z, sz); u32(z, sz); u16(z, (unsigned)strlen(e[i].name));
        u16(z, zip64 ? 4 + 4 + 28 : 0); u16(z, 0); u16(z, 0); u16(z, 0); u32(z, 0);
        u32(z, zip64 ? 0xffffffffu : offs[i]);
        puts_(z, e[i].name);
        if (zip64) {
            u16(z, 0x5455); u16(z, 0);          /* an unrelated extra field first */
            u16(z, 1); u16(z, 24); u64(z, e[i].len); u64(z, e[i].len); u64(z, offs[i]);
            u16(z, 0xcafe); u16(z, 0);
        }
    }
    uint32_t cdsize = (uint32_t)z->n - cd;
    if (zip64) {
        uint64_t r = z->n;
        u32(z, 0x06064b50); u64(z, 44); u16(z, 45); u16(z, 45); u32(z, 0); u32(z, 0);
        u64(z, (uint64_t)n); u64(z, (uint64_t)n); u64(z, cdsize); u64(z, cd);
        u32(z, 0x07064b50); u32(z, 0); u64(z, r); u32(z, 1);
        u32(z, 0x06054b50); u16(z, 0); u16(z, 0); u16(z, 0xffff); u16(z, 0xffff);
        u32(z, 0xffffffffu); u32(z, 0xffffffffu); u16(z, 0);
        return;
    }
    u32(z, 0x06054b50); u16(z, 0); u16(z, 0); u16(z, (unsigned)n); u16(z, (unsigned)n); u32(z, cdsize); u32(z, cd);
    u16(z, 0);
}
static void make_zip(bytes *z, const zent *e, int n, unsigned method) { make_zip_ex(z, e, n, method, 0); }

static int parse_torch(const bytes *b, affect_tensor_set *ts, affect_error *e) {
    memset(e, 0, sizeof *e);
    return affect_torch_parse(ts, b->d, b->n, e);
}

/* ---- safetensors ---------------------------------------------------------------------------- */

static void st_image(bytes *b, const char *header, size_t data_len) {
    b->n = 0;
    u64(b, strlen(header));
    puts_(b, header);
    for (size_t i = 0; i < data_len; i++) u8(b, (unsigned)i);
}

static void expect_st(const char *header, size_t data_len, int code, const char *needle, int line) {
    bytes b = {0};
    st_image(&b, header, data_len);
    affect_tensor_set ts;
    affect_error e = {0};
    int rc = affect_safetensors_parse(&ts, b.d, b.n, &e);
    if (rc != code || (needle && !strstr(e.msg, needle))) {
        failures++;
        fprintf(stderr, "FAIL line %d: header %s -> rc %d (want %d), msg '%s' (want '%s')\n", line, header,
                rc, code, e.msg, needle ? needle : "");
    }
    if (rc) CHECK(ts.t == NULL && ts.n == 0, "set not left empty on error");
    affect_tensor_set_free(&ts);
    free(b.d);
}
#define EXPECT_ST(h, n, code, needle) expect_st(h, n, code, needle, __LINE__)

static void test_safetensors_errors(void) {
    affect_tensor_set ts;
    affect_error e = {0};
    uint8_t tiny[5] = {1, 0, 0, 0, 0};
    CHECK(affect_safetensors_parse(&ts, tiny, sizeof tiny, &e) == AFFECT_EFORMAT, "short file: %s", e.msg);
    /* header size larger than the file, and absurdly large */
    bytes b = {0};
    u64(&b, 1000); puts_(&b, "{}");
    CHECK(affect_safetensors_parse(&ts, b.d, b.n, &e) == AFFECT_EFORMAT && strstr(e.msg, "exceeds"),
          "header > file: %s", e.msg);
    b.n = 0; u64(&b, UINT64_MAX); puts_(&b, "{}");
    CHECK(affect_safetensors_parse(&ts, b.d, b.n, &e) == AFFECT_EFORMAT, "header size 2^64-1: %s", e.msg);
    free(b.d);

    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 0, NULL);
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 7, AFFECT_EFORMAT, "outside");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, AFFECT_EFORMAT, "outside");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 16, AFFECT_EFORMAT, "needs 12 bytes");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, AFFECT_EFORMAT, "shape");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, AFFECT_EFORMAT, "shape");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8.5]}}", 8, AFFECT_EFORMAT, "data_offsets");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, AFFECT_EFORMAT, "data_offsets");
    /* numel overflows int64; numel fits but numel*4 does not */
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,8]}}", 8,
              AFFECT_EFORMAT, "overflows");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[2147483648,2147483648],\"data_offsets\":[0,8]}}", 8,
              AFFECT_EFORMAT, "overflows");
    EXPECT_ST("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 8, AFFECT_EUNSUPPORTED, "F8_E4M3");
    EXPECT_ST("{\"a\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, AFFECT_EUNSUPPORTED, "C64");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, AFFECT_EFORMAT, "JSON");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\" \"shape\":[2]}}", 8, AFFECT_EFORMAT, "JSON");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
              "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, AFFECT_EFORMAT, "duplicate");
    EXPECT_ST("{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, AFFECT_EFORMAT, "NUL");
    EXPECT_ST("{\"__metadata__\":{\"format\":1}}", 0, AFFECT_EFORMAT, "__metadata__");
    EXPECT_ST("{\"__metadata__\":{\"format\":\"pt\"}}", 0, 0, NULL);
    EXPECT_ST("[1,2]", 0, AFFECT_EFORMAT, "header");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 8,
              AFFECT_EUNSUPPORTED, "dims");
    EXPECT_ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[8,8]}}", 8, 0, NULL);
    EXPECT_ST("{\"a\":7}", 8, AFFECT_EFORMAT, "not an object");
}

static void test_safetensors_roundtrip(void) {
    float a[6] = {1.5f, -2.25f, 3e-38f, 1e30f, -0.0f, 7.0f}, s = 42.0f, dummy = 0;
    affect_tensor_f32 in[3] = {
        {"layer.weight", 2, {2, 3}, a},
        {"scalar", 0, {0}, &s},
        {"empty", 2, {0, 4}, &dummy},
    };
    const char *meta[] = {"format", "pt", "note", "quote\" and \\ and \n"};
    uint8_t *img = NULL;
    size_t len = 0;
    affect_error e = {0};
    int rc = affect_safetensors_write(in, 3, meta, 2, &img, &len, &e);
    CHECK(rc == 0, "write: %s", e.msg);
    if (rc) return;
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = (hl << 8) | img[i];
    CHECK(hl % 8 == 0, "header length %llu not 8-aligned", (unsigned long long)hl);
    CHECK(len == 8 + hl + 7 * 4, "image length %zu", len);
    affect_tensor_set ts;
    rc = affect_tensors_parse_any(&ts, img, len, &e);
    CHECK(rc == 0 && ts.n == 3, "parse back: rc %d n %zu %s", rc, ts.n, e.msg);
    if (!rc) {
        CHECK(!strcmp(ts.t[0].name, "empty") && !strcmp(ts.t[1].name, "layer.weight"), "sorted names");
        const affect_tensor *w = affect_tensor_set_find(&ts, "layer.weight");
        CHECK(w && w->dtype == AFFECT_DT_F32 && w->ndim == 2 && w->shape[0] == 2 && w->shape[1] == 3 &&
              w->stride[0] == 3 && w->stride[1] == 1 && w->numel == 6, "layer.weight metadata");
        float out[6];
        if (w && !affect_tensor_to_f32(w, out, &e)) CHECK(!memcmp(out, a, sizeof a), "layer.weight bytes");
        const affect_tensor *sc = affect_tensor_set_find(&ts, "scalar");
        float sv = 0;
        CHECK(sc && sc->ndim == 0 && sc->numel == 1 && !affect_tensor_to_f32(sc, &sv, &e) && sv == 42.0f, "scalar");
        const affect_tensor *em = affect_tensor_set_find(&ts, "empty");
        CHECK(em && em->numel == 0 && !affect_tensor_to_f32(em, NULL, &e), "empty tensor");
        CHECK(!affect_tensor_set_find(&ts, "missing") && !affect_tensor_set_find(&ts, "layer"), "find misses");
        affect_tensor_set_free(&ts);
    }
    free(img);
    /* duplicate names and bad shapes are refused by the writer */
    affect_tensor_f32 dup[2] = {{"x", 1, {1}, a}, {"x", 1, {1}, a}};
    CHECK(affect_safetensors_write(dup, 2, NULL, 0, &img, &len, &e) == AFFECT_EARG, "dup write");
    affect_tensor_f32 neg[1] = {{"x", 1, {-1}, a}};
    CHECK(affect_safetensors_write(neg, 1, NULL, 0, &img, &len, &e) == AFFECT_EARG, "neg shape write");
}

/* ---- conversion ------------------------------------------------------------------------------- */

static void test_convert(void) {
    affect_error e = {0};
    uint16_t h[8] = {0x3c00, 0xc000, 0x0001, 0x03ff, 0x7bff, 0x7c00, 0xfc00, 0x8000};
    float want[8] = {1.0f, -2.0f, 5.9604644775390625e-8f, 6.097555160522461e-5f, 65504.0f, INFINITY, -INFINITY, -0.0f};
    affect_tensor t;
    memset(&t, 0, sizeof t);
    t.name = "h"; t.dtype = AFFECT_DT_F16; t.ndim = 1; t.shape[0] = 8; t.stride[0] = 1; t.numel = 8;
    t.data = (const uint8_t *)h;
    float out[8];
    CHECK(!affect_tensor_to_f32(&t, out, &e), "f16: %s", e.msg);
    for (int i = 0; i < 8; i++) CHECK(!memcmp(&out[i], &want[i], 4), "f16 %04x -> %.9g want %.9g", h[i], out[i], want[i]);
    uint16_t nan16 = 0x7e00;
    t.data = (const uint8_t *)&nan16; t.shape[0] = 1; t.numel = 1;
    CHECK(!affect_tensor_to_f32(&t, out, &e) && isnan(out[0]), "f16 nan");
    uint16_t bf[3] = {0x3f80, 0xc040, 0x0001};
    t.dtype = AFFECT_DT_BF16; t.data = (const uint8_t *)bf; t.shape[0] = 3; t.numel = 3;
    CHECK(!affect_tensor_to_f32(&t, out, &e) && out[0] == 1.0f && out[1] == -3.0f && out[2] > 0 && out[2] < 1e-38f, "bf16");
    double d[2] = {0.1, -1e300};
    t.dtype = AFFECT_DT_F64; t.data = (const uint8_t *)d; t.shape[0] = 2; t.numel = 2;
    CHECK(!affect_tensor_to_f32(&t, out, &e) && out[0] == 0.1f && isinf(out[1]) && out[1] < 0, "f64");
    int64_t iv[2] = {-5, 1 << 20};
    t.dtype = AFFECT_DT_I64; t.data = (const uint8_t *)iv;
    CHECK(!affect_tensor_to_f32(&t, out, &e) && out[0] == -5.0f && out[1] == 1048576.0f, "i64");
    /* strided: a (2,3) view with strides (1,2) of 0..5 is the transpose of a (3,2) matrix,
     * read at an unaligned address */
    uint8_t raw[1 + 6 * 4];
    for (int i = 0; i < 6; i++) { float f = (float)i; memcpy(raw + 1 + 4 * i, &f, 4); }
    t.dtype = AFFECT_DT_F32; t.data = raw + 1; t.ndim = 2; t.shape[0] = 2; t.shape[1] = 3;
    t.stride[0] = 1; t.stride[1] = 2; t.numel = 6;
    float w2[6] = {0, 2, 4, 1, 3, 5};
    CHECK(!affect_tensor_to_f32(&t, out, &e) && !memcmp(out, w2, sizeof w2), "strided");
    /* 3-D with a broadcast (stride 0) dim */
    t.ndim = 3; t.shape[0] = 2; t.shape[1] = 2; t.shape[2] = 2; t.stride[0] = 0; t.stride[1] = 2; t.stride[2] = 1; t.numel = 8;
    float w3[8] = {0, 1, 2, 3, 0, 1, 2, 3};
    CHECK(!affect_tensor_to_f32(&t, out, &e) && !memcmp(out, w3, sizeof w3), "strided 3d");
    t.numel = 7;
    CHECK(affect_tensor_to_f32(&t, out, &e) == AFFECT_EARG, "numel mismatch refused");
    char sb[64];
    int64_t shp[2] = {768, 3072};
    CHECK(!strcmp(affect_shape_str(shp, 2, sb, sizeof sb), "[768, 3072]"), "shape_str %s", sb);
    CHECK(!strcmp(affect_shape_str(shp, 0, sb, sizeof sb), "[]"), "shape_str scalar %s", sb);
    CHECK(!strcmp(affect_shape_str(shp, 2, sb, 5), "[768"), "shape_str truncated '%s'", sb);
    CHECK(affect_dtype_size(AFFECT_DT_BF16) == 2 && !strcmp(affect_dtype_name(AFFECT_DT_BOOL), "BOOL"), "dtype table");
}

static void sweep(const bytes *img, const char *what);

/* ---- torch zip ------------------------------------------------------------------------------- */

static const float six[6] = {0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f};

static void zip_with_pickle(bytes *z, const bytes *pkl, unsigned method) {
    zent e[3] = {
        {"mymodel/data.pkl", pkl->d, pkl->n},
        {"mymodel/data/0", (const uint8_t *)six, sizeof six},
        {"mymodel/version", (const uint8_t *)"3\n", 2},
    };
    z->n = 0;
    make_zip(z, e, 3, method);
}

static void test_torch_zip(void) {
    bytes p = {0}, z = {0};
    affect_tensor_set ts;
    affect_error e;
    unsigned size[2] = {2, 2}, stride[2] = {1, 2};
    /* a (2,2) view, offset 1, strides (1,2): elements 1,3 / 2,4 of the storage */
    pickle_one_tensor(&p, "enc.w", "FloatStorage", "0", 6, 1, 2, size, stride, 0);
    zip_with_pickle(&z, &p, 0);
    int rc = parse_torch(&z, &ts, &e);
    CHECK(rc == 0 && ts.n == 1, "valid zip: %s", e.msg);
    if (!rc) {
        float out[4], want[4] = {1.5f, 3.5f, 2.5f, 4.5f};
        const affect_tensor *t = affect_tensor_set_find(&ts, "enc.w");
        CHECK(t && !affect_tensor_to_f32(t, out, &e) && !memcmp(out, want, sizeof want), "zip view values");
        affect_tensor_set_free(&ts);
    }
    /* same through parse_any */
    rc = affect_tensors_parse_any(&ts, z.d, z.n, &e);
    CHECK(rc == 0 && ts.n == 1, "parse_any zip: %s", e.msg);
    affect_tensor_set_free(&ts);

    /* the same archive with ZIP64 extra fields and end records */
    {
        zent ze[3] = {
            {"mymodel/data.pkl", p.d, p.n},
            {"mymodel/data/0", (const uint8_t *)six, sizeof six},
            {"mymodel/version", (const uint8_t *)"3\n", 2},
        };
        bytes z64 = {0};
        make_zip_ex(&z64, ze, 3, 0, 1);
        rc = parse_torch(&z64, &ts, &e);
        CHECK(rc == 0 && ts.n == 1, "zip64: rc %d %s", rc, e.msg);
        if (!rc) {
            float out[4], want[4] = {1.5f, 3.5f, 2.5f, 4.5f};
            CHECK(!affect_tensor_to_f32(&ts.t[0], out, &e) && !memcmp(out, want, sizeof want), "zip64 values");
            affect_tensor_set_free(&ts);
        }
        sweep(&z64, "zip64");
        free(z64.d);
    }

    /* compressed entries are refused by name */
    zip_with_pickle(&z, &p, 8);
    rc = parse_torch(&z, &ts, &e);
    CHECK(rc == AFFECT_EUNSUPPORTED && strstr(e.msg, "compressed"), "deflated: rc %d %s", rc, e.msg);

    /* a view reaching past its storage: offset 3 + (2-1)*1 + (2-1)*2 = 6 > 5 */
    p.n = 0;
    pickle_one_tensor(&p, "enc.w", "FloatStorage", "0", 6, 3, 2, size, stride, 0);
    zip_with_pickle(&z, &p, 0);
    rc = parse_torch(&z, &ts, &e);
    CHECK(rc == AFFECT_EFORMAT && strstr(e.msg, "past its storage"), "oob view: rc %d %s", rc, e.msg);

    /* storage declared larger than its entry */
    p.n = 0;
    pickle_one_tensor(&p, "enc.w", "FloatStorage", "0", 7, 0, 2, size, stride, 0);
    zip_with_pickle(&z, &p, 0);
    rc = parse_torch(&z, &ts, &e);
    CHECK(rc == AFFECT_EFORMAT && strstr(e.msg, "needs 28 bytes"), "short storage: rc %d %s", rc, e.msg);

    /* storage key without an entry */
    p.n = 0;
    pickle_one_tensor(&p, "enc.w", "FloatStorage", "9", 6, 0, 2, size, stride, 0);
    zip_with_pickle(&z, &p, 0);
    rc = parse_torch(&z, &ts, &e);
    CHECK(rc == AFFECT_EFORMAT && strstr(e.msg, "data/9"), "missing storage: rc %d %s", rc, e.msg);

    /* unsupported storage dtype is named */
    p.n = 0;
    pickle_one_tensor(&p, "enc.w", "ComplexFloatStorage", "0", 6, 0, 2, size, stride, 0);
    zip_with_pickle(&z, &p, 0);
    rc = parse_torch(&z, &ts, &e);
    CHECK(rc == AFFECT_EUNSUPPORTED && strstr(e.msg, "ComplexFloatStorage"), "complex: rc %d %s", rc, e.msg);

    /* os.system through REDUCE: refused at the GLOBAL, nothing runs */
    p.n = 0;
    u8(&p, 0x80); u8(&p, 2); u8(&p, '}'); p_str(&p, "x");
    p_global(&p, "posix", "system"); p_str(&p, "touch /tmp/affect_pwned"); u8(&p, 0x85); u8(&p, 'R');
    u8(&p, 's'); u8(&p, '.');
    zip_with_pickle(&z, &p, 0);
    rc = parse_torch(&z, &ts, &e);
    CHECK(rc == AFFECT_EFORMAT && strstr(e.msg, "global posix.system is not allowed"), "evil: rc %d %s", rc, e.msg);
    /* also through STACK_GLOBAL (protocol 4) */
    p.n = 0;
    u8(&p, 0x80); u8(&p, 4); u8(&p, 0x8c); u8(&p, 8); puts_(&p, "builtins"); u8(&p, 0x8c); u8(&p, 4); puts_(&p, "eval");
    u8(&p, 0x93); p_str(&p, "1"); u8(&p, 0x85); u8(&p, 'R'); u8(&p, '.');
    zip_with_pickle(&z, &p, 0);
    rc = parse_torch(&z, &ts, &e);
    CHECK(rc == AFFECT_EFORMAT && strstr(e.msg, "builtins.eval is not allowed"), "evil2: rc %d %s", rc, e.msg);

    /* truncated pickle, and one that pops more than it has */
    p.n = 0;
    pickle_one_tensor(&p, "enc.w", "FloatStorage", "0", 6, 1, 2, size, stride, 0);
    p.n -= 20;
    zip_with_pickle(&z, &p, 0);
    rc = parse_torch(&z, &ts, &e);
    CHECK(rc == AFFECT_EFORMAT && strstr(e.msg, "pickle"), "truncated pickle: rc %d %s", rc, e.msg);
    p.n = 0;
    u8(&p, 0x80); u8(&p, 2); u8(&p, 's'); u8(&p, '.');
    zip_with_pickle(&z, &p, 0);
    rc = parse_torch(&z, &ts, &e);
    CHECK(rc == AFFECT_EFORMAT && strstr(e.msg, "underflow"), "underflow: rc %d %s", rc, e.msg);
    p.n = 0;
    u8(&p, 0x80); u8(&p, 2); u8(&p, 'j'); u32(&p, 0x7fffffff); u8(&p, '.');
    zip_with_pickle(&z, &p, 0);
    rc = parse_torch(&z, &ts, &e);
    CHECK(rc == AFFECT_EFORMAT && strstr(e.msg, "memo"), "bad memo get: rc %d %s", rc, e.msg);
    p.n = 0;
    u8(&p, 0x80); u8(&p, 2); u8(&p, 'N'); u8(&p, 'r'); u32(&p, 0xfffffff0u); u8(&p, '.');
    zip_with_pickle(&z, &p, 0);
    rc = parse_torch(&z, &ts, &e);
    CHECK(rc == AFFECT_EFORMAT && strstr(e.msg, "memo"), "huge memo put: rc %d %s", rc, e.msg);
    p.n = 0;
    u8(&p, 0x80); u8(&p, 2); u8(&p, 'X'); u32(&p, 0xffffffffu); u8(&p, '.');
    zip_with_pickle(&z, &p, 0);
    rc = parse_torch(&z, &ts, &e);
    CHECK(rc == AFFECT_EFORMAT && strstr(e.msg, "truncated"), "huge string: rc %d %s", rc, e.msg);
    p.n = 0;
    u8(&p, 0x80); u8(&p, 2); u8(&p, 'i'); u8(&p, '.');
    zip_with_pickle(&z, &p, 0);
    rc = parse_torch(&z, &ts, &e);
    CHECK(rc == AFFECT_EFORMAT && strstr(e.msg, "opcode 0x69"), "INST opcode: rc %d %s", rc, e.msg);
    /* a deep MARK nest is bounded, not a stack overflow */
    p.n = 0;
    u8(&p, 0x80); u8(&p, 2);
    for (int i = 0; i < 70000; i++) u8(&p, '(');
    u8(&p, '.');
    zip_with_pickle(&z, &p, 0);
    rc = parse_torch(&z, &ts, &e);
    CHECK(rc == AFFECT_EFORMAT, "deep marks: rc %d %s", rc, e.msg);
    /* top-level object that is not a dict */
    p.n = 0;
    u8(&p, 0x80); u8(&p, 2); u8(&p, ']'); u8(&p, '.');
    zip_with_pickle(&z, &p, 0);
    rc = parse_torch(&z, &ts, &e);
    CHECK(rc == AFFECT_EFORMAT && strstr(e.msg, "not a dict"), "list top: rc %d %s", rc, e.msg);

    /* protocol 4 (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL) + _rebuild_tensor_v3 over an
     * UntypedStorage holding bytes, wrapped in _rebuild_parameter, in a nested dict */
    p.n = 0;
    u8(&p, 0x80); u8(&p, 4); u8(&p, 0x95); u64(&p, 0);
    u8(&p, '}'); u8(&p, 0x94);
    u8(&p, 0x8c); u8(&p, 5); puts_(&p, "outer"); u8(&p, '}'); u8(&p, 0x94);
    u8(&p, 0x8c); u8(&p, 1); puts_(&p, "w");
    u8(&p, 0x8c); u8(&p, 12); puts_(&p, "torch._utils"); u8(&p, 0x8c); u8(&p, 18); puts_(&p, "_rebuild_parameter");
    u8(&p, 0x93);
    u8(&p, 0x8c); u8(&p, 12); puts_(&p, "torch._utils"); u8(&p, 0x8c); u8(&p, 18); puts_(&p, "_rebuild_tensor_v3");
    u8(&p, 0x93); u8(&p, 0x94);
    u8(&p, '(');
    u8(&p, '('); p_str(&p, "storage"); p_global(&p, "torch.storage", "UntypedStorage"); p_str(&p, "0");
    p_str(&p, "cpu"); p_int(&p, 24); u8(&p, 't'); u8(&p, 'Q');
    p_int(&p, 2); p_int(&p, 3); u8(&p, 0x85); p_int(&p, 1); u8(&p, 0x85); u8(&p, 0x89); u8(&p, '}');
    p_global(&p, "torch", "float32");
    u8(&p, 't'); u8(&p, 'R');
    u8(&p, 0x88); u8(&p, '}'); u8(&p, 0x87); u8(&p, 'R');
    u8(&p, 's'); u8(&p, 's'); u8(&p, '.');
    zip_with_pickle(&z, &p, 0);
    rc = parse_torch(&z, &ts, &e);
    CHECK(rc == 0 && ts.n == 1, "protocol 4 / v3: rc %d %s", rc, e.msg);
    if (!rc) {
        const affect_tensor *t = affect_tensor_set_find(&ts, "outer.w");
        float out[3], want[3] = {2.5f, 3.5f, 4.5f};
        CHECK(t && t->dtype == AFFECT_DT_F32 && !affect_tensor_to_f32(t, out, &e) && !memcmp(out, want, sizeof want),
              "v3 values");
        affect_tensor_set_free(&ts);
    }

    /* zip structure: no end record, central directory out of range, corrupt entry */
    p.n = 0;
    pickle_one_tensor(&p, "enc.w", "FloatStorage", "0", 6, 1, 2, size, stride, 0);
    zip_with_pickle(&z, &p, 0);
    bytes bad = {0};
    put(&bad, z.d, z.n - 22);
    rc = parse_torch(&bad, &ts, &e);
    CHECK(rc == AFFECT_EFORMAT && strstr(e.msg, "end of central directory"), "no eocd: rc %d %s", rc, e.msg);
    bad.n = 0;
    put(&bad, z.d, z.n);
    bad.d[bad.n - 3] = 0xff; /* central directory offset, high byte */
    rc = parse_torch(&bad, &ts, &e);
    CHECK(rc == AFFECT_EFORMAT && strstr(e.msg, "outside"), "cd offset: rc %d %s", rc, e.msg);
    bad.n = 0;
    put(&bad, z.d, z.n);
    uint32_t cdoff = (uint32_t)bad.d[bad.n - 6] | ((uint32_t)bad.d[bad.n - 5] << 8) |
                     ((uint32_t)bad.d[bad.n - 4] << 16) | ((uint32_t)bad.d[bad.n - 3] << 24);
    bad.d[cdoff] = 'X';
    rc = parse_torch(&bad, &ts, &e);
    CHECK(rc == AFFECT_EFORMAT && strstr(e.msg, "corrupt"), "cd entry: rc %d %s", rc, e.msg);
    bad.n = 0;
    put(&bad, z.d, z.n);
    bad.d[cdoff + 42] = 0xf0; /* local header offset of the first entry */
    rc = parse_torch(&bad, &ts, &e);
    CHECK(rc == AFFECT_EFORMAT, "local offset: rc %d %s", rc, e.msg);
    free(bad.d);
    free(p.d);
    free(z.d);
}

/* ---- legacy ------------------------------------------------------------------------------ */

static void legacy_image(bytes *b, int with_view, int count_override, int drop_bytes) {
    static const uint8_t magic[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
    b->n = 0;
    u8(b, 0x80); u8(b, 2); u8(b, 0x8a); u8(b, 10); put(b, magic, 10); u8(b, '.');
    u8(b, 0x80); u8(b, 2); u8(b, 'M'); u16(b, 1001); u8(b, '.');
    u8(b, 0x80); u8(b, 2); u8(b, '}'); p_str(b, "little_endian"); u8(b, 0x88); u8(b, 's'); u8(b, '.');
    /* {"v": tensor (2,2) over a view of root storage "k" (elements 2..5)} */
    u8(b, 0x80); u8(b, 2); u8(b, '}'); p_str(b, "v");
    p_global(b, "torch._utils", "_rebuild_tensor_v2");
    u8(b, '(');
    u8(b, '('); p_str(b, "storage"); p_global(b, "torch.cuda", "FloatStorage"); p_str(b, "k"); p_str(b, "cuda:0");
    p_int(b, 6);
    if (with_view) { p_str(b, "k_view"); p_int(b, 2); p_int(b, 4); u8(b, 0x87); } else u8(b, 'N');
    u8(b, 't'); u8(b, 'Q');
    p_int(b, 0); p_int(b, 2); p_int(b, 2); u8(b, 0x86); p_int(b, 2); p_int(b, 1); u8(b, 0x86);
    u8(b, 0x89); u8(b, '}'); u8(b, 't'); u8(b, 'R'); u8(b, 's'); u8(b, '.');
    u8(b, 0x80); u8(b, 2); u8(b, ']'); p_str(b, "k"); u8(b, 'a'); u8(b, '.');
    u64(b, count_override >= 0 ? (uint64_t)count_override : 6);
    put(b, six, sizeof six - (size_t)drop_bytes);
}

static void test_torch_legacy(void) {
    bytes b = {0};
    affect_tensor_set ts;
    affect_error e;
    legacy_image(&b, 1, -1, 0);
    int rc = parse_torch(&b, &ts, &e);
    CHECK(rc == 0 && ts.n == 1, "legacy view: rc %d %s", rc, e.msg);
    if (!rc) {
        float out[4], want[4] = {2.5f, 3.5f, 4.5f, 5.5f};
        CHECK(!affect_tensor_to_f32(&ts.t[0], out, &e) && !memcmp(out, want, sizeof want), "legacy view values");
        affect_tensor_set_free(&ts);
    }
    legacy_image(&b, 0, -1, 0);
    rc = affect_tensors_parse_any(&ts, b.d, b.n, &e);
    CHECK(rc == 0 && ts.n == 1, "legacy plain: rc %d %s", rc, e.msg);
    if (!rc) {
        float out[4], want[4] = {0.5f, 1.5f, 2.5f, 3.5f};
        CHECK(!affect_tensor_to_f32(&ts.t[0], out, &e) && !memcmp(out, want, sizeof want), "legacy values");
        affect_tensor_set_free(&ts);
    }
    legacy_image(&b, 0, 5, 0);
    rc = parse_torch(&b, &ts, &e);
    CHECK(rc == AFFECT_EFORMAT && strstr(e.msg, "elements"), "legacy count: rc %d %s", rc, e.msg);
    legacy_image(&b, 0, -1, 1);
    rc = parse_torch(&b, &ts, &e);
    CHECK(rc == AFFECT_EFORMAT && strstr(e.msg, "past the end"), "legacy short: rc %d %s", rc, e.msg);
    legacy_image(&b, 0, -1, 0);
    b.d[5] ^= 1; /* magic */
    rc = parse_torch(&b, &ts, &e);
    CHECK(rc == AFFECT_EFORMAT && strstr(e.msg, "magic"), "legacy magic: rc %d %s", rc, e.msg);
    free(b.d);
}

/* ---- robustness sweep ---------------------------------------------------------------------- */

/* Every prefix and every single-byte corruption of a valid image parses to OK or an error,
 * never a crash or a sanitizer report; on success the tensors still convert. */
static void sweep(const bytes *img, const char *what) {
    uint8_t *copy = malloc(img->n);
    int ok = 0, bad = 0;
    for (size_t cut = 0; cut <= img->n; cut++) {
        memcpy(copy, img->d, cut);
        affect_tensor_set ts;
        affect_error e;
        int rc = affect_tensors_parse_any(&ts, copy, cut, &e);
        if (!rc) ok++; else bad++;
        affect_tensor_set_free(&ts);
    }
    static const uint8_t flips[] = {0x00, 0xff, 0x80, 0x7f};
    for (size_t i = 0; i < img->n; i++) {
        for (size_t f = 0; f < sizeof flips; f++) {
            memcpy(copy, img->d, img->n);
            copy[i] = (copy[i] == flips[f]) ? (uint8_t)(copy[i] ^ 1) : flips[f];
            affect_tensor_set ts;
            affect_error e;
            int rc = affect_tensors_parse_any(&ts, copy, img->n, &e);
            if (!rc) {
                ok++;
                for (size_t k = 0; k < ts.n; k++) {
                    float *dst = malloc((size_t)(ts.t[k].numel ? ts.t[k].numel : 1) * sizeof *dst);
                    if (dst) affect_tensor_to_f32(&ts.t[k], dst, &e);
                    free(dst);
                }
            } else {
                bad++;
                CHECK(rc == AFFECT_EFORMAT || rc == AFFECT_EUNSUPPORTED, "%s: byte %zu -> rc %d %s", what, i, rc, e.msg);
            }
            affect_tensor_set_free(&ts);
        }
    }
    CHECK(bad > 0 && ok > 0, "%s sweep: %d ok, %d errors", what, ok, bad);
    free(copy);
}

static void test_sweeps(void) {
    bytes p = {0}, z = {0}, l = {0};
    unsigned size[2] = {2, 2}, stride[2] = {1, 2};
    pickle_one_tensor(&p, "enc.w", "FloatStorage", "0", 6, 1, 2, size, stride, 0);
    zip_with_pickle(&z, &p, 0);
    sweep(&z, "zip");
    legacy_image(&l, 1, -1, 0);
    sweep(&l, "legacy");
    float a[4] = {1, 2, 3, 4};
    affect_tensor_f32 in[2] = {{"a", 2, {2, 2}, a}, {"b", 1, {3}, a}};
    uint8_t *img;
    size_t len;
    affect_error e;
    if (!affect_safetensors_write(in, 2, NULL, 0, &img, &len, &e)) {
        bytes s = {img, len, len};
        sweep(&s, "safetensors");
        free(img);
    }
    free(p.d);
    free(z.d);
    free(l.d);
}

int main(void) {
    test_safetensors_errors();
    test_safetensors_roundtrip();
    test_convert();
    test_torch_zip();
    test_torch_legacy();
    test_sweeps();
    if (failures) {
        fprintf(stderr, "test_tensors: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_tensors: all passed\n");
    return 0;
}
