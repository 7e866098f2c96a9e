/* BertNormalizer + BertPreTokenizer (see bert_normalizer.h for the contract). */
#include "tokenize/bert_normalizer.h"
#include <stdlib.h>
#include <string.h>
#include "tokenize/unicode.h"
#include "util/error.h"

#include "tokenize/bert_char_tables.inc"

/* The oracle's control set: the unicode_categories crate's is_other (Cc, Cf, Co; its Cn
 * table is empty) in the crate's Unicode 8 tables, so Cf characters added later (U+08E2,
 * U+0890, U+13430…) survive clean_text. Verified code point by code point against the
 * Rust library (tests/test_tokenizer_codepoints.sh). */
static const uint32_t control_ranges[][2] = {
    {0x0, 0x8}, {0xB, 0xC}, {0xE, 0x1F}, {0x7F, 0x9F}, {0xAD, 0xAD}, {0x600, 0x605},
    {0x61C, 0x61C}, {0x6DD, 0x6DD}, {0x70F, 0x70F}, {0x180E, 0x180E}, {0x200B, 0x200F},
    {0x202A, 0x202E}, {0x2060, 0x2064}, {0x2066, 0x206F}, {0xE000, 0xF8FF}, {0xFEFF, 0xFEFF},
    {0xFFF9, 0xFFFB}, {0xFFFD, 0xFFFD}, {0x110BD, 0x110BD}, {0x1BCA0, 0x1BCA3},
    {0x1D173, 0x1D17A}, {0xE0001, 0xE0001}, {0xE0020, 0xE007F}, {0xF0000, 0xFFFFD},
    {0x100000, 0x10FFFD},
};

