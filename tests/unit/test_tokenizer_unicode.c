/* The UTF-8 codec and Unicode lookups under the tokenizers (src/core/tokenize/unicode.c):
 * the maximal-subpart rule for invalid UTF-8 (WHATWG Encoding Standard, Unicode §3.9
 * Table 3-8), and spot checks of the generated tables against facts from the Unicode
 * Character Database. The exhaustive per-code-point comparison with Hugging Face's Rust
 * library is tests/test_tokenizer_codepoints.sh. */
#include <stdio.h>
#include <string.h>
#include "tokenize/unicode.h"

#include "check.h"

/* Decodes all of s and compares with the expected code points (what TextDecoder gives). */
static void check_decode(const char *s, size_t len, const uint32_t *want, size_t nwant) {
    uint32_t got[32];
    size_t n = 0, i = 0;
    while (i < len && n < 32) {
        size_t before = i;
        got[n++] = utf8_next(s, len, &i);
        if (i <= before || i > len) { CHECK(0, "utf8_next did not advance within bounds"); return; }
    }
    int same = n == nwant;
    for (size_t k = 0; same && k < n; k++) same = got[k] == want[k];
    if (!same) {
        fprintf(stderr, "  decoded:");
        for (size_t k = 0; k < n; k++) fprintf(stderr, " %04X", (unsigned)got[k]);
        fprintf(stderr, "\n");
    }
    CHECK(same, "decode of %zu bytes gave %zu code points, want %zu", len, n, nwant);
}

#define DEC(str, ...)                                                               \
    do {                                                                            \
        static const uint32_t w[] = {__VA_ARGS__};                                  \
        check_decode(str, sizeof(str) - 1, w, sizeof w / sizeof w[0]);              \
    } while (0)

static void test_utf8_next(void) {
    DEC("abc", 'a', 'b', 'c');
    DEC("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 0xE9, 0x20AC, 0x1F600);
    /* the example of Unicode Table 3-8: 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64 */
    DEC("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
        'a', 0xFFFD, 0xFFFD, 0xFFFD, 'b', 0xFFFD, 'c', 0xFFFD, 0xFFFD, 'd');
    DEC("\xC0\xAF", 0xFFFD, 0xFFFD);                   /* overlong: C0 never starts a sequence */
    DEC("\xE0\x80\xAF", 0xFFFD, 0xFFFD, 0xFFFD);       /* E0 needs A0..BF next */
    DEC("\xED\xA0\x80", 0xFFFD, 0xFFFD, 0xFFFD);       /* surrogate D800 */
    DEC("\xF4\x90\x80\x80", 0xFFFD, 0xFFFD, 0xFFFD, 0xFFFD); /* > U+10FFFF */
    DEC("\xF0\x9F\x98", 0xFFFD);                       /* truncated at the end: one U+FFFD */
    DEC("\xF0\x9F\x98x", 0xFFFD, 'x');                 /* broken by ASCII: one U+FFFD, then x */
    DEC("\xE2\x82\xE2\x82\xAC", 0xFFFD, 0x20AC);
    DEC("\xFF\xFE", 0xFFFD, 0xFFFD);
    DEC("\xEF\xBF\xBD", 0xFFFD);                       /* a real U+FFFD */
    DEC("\xF4\x8F\xBF\xBF", 0x10FFFF);
    /* a lone byte at the very end must not read past len */
    char buf[2] = {(char)0xC3, (char)0xA9};
    size_t i = 0;
    CHECK(utf8_next(buf, 1, &i) == 0xFFFD && i == 1, "truncated 2-byte sequence");
}

static void test_utf8_put(void) {
    char b[4];
    size_t bad = 0;
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        size_t n = utf8_put(b, cp), i = 0;
        if (utf8_next(b, n, &i) != cp || i != n) bad++;
    }
    CHECK(bad == 0, "%zu code points do not round-trip through utf8_put/utf8_next", bad);
    CHECK(utf8_put(b, 0xD800) == 3 && !memcmp(b, "\xEF\xBF\xBD", 3), "a surrogate is written as U+FFFD");
    CHECK(utf8_put(b, 0x110000) == 3 && !memcmp(b, "\xEF\xBF\xBD", 3), "past U+10FFFF is written as U+FFFD");
}

static void test_tables(void) {
    CHECK(uc_category('A') == UC_LU && uc_category(0xE9) == UC_LL && uc_category(0x4E2D) == UC_LO,
          "letter categories");
    CHECK(uc_category(0x301) == UC_MN && uc_category(0x903) == UC_MC, "mark categories");
    CHECK(uc_category(0x2019) == UC_PF && uc_category(0x1F600) == UC_SO, "punct / symbol categories");
    CHECK(uc_category(0xE000) == UC_CO && uc_category(0x378) == UC_CN && uc_category(0x110000) == UC_CN,
          "private use / unassigned / out of range");
    CHECK(uc_is_white_space(0x3000) && uc_is_white_space(0x85) && !uc_is_white_space(0x180E) &&
          !uc_is_white_space(0x200B) && !uc_is_white_space(0x1C), "White_Space list");
    CHECK(uc_ccc(0x301) == 230 && uc_ccc(0x316) == 220 && uc_ccc('a') == 0, "combining classes");
    uint32_t d[4], lo[3];
    size_t n = uc_decompose(0x1E09, d, 4); /* c cedilla acute -> c, cedilla, acute (recursive) */
    CHECK(n == 3 && d[0] == 'C' + 32 && d[1] == 0x327 && d[2] == 0x301, "U+1E09 decomposition (n=%zu)", n);
    n = uc_decompose(0xD55C, d, 4); /* Hangul HAN = 1112 1161 11AB */
    CHECK(n == 3 && d[0] == 0x1112 && d[1] == 0x1161 && d[2] == 0x11AB, "Hangul decomposition");
    n = uc_decompose(0x212B, d, 4); /* ANGSTROM SIGN -> A + ring */
    CHECK(n == 2 && d[0] == 'A' && d[1] == 0x30A, "U+212B decomposition");
    CHECK(uc_decompose('x', d, 4) == 1 && d[0] == 'x', "ASCII does not decompose");
    n = uc_to_lower(0x130, lo);
    CHECK(n == 2 && lo[0] == 'i' && lo[1] == 0x307, "U+0130 lowercases to i + U+0307");
    CHECK(uc_to_lower(0x3A3, lo) == 1 && lo[0] == 0x3C3, "final sigma is not context-sensitive");
    CHECK(uc_to_lower(0x1E9E, lo) == 1 && lo[0] == 0xDF, "capital sharp s");
    CHECK(uc_to_lower(0x1C89, lo) == 1 && lo[0] == 0x1C8A, "Unicode 16 pair (Rust std has it)");
    CHECK(uc_to_lower(0x1F88, lo) == 1 && lo[0] == 0x1F80, "titlecase Greek lowercases simply");
}

int main(void) {
    test_utf8_next();
    test_utf8_put();
    test_tables();
    if (failures) { fprintf(stderr, "%d failure(s)\n", failures); return 1; }
    printf("ok\n");
    return 0;
}
