/* Prints, for every Unicode scalar value, what affect's tokenizer front-end does with it,
 * one line per code point in the format tests/oracles/unicode_oracle.cjs prints for the
 * Rust tokenizers library, so the two can be diffed exhaustively:
 *   HEX FLAGS LOWER NFD
 * FLAGS = clean_text (D dropped, S mapped to ' ', K kept), C (padded as CJK), M (removed
 * entirely by strip_accents: NFD then drop nonspacing marks), P (a word of its own for
 * BertPreTokenizer), W (a word separator); LOWER/NFD are comma-separated hex code
 * points, empty when the mapping is the identity. */
#include <stdio.h>
#include <string.h>
#include "tokenize/bert_normalizer.h"
#include "tokenize/unicode.h"

static void hexlist(const char *s, size_t n, char *out) {
    size_t i = 0;
    out[0] = 0;
    while (i < n) {
        uint32_t cp = utf8_next(s, n, &i);
        sprintf(out + strlen(out), "%s%x", out[0] ? "," : "", (unsigned)cp);
    }
}

int main(void) {
    bert_normalizer clean = {1, 0, 0, 0}, cjk = {0, 1, 0, 0}, low = {0, 0, 0, 1}, nfd = {0, 0, 1, 0};
    norm_buf nb = {0};
    char ch[8], lo[64], de[64];
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        size_t n = utf8_put(ch, cp);
        if (bert_normalize(&clean, ch, n, &nb, NULL)) return 1;
        char cl = nb.len == 0 ? 'D' : (nb.len == 1 && nb.out[0] == ' ' && cp != ' ') ? 'S' : 'K';
        if (bert_normalize(&cjk, ch, n, &nb, NULL)) return 1;
        char c = (nb.len != n || memcmp(nb.out, ch, n)) ? 'C' : '-';
        if (bert_normalize(&low, ch, n, &nb, NULL)) return 1;
        if (nb.len == n && !memcmp(nb.out, ch, n)) lo[0] = 0;
        else hexlist(nb.out, nb.len, lo);
        /* NFD alone: decomposition with canonical ordering, marks kept */
        uint32_t d[4];
        size_t nd = uc_decompose(cp, d, 4);
        de[0] = 0;
        if (!(nd == 1 && d[0] == cp))
            for (size_t k = 0; k < nd; k++) sprintf(de + strlen(de), "%s%x", k ? "," : "", (unsigned)d[k]);
        if (bert_normalize(&nfd, ch, n, &nb, NULL)) return 1;
        char mark = nb.len == 0 ? 'M' : '-'; /* strip_accents removed all of it */
        printf("%x %c%c%c%c%c %s %s\n", (unsigned)cp, cl, c, mark,
               bert_is_punct(cp) ? 'P' : '-', bert_is_whitespace(cp) ? 'W' : '-', lo, de);
    }
    norm_buf_free(&nb);
    return 0;
}
