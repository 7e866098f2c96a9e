/* Unicode facts the tokenizers need, from tables generated at build time out of utf8proc
 * (tools/gen_unicode.c), so the core carries them into WebAssembly with no library. */
#ifndef AFFECT_CORE_UNICODE_H
#define AFFECT_CORE_UNICODE_H
#include <stddef.h>
#include <stdint.h>

/* General categories, numbered as utf8proc numbers them (UTF8PROC_CATEGORY_*). */
enum {
    UC_CN = 0, UC_LU, UC_LL, UC_LT, UC_LM, UC_LO, UC_MN, UC_MC, UC_ME, UC_ND, UC_NL, UC_NO,
    UC_PC, UC_PD, UC_PS, UC_PE, UC_PI, UC_PF, UC_PO, UC_SM, UC_SC, UC_SK, UC_SO, UC_ZS,
    UC_ZL, UC_ZP, UC_CC, UC_CF, UC_CS, UC_CO
};

int uc_category(uint32_t cp);
static inline int uc_is_letter(uint32_t cp) { int c = uc_category(cp); return c >= UC_LU && c <= UC_LO; }
static inline int uc_is_number(uint32_t cp) { int c = uc_category(cp); return c >= UC_ND && c <= UC_NO; }
static inline int uc_is_punct(uint32_t cp) { int c = uc_category(cp); return c >= UC_PC && c <= UC_PO; }
static inline int uc_is_mark(uint32_t cp) { int c = uc_category(cp); return c >= UC_MN && c <= UC_ME; }
/* The White_Space property (what Rust's char::is_whitespace tests). */
int uc_is_white_space(uint32_t cp);
/* Canonical combining class, for NFD's canonical ordering. */
int uc_ccc(uint32_t cp);
/* Full canonical decomposition (NFD) of one code point, recursively applied, Hangul
 * included (at most 4 code points, the longest canonical decomposition); returns how many
 * were written (1 = unchanged). */
size_t uc_decompose(uint32_t cp, uint32_t *out, size_t cap);
/* Lowercase mapping as Rust's char::to_lowercase (full mapping, no context): returns the
 * number of code points written (1..3). */
size_t uc_to_lower(uint32_t cp, uint32_t out[3]);

/* Decodes the code point at s[*i] and advances *i. Invalid UTF-8 yields U+FFFD for each
 * maximal subpart (the WHATWG/Encoding Standard rule that TextDecoder and Rust's
 * String::from_utf8_lossy apply), so tokenization of arbitrary bytes is well defined. */
uint32_t utf8_next(const char *s, size_t len, size_t *i);
/* Encodes cp as UTF-8 into out (4 bytes room); returns the byte count. */
size_t utf8_put(char *out, uint32_t cp);

#endif
