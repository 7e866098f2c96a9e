/* Hashed character n-grams of a text for the lexical intensity models: see lexical.h.
 *
 * Exactly scikit-learn's HashingVectorizer(analyzer="char_wb", lowercase=False,
 * alternate_sign=False, norm=None) token stream, so that library can check the fit: the text
 * is split into words at Python's str.split() whitespace, each word is padded with one space
 * on either side, and every n-gram of n = nmin..nmax code points of a padded word is hashed
 * (MurmurHash3 x86 32-bit, seed 0, over its UTF-8 bytes) into bucket |h| mod B. A padded word
 * of at most n code points yields itself once, at the first such n, and no longer n-grams.
 * Invalid UTF-8 reads as U+FFFD per maximal subpart (tokenize/unicode.h), as a browser's
 * TextDecoder would hand the text over. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lexical.h"
#include "tokenize/unicode.h"

/* MurmurHash3_x86_32 (Austin Appleby, public domain): the hash scikit-learn's hashing
 * vectorizers use, read as a signed 32-bit value there. */
static uint32_t murmur3_32(const unsigned char *p, size_t n, uint32_t seed) {
    const uint32_t c1 = 0xcc9e2d51u, c2 = 0x1b873593u;
    uint32_t h = seed;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t k = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 | (uint32_t)p[i + 2] << 16 | (uint32_t)p[i + 3] << 24;
        k *= c1;
        k = k << 15 | k >> 17;
        k *= c2;
        h ^= k;
        h = h << 13 | h >> 19;
        h = h * 5 + 0xe6546b64u;
    }
    uint32_t k = 0;
    switch (n & 3) {
    case 3: k ^= (uint32_t)p[i + 2] << 16; /* fall through */
    case 2: k ^= (uint32_t)p[i + 1] << 8;  /* fall through */
    case 1:
        k ^= p[i];
        k *= c1;
        k = k << 15 | k >> 17;
        k *= c2;
        h ^= k;
    }
    h ^= (uint32_t)n;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

uint32_t affect_murmur3_32(const void *data, size_t n, uint32_t seed) { return murmur3_32(data, n, seed); }

/* Python's str.isspace(), which str.split() splits at: Unicode White_Space plus the
 * information separators U+001C..U+001F (bidirectional class B or S). */
static int py_space(uint32_t cp) { return uc_is_white_space(cp) || (cp >= 0x1C && cp <= 0x1F); }

/* |h| mod B of the signed hash, -2^31 included (scikit-learn maps it to (2^31 - 1 - (B - 1))
 * mod B, which equals 2^31 mod B). */
static int32_t bucket_of(uint32_t h, int B) {
    int64_t s = (int64_t)(int32_t)h;
    uint64_t a = (uint64_t)(s < 0 ? -s : s);
    return (int32_t)(a % (uint64_t)B);
}

size_t affect_lexical_char_ngram_bound(size_t len, int nmin, int nmax) {
    size_t per = (size_t)(nmax - nmin + 1);
    if (len > (SIZE_MAX / sizeof(int32_t) - 1) / 3 / per) return 0;
    return 3 * len * per + 1;
}

size_t affect_lexical_char_ngrams(const char *text, size_t len, int nmin, int nmax, int B, int32_t *out) {
    uint32_t word[AFFECT_LEXICAL_MAX_NGRAM + 2];
    size_t k = 0, i = 0;
    /* one word at a time: its padded form is needed only AFFECT_LEXICAL_MAX_NGRAM code points
     * at a time, so the code points are decoded again per n-gram rather than buffered */
    while (i < len) {
        size_t at = i;
        uint32_t cp = utf8_next(text, len, &i);
        if (py_space(cp)) continue;
        size_t start = at, end = i, w = 1; /* the word's bytes [start, end), w code points */
        while (end < len) {
            size_t j = end;
            uint32_t c = utf8_next(text, len, &j);
            if (py_space(c)) break;
            end = j;
            w++;
        }
        i = end;
        size_t wl = w + 2; /* padded length in code points */
        for (int n = nmin; n <= nmax; n++) {
            size_t nn = (size_t)n < wl ? (size_t)n : wl, count = (size_t)n < wl ? wl - (size_t)n + 1 : 1;
            size_t pos = start; /* byte offset of padded code point q >= 1 */
            for (size_t q = 0; q < count; q++) {
                /* the n-gram covers padded code points q .. q + nn - 1 */
                size_t j = pos;
                for (size_t t = 0; t < nn; t++) {
                    size_t pq = q + t;
                    if (pq == 0 || pq == wl - 1) word[t] = ' ';
                    else word[t] = utf8_next(text, end, &j);
                }
                unsigned char buf[4 * (AFFECT_LEXICAL_MAX_NGRAM + 2)];
                size_t nb = 0;
                for (size_t t = 0; t < nn; t++) nb += utf8_put((char *)buf + nb, word[t]);
                out[k++] = bucket_of(murmur3_32(buf, nb, 0), B);
                /* the next n-gram starts one code point on (none after the last: for n = 1 the
                 * last one is the closing pad, and pos is already at the word's end) */
                if (q >= 1 && q + 1 < count) utf8_next(text, end, &pos);
            }
            if ((size_t)n >= wl) break;
        }
    }
    return k;
}
