/* ZIP as torch.save writes it (PyTorch's miniz-based writer): entries STORED, the data
 * 64-byte aligned through padding in the local header's extra field, sizes only in the
 * central directory (flag bit 3, data descriptors), and always a ZIP64 end record. Every
 * field read here comes from an untrusted file, so each read goes through zr_u16/zr_u32/
 * zr_u64, which check the position against the buffer first. */
#include "zip_reader.h"
#include "util/error.h"
#include <stdlib.h>
#include <string.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_EOCD64_LOC 0x07064b50u

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32); }

/* 1 when [off, off+n) lies inside a buffer of `len` bytes, without overflow. */
static int in_bounds(uint64_t off, uint64_t n, size_t len) {
    return off <= (uint64_t)len && n <= (uint64_t)len - off;
}

/* The end-of-central-directory record is the last thing in the file, followed only by a
 * comment of at most 65535 bytes: search backwards from the end within that window, and
 * accept a signature only where its comment length ends exactly at the file's end, so a
 * stray "PK\5\6" inside the comment or in tensor data is not mistaken for it. */
static int find_eocd(const uint8_t *buf, size_t len, size_t *pos) {
    if (len < 22) return 0;
    size_t lo = len - 22 > 65535 ? len - 22 - 65535 : 0;
    for (size_t i = len - 22 + 1; i-- > lo;) {
        if (rd32(buf + i) == SIG_EOCD && (size_t)rd16(buf + i + 20) == len - 22 - i) {
            *pos = i;
            return 1;
        }
    }
    return 0;
}

