/* Byte-level BPE (GPT-2 / RoBERTa), bit-exact with Hugging Face tokenizers' ByteLevel
 * pre-tokenizer followed by its BPE model (no dropout).
 *
 * bpe_encode takes one stretch of valid UTF-8 with no special tokens in it (the front-end,
 * tokenizer.c, cuts those out), and does, in order:
 *   1. the GPT-2 split (gpt2_pretokenize.h), unless use_regex was turned off; with
 *      add_prefix_space a space is first put in front when the text does not start with one;
 *   2. GPT-2's bytes_to_unicode() mapping of each pre-token's bytes to printable characters;
 *   3. the BPE merges, lowest rank first and leftmost among equal ranks (a heap over a linked
 *      list of symbols, as the Rust Word::merge_all, so long words stay O(n log n)).
 * continuing_subword_prefix, end_of_word_suffix, unk_token, fuse_unk, byte_fallback and
 * ignore_merges behave as in the Rust BPE model. Nothing is cached: a loaded model is
 * read-only, so one model may encode from several threads at once. */
#ifndef AFFECT_CORE_BPE_H
#define AFFECT_CORE_BPE_H
#include <stddef.h>
#include <stdint.h>

#include "affect.h"
#include "util/json.h"

typedef struct bpe_model bpe_model;

/* From the "model" object of a tokenizer.json: {"type":"BPE","vocab":{...},"merges":[...]}
 * with merges as "a b" strings or [a, b] pairs. Fails (AFFECT_EFORMAT) on a malformed
 * vocab, a bad merge line, or a merge whose parts or result are not in the vocab (as the
 * Rust builder does); AFFECT_EUNSUPPORTED for dropout > 0 or another model type. */
int bpe_model_from_json(bpe_model **out, const json_value *model_obj, affect_error *err);

/* From the legacy vocab.json + merges.txt bytes. Lines of merges.txt that start with
 * "#version" and blank lines are skipped; every other line must be exactly "a b". */
int bpe_model_from_files(bpe_model **out, const char *vocab_json, size_t vlen,
                         const char *merges, size_t mlen, affect_error *err);

/* The ByteLevel pre-tokenizer's options; a new model has add_prefix_space=0, use_regex=1
 * (RoBERTa's tokenizer.json). */
void bpe_set_pretokenizer(bpe_model *m, int add_prefix_space, int use_regex);

/* Appends the ids of `text` to the growable vector (*ids, *n, *cap); *ids may be NULL with
 * *n = *cap = 0. On failure the ids already appended stay valid and owned by the caller. */
int bpe_encode(const bpe_model *m, const char *text, size_t len, int32_t **ids, size_t *n,
               size_t *cap, affect_error *err);

/* Number of distinct tokens in the vocab (Rust's BPE::get_vocab_size). */
int bpe_vocab_size(const bpe_model *m);
/* The token string (NUL-terminated, as stored in the vocab, i.e. byte-level mapped), or
 * NULL for an id no token has. */
const char *bpe_id_to_token(const bpe_model *m, int32_t id);
/* The id of a token string, -1 if absent. */
int32_t bpe_token_to_id(const bpe_model *m, const char *tok, size_t len);
void bpe_model_free(bpe_model *m);

#endif
