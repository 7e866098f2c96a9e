/* The insides of affect_tokenizer (include/affect.h), shared by tokenizer.c and the unit
 * tests. A tokenizer is the Hugging Face pipeline, reduced to the pieces the supported
 * families use:
 *
 *   added tokens (matched in the raw text) -> normalizer -> added tokens (normalized ones)
 *   -> pre-tokenizer -> model (WordPiece | byte-level BPE) -> post-processor (specials)
 */
#ifndef AFFECT_CORE_TOKENIZER_INTERNAL_H
#define AFFECT_CORE_TOKENIZER_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"
#include "tokenize/bert_normalizer.h"
#include "tokenize/bpe.h"
#include "tokenize/wordpiece.h"

enum { TOK_MODEL_WORDPIECE = 1, TOK_MODEL_BPE = 2 };
enum { TOK_PRE_NONE = 0, TOK_PRE_BERT = 1, TOK_PRE_BYTELEVEL = 2 };

/* One entry of tokenizer.json's added_tokens (AddedToken in the Rust library). */
typedef struct added_token {
    char *content;   /* as written, NUL-terminated */
    size_t len;
    char *pattern;   /* what is searched for: content, normalized when `normalized` is set */
    size_t pattern_len;
    int32_t id;
    int single_word, lstrip, rstrip, normalized, special;
} added_token;

/* The tokens searched in one pass (Rust's split_trie or split_normalized_trie), matched
 * leftmost-longest. first_byte[b] says whether some pattern starts with byte b. */
typedef struct added_matcher {
    const added_token **tok;
    size_t n;
    unsigned char first_byte[256];
} added_matcher;

struct affect_tokenizer {
    int model_type;           /* TOK_MODEL_* */
    wordpiece_model *wp;
    bpe_model *bpe;
    int has_normalizer;
    bert_normalizer norm;     /* BertNormalizer, or Lowercase as {0,0,0,1} */
    int pretok;               /* TOK_PRE_* */
    added_token *added;       /* (n_added) sorted by id */
    size_t n_added;
    added_matcher raw;        /* normalized == false: found in the input as typed */
    added_matcher normalized; /* normalized == true: found in the normalizer's output */
    int32_t prefix[8], suffix[8]; /* the post-processor's specials around one sequence */
    size_t n_prefix, n_suffix;
    int32_t pad_id;
    int32_t vocab_size;
};

/* Appends the ids of one text, without special tokens and untruncated, to (*ids,*n,*cap).
 * Scratch buffers come from `nb` so a batch reuses them. */
int tokenizer_encode_content(const affect_tokenizer *tok, const char *text, size_t len,
                             norm_buf *nb, int32_t **ids, size_t *n, size_t *cap,
                             affect_error *err);

#endif