static int cmp_entry(const void *a, const void *b) {
    const affect_zip_entry *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    if (c) return c;
    return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

/* Replaces 0xFFFF.. placeholders from the ZIP64 extended-information extra field (id 1),
 * whose values appear in a fixed order and only for the fields that overflowed. */
static int zip64_extra(const uint8_t *ex, size_t exlen, affect_zip_entry *e, int need_usize,
                       int need_csize, int need_off) {
    size_t p = 0;
    while (p + 4 <= exlen) {
        uint16_t id = rd16(ex + p), sz = rd16(ex + p + 2);
        if ((size_t)sz > exlen - p - 4) return 0;
        if (id == 1) {
            const uint8_t *f = ex + p + 4;
            size_t q = 0;
            if (need_usize) { if (q + 8 > sz) return 0; e->usize = rd64(f + q); q += 8; }
            if (need_csize) { if (q + 8 > sz) return 0; e->csize = rd64(f + q); q += 8; }
            if (need_off) { if (q + 8 > sz) return 0; e->local_offset = rd64(f + q); q += 8; }
            return 1;
        }
        p += 4 + (size_t)sz;
    }
    return !(need_usize || need_csize || need_off);
}

int affect_zip_open(affect_zip *z, const uint8_t *buf, size_t len, affect_error *err) {
    memset(z, 0, sizeof *z);
    if (!buf) return affect_fail(err, AFFECT_EARG, "zip: NULL buffer");
    size_t eocd;
    if (!find_eocd(buf, len, &eocd))
        return affect_fail(err, AFFECT_EFORMAT, "zip: end of central directory not found (truncated archive?)");
    uint64_t count = rd16(buf + eocd + 10), cd_size = rd32(buf + eocd + 12),
             cd_off = rd32(buf + eocd + 16);
    if (rd16(buf + eocd + 4) != 0 || rd16(buf + eocd + 6) != 0)
        return affect_fail(err, AFFECT_EUNSUPPORTED, "zip: multi-disk archives are not supported");
    if (count == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu ||
        (eocd >= 20 && rd32(buf + eocd - 20) == SIG_EOCD64_LOC)) {
        if (eocd < 20 || rd32(buf + eocd - 20) != SIG_EOCD64_LOC)
            return affect_fail(err, AFFECT_EFORMAT, "zip: ZIP64 end-of-directory locator missing");
        uint64_t r = rd64(buf + eocd - 20 + 8);
        if (!in_bounds(r, 56, len) || rd32(buf + r) != SIG_EOCD64)
            return affect_fail(err, AFFECT_EFORMAT, "zip: ZIP64 end-of-directory record out of bounds");
        count = rd64(buf + r + 32);
        cd_size = rd64(buf + r + 40);
        cd_off = rd64(buf + r + 48);
    }
    if (!in_bounds(cd_off, cd_size, len))
        return affect_fail(err, AFFECT_EFORMAT,
                           "zip: central directory (offset %llu, %llu bytes) lies outside the %zu-byte file",
                           (unsigned long long)cd_off, (unsigned long long)cd_size, len);
    if (count > cd_size / 46)
        return affect_fail(err, AFFECT_EFORMAT,
                           "zip: %llu entries cannot fit a %llu-byte central directory",
                           (unsigned long long)count, (unsigned long long)cd_size);
    z->e = count ? calloc((size_t)count, sizeof *z->e) : NULL;
    if (count && !z->e) return affect_fail(err, AFFECT_ENOMEM, "zip: out of memory");
    const uint8_t *cd = buf + cd_off;
    size_t p = 0;
    for (uint64_t i = 0; i < count; i++) {
        if (p + 46 > cd_size || rd32(cd + p) != SIG_CENTRAL) {
            affect_zip_close(z);
            return affect_fail(err, AFFECT_EFORMAT, "zip: central directory entry %llu is corrupt",
                               (unsigned long long)i);
        }
        const uint8_t *h = cd + p;
        size_t nl = rd16(h + 28), xl = rd16(h + 30), cl = rd16(h + 32);
        if (46 + nl + xl + cl > cd_size - p) {
            affect_zip_close(z);
            return affect_fail(err, AFFECT_EFORMAT,
                               "zip: central directory entry %llu overruns the directory",
                               (unsigned long long)i);
        }
        affect_zip_entry *e = &z->e[i];
        e->flags = rd16(h + 8);
        e->method = rd16(h + 10);
        e->csize = rd32(h + 20);
        e->usize = rd32(h + 24);
        e->local_offset = rd32(h + 42);
        e->name = (const char *)h + 46;
        e->name_len = nl;
        if (!zip64_extra(h + 46 + nl, xl, e, e->usize == 0xffffffffu, e->csize == 0xffffffffu,
                         e->local_offset == 0xffffffffu)) {
            const char *nm = e->name; /* points into buf, survives the close */
            affect_zip_close(z);
            return affect_fail(err, AFFECT_EFORMAT, "zip: entry '%.*s' has a bad ZIP64 extra field",
                               (int)(nl > 200 ? 200 : nl), nm);
        }
        z->n++;
        p += 46 + nl + xl + cl;
    }
    if (z->n > 1) qsort(z->e, z->n, sizeof *z->e, cmp_entry);
    for (size_t i = 1; i < z->n; i++) {
        if (!cmp_entry(&z->e[i - 1], &z->e[i])) {
            int nl = (int)(z->e[i].name_len > 200 ? 200 : z->e[i].name_len);
            const char *nm = z->e[i].name;
            affect_zip_close(z);
            return affect_fail(err, AFFECT_EFORMAT, "zip: duplicate entry '%.*s'", nl, nm);
        }
    }
    z->buf = buf;
    z->len = len;
    return 0;
}

void affect_zip_close(affect_zip *z) {
    if (!z) return;
    free(z->e);
    z->e = NULL;
    z->n = 0;
}

const affect_zip_entry *affect_zip_find(const affect_zip *z, const char *name, size_t name_len) {
    affect_zip_entry key;
    memset(&key, 0, sizeof key);
    key.name = name;
    key.name_len = name_len;
    size_t lo = 0, hi = z->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_entry(&z->e[mid], &key);
        if (c == 0) return &z->e[mid];
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

int affect_zip_data(const affect_zip *z, const affect_zip_entry *e, const uint8_t **data,
                    size_t *len, affect_error *err) {
    int nl = (int)(e->name_len > 200 ? 200 : e->name_len);
    if (e->flags & 1)
        return affect_fail(err, AFFECT_EUNSUPPORTED, "zip: entry '%.*s' is encrypted", nl, e->name);
    if (e->method != 0)
        return affect_fail(err, AFFECT_EUNSUPPORTED,
                           "zip: entry '%.*s' is compressed (method %u); torch.save writes stored "
                           "entries only, so re-save the file with torch.save", nl, e->name, e->method);
    if (e->csize != e->usize)
        return affect_fail(err, AFFECT_EFORMAT, "zip: stored entry '%.*s' has different sizes", nl, e->name);
    uint64_t lo = e->local_offset;
    if (!in_bounds(lo, 30, z->len) || rd32(z->buf + lo) != SIG_LOCAL)
        return affect_fail(err, AFFECT_EFORMAT, "zip: local header of '%.*s' is missing or out of bounds",
                           nl, e->name);
    uint64_t start = lo + 30 + rd16(z->buf + lo + 26) + rd16(z->buf + lo + 28);
    if (!in_bounds(start, e->usize, z->len))
        return affect_fail(err, AFFECT_EFORMAT,
                           "zip: data of '%.*s' (%llu bytes at %llu) runs past the end of the file",
                           nl, e->name, (unsigned long long)e->usize, (unsigned long long)start);
    *data = z->buf + start;
    *len = (size_t)e->usize;
    return 0;
}
