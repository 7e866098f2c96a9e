#include "gpt2_pretokenize.h"

#include <stdint.h>

#include "tokenize/unicode.h"

enum { CL_SPACE, CL_LETTER, CL_NUMBER, CL_OTHER };

/* Letters and numbers new in Unicode 15.1 and 16.0, which the oracle's Oniguruma (Unicode
 * 16.0) classes as \p{L} / \p{N} but the generated tables (utf8proc 2.8, Unicode 15.0) still
 * call unassigned. Consulted only for code points the tables say are unassigned (Cn), so it
 * is a no-op once the tables catch up. Found by classifying all 0x110000 code points through
 * tokenizers 0.23.2's ByteLevel pre-tokenizer and comparing with ours: these 29 ranges are
 * the whole difference. Sorted, for binary search. */
static const struct { uint32_t lo, hi; int cl; } unicode16_ln[] = {
    {0x01C89, 0x01C8A, CL_LETTER}, {0x0A7CB, 0x0A7CD, CL_LETTER}, {0x0A7DA, 0x0A7DC, CL_LETTER},
    {0x105C0, 0x105F3, CL_LETTER}, {0x10D40, 0x10D49, CL_NUMBER}, {0x10D4A, 0x10D65, CL_LETTER},
    {0x10D6F, 0x10D85, CL_LETTER}, {0x10EC2, 0x10EC4, CL_LETTER}, {0x11380, 0x11389, CL_LETTER},
    {0x1138B, 0x1138B, CL_LETTER}, {0x1138E, 0x1138E, CL_LETTER}, {0x11390, 0x113B5, CL_LETTER},
    {0x113B7, 0x113B7, CL_LETTER}, {0x113D1, 0x113D1, CL_LETTER}, {0x113D3, 0x113D3, CL_LETTER},
    {0x116D0, 0x116E3, CL_NUMBER}, {0x11BC0, 0x11BE0, CL_LETTER}, {0x11BF0, 0x11BF9, CL_NUMBER},
    {0x13460, 0x143FA, CL_LETTER}, {0x16100, 0x1611D, CL_LETTER}, {0x16130, 0x16139, CL_NUMBER},
    {0x16D40, 0x16D6C, CL_LETTER}, {0x16D70, 0x16D79, CL_NUMBER}, {0x18CFF, 0x18CFF, CL_LETTER},
    {0x1CCF0, 0x1CCF9, CL_NUMBER}, {0x1E5D0, 0x1E5ED, CL_LETTER}, {0x1E5F0, 0x1E5F0, CL_LETTER},
    {0x1E5F1, 0x1E5FA, CL_NUMBER}, {0x2EBF0, 0x2EE5D, CL_LETTER},
};

/* Class of an unassigned (per our tables) code point under Unicode 16.0. */
static int unassigned_class(uint32_t cp) {
    size_t lo = 0, hi = sizeof unicode16_ln / sizeof unicode16_ln[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < unicode16_ln[mid].lo) hi = mid;
        else if (cp > unicode16_ln[mid].hi) lo = mid + 1;
        else return unicode16_ln[mid].cl;
    }
    return CL_OTHER;
}

/* The one fact the pattern asks of a character: which of \s, \p{L}, \p{N} or none it is
 * (the three sets are disjoint). ASCII is answered without the tables, as it is most text. */
static int char_class(uint32_t cp) {
    if (cp < 0x80) {
        if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return CL_SPACE;
        if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') return CL_LETTER;
        if (cp >= '0' && cp <= '9') return CL_NUMBER;
        return CL_OTHER;
    }
    if (uc_is_white_space(cp)) return CL_SPACE;
    int c = uc_category(cp);
    if (c >= UC_LU && c <= UC_LO) return CL_LETTER;
    if (c >= UC_ND && c <= UC_NO) return CL_NUMBER;
    if (c == UC_CN) return unassigned_class(cp);
    return CL_OTHER;
}

/* Class of the character at *i, advancing *i past it. */
static int next_class(const char *s, size_t len, size_t *i) {
    return char_class(utf8_next(s, len, i));
}

/* Tries the alternatives in the pattern's order; the first that matches at `pos` wins, as in
 * a backtracking engine. Only the \s+(?!\S) branch needs backtracking, and its outcome is
 * known from the run length: a whitespace run that reaches the end is taken whole; one
 * followed by a non-space gives back its last character (which then starts the next
 * pre-token, e.g. " world"), unless it is a single character, which \s+ then takes. */
size_t gpt2_pretoken_len(const char *s, size_t len, size_t pos) {
    const unsigned char *u = (const unsigned char *)s;

    /* 's|'t|'re|'ve|'m|'ll|'d */
    if (u[pos] == '\'' && pos + 1 < len) {
        unsigned char c = u[pos + 1];
        if (c == 's' || c == 't' || c == 'm' || c == 'd') return 2;
        if (pos + 2 < len) {
            unsigned char d = u[pos + 2];
            if ((c == 'r' || c == 'v') && d == 'e') return 3;
            if (c == 'l' && d == 'l') return 3;
        }
    }

    /* ' ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+': the optional space is greedy, and without it
     * a space at pos could not start any of the three, so only q = after-the-space counts. */
    size_t q = pos + (u[pos] == ' ');
    if (q < len) {
        size_t end = q;
        int cl = next_class(s, len, &end);
        if (cl != CL_SPACE) {
            while (end < len) {
                size_t j = end;
                if (next_class(s, len, &j) != cl) break;
                end = j;
            }
            return end - pos;
        }
    }

    /* Here the character at pos is whitespace: \s+(?!\S) | \s+ */
    size_t i = pos, last = pos, count = 0;
    while (i < len) {
        size_t j = i;
        if (next_class(s, len, &j) != CL_SPACE) break;
        last = i;
        i = j;
        count++;
    }
    if (i == len || count == 1) return i - pos;
    return last - pos;
}
