/* BERT's text clean-up and word splitting, exactly as Hugging Face tokenizers' BertNormalizer
 * (normalizers/bert.rs) and BertPreTokenizer (pre_tokenizers/bert.rs) do them, so WordPiece
 * sees the same words the Rust library gives it.
 *
 * Normalization, in Rust's order:
 *   clean_text            drop U+0000, U+FFFD and "control" chars (the unicode_categories
 *                         crate's is_other, except \t \n \r); map whitespace to ' '
 *   handle_chinese_chars  put ' ' around each CJK ideograph
 *   strip_accents         NFD, then drop nonspacing marks (Mn)
 *   lowercase             char::to_lowercase
 * Pre-tokenization: split on whitespace (dropped), then every punctuation char
 * (ASCII punctuation or Unicode P*) is a word of its own.
 *
 * The character classes follow the oracle, not the newest Unicode: the Rust crates behind
 * these steps carry their own (older) Unicode tables. bert_is_* below are those classes. */
#ifndef AFFECT_CORE_BERT_NORMALIZER_H
#define AFFECT_CORE_BERT_NORMALIZER_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"

typedef struct bert_normalizer {
    int clean_text;
    int handle_chinese_chars;
    int strip_accents; /* already resolved: Rust's strip_accents.unwrap_or(lowercase) */
    int lowercase;
} bert_normalizer;

/* Reusable buffers for one normalization at a time (no allocation per char or per call
 * once they have grown). Zero-initialize; release with norm_buf_free. */
typedef struct norm_buf {
    uint32_t *cps;
    size_t ncp, cpcap;
    char *out; /* the normalized UTF-8 text, out[len] == 0 */
    size_t len, cap;
} norm_buf;

/* Normalizes `len` bytes of UTF-8 (invalid bytes read as U+FFFD) into nb->out/nb->len. */
int bert_normalize(const bert_normalizer *bn, const char *text, size_t len, norm_buf *nb,
                   affect_error *err);
void norm_buf_free(norm_buf *nb);

/* BertPreTokenizer as an iterator: finds the next word at or after *pos, stores its byte
 * span in *start and *wlen, moves *pos past it and returns 1; returns 0 at the end. */
int bert_pretok_next(const char *s, size_t len, size_t *pos, size_t *start, size_t *wlen);

/* The character classes, as the oracle has them. */
int bert_is_control(uint32_t cp);    /* removed by clean_text */
int bert_is_whitespace(uint32_t cp); /* \t \n \r or White_Space */
int bert_is_chinese(uint32_t cp);
int bert_is_punct(uint32_t cp);      /* ASCII punctuation or Unicode P* */
int bert_is_nonspacing(uint32_t cp); /* Mn, removed by strip_accents */

#endif
