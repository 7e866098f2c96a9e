/* Unicode lookups over the tables tools/gen_unicode.c generates (build/generated/
 * unicode_data.c), plus the UTF-8 codec every tokenizer shares. */
#include "tokenize/unicode.h"

/* ---- the generated tables (see tools/gen_unicode.c for their shapes) ---- */
extern const unsigned uc_category_shift;
extern const uint16_t uc_category_stage1[];
extern const uint8_t uc_category_stage2[];
extern const unsigned uc_ccc_shift;
extern const uint16_t uc_ccc_stage1[];
extern const uint8_t uc_ccc_stage2[];
extern const uint32_t uc_decomp_pool[];
extern const size_t uc_decomp_count;
extern const uint32_t uc_decomp_index[][2];
extern const uint32_t uc_lower_map[][2];
extern const size_t uc_lower_count;

/* Out-of-range code points read as unassigned rather than indexing past the table. */
int uc_category(uint32_t cp) {
    if (cp < 0x80) { /* fast path, also the common case in English text */
        if (cp >= 'a' && cp <= 'z') return UC_LL;
        if (cp >= 'A' && cp <= 'Z') return UC_LU;
        if (cp >= '0' && cp <= '9') return UC_ND;
    }
    if (cp >= 0x110000) return UC_CN;
    unsigned s = uc_category_shift;
    return uc_category_stage2[((uint32_t)uc_category_stage1[cp >> s] << s) | (cp & ((1u << s) - 1))];
}

/* White_Space is 25 code points and has not changed since Unicode 6.3 (U+180E left it),
 * so a list is clearer than a table. */
int uc_is_white_space(uint32_t cp) {
    if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
    if (cp < 0x85) return 0;
    switch (cp) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
        return 1;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}

/* Nothing below U+0300 combines, so the common case skips the table. */
int uc_ccc(uint32_t cp) {
    if (cp < 0x300 || cp >= 0x110000) return 0;
    unsigned s = uc_ccc_shift;
    return uc_ccc_stage2[((uint32_t)uc_ccc_stage1[cp >> s] << s) | (cp & ((1u << s) - 1))];
}

/* Hangul syllables decompose by arithmetic (Unicode §3.12), so the table omits them. */
enum { H_SBASE = 0xAC00, H_LBASE = 0x1100, H_VBASE = 0x1161, H_TBASE = 0x11A7,
       H_VCOUNT = 21, H_TCOUNT = 28, H_NCOUNT = H_VCOUNT * H_TCOUNT, H_SCOUNT = 19 * H_NCOUNT };

/* Binary search of the generated index; code points below U+00C0 never decompose. */
size_t uc_decompose(uint32_t cp, uint32_t *out, size_t cap) {
    if (cap == 0) return 0;
    if (cp < 0xC0) { out[0] = cp; return 1; }
    if (cp >= H_SBASE && cp < H_SBASE + H_SCOUNT) {
        uint32_t s = cp - H_SBASE;
        uint32_t l = H_LBASE + s / H_NCOUNT, v = H_VBASE + (s % H_NCOUNT) / H_TCOUNT,
                 t = H_TBASE + s % H_TCOUNT;
        size_t n = t == H_TBASE ? 2 : 3;
        if (cap < n) { out[0] = cp; return 1; }
        out[0] = l;
        out[1] = v;
        if (n == 3) out[2] = t;
        return n;
    }
    size_t lo = 0, hi = uc_decomp_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t k = uc_decomp_index[mid][0];
        if (k == cp) {
            uint32_t off = uc_decomp_index[mid][1] >> 3, n = uc_decomp_index[mid][1] & 7;
            if (n > cap) break;
            for (uint32_t j = 0; j < n; j++) out[j] = uc_decomp_pool[off + j];
            return n;
        }
        if (k < cp) lo = mid + 1;
        else hi = mid;
    }
    out[0] = cp;
    return 1;
}

/* Rust's char::to_lowercase: the simple mapping, except U+0130 whose unconditional
 * SpecialCasing entry is two code points. */
size_t uc_to_lower(uint32_t cp, uint32_t out[3]) {
    if (cp < 0x80) {
        out[0] = (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
        return 1;
    }
    if (cp == 0x130) {
        out[0] = 'i';
        out[1] = 0x307;
        return 2;
    }
    size_t lo = 0, hi = uc_lower_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t k = uc_lower_map[mid][0];
        if (k == cp) { out[0] = uc_lower_map[mid][1]; return 1; }
        if (k < cp) lo = mid + 1;
        else hi = mid;
    }
    out[0] = cp;
    return 1;
}

/* WHATWG "maximal subpart" decoding: a broken sequence yields one U+FFFD for the longest
 * prefix that could have started a valid sequence, and decoding resumes at the byte that
 * broke it. */
uint32_t utf8_next(const char *str, size_t len, size_t *i) {
    const unsigned char *s = (const unsigned char *)str;
    size_t p = *i;
    unsigned b0 = s[p];
    if (b0 < 0x80) { *i = p + 1; return b0; }
    unsigned need;
    uint32_t cp;
    unsigned lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) { need = 1; cp = b0 & 0x1F; }
    else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 2; cp = b0 & 0x0F;
        if (b0 == 0xE0) lo = 0xA0;
        else if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 3; cp = b0 & 0x07;
        if (b0 == 0xF0) lo = 0x90;
        else if (b0 == 0xF4) hi = 0x8F;
    } else {
        *i = p + 1;
        return 0xFFFD;
    }
    p++;
    for (unsigned k = 0; k < need; k++, p++) {
        if (p >= len || s[p] < lo || s[p] > hi) { *i = p; return 0xFFFD; }
        cp = (cp << 6) | (s[p] & 0x3F);
        lo = 0x80;
        hi = 0xBF;
    }
    *i = p;
    return cp;
}

/* Surrogates and values past U+10FFFF cannot be encoded; they come out as U+FFFD. */
size_t utf8_put(char *out, uint32_t cp) {
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}