/* Binary search over sorted, disjoint, inclusive ranges. */
static int in_ranges(uint32_t cp, const uint32_t (*r)[2], size_t n) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid][0]) hi = mid;
        else if (cp > r[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}

/* \t \n \r are controls too, but bert.rs counts them as whitespace. */
int bert_is_control(uint32_t cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') return 0;
    return in_ranges(cp, control_ranges, sizeof control_ranges / sizeof control_ranges[0]);
}

/* \t \n \r are White_Space already, so this is Rust's char::is_whitespace. */
int bert_is_whitespace(uint32_t cp) {
    return uc_is_white_space(cp);
}

/* bert.rs's is_chinese_char: the CJK Unified Ideographs blocks BERT's authors listed. */
int bert_is_chinese(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* is_ascii_punctuation || the crate's is_punctuation (bert.rs is_bert_punc). */
int bert_is_punct(uint32_t cp) {
    if (cp < 0x80)
        return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) ||
               (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
    return in_ranges(cp, punct_ranges, sizeof punct_ranges / sizeof punct_ranges[0]);
}

/* The crate's is_mark_nonspacing; nothing below U+0300 is a mark. */
int bert_is_nonspacing(uint32_t cp) {
    if (cp < 0x300) return 0;
    return in_ranges(cp, nonspacing_ranges, sizeof nonspacing_ranges / sizeof nonspacing_ranges[0]);
}

/* Grows nb->cps to hold `more` further code points. */
static int reserve_cps(norm_buf *nb, size_t more, affect_error *err) {
    if (nb->cpcap - nb->ncp >= more) return 0;
    size_t nc = nb->cpcap ? nb->cpcap : 256;
    while (nc - nb->ncp < more) {
        if (nc > SIZE_MAX / 2 / sizeof(uint32_t)) return affect_fail(err, AFFECT_ENOMEM, "normalizer: text too long");
        nc *= 2;
    }
    uint32_t *p = realloc(nb->cps, nc * sizeof *p);
    if (!p) return affect_fail(err, AFFECT_ENOMEM, "normalizer: out of memory for %zu code points", nc);
    nb->cps = p;
    nb->cpcap = nc;
    return 0;
}

/* Grows nb->out to hold `more` further bytes. */
static int reserve_out(norm_buf *nb, size_t more, affect_error *err) {
    if (nb->cap - nb->len >= more) return 0;
    size_t nc = nb->cap ? nb->cap : 1024;
    while (nc - nb->len < more) {
        if (nc > SIZE_MAX / 2) return affect_fail(err, AFFECT_ENOMEM, "normalizer: text too long");
        nc *= 2;
    }
    char *p = realloc(nb->out, nc);
    if (!p) return affect_fail(err, AFFECT_ENOMEM, "normalizer: out of memory for %zu bytes", nc);
    nb->out = p;
    nb->cap = nc;
    return 0;
}

/* NFD's canonical ordering: each run of non-starters is stably sorted by combining class
 * (insertion sort: runs are short, and stability is what the standard asks for). */
static void canonical_order(uint32_t *c, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (c[i] < 0x300 || uc_ccc(c[i]) == 0) { i++; continue; }
        size_t j = i;
        while (j < n && c[j] >= 0x300 && uc_ccc(c[j]) != 0) j++;
        for (size_t a = i + 1; a < j; a++) {
            uint32_t v = c[a];
            int cv = uc_ccc(v);
            size_t b = a;
            while (b > i && uc_ccc(c[b - 1]) > cv) { c[b] = c[b - 1]; b--; }
            c[b] = v;
        }
        i = j;
    }
}

/* Two passes: code points through clean_text, CJK padding and NFD (which needs the
 * whole run of marks before it can order them), then mark stripping and lowercasing
 * straight into UTF-8. ASCII takes the short path in both. */
int bert_normalize(const bert_normalizer *bn, const char *text, size_t len, norm_buf *nb,
                   affect_error *err) {
    nb->ncp = 0;
    nb->len = 0;
    size_t i = 0;
    while (i < len) {
        uint32_t cp = utf8_next(text, len, &i);
        if (bn->clean_text) {
            if (cp == 0 || cp == 0xFFFD || bert_is_control(cp)) continue;
            if (bert_is_whitespace(cp)) cp = ' ';
        }
        int rc = reserve_cps(nb, 6, err);
        if (rc) return rc;
        int cjk = bn->handle_chinese_chars && cp >= 0x3400 && bert_is_chinese(cp);
        if (cjk) nb->cps[nb->ncp++] = ' ';
        if (bn->strip_accents && cp >= 0xC0) nb->ncp += uc_decompose(cp, nb->cps + nb->ncp, 4);
        else nb->cps[nb->ncp++] = cp;
        if (cjk) nb->cps[nb->ncp++] = ' ';
    }
    if (bn->strip_accents) canonical_order(nb->cps, nb->ncp);
    for (size_t k = 0; k < nb->ncp; k++) {
        uint32_t cp = nb->cps[k];
        int rc = reserve_out(nb, 9, err);
        if (rc) return rc;
        if (cp < 0x80) {
            if (bn->lowercase && cp >= 'A' && cp <= 'Z') cp += 32;
            nb->out[nb->len++] = (char)cp;
            continue;
        }
        if (bn->strip_accents && bert_is_nonspacing(cp)) continue;
        if (bn->lowercase) {
            uint32_t lo[3];
            size_t n = uc_to_lower(cp, lo);
            for (size_t j = 0; j < n; j++) nb->len += utf8_put(nb->out + nb->len, lo[j]);
        } else {
            nb->len += utf8_put(nb->out + nb->len, cp);
        }
    }
    int rc = reserve_out(nb, 1, err);
    if (rc) return rc;
    nb->out[nb->len] = 0;
    return 0;
}

/* Leaves the buffer zeroed, ready for reuse. */
void norm_buf_free(norm_buf *nb) {
    free(nb->cps);
    free(nb->out);
    memset(nb, 0, sizeof *nb);
}

/* Whitespace separates and is dropped; each punctuation char is its own word. */
int bert_pretok_next(const char *s, size_t len, size_t *pos, size_t *start, size_t *wlen) {
    size_t i = *pos;
    for (;;) {
        if (i >= len) { *pos = i; return 0; }
        size_t at = i;
        uint32_t cp = utf8_next(s, len, &i);
        if (bert_is_whitespace(cp)) continue;
        *start = at;
        if (bert_is_punct(cp)) {
            *wlen = i - at;
            *pos = i;
            return 1;
        }
        size_t end = i;
        while (end < len) {
            size_t nx = end;
            uint32_t c = utf8_next(s, len, &nx);
            if (bert_is_whitespace(c) || bert_is_punct(c)) break;
            end = nx;
        }
        *wlen = end - at;
        *pos = end;
        return 1;
    }
}
