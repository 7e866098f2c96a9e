/* The GPT-2 pre-tokenization split, as Hugging Face tokenizers' ByteLevel pre-tokenizer does
 * it with use_regex=true: the text is cut into the successive matches of
 *
 *     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * compiled by Oniguruma (UTF-8). This is a hand-written matcher for exactly that pattern, so
 * the core needs no regex engine. Oniguruma's classes for UTF-8 are: \s = the White_Space
 * property, \p{L} = Lu|Ll|Lt|Lm|Lo, \p{N} = Nd|Nl|No (its make_unicode_property_data.py);
 * the contractions are case-sensitive and use the ASCII apostrophe only. The pattern matches
 * at every position, so the matches tile the text with no gaps. */
#ifndef AFFECT_CORE_GPT2_PRETOKENIZE_H
#define AFFECT_CORE_GPT2_PRETOKENIZE_H
#include <stddef.h>

/* Length in bytes (>= 1) of the pre-token that starts at text[pos], for pos < len. Invalid
 * UTF-8 never occurs from the front-end, but if it does each maximal subpart is one
 * "other" character (U+FFFD), so the result is still well defined and in bounds. */
size_t gpt2_pretoken_len(const char *text, size_t len, size_t pos);

#endif
